"""Where a training step's time goes: ffbp's epoch split by layer and phase, next to the
GEMM-only bound timed in the same process (the performance issue's profile).

    python -m benchmarks.profile_step --batch-size 1024

Wraps every layer's forward/backward, the loss, the feed (gathering the shuffled batch), the
optimiser chain, the finite check and the update with timers, trains a few epochs of the
benchmark's 784-256-128-10 network, and prints milliseconds per step; then alternates ffbp
epochs with GEMM-bound epochs and prints the ratio of their medians. The timers add a few
microseconds per call, so the total is slightly above an untimed epoch; the comparison
with the GEMM bound uses an untimed network.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import time

import ffbp
import ffbp.training as training
from ffbp import _fitdata

from . import bench_ffbp, bench_gemm
from .workload import LEARNING_RATE, mnist_like


def timed(owner, name, key, spent, undo):
    plain = getattr(owner, name)
    undo.append((owner, name, plain))

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        out = plain(*args, **kwargs)
        spent[key] += time.perf_counter() - t0
        return out

    setattr(owner, name, wrapper)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--samples", type=int, default=60_000)
    p.add_argument("--epochs", type=int, default=3)
    args = p.parse_args(argv)
    X, y = mnist_like(args.samples)
    spent, undo = collections.defaultdict(float), []
    net = bench_ffbp.classifier()
    for i, layer in enumerate(net.layers):
        timed(layer, "forward", f"forward  {i} {layer!r}", spent, undo)
        timed(layer, "backward", f"backward {i} {layer!r}", spent, undo)
    loss = net.check_loss("cross_entropy")
    timed(loss, "values", "loss values", spent, undo)
    opt = ffbp.optim.adam(LEARNING_RATE)
    opt = opt._replace(update=lambda *a, _u=opt.update: _timed_call(_u, a, spent, "optimiser"))
    timed(training, "apply_updates", "apply updates", spent, undo)
    timed(training.ops, "sane", "finite check", spent, undo)
    feed_steps = _fitdata.Replicated.steps
    undo.append((_fitdata.Replicated, "steps", feed_steps))

    def steps(self, *a):
        it = feed_steps(self, *a)
        while True:
            t0 = time.perf_counter()
            step = next(it, None)
            spent["feed (gather the batch)"] += time.perf_counter() - t0
            if step is None:
                return
            yield step

    _fitdata.Replicated.steps = steps

    def epoch(seed):
        net.fit(X, y, loss=loss, optimizer=opt, epochs=1, batch_size=args.batch_size,
                verbose=False, metrics=False, seed=seed)

    epoch(0)
    spent.clear()
    t0 = time.perf_counter()
    for e in range(args.epochs):
        epoch(e + 1)
    n_steps = args.epochs * -(-args.samples // args.batch_size)
    total = (time.perf_counter() - t0) / n_steps
    print(f"batch {args.batch_size}: {total * 1e3:.2f} ms per step")
    for key, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {key:32s} {seconds / n_steps * 1e3:7.3f} ms")
    for owner, name, plain in reversed(undo):
        setattr(owner, name, plain)
    runs = {"ffbp": bench_ffbp.classifier_epoch(X, y, args.batch_size),
            "gemm": bench_gemm.classifier_epoch(X, y, args.batch_size)}
    times = {name: [] for name in runs}
    for run in runs.values():                 # warm-up
        run()
    for _ in range(5):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    f, g = statistics.median(times["ffbp"]), statistics.median(times["gemm"])
    print(f"same process, alternating, untimed: ffbp {f:.3f} s/epoch, GEMM bound {g:.3f} "
          f"s/epoch: ffbp/GEMM bound {g / f:.2f}")


def _timed_call(fn, args, spent, key):
    t0 = time.perf_counter()
    fn(*args)
    spent[key] += time.perf_counter() - t0


if __name__ == "__main__":
    main()
