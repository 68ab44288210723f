"""The benchmark's small-table, time-to-accuracy and start-up summaries (benchmarks/): ratios
are taken within a round and the median over rounds is reported, so a slow minute on a
shared machine cannot pair with a fast one. Pure functions on made-up records; no timing."""

import sys
from pathlib import Path

import pytest

# benchmarks/ is a folder of the repository, not part of the installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import small_tables, startup, time_to_accuracy  # noqa: E402


def _fit(seconds, epochs=10, imported=0.5, accuracy=0.9):
    return {"fit_s": seconds, "fit_cpu_s": seconds, "import_s": imported, "epochs": epochs,
            "accuracy": accuracy}


def test_small_table_ratios_are_paired_by_round():
    # Round 2 ran on a machine twice as slow for both: the paired ratio stays 2.
    runs = {"iris": {"sklearn": [_fit(0.2), _fit(0.4), _fit(0.2)],
                     "ffbp": [_fit(0.1), _fit(0.2), _fit(0.1, epochs=5)]}}
    (row,) = small_tables.summarise(runs)
    assert row["fit_ratio"] == pytest.approx(2.0)
    assert row["cpu_ratio"] == pytest.approx(2.0)
    assert row["epoch_ratio"] == pytest.approx(2.0)          # per epoch: 1.0, 2.0, 2.0
    assert row["total_ratio"] == pytest.approx((0.2 + 0.5) / (0.1 + 0.5))
    assert row["ffbp"]["fit_s"] == pytest.approx(0.1)


def test_small_table_accuracy_uses_the_seeds_and_shows_the_gap():
    runs = {"iris": {"sklearn": [_fit(0.2)], "ffbp": [_fit(0.1)]}}
    accuracy = {"iris": {"sklearn": [1.0, 1.0, 1.0, 1.0], "ffbp": [1.0, 0.9, 1.0, 0.9]}}
    (row,) = small_tables.summarise(runs, accuracy)
    assert row["ffbp"]["accuracy"] == pytest.approx(0.95)
    gap = small_tables.accuracy_gap(row["ffbp"], row["sklearn"])
    assert gap.startswith("-0.050 ± 0.0")
    text = small_tables.table_text([row])
    assert "2.00x" in text and "NOT MET (accuracy)" in text


def test_time_to_accuracy_speedups_are_paired_and_set_up_apart():
    runs = {"ffbp": [{"seconds": 0.1, "setup_s": 0.0, "epochs": 7, "import_s": 0.8,
                      "reached": True}] * 3,
            "torch": [{"seconds": s, "setup_s": s - 0.2, "epochs": 7, "import_s": 0.7,
                       "reached": True} for s in (1.0, 1.2, 0.9)]}
    rows = {r["framework"]: r for r in time_to_accuracy.summarise(runs)}
    assert rows["torch"]["ffbp_speedup"] == pytest.approx(10.0)
    assert rows["torch"]["ffbp_speedup_epochs"] == pytest.approx(2.0)
    assert "ffbp_speedup" not in rows["ffbp"]
    assert "3/3" in time_to_accuracy.table_text(list(rows.values()))


def test_startup_text_names_the_target():
    r = {"train_wall_s": 0.3, "train_cpu_s": 0.4, "version_wall_s": 0.1,
         "version_cpu_s": 0.2, "ratio_wall": 3.0, "ratio_cpu": 2.0, "target": 1.5}
    assert "NOT MET" in startup.text(r)
    assert "met" in startup.text(r | {"ratio_wall": 1.4}).splitlines()[-1]
