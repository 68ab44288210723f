"""Callbacks: code that runs at fixed points of ``fit`` (Keras's names).

The protocol, declared by ``Callback`` (every method optional: an object of any class may
define just the hooks it needs; ``fit`` calls only the ones it defines, so an unused hook
costs nothing in the batch loop):

* ``on_train_begin(net, history)``
* ``on_epoch_begin(epoch)``
* ``on_gradients(batch, net)``: after back-propagation, before the optimiser:
  ``net.flat_grads`` holds the batch's ∂E/∂θ as computed (before clipping or any other
  transformation; read it, do not change it);
* ``on_batch_end(batch, logs)``: ``logs = {"loss": batch loss, "size": samples}``;
* ``on_epoch_end(epoch, logs)``: ``logs`` holds the epoch's figures ("loss", "val_loss",
  "accuracy", ...); return True to stop training after this epoch;
* ``on_train_end(net, history)``: after the last epoch (not when training is interrupted);
* ``close()``: always, last, also after an error or Ctrl-C (release what you hold).

Epochs and batches count from 0. Learning-rate schedules that react to the loss
(``ffbp.optim.schedules.reduce_on_plateau``) are callbacks too: pass them in ``callbacks``.
"""

from __future__ import annotations

import math

from ._validation import check_positive

HOOKS = ("on_train_begin", "on_epoch_begin", "on_gradients", "on_batch_end", "on_epoch_end",
         "on_train_end", "close")


class Callback:
    """The protocol as a base class: every hook does nothing; override those you need."""

    def on_train_begin(self, net, history) -> None:
        """Training starts; ``history`` is the run's History, filled epoch by epoch."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Epoch ``epoch`` (from 0) starts."""

    def on_gradients(self, batch: int, net) -> None:
        """The batch's gradients are in ``net.flat_grads``, not yet transformed or applied."""

    def on_batch_end(self, batch: int, logs: dict) -> None:
        """A step was applied; ``logs`` = {"loss": batch loss, "size": samples}."""

    def on_epoch_end(self, epoch: int, logs: dict) -> bool:
        """The epoch's figures are in ``logs``; return True to stop training."""
        return False

    def on_train_end(self, net, history) -> None:
        """Training finished (every epoch, or a stopping rule)."""

    def close(self) -> None:
        """Always called last, also after an error or Ctrl-C."""

    def state(self) -> tuple[dict, dict] | None:
        """What a checkpoint must keep for a resumed run to go on exactly as an uninterrupted
        one: (a JSON-able dict, a dict of NumPy arrays), or None for nothing."""
        return None

    def load_state(self, info: dict, arrays: dict) -> None:
        """Take back what ``state`` returned (called after ``on_train_begin`` on resume)."""


class CallbackList:
    """Several callbacks called as one, in order. Which hooks each defines is looked up
    once here, so the loop pays nothing for hooks that nobody uses."""

    def __init__(self, callbacks=()):
        self.callbacks = list(callbacks)
        self._hooks = {name: [hook for hook in (getattr(cb, name, None)
                                                for cb in self.callbacks)
                              if callable(hook) and not _base_no_op(hook, name)]
                       for name in HOOKS}

    def on_train_begin(self, net, history) -> None:
        for hook in self._hooks["on_train_begin"]:
            hook(net, history)

    def on_epoch_begin(self, epoch: int) -> None:
        for hook in self._hooks["on_epoch_begin"]:
            hook(epoch)

    @property
    def batch_hooks(self) -> list:
        """The ``on_batch_end`` hooks (the loop calls these directly, per batch)."""
        return self._hooks["on_batch_end"]

    @property
    def gradient_hooks(self) -> list:
        """The ``on_gradients`` hooks (called per batch before the optimiser)."""
        return self._hooks["on_gradients"]

    def on_epoch_end(self, epoch: int, logs: dict) -> bool:
        """True when any callback asks to stop (every callback still sees the epoch)."""
        stop = False
        for hook in self._hooks["on_epoch_end"]:
            stop = bool(hook(epoch, logs)) or stop
        return stop

    def on_train_end(self, net, history) -> None:
        for hook in self._hooks["on_train_end"]:
            hook(net, history)

    def close(self) -> None:
        for hook in self._hooks["close"]:
            hook()

    def states(self) -> dict:
        """{key: (class name, info, arrays)} of the callbacks that keep a state; the key is
        the class name and its count among them ("EarlyStopping.0"), so that callbacks
        without a state (progress lines, logs) may differ between a run and its resume."""
        out, seen = {}, {}
        for cb in self.callbacks:
            method = getattr(cb, "state", None)
            kept = method() if callable(method) else None
            if kept is not None:
                name = type(cb).__name__
                seen[name] = seen.get(name, -1) + 1
                out[f"{name}.{seen[name]}"] = (name, *kept)
        return out

    def load_states(self, states: dict) -> None:
        """Give each callback back its ``state`` (what ``states`` returned when the
        checkpoint was written), refusing a checkpoint whose stopping callbacks differ."""
        from .errors import ConfigError

        mine = {key: cb for key, cb in zip(self.states(), self._stateful(), strict=True)}
        for key, (name, info, arrays) in states.items():
            if key not in mine:
                raise ConfigError(f"the checkpoint was written with a {name} callback this "
                                  f"run does not have; resume with the same callbacks (and "
                                  f"the same early_stopping / tol settings)")
            mine[key].load_state(info, arrays)

    def _stateful(self) -> list:
        return [cb for cb in self.callbacks if callable(getattr(cb, "state", None))
                and cb.state() is not None]


