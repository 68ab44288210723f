"""The tutorials' own derivations, worked by hand in the tests, against ffbp."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import relative_error

import ffbp


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_tutorial_004_one_hidden_layer_updates_by_hand():
    """Tutorial 004: y = Σᵢ hᵢ W²ᵢ, h = Φ(x W¹), E = ½(d − y)²; then
    ΔW²ᵢ = α(d − y)hᵢ and ΔW¹ᵢⱼ = α(d − y)W²ⱼ Φ'ⱼ xᵢ. Computed element by element."""
    x = np.array([0.5, -1.0])
    d = 0.7
    W1 = np.array([[0.1, -0.2, 0.3], [0.4, 0.05, -0.6]])
    W2 = np.array([0.7, -0.3, 0.2])
    alpha = 0.5

    h = [_sigmoid(sum(x[i] * W1[i, j] for i in range(2))) for j in range(3)]
    y = sum(h[j] * W2[j] for j in range(3))
    dW2 = [alpha * (d - y) * h[j] for j in range(3)]
    dW1 = [[alpha * (d - y) * W2[j] * h[j] * (1 - h[j]) * x[i] for j in range(3)]
           for i in range(2)]

    l1, l2 = ffbp.Dense(2, 3, bias=False), ffbp.Dense(3, 1, bias=False)
    net = ffbp.Network([l1, ffbp.Sigmoid(), l2], dtype=np.float64)
    l1.W.value[...] = W1
    l2.W.value[:, 0] = W2
    net.fit(x[None, :], [d], loss="squared_error", optimizer=ffbp.optim.gd(alpha),
            epochs=1, batch_size=None, verbose=False)
    np.testing.assert_allclose(l2.W.value[:, 0], W2 + np.array(dW2), rtol=1e-12)
    np.testing.assert_allclose(l1.W.value, W1 + np.array(dW1), rtol=1e-12)


def test_tutorial_001_softmax_cross_entropy_chain_by_hand():
    """Tutorial 001: input → w → A1 (sigmoid) → h → v → A2 (softmax) → Y, L = cross-entropy.
    ∂L/∂z = Y − t, ∂L/∂v = h (Y − t), ∂L/∂(bias of output) = Y − t,
    ∂L/∂w = Σₖ vₖ (Yₖ − tₖ) · σ'(·) · x."""
    x, w, b1 = 0.8, 0.6, -0.1
    v, b2 = np.array([0.5, -0.4, 0.9]), np.array([0.0, 0.1, -0.2])
    t = np.array([0.0, 1.0, 0.0])
    h = _sigmoid(x * w + b1)
    z = h * v + b2
    Y = np.exp(z) / np.exp(z).sum()
    dz = Y - t
    expected_v, expected_b2 = h * dz, dz
    expected_w = (v @ dz) * h * (1 - h) * x
    expected_b1 = (v @ dz) * h * (1 - h)

    first, second = ffbp.Dense(1, 1), ffbp.Dense(1, 3)
    net = ffbp.Network([first, ffbp.Sigmoid(), second, ffbp.Softmax()], dtype=np.float64)
    first.W.value[...] = w
    first.b.value[...] = b1
    second.W.value[0] = v
    second.b.value[...] = b2
    loss = net.compute_gradients([[x]], [1], "cross_entropy")
    assert loss == pytest.approx(-np.log(Y[1]), rel=1e-12)
    np.testing.assert_allclose(second.W.grad[0], expected_v, rtol=1e-12)
    np.testing.assert_allclose(second.b.grad, expected_b2, rtol=1e-12)
    assert first.W.grad[0, 0] == pytest.approx(expected_w, rel=1e-12)
    assert first.b.grad[0] == pytest.approx(expected_b1, rel=1e-12)


def test_softmax_jacobian_matches_the_formula():
    """∂yₖ/∂zⱼ = yₖ(δₖⱼ − yⱼ), row by row, and backward = dy · J."""
    z = np.array([[0.2, -1.0, 0.5, 2.0]])
    s = ffbp.Softmax()
    y = s.forward(z)[0]
    J = np.array([[y[k] * ((k == j) - y[j]) for j in range(4)] for k in range(4)])
    np.testing.assert_allclose(s.jacobian(y), J, rtol=1e-12)
    dy = np.array([[0.3, -0.2, 0.1, 0.4]])
    np.testing.assert_allclose(s.backward(dy)[0], dy[0] @ J, rtol=1e-12)


