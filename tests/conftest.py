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


# -- float32 comparisons that hold on every CPU ------------------------------------------------

#: float32's unit roundoff u: every correctly rounded float32 operation is off by ≤ u relative.
U32 = 2.0 ** -24


def float32_forward_error(net, X, ulps: float = 4.0):
    """(exact, scale) for the float32 network ``net`` on ``X``: ``exact`` is its forward pass
    in float64 on its own float32 weights and inputs; ``scale`` is, element-wise, the size
    of the rounding error a float32 implementation of that pass makes (ffbp with whichever
    BLAS kernel, AVX2 or AVX-512, any blocking or FMA; onnxruntime's MLAS), derived from
    the shapes and values, not measured on one CPU. Tests allow a multiple of it.

    The model: a Dense layer's float32 GEMM adds u·√(k+1)·(|h||W| + |b|) to its output
    (k-term sums: the √k rule for rounding errors of either sign, times the Σ|terms| that
    bounds every partial sum); an activation or batch norm adds ``ulps``·u·(|Φ(h)| + 1)
    (its exp, log or division, or a polynomial approximation good to a few ulps). Errors
    from earlier layers are carried forward as independent errors: through W as
    √(σ² W²), through Φ by its derivative at h (softmax: y·2·max σ; log-softmax:
    σ + max σ; batch norm: |γ|/σ_B). Independent errors add in quadrature."""
    import ffbp

    assert net.dtype == np.float32
    h = np.asarray(X, dtype=np.float32).astype(np.float64)
    sd = np.zeros_like(h)
    for layer in net.astype(np.float64).layers:
        out = layer.forward(h, training=False)
        own = ulps * U32 * (np.abs(out) + 1)
        if isinstance(layer, ffbp.Dense):
            W = layer.W.value
            b = np.abs(layer.b.value) if layer.b is not None else 0.0
            own = U32 * np.sqrt(W.shape[0] + 1) * (np.abs(h) @ np.abs(W) + b)
            carried = np.sqrt(sd ** 2 @ W ** 2)
        elif isinstance(layer, ffbp.Dropout):
            own, carried = 0.0, sd
        elif isinstance(layer, ffbp.BatchNorm):
            carried = sd * np.abs(layer.gamma.value) / np.sqrt(layer.running_var + layer.eps)
        elif isinstance(layer, ffbp.Softmax):
            carried = np.abs(out) * 2 * sd.max(axis=1, keepdims=True)
        elif isinstance(layer, ffbp.LogSoftmax):
            carried = sd + sd.max(axis=1, keepdims=True)
        else:                                   # element-wise: the derivative at h
            carried = np.abs(layer.derivative(h)) * sd
        sd = np.sqrt(carried ** 2 + own ** 2)
        h = out
    return h, sd
