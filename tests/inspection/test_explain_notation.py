"""explain(..., notation="tutorial", weight_decay=λ): the tutorials' own forms, same numbers.

Every number expected in the text is computed here independently, by the tutorials'
formulas written out in NumPy (tutorial 004's α(d − y)W²ⱼΦ′ⱼxᵢ, tutorial 001's −t/Y and
softmax Jacobian, tutorial 002's δa + λW, tutorial 000's sum over paths), and the decayed
update is checked against one step of ffbp's own gradient descent with weight decay.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import ffbp
from ffbp.explain import explain


def f(v, digits=6):
    return f"{float(v) + 0.0:.{digits}g}"


def n(v):
    """A factor as a product prints it: negative numbers in parentheses."""
    return f"({f(v)})" if v < 0 else f(v)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.fixture
def net004():
    """Tutorial 004: 2 inputs, 3 sigmoid hidden units, one linear output, no biases."""
    net = ffbp.Network([ffbp.Dense(2, 3, bias=False), ffbp.Sigmoid(),
                        ffbp.Dense(3, 1, bias=False)], dtype=np.float64)
    W1 = np.array([[0.1, -0.2, 0.3], [0.4, 0.05, -0.6]])
    W2 = np.array([0.7, -0.3, 0.2])
    net.layers[0].W.value[...] = W1
    net.layers[2].W.value[:, 0] = W2
    return net, W1, W2, np.array([0.5, -1.0]), 0.7


def test_tutorial_004_d_minus_y_forms(net004):
    net, W1, W2, x, d = net004
    alpha = 0.5
    h = sigmoid(x @ W1)
    y = h @ W2
    phi = h * (1 - h)
    # Step 2: ΔW¹₁₂ = α(d − y)W²₂Φ′₂x₁ (the tutorial's W¹₁₂ is ffbp's W1[0, 1]).
    e = explain(net, "squared_error", x, d, layer=1, i=0, j=1, lr=alpha, notation="tutorial")
    text = str(e)
    expected = alpha * (d - y) * W2[1] * phi[1] * x[0]
    assert "ΔW¹₁₂ = α(d − y)W²₂Φ′₂x₁" in text
    assert f"= {f(alpha)} × {f(d - y)} × {n(W2[1])} × {f(phi[1])} × {f(x[0])}" in text
    assert f"= {f(expected, 10)}" in text
    assert e.update == pytest.approx(expected, rel=1e-12)
    # indices from 1, said once
    assert "W¹₁₂ is layer0.W[0, 1]" in text and text.count("counts from 0") == 1
    assert "W¹[0, 1]" not in text
    # Step 1: ΔW²₃ = α(d − y)h₃ (W² a vector, as in the tutorial; ffbp's W2[2, 0]).
    e2 = explain(net, "squared_error", x, d, layer=2, i=2, j=0, lr=alpha, notation="tutorial")
    text2 = str(e2)
    assert "ΔW²₃ = α(d − y)h₃" in text2 and "W²₃ is layer2.W[2, 0]" in text2
    assert f"= {f(alpha)} × {f(d - y)} × {f(h[2])}" in text2
    assert f"= {f(alpha * (d - y) * h[2], 10)}" in text2
    # No learning rate: the same form for −∂E/∂W.
    e3 = explain(net, "squared_error", x, d, layer=1, i=1, j=2, notation="tutorial")
    assert "−∂E/∂W¹₂₃ = (d − y)W²₃Φ′₃x₂" in str(e3)
    assert f"= {f((d - y) * W2[2] * phi[2] * x[1], 10)}" in str(e3)


def test_notation_changes_the_rendering_only(net004):
    net, _, _, x, d = net004
    a = explain(net, "squared_error", x, d, layer=1, i=0, j=1, lr=0.5)
    b = explain(net, "squared_error", x, d, layer=1, i=0, j=1, lr=0.5, notation="tutorial")
    assert str(a) == str(explain(net, "squared_error", x, d, layer=1, i=0, j=1, lr=0.5,
                                 notation="ffbp"))
    assert "tutorial 004:" not in str(a) and "W¹[0, 1]" in str(a)
    da, db = a.to_dict(), b.to_dict()
    for key in ("notation", "index_base", "forms"):
        da.pop(key), db.pop(key)
    assert da == db                                  # every number is the same
    assert a.tutorial_symbol == b.tutorial_symbol == "W¹₁₂"


def test_monster_expression_of_tutorial_004_equation_a():
    """x → (h₁, h₂) → (h₃, h₄) → y: ∂E/∂W¹₁₁ is a sum over the paths through h₃ and h₄."""
    deep = ffbp.Network([ffbp.Dense(1, 2, bias=False), ffbp.Sigmoid(),
                         ffbp.Dense(2, 2, bias=False), ffbp.Sigmoid(),
                         ffbp.Dense(2, 1, bias=False)], dtype=np.float64)
    V1, V2, V3 = np.array([[0.8, -0.5]]), np.array([[0.3, -0.7], [0.6, 0.2]]), [0.9, -0.4]
    deep.layers[0].W.value[...] = V1
    deep.layers[2].W.value[...] = V2
    deep.layers[4].W.value[:, 0] = V3
    x, d = np.array([1.5]), 0.2
    a1 = sigmoid(x @ V1)
    a2 = sigmoid(a1 @ V2)
    y = a2 @ V3
    factors = [[y - d, V3[m], a2[m] * (1 - a2[m]), V2[0, m], a1[0] * (1 - a1[0]), x[0]]
               for m in (0, 1)]
    e = explain(deep, "squared_error", x, d, layer=1, i=0, j=0, notation="tutorial")
    text = str(e)
    assert "monster expression" in text
    assert ("∂E/∂W¹₁₁ = ∂E/∂y · ∂y/∂h²₁ · ∂h²₁/∂h'²₁ · ∂h'²₁/∂h¹₁ · ∂h¹₁/∂h'¹₁ · "
            "∂h'¹₁/∂W¹₁₁") in text
    assert "+ ∂E/∂y · ∂y/∂h²₂ · ∂h²₂/∂h'²₂ · ∂h'²₂/∂h¹₁" in text
    for sign, fs in zip("=+", factors, strict=True):
        assert f"{sign} ({' × '.join(n(v) for v in fs)})" in text
    total = sum(np.prod(fs) for fs in factors)
    assert f"= {f(total, 10)}" in text
    assert e.path_sum == pytest.approx(total, rel=1e-12)
    tex = e.to_latex()
    assert (r"\frac{\partial E}{\partial y}\,\frac{\partial y}{\partial h^{2}_{1}}\,"
            r"\frac{\partial h^{2}_{1}}{\partial {h'}^{2}_{1}}") in tex
    times = r" \times "
    assert f"&= ({times.join(n(v) for v in factors[0])})" in tex
    assert f"&= {f(total, 10)}" in tex
    # to_dict carries the terms and their factors
    monster = e.to_dict()["forms"]["monster"]
    assert len(monster["terms"]) == 2
    np.testing.assert_allclose(monster["factors"], factors, rtol=1e-12)


def test_tutorial_001_softmax_factors_before_their_product():
    net = ffbp.Network([ffbp.Dense(1, 1), ffbp.Sigmoid(), ffbp.Dense(1, 3), ffbp.Softmax()],
                       dtype=np.float64)
    w, b1, v, b2, x = 0.6, -0.1, np.array([0.5, -0.4, 0.9]), np.array([0.0, 0.1, -0.2]), 0.8
    net.layers[0].W.value[...], net.layers[0].b.value[...] = w, b1
    net.layers[2].W.value[0], net.layers[2].b.value[...] = v, b2
    t = np.array([0.0, 1.0, 0.0])
    H = sigmoid(x * w + b1)
    z = H * v + b2
    Y = np.exp(z) / np.exp(z).sum()
    dL_dY = -t / Y
    J = np.array([[Y[k] * ((k == j) - Y[j]) for j in range(3)] for k in range(3)])
    e = explain(net, "cross_entropy", [x], 1, layer=2, i=0, j=1, lr=0.1, notation="tutorial")
    text = str(e)

    def vec(a):
        return "[" + ", ".join(f(u, 4) for u in a) + "]"

    assert "∂L/∂Y = −t/Y" in text and f"= {vec(dL_dY)}" in text
    assert "∂Y/∂y = Yₖ(δₖⱼ − Yⱼ)" in text
    for row in J:
        assert vec(row) in text
    assert f"∂L/∂Y · ∂Y/∂y = Y − t = {vec(Y - t)}" in text
    np.testing.assert_allclose(dL_dY @ J, Y - t, rtol=1e-12)
    # the fused output delta is one factor of the monster expression
    assert "∂E/∂W²₁₂ = ∂E/∂h'²₂ · ∂h'²₂/∂W²₁₂" in text
    assert f"= ({n((Y - t)[1])} × {f(H)})" in text
    tex = e.to_latex()
    assert r"\frac{\partial L}{\partial Y} &= -t/Y = \left[" + vec(dL_dY)[1:-1] in tex
    assert " & ".join(f(u, 4) for u in J[0]) in tex
    forms = e.to_dict()["forms"]["output_factors"]
    np.testing.assert_allclose(forms["dL_dY_value"], dL_dY, rtol=1e-12)
    np.testing.assert_allclose(forms["dY_dy_value"], J, rtol=1e-12)
    np.testing.assert_allclose(forms["product_value"], Y - t, rtol=1e-12)


def test_weight_decay_term_of_tutorial_002(net004):
    net, W1, W2, x, d = net004
    alpha, lam = 0.5, 0.01
    h = sigmoid(x @ W1)
    y = h @ W2
    dE = -(d - y) * W2[1] * h[1] * (1 - h[1]) * x[0]        # ∂E/∂W¹₁₂
    dJ = dE + lam * W1[0, 1]                                 # tutorial 002: δa + λW
    e = explain(net, "squared_error", x, d, layer=1, i=0, j=1, lr=alpha, weight_decay=lam,
                notation="tutorial")
    assert e.gradient == pytest.approx(dE, rel=1e-12)        # ∂E/∂W is unchanged
    assert e.decay_term == pytest.approx(lam * W1[0, 1], rel=1e-12)
    assert e.objective_gradient == pytest.approx(dJ, rel=1e-12)
    assert e.update == pytest.approx(-alpha * dJ, rel=1e-12)
    text = str(e)
    assert "∂J/∂W¹₁₂ = δ¹₂ · x₁ + λW¹₁₂" in text and f"= {f(dJ, 10)}" in text
    assert "ΔW¹₁₂ = α(d − y)W²₂Φ′₂x₁ − αλW¹₁₂" in text
    assert f"− {f(alpha)} × {f(lam)} × {n(W1[0, 1])}" in text
    assert f"= {f(-alpha * dJ, 10)}" in text
    tex = e.to_latex()
    assert r"\lambda W^{1}_{12}" in tex and f"= {f(dJ, 10)}" in tex
    assert r"\alpha(d - y)W^{2}_{2}{\Phi'}_{2}x_{1} - \alpha\lambda W^{1}_{12}" in tex
    # ffbp's notation shows the term too; ffbp's own gradient descent agrees with the update.
    ef = explain(net, "squared_error", x, d, layer=1, i=0, j=1, lr=alpha, weight_decay=lam)
    assert "λW¹[0, 1]" in str(ef) and f(dJ, 10) in str(ef)
    assert ef.update == e.update
    stepped = net.copy()
    stepped.fit([x], [d], loss="squared_error", epochs=1, batch_size=None, verbose=False,
                optimizer=ffbp.optim.gd(alpha, weight_decay=lam))
    assert stepped.layers[0].W.value[0, 1] - W1[0, 1] == pytest.approx(e.update, rel=1e-9)
    # biases are not decayed
    bnet = ffbp.Network([ffbp.Dense(2, 2), ffbp.Tanh(), ffbp.Dense(2, 1)], seed=0,
                        dtype=np.float64)
    eb = explain(bnet, "squared_error", x, d, layer=1, j=1, bias=True, lr=0.1,
                 weight_decay=lam, notation="tutorial")
    assert eb.decay_term == 0.0 and eb.update == pytest.approx(-0.1 * eb.gradient)
    assert "biases are not decayed" in str(eb)
    d_ = eb.to_dict()
    assert d_["weight_decay"] == lam and d_["decay_term"] == 0.0


def test_to_dict_carries_the_notation_and_latex_the_indices(net004):
    net, _, _, x, d = net004
    e = explain(net, "squared_error", x, d, layer=1, i=0, j=1, lr=0.5, notation="tutorial")
    data = e.to_dict()
    json.dumps(data)
    assert data["notation"] == "tutorial" and data["index_base"] == 1
    assert data["tutorial_symbol"] == "W¹₁₂" and data["symbol"] == "W¹[0, 1]"
    assert data["forms"]["d_minus_y"]["symbolic"] == "ΔW¹₁₂ = α(d − y)W²₂Φ′₂x₁"
    assert data["forms"]["d_minus_y"]["value"] == pytest.approx(e.update, rel=1e-12)
    assert "counts from 0" in data["forms"]["index_note"]
    plain = explain(net, "squared_error", x, d, layer=1, i=0, j=1).to_dict()
    assert plain["notation"] == "ffbp" and plain["index_base"] == 0 and plain["forms"] is None
    tex = e.to_latex()
    assert r"\frac{\partial E}{\partial W^{1}_{12}}" in tex and "W^{1}_{0,1}" not in tex
    assert r"\Delta W^{1}_{12} &= \alpha(d - y)W^{2}_{2}{\Phi'}_{2}x_{1}" in tex
    md = e.to_markdown()
    assert "W¹₁₂" in md and "ΔW¹₁₂ = α(d − y)W²₂Φ′₂x₁" in md and "| 2 |" in md


def test_tutorial_notation_on_other_networks_and_errors():
    net = ffbp.Network([ffbp.Dense(3, 4), ffbp.Softmax(), ffbp.Dense(4, 2), ffbp.Sigmoid()],
                       seed=1, dtype=np.float64)
    e = explain(net, "bce", [0.1, 0.2, 0.3], [1.0, 0.0], layer=1, i=1, j=0,
                notation="tutorial")
    text = str(e)                               # a softmax hidden block: no paths to list
    assert "not element-wise" in text and "(Y − t)/2" in text and "monster" not in text
    big = ffbp.Network([ffbp.Dense(3, 20), ffbp.Tanh(), ffbp.Dense(20, 20), ffbp.Tanh(),
                        ffbp.Dense(20, 3)], seed=0)
    e = explain(big, "mse", [0.1, 0.2, 0.3], [0.0, 1.0, 0.0], layer=1, i=0, j=5,
                notation="tutorial")
    assert "… 40 more" in str(e) and e.to_latex().count(r"\dots") >= 1
    e = explain(big, "mse", [0.1, 0.2, 0.3], [0.0, 1.0, 0.0], layer=1, i=0, j=5,
                notation="tutorial", max_paths=10)
    assert "60 paths" in str(e)
    with pytest.raises(ffbp.ConfigError, match="notation"):
        explain(big, "mse", [0.1, 0.2, 0.3], [0.0, 1.0, 0.0], notation="latex")
    with pytest.raises(ffbp.ConfigError, match="weight_decay"):
        explain(big, "mse", [0.1, 0.2, 0.3], [0.0, 1.0, 0.0], weight_decay=-1.0)
