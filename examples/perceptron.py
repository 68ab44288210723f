"""The single perceptron (tutorial 003): ŷ = step(x · w + b), trained by its own rule
w ← w + η (t − ŷ) x. It learns AND and OR, which a straight line separates, and cannot learn
XOR, which no straight line separates: ffbp says so with a ConvergenceWarning.

Run: python examples/perceptron.py
"""

import warnings

import numpy as np

import ffbp

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
TARGETS = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}


def main() -> None:
    for name, t in TARGETS.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ffbp.ConvergenceWarning)
            p = ffbp.Perceptron(learning_rate=1.0, max_epochs=20, seed=0).fit(X, t)
        dense = p.network_.layers[0]
        w, b = dense.W.value[:, 0], dense.b.value[0]
        print(f"{name}: targets {t}, predictions {p.predict(X).tolist()}")
        print(f"  w = {w.tolist()}, b = {b:g}; misclassified per epoch: {p.errors_}")
        if p.converged_:
            print(f"  converged after {p.n_epochs_} epoch(s): the line {w[0]:g}·x₁ "
                  f"{w[1]:+g}·x₂ {b:+g} = 0 separates the classes")
        else:
            print(f"  did not converge: {caught[0].message}")
        print()


if __name__ == "__main__":
    main()
