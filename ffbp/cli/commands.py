"""The ``ffbp`` subcommands that use a trained model: predict, evaluate, summary, gradcheck,
explain, export (``train`` is in ``train.py``).

Each ``run_*`` takes the parsed arguments, prints its results on stdout, and returns the exit
code; errors are raised (ffbp errors) and turned into one line on stderr by ``main``.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from ..errors import ConfigError, DataError, FFBPError
from . import data, paths
from . import target as target_column

#: Metadata format of models written by ``ffbp train`` (``net.metadata["ffbp_cli"]``).
CLI_FORMAT = 1
#: ``ffbp gradcheck`` fails when the worst relative error reaches this (see README).
GRADCHECK_TOL = 1e-6


def loss_targets(y, net):
    """Encoded targets in the form the network's loss takes (0/1 column for binary losses)."""
    return y.reshape(-1, 1) if net.n_outputs == 1 else y


# -- using a model -----------------------------------------------------------------------
def load_model(path, need_preprocessing=True):
    from ..io import load

    net = load(path)
    meta = net.metadata
    if need_preprocessing and meta.get("ffbp_cli") is None:
        raise DataError(f"{path} was not written by 'ffbp train' (its metadata has no "
                        f"preprocessing), so the command cannot map table columns to its "
                        f"inputs; use the Python API")
    if meta.get("ffbp_cli") is not None and not _valid_metadata(meta):
        raise DataError(f"{path}: the preprocessing in the model's metadata is damaged")
    return net


def _valid_metadata(meta) -> bool:
    target, features = meta.get("target"), meta.get("features")
    if not (isinstance(target, dict) and isinstance(features, list) and features):
        return False
    keys = {"numeric": {"name", "mean", "std"},
            "categorical": {"name", "categories", "missing"}}
    if not all(isinstance(f, dict) and keys.get(f.get("kind"), {"?"}) <= f.keys()
               for f in features):
        return False
    need = {"classification": {"name", "classes"}, "regression": {"name", "mean", "std"}}
    return need.get(target.get("task"), {"?"}) <= target.keys()


def prepare(net, df, path):
    meta = net.metadata
    X = data.transform(df, meta["features"], path)
    if X.shape[1] != net.n_features:
        raise DataError(f"the model's preprocessing gives {X.shape[1]} inputs but its network "
                        f"takes {net.n_features}: the model file is inconsistent")
    _check_range(X, df, net, path)
    return X


def _check_range(X, df, net, path) -> None:
    """A standardised input beyond the network's dtype (1e200 against a float32 model) is an
    error naming the column and the row, not an overflow deep in the network."""
    limit = np.finfo(net.dtype).max
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(X) <= limit)
    if not bad.any():
        return
    row, col = np.argwhere(bad)[0]
    name, at = None, 0
    for f in net.metadata["features"]:          # the column behind input ``col``
        at += 1 if f["kind"] == "numeric" else len(f["categories"]) + bool(f["missing"])
        if col < at:
            name = f["name"]
            break
    series = df[name] if name in df.columns else None
    value = f" holds {data.shown(series.iloc[row])}, which" if series is not None else ""
    where = data.row_number(series, row) if series is not None else row + 1
    raise DataError(f"{path}: column {name!r} at row {where}{value} is too large for the "
                    f"model's {net.dtype} inputs once standardised (beyond {limit:.3g})")


def predict_arrays(net, X):
    """(decoded predictions, probabilities or None) in the original label/target units."""
    target = net.metadata["target"]
    if target["task"] == "regression":
        raw = net.predict(X)[:, 0].astype(np.float64)
        return raw * target["std"] + target["mean"], None
    index = np.asarray(net.predict(X)).reshape(-1)
    labels = np.asarray(target["classes"], dtype=object)[index]
    try:
        proba = net.predict_proba(X)
    except ConfigError:                                     # a margin loss: no probabilities
        proba = None
    if proba is not None and proba.shape[1] == 1:           # binary: P(second class)
        proba = np.hstack([1 - proba, proba])
    return labels, proba


def compute_metrics(net, X, y):
    """Metrics in the original units, plus the loss the network was trained with."""
    return finish_metrics(net, metric_sums(net, X, y))


