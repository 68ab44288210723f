"""The whole model of ``ffbp train`` as ONNX: raw table columns in, predictions in the
target's units out. The oracle is ``ffbp predict`` (the command, run in-process) on the same
table: onnxruntime on the exported graph must give the same labels exactly and the same
probabilities within 1e-5; regression values within 1e-5 of the target's standard deviation
(the network computes in standardised units: in float32 that is ~1e-7 of them) and within
1e-9 in float64. The tables hold numeric, text, integer-coded (--categorical) and boolean
columns, interleaved, with missing values, values never seen in training and missing values
in a column that had none in training."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
import pytest
from conftest import require

import ffbp
from ffbp import ConfigError
from ffbp.cli import main
from ffbp.onnx import export_onnx, table_feeds, to_onnx_model

onnx = require("onnx", "the export writes ONNX with onnx")
ort = require("onnxruntime", "onnxruntime runs the exported models")

COMMON = ["--hidden", "12", "--epochs", "8", "--quiet", "--categorical", "size"]


def table(n, seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "x1": rng.normal(50, 10, n),
        "color": rng.choice(["red", "green", "blue"], n),
        "x2": 1e6 + rng.normal(0, 100, n),            # large values: float64 before scaling
        "size": rng.choice([1, 2, 3], n),
        "flag": rng.choice([True, False], n),
    })
    score = (df.x1 - 50) / 10 + (df.color == "red") - (df.size == 3) + (df.x2 - 1e6) / 100
    df["y"] = 150 + 80 * score + rng.normal(0, 5, n)
    df["label"] = np.select([score < -0.5, score < 0.7], ["low", "mid"], "high")
    df["binary"] = np.where(score > 0.2, 7, 3)
    return df


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx_model")
    train = table(400, 0)
    train.loc[::9, "x1"] = np.nan
    train.loc[::13, "color"] = None
    test = table(60, 1)
    test.loc[[0, 5, 9], "x1"] = np.nan
    test.loc[[1, 5], "x2"] = np.nan                    # training had none: the mean too
    test.loc[[2, 6], "color"] = None                   # training had some: its own category
    test.loc[[3, 7], "color"] = "purple"               # unseen: all zeros
    test["size"] = test["size"].astype(float)
    test.loc[4, "size"] = 9.0                          # unseen code
    test.loc[8, "size"] = np.nan                       # missing, training had none: zeros
    test["flag"] = test["flag"].astype(object)
    test.loc[10, "flag"] = None
    paths = {"train": root / "train.csv", "test": root / "test.csv", "root": root}
    train.to_csv(paths["train"], index=False)
    test.to_csv(paths["test"], index=False)
    return paths


def cli(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    assert code == 0, err.getvalue()
    return out.getvalue(), err.getvalue()


_models = {}


def model(files, target, loss=None, dtype="float32"):
    """Train (once per configuration) with ``ffbp train``; the model's path."""
    key = (target, loss, dtype)
    if key not in _models:
        drop = ",".join(t for t in ("y", "label", "binary") if t != target)
        path = files["root"] / f"{target}-{loss}-{dtype}.ffbp"
        task = ["--task", "regression" if target == "y" else "classification"]
        cli("train", files["train"], "--target", target, "--drop", drop, *task, *COMMON,
            "--dtype", dtype, *(["--loss", loss] if loss else []), "-o", path)
        _models[key] = path
    return _models[key]


def predict_cli(files, path):
    out = files["root"] / f"{path.stem}.predictions.csv"
    cli("predict", path, files["test"], "-o", out)
    return pd.read_csv(out)


def run_onnx(path, feeds):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


def export_and_run(files, path, **kwargs):
    onnx_path = path.with_suffix(".onnx")
    export_onnx(ffbp.load(path), onnx_path, **kwargs)
    graph = onnx.load(str(onnx_path)).graph
    used = {name for node in graph.node for name in node.input}
    assert {i.name for i in graph.initializer} <= used        # nothing for ORT to prune
    return run_onnx(onnx_path, table_feeds(ffbp.load(path), pd.read_csv(files["test"]))), \
        onnx_path


