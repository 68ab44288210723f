"""Weight initialisers: random values that break the symmetry between hidden units.

Tutorial 002: if every weight starts equal, every hidden unit computes the same function and
receives the same gradient, so they stay equal forever. Small random values around zero break
that symmetry. Each initialiser is a function ``(rng, shape, fan_in, fan_out) -> float64 array``
drawing only from the explicit ``np.random.Generator`` it is given (reproducible by seed).
"""

from __future__ import annotations

import numpy as np

from ._validation import check_number, lookup


def small_normal(std: float = 0.01):
    """N(0, std²), tutorial 002's "small values close to zero" (std 0.01 by default)."""
    std = check_number(std, "small_normal std", 0.0)

    def init(rng, shape, fan_in, fan_out):
        return rng.normal(0.0, std, size=shape)

    init.__name__ = f"small_normal(std={std})"
    return init


def glorot_uniform(rng, shape, fan_in, fan_out):
    """U(−a, a) with a = √(6 / (fan_in + fan_out)): keeps activation variance across layers."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def glorot_normal(rng, shape, fan_in, fan_out):
    """N(0, 2 / (fan_in + fan_out))."""
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def he_normal(rng, shape, fan_in, fan_out):
    """N(0, 2 / fan_in): for ReLU, which zeroes half its inputs and so halves the variance."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def he_uniform(rng, shape, fan_in, fan_out):
    """U(−a, a) with a = √(6 / fan_in)."""
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape)


def constant(c: float):
    """Every weight equal to ``c``. The *symmetry trap* of tutorial 002: hidden units that
    start equal stay equal. Useful for biases (``constant(0)``) and for demonstrating the trap."""
    c = check_number(c, "constant c")

    def init(rng, shape, fan_in, fan_out):
        return np.full(shape, c)

    init.__name__ = f"constant({c})"
    return init


zeros = constant(0.0)

INITIALISERS = {
    "small_normal": small_normal(),
    "glorot_uniform": glorot_uniform,
    "xavier_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "xavier_normal": glorot_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "zeros": zeros,
}


def get(init):
    """An initialiser from a name in ``INITIALISERS`` or a callable (returned as is)."""
    init = lookup(init, INITIALISERS, "initialiser")
    if not callable(init):
        from .errors import ConfigError

        raise ConfigError(f"init must be a name or a callable, got {init!r}")
    return init
