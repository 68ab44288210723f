"""Optimisers, links and schedules against independent oracles: torch.optim step for step
(float64), first steps computed by hand, known minima, torch's clipping and schedulers."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from conftest import require, skip_unless

import ffbp
from ffbp import optim
from ffbp.optim import schedules


@pytest.fixture(autouse=True, params=["numba", "numpy"])
def kernels(request, monkeypatch):
    """Run every optimiser test on both paths: the fused numba kernels and plain NumPy."""
    import ffbp.ops

    if request.param == "numba" and not ffbp.ops.available():
        skip_unless(False, "the numba kernels are unavailable (numba is not installed, or "
                           "FFBP_NUMBA=0): only the NumPy path is tested; numba is a dependency "
                           "of ffbp, so `make test` and CI test both paths")
    monkeypatch.setattr(ffbp.ops, "ENABLED", request.param == "numba")
    return request.param


EPS = 1e-8          # Adam / RMSProp epsilon everywhere below (torch's default)


def run(opt, theta0, grads, net=None):
    """Apply ``opt`` to a copy of ``theta0`` with the gradient sequence ``grads``; return the
    parameters after every step, shape (len(grads), n)."""
    theta = np.array(theta0, dtype=float)
    state = opt.init(theta, net)
    out = []
    for g in grads:
        u = np.array(g, dtype=float)
        opt.update(u, state, theta)
        optim.apply_updates(theta, u)
        out.append(theta.copy())
    return np.array(out)


def grad_sequence(n=20, steps=15, seed=0):
    """Gradients of varying sign and scale (10⁻² … 10¹), so adaptive steps matter."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(steps, n)) * 10.0 ** rng.uniform(-2, 1, size=(steps, 1))


# -- (a) step-for-step parity with torch.optim ----------------------------------------------
ALL = np.ones(20, bool)     # torch decays every parameter; ffbp's default mask is weights only

CASES = {   # name: (ffbp factory, torch factory); both take the learning rate
    "sgd": (lambda lr: optim.sgd(lr), lambda t, p, lr: t.optim.SGD(p, lr=lr)),
    "sgd_wd": (lambda lr: optim.sgd(lr, weight_decay=0.1, mask=ALL),
               lambda t, p, lr: t.optim.SGD(p, lr=lr, weight_decay=0.1)),
    "momentum": (lambda lr: optim.sgd(lr, momentum=0.9),
                 lambda t, p, lr: t.optim.SGD(p, lr=lr, momentum=0.9)),
    "momentum_wd": (lambda lr: optim.momentum(lr, 0.8, weight_decay=0.05, mask=ALL),
                    lambda t, p, lr: t.optim.SGD(p, lr=lr, momentum=0.8, weight_decay=0.05)),
    "nesterov": (lambda lr: optim.sgd(lr, momentum=0.9, nesterov=True),
                 lambda t, p, lr: t.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True)),
    "nesterov_wd": (lambda lr: optim.sgd(lr, momentum=0.7, nesterov=True, weight_decay=0.1,
                                         mask=ALL),
                    lambda t, p, lr: t.optim.SGD(p, lr=lr, momentum=0.7, nesterov=True,
                                                 weight_decay=0.1)),
    "adam": (lambda lr: optim.adam(lr), lambda t, p, lr: t.optim.Adam(p, lr=lr)),
    "adam_wd": (lambda lr: optim.adam(lr, b1=0.8, b2=0.99, weight_decay=0.1, mask=ALL),
                lambda t, p, lr: t.optim.Adam(p, lr=lr, betas=(0.8, 0.99), weight_decay=0.1)),
    "adamw": (lambda lr: optim.adamw(lr, weight_decay=0.0),
              lambda t, p, lr: t.optim.AdamW(p, lr=lr, weight_decay=0.0)),
    "adamw_wd": (lambda lr: optim.adamw(lr, weight_decay=0.1, mask=ALL),
                 lambda t, p, lr: t.optim.AdamW(p, lr=lr, weight_decay=0.1)),
    "adamw_default": (lambda lr: optim.adamw(lr, mask=ALL),       # both default λ = 1e-2
                      lambda t, p, lr: t.optim.AdamW(p, lr=lr)),
    "rmsprop": (lambda lr: optim.rmsprop(lr), lambda t, p, lr: t.optim.RMSprop(p, lr=lr)),
    "rmsprop_wd": (lambda lr: optim.rmsprop(lr, decay=0.9, weight_decay=0.1, mask=ALL),
                   lambda t, p, lr: t.optim.RMSprop(p, lr=lr, alpha=0.9, weight_decay=0.1)),
    "rmsprop_momentum": (lambda lr: optim.rmsprop(lr, momentum=0.9),
                         lambda t, p, lr: t.optim.RMSprop(p, lr=lr, momentum=0.9)),
    "rmsprop_momentum_wd": (
        lambda lr: optim.rmsprop(lr, momentum=0.5, weight_decay=0.05, mask=ALL),
        lambda t, p, lr: t.optim.RMSprop(p, lr=lr, momentum=0.5, weight_decay=0.05)),
}


