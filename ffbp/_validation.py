"""Checks at ffbp's public boundary: bad input gets an error that names what is wrong.

Every public entry point (``Network.forward``, ``fit``, losses, ``gradcheck``) calls these
before any arithmetic, so a user never sees a NumPy traceback from deep inside a layer.
"""

from __future__ import annotations

import difflib
import math
import os
import sys

import numpy as np

from .errors import ConfigError, DataError, ShapeError


def is_sparse(X) -> bool:
    """Whether X is a scipy sparse matrix or array (scipy is not a dependency: a sparse X
    means scipy.sparse is already imported, so nothing is imported here). A plain ndarray,
    what every training step asks about, is answered first without the module look-up."""
    if type(X) is np.ndarray:
        return False
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
    arr = read_numeric(X, name)
    if arr.ndim == 1 and n_features is not None and arr.shape[0] == n_features:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise ShapeError(
            f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}"
            + ("; reshape a single feature with X.reshape(-1, 1)" if arr.ndim == 1 else "")
        )
    _check_rows_and_width(arr.shape, name, n_features)
    check_finite(arr, name, first_row)
    return cast_within_range(arr, dtype, name, contiguous=True)


def cast_within_range(arr: np.ndarray, dtype, name: str, contiguous: bool = False):
    """``arr`` (finite) in ``dtype``, or a DataError naming ``name`` when a value is beyond
    the dtype's range (1e150 in float32 would silently become inf)."""
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(arr, dtype=dtype) if contiguous else \
            arr.astype(dtype, copy=False)
    if out is not arr and np.issubdtype(out.dtype, np.floating) and not np.isfinite(out).all():
        big = float(np.abs(np.asarray(arr, dtype=np.float64)).max())
        raise DataError(f"{name} has values too large for {np.dtype(dtype).name} (up to "
                        f"{big:.3g}; the largest it holds is {np.finfo(dtype).max:.3g}): "
                        f"rescale them, or compute in float64")
    return out


def _check_rows_and_width(shape, name: str, n_features: int | None) -> None:
    """At least one row, and the network's input width (when it is known)."""
    if shape[0] == 0:
        raise DataError(f"{name} is empty: shape {shape}")
    if n_features is not None and shape[1] != n_features:
        raise ShapeError(f"{name} has {shape[1]} features (shape {shape}) but the network's "
                         f"first layer expects {n_features}")


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
    check_real(X, name)
    _check_rows_and_width(X.shape, name, n_features)
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
            raise DataError(f"{name} contains NaN or inf (first at row {int(rows.min()) + 1})")
    return X


def check_real(arr, name: str) -> None:
    """Refuse complex values: casting them to float would silently drop the imaginary
    parts (NumPy only warns)."""
    if np.iscomplexobj(arr):
        raise DataError(f"{name} has complex values (dtype {arr.dtype}); ffbp computes with "
                        f"real numbers (pass .real if the imaginary parts are to be dropped)")


def read_numeric(value, name: str) -> np.ndarray:
    """``value`` as an array of real numbers (or booleans), not yet cast: a DataError naming
    ``name`` for ragged lists, text, objects or complex values."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise DataError(f"{name} could not be read as an array: {exc}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise DataError(f"{name} must be numeric, got an array of dtype {arr.dtype}")
    check_real(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str, first_row: int = 0) -> None:
    """Raise ``DataError`` naming the first row with NaN or inf, or when ``arr`` is complex.
    ``arr[0]`` is row index ``first_row``; the message counts rows from 1, as every message
    does (index 146 is "row 147")."""
    check_real(arr, name)
    # np.isfinite(arr.sum()) is one fast pass; only look for the culprit when it fails.
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()
    if not np.isfinite(total):
        bad = ~np.isfinite(arr)
        if bad.any():
            row = first_row + int(np.argwhere(bad)[0][0]) + 1
            raise DataError(f"{name} contains NaN or inf (first at row {row})")


def check_sample_weight(sample_weight, n_samples: int, dtype) -> np.ndarray | None:
    """``sample_weight`` as a 1-D array of ``n_samples`` finite, non-negative weights of
    ``dtype`` (None stays None). Like scikit-learn, any other shape is refused, a column
    (n, 1) included: flattening a 2-D array would pair weights with the wrong samples
    whenever its shape is not what the caller thinks."""
    if sample_weight is None:
        return None
    w = read_numeric(sample_weight, "sample_weight")
    if w.ndim != 1:
        raise ShapeError(f"sample_weight must be 1-D, one weight per sample (shape "
                         f"({n_samples},)), got shape {w.shape}")
    with np.errstate(over="ignore"):        # too large for dtype: inf, refused below
        w = w.astype(dtype, copy=False)
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


def _is_real_number(value) -> bool:
    """An int or a float (Python or NumPy), not a bool, not complex."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


def check_positive(value, name: str, *, integer: bool = False, allow_none: bool = False):
    """``value`` if it is a finite number > 0 (with ``integer``: a whole one, 2.0 counts);
    ConfigError otherwise."""
    if value is None and allow_none:
        return value
    if not _is_real_number(value) or not math.isfinite(value) or not value > 0 or (
            integer and int(value) != value):
        raise ConfigError(f"{name} must be a positive {'integer' if integer else 'number'}, "
                          f"got {value!r}")
    return value


def check_number(value, name: str, low: float = -math.inf, high: float = math.inf, *,
                 low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float if it is a finite real number in the interval from ``low`` to
    ``high`` (each end closed unless ``low_open`` / ``high_open``); ConfigError naming the
    interval otherwise."""
    ok = _is_real_number(value) and math.isfinite(value) and (
        value > low if low_open else value >= low) and (
        value < high if high_open else value <= high)
    if not ok:
        if low == -math.inf and high == math.inf:
            where = ""
        elif high == math.inf:
            where = f" {'>' if low_open else '>='} {low:g}"
        elif low == -math.inf:
            where = f" {'<' if high_open else '<='} {high:g}"
        else:
            where = (f" in {'(' if low_open else '['}{low:g}, {high:g}"
                     f"{')' if high_open else ']'}")
        raise ConfigError(f"{name} must be a finite number{where}, got {value!r}")
    return float(value)


def check_seed(seed, name: str = "seed"):
    """None or an integer >= 0 (NumPy's rule for a seed), as an int; ConfigError
    otherwise."""
    if seed is None:
        return None
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, (bool, np.bool_)) \
            or seed < 0:
        raise ConfigError(f"{name} must be None or an integer >= 0, got {seed!r}")
    return int(seed)


def _memory_bytes() -> int:
    """The machine's physical memory, or 1 TiB when the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 2**40


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def check_allocation(n_values: int, what: str, noun: str = "numbers") -> None:
    """Refuse, before allocating, ``n_values`` float64 numbers that could not fit in the
    machine's memory (``what`` names the layer, ``noun`` the numbers, in the message)."""
    need = int(n_values) * 8
    have = _memory_bytes()
    if need > have:
        raise ConfigError(f"{what} would hold {int(n_values):,} {noun}, "
                          f"{human_bytes(need)} in float64: more than this machine's "
                          f"{human_bytes(have)} of memory")


def check_keywords(keywords, known, caller: str, more: str) -> None:
    """Refuse a keyword of ``caller`` that is not in ``known``, in one line that says the
    closest known name; ``more`` ends the message (where every option is listed)."""
    for name in keywords:
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{caller}() got an unknown option {name!r}{hint}; {more}")


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
