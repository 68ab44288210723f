"""Rows in messages count from 1 at the API as on the command line: the API once said
"first at row 146" for the row the command line called 147 (see docs/guide.md, Counting)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require
from test_cli import make_table, run

import ffbp

pd = require("pandas", "the command line reads tables with pandas")


def test_api_and_command_line_name_the_same_row(tmp_path, capsys):
    """The 147th data row (index 146): the command line and the API both say row 147."""
    df = make_table(200, 0)
    df.loc[146, "label"] = np.nan
    df.to_csv(tmp_path / "t.csv", index=False)
    code, _, err = run(capsys, "train", tmp_path / "t.csv", "--target", "label", "--drop",
                       "y", "--epochs", "1", "--quiet", "-o", tmp_path / "m.ffbp")
    assert code == 1 and "first at row 147" in err, err

    net = ffbp.Network([ffbp.Dense(2, 1)])
    X, y = np.zeros((200, 2)), np.zeros(200)
    y[146] = np.nan
    with pytest.raises(ffbp.DataError, match=r"y contains NaN or inf \(first at row 147\b"):
        net.fit(X, y, epochs=1, verbose=False)
    X[146, 1] = np.inf
    with pytest.raises(ffbp.DataError, match=r"X contains NaN or inf \(first at row 147\b"):
        net.forward(X)


def test_sparse_rows_count_from_1():
    sparse = require("scipy.sparse", "sparse input")
    dense = np.ones((30, 3))
    dense[9, 1] = np.nan                         # row index 9
    X = sparse.csr_matrix(dense)
    with pytest.raises(ffbp.DataError, match=r"X contains NaN or inf \(first at row 10\b"):
        ffbp.Network([ffbp.Dense(3, 1)]).forward(X)
