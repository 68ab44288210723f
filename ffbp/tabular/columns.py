"""Table values as the CLI reads them: numbers of a column, category keys, labels, rows.

Rows in messages are counted from 1, after the header.
"""

from __future__ import annotations

import decimal
import math
import re

import numpy as np

from ..errors import DataError, FFBPError


def pandas():
    try:
        import pandas as pd
    except ImportError:
        raise FFBPError('reading CSV or Parquet files needs pandas and pyarrow: '
                        'pip install "ffbp[cli]"') from None
    return pd



def plain(value):
    """A JSON-able Python scalar for a table value (whole-number floats become ints; a
    DECIMAL value becomes the int or float a CSV of it reads as, when that keeps its value,
    so that a Parquet file and a CSV of one table have the same labels and categories)."""
    if isinstance(value, np.generic):          # a NumPy scalar: its Python value
        value = value.item()
    if isinstance(value, bool) or isinstance(value, str) or isinstance(value, int):
        return value
    if isinstance(value, decimal.Decimal) and value.is_finite():
        if value == value.to_integral_value():
            return int(value)
        if decimal.Decimal(repr(float(value))) == value:
            value = float(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    return str(value)


def shown(value) -> str:
    """A table value for a message: 1e+200, 'red' (not np.float64(1e+200))."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def key(value) -> str:
    """How a category or class label is matched between files: 1, 1.0 and "1" are the
    same label, so a CSV and a Parquet file of the same data agree."""
    return str(plain(value))


_NUMBER = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")


_MIDNIGHT = re.compile(r"\s*([0-9]{4}-[0-9]{2}-[0-9]{2})[ T]00:00(?::00(?:\.0+)?)?\s*")


def number_key(k: str) -> str:
    """The key of the number a key's text spells ("01" -> "1", "1.50" -> "1.5", "1e3" ->
    "1000"), of the boolean ("true", "TRUE" -> "True") or of the date ("2020-01-31
    00:00:00" -> "2020-01-31"), else the key itself: how another reader of the same values
    sees them (a CSV's numbers and booleans parsed, a Parquet file's dates as timestamps)."""
    if k.strip().lower() in ("true", "false"):
        return k.strip().capitalize()
    midnight = _MIDNIGHT.fullmatch(k)
    if midnight:                  # a date: pandas writes a date column's midnights as dates
        return midnight.group(1)
    if not _NUMBER.fullmatch(k):
        return k
    text = k.strip()
    if re.fullmatch(r"[+-]?[0-9]+", text):
        return str(int(text))
    value = float(text)
    return key(value) if math.isfinite(value) else k


class KeyIndex:
    """The position of each of ``keys`` (category or class keys of a model), found by a
    value's key: the key itself, or else the number, boolean or date it spells. Whether
    pandas reads a column of codes "01", "02" as text or as the numbers 1, 2 depends on the
    other values in the file (one "A1" keeps them text) and on the format (Parquet keeps
    text), so the rows of one table must find the same category either way.

    The loose match is made across that boundary only: ``text`` says which keys were learnt
    from text (one bool for all, a list like ``keys``, or None where a model does not
    record it), and a text value is never matched loosely to a text key ("1.10" is not
    "1.1", nor "001" "01": two spellings in one reader's text are two values)."""

    def __init__(self, keys, text=None):
        self.exact = {k: i for i, k in enumerate(keys)}
        self.text = list(text) if isinstance(text, (list, tuple)) else [text] * len(keys)
        self.loose = {}
        for k, i in self.exact.items():
            self.loose.setdefault(number_key(k), i)

    def get(self, k: str, value_is_text: bool = False):
        i = self.exact.get(k)
        if i is not None:
            return i
        i = self.loose.get(number_key(k))
        return None if i is None or (value_is_text and self.text[i]) else i


def is_text_column(series) -> bool:
    """Whether every present value of ``series`` is a string (what a CSV reader leaves as
    text, a Parquet string column, a DataFrame's str objects)."""
    from pandas.api.types import infer_dtype

    return infer_dtype(series, skipna=True) == "string"


def is_numeric_column(series) -> bool:
    """A numeric column (booleans are categories, not numbers); also a column of
    ``decimal.Decimal`` values (see ``is_decimal_column``)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if series.dtype == object:
        return is_decimal_column(series)
    return is_numeric_dtype(series.dtype) and not is_bool_dtype(series.dtype)


def is_decimal_column(series) -> bool:
    """A column of ``decimal.Decimal`` values (Parquet's and databases' DECIMAL, which pandas
    holds as Python objects) whose distinct values float64 keeps apart: prices and amounts,
    numbers as the same values are in a CSV file. DECIMAL(38, 0) identifiers that float64
    would merge stay categories, so that no two labels become one."""
    import decimal

    present = series.dropna()
    if not (len(present) and isinstance(present.iloc[0], decimal.Decimal)
            and all(isinstance(v, decimal.Decimal) for v in present)):
        return False
    return len({float(v) for v in present}) == len(set(present))


def first_index(mask) -> int:
    """The position of the first True in ``mask``."""
    return int(np.flatnonzero(np.asarray(mask))[0])


def row_number(series, i: int) -> int:
    """The table row (from 1, after the header) of position ``i`` of ``series``: its index
    label counts rows from 0 in the whole file, also for a subset of the rows (the training
    part) and for a rank's part of the file (``ffbp train --distributed``)."""
    label = series.index[i]
    return int(label) + 1 if isinstance(label, (int, np.integer)) else i + 1


def numbers(series, name, path) -> np.ndarray:
    """A float64 array of a column that must be numeric; missing values are NaN."""
    pd = pandas()
    if is_numeric_column(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(np.float64, na_value=np.nan)
        bad = np.isnan(values) & ~series.isna().to_numpy()
        if bad.any():
            i = first_index(bad)
            raise DataError(f"{path}: column {name!r} must be numeric but row "
                            f"{row_number(series, i)} holds "
                            f"{series.iloc[i]!r}")
    if np.isinf(values).any():
        i = first_index(np.isinf(values))
        raise DataError(f"{path}: column {name!r} has an infinite value at row "
                        f"{row_number(series, i)}")
    return values


def category_keys(series) -> np.ndarray:
    """The category key of every value (None where missing), as an object array."""
    missing = series.isna().to_numpy()
    keys = np.array([None if m else key(v) for v, m in zip(series.tolist(), missing,
                                                              strict=True)], dtype=object)
    return keys


def sorted_labels(values) -> list:
    """Distinct labels, numbers (in numeric order) before text, de-duplicated by ``key``."""
    seen = {}
    for v in values:
        seen.setdefault(key(v), plain(v))
    numbers = sorted((v for v in seen.values() if isinstance(v, (int, float))),
                     key=lambda v: (float(v), str(v)))
    others = sorted((v for v in seen.values() if not isinstance(v, (int, float))), key=str)
    return numbers + others
