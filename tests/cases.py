"""The grid of networks the gradient tests sweep: hidden activation × output/loss × depth.

Each output case names the output layer (or none: raw Dense output), the loss, and how to
draw targets for it, plus the equivalent PyTorch loss for the autograd comparison.
"""

from __future__ import annotations

import numpy as np

import ffbp

HIDDEN = {
    "sigmoid": ffbp.Sigmoid, "tanh": ffbp.Tanh, "relu": ffbp.ReLU, "leaky_relu": ffbp.LeakyReLU,
    "elu": ffbp.ELU, "identity": ffbp.Identity, "step": ffbp.Step,
}


def _regression(rng, n, k):
    return rng.normal(size=(n, k))


def _classes(rng, n, k):
    return rng.integers(0, k, size=n)


def _binary(rng, n, k):
    return rng.integers(0, 2, size=(n, k)).astype(float)


def _signs(rng, n, k):
    return rng.choice([-1.0, 1.0], size=(n, k))


def _cosine(rng, n, k):
    return ffbp.losses.CosineEmbedding.targets(rng.normal(size=(n, k)),
                                               rng.choice([-1.0, 1.0], size=n))


# name: (output layer class or None, loss factory, target maker, n_outputs)
OUTPUTS = {
    "linear+squared_error": (None, ffbp.losses.SquaredError, _regression, 2),
    "linear+mse": (None, ffbp.losses.MSE, _regression, 3),
    "linear+mae": (None, ffbp.losses.MAE, _regression, 2),
    "linear+huber": (None, lambda: ffbp.losses.Huber(0.7), _regression, 2),
    "tanh+mse": (ffbp.Tanh, ffbp.losses.MSE, _regression, 2),
    "softmax+cross_entropy": (ffbp.Softmax, ffbp.losses.CrossEntropy, _classes, 3),
    "softmax+mse": (ffbp.Softmax, ffbp.losses.MSE, _regression, 3),
    "logits+cross_entropy": (None, ffbp.losses.CrossEntropyWithLogits, _classes, 3),
    "log_softmax+nll": (ffbp.LogSoftmax, ffbp.losses.NLL, _classes, 3),
    "sigmoid+bce": (ffbp.Sigmoid, ffbp.losses.BinaryCrossEntropy, _binary, 2),
    "sigmoid+mse": (ffbp.Sigmoid, ffbp.losses.MSE, _binary, 1),
    "logits+bce": (None, ffbp.losses.BinaryCrossEntropyWithLogits, _binary, 2),
    "linear+hinge": (None, ffbp.losses.Hinge, _signs, 1),
    "linear+multi_margin": (None, ffbp.losses.MultiMargin, _classes, 3),
    "linear+hinge_embedding": (None, ffbp.losses.HingeEmbedding, _signs, 1),
    "linear+cosine_embedding": (None, ffbp.losses.CosineEmbedding, _cosine, 3),
}

DEPTHS = (1, 2, 3, 4)


def build(hidden: str, output: str, depth: int, seed: int = 0, n_features: int = 4,
          width: int = 5, dtype=np.float64):
    """A ``depth``-Dense-layer network with ``hidden`` activations and the ``output`` case;
    returns (net, loss, X, T)."""
    out_layer, make_loss, make_targets, k = OUTPUTS[output]
    rng = np.random.default_rng(seed)
    layers, fan_in = [], n_features
    for _ in range(depth - 1):
        layers += [ffbp.Dense(fan_in, width), HIDDEN[hidden]()]
        fan_in = width
    layers.append(ffbp.Dense(fan_in, k))
    if out_layer is not None:
        layers.append(out_layer())
    net = ffbp.Network(layers, seed=seed, dtype=dtype)
    # Non-zero biases so that no unit sits exactly at a kink for every sample.
    for p in net.parameters():
        if p.name == "b":
            p.value[...] = rng.normal(0, 0.3, size=p.shape)
    X = rng.normal(size=(6, n_features))
    return net, make_loss(), X, make_targets(rng, 6, k)
