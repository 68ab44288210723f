"""One playground tab's state and training, in plain Python (the server is a thin shell).

A ``Session`` holds a configuration (``config.DEFAULTS``), the data it describes, an ffbp
``Network`` and an ffbp optimiser, and trains with the library's own step, exactly as
``fit`` does for each batch (``training._Trainer``):

    batch  = Batch(X[idx], T[idx], c)          c = 1/|batch| for each sample
    E      = backprop.step(net, batch, loss)   forward, output δ, backward: fills ∂E/∂θ
    u      = optimizer.update(∂E/∂θ)           u = −α ∂E/∂θ for plain SGD (+ λW for L2,
                                               + λ sign W for L1: weights only)
    θ      ← θ + u                             optim.apply_updates

Classification: a sigmoid output with binary cross-entropy on targets 0/1 (the fused
∂E/∂z = y − t at the output); regression: a linear output with the mean squared error.
Every method returns JSON-able values (lists, floats, ints, str). Each public method holds
the session's lock, so a page may train in one thread and ask for pictures in another.
"""

from __future__ import annotations

import copy
import math
import threading

import numpy as np

from .. import backprop, ops, optim
from . import config as cfg
from . import data as playdata
from . import detail, export
from .build import loss_name, make_network, make_optimizer
from .errors import PlaygroundError
from .grid import snapshot
from .health import Health, Thinned
from .upload import read_csv

__all__ = ["Session", "PlaygroundError", "DEFAULTS"]

DEFAULTS = cfg.DEFAULTS
#: Rows of the training set GradientHealth probes for true gradient norms each epoch.
PROBE_ROWS = 500


