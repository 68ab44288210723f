"""explain(): every factor of ∂E/∂W_ij against an independent oracle.

Oracles: central finite differences of the loss (float64, computed here through the public
forward pass), back-propagation of a float64 copy, and the tutorials' formulas worked out
below with explicit loops (Φ' from the activation's formula, δ_j = Φ'_j Σ_k w_jk δ_k, the
paths of tutorial 004's Equation A enumerated by hand).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import numerical_gradient

import ffbp
from ffbp.explain import explain

HIDDEN = {"sigmoid": ffbp.Sigmoid, "tanh": ffbp.Tanh, "relu": ffbp.ReLU, "elu": ffbp.ELU,
          "leaky_relu": lambda: ffbp.LeakyReLU(0.1), "identity": ffbp.Identity}
# name: (output layer or None, loss, n_outputs, target)
OUTPUTS = {
    "linear+squared_error": (None, "squared_error", 2, np.array([0.3, -0.7])),
    "linear+huber": (None, ffbp.losses.Huber(0.5), 2, np.array([0.3, -0.7])),
    "tanh+mse": (ffbp.Tanh, "mse", 2, np.array([0.3, -0.7])),
    "softmax+cross_entropy": (ffbp.Softmax, "cross_entropy", 3, 2),
    "softmax+mse": (ffbp.Softmax, "mse", 3, np.array([0.0, 1.0, 0.0])),
    "sigmoid+bce": (ffbp.Sigmoid, "bce", 2, np.array([1.0, 0.0])),
    "logits+cross_entropy": (None, "cross_entropy_with_logits", 3, 1),
    "log_softmax+nll": (ffbp.LogSoftmax, "nll", 3, 0),
}


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def build(depth, hidden, output, n_out, seed=0):
    layers, width = [], 3
    for k in range(depth - 1):
        layers += [ffbp.Dense(width, 4 - k % 2), HIDDEN[hidden]()]
        width = 4 - k % 2
    layers.append(ffbp.Dense(width, n_out))
    if output is not None:
        layers.append(output())
    net = ffbp.Network(layers, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed)
    for p in net.parameters():           # non-zero biases, so bias gradients are exercised
        p.value[...] += rng.normal(0, 0.3, p.shape)
    return net


def oracle(net, loss, x, t):
    """Per Dense layer: (finite-difference dE/dW, dE/db) on a float64 copy, and the
    back-propagated gradients of that copy, both in inference mode."""
    net64 = net.astype(np.float64)
    X = np.asarray(x, float)[None, :]
    T = np.atleast_1d(np.asarray(t)) if np.ndim(t) == 0 else np.asarray(t)[None, :]

    def energy():
        return ffbp.losses.get(loss)(net64.forward(X), T)

    dense = [layer for layer in net64.layers if isinstance(layer, ffbp.Dense)]
    numeric = [(numerical_gradient(energy, d.W.value), numerical_gradient(energy, d.b.value))
               for d in dense]
    net64.compute_gradients(X, T, loss, training=False)
    backprop = [(d.W.grad.copy(), d.b.grad.copy()) for d in dense]
    return numeric, backprop


# Depth 1 has no hidden layer, so its activation does not matter.
GRID = [(1, "identity")] + [(d, h) for d in (2, 3, 4) for h in HIDDEN]


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize(("depth", "hidden"), GRID)
def test_product_of_factors_equals_backprop_and_finite_differences(depth, hidden, output):
    out_layer, loss, n_out, t = OUTPUTS[output]
    net = build(depth, hidden, out_layer, n_out)
    x = np.array([0.4, -0.8, 1.1])
    numeric, backprop = oracle(net, loss, x, t)
    rng = np.random.default_rng(depth)
    for k in range(1, depth + 1):
        W_num, b_num = numeric[k - 1]
        W_bp, b_bp = backprop[k - 1]
        for _ in range(3):
            i, j = rng.integers(W_num.shape[0]), rng.integers(W_num.shape[1])
            e = explain(net, loss, x, t, layer=k, i=i, j=j, lr=0.1)
            assert e.gradient == pytest.approx(W_bp[i, j], rel=1e-10, abs=1e-14)
            assert e.gradient == pytest.approx(W_num[i, j], rel=1e-6, abs=1e-8)
            assert e.numeric == pytest.approx(W_num[i, j], rel=1e-6, abs=1e-8)
            assert e.update == pytest.approx(-0.1 * W_bp[i, j], rel=1e-10, abs=1e-14)
            if e.paths is not None:         # Equation A: the paths add up to the gradient
                assert e.path_sum == pytest.approx(W_bp[i, j], rel=1e-9, abs=1e-14)
        eb = explain(net, loss, x, t, layer=k, j=j, bias=True)
        assert eb.gradient == pytest.approx(b_bp[j], rel=1e-10, abs=1e-14)
        assert eb.gradient == pytest.approx(b_num[j], rel=1e-6, abs=1e-8)


def test_every_factor_by_hand_with_loops():
    """2-3-2-1 network: sigmoid, tanh, linear output, E = ½(d − y)². Every δ by loops."""
    net = ffbp.Network([ffbp.Dense(2, 3), ffbp.Sigmoid(), ffbp.Dense(3, 2), ffbp.Tanh(),
                        ffbp.Dense(2, 1)], seed=3, dtype=np.float64)
    W1, b1 = net.layers[0].W.value, net.layers[0].b.value
    W2, b2 = net.layers[2].W.value, net.layers[2].b.value
    W3, b3 = net.layers[4].W.value, net.layers[4].b.value
    b1 += [0.1, -0.2, 0.3]
    x, d = [0.5, -1.5], 0.25
    h1p = [sum(x[i] * W1[i, j] for i in range(2)) + b1[j] for j in range(3)]
    h1 = [1 / (1 + np.exp(-v)) for v in h1p]
    h2p = [sum(h1[i] * W2[i, j] for i in range(3)) + b2[j] for j in range(2)]
    h2 = [np.tanh(v) for v in h2p]
    y = sum(h2[i] * W3[i, 0] for i in range(2)) + b3[0]
    d3 = [(y - d) * 1.0]                                     # ∂E/∂y · Φ' (linear: 1)
    s2 = [sum(W3[j, k] * d3[k] for k in range(1)) for j in range(2)]
    d2 = [(1 - h2[j] ** 2) * s2[j] for j in range(2)]        # tanh' = 1 − tanh²
    s1 = [sum(W2[j, k] * d2[k] for k in range(2)) for j in range(3)]
    d1 = [h1[j] * (1 - h1[j]) * s1[j] for j in range(3)]     # σ' = σ(1 − σ)

    e = explain(net, "squared_error", x, d, layer=1, i=1, j=2, lr=0.5)
    assert e.E == pytest.approx(0.5 * (d - y) ** 2, rel=1e-12)
    first, second, third = e.stages
    np.testing.assert_allclose(first.x, x, rtol=1e-12)
    np.testing.assert_allclose(first.h_pre, h1p, rtol=1e-12)
    np.testing.assert_allclose(first.phi_prime, [h * (1 - h) for h in h1], rtol=1e-12)
    np.testing.assert_allclose(first.grad_output, s1, rtol=1e-12)
    np.testing.assert_allclose(first.delta, d1, rtol=1e-12)
    np.testing.assert_allclose(second.phi_prime, [1 - h ** 2 for h in h2], rtol=1e-12)
    np.testing.assert_allclose(second.delta, d2, rtol=1e-12)
    np.testing.assert_allclose(third.delta, d3, rtol=1e-12)
    assert e.x_i == x[1] and e.delta_j == pytest.approx(d1[2], rel=1e-12)
    assert e.gradient == pytest.approx(d1[2] * x[1], rel=1e-12)
    assert e.update == pytest.approx(-0.5 * d1[2] * x[1], rel=1e-12)
    # Equation A: one path per unit k of layer 2, each x_i σ'_j W²_jk tanh'_k W³_k0 δ³_0.
    by_hand = {k: x[1] * h1[2] * (1 - h1[2]) * W2[2, k] * (1 - h2[k] ** 2) * W3[k, 0] * d3[0]
               for k in range(2)}
    assert e.path_count == 2
    for path in e.paths:
        assert path.units[0] == 2
        assert path.product == pytest.approx(by_hand[path.units[1]], rel=1e-12)
    assert e.path_sum == pytest.approx(sum(by_hand.values()), rel=1e-12)


def test_tutorial_004_updates():
    """ΔW²_i = α(d − y)h_i and ΔW¹_ij = α(d − y)W²_j Φ'_j x_i (no biases, one output)."""
    l1, l2 = ffbp.Dense(2, 3, bias=False), ffbp.Dense(3, 1, bias=False)
    net = ffbp.Network([l1, ffbp.Sigmoid(), l2], dtype=np.float64)
    l1.W.value[...] = [[0.1, -0.2, 0.3], [0.4, 0.05, -0.6]]
    l2.W.value[:, 0] = [0.7, -0.3, 0.2]
    x, d, alpha = np.array([0.5, -1.0]), 0.7, 0.5
    h = sigmoid(x @ l1.W.value)
    y = h @ l2.W.value[:, 0]
    for i in range(3):
        e = explain(net, "squared_error", x, d, layer=2, i=i, j=0, lr=alpha)
        assert e.update == pytest.approx(alpha * (d - y) * h[i], rel=1e-12)
        assert e.path_count == 1
    for i in range(2):
        for j in range(3):
            e = explain(net, "squared_error", x, d, layer=1, i=i, j=j, lr=alpha)
            expected = alpha * (d - y) * l2.W.value[j, 0] * h[j] * (1 - h[j]) * x[i]
            assert e.update == pytest.approx(expected, rel=1e-12)


