"""The pieces an estimator assembles at fit time, each resolved from its hyper-parameters.

scikit-learn's contract is that ``__init__`` only stores its arguments, so every name and
number is checked here, when ``fit`` first needs it, with ffbp's ``ConfigError`` (a
``ValueError``) and its "did you mean" hint for unknown names.
"""

from __future__ import annotations

import numpy as np

from .. import init as initializers
from .. import optim
from .._validation import check_positive, lookup
from ..errors import ConfigError
from ..layers import ACTIVATIONS, ELU, BatchNorm, Dense, Dropout, LeakyReLU, ReLU
from ..network import Network

#: Activations whose units are half-linear: He initialisation keeps their variance (He et
#: al. 2015); the saturating ones (tanh, logistic) are better served by Glorot's.
RELU_FAMILY = (ReLU, LeakyReLU, ELU)

#: Optimiser names -> ffbp.optim aliases, each called as alias(learning_rate, weight_decay=α).
OPTIMIZERS = {"adam": optim.adam, "sgd": optim.sgd, "momentum": optim.momentum,
              "adamw": optim.adamw, "rmsprop": optim.rmsprop}


def check_dtype(dtype) -> np.dtype:
    """``dtype`` as a NumPy dtype, float32 or float64 (the two a Network computes in)."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.float32, np.float64):
        raise ConfigError(f"dtype must be np.float32 or np.float64, got {dtype!r}")
    return resolved


def check_fraction(value, name: str) -> float:
    """A number strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not 0.0 < value < 1.0:
        raise ConfigError(f"{name} must be a number in (0, 1), got {value!r}")
    return float(value)


def hidden_sizes(value) -> tuple[int, ...]:
    """``hidden_layer_sizes`` as a tuple of positive ints; an int is one hidden layer and
    ``()`` none at all (then the model is linear / logistic regression)."""
    sizes = (value,) if isinstance(value, (int, np.integer)) else value
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise ConfigError(f"hidden_layer_sizes must be a tuple of positive integers, got "
                          f"{value!r}") from None
    for size in sizes:
        check_positive(size, "each of hidden_layer_sizes", integer=True)
    return tuple(int(s) for s in sizes)


def activation_class(name) -> type:
    """The activation layer class named ``name`` (any key of ``ffbp.layers.ACTIVATIONS``)."""
    if not isinstance(name, str):
        raise ConfigError(f"activation must be one of the names {sorted(ACTIVATIONS)}, "
                          f"got {name!r}")
    return lookup(name, ACTIVATIONS, "activation")


def build_network(n_features: int, n_outputs: int, *, hidden, activation, output, init,
                  batch_norm: bool, dropout: float, seed: int, dtype) -> Network:
    """The MLP: per hidden width h, Dense(h) → [BatchNorm(h)] → activation → [Dropout];
    then Dense(n_outputs) → ``output`` (an activation class, or None for linear outputs).

    Shape: X (n_samples, n_features) -> Y (n_samples, n_outputs).

    ``init=None`` picks He-normal for the ReLU family's hidden layers and Glorot-uniform
    elsewhere (the output layer feeds a sigmoid, softmax or nothing); a name or callable
    initialises every Dense layer."""
    act = activation_class(activation)
    if init is None:
        hidden_init = "he_normal" if act in RELU_FAMILY else "glorot_uniform"
        out_init = "glorot_uniform"
    else:
        hidden_init = out_init = initializers.get(init)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.number)):
        raise ConfigError(f"dropout must be a probability in [0, 1), got {dropout!r}")
    layers, width = [], n_features
    for size in hidden_sizes(hidden):
        layers.append(Dense(width, size, init=hidden_init))
        if batch_norm:
            # Before the non-linearity, as in Ioffe & Szegedy: normalise the net input h'.
            layers.append(BatchNorm(size))
        layers.append(act())
        if dropout:
            layers.append(Dropout(dropout))
        width = size
    layers.append(Dense(width, n_outputs, init=out_init))
    if output is not None:
        layers.append(output())
    return Network(layers, seed=seed, dtype=dtype)


def make_optimizer(optimizer, learning_rate, alpha) -> optim.GradientTransformation:
    """A fresh optimiser: a name of ``OPTIMIZERS`` built with ``learning_rate`` and weight
    decay ``alpha``, or an ffbp.optim transformation used as given, with coupled L2 decay
    ``alpha`` chained in front (so ``alpha`` means the same penalty ½α‖W‖² whatever the
    optimiser). For "adamw" ``alpha`` is AdamW's own, decoupled, decay."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)) \
            or not alpha >= 0:
        raise ConfigError(f"alpha (the weight decay) must be a number >= 0, got {alpha!r}")
    if isinstance(optimizer, str):
        alias = lookup(optimizer, OPTIMIZERS, "optimizer")
        return alias(learning_rate, weight_decay=float(alpha))
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise ConfigError(f"optimizer must be one of {sorted(OPTIMIZERS)} or an ffbp.optim "
                          f"transformation, got {optimizer!r}")
    # chain() also gives each fit its own object: fit continues an optimiser's state only
    # when handed the very object it last used.
    links = [optim.add_decayed_weights(float(alpha))] if alpha else []
    return optim.chain(*links, optimizer)


class ValidationScore:
    """Callback: score the held-out set after each epoch (accuracy or R², like
    scikit-learn's ``validation_scores_``) and put −score into the epoch's logs as
    ``KEY``, where ffbp's ``EarlyStopping`` (which minimises what it watches) finds it.

    Args:
        score: function (X_val, T_val, w_val) -> float, higher is better.
        X, T, w: the validation inputs (n_val, n_features), targets and weights (or None).
    """

    KEY = "neg_validation_score"

    def __init__(self, score, X, T, w):
        self.score, self.data, self.scores = score, (X, T, w), []

    def on_epoch_end(self, epoch, logs):
        value = float(self.score(*self.data))
        self.scores.append(value)
        logs[self.KEY] = -value
        return False
