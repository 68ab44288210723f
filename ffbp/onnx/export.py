"""``to_onnx_model``, ``export_onnx`` and ``check_export``: the network, or the whole model of
``ffbp train`` (``table.py``), as a checked ONNX model written atomically."""

from __future__ import annotations

import json
import re

import numpy as np

from .._validation import as_matrix
from .._version import __version__
from ..checkpoint import atomic_write
from ..errors import ConfigError, ShapeError
from ..layers import BatchNorm
from ..network import Network
from . import table
from .layers import Graph, add_network, check_exportable

#: Opset used when ``opset=None``: old enough (2022) that maintained runtimes read it, and
#: the later versions of the operators emitted here only add data types (bfloat16, float8…).
DEFAULT_OPSET = 17
#: Oldest opset accepted: 13 gives Softmax/LogSoftmax their per-axis semantics and has
#: GreaterOrEqual (12) and the optional Gemm bias (11).
MIN_OPSET = 13
#: The ONNX-ML opset of the whole-model graph (OneHotEncoder has had one version, 1).
ML_OPSET = 1
#: Protobuf cannot serialise a message of 2 GiB or more (weights are stored inline).
_PROTOBUF_LIMIT = 2**31 - 2**20

_INSTALL_HINT = 'ONNX export needs the onnx package: pip install "ffbp[onnx]"'


def _check_name(value, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a non-empty string, got {value!r}")
    if re.match(r"layer\d+\.", value):
        raise ConfigError(f"{what} {value!r} would clash with the exporter's own tensor names "
                          f"(layer<i>.W, layer<i>.out, …); choose another")
    return value


def _resolve_opset(opset, onnx) -> int:
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) \
            or not MIN_OPSET <= opset <= newest:
        raise ConfigError(f"opset must be an integer from {MIN_OPSET} to {newest} (the newest "
                          f"this onnx {onnx.__version__} knows), got {opset!r}")
    return int(opset)


def _import_onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as exc:
        raise ConfigError(_INSTALL_HINT) from exc
    return onnx, helper, numpy_helper


# -- export -----------------------------------------------------------------------------------
def to_onnx_model(net: Network, *, opset: int | None = None, input_name: str | None = None,
                  output_name: str | None = None, batch_dim: str | int = "N",
                  preprocessing: bool | None = None, missing_text: str = ""):
    """The ``onnx.ModelProto`` of ``net`` (checked with ``onnx.checker``); see ``export_onnx``."""
    check_exportable(net)
    whole = _whole_model(net, preprocessing, input_name, output_name)
    if whole:
        table.check_table_model(net, missing_text)
    else:
        input_name = _check_name("input" if input_name is None else input_name, "input_name")
        output_name = _check_name("output" if output_name is None else output_name,
                                  "output_name")
        if input_name == output_name:
            raise ConfigError(f"input_name and output_name must differ, both are "
                              f"{input_name!r}")
    if not (isinstance(batch_dim, str) and batch_dim) and not (
            isinstance(batch_dim, (int, np.integer)) and not isinstance(batch_dim, bool)
            and batch_dim > 0):
        raise ConfigError(f"batch_dim must be a dimension name (dynamic batch) or a positive "
                          f"integer (fixed batch), got {batch_dim!r}")
    if not isinstance(batch_dim, str):
        batch_dim = int(batch_dim)
    onnx, helper, numpy_helper = _import_onnx()
    opset = _resolve_opset(opset, onnx)

    nbytes = net.flat_values.nbytes + sum(
        layer.running_mean.nbytes + layer.running_var.nbytes
        for layer in net.layers if isinstance(layer, BatchNorm))
    if nbytes >= _PROTOBUF_LIMIT:
        raise ConfigError(f"the network's {nbytes:,} bytes of weights exceed the 2 GiB an ONNX "
                          f"file can hold inline")

    elem = onnx.TensorProto.FLOAT if net.dtype == np.float32 else onnx.TensorProto.DOUBLE
    g = Graph(helper, numpy_helper, elem, net.dtype)
    opsets = [helper.make_opsetid("", opset)]
    if whole:
        inputs, outputs = table.add_table_model(g, net, onnx, helper, batch_dim, missing_text)
        if any(node.domain == "ai.onnx.ml" for node in g.nodes):
            opsets.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
    else:
        add_network(g, net, input_name, output_name)
        inputs = [helper.make_tensor_value_info(input_name, elem, [batch_dim, net.n_features])]
        outputs = [helper.make_tensor_value_info(output_name, elem,
                                                 [batch_dim, net.n_outputs])]
    graph = helper.make_graph(g.nodes, "ffbp", inputs, outputs, g.initializers,
                              doc_string=repr(net))
    # The oldest IR version that can carry these opsets, so older runtimes load the file too
    # (make_model would otherwise stamp the newest IR version this onnx knows).
    model = helper.make_model(graph, opset_imports=opsets, producer_name="ffbp",
                              producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for(opsets))
    props = {"ffbp.dtype": str(net.dtype),
             "ffbp.layers": json.dumps([repr(layer) for layer in net.layers]),
             "ffbp.graph": "model" if whole else "network"}
    if net.loss is not None:
        props["ffbp.loss"] = type(net.loss).__name__
    if net.metadata:
        props["ffbp.metadata"] = json.dumps(net.metadata, default=str)
    helper.set_model_props(model, props)
    # full_check adds strict shape/type inference: every node's types must line up.
    onnx.checker.check_model(model, full_check=True)
    return model


