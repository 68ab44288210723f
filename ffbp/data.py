"""Data sources: training data read block by block, for data that does not fit in memory
and for ranks that each read only their own rows (``fit(source, distributed=True)``).

    source = ffbp.data.NpySource("X.npy", "y.npy", block_rows=65536)
    net.fit(source, loss="cross_entropy", batch_size=128, epochs=5)

A source is a list of *blocks* (contiguous rows: fixed-size windows of a ``.npy`` file, the
row groups of a Parquet file, chunks of arrays). ``fit`` keeps one block in memory at a time,
so peak memory stays flat however large the file. Shuffling is by blocks: each epoch visits
the blocks in a random order and the rows of each block in a random order ("block
shuffling"); a file sorted by label should therefore be written in shuffled order, or with
blocks small enough that a batch mixes several of them.

Under MPI (``distributed=True``) the blocks are split among the ranks:
``source.partition(rank, size)`` keeps blocks ``shard(rank)`` only, so each rank reads only
its own part of the file. ``ArraySource(X, y, partitioned=True)`` says that the arrays are
already this rank's part (each rank passes different rows).

The protocol, for writing other sources: ``n_features``, ``block_sizes`` (rows of each
block), ``read(i) -> (X_block, y_block)`` (arrays; ``y`` as the loss expects it, before
``prepare_targets``), ``partition(rank, size) -> source`` and ``name`` for messages.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .errors import ConfigError, DataError, ShapeError

#: Rows per block when a file format does not define its own (about 16 MB for 64 float32
#: features: large enough for fast sequential reads, small enough to be forgotten).
BLOCK_ROWS = 65536


def is_source(obj) -> bool:
    return all(hasattr(obj, a) for a in ("block_sizes", "read", "partition"))


def shard(n: int, rank: int, size: int) -> tuple[int, int]:
    """Rank ``rank``'s contiguous part lo:hi of ``n`` items (sizes differ by at most one)."""
    return (n * rank) // size, (n * (rank + 1)) // size


class _Blocks:
    """What every source shares: blocks are windows [start, stop) of rows, and a partition
    keeps a contiguous run of them."""

    name = "source"

    def __init__(self, bounds):
        self.bounds = list(bounds)

    @property
    def block_sizes(self) -> list[int]:
        return [b - a for a, b in self.bounds]

    @property
    def n_samples(self) -> int:
        return sum(self.block_sizes)

    def partition(self, rank: int, size: int, allow_empty: bool = False):
        """This rank's share of the blocks (a contiguous run). Every rank raises the same
        error when there are fewer blocks than ranks (unless ``allow_empty``: validation
        data, where an empty part is harmless)."""
        lo, hi = shard(len(self.bounds), rank, size)
        if len(self.bounds) < size and not allow_empty:
            raise ConfigError(f"{self.name} has {len(self.bounds)} block(s), fewer than the "
                              f"{size} ranks: some rank would get no data (use smaller "
                              f"blocks, e.g. block_rows, or fewer ranks)")
        part = object.__new__(type(self))
        part.__dict__.update(self.__dict__)
        part.bounds = self.bounds[lo:hi]
        return part

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name}: {self.n_samples} rows, "
                f"{len(self.bounds)} blocks)")


def _row_bounds(n: int, block_rows) -> list[tuple[int, int]]:
    if block_rows is None:
        return [(0, n)] if n else []
    if isinstance(block_rows, bool) or not isinstance(block_rows, (int, np.integer)) \
            or block_rows < 1:
        raise ConfigError(f"block_rows must be a positive integer or None, got {block_rows!r}")
    return [(a, min(a + int(block_rows), n)) for a in range(0, n, int(block_rows))]


class ArraySource(_Blocks):
    """Arrays in memory (or ``np.memmap`` arrays) as a source, in blocks of ``block_rows``
    (None: one block, so shuffling is a full shuffle).

    ``partitioned=True``: the arrays are this rank's own rows, already split (each rank of
    an MPI job passes its part), so ``partition`` keeps them all.
    """

    def __init__(self, X, y, block_rows=None, partitioned=False):
        # memory maps stay memory maps; anything else (lists) becomes an array
        X, y = _array(X, "X"), _array(y, "y")
        self.X, self.y = X, y
        if X.ndim != 2:
            raise ShapeError(f"ArraySource: X must be a 2-D array, got shape {X.shape}")
        if y.ndim == 0 or len(y) != len(X):
            raise ShapeError(f"ArraySource: X has {len(X)} rows but y has shape {y.shape}")
        super().__init__(_row_bounds(len(X), block_rows))
        self.n_features = X.shape[1]
        self.partitioned = partitioned
        self.name = "arrays"

    def partition(self, rank: int, size: int, allow_empty: bool = False):
        return self if self.partitioned else super().partition(rank, size, allow_empty)

    def read(self, i: int):
        a, b = self.bounds[i]
        return self.X[a:b], self.y[a:b]


class NpySource(_Blocks):
    """Two ``.npy`` files, X (n, d) and y (n,) or (n, k), read in windows of ``block_rows``
    rows, each memory-mapped only while it is read: the process never maps the whole file,
    so its address space stays small (it works under ``ulimit -v`` far below the file size).
    """

    def __init__(self, X_path, y_path, block_rows: int = BLOCK_ROWS):
        self.files = [_npy_header(X_path, "X"), _npy_header(y_path, "y")]
        (xpath, xshape, _, _), (ypath, yshape, _, _) = self.files
        if len(xshape) != 2:
            raise ShapeError(f"{xpath}: X must be 2-D (n_samples, n_features), got shape "
                             f"{xshape}")
        if len(yshape) not in (1, 2) or yshape[0] != xshape[0]:
            raise ShapeError(f"{ypath} has shape {yshape} but {xpath} has {xshape[0]} rows: "
                             f"y must be (n_samples,) or (n_samples, k)")
        super().__init__(_row_bounds(xshape[0], block_rows))
        self.n_features = xshape[1]
        self.name = os.fspath(X_path)

    def read(self, i: int):
        a, b = self.bounds[i]
        return tuple(_npy_rows(f, a, b) for f in self.files)


