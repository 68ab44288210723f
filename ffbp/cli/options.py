"""The options of ``ffbp train``: one table shared by the flags and the ``--config`` file.

Every option is a key of ``TRAIN_OPTIONS``. On the command line it is ``--key`` (underscores
become dashes); in a TOML config file it is ``key`` (dashes or underscores), either at the
top level or inside a ``[train]`` table. Values are converted and checked by the same
function whichever way they arrive, so ``--hidden 64,32`` and ``hidden = [64, 32]`` mean the
same thing. The order of precedence is: built-in default < config file < command line.
"""

from __future__ import annotations

import difflib
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, FFBPError


@dataclass(frozen=True)
class Option:
    convert: Callable[[Any, str], Any]
    default: Any
    help: str
    metavar: str | None = None
    flag: bool = False            # a switch: --name / --no-name
    short: str | None = None


# -- converters: (value from the command line as a string, or from TOML) -> checked value --
def _text(value, label):
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{label} must be a non-empty string, got {value!r}")
    return value


def _number(value, label, *, integer=False, low=None, high=None, low_open=False,
            high_open=False):
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool):
        raise ConfigError(f"{label} must be {kind}, got {value!r}")
    if isinstance(value, str):
        try:
            value = int(value) if integer else float(value)
        except ValueError:
            raise ConfigError(f"{label} must be {kind}, got {value!r}") from None
    if integer and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, (int, float)) or (integer and not isinstance(value, int)) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise ConfigError(f"{label} must be {kind}, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        lo = "" if low is None else f"{'>' if low_open else '≥'} {low}"
        hi = "" if high is None else f"{'<' if high_open else '≤'} {high}"
        raise ConfigError(f"{label} must be {kind} {' and '.join(filter(None, (lo, hi)))}, "
                          f"got {value!r}")
    return value


def _positive_int(value, label):
    return _number(value, label, integer=True, low=1)


def _non_negative_int(value, label):
    return _number(value, label, integer=True, low=0)


def _positive(value, label):
    return float(_number(value, label, low=0, low_open=True))


def _non_negative(value, label):
    return float(_number(value, label, low=0))


def _fraction(value, label):
    return float(_number(value, label, low=0, high=1, high_open=True))


def _optional_positive(value, label):
    if isinstance(value, str) and value.lower() in ("none", "off", ""):
        return None
    return _positive(value, label)


def _batch_size(value, label):
    if isinstance(value, str) and value.lower() in ("full", "all", "none"):
        return None                 # batch gradient descent: the whole set per step
    return _positive_int(value, label)


def _hidden(value, label):
    """"64,32" / [64, 32] / 64 / "none" / "" / [] -> list of widths."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "none", "0"):
            return []
        items = [s.strip() for s in text.split(",")]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [value]
    return [_positive_int(item, f"{label} (each width)") for item in items]


def _names(value, label):
    """"a,b" / ["a", "b"] -> list of column names."""
    if isinstance(value, str):
        return [s.strip() for s in value.split(",") if s.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise ConfigError(f"{label} must be a list of column names, got {value!r}")


def _choice(*choices):
    def convert(value, label):
        if not isinstance(value, str) or value.lower() not in choices:
            raise ConfigError(f"{label} must be one of {', '.join(choices)}, got {value!r}")
        return value.lower()
    return convert


def _switch(value, label):
    if not isinstance(value, bool):
        raise ConfigError(f"{label} must be true or false, got {value!r}")
    return value


TRAIN_OPTIONS: dict[str, Option] = {
    "target": Option(_text, None, "the column to predict (required)", "COL"),
    "output": Option(_text, None, "where to write the model (required; conventionally *.ffbp)",
                     "MODEL", short="-o"),
    "task": Option(_choice("auto", "classification", "regression"), "auto",
                   "auto (default): classification for a non-numeric target or an integer "
                   "target with few distinct values (≤ 20, and ≤ 1 per 5 rows, though 2 are "
                   "always allowed), else regression", "TASK"),
    "hidden": Option(_hidden, [64, 32], "hidden layer widths, comma separated; 'none' for no "
                     "hidden layer (default: 64,32)", "W1,W2"),
    "activation": Option(_text, "relu", "hidden activation: relu, tanh, sigmoid, leaky_relu, "
                         "elu, ... (default: relu)", "NAME"),
    "init": Option(_text, "auto", "initialiser of the hidden Dense layers (default auto: "
                   "he_normal for relu-like activations, else glorot_uniform)", "NAME"),
    "loss": Option(_text, None, "loss name (default: cross_entropy for classification, mse "
                   "for regression; also nll, cross_entropy_with_logits, multi_margin, bce, "
                   "bce_with_logits, hinge, mae, huber, squared_error)", "NAME"),
    "optimizer": Option(_text, "adam", "sgd, momentum, adam, adamw or rmsprop (default: adam)",
                        "NAME"),
    "lr": Option(_positive, None, "learning rate (default: the optimiser's, e.g. 0.001 for "
                 "adam, 0.1 for sgd)", "RATE"),
    "weight_decay": Option(_non_negative, None, "L2 weight decay λ on the weights (default: "
                           "the optimiser's: 0, 0.01 for adamw)", "LAMBDA"),
    "clip_norm": Option(_optional_positive, None, "clip the gradient to this global norm",
                        "NORM"),
    "epochs": Option(_positive_int, 100, "training epochs (default: 100)", "N"),
    "batch_size": Option(_batch_size, 32, "samples per step, or 'full' for batch gradient "
                         "descent (default: 32)", "N"),
    "validation_split": Option(_fraction, 0.1, "fraction of the rows held out at random for "
                               "validation, 0 for none (default: 0.1)", "FRACTION"),
    "early_stopping": Option(_switch, None, "stop when the validation loss has not improved "
                             "for --patience epochs and keep the weights of the best epoch "
                             "(default: on when there is a validation split)", flag=True),
    "patience": Option(_positive_int, 10, "epochs without improvement before early stopping "
                       "(default: 10)", "N"),
    "seed": Option(_non_negative_int, 0, "seed of the initial weights, the validation split "
                   "and the shuffling (default: 0)", "N"),
    "dtype": Option(_choice("float32", "float64"), "float32", "float32 (default) or float64",
                    "DTYPE"),
    "categorical": Option(_names, [], "numeric-looking columns to one-hot encode anyway "
                          "(e.g. integer codes)", "COLS"),
    "drop": Option(_names, [], "columns to ignore (identifiers, leaks)", "COLS"),
    "checkpoint": Option(_text, None, "write a resumable checkpoint here after every epoch "
                         "(without it, Ctrl-C still writes MODEL.ckpt to resume from)", "FILE"),
    "resume": Option(_text, None, "continue an interrupted run from this checkpoint (same "
                     "data and options)", "FILE"),
    "quiet": Option(_switch, False, "no progress bar or per-epoch lines", flag=True,
                    short="-q"),
    "log_format": Option(_choice("bar", "plain", "json"), None, "progress while training: "
                         "bar (a progress bar), plain (a line per epoch) or json (a JSON "
                         "object per epoch), on stderr (default: bar on a terminal, else "
                         "plain)", "FORMAT"),
    "log_file": Option(_text, None, "write a CSV here with a row per epoch: epoch, every "
                       "figure (loss, val_loss, ...), seconds; written as each epoch ends",
                       "FILE.csv"),
    "diagnostics": Option(_switch, True, "watch gradient health while training and warn about "
                          "vanishing/exploding gradients, saturated or dead units (default: on)",
                          flag=True),
    "distributed": Option(_switch, False, "data-parallel training over MPI: launch as "
                          "'mpiexec -n P ffbp train DATA ... --distributed'; each process "
                          "reads only its own rows (Parquet row groups or CSV byte ranges); "
                          "needs ffbp[mpi]", flag=True),
    "report": Option(_text, None, "write DIR/report.html: curves, diagnostics, network "
                     "drawing and settings, self-contained; needs matplotlib: pip install "
                     "\"ffbp[plots]\"", "DIR"),
}

#: Common other names of options, for the "did you mean" hint of an unknown config key.
SYNONYMS = {"learning_rate": "lr", "optimiser": "optimizer", "layers": "hidden",
            "hidden_layers": "hidden", "n_epochs": "epochs", "batch": "batch_size",
            "label": "target", "l2": "weight_decay", "out": "output", "model": "output"}


def add_train_arguments(parser) -> None:
    """One argparse argument per option; every default is None so that the values given on
    the command line can be told apart from the config file's and the built-in ones."""
    import argparse

    for key, opt in TRAIN_OPTIONS.items():
        names = ([opt.short] if opt.short else []) + [f"--{key.replace('_', '-')}"]
        if opt.flag:
            parser.add_argument(*names, dest=key, action=argparse.BooleanOptionalAction,
                                default=None, help=opt.help)
        else:
            parser.add_argument(*names, dest=key, default=None, metavar=opt.metavar,
                                help=opt.help)


def read_config(path) -> dict:
    """The checked options of a TOML config file, keyed like ``TRAIN_OPTIONS``."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:                                                     # pragma: no cover
        try:
            import tomli as tomllib
        except ImportError:
            raise FFBPError('reading a --config file on Python < 3.11 needs tomli: '
                            'pip install "ffbp[cli]"') from None
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise FFBPError(f"config file not found: {path}") from None
    except OSError as exc:
        raise FFBPError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    table = data.pop("train", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'train' must be a table ([train]), got {table!r}")
    values = {}
    for where, items in (("", data), ("[train] ", table)):
        for raw_key, value in items.items():
            key = raw_key.replace("-", "_")
            if key not in TRAIN_OPTIONS:
                close = ([SYNONYMS[key]] if key in SYNONYMS else
                         difflib.get_close_matches(key, TRAIN_OPTIONS, n=1, cutoff=0.6))
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"{path}: unknown key {where}{raw_key!r}{hint}; known keys: "
                                  f"{', '.join(TRAIN_OPTIONS)}")
            if key in values:
                raise ConfigError(f"{path}: key {key!r} is given twice (top level and [train])")
            values[key] = TRAIN_OPTIONS[key].convert(value, f"{key!r} in {path}")
    return values


def resolve(args) -> dict:
    """Defaults, then the config file (``args.config``), then the flags given."""
    values = {key: opt.default for key, opt in TRAIN_OPTIONS.items()}
    if getattr(args, "config", None):
        values.update(read_config(args.config))
    for key, opt in TRAIN_OPTIONS.items():
        given = getattr(args, key, None)
        if given is not None:
            values[key] = opt.convert(given, f"--{key.replace('_', '-')}")
    for key in ("target", "output"):
        if values[key] is None:
            flag = "-o/--output" if key == "output" else "--target"
            raise ConfigError(f"ffbp train needs {flag} (or '{key}' in the --config file)")
    return values