def test_fused_and_jacobian_output_deltas():
    net = build(2, "tanh", ffbp.Softmax, 3, seed=4)
    x = np.array([0.2, 0.1, -0.5])
    z = net.astype(np.float64).forward(x[None])[0]           # softmax output y
    t = np.array([0.0, 0.0, 1.0])
    e = explain(net, "cross_entropy", x, 2, layer=2, i=0, j=0)
    assert e.fused and "y_k − t_k" in e.output_rule
    np.testing.assert_allclose(e.stages[-1].delta, z - t, rtol=1e-12)
    # Softmax + MSE: δ = Jᵀ ∂E/∂y with J_kj = y_k(δ_kj − y_j) and ∂E/∂y = 2(y − t)/3.
    J = np.array([[z[k] * ((k == m) - z[m]) for m in range(3)] for k in range(3)])
    e = explain(net, "mse", x, t, layer=2, i=0, j=0)
    assert not e.fused and not e.stages[-1].diagonal
    np.testing.assert_allclose(e.stages[-1].delta, J.T @ (2 * (z - t) / 3), rtol=1e-12)
    # Sigmoid + BCE with 2 outputs: δ = (y − t)/2.
    net = build(2, "relu", ffbp.Sigmoid, 2, seed=5)
    y = net.astype(np.float64).forward(x[None])[0]
    e = explain(net, "bce", x, [1.0, 0.0], layer=-1, i=1, j=1)
    np.testing.assert_allclose(e.stages[-1].delta, (y - [1.0, 0.0]) / 2, rtol=1e-12)


