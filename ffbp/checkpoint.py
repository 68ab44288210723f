"""Training checkpoints: everything ``fit`` needs to carry on exactly where it stopped.

A checkpoint is a safetensors file (no pickle, so loading one never runs code): the flat
parameter vector, every array of the optimiser state and every layer buffer (batch-norm
running statistics) as tensors; the epoch, the history, the random generators' states and
the optimiser's numbers as JSON in the header. Resuming from it gives the same weights as
an uninterrupted run. Files are written atomically: a crash mid-write leaves the previous
checkpoint intact.
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from .errors import ConfigError, DataError, ShapeError

FORMAT = "ffbp-checkpoint"
VERSION = 1


def atomic_write(path, write) -> None:
    """Call ``write(tmp_path)``, fsync, then rename over ``path``: all or nothing."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ffbp-", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _flatten_state(state, path, arrays, numbers):
    """Walk an optimiser state (tuples, dicts, arrays, numbers) into two flat dicts. Keys
    starting with "_" are scratch space or derived at init: not saved."""
    if isinstance(state, dict):
        for key, value in state.items():
            if not str(key).startswith("_"):
                _flatten_state(value, f"{path}/{key}", arrays, numbers)
    elif isinstance(state, (tuple, list)):
        for i, value in enumerate(state):
            _flatten_state(value, f"{path}/{i}", arrays, numbers)
    elif isinstance(state, np.ndarray):
        arrays[path] = state
    elif isinstance(state, (int, float, np.number, bool)):
        numbers[path] = state.item() if isinstance(state, np.number) else state
    elif state is not None:
        raise ConfigError(f"optimiser state entry {path} of type {type(state).__name__} "
                          f"cannot be saved")


def _restore_state(state, path, arrays, numbers):
    """Write the saved values back into a freshly initialised state of the same shape."""
    if isinstance(state, dict):
        for key, value in state.items():
            sub = f"{path}/{key}"
            if str(key).startswith("_"):
                continue
            if isinstance(value, (dict, tuple, list, np.ndarray)):
                _restore_state(value, sub, arrays, numbers)
            elif value is not None:
                state[key] = type(value)(numbers[sub])
    elif isinstance(state, (tuple, list)):
        for i, value in enumerate(state):
            _restore_state(value, f"{path}/{i}", arrays, numbers)
    elif isinstance(state, np.ndarray):
        state[...] = arrays[path]


def _layer_buffers(net) -> dict:
    return {f"buffer/{i}/{name}": array for i, layer in enumerate(net.layers)
            if hasattr(layer, "buffers") for name, array in layer.buffers().items()}


def _layer_rngs(net) -> dict:
    return {str(i): layer.rng for i, layer in enumerate(net.layers)
            if getattr(layer, "rng", None) is not None}


def save_checkpoint(path, net, *, epoch: int, history, rng, extra: dict | None = None):
    """Write a resumable checkpoint of ``net`` after ``epoch`` completed epochs."""
    from safetensors.numpy import save_file

    arrays, numbers = {}, {}
    _flatten_state(net.optimizer_state, "optimizer", arrays, numbers)
    tensors = {"values": net.flat_values, **arrays, **_layer_buffers(net)}
    meta = {
        "format": FORMAT, "version": VERSION, "epoch": epoch, "dtype": str(net.dtype),
        "n_values": int(net.flat_values.size), "history": history.as_dict(),
        "rng": rng.bit_generator.state, "optimizer_numbers": numbers,
        "layer_rngs": {k: g.bit_generator.state for k, g in _layer_rngs(net).items()},
        **(extra or {}),
    }
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"ffbp": json.dumps(meta)}))


def read_metadata(path) -> dict:
    """The JSON header of a checkpoint, checked for format and version."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(os.fspath(path), "np") as fh:
            meta = json.loads(fh.metadata()["ffbp"])
    except FileNotFoundError:
        raise
    except (SafetensorError, OSError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path} is not a readable ffbp checkpoint: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or \
            meta.get("version") != VERSION:
        raise DataError(f"{path} is not an ffbp checkpoint of version {VERSION}")
    return meta


def load_checkpoint(path, net, rng) -> dict:
    """Restore weights, optimiser state (``net.optimizer_state`` must be initialised with the
    same optimiser), layer buffers and generators from ``path``; return the metadata."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    meta = read_metadata(path)
    try:
        tensors = load_file(os.fspath(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable ffbp checkpoint: {exc}") from None
    if meta["n_values"] != net.flat_values.size or meta["dtype"] != str(net.dtype):
        raise ShapeError(f"checkpoint {path} holds {meta['n_values']} {meta['dtype']} "
                         f"parameters; this network has {net.flat_values.size} {net.dtype}")
    arrays, numbers = {}, {}
    _flatten_state(net.optimizer_state, "optimizer", arrays, numbers)
    if set(arrays) != {k for k in tensors if k.startswith("optimizer")} or \
            set(numbers) != set(meta["optimizer_numbers"]):
        raise ConfigError(f"checkpoint {path} was written with a different optimiser; resume "
                          f"with the same optimiser settings")
    net.flat_values[...] = tensors["values"]
    _restore_state(net.optimizer_state, "optimizer", tensors, meta["optimizer_numbers"])
    for key, array in _layer_buffers(net).items():
        array[...] = tensors[key]
    for key, generator in _layer_rngs(net).items():
        generator.bit_generator.state = meta["layer_rngs"][key]
    rng.bit_generator.state = meta["rng"]
    return meta
