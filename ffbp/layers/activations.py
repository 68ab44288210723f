"""Activation functions Φ as layers of their own, each with its derivative beside it.

Element-wise activations compute Φ'(·) from their *cached output* y = Φ(h') where the
tutorials do (σ' = σ(1−σ), tanh' = 1−tanh²), so backward needs no second pass over h'.
``properties`` records the traits tutorial 003 lists; the tests check each one numerically.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .. import ops
from .._validation import check_number, lookup
from .base import Layer


class Activation(Layer):
    """Element-wise y = Φ(h'); backward: ∂E/∂h' = ∂E/∂y ⊙ Φ'(h') (Hadamard product).

    Shape: (n_samples, features) -> same shape.
    """

    properties: ClassVar[dict] = {}
    #: Given ``in_place=True`` (by the step, for a Dense layer's fresh output, or the fresh
    #: ∂E/∂x of the Dense layer after it) an activation may overwrite its argument.
    works_in_place = True

    def __init__(self):
        self._y = None

    @property
    def output(self) -> np.ndarray | None:
        """h = Φ(h') of the last forward pass (None before one): what backward uses, and what
        the diagnostics read to count saturated and dead units."""
        return self._y

    def function(self, x: np.ndarray) -> np.ndarray:
        """Φ(x), a pure function."""
        raise NotImplementedError

    def derivative_from_output(self, y: np.ndarray) -> np.ndarray:
        """Φ'(h') written in terms of the output y = Φ(h')."""
        raise NotImplementedError

    def derivative(self, x: np.ndarray) -> np.ndarray:
        """Φ'(x), a pure function (for plots and tests)."""
        return self.derivative_from_output(self.function(x))

    def forward(self, x, training=False, in_place=False):
        self._y = self.function(x)
        return self._y

    def backward(self, dy, input_grad=True, in_place=False):
        if in_place:
            dy *= self.derivative_from_output(self._y)
            return dy
        return dy * self.derivative_from_output(self._y)


class Identity(Activation):
    """Φ(x) = x, Φ' = 1: the linear output of regression (tutorial 004's ``y = h W²``)."""

    properties = dict(nonlinear=False, saturating=False, smooth=True, monotone=True,
                      linear_near_zero=True)

    def function(self, x):
        return x

    def derivative_from_output(self, y):
        return np.ones_like(y)

    def backward(self, dy, input_grad=True, in_place=False):
        return dy


class Step(Activation):
    """Heaviside step, the perceptron's activation: 1 if x ≥ 0 else 0.

    Its derivative is 0 everywhere it exists, so back-propagation passes no gradient through
    it: that is why the perceptron has its own learning rule (``ffbp.Perceptron``)."""

    properties = dict(nonlinear=True, saturating=True, smooth=False, monotone=True,
                      linear_near_zero=False)

    def function(self, x):
        return (x >= 0).astype(x.dtype)

    def derivative_from_output(self, y):
        return np.zeros_like(y)


class Sigmoid(Activation):
    """σ(x) = 1 / (1 + e^(−x)), σ' = σ(1 − σ) (tutorial 002). Saturates: σ' ≤ 1/4 and → 0
    for large |x|, the root of vanishing gradients in deep sigmoid networks (tutorial 003)."""

    properties = dict(nonlinear=True, saturating=True, smooth=True, monotone=True,
                      linear_near_zero=False)

    def function(self, x):
        # exp of −|x| never overflows; the two branches are the same function.
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)

    def derivative_from_output(self, y):
        return y * (1.0 - y)


class Tanh(Activation):
    """tanh(x), tanh' = 1 − tanh² (tutorial 002). Zero-centred, saturating."""

    properties = dict(nonlinear=True, saturating=True, smooth=True, monotone=True,
                      linear_near_zero=True)

    def function(self, x):
        return np.tanh(x)

    def derivative_from_output(self, y):
        return 1.0 - y * y


class ReLU(Activation):
    """max(0, x); derivative 1 for x > 0, else 0. Does not saturate for x > 0 (tutorial 003)."""

    properties = dict(nonlinear=True, saturating=False, smooth=False, monotone=True,
                      linear_near_zero=False)

    def function(self, x):
        return np.maximum(x, 0)

    def forward(self, x, training=False, in_place=False):
        self._y = ops.relu_(x) if in_place else np.maximum(x, 0)
        return self._y

    def derivative_from_output(self, y):
        return (y > 0).astype(y.dtype)

    def backward(self, dy, input_grad=True, in_place=False):
        # y > 0 exactly where h' > 0; one masked multiply, no derivative array.
        if in_place:
            return ops.relu_mask_(dy, self._y)
        return dy * (self._y > 0)


