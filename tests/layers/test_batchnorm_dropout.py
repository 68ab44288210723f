"""BatchNorm and Dropout against independent oracles: central finite differences in float64,
torch.nn.BatchNorm1d, the defining formulas, and the statistics of Bernoulli masks."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import numerical_gradient, relative_error, require

import ffbp
from ffbp.errors import ConfigError, ShapeError


def bn_with_params(rng, k=5, **kwargs):
    """A BatchNorm with non-trivial γ, β (γ = 1, β = 0 would hide mistakes in their use)."""
    bn = ffbp.BatchNorm(k, **kwargs)
    bn.gamma.value[...] = rng.normal(1.0, 0.5, k)
    bn.beta.value[...] = rng.normal(0.0, 0.5, k)
    return bn


def warm_up(bn, rng, steps=5, n=20):
    """Run training passes so the running statistics are far from their (0, 1) start."""
    for _ in range(steps):
        bn.forward(rng.normal(3.0, 2.0, (n, bn.num_features)), training=True)


# --------------------------------------------------------------------------------- BatchNorm
def test_batchnorm_training_output_matches_definition(rng):
    # Oracle: the definition. With γ = 1, β = 0 each column has mean 0 and biased variance
    # σ²/(σ² + ε); γ and β then scale and shift every column.
    x = rng.normal(3.0, 2.0, (40, 4)) * np.array([0.1, 1.0, 10.0, 100.0])
    bn = ffbp.BatchNorm(4)
    y = bn.forward(x, training=True)
    var = x.var(axis=0)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), var / (var + 1e-5), rtol=1e-12)
    bn.gamma.value[...] = [1.0, 2.0, -1.0, 0.5]
    bn.beta.value[...] = [0.0, 1.0, 2.0, -3.0]
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), bn.beta.value, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), np.abs(bn.gamma.value) * np.sqrt(var / (var + 1e-5)),
                               rtol=1e-12)


def test_batchnorm_running_statistics_follow_the_momentum_rule(rng):
    # Oracle: r ← (1 − m) r + m·batch, with the *unbiased* batch variance (ddof=1).
    bn = ffbp.BatchNorm(3, momentum=0.2)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(4):
        x = rng.normal(5.0, 3.0, (10, 3))
        bn.forward(x, training=True)
        mean = 0.8 * mean + 0.2 * x.mean(axis=0)
        var = 0.8 * var + 0.2 * x.var(axis=0, ddof=1)
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-13)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-13)
    # Inference passes read the statistics but never update them.
    bn.forward(rng.normal(size=(10, 3)), training=False)
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-13)


def test_batchnorm_eval_uses_running_statistics(rng):
    bn = bn_with_params(rng, 4)
    warm_up(bn, rng)
    x = rng.normal(size=(7, 4))
    expected = (x - bn.running_mean) / np.sqrt(bn.running_var + 1e-5) * bn.gamma.value \
        + bn.beta.value
    np.testing.assert_allclose(bn.forward(x, training=False), expected, rtol=1e-13)
    # Per sample: a sample's output does not depend on the rest of the batch.
    np.testing.assert_allclose(bn.forward(x[:1], training=False), expected[:1], rtol=1e-13)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients_match_finite_differences(rng, training):
    # E = Σ G ⊙ y with a random G, so ∂E/∂y = G exercises every entry of the backward pass.
    n, k = 6, 4
    bn = bn_with_params(rng, k)
    warm_up(bn, rng)
    x = rng.normal(1.0, 2.0, (n, k))
    G = rng.normal(size=(n, k))
    stats = (bn.running_mean.copy(), bn.running_var.copy())

    def energy():
        # Training passes move the running statistics; put them back so that eval-mode
        # differences see the same constants (training mode does not read them).
        bn.running_mean[...], bn.running_var[...] = stats
        return float(np.sum(G * bn.forward(x, training)))

    energy()
    dx = bn.backward(G)
    analytic = {"x": dx, "gamma": bn.gamma.grad.copy(), "beta": bn.beta.grad.copy()}
    numeric = {"x": numerical_gradient(energy, x),
               "gamma": numerical_gradient(energy, bn.gamma.value),
               "beta": numerical_gradient(energy, bn.beta.value)}
    for name in analytic:
        assert relative_error(analytic[name], numeric[name]) < 1e-7, name
    # Training mode: the gradient w.r.t. x sums to zero over the batch in each column
    # (shifting a column shifts μ equally and leaves the output unchanged).
    if training:
        np.testing.assert_allclose(dx.sum(axis=0), 0.0, atol=1e-12)


def test_batchnorm_backward_without_input_grad_still_fills_parameter_grads(rng):
    bn = bn_with_params(rng, 3)
    x, dy = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    bn.forward(x, training=True)
    assert bn.backward(dy, input_grad=False) is None
    xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(bn.gamma.grad, (dy * xhat).sum(0), rtol=1e-12)
    np.testing.assert_allclose(bn.beta.grad, dy.sum(0), rtol=1e-12)


def bn_network(seed=0):
    return ffbp.Network([ffbp.Dense(4, 6), ffbp.BatchNorm(6), ffbp.Tanh(), ffbp.Dense(6, 2)],
                        seed=seed, dtype=np.float64)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_network_passes_gradcheck(rng, training):
    net = bn_network()
    bn = net.layers[1]
    bn.gamma.value[...] = rng.normal(1.0, 0.5, 6)
    bn.beta.value[...] = rng.normal(0.0, 0.5, 6)
    X, T = rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
    if not training:
        for _ in range(5):
            net.forward(rng.normal(1.0, 2.0, (8, 4)), training=True)
    report = ffbp.gradcheck(net, "mse", X, T, training=training)
    assert report.max_error < 1e-6, str(report)
    if training:
        # A bias right before batch norm is cancelled by the mean subtraction: its gradient
        # is exactly zero in training mode (and the numerical one agrees).
        assert np.abs(report.analytic["layer0.b"]).max() < 1e-12
        assert np.abs(report.numeric["layer0.b"]).max() < 1e-8


def test_batchnorm_shape_errors():
    bn = ffbp.BatchNorm(4)
    assert bn.output_features(4) == 4 and bn.output_features(None) == 4
    with pytest.raises(ShapeError, match=r"4 features.*receives 3"):
        bn.output_features(3)
    with pytest.raises(ShapeError, match="layer 1"):
        ffbp.Network([ffbp.Dense(2, 3), ffbp.BatchNorm(4)])
    with pytest.raises(ShapeError, match=r"more than 1 sample"):
        bn.forward(np.ones((1, 4)), training=True)
    with pytest.raises(ShapeError, match=r"\(n_samples, 4\)"):
        bn.forward(np.ones((3, 5)), training=True)
    # A single sample is fine in inference: the running statistics need no batch.
    assert bn.forward(np.ones((1, 4)), training=False).shape == (1, 4)


@pytest.mark.parametrize("kwargs", [dict(num_features=0), dict(num_features=2.5),
                                    dict(num_features=3, momentum=1.5),
                                    dict(num_features=3, momentum=-0.1),
                                    dict(num_features=3, eps=0.0)])
def test_batchnorm_rejects_bad_configuration(kwargs):
    with pytest.raises(ConfigError):
        ffbp.BatchNorm(**kwargs)


def test_batchnorm_parameters_buffers_and_initialize(rng):
    bn = ffbp.BatchNorm(3)
    assert [p.name for p in bn.parameters()] == ["gamma", "beta"]
    assert not any(p.decay for p in bn.parameters())
    np.testing.assert_array_equal(bn.gamma.value, 1.0)
    np.testing.assert_array_equal(bn.beta.value, 0.0)
    buffers = bn.buffers()
    assert set(buffers) == {"running_mean", "running_var"}
    warm_up(bn, rng)
    # The dict holds the live arrays (a loader can write into them) ...
    assert buffers["running_mean"] is bn.running_mean
    assert np.all(buffers["running_mean"] > 1.0)
    # ... and initialize() resets parameters and statistics.
    bn.gamma.value[...] = 5.0
    bn.initialize(np.random.default_rng(0))
    np.testing.assert_array_equal(bn.running_mean, 0.0)
    np.testing.assert_array_equal(bn.running_var, 1.0)
    np.testing.assert_array_equal(bn.gamma.value, 1.0)


def test_batchnorm_as_first_layer_and_float32(rng):
    # BatchNorm fixes the input width, so it can normalise raw inputs; float32 stays float32
    # even though the running statistics are kept in float64.
    net = ffbp.Network([ffbp.BatchNorm(3), ffbp.Dense(3, 2)], seed=0)
    assert net.n_features == 3
    X = rng.normal(size=(10, 3))
    assert net.forward(X, training=True).dtype == np.float32
    assert net.forward(X, training=False).dtype == np.float32
    assert net.backward(np.ones((10, 2))).dtype == np.float32


# ------------------------------------------------------------------------ BatchNorm vs torch
@pytest.mark.parametrize("momentum, eps", [(0.1, 1e-5), (0.3, 1e-2)])
def test_batchnorm_matches_torch(rng, momentum, eps):
    torch = require("torch", "PyTorch's BatchNorm1d is the oracle")
    k = 5
    bn = bn_with_params(rng, k, momentum=momentum, eps=eps)
    ref = torch.nn.BatchNorm1d(k, momentum=momentum, eps=eps).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(bn.gamma.value.copy()))
        ref.bias.copy_(torch.from_numpy(bn.beta.value.copy()))

    def both(x, dy):
        xt = torch.from_numpy(x).requires_grad_(True)
        ref.zero_grad()
        yt = ref(xt)
        yt.backward(torch.from_numpy(dy))
        y = bn.forward(x, training=ref.training)
        dx = bn.backward(dy)
        return [(y, yt.detach().numpy()), (dx, xt.grad.numpy()),
                (bn.gamma.grad, ref.weight.grad.numpy()), (bn.beta.grad, ref.bias.grad.numpy())]

    ref.train()
    for step in range(6):       # several steps: the running statistics accumulate
        n = 8 + 3 * step        # varying n checks the n/(n − 1) of the unbiased variance
        x = rng.normal(2.0, 3.0, (n, k)) * rng.uniform(0.1, 10.0, k)
        for ours, theirs in both(x, rng.normal(size=(n, k))):
            assert relative_error(ours, theirs) < 1e-12
        assert relative_error(bn.running_mean, ref.running_mean.numpy()) < 1e-13
        assert relative_error(bn.running_var, ref.running_var.numpy()) < 1e-13
    ref.eval()
    x = rng.normal(2.0, 3.0, (7, k))
    for ours, theirs in both(x, rng.normal(size=(7, k))):
        assert relative_error(ours, theirs) < 1e-12


def test_batchnorm_batch_of_one_fails_like_torch():
    torch = require("torch", "PyTorch's BatchNorm1d is the oracle")
    with pytest.raises(ValueError):     # torch's own behaviour, the reason we raise too
        torch.nn.BatchNorm1d(3).train()(torch.ones(1, 3))
    with pytest.raises(ShapeError):
        ffbp.BatchNorm(3).forward(np.ones((1, 3)), training=True)


# ----------------------------------------------------------------------------------- Dropout
def test_dropout_is_identity_in_inference(rng):
    drop = ffbp.Dropout(0.5, seed=0)
    x, dy = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    np.testing.assert_array_equal(drop.forward(x, training=False), x)
    np.testing.assert_array_equal(drop.backward(dy), dy)
    # p = 0 keeps everything even in training.
    drop0 = ffbp.Dropout(0.0, seed=0)
    np.testing.assert_array_equal(drop0.forward(x, training=True), x)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, "0.5", True, None])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ConfigError):
        ffbp.Dropout(p)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_fraction_dropped_and_scale(p):
    # 10⁵ Bernoulli(p) drops: the dropped fraction has standard deviation √(p(1−p)/N) ≤ 0.0016,
    # so 5 standard deviations (a false alarm about once in 1.7 million runs) is the tolerance.
    drop = ffbp.Dropout(p, seed=1)
    x = np.full((1000, 100), 3.0)
    y = drop.forward(x, training=True)
    dropped = np.mean(y == 0.0)
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / x.size)
    # Survivors are scaled by exactly 1/(1 − p).
    np.testing.assert_allclose(y[y != 0.0], 3.0 / (1.0 - p), rtol=1e-15)


def test_dropout_is_unbiased():
    # Each output is x·B/(1−p), B ~ Bernoulli(1−p): mean x, standard deviation
    # |x|·√(p/(1−p)). Averaged over R draws the error of each entry is ≈ N(0, x²p/((1−p)R)),
    # so its z-score is ≈ N(0, 1): over 1000 entries the largest |z| exceeds 5 with
    # probability ≈ 1000 · 5.7e-7 < 0.1 %, and the mean of all z-scores has standard
    # deviation 1/√1000 (tolerance: 5 of those).
    p, R = 0.3, 500
    rng = np.random.default_rng(7)
    x = rng.uniform(0.5, 2.0, (50, 20)) * rng.choice([-1.0, 1.0], (50, 20))
    drop = ffbp.Dropout(p, seed=2)
    mean = np.mean([drop.forward(x, training=True) for _ in range(R)], axis=0)
    z = (mean - x) / (np.abs(x) * np.sqrt(p / ((1 - p) * R)))
    assert np.abs(z).max() < 5.0
    assert abs(z.mean()) < 5.0 / np.sqrt(z.size)


def test_dropout_backward_uses_the_forward_mask(rng):
    drop = ffbp.Dropout(0.4, seed=3)
    x = rng.uniform(1.0, 2.0, (20, 10))       # no zeros, so y/x recovers the mask
    y = drop.forward(x, training=True)
    mask = y / x
    dy = rng.normal(size=x.shape)
    np.testing.assert_allclose(drop.backward(dy), dy * mask, rtol=1e-15)
    assert drop.backward(dy, input_grad=False) is None


def test_dropout_gradient_matches_finite_differences_with_replayed_rng(rng):
    # Oracle: central differences where every pass draws the same mask (generator restored).
    drop = ffbp.Dropout(0.5, seed=4)
    x = rng.normal(size=(5, 6))
    G = rng.normal(size=(5, 6))
    state = copy.deepcopy(drop.rng)

    def energy():
        drop.rng = copy.deepcopy(state)
        return float(np.sum(G * drop.forward(x, training=True)))

    energy()
    analytic = drop.backward(G)
    assert np.any(analytic == 0.0) and np.any(analytic != 0.0)     # some dropped, some kept
    assert relative_error(analytic, numerical_gradient(energy, x)) < 1e-8


def test_dropout_network_passes_gradcheck(rng):
    net = ffbp.Network([ffbp.Dense(4, 8), ffbp.Tanh(), ffbp.Dropout(0.5), ffbp.Dense(8, 3)],
                       seed=0, dtype=np.float64)
    X, T = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    # The mask really is active (training output differs from inference output) ...
    state = copy.deepcopy(net.layers[2].rng)
    assert not np.allclose(net.forward(X, training=True), net.forward(X, training=False))
    net.layers[2].rng = state
    # ... and back-propagation through it agrees with finite differences.
    report = ffbp.gradcheck(net, "mse", X, T, training=True)
    assert report.max_error < 1e-6, str(report)


def test_dropout_masks_are_reproducible_from_the_seed(rng):
    X = rng.normal(size=(16, 4))

    def masks(seed, draws=3):
        net = ffbp.Network([ffbp.Dense(4, 8), ffbp.Dropout(0.5)], seed=seed)
        return [net.forward(X, training=True) for _ in range(draws)]

    a, b, c = masks(0), masks(0), masks(1)
    for ya, yb in zip(a, b, strict=True):
        np.testing.assert_array_equal(ya, yb)                 # same seed -> same masks
    assert not np.array_equal(a[0] == 0, c[0] == 0)           # another seed -> other masks
    assert not np.array_equal(a[0] == 0, a[1] == 0)           # a fresh mask every pass
    # Re-initialising replays the stream from the start.
    net = ffbp.Network([ffbp.Dense(4, 8), ffbp.Dropout(0.5)], seed=0)
    net.forward(X, training=True)
    net.initialize(0)
    np.testing.assert_array_equal(net.forward(X, training=True), a[0])
    # A standalone layer is reproducible from its own seed.
    d1, d2 = ffbp.Dropout(0.5, seed=9), ffbp.Dropout(0.5, seed=9)
    np.testing.assert_array_equal(d1.forward(X, True), d2.forward(X, True))


def test_dropout_keeps_dtype():
    drop = ffbp.Dropout(0.5, seed=0)
    x = np.ones((4, 4), dtype=np.float32)
    assert drop.forward(x, training=True).dtype == np.float32
    assert drop.backward(x).dtype == np.float32
