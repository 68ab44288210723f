"""Training checkpoints: everything ``fit`` needs to carry on exactly where it stopped.

A checkpoint is a safetensors file (no pickle, so loading one never runs code): the flat
parameter vector, every array of the optimiser state and every layer buffer (batch-norm
running statistics) as tensors; the epoch, the history, the random generators' states, the
optimiser's numbers and the network's architecture (layer types and the shapes of their
parameters and buffers) as JSON in the header, with a SHA-256 digest of the whole file as in
model files (``ffbp._container``). Resuming from it gives the same weights as an
uninterrupted run. Files are written atomically: a crash mid-write leaves the previous
checkpoint intact. Reading takes the file in one piece, so ``read_metadata`` followed by
``load_checkpoint(..., meta)`` sees one version even while another process rewrites it.
"""

from __future__ import annotations

import json

import numpy as np

from . import _container
from ._container import atomic_write  # noqa: F401  (ffbp.onnx writes through it)
from .errors import ConfigError, ModelFileError, ShapeError
from .optim.base import Scratch, StepCount

FORMAT = "ffbp-checkpoint"
VERSION = 1
WHAT = "checkpoint"


def _fields(state):
    """(name, value) of a state's entries that carry information: a NamedTuple's fields
    (optimiser states, ``ffbp.optim``) without its ``Scratch`` work buffers, a plain tuple's
    items by position."""
    if isinstance(state, Scratch):
        return []
    names = getattr(type(state), "_fields", None)        # a NamedTuple's field names
    if names is None:
        return list(enumerate(state))
    return [(name, value) for name, value in zip(names, state, strict=True)
            if not isinstance(value, Scratch)]


def flatten_state(state, path, arrays, numbers):
    """Walk an optimiser state (tuples of typed states, arrays) into two flat dicts: arrays
    become tensors, step counts JSON numbers, under paths such as
    ``optimizer/1/mu`` (the link's position in the chain, then the field)."""
    if isinstance(state, tuple):
        for key, value in _fields(state):
            flatten_state(value, f"{path}/{key}", arrays, numbers)
    elif isinstance(state, StepCount):
        numbers[path] = state.n
    elif isinstance(state, np.ndarray):
        arrays[path] = state
    elif state is not None:
        raise ConfigError(f"optimiser state entry {path} of type {type(state).__name__} "
                          f"cannot be saved")


def restore_state(state, path, arrays, numbers):
    """Write the saved values back, in place, into a freshly initialised state of the same
    optimiser."""
    if isinstance(state, tuple):
        for key, value in _fields(state):
            restore_state(value, f"{path}/{key}", arrays, numbers)
    elif isinstance(state, StepCount):
        state.n = int(numbers[path])
    elif isinstance(state, np.ndarray):
        state[...] = arrays[path]


def _layer_buffers(net) -> dict:
    return {f"buffer/{i}/{name}": array for i, layer in enumerate(net.layers)
            for name, array in layer.buffers().items()}


def _layer_rngs(net) -> dict:
    return {str(i): layer.rng for i, layer in enumerate(net.layers)
            if layer.rng is not None}


def architecture(net) -> list:
    """The network's fingerprint: per layer, its type and the shapes of its parameters and
    buffers (JSON lists), so a checkpoint resumes only into the same architecture, not
    merely one with as many parameters."""
    out = []
    for layer in net.layers:
        shapes = [[p.name, list(p.value.shape)] for p in layer.parameters()]
        shapes += [[k, list(v.shape)] for k, v in layer.buffers().items()]
        out.append([type(layer).__name__, shapes])
    return out


def save_checkpoint(path, net, *, epoch: int, history, rng, extra: dict | None = None,
                    callbacks: dict | None = None):
    """Write a resumable checkpoint of ``net`` after ``epoch`` completed epochs.

    ``callbacks``: the states of the run's callbacks ({key: (class name, info, arrays)},
    ``CallbackList.states()``), so that early stopping, the loss tolerance and a plateau
    schedule go on after a resume exactly as they would have."""
    arrays, numbers = {}, {}
    flatten_state(net.optimizer_state, "optimizer", arrays, numbers)
    tensors = {"values": net.flat_values, **arrays, **_layer_buffers(net)}
    kept = {}
    for key, (name, info, cb_arrays) in (callbacks or {}).items():
        kept[key] = {"class": name, "info": info, "arrays": sorted(cb_arrays)}
        tensors.update({f"callback/{key}/{k}": v for k, v in cb_arrays.items()})
    meta = {
        "format": FORMAT, "version": VERSION, "integrity": _container.INTEGRITY,
        "epoch": epoch, "dtype": str(net.dtype),
        "n_values": int(net.flat_values.size), "architecture": architecture(net),
        "history": history.as_dict(),
        "rng": rng.bit_generator.state, "optimizer_numbers": numbers,
        "layer_rngs": {k: g.bit_generator.state for k, g in _layer_rngs(net).items()},
        "callbacks": kept,
        **(extra or {}),
    }
    _container.write_bytes(path, _container.encode(tensors, json.dumps(meta)))


