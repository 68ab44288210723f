"""Each plot writes a PNG of the requested pixel size (read from the PNG header itself)."""

from __future__ import annotations

import struct
import sys

import numpy as np
import pytest
from conftest import require

import ffbp

require("matplotlib", "the plots are drawn with matplotlib")

from ffbp import plots  # noqa: E402
from ffbp.diagnostics import GradientHealth  # noqa: E402


def png_size(path):
    """(width, height) from the IHDR chunk: 8-byte signature, length, "IHDR", w, h."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    net = ffbp.Network([ffbp.Dense(2, 8), ffbp.Tanh(), ffbp.Dense(8, 1), ffbp.Sigmoid()], seed=0)
    health = GradientHealth(probe=(X[:32], y[:32]))
    history = net.fit(X, y, loss="bce", optimizer=ffbp.optim.adam(0.05), epochs=8,
                      batch_size=16, validation_split=0.2, seed=0, verbose=False,
                      callbacks=[health])
    return net, X, y, history, health


@pytest.mark.parametrize("size", [(800, 500), (333, 257)])
def test_every_plot_has_the_requested_size(trained, tmp_path, size):
    net, X, y, history, health = trained
    drawn = {
        "history": plots.plot_history(history, tmp_path / "h.png", size=size),
        "norms": plots.plot_gradient_norms(health, tmp_path / "g.png", size=size),
        "boundary": plots.plot_decision_boundary(net, X, y, tmp_path / "d.png", size=size,
                                                 resolution=60),
        "network": plots.plot_network(net, tmp_path / "n.png", size=size),
        "activations": plots.plot_activations(tmp_path / "a.png", size=size),
    }
    for name, path in drawn.items():
        assert path.stat().st_size > 1000, name
        assert png_size(path) == size, name


def test_more_cases_and_dpi(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    labels = rng.integers(0, 3, 60)
    net = ffbp.Network([ffbp.Dense(2, 30), ffbp.ReLU(), ffbp.Dense(30, 3), ffbp.Softmax()])
    history = net.fit(X, labels, loss="cross_entropy", epochs=2, verbose=False)
    health = GradientHealth()                     # no probe: the update norms are drawn
    net.fit(X, labels, loss="cross_entropy", epochs=2, verbose=False, callbacks=[health])
    paths = [plots.plot_decision_boundary(net, X, labels, tmp_path / "d.png", resolution=40,
                                          size=(600, 400), dpi=50),
             plots.plot_network(net, tmp_path / "n.png", size=(600, 400), dpi=50),
             plots.plot_history(history.as_dict(), tmp_path / "h.png", size=(600, 400)),
             plots.plot_gradient_norms(health, tmp_path / "g.png", size=(600, 400))]
    for path in paths:
        assert png_size(path) == (600, 400)
    with pytest.raises(ffbp.ConfigError, match="2 inputs"):
        plots.plot_decision_boundary(net, np.zeros((3, 3)), [0, 1, 2], tmp_path / "x.png")


def test_without_matplotlib_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)    # import now fails
    with pytest.raises(ffbp.ConfigError, match=r'pip install "ffbp\[plots\]"'):
        plots.plot_activations(tmp_path / "a.png")
