"""What the numbers were measured on: CPU, versions, BLAS library and threads, OpenBLAS env."""

from __future__ import annotations

import os
import platform
import time

import numpy as np

OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: Set by `make bench` to the values it removed from the benchmark's environment.
UNSET_NOTE_VAR = "FFBP_BENCH_UNSET"


def blas_info() -> list[dict]:
    """threadpoolctl's view of the loaded BLAS / OpenMP libraries ([] without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return threadpool_info()


def blas_threads() -> int:
    """Threads of NumPy's BLAS (the first BLAS threadpoolctl reports), else the CPU count."""
    for lib in blas_info():
        if lib.get("user_api") == "blas":
            return int(lib["num_threads"])
    return os.cpu_count() or 1


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


#: The vector extensions that decide a GEMM's and an element-wise loop's speed, in the order
#: they came; /proc/cpuinfo's names.
VECTOR_FLAGS = ("sse4_2", "avx", "fma", "avx2", "avx512f", "avx512dq", "avx512bw", "avx512vl",
                "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16")


def vector_extensions() -> list[str]:
    """The CPU's vector extensions among ``VECTOR_FLAGS`` ([] where /proc/cpuinfo is
    missing): the same OpenBLAS or numba code runs at different speeds with and without
    AVX-512, so a number means little without them."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return [flag for flag in VECTOR_FLAGS if flag in have]
    except OSError:
        pass
    return []


def describe() -> dict:
    import ffbp

    env = {name: os.environ.get(name) for name in OPENBLAS_VARS}
    return {
        "cpu": cpu_model(), "vector_extensions": vector_extensions(),
        "cpu_count": os.cpu_count(), "python": platform.python_version(),
        "numpy": np.__version__, "ffbp": getattr(ffbp, "__version__", "0.1.0 (source tree)"),
        "openblas_env": env, "unset_by_make_bench": os.environ.get(UNSET_NOTE_VAR),
        "blas": [{k: lib.get(k) for k in ("user_api", "internal_api", "prefix", "version",
                                          "architecture", "threading_layer", "num_threads")}
                 | {"file": os.path.basename(lib.get("filepath", ""))} for lib in blas_info()],
        "blas_threads": blas_threads(),
    }


def format_description(d: dict) -> list[str]:
    lines = [f"CPU: {d['cpu']} ({d['cpu_count']} logical CPUs); Python {d['python']}, "
             f"NumPy {d['numpy']}, ffbp {d['ffbp']}",
             "vector extensions: " + (" ".join(d.get("vector_extensions") or []) or "unknown")]
    if not d["blas"]:
        lines.append("BLAS: unknown (pip install threadpoolctl to see it)")
    for lib in d["blas"]:
        lines.append(f"{lib['user_api']}: {lib['internal_api']} {lib['version']} "
                     f"({lib['file']}), kernel/architecture {lib['architecture']}, "
                     f"{lib['threading_layer']}, {lib['num_threads']} threads")
    for name, value in d["openblas_env"].items():
        lines.append(f"{name}: {'not set' if value is None else repr(value)}")
    if d["unset_by_make_bench"] is not None:
        lines.append(f"make bench unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for the "
                     f"benchmark processes ({d['unset_by_make_bench'].strip()})")
    return lines


def cpu_snapshot() -> tuple[float, float, float] | None:
    """(wall s, busy CPU-s of the whole machine, CPU-s of this process and its children)."""
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq = map(int, f.readline().split()[1:8])
    except (OSError, ValueError):
        return None
    t = os.times()
    return (time.perf_counter(), (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK"),
            t.user + t.system + t.children_user + t.children_system)


def others_share(start, end) -> float | None:
    """Share of all CPUs that other processes used between two snapshots (0..1)."""
    if start is None or end is None:
        return None
    other = (end[1] - start[1]) - (end[2] - start[2])
    return max(0.0, other / ((end[0] - start[0]) * (os.cpu_count() or 1)))
