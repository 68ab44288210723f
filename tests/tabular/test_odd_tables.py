"""Odd but plausible tables and arguments through the Python API (``fit_table``,
``TableModel.predict/evaluate``): each is an ffbp error naming what is wrong, never a
pandas or NumPy exception, never a silent guess."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require

import ffbp
from ffbp.errors import DataError

pd = require("pandas", "table models read tables with pandas")
pa = require("pyarrow", "table models take pyarrow Tables")


def small_table(n=40, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": rng.normal(size=n),
                         "color": rng.choice(["red", "green"], n),
                         "y": np.where(a > 0, "yes", "no")})


@pytest.fixture(scope="module")
def model():
    return ffbp.fit_table(small_table(), target="y", hidden=[4], epochs=2)


def repeated(df, name, at):
    """``df`` with a second column called ``name`` inserted at position ``at``."""
    out = df.copy()
    out.insert(at, "dummy", df[name].to_numpy())
    out.columns = [name if c == "dummy" else c for c in out.columns]
    return out


@pytest.mark.parametrize("kind", ["DataFrame", "pyarrow"])
def test_repeated_column_names_are_an_error(model, kind):
    df = repeated(small_table(), "b", 3)          # columns a, b, color, b, y
    table = df if kind == "DataFrame" else pa.table(
        [pa.array(df.iloc[:, i]) for i in range(df.shape[1])], names=list(df.columns))
    message = "the table has two columns named 'b' (columns 2 and 4): rename one of them"
    for call in (lambda: ffbp.fit_table(table, target="y", epochs=1),
                 lambda: model.predict(table), lambda: model.evaluate(table)):
        with pytest.raises(DataError) as info:
            call()
        assert str(info.value) == message


def test_names_equal_as_text_are_repeated():
    # the columns are matched by their names as text: 1 and "1" would be one column
    df = small_table().rename(columns={"a": 1, "b": "1"})
    with pytest.raises(DataError, match="two columns named '1' \\(columns 1 and 2\\)"):
        ffbp.fit_table(df, target="y", epochs=1)
