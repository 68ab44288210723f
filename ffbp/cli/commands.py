"""The ``ffbp`` subcommands that use a trained model: predict, evaluate, summary, gradcheck,
explain, export (``train`` is in ``train.py``).

Each ``run_*`` takes the parsed arguments, prints its results on stdout, and returns the exit
code; errors are raised (ffbp errors) and turned into one line on stderr by ``main``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys

import numpy as np

from ..errors import ConfigError, DataError, FFBPError
from ..tabular.fitting import finish_metrics, metric_sums  # noqa: F401  (train.py's too)
from ..tabular.model import (  # noqa: F401  (train.py uses them as commands.<name>)
    FORMAT as CLI_FORMAT,
)
from ..tabular.model import TableModel, has_preprocessing, loss_targets
from . import data, paths
from . import target as target_column

#: ``ffbp gradcheck`` fails when the worst relative error reaches this (see README).
GRADCHECK_TOL = 1e-6


# -- using a model -----------------------------------------------------------------------
def load_model(path, need_preprocessing=True):
    """The model at ``path``: a ``TableModel`` when it has a table preprocessing (always,
    with ``need_preprocessing``), else the plain ``Network``."""
    from ..io import load

    net = load(path)
    meta = net.metadata
    if isinstance(net, TableModel) or not (need_preprocessing or "ffbp_cli" in meta):
        return net
    if meta.get("ffbp_cli") is None:
        raise DataError(f"{path} was not written by 'ffbp train' (its metadata has no "
                        f"preprocessing), so the command cannot map table columns to its "
                        f"inputs; use the Python API")
    assert not has_preprocessing(meta)
    raise DataError(f"{path}: the preprocessing in the model's metadata is damaged")


def prepare(net, df, path):
    """The network's input matrix for the rows of ``df`` (``TableModel.prepare``)."""
    return net.prepare(df, path)


def predict_arrays(net, X):
    """(decoded predictions, probabilities or None) in the original label/target units."""
    return net.decode(X)


def compute_metrics(net, X, y):
    """Metrics in the original units, plus the loss the network was trained with."""
    return finish_metrics(net, metric_sums(net, X, y))


def metric_table(rows: dict) -> str:
    """rows: {name: metrics} -> an aligned table of the scalar metrics."""
    keys = [k for k in ("loss", "accuracy", "mse", "mae", "r2")
            if any(k in m for m in rows.values())]
    width = max(len(name) for name in rows)
    lines = [" " * width + "".join(f"{k:>12}" for k in keys)]
    for name, m in rows.items():
        lines.append(name.ljust(width) + "".join(f"{m[k]:12.4f}" for k in keys))
    return "\n".join(lines)


def labels_text(classes, limit=10) -> str:
    shown = ", ".join(map(repr, classes[:limit]))
    return shown + (f", ... ({len(classes)} in all)" if len(classes) > limit else "")


# -- the commands ------------------------------------------------------------------------
def run_predict(args) -> int:
    if args.output not in (None, "-"):
        # refused before any work: a bad extension, an input as output, a missing or
        # read-only directory
        data.table_format(args.output)
        paths.check_distinct([("-o", args.output)], [("MODEL", args.model), ("DATA", args.data)])
        paths.check_writable(args.output, "the predictions")
    model = load_model(args.model)
    out = model.predict_table(args.data, keep=args.keep)
    data.write_table(out, args.output, "the predictions")
    if args.output not in (None, "-"):             # stdout stays for data only
        print(f"wrote {len(out)} predictions to {args.output}", file=sys.stderr)
    return 0


def run_evaluate(args) -> int:
    model = load_model(args.model)
    m = model.evaluate(args.data)
    if args.json:
        print(json.dumps(m))
        return 0
    print(evaluation_text(m, model.task))
    return 0


def evaluation_text(m: dict, task: str) -> str:
    """``ffbp evaluate``'s report of ``TableModel.evaluate``'s metrics."""
    lines = [f"rows: {m['rows']}", f"loss: {m['loss']:.6g}"]
    if task == "regression":
        lines += [f"mse: {m['mse']:.6g}", f"rmse: {m['rmse']:.6g}", f"mae: {m['mae']:.6g}",
                  f"r2: {m['r2']:.4f}"]
        return "\n".join(lines)

    def number(v):
        return "n/a" if v is None else f"{v:.4f}"

    lines += [f"accuracy: {m['accuracy']:.4f}", f"macro F1: {m['macro_f1']:.4f}",
              f"weighted F1: {m['weighted_f1']:.4f}",
              f"ROC AUC: {number(m['roc_auc'])}"
              + (" (one-vs-rest, macro)" if len(m["labels"]) > 2 and m["roc_auc"] is not None
                 else ""),
              f"log loss: {number(m['log_loss'])}", ""]
    labels = [str(c) for c in m["labels"]]
    first = max(len("class"), *(len(x) for x in labels))
    lines.append("class".ljust(first) + "".join(f"{h:>11}" for h in
                                                ("precision", "recall", "f1", "support")))
    for label, c in zip(labels, m["per_class"], strict=True):
        lines.append(label.ljust(first) + f"{c['precision']:11.4f}{c['recall']:11.4f}"
                     f"{c['f1']:11.4f}{c['support']:11d}")
    lines += ["", "confusion matrix (rows: true class, columns: predicted):"]
    counts = m["confusion_matrix"]
    width = max(len(x) for x in [*labels, *(str(v) for r in counts for v in r)])
    first = max(len(x) for x in labels)
    lines.append(" " * first + "".join(f"  {x:>{width}}" for x in labels))
    for label, row in zip(labels, counts, strict=True):
        lines.append(label.ljust(first) + "".join(f"  {v:>{width}}" for v in row))
    return "\n".join(lines)


