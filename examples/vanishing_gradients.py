"""Vanishing gradients (tutorial 003) and their cures, measured layer by layer.

Ten sigmoid layers with tutorial 002's small initial weights N(0, 0.01²): every layer back
multiplies δ by σ' ≤ ¼ and by small weights, so the first layer's gradient is many orders of
magnitude smaller than the last one's. ReLU with He initialisation, or BatchNorm after each
Dense layer, keeps every layer's gradient within an order of magnitude. A GradientHealth
callback notices the problem during training and names the remedies.

Run: python examples/vanishing_gradients.py
"""

import warnings

import numpy as np

import ffbp
from ffbp.diagnostics import GradientHealth
from ffbp.trace import trace

DEPTH, WIDTH = 10, 32


def deep(activation, init, batchnorm=False):
    layers, width = [], 16
    for _ in range(DEPTH):
        layers.append(ffbp.Dense(width, WIDTH, init=init))
        if batchnorm:
            layers.append(ffbp.BatchNorm(WIDTH))
        layers.append(activation())
        width = WIDTH
    return ffbp.Network(layers + [ffbp.Dense(width, 4, init=init)], seed=0)


def main() -> None:
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(256, 16)), rng.normal(size=(256, 4))
    nets = {
        "sigmoid, N(0, 0.01²)": deep(ffbp.Sigmoid, ffbp.init.small_normal(0.01)),
        "ReLU, He": deep(ffbp.ReLU, "he_normal"),
        "sigmoid + BatchNorm": deep(ffbp.Sigmoid, ffbp.init.small_normal(0.01), True),
    }
    norms = {}
    for name, net in nets.items():
        tr = trace(net, X[:64], T[:64], "mse", training=True)
        norms[name] = [np.linalg.norm(r.grads["W"]) for r in tr if r.dense]
    print("‖∂E/∂W‖ of each Dense layer (one batch of 64, MSE):\n")
    print("layer  " + "".join(f"{name:>24}" for name in norms))
    for k in range(DEPTH + 1):
        print(f"W{k + 1:<5d}" + "".join(f"{v[k]:24.3e}" for v in norms.values()))
    print("W1/W11" + "".join(f"{v[0] / v[-1]:24.1e}" for v in norms.values()))

    print("\nTraining the sigmoid network with a GradientHealth callback:")
    health = GradientHealth(probe=(X[:64], T[:64]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # the messages are printed below
        deep(ffbp.Sigmoid, ffbp.init.small_normal(0.01)).fit(
            X, T, loss="mse", optimizer=ffbp.optim.sgd(0.1), epochs=2, verbose=False,
            callbacks=[health])
    for message in health.messages:
        print(" ", message)


if __name__ == "__main__":
    main()
