"""Model files and checkpoints: the SHA-256 digest refuses any edit, the semantic checks
refuse what a resealed (or pre-digest) file may still say, readers take the file in one
piece (no mixed versions while another process re-saves), no foreign exception escapes,
files honour the umask, and the next save removes temporaries of killed saves."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import ffbp
from ffbp import _atomic, _container
from ffbp import checkpoint as ckpt
from ffbp.errors import ModelFileWarning
from ffbp.io import ModelFileError


def _net(seed=0):
    return ffbp.Network([ffbp.Dense(3, 4), ffbp.BatchNorm(4), ffbp.LeakyReLU(0.1),
                         ffbp.Dropout(0.2), ffbp.Dense(4, 2), ffbp.Softmax()], seed=seed)


@pytest.fixture
def saved(tmp_path):
    net = _net()
    net.layers[1].running_var[...] = [0.5, 1.5, 2.0, 0.25]
    path = tmp_path / "m.ffbp"
    ffbp.save(net, path)
    return net, path


def _parts(path):
    blob = path.read_bytes()
    n = struct.unpack("<Q", blob[:8])[0]
    table = json.loads(blob[8:8 + n])
    return table, json.loads(table["__metadata__"]["ffbp"]), blob[8 + n:]


def _write(path, table, document, data, *, seal=True, digest=True):
    """Rewrite ``path`` from its parts; ``seal``: recompute the digest (a forger, or a
    buggy writer); ``digest=False``: no digest at all (a file from before digests)."""
    table = dict(table)
    table["__metadata__"] = {"ffbp": json.dumps(document, allow_nan=True)}
    if digest:
        table["__metadata__"]["ffbp_sha256"] = "0" * 64 if seal else "1" * 64
    text = json.dumps(table).encode()
    blob = struct.pack("<Q", len(text)) + text + data
    path.write_bytes(_container.seal(blob) if digest and seal else blob)


def _legacy(path):
    """Rewrite a file as ffbp wrote it before digests existed."""
    from safetensors.numpy import load_file, save_file

    document = _parts(path)[1]
    del document["integrity"]
    save_file(load_file(str(path)), str(path), metadata={"ffbp": json.dumps(document)})


# -- the digest --------------------------------------------------------------------------------
def test_the_digest_covers_every_byte(saved):
    """A one-bit flip at every third byte (a different bit each time) is refused."""
    net, path = saved
    blob = path.read_bytes()
    flipped = path.with_name("flipped.ffbp")
    for i in range(0, len(blob), 3):
        damaged = bytearray(blob)
        damaged[i] ^= 1 << (i % 8)
        flipped.write_bytes(bytes(damaged))
        with pytest.raises(ModelFileError, match="flipped.ffbp"):
            ffbp.load(flipped)
    np.testing.assert_array_equal(ffbp.load(path).flat_values, net.flat_values)


BATTERY = {   # the edits the reliability battery found accepted (issue 13)
    "layer types swapped": lambda t, d, data: d["layers"][2].update(type="Tanh") or
    d["layers"][2].pop("alpha"),
    "F32 relabelled I32": lambda t, d, data: t["layer0.W"].update(dtype="I32"),
    "BatchNorm eps changed": lambda t, d, data: d["layers"][1].update(eps=1e-3),
    "alpha NaN": lambda t, d, data: d["layers"][2].update(alpha="nan"),
    "tensor bit flip": lambda t, d, data: data.__setitem__(5, data[5] ^ 0x10),
}


@pytest.mark.parametrize("edit", list(BATTERY))
def test_edits_the_battery_found_are_refused_by_the_digest(saved, edit):
    _, path = saved
    table, document, data = _parts(path)
    data = bytearray(data)
    BATTERY[edit](table, document, data)
    _write(path, table, document, bytes(data), seal=False)
    with pytest.raises(ModelFileError, match="digest"):
        ffbp.load(path)


def test_a_stripped_digest_is_refused(saved):
    _, path = saved
    table, document, data = _parts(path)
    _write(path, table, document, data, digest=False)
    with pytest.raises(ModelFileError, match="digest is missing"):
        ffbp.load(path)


# -- what a resealed or pre-digest file may still say -----------------------------------------
def _semantic(path, change_doc=None, change_data=None, legacy=False):
    table, document, data = _parts(path)
    if change_doc:
        change_doc(document)
    tensors = {k: np.frombuffer(data, _container.DTYPES[v["dtype"]],
                                int(np.prod(v["shape"])), v["data_offsets"][0])
               .reshape(v["shape"]).copy() for k, v in table.items() if k != "__metadata__"}
    if change_data:
        change_data(tensors)
    if legacy:
        document.pop("integrity")
    blob = _container.encode(tensors, json.dumps(document, allow_nan=True))
    if legacy:                                     # as ffbp wrote files before digests
        from safetensors.numpy import save_file
        save_file(tensors, str(path), metadata={"ffbp": json.dumps(document, allow_nan=True)})
    else:
        path.write_bytes(blob)


SEMANTIC = {
    "alpha 'nan'": (lambda d: d["layers"][2].update(alpha="nan"), None, "alpha"),
    "alpha NaN": (lambda d: d["layers"][2].update(alpha=float("nan")), None, "alpha"),
    "alpha 1e400": (lambda d: d["layers"][2].update(alpha=float("inf")), None, "alpha"),
    "eps negative": (lambda d: d["layers"][1].update(eps=-1e-5), None, "eps"),
    "momentum 2": (lambda d: d["layers"][1].update(momentum=2.0), None, "momentum"),
    "dropout 1.5": (lambda d: d["layers"][3].update(p=1.5), None, "p"),
    "bias 'yes'": (lambda d: d["layers"][0].update(bias="yes"), None, "bias"),
    "unknown argument": (lambda d: d["layers"][2].update(slope=2), None, "slope"),
    "Dense where BatchNorm": (lambda d: d["layers"].__setitem__(
        1, {"type": "Dense", "in_features": 4, "out_features": 4, "bias": True}), None,
        "layer1"),
    "integer dtype": (lambda d: d.update(dtype="int32"), None, "dtype"),
    "negative variance": (None, lambda t: t["layer1.running_var"].__setitem__(0, -1.0),
                          "negative variance"),
    "inf weight": (None, lambda t: t["layer4.W"].__setitem__((0, 0), np.inf), "NaN or inf"),
    "F32 as I32": (None, lambda t: t.update({"layer0.W": t["layer0.W"].view(np.int32)}),
                   "dtype int32"),
    "metadata not an object": (lambda d: d.update(metadata=[1, 2]), None, "metadata"),
    "loss margin NaN": (lambda d: d.update(loss={"type": "Hinge", "margin": "nan"}), None,
                        "margin"),
}


@pytest.mark.parametrize("legacy", [False, True], ids=["resealed", "pre-digest"])
@pytest.mark.parametrize("case", list(SEMANTIC))
def test_semantic_checks_refuse_what_no_save_writes(saved, case, legacy):
    _, path = saved
    change_doc, change_data, match = SEMANTIC[case]
    _semantic(path, change_doc, change_data, legacy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelFileWarning)
        with pytest.raises(ModelFileError, match=match):
            ffbp.load(path)


def test_a_file_from_before_digests_loads_with_a_warning(saved):
    net, path = saved
    _legacy(path)
    with pytest.warns(ModelFileWarning, match="no integrity digest.*save it again"):
        back = ffbp.load(path)
    np.testing.assert_array_equal(back.flat_values, net.flat_values)
    X = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    ffbp.save(back, path)                           # re-saving adds the digest
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelFileWarning)
        ffbp.load(path)


# -- foreign exceptions ----------------------------------------------------------------------
HOSTILE = {
    "deep nesting": ("[" * 100_000, "nested too deeply"),
    "1e400": ("1e400", "out of range"),
    "400-digit integer": ("9" * 400, "400 digits"),
    "5000-digit integer": ("9" * 5000, "5000 digits"),
    "unhashable type": ('["Dense"]', "unknown type"),
    "lone surrogate": ('"\\ud800"', "unknown type"),
}


@pytest.mark.parametrize("where", ["document", "table"])
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_json_gives_one_model_file_error_line(saved, case, where):
    _, path = saved
    table, document, data = _parts(path)
    text, match = HOSTILE[case]
    document["layers"][2]["type"] = "@@X@@"
    table["__metadata__"] = {"ffbp": json.dumps(document).replace('"@@X@@"', text)
                             if where == "document" else json.dumps(document),
                             "ffbp_sha256": "0" * 64}
    header = json.dumps(table)
    if where == "table":
        header = header.replace('"F32"', text, 1)
        match = {"unhashable type": "dtype", "lone surrogate": "dtype"}.get(case, match)
    blob = struct.pack("<Q", len(header.encode())) + header.encode() + data
    path.write_bytes(_container.seal(blob))
    with pytest.raises(ModelFileError, match=match) as info:
        ffbp.load(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_bad_utf8_and_a_directory(tmp_path):
    blob = b"\xff\xfe" + b" " * 6
    path = tmp_path / "m.ffbp"
    path.write_bytes(struct.pack("<Q", len(blob)) + blob)
    with pytest.raises(ModelFileError, match="not UTF-8"):
        ffbp.load(path)
    with pytest.raises(ModelFileError, match="no model file"):
        ffbp.load(tmp_path)


# -- checkpoints -------------------------------------------------------------------------------
def _fit(net, path, **kw):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 3)), rng.integers(0, 2, 16)
    return net.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.adam(0.01), batch_size=8,
                   seed=1, verbose=False, **kw)


def test_a_checkpoint_resumes_only_into_the_same_architecture(tmp_path):
    path = tmp_path / "c.ckpt"
    a = ffbp.Network([ffbp.Dense(3, 4), ffbp.Tanh(), ffbp.Dense(4, 2), ffbp.Softmax()])
    _fit(a, path, epochs=1, checkpoint=path)
    same_count = ffbp.Network([ffbp.Dense(3, 2), ffbp.Tanh(), ffbp.Dense(2, 6)])
    assert same_count.flat_values.size == a.flat_values.size
    other_activation = ffbp.Network([ffbp.Dense(3, 4), ffbp.ReLU(), ffbp.Dense(4, 2),
                                     ffbp.Softmax()])
    for net in (same_count, other_activation):
        net.optimizer_state = ffbp.optim.adam(0.01).init(net.flat_values, net)
        before = net.flat_values.copy()
        with pytest.raises(ffbp.ShapeError, match="written for other layers"):
            ckpt.load_checkpoint(path, net, np.random.default_rng())
        np.testing.assert_array_equal(net.flat_values, before)      # nothing half-restored
    with pytest.raises(ffbp.ShapeError, match="other layers"):
        _fit(other_activation, path, epochs=2, resume=path)


def test_checkpoints_carry_a_digest_and_reject_edits(tmp_path):
    path = tmp_path / "c.ckpt"
    _fit(_net(), path, epochs=1, checkpoint=path)
    table, meta, data = _parts(path)
    assert meta["integrity"] == "sha256" and meta["architecture"][0][0] == "Dense"
    meta["epoch"] = 0
    _write(path, table, meta, data, seal=False)
    with pytest.raises(ModelFileError, match="digest mismatch"):
        ckpt.read_metadata(path)
    with pytest.raises(ModelFileError, match="no checkpoint at"):
        ckpt.read_metadata(tmp_path / "missing.ckpt")


@pytest.mark.parametrize("key,value,match", [
    ("epoch", -1, "epoch"), ("rng", {"bit_generator": "PCG64", "state": 5}, "rng"),
    ("history", {"loss": ["x"]}, "history"), ("seed", -3, "seed"),
    ("optimizer_numbers", {"0/count": "1"}, "optimizer_numbers"),
])
def test_resealed_checkpoint_metadata_is_validated(tmp_path, key, value, match):
    path = tmp_path / "c.ckpt"
    _fit(_net(), path, epochs=1, checkpoint=path)
    table, meta, data = _parts(path)
    meta[key] = value
    _write(path, table, meta, data)
    with pytest.raises(ModelFileError, match=match):
        _fit(_net(), path, epochs=2, resume=path)


def test_a_checkpoint_from_before_digests_resumes_with_a_warning(tmp_path):
    path = tmp_path / "c.ckpt"
    full = _net()
    _fit(full, path, epochs=1, checkpoint=path)
    _legacy_checkpoint(path)
    resumed = _net(seed=5)
    with pytest.warns(ModelFileWarning):
        _fit(resumed, path, epochs=2, resume=path)
    assert np.isfinite(resumed.flat_values).all()


def _legacy_checkpoint(path):
    from safetensors.numpy import load_file, save_file

    meta = _parts(path)[1]
    del meta["integrity"], meta["architecture"]
    save_file(load_file(str(path)), str(path), metadata={"ffbp": json.dumps(meta)})


def test_resuming_reads_the_checkpoint_once(tmp_path, monkeypatch):
    path = tmp_path / "c.ckpt"
    _fit(_net(), path, epochs=1, checkpoint=path)
    reads = []
    original = _container.read_bytes
    monkeypatch.setattr(_container, "read_bytes", lambda p, w: reads.append(p) or original(p, w))
    _fit(_net(), path, epochs=2, resume=path)
    assert len(reads) == 1


# -- concurrent saves and loads ----------------------------------------------------------------
STORM_WRITER = r"""
import sys, time, numpy as np, ffbp
from ffbp import checkpoint as ckpt
from ffbp.history import History
model, checkpoint, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
net = ffbp.Network([ffbp.Dense(60, 80), ffbp.ReLU(), ffbp.Dense(80, 3)], seed=0)
rng = np.random.default_rng(0)
print("ready", flush=True)
version, end = 0, time.monotonic() + seconds
while time.monotonic() < end:         # every version: metadata, epoch and weights agree
    version += 1
    net.flat_values[:] = version
    net.metadata = {"version": version}
    ffbp.save(net, model)
    ckpt.save_checkpoint(checkpoint, net, epoch=version, history=History(), rng=rng)
