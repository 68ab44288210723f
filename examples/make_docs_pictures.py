"""Draw the pictures of the README's "Seeing how it learns" section into docs/.

A 2-8-8-8-1 tanh network learns two interleaved half-moons (generated here with NumPy);
a GradientHealth callback with a probe batch records the per-layer gradient norms.

Run: python examples/make_docs_pictures.py      (needs pip install "ffbp[plots]")
"""

from pathlib import Path

import numpy as np

import ffbp
from ffbp import plots
from ffbp.diagnostics import GradientHealth

DOCS = Path(__file__).resolve().parent.parent / "docs"
SIZE = (800, 500)


def moons(n, noise, rng):
    """Two interleaving half circles, labels 0 and 1."""
    angle = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper, np.cos(angle), 1 - np.cos(angle))
    y = np.where(upper, np.sin(angle), 0.5 - np.sin(angle))
    X = np.column_stack([x, y]) + rng.normal(scale=noise, size=(n, 2))
    return X, (~upper).astype(float)


def main() -> None:
    rng = np.random.default_rng(0)
    X, y = moons(400, 0.15, rng)
    net = ffbp.Network([ffbp.Dense(2, 8), ffbp.Tanh(), ffbp.Dense(8, 8), ffbp.Tanh(),
                        ffbp.Dense(8, 8), ffbp.Tanh(), ffbp.Dense(8, 1), ffbp.Sigmoid()],
                       seed=0)
    health = GradientHealth(probe=(X[:64], y[:64]))
    history = net.fit(X, y, loss="binary_cross_entropy", optimizer=ffbp.optim.adam(0.01),
                      epochs=60, batch_size=32, validation_split=0.25, seed=0, verbose=False,
                      callbacks=[health])
    DOCS.mkdir(exist_ok=True)
    written = [
        plots.plot_history(history, DOCS / "loss_curves.png", size=SIZE),
        plots.plot_gradient_norms(health, DOCS / "gradient_norms.png", size=SIZE),
        plots.plot_decision_boundary(net, X, y, DOCS / "decision_boundary.png", size=SIZE),
        plots.plot_network(net, DOCS / "network.png", size=SIZE),
        plots.plot_activations(DOCS / "activations.png", size=SIZE),
    ]
    print(f"val_accuracy {history.val_accuracy[-1]:.3f}; warnings: {health.messages or 'none'}")
    for path in written:
        shrink(path)
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def shrink(path):
    """Re-save with a 256-colour palette: a third of the bytes, no visible difference (the
    README pictures should stay small). Pillow comes with matplotlib."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256)
    small.save(path, optimize=True)


if __name__ == "__main__":
    main()
