"""MLPClassifier: binary, multi-class and multi-label classification with an ffbp Network."""

from __future__ import annotations

import numpy as np
import scipy.sparse
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from ..errors import ConfigError, DataError
from ..layers import Sigmoid, Softmax
from ..losses.sklearn_scale import LogLoss, SoftmaxLogLoss
from ._base import BaseMLP, has_stochastic_solver
from ._params import SHARED, anything


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multi-layer perceptron classifier trained by ffbp's back-propagation.

    Takes every parameter of ``sklearn.neural_network.MLPClassifier`` with the same meaning,
    scale and default, then ffbp's extras.

    Targets:
        * binary, any two labels: one sigmoid output with log loss; ``predict_proba`` gives
          (n_samples, 2);
        * multi-class, k ≥ 3 labels: k softmax outputs with cross-entropy;
        * multi-label, y an indicator matrix (n_samples, k) of 0/1: k sigmoid outputs, the
          log loss summed over the labels; ``predict`` returns the indicator matrix.
        Labels may be any sortable values (ints, strings); ``classes_`` holds them.

    scikit-learn's parameters:
        hidden_layer_sizes: widths of the hidden layers, e.g. (100,) or (64, 32).
        activation: "identity", "logistic", "tanh", "relu" (or any name in
            ``ffbp.layers.ACTIVATIONS``: "leaky_relu", "elu", ...).
        solver: "adam" (default), "sgd", or "lbfgs" (full-batch L-BFGS-B from SciPy; best on
            small data sets).
        alpha: L2 penalty. The objective of a batch is E + α/(2 Σw) ‖W‖² (Σw: the batch's
            weight sum, its size when unweighted), on the weights, not the biases.
        batch_size: samples per step, "auto" = min(200, n_samples).
        learning_rate: the schedule of "sgd": "constant", "invscaling" (α = α₀ / (t + 1)^power_t
            with t the samples seen, set after each epoch) or "adaptive" (α / 5 whenever
            ``n_iter_no_change`` epochs fail to improve by ``tol``; stops below 1e-6).
        learning_rate_init: the step size α₀ of "sgd" and "adam".
        power_t: the exponent of "invscaling".
        max_iter: epochs at most ("sgd", "adam"), iterations at most ("lbfgs").
        shuffle: reshuffle the samples every epoch.
        random_state: None, an int or a RandomState: initial weights, shuffling, split.
        tol: the improvement that counts: stop when the training loss (or, with early
            stopping, the held-out score) has not improved by ``tol`` for more than
            ``n_iter_no_change`` epochs; for "lbfgs", the projected-gradient tolerance.
        verbose: print "Iteration N, loss = …" after each epoch.
        warm_start: fit continues from the previous solution (same classes required).
        momentum, nesterovs_momentum: "sgd"'s momentum μ ∈ [0, 1] and its Nesterov form.
        early_stopping, validation_fraction: hold out that share (stratified) and stop on its
            accuracy; the best epoch's weights are kept.
        beta_1, beta_2, epsilon: Adam's β₁, β₂ and ε.
        n_iter_no_change: patience in epochs (``np.inf``: never stop early).
        max_fun: "lbfgs"'s limit on loss evaluations.

    ffbp's extras:
        optimizer: None (use ``solver``), an ``ffbp.optim`` transformation, or one of ffbp's
            optimiser names ("adam", "sgd", "momentum", "adamw", "rmsprop") built with
            ``learning_rate_init``; it then replaces the solver.
        dtype: None (compute in X's dtype: float32 stays float32, anything else float64, as
            scikit-learn does), np.float32 or np.float64.
        batch_norm: BatchNorm after each hidden Dense layer.
        dropout: dropout probability after each hidden activation (0 = none).
        init: weight initialiser (``ffbp.init`` name or callable); None = "he_normal" for
            the ReLU family, "glorot_uniform" otherwise.
        callbacks: ffbp callbacks (``ffbp.callbacks``), called after each epoch with
            ``{"loss": …}`` (and ``"val_score"`` with early stopping).
        class_weight: None, "balanced" or {label: weight}; multiplies each sample's weight
            by its class's (single-label targets).

    Attributes:
        classes_, n_features_in_, feature_names_in_ (fit on a DataFrame with string column
        names), n_outputs_, n_layers_, out_activation_ ("logistic" or "softmax"),
        coefs_ / intercepts_ (the Dense layers' W (in, out) and b (out,), views into the
        network), loss_, loss_curve_, best_loss_, validation_scores_,
        best_validation_score_, n_iter_ (epochs of the last fit call), t_ (samples seen),
        learning_rate_ (the step size at the end), network_ (the trained ``ffbp.Network``).
    """

    _stratify = True
    _params = {**SHARED, "class_weight": anything()}
    #: The loss minimised, by scikit-learn's name (an attribute there too, not a parameter).
    loss = "log_loss"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 optimizer=None, dtype=None, batch_norm=False, dropout=0.0, init=None,
                 callbacks=None, class_weight=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None):
        """Train for up to ``max_iter`` epochs (L-BFGS iterations); a new network unless
        ``warm_start``.

        Args:
            X: (n_samples, n_features) numbers, or a SciPy CSR/CSC sparse matrix.
            y: (n_samples,) labels, or (n_samples, k) 0/1 indicator matrix (multi-label;
                dense, or a SciPy sparse matrix, and then ``predict`` gives a CSR matrix).
            sample_weight: (n_samples,) non-negative; the loss of a batch is Σ wE / Σ w.
        Returns: self.
        """
        return self._fit(X, y, sample_weight)

    @available_if(has_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch on (X, y), continuing the network and its optimiser state.

        ``classes`` (every label that will ever occur; for multi-label 0..k−1) is required
        on the first call, as in scikit-learn. Returns: self."""
        if classes is None and not hasattr(self, "network_"):
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict(self, X) -> np.ndarray:
        """Labels (n_samples,) from ``classes_``, or the (n_samples, k) 0/1 indicator
        matrix for a multi-label fit (a SciPy CSR matrix when the first fit's y was
        sparse)."""
        X = self._check_X(X)             # first: raises NotFittedError before fit
        decided = self.network_.predict(X)
        if len(self.classes_) == 1:
            return np.repeat(self.classes_, decided.shape[0])
        if not self._multilabel:
            return self.classes_[decided]
        # Fitted on a sparse indicator matrix: a sparse one back, as scikit-learn gives.
        return scipy.sparse.csr_matrix(decided) if getattr(self, "_sparse_labels", False) \
            else decided

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities in the network's dtype: (n_samples, n_classes), rows summing to 1;
        for multi-label (n_samples, k), the probability of each label on its own."""
        X = self._check_X(X)
        P = self.network_.predict_proba(X)
        if self._multilabel:
            return P
        if len(self.classes_) == 1:
            return np.ones((P.shape[0], 1), dtype=P.dtype)
        if P.shape[1] == 1:                     # binary: the sigmoid gives P(classes_[1])
            return np.hstack([1.0 - P, P])
        return P / P.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X) -> np.ndarray:
        """log of ``predict_proba`` (−inf where a probability underflowed to 0)."""
        P = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(P)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags

    # -- hooks -------------------------------------------------------------------------
    def _make_loss(self):
        # One class (scikit-learn fits it too): one sigmoid output learning "not a second
        # class", so predict gives classes_[0] and predict_proba a column of ones.
        if self._multilabel or len(self.classes_) <= 2:
            return LogLoss(), Sigmoid, "logistic"
        return SoftmaxLogLoss(), Softmax, "softmax"

    def _weights(self, T, w):
        if self.class_weight is None:
            return w
        if self.class_weight == "balanced" and self._incremental:
            raise ConfigError("class_weight='balanced' needs the whole training set, which "
                              "partial_fit never sees: pass the weights as a dict {label: "
                              "weight} (as scikit-learn's SGDClassifier asks)")
        if self._multilabel:
            raise ConfigError("class_weight needs single-label targets, not a multi-label "
                              "indicator matrix (weight the samples with sample_weight)")
        if not (self.class_weight == "balanced" or isinstance(self.class_weight, dict)):
            raise ConfigError(f"class_weight must be None, 'balanced' or a dict {{label: "
                              f"weight}}, got {self.class_weight!r}")
        weights = self.class_weight
        if isinstance(weights, dict):
            unknown = [k for k in weights if k not in set(self.classes_.tolist())]
            if unknown:
                raise ConfigError(f"class_weight names the label {unknown[0]!r}, which is not "
                                  f"one of classes_ {self.classes_.tolist()!r}")
            weights = {int(np.searchsorted(self.classes_, k)): v for k, v in weights.items()}
        per_class = compute_sample_weight(weights, T)
        return per_class if w is None else w * per_class

    def _encode_targets(self, y, first, classes, incremental):
        """(class indices (n,) or the indicator matrix (n, k), number of outputs)."""
        sparse = scipy.sparse.issparse(y)
        if sparse:                 # a sparse label matrix: trained on as the dense one
            y = y.toarray()
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise DataError(f"MLPClassifier does not support {kind} targets (y of shape "
                            f"{y.shape}); y must hold labels (n_samples,) or a 0/1 indicator "
                            f"matrix (n_samples, n_labels)")
        multilabel = kind == "multilabel-indicator"
        if first:
            self._set_classes(y, multilabel, classes)
            self._sparse_labels = sparse
        elif incremental:
            if classes is not None and not np.array_equal(unique_labels(classes),
                                                          self.classes_):
                raise ValueError(f"`classes={classes!r}` is not the same as on the first "
                                 f"call to partial_fit, {self.classes_!r}")
        else:                                   # warm_start
            found = np.arange(y.shape[1]) if multilabel else unique_labels(y)
            if not np.array_equal(found, self.classes_):
                raise ValueError(f"warm_start can only be used where `y` has the same classes "
                                 f"as in the previous call to fit. Previously got "
                                 f"{self.classes_}, `y` has {found}")
        if multilabel != self._multilabel:
            raise DataError("y is multi-label now but was not when first fitted (or the "
                            "other way round)")
        if multilabel:
            if y.shape[1] != len(self.classes_):
                raise DataError(f"y has {y.shape[1]} label columns but classes_ has "
                                f"{len(self.classes_)}")
            return y, y.shape[1]
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise DataError(f"y has the label {y[unknown][0]!r}, which is not one of "
                            f"classes_ {self.classes_.tolist()!r}")
        n_outputs = 1 if len(self.classes_) <= 2 else len(self.classes_)
        return np.searchsorted(self.classes_, y), n_outputs

    def _set_classes(self, y, multilabel, classes):
        """classes_ on the first fit: from ``classes`` (partial_fit) or y."""
        if classes is not None:
            found = unique_labels(classes)
        else:
            found = np.arange(y.shape[1]) if multilabel else unique_labels(y)
        if multilabel and not np.array_equal(found, np.arange(y.shape[1])):
            raise DataError(f"for multi-label y with {y.shape[1]} columns, classes must be "
                            f"0..{y.shape[1] - 1} (the columns), got {found.tolist()!r}")
        self.classes_ = found
        self._multilabel = multilabel

    def _validation_score(self, X, T, w) -> float:
        """Accuracy (subset accuracy for multi-label) of the network on held-out data."""
        return accuracy_score(T, self.network_.predict(X), sample_weight=w)
