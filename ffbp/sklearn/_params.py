"""The estimators' hyper-parameters as one declarative table, checked when ``fit`` starts.

scikit-learn's contract is that ``__init__`` only stores its arguments; every value is
checked here, each by a small rule, and a wrong one raises ffbp's ``ConfigError`` (a
``ValueError``) in one line naming the parameter, what it must be, and what it got.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import lookup
from ..errors import ConfigError
from ..layers import ACTIVATIONS

try:
    from sklearn.utils._param_validation import InvalidParameterError as _SklearnInvalid
except ImportError:                                   # pragma: no cover (moved or renamed)
    class _SklearnInvalid(ValueError, TypeError):
        pass


class InvalidParameterError(ConfigError, _SklearnInvalid):
    """A hyper-parameter value the estimator refuses: ffbp's ConfigError and also
    scikit-learn's InvalidParameterError (a ValueError and a TypeError), so that code
    written for scikit-learn's estimators catches it as it caught theirs."""


def _real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def interval(low, high, *, closed="left", integer=False, also=()):
    """A number in [low, high) (``closed`` "left", "right", "both" or "neither"; None for an
    open end), optionally an integer, or one of the values in ``also``."""
    lo_ok = (lambda v: v >= low) if closed in ("left", "both") else (lambda v: v > low)
    hi_ok = (lambda v: v <= high) if closed in ("right", "both") else (lambda v: v < high)
    left = "[" if closed in ("left", "both") else "("
    right = "]" if closed in ("right", "both") else ")"
    kind = "an integer" if integer else "a number"
    text = f"{kind} in {left}{low}, {'inf' if high is None else high}{right}"
    text += "".join(f" or {a!r}" for a in also)

    def check(value):
        if any(value is a or (isinstance(a, str) and isinstance(value, str) and value == a)
               or (_real(value) and _real(a) and value == a) for a in also):
            return True
        if not _real(value) or (integer and not isinstance(value, numbers.Integral)):
            return False
        return (low is None or lo_ok(value)) and (high is None or hi_ok(value))

    return check, text


def options(*values):
    """One of the given strings."""
    return (lambda v: isinstance(v, str) and v in values,
            "one of " + ", ".join(repr(v) for v in values), values)


def boolean():
    return (lambda v: isinstance(v, (bool, np.bool_)) or v in (0, 1)), "True or False"


def anything(text="any value"):
    return (lambda v: True), text


def names(table, text, also=None):
    """A name ``lookup`` resolves in ``table`` (or any value ``also`` accepts)."""
    def check(value):
        if also is not None and also(value):
            return True
        if not isinstance(value, str):
            return False
        try:
            lookup(value, table, "name")
        except ConfigError:
            return False
        return True
    return check, text, tuple(table)


def hidden_sizes():
    def check(value):
        sizes = (value,) if isinstance(value, numbers.Integral) else value
        try:
            sizes = tuple(sizes)
        except TypeError:
            return False
        return all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
                   for s in sizes)
    return check, "a positive integer or a tuple of positive integers, e.g. (100,) or (64, 32)"


#: Every parameter both estimators share: (rule, text). The estimator's own table adds to it.
SHARED = {
    "hidden_layer_sizes": hidden_sizes(),
    "activation": names(ACTIVATIONS, f"one of the names {sorted(ACTIVATIONS)}"),
    "solver": options("lbfgs", "sgd", "adam"),
    "alpha": interval(0, None),
    "batch_size": interval(1, None, integer=True, also=("auto",)),
    "learning_rate": (*options("constant", "invscaling", "adaptive")[::2][:1],
                      "one of 'constant', 'invscaling', 'adaptive' (the schedule name; the "
                      "step size is learning_rate_init)",
                      ("constant", "invscaling", "adaptive")),
    "learning_rate_init": interval(0, None, closed="neither"),
    "power_t": interval(0, None),
    "max_iter": interval(1, None, integer=True),
    "shuffle": boolean(),
    "random_state": (lambda v: v is None or isinstance(v, np.random.RandomState)
                     or (isinstance(v, numbers.Integral) and 0 <= v < 2**32),
                     "None, an integer in [0, 2**32 - 1] or a numpy RandomState"),
    "tol": (interval(0, None)[0],
            "a number in [0, inf) (to train every epoch, pass n_iter_no_change=np.inf)"),
    "verbose": (lambda v: isinstance(v, (bool, np.bool_))
                or interval(0, None, integer=True)[0](v),
                "an integer in [0, inf) or True or False"),
    "warm_start": boolean(),
    "momentum": interval(0, 1, closed="both"),
    "nesterovs_momentum": boolean(),
    "early_stopping": boolean(),
    "validation_fraction": interval(0, 1),
    "beta_1": interval(0, 1),
    "beta_2": interval(0, 1),
    "epsilon": interval(0, None, closed="neither"),
    "n_iter_no_change": interval(1, None, integer=True, also=(np.inf,)),
    "max_fun": interval(1, None, integer=True),
    # ffbp's own
    "optimizer": anything(),
    "dtype": anything(),
    "batch_norm": boolean(),
    "dropout": interval(0, 1),
    "init": anything(),
    "callbacks": anything(),
}


def check_params(estimator, table: dict) -> None:
    """Raise InvalidParameterError (a ConfigError) for the first parameter of
    ``estimator`` that breaks its rule."""
    for name, (rule, text, *choices) in table.items():
        value = getattr(estimator, name)
        if rule(value):
            continue
        if choices and isinstance(value, str):
            try:
                lookup(value, dict.fromkeys(choices[0]), name)  # "did you mean" for names
            except ConfigError as exc:
                raise InvalidParameterError(str(exc)) from None
        raise InvalidParameterError(f"{type(estimator).__name__}: {name} must be {text}, "
                                    f"got {value!r}")
