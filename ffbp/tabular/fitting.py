"""``fit_table``: fit a table's preprocessing and train an MLP on it, as ``ffbp train``
does, into a ``TableModel``; and the training metrics both report."""

from __future__ import annotations

import math

import numpy as np

from .. import optim
from .._validation import lookup
from ..errors import ConfigError, DataError
from .features import input_names, merge_features, summarize_features, transform
from .model import FORMAT, TableModel, loss_targets
from .tables import as_frame, column
from .target import (
    check_target,
    decide_task,
    encode_target,
    merge_target,
    summarize_target,
    summarize_target_values,
)


def fit_preprocessing(train_df, all_df, target, task, categorical, drop, label):
    """(task, why, feature specs, target spec) of one process's table (``ffbp train
    --distributed`` fits the same from every rank's summaries)."""
    task, why = decide_task([summarize_target(all_df[target], task, target, label)], task,
                            target)
    features = merge_features([summarize_features(train_df, target, categorical, drop, label)])
    spec = merge_target([summarize_target_values(all_df[target], train_df[target], target,
                                                 task, label)], target, task, label)
    return task, why, features, spec


def resolve_loss(name, task, n_classes):
    """The loss instance for ``name`` (or the task's default), checked against the task."""
    from .. import losses

    loss = losses.get(name or ("cross_entropy" if task == "classification" else "mse"))
    if loss.family != task:
        raise ConfigError(f"loss {name!r} is a {loss.family} loss but the task is {task}")
    binary = (losses.BinaryCrossEntropy, losses.BinaryCrossEntropyWithLogits, losses.Hinge)
    if isinstance(loss, binary) and n_classes != 2:
        raise ConfigError(f"loss {name!r} is for two classes but the target has {n_classes}; "
                          f"use cross_entropy")
    return loss, isinstance(loss, binary)


def metric_sums(net, X, y) -> dict:
    """The sums the training metrics are made of (so that parts of a table add up)."""
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
    """The training metrics (loss, accuracy or MSE, MAE, R²) from ``metric_sums``."""
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


def fit_table(table, target: str, *, hidden=(64, 32), activation="relu", loss=None,
              optimizer="adam", lr=None, weight_decay=None, clip_norm=None, epochs=100,
              batch_size=32, validation_split=0.1, early_stopping=None, patience=10,
              seed=0, dtype="float32", task="auto", categorical=(), drop=(), init="auto",
              verbose=False, callbacks=()) -> TableModel:
    """Fit the preprocessing of ``table`` (a DataFrame, a pyarrow Table or a CSV/Parquet
    path) and train an MLP to predict its column ``target``, as ``ffbp train`` does with
    the same options (the same rows held out, the same weights): a ``TableModel``.

    The preprocessing is fitted on the training rows only (not the ``validation_split``
    held out at random with ``seed``); ``task`` ``auto`` makes a non-numeric target, or one
    of few whole numbers, a classification. ``categorical``: numeric-looking columns to
    one-hot encode anyway; ``drop``: columns to leave out. The other arguments are
    ``ffbp train``'s options (see the README): ``hidden`` widths, hidden ``activation``,
    ``loss`` (default cross_entropy or mse), ``optimizer`` (sgd, momentum, adam, adamw,
    rmsprop) with ``lr``, ``weight_decay``, ``clip_norm``; ``epochs``, ``batch_size``
    (``"full"`` or None for batch gradient descent), ``early_stopping`` with ``patience``
    (None, the default: on when a validation split is held out, as in ``ffbp train``);
    ``dtype``; ``verbose`` shows a progress bar. The returned model's
    ``metadata["training"]`` holds the options, epochs run and the final metrics."""
    from ..mlp import mlp

    df, label = as_frame(table)
    if isinstance(batch_size, str) and batch_size.lower() in ("full", "all", "none"):
        batch_size = None                     # batch gradient descent, as ffbp train
    if not isinstance(target, str):
        raise ConfigError(f"target must be a column name, got {target!r}")
    categorical, drop = list(categorical), list(drop)
    y_all = column(df, target, label, "target column")
    check_target(y_all, target, label)
    if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
        raise ConfigError(f"validation_split must be in [0, 1), got {validation_split!r}")
    n = len(df)
    n_val = math.ceil(validation_split * n) if validation_split else 0
    if n_val and n - n_val < 2:
        raise DataError(f"{label} has {n} rows: too few to hold out {validation_split} for "
                        f"validation (use validation_split=0)")
    order = np.random.default_rng([seed, 2]).permutation(n)      # as ffbp train
    if early_stopping is None:
        early_stopping = bool(n_val)
    train_df, val_df = df.iloc[np.sort(order[n_val:])], df.iloc[np.sort(order[:n_val])]
    task, why, features, spec = fit_preprocessing(train_df, df, target, task, categorical,
                                                  drop, label)
    n_classes = len(spec.get("classes", ()))
    loss_fn, binary = resolve_loss(loss, task, n_classes)
    n_outputs = 1 if task == "regression" or binary else n_classes
    hidden = [hidden] if isinstance(hidden, int) else list(hidden or [])
    output = next(iter(loss_fn.requires)) if loss_fn.requires else None
    net = mlp(len(input_names(features)), hidden, n_outputs, activation, output=output,
              init=init, seed=seed, dtype=np.dtype(dtype))
    make = lookup(optimizer, optim.ALIASES, "optimizer")
    kwargs = {k: v for k, v in (("learning_rate", lr), ("weight_decay", weight_decay),
                                ("clip_norm", clip_norm)) if v is not None}
    opt = make(**kwargs) if isinstance(optimizer, str) else optimizer
    X_train = transform(train_df, features, label)
    y_train = encode_target(train_df[target], spec, label)
    X_val = transform(val_df, features, label)
    y_val = encode_target(val_df[target], spec, label)
    options = {"target": target, "task": task, "hidden": hidden, "activation": activation,
               "loss": loss, "optimizer": optimizer if isinstance(optimizer, str) else None,
               "lr": lr, "weight_decay": weight_decay, "clip_norm": clip_norm,
               "epochs": epochs, "batch_size": batch_size,
               "validation_split": validation_split, "early_stopping": early_stopping,
               "patience": patience, "seed": seed, "dtype": str(np.dtype(dtype)),
               "categorical": categorical, "drop": drop, "init": init}
    net.metadata = {"ffbp_cli": FORMAT, "target": spec, "task_reason": why,
                    "features": features, "inputs": input_names(features),
                    "training": {"data": label, "rows": n - n_val, "validation_rows": n_val,
                                 "options": options}}
    model = TableModel.from_network(net)
    history = model.fit(X_train, loss_targets(y_train, model), loss=loss_fn, optimizer=opt,
                        epochs=epochs, batch_size=batch_size,
                        validation_data=(X_val, loss_targets(y_val, model)) if n_val else None,
                        early_stopping=early_stopping, patience=patience, seed=seed,
                        verbose=verbose, callbacks=list(callbacks))
    results = {"train": finish_metrics(model, metric_sums(model, X_train, y_train))}
    if n_val:
        results["validation"] = finish_metrics(model, metric_sums(model, X_val, y_val))
    model.metadata["training"].update(
        epochs_run=history.epochs, stop_reason=history.stop_reason,
        metrics={name: {k: v for k, v in m.items() if k != "confusion_matrix"}
                 for name, m in results.items()})
    model.history = history
    return model
