"""ONNX export: a trained network as a standard ONNX graph, for inference anywhere.

``export_onnx(net, "model.onnx")`` writes the *inference* function of ``net``, the same one
``net.forward(X)`` (training=False) computes: Y = layer_L(… layer_1(X)), with dropout off
and batch norm using its running statistics. The output is the raw network output
(probabilities after a Softmax, log-probabilities after a LogSoftmax), not the class
decisions of ``net.predict``.

Every layer becomes standard ONNX operators of the default domain (no custom ops), with
tensors in the network's dtype (float32 -> FLOAT, float64 -> DOUBLE):

    ffbp layer           ONNX (inference semantics)
    Dense(bias=True)     Gemm(x, W, b)            Y = x W + b, W stored as (in, out), transB=0
    Dense(bias=False)    Gemm(x, W)               (C is optional since opset 11)
    Identity             Identity
    Step                 Cast(GreaterOrEqual(x, 0), to=dtype)           1 if x ≥ 0 else 0
    Sigmoid, Tanh, ReLU  Sigmoid, Tanh, Relu
    LeakyReLU(α)         float32: LeakyRelu(alpha=α);  float64: Where(x > 0, x, α x)
    ELU(α)               float32: Elu(alpha=α);
                         float64: Where(x > 0, x, α (Exp(Min(x, 0)) − 1))
    Softmax, LogSoftmax  Softmax(axis=1), LogSoftmax(axis=1)
    BatchNorm            BatchNormalization(x, γ, β, running_mean, running_var, epsilon=ε)
                         (inference mode; running statistics cast to the network dtype)
    Dropout              omitted (the identity at inference: inverted dropout needs no
                         rescaling then)

Why two forms for float64: ONNX attributes are 32-bit floats, so ``alpha=0.01`` would become
0.0099999998 and a float64 network would differ from its export by ~1e-8 relative; the
float64 forms take α as a *tensor* in the network's dtype instead. onnxruntime also has no
float64 kernel for Elu (nor, at most opsets, for PRelu), so the float64 forms use only
element-wise operators that have one. Exp(m) − 1 instead of ffbp's expm1(m) costs at most
~1e-16 absolute.

Tensor names follow the model files: initialisers ``layer{i}.W``, ``layer{i}.b``,
``layer{i}.gamma`` … and each layer's output ``layer{i}.out``; the graph's input and output
are ``input_name`` and ``output_name`` with a symbolic (dynamic) batch dimension.

onnx is an optional dependency (``pip install "ffbp[onnx]"``), imported only inside the
functions that need it, so ``import ffbp`` never does.
"""

from __future__ import annotations

import json
import re

import numpy as np

from ._validation import as_matrix
from ._version import __version__
from .checkpoint import atomic_write
from .errors import ConfigError, ShapeError
from .layers import (
    ELU,
    BatchNorm,
    Dense,
    Dropout,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Step,
    Tanh,
)
from .network import Network

#: Opset used when ``opset=None``: old enough (2022) that maintained runtimes read it, and
#: the later versions of the operators emitted here only add data types (bfloat16, float8…).
DEFAULT_OPSET = 17
#: Oldest opset accepted: 13 gives Softmax/LogSoftmax their per-axis semantics and has
#: GreaterOrEqual (12) and the optional Gemm bias (11).
MIN_OPSET = 13
#: Protobuf cannot serialise a message of 2 GiB or more (weights are stored inline).
_PROTOBUF_LIMIT = 2**31 - 2**20

_INSTALL_HINT = 'ONNX export needs the onnx package: pip install "ffbp[onnx]"'


# -- the converters: one per layer type, each writes the nodes that turn x into y ------------
class _Graph:
    """Nodes and initialisers under construction, for a network computing in ``dtype``."""

    def __init__(self, helper, numpy_helper, elem_type, dtype):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.elem_type, self.dtype = elem_type, dtype
        self.nodes, self.initializers = [], []

    def const(self, name, value) -> str:
        """An initialiser holding ``value`` in the network's dtype; returns its name."""
        array = np.ascontiguousarray(np.asarray(value, dtype=self.dtype))
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def node(self, prefix, op, inputs, output, doc="", **attrs) -> str:
        """Append ``op(inputs) -> output`` named ``{prefix}.{op}``; returns ``output``."""
        self.nodes.append(self.helper.make_node(op, list(inputs), [output], name=f"{prefix}.{op}",
                                                doc_string=doc, **attrs))
        return output


def _dense(g: _Graph, layer: Dense, p: str, x: str, y: str) -> None:
    # Gemm rather than MatMul + Add, because Gemm is the form onnxruntime runs: its graph
    # optimiser rewrites MatMul + Add into exactly this Gemm (then Gemm + Relu/… into one
    # FusedGemm), but only for float32 and only with optimisation on; for float64 (checked
    # on the optimised graph) MatMul and Add stay two kernels, the bias a second pass over
    # the output. Exporting Gemm gets the fused form without depending on either. Timed on
    # 784-256-128-10 ReLU (onnxruntime 1.32, 1 thread, batches 1/32/1024, a loaded 2-core
    # machine): the two forms run at the same speed within noise when ORT fuses them.
    # W is stored (in, out), which is Gemm's B as is: transB=0.
    inputs = [x, g.const(f"{p}.W", layer.W.value)]
    if layer.b is not None:
        inputs.append(g.const(f"{p}.b", layer.b.value))
    g.node(p, "Gemm", inputs, y, repr(layer), alpha=1.0, beta=1.0, transA=0, transB=0)


