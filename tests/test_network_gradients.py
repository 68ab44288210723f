"""Back-propagated gradients of whole networks vs two independent oracles: central finite
differences in float64 (computed here, not by ffbp.gradcheck) and PyTorch autograd."""

from __future__ import annotations

import numpy as np
import pytest
from cases import DEPTHS, HIDDEN, OUTPUTS, build
from conftest import numerical_gradient, relative_error, require

import ffbp

GRID = [(h, o, d) for h in HIDDEN for o in OUTPUTS for d in DEPTHS
        # depth 1 has no hidden layer: sweep its outputs once, not once per activation
        if d > 1 or h == "sigmoid"]


def _loss_value(net, loss, X, T):
    return loss(net.forward(X, training=True), T)


@pytest.mark.parametrize("hidden,output,depth", GRID)
def test_backprop_matches_finite_differences(hidden, output, depth):
    net, loss, X, T = build(hidden, output, depth)
    net.compute_gradients(X, T, loss)
    for name, p in net.named_parameters():
        numeric = numerical_gradient(lambda: _loss_value(net, loss, X, T), p.value)
        assert relative_error(p.grad, numeric) < 1e-6, name


@pytest.mark.parametrize("hidden,output,depth", [g for g in GRID if g[2] in (1, 3)])
def test_gradcheck_report_agrees(hidden, output, depth):
    net, loss, X, T = build(hidden, output, depth)
    report = ffbp.gradcheck(net, loss, X, T)
    assert set(report.relative_error) == {n for n, _ in net.named_parameters()} | {"X"}
    assert report.max_error < 1e-6, str(report)


def test_input_gradient_matches_finite_differences():
    net, loss, X, T = build("tanh", "softmax+cross_entropy", 3)
    Y = net.forward(X)
    dX = net.backward(loss.gradient(Y, T))
    numeric = numerical_gradient(lambda: loss(net.forward(X), T), X)
    assert relative_error(dX, numeric) < 1e-6


@pytest.mark.parametrize("output", ["softmax+cross_entropy", "sigmoid+bce"])
def test_fused_output_gradient_equals_general_path(output):
    """Softmax+CE and Sigmoid+BCE back-propagate y − t directly; the general path (the
    output layer's Jacobian times ∂E/∂y) must give the same parameter gradients."""
    net, loss, X, T = build("tanh", output, 3)
    assert net.uses_fused_gradient(loss)
    net.compute_gradients(X, T, loss)
    fused = net.flat_grads.copy()
    Y = net.forward(X, training=True)
    net.backward(loss.gradient(Y, T))
    assert relative_error(net.flat_grads, fused) < 1e-10


# -- PyTorch autograd ------------------------------------------------------------------

def _torch_forward(torch, net, X):
    F = torch.nn.functional
    ops = {
        ffbp.Sigmoid: torch.sigmoid, ffbp.Tanh: torch.tanh, ffbp.ReLU: F.relu,
        ffbp.LeakyReLU: lambda z: F.leaky_relu(z, 0.01), ffbp.ELU: F.elu,
        ffbp.Identity: lambda z: z, ffbp.Step: lambda z: (z >= 0).to(z.dtype),
        ffbp.Softmax: lambda z: torch.softmax(z, dim=1),
        ffbp.LogSoftmax: lambda z: torch.log_softmax(z, dim=1),
    }
    params, h = [], torch.tensor(X)
    for layer in net.layers:
        if isinstance(layer, ffbp.Dense):
            W = torch.tensor(layer.W.value, requires_grad=True)
            b = torch.tensor(layer.b.value, requires_grad=True)
            params += [W, b]
            h = h @ W + b
        else:
            h = ops[type(layer)](h)
    return h, params


def _torch_loss(torch, name, Y, T):
    F = torch.nn.functional
    t = torch.tensor(np.asarray(T, dtype=float))
    loss = name.split("+")[1]
    if loss == "squared_error":
        return 0.5 * ((Y - t) ** 2).sum(dim=1).mean()
    if loss == "mse":
        return F.mse_loss(Y, t)
    if loss == "mae":
        return F.l1_loss(Y, t)
    if loss == "huber":
        return F.huber_loss(Y, t, delta=0.7)
    if loss in ("cross_entropy", "nll", "multi_margin"):
        idx = t.long()
        if name.startswith("softmax"):
            return F.nll_loss(torch.log(Y), idx)
        if name.startswith("logits"):
            return F.cross_entropy(Y, idx)
        if loss == "nll":
            return F.nll_loss(Y, idx)
        return F.multi_margin_loss(Y, idx)
    if loss == "bce":
        return F.binary_cross_entropy(Y, t) if name.startswith("sigmoid") else \
            F.binary_cross_entropy_with_logits(Y, t)
    if loss == "hinge":
        return torch.clamp(1 - t * Y, min=0).mean()
    if loss == "hinge_embedding":
        return F.hinge_embedding_loss(Y, t)
    if loss == "cosine_embedding":
        return F.cosine_embedding_loss(Y, t[:, :-1], t[:, -1])
    raise AssertionError(name)


TORCH_GRID = [g for g in GRID if g[2] <= 3]


@pytest.mark.parametrize("hidden,output,depth", TORCH_GRID)
def test_backprop_matches_torch_autograd(hidden, output, depth):
    torch = require("torch", "PyTorch autograd is the oracle")
    net, loss, X, T = build(hidden, output, depth)
    value = net.compute_gradients(X, T, loss)
    Y, params = _torch_forward(torch, net, X)
    reference = _torch_loss(torch, output, Y, T)
    reference.backward()
    assert value == pytest.approx(reference.item(), rel=1e-10, abs=1e-12)
    grads = [p.grad for _, p in net.named_parameters()]
    for (name, _), mine, theirs in zip(net.named_parameters(), grads, params, strict=True):
        expected = np.zeros_like(mine) if theirs.grad is None else theirs.grad.numpy()
        assert relative_error(mine, expected) < 1e-9, name
