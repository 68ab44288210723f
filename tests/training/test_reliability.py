"""Training that goes wrong: divergence keeps finite weights, Ctrl-C keeps a resumable
checkpoint, copies of a network stay wired to their flat buffers."""

from __future__ import annotations

import copy
import os
import pickle
import signal

import numpy as np
import pytest
from conftest import skip_unless

import ffbp


def _data(rng, n=64):
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] - X[:, 1] > 0).astype(int)


def _net(seed=0):
    return ffbp.Network([ffbp.Dense(3, 6), ffbp.Tanh(), ffbp.Dense(6, 2), ffbp.Softmax()],
                        seed=seed, dtype=np.float64)


def _exploding(rng):
    X = rng.normal(size=(32, 3)) * 1e3
    return ffbp.Network([ffbp.Dense(3, 8), ffbp.ReLU(), ffbp.Dense(8, 1)], seed=0), X, \
        rng.normal(size=(32, 1)) * 1e3


def test_divergence_raises_and_keeps_the_last_finite_weights(rng):
    net, X, y = _exploding(rng)
    seen = []
    keep = ffbp.LambdaCallback(on_batch_end=lambda b, logs: seen.append(
        net.flat_values.copy()))
    with pytest.raises(ffbp.DivergenceError, match=r"epoch \d+, batch \d+.*learning rate"):
        net.fit(X, y, loss="mse", optimizer=ffbp.optim.gd(1.0), epochs=100, batch_size=8,
                callbacks=[keep], verbose=False)
    assert np.isfinite(net.flat_values).all()
    np.testing.assert_array_equal(net.flat_values, seen[-1])   # the last applied step


def test_divergence_can_stop_with_a_warning(rng):
    net, X, y = _exploding(rng)
    with pytest.warns(RuntimeWarning, match="diverged"):
        history = net.fit(X, y, loss="mse", optimizer=ffbp.optim.gd(1.0), epochs=100,
                          batch_size=8, on_nan="stop", verbose=False)
    assert history.stop_reason.startswith("diverged") and np.isfinite(net.flat_values).all()


def test_divergence_names_the_parameter(rng):
    net = _net()
    X, y = _data(rng)
    poison = ffbp.LambdaCallback(on_batch_end=lambda b, logs: net.layers[2].W.value.__setitem__(
        (0, 0), 1e200))
    with pytest.raises(ffbp.DivergenceError, match=r"update of layer[02]\.[Wb] became NaN"):
        net.fit(X, y, loss="cross_entropy", epochs=3, batch_size=16, callbacks=[poison],
                verbose=False)
    sizes = [p.size for p in net.parameters()]           # 18, 6, 12, 2
    assert [net.locate(i) for i in (0, 17, 18, 24, 37)] == \
        ["layer0.W", "layer0.W", "layer0.b", "layer2.W", "layer2.b"] and sum(sizes) == 38


def test_unknown_on_nan_policy(rng):
    X, y = _data(rng)
    with pytest.raises(ffbp.ConfigError, match="on_nan"):
        _net().fit(X, y, loss="cross_entropy", on_nan="ignore", verbose=False)


def test_ctrl_c_writes_a_checkpoint_and_resuming_finishes_the_same_run(rng, tmp_path):
    """SIGINT in the middle of an epoch: the batch finishes, a checkpoint is written,
    TrainingInterrupted is raised; resuming gives the uninterrupted run's weights."""
    X, y = _data(rng, 100)
    args = dict(loss="cross_entropy", epochs=4, batch_size=16, seed=5, verbose=False)
    full = _net()
    full.fit(X, y, optimizer=ffbp.optim.adam(0.01), **args)

    path = tmp_path / "run.ckpt"
    calls = []

    def press_ctrl_c(batch, logs):
        calls.append(batch)
        if len(calls) == 10:                          # epoch 2, batch 4
            os.kill(os.getpid(), signal.SIGINT)

    interrupted = _net()
    with pytest.raises(ffbp.TrainingInterrupted, match="resume=") as info:
        interrupted.fit(X, y, optimizer=ffbp.optim.adam(0.01), checkpoint=path,
                        callbacks=[ffbp.LambdaCallback(on_batch_end=press_ctrl_c)], **args)
    assert info.value.checkpoint == path and path.exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # handler restored
    resumed = _net(seed=42)
    history = resumed.fit(X, y, optimizer=ffbp.optim.adam(0.01), resume=path, **args)
    np.testing.assert_array_equal(resumed.flat_values, full.flat_values)
    assert history.epochs == 4


