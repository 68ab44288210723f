"""Is the network learning? Vanishing and exploding gradients, saturated and dead units.

Tutorial 003: saturating activations (sigmoid, tanh) squash their input, so Φ' → 0 and the
deltas δ_j = Φ'(h'_j) Σ_k w_jk δ_k shrink layer by layer towards the input (vanishing
gradients); large weights make them grow instead, up to NaN weights (exploding gradients).
Its remedies: ReLU, batch normalisation, gradient clipping, weight regularisation (and, for
explosions, a smaller learning rate). ``GradientHealth`` watches for each during ``fit``.

What is measured, exactly:

* every ``every`` batches (``on_batch_end``, after the optimiser step): for each Dense
  weight matrix W, ‖ΔW‖ — in ``fit`` ``p.grad`` holds the *applied update* at that point,
  not the gradient — and the ratio ‖ΔW‖/‖W‖ (W before the step); NaN/inf in any weight or
  update; the fraction of saturated activations (sigmoid outside [0.01, 0.99], |tanh| >
  0.99) and of dead ReLUs (zero for every sample of the batch), from that batch's cached
  outputs (no extra forward pass);
* at each epoch's end, when a ``probe=(X, T)`` batch is given: the true gradient norms
  ‖∂E/∂W‖ per Dense layer (``compute_gradients`` on a copy, so training is not disturbed),
  and saturation / dead units on the probe.

Checks (each warns once per layer and kind, as a ``GradientHealthWarning`` and in
``messages``): NaN/inf; ‖ΔW‖/‖W‖ > ``max_update_ratio``; the probe's whole gradient norm
grown by more than ``max_growth`` since the first epoch; a layer's gradient norm below
``vanishing`` times the largest (update norms without a probe: the same thing for plain SGD,
not for Adam, which rescales every step); more than ``saturation`` of a hidden layer's
activations saturated; more than ``dead`` of its ReLUs dead. The output layer is left out of
the unit checks: a confident sigmoid or softmax output is meant to sit near 0 or 1.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import backprop
from .callbacks import Callback
from .layers.activations import ReLU, Sigmoid, Tanh
from .layers.dense import Dense

REMEDIES = {
    "vanishing": "use ReLU (with he_normal initialisation), or put BatchNorm after each Dense "
                 "layer; avoid deep stacks of sigmoid/tanh with small initial weights",
    # for a network whose hidden units already do not saturate: ReLU is no remedy there
    "vanishing_relu": "put BatchNorm after each Dense layer, use he_normal initialisation "
                      "(small initial weights shrink δ layer by layer), or use fewer layers",
    "saturated": "use ReLU, put BatchNorm before the activation, scale the inputs to about "
                 "unit size or draw smaller initial weights",
    "exploding": "lower the learning rate, clip the gradients (optimizer=...(clip_norm=1.0), "
                 "ffbp.optim.clip_by_global_norm) and add weight decay (weight_decay=1e-4)",
    "dead": "lower the learning rate, use LeakyReLU or ELU, he_normal initialisation or "
            "BatchNorm",
}
#: Kinds of problem whose remedy is another kind's.
SAME_REMEDY = {"nonfinite": "exploding", "all_dead": "dead", "large_gradient": "exploding"}
REMEDIES.update({kind: REMEDIES[same] for kind, same in SAME_REMEDY.items()})


class GradientHealthWarning(UserWarning):
    """A sign that the gradients vanish or explode, or that units saturate or die."""


def saturated_fraction(layer, h) -> float | None:
    """Fraction of the activations h of a sigmoid/tanh layer at their asymptotes."""
    if isinstance(layer, Sigmoid):
        return float(np.mean((h < 0.01) | (h > 0.99)))
    if isinstance(layer, Tanh):
        return float(np.mean(np.abs(h) > 0.99))
    return None


def dead_fraction(layer, h) -> float | None:
    """Fraction of a ReLU layer's units that output 0 for every sample of the batch."""
    if isinstance(layer, ReLU):
        return float(np.mean(~(h > 0).any(axis=0)))
    return None


