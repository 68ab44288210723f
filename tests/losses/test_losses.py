"""Every loss in ffbp.losses against independent oracles: central finite differences in
float64, PyTorch (values and autograd gradients, float64), values worked out by hand, and
the documented errors for bad targets. Inputs stay away from the kinks of MAE, Huber and
the margin losses, where a finite difference straddles two branches."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import numerical_gradient, relative_error, require

import ffbp
from ffbp.errors import ConfigError, DataError, FFBPError, ShapeError
from ffbp.losses import (
    MAE,
    MSE,
    NLL,
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CosineEmbedding,
    CrossEntropy,
    CrossEntropyWithLogits,
    Hinge,
    HingeEmbedding,
    Huber,
    MultiMargin,
    SquaredError,
)

N, K = 5, 3
#: Sample weights with a zero (that sample must not count) and uneven magnitudes.
WEIGHTS = np.array([0.5, 2.0, 0.0, 1.0, 3.0])
#: Nothing closer than this to a kink: the finite-difference step is 1e-6.
GAP = 0.05


# -- data makers (float64, away from kinks) ----------------------------------------------

def _softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _sigmoid(Z):
    return 1.0 / (1.0 + np.exp(-Z))


def _away(rng, size, lo=GAP, hi=1.0):
    """Random magnitudes in [lo, hi] with random signs."""
    return rng.uniform(lo, hi, size=size) * rng.choice([-1.0, 1.0], size=size)


def _regression(rng):
    T = rng.normal(size=(N, K))
    return T + _away(rng, (N, K), 0.1, 2.0), T


def _huber(delta):
    def make(rng):
        T = rng.normal(size=(N, K))
        # half the residuals inside the quadratic zone, half in the linear one
        inside = rng.uniform(GAP, delta - GAP, size=(N, K))
        outside = rng.uniform(delta + GAP, delta + 2.0, size=(N, K))
        mag = np.where(rng.random((N, K)) < 0.5, inside, outside)
        return T + mag * rng.choice([-1.0, 1.0], size=(N, K)), T
    return make


def _classes(rng):
    return rng.integers(0, K, size=N)


def _probabilities(rng):
    return _softmax(rng.normal(size=(N, K))), _classes(rng)


def _logits(rng):
    return rng.normal(scale=2.0, size=(N, K)), _classes(rng)


def _log_probabilities(rng):
    return np.log(_softmax(rng.normal(size=(N, K)))), _classes(rng)


def _binary_probabilities(rng):
    return _sigmoid(rng.normal(size=(N, K))), rng.integers(0, 2, size=(N, K)).astype(float)


def _binary_soft(rng):
    return _sigmoid(rng.normal(size=(N, K))), rng.uniform(0, 1, size=(N, K))


def _binary_logits(rng):
    return rng.normal(scale=2.0, size=(N, K)), rng.integers(0, 2, size=(N, K)).astype(float)


def _hinge(margin):
    def make(rng):
        T = rng.choice([-1.0, 1.0], size=(N, K))
        # t·y = margin ± something: about half the margins violated
        return T * (margin + _away(rng, (N, K), GAP, 1.5)), T
    return make


def _multi_margin(margin):
    def make(rng):
        for _ in range(100):
            Y, c = rng.normal(size=(N, K)), _classes(rng)
            slack = margin - Y[np.arange(N), c][:, None] + Y
            slack[np.arange(N), c] = 1.0
            if np.abs(slack).min() > GAP:
                return Y, c
        raise AssertionError("no draw away from the kinks")
    return make


def _hinge_embedding(margin):
    def make(rng):
        T = rng.choice([-1.0, 1.0], size=(N, K))
        return margin + _away(rng, (N, K), GAP, 1.5), T
    return make


def _cosine(margin):
    def make(rng):
        for _ in range(100):
            Y, V = rng.normal(size=(N, K)), rng.normal(size=(N, K))
            s = np.array([1.0, -1.0, 1.0, -1.0, -1.0])
            cos = (Y * V).sum(1) / np.linalg.norm(Y, axis=1) / np.linalg.norm(V, axis=1)
            # the dissimilar pairs must include one on each side of the margin
            neg = cos[s < 0] - margin
            if np.abs(neg).min() > GAP and (neg > 0).any() and (neg < 0).any():
                return Y, CosineEmbedding.targets(V, s)
        raise AssertionError("no draw away from the kinks")
    return make


# -- PyTorch per-sample oracles: (torch, Y tensor, T array) -> (n,) tensor ---------------

def _t(torch, a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def _idx(torch, c):
    return torch.tensor(np.asarray(c), dtype=torch.long)


def _torch_huber(delta):
    return lambda torch, Y, T: torch.nn.HuberLoss(reduction="none", delta=delta)(
        Y, _t(torch, T)).mean(1)


def _torch_hinge(margin):
    return lambda torch, Y, T: torch.clamp(margin - _t(torch, T) * Y, min=0).mean(1)


def _torch_multi_margin(margin):
    return lambda torch, Y, c: torch.nn.MultiMarginLoss(margin=margin, reduction="none")(
        Y, _idx(torch, c))


def _torch_hinge_embedding(margin):
    return lambda torch, Y, T: torch.nn.HingeEmbeddingLoss(margin=margin, reduction="none")(
        Y, _t(torch, T)).mean(1)


def _torch_cosine(margin):
    def oracle(torch, Y, T):
        V, s = _t(torch, T[:, :-1]), _t(torch, T[:, -1])
        return torch.nn.CosineEmbeddingLoss(margin=margin, reduction="none")(Y, V, s)
    return oracle


def _torch_ce_soft(torch, Y, T):
    # CrossEntropy on probabilities with soft targets: -Σ t log y
    return -(_t(torch, T) * torch.log(Y)).sum(1)


@dataclass
class Case:
    loss: Callable
    make: Callable
    torch: Callable


CASES = {
    "squared_error": Case(
        SquaredError, _regression,
        lambda torch, Y, T: 0.5 * torch.nn.MSELoss(reduction="none")(Y, _t(torch, T)).sum(1)),
    "mse": Case(MSE, _regression,
                lambda torch, Y, T: torch.nn.MSELoss(reduction="none")(Y, _t(torch, T)).mean(1)),
    "mae": Case(MAE, _regression,
                lambda torch, Y, T: torch.nn.L1Loss(reduction="none")(Y, _t(torch, T)).mean(1)),
    "huber": Case(Huber, _huber(1.0), _torch_huber(1.0)),
    "huber_delta0.6": Case(lambda: Huber(0.6), _huber(0.6), _torch_huber(0.6)),
    "huber_delta2": Case(lambda: Huber(2.0), _huber(2.0), _torch_huber(2.0)),
    "cross_entropy": Case(
        CrossEntropy, _probabilities,
        lambda torch, Y, c: torch.nn.NLLLoss(reduction="none")(torch.log(Y), _idx(torch, c))),
    "cross_entropy_soft": Case(
        CrossEntropy, lambda rng: (_probabilities(rng)[0], _softmax(rng.normal(size=(N, K)))),
        _torch_ce_soft),
    "cross_entropy_with_logits": Case(
        CrossEntropyWithLogits, _logits,
        lambda torch, Y, c: torch.nn.CrossEntropyLoss(reduction="none")(Y, _idx(torch, c))),
    "cross_entropy_with_logits_soft": Case(
        CrossEntropyWithLogits,
        lambda rng: (_logits(rng)[0], _softmax(rng.normal(size=(N, K)))),
        lambda torch, Y, T: torch.nn.CrossEntropyLoss(reduction="none")(Y, _t(torch, T))),
    "nll": Case(
        NLL, _log_probabilities,
        lambda torch, Y, c: torch.nn.NLLLoss(reduction="none")(Y, _idx(torch, c))),
    "bce": Case(
        BinaryCrossEntropy, _binary_probabilities,
        lambda torch, Y, T: torch.nn.BCELoss(reduction="none")(Y, _t(torch, T)).mean(1)),
    "bce_soft": Case(
        BinaryCrossEntropy, _binary_soft,
        lambda torch, Y, T: torch.nn.BCELoss(reduction="none")(Y, _t(torch, T)).mean(1)),
    "bce_with_logits": Case(
        BinaryCrossEntropyWithLogits, _binary_logits,
        lambda torch, Y, T: torch.nn.BCEWithLogitsLoss(reduction="none")(
            Y, _t(torch, T)).mean(1)),
    "hinge": Case(Hinge, _hinge(1.0), _torch_hinge(1.0)),
    "hinge_margin0.5": Case(lambda: Hinge(margin=0.5), _hinge(0.5), _torch_hinge(0.5)),
    "multi_margin": Case(MultiMargin, _multi_margin(1.0), _torch_multi_margin(1.0)),
    "multi_margin_margin0.3": Case(lambda: MultiMargin(margin=0.3), _multi_margin(0.3),
                                   _torch_multi_margin(0.3)),
    "hinge_embedding": Case(HingeEmbedding, _hinge_embedding(1.0), _torch_hinge_embedding(1.0)),
    "hinge_embedding_margin2": Case(lambda: HingeEmbedding(margin=2.0), _hinge_embedding(2.0),
                                    _torch_hinge_embedding(2.0)),
    "cosine_embedding": Case(CosineEmbedding, _cosine(0.0), _torch_cosine(0.0)),
    "cosine_embedding_margin0.2": Case(lambda: CosineEmbedding(margin=0.2), _cosine(0.2),
                                       _torch_cosine(0.2)),
}

WEIGHTING = pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])


def _data(name):
    # a fixed generator per case, so each test sees the same (kink-free) draw
    seed = sum(map(ord, name))
    return CASES[name].make(np.random.default_rng(seed))


# -- 1. gradient vs central finite differences ----------------------------------------------

@pytest.mark.parametrize("name", CASES)
@WEIGHTING
def test_gradient_matches_finite_differences(name, weighted):
    loss = CASES[name].loss()
    Y, T = _data(name)
    w = WEIGHTS if weighted else None
    analytic = loss.gradient(Y, T, sample_weight=w)
    assert analytic.shape == Y.shape
    numeric = numerical_gradient(lambda: loss(Y, T, sample_weight=w), Y)
    assert relative_error(analytic, numeric) < 1e-6
    if weighted:  # the zero-weight sample gets no gradient at all
        assert np.all(analytic[2] == 0)


# -- 2. values and gradients vs PyTorch ------------------------------------------------------

@pytest.mark.parametrize("name", CASES)
@WEIGHTING
def test_matches_torch(name, weighted):
    torch = require("torch", "PyTorch's loss values and autograd gradients are the oracle")
    case = CASES[name]
    loss = case.loss()
    Y, T = _data(name)
    Yt = torch.tensor(Y, requires_grad=True)
    per_sample = case.torch(torch, Yt, T)
    if weighted:
        w = torch.tensor(WEIGHTS)
        total = (w * per_sample).sum() / w.sum()
    else:
        total = per_sample.mean()
    total.backward()
    np.testing.assert_allclose(loss.per_sample(Y, T), per_sample.detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    # Σ w l / Σ w: the same for w, 10 w and a list; all-ones weights are the plain mean
    for w in ([WEIGHTS, 10 * WEIGHTS, list(WEIGHTS)] if weighted else [None, np.ones(N)]):
        assert loss(Y, T, sample_weight=w) == pytest.approx(total.item(), rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(loss.gradient(Y, T, sample_weight=w), Yt.grad.numpy(),
                                   rtol=1e-9, atol=1e-12)


def test_all_losses_covered():
    """The case table names every loss class ffbp.losses exports."""
    exported = [getattr(ffbp.losses, n) for n in ffbp.losses.__all__]
    exported = {c for c in exported if isinstance(c, type) and c is not ffbp.losses.Loss}
    assert exported == set(ffbp.losses.LOSSES.values())
    covered = {type(case.loss()) for case in CASES.values()}
    assert exported == covered


# -- 3. values worked out by hand --------------------------------------------------------------

Y2 = np.array([[1.0, 2.0], [0.0, -1.0]])
D2 = np.array([[0.0, 4.0], [0.5, 1.0]])   # residuals y − d: [1, −2] and [−0.5, −2]


@pytest.mark.parametrize("loss,value,grad", [
    # ½Σ(d−y)²: ½(1 + 4) = 2.5 and ½(0.25 + 4) = 2.125, mean 2.3125; ∂/∂y = (y − d)/n
    (SquaredError(), 2.3125, [[0.5, -1.0], [-0.25, -1.0]]),
    # (1/k)Σ(y−d)²: 2.5 and 2.125 again (k = 2); ∂/∂y = 2(y − d)/(k n)
    (MSE(), 2.3125, [[0.5, -1.0], [-0.25, -1.0]]),
    # (1/k)Σ|y−d|: 1.5 and 1.25, mean 1.375; ∂/∂y = sign/(k n)
    (MAE(), 1.375, [[0.25, -0.25], [-0.25, -0.25]]),
    # δ = 1.5: (½·1 + 1.5(2 − 0.75)) / 2 = 1.1875, (½·0.25 + 1.875) / 2 = 1.0; mean 1.09375
    # ∂/∂y = clip(y − d, −δ, δ)/(k n)
    (Huber(1.5), 1.09375, [[0.25, -0.375], [-0.125, -0.375]]),
])
def test_regression_by_hand(loss, value, grad):
    assert loss(Y2, D2) == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(loss.gradient(Y2, D2), grad, rtol=1e-12)


def test_squared_error_single_sample_is_tutorial_formula():
    # tutorial 002: E = ½ Σ (d − y)², ∂E/∂y = −(d − y)
    y, d = np.array([[0.8, 0.2, 0.6]]), np.array([[1.0, 0.0, 1.0]])
    assert SquaredError()(y, d) == pytest.approx(0.5 * (0.04 + 0.04 + 0.16), rel=1e-12)
    np.testing.assert_allclose(SquaredError().gradient(y, d), [[-0.2, 0.2, -0.4]], atol=1e-15)


def test_cross_entropy_by_hand():
    P = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    labels = np.array([0, 2])
    # −log 0.7 = 0.356674943938732..., −log 0.5 = log 2 = 0.693147180559945...
    assert CrossEntropy().per_sample(P, labels) == pytest.approx(
        [0.35667494393873245, 0.6931471805599453], rel=1e-12)
    assert CrossEntropy()(P, labels) == pytest.approx(0.5249110622493389, rel=1e-12)
    # ∂E/∂y = −t/y / n
    np.testing.assert_allclose(CrossEntropy().gradient(P, labels),
                               [[-1 / 0.7 / 2, 0, 0], [0, 0, -1 / 0.5 / 2]], rtol=1e-12)
    # a soft target row: −(0.5 log 0.7 + 0.5 log 0.2)
    soft = np.array([[0.5, 0.5, 0.0]])
    assert CrossEntropy()(P[:1], soft) == pytest.approx(
        -(0.5 * math.log(0.7) + 0.5 * math.log(0.2)), rel=1e-12)


def test_cross_entropy_with_logits_by_hand():
    # z = [0, 0, log 2] → softmax [¼, ¼, ½]; label 2 → E = log 2, ∂E/∂z = [¼, ¼, −½]
    z = np.array([[0.0, 0.0, math.log(2.0)]])
    assert CrossEntropyWithLogits()(z, [2]) == pytest.approx(math.log(2.0), rel=1e-12)
    np.testing.assert_allclose(CrossEntropyWithLogits().gradient(z, [2]),
                               [[0.25, 0.25, -0.5]], rtol=1e-12)
    # huge logits: log-sum-exp keeps it finite; E = 1000 − (−1000) = 2000 for the wrong class
    big = np.array([[1000.0, -1000.0]])
    assert CrossEntropyWithLogits()(big, [1]) == pytest.approx(2000.0, rel=1e-12)
    assert CrossEntropyWithLogits()(big, [0]) == pytest.approx(0.0, abs=1e-300)
    np.testing.assert_allclose(CrossEntropyWithLogits().gradient(big, [1]), [[1.0, -1.0]])


def test_nll_by_hand():
    logp = np.log(np.array([[0.7, 0.2, 0.1]]))
    assert NLL()(logp, [1]) == pytest.approx(-math.log(0.2), rel=1e-12)
    np.testing.assert_allclose(NLL().gradient(logp, [1]), [[0.0, -1.0, 0.0]])


def test_binary_cross_entropy_by_hand():
    Y = np.array([[0.8], [0.8], [0.5]])
    T = np.array([[1.0], [0.0], [1.0]])
    expected = [-math.log(0.8), -math.log(0.2), math.log(2.0)]
    assert BinaryCrossEntropy().per_sample(Y, T) == pytest.approx(expected, rel=1e-12)
    # ∂E/∂y = (y − t)/(y(1 − y)) / n
    np.testing.assert_allclose(BinaryCrossEntropy().gradient(Y, T),
                               [[-1 / 0.8 / 3], [1 / 0.2 / 3], [-2.0 / 3]], rtol=1e-12)
    # two outputs average: ½(−log 0.8 − log 0.2)
    assert BinaryCrossEntropy()([[0.8, 0.8]], [[1, 0]]) == pytest.approx(
        -0.5 * (math.log(0.8) + math.log(0.2)), rel=1e-12)


def test_binary_cross_entropy_with_logits_by_hand():
    # z = 0: σ = ½, E = log 2 whatever the label; ∂E/∂z = ½ − t
    z = np.zeros((2, 1))
    assert BinaryCrossEntropyWithLogits().per_sample(z, [1, 0]) == pytest.approx(
        [math.log(2.0)] * 2, rel=1e-12)
    np.testing.assert_allclose(BinaryCrossEntropyWithLogits().gradient(z, [1, 0]),
                               [[-0.25], [0.25]], rtol=1e-12)
    # z = ±800 would overflow e^z: the stable form gives E ≈ 0 right, 800 wrong
    big = np.array([[800.0], [-800.0]])
    assert BinaryCrossEntropyWithLogits().per_sample(big, [1, 1]) == pytest.approx(
        [0.0, 800.0], abs=1e-12)


def test_hinge_by_hand():
    y = np.array([[0.3], [-2.0], [2.0], [-3.0]])
    t = np.array([1, 1, -1, -1])
    # max(0, 1 − t y): 0.7, 3, 3, 0
    assert Hinge().per_sample(y, t) == pytest.approx([0.7, 3.0, 3.0, 0.0], rel=1e-12)
    # violated margins pull y towards t: −t/n, the satisfied one contributes nothing
    np.testing.assert_allclose(Hinge().gradient(y, t), [[-0.25], [-0.25], [0.25], [0.0]])
    assert Hinge(margin=2.0).per_sample(y, t) == pytest.approx([1.7, 4.0, 4.0, 0.0])


def test_multi_margin_by_hand():
    y = np.array([[1.0, 0.5, -1.0]])
    # class 0: [max(0, 1 − 1 + 0.5) + max(0, 1 − 1 − 1)] / 3 = 0.5 / 3
    assert MultiMargin()(y, [0]) == pytest.approx(0.5 / 3, rel=1e-12)
    # one violation (class 1): y₁ up by 1/3, y₀ down by 1/3
    np.testing.assert_allclose(MultiMargin().gradient(y, [0]), [[-1 / 3, 1 / 3, 0.0]])
    # class 2: [max(0, 1 + 1 + 1) + max(0, 1 + 1 + 0.5)] / 3 = 5.5 / 3, two violations
    assert MultiMargin()(y, [2]) == pytest.approx(5.5 / 3, rel=1e-12)
    np.testing.assert_allclose(MultiMargin().gradient(y, [2]), [[1 / 3, 1 / 3, -2 / 3]])


def test_hinge_embedding_by_hand():
    y = np.array([[0.3], [0.3], [1.5]])
    t = np.array([1, -1, -1])
    # similar: E = y; dissimilar: max(0, 1 − y)
    assert HingeEmbedding().per_sample(y, t) == pytest.approx([0.3, 0.7, 0.0], rel=1e-12)
    np.testing.assert_allclose(HingeEmbedding().gradient(y, t), [[1 / 3], [-1 / 3], [0.0]])


def test_cosine_embedding_by_hand():
    Y = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    V = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [0.0, 3.0]])
    s = np.array([1, -1, -1, 1])
    T = CosineEmbedding.targets(V, s)
    assert T.shape == (4, 3)
    c = 1 / math.sqrt(2)   # cos 45°
    assert CosineEmbedding().per_sample(Y, T) == pytest.approx([1 - c, c, 0.0, 1.0], rel=1e-10)
    assert CosineEmbedding(margin=0.5).per_sample(Y, T) == pytest.approx(
        [1 - c, c - 0.5, 0.0, 1.0], rel=1e-10)
    # sample 3: cos = y₂/‖y‖ near y = (2, 0), so ∂(1 − cos)/∂y = (0, −1/2); /n = 4
    np.testing.assert_allclose(CosineEmbedding().gradient(Y[3:], T[3:]), [[0.0, -0.5]],
                               atol=1e-10)


# -- tutorial 001: the fused softmax/sigmoid gradient y − t -------------------------------------

@WEIGHTING
def test_softmax_cross_entropy_fused_gradient_is_y_minus_t(weighted):
    rng = np.random.default_rng(1)
    Z = rng.normal(scale=2.0, size=(N, K))
    labels = _classes(rng)
    T = np.eye(K)[labels]
    w = WEIGHTS if weighted else None
    coef = (WEIGHTS / WEIGHTS.sum() if weighted else np.full(N, 1 / N))[:, None]
    loss = CrossEntropy()
    Y = _softmax(Z)
    fused = loss.fused_gradient(Y, labels, sample_weight=w)
    np.testing.assert_allclose(fused, (Y - T) * coef, rtol=1e-12, atol=1e-15)
    # the general path: Softmax Jacobian times ∂E/∂y, i.e. the softmax layer's backward
    softmax = ffbp.Softmax()
    Y_layer = softmax.forward(Z)
    general = softmax.backward(loss.gradient(Y_layer, labels, sample_weight=w))
    np.testing.assert_allclose(general, fused, rtol=1e-10, atol=1e-15)
    # and the fused gradient really is ∂E(softmax(z))/∂z
    numeric = numerical_gradient(lambda: loss(_softmax(Z), labels, sample_weight=w), Z)
    assert relative_error(fused, numeric) < 1e-6


@WEIGHTING
def test_sigmoid_binary_cross_entropy_fused_gradient_is_y_minus_t(weighted):
    rng = np.random.default_rng(2)
    Z = rng.normal(scale=2.0, size=(N, K))
    T = rng.integers(0, 2, size=(N, K)).astype(float)
    w = WEIGHTS if weighted else None
    coef = (WEIGHTS / WEIGHTS.sum() if weighted else np.full(N, 1 / N))[:, None]
    loss = BinaryCrossEntropy()
    Y = _sigmoid(Z)
    fused = loss.fused_gradient(Y, T, sample_weight=w)
    np.testing.assert_allclose(fused, (Y - T) / K * coef, rtol=1e-12, atol=1e-15)
    sigmoid = ffbp.Sigmoid()
    Y_layer = sigmoid.forward(Z)
    general = sigmoid.backward(loss.gradient(Y_layer, T, sample_weight=w))
    np.testing.assert_allclose(general, fused, rtol=1e-10, atol=1e-15)
    numeric = numerical_gradient(lambda: loss(_sigmoid(Z), T, sample_weight=w), Z)
    assert relative_error(fused, numeric) < 1e-6


def test_fused_gradient_stays_exact_when_the_output_saturates():
    # softmax([1000, 0, −1000]) = [1, 0, 0] exactly: the fused form is still y − t
    Y = _softmax(np.array([[1000.0, 0.0, -1000.0]]))
    np.testing.assert_array_equal(CrossEntropy().fused_gradient(Y, [1]), [[1.0, -1.0, 0.0]])
    np.testing.assert_array_equal(CrossEntropy().fused_gradient(Y, [0]), [[0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(
        BinaryCrossEntropy().fused_gradient(np.array([[1.0, 0.0]]), [[0, 0]]), [[0.5, 0.0]])


def _saturated_network(output, bias):
    """Dense(3, 4) → Tanh → Dense(4, 3) → output in float64, whose logits are ``bias`` ± 1."""
    net = ffbp.Network([ffbp.Dense(3, 4), ffbp.Tanh(), ffbp.Dense(4, 3), output],
                       seed=0, dtype=np.float64)
    last = net.layers[2]
    last.W.value[...] = np.random.default_rng(5).uniform(-0.25, 0.25, size=(4, 3))
    last.b.value[...] = bias
    return net


#: Logits of about ±30: σ(−30) ≈ 9.4e-14 and softmax probabilities of e^−30 are far below the
#: 1e-12 that once clipped the gradient too (the general path then gave a bias gradient of
#: ≈ 0.094 instead of 1 for a confidently wrong output), yet 1 − σ(31) ≈ 3e-14 is still a
#: float64 above the rounding of 1 (1.1e-16), so both paths can be exact here.
SATURATED = {
    "sigmoid+bce": (ffbp.Sigmoid, BinaryCrossEntropy, [30.0, -30.0, 29.0],
                    lambda rng, n: rng.integers(0, 2, size=(n, 3)).astype(float)),
    "softmax+cross_entropy": (ffbp.Softmax, CrossEntropy, [30.0, 0.0, -2.0],
                              lambda rng, n: np.arange(n) % 3),
}


def _general_and_fused(net, loss, X, T):
    """Every parameter's gradient by net.backward(loss.gradient(Y, T)) and by the fused y − t
    path of compute_gradients."""
    assert net.uses_fused_gradient(loss)
    net.backward(loss.gradient(net.forward(X), T))
    general = [p.grad.copy() for _, p in net.named_parameters()]
    net.compute_gradients(X, T, loss)
    fused = [p.grad.copy() for _, p in net.named_parameters()]
    return general, fused


@pytest.mark.parametrize("case", SATURATED)
def test_general_path_agrees_with_the_fused_path_at_large_logits(case):
    """The gradient ∂E/∂y is never clipped (only the logarithms are): through the output
    layer's Jacobian it gives the fused y − t to rounding, also where a probability is
    ~1e-13 and the sample is confidently wrong (a gradient of magnitude ≈ 1)."""
    output, loss_cls, bias, targets = SATURATED[case]
    rng = np.random.default_rng(6)
    X, net, loss = rng.normal(size=(9, 3)), _saturated_network(output(), bias), loss_cls()
    T = targets(rng, 9)
    Y = net.forward(X)
    assert Y.min() < 1e-12                           # below the old clip: the defect's regime
    general, fused = _general_and_fused(net, loss, X, T)
    for (name, _), g, f in zip(net.named_parameters(), general, fused, strict=True):
        np.testing.assert_allclose(g, f, rtol=1e-9, atol=1e-13, err_msg=name)
    # the output bias carries Σ (y − t)/n: confidently wrong outputs pull with ≈ 1 each
    assert np.abs(fused[3]).max() > 0.1


@pytest.mark.parametrize("case", SATURATED)
def test_saturated_gradients_match_torch_autograd(case):
    """PyTorch autograd of the loss written out (−Σ t log y, −[t log y + (1 − t) log(1 − y)],
    so torch clips nothing) on the same float64 network: ffbp's general path matches it."""
    torch = require("torch", "PyTorch autograd of the written-out loss is the oracle")
    from test_network_gradients import _torch_forward

    output, loss_cls, bias, targets = SATURATED[case]
    rng = np.random.default_rng(6)
    X, net, loss = rng.normal(size=(9, 3)), _saturated_network(output(), bias), loss_cls()
    T = loss.prepare_targets(targets(rng, 9), 3)
    general, _ = _general_and_fused(net, loss, X, T)
    Y, params = _torch_forward(torch, net, X)
    t = torch.tensor(T)
    if loss_cls is CrossEntropy:
        E = -(t * torch.log(Y)).sum(dim=1).mean()
    else:
        E = -(t * torch.log(Y) + (1 - t) * torch.log(1 - Y)).mean()
    E.backward()            # (the values differ: ffbp's logarithms clip y at 1e-12)
    for (name, _), mine, theirs in zip(net.named_parameters(), general, params, strict=True):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-9, atol=1e-13,
                                   err_msg=name)


