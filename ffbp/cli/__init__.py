"""The ``ffbp`` command: train, predict, evaluate, summary, gradcheck and export on CSV or
Parquet tables (``pip install "ffbp[cli]"`` for pandas and pyarrow).

    main.py      argument parsing, dispatch, errors as one line on stderr
    options.py   ``ffbp train``'s options, shared by the flags and the TOML config file
    data.py      reading/writing tables, preprocessing, task inference
    commands.py  the subcommands
    playground.py  ``ffbp playground``: a shell over ``ffbp.playground.serve`` (the web
                 stack is imported only when it runs)
"""

from .main import build_parser, main

__all__ = ["main", "build_parser"]
