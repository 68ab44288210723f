"""Optimisers as composable gradient transformations (the optax shape, updated in place).

A ``GradientTransformation`` is a pair of functions:

* ``init(params, net=None) -> state``: whatever the transformation remembers (moments,
  step count), allocated once for the flat parameter vector ``params``. ``net`` is the
  Network those parameters belong to, for links that need its layout (the weight-decay mask
  "weights, not biases" comes from ``net.decay_mask()``). A state is a ``dict`` of NumPy
  arrays (updated in place) and Python numbers (replaced by key), so checkpoints can save
  any optimiser's state without knowing its type; ``chain``'s state is a tuple of these.
  Keys starting with ``_`` hold scratch buffers or values ``init`` derives again (no
  information carried between steps), so a checkpoint need not save them;
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
    init: Callable[..., Any]
    update: Callable[[np.ndarray, Any, np.ndarray], None]
    #: ``penalty(params, state) -> float``: the term this link adds to the objective (½λ‖W‖²
    #: for coupled weight decay), so that ``fit`` reports the loss actually minimised.
    penalty: Callable[[np.ndarray, Any], float] | None = None


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` left to right; the state is the tuple of their states."""

    def init(params, net=None):
        return tuple(t.init(params, net) for t in transforms)

    def update(updates, state, params):
        for t, s in zip(transforms, state, strict=True):
            t.update(updates, s, params)

    penalised = [i for i, t in enumerate(transforms) if t.penalty is not None]

    def penalty(params, state):
        return sum(transforms[i].penalty(params, state[i]) for i in penalised)

    return GradientTransformation(init, update, penalty if penalised else None)


def apply_updates(params: np.ndarray, updates: np.ndarray) -> None:
    """θ ← θ + u, in place."""
    params += updates
