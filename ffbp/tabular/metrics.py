"""Evaluation metrics of a table model, in NumPy (scikit-learn is not needed; the tests
check every number against ``sklearn.metrics`` to 1e-12).

Classification (``classification_metrics``): accuracy, the confusion matrix, precision,
recall, F1 and support per class, macro and weighted F1, ROC AUC and log loss (the last two
from the predicted probabilities, when the model gives them). A class that is never
predicted has precision 0, one that never occurs recall 0 (scikit-learn's
``zero_division=0``). ROC AUC is the binary AUC of the second class's probability, or for
more classes the macro average of each class against the rest (scikit-learn's
``multi_class="ovr"``); it is None when undefined (a class absent from the true labels).
Log loss clips probabilities to [ε, 1 − ε] (float64's ε), as scikit-learn does.

Regression (``regression_metrics``): MSE, RMSE, MAE and R² in the target's own units; R² is
NaN when the true values are all equal (scikit-learn gives 1 or 0 there by convention).
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """counts[i, j]: rows of true class i predicted as class j (class indices 0..k−1)."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


def per_class(counts: np.ndarray) -> dict:
    """Precision, recall, F1 and support per class from a confusion matrix (arrays)."""
    tp = np.diag(counts).astype(np.float64)
    predicted = counts.sum(axis=0).astype(np.float64)
    support = counts.sum(axis=1).astype(np.float64)

    def ratio(num, den):
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    # F1 = 2 tp / (2 tp + fp + fn): the harmonic mean of precision and recall, 0 when both are
    return {"precision": ratio(tp, predicted), "recall": ratio(tp, support),
            "f1": ratio(2 * tp, predicted + support), "support": support.astype(np.int64)}


def roc_auc(scores, positive) -> float | None:
    """Area under the ROC curve of ``scores`` for the boolean ``positive``: the probability
    that a positive row scores above a negative one, ties counting one half (the
    Mann–Whitney statistic from average ranks). None without both kinds of rows."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ordered = scores[order]
    # average rank (from 1) of each group of tied scores
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def log_loss(y_true, proba) -> float:
    """Mean −log p(true class), probabilities clipped to [ε, 1 − ε]."""
    proba = np.asarray(proba, dtype=np.float64)
    eps = np.finfo(np.float64).eps
    p = np.clip(proba[np.arange(len(proba)), np.asarray(y_true)], eps, 1 - eps)
    return float(-np.mean(np.log(p)))


def classification_metrics(y_true, y_pred, proba=None, labels=None) -> dict:
    """Every classification metric of true and predicted class indices (0..k−1) and, when
    given, the probabilities (n, k). ``labels``: the class labels, in index order."""
    n_classes = len(labels) if labels is not None else int(np.shape(proba)[1])
    y_true = np.asarray(y_true, dtype=np.int64)
    counts = confusion_matrix(y_true, y_pred, n_classes)
    scores = per_class(counts)
    support = scores["support"]
    n = int(support.sum())
    labels = list(range(n_classes)) if labels is None else list(labels)
    result = {
        "rows": n,
        "accuracy": float(np.trace(counts) / n) if n else float("nan"),
        "confusion_matrix": counts.tolist(),
        "labels": labels,
        "per_class": [{"label": label, "precision": float(scores["precision"][j]),
                       "recall": float(scores["recall"][j]), "f1": float(scores["f1"][j]),
                       "support": int(support[j])} for j, label in enumerate(labels)],
        "macro_f1": float(np.mean(scores["f1"])),
        "weighted_f1": float(np.sum(scores["f1"] * support) / n) if n else float("nan"),
        "roc_auc": None,
        "log_loss": None,
    }
    if proba is None:
        return result
    proba = np.asarray(proba, dtype=np.float64)
    if n_classes == 2:
        result["roc_auc"] = roc_auc(proba[:, 1], y_true == 1)
    else:
        each = [roc_auc(proba[:, j], y_true == j) for j in range(n_classes)]
        result["roc_auc"] = None if None in each else float(np.mean(each))
    result["log_loss"] = log_loss(y_true, proba)
    return result


def regression_metrics(y_true, y_pred) -> dict:
    """MSE, RMSE, MAE and R² of predictions in the target's own units."""
    y_true = np.asarray(y_true, dtype=np.float64)
    err = np.asarray(y_pred, dtype=np.float64) - y_true
    n = len(y_true)
    sse = float(np.sum(err ** 2))
    total = float(np.sum((y_true - y_true.mean()) ** 2)) if n else 0.0
    mse = sse / n if n else float("nan")
    return {"rows": n, "mse": mse, "rmse": float(np.sqrt(mse)),
            "mae": float(np.mean(np.abs(err))) if n else float("nan"),
            "r2": 1 - sse / total if total > 0 else float("nan")}
