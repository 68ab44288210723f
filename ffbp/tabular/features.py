"""The feature preprocessing of a table model, fitted on the training rows only and saved
in the model's metadata (``ffbp.tabular.TableModel``, ``ffbp train``):

* numeric columns are standardised, (x − mean) / std (a std of 0 becomes 1); a missing
  value becomes the training mean (0 after standardising);
* non-numeric columns (text, booleans, pandas categoricals) and the ``categorical`` ones
  are one-hot encoded over the categories seen in training, sorted; missing values get a
  category of their own when training had any; a value never seen in training (or missing
  when training had no missing values) becomes an all-zero block, with a warning
  (``TableWarning``).

The fitting works on summaries of parts of the rows (``summarize_features`` then
``merge_features``), so that MPI ranks holding parts of a table fit what one process would.
Rows in messages are counted from 1, after the header.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..distributed import running
from ..errors import ConfigError, DataError
from .columns import (
    KeyIndex,
    category_keys,
    first_index,
    is_numeric_column,
    is_text_column,
    numbers,
    pandas,
    row_number,
    shown,
)
from .tables import column, separator_hint

#: ``auto`` makes a numeric target a classification when its values are whole numbers with at
#: most this many distinct values (and at most one per 5 rows, though two are always allowed).
MAX_AUTO_CLASSES = 20
#: A categorical column with more categories than this gets a warning (an identifier?).
MANY_CATEGORIES = 100
MISSING = "<missing>"


class TableWarning(UserWarning):
    """Something in a table the model can take but you should know about: a category never
    seen in training, a numeric column with a few text values, an identifier-like column.
    The ``ffbp`` command shows each as one ``ffbp: warning:`` line."""


def warn(message: str) -> None:
    """A ``TableWarning``; in an MPI job (``ffbp train --distributed``) rank 0 alone speaks
    for all, since every rank finds the same things in the data."""
    comm = running()
    if comm is None or comm.is_root:
        warnings.warn(message, TableWarning, stacklevel=2)


def fit_features(df, target, categorical, drop, path) -> list[dict]:
    """The preprocessing of every feature column, fitted on ``df`` (the training rows)."""
    return merge_features([summarize_features(df, target, categorical, drop, path)])


def feature_columns(df, target, categorical, drop, path) -> list[str]:
    for name in [*categorical, *drop]:
        column(df, name, path)
    if target in categorical:
        raise ConfigError(f"--categorical names the target column {target!r}")
    names = [c for c in df.columns if c != target and c not in drop]
    if not names:
        raise DataError(f"{path} has no feature columns besides the target {target!r}")
    return names


def summarize_features(df, target, categorical, drop, path, numeric=None) -> list[dict]:
    """What ``merge_features`` needs of every feature column of ``df``, a part of the
    training rows: counts, mean and sum of squared deviations of numeric columns, the
    categories of the others. ``numeric``: which columns are numeric in *every* part (by
    default: in this one)."""
    specs = []
    for name in feature_columns(df, target, categorical, drop, path):
        series = df[name]
        n_missing = int(series.isna().sum())
        is_numeric = is_numeric_column(series) if numeric is None else numeric[name]
        if is_numeric and name not in categorical:
            values = numbers(series, name, path)
            count = len(values) - n_missing
            with np.errstate(over="ignore", invalid="ignore"):
                mean = float(np.nanmean(values)) if count else 0.0
                m2 = float(np.nansum((values - mean) ** 2)) if count else 0.0
            check_moments(mean, m2, values, series, name, path)
            specs.append({"name": name, "kind": "numeric", "count": count, "mean": mean,
                          "m2": m2})
            continue
        specs.append({"name": name, "kind": "categorical",
                      "categories": {k for k in category_keys(series) if k is not None},
                      "missing": n_missing > 0, "text": is_text_column(series),
                      "typos": None if is_numeric_column(series) or name in categorical
                      else typo_summary(series)})
    return specs


def check_moments(mean, m2, values, series, name, path) -> None:
    """A column whose squared deviations overflow float64 (values beyond ~1e154) cannot be
    standardised: a DataError naming the column and its largest value's row."""
    if math.isfinite(mean) and math.isfinite(m2):
        return
    i = int(np.nanargmax(np.abs(values)))
    raise DataError(f"{path}: column {name!r} holds {shown(series.iloc[i])} at row "
                    f"{row_number(series, i)}: {TOO_LARGE}")


