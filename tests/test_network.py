"""Network structure: flat parameter buffers, dtypes, predictions, summary, copies."""

from __future__ import annotations

import numpy as np
import pytest

import ffbp


def _net(dtype=np.float32, seed=0):
    return ffbp.Network([ffbp.Dense(4, 6), ffbp.ReLU(), ffbp.Dense(6, 3), ffbp.Softmax()],
                        seed=seed, dtype=dtype)


def test_parameters_are_views_of_one_flat_buffer():
    net = _net()
    params = net.parameters()
    assert net.flat_values.size == sum(p.size for p in params) == 4 * 6 + 6 + 6 * 3 + 3
    for p in params:
        assert np.shares_memory(p.value, net.flat_values)
        assert np.shares_memory(p.grad, net.flat_grads)
    net.flat_values[:] = np.arange(net.flat_values.size)
    np.testing.assert_array_equal(net.layers[0].W.value.ravel(), np.arange(24))
    assert net.layers[0].b.value[0] == 24


def test_backward_writes_gradients_into_the_flat_buffer(rng):
    net = _net(np.float64)
    X, y = rng.normal(size=(5, 4)), rng.integers(0, 3, 5)
    net.compute_gradients(X, y, "cross_entropy")
    manual = np.concatenate([p.grad.ravel() for p in net.parameters()])
    np.testing.assert_array_equal(manual, net.flat_grads)
    assert np.abs(net.flat_grads).sum() > 0


def test_same_seed_same_weights_different_seed_different_weights():
    np.testing.assert_array_equal(_net(seed=3).flat_values, _net(seed=3).flat_values)
    assert not np.array_equal(_net(seed=3).flat_values, _net(seed=4).flat_values)


def test_float32_by_default_and_no_silent_upcasting(rng):
    net = _net()
    assert net.flat_values.dtype == np.float32
    Y = net.forward(rng.normal(size=(3, 4)))          # float64 input is cast, not upcast
    assert Y.dtype == np.float32
    dX = net.backward(np.ones((3, 3)))
    assert dX.dtype == np.float32 and net.flat_grads.dtype == np.float32


def test_float64_on_request_and_astype_copies(rng):
    net = _net()
    net64 = net.astype(np.float64)
    assert net64.flat_values.dtype == np.float64
    np.testing.assert_allclose(net64.flat_values, net.flat_values, rtol=1e-7)
    net64.flat_values[:] = 0
    assert np.abs(net.flat_values).sum() > 0          # independent buffers
    X = rng.normal(size=(2, 4))
    np.testing.assert_allclose(net.copy().forward(X), net.forward(X), rtol=1e-6)


def test_predict_gives_class_indices_after_classification_training(rng):
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    net = _net()
    net.fit(X, y, loss="cross_entropy", epochs=100, verbose=False)
    proba = net.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(net.predict(X), proba.argmax(axis=1))
    assert (net.predict(X) == y).mean() > 0.9


def test_predict_returns_raw_outputs_for_regression(rng):
    net = ffbp.Network([ffbp.Dense(2, 3), ffbp.Tanh(), ffbp.Dense(3, 2)])
    X = rng.normal(size=(4, 2))
    net.fit(X, rng.normal(size=(4, 2)), loss="mse", epochs=2, verbose=False)
    np.testing.assert_array_equal(net.predict(X), net.forward(X))
    with pytest.raises(ffbp.ConfigError, match="does not model probabilities"):
        net.predict_proba(X)


def test_binary_predictions_threshold_the_probability(rng):
    net = ffbp.Network([ffbp.Dense(2, 1), ffbp.Sigmoid()], dtype=np.float64)
    X = rng.normal(size=(20, 2))
    net.fit(X, (X[:, 0] > 0).astype(int), loss="bce", epochs=5, verbose=False)
    p = net.predict_proba(X)[:, 0]
    np.testing.assert_array_equal(net.predict(X), (p >= 0.5).astype(int))


def test_predict_in_chunks_equals_one_pass(rng, monkeypatch):
    net = _net(np.float64)
    X = rng.normal(size=(50, 4))
    whole = net.forward(X)
    monkeypatch.setattr(ffbp.network, "PREDICT_CHUNK", 7)
    np.testing.assert_allclose(net.outputs(X), whole, rtol=1e-12)


