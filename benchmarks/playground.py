"""The playground's speed targets (issue 15): with a 2-8-8-1 network on 500 points, at least
100 training steps per second on the server and at least 20 page updates per second.

    python -m benchmarks.playground                 # server alone, then with the browser
    python -m benchmarks.playground --seconds 5 --no-browser --json out.json

Server alone: a WebSocket client (the ``websockets`` package, as the page speaks) asks for
the page's packed maps (``/ws?maps=f32``), configures hidden=[8, 8] and n_points=500, plays
for ``--seconds`` and counts the snapshots it receives; the steps are the snapshots' own
``steps`` counter (first to last), so they are the server's training steps, not frames.

With the browser: Debian's chromium (Playwright, ``/usr/bin/chromium``) opens the page on the
same setup, plays, and reads ``window.ffbpStats``: snapshots *drawn* per second by the page,
and the server's own steps per second for the run. Both share this machine's cores with the
server, as on a learner's laptop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from ffbp.playground import running

SETUP = {"hidden": [8, 8], "n_points": 500}
TARGETS = {"steps_per_second": 100.0, "updates_per_second": 20.0}


async def _server_alone(port: int, seconds: float) -> dict:
    import websockets

    async with websockets.connect(f"ws://127.0.0.1:{port}/ws?maps=f32",
                                  max_size=None) as ws:
        await ws.send(json.dumps({"type": "configure", "changes": SETUP}))
        await ws.send(json.dumps({"type": "play"}))
        frames, first, last, start = 0, None, None, None
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") != "snapshot":
                continue
            if start is None:                       # the clock starts at the first frame
                start, first = time.perf_counter(), message["steps"]
                continue
            frames, last = frames + 1, message["steps"]
            if time.perf_counter() - start >= seconds:
                break
        elapsed = time.perf_counter() - start
        await ws.send(json.dumps({"type": "pause"}))
    return {"steps_per_second": (last - first) / elapsed,
            "updates_per_second": frames / elapsed}


def server_alone(port: int, seconds: float) -> dict:
    return asyncio.run(_server_alone(port, seconds))


def with_browser(port: int, seconds: float) -> dict:
    from playwright.sync_api import sync_playwright

    hash_ = "#hidden=8,8&n_points=500"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/{hash_}")
            page.get_by_test_id("neuron-2-8").wait_for()
            page.get_by_test_id("play").click()
            page.wait_for_function("window.ffbp.snap && window.ffbp.snap.steps > 0")
            page.wait_for_timeout(500)
            page.evaluate("window.ffbpStats.reset()")
            page.wait_for_timeout(int(seconds * 1000))
            updates = page.evaluate("window.ffbpStats.rate()")
            page.get_by_test_id("pause").click()
            page.wait_for_function("!window.ffbp.playing")
            page.wait_for_function("window.ffbpStats.server")
            server = page.evaluate("window.ffbpStats.server")
        finally:
            browser.close()
    return {"steps_per_second": server["steps_per_second"], "updates_per_second": updates}


def measure(seconds: float = 5.0, browser: bool = True) -> dict:
    """{row name: {"steps_per_second", "updates_per_second"}}: the server alone, then (when
    ``browser`` and chromium is there) the page drawing in chromium."""
    import os

    with running() as (_, url):
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        rows = {"server alone (WebSocket client)": server_alone(port, seconds)}
        if browser and os.access("/usr/bin/chromium", os.X_OK):
            rows["with the page in chromium"] = with_browser(port, seconds)
    return rows


def met(rows: dict) -> bool:
    return all(row[k] >= v for row in rows.values() for k, v in TARGETS.items())


def text(rows: dict) -> str:
    lines = [f"{'':34} {'steps/s':>10} {'updates/s':>10}"]
    for name, row in rows.items():
        lines.append(f"{name:34} {row['steps_per_second']:10.0f} "
                     f"{row['updates_per_second']:10.1f}")
    lines.append(f"targets: >= {TARGETS['steps_per_second']:g} steps/s and >= "
                 f"{TARGETS['updates_per_second']:g} updates/s: "
                 f"{'met' if met(rows) else 'NOT met'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    parser.add_argument("--no-browser", action="store_true", help="the server alone only")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    rows = measure(args.seconds, browser=not args.no_browser)
    print(f"playground, 2-8-8-1 on 500 points, {args.seconds:g} s per run")
    print(text(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "targets": TARGETS, "met": met(rows)}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
