"""Pictures of learning: loss curves, gradient norms, decision boundaries, the network, Φ.

Needs matplotlib (``pip install "ffbp[plots]"``), imported only when a plot is drawn. The
figures are drawn with matplotlib's object API on the Agg canvas, so nothing touches pyplot's
global state or opens a window. Every function writes a PNG of ``size`` = (width, height)
pixels at ``dpi`` to ``path`` (a file name or a binary file object) and returns ``path``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .errors import ConfigError
from .layers.dense import Dense

SIZE = (800, 500)

#: Φ and Φ' as the tutorials write them, for the activation plot's legends.
FORMULAS = {
    "sigmoid": ("σ(x) = 1 / (1 + e⁻ˣ)", "σ' = σ(1 − σ)"),
    "tanh": ("tanh x", "1 − tanh²"), "relu": ("max(0, x)", "1 if x > 0 else 0"),
    "leaky_relu": ("x or 0.01x", "1 or 0.01"), "elu": ("x or eˣ − 1", "1 or y + 1"),
    "identity": ("x", "1"), "step": ("1 if x ≥ 0 else 0", "0"),
}


def _figure(size, dpi):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError('plots need matplotlib: pip install "ffbp[plots]"') from None
    width, height = size
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path, dpi):
    with warnings.catch_warnings():     # small sizes: matplotlib shrinks what it must, fine
        warnings.filterwarnings("ignore", "constrained_layout not applied")
        fig.savefig(path, dpi=dpi, format="png")
    return path


def _finite(values):
    a = np.asarray(values, dtype=float)
    return np.where(np.isfinite(a), a, np.nan)


def plot_history(history, path, size=SIZE, dpi=100, logy: bool = False):
    """Training (and validation) loss per epoch; accuracy beside it when recorded.
    ``history`` is a History or a dict of lists (``history.as_dict()``)."""
    metrics = getattr(history, "metrics", history)
    metrics = {k: v for k, v in metrics.items() if isinstance(v, list) and v}
    if "loss" not in metrics:
        raise ConfigError("plot_history needs a history with a 'loss' list")
    acc = [k for k in ("accuracy", "val_accuracy") if k in metrics]
    fig = _figure(size, dpi)
    axes = fig.subplots(1, 2 if acc else 1, squeeze=False)[0]
    epochs = np.arange(1, len(metrics["loss"]) + 1)
    for key, style in (("loss", "-"), ("val_loss", "--")):
        if key in metrics:
            axes[0].plot(epochs[:len(metrics[key])], _finite(metrics[key]), style, label=key)
    axes[0].set(xlabel="epoch", ylabel="loss E", title="loss", yscale="log" if logy else "linear")
    for key, style in zip(acc, ("-", "--"), strict=False):
        axes[1].plot(epochs[:len(metrics[key])], metrics[key], style, label=key)
    if acc:
        axes[1].set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, path, dpi)


def plot_gradient_norms(health, path, size=SIZE, dpi=100):
    """Per-layer norms over training from a ``GradientHealth`` callback: the probe's gradient
    norms ‖∂E/∂W‖ per epoch (or, without a probe, the update norms ‖ΔW‖), and ‖ΔW‖/‖W‖."""
    fig = _figure(size, dpi)
    left, right = fig.subplots(1, 2)
    probe = any(health.gradient_norms.values())
    if probe:
        for name, values in health.gradient_norms.items():
            left.plot(np.arange(1, len(values) + 1), _finite(values), "o-", ms=3, label=name)
        left.set(xlabel="epoch", title="gradient norm ‖∂E/∂W‖ (probe batch)")
    else:
        for name, values in health.update_norms.items():
            left.plot(health.measured_at, _finite(values), label=name)
        left.set(xlabel="epoch", title="update norm ‖ΔW‖")
    for name, values in health.update_ratios.items():
        right.plot(health.measured_at, _finite(values), label=name)
    right.set(xlabel="epoch", title="update / weight ‖ΔW‖ / ‖W‖")
    for ax in (left, right):
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
    left.legend(fontsize="small")
    return _save(fig, path, dpi)


def plot_decision_boundary(net, X, y, path, size=SIZE, dpi=100, resolution: int = 200):
    """The regions a 2-input classifier assigns to each class, with the samples on top.
    One output: its value as shading and the decision threshold as a line; several: the
    class of largest output."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2 or net.n_features != 2:
        raise ConfigError("plot_decision_boundary needs a network with 2 inputs and X of "
                          f"shape (n, 2); got X {X.shape}, network inputs {net.n_features}")
    labels = np.asarray(y)
    labels = labels.argmax(axis=1) if labels.ndim == 2 and labels.shape[1] > 1 \
        else labels.reshape(-1)
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    out = net.outputs(np.column_stack([gx.ravel(), gy.ravel()]))
    fig = _figure(size, dpi)
    ax = fig.subplots()
    if out.shape[1] == 1:
        z = out[:, 0].reshape(gx.shape)
        threshold = getattr(net.loss, "threshold", None)
        if threshold is None:
            threshold = 0.5 if type(net.layers[-1]).__name__ == "Sigmoid" else 0.0
        mesh = ax.contourf(gx, gy, z, levels=20, cmap="RdBu_r", alpha=0.6)
        ax.contour(gx, gy, z, levels=[threshold], colors="k", linewidths=1.5)
        fig.colorbar(mesh, ax=ax, label="network output y")
    else:
        z = out.argmax(axis=1).reshape(gx.shape)
        k = out.shape[1]
        ax.contourf(gx, gy, z, levels=np.arange(k + 1) - 0.5, cmap="tab10", vmin=0, vmax=9,
                    alpha=0.35)
    ax.scatter(X[:, 0], X[:, 1], c=labels, cmap="tab10" if out.shape[1] > 1 else "RdBu_r",
               vmin=0, vmax=9 if out.shape[1] > 1 else 1, edgecolors="k", s=25)
    ax.set(xlabel="x₁", ylabel="x₂", title="decision boundary")
    return _save(fig, path, dpi)


