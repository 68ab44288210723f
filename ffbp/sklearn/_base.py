"""What MLPClassifier and MLPRegressor share: validation, the network, the training run.

Training is ffbp's own ``fit`` (``ffbp.training.fit``): an estimator only turns its
hyper-parameters into a Network, a loss and an optimiser, encodes the targets, and reads
the History back into scikit-learn's fitted attributes.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..callbacks import EarlyStopping
from ..errors import ConfigError, ShapeError
from ..errors import ConvergenceWarning as _FfbpConvergenceWarning
from ..training import fit as ffbp_fit
from . import _parts

#: Seeds drawn from ``random_state`` stay below 2³¹ so a legacy RandomState can draw them.
_SEED_BOUND = 2**31 - 1


class ConvergenceWarning(_FfbpConvergenceWarning, _SklearnConvergenceWarning):
    """``fit`` used every one of ``max_iter`` epochs without meeting its stopping criterion.

    A subclass of both ffbp's and scikit-learn's ConvergenceWarning, so a filter on
    either (``GridSearchCV`` users filter scikit-learn's) catches it."""


class BaseMLP(BaseEstimator):
    """Shared machinery; subclasses define ``__init__`` (their own defaults) and the
    target hooks ``_encode_targets``, ``_make_loss``, ``_validation_score``."""

    #: Stratify the early-stopping split on the encoded targets (single-label classes).
    _stratify = False
    _y_numeric = False

    # -- hooks for subclasses ----------------------------------------------------------
    def _encode_targets(self, y, first, classes, sample_weight):
        """(T in the form ffbp's loss takes, number of network outputs)."""
        raise NotImplementedError

    def _make_loss(self):
        """(the ffbp Loss, the output activation class or None, sklearn's name for it)."""
        raise NotImplementedError

    def _validation_score(self, X, T, w) -> float:
        raise NotImplementedError

    # -- fitting -----------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        """fit (``incremental=False``: a new network, up to ``max_iter`` epochs) or
        partial_fit (one epoch, continuing ``network_`` and its optimiser state)."""
        first = not (incremental and hasattr(self, "network_"))
        dtype = (_parts.check_dtype(self.dtype) if first else self.network_.dtype)
        X, y = validate_data(self, X, y, reset=first, multi_output=True, dtype=dtype,
                             y_numeric=self._y_numeric)
        w = None
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                     ensure_non_negative=True)
        T, n_outputs = self._encode_targets(y, first, classes, w)
        if first:
            # Everything is resolved before any attribute is set, so a bad hyper-parameter
            # leaves no half-built estimator behind.
            rng = check_random_state(self.random_state)
            loss, output, out_activation = self._make_loss()
            optimizer = _parts.make_optimizer(self.optimizer, self.learning_rate, self.alpha)
            net = _parts.build_network(
                X.shape[1], n_outputs, hidden=self.hidden_layer_sizes,
                activation=self.activation, output=output, init=self.init,
                batch_norm=self.batch_norm, dropout=self.dropout,
                seed=int(rng.randint(_SEED_BOUND)), dtype=dtype)
            self._rng, self.network_ = rng, net
            self.n_outputs_, self.out_activation_ = n_outputs, out_activation
            self.loss_curve_, self.n_iter_ = [], 0
            self.validation_scores_ = self.best_validation_score_ = None
        else:
            if n_outputs != self.n_outputs_:
                raise ShapeError(f"y has {n_outputs} output(s) but the estimator was fitted "
                                 f"with {self.n_outputs_}")
            # The same loss and optimiser objects: fit then continues the optimiser's state.
            # (None only when the first call failed before training started.)
            loss = self.network_.loss or self._make_loss()[0]
            optimizer = self.network_.optimizer
            if optimizer is None:
                optimizer = _parts.make_optimizer(self.optimizer, self.learning_rate,
                                                  self.alpha)
        self._train(X, T, w, loss, optimizer, incremental)
        return self

    def _train(self, X, T, w, loss, optimizer, incremental):
        """Run ffbp's fit and record its History in the fitted attributes."""
        early = bool(self.early_stopping) and not incremental
        callbacks, scorer, tol = [], None, self.tol
        fit_seed = int(self._rng.randint(_SEED_BOUND))
        if tol is not None and (isinstance(tol, bool) or not isinstance(
                tol, (int, float, np.number)) or not tol >= 0):
            raise ConfigError(f"tol must be a number >= 0 or None, got {tol!r}")
        if early:
            X, T, w, val = self._split(X, T, w, fit_seed)
            scorer = _parts.ValidationScore(self._validation_score, *val)
            # sklearn's rule: stop when the validation score has not improved by tol for
            # n_iter_no_change epochs, and keep the best epoch's weights.
            callbacks = [scorer, EarlyStopping(scorer.KEY, self.n_iter_no_change,
                                               float(tol or 0.0), restore_best_weights=True)]
            tol = None              # with early stopping, tol applies to the score only
        if incremental:
            tol = None              # one epoch: no stopping criterion to apply
        if isinstance(self.batch_size, str):
            if self.batch_size != "auto":
                raise ConfigError(f"batch_size must be a positive integer or 'auto', got "
                                  f"{self.batch_size!r}")
            batch_size = min(200, len(X))
        else:
            batch_size = self.batch_size
        epochs = 1 if incremental else self.max_iter
        history = ffbp_fit(self.network_, X, T, loss=loss, optimizer=optimizer,
                           epochs=epochs, batch_size=batch_size, shuffle=bool(self.shuffle),
                           metrics=False, tol=tol, n_iter_no_change=self.n_iter_no_change,
                           callbacks=callbacks, seed=fit_seed, sample_weight=w,
                           verbose=bool(self.verbose))
        self.loss_curve_ = self.loss_curve_ + list(history.loss)
        self.n_iter_ += history.epochs
        self.loss_ = self.loss_curve_[-1]
        if scorer is not None:
            self.validation_scores_ = scorer.scores
            self.best_validation_score_ = max(scorer.scores)
            self.best_loss_ = None
        else:
            self.best_loss_ = min(self.loss_curve_)
        stopping_rule = early or self.tol is not None
        if not incremental and stopping_rule and history.epochs >= self.max_iter:
            warnings.warn(f"{type(self).__name__} reached max_iter={self.max_iter} epochs "
                          f"without meeting its stopping criterion; increase max_iter or "
                          f"tol", ConvergenceWarning, stacklevel=4)

    def _split(self, X, T, w, seed):
        """Hold out ``validation_fraction`` of the samples for early stopping:
        (X_train, T_train, w_train, (X_val, T_val, w_val))."""
        fraction = _parts.check_fraction(self.validation_fraction, "validation_fraction")
        arrays = [X, T] + ([] if w is None else [w])
        parts = train_test_split(*arrays, test_size=fraction, random_state=seed,
                                 stratify=T if self._stratify else None)
        X_tr, X_val, T_tr, T_val = parts[:4]
        w_tr, w_val = (None, None) if w is None else parts[4:]
        return X_tr, T_tr, w_tr, (X_val, T_val, w_val)

    # -- using the fitted network ------------------------------------------------------
    def _check_X(self, X) -> np.ndarray:
        """X validated against what fit saw: (n_samples, n_features_in_) in the net dtype."""
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=self.network_.dtype)

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrices W (in, out) of the Dense layers, input to output (views)."""
        return [layer.W.value for layer in self.network_.layers if hasattr(layer, "W")]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The biases b (out,) of the Dense layers, input to output (views)."""
        return [layer.b.value for layer in self.network_.layers
                if hasattr(layer, "W") and layer.b is not None]

    # -- pickling ----------------------------------------------------------------------
    def __setstate__(self, state):
        super().__setstate__(state)
        net = self.__dict__.get("network_")
        if net is None:
            return
        # Network pickles without its optimiser (closures) but with the optimiser's state:
        # rebuild the same optimiser so partial_fit continues exactly.
        if net.optimizer_state is not None:
            net.optimizer = _parts.make_optimizer(self.optimizer, self.learning_rate,
                                                  self.alpha)
