"""The decision boundary of a classifier with any number of inputs (``ffbp.plots``)."""

from __future__ import annotations

import textwrap

import numpy as np

from ._plotting import SIZE, figure, layer_colors, legend_outside, save
from .errors import ConfigError
from .layers.dense import Dense


def important_features(net, X) -> tuple[int, int]:
    """The two inputs that move the first layer most: the largest ‖W¹[i, :]‖ · std(xᵢ)
    (the change of the first layer's input for a one-standard-deviation change of xᵢ, so
    that inputs on different scales compare fairly; on standardised inputs it is ‖W¹[i, :]‖)."""
    first = next((lay for lay in net.layers if isinstance(lay, Dense)), None)
    if first is None:
        raise ConfigError("plot_decision_boundary needs a network with a Dense layer")
    score = np.linalg.norm(np.asarray(first.W.value, dtype=float), axis=1) * X.std(axis=0)
    order = np.argsort(-score, kind="stable")
    return int(order[0]), int(order[1])


def _labels(y):
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] > 1:
        return labels.argmax(axis=1)
    return labels.reshape(-1)


def plot_decision_boundary(net, X, y, path, size=SIZE, dpi=100, resolution: int = 200, *,
                           features=None, feature_names=None, class_names=None,
                           max_points: int = 2000):
    """The regions a classifier assigns to each class, with the samples on top. One
    output: its value as shading and the decision threshold as a black line; several: the
    class of the largest output.

    With two inputs the picture is their plane. With more, it is the plane of two of them,
    ``features=(i, j)`` or by default the two largest ‖W¹[i, :]‖ · std(xᵢ) (see
    ``important_features``), the other inputs held at their mean over X; the title says
    which. ``feature_names`` names the inputs (default x₁, x₂, …), ``class_names`` the
    classes in the legend (default 0, 1, …); at most ``max_points`` samples are drawn.
    ``path=None`` returns the Figure."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != net.n_features or net.n_features < 2:
        raise ConfigError("plot_decision_boundary needs a network with 2 or more inputs and X "
                          f"of shape (n, inputs); got X {X.shape}, network inputs "
                          f"{net.n_features}")
    names = list(feature_names) if feature_names is not None else \
        [f"x{_sub(i + 1)}" for i in range(X.shape[1])]
    if len(names) != X.shape[1]:
        raise ConfigError(f"feature_names has {len(names)} names for {X.shape[1]} inputs")
    a, b = features if features is not None else (
        (0, 1) if X.shape[1] == 2 else important_features(net, X))
    labels = _labels(y)
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[a], hi[a], resolution),
                         np.linspace(lo[b], hi[b], resolution))
    grid = np.tile(X.mean(axis=0), (gx.size, 1))        # the other inputs at their mean
    grid[:, a], grid[:, b] = gx.ravel(), gy.ravel()
    out = net.outputs(grid)
    fig = figure(size, dpi)
    from matplotlib.colors import ListedColormap

    ax = fig.subplots()
    extent = (lo[a], hi[a], lo[b], hi[b])
    show = dict(origin="lower", extent=extent, aspect="auto", interpolation="nearest",
                gid="decision")
    if out.shape[1] == 1:
        z = out[:, 0].reshape(gx.shape)
        threshold = getattr(net.loss, "threshold", None)
        if threshold is None:
            threshold = 0.5 if type(net.layers[-1]).__name__ == "Sigmoid" else 0.0
        image = ax.imshow(z, cmap="RdBu_r", alpha=0.6, **show)
        if z.min() < threshold < z.max():
            ax.contour(gx, gy, z, levels=[threshold], colors="k", linewidths=1.5)
        fig.colorbar(image, ax=ax, label=f"network output y (class 1 above {threshold:g})")
        cmap, vmax = "RdBu_r", 1
    else:
        k = out.shape[1]
        cmap = ListedColormap(layer_colors(k))
        ax.imshow(out.argmax(axis=1).reshape(gx.shape), cmap=cmap, vmin=-0.5, vmax=k - 0.5,
                  alpha=0.35, **show)
        vmax = k - 0.5
    shown = np.arange(len(X))
    if len(X) > max_points:             # a fixed sample: the same picture every time
        shown = np.sort(np.random.default_rng(0).choice(len(X), max_points, replace=False))
    vmin = 0 if out.shape[1] == 1 else -0.5
    ax.scatter(X[shown, a], X[shown, b], c=labels[shown], cmap=cmap, vmin=vmin, vmax=vmax,
               edgecolors="k", s=25)
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    colour = (colormaps[cmap] if isinstance(cmap, str) else cmap)
    scale = Normalize(vmin, vmax)
    for k in np.unique(labels).astype(int):     # a legend entry per class, off the data
        name = class_names[k] if class_names is not None and k < len(class_names) else k
        ax.scatter([], [], color=colour(scale(k)), edgecolors="k", s=25, label=f"{name}")
    ax.set(xlabel=names[a], ylabel=names[b], xlim=extent[:2], ylim=extent[2:])
    title = "decision boundary"
    if X.shape[1] > 2:
        how = "chosen" if features is not None else "largest ‖W¹[i, :]‖·std(xᵢ)"
        title += (f" in the plane of {names[a]} and {names[b]} ({how}); the other "
                  f"{X.shape[1] - 2} inputs held at their mean")
    # wrapped to the picture's width, so that long column names are not cut off
    per_line = max(30, int(size[0] / dpi * 11))
    ax.set_title(textwrap.fill(title, per_line), fontsize=10)
    legend_outside(fig, [ax], title="class")
    return save(fig, path, dpi)


def _sub(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
