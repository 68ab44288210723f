"""write_report: one self-contained HTML page with every plot embedded; where Debian's
chromium is installed, it renders headless to a non-empty screenshot. A diverged run's page
opens with the failure, its last good epoch and the gradients' record leading to it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import warnings

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
    assert f"{history.loss[-1]:.6g}" in page and "last epoch&#x27;s val_loss" in page
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


def table_rows(page, header):
    """The rows (lists of cell texts) of the table whose first header cell is ``header``."""
    start = page.index(f"<tr><th>{header}</th>")
    table = page[start:page.index("</table>", start)]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in table.split("</tr>")[1:]
            if "<td" in row]


@pytest.fixture(scope="module")
def diverged(tmp_path_factory):
    """A regression whose learning rate is too large: the loss grows tenfold and more per
    epoch until float32 overflows, some epochs in."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    y = X @ [3.0, -2.0] + 0.5
    net = ffbp.Network([ffbp.Dense(2, 4), ffbp.Tanh(), ffbp.Dense(4, 1)], seed=0)
    health = GradientHealth(probe=(X[:32], y[:32]), warn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = net.fit(X, y, loss="mse", optimizer=ffbp.optim.sgd(3.0), epochs=60,
                          batch_size=None, on_nan="stop", verbose=False, callbacks=[health])
    path = write_report(tmp_path_factory.mktemp("diverged"), net, history, health)
    return path.read_text(encoding="utf-8"), history, health


def test_a_diverged_run_opens_with_its_last_good_epoch_and_the_gradients_story(diverged):
    page, history, health = diverged
    assert history.stop_reason.startswith("diverged") and history.epochs >= 3
    assert page.index("<h2>Training diverged</h2>") < page.index("<h2>Summary</h2>")
    assert history.stop_reason in page
    assert f"Last good epoch: <b>{history.epochs}</b> (loss {history.loss[-1]:.6g}" in page
    story = table_rows(page, "epoch")
    last_ten = history.loss[-10:]
    assert [int(r[0]) for r in story] == list(range(history.epochs - len(last_ten) + 1,
                                                    history.epochs + 1))
    assert [float(r[1]) for r in story] == pytest.approx(last_ten, rel=1e-5)
    norms = [float(r[2]) for r in story]
    assert norms[-1] > 100 * norms[0]                       # it shows the growth
    # every warning GradientHealth recorded, in order
    listed = re.findall(r"<li>(.*?)</li>", page)
    assert len(listed) == len(health.messages) >= 1
    assert "Loss curves (log scale)" in page


def test_a_diverged_run_reported_from_the_error(tmp_path):
    """fit raised: the error and a history kept by a callback make the same page."""

    class Keep:
        def on_train_begin(self, net, history):
            self.history = history

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    y = X @ [3.0, -2.0] + 0.5
    net = ffbp.Network([ffbp.Dense(2, 4), ffbp.Tanh(), ffbp.Dense(4, 1)], seed=0)
    keep = Keep()
    with pytest.raises(ffbp.DivergenceError) as caught:
        net.fit(X, y, loss="mse", optimizer=ffbp.optim.sgd(3.0), epochs=60, batch_size=None,
                verbose=False, callbacks=[keep])
    page = write_report(tmp_path, net, keep.history, error=caught.value).read_text()
    assert "<h2>Training diverged</h2>" in page and "training diverged at epoch" in page
    assert f"Last good epoch: <b>{keep.history.epochs}</b>" in page
    assert "No gradient-health record" in page


def test_a_finished_run_has_no_divergence_section(report):
    path, _ = report
    assert "Training diverged" not in path.read_text(encoding="utf-8")


def test_final_metrics_and_a_boundary_for_many_inputs(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    net = ffbp.Network([ffbp.Dense(4, 6), ffbp.Tanh(), ffbp.Dense(6, 2), ffbp.Softmax()],
                       seed=0)
    history = net.fit(X, y, loss="cross_entropy", epochs=3, verbose=False)
    final = {"train": {"loss": 0.123456, "accuracy": 0.9}}
    page = write_report(tmp_path, net, history, final_metrics=final, data=(X, y),
                        feature_names=["p", "q", "r", "s"]).read_text()
    assert table_rows(page, "data") == [["train", "0.1235", "0.9000"]]
    assert "Decision boundary in the plane of the two most important inputs" in page
    assert "last epoch&#x27;s loss (mean over its batches)" in page
