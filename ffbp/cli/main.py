"""``ffbp``: argument parsing, dispatch, and errors as one line on stderr.

Exit codes: 0 success; 1 a data, model-file or training error (or a failed gradient
check); 2 a usage error (bad flag, unknown name, bad config file). Without ``--debug`` no
traceback is ever shown.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings

from .._version import __version__
from ..errors import ConfigError

EPILOG = """\
examples:
  ffbp train train.csv --target label --hidden 64,32 --epochs 50 -o model.ffbp
  ffbp train data.parquet --target price --config train.toml -o price.ffbp
  ffbp predict model.ffbp new.csv -o predictions.csv
  ffbp evaluate model.ffbp test.csv
  ffbp summary model.ffbp
  ffbp gradcheck model.ffbp test.csv --samples 8
  ffbp explain model.ffbp test.csv --row 1 --layer 1 --i 3 --j 2 --lr 0.1
  ffbp explain net.ffbp xor.csv --target 3 --row 2     (a network saved with ffbp.save)
  ffbp trace model.ffbp test.csv --rows 1-5 --json
  ffbp export model.ffbp -o model.onnx
  ffbp playground --port 8765

Run 'ffbp COMMAND --help' for a command's options.
"""

TRAIN_EPILOG = """\
Numeric columns are standardised with the training rows' mean and std (missing values become
the mean); other columns, and those named by --categorical, are one-hot encoded over the
training categories (missing values get a category of their own; unseen ones become all
zeros). The preprocessing, the classes and the feature order are stored in the model file.

With a validation split, early stopping is on (--no-early-stopping turns it off). Progress
goes to stderr: a bar on a terminal, else a line per epoch (--log-format).

config file (TOML): keys mirror the flags, at the top level or in a [train] table; flags
given on the command line win. For example:
  [train]
  target = "label"
  hidden = [64, 32]
  activation = "tanh"
  lr = 0.01
  epochs = 30
  early-stopping = false

examples:
  ffbp train iris.csv --target species -o iris.ffbp
  ffbp train houses.parquet --target price --hidden 128,64 --loss huber \\
      --patience 5 --epochs 500 -o houses.ffbp
  ffbp train train.csv --config train.toml --epochs 10 -o quick.ffbp
  ffbp train train.csv --target label --log-format json --log-file epochs.csv -o m.ffbp
"""

PREDICT_EPILOG = """\
Columns are matched by name (any order; extra columns are ignored). The output has a
'prediction' column with labels in their original values (or regression values), and for
classification a 'proba_<class>' column per class. Without -o the CSV goes to stdout.

examples:
  ffbp predict model.ffbp new.csv -o predictions.csv
  ffbp predict model.ffbp new.parquet --keep id -o predictions.parquet
  ffbp predict model.ffbp new.csv | head
"""

EVALUATE_EPILOG = """\
Classification: accuracy and the confusion matrix; regression: MSE, MAE and R². The target
column the model was trained on must be in DATA.

examples:
  ffbp evaluate model.ffbp test.csv
  ffbp evaluate model.ffbp test.parquet --json
"""

GRADCHECK_EPILOG = """\
Compares back-propagated gradients with central differences (float64) on the first
--samples rows of DATA (which must hold the target column) and exits with 1 when the worst
relative error reaches --tol (default 1e-6: a correct back-propagation gives ~1e-8 or less,
while a wrong derivative gives 1e-2 or more).

examples:
  ffbp gradcheck model.ffbp test.csv
  ffbp gradcheck model.ffbp test.csv --samples 4 --tol 1e-5
"""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr: 'ffbp: error: ...' (exit 2)."""

    def error(self, message):
        self.exit(2, f"ffbp: error: {message} (see '{self.prog} --help')\n")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _port(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}")
    return value


def _names(text):
    return [s.strip() for s in text.split(",") if s.strip()]


INSPECT_DATA = """\
MODEL is any model file. A model of 'ffbp train' reads DATA's columns by name (the target
column among them), applies its stored preprocessing and shows the raw row beside the
standardised inputs. A network saved from Python (ffbp.save) takes DATA as numbers: a
CSV/TSV/Parquet table or a .npy array whose columns are exactly the network's inputs, in
order (a CSV's first line is a header when it holds anything but numbers), plus the target
given one of two ways:
  --target COL    column(s) of DATA: a header name or a column number from 1; comma
                  separated for several outputs ('y1,y2'); these columns are not inputs
  --t VALUES      the target itself: one class index (--t 2) or one value per output
                  (--t 0.5,-1); for trace, the same target for every row
A target value of one column is a class index for a network with several outputs, else the
output's value. Rows count from 1: the first row after a header (or the file's first line).
"""

