"""Tutorial 003's vanishing gradients, measured: in a deep sigmoid network the gradient of the
first layer's weights is orders of magnitude smaller than the last layer's; ReLU with He
initialisation, or batch norm after each Dense layer, keeps them within one order.

Why (δ = ∂E/∂h' of a layer, back-propagated as δ⁽ˡ⁻¹⁾ = (δ⁽ˡ⁾ W⁽ˡ⁾ᵀ) ⊙ Φ'(h'⁽ˡ⁻¹⁾)):
each sigmoid layer multiplies δ by σ' ≤ 1/4 and by the weights; with small weights both
shrink it, so after L layers it is smaller by roughly (¼·‖W‖)ᴸ. ReLU's Φ' is 1 where it is
active, and He's variance 2/fan_in makes ‖δ W ᵀ ⊙ Φ'‖ ≈ ‖δ‖ on average; batch norm divides by
the spread σ of its input, undoing the scale of the weights (∂E/∂x = (γ/σ)(…)).

The oracle is the tutorial's claim itself with stated thresholds; the measured ratios
(10 hidden layers of 32 units, seeds 0–2) are about 3e-19 (sigmoid, N(0, 0.01²)),
2e-7 (sigmoid, N(0, 1/32)), 0.2–0.9 (ReLU + He) and 0.3–0.9 (sigmoid + batch norm).
"""

from __future__ import annotations

import numpy as np
import pytest

import ffbp

DEPTH, WIDTH, N_IN, N_OUT, BATCH = 10, 32, 16, 4, 64


def deep_network(activation, init, batchnorm=False, seed=0):
    layers, width = [], N_IN
    for _ in range(DEPTH):
        layers.append(ffbp.Dense(width, WIDTH, init=init))
        if batchnorm:
            layers.append(ffbp.BatchNorm(WIDTH))
        layers.append(activation())
        width = WIDTH
    layers.append(ffbp.Dense(width, N_OUT, init=init))
    return ffbp.Network(layers, seed=seed, dtype=np.float64)


def weight_gradient_norms(net, seed):
    """‖∂E/∂W‖ of every Dense layer, first to last, after one batch of a regression task."""
    rng = np.random.default_rng(seed)
    X, T = rng.normal(size=(BATCH, N_IN)), rng.normal(size=(BATCH, N_OUT))
    net.compute_gradients(X, T, "mse")
    return np.array([np.linalg.norm(layer.W.grad) for layer in net.layers
                     if isinstance(layer, ffbp.Dense)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigmoid_gradients_vanish_towards_the_input(seed):
    # Tutorial 002's small initial weights, N(0, 0.01²): every layer back shrinks δ by
    # ≈ ¼ · 0.01 · √32 ≈ 0.014, so ten layers lose far more than 12 orders of magnitude.
    norms = weight_gradient_norms(deep_network(ffbp.Sigmoid, ffbp.init.small_normal(0.01),
                                               seed=seed), seed)
    assert np.all(np.diff(norms) > 0), norms          # strictly smaller at every step back
    assert norms[0] / norms[-1] < 1e-12, norms


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigmoid_gradients_vanish_even_with_variance_preserving_weights(seed):
    # With N(0, 1/fan_in) weights ‖δ Wᵀ‖ ≈ ‖δ‖, so only σ' ≤ 1/4 is left to blame:
    # (1/4)¹⁰ ≈ 1e-6. Demand at least four orders of magnitude.
    norms = weight_gradient_norms(
        deep_network(ffbp.Sigmoid, ffbp.init.small_normal(WIDTH ** -0.5), seed=seed), seed)
    assert np.all(np.diff(norms) > 0), norms
    assert norms[0] / norms[-1] < 1e-4, norms


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_with_he_init_keeps_gradients_in_range(seed):
    norms = weight_gradient_norms(deep_network(ffbp.ReLU, "he_normal", seed=seed), seed)
    assert 0.1 < norms[0] / norms[-1] < 10, norms
    assert norms.max() / norms.min() < 10, norms      # no layer is starved either


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batchnorm_after_each_dense_rescues_the_sigmoid_network(seed):
    # The very network of the first test (sigmoid, N(0, 0.01²)), with BatchNorm inserted.
    norms = weight_gradient_norms(deep_network(ffbp.Sigmoid, ffbp.init.small_normal(0.01),
                                               batchnorm=True, seed=seed), seed)
    assert 0.1 < norms[0] / norms[-1] < 10, norms
    assert norms.max() / norms.min() < 10, norms