def _array(a, what) -> np.ndarray:
    """``a`` as an array of real numbers (a memory map stays one), checked by dtype only:
    the values are checked block by block as they are read."""
    try:
        a = a if isinstance(a, np.ndarray) else np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise DataError(f"ArraySource: {what} could not be read as an array: {exc}") from None
    _check_dtype(a.dtype, f"ArraySource: {what}")
    return a


def _check_dtype(dtype, what) -> None:
    if dtype.hasobject or not (np.issubdtype(dtype, np.number) or dtype == np.bool_):
        raise DataError(f"{what} must hold numbers, not {dtype}")
    if np.issubdtype(dtype, np.complexfloating):
        raise DataError(f"{what} holds complex numbers ({dtype}); ffbp computes with real "
                        f"numbers")


def _npy_header(path, what):
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise ConfigError(f"the {what} file must be a path, got {path!r}")
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            offset = f.tell()
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        raise DataError(f"no such file for {what}: {path}") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} ({what}) is not a readable .npy file: {exc}") from None
    if fortran and len(shape) > 1:
        raise DataError(f"{path} ({what}) is stored in Fortran order; rows must be contiguous:"
                        f" save np.ascontiguousarray(array)")
    _check_dtype(dtype, f"{path} ({what})")
    # Python ints: np.prod of a shape like (2**62, 4) wraps around in int64 (to 0 here), and
    # the check would pass for a file that cannot hold the array.
    need = math.prod(int(s) for s in shape) * dtype.itemsize
    if offset + need > size:
        raise DataError(f"{path} ({what}) is truncated: its header says shape {shape} "
                        f"of {dtype} ({need:,} bytes of data) but the file has {size:,} "
                        f"bytes")
    return path, tuple(shape), dtype, offset


def _npy_rows(file, a: int, b: int) -> np.ndarray:
    """Rows a:b of a .npy file, copied out of a memory map of just those rows."""
    path, shape, dtype, offset = file
    row = math.prod(int(s) for s in shape[1:]) * dtype.itemsize
    window = np.memmap(path, dtype=dtype, mode="r", offset=offset + a * row,
                       shape=(b - a, *shape[1:]))
    rows = np.array(window)        # a copy: the mapping is released when `window` goes
    del window
    return rows


class ParquetSource(_Blocks):
    """A Parquet file read one row group at a time (needs pyarrow): numeric ``features``
    columns (default: every column but the target) as X, the ``target`` column as y.
    Write the file with several row groups (``row_group_size``) to bound the memory used
    and to give each MPI rank its own."""

    def __init__(self, path, target: str, features=None):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ConfigError('ParquetSource needs pyarrow: pip install "ffbp[cli]"') from None
        self.path = os.fspath(path)
        try:
            meta = pq.ParquetFile(self.path).metadata
        except FileNotFoundError:
            raise DataError(f"no such file: {self.path}") from None
        except Exception as exc:
            raise DataError(f"{self.path} is not a readable Parquet file: {exc}") from None
        columns = list(meta.schema.names)
        if target not in columns:
            raise DataError(f"{self.path} has no target column {target!r}; its columns: "
                            f"{', '.join(columns)}")
        features = [c for c in columns if c != target] if features is None else list(features)
        missing = [c for c in features if c not in columns]
        if missing:
            raise DataError(f"{self.path} has no column(s) {', '.join(map(repr, missing))}")
        if not features:
            raise DataError(f"{self.path} has no feature columns besides {target!r}")
        self.target, self.features = target, features
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        # empty row groups (some writers leave them) are no blocks
        self.groups = [i for i, size in enumerate(sizes) if size]
        super().__init__([(starts[i], starts[i + 1]) for i in self.groups])
        self.n_features = len(features)
        self.name = self.path

    def partition(self, rank: int, size: int, allow_empty: bool = False):
        part = super().partition(rank, size, allow_empty)
        lo, hi = shard(len(self.bounds), rank, size)
        part.groups = self.groups[lo:hi]
        return part

    def read(self, i: int):
        import pyarrow.parquet as pq

        table = pq.ParquetFile(self.path).read_row_group(
            self.groups[i], columns=[*self.features, self.target])
        columns = [_numeric(table.column(name), name, self.path) for name in self.features]
        X = np.empty((table.num_rows, len(columns)), np.result_type(*columns))
        for j, values in enumerate(columns):
            X[:, j] = values
        return X, _numeric(table.column(self.target), self.target, self.path)


def _numeric(column, name, path) -> np.ndarray:
    if column.null_count:
        raise DataError(f"{path}: column {name!r} has {column.null_count} missing value(s); "
                        f"ParquetSource needs complete numeric columns")
    try:
        values = column.to_numpy()
    except Exception as exc:
        raise DataError(f"{path}: column {name!r} could not be read: {exc}") from None
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_):
        raise DataError(f"{path}: column {name!r} holds {column.type}, not numbers; "
                        f"ParquetSource reads numeric columns (the ffbp command line encodes "
                        f"categories: ffbp train FILE --target ...)")
    return values
