"""Tables: throughput, ratios against the performance issue's targets, memory, scaling."""

from __future__ import annotations

import statistics

LABELS = {"ffbp": "ffbp", "gemm": "GEMM bound", "torch": "PyTorch", "sklearn": "scikit-learn",
          "onnx": "onnxruntime"}
#: (case, reference) -> minimum of ffbp's samples/s over the reference's: the second
#: performance round's targets where it sets them (PyTorch, the GEMM bound, onnxruntime),
#: the first round's against scikit-learn.
TARGETS = {
    ("train bs=32", "torch"): 2.5, ("train bs=32", "sklearn"): 2.5,
    ("train bs=32", "gemm"): 0.6,
    ("train bs=128", "torch"): 1.7, ("train bs=128", "sklearn"): 2.5,
    ("train bs=128", "gemm"): 0.8,
    ("train bs=1024", "torch"): 1.2, ("train bs=1024", "sklearn"): 2.0,
    ("train bs=1024", "gemm"): 0.9,
    ("tabular bs=128", "gemm"): 0.7,
    ("inference", "onnx"): 1.0,
}
#: ffbp's peak memory over PyTorch's, at most.
MEMORY_TARGET = 0.6
REFERENCES = ("torch", "sklearn", "gemm", "onnx")
DISTURBED = 0.05        # share of the CPUs used by other processes that makes numbers suspect


def table(header, rows) -> str:
    """Plain-text table: first column left-aligned, the others right-aligned."""
    rows = [[str(c) for c in r] for r in [header, *rows]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
             for r in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def status(value, target, at_most=False) -> str:
    if target is None:
        return ""
    if value is None:
        return "n/a (reference not run)"
    return "met" if (value <= target if at_most else value >= target) else "NOT MET"


def paired_ratio(ffbp: dict, ref: dict) -> float:
    """ffbp's speed over the reference's: the median over rounds of the ratio within each
    round, where the two were timed seconds apart (``times`` in round order). On a machine
    whose speed drifts, this compares like with like, which the ratio of the two medians
    (each possibly from a different minute) does not. Falls back to the medians' ratio."""
    a, b = ffbp.get("times", []), ref.get("times", [])
    if len(a) == len(b) and a:             # same case: the same samples per call
        return statistics.median(tb / ta for ta, tb in zip(a, b, strict=True))
    return ffbp["samples_per_s"] / ref["samples_per_s"]


def ratios(throughput: dict) -> list[dict]:
    """ffbp / reference for every case (``paired_ratio``), with the target where the issue
    sets one."""
    out = []
    for case, by_fw in throughput.items():
        if "ffbp" not in by_fw:
            continue
        for ref in REFERENCES:
            target = TARGETS.get((case, ref))
            if ref not in by_fw and target is None:
                continue
            value = paired_ratio(by_fw["ffbp"], by_fw[ref]) if ref in by_fw else None
            out.append({"case": case, "reference": ref, "ratio": value, "target": target,
                        "status": status(value, target)})
    return out


def throughput_table(throughput: dict, others: dict | None = None) -> str:
    """Samples/s per case and framework; '*' marks a case during which other processes used
    more than ``DISTURBED`` of the CPUs."""
    others = others or {}
    frameworks = [fw for fw in LABELS if any(fw in r for r in throughput.values())]
    rows = [[case + (" *" if (others.get(case) or 0) > DISTURBED else "")]
            + [f"{r[fw]['samples_per_s']:,.0f}" if fw in r else "-" for fw in frameworks]
            for case, r in throughput.items()]
    text = table(["case"] + [LABELS[fw] for fw in frameworks], rows)
    disturbed = {c: v for c, v in others.items() if (v or 0) > DISTURBED}
    if disturbed:
        text += ("\n* disturbed: other processes used " + ", ".join(
            f"{v:.0%} ({c})" for c, v in disturbed.items()) + " of the CPUs meanwhile")
    return text


def ratio_table(rows: list[dict]) -> str:
    return table(["case", "ratio", "value", "target", "status"], [
        [r["case"], f"ffbp/{LABELS[r['reference']]}",
         "-" if r["ratio"] is None else f"{r['ratio']:.2f}",
         "-" if r["target"] is None else f">= {r['target']}", r["status"]] for r in rows])


def memory_table(memory: dict) -> str:
    rows = [[LABELS[fw], f"{m['baseline_mib']:,.0f}", f"{m['peak_mib']:,.0f}",
             f"{m['peak_mib'] - m['baseline_mib']:,.0f}", f"{m['ru_maxrss_mib']:,.0f}"]
            for fw, m in memory.items()]
    text = table(["framework", "after imports + data", "peak", "training added", "ru_maxrss"],
                 rows)
    floor = max(m["launcher_mib"] for m in memory.values())
    text += ("\n(peak: the process's own high-water mark, VmHWM; ru_maxrss also counts the "
             f"launcher's {floor:,.0f} MiB, which Linux carries into a vfork-ed child)")
    if "ffbp" in memory:
        torch = memory.get("torch")
        value = torch and memory["ffbp"]["peak_mib"] / torch["peak_mib"]
        shown = "-" if value is None else f"{value:.2f}"
        text += (f"\nffbp peak / PyTorch peak: {shown} (target <= {MEMORY_TARGET}: "
                 f"{status(value, MEMORY_TARGET, at_most=True)})")
    return text


def scaling_table(rows: list[dict]) -> str:
    """Time per epoch and per sample; per-sample times relative to the middle size's."""
    ref = rows[len(rows) // 2]
    per = [r["seconds"] / r["samples"] for r in rows]
    body = [[f"{r['samples']:,}", f"{r['seconds']:.3f}", f"{p * 1e6:.2f}",
             f"{p * ref['samples'] / ref['seconds']:.2f}"] for r, p in zip(rows, per, strict=True)]
    spread = max(per) / min(per)
    return (table(["samples", "s/epoch", "us/sample", f"vs {ref['samples']:,}"], body)
            + f"\nper-sample time max/min: {spread:.2f} "
              f"({'linear' if spread <= 1.25 else 'NOT linear'}: within 25% counts as linear)")


def mpi_table(rows: list[dict]) -> str:
    """samples/s with 1 and more ranks per batch size, and the all-reduce's share of the
    step time (time inside the call, waiting for the slower rank included)."""
    body = []
    for r in rows:
        one = next((o for o in rows if o["ranks"] == 1 and o["batch"] == r["batch"]), None)
        body.append([r["batch"], f"{r['ranks']} x {r['threads']}", f"{r['samples_per_s']:,.0f}",
                     f"{r['samples_per_s'] / one['samples_per_s']:.2f}" if one else "",
                     f"{r['allreduce_ms_per_step']:.2f}", f"{r['allreduce_share']:.0%}"])
    return table(["batch", "ranks x threads", "samples/s", "vs 1 rank", "all-reduce ms/step",
                  "all-reduce share"], body)
