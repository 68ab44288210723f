"""Hostile and damaged model files and checkpoints: whatever the bytes, ffbp.load returns a
network or raises ModelFileError, and checkpoint reading returns or raises one of ffbp's
errors — never another exception, never code execution. Any change to a file ffbp wrote is
refused by its SHA-256 digest; "resealed" strategies recompute the digest after the edit (as
a deliberate forger could), so the parser and the semantic checks behind it are fuzzed too:
what loads from those must be finite and in range.

``make test`` runs 100 cases per strategy; ``make fuzz`` runs FFBP_FUZZ_EXAMPLES cases per
strategy. FFBP_FUZZ_REPORT=1 prints how many cases ended how."""

from __future__ import annotations

import atexit
import collections
import json
import math
import os
import struct
import tempfile

import numpy as np
import pytest
from conftest import require

import ffbp
from ffbp import _container
from ffbp import checkpoint as ckpt
from ffbp.errors import FFBPError
from ffbp.io import ModelFileError

hypothesis = require("hypothesis", "hypothesis generates the mutated model files")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXAMPLES = int(os.environ.get("FFBP_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 100,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
COUNTS = collections.Counter()
if os.environ.get("FFBP_FUZZ_REPORT"):
    atexit.register(lambda: print("\nfuzz outcomes:", dict(sorted(COUNTS.items()))))


def _net():
    return ffbp.Network([ffbp.Dense(3, 4), ffbp.BatchNorm(4), ffbp.LeakyReLU(0.1),
                         ffbp.Dropout(0.2), ffbp.Dense(4, 2), ffbp.Softmax()], seed=0)


def _valid_file() -> bytes:
    net = _net()
    net.loss = ffbp.losses.CrossEntropy()
    net.metadata = {"note": "fuzz"}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.ffbp")
        ffbp.save(net, path)
        with open(path, "rb") as fh:
            return fh.read()


def _valid_checkpoint() -> bytes:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 3)), rng.integers(0, 2, 16)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "c.ckpt")
        _net().fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.adam(0.01), epochs=1,
                   batch_size=8, seed=1, checkpoint=path, verbose=False)
        with open(path, "rb") as fh:
            return fh.read()


def _split(blob):
    n = struct.unpack("<Q", blob[:8])[0]
    return n, json.loads(blob[8:8 + n])


VALID = _valid_file()
HEADER_LEN, HEADER = _split(VALID)
FFBP_HEADER = json.loads(HEADER["__metadata__"]["ffbp"])
CKPT = _valid_checkpoint()
CKPT_LEN, CKPT_HEADER = _split(CKPT)
CKPT_META = json.loads(CKPT_HEADER["__metadata__"]["ffbp"])


def _rewrite(doc, table=None, data=None, base=VALID, sealed=True, doc_text=None) -> bytes:
    """A file with ``base``'s tensor bytes (or ``data``), its tensor table (or ``table``)
    and the ffbp document ``doc`` (or the raw text ``doc_text``); ``sealed``: with a freshly
    computed digest, else with the old one (an edit by another tool)."""
    n, header = _split(base)
    header = dict(table if table is not None else header)
    digest = header.get("__metadata__", {}).get("ffbp_sha256", "0" * 64)
    header["__metadata__"] = {"ffbp": doc_text if doc_text is not None else
                              json.dumps(doc, allow_nan=True), "ffbp_sha256": digest}
    text = json.dumps(header).encode()
    blob = struct.pack("<Q", len(text)) + text + (base[8 + n:] if data is None else data)
    return _container.seal(blob) if sealed else blob


def _write(tmp_path, blob, name="m.ffbp"):
    path = tmp_path / name
    path.write_bytes(blob)
    return path


def _load_bytes(tmp_path, blob: bytes):
    """ffbp.load on ``blob``: the network, or None after a ModelFileError (anything else
    fails the test). A network that loads must be usable and finite."""
    COUNTS["model cases"] += 1
    try:
        net = ffbp.load(_write(tmp_path, blob, "fuzz.ffbp"))
    except ModelFileError as exc:
        assert "\n" not in str(exc) and "fuzz.ffbp" in str(exc)     # one line, names the file
        COUNTS["model clean errors"] += 1
        return None
    COUNTS["model loaded"] += 1
    assert np.isfinite(net.flat_values).all()
    for layer in net.layers:
        assert all(math.isfinite(v) for v in layer.config().values() if isinstance(v, float))
        for buffer in getattr(layer, "buffers", dict)().values():
            assert np.isfinite(buffer).all()
        if isinstance(layer, ffbp.BatchNorm):
            assert (layer.running_var >= 0).all()
    with np.errstate(all="ignore"):
        Y = net.forward(np.zeros((2, net.n_features)))
    assert Y.shape == (2, net.n_outputs)
    return net


def _refused(tmp_path, blob):
    assert blob != VALID
    assert _load_bytes(tmp_path, blob) is None, "an edited file was accepted"


def test_the_unmodified_file_loads_and_a_resealed_copy_is_identical(tmp_path):
    assert _load_bytes(tmp_path, VALID) is not None
    assert _load_bytes(tmp_path, _rewrite(FFBP_HEADER)) is not None


