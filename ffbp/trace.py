"""Every layer's forward and backward quantities for one batch, as records that print.

``trace(net, X, T, loss)`` runs the batch forward and (with targets) backward on a copy of
the network and keeps, for each layer in ``net.layers``:

* ``input`` and ``output`` (for a Dense layer the output is the pre-activation h' = x W + b;
  for an activation layer it is h = Φ(h'));
* ``d_output = ∂E/∂(output)`` and ``d_input = ∂E/∂(input)``: for a Dense layer d_output is
  its δ = ∂E/∂h' and d_input = δ Wᵀ; for an activation d_input = d_output ⊙ Φ';
* ``grads``: ∂E/∂W = xᵀδ and ∂E/∂b = Σ δ (batch mean already in δ, as in ``fit``).

When softmax (sigmoid) meets its cross-entropy, the output layer's d_input is the fused
y − t that ``fit`` back-propagates (``fused=True``), and d_output the general ∂E/∂y.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import backprop
from ._validation import as_matrix
from .errors import ConfigError
from .layers.dense import Dense


@dataclass
class LayerTrace:
    """One layer's view of the batch (arrays have one row per sample)."""

    index: int
    layer: str
    input: np.ndarray
    output: np.ndarray
    d_output: np.ndarray | None = None
    d_input: np.ndarray | None = None
    grads: dict = field(default_factory=dict)
    fused: bool = False
    dense: bool = False

    @property
    def pre_activation(self) -> np.ndarray | None:
        """h' = x W + b of a Dense layer (None for other layers)."""
        return self.output if self.dense else None

    @property
    def delta(self) -> np.ndarray | None:
        """δ = ∂E/∂h' of a Dense layer (None for other layers or without targets)."""
        return self.d_output if self.dense else None

    def row(self) -> list[str]:
        def norm(a):
            return "-" if a is None else f"{np.linalg.norm(a):.3g}"

        out = self.output
        grads = "  ".join(f"‖∂E/∂{k}‖={np.linalg.norm(g):.3g}" for k, g in self.grads.items())
        return [str(self.index), self.layer, str(tuple(out.shape)), f"{out.mean():.3g}",
                f"{out.std():.3g}", norm(self.d_output),
                norm(self.d_input) + (" (y − t)" if self.fused else ""), grads or "-"]

    def __str__(self) -> str:
        return " ".join(self.row())


class Trace(list):
    """The list of ``LayerTrace`` records, first layer to last; ``E`` is the batch loss
    (None without targets). ``str(trace)`` is a table of shapes, means and norms."""

    def __init__(self, records, E=None, loss=None):
        super().__init__(records)
        self.E, self.loss = E, loss

    def __str__(self) -> str:
        rows = [["#", "layer", "output", "mean", "std", "‖∂E/∂out‖", "‖∂E/∂in‖", "gradients"]]
        rows += [r.row() for r in self]
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                 for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        if self.E is not None:
            lines.append(f"E = {self.E:.6g} ({self.loss}, mean over the batch)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        def arr(a):
            return None if a is None else np.asarray(a, dtype=float).tolist()

        return {"E": self.E, "loss": self.loss, "layers": [
            {"index": r.index, "layer": r.layer, "input": arr(r.input), "output": arr(r.output),
             "d_output": arr(r.d_output), "d_input": arr(r.d_input), "fused": r.fused,
             "grads": {k: arr(g) for k, g in r.grads.items()}} for r in self]}


def trace(net, X, T=None, loss=None, *, training: bool = False,
          sample_weight=None) -> Trace:
    """Per-layer inputs, outputs, deltas and parameter gradients of the batch (X, T).

    Args:
        net: the Network (not modified: a copy in its dtype does the work, so batch-norm
            statistics and dropout generators of ``net`` stay as they are).
        X: (n_samples, n_features). T: targets, or None for the forward pass only.
        loss: the loss (default: the one ``net`` was trained with).
        training: run dropout and batch statistics as ``fit`` does (default: inference).
        sample_weight: per-sample weights of the batch mean, as in ``compute_gradients``.
    """
    work = net.copy()
    # Dense arrays only: the records print and serialise every layer's input.
    X = as_matrix(X, "X", work.dtype, work.n_features)
    recorder = backprop.Recorder()
    E = loss_name = None
    if T is None:
        backprop.forward(work, X, training, recorder)
    else:
        if loss is None and net.loss is None:
            raise ConfigError("trace needs a loss for the backward pass (pass loss=...)")
        loss = backprop.check_loss(work, net.loss if loss is None else loss)
        batch = backprop.prepare(work, X, T, loss, sample_weight)
        E = backprop.step(work, batch, loss, training=training, input_grad=True,
                          recorder=recorder).loss
        loss_name = type(loss).__name__
    records = [LayerTrace(r.index, repr(r.layer), r.input, r.output, r.d_output, r.d_input,
                          r.grads, r.fused, dense=isinstance(r.layer, Dense))
               for r in recorder.layers]
    return Trace(records, E, loss_name)
