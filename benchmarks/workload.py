"""The benchmark's workloads: synthetic data with fixed seeds, network shapes, timing.

Every framework module trains on the arrays made here, so all of them see the same data.
Generation is prefix-stable (the first n rows do not depend on how many are made), so the
scaling runs use prefixes of one larger set.
"""

from __future__ import annotations

import gc
import statistics
import time

import numpy as np

#: Each framework's benchmark module, in the order they run: PyTorch's OpenMP threads last
#: among the BLAS users. (run.py times them, memory.py measures them.)
FRAMEWORKS = {
    "ffbp": "benchmarks.bench_ffbp", "gemm": "benchmarks.bench_gemm",
    "sklearn": "benchmarks.bench_sklearn", "torch": "benchmarks.bench_torch",
    "onnx": "benchmarks.bench_onnx",
}

MNIST_WIDTHS = (784, 256, 128, 10)     # ReLU between, softmax cross-entropy at the end
TABULAR_WIDTHS = (20, 64, 64, 1)       # ReLU between, MSE
LEARNING_RATE = 1e-3
TABULAR_BATCH = 128
_CHUNK = 4096                          # rows per generation step: no full-size temporaries


def mnist_like(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(X float32 (n, 784) in [0, 1], y int64 (n,) in 0..9): class-dependent Gaussian blobs.

    Each class has a sparse random "image" as its centre; a sample is its class centre plus
    Gaussian noise, clipped to [0, 1] like MNIST pixels. Learnable, but not trivially.
    """
    centres = np.random.default_rng([seed, 0]).random((10, 784), dtype=np.float32)
    centres *= np.random.default_rng([seed, 1]).random((10, 784)) < 0.25
    y = np.random.default_rng([seed, 2]).integers(0, 10, n)
    X = np.random.default_rng([seed, 3]).standard_normal((n, 784), dtype=np.float32)
    for i in range(0, n, _CHUNK):
        block = X[i:i + _CHUNK]
        block *= 0.35
        block += centres[y[i:i + _CHUNK]]
        np.clip(block, 0.0, 1.0, out=block)
    return X, y


def tabular(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(X float32 (n, 20), y float32 (n,)): a smooth nonlinear regression target plus noise."""
    X = np.random.default_rng([seed, 4]).standard_normal((n, 20), dtype=np.float32)
    w = np.random.default_rng([seed, 5]).standard_normal(20).astype(np.float32)
    noise = np.random.default_rng([seed, 6]).standard_normal(n, dtype=np.float32)
    y = np.sin(X @ w / 4) + 0.1 * X[:, 0] * X[:, 1] + 0.05 * noise
    return X, y.astype(np.float32)


def batches(n: int, batch_size: int):
    """(start, stop) of each mini-batch of one epoch over n rows."""
    return [(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def time_it(fns: dict, repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds of each of ``repeats`` calls of every ``fns[name]()``, after ``warmup``
    untimed calls each. Within one framework's process the functions take turns, so that a
    disturbance from outside (another process on the machine) hits all of them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def result(n_samples: int, times: list[float]) -> dict:
    """Throughput record: samples/s of the median time, and every time measured."""
    median = statistics.median(times)
    return {"samples_per_s": n_samples / median, "seconds": median, "times": times}
