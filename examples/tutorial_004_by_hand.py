"""Tutorial 004 worked by hand, then by ffbp, side by side.

One hidden layer of three sigmoid units, one linear output, no biases, E = ½(d − y)²:

    h'_j = Σ_i x_i W¹_ij,   h_j = Φ(h'_j),   y = Σ_j h_j W²_j
    ΔW²_j  = α (d − y) h_j                      (step 1: hidden → output)
    ΔW¹_ij = α (d − y) W²_j Φ'_j x_i            (step 2: input → hidden)

Run: python examples/tutorial_004_by_hand.py
"""

import math

import numpy as np

import ffbp
from ffbp.explain import explain

x = [0.5, -1.0]
d = 0.7
W1 = [[0.1, -0.2, 0.3], [0.4, 0.05, -0.6]]
W2 = [0.7, -0.3, 0.2]
alpha = 0.5


def by_hand():
    """Plain Python loops, exactly the tutorial's formulas."""
    h_pre = [sum(x[i] * W1[i][j] for i in range(2)) for j in range(3)]
    h = [1 / (1 + math.exp(-v)) for v in h_pre]
    y = sum(h[j] * W2[j] for j in range(3))
    phi_prime = [hj * (1 - hj) for hj in h]                 # σ' = σ(1 − σ)
    dW2 = [alpha * (d - y) * h[j] for j in range(3)]
    dW1 = [[alpha * (d - y) * W2[j] * phi_prime[j] * x[i] for j in range(3)] for i in range(2)]
    return h_pre, h, y, dW1, dW2


def main() -> None:
    h_pre, h, y, dW1, dW2 = by_hand()
    print("by hand:")
    print(f"  h' = {[round(v, 6) for v in h_pre]}")
    print(f"  h  = {[round(v, 6) for v in h]}")
    print(f"  y  = {y:.6f},  E = ½(d − y)² = {0.5 * (d - y) ** 2:.6f}")

    first, second = ffbp.Dense(2, 3, bias=False), ffbp.Dense(3, 1, bias=False)
    net = ffbp.Network([first, ffbp.Sigmoid(), second], dtype=np.float64)
    first.W.value[...] = W1
    second.W.value[:, 0] = W2
    print(f"ffbp:  y  = {net.forward([x])[0, 0]:.6f}\n")

    print("weight     ΔW by hand      ΔW by ffbp.explain   ΔW by one fit step")
    before = net.copy()
    net.fit([x], [d], loss="squared_error", optimizer=ffbp.optim.gd(alpha), epochs=1,
            batch_size=None, verbose=False)
    worst = 0.0
    rows = [(2, j, 0, dW2[j]) for j in range(3)] + \
           [(1, i, j, dW1[i][j]) for i in range(2) for j in range(3)]
    for layer, i, j, hand in rows:
        e = explain(before, "squared_error", x, d, layer=layer, i=i, j=j, lr=alpha)
        dense = net.layers[0 if layer == 1 else 2]
        old = before.layers[0 if layer == 1 else 2].W.value[i, j]
        stepped = dense.W.value[i, j] - old
        worst = max(worst, abs(e.update - hand), abs(stepped - hand))
        print(f"W{'¹' if layer == 1 else '²'}[{i},{j}]  {hand: .12f}  {e.update: .12f}     "
              f"{stepped: .12f}")
    print(f"\nlargest difference from the hand-worked values: {worst:.1e}\n")
    print(explain(before, "squared_error", x, d, layer=1, i=0, j=1, lr=alpha))


if __name__ == "__main__":
    main()
