"""Layers: each forward next to its backward, one concept per file."""

from .activations import (
    ACTIVATIONS,
    ELU,
    Activation,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Step,
    Tanh,
)
from .base import Layer
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout

__all__ = [
    "Layer", "Dense", "Activation", "Identity", "Step", "Sigmoid", "Tanh", "ReLU",
    "LeakyReLU", "ELU", "Softmax", "LogSoftmax", "ACTIVATIONS", "BatchNorm", "Dropout",
]
