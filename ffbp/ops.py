"""The element-wise operations of a training step, each in two forms side by side: its NumPy
definition, which is the reference, and a compiled one-pass twin (numba, a dependency of
``pip install ffbp``). Callers (the ReLU layer, the optimisers, the loop's update check) call
the op and never choose: a layer reads like the derivation.

NumPy runs element-wise formulas one operation at a time, each a full pass over memory:
Adam's update is eleven passes over the parameter vector, which at batch size 32 costs as
much as the matrix products. A compiled loop does it in one pass. The tests run both forms
and compare them bit for bit.

The twins are not free: importing numba and loading the kernels from numba's on-disk cache
costs a process about 0.6 s and 110 MB (compiling them, once per machine and numba version,
about 1.5 s). A small network on a small table trains in less time than that, so by default
(``ENABLED == "auto"``) the ops run NumPy until the work shows the kernels will pay: numba
loads when one op sees an array of ``BIG`` elements or more (a network that size trains for
seconds at least), or when the ops' NumPy work adds up to ``BUDGET`` element passes (about
half a second of it, the price of loading). From then on every op uses its twin. Both forms
give the same bits, so when the switch happens does not change a result.

The environment variable ``FFBP_NUMBA`` (read at import; or set ``ffbp.ops.ENABLED``) picks:
``0`` (False) NumPy only, ``1`` (True) the twins from the first call, unset (``"auto"``)
the rule above.
"""

from __future__ import annotations

import os

import numpy as np

ENABLED: bool | str = {"0": False, "1": True}.get(os.environ.get("FFBP_NUMBA", "").strip(),
                                                  "auto")
BIG = 1 << 16               # elements: an op on an array this large loads the kernels
BUDGET = 2_000_000_000      # element passes of NumPy work that load them (about 0.5 s)
PER_CALL = 2048             # a NumPy call's fixed cost (about 0.5 µs), in element passes
_compiled: dict | None = None       # name -> kernel once loaded; {} without numba
_work = 0                           # element passes done by NumPy while not loaded


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
    def jit(f):
        # The compiled code is cached on disk: in the package's __pycache__ when writable,
        # else in the user's cache directory (~/.cache/numba; NUMBA_CACHE_DIR overrides
        # both). With neither writable numba refuses cache=True: compile in each process.
        try:
            return numba.njit(cache=True, nogil=True, error_model="numpy")(f)
        except RuntimeError:
            return numba.njit(nogil=True, error_model="numpy")(f)

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


def kernel(name: str, size: int = 0, passes: int = 1):
    """The compiled kernel ``name``, or None: numba missing or switched off, or (``"auto"``)
    not loaded yet and this call, ``passes`` NumPy passes over ``size`` elements, does not
    tip the work over ``BIG`` or ``BUDGET``."""
    global _compiled, _work
    if ENABLED is False:
        return None
    if _compiled is None:
        if ENABLED is not True and size < BIG:
            _work += passes * (size + PER_CALL)
            if _work < BUDGET:
                return None
        _compiled = _compile()
    return _compiled.get(name)


def available() -> bool:
    """Whether the compiled kernels can be used (numba installed, not switched off); loads
    them."""
    global _compiled
    if ENABLED is False:
        return False
    if _compiled is None:
        _compiled = _compile()
    return bool(_compiled)


def loaded() -> bool:
    """Whether this process has loaded the kernels (numba imported), without loading them."""
    return bool(_compiled)


def adam_direction_(g, m, v, b1, b2, eps, c1, c2, scratch, mask) -> None:
    """Adam's direction in place: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
    g ← m̂/(√v̂ + ε) = m / (c₁(√v/c₂ + ε)) with c₁ = 1 − β₁ᵗ, c₂ = √(1 − β₂ᵗ).
    ``scratch`` (like g) and ``mask`` (bool) are preallocated: nothing is allocated."""
    k = kernel("adam", g.size, 11)
    if k is not None:                               # one pass, compiled
        t = g.dtype.type
        k(g, m, v, t(b1), t(1.0 - b1), t(b2), t(1.0 - b2), t(c1 / c2), t(c1 * eps),
          np.finfo(g.dtype).tiny, t(0))
        return
    np.multiply(g, g, out=scratch)                  # g², before g is overwritten
    scratch *= 1.0 - b2
    v *= b2
    v += scratch
    np.multiply(g, 1.0 - b1, out=scratch)
    m *= b1
    m += scratch
    flush_denormals(m, scratch, mask)
    flush_denormals(v, scratch, mask, nonnegative=True)     # v = β₂v + (1−β₂)g² ≥ 0
    # m̂/(√v̂ + ε) = m / (c₁ (√v / c₂ + ε)): both bias corrections folded into the
    # denominator, which saves a full pass over the parameters.
    np.sqrt(v, out=scratch)
    scratch *= c1 / c2
    scratch += c1 * eps
    np.divide(m, scratch, out=g)


