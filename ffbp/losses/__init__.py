"""Losses: value E and gradient ∂E/∂y, mean over the batch (tutorial 003's three families).

``get("cross_entropy")`` resolves a name; every loss is also importable by class name.
"""

from .._validation import lookup
from ..errors import ConfigError
from .base import Loss
from .classification import (
    NLL,
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CrossEntropy,
    CrossEntropyWithLogits,
    Hinge,
    MultiMargin,
)
from .embedding import CosineEmbedding, HingeEmbedding
from .regression import MAE, MSE, Huber, SquaredError

LOSSES = {
    "squared_error": SquaredError, "mse": MSE, "mean_squared_error": MSE,
    "mae": MAE, "mean_absolute_error": MAE, "l1": MAE, "huber": Huber, "smooth_l1": Huber,
    "cross_entropy": CrossEntropy, "categorical_cross_entropy": CrossEntropy,
    "cross_entropy_with_logits": CrossEntropyWithLogits,
    "binary_cross_entropy": BinaryCrossEntropy, "bce": BinaryCrossEntropy,
    "binary_cross_entropy_with_logits": BinaryCrossEntropyWithLogits,
    "bce_with_logits": BinaryCrossEntropyWithLogits,
    "nll": NLL, "negative_log_likelihood": NLL, "hinge": Hinge, "multi_margin": MultiMargin,
    "hinge_embedding": HingeEmbedding, "cosine_embedding": CosineEmbedding,
}


def get(loss) -> Loss:
    """A loss from a name ("mse", "cross_entropy", ...), a Loss class, or an instance."""
    loss = lookup(loss, LOSSES, "loss")
    if isinstance(loss, type) and issubclass(loss, Loss):
        loss = loss()
    if not isinstance(loss, Loss):
        raise ConfigError(f"loss must be a name or an ffbp Loss, got {loss!r}")
    return loss


__all__ = [
    "Loss", "get", "LOSSES", "SquaredError", "MSE", "MAE", "Huber", "CrossEntropy",
    "CrossEntropyWithLogits", "NLL", "BinaryCrossEntropy", "BinaryCrossEntropyWithLogits",
    "Hinge", "MultiMargin", "HingeEmbedding", "CosineEmbedding",
]
