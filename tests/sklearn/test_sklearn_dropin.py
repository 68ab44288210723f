"""Behaviour a drop-in replacement for scikit-learn's MLPClassifier / MLPRegressor must share
with it, checked against scikit-learn itself on the same data (and, where the outcome is
deterministic, the same weights)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import load_iris, make_multilabel_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from ffbp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


def _fitted_pair(ours, theirs, X, y, **params):
    """(scikit-learn's estimator, ffbp's) fitted briefly on (X, y) with the same params."""
    params = {"hidden_layer_sizes": (3,), "random_state": 0, "max_iter": 2, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return theirs(**params).fit(X, y), ours(**params).fit(X, y)


@pytest.mark.parametrize("kind", ["binary", "multilabel"])
def test_a_probability_of_one_half_predicts_the_negative_class(kind):
    # With every weight and bias 0 each sigmoid output is exactly σ(0) = 1/2; scikit-learn
    # decides "probability > 1/2", so it predicts classes_[0] (binary) and no label
    # (multi-label).
    if kind == "binary":
        X, y = load_iris(return_X_y=True)
        X, y = X[:100], np.where(y[:100] == 0, "no", "yes")
        expected = np.array(["no"] * 5)
    else:
        X, y = make_multilabel_classification(n_samples=40, n_classes=3, random_state=0)
        expected = np.zeros((5, 3), dtype=np.int64)
    reference, model = _fitted_pair(MLPClassifier, sk.MLPClassifier, X, y)
    for est in (reference, model):
        for W, b in zip(est.coefs_, est.intercepts_, strict=True):
            W[...], b[...] = 0.0, 0.0
    np.testing.assert_array_equal(reference.predict(X[:5]), expected)   # the rule itself
    np.testing.assert_array_equal(model.predict(X[:5]), expected)
    np.testing.assert_array_equal(model.predict_proba(X[:5]), reference.predict_proba(X[:5]))


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_validation_fraction_zero_is_valid_without_early_stopping(Estimator):
    # scikit-learn's constraint is [0, 1): 0 fits when nothing is held out, and is a
    # ValueError only once early stopping needs a held-out set.
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = Estimator(validation_fraction=0.0, max_iter=2, random_state=0).fit(X, y)
    assert model.n_iter_ == 2
    with pytest.raises(ValueError, match="validation_fraction"):
        Estimator(validation_fraction=0.0, early_stopping=True, max_iter=2).fit(X, y)


@pytest.mark.parametrize("how", ["assign the lists", "assign items", "assign a slice"])
def test_weights_set_by_hand_are_the_models(how):
    # scikit-learn keeps coefs_ / intercepts_ as plain lists that predict reads: assigning
    # them, or one of their items, changes the model. Weights copied from a scikit-learn
    # fit must then give scikit-learn's probabilities (float64, to rounding).
    X, y = load_iris(return_X_y=True)
    reference, model = _fitted_pair(MLPClassifier, sk.MLPClassifier, X, y,
                                    hidden_layer_sizes=(4, 3))
    coefs, intercepts = [W.copy() for W in reference.coefs_], \
        [b.copy() for b in reference.intercepts_]
    if how == "assign the lists":
        model.coefs_, model.intercepts_ = coefs, intercepts
    elif how == "assign items":
        for i in range(3):
            model.coefs_[i], model.intercepts_[i] = coefs[i], intercepts[i]
    else:
        model.coefs_[:], model.intercepts_[:] = coefs, intercepts
    for W, W_ref in zip(model.coefs_, coefs, strict=True):
        np.testing.assert_array_equal(W, W_ref)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


def test_weights_of_the_wrong_shape_are_refused_and_change_nothing():
    X, y = load_iris(return_X_y=True)
    _, model = _fitted_pair(MLPClassifier, sk.MLPClassifier, X, y)
    before = [W.copy() for W in model.coefs_]
    with pytest.raises(ValueError, match=r"coefs_\[1\] has shape \(3, 3\)"):
        model.coefs_ = [np.zeros((4, 3)), np.zeros((3, 2))]
    with pytest.raises(ValueError, match="one per layer"):
        model.intercepts_ = [np.zeros(3)]
    with pytest.raises(ValueError, match=r"coefs_\[0\] has shape \(4, 3\)"):
        model.coefs_[0] = np.zeros((3, 4))
    for W, W_before in zip(model.coefs_, before, strict=True):
        np.testing.assert_array_equal(W, W_before)


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_a_column_vector_y_warns_as_scikit_learn_does(Estimator):
    # y of shape (n, 1) is taken as (n,) with a DataConversionWarning, by both estimators.
    from sklearn.exceptions import DataConversionWarning

    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(DataConversionWarning, match="column-vector y"):
            model = Estimator(max_iter=2, random_state=0).fit(X, y[:, None].astype(float))
    assert model.predict(X[:4]).shape == (4,)


@pytest.mark.parametrize(("Estimator", "params"), [
    (MLPClassifier, {"alpha": -1.0}),
    (MLPClassifier, {"alpha": "x"}),
    (MLPClassifier, {"solver": "newton"}),
    (MLPClassifier, {"activation": "swish"}),
    (MLPClassifier, {"learning_rate": 0.1}),
    (MLPClassifier, {"max_iter": 5.0}),
    (MLPClassifier, {"batch_size": 0}),
    (MLPClassifier, {"hidden_layer_sizes": (3.0,)}),
    (MLPClassifier, {"n_iter_no_change": 0}),
    (MLPClassifier, {"beta_2": 1.0}),
    (MLPClassifier, {"warm_start": None}),
    (MLPRegressor, {"loss": "absolute_error"}),
    (MLPRegressor, {"validation_fraction": 1.0}),
    (MLPRegressor, {"random_state": -1}),
    (MLPRegressor, {"random_state": np.random.default_rng(0)}),
])
def test_bad_parameters_raise_what_scikit_learn_raises(Estimator, params):
    # scikit-learn raises InvalidParameterError, both a ValueError and a TypeError: code
    # catching either (or that class) catches ffbp's refusal too.
    X, y = load_iris(return_X_y=True)
    theirs = getattr(sk, Estimator.__name__)
    with pytest.raises(Exception) as reference:
        theirs(**{"max_iter": 2, **params}).fit(X, y)
    with pytest.raises(Exception) as ours:
        Estimator(**{"max_iter": 2, **params}).fit(X, y)
    assert isinstance(ours.value, reference.type)
    assert isinstance(ours.value, ValueError) and isinstance(ours.value, TypeError)


def test_early_stopping_with_no_finite_score_keeps_the_initial_weights():
    # Diverging from the first epoch, every validation score is NaN, never better than
    # the −inf it starts from: scikit-learn keeps the weights it started with (finite, no
    # error). ffbp's run ends at the divergence, with the same outcome.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 3)) * 1e150, rng.normal(size=50) * 1e150
    params = dict(hidden_layer_sizes=(3,), solver="sgd", learning_rate_init=1.0, max_iter=4,
                  early_stopping=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = sk.MLPRegressor(**params).fit(X, y)
    assert np.isnan(reference.validation_scores_).all()
    assert reference.best_validation_score_ == -np.inf

    class FirstWeights:                      # an ffbp callback: the weights fit starts from
        def on_train_begin(self, net, history):
            self.values = net.flat_values.copy()

    first = FirstWeights()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPRegressor(**params, callbacks=[first]).fit(X, y)
    assert np.isnan(model.validation_scores_).all()
    assert model.best_validation_score_ == -np.inf
    np.testing.assert_array_equal(model.network_.flat_values, first.values)


def test_the_classifier_names_its_loss_as_scikit_learn_does():
    assert MLPClassifier().loss == sk.MLPClassifier().loss == "log_loss"
    assert "loss" not in MLPClassifier().get_params()       # an attribute, not a parameter


@pytest.mark.parametrize("how", ["fit", "early stopping", "partial_fit", "lbfgs"])
def test_a_sparse_label_matrix_trains_and_predicts_sparse(how):
    # scikit-learn takes a multi-label y as a SciPy sparse matrix, learns from it what it
    # learns from the dense one, and predicts a CSR matrix of int64.
    import scipy.sparse

    X, Y = make_multilabel_classification(n_samples=60, n_classes=3, random_state=0)
    params = {"max_iter": 3, "random_state": 0}
    if how == "early stopping":
        params["early_stopping"] = True
    if how == "lbfgs":
        params["solver"] = "lbfgs"
    fit = "partial_fit" if how == "partial_fit" else "fit"
    extra = {"classes": [0, 1, 2]} if how == "partial_fit" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = getattr(sk.MLPClassifier(**params), fit)(
            X, scipy.sparse.csr_matrix(Y), **extra)
        sparse = getattr(MLPClassifier(**params), fit)(X, scipy.sparse.csc_matrix(Y), **extra)
        dense = getattr(MLPClassifier(**params), fit)(X, Y, **extra)
    expected = reference.predict(X)
    predicted = sparse.predict(X)
    assert type(predicted) is type(expected) and predicted.format == expected.format == "csr"
    assert predicted.dtype == expected.dtype and predicted.shape == expected.shape
    np.testing.assert_array_equal(sparse.classes_, reference.classes_)
    # the same data, the same seed: the sparse fit is the dense fit
    np.testing.assert_array_equal(sparse.network_.flat_values, dense.network_.flat_values)
    np.testing.assert_array_equal(predicted.toarray(), dense.predict(X))
    assert isinstance(dense.predict(X), np.ndarray)


def _loss_at(model, X, y, coefs, intercepts):
    """loss_ of one full-batch epoch started from the given weights: the objective at them
    (an SGD step of 1e-300 after the loss is taken leaves nothing to change it)."""
    model.set_params(solver="sgd", momentum=0.0, learning_rate_init=1e-300, alpha=0.0,
                     batch_size=len(X), shuffle=False, max_iter=1, warm_start=True)
    for W, b, W_new, b_new in zip(model.coefs_, model.intercepts_, coefs, intercepts,
                                  strict=True):
        W[...], b[...] = W_new, b_new
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y).loss_


def test_a_confidently_wrong_sample_costs_minus_log_machine_epsilon():
    # scikit-learn clips probabilities to [ε, 1 − ε] (ε of the dtype) in the log loss. With
    # no hidden layer, z = −50 x: the sample (1, class 1) gets p = σ(−50) ≈ 2e-22 and the
    # sample (−1, class 0) p = 1 − 2e-22 = 1.0: both are clipped, and each costs
    # −log ε (1 − (1 − ε) = ε exactly), so loss_ = −log ε.
    X, y = np.array([[1.0], [-1.0]]), np.array([1, 0])
    model = MLPClassifier(hidden_layer_sizes=(), random_state=0).set_params(max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    loss = _loss_at(model, X, y, [np.array([[-50.0]])], [np.array([0.0])])
    assert loss == pytest.approx(-np.log(np.finfo(np.float64).eps), rel=1e-15)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_saturated_probabilities_give_scikit_learns_loss(kind):
    # From the same weights scaled until some probabilities saturate, loss_ (the objective
    # the tol rule and L-BFGS see) is scikit-learn's, in float64.
    if kind == "multilabel":
        X, y = make_multilabel_classification(n_samples=60, n_classes=3, random_state=0)
    else:
        X, y = load_iris(return_X_y=True)
        if kind == "binary":
            X, y = X[:100], y[:100]
    reference, model = _fitted_pair(MLPClassifier, sk.MLPClassifier, X, y)
    coefs = [30 * W for W in reference.coefs_]
    intercepts = [30 * b for b in reference.intercepts_]
    expected = _loss_at(reference, X, y, coefs, intercepts)
    assert expected > 3     # saturated: the clip matters (27.6 vs 36.0 per clipped term)
    assert _loss_at(model, X, y, coefs, intercepts) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("params", [
    {"verbose": np.True_},
    {"verbose": np.False_},
    {"early_stopping": True, "validation_fraction": np.float32(0.2)},
    {"early_stopping": True, "validation_fraction": np.float64(0.2)},
])
def test_numpy_scalars_are_parameters_as_in_scikit_learn(params, capsys):
    X, y = load_iris(return_X_y=True)
    params = {"max_iter": 2, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.MLPClassifier(**params).fit(X, y)                  # scikit-learn accepts them
        model = MLPClassifier(**params).fit(X, y)
    assert model.n_iter_ == 2
    if params.get("early_stopping"):
        assert len(model.validation_scores_) == 2
