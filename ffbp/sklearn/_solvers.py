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

from .. import backprop
from ..callbacks import CallbackList
from ..history import History
from ..losses.base import batch_coefficients
from ..optim import apply_updates
from ._parts import EpochRate, make_optimizer

#: scikit-learn's "adaptive" schedule stops once the learning rate falls to this.
MIN_ADAPTIVE_RATE = 1e-6


class NonFiniteWeights(ValueError):
    """Training produced NaN or inf weights (a ValueError, as in scikit-learn)."""


def add_penalty(net, alpha, sw_sum, value, mask=None, scratch=None) -> float:
    """Add α/(2 Σw) ‖W‖² to ``value`` and α/Σw · W to ``net.flat_grads`` (weights only).
    ``mask``: ``net.decay_mask()`` as the net's floats, made once per run by the caller
    (building it walks every parameter); ``scratch``: a preallocated array like
    ``net.flat_values``, so that a step allocates nothing (two fewer temporaries per batch)."""
    if not alpha:
        return value
    if mask is None:
        mask = net.decay_mask()
    W = np.multiply(net.flat_values, mask, out=scratch)
    squares = float(W @ W)
    W *= alpha / sw_sum                 # (α/Σw)·W, then added: the same roundings as before
    net.flat_grads += W
    return value + 0.5 * alpha * squares / sw_sum


