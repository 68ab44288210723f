"""Tables in and out for the ``ffbp`` command. Reading tables and the feature
preprocessing live in ``ffbp.tabular`` (the Python API's ``TableModel`` uses the same code);
they are re-exported here under the names the subcommands use (``data.read_table``,
``data.transform``, ...). Writing tables (atomically, by extension) is the command's own.
"""

from __future__ import annotations

import os
import sys

from ..tabular.columns import (  # noqa: F401  (the column readers, also used as data.<name>)
    category_keys,
    first_index,
    is_numeric_column,
    key,
    numbers,
    pandas,
    plain,
    row_number,
    shown,
    sorted_labels,
)
from ..tabular.features import (  # noqa: F401
    MANY_CATEGORIES,
    MAX_AUTO_CLASSES,
    MISSING,
    TOO_LARGE,
    TableWarning,
    check_moments,
    feature_columns,
    fit_features,
    input_names,
    merge_features,
    merge_moments,
    summarize_features,
    transform,
    typo_summary,
    warn,
    warn_typos,
)
from ..tabular.tables import (  # noqa: F401
    COMPRESSION,
    CSV,
    PARQUET,
    column,
    read_table,
    table_format,
)


def write_table(df, path, what="the table") -> None:
    """CSV to stdout (path None or '-'), else CSV or Parquet by extension. ``what`` names
    the table in an error (e.g. "the predictions")."""
    if path is None or path == "-":
        df.to_csv(sys.stdout, index=False)
        return
    from .paths import replacing

    path = os.fspath(path)
    kind = table_format(path)
    # written next to path, then renamed over it: a full disk or a crash leaves no partial
    # file (and any previous one intact); errors name path, not the temporary file
    with replacing(path, what) as tmp:
        if kind == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False, sep="\t" if kind == "tsv" else ",",
                      compression=_compression(path))


def _compression(path):
    """pandas' compression for path's extension (the temporary file has none to infer)."""
    name = path.lower()
    for ext, how in ((".gz", "gzip"), (".bz2", "bz2"), (".xz", "xz"), (".zst", "zstd")):
        if name.endswith(ext):
            return how
    if name.endswith(".zip"):                      # the member is named as the archive
        return {"method": "zip", "archive_name": os.path.basename(path)[:-4]}
    return None