def test_a_header_asking_for_a_huge_layer_is_refused_before_allocating(tmp_path):
    """Found by the fuzzer: Dense(3, 1_888_265_144) in an edited header made load allocate
    42 GiB before noticing the tensors did not match."""
    header = json.loads(json.dumps(FFBP_HEADER))
    header["layers"][0]["out_features"] = 1_888_265_144
    with pytest.raises(ModelFileError, match="needs layer0.W of shape"):
        ffbp.load(_write(tmp_path, _rewrite(header)))
    with pytest.raises(ModelFileError, match="digest"):
        ffbp.load(_write(tmp_path, _rewrite(header, sealed=False)))


def _flipped(data: bytes, flips) -> bytes:
    """``data`` with each (index, mask) XOR-ed in (two flips of one byte may cancel)."""
    blob = bytearray(data)
    for index, mask in flips:
        blob[index] ^= mask
    return bytes(blob)


@FUZZ
@given(cut=st.integers(0, len(VALID) - 1))
def test_truncated_files(tmp_path_factory, cut):
    _refused(tmp_path_factory.mktemp("t"), VALID[:cut])


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(1, 255)),
                      min_size=1, max_size=8))
def test_flipped_bytes_are_always_refused(tmp_path_factory, flips):
    blob = _flipped(VALID, flips)
    if blob != VALID:                    # two flips of one byte may cancel
        _refused(tmp_path_factory.mktemp("f"), bytes(blob))


@FUZZ
@given(length=st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 2**40, 2**63])))
def test_absurd_header_lengths(tmp_path_factory, length):
    if length != HEADER_LEN:
        _refused(tmp_path_factory.mktemp("h"), struct.pack("<Q", length) + VALID[8:])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
PATHS = [("format",), ("version",), ("dtype",), ("loss",), ("metadata",), ("layers",),
         ("integrity",)] + [("layers", i, key) for i, layer in enumerate(FFBP_HEADER["layers"])
                            for key in layer]


def _edited(document, path, value):
    document = json.loads(json.dumps(document))
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


@FUZZ
@given(path=st.sampled_from(PATHS), value=JSON_VALUES, sealed=st.booleans())
def test_edited_architecture(tmp_path_factory, path, value, sealed):
    document = _edited(FFBP_HEADER, path, value)
    blob = _rewrite(document, sealed=sealed)
    if sealed or document == FFBP_HEADER:
        _load_bytes(tmp_path_factory.mktemp("a"), blob)
    else:
        _refused(tmp_path_factory.mktemp("a"), blob)


TENSORS = [k for k in HEADER if k != "__metadata__"]


@FUZZ
@given(name=st.sampled_from(TENSORS), field=st.sampled_from(["dtype", "shape", "data_offsets"]),
       value=JSON_VALUES | st.lists(st.integers(0, 2**62), max_size=3)
       | st.sampled_from(list(_container.DTYPES)), sealed=st.booleans())
def test_edited_tensor_table(tmp_path_factory, name, field, value, sealed):
    table = json.loads(json.dumps(HEADER))
    table[name][field] = value
    blob = _rewrite(FFBP_HEADER, table, sealed=sealed)
    if sealed or table == HEADER:
        _load_bytes(tmp_path_factory.mktemp("d"), blob)
    else:
        _refused(tmp_path_factory.mktemp("d"), blob)


@FUZZ
@given(patch=st.binary(min_size=1, max_size=16), where=st.integers(0, 10**6))
def test_resealed_tensor_data_loads_only_when_finite(tmp_path_factory, patch, where):
    data = bytearray(VALID[8 + HEADER_LEN:])
    where %= len(data)
    data[where:where + len(patch)] = patch[:len(data) - where]
    _load_bytes(tmp_path_factory.mktemp("v"), _rewrite(FFBP_HEADER, data=bytes(data)))


HOSTILE_TEXTS = ["[" * 100_000, '{"a":' * 50_000, "1e400", "-1e999", "9" * 400, "9" * 5000,
                 '"\\ud800"', "NaN", "Infinity", '{"type": ["Dense"]}',
                 "[[]]", '{"": {}}', "0." + "0" * 500 + "1"]
HOSTILE = st.sampled_from(HOSTILE_TEXTS)


@FUZZ
@given(path=st.sampled_from(PATHS), hostile=HOSTILE)
def test_hostile_json_in_the_document(tmp_path_factory, path, hostile):
    """Deep nesting (RecursionError), 1e400 (inf), 400- and 5000-digit integers
    (OverflowError, Python's int-from-str limit), lists where keys are looked up
    (unhashable): all one ModelFileError line."""
    marker = "@@HOSTILE@@"
    text = json.dumps(_edited(FFBP_HEADER, path, marker)).replace(f'"{marker}"', hostile)
    _load_bytes(tmp_path_factory.mktemp("j"), _rewrite(None, doc_text=text))