def _identity(g, layer, p, x, y):
    g.node(p, "Identity", [x], y, repr(layer))


def _step(g, layer, p, x, y):
    # ffbp's step is (x >= 0) as a float: 1 at x = 0, as in the perceptron.
    ge = g.node(p, "GreaterOrEqual", [x, g.const(f"{p}.zero", 0.0)], f"{p}.ge", repr(layer))
    g.node(p, "Cast", [ge], y, repr(layer), to=g.elem_type)


def _elementwise(op):
    def convert(g, layer, p, x, y):
        g.node(p, op, [x], y, repr(layer))
    return convert


def _leaky_relu(g, layer, p, x, y):
    if g.dtype == np.float32:
        g.node(p, "LeakyRelu", [x], y, repr(layer), alpha=layer.alpha)
        return
    # float64: α as a float64 tensor, not a float32 attribute (see the module notes). Not
    # PRelu(x, [α]), which would be one node: onnxruntime's float64 PRelu kernel exists for
    # some opsets only. y = x if x > 0 else α x, exactly as ffbp computes it.
    doc = repr(layer)
    pos = g.node(p, "Greater", [x, g.const(f"{p}.zero", 0.0)], f"{p}.pos", doc)
    neg = g.node(p, "Mul", [x, g.const(f"{p}.alpha", layer.alpha)], f"{p}.neg", doc)
    g.node(p, "Where", [pos, x, neg], y, doc)


def _elu(g, layer, p, x, y):
    if g.dtype == np.float32:
        g.node(p, "Elu", [x], y, repr(layer), alpha=layer.alpha)
        return
    # float64: onnxruntime has no double Elu kernel; y = x if x > 0 else α (e^min(x,0) − 1),
    # the min keeping e^x from overflowing on the branch Where discards (as ffbp does).
    doc = repr(layer)
    zero = g.const(f"{p}.zero", 0.0)
    m = g.node(p, "Min", [x, zero], f"{p}.min", doc)
    e = g.node(p, "Exp", [m], f"{p}.exp", doc)
    em1 = g.node(p, "Sub", [e, g.const(f"{p}.one", 1.0)], f"{p}.expm1", doc)
    neg = g.node(p, "Mul", [em1, g.const(f"{p}.alpha", layer.alpha)], f"{p}.neg", doc)
    pos = g.node(p, "Greater", [x, zero], f"{p}.pos", doc)
    g.node(p, "Where", [pos, x, neg], y, doc)


def _softmax(op):
    def convert(g, layer, p, x, y):
        g.node(p, op, [x], y, repr(layer), axis=1)     # along each row, like ffbp
    return convert


def _batchnorm(g, layer: BatchNorm, p: str, x: str, y: str) -> None:
    # Inference mode (training_mode unset = 0): y = γ (x − running_mean) / √(running_var + ε)
    # + β. The running statistics are float64 in ffbp and are cast to the network dtype,
    # as ffbp's own inference forward does. The epsilon attribute is a float32; for a
    # float64 network the rounding of ε is moved into the variance (var + (ε − ε₃₂) + ε₃₂
    # = var + ε), so the export matches to float64 precision.
    var = layer.running_var
    if g.dtype == np.float64:
        var = var + (layer.eps - float(np.float32(layer.eps)))
    inputs = [x, g.const(f"{p}.gamma", layer.gamma.value), g.const(f"{p}.beta", layer.beta.value),
              g.const(f"{p}.running_mean", layer.running_mean), g.const(f"{p}.running_var", var)]
    g.node(p, "BatchNormalization", inputs, y, repr(layer), epsilon=layer.eps)


#: The ONNX mapping of every supported layer type (exact types: a subclass may compute
#: something else). None = nothing to emit at inference time.
_CONVERTERS = {
    Dense: _dense, Identity: _identity, Step: _step, Sigmoid: _elementwise("Sigmoid"),
    Tanh: _elementwise("Tanh"), ReLU: _elementwise("Relu"), LeakyReLU: _leaky_relu, ELU: _elu,
    Softmax: _softmax("Softmax"), LogSoftmax: _softmax("LogSoftmax"), BatchNorm: _batchnorm,
    Dropout: None,
}
#: The layer types ``export_onnx`` accepts.
SUPPORTED_LAYERS = tuple(_CONVERTERS)