def torch_run(torch, make, theta0, grads, clip_norm=None, scheduler=None):
    p = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    opt = make(torch, [p])
    sched = scheduler(torch, opt) if scheduler else None
    out = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_([p], clip_norm)
        opt.step()
        if sched:
            sched.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)


def displacement_error(ours, ref, theta0):
    """max |θ_ours − θ_torch| over every step, relative to how far torch's θ moved: a pure
    parameter-relative figure would hide errors in small steps."""
    return np.abs(ours - ref).max() / np.abs(ref - theta0).max()


@pytest.mark.parametrize("lr", [1e-3, 0.03, 0.5])
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch_step_for_step(name, lr):
    torch = require("torch", "PyTorch's optimisers and schedules are the oracle")
    ours_factory, torch_factory = CASES[name]
    theta0 = np.random.default_rng(1).normal(size=20)
    grads = grad_sequence()
    ref = torch_run(torch, lambda t, p: torch_factory(t, p, lr), theta0, grads)
    assert displacement_error(run(ours_factory(lr), theta0, grads), ref, theta0) < 1e-10


def test_clip_norm_and_schedule_match_torch():
    """clip_norm and a schedule as learning rate, against clip_grad_norm_ + CosineAnnealingLR."""
    torch = require("torch", "PyTorch's optimisers and schedules are the oracle")
    theta0 = np.random.default_rng(2).normal(size=20)
    grads = grad_sequence(steps=12, seed=3)
    ours = run(optim.adamw(schedules.cosine(0.1, 12, final_lr=0.01), weight_decay=0.1,
                           mask=ALL, clip_norm=1.0), theta0, grads)
    ref = torch_run(torch, lambda t, p: t.optim.AdamW(p, lr=0.1, weight_decay=0.1), theta0,
                    grads, clip_norm=1.0,
                    scheduler=lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(
                        o, T_max=12, eta_min=0.01))
    assert displacement_error(ours, ref, theta0) < 1e-10


