"""scikit-learn reference: MLPClassifier / MLPRegressor with the Adam solver, float32 input.
One epoch is one ``fit`` with ``max_iter=1`` (its initialisation is negligible)."""

from __future__ import annotations

import warnings

import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from .workload import LEARNING_RATE

VERSION = sklearn.__version__


def _trainer(model, X, y):
    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)     # max_iter=1 on purpose
            model.fit(X, y)
    return epoch


def _options(batch_size):
    return dict(solver="adam", batch_size=batch_size, max_iter=1,
                learning_rate_init=LEARNING_RATE, random_state=0)


def classifier_epoch(X, y, batch_size):
    return _trainer(MLPClassifier(hidden_layer_sizes=(256, 128), **_options(batch_size)), X, y)


def regressor_epoch(X, y, batch_size):
    return _trainer(MLPRegressor(hidden_layer_sizes=(64, 64), **_options(batch_size)), X, y)


def predictor(X, y):
    """``predict`` (class decisions) on all of X, after a short fit on 2,048 rows."""
    model = MLPClassifier(hidden_layer_sizes=(256, 128), **_options(128))
    _trainer(model, X[:2048], y[:2048])()
    return lambda: model.predict(X)
