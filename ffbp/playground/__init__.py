"""``ffbp playground``: watch and poke back-propagation live in the browser.

The training is ffbp's own (``session.Session``: the same Network, losses, optimisers and
step as everywhere else); ``server`` is a thin Starlette shell that streams it to the page in
``static/`` (plain JS, SVG and canvas, nothing fetched from elsewhere).

    from ffbp.playground import serve, running
    serve(port=8765)                   # blocks; Ctrl-C stops it
    with running() as (app, url):      # in a background thread (a notebook, tests, benchmarks)
        ...                            # open url; the server stops at the block's end

Importing this package is cheap: the web stack (the ``playground`` extra) is imported only
when a server is made, so ``ffbp --version`` and ``import ffbp`` never pay for it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import webbrowser
from contextlib import contextmanager

from ..errors import ConfigError, FFBPError

MISSING = 'ffbp playground needs the playground extra: pip install "ffbp[playground]"'


def _web_stack():
    """starlette and uvicorn, or the one-line ConfigError that names the extra."""
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise ConfigError(MISSING) from None
    return uvicorn


def create_app(session_factory=None, data: str | os.PathLike | None = None,
               target: str | None = None):
    """The ASGI app (for uvicorn or a test client). ``data``/``target``: a CSV file loaded
    into every new tab's session, as ``ffbp playground --data FILE --target COL``."""
    _web_stack()
    from .server import create_app as make

    return make(session_factory, preload=read_preload(data, target, session_factory))


def read_preload(data, target, session_factory=None):
    """(bytes, name, target) of ``--data``, checked once by loading it into a session, so a
    bad file is a one-line error at start-up rather than in every tab."""
    if data is None:
        if target is not None:
            raise ConfigError("--target names a column of --data FILE; give --data too")
        return None
    path = os.fspath(data)
    try:
        with open(path, "rb") as fh:
            body = fh.read()
    except FileNotFoundError:
        raise FFBPError(f"no such file: {path}") from None
    except OSError as exc:
        raise FFBPError(f"cannot read {path}: {exc.strerror or exc}") from None
    if session_factory is None:
        from .session import Session as session_factory
    session = session_factory()
    try:
        session.load_csv(body, os.path.basename(path), target)
    finally:
        session.close()
    return body, os.path.basename(path), target


def _check_port(host: str, port: int) -> None:
    """A busy port is a one-line error here, not uvicorn's logged traceback later."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            # as uvicorn binds: a port a stopped server left in TIME_WAIT is free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise FFBPError(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                        f"(choose another port with --port)") from None


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True,
          data=None, target: str | None = None, session_factory=None) -> None:
    """Serve the playground at http://host:port/ until Ctrl-C. Binds to 127.0.0.1 unless
    told otherwise: a session runs whatever its page asks, so it is for this machine."""
    uvicorn = _web_stack()
    app = create_app(session_factory, data, target)
    _check_port(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    print(f"ffbp playground: {url}  (Ctrl-C to stop)", flush=True)
    if open_browser:                   # after a moment, once the server is listening
        threading.Timer(0.8, webbrowser.open, args=(url,)).start()
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()


@contextmanager
def running(app=None, host: str = "127.0.0.1", port: int = 0, **uvicorn_options):
    """Serve ``app`` (default: ``create_app()``) in a background thread for the ``with``
    block, yielding (app, url); ``port=0`` takes a free one. For a notebook beside its
    kernel, and for the tests and benchmarks that drive the real server."""
    uvicorn = _web_stack()
    app = create_app() if app is None else app
    if port == 0:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    _check_port(host, port)
    uvicorn_options.setdefault("log_level", "warning")
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **uvicorn_options))
    thread = threading.Thread(target=server.run, name="ffbp-playground", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise FFBPError(f"the playground server did not start on {host}:{port}")
            time.sleep(0.05)
        yield app, f"http://{host}:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


__all__ = ["serve", "create_app", "running"]
