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

#: Every built-in layer type by class name: how model files name them.
LAYER_TYPES = {cls.__name__: cls for cls in (
    Dense, Identity, Step, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, Softmax, LogSoftmax, BatchNorm,
    Dropout)}

__all__ = [
    "Layer", "Dense", "Activation", "Identity", "Step", "Sigmoid", "Tanh", "ReLU",
    "LeakyReLU", "ELU", "Softmax", "LogSoftmax", "ACTIVATIONS", "BatchNorm", "Dropout",
    "LAYER_TYPES",
]