class CheckpointData(dict):
    """A checkpoint's JSON metadata (a dict), holding the tensors read from the same bytes
    in ``.tensors``: pass it to ``load_checkpoint`` so both come from one read."""

    tensors: dict
    path: str


def read_metadata(path) -> CheckpointData:
    """The JSON header of a checkpoint (with its tensors), read in one piece and checked:
    digest, format, version and the types and ranges of every entry ``fit`` uses."""
    blob = _container.read_bytes(path, WHAT)
    return _container.guarded(path, WHAT, lambda: _read(blob, path))


def _read(blob, path) -> CheckpointData:
    try:
        meta, tensors, checked = _container.decode(blob, path, WHAT)
    except ModelFileError as exc:
        raise ModelFileError(f"{exc} (not a readable ffbp checkpoint)") from None
    doc = _container.check_document(meta, checked, path, WHAT, FORMAT, VERSION)
    _check_meta(doc, path, tensors)
    data = CheckpointData(doc)
    data.tensors, data.path = tensors, str(path)
    return data


def _bad(path, message):
    return ModelFileError(f"checkpoint {path}: {message}")


def _int(value, lo=0):
    return type(value) is int and value >= lo


def _number(value):
    return type(value) in (int, float)


def _check_rng_state(state, path, name):
    kinds = {"PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"}
    kind = state.get("bit_generator") if isinstance(state, dict) else None
    if not isinstance(kind, str) or kind not in kinds:
        raise _bad(path, f"{name} is not a random generator state")
    try:
        getattr(np.random, kind)().state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise _bad(path, f"{name} is not a valid {kind} state: "
                         f"{' '.join(str(exc).split())[:120]}") from None


def _check_meta(meta: dict, path, tensors: dict) -> None:
    """Types and ranges of the entries read_metadata's callers use."""
    for key in ("epoch", "n_values"):
        if not _int(meta.get(key)):
            raise _bad(path, f"{key} must be a non-negative integer, got "
                             f"{meta.get(key)!r:.40}")
    if meta.get("dtype") not in ("float32", "float64"):
        raise _bad(path, f"dtype must be float32 or float64, got {meta.get('dtype')!r:.40}")
    history = meta.get("history")
    if not isinstance(history, dict) or not all(
            all(_number(v) for v in value) for value in history.values()
            if isinstance(value, list)):
        raise _bad(path, "history must map names to lists of numbers")
    if not isinstance(history.get("stop_reason", ""), str) or not (
            history.get("best_epoch") is None or _int(history.get("best_epoch"))):
        raise _bad(path, "history has an invalid stop_reason or best_epoch")
    _check_rng_state(meta.get("rng"), path, "rng")
    if "epoch_rng" in meta:
        _check_rng_state(meta["epoch_rng"], path, "epoch_rng")
    layer_rngs = meta.get("layer_rngs")
    if not isinstance(layer_rngs, dict):
        raise _bad(path, "layer_rngs must be a JSON object")
    for key, state in layer_rngs.items():
        _check_rng_state(state, path, f"layer_rngs[{key!r:.20}]")
    numbers = meta.get("optimizer_numbers")
    if not isinstance(numbers, dict) or not all(
            type(v) in (int, float, bool) for v in numbers.values()):
        raise _bad(path, "optimizer_numbers must map names to numbers")
    for key, lo in (("seed", 0), ("ranks", 1), ("batch", 0)):
        if key in meta and not _int(meta[key], lo):
            raise _bad(path, f"{key} must be an integer >= {lo}, got {meta[key]!r:.40}")
    partial = meta.get("partial")
    if partial is not None and not (isinstance(partial, dict) and all(
            _number(partial.get(k)) for k in ("total", "correct"))):
        raise _bad(path, "partial must be null or hold the numbers total and correct")
    arch = meta.get("architecture")
    if arch is not None and not isinstance(arch, list):
        raise _bad(path, "architecture must be a list")
    kept = meta.get("callbacks", {})
    if not isinstance(kept, dict) or not all(
            isinstance(k, str) and isinstance(v, dict)
            and isinstance(v.get("class"), str) and isinstance(v.get("info"), dict)
            and isinstance(v.get("arrays"), list)
            and all(isinstance(a, str) and f"callback/{k}/{a}" in tensors
                    for a in v["arrays"])
            for k, v in kept.items()):
        raise _bad(path, "callbacks must map names to a class, its info and its arrays")


