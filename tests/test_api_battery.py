"""A table-driven battery of bad arguments at the public API: every call either works (the
value is a valid one) or raises an ffbp error (``FFBPError``); never a NumPy or Python
exception from inside, never a bad value silently accepted.

Run ``python tests/test_api_battery.py`` for the counts.
"""

from __future__ import annotations

import math
import sys

import numpy as np

import ffbp
from ffbp import optim
from ffbp.errors import FFBPError

X = np.arange(12.0).reshape(4, 3) / 10
Y = np.ones((4, 2))

#: Bad (or borderline) values, by short name.
VALUES = {
    "str": "x", "None": None, "nan": math.nan, "inf": math.inf, "-inf": -math.inf,
    "-1": -1, "0": 0, "1.5": 1.5, "1e12": 10**12, "2**70": 2**70, "ragged": [[1, 2], [3]],
    "list": [1, 2], "complex": 1 + 2j, "True": True, "object": object(),
    "complex rows": np.full((4, 3), 1 + 1j), "2-D": np.ones((2, 2)),
}


def rows(v, k):
    """A 2-D array value cut to the k columns a target takes (k=0: the first column as a
    1-D array), so that array values reach the check they are for, not a width check."""
    if isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[0] == 4:
        return v[:, 0] if k == 0 else v[:, :k]
    return v


def net():
    return ffbp.Network([ffbp.Dense(3, 2)])


def fit(**kwargs):
    return lambda v: net().fit(**{"X": X, "y": Y, "epochs": 1, "verbose": False,
                                  **{k: (v if a is None else a) for k, a in kwargs.items()}})


_fit_kw = {"X": X, "y": Y, "epochs": 1, "verbose": False}

#: target -> (call taking the value, names of the values that are valid for it)
TARGETS = {
    "Network(layers=v)": (lambda v: ffbp.Network(v), set()),
    "Network(seed=v)": (lambda v: ffbp.Network([ffbp.Dense(3, 2)], seed=v),
                        {"None", "0", "1e12", "2**70"}),
    "Network(dtype=v)": (lambda v: ffbp.Network([ffbp.Dense(3, 2)], dtype=v), {"None"}),
    "Dense(v, 2)": (lambda v: ffbp.Dense(v, 2), set()),
    "Dense(3, v)": (lambda v: ffbp.Dense(3, v), set()),
    "Dense(bias=v)": (lambda v: ffbp.Dense(3, 2, bias=v), {"True"}),
    "Dense(init=v)": (lambda v: ffbp.Dense(3, 2, init=v), set()),
    "Dense(seed=v)": (lambda v: ffbp.Dense(3, 2, seed=v), {"None", "0", "1e12", "2**70"}),
    "LeakyReLU(v)": (lambda v: ffbp.LeakyReLU(v), {"0", "1.5", "1e12", "2**70"}),
    "ELU(v)": (lambda v: ffbp.ELU(v), {"1.5", "1e12", "2**70"}),
    "activations.get(v)": (lambda v: ffbp.layers.activations.get(v), set()),
    "BatchNorm(v)": (lambda v: ffbp.BatchNorm(v), set()),
    "BatchNorm(momentum=v)": (lambda v: ffbp.BatchNorm(3, momentum=v), {"0"}),
    "BatchNorm(eps=v)": (lambda v: ffbp.BatchNorm(3, eps=v), {"1.5", "1e12", "2**70"}),
    "Dropout(v)": (lambda v: ffbp.Dropout(v), {"0"}),
    "Dropout(seed=v)": (lambda v: ffbp.Dropout(0.5, seed=v), {"None", "0", "1e12", "2**70"}),
    "init.small_normal(v)": (lambda v: ffbp.init.small_normal(v), {"0", "1.5", "1e12",
                                                                    "2**70"}),
    "init.constant(v)": (lambda v: ffbp.init.constant(v), {"-1", "0", "1.5", "1e12",
                                                           "2**70"}),
    "forward(v)": (lambda v: net().forward(v), set()),
    "predict(v)": (lambda v: net().predict(v), set()),
    "fit(X=v)": (lambda v: net().fit(**{**_fit_kw, "X": v}), set()),
    "fit(y=v)": (lambda v: net().fit(**{**_fit_kw, "y": rows(v, 2)}), set()),
    "fit(sample_weight=v)": (lambda v: net().fit(**_fit_kw, sample_weight=rows(v, 0)),
                             {"None"}),
    "loss(Y, v)": (lambda v: ffbp.losses.get("mse")(Y, rows(v, 2)), set()),
    # (huge epoch counts are valid and would train for ever: not tried)
    "fit(epochs=v)": (lambda v: net().fit(**{**_fit_kw, "epochs": v}), {"1e12", "2**70"}),
    "fit(batch_size=v)": (lambda v: net().fit(**_fit_kw, batch_size=v),
                          {"None", "1e12", "2**70"}),
    "fit(seed=v)": (lambda v: net().fit(**_fit_kw, seed=v), {"None", "0", "1e12", "2**70"}),
    "fit(loss=v)": (lambda v: net().fit(**_fit_kw, loss=v), set()),
    "fit(optimizer=v)": (lambda v: net().fit(**_fit_kw, optimizer=v), {"None"}),
    "optim.sgd(v)": (lambda v: optim.sgd(v), {"1.5", "1e12", "2**70"}),
    "optim.sgd(momentum=v)": (lambda v: optim.sgd(0.1, momentum=v), {"0", "None"}),
    "optim.adam(v)": (lambda v: optim.adam(v), {"1.5", "1e12", "2**70"}),
    "optim.adam(b1=v)": (lambda v: optim.adam(b1=v), {"0"}),
    "optim.adam(eps=v)": (lambda v: optim.adam(eps=v), {"0", "1.5", "1e12", "2**70"}),
    "optim.rmsprop(decay=v)": (lambda v: optim.rmsprop(decay=v), {"0"}),
    "optim.adamw(weight_decay=v)": (lambda v: optim.adamw(weight_decay=v),
                                    {"0", "None", "1.5", "1e12", "2**70"}),
    "optim.clip(v)": (lambda v: optim.clip(v), {"1.5", "1e12", "2**70"}),
    "optim.clip_by_global_norm(v)": (lambda v: optim.clip_by_global_norm(v),
                                     {"1.5", "1e12", "2**70"}),
    "optim.cosine(0.1, v)": (lambda v: optim.cosine(0.1, v), {"1e12", "2**70"}),
    "optim.step_decay(0.1, v)": (lambda v: optim.step_decay(0.1, v), {"1e12", "2**70"}),
    "data.ArraySource(v, y)": (lambda v: ffbp.data.ArraySource(v, np.ones(4)), set()),
    "data.ArraySource(X, v)": (lambda v: ffbp.data.ArraySource(X, rows(v, 0)), set()),
    "data.NpySource(v, v)": (lambda v: ffbp.data.NpySource(v, v), set()),
}

