"""Data-parallel training over MPI: samples/s with P ranks and the all-reduce's share of
each step. Run by ``benchmarks.run`` (``make bench``) as

    mpiexec -n P python -m mpi4py -m benchmarks.bench_mpi SAMPLES REPEATS BATCH [BATCH ...]

Every rank trains the benchmark's 784-256-128-10 network (Adam, float32) on its own part of
the same synthetic data (``ArraySource(..., partitioned=True)``: what a rank of
``ffbp train --distributed`` trains on), one warm-up epoch and REPEATS timed ones per batch
size (the global batch). The time spent in the all-reduce of the flat gradient buffer is
measured by wrapping ``Comm.sum_``; rank 0 prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np
from mpi4py import MPI

import ffbp
from ffbp import distributed
from ffbp.data import ArraySource, shard

from .bench_ffbp import classifier
from .workload import LEARNING_RATE, mnist_like


def timed_allreduce():
    """Wrap ``Comm.sum_`` to add up the seconds spent in gradient all-reduces."""
    spent = {"seconds": 0.0, "calls": 0}
    plain = distributed.Comm.sum_

    def sum_(self, array):
        t0 = time.perf_counter()
        out = plain(self, array)
        if array.size > 16:                       # the gradient buffer, not the loss
            spent["seconds"] += time.perf_counter() - t0
            spent["calls"] += 1
        return out

    distributed.Comm.sum_ = sum_
    return spent


def main(argv):
    samples, repeats, sizes = int(argv[0]), int(argv[1]), [int(b) for b in argv[2:]]
    world = MPI.COMM_WORLD
    rank, size = world.Get_rank(), world.Get_size()
    X, y = mnist_like(samples)
    lo, hi = shard(samples, rank, size)
    source = ArraySource(X[lo:hi].copy(), y[lo:hi].copy(), partitioned=True)
    del X, y
    spent = timed_allreduce()
    rows = []
    for batch in sizes:
        net, opt = classifier(), ffbp.optim.adam(LEARNING_RATE)
        times, reduce_s, steps = [], [], 0
        for epoch in range(repeats + 1):
            world.Barrier()
            spent.update(seconds=0.0, calls=0)
            t0 = time.perf_counter()
            net.fit(source, loss="cross_entropy", optimizer=opt, epochs=1, batch_size=batch,
                    seed=epoch, verbose=False, metrics=False, distributed=True)
            world.Barrier()
            if epoch:                                 # the first epoch warms up
                times.append(time.perf_counter() - t0)
                reduce_s.append(spent["seconds"])
                steps = spent["calls"]
        reduce_s = world.allreduce(statistics.median(reduce_s), op=MPI.MAX)
        median = statistics.median(times)
        rows.append({"ranks": size, "batch": batch, "samples_per_s": samples / median,
                     "seconds": median, "times": times, "allreduce_s": reduce_s,
                     "allreduce_share": reduce_s / median,
                     "allreduce_ms_per_step": 1e3 * reduce_s / steps if steps else 0.0,
                     "gradient_mb": net.flat_grads.nbytes / 2**20})
    if rank == 0:
        print(json.dumps(rows), flush=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main(sys.argv[1:])
