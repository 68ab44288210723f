"""``ffbp train --report DIR``: the page of a finished or a diverged run (``ffbp.report``),
with the settings as used, the figures the command printed and, for a classifier, the
decision boundary."""

from __future__ import annotations

import inspect
from typing import NamedTuple

from .. import optim
from .._validation import lookup
from ..mlp import RELU_FAMILY, activation_layer
from ..tabular.features import input_names
from . import paths


class KeepHistory:
    """A callback holding fit's History, so that a run that raised (diverged) can still
    be reported up to its last good epoch."""

    history = None

    def on_train_begin(self, net, history):
        self.history = history


def input_labels(features) -> list[str]:
    """The network's inputs (``ffbp.tabular.features.input_names``) as the boundary's axes
    name them: the CLI standardises numeric columns, so their axes are in standard
    deviations from the mean, and says so."""
    numeric = {spec["name"] for spec in features if spec["kind"] == "numeric"}
    return [f"{name} (standardised)" if name in numeric else f"{name} (one-hot)"
            for name in input_names(features)]


def used_settings(settings, task) -> dict:
    """The training options with every default resolved to the value it stood for: the
    optimiser's own learning rate, weight decay and clipping; the task; the initialiser."""
    used = dict(settings)
    make = lookup(used["optimizer"], optim.ALIASES, "optimizer")
    defaults = inspect.signature(make).parameters
    for key, name in (("lr", "learning_rate"), ("weight_decay", "weight_decay"),
                      ("clip_norm", "clip_norm")):
        if used.get(key) is None and name in defaults:
            used[key] = defaults[name].default
    if used.get("clip_norm") is None:
        used["clip_norm"] = "off (no clipping)"
    if used.get("batch_size") is None:
        used["batch_size"] = "full batch"
    used["task"] = task
    if used.get("init") == "auto":
        relu = isinstance(activation_layer(used["activation"]), RELU_FAMILY)
        used["init"] = f"auto: {'he_normal' if relu else 'glorot_uniform'} (hidden layers)"
    used.pop("report", None)                  # where the page is, not how it was trained
    return {k: v for k, v in used.items() if v is not None}


class Run(NamedTuple):
    """What the report says about the run besides the network and its history: the
    prepared table (``ffbp.tabular.prepare``), the settings as given, and the table's
    name."""

    prepared: object
    settings: dict
    table: str

    def summary(self) -> dict:
        p = self.prepared
        return {"table": self.table, "training rows": p.n - p.n_val,
                "validation rows": p.n_val, "inputs": p.net.n_features, "task": p.task}


def write(folder, net, history, health, run: Run, *, final=None, error=None):
    """Write the report into ``folder`` (atomically) and return the page's path: ``final``
    the figures the command printed, ``error`` the DivergenceError of a diverged run."""
    from ..report import write_report

    p = run.prepared
    X, y = p.X_train, p.y_train
    classify = p.task == "classification" and net.n_features >= 2 and len(X)
    boundary = dict(data=(X, y), feature_names=input_labels(p.features),
                    class_names=[str(c) for c in p.spec.get("classes", ())]) if classify else {}

    def draw(tmp):
        return write_report(tmp, net, history if history is not None else {},
                            health=health,
                            hyperparameters=used_settings(run.settings, p.task),
                            data_summary=run.summary(), final_metrics=final, error=error,
                            **boundary)

    return paths.write_report_atomically(folder, draw)
