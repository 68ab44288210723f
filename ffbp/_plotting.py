"""What every picture of ``ffbp.plots`` shares: the figure, saving it, a palette for any
number of layers, legends outside the data, and zeros on a logarithmic axis."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .errors import ConfigError

SIZE = (800, 500)


def figure(size, dpi):
    """A matplotlib Figure on the Agg canvas (no pyplot state, no window)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError('plots need matplotlib: pip install "ffbp[plots]"') from None
    width, height = size
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig, path, dpi):
    """Write ``fig`` as a PNG to ``path`` and return ``path``; with ``path=None`` return the
    laid-out Figure itself, so that a notebook or a test can look at what was drawn."""
    with warnings.catch_warnings():     # small sizes: matplotlib shrinks what it must, fine
        warnings.filterwarnings("ignore", "constrained_layout not applied")
        if path is None:
            fig.canvas.draw()
            return fig
        fig.savefig(path, dpi=dpi, format="png")
    return path


def finite(values):
    a = np.asarray(values, dtype=float)
    return np.where(np.isfinite(a), a, np.nan)


def layer_colors(n: int) -> list:
    """``n`` RGBA colours, all different: matplotlib's ten-colour cycle repeats itself at
    the eleventh layer, so beyond ten the colours are spread evenly over a wide colormap."""
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    return [colormaps["turbo"](x) for x in np.linspace(0.03, 0.97, n)]


def line_styles(n: int) -> list[str]:
    """Beyond ten lines, neighbouring colours get close: alternate the dash as well."""
    return ["-"] * n if n <= 10 else [("-", "--", ":")[i % 3] for i in range(n)]


def legend_outside(fig, axes, **kwargs):
    """One legend for ``axes`` (their labelled lines, each label once) to the right of the
    plots, where constrained layout makes room for it: it never hides a curve."""
    handles, labels = {}, []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    if not labels:
        return None
    ncols = max(1, math.ceil(len(labels) / 24))      # a long list wraps into columns
    return fig.legend([handles[k] for k in labels], labels, loc="outside right upper",
                      ncols=ncols, fontsize="small", **kwargs)


def log_floor(series) -> float:
    """Where a zero is drawn on a log axis: a decade below the smallest positive value
    (1e-12 when nothing is positive)."""
    positive = [v for values in series for v in np.asarray(values, dtype=float).ravel()
                if np.isfinite(v) and v > 0]
    return 10.0 ** (math.floor(math.log10(min(positive))) - 1) if positive else 1e-12


def plot_log_series(ax, x, values, floor, **style):
    """A curve on a log axis whose exact zeros (which a log scale cannot show, so they would
    silently vanish) are drawn at ``floor`` as down-pointing triangles. Returns whether any
    zero was drawn."""
    y = finite(values)
    x = np.asarray(x, dtype=float)[:len(y)]
    zero = y == 0
    ax.plot(x, np.where(zero, np.nan, y), **style)
    if zero.any():
        ax.plot(x[zero], np.full(zero.sum(), floor), "v", color=style.get("color"), ms=6,
                linestyle="none", gid="zero")
    return bool(zero.any())


def zero_legend_entry(ax, floor):
    """A legend entry saying what the triangles are (drawn once, off any data)."""
    ax.plot([], [], "v", color="k", linestyle="none",
            label=f"exactly 0 (drawn at {floor:.0e})")
