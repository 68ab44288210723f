"""Optional fused kernels, compiled by numba when it is installed (``pip install "ffbp[fast]"``).

NumPy runs element-wise formulas one operation at a time, each a full pass over memory:
Adam's update is eleven passes over the parameter vector, which at batch size 32 costs as
much as the matrix products. A compiled loop does it in one pass. Every kernel here has a
NumPy twin at its call site, which stays the reference: the tests run both and compare.

Set the environment variable ``FFBP_NUMBA=0`` (or ``ffbp._kernels.ENABLED = False``) to
use NumPy only.
"""

from __future__ import annotations

import math
import os

ENABLED = False
adam_direction = rms_direction = None

if os.environ.get("FFBP_NUMBA", "1") != "0":
    try:
        import numba
    except ImportError:     # numba is optional: the NumPy path is complete on its own
        numba = None
    if numba is not None:
        ENABLED = True

        @numba.njit(cache=True, nogil=True)
        def adam_direction(g, m, v, b1, b2, eps, c1, c2):  # noqa: F811
            """In place: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², g ← m / (c₁(√v/c₂ + ε))."""
            for i in range(g.size):
                gi = g[i]
                mi = b1 * m[i] + (1.0 - b1) * gi
                vi = b2 * v[i] + (1.0 - b2) * gi * gi
                m[i] = mi
                v[i] = vi
                g[i] = mi / (c1 * (math.sqrt(vi) / c2 + eps))

        @numba.njit(cache=True, nogil=True)
        def rms_direction(g, s, rho, eps):  # noqa: F811
            """In place: s ← ρs + (1−ρ)g², g ← g / (√s + ε)."""
            for i in range(g.size):
                gi = g[i]
                si = rho * s[i] + (1.0 - rho) * gi * gi
                s[i] = si
                g[i] = gi / (math.sqrt(si) + eps)


def use(kernel) -> bool:
    """Whether to call ``kernel`` (compiled and not switched off)."""
    return ENABLED and kernel is not None
