"""The links optimisers are built from; each a ``GradientTransformation``."""

from __future__ import annotations

from .._validation import check_positive
from .base import GradientTransformation


def scale_by_learning_rate(learning_rate) -> GradientTransformation:
    """u ← −α u: the last link of every optimiser, turning a direction into a descent step.

    ``learning_rate`` is a positive number or a schedule (a function step -> α)."""
    if not callable(learning_rate):
        check_positive(learning_rate, "learning_rate")
        lr = float(learning_rate)

        def schedule(step):
            return lr
    else:
        schedule = learning_rate

    def init(params, net=None):
        return {"count": 0}

    def update(updates, state, params):
        updates *= -schedule(state["count"])
        state["count"] += 1

    return GradientTransformation(init, update)


def identity() -> GradientTransformation:
    """Leaves the updates as they are (a neutral link)."""
    return GradientTransformation(lambda params, net=None: {}, lambda u, s, p: None)