class GradientHealth(Callback):
    """A ``fit`` callback recording per-layer gradient health (see the module doc).

    Args:
        probe: optional small batch (X, T) for true gradient norms at each epoch's end.
        every: measure every this many batches; None: about 10 times per epoch (in the
            first epoch, whose length is not known yet, at batches 0, 1, 2, 4, 8, …).
        vanishing, max_update_ratio, max_growth, saturation, dead, max_gradient_ratio: the
            thresholds (the last: a batch's raw ‖∂E/∂W‖ above this many times ‖W‖).
        warn: also emit Python warnings (the messages are recorded either way).
        remedies: the remedy of each kind of problem, by the keys of ``REMEDIES`` but those
            of ``SAME_REMEDY`` (Python's spelling, the default for any key not given): a
            program speaking to its own users passes its own (``ffbp train``: its flags).

    Recorded (lists for plotting): ``steps`` (epoch, batch) of each measurement with
    ``update_norms[name]``, ``update_ratios[name]``, ``raw_gradient_norms[name]`` (before
    the optimiser, so before clipping), ``saturation[layer]``, ``dead[layer]``;
    ``gradient_norms[name]`` per epoch (with a probe); ``summaries``: one dict per epoch.
    """

    def __init__(self, probe=None, every: int | None = None, *, vanishing: float = 1e-3,
                 max_update_ratio: float = 1.0, max_growth: float = 1e3,
                 saturation: float = 0.5, dead: float = 0.5, max_gradient_ratio: float = 1e3,
                 warn: bool = True, remedies: dict | None = None):
        self.probe, self.every, self.warn = probe, every, warn
        self.remedies = {**REMEDIES, **(remedies or {})}
        self.vanishing, self.max_update_ratio = vanishing, max_update_ratio
        self.max_gradient_ratio = max_gradient_ratio
        self.max_growth, self.saturation_limit, self.dead_limit = max_growth, saturation, dead

    # -- fit's hooks -------------------------------------------------------------------
    def on_train_begin(self, net, history):
        self.net = net
        self.weights = [(name, p) for name, p in net.named_parameters() if p.decay]
        # Hidden units only: a confident sigmoid/softmax output is *meant* to sit near 0 or 1
        # (and with cross-entropy its δ = y − t does not shrink there).
        last_dense = max((n for n, lay in enumerate(net.layers) if isinstance(lay, Dense)),
                         default=0)
        self.units = [(f"layer{n}", layer) for n, layer in enumerate(net.layers[:last_dense])
                      if isinstance(layer, (Sigmoid, Tanh, ReLU))]
        self.steps, self.summaries, self.messages = [], [], []
        self.update_norms = {name: [] for name, _ in self.weights}
        self.update_ratios = {name: [] for name, _ in self.weights}
        self.gradient_norms = {name: [] for name, _ in self.weights}
        self.raw_gradient_norms = {name: [] for name, _ in self.weights}
        self.saturation = {n: [] for n, lay in self.units if not isinstance(lay, ReLU)}
        self.dead = {n: [] for n, lay in self.units if isinstance(lay, ReLU)}
        self.batches_per_epoch, self._warned, self._reported = None, set(), 0
        self._first_norm, self._last_batch = None, 0
        # A resumed run starts at a later epoch: count from there.
        self._epoch = self._first_epoch = len(history.metrics.get("loss", []))

    def on_gradients(self, batch, net):
        """The raw gradients, before the optimiser: clipping would hide a gradient of 1e7
        from the updates, so its size is checked here (‖∂E/∂W‖ against ‖W‖)."""
        if not self._due(batch):
            return
        big = []
        with np.errstate(all="ignore"):
            for name, p in self.weights:
                g, w = float(np.linalg.norm(p.grad)), float(np.linalg.norm(p.value))
                self.raw_gradient_norms[name].append(g)
                if math.isfinite(g) and g > self.max_gradient_ratio * max(w, 1e-12):
                    big.append((name, f"{name} (‖∂E/∂W‖ = {g:.3g}, {g / max(w, 1e-12):.3g} × "
                                      f"‖W‖)"))
        self._flag("large_gradient", big, f"epoch {self._epoch + 1}, batch {batch + 1}",
                   "exploding gradients: {} (before any clipping, which may hide them from "
                   "the updates)")

    def on_batch_end(self, batch, logs):
        self._last_batch = batch
        if self._due(batch):
            with np.errstate(all="ignore"):     # overflowing weights are what we report
                self._measure(batch)

    def _due(self, batch) -> bool:
        """Whether batch ``batch`` of this epoch is measured."""
        if self._epoch == self._first_epoch and self.every is None:
            return batch & (batch - 1) == 0                     # 0, 1, 2, 4, 8, ...
        return batch % self._every() == 0

    def on_epoch_end(self, epoch, logs):
        if self.batches_per_epoch is None:
            self.batches_per_epoch = self._last_batch + 1
        summary = {"epoch": epoch, "loss": logs.get("loss")}
        mine = [i for i, (e, _) in enumerate(self.steps) if e == epoch]
        for key, record in (("update_norm", self.update_norms),
                            ("update_ratio", self.update_ratios),
                            ("saturated", self.saturation), ("dead", self.dead)):
            summary[key] = {k: _mean(v, mine) for k, v in record.items()}
        where = f"epoch {epoch + 1}"
        if self.probe is not None:
            with np.errstate(all="ignore"):
                self._probe(summary, where)
        self._check_vanishing(summary, where)
        self._check_units(summary, where)
        summary["warnings"] = self.messages[self._reported:]
        self._reported = len(self.messages)
        self.summaries.append(summary)
        self._epoch = epoch + 1
        return False

    # -- measurements ------------------------------------------------------------------
    def _every(self) -> int:
        if self.every is not None:
            return max(1, int(self.every))
        return max(1, (self.batches_per_epoch or 10) // 10)

    def _measure(self, batch):
        self.steps.append((self._epoch, batch))
        bad, big = [], []
        for name, p in self.weights:
            # p.value already has the update in it: compare with the weights it was added to.
            u, w = float(np.linalg.norm(p.grad)), float(np.linalg.norm(p.value - p.grad))
            self.update_norms[name].append(u)
            self.update_ratios[name].append(u / w if w > 0 else math.nan)
            if not (math.isfinite(u) and math.isfinite(w)):
                bad.append((name, name))
            elif w > 0 and u / w > self.max_update_ratio:
                big.append((name, f"{name} ({u / w:.3g})"))
        where = f"epoch {self._epoch + 1}, batch {batch + 1}"
        self._flag("nonfinite", bad, where, "NaN/inf in {}: the weights overflowed "
                   "(exploding gradients)")
        self._flag("exploding", big, where, "one update moved {} by more than the size of "
                   f"the weights themselves (‖ΔW‖/‖W‖ > {self.max_update_ratio:g})")
        for layer, lay in self.units:
            h = lay.output
            if h is not None:
                self._units(layer, lay, h, self.saturation, self.dead)

    def _units(self, name, layer, h, saturation, dead):
        if name in saturation:
            saturation[name].append(saturated_fraction(layer, h))
        if name in dead:
            dead[name].append(dead_fraction(layer, h))

    def _probe(self, summary, where):
        X, T = self.probe
        work = self.net.copy()          # leaves batch-norm statistics and dropout RNGs alone
        training = len(X) >= max(layer.min_batch for layer in work.layers)
        record = backprop.Recorder()
        backprop.compute(work, X, T, self.net.loss, training=training, recorder=record)
        grads = [p.grad for _, p in work.named_parameters() if p.decay]
        norms = {name: float(np.linalg.norm(g)) for (name, _), g in zip(self.weights, grads,
                                                                          strict=True)}
        for name, v in norms.items():
            self.gradient_norms[name].append(v)
        summary["gradient_norm"] = norms
        total = math.sqrt(sum(v * v for v in norms.values()))
        self._first_norm = self._first_norm or total
        self._flag("nonfinite", [(k, k) for k, v in norms.items() if not math.isfinite(v)],
                   where, "the gradient of {} is NaN/inf")
        if self._first_norm and total > self.max_growth * self._first_norm:
            self._flag("exploding", [("all", "")], where, f"the gradient norm ‖∂E/∂W‖ grew "
                       f"{total / self._first_norm:.3g}× since the first epoch{{}}")
        sat, dead = {k: [] for k in self.saturation}, {k: [] for k in self.dead}
        for name, _ in self.units:
            seen = record.layers[int(name[5:])]
            self._units(name, seen.layer, seen.output, sat, dead)
        summary["saturated"] = {k: v[0] for k, v in sat.items()}
        summary["dead"] = {k: v[0] for k, v in dead.items()}

    # -- checks ------------------------------------------------------------------------
    def _check_vanishing(self, summary, where):
        what = "gradient" if "gradient_norm" in summary else "update"
        norms = summary.get("gradient_norm") or summary["update_norm"]
        values = {k: v for k, v in norms.items() if v is not None and math.isfinite(v)}
        if len(values) < 2 or max(values.values()) <= 0:
            return
        top_name = max(values, key=values.get)
        top = values[top_name]
        low = [(k, f"{k} (‖·‖ = {v:.2g}, {v / top:.1e} of the largest)")
               for k, v in values.items() if v < self.vanishing * top]
        # ReLU is no remedy for a network whose hidden units are ReLUs already.
        relu = bool(self.units) and all(isinstance(lay, ReLU) for _, lay in self.units)
        self._flag("vanishing", low, where, f"vanishing gradients: the {what} norms of {{}} "
                   f"are below {self.vanishing:g} of the largest ({top_name}: {top:.2g})",
                   remedy="vanishing_relu" if relu else "vanishing")

    def _check_units(self, summary, where):
        def kind(layer):
            return type(self.net.layers[int(layer[5:])]).__name__

        sat = [(k, f"{k} {kind(k)} ({v:.0%})") for k, v in summary["saturated"].items()
               if v is not None and v > self.saturation_limit]
        self._flag("saturated", sat, where, "saturated units (Φ' ≈ 0, so δ shrinks): {} of "
                   "the activations sit at the asymptotes")
        dead = [(k, f"{k} ({v:.0%})") for k, v in summary["dead"].items()
                if v is not None and v > self.dead_limit]
        self._flag("dead", dead, where, "dead ReLUs (zero for every sample, no gradient "
                   "flows through them): {} of the units")
        # A layer warned about once and then dying altogether is a new fact: say it too.
        gone = [(k, k) for k, v in summary["dead"].items() if v is not None and v >= 1.0]
        self._flag("all_dead", gone, where, "every ReLU of {} is dead: nothing flows back "
                   "through the layer any more, so the layers before it have stopped learning")

    def _flag(self, kind, items, where, template, remedy=None):
        """One message for the layers in ``items`` [(key, description)] not yet flagged."""
        new = [(key, text) for key, text in items if (kind, key) not in self._warned]
        if not new:
            return
        self._warned.update((kind, key) for key, _ in new)
        remedy = remedy or kind
        message = (f"{where}: {template.format(', '.join(text for _, text in new))}. "
                   f"Remedies: {self.remedies[SAME_REMEDY.get(remedy, remedy)]}.")
        self.messages.append(message)
        if self.warn:
            warnings.warn(message, GradientHealthWarning, stacklevel=4)

    # -- results -----------------------------------------------------------------------
    @property
    def measured_at(self) -> list[float]:
        """Each measurement's position in epochs (epoch + batch / batches per epoch)."""
        per = self.batches_per_epoch or max((b for _, b in self.steps), default=0) + 1
        return [e + b / per for e, b in self.steps]

    def as_dict(self) -> dict:
        """Every recorded list, JSON-able (NaN stays NaN)."""
        return {"measured_at": self.measured_at, "update_norms": self.update_norms,
                "update_ratios": self.update_ratios, "gradient_norms": self.gradient_norms,
                "saturation": self.saturation, "dead": self.dead,
                "summaries": self.summaries, "messages": self.messages}


def _mean(values, indices):
    picked = [values[i] for i in indices if i < len(values) and values[i] is not None]
    picked = [v for v in picked if math.isfinite(v)]
    return float(np.mean(picked)) if picked else None
