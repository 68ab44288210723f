"""ffbp explain and ffbp trace on any model file: a network saved from Python with
ffbp.save (DATA: numbers, the target by --target or --t) and a model of 'ffbp train' (DATA:
its table, through the stored preprocessing)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import require
from test_cli import make_table, run

import ffbp
from ffbp.tabular.model import loss_targets

pd = require("pandas", "the command line reads tables with pandas")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tutorial-style network saved from Python, and its data in several files."""
    root = tmp_path_factory.mktemp("saved")
    rng = np.random.default_rng(0)
    net = ffbp.Network([ffbp.Dense(3, 4), ffbp.Sigmoid(), ffbp.Dense(4, 2), ffbp.Softmax()],
                       seed=0, dtype=np.float64)
    X = rng.normal(size=(8, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    net.fit(X, y, loss="cross_entropy", epochs=2)
    ffbp.save(net, root / "net.ffbp")
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": y}).to_csv(
        root / "data.csv", index=False)
    np.savetxt(root / "plain.csv", np.c_[X, y], delimiter=",")        # no header
    np.save(root / "X.npy", X)
    # a regression network with two outputs, saved before training: no loss in the file
    reg = ffbp.Network([ffbp.Dense(3, 2)], seed=1, dtype=np.float64)
    ffbp.save(reg, root / "reg.ffbp")
    Y = rng.normal(size=(8, 2))
    pd.DataFrame({"y1": Y[:, 0], "a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y2": Y[:, 1]}
                 ).to_csv(root / "reg.csv", index=False)
    return {"root": root, "net": net, "X": X, "y": y, "reg": reg, "Y": Y}


def explain_json(capsys, *args):
    code, out, err = run(capsys, "explain", *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("layer,i,j,bias", [("1", 2, 3, False), ("2", 1, 0, False),
                                            ("-1", 0, 1, True)])
def test_explain_a_saved_network_matches_the_python_api(saved, capsys, layer, i, j, bias):
    root, X, y = saved["root"], saved["X"], saved["y"]
    net = ffbp.load(root / "net.ffbp")
    assert type(net) is ffbp.Network
    want = ffbp.explain(net, net.loss, X[3], y[3], layer=int(layer), i=i, j=j, lr=0.5,
                        bias=bias).to_dict()
    flags = ["--row", "4", "--layer", layer, "--i", i, "--j", j, "--lr", "0.5"] + (
        ["--bias"] if bias else [])
    # the target three ways: a named column, a column number (no header), --t
    for data, target in ((root / "data.csv", ["--target", "label"]),
                         (root / "plain.csv", ["--target", "4"]),
                         (root / "X.npy", ["--t", str(y[3])])):
        got = explain_json(capsys, root / "net.ffbp", data, *target, *flags)
        assert got["parameter"] == want["parameter"]
        assert got["gradient"] == pytest.approx(want["gradient"], rel=1e-12, abs=1e-15)
        assert got["update"] == pytest.approx(want["update"], rel=1e-12, abs=1e-15)
        assert got["data"]["row"] == 4
        assert got["data"]["inputs"] == pytest.approx(X[3].tolist(), rel=1e-12)
        assert got["data"]["t"] == [float(y[3])]


def test_explain_several_target_columns_and_a_loss_flag(saved, capsys):
    """Target columns anywhere (they are not inputs); --loss for a file without a loss."""
    root, X, Y, reg = saved["root"], saved["X"], saved["Y"], saved["reg"]
    code, _, err = run(capsys, "explain", root / "reg.ffbp", root / "reg.csv", "--target",
                       "y1,y2")
    assert code == 2 and "--loss" in err and len(err.strip().splitlines()) == 1
    got = explain_json(capsys, root / "reg.ffbp", root / "reg.csv", "--target", "y1,y2",
                       "--loss", "mse", "--row", "2", "--i", "1", "--j", "1")
    want = ffbp.explain(reg, "mse", X[1], Y[1], layer=1, i=1, j=1)
    assert got["gradient"] == pytest.approx(want.gradient, rel=1e-12)


def test_trace_json_is_the_python_trace(saved, capsys):
    root, X, y = saved["root"], saved["X"], saved["y"]
    net = ffbp.load(root / "net.ffbp")
    rows = [1, 2, 3, 6]                                 # --rows 2-4,7 (from 1)
    want = net.trace(X[rows], y[rows]).to_dict()
    code, out, err = run(capsys, "trace", root / "net.ffbp", root / "data.csv", "--target",
                         "label", "--rows", "2-4,7", "--json")
    assert code == 0, err
    assert json.loads(out) == want
    code, out, err = run(capsys, "trace", root / "net.ffbp", root / "data.csv", "--target",
                         "label", "--rows", "2-4,7")
    assert code == 0, err
    assert "rows 2-4, 7 (4 rows)" in out and f"E = {want['E']:.6g}" in out
    assert "Dense(3, 4)" in out and "‖∂E/∂W‖" in out
    # without a target: the forward pass only
    code, out, err = run(capsys, "trace", root / "net.ffbp", root / "X.npy", "--json")
    assert code == 0, err
    assert json.loads(out) == net.trace(X).to_dict()


def test_table_model_trace_and_explain_use_the_stored_preprocessing(tmp_path, capsys):
    make_table(40, 0).to_csv(tmp_path / "t.csv", index=False)
    model = tmp_path / "m.ffbp"
    assert run(capsys, "train", tmp_path / "t.csv", "--target", "label", "--drop", "y",
               "--hidden", "4", "--epochs", "2", "--quiet", "-o", model)[0] == 0
    net = ffbp.load(model)
    df = pd.read_csv(tmp_path / "t.csv").iloc[2:5]
    T = loss_targets(net.encode_target(df), net)
    want = net.trace(net.transform(df), T).to_dict()
    code, out, err = run(capsys, "trace", model, tmp_path / "t.csv", "--rows", "3-5", "--json")
    assert code == 0, err
    assert json.loads(out) == want
    code, out, err = run(capsys, "explain", model, tmp_path / "t.csv", "--row", "3")
    assert code == 0, err
    assert "row 3, as in the table (raw): x1=" in out and "color='" in out
    assert "after the model's preprocessing (numbers standardised" in out
    got = explain_json(capsys, model, tmp_path / "t.csv", "--row", "3")
    assert got["data"]["raw"]["color"] == df["color"].iloc[0]
    assert list(got["data"]["inputs"].values()) == pytest.approx(net.transform(df)[0])


@pytest.mark.parametrize("args,code,words", [
    (["explain", "net.ffbp", "data.csv", "--row", "2"], 1,
     "has 4 columns but the network takes 3 inputs"),
    (["explain", "net.ffbp", "X.npy"], 2, "needs the target"),
    (["trace", "net.ffbp", "data.csv", "--target", "label", "--rows", "5-9"], 1,
     "--rows 5-9 is outside"),
    (["explain", "net.ffbp", "data.csv", "--target", "label", "--row", "9"], 1,
     "rows 1 to 8"),
    (["explain", "net.ffbp", "data.csv", "--target", "lable"], 1, "no column 'lable'"),
    (["explain", "net.ffbp", "X.npy", "--t", "1,0,0"], 2, "3 values but the network has 2"),
    (["explain", "net.ffbp", "data.csv", "--target", "label", "--t", "1"], 2, "one way"),
    (["trace", "net.ffbp", "X.npy", "--rows", "two"], 2, "--rows takes row numbers"),
])
def test_bad_inputs_are_one_line_errors(saved, capsys, args, code, words):
    root = saved["root"]
    got, out, err = run(capsys, args[0], *(root / a if "." in a else a for a in args[1:3]),
                        *args[3:])
    assert got == code and out == "", err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ffbp: error: ") and words in lines[0], err


def test_explain_in_the_tutorials_notation_with_weight_decay(saved, capsys):
    root, X, y = saved["root"], saved["X"], saved["y"]
    net = ffbp.load(root / "net.ffbp")
    want = ffbp.explain(net, net.loss, X[0], y[0], layer=1, i=2, j=3, lr=0.5,
                        notation="tutorial", weight_decay=0.1).to_dict()
    got = explain_json(capsys, root / "net.ffbp", root / "data.csv", "--target", "label",
                       "--layer", "1", "--i", "2", "--j", "3", "--lr", "0.5",
                       "--notation", "tutorial", "--weight-decay", "0.1")
    assert got["notation"] == "tutorial" and got["tutorial_symbol"] == want["tutorial_symbol"]
    assert got["objective_gradient"] == pytest.approx(want["objective_gradient"], rel=1e-12)
    assert got["decay_term"] == pytest.approx(0.1 * net.layers[0].W.value[2, 3], rel=1e-12)
    code, out, _ = run(capsys, "explain", root / "net.ffbp", root / "data.csv", "--target",
                       "label", "--i", "2", "--j", "3", "--notation", "tutorial")
    assert code == 0 and "W¹₃₄" in out and "indices count from 1" in out


def test_t_for_a_network_of_one_output_asks_for_one_value(tmp_path, capsys):
    """One output: one value, no class index and no plural 'outputs'."""
    net = ffbp.Network([ffbp.Dense(2, 2), ffbp.Tanh(), ffbp.Dense(2, 1)], seed=0,
                       dtype=np.float64)
    ffbp.save(net, tmp_path / "xor.ffbp")
    pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 0.0]}).to_csv(tmp_path / "xin.csv", index=False)
    code, out, err = run(capsys, "explain", tmp_path / "xor.ffbp", tmp_path / "xin.csv",
                         "--t", "0.5,-1", "--row", "1", "--loss", "mse")
    assert code == 2 and out == ""
    assert err.strip() == ("ffbp: error: --t has 2 values but the network has 1 output: "
                           "give one value"), err