def _whole_model(net, preprocessing, input_name, output_name) -> bool:
    """Whether to export the whole model (table columns in, predictions out)."""
    if preprocessing not in (None, True, False):
        raise ConfigError(f"preprocessing must be None, True or False, got {preprocessing!r}")
    has = table.has_preprocessing(net)
    if preprocessing and not has:
        raise ConfigError("preprocessing=True needs a model written by 'ffbp train' (its "
                          "metadata holds the preprocessing); this network has none")
    whole = has if preprocessing is None else preprocessing
    if whole and (input_name is not None or output_name is not None):
        raise ConfigError("input_name and output_name name the network-only graph's tensors: "
                          "the whole model's inputs are the table's columns, its outputs "
                          "'prediction' (and 'probabilities'); pass preprocessing=False to "
                          "export the network alone")
    return whole


def export_onnx(net: Network, path, *, opset: int | None = None, input_name: str | None = None,
                output_name: str | None = None, batch_dim: str | int = "N",
                preprocessing: bool | None = None, missing_text: str = "") -> None:
    """Write ``net``'s inference function to ``path`` as an ONNX model, atomically.

    A plain network maps ``input_name`` (batch_dim, n_features) to ``output_name``
    (batch_dim, n_outputs) in the network's dtype and computes what ``net.forward(X)``
    computes (training=False); see ``ffbp.onnx.layers`` for the operator of each layer.

    A model written by ``ffbp train`` is exported whole (``preprocessing=None`` or True):
    one input per table column, named as the column, shape (batch_dim, 1), DOUBLE for a
    numeric column (NaN = missing), STRING for a categorical one (``missing_text`` =
    missing); the stored imputation, standardisation and one-hot encoding, the network, and
    the decoding into ``prediction`` (the target in its own units, or the class label) and,
    for classifiers with probabilities, ``probabilities``; see ``ffbp.onnx.table``.
    ``preprocessing=False`` exports its network alone, as for a plain network.

    The model passes ``onnx.checker.check_model`` (full check) before anything is written,
    and the file is replaced all-or-nothing (a crash leaves any previous file intact).

    Args:
        net: the network; every layer must be a built-in type (``check_exportable``).
        path: where to write (conventionally ``*.onnx``).
        opset: ONNX opset of the default domain, ``MIN_OPSET`` (13) or newer; default 17.
        input_name, output_name: names of the network-only graph's input and output tensors
            (default "input", "output").
        batch_dim: name of the symbolic batch dimension (any batch size at run time), or a
            positive integer to fix the batch size.
        preprocessing: None: the whole model when ``net`` carries ``ffbp train``'s
            preprocessing, else the network; True: the whole model (an error without it);
            False: the network.
        missing_text: the string that stands for a missing value in a categorical input.

    Raises:
        ConfigError: a layer without ONNX mapping, bad arguments, or onnx not installed.
    """
    model = to_onnx_model(net, opset=opset, input_name=input_name, output_name=output_name,
                          batch_dim=batch_dim, preprocessing=preprocessing,
                          missing_text=missing_text)
    data = model.SerializeToString()

    def write(tmp):
        with open(tmp, "wb") as fh:
            fh.write(data)

    atomic_write(path, write)


def check_export(net: Network, path, X) -> float:
    """max |onnxruntime(X) − net.forward(X)| for the network-only ONNX model at ``path``
    (exported from ``net``): the CLI's and the tests' proof that the export computes what
    ffbp computes. Expect a few units in the last place of the outputs: ~1e-7 for float32
    outputs of size 1, ~1e-15 for float64. Needs onnxruntime."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ConfigError("checking an ONNX export needs onnxruntime: "
                          "pip install onnxruntime") from exc
    X = as_matrix(X, "X", net.dtype, net.n_features)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3          # errors only
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
    if len(session.get_inputs()) != 1:
        raise ConfigError(f"the ONNX model at {path} is a whole model (its inputs are table "
                          f"columns): check_export compares network-only exports "
                          f"(preprocessing=False)")
    got = session.run(None, {session.get_inputs()[0].name: X})[0]
    want = net.outputs(X)
    if got.shape != want.shape:
        raise ShapeError(f"the ONNX model at {path} returns shape {got.shape}, the network "
                         f"{want.shape}: it was not exported from this network")
    return float(np.abs(got.astype(np.float64) - want).max())