def run_summary(args) -> int:
    from ..io import read_header

    header = read_header(args.model)
    net = load_model(args.model, need_preprocessing=False)
    meta = net.metadata
    if args.json:
        print(json.dumps({k: header[k] for k in ("ffbp_version", "dtype", "layers", "loss",
                                                 "metadata") if k in header}, indent=2))
        return 0
    print(f"model: {args.model} (written by ffbp {header.get('ffbp_version')}, "
          f"{net.dtype}), loss {net.loss!r}")
    print()
    print(net.summary())
    if meta.get("ffbp_cli") is None:
        print("\nno preprocessing: this model was saved from Python, not by 'ffbp train'")
        if meta:
            print(f"metadata: {json.dumps(meta)}")
        return 0
    target = meta["target"]
    print(f"\ntarget: {target['name']!r}, {target['task']} ({meta.get('task_reason', '')})")
    if target["task"] == "classification":
        print(f"classes: {labels_text(target['classes'], 50)}")
    else:
        print(f"scaling: the network learns the target standardised with mean "
              f"{target['mean']:.6g}, std {target['std']:.6g} (its loss is in those units)")
    features = meta["features"]
    print(f"\npreprocessing ({len(features)} columns -> {net.n_features} inputs, in this "
          f"order; unknown categories -> all zeros):")
    width = max(len(f["name"]) for f in features)
    for f in features:
        if f["kind"] == "numeric":
            how = f"standardised: mean {f['mean']:.6g}, std {f['std']:.6g}; missing -> mean"
        else:
            cats = f["categories"][:12]
            how = (f"one-hot over {len(f['categories'])}: {', '.join(cats)}"
                   f"{', ...' if len(f['categories']) > 12 else ''}"
                   f"{' + ' + data.MISSING if f['missing'] else ''}")
        print(f"  {f['name'].ljust(width)}  {f['kind']:<11}  {how}")
    training = meta.get("training", {})
    if training:
        opts = training.get("options", {})
        print(f"\ntraining: {training.get('data')}, {training.get('rows')} rows + "
              f"{training.get('validation_rows')} validation; {training.get('epochs_run')} "
              f"epochs ({training.get('stop_reason')})")
        print("options: " + ", ".join(f"{k}={'default' if v is None else v}"
                                      for k, v in opts.items()))
        if training.get("metrics"):
            print(metric_table(training["metrics"]))
    return 0


def run_gradcheck(args) -> int:
    from ..gradcheck import gradcheck

    net = load_model(args.model)
    df = data.read_table(args.data).iloc[: args.samples]
    target = net.metadata["target"]
    y_col = data.column(df, target["name"], args.data, "target column")
    X = prepare(net, df, args.data)
    y = target_column.encode_target(y_col, target, args.data)
    report = gradcheck(net, net.loss, X, loss_targets(y, net),
                       max_per_parameter=args.max_per_parameter)
    print(report)
    if report.max_error >= args.tol:
        raise GradcheckFailed(f"gradient check failed: worst relative error "
                              f"{report.max_error:.2e} ≥ tolerance {args.tol:g}")
    print(f"passed: worst relative error {report.max_error:.2e} < {args.tol:g} on "
          f"{len(X)} rows")
    return 0


class GradcheckFailed(FFBPError):
    """Back-propagation and finite differences disagree (exit code 1)."""


# -- explain and trace: a model of 'ffbp train', or any network saved with ffbp.save ----
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
            raise ConfigError(f"--t has {len(values)} values but the network has "
                              f"{net.n_outputs} outputs: give one class index or "
                              f"{net.n_outputs} values")
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


def run_export(args) -> int:
    import ffbp

    paths.check_distinct([("-o", args.output)], [("MODEL", args.model)])
    paths.check_writable(args.output, "the ONNX model")
    net = load_model(args.model, need_preprocessing=False)
    export = getattr(ffbp, "export_onnx", None)
    if export is None:
        try:
            from ..onnx import export_onnx as export
        except ModuleNotFoundError as exc:
            if exc.name in ("onnx", "ffbp.onnx"):
                raise FFBPError('ONNX export needs the onnx package: pip install '
                                '"ffbp[onnx]"' if exc.name == "onnx" else
                                "this ffbp has no ONNX export (ffbp.onnx is missing)") from None
            raise
    paths.write_file(args.output, "the ONNX model", lambda p: export(net, p))
    if net.metadata.get("ffbp_cli") is not None:       # exported whole (ffbp.onnx.table)
        print(f"wrote {args.output}: the whole model, the table's "
              f"{len(net.metadata['features'])} columns -> the predictions in the target's "
              f"units, as 'ffbp predict' gives them (inputs and outputs: see ONNX in README)")
    else:
        print(f"wrote {args.output}: the network's {net.n_features} inputs -> "
              f"{net.n_outputs} outputs")
    return 0
