"""Peak memory of out-of-core training as the file grows (the scale-out issue).

    python -m benchmarks.out_of_core_memory            # 61, 244 and 977 MiB files

For each size, writes X.npy (rows x 64 float32) and y.npy into a temporary folder, in chunks,
then trains one epoch from ``ffbp.data.NpySource`` (batch 256, Adam) in a fresh process and
prints that process's peak resident memory (VmHWM). Flat memory means the peak does not grow
with the file. Needs about 1.3 GB of free disk for the largest file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np

FEATURES, BLOCK = 64, 65536
ROWS = (250_000, 1_000_000, 4_000_000)

TRAIN = """
import sys
import ffbp
from ffbp.data import NpySource
folder = sys.argv[1]
net = ffbp.Network([ffbp.Dense(64, 64), ffbp.ReLU(), ffbp.Dense(64, 4), ffbp.Softmax()], seed=0)
net.fit(NpySource(f"{folder}/X.npy", f"{folder}/y.npy"), loss="cross_entropy",
        optimizer=ffbp.optim.adam(1e-3), epochs=1, batch_size=256, verbose=False)
print(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
"""


def write(folder: str, n: int) -> int:
    X = np.lib.format.open_memmap(f"{folder}/X.npy", mode="w+", dtype=np.float32,
                                  shape=(n, FEATURES))
    y = np.lib.format.open_memmap(f"{folder}/y.npy", mode="w+", dtype=np.int64, shape=(n,))
    rng = np.random.default_rng(0)
    for a in range(0, n, BLOCK):
        b = min(a + BLOCK, n)
        X[a:b] = rng.random((b - a, FEATURES), dtype=np.float32)
        y[a:b] = rng.integers(0, 4, b - a)
    X.flush()
    y.flush()
    return os.path.getsize(f"{folder}/X.npy")


def main():
    print("rows        X.npy (MiB)  peak resident memory of the training process (MiB)")
    for n in ROWS:
        with tempfile.TemporaryDirectory() as folder:
            size = write(folder, n)
            out = subprocess.run([sys.executable, "-c", TRAIN, folder], capture_output=True,
                                 text=True, check=True).stdout
            print(f"{n:<11,} {size / 2**20:>11.0f}  {int(out.split()[-1]) / 1024:>6.0f}")


if __name__ == "__main__":
    main()
