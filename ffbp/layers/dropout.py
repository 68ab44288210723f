"""Dropout: randomly silence units during training so none can rely on another."""

from __future__ import annotations

import numpy as np

from .._validation import check_number, check_seed
from ..errors import ConfigError
from .base import Layer


class Dropout(Layer):
    """Inverted dropout (Srivastava et al. 2014) with drop probability p.

    Forward (training): each unit of each sample is kept with probability 1 − p, and the
    survivors are scaled by 1/(1 − p) so that the expected output equals the input:
        M_ij = 1/(1 − p) with probability 1 − p, else 0;   y = x ⊙ M,   E[y] = x
    Forward (inference): y = x (nothing to undo, thanks to the scaling in training).
    Backward: ∂E/∂x = ∂E/∂y ⊙ M with the same mask M (identity in inference).

    The mask is drawn from ``self.rng``, a generator derived from the network's generator in
    ``initialize``, so the same network seed gives the same masks; ``ffbp.gradcheck`` saves
    and restores ``rng`` so that every finite-difference pass sees the same mask.

    Shape: (n_samples, features) -> same shape.

    Args:
        p: probability of dropping a unit, in [0, 1) (p = 1 would drop everything and the
            scale 1/(1 − p) would be infinite).
        seed: seed of the masks when the layer is used on its own (a Network reseeds it).
    """

    #: The output depends on random draws (in training).
    stochastic = True

    def __init__(self, p: float = 0.5, seed: int | None = None):
        try:
            self.p = check_number(p, "Dropout p", 0.0, 1.0, high_open=True)
        except ConfigError:
            raise ConfigError(f"Dropout p must be a probability in [0, 1), got {p!r}") from None
        self._mask = None
        self.rng: np.random.Generator | None = None
        self.initialize(np.random.default_rng(check_seed(seed, "Dropout seed")))

    def initialize(self, rng: np.random.Generator) -> None:
        # An independent stream of our own: drawing masks must not shift the draws of the
        # layers initialised after this one, and it is reproducible from the network seed.
        self.rng = np.random.default_rng(rng.integers(2**63))

    def forward(self, x, training=False):
        if not training or self.p == 0.0:
            self._mask = None
            return x
        # Uniforms drawn in float64 whatever x's dtype, so a float32 network and its float64
        # copy (gradcheck) drop the same units for the same generator state.
        keep = self.rng.random(x.shape) >= self.p
        self._mask = keep.astype(x.dtype)
        self._mask *= 1.0 / (1.0 - self.p)
        return x * self._mask

    def backward(self, dy, input_grad=True):
        if not input_grad:
            return None
        return dy if self._mask is None else dy * self._mask

    def config(self):
        return {"p": self.p}

    def __repr__(self):
        return f"Dropout(p={self.p})"
