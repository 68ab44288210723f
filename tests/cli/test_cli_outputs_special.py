"""Outputs that are not regular files: ffbp writes every model, checkpoint, prediction and
ONNX file beside its path and renames it over the path, which would put a regular file in
the place of a named pipe or a device (as root, ``-o /dev/null`` would replace the system's
/dev/null). Such an output is refused before any work; a --log-file, written in place, is
not. (Named pipes stand in for devices here: a test must never risk /dev/null.)"""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from cli_kit import run
from conftest import require

pd = require("pandas", "the command line reads tables with pandas")
if not hasattr(os, "mkfifo"):
    pytest.skip("named pipes are POSIX", allow_module_level=True)

FAST = ["--epochs", "2", "--hidden", "4", "--quiet", "--no-diagnostics"]



@pytest.fixture
def files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    a = rng.normal(size=30)
    pd.DataFrame({"a": a, "b": rng.normal(size=30), "y": np.where(a > 0, "p", "q")}).to_csv(
        tmp_path / "t.csv", index=False)
    code, _, err = run(capsys, "train", tmp_path / "t.csv", "--target", "y", "-o",
                       tmp_path / "m.ffbp", *FAST)
    assert code == 0, err
    return tmp_path


@pytest.mark.parametrize("command, name, what", [
    ("train", "pipe.ffbp", "the model"),
    ("checkpoint", "pipe.ckpt", "the checkpoint"),
    ("predict", "pipe.csv", "the predictions"),
    ("export", "pipe.onnx", "the ONNX model"),
])
def test_a_named_pipe_as_an_output_is_refused_and_kept(files, capsys, command, name, what):
    pipe = files / name
    os.mkfifo(pipe)
    args = {"train": ("train", files / "t.csv", "--target", "y", "-o", pipe, *FAST),
            "checkpoint": ("train", files / "t.csv", "--target", "y", "-o", files / "n.ffbp",
                           "--checkpoint", pipe, *FAST),
            "predict": ("predict", files / "m.ffbp", files / "t.csv", "-o", pipe),
            "export": ("export", files / "m.ffbp", "-o", pipe)}[command]
    code, out, err = run(capsys, *args)
    assert code == 1
    assert err.strip() == (f"ffbp: error: cannot write {what} to {pipe}: it is a named pipe, "
                           f"and ffbp writes a new file in its place (atomically); give a "
                           f"file name")
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)          # still the pipe
    assert not (files / "n.ffbp").exists()


def test_the_log_file_may_be_dev_null(files, capsys):
    # written in place, line by line: /dev/null takes it and stays a device
    code, _, err = run(capsys, "train", files / "t.csv", "--target", "y", "-o",
                       files / "n.ffbp", "--log-file", os.devnull, *FAST)
    assert code == 0, err
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
