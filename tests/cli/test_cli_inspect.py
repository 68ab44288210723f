"""ffbp explain, train --report / diagnostics, and Ctrl-C during ffbp train."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from conftest import require
from test_cli import make_table, run

import ffbp
from ffbp.cli import commands

pd = require("pandas", "the command line reads tables with pandas")
require("pyarrow", "the command line reads Parquet with pyarrow")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("inspect")
    make_table(300, 0).to_csv(root / "train.csv", index=False)
    model = root / "m.ffbp"
    from ffbp.cli import main

    assert main(["train", str(root / "train.csv"), "--target", "label", "--drop", "y",
                 "--hidden", "8,6", "--epochs", "5", "--quiet", "-o", str(model)]) == 0
    return root, model


@pytest.mark.parametrize("layer,i,j,bias", [("1", 2, 3, False), ("2", 0, 5, False),
                                            ("-1", 0, 1, True), ("layer2", 1, 1, False)])
def test_explain_matches_back_propagation_of_that_row(trained, capsys, layer, i, j, bias):
    root, model = trained
    args = ["explain", model, root / "train.csv", "--row", "5", "--layer", layer, "--i", i,
            "--j", j, "--lr", "0.1", "--format", "json"] + (["--bias"] if bias else [])
    code, out, err = run(capsys, *args)
    assert code == 0, err
    result = json.loads(out)
    # Independent oracle: --row 5 is index 4 (rows count from 1); it goes through the stored
    # preprocessing, then back-propagation.
    net = commands.load_model(model)
    df = pd.read_csv(root / "train.csv").iloc[4:5]
    X = commands.prepare(net, df, "train.csv")
    y = np.searchsorted(net.metadata["target"]["classes"], df["label"].to_numpy())
    net64 = net.astype(np.float64)
    net64.compute_gradients(X, y, net.loss, training=False)
    dense = [k for k, lay in enumerate(net64.layers) if isinstance(lay, ffbp.Dense)]
    index = int(layer[5:]) if layer.startswith("layer") else dense[int(layer) - (int(layer) > 0)]
    target = net64.layers[index]
    grad = target.b.grad[j] if bias else target.W.grad[i, j]
    assert result["parameter"] == f"layer{index}.{'b' if bias else 'W'}" + (
        f"[{j}]" if bias else f"[{i}, {j}]")
    assert result["gradient"] == pytest.approx(grad, rel=1e-9, abs=1e-13)
    assert result["numeric"] == pytest.approx(grad, rel=1e-5, abs=1e-9)
    assert result["update"] == pytest.approx(-0.1 * grad, rel=1e-9, abs=1e-13)


def test_explain_bad_row_and_layer(trained, capsys):
    root, model = trained
    code, _, err = run(capsys, "explain", model, root / "train.csv", "--row", "999")
    assert code == 1 and "outside" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "explain", model, root / "train.csv", "--layer", "first")
    assert code == 2 and "--layer" in err


def test_train_writes_a_report_and_reports_diagnostics(trained, capsys, tmp_path):
    root, _ = trained
    code, out, err = run(capsys, "train", root / "train.csv", "--target", "label", "--drop",
                         "y", "--epochs", "3", "--quiet", "--report", tmp_path / "rep",
                         "-o", tmp_path / "m.ffbp")
    assert code == 0, err
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "report.html" in out and "<html" in page.lower() and "data:image/png" in page
    # the settings as used: adam's own learning rate and weight decay, not "None"
    settings = dict(re.findall(r"<tr><td>(\w+)</td><td[^>]*>([^<]*)</td></tr>",
                               page[page.index("<h2>Hyper-parameters</h2>"):]))
    assert settings["lr"] == "0.001" and settings["weight_decay"] == "0"
    assert settings["clip_norm"] == "off (no clipping)" and settings["task"] == "classification"
    assert "None" not in page[page.index("<h2>Hyper-parameters</h2>"):page.index("<h2>Data")]
    # the final figures the command printed, as it printed them
    printed = {line.split()[0]: line.split()[1:] for line in out.splitlines()
               if line.startswith(("train ", "validation "))}
    for name, (loss, accuracy) in printed.items():
        assert f"<td>{name}</td><td>{loss}</td><td>{accuracy}</td>" in page
    # x1, x2 and the colour one-hot: more than 2 inputs, so the plane of the two that matter
    assert "Decision boundary in the plane of the two most important inputs" in page


def test_a_diverging_train_still_writes_its_report(trained, capsys, tmp_path):
    root, _ = trained
    code, out, err = run(capsys, "train", root / "train.csv", "--target", "label", "--drop",
                         "y", "--optimizer", "sgd", "--lr", "500", "--epochs", "20",
                         "--quiet", "--report", tmp_path / "rep", "-o", tmp_path / "m.ffbp")
    page = tmp_path / "rep" / "report.html"
    error = err.strip().splitlines()[-1]
    assert code == 1 and error.startswith("ffbp: error: training diverged")
    assert error.endswith(f"report: {page}") and page.exists()
    text = page.read_text()
    assert "<h2>Training diverged</h2>" in text and "Last good epoch" in text
    assert "The last gradients measured before the failure" in text
    assert not (tmp_path / "m.ffbp").exists() and (tmp_path / "m.diverged.ffbp").exists()


def test_diagnostics_warn_in_one_line_on_a_vanishing_network(capsys, tmp_path):
    df = make_table(200, 3)
    df.to_csv(tmp_path / "t.csv", index=False)
    code, out, err = run(capsys, "train", tmp_path / "t.csv", "--target", "label", "--drop",
                         "y", "--hidden", "16,16,16,16,16,16,16,16", "--activation",
                         "sigmoid", "--optimizer", "sgd", "--lr", "0.01", "--epochs", "2",
                         "--quiet", "-o", tmp_path / "m.ffbp")
    assert code == 0, err
    warnings_ = [line for line in err.splitlines() if line.startswith("ffbp: warning:")]
    assert any("vanish" in line for line in warnings_), err
    assert all(line.startswith("ffbp: warning:") for line in err.strip().splitlines())


def test_ctrl_c_during_ffbp_train_leaves_a_checkpoint_that_resumes_exactly(tmp_path):
    """A real SIGINT to a real 'ffbp train' process once its progress bar has started."""
    make_table(3000, 4).to_csv(tmp_path / "t.csv", index=False)
    base = [sys.executable, "-m", "ffbp", "train", str(tmp_path / "t.csv"), "--target",
            "label", "--drop", "y", "--hidden", "32", "--epochs", "60", "--batch-size", "16",
            "--no-diagnostics", "--seed", "3"]
    env = {**os.environ, "COLUMNS": "80"}
    full = subprocess.run(base + ["--quiet", "-o", str(tmp_path / "full.ffbp")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert full.returncode == 0, full.stderr

    model = tmp_path / "cut.ffbp"
    proc = subprocess.Popen(base + ["-o", str(model)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = ""
    # Training is under way once the bar shows epoch 2 or later (tqdm redraws at most ten
    # times a second, so it may skip any given epoch number).
    while not any(int(k) >= 2 for k in re.findall(r"epoch (\d+)/", seen)):
        chunk = proc.stderr.read(64)
        assert chunk, f"training ended before it could be interrupted: {seen[-500:]}"
        seen += chunk
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=120)
    err = seen + rest
    assert proc.returncode == 130, err
    checkpoint = f"{model}.ckpt"
    assert os.path.exists(checkpoint) and f"--resume {checkpoint}" in err
    assert not model.exists()                          # no half-trained model was saved

    resumed = subprocess.run(base + ["--quiet", "-o", str(model), "--resume", checkpoint],
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    np.testing.assert_array_equal(ffbp.load(model).flat_values,
                                  ffbp.load(tmp_path / "full.ffbp").flat_values)


def test_report_names_every_input_also_a_missing_category(capsys, tmp_path):
    df = make_table(120, 5)
    df.loc[::7, "color"] = None             # a category column with missing values
    df.to_csv(tmp_path / "t.csv", index=False)
    code, out, err = run(capsys, "train", tmp_path / "t.csv", "--target", "label", "--drop",
                         "y", "--epochs", "2", "--quiet", "--report",
                         tmp_path / "rep", "-o", tmp_path / "m.ffbp")
    assert code == 0, err
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "Decision boundary in the plane of the two most important inputs" in page