def test_gradient_at_a_probability_of_exactly_zero_is_finite_and_back_propagates_to_zero():
    """softmax([1000, 0, −1000]) = [1, 0, 0] and σ(±800) = 1, 0 exactly: where the target
    has weight on a zero probability the true ∂E/∂y is −∞. It is the most negative finite
    float instead, so that the output layer's zero derivative turns it into 0 (not NaN,
    which inf · 0 would give; RuntimeWarnings are errors in these tests). Float cannot
    carry the fused −1 through there: the probability that would say so is gone."""
    big = np.finfo(np.float64).max
    softmax = ffbp.Softmax()
    Y = softmax.forward(np.array([[1000.0, 0.0, -1000.0]]))
    g = CrossEntropy().gradient(Y, [1])
    np.testing.assert_array_equal(g, [[0.0, -big, 0.0]])
    np.testing.assert_array_equal(softmax.backward(g), [[0.0, 0.0, 0.0]])
    sigmoid = ffbp.Sigmoid()
    Y = sigmoid.forward(np.array([[800.0, -800.0, 800.0, -800.0]]))
    np.testing.assert_array_equal(Y, [[1.0, 0.0, 1.0, 0.0]])
    g = BinaryCrossEntropy().gradient(Y, [[0, 1, 1, 0]])
    # wrong side: ± the largest float (then / k); right side: the finite limits −1/y, 1/(1 − y)
    np.testing.assert_array_equal(g, [[big / 4, -big / 4, -0.25, 0.25]])
    np.testing.assert_array_equal(sigmoid.backward(g), [[0.0, 0.0, 0.0, 0.0]])


