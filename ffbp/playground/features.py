"""The input features the playground computes from a point (x₁, x₂) of the plane.

    x1 = x₁,  x2 = x₂,  x1sq = x₁²,  x2sq = x₂²,  x1x2 = x₁x₂,  sinx1 = sin x₁,  sinx2 = sin x₂

A network given x1sq and x2sq can draw a circle with a single unit (x₁² + x₂² < r² is linear
in them); one given only x1 and x2 must build the curve from several hidden units. The
coordinates are used as they are (the plane spans [−6, 6]², as in TensorFlow Playground).
"""

from __future__ import annotations

import numpy as np

from .errors import PlaygroundError

#: Every feature's key, in the order the page lists them and the network takes them.
FEATURES = ("x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2")
#: How the page labels each.
LABELS = {"x1": "x₁", "x2": "x₂", "x1sq": "x₁²", "x2sq": "x₂²", "x1x2": "x₁x₂",
          "sinx1": "sin x₁", "sinx2": "sin x₂"}

_FORMULAS = {
    "x1": lambda a, b: a, "x2": lambda a, b: b,
    "x1sq": lambda a, b: a * a, "x2sq": lambda a, b: b * b, "x1x2": lambda a, b: a * b,
    "sinx1": lambda a, b: np.sin(a), "sinx2": lambda a, b: np.sin(b),
}


def check(names) -> list[str]:
    """``names`` as a list in ``FEATURES`` order, or a PlaygroundError naming what is wrong."""
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise PlaygroundError(f"features must be a list of names from {', '.join(FEATURES)}, "
                              f"got {names!r}")
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise PlaygroundError(f"features: unknown feature {unknown[0]!r}; use names from "
                              f"{', '.join(FEATURES)}")
    if not names:
        raise PlaygroundError(f"features must hold at least one of {', '.join(FEATURES)}")
    if len(set(names)) != len(names):
        raise PlaygroundError(f"features: {names!r} names a feature twice")
    return [n for n in FEATURES if n in names]


def compute(names, XY) -> np.ndarray:
    """The feature matrix (n, len(names)) of the points XY (n, 2), float64, in ``names``
    order (check them first with ``check``)."""
    XY = np.asarray(XY, dtype=np.float64)
    a, b = XY[:, 0], XY[:, 1]
    out = np.empty((len(XY), len(names)))
    for k, name in enumerate(names):
        out[:, k] = _FORMULAS[name](a, b)
    return out
