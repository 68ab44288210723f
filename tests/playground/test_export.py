"""Export: the .ffbp file loads with ffbp.load and predicts exactly as the session's
network; the script rebuilds the same network and trains it to a good loss."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import ffbp
from ffbp.playground.session import Session

CIRCLE_SQ = {"features": ["x1sq", "x2sq"], "hidden": [3]}


def test_model_file_loads_and_predicts_as_the_session(tmp_path):
    s = Session({"hidden": [4, 2], "features": ["x1", "x2", "sinx1"]})
    s.train(80)
    path = tmp_path / "model.ffbp"
    path.write_bytes(s.export_model())
    net = ffbp.load(path)
    X = np.vstack([s.data.X_train, s.data.X_test])
    np.testing.assert_array_equal(net.outputs(X), s.network.outputs(X))
    np.testing.assert_array_equal(net.predict(X), s.network.outputs(X)[:, 0] > 0.5)
    meta = net.metadata["playground"]
    assert meta["config"]["features"] == ["x1", "x2", "sinx1"]
    assert meta["inputs"] == ["x₁", "x₂", "sin x₁"]
    assert s.export_model() == path.read_bytes()        # the same network, the same bytes


def test_model_of_an_upload_records_the_standardisation(tmp_path):
    s = Session({"hidden": [2]})
    s.load_csv(b"p,q,y\n1,10,0.5\n2,30,0.1\n3,20,0.9\n4,50,0.3\n", "small.csv")
    path = tmp_path / "m.ffbp"
    path.write_bytes(s.export_model())
    prep = ffbp.load(path).metadata["playground"]["preprocessing"]
    assert prep["columns"] == ["p", "q"] and prep["target"] == "y"
    train_rows = s.data.X_train * prep["std"] + prep["mean"]      # undo z = (x − μ)/σ
    assert {tuple(r) for r in np.round(train_rows, 9)} <= {(1, 10), (2, 30), (3, 20), (4, 50)}


def _network_part(script: str) -> str:
    """The script up to its network (data and model built, nothing trained)."""
    return script[:script.index("optimizer =")]


@pytest.mark.parametrize("config", [
    {}, CIRCLE_SQ, {"init": "equal", "hidden": [3, 3]}, {"init": "he", "activation": "relu"},
    {"dataset": "multigauss", "init": "small_normal", "seed": 4},
])
def test_script_rebuilds_the_same_data_and_initial_network(config, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["train.py"])
    s = Session(config)
    scope = {"__name__": "exported"}
    exec(_network_part(s.export_script()), scope)
    np.testing.assert_array_equal(scope["net"].flat_values, s.network.flat_values)
    np.testing.assert_array_equal(scope["X_train"], s.data.X_train)
    np.testing.assert_array_equal(scope["t_test"], s.data.t_test)


@pytest.mark.parametrize("config, code", [
    ({"regularization": "l2", "reg_rate": 0.01, "optimizer": "momentum"},
     "ffbp.optim.momentum(0.03, weight_decay=0.01)"),
    ({"regularization": "l1", "reg_rate": 0.002, "optimizer": "adam"},
     "ffbp.optim.chain(ffbp.optim.add_l1_penalty(0.002), ffbp.optim.adam(0.03))"),
    ({}, "ffbp.optim.sgd(0.03)"),
])
def test_script_names_the_sessions_optimiser(config, code):
    assert f"optimizer = {code}\n" in Session(config).export_script()


def _run(script_path, *args, cwd):
    done = subprocess.run([sys.executable, str(script_path), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found = re.search(r"train loss ([0-9.]+), test loss ([0-9.]+)", done.stdout)
    assert found, done.stdout
    return float(found.group(1)), float(found.group(2))


def test_script_runs_and_learns_the_circle(tmp_path):
    s = Session(CIRCLE_SQ)
    script = tmp_path / "train.py"
    script.write_text(s.export_script())
    train, test = _run(script, 40, cwd=tmp_path)
    assert train < 0.15 and test < 0.2          # from ln 2 ≈ 0.69 untrained
    assert ffbp.load(tmp_path / "model.ffbp").n_features == 2


def test_script_of_an_upload_takes_the_csv_path(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    rows = "\n".join(f"{a:.5f},{b:.5f},{c:.5f},{t}" for (a, b, c), t in zip(X, y, strict=True))
    csv = tmp_path / "mine.csv"
    csv.write_text("a,b,c,label\n" + rows + "\n")
    s = Session({"hidden": [2]})
    s.load_csv(csv.read_bytes(), "mine.csv")
    script = tmp_path / "train.py"
    script.write_text(s.export_script())
    train, _ = _run(script, csv, 200, cwd=tmp_path)
    assert train < 0.3
    # no argument: the uploaded file's own name, beside the script
    train, _ = _run(script, cwd=tmp_path)
    assert train < 0.5
    # a file that is not there: one line saying so, not a traceback
    gone = subprocess.run([sys.executable, str(script), "gone.csv"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert gone.returncode == 1
    assert gone.stderr.strip() == ("gone.csv: No such file or directory; run: python "
                                   "train.py DATA.csv [EPOCHS]")
