"""Synchronous data-parallel training over MPI (``pip install "ffbp[mpi]"``).

Launched as ``mpiexec -n P python -m mpi4py script.py``, every rank builds the same network
from the same seed and calls ``fit(..., distributed=True)``. Every global mini-batch is split
into P contiguous shards; each rank back-propagates its shard with the coefficients of the
*global* batch mean, so one ``Allreduce(MPI.IN_PLACE, flat_grads, SUM)`` on the flat
gradient buffer gives every rank exactly ∂E/∂θ of the whole batch, and every rank applies
the same update: the result equals single-process training on the same batches up to the
order of floating-point sums. Rank 0 alone writes checkpoints and shows progress;
validation is sharded and its sums reduced.

Batch norm pools its statistics over the ranks (``BatchNorm.sync``), so it too trains as in
one process; every rank then needs at least one row of every batch. Dropout masks are drawn
per rank. Without ``mpiexec`` (one process) ``distributed=True`` changes nothing.

An exception on one rank that the script does not catch aborts the whole job instead of
leaving the other ranks waiting forever in the next all-reduce: ``python -m mpi4py`` does
this, and ``fit(distributed=True)`` installs the same for scripts launched without it.
"""

from __future__ import annotations

import contextlib
import sys
import time

import numpy as np

from .data import shard
from .errors import ConfigError


class Comm:
    """The ranks of one job: ``rank``, ``size`` and in-place sums across them."""

    def __init__(self, mpi_comm=None):
        self._comm = mpi_comm
        self.rank = 0 if mpi_comm is None else mpi_comm.Get_rank()
        self.size = 1 if mpi_comm is None else mpi_comm.Get_size()

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def sum_(self, array: np.ndarray) -> np.ndarray:
        """Σ over ranks of ``array``, in place (the flat gradient buffer: one message)."""
        if self.size > 1:
            from mpi4py import MPI

            self._comm.Allreduce(MPI.IN_PLACE, array, op=MPI.SUM)
        return array

    def sum_numbers(self, *values: float) -> list[float]:
        """Σ over ranks of a few numbers (losses, counts), in one all-reduce."""
        return list(self.sum_(np.array(values, dtype=np.float64)))

    def allgather(self, obj) -> list:
        """Every rank's ``obj`` (small picklable summaries), in rank order, on every rank."""
        return [obj] if self.size == 1 else self._comm.allgather(obj)

    def gather_int(self, value: int) -> list[int]:
        """Every rank's ``value`` (e.g. its number of rows), on every rank."""
        slots = np.zeros(self.size, dtype=np.int64)
        slots[self.rank] = value
        return [int(v) for v in self.sum_(slots)]

    def shard(self, lo: int, hi: int) -> tuple[int, int]:
        """This rank's contiguous part of rows lo:hi (sizes differ by at most one)."""
        a, b = shard(hi - lo, self.rank, self.size)
        return lo + a, lo + b


def world() -> Comm:
    """The MPI world this process runs in (a single-rank Comm without MPI)."""
    try:
        from mpi4py import MPI
    except ImportError:
        raise ConfigError('distributed=True needs mpi4py: pip install "ffbp[mpi]" and launch '
                          'with mpiexec -n P python -m mpi4py script.py') from None
    comm = Comm(MPI.COMM_WORLD)
    if comm.size > 1:
        announce(comm, MPI)
        abort_on_uncaught_exceptions(comm)
    return comm


_announced = False


def abort_on_uncaught_exceptions(comm: Comm) -> None:
    """What ``python -m mpi4py`` does, for scripts launched without it: an exception that
    nobody catches prints its traceback and then aborts the whole job, instead of ending
    this rank alone while the others wait forever in their next all-reduce. (Exceptions
    the script catches are untouched.)"""
    if "mpi4py.run" in sys.modules or getattr(sys.excepthook, "ffbp_aborts", False):
        return
    previous = sys.excepthook

    def hook(kind, value, traceback):
        previous(kind, value, traceback)
        abort(comm, 1)

    hook.ffbp_aborts = True
    sys.excepthook = hook


@contextlib.contextmanager
def pooled_batch_norm(net, comm: Comm, feed):
    """Let every BatchNorm layer of ``net`` pool its batch statistics over the ranks for
    the length of a distributed ``fit``."""
    from .layers.batchnorm import BatchNorm

    layers = [layer for layer in net.layers if isinstance(layer, BatchNorm)]
    if comm.size > 1 and layers and feed.smallest_share < 1:
        raise ConfigError(f"with BatchNorm, every rank needs at least one row of every batch "
                          f"(its statistics are pooled over the ranks), but "
                          f"{feed.remedy()}")
    for layer in layers:
        layer.sync = comm if comm.size > 1 else None
    try:
        yield
    finally:
        for layer in layers:
            layer.sync = None


def announce(comm: Comm, MPI) -> None:
    """Rank 0 prints which process is which rank. A rank killed from outside (SIGKILL, the
    out-of-memory killer) cannot say anything itself: MPICH's launcher then reports the
    killed process's PID and host, and this line maps it to the rank."""
    import os

    global _announced
    if _announced:                   # once per job (every rank gets here the same times)
        return
    _announced = True
    ranks = comm._comm.allgather((os.getpid(), MPI.Get_processor_name()))
    if comm.is_root:
        where = ", ".join(f"rank {r} = pid {pid} on {host}" for r, (pid, host) in
                          enumerate(ranks))
        print(f"ffbp: {comm.size} ranks: {where}", file=sys.stderr, flush=True)


def report_failure(comm: Comm, exc: BaseException) -> None:
    """Name the failing rank on stderr before the job is aborted."""
    if comm.size > 1 and not getattr(exc, "ffbp_rank_reported", False):
        print(f"ffbp: rank {comm.rank} of {comm.size} failed: {type(exc).__name__}: {exc}",
              file=sys.stderr, flush=True)
        exc.ffbp_rank_reported = True


def running() -> Comm | None:
    """The world of an MPI job of several ranks this process is part of, else None (without
    importing mpi4py when nothing has)."""
    MPI = sys.modules.get("mpi4py.MPI")
    if MPI is None or not MPI.Is_initialized() or MPI.Is_finalized():
        return None
    comm = Comm(MPI.COMM_WORLD)
    return comm if comm.size > 1 else None


def abort(comm: Comm, code: int) -> None:
    """End every rank of the job now (the others may be waiting in an all-reduce for this
    one: without this they would wait forever)."""
    sys.stderr.flush()
    sys.stdout.flush()
    # The launcher forwards each rank's output through a pipe; Abort kills the job at once,
    # and on a busy machine the line that names this rank's error was then sometimes lost
    # before it was forwarded. A moment's grace on a path that ends the job anyway.
    time.sleep(0.2)
    comm._comm.Abort(code)