# -- (b) first steps by hand ----------------------------------------------------------------
THETA = [1.0, -2.0]
G1, G2 = [0.5, 0.25], [-1.0, 0.5]
HAND = {   # name: (optimiser, gradients, θ after the last one, computed by hand)
    "sgd": (optim.sgd(0.1), [G1], [1 - 0.1 * 0.5, -2 - 0.1 * 0.25]),
    # g + λθ = [0.5 + 0.1·1, 0.25 + 0.1·(−2)] = [0.6, 0.05]
    "sgd_wd": (optim.sgd(0.1, weight_decay=0.1), [G1], [1 - 0.1 * 0.6, -2 - 0.1 * 0.05]),
    # buf₁ = g₁, θ₁ = [0.95, −2.025]; buf₂ = 0.9 g₁ + g₂ = [−0.55, 0.725]
    "momentum": (optim.sgd(0.1, momentum=0.9), [G1, G2],
                 [0.95 - 0.1 * -0.55, -2.025 - 0.1 * 0.725]),
    # u₁ = g₁ + 0.9 g₁ = [0.95, 0.475], θ₁ = [0.905, −2.0475];
    # u₂ = g₂ + 0.9 buf₂ = [−1 − 0.495, 0.5 + 0.6525]
    "nesterov": (optim.sgd(0.1, momentum=0.9, nesterov=True), [G1, G2],
                 [0.905 - 0.1 * -1.495, -2.0475 - 0.1 * 1.1525]),
    # step 1: m = 0.1 g, v = 0.001 g², m̂ = g, √v̂ = |g|, so u = g / (|g| + ε)
    "adam": (optim.adam(0.01), [G1],
             [1 - 0.01 * 0.5 / (0.5 + EPS), -2 - 0.01 * 0.25 / (0.25 + EPS)]),
    # the same with g + λθ = [0.6, 0.05]
    "adam_wd": (optim.adam(0.01, weight_decay=0.1), [G1],
                [1 - 0.01 * 0.6 / (0.6 + EPS), -2 - 0.01 * 0.05 / (0.05 + EPS)]),
    # θ − α (g/(|g| + ε) + λθ)
    "adamw": (optim.adamw(0.01, weight_decay=0.1), [G1],
              [1 - 0.01 * (0.5 / (0.5 + EPS) + 0.1 * 1),
               -2 - 0.01 * (0.25 / (0.25 + EPS) + 0.1 * -2)]),
    # s = 0.01 g², √s = 0.1 |g| = [0.05, 0.025]
    "rmsprop": (optim.rmsprop(0.01), [G1],
                [1 - 0.01 * 0.5 / (0.05 + EPS), -2 - 0.01 * 0.25 / (0.025 + EPS)]),
    # g + λθ = [0.6, 0.05]; √s = [0.06, 0.005]
    "rmsprop_wd": (optim.rmsprop(0.01, weight_decay=0.1), [G1],
                   [1 - 0.01 * 0.6 / (0.06 + EPS), -2 - 0.01 * 0.05 / (0.005 + EPS)]),
}


def _adam_two_steps():
    # step 2 of Adam(α = 0.01) after G1, G2:
    # m = 0.9·[0.05, 0.025] + 0.1·[−1, 0.5] = [−0.055, 0.0725], 1 − β₁² = 0.19
    # v = 0.999·[0.00025, 0.0000625] + 0.001·[1, 0.25] = [0.00124975, 0.0003124375],
    # 1 − β₂² = 0.001999
    m_hat = np.array([-0.055, 0.0725]) / 0.19
    v_hat = np.array([0.00124975, 0.0003124375]) / 0.001999
    theta1 = np.array(HAND["adam"][2])
    return theta1 - 0.01 * m_hat / (np.sqrt(v_hat) + EPS)


def _rmsprop_momentum_two_steps():
    # d₁ = g₁ / (0.1 |g₁| + ε) = buf₁; s₂ = 0.99·0.01 g₁² + 0.01 g₂², buf₂ = 0.9 buf₁ + d₂
    d1 = np.array([0.5 / (0.05 + EPS), 0.25 / (0.025 + EPS)])
    s2 = 0.99 * 0.01 * np.array([0.25, 0.0625]) + 0.01 * np.array([1.0, 0.25])
    d2 = np.array(G2) / (np.sqrt(s2) + EPS)
    return np.array(THETA) - 0.01 * d1 - 0.01 * (0.9 * d1 + d2)


HAND["adam_two_steps"] = (optim.adam(0.01), [G1, G2], _adam_two_steps())
HAND["rmsprop_momentum"] = (optim.rmsprop(0.01, momentum=0.9), [G1, G2],
                            _rmsprop_momentum_two_steps())


@pytest.mark.parametrize("name", list(HAND))
def test_first_steps_by_hand(name):
    opt, grads, expected = HAND[name]
    np.testing.assert_allclose(run(opt, THETA, grads)[-1], expected, rtol=1e-13, atol=0)


