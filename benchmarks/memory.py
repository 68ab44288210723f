"""Peak memory of one training epoch, one framework per process (``ru_maxrss`` is a process's
high-water mark, so frameworks must not share one).

    python -m benchmarks.memory ffbp --samples 60000 --batch-size 128

prints one JSON line: the peak resident set after imports and data (``baseline_mib``) and
after one training epoch (``peak_mib``), in MiB. Both are the process's own high-water mark
(VmHWM on Linux): ``ru_maxrss`` (also recorded) includes the parent's peak, which Linux carries
into a child started with vfork, as Python's subprocess does.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import subprocess
import sys


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024    # Linux: KiB


def _peak_mib() -> float:
    """This address space's peak RSS (VmHWM), else ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _maxrss_mib()


def measure(framework: str, samples: int, batch_size: int) -> dict:
    """Run the measurement in a fresh interpreter and return its JSON record. Linux carries
    the parent's ru_maxrss into the child, so ``launcher_mib`` is a floor of every figure."""
    launcher = _maxrss_mib()
    cmd = [sys.executable, "-m", "benchmarks.memory", framework, "--samples", str(samples),
           "--batch-size", str(batch_size)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{framework}: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"launcher_mib": launcher}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("framework")
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)
    from .workload import FRAMEWORKS, mnist_like

    module = importlib.import_module(FRAMEWORKS[args.framework])
    X, y = mnist_like(args.samples)
    baseline = _peak_mib()
    module.classifier_epoch(X, y, args.batch_size)()
    print(json.dumps({"framework": args.framework, "samples": args.samples,
                      "batch_size": args.batch_size, "baseline_mib": baseline,
                      "peak_mib": _peak_mib(), "ru_maxrss_mib": _maxrss_mib()}))


if __name__ == "__main__":
    main()
