"""The loss protocol: a value E and its gradient ∂E/∂y, averaged over the batch."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .._validation import check_finite, check_sample_weight, read_numeric
from ..errors import ConfigError, DataError, ShapeError


class Loss:
    """E(y, t) averaged over the samples of a batch.

    Subclasses define the per-sample loss ``values(Y, T) -> (n,)``, its per-sample gradient
    ``grads(Y, T) -> (n, k)`` and, where an output layer combines with it, ``fused(Y, T)``
    (∂Eₙ/∂z = y − t); these take prepared arrays and check nothing (``ffbp.backprop`` calls
    them once per step). The validated public forms below do the averaging. With sample weights
    w the batch loss is the weighted mean Σ wₙ Eₙ / Σ wₙ (so all-ones weights give the plain
    mean and scaling every weight leaves the loss, and the learning rate, unchanged).

    Call it as ``loss(Y, T)`` for the value and ``loss.gradient(Y, T)`` for ∂E/∂Y, where
    Y: (n_samples, n_outputs) network output; T: targets (see each loss for the forms).
    """

    #: The output layer type whose gradient combines with this loss into the stable
    #: ∂E/∂z = y − t (Softmax for cross-entropy, Sigmoid for binary cross-entropy).
    fused_with: ClassVar[type | None] = None
    #: Output layer types this loss cannot follow, with the reason.
    incompatible: ClassVar[dict] = {}
    #: Output layer types this loss requires at the output, with the reason.
    requires: ClassVar[dict] = {}
    #: "regression", "classification" or "embedding" (tutorial 003's three families).
    family: ClassVar[str] = "regression"

    # -- public, validated -------------------------------------------------------------
    def __call__(self, Y, T, sample_weight=None) -> float:
        Y, T, coef = self._checked(Y, T, sample_weight)
        return float(self.values(Y, T) @ coef)

    def per_sample(self, Y, T) -> np.ndarray:
        """The loss of each sample, shape (n_samples,)."""
        Y, T, _ = self._checked(Y, T, None)
        return self.values(Y, T)

    def gradient(self, Y, T, sample_weight=None) -> np.ndarray:
        """∂E/∂Y of the batch loss, shape of Y."""
        Y, T, coef = self._checked(Y, T, sample_weight)
        return self.grads(Y, T) * coef[:, None]

    def fused_gradient(self, Y, T, sample_weight=None) -> np.ndarray:
        """∂E/∂z where Y = Φ(z) and Φ is ``fused_with``: the stable y − t form."""
        if self.fused_with is None:
            raise ConfigError(f"{type(self).__name__} has no fused gradient")
        Y, T, coef = self._checked(Y, T, sample_weight)
        return self.fused(Y, T) * coef[:, None]

    def prepare_targets(self, T, n_outputs: int, name: str = "y") -> np.ndarray:
        """T as a float array of shape (n, n_outputs) that the formulas use directly
        (class indices become one-hot rows); raises a clear error when T does not fit."""
        T = self._as_array(T, name)
        if T.ndim == 1 and n_outputs == 1:
            T = T.reshape(-1, 1)
        if T.ndim != 2 or T.shape[1] != n_outputs:
            raise ShapeError(
                f"{name} has shape {T.shape} but the network has {n_outputs} output(s); "
                f"{type(self).__name__} needs targets of shape (n_samples, {n_outputs})"
            )
        check_finite(T, name)
        self._check_values(T, name)
        return T

    def decide(self, Y) -> np.ndarray:
        """Class decisions from outputs Y (classification losses only)."""
        raise ConfigError(f"{type(self).__name__} is not a classification loss: its outputs "
                          f"are values, not class decisions")

    def probabilities(self, Y) -> np.ndarray:
        """Class probabilities from outputs Y (probabilistic classification losses only)."""
        raise ConfigError(f"{type(self).__name__} does not model probabilities")

    # -- per sample, on prepared arrays (defined by subclasses) -------------------------
    def values(self, Y, T) -> np.ndarray:
        """Eₙ for each sample, shape (n,). Y (n, k) and T (n, k) as ``prepare_targets``
        gives them; nothing is checked."""
        raise NotImplementedError

    def grads(self, Y, T) -> np.ndarray:
        """∂Eₙ/∂Yₙ for each sample, shape (n, k); nothing is checked."""
        raise NotImplementedError

    def fused(self, Y, T) -> np.ndarray:
        """∂Eₙ/∂zₙ at the input z of the ``fused_with`` output layer (the stable y − t
        form), shape (n, k); nothing is checked."""
        raise NotImplementedError

    def _check_values(self, T, name):
        """Raise DataError when target values are outside what the loss accepts."""

    # -- shared helpers ----------------------------------------------------------------
    @staticmethod
    def _as_array(T, name):
        return read_numeric(T, name)

    def _checked(self, Y, T, sample_weight):
        Y = np.asarray(Y)
        if Y.ndim != 2:
            raise ShapeError(f"the network output must be 2-D (n_samples, n_outputs), "
                             f"got shape {Y.shape}")
        T = self.prepare_targets(T, Y.shape[1], "targets").astype(Y.dtype, copy=False)
        if T.shape[0] != Y.shape[0]:
            raise ShapeError(f"targets have {T.shape[0]} rows but the output has {Y.shape[0]}")
        return Y, T, batch_coefficients(sample_weight, Y.shape[0], Y.dtype)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def batch_coefficients(sample_weight, n: int, dtype) -> np.ndarray:
    """wₙ / Σ w (or 1/n): the factor of each sample's loss in the batch mean, shape (n,)."""
    w = check_sample_weight(sample_weight, n, dtype)
    if w is None:
        return np.full(n, 1.0 / n, dtype=dtype)
    return w / w.sum()


def class_indices_to_one_hot(T, n_classes: int, name: str) -> np.ndarray:
    """Integer labels 0..k−1 (any numeric dtype holding whole numbers) to one-hot rows."""
    labels = np.asarray(T).reshape(-1)
    check_finite(labels, name)      # casting NaN/inf to int is undefined (and warns)
    as_int = labels.astype(np.int64)
    if not np.array_equal(as_int, labels) :
        raise DataError(f"{name} must hold class indices 0..{n_classes - 1}; got non-integer "
                        f"values such as {labels[as_int != labels][0]!r}")
    bad = (as_int < 0) | (as_int >= n_classes)
    if bad.any():
        raise DataError(f"{name} has label {as_int[bad][0]} outside the classes 0..{n_classes - 1} "
                        f"of the network's {n_classes} outputs")
    one_hot = np.zeros((labels.shape[0], n_classes))
    one_hot[np.arange(labels.shape[0]), as_int] = 1.0
    return one_hot
