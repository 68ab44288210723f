"""XOR, which no single perceptron can learn, learnt by one hidden layer: the decision
boundary the network draws around the four corners, saved as a PNG.

Run: python examples/xor_boundary.py [output.png]      (needs pip install "ffbp[plots]")
"""

import sys

import numpy as np

import ffbp
from ffbp.plots import plot_decision_boundary

CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR = np.array([0, 1, 1, 0], dtype=float)


def main(path="xor_boundary.png") -> None:
    rng = np.random.default_rng(0)
    X = np.repeat(CORNERS, 25, axis=0) + rng.normal(scale=0.12, size=(100, 2))
    y = np.repeat(XOR, 25)
    net = ffbp.Network([ffbp.Dense(2, 4), ffbp.Tanh(), ffbp.Dense(4, 1), ffbp.Sigmoid()],
                       seed=0)
    history = net.fit(X, y, loss="binary_cross_entropy", optimizer=ffbp.optim.adam(0.05),
                      epochs=100, batch_size=20, seed=0, verbose=False)
    print(f"trained {history.epochs} epochs: loss {history.loss[-1]:.4f}, "
          f"accuracy {history.accuracy[-1]:.2f}")
    for corner, p in zip(CORNERS, net.predict_proba(CORNERS)[:, 0], strict=True):
        print(f"  x = {corner.astype(int).tolist()}  P(y = 1) = {p:.3f}")
    print("wrote", plot_decision_boundary(net, X, y, path, size=(700, 500)))


if __name__ == "__main__":
    main(*sys.argv[1:])
