"""Run under mpiexec by tests/test_distributed.py (not a test module itself).

    mpiexec -n P python -m mpi4py tests/mpi_script.py OUT.npy MODE
"""

import sys

import numpy as np

import ffbp


def problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    w = rng.uniform(0.5, 2.0, size=50)
    return X, y, w


def train(distributed: bool, bad_rank=None):
    from mpi4py import MPI

    X, y, w = problem()
    if bad_rank is not None and MPI.COMM_WORLD.Get_rank() == bad_rank:
        y = y + 5                                   # labels outside the classes: DataError
    net = ffbp.Network([ffbp.Dense(4, 6), ffbp.Tanh(), ffbp.Dense(6, 3), ffbp.Softmax()],
                       seed=1, dtype=np.float64)
    history = net.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.adam(0.05), epochs=3,
                      batch_size=16, seed=7, validation_split=0.2, sample_weight=w,
                      distributed=distributed, verbose=False)
    return net, history


if __name__ == "__main__":
    out, mode = sys.argv[1], sys.argv[2]
    net, history = train(True, bad_rank=1 if mode == "fail" else None)
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    if world.Get_rank() == 0:                        # the job size proves it was one job
        np.save(out, np.concatenate([net.flat_values, history.val_loss, history.accuracy,
                                     [world.Get_size()]]))
