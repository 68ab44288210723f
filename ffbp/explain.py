"""One weight's gradient, factor by factor, in the tutorials' notation.

``explain(net, loss, x, t, layer=2, i=0, j=1)`` takes one sample and one weight W^k_ij of
the k-th Dense layer (or its bias b^k_j) and shows where ∂E/∂W^k_ij comes from:

* the forward pass: x (the input of that layer), h' = x W + b, h = Φ(h');
* the output delta δ^L = ∂E/∂y ⊙ Φ'(h'^L), or y − t when softmax (sigmoid) meets its
  cross-entropy at the output;
* the hidden deltas, right to left: δ^k_j = Φ'(h'^k_j) Σ_m W^(k+1)_jm δ^(k+1)_m;
* ∂E/∂W^k_ij = δ^k_j x_i (∂E/∂b^k_j = δ^k_j: the bias unit outputs 1);
* tutorial 004's "Equation A": the same number as a sum over every path from W^k_ij to the
  output, each path a product x_i Φ'_j W_jm Φ'_m … δ^L (listed when there are few paths);
* the central finite difference (E(W + h) − E(W − h)) / 2h beside it, and the update
  ΔW = −α ∂E/∂W for a learning rate α;
* with ``weight_decay=λ`` tutorial 002's term: ∂J/∂W = δ x + λW for J = E + ½λ‖W‖² (weights
  only, biases are not decayed, as in ffbp's optimisers), and the update ΔW = −α ∂J/∂W.

``notation="ffbp"`` (the default) prints ffbp's names, indices from 0 (W¹[0, 1]).
``notation="tutorial"`` prints the same numbers in the tutorials' own notation: indices from 1
(W¹₁₂ is ffbp's W¹[0, 1], said once in the output); tutorial 004's (d − y) form of the update
for squared error, ΔW¹ᵢⱼ = α(d − y)W²ⱼΦ′ⱼxᵢ; tutorial 001's factors ∂L/∂Y and ∂Y/∂y of a
fused softmax (sigmoid) + cross-entropy output before their product y − t; and tutorial 000's
"monster expression": the sum over paths written whole with its derivative symbols, then with
numbers. The notation changes the rendering only; every number is the same.

Layers are counted two ways. An integer ``layer=k`` is the k-th Dense layer counting from 1,
the tutorials' superscript (W¹ is the first weight matrix); −1 is the last. A string
``layer="layer2"`` is the index in ``net.layers``, as in ``net.named_parameters()`` and
``gradcheck`` ("layer2.W"; "layer2.b" also selects the bias). Unit indices i, j are NumPy's,
from 0. Everything runs on a float64 copy in inference mode (dropout off, batch norm on its
running statistics: one sample has no batch statistics); the network is not changed.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

import numpy as np

from . import _explain_render as _render
from . import backprop
from ._explain_render import sup as _sup
from ._validation import as_matrix
from .errors import ConfigError, ShapeError
from .layers.activations import Activation
from .layers.dense import Dense

#: Finite-difference step: central differences in float64 are accurate to ~1e-9 here.
FD_STEP = 1e-6


@dataclass
class Stage:
    """One Dense layer k and the layers after it up to the next Dense layer (its Φ).

    ``jacobian[m, n] = ∂h_m/∂h'_n`` of that block for this sample; diagonal (``phi_prime``
    on it) for element-wise activations, full for softmax. ``grad_output = ∂E/∂h`` (for the
    output stage ∂E/∂y; for a hidden one Σ_m W^(k+1)_jm δ^(k+1)_m) and ``delta = ∂E/∂h'``."""

    number: int
    index: int
    dense: str
    block: list
    x: np.ndarray
    W: np.ndarray
    h_pre: np.ndarray
    h: np.ndarray
    jacobian: np.ndarray
    grad_output: np.ndarray
    delta: np.ndarray

    @property
    def diagonal(self) -> bool:
        return bool(np.count_nonzero(self.jacobian - np.diag(np.diag(self.jacobian))) == 0)

    @property
    def phi_prime(self) -> np.ndarray:
        return np.diag(self.jacobian).copy()


@dataclass
class Path:
    """A path of Equation A: its units (j, then one per layer above), factors, product."""

    units: tuple
    factors: list
    product: float