print(version, flush=True)
"""


def test_loads_during_a_save_storm_never_mix_versions(tmp_path):
    model, checkpoint = tmp_path / "m.ffbp", tmp_path / "c.ckpt"
    net = ffbp.Network([ffbp.Dense(60, 80), ffbp.ReLU(), ffbp.Dense(80, 3)], seed=0)
    net.flat_values[:] = 0                          # version 0
    ffbp.save(net, model)
    ckpt.save_checkpoint(checkpoint, net, epoch=0, history=ffbp.history.History(),
                         rng=np.random.default_rng())
    writer = subprocess.Popen([sys.executable, "-c", STORM_WRITER, str(model),
                               str(checkpoint), "3"], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    loads = mixed = 0
    target = ffbp.Network([ffbp.Dense(60, 80), ffbp.ReLU(), ffbp.Dense(80, 3)], seed=0)
    target.optimizer_state = None
    while writer.poll() is None:
        back = ffbp.load(model)                     # never a false ModelFileError
        version = back.metadata.get("version", 0)
        mixed += not np.all(back.flat_values == version)
        meta = ckpt.read_metadata(checkpoint)
        ckpt.load_checkpoint(checkpoint, target, np.random.default_rng(), meta)
        mixed += not np.all(target.flat_values == meta["epoch"])
        loads += 2
    saves = int(writer.stdout.readline())
    assert writer.wait() == 0
    assert mixed == 0 and loads > 20 and saves > 10, (mixed, loads, saves)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.ckpt", "m.ffbp"]


# -- file modes and temporaries --------------------------------------------------------------
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_files_honour_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        ffbp.save(_net(), tmp_path / "m.ffbp")
        ckpt.save_checkpoint(tmp_path / "c.ckpt", _net(), epoch=0,
                             history=ffbp.history.History(), rng=np.random.default_rng())
    finally:
        os.umask(previous)
    for name in ("m.ffbp", "c.ckpt"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_next_save_removes_only_stale_temporaries(tmp_path):
    host = _atomic._host()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead, alive = _dead_pid(), sleeper.pid
        old = time.time() - _atomic.STALE_AFTER - 60
        files = {                                      # name: (age, removed?)
            f".ffbp-{dead}-0123abcd-{host}.tmp": (None, True),        # writer killed
            f".ffbp-{alive}-0123abcd-{host}.tmp": (None, False),      # a save under way
            f".ffbp-{alive}-4567abcd-{host}.tmp": (old, True),        # stuck for 15 min
            f".ffbp-{dead}-0123abcd-other-host.tmp": (None, False),   # pid of another host
            f".ffbp-{dead}-89abcdef-other-host.tmp": (old, True),
            ".ffbp-k2j_x9q1.tmp": (None, False),                      # old mkstemp name
            ".ffbp-a1b2c3d4.tmp": (old, True),
            ".ffbp-notes.tmp": (old, False),                          # not ffbp's pattern
            ".tmpk2j3": (old, False), "model.ffbp": (old, False),
            f"x.ffbp-{dead}-0123abcd-{host}.tmp": (old, False),
        }
        for name, (age, _) in files.items():
            (tmp_path / name).write_bytes(b"partial")
            if age is not None:
                os.utime(tmp_path / name, (age, age))
        assert socket.gethostname()
        ffbp.save(_net(), tmp_path / "m.ffbp")
        left = {p.name for p in tmp_path.iterdir()}
        for name, (_, removed) in files.items():
            assert (name not in left) == removed, name
    finally:
        sleeper.kill()
        sleeper.wait()
