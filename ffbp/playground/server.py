"""The playground's web side: a Starlette app serving the page and one WebSocket per tab.

Each WebSocket connection (a browser tab) owns one ``Session``; closing the socket closes
the session and drops it from ``app.state.tabs``. While a tab plays, its session trains in a
worker thread (NumPy releases the GIL in its GEMMs, and the event loop keeps answering other
tabs and this tab's clicks) and a snapshot goes out on a ``FRAME`` beat (25 a second). Each
Session method holds the session's own lock; the tab's lock here makes a sequence of calls
(train a slice, read its status) one step that a click cannot split.

Protocol (JSON text frames), as docs/playground.md describes for programs:
  client -> server  configure {changes}, play, pause, step {sample}, reset,
                    explain {layer, i, j, sample[, bias]}, detail {sample}
  server -> client  hello {session}, config {config}, points {...}, snapshot {...},
                    explain {...}, detail {...}, playing {playing}, error {message}
HTTP: POST /api/upload?session=ID&name=FILE[&target=COL] (a CSV body of at most 2 MB),
GET /api/export/ID/model.ffbp and /api/export/ID/train.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import time
from pathlib import Path

import anyio
import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import FFBPError

STATIC = Path(__file__).resolve().parent / "static"
MAX_UPLOAD = 2 * 1024 * 1024            # bytes; a CSV for a 2-D playground needs far less
FRAME = 0.040                           # seconds between snapshots while playing (25 per s)
CHUNK_SECONDS = 0.005                   # train in slices this long so pause answers at once
MAX_SLICE = 10_000                      # steps in one slice, whatever the timing says


def one_line(exc: BaseException) -> str:
    """The page's message for an error: ffbp's own errors as they are, anything else named
    as unexpected (a bug, not bad input), always on one line."""
    text = " ".join((str(exc) or type(exc).__name__).split())
    if isinstance(exc, (FFBPError, ValueError)):
        return text
    return f"unexpected {type(exc).__name__}: {text}"


def dumps(message: dict) -> str:
    """JSON that browsers can read: NaN and ±inf (a diverging network's numbers) are not
    JSON, so they become null; the common, finite case pays one ``json.dumps``."""
    try:
        return json.dumps(message, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(message), allow_nan=False)


def _finite(value):
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


MAP_KEYS = ("output", "inputs", "neurons")


def pack_maps(snap: dict) -> dict:
    """The snapshot with its grid maps (output, inputs, neurons) as base64 strings of
    little-endian float32, for clients that ask with /ws?maps=f32 (the page does). Writing
    ~20 maps of 2,500 floats as JSON numbers takes Python ~20 ms a frame, this ~1 ms; and
    float32 is all a picture needs. Other clients get the plain lists."""
    def pack(values):
        if isinstance(values, list) and values and isinstance(values[0], list):
            return [pack(v) for v in values]
        with np.errstate(over="ignore"):      # beyond float32 is inf: a diverged picture
            packed = np.asarray(values, dtype="<f4").tobytes()
        return base64.b64encode(packed).decode("ascii")

    return {**snap, **{k: pack(snap[k]) for k in MAP_KEYS if k in snap}}


class Tab:
    """One browser tab: its session, the lock every call into the session holds, and the
    thread that trains while the tab plays."""

    def __init__(self, tab_id: str, session, ws: WebSocket, loop: asyncio.AbstractEventLoop):
        self.id, self.session, self.ws, self.loop = tab_id, session, ws, loop
        self.lock = threading.Lock()
        self.send_lock = asyncio.Lock()             # one frame at a time on the socket
        self.playing = threading.Event()
        self.thread: threading.Thread | None = None
        self.points_version = None
        self.packed = ws.query_params.get("maps") == "f32"
        self.speed = {}                         # the last play's steps and frames a second

    # -- calls into the session, off the event loop ----------------------------------------
    def locked(self, fn, *args):
        with self.lock:
            return fn(*args)

    async def call(self, fn, *args):
        return await run_in_threadpool(self.locked, fn, *args)

    # -- sending -----------------------------------------------------------------------
    async def send(self, kind: str, payload: dict | None = None, text: str | None = None):
        if text is None:
            text = dumps({"type": kind, **(payload or {})})
        async with self.send_lock:
            await self.ws.send_text(text)

    def snapshot_text(self) -> str:
        return self.snapshot_frame()[0]

    def snapshot_frame(self) -> tuple[str, str | None]:
        """(a snapshot as the frame's text, the divergence message or None), built in the
        calling thread: the JSON of a 50×50 grid per unit is the expensive part of a frame,
        so it stays off the event loop."""
        with self.lock:
            snap = self.session.snapshot()
        diverged = snap.get("diverged")
        if self.packed:
            snap = pack_maps(snap)
        return dumps({"type": "snapshot", **snap}), diverged

    async def send_snapshot(self):
        await self.send("snapshot", text=await run_in_threadpool(self.snapshot_text))

    async def send_points_if_new(self):
        points = await self.call(self.session.points)
        if points.get("version") != self.points_version:
            self.points_version = points.get("version")
            await self.send("points", points)

    # -- playing -----------------------------------------------------------------------
    def start(self):
        if self.thread is not None and self.thread.is_alive():
            return
        self.playing.set()
        self.thread = threading.Thread(target=self._play, name=f"ffbp-play-{self.id}",
                                       daemon=True)
        self.thread.start()

    def stop(self):
        """Stop playing and wait for the worker (called in a thread, never the loop)."""
        self.playing.clear()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self.thread = None

    def _play(self):
        sent, per_step = None, 1e-4         # the last frame's send; seconds a step takes
        next_frame = started = time.perf_counter()
        frames, first = 0, self.session.status["steps"]
        try:
            while self.playing.is_set():
                now = time.perf_counter()
                # A frame is due and the last one has left: a slow page gets fewer frames,
                # never a queue of stale ones.
                if now >= next_frame and (sent is None or sent.done()):
                    # on a fixed beat (25 a second), not FRAME after the last frame left:
                    # the time a frame takes to build must not slow the beat; after a
                    # stall, no burst to catch up (frames stay ≥ FRAME/2 apart)
                    next_frame = max(next_frame + FRAME, now + FRAME / 2)
                    text, diverged = self.snapshot_frame()
                    sent = asyncio.run_coroutine_threadsafe(self.send("snapshot", text=text),
                                                            self.loop)
                    frames += 1
                    if diverged:
                        self.playing.clear()
                        self._post("error", {"message": diverged})
                    continue
                # Train until the next frame is due, in slices short enough that a pause
                # or another call into the session waits at most CHUNK_SECONDS.
                budget = min(CHUNK_SECONDS, max(next_frame - now, CHUNK_SECONDS / 5))
                steps = max(1, min(MAX_SLICE, int(budget / per_step)))
                with self.lock:
                    t0 = time.perf_counter()
                    self.session.train(steps)
                    took = time.perf_counter() - t0
                    diverged = self.session.status["diverged"]
                per_step = max(0.7 * per_step + 0.3 * took / steps, 1e-7)
                if diverged:                  # a frame at once: it carries the message
                    next_frame = 0.0
        except Exception as exc:              # a bad setting, a bug: tell the page
            self.playing.clear()
            self._post("error", {"message": one_line(exc)})
        seconds = time.perf_counter() - started
        steps_done = self.session.status["steps"] - first      # steps a reset undid count
        self.speed = {"steps_per_second": max(steps_done, 0) / seconds,
                      "frames_per_second": frames / seconds, "seconds": seconds}
        self._post("playing", {"playing": False, "speed": self.speed})
        try:
            self._post("snapshot", text=self.snapshot_text())
        except Exception:                     # the session may be closing with the tab
            pass

    def _post(self, kind, payload=None, text=None):
        try:
            asyncio.run_coroutine_threadsafe(self.send(kind, payload, text), self.loop)
        except RuntimeError:                  # the loop has stopped (server shutting down)
            pass


# -- the WebSocket ---------------------------------------------------------------------
async def tab_socket(ws: WebSocket):
    app = ws.app
    await ws.accept()
    try:
        session = await run_in_threadpool(app.state.new_session)
    except Exception as exc:
        await ws.send_text(dumps({"type": "error", "message": one_line(exc)}))
        await ws.close()
        return
    tab = Tab(secrets.token_urlsafe(9), session, ws, asyncio.get_running_loop())
    app.state.tabs[tab.id] = tab
    try:
        await tab.send("hello", {"session": tab.id})
        await tab.send("config", {"config": await tab.call(lambda: session.config)})
        await tab.send_points_if_new()
        await tab.send_snapshot()
        while True:
            text = await ws.receive_text()
            try:
                await handle(tab, text)
            except Exception as exc:
                await tab.send("error", {"message": one_line(exc)})
    except (WebSocketDisconnect, RuntimeError):
        # The tab closed. Starlette says so with WebSocketDisconnect from a receive, or with
        # a RuntimeError (its WebSocketDisconnected) when a frame was being sent as the
        # socket went; errors of the messages themselves are answered inside the loop.
        pass
    finally:        # the tab is gone: stop, free, forget (even when the task is cancelled)
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(tab.stop)
            try:
                await run_in_threadpool(tab.locked, session.close)
            finally:
                app.state.tabs.pop(tab.id, None)


def _sample(message) -> int:
    sample = message.get("sample", 0)
    if not isinstance(sample, int) or isinstance(sample, bool) or sample < 0:
        raise ValueError(f"sample must be a row index from 0, got {sample!r}")
    return sample


def _unit(message, key) -> int:
    value = message.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"explain needs {key} as a number from 1, got {value!r}")
    return value


async def handle(tab: Tab, text: str):
    """One client message: do it, then send what changed."""
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError("a message must be JSON") from None
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object with a 'type'")
    kind, s = message.get("type"), tab.session
    if kind == "configure":
        changes = message.get("changes")
        if not isinstance(changes, dict):
            raise ValueError("configure needs 'changes', an object of settings")
        config = await tab.call(s.configure, changes)
        await tab.send("config", {"config": config})
        await tab.send_points_if_new()
        if not tab.playing.is_set():
            await tab.send_snapshot()
    elif kind == "play":
        tab.start()
        await tab.send("playing", {"playing": True})
    elif kind == "pause":
        running = tab.thread is not None and tab.thread.is_alive()
        await run_in_threadpool(tab.stop)      # a worker sends the last snapshot itself
        if not running:                        # nothing was playing: say so all the same
            await tab.send("playing", {"playing": False})
    elif kind == "step":
        await run_in_threadpool(tab.stop)
        detail = await tab.call(s.step_detail, _sample(message))
        await tab.send_snapshot()
        await tab.send("detail", detail)
    elif kind == "detail":
        detail = await tab.call(s.step_detail, _sample(message), False)
        await tab.send("detail", detail)
    elif kind == "reset":
        await tab.call(s.reset)
        if not tab.playing.is_set():
            await tab.send_snapshot()
    elif kind == "explain":
        bias = message.get("bias", False)               # the session checks it is a bool
        layer, j = _unit(message, "layer"), _unit(message, "j")
        i = None if bias else _unit(message, "i")       # a bias has no input unit
        if not bias:
            await tab.call(s.select, layer, i, j)
        await tab.send("explain", await tab.call(s.explain, layer, i, j, _sample(message), bias))
    else:
        raise ValueError(f"unknown message type {kind!r}; known: configure, play, pause, "
                         f"step, reset, explain, detail")


# -- HTTP --------------------------------------------------------------------------------
def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _tab(request) -> Tab | None:
    tab_id = request.query_params.get("session") or request.path_params.get("session")
    return request.app.state.tabs.get(tab_id or "")


async def upload(request):
    tab = _tab(request)
    if tab is None:
        return _error(404, "this page's session has ended: reload the page")
    too_big = (f"the file is larger than the playground's limit of "
               f"{MAX_UPLOAD // (1024 * 1024)} MB; use a sample of its rows")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD:
        return _error(413, too_big)
    body = bytearray()
    async for chunk in request.stream():       # counted as it arrives: no length is trusted
        body += chunk
        if len(body) > MAX_UPLOAD:
            return _error(413, too_big)
    name = request.query_params.get("name") or "upload.csv"
    target = request.query_params.get("target") or None
    try:
        info = await tab.call(tab.session.load_csv, bytes(body), name, target)
    except Exception as exc:
        return _error(400, one_line(exc))
    await tab.send("config", {"config": await tab.call(lambda: tab.session.config)})
    await tab.send_points_if_new()
    if not tab.playing.is_set():
        await tab.send_snapshot()
    return JSONResponse({"ok": True, **info})


async def export(request):
    tab = _tab(request)
    if tab is None:
        return _error(404, "this page's session has ended: reload the page")
    what = request.path_params["what"]
    try:
        if what == "model.ffbp":
            body = await tab.call(tab.session.export_model)
            kind = "application/octet-stream"
        elif what == "train.py":
            body = await tab.call(tab.session.export_script)
            kind = "text/x-python; charset=utf-8"
        else:
            return _error(404, f"no export called {what!r}: model.ffbp or train.py")
    except Exception as exc:
        return _error(400, one_line(exc))
    return Response(body, media_type=kind,
                    headers={"Content-Disposition": f'attachment; filename="{what}"'})


async def index(request):
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


def create_app(session_factory=None, preload: tuple[bytes, str, str | None] | None = None):
    """The Starlette app. ``session_factory()`` makes each tab's session (default
    ``Session``); ``preload`` = (CSV bytes, file name, target or None) is loaded into every
    new session (``ffbp playground --data FILE --target COL``)."""
    if session_factory is None:
        from .session import Session as session_factory

    def new_session():
        session = session_factory()
        if preload is not None:
            session.load_csv(*preload)
        return session

    app = Starlette(routes=[
        Route("/", index),
        WebSocketRoute("/ws", tab_socket),
        Route("/api/upload", upload, methods=["POST"]),
        Route("/api/export/{session}/{what}", export),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])
    app.state.tabs = {}                # tab id -> Tab, while its socket is open
    app.state.new_session = new_session
    return app
