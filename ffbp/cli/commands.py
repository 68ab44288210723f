"""The ``ffbp`` subcommands: train, predict, evaluate, summary, gradcheck, export.

Each ``run_*`` takes the parsed arguments, prints its results on stdout, and returns the exit
code; errors are raised (ffbp errors) and turned into one line on stderr by ``main``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np

from .. import losses as _losses
from .._validation import lookup
from ..errors import ConfigError, DataError, FFBPError
from ..layers import Dense
from ..layers import activations as _activations
from ..losses import BinaryCrossEntropy, BinaryCrossEntropyWithLogits, Hinge
from . import data, options

#: Metadata format of models written by ``ffbp train`` (``net.metadata["ffbp_cli"]``).
CLI_FORMAT = 1
BINARY_LOSSES = (BinaryCrossEntropy, BinaryCrossEntropyWithLogits, Hinge)
RELU_LIKE = (_activations.ReLU, _activations.LeakyReLU, _activations.ELU)
#: ``ffbp gradcheck`` fails when the worst relative error reaches this (see README).
GRADCHECK_TOL = 1e-6


def _optimizers():
    from ..optim import aliases

    return {"sgd": aliases.sgd, "gd": aliases.gd, "momentum": aliases.momentum,
            "adam": aliases.adam, "adamw": aliases.adamw, "rmsprop": aliases.rmsprop}


# -- building ----------------------------------------------------------------------------
def resolve_loss(name, task, n_classes):
    """The loss instance for ``name`` (or the task's default), checked against the task."""
    loss = _losses.get(name or ("cross_entropy" if task == "classification" else "mse"))
    if loss.family != task:
        raise ConfigError(f"loss {name!r} is a {loss.family} loss but the task is {task} "
                          f"(choose another --loss, or --task)")
    if isinstance(loss, BINARY_LOSSES) and n_classes != 2:
        raise ConfigError(f"loss {name!r} is for two classes but the target has {n_classes}; "
                          f"use cross_entropy")
    return loss


def _loss_name(loss) -> str:
    return next(name for name, cls in _losses.LOSSES.items() if type(loss) is cls)


def build_network(n_inputs, n_outputs, opts, loss):
    from ..network import Network

    activation = _activations.get(opts["activation"])     # checks the name even without
    init = opts["init"]                                    # hidden layers
    if init == "auto":
        init = "he_normal" if isinstance(activation, RELU_LIKE) else "glorot_uniform"
    widths = [n_inputs, *opts["hidden"]]
    layers = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [Dense(a, b, init=init), _activations.get(opts["activation"])]
    layers.append(Dense(widths[-1], n_outputs))
    if loss.requires:                                      # Softmax, LogSoftmax or Sigmoid
        layers.append(next(iter(loss.requires))())
    return Network(layers, seed=opts["seed"], dtype=np.dtype(opts["dtype"]))


def make_optimizer(opts):
    make = lookup(opts["optimizer"], _optimizers(), "optimizer")
    kwargs = {k: v for k, v in (("learning_rate", opts["lr"]),
                                ("weight_decay", opts["weight_decay"]),
                                ("clip_norm", opts["clip_norm"])) if v is not None}
    return make(**kwargs)


def _targets(y, net):
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
    return X


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
    target = net.metadata["target"]
    Y = net._predict_raw(X)                   # inference mode, in chunks on large tables
    result = {"rows": int(len(X)), "loss": float(net.loss(Y, _targets(y, net)))}
    if target["task"] == "classification":
        index = np.asarray(net.loss.decide(Y)).reshape(-1)
        k = len(target["classes"])
        matrix = np.zeros((k, k), dtype=np.int64)
        np.add.at(matrix, (y, index), 1)
        result["accuracy"] = float(np.mean(index == y))
        result["confusion_matrix"] = matrix.tolist()
        return result
    pred = Y[:, 0].astype(np.float64) * target["std"] + target["mean"]
    truth = y * target["std"] + target["mean"]
    err = pred - truth
    total = float(np.sum((truth - truth.mean()) ** 2))
    result["mse"] = float(np.mean(err ** 2))
    result["mae"] = float(np.mean(np.abs(err)))
    result["r2"] = 1 - float(np.sum(err ** 2)) / total if total > 0 else float("nan")
    return result


def _metric_table(rows: dict) -> str:
    """rows: {name: metrics} -> an aligned table of the scalar metrics."""
    keys = [k for k in ("loss", "accuracy", "mse", "mae", "r2")
            if any(k in m for m in rows.values())]
    width = max(len(name) for name in rows)
    lines = [" " * width + "".join(f"{k:>12}" for k in keys)]
    for name, m in rows.items():
        lines.append(name.ljust(width) + "".join(f"{m[k]:12.4f}" for k in keys))
    return "\n".join(lines)


def _labels_text(classes, limit=10) -> str:
    shown = ", ".join(map(repr, classes[:limit]))
    return shown + (f", ... ({len(classes)} in all)" if len(classes) > limit else "")


# -- the commands ------------------------------------------------------------------------
def run_train(args) -> int:
    opts = options.resolve(args)
    path = args.data
    df = data.read_table(path)
    target = opts["target"]
    y_all = data.column(df, target, path, "target column")
    data.check_target(y_all, target, path)
    task, why = data.infer_task(y_all, opts["task"], target, path)
    folder = os.path.dirname(os.path.abspath(opts["output"]))
    if not os.path.isdir(folder):               # fail before training, not after
        raise DataError(f"cannot write the model to {opts['output']}: no directory {folder}")

    n = len(df)
    n_val = math.ceil(opts["validation_split"] * n) if opts["validation_split"] else 0
    if n_val and n - n_val < 2:
        raise DataError(f"{path} has {n} rows: too few to hold out "
                        f"{opts['validation_split']} for validation (use --validation-split 0)")
    order = np.random.default_rng([opts["seed"], 2]).permutation(n)
    train_df = df.iloc[np.sort(order[n_val:])]
    val_df = df.iloc[np.sort(order[:n_val])]

    features = data.fit_features(train_df, target, opts["categorical"], opts["drop"], path)
    spec = data.fit_target(y_all, train_df[target], target, task, path)
    n_classes = len(spec.get("classes", ()))
    loss = resolve_loss(opts["loss"], task, n_classes)
    n_outputs = 1 if task == "regression" or isinstance(loss, BINARY_LOSSES) else n_classes
    X_train = data.transform(train_df, features, path)
    y_train = data.encode_target(train_df[target], spec, path)
    net = build_network(X_train.shape[1], n_outputs, opts, loss)
    optimizer = make_optimizer(opts)
    validation = None
    if n_val:
        X_val = data.transform(val_df, features, path)
        y_val = data.encode_target(val_df[target], spec, path)
        validation = (X_val, _targets(y_val, net))
    settings = {k: v for k, v in opts.items()
                if k not in ("output", "quiet", "checkpoint", "resume")}
    settings["loss"] = _loss_name(loss)
    net.metadata = {"ffbp_cli": CLI_FORMAT, "target": spec, "task_reason": why,
                    "features": features, "inputs": data.input_names(features),
                    "training": {"data": str(path), "rows": n - n_val, "validation_rows": n_val,
                                 "options": settings}}

    start = time.perf_counter()
    history = net.fit(X_train, _targets(y_train, net), loss=loss, optimizer=optimizer,
                      epochs=opts["epochs"], batch_size=opts["batch_size"],
                      validation_data=validation, early_stopping=opts["early_stopping"],
                      patience=opts["patience"], seed=opts["seed"], verbose=not opts["quiet"],
                      checkpoint=opts["checkpoint"], resume=opts["resume"])
    seconds = time.perf_counter() - start
    results = {"train": compute_metrics(net, X_train, y_train)}
    if validation is not None:
        results["validation"] = compute_metrics(net, X_val, y_val)
    net.metadata["training"].update(
        epochs_run=history.epochs, stop_reason=history.stop_reason,
        metrics={name: {k: v for k, v in m.items() if k != "confusion_matrix"}
                 for name, m in results.items()})
    from ..io import save

    save(net, opts["output"])

    n_num = sum(f["kind"] == "numeric" for f in features)
    what = (f"{n_classes} classes: {_labels_text(spec['classes'])}"
            if task == "classification" else f"mean {spec['mean']:.4g}, std {spec['std']:.4g}")
    arch = "-".join(str(w) for w in [net.n_features, *opts["hidden"], net.n_outputs])
    print(f"task: {task} of {target!r} ({why}); {what}")
    print(f"data: {path}: {n - n_val} training + {n_val} validation rows; {len(features)} "
          f"feature columns ({n_num} numeric, {len(features) - n_num} categorical) -> "
          f"{net.n_features} inputs")
    output = type(net.layers[-1]).__name__ if loss.requires else "linear"
    hidden = f"{opts['activation']} hidden, " if opts["hidden"] else ""
    print(f"network: {arch}, {hidden}{output} output, "
          f"{settings['loss']} loss, {opts['optimizer']} optimiser")
    print(f"trained {history.epochs} epochs in {seconds:.2f} s ({history.stop_reason})")
    print(_metric_table(results))
    print(f"saved {opts['output']}")
    return 0


def run_predict(args) -> int:
    if args.output not in (None, "-"):
        data.table_format(args.output)             # a bad extension fails before any work
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
    data.write_table(out, args.output)
    if args.output not in (None, "-"):             # stdout stays for data only
        print(f"wrote {len(out)} predictions to {args.output}", file=sys.stderr)
    return 0


def run_evaluate(args) -> int:
    net = load_model(args.model)
    df = data.read_table(args.data)
    target = net.metadata["target"]
    y_col = data.column(df, target["name"], args.data, "target column")
    X = prepare(net, df, args.data)
    y = data.encode_target(y_col, target, args.data)
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
        print(f"classes: {_labels_text(target['classes'], 50)}")
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
            print(_metric_table(training["metrics"]))
    return 0


def run_gradcheck(args) -> int:
    from ..gradcheck import gradcheck

    net = load_model(args.model)
    df = data.read_table(args.data).iloc[: args.samples]
    target = net.metadata["target"]
    y_col = data.column(df, target["name"], args.data, "target column")
    X = prepare(net, df, args.data)
    y = data.encode_target(y_col, target, args.data)
    report = gradcheck(net, net.loss, X, _targets(y, net),
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
    export(net, args.output)
    print(f"wrote {args.output}: the network's {net.n_features} inputs -> {net.n_outputs} "
          f"outputs (the table preprocessing is not part of the graph; see 'ffbp summary')")
    return 0