def test_schedule_drives_the_step_size():
    # constant gradient 1, lr 1, 1, 0.5, 0.5, 0.25 → θ = 0 − (1 + 1 + 0.5 + 0.5 + 0.25)
    out = run(optim.sgd(schedules.step_decay(1.0, 2, 0.5)), [0.0], [[1.0]] * 5)
    np.testing.assert_array_equal(out[:, 0], [-1.0, -2.0, -2.5, -3.0, -3.25])


# -- (c) equivalences -----------------------------------------------------------------------
def test_adamw_without_decay_is_adam():
    theta0, grads = np.random.default_rng(4).normal(size=20), grad_sequence(seed=4)
    np.testing.assert_array_equal(run(optim.adamw(0.05, weight_decay=0.0), theta0, grads),
                                  run(optim.adam(0.05), theta0, grads))


def test_adam_is_the_chain_of_its_links():
    theta0, grads = np.random.default_rng(5).normal(size=20), grad_sequence(seed=5)
    chained = optim.chain(optim.scale_by_adam(), optim.scale_by_learning_rate(0.05))
    np.testing.assert_array_equal(run(optim.adam(0.05), theta0, grads),
                                  run(chained, theta0, grads))


# -- (d) convergence to known minima --------------------------------------------------------
A, C = np.array([1.0, 3.0, 10.0]), np.array([1.0, -2.0, 0.5])   # ½ Σ aᵢ (xᵢ − cᵢ)²


def descend(opt, grad, x0, steps):
    x = np.array(x0, dtype=float)
    state = opt.init(x)
    u = np.empty_like(x)
    for _ in range(steps):
        u[...] = grad(x)
        opt.update(u, state, x)
        optim.apply_updates(x, u)
    return x


def rosenbrock_grad(x):     # f = (1 − x)² + 100 (y − x²)², minimum at (1, 1)
    r = x[1] - x[0] ** 2
    return np.array([-2 * (1 - x[0]) - 400 * x[0] * r, 200 * r])


CONVERGE = {   # name: (bowl optimiser, Rosenbrock optimiser, Rosenbrock steps)
    "sgd": (optim.sgd(0.15), optim.sgd(1.9e-3), 20000),   # α < 2/λ_max(∇²f(1, 1)) ≈ 2e-3
    "momentum": (optim.sgd(0.05, momentum=0.9), optim.sgd(1e-3, momentum=0.9), 4000),
    "nesterov": (optim.sgd(0.05, momentum=0.9, nesterov=True),
                 optim.sgd(1e-3, momentum=0.9, nesterov=True), 4000),
    # constant-α Adam/RMSProp hover within ~α of the minimum; a cosine schedule anneals them
    "adam": (optim.adam(schedules.cosine(0.1, 600)),
             optim.adam(schedules.cosine(0.05, 5000)), 5000),
    "adamw": (optim.adamw(schedules.cosine(0.1, 600), weight_decay=0.0),
              optim.adamw(schedules.cosine(0.05, 5000), weight_decay=0.0), 5000),
    "rmsprop": (optim.rmsprop(schedules.cosine(0.05, 600)),
                optim.rmsprop(schedules.cosine(2e-3, 5000), momentum=0.9), 5000),
}


@pytest.mark.parametrize("name", list(CONVERGE))
def test_converges_on_quadratic_bowl(name):
    x = descend(CONVERGE[name][0], lambda x: A * (x - C), np.zeros(3), 600)
    assert np.linalg.norm(x - C) < 1e-4


@pytest.mark.parametrize("name", list(CONVERGE))
def test_converges_on_rosenbrock(name):
    _, opt, steps = CONVERGE[name]
    x = descend(opt, rosenbrock_grad, [-1.2, 1.0], steps)
    assert np.linalg.norm(x - 1.0) < 1e-3