@dataclass
class Explanation:
    """∂E/∂W^k_ij (or ∂E/∂b^k_j) for one sample, with every factor. See the module doc.

    ``stages`` runs from the chosen layer k up to the output layer L. ``gradient`` is the
    chain-rule product δ_j x_i, ``backprop`` what ``net.backward`` computes, ``numeric`` the
    central finite difference. ``paths`` is None when there are more than ``max_paths``."""

    parameter: str
    symbol: str
    bias: bool
    i: int | None
    j: int
    loss_name: str
    E: float
    value: float
    x_i: float
    stages: list
    fused: bool
    output_rule: str
    gradient: float
    backprop: float
    numeric: float
    path_count: int
    paths: list | None = None
    path_sum: float | None = None
    lr: float | None = None
    update: float | None = None
    notes: list = field(default_factory=list)
    y: np.ndarray | None = None
    t: np.ndarray | None = None
    notation: str = "ffbp"
    weight_decay: float = 0.0
    decay_term: float = 0.0
    objective_gradient: float | None = None
    fused_with: str | None = None

    @property
    def tutorial_symbol(self) -> str:
        """The weight in the tutorials' notation, indices from 1: W¹₁₂ for W¹[0, 1]."""
        return _render.tutorial_symbol(self)

    @property
    def delta_j(self) -> float:
        return float(self.stages[0].delta[self.j])

    def to_dict(self) -> dict:
        """Every number and array (as lists): JSON-able, for programs."""
        return _render.to_dict(self)

    def to_markdown(self) -> str:
        return _render.to_markdown(self)

    def to_latex(self) -> str:
        return _render.to_latex(self)

    def __str__(self) -> str:
        return _render.to_text(self)


NOTATIONS = ("ffbp", "tutorial")


