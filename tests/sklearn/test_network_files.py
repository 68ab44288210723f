"""An estimator's ``network_`` saved with ``ffbp.save`` loads with ``ffbp.load``: the losses
on scikit-learn's scale it carries (ffbp/losses/sklearn_scale.py) are known to the model-file
reader, so the file is not a model that can be written but never read back."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ffbp
from ffbp.sklearn import MLPClassifier, MLPRegressor

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 3))

CASES = {
    "binary": (lambda: MLPClassifier(max_iter=20), (X[:, 0] > 0).astype(int), "LogLoss"),
    "multi-label": (lambda: MLPClassifier(max_iter=20),
                    np.c_[X[:, 0] > 0, X[:, 1] > 0].astype(int), "LogLoss"),
    "multi-class": (lambda: MLPClassifier(max_iter=20),
                    (X[:, 0] > 0).astype(int) + (X[:, 1] > 0), "SoftmaxLogLoss"),
    "squared error": (lambda: MLPRegressor(max_iter=20), X[:, 0], "HalfSquaredError"),
    "poisson": (lambda: MLPRegressor(loss="poisson", max_iter=20), np.abs(X[:, 0]),
                "HalfPoisson"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_saved_network_loads_with_its_loss_and_predicts_the_same(tmp_path, case):
    make, y, loss_name = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # ConvergenceWarning after 20 epochs
        est = make().fit(X, y)
    path = tmp_path / "net.ffbp"
    ffbp.save(est.network_, path)
    net = ffbp.load(path)
    assert type(net.loss).__name__ == loss_name
    np.testing.assert_array_equal(net.predict(X), est.network_.predict(X))
    Y, T = net.forward(X), np.asarray(y, dtype=float).reshape(len(X), -1)
    if loss_name == "SoftmaxLogLoss":
        T = np.eye(3)[y]
    np.testing.assert_array_equal(net.loss.values(Y, T), est.network_.loss.values(Y, T))


def test_the_loaded_binary_network_decides_a_half_as_scikit_learn_does(tmp_path):
    """The loss carries the decision rule: a probability of exactly 1/2 is class 0."""
    est = MLPClassifier(max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, (X[:, 0] > 0).astype(int))
    est.network_.flat_values[...] = 0.0            # every output exactly sigmoid(0) = 1/2
    path = tmp_path / "half.ffbp"
    ffbp.save(est.network_, path)
    np.testing.assert_array_equal(ffbp.load(path).predict(X), np.zeros(len(X), int))
