"""The training loop: batches, epochs, validation, stopping criteria, callbacks, progress.

Tutorial 001's general procedure: initialise the weights; then repeat — compute the loss,
the gradients of every layer, update the weights — until a stopping criterion holds.
"""

from __future__ import annotations

import math

import numpy as np
from tqdm.auto import tqdm

from . import checkpoint as ckpt
from ._validation import as_matrix, check_positive, check_sample_weight
from .callbacks import EarlyStopping, LossTolerance
from .errors import ConfigError, FFBPError, ShapeError
from .history import History
from .optim import apply_updates, gd


class DivergenceError(FFBPError, ArithmeticError):
    """The loss became NaN or inf during training."""


def fit(net, X, y, loss="mse", optimizer=None, *, epochs: int = 100, batch_size=32,
        shuffle: bool = True, validation_split: float = 0.0, validation_data=None,
        metrics: bool = True, early_stopping: bool = False, patience: int = 10,
        restore_best_weights: bool = True, tol: float | None = None,
        n_iter_no_change: int = 5, callbacks=(), seed: int | None = None,
        sample_weight=None, verbose=None, checkpoint=None, checkpoint_every: int = 1,
        resume=None) -> History:
    """Train ``net`` on (X, y) by back-propagation and return a :class:`History`.

    Each step: forward a batch, compute E and ∂E/∂θ for every parameter θ by
    back-propagation, then let the optimiser update θ (plain gradient descent:
    θ ← θ − α ∂E/∂θ, tutorial 004).

    Args:
        X: (n_samples, n_features) inputs.
        y: targets (see the loss: values, class indices or one-hot rows).
        loss: a loss name or instance (``ffbp.losses``); it must fit the output layer.
        optimizer: a ``GradientTransformation`` (``ffbp.optim``); default ``gd(0.1)``.
            Passing the same optimiser object again continues with its state (momenta,
            step count); a different one starts fresh.
        epochs: the last epoch to train (also when resuming: total, not additional).
        batch_size: samples per gradient step. ``None`` = batch gradient descent (the whole
            set), 1 = stochastic gradient descent, anything between = mini-batches.
        shuffle: reshuffle the samples before each epoch (once per epoch, into a contiguous
            copy, so batches are cheap slices).
        validation_split: fraction of (X, y) held out at random (by ``seed``) to compute
            ``val_loss`` (and ``val_accuracy``) after each epoch.
        validation_data: ``(X_val, y_val)`` instead of a split.
        metrics: record ``accuracy`` / ``val_accuracy`` for classification losses.
        early_stopping, patience, restore_best_weights: stop when ``val_loss`` (or ``loss``
            without validation) has not improved for ``patience`` epochs, and put back the
            best epoch's weights.
        tol, n_iter_no_change: stop when the epoch loss has improved on the best loss so far
            by less than ``tol`` for ``n_iter_no_change`` consecutive epochs (None: never).
        callbacks: objects following the protocol in ``ffbp.callbacks``.
        seed: seed of the validation split and the shuffling (deterministic training).
        sample_weight: (n_samples,) non-negative weights; the loss is Σ wE / Σ w per batch.
        verbose: progress bar: True, False, or None = only on a terminal.
        checkpoint: path of a resumable checkpoint written every ``checkpoint_every``
            epochs and at the end (atomically; see ``ffbp.checkpoint``).
        resume: path of a checkpoint to continue from (weights, optimiser state, epoch,
            history, random state); training then runs up to ``epochs``.
    """
    loss = net.check_loss(loss)
    optimizer = gd(0.1) if optimizer is None else optimizer
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise ConfigError(f"optimizer must be an ffbp.optim transformation, got {optimizer!r}")
    check_positive(epochs, "epochs", integer=True)
    check_positive(batch_size, "batch_size", integer=True, allow_none=True)
    check_positive(n_iter_no_change, "n_iter_no_change", integer=True)
    check_positive(checkpoint_every, "checkpoint_every", integer=True)
    if tol is not None and not tol >= 0:
        raise ConfigError(f"tol must be a non-negative number or None, got {tol!r}")
    if not 0 <= validation_split < 1:
        raise ConfigError(f"validation_split must be in [0, 1), got {validation_split!r}")

    meta = ckpt.read_metadata(resume) if resume is not None else None
    if meta is not None:
        seed = meta["seed"]
    elif seed is None:                 # draw one, so that a checkpoint can replay the run
        seed = int(np.random.SeedSequence().entropy % 2**63)

    X = as_matrix(X, "X", net.dtype, net.n_features)
    T = loss.prepare_targets(y, net.n_outputs, "y").astype(net.dtype, copy=False)
    if len(T) != len(X):
        raise ShapeError(f"X has {len(X)} samples but y has {len(T)}")
    w = check_sample_weight(sample_weight, len(X), net.dtype)
    X, T, w, val = _validation(net, loss, X, T, w, validation_split, validation_data, seed)
    n = len(X)
    bs = n if batch_size is None else min(int(batch_size), n)

    if net.optimizer is not optimizer or net.optimizer_state is None or meta is not None:
        net.optimizer, net.optimizer_state = optimizer, optimizer.init(net.flat_values, net)
    net.loss = loss
    rng = np.random.default_rng(seed)
    history, start = History(), 0
    if meta is not None:
        ckpt.load_checkpoint(resume, net, rng)
        history, start = History.from_dict(meta["history"]), meta["epoch"]

    hooks = list(callbacks)
    if early_stopping:
        hooks.append(EarlyStopping("val_loss", patience, 0.0, restore_best_weights))
    if tol is not None:
        hooks.append(LossTolerance(tol, n_iter_no_change))
    for cb in hooks:
        if hasattr(cb, "on_train_begin"):
            cb.on_train_begin(net, history)
    batch_hooks = [cb.on_batch_end for cb in hooks if hasattr(cb, "on_batch_end")]
    classify = metrics and loss.family == "classification"
    labels = loss.target_classes(T) if classify else None
    penalty = getattr(optimizer, "penalty", None)
    state = net.optimizer_state
    uniform = np.full(bs, 1.0 / bs, dtype=net.dtype)
    starts = list(range(0, n, bs))
    if len(starts) > 1 and n - starts[-1] < max(layer.min_batch for layer in net.layers):
        starts.pop()                        # fold a too-small last batch into the previous
    ends = starts[1:] + [n]
    n_batches = len(starts)
    report_every = max(1, n_batches // 50)      # progress updates: ~50 per epoch at most

    bar = tqdm(total=(int(epochs) - start) * n, disable=None if verbose is None else not verbose,
               unit="sample", unit_scale=True, leave=False, dynamic_ncols=True)
    try:
        for epoch in range(start, int(epochs)):
            bar.set_description(f"epoch {epoch + 1}/{epochs}", refresh=False)
            order = rng.permutation(n) if shuffle else None
            Xe, Te = (X[order], T[order]) if shuffle else (X, T)
            we = None if w is None else (w[order] if shuffle else w)
            le = None if labels is None else (labels[order] if shuffle else labels)
            total, correct, pending = 0.0, 0, 0
            for b, (start_row, stop) in enumerate(zip(starts, ends, strict=True)):
                size = stop - start_row
                if we is None:
                    coef = uniform if size == bs else np.full(size, 1.0 / size, net.dtype)
                    share = size / n
                else:
                    wb = we[start_row:stop]
                    if wb.sum() == 0:
                        continue                # nothing in this batch counts
                    coef, share = wb / wb.sum(), wb.sum() / w.sum()
                value, _ = net._loss_and_gradients(Xe[start_row:stop], Te[start_row:stop],
                                                   loss, coef)
                if not math.isfinite(value):
                    raise DivergenceError(
                        f"the loss became {value} at epoch {epoch + 1}, batch {b + 1}: lower "
                        f"the learning rate or clip the gradients")
                if classify:
                    correct += _n_correct(loss.decide(net._output), le[start_row:stop])
                optimizer.update(net.flat_grads, state, net.flat_values)
                apply_updates(net.flat_values, net.flat_grads)
                total += value * share
                for hook in batch_hooks:
                    hook(b, {"loss": value, "size": size})
                pending += size
                if b % report_every == report_every - 1:
                    bar.update(pending)
                    pending = 0
            bar.update(pending)
            logs = {"loss": total + (penalty(net.flat_values, state) if penalty else 0.0)}
            if classify:
                logs["accuracy"] = correct / n
            if val is not None:
                logs.update(_evaluate(net, loss, *val, classify))
            history.append(logs)
            bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
            stop_now = False
            for cb in hooks:
                if hasattr(cb, "on_epoch_end") and cb.on_epoch_end(epoch, logs):
                    stop_now = True
            if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0 or stop_now
                                           or epoch + 1 == epochs):
                ckpt.save_checkpoint(checkpoint, net, epoch=epoch + 1, history=history,
                                     rng=rng, extra={"seed": seed})
            if stop_now:
                break
    finally:
        bar.close()
    for cb in hooks:
        if hasattr(cb, "on_train_end"):
            cb.on_train_end(net, history)
    history.stop_reason = history.stop_reason or f"reached epochs={epochs}"
    return history


