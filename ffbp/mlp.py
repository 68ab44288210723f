"""The multi-layer perceptron, built in one place for everyone who builds one (the ``ffbp``
command, the scikit-learn estimators, scripts).

    net = ffbp.mlp(64, (32,), 10, activation="relu", output=ffbp.Softmax, seed=0)
    # Dense(64, 32) → ReLU → Dense(32, 10) → Softmax
"""

from __future__ import annotations

import copy

import numpy as np

from . import init as initializers
from .errors import ConfigError
from .layers import ELU, BatchNorm, Dense, Dropout, LeakyReLU, ReLU
from .layers.activations import get as activation_layer
from .network import Network

#: Activations whose units are half-linear: He initialisation keeps their variance (He et
#: al. 2015); the saturating ones (tanh, logistic) are better served by Glorot's.
RELU_FAMILY = (ReLU, LeakyReLU, ELU)


def mlp(n_inputs: int, hidden, n_outputs: int, activation="relu", *, output=None,
        init="auto", output_init="glorot_uniform", batch_norm: bool = False,
        dropout: float = 0.0, seed: int | None = 0, dtype=np.float32) -> Network:
    """Per hidden width h: Dense(h) → [BatchNorm(h)] → activation → [Dropout(dropout)];
    then Dense(n_outputs) → ``output`` (a layer class such as Softmax, or None for linear
    outputs).

    Shape: X (n_samples, n_inputs) -> Y (n_samples, n_outputs).

    Args:
        hidden: the hidden widths, e.g. (64, 32); () for none (a linear or logistic model).
        activation: a name of ``ffbp.layers.ACTIVATIONS`` or an activation class.
        init: the hidden Dense layers' initialiser: "auto" (He-normal for the ReLU family,
            Glorot-uniform otherwise), or an ``ffbp.init`` name or function.
        output_init: the output Dense layer's (it feeds a softmax, a sigmoid or nothing:
            Glorot-uniform by default).
        batch_norm: BatchNorm before each hidden activation (on the net input h', as Ioffe
            and Szegedy place it).
        seed, dtype: as ``Network``.
    """
    template = activation_layer(activation)              # checks the name
    if isinstance(init, str) and init == "auto":
        init = "he_normal" if isinstance(template, RELU_FAMILY) else "glorot_uniform"
    init, output_init = initializers.get(init), initializers.get(output_init)
    if isinstance(hidden, (int, np.integer)):
        hidden = (hidden,)
    try:
        widths = [int(n_inputs), *(int(h) for h in hidden)]
    except (TypeError, ValueError):
        raise ConfigError(f"hidden must be a tuple of positive integers, got {hidden!r}") \
            from None
    layers = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers.append(Dense(a, b, init=init))
        if batch_norm:
            layers.append(BatchNorm(b))
        layers.append(copy.deepcopy(template))     # each position its own layer
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(widths[-1], n_outputs, init=output_init))
    if output is not None:
        layers.append(output())
    return Network(layers, seed=seed, dtype=dtype)
