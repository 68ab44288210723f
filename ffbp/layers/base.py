"""The layer protocol every part of a network follows."""

from __future__ import annotations

import numpy as np

from ..parameter import Parameter


class Layer:
    """One step of the feed-forward pass, with its backward step beside it.

    ``forward(x, training)`` computes the output and caches what ``backward`` needs;
    ``backward(dy)`` receives ∂E/∂(output), writes ∂E/∂p into ``p.grad`` (in place,
    overwriting) for each of its parameters, and returns ∂E/∂x. ``training`` is an explicit
    flag rather than a global mode (dropout and batch norm behave differently in training).
    """

    #: Whether the layer's output depends on other samples of the batch or on randomness.
    #: Layers that are pure functions of one sample leave it False.
    stochastic = False
    #: Smallest batch the layer can train on (batch statistics need 2 samples); ``fit``
    #: folds a smaller last batch into the one before it.
    min_batch = 1
    #: The input width the layer fixes (a Dense layer's ``in_features``), None when any
    #: width passes through (activations, batch norm after a known width).
    in_features: int | None = None
    #: The generator of a layer that draws random numbers (dropout's masks), None for the
    #: others; checkpoints save its state and gradcheck replays it.
    rng: np.random.Generator | None = None
    #: ``forward`` returns a new array that no one holds, not even this layer, so the next
    #: layer may overwrite it (a Dense layer's x W + b); likewise ``backward``'s ∂E/∂x for
    #: the layer before.
    private_output = False
    private_input_grad = False
    #: ``forward(x, training, in_place=True)`` and ``backward(dy, input_grad, in_place=True)``
    #: may overwrite their argument, saving an allocation and a pass over the batch. The
    #: step passes ``in_place=True`` only for an array its neighbour declares private:
    #: never for arrays a caller passed in.
    works_in_place = False

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """∂E/∂x from ∂E/∂y. ``input_grad=False`` lets the first layer skip computing a
        gradient nobody uses (for a 784-input network that is a third of the work)."""
        raise NotImplementedError

    def parameters(self) -> list[Parameter]:
        """The trainable arrays (views into the network's flat buffer once packed)."""
        return []

    def buffers(self) -> dict[str, np.ndarray]:
        """Arrays of state that are not trained but saved with the model (batch norm's
        running mean and variance); updated in place."""
        return {}

    def initialize(self, rng: np.random.Generator) -> None:
        """Draw fresh initial parameter values from ``rng`` (no-op without parameters)."""

    def config(self) -> dict:
        """The constructor arguments that rebuild this layer (saved in model files)."""
        return {}

    def output_features(self, in_features: int | None) -> int | None:
        """Width of the output given the input width (None = unknown); raises ShapeError
        when ``in_features`` cannot feed this layer."""
        return in_features

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(x, training)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
