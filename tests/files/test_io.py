"""Model files: round trips for every layer type, plain safetensors, clear errors, atomicity."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cases import HIDDEN

import ffbp
from ffbp.io import ModelFileError

OUTPUTS = {"softmax": (ffbp.Softmax(), "cross_entropy"),
           "log_softmax": (ffbp.LogSoftmax(), "nll"), "sigmoid": (ffbp.Sigmoid(), "bce"),
           "linear": (None, "mse")}
ACTIVATIONS = {**HIDDEN, "leaky_0.2": lambda: ffbp.LeakyReLU(0.2),
               "elu_0.5": lambda: ffbp.ELU(0.5)}


def _trained(hidden, output, rng, dtype=np.float32):
    out_layer, loss = OUTPUTS[output]
    layers = [ffbp.Dense(3, 5), ffbp.BatchNorm(5), ACTIVATIONS[hidden](), ffbp.Dropout(0.3),
              ffbp.Dense(5, 2, bias=hidden != "tanh")]
    net = ffbp.Network(layers + ([out_layer] if out_layer else []), dtype=dtype)
    X = rng.normal(size=(20, 3))
    y = rng.integers(0, 2, size=(20, 2)) if output in ("sigmoid", "linear") else \
        rng.integers(0, 2, size=20)
    net.fit(X, y, loss=loss, epochs=2, batch_size=5, verbose=False)
    return net, X


@pytest.mark.parametrize("hidden", list(ACTIVATIONS))
@pytest.mark.parametrize("output", list(OUTPUTS))
def test_round_trip_gives_identical_predictions(hidden, output, rng, tmp_path):
    net, X = _trained(hidden, output, rng)
    path = tmp_path / "m.ffbp"
    ffbp.save(net, path)
    back = ffbp.load(path)
    assert [repr(a) for a in back.layers] == [repr(b) for b in net.layers]
    np.testing.assert_array_equal(back.flat_values, net.flat_values)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    np.testing.assert_array_equal(back.layers[1].running_var, net.layers[1].running_var)
    assert type(back.loss) is type(net.loss) and back.dtype == net.dtype


def test_weights_open_with_plain_safetensors(rng, tmp_path):
    from safetensors.numpy import load_file

    net, _ = _trained("relu", "softmax", rng, dtype=np.float64)
    net.metadata["note"] = "digits"
    path = tmp_path / "m.ffbp"
    ffbp.save(net, path)
    tensors = load_file(str(path))
    np.testing.assert_array_equal(tensors["layer0.W"], net.layers[0].W.value)
    np.testing.assert_array_equal(tensors["layer1.running_mean"], net.layers[1].running_mean)
    assert ffbp.load(path).metadata == {"note": "digits"}


def _rewrite_header(path, change):
    """Edit the JSON header of a saved model (a hostile or damaged file)."""
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    with safe_open(str(path), "np") as fh:
        header = json.loads(fh.metadata()["ffbp"])
    tensors = load_file(str(path))
    change(header, tensors)
    save_file(tensors, str(path), metadata={"ffbp": json.dumps(header)})


BROKEN = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:-40]),
    "not safetensors": lambda p: p.write_bytes(b"hello world, not a model"),
    "empty": lambda p: p.write_bytes(b""),
    "future version": lambda p: _rewrite_header(p, lambda h, t: h.update(version=99)),
    "unknown layer": lambda p: _rewrite_header(
        p, lambda h, t: h["layers"][2].update(type="Conv2D")),
    "bad layer args": lambda p: _rewrite_header(
        p, lambda h, t: h["layers"][0].update(in_features=-3)),
    "wrong tensor shape": lambda p: _rewrite_header(
        p, lambda h, t: t.update({"layer0.W": np.zeros((2, 2), np.float32)})),
    "missing tensor": lambda p: _rewrite_header(p, lambda h, t: t.pop("layer0.b")),
    "NaN weights": lambda p: _rewrite_header(
        p, lambda h, t: t["layer0.W"].__setitem__((0, 0), np.nan)),
    "unknown loss": lambda p: _rewrite_header(p, lambda h, t: h.update(loss={"type": "X"})),
    "not an ffbp file": lambda p: _rewrite_header(p, lambda h, t: h.update(format="other")),
}


@pytest.mark.parametrize("damage", list(BROKEN))
def test_damaged_files_raise_model_file_error(damage, rng, tmp_path):
    net, _ = _trained("tanh", "softmax", rng)
    path = tmp_path / "m.ffbp"
    ffbp.save(net, path)
    BROKEN[damage](path)
    with pytest.raises(ModelFileError):
        ffbp.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no model file"):
        ffbp.load(tmp_path / "nope.ffbp")


def test_a_failed_save_leaves_the_previous_file_intact(rng, tmp_path, monkeypatch):
    from ffbp import _atomic

    net, X = _trained("relu", "softmax", rng)
    path = tmp_path / "m.ffbp"
    ffbp.save(net, path)
    before = path.read_bytes()

    def crash(fd):                     # the temporary is written, then the disk fails
        raise OSError("disk full")

    monkeypatch.setattr(_atomic.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        ffbp.save(net, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.ffbp"]     # no temporary left behind


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="named pipes are POSIX")
def test_a_save_onto_a_named_pipe_is_refused_and_the_pipe_kept(tmp_path):
    """Saves rename a new file over their path: over a named pipe (or a device such as
    /dev/null) that would put a regular file in its place, so the library refuses, as the
    command does, before writing anything (no temporary is left either)."""
    import os
    import stat

    pipe = tmp_path / "out.ffbp"
    os.mkfifo(pipe)
    net = ffbp.mlp(2, [3], 1)
    with pytest.raises(ffbp.DataError, match=r"cannot write to .*out\.ffbp: it is a named pipe"):
        ffbp.save(net, pipe)
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.ffbp"]
