"""Odd but plausible tables through the ``ffbp`` command: repeated column names, stdin,
columns of the output that a --keep column would collide with. Each bad table is one
``ffbp: error:`` line naming what is wrong, exit code 1."""

from __future__ import annotations

import gzip
import io
import json
import sys

import numpy as np
import pytest
from cli_kit import one_line_error, run
from conftest import require
from tables_kit import small_table

pd = require("pandas", "the command line reads tables with pandas")
pa = require("pyarrow", "the command line reads Parquet with pyarrow")
pq = require("pyarrow.parquet", "the command line reads Parquet with pyarrow")

FAST = ["--epochs", "2", "--hidden", "4", "--quiet", "--no-diagnostics"]





@pytest.fixture
def model(tmp_path, capsys):
    small_table().to_csv(tmp_path / "train.csv", index=False)
    code, _, err = run(capsys, "train", tmp_path / "train.csv", "--target", "y",
                       "-o", tmp_path / "m.ffbp", *FAST)
    assert code == 0, err
    return tmp_path / "m.ffbp"


HEADER_AA = "a,b,a,color,y\n"          # 'a' is the first and the third column


@pytest.mark.parametrize("name", ["dup.csv", "dup.csv.gz", "dup.tsv"])
def test_a_repeated_column_name_in_a_csv_header_is_an_error(tmp_path, capsys, model, name):
    # pandas would read the third column as 'a.1' and train on both, or predict from the
    # first 'a' alone: which 'a' is the feature is the table's ambiguity, not ffbp's guess
    text = HEADER_AA + "".join(f"{i},{i + 1},{-i},red,{'yes' if i % 2 else 'no'}\n"
                               for i in range(12))
    if name.endswith(".tsv"):
        text = text.replace(",", "\t")
    path = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    for args in (("train", path, "--target", "y", "-o", tmp_path / "m2.ffbp", *FAST),
                 ("predict", model, path), ("evaluate", model, path)):
        code, out, err = run(capsys, *args)
        assert code == 1 and out == ""
        assert one_line_error(err) == (f"ffbp: error: {path} has two columns named 'a' "
                                       f"(columns 1 and 3): rename one of them")
    assert not (tmp_path / "m2.ffbp").exists()


def test_a_repeated_column_name_on_stdin_is_an_error(capsys, model, monkeypatch):
    text = HEADER_AA + "1,2,3,red,yes\n4,5,6,red,no\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, out, err = run(capsys, "predict", model, "-")
    assert code == 1
    assert one_line_error(err) == ("ffbp: error: - has two columns named 'a' (columns 1 "
                                   "and 3): rename one of them")


def test_stdin_still_reads_a_plain_table(capsys, model, monkeypatch):
    df = small_table(seed=1)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(df.to_csv(
        index=False).encode())))
    code, out, err = run(capsys, "predict", model, "-")
    assert code == 0, err
    assert len(pd.read_csv(io.StringIO(out))) == len(df)


def test_a_genuine_dotted_name_is_not_a_repeat(tmp_path, capsys):
    # 'a' and 'a.1' both in the header, each once: two different columns
    df = small_table()
    df["a.1"] = -df["a"]
    df.to_csv(tmp_path / "t.csv", index=False)
    code, out, err = run(capsys, "train", tmp_path / "t.csv", "--target", "y", "-o",
                         tmp_path / "m.ffbp", *FAST)
    assert code == 0, err
    assert "4 feature columns" in out


def test_a_repeated_column_name_in_a_parquet_file_is_an_error(tmp_path, capsys, model):
    df = small_table()
    table = pa.table([pa.array(df["a"]), pa.array(df["b"]), pa.array(df["color"]),
                      pa.array(df["y"]), pa.array(df["b"])], names=["a", "b", "color", "y", "b"])
    pq.write_table(table, tmp_path / "dup.parquet")
    code, out, err = run(capsys, "predict", model, tmp_path / "dup.parquet")
    assert code == 1
    assert one_line_error(err) == (f"ffbp: error: {tmp_path / 'dup.parquet'} has two "
                                   f"columns named 'b' (columns 2 and 5): rename one of them")


