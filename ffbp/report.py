"""A training run as one self-contained HTML page: plots, tables, diagnostics.

``write_report(directory, net, history, health, hyperparameters, data_summary)`` writes
``directory/report.html``. Every picture is embedded as a base64 ``data:image/png`` URI and
the styling is inline, so the file opens anywhere, offline, with no scripts. Without
matplotlib the page is written without pictures and says how to get them.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

from . import _report_divergence, plots
from .errors import ConfigError
from .layers.activations import ACTIVATIONS

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; }
img { max-width: 100%; border: 1px solid #eee; }
.warn { background: #fff4e5; border-left: 4px solid #f0a020; padding: .4em .8em; }
.ok { background: #eef8ee; border-left: 4px solid #3a3; padding: .4em .8em; }
"""


def _png(draw, *args) -> str | None:
    """A plot as a data URI, or None when matplotlib is missing."""
    buffer = io.BytesIO()
    try:
        draw(*args, buffer)
    except ConfigError as exc:
        if "matplotlib" in str(exc):
            return None
        raise
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _fmt(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def _table(rows, header=None) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for v in row:
            cls = ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{html.escape(_fmt(v))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(out + ["</table>"])


def _training_summary(net, history) -> list:
    m = getattr(history, "metrics", history)
    rows = [("epochs", len(m.get("loss", []))), ("parameters", int(net.flat_values.size)),
            ("dtype", str(net.dtype))]
    # An epoch's training loss is the mean over its batches while the weights moved, so it
    # is not the loss of the final weights: say which it is.
    for key, what in (("loss", "last epoch's loss (mean over its batches)"),
                      ("val_loss", "last epoch's val_loss"),
                      ("accuracy", "last epoch's accuracy (during its batches)"),
                      ("val_accuracy", "last epoch's val_accuracy")):
        if m.get(key):
            rows.append((what, float(m[key][-1])))
    if m.get("val_loss"):
        best = min(range(len(m["val_loss"])), key=m["val_loss"].__getitem__)
        rows.append(("best val_loss", f"{m['val_loss'][best]:.6g} (epoch {best + 1})"))
    reason = getattr(history, "stop_reason", "")
    if reason:
        rows.append(("stopped because", reason))
    return rows


def _final_metrics(final) -> str:
    """The metrics of the final weights, by data set, to four decimals as ffbp train prints
    them, so the page and the terminal show the same numbers."""
    keys = [k for k in ("loss", "accuracy", "mse", "mae", "r2")
            if any(k in m for m in final.values())]
    rows = [(name, *(f"{m[k]:.4f}" if k in m else "–" for k in keys))
            for name, m in final.items()]
    return _table(rows, ["data", *keys])


def _diagnostics(health) -> str:
    if not health.summaries:
        return "<p>No epoch was recorded.</p>"
    last = health.summaries[-1]
    names = list(last["update_ratio"])
    grad = last.get("gradient_norm", {})
    rows = [(n, grad.get(n, math.nan), last["update_norm"][n] or math.nan,
             last["update_ratio"][n] or math.nan) for n in names]
    parts = [f"<p>Last epoch ({last['epoch'] + 1}), per weight matrix:</p>",
             _table(rows, ["weights", "‖∂E/∂W‖ (probe)", "‖ΔW‖", "‖ΔW‖/‖W‖"])]
    units = [(k, f"{v:.1%}", "saturated (σ, tanh)") for k, v in last["saturated"].items()
             if v is not None]
    units += [(k, f"{v:.1%}", "dead ReLUs") for k, v in last["dead"].items() if v is not None]
    if units:
        parts.append(_table(units, ["layer", "fraction", "what"]))
    if health.messages:
        parts += [f'<p class="warn">{html.escape(m)}</p>' for m in health.messages]
    else:
        parts.append('<p class="ok">No warnings: no vanishing or exploding gradients, '
                     "saturated or dead units were detected.</p>")
    return "\n".join(parts)


def _activation_names(net) -> list[str]:
    names = {}
    for name, cls in ACTIVATIONS.items():
        names.setdefault(cls, name)         # the first (canonical) name of each class
    found = [names[type(lay)] for lay in net.layers if type(lay) in names]
    return [n for n in dict.fromkeys(found) if n in plots.FORMULAS]


def write_report(directory, net, history, health=None, hyperparameters=None,
                 data_summary=None, *, data=None, feature_names=None, class_names=None,
                 final_metrics=None, error=None,
                 title: str = "ffbp training report") -> Path:
    """Write ``directory/report.html`` (creating the directory) and return its path.

    Args:
        net, history: the trained Network and the History ``fit`` returned.
        health: a ``GradientHealth`` callback used in that fit (diagnostics and norms plot).
        hyperparameters, data_summary: dicts shown as tables (learning rate, batch size…;
            number of samples, features, classes…): pass the values actually used.
        data: optional (X, y); for a classifier the decision boundary is drawn (with more
            than 2 inputs in the plane of the two most important, see
            ``plots.plot_decision_boundary``), its inputs named by ``feature_names`` and its
            classes by ``class_names``.
        final_metrics: optional {data set name: {"loss": …, "accuracy": …}} of the final
            weights, shown as a table (``ffbp train`` passes what it printed).
        error: the ``DivergenceError`` when training diverged. A diverged run (this, or a
            History whose ``stop_reason`` says so, from ``fit(on_nan="stop")``) opens with
            the failure, the last good epoch and the gradient-health record leading to it.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    missing = []

    def figure(caption, draw, *args):
        uri = _png(draw, *args)
        if uri is None:
            missing.append(caption)
            return ""
        return (f'<figure><img src="{uri}" alt="{html.escape(caption)}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    body = [f"<h1>{html.escape(title)}</h1>"]
    why = _report_divergence.diverged(history, error)
    if why:
        body.append(_report_divergence.section(why, history, health, _table))
    body += ["<h2>Summary</h2>", _table(_training_summary(net, history))]
    if final_metrics:
        body += ["<p>The final weights on each data set:</p>", _final_metrics(final_metrics)]
    if getattr(history, "metrics", history).get("loss"):
        # a diverging loss spans decades: only a log scale shows its growth
        body.append(figure("Loss curves" + (" (log scale)" if why else ""),
                           lambda path: plots.plot_history(history, path, logy=bool(why))))
    if hyperparameters:
        body += ["<h2>Hyper-parameters</h2>", _table(sorted(hyperparameters.items()))]
    if data_summary:
        body += ["<h2>Data</h2>", _table(list(data_summary.items()))]
    if health is not None:
        body += ["<h2>Diagnostics</h2>", _diagnostics(health),
                 figure("Gradient norms per layer", plots.plot_gradient_norms, health)]
    loss = getattr(net, "loss", None)
    if (data is not None and net.n_features >= 2 and loss is not None
            and loss.family == "classification"):
        caption = "Decision boundary" + ("" if net.n_features == 2 else
                                         " in the plane of the two most important inputs")
        body += ["<h2>Decision boundary</h2>",
                 figure(caption, lambda path: plots.plot_decision_boundary(
                     net, *data, path, feature_names=feature_names,
                     class_names=class_names))]
    body += ["<h2>Network</h2>", f"<pre>{html.escape(net.summary())}</pre>",
             figure("Weights of the network", plots.plot_network, net)]
    acts = _activation_names(net)
    if acts:
        body.append(figure("Activation functions and their derivatives",
                           lambda path: plots.plot_activations(path, acts)))
    if missing:
        body.insert(1, '<p class="warn">Pictures need matplotlib: pip install "ffbp[plots]"</p>')
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    path = directory / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
