"""The training loop: batches, epochs, stopping criteria and the History it returns.

Tutorial 001's general procedure: initialise the weights; then repeat — compute the loss,
the gradients of every layer, update the weights — until a stopping criterion holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ._validation import as_matrix, check_positive, check_sample_weight
from .errors import ConfigError, FFBPError, ShapeError
from .optim import apply_updates, gd


class DivergenceError(FFBPError, ArithmeticError):
    """The loss became NaN or inf during training."""


@dataclass
class History:
    """What happened during ``fit``: the mean training loss of every epoch and why it stopped.

    ``loss[e]`` is the mean of the batch losses of epoch e (weighted by batch size / sample
    weight), the figure the progress bar shows."""

    loss: list = field(default_factory=list)
    stop_reason: str = ""

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def as_dict(self) -> dict:
        return {"loss": list(self.loss), "epochs": self.epochs, "stop_reason": self.stop_reason}


def fit(net, X, y, loss="mse", optimizer=None, *, epochs: int = 100, batch_size=32,
        shuffle: bool = True, tol: float | None = None, n_iter_no_change: int = 5,
        seed: int | None = None, sample_weight=None, verbose=None) -> History:
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
        epochs: maximum number of passes over the data.
        batch_size: samples per gradient step. ``None`` = batch gradient descent (the whole
            set), 1 = stochastic gradient descent, anything between = mini-batches.
        shuffle: reshuffle the samples before each epoch (once per epoch, into a contiguous
            copy, so batches are cheap slices).
        tol, n_iter_no_change: stop when the epoch loss has improved on the best loss so far
            by less than ``tol`` for ``n_iter_no_change`` consecutive epochs (None: never).
        seed: seed of the shuffling (deterministic training).
        sample_weight: (n_samples,) non-negative weights; the loss is Σ wE / Σ w per batch.
        verbose: progress bar over epochs: True, False, or None = only on a terminal.
    """
    loss = net.check_loss(loss)
    optimizer = gd(0.1) if optimizer is None else optimizer
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise ConfigError(f"optimizer must be an ffbp.optim transformation, got {optimizer!r}")
    check_positive(epochs, "epochs", integer=True)
    check_positive(batch_size, "batch_size", integer=True, allow_none=True)
    check_positive(n_iter_no_change, "n_iter_no_change", integer=True)
    if tol is not None and not tol >= 0:
        raise ConfigError(f"tol must be a non-negative number or None, got {tol!r}")

    X = as_matrix(X, "X", net.dtype, net.n_features)
    T = loss.prepare_targets(y, net.n_outputs, "y").astype(net.dtype, copy=False)
    if len(T) != len(X):
        raise ShapeError(f"X has {len(X)} samples but y has {len(T)}")
    w = check_sample_weight(sample_weight, len(X), net.dtype)
    n = len(X)
    bs = n if batch_size is None else min(int(batch_size), n)

    if net.optimizer is not optimizer or net.optimizer_state is None:
        net.optimizer, net.optimizer_state = optimizer, optimizer.init(net.flat_values, net)
    net.loss = loss
    state = net.optimizer_state
    rng = np.random.default_rng(seed)
    uniform = np.full(bs, 1.0 / bs, dtype=net.dtype)
    history = History()
    best, stale = math.inf, 0

    bar = tqdm(range(int(epochs)), disable=None if verbose is None else not verbose,
               desc="fit", unit="epoch", leave=False)
    for epoch in bar:
        if shuffle:
            order = rng.permutation(n)
            Xe, Te, we = X[order], T[order], (None if w is None else w[order])
        else:
            Xe, Te, we = X, T, w
        total = 0.0
        for start in range(0, n, bs):
            stop = min(start + bs, n)
            if we is None:
                coef = uniform if stop - start == bs else np.full(
                    stop - start, 1.0 / (stop - start), dtype=net.dtype)
                share = (stop - start) / n
            else:
                wb = we[start:stop]
                if wb.sum() == 0:
                    continue                    # nothing in this batch counts
                coef = wb / wb.sum()
                share = wb.sum() / w.sum()
            value, _ = net._loss_and_gradients(Xe[start:stop], Te[start:stop], loss, coef)
            if not math.isfinite(value):
                raise DivergenceError(
                    f"the loss became {value} at epoch {epoch + 1}, batch {start // bs + 1}: "
                    f"lower the learning rate or clip the gradients")
            optimizer.update(net.flat_grads, state, net.flat_values)
            apply_updates(net.flat_values, net.flat_grads)
            total += value * share
        history.loss.append(total)
        bar.set_postfix(loss=f"{total:.4g}")
        if tol is not None:
            if total > best - tol:
                stale += 1
                if stale >= n_iter_no_change:
                    history.stop_reason = (f"loss improved by less than tol={tol} for "
                                           f"{n_iter_no_change} epochs")
                    break
            else:
                stale = 0
            best = min(best, total)
    bar.close()
    history.stop_reason = history.stop_reason or f"reached epochs={epochs}"
    return history