#: Why a column with huge values is refused (and what to do).
TOO_LARGE = ("too large to standardise (the squares of its deviations from the mean "
             "overflow float64); rescale the column, e.g. to other units or its logarithm")


def merge_moments(parts) -> tuple[int, float, float]:
    """(count, mean, M2) of the union of parts given as (count, mean, M2): Chan et al.'s
    pairwise update, exact for one part. An M2 beyond float64 comes back as inf."""
    n, mean, m2 = 0, 0.0, 0.0
    for k, mk, m2k in parts:
        if k == 0:
            continue
        if n == 0:
            n, mean, m2 = k, mk, m2k
            continue
        delta, total = mk - mean, n + k
        mean = mean + delta * k / total
        try:
            m2 = m2 + m2k + delta ** 2 * n * k / total
        except OverflowError:
            m2 = math.inf
        n = total
    return n, mean, m2


def merge_features(parts: list[list[dict]]) -> list[dict]:
    """The preprocessing specs from the summaries of all parts of the training rows."""
    specs = []
    for columns in zip(*parts, strict=True):
        name, kind = columns[0]["name"], columns[0]["kind"]
        if kind == "numeric":
            count, mean, m2 = merge_moments((c["count"], c["mean"], c["m2"]) for c in columns)
            if not (math.isfinite(mean) and math.isfinite(m2)):
                raise DataError(f"column {name!r}: {TOO_LARGE}")
            if count == 0:
                warn_empty(name)
                continue
            std = float(np.sqrt(m2 / count))
            std = std if std > 0 and math.isfinite(std) else 1.0
            specs.append({"name": name, "kind": "numeric", "mean": mean, "std": std})
            continue
        if all(c["typos"] for c in columns):
            warn_typos([c["typos"] for c in columns], name)
        categories = sorted(set().union(*(c["categories"] for c in columns)))
        if not categories:
            warn_empty(name)
            continue
        if len(categories) > MANY_CATEGORIES:
            warn(f"column {name!r} has {len(categories)} distinct values and becomes as many "
                 f"inputs; if it is an identifier, leave it out with --drop {name}")
        # "text": the categories were learnt from strings in every part (KeyIndex matches
        # other text to them exactly)
        specs.append({"name": name, "kind": "categorical", "categories": categories,
                      "missing": any(c["missing"] for c in columns),
                      "text": all(c["text"] for c in columns)})
    if not specs:
        raise DataError("every feature column is empty in the training rows: there is "
                        "nothing to learn from")
    return specs


def warn_empty(name) -> None:
    """A column without a value in the training rows is left out of the model: its input
    would be a constant whose weights never learn, and a value at prediction would move
    the output by those random weights."""
    warn(f"column {name!r} is empty in the training data: it is left out of the model "
         f"(its values are ignored at prediction)")


def typo_summary(series) -> dict:
    """How many present values of ``series`` are not numbers, and the first of them."""
    pd = pandas()
    present = series.dropna()
    bad = pd.to_numeric(present, errors="coerce").isna().to_numpy()
    first = None
    if bad.any():
        i = first_index(bad)
        first = (repr(present.iloc[i]),
                 row_number(series, series.index.get_loc(present.index[i])))
    # numbers written with separators: 1,299.00 / 1.299,50 / 12,5 (a spreadsheet's export)
    grouped = bad & present.astype(str).str.fullmatch(GROUPED).to_numpy(dtype=bool)
    example = None
    if grouped.any():
        i = first_index(grouped)
        example = (repr(present.iloc[i]),
                   row_number(series, series.index.get_loc(present.index[i])))
    return {"present": len(present), "bad": int(bad.sum()), "first": first,
            "grouped": int(grouped.sum()), "example": example}


