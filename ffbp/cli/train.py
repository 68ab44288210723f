"""``ffbp train``: read a table, fit the preprocessing, build and train a network, save it.

With ``--distributed`` under ``mpiexec``, every rank reads its own part of the table and
trains on it (``ffbp.cli.shards``); rank 0 writes the model and prints the results."""

from __future__ import annotations

import inspect
import os
import sys
import time

from .. import DivergenceError, optim
from .. import losses as _losses
from .._validation import lookup
from ..data import ArraySource
from ..distributed import Comm, world
from ..errors import DataError, FFBPError, divergence_message
from ..tabular import prepare
from . import data, options, paths, shards, train_report
from .commands import (
    finish_metrics,
    labels_text,
    loss_targets,
    metric_sums,
    metric_table,
)
from .progress import CsvLog, EpochLines

#: The remedies of a diverged run (``ffbp.errors.REMEDIES``) and of the gradient-health
#: warnings (``ffbp.diagnostics.REMEDIES``) in the command's flags. The command has no batch
#: normalisation and standardises the inputs itself, so it does not suggest either.
DIVERGENCE_REMEDIES = ("lower the learning rate (--lr), clip the gradients (e.g. --clip-norm "
                       "1.0), use ReLU instead of a saturating activation (--activation relu), "
                       "or add weight decay (e.g. --weight-decay 1e-4)")
HEALTH_REMEDIES = {
    "vanishing": "use --activation relu (--init auto then draws he_normal weights), or fewer "
                 "hidden layers (--hidden); avoid deep stacks of sigmoid/tanh with small "
                 "initial weights",
    "vanishing_relu": "use --init he_normal (small initial weights shrink δ layer by layer), "
                      "or fewer hidden layers (--hidden)",
    "saturated": "use --activation relu, or draw smaller initial weights (--init small_normal)",
    "exploding": "lower the learning rate (--lr), clip the gradients (--clip-norm 1.0) and add "
                 "weight decay (--weight-decay 1e-4)",
    "dead": "lower the learning rate (--lr), use --activation leaky_relu or elu, or --init "
            "he_normal",
}


# -- building ----------------------------------------------------------------------------
def _loss_name(loss) -> str:
    return next(name for name, cls in _losses.LOSSES.items() if type(loss) is cls)


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
    ckpt = (ckpt_label, checkpoint) if opts["checkpoint"] else (ckpt_label, checkpoint, "-o")
    report = opts["report"] and os.path.join(opts["report"], "report.html")
    paths.check_distinct(
        [("-o", opts["output"]), ckpt, ("--report", report),
         ("--log-file", opts["log_file"]),
         ("the diverged-run model", diverged_path(opts["output"]), "-o")],
        [("DATA", args.data), ("--config", getattr(args, "config", None)),
         ("--resume", resume)],
        allowed={(ckpt_label, "--resume")})          # resuming and checkpointing in place
    paths.check_writable(opts["output"], "the model")
    if opts["checkpoint"]:
        paths.check_writable(checkpoint, "the checkpoint")
    if opts["log_file"]:
        paths.check_writable(opts["log_file"], "the --log-file", replaced=False)
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
    """read → preprocess and build (``ffbp.tabular.prepare``, as ``fit_table``) → fit →
    save and report."""
    opts = options.resolve(args)
    comm = _world(opts)
    # Without --checkpoint, a checkpoint is written only if training is interrupted, so that
    # Ctrl-C never loses the work done; with it, after every epoch as well.
    checkpoint = opts["checkpoint"] or f"{opts['output']}.ckpt"
    if comm.is_root:                   # refuse bad output paths before any work
        check_paths(args, opts, checkpoint)
    df, label = read_rows(args.data, opts, comm)
    prepared = prepare_rows(df, label, opts, comm)
    net = prepared.net
    settings = {k: v for k, v in opts.items()
                if k not in ("output", "quiet", "checkpoint", "resume", "distributed",
                             "log_format", "log_file")}
    settings["loss"] = _loss_name(prepared.loss)
    net.metadata["training"].update(data=str(args.data), options=settings)
    if comm.is_root:
        print("\n".join(describe(net, prepared.loss, opts, prepared.task, prepared.why,
                                 prepared.spec, prepared.features, args.data, prepared.n,
                                 prepared.n_val)), flush=True)
    report = train_report.Run(prepared, settings, str(args.data))
    start = time.perf_counter()
    history, health = train(prepared, opts, comm, checkpoint, report)
    seconds = time.perf_counter() - start
    results = {"train": _metrics(net, prepared.X_train, prepared.y_train, comm)}
    if prepared.n_val:
        results["validation"] = _metrics(net, prepared.X_val, prepared.y_val, comm)
    net.metadata["training"].update(
        epochs_run=history.epochs, stop_reason=history.stop_reason,
        metrics={name: {k: v for k, v in m.items() if k != "confusion_matrix"}
                 for name, m in results.items()})
    if not comm.is_root:                        # one rank writes and speaks for the job
        return 0
    save_model(net, opts, checkpoint)
    kept = ("" if history.best_epoch is None
            else f"; kept the weights of epoch {history.best_epoch + 1}")
    print(f"trained {history.epochs} epochs in {seconds:.2f} s ({history.stop_reason}{kept})")
    print(metric_table(results))
    print(f"saved {opts['output']}")
    if health is not None and health.messages:
        print(f"diagnostics: {len(health.messages)} warning(s), see above")
    if opts["report"]:
        try:
            page = train_report.write(opts["report"], net, history, health, report,
                                      final=results)
        except DataError as exc:
            raise DataError(f"{exc} (the model was saved to {opts['output']})") from None
        print(f"report: {page}")
    return 0


