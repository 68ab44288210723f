"""The playground's data: points of the plane (x₁, x₂) with a target, drawn from a seed.

Six generators after TensorFlow Playground's (written here from their geometry). Classes
are 1 ("blue", positive) and 0 ("orange"); regression targets lie in [−1, 1] (± the noise).
The points lie in the square [−6, 6]² the page draws (``EXTENT``), except a few that noise
or a wide Gaussian pushes out. ``noise`` is a percentage 0 … 50; below, ν is that fraction
(0 … 0.5):

* circle — class 1 uniform in the disc r ≤ 2.5, class 0 in the ring 3.5 ≤ r ≤ 5; noise moves
  each point by up to ±5ν in x₁ and x₂ (±2.5 at 50 %), so that the classes overlap.
* xor — x₁, x₂ uniform in [−5, 5] kept 0.3 away from the axes; class 1 where x₁x₂ > 0
  (quadrants I and III); noise moves points as for the circle.
* gauss — two normal clusters around (2, 2) (class 1) and (−2, −2) (class 0) with standard
  deviation 0.5 + 3ν.
* spiral — two interleaved arms r = 5s, θ = 3.5π s + φ for s from 0 to 1 (φ = 0 for class 1,
  π for class 0), x₁ = r sin θ, x₂ = r cos θ; noise moves points by up to ±2ν.
* plane — x₁, x₂ uniform in [−6, 6], t = (x₁ + x₂)/12, plus uniform ±ν.
* multigauss — x₁, x₂ uniform in [−6, 6], t = the sum of six signed Gaussian bumps
  (``BUMPS``), clipped to [−1, 1], plus uniform ±ν.

The same (name, n_points, noise, seed) always gives the same points; ``split`` then draws the
train/test split from the seed too.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import PlaygroundError

CLASSIFICATION = ("circle", "xor", "gauss", "spiral")
REGRESSION = ("plane", "multigauss")
EXTENT = 6.0
RADIUS = 5.0
#: multigauss: (centre x₁, centre x₂, sign) of each bump, σ = 1.6.
BUMPS = ((-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0),
         (-4.0, -2.5, -1.0), (0.0, -2.5, 1.0), (4.0, -2.5, -1.0))
BUMP_SIGMA = 1.6


class Split(NamedTuple):
    """Points (n, 2) and targets (n,) of the training and the test set, float64."""

    X_train: np.ndarray
    t_train: np.ndarray
    X_test: np.ndarray
    t_test: np.ndarray


def problem_of(name: str) -> str:
    """"classification" or "regression" for a dataset name."""
    if name in CLASSIFICATION:
        return "classification"
    if name in REGRESSION:
        return "regression"
    raise PlaygroundError(f"unknown dataset {name!r}: use one of "
                          f"{', '.join(CLASSIFICATION + REGRESSION)}")


def generate(name: str, n_points: int = 500, noise: float = 0, seed: int = 0):
    """(X, t): X (n_points, 2) the points, t (n_points,) the targets (0/1 or in [−1, 1])."""
    problem_of(name)
    if not 0 <= noise <= 50:
        raise PlaygroundError(f"noise must be a percentage from 0 to 50, got {noise!r}")
    if n_points < 2:
        raise PlaygroundError(f"n_points must be at least 2, got {n_points!r}")
    rng = np.random.default_rng(seed)
    X, t = _GENERATORS[name](rng, int(n_points), noise / 100.0)
    return X.astype(np.float64), t.astype(np.float64)


def split_rows(n: int, train_ratio: float = 50, seed: int = 0) -> tuple:
    """(training rows, test rows) of n: shuffled by ``seed``, round(n·ratio/100) to train
    (at least one to each side), the rest to test."""
    n_train = min(max(int(round(n * train_ratio / 100.0)), 1), n - 1)
    # Its own stream, so that the split does not shift when a generator draws more numbers.
    order = np.random.default_rng([seed, 1]).permutation(n)
    return order[:n_train], order[n_train:]


def split(X, t, train_ratio: float = 50, seed: int = 0) -> Split:
    """The points cut by ``split_rows``."""
    a, b = split_rows(len(X), train_ratio, seed)
    return Split(X[a], t[a], X[b], t[b])


def make(name: str, n_points: int = 500, noise: float = 0, train_ratio: float = 50,
         seed: int = 0) -> Split:
    """``generate`` then ``split``: the playground's data for one configuration."""
    X, t = generate(name, n_points, noise, seed)
    return split(X, t, train_ratio, seed)


# -- the generators: (rng, n, noise in [0, 0.5]) -> (X, t) ------------------------------

def _halves(n):
    return n // 2, n - n // 2


def _jitter(rng, X, scale):
    return X + rng.uniform(-scale, scale, size=X.shape)


def _disc(rng, n, r_low, r_high):
    # sqrt of a uniform radius² spreads points evenly over the area, not crowded at the centre
    r = np.sqrt(rng.uniform(r_low ** 2, r_high ** 2, n))
    angle = rng.uniform(0, 2 * np.pi, n)
    return np.column_stack([r * np.sin(angle), r * np.cos(angle)])


def _circle(rng, n, noise):
    n1, n0 = _halves(n)
    X = np.vstack([_disc(rng, n1, 0.0, 0.5 * RADIUS), _disc(rng, n0, 0.7 * RADIUS, RADIUS)])
    t = np.r_[np.ones(n1), np.zeros(n0)]
    return _jitter(rng, X, RADIUS * noise), t


def _xor(rng, n, noise):
    X = rng.uniform(-RADIUS, RADIUS, size=(n, 2))
    X += 0.3 * np.where(X >= 0, 1.0, -1.0)           # keep the points off the axes
    t = (X[:, 0] * X[:, 1] > 0).astype(float)
    return _jitter(rng, X, RADIUS * noise), t


def _gauss(rng, n, noise):
    n1, n0 = _halves(n)
    std = 0.5 + 3.0 * noise
    X = np.vstack([rng.normal(2.0, std, (n1, 2)), rng.normal(-2.0, std, (n0, 2))])
    return X, np.r_[np.ones(n1), np.zeros(n0)]


def _spiral(rng, n, noise):
    arms, labels = [], []
    for count, phase, label in zip(_halves(n), (0.0, np.pi), (1.0, 0.0), strict=True):
        s = np.arange(count) / max(count, 1)
        r, theta = RADIUS * s, 3.5 * np.pi * s + phase
        arms.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        labels.append(np.full(count, label))
    return _jitter(rng, np.vstack(arms), 2.0 * noise), np.concatenate(labels)


def _plane(rng, n, noise):
    X = rng.uniform(-EXTENT, EXTENT, size=(n, 2))
    t = (X[:, 0] + X[:, 1]) / (2 * EXTENT)
    return X, t + rng.uniform(-noise, noise, n)


def multigauss_surface(X) -> np.ndarray:
    """The noise-free multigauss target at the points X (n, 2), in [−1, 1]."""
    t = np.zeros(len(X))
    for cx, cy, sign in BUMPS:
        d2 = (X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2
        t += sign * np.exp(-d2 / (2 * BUMP_SIGMA ** 2))
    return np.clip(t, -1.0, 1.0)


def _multigauss(rng, n, noise):
    X = rng.uniform(-EXTENT, EXTENT, size=(n, 2))
    return X, multigauss_surface(X) + rng.uniform(-noise, noise, n)


_GENERATORS = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral,
               "plane": _plane, "multigauss": _multigauss}
