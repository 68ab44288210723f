"""``ffbp explain`` and ``ffbp trace``: one weight's chain rule, or every layer's forward and
backward quantities, for rows of DATA; on a model of ``ffbp train`` (a table, through its
stored preprocessing) or on any network saved with ``ffbp.save`` (numbers, with the target
from ``--target`` or ``--t``). Rows count from 1, as in every message.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys

import numpy as np

from ..errors import ConfigError, DataError
from ..tabular.model import TableModel, loss_targets
from . import data
from .commands import load_model

# -- the rows and targets: a model of 'ffbp train', or any network saved with ffbp.save ----
TARGET_HELP = ("--target COL (the target column(s) of DATA) or --t VALUES (e.g. --t 2 for "
               "class index 2, or --t 0.5,-1 for the values of the outputs)")


@dataclasses.dataclass
class Batch:
    """The rows ``explain`` and ``trace`` work on: the network's inputs ``X``, the targets
    ``T`` in the loss's terms (None: no target), and what the preamble says about them."""

    X: np.ndarray
    T: np.ndarray | None
    rows: list                      # row numbers from 1, as in DATA
    table: bool                     # a model of 'ffbp train' (X is preprocessed)
    raw: object = None              # table model: the rows as in DATA (a DataFrame)
    input_names: list | None = None
    columns: list | None = None     # plain network: DATA's columns behind X's inputs
    target_text: str | None = None  # where T comes from, for the preamble
    classifier: bool = False        # a single target value is a class index
    raw_target: str | None = None   # table model: the target column


def _row_positions(spec, count, flag, path):
    """'1-5', '3', '2-4,9' (rows from 1) -> positions from 0; None: every row."""
    if count == 0:
        raise DataError(f"{path} has no rows")
    if spec is None:
        return list(range(count))
    if isinstance(spec, int):                   # explain's --row
        if not 1 <= spec <= count:
            raise DataError(f"{flag} {spec} is outside {path}'s rows 1 to {count}")
        return [spec - 1]
    positions = []
    for part in str(spec).split(","):
        first, dash, last = part.strip().partition("-")
        try:
            lo = int(first)
            hi = int(last) if dash else lo
        except ValueError:
            raise ConfigError(f"{flag} takes row numbers from 1 such as 3, 1-5 or 1-5,9; got "
                              f"{spec!r}") from None
        if lo > hi:
            raise ConfigError(f"{flag} {spec}: {part.strip()} runs backwards (write {hi}-{lo})")
        if lo < 1 or hi > count:
            raise DataError(f"{flag} {spec} is outside {path}'s rows 1 to {count}")
        positions += range(lo - 1, hi)
    return positions


def _rows_text(rows):
    """[1, 2, 3, 7] -> '1-3, 7'."""
    runs = []
    for r in rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1][1] = r
        else:
            runs.append([r, r])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _loss(net, args):
    if args.loss is not None:
        return args.loss
    if net.loss is None:
        raise ConfigError(f"{args.model} has no loss stored (saved before training?): give "
                          f"--loss NAME (e.g. --loss mse, --loss cross_entropy)")
    return net.loss


def _table_batch(net, args, spec, flag, need_target):
    """A model of 'ffbp train': DATA's columns by name, through the stored preprocessing."""
    name = net.target["name"]
    if getattr(args, "t", None) is not None or args.target not in (None, name):
        raise ConfigError(f"{args.model} was written by 'ffbp train': it reads its target "
                          f"column {name!r} from DATA (--target COL and --t are for networks "
                          f"saved from Python)")
    df = data.read_table(args.data)
    df = df.iloc[_row_positions(spec, len(df), flag, args.data)]
    X = net.prepare(df, args.data)
    T = text = None
    if name in df.columns or need_target:
        T = loss_targets(net.encode_target(df, args.data), net)
        text = f"column {name!r}"
    rows = [data.row_number(df[df.columns[0]], n) for n in range(len(df))]
    return Batch(X, T, rows, True, raw=df, input_names=net.input_names, target_text=text,
                 classifier=net.task == "classification", raw_target=name)


def _column_numbers(cells, path, names, offset):
    """A float64 matrix of string cells; a cell that is not a number is an error naming it."""
    out = np.empty(cells.shape, dtype=np.float64)
    for (r, c), text in np.ndenumerate(cells):
        try:
            out[r, c] = float(text)
        except (TypeError, ValueError):
            label = f" ({names[c]!r})" if names else ""
            raise DataError(f"{path}: row {r + 1 + offset} column {c + 1}{label} holds "
                            f"{str(text)!r}, not a number (a network saved from Python takes "
                            f"numbers only)") from None
    return out


