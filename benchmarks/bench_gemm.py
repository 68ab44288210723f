"""The GEMM-only bound: the matrix products of each training step and nothing else.

Per batch: one forward GEMM per layer, one weight-gradient GEMM per layer and an input-gradient
GEMM for every layer but the first (3 + 3 + 2 for three layers), float32, into preallocated
outputs (``out=``). No activations, loss, optimiser or shuffle: no framework can beat this.
"""

from __future__ import annotations

import numpy as np

from .workload import MNIST_WIDTHS, TABULAR_WIDTHS, batches


def _gemm_epoch(X, widths, batch_size):
    rng = np.random.default_rng(0)
    pairs = list(zip(widths[:-1], widths[1:], strict=True))
    Ws = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32) for a, b in pairs]
    dWs = [np.empty_like(W) for W in Ws]
    bs = min(batch_size, len(X))
    outs = [np.empty((bs, b), np.float32) for _, b in pairs]      # forward outputs
    dins = [np.empty((bs, a), np.float32) for a, _ in pairs[1:]]  # ∂E/∂(layer input)
    dY = rng.standard_normal((bs, widths[-1])).astype(np.float32)
    spans = batches(len(X), batch_size)

    def epoch():
        for start, stop in spans:
            m = stop - start
            acts = [X[start:stop]]
            for W, out in zip(Ws, outs, strict=True):
                acts.append(np.matmul(acts[-1], W, out=out[:m]))
            d = dY[:m]
            for k in range(len(Ws) - 1, -1, -1):
                np.matmul(acts[k].T, d, out=dWs[k])
                if k:
                    d = np.matmul(d, Ws[k].T, out=dins[k - 1][:m])
    return epoch


def classifier_epoch(X, y, batch_size):
    return _gemm_epoch(X, MNIST_WIDTHS, batch_size)


def regressor_epoch(X, y, batch_size):
    return _gemm_epoch(X, TABULAR_WIDTHS, batch_size)


def probe_gflops(threads: int | None = None, repeats: int = 5) -> float:
    """Best float32 GFLOP/s of one (1024 x 784) @ (784 x 256) product on ``threads`` BLAS
    threads (all by default): how fast the BLAS runs on this machine right now."""
    import contextlib
    import time

    try:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(threads, user_api="blas")
    except ImportError:
        limit = contextlib.nullcontext()
    a, b = np.ones((1024, 784), np.float32), np.ones((784, 256), np.float32)
    c = np.empty((1024, 256), np.float32)
    best = float("inf")
    with limit:
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(10):
                np.matmul(a, b, out=c)
            best = min(best, (time.perf_counter() - t0) / 10)
    return 2 * 1024 * 784 * 256 / best / 1e9