@pytest.mark.parametrize("loss", [MSE(), CrossEntropyWithLogits(), NLL(), Hinge()])
def test_no_fused_gradient_for_other_losses(loss):
    with pytest.raises(ConfigError, match="no fused gradient"):
        loss.fused_gradient(np.zeros((2, 2)), np.array([[1, 0], [0, 1]]))


# -- 4. target forms ---------------------------------------------------------------------------

CATEGORICAL = {
    "cross_entropy": (CrossEntropy, _probabilities),
    "cross_entropy_with_logits": (CrossEntropyWithLogits, _logits),
    "nll": (NLL, _log_probabilities),
    "multi_margin": (MultiMargin, _multi_margin(1.0)),
}


@pytest.mark.parametrize("name", CATEGORICAL)
@WEIGHTING
def test_class_indices_and_one_hot_agree(name, weighted):
    cls, make = CATEGORICAL[name]
    Y, labels = make(np.random.default_rng(3))
    one_hot = np.eye(K)[labels]
    w = WEIGHTS if weighted else None
    forms = [labels, labels.astype(np.int32), labels.astype(float), labels.reshape(-1, 1),
             labels.tolist(), one_hot, one_hot.astype(np.int8), one_hot.astype(bool)]
    # the oracle: E = Σ wₙ Eₙ / Σ w with Eₙ picked out by the label, written out here
    picked = Y[np.arange(N), labels]
    if name == "cross_entropy":
        per = -np.log(picked)
    elif name == "cross_entropy_with_logits":
        per = np.log(np.exp(Y).sum(1)) - picked
    elif name == "nll":
        per = -picked
    else:
        per = np.where(one_hot > 0, 0.0, np.maximum(0, 1 - picked[:, None] + Y)).sum(1) / K
    coef = WEIGHTS / WEIGHTS.sum() if weighted else np.full(N, 1 / N)
    grads = []
    for T in forms:
        assert cls()(Y, T, sample_weight=w) == pytest.approx(per @ coef, rel=1e-12)
        grads.append(cls().gradient(Y, T, sample_weight=w))
    for g in grads[1:]:
        np.testing.assert_array_equal(g, grads[0])