EXPLAIN_EPILOG = INSPECT_DATA + """
examples:
  ffbp explain model.ffbp test.csv --row 4 --layer 1 --i 5 --j 2 --lr 0.1
  ffbp explain model.ffbp test.csv --layer -1 --j 0 --bias --format markdown
  ffbp explain net.ffbp xor.csv --target y --row 2 --layer 2 --i 1 --j 0
  ffbp explain net.ffbp X.npy --t 1 --row 3
"""

TRACE_EPILOG = INSPECT_DATA + """
Prints net.trace's table for the rows: each layer's output shape, mean and std, the norms of
∂E/∂output, ∂E/∂input and the gradients, and the batch loss E. Without a target (a table
without the target column, a network without --target or --t) it is the forward pass only.
--json prints the whole trace (every layer's input, output, deltas, gradients) as JSON, as
ffbp.trace(...).to_dict() gives it.

examples:
  ffbp trace model.ffbp test.csv --rows 1-5
  ffbp trace net.ffbp xor.csv --target y --json > trace.json
  ffbp trace net.ffbp X.npy --rows 1,3,10-12 --t 0
"""


def _layer_arg(args):
    """--layer: an integer K (K-th Dense layer) or 'layerN' (index in the summary)."""
    text = args.layer
    try:
        args.layer = int(text)
    except ValueError:
        if not text.startswith("layer"):
            raise ConfigError(f"--layer must be an integer or layerN, got {text!r}") from None


def build_parser() -> Parser:
    from . import commands, inspection, options, playground, train

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")
    parser = Parser(prog="ffbp", description="Train, use and inspect feed-forward networks "
                    "on CSV or Parquet tables.", epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ffbp {__version__}")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name, run, help, epilog, description=None):
        p = sub.add_parser(name, help=help, description=description or help, epilog=epilog,
                           parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(run=run, parser=p)
        return p

    p = command("train", train.run_train, "train a network on a CSV or Parquet table",
                TRAIN_EPILOG)
    p.add_argument("data", metavar="DATA", help="training table (.csv, .tsv, .parquet; "
                   "'-' for CSV on stdin)")
    p.add_argument("--config", metavar="FILE.toml", help="read options from a TOML file")
    options.add_train_arguments(p)

    p = command("predict", commands.run_predict, "predict the target for the rows of a table",
                PREDICT_EPILOG)
    p.add_argument("model", metavar="MODEL", help="a model written by 'ffbp train'")
    p.add_argument("data", metavar="DATA", help="table with the feature columns")
    p.add_argument("-o", "--output", metavar="FILE", help="write predictions here (.csv or "
                   ".parquet) instead of CSV on stdout")
    p.add_argument("--keep", type=_names, default=[], metavar="COLS",
                   help="columns of DATA to copy into the output (e.g. an id)")

    p = command("evaluate", commands.run_evaluate, "score a model on a table with the target",
                EVALUATE_EPILOG)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")

    p = command("summary", commands.run_summary, "show a model's layers, preprocessing and "
                "training settings", "example:\n  ffbp summary model.ffbp\n")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--json", action="store_true", help="print the file's header as JSON")

    p = command("gradcheck", commands.run_gradcheck, "check back-propagation against finite "
                "differences on a few rows", GRADCHECK_EPILOG)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--samples", type=_positive_int, default=8, metavar="N",
                   help="rows to check (the first N; default 8)")
    p.add_argument("--tol", type=_positive_float, default=commands.GRADCHECK_TOL,
                   metavar="TOL", help="fail when the worst relative error reaches this "
                   "(default 1e-6)")
    p.add_argument("--max-per-parameter", type=_positive_int, default=500, metavar="N",
                   help="check at most N random entries of each parameter (default 500)")

    def inspect_arguments(p):
        p.add_argument("model", metavar="MODEL", help="a model file: of 'ffbp train', or "
                       "any network saved with ffbp.save")
        p.add_argument("data", metavar="DATA", help="a table with the model's columns (ffbp "
                       "train), or numbers: CSV/TSV/Parquet or .npy (a saved network)")
        p.add_argument("--target", metavar="COL", help="saved network: the target column(s) "
                       "of DATA, by name or number from 1 (comma separated)")
        p.add_argument("--t", metavar="VALUES", help="saved network: the target, a class "
                       "index or one value per output (comma separated)")
        p.add_argument("--loss", metavar="NAME", help="the loss (default: the model's)")

    p = command("explain", inspection.run_explain, "show how back-propagation builds the "
                "gradient of one weight for one row, factor by factor", EXPLAIN_EPILOG)
    inspect_arguments(p)
    p.add_argument("--row", type=int, default=1, metavar="N", help="row of DATA from 1, the "
                   "first row after the header, as in ffbp's messages (default 1)")
    p.add_argument("--layer", default="1", metavar="K", help="the K-th Dense layer from 1 "
                   "(default 1; -1 = the last), or layerN for index N of the summary")
    p.add_argument("--i", type=int, default=0, metavar="I", help="input unit of W[i, j]")
    p.add_argument("--j", type=int, default=0, metavar="J", help="output unit of W[i, j]")
    p.add_argument("--bias", action="store_true", help="explain the bias b[j] instead")
    p.add_argument("--lr", type=_positive_float, default=None, metavar="RATE",
                   help="also show the update −RATE·∂E/∂W")
    p.add_argument("--format", choices=("text", "markdown", "latex", "json"), default="text")
    p.add_argument("--notation", choices=("ffbp", "tutorial"), default="ffbp",
                   help="tutorial: the tutorials' own forms and indices from 1 (W¹₁₂, the "
                   "(d − y) form, ∂L/∂Y and the softmax Jacobian, the whole sum over paths)")
    p.add_argument("--weight-decay", type=float, default=0.0, metavar="LAMBDA",
                   help="show the weight-decay term λW of ∂J/∂W = ∂E/∂W + λW (default 0)")

    p = command("trace", inspection.run_trace, "show every layer's forward and backward "
                "quantities for some rows (ffbp.trace)", TRACE_EPILOG)
    inspect_arguments(p)
    p.add_argument("--rows", metavar="ROWS", help="rows of DATA from 1: 3, 1-5 or 1-5,9 "
                   "(default: every row)")
    p.add_argument("--json", action="store_true", help="print the whole trace as JSON")

    p = command("export", commands.run_export, "export the network to ONNX",
                "example:\n  ffbp export model.ffbp -o model.onnx\n")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("-o", "--output", required=True, metavar="FILE.onnx")

    p = command("playground", playground.run_playground, "watch and poke back-propagation "
                "live in the browser (a local web app)", playground.PLAYGROUND_EPILOG)
    playground.add_arguments(p, _port)
    return parser


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, ConfigError):
        return 2
    return 1


