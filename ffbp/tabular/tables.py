"""Tables in: CSV/TSV (optionally compressed) or Parquet files by extension, pandas
DataFrames and pyarrow Tables, as the DataFrame the preprocessing reads.

Rows in messages are counted from 1, after the header.
"""

from __future__ import annotations

import io
import os
import re
import sys

from ..errors import DataError, FFBPError
from .columns import pandas

CSV = (".csv", ".tsv", ".txt")
PARQUET = (".parquet", ".pq")
COMPRESSION = (".gz", ".bz2", ".zip", ".xz", ".zst")


def table_format(path: str) -> str:
    """'csv', 'tsv' or 'parquet' from a file name (a DataError for anything else)."""
    name = path.lower()
    for ext in COMPRESSION:
        if name.endswith(ext):
            name = name[: -len(ext)]
    if name.endswith(CSV) or path == "-":
        return "tsv" if name.endswith(".tsv") else "csv"
    if name.endswith(PARQUET):
        return "parquet"
    raise DataError(f"cannot tell the format of {path!r} from its extension: use .csv, .tsv "
                    f"or .parquet (CSV may be compressed: .csv.gz)")


def read_table(path):
    """A DataFrame from a CSV/TSV (optionally compressed) or Parquet file; '-' is stdin."""
    path = os.fspath(path)
    kind = table_format(path)
    pd = pandas()
    if path != "-" and not os.path.isfile(path):
        raise DataError(f"no such file: {path}" if not os.path.exists(path)
                        else f"{path} is not a file")
    try:
        if kind == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise FFBPError('reading Parquet files needs pyarrow: pip install "ffbp[cli]"'
                                ) from None
            df = pd.read_parquet(path)
        else:
            df = read_csv(path, "\t" if kind == "tsv" else ",")
    except FFBPError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty (no header, no rows)") from None
    except Exception as exc:       # pyarrow's own errors too (not all are ValueErrors)
        if kind == "parquet":          # e.g. a repeated column name: say so plainly
            check_unique(parquet_names(path), path)
            check_not_text(path)
        raise DataError(f"cannot read {path} as {kind.upper()}: {exc}") from None
    if len(df) == 0:
        raise DataError(f"{path} has no data rows")
    df.columns = [str(c) for c in df.columns]
    return df.reset_index(drop=True)


def raw_bytes(path, source):
    """The bytes of a CSV file, decompressed (None when they cannot be had)."""
    if path == "-":
        return source.getvalue() if isinstance(source, io.BytesIO) else None
    import bz2
    import gzip
    import lzma

    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(
        os.path.splitext(path.lower())[1], open)
    if path.lower().endswith((".zip", ".zst")):
        return None
    try:
        with opener(path, "rb") as fh:
            return fh.read()
    except (OSError, EOFError, lzma.LZMAError):
        return None


