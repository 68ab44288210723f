"""Benchmark ffbp against PyTorch, scikit-learn and the GEMM bound (the performance issue).

    python -m benchmarks.run                  # full run (make bench), a few minutes
    python -m benchmarks.run --quick          # CI smoke run: 6k samples, 1 repeat, no scaling
    python -m benchmarks.run --only ffbp,torch --json results.json

Every framework trains the same network on the same synthetic data (regenerated from fixed
seeds), each in a process of its own: PyTorch's OpenMP threads and OpenBLAS's threads both
spin while they wait for work, so in one process each framework's idle pool steals the CPU
from the other's (measured here: PyTorch at batch 32 ran 2x slower next to ffbp). References
that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import time

from . import machine, report
from .memory import measure as measure_memory
from .workload import FRAMEWORKS, TABULAR_BATCH, mnist_like, result, tabular, time_it

BATCH_SIZES = (32, 128, 1024)
MEMORY_FRAMEWORKS = ("ffbp", "torch", "sklearn")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 6,000 samples, 1 repeat, no scaling")
    p.add_argument("--only", help=f"comma-separated subset of {','.join(FRAMEWORKS)}")
    p.add_argument("--samples", type=int, help="MNIST-shaped samples (default 60,000; "
                   "the tabular case uses 5/3 as many rows)")
    p.add_argument("--repeats", type=int, help="timed epochs per case, median reported "
                   "(default 3)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    p.add_argument("--no-scaling", action="store_true", help="skip the scaling runs")
    p.add_argument("--no-mpi", action="store_true", help="skip the data-parallel (MPI) runs")
    p.add_argument("--no-small", action="store_true", help="skip the small-table and "
                   "time-to-accuracy rows (scikit-learn's data sets)")
    p.add_argument("--no-startup", action="store_true", help="skip the start-up row (ffbp "
                   "train on a 300-row table against ffbp --version)")
    p.add_argument("--no-playground", action="store_true", help="skip the playground row "
                   "(training steps/s and page updates/s of ffbp playground)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--worker", help=argparse.SUPPRESS)    # internal: one framework's process
    p.add_argument("--case", help=argparse.SUPPRESS)      # internal: the case it times
    args = p.parse_args(argv)
    args.samples = args.samples or (6_000 if args.quick else 60_000)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.scaling = not (args.quick or args.no_scaling)
    names = args.only.split(",") if args.only else list(FRAMEWORKS)
    unknown = set(names) - set(FRAMEWORKS)
    if unknown:
        p.error(f"unknown framework(s) {sorted(unknown)}; choose from {list(FRAMEWORKS)}")
    args.frameworks = [fw for fw in FRAMEWORKS if fw in names]
    return args


def load(names) -> dict:
    """The importable framework modules; a missing one is reported and skipped."""
    modules = {}
    for name in names:
        try:
            modules[name] = importlib.import_module(FRAMEWORKS[name])
        except ImportError as exc:
            print(f"{report.LABELS[name]}: skipped: {exc}")
            continue
        if hasattr(modules[name], "VERSION"):
            print(f"{report.LABELS[name]}: {modules[name].VERSION}")
    return modules


def measure_memories(frameworks, samples) -> dict:
    """{framework: peak-memory record} of one training epoch each, in separate processes."""
    out = {}
    for fw in (fw for fw in MEMORY_FRAMEWORKS if fw in frameworks):
        try:
            out[fw] = m = measure_memory(fw, samples, 128)
        except RuntimeError as exc:
            print(f"{report.LABELS[fw]} memory: skipped: {exc}")
            continue
        print(f"{report.LABELS[fw]} memory: peak {m['peak_mib']:,.0f} MiB", flush=True)
    return out


def scaling(module, X, y, sizes, repeats, echo=True) -> list[dict]:
    rows = []
    for n in sizes:
        times = time_it({"ffbp": module.classifier_epoch(X[:n], y[:n], 128)}, repeats)["ffbp"]
        rows.append({"samples": n} | result(n, times))
        if echo:
            print(f"  ffbp scaling {n:>9,} samples: {rows[-1]['seconds']:.3f} s/epoch",
                  flush=True)
    return rows


CASES = [(f"train bs={bs}", "classifier_epoch", bs) for bs in BATCH_SIZES] + [
    (f"tabular bs={TABULAR_BATCH}", "regressor_epoch", TABULAR_BATCH),
    ("inference", "predictor", None)]


class Worker:
    """One framework in a process of its own, timing one call at a time on request.

    PyTorch's OpenMP threads and OpenBLAS's threads both spin while they wait for work, so
    two frameworks in one process (or two live processes) steal the CPU from each other:
    measured here, PyTorch at batch 32 ran 2x slower next to ffbp, and idle worker
    processes took 13-40% of the CPUs from the one being timed. So only one framework's
    process is alive at a time."""

    def __init__(self, fw: str, args, announce: bool = True, case: str = "scaling"):
        cmd = [sys.executable, "-m", "benchmarks.run", "--worker", fw, "--samples",
               str(args.samples), "--case", case]
        self.fw = fw
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        hello = self._read()
        self.skipped = hello.get("skipped")
        if self.skipped:
            print(f"{report.LABELS[fw]}: skipped: {self.skipped}")
        elif hello.get("version") and announce:
            print(f"{report.LABELS[fw]}: {hello['version']}")
        self.cases = set(hello.get("cases", ()))

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.fw} benchmark process died")
        return json.loads(line)

    def ask(self, **request) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        return self._read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def measure_in_turns(frameworks, args) -> tuple[dict, dict, list | None]:
    """Round r = 1..repeats: for every case, each framework in turn gets a fresh process
    that builds that case's data, warms up and times one call, alone on the machine. The
    frameworks compared on a case are thus timed within seconds of each other: the speed of
    these shared machines drifts by tens of percent within minutes, and when each framework
    ran all its cases in one go, a ratio could compare a slow minute with a fast one. The
    median over rounds is reported."""
    times, shares, sizes, skipped, supported = {}, {}, {}, set(), {}
    for _ in range(args.repeats):
        for case, _, _ in CASES:
            for fw in frameworks:
                if fw in skipped or case not in supported.get(fw, {case}):
                    continue
                w = Worker(fw, args, announce=fw not in supported, case=case)
                try:
                    if w.skipped:
                        skipped.add(fw)
                        continue
                    supported[fw] = w.cases
                    if case not in w.cases:
                        continue
                    w.ask(op="warmup", case=case)
                    reply = w.ask(op="time", case=case)
                    times.setdefault(case, {}).setdefault(fw, []).append(reply["seconds"])
                    shares.setdefault(case, []).append(reply["others"])
                    sizes[case] = w.ask(op="size", case=case)["n"]
                finally:
                    w.close()
    scaling_rows = None
    if "ffbp" in frameworks and args.scaling:
        w = Worker("ffbp", args, announce=False)
        try:
            scaling_rows = w.ask(op="scaling", repeats=args.repeats)["rows"]
        finally:
            w.close()
    throughput, others = {}, {}
    for case, per_fw in times.items():
        throughput[case] = {fw: result(sizes[case], t) for fw, t in per_fw.items()}
        known = [x for x in shares[case] if x is not None]
        others[case] = max(known) if known else None
        for fw, t in per_fw.items():
            print(f"  {case:<15} {report.LABELS[fw]:<12} "
                  f"{throughput[case][fw]['samples_per_s']:>11,.0f} samples/s  "
                  f"({min(t):.3f}-{max(t):.3f} s)", flush=True)
    return throughput, others, scaling_rows


def serve(fw: str, args) -> None:
    """The worker process: answer timing requests for one framework on stdin/stdout."""
    import contextlib
    import gc
    import io

    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        modules = load([fw])
    if not modules:
        print(json.dumps({"skipped": quiet.getvalue().strip() or "not installed"}), flush=True)
        return
    module = modules[fw]
    cases = {case: (builder, bs) for case, builder, bs in CASES if hasattr(module, builder)}
    print(json.dumps({"version": getattr(module, "VERSION", ""), "cases": list(cases)}),
          flush=True)
    # only the data the requested case needs (the scaling runs: prefixes of 2x the samples)
    sizes = [args.samples // 4, args.samples // 2, args.samples, args.samples * 2]
    builder = cases[args.case][0] if args.case in cases else None
    X, y = (mnist_like(sizes[-1]) if args.case == "scaling" else
            mnist_like(args.samples) if builder in ("classifier_epoch", "predictor") else
            (None, None))
    tab = tabular(args.samples * 5 // 3) if builder == "regressor_epoch" else None
    data = {"classifier_epoch": (X, y), "regressor_epoch": tab, "predictor": (X, y)}
    built = {}
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "scaling":
            rows = scaling(module, X, y, sizes, req["repeats"], echo=False)
            print(json.dumps({"rows": rows}), flush=True)
            continue
        builder, bs = cases[req["case"]]
        Xc, yc = data[builder]
        if req["op"] == "size":
            print(json.dumps({"n": len(Xc)}), flush=True)
            continue
        if req["case"] not in built:
            args_ = (Xc, yc) if bs is None else (Xc, yc, bs)
            built[req["case"]] = getattr(module, builder)(*args_)
        fn = built[req["case"]]
        gc.collect()
        start = machine.cpu_snapshot()
        t0 = time.perf_counter()
        fn()
        seconds = time.perf_counter() - t0
        print(json.dumps({"seconds": seconds,
                          "others": machine.others_share(start, machine.cpu_snapshot())}),
              flush=True)


def measure_small(args) -> tuple[list | None, list | None]:
    """The small-table rows (ffbp.sklearn against scikit-learn on four real tables) and the
    time-to-accuracy row (digits: ffbp, scikit-learn, PyTorch), each fit in a fresh process.
    --quick: iris only and 30 epochs at most."""
    wanted = [fw for fw in ("ffbp", "sklearn", "torch") if fw in args.frameworks]
    if args.no_small or "ffbp" not in wanted:
        return None, None
    try:
        import sklearn  # noqa: F401    (the tables are scikit-learn's data sets)
    except ImportError:
        print("skipping the small-table rows: scikit-learn is not installed")
        return None, None
    from . import small_tables, time_to_accuracy

    print("small tables (a fresh process per fit, scikit-learn and ffbp in turn):", flush=True)
    tables = ("iris",) if args.quick else small_tables.TABLES
    pair = [fw for fw in small_tables.FRAMEWORKS if fw in wanted]
    runs = small_tables.measure(tables, args.repeats, pair)
    # held-out accuracy over small_tables.SEEDS seeds (untimed; the rounds' 3 fits say
    # little on 38 rows)
    accuracy = None if args.quick else small_tables.measure_accuracy(tables, frameworks=pair)
    small = small_tables.summarise(runs, accuracy)
    print("time to accuracy on digits (a fresh process per run):", flush=True)
    runs = time_to_accuracy.measure(wanted, args.repeats,
                                    max_epochs=30 if args.quick else time_to_accuracy.MAX_EPOCHS)
    return small, time_to_accuracy.summarise(runs)


def measure_playground(args) -> dict | None:
    """The playground row (``benchmarks.playground``), when its web stack is installed."""
    if args.no_playground or "ffbp" not in args.frameworks:
        return None
    try:
        import playwright  # noqa: F401
        import starlette  # noqa: F401
        import websockets  # noqa: F401
    except ImportError:
        print('skipping the playground row: pip install "ffbp[playground]" playwright')
        return None
    from . import playground

    print("playground (the server alone, then the page in chromium):", flush=True)
    return playground.measure(seconds=2.0 if args.quick else 5.0)


def measure_mpi(args, cores: int) -> list[dict] | None:
    """The MPI row: ``benchmarks.bench_mpi`` under ``mpiexec -n P`` for P = 1 and 2, the
    cores shared out as BLAS threads (P=1: all of them; P=2: half each)."""
    import os
    import shutil

    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or \
        shutil.which("mpiexec")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        mpiexec = None
    if mpiexec is None:
        print("skipping the MPI runs: mpi4py or mpiexec missing (pip install \"ffbp[mpi]\")")
        return None
    # Rounds, 1 and 2 ranks in turn (one timed epoch each), so that the machine's drift hits
    # both alike; the median over the rounds is reported.
    runs = {}
    for _ in range(args.repeats):
        for ranks in (1, 2):
            threads = str(max(1, cores // ranks))
            env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads,
                   "MKL_NUM_THREADS": threads}
            cmd = [mpiexec, "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m",
                   "benchmarks.bench_mpi", str(args.samples), "1", "128", "1024"]
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
            if done.returncode != 0:
                print(f"the MPI run with {ranks} ranks failed: {done.stderr.strip()[-500:]}")
                return None
            for row in json.loads(done.stdout.strip().splitlines()[-1]):
                runs.setdefault((row["batch"], ranks), []).append({**row, "threads": int(threads)})
    rows = []
    for _, found in sorted(runs.items()):
        mid = sorted(found, key=lambda r: r["seconds"])[len(found) // 2]
        rows.append({**mid, "times": [r["seconds"] for r in found]})
    return rows


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.worker:
        serve(args.worker, args)
        return {}
    started, cpu_start = time.perf_counter(), machine.cpu_snapshot()
    info = machine.describe()
    print(f"ffbp benchmark: 784-256-128-10 ReLU, softmax cross-entropy, Adam(1e-3), float32, "
          f"{args.samples:,} synthetic MNIST-shaped samples; tabular 20-64-64-1 ReLU, MSE, "
          f"{args.samples * 5 // 3:,} rows; one timed epoch after one warm-up epoch, median of "
          f"{args.repeats}")
    print("\n".join(machine.format_description(info)))
    from .bench_gemm import probe_gflops
    info["probe_gflops"] = {n: probe_gflops(n) for n in (info["blas_threads"], 1)}
    print("one float32 GEMM (1024x784 @ 784x256) now runs at " + ", ".join(
        f"{g:.0f} GFLOP/s on {n} thread{'s' * (n > 1)}" for n, g in info["probe_gflops"].items())
        + " (for scale: about 270 on the 2-core machines of the README's numbers)")
    # Memory first: Linux carries a parent's ru_maxrss into its children, so spawn them while
    # this process is still small (before torch is imported and the data made).
    memory = {} if args.no_memory else measure_memories(args.frameworks, args.samples)
    print(f"measuring ({args.repeats} rounds; in each, every framework in a fresh process of "
          f"its own, alone on the machine):", flush=True)
    throughput, others, scaling_rows = measure_in_turns(args.frameworks, args)
    small, to_accuracy = measure_small(args)
    startup_row = None
    if "ffbp" in args.frameworks and not args.no_startup:
        from . import startup

        print("start-up (ffbp train and ffbp --version in turn, whole processes):", flush=True)
        startup_row = startup.measure(pairs=3 if args.quick else 10)
    playground_rows = measure_playground(args)
    results = {"machine": info, "config": {k: v for k, v in vars(args).items() if k != "json"},
               "throughput": throughput, "others_cpu_by_case": others,
               "ratios": report.ratios(throughput), "memory": memory}
    if args.scaling and "ffbp" in args.frameworks:
        results["scaling"] = scaling_rows

    print(f"\nThroughput, samples/s (median of {args.repeats}; inference = predict on "
          f"{args.samples:,} rows)")
    print(report.throughput_table(throughput, others))
    print("\nRatios (ffbp samples/s over the reference's: the median over rounds of each "
          "round's ratio, the two timed seconds apart) and the issue's targets")
    print(report.ratio_table(results["ratios"]))
    if small:
        from . import small_tables

        print(f"\nSmall tables: MLPClassifier {small_tables.PARAMS}, fit in a fresh process "
              f"(first fit included); ratios = scikit-learn's seconds over ffbp's, paired "
              f"by round, median of {args.repeats}; target: fit ratio >= "
              f"{small_tables.TARGET} at equal or better accuracy")
        print(small_tables.table_text(small))
        results["small_tables"] = small
    if to_accuracy:
        from . import time_to_accuracy

        print(f"\nTime to {to_accuracy[0]['target']:.2f} held-out accuracy on digits "
              f"(64-64-32-10, Adam, batch 32; training seconds in a fresh process, first "
              f"epoch included; median of {args.repeats})")
        print(time_to_accuracy.table_text(to_accuracy))
        results["time_to_accuracy"] = to_accuracy
    if startup_row:
        from . import startup

        print(f"\nStart-up: ffbp train on a 300-row CSV for 10 epochs against ffbp --version, "
              f"whole processes in turn, medians of {startup_row['pairs']} pairs")
        print(startup.text(startup_row))
        results["startup"] = startup_row
    if playground_rows:
        from . import playground

        print("\nPlayground (issue 15): 2-8-8-1 on 500 points, training steps/s on the "
              "server and snapshots/s received (alone) or drawn (chromium)")
        print(playground.text(playground_rows))
        results["playground"] = playground_rows
    if results.get("memory"):
        print(f"\nPeak memory (MiB) of one training epoch, batch 128, "
              f"{args.samples:,} samples, one process per framework")
        print(report.memory_table(results["memory"]))
    if results.get("scaling"):
        print("\nScaling: ffbp, batch 128, time per epoch")
        print(report.scaling_table(results["scaling"]))
    if not args.no_mpi and "ffbp" in args.frameworks:
        results["mpi"] = rows = measure_mpi(args, info["blas_threads"])
        if rows:
            print(f"\nData-parallel over MPI (ffbp, each rank training on its own "
                  f"{args.samples:,}/P rows, global batch as shown)")
            print(report.mpi_table(rows))
    results["elapsed_s"] = time.perf_counter() - started
    results["others_cpu_share"] = share = machine.others_share(cpu_start, machine.cpu_snapshot())
    print(f"\ntotal benchmark time: {results['elapsed_s']:.0f} s")
    if share is not None:
        print(f"other processes used {share:.0%} of the CPUs during the run"
              + (" -- the numbers above are disturbed; rerun on a quiet machine"
                 if share > report.DISTURBED else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()
