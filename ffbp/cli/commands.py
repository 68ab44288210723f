"""The ``ffbp`` subcommands that use a trained model: predict, evaluate, summary, gradcheck,
export (``train`` is in ``train.py``; ``explain`` and ``trace`` in ``inspection.py``).

Each ``run_*`` takes the parsed arguments, prints its results on stdout, and returns the exit
code; errors are raised (ffbp errors) and turned into one line on stderr by ``main``.
"""

from __future__ import annotations

import json
import math
import sys

from ..errors import DataError, FFBPError, ModelFileError
from ..tabular.fitting import finish_metrics, metric_sums  # noqa: F401  (train.py's too)
from ..tabular.model import (  # noqa: F401  (train.py uses them as commands.<name>)
    FORMAT as CLI_FORMAT,
)
from ..tabular.model import TableModel, has_preprocessing, loss_targets
from . import data, paths
from . import target as target_column

#: ``ffbp gradcheck`` fails when the worst relative error reaches this (see
#: docs/training.md, Gradient checking).
GRADCHECK_TOL = 1e-6


# -- using a model -----------------------------------------------------------------------
def load_model(path, need_preprocessing=True):
    """The model at ``path``: a ``TableModel`` when it has a table preprocessing (always,
    with ``need_preprocessing``), else the plain ``Network``."""
    from ..io import CheckpointGivenError, load

    try:
        net = load(path)
    except CheckpointGivenError:
        raise ModelFileError(f"{path} is a training checkpoint, not a model file: resume the "
                             f"training from it with 'ffbp train' and the same data and "
                             f"options plus --resume {path}, or give the model file that "
                             f"'ffbp train' wrote (-o)") from None
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


def json_text(value, **kwargs) -> str:
    """JSON of ``value`` with NaN and infinities as null (JSON has neither: Python's
    ``NaN`` would break ``jq`` and every strict parser), as the --log-format json lines."""
    def finite(v):
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [finite(x) for x in v]
        return v
    return json.dumps(finite(value), allow_nan=False, **kwargs)


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
        print(json_text(m))
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

    net = load_model(args.model, need_preprocessing=False)     # says what a checkpoint is
    header = read_header(args.model)
    meta = net.metadata
    if args.json:
        print(json_text({k: header[k] for k in ("ffbp_version", "dtype", "layers", "loss",
                                                "metadata") if k in header}, indent=2))
        return 0
    print(f"model: {args.model} (written by ffbp {header.get('ffbp_version')}, "
          f"{net.dtype}), loss {net.loss!r}")
    print()
    print(net.summary())
    if meta.get("ffbp_cli") is None:
        print("\nno preprocessing: this model was saved from Python, not by 'ffbp train'")
        if meta:
            print(f"metadata: {json_text(meta)}")
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
        run, why = training.get("epochs_run"), training.get("stop_reason")
        done = ("epochs run not recorded" if run is None else f"{run} epoch{'s' * (run != 1)}"
                f"{' completed' if str(why).startswith('diverged') else ''}")
        print(f"\ntraining: {training.get('data')}, {training.get('rows')} rows + "
              f"{training.get('validation_rows')} validation; {done}"
              f"{f' ({why})' if why else ''}")
        print("options: " + ", ".join(f"{k}={_option_text(k, v)}" for k, v in opts.items()))
        if training.get("metrics"):
            print(metric_table(training["metrics"]))
    return 0


def _option_text(key, value) -> str:
    """A stored training option as summary shows it: None is the default, except for
    batch_size, where it is --batch-size full (the default is 32)."""
    if value is None:
        return "full" if key == "batch_size" else "default"
    return str(value)


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
              f"units, as 'ffbp predict' gives them (inputs and outputs: see docs/onnx.md)")
    else:
        print(f"wrote {args.output}: the network's {net.n_features} inputs -> "
              f"{net.n_outputs} outputs")
    return 0
