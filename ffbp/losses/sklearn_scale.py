"""The losses on scikit-learn's scale, so that ``loss_``, ``loss_curve_`` and the weight of
``alpha`` against the data term mean what they mean in ``sklearn.neural_network``: what
``ffbp.sklearn``'s estimators train with and their ``network_`` carries.

They live here, beside ffbp's own losses and without importing scikit-learn, because a saved
``network_`` names its loss: ``ffbp.load`` must know them (``ON_SKLEARN_SCALE``) without
loading scikit-learn.

ffbp's own losses average over the outputs where scikit-learn sums (log loss of several
labels) or halve differently (squared error): each class here is an ffbp loss times a
constant, with the same fused output rule, so back-propagation is unchanged.
"""

from __future__ import annotations

import numpy as np

from .base import Loss
from .classification import BinaryCrossEntropy, CrossEntropy
from .regression import MSE

#: (ε, 1 − ε) by dtype, ε its machine epsilon, in that dtype.
_BOUNDS = {np.dtype(t): (np.finfo(t).eps, t(1) - np.finfo(t).eps)
           for t in (np.float32, np.float64)}


def _clipped(Y):
    """Y clipped to [ε, 1 − ε] for the logarithms, ε the machine epsilon of Y's dtype
    (2.2e-16 in float64, 1.2e-7 in float32): scikit-learn's bounds, so that a confidently
    wrong sample adds what it adds there (−log ε: 36.0 in float64, 15.9 in float32) to
    ``loss_`` and to the objective L-BFGS minimises, not ffbp's −log 1e-12 = 27.6.
    np.clip's bits from two ufuncs and a remembered ε: this runs on every batch, and
    np.finfo and np.clip's wrapper cost more than the clipping of a small batch."""
    lo, hi = _BOUNDS.get(Y.dtype) or (np.finfo(Y.dtype).eps, 1 - np.finfo(Y.dtype).eps)
    P = np.maximum(Y, lo)
    return np.minimum(P, hi, out=P)


class LogLoss(BinaryCrossEntropy):
    """Binary / multi-label log loss summed over the k sigmoid outputs:
    E = −Σₖ [tₖ log yₖ + (1 − tₖ) log(1 − yₖ)] per sample (scikit-learn's ``log_loss``),
    y clipped as there (``_clipped``, the value only); through the sigmoid ∂E/∂z = y − t."""

    def values(self, Y, T):
        P = _clipped(Y)
        return -(T * np.log(P) + (1 - T) * np.log(1 - P)).sum(axis=1)

    def grads(self, Y, T):
        return super().grads(Y, T) * Y.shape[1]

    def fused(self, Y, T):
        return Y - T

    def decide(self, Y):
        """Class 1 where its probability is above ½, strictly: a probability of exactly ½
        (z = 0) decides class 0, as scikit-learn's ``predict`` does."""
        D = (Y > self.threshold).astype(np.int64)
        return D[:, 0] if D.shape[1] == 1 else D


class SoftmaxLogLoss(CrossEntropy):
    """Multi-class log loss E = −Σₖ tₖ log yₖ on the softmax outputs, y clipped as
    scikit-learn clips it (``_clipped``, the value only); the gradient, fused y − t, is
    CrossEntropy's."""

    def values(self, Y, T):
        return -np.einsum("ij,ij->i", T, np.log(_clipped(Y)))


class HalfSquaredError(MSE):
    """scikit-learn's ``squared_error``: it reports E = (1/2k) Σₖ (yₖ − dₖ)² per sample,
    half the mean squared error over the k outputs, and back-propagates δ = y − d at the
    output, the gradient of ½ Σₖ (yₖ − dₖ)².

    For one output the two agree; for k > 1 the step is k times the gradient of the value
    reported. The estimator keeps scikit-learn's pair on purpose, so that its steps, its
    ``loss_curve_`` and its stopping decisions are scikit-learn's (use ``loss="mse"`` for a
    consistent pair: mean (y − d)² and its gradient)."""

    def values(self, Y, T):
        return 0.5 * super().values(Y, T)

    def grads(self, Y, T):
        return Y - T


class HalfPoisson(Loss):
    """Half the Poisson deviance with a log link, on raw scores z = log μ:
    E = Σₖ (e^zₖ − dₖ zₖ + dₖ log dₖ − dₖ) per sample (0 log 0 = 0), ∂E/∂z = e^z − d.

    scikit-learn's ``poisson`` loss with its "exp" output activation: μ = e^z is the
    prediction, and e^z − d is the same delta its exp output gives; the terms in d alone
    do not move the weights but make the reported loss scikit-learn's. Targets d ≥ 0."""

    def values(self, Y, T):
        with np.errstate(divide="ignore", invalid="ignore"):
            d_log_d = np.where(T > 0, T * np.log(T), 0.0)
        return (np.exp(Y) - T * Y + d_log_d - T).sum(axis=1)

    def grads(self, Y, T):
        return np.exp(Y) - T

    def _check_values(self, T, name):
        if (T < 0).any():
            from ..errors import DataError

            raise DataError(f"{name} must be >= 0 for the poisson loss (counts or rates); "
                            f"found {T[T < 0][0]!r}")


#: Every loss of this module, for the model-file reader.
ON_SKLEARN_SCALE = (LogLoss, SoftmaxLogLoss, HalfSquaredError, HalfPoisson)