def explain(net, loss, x, t, layer=1, i: int = 0, j: int = 0, lr: float | None = None,
            bias: bool = False, max_paths: int = 200, notation: str = "ffbp",
            weight_decay: float = 0.0) -> Explanation:
    """Explain ∂E/∂W^k_ij (``bias=True``: ∂E/∂b^k_j) of one sample (x, t).

    Args:
        net: the Network (not modified; a float64 copy does the work).
        loss: loss name or instance; E is the loss of this one sample.
        x: one sample, shape (n_features,) or (1, n_features). t: its target.
        layer: k-th Dense layer from 1 (int, −1 = last) or "layer<index>" (net.layers index).
        i, j: W[i, j] connects input unit i to unit j of layer k (from 0).
        lr: the learning rate α of the update ΔW = −α ∂E/∂W (None: no update shown).
        max_paths: list the paths of Equation A when there are at most this many.
        notation: "ffbp" (ffbp's names, indices from 0) or "tutorial" (the tutorials' forms,
            indices from 1); the rendering changes, the numbers do not.
        weight_decay: λ of J = E + ½λ‖W‖² (tutorial 002): adds the term λW to ∂J/∂W and to
            the update (0 for a bias, which is not decayed). ``gradient``, ``backprop`` and
            ``numeric`` stay ∂E/∂W; ``objective_gradient`` is ∂J/∂W.
    """
    if notation not in NOTATIONS:
        raise ConfigError(f"notation={notation!r}: use one of {', '.join(map(repr, NOTATIONS))}")
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float, np.number)) \
            or not math.isfinite(weight_decay) or weight_decay < 0:
        raise ConfigError(f"weight_decay must be a number >= 0, got {weight_decay!r}")
    net64 = net.astype(np.float64)
    loss = backprop.check_loss(net64, loss)
    X = as_matrix(x, "x", np.float64, net64.n_features)
    if len(X) != 1:
        raise ShapeError(f"explain works on one sample, got {len(X)} (use trace for a batch)")
    T = _one_target(loss, t, net64.n_outputs)
    dense = [n for n, lay in enumerate(net64.layers) if isinstance(lay, Dense)]
    s, bias = _resolve_layer(net64, dense, layer, bias)
    target = net64.layers[dense[s]]
    if bias and target.b is None:
        raise ConfigError(f"layer{dense[s]} ({target!r}) has no bias")
    if not 0 <= j < target.out_features or (not bias and not 0 <= i < target.in_features):
        raise ShapeError(f"W of layer{dense[s]} has shape {target.W.shape}; got i={i}, j={j}")
    param, where = (target.b, (j,)) if bias else (target.W, (i, j))

    # The step fit takes, recorded: every layer's input (acts[n] is the input of layer n),
    # the output delta it back-propagates, and the gradient it computes for the weight.
    batch = backprop.Batch(X, T, np.ones(1))
    record = backprop.Recorder()
    Y = backprop.step(net64, batch, loss, training=False, recorder=record).output
    backprop_value = float(param.grad[where])
    acts = [X] + [r.output for r in record.layers]
    fused = record.fused
    stages = [_stage(net64, acts, dense, k) for k in range(len(dense))]

    # Right to left, by the tutorials' recursion: the output delta, then
    # δ^k = Jᵀ (W^(k+1) δ^(k+1)).
    out = stages[-1]
    out.grad_output = record.layers[-1].d_output[0]          # ∂E/∂y
    if fused:   # y − t is ∂E/∂(input of the output activation): skip its Jacobian only
        rest = _block_jacobian(net64, acts, dense[-1] + 1, len(net64.layers) - 1)
        out.delta = rest.T @ record.layers[-1].d_input[0]
    else:
        out.delta = out.jacobian.T @ out.grad_output
    for k in range(len(stages) - 2, -1, -1):
        stages[k].grad_output = stages[k + 1].W @ stages[k + 1].delta
        stages[k].delta = stages[k].jacobian.T @ stages[k].grad_output
    stages = stages[s:]

    x_i = 1.0 if bias else float(stages[0].x[i])
    gradient = float(stages[0].delta[j]) * x_i      # ∂E/∂W_ij = δ_j x_i
    numeric = _finite_difference(net64, loss, batch, param.value, where)

    name = f"layer{dense[s]}." + (f"b[{j}]" if bias else f"W[{i}, {j}]")
    symbol = f"b{_sup(s + 1)}[{j}]" if bias else f"W{_sup(s + 1)}[{i}, {j}]"
    expl = Explanation(
        parameter=name, symbol=symbol, bias=bias, i=None if bias else i, j=j,
        loss_name=type(loss).__name__, E=record.loss,
        value=float(param.value[where]), x_i=x_i, stages=stages, fused=fused,
        output_rule=_render.output_rule(loss, fused, out), gradient=gradient,
        backprop=backprop_value, numeric=numeric,
        path_count=math.prod(len(st.delta) for st in stages[1:]), y=Y[0], t=T[0],
        notation=notation, weight_decay=float(weight_decay),
        fused_with=loss.fused_with.__name__ if fused else None)
    # Tutorial 002: J = E + ½λ‖W‖², so ∂J/∂W = ∂E/∂W + λW (biases are not decayed).
    expl.decay_term = 0.0 if bias else float(weight_decay) * expl.value
    expl.objective_gradient = gradient + expl.decay_term if weight_decay else gradient
    if lr is not None:
        expl.lr, expl.update = float(lr), -float(lr) * expl.objective_gradient
    if not all(st.diagonal for st in stages[:-1]):
        expl.notes.append("a hidden block is not element-wise (e.g. a softmax): its units mix, "
                          "so the paths are not listed; the δ recursion uses its Jacobian")
    elif expl.path_count <= max_paths:
        expl.paths = _paths(stages, j, x_i, "1" if bias else f"x[{i}]")
        expl.path_sum = float(sum(p.product for p in expl.paths))
    return expl


def _one_target(loss, t, n_outputs):
    t = np.asarray(t)
    if t.ndim == 0:
        t = t.reshape(1)            # a class index, or the value of a single output
    elif t.ndim == 1 and t.size == n_outputs:
        t = t.reshape(1, -1)        # one row of targets
    T = loss.prepare_targets(t, n_outputs, "t").astype(np.float64)
    if len(T) != 1:
        raise ShapeError(f"t must be the target of one sample, got {len(T)} rows")
    return T


