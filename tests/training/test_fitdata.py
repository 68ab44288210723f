"""The data feed of ``fit`` (ffbp/_fitdata.py): batch bounds, one epoch's steps, the
validation split."""

from __future__ import annotations

import numpy as np
import pytest

import ffbp
from ffbp import _fitdata
from ffbp.distributed import Comm


def _net(batch_norm=False):
    layers = [ffbp.Dense(3, 4)] + ([ffbp.BatchNorm(4)] if batch_norm else []) + \
        [ffbp.ReLU(), ffbp.Dense(4, 1)]
    return ffbp.Network(layers, seed=0, dtype=np.float64)


def test_batch_bounds_cover_every_row_once():
    bounds = _fitdata.batch_bounds(10, 4, _net().layers)
    assert bounds == [(0, 4), (4, 8), (8, 10)]
    assert _fitdata.batch_bounds(10, None, _net().layers) == [(0, 10)]    # batch descent
    assert _fitdata.batch_bounds(3, 50, _net().layers) == [(0, 3)]


def test_a_last_batch_too_small_for_batch_norm_is_folded_into_the_one_before():
    # Batch statistics of one sample are undefined (σ² = 0): 9 rows in batches of 4
    # would leave 1 in the last batch.
    assert _fitdata.batch_bounds(9, 4, _net(batch_norm=True).layers) == [(0, 4), (4, 9)]
    assert _fitdata.batch_bounds(9, 4, _net().layers)[-1] == (8, 9)


def test_an_epoch_gives_every_row_once_with_weights_summing_to_the_batch_mean():
    net, n = _net(), 10
    X = np.arange(n * 3, dtype=float).reshape(n, 3)
    T = np.arange(n, dtype=float).reshape(n, 1)
    feed = _fitdata.Replicated(net, X, T, None, None, 4, True, Comm())
    steps = list(feed.steps(np.random.default_rng(0), 0, 0))
    rows = np.concatenate([s.X[:, 0] / 3 for s in steps]).astype(int)
    assert sorted(rows) == list(range(n)) and list(rows) != list(range(n))  # shuffled
    for s in steps:
        np.testing.assert_allclose(s.coef.sum(), 1.0)                      # a batch mean
        np.testing.assert_array_equal(s.T[:, 0], s.X[:, 0] / 3)            # rows stay paired
    assert sum(s.share for s in steps) == pytest.approx(1.0)               # the epoch mean


def test_weighted_steps_skip_batches_with_no_weight():
    net = _net()
    X, T = np.ones((6, 3)), np.ones((6, 1))
    w = np.array([0, 0, 0, 1, 2, 3], dtype=float)
    feed = _fitdata.Replicated(net, X, T, w, None, 3, False, Comm())
    steps = list(feed.steps(np.random.default_rng(0), 0, 0))
    assert [s.index for s in steps] == [1]                  # batch 0 has no weight at all
    np.testing.assert_allclose(steps[0].coef, [1 / 6, 2 / 6, 3 / 6])
    assert steps[0].share == pytest.approx(1.0)


def test_the_validation_split_depends_on_the_seed_only():
    net, loss = _net(), ffbp.losses.MSE()
    X = np.arange(40, dtype=float).reshape(20, 2) @ np.ones((2, 3))
    T = np.arange(20, dtype=float).reshape(20, 1)
    a = _fitdata.validation(net, loss, X, T, None, 0.25, None, seed=7)
    b = _fitdata.validation(net, loss, X, T, None, 0.25, None, seed=7)
    c = _fitdata.validation(net, loss, X, T, None, 0.25, None, seed=8)
    assert len(a[3][0]) == 5 and len(a[0]) == 15                # ceil(0.25 · 20) held out
    np.testing.assert_array_equal(a[3][1], b[3][1])
    assert not np.array_equal(a[3][1], c[3][1])
    held_out = set(a[3][1][:, 0]) | set(a[1][:, 0])
    assert held_out == set(range(20))                            # nothing lost or repeated


def test_validation_split_and_data_together_are_refused():
    net, loss = _net(), ffbp.losses.MSE()
    with pytest.raises(ffbp.ConfigError, match="not both"):
        _fitdata.validation(net, loss, np.ones((4, 3)), np.ones((4, 1)), None, 0.5,
                            (np.ones((2, 3)), np.ones(2)), seed=0)
