"""Learning-rate schedules: functions step -> learning rate (step counts from 0).

Any schedule can be passed as ``learning_rate`` to any optimiser; it is called once per
update with the number of updates made so far.
"""

from __future__ import annotations

import math

from .._validation import check_positive
from ..errors import ConfigError


def constant(lr: float):
    """α at every step."""
    lr = float(lr)
    return lambda step: lr


def step_decay(lr: float, step_size: int, gamma: float = 0.1):
    """αₜ = α γ^⌊t / step_size⌋: multiply by γ every ``step_size`` steps (torch StepLR)."""
    check_positive(step_size, "step_size", integer=True)
    lr, gamma = float(lr), float(gamma)
    return lambda step: lr * gamma ** (step // step_size)


def exponential(lr: float, gamma: float):
    """αₜ = α γᵗ (torch ExponentialLR)."""
    lr, gamma = float(lr), float(gamma)
    return lambda step: lr * gamma ** step


def cosine(lr: float, total_steps: int, warmup_steps: int = 0, final_lr: float = 0.0):
    """Linear warm-up from 0 to α over ``warmup_steps``, then cosine decay to ``final_lr``
    at ``total_steps`` (warm-up included), constant after:

        αₜ = α t / W                                   for t < W,
        αₜ = α_f + ½ (α − α_f)(1 + cos(π (t − W)/(T − W)))  for W ≤ t ≤ T.

    Without warm-up this is torch CosineAnnealingLR(T_max=T, eta_min=α_f) over its first
    half-period. The warm-up keeps the first steps small while Adam's moments are noisy."""
    check_positive(total_steps, "total_steps", integer=True)
    if not (isinstance(warmup_steps, int) and 0 <= warmup_steps < total_steps):
        raise ConfigError(f"warmup_steps must be an integer in [0, total_steps), "
                          f"got {warmup_steps!r}")
    lr, final_lr = float(lr), float(final_lr)
    span = total_steps - warmup_steps

    def schedule(step):
        if step < warmup_steps:
            return lr * step / warmup_steps
        t = min(step - warmup_steps, span)
        return final_lr + 0.5 * (lr - final_lr) * (1.0 + math.cos(math.pi * t / span))

    return schedule


class ReduceOnPlateau:
    """A learning rate that drops when the monitored loss stops improving (torch
    ReduceLROnPlateau, mode "min", threshold_mode "rel").

    Both a schedule (``self(step)`` is the current α) and a training callback:
    ``on_epoch_end(epoch, logs)`` reads ``logs[monitor]`` (falling back to ``logs["loss"]``
    when there is no validation loss). A value counts as an improvement when it is below
    best · (1 − threshold); after more than ``patience`` epochs in a row without one,
    α ← max(α · factor, min_lr) and the count restarts (after ``cooldown`` quiet epochs).
    """

    def __init__(self, lr: float, factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, min_lr: float = 0.0, cooldown: int = 0,
                 monitor: str = "val_loss"):
        if not 0.0 < factor < 1.0:
            raise ConfigError(f"factor must be in (0, 1), got {factor!r}")
        self.lr, self.factor, self.patience = float(lr), float(factor), int(patience)
        self.threshold, self.min_lr, self.cooldown = float(threshold), float(min_lr), cooldown
        self.monitor = monitor
        self.best = math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def __call__(self, step) -> float:
        return self.lr

    def step(self, value: float) -> None:
        """Record one epoch's monitored value and reduce α if it has plateaued."""
        value = float(value)
        if value < self.best * (1.0 - self.threshold):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:       # right after a reduction: let the model settle
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            new = max(self.lr * self.factor, self.min_lr)
            if self.lr - new > 1e-8:        # torch's eps: ignore negligible reductions
                self.lr = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        self.step(logs[self.monitor] if self.monitor in logs else logs["loss"])

    def state(self):
        """The current α and the plateau counters, for checkpoints (a resumed run goes on
        with the α it had reached)."""
        return {"lr": self.lr, "best": self.best if math.isfinite(self.best) else None,
                "bad": self.num_bad_epochs, "cooldown": self.cooldown_counter}, {}

    def load_state(self, info, arrays):
        self.lr = float(info["lr"])
        self.best = math.inf if info["best"] is None else float(info["best"])
        self.num_bad_epochs, self.cooldown_counter = int(info["bad"]), int(info["cooldown"])

    def __repr__(self):
        return (f"ReduceOnPlateau(lr={self.lr}, factor={self.factor}, "
                f"patience={self.patience}, monitor={self.monitor!r})")


def reduce_on_plateau(lr: float, factor: float = 0.1, patience: int = 10,
                      threshold: float = 1e-4, min_lr: float = 0.0, cooldown: int = 0,
                      monitor: str = "val_loss") -> ReduceOnPlateau:
    """A :class:`ReduceOnPlateau` schedule-and-callback (see there)."""
    return ReduceOnPlateau(lr, factor, patience, threshold, min_lr, cooldown, monitor)
