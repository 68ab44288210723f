"""A trainable array and the gradient that back-propagation fills for it."""

from __future__ import annotations

import numpy as np


class Parameter:
    """A named trainable array ``value`` with a gradient ``grad`` of the same shape.

    Layers create their parameters; a :class:`~ffbp.Network` then moves every ``value`` and
    ``grad`` into one flat contiguous buffer and rebinds the two attributes to *views* of it,
    so an optimiser can update all parameters with a few vectorised operations. Hence the one
    rule for layer code: **write gradients in place** (``np.matmul(x.T, dy, out=p.grad)`` or
    ``p.grad[...] = ...``), never rebind ``p.grad = ...``.

    Attributes:
        name: short name inside its layer ("W", "b", "gamma", ...).
        value: the array, shape fixed at creation.
        grad: ∂E/∂value, same shape and dtype as ``value``.
        decay: whether weight decay applies to it by default (weights yes, biases no:
            tutorial 002's ½λ‖W‖² leaves the bias terms out).
    """

    def __init__(self, name: str, value: np.ndarray, *, decay: bool = True):
        self.name = name
        self.value = np.asarray(value)
        self.grad = np.zeros_like(self.value)
        self.decay = decay

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def size(self) -> int:
        return self.value.size

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={self.shape}, dtype={self.value.dtype})"
