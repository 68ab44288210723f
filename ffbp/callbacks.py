"""Callbacks: code that runs at fixed points of ``fit``.

The protocol (every method optional; ``fit`` only calls the ones a callback defines, so an
unused hook costs nothing in the batch loop):

* ``on_train_begin(net, history)``
* ``on_batch_end(batch, logs)``: ``logs = {"loss": batch loss, "size": samples}``;
* ``on_epoch_end(epoch, logs)``: ``logs`` holds the epoch's figures ("loss", "val_loss",
  "accuracy", ...); return True to stop training after this epoch;
* ``on_train_end(net, history)``.

Epochs and batches count from 0. Learning-rate schedules that react to the loss
(``ffbp.optim.schedules.reduce_on_plateau``) are callbacks too: pass them in ``callbacks``.
"""

from __future__ import annotations

import math

from ._validation import check_positive


class Callback:
    """Optional base class; subclasses override the hooks they need."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best_weights`` put back the weights (and batch-norm statistics)
    of the best epoch.

    ``monitor`` is "val_loss" by default and falls back to "loss" without validation data.
    A NaN (or +inf) value never counts as an improvement: it only adds to the epochs
    without one, so a monitored figure that is never finite stops training after
    ``patience`` epochs and the stop reason says no finite value was seen."""

    def __init__(self, monitor: str = "val_loss", patience: int = 10, min_delta: float = 0.0,
                 restore_best_weights: bool = True):
        check_positive(patience, "patience", integer=True)
        self.monitor, self.patience = monitor, int(patience)
        self.min_delta, self.restore_best_weights = float(min_delta), restore_best_weights

    def on_train_begin(self, net, history):
        self.net, self.history = net, history
        self.best, self.best_epoch, self.wait, self.best_values = math.inf, None, 0, None

    def on_epoch_end(self, epoch, logs):
        key = self.monitor if self.monitor in logs else "loss"
        value = logs[key]
        if value < self.best - self.min_delta:          # False for NaN: never an improvement
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_values = self.net.snapshot()
            return False
        self.wait += 1
        if self.wait >= self.patience:
            best = ("no finite value seen" if self.best_epoch is None
                    else f"best {self.best:.6g} at epoch {self.best_epoch + 1}")
            self.history.stop_reason = (f"early stopping: {key} did not improve for "
                                        f"{self.patience} epochs ({best})")
            return True
        return False

    def on_train_end(self, net, history):
        if self.restore_best_weights and self.best_values is not None:
            net.restore(self.best_values)
            history.best_epoch = self.best_epoch


class LossTolerance(Callback):
    """Stop when the training loss has improved on its best by less than ``tol`` for
    ``n_iter_no_change`` consecutive epochs (``fit``'s ``tol`` argument)."""

    def __init__(self, tol: float, n_iter_no_change: int = 5):
        self.tol, self.n = float(tol), int(n_iter_no_change)

    def on_train_begin(self, net, history):
        self.history, self.best, self.stale = history, math.inf, 0

    def on_epoch_end(self, epoch, logs):
        loss = logs["loss"]
        # "not <=" so that a NaN loss counts as no improvement (NaN compares False).
        self.stale = 0 if loss <= self.best - self.tol else self.stale + 1
        self.best = min(self.best, loss)
        if self.stale >= self.n:
            self.history.stop_reason = (f"loss improved by less than tol={self.tol} for "
                                        f"{self.n} epochs")
            return True
        return False


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``."""

    def __init__(self, **hooks):
        for name, fn in hooks.items():
            setattr(self, name, fn)
