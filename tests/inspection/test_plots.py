"""Each plot writes a PNG of the requested pixel size (read from the PNG header itself), and
draws what it should: the history's values, zeros on log axes, one colour per layer, legends
beside the data, and a boundary that separates what the network separates."""

from __future__ import annotations

import struct
import sys

import numpy as np
import pytest
from conftest import require

import ffbp

require("matplotlib", "the plots are drawn with matplotlib")

from matplotlib.colors import to_rgba  # noqa: E402

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
    with pytest.raises(ffbp.ConfigError, match="2 or more inputs"):
        plots.plot_decision_boundary(net, np.zeros((3, 3)), [0, 1, 2], tmp_path / "x.png")


def test_without_matplotlib_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)    # import now fails
    with pytest.raises(ffbp.ConfigError, match=r'pip install "ffbp\[plots\]"'):
        plots.plot_activations(tmp_path / "a.png")


# -- what is drawn ------------------------------------------------------------------------
def lines(ax, gid):
    return [line for line in ax.lines if line.get_gid() == gid]


def test_loss_curves_are_the_history_values(trained):
    _, _, _, history, _ = trained
    fig = plots.plot_history(history, None)
    loss_ax, acc_ax = fig.axes[:2]
    for ax, key in ((loss_ax, "loss"), (loss_ax, "val_loss"), (acc_ax, "accuracy"),
                    (acc_ax, "val_accuracy")):
        (line,) = lines(ax, key)
        assert list(line.get_xdata()) == list(range(1, history.epochs + 1))
        assert list(line.get_ydata()) == history[key]
    # one legend for both panels: a data set has the same colour and dash in each
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["training", "validation"]
    assert lines(loss_ax, "val_loss")[0].get_color() == lines(acc_ax, "val_accuracy")[0].get_color()


class Record:
    """What plot_gradient_norms reads from a GradientHealth, with chosen values."""

    def __init__(self, probe_norms, ratios):
        self.gradient_norms = probe_norms
        self.update_norms = {k: [] for k in ratios}
        self.update_ratios = ratios
        self.measured_at = [0.0, 0.5, 1.0, 1.5][:len(next(iter(ratios.values())))]


def test_zero_gradients_are_drawn_on_the_log_plot_and_said_in_the_legend():
    record = Record({"layer0.W": [0.0, 0.0, 0.0], "layer2.W": [1e-3, 2e-3, 0.0]},
                    {"layer0.W": [0.0, 0.0, 0.0, 0.0], "layer2.W": [1e-2, 1e-2, 1e-3, 1e-3]})
    fig = plots.plot_gradient_norms(record, None)
    left = fig.axes[0]
    assert left.get_yscale() == "log"
    # the floor is a decade below the smallest positive norm (1e-3): 1e-4
    zeros = [(x, y) for line in left.lines if line.get_gid() == "zero"
             for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True)]
    assert sorted(zeros) == [(1, 1e-4), (2, 1e-4), (3, 1e-4), (3, 1e-4)]
    low, high = left.get_ylim()
    assert low < 1e-4 < high                                   # on the picture
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "exactly 0 (drawn at 1e-04)" in texts
    # and the ratios' zeros on the right axis, at a decade below 1e-3
    right_zeros = [y for line in fig.axes[1].lines if line.get_gid() == "zero"
                   for y in line.get_ydata()]
    assert right_zeros == [1e-4] * 4


@pytest.mark.parametrize("layers", [11, 23])
def test_every_layer_has_its_own_colour(layers):
    names = [f"layer{2 * k}.W" for k in range(layers)]
    record = Record({n: [1.0 + k, 2.0 + k] for k, n in enumerate(names)},
                    {n: [0.1 * (k + 1)] * 3 for k, n in enumerate(names)})
    fig = plots.plot_gradient_norms(record, None)
    for ax in fig.axes[:2]:
        colours = {to_rgba(lines(ax, n)[0].get_color()) for n in names}
        assert len(colours) == layers
    assert [t.get_text() for t in fig.legends[0].get_texts()] == names


def overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_legends_lie_outside_the_data(trained):
    _, _, _, history, health = trained
    many = Record({f"layer{k}.W": [1.0, 2.0] for k in range(15)},
                  {f"layer{k}.W": [0.1, 0.2, 0.3] for k in range(15)})
    for fig in (plots.plot_history(history, None), plots.plot_gradient_norms(health, None),
                plots.plot_gradient_norms(many, None)):
        renderer = fig.canvas.get_renderer()
        assert all(ax.get_legend() is None for ax in fig.axes)
        (legend,) = fig.legends
        box = legend.get_window_extent(renderer)
        for ax in fig.axes[:2]:
            assert not overlaps(box, ax.get_window_extent(renderer)), ax.get_title()


def drawn_classes(fig, points):
    """The value the boundary picture shows at each point: sampled from the drawn grid."""
    (image,) = [im for im in fig.axes[0].images if im.get_gid() == "decision"]
    grid = np.asarray(image.get_array())
    x0, x1, y0, y1 = image.get_extent()
    rows, cols = grid.shape
    c = np.clip(((points[:, 0] - x0) / (x1 - x0) * cols).astype(int), 0, cols - 1)
    r = np.clip(((points[:, 1] - y0) / (y1 - y0) * rows).astype(int), 0, rows - 1)
    return grid[r, c]


def separable(n, seed, dims=2, informative=(0, 1)):
    """Two classes on either side of x_a + x_b = 0 with a gap of 0.6 between them."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(4 * n, dims))
    a, b = informative
    s = X[:, a] + X[:, b]
    keep = np.abs(s) > 0.6
    return X[keep][:n], (s[keep][:n] > 0).astype(float)


def test_the_drawn_boundary_separates_a_separable_set():
    X, y = separable(200, 0)
    net = ffbp.Network([ffbp.Dense(2, 8), ffbp.Tanh(), ffbp.Dense(8, 1), ffbp.Sigmoid()], seed=0)
    net.fit(X, y, loss="bce", optimizer=ffbp.optim.adam(0.05), epochs=60, batch_size=32,
            seed=0, verbose=False)
    assert (net.predict(X).ravel() == y).all()            # the network separates the set
    fig = plots.plot_decision_boundary(net, X, y, None, resolution=120)
    shown = drawn_classes(fig, X)                            # network output y at each point
    assert ((shown > 0.5) == (y == 1)).mean() >= 0.99
    assert fig.axes[0].get_title() == "decision boundary"


def test_three_classes_are_three_drawn_regions():
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    labels = np.repeat(np.arange(3), 60)
    X = centres[labels] + 0.5 * rng.normal(size=(180, 2))
    net = ffbp.Network([ffbp.Dense(2, 8), ffbp.Tanh(), ffbp.Dense(8, 3), ffbp.Softmax()],
                       seed=0)
    net.fit(X, labels, loss="cross_entropy", optimizer=ffbp.optim.adam(0.05), epochs=40,
            seed=0, verbose=False)
    fig = plots.plot_decision_boundary(net, X, labels, None, resolution=100,
                                       class_names=["north", "east", "west"])
    assert (drawn_classes(fig, X) == labels).mean() >= 0.99
    # the classes are named in a legend beside the picture, not on it
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["north", "east", "west"]
    renderer = fig.canvas.get_renderer()
    assert not overlaps(legend.get_window_extent(renderer),
                        fig.axes[0].get_window_extent(renderer))


def test_many_inputs_the_plane_of_the_two_that_matter_and_the_picture_says_so():
    X, y = separable(300, 2, dims=6, informative=(1, 4))
    X[:, [0, 2, 3, 5]] *= 0.1                  # the others barely vary
    net = ffbp.Network([ffbp.Dense(6, 8), ffbp.Tanh(), ffbp.Dense(8, 1), ffbp.Sigmoid()], seed=0)
    net.fit(X, y, loss="bce", optimizer=ffbp.optim.adam(0.05), epochs=60, seed=0,
            verbose=False)
    assert sorted(plots.important_features(net, X)) == [1, 4]
    names = ["a", "b", "c", "d", "e", "f"]
    fig = plots.plot_decision_boundary(net, X, y, None, resolution=120, feature_names=names)
    ax = fig.axes[0]
    assert {ax.get_xlabel(), ax.get_ylabel()} == {"b", "e"}
    title = " ".join(ax.get_title().split())
    assert "the other 4 inputs held at their mean" in title and "‖W¹[i, :]‖" in title
    a, b = plots.important_features(net, X)
    shown = drawn_classes(fig, X[:, [a, b]])
    assert ((shown > 0.5) == (y == 1)).mean() >= 0.95
