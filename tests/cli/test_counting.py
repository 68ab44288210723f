"""One way of counting in every message: rows, epochs and units from 1, as the tutorials
(and a spreadsheet's row numbers after the header) do; code indexes from 0.

Each test names a place where the two once disagreed: the API said "first at row 146" for
the row the command line called 147; ``ffbp explain --row`` counted from 0 while every
other row a command names counts from 1; explain's path lines called indexes "units"."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import require
from test_cli import make_table, run

import ffbp

pd = require("pandas", "the command line reads tables with pandas")


@pytest.fixture(scope="module")
def table_and_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("counting")
    make_table(50, 0).to_csv(root / "train.csv", index=False)
    from ffbp.cli import main
    assert main(["train", str(root / "train.csv"), "--target", "label", "--drop", "y",
                 "--hidden", "4", "--epochs", "2", "--quiet", "-o", str(root / "m.ffbp")]) == 0
    return root / "train.csv", root / "m.ffbp"


def test_explain_row_counts_from_1(table_and_model, capsys):
    """--row 1 is the first data row: the same row as --row 1 of a one-row table."""
    data, model = table_and_model
    df = pd.read_csv(data)
    one = data.with_name("row3.csv")
    df.iloc[2:3].to_csv(one, index=False)
    args = ["--layer", "1", "--i", "0", "--j", "0", "--format", "json"]
    code, out, err = run(capsys, "explain", model, data, "--row", "3", *args)
    assert code == 0, err
    code, alone, err = run(capsys, "explain", model, one, "--row", "1", *args)
    assert code == 0, err
    assert json.loads(out)["gradient"] == json.loads(alone)["gradient"]
    for bad in ("0", str(len(df) + 1)):
        code, _, err = run(capsys, "explain", model, data, "--row", bad)
        assert code == 1 and f"rows 1 to {len(df)}" in err, err
    code, _, err = run(capsys, "explain", model, data, "--row", str(len(df)))
    assert code == 0, err


def test_explain_paths_show_indexes_not_unit_numbers():
    """W¹[2, 1] and δ[j] are NumPy indexes; a path line writes them as such, [j]."""
    net = ffbp.Network([ffbp.Dense(3, 3, bias=False), ffbp.Sigmoid(),
                        ffbp.Dense(3, 2, bias=False), ffbp.Sigmoid(),
                        ffbp.Dense(2, 1, bias=False)], dtype=np.float64)
    text = str(ffbp.explain(net, "squared_error", [0.5, -1.0, 2.0], 1.0, layer=1, i=2, j=1))
    assert "path [1] → [0] → [0]:" in text and "units 1 →" not in text
    assert "from 0" in text


def test_epoch_messages_count_from_1():
    """The early-stopping message says epoch e + 1 for the index e that History.best_epoch
    keeps (from 0, an index into history.val_loss); the progress line starts at epoch 1."""
    import io
    import re

    from ffbp.cli.progress import EpochLines

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, -2.0, 0.5]
    net = ffbp.Network([ffbp.Dense(3, 16), ffbp.Tanh(), ffbp.Dense(16, 1)], dtype=np.float64)
    history = net.fit(X[:20], y[:20], optimizer=ffbp.optim.sgd(0.3), epochs=300,
                      batch_size=None, validation_data=(X[20:], y[20:] + 3.0),
                      early_stopping=True, patience=3, verbose=False)
    said = int(re.search(r"at epoch (\d+)\)", history.stop_reason).group(1))
    assert said == history.best_epoch + 1
    assert history.val_loss[history.best_epoch] == min(history.val_loss)

    stream = io.StringIO()
    lines = EpochLines(5, "plain", stream)
    lines.on_epoch_begin(0)
    lines.on_epoch_end(0, {"loss": 1.0})
    assert stream.getvalue().startswith("epoch 1/5")
