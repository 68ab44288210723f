"""trace(): per-layer forward and backward quantities of a batch, against finite differences
and the matrix formulas recomputed here (h' = xW + b, δ⁽ˡ⁾ = (δ⁽ˡ⁺¹⁾ Wᵀ) ⊙ Φ')."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numerical_gradient, relative_error

import ffbp
from ffbp.trace import trace


def network(output=ffbp.Softmax):
    layers = [ffbp.Dense(3, 5), ffbp.Tanh(), ffbp.Dense(5, 4), ffbp.Sigmoid(), ffbp.Dense(4, 3)]
    return ffbp.Network(layers + ([output()] if output else []), seed=0, dtype=np.float64)


@pytest.mark.parametrize(("output", "loss"), [(ffbp.Softmax, "cross_entropy"),
                                              (None, "mse"), (ffbp.Softmax, "mse")])
def test_gradients_and_deltas_match_oracles(output, loss):
    net = network(output)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3))
    T = rng.integers(0, 3, 6) if loss == "cross_entropy" else rng.normal(size=(6, 3))
    before = net.flat_values.copy()
    tr = trace(net, X, T, loss)
    np.testing.assert_array_equal(net.flat_values, before)     # the network is untouched
    assert len(tr) == len(net.layers)

    def energy():
        return ffbp.losses.get(loss)(net.forward(Xv), T)

    Xv = X.copy()
    for rec, layer in zip(tr, net.layers, strict=True):
        for p in layer.parameters():
            assert relative_error(rec.grads[p.name], numerical_gradient(energy, p.value)) < 1e-7
    assert relative_error(tr[0].d_input, numerical_gradient(energy, Xv)) < 1e-7

    # Forward and backward by the matrix formulas.
    W1, b1 = net.layers[0].W.value, net.layers[0].b.value
    W2, b2 = net.layers[2].W.value, net.layers[2].b.value
    W3 = net.layers[4].W.value
    h1 = np.tanh(X @ W1 + b1)
    h2 = 1 / (1 + np.exp(-(h1 @ W2 + b2)))
    np.testing.assert_allclose(tr[0].pre_activation, X @ W1 + b1, rtol=1e-12)
    np.testing.assert_allclose(tr[1].output, h1, rtol=1e-12)
    np.testing.assert_allclose(tr[3].output, h2, rtol=1e-12)
    d3 = tr[4].delta
    d2 = (d3 @ W3.T) * h2 * (1 - h2)
    d1 = (d2 @ W2.T) * (1 - h1 ** 2)
    np.testing.assert_allclose(tr[2].delta, d2, rtol=1e-10)
    np.testing.assert_allclose(tr[0].delta, d1, rtol=1e-10)
    if loss == "cross_entropy":          # fused: y − t, mean over the batch
        Y = tr[-1].output
        np.testing.assert_allclose(tr[-1].d_input, (Y - np.eye(3)[T]) / 6, rtol=1e-12)
        assert tr[-1].fused
    assert tr.E == pytest.approx(energy(), rel=1e-12)
    text = str(tr)
    assert "Dense(3, 5)" in text and "‖∂E/∂W‖" in text and "E = " in text


def test_forward_only_and_default_loss():
    net = network()
    X = np.random.default_rng(1).normal(size=(4, 3))
    tr = trace(net, X)
    assert tr.E is None and all(r.d_output is None for r in tr)
    np.testing.assert_allclose(tr[-1].output, net.forward(X), rtol=1e-12)
    with pytest.raises(ffbp.ConfigError, match="loss"):
        trace(net, X, [0, 1, 2, 0])
    net.loss = ffbp.losses.CrossEntropy()
    assert trace(net, X, [0, 1, 2, 0]).loss == "CrossEntropy"
    assert len(trace(net, X, [0, 1, 2, 0]).to_dict()["layers"]) == 6


def test_pre_activations_survive_in_place_activations():
    """The Dense output h' keeps its negative entries in the trace even though, in a
    network, the ReLU after it works in place."""
    net = ffbp.Network([ffbp.Dense(3, 4), ffbp.ReLU(), ffbp.Dense(4, 2)], dtype=np.float64)
    x = np.array([[1.0, -2.0, 0.5], [0.3, 0.1, -1.0]])
    records = net.trace(x, np.zeros((2, 2)), "mse")
    expected = x @ net.layers[0].W.value + net.layers[0].b.value
    assert (expected < 0).any()
    np.testing.assert_array_equal(records[0].output, expected)
