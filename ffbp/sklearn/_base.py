"""What MLPClassifier and MLPRegressor share: the parameters, the network, the training run.

An estimator turns scikit-learn's hyper-parameters into an ffbp Network, a loss and a
solver (``_solvers``: mini-batch "sgd"/"adam" or full-batch "lbfgs"), encodes the targets,
and keeps scikit-learn's fitted attributes. Every step is ffbp's public back-propagation
step, ``Network.compute_gradients``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..errors import ConfigError, ShapeError
from ..errors import ConvergenceWarning as _FfbpConvergenceWarning
from ..layers import Dense
from . import _parts, _solvers
from ._params import SHARED, check_params

#: Seeds drawn from ``random_state`` stay below 2³¹ so a legacy RandomState can draw them.
_SEED_BOUND = 2**31 - 1

#: Sparse formats the first Dense layer multiplies directly (never densified).
SPARSE_FORMATS = ["csr", "csc"]


def has_stochastic_solver(est) -> bool:
    """partial_fit exists for "sgd" and "adam" (and ffbp optimisers) only, as in
    scikit-learn."""
    return est.solver != "lbfgs" or est.optimizer is not None


class ConvergenceWarning(_FfbpConvergenceWarning, _SklearnConvergenceWarning):
    """``fit`` used every one of ``max_iter`` epochs (or L-BFGS iterations) without meeting
    its stopping criterion.

    A subclass of both ffbp's and scikit-learn's ConvergenceWarning, so a filter on
    either (``GridSearchCV`` users filter scikit-learn's) catches it."""


def _write_through(attribute, views, indices, arrays, whole=False) -> None:
    """Copy ``arrays`` into ``views[i]`` for i in ``indices``, after checking every shape,
    so that a wrong one changes nothing."""
    indices = list(indices)
    if len(arrays) != len(indices):
        raise ShapeError(f"{attribute} {'has' if whole else 'slice takes'} {len(indices)} "
                         f"array(s) (one per layer), got {len(arrays)}")
    arrays = [np.asarray(a) for a in arrays]
    for i, a in zip(indices, arrays, strict=True):
        if a.shape != views[i].shape:
            raise ShapeError(f"{attribute}[{i}] has shape {views[i].shape}, got an array "
                             f"of shape {a.shape}")
    for i, a in zip(indices, arrays, strict=True):
        views[i][...] = a


class _Layers(list):
    """``coefs_`` / ``intercepts_``: a list of views into the network whose item
    assignment (``est.coefs_[0] = W``) writes into the network, as the list scikit-learn
    keeps would change its model."""

    def __init__(self, attribute, views):
        super().__init__(views)
        self._attribute = attribute

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            _write_through(self._attribute, self, range(len(self))[index], list(value))
        else:
            i = range(len(self))[index]
            _write_through(self._attribute, self, [i], [value])

    def __reduce__(self):                # pickles / copies as the plain list it shows
        return list, (list(self),)


class BaseMLP(_solvers.Solvers, BaseEstimator):
    """Shared machinery; subclasses define ``__init__`` (scikit-learn's parameters, then
    ffbp's extras) and the target hooks ``_encode_targets``, ``_make_loss``,
    ``_validation_score``."""

    #: Stratify the early-stopping split on the encoded targets (single-label classes).
    _stratify = False
    _y_numeric = False
    #: The parameter rules of ``_params``; subclasses add their own.
    _params = SHARED
    _convergence_warning = ConvergenceWarning

    # -- hooks for subclasses ----------------------------------------------------------
    def _encode_targets(self, y, first, classes, incremental):
        """(T in the form ffbp's loss takes, number of network outputs)."""
        raise NotImplementedError

    def _make_loss(self):
        """(the ffbp Loss, the output activation class or None, scikit-learn's name)."""
        raise NotImplementedError

    def _validation_score(self, X, T, w) -> float:
        raise NotImplementedError

    def _weights(self, T, w):
        """Per-sample weights to train with (the classifier folds in ``class_weight``)."""
        return w

    # -- fitting -----------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        """fit (a new network unless ``warm_start``) or partial_fit (one epoch, continuing
        ``network_`` and its optimiser state)."""
        check_params(self, self._params)
        first = not hasattr(self, "network_") or not (self.warm_start or incremental)
        if first:
            dtype = [np.float64, np.float32] if self.dtype is None else \
                _parts.resolve_dtype(self.dtype, None)
        else:
            dtype = self.network_.dtype
        X, y = validate_data(self, X, y, reset=first, accept_sparse=SPARSE_FORMATS,
                             multi_output=True, dtype=dtype, y_numeric=self._y_numeric)
        w = None
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                     ensure_non_negative=True)
        T, n_outputs = self._encode_targets(y, first, classes, incremental)
        self._incremental = incremental
        w = self._weights(T, w)
        rng = check_random_state(self.random_state)
        loss, output, out_activation = self._make_loss()
        if self.solver == "lbfgs" and self.optimizer is None and self.dropout:
            raise ConfigError("dropout needs a stochastic solver ('adam' or 'sgd'): with "
                              "'lbfgs' every evaluation of the objective would differ")
        if first:
            # Resolved before any attribute is set: a bad hyper-parameter leaves no
            # half-built estimator behind.
            net = _parts.build_network(X.shape[1], n_outputs, self, output,
                                       seed=int(rng.randint(_SEED_BOUND)), dtype=X.dtype)
            self.network_, self._rate = net, None
            self._hidden_fitted = _parts.hidden_sizes(self.hidden_layer_sizes)
            self.n_outputs_, self.out_activation_ = n_outputs, out_activation
            self.n_layers_ = len(_parts.hidden_sizes(self.hidden_layer_sizes)) + 2
            self.n_iter_ = self.t_ = 0
            self.loss_curve_, self._no_improvement_count = [], 0
            # The initial weights are the best until a validation score beats −inf: a run
            # whose every score is NaN (diverged from the start) ends with them, as in
            # scikit-learn, instead of with non-finite weights.
            self._best_weights = net.snapshot() if self.early_stopping else None
            if self.early_stopping:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
                self.best_loss_ = None
            else:
                self.validation_scores_ = self.best_validation_score_ = None
                self.best_loss_ = np.inf
        elif n_outputs != self.n_outputs_:
            raise ShapeError(f"y has {n_outputs} output(s) but the estimator was fitted "
                             f"with {self.n_outputs_}")
        elif self._hidden_fitted != _parts.hidden_sizes(self.hidden_layer_sizes):
            raise ConfigError(f"hidden_layer_sizes is {self.hidden_layer_sizes!r} but the "
                              f"network being continued (warm_start / partial_fit) has "
                              f"{self._hidden_fitted!r}: fit a new one with warm_start=False")
        net = self.network_
        net.loss = loss         # the loss it trains with (a saved network_ keeps it)
        if self.solver == "lbfgs" and self.optimizer is None:
            self._fit_lbfgs(net, loss, X, T, w)
        else:
            self._fit_stochastic(net, loss, X, T, w, rng, incremental=incremental)
        bad = np.flatnonzero(~np.isfinite(net.flat_values))
        if bad.size:                            # scikit-learn's words, and where
            raise _solvers.NonFiniteWeights(
                f"Solver produced non-finite parameter weights. The input data may contain "
                f"large values and need to be preprocessed (first in {net.locate(bad)}, "
                f"epoch {self._diverged_at}; e.g. StandardScaler, or a smaller "
                f"learning_rate_init)")
        if self._diverged_at is not None:
            raise _solvers.NonFiniteWeights(
                f"training diverged: the loss became NaN or inf in epoch "
                f"{self._diverged_at} while the weights stayed finite. The input data may "
                f"contain large values and need to be preprocessed (e.g. StandardScaler), or "
                f"learning_rate_init may be too large")
        return self

    # -- using the fitted network ------------------------------------------------------
    def _check_X(self, X):
        """X validated against what fit saw: (n_samples, n_features_in_) in the net dtype
        (a sparse matrix stays sparse)."""
        check_is_fitted(self)
        return validate_data(self, X, reset=False, accept_sparse=SPARSE_FORMATS,
                             dtype=self.network_.dtype)

    def _dense_values(self, name) -> list[np.ndarray]:
        return [getattr(layer, name).value for layer in self.network_.layers
                if isinstance(layer, Dense)]

    def _set_dense_values(self, name, attribute, arrays) -> None:
        """Copy ``arrays`` into the Dense layers' parameters (shapes checked first)."""
        check_is_fitted(self)
        views = self._dense_values(name)
        _write_through(attribute, views, range(len(views)), list(arrays), whole=True)

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrices W (in, out) of the Dense layers, input to output (views).
        Assignable as in scikit-learn: ``est.coefs_ = [...]`` or ``est.coefs_[i] = W``
        copies the values into the network (same shapes; cast to its dtype)."""
        return _Layers("coefs_", self._dense_values("W"))

    @coefs_.setter
    def coefs_(self, arrays) -> None:
        self._set_dense_values("W", "coefs_", arrays)

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The biases b (out,) of the Dense layers, input to output (views); assignable
        like ``coefs_``."""
        return _Layers("intercepts_", self._dense_values("b"))

    @intercepts_.setter
    def intercepts_(self, arrays) -> None:
        self._set_dense_values("b", "intercepts_", arrays)

    # -- pickling ----------------------------------------------------------------------
    def __setstate__(self, state):
        super().__setstate__(state)
        net = self.__dict__.get("network_")
        # Network pickles its optimiser's state but not the optimiser (closures): rebuild
        # the same one around the same learning-rate holder, so partial_fit continues.
        if net is not None and net.optimizer_state is not None \
                and self.__dict__.get("_rate") is not None:
            net.optimizer = _parts.make_optimizer(self, self._rate)
