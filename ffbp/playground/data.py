"""What a session trains on and draws: the network's inputs and targets, each point's place
on the plane, and the plane's grid turned into network inputs.

Generated data: the points are (x₁, x₂) and the inputs the chosen features of them
(``features.compute``). Uploaded data (a CSV): the inputs are all its feature columns,
*standardised* with the training rows' mean and standard deviation, z = (x − μ)/σ (σ = 1
for a constant column), so that every column is about unit size and the default learning
rate works whatever the file's units; the plane shows two of them (x_feature, y_feature),
and the grid holds the other columns at their training mean (0 after standardising). A
regression target is standardised the same way (the losses are then in units of its σ); a
two-valued target becomes 0/1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from . import datasets, features
from .upload import Table

#: Margin around the uploaded points on the plane, as a fraction of their range.
PAD = 0.1


class PlayData(NamedTuple):
    X_train: np.ndarray          # (n_train, n_inputs) the network's inputs
    t_train: np.ndarray          # (n_train,) targets: 0/1 or values
    X_test: np.ndarray
    t_test: np.ndarray
    P_train: np.ndarray          # (n_train, 2) each point's place on the plane
    P_test: np.ndarray
    xlim: tuple
    ylim: tuple
    x_name: str
    y_name: str
    inputs: list                 # the inputs' labels, in the network's order
    to_inputs: Callable          # plane points (m, 2) -> network inputs (m, n_inputs)
    info: dict                   # JSON-able: how the inputs were made (for the export)


def generated(config: dict) -> PlayData:
    """The configured dataset's points with the configured features."""
    s = datasets.make(config["dataset"], config["n_points"], config["noise"],
                      config["train_ratio"], config["seed"])
    names = features.check(config["features"])

    def to_inputs(P):
        return features.compute(names, P)

    lim = (-datasets.EXTENT, datasets.EXTENT)
    return PlayData(to_inputs(s.X_train), s.t_train, to_inputs(s.X_test), s.t_test,
                    s.X_train, s.X_test, lim, lim, "x1", "x2",
                    [features.LABELS[n] for n in names], to_inputs,
                    {"source": "generated", "features": names})


def problem_of(table: Table) -> str:
    """Classification for a two-valued target (text labels or two numbers), regression
    otherwise."""
    return "classification" if len(np.unique(table.t)) == 2 else "regression"


def uploaded(table: Table, config: dict) -> PlayData:
    """The CSV's rows split by train_ratio and seed, standardised by the training rows."""
    train, test = datasets.split_rows(len(table.t), config["train_ratio"], config["seed"])
    mean = table.X[train].mean(axis=0)
    std = table.X[train].std(axis=0)
    std[std == 0] = 1.0
    Z = (table.X - mean) / std
    t = table.t.astype(np.float64)
    info = {"source": "upload", "columns": list(table.columns), "target": table.target,
            "mean": mean.tolist(), "std": std.tolist(), "classes": table.classes}
    if config["problem"] == "classification":
        t = (t == t.max()).astype(np.float64)          # the larger value is class 1
    else:
        mu, sigma = float(t[train].mean()), float(t[train].std()) or 1.0
        t = (t - mu) / sigma
        info.update(target_mean=mu, target_std=sigma)
    xf, yf = config["x_feature"], config["y_feature"]
    centre = Z[train].mean(axis=0)

    def to_inputs(P):
        out = np.repeat(centre[None, :], len(P), axis=0)
        out[:, xf], out[:, yf] = P[:, 0], P[:, 1]
        return out

    P = Z[:, [xf, yf]]
    return PlayData(Z[train], t[train], Z[test], t[test], P[train], P[test],
                    _limits(P[:, 0]), _limits(P[:, 1]), table.columns[xf],
                    table.columns[yf], list(table.columns), to_inputs, info)


def _limits(v):
    lo, hi = float(v.min()), float(v.max())
    pad = PAD * (hi - lo) or 1.0
    return lo - pad, hi + pad


def grid_points(xlim, ylim, n: int) -> np.ndarray:
    """(n·n, 2) points of an n × n grid over the plane, row-major with row 0 at the top
    (x₂ = ylim's high end), as the page draws an image."""
    xs = np.linspace(xlim[0], xlim[1], n)
    ys = np.linspace(ylim[1], ylim[0], n)
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])
