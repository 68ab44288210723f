"""``ffbp train``: read a table, fit the preprocessing, build and train a network, save it.

With ``--distributed`` under ``mpiexec``, every rank reads its own part of the table and
trains on it (``ffbp.cli.shards``); rank 0 writes the model and prints the results."""

from __future__ import annotations

import inspect
import math
import os
import sys
import time

import numpy as np

from .. import DivergenceError, optim
from .. import losses as _losses
from .._validation import lookup
from ..data import ArraySource
from ..distributed import Comm, world
from ..errors import ConfigError, DataError, FFBPError
from ..mlp import mlp
from ..tabular import fitting
from . import data, options, paths, shards, train_report
from . import target as target_column
from .commands import (
    CLI_FORMAT,
    finish_metrics,
    labels_text,
    loss_targets,
    metric_sums,
    metric_table,
)
from .progress import CsvLog, EpochLines


# -- building ----------------------------------------------------------------------------
def resolve_loss(name, task, n_classes):
    """(the loss for ``name`` or the task's default, whether it is a two-class loss with
    one output), checked against the task (``ffbp.tabular``'s rule, with the command's
    remedy)."""
    try:
        return fitting.resolve_loss(name, task, n_classes)
    except ConfigError as exc:
        if "task is" in str(exc):
            raise ConfigError(f"{exc} (choose another --loss, or --task)") from None
        raise


def _loss_name(loss) -> str:
    return next(name for name, cls in _losses.LOSSES.items() if type(loss) is cls)


def build_network(n_inputs, n_outputs, opts, loss):
    """The MLP of the options (``ffbp.mlp``), ending in the output layer the loss needs."""
    output = next(iter(loss.requires)) if loss.requires else None   # Softmax, Sigmoid, ...
    return mlp(n_inputs, opts["hidden"], n_outputs, opts["activation"], output=output,
               init=opts["init"], seed=opts["seed"], dtype=np.dtype(opts["dtype"]))


def make_optimizer(opts):
    make = lookup(opts["optimizer"], optim.ALIASES, "optimizer")
    kwargs = {k: v for k, v in (("learning_rate", opts["lr"]),
                                ("weight_decay", opts["weight_decay"]),
                                ("clip_norm", opts["clip_norm"])) if v is not None}
    return make(**kwargs)


def _world(opts):
    """The ranks of this job: all of them with --distributed, else this process alone."""
    if not opts["distributed"]:
        return Comm()
    return world()


def _metrics(net, X, y, comm):
    """compute_metrics over the rows of every rank."""
    sums = metric_sums(net, X, y)
    return finish_metrics(net, shards.sum_metrics(comm, sums) if comm.size > 1 else sums)


def diverged_path(output) -> str:
    """Where a diverged run leaves its last finite weights: beside the model, never at -o,
    which only ever holds a model whose training finished (and keeps a previous one)."""
    root, ext = os.path.splitext(output)
    return f"{root}.diverged{ext}"


def check_paths(args, opts, checkpoint) -> None:
    """Every output of ``ffbp train`` apart from the inputs and each other, and writable;
    --resume readable. Before the table is read (one process, or rank 0)."""
    resume = opts["resume"]
    if resume is not None and not os.path.isfile(resume):
        raise DataError(f"no such file: {resume}" if not os.path.exists(resume)
                        else f"--resume {resume} is not a file")
    ckpt_label = "--checkpoint" if opts["checkpoint"] else "the Ctrl-C checkpoint"
    report = opts["report"] and os.path.join(opts["report"], "report.html")
    paths.check_distinct(
        [("-o", opts["output"]), (ckpt_label, checkpoint), ("--report", report),
         ("--log-file", opts["log_file"]),
         ("the diverged-run model", diverged_path(opts["output"]))],
        [("DATA", args.data), ("--config", getattr(args, "config", None)),
         ("--resume", resume)],
        allowed={(ckpt_label, "--resume")})          # resuming and checkpointing in place
    paths.check_writable(opts["output"], "the model")
    if opts["checkpoint"]:
        paths.check_writable(checkpoint, "the checkpoint")
    if opts["log_file"]:
        paths.check_writable(opts["log_file"], "the --log-file")
    if opts["report"]:
        check_plots()
        paths.check_report_folder(opts["report"])


def check_plots() -> None:
    """--report draws with matplotlib: without it, refuse before any training."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise FFBPError('--report needs matplotlib, which is not installed: pip install '
                        '"ffbp[plots]" (or leave out --report)') from None


def progress(opts, comm, epochs):
    """The per-epoch callbacks of the options (rank 0 only) and fit's ``verbose``."""
    if not comm.is_root:
        return [], False
    fmt = opts["log_format"] or ("bar" if sys.stderr.isatty() else "plain")
    hooks = [CsvLog(opts["log_file"])] if opts["log_file"] else []
    if opts["quiet"]:
        return hooks, False
    if fmt == "bar":
        return hooks, True
    return [*hooks, EpochLines(epochs, fmt)], False


