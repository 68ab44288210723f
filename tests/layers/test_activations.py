"""Each activation's derivative vs finite differences and PyTorch, and the properties of
tutorial 003 (non-linear, saturating, smooth, monotone, near-linear at 0) checked numerically."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numerical_gradient, relative_error, require

import ffbp

ELEMENTWISE = [ffbp.Identity, ffbp.Sigmoid, ffbp.Tanh, ffbp.ReLU, ffbp.LeakyReLU, ffbp.ELU,
               ffbp.Step]
ALL = ELEMENTWISE + [ffbp.Softmax, ffbp.LogSoftmax]


def _away_from_kinks(rng, shape):
    x = rng.normal(size=shape) * 2
    return np.where(np.abs(x) < 0.05, 0.5, x)


@pytest.mark.parametrize("cls", ALL)
def test_backward_matches_finite_differences(cls, rng):
    layer = cls()
    x = _away_from_kinks(rng, (5, 4))
    dy = rng.normal(size=(5, 4))
    layer.forward(x)
    dx = layer.backward(dy)
    numeric = numerical_gradient(lambda: float(np.sum(layer.function(x) * dy)), x)
    assert relative_error(dx, numeric) < 1e-7


@pytest.mark.parametrize("cls", ELEMENTWISE)
def test_derivative_from_output_matches_finite_differences(cls, rng):
    layer = cls()
    x = _away_from_kinks(rng, (50,))[None, :]
    h = 1e-6
    numeric = (layer.function(x + h) - layer.function(x - h)) / (2 * h)
    assert relative_error(layer.derivative(x), numeric) < 1e-7


def test_tutorial_derivative_identities():
    x = np.linspace(-5, 5, 101)[None, :]
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(ffbp.Sigmoid().derivative(x), s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(ffbp.Tanh().derivative(x), 1 - np.tanh(x) ** 2, rtol=1e-12)


@pytest.mark.parametrize("cls", ALL)
def test_values_and_gradients_match_torch(cls, rng):
    torch = require("torch", "PyTorch's activations and autograd are the oracle")
    F = torch.nn.functional
    reference = {
        ffbp.Identity: lambda z: z, ffbp.Sigmoid: torch.sigmoid, ffbp.Tanh: torch.tanh,
        ffbp.ReLU: F.relu, ffbp.LeakyReLU: lambda z: F.leaky_relu(z, 0.01), ffbp.ELU: F.elu,
        ffbp.Step: lambda z: torch.heaviside(z, torch.ones_like(z)),
        ffbp.Softmax: lambda z: torch.softmax(z, 1),
        ffbp.LogSoftmax: lambda z: torch.log_softmax(z, 1),
    }[cls]
    x = _away_from_kinks(rng, (6, 5))
    dy = rng.normal(size=(6, 5))
    layer = cls()
    y = layer.forward(x)
    dx = layer.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    yt = reference(xt)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-15)
    if cls is not ffbp.Step:
        (yt * torch.tensor(dy)).sum().backward()
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    else:
        np.testing.assert_array_equal(dx, 0)        # the step passes no gradient


def test_sigmoid_and_softmax_do_not_overflow():
    x = np.array([[-1000.0, 0.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(ffbp.Sigmoid().function(x), [[0.0, 0.5, 1.0]])
        np.testing.assert_allclose(ffbp.Softmax().function(x), [[0.0, 0.0, 1.0]])
        assert np.isfinite(ffbp.LogSoftmax().function(x)).all()


@pytest.mark.parametrize("cls", ELEMENTWISE)
def test_listed_properties_hold_numerically(cls):
    """Check each property tutorial 003 lists against the function itself."""
    layer, props = cls(), cls.properties
    x = np.linspace(-30, 30, 6001)[None, :]
    f, df = layer.function(x)[0], layer.derivative(x)[0]
    near = np.array([[-1e-3, 1e-3]])
    secant = np.diff(layer.function(near)[0])[0] / 2e-3
    assert (np.all(np.diff(f) >= 0)) == props["monotone"]
    # Non-linear: f(a + b) ≠ f(a) + f(b) somewhere.
    additive = np.allclose(layer.function(x + 1.0), layer.function(x) + layer.function(
        np.ones_like(x)) - layer.function(np.zeros_like(x)))
    assert (not additive) == props["nonlinear"]
    # Saturating (as tutorial 003 uses it): the derivative dies out at both ends, so a unit
    # driven far either way stops learning. ReLU and ELU keep slope 1 for large inputs.
    assert (max(abs(df[0]), abs(df[-1])) < 1e-6) == props["saturating"]
    # Smooth: neither the function nor its derivative jumps on a fine grid (step 0.01).
    jumps = max(np.abs(np.diff(f)).max(), np.abs(np.diff(df)).max())
    assert (jumps < 0.05) == props["smooth"]
    # Near-linear at 0: f(0) = 0 and f'(0) = 1.
    linear0 = abs(layer.function(np.zeros((1, 1)))[0, 0]) < 1e-12 and abs(secant - 1) < 1e-3
    assert linear0 == props["linear_near_zero"]


def test_saturation_vanishes_the_gradient_but_relu_does_not():
    big = np.array([[8.0, 12.0]])
    assert ffbp.Sigmoid().derivative(big).max() < 1e-3
    assert ffbp.Tanh().derivative(big).max() < 1e-6
    np.testing.assert_array_equal(ffbp.ReLU().derivative(big), 1.0)


def test_float32_stays_float32(rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    for cls in ALL:
        layer = cls()
        assert layer.forward(x).dtype == np.float32, cls
        assert layer.backward(x).dtype == np.float32, cls