def test_summary_lists_layers_shapes_and_counts():
    text = _net().summary()
    assert "Dense(4, 6)" in text and "(n, 6)" in text and "30" in text
    assert "total: 51 parameters" in text


def test_decay_mask_covers_weights_not_biases():
    mask = _net().decay_mask()
    assert mask.sum() == 4 * 6 + 6 * 3 and mask.size == 51
    assert not mask[24:30].any()                      # first layer's biases


def test_zero_grad(rng):
    net = _net()
    net.compute_gradients(rng.normal(size=(3, 4)), [0, 1, 2], "cross_entropy")
    net.zero_grad()
    assert not net.flat_grads.any()


def test_initialisers_have_the_documented_scale():
    rng = np.random.default_rng(0)
    shape = (400, 300)
    assert ffbp.init.small_normal()(rng, shape, 400, 300).std() == pytest.approx(0.01, rel=0.02)
    he = ffbp.init.he_normal(rng, shape, 400, 300)
    assert he.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    g = ffbp.init.glorot_uniform(rng, shape, 400, 300)
    assert np.abs(g).max() <= np.sqrt(6 / 700) and g.std() == pytest.approx(
        np.sqrt(2 / 700), rel=0.02)
    assert (ffbp.init.constant(0.25)(rng, (2, 2), 2, 2) == 0.25).all()


def test_in_place_activations_never_touch_caller_arrays_and_change_nothing(rng):
    """Activations after a Dense layer work in place on its fresh output, and on the fresh
    gradient of the Dense layer after them; results equal the out-of-place path exactly,
    and arrays a caller passes in (X, dY) are never modified."""
    layers = lambda: [ffbp.Dense(4, 6), ffbp.ReLU(), ffbp.Dense(6, 5), ffbp.Tanh(),  # noqa: E731
                      ffbp.Dense(5, 3), ffbp.ReLU()]
    net = ffbp.Network(layers(), dtype=np.float64)
    X, dY = rng.normal(size=(7, 4)), rng.normal(size=(7, 3))
    X0, dY0 = X.copy(), dY.copy()

    # Where the step works in place: the arguments it hands each activation.
    seen = []
    for n in (1, 3, 5):
        layer = net.layers[n]
        forward, backward = layer.forward, layer.backward

        def spy_forward(x, training=False, in_place=False, n=n, f=forward):
            seen.append(("forward", n, in_place))
            return f(x, training, in_place=in_place)

        def spy_backward(d, input_grad=True, in_place=False, n=n, b=backward):
            seen.append(("backward", n, in_place))
            return b(d, input_grad, in_place=in_place)

        layer.forward, layer.backward = spy_forward, spy_backward
    Y = net.forward(X)
    dX = net.backward(dY)
    assert ("forward", 1, True) in seen and ("forward", 5, True) in seen
    assert ("backward", 1, True) in seen and ("backward", 3, True) in seen
    assert ("backward", 5, False) in seen          # the caller's dY is never overwritten

    # The same numbers as layers called one by one, out of place.
    a, slow = X, layers()
    reference = ffbp.Network(slow, dtype=np.float64)
    reference.flat_values[...] = net.flat_values
    for layer in reference.layers:
        a = layer.forward(a)
    d = dY
    for layer in reversed(reference.layers):
        d = layer.backward(d)
    np.testing.assert_array_equal(Y, a)
    np.testing.assert_array_equal(dX, d)
    np.testing.assert_array_equal(net.flat_grads, reference.flat_grads)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(dY, dY0)
    standalone = ffbp.ReLU()
    x = rng.normal(size=(3, 3))
    x0 = x.copy()
    standalone.forward(x)
    np.testing.assert_array_equal(x, x0)


def test_the_same_layer_object_twice_is_refused():
    relu = ffbp.ReLU()
    with pytest.raises(ffbp.ConfigError, match="layer 3 is the same object as layer 1"):
        ffbp.Network([ffbp.Dense(2, 2), relu, ffbp.Dense(2, 2), relu])
