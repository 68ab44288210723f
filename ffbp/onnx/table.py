"""The whole model of ``ffbp train`` as one ONNX graph: table columns in, predictions in the
target's own units out.

A model written by ``ffbp train`` carries its preprocessing in its metadata (``features``:
one spec per column; ``target``: task, classes or scaling). Its export takes every feature
column as a graph input named as the column, shape (N, 1):

* a numeric column: a DOUBLE tensor; NaN is a missing value. The graph computes what the CLI
  computes in float64, x → (x − mean) / std with a missing x imputed as the mean (so 0),
  with the plain operators IsNaN, Where, Sub, Div (bit-identical to NumPy), then casts to the
  network's dtype. Not ONNX-ML's Imputer and Scaler: onnxruntime runs them in float32 only,
  which would round a column of large values (1e6 + small differences) before scaling.
* a categorical column (text, booleans, ``--categorical``): a STRING tensor holding each
  value as the CLI keys it (``str`` of the value, whole-number floats as integers: "3", not
  "3.0"; booleans "True"/"False"); ``missing_text`` (default the empty string) is a missing
  value. ONNX-ML's OneHotEncoder(cats_strings = the training categories + ``missing_text``
  when training had missing values, zeros=1) gives the CLI's one-hot block, an unseen value
  (or a missing one when training had none) the all-zero block. OneHotEncoder rather than
  Equal against the categories: Equal takes strings only from opset 19, and onnxruntime has
  long had OneHotEncoder's string kernel.

The blocks are concatenated in the model's input order (a Gather permutes them when numeric
and categorical columns interleave), then the network runs, then its output is decoded as
``ffbp predict`` decodes it:

* regression: ``prediction`` (N,) DOUBLE = output · std + mean, in float64 as the CLI does;
* classification: ``prediction`` (N,) the label (INT64 when every class is an integer,
  DOUBLE when every class is a number, else STRING, ``str`` of the label), Gather of the
  class list at the decision (ArgMax, or output ≥ threshold for the one-output binary
  losses); and ``probabilities`` (N, k) in the network's dtype, in the order of the classes,
  for the losses that model them (not hinge, multi_margin).
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import ConfigError
from ..losses import (
    NLL,
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CrossEntropy,
    CrossEntropyWithLogits,
    Hinge,
    MultiMargin,
)
from .layers import Graph, add_network

#: Names of the graph's outputs.
PREDICTION, PROBABILITIES = "prediction", "probabilities"
#: What a classification loss's output becomes: probabilities from the output y (None: the
#: loss has none), and whether the decision is ArgMax (else y ≥ loss.threshold, one output).
_DECODERS = {
    CrossEntropy: ("Identity", True), CrossEntropyWithLogits: ("Softmax", True),
    NLL: ("Exp", True), MultiMargin: (None, True),
    BinaryCrossEntropy: ("Identity", False), BinaryCrossEntropyWithLogits: ("Sigmoid", False),
    Hinge: (None, False),
}


def has_preprocessing(net) -> bool:
    """Whether ``net`` was written by ``ffbp train`` (its metadata holds the preprocessing)."""
    meta = net.metadata or {}
    return meta.get("ffbp_cli") is not None and isinstance(meta.get("features"), list) \
        and isinstance(meta.get("target"), dict)


def column_inputs(net) -> list[tuple[str, str]]:
    """(column name, "numeric" or "categorical") of every graph input, in order."""
    return [(f["name"], f["kind"]) for f in net.metadata["features"]]


def check_table_model(net, missing_text: str) -> None:
    """ConfigError for what the whole-model graph cannot express (before onnx is needed)."""
    if not isinstance(missing_text, str):
        raise ConfigError(f"missing_text must be a string, got {missing_text!r}")
    features, target = net.metadata["features"], net.metadata["target"]
    names = [f["name"] for f in features]
    taken = {PREDICTION, PROBABILITIES}
    clash = [n for n in names if n in taken or n.startswith("ffbp.") or re.match(r"layer\d+\.", n)]
    if clash:
        raise ConfigError(f"column(s) {', '.join(map(repr, clash))} would clash with the "
                          f"graph's own tensor names (prediction, probabilities, ffbp.*, "
                          f"layer<i>.*); export with preprocessing=False")
    for f in features:
        if f["kind"] == "categorical" and f["missing"] and missing_text in f["categories"]:
            raise ConfigError(f"column {f['name']!r} has a category {missing_text!r}, the "
                              f"missing_text that stands for a missing value; choose another "
                              f"missing_text")
    if target["task"] == "classification":
        if type(net.loss) not in _DECODERS:
            raise ConfigError(f"cannot export the decoding of {type(net.loss).__name__}'s "
                              f"outputs into classes; export with preprocessing=False")
    elif net.n_outputs != 1:
        raise ConfigError(f"a regression model with {net.n_outputs} outputs: the metadata "
                          f"scales one")


def add_table_model(g: Graph, net, onnx, helper, batch_dim, missing_text: str):
    """Append the whole model to ``g``; returns (graph inputs, graph outputs) value infos."""
    T = onnx.TensorProto
    features, target = net.metadata["features"], net.metadata["target"]
    inputs, blocks, widths = [], [], []

    numeric = [f for f in features if f["kind"] == "numeric"]
    for f in features:
        kind = T.DOUBLE if f["kind"] == "numeric" else T.STRING
        doc = (f"numeric: standardised with mean {f['mean']!r}, std {f['std']!r}; NaN = "
               f"missing (-> mean)" if f["kind"] == "numeric" else
               f"categorical: one-hot over {len(f['categories'])} categories; "
               f"{missing_text!r} = missing; unseen -> all zeros")
        inputs.append(helper.make_tensor_value_info(f["name"], kind, [batch_dim, 1], doc))
    if numeric:
        p = "ffbp.numeric"
        x = numeric[0]["name"] if len(numeric) == 1 else g.node(
            p, "Concat", [f["name"] for f in numeric], f"{p}.x", axis=1)
        mean = g.array(f"{p}.mean", np.array([f["mean"] for f in numeric], np.float64))
        std = g.array(f"{p}.std", np.array([f["std"] for f in numeric], np.float64))
        nan = g.node(p, "IsNaN", [x], f"{p}.isnan")
        filled = g.node(p, "Where", [nan, mean, x], f"{p}.imputed")
        z = g.node(p, "Div", [g.node(p, "Sub", [filled, mean], f"{p}.centred"), std],
                   f"{p}.z")
        blocks.append(_cast(g, p, z, g.elem_type, T.DOUBLE))
        widths.append(len(numeric))
    categorical = [f for f in features if f["kind"] == "categorical"]
    for c, f in enumerate(categorical):
        p = f"ffbp.column{c}"
        cats = [str(v) for v in f["categories"]] + ([missing_text] if f["missing"] else [])
        hot = g.node(p, "OneHotEncoder", [f["name"]], f"{p}.onehot", f"column {f['name']!r}",
                     domain="ai.onnx.ml", cats_strings=cats, zeros=1)
        flat = g.node(p, "Flatten", [hot], f"{p}.flat", axis=1)           # (N, 1, C) -> (N, C)
        blocks.append(_cast(g, p, flat, g.elem_type, T.FLOAT))
        widths.append(len(cats))

    x = blocks[0] if len(blocks) == 1 else g.node("ffbp.features", "Concat", blocks,
                                                  "ffbp.concat", axis=1)
    order = _input_order(features, widths)
    if order is not None:                    # numeric and categorical columns interleave
        x = g.node("ffbp.features", "Gather", [x, g.array("ffbp.order", order)],
                   "ffbp.features", axis=1)
    add_network(g, net, x, "ffbp.network")
    return inputs, _decode(g, net, target, helper, T, batch_dim)


def _cast(g, p, x, to, have):
    return x if to == have else g.node(p, "Cast", [x], f"{x}.cast", to=to)


def _input_order(features, widths):
    """Column j of the network's input is column order[j] of [numeric block, categorical
    blocks...]; None when that is the identity."""
    n_numeric = sum(f["kind"] == "numeric" for f in features)
    start = n_numeric                       # where the next categorical block begins
    blocks_width = iter(widths[1:] if n_numeric else widths)
    order, k = [], 0
    for f in features:
        if f["kind"] == "numeric":
            order.append(k)
            k += 1
        else:
            w = next(blocks_width)
            order += range(start, start + w)
            start += w
    order = np.array(order, dtype=np.int64)
    return None if np.array_equal(order, np.arange(len(order))) else order


def _decode(g, net, target, helper, T, batch_dim):
    y, p = "ffbp.network", "ffbp.decode"

    def flat_shape():
        return g.array(f"{p}.flat_shape", np.array([-1], np.int64))

    if target["task"] == "regression":
        value = _cast(g, p, y, T.DOUBLE, g.elem_type)
        scaled = g.node(p, "Mul", [value, g.array(f"{p}.std", np.float64(target["std"]))],
                        f"{p}.scaled")
        shifted = g.node(p, "Add", [scaled, g.array(f"{p}.mean", np.float64(target["mean"]))],
                         f"{p}.value")
        g.node(p, "Reshape", [shifted, flat_shape()], PREDICTION)
        return [helper.make_tensor_value_info(PREDICTION, T.DOUBLE, [batch_dim],
                                              f"{target['name']!r}, in its own units")]
    proba_op, argmax = _DECODERS[type(net.loss)]
    if argmax:
        index = g.node(p, "ArgMax", [y], f"{p}.index", axis=1, keepdims=0)
    else:
        ge = g.node(p, "GreaterOrEqual", [y, g.const(f"{p}.threshold", net.loss.threshold)],
                    f"{p}.ge")
        index = g.node(p, "Reshape", [g.node(p, "Cast", [ge], f"{p}.ge64", to=T.INT64),
                                      flat_shape()],
                       f"{p}.index")
    classes, kind = _classes(target["classes"], T)
    g.node(p, "Gather", [g.array(f"{p}.classes", classes), index], PREDICTION, axis=0)
    outputs = [helper.make_tensor_value_info(PREDICTION, kind, [batch_dim],
                                             f"the predicted {target['name']!r}")]
    if proba_op is None:
        return outputs
    proba = g.node(p, proba_op, [y], f"{p}.proba" if not argmax else PROBABILITIES,
                   **({"axis": 1} if proba_op == "Softmax" else {}))
    if not argmax:                           # one output, P(second class): [1 − p, p]
        other = g.node(p, "Sub", [g.const(f"{p}.one", 1.0), proba], f"{p}.other")
        g.node(p, "Concat", [other, proba], PROBABILITIES, axis=1)
    outputs.append(helper.make_tensor_value_info(
        PROBABILITIES, g.elem_type, [batch_dim, len(target["classes"])],
        "class probabilities, columns in the order of the classes: "
        + ", ".join(map(str, target["classes"][:20]))))
    return outputs


def _classes(classes, T):
    """The class list as a tensor the labels are gathered from, and its element type."""
    if all(type(c) is int for c in classes):
        return np.array(classes, dtype=np.int64), T.INT64
    if all(type(c) in (int, float) for c in classes):
        return np.array(classes, dtype=np.float64), T.DOUBLE
    return np.array([str(c) for c in classes], dtype=object), T.STRING


def table_feeds(net, df, missing_text: str = "") -> dict:
    """The inputs of ``net``'s whole-model ONNX graph for the rows of DataFrame ``df``, by
    column name: numeric columns as float64 (N, 1) with NaN where missing, categorical ones as
    (N, 1) arrays of strings with ``missing_text`` where missing. A value is keyed as
    ``ffbp predict`` keys it: its own key, or the training category whose number, boolean or
    date it spells (``KeyIndex``: codes "01" read from a CSV as 1), written as that category,
    since the graph's OneHotEncoder matches strings exactly. Extra columns are ignored."""
    from ..tabular.columns import KeyIndex, category_keys, numbers

    feeds = {}
    for f in net.metadata["features"]:
        if f["name"] not in df.columns:
            raise ConfigError(f"the table lacks the model's column {f['name']!r}")
        series = df[f["name"]]
        if f["kind"] == "numeric":
            feeds[f["name"]] = numbers(series, f["name"], "the table")[:, None]
        else:
            categories = [str(c) for c in f["categories"]]
            index = KeyIndex(categories, f.get("text"))
            feeds[f["name"]] = np.array(
                [missing_text if k is None else
                 k if (j := index.get(k, isinstance(v, str))) is None else categories[j]
                 for k, v in zip(category_keys(series), series.tolist(), strict=True)],
                dtype=object)[:, None]
    return feeds