#: Errors that are ffbp's on purpose without being FFBPErrors: a non-layer in a Network
#: is a TypeError (as Python's own for a wrong type), with ffbp's message.
DELIBERATE = {TypeError: "not an ffbp layer"}


def outcome(call, value) -> str:
    """"ok", "clean" (an ffbp error) or "foreign: <type>: <message>"."""
    try:
        with np.errstate(all="raise"):
            call(value)
    except FFBPError:
        return "clean"
    except Exception as exc:  # the battery is looking for exactly these
        if type(exc) in DELIBERATE and DELIBERATE[type(exc)] in str(exc):
            return "clean"
        return f"foreign: {type(exc).__name__}: {str(exc)[:100]}"
    return "ok"


def run():
    """[(target, value name, outcome, expected "ok" or "error")] for every pair."""
    import warnings

    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a ComplexWarning is a silent drop
        for target, (call, valid) in TARGETS.items():
            for name, value in VALUES.items():
                if target == "fit(epochs=v)" and name in valid:
                    continue
                result = outcome(call, value)
                rows.append((target, name, result, "ok" if name in valid else "error"))
    return rows


def problems(results):
    """The pairs that went wrong: foreign exceptions, bad values accepted, good refused."""
    return [r for r in results if r[2].startswith("foreign")
            or (r[2] == "ok") != (r[3] == "ok")]


def test_every_bad_argument_gets_an_ffbp_error_and_every_good_one_works():
    bad = problems(run())
    assert not bad, "\n".join(f"{t} with {v}: {o} (expected {e})" for t, v, o, e in bad)


if __name__ == "__main__":
    results = run()
    for t, v, o, e in problems(results):
        print(f"{t:32} {v:8} {o[:100]}  (expected {e})")
    foreign = sum(r[2].startswith("foreign") for r in results)
    silent = sum(r[2] == "ok" and r[3] == "error" for r in results)
    refused = sum(r[2] != "ok" and r[3] == "ok" for r in results)
    clean = sum(r[2] == "clean" and r[3] == "error" for r in results)
    print(f"cases {len(results)}: clean errors {clean}, foreign exceptions {foreign}, "
          f"bad values accepted {silent}, good values refused {refused}", file=sys.stderr)