@pytest.mark.parametrize("kept", ["prediction", "proba_yes"])
def test_keep_of_a_column_the_predictions_would_overwrite_is_an_error(tmp_path, capsys,
                                                                      model, kept):
    # a table that holds an earlier run's predictions: keeping them beside the new ones
    # under the same name would silently replace the kept values
    df = small_table(seed=1)
    df["id"] = np.arange(len(df))
    df[kept] = "old"
    df.to_csv(tmp_path / "new.csv", index=False)
    out_path = tmp_path / "p.csv"
    code, out, err = run(capsys, "predict", model, tmp_path / "new.csv", "--keep",
                         f"id,{kept}", "-o", out_path)
    assert code == 1 and not out_path.exists()
    assert one_line_error(err) == (f"ffbp: error: cannot keep the column {kept!r} of "
                                   f"{tmp_path / 'new.csv'}: the predictions have a column "
                                   f"of that name; rename it in the table")
    code, out, err = run(capsys, "predict", model, tmp_path / "new.csv", "--keep", "id,y")
    assert code == 0, err
    written = pd.read_csv(io.StringIO(out))
    assert list(written.columns) == ["id", "y", "prediction", "proba_no", "proba_yes"]
    assert written["id"].tolist() == list(range(len(df)))


def test_json_output_has_null_for_figures_that_are_not_numbers(tmp_path, capsys):
    # a constant target: R² is undefined (0/0), in training and in evaluation alike; JSON has
    # no NaN, so a strict parser (jq, json.loads(parse_constant=...)) must get null
    df = small_table()
    df["y"] = 3.5
    df.to_csv(tmp_path / "t.csv", index=False)
    code, _, err = run(capsys, "train", tmp_path / "t.csv", "--target", "y", "--task",
                       "regression", "-o", tmp_path / "m.ffbp", *FAST)
    assert code == 0, err

    def strict(text):
        def refuse(name):
            raise AssertionError(f"{name} in JSON output")
        return json.loads(text, parse_constant=refuse)

    code, out, err = run(capsys, "evaluate", tmp_path / "m.ffbp", tmp_path / "t.csv", "--json")
    assert code == 0, err
    result = strict(out)
    assert result["r2"] is None and result["rows"] == len(df)
    code, out, err = run(capsys, "summary", tmp_path / "m.ffbp", "--json")
    assert code == 0, err
    metrics = strict(out)["metadata"]["training"]["metrics"]
    assert metrics["train"]["r2"] is None and metrics["validation"]["r2"] is None


def test_a_delimiter_at_the_end_of_every_line_is_ignored(tmp_path, capsys, model):
    # some exporters end each data line with the delimiter; pandas would then take the
    # first column as the index and shift every other column one place to the left
    df = small_table(seed=2)
    clean = df.to_csv(index=False)
    lines = clean.splitlines()
    (tmp_path / "trailing.csv").write_text(
        "\n".join([lines[0]] + [line + "," for line in lines[1:]]) + "\n")
    (tmp_path / "clean.csv").write_text(clean)
    outputs = []
    for name in ("clean.csv", "trailing.csv"):
        code, out, err = run(capsys, "predict", model, tmp_path / name, "--keep", "a,color")
        assert code == 0, err
        outputs.append(pd.read_csv(io.StringIO(out)))
    assert outputs[1]["a"].tolist() == pytest.approx(df["a"].tolist())
    assert outputs[1]["color"].tolist() == df["color"].tolist()
    pd.testing.assert_frame_equal(outputs[0], outputs[1])


