"""Optional fused kernels, compiled by numba when it is installed (``pip install "ffbp[fast]"``).

NumPy runs element-wise formulas one operation at a time, each a full pass over memory:
Adam's update is eleven passes over the parameter vector, which at batch size 32 costs as
much as the matrix products. A compiled loop does it in one pass. Every kernel here has a
NumPy twin at its call site, which stays the reference: the tests run both and compare.

numba is imported, and the kernels compiled, on first use rather than at ``import ffbp``
(it costs about a second and 130 MB, which the command line's ``--help`` should not pay).
Set the environment variable ``FFBP_NUMBA=0`` (or ``ffbp._kernels.ENABLED = False``) to
use NumPy only.
"""

from __future__ import annotations

import os

import numpy as np

ENABLED = os.environ.get("FFBP_NUMBA", "1") != "0"
_compiled: dict | None = None       # name -> kernel once compiled; {} without numba


def _compile() -> dict:
    try:
        import numba
    except ImportError:     # numba is optional: the NumPy path is complete on its own
        return {}

    # Every scalar arrives in the arrays' dtype and the loops use no float literals: a
    # float64 constant would promote float32 work to scalar float64 code, which LLVM does
    # not vectorise (measured 4x slower); error_model="numpy" drops the zero-division checks
    # that also block vectorisation. No fastmath: results must match the NumPy formula to
    # rounding. Moments below the smallest normal float are stored as 0 (flush_denormals).
    jit = numba.njit(cache=True, nogil=True, error_model="numpy")

    @jit
    def adam(g, m, v, b1, nb1, b2, nb2, a, e, tiny, zero):
        for i in range(g.size):
            gi = g[i]
            mi = b1 * m[i] + gi * nb1
            vi = b2 * v[i] + gi * gi * nb2
            mi = mi if abs(mi) >= tiny else zero
            vi = vi if vi >= tiny else zero
            m[i] = mi
            v[i] = vi
            g[i] = mi / (np.sqrt(vi) * a + e)

    @jit
    def rms(g, s, rho, nrho, eps, tiny, zero):
        for i in range(g.size):
            gi = g[i]
            si = rho * s[i] + gi * gi * nrho
            si = si if si >= tiny else zero
            s[i] = si
            g[i] = gi / (np.sqrt(si) + eps)

    @jit
    def out_of_range(a, limit):
        # An integer sum, which LLVM vectorises (NaN fails every comparison); a BLAS dot
        # product measured 3-6x slower inside the training loop (its threads must wake up).
        bad = 0
        for i in range(a.size):
            bad += not (abs(a[i]) < limit)
        return bad

    @jit
    def relu(x, zero):
        # np.maximum(x, 0), which with a scalar takes a slow broadcasting loop (5x slower
        # here); written so that NaN and -0.0 come out as NumPy's do (NaN must propagate:
        # a ReLU that turned NaN into 0 would hide a diverging network).
        for i in range(x.size):
            xi = x[i]
            x[i] = xi if xi > zero or xi != xi else zero

    @jit
    def relu_mask(d, y, zero):
        # d * (y > 0) without the boolean temporary and its cast (2-3x faster); the masked
        # entries are d * 0, as in NumPy, so NaN/inf in d still show.
        for i in range(d.size):
            d[i] = d[i] if y[i] > zero else d[i] * zero

    return {"adam": adam, "rms": rms, "out_of_range": out_of_range, "relu": relu,
            "relu_mask": relu_mask}


def kernel(name: str):
    """The compiled kernel ``name``, or None (numba missing or switched off)."""
    global _compiled
    if not ENABLED:
        return None
    if _compiled is None:
        _compiled = _compile()
    return _compiled.get(name)


def available() -> bool:
    """Whether the compiled kernels can be used (numba installed, not switched off)."""
    return kernel("adam") is not None


def adam_direction(g, m, v, b1, b2, eps, c1, c2) -> bool:
    """In place, if compiled: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², g ← m / (c₁(√v/c₂ + ε)).
    Returns False (having done nothing) when the kernel is not available."""
    k = kernel("adam")
    if k is None:
        return False
    t = g.dtype.type
    k(g, m, v, t(b1), t(1.0 - b1), t(b2), t(1.0 - b2), t(c1 / c2), t(c1 * eps),
      np.finfo(g.dtype).tiny, t(0))
    return True


def rms_direction(g, s, rho, eps) -> bool:
    """In place, if compiled: s ← ρs + (1−ρ)g², g ← g / (√s + ε). False when unavailable."""
    k = kernel("rms")
    if k is None:
        return False
    t = g.dtype.type
    k(g, s, t(rho), t(1.0 - rho), t(eps), np.finfo(g.dtype).tiny, t(0))
    return True


def relu_inplace(x: np.ndarray) -> bool:
    """x ← max(x, 0) in place, if compiled (x C-contiguous). False when unavailable."""
    k = kernel("relu")
    if k is None or not x.flags.c_contiguous:
        return False
    k(x.reshape(-1), x.dtype.type(0))
    return True


def relu_mask_inplace(d: np.ndarray, y: np.ndarray) -> bool:
    """d ← d where y > 0, else 0, in place, if compiled. False when unavailable."""
    k = kernel("relu_mask")
    if k is None or not (d.flags.c_contiguous and y.flags.c_contiguous) or d.shape != y.shape:
        return False
    k(d.reshape(-1), y.reshape(-1), d.dtype.type(0))
    return True


def sane(a: np.ndarray) -> bool:
    """True when every entry of ``a`` is finite and below √(largest float) in magnitude
    (1.8e19 in float32): a step that size has diverged, and its square would already
    overflow. One pass, compiled when numba is there."""
    limit = a.dtype.type(np.sqrt(np.finfo(a.dtype).max))
    k = kernel("out_of_range")
    if k is not None:
        return k(a, limit) == 0
    with np.errstate(invalid="ignore"):
        return bool(np.abs(a).max(initial=0) < limit)   # NaN makes max NaN: not < limit


def flush_denormals(a: np.ndarray, scratch: np.ndarray, mask: np.ndarray) -> None:
    """Set entries smaller than the smallest normal float to 0, in place.

    Optimiser moments of parameters whose gradient has become 0 (a dead unit, an always-zero
    input pixel) decay geometrically (m ← 0.9 m) into the subnormal range, where every
    arithmetic operation on them is ~100x slower: measured here, an Adam step went from
    0.2 ms to 8 ms within one epoch. Values below 1e-38 (float32) carry no information for
    the update, so they become exact zeros. ``scratch`` (like ``a``) and ``mask`` (bool) are
    preallocated so that a step allocates nothing.
    """
    np.abs(a, out=scratch)
    np.less(scratch, np.finfo(a.dtype).tiny, out=mask)
    np.putmask(a, mask, 0)