def _base_no_op(hook, name: str) -> bool:
    """True when ``hook`` is ``Callback``'s own empty method (not overridden)."""
    return getattr(hook, "__func__", None) is getattr(Callback, name)


class ProgressBar(Callback):
    """A tqdm bar over the samples of the run, "epoch e/E" with the last epoch's figures.

    ``fit`` adds it when ``verbose`` asks for one (``None``: only when stderr is a
    terminal); otherwise no bar, and no tqdm lock, exists at all."""

    def __init__(self, epochs: int, total: int, batches_per_epoch: int):
        self.epochs, self.total = epochs, total
        self.every = max(1, batches_per_epoch // 50)   # redraw about 50 times an epoch
        self.bar, self.pending = None, 0

    def on_train_begin(self, net, history):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.total, unit="sample", unit_scale=True, leave=False,
                        dynamic_ncols=True)

    def on_epoch_begin(self, epoch):
        self.bar.set_description(f"epoch {epoch + 1}/{self.epochs}", refresh=False)

    def on_batch_end(self, batch, logs):
        self.pending += logs["size"]
        if batch % self.every == self.every - 1:
            self.bar.update(self.pending)
            self.pending = 0

    def on_epoch_end(self, epoch, logs):
        self.bar.update(self.pending)
        self.pending = 0
        self.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
        return False

    def close(self):
        if self.bar is not None:
            self.bar.close()


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

    def state(self):
        """The best figure so far, its epoch, the epochs since, and its weights."""
        info = {"best": self.best if math.isfinite(self.best) else None,
                "best_epoch": self.best_epoch, "wait": self.wait}
        arrays = {}
        if self.best_values is not None:
            arrays["values"] = self.best_values["values"]
            arrays.update({f"buffer.{i}.{k}": v
                           for (i, k), v in self.best_values["buffers"].items()})
        return info, arrays

    def load_state(self, info, arrays):
        self.best = math.inf if info["best"] is None else float(info["best"])
        self.best_epoch, self.wait = info["best_epoch"], int(info["wait"])
        if "values" in arrays:
            if arrays["values"].shape != self.net.flat_values.shape:
                from .errors import ModelFileError

                raise ModelFileError(f"the checkpoint's best weights hold "
                                     f"{arrays['values'].size} values; this network has "
                                     f"{self.net.flat_values.size}")
            buffers = {}
            for name, v in arrays.items():
                if name.startswith("buffer."):
                    _, i, k = name.split(".", 2)
                    buffers[(int(i), k)] = v
            self.best_values = {"values": arrays["values"], "buffers": buffers}


class LossTolerance(Callback):
    """Stop when the training loss has improved on its best by less than ``tol`` for
    ``n_iter_no_change`` consecutive epochs (``fit``'s ``tol`` argument)."""

    def __init__(self, tol: float, n_iter_no_change: int = 5):
        self.tol, self.n = float(tol), int(n_iter_no_change)

    def on_train_begin(self, net, history):
        self.history, self.best, self.stale = history, math.inf, 0

    def state(self):
        """The best loss so far and the epochs since it."""
        return {"best": self.best if math.isfinite(self.best) else None,
                "stale": self.stale}, {}

    def load_state(self, info, arrays):
        self.best = math.inf if info["best"] is None else float(info["best"])
        self.stale = int(info["stale"])

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