def describe(net, loss, opts, task, why, spec, features, path, n, n_val):
    """The lines printed before training: task, data, network, training settings."""
    n_classes = len(spec.get("classes", ()))
    n_num = sum(f["kind"] == "numeric" for f in features)
    what = (f"{n_classes} classes: {labels_text(spec['classes'])}"
            if task == "classification" else f"mean {spec['mean']:.4g}, std {spec['std']:.4g}")
    arch = "-".join(str(w) for w in [net.n_features, *opts["hidden"], net.n_outputs])
    output = type(net.layers[-1]).__name__ if loss.requires else "linear"
    hidden = f"{opts['activation']} hidden, " if opts["hidden"] else ""
    lr = opts["lr"]
    if lr is None:
        make = lookup(opts["optimizer"], optim.ALIASES, "optimizer")
        lr = inspect.signature(make).parameters["learning_rate"].default
    batch = "full batch" if opts["batch_size"] is None else f"batch size {opts['batch_size']}"
    if opts["early_stopping"]:
        watched = "val_loss" if n_val else "loss"
        stop = f", early stopping on {watched} (patience {opts['patience']})"
    else:
        stop = ""
    return [f"task: {task} of {opts['target']!r} ({why}); {what}",
            f"data: {path}: {n - n_val} training + {n_val} validation rows; {len(features)} "
            f"feature columns ({n_num} numeric, {len(features) - n_num} categorical) -> "
            f"{net.n_features} inputs",
            f"network: {arch}, {hidden}{output} output, {net.flat_values.size:,} parameters, "
            f"{_loss_name(loss)} loss",
            f"training: {opts['optimizer']} optimiser (learning rate {lr:g}), {batch}, up to "
            f"{opts['epochs']} epochs{stop}"]