#: (first bytes, what the file is, what to do) of files that are not CSV text.
MAGIC = ((b"PAR1", "a Parquet file", "name it .parquet"),
         (b"\x1f\x8b", "gzip-compressed", "name it .csv.gz (or .tsv.gz)"),
         (b"BZh", "bzip2-compressed", "name it .csv.bz2"),
         (b"\xfd7zXZ\x00", "xz-compressed", "name it .csv.xz"),
         (b"\x28\xb5\x2f\xfd", "zstd-compressed", "name it .csv.zst"),
         (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook?)",
          "export the sheet as CSV UTF-8, or name a zipped CSV .csv.zip"),
         (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook", "export the sheet as CSV UTF-8"))


def not_utf8(path, exc, data) -> str:
    """Why a CSV file (its bytes ``data``, or None) could not be decoded, naming its row:
    pandas' own message counts the bytes of the chunk it was decoding, not of the file."""
    if data is not None and data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return (f"{path} is UTF-16 text (as some spreadsheets save \"Unicode text\"); ffbp "
                f"reads UTF-8: save it as CSV UTF-8")
    for magic, what, fix in MAGIC:
        if data is not None and data.startswith(magic):
            return f"{path} is {what}, not CSV text: {fix}"
    where = ""
    if data is not None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as found:
            line = data.count(b"\n", 0, found.start) + 1      # the header is line 1
            byte = data[found.start:found.start + 1]
            guess = byte.decode("cp1252", errors="replace")
            where = (f" (row {line - 1}" if line > 1 else " (the header") + \
                f" holds the byte {byte.hex()!r}, {guess!r} in Windows-1252/Latin-1?)"
    else:
        where = f" ({exc.reason})"
    return f"{path} is not UTF-8 text{where}; ffbp reads UTF-8: save the file as CSV UTF-8"


def read_csv(path, sep):
    """A CSV/TSV file (``path``, '-' for stdin) as pandas reads it, but for two things pandas
    does silently: a repeated column name is an error (not renamed 'a.1'), and rows with more
    fields than the header do not shift every column (pandas would make the first column the
    index): a delimiter at the end of every line is ignored, a value past the header's last
    column an error naming its row."""
    pd = pandas()
    # stdin is read once into memory, so that it can be read again below
    source = read_stdin() if path == "-" else path

    def again():
        if path == "-":
            source.seek(0)
        return source

    try:
        df, extra_fields = read_csv_unshifted(source, sep)
    except UnicodeDecodeError as exc:
        raise DataError(not_utf8(path, exc, raw_bytes(path, source))) from None
    if extra_fields:
        # which row: read as pandas would by default, the extra fields as the index
        shifted = pd.read_csv(again(), sep=sep)
        extra = shifted.iloc[:, shifted.shape[1] - shifted.index.nlevels:]
        filled = extra.notna().any(axis=1).to_numpy()
        row = f"row {int(filled.argmax()) + 1}" if filled.any() else "a row"
        raise DataError(f"{path}: {row} has more fields than the header's {df.shape[1]} "
                        f"column names (a value past the last column: a missing name in "
                        f"the header, or a {sep!r} inside an unquoted value?)"
                        f"{separator_hint(df, path)}")
    if may_be_renamed(df.columns):
        # pandas renames a repeated name 'a' to 'a.1': read the header as it is
        header = pd.read_csv(again(), sep=sep, header=None, nrows=1, dtype=str)
        check_unique(header_names(header.iloc[0]), path)
    return df


def read_csv_unshifted(source, sep, **options):
    """(DataFrame, whether some row had a value past the header's last column) from
    pandas' read_csv with index_col=False: rows with more fields than the header do not
    make the first column the index (pandas drops the extra fields, and warns when they held
    anything; that warning is the answer, the others reach the user as pandas gave them)."""
    import warnings

    pd = pandas()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        df = pd.read_csv(source, sep=sep, index_col=False, **options)
    extra_fields = False
    for w in caught:
        if issubclass(w.category, pd.errors.ParserWarning):
            extra_fields = True
        else:                           # pandas' other warnings (DtypeWarning) as they were
            warnings.warn(w.message, w.category, stacklevel=3)
    return df, extra_fields


def read_stdin():
    """All of stdin, as a file object that can be read twice."""
    buffer = getattr(sys.stdin, "buffer", None)
    return io.BytesIO(buffer.read()) if buffer is not None else io.StringIO(sys.stdin.read())


def may_be_renamed(columns) -> bool:
    """True when pandas may have renamed a repeated column name of a CSV header: some
    column 'a.1' (or 'a.2', ...) beside a column 'a'."""
    names = set(map(str, columns))
    return any(m and m.group(1) in names
               for m in (re.fullmatch(r"(.*)\.[0-9]+", n) for n in names))


def check_not_text(path) -> None:
    """A DataError when a .parquet file that pyarrow cannot read is CSV text (or a CSV
    under another name: compressed, a spreadsheet), saying what it is."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return
    if head.startswith(b"PAR1"):
        return                          # a Parquet file, damaged: pyarrow's message says so
    for magic, what, _ in MAGIC:
        if head.startswith(magic):
            raise DataError(f"{path} is {what}, not a Parquet file")
    try:
        first = head.decode("utf-8").lstrip("\ufeff").splitlines()[0]
    except (UnicodeDecodeError, IndexError):
        return
    if any(sep in first for sep in (",", "\t", ";")):
        raise DataError(f"{path} is CSV text, not a Parquet file: name it .csv (or .tsv)")


def parquet_names(path) -> list[str]:
    """The column names of a Parquet file's schema ([] when it cannot be read)."""
    try:
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    except Exception:
        return []


def header_names(cells) -> list[str]:
    """A CSV header's names as written; an empty one as pandas names it ('Unnamed: 2')."""
    return [f"Unnamed: {i}" if not isinstance(c, str) else c for i, c in enumerate(cells)]


def check_unique(names, label) -> None:
    """A DataError naming the first column name that appears more than once (columns
    counted from 1): which of them would be the feature, or the target, is anyone's
    guess."""
    names = [str(n) for n in names]
    seen = {}
    for i, name in enumerate(names):
        if name in seen:
            raise DataError(f"{label} has two columns named {name!r} (columns {seen[name]} "
                            f"and {i + 1}): rename one of them")
        seen[name] = i + 1


def column(df, name, path, what="column"):
    """df[name], or a DataError naming the columns there are (and the closest one)."""
    if name in df.columns:
        return df[name]
    import difflib

    close = difflib.get_close_matches(name, list(df.columns), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    cols = ", ".join(map(repr, df.columns[:20])) + (", ..." if len(df.columns) > 20 else "")
    raise DataError(f"{path} has no {what} {name!r}{hint}; its columns: {cols}"
                    f"{separator_hint(df, path)}")


def separator_hint(df, path) -> str:
    """When ``df`` has one column whose name holds a separator (a semicolon CSV, as
    spreadsheets write in many countries; a TSV named .csv or the other way round): what
    went wrong, for the end of a message about missing columns; else ''."""
    if len(df.columns) != 1:
        return ""
    name = str(df.columns[0])
    seps = {";": "semicolons", "\t": "tabs", "|": "'|'", ",": "commas"}
    sep = next((s for s in seps if s in name), None)
    if sep is None:
        return ""
    shown = f"{name[:40]!r}{'...' if len(name) > 40 else ''}"
    text = str(path).lower()
    if not (path == "-" or text.endswith(CSV) or any(text.endswith(e + c) for e in CSV
                                                      for c in COMPRESSION)):
        fix = f"read the file with sep={sep!r}"              # a DataFrame read by the caller
    elif ".tsv" in text:
        fix = ("ffbp reads a .tsv file's fields separated by tabs; "
               + ("name the file .csv" if sep == "," else "save it with tabs"))
    else:
        fix = ("ffbp reads a CSV file's fields separated by commas; "
               + ("name the file .tsv" if sep == "\t" else "save it with commas"))
    return f" (its one column {shown} looks like fields separated by {seps[sep]}: {fix})"


def as_frame(table, what="the table"):
    """A pandas DataFrame of ``table``: a DataFrame (its columns named as strings, rows
    numbered from 0 for messages), a pyarrow Table, or the path of a CSV/TSV/Parquet file.
    Returns (frame, label): the label names the table in messages (its path, or ``what``)."""
    pd = pandas()
    if isinstance(table, (str, os.PathLike)):
        return read_table(table), os.fspath(table)
    if isinstance(table, pd.DataFrame):
        df = table.reset_index(drop=True)
    elif is_arrow_table(table):
        df = table.to_pandas()
    else:
        raise DataError(f"{what} must be a pandas DataFrame, a pyarrow Table or the path of a "
                        f"CSV or Parquet file, got {type(table).__name__}")
    check_unique(df.columns, what)
    df.columns = [str(c) for c in df.columns]
    if len(df) == 0:
        raise DataError(f"{what} has no rows")
    return df, what


def is_arrow_table(table) -> bool:
    if "pyarrow" not in sys.modules:           # no pyarrow loaded: cannot be its Table
        return False
    import pyarrow as pa

    return isinstance(table, (pa.Table, pa.RecordBatch))
