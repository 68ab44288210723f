"""The training loop: batches, epochs, validation, stopping criteria, callbacks, progress.

Tutorial 001's general procedure: initialise the weights; then repeat — compute the loss,
the gradients of every layer, update the weights — until a stopping criterion holds.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import warnings
from dataclasses import dataclass, fields

import numpy as np

from . import _fitdata as data
from . import backprop, ops
from . import checkpoint as ckpt
from . import distributed as mpi
from ._validation import check_keywords, check_positive, check_seed, lookup
from .callbacks import CallbackList, EarlyStopping, LossTolerance, ProgressBar
from .data import is_source
from .errors import ConfigError, DivergenceError, TrainingInterrupted, divergence_message
from .history import History
from .optim import GradientTransformation, apply_updates, gd


def fit(net, X, y=None, loss="mse", optimizer=None, *, epochs: int = 100, batch_size=32,
        validation_split: float = 0.0, validation_data=None, callbacks=(), verbose=None,
        **options) -> History:
    """Train ``net`` on (X, y) by back-propagation and return a :class:`History`.

    Each step: forward a batch, compute E and ∂E/∂θ for every parameter θ by
    back-propagation, then let the optimiser update θ (plain gradient descent:
    θ ← θ − α ∂E/∂θ, tutorial 004).

    Args:
        X: (n_samples, n_features) inputs, or a data source (``ffbp.data``: a ``.npy`` or
            Parquet file read block by block, for data larger than memory) with y=None.
        y: targets (see the loss: values, class indices or one-hot rows).
        loss: a loss name or instance (``ffbp.losses``); it must fit the output layer.
        optimizer: a ``GradientTransformation`` (``ffbp.optim``); default ``gd(0.1)``.
            Passing the same optimiser object again continues with its state (momenta,
            step count); a different one starts fresh.
        epochs: the last epoch to train (also when resuming: total, not additional).
        batch_size: samples per gradient step. ``None`` = batch gradient descent (the whole
            set), 1 = stochastic gradient descent, anything between = mini-batches.
        validation_split: fraction of (X, y) held out at random (by ``seed``) to compute
            ``val_loss`` (and ``val_accuracy``) after each epoch.
        validation_data: ``(X_val, y_val)`` or a source, instead of a split.
        callbacks: objects following the protocol in ``ffbp.callbacks``.
        verbose: progress bar: True, False, or None = only on a terminal.
        **options: the rest of :class:`FitOptions`, by name: ``seed``, ``sample_weight``,
            ``shuffle``, ``metrics``, stopping (``early_stopping``, ``patience``,
            ``restore_best_weights``, ``tol``, ``n_iter_no_change``), checkpointing
            (``checkpoint``, ``checkpoint_every``, ``resume``), ``on_nan`` and
            ``distributed``. An unknown name is an error that says the closest one.

    Ctrl-C finishes the current batch, writes the checkpoint (when ``checkpoint`` is given)
    and raises ``TrainingInterrupted`` (a ``KeyboardInterrupt``); a second Ctrl-C stops at
    once.
    """
    distributed = options.pop("distributed", False)
    options = FitOptions.from_keywords(
        "fit", epochs=epochs, batch_size=batch_size, validation_split=validation_split,
        validation_data=validation_data, callbacks=callbacks, verbose=verbose, **options)
    return train(net, X, y, loss, optimizer, options, distributed=distributed)


@dataclass(frozen=True)
class FitOptions:
    """How ``fit`` trains, besides the network, the data, the loss and the optimiser; checked
    once when made. ``train`` takes one, so that programs (the command line, the estimators)
    pass an object instead of two dozen keywords; ``fit`` builds one from its keywords.

    The fields ``fit`` names in its signature (``epochs``, ``batch_size``,
    ``validation_split``, ``validation_data``, ``callbacks``, ``verbose``) are described
    there. The others:

    * ``shuffle``: reshuffle the samples before each epoch (a source: its blocks, and the
      rows within each block).
    * ``metrics``: record ``accuracy`` / ``val_accuracy`` for classification losses.
    * ``early_stopping``, ``patience``, ``restore_best_weights``: stop when ``val_loss`` (or
      ``loss`` without validation) has not improved for ``patience`` epochs, and put back
      the best epoch's weights (the ``EarlyStopping`` callback).
    * ``tol``, ``n_iter_no_change``: stop when the epoch loss has improved on the best loss so
      far by less than ``tol`` for ``n_iter_no_change`` consecutive epochs (None: never; the
      ``LossTolerance`` callback).
    * ``seed``: seed of the validation split and the shuffling (deterministic training).
    * ``sample_weight``: (n_samples,) non-negative weights; the loss is Σ wE / Σ w per batch.
    * ``checkpoint``: path of a resumable checkpoint written every ``checkpoint_every``
      epochs, at the end, and on Ctrl-C (atomically; see ``ffbp.checkpoint``);
      ``checkpoint_every=None`` writes it only on Ctrl-C.
    * ``resume``: path of a checkpoint to continue from (weights, optimiser state, epoch,
      history, random state); training then runs up to ``epochs``.
    * ``on_nan``: when the loss or an update becomes NaN/inf (the update is never applied,
      so the weights stay those of the last finite step): "raise" a ``DivergenceError``,
      or "stop" training with a warning.

    ``distributed`` is ``train``'s own argument (and one of ``fit``'s keywords): data-parallel
    training over MPI when launched with ``mpiexec -n P python -m mpi4py script.py`` (see
    ``ffbp.distributed``); one process otherwise. With arrays every rank passes the same
    data; with a source each rank reads only its own blocks.
    """

    epochs: int = 100
    batch_size: int | None = 32
    shuffle: bool = True
    validation_split: float = 0.0
    validation_data: object = None
    metrics: bool = True
    early_stopping: bool = False
    patience: int = 10
    restore_best_weights: bool = True
    tol: float | None = None
    n_iter_no_change: int = 5
    callbacks: tuple = ()
    seed: int | None = None
    sample_weight: object = None
    verbose: bool | None = None
    checkpoint: object = None
    checkpoint_every: int | None = 1
    resume: object = None
    on_nan: str = "raise"

    def __post_init__(self):
        object.__setattr__(self, "seed", check_seed(self.seed))
        object.__setattr__(self, "callbacks", tuple(self.callbacks))
        check_positive(self.epochs, "epochs", integer=True)
        check_positive(self.batch_size, "batch_size", integer=True, allow_none=True)
        check_positive(self.n_iter_no_change, "n_iter_no_change", integer=True)
        check_positive(self.checkpoint_every, "checkpoint_every", integer=True,
                       allow_none=True)
        lookup(self.on_nan, {"raise": 0, "stop": 0}, "on_nan")
        if self.tol is not None and not self.tol >= 0:
            raise ConfigError(f"tol must be a non-negative number or None, got {self.tol!r}")
        if not 0 <= self.validation_split < 1:
            raise ConfigError(f"validation_split must be in [0, 1), got "
                              f"{self.validation_split!r}")

    @classmethod
    def from_keywords(cls, caller: str, **keywords) -> FitOptions:
        """``FitOptions(**keywords)``, with an unknown name refused in one line that says the
        closest known one (``fit(epoch=3)``: did you mean 'epochs'?)."""
        # "distributed" is known (for the closest-name hint) but is train()'s own argument
        check_keywords(keywords, [f.name for f in fields(cls)] + ["distributed"], caller,
                       "see ffbp.training.FitOptions for every option")
        if "distributed" in keywords:
            raise ConfigError("distributed is not a FitOptions field: pass it to fit(...) or "
                              "train(..., distributed=True)")
        return cls(**keywords)

    def stopping_callbacks(self) -> list:
        """The callbacks that ``early_stopping`` and ``tol`` ask for."""
        hooks = []
        if self.early_stopping:
            hooks.append(EarlyStopping("val_loss", self.patience, 0.0,
                                       self.restore_best_weights))
        if self.tol is not None:
            hooks.append(LossTolerance(self.tol, self.n_iter_no_change))
        return hooks


def train(net, X, y, loss, optimizer, options: FitOptions, *,
          distributed: bool = False) -> History:
    """``fit`` with its options as one ``FitOptions``: train ``net`` on (X, y) (or a data
    source with y=None) and return the History."""
    comm = mpi.world() if distributed else mpi.Comm()
    try:
        return _fit(net, X, y, loss, optimizer, comm, options)
    except Exception as exc:           # under MPI: say which rank, then the job is aborted
        mpi.report_failure(comm, exc)
        raise


def _fit(net, X, y, loss, optimizer, comm, o: FitOptions) -> History:
    loss = net.check_loss(loss)
    optimizer = gd(0.1) if optimizer is None else optimizer
    if not isinstance(optimizer, GradientTransformation):
        raise ConfigError(f"optimizer must be an ffbp.optim transformation, got {optimizer!r}")
    meta = ckpt.read_metadata(o.resume) if o.resume is not None else None
    seed = o.seed
    if meta is not None:
        seed = meta["seed"]
    elif seed is None:                 # draw one, so that a checkpoint can replay the run
        seed = int(np.random.SeedSequence().entropy % 2**63)
        seed = comm.allgather(seed)[0]     # under MPI: rank 0's, so every rank agrees
    classify = o.metrics and loss.family == "classification"
    validation_data = o.validation_data
    if is_source(X):
        if y is not None or o.sample_weight is not None or o.validation_split:
            raise ConfigError("with a data source, pass y=None and no sample_weight or "
                              "validation_split (the source holds X and y; give "
                              "validation_data instead)")
        feed = data.Streamed(net, loss, X, o.batch_size, o.shuffle, seed, comm, classify)
        ranks = (meta or {}).get("ranks", comm.size)
        if ranks != comm.size:         # each rank's blocks, and so the epoch, would differ
            raise ConfigError(f"checkpoint {o.resume} was written by a job of {ranks} "
                              f"rank(s) reading a data source; resume it with {ranks}, not "
                              f"{comm.size}")
        validation_data = data.validation(net, loss, None, None, None, 0, validation_data,
                                          seed)[3]
    else:
        if y is None:
            raise ConfigError("fit needs targets y (or a data source from ffbp.data as X)")
        X, T, w = data.training_arrays(net, loss, X, y, o.sample_weight)
        X, T, w, validation_data = data.validation(net, loss, X, T, w, o.validation_split,
                                                   validation_data, seed)
        labels = loss.target_classes(T) if classify else None
        feed = data.Replicated(net, X, T, w, labels, o.batch_size, o.shuffle, comm)
    val = data.validation_feed(net, loss, validation_data, seed, comm, classify)

    if net.optimizer is not optimizer or net.optimizer_state is None or meta is not None:
        net.optimizer, net.optimizer_state = optimizer, optimizer.init(net.flat_values, net)
    net.loss = loss
    hooks = [*o.callbacks, *o.stopping_callbacks()]
    trainer = _Trainer(net, loss, optimizer, feed, val, classify, hooks, seed, o, comm)
    with mpi.pooled_batch_norm(net, comm, feed):
        return trainer.run(int(o.epochs), meta, o.resume, o.verbose if comm.is_root else False)


class _Trainer:
    """One ``fit`` call's state: what to train on, where it stands, how to save it."""

    def __init__(self, net, loss, optimizer, feed, val, classify, hooks, seed,
                 options: FitOptions, comm):
        self.net, self.loss, self.optimizer = net, loss, optimizer
        self.feed, self.val, self.classify = feed, val, classify
        self.bounds = feed.bounds
        self.hooks, self.seed = hooks, seed
        self.checkpoint, self.checkpoint_every = options.checkpoint, options.checkpoint_every
        self.on_nan = options.on_nan
        self.rng = np.random.default_rng(seed)
        self.history = History()
        self.interrupted = False
        self.comm = comm

    # -- the loop ------------------------------------------------------------------------
    def run(self, epochs, meta, resume, verbose) -> History:
        net, first_batch, partial = self.net, 0, None
        start = 0
        if meta is not None:
            ckpt.load_checkpoint(resume, net, self.rng, meta)
            self.history, start = History.from_dict(meta["history"]), meta["epoch"]
            first_batch, partial = meta.get("batch", 0), meta.get("partial")
            if first_batch:
                self.rng.bit_generator.state = meta["epoch_rng"]
            if meta.get("stopped"):
                # The checkpointed run stopped itself at this epoch: an uninterrupted run
                # would have trained no further, so neither does its resumption (it still
                # restores the best weights and reports the stop, as that run did).
                if epochs > start:
                    warnings.warn(f"the run in {resume} stopped itself after epoch {start} "
                                  f"({self.history.stop_reason or 'a callback stopped it'}):"
                                  f" resuming it trains no further; to train on, start a new run "
                                  f"(without resuming)", UserWarning, stacklevel=4)
                start = epochs
        n = self.feed.n_samples
        hooks = list(self.hooks)
        if verbose or (verbose is None and sys.stderr.isatty()):
            done = sum(b - a for a, b in self.bounds[:first_batch])
            hooks.append(ProgressBar(epochs, (epochs - start) * n - done, len(self.bounds)))
        self.callbacks = callbacks = CallbackList(hooks)
        previous = self._catch_sigint()
        try:
            callbacks.on_train_begin(net, self.history)
            if meta is not None:      # early stopping and tol go on where they were
                callbacks.load_states(ckpt.callback_states(meta))
            for epoch in range(start, epochs):
                callbacks.on_epoch_begin(epoch)
                # A diverging run overflows inside NumPy before the step's check sees it:
                # that check names the epoch, batch and remedies, so NumPy's own
                # "overflow encountered" warnings would only be noise.
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    logs = self._epoch(epoch, first_batch, partial)
                first_batch, partial = 0, None
                if logs is None:                          # diverged with on_nan="stop"
                    break
                self.history.append(logs)
                stop = callbacks.on_epoch_end(epoch, logs)
                every = self.checkpoint_every
                if self.checkpoint is not None and every is not None and (
                        (epoch + 1) % every == 0 or stop or epoch + 1 == epochs):
                    # "stopped": the run ended here by its own rule (early stopping, tol, a
                    # callback), so resuming it must not train on (see run's resume).
                    self._save(epoch + 1, {"stopped": True} if stop else None)
                if stop:
                    break
            callbacks.on_train_end(net, self.history)
        finally:
            callbacks.close()
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        self.history.stop_reason = self.history.stop_reason or f"reached epochs={epochs}"
        return self.history

    def _epoch(self, epoch, first_batch, partial):
        """Train one epoch (from batch ``first_batch`` when resuming mid-epoch); return its
        logs, or None when training diverged and ``on_nan="stop"``."""
        net, loss, opt, state = self.net, self.loss, self.optimizer, self.net.optimizer_state
        n = self.feed.n_samples
        epoch_rng = self.rng.bit_generator.state
        total, correct = (partial["total"], partial["correct"]) if partial else (0.0, 0)
        batch_hooks, gradient_hooks = self.callbacks.batch_hooks, self.callbacks.gradient_hooks
        comm = self.comm
        for b, size, share, coef, Xb, Tb, labels in self.feed.steps(self.rng, epoch,
                                                                     first_batch):
            if Xb is not None:
                value, Y, _ = backprop.step(net, backprop.Batch(Xb, Tb, coef), loss)
            else:                                         # more ranks than rows
                value, Y = 0.0, None
                net.flat_grads[...] = 0
            if comm.size > 1:       # Σ of the shards' parts of the global mean: its gradient
                comm.sum_(net.flat_grads)
                value = comm.sum_numbers(value)[0]
            for hook in gradient_hooks:
                hook(b, net)
            opt.update(net.flat_grads, state, net.flat_values)
            # One pass catches a NaN/inf (or an absurd 1e19) anywhere in the step before it
            # is applied, so the weights always stay those of the last finite step.
            if not (math.isfinite(value) and ops.sane(net.flat_grads)):
                if self._diverged(value, epoch, b):
                    return None
            apply_updates(net.flat_values, net.flat_grads)
            if labels is not None:
                correct += data.n_correct(loss.decide(Y), labels)
            total += value * share
            for hook in batch_hooks:
                hook(b, {"loss": value, "size": size})
            if self.interrupted:
                self._interrupt(epoch, b, epoch_rng, total, correct)
        penalty = getattr(opt, "penalty", None)
        logs = {"loss": total + (penalty(net.flat_values, state) if penalty else 0.0)}
        if self.classify:
            logs["accuracy"] = comm.sum_numbers(correct)[0] / n
        if self.val is not None:
            logs.update(data.evaluate(net, loss, self.val.validation_chunks(),
                                      self.val.n_samples, self.classify, comm))
        return logs

    # -- when things go wrong ------------------------------------------------------------
    def _diverged(self, value, epoch, batch) -> bool:
        where = self.net.locate(np.flatnonzero(~np.isfinite(self.net.flat_grads)))
        what = f"the loss became {value}" if not math.isfinite(value) else \
            f"the update of {where} became NaN or inf"
        message = divergence_message(epoch, batch, what)
        if self.on_nan == "raise":
            error = DivergenceError(message)
            error.where = (epoch, batch, what)
            raise error
        warnings.warn(message, RuntimeWarning, stacklevel=4)
        self.history.stop_reason = f"diverged at epoch {epoch + 1}, batch {batch + 1}"
        return True

    def _catch_sigint(self):
        """Turn the first Ctrl-C into a flag checked after each batch (main thread only; not
        under MPI, where the ranks could see it at different batches and wait forever)."""
        if threading.current_thread() is not threading.main_thread() or self.comm.size > 1:
            return None

        def handler(signum, frame):
            if self.interrupted:                          # second Ctrl-C: stop right now
                raise KeyboardInterrupt
            self.interrupted = True

        return signal.signal(signal.SIGINT, handler)

    def _interrupt(self, epoch, batch, epoch_rng, total, correct):
        where = f"epoch {epoch + 1}, batch {batch + 1} of {len(self.bounds)}"
        if self.checkpoint is None:
            raise TrainingInterrupted(f"training interrupted after {where}; no checkpoint was "
                                      f"requested (pass checkpoint=PATH to be able to resume)",
                                      self.history, None)
        self._save(epoch, {"batch": batch + 1, "epoch_rng": epoch_rng,
                           "partial": {"total": total, "correct": correct}})
        raise TrainingInterrupted(f"training interrupted after {where}; checkpoint written to "
                                  f"{self.checkpoint}: resume with the same call plus "
                                  f"resume={str(self.checkpoint)!r}", self.history,
                                  self.checkpoint)

    def _save(self, epochs_done, extra=None):
        if not self.comm.is_root:                         # one writer per job
            return
        ckpt.save_checkpoint(self.checkpoint, self.net, epoch=epochs_done,
                             history=self.history, rng=self.rng,
                             callbacks=self.callbacks.states(),
                             extra={"seed": self.seed, "ranks": self.comm.size,
                                    **(extra or {})})
