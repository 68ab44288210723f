"""Optimisers as composable gradient transformations (the optax shape, updated in place).

A ``GradientTransformation`` is a pair of functions:

* ``init(params) -> state``: whatever the transformation remembers (moments, step count),
  allocated once for the flat parameter vector ``params``;
* ``update(updates, state, params) -> None``: turns ``updates`` into the next link's input
  **in place**. The chain starts with ``updates`` = the flat gradient buffer ∂E/∂θ and ends
  with the step to add, so after an optimiser step ``p.grad`` holds the applied update.

In place because an optimiser step at batch size 32 costs about as much as the matrix
products: every extra pass over the parameters is time. ``chain`` composes links, and
``apply_updates`` adds the result: θ ← θ + u (u = −α ∂E/∂θ for plain gradient descent).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


class GradientTransformation(NamedTuple):
    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any, np.ndarray], None]


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` left to right; the state is the tuple of their states."""

    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(updates, state, params):
        for t, s in zip(transforms, state, strict=True):
            t.update(updates, s, params)

    return GradientTransformation(init, update)


def apply_updates(params: np.ndarray, updates: np.ndarray) -> None:
    """θ ← θ + u, in place."""
    params += updates
