"""``Session.snapshot``: what the page draws, from one forward pass over the plane's grid.

The grid's n × n points (row 0 at the top) become network inputs once per data set and grid
size (cached, with their pictures); each snapshot then runs one recorded forward pass
(``backprop.forward`` with a ``Recorder``), which gives every hidden unit's activation h over
the grid at once, and the output y: P(class 1) for classification, the value for regression.

Numbers go to the page rounded to ``DIGITS`` decimals: the pictures need far less, and short
numbers make the JSON several times smaller and faster to send. ``quantize=True`` sends the
pictures as integers in units of 1/``SCALE`` instead (``"scale": 1000`` in the snapshot; the
page divides): JSON writes integers more than twice as fast as floats, which matters for
the largest networks (6 hidden layers of 8 units: about 140,000 numbers per snapshot).
"""

from __future__ import annotations

import numpy as np

from .. import backprop
from ..layers.dense import Dense
from .data import grid_points
from .errors import PlaygroundError

DIGITS = 3
SCALE = 10 ** DIGITS
MAX_GRID = 200


def _picture(values, quantize: bool = False) -> list:
    # JSON has no NaN or infinity (the page's JSON.parse would fail): an overflowing
    # network draws as a large finite value instead.
    if quantize:
        big = 2.0 ** 62 / SCALE
        scaled = np.clip(np.nan_to_num(values, nan=0.0), -big, big) * SCALE
        return np.rint(scaled).astype(np.int64).tolist()
    return np.round(np.nan_to_num(values, nan=0.0, posinf=1e300, neginf=-1e300),
                    DIGITS).tolist()


def finite(value):
    """A float for JSON: None where it is NaN or infinite."""
    return float(value) if np.isfinite(value) else None


def _grid(session, n, quantize):
    """(inputs over the grid (n·n, n_inputs), their pictures), cached per data and n."""
    key = (n, session.points_version, id(session.data), quantize)
    cache = session.grid_cache
    if cache is None or cache[0] != key:
        d = session.data
        X = d.to_inputs(grid_points(d.xlim, d.ylim, n))
        cache = session.grid_cache = (key, X, [_picture(X[:, k], quantize)
                                                  for k in range(X.shape[1])])
    return cache[1], cache[2]


def snapshot(session, n: int = 50, quantize: bool = False) -> dict:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= MAX_GRID:
        raise PlaygroundError(f"grid must be an integer from 2 to {MAX_GRID}, got {n!r}")
    net, d = session.network, session.data
    if not isinstance(quantize, bool):
        raise PlaygroundError(f"quantize must be true or false, got {quantize!r}")
    X, inputs = _grid(session, int(n), quantize)
    record = backprop.Recorder()
    Y = backprop.forward(net, X, recorder=record)
    dense = [k for k, layer in enumerate(net.layers) if isinstance(layer, Dense)]
    # hidden layer k's pictures: the output of the block Dense → activation, i.e. the input
    # of the next Dense layer
    neurons = [[_picture(h, quantize) for h in record.layers[nxt - 1].output.T]
               for nxt in dense[1:]]
    train, test = session.losses()
    status = session.status
    curve = session.curve
    return {
        "epoch": status["epoch"], "steps": status["steps"],
        "loss_train": finite(train), "loss_test": finite(test),
        "curve": {"steps": list(curve.x), "train": [finite(v) for v in curve.ys[0]],
                  "test": [finite(v) for v in curve.ys[1]]},
        "layout": [net.n_features, *(net.layers[k].out_features for k in dense)],
        "features": list(d.inputs),
        "weights": [net.layers[k].W.value.tolist() for k in dense],
        "biases": [net.layers[k].b.value.tolist() for k in dense],
        "grid": {"n": int(n), "x": list(d.xlim), "y": list(d.ylim)},
        "output": _picture(Y[:, 0], quantize),
        "scale": SCALE if quantize else 1,
        "inputs": inputs,
        "neurons": neurons,
        "health": session.health.as_dict(),
        "diverged": status["diverged"],
    }
