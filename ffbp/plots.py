"""Pictures of learning: loss curves, gradient norms, decision boundaries, the network, Φ.

Needs matplotlib (``pip install "ffbp[plots]"``), imported only when a plot is drawn. The
figures are drawn with matplotlib's object API on the Agg canvas, so nothing touches pyplot's
global state or opens a window. Every function writes a PNG of ``size`` = (width, height)
pixels at ``dpi`` to ``path`` (a file name or a binary file object) and returns ``path``;
``path=None`` returns the matplotlib Figure instead, to look at or test what was drawn.
"""

from __future__ import annotations

import math

import numpy as np

from ._plot_boundary import important_features, plot_decision_boundary
from ._plotting import (
    SIZE,
    finite,
    layer_colors,
    legend_outside,
    line_styles,
    log_floor,
    plot_log_series,
    zero_legend_entry,
)
from ._plotting import figure as _figure
from ._plotting import save as _save
from .errors import ConfigError
from .layers.dense import Dense

__all__ = ["FORMULAS", "SIZE", "important_features", "layer_colors", "plot_activations",
           "plot_decision_boundary", "plot_gradient_norms", "plot_history", "plot_network"]

#: Φ and Φ' as the tutorials write them, for the activation plot's legends.
FORMULAS = {
    "sigmoid": ("σ(x) = 1 / (1 + e⁻ˣ)", "σ' = σ(1 − σ)"),
    "tanh": ("tanh x", "1 − tanh²"), "relu": ("max(0, x)", "1 if x > 0 else 0"),
    "leaky_relu": ("x or 0.01x", "1 or 0.01"), "elu": ("x or eˣ − 1", "1 or y + 1"),
    "identity": ("x", "1"), "step": ("1 if x ≥ 0 else 0", "0"),
}


def plot_history(history, path, size=SIZE, dpi=100, logy: bool = False):
    """Training (and validation) loss per epoch; accuracy beside it when recorded.
    ``history`` is a History or a dict of lists (``history.as_dict()``). The curves' points
    are the history's values, epoch 1 first; with ``logy`` a loss of exactly 0 is drawn as
    a triangle at a floor the legend states."""
    metrics = getattr(history, "metrics", history)
    metrics = {k: v for k, v in metrics.items() if isinstance(v, list) and v}
    if "loss" not in metrics:
        raise ConfigError("plot_history needs a history with a 'loss' list")
    acc = [k for k in ("accuracy", "val_accuracy") if k in metrics]
    fig = _figure(size, dpi)
    axes = fig.subplots(1, 2 if acc else 1, squeeze=False)[0]
    epochs = np.arange(1, len(metrics["loss"]) + 1)
    losses = [k for k in ("loss", "val_loss") if k in metrics]
    floor = log_floor(metrics[k] for k in losses)
    zeros = False
    # one legend for both panels: the same colour and dash is the same data set in each
    name = {"loss": "training", "val_loss": "validation", "accuracy": "training",
            "val_accuracy": "validation"}
    for key in losses:
        style = "--" if key.startswith("val_") else "-"
        if logy:
            zeros |= plot_log_series(axes[0], epochs, metrics[key], floor, linestyle=style,
                                     color=f"C{int(style == '--')}", label=name[key], gid=key)
        else:
            axes[0].plot(epochs[:len(metrics[key])], finite(metrics[key]), style,
                         color=f"C{int(style == '--')}", label=name[key], gid=key)
    if zeros:
        zero_legend_entry(axes[0], floor)
    axes[0].set(xlabel="epoch", ylabel="loss E", title="loss", yscale="log" if logy else "linear")
    for key in acc:
        style = "--" if key.startswith("val_") else "-"
        axes[1].plot(epochs[:len(metrics[key])], metrics[key], style,
                     color=f"C{int(style == '--')}", label=name[key], gid=key)
    if acc:
        axes[1].set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in axes:
        ax.grid(alpha=0.3)
    legend_outside(fig, axes)
    return _save(fig, path, dpi)


def plot_gradient_norms(health, path, size=SIZE, dpi=100):
    """Per-layer norms over training from a ``GradientHealth`` callback: the probe's gradient
    norms ‖∂E/∂W‖ per epoch (or, without a probe, the update norms ‖ΔW‖), and ‖ΔW‖/‖W‖.

    Both axes are logarithmic: a norm of exactly 0 (a layer that stopped learning) is drawn
    as a triangle at a floor below every other value, said in the legend. Each layer has
    its own colour, however many layers there are; the legend sits beside the plots."""
    fig = _figure(size, dpi)
    left, right = fig.subplots(1, 2)
    probe = any(health.gradient_norms.values())
    if probe:
        curves = {name: (np.arange(1, len(v) + 1), v) for name, v in
                  health.gradient_norms.items()}
        left.set(xlabel="epoch", title="gradient norm ‖∂E/∂W‖ (probe batch)")
    else:
        curves = {name: (health.measured_at, v) for name, v in health.update_norms.items()}
        left.set(xlabel="epoch", title="update norm ‖ΔW‖")
    ratios = {name: (health.measured_at, v) for name, v in health.update_ratios.items()}
    names = list(dict.fromkeys([*curves, *ratios]))
    colors = dict(zip(names, layer_colors(len(names)), strict=True))
    dashes = dict(zip(names, line_styles(len(names)), strict=True))
    for ax, series in ((left, curves), (right, ratios)):
        floor = log_floor(v for _, v in series.values())
        drawn = False
        for name, (x, values) in series.items():
            drawn |= plot_log_series(ax, x, values, floor, color=colors[name],
                                     linestyle=dashes[name], marker="o" if probe and
                                     ax is left else None, ms=3, label=name, gid=name)
        if drawn:
            zero_legend_entry(ax, floor)
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
    right.set(xlabel="epoch", title="update / weight ‖ΔW‖ / ‖W‖")
    legend_outside(fig, (left, right))
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
