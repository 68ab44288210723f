"""Train on a .npy file read block by block, on one process or data-parallel over MPI.

    python examples/out_of_core.py                         # one process
    mpiexec -n 2 python -m mpi4py examples/out_of_core.py  # 2 ranks, each its own blocks

It writes build/out_of_core/X.npy (200,000 rows of 32 float32 features, 25 MB) and y.npy
once, without ever holding them whole in memory, then trains a 32-64-4 classifier from
them with ``ffbp.data.NpySource``: one block of 16,384 rows in memory at a time, blocks
and rows shuffled every epoch. Rank 0 prints the progress and the result.
"""

from __future__ import annotations

import os

import numpy as np

import ffbp
from ffbp.data import NpySource

ROWS, FEATURES, CLASSES, BLOCK = 200_000, 32, 4, 16_384
FOLDER = os.path.join("build", "out_of_core")


def write_files(rank: int) -> tuple[str, str]:
    """X.npy and y.npy, written in chunks straight into the files (rank 0 only)."""
    xpath, ypath = os.path.join(FOLDER, "X.npy"), os.path.join(FOLDER, "y.npy")
    if rank == 0 and not (os.path.exists(xpath) and os.path.exists(ypath)):
        os.makedirs(FOLDER, exist_ok=True)
        centres = np.random.default_rng(0).normal(size=(CLASSES, FEATURES))
        X = np.lib.format.open_memmap(xpath + ".tmp", mode="w+", dtype=np.float32,
                                      shape=(ROWS, FEATURES))
        y = np.lib.format.open_memmap(ypath + ".tmp", mode="w+", dtype=np.int64,
                                      shape=(ROWS,))
        rng = np.random.default_rng(1)
        for a in range(0, ROWS, BLOCK):
            b = min(a + BLOCK, ROWS)
            y[a:b] = rng.integers(0, CLASSES, b - a)
            X[a:b] = centres[y[a:b]] + 1.5 * rng.normal(size=(b - a, FEATURES))
        X.flush()
        y.flush()
        del X, y
        os.replace(ypath + ".tmp", ypath)          # complete files only
        os.replace(xpath + ".tmp", xpath)
    return xpath, ypath


def main():
    try:
        from mpi4py import MPI
        world = MPI.COMM_WORLD
    except ImportError:
        world = None
    rank = 0 if world is None else world.Get_rank()
    xpath, ypath = write_files(rank)
    if world is not None:
        world.Barrier()                               # the files exist before anyone reads
    net = ffbp.Network([ffbp.Dense(FEATURES, 64), ffbp.ReLU(), ffbp.Dense(64, CLASSES),
                        ffbp.Softmax()], seed=0)
    source = NpySource(xpath, ypath, block_rows=BLOCK)
    history = net.fit(source, loss="cross_entropy", optimizer=ffbp.optim.adam(1e-3),
                      epochs=3, batch_size=256, seed=0, distributed=world is not None)
    if rank == 0:
        print(f"{source}: training loss {history.loss[-1]:.6f}, "
              f"accuracy {history.accuracy[-1]:.6f} after {history.epochs} epochs")


if __name__ == "__main__":
    main()
