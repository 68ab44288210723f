"""``fit_table``: fit a table's preprocessing and train an MLP on it, as ``ffbp train``
does, into a ``TableModel``; and the training metrics both report."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .model import TableModel, loss_targets
from .prepare import OPTIONS, check_options, prepare_table
from .tables import as_frame


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


TASKS = ("auto", "classification", "regression")


def column_names(value, name) -> list[str]:
    """``categorical`` or ``drop``: one column name, or any collection of them (a list, a
    set, ``df.columns[...]``, an array of names; None: none)."""
    if value is None:
        return []
    if isinstance(value, str):                  # one name, not its letters
        return [value]
    try:
        names = list(value)
    except TypeError:
        names = None
    if names is not None and all(isinstance(v, str) for v in names):
        return names
    raise ConfigError(f"{name} must be a column name or a list of column names, got "
                      f"{value!r:.200}")


def check_values(o: dict) -> None:
    """The values of fit_table's options that nothing further down checks as ffbp train's
    flags are checked (``o`` is updated in place): a misspelt task is not ``auto``, a
    column name is not a list of its letters."""
    task = o["task"]
    if not (isinstance(task, str) and task.lower() in TASKS):
        raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    o["task"] = task.lower()
    seed = o["seed"]
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, (bool, np.bool_)) \
            or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0 (it also picks the validation "
                          f"rows), got {seed!r}")
    o["seed"] = int(seed)
    if o["early_stopping"] is not None and not isinstance(o["early_stopping"],
                                                          (bool, np.bool_)):
        raise ConfigError(f"early_stopping must be True, False or None (on when a "
                          f"validation split is held out), got {o['early_stopping']!r}")
    o["categorical"] = column_names(o["categorical"], "categorical")
    o["drop"] = column_names(o["drop"], "drop")


def fit_table(table, target: str, *, hidden=(64, 32), activation="relu", optimizer="adam",
              lr=None, epochs=100, batch_size=32, validation_split=0.1, seed=0,
              verbose=False, callbacks=(), **options) -> TableModel:
    """Fit the preprocessing of ``table`` (a DataFrame, a pyarrow Table or a CSV/Parquet
    path) and train an MLP to predict its column ``target``, as ``ffbp train`` does with
    the same options (the same code: the same rows held out, the same weights): a
    ``TableModel``.

    The preprocessing is fitted on the training rows only (not the ``validation_split``
    held out at random with ``seed``). The arguments are ``ffbp train``'s options: ``hidden``
    widths, hidden ``activation``, ``optimizer`` (sgd, momentum, adam, adamw, rmsprop, or an
    ``ffbp.optim`` transformation) with ``lr``; ``epochs``, ``batch_size`` (``"full"`` or None
    for batch gradient descent); ``verbose`` shows a progress bar; ``callbacks`` go to
    ``fit``. The others by name (``ffbp.tabular.prepare.OPTIONS``): ``loss`` (default
    cross_entropy or mse), ``weight_decay``, ``clip_norm``, ``early_stopping`` with
    ``patience`` (None, the default: on when a validation split is held out, as in
    ``ffbp train``), ``init``, ``dtype``, ``task`` (``auto`` makes a non-numeric target, or
    one of few whole numbers, a classification), ``categorical`` (numeric-looking columns to
    one-hot encode anyway) and ``drop`` (columns to leave out). The returned model's
    ``metadata["training"]`` holds the options, epochs run and the final metrics."""
    df, label = as_frame(table)
    if isinstance(batch_size, str) and batch_size.lower() in ("full", "all", "none"):
        batch_size = None                     # batch gradient descent, as ffbp train
    if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
        raise ConfigError(f"validation_split must be in [0, 1), got {validation_split!r}")
    if isinstance(hidden, str):                 # not a list of its characters
        raise ConfigError(f"hidden must be a layer width or a list of widths (e.g. "
                          f"[64, 32]), got {hidden!r}")
    o = check_options(dict(options, hidden=[hidden] if isinstance(hidden, int) else
                           list(hidden or []), activation=activation, optimizer=optimizer,
                           lr=lr, epochs=epochs, batch_size=batch_size,
                           validation_split=validation_split, seed=seed), "fit_table")
    check_values(o)
    prepared = prepare_table(df, target, o, label)
    model = prepared.net
    if o["early_stopping"] is None:
        o["early_stopping"] = bool(prepared.n_val)
    model.metadata["training"]["options"] = {
        "target": target, "task": prepared.task, **{k: o[k] for k in OPTIONS if k != "task"},
        "optimizer": optimizer if isinstance(optimizer, str) else None,
        "dtype": str(np.dtype(o["dtype"]))}
    history = model.fit(*prepared.training_data, loss=prepared.loss,
                        optimizer=prepared.optimizer, epochs=epochs, batch_size=batch_size,
                        validation_data=prepared.validation_data,
                        early_stopping=o["early_stopping"], patience=o["patience"], seed=seed,
                        verbose=verbose, callbacks=list(callbacks))
    results = {"train": finish_metrics(model, metric_sums(model, prepared.X_train,
                                                          prepared.y_train))}
    if prepared.n_val:
        results["validation"] = finish_metrics(model, metric_sums(model, prepared.X_val,
                                                                  prepared.y_val))
    model.metadata["training"].update(
        epochs_run=history.epochs, stop_reason=history.stop_reason,
        metrics={name: {k: v for k, v in m.items() if k != "confusion_matrix"}
                 for name, m in results.items()})
    model.history = history
    return model