def callback_states(meta) -> dict:
    """The callbacks' states a checkpoint holds, as ``CallbackList.load_states`` takes them
    (arrays copied out of the file's buffer)."""
    return {key: (v["class"], v["info"],
                  {a: meta.tensors[f"callback/{key}/{a}"].copy() for a in v["arrays"]})
            for key, v in meta.get("callbacks", {}).items()}


def load_checkpoint(path, net, rng, meta: CheckpointData | None = None) -> dict:
    """Restore weights, optimiser state (``net.optimizer_state`` must be initialised with the
    same optimiser), layer buffers and generators from ``path``; return the metadata.
    ``meta``: what ``read_metadata(path)`` returned, so that the file is not read again
    (another process may have replaced it since); otherwise the file is read now.

    Everything is checked before anything is changed: the network keeps its state when the
    checkpoint does not fit it."""
    data = meta if isinstance(meta, CheckpointData) else read_metadata(path)
    if data["n_values"] != net.flat_values.size or data["dtype"] != str(net.dtype):
        raise ShapeError(f"checkpoint {path} holds {data['n_values']} {data['dtype']} "
                         f"parameters; this network has {net.flat_values.size} {net.dtype}")
    arch = architecture(net)
    if "architecture" in data and not _container.same_json(data["architecture"], arch):
        raise ShapeError(f"checkpoint {path} was written for other layers: "
                         f"{_describe(data['architecture'])}; this network has "
                         f"{_describe(arch)}")
    return _container.guarded(path, WHAT, lambda: _restore(data, path, net, rng),
                             reword_ffbp=False)


def _describe(arch) -> str:
    try:
        return " -> ".join(f"{kind}(" + ", ".join(f"{n}{tuple(s)}" for n, s in shapes) + ")"
                           for kind, shapes in arch)[:300]
    except (TypeError, ValueError):
        return repr(arch)[:300]


def _restore(data: CheckpointData, path, net, rng) -> dict:
    tensors = data.tensors
    arrays, numbers = {}, {}
    flatten_state(net.optimizer_state, "optimizer", arrays, numbers)
    if set(arrays) != {k for k in tensors if k.startswith("optimizer")} or \
            set(numbers) != set(data["optimizer_numbers"]):
        raise ConfigError(f"checkpoint {path} was written with a different optimiser; resume "
                          f"with the same optimiser settings")
    for key, value in numbers.items():
        saved = data["optimizer_numbers"][key]
        if isinstance(value, bool) != isinstance(saved, bool) or (
                type(value) is int and type(saved) is not int):
            raise _bad(path, f"optimizer number {key} is {saved!r:.40}, expected a "
                             f"{type(value).__name__}")
    buffers = _layer_buffers(net)
    expected = {"values": net.flat_values, **arrays, **buffers}
    kept = {k for k in tensors if k.startswith("callback/")}       # checked in _check_meta
    if set(tensors) - kept != set(expected):
        raise _bad(path, f"tensors do not match this network: missing "
                         f"{sorted(set(expected) - set(tensors))}, unexpected "
                         f"{sorted(set(tensors) - kept - set(expected))!r:.200}")
    for key, target in expected.items():
        where = f"checkpoint {path}: tensor {key}"
        if key in buffers or key == "values":
            _container.check_tensor(tensors[key], target, where)
        elif tensors[key].shape != target.shape or tensors[key].dtype != target.dtype:
            raise ModelFileError(f"{where} has shape {tensors[key].shape} and dtype "
                                 f"{tensors[key].dtype}, the optimiser state needs "
                                 f"{target.shape} {target.dtype}")
    layer_rngs = _layer_rngs(net)
    if set(layer_rngs) != set(data["layer_rngs"]):
        raise _bad(path, "its layers' random generators do not match this network's")
    net.flat_values[...] = tensors["values"]
    restore_state(net.optimizer_state, "optimizer", tensors, data["optimizer_numbers"])
    for key, array in buffers.items():
        array[...] = tensors[key]
    for key, generator in layer_rngs.items():
        generator.bit_generator.state = data["layer_rngs"][key]
    rng.bit_generator.state = data["rng"]
    return data