def rms_direction_(g, s, rho, eps, scratch, mask) -> None:
    """RMSProp's direction in place: s ← ρs + (1−ρ)g², g ← g / (√s + ε)."""
    k = kernel("rms", g.size, 7)
    if k is not None:                               # one pass, compiled
        t = g.dtype.type
        k(g, s, t(rho), t(1.0 - rho), t(eps), np.finfo(g.dtype).tiny, t(0))
        return
    np.multiply(g, g, out=scratch)
    scratch *= 1.0 - rho
    s *= rho
    s += scratch
    flush_denormals(s, scratch, mask, nonnegative=True)     # s = ρs + (1−ρ)g² ≥ 0
    np.sqrt(s, out=scratch)
    scratch += eps
    g /= scratch


def relu_(x: np.ndarray) -> np.ndarray:
    """x ← max(x, 0) in place; returns x (-0.0 and NaN stay as NumPy leaves them)."""
    k = kernel("relu", x.size)
    if k is not None and x.flags.c_contiguous:      # one pass, compiled
        k(x.reshape(-1), x.dtype.type(0))
        return x
    return np.maximum(x, 0, out=x)


def relu_mask_(d: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d ← d where y > 0, else d·0, in place (ReLU's backward from its output y); returns d."""
    k = kernel("relu_mask", d.size)
    if k is not None and d.flags.c_contiguous and y.flags.c_contiguous \
            and d.shape == y.shape:                 # one pass, compiled
        k(d.reshape(-1), y.reshape(-1), d.dtype.type(0))
        return d
    return np.multiply(d, y > 0, out=d)


def sane(a: np.ndarray) -> bool:
    """True when every entry of ``a`` is finite and below √(largest float) in magnitude
    (1.8e19 in float32): a step that size has diverged, and its square would already
    overflow. One pass, compiled when the kernels are loaded."""
    limit = a.dtype.type(np.sqrt(np.finfo(a.dtype).max))
    k = kernel("out_of_range", a.size, 2)
    if k is not None:
        return k(a, limit) == 0
    with np.errstate(invalid="ignore"):
        return bool(np.abs(a).max(initial=0) < limit)   # NaN makes max NaN: not < limit


def flush_denormals(a: np.ndarray, scratch: np.ndarray, mask: np.ndarray,
                    nonnegative: bool = False) -> None:
    """Set entries smaller than the smallest normal float to 0, in place.

    Optimiser moments of parameters whose gradient has become 0 (a dead unit, an always-zero
    input pixel) decay geometrically (m ← 0.9 m) into the subnormal range, where every
    arithmetic operation on them is ~100x slower: measured here, an Adam step went from
    0.2 ms to 8 ms within one epoch. Values below 1e-38 (float32) carry no information for
    the update, so they become exact zeros. ``scratch`` (like ``a``) and ``mask`` (bool) are
    preallocated so that a step allocates nothing. ``nonnegative``: ``a`` holds no negative
    numbers (a second moment, a sum of squares), so its own values are compared, without the
    pass that takes their absolute values.
    """
    if nonnegative:
        np.less(a, _tiny(a.dtype), out=mask)
    else:
        np.abs(a, out=scratch)
        np.less(scratch, _tiny(a.dtype), out=mask)
    # Usually nothing is that small: a check (one pass that stops at the first True) costs
    # less than a putmask over every entry, 0.8 µs against 2 µs on 6,570 float64s, and a
    # small network's Adam step flushes two arrays.
    if mask.any():
        np.putmask(a, mask, 0)


_TINY: dict = {}


def _tiny(dtype) -> np.floating:
    """The smallest normal float of ``dtype``, remembered (np.finfo costs a dictionary look-up
    and a call per use, and an Adam step asks twice)."""
    tiny = _TINY.get(dtype)
    if tiny is None:
        tiny = _TINY[dtype] = np.finfo(dtype).tiny
    return tiny
