"""The report's account of a diverged run (``ffbp.report``): where it failed, the last good
epoch, and what the gradients did on the way there."""

from __future__ import annotations

import html
import math


def diverged(history, error) -> str:
    """Why training diverged, or "" when it did not: the error's message, else the history's
    stop reason when that says so (``fit(on_nan="stop")``)."""
    if error is not None:
        return " ".join(str(error).split())
    reason = getattr(history, "stop_reason", "") or ""
    return reason if reason.startswith("diverged") else ""


def section(why, history, health, table) -> str:
    """The HTML of the "Training diverged" section; ``table(rows, header)`` draws tables."""
    metrics = getattr(history, "metrics", history) or {}
    losses = metrics.get("loss", [])
    good = len(losses)
    parts = ["<h2>Training diverged</h2>", f'<p class="warn">{html.escape(why)}</p>']
    if good:
        last = ", ".join(f"{k} {metrics[k][-1]:.6g}" for k in ("loss", "val_loss",
                                                              "accuracy", "val_accuracy")
                         if metrics.get(k) and len(metrics[k]) == good)
        parts.append(f"<p>Last good epoch: <b>{good}</b> ({last}). The network below holds "
                     "the weights of the last finite step, after it.</p>")
    else:
        parts.append("<p>Last good epoch: none; training diverged during epoch 1. The network "
                     "below holds the weights of the last finite step.</p>")
    if health is None or not (health.summaries or health.steps):
        parts.append("<p>No gradient-health record (diagnostics were off).</p>")
        return "\n".join(parts)
    parts.append("<h3>How the gradients got there</h3>")
    if health.summaries:
        parts.append(_story(health, losses, table))
    last = _last_raw(health)
    if last:
        parts += ["<p>The last gradients measured before the failure, per weight matrix "
                  "(before clipping), against the first measured:</p>",
                  table(last, ["weights", "first ‖∂E/∂W‖", "last ‖∂E/∂W‖", "growth"])]
    if health.messages:
        parts.append("<p>The warnings, in the order they came:</p><ol>"
                     + "".join(f"<li>{html.escape(m)}</li>" for m in health.messages)
                     + "</ol>")
    return "\n".join(parts)


def _story(health, losses, table) -> str:
    """One row per recorded epoch, the last ten: loss, total gradient norm, the largest
    update ratio and how many warnings the epoch raised."""
    rows = []
    for s in health.summaries[-10:]:
        grad = s.get("gradient_norm") or {}
        total = math.sqrt(sum(v * v for v in grad.values())) if grad else math.nan
        ratios = [v for v in s["update_ratio"].values() if v is not None and math.isfinite(v)]
        loss = s.get("loss")
        rows.append((s["epoch"] + 1, math.nan if loss is None else float(loss), total,
                     max(ratios) if ratios else math.nan, len(s.get("warnings", []))))
    return table(rows, ["epoch", "loss", "‖∂E/∂W‖ (probe, all layers)",
                        "largest ‖ΔW‖/‖W‖", "warnings"])


def _last_raw(health):
    rows = []
    for name, values in getattr(health, "raw_gradient_norms", {}).items():
        if not values:
            continue
        first, last = values[0], values[-1]
        growth = f"× {last / first:.3g}" if first > 0 and math.isfinite(last) else "–"
        rows.append((name, first, last, growth))
    return rows
