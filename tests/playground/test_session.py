"""Session: training with ffbp's own step, configure's semantics and checks, the pictures,
explain (the same numbers as ffbp.explain) and step_detail (δ by a hand-written chain rule
in float64, the update by the rule W ← W − α ∂E/∂W)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import ffbp
from ffbp.diagnostics import REMEDIES
from ffbp.playground.data import grid_points
from ffbp.playground.errors import PlaygroundError
from ffbp.playground.features import compute
from ffbp.playground.health import Thinned
from ffbp.playground.session import DEFAULTS, Session

CIRCLE_SQ = {"features": ["x1sq", "x2sq"], "hidden": [3]}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_training_lowers_the_loss_on_circle_with_squared_features():
    s = Session(CIRCLE_SQ)
    start = s.snapshot()["loss_train"]
    s.train(1500)
    snap = s.snapshot()
    assert start > 0.6                               # about ln 2 for an untrained sigmoid
    assert snap["loss_train"] < 0.15 and snap["loss_test"] < 0.2
    assert snap["steps"] == 1500
    assert snap["epoch"] == pytest.approx(1500 * 10 / 250)
    assert snap["curve"]["steps"][0] == 0 and snap["curve"]["train"][0] == start
    assert snap["curve"]["train"][-1] == pytest.approx(snap["loss_train"])


def test_same_config_gives_the_same_weights_and_reset_restores_them():
    a, b = Session({"hidden": [5, 3], "seed": 7}), Session({"hidden": [5, 3], "seed": 7})
    first = a.network.flat_values.copy()
    np.testing.assert_array_equal(first, b.network.flat_values)
    a.train(20)
    assert not np.array_equal(first, a.network.flat_values)
    a.reset()
    np.testing.assert_array_equal(first, a.network.flat_values)
    assert a.snapshot()["steps"] == 0
    assert not np.array_equal(first, Session({"hidden": [5, 3], "seed": 8})
                              .network.flat_values)


def test_training_keys_keep_the_weights_data_and_net_keys_do_not():
    s = Session()
    s.train(30)
    trained, pts = s.network.flat_values.copy(), s.points()
    s.configure({"learning_rate": 0.1, "optimizer": "adam", "regularization": "l2",
                 "reg_rate": 0.001, "batch_size": 5, "show_test": True})
    np.testing.assert_array_equal(trained, s.network.flat_values)
    assert s.snapshot()["steps"] == 30 and s.points()["version"] == pts["version"]
    s.configure({"noise": 20})                       # data: new points, new network
    assert s.points()["version"] == pts["version"] + 1
    assert s.points()["train"] != pts["train"] and s.snapshot()["steps"] == 0
    s.configure({"hidden": [2]})                     # network: new layout, epoch 0
    assert s.snapshot()["layout"] == [2, 2, 1]
    assert s.config["learning_rate"] == 0.1          # training settings are kept


def test_features_change_the_inputs_of_the_same_points():
    s = Session()
    before = s.points()["train"]
    s.configure({"features": ["x1", "x2", "x1x2"]})
    assert s.points()["train"] == before
    assert s.snapshot()["layout"][0] == 3
    assert s.snapshot()["features"] == ["x₁", "x₂", "x₁x₂"]


def test_a_dataset_implies_its_problem():
    s = Session({"dataset": "plane"})
    assert s.config["problem"] == "regression"
    assert type(s.network.layers[-1]) is ffbp.Dense       # linear output, MSE
    start = s.losses()[0]
    s.train(500)
    assert s.losses()[0] < 0.2 * start
    s.configure({"problem": "classification"})
    assert s.config["dataset"] == "circle"


@pytest.mark.parametrize("changes, message", [
    ({"colour": 1}, "unknown setting 'colour'"),
    ({"hidden": [4, 9]}, "hidden must be a list of 0 to 6 layer widths, each an integer "
                         "from 1 to 8"),
    ({"hidden": [1] * 7}, "hidden must be a list of 0 to 6"),
    ({"learning_rate": 0}, "learning_rate must be a number > 0"),
    ({"learning_rate": float("inf")}, "learning_rate must be a number > 0"),
    ({"learning_rate": "fast"}, "learning_rate must be a number"),
    ({"batch_size": 0}, "batch_size must be an integer from 1"),
    ({"batch_size": 2.5}, "batch_size must be an integer"),
    ({"activation": "gelu"}, "activation must be one of relu, tanh, sigmoid, linear"),
    ({"noise": 60}, "noise must be a number from 0 to 50"),
    ({"train_ratio": 95}, "train_ratio must be a number from 10 to 90"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of sgd, momentum, adam"),
    ({"init": "zeros"}, "init must be one of small_normal, glorot, he, equal"),
    ({"regularization": "l3"}, "regularization must be one of none, l1, l2"),
    ({"show_test": "yes"}, "show_test must be true or false"),
    ({"dataset": "upload"}, "dataset 'upload' needs a CSV file"),
    ({"dataset": "plane", "problem": "classification"}, "'plane' is a regression dataset"),
    ({"features": ["x1", "x9"]}, "unknown feature 'x9'"),
    ({"x_feature": 5}, "x_feature must be a column index from 0 to 1"),
])
def test_bad_settings_name_the_key_and_change_nothing(changes, message):
    s = Session()
    weights = s.network.flat_values.copy()
    with pytest.raises(PlaygroundError, match=message.replace("(", r"\(")):
        s.configure(changes)
    assert s.config == DEFAULTS
    np.testing.assert_array_equal(weights, s.network.flat_values)


def test_snapshot_pictures_are_the_network_over_the_grid():
    s = Session({"hidden": [3, 2], "features": ["x1", "x2", "x1sq"]})
    s.train(40)
    snap = s.snapshot(grid=7)
    assert snap["layout"] == [3, 3, 2, 1] and snap["grid"] == {"n": 7, "x": [-6, 6],
                                                               "y": [-6, 6]}
    # by hand from the snapshot's own weights: tanh hidden layers, sigmoid output
    P = grid_points((-6, 6), (-6, 6), 7)
    assert P[0].tolist() == [-6, 6] and P[-1].tolist() == [6, -6]   # row 0 is the top
    h = compute(["x1", "x2", "x1sq"], P)
    np.testing.assert_allclose(np.array(snap["inputs"]).T, h, atol=5e-4)
    for k, (W, b) in enumerate(zip(snap["weights"], snap["biases"], strict=True)):
        z = h @ np.array(W) + np.array(b)
        h = np.tanh(z) if k < 2 else _sigmoid(z)
        if k < 2:
            np.testing.assert_allclose(np.array(snap["neurons"][k]).T, h, atol=5e-4)
    np.testing.assert_allclose(snap["output"], h[:, 0], atol=5e-4)
    assert len(snap["output"]) == 49 and 0 <= min(snap["output"]) <= max(snap["output"]) <= 1


def test_health_records_norms_and_reports_diagnostics_warnings():
    s = Session(CIRCLE_SQ)          # x₁² up to 36 saturates the tanh units
    s.train(100)
    health = s.snapshot()["health"]
    assert health["layers"] == ["W1", "W2"]
    assert len(health["norms"]) == 2 and len(health["norms"][0]) == len(health["steps"]) > 10
    assert all(v >= 0 for v in health["norms"][1])
    saturated = [w for w in health["warnings"] if w["kind"] == "saturated"]
    assert saturated and saturated[0]["layer"] == 1
    assert saturated[0]["remedy"] == REMEDIES["saturated"]
    assert "hidden layer 1 [layer1]" in saturated[0]["message"]


def test_dead_relus_and_exploding_updates_are_named_by_the_pages_layers():
    s = Session({"activation": "relu", "learning_rate": 3, "hidden": [8, 8]})
    s.train(300)
    warnings = s.snapshot()["health"]["warnings"]
    kinds = {w["kind"] for w in warnings}
    assert {"dead", "exploding"} <= kinds
    dead = next(w for w in warnings if w["kind"] == "dead")
    # net.layers: Dense, ReLU, Dense, ReLU (index 3: the second hidden layer), Dense, Sigmoid
    assert dead["layers"] == [2] and "hidden layer 2 [layer3]" in dead["message"]
    assert dead["remedy"] == REMEDIES["dead"]
    exploding = next(w for w in warnings if w["kind"] == "exploding")
    assert "W1 [layer0.W]" in exploding["message"] and exploding["remedy"] == \
        REMEDIES["exploding"]


def test_equal_initial_weights_stay_equal_the_symmetry_trap():
    s = Session({"init": "equal", "hidden": [4]})
    s.train(200)
    W1 = s.network.layers[0].W.value
    assert np.ptp(W1, axis=1).max() < 1e-12           # every hidden unit the same
    assert abs(W1[0, 0] - 0.5) > 1e-3                 # yet they did learn


def test_divergence_stops_training_and_keeps_finite_weights():
    s = Session({"dataset": "plane", "learning_rate": 1e6, "features": ["x1sq", "x2sq"]})
    s.train(50)
    snap = s.snapshot()
    assert snap["diverged"] and "diverged at step" in snap["diverged"]
    assert np.isfinite(s.network.flat_values).all() and snap["steps"] < 50
    json.dumps(snap, allow_nan=False)          # the page's JSON.parse takes no NaN/inf


def test_every_answer_is_strict_json():
    s = Session({"dataset": "multigauss", "hidden": []})
    s.train(30)
    s.select(1, 2, 1)
    for answer in (s.config, s.snapshot(grid=10), s.points(), s.step_detail(3),
                   s.step_detail(3, step=False), s.explain(1, 1, 1, 0)):
        assert json.loads(json.dumps(answer, allow_nan=False)) == answer


def _one_hidden_by_hand(W1, b1, W2, b2, x, t):
    """Tutorial 000 for x → tanh → sigmoid with binary cross-entropy, in float64."""
    h_in = x @ W1 + b1
    h = np.tanh(h_in)
    y_in = h @ W2 + b2
    y = _sigmoid(y_in)
    delta2 = y - t                                   # ∂E/∂y' of sigmoid + cross-entropy
    delta1 = (1 - h ** 2) * (W2 @ delta2)            # Φ'(h') Σₖ Wⱼₖ δₖ
    return h_in, h, y_in, y, delta1, delta2


def test_step_detail_deltas_match_the_chain_rule_by_hand():
    s = Session({"hidden": [4], "seed": 3})
    s.train(25)
    snap = s.snapshot()
    W1, b1, W2, b2 = (np.array(a) for a in (snap["weights"][0], snap["biases"][0],
                                            snap["weights"][1], snap["biases"][1]))
    s.select(1, 2, 3)
    out = s.step_detail(7)
    x, t = s.data.X_train[7], s.data.t_train[7:8]
    h_in, h, y_in, y, d1, d2 = _one_hidden_by_hand(W1, b1, W2, b2, x, t)
    first, last = out["layers"]
    np.testing.assert_allclose(first["h_in"], h_in, rtol=1e-12)
    np.testing.assert_allclose(first["h"], h, rtol=1e-12)
    np.testing.assert_allclose(first["delta"], d1, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(last["h_in"], y_in, rtol=1e-12)
    np.testing.assert_allclose(last["delta"], d2, rtol=1e-10)
    # the mini-batch gradient of W¹₂₃ = mean over the batch of δ₃ x₂, by hand
    X, T = s.data.X_train[out["batch"]], s.data.t_train[out["batch"]]
    grads = [_one_hidden_by_hand(W1, b1, W2, b2, xb, tb[None])[4][2] * xb[1]
             for xb, tb in zip(X, T, strict=True)]
    sel = out["selected"]
    assert len(out["batch"]) == 10 and sel["symbol"] == "W¹₂₃"
    assert sel["before"] == W1[1, 2]
    assert sel["gradient"] == pytest.approx(np.mean(grads), rel=1e-10)
    assert sel["after"] == pytest.approx(sel["before"] - 0.03 * sel["gradient"], rel=1e-14)
    assert out["steps"] == 26 and s.network.layers[0].W.value[1, 2] == sel["after"]


@pytest.mark.parametrize("reg, term", [("l2", lambda w: 0.01 * w),
                                       ("l1", lambda w: 0.01 * np.sign(w))])
def test_regularisation_enters_the_update_of_a_weight(reg, term):
    s = Session({"regularization": reg, "reg_rate": 0.01, "learning_rate": 0.1})
    s.select(2, 1, 2)
    sel = s.step_detail(0)["selected"]
    assert sel["gradient"] == pytest.approx(sel["loss_gradient"] + term(sel["before"]),
                                            rel=1e-12)
    assert sel["after"] == pytest.approx(sel["before"] - 0.1 * sel["gradient"], rel=1e-12)


def test_step_detail_preview_changes_nothing_and_predicts_the_step():
    s = Session({"optimizer": "adam", "hidden": [3]})
    s.train(5)
    s.select(1, 1, 1)
    weights = s.network.flat_values.copy()
    preview = s.step_detail(3, step=False)
    np.testing.assert_array_equal(weights, s.network.flat_values)
    assert preview["steps"] == 5 and preview["selected"]["applied"] is False
    done = s.step_detail(3)
    assert done["batch"] == preview["batch"]
    assert done["selected"]["after"] == pytest.approx(preview["selected"]["after"],
                                                      rel=1e-12)
    assert Session().step_detail(0)["selected"] is None       # nothing selected yet


def test_explain_gives_the_numbers_of_ffbp_explain_on_the_same_network():
    s = Session({"hidden": [4, 3], "regularization": "l2", "reg_rate": 0.003})
    s.train(60)
    out = s.explain(2, 4, 3, sample=11)
    direct = ffbp.explain(s.network, "binary_cross_entropy", s.data.X_train[11],
                          s.data.t_train[11:12], layer=2, i=3, j=2, lr=0.03,
                          notation="tutorial", weight_decay=0.003)
    assert out["text"] == str(direct)
    for key in ("gradient", "numeric", "backprop", "value", "update", "objective_gradient"):
        assert out[key] == getattr(direct, key)
    assert out["symbol"] == "W²₄₃" and "W²₄₃" in out["text"]
    assert out["numeric"] == pytest.approx(out["gradient"], rel=1e-6)


def test_explain_of_a_bias_gives_ffbp_explains_numbers_and_keeps_the_followed_weight():
    s = Session({"hidden": [4, 3], "regularization": "l2", "reg_rate": 0.003})
    s.train(60)
    s.select(1, 2, 3)
    out = s.explain(2, None, 3, sample=7, bias=True)
    direct = ffbp.explain(s.network, "binary_cross_entropy", s.data.X_train[7],
                          s.data.t_train[7:8], layer=2, j=2, bias=True, lr=0.03,
                          notation="tutorial", weight_decay=0.003)
    assert out["text"] == str(direct) and out["symbol"] == "b²₃" and out["bias"] is True
    for key in ("gradient", "numeric", "value", "update"):
        assert out[key] == getattr(direct, key)
    assert out["update"] == pytest.approx(-0.03 * out["gradient"])    # biases: no decay
    assert s.step_detail(0)["selected"]["symbol"] == "W¹₂₃"            # still the weight


@pytest.mark.parametrize("call, message", [
    (lambda s: s.explain(3, 1, 1), "layer must be an integer from 1 to 2, got 3"),
    (lambda s: s.explain(2, None, 2, bias=True), r"j \(a unit of layer 2\) must be an "
                                                 r"integer from 1 to 1, got 2"),
    (lambda s: s.explain(1, None, 1, bias="yes"), "bias must be true or false, got 'yes'"),
    (lambda s: s.explain(1, 3, 1), r"i \(a unit of layer 1's input\) must be an integer "
                                   r"from 1 to 2, got 3"),
    (lambda s: s.select(2, 1, 2), r"j \(a unit of layer 2\) must be an integer from 1 to 1"),
    (lambda s: s.step_detail(250), "sample .* must be an integer from 0 to 249, got 250"),
    (lambda s: s.train(-1), "steps must be an integer >= 0"),
    (lambda s: s.snapshot(grid=1), "grid must be an integer from 2 to 200"),
])
def test_bad_requests_are_one_line_errors(call, message):
    with pytest.raises(PlaygroundError, match=message):
        call(Session({"hidden": [4]}))


def test_thinned_series_stay_bounded_and_evenly_spread():
    series = Thinned(1, limit=10)
    for k in range(1000):
        series.offer(k, lambda k=k: [2 * k])
    assert 5 <= len(series.x) <= 10 and series.x[0] == 0
    assert len(set(np.diff(series.x))) == 1                  # one spacing throughout
    assert series.ys[0] == [2 * x for x in series.x]


def test_the_loss_curve_has_a_point_per_epoch_until_thinned():
    s = Session({"batch_size": 25})          # 250 training points: 10 steps an epoch
    s.train(100)
    assert s.snapshot()["curve"]["steps"] == list(range(0, 101, 10))


def test_quantized_pictures_are_thousandths_of_the_same_values():
    s = Session({"hidden": [3]})
    s.train(10)
    plain, ints = s.snapshot(grid=6), s.snapshot(grid=6, quantize=True)
    assert plain["scale"] == 1 and ints["scale"] == 1000
    for key in ("output", "inputs", "neurons"):
        a, b = np.array(plain[key]), np.array(ints[key])
        assert b.dtype.kind == "i"
        np.testing.assert_allclose(b / 1000, a, atol=1e-3 + 1e-12)
    assert ints["weights"] == plain["weights"]                  # exact, not pictures


@pytest.mark.parametrize("optimizer, rate", [("sgd", 0.1), ("momentum", 0.03),
                                             ("adam", 0.01)])
def test_each_optimiser_lowers_the_loss(optimizer, rate):
    s = Session({"optimizer": optimizer, "learning_rate": rate, "hidden": [6],
                 "dataset": "gauss"})
    start = s.losses()[0]
    s.train(200)
    assert s.losses()[0] < 0.5 * start


def test_initialisers_draw_what_their_names_say():
    def first_layer(init, activation="tanh"):
        return Session({"init": init, "hidden": [8], "activation": activation,
                        "features": ["x1", "x2", "x1sq"]}).network.layers[0].W.value

    assert np.all(first_layer("equal") == 0.5)
    assert np.abs(first_layer("small_normal")).max() < 0.05          # N(0, 0.01²)
    glorot = first_layer("glorot")
    assert np.abs(glorot).max() <= np.sqrt(6 / (3 + 8)) and glorot.std() > 0.2
    he = Session({"init": "he", "hidden": [8, 8], "activation": "relu",
                  "seed": 1}).network.layers[2].W.value                # fan_in 8
    assert he.std() == pytest.approx(np.sqrt(2 / 8), rel=0.3)
