"""Hostile and damaged model files: whatever the bytes, ffbp.load returns a network or raises
ModelFileError — never another exception, never code execution.

``make test`` runs a fast subset; ``make fuzz`` runs FFBP_FUZZ_EXAMPLES cases per strategy
(10,000 by default there)."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
from conftest import require

import ffbp
from ffbp.io import ModelFileError

hypothesis = require("hypothesis", "hypothesis generates the mutated model files")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXAMPLES = int(os.environ.get("FFBP_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 100,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _valid_file(tmp_path_factory=None) -> bytes:
    net = ffbp.Network([ffbp.Dense(3, 4), ffbp.BatchNorm(4), ffbp.LeakyReLU(0.1),
                        ffbp.Dropout(0.2), ffbp.Dense(4, 2), ffbp.Softmax()], seed=0)
    net.loss = ffbp.losses.CrossEntropy()
    net.metadata = {"note": "fuzz"}
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.ffbp")
        ffbp.save(net, path)
        with open(path, "rb") as fh:
            return fh.read()


VALID = _valid_file()
HEADER_LEN = struct.unpack("<Q", VALID[:8])[0]
HEADER = json.loads(VALID[8:8 + HEADER_LEN])


def _load_bytes(tmp_path, blob: bytes):
    path = tmp_path / "fuzz.ffbp"
    path.write_bytes(blob)
    try:
        net = ffbp.load(path)
    except ModelFileError:
        return None
    # A file that loads must give a usable network (its weights may be huge but finite:
    # valid data, whose outputs may overflow, which is not an error of loading).
    with np.errstate(all="ignore"):
        Y = net.forward(np.zeros((2, net.n_features)))
    assert Y.shape == (2, net.n_outputs)
    return net


def test_the_unmodified_file_loads(tmp_path):
    assert _load_bytes(tmp_path, VALID) is not None


def test_a_header_asking_for_a_huge_layer_is_refused_before_allocating(tmp_path):
    """Found by the fuzzer: Dense(3, 1_888_265_144) in an edited header made load allocate
    42 GiB before noticing the tensors did not match."""
    header = json.loads(json.dumps(FFBP_HEADER))
    header["layers"][0]["out_features"] = 1_888_265_144
    with pytest.raises(ModelFileError, match="needs layer0.W of shape"):
        ffbp.load(_write(tmp_path, _rewrite(header)))


def _write(tmp_path, blob):
    path = tmp_path / "m.ffbp"
    path.write_bytes(blob)
    return path


@FUZZ
@given(cut=st.integers(0, len(VALID) - 1))
def test_truncated_files(tmp_path_factory, cut):
    assert _load_bytes(tmp_path_factory.mktemp("t"), VALID[:cut]) is None


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(1, 255)),
                      min_size=1, max_size=8))
def test_flipped_bytes(tmp_path_factory, flips):
    blob = bytearray(VALID)
    for index, mask in flips:
        blob[index] ^= mask
    _load_bytes(tmp_path_factory.mktemp("f"), bytes(blob))


@FUZZ
@given(length=st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 2**40, 2**63])))
def test_absurd_header_lengths(tmp_path_factory, length):
    blob = struct.pack("<Q", length) + VALID[8:]
    if length == HEADER_LEN:
        return
    assert _load_bytes(tmp_path_factory.mktemp("h"), blob) is None


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)


def _rewrite(header_ffbp: dict, tensors_header: dict | None = None) -> bytes:
    """A safetensors file whose tensors are VALID's and whose ffbp header is replaced."""
    header = dict(tensors_header if tensors_header is not None else HEADER)
    header["__metadata__"] = {"ffbp": json.dumps(header_ffbp, allow_nan=True)}
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + VALID[8 + HEADER_LEN:]


FFBP_HEADER = json.loads(HEADER["__metadata__"]["ffbp"])
PATHS = [("format",), ("version",), ("dtype",), ("loss",), ("metadata",), ("layers",)] + [
    ("layers", i, key) for i, layer in enumerate(FFBP_HEADER["layers"]) for key in layer]


@FUZZ
@given(path=st.sampled_from(PATHS), value=JSON_VALUES)
def test_edited_architecture(tmp_path_factory, path, value):
    header = json.loads(json.dumps(FFBP_HEADER))
    node = header
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    _load_bytes(tmp_path_factory.mktemp("a"), _rewrite(header))


TENSORS = [k for k in HEADER if k != "__metadata__"]


@FUZZ
@given(name=st.sampled_from(TENSORS), field=st.sampled_from(["dtype", "shape", "data_offsets"]),
       value=JSON_VALUES | st.lists(st.integers(0, 2**62), max_size=3))
def test_edited_tensor_table(tmp_path_factory, name, field, value):
    table = json.loads(json.dumps(HEADER))
    table[name][field] = value
    table.pop("__metadata__")
    _load_bytes(tmp_path_factory.mktemp("d"), _rewrite(FFBP_HEADER, table))


@FUZZ
@given(blob=st.binary(max_size=512))
def test_random_bytes(tmp_path_factory, blob):
    assert _load_bytes(tmp_path_factory.mktemp("r"), blob) is None
