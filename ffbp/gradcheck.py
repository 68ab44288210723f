"""Numerical gradients by central differences, compared with back-propagation.

Tutorial 003 mentions the naive way to learn: nudge one weight, re-run the network, see how
the error changes. That is far too slow to train with (two forward passes per weight), but
it is the perfect *check* of back-propagation:

    ∂E/∂θᵢ ≈ (E(θ + h eᵢ) − E(θ − h eᵢ)) / 2h        (error O(h²))
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from . import backprop
from ._validation import check_positive

#: Gradients smaller than this are compared in absolute terms (see GradcheckReport): central
#: differences carry ~1e-10 of rounding noise, which must not count as a relative error of a
#: gradient that is exactly zero (a dead unit, a sum of signs that cancels).
SCALE_FLOOR = 1e-3


@dataclass
class GradcheckReport:
    """Back-propagated vs numerical gradients, per parameter (and the input "X" when it is dense).

    For each parameter the relative error is  max |a − n| / max(max|a|, max|n|, 1e-3):
    the largest disagreement relative to the size of that parameter's gradient (a and n are
    the analytic and numerical gradients). ``analytic`` and ``numeric`` keep both arrays.
    """

    relative_error: dict = field(default_factory=dict)
    absolute_error: dict = field(default_factory=dict)
    analytic: dict = field(default_factory=dict)
    numeric: dict = field(default_factory=dict)
    loss: float = float("nan")

    @property
    def max_error(self) -> float:
        return max(self.relative_error.values(), default=0.0)

    def passed(self, tol: float = 1e-6) -> bool:
        return self.max_error < tol

    def __getitem__(self, name) -> float:
        return self.relative_error[name]

    def __str__(self) -> str:
        w = max(len(k) for k in self.relative_error)
        lines = [f"{'parameter'.ljust(w)}  {'shape':>12}  {'max rel error':>13}  max abs error"]
        for name, rel in self.relative_error.items():
            shape = str(self.analytic[name].shape)
            lines.append(f"{name.ljust(w)}  {shape:>12}  {rel:13.2e}  "
                         f"{self.absolute_error[name]:.2e}")
        lines.append(f"loss E = {self.loss:.6g}; worst relative error {self.max_error:.2e}")
        return "\n".join(lines)


def gradcheck(net, loss, X, T, sample_weight=None, *, h: float = 1e-6,
              training: bool = True, max_per_parameter: int | None = None,
              seed: int = 0) -> GradcheckReport:
    """Compare back-propagated gradients with central differences, in float64.

    Works on a float64 copy of ``net`` (the network itself is untouched).

    Args:
        net, loss, X, T, sample_weight: as for ``Network.compute_gradients``.
        h: the finite-difference step.
        training: run layers in training mode (batch statistics for batch norm).
        max_per_parameter: check at most this many randomly chosen entries of each
            parameter (all when None): each entry costs two forward passes.
        seed: chooses those entries.
    Returns:
        a GradcheckReport; ``report.max_error`` is the worst relative error.
    """
    check_positive(h, "h")
    net64 = net.astype(np.float64)
    loss = backprop.check_loss(net64, loss)
    batch = backprop.prepare(net64, X, T, loss, sample_weight)
    X = batch.X

    # Layers that draw random numbers (dropout) must draw the *same* ones in every pass, or
    # the differences would measure the noise: restore their generators before each pass.
    saved = [(layer, copy.deepcopy(layer.rng)) for layer in net64.layers
             if layer.rng is not None]

    def replay():
        for layer, rng in saved:
            layer.rng = copy.deepcopy(rng)

    replay()
    value, _, dX = backprop.step(net64, batch, loss, training=training, input_grad=True)

    def energy():
        replay()
        return backprop.loss_value(net64, batch, loss, training)

    rng = np.random.default_rng(seed)
    report = GradcheckReport(loss=value)
    targets = [(name, p.value, p.grad.copy()) for name, p in net64.named_parameters()]
    if dX is not None:              # None for a sparse X: no ∂E/∂X is computed for it
        targets.append(("X", X, dX))
    for name, array, analytic in targets:
        flat = array.reshape(-1)             # a view: nudging it nudges the network
        numeric = np.full(flat.size, np.nan)
        index = np.arange(flat.size)
        if max_per_parameter is not None and flat.size > max_per_parameter:
            index = np.sort(rng.choice(flat.size, max_per_parameter, replace=False))
        for k in index:
            orig = flat[k]
            flat[k] = orig + h
            e_plus = energy()
            flat[k] = orig - h
            e_minus = energy()
            flat[k] = orig
            numeric[k] = (e_plus - e_minus) / (2 * h)
        a = analytic.reshape(-1)[index]
        n = numeric[index]
        diff = np.abs(a - n).max(initial=0.0)
        scale = max(np.abs(a).max(initial=0.0), np.abs(n).max(initial=0.0), SCALE_FLOOR)
        report.relative_error[name] = float(diff / scale)
        report.absolute_error[name] = float(diff)
        report.analytic[name] = analytic
        report.numeric[name] = numeric.reshape(analytic.shape)
    return report
