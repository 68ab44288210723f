"""ffbp.sklearn against scikit-learn's MLP on the same data, same parameters, same split:
held-out score and fit time per solver, sparse input, and class_weight on an imbalanced set.

    .venv/bin/python -m benchmarks.sklearn_parity

Scores are accuracy (classifiers) or R² (regressors) on a 25% held-out split; times are one
fit in this process (the first includes any compilation), so read them as rough.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from scipy import sparse
from sklearn import datasets
from sklearn import neural_network as sk
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from ffbp import sklearn as ff

TABLES = {"iris": datasets.load_iris, "wine": datasets.load_wine,
          "breast cancer": datasets.load_breast_cancer, "digits": datasets.load_digits}


def _split(X, y):
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0,
                                              stratify=y)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def _run(make, X_tr, y_tr, X_te, y_te, score=None, **fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model = make().fit(X_tr, y_tr, **fit)
        seconds = time.perf_counter() - start
    value = score(y_te, model.predict(X_te)) if score else model.score(X_te, y_te)
    return value, seconds


def _row(name, ours, theirs):
    print(f"| {name} | {ours[0]:.3f} | {theirs[0]:.3f} | {ours[1]:.2f} s | {theirs[1]:.2f} s |")


def main():
    print("| case | ffbp score | scikit-learn score | ffbp fit | scikit-learn fit |")
    print("|---|---|---|---|---|")
    for table, load in TABLES.items():
        X_tr, X_te, y_tr, y_te = _split(*load(return_X_y=True))
        for solver in ("lbfgs", "adam"):
            params = dict(hidden_layer_sizes=(64, 32), solver=solver, max_iter=200,
                          random_state=0)
            _row(f"{table}, {solver}",
                 _run(lambda p=params: ff.MLPClassifier(**p), X_tr, y_tr, X_te, y_te),
                 _run(lambda p=params: sk.MLPClassifier(**p), X_tr, y_tr, X_te, y_te))
    # Sparse: the digits as a CSR matrix of their raw pixel counts (about half are 0).
    X, y = datasets.load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(sparse.csr_matrix(X / 16.0), y, test_size=0.25,
                                              random_state=0, stratify=y)
    params = dict(hidden_layer_sizes=(64,), solver="adam", max_iter=200, random_state=0)
    _row("digits as CSR, adam",
         _run(lambda: ff.MLPClassifier(**params), X_tr, y_tr, X_te, y_te),
         _run(lambda: sk.MLPClassifier(**params), X_tr, y_tr, X_te, y_te))
    # class_weight: breast cancer with 90% of the malignant cases dropped (about 21 left);
    # scikit-learn's MLP has no class_weight, so it gets the same weights as sample_weight.
    X, y = datasets.load_breast_cancer(return_X_y=True)
    keep = (y == 1) | (np.arange(len(y)) % 10 == 0)
    X_tr, X_te, y_tr, y_te = _split(X[keep], y[keep])
    params = dict(hidden_layer_sizes=(32,), max_iter=300, random_state=0)
    counts = np.bincount(y_tr)
    w = (len(y_tr) / (2 * counts))[y_tr]
    score = balanced_accuracy_score
    _row("imbalanced cancer, no weights (balanced accuracy)",
         _run(lambda: ff.MLPClassifier(**params), X_tr, y_tr, X_te, y_te, score),
         _run(lambda: sk.MLPClassifier(**params), X_tr, y_tr, X_te, y_te, score))
    _row("… class_weight='balanced' / the same sample_weight",
         _run(lambda: ff.MLPClassifier(class_weight="balanced", **params), X_tr, y_tr, X_te,
              y_te, score),
         _run(lambda: sk.MLPClassifier(**params), X_tr, y_tr, X_te, y_te, score,
              sample_weight=w))


if __name__ == "__main__":
    main()
