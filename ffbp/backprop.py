"""One back-propagation step, in one place: forward, loss, output delta, backward.

Every caller that learns or looks at learning goes through ``step``: ``fit``, the
estimators, ``Network.compute_gradients``, ``gradcheck``, ``trace``, ``explain`` and the
diagnostics. It is also the only code that knows the fused output rule.

For a batch X (n, features) with targets T, per-sample weights giving the coefficients
cₙ = wₙ / Σw (1/n unweighted):

    forward    a⁽¹⁾ = X,  a⁽ˡ⁺¹⁾ = layerₗ(a⁽ˡ⁾),  Y = a⁽ᴸ⁺¹⁾
    loss       E = Σₙ cₙ Eₙ(Yₙ, Tₙ)
    output δ   ∂E/∂Y = cₙ ∂Eₙ/∂Yₙ  (general), or, when the output layer Φ and the loss combine
               (softmax + cross-entropy, sigmoid + binary cross-entropy), the stable
               ∂E/∂z = cₙ (y − t) at Φ's input, skipping Φ's Jacobian (tutorials 001, 002)
    backward   each layer right to left turns ∂E/∂(its output) into ∂E/∂(its input) and
               fills its parameters' gradients: δⱼ = Φ'(h'ⱼ) Σₖ Wⱼₖ δₖ,  ∂E/∂W = xᵀ δ

A ``Recorder`` passed to ``step`` keeps copies of what each layer saw: its input, output,
the gradient arriving from the right (``d_output``), the one it passes left (``d_input``)
and its parameter gradients — the numbers the tutorials write down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from . import losses as _losses
from .errors import ConfigError, ShapeError
from .losses.base import Loss, batch_coefficients


class Batch(NamedTuple):
    """A checked batch: X (n, features) in the network's dtype (or a CSR/CSC matrix), T in
    the form the loss computes with (n, outputs), coef (n,) the weights of the batch mean."""

    X: object
    T: np.ndarray
    coef: np.ndarray


class StepResult(NamedTuple):
    """What a step returns: the batch loss E, the output Y (n, outputs), and ∂E/∂X (None
    unless asked for, or for a sparse X)."""

    loss: float
    output: np.ndarray
    input_grad: np.ndarray | None


@dataclass
class LayerRecord:
    """What layer ``index`` saw in one step (copies, safe to keep)."""

    index: int
    layer: object
    input: object
    output: np.ndarray
    d_output: np.ndarray | None = None      # ∂E/∂(output), arriving from the right
    d_input: np.ndarray | None = None       # ∂E/∂(input), passed to the left
    grads: dict = field(default_factory=dict)
    fused: bool = False                     # the output layer whose Jacobian the rule skips


@dataclass
class Recorder:
    """Pass to ``step(..., recorder=Recorder())``; afterwards ``layers`` holds one
    ``LayerRecord`` per layer, ``loss`` the batch loss and ``fused`` whether the fused output
    rule was used."""

    layers: list = field(default_factory=list)
    loss: float | None = None
    fused: bool = False


def check_loss(net, loss) -> Loss:
    """Resolve ``loss`` (a name or instance) and check that it fits the output layer."""
    loss = _losses.get(loss)
    last = net.layers[-1]
    for kind, reason in loss.incompatible.items():
        if type(last) is kind:
            raise ConfigError(f"loss does not fit the output layer {last!r}: {reason}")
    if loss.requires and not any(type(last) is k for k in loss.requires):
        raise ConfigError(f"loss does not fit the output layer {last!r}: "
                          f"{next(iter(loss.requires.values()))}")
    return loss


def uses_fused_rule(net, loss: Loss) -> bool:
    """True when the output layer and the loss combine into the stable ∂E/∂z = y − t."""
    return loss.fused_with is not None and type(net.layers[-1]) is loss.fused_with


def prepare(net, X, T, loss: Loss, sample_weight=None, name: str = "X") -> Batch:
    """Check a batch once: X against the network's input, T against the loss and the
    outputs, the weights against the rows."""
    X = net.check_input(X, name)
    T = loss.prepare_targets(T, net.n_outputs, "T").astype(net.dtype, copy=False)
    if len(T) != X.shape[0]:
        raise ShapeError(f"{name} has {X.shape[0]} samples but T has {len(T)}")
    return Batch(X, T, batch_coefficients(sample_weight, X.shape[0], net.dtype))


def forward(net, X, training: bool = False, recorder: Recorder | None = None) -> np.ndarray:
    """Y for a checked X, layer by layer (recording each layer's input and output).

    A layer that can work in place (an activation) does so on an array its left neighbour
    declares private (a Dense layer's fresh x W + b), never on the caller's X."""
    net.note_batch(X.shape[0])
    before = None
    for n, layer in enumerate(net.layers):
        if layer.works_in_place:
            out = layer.forward(X, training,
                                in_place=before is not None and before.private_output)
        else:
            out = layer.forward(X, training)
        if recorder is not None:
            # Copies: the next activation may overwrite a Dense layer's fresh output.
            recorder.layers.append(LayerRecord(n, layer, X.copy() if n == 0 else
                                               recorder.layers[-1].output, out.copy()))
        X, before = out, layer
    return X


def backward(net, d, upto: int, input_grad: bool = False,
             recorder: Recorder | None = None):
    """Back-propagate ``d`` = ∂E/∂(output of layer upto−1) through layers upto−1 … 0; fill
    every parameter's gradient; return ∂E/∂X (None unless ``input_grad``, or for a sparse
    X). An activation works in place on the ∂E/∂x its right neighbour declares private,
    never on an array the caller passed in."""
    layers = net.layers
    for n in range(upto - 1, -1, -1):
        layer = layers[n]
        if recorder is not None:
            recorder.layers[n].d_output = d.copy()
        keep = input_grad or n > 0
        if layer.works_in_place:
            after = layers[n + 1] if n + 1 < upto else None
            d = layer.backward(d, keep, in_place=after is not None and after.private_input_grad)
        else:
            d = layer.backward(d, keep)
        if recorder is not None:
            record = recorder.layers[n]
            record.d_input = None if d is None else d.copy()
            record.grads = {p.name: p.grad.copy() for p in layer.parameters()}
    return d


def loss_value(net, batch: Batch, loss: Loss, training: bool = False) -> float:
    """E of a checked batch, forward only."""
    return float(loss.values(forward(net, batch.X, training), batch.T) @ batch.coef)


def step(net, batch: Batch, loss: Loss, *, training: bool = True, input_grad: bool = False,
         recorder: Recorder | None = None) -> StepResult:
    """One back-propagation step on a checked batch: fills every ``p.grad`` with ∂E/∂p
    (overwriting) and returns E, Y and (with ``input_grad``) ∂E/∂X."""
    X, T, coef = batch
    Y = forward(net, X, training, recorder)
    value = float(loss.values(Y, T) @ coef)
    upto = len(net.layers)
    fused = uses_fused_rule(net, loss)
    if fused:
        if recorder is not None:                 # ∂E/∂y as the loss alone gives it
            recorder.layers[-1].d_output = loss.grads(Y, T) * coef[:, None]
            recorder.layers[-1].fused = True
        d = loss.fused(Y, T)
        upto -= 1                                # the output activation's Jacobian is folded in
    else:
        d = loss.grads(Y, T)
    d *= coef[:, None]
    if recorder is not None:
        recorder.loss, recorder.fused = value, fused
        if fused:
            recorder.layers[-1].d_input = d.copy()
    d = backward(net, d, upto, input_grad, recorder)
    return StepResult(value, Y, d if input_grad else None)


def compute(net, X, T, loss, sample_weight=None, *, training: bool = True,
            recorder: Recorder | None = None) -> float:
    """``step`` on an unchecked batch (what ``Network.compute_gradients`` does): resolve the
    loss, check X, T and the weights, then one step. Returns E."""
    loss = check_loss(net, loss)
    batch = prepare(net, X, T, loss, sample_weight)
    return step(net, batch, loss, training=training, recorder=recorder).loss