SINGLE_OUTPUT = {
    "squared_error": (SquaredError, lambda y, t: 0.5 * (y - t) ** 2),
    "mse": (MSE, lambda y, t: (y - t) ** 2),
    "mae": (MAE, lambda y, t: np.abs(y - t)),
    "huber": (Huber, lambda y, t: np.where(np.abs(y - t) <= 1, 0.5 * (y - t) ** 2,
                                           np.abs(y - t) - 0.5)),
    "bce": (BinaryCrossEntropy, lambda y, t: -(t * np.log(y) + (1 - t) * np.log(1 - y))),
    "bce_with_logits": (BinaryCrossEntropyWithLogits,
                        lambda y, t: -(t * np.log(_sigmoid(y)) + (1 - t) * np.log(_sigmoid(-y)))),
    "hinge": (Hinge, lambda y, t: np.maximum(0, 1 - (2 * t - 1) * y)),
    "hinge_embedding": (HingeEmbedding, lambda y, t: np.where(t > 0, y, np.maximum(0, 1 - y))),
}


@pytest.mark.parametrize("name", SINGLE_OUTPUT)
def test_one_dimensional_targets_for_a_single_output(name):
    cls, formula = SINGLE_OUTPUT[name]
    y = np.array([[0.2], [0.7], [0.45], [0.9]])
    t01 = np.array([0.0, 1.0, 1.0, 0.0])
    t = 2 * t01 - 1 if name == "hinge_embedding" else t01
    expected = formula(y[:, 0], t)
    loss = cls()
    assert loss.per_sample(y, t) == pytest.approx(expected, rel=1e-12)
    assert loss(y, t) == pytest.approx(expected.mean(), rel=1e-12)
    np.testing.assert_array_equal(loss.gradient(y, t), loss.gradient(y, t.reshape(-1, 1)))
    assert loss.gradient(y, t).shape == (4, 1)