def _resolve_layer(net, dense, layer, bias):
    """(0-based position among the Dense layers, bias flag) from either way of counting."""
    where = ", ".join(f"layer{n}" for n in dense)
    if isinstance(layer, str):
        m = re.fullmatch(r"layer(\d+)(?:\.([Wb]))?", layer)
        if m is None:
            raise ConfigError(f"layer={layer!r}: use an integer k (the k-th Dense layer, from 1) "
                              f"or a name such as 'layer0' (Dense layers: {where})")
        index = int(m.group(1))
        if index not in dense:
            what = repr(net.layers[index]) if index < len(net.layers) else "not in the network"
            raise ConfigError(f"layer={layer!r} is {what}, not a Dense layer "
                              f"(Dense layers: {where})")
        return dense.index(index), bias or m.group(2) == "b"
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise ConfigError(f"layer must be an int or 'layer<index>', got {layer!r}")
    k = int(layer)
    if k == 0:
        raise ConfigError("layer=k counts Dense layers from 1, as in W¹, W², …; for the index "
                          f"in net.layers pass a name such as 'layer0' (Dense layers: {where})")
    k = k + len(dense) + 1 if k < 0 else k
    if not 1 <= k <= len(dense):
        raise ConfigError(f"layer={layer}: the network has {len(dense)} Dense layer(s)")
    return k - 1, bias


def _layer_jacobian(layer, u):
    """∂(layer output)/∂u at the one-row input u, shape (n_out, n_in)."""
    if isinstance(layer, Activation) and type(layer).derivative_from_output is not \
            Activation.derivative_from_output:
        # A copy: an activation may work in place on its input, and u is kept in acts.
        return np.diag(layer.derivative_from_output(layer.forward(u.copy(), False))[0])
    # Not element-wise (softmax, batch norm...): backward of eᵢ on copies of u gives row i.
    n = layer.forward(u.copy(), False).shape[1]
    layer.forward(np.repeat(u, n, axis=0), False)
    return layer.backward(np.eye(n), input_grad=True)


def _block_jacobian(net, acts, start, stop):
    """∂(output of layer stop−1)/∂(input of layer start), for the layers start … stop−1."""
    J = np.eye(acts[start].shape[1])
    for n in range(start, stop):
        J = _layer_jacobian(net.layers[n], acts[n]) @ J
    return J


def _stage(net, acts, dense, k):
    d = dense[k]
    stop = dense[k + 1] if k + 1 < len(dense) else len(net.layers)
    return Stage(number=k + 1, index=d, dense=repr(net.layers[d]),
                 block=[repr(lay) for lay in net.layers[d + 1:stop]],
                 x=acts[d][0].copy(), W=net.layers[d].W.value.copy(), h_pre=acts[d + 1][0],
                 h=acts[stop][0], jacobian=_block_jacobian(net, acts, d + 1, stop),
                 grad_output=None, delta=None)


def _finite_difference(net, loss, batch, array, where):
    """(E(w + h) − E(w − h)) / 2h for the one entry w = array[where]."""
    orig, E = array[where], []
    for w in (orig + FD_STEP, orig - FD_STEP):
        array[where] = w
        E.append(backprop.loss_value(net, batch, loss))
    array[where] = orig
    return (E[0] - E[1]) / (2 * FD_STEP)


def _paths(stages, j, x_i, x_name):
    """Equation A: every path j → m₁ → … → m_L, each a product of its factors."""
    paths = []
    first = [(x_name, x_i)]
    if len(stages) > 1:         # in the output layer δ^L_j already holds Φ'_j (or y − t)
        first.append((f"Φ'{_sup(stages[0].number)}[{j}]", float(stages[0].jacobian[j, j])))
    for units in itertools.product(*(range(len(st.delta)) for st in stages[1:])):
        factors, prev = list(first), j
        for st, m in zip(stages[1:], units, strict=True):
            factors.append((f"W{_sup(st.number)}[{prev},{m}]", float(st.W[prev, m])))
            if st is not stages[-1]:
                factors.append((f"Φ'{_sup(st.number)}[{m}]", float(st.jacobian[m, m])))
            prev = m
        factors.append((f"δ{_sup(stages[-1].number)}[{prev}]", float(stages[-1].delta[prev])))
        paths.append(Path((j, *units), factors, math.prod(v for _, v in factors)))
    return paths

