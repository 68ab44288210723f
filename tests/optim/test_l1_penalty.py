"""ffbp.optim.add_l1_penalty: u ← g + λ sign(W) on the weights (not the biases), the
gradient of λ Σ|W|. Checked in float64 by central finite differences of E + λ Σ|W| (away from
W = 0, where |W| has no derivative) and against PyTorch autograd of λ Σ|W|."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numerical_gradient, relative_error, require

import ffbp
from ffbp.errors import ConfigError
from ffbp.optim import add_l1_penalty

LAM = 0.03


def _net_and_batch():
    net = ffbp.mlp(3, (4,), 2, activation="tanh", seed=3, dtype=np.float64)
    rng = np.random.default_rng(0)
    return net, rng.normal(size=(6, 3)), rng.normal(size=(6, 2))


def _weights_mask(net):
    return np.concatenate([np.full(p.size, p.name == "W") for p in net.parameters()])


def test_gradient_matches_finite_differences_of_the_penalised_loss():
    net, X, T = _net_and_batch()
    mask = _weights_mask(net)
    # |W| is differentiable only away from 0; the central step is 1e-6.
    assert np.abs(net.flat_values[mask]).min() > 1e-3
    link = add_l1_penalty(LAM)
    state = link.init(net.flat_values, net)
    net.compute_gradients(X, T, "mse")
    g = net.flat_grads.copy()
    link.update(g, state, net.flat_values)

    def objective():
        E = ffbp.losses.MSE()(net.forward(X), T)
        return E + LAM * np.abs(net.flat_values[mask]).sum()

    numeric = numerical_gradient(objective, net.flat_values)
    assert relative_error(g, numeric) < 1e-7


def test_matches_torch_autograd_of_the_l1_term_weights_only():
    torch = require("torch", "PyTorch autograd of λ Σ|W| is the reference")
    net, _, _ = _net_and_batch()
    link = add_l1_penalty(LAM)
    state = link.init(net.flat_values, net)
    u = np.zeros_like(net.flat_values)
    link.update(u, state, net.flat_values)
    expected = []
    for p in net.parameters():
        w = torch.tensor(p.value, dtype=torch.float64, requires_grad=True)
        if p.name == "W":                     # biases are not penalised
            (LAM * w.abs().sum()).backward()
            expected.append(w.grad.numpy().ravel())
        else:
            expected.append(np.zeros(p.size))
    np.testing.assert_allclose(u, np.concatenate(expected), rtol=1e-15, atol=0)
    # The penalty fit reports is λ Σ|W| over the weights, by hand.
    by_hand = LAM * sum(np.abs(p.value).sum() for p in net.parameters() if p.name == "W")
    assert link.penalty(net.flat_values, state) == pytest.approx(by_hand, rel=1e-12)


def test_zero_weight_gets_no_push_and_zero_rate_is_a_no_op():
    params = np.array([0.0, 2.0, -0.5])
    link = add_l1_penalty(0.1)
    u = np.ones(3)
    link.update(u, link.init(params), params)
    np.testing.assert_array_equal(u, [1.0, 1.1, 0.9])
    off = add_l1_penalty(0.0)
    u = np.ones(3)
    off.update(u, off.init(params), params)
    np.testing.assert_array_equal(u, np.ones(3))


def test_trains_inside_an_optimiser_and_shrinks_weights():
    net, X, T = _net_and_batch()
    plain, sparse = net.copy(), net.copy()
    plain.fit(X, T, optimizer=ffbp.optim.sgd(0.05), epochs=200, batch_size=None,
              verbose=False, seed=0)
    opt = ffbp.optim.chain(add_l1_penalty(0.05), ffbp.optim.sgd(0.05))
    sparse.fit(X, T, optimizer=opt, epochs=200, batch_size=None, verbose=False, seed=0)
    mask = _weights_mask(net)
    assert np.abs(sparse.flat_values[mask]).sum() < np.abs(plain.flat_values[mask]).sum()


def test_negative_rate_is_refused_with_its_name():
    with pytest.raises(ConfigError, match="l1"):
        add_l1_penalty(-1.0)