# -- parity with ffbp predict -----------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_regressor_matches_ffbp_predict(files, dtype):
    path = model(files, "y", dtype=dtype)
    want = predict_cli(files, path)["prediction"].to_numpy()
    got, _ = export_and_run(files, path)
    assert list(got) == ["prediction"] and got["prediction"].dtype == np.float64
    assert got["prediction"].shape == (60,)
    std = ffbp.load(path).metadata["target"]["std"]
    err = np.abs(got["prediction"] - want)
    assert err.max() <= (1e-5 * std if dtype == "float32" else 1e-9), err.max()
    assert np.ptp(want) > 10 * std * 1e-3          # real predictions, not a constant


CLASSIFIERS = [("label", None), ("label", "cross_entropy_with_logits"), ("label", "nll"),
               ("label", "multi_margin"), ("binary", None), ("binary", "bce"),
               ("binary", "bce_with_logits"), ("binary", "hinge")]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("target", "loss"), CLASSIFIERS,
                         ids=[f"{t}-{loss or 'default'}" for t, loss in CLASSIFIERS])
def test_classifier_matches_ffbp_predict(files, target, loss, dtype):
    path = model(files, target, loss, dtype)
    want = predict_cli(files, path)
    classes = ffbp.load(path).metadata["target"]["classes"]
    got, _ = export_and_run(files, path)
    label = got["prediction"]
    assert label.dtype == (np.int64 if target == "binary" else object)
    assert label.tolist() == want["prediction"].tolist()
    assert len(set(label.tolist())) > 1
    proba_cols = [f"proba_{c}" for c in classes]
    if "probabilities" not in got:
        assert loss in ("hinge", "multi_margin") and not set(proba_cols) & set(want.columns)
        return
    proba = got["probabilities"]
    assert proba.shape == (60, len(classes)) and proba.dtype == np.dtype(dtype)
    np.testing.assert_allclose(proba, want[proba_cols].to_numpy(), rtol=0, atol=1e-5)


# -- unseen and missing values ---------------------------------------------------------------
def test_unseen_and_missing_values_behave_as_in_ffbp(files):
    path = model(files, "label")
    net = ffbp.load(path)
    _, onnx_path = export_and_run(files, path)
    df = pd.read_csv(files["test"]).iloc[:4].copy()
    base = run_onnx(onnx_path, table_feeds(net, df))["probabilities"]

    def onnx_with(column, values):
        feeds = table_feeds(net, df)
        feeds[column] = np.array(values, dtype=feeds[column].dtype)[:, None]
        return run_onnx(onnx_path, feeds)["probabilities"]

    # two different unseen categories: the same all-zero block
    np.testing.assert_array_equal(onnx_with("color", ["purple"] * 4),
                                  onnx_with("color", ["orange"] * 4))
    # a missing text value ("") is not an unseen one: training had missing colours
    assert not np.allclose(onnx_with("color", [""] * 4), onnx_with("color", ["purple"] * 4))
    # size had no missing values in training: missing and unseen are both all zeros
    np.testing.assert_array_equal(onnx_with("size", [""] * 4), onnx_with("size", ["9"] * 4))
    # a missing number is the training mean
    mean = net.metadata["features"][0]["mean"]
    np.testing.assert_array_equal(onnx_with("x1", [np.nan] * 4), onnx_with("x1", [mean] * 4))
    assert base.shape == (4, 3)
    # and ffbp predict agrees on all of these rows (the file's rows 2-8 hold them)
    _, err = cli("predict", path, files["test"], "-o", files["root"] / "unseen.csv")
    assert "not seen in training" in err


def test_missing_text_can_be_another_token(files, tmp_path):
    net = ffbp.load(model(files, "label"))
    df = pd.read_csv(files["test"])
    export_onnx(net, tmp_path / "token.onnx", missing_text="<NA>")
    got = run_onnx(tmp_path / "token.onnx", table_feeds(net, df, missing_text="<NA>"))
    want = run_onnx(_export(net, tmp_path), table_feeds(net, df))
    np.testing.assert_array_equal(got["probabilities"], want["probabilities"])
    net.metadata["features"][1]["categories"].append("<NA>")     # a real category "<NA>"
    with pytest.raises(ConfigError, match="missing_text"):
        to_onnx_model(net, missing_text="<NA>")


