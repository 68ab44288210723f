"""``ffbp train`` before and while it trains: the summary printed first, per-epoch lines
(plain / json) when stderr is not a terminal, --log-file, early stopping by default, and
--report refused up front without matplotlib."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from cli_kit import run
from conftest import require

import ffbp

pd = require("pandas", "the command line reads tables with pandas")



@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """Three classes from two numeric columns and a colour."""
    rng = np.random.default_rng(0)
    n = 300
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    color = rng.choice(["red", "green"], size=n)
    score = x1 + x2 + (color == "red")
    label = np.select([score > 1, score < -0.5], ["high", "low"], "mid")
    path = tmp_path_factory.mktemp("progress") / "t.csv"
    pd.DataFrame({"x1": x1, "x2": x2, "color": color, "label": label}).to_csv(path, index=False)
    return path


def test_summary_lines_come_before_training(table, capsys, tmp_path):
    code, out, err = run(capsys, "train", table, "--target", "label", "--epochs", "3",
                         "--hidden", "8", "-o", tmp_path / "m.ffbp")
    assert code == 0, err
    lines = out.splitlines()
    first = lines[:4]
    assert first[0].startswith("task: classification of 'label'") and "3 classes" in first[0]
    assert first[1] == (f"data: {table}: 270 training + 30 validation rows; 3 feature columns "
                        f"(2 numeric, 1 categorical) -> 4 inputs")
    n_params = ffbp.load(tmp_path / "m.ffbp").flat_values.size
    assert first[2].startswith("network: 4-8-3, relu hidden, Softmax output, ")
    assert f"{n_params} parameters" in first[2] and "cross_entropy loss" in first[2]
    assert first[3] == ("training: adam optimiser (learning rate 0.001), batch size 32, up to "
                        "3 epochs, early stopping on val_loss (patience 10)")
    assert lines[4].startswith("trained 3 epochs")


def test_plain_lines_when_stderr_is_not_a_terminal(table, capsys, tmp_path):
    code, _, err = run(capsys, "train", table, "--target", "label", "--epochs", "4",
                       "--hidden", "8", "--no-diagnostics", "-o", tmp_path / "m.ffbp")
    assert code == 0, err
    assert "\r" not in err
    lines = err.splitlines()
    assert len(lines) == 4, err
    for k, line in enumerate(lines, 1):
        words = line.split()
        assert words[:2] == ["epoch", f"{k}/4"] and words[-1] == "s", line
        assert [w for w in words[2:-2:2]] == ["loss", "accuracy", "val_loss", "val_accuracy"]
        float(words[-2])


def test_json_lines(table, capsys, tmp_path):
    code, _, err = run(capsys, "train", table, "--target", "label", "--epochs", "3",
                       "--hidden", "8", "--no-diagnostics", "--log-format", "json",
                       "-o", tmp_path / "m.ffbp")
    assert code == 0, err
    records = [json.loads(line) for line in err.splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert set(records[0]) == {"epoch", "epochs", "loss", "accuracy", "val_loss",
                               "val_accuracy", "seconds"}
    history = ffbp.load(tmp_path / "m.ffbp").metadata["training"]
    assert history["epochs_run"] == 3


def test_quiet_prints_no_progress(table, capsys, tmp_path):
    code, _, err = run(capsys, "train", table, "--target", "label", "--epochs", "3",
                       "--no-diagnostics", "--log-format", "plain", "--quiet",
                       "-o", tmp_path / "m.ffbp")
    assert code == 0 and err == ""


def test_log_file_has_a_row_per_epoch(table, capsys, tmp_path):
    log = tmp_path / "epochs.csv"
    code, _, err = run(capsys, "train", table, "--target", "label", "--epochs", "5",
                       "--hidden", "8", "--quiet", "--log-file", log, "-o", tmp_path / "m.ffbp")
    assert code == 0, err
    with open(log, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                             "seconds"]
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]
    assert all(float(r["seconds"]) >= 0 and float(r["loss"]) > 0 for r in rows)


def test_log_file_of_a_resumed_run_covers_the_whole_run(table, capsys, tmp_path):
    common = ["train", table, "--target", "label", "--hidden", "8", "--quiet",
              "--no-early-stopping", "--log-file", tmp_path / "log.csv"]
    assert run(capsys, *common, "--epochs", "2", "--checkpoint", tmp_path / "c.ckpt",
               "-o", tmp_path / "half.ffbp")[0] == 0
    assert run(capsys, *common, "--epochs", "4", "--resume", tmp_path / "c.ckpt",
               "-o", tmp_path / "full.ffbp")[0] == 0
    with open(tmp_path / "log.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert rows[0]["seconds"] == "" and rows[3]["seconds"] != ""


def test_log_file_that_is_an_input_is_refused_before_training(table, capsys, tmp_path):
    code, out, err = run(capsys, "train", table, "--target", "label", "--log-file", table,
                         "-o", tmp_path / "m.ffbp")
    assert code == 1 and out == ""
    assert err.startswith(f"ffbp: error: --log-file {table} is the same file as DATA")
    code, _, err = run(capsys, "train", table, "--target", "label", "--log-file",
                       tmp_path / "no" / "such" / "log.csv", "-o", tmp_path / "m.ffbp")
    assert code == 1 and "cannot write the --log-file" in err



@pytest.mark.parametrize("data_name, label", [("r.diverged.csv", "the diverged-run model"),
                                              ("r.csv.ckpt", "the Ctrl-C checkpoint")])
def test_an_output_named_after_o_that_is_the_input_says_to_change_o(table, capsys, tmp_path,
                                                                    data_name, label):
    """The diverged-run model and the Ctrl-C checkpoint take their paths from -o: the
    remedy names -o, in plain words."""
    data = tmp_path / data_name
    data.write_bytes(table.read_bytes())
    code, out, err = run(capsys, "train", data, "--target", "label",
                         "-o", tmp_path / "r.csv")
    assert code == 1 and out == ""
    assert err == (f"ffbp: error: {label} {data} is the same file as DATA {data}: writing it "
                   f"would destroy the input; choose another -o path ({label}'s path is made "
                   f"from it)\n"), err

def test_early_stopping_is_on_with_a_validation_split(table, capsys, tmp_path):
    args = ["train", table, "--target", "label", "--hidden", "8", "--quiet", "--epochs", "400",
            "--lr", "0.05"]
    code, out, err = run(capsys, *args, "-o", tmp_path / "a.ffbp")
    assert code == 0, err
    meta = ffbp.load(tmp_path / "a.ffbp").metadata["training"]
    assert meta["options"]["early_stopping"] is True
    assert meta["stop_reason"].startswith("early stopping") and meta["epochs_run"] < 400
    assert "kept the weights of epoch" in out
    code, out, err = run(capsys, *args, "--epochs", "20", "--no-early-stopping",
                         "-o", tmp_path / "b.ffbp")
    assert code == 0, err
    meta = ffbp.load(tmp_path / "b.ffbp").metadata["training"]
    assert meta["options"]["early_stopping"] is False and meta["epochs_run"] == 20
    code, out, err = run(capsys, *args, "--epochs", "20", "--validation-split", "0",
                         "-o", tmp_path / "c.ffbp")
    assert code == 0, err
    meta = ffbp.load(tmp_path / "c.ffbp").metadata["training"]
    assert meta["options"]["early_stopping"] is False and meta["epochs_run"] == 20


def test_defaults_reach_r2_of_030_on_held_out_diabetes(capsys, tmp_path):
    """scikit-learn's diabetes regression (442 rows) with every default of ffbp train: early
    stopping keeps the best epoch's weights (without it, 100 epochs overfit: R² ~0.03)."""
    datasets = require("sklearn.datasets", "the diabetes data comes with scikit-learn")
    frame = datasets.load_diabetes(as_frame=True).frame
    order = np.random.default_rng(0).permutation(len(frame))
    cut = int(0.8 * len(frame))
    frame.iloc[np.sort(order[:cut])].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[np.sort(order[cut:])].to_csv(tmp_path / "test.csv", index=False)
    code, _, err = run(capsys, "train", tmp_path / "train.csv", "--target", "target",
                       "--quiet", "-o", tmp_path / "d.ffbp")
    assert code == 0, err
    code, out, err = run(capsys, "evaluate", tmp_path / "d.ffbp", tmp_path / "test.csv",
                         "--json")
    assert code == 0, err
    assert json.loads(out)["r2"] >= 0.30


BLOCK_MATPLOTLIB = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "matplotlib":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
from ffbp.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_report_without_matplotlib_is_refused_before_training(table, tmp_path):
    model = tmp_path / "m.ffbp"
    done = subprocess.run([sys.executable, "-c", BLOCK_MATPLOTLIB, "train", str(table),
                           "--target", "label", "--epochs", "2", "--report",
                           str(tmp_path / "run"), "-o", str(model)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr == ('ffbp: error: --report needs matplotlib, which is not installed: '
                           'pip install "ffbp[plots]" (or leave out --report)\n')
    assert not model.exists() and not (tmp_path / "run").exists()
