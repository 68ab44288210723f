"""MLPRegressor: single- and multi-output regression with an ffbp Network."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score

from .._validation import lookup
from ..errors import ConfigError
from ..losses import MAE, MSE, Huber, Loss, SquaredError
from ._base import BaseMLP

#: Regression losses by name (see ``ffbp.losses``): "mse" is mean (y − d)² over the outputs,
#: "squared_error" the tutorials' ½ Σ (d − y)² (scikit-learn's MLPRegressor loss).
REGRESSOR_LOSSES = {"mse": MSE, "mean_squared_error": MSE, "squared_error": SquaredError,
                    "mae": MAE, "mean_absolute_error": MAE, "huber": Huber}


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multi-layer perceptron regressor trained by ffbp's back-propagation and ``fit``:
    linear outputs, one per target.

    Targets: y (n_samples,) gives predictions (n_samples,); y (n_samples, k) gives
    (n_samples, k) (k = 1 included: a single output is returned 1-D, as scikit-learn does).

    Parameters: as ``MLPClassifier``, except
        loss: "mse" (default), "squared_error", "mae", "huber", or an ffbp regression
            ``Loss`` instance (e.g. ``ffbp.losses.Huber(delta=0.5)``);
        early_stopping scores the held-out set by R² (``validation_scores_``).

    Attributes: n_features_in_, feature_names_in_, network_, coefs_, intercepts_,
        n_outputs_, out_activation_ ("identity"), loss_curve_, loss_, best_loss_,
        validation_scores_, best_validation_score_, n_iter_ — as ``MLPClassifier``.
    """

    _y_numeric = True

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, loss="mse",
                 optimizer="adam", learning_rate=1e-3, batch_size=32, max_iter=200,
                 alpha=1e-4, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, tol=1e-4, shuffle=True, random_state=None,
                 dtype=np.float32, batch_norm=False, dropout=0.0, init=None, verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.shuffle = shuffle
        self.random_state = random_state
        self.dtype = dtype
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.init = init
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None):
        """Train a new network for up to ``max_iter`` epochs.

        Args:
            X: (n_samples, n_features) numbers.
            y: (n_samples,) or (n_samples, n_targets) numbers.
            sample_weight: (n_samples,) non-negative; a weight of 2 counts a sample twice
                within its batch (exactly duplication when a batch is the whole set).
        Returns: self.
        """
        return self._fit(X, y, sample_weight)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch on (X, y), continuing the network and its optimiser state (no stopping
        rule applies: early_stopping and tol only concern ``fit``).
        Returns: self."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Predictions, float64: (n_samples,) for a single output, else
        (n_samples, n_outputs_). Computed in the network's dtype."""
        X = self._check_X(X)             # first: raises NotFittedError before fit
        Y = self.network_.predict(X).astype(np.float64)
        return Y[:, 0] if Y.shape[1] == 1 else Y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    # -- hooks -------------------------------------------------------------------------
    def _make_loss(self):
        loss = self.loss
        if isinstance(loss, Loss):
            if loss.family != "regression":
                raise ConfigError(f"MLPRegressor needs a regression loss, got {loss!r} "
                                  f"({loss.family})")
            return loss, None, "identity"
        if not isinstance(loss, str):
            raise ConfigError(f"loss must be one of {sorted(REGRESSOR_LOSSES)} or an ffbp "
                              f"regression Loss, got {loss!r}")
        return lookup(loss, REGRESSOR_LOSSES, "loss")(), None, "identity"

    def _encode_targets(self, y, first, classes, sample_weight):
        """(y as given, (n,) or (n, k), number of outputs)."""
        return y, 1 if y.ndim == 1 else y.shape[1]

    def _validation_score(self, X, T, w) -> float:
        """R² (averaged over outputs) of the network on held-out data."""
        Y = self.network_.predict(X)
        return r2_score(T, Y.reshape(T.shape), sample_weight=w)