def test_a_value_past_the_last_column_is_an_error_naming_its_row(tmp_path, capsys):
    # every row one field longer than the header: pandas would read a=2, b=3, y=9 for the
    # first row (the 1s as the index), a silent shift of every column
    rows = [f"{i},{i % 4},{i % 2},{i % 2 + 7}" for i in range(1, 21)]
    (tmp_path / "t.csv").write_text("a,b,y\n" + "\n".join(rows) + "\n")
    code, out, err = run(capsys, "train", tmp_path / "t.csv", "--target", "y", "-o",
                         tmp_path / "m.ffbp", *FAST)
    assert code == 1 and not (tmp_path / "m.ffbp").exists()
    assert one_line_error(err) == (
        f"ffbp: error: {tmp_path / 't.csv'}: row 1 has more fields than the header's 3 "
        f"column names (a value past the last column: a missing name in the header, or a "
        f"',' inside an unquoted value?)")
    # one row only: the others end with an empty field
    rows = [f"{i},{i % 4},{i % 2}," for i in range(1, 21)]
    rows[6] += "x"
    (tmp_path / "t.csv").write_text("a,b,y\n" + "\n".join(rows) + "\n")
    code, out, err = run(capsys, "train", tmp_path / "t.csv", "--target", "y", "-o",
                         tmp_path / "m.ffbp", *FAST)
    assert code == 1
    assert "t.csv: row 7 has more fields than the header's 3 column names" in \
        one_line_error(err)


SEMICOLONS = ("(its one column 'a;b;color;y' looks like fields separated by semicolons: ffbp "
              "reads a CSV file's fields separated by commas; save it with commas)")


def test_a_semicolon_file_is_named_as_such(tmp_path, capsys, model):
    # spreadsheets in many countries write CSV with semicolons (and decimal commas)
    df = small_table(seed=3)
    df.to_csv(tmp_path / "semi.csv", sep=";", index=False)
    df.to_csv(tmp_path / "euro.csv", sep=";", decimal=",", index=False)
    code, _, err = run(capsys, "train", tmp_path / "semi.csv", "--target", "y", "-o",
                       tmp_path / "m2.ffbp", *FAST)
    assert code == 1 and one_line_error(err) == (
        f"ffbp: error: {tmp_path / 'semi.csv'} has no target column 'y'; its columns: "
        f"'a;b;color;y' {SEMICOLONS}")
    code, _, err = run(capsys, "predict", model, tmp_path / "semi.csv")
    assert code == 1 and one_line_error(err) == (
        f"ffbp: error: {tmp_path / 'semi.csv'} lacks column(s) the model was trained on: "
        f"'a', 'b', 'color' {SEMICOLONS}")
    code, _, err = run(capsys, "predict", model, tmp_path / "euro.csv")
    assert code == 1 and one_line_error(err).endswith(SEMICOLONS)


def test_tabs_and_commas_under_the_other_extension_are_named(tmp_path, capsys, model):
    df = small_table(seed=3)
    df.to_csv(tmp_path / "tabs.csv", sep="\t", index=False)
    df.to_csv(tmp_path / "commas.tsv", index=False)
    code, _, err = run(capsys, "predict", model, tmp_path / "tabs.csv")
    assert code == 1 and one_line_error(err).endswith(
        "(its one column 'a\\tb\\tcolor\\ty' looks like fields separated by tabs: ffbp reads "
        "a CSV file's fields separated by commas; name the file .tsv)")
    code, _, err = run(capsys, "evaluate", model, tmp_path / "commas.tsv")
    assert code == 1 and one_line_error(err).endswith(
        "(its one column 'a,b,color,y' looks like fields separated by commas: ffbp reads a "
        ".tsv file's fields separated by tabs; name the file .csv)")