def _n_correct(decided, labels) -> int:
    if decided.ndim == 2:                       # multi-label: every output must be right
        return int(np.all(decided == labels, axis=1).sum())
    return int(np.count_nonzero(decided == labels))


def _validation(net, loss, X, T, w, split, data, seed):
    """Split off (or prepare) the validation set; return the training part and it."""
    if data is not None:
        if split:
            raise ConfigError("give validation_split or validation_data, not both")
        try:
            Xv, yv = data
        except (TypeError, ValueError):
            raise ConfigError("validation_data must be a pair (X_val, y_val)") from None
        Xv = as_matrix(Xv, "validation X", net.dtype, net.n_features)
        Tv = loss.prepare_targets(yv, net.n_outputs, "validation y").astype(net.dtype)
        if len(Tv) != len(Xv):
            raise ShapeError(f"validation X has {len(Xv)} samples but y has {len(Tv)}")
        return X, T, w, (Xv, Tv)
    if not split:
        return X, T, w, None
    n_val = math.ceil(split * len(X))
    if n_val >= len(X):
        raise ConfigError(f"validation_split={split} leaves no training samples out of "
                          f"{len(X)}")
    order = np.random.default_rng([seed, 1]).permutation(len(X))
    val, train = order[:n_val], np.sort(order[n_val:])
    return X[train], T[train], (None if w is None else w[train]), (X[val], T[val])


def _evaluate(net, loss, Xv, Tv, classify) -> dict:
    """val_loss (and val_accuracy) in inference mode, in chunks."""
    Y = net._predict_raw(Xv)
    logs = {"val_loss": float(loss._values(Y, Tv).mean())}
    if classify:
        logs["val_accuracy"] = _n_correct(loss.decide(Y), loss.target_classes(Tv)) / len(Xv)
    return logs
