"""Ready-made optimisers; each only composes links from ``transforms``."""

from __future__ import annotations

from .base import GradientTransformation, chain
from .transforms import scale_by_learning_rate


def gd(learning_rate=0.1) -> GradientTransformation:
    """Plain gradient descent, W ← W − α ∂E/∂W (every tutorial's update rule).

    Batch, mini-batch or stochastic gradient descent is the same rule; which one is decided
    by ``fit``'s ``batch_size`` (None = the whole set, 1 = one sample at a time)."""
    return chain(scale_by_learning_rate(learning_rate))


sgd = gd
