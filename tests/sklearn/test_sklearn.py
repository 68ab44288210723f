"""ffbp.sklearn: scikit-learn's own estimator checks, plus behaviour against outside oracles
(bundled real data with known accuracy, duplicated samples, closed-form update rules)."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import ffbp  # noqa: E402
import ffbp.sklearn  # noqa: E402
from ffbp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# -- scikit-learn's estimator checks -----------------------------------------------------

# Default-constructed, as a user would write them, and no expected failures: the checks'
# data are float64, and the estimators compute in X's dtype, so no check depends on how one
# CPU's BLAS rounds float32 sums.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- real data, model selection ----------------------------------------------------------

def _digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def test_pipeline_on_digits_reaches_known_held_out_accuracy():
    X_train, X_test, y_train, y_test = _digits()
    model = make_pipeline(StandardScaler(),
                          MLPClassifier(hidden_layer_sizes=(64,), max_iter=30, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SklearnConvergenceWarning)
        model.fit(X_train, y_train)
    # A 64-unit MLP on the 8x8 digits scores ~0.97 held out (scikit-learn's own MLP too).
    assert model.score(X_test, y_test) >= 0.95


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_and_cross_val_score():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=60, random_state=0,
                                                         learning_rate_init=1e-2))
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(4,), (16,)],
                               "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_estimator_[-1].hidden_layer_sizes in [(4,), (16,)]
    assert grid.best_score_ > 0.9                 # iris: ~0.95-0.97 for any small MLP
    scores = cross_val_score(pipe, X, y, cv=5)
    assert scores.shape == (5,) and scores.mean() > 0.9


# -- sample weights ----------------------------------------------------------------------

@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_sample_weight_two_equals_a_duplicated_sample(Estimator):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) if Estimator is MLPClassifier \
        else X @ rng.normal(size=5)
    w = rng.integers(0, 3, size=40)              # 0 drops a sample, 2 duplicates it
    X_dup, y_dup = np.repeat(X, w, axis=0), np.repeat(y, w)
    params = dict(hidden_layer_sizes=(6,), max_iter=20, n_iter_no_change=np.inf, shuffle=False,
                  random_state=3, dtype=np.float64)
    # One batch = the whole set on both sides: then Σ wE / Σ w is the duplicated mean.
    weighted = Estimator(**params, batch_size=len(X)).fit(X, y, sample_weight=w)
    repeated = Estimator(**params, batch_size=len(X_dup)).fit(X_dup, y_dup)
    np.testing.assert_allclose(weighted.network_.flat_values, repeated.network_.flat_values,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-10)


def test_a_single_class_fits_and_predicts_it():
    # scikit-learn's MLP fits y with one class; so does ffbp's: every prediction is it.
    X = np.random.default_rng(0).normal(size=(10, 3))
    clf = MLPClassifier((4,), max_iter=5).fit(X, np.full(10, "only"))
    assert list(clf.classes_) == ["only"]
    assert (clf.predict(X) == "only").all()
    np.testing.assert_array_equal(clf.predict_proba(X), np.ones((10, 1)))


# -- partial_fit -------------------------------------------------------------------------

@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_partial_fit_continues_and_matches_fit(Estimator):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    params = dict(hidden_layer_sizes=(10,), shuffle=False, random_state=0,
                  dtype=np.float64, learning_rate_init=1e-2)
    extra = {"classes": np.unique(y)} if Estimator is MLPClassifier else {}
    online = Estimator(**params)
    online.partial_fit(X, y, **extra)
    for _ in range(7):
        online.partial_fit(X, y)
    # n_iter_ counts the epochs of the last call (1), as in scikit-learn; t_ every sample.
    assert online.n_iter_ == 1 and online.t_ == 8 * len(X) and len(online.loss_curve_) == 8
    assert online.loss_curve_[-1] < 0.7 * online.loss_curve_[0]
    assert np.all(np.diff(online.loss_curve_) < 0)
    batch = Estimator(**params, max_iter=8, n_iter_no_change=np.inf).fit(X, y)
    # Same seed, same batches, one optimiser carried across calls: the same run.
    np.testing.assert_allclose(online.network_.flat_values, batch.network_.flat_values,
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(online.loss_curve_, batch.loss_curve_, rtol=1e-12)


def test_partial_fit_needs_classes_first_and_rejects_new_labels():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((4,))
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])    # class 2 not seen yet: fine
    assert clf.n_outputs_ == 3
    with pytest.raises(ValueError, match="not one of classes_"):
        clf.partial_fit(X[:5], [0, 1, 2, 3, 0])


def test_pickle_keeps_training_state():
    X, y = load_iris(return_X_y=True)
    a = MLPClassifier((8,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    a.partial_fit(X, y)
    b.partial_fit(X, y)                 # same weights, Adam moments and shuffling stream
    np.testing.assert_array_equal(a.network_.flat_values, b.network_.flat_values)


# -- targets and outputs -----------------------------------------------------------------

def test_binary_string_labels_and_probabilities():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = np.where(X[:, 0] - X[:, 1] > 0, "yes", "no")
    clf = MLPClassifier((8,), max_iter=50, random_state=0, n_iter_no_change=np.inf,
                        learning_rate_init=1e-2).fit(X, y)
    assert list(clf.classes_) == ["no", "yes"]
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    P = clf.predict_proba(X)
    assert P.shape == (200, 2) and P.dtype == np.float64          # X's dtype
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[P.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(P))
    assert clf.score(X, y) > 0.95                 # a linear boundary


def test_multiclass_probabilities_sum_to_one():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((8,), max_iter=5, random_state=0, n_iter_no_change=np.inf).fit(X, y + 10)
    assert list(clf.classes_) == [10, 11, 12] and clf.out_activation_ == "softmax"
    P = clf.predict_proba(X)
    assert P.shape == (150, 3) and (P >= 0).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_multilabel_indicator_targets():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 2] + X[:, 3] > 0]).astype(int)
    clf = MLPClassifier((16,), max_iter=60, random_state=0, learning_rate_init=1e-2,
                        n_iter_no_change=np.inf).fit(X, Y)
    assert clf.n_outputs_ == 3 and list(clf.classes_) == [0, 1, 2]
    pred = clf.predict(X)
    assert pred.shape == (300, 3) and set(np.unique(pred)) <= {0, 1}
    P = clf.predict_proba(X)
    assert P.shape == (300, 3) and ((P >= 0) & (P <= 1)).all()   # float32 σ reaches 1.0
    np.testing.assert_array_equal(pred, P >= 0.5)
    assert (pred == Y).mean() > 0.95          # three half-plane labels are easy


def test_regression_single_and_multi_output():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4))
    A = rng.normal(size=(4, 2))
    Y = X @ A                                     # a linear map: R² → 1 for a fitted MLP
    multi = MLPRegressor(hidden_layer_sizes=(32,), max_iter=100, learning_rate_init=1e-2,
                         random_state=0, n_iter_no_change=np.inf).fit(X, Y)
    assert multi.predict(X).shape == (300, 2) and multi.n_outputs_ == 2
    assert multi.score(X, Y) > 0.95
    single = MLPRegressor(hidden_layer_sizes=(32,), max_iter=100, learning_rate_init=1e-2,
                          random_state=0, n_iter_no_change=np.inf)
    single.fit(X, Y[:, 0])
    assert single.predict(X).shape == (300,) and single.out_activation_ == "identity"
    assert single.score(X, Y[:, 0]) > 0.95


@pytest.mark.parametrize("loss", ["mse", "squared_error", "mae", "huber",
                                  ffbp.losses.Huber(delta=0.5)])
def test_regression_losses_learn(loss):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    reg = MLPRegressor(hidden_layer_sizes=(16,), loss=loss, max_iter=100,
                       learning_rate_init=1e-2, random_state=0,
                       n_iter_no_change=np.inf).fit(X, y)
    assert reg.score(X, y) > 0.9


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "momentum", "adamw", "rmsprop",
                                       ffbp.optim.sgd(0.05, momentum=0.9)])
def test_every_optimizer_trains(optimizer):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    lr = 0.05 if optimizer in ("sgd", "momentum") else 1e-2
    clf = MLPClassifier((8,), optimizer=optimizer, learning_rate_init=lr, max_iter=40,
                        batch_size=32,
                        random_state=0, n_iter_no_change=np.inf).fit(X, y)
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    assert clf.score(X, y) > 0.85


def test_alpha_is_coupled_l2_on_weights_only():
    # One full-batch SGD step from the same initial weights W0: the run with alpha differs
    # from the run without by exactly −lr·(α/n)·W0 on the weights and not at all on the biases
    # (the gradient of ½α‖W‖² is αW).
    X, y = load_iris(return_X_y=True)
    lr, alpha = 0.1, 0.5
    params = dict(hidden_layer_sizes=(5,), solver="sgd", momentum=0.0, max_iter=1,
                  batch_size=150,
                  shuffle=False, random_state=0, dtype=np.float64, n_iter_no_change=np.inf)
    # A step of 1e-300 leaves every weight as drawn: W0.
    W0 = MLPClassifier(**params, learning_rate_init=1e-300, alpha=0.0).fit(X, y).coefs_
    plain = MLPClassifier(**params, learning_rate_init=lr, alpha=0.0).fit(X, y)
    decayed = MLPClassifier(**params, learning_rate_init=lr, alpha=alpha).fit(X, y)
    for W, Wp, Wd in zip(W0, plain.coefs_, decayed.coefs_, strict=True):
        # scikit-learn's scale: the penalty is α/(2n)‖W‖² for a batch of n samples.
        np.testing.assert_allclose(Wd - Wp, -lr * alpha / 150 * W, rtol=1e-9, atol=1e-15)
    for bp, bd in zip(plain.intercepts_, decayed.intercepts_, strict=True):
        np.testing.assert_array_equal(bd, bp)


def test_early_stopping_scores_and_stops():
    X_train, _, y_train, _ = _digits()
    X_train = StandardScaler().fit_transform(X_train)
    clf = MLPClassifier((32,), early_stopping=True, n_iter_no_change=3, max_iter=200,
                        learning_rate_init=1e-2, random_state=0).fit(X_train, y_train)
    assert clf.n_iter_ < 200                      # the held-out accuracy saturates early
    assert len(clf.validation_scores_) == clf.n_iter_
    assert all(0.0 <= s <= 1.0 for s in clf.validation_scores_)
    assert clf.best_validation_score_ == max(clf.validation_scores_) > 0.9
    assert clf.best_loss_ is None


def test_options_build_the_layers_asked_for():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = MLPClassifier((8, 8), activation="tanh", batch_norm=True, dropout=0.1,
                        max_iter=50, learning_rate_init=1e-2, random_state=0,
                        n_iter_no_change=np.inf,
                        dtype=np.float64).fit(X, y)
    kinds = [type(layer).__name__ for layer in clf.network_.layers]
    assert kinds == ["Dense", "BatchNorm", "Tanh", "Dropout"] * 2 + ["Dense", "Softmax"]
    assert clf.network_.dtype == np.float64
    assert clf.score(X, y) > 0.85


@pytest.mark.parametrize("activation, factor", [("relu", 6), ("tanh", 6), ("logistic", 2)])
def test_default_init_is_scikit_learns(activation, factor):
    X = np.random.default_rng(5).normal(size=(20, 400))
    y = np.arange(20) % 2
    # A step of 1e-12 leaves the initial weights as drawn: U(±√(factor / (in + out))) for W
    # and b alike (factor 2 for the logistic activation).
    clf = MLPClassifier((300,), activation=activation, solver="sgd", learning_rate_init=1e-12,
                        max_iter=1, alpha=0.0, random_state=0).fit(X, y)
    limit = np.sqrt(factor / (400 + 300))
    for values in (clf.coefs_[0], clf.intercepts_[0]):
        assert np.abs(values).max() <= limit and np.abs(values).max() > 0.95 * limit
        assert abs(values.mean()) < 0.1 * limit          # centred (uniform, not one-sided)


# -- the contract ------------------------------------------------------------------------

def test_clone_copies_parameters_not_the_fit():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((7,), alpha=0.01, max_iter=3, random_state=1,
                        n_iter_no_change=np.inf).fit(X, y)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert not hasattr(twin, "network_") and not hasattr(twin, "classes_")
    twin.set_params(hidden_layer_sizes=(3,))
    assert twin.fit(X, y).coefs_[0].shape == (4, 3)
    assert clf.coefs_[0].shape == (4, 7)


def test_feature_names_from_a_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = MLPClassifier((4,), max_iter=2, n_iter_no_change=np.inf).fit(X, y)
    assert list(clf.feature_names_in_) == list(X.columns) and clf.n_features_in_ == 4
    assert clf.predict(pd.DataFrame(X.values[:3], columns=X.columns)).shape == (3,)


@pytest.mark.parametrize("params, what, hint", [
    ({"activation": "rleu"}, "activation", "relu"),
    ({"optimizer": "adma"}, "optimizer", "adam"),
    ({"solver": "adma"}, "solver", "adam"),
])
def test_unknown_names_are_config_errors_with_a_hint(params, what, hint):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ffbp.ConfigError, match=f"unknown {what} .*did you mean '{hint}'"):
        MLPClassifier((4,), **params).fit(X, y)
    assert issubclass(ffbp.ConfigError, ValueError)


def test_unknown_regression_loss_is_a_config_error():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ffbp.ConfigError, match="did you mean 'huber'"):
        MLPRegressor(hidden_layer_sizes=(4,), loss="hubber").fit(X, y)


def test_convergence_warning_is_both_libraries_warning():
    X, y = load_iris(return_X_y=True)
    with pytest.warns(SklearnConvergenceWarning) as record:
        MLPClassifier((4,), max_iter=2).fit(X, y)
    assert issubclass(record[0].category, ffbp.ConvergenceWarning)


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_every_parameter_of_scikit_learns_with_its_default_and_position(name):
    import inspect

    from sklearn import neural_network

    theirs = inspect.signature(getattr(neural_network, name)).parameters
    ours = inspect.signature(getattr(ffbp.sklearn, name)).parameters
    assert list(ours)[:len(theirs)] == list(theirs)          # same names, same order
    for key, p in theirs.items():
        assert ours[key].kind == p.kind, key                 # positional where they are
        assert ours[key].default == p.default or (
            p.default is np.inf and ours[key].default is np.inf), key