def test_batchnorm_and_dropout_in_inference_mode():
    net = ffbp.Network([ffbp.Dense(3, 4), ffbp.BatchNorm(4), ffbp.Tanh(), ffbp.Dropout(0.5),
                        ffbp.Dense(4, 2)], seed=0, dtype=np.float64)
    bn = net.layers[1]
    bn.running_mean[...] = [0.1, -0.2, 0.3, 0.0]
    bn.running_var[...] = [0.5, 2.0, 1.5, 1.0]
    bn.gamma.value[...] = [1.2, 0.8, -0.5, 1.0]
    x, t = np.array([0.3, -0.4, 0.9]), np.array([0.5, -0.5])
    numeric, _ = oracle(net, "mse", x, t)
    for i, j in [(0, 0), (2, 3), (1, 1)]:
        e = explain(net, "mse", x, t, layer=1, i=i, j=j)
        assert e.gradient == pytest.approx(numeric[0][0][i, j], rel=1e-6, abs=1e-9)


def test_network_is_not_changed_and_float32_is_explained_in_float64():
    net = build(3, "sigmoid", ffbp.Softmax, 3, seed=1).astype(np.float32)
    before = net.flat_values.copy()
    e = explain(net, "cross_entropy", [0.1, 0.2, 0.3], 1, layer=1, i=0, j=1, lr=1.0)
    np.testing.assert_array_equal(net.flat_values, before)
    assert net.dtype == np.float32 and e.stages[0].delta.dtype == np.float64
    assert abs(e.gradient - e.numeric) < 1e-8