def test_delta_rule_of_a_single_sigmoid_neuron():
    """Tutorial 002/003: one sigmoid neuron is logistic regression; with E = ½(d − y)² the
    delta rule is Δwᵢ = η δ xᵢ with δ = (d − y) σ'(·) = (d − y) y (1 − y)."""
    X = np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 0.2]])
    d = np.array([1.0, 0.0])
    w, b, eta = np.array([0.1, -0.2, 0.05]), 0.3, 0.8
    y = _sigmoid(X @ w + b)
    delta = (d - y) * y * (1 - y)
    # batch mean of the per-sample updates (fit averages the batch loss)
    expected_w = w + eta * (delta[:, None] * X).mean(axis=0)
    expected_b = b + eta * delta.mean()

    neuron = ffbp.Dense(3, 1)
    net = ffbp.Network([neuron, ffbp.Sigmoid()], dtype=np.float64)
    neuron.W.value[:, 0], neuron.b.value[0] = w, b
    net.fit(X, d, loss="squared_error", optimizer=ffbp.optim.gd(eta), epochs=1,
            batch_size=None, verbose=False)
    np.testing.assert_allclose(neuron.W.value[:, 0], expected_w, rtol=1e-12)
    assert neuron.b.value[0] == pytest.approx(expected_b, rel=1e-12)


def test_batch_gradient_is_the_mean_of_per_sample_gradients(rng):
    """Tutorial 002's batch form: ∂E/∂W of the batch = (1/m) Σ per-sample gradients."""
    net = ffbp.Network([ffbp.Dense(3, 4), ffbp.Tanh(), ffbp.Dense(4, 2)], dtype=np.float64)
    X, T = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    per_sample = []
    for i in range(5):
        net.compute_gradients(X[i:i + 1], T[i:i + 1], "squared_error")
        per_sample.append(net.flat_grads.copy())
    net.compute_gradients(X, T, "squared_error")
    assert relative_error(net.flat_grads, np.mean(per_sample, axis=0)) < 1e-12


def test_equal_initial_weights_keep_hidden_units_identical(rng):
    """Tutorial 002: with all weights equal, every hidden unit gets the same gradient and the
    units stay copies of each other however long we train; random init breaks that."""
    X, T = rng.normal(size=(20, 3)), rng.normal(size=(20, 1))

    def train(init):
        net = ffbp.Network([ffbp.Dense(3, 4, init=init), ffbp.Sigmoid(),
                            ffbp.Dense(4, 1, init=init)], dtype=np.float64)
        net.fit(X, T, loss="mse", optimizer=ffbp.optim.gd(0.5), epochs=50, batch_size=5,
                seed=0, verbose=False)
        return net.layers[0].W.value, net.layers[0].b.value, net.layers[2].W.value

    W1, b1, W2 = train(ffbp.init.constant(0.3))
    assert np.ptp(W1, axis=1).max() < 1e-12 and np.ptp(b1) < 1e-12 and np.ptp(W2) < 1e-12
    assert np.abs(W1 - 0.3).max() > 1e-3            # it did learn something
    W1, _, _ = train("small_normal")
    assert np.ptp(W1, axis=1).min() > 1e-3          # the units differ


def test_xor_is_learned_by_a_2_3_1_sigmoid_network():
    """XOR is not linearly separable; one hidden layer and batch gradient descent learn it."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    net = ffbp.Network([ffbp.Dense(2, 3), ffbp.Sigmoid(), ffbp.Dense(3, 1), ffbp.Sigmoid()],
                       seed=1, dtype=np.float64)
    history = net.fit(X, y, loss="binary_cross_entropy", optimizer=ffbp.optim.gd(2.0),
                      epochs=3000, batch_size=None, verbose=False)
    np.testing.assert_array_equal(net.predict(X), y)
    assert history.loss[-1] < 0.05 < history.loss[0]


def test_perceptron_separates_linearly_separable_data(rng):
    X = rng.uniform(-1, 1, size=(200, 2))
    score = X @ np.array([1.5, -2.0]) + 0.3
    keep = np.abs(score) > 0.1                      # a margin: convergence is guaranteed
    X, y = X[keep], (score[keep] > 0).astype(int)
    p = ffbp.Perceptron(max_epochs=100, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # no ConvergenceWarning allowed here
        p.fit(X, y)
    assert p.converged_ and p.errors_[-1] == 0
    np.testing.assert_array_equal(p.predict(X), y)


def test_perceptron_learns_and_by_its_rule():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    p = ffbp.Perceptron(seed=0).fit(X, [0, 0, 0, 1])
    assert p.converged_
    np.testing.assert_array_equal(p.predict(X), [0, 0, 0, 1])


def test_perceptron_reports_non_convergence_on_xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    with pytest.warns(ffbp.ConvergenceWarning, match="not linearly separable"):
        p = ffbp.Perceptron(max_epochs=50).fit(X, [0, 1, 1, 0])
    assert not p.converged_ and p.n_epochs_ == 50 and min(p.errors_) > 0
