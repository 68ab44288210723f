"""Shared test oracles: central finite differences in float64, independent of ffbp."""

from __future__ import annotations

import numpy as np
import pytest


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂f/∂x by central differences, (f(x + h eᵢ) − f(x − h eᵢ)) / 2h, for every entry of the
    float64 array ``x`` (modified in place and restored). ``f`` takes no arguments."""
    assert x.dtype == np.float64, "finite differences are only trustworthy in float64"
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + h
        plus = f()
        flat[i] = orig - h
        minus = f()
        flat[i] = orig
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| relative to the larger of the two arrays' magnitudes, floored at 1e-3 so that
    gradients that are (almost) zero are compared in absolute terms: finite differences carry
    ~1e-10 of rounding noise, which is no relative error at all on a zero gradient."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(np.abs(a).max(initial=0), np.abs(b).max(initial=0), 1e-3)
    return float(np.abs(a - b).max(initial=0) / scale)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
