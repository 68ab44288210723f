"""Shared test oracles: central finite differences in float64, independent of ffbp; and
the one way a test skips for want of an optional package or program (``require``,
``skip_unless``), whose reason says what the test needs it for and that `make test` and CI
install it. In CI (the environment variable CI=true, as .ci/run is run) such a test fails
instead of skipping: an oracle that is missing there is a broken set-up, not a pass."""

from __future__ import annotations

import os

import numpy as np
import pytest

#: CI=true: .ci/run's environment, where every optional oracle must be present.
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")

#: What installs each optional package; the rest come with pyproject.toml's dev extras.
_INSTALLED_BY = {
    "torch": "`make venv` installs torch==2.13.0 (PyTorch's CPU build)",
}


def skip_unless(condition: bool, reason: str) -> None:
    """Skip the calling test (or module) unless ``condition``, saying ``reason``; in CI fail
    instead, since .ci/run installs everything the tests need."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} [CI=true: this must not skip in CI]", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require(module: str, why: str):
    """``module`` imported, or a skip whose reason says what the test loses without it
    (``why``) and what installs it (never skipped in CI: see ``skip_unless``)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        how = _INSTALLED_BY.get(module.split(".")[0], "the dev extras (`make venv`) install it")
        skip_unless(False, f"{module} is not installed ({why}); {how}, so `make test` and CI "
                           f"run this test")


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