def test_ctrl_c_without_a_checkpoint_says_how_to_get_one(rng):
    X, y = _data(rng)
    ctrl_c = ffbp.LambdaCallback(on_batch_end=lambda b, logs: os.kill(os.getpid(),
                                                                         signal.SIGINT))
    with pytest.raises(ffbp.TrainingInterrupted, match="checkpoint=PATH"):
        _net().fit(X, y, loss="cross_entropy", epochs=3, callbacks=[ctrl_c], verbose=False)


@pytest.mark.parametrize("clone", [lambda n: pickle.loads(pickle.dumps(n)), copy.deepcopy])
def test_copies_keep_training_their_own_weights(clone, rng):
    X, y = _data(rng)
    net = _net()
    net.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.adam(0.01), epochs=2,
            verbose=False)
    twin = clone(net)
    np.testing.assert_array_equal(twin.predict_proba(X), net.predict_proba(X))
    before = twin.predict_proba(X)
    twin.fit(X, y, loss="cross_entropy", epochs=3, verbose=False)
    assert np.abs(twin.predict_proba(X) - before).max() > 1e-4      # training reached it
    for p in twin.parameters():
        assert np.shares_memory(p.value, twin.flat_values)
        assert not np.shares_memory(p.value, net.flat_values)


def test_early_stopping_restores_batch_norm_statistics_too(rng):
    X, y = _data(rng, 60)
    Xv, yv = _data(rng, 60)
    stats = []
    net = ffbp.Network([ffbp.Dense(3, 6), ffbp.BatchNorm(6), ffbp.Tanh(), ffbp.Dense(6, 2),
                        ffbp.Softmax()], dtype=np.float64)
    record = ffbp.LambdaCallback(on_epoch_end=lambda e, logs: stats.append(
        net.layers[1].running_mean.copy()))
    history = net.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.gd(1.0), epochs=300,
                      batch_size=8, validation_data=(Xv, yv), early_stopping=True,
                      patience=3, callbacks=[record], seed=0, verbose=False)
    assert history.best_epoch is not None and history.best_epoch < history.epochs - 1
    np.testing.assert_array_equal(net.layers[1].running_mean, stats[history.best_epoch])


@pytest.mark.parametrize("compiled", [True, False])
def test_the_sanity_check_of_updates(compiled, monkeypatch):
    """An update is refused when any entry is NaN, ±inf or at least √(largest float)."""
    import ffbp.ops as kernels

    if compiled and not kernels.available():
        skip_unless(False, "the numba kernels are unavailable (numba is not installed, or "
                           "FFBP_NUMBA=0): only the NumPy check is tested; numba is a "
                           "dependency of ffbp, so `make test` and CI test both")
    monkeypatch.setattr(kernels, "ENABLED", compiled)
    for dtype in (np.float32, np.float64):
        limit = np.sqrt(np.finfo(dtype).max)
        a = np.linspace(-1, 1, 1001).astype(dtype)
        a[7] = dtype(limit) * dtype(0.99)             # large but still a step
        assert kernels.sane(a)
        for bad in (np.nan, np.inf, -np.inf, limit * 2, -limit * 2):
            b = a.copy()
            b[500] = bad
            assert not kernels.sane(b), (dtype, bad)