@WEIGHTING
def test_hinge_accepts_zero_one_and_plus_minus_one(weighted):
    rng = np.random.default_rng(4)
    Y, T_pm = _hinge(1.0)(rng)
    T01 = (T_pm + 1) / 2
    w = WEIGHTS if weighted else None
    coef = WEIGHTS / WEIGHTS.sum() if weighted else np.full(N, 1 / N)
    expected = np.maximum(0, 1 - T_pm * Y).mean(1) @ coef
    for T in (T_pm, T01, T01.astype(int), T01.astype(bool), T_pm.astype(np.int8)):
        assert Hinge()(Y, T, sample_weight=w) == pytest.approx(expected, rel=1e-12)
        np.testing.assert_array_equal(Hinge().gradient(Y, T, sample_weight=w),
                                      Hinge().gradient(Y, T_pm, sample_weight=w))


def test_cosine_embedding_targets_helper():
    V = np.array([[1, 2], [3, 4]])
    T = CosineEmbedding.targets(V, [1, -1])
    np.testing.assert_array_equal(T, [[1.0, 2.0, 1.0], [3.0, 4.0, -1.0]])
    assert T.dtype == np.float64


# -- 5. bad targets and bad combinations --------------------------------------------------------

P3 = np.full((2, 3), 1 / 3)
R2 = np.zeros((2, 2))
B2 = np.full((2, 2), 0.5)


