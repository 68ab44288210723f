"""Run under mpiexec by tests/data/test_distributed.py (not a test module itself).

    mpiexec -n P python -m mpi4py tests/data/mpi_script.py OUT.npy MODE [FOLDER]
    mpiexec -n P python tests/data/mpi_script.py OUT.npy fail     (without -m mpi4py)
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


def train_batchnorm(distributed: bool, batch_size=16):
    """Batch norm between the layers: its statistics pooled over the ranks."""
    X, y, _ = problem()
    net = ffbp.Network([ffbp.Dense(4, 6), ffbp.BatchNorm(6), ffbp.Tanh(), ffbp.Dense(6, 3),
                        ffbp.BatchNorm(3), ffbp.Softmax()], seed=1, dtype=np.float64)
    history = net.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.adam(0.05), epochs=3,
                      batch_size=batch_size, seed=7, validation_split=0.2,
                      distributed=distributed, verbose=False)
    return net, history


def running_statistics(net):
    return np.concatenate([v for layer in net.layers if hasattr(layer, "buffers")
                           for v in layer.buffers().values()])


def network():
    return ffbp.Network([ffbp.Dense(4, 6), ffbp.Tanh(), ffbp.Dense(6, 3), ffbp.Softmax()],
                        seed=1, dtype=np.float64)


def train_from_files(folder, shuffle=False):
    """Each rank reads its own blocks of X.npy/y.npy (96 rows, blocks of 24)."""
    from ffbp.data import NpySource

    source = NpySource(f"{folder}/X.npy", f"{folder}/y.npy", block_rows=24)
    net = network()
    history = net.fit(source, loss="cross_entropy", optimizer=ffbp.optim.adam(0.05), epochs=3,
                      batch_size=16, seed=7, shuffle=shuffle, validation_data=source,
                      distributed=True, verbose=False)
    return net, history


def killed(folder):
    """Rank 1 is killed (SIGKILL: no Python exception, no message of its own) during its
    third epoch, while rank 0 has written checkpoints after epochs 1 and 2."""
    import os
    import signal

    from mpi4py import MPI

    def die(batch, logs):
        if MPI.COMM_WORLD.Get_rank() == 1 and len(net.history_epochs) == 2 and batch == 3:
            os.kill(os.getpid(), signal.SIGKILL)

    X, y, _ = problem()
    net = network()
    net.history_epochs = []
    net.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.adam(0.05), epochs=1000,
            batch_size=4, seed=7, checkpoint=f"{folder}/run.ckpt", distributed=True,
            verbose=False,
            callbacks=[ffbp.LambdaCallback(
                on_batch_end=die,
                on_epoch_end=lambda epoch, logs: net.history_epochs.append(epoch))])


def unseeded():
    """seed=None: rank 0 draws the seed and every rank uses it (same shuffles, same
    validation split), so the ranks end with the same weights."""
    X, y, _ = problem()
    net = network()
    net.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.adam(0.05), epochs=2,
            batch_size=8, validation_split=0.2, distributed=True, verbose=False)
    return net


def resume_elsewhere(folder):
    """Resume, on this job's ranks, a source checkpoint written by one process."""
    from ffbp.data import NpySource

    source = NpySource(f"{folder}/X.npy", f"{folder}/y.npy", block_rows=24)
    network().fit(source, loss="cross_entropy", optimizer=ffbp.optim.adam(0.05), epochs=3,
                  batch_size=16, seed=7, resume=f"{folder}/one.ckpt", distributed=True,
                  verbose=False)


if __name__ == "__main__":
    out, mode = sys.argv[1], sys.argv[2]
    if mode == "killed":
        killed(sys.argv[3])
    elif mode == "unseeded":
        from mpi4py import MPI

        np.save(f"{out}.{MPI.COMM_WORLD.Get_rank()}.npy", unseeded().flat_values)
        sys.exit(0)
    elif mode == "resume-elsewhere":
        resume_elsewhere(sys.argv[3])
    elif mode.startswith("batchnorm"):
        net, history = train_batchnorm(True, batch_size=2 if mode == "batchnorm-small" else 16)
        net.flat_values = np.concatenate([net.flat_values, running_statistics(net)])
    elif mode.startswith("files"):
        net, history = train_from_files(sys.argv[3], shuffle=mode == "files-shuffled")
    else:
        net, history = train(True, bad_rank=1 if mode == "fail" else None)
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    if world.Get_rank() == 0:                        # the job size proves it was one job
        np.save(out, np.concatenate([net.flat_values, history.val_loss, history.accuracy,
                                     [world.Get_size()]]))
