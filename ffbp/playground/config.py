"""The playground's state: its keys, their defaults, what each allows, and what a change
of each resets. The page keeps the same dict in its URL, so a link reproduces a setup.

Every check raises a one-line ``PlaygroundError`` naming the key and the allowed values.
"""

from __future__ import annotations

import copy
import math
import numbers

from . import build
from .datasets import CLASSIFICATION, REGRESSION
from .errors import PlaygroundError
from .features import check

DEFAULTS = {
    "problem": "classification", "dataset": "circle", "noise": 0, "train_ratio": 50,
    "n_points": 500, "batch_size": 10, "features": ["x1", "x2"], "hidden": [4, 2],
    "activation": "tanh", "learning_rate": 0.03, "regularization": "none", "reg_rate": 0.0,
    "optimizer": "sgd", "init": "glorot", "seed": 0, "show_test": False,
    "discretize": False, "x_feature": 0, "y_feature": 1,
}

#: A change of these draws the data again and starts a new network.
DATA_KEYS = frozenset({"problem", "dataset", "noise", "train_ratio", "n_points", "seed"})
#: A change of these builds a new network (new initial weights) on the same data.
NET_KEYS = frozenset({"features", "hidden", "activation", "init"})
#: A change of these keeps the weights and starts a new optimiser.
TRAINING_KEYS = frozenset({"learning_rate", "regularization", "reg_rate", "optimizer",
                           "batch_size"})
#: Which uploaded columns lie on the plane: the points and pictures change, nothing else.
PLANE_KEYS = frozenset({"x_feature", "y_feature"})
#: Only the page reads these.
PAGE_KEYS = frozenset({"show_test", "discretize"})

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
REGULARIZATIONS = ("none", "l1", "l2")
OPTIMIZERS = tuple(build.OPTIMIZERS)          # the names of what build makes of them
INITS = tuple(build.INITS)
PROBLEMS = ("classification", "regression")
MAX_LAYERS, MAX_UNITS = 6, 8
MAX_POINTS = 10_000


def _choice(options):
    def check_choice(key, value):
        if value not in options:
            raise PlaygroundError(f"{key} must be one of {', '.join(options)}, got {value!r}")
        return value
    return check_choice


def _number(low, high, integer=False, low_open=False):
    def check_number(key, value):
        what = "an integer" if integer else "a number"
        span = (f"> {low}" if low_open else f"from {low}") + ("" if high is None else
                                                              f" to {high}")
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and \
            math.isfinite(value) and (not integer or float(value).is_integer())
        if ok:
            ok = (value > low if low_open else value >= low) and (high is None or value <= high)
        if not ok:
            raise PlaygroundError(f"{key} must be {what} {span}, got {value!r}")
        return int(value) if integer else value
    return check_number


def _flag(key, value):
    if not isinstance(value, bool):
        raise PlaygroundError(f"{key} must be true or false, got {value!r}")
    return value


def _hidden(key, value):
    if not isinstance(value, (list, tuple)) or len(value) > MAX_LAYERS or not all(
            isinstance(h, numbers.Integral) and not isinstance(h, bool)
            and 1 <= h <= MAX_UNITS for h in value):
        raise PlaygroundError(f"{key} must be a list of 0 to {MAX_LAYERS} layer widths, each "
                              f"an integer from 1 to {MAX_UNITS}, got {value!r}")
    return [int(h) for h in value]


def _features(key, value):
    return check(value)


CHECKS = {
    "problem": _choice(PROBLEMS),
    "dataset": _choice(CLASSIFICATION + REGRESSION + ("upload",)),
    "noise": _number(0, 50),
    "train_ratio": _number(10, 90),
    "n_points": _number(10, MAX_POINTS, integer=True),
    "batch_size": _number(1, MAX_POINTS, integer=True),
    "features": _features,
    "hidden": _hidden,
    "activation": _choice(ACTIVATIONS),
    "learning_rate": _number(0, None, low_open=True),
    "regularization": _choice(REGULARIZATIONS),
    "reg_rate": _number(0, None),
    "optimizer": _choice(OPTIMIZERS),
    "init": _choice(INITS),
    "seed": _number(0, 2 ** 32 - 1, integer=True),
    "show_test": _flag,
    "discretize": _flag,
    "x_feature": _number(0, None, integer=True),
    "y_feature": _number(0, None, integer=True),
}
assert set(CHECKS) == set(DEFAULTS)


def merge(current: dict, changes, columns: list | None) -> dict:
    """The config after ``changes``, every key checked. ``columns``: the uploaded table's
    feature columns (None when no CSV is loaded), which "upload" and x/y_feature need.

    A dataset implies its problem; a problem alone switches to that problem's first
    dataset (as TensorFlow Playground does) unless the data is an upload."""
    if not isinstance(changes, dict):
        raise PlaygroundError(f"changes must be an object of settings, got "
                              f"{type(changes).__name__}")
    unknown = sorted(set(changes) - set(DEFAULTS))
    if unknown:
        raise PlaygroundError(f"unknown setting {unknown[0]!r}; the settings are "
                              f"{', '.join(DEFAULTS)}")
    new = copy.deepcopy(current)
    for key, value in changes.items():
        new[key] = CHECKS[key](key, value)
    if "dataset" in changes and new["dataset"] != "upload":
        implied = "classification" if new["dataset"] in CLASSIFICATION else "regression"
        if "problem" in changes and changes["problem"] != implied:
            raise PlaygroundError(f"dataset {new['dataset']!r} is a {implied} dataset, but "
                                  f"problem is {changes['problem']!r}")
        new["problem"] = implied
    elif "problem" in changes and new["dataset"] != "upload" and \
            new["problem"] != current["problem"]:
        new["dataset"] = (CLASSIFICATION if new["problem"] == "classification"
                          else REGRESSION)[0]
    if new["dataset"] != "upload":        # generated data: the plane is (x₁, x₂)
        for key, axis in (("x_feature", 0), ("y_feature", 1)):
            if key not in changes:
                new[key] = axis
    if new["dataset"] == "upload" and columns is None:
        raise PlaygroundError("dataset 'upload' needs a CSV file: upload one first")
    n = len(columns) if new["dataset"] == "upload" else 2
    for key in ("x_feature", "y_feature"):
        if new[key] >= n:
            raise PlaygroundError(f"{key} must be a column index from 0 to {n - 1}, got "
                                  f"{new[key]!r}")
    if new["x_feature"] == new["y_feature"]:
        raise PlaygroundError(f"x_feature and y_feature must differ (both are "
                              f"{new['x_feature']})")
    return new


def changed(old: dict, new: dict) -> set:
    """The keys whose value differs."""
    return {k for k in new if new[k] != old.get(k)}
