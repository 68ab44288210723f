"""ffbp.ops: each op's compiled form against its NumPy definition, bit for bit, NaN, inf and
-0.0 included (the optimiser ops are compared in test_optim.py, on every optimiser test)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import skip_unless

import ffbp
from ffbp import ops

skip_unless(ops.available(),
            "the numba kernels are unavailable (numba is not installed, or FFBP_NUMBA=0), so "
            "there is nothing to compare with NumPy; numba is a dependency of ffbp, so "
            "`make test` and CI run these tests")
SPECIAL = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-45, -1e-45, 3.0, -3.0]


def _compiled_and_numpy(monkeypatch, op, first, *rest):
    """op(copy of first, *rest) with the compiled form, then with NumPy's."""
    results = []
    for enabled in (True, False):
        monkeypatch.setattr(ops, "ENABLED", enabled)
        got = first.copy()
        with np.errstate(invalid="ignore"):
            assert op(got, *rest) is got                  # in place, and returned
        results.append(got)
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_ops_compiled_match_numpy_bit_for_bit(dtype, monkeypatch):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=999), SPECIAL]).astype(dtype).reshape(-1, 8)
    compiled, numpy = _compiled_and_numpy(monkeypatch, ops.relu_, x)
    np.testing.assert_array_equal(numpy, np.maximum(x, 0))           # the definition
    np.testing.assert_array_equal(compiled, numpy)
    assert np.array_equal(np.signbit(compiled), np.signbit(numpy))    # -0.0 stays -0.0

    d = rng.normal(size=x.shape).astype(dtype)
    d[1] = SPECIAL[:8]
    compiled, numpy = _compiled_and_numpy(monkeypatch, ops.relu_mask_, d, np.maximum(x, 0))
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(numpy, d * (np.maximum(x, 0) > 0))
    np.testing.assert_array_equal(compiled, numpy)                    # NaN·0 is NaN
    assert np.array_equal(np.signbit(compiled), np.signbit(numpy))


def test_training_a_relu_network_is_the_same_with_and_without_the_kernels(monkeypatch):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(200, 8)), rng.integers(0, 3, 200)
    weights = []
    for enabled in (True, False):
        monkeypatch.setattr(ops, "ENABLED", enabled)
        net = ffbp.Network([ffbp.Dense(8, 16), ffbp.ReLU(), ffbp.Dense(16, 3),
                            ffbp.Softmax()], seed=0, dtype=np.float32)
        net.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.sgd(0.1), epochs=3,
                batch_size=16, seed=2, verbose=False)
        weights.append(net.flat_values.copy())
    np.testing.assert_array_equal(weights[0], weights[1])


def test_non_contiguous_arrays_take_the_numpy_form():
    x = np.array([[-1.0, 5, 2, 7], [3, 9, -4, 1]])[:, ::2]          # not C-contiguous
    assert not x.flags.c_contiguous
    np.testing.assert_array_equal(ops.relu_(x.copy()[:, :]), [[0, 2], [3, 0]])
    view = np.array([[-1.0, 5, 2, 7], [3, 9, -4, 1]])[:, ::2]
    np.testing.assert_array_equal(ops.relu_(view), [[0, 2], [3, 0]])
    d = np.ones((2, 4))[:, ::2]
    np.testing.assert_array_equal(ops.relu_mask_(d, np.array([[0.0, 1], [2, 0]])),
                                  [[0, 1], [1, 0]])
