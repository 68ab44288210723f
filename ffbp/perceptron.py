"""Rosenblatt's perceptron: a single step-activation unit and its own learning rule."""

from __future__ import annotations

import warnings

import numpy as np

from . import init
from ._validation import as_matrix, check_positive
from .errors import ConvergenceWarning, DataError, NotFittedError
from .layers import Dense, Step
from .network import Network


class Perceptron:
    """Binary classifier ŷ = step(x · w + b) (tutorial 003), trained by the perceptron rule

        w ← w + η (t − ŷ) x,    b ← b + η (t − ŷ)

    one sample at a time: a correctly classified sample changes nothing, a wrong one moves
    the separating hyperplane towards it. On linearly separable data this reaches zero
    errors in finitely many updates (the perceptron convergence theorem); on data that is
    not separable (XOR) it never does, and ``fit`` says so with a ConvergenceWarning.

    The unit is an ffbp ``Network([Dense(n, 1), Step()])`` in float64 (``network_``), so
    its weights are inspected like any other layer's. Gradient descent cannot train it: the
    step's derivative is 0 wherever it exists.

    Attributes after fit: ``network_``, ``converged_``, ``n_epochs_``, ``errors_`` (number
    of misclassified samples in each epoch).
    """

    def __init__(self, learning_rate: float = 1.0, max_epochs: int = 100,
                 shuffle: bool = True, seed: int | None = 0):
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.shuffle = shuffle
        self.seed = seed

    def fit(self, X, y) -> Perceptron:
        check_positive(self.learning_rate, "learning_rate")
        check_positive(self.max_epochs, "max_epochs", integer=True)
        X = as_matrix(X, "X", np.float64)
        t = np.asarray(y, dtype=float).reshape(-1)
        if len(t) != len(X):
            raise DataError(f"X has {len(X)} samples but y has {len(t)}")
        if not np.isin(t, (0, 1)).all():
            raise DataError("the perceptron's labels y must be 0 or 1")
        dense = Dense(X.shape[1], 1, init=init.zeros)
        self.network_ = Network([dense, Step()], dtype=np.float64)
        w, b = dense.W.value[:, 0], dense.b.value
        rng = np.random.default_rng(self.seed)
        eta = float(self.learning_rate)
        self.errors_ = []
        self.converged_ = False
        for _ in range(int(self.max_epochs)):
            order = rng.permutation(len(X)) if self.shuffle else range(len(X))
            errors = 0
            for i in order:
                y_hat = 1.0 if X[i] @ w + b[0] >= 0 else 0.0
                if y_hat != t[i]:
                    w += eta * (t[i] - y_hat) * X[i]
                    b += eta * (t[i] - y_hat)
                    errors += 1
            self.errors_.append(errors)
            if errors == 0:
                self.converged_ = True
                break
        self.n_epochs_ = len(self.errors_)
        if not self.converged_:
            warnings.warn(
                f"the perceptron did not converge in {self.max_epochs} epochs: "
                f"{self.errors_[-1]} of {len(X)} samples were still misclassified in the last "
                f"epoch; the classes are probably not linearly separable",
                ConvergenceWarning, stacklevel=2)
        return self

    def predict(self, X) -> np.ndarray:
        """0/1 decisions, shape (n_samples,)."""
        if not hasattr(self, "network_"):
            raise NotFittedError("this Perceptron is not fitted yet: call fit(X, y) first")
        return self.network_.forward(X)[:, 0].astype(np.int64)
