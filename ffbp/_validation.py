"""Checks at ffbp's public boundary: bad input gets an error that names what is wrong.

Every public entry point (``Network.forward``, ``fit``, losses, ``gradcheck``) calls these
before any arithmetic, so a user never sees a NumPy traceback from deep inside a layer.
"""

from __future__ import annotations

import difflib
import sys

import numpy as np

from .errors import ConfigError, DataError, ShapeError


def is_sparse(X) -> bool:
    """Whether X is a scipy sparse matrix or array (scipy is not a dependency: a sparse X
    means scipy.sparse is already imported, so nothing is imported here)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)


def as_matrix(X, name: str, dtype, n_features: int | None = None,
              first_row: int = 0, accept_sparse: bool = False) -> np.ndarray:
    """Return ``X`` as a finite 2-D array of ``dtype`` with ``n_features`` columns.

    A 1-D array is taken as *one sample* only when ``n_features`` says so is unambiguous
    (n_features == len(X)); otherwise it is an error, because guessing between "one sample"
    and "one feature" silently gives wrong results. ``first_row``: the index of X's first
    row in a larger data set (a block of a file), for messages.

    ``accept_sparse``: a scipy sparse X is returned sparse (see ``as_sparse_matrix``);
    otherwise it is refused, never densified behind the caller's back.
    """
    if is_sparse(X):
        if accept_sparse:
            return as_sparse_matrix(X, name, dtype, n_features)
        raise DataError(f"{name} is a scipy sparse matrix, which this function does not "
                        f"take: pass a dense array (X.toarray())")
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise DataError(f"{name} could not be read as an array: {exc}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise DataError(f"{name} must be numeric, got an array of dtype {arr.dtype}")
    if arr.ndim == 1 and n_features is not None and arr.shape[0] == n_features:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise ShapeError(
            f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}"
            + ("; reshape a single feature with X.reshape(-1, 1)" if arr.ndim == 1 else "")
        )
    if arr.shape[0] == 0:
        raise DataError(f"{name} is empty: shape {arr.shape}")
    if n_features is not None and arr.shape[1] != n_features:
        raise ShapeError(
            f"{name} has {arr.shape[1]} features (shape {arr.shape}) but the network's first "
            f"layer expects {n_features}"
        )
    arr = np.ascontiguousarray(arr, dtype=dtype)
    check_finite(arr, name, first_row)
    return arr


def as_sparse_matrix(X, name: str, dtype, n_features: int | None = None):
    """A scipy sparse ``X`` checked like ``as_matrix`` checks a dense one, and still sparse:
    its stored values cast to ``dtype`` (a copy of the values only, never a dense array).
    CSR and CSC stay as they are; other formats (COO, LIL, …) become CSR, the one that
    row slicing and products handle well.

    Shape: (n_samples, n_features), nnz stored values.
    """
    if X.ndim != 2:
        raise ShapeError(f"{name} must be 2-D (n_samples, n_features), got a sparse array "
                         f"of shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.bool_)):
        raise DataError(f"{name} must be numeric, got a sparse matrix of dtype {X.dtype}")
    if X.shape[0] == 0:
        raise DataError(f"{name} is empty: shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ShapeError(
            f"{name} has {X.shape[1]} features (shape {X.shape}) but the network's first "
            f"layer expects {n_features}"
        )
    if X.format not in ("csr", "csc"):
        X = X.tocsr()
    X = X.astype(dtype, copy=False)
    # Only the stored values can be NaN or inf; the implicit zeros are finite.
    with np.errstate(over="ignore", invalid="ignore"):
        total = X.data.sum()
    if not np.isfinite(total):
        bad = np.flatnonzero(~np.isfinite(X.data))
        if bad.size:
            # CSR: entry k lies in the row whose indptr range holds k; CSC: indices are rows.
            rows = np.searchsorted(X.indptr, bad, side="right") - 1 if X.format == "csr" \
                else X.indices[bad]
            raise DataError(f"{name} contains NaN or inf (first at row {int(rows.min())})")
    return X


def check_finite(arr: np.ndarray, name: str, first_row: int = 0) -> None:
    """Raise ``DataError`` naming the first row with NaN or inf (counting from
    ``first_row``)."""
    # np.isfinite(arr.sum()) is one fast pass; only look for the culprit when it fails.
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()
    if not np.isfinite(total):
        bad = ~np.isfinite(arr)
        if bad.any():
            row = first_row + int(np.argwhere(bad)[0][0])
            raise DataError(f"{name} contains NaN or inf (first at row {row})")


def check_sample_weight(sample_weight, n_samples: int, dtype) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=dtype).reshape(-1)
    if w.shape[0] != n_samples:
        raise ShapeError(
            f"sample_weight has {w.shape[0]} entries but there are {n_samples} samples"
        )
    check_finite(w, "sample_weight")
    if (w < 0).any():
        raise DataError("sample_weight must be non-negative")
    if w.sum() <= 0:
        raise DataError("sample_weight sums to zero: no sample would count")
    return w


def check_positive(value, name: str, *, integer: bool = False, allow_none: bool = False):
    if value is None and allow_none:
        return value
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) and not (
        isinstance(value, np.number)
    ):
        raise ConfigError(f"{name} must be a positive {'integer' if integer else 'number'}, "
                          f"got {value!r}")
    if integer and int(value) != value or not value > 0:
        raise ConfigError(f"{name} must be a positive {'integer' if integer else 'number'}, "
                          f"got {value!r}")
    return value


def lookup(name, table: dict, what: str):
    """Resolve a string ``name`` in ``table``; unknown names get a "did you mean" hint."""
    if not isinstance(name, str):
        return name
    key = name.lower().replace("-", "_")
    if key in table:
        return table[key]
    # A known name inside the unknown one ("mse_loss") or the other way round ("relu6"), else
    # the closest spelling.
    close = sorted((k for k in table if k in key or key in k), key=len, reverse=True)
    close = close or difflib.get_close_matches(key, table, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown {what} {name!r}{hint}; known: {', '.join(sorted(table))}")