def read_numbers(path):
    """(matrix, column names or None) of a .npy file or a CSV/TSV/Parquet file of numbers.
    A CSV's first line is a header when it holds anything but numbers."""
    path = os.fspath(path)
    if path.lower().endswith(".npy"):
        if not os.path.isfile(path):
            raise DataError(f"no such file: {path}" if not os.path.exists(path)
                            else f"{path} is not a file")
        try:
            M = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise DataError(f"{path} is not a NumPy array of numbers: {exc}") from None
        if M.ndim == 1:
            M = M.reshape(1, -1)                # one sample
        if M.ndim != 2 or not (np.issubdtype(M.dtype, np.number) or M.dtype == bool):
            raise DataError(f"{path} holds a {M.ndim}-D {M.dtype} array; a 2-D array of "
                            f"numbers (a row per sample) is needed")
        return M.astype(np.float64), None
    kind = data.table_format(path)
    if kind == "parquet":
        df = data.read_table(path)
        names = [str(c) for c in df.columns]
        return _column_numbers(df.to_numpy(dtype=object), path, names, 0), names
    if path != "-" and not os.path.isfile(path):
        raise DataError(f"no such file: {path}" if not os.path.exists(path)
                        else f"{path} is not a file")
    pd = data.pandas()
    try:
        df = pd.read_csv(sys.stdin if path == "-" else path, header=None, dtype=str,
                         sep="\t" if kind == "tsv" else ",", keep_default_na=False,
                         skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path} as CSV: {exc}") from None
    cells = df.to_numpy(dtype=object)
    names = None
    first = [str(c).strip() for c in cells[0]] if len(cells) else []
    try:
        [float(c) for c in first]
    except ValueError:
        names, cells = first, cells[1:]
    return _column_numbers(cells, path, names, 0), names


def _column_index(text, names, path, width):
    """--target's item: a header name, else a column number from 1."""
    if names and text in names:
        return names.index(text)
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is not None and 1 <= number <= width:
        return number - 1
    have = (f"its columns: {', '.join(map(repr, names[:20]))}" if names else
            f"it has no header, so name a column by its number, 1 to {width}")
    raise DataError(f"{path} has no column {text!r} (--target takes a column name or a "
                    f"column number from 1); {have}")


def _t_values(text):
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"--t takes numbers, comma separated (a class index, or one value "
                          f"per output), got {text!r}") from None
    if not values:
        raise ConfigError("--t needs at least one number")
    return values


def _plain_batch(net, args, spec, flag, need_target):
    """A network saved from Python: DATA holds exactly its inputs (plus --target columns)."""
    if args.target is not None and args.t is not None:
        raise ConfigError("give the target one way: --target COL or --t VALUES, not both")
    M, names = read_numbers(args.data)
    if M.size == 0 and len(M) == 0:
        raise DataError(f"{args.data} has no rows")
    width = M.shape[1]
    targets = []
    if args.target is not None:
        for item in (s.strip() for s in args.target.split(",") if s.strip()):
            targets.append(_column_index(item, names, args.data, width))
    inputs = [c for c in range(width) if c not in targets]
    if len(inputs) != net.n_features:
        without = (f" ({len(inputs)} without the target column(s) {args.target})"
                   if targets else "")
        hint = ("; if the extra column is the target, name it with --target COL" if
                not targets and width == net.n_features + 1 else "")
        raise DataError(f"{args.data} has {width} columns{without} but the network takes "
                        f"{net.n_features} inputs: give exactly its inputs, one column each, "
                        f"plus the target column(s) named by --target{hint}")
    positions = _row_positions(spec, len(M), flag, args.data)
    M = M[positions]
    X = M[:, inputs]
    T = text = None
    if targets:
        T = M[:, targets[0]] if len(targets) == 1 else M[:, targets]
        text = "column" + "s" * (len(targets) > 1) + " " + ", ".join(
            repr(names[c]) if names else str(c + 1) for c in targets)
    elif args.t is not None:
        values = np.array(_t_values(args.t))
        if len(values) not in (1, net.n_outputs):
            want = ("1 output: give one value" if net.n_outputs == 1 else
                    f"{net.n_outputs} outputs: give one class index or {net.n_outputs} values")
            raise ConfigError(f"--t has {len(values)} values but the network has {want}")
        T = np.tile(values, (len(X), 1)) if len(values) > 1 else np.repeat(values, len(X))
        text = "--t"
    elif need_target:
        raise ConfigError(f"explain needs the target of the row: {TARGET_HELP}")
    columns = [names[c] if names else str(c + 1) for c in inputs]
    return Batch(X, T, [p + 1 for p in positions], False, columns=columns, target_text=text,
                 classifier=net.n_outputs > 1)


