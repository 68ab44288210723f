"""Gradient health for the page: each Dense layer's raw gradient norm ‖∂E/∂Wᵏ‖ step by
step (thinned to at most ``MAX_POINTS``), and the warnings of ``ffbp.diagnostics`` as they
fire. The rules (vanishing, exploding, saturated, dead) are ``GradientHealth``'s; this module
only drives that callback the way ``fit`` does and turns its messages into the page's
{kind, layer, message, remedy}.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..diagnostics import REMEDIES, GradientHealth
from ..history import History
from ..layers.dense import Dense

MAX_POINTS = 500
#: diagnostics' kinds folded into the four the page names.
_KIND = {"vanishing": "vanishing", "vanishing_relu": "vanishing", "saturated": "saturated",
         "exploding": "exploding", "nonfinite": "exploding", "large_gradient": "exploding",
         "dead": "dead", "all_dead": "dead"}


class Thinned:
    """A series that keeps at most ``limit`` points. Every candidate is ``offer``-ed; while
    the stride is 1 each is kept; when the series is full every second point is dropped and
    the stride doubles, so that the kept points stay evenly spread over the whole run."""

    def __init__(self, width: int, limit: int = MAX_POINTS):
        self.limit, self.stride, self.offered = limit, 1, 0
        self.x: list = []
        self.ys: list = [[] for _ in range(width)]
        self._rank: list = []          # each kept point's number among the offered ones

    def offer(self, x, values) -> None:
        """Keep (x, values()) if this candidate falls on the stride; ``values`` is called
        only then (a norm or a loss is computed only for the points kept)."""
        rank, self.offered = self.offered, self.offered + 1
        if rank % self.stride:
            return
        self._rank.append(rank)
        self.x.append(x)
        for series, v in zip(self.ys, values(), strict=True):
            series.append(v)
        if len(self.x) > self.limit:
            self.stride *= 2
            keep = [k for k, r in enumerate(self._rank) if r % self.stride == 0]
            self._rank = [self._rank[k] for k in keep]
            self.x = [self.x[k] for k in keep]
            self.ys = [[s[k] for k in keep] for s in self.ys]


class Health:
    """Watches one network's training (the session calls the hooks in ``fit``'s order)."""

    def __init__(self, net, probe):
        dense = [n for n, layer in enumerate(net.layers) if isinstance(layer, Dense)]
        #: "layer2.W" (ffbp's name) -> "W2" (the page's, the tutorials' superscript)
        self.page_names = {f"layer{n}.W": f"W{k + 1}" for k, n in enumerate(dense)}
        #: an activation layer's index -> the Dense layer number it follows
        self.unit_layers = {f"layer{n + 1}": k + 1 for k, n in enumerate(dense)}
        self.weights = [layer.W for layer in (net.layers[n] for n in dense)]
        self.norms = Thinned(len(dense))
        self.monitor = GradientHealth(probe=probe, warn=False)
        self.monitor.on_train_begin(net, History())
        self.warnings: list = []

    def on_gradients(self, step: int, batch: int, net) -> None:
        """After the step, before the optimiser: p.grad is the raw ∂E/∂W."""
        self.norms.offer(step, self._norms)
        self.monitor.on_gradients(batch, net)

    def _norms(self) -> list:
        norms = [math.sqrt(float(np.dot(g, g))) for g in
                 (w.grad.reshape(-1) for w in self.weights)]
        # None for JSON where a norm overflowed (the step that diverged)
        return [v if math.isfinite(v) else None for v in norms]

    def on_batch_end(self, batch: int, loss: float, size: int) -> None:
        self.monitor.on_batch_end(batch, {"loss": loss, "size": size})
        self._collect()

    def on_epoch_end(self, epoch: int, loss: float) -> None:
        self.monitor.on_epoch_end(epoch, {"loss": loss})
        self._collect()

    def _collect(self):
        for message in self.monitor.messages[len(self.warnings):]:
            self.warnings.append(self._parse(message))

    def _parse(self, message: str) -> dict:
        text, _, remedy = message.partition(" Remedies: ")
        remedy = remedy.rstrip(".")
        kinds = [k for k, r in REMEDIES.items() if r == remedy]
        # Several kinds share one remedy; the message's own words say which it is.
        kind = next((_KIND[k] for k in kinds if k.split("_")[0] in text.lower()),
                    _KIND[kinds[0]] if kinds else "other")
        layers = []

        def page_name(found):
            # ffbp names layers by their index in net.layers ("layer2.W", "layer3" for an
            # activation); the page by the Dense layer's number, as the tutorials (W², layer 2)
            name = found.group(0)
            if name in self.page_names:
                number, shown = int(self.page_names[name][1:]), self.page_names[name]
            elif name in self.unit_layers:
                number = self.unit_layers[name]
                shown = f"hidden layer {number}"
            else:
                return name
            layers.append(number)
            return f"{shown} [{name}]"

        text = re.sub(r"\blayer\d+(?:\.W)?\b", page_name, text)
        return {"kind": kind, "layer": layers[0] if layers else None,
                "layers": sorted(set(layers)), "message": text, "remedy": remedy}

    def as_dict(self) -> dict:
        return {"layers": [f"W{k + 1}" for k in range(len(self.weights))],
                "steps": list(self.norms.x), "norms": [list(s) for s in self.norms.ys],
                "warnings": list(self.warnings)}