@pytest.mark.parametrize("name", ["latin.csv", "latin.csv.gz", "-"])
def test_a_file_that_is_not_utf8_names_its_row(tmp_path, capsys, model, monkeypatch, name):
    # pandas' own message gives a position within the chunk it was decoding ("position 3")
    df = small_table(seed=5).astype({"color": object})
    df.loc[4, "color"] = "rosé"                       # row 5, in Latin-1: the byte 0xe9
    data = df.to_csv(index=False).encode("latin-1")
    path = tmp_path / name
    if name == "-":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    elif name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    code, out, err = run(capsys, "predict", model, path if name != "-" else "-")
    assert code == 1 and out == ""
    assert one_line_error(err) == (
        f"ffbp: error: {path if name != '-' else '-'} is not UTF-8 text (row 5 holds the byte "
        f"'e9', 'é' in Windows-1252/Latin-1?); ffbp reads UTF-8: save the file as CSV UTF-8")


def test_a_utf16_file_is_named_as_such(tmp_path, capsys, model):
    small_table().to_csv(tmp_path / "u16.csv", index=False, encoding="utf-16")
    code, out, err = run(capsys, "predict", model, tmp_path / "u16.csv")
    assert code == 1
    assert one_line_error(err) == (
        f"ffbp: error: {tmp_path / 'u16.csv'} is UTF-16 text (as some spreadsheets save "
        f"\"Unicode text\"); ffbp reads UTF-8: save it as CSV UTF-8")


def test_empty_header_names_are_not_repeats(tmp_path, capsys):
    # 'a' and 'a.1' make ffbp read the header again; its two empty names are pandas'
    # 'Unnamed: 3' and 'Unnamed: 4', two different (empty) columns, not one name twice
    df = small_table()
    lines = ["a,a.1,b,,,y"] + [f"{a},{-a},{b},,,{y}" for a, b, y in
                               zip(df["a"], df["b"], df["y"], strict=True)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "train", tmp_path / "t.csv", "--target", "y", "-o",
                         tmp_path / "m.ffbp", *FAST)
    assert code == 0, err
    assert "3 feature columns (3 numeric, 0 categorical)" in out    # the empty ones left out


def test_a_file_under_the_wrong_extension_is_named_for_what_it_is(tmp_path, capsys, model):
    df = small_table(seed=7)
    df.to_parquet(tmp_path / "parquet.csv")
    (tmp_path / "gzip.csv").write_bytes(gzip.compress(df.to_csv(index=False).encode()))
    df.to_csv(tmp_path / "text.parquet", index=False)
    df.to_csv(tmp_path / "zipped.csv", index=False, compression={"method": "zip",
                                                                  "archive_name": "t.csv"})
    expected = {
        "parquet.csv": "is a Parquet file, not CSV text: name it .parquet",
        "gzip.csv": "is gzip-compressed, not CSV text: name it .csv.gz (or .tsv.gz)",
        "text.parquet": "is CSV text, not a Parquet file: name it .csv (or .tsv)",
        "zipped.csv": "is a zip archive (an Excel .xlsx workbook?), not CSV text: export the "
                      "sheet as CSV UTF-8, or name a zipped CSV .csv.zip"}
    for name, message in expected.items():
        code, out, err = run(capsys, "predict", model, tmp_path / name)
        assert code == 1 and out == ""
        assert one_line_error(err) == f"ffbp: error: {tmp_path / name} {message}"


def test_keep_copies_a_decimal_column_through_as_written(tmp_path, capsys, model):
    # DECIMAL values are numbers to the model, but a kept id is copied, not converted
    import decimal

    df = small_table(seed=8)
    ids = [decimal.Decimal(10_000 + i) for i in range(len(df))]
    pq.write_table(pa.table({"id": pa.array(ids, type=pa.decimal128(10, 0)), "a": df["a"],
                             "b": df["b"], "color": df["color"]}), tmp_path / "new.parquet")
    code, out, err = run(capsys, "predict", model, tmp_path / "new.parquet", "--keep", "id")
    assert code == 0, err
    assert [line.split(",")[0] for line in out.splitlines()[1:4]] == ["10000", "10001",
                                                                      "10002"]
