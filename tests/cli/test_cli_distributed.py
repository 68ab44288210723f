"""``ffbp train --distributed``: each rank reads its own rows (CSV byte ranges, Parquet row
groups); the preprocessing and the reported metrics are those of the whole table."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import require, skip_unless

pd = require("pandas", "the command line reads tables with pandas")
require("pyarrow", "the command line reads Parquet with pyarrow")

from ffbp.cli import shards  # noqa: E402
from ffbp.cli.main import main  # noqa: E402
from ffbp.distributed import Comm  # noqa: E402

MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which(
    "mpiexec")
FFBP = [sys.executable, "-m", "ffbp"]


class FakeComm(Comm):
    def __init__(self, rank, size):
        self.rank, self.size = rank, size


def table(n=600, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n) * 3 + 1,
                       "colour": rng.choice(["red", "green", "blue"], n),
                       "note": [("x" * int(k)) for k in rng.integers(0, 40, n)]})
    df["y"] = np.where(df.a + (df.colour == "red") > 0.3, "yes", "no")
    return df


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_csv_byte_ranges_cover_every_row_once_in_order(size, tmp_path):
    df = table()
    df.to_csv(tmp_path / "t.csv", index=False)
    parts = [shards.read_own_rows(tmp_path / "t.csv", FakeComm(r, size))[0]
             for r in range(size)]
    joined = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(joined, pd.read_csv(tmp_path / "t.csv"))
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) < 0.1 * len(df)      # byte ranges: roughly even


def test_parquet_row_groups_are_split_among_ranks(tmp_path):
    df = table()
    df.to_parquet(tmp_path / "t.parquet", row_group_size=100)
    parts = [shards.read_own_rows(tmp_path / "t.parquet", FakeComm(r, 4))[0] for r in range(4)]
    assert [len(p) for p in parts] == [100, 200, 100, 200]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), df)
    with pytest.raises(Exception, match="6 row group.*7 ranks.*row_group_size"):
        shards.read_own_rows(tmp_path / "t.parquet", FakeComm(0, 7))


def test_stdin_and_compressed_files_cannot_be_split(tmp_path):
    table().to_csv(tmp_path / "t.csv.gz", index=False)
    with pytest.raises(Exception, match="seekable and uncompressed"):
        shards.read_own_rows(tmp_path / "t.csv.gz", FakeComm(0, 2))


def _launch(ranks, args, timeout=120):
    return subprocess.run(["timeout", str(timeout), MPIEXEC, "-n", str(ranks), *FFBP, *args],
                          capture_output=True, text=True, timeout=timeout + 10)


def need_mpi():
    """Skip (fail in CI) without mpi4py, mpiexec (the mpich wheel's) or coreutils' timeout,
    which bounds each launch."""
    require("mpi4py", "the ranks talk through mpi4py")
    skip_unless(MPIEXEC is not None, "no mpiexec beside this Python or on PATH (the mpich "
                                     "wheel has one); the dev extras install mpich, so "
                                     "`make test` and CI run this test")
    skip_unless(shutil.which("timeout") is not None,
                "no timeout command (coreutils) to bound each mpiexec launch")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_two_ranks_fit_the_preprocessing_of_the_whole_table(fmt, tmp_path):
    need_mpi()
    df = table(900)
    data = tmp_path / f"t.{fmt}"
    df.to_csv(data, index=False) if fmt == "csv" else df.to_parquet(data, row_group_size=150)
    common = ["--target", "y", "--epochs", "3", "--validation-split", "0", "-q", "--drop",
              "note"]
    result = _launch(2, ["train", str(data), "-o", str(tmp_path / "m2.ffbp"), *common,
                         "--distributed"])
    assert result.returncode == 0, result.stderr
    assert main(["train", str(data), "-o", str(tmp_path / "m1.ffbp"), *common]) == 0
    import ffbp

    one, two = (ffbp.load(tmp_path / f"m{k}.ffbp").metadata for k in (1, 2))
    assert two["training"]["ranks"] == 2 and two["training"]["rows"] == 900
    assert one["target"] == two["target"]
    for f1, f2 in zip(one["features"], two["features"], strict=True):
        assert f1.keys() == f2.keys() and f1["name"] == f2["name"]
        for k in f1:
            if isinstance(f1[k], float):
                assert f2[k] == pytest.approx(f1[k], rel=1e-12, abs=1e-15)
            else:
                assert f1[k] == f2[k]
    # the job's reported accuracy is that of the saved model on the whole table
    metrics = two["training"]["metrics"]["train"]
    res = subprocess.run([*FFBP, "evaluate", str(tmp_path / "m2.ffbp"), str(data), "--json"],
                         capture_output=True, text=True)
    out = json.loads(res.stdout)
    assert out["rows"] == 900
    assert metrics["accuracy"] == pytest.approx(out["accuracy"], abs=1e-12)
    # Two float32 means of the 900 (or 2 × 450) non-negative per-sample losses, taken by BLAS
    # dot kernels in whatever order this CPU's kernel sums (AVX2 and AVX-512 differ): each
    # is within γ₉₀₀ ≈ 900u of the exact mean (u = 2⁻²⁴); twice that for the pair, and as
    # much again for the rows' forward passes, run in other batches.
    assert metrics["loss"] == pytest.approx(out["loss"], rel=4 * 900 * 2.0 ** -24)
    assert result.stdout.count("saved") == 1            # rank 0 alone speaks and writes


def test_bad_rows_in_one_ranks_part_stop_the_job_naming_the_rank(tmp_path):
    need_mpi()
    df = table(600)
    df.loc[450, "y"] = None                              # in the second half: rank 1's
    df.to_parquet(tmp_path / "t.parquet", row_group_size=100)
    start = time.monotonic()
    result = _launch(2, ["train", str(tmp_path / "t.parquet"), "--target", "y", "-o",
                         str(tmp_path / "m.ffbp"), "--epochs", "2", "-q", "--distributed"],
                     timeout=60)
    assert result.returncode != 0
    assert time.monotonic() - start < 30
    assert "rank 1 of 2" in result.stderr and "missing value" in result.stderr
    assert "part 2 of 2" in result.stderr and "first at row 451" in result.stderr
    assert not (tmp_path / "m.ffbp").exists()


def test_typo_warnings_add_up_the_parts(capsys):
    from ffbp.cli import data as cli_data

    column = pd.Series(["1.5"] * 30 + ["1,5"] + ["2.5"] * 9, name="price")
    halves = [column.iloc[:20], column.iloc[20:]]     # the index keeps the file's rows
    with pytest.warns(cli_data.TableWarning) as caught:    # 'ffbp: warning:' lines in main
        cli_data.warn_typos([cli_data.typo_summary(h) for h in halves], "price")
        cli_data.warn_typos([cli_data.typo_summary(column.iloc[:20])], "price")
    assert len(caught) == 1                                # no typo in that part alone
    assert "column 'price' is mostly numbers but holds '1,5' (row 31)" in str(caught[0].message)


def test_a_column_that_is_text_in_one_part_is_text_in_all(tmp_path):
    """'code' looks numeric ("0.50") except for one "unknown" in the second half: one
    process reads the column as text, and so must both ranks, or rank 0's categories would be
    "0.5" where the model later sees "0.50"."""
    need_mpi()
    df = table(400)
    codes = np.random.default_rng(1).choice(["0.50", "1.25", "2.00"], len(df)).astype(object)
    codes[350] = "unknown"
    df["code"] = codes
    df.to_csv(tmp_path / "t.csv", index=False)
    common = ["--target", "y", "--epochs", "1", "-q", "--drop", "note"]
    result = _launch(2, ["train", str(tmp_path / "t.csv"), "-o", str(tmp_path / "m2.ffbp"),
                         *common, "--distributed"])
    assert result.returncode == 0, result.stderr
    assert main(["train", str(tmp_path / "t.csv"), "-o", str(tmp_path / "m1.ffbp"),
                 *common]) == 0
    import ffbp

    specs = [{f["name"]: f for f in ffbp.load(tmp_path / f"m{k}.ffbp").metadata["features"]}
             for k in (1, 2)]
    assert specs[0]["code"]["categories"] == ["0.50", "1.25", "2.00", "unknown"]
    assert specs[1]["code"] == specs[0]["code"]
    assert result.stderr.count("column 'code' is mostly numbers but holds 'unknown' (row 351)") == 1


# -- odd tables read by parts as one process reads them whole ------------------------------
@pytest.mark.parametrize("size", [1, 3])
def test_parts_of_a_csv_with_a_delimiter_ending_every_line(size, tmp_path):
    df = table(n=60)
    lines = df.to_csv(index=False).splitlines()
    (tmp_path / "t.csv").write_text("\n".join([lines[0]] + [x + "," for x in lines[1:]])
                                    + "\n")
    parts = [shards.read_own_rows(tmp_path / "t.csv", FakeComm(r, size))[0]
             for r in range(size)]
    joined = pd.concat(parts, ignore_index=True)
    assert joined["a"].tolist() == pytest.approx(df["a"].tolist())     # not shifted
    assert joined["y"].tolist() == df["y"].tolist()


def test_a_value_past_the_last_column_in_a_part_is_an_error(tmp_path):
    lines = table(n=60).to_csv(index=False).splitlines()
    lines[31:] = [x + ",9" for x in lines[31:]]     # rows 31-60, which part 2 reads
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(Exception, match="a row of part 2 of 2 has more fields than the "
                                        "header's 5 column names"):
        shards.read_own_rows(tmp_path / "t.csv", FakeComm(1, 2))


def test_a_repeated_column_name_is_an_error_in_every_part(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = table(n=60)
    (tmp_path / "t.csv").write_text(df.to_csv(index=False).replace("a,b,", "a,a,", 1))
    pq.write_table(pa.table([pa.array(df[c]) for c in df.columns],
                            names=["a", "b", "colour", "b", "y"]), tmp_path / "t.parquet",
                   row_group_size=20)
    for name, message in (("t.csv", "columns 1 and 2"), ("t.parquet", "columns 2 and 4")):
        for rank in range(2):
            with pytest.raises(Exception, match=f"two columns named '[ab]' \\({message}\\)"):
                shards.read_own_rows(tmp_path / name, FakeComm(rank, 2))


def test_a_decimal_column_is_numeric_in_every_part(tmp_path):
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    df = table(n=60)
    prices = [decimal.Decimal(f"{x:.2f}") for x in df["b"]]
    pq.write_table(pa.table({"price": pa.array(prices, type=pa.decimal128(8, 2)),
                             "y": df["y"]}), tmp_path / "t.parquet", row_group_size=20)
    parts = [shards.read_own_rows(tmp_path / "t.parquet", FakeComm(r, 3))[0]
             for r in range(3)]
    from ffbp.tabular.columns import is_numeric_column, numbers

    assert all(is_numeric_column(p["price"]) for p in parts)
    assert np.concatenate([numbers(p["price"], "price", "t") for p in parts]).tolist() == \
        [float(p) for p in prices]


def test_pandas_warnings_while_reading_a_part_still_reach_the_user(tmp_path):
    lines = ["a,c"] + [f"{i % 7},{i % 5}" for i in range(300_000)] + ["1,x"]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    with pytest.warns(pd.errors.DtypeWarning, match="mixed types"):
        df = shards.read_own_rows(tmp_path / "t.csv", FakeComm(0, 1))[0]
    assert len(df) == 300_001
