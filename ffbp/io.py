"""Model files: safetensors weights plus the architecture as JSON, no pickle anywhere.

A model file is a standard safetensors file. Its tensors are the parameters and buffers,
named ``layer{i}.{name}`` (``layer0.W``, ``layer1.running_mean``), so the weights load with
plain ``safetensors.numpy.load_file`` or any other framework's safetensors reader. Its
header's ``"ffbp"`` entry is a JSON document: format name and version, the dtype, the
layers with the arguments that rebuild them, the loss, and free-form metadata
(``net.metadata``: preprocessing, training settings); its ``"ffbp_sha256"`` entry is a
SHA-256 digest of the whole file (see ``ffbp._container``), so any change to a byte is
refused. Loading reads the file once, never executes code from it, and validates what it
says (layer arguments, finite weights, dtypes, running variances); saving is atomic: a
crash mid-save leaves the previous file intact.
"""

from __future__ import annotations

import math

import numpy as np

from . import _container
from ._version import __version__
from .checkpoint import FORMAT as CHECKPOINT_FORMAT
from .errors import FFBPError, ModelFileError, ModelFileWarning  # noqa: F401
from .layers import LAYER_TYPES
from .losses import LOSSES, Loss
from .losses.sklearn_scale import ON_SKLEARN_SCALE
from .network import Network
from .tabular.model import TableModel, has_preprocessing

__all__ = ["save", "load", "read_header", "ModelFileError", "ModelFileWarning"]

FORMAT = "ffbp-model"
VERSION = 1
# ffbp's losses and the ones ffbp.sklearn's estimators train with (a saved ``network_``).
_LOSS_TYPES = {cls.__name__: cls for cls in (*LOSSES.values(), *ON_SKLEARN_SCALE)}


_DTYPES = ("float32", "float64")


def _tensors(net: Network) -> dict:
    tensors = {f"layer{i}.{p.name}": p.value
               for i, layer in enumerate(net.layers) for p in layer.parameters()}
    for i, layer in enumerate(net.layers):
        tensors.update({f"layer{i}.{k}": v for k, v in layer.buffers().items()})
    return {k: np.ascontiguousarray(v) for k, v in tensors.items()}


def _loss_config(loss: Loss | None):
    if loss is None:
        return None
    return {"type": type(loss).__name__,
            **{k: v for k, v in vars(loss).items() if not k.startswith("_")}}


def save(net: Network, path) -> None:
    """Write ``net`` to ``path`` (conventionally ``*.ffbp``), atomically, with its digest."""
    import json

    for layer in net.layers:
        if type(layer).__name__ not in LAYER_TYPES:
            raise FFBPError(f"cannot save layer {layer!r}: only built-in layer types can be "
                            f"rebuilt from a file")
    header = {
        "format": FORMAT, "version": VERSION, "ffbp_version": __version__,
        "integrity": _container.INTEGRITY, "dtype": str(net.dtype),
        "layers": [{"type": type(layer).__name__, **layer.config()} for layer in net.layers],
        "loss": _loss_config(net.loss), "metadata": net.metadata,
    }
    _container.write_bytes(path, _container.encode(_tensors(net), json.dumps(header)))


def read_header(path) -> dict:
    """The JSON header of a model file, checked for format, version and digest."""
    blob = _container.read_bytes(path, "model file")
    return _container.guarded(path, "model file", lambda: _header(blob, path)[0])


class CheckpointGivenError(ModelFileError):
    """A checkpoint (``fit(checkpoint=...)``, ``ffbp train``'s ``.ckpt``) where a model file
    was expected: the state of a run to resume, not a model to load."""


def _header(blob, path):
    meta, tensors, checked = _container.decode(blob, path, "model file")
    try:
        doc = _container.check_document(meta, checked, path, "model file", FORMAT, VERSION)
    except ModelFileError:
        if _format(meta) == CHECKPOINT_FORMAT:
            raise CheckpointGivenError(
                f"{path} is a training checkpoint, not a model file: resume the training "
                f"from it (fit(..., resume={str(path)!r})), or load a model file written by "
                f"ffbp.save") from None
        raise
    return doc, tensors


def _format(meta: dict):
    """The format the ffbp entry of a container's header declares (None: no such entry)."""
    try:
        doc = _container.parse_json(meta.get("ffbp", ""), "the ffbp header entry")
    except ModelFileError:
        return None
    return doc.get("format") if isinstance(doc, dict) else None


def _check_arguments(args: dict, config: dict, where: str) -> None:
    """A layer's (or loss's) arguments as the file states them must be exactly what the
    object built from them reports: no extra or missing argument, no value the constructor
    silently converted ("nan" -> nan, "yes" -> True), every number finite."""
    for key in sorted(set(args) | set(config)):
        if key not in config:
            raise ModelFileError(f"{where} has an unexpected argument {key!r:.40}")
        if key not in args:
            raise ModelFileError(f"{where} lacks its argument {key!r}")
        value = config[key]
        if isinstance(value, float) and not math.isfinite(value):
            raise ModelFileError(f"{where} argument {key}={args[key]!r:.40} is not a finite "
                                 f"number")
        if not _container.same_json(_container.json_value(value), args[key]):
            raise ModelFileError(f"{where} argument {key}={args[key]!r:.40} is not a valid "
                                 f"value (the constructor made it {value!r:.40})")


