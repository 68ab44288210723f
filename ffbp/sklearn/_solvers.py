"""The two ways an estimator trains its network, each with scikit-learn's rules.

* ``stochastic``: mini-batch "sgd" or "adam" (or any ffbp optimiser), epoch by epoch, with
  scikit-learn's stopping rule (``tol`` over ``n_iter_no_change`` epochs on the training
  loss or, with early stopping, on the held-out score), its learning-rate schedules and its
  ``verbose`` lines.
* ``lbfgs``: full-batch L-BFGS-B from SciPy on the network's flat parameter vector.

Both call the public back-propagation step, ``Network.compute_gradients``, and add
scikit-learn's L2 penalty: E + α/(2 Σw) ‖W‖² per batch (Σw = the batch's weight sum, its
size when unweighted), whose gradient adds α/Σw · W to the weights (not the biases).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.model_selection import train_test_split

from ..history import History
from ..optim import apply_updates
from ._parts import EpochRate, make_optimizer

#: scikit-learn's "adaptive" schedule stops once the learning rate falls to this.
MIN_ADAPTIVE_RATE = 1e-6


class NonFiniteWeights(ValueError):
    """Training produced NaN or inf weights (a ValueError, as in scikit-learn)."""


def add_penalty(net, alpha, sw_sum, value, with_grad=True) -> float:
    """Add α/(2 Σw) ‖W‖² to ``value`` and α/Σw · W to ``net.flat_grads`` (weights only)."""
    if not alpha:
        return value
    W = net.flat_values * net.decay_mask()
    if with_grad:
        net.flat_grads += (alpha / sw_sum) * W
    return value + 0.5 * alpha * float(W @ W) / sw_sum


def _split(est, X, T, w, rng):
    """Hold out ``validation_fraction`` for early stopping (stratified for single-label
    classification): (X, T, w) to train on and (X, T, w) to score."""
    stratify = T if (est._stratify and T.ndim == 1) else None
    arrays = [X, T] + ([] if w is None else [w])
    parts = train_test_split(*arrays, test_size=est.validation_fraction,
                             random_state=rng, stratify=stratify)
    if parts[1].shape[0] < 2:
        raise ValueError("The validation set is too small: fewer than 2 samples. Increase "
                         "'validation_fraction' or the size of your dataset.")
    w_tr, w_val = (None, None) if w is None else parts[4:]
    return (parts[0], parts[2], w_tr), (parts[1], parts[3], w_val)


def _batch_size(est, n):
    if est.batch_size == "auto":
        return min(200, n)
    if est.batch_size > n:
        warnings.warn(f"Got `batch_size` ({est.batch_size}) larger than the sample size ({n}). "
                      f"It is going to be clipped", UserWarning, stacklevel=5)
    return int(min(est.batch_size, n))


def stochastic(est, net, loss, X, T, w, rng, *, incremental) -> None:
    """Train ``est.max_iter`` epochs at most (one for ``partial_fit``) and set the fitted
    attributes: n_iter_, t_, loss_, loss_curve_, best_loss_, validation_scores_,
    best_validation_score_, learning_rate_."""
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    if not incremental or getattr(est, "_rate", None) is None or net.optimizer is None:
        est._rate = EpochRate(est.learning_rate_init)
        net.optimizer = make_optimizer(est, est._rate)
        net.optimizer_state = net.optimizer.init(net.flat_values, net)
    if est.early_stopping:
        (X, T, w), validation = _split(est, X, T, w, rng)
    n = X.shape[0]
    batch = _batch_size(est, n)
    history, callbacks = History(), list(est.callbacks or ())
    for cb in callbacks:
        if hasattr(cb, "on_train_begin"):
            cb.on_train_begin(net, history)
    est.n_iter_, est._diverged_at = 0, None
    order = np.arange(n)
    with np.errstate(over="ignore", invalid="ignore"):   # divergence is checked below
        for _ in range(est.max_iter):
            if est.shuffle:
                order = rng.permutation(n)
            total = 0.0
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                wb = None if w is None else w[idx]
                if wb is not None and not wb.sum() > 0:
                    continue                              # no weight: nothing to learn
                value = net.compute_gradients(X[idx], T[idx], loss, wb)
                value = add_penalty(net, est.alpha, len(idx) if wb is None else wb.sum(),
                                    value)
                net.optimizer.update(net.flat_grads, net.optimizer_state, net.flat_values)
                apply_updates(net.flat_values, net.flat_grads)
                total += value * len(idx)
            if not (math.isfinite(total) and np.isfinite(net.flat_values).all()):
                est._diverged_at = est.n_iter_ + 1
            stop = _end_epoch(est, total / n, n, validation if est.early_stopping else None)
            logs = {"loss": est.loss_}
            if est.early_stopping:
                logs["val_score"] = est.validation_scores_[-1]
            history.append(logs)
            for cb in callbacks:
                if hasattr(cb, "on_epoch_end") and cb.on_epoch_end(est.n_iter_ - 1, logs):
                    stop = True
            if stop or est._diverged_at or incremental:
                break
            if est.n_iter_ == est.max_iter:
                warnings.warn(f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) "
                              f"reached and the optimization hasn't converged yet.",
                              est._convergence_warning, stacklevel=4)
    if est.early_stopping and est._best_weights is not None:
        net.restore(est._best_weights)        # finite: a NaN score is never the best
        est._diverged_at = None
    for cb in callbacks:
        if hasattr(cb, "on_train_end"):
            cb.on_train_end(net, history)
    est.learning_rate_ = est._rate.value


def _end_epoch(est, loss, n, validation) -> bool:
    """Record the epoch (scikit-learn's bookkeeping); return True to stop training."""
    est.n_iter_ += 1
    est.t_ += n
    est.loss_ = loss
    est.loss_curve_.append(loss)
    if est.verbose:
        print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
    if validation is not None:
        with np.errstate(all="ignore"):
            score = float(est._validation_score(*validation))
        est.validation_scores_.append(score)
        if est.verbose:
            print(f"Validation score: {score:f}")
        stale = score < est.best_validation_score_ + est.tol
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_weights = est.network_.snapshot()
    else:
        stale = loss > est.best_loss_ - est.tol
        est.best_loss_ = min(est.best_loss_, loss)
    est._no_improvement_count = est._no_improvement_count + 1 if stale else 0
    if est.solver == "sgd" and est.optimizer is None and est.learning_rate == "invscaling":
        est._rate.value = est.learning_rate_init / (est.t_ + 1) ** est.power_t
    if est._no_improvement_count <= est.n_iter_no_change:
        return False
    what = "Validation score" if validation is not None else "Training loss"
    message = (f"{what} did not improve more than tol={est.tol:f} for "
               f"{est.n_iter_no_change} consecutive epochs.")
    adaptive = (est.solver == "sgd" and est.optimizer is None
                and est.learning_rate == "adaptive")
    if adaptive and est._rate.value > MIN_ADAPTIVE_RATE:
        est._rate.value /= 5.0
        est._no_improvement_count = 0
        if est.verbose:
            print(f"{message} Setting learning rate to {est._rate.value:f}")
        return False
    if est.verbose:
        print(message + (" Learning rate too small. Stopping." if adaptive else " Stopping."))
    return True


def lbfgs(est, net, loss, X, T, w) -> None:
    """Minimise E + α/(2 Σw) ‖W‖² over the whole training set with L-BFGS-B (SciPy), on the
    flat parameter vector in float64, for at most ``max_iter`` iterations and ``max_fun``
    evaluations, stopping when the projected gradient falls below ``tol``."""
    from scipy.optimize import minimize

    sw_sum = X.shape[0] if w is None else float(w.sum())
    curve = []

    def objective(theta):
        net.flat_values[...] = theta
        value = net.compute_gradients(X, T, loss, w)
        value = add_penalty(net, est.alpha, sw_sum, value)
        return value, net.flat_grads.astype(np.float64)

    def progress(intermediate_result):
        curve.append(float(intermediate_result.fun))
        if est.verbose:
            print(f"Iteration {len(curve)}, loss = {curve[-1]:.8f}")

    with np.errstate(over="ignore", invalid="ignore"):
        result = minimize(objective, net.flat_values.astype(np.float64), method="L-BFGS-B",
                          jac=True, callback=progress,
                          options={"maxiter": est.max_iter, "maxfun": est.max_fun,
                                   "gtol": est.tol})
    net.flat_values[...] = result.x
    est.n_iter_ = min(int(result.nit), est.max_iter)
    est._diverged_at = None if math.isfinite(result.fun) else est.n_iter_
    est.t_ += X.shape[0] * est.n_iter_
    est.loss_ = float(result.fun)
    est.loss_curve_ = est.loss_curve_ + curve
    est.best_loss_ = min([est.loss_, *curve]) if math.isfinite(est.loss_) else est.loss_
    if result.status != 0:
        message = result.message.decode() if isinstance(result.message, bytes) \
            else str(result.message)
        warnings.warn(f"lbfgs failed to converge after {est.n_iter_} iteration(s) "
                      f"(status={result.status}): {message}. Increase the number of "
                      f"iterations (max_iter) or the function evaluations (max_fun), or "
                      f"scale the data", est._convergence_warning, stacklevel=4)
