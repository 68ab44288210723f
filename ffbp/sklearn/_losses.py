"""The losses on scikit-learn's scale, so that ``loss_``, ``loss_curve_`` and the weight of
``alpha`` against the data term mean what they mean in ``sklearn.neural_network``.

ffbp's own losses average over the outputs where scikit-learn sums (log loss of several
labels) or halve differently (squared error): each class here is an ffbp loss times a
constant, with the same fused output rule, so back-propagation is unchanged.
"""

from __future__ import annotations

import numpy as np

from ..losses import MSE, BinaryCrossEntropy, Loss


class LogLoss(BinaryCrossEntropy):
    """Binary / multi-label log loss summed over the k sigmoid outputs:
    E = −Σₖ [tₖ log yₖ + (1 − tₖ) log(1 − yₖ)] per sample (scikit-learn's ``log_loss``);
    through the sigmoid ∂E/∂z = y − t."""

    def values(self, Y, T):
        return super().values(Y, T) * Y.shape[1]

    def grads(self, Y, T):
        return super().grads(Y, T) * Y.shape[1]

    def fused(self, Y, T):
        return Y - T


class HalfSquaredError(MSE):
    """E = (1/2k) Σₖ (yₖ − dₖ)² per sample, half the mean squared error over the k outputs
    (scikit-learn's ``squared_error``); ∂E/∂y = (y − d)/k."""

    def values(self, Y, T):
        return 0.5 * super().values(Y, T)

    def grads(self, Y, T):
        return (Y - T) / Y.shape[1]


class HalfPoisson(Loss):
    """Poisson deviance (halved, without the terms that do not depend on the model) with a
    log link, on raw scores z = log μ: E = Σₖ (e^zₖ − dₖ zₖ) per sample, ∂E/∂z = e^z − d.

    scikit-learn's ``poisson`` loss with its "exp" output activation: μ = e^z is the
    prediction, and e^z − d is the same delta its exp output gives. Targets d ≥ 0."""

    def values(self, Y, T):
        return (np.exp(Y) - T * Y).sum(axis=1)

    def grads(self, Y, T):
        return np.exp(Y) - T

    def _check_values(self, T, name):
        if (T < 0).any():
            from ..errors import DataError

            raise DataError(f"{name} must be >= 0 for the poisson loss (counts or rates); "
                            f"found {T[T < 0][0]!r}")
