"""The compiled kernels against their NumPy twins: bit for bit, NaN, inf and -0.0 included
(the optimiser kernels are compared in test_optim.py, on every optimiser test)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import skip_unless

import ffbp
from ffbp import _kernels

skip_unless(_kernels.available(),
            "the numba kernels are unavailable (numba is not installed, or FFBP_NUMBA=0), so "
            "there is nothing to compare with NumPy; the dev extras install numba, so "
            "`make test` and CI run these tests")
SPECIAL = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-45, -1e-45, 3.0, -3.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_kernels_match_numpy_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=999), SPECIAL]).astype(dtype).reshape(-1, 8)
    expected = np.maximum(x, 0)
    got = x.copy()
    assert _kernels.relu_inplace(got)
    np.testing.assert_array_equal(got, expected)
    assert np.array_equal(np.signbit(got), np.signbit(expected))      # -0.0 stays -0.0

    d = rng.normal(size=x.shape).astype(dtype)
    d[1] = SPECIAL[:8]
    with np.errstate(invalid="ignore"):
        expected = d * (expected > 0)
    got = d.copy()
    assert _kernels.relu_mask_inplace(got, np.maximum(x, 0))
    np.testing.assert_array_equal(got, expected)                      # NaN·0 is NaN
    assert np.array_equal(np.signbit(got), np.signbit(expected))


def test_training_a_relu_network_is_the_same_with_and_without_the_kernels(monkeypatch):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(200, 8)), rng.integers(0, 3, 200)
    weights = []
    for enabled in (True, False):
        monkeypatch.setattr(_kernels, "ENABLED", enabled)
        net = ffbp.Network([ffbp.Dense(8, 16), ffbp.ReLU(), ffbp.Dense(16, 3),
                            ffbp.Softmax()], seed=0, dtype=np.float32)
        net.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.sgd(0.1), epochs=3,
                batch_size=16, seed=2, verbose=False)
        weights.append(net.flat_values.copy())
    np.testing.assert_array_equal(weights[0], weights[1])


def test_non_contiguous_arrays_fall_back_to_numpy():
    x = np.ones((4, 6))[:, ::2]
    assert not _kernels.relu_inplace(x)
    assert not _kernels.relu_mask_inplace(x, x)
