"""What ``ffbp train`` says while it trains: one line per epoch, and the --log-file CSV.

Both are ``ffbp.callbacks.Callback`` objects passed to ``fit(callbacks=...)``; the tqdm bar
of ``--log-format bar`` is ``fit``'s own (``verbose=True``).

* ``EpochLines``: ``epoch 3/50  loss 0.4123  val_loss 0.441  val_accuracy 0.912  0.3 s`` on
  stderr (``plain``, Keras's verbose=2), or one JSON object per line (``json``), which is
  what a log collector or a pipe wants instead of a bar's carriage returns.
* ``CsvLog``: a CSV file with a row per epoch: ``epoch``, every figure of the epoch's logs,
  ``seconds``. Rows are written and flushed as each epoch ends (like Keras's CSVLogger), so
  the file can be followed during a long run and still holds every finished epoch after a
  divergence, Ctrl-C or a killed job, which is when a training log is most needed. A
  resumed run writes the epochs restored from the checkpoint first (their seconds unknown,
  left empty), so the file always covers the whole run. A write that fails is a warning,
  not the end of the training.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
import warnings

from ..callbacks import Callback


def _figure(value):
    """A log figure for JSON: a float, or None for NaN/inf (JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


class EpochLines(Callback):
    """A line per finished epoch on ``stream`` (default stderr): ``fmt`` "plain" or "json"."""

    def __init__(self, epochs: int, fmt: str = "plain", stream=None):
        self.epochs, self.fmt, self.stream = epochs, fmt, stream
        self.started = None

    def on_epoch_begin(self, epoch):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        seconds = time.perf_counter() - self.started if self.started is not None else math.nan
        if self.fmt == "json":
            record = {"epoch": epoch + 1, "epochs": self.epochs,
                      **{k: _figure(v) for k, v in logs.items()},
                      "seconds": round(seconds, 4)}
            line = json.dumps(record)
        else:
            figures = "  ".join(f"{k} {v:.4g}" for k, v in logs.items())
            line = f"epoch {epoch + 1}/{self.epochs}  {figures}  {seconds:.3f} s"
        stream = self.stream or sys.stderr
        print(line, file=stream, flush=True)
        return False


class CsvLog(Callback):
    """Write ``path``: a CSV row per epoch (epoch, the logs' figures, seconds), flushed as
    each epoch ends."""

    def __init__(self, path):
        self.path = path
        self.file = self.writer = self.columns = None
        self.started = None
        self.failed = False

    def _fail(self, exc) -> None:
        self.failed = True
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        warnings.warn(f"cannot write the --log-file {self.path}: {reason}; training goes on "
                      f"without it", RuntimeWarning, stacklevel=2)
        self.close()

    def _row(self, epoch, logs, seconds) -> None:
        if self.writer is None:
            self.columns = ["epoch", *logs, "seconds"]
            self.writer = csv.writer(self.file)
            self.writer.writerow(self.columns)
        self.writer.writerow([epoch + 1, *(repr(float(logs[k])) if k in logs else ""
                                           for k in self.columns[1:-1]), seconds])

    def on_train_begin(self, net, history):
        try:
            self.file = open(self.path, "w", newline="", encoding="utf-8")
            for epoch in range(history.epochs):          # restored from a checkpoint
                self._row(epoch, {k: v[epoch] for k, v in history.metrics.items()}, "")
            self.file.flush()
        except OSError as exc:
            self._fail(exc)

    def on_epoch_begin(self, epoch):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        if self.failed or self.file is None:
            return False
        seconds = time.perf_counter() - self.started if self.started is not None else math.nan
        try:
            self._row(epoch, logs, f"{seconds:.4f}")
            self.file.flush()
        except OSError as exc:
            self._fail(exc)
        return False

    def close(self):
        if self.file is not None:
            try:
                self.file.close()
            except OSError:
                pass
            self.file = None
