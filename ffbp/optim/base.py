"""Optimisers as composable gradient transformations (the optax shape, updated in place).

A ``GradientTransformation`` is a pair of functions:

* ``init(params, net=None) -> state``: whatever the transformation remembers (moments,
  step count), allocated once for the flat parameter vector ``params``. ``net`` is the
  Network those parameters belong to, for links that need its layout: a flat vector has no
  structure of its own, so the weight-decay default "weights, not biases" (tutorial 002)
  comes from ``net.decay_mask()`` (a mask given at construction needs no network).
  A state is a typed ``NamedTuple`` (``AdamState``, ``TraceState``, …; ``chain``'s is the
  tuple of its links' states) whose arrays, and ``StepCount``, are updated in place. Work
  buffers allocated once so that a step allocates nothing sit in a ``Scratch`` field: they
  carry nothing from one step to the next, so checkpoints skip them;
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
    #: for coupled weight decay), so that ``fit`` reports the loss actually minimised. It
    #: lives on the link because only the link knows λ and its mask: weight decay is set in
    #: one place, the optimiser, as in torch and optax.
    penalty: Callable[[np.ndarray, Any], float] | None = None


class EmptyState(NamedTuple):
    """The state of a link that remembers nothing (clipping, the identity)."""


class Scratch(NamedTuple):
    """Work buffers of a link, made once by ``init``: ``values`` a float vector like the
    parameters, ``flags`` a bool vector, ``coef`` a per-parameter coefficient derived from
    the link's settings (the decay mask times λ). None where a link needs none. Nothing in
    them carries over between steps, so checkpoints do not save them."""

    values: np.ndarray | None = None
    flags: np.ndarray | None = None
    coef: np.ndarray | None = None


class StepCount:
    """A step counter that ``update`` advances in place (``count.n += 1``): a state is an
    immutable tuple, and a plain attribute costs less per step than a 0-d array."""

    __slots__ = ("n",)

    def __init__(self, n: int = 0):
        self.n = int(n)

    def __eq__(self, other) -> bool:
        return isinstance(other, StepCount) and other.n == self.n

    def __repr__(self) -> str:
        return f"StepCount({self.n})"


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
