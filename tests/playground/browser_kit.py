"""What the browser tests share: the real server (uvicorn in a thread on a free port,
training with ffbp's own Session) and Debian's chromium driven by Playwright for Python
(.ci/run installs it with apt; no browser is ever downloaded), one of each per test module,
and the helpers that open a tab and read it. A module that imports this is skipped where
the web stack, Playwright or chromium is missing."""

from __future__ import annotations

import os

import pytest
from conftest import require, skip_unless

import ffbp

require("starlette", "the playground's server is a Starlette app")
require("uvicorn", "the browser tests serve the playground with uvicorn")
sync_api = require("playwright.sync_api", "the browser tests drive chromium with Playwright")
CHROMIUM = "/usr/bin/chromium"
skip_unless(os.access(CHROMIUM, os.X_OK), f"Debian's chromium is not at {CHROMIUM} (.ci/run "
            f"installs it with apt-get install chromium)")

from ffbp.playground import running  # noqa: E402

CONTRACT = ["play", "pause", "step", "reset", "dataset", "add-layer", "remove-layer",
            "learning-rate", "activation", "regularization", "batch-size", "epoch",
            "loss-train", "loss-test", "boundary", "neuron-1-1", "weight-1-1-1",
            "explain-panel", "gradient-health", "upload", "export-model"]


@pytest.fixture(scope="module")
def server():
    """The playground on 127.0.0.1 and a free port, for the module's tests."""
    with running() as (app, url):
        yield app, url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def open_tab(browser, url, width=1400, height=1000):
    """A fresh tab on ``url``, its first snapshot drawn; ``tab.problems`` collects console
    errors and uncaught exceptions."""
    context = browser.new_context(viewport={"width": width, "height": height},
                                  accept_downloads=True)
    tab = context.new_page()
    tab.problems = []
    tab.on("console", lambda m: m.type == "error" and tab.problems.append(m.text))
    tab.on("pageerror", lambda e: tab.problems.append(str(e)))
    tab.goto(url)
    tab.wait_for_function("window.ffbp && window.ffbp.snap && window.ffbpStats.frames > 0")
    return tab


@pytest.fixture
def page(server, browser):
    tab = open_tab(browser, server[1])
    yield tab
    tab.context.close()


def text(page, testid) -> str:
    return page.get_by_test_id(testid).inner_text()


def play_until_epoch(page, epoch):
    page.get_by_test_id("play").click()
    page.wait_for_function(f"+document.querySelector('[data-testid=epoch]').textContent >= {epoch}",
                           timeout=20000)
    pause(page)


def pause(page):
    """Pause and wait for the last snapshot: the page shows the network training left."""
    page.get_by_test_id("pause").click()
    page.wait_for_function("!window.ffbp.playing")
    steps = None
    while True:                                # the worker's last frame has arrived
        now = page.evaluate("window.ffbp.snap.steps")
        if now == steps:
            return
        steps = now
        page.wait_for_timeout(150)


def download_model(page, tmp_path):
    with page.expect_download() as got:
        page.get_by_test_id("export-model").click()
    path = tmp_path / "model.ffbp"
    got.value.save_as(path)
    return ffbp.load(path)