@pytest.mark.parametrize("make", [
    lambda: optim.sgd(0.1, weight_decay=0.5),
    lambda: optim.sgd(0.05, momentum=0.9, weight_decay=0.5),
    lambda: optim.adam(schedules.cosine(0.1, 600), weight_decay=0.5),
    lambda: optim.rmsprop(schedules.cosine(0.05, 600), weight_decay=0.5),
])
def test_coupled_weight_decay_finds_the_regularised_minimum(make):
    # ½ Σ aᵢ (xᵢ − cᵢ)² + ½ λ ‖x‖² is smallest at x = a c / (a + λ)
    x = descend(make(), lambda x: A * (x - C), np.zeros(3), 600)
    np.testing.assert_allclose(x, A * C / (A + 0.5), atol=1e-4)


# -- (e) clipping and weight-decay masks ----------------------------------------------------
# norms far below, just below (torch's +1e-6 still scales), just above and far above 2
@pytest.mark.parametrize("norm", [0.05, 1.9999995, 2.0009, 7.0, 50.0])
def test_clip_by_global_norm_matches_torch(norm):
    torch = require("torch", "PyTorch's optimisers and schedules are the oracle")
    g = np.random.default_rng(6).normal(size=50)
    g *= norm / np.linalg.norm(g)
    t = torch.nn.Parameter(torch.zeros(50, dtype=torch.float64))
    t.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_norm_([t], max_norm=2.0)
    u = g.copy()
    optim.clip_by_global_norm(2.0).update(u, {}, np.zeros(50))
    np.testing.assert_allclose(u, t.grad.numpy(), rtol=1e-14, atol=0)


def test_clip_matches_np_clip():
    g = np.random.default_rng(7).normal(size=50) * 3
    u = g.copy()
    optim.clip(1.5).update(u, {}, np.zeros(50))
    np.testing.assert_array_equal(u, np.clip(g, -1.5, 1.5))


def small_net():
    return ffbp.Network([ffbp.Dense(3, 4), ffbp.Tanh(), ffbp.Dense(4, 2)], seed=0,
                        dtype=np.float64)


@pytest.mark.parametrize("make, shrink", [
    (lambda: optim.sgd(0.1, weight_decay=0.5), 1 - 0.1 * 0.5),
    # zero gradient: Adam's direction is 0 / (0 + ε) = 0, only the decay moves W
    (lambda: optim.adamw(0.1, weight_decay=0.5), 1 - 0.1 * 0.5),
])
def test_weight_decay_leaves_biases_untouched(make, shrink):
    net = small_net()
    for layer in (net.layers[0], net.layers[2]):
        layer.b.value[...] = 0.3       # non-zero biases, so decaying them would show
    before = {name: p.value.copy() for name, p in net.named_parameters()}
    opt = make()
    state = opt.init(net.flat_values, net)
    net.zero_grad()
    opt.update(net.flat_grads, state, net.flat_values)
    optim.apply_updates(net.flat_values, net.flat_grads)
    for name, p in net.named_parameters():
        expected = before[name] * (shrink if name.endswith("W") else 1.0)
        np.testing.assert_allclose(p.value, expected, rtol=1e-15, atol=0)


@pytest.mark.parametrize("kind", ["array", "callable", "none_without_net"])
def test_weight_decay_masks(kind):
    net = small_net()
    n = net.flat_values.size
    theta, g = np.linspace(-1, 1, n), np.full(n, 0.25)
    half = np.arange(n) < n // 2
    mask, want = {"array": (half, half), "callable": (lambda net: ~half, ~half),
                  "none_without_net": (None, np.ones(n, bool))}[kind]
    link = optim.add_decayed_weights(0.1, mask)
    state = link.init(theta, None if kind == "none_without_net" else net)
    u = g.copy()
    link.update(u, state, theta)
    np.testing.assert_allclose(u, np.where(want, 0.25 + 0.1 * theta, 0.25), rtol=1e-15)


# -- (f) schedules against torch.optim.lr_scheduler -----------------------------------------
def torch_lrs(torch, make_scheduler, n, metrics=None):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.5)
    sched = make_scheduler(torch, opt)
    lrs = [opt.param_groups[0]["lr"]]
    for i in range(n - 1):
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[i])
        lrs.append(opt.param_groups[0]["lr"])
    return np.array(lrs)