class Session:
    """See the module doc; ``config.DEFAULTS`` lists the settings."""

    def __init__(self, config: dict | None = None):
        self._lock = threading.RLock()
        self._config = cfg.merge(cfg.DEFAULTS, {}, None)
        self._table = None
        self.upload_name = None              # the uploaded file's name (export's script)
        self._version = 0
        self._selected = None
        self.grid_cache = None
        self._new_data()
        if config:
            self.configure(config)

    # -- read-only views for the modules beside this one -------------------------------
    @property
    def config(self) -> dict:
        with self._lock:
            return cfg.merge(self._config, {}, self._columns())

    @property
    def network(self):
        return self.net

    @property
    def data(self) -> playdata.PlayData:
        return self._data

    @property
    def points_version(self) -> int:
        """Grows whenever the points or the plane change (``points()["version"]``)."""
        return self._version

    @property
    def table(self):
        """The uploaded table (``upload.Table``) or None."""
        return self._table

    def _columns(self):
        return None if self._table is None else list(self._table.columns)

    # -- configuration -----------------------------------------------------------------
    def configure(self, changes: dict) -> dict:
        """Check and apply ``changes``; see ``config`` for what each key resets."""
        with self._lock:
            new = cfg.merge(self._config, changes, self._columns())
            if new["dataset"] == "upload" and new["problem"] == "classification" and \
                    playdata.problem_of(self._table) != "classification":
                raise PlaygroundError(f"problem 'classification' needs a two-valued target; "
                                      f"{self._table.target!r} has "
                                      f"{len(np.unique(self._table.t))} values")
            keys = cfg.changed(self._config, new)
            self._config = new
            upload = new["dataset"] == "upload"
            net_keys = keys & cfg.NET_KEYS - ({"features"} if upload else set())
            if keys & cfg.DATA_KEYS or (not upload and "features" in keys):
                self._new_data()             # new points, or new inputs computed from them
            elif net_keys:
                self._new_network()
            elif keys & cfg.TRAINING_KEYS:
                self._new_optimizer()
            if upload and keys & cfg.PLANE_KEYS and not keys & cfg.DATA_KEYS:
                # other columns on the plane: the same rows and inputs, the weights kept
                self._data = playdata.uploaded(self._table, new)
                self._version += 1
                self.grid_cache = None
            return self.config

    def load_csv(self, data: bytes, filename: str = "data.csv",
                 target: str | None = None) -> dict:
        """Train on an uploaded CSV (see ``upload`` for what it must hold and ``data`` for
        the standardising). The problem follows the target: two values → classification."""
        with self._lock:
            table = read_csv(data, target, filename or "the file")
            self._table, self.upload_name = table, filename or "data.csv"
            problem = playdata.problem_of(table)
            self._config.update(dataset="upload", problem=problem, x_feature=0, y_feature=1)
            self._new_data()
            return {"columns": list(table.columns), "target": table.target,
                    "rows": int(len(table.t)), "problem": problem,
                    "classes": table.classes}

    def reset(self) -> None:
        """New initial weights (the same seed gives the same weights), epoch 0."""
        with self._lock:
            self._new_network()

    # -- building ----------------------------------------------------------------------
    def _new_data(self):
        c = self._config
        if c["dataset"] == "upload":
            self._data = playdata.uploaded(self._table, c)
        else:
            self._data = playdata.generated(c)
        self._version += 1
        self._new_network()

    def _new_network(self):
        d, c = self._data, self._config
        self.net = make_network(c, d.X_train.shape[1])
        self.loss = backprop.check_loss(self.net, loss_name(c["problem"]))
        self.net.loss = self.loss              # what GradientHealth's probe and save read
        self._train = backprop.prepare(self.net, d.X_train, d.t_train[:, None], self.loss)
        self._test = backprop.prepare(self.net, d.X_test, d.t_test[:, None], self.loss)
        self._shuffle = np.random.default_rng([c["seed"], 2])
        self._order = self._shuffle.permutation(len(d.t_train))
        self._cursor = self._steps = self._seen = self._epoch = 0
        self._diverged = None
        self._losses = None
        self.curve = Thinned(2)
        self._record_losses()
        probe = (d.X_train[:PROBE_ROWS], d.t_train[:PROBE_ROWS, None])
        self.health = Health(self.net, probe)
        self._new_optimizer()
        self.grid_cache = None
        if self._selected is not None:          # a weight of the old shape may be gone
            try:
                detail.weight_index(self.net, *self._selected)
            except PlaygroundError:
                self._selected = None

    def _new_optimizer(self):
        self.optimizer = make_optimizer(self._config)
        self.net.optimizer = self.optimizer
        self.net.optimizer_state = self.optimizer.init(self.net.flat_values, self.net)

    # -- training ----------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        return min(self._config["batch_size"], len(self._data.t_train))

    def train(self, steps: int) -> None:
        """``steps`` mini-batch steps (stops early, keeping the last finite weights, if the
        loss or an update becomes NaN or inf)."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise PlaygroundError(f"steps must be an integer >= 0, got {steps!r}")
        with self._lock, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(int(steps)):
                if self._diverged or not self.step_once():
                    break

    def _next_batch(self) -> np.ndarray:
        n = len(self._order)
        idx = self._order[self._cursor:self._cursor + self.batch_size]
        self._cursor += len(idx)
        if self._cursor >= n:
            self._cursor = 0
        return idx

    def _batch(self, idx) -> backprop.Batch:
        """The training rows ``idx`` as a mean-loss batch (c = 1/|batch| for each)."""
        return backprop.Batch(self._train.X[idx], self._train.T[idx],
                              np.full(len(idx), 1.0 / len(idx)))

    def step_once(self, before_update=None) -> bool:
        """One mini-batch through ffbp's step and optimiser (see the module doc); False if
        it diverged. ``before_update(idx)`` sees the gradients before the optimiser."""
        net, batch_in_epoch = self.net, self._cursor // max(self.batch_size, 1)
        idx = self._next_batch()
        value = backprop.step(net, self._batch(idx), self.loss).loss
        self.health.on_gradients(self._steps, batch_in_epoch, net)
        if before_update is not None:
            before_update(idx)
        self.optimizer.update(net.flat_grads, net.optimizer_state, net.flat_values)
        if not (math.isfinite(value) and ops.sane(net.flat_grads)):
            self._diverged = (f"training diverged at step {self._steps + 1}: the loss or an "
                              f"update became NaN or inf; the last finite weights are kept. "
                              f"Lower the learning rate or reset.")
            return False
        optim.apply_updates(net.flat_values, net.flat_grads)
        self._steps += 1
        self._seen += len(idx)
        self._losses = None
        self.health.on_batch_end(batch_in_epoch, value, len(idx))
        if self._cursor == 0:                         # an epoch is complete
            self._order = self._shuffle.permutation(len(self._order))
            self._record_losses()
            self.health.on_epoch_end(self._epoch, self.losses()[0])
            self._epoch += 1
        return True

    def preview_step(self):
        """(indices, ∂E/∂θ, u) of the next mini-batch: its gradient and the update the
        optimiser would add, computed on copies; the weights, the optimiser's state and
        the batch order stay as they are."""
        with self._lock, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            idx = self._order[self._cursor:self._cursor + self.batch_size]
            backprop.step(self.net, self._batch(idx), self.loss)
            grads = self.net.flat_grads.copy()
            update = grads.copy()
            self.optimizer.update(update, copy.deepcopy(self.net.optimizer_state),
                                  self.net.flat_values)
            return idx, grads, update

    def losses(self) -> tuple[float, float]:
        """(E on the training set, E on the test set) now, without any penalty term."""
        with self._lock, np.errstate(over="ignore", invalid="ignore"):
            if self._losses is None:
                self._losses = (backprop.loss_value(self.net, self._train, self.loss),
                                backprop.loss_value(self.net, self._test, self.loss))
            return self._losses

    def _record_losses(self):
        self.curve.offer(self._steps, self.losses)

    # -- what the page draws -----------------------------------------------------------
    def snapshot(self, grid: int = 50, quantize: bool = False) -> dict:
        """Everything the page draws now, over a grid × grid raster of the plane (see
        ``grid``); ``quantize``: pictures as integers in thousandths, faster to send."""
        with self._lock, np.errstate(over="ignore", invalid="ignore"):
            return snapshot(self, grid, quantize)

    def points(self) -> dict:
        """The train and test points on the plane, [x, y, target] each."""
        with self._lock:
            d = self._data

            def rows(P, t):
                return np.column_stack([P, t]).round(6).tolist()

            return {"train": rows(d.P_train, d.t_train), "test": rows(d.P_test, d.t_test),
                    "xlim": list(d.xlim), "ylim": list(d.ylim), "x_name": d.x_name,
                    "y_name": d.y_name, "version": self._version,
                    "problem": self._config["problem"]}

    @property
    def status(self) -> dict:
        """Counters: steps, epochs (fractional), and the divergence message or None."""
        with self._lock:
            return {"steps": self._steps, "epoch": self._seen / len(self._data.t_train),
                    "diverged": self._diverged}

    # -- looking inside one step -------------------------------------------------------
    def select(self, layer: int, i: int, j: int) -> None:
        """Choose the weight W^layer_ij (1-based, as the page's weight-L-I-J) whose update
        ``step_detail`` reports."""
        with self._lock:
            detail.weight_index(self.net, layer, i, j)
            self._selected = (int(layer), int(i), int(j))

    def explain(self, layer: int, i: int | None, j: int, sample: int = 0,
                bias: bool = False) -> dict:
        """``ffbp.explain`` of W^layer_ij (1-based) on train sample ``sample`` (0-based);
        ``bias=True``: of the bias b^layer_j (``i`` unused), which leaves the weight that
        ``step_detail`` follows as it was."""
        with self._lock:
            out = detail.explain(self, layer, i, j, sample, bias)
            if not bias:
                self._selected = (int(layer), int(i), int(j))
            return out

    def step_detail(self, sample: int = 0, step: bool = True) -> dict:
        """One mini-batch step (``step=False``: the next one previewed, not applied),
        showing h', h and δ of train sample ``sample`` (0-based) and the update of the
        selected weight (None until ``select`` or ``explain`` chose one)."""
        if not isinstance(step, bool):
            raise PlaygroundError(f"step must be true or false, got {step!r}")
        with self._lock, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return detail.step_detail(self, sample, self._selected, step)

    # -- export ------------------------------------------------------------------------
    def export_model(self) -> bytes:
        """The network as an ``.ffbp`` file's bytes (``ffbp.load`` reads it)."""
        with self._lock:
            return export.model_bytes(self)

    def export_script(self) -> str:
        """A short Python script that rebuilds the data and network and trains it."""
        with self._lock:
            return export.script(self)

    def close(self) -> None:
        """Let go of the uploaded table and the cached grid (the server calls this when the
        tab closes, and drops the session; nothing else needs releasing: no threads, no
        files)."""
        with self._lock:
            self._table = None
            self.grid_cache = None
