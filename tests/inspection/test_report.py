"""write_report: one self-contained HTML page with every plot embedded; where Debian's
chromium is installed, it renders headless to a non-empty screenshot."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import require, skip_unless

import ffbp
from ffbp.diagnostics import GradientHealth
from ffbp.report import write_report

require("matplotlib", "the report's plots are drawn with matplotlib")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(float)
    net = ffbp.Network([ffbp.Dense(2, 6), ffbp.ReLU(), ffbp.Dense(6, 1), ffbp.Sigmoid()], seed=0)
    health = GradientHealth(probe=(X[:32], y[:32]))
    history = net.fit(X, y, loss="bce", optimizer=ffbp.optim.sgd(0.5), epochs=5, batch_size=20,
                      validation_split=0.2, seed=0, verbose=False, callbacks=[health])
    directory = tmp_path_factory.mktemp("report")
    path = write_report(directory / "run", net, history, health,
                        hyperparameters={"learning_rate": 0.5, "batch_size": 20},
                        data_summary={"samples": 100, "features": 2}, data=(X, y))
    return path, history


def test_report_embeds_every_plot_and_the_summary(report):
    path, history = report
    page = path.read_text(encoding="utf-8")
    assert path.name == "report.html"
    uris = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    # loss curves, gradient norms, decision boundary, network, activations
    assert len(uris) == 5 and all(len(u) > 1000 for u in uris)
    for caption in ("Loss curves", "Gradient norms", "Decision boundary", "Weights of the network",
                    "Activation functions"):
        assert caption in page
    assert f"{history.loss[-1]:.6g}" in page and "final val_loss" in page
    assert "learning_rate" in page and "samples" in page and "Dense(2, 6)" in page
    assert "Diagnostics" in page and "‖ΔW‖/‖W‖" in page
    # Self-contained: no scripts and nothing fetched from elsewhere.
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_report_renders_in_headless_chromium(report, tmp_path):
    """Debian's chromium renders the page headless (as root: --no-sandbox; a fresh profile;
    no background networking, which this closed network refuses) to a screenshot that is
    the page's size and not blank."""
    chromium = shutil.which("chromium")
    skip_unless(chromium is not None,
                "Debian's chromium is not installed (apt-get install chromium), so the page "
                "is not rendered; .ci/run installs it, so CI runs this test")
    path, _ = report
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
         "--window-size=1200,900", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", path.resolve().as_uri()],
        check=False, capture_output=True, text=True, timeout=60)
    assert shot.exists() and shot.stat().st_size > 1000, result.stderr[-2000:]
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (900, 1200)
    assert (pixels[..., :3] < 0.5).mean() > 0.001        # text and plots, not a blank page


def test_report_without_matplotlib_says_how_to_get_pictures(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)    # import now fails
    net = ffbp.Network([ffbp.Dense(2, 3), ffbp.Tanh(), ffbp.Dense(3, 1)], seed=0)
    history = net.fit(np.eye(2), [0.0, 1.0], epochs=2, verbose=False)
    page = write_report(tmp_path, net, history).read_text(encoding="utf-8")
    assert "<img" not in page and 'pip install "ffbp[plots]"' in page and "Summary" in page