@pytest.mark.parametrize("loss,Y,T,error,fragment", [
    (CrossEntropy(), P3, [0, 3], DataError, "outside the classes"),
    (CrossEntropy(), P3, [-1, 0], DataError, "outside the classes"),
    (CrossEntropyWithLogits(), P3, [[0], [5]], DataError, "outside the classes"),
    (NLL(), P3, [0, 1.5], DataError, "non-integer"),
    (MultiMargin(), P3, [0.5, 1], DataError, "non-integer"),
    (CrossEntropy(), P3, [[0.5, 0.2, 0.1], [1, 0, 0]], DataError, "sum to 1"),
    (CrossEntropy(), P3, [[1.5, -0.5, 0], [1, 0, 0]], DataError, "sum to 1"),
    (MultiMargin(), P3, [[0.5, 0.5, 0], [1, 0, 0]], DataError, "one-hot"),
    (CrossEntropy(), P3, [[1, 0], [0, 1]], ShapeError, "shape"),
    (CrossEntropy(), np.ones((2, 1)), [0, 0], DataError, "at least 2 outputs"),
    (CrossEntropy(), P3, ["a", "b"], DataError, "numeric"),
    (BinaryCrossEntropy(), B2, [[0, 1.5], [1, 0]], DataError, "0/1"),
    (BinaryCrossEntropy(), B2, [[0, 1], [-0.1, 0]], DataError, "0/1"),
    (BinaryCrossEntropyWithLogits(), R2, [[0, 2], [1, 0]], DataError, "0/1"),
    (Hinge(), R2, [[0, 2], [1, 0]], DataError, "−1/+1"),
    (Hinge(), R2, [[0.5, 1], [1, 0]], DataError, "−1/+1"),
    (HingeEmbedding(), R2, [[0, 1], [1, -1]], DataError, "+1 (similar)"),
    (CosineEmbedding(), R2, [[1, 0, 0], [0, 1, 1]], DataError, "+1 (similar)"),
    (CosineEmbedding(), R2, [[1, 0, 2], [0, 1, 1]], DataError, "+1 (similar)"),
    (CosineEmbedding(), R2, [[1, 0], [0, 1]], ShapeError, "CosineEmbedding needs"),
    (MSE(), R2, np.zeros((2, 3)), ShapeError, "2 output(s)"),
    (MSE(), R2, np.zeros(2), ShapeError, "2 output(s)"),
    (MSE(), R2, np.zeros((3, 2)), ShapeError, "3 rows"),
    (MSE(), np.zeros(2), np.zeros(2), ShapeError, "2-D"),
    (SquaredError(), R2, [[0, np.nan], [0, 0]], DataError, "NaN"),
    (Huber(), R2, [[0, 0], [np.inf, 0]], DataError, "NaN or inf"),
    (CrossEntropy(), P3, [[np.nan, 0, 1], [1, 0, 0]], DataError, "NaN"),
    (CrossEntropy(), P3, [0.0, np.nan], DataError, "NaN"),
    (BinaryCrossEntropy(), B2, [[0, np.nan], [1, 0]], DataError, "NaN"),
    (CosineEmbedding(), R2, [[1, np.nan, 1], [0, 1, 1]], DataError, "NaN"),
])
def test_bad_targets_raise(loss, Y, T, error, fragment):
    for compute in (loss, loss.gradient, loss.per_sample):
        with pytest.raises(error, match=re.escape(fragment)):
            compute(Y, T)


