"""The playground's generators: shapes, classes, balance, determinism, what noise does, and
each dataset's geometry checked against its description (not against the generator)."""

from __future__ import annotations

import numpy as np
import pytest

from ffbp.playground import datasets, features
from ffbp.playground.errors import PlaygroundError

ALL = datasets.CLASSIFICATION + datasets.REGRESSION


@pytest.mark.parametrize("name", ALL)
def test_shapes_and_targets(name):
    X, t = datasets.generate(name, 301, noise=10, seed=1)
    assert X.shape == (301, 2) and t.shape == (301,)
    assert X.dtype == t.dtype == np.float64
    assert np.isfinite(X).all() and np.isfinite(t).all()
    if name in datasets.CLASSIFICATION:
        assert set(np.unique(t)) == {0.0, 1.0}
    else:
        assert t.min() >= -1.1 and t.max() <= 1.1 and t.std() > 0.1


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_points_other_seed_other_points(name):
    a = datasets.generate(name, 200, noise=20, seed=5)
    b = datasets.generate(name, 200, noise=20, seed=5)
    c = datasets.generate(name, 200, noise=20, seed=6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("name", ["circle", "gauss", "spiral"])
def test_two_classes_are_balanced_exactly(name):
    _, t = datasets.generate(name, 501, seed=0)
    assert t.sum() in (250, 251)


def test_xor_is_balanced_roughly_and_labels_follow_the_quadrants():
    X, t = datasets.generate("xor", 2000, noise=0, seed=0)
    assert 0.45 < t.mean() < 0.55
    np.testing.assert_array_equal(t, (X[:, 0] * X[:, 1] > 0).astype(float))
    assert np.abs(X).min() >= 0.3                # kept off the axes


def test_circle_geometry_without_noise():
    X, t = datasets.generate("circle", 1000, noise=0, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r[t == 1].max() <= 2.5 and r[t == 0].min() >= 3.5 and r.max() <= 5.0


def test_gauss_clusters_sit_at_their_centres():
    X, t = datasets.generate("gauss", 4000, noise=0, seed=0)
    np.testing.assert_allclose(X[t == 1].mean(axis=0), [2, 2], atol=0.05)
    np.testing.assert_allclose(X[t == 0].mean(axis=0), [-2, -2], atol=0.05)
    assert X[t == 1].std() == pytest.approx(0.5, rel=0.05)


def test_spiral_arms_are_point_mirrors_of_each_other():
    X, t = datasets.generate("spiral", 400, noise=0, seed=0)
    # the phase π arm is the first arm turned by 180°: x → −x
    np.testing.assert_allclose(X[t == 0], -X[t == 1], atol=1e-12)


def test_plane_target_without_noise():
    X, t = datasets.generate("plane", 300, noise=0, seed=0)
    np.testing.assert_allclose(t, (X[:, 0] + X[:, 1]) / 12, rtol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_noise_moves_points_or_targets_and_zero_noise_keeps_them(name):
    X0, t0 = datasets.generate(name, 400, noise=0, seed=3)
    X5, t5 = datasets.generate(name, 400, noise=50, seed=3)
    moved = np.abs(X5 - X0).mean() + np.abs(t5 - t0).mean()
    assert moved > 0.1


def test_noise_makes_circle_classes_overlap():
    def overlap(noise):
        X, t = datasets.generate("circle", 2000, noise=noise, seed=0)
        r = np.hypot(X[:, 0], X[:, 1])
        return np.mean(r[t == 1] > 3.0) + np.mean(r[t == 0] < 3.0)

    assert overlap(0) == 0 and overlap(50) > 0.1


def test_split_sizes_and_disjointness():
    X, t = datasets.generate("circle", 500, seed=0)
    s = datasets.split(X, t, 30, seed=0)
    assert len(s.X_train) == 150 and len(s.X_test) == 350
    joined = np.vstack([s.X_train, s.X_test])
    assert len(np.unique(joined, axis=0)) == 500


def test_bad_arguments_name_what_is_wrong():
    with pytest.raises(PlaygroundError, match="unknown dataset 'moons'"):
        datasets.generate("moons")
    with pytest.raises(PlaygroundError, match="noise must be a percentage from 0 to 50"):
        datasets.generate("circle", noise=80)


def test_features_are_the_formulas():
    P = np.array([[1.5, -2.0], [0.0, 3.0]])
    names = features.check(["sinx2", "x1x2", "x1"])      # put into the page's order
    assert names == ["x1", "x1x2", "sinx2"]
    np.testing.assert_allclose(features.compute(names, P),
                               [[1.5, -3.0, np.sin(-2.0)], [0.0, 0.0, np.sin(3.0)]])
    with pytest.raises(PlaygroundError, match="unknown feature 'x3'"):
        features.check(["x1", "x3"])
    with pytest.raises(PlaygroundError, match="at least one"):
        features.check([])