def _export(net, root):
    path = root / "default.onnx"
    export_onnx(net, path)
    return path


# -- the graph --------------------------------------------------------------------------------
def test_graph_passes_the_checker_and_declares_its_inputs(files):
    path = model(files, "label")
    _, onnx_path = export_and_run(files, path)
    m = onnx.load(str(onnx_path))
    onnx.checker.check_model(m, full_check=True)
    T = onnx.TensorProto
    inputs = {i.name: i.type.tensor_type.elem_type for i in m.graph.input}
    assert inputs == {"x1": T.DOUBLE, "color": T.STRING, "x2": T.DOUBLE, "size": T.STRING,
                      "flag": T.STRING}
    assert [o.name for o in m.graph.output] == ["prediction", "probabilities"]
    ops = [n.op_type for n in m.graph.node]
    assert ops.count("OneHotEncoder") == 3 and "Gather" in ops and "IsNaN" in ops
    assert {o.domain for o in m.opset_import} == {"", "ai.onnx.ml"}
    props = {p.key: p.value for p in m.metadata_props}
    assert props["ffbp.graph"] == "model"


def test_ffbp_export_writes_the_whole_model(files):
    path = model(files, "y")
    out, _ = cli("export", path, "-o", files["root"] / "cli.onnx")
    assert "the whole model" in out and "5 columns" in out
    df = pd.read_csv(files["test"])
    got = run_onnx(files["root"] / "cli.onnx", table_feeds(ffbp.load(path), df))
    want = predict_cli(files, path)["prediction"].to_numpy()
    assert np.abs(got["prediction"] - want).max() <= 1e-5 * ffbp.load(path).metadata[
        "target"]["std"]


def test_network_alone_on_request_and_for_plain_networks(files, tmp_path):
    net = ffbp.load(model(files, "label"))
    export_onnx(net, tmp_path / "net.onnx", preprocessing=False)
    m = onnx.load(str(tmp_path / "net.onnx"))
    assert [i.name for i in m.graph.input] == ["input"]
    X = np.random.default_rng(0).standard_normal((5, net.n_features)).astype(np.float32)
    assert ffbp.onnx.check_export(net, tmp_path / "net.onnx", X) < 1e-5
    with pytest.raises(ConfigError, match="input_name"):
        to_onnx_model(net, input_name="x")
    plain = ffbp.Network([ffbp.Dense(3, 2)])
    assert [i.name for i in to_onnx_model(plain).graph.input] == ["input"]
    with pytest.raises(ConfigError, match="preprocessing=True"):
        to_onnx_model(plain, preprocessing=True)
    with pytest.raises(ConfigError, match="whole model"):
        ffbp.onnx.check_export(net, _export(net, tmp_path), X)


def test_table_feeds_find_categories_as_ffbp_predict_does(tmp_path):
    """Codes "01", "02" learnt as text (an "A1" among them keeps the CSV column text) and
    read back from a CSV of other rows as the numbers 1, 2: ``ffbp predict`` finds their
    categories by the number they spell, and the feeds must give the graph those categories'
    exact strings, or its OneHotEncoder sees unseen values (all-zero blocks)."""
    rng = np.random.default_rng(0)
    dept = rng.choice(["01", "02", "A1"], 80).astype(object)
    a = rng.normal(size=80)
    train = pd.DataFrame({"a": a, "dept": dept, "y": (dept == "01") | (a > 1)})
    train.to_csv(tmp_path / "train.csv", index=False)
    model = ffbp.fit_table(tmp_path / "train.csv", target="y", hidden=[4], epochs=30,
                           seed=0)
    rows = train[train["dept"] != "A1"].head(10)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    df = pd.read_csv(tmp_path / "rows.csv")
    assert df["dept"].dtype.kind == "i"                   # the codes came back as numbers
    feeds = table_feeds(model, df)
    assert feeds["dept"][:, 0].tolist() == rows["dept"].tolist()      # "01", "02" again
    onnx_path = _export(model, tmp_path)
    got = run_onnx(onnx_path, feeds)
    # float32 probabilities, computed in another order than NumPy's: the file's bound
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(df), rtol=0,
                               atol=1e-5)