def inspection_batch(net, args, spec, flag, need_target):
    if isinstance(net, TableModel):
        return _table_batch(net, args, spec, flag, need_target)
    return _plain_batch(net, args, spec, flag, need_target)


def _json_value(value):
    value = data.plain(value)
    return None if isinstance(value, float) and not np.isfinite(value) else value


def _explain_preamble(batch, args, t_row):
    """Lines saying which row, which inputs (raw and standardised) and which target."""
    row = batch.rows[0]
    x = batch.X[0]
    if batch.table:
        raw = batch.raw.iloc[0]
        inputs = dict(zip(batch.input_names, x.tolist(), strict=True))
        lines = [f"{args.data} row {row}, as in the table (raw): "
                 + ", ".join(f"{c}={data.shown(raw[c])}" for c in batch.raw.columns),
                 "the network's inputs after the model's preprocessing (numbers standardised, "
                 "categories one-hot; x of layer 1 below): "
                 + ", ".join(f"{k}={v:.6g}" for k, v in inputs.items())]
        info = {"file": os.fspath(args.data), "row": row,
                "raw": {str(c): _json_value(raw[c]) for c in batch.raw.columns},
                "inputs": inputs}
    else:
        lines = [f"{args.data} row {row}: the network's inputs as they are in the file (no "
                 f"preprocessing; x of layer 1 below), columns {', '.join(batch.columns)}: "
                 + ", ".join(f"{v:.6g}" for v in x)]
        info = {"file": os.fspath(args.data), "row": row, "inputs": x.tolist()}
    t = np.atleast_1d(np.asarray(t_row, dtype=float))
    values = ", ".join(f"{v:.6g}" for v in t)
    if batch.table:
        name = batch.raw_target
        raw = data.shown(batch.raw.iloc[0][name])
        how = ("its class index" if batch.classifier else
               "standardised, as the network learnt it")
        lines.append(f"target: column {name!r} = {raw}, t = {values} ({how})")
    else:
        how = ("a class index" if t.size == 1 and batch.classifier else
               "the output value" + "s" * (t.size > 1))
        lines.append(f"target from {batch.target_text}: t = {values} ({how})")
    info["t"] = t.tolist()
    return lines, info


def run_explain(args) -> int:
    from ..explain import explain

    net = load_model(args.model, need_preprocessing=False)
    batch = inspection_batch(net, args, args.row, "--row", need_target=True)
    t = batch.T[0]
    result = explain(net, _loss(net, args), batch.X[0], t, layer=args.layer, i=args.i,
                     j=args.j, lr=args.lr, bias=args.bias, notation=args.notation,
                     weight_decay=args.weight_decay)
    lines, info = _explain_preamble(batch, args, t)
    if args.format == "json":
        print(json.dumps({**result.to_dict(), "data": info}))
    elif args.format == "latex":
        print("\n".join("% " + line for line in lines) + "\n" + result.to_latex())
    elif args.format == "markdown":
        print("\n\n".join(lines) + "\n\n" + result.to_markdown())
    else:
        print("\n".join(lines) + "\n\n" + str(result))
    return 0


def run_trace(args) -> int:
    net = load_model(args.model, need_preprocessing=False)
    batch = inspection_batch(net, args, args.rows, "--rows", need_target=False)
    loss = None if batch.T is None else _loss(net, args)
    result = net.trace(batch.X, batch.T, loss)
    if args.json:
        print(json.dumps(result.to_dict(), default=float))
        return 0
    what = ("the model's preprocessing applied (numbers standardised, categories one-hot)"
            if batch.table else "the network's inputs as they are in the file")
    target = (f"target from {batch.target_text}" if batch.T is not None else
              "no target (" + (f"DATA has no column {net.target['name']!r}" if batch.table
                               else "no --target or --t") + "): the forward pass only")
    n = len(batch.rows)
    print(f"{args.data} row{'s' * (n != 1)} {_rows_text(batch.rows)}"
          f"{f' ({n} rows)' if n > 1 else ''}, {what}; {target}")
    print()
    print(result)
    return 0