@pytest.mark.parametrize("weights,error,fragment", [
    ([1.0, -0.5], DataError, "non-negative"),
    ([0.0, 0.0], DataError, "sums to zero"),
    ([1.0, np.nan], DataError, "NaN"),
    ([1.0, 1.0, 1.0], ShapeError, "3 entries"),
])
@pytest.mark.parametrize("loss", [MSE(), CrossEntropy(), BinaryCrossEntropy()])
def test_bad_sample_weights_raise(loss, weights, error, fragment):
    Y, T = (P3, [0, 1]) if isinstance(loss, CrossEntropy) else (B2, [[0, 1], [1, 0]])
    for compute in (loss, loss.gradient):
        with pytest.raises(error, match=fragment):
            compute(Y, T, sample_weight=weights)


def test_errors_are_value_errors():
    for error in (DataError, ShapeError, ConfigError):
        assert issubclass(error, ValueError) and issubclass(error, FFBPError)
    with pytest.raises(ValueError):
        CrossEntropy()(P3, [0, 7])


def _net(*tail):
    return ffbp.Network([ffbp.Dense(4, 3), *tail], seed=0)


@pytest.mark.parametrize("layers,loss,fragment", [
    ((), "cross_entropy", "end the network with Softmax"),
    ((ffbp.Sigmoid(),), CrossEntropy(), "end the network with Softmax"),
    ((ffbp.LogSoftmax(),), CrossEntropy, "end the network with Softmax"),
    ((ffbp.Softmax(),), "cross_entropy_with_logits", "remove the Softmax layer"),
    ((), "binary_cross_entropy", "end the network with Sigmoid"),
    ((ffbp.Softmax(),), BinaryCrossEntropy(), "end the network with Sigmoid"),
    ((ffbp.Sigmoid(),), "bce_with_logits", "remove the Sigmoid layer"),
    ((), "nll", "end the network with LogSoftmax"),
    ((ffbp.Softmax(),), NLL(), "end the network with LogSoftmax"),
])
def test_check_loss_rejects_mismatched_output_layer(layers, loss, fragment):
    with pytest.raises(ConfigError, match=fragment):
        _net(*layers).check_loss(loss)