class LeakyReLU(Activation):
    """x for x > 0, αx otherwise: a small slope keeps "dead" units learning."""

    properties = dict(nonlinear=True, saturating=False, smooth=False, monotone=True,
                      linear_near_zero=False)

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        # α < 0 would make the function non-monotone and the derivative taken from the
        # output's sign wrong; α = 0 is ReLU.
        self.alpha = check_number(alpha, "LeakyReLU alpha", 0.0)

    def function(self, x):
        return np.where(x > 0, x, self.alpha * x).astype(x.dtype, copy=False)

    def derivative_from_output(self, y):
        # For α > 0 the output has the sign of the input.
        return np.where(y > 0, 1.0, self.alpha).astype(y.dtype, copy=False)

    def config(self):
        return {"alpha": self.alpha}

    def __repr__(self):
        return f"LeakyReLU(alpha={self.alpha})"


class ELU(Activation):
    """x for x > 0, α(eˣ − 1) otherwise; derivative 1 or α eˣ = y + α.

    With the default α = 1 the derivative is continuous at 0 (``smooth`` in ``properties``
    refers to that default)."""

    properties = dict(nonlinear=True, saturating=False, smooth=True, monotone=True,
                      linear_near_zero=True)

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = check_number(alpha, "ELU alpha", 0.0, low_open=True)

    def function(self, x):
        neg = self.alpha * np.expm1(np.minimum(x, 0))
        return np.where(x > 0, x, neg).astype(x.dtype, copy=False)

    def derivative_from_output(self, y):
        return np.where(y > 0, 1.0, y + self.alpha).astype(y.dtype, copy=False)

    def config(self):
        return {"alpha": self.alpha}

    def __repr__(self):
        return f"ELU(alpha={self.alpha})"


class Softmax(Activation):
    """yₖ = e^(zₖ) / Σⱼ e^(zⱼ) along each row, computed as e^(z − max z) so it never overflows.

    Not element-wise: ∂yₖ/∂zⱼ = yₖ(δₖⱼ − yⱼ) (tutorial 001). Backward multiplies ∂E/∂y by
    this Jacobian without building it: ∂E/∂z = y ⊙ (∂E/∂y − Σₖ yₖ ∂E/∂yₖ). When the loss is
    cross-entropy the Network skips this and uses the fused, stable ∂E/∂z = y − t instead.
    """

    properties = dict(nonlinear=True, saturating=True, smooth=True, monotone=False,
                      linear_near_zero=False)

    def function(self, x):
        # the ufuncs' reductions: x.max/e.sum give the same bits through a Python wrapper
        e = np.exp(x - np.maximum.reduce(x, axis=1, keepdims=True))
        e /= np.add.reduce(e, axis=1, keepdims=True)
        return e

    def jacobian(self, y_row: np.ndarray) -> np.ndarray:
        """The full (k, k) Jacobian diag(y) − y yᵀ for one sample (for teaching and tests)."""
        return np.diag(y_row) - np.outer(y_row, y_row)

    def derivative(self, x):
        raise TypeError("Softmax has a Jacobian, not an element-wise derivative; use jacobian()")

    def backward(self, dy, input_grad=True, in_place=False):
        y = self._y
        return y * (dy - np.sum(dy * y, axis=1, keepdims=True))


class LogSoftmax(Activation):
    """log yₖ = zₖ − log Σⱼ e^(zⱼ) (log-sum-exp, stable): the log-probabilities that the
    negative log-likelihood loss expects. Backward: ∂E/∂z = ∂E/∂y − softmax(z) Σₖ ∂E/∂yₖ."""

    properties = dict(nonlinear=True, saturating=False, smooth=True, monotone=False,
                      linear_near_zero=False)

    def function(self, x):
        shifted = x - x.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def derivative(self, x):
        raise TypeError("LogSoftmax has a Jacobian, not an element-wise derivative")

    def backward(self, dy, input_grad=True, in_place=False):
        return dy - np.exp(self._y) * dy.sum(axis=1, keepdims=True)


ACTIVATIONS = {
    "identity": Identity, "linear": Identity, "step": Step, "sigmoid": Sigmoid,
    "logistic": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU,
    "softmax": Softmax, "log_softmax": LogSoftmax,
}


def get(activation) -> Activation:
    """An activation layer from a name ("relu", "tanh", ...), a class, or an instance."""
    activation = lookup(activation, ACTIVATIONS, "activation")
    if isinstance(activation, type):
        activation = activation()
    if not isinstance(activation, Layer):
        from ..errors import ConfigError

        raise ConfigError(f"activation must be a name or a layer, got {activation!r}")
    return activation
