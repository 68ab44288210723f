"""Optimisers: composable in-place gradient transformations (see ``base``)."""

from . import schedules
from .aliases import gd, sgd
from .base import GradientTransformation, apply_updates, chain
from .transforms import identity, scale_by_learning_rate

__all__ = [
    "GradientTransformation", "chain", "apply_updates", "scale_by_learning_rate", "identity",
    "gd", "sgd", "schedules",
]