def metric_sums(net, X, y) -> dict:
    """The sums the metrics are made of (so that parts of a table can be added up)."""
    target = net.metadata["target"]
    sums = {"rows": len(X), "loss": 0.0}
    if target["task"] == "classification":
        k = len(target["classes"])
        sums["confusion"] = np.zeros((k, k))
    else:
        sums.update(sq_err=0.0, abs_err=0.0, y=0.0, yy=0.0)
    if len(X) == 0:
        return sums
    Y = net.outputs(X)                   # inference mode, in chunks on large tables
    sums["loss"] = float(net.loss(Y, loss_targets(y, net))) * len(X)
    if target["task"] == "classification":
        index = np.asarray(net.loss.decide(Y)).reshape(-1)
        np.add.at(sums["confusion"], (y, index), 1)
        return sums
    # y is the standardised target, so Σy² − (Σy)²/n loses nothing to cancellation
    err = (Y[:, 0].astype(np.float64) - y) * target["std"]
    sums.update(sq_err=float(np.sum(err ** 2)), abs_err=float(np.sum(np.abs(err))),
                y=float(np.sum(y)), yy=float(np.sum(y ** 2)))
    return sums


def finish_metrics(net, sums) -> dict:
    target, n = net.metadata["target"], sums["rows"]
    result = {"rows": int(n), "loss": sums["loss"] / n}
    if target["task"] == "classification":
        matrix = np.asarray(sums["confusion"]).astype(np.int64)
        result["accuracy"] = float(np.trace(matrix) / n)
        result["confusion_matrix"] = matrix.tolist()
        return result
    total = (sums["yy"] - sums["y"] ** 2 / n) * target["std"] ** 2
    result["mse"] = sums["sq_err"] / n
    result["mae"] = sums["abs_err"] / n
    result["r2"] = 1 - sums["sq_err"] / total if total > 1e-12 * n * target["std"] ** 2 \
        else float("nan")
    return result


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
    net = load_model(args.model)
    df = data.read_table(args.data)
    X = prepare(net, df, args.data)
    pd = data.pandas()
    out = pd.DataFrame({c: data.column(df, c, args.data).to_numpy() for c in args.keep})
    predictions, proba = predict_arrays(net, X)
    out["prediction"] = predictions
    if proba is not None:
        for j, label in enumerate(net.metadata["target"]["classes"]):
            out[f"proba_{label}"] = proba[:, j]
    data.write_table(out, args.output, "the predictions")
    if args.output not in (None, "-"):             # stdout stays for data only
        print(f"wrote {len(out)} predictions to {args.output}", file=sys.stderr)
    return 0


def run_evaluate(args) -> int:
    net = load_model(args.model)
    df = data.read_table(args.data)
    target = net.metadata["target"]
    y_col = data.column(df, target["name"], args.data, "target column")
    X = prepare(net, df, args.data)
    y = target_column.encode_target(y_col, target, args.data)
    m = compute_metrics(net, X, y)
    if args.json:
        if "confusion_matrix" in m:
            m["labels"] = target["classes"]
        print(json.dumps(m))
        return 0
    print(f"rows: {m['rows']}")
    if target["task"] == "regression":
        print(f"mse: {m['mse']:.6g}\nmae: {m['mae']:.6g}\nr2: {m['r2']:.4f}")
        return 0
    print(f"accuracy: {m['accuracy']:.4f}")
    print("confusion matrix (rows: true class, columns: predicted):")
    labels = [str(c) for c in target["classes"]]
    counts = m["confusion_matrix"]
    width = max(len(x) for x in [*labels, *(str(v) for r in counts for v in r)])
    first = max(len(x) for x in labels)
    print(" " * first + "".join(f"  {x:>{width}}" for x in labels))
    for label, row in zip(labels, counts, strict=True):
        print(label.ljust(first) + "".join(f"  {v:>{width}}" for v in row))
    return 0


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


def run_explain(args) -> int:
    from ..explain import explain

    net = load_model(args.model)
    df = data.read_table(args.data)
    if not 0 <= args.row < len(df):
        raise DataError(f"--row {args.row} is outside {args.data}'s {len(df)} rows")
    df = df.iloc[args.row: args.row + 1]
    target = net.metadata["target"]
    y = target_column.encode_target(data.column(df, target["name"], args.data, "target column"),
                           target, args.data)
    X = prepare(net, df, args.data)
    result = explain(net, net.loss, X[0], loss_targets(y, net)[0], layer=args.layer, i=args.i,
                     j=args.j, lr=args.lr, bias=args.bias)
    render = {"text": str, "markdown": lambda e: e.to_markdown(),
              "latex": lambda e: e.to_latex(), "json": lambda e: json.dumps(e.to_dict())}
    print(render[args.format](result))
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
    print(f"wrote {args.output}: the network's {net.n_features} inputs -> {net.n_outputs} "
          f"outputs (the table preprocessing is not part of the graph; see 'ffbp summary')")
    return 0