@pytest.mark.parametrize("layers,loss,cls", [
    ((ffbp.Softmax(),), "cross_entropy", CrossEntropy),
    ((), "cross_entropy_with_logits", CrossEntropyWithLogits),
    ((ffbp.Sigmoid(),), "bce", BinaryCrossEntropy),
    ((), BinaryCrossEntropyWithLogits, BinaryCrossEntropyWithLogits),
    ((ffbp.LogSoftmax(),), "nll", NLL),
    ((ffbp.Softmax(),), "mse", MSE),
    ((), Huber(0.5), Huber),
    ((ffbp.Tanh(),), "hinge", Hinge),
])
def test_check_loss_accepts_matching_output_layer(layers, loss, cls):
    assert type(_net(*layers).check_loss(loss)) is cls


def test_unknown_loss_name_suggests_a_close_one():
    with pytest.raises(ConfigError, match="did you mean 'cross_entropy'"):
        ffbp.losses.get("cross_entropi")


@pytest.mark.parametrize("delta", [0, -1.0, "1"])
def test_huber_rejects_non_positive_delta(delta):
    with pytest.raises(ConfigError, match="Huber delta"):
        Huber(delta)


# -- 6. float32 stays float32 -------------------------------------------------------------------

@pytest.mark.parametrize("name", CASES)
def test_float32_gradient_keeps_dtype(name):
    loss = CASES[name].loss()
    Y, T = _data(name)
    Y32 = Y.astype(np.float32)
    for w in (None, WEIGHTS):
        numeric = numerical_gradient(lambda w=w: loss(Y, T, sample_weight=w), Y)
        g = loss.gradient(Y32, T, sample_weight=w)
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, numeric, rtol=1e-4, atol=1e-6)
        if loss.fused_with is not None:
            assert loss.fused_gradient(Y32, T, sample_weight=w).dtype == np.float32


@pytest.mark.parametrize("name", CASES)
def test_float32_values_keep_dtype(name):
    torch = require("torch", "PyTorch's float64 loss values are the oracle")
    case = CASES[name]
    loss = case.loss()
    Y, T = _data(name)
    Y32 = Y.astype(np.float32)
    expected = case.torch(torch, torch.tensor(Y), T).numpy()   # float64 oracle
    per = loss.per_sample(Y32, T)
    assert per.dtype == np.float32
    np.testing.assert_allclose(per, expected, rtol=1e-5, atol=1e-6)
    value = loss(Y32, T, sample_weight=WEIGHTS)
    assert isinstance(value, float)
    assert value == pytest.approx((WEIGHTS @ expected) / WEIGHTS.sum(), rel=1e-5, abs=1e-6)


def test_float32_binary_cross_entropy_on_saturated_sigmoid_is_finite():
    """σ(20) is exactly 1.0 in float32; the clip to 1 − ε must still keep log(1 − y) finite,
    so a confidently right prediction costs ≈ 0 and a confidently wrong one a large finite
    amount (float32 Sigmoid outputs reach 1.0 for z ≳ 17)."""
    Y = ffbp.Sigmoid().function(np.array([[20.0, -20.0]], dtype=np.float32))
    assert Y[0, 0] == 1.0
    loss = BinaryCrossEntropy()
    right, wrong = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    assert 0 <= loss(Y, right) < 1e-6
    assert 10 < loss(Y, wrong) < 30
    # ∂E/∂y = (−t/y + (1 − t)/(1 − y)) / (k n): at y = 1, t = 1 that is −1/2, at y ≈ 0,
    # t = 0 it is 1/2; the wrong predictions get huge but finite pulls the right way
    g = loss.gradient(Y, right)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, [[-0.5, 0.5]], rtol=1e-6)
    g = loss.gradient(Y, wrong)
    assert g.dtype == np.float32 and np.isfinite(g).all()
    assert g[0, 0] > 1e6 and g[0, 1] < -1e6
