"""Data-parallel training over MPI: 2 ranks give the weights of 1 process, and a failing
rank ends the whole job quickly, naming itself (loopback only, bounded by timeouts)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which(
    "mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install mpich)")
SCRIPT = Path(__file__).with_name("mpi_script.py")
sys.path.insert(0, str(SCRIPT.parent))
from mpi_script import train  # noqa: E402


def _launch(ranks, out, mode, timeout=120):
    return subprocess.run(["timeout", str(timeout), MPIEXEC, "-n", str(ranks), sys.executable,
                           "-m", "mpi4py", str(SCRIPT), str(out), mode],
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


def test_a_failing_rank_stops_the_job_and_is_named(tmp_path):
    start = time.monotonic()
    result = _launch(2, tmp_path / "w.npy", "fail", timeout=60)
    assert result.returncode != 0
    assert time.monotonic() - start < 30
    assert "rank 1 of 2 failed" in result.stderr and "outside the classes" in result.stderr
    assert not (tmp_path / "w.npy").exists()