def run_train(args) -> int:
    opts = options.resolve(args)
    comm = _world(opts)
    # Without --checkpoint, a checkpoint is written only if training is interrupted, so that
    # Ctrl-C never loses the work done; with it, after every epoch as well.
    checkpoint = opts["checkpoint"] or f"{opts['output']}.ckpt"
    if comm.is_root:                   # refuse bad output paths before any work
        check_paths(args, opts, checkpoint)
    path = args.data
    if opts["distributed"]:
        df, label = shards.read_own_rows(path, comm)
        df = shards.agree_on_types(df, path, comm)
        shards.number_rows(df, comm)
    else:
        df, label = data.read_table(path), path
    target = opts["target"]
    y_all = data.column(df, target, label, "target column")
    target_column.check_target(y_all, target, label)

    n_part = len(df)
    n_val = math.ceil(opts["validation_split"] * n_part) if opts["validation_split"] else 0
    if n_val and n_part - n_val < 2:
        raise DataError(f"{label} has {n_part} rows: too few to hold out "
                        f"{opts['validation_split']} for validation (use --validation-split 0)")
    # each rank holds out its own share of its rows (one process: [seed, 2] as always)
    order = np.random.default_rng([opts["seed"], 2, *([comm.rank] if comm.size > 1 else [])]
                                  ).permutation(n_part)
    train_df = df.iloc[np.sort(order[n_val:])]
    val_df = df.iloc[np.sort(order[:n_val])]

    task, why, features, spec = shards.fit_preprocessing(train_df, df, opts, label, comm)
    n, n_val = (sum(v) for v in zip(*comm.allgather((n_part, n_val)), strict=True))
    n_classes = len(spec.get("classes", ()))
    loss, binary = resolve_loss(opts["loss"], task, n_classes)
    n_outputs = 1 if task == "regression" or binary else n_classes
    X_train = data.transform(train_df, features, label)
    y_train = target_column.encode_target(train_df[target], spec, label)
    net = build_network(len(data.input_names(features)), n_outputs, opts, loss)
    optimizer = make_optimizer(opts)
    X_val = data.transform(val_df, features, label)
    y_val = target_column.encode_target(val_df[target], spec, label)
    validation = (X_val, loss_targets(y_val, net)) if n_val else None
    if opts["early_stopping"] is None:          # the default: on with a validation split
        opts["early_stopping"] = n_val > 0
    settings = {k: v for k, v in opts.items()
                if k not in ("output", "quiet", "checkpoint", "resume", "distributed",
                             "log_format", "log_file")}
    settings["loss"] = _loss_name(loss)
    net.metadata = {"ffbp_cli": CLI_FORMAT, "target": spec, "task_reason": why,
                    "features": features, "inputs": data.input_names(features),
                    "training": {"data": str(path), "rows": n - n_val, "validation_rows": n_val,
                                 "options": settings}}
    if comm.size > 1:
        net.metadata["training"]["ranks"] = comm.size

    health = None
    if opts["diagnostics"] and comm.is_root and len(X_train):
        from ..diagnostics import GradientHealth

        probe = slice(0, min(256, len(X_train)))     # a fixed batch: comparable epoch to epoch
        health = GradientHealth(probe=(X_train[probe], loss_targets(y_train[probe], net)))
    if comm.is_root:
        print("\n".join(describe(net, loss, opts, task, why, spec, features, path, n, n_val)),
              flush=True)
    hooks, verbose = progress(opts, comm, opts["epochs"])
    keep = train_report.KeepHistory()       # a diverged run's report needs its history
    hooks = [*hooks, keep] if opts["report"] and comm.is_root else hooks
    train_data = (X_train, loss_targets(y_train, net))
    if opts["distributed"]:         # every rank trains on its own rows (see ffbp.cli.shards)
        train_data = (ArraySource(*train_data, partitioned=True), None)
        validation = validation and ArraySource(*validation, partitioned=True)
    report = dict(settings=settings, task=task, X=X_train, y=y_train,
                  names=train_report.input_labels(features),
                  summary={"table": str(path), "training rows": n - n_val,
                           "validation rows": n_val, "inputs": net.n_features, "task": task})
    start = time.perf_counter()
    try:
        history = net.fit(*train_data, loss=loss, optimizer=optimizer,
                          epochs=opts["epochs"], batch_size=opts["batch_size"],
                          validation_data=validation, early_stopping=opts["early_stopping"],
                          patience=opts["patience"], seed=opts["seed"],
                          verbose=verbose, checkpoint=checkpoint,
                          checkpoint_every=1 if opts["checkpoint"] else None,
                          resume=opts["resume"], callbacks=[*hooks, health] if health else hooks,
                          distributed=opts["distributed"])
    except DivergenceError as exc:
        if comm.is_root:
            _keep_diverged(net, exc, opts["output"])
            if opts["report"]:          # when it helps most: say what led to the failure
                _report_divergence(opts, exc, net, keep.history, health, report)
        raise
    except (KeyboardInterrupt, FFBPError, ArithmeticError):
        raise
    except Exception as exc:            # a checkpoint that could not be written
        if not _is_write_error(exc):
            raise
        raise DataError(f"cannot write the checkpoint to {checkpoint}: {paths.reason(exc)}; "
                        f"training stopped and the model was not written") from None
    seconds = time.perf_counter() - start
    results = {"train": _metrics(net, X_train, y_train, comm)}
    if n_val:
        results["validation"] = _metrics(net, X_val, y_val, comm)
    net.metadata["training"].update(
        epochs_run=history.epochs, stop_reason=history.stop_reason,
        metrics={name: {k: v for k, v in m.items() if k != "confusion_matrix"}
                 for name, m in results.items()})
    if not comm.is_root:                        # one rank writes and speaks for the job
        return 0
    from ..io import save

    if opts["checkpoint"]:
        lost = (f"; the weights of the last epoch are in the checkpoint {checkpoint}: make "
                f"room and run the same command plus --resume {checkpoint} to write the "
                f"model without training again")
    else:
        lost = "; the trained weights are lost (--checkpoint FILE keeps them on disk)"
    try:
        paths.write_file(opts["output"], "the model", lambda p: save(net, p))
    except DataError as exc:
        raise DataError(f"{exc}{lost}") from None

    kept = ("" if history.best_epoch is None
            else f"; kept the weights of epoch {history.best_epoch + 1}")
    print(f"trained {history.epochs} epochs in {seconds:.2f} s ({history.stop_reason}{kept})")
    print(metric_table(results))
    print(f"saved {opts['output']}")
    if health is not None and health.messages:
        print(f"diagnostics: {len(health.messages)} warning(s), see above")
    if opts["report"]:
        try:
            page = train_report.write(opts["report"], net, history, health, final=results,
                                      **report)
        except DataError as exc:
            raise DataError(f"{exc} (the model was saved to {opts['output']})") from None
        print(f"report: {page}")
    return 0


def _report_divergence(opts, exc, net, history, health, report) -> None:
    """Write the report of a diverged run and name it in ``exc``'s message."""
    try:
        page = train_report.write(opts["report"], net, history, health, error=exc, **report)
    except DataError as error:
        where = f"the report could not be written ({error})"
    else:
        where = f"report: {page}"
    exc.args = (f"{str(exc).rstrip('. ')}; {where}", *exc.args[1:])


def _is_write_error(exc) -> bool:
    """An OSError, or safetensors' error for a failed write (it is no OSError)."""
    return isinstance(exc, OSError) or type(exc).__name__ == "SafetensorError"


def _keep_diverged(net, exc, output) -> None:
    """Save the last finite weights beside ``output`` and say so in ``exc``'s message."""
    from ..io import save

    where = diverged_path(output)
    net.metadata["training"]["stop_reason"] = f"diverged: {' '.join(str(exc).split())}"
    try:
        paths.write_file(where, "the last finite weights", lambda p: save(net, p))
    except DataError as error:
        kept = f"they could not be saved ({error}); {output} was not written"
    else:
        kept = f"they are saved in {where} ({output} was not written)"
    text = str(exc)
    phrase = "the weights of the last finite step are kept"
    if phrase in text:
        text = text.replace(phrase, f"{phrase}: {kept}")
    else:
        text = f"{text.rstrip('. ')}; the weights of the last finite step: {kept}"
    exc.args = (text, *exc.args[1:])
