"""The network part of an ONNX export: each layer as standard ONNX operators.

The graph computes the *inference* function of ``net``, the same one
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
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..layers import (
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
from ..network import Network


# -- the converters: one per layer type, each writes the nodes that turn x into y ------------
class Graph:
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

    def array(self, name, value) -> str:
        """An initialiser holding ``value`` in its own dtype (int64, float64, str); returns
        its name."""
        array = np.asarray(value)
        if array.dtype.kind == "U":
            array = array.astype(object)        # strings: onnx's STRING tensors
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def node(self, prefix, op, inputs, output, doc="", **attrs) -> str:
        """Append ``op(inputs) -> output`` named ``{prefix}.{op}``; returns ``output``."""
        self.nodes.append(self.helper.make_node(op, list(inputs), [output], name=f"{prefix}.{op}",
                                                doc_string=doc, **attrs))
        return output


def _dense(g: Graph, layer: Dense, p: str, x: str, y: str) -> None:
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
CONVERTERS = {
    Dense: _dense, Identity: _identity, Step: _step, Sigmoid: _elementwise("Sigmoid"),
    Tanh: _elementwise("Tanh"), ReLU: _elementwise("Relu"), LeakyReLU: _leaky_relu, ELU: _elu,
    Softmax: _softmax("Softmax"), LogSoftmax: _softmax("LogSoftmax"), BatchNorm: _batchnorm,
    Dropout: None,
}
#: The layer types ``export_onnx`` accepts.
SUPPORTED_LAYERS = tuple(CONVERTERS)


# -- checks -----------------------------------------------------------------------------------
def check_exportable(net: Network) -> None:
    """Raise ``ConfigError`` naming every layer (index and type) that has no ONNX mapping.

    Only the built-in layer types are mapped, and only exactly those types: a subclass (a
    custom layer) may compute a different function, so it is reported too. Needs no onnx.
    """
    if not isinstance(net, Network):
        raise TypeError(f"expected an ffbp.Network, got {type(net).__name__}")
    bad = [f"layer {i} ({type(layer).__name__}, {layer!r})"
           for i, layer in enumerate(net.layers) if type(layer) not in CONVERTERS]
    if bad:
        supported = ", ".join(cls.__name__ for cls in SUPPORTED_LAYERS)
        raise ConfigError(
            f"cannot export to ONNX: no ONNX mapping for {'; '.join(bad)}. Supported layer "
            f"types (exactly these classes, not subclasses): {supported}"
        )


def add_network(g: Graph, net: Network, x: str, y: str) -> None:
    """Append the nodes that compute ``net.forward`` of tensor ``x`` into tensor ``y``."""
    emitted = [(i, layer) for i, layer in enumerate(net.layers)
               if CONVERTERS[type(layer)] is not None]
    for k, (i, layer) in enumerate(emitted):
        out = y if k == len(emitted) - 1 else f"layer{i}.out"
        CONVERTERS[type(layer)](g, layer, f"layer{i}", x, out)
        x = out
    if not emitted:                  # only layers that vanish at inference: y = x
        g.node("output", "Identity", [x], y)
