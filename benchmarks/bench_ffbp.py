"""ffbp: one epoch is one ``net.fit(..., epochs=1)`` call, input checks and shuffle included
(that is what a user pays)."""

from __future__ import annotations

import itertools

import numpy as np

import ffbp
from ffbp import Dense, ReLU, Softmax

from .workload import LEARNING_RATE


def _trainer(net, X, y, loss, batch_size):
    opt = ffbp.optim.adam(LEARNING_RATE)     # the same object each call: Adam state carries on
    seeds = itertools.count()

    def epoch():
        net.fit(X, y, loss=loss, optimizer=opt, epochs=1, batch_size=batch_size,
                verbose=False, metrics=False, seed=next(seeds))
    return epoch


def classifier():
    return ffbp.Network([Dense(784, 256), ReLU(), Dense(256, 128), ReLU(), Dense(128, 10),
                         Softmax()], dtype=np.float32)


def classifier_epoch(X, y, batch_size):
    return _trainer(classifier(), X, y, "cross_entropy", batch_size)


def regressor_epoch(X, y, batch_size):
    net = ffbp.Network([Dense(20, 64), ReLU(), Dense(64, 64), ReLU(), Dense(64, 1)],
                       dtype=np.float32)
    return _trainer(net, X, y, "mse", batch_size)


def predictor(X, y):
    """``net.predict`` (class decisions) on all of X, after a short fit on 2,048 rows."""
    net = classifier()
    _trainer(net, X[:2048], y[:2048], "cross_entropy", 128)()
    return lambda: net.predict(X)
