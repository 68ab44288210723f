"""The fit loop: batch / mini-batch / stochastic gradient descent, stopping, determinism."""

from __future__ import annotations

import numpy as np
import pytest

import ffbp


def _data(rng, n=64):
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3


def _net():
    return ffbp.Network([ffbp.Dense(3, 1)], dtype=np.float64)


def test_batch_gradient_descent_is_one_step_per_epoch_on_the_full_gradient(rng):
    X, y = _data(rng)
    net, ref = _net(), _net()
    net.fit(X, y, loss="mse", optimizer=ffbp.optim.gd(0.1), epochs=3, batch_size=None,
            verbose=False)
    for _ in range(3):                               # the same steps by hand
        ref.compute_gradients(X, y, "mse")
        ref.flat_values -= 0.1 * ref.flat_grads
    np.testing.assert_allclose(net.flat_values, ref.flat_values, rtol=1e-12)


def test_stochastic_gradient_descent_is_one_step_per_sample(rng):
    X, y = _data(rng, n=5)
    net, ref = _net(), _net()
    net.fit(X, y, loss="mse", optimizer=ffbp.optim.gd(0.05), epochs=2, batch_size=1,
            shuffle=False, verbose=False)
    for _ in range(2):
        for i in range(5):
            ref.compute_gradients(X[i:i + 1], y[i:i + 1], "mse")
            ref.flat_values -= 0.05 * ref.flat_grads
    np.testing.assert_allclose(net.flat_values, ref.flat_values, rtol=1e-12)


def test_mini_batches_with_a_short_last_batch(rng):
    X, y = _data(rng, n=10)
    net, ref = _net(), _net()
    net.fit(X, y, loss="mse", optimizer=ffbp.optim.gd(0.1), epochs=1, batch_size=4,
            shuffle=False, verbose=False)
    for s in (slice(0, 4), slice(4, 8), slice(8, 10)):
        ref.compute_gradients(X[s], y[s], "mse")
        ref.flat_values -= 0.1 * ref.flat_grads
    np.testing.assert_allclose(net.flat_values, ref.flat_values, rtol=1e-12)


@pytest.mark.parametrize("batch_size", [None, 8, 1])
def test_each_variant_fits_a_linear_function(rng, batch_size):
    X, y = _data(rng)
    net = _net()
    lr = 0.02 if batch_size == 1 else 0.2
    history = net.fit(X, y, loss="mse", optimizer=ffbp.optim.gd(lr), epochs=200,
                      batch_size=batch_size, seed=0, verbose=False)
    np.testing.assert_allclose(net.layers[0].W.value[:, 0], [1.0, -2.0, 0.5], atol=1e-3)
    assert history.loss[-1] < 1e-6 < history.loss[0]


def test_training_is_deterministic_given_the_seeds(rng):
    X, y = _data(rng)
    a, b = _net(), _net()
    for net in (a, b):
        net.fit(X, y, loss="mse", epochs=3, batch_size=7, seed=11, verbose=False)
    np.testing.assert_array_equal(a.flat_values, b.flat_values)
    c = _net()
    c.fit(X, y, loss="mse", epochs=3, batch_size=7, seed=12, verbose=False)
    assert not np.array_equal(a.flat_values, c.flat_values)


def test_tol_stops_when_the_loss_stops_improving(rng):
    X, y = _data(rng)
    history = _net().fit(X, y, loss="mse", epochs=1000, batch_size=None, tol=1e-4,
                         n_iter_no_change=3, verbose=False)
    assert history.epochs < 1000 and "tol" in history.stop_reason
    last = history.loss[-4:]
    assert max(last[0] - v for v in last[1:]) < 1e-4 * 3


def test_history_records_every_epoch(rng):
    X, y = _data(rng)
    history = _net().fit(X, y, loss="mse", epochs=7, verbose=False)
    assert history.epochs == 7 and len(history.as_dict()["loss"]) == 7
    assert history.stop_reason == "reached epochs=7"


def test_sample_weights_equal_repeated_samples(rng):
    """Weight 2 on a sample = that sample twice (batch gradient descent)."""
    X, y = _data(rng, n=6)
    w = np.array([1, 2, 1, 1, 2, 1.0])
    a, b = _net(), _net()
    a.fit(X, y, loss="mse", epochs=5, batch_size=None, sample_weight=w, verbose=False)
    rep = np.repeat(np.arange(6), w.astype(int))
    b.fit(X[rep], y[rep], loss="mse", epochs=5, batch_size=None, verbose=False)
    np.testing.assert_allclose(a.flat_values, b.flat_values, rtol=1e-12)


def test_divergence_raises_a_clear_error(rng):
    X, y = _data(rng)
    with pytest.raises(ffbp.DivergenceError, match="epoch .* batch"):
        _net().fit(X * 1e3, y, loss="mse", optimizer=ffbp.optim.gd(10.0), epochs=50,
                   verbose=False)


def test_a_second_fit_with_the_same_optimizer_continues(rng):
    """Same optimiser object -> its state (here the step count of a schedule) carries on."""
    X, y = _data(rng)
    seen = []
    opt = ffbp.optim.gd(lambda step: seen.append(step) or 0.01)
    net = _net()
    net.fit(X, y, loss="mse", optimizer=opt, epochs=1, batch_size=None, verbose=False)
    net.fit(X, y, loss="mse", optimizer=opt, epochs=1, batch_size=None, verbose=False)
    assert seen == [0, 1]
