"""Looking inside one weight and one step: ``Session.explain`` and ``Session.step_detail``.

The page counts as the tutorials do: Dense layer L, units I and J from 1 (its ids
weight-L-I-J); ``weight_index`` is the one place that turns them into ffbp's 0-based
indices. Samples are 0-based indices into the training set, as the page sends them.
"""

from __future__ import annotations

import numpy as np

from .. import backprop
from ..explain import explain as ffbp_explain
from ..layers.dense import Dense
from .errors import PlaygroundError

_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def dense_layers(net) -> list[int]:
    """Indices in ``net.layers`` of the Dense layers, in order (W¹, W², …)."""
    return [n for n, layer in enumerate(net.layers) if isinstance(layer, Dense)]


def _whole(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
            not low <= value <= high:
        raise PlaygroundError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return int(value)


def weight_index(net, layer, i, j) -> tuple[int, int, int]:
    """Page (1-based Dense layer L, units I, J) → (index in net.layers, i, j) from 0,
    checked against the network's shape."""
    dense = dense_layers(net)
    layer = _whole("layer", layer, 1, len(dense))
    W = net.layers[dense[layer - 1]].W.value
    i = _whole(f"i (a unit of layer {layer}'s input)", i, 1, W.shape[0])
    j = _whole(f"j (a unit of layer {layer})", j, 1, W.shape[1])
    return dense[layer - 1], i - 1, j - 1


def symbol(layer, i, j) -> str:
    """W^L_IJ in the tutorials' notation, e.g. W²₁₂ (indices from 1)."""
    return f"W{str(layer).translate(_SUP)}{str(i).translate(_SUB)}{str(j).translate(_SUB)}"


def training_sample(session, sample):
    """(x (n_inputs,), t (1,)) of training sample ``sample`` (0-based)."""
    d = session.data
    k = _whole("sample (an index into the training set)", sample, 0, len(d.t_train) - 1)
    return d.X_train[k], d.t_train[k:k + 1]


def explain(session, layer, i, j, sample, bias: bool = False) -> dict:
    """``ffbp.explain`` on the session's own network, loss and training sample, in the
    tutorials' notation, with the configured α and (for L2) λ. ``bias``: ∂E/∂b^layer_j
    instead (``i`` is not used: the bias unit outputs 1)."""
    if not isinstance(bias, bool):
        raise PlaygroundError(f"bias must be true or false, got {bias!r}")
    # a bias has no input unit: check j (and the layer) against unit 1's row of W
    _, i0, j0 = weight_index(session.network, layer, 1 if bias else i, j)
    x, t = training_sample(session, sample)
    c = session.config
    decay = c["reg_rate"] if c["regularization"] == "l2" else 0.0
    e = ffbp_explain(session.network, session.loss, x, t, layer=int(layer), i=i0, j=j0,
                     lr=c["learning_rate"], notation="tutorial", weight_decay=decay,
                     bias=bias)
    notes = []
    if c["optimizer"] != "sgd":
        notes.append(f"the update shown is gradient descent's; this session trains with "
                     f"{c['optimizer']}, which scales the same gradient differently")
    if c["regularization"] == "l1" and c["reg_rate"] > 0 and not bias:
        notes.append(f"L1 adds λ sign(W) = {c['reg_rate'] * np.sign(e.value):g} to the "
                     f"gradient in training (not shown in the chain rule)")
    return {"layer": int(layer), "i": None if bias else int(i), "j": int(j), "bias": bias,
            "sample": int(sample),
            "symbol": e.tutorial_symbol, "text": str(e), "markdown": e.to_markdown(),
            "gradient": e.gradient, "numeric": e.numeric, "backprop": e.backprop,
            "value": e.value, "update": e.update, "objective_gradient": e.objective_gradient,
            "learning_rate": e.lr, "weight_decay": e.weight_decay, "E": e.E,
            "notes": notes}


def _per_layer(net, record, sample_row=0) -> list[dict]:
    """h' (the Dense output), h (its block's output) and δ = ∂E/∂h' per Dense layer."""
    dense = dense_layers(net)
    out = []
    for k, n in enumerate(dense):
        end = dense[k + 1] - 1 if k + 1 < len(dense) else len(net.layers) - 1
        out.append({"layer": k + 1,
                    "h_in": record.layers[n].output[sample_row].tolist(),
                    "h": record.layers[end].output[sample_row].tolist(),
                    "delta": record.layers[n].d_output[sample_row].tolist()})
    return out


def rule(config) -> str:
    """The update the optimiser applies, in words and symbols."""
    reg, lam = config["regularization"], config["reg_rate"]
    grad = "∂E/∂W" + (" + λW" if reg == "l2" and lam > 0 else
                      " + λ sign(W)" if reg == "l1" and lam > 0 else "")
    g = grad if grad == "∂E/∂W" else f"({grad})"
    return {"sgd": f"W ← W − α {g}",
            "momentum": f"v ← 0.9 v + {g};  W ← W − α v",
            "adam": f"m, v ← moments of {g};  W ← W − α m̂ / (√v̂ + ε)"}[config["optimizer"]]


def _flat_offset(net, n) -> int:
    """Where layer n's W starts in the network's flat parameter vector."""
    offset = 0
    for k, layer in enumerate(net.layers):
        for p in layer.parameters():
            if k == n and p is layer.W:
                return offset
            offset += p.size
    raise AssertionError("a Dense layer always has W")


def _regularised(config, gradient, value) -> float:
    """∂E/∂W plus the regularisation term the optimiser adds (L2: λW, L1: λ sign W)."""
    reg, lam = config["regularization"], config["reg_rate"]
    if reg == "l2":
        return gradient + lam * value
    if reg == "l1":
        return gradient + lam * float(np.sign(value))
    return gradient


def step_detail(session, sample, selected, step: bool = True) -> dict:
    """The chosen sample alone first, on the weights before the step (c = 1, so δ is that
    sample's own ∂Eₙ/∂h', the tutorials' δ, whether or not it is in this mini-batch); then
    the mini-batch step (``Session.step_once``), reading the selected weight's gradient
    between the backward pass and the optimiser. ``step=False``: the same for the next
    mini-batch without applying it (``Session.preview_step``)."""
    net, loss = session.network, session.loss
    x, t = training_sample(session, sample)
    record = backprop.Recorder()
    one = backprop.Batch(x[None, :], t[None, :], np.ones(1))
    E = backprop.step(net, one, loss, training=False, recorder=record).loss
    layers = _per_layer(net, record)
    y = record.layers[-1].output[0].tolist()
    c, ok = session.config, True
    where = None
    if selected is not None:
        n, i0, j0 = weight_index(net, *selected)
        W = net.layers[n].W
        before, where = float(W.value[i0, j0]), _flat_offset(net, n) + i0 * W.shape[1] + j0
    seen = {}
    if step:
        def look(idx):
            seen.update(batch=idx.tolist(), gradient=None if where is None else
                        float(net.flat_grads[where]))

        ok = session.step_once(before_update=look)
        after = None if where is None else float(net.flat_values[where])
    else:
        idx, grads, update = session.preview_step()
        seen.update(batch=idx.tolist(), gradient=None if where is None else
                    float(grads[where]))
        after = None if where is None else before + float(update[where])
    chosen = None
    if selected is not None:
        L, i, j = selected
        raw = seen["gradient"]
        chosen = {"layer": L, "i": i, "j": j, "symbol": symbol(L, i, j), "before": before,
                  "loss_gradient": raw, "gradient": _regularised(c, raw, before),
                  "after": after, "update": after - before, "lr": c["learning_rate"],
                  "rule": rule(c), "applied": bool(step and ok)}
    train_loss, test_loss = session.losses()
    status = session.status
    batch = seen.get("batch", [])
    return {"sample": int(sample), "x": x.tolist(), "t": t.tolist(), "y": y, "E": E,
            "layers": layers, "selected": chosen, "batch": batch,
            "in_batch": int(sample) in batch, "stepped": bool(step and ok),
            "epoch": status["epoch"], "steps": status["steps"], "loss_train": train_loss,
            "loss_test": test_loss, "diverged": status["diverged"]}