#: A number written with thousands separators or a decimal comma.
GROUPED = (r"\s*[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]{1,3}(?:\.[0-9]{3})+"
           r"(?:,[0-9]+)?|[0-9]+,[0-9]+)\s*")


def warn_typos(parts, name, remedy="--categorical") -> None:
    """Warn when a column is mostly numbers but for a few values (≤ 10%): typos, probably,
    that made the whole column text. ``parts``: the ``typo_summary`` of each part."""
    present, bad = sum(p["present"] for p in parts), sum(p["bad"] for p in parts)
    if present and 0 < bad <= 0.1 * present:
        value, row = next(p["first"] for p in parts if p["first"])
        what = "class labels" if remedy.startswith("--task") else "categories"
        warn(f"column {name!r} is mostly numbers but holds {value} (row {row}): its values "
             f"are treated as {what}; fix the data if it should be numeric")
        return
    grouped = sum(p.get("grouped", 0) for p in parts)
    if grouped and bad - grouped <= 0.1 * present:
        value, row = next(p["example"] for p in parts if p.get("example"))
        what = "class labels" if remedy.startswith("--task") else "categories"
        warn(f"column {name!r} holds numbers written with separators, such as {value} (row "
             f"{row}): they are text to ffbp, and its values are treated as {what}; write "
             f"them as plain numbers (1299.5, not 1,299.50 or 1.299,50) to use them as "
             f"numbers")


def input_names(specs) -> list[str]:
    """The network's input columns: a numeric column, or ``column=category`` per category."""
    names = []
    for spec in specs:
        if spec["kind"] == "numeric":
            names.append(spec["name"])
        else:
            names += [f"{spec['name']}={c}" for c in spec["categories"]]
            if spec["missing"]:
                names.append(f"{spec['name']}={MISSING}")
    return names


def transform(df, specs, path) -> np.ndarray:
    """The network's input matrix (float64) for the rows of ``df``; columns by name, so their
    order in the file does not matter and extra columns are ignored."""
    missing_cols = [s["name"] for s in specs if s["name"] not in df.columns]
    if missing_cols:
        raise DataError(f"{path} lacks column(s) the model was trained on: "
                        f"{', '.join(map(repr, missing_cols))}{separator_hint(df, path)}")
    blocks = []
    for spec in specs:
        name, series = spec["name"], df[spec["name"]]
        if spec["kind"] == "numeric":
            values = numbers(series, name, path)
            values = np.where(np.isnan(values), spec["mean"], values)
            blocks.append(((values - spec["mean"]) / spec["std"])[:, None])
            continue
        categories = spec["categories"]
        index = KeyIndex(categories, spec.get("text"))
        width = len(categories) + bool(spec["missing"])
        block = np.zeros((len(df), width))
        keys, raw = category_keys(series), series.tolist()
        unknown = []
        for row, k in enumerate(keys):
            if k is None:
                if spec["missing"]:
                    block[row, -1] = 1.0
                else:
                    unknown.append(row)
            elif (j := index.get(k, isinstance(raw[row], str))) is not None:
                block[row, j] = 1.0
            else:
                unknown.append(row)
        if unknown:
            shown = keys[unknown[0]]
            warn(f"{path}: column {name!r} has {len(unknown)} value(s) not seen in training "
                 f"(first {MISSING if shown is None else repr(shown)} at row "
                 f"{row_number(series, unknown[0])}):"
                 f" encoded as all zeros")
        blocks.append(block)
    return np.hstack(blocks) if blocks else np.zeros((len(df), 0))