def _message(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        text = f"no such file: {exc.filename}"
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())               # always exactly one line


@contextlib.contextmanager
def _one_line_warnings():
    """Show Python warnings (e.g. the gradient-health diagnostics) as 'ffbp: warning: ...'."""
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"ffbp: warning: {' '.join(str(message).split())}", file=sys.stderr)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def main(argv=None) -> int:
    """Run the ``ffbp`` command with ``argv`` (default: sys.argv[1:]); return the exit code."""
    from ..distributed import abort, running

    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:                              # name the subcommand's help, not ffbp's
            getattr(args, "parser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:                  # --help, --version, or a usage error
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    if args.command is None:
        print("ffbp: error: a command is required: train, predict, evaluate, summary, "
              "gradcheck, explain, trace, export or playground (see 'ffbp --help')",
              file=sys.stderr)
        return 2
    try:
        if args.command == "explain":
            _layer_arg(args)
        with _one_line_warnings():
            return args.run(args)
    except KeyboardInterrupt as exc:
        if args.debug:
            raise
        where = getattr(exc, "checkpoint", None)
        if where is not None:                  # TrainingInterrupted, with a checkpoint
            print(f"ffbp: interrupted; checkpoint written to {where}: resume with the same "
                  f"command plus --resume {where}", file=sys.stderr)
        else:
            print("ffbp: error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:                    # e.g. 'ffbp predict ... | head'
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 1
    except Exception as exc:
        if args.debug:
            raise
        from ..errors import FFBPError

        message = _message(exc)
        if not isinstance(exc, (FFBPError, OSError)):     # a bug rather than bad input
            message = (f"unexpected {type(exc).__name__}: {message} (run with --debug for "
                       f"the traceback, and please report it)")
        comm = running()
        if comm is None:
            print(f"ffbp: error: {message}", file=sys.stderr)
            return _exit_code(exc)
        if not getattr(exc, "ffbp_rank_reported", False):
            print(f"ffbp: error: rank {comm.rank} of {comm.size}: {message}", file=sys.stderr)
        abort(comm, _exit_code(exc))                # or the other ranks would wait forever
        return _exit_code(exc)
