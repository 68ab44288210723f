"""Start-up of the command line: ``ffbp train`` on a 300-row table for 10 epochs against
``ffbp --version`` (the performance issue's target: within 1.5x).

    python -m benchmarks.startup                 # 10 pairs, after one warm-up pair

Whole processes, run in turn (train, version, train, version, ...) so that each ratio
compares two runs made moments apart; wall time from ``perf_counter`` around the child,
CPU time (user + system) from the operating system's accounting of the finished child
(``resource.getrusage(RUSAGE_CHILDREN)``). Reports the medians and the median of the
pairs' ratios. The table: 300 rows of five numeric columns and a yes/no label, made from a
fixed seed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

TARGET = 1.5


def write_table(path: str, rows: int = 300) -> None:
    import numpy as np

    x = np.random.default_rng(0).standard_normal((rows, 5))
    with open(path, "w") as f:
        f.write("a,b,c,d,e,label\n")
        for r in x:
            f.write(",".join(f"{v:.4f}" for v in r) + f",{'yes' if r[0] + r[1] > 0 else 'no'}\n")


def _ffbp() -> list[str]:
    """The installed ``ffbp`` script beside this interpreter, else the same entry point
    called from ``python -c``."""
    script = os.path.join(os.path.dirname(sys.executable), "ffbp")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-c", "import sys; from ffbp.cli import main; sys.exit(main())"]


def timed(cmd) -> tuple[float, float]:
    """(wall s, CPU s) of one run of ``cmd`` as a whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(pairs: int = 10) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        table = os.path.join(folder, "table.csv")
        write_table(table)
        ffbp = _ffbp()
        train = ffbp + ["train", table, "--target", "label", "--epochs", "10", "-o",
                        os.path.join(folder, "model.ffbp")]
        version = ffbp + ["--version"]
        timed(train), timed(version)                     # warm-up: file caches, .pyc
        runs = {"train": [], "version": []}
        for _ in range(pairs):
            runs["train"].append(timed(train))
            runs["version"].append(timed(version))
    out = {"pairs": pairs, "runs": runs, "target": TARGET}
    for i, what in enumerate(("wall", "cpu")):
        out[f"train_{what}_s"] = statistics.median(r[i] for r in runs["train"])
        out[f"version_{what}_s"] = statistics.median(r[i] for r in runs["version"])
        out[f"ratio_{what}"] = statistics.median(
            t[i] / v[i] for t, v in zip(runs["train"], runs["version"], strict=True))
    return out


def text(r: dict) -> str:
    from .report import table

    status = "met" if r["ratio_wall"] <= r["target"] else "NOT MET"
    return table(["command", "wall s", "CPU s"],
                 [["ffbp train (300 rows, 10 epochs)", f"{r['train_wall_s']:.3f}",
                   f"{r['train_cpu_s']:.3f}"],
                  ["ffbp --version", f"{r['version_wall_s']:.3f}", f"{r['version_cpu_s']:.3f}"],
                  ["ratio (median of pairs)", f"{r['ratio_wall']:.2f}x", f"{r['ratio_cpu']:.2f}x"]]
                 ) + f"\ntarget: train within {r['target']}x of --version (wall): {status}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=10)
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    r = measure(args.pairs)
    print(text(r))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1)
    return r


if __name__ == "__main__":
    main()