@pytest.mark.parametrize("ours, theirs", [
    (schedules.constant(0.5), lambda t, o: t.optim.lr_scheduler.ConstantLR(o, factor=1.0)),
    (schedules.step_decay(0.5, 3, 0.5), lambda t, o: t.optim.lr_scheduler.StepLR(o, 3, 0.5)),
    (schedules.exponential(0.5, 0.9), lambda t, o: t.optim.lr_scheduler.ExponentialLR(o, 0.9)),
    (schedules.cosine(0.5, 20, final_lr=0.01),
     lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=20, eta_min=0.01)),
])
def test_schedules_match_torch(ours, theirs):
    torch = require("torch", "PyTorch's optimisers and schedules are the oracle")
    np.testing.assert_allclose([ours(s) for s in range(21)], torch_lrs(torch, theirs, 21),
                               rtol=1e-12, atol=1e-15)


def test_cosine_warmup_by_hand():
    sched = schedules.cosine(1.0, total_steps=10, warmup_steps=4, final_lr=0.1)
    # warm-up t/4, then 0.1 + 0.45 (1 + cos(π (t − 4)/6)); flat at 0.1 from t = 10 on
    expected = [0, 0.25, 0.5, 0.75, 1.0, 0.1 + 0.45 * (1 + math.cos(math.pi / 6)),
                0.1 + 0.45 * 1.5, 0.55, 0.1 + 0.45 * 0.5, 0.1 + 0.45 * (1 - math.cos(math.pi / 6)),
                0.1, 0.1]
    np.testing.assert_allclose([sched(t) for t in range(12)], expected, rtol=1e-14, atol=1e-15)


