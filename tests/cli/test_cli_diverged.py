"""A run of ``ffbp train`` that diverges: the model of its last finite weights, what
``ffbp summary`` says about it, and the remedies the command suggests."""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pytest
from cli_kit import run
from conftest import require

from ffbp.cli import main

pd = require("pandas", "the command line reads tables with pandas")



@pytest.fixture(scope="module")
def diverged(tmp_path_factory):
    """y = (3a − 2b)·1000 + 0.5 trained by full-batch SGD at learning rate 100: it blows up
    within a few epochs. (the folder, the stderr of train)"""
    root = tmp_path_factory.mktemp("diverged")
    X = np.random.default_rng(0).normal(size=(64, 2))
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": (3 * X[:, 0] - 2 * X[:, 1]) * 1000 + 0.5}
                 ).to_csv(root / "reg.csv", index=False)
    err = io.StringIO()                 # capsys is per test: this runs once for the module
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main([str(a) for a in ("train", root / "reg.csv", "--target", "y",
                                      "--optimizer", "sgd", "--lr", "100", "--batch-size",
                                      "full", "--epochs", "60", "-o", root / "m.ffbp")])
    assert code == 1 and (root / "m.diverged.ffbp").exists() and not (root / "m.ffbp").exists()
    return root, err.getvalue()


def summary_line(capsys, root, start):
    code, out, _ = run(capsys, "summary", root / "m.diverged.ffbp")
    assert code == 0
    return next(line for line in out.splitlines() if line.startswith(start))


def test_summary_of_a_diverged_model_gives_the_epochs_completed(diverged, capsys):
    root, _ = diverged
    line = summary_line(capsys, root, "training: ")
    assert "None" not in line, line
    found = re.search(r"; (\d+) epochs? completed \(diverged: training diverged at epoch "
                      r"(\d+), batch 1: ", line)
    assert found, line
    # full batch: one step an epoch, so diverging in epoch k leaves k − 1 epochs done
    assert int(found.group(1)) == int(found.group(2)) - 1 >= 1, line


def test_summary_shows_a_full_batch_run_as_full(diverged, capsys):
    """--batch-size full is stored as None; summary says full, not the default (32)."""
    root, _ = diverged
    line = summary_line(capsys, root, "options: ")
    assert "batch_size=full," in line and "batch_size=default" not in line, line


def test_train_gives_its_remedies_in_its_own_flags(diverged):
    root, err = diverged
    lines = err.strip().splitlines()
    error = lines[-1]
    assert error.startswith("ffbp: error: training diverged at epoch "), err
    assert error.endswith(
        f"the weights of the last finite step are kept: they are saved in "
        f"{root / 'm.diverged.ffbp'} ({root / 'm.ffbp'} was not written). Try: lower the "
        f"learning rate (--lr), clip the gradients (e.g. --clip-norm 1.0), use ReLU instead "
        f"of a saturating activation (--activation relu), or add weight decay (e.g. "
        f"--weight-decay 1e-4)"), error
    warned = [line for line in lines if line.startswith("ffbp: warning: ")]
    # the first full-batch step at learning rate 100 already moves every weight matrix by
    # more than its size: "exploding", whose remedy the NaN/inf and raw-gradient kinds share
    assert warned and "one update moved" in warned[0], err
    assert all(line.endswith(
        "Remedies: lower the learning rate (--lr), clip the gradients (--clip-norm 1.0) and "
        "add weight decay (--weight-decay 1e-4).") for line in warned), err
    for python in ("clip_norm=", "weight_decay=", "optimizer=", "clip_by_global_norm"):
        assert python not in err, err
    # the model of the diverged run keeps the same words
    assert "(e.g. --clip-norm 1.0)" in (root / "m.diverged.ffbp").read_bytes().decode(
        "utf-8", "replace")