def read_rows(path, opts, comm):
    """(the table's rows, a label for messages): all of them, or with --distributed this
    rank's part (``ffbp.cli.shards``), its column types agreed with the other ranks."""
    if not opts["distributed"]:
        return data.read_table(path), path
    df, label = shards.read_own_rows(path, comm)
    df = shards.agree_on_types(df, path, comm)
    shards.number_rows(df, comm)
    return df, label


def flag(name: str, value=None) -> str:
    """How a remedy names an option to the command's user: ``--validation-split 0``."""
    text = f"--{name.replace('_', '-')}"
    return text if value is None else f"{text} {value}"


def prepare_rows(df, label, opts, comm) -> prepare.PreparedTable:
    """``ffbp.tabular.prepare_table`` with the command's options, its errors naming the
    command's flags; the early-stopping default resolved (on with a validation split)."""
    prepared = prepare.prepare_table(df, opts["target"], {k: opts[k] for k in prepare.OPTIONS},
                                     label, comm, spell=flag)
    if opts["early_stopping"] is None:
        opts["early_stopping"] = prepared.n_val > 0
    return prepared


def train(prepared, opts, comm, checkpoint, report):
    """Fit the prepared network with the command's progress, diagnostics and checkpoints:
    (history, the GradientHealth watcher or None). A diverged run keeps its last finite
    weights beside the model (and writes its report); a checkpoint that cannot be written
    stops with a one-line error."""
    net = prepared.net
    health = None
    if opts["diagnostics"] and comm.is_root and len(prepared.X_train):
        from ..diagnostics import GradientHealth

        probe = slice(0, min(256, len(prepared.X_train)))   # a fixed batch, epoch to epoch
        health = GradientHealth(probe=(prepared.X_train[probe],
                                       loss_targets(prepared.y_train[probe], net)),
                                remedies=HEALTH_REMEDIES)
    hooks, verbose = progress(opts, comm, opts["epochs"])
    keep = train_report.KeepHistory()       # a diverged run's model and report need it
    hooks = [*hooks, keep] if comm.is_root else hooks
    train_data, validation = prepared.training_data, prepared.validation_data
    if opts["distributed"]:         # every rank trains on its own rows (see ffbp.cli.shards)
        train_data = (ArraySource(*train_data, partitioned=True), None)
        validation = validation and ArraySource(*validation, partitioned=True)
    try:
        history = net.fit(*train_data, loss=prepared.loss, optimizer=prepared.optimizer,
                          epochs=opts["epochs"], batch_size=opts["batch_size"],
                          validation_data=validation, early_stopping=opts["early_stopping"],
                          patience=opts["patience"], seed=opts["seed"],
                          verbose=verbose, checkpoint=checkpoint,
                          checkpoint_every=1 if opts["checkpoint"] else None,
                          resume=opts["resume"], callbacks=[*hooks, health] if health else hooks,
                          distributed=opts["distributed"])
    except DivergenceError as exc:
        if exc.where is not None:               # said with the command's own remedies
            exc.args = (divergence_message(*exc.where, DIVERGENCE_REMEDIES),)
        if comm.is_root:
            _keep_diverged(net, exc, opts["output"], keep.history)
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
    return history, health


def save_model(net, opts, checkpoint) -> None:
    """Write the model to -o atomically; if that fails, say where the weights still are."""
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


def _report_divergence(opts, exc, net, history, health, report) -> None:
    """Write the report of a diverged run and name it in ``exc``'s message."""
    try:
        page = train_report.write(opts["report"], net, history, health, report, error=exc)
    except DataError as error:
        where = f"the report could not be written ({error})"
    else:
        where = f"report: {page}"
    exc.args = (f"{str(exc).rstrip('. ')}; {where}", *exc.args[1:])


def _is_write_error(exc) -> bool:
    """An OSError, or safetensors' error for a failed write (it is no OSError)."""
    return isinstance(exc, OSError) or type(exc).__name__ == "SafetensorError"


def _keep_diverged(net, exc, output, history) -> None:
    """Save the last finite weights beside ``output`` (with the epochs completed before the
    failure) and say so in ``exc``'s message."""
    from ..io import save

    where = diverged_path(output)
    net.metadata["training"].update(
        epochs_run=history.epochs if history is not None else None,
        stop_reason=f"diverged: {' '.join(str(exc).split())}")
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