def test_reduce_on_plateau_matches_torch():
    torch = require("torch", "PyTorch's optimisers and schedules are the oracle")
    # ×100 so that a relative threshold (0.1 here) and an absolute one (1e-3) disagree
    metrics = 100 * np.array([1.0, 0.9, 0.9, 0.8999, 0.95, 0.9, 0.7, 0.7, 0.71, 0.7, 0.69999,
                              0.7, 0.7, 0.7, 0.7, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    kw = dict(factor=0.5, patience=2, threshold=1e-3, min_lr=0.1)
    ref = torch_lrs(torch, lambda t, o: t.optim.lr_scheduler.ReduceLROnPlateau(o, **kw),
                    len(metrics) + 1, metrics)
    rop = schedules.reduce_on_plateau(0.5, **kw)
    ours = [rop(0)]
    for epoch, m in enumerate(metrics):
        rop.on_epoch_end(epoch, {"loss": 123.0, "val_loss": m})
        ours.append(rop(epoch + 1))
    assert ref.min() == 0.1 and len(set(ref)) == 4     # the sequence exercises min_lr too
    np.testing.assert_allclose(ours, ref, rtol=1e-15)


def test_reduce_on_plateau_falls_back_to_loss_and_drives_an_optimiser():
    rop = schedules.reduce_on_plateau(1.0, factor=0.5, patience=1)
    opt, theta = optim.sgd(rop), np.zeros(1)
    state = opt.init(theta)
    for epoch in range(3):                 # 1.0 then two epochs without improvement
        rop.on_epoch_end(epoch, {"loss": 1.0})
    u = np.ones(1)
    opt.update(u, state, theta)
    assert u[0] == -0.5                    # −α g with α halved once


# -- (g) in a real fit; speed habits ---------------------------------------------------------
def test_fit_with_adam_reduces_the_loss():
    rng = np.random.default_rng(8)
    X = rng.uniform(-1, 1, size=(128, 2))
    y = (np.sin(2 * X[:, 0]) + X[:, 1] ** 2)[:, None]
    net = ffbp.Network([ffbp.Dense(2, 16), ffbp.Tanh(), ffbp.Dense(16, 1)], seed=0)
    net.fit(X, y, loss="mse", optimizer=optim.adam(0.02), epochs=60, batch_size=16,
            seed=0, verbose=False)
    baseline = np.mean((y - y.mean()) ** 2)        # MSE of the best constant prediction
    assert np.mean((net.predict(X) - y) ** 2) < 0.05 * baseline


OPTIMISERS = [
    lambda: optim.sgd(0.1, momentum=0.9, nesterov=True, weight_decay=0.1, clip_norm=1.0),
    lambda: optim.adam(0.1, weight_decay=0.1, clip_norm=1.0),
    lambda: optim.adamw(0.1, clip_norm=1.0),
    lambda: optim.rmsprop(0.1, momentum=0.9, weight_decay=0.1, clip_norm=1.0),
    lambda: optim.chain(optim.clip(1.0), optim.identity(), optim.scale_by_learning_rate(0.1)),
]


@pytest.mark.parametrize("make", OPTIMISERS)
def test_steps_allocate_no_parameter_sized_temporaries(make):
    n = 200_000                                    # 1.6 MB per float64 vector
    theta, g = np.ones(n), np.random.default_rng(9).normal(size=n)
    opt = make()
    state = opt.init(theta)
    opt.update(g.copy(), state, theta)             # warm up
    u = g.copy()
    tracemalloc.start()
    opt.update(u, state, theta)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.1 * theta.nbytes


@pytest.mark.parametrize("name", list(CASES))
def test_float32_stays_float32_and_tracks_torch(name):
    """float32 (ffbp's default): no silent up-casting, and still torch's trajectory."""
    torch = require("torch", "PyTorch's optimisers and schedules are the oracle")
    ours_factory, torch_factory = CASES[name]
    theta0, grads = np.random.default_rng(10).normal(size=20), grad_sequence(seed=10)
    theta = theta0.astype(np.float32)
    opt = ours_factory(0.03)
    state = opt.init(theta)
    for g in grads:
        u = g.astype(np.float32)
        opt.update(u, state, theta)
        optim.apply_updates(theta, u)
    assert theta.dtype == np.float32 and u.dtype == np.float32
    arrays = [v for s in state for v in s
              if isinstance(v, np.ndarray) and v.ndim == 1]       # moments, not step counts
    assert all(a.dtype == np.float32 for a in arrays)
    ref = torch_run(torch, lambda t, p: torch_factory(t, p, 0.03), theta0, grads)[-1]
    assert displacement_error(theta, ref, theta0) < 1e-5


@pytest.mark.parametrize("build", [
    lambda: optim.sgd(0.1, nesterov=True),                      # Nesterov needs momentum
    lambda: optim.adam(0.1, b1=1.0),
    lambda: optim.sgd(-0.1),
    lambda: optim.clip_by_global_norm(0.0),
    lambda: optim.add_decayed_weights(0.1, np.ones(3, bool)).init(np.zeros(4)),
    lambda: optim.add_decayed_weights(0.1, lambda net: None).init(np.zeros(4)),
    lambda: schedules.cosine(0.1, total_steps=10, warmup_steps=10),
])
def test_bad_configuration_is_a_config_error(build):
    with pytest.raises(ffbp.ConfigError):
        build()


@pytest.mark.parametrize("name,key,steps", [("adam", "mu", 800), ("momentum", "trace", 800),
                                            ("rmsprop", "nu", 7500)])
def test_moments_of_dead_parameters_are_flushed_not_subnormal(name, key, steps):
    """A parameter whose gradient has become 0 has its moments decay geometrically; below
    the smallest normal float they are stored as exact 0 (subnormals are ~100x slower).
    The step counts put the unflushed moment inside the subnormal range
    (1e-4·0.9**800 ≈ 1e-41 for Adam's m, 1e-3·0.9**800 for momentum, 1e-8·0.99**7500)."""
    opt = {"adam": lambda: optim.adam(1e-3), "rmsprop": lambda: optim.rmsprop(1e-3),
           "momentum": lambda: optim.momentum(1e-3, 0.9)}[name]()
    theta = np.ones(4, np.float32)
    state = opt.init(theta)
    for step in range(steps):
        u = np.array([1e-3, 0, 0, 0], np.float32) if step == 0 else np.zeros(4, np.float32)
        opt.update(u, state, theta)
    m = next(getattr(s, key) for s in state if key in type(s)._fields)
    assert (m == 0).all()
