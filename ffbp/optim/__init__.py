"""Optimisers: composable in-place gradient transformations (see ``base``).

Links (``transforms``) are chained into optimisers (``aliases``), optax style::

    opt = chain(clip_by_global_norm(1.0), scale_by_adam(), add_decayed_weights(1e-2),
                scale_by_learning_rate(schedules.cosine(1e-3, total_steps=10_000)))
    # the same as adamw(schedules.cosine(1e-3, 10_000), clip_norm=1.0)
"""

from . import schedules
from .aliases import ALIASES, adam, adamw, gd, momentum, rmsprop, sgd
from .base import GradientTransformation, apply_updates, chain
from .schedules import (
    ReduceOnPlateau,
    constant,
    cosine,
    exponential,
    reduce_on_plateau,
    step_decay,
)
from .transforms import (
    add_decayed_weights,
    add_l1_penalty,
    clip,
    clip_by_global_norm,
    identity,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_rms,
    trace,
)

__all__ = [
    "GradientTransformation", "chain", "apply_updates",
    "scale_by_learning_rate", "identity", "trace", "scale_by_adam", "scale_by_rms",
    "add_decayed_weights", "add_l1_penalty", "clip_by_global_norm", "clip",
    "gd", "sgd", "momentum", "adam", "adamw", "rmsprop", "ALIASES",
    "schedules", "constant", "step_decay", "exponential", "cosine", "reduce_on_plateau",
    "ReduceOnPlateau",
]
