"""From a table to what training needs: held-out rows, fitted preprocessing, encoded arrays,
the network with its metadata and the optimiser. One code path for ``ffbp train`` and
``ffbp.fit_table``, so that both hold out the same rows and start from the same weights.

The options are the ``ffbp train`` options by name (``OPTIONS`` lists them with their
defaults); ``fit_table`` takes the same as keywords. Under MPI (``ffbp train
--distributed``) each rank passes its own rows and its ``comm``: every rank holds out its
own share, and the preprocessing is fitted on all ranks' rows together by exchanging small
summaries (``ffbp.tabular.features``), so it equals what one process fits on the whole table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import optim
from .._validation import check_keywords, lookup
from ..distributed import Comm
from ..errors import ConfigError, DataError
from .columns import is_numeric_column
from .features import (
    feature_columns,
    input_names,
    merge_features,
    summarize_features,
    transform,
)
from .model import FORMAT, TableModel, loss_targets
from .tables import column
from .target import (
    check_target,
    decide_task,
    encode_target,
    merge_target,
    summarize_target,
    summarize_target_values,
)

#: The options of a table model and their defaults (``ffbp train``'s, see ``ffbp train
#: --help`` for each).
OPTIONS = {"hidden": [64, 32], "activation": "relu", "init": "auto", "loss": None,
           "optimizer": "adam", "lr": None, "weight_decay": None, "clip_norm": None,
           "epochs": 100, "batch_size": 32, "validation_split": 0.1, "early_stopping": None,
           "patience": 10, "seed": 0, "dtype": "float32", "task": "auto", "categorical": [],
           "drop": []}


def check_options(options: dict, caller: str) -> dict:
    """``OPTIONS`` updated with ``options``; an unknown name gets the closest known one."""
    check_keywords(options, OPTIONS, caller, f"known: {', '.join(OPTIONS)}")
    return {**OPTIONS, **options}


@dataclass
class PreparedTable:
    """Everything ``fit`` needs, from one table (one rank's rows under MPI).

    ``X_train`` (n_train, inputs) and ``y_train`` (encoded: class indices, or the
    standardised value) on this rank; ``n``, ``n_val``: rows of the whole table and of its
    held-out part, over every rank. ``net`` carries the preprocessing in its metadata."""

    net: TableModel
    loss: object
    optimizer: object
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    n: int
    n_val: int
    task: str
    why: str
    features: list
    spec: dict

    @property
    def training_data(self) -> tuple:
        """(X, T) in the form the loss takes."""
        return self.X_train, loss_targets(self.y_train, self.net)

    @property
    def validation_data(self) -> tuple | None:
        return (self.X_val, loss_targets(self.y_val, self.net)) if self.n_val else None


def keyword(name: str, value=None) -> str:
    """How a remedy names an option to a Python caller: ``validation_split=0``."""
    return f"{name}=" if value is None else f"{name}={value!r}"


def prepare_table(df, target: str, options: dict, label: str, comm=None,
                  spell=keyword) -> PreparedTable:
    """Hold out ``validation_split`` of ``df``'s rows at random (by ``seed``), fit the
    preprocessing on the training rows, build the network and the optimiser of ``options``
    (all of ``OPTIONS``), and encode both parts. ``label`` names the table in messages;
    ``spell(name, value=None)`` names an option in a remedy (``ffbp train``: its flags)."""
    comm = comm or Comm()
    o = options
    if not isinstance(target, str):
        raise ConfigError(f"target must be a column name, got {target!r}")
    check_target(column(df, target, label, "target column"), target, label)
    n_part = len(df)
    split = o["validation_split"]
    n_val = math.ceil(split * n_part) if split else 0
    if n_val and n_part - n_val < 2:
        raise DataError(f"{label} has {n_part} rows: too few to hold out {split} for "
                        f"validation (use {spell('validation_split', 0)})")
    # each rank holds out its own share of its rows (one process: [seed, 2] as always)
    order = np.random.default_rng([o["seed"], 2, *([comm.rank] if comm.size > 1 else [])]
                                  ).permutation(n_part)
    train_df, val_df = df.iloc[np.sort(order[n_val:])], df.iloc[np.sort(order[:n_val])]
    task, why, features, spec = fit_preprocessing(train_df, df, target, o, label, comm)
    n, n_val = (sum(v) for v in zip(*comm.allgather((n_part, n_val)), strict=True))

    from ..mlp import mlp

    loss, binary = resolve_loss(o["loss"], task, len(spec.get("classes", ())), spell)
    n_outputs = 1 if task == "regression" or binary else len(spec["classes"])
    output = next(iter(loss.requires)) if loss.requires else None   # Softmax, Sigmoid, ...
    net = mlp(len(input_names(features)), o["hidden"], n_outputs, o["activation"],
              output=output, init=o["init"], seed=o["seed"], dtype=np.dtype(o["dtype"]))
    net.metadata = {"ffbp_cli": FORMAT, "target": spec, "task_reason": why,
                    "features": features, "inputs": input_names(features),
                    "training": {"data": label, "rows": n - n_val, "validation_rows": n_val}}
    if comm.size > 1:
        net.metadata["training"]["ranks"] = comm.size
    return PreparedTable(
        net=TableModel.from_network(net), loss=loss, optimizer=make_optimizer(o),
        X_train=transform(train_df, features, label),
        y_train=encode_target(train_df[target], spec, label),
        X_val=transform(val_df, features, label),
        y_val=encode_target(val_df[target], spec, label),
        n=n, n_val=n_val, task=task, why=why, features=features, spec=spec)


def resolve_loss(name, task, n_classes, spell=keyword):
    """The loss instance for ``name`` (or the task's default), checked against the task."""
    from .. import losses

    loss = losses.get(name or ("cross_entropy" if task == "classification" else "mse"))
    if loss.family != task:
        raise ConfigError(f"loss {name!r} is a {loss.family} loss but the task is {task} "
                          f"(choose another {spell('loss')}, or {spell('task')})")
    binary = (losses.BinaryCrossEntropy, losses.BinaryCrossEntropyWithLogits, losses.Hinge)
    if isinstance(loss, binary) and n_classes != 2:
        raise ConfigError(f"loss {name!r} is for two classes but the target has {n_classes}; "
                          f"use cross_entropy")
    return loss, isinstance(loss, binary)


def make_optimizer(options: dict):
    """The optimiser of the options: an ``ffbp.optim`` name with ``lr``, ``weight_decay``
    and ``clip_norm`` (each None: the optimiser's default), or a transformation as is."""
    optimizer = options["optimizer"]
    if not isinstance(optimizer, str):
        return optimizer
    make = lookup(optimizer, optim.ALIASES, "optimizer")
    kwargs = {k: options[o] for k, o in (("learning_rate", "lr"),
                                         ("weight_decay", "weight_decay"),
                                         ("clip_norm", "clip_norm")) if options[o] is not None}
    return make(**kwargs)


def fit_preprocessing(train_df, all_df, target, options, label, comm):
    """(task, why, feature specs, target spec), fitted on every rank's rows together (one
    process: its own rows). ``all_df`` (training and held-out rows) decides the task and
    the classes; ``train_df`` fits the features and the target's scale."""
    task = options["task"]
    parts = comm.allgather(summarize_target(all_df[target], task, target, label))
    task, why = decide_task(parts, task, target)
    categorical, drop = options["categorical"], options["drop"]
    names = feature_columns(train_df, target, categorical, drop, label)
    # a column is numeric only if it is numeric in every rank's part
    numeric = {name: is_numeric_column(train_df[name]) for name in names}
    kinds = comm.allgather(numeric)
    numeric = {name: all(k.get(name, False) for k in kinds) for name in names}
    features = comm.allgather(summarize_features(train_df, target, categorical, drop, label,
                                                 numeric))
    if any([f["name"] for f in part] != names for part in features):
        raise DataError(f"{label}: the parts of the table read by the ranks have different "
                        f"columns")
    targets = comm.allgather(summarize_target_values(all_df[target], train_df[target],
                                                     target, task, label))
    return task, why, merge_features(features), merge_target(targets, target, task, label)