# -- checks -----------------------------------------------------------------------------------
def check_exportable(net: Network) -> None:
    """Raise ``ConfigError`` naming every layer (index and type) that has no ONNX mapping.

    Only the built-in layer types are mapped, and only exactly those types: a subclass (a
    custom layer) may compute a different function, so it is reported too. Needs no onnx.
    """
    if not isinstance(net, Network):
        raise TypeError(f"expected an ffbp.Network, got {type(net).__name__}")
    bad = [f"layer {i} ({type(layer).__name__}, {layer!r})"
           for i, layer in enumerate(net.layers) if type(layer) not in _CONVERTERS]
    if bad:
        supported = ", ".join(cls.__name__ for cls in SUPPORTED_LAYERS)
        raise ConfigError(
            f"cannot export to ONNX: no ONNX mapping for {'; '.join(bad)}. Supported layer "
            f"types (exactly these classes, not subclasses): {supported}"
        )


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
def to_onnx_model(net: Network, *, opset: int | None = None, input_name: str = "input",
                  output_name: str = "output", batch_dim: str | int = "N"):
    """The ``onnx.ModelProto`` of ``net`` (checked with ``onnx.checker``); see ``export_onnx``."""
    check_exportable(net)
    _check_name(input_name, "input_name")
    _check_name(output_name, "output_name")
    if input_name == output_name:
        raise ConfigError(f"input_name and output_name must differ, both are {input_name!r}")
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
    g = _Graph(helper, numpy_helper, elem, net.dtype)
    emitted = [(i, layer) for i, layer in enumerate(net.layers)
               if _CONVERTERS[type(layer)] is not None]
    x = input_name
    for k, (i, layer) in enumerate(emitted):
        y = output_name if k == len(emitted) - 1 else f"layer{i}.out"
        _CONVERTERS[type(layer)](g, layer, f"layer{i}", x, y)
        x = y
    if not emitted:                  # only layers that vanish at inference: y = x
        g.node("output", "Identity", [input_name], output_name)

    graph = helper.make_graph(
        g.nodes, "ffbp",
        [helper.make_tensor_value_info(input_name, elem, [batch_dim, net.n_features])],
        [helper.make_tensor_value_info(output_name, elem, [batch_dim, net.n_outputs])],
        g.initializers, doc_string=repr(net),
    )
    opset_id = helper.make_opsetid("", opset)
    # The oldest IR version that can carry this opset, so older runtimes load the file too
    # (make_model would otherwise stamp the newest IR version this onnx knows).
    model = helper.make_model(graph, opset_imports=[opset_id], producer_name="ffbp",
                              producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for([opset_id]))
    props = {"ffbp.dtype": str(net.dtype),
             "ffbp.layers": json.dumps([repr(layer) for layer in net.layers])}
    if net.loss is not None:
        props["ffbp.loss"] = type(net.loss).__name__
    if net.metadata:
        props["ffbp.metadata"] = json.dumps(net.metadata, default=str)
    helper.set_model_props(model, props)
    # full_check adds strict shape/type inference: every node's types must line up.
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx(net: Network, path, *, opset: int | None = None, input_name: str = "input",
                output_name: str = "output", batch_dim: str | int = "N") -> None:
    """Write ``net``'s inference function to ``path`` as an ONNX model, atomically.

    The model maps ``input_name`` (batch_dim, n_features) to ``output_name``
    (batch_dim, n_outputs) in the network's dtype and computes what ``net.forward(X)``
    computes (training=False); see the module docstring for the operator of each layer.
    The model passes ``onnx.checker.check_model`` (full check) before anything is written,
    and the file is replaced all-or-nothing (a crash leaves any previous file intact).

    Args:
        net: the network; every layer must be a built-in type (``check_exportable``).
        path: where to write (conventionally ``*.onnx``).
        opset: ONNX opset of the default domain, ``MIN_OPSET`` (13) or newer; default 17.
        input_name, output_name: names of the graph's input and output tensors.
        batch_dim: name of the symbolic batch dimension (any batch size at run time), or a
            positive integer to fix the batch size.

    Raises:
        ConfigError: a layer without ONNX mapping, bad arguments, or onnx not installed.
    """
    model = to_onnx_model(net, opset=opset, input_name=input_name, output_name=output_name,
                          batch_dim=batch_dim)
    data = model.SerializeToString()

    def write(tmp):
        with open(tmp, "wb") as fh:
            fh.write(data)

    atomic_write(path, write)


def check_export(net: Network, path, X) -> float:
    """max |onnxruntime(X) − net.forward(X)| for the ONNX model at ``path`` (exported from
    ``net``): the CLI's and the tests' proof that the export computes what ffbp computes.
    Expect a few units in the last place of the outputs: ~1e-7 for float32 outputs of size 1,
    ~1e-15 for float64. Needs onnxruntime."""
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
    got = session.run(None, {session.get_inputs()[0].name: X})[0]
    want = net.outputs(X)
    if got.shape != want.shape:
        raise ShapeError(f"the ONNX model at {path} returns shape {got.shape}, the network "
                         f"{want.shape}: it was not exported from this network")
    return float(np.abs(got.astype(np.float64) - want).max())
