"""ffbp demo: learn the 8x8 handwritten digits (1,797 real images bundled with scikit-learn).

A 64-64-10 network (ReLU hidden layer, softmax output, cross-entropy) trained by
mini-batch gradient descent, evaluated on a held-out quarter of the images, and its
back-propagated gradients checked against central finite differences.
"""

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import ffbp


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X = X / 16.0                                   # pixel intensities 0..16 -> 0..1
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y)
    print(f"digits: {len(X_train)} training and {len(X_test)} held-out images, "
          f"{X.shape[1]} pixels, 10 classes\n")

    net = ffbp.Network([ffbp.Dense(64, 64, init="he_normal"), ffbp.ReLU(),
                        ffbp.Dense(64, 10), ffbp.Softmax()], seed=0)
    print(net.summary(), "\n")

    start = time.perf_counter()
    history = net.fit(X_train, y_train, loss="cross_entropy", optimizer=ffbp.optim.gd(0.1),
                      epochs=60, batch_size=32, seed=0, verbose=True)
    seconds = time.perf_counter() - start
    for epoch in (0, 9, 29, history.epochs - 1):
        print(f"epoch {epoch + 1:3d}  training loss {history.loss[epoch]:.4f}")
    print(f"trained {history.epochs} epochs in {seconds:.2f} s ({history.stop_reason})")

    train_acc = np.mean(net.predict(X_train) == y_train)
    test_acc = np.mean(net.predict(X_test) == y_test)
    print(f"\ntraining accuracy {train_acc:.4f}")
    print(f"held-out test accuracy {test_acc:.4f}")

    report = ffbp.gradcheck(net, "cross_entropy", X_test[:8], y_test[:8])
    print("\ngradient check (back-propagation vs central differences, float64):")
    print(report)
    if test_acc < 0.96 or not report.passed(1e-6):
        raise SystemExit("demo failed: accuracy below 0.96 or gradient check above 1e-6")


if __name__ == "__main__":
    main()