def test_layer_counting_both_ways_and_errors():
    net = build(3, "relu", None, 2)                  # Dense layers at indices 0, 2, 4
    x, t = [0.1, 0.2, 0.3], [0.0, 1.0]
    a = explain(net, "mse", x, t, layer=2, i=1, j=0)
    b = explain(net, "mse", x, t, layer="layer2", i=1, j=0)
    assert a.parameter == b.parameter == "layer2.W[1, 0]" and a.symbol == "W²[1, 0]"
    assert a.gradient == b.gradient
    assert explain(net, "mse", x, t, layer=-1).parameter.startswith("layer4.W")
    assert explain(net, "mse", x, t, layer="layer4.b", j=1).parameter == "layer4.b[1]"
    with pytest.raises(ffbp.ConfigError, match="from 1"):
        explain(net, "mse", x, t, layer=0)
    with pytest.raises(ffbp.ConfigError, match="not a Dense layer"):
        explain(net, "mse", x, t, layer="layer1")
    with pytest.raises(ffbp.ConfigError, match="3 Dense"):
        explain(net, "mse", x, t, layer=4)
    with pytest.raises(ffbp.ShapeError):
        explain(net, "mse", x, t, layer=1, i=3, j=0)
    with pytest.raises(ffbp.ShapeError, match="one sample"):
        explain(net, "mse", [x, x], [t, t])


def test_many_paths_fall_back_to_the_recursion():
    net = ffbp.Network([ffbp.Dense(3, 20), ffbp.Tanh(), ffbp.Dense(20, 20), ffbp.Tanh(),
                        ffbp.Dense(20, 3)], seed=0)
    e = explain(net, "mse", [0.1, 0.2, 0.3], [0.0, 1.0, 0.0], layer=1, i=0, j=5)
    assert e.path_count == 20 * 3 and e.paths is not None
    e = explain(net, "mse", [0.1, 0.2, 0.3], [0.0, 1.0, 0.0], layer=1, i=0, j=5, max_paths=50)
    assert e.paths is None and "60 paths" in str(e)
    assert e.gradient == pytest.approx(e.numeric, rel=1e-6, abs=1e-9)


def test_renderings():
    net = build(3, "sigmoid", ffbp.Softmax, 3, seed=2)
    e = explain(net, "cross_entropy", [0.1, -0.2, 0.3], 0, layer=1, i=2, j=1, lr=0.1)
    d = e.to_dict()
    json.dumps(d)                                   # JSON-able
    assert d["gradient"] == e.gradient and len(d["stages"]) == 3
    assert len(d["paths"]) == e.path_count == 3 * 3        # widths 3-4-3-3: 3 · 3 paths
    text = str(e)
    for piece in ("W¹[2, 1]", "Equation A", "finite differences", "y_k − t_k", "α = 0.1"):
        assert piece in text
    md = e.to_markdown()
    assert "| j |" in md and "δ_j" in md
    tex = e.to_latex()
    assert r"\begin{align*}" in tex and r"\frac{\partial E}{\partial W^{1}_{2,1}}" in tex
