"""MLPClassifier: binary, multi-class and multi-label classification with an ffbp Network."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from .._validation import lookup
from ..errors import ConfigError, DataError
from ..layers import Sigmoid, Softmax
from ..losses import BinaryCrossEntropy, CrossEntropy
from ._base import BaseMLP

#: The classifier's loss is the likelihood loss that fits the targets: binary
#: cross-entropy on sigmoid outputs (two classes, multi-label), categorical cross-entropy on a
#: softmax (three or more classes). "log_loss" is scikit-learn's name for the same thing.
CLASSIFIER_LOSSES = {"cross_entropy": "cross_entropy", "log_loss": "cross_entropy"}


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multi-layer perceptron classifier trained by ffbp's back-propagation and ``fit``.

    Targets:
        * binary, any two labels: one sigmoid output with binary cross-entropy;
          ``predict_proba`` gives (n_samples, 2);
        * multi-class, k ≥ 3 labels: k softmax outputs with cross-entropy;
        * multi-label, y an indicator matrix (n_samples, k) of 0/1: k sigmoid outputs with
          binary cross-entropy; ``predict`` returns the indicator matrix.
        Labels may be any sortable values (ints, strings); ``classes_`` holds them.

    Parameters:
        hidden_layer_sizes: widths of the hidden layers, e.g. (100,) or (64, 32).
        activation: hidden activation, any name in ``ffbp.layers.ACTIVATIONS`` ("relu",
            "tanh", "logistic", "leaky_relu", "elu", "identity", ...).
        loss: "cross_entropy" (alias "log_loss").
        optimizer: "adam", "sgd", "momentum", "adamw", "rmsprop", or an ``ffbp.optim``
            transformation (then ``learning_rate`` is the transformation's own).
        learning_rate: step size α (a number or an ``ffbp.optim.schedules`` schedule).
        batch_size: samples per step, or "auto" = min(200, n_samples).
        max_iter: epochs (full passes over the training set) at most.
        alpha: L2 penalty ½α‖W‖² on the weights (not biases), coupled into the gradient
            (decoupled for "adamw").
        early_stopping: hold out ``validation_fraction`` (stratified) and stop when its
            accuracy has not improved by ``tol`` for ``n_iter_no_change`` epochs; the best
            epoch's weights are kept.
        validation_fraction: share of the training set held out for early stopping.
        n_iter_no_change: patience, in epochs, of either stopping rule.
        tol: without early stopping, stop when the training loss has not improved by
            ``tol`` for ``n_iter_no_change`` epochs; None trains all ``max_iter`` epochs.
        shuffle: reshuffle the samples every epoch.
        random_state: None, an int or a RandomState: initial weights, shuffling, split.
        dtype: np.float32 (fast, default) or np.float64.
        batch_norm: BatchNorm after each hidden Dense layer.
        dropout: dropout probability after each hidden activation (0 = none).
        init: weight initialiser (``ffbp.init`` name or callable); None = "he_normal" for
            the ReLU family, "glorot_uniform" otherwise.
        verbose: show a progress bar.

    Attributes:
        classes_: (n_classes,) the labels (for multi-label: 0..k−1, the columns of y).
        n_features_in_, feature_names_in_ (fit on a DataFrame with string column names).
        network_: the trained ``ffbp.Network``; ``coefs_``, ``intercepts_``: its Dense
            layers' W (in, out) and b (out,).
        n_outputs_: output units (1 for binary); out_activation_: "logistic" or "softmax".
        loss_curve_: training loss per epoch (with the L2 penalty); loss_; best_loss_.
        validation_scores_, best_validation_score_: held-out accuracy per epoch and its
            best, with early stopping (else None).
        n_iter_: epochs trained (summed over partial_fit calls).
    """

    _stratify = True

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *,
                 loss="cross_entropy", optimizer="adam", learning_rate=1e-3,
                 batch_size=32, max_iter=200, alpha=1e-4, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-4, shuffle=True,
                 random_state=None, dtype=np.float32, batch_norm=False, dropout=0.0,
                 init=None, verbose=False):
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
            y: (n_samples,) labels, or (n_samples, k) 0/1 indicator matrix (multi-label).
            sample_weight: (n_samples,) non-negative; a weight of 2 counts a sample twice
                within its batch (exactly duplication when a batch is the whole set).
        Returns: self.
        """
        return self._fit(X, y, sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch on (X, y), continuing the network and its optimiser state (no stopping
        rule applies: early_stopping and tol only concern ``fit``).

        ``classes`` (every label that will ever occur; for multi-label 0..k−1) is required
        on the first call, as in scikit-learn. Returns: self."""
        if classes is None and not hasattr(self, "network_"):
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict(self, X) -> np.ndarray:
        """Labels (n_samples,) from ``classes_``, or the (n_samples, k) 0/1 indicator
        matrix for a multi-label fit."""
        X = self._check_X(X)             # first: raises NotFittedError before fit
        decided = self.network_.predict(X)
        return decided if self._multilabel else self.classes_[decided]

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities, float64: (n_samples, n_classes) with rows summing to 1; for
        multi-label (n_samples, k), the probability of each label on its own."""
        X = self._check_X(X)
        P = self.network_.predict_proba(X).astype(np.float64)
        if self._multilabel:
            return P
        if P.shape[1] == 1:                     # binary: the sigmoid gives P(classes_[1])
            return np.hstack([1.0 - P, P])
        # A float32 softmax sums to 1 only within ~1e-7; renormalised in float64, the rows
        # sum to 1 to the precision callers compare with.
        return P / P.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X) -> np.ndarray:
        """log of ``predict_proba`` (−inf where a probability underflowed to 0)."""
        P = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(P)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    # -- hooks -------------------------------------------------------------------------
    def _make_loss(self):
        if not isinstance(self.loss, str):
            raise ConfigError(f"loss must be one of {sorted(CLASSIFIER_LOSSES)}, got "
                              f"{self.loss!r}")
        lookup(self.loss, CLASSIFIER_LOSSES, "loss")          # ConfigError with a hint
        if self._multilabel or len(self.classes_) == 2:
            return BinaryCrossEntropy(), Sigmoid, "logistic"
        return CrossEntropy(), Softmax, "softmax"

    def _encode_targets(self, y, first, classes, sample_weight):
        """(class indices (n,) or the indicator matrix (n, k), number of outputs)."""
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
            self._set_classes(y, multilabel, classes, sample_weight)
        else:
            if classes is not None and not np.array_equal(unique_labels(classes),
                                                          self.classes_):
                raise ValueError(f"classes={classes!r} is not the same as on the first call "
                                 f"to partial_fit, {self.classes_!r}")
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
        n_outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
        return np.searchsorted(self.classes_, y), n_outputs

    def _set_classes(self, y, multilabel, classes, sample_weight):
        """classes_ on the first fit: from ``classes`` (partial_fit) or y."""
        if classes is not None:
            found = unique_labels(classes)
        else:
            found = np.arange(y.shape[1]) if multilabel else unique_labels(y)
        if multilabel:
            if not np.array_equal(found, np.arange(y.shape[1])):
                raise DataError(f"for multi-label y with {y.shape[1]} columns, classes must be "
                                f"0..{y.shape[1] - 1} (the columns), got {found.tolist()!r}")
        else:
            if classes is None and sample_weight is not None:
                # Classes with no weight teach the network nothing (zero weights drop
                # samples): they count as absent.
                weighted = unique_labels(y[sample_weight > 0])
                if len(weighted) < 2:
                    raise DataError(f"only one class ({weighted.tolist()!r}) has samples with "
                                    f"non-zero sample_weight; a classifier needs at least "
                                    f"two classes")
            if len(found) < 2:
                raise DataError(f"y has only one class ({found.tolist()!r}); a classifier "
                                f"needs samples of at least two classes")
        self.classes_ = found
        self._multilabel = multilabel

    def _validation_score(self, X, T, w) -> float:
        """Accuracy (subset accuracy for multi-label) of the network on held-out data."""
        return accuracy_score(T, self.network_.predict(X), sample_weight=w)
