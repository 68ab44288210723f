"""Smoke test of the benchmark (`make bench`): the quick run, ffbp only, on a few hundred
samples, gives a well-formed table and sane numbers. Speed itself is not judged here."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ["train bs=32", "train bs=128", "train bs=1024", "tabular bs=128", "inference"]


def test_quick_benchmark_ffbp_only(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--only", "ffbp",
         "--samples", "300", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())

    assert list(results["throughput"]) == CASES
    for case in CASES:
        r = results["throughput"][case]["ffbp"]
        assert math.isfinite(r["samples_per_s"]) and r["samples_per_s"] > 0
        assert len(r["times"]) == 1 and r["seconds"] > 0      # --quick: one repeat

    ratios = {(r["case"], r["reference"]): r for r in results["ratios"]}
    assert ratios[("train bs=1024", "gemm")]["target"] == 0.9      # the second round's
    assert all(r["ratio"] is None and r["status"].startswith("n/a") for r in ratios.values())

    memory = results["memory"]["ffbp"]
    assert 0 < memory["baseline_mib"] <= memory["peak_mib"]
    assert "scaling" not in results                           # --quick skips it

    # The printed throughput table: a header, a rule, then one row per case.
    lines = proc.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Throughput"))
    assert lines[start + 1].split() == ["case", "ffbp"]
    rows = lines[start + 3:start + 3 + len(CASES)]
    for case, row in zip(CASES, rows, strict=True):
        assert row.startswith(case)
        assert float(row.split()[-1].replace(",", "")) > 0
    assert "blas" in proc.stdout and "OPENBLAS_CORETYPE" in proc.stdout

    # The small-table and time-to-accuracy rows (ffbp alone: no ratios), each fit in a
    # fresh process; the machine line names the CPU's vector extensions.
    (iris,) = results["small_tables"]
    assert iris["table"] == "iris" and "fit_ratio" not in iris
    assert iris["ffbp"]["fit_s"] > 0 and 0 <= iris["ffbp"]["accuracy"] <= 1
    (tta,) = results["time_to_accuracy"]
    assert tta["framework"] == "ffbp" and tta["seconds"] > 0 and 1 <= tta["epochs"] <= 30
    assert "Small tables" in proc.stdout and "Time to 0.95" in proc.stdout
    assert "vector extensions:" in proc.stdout
    assert isinstance(results["machine"]["vector_extensions"], list)
    start = results["startup"]                                # 3 pairs in --quick
    assert len(start["runs"]["train"]) == len(start["runs"]["version"]) == 3
    assert start["ratio_wall"] > 0 and start["train_cpu_s"] > 0 and start["target"] == 1.5
    assert "Start-up: ffbp train" in proc.stdout

    # The playground row (its web stack and chromium come with the dev set-up): the server
    # alone and the page in chromium, each with positive rates.
    rows = results["playground"]
    browser = os.access("/usr/bin/chromium", os.X_OK)      # .ci/run installs it
    assert set(rows) == {"server alone (WebSocket client)",
                         *(["with the page in chromium"] if browser else [])}
    assert all(r["steps_per_second"] > 0 and r["updates_per_second"] > 0
               for r in rows.values())
    assert "Playground (issue 15)" in proc.stdout

    # The MPI row (when mpi4py and mpiexec are installed): 1 and 2 ranks per batch size.
    if results.get("mpi"):
        rows = {(r["batch"], r["ranks"]): r for r in results["mpi"]}
        assert set(rows) == {(128, 1), (128, 2), (1024, 1), (1024, 2)}
        for (_, ranks), r in rows.items():
            assert r["samples_per_s"] > 0 and 0 <= r["allreduce_share"] < 1
            assert (r["allreduce_s"] == 0) == (ranks == 1)    # one rank: nothing to reduce
        assert "all-reduce share" in proc.stdout
