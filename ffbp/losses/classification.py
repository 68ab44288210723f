"""Classification losses (tutorial 003's second family): cross-entropy, NLL and margins.

Categorical losses take class indices (n_samples,) with values 0..k−1, or one-hot /
probability rows (n_samples, k). Binary losses take 0/1 targets of the output's shape.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from ..layers.activations import LogSoftmax, Sigmoid, Softmax
from .base import Loss, class_indices_to_one_hot

#: Probabilities are clipped to [EPS, 1 − EPS] inside logarithms (documented): log(0) = −inf
#: would make one confidently wrong sample turn the whole batch loss into inf.
EPS = 1e-12


def _clip_probabilities(Y):
    """Y clipped to [EPS, 1 − EPS], for the logarithms only. In float32, 1 − 1e-12 rounds to
    1.0 (and a float32 sigmoid reaches 1.0 for z ≳ 17), so the upper bound is then the
    largest float below 1."""
    upper = 1 - max(EPS, np.finfo(Y.dtype).epsneg) if Y.dtype.kind == "f" else 1 - EPS
    return np.clip(Y, EPS, upper)


def _quotient(num, den):
    """num / den as far as float allows, for the gradients (which are never clipped).

    * num = 0 gives 0, also where den = 0: a zero target weight contributes nothing (the
      0 · log 0 = 0 convention of the loss, differentiated);
    * where the true quotient is beyond the largest float (den = 0 with num ≠ 0: a
      probability of exactly 0 or 1 on the wrong side, where the true derivative is
      infinite; or a subnormal den) it is ± the largest float, with the sign of the true
      value. Finite rather than ±inf, so that back-propagating it through the output layer
      (whose derivative is 0 there) gives 0, not inf · 0 = NaN."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        q = num / den
    big = np.finfo(q.dtype).max
    return np.clip(np.where(num == 0, 0, q), -big, big)


class _Categorical(Loss):
    family = "classification"

    def prepare_targets(self, T, n_outputs, name="y"):
        T = self._as_array(T, name)
        if T.ndim == 1 or (T.ndim == 2 and T.shape[1] == 1 and n_outputs > 1):
            if n_outputs < 2:
                raise DataError(f"{type(self).__name__} needs at least 2 outputs (one per "
                                f"class); the network has {n_outputs}")
            T = class_indices_to_one_hot(T, n_outputs, name)
        return super().prepare_targets(T, n_outputs, name)

    def decide(self, Y):
        return np.argmax(Y, axis=1)

    def target_classes(self, T):
        """Class of each prepared target row (for accuracy)."""
        return np.argmax(T, axis=1)

    def _check_values(self, T, name):
        if (T < 0).any() or not np.allclose(T.sum(axis=1), 1.0, atol=1e-3):
            raise DataError(f"{name} rows must be one-hot or class probabilities that sum to 1")


class CrossEntropy(_Categorical):
    """Categorical cross-entropy on probabilities y (a Softmax output): E = −Σₖ tₖ log yₖ.

    ∂E/∂yₖ = −tₖ / yₖ; through the softmax this becomes the fused ∂E/∂zₖ = yₖ − tₖ
    (tutorial 001), which the Network uses automatically when Softmax is the last layer.
    The probabilities are clipped to [1e-12, ·] inside the logarithm only: the gradient is
    −t/y unclipped, so the general path (``net.backward(loss.gradient(Y, T))``) agrees with
    the fused one however small yₖ is. Where yₖ = 0 exactly and tₖ > 0 the true gradient is
    −∞; it is then the most negative finite float (see ``_quotient``)."""

    fused_with = Softmax
    requires = {Softmax: "CrossEntropy expects probabilities: end the network with Softmax, "
                         "or use CrossEntropyWithLogits on raw scores"}

    def probabilities(self, Y):
        return Y

    def values(self, Y, T):
        return -np.einsum("ij,ij->i", T, np.log(np.maximum(Y, EPS)))

    def grads(self, Y, T):
        return _quotient(-T, Y)

    def fused(self, Y, T):
        return Y - T


class CrossEntropyWithLogits(_Categorical):
    """Cross-entropy on raw scores z (no Softmax layer): E = log Σⱼ e^(zⱼ) − Σₖ tₖ zₖ,
    computed with log-sum-exp so it never overflows; ∂E/∂z = softmax(z) − t."""

    incompatible = {Softmax: "CrossEntropyWithLogits applies the softmax itself; remove the "
                             "Softmax layer or use CrossEntropy"}

    def probabilities(self, Y):
        return Softmax().function(Y)

    def values(self, Y, T):
        m = Y.max(axis=1, keepdims=True)
        lse = np.log(np.exp(Y - m).sum(axis=1)) + m[:, 0]
        return lse * T.sum(axis=1) - np.einsum("ij,ij->i", T, Y)

    def grads(self, Y, T):
        return Softmax().function(Y) * T.sum(axis=1, keepdims=True) - T


class NLL(_Categorical):
    """Negative log-likelihood on log-probabilities (a LogSoftmax output):
    E = −Σₖ tₖ log pₖ, ∂E/∂(log p) = −t."""

    requires = {LogSoftmax: "NLL expects log-probabilities: end the network with LogSoftmax"}

    def probabilities(self, Y):
        return np.exp(Y)

    def values(self, Y, T):
        return -np.einsum("ij,ij->i", T, Y)

    def grads(self, Y, T):
        return -T