def plot_network(net, path, size=SIZE, dpi=100, max_units: int = 12):
    """The units of every layer as circles and each W[i, j] as a line from input unit i to
    unit j: red for positive, blue for negative, thicker for larger |W[i, j]|. Layers wider
    than ``max_units`` show their first ``max_units`` units."""
    fig = _figure(size, dpi)                # first: it says how to get matplotlib if missing
    from matplotlib.collections import LineCollection

    dense = [(n, lay) for n, lay in enumerate(net.layers) if isinstance(lay, Dense)]
    widths = [dense[0][1].in_features] + [lay.out_features for _, lay in dense]
    shown = [min(w, max_units) for w in widths]
    top = max(shown)

    def ys(c):
        return (np.arange(shown[c]) - (shown[c] - 1) / 2)[::-1] * (top / max(top, 1))

    ax = fig.subplots()
    biggest = max(float(np.abs(lay.W.value).max()) for _, lay in dense) or 1.0
    for c, (n, lay) in enumerate(dense):
        W = lay.W.value[:shown[c], :shown[c + 1]]
        a, b = ys(c), ys(c + 1)
        segs = [((c, a[i]), (c + 1, b[j])) for i in range(W.shape[0]) for j in range(W.shape[1])]
        w = W.ravel()
        colors = np.where(w[:, None] > 0, [[0.84, 0.15, 0.16, 1.0]], [[0.12, 0.47, 0.71, 1.0]])
        colors[:, 3] = 0.25 + 0.75 * np.abs(w) / biggest
        ax.add_collection(LineCollection(segs, colors=colors,
                                         linewidths=0.3 + 3.0 * np.abs(w) / biggest))
        block = [type(x).__name__ for x in net.layers[n + 1:(dense[c + 1][0] if c + 1 <
                                                                 len(dense) else None)]]
        ax.text(c + 0.5, -top / 2 - 0.9, f"W{_sup(c + 1)} {lay.in_features}×{lay.out_features}"
                + ("\n" + " → ".join(block) if block else ""), ha="center", va="top",
                fontsize=8)
    for c in range(len(widths)):
        ax.scatter(np.full(shown[c], c), ys(c), s=120, c="white", edgecolors="k", zorder=3)
        name = "input" if c == 0 else ("output" if c == len(widths) - 1 else f"hidden {c}")
        more = f"\n(+{widths[c] - shown[c]} more)" if widths[c] > shown[c] else ""
        units = f"{widths[c]} unit{'s' if widths[c] > 1 else ''}"
        ax.text(c, top / 2 + 0.6, f"{name}\n{units}{more}", ha="center",
                va="bottom", fontsize=8)
    ax.set(xlim=(-0.5, len(widths) - 0.5), ylim=(-top / 2 - 2.2, top / 2 + 2.0))
    ax.set_title("weights: red > 0, blue < 0, width ∝ |W[i, j]|", fontsize=10)
    ax.axis("off")
    return _save(fig, path, dpi)


def plot_activations(path, activations=("sigmoid", "tanh", "relu", "leaky_relu", "elu",
                                        "identity", "step"), size=SIZE, dpi=100,
                     x_range=(-4.0, 4.0)):
    """Each activation Φ (solid) with its derivative Φ' (dashed), as in tutorials 002/003."""
    from .layers.activations import get

    fig = _figure(size, dpi)
    cols = min(4, len(activations))
    axes = fig.subplots(math.ceil(len(activations) / cols), cols, squeeze=False).ravel()
    x = np.linspace(*x_range, 401)
    for ax, name in zip(axes, activations, strict=False):
        act = get(name)
        phi, dphi = FORMULAS.get(name, (name, f"{name}'"))
        ax.plot(x, act.function(x), label=phi)
        ax.plot(x, act.derivative(x), "--", label=dphi)
        ax.set_title(type(act).__name__, fontsize=10)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.legend(fontsize=7, loc="upper left")
        ax.tick_params(labelsize=7)
    for ax in axes[len(activations):]:
        ax.axis("off")
    return _save(fig, path, dpi)


def _sup(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