@FUZZ
@given(hostile=HOSTILE, where=st.sampled_from(["table", "dtype", "shape"]))
def test_hostile_json_in_the_tensor_table(tmp_path_factory, hostile, where):
    marker = "@@HOSTILE@@"
    table = json.loads(json.dumps(HEADER))
    if where == "table":
        table["extra"] = marker
    else:
        table[TENSORS[0]][where] = marker
    table["__metadata__"]["ffbp"] = json.dumps(FFBP_HEADER)
    text = json.dumps(table).replace(f'"{marker}"', hostile).encode()
    blob = struct.pack("<Q", len(text)) + text + VALID[8 + HEADER_LEN:]
    _load_bytes(tmp_path_factory.mktemp("k"), _container.seal(blob))


@FUZZ
@given(blob=st.binary(max_size=512))
def test_random_bytes(tmp_path_factory, blob):
    _refused(tmp_path_factory.mktemp("r"), blob)


# -- checkpoints -----------------------------------------------------------------------------
def _resume_bytes(tmp_path, blob):
    """read_metadata + load_checkpoint into the network the checkpoint was written from:
    the metadata, or None after one of ffbp's errors (anything else fails the test)."""
    COUNTS["checkpoint cases"] += 1
    path = _write(tmp_path, blob, "fuzz.ckpt")
    net = _net()
    net.optimizer_state = ffbp.optim.adam(0.01).init(net.flat_values, net)
    try:
        meta = ckpt.read_metadata(path)
        ckpt.load_checkpoint(path, net, np.random.default_rng(), meta)
    except FFBPError as exc:
        assert isinstance(exc, ValueError) and "\n" not in str(exc)
        assert "fuzz.ckpt" in str(exc) or not isinstance(exc, ModelFileError)
        COUNTS["checkpoint clean errors"] += 1
        return None
    COUNTS["checkpoint loaded"] += 1
    assert np.isfinite(net.flat_values).all() and (net.layers[1].running_var >= 0).all()
    return meta


def _ckpt_refused(tmp_path, blob):
    assert blob != CKPT
    assert _resume_bytes(tmp_path, blob) is None, "an edited checkpoint was accepted"


def test_the_unmodified_checkpoint_resumes(tmp_path):
    assert _resume_bytes(tmp_path, CKPT)["epoch"] == 1


@FUZZ
@given(cut=st.integers(0, len(CKPT) - 1))
def test_truncated_checkpoints(tmp_path_factory, cut):
    _ckpt_refused(tmp_path_factory.mktemp("ct"), CKPT[:cut])


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(CKPT) - 1), st.integers(1, 255)),
                      min_size=1, max_size=8))
def test_flipped_checkpoint_bytes_are_always_refused(tmp_path_factory, flips):
    blob = _flipped(CKPT, flips)
    if blob != CKPT:
        _ckpt_refused(tmp_path_factory.mktemp("cf"), bytes(blob))


CKPT_PATHS = [(k,) for k in CKPT_META] + [
    ("rng", "state", "state"), ("rng", "bit_generator"), ("history", "loss"),
    ("history", "best_epoch"), ("architecture", 0), ("architecture", 0, 1, 0, 1),
    ("optimizer_numbers",)] + [("optimizer_numbers", k) for k in CKPT_META["optimizer_numbers"]]


@FUZZ
@given(path=st.sampled_from(CKPT_PATHS), value=JSON_VALUES | HOSTILE, sealed=st.booleans())
def test_edited_checkpoint_metadata(tmp_path_factory, path, value, sealed):
    marker = "@@HOSTILE@@"
    hostile = value if isinstance(value, str) and value in HOSTILE_TEXTS else None
    document = _edited(CKPT_META, path, marker if hostile else value)
    text = json.dumps(document, allow_nan=True)
    if hostile:
        text = text.replace(f'"{marker}"', hostile)
    blob = _rewrite(None, base=CKPT, doc_text=text, sealed=sealed)
    if not sealed and blob != CKPT:
        _ckpt_refused(tmp_path_factory.mktemp("cm"), blob)
    else:
        _resume_bytes(tmp_path_factory.mktemp("cm"), blob)


CKPT_TENSORS = [k for k in CKPT_HEADER if k != "__metadata__"]


@FUZZ
@given(name=st.sampled_from(CKPT_TENSORS),
       field=st.sampled_from(["dtype", "shape", "data_offsets"]),
       value=JSON_VALUES | st.lists(st.integers(0, 2**62), max_size=3)
       | st.sampled_from(list(_container.DTYPES)),
       patch=st.binary(max_size=8), where=st.integers(0, 10**6))
def test_edited_resealed_checkpoint_tensors(tmp_path_factory, name, field, value, patch,
                                            where):
    table = json.loads(json.dumps(CKPT_HEADER))
    table[name][field] = value
    data = bytearray(CKPT[8 + CKPT_LEN:])
    where %= len(data)
    data[where:where + len(patch)] = patch[:len(data) - where]
    blob = _rewrite(None, table, bytes(data), base=CKPT,
                    doc_text=CKPT_HEADER["__metadata__"]["ffbp"])
    _resume_bytes(tmp_path_factory.mktemp("cd"), blob)
