"""ffbp.ops's choice between NumPy and the compiled twins (``ENABLED == "auto"``): small work
never loads numba, a big array or enough accumulated work does, and the switches force
either form. (That the two forms agree bit for bit is tests/layers/test_kernels.py's and
tests/optim/test_optim.py's job.)"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import skip_unless

from ffbp import ops


@pytest.fixture
def fresh(monkeypatch):
    """ops as a new process finds it: kernels not loaded, no work counted, "auto"."""
    monkeypatch.setattr(ops, "ENABLED", "auto")
    monkeypatch.setattr(ops, "_compiled", None)
    monkeypatch.setattr(ops, "_work", 0)
    return ops


def _relu(n):
    x = np.linspace(-1, 1, n, dtype=np.float32)
    np.testing.assert_array_equal(ops.relu_(x.copy()), np.maximum(x, 0))


def test_small_work_stays_numpy_until_the_budget_then_loads(fresh, monkeypatch):
    monkeypatch.setattr(ops, "BUDGET", 10 * (100 + ops.PER_CALL))
    for _ in range(9):
        _relu(100)
    assert ops._compiled is None and ops._work == 9 * (100 + ops.PER_CALL)
    _relu(100)                      # the tenth call reaches the budget
    assert ops._compiled is not None


def test_one_big_array_loads_at_once(fresh):
    _relu(ops.BIG)
    assert ops._compiled is not None and ops._work == 0


def test_the_switches_override_the_rule(fresh, monkeypatch):
    monkeypatch.setattr(ops, "ENABLED", False)
    _relu(ops.BIG)
    assert ops._compiled is None and ops.kernel("relu", ops.BIG) is None
    assert not ops.available() and not ops.loaded()
    monkeypatch.setattr(ops, "ENABLED", True)
    skip_unless(ops.available(), "numba is not installed, so ENABLED = True has nothing to "
                                 "force; `pip install ffbp` installs it")
    assert ops.kernel("relu", 1) is not None and ops.loaded()


def test_a_small_training_run_never_imports_numba(tmp_path):
    """A 300-row table for 10 epochs: the process must not pay numba's start-up."""
    code = ("import sys, numpy as np, ffbp\n"
            "rng = np.random.default_rng(0)\n"
            "X, y = rng.normal(size=(300, 9)), rng.integers(0, 3, 300)\n"
            "net = ffbp.mlp(9, [64, 32], 3, output=ffbp.Softmax, seed=0)\n"
            "net.fit(X, y, loss='cross_entropy', epochs=10, batch_size=32, verbose=False)\n"
            "assert 'numba' not in sys.modules, 'numba was imported'\n")
    env = {k: v for k, v in os.environ.items() if k != "FFBP_NUMBA"}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_without_a_writable_cache_the_kernels_compile_in_the_process(fresh, monkeypatch):
    """numba refuses cache=True (RuntimeError: no locator available) when neither the
    package's __pycache__ nor the user's cache directory is writable (a read-only install
    and home): the kernels must still work, compiled uncached."""
    numba = pytest.importorskip("numba", reason="numba is not installed; `pip install ffbp` "
                                                "installs it")
    njit = numba.njit

    def refusing(*args, cache=False, **options):
        if cache:
            raise RuntimeError("cannot cache function: no locator available")
        return njit(*args, **options)

    monkeypatch.setattr(numba, "njit", refusing)
    kernels = ops._compile()
    x = np.array([-1.0, 2.0, np.nan])
    kernels["relu"](x, 0.0)
    np.testing.assert_array_equal(x, [0.0, 2.0, np.nan])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flush_denormals_forms_agree(dtype):
    """The flush's shortcuts (no putmask when nothing is tiny; no absolute values for an array
    declared non-negative) give what the plain rule "entries below the smallest normal float
    become 0" gives, and leave an array with nothing to flush untouched, bit for bit."""
    tiny = np.finfo(dtype).tiny
    values = np.array([0.0, tiny / 4, tiny, 2 * tiny, 1.0, np.inf, np.nan, 1e-3], dtype)
    for a, nonnegative in ((values, True), (np.concatenate([values, -values]), False),
                           (np.array([1.0, 2.0, np.nan], dtype), True)):
        expected = np.where(np.abs(a) < tiny, 0, a).astype(dtype)
        got = a.copy()
        ops.flush_denormals(got, np.empty_like(a), np.empty(a.shape, bool), nonnegative)
        np.testing.assert_array_equal(got, expected)
        assert np.array_equal(np.signbit(got), np.signbit(expected))
