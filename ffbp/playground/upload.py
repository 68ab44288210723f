"""A CSV file (bytes) → a numeric table, or a one-line PlaygroundError saying what is wrong.

The file needs a header row naming the columns, then one row per sample, every value a
number (the target may also hold exactly two labels, such as "yes"/"no", which become 0/1
in sorted order). Rows are counted from 1 as data rows (the header is not counted), as the
page shows them. Limits: ``MAX_ROWS`` rows and ``MAX_FEATURES`` feature columns, so a
browser tab cannot make the server train on a table it cannot draw.

Only the standard ``csv`` module and NumPy: the playground extra stays light.
"""

from __future__ import annotations

import csv
import io
import math
from typing import NamedTuple

import numpy as np

from .errors import PlaygroundError

MAX_ROWS = 10_000
MAX_FEATURES = 16
#: Cells read as missing rather than as a bad number.
MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}


class Table(NamedTuple):
    """``X`` (rows, features) and ``t`` (rows,) float64; ``classes`` the two labels of a
    text target (``t`` holds 0/1 for them) or None."""

    columns: list
    target: str
    X: np.ndarray
    t: np.ndarray
    classes: list | None


def read_csv(data: bytes, target: str | None = None, filename: str = "the file") -> Table:
    """Parse ``data``; the target is the column named ``target``, else the last one."""
    if not isinstance(data, (bytes, bytearray)):
        raise PlaygroundError(f"{filename}: expected the file's bytes, got "
                              f"{type(data).__name__}")
    if not data.strip():
        raise PlaygroundError(f"{filename} is empty: upload a CSV file with a header row "
                              f"and numeric columns")
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlaygroundError(f"{filename} is not UTF-8 text (byte {exc.start + 1} cannot be "
                              f"read): save it as CSV in UTF-8") from None
    rows = _rows(text, filename)
    header, body = [c.strip() for c in rows[0]], rows[1:]
    _check_header(header, body, filename)
    if target is None:
        target = header[-1]
    elif target not in header:
        raise PlaygroundError(f"{filename} has no column {target!r}; its columns are "
                              f"{', '.join(header)}")
    columns = [c for c in header if c != target]
    if len(columns) < 2:
        raise PlaygroundError(f"{filename} has {len(columns)} feature column(s) besides the "
                              f"target {target!r}: the playground needs at least 2 (one per "
                              f"axis of the plane) and a target")
    if len(columns) > MAX_FEATURES:
        raise PlaygroundError(f"{filename} has {len(columns)} feature columns; the playground "
                              f"draws at most {MAX_FEATURES}")
    if not body:
        raise PlaygroundError(f"{filename} has a header but no data rows")
    if len(body) > MAX_ROWS:
        raise PlaygroundError(f"{filename} has {len(body):,} data rows; the playground takes "
                              f"at most {MAX_ROWS:,} (sample it down first)")
    for r, row in enumerate(body, start=1):
        if len(row) != len(header):
            raise PlaygroundError(f"{filename}: row {r} has {len(row)} values but the header "
                                  f"names {len(header)} columns")
    index = {name: k for k, name in enumerate(header)}
    X = np.column_stack([_numbers(body, index[c], c, filename) for c in columns])
    t, classes = _target(body, index[target], target, filename)
    return Table(columns, target, X, t, classes)


def _rows(text, filename):
    first = text.splitlines()[0] if text.splitlines() else ""
    # A comma file is the norm; a header with no comma but semicolons or tabs names its own.
    delimiter = ","
    if "," not in first:
        delimiter = ";" if ";" in first else "\t" if "\t" in first else ","
    try:
        rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)
                if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise PlaygroundError(f"{filename} is not a readable CSV file: {exc}") from None
    if not rows:
        raise PlaygroundError(f"{filename} is empty: upload a CSV file with a header row "
                              f"and numeric columns")
    return rows


def _is_number(cell) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _check_header(header, body, filename):
    if all(_is_number(c) for c in header):
        raise PlaygroundError(f"{filename} has no header row: its first line holds numbers; "
                              f"add a first line naming the columns (e.g. x1,x2,label)")
    blank = [k + 1 for k, c in enumerate(header) if not c]
    if blank:
        raise PlaygroundError(f"{filename}: column {blank[0]} of the header has no name")
    seen = set()
    for c in header:
        if c in seen:
            raise PlaygroundError(f"{filename}: the header names column {c!r} twice")
        seen.add(c)


def _numbers(body, k, name, filename) -> np.ndarray:
    out = np.empty(len(body))
    for r, row in enumerate(body, start=1):
        cell = row[k].strip()
        if cell.lower() in MISSING:
            raise PlaygroundError(f"{filename}: column {name!r} has a missing value in row "
                                  f"{r}; fill or drop that row")
        try:
            value = float(cell)
        except ValueError:
            raise PlaygroundError(f"{filename}: column {name!r} is not numeric (row {r} holds "
                                  f"{cell[:40]!r}); the playground takes numeric columns "
                                  f"only") from None
        if not math.isfinite(value):
            raise PlaygroundError(f"{filename}: column {name!r} holds {cell!r} in row {r}; "
                                  f"values must be finite numbers")
        out[r - 1] = value
    return out


def _target(body, k, name, filename):
    cells = [row[k].strip() for row in body]
    for r, cell in enumerate(cells, start=1):
        if cell.lower() in MISSING:
            raise PlaygroundError(f"{filename}: the target {name!r} has a missing value in "
                                  f"row {r}; fill or drop that row")
    if all(_is_number(c) for c in cells):
        t, classes = _numbers(body, k, name, filename), None
    else:
        labels = sorted(set(cells))
        if len(labels) != 2:
            bad = next(r for r, c in enumerate(cells, start=1) if not _is_number(c))
            raise PlaygroundError(f"{filename}: the target {name!r} is not numeric (row {bad} "
                                  f"holds {cells[bad - 1][:40]!r}) and has {len(labels)} "
                                  f"distinct labels; use numbers or exactly two labels")
        t, classes = np.array([labels.index(c) for c in cells], dtype=np.float64), labels
    if np.all(t == t[0]):
        raise PlaygroundError(f"{filename}: the target {name!r} is constant (every row holds "
                              f"{cells[0]!r}): there is nothing to learn")
    return t, classes
