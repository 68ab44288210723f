"""fit's options: the common ones in its signature, the rest by name through FitOptions."""

import dataclasses
import inspect

import numpy as np
import pytest

import ffbp
from ffbp.errors import ConfigError
from ffbp.training import FitOptions, fit, train


def small_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    return X, y


def test_every_option_is_accepted_by_name_and_reaches_training():
    # Each FitOptions field is a keyword of fit; non-default values must change what
    # happens, so the option is not silently dropped on the way.
    X, y = small_problem()
    net = ffbp.mlp(3, (4,), 2, "tanh", output=ffbp.Softmax, seed=0)
    history = fit(net, X, y, loss="cross_entropy", epochs=50, batch_size=8, seed=1,
                  verbose=False, tol=1e9, n_iter_no_change=2, shuffle=False, metrics=False)
    assert len(history.metrics["loss"]) == 3       # tol=1e9: no epoch improves enough
    assert "accuracy" not in history.metrics       # metrics=False
    known = {f.name for f in dataclasses.fields(FitOptions)}
    assert {"sample_weight", "checkpoint", "resume", "on_nan", "early_stopping"} <= known


def test_an_unknown_option_names_the_closest_one():
    X, y = small_problem()
    net = ffbp.mlp(3, (4,), 2, output=ffbp.Softmax, seed=0)
    with pytest.raises(ConfigError, match=r"unknown option 'epoch' \(did you mean 'epochs'\?\)"):
        net.fit(X, y, loss="cross_entropy", epoch=3)
    with pytest.raises(ConfigError, match=r"'patiance' \(did you mean 'patience'\?\)"):
        fit(net, X, y, loss="cross_entropy", patiance=3)
    with pytest.raises(ConfigError, match="distributed is not a FitOptions field"):
        FitOptions.from_keywords("FitOptions", distributed=True)


def test_fit_and_train_with_an_options_object_train_the_same():
    X, y = small_problem()
    a = ffbp.mlp(3, (4,), 2, output=ffbp.Softmax, seed=0)
    b = ffbp.mlp(3, (4,), 2, output=ffbp.Softmax, seed=0)
    fit(a, X, y, "cross_entropy", ffbp.optim.sgd(0.1), epochs=3, batch_size=8, seed=2,
        verbose=False, validation_split=0.25)
    options = FitOptions(epochs=3, batch_size=8, seed=2, verbose=False, validation_split=0.25)
    train(b, X, y, "cross_entropy", ffbp.optim.sgd(0.1), options)
    np.testing.assert_array_equal(a.flat_values, b.flat_values)


def test_fit_keeps_its_signature_short():
    # The house rule (issue 14): no public signature over 12 parameters; the long tail of
    # options is FitOptions' fields, written once.
    parameters = inspect.signature(fit).parameters.values()
    named = [p for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD]
    assert len(named) <= 12
