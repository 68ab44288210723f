"""ONNX export, checked against an independent implementation: onnxruntime runs the exported
file, ffbp's own NumPy forward runs the network, on the same (trained or randomised)
weights and the same inputs. float64 must agree within 1e-12: absolute for outputs up to 1
in magnitude, relative beyond (a hidden LogSoftmax feeds log-probabilities of −60 to the next
layer). In float32 each of the two is held to the exact result (the float64 forward pass of
the same float32 weights and inputs) within FLOAT32_FACTOR times the rounding error derived
for that pass from its shapes and values (conftest.float32_forward_error): a bound that does
not depend on which BLAS or MLAS kernel (AVX2, AVX-512) one CPU happens to run."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import float32_forward_error, require, skip_unless

import ffbp
from ffbp import (
    ELU,
    BatchNorm,
    ConfigError,
    Dense,
    Dropout,
    Identity,
    LeakyReLU,
    LogSoftmax,
    Network,
    ReLU,
    ShapeError,
    Sigmoid,
    Softmax,
    Step,
    Tanh,
)
from ffbp.onnx import (
    DEFAULT_OPSET,
    MIN_OPSET,
    check_export,
    check_exportable,
    export_onnx,
    to_onnx_model,
)

onnx = require("onnx", "the export writes ONNX with onnx")
ort = require("onnxruntime", "onnxruntime runs the exported models as the oracle")

DTYPES = [np.float32, np.float64]
TOL64 = 1e-12
#: Observed here: at most 0.7 of the derived error, for ffbp (OpenBLAS) and onnxruntime alike.
FLOAT32_FACTOR = 8.0


# -- helpers ----------------------------------------------------------------------------------
def run_onnx(path, X):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})[0]


def randomize(net, rng, scale=0.3):
    """Perturb every parameter (biases included, which start at 0) in place."""
    for p in net.parameters():
        p.value[...] += scale * rng.standard_normal(p.shape)
    return net


def train(net, rng, X=None, epochs=3):
    """A few Adam steps on random targets: trained weights, moved batch-norm statistics."""
    if X is None:
        X = rng.standard_normal((96, net.n_features))
    last = type(net.layers[-1])
    if last in (Softmax, LogSoftmax):
        loss, T = ("cross_entropy" if last is Softmax else "nll"), rng.integers(
            0, net.n_outputs, len(X))
    else:
        loss, T = "mse", rng.standard_normal((len(X), net.n_outputs))
    net.fit(X, T, loss=loss, optimizer=ffbp.optim.adam(1e-2), epochs=epochs, batch_size=16,
            seed=0, verbose=False)
    return net


def assert_close(got, net, X):
    """onnxruntime's ``got`` and ffbp's forward pass agree: float64 within 1e-12 · max(1, |y|);
    float32 each within FLOAT32_FACTOR times the derived rounding error of the exact result.
    Returns the max |got − ffbp|."""
    want = net.forward(X)
    assert got.dtype == net.dtype and got.shape == want.shape
    err = np.abs(got - want)
    if net.dtype == np.float64:
        worst = float((err / np.maximum(1.0, np.abs(want))).max())
        assert worst <= TOL64, f"max |onnx − ffbp| / max(1, |y|) = {worst:.3g}"
    else:
        exact, scale = float32_forward_error(net, X)
        for name, y in (("onnxruntime", got), ("ffbp", want)):
            ratio = float((np.abs(y - exact) / scale).max())
            assert ratio <= FLOAT32_FACTOR, (f"{name}: max |y − exact| / derived float32 "
                                             f"rounding error = {ratio:.3g}")
    return float(err.max())


def tolerance(net, X):
    """What ``check_export`` (the max |onnx − ffbp|) may return for ``net`` on ``X``: 1e-12
    in float64, twice FLOAT32_FACTOR times the largest derived rounding error in float32."""
    if net.dtype == np.float64:
        return TOL64
    return 2 * FLOAT32_FACTOR * float(float32_forward_error(net, X)[1].max())


def compare(net, path, X, **kwargs):
    """Export ``net`` to ``path``, run both, assert agreement; return the max |difference|."""
    export_onnx(net, path, **kwargs)
    X = np.asarray(X, dtype=net.dtype)
    return assert_close(run_onnx(path, X), net, X)


def op_types(path):
    return [node.op_type for node in onnx.load(str(path)).graph.node]


# -- every activation, float32 and float64 --------------------------------------------------
ACTIVATIONS = {
    "identity": Identity, "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU,
    "leaky_relu": LeakyReLU, "leaky_relu_0.2": lambda: LeakyReLU(alpha=0.2),
    "leaky_relu_1.5": lambda: LeakyReLU(alpha=1.5), "elu": ELU,
    "elu_0.5": lambda: ELU(alpha=0.5), "softmax": Softmax, "log_softmax": LogSoftmax,
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("make", ACTIVATIONS.values(), ids=ACTIVATIONS.keys())
def test_every_activation_matches_onnxruntime(make, dtype, tmp_path):
    rng = np.random.default_rng(0)
    # The activation both in a hidden layer and at the output; inputs wide enough to reach
    # the saturated and the negative parts.
    net = randomize(Network([Dense(5, 16), make(), Dense(16, 4), make()], dtype=dtype), rng)
    compare(net, tmp_path / "m.onnx", 2.0 * rng.standard_normal((300, 5)))


# Each layer type's operators (the mapping table of ffbp/onnx.py), per dtype.
EXPECTED_OPS = {
    "identity": ({"Gemm", "Identity"}, {"Gemm", "Identity"}),
    "step": ({"Gemm", "GreaterOrEqual", "Cast"}, {"Gemm", "GreaterOrEqual", "Cast"}),
    "sigmoid": ({"Gemm", "Sigmoid"}, {"Gemm", "Sigmoid"}),
    "tanh": ({"Gemm", "Tanh"}, {"Gemm", "Tanh"}),
    "relu": ({"Gemm", "Relu"}, {"Gemm", "Relu"}),
    "leaky_relu": ({"Gemm", "LeakyRelu"}, {"Gemm", "Greater", "Mul", "Where"}),
    "elu": ({"Gemm", "Elu"}, {"Gemm", "Min", "Exp", "Sub", "Mul", "Greater", "Where"}),
    "softmax": ({"Gemm", "Softmax"}, {"Gemm", "Softmax"}),
    "log_softmax": ({"Gemm", "LogSoftmax"}, {"Gemm", "LogSoftmax"}),
    "batchnorm": ({"Gemm", "BatchNormalization"}, {"Gemm", "BatchNormalization"}),
    "dropout": ({"Gemm"}, {"Gemm"}),
}
LAYERS = {"step": Step, "batchnorm": lambda: BatchNorm(3), "dropout": Dropout, **ACTIVATIONS}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", EXPECTED_OPS)
def test_operator_mapping(name, dtype):
    model = to_onnx_model(Network([Dense(4, 3), LAYERS[name]()], dtype=dtype))
    assert {node.op_type for node in model.graph.node} == EXPECTED_OPS[name][dtype == np.float64]
    if name == "softmax":
        assert onnx.helper.get_attribute_value(model.graph.node[1].attribute[0]) == 1  # axis


def test_alpha_reaches_the_model():
    model = to_onnx_model(Network([Dense(4, 3), LeakyReLU(0.2), Dense(3, 3), ELU(0.5)]))
    attrs = {n.op_type: onnx.helper.get_attribute_value(n.attribute[0])
             for n in model.graph.node if n.op_type in ("LeakyRelu", "Elu")}
    assert attrs == pytest.approx({"LeakyRelu": 0.2, "Elu": 0.5})
    f64 = to_onnx_model(Network([Dense(4, 3), LeakyReLU(0.01)], dtype=np.float64))
    alpha = {i.name: onnx.numpy_helper.to_array(i) for i in f64.graph.initializer}["layer1.alpha"]
    assert alpha.dtype == np.float64 and alpha == 0.01       # not 0.01 rounded to float32


# -- Step: exact 0/1, away from the threshold, and the convention at 0 ------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_step_matches_exactly_away_from_zero(dtype, tmp_path):
    rng = np.random.default_rng(1)
    net = randomize(Network([Dense(4, 6), Step(), Dense(6, 3), Step()], dtype=dtype), rng, 1.0)
    X = rng.standard_normal((2000, 4)).astype(dtype)
    # Keep samples whose pre-activations are all clear of 0, where the two GEMMs' rounding
    # could put them on different sides of the step.
    h1 = net.layers[0].forward(X)
    h2 = net.layers[2].forward(net.layers[1].forward(h1))
    keep = (np.abs(h1).min(axis=1) > 1e-3) & (np.abs(h2).min(axis=1) > 1e-3)
    assert keep.sum() > 500
    path = tmp_path / "step.onnx"
    export_onnx(net, path)
    got, want = run_onnx(path, X[keep]), net.forward(X[keep])
    assert np.array_equal(got, want) and set(np.unique(got)) == {0.0, 1.0}


def test_step_is_one_at_zero(tmp_path):
    dense = Dense(3, 3, bias=False)
    net = Network([dense, Step()], dtype=np.float64)
    dense.W.value[...] = np.eye(3)                       # h = x exactly
    X = np.array([[0.0, -0.0, 1e-300], [-1e-300, 2.0, -3.0]])
    path = tmp_path / "m.onnx"
    export_onnx(net, path)
    np.testing.assert_array_equal(run_onnx(path, X), [[1, 1, 1], [0, 1, 0]])
    np.testing.assert_array_equal(net.forward(X), [[1, 1, 1], [0, 1, 0]])


# -- Dense without bias, BatchNorm, Dropout --------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_dense_without_bias(dtype, tmp_path):
    rng = np.random.default_rng(2)
    net = train(Network([Dense(5, 8, bias=False), Tanh(), Dense(8, 2, bias=False)],
                        dtype=dtype), rng)
    path = tmp_path / "m.onnx"
    compare(net, path, rng.standard_normal((100, 5)))
    gemms = [n for n in onnx.load(str(path)).graph.node if n.op_type == "Gemm"]
    assert [len(n.input) for n in gemms] == [2, 2]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_batchnorm_with_trained_running_statistics(dtype, tmp_path):
    rng = np.random.default_rng(3)
    net = Network([Dense(6, 10), BatchNorm(10), ReLU(), Dense(10, 3)], dtype=dtype)
    train(net, rng)
    bn = net.layers[1]
    assert np.abs(bn.running_mean).max() > 1e-2 and np.abs(bn.running_var - 1).max() > 1e-2
    assert np.abs(bn.gamma.value - 1).max() > 1e-3 and np.abs(bn.beta.value).max() > 1e-3
    compare(net, tmp_path / "m.onnx", rng.standard_normal((500, 6)))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_batchnorm_first_with_large_eps_and_shifted_inputs(dtype, tmp_path):
    rng = np.random.default_rng(4)
    net = Network([BatchNorm(6, momentum=0.3, eps=1e-3), Dense(6, 3), Tanh()], dtype=dtype)
    X = 3.0 + 2.0 * rng.standard_normal((96, 6))
    train(net, rng, X)
    assert np.all(net.layers[0].running_mean > 1.5) and np.all(net.layers[0].running_var > 2)
    path = tmp_path / "m.onnx"
    compare(net, path, 3.0 + 2.0 * rng.standard_normal((300, 6)))
    stats = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    assert stats["layer0.running_mean"].dtype == dtype        # cast to the network dtype


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_dropout_is_omitted_at_inference(dtype, tmp_path):
    rng = np.random.default_rng(5)
    net = Network([Dense(5, 8), ReLU(), Dropout(0.5), Dense(8, 3), Dropout(0.2)], dtype=dtype)
    train(net, rng)
    path = tmp_path / "m.onnx"
    compare(net, path, rng.standard_normal((200, 5)))
    graph = onnx.load(str(path)).graph
    assert [n.op_type for n in graph.node] == ["Gemm", "Relu", "Gemm"]
    assert graph.node[-1].output == ["output"]        # a trailing Dropout leaves no gap


# -- a deep network and dynamic batch sizes -------------------------------------------------
def deep_network(dtype):
    """Six hidden layers mixing every layer type, log-probabilities out."""
    return Network([
        Dense(10, 32), BatchNorm(32), ReLU(),
        Dense(32, 32), Tanh(), Dropout(0.1),
        Dense(32, 24), LeakyReLU(0.1),
        Dense(24, 24), ELU(0.7), BatchNorm(24),
        Dense(24, 16), Sigmoid(),
        Dense(16, 16, bias=False), Identity(),
        Dense(16, 5), LogSoftmax(),
    ], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_deep_network_at_dynamic_batch_sizes(dtype, tmp_path):
    rng = np.random.default_rng(6)
    net = train(deep_network(dtype), rng, epochs=4)
    path = tmp_path / "deep.onnx"
    export_onnx(net, path)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    for n in (1, 7, 1000):                     # one model, one session, any batch size
        X = rng.standard_normal((n, 10)).astype(dtype)
        got = session.run(None, {"input": X})[0]
        assert got.shape == (n, 5)
        assert_close(got, net, X)
    X = rng.standard_normal((50, 10))
    assert check_export(net, path, X) <= tolerance(net, X.astype(dtype))


# -- the model file: checker, opsets, names, metadata, atomic write ---------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_model_passes_the_checker_with_dynamic_batch(dtype, tmp_path):
    net = deep_network(dtype)
    net.metadata = {"classes": ["a", "b", "c", "d", "e"]}
    path = tmp_path / "m.onnx"
    export_onnx(net, path)
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", DEFAULT_OPSET)]
    assert model.ir_version == onnx.helper.find_min_ir_version_for(list(model.opset_import))
    assert model.producer_name == "ffbp" and model.producer_version == ffbp.__version__
    elem = onnx.TensorProto.FLOAT if dtype == np.float32 else onnx.TensorProto.DOUBLE
    for value, width in ((model.graph.input[0], 10), (model.graph.output[0], 5)):
        assert value.type.tensor_type.elem_type == elem
        dims = value.type.tensor_type.shape.dim
        assert (dims[0].dim_param, dims[1].dim_value) == ("N", width)
    assert all(i.data_type == elem for i in model.graph.initializer)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["ffbp.dtype"] == str(np.dtype(dtype)) and '"classes"' in props["ffbp.metadata"]


@pytest.mark.parametrize("opset", sorted({MIN_OPSET, DEFAULT_OPSET, 21}))
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_opsets(opset, dtype, tmp_path):
    skip_unless(opset <= onnx.defs.onnx_opset_version(),
                f"the installed onnx {onnx.__version__} predates opset {opset} (onnx >= 1.16 "
                f"knows 21); `make venv` installs a current onnx, so `make test` and CI run it")
    rng = np.random.default_rng(7)
    net = randomize(deep_network(dtype), rng)
    path = tmp_path / "m.onnx"
    compare(net, path, rng.standard_normal((64, 10)), opset=opset)
    assert onnx.load(str(path)).opset_import[0].version == opset


def test_names_and_fixed_batch(tmp_path):
    rng = np.random.default_rng(8)
    net = randomize(Network([Dense(3, 4), Softmax()]), rng)
    path = tmp_path / "m.onnx"
    export_onnx(net, path, input_name="pixels", output_name="probs", batch_dim="batch")
    graph = onnx.load(str(path)).graph
    assert graph.input[0].name == "pixels" and graph.output[0].name == "probs"
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    X = rng.standard_normal((9, 3))
    assert check_export(net, path, X) <= tolerance(net, X)
    export_onnx(net, path, batch_dim=4)
    assert onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0].dim_value == 4
    X = rng.standard_normal((4, 3))
    assert check_export(net, path, X) <= tolerance(net, X)


def test_overwrites_atomically(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    export_onnx(Network([Dense(3, 2)]), path)
    onnx.checker.check_model(onnx.load(str(path)))
    assert list(tmp_path.iterdir()) == [path]              # no temporary file left behind


@pytest.mark.parametrize("kwargs", [
    dict(opset=MIN_OPSET - 1), dict(opset=10_000), dict(opset="17"), dict(opset=True),
    dict(input_name="x", output_name="x"), dict(input_name=""), dict(output_name=3),
    dict(input_name="layer0.out"), dict(batch_dim=0), dict(batch_dim=""), dict(batch_dim=True),
])
def test_bad_arguments(kwargs, tmp_path):
    with pytest.raises(ConfigError):
        export_onnx(Network([Dense(3, 2)]), tmp_path / "m.onnx", **kwargs)
    assert not (tmp_path / "m.onnx").exists()


def test_not_a_network(tmp_path):
    with pytest.raises(TypeError, match="ffbp.Network"):
        export_onnx([Dense(3, 2)], tmp_path / "m.onnx")


def test_check_export_reports_a_model_from_another_network(tmp_path):
    rng = np.random.default_rng(9)
    net = randomize(Network([Dense(3, 4), Tanh(), Dense(4, 2)]), rng)
    path = tmp_path / "m.onnx"
    export_onnx(net, path)
    other = randomize(Network([Dense(3, 4), Tanh(), Dense(4, 2)], seed=1), rng)
    assert check_export(other, path, rng.standard_normal((20, 3))) > 1e-2
    with pytest.raises(ShapeError, match="not exported from this network"):
        check_export(Network([Dense(3, 5)]), path, rng.standard_normal((20, 3)))


# -- unsupported layers and missing packages -------------------------------------------------
class Swish(ffbp.Activation):
    """A custom activation: no ONNX mapping."""

    def function(self, x):
        return x / (1.0 + np.exp(-x))


class MyReLU(ReLU):
    """A subclass of a built-in layer may compute something else: not exported as Relu."""


def test_unsupported_layers_are_named_by_index_and_type(tmp_path):
    net = Network([Dense(3, 4), Swish(), Dense(4, 4), MyReLU(), Dense(4, 1)])
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    with pytest.raises(ConfigError, match=r"layer 1 \(Swish") as info:
        export_onnx(net, path)
    message = str(info.value)
    assert "layer 3 (MyReLU" in message and "layer 0" not in message and "Dense" in message
    assert path.read_bytes() == b"old"                      # nothing written


def test_unsupported_layers_are_described_without_onnx(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)         # `import onnx` now fails
    check_exportable(Network([Dense(3, 4), ReLU()]))
    with pytest.raises(ConfigError, match=r"layer 1 \(Swish"):
        check_exportable(Network([Dense(3, 4), Swish()]))


def test_missing_onnx_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ConfigError, match=r'pip install "ffbp\[onnx\]"'):
        ffbp.export_onnx(Network([Dense(3, 2)]), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_missing_onnxruntime_says_how_to_install(monkeypatch, tmp_path):
    net = Network([Dense(3, 2)])
    export_onnx(net, tmp_path / "m.onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ConfigError, match="pip install onnxruntime"):
        check_export(net, tmp_path / "m.onnx", np.ones((2, 3)))


def test_import_ffbp_does_not_import_onnx():
    code = ("import sys, ffbp; ffbp.export_onnx; "
            "assert 'onnx' not in sys.modules and 'onnxruntime' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
