"""Model files: safetensors weights plus the architecture as JSON, no pickle anywhere.

A model file is a standard safetensors file. Its tensors are the parameters and buffers,
named ``layer{i}.{name}`` (``layer0.W``, ``layer1.running_mean``), so the weights load with
plain ``safetensors.numpy.load_file`` or any other framework's safetensors reader. Its
header's ``"ffbp"`` entry is a JSON document: format name and version, the dtype, the
layers with the arguments that rebuild them, the loss, and free-form metadata
(``net.metadata``: preprocessing, training settings). Loading never executes code from the
file, and saving is atomic: a crash mid-save leaves the previous file intact.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ._version import __version__
from .checkpoint import atomic_write
from .errors import DataError, FFBPError
from .layers import LAYER_TYPES
from .losses import LOSSES, Loss
from .network import Network

FORMAT = "ffbp-model"
VERSION = 1
_LOSS_TYPES = {cls.__name__: cls for cls in LOSSES.values()}


class ModelFileError(DataError):
    """A model file is missing, malformed, from an unknown version or inconsistent."""


def _tensors(net: Network) -> dict:
    tensors = {f"layer{i}.{p.name}": p.value
               for i, layer in enumerate(net.layers) for p in layer.parameters()}
    for i, layer in enumerate(net.layers):
        if hasattr(layer, "buffers"):
            tensors.update({f"layer{i}.{k}": v for k, v in layer.buffers().items()})
    return {k: np.ascontiguousarray(v) for k, v in tensors.items()}


def _loss_config(loss: Loss | None):
    if loss is None:
        return None
    return {"type": type(loss).__name__,
            **{k: v for k, v in vars(loss).items() if not k.startswith("_")}}


def save(net: Network, path) -> None:
    """Write ``net`` to ``path`` (conventionally ``*.ffbp``), atomically."""
    from safetensors.numpy import save_file

    header = {
        "format": FORMAT, "version": VERSION, "ffbp_version": __version__,
        "dtype": str(net.dtype),
        "layers": [{"type": type(layer).__name__, **layer.config()} for layer in net.layers],
        "loss": _loss_config(net.loss), "metadata": net.metadata,
    }
    for layer in net.layers:
        if type(layer).__name__ not in LAYER_TYPES:
            raise FFBPError(f"cannot save layer {layer!r}: only built-in layer types can be "
                            f"rebuilt from a file")
    text = json.dumps(header)
    atomic_write(path, lambda tmp: save_file(_tensors(net), tmp, metadata={"ffbp": text}))


def read_header(path) -> dict:
    """The JSON header of a model file, checked for format and version."""
    from safetensors import SafetensorError, safe_open

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelFileError(f"no model file at {path}")
    try:
        with safe_open(path, "np") as fh:
            header = json.loads((fh.metadata() or {})["ffbp"])
    except (SafetensorError, OSError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path} is not an ffbp model file: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not an ffbp model file")
    if header.get("version") != VERSION:
        raise ModelFileError(f"{path} has model format version {header.get('version')!r}; "
                             f"this ffbp (v{__version__}) reads version {VERSION}")
    return header


def _build_layer(spec, index, path):
    if not isinstance(spec, dict) or spec.get("type") not in LAYER_TYPES:
        kind = spec.get("type") if isinstance(spec, dict) else spec
        raise ModelFileError(f"{path}: layer {index} has unknown type {kind!r}")
    args = {k: v for k, v in spec.items() if k != "type"}
    try:
        return LAYER_TYPES[spec["type"]](**args)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: layer {index} ({spec['type']}) has bad arguments "
                             f"{args}: {exc}") from None


def _declared_shapes(path) -> dict:
    """Tensor name -> shape as the file's table declares them (no tensor data is read)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(os.fspath(path), "np") as fh:
            return {name: tuple(fh.get_slice(name).get_shape()) for name in fh.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: unreadable tensor table: {exc}") from None


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


def _check_sizes(header, declared, path) -> None:
    """Refuse a header whose layers would allocate other shapes than the tensors the file
    declares, before any layer allocates: an edited header could otherwise ask for
    Dense(3, 2_000_000_000) and exhaust the memory before the mismatch is noticed."""
    layers = header.get("layers")
    if not isinstance(layers, list):
        raise ModelFileError(f"{path}: 'layers' must be a list")
    for index, spec in enumerate(layers):
        if not isinstance(spec, dict):
            raise ModelFileError(f"{path}: layer {index} is not a JSON object")
        for tensor, shape in _implied_shapes(spec, index).items():
            if declared.get(tensor) != shape:
                raise ModelFileError(f"{path}: layer {index} ({spec.get('type')}) needs "
                                     f"{tensor} of shape {shape}, the file declares "
                                     f"{declared.get(tensor)}")


def load(path) -> Network:
    """Rebuild the network saved at ``path``; raises ``ModelFileError`` for any bad file."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    header = read_header(path)
    _check_sizes(header, _declared_shapes(path), path)
    try:
        layers = [_build_layer(spec, i, path) for i, spec in enumerate(header["layers"])]
        net = Network(layers, dtype=np.dtype(header["dtype"]))
        tensors = load_file(os.fspath(path))
    except ModelFileError:
        raise
    except (FFBPError, SafetensorError, KeyError, TypeError, ValueError, OSError) as exc:
        raise ModelFileError(f"{path}: inconsistent model file: {exc}") from None
    expected = _tensors(net)
    if set(tensors) != set(expected):
        missing, extra = set(expected) - set(tensors), set(tensors) - set(expected)
        raise ModelFileError(f"{path}: tensors do not match the layers (missing "
                             f"{sorted(missing)}, unexpected {sorted(extra)})")
    for name, target in expected.items():
        source = tensors[name]
        if source.shape != target.shape:
            raise ModelFileError(f"{path}: tensor {name} has shape {source.shape}, the layer "
                                 f"needs {target.shape}")
        if not np.isfinite(source).all():
            raise ModelFileError(f"{path}: tensor {name} contains NaN or inf")
    for i, layer in enumerate(net.layers):           # write into the live arrays
        for p in layer.parameters():
            p.value[...] = tensors[f"layer{i}.{p.name}"]
        if hasattr(layer, "buffers"):
            for k, v in layer.buffers().items():
                v[...] = tensors[f"layer{i}.{k}"]
    net.loss = _load_loss(header.get("loss"), path)
    net.metadata = header.get("metadata") or {}
    return net


def _load_loss(spec, path):
    if spec is None:
        return None
    if not isinstance(spec, dict) or spec.get("type") not in _LOSS_TYPES:
        raise ModelFileError(f"{path}: unknown loss {spec!r}")
    try:
        return _LOSS_TYPES[spec["type"]](**{k: v for k, v in spec.items() if k != "type"})
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: bad loss arguments {spec}: {exc}") from None
