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


def test_estimators_pickled_by_the_previous_code_unpickle_and_predict_the_same():
    """tests/sklearn/fixtures/estimators_a884f38.pkl holds four small fitted estimators and
    their predictions, pickled by ffbp at commit a884f38, when the losses lived in
    ffbp.sklearn._losses (written by `git archive a884f38 ffbp` into a scratch folder, then
    fitting MLPClassifier / MLPRegressor(hidden_layer_sizes=(3,), max_iter=5,
    random_state=0) on 12 rows and pickling {"X": X, "estimators": {name: (est, predict)}})."""
    import pickle
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / "estimators_a884f38.pkl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # another scikit-learn version's pickle
        data = pickle.loads(path.read_bytes())
    assert sorted(data["estimators"]) == ["binary", "multi-class", "poisson", "squared error"]
    for name, (est, predicted) in data["estimators"].items():
        if name in ("binary", "multi-class"):
            np.testing.assert_array_equal(est.predict(data["X"]), predicted)
        else:   # float64 sums of 3-4 products, possibly rounded in another order by this
            # machine's BLAS than by the one that wrote the file: a few ulps at most
            np.testing.assert_allclose(est.predict(data["X"]), predicted, rtol=1e-12,
                                       atol=1e-15)
