"""``ffbp playground``: the command's shell around ``ffbp.playground.serve``. The web stack is
imported only when the command runs, so every other command starts without it."""

from __future__ import annotations

PLAYGROUND_EPILOG = """\
Starts a local web app on http://HOST:PORT/ and opens it in the browser: pick a data set or
upload a CSV, shape the network, press play and watch ffbp train it live (each tab has its own
session). Click an edge to see its gradient as the chain rule with numbers; step mode trains
one mini-batch and shows a sample's h', h and delta in every unit. Ctrl-C stops the server.

It listens on 127.0.0.1 (this machine only) unless --host says otherwise. Needs the
playground extra: pip install "ffbp[playground]".

examples:
  ffbp playground
  ffbp playground --port 9000 --no-browser
  ffbp playground --data houses.csv --target price
"""


def add_arguments(p, port_type) -> None:
    p.add_argument("--port", type=port_type, default=8765, metavar="N",
                   help="the port to listen on (default 8765)")
    p.add_argument("--host", default="127.0.0.1", metavar="HOST",
                   help="the address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--no-browser", action="store_true",
                   help="do not open a browser; just print the address")
    p.add_argument("--data", metavar="FILE", help="a CSV of numeric columns to load into "
                   "every session (the last column is the target unless --target names one)")
    p.add_argument("--target", metavar="COL", help="the target column of --data")


def run_playground(args) -> int:
    from ..playground import serve

    try:
        serve(host=args.host, port=args.port, open_browser=not args.no_browser,
              data=args.data, target=args.target)
    except KeyboardInterrupt:          # Ctrl-C is how a server is stopped, not an error
        pass
    return 0
