"""Regression losses (tutorial 003's first family): squared, absolute and Huber errors.

Targets: an array of the output's shape (n_samples, n_outputs), or (n_samples,) for a
single output. Per-sample values average over the outputs (as torch's ``reduction="mean"``
does), except ``SquaredError``, which is the tutorials' E = ½ Σₖ (dₖ − yₖ)².
"""

from __future__ import annotations

import numpy as np

from .base import Loss


class SquaredError(Loss):
    """E = ½ Σₖ (dₖ − yₖ)² per sample (tutorials 002 and 004); ∂E/∂y = y − d.

    The ½ makes the derivative exactly the error, giving tutorial 004's ΔW = α(d − y)h."""

    def values(self, Y, T):
        r = Y - T
        return 0.5 * np.einsum("ij,ij->i", r, r)

    def grads(self, Y, T):
        return Y - T


class MSE(Loss):
    """Mean squared error, E = (1/k) Σₖ (yₖ − dₖ)² per sample; ∂E/∂y = 2(y − d)/k."""

    def values(self, Y, T):
        r = Y - T
        return np.einsum("ij,ij->i", r, r) / Y.shape[1]

    def grads(self, Y, T):
        return (2.0 / Y.shape[1]) * (Y - T)


class MAE(Loss):
    """Mean absolute error, E = (1/k) Σₖ |yₖ − dₖ|; ∂E/∂y = sign(y − d)/k (0 at the kink)."""

    def values(self, Y, T):
        return np.abs(Y - T).mean(axis=1)

    def grads(self, Y, T):
        return np.sign(Y - T) / Y.shape[1]


class Huber(Loss):
    """Huber / smooth absolute error with threshold δ, averaged over outputs:
    ½r² for |r| ≤ δ, δ(|r| − ½δ) beyond (r = y − d). Quadratic near 0, linear far away, so
    outliers pull with a bounded force δ. ∂E/∂y = clip(r, −δ, δ)/k. δ = 1 is smooth L1."""

    def __init__(self, delta: float = 1.0):
        from .._validation import check_positive

        self.delta = float(check_positive(delta, "Huber delta"))

    def values(self, Y, T):
        a = np.abs(Y - T)
        d = self.delta
        return np.where(a <= d, 0.5 * a * a, d * (a - 0.5 * d)).mean(axis=1)

    def grads(self, Y, T):
        return np.clip(Y - T, -self.delta, self.delta) / Y.shape[1]