class _Binary(Loss):
    family = "classification"
    #: Output value at which the decision flips from class 0 to class 1.
    threshold = 0.5

    def decide(self, Y):
        """0/1 per output; shape (n_samples,) for a single output."""
        D = (Y >= self.threshold).astype(np.int64)
        return D[:, 0] if D.shape[1] == 1 else D

    def target_classes(self, T):
        """0/1 class of each prepared target (for accuracy); shape as ``decide``'s."""
        C = (T > 0.5).astype(np.int64)          # 0/1, probabilities or −1/+1 targets
        return C[:, 0] if C.shape[1] == 1 else C

    def _check_values(self, T, name):
        if (T < 0).any() or (T > 1).any():
            raise DataError(f"{name} must hold 0/1 labels (or probabilities in [0, 1]) for "
                            f"{type(self).__name__}; got values in [{T.min()}, {T.max()}]")


class BinaryCrossEntropy(_Binary):
    """Binary cross-entropy on probabilities y (a Sigmoid output), averaged over outputs:
    E = −(1/k) Σₖ [tₖ log yₖ + (1 − tₖ) log(1 − yₖ)]; ∂E/∂y = (y − t) / (y(1 − y) k).
    Through the sigmoid this is the fused ∂E/∂z = (y − t)/k. Probabilities are clipped to
    [1e-12, 1 − 1e-12] inside the logarithms only (in float32 the upper bound is the largest
    float32 below 1, as 1 − 1e-12 rounds to 1 there); the gradient is never clipped, so
    the general path agrees with the fused one wherever y and 1 − y are not 0. At y = 0 or
    y = 1 exactly it is the limit −t/y + (1 − t)/(1 − y) term by term: finite for a target
    on the same side (t = 1 at y = 1 gives −1/k), and ± the largest finite float where the
    true gradient is infinite (see ``_quotient``)."""

    fused_with = Sigmoid
    requires = {Sigmoid: "BinaryCrossEntropy expects probabilities: end the network with "
                         "Sigmoid, or use BinaryCrossEntropyWithLogits on raw scores"}

    def probabilities(self, Y):
        return Y

    def values(self, Y, T):
        P = _clip_probabilities(Y)
        return -(T * np.log(P) + (1 - T) * np.log1p(-P)).mean(axis=1)

    def grads(self, Y, T):
        den = Y * (1 - Y)           # 0 only at y = 0 or 1: a subnormal y is kept exactly
        general = _quotient(Y - T, den)
        if (den == 0).any():        # the limit, term by term: −t/y + (1 − t)/(1 − y)
            edge = _quotient(-T, Y) + _quotient(1 - T, 1 - Y)
            general = np.where(den == 0, edge, general)
        return general / Y.shape[1]

    def fused(self, Y, T):
        return (Y - T) / Y.shape[1]


class BinaryCrossEntropyWithLogits(_Binary):
    """Binary cross-entropy on raw scores z: E = (1/k) Σₖ [max(z,0) − z t + log(1 + e^(−|z|))]
    (the stable form); ∂E/∂z = (σ(z) − t)/k."""

    incompatible = {Sigmoid: "BinaryCrossEntropyWithLogits applies the sigmoid itself; remove "
                             "the Sigmoid layer or use BinaryCrossEntropy"}

    threshold = 0.0

    def probabilities(self, Y):
        return Sigmoid().function(Y)

    def values(self, Y, T):
        return (np.maximum(Y, 0) - Y * T + np.log1p(np.exp(-np.abs(Y)))).mean(axis=1)

    def grads(self, Y, T):
        return (Sigmoid().function(Y) - T) / Y.shape[1]


class Hinge(_Binary):
    """Binary margin (hinge) loss on raw scores, averaged over outputs:
    E = (1/k) Σₖ max(0, margin − tₖ yₖ) with tₖ ∈ {−1, +1} (0/1 labels are mapped to −1/+1);
    ∂E/∂y = −t/k where the margin is violated, else 0."""

    threshold = 0.0

    def __init__(self, margin: float = 1.0):
        self.margin = float(margin)

    def prepare_targets(self, T, n_outputs, name="y"):
        T = super().prepare_targets(T, n_outputs, name)
        return np.where(T == 0, -1.0, T)

    def _check_values(self, T, name):
        if not np.isin(T, (-1, 0, 1)).all():
            raise DataError(f"{name} must hold labels −1/+1 (or 0/1) for Hinge")

    def values(self, Y, T):
        return np.maximum(0, self.margin - T * Y).mean(axis=1)

    def grads(self, Y, T):
        return np.where(self.margin - T * Y > 0, -T, 0.0) / Y.shape[1]


class MultiMargin(_Categorical):
    """Multi-class margin loss (as torch's MultiMarginLoss, p = 1): for true class c,
    E = (1/k) Σ_{j≠c} max(0, margin − y_c + y_j); the gradient moves each violating y_j up
    by 1/k and y_c down by the number of violations over k."""

    def __init__(self, margin: float = 1.0):
        self.margin = float(margin)

    def _check_values(self, T, name):
        if not (np.isin(T, (0, 1)).all() and (T.sum(axis=1) == 1).all()):
            raise DataError(f"{name} must be class indices or one-hot rows for MultiMargin")

    def _violations(self, Y, T):
        y_true = np.einsum("ij,ij->i", Y, T)[:, None]
        return np.maximum(0, self.margin - y_true + Y) * (1 - T)

    def values(self, Y, T):
        return self._violations(Y, T).sum(axis=1) / Y.shape[1]

    def grads(self, Y, T):
        active = (self._violations(Y, T) > 0).astype(Y.dtype)
        return (active - T * active.sum(axis=1, keepdims=True)) / Y.shape[1]