def _build_layer(spec, index, path):
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        raise ModelFileError(f"{path}: layer {index} has unknown type {kind!r:.60}")
    args = {k: v for k, v in spec.items() if k != "type"}
    try:
        layer = LAYER_TYPES[kind](**args)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"{path}: layer {index} ({kind}) has bad arguments "
                             f"{args!r:.200}: {' '.join(str(exc).split())}") from None
    _check_arguments(args, layer.config(), f"{path}: layer {index} ({kind})")
    return layer


def _implied_shapes(spec: dict, index: int) -> dict:
    """The parameter shapes a layer spec would allocate, computed without allocating."""
    kind, name = spec.get("type"), f"layer{index}"
    if kind == "Dense":
        i, o = spec.get("in_features"), spec.get("out_features")
        shapes = {f"{name}.W": (i, o)}
        if spec.get("bias", True):
            shapes[f"{name}.b"] = (o,)
        return shapes
    if kind == "BatchNorm":
        n = spec.get("num_features")
        return {f"{name}.{k}": (n,) for k in ("gamma", "beta", "running_mean", "running_var")}
    return {}


def _check_sizes(header, tensors, path) -> None:
    """Refuse a header whose layers would allocate other shapes than the tensors the file
    holds, before any layer allocates: an edited header could otherwise ask for
    Dense(3, 2_000_000_000) and exhaust the memory before the mismatch is noticed."""
    layers = header.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ModelFileError(f"{path}: 'layers' must be a non-empty list")
    for index, spec in enumerate(layers):
        if not isinstance(spec, dict):
            raise ModelFileError(f"{path}: layer {index} is not a JSON object")
        for tensor, shape in _implied_shapes(spec, index).items():
            have = tensors[tensor].shape if tensor in tensors else None
            if have != shape:
                raise ModelFileError(f"{path}: layer {index} ({spec.get('type')}) needs "
                                     f"{tensor} of shape {shape!r:.80}, the file holds {have}")


def load(path) -> Network:
    """Rebuild the network saved at ``path``: a ``ffbp.tabular.TableModel`` (a Network that
    also takes tables) when its metadata holds a table preprocessing, as every file of
    ``ffbp train`` and ``ffbp.fit_table`` does, else a ``Network``. Raises
    ``ModelFileError`` (naming the file and what is wrong) for any file that is missing,
    damaged, edited or inconsistent, and warns (``ModelFileWarning``) for a file written
    before digests existed."""
    blob = _container.read_bytes(path, "model file")
    return _container.guarded(path, "model file", lambda: _load(blob, path))


def _load(blob, path) -> Network:
    header, tensors = _header(blob, path)
    dtype = header.get("dtype")
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        raise ModelFileError(f"{path}: dtype must be one of {_DTYPES}, got {dtype!r:.40}")
    _check_sizes(header, tensors, path)
    layers = [_build_layer(spec, i, path) for i, spec in enumerate(header["layers"])]
    net = Network(layers, dtype=np.dtype(dtype))
    expected = _tensors(net)
    if set(tensors) != set(expected):
        missing, extra = set(expected) - set(tensors), set(tensors) - set(expected)
        raise ModelFileError(f"{path}: tensors do not match the layers (missing "
                             f"{sorted(missing)}, unexpected {sorted(extra)!r:.200})")
    for name, target in expected.items():
        _container.check_tensor(tensors[name], target, f"{path}: tensor {name}")
    for i, layer in enumerate(net.layers):           # write into the live arrays
        for p in layer.parameters():
            p.value[...] = tensors[f"layer{i}.{p.name}"]
        for k, v in layer.buffers().items():
            v[...] = tensors[f"layer{i}.{k}"]
    net.loss = _load_loss(header.get("loss"), path)
    metadata = header.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ModelFileError(f"{path}: metadata must be a JSON object, got "
                             f"{type(metadata).__name__}")
    net.metadata = metadata or {}
    if has_preprocessing(net.metadata):        # a table model (ffbp train, ffbp.fit_table)
        return TableModel.from_network(net, path)
    return net


def _load_loss(spec, path):
    if spec is None:
        return None
    kind = spec.get("type") if isinstance(spec, dict) else None
    if not isinstance(kind, str) or kind not in _LOSS_TYPES:
        raise ModelFileError(f"{path}: unknown loss {spec!r:.80}")
    args = {k: v for k, v in spec.items() if k != "type"}
    try:
        loss = _LOSS_TYPES[kind](**args)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"{path}: bad loss arguments {spec!r:.200}: "
                             f"{' '.join(str(exc).split())}") from None
    config = {k: v for k, v in _loss_config(loss).items() if k != "type"}
    _check_arguments(args, config, f"{path}: loss ({kind})")
    return loss
