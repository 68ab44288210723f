"""Data-parallel training over MPI: 2 ranks give the weights of 1 process, and a failing
rank ends the whole job quickly, naming itself (loopback only, bounded by timeouts)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require, skip_unless

require("mpi4py", "the ranks talk through mpi4py")
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which(
    "mpiexec")
skip_unless(MPIEXEC is not None, "no mpiexec beside this Python or on PATH (the mpich wheel "
                                 "has one); the dev extras install mpich, so `make test` and "
                                 "CI run these tests")
SCRIPT = Path(__file__).with_name("mpi_script.py")
sys.path.insert(0, str(SCRIPT.parent))
import mpi_script  # noqa: E402
from mpi_script import train  # noqa: E402

import ffbp  # noqa: E402
import ffbp.checkpoint  # noqa: E402


def _launch(ranks, out, mode, timeout=120, extra=(), runner=("-m", "mpi4py")):
    return subprocess.run(["timeout", str(timeout), MPIEXEC, "-n", str(ranks), sys.executable,
                           *runner, str(SCRIPT), str(out), mode, *extra],
                          capture_output=True, text=True, timeout=timeout + 10)


def test_one_process_with_distributed_true_is_plain_training():
    a, ha = train(distributed=False)
    b, hb = train(distributed=True)
    np.testing.assert_array_equal(a.flat_values, b.flat_values)
    assert ha.val_loss == hb.val_loss


@pytest.mark.parametrize("ranks", [2, 3])
def test_ranks_give_the_weights_of_one_process(ranks, tmp_path):
    """Every global batch split over the ranks (16 rows, and a last batch of 8 validation-
    split rows left over), weighted samples, Adam, validation reduced across ranks."""
    single, history = train(distributed=False)
    result = _launch(ranks, tmp_path / "w.npy", "train")
    assert result.returncode == 0, result.stderr
    saved = np.load(tmp_path / "w.npy")
    n = single.flat_values.size
    np.testing.assert_allclose(saved[:n], single.flat_values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(saved[n:n + 3], history.val_loss, rtol=1e-12)
    np.testing.assert_allclose(saved[n + 3:n + 6], history.accuracy, rtol=1e-12)
    assert saved[-1] == ranks                        # one job of that many ranks


@pytest.mark.parametrize("runner", [("-m", "mpi4py"), ()], ids=["python -m mpi4py", "python"])
def test_a_failing_rank_stops_the_job_and_is_named(runner, tmp_path):
    """Launched with or without ``-m mpi4py``: the job ends, it does not hang."""
    start = time.monotonic()
    result = _launch(2, tmp_path / "w.npy", "fail", timeout=60, runner=runner)
    assert result.returncode != 0
    assert time.monotonic() - start < 30
    assert "rank 1 of 2 failed" in result.stderr and "outside the classes" in result.stderr
    assert not (tmp_path / "w.npy").exists()


def _files(folder):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(96, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y)
    return X, y


def _global_order(epoch, shuffle, ranks=2, n=96, block=24, batch=16, seed=7):
    """The rows of each global batch when every rank streams its own blocks: rank r's
    rows in its order (blocks, then rows, drawn from default_rng([seed, epoch, r])), and
    its share n_r/n of every batch of 16; the batches laid end to end."""
    per_rank, own = [], n // ranks
    for r in range(ranks):
        rng = np.random.default_rng([seed, epoch, r])
        starts = r * own + np.arange(0, own, block)
        blocks = rng.permutation(len(starts)) if shuffle else range(len(starts))
        per_rank.append(np.concatenate([starts[i] + (rng.permutation(block) if shuffle
                                                     else np.arange(block))
                                        for i in blocks]))
    step = batch // ranks
    return np.concatenate([rows[b:b + step] for b in range(0, own, step) for rows in per_rank])


@pytest.mark.parametrize("mode", ["files", "files-shuffled"])
def test_ranks_reading_their_own_blocks_train_like_one_process(mode, tmp_path):
    """2 ranks, each reading only its half of X.npy (2 blocks of 24 rows of 4): the weights
    of one process trained on the same global batches, and the validation loss of the
    whole file reduced across ranks."""
    X, y = _files(tmp_path)
    result = _launch(2, tmp_path / "w.npy", mode, extra=[str(tmp_path)])
    assert result.returncode == 0, result.stderr
    saved = np.load(tmp_path / "w.npy")
    net = mpi_script.network()
    opt, val_loss = ffbp.optim.adam(0.05), []
    for epoch in range(3):
        order = _global_order(epoch, shuffle=mode == "files-shuffled")
        assert sorted(order) == list(range(96))
        h = net.fit(X[order], y[order], loss="cross_entropy", optimizer=opt, epochs=1,
                    batch_size=16, shuffle=False, validation_data=(X, y), verbose=False)
        val_loss += h.val_loss
    n = net.flat_values.size
    np.testing.assert_allclose(saved[:n], net.flat_values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(saved[n:n + 3], val_loss, rtol=1e-12)


def test_a_killed_rank_stops_the_job_and_the_checkpoint_survives(tmp_path):
    """SIGKILL on rank 1 in its third epoch: the launcher ends the job at once (exit code
    of the signal), its message gives the killed PID, ffbp's first line maps that PID to
    rank 1, and the checkpoint rank 0 wrote after epoch 2 is whole and resumable."""
    start = time.monotonic()
    result = _launch(2, tmp_path / "w.npy", "killed", timeout=60, extra=[str(tmp_path)])
    assert result.returncode != 0
    assert time.monotonic() - start < 30
    output = result.stdout + result.stderr
    killed = re.search(r"PID (\d+) RUNNING AT", output)
    assert killed, output
    assert f"rank 1 = pid {killed.group(1)} on" in output
    meta = ffbp.checkpoint.read_metadata(tmp_path / "run.ckpt")
    assert meta["epoch"] == 2
    X, y, _ = mpi_script.problem()
    net = mpi_script.network()
    history = net.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.adam(0.05), epochs=3,
                      batch_size=4, resume=tmp_path / "run.ckpt", verbose=False)
    assert history.epochs == 3 and np.isfinite(net.flat_values).all()


@pytest.mark.parametrize("ranks", [2, 3])
def test_batch_norm_pools_its_statistics_over_the_ranks(ranks, tmp_path):
    """Two BatchNorm layers: weights, running statistics and validation loss of one
    process (each rank normalises its shard with the global batch's μ and σ², and
    back-propagates with the global Σδ and Σδx̂)."""
    single, history = mpi_script.train_batchnorm(distributed=False)
    expected = np.concatenate([single.flat_values, mpi_script.running_statistics(single)])
    result = _launch(ranks, tmp_path / "w.npy", "batchnorm")
    assert result.returncode == 0, result.stderr
    saved = np.load(tmp_path / "w.npy")
    # 1e-7, not 1e-9: a bias just before BatchNorm has a true gradient of 0 (the mean is
    # taken out again), so its gradient is rounding noise (~1e-17) that Adam divides by its
    # ε = 1e-8; the sums taken in another order give other noise, so ~1e-9 steps differ.
    np.testing.assert_allclose(saved[:expected.size], expected, rtol=0, atol=1e-7)
    np.testing.assert_allclose(saved[expected.size:expected.size + 3], history.val_loss,
                               rtol=1e-8)
    # and the statistics did move (the check above is not of untouched buffers)
    assert np.abs(mpi_script.running_statistics(single)[:6]).max() > 0.05


def test_batch_norm_with_fewer_rows_per_batch_than_ranks_is_refused(tmp_path):
    result = _launch(3, tmp_path / "w.npy", "batchnorm-small", timeout=60)
    assert result.returncode != 0
    assert "every rank needs at least one row of every batch" in result.stderr
    assert "the smallest batch has 2 rows for 3 ranks: use batch_size >= 3" in result.stderr


def test_without_a_seed_every_rank_uses_rank_0s(tmp_path):
    result = _launch(2, tmp_path / "w", "unseeded")
    assert result.returncode == 0, result.stderr
    a, b = np.load(tmp_path / "w.0.npy"), np.load(tmp_path / "w.1.npy")
    np.testing.assert_array_equal(a, b)


def test_a_source_checkpoint_resumes_only_with_as_many_ranks(tmp_path):
    from ffbp.data import NpySource

    _files(tmp_path)
    source = NpySource(tmp_path / "X.npy", tmp_path / "y.npy", block_rows=24)
    mpi_script.network().fit(source, loss="cross_entropy", optimizer=ffbp.optim.adam(0.05),
                             epochs=1, batch_size=16, seed=7, verbose=False,
                             checkpoint=tmp_path / "one.ckpt")
    result = _launch(2, tmp_path / "w.npy", "resume-elsewhere", timeout=60,
                     extra=[str(tmp_path)])
    assert result.returncode != 0
    assert "written by a job of 1 rank(s) reading a data source; resume it with 1, not 2" \
        in result.stderr