class Solvers:
    """The estimators' training runs (a mixin of ``BaseMLP``: they keep scikit-learn's
    fitted attributes on the estimator itself)."""

    def _fit_stochastic(self, net, loss, X, T, w, rng, *, incremental) -> None:
        """Train ``self.max_iter`` epochs at most (one for ``partial_fit``) and set the fitted
        attributes: n_iter_, t_, loss_, loss_curve_, best_loss_, validation_scores_,
        best_validation_score_, learning_rate_."""
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if not incremental or getattr(self, "_rate", None) is None or net.optimizer is None:
            self._rate = EpochRate(self.learning_rate_init)
            net.optimizer = make_optimizer(self, self._rate)
            net.optimizer_state = net.optimizer.init(net.flat_values, net)
        if self.early_stopping:
            (X, T, w), validation = self._split(X, T, w, rng)
        n = X.shape[0]
        batch = self._batch_size(n)
        data = backprop.prepare(net, X, T, loss)     # checked once, not once per batch
        # Made once per fit, not per epoch or batch: the weight-decay mask (building it walks
        # every parameter) and the penalty's scratch array.
        mask = net.decay_mask().astype(net.dtype)
        scratch = np.empty_like(net.flat_values)
        history, callbacks = History(), CallbackList(self.callbacks or ())
        self.n_iter_, self._diverged_at = 0, None
        try:
            callbacks.on_train_begin(net, history)
            with np.errstate(over="ignore", invalid="ignore"):   # divergence checked below
                for epoch in range(self.max_iter):
                    callbacks.on_epoch_begin(epoch)
                    order = rng.permutation(n) if self.shuffle else np.arange(n)
                    total = self._epoch(net, loss, data, w, order, batch, callbacks,
                                        mask, scratch)
                    if not (math.isfinite(total) and np.isfinite(net.flat_values).all()):
                        self._diverged_at = self.n_iter_ + 1
                    stop = self._end_epoch(total / n, n,
                                           validation if self.early_stopping else None)
                    logs = {"loss": self.loss_}
                    if self.early_stopping:
                        logs["val_score"] = self.validation_scores_[-1]
                    history.append(logs)
                    stop = callbacks.on_epoch_end(epoch, logs) or stop
                    # Training on NaN teaches nothing: a diverged run ends here (scikit-learn
                    # would run on to max_iter; the outcome, best weights or an error, is
                    # the same).
                    if stop or self._diverged_at or incremental:
                        break
                    if self.n_iter_ == self.max_iter:
                        warnings.warn(f"Stochastic Optimizer: Maximum iterations "
                                      f"({self.max_iter}) reached and the optimization "
                                      f"hasn't converged yet.", self._convergence_warning,
                                      stacklevel=4)
        except KeyboardInterrupt:             # as scikit-learn: keep what was learnt so far
            warnings.warn("Training interrupted by user.", UserWarning, stacklevel=4)
        finally:
            callbacks.close()
        if self.early_stopping and self._best_weights is not None:
            net.restore(self._best_weights)        # finite: a NaN score is never the best
            self._diverged_at = None
        callbacks.on_train_end(net, history)
        self.learning_rate_ = self._rate.value


    def _epoch(self, net, loss, full, w, order, batch, callbacks, mask, scratch) -> float:
        """One pass over the checked batch ``full`` in ``order``, a step per batch; the sum
        over batches of (batch objective × batch rows), scikit-learn's accumulated loss.
        ``mask`` and ``scratch``: ``add_penalty``'s."""
        total = 0.0
        # Unweighted, every batch but the last has the same coefficients 1/n: made once (the
        # step only reads them).
        even = batch_coefficients(None, batch, net.dtype) if w is None else None
        update, params, grads = net.optimizer.update, net.flat_values, net.flat_grads
        for b, start in enumerate(range(0, len(order), batch)):
            idx = order[start:start + batch]
            wb = None if w is None else w[idx]
            if wb is not None and not wb.sum() > 0:
                continue                              # no weight: nothing to learn
            coef = even if wb is None and len(idx) == batch else \
                batch_coefficients(wb, len(idx), net.dtype)
            value = backprop.step(net, backprop.Batch(full.X[idx], full.T[idx], coef),
                                  loss).loss
            value = add_penalty(net, self.alpha, len(idx) if wb is None else wb.sum(), value,
                                mask, scratch)
            for hook in callbacks.gradient_hooks:
                hook(b, net)
            update(grads, net.optimizer_state, params)
            apply_updates(params, grads)
            total += value * len(idx)
            for hook in callbacks.batch_hooks:
                hook(b, {"loss": value, "size": len(idx)})
        return total

    def _end_epoch(self, loss, n, validation) -> bool:
        """Record the epoch (scikit-learn's bookkeeping); return True to stop training."""
        self.n_iter_ += 1
        self.t_ += n
        self.loss_ = loss
        self.loss_curve_.append(loss)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
        if validation is not None:
            with np.errstate(all="ignore"):
                score = float(self._validation_score(*validation))
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            stale = score < self.best_validation_score_ + self.tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_weights = self.network_.snapshot()
        else:
            stale = loss > self.best_loss_ - self.tol
            self.best_loss_ = min(self.best_loss_, loss)
        self._no_improvement_count = self._no_improvement_count + 1 if stale else 0
        if self.solver == "sgd" and self.optimizer is None and self.learning_rate == "invscaling":
            self._rate.value = self.learning_rate_init / (self.t_ + 1) ** self.power_t
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        what = "Validation score" if validation is not None else "Training loss"
        message = (f"{what} did not improve more than tol={self.tol:f} for "
                   f"{self.n_iter_no_change} consecutive epochs.")
        adaptive = (self.solver == "sgd" and self.optimizer is None
                    and self.learning_rate == "adaptive")
        if adaptive and self._rate.value > MIN_ADAPTIVE_RATE:
            self._rate.value /= 5.0
            self._no_improvement_count = 0
            if self.verbose:
                print(f"{message} Setting learning rate to {self._rate.value:f}")
            return False
        if self.verbose:
            print(message + (" Learning rate too small. Stopping." if adaptive else " Stopping."))
        return True


    def _fit_lbfgs(self, net, loss, X, T, w) -> None:
        """Minimise E + α/(2 Σw) ‖W‖² over the whole training set with L-BFGS-B (SciPy), on the
        flat parameter vector in float64, for at most ``max_iter`` iterations and ``max_fun``
        evaluations, stopping when the projected gradient falls below ``tol``."""
        from scipy.optimize import minimize

        sw_sum = X.shape[0] if w is None else float(w.sum())
        mask = net.decay_mask().astype(net.dtype)
        curve = []

        def objective(theta):
            net.flat_values[...] = theta
            value = net.compute_gradients(X, T, loss, w)
            value = add_penalty(net, self.alpha, sw_sum, value, mask)
            return value, net.flat_grads.astype(np.float64)

        def progress(intermediate_result):
            curve.append(float(intermediate_result.fun))
            if self.verbose:
                print(f"Iteration {len(curve)}, loss = {curve[-1]:.8f}")

        with np.errstate(over="ignore", invalid="ignore"):
            result = minimize(objective, net.flat_values.astype(np.float64), method="L-BFGS-B",
                              jac=True, callback=progress,
                              options={"maxiter": self.max_iter, "maxfun": self.max_fun,
                                       "gtol": self.tol})
        net.flat_values[...] = result.x
        self.n_iter_ = min(int(result.nit), self.max_iter)
        self._diverged_at = None if math.isfinite(result.fun) else self.n_iter_
        self.t_ += X.shape[0] * self.n_iter_
        self.loss_ = float(result.fun)
        self.loss_curve_ = self.loss_curve_ + curve
        self.best_loss_ = min([self.loss_, *curve]) if math.isfinite(self.loss_) else self.loss_
        if result.status != 0:
            message = result.message.decode() if isinstance(result.message, bytes) \
                else str(result.message)
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                          f"(status={result.status}): {message}. Increase the number of "
                          f"iterations (max_iter) or the function evaluations (max_fun), or "
                          f"scale the data", self._convergence_warning, stacklevel=4)

    def _split(self, X, T, w, rng):
        """Hold out ``validation_fraction`` for early stopping (stratified for binary
        targets): (X, T, w) to train on and (X, T, w) to score."""
        # scikit-learn stratifies a classifier's split only when it has one output (binary
        # targets); multi-class and multi-label splits are plain random ones.
        stratify = T if (self._stratify and self.n_outputs_ == 1) else None
        if not self.validation_fraction > 0:     # 0 is valid, as there, until it is used
            raise ValueError("early_stopping=True needs a validation_fraction in (0, 1), got "
                             f"{self.validation_fraction!r}: nothing would be held out")
        arrays = [X, T] + ([] if w is None else [w])
        # float(): a NumPy scalar (np.float32(0.1)) is a valid validation_fraction, but not a
        # test_size train_test_split's own parameter check accepts.
        parts = train_test_split(*arrays, test_size=float(self.validation_fraction),
                                 random_state=rng, stratify=stratify)
        if parts[1].shape[0] < 2:
            raise ValueError("The validation set is too small: fewer than 2 samples. Increase "
                             "'validation_fraction' or the size of your dataset.")
        w_tr, w_val = (None, None) if w is None else parts[4:]
        return (parts[0], parts[2], w_tr), (parts[1], parts[3], w_val)


    def _batch_size(self, n):
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn(f"Got `batch_size` ({self.batch_size}) larger than the sample size "
                          f"({n}). It is going to be clipped", UserWarning, stacklevel=5)
        return int(min(self.batch_size, n))
