"""ffbp.tabular.metrics (NumPy) against scikit-learn's metrics, to 1e-12."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require

from ffbp.tabular import classification_metrics, regression_metrics

skm = require("sklearn.metrics", "scikit-learn's metrics are the oracle")


def random_case(n, k, seed, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    if ties:                                   # repeated scores: the AUC's half credits
        logits = np.round(logits, 1)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba


@pytest.mark.parametrize("n, k, seed, ties", [(200, 2, 0, False), (57, 2, 1, True),
                                              (300, 3, 2, False), (120, 5, 3, True),
                                              (40, 4, 4, False)])
def test_classification_metrics_match_scikit_learn(n, k, seed, ties):
    y, proba = random_case(n, k, seed, ties)
    pred = proba.argmax(axis=1)
    if k > 3:
        pred[pred == k - 1] = 0                # a class never predicted: precision 0
    m = classification_metrics(y, pred, proba, labels=list(range(k)))
    labels = list(range(k))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    np.testing.assert_array_equal(m["confusion_matrix"], skm.confusion_matrix(y, pred))
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    got = {key: [c[key] for c in m["per_class"]] for key in ("precision", "recall", "f1",
                                                             "support")}
    np.testing.assert_allclose(got["precision"], p, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["recall"], r, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["f1"], f, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got["support"], s)
    for average in ("macro", "weighted"):
        assert m[f"{average}_f1"] == pytest.approx(
            skm.f1_score(y, pred, average=average, labels=labels, zero_division=0), abs=1e-12)
    auc = (skm.roc_auc_score(y, proba[:, 1]) if k == 2 else
           skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=labels))
    assert m["roc_auc"] == pytest.approx(auc, abs=1e-12)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=labels), abs=1e-12)


def test_extreme_probabilities_are_clipped_as_scikit_learn_does():
    y = np.array([0, 1, 1, 0])
    proba = np.array([[1.0, 0.0], [1.0, 0.0], [0.2, 0.8], [0.5, 0.5]])
    m = classification_metrics(y, proba.argmax(axis=1), proba, labels=["a", "b"])
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba), abs=1e-12)
    assert m["labels"] == ["a", "b"] and m["per_class"][1]["label"] == "b"


def test_undefined_metrics_are_none():
    y = np.array([0, 0, 1, 1])
    m = classification_metrics(y, y, None, labels=[0, 1, 2])
    assert m["roc_auc"] is None and m["log_loss"] is None
    proba = np.full((4, 3), 1 / 3)
    assert classification_metrics(y, y, proba, labels=[0, 1, 2])["roc_auc"] is None  # no 2s


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regression_metrics_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(100, 30, 500)
    pred = y + rng.normal(0, 10, 500)
    m = regression_metrics(y, pred)
    assert m["mse"] == pytest.approx(skm.mean_squared_error(y, pred), rel=1e-12)
    assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)), rel=1e-12)
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-12)
    assert m["r2"] == pytest.approx(skm.r2_score(y, pred), abs=1e-12)
    assert np.isnan(regression_metrics(np.ones(3), np.zeros(3))["r2"])
