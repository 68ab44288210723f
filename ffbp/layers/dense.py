"""The fully connected layer: h' = x W + b."""

from __future__ import annotations

import numpy as np

from .. import init as initializers
from .._validation import check_allocation, check_positive, check_seed, is_sparse
from ..errors import ConfigError, ShapeError
from ..parameter import Parameter
from .base import Layer


class Dense(Layer):
    """Fully connected (affine) layer, tutorial 004's ``h' = x W¹`` plus a bias unit.

    ``W[i, j]`` connects input unit i to unit j of this layer; the bias ``b[j]`` is the weight
    from tutorial 002's bias unit, which takes no input and always outputs 1.

    Forward:  h' = x W + b
    Backward (δ = ∂E/∂h', one row per sample; the loss already divided by the batch size):
        ∂E/∂W = xᵀ δ        (∂E/∂W_ij = Σ_samples x_i δ_j, the delta rule)
        ∂E/∂b = Σ_samples δ
        ∂E/∂x = δ Wᵀ        (∂E/∂x_i = Σ_j W_ij δ_j, what the previous layer needs)

    Shape:
        x: (n_samples, in_features) -> (n_samples, out_features)
        W: (in_features, out_features), b: (out_features,)

    x may be a scipy sparse matrix (CSR or CSC, already in W's dtype) when this is a
    network's first layer: h' = x W is then a sparse @ dense product (h' dense), ∂E/∂W = xᵀ δ
    a sparse.T @ dense one, and ∂E/∂x is not computed (backward returns None): nothing
    before the first layer needs it, and it would be a dense (n_samples, in_features) array.

    Args:
        in_features, out_features: widths of the input and the output.
        bias: whether to add the bias unit.
        init: weight initialiser name or callable (see ``ffbp.init``); biases start at 0.
        seed: seed for the initial draw when the layer is used on its own (a Network redraws
            every layer from its own seed).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init="glorot_uniform", seed: int | None = None):
        check_positive(in_features, "Dense in_features", integer=True)
        check_positive(out_features, "Dense out_features", integer=True)
        if not isinstance(bias, (bool, np.bool_)):
            raise ConfigError(f"Dense bias must be True or False, got {bias!r}")
        seed = check_seed(seed, "Dense seed")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        # W and b (float64 here, then the network's copies): refused before allocating
        check_allocation((self.in_features + 1) * self.out_features,
                         f"Dense({self.in_features}, {self.out_features})", "parameters")
        self.init = initializers.get(init)
        self.W = Parameter("W", np.zeros((self.in_features, self.out_features)))
        self.b = Parameter("b", np.zeros(self.out_features), decay=False) if bias else None
        self._x = None
        self.initialize(np.random.default_rng(seed))

    def initialize(self, rng: np.random.Generator) -> None:
        self.W.value[...] = self.init(rng, self.W.shape, self.in_features, self.out_features)
        if self.b is not None:
            self.b.value[...] = 0.0

    def parameters(self) -> list[Parameter]:
        return [self.W] if self.b is None else [self.W, self.b]

    def config(self):
        return {"in_features": self.in_features, "out_features": self.out_features,
                "bias": self.b is not None}

    def output_features(self, in_features):
        if in_features is not None and in_features != self.in_features:
            raise ShapeError(
                f"{self!r} expects {self.in_features} input features but receives "
                f"{in_features} from the layer before it"
            )
        return self.out_features

    # x W + b and δ Wᵀ are new arrays this layer does not keep (it keeps x).
    private_output = True
    private_input_grad = True

    def forward(self, x, training=False):
        self._x = x
        h = x @ self.W.value
        if self.b is not None:
            h += self.b.value
        return h

    def backward(self, dy, input_grad=True):
        sparse = is_sparse(self._x)
        if sparse:
            # scipy has no out= for products: one temporary the size of W, written into the
            # gradient in place (W.grad is a view into the network's flat gradient buffer).
            self.W.grad[...] = self._x.T @ dy
        else:
            np.matmul(self._x.T, dy, out=self.W.grad)
        if self.b is not None:
            # np.sum's own reduction without its Python wrapper (the same bits, about 1 µs
            # less a call: a small network's step is made of such calls)
            np.add.reduce(dy, axis=0, out=self.b.grad)
        return dy @ self.W.value.T if input_grad and not sparse else None

    def __repr__(self):
        extra = "" if self.b is not None else ", bias=False"
        return f"Dense({self.in_features}, {self.out_features}{extra})"
