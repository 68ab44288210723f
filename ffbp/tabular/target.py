"""The target column of a table model (``ffbp train``, ``ffbp.fit_table``): which task it
is, its classes or scaling, and its encoding (class indices, or the standardised value),
fitted on all parts of a table.

* classification: the classes are every distinct label of the table (so each has an
  output), numbers in numeric order before text;
* regression: mean and standard deviation of the training rows (the network learns the
  standardised target; predictions are mapped back).

Rows in messages are counted from 1, after the header.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import DataError
from .columns import (
    KeyIndex,
    category_keys,
    first_index,
    is_numeric_column,
    key,
    numbers,
    row_number,
    sorted_labels,
)
from .features import (
    MANY_CATEGORIES,
    MAX_AUTO_CLASSES,
    TOO_LARGE,
    check_moments,
    merge_moments,
    typo_summary,
    warn,
    warn_typos,
)


def check_target(series, name, path) -> None:
    missing = series.isna().to_numpy()
    if missing.any():
        raise DataError(f"{path}: target column {name!r} has {int(missing.sum())} missing "
                        f"value(s) (first at row {row_number(series, first_index(missing))})")


def infer_task(series, task, name, path="DATA") -> tuple[str, str]:
    """(task, why) for ``--task auto|classification|regression``."""
    return decide_task([summarize_target(series, task, name, path)], task, name)


def summarize_target(series, task, name, path) -> dict:
    """What ``decide_task`` needs of a part of the target column: is it numeric, its
    distinct values (at most one more than could be classes), are they whole numbers."""
    numeric = is_numeric_column(series)
    if task == "regression" and not numeric:
        numbers(series, name, path)         # names the first row that is not a number
    summary = {"numeric": numeric, "rows": len(series), "distinct": [], "whole": True,
               "typos": typo_summary(series) if task == "auto" and not numeric else None}
    if numeric and task == "auto":
        distinct = np.unique(series.to_numpy(np.float64))
        summary["whole"] = bool(np.all(np.mod(distinct, 1) == 0))
        summary["distinct"] = distinct[:MAX_AUTO_CLASSES + 1].tolist()
        summary["n_distinct"] = len(distinct)
    return summary


def decide_task(parts, task, name) -> tuple[str, str]:
    """(task, why) from the target summaries of all parts of the table."""
    if task in ("regression", "classification"):
        return task, "as requested"
    if not all(p["numeric"] for p in parts):
        warn_typos([p["typos"] for p in parts if p["typos"]], name, "--task regression")
        return "classification", "non-numeric target"
    rows = sum(p["rows"] for p in parts)
    distinct = np.unique(np.concatenate([p["distinct"] for p in parts]))
    n_distinct = max(len(distinct), *(p["n_distinct"] for p in parts))
    whole = all(p["whole"] for p in parts)
    if whole and n_distinct <= min(MAX_AUTO_CLASSES, max(2, rows // 5)):
        return "classification", f"whole-number target with {n_distinct} distinct values"
    if whole:        # the parts keep MAX_AUTO_CLASSES + 1 values: beyond, only "over"
        shown = n_distinct if n_distinct <= MAX_AUTO_CLASSES or len(parts) == 1 else \
            f"over {MAX_AUTO_CLASSES}"
        return "regression", (f"{shown} distinct whole numbers in {rows} rows is too many "
                              f"classes")
    return "regression", "numeric target"


def summarize_target_values(all_rows, train_rows, name, task, path) -> dict:
    if task == "classification":
        return {"labels": sorted_labels(all_rows.tolist()), "rows": len(all_rows)}
    values = numbers(train_rows, name, path)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(values.mean()) if len(values) else 0.0
        m2 = float(np.sum((values - mean) ** 2))
    check_moments(mean, m2, values, train_rows, name, path)
    return {"moments": (len(values), mean, m2)}


def merge_target(parts, name, task, path) -> dict:
    if task == "classification":
        classes = sorted_labels([v for p in parts for v in p["labels"]])
        rows = sum(p["rows"] for p in parts)
        if len(classes) < 2:
            raise DataError(f"{path}: target {name!r} has a single class {classes[0]!r}; "
                            f"classification needs at least 2")
        if len(classes) > max(MANY_CATEGORIES, rows // 2):
            warn(f"target {name!r} has {len(classes)} classes in {rows} rows: if it "
                 f"is a quantity, use --task regression")
        return {"name": name, "task": task, "classes": classes}
    count, mean, m2 = merge_moments(p["moments"] for p in parts)
    if not (math.isfinite(mean) and math.isfinite(m2)):
        raise DataError(f"{path}: target column {name!r}: {TOO_LARGE}")
    std = float(np.sqrt(m2 / count)) if count else 0.0
    return {"name": name, "task": task, "mean": mean, "std": std if std > 0 else 1.0}


def encode_target(series, spec, path) -> np.ndarray:
    """Class indices (int64), or the standardised regression target (float64)."""
    check_target(series, spec["name"], path)
    if spec["task"] == "regression":
        return (numbers(series, spec["name"], path) - spec["mean"]) / spec["std"]
    classes = spec["classes"]
    index = KeyIndex([key(c) for c in classes], [isinstance(c, str) for c in classes])
    keys, raw = category_keys(series), series.tolist()
    out = np.empty(len(keys), dtype=np.int64)
    for row, k in enumerate(keys):
        i = index.get(k, isinstance(raw[row], str))
        if i is None:
            shown = ", ".join(map(repr, spec["classes"][:10]))
            raise DataError(f"{path}: row {row_number(series, row)} has label "
                            f"{series.iloc[row]!r}, which is not one of the model's classes "
                            f"({shown}{', ...' if len(spec['classes']) > 10 else ''})")
        out[row] = i
    return out
