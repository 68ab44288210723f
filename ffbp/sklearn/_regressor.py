"""MLPRegressor: single- and multi-output regression with an ffbp Network."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d

from .._validation import lookup
from ..errors import ConfigError
from ..losses import MAE, MSE, Huber, Loss
from ..losses.sklearn_scale import HalfPoisson, HalfSquaredError
from ._base import BaseMLP, has_stochastic_solver
from ._params import SHARED, names

#: Regression losses by name. scikit-learn's two: "squared_error" (½ mean over the outputs
#: of (y − d)²) and "poisson" (log link, predictions e^z); ffbp's extras: "mse", "mae",
#: "huber" (see ``ffbp.losses``), or any ffbp regression ``Loss`` instance.
REGRESSOR_LOSSES = {"squared_error": HalfSquaredError, "poisson": HalfPoisson,
                    "mse": MSE, "mean_squared_error": MSE, "mae": MAE,
                    "mean_absolute_error": MAE, "huber": Huber}


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multi-layer perceptron regressor trained by ffbp's back-propagation: linear outputs
    (exponential for ``loss="poisson"``), one per target.

    Takes every parameter of ``sklearn.neural_network.MLPRegressor`` with the same meaning,
    default and position (``loss`` first, as there), then ffbp's extras; see
    ``MLPClassifier`` for the list.

    Targets: y (n_samples,) gives predictions (n_samples,); y (n_samples, k) gives
    (n_samples, k). Predictions are in the dtype the network computes in (X's float32 or
    float64, as in scikit-learn).

    loss: "squared_error" (default, ½ mean over outputs of (y − d)²), "poisson" (counts or
        rates ≥ 0; the network's output z is log μ, ``predict`` gives μ = e^z), or ffbp's
        "mse", "mae", "huber", or an ffbp regression ``Loss`` instance.
    Early stopping scores the held-out set by R².
    """

    _y_numeric = True
    _params = {**SHARED, "loss": names(
        REGRESSOR_LOSSES, f"one of {sorted(REGRESSOR_LOSSES)} or an ffbp regression Loss",
        also=lambda value: isinstance(value, Loss))}

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 optimizer=None, dtype=None, batch_norm=False, dropout=0.0, init=None,
                 callbacks=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.optimizer = optimizer
        self.dtype = dtype
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.init = init
        self.callbacks = callbacks

    def fit(self, X, y, sample_weight=None):
        """Train for up to ``max_iter`` epochs (L-BFGS iterations); a new network unless
        ``warm_start``.

        Args:
            X: (n_samples, n_features) numbers, or a SciPy CSR/CSC sparse matrix.
            y: (n_samples,) or (n_samples, n_targets) numbers.
            sample_weight: (n_samples,) non-negative; the loss of a batch is Σ wE / Σ w.
        Returns: self.
        """
        return self._fit(X, y, sample_weight)

    @available_if(has_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch on (X, y), continuing the network and its optimiser state.
        Returns: self."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Predictions (n_samples,) for a single output, else (n_samples, n_outputs_), in
        the network's dtype."""
        X = self._check_X(X)             # first: raises NotFittedError before fit
        Y = self.network_.predict(X)
        if self.out_activation_ == "exp":
            Y = np.exp(Y)
        return Y[:, 0] if Y.shape[1] == 1 else Y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
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
        loss = lookup(loss, REGRESSOR_LOSSES, "loss")()
        return loss, None, "exp" if isinstance(loss, HalfPoisson) else "identity"

    def _encode_targets(self, y, first, classes, incremental):
        """(y as given, (n,) or (n, k), number of outputs); a column (n, 1) becomes (n,)
        with scikit-learn's DataConversionWarning."""
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return y, 1 if y.ndim == 1 else y.shape[1]

    def _validation_score(self, X, T, w) -> float:
        """R² (averaged over outputs) on held-out data."""
        Y = self.network_.predict(X)
        if self.out_activation_ == "exp":
            Y = np.exp(Y)
        if not np.isfinite(Y).all():
            return float("nan")                 # diverged: no score (scikit-learn's too)
        return r2_score(T, Y.reshape(T.shape), sample_weight=w)
