"""``ffbp train --distributed``: each MPI rank reads only its own rows of the table, and
the preprocessing is fitted on all of them by exchanging small summaries.

Which rows a rank reads:

* Parquet: the row groups ``shard(rank)`` of the file (so write it with at least as many
  row groups as ranks; ``pyarrow.parquet.write_table(..., row_group_size=...)``);
* CSV/TSV: the bytes ``[S·r/P, S·(r+1)/P)`` of the data after the header line, widened to
  whole lines: a line belongs to the rank whose range holds its first byte. (A CSV whose
  quoted fields contain line breaks cannot be split this way: convert it to Parquet.)

``ffbp.tabular.prepare`` then fits the same preprocessing as one process would on the whole
table: means and standard deviations merge exactly from each part's (count, mean, M2),
category sets and class labels by union, the task from each part's distinct target values.
"""

from __future__ import annotations

import io
import os

import numpy as np

from ..data import shard
from ..errors import DataError
from ..tabular.tables import check_unique, header_names, read_csv_unshifted
from . import data


def read_own_rows(path, comm, text=()):
    """(this rank's rows as a DataFrame, a label for messages: the path and the part).
    ``text``: CSV columns to read as text, whatever they look like."""
    path = os.fspath(path)
    kind = data.table_format(path)
    if path == "-" or path.lower().endswith(data.COMPRESSION):
        raise DataError(f"--distributed reads a part of {path} on each rank, so the file "
                        f"must be seekable and uncompressed (.csv, .tsv or .parquet)")
    if not os.path.isfile(path):
        raise DataError(f"no such file: {path}")
    if kind == "parquet":
        df = _parquet_part(path, comm)
    else:
        df = _csv_part(path, kind, comm, text)
    label = f"{path} (part {comm.rank + 1} of {comm.size})"
    if len(df) == 0:
        raise DataError(f"{label} has no rows: the file is too small for {comm.size} ranks")
    df.columns = [str(c) for c in df.columns]
    return df.reset_index(drop=True), label


def number_rows(df, comm) -> None:
    """Index ``df`` (this rank's part) by row of the whole file, so that messages name the
    file's rows (``data.row_number``)."""
    offset = sum(comm.allgather(len(df))[:comm.rank])
    df.index = data.pandas().RangeIndex(offset, offset + len(df))


def _parquet_part(path, comm):
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise DataError(f"cannot read {path} as PARQUET: {exc}") from None
    check_unique(pf.schema_arrow.names, path)
    lo, hi = shard(pf.num_row_groups, comm.rank, comm.size)
    if hi <= lo:
        raise DataError(f"{path} has {pf.num_row_groups} row group(s), fewer than the "
                        f"{comm.size} ranks: rewrite it with smaller row groups "
                        f"(pyarrow.parquet.write_table(table, path, row_group_size=N))")
    return pf.read_row_groups(list(range(lo, hi))).to_pandas()


def agree_on_types(df, path, comm):
    """The rank's rows again, with every column that is text in some rank's part read as
    text in all of them: a CSV column holding "0.50" and, further down, "n/a" is text for
    one process reading the whole file, but a part without the "n/a" would read numbers,
    and its categories ("0.5") would not match. (Parquet's schema fixes the types.)"""
    numeric = {c: data.is_numeric_column(df[c]) for c in df.columns}
    kinds = comm.allgather(numeric)
    text = [c for c in df.columns if numeric[c] and not all(k.get(c) for k in kinds)]
    if not text or data.table_format(os.fspath(path)) == "parquet":
        return df
    return read_own_rows(path, comm, text)[0]


def _csv_part(path, kind, comm, text=()):
    pd = data.pandas()
    with open(path, "rb") as f:
        header = f.readline()
        begin, size = f.tell(), os.fstat(f.fileno()).st_size
        lo, hi = (begin + k for k in shard(size - begin, comm.rank, comm.size))
        start = _line_start(f, lo, begin)
        stop = _line_start(f, hi, begin) if comm.rank + 1 < comm.size else size
        f.seek(start)
        chunk = f.read(max(0, stop - start))
    sep = "\t" if kind == "tsv" else ","
    try:
        names = pd.read_csv(io.BytesIO(header), sep=sep, header=None, dtype=str)
        check_unique(header_names(names.iloc[0]), path)
        # a delimiter ending every line does not shift the columns (as read_table); a value
        # past the last column is an error
        df, extra_fields = read_csv_unshifted(io.BytesIO(header + chunk), sep,
                                              dtype={c: str for c in text} or None)
        if extra_fields:
            raise DataError(f"{path}: a row of part {comm.rank + 1} of {comm.size} has more "
                            f"fields than the header's {df.shape[1]} column names (a value "
                            f"past the last column); without --distributed the error names "
                            f"the row")
        return df
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty (no header, no rows)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read part {comm.rank + 1} of {path} as {kind.upper()}: "
                        f"{exc}") from None


def _line_start(f, offset, begin) -> int:
    """The first line start at or after ``offset``."""
    if offset <= begin:
        return begin
    f.seek(offset - 1)
    if f.read(1) == b"\n":
        return offset
    f.readline()
    return f.tell()


def sum_metrics(comm, sums: dict) -> dict:
    """Σ over ranks of every number and array in ``sums``."""
    keys = sorted(sums)
    flat = np.concatenate([np.ravel(np.asarray(sums[k], dtype=np.float64)) for k in keys])
    comm.sum_(flat)
    out, at = {}, 0
    for k in keys:
        shape = np.shape(sums[k])
        size = int(np.prod(shape))
        out[k] = flat[at:at + size].reshape(shape) if shape else float(flat[at])
        at += size
    return out
