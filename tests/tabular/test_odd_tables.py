"""Odd but plausible tables and arguments through the Python API (``fit_table``,
``TableModel.predict/evaluate``): each is an ffbp error naming what is wrong, never a
pandas or NumPy exception, never a silent guess."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import require
from tables_kit import small_table

import ffbp
from ffbp.errors import ConfigError, DataError

pd = require("pandas", "table models read tables with pandas")
pa = require("pyarrow", "table models take pyarrow Tables")



@pytest.fixture(scope="module")
def model():
    return ffbp.fit_table(small_table(), target="y", hidden=[4], epochs=2)


def repeated(df, name, at):
    """``df`` with a second column called ``name`` inserted at position ``at``."""
    out = df.copy()
    out.insert(at, "dummy", df[name].to_numpy())
    out.columns = [name if c == "dummy" else c for c in out.columns]
    return out


@pytest.mark.parametrize("kind", ["DataFrame", "pyarrow"])
def test_repeated_column_names_are_an_error(model, kind):
    df = repeated(small_table(), "b", 3)          # columns a, b, color, b, y
    table = df if kind == "DataFrame" else pa.table(
        [pa.array(df.iloc[:, i]) for i in range(df.shape[1])], names=list(df.columns))
    message = "the table has two columns named 'b' (columns 2 and 4): rename one of them"
    for call in (lambda: ffbp.fit_table(table, target="y", epochs=1),
                 lambda: model.predict(table), lambda: model.evaluate(table)):
        with pytest.raises(DataError) as info:
            call()
        assert str(info.value) == message


def test_names_equal_as_text_are_repeated():
    # the columns are matched by their names as text: 1 and "1" would be one column
    df = small_table().rename(columns={"a": 1, "b": "1"})
    with pytest.raises(DataError, match="two columns named '1' \\(columns 1 and 2\\)"):
        ffbp.fit_table(df, target="y", epochs=1)


# -- fit_table's options: checked as ffbp train checks its flags ----------------------------
def coded_table(n=40, seed=0):
    """A 0/1 target (auto: a classification) and an integer code column (1, 2, 3)."""
    df = small_table(n, seed)
    df["code"] = np.arange(n) % 3 + 1
    df["y"] = (df["a"] > 0).astype(int)
    return df


def test_a_capitalised_task_is_that_task():
    # auto would make the whole-number 0/1 target a classification
    assert ffbp.fit_table(coded_table(), target="y", epochs=1).task == "classification"
    model = ffbp.fit_table(coded_table(), target="y", epochs=1, task="Regression")
    assert model.task == "regression"
    assert model.metadata["training"]["options"]["task"] == "regression"


@pytest.mark.parametrize("task", ["regresion", "", None, 1])
def test_a_misspelt_task_is_an_error_not_auto(task):
    with pytest.raises(ConfigError) as info:
        ffbp.fit_table(coded_table(), target="y", epochs=1, task=task)
    assert str(info.value) == (f"task must be one of auto, classification, regression, "
                               f"got {task!r}")


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True, None])
def test_a_bad_seed_is_a_config_error_naming_it(seed):
    with pytest.raises(ConfigError, match=r"^seed must be an integer >= 0 .*got "):
        ffbp.fit_table(coded_table(), target="y", epochs=1, seed=seed)



def test_numpy_integer_seed_is_a_seed():
    a = ffbp.fit_table(coded_table(), target="y", epochs=1, seed=np.int64(3))
    b = ffbp.fit_table(coded_table(), target="y", epochs=1, seed=3)
    assert np.array_equal(a.layers[0].W.value, b.layers[0].W.value)


@pytest.mark.parametrize("value", ["no", 0, "False"])
def test_early_stopping_is_true_false_or_none(value):
    with pytest.raises(ConfigError, match="^early_stopping must be True, False or None"):
        ffbp.fit_table(coded_table(), target="y", epochs=1, early_stopping=value)


def test_one_column_name_is_a_column_not_its_letters():
    model = ffbp.fit_table(coded_table(), target="y", epochs=1, categorical="code",
                           drop="color")
    assert model.input_names == ["a", "b", "code=1", "code=2", "code=3"]
    model = ffbp.fit_table(coded_table(), target="y", epochs=1, categorical=None, drop=None)
    assert model.input_names == ["a", "b", "color=green", "color=red", "code"]


@pytest.mark.parametrize("value", [3, ["code", 3], {"code": 1}.items()])
def test_column_lists_must_hold_names(value):
    with pytest.raises(ConfigError, match="^categorical must be a column name or a list of "
                                          "column names"):
        ffbp.fit_table(coded_table(), target="y", epochs=1, categorical=value)


def test_hidden_as_text_is_an_error_not_its_characters():
    with pytest.raises(ConfigError) as info:
        ffbp.fit_table(coded_table(), target="y", epochs=1, hidden="64,32")
    assert str(info.value) == ("hidden must be a layer width or a list of widths (e.g. "
                               "[64, 32]), got '64,32'")


# -- codes that look like numbers: the same category whether read as text or as numbers ----
def codes_table(n=60, seed=0):
    """Zero-padded department codes "01", "02" and one "A1" (which keeps a CSV column of
    them text), and a target of codes "01"/"02" too."""
    rng = np.random.default_rng(seed)
    dept = rng.choice(["01", "02", "A1"], n).astype(object)
    a = rng.normal(size=n)
    return pd.DataFrame({"a": a, "dept": dept,
                         "y": np.where((dept == "01") | (a > 1), "01", "02").astype(object)})


@pytest.mark.parametrize("train", ["train.csv", "train.parquet"])
def test_codes_find_their_category_when_a_csv_reads_them_as_numbers(tmp_path, train):
    df = codes_table()
    df.to_csv(tmp_path / "train.csv", index=False)
    df.to_parquet(tmp_path / "train.parquet")
    model = ffbp.fit_table(tmp_path / train, target="y", hidden=[4], epochs=1)
    assert model.input_names == ["a", "dept=01", "dept=02", "dept=A1"]
    # without an "A1" among them, pandas reads the codes of these rows as 1 and 2
    rows = df[df["dept"] != "A1"].head(8).reset_index(drop=True)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    assert pd.read_csv(tmp_path / "rows.csv")["dept"].dtype.kind == "i"
    expected = np.stack([(rows["dept"] == "01"), (rows["dept"] == "02"),
                         np.zeros(len(rows), bool)], axis=1).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # no "not seen in training" warning
        for table in (rows, tmp_path / "rows.csv"):
            assert np.array_equal(model.transform(table)[:, 1:], expected)
        assert np.array_equal(model.predict(tmp_path / "rows.csv"), model.predict(rows))
        # and the labels "01"/"02" (a CSV of only these reads them as 1, 2) are the classes
        assert model.classes == (["01", "02"] if train.endswith("parquet") else [1, 2])
        y = model.encode_target(pd.read_csv(tmp_path / "rows.csv"))
        assert y.tolist() == (rows["y"] == "02").astype(int).tolist()
        assert model.evaluate(tmp_path / "rows.csv")["rows"] == len(rows)


def test_numbers_find_their_category_when_given_as_text():
    # trained on integer codes (a --categorical column): "007" and "7.0" are 7
    df = coded_table()
    model = ffbp.fit_table(df, target="y", hidden=[4], epochs=1, categorical=["code"])
    rows = df.head(3).astype({"code": object})
    rows["code"] = ["003", "1.0", " 2"]
    X = model.transform(rows)
    names = model.input_names
    block = X[:, names.index("code=1"):names.index("code=3") + 1]
    assert block.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]


def test_text_categories_that_differ_as_text_stay_apart():
    # "1" and "01" both seen in training as text: each is its own category
    df = coded_table()
    df["tag"] = np.where(df.index % 3 == 0, "1", np.where(df.index % 3 == 1, "01", "x"))
    model = ffbp.fit_table(df, target="y", hidden=[4], epochs=1)
    names = model.input_names
    X = model.transform(df.head(3))
    cols = [names.index("tag=01"), names.index("tag=1"), names.index("tag=x")]
    assert X[:, cols].tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1]]


# -- Parquet DECIMAL columns are numbers --------------------------------------------------
def test_a_decimal_column_is_numeric_as_in_a_csv(tmp_path):
    import decimal

    pq = require("pyarrow.parquet", "Parquet files")
    df = small_table()
    prices = [decimal.Decimal(f"{x:.3f}") for x in 10 + df["a"]]
    table = pa.table({"price": pa.array(prices, type=pa.decimal128(9, 3)), "b": df["b"],
                      "color": df["color"], "y": df["y"]})
    pq.write_table(table, tmp_path / "t.parquet")
    csv = df.assign(price=[float(p) for p in prices])[["price", "b", "color", "y"]]
    csv.to_csv(tmp_path / "t.csv", index=False)
    model = ffbp.fit_table(tmp_path / "t.parquet", target="y", hidden=[4], epochs=1,
                           validation_split=0)
    # one input for the price, not one per distinct price
    assert model.input_names == ["price", "b", "color=green", "color=red"]
    spec = model.features[0]
    values = np.array([float(p) for p in prices])
    assert spec["mean"] == pytest.approx(values.mean(), rel=1e-12)
    assert spec["std"] == pytest.approx(values.std(), rel=1e-12)
    for other in (tmp_path / "t.csv", table, table.to_pandas()):
        np.testing.assert_array_equal(model.predict_proba(other),
                                      model.predict_proba(tmp_path / "t.parquet"))


def test_a_decimal_target_has_the_classes_of_the_same_csv(tmp_path):
    """Integer classes stored as DECIMAL(5,0) in Parquet are the numbers 1..12 in numeric
    order, as the same table's CSV gives them, not the text '1', '10', '11', ... (which
    reorders the outputs, the probabilities and the proba_ columns)."""
    import decimal

    pq = require("pyarrow.parquet", "Parquet files")
    df = small_table(n=72)
    labels = [i % 12 + 1 for i in range(72)]
    pq.write_table(pa.table({"a": df["a"], "b": df["b"], "k": pa.array(
        [decimal.Decimal(v) for v in labels], type=pa.decimal128(5, 0))}),
        tmp_path / "t.parquet")
    df.assign(k=labels)[["a", "b", "k"]].to_csv(tmp_path / "t.csv", index=False)
    models = [ffbp.fit_table(tmp_path / name, target="k", hidden=[4], epochs=2,
                             validation_split=0, task="classification")
              for name in ("t.parquet", "t.csv")]
    assert models[0].classes == models[1].classes == list(range(1, 13))
    np.testing.assert_array_equal(models[0].predict_proba(tmp_path / "t.csv"),
                                  models[1].predict_proba(tmp_path / "t.csv"))


def test_integer_labels_beyond_int64_keep_their_values(tmp_path):
    # 21-digit identifiers as classes: 2**70 + k are one number in float64, five labels here
    labels = [2**70 + k for k in range(5)]
    df = small_table(n=50)
    df["account"] = [labels[i % 5] for i in range(50)]
    lines = ["a,b,account"] + [f"{a},{b},{t}" for a, b, t in
                               zip(df["a"], df["b"], df["account"], strict=True)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    model = ffbp.fit_table(tmp_path / "t.csv", target="account", hidden=[4], epochs=1,
                           validation_split=0, task="classification")
    assert [int(c) for c in model.classes] == labels
    assert {int(p) for p in model.predict(tmp_path / "t.csv")} <= set(labels)
    assert model.evaluate(tmp_path / "t.csv")["rows"] == 50


def test_decimal_identifiers_that_float64_merges_stay_apart(tmp_path):
    import decimal

    ids = [decimal.Decimal(2**70 + k) for k in range(3)]
    df = small_table(n=30)
    table = pa.table({"a": df["a"], "id": pa.array([ids[i % 3] for i in range(30)],
                                                   type=pa.decimal128(38, 0)), "y": df["y"]})
    model = ffbp.fit_table(table, target="y", hidden=[4], epochs=1, validation_split=0)
    assert model.input_names == ["a"] + [f"id={v}" for v in ids]


# -- a column without a value in training --------------------------------------------------
def test_a_column_empty_in_training_is_left_out(tmp_path):
    df = small_table()
    df["later"] = np.nan                                     # numbers, none yet
    df["note"] = pd.array([None] * len(df), dtype="string")  # text, none yet
    df.to_parquet(tmp_path / "t.parquet")
    with pytest.warns(ffbp.TableWarning) as caught:
        model = ffbp.fit_table(tmp_path / "t.parquet", target="y", hidden=[4], epochs=1)
    assert model.input_names == ["a", "b", "color=green", "color=red"]
    assert [str(w.message) for w in caught] == [
        f"column {c!r} is empty in the training data: it is left out of the model (its "
        f"values are ignored at prediction)" for c in ("later", "note")]
    # the model learnt nothing about them: their values at prediction change nothing
    filled = df.assign(later=1e6, note="urgent")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(model.predict_proba(filled), model.predict_proba(df))
        np.testing.assert_array_equal(model.predict_proba(df.drop(columns=["later", "note"])),
                                      model.predict_proba(df))


def test_every_feature_column_empty_is_an_error():
    df = pd.DataFrame({"a": [np.nan] * 6, "y": ["p", "q"] * 3})
    with pytest.raises(DataError, match="^every feature column is empty in the training rows"
                       ), pytest.warns(ffbp.TableWarning, match="column 'a' is empty"):
        ffbp.fit_table(df, target="y", epochs=1, validation_split=0)


def test_a_row_is_not_an_array(model):
    df = small_table(seed=4)
    row = df.iloc[0]
    start = ("a table model takes a table (a pandas DataFrame, a pyarrow Table or a "
             "CSV/Parquet path), got ")
    for method in (model.predict, model.predict_proba):
        with pytest.raises(DataError) as info:
            method(row)
        assert str(info.value) == start + ("a pandas Series: pass one row as df.iloc[[i]] "
                                           "(a DataFrame), or series.to_frame().T")
        with pytest.raises(DataError) as info:
            method(row.to_dict())
        assert str(info.value) == start + "a dict: pass pandas.DataFrame([row])"
        with pytest.raises(DataError) as info:
            method(df.head(2).to_dict("records"))
        assert str(info.value) == start + "a list of dicts: pass pandas.DataFrame(rows)"
    # the remedies work: the row as a one-row table predicts what the whole table does
    assert model.predict(df.iloc[[0]])[0] == model.predict(df)[0]
    assert model.predict(row.to_frame().T)[0] == model.predict(df)[0]
    assert model.predict(pd.DataFrame([row.to_dict()]))[0] == model.predict(df)[0]


@pytest.mark.parametrize("style", ["1,299.50", "1.299,50"])
def test_numbers_with_separators_are_warned_about(tmp_path, style):
    # a spreadsheet's export: prices with thousands separators (or decimal commas) are text
    df = small_table()
    price = np.round(np.abs(df["b"]) * 5000 + 1000, 2)      # all ≥ 1000: all grouped
    text = [f"{p:,.2f}" for p in price]
    if style == "1.299,50":
        text = [t.replace(",", "_").replace(".", ",").replace("_", ".") for t in text]
    df["price"] = text
    df.to_csv(tmp_path / "t.csv", index=False)
    first = text[0]
    with pytest.warns(ffbp.TableWarning) as caught:
        ffbp.fit_table(tmp_path / "t.csv", target="y", hidden=[4], epochs=1,
                       validation_split=0)
    assert (f"column 'price' holds numbers written with separators, such as {first!r} "
            f"(row 1): they are text to ffbp, and its values are treated as categories; "
            f"write them as plain numbers (1299.5, not 1,299.50 or 1.299,50) to use them "
            f"as numbers") in [str(w.message) for w in caught]


def test_text_with_commas_is_not_a_number_with_separators(tmp_path):
    df = small_table()
    df["place"] = np.where(df["a"] > 0, "Paris, France", "Lyon, France")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ffbp.fit_table(df, target="y", hidden=[4], epochs=1, validation_split=0)


def test_an_object_column_of_small_numbers_stays_categories():
    # astype(object) is one way users mark integer codes as categories: it stays one
    df = coded_table()
    df["code"] = df["code"].astype(object)
    model = ffbp.fit_table(df, target="y", hidden=[4], epochs=1)
    assert model.input_names == ["a", "b", "color=green", "color=red", "code=1", "code=2",
                                 "code=3"]


def test_predict_table_keeps_one_column_by_its_name(model):
    df = small_table(seed=6)
    df["id"] = [f"r{i}" for i in range(len(df))]
    out = model.predict_table(df, keep="id")
    assert list(out.columns) == ["id", "prediction", "proba_no", "proba_yes"]
    assert out["id"].tolist() == df["id"].tolist()


def test_booleans_find_their_category_when_given_as_text():
    # trained on booleans (a CSV's TRUE/true/True all read as such); rows from a source that
    # keeps them as text, "true" / "FALSE", are the same categories
    df = small_table()
    df["flag"] = df["b"] > 0
    model = ffbp.fit_table(df, target="y", hidden=[4], epochs=1)
    names = model.input_names
    assert names[-2:] == ["flag=False", "flag=True"]
    rows = df.head(3).astype({"flag": object})
    rows["flag"] = ["true", "FALSE", " True "]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X = model.transform(rows)
    assert X[:, -2:].tolist() == [[0, 1], [1, 0], [0, 1]]


def test_dates_find_their_category_from_csv_text(tmp_path):
    # a month column: timestamps in Parquet ("2024-01-01 00:00:00" as a key), dates in the
    # CSV that pandas writes of the same rows ("2024-01-01")
    df = small_table()
    df["month"] = pd.to_datetime(np.where(df["b"] > 0, "2024-01-01", "2024-02-01"))
    df.to_parquet(tmp_path / "t.parquet")
    df.to_csv(tmp_path / "t.csv", index=False)
    assert ",2024-01-01\n" in (tmp_path / "t.csv").read_text()
    model = ffbp.fit_table(tmp_path / "t.parquet", target="y", hidden=[4], epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_csv = model.transform(tmp_path / "t.csv")
    block = from_csv[:, -2:]
    assert block.tolist() == np.stack([df["b"] > 0, df["b"] <= 0], axis=1).astype(float
                                                                                   ).tolist()


def test_pandas_warnings_while_reading_a_csv_still_reach_the_user(tmp_path):
    # a column of numbers with text far down: pandas reads it in chunks and says so
    from ffbp.tabular.tables import read_table

    lines = ["a,c"] + [f"{i % 7},{i % 5}" for i in range(300_000)] + ["1,x"]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    with pytest.warns(pd.errors.DtypeWarning, match="mixed types"):
        df = read_table(tmp_path / "t.csv")
    assert len(df) == 300_001 and df["c"].iloc[-1] == "x"


def test_column_collections_of_any_kind_name_their_columns():
    """A pandas Index (df.columns[...]), an array of names, a set or a generator names the
    columns as a list does, for fit_table's categorical/drop and predict_table's keep."""
    df = coded_table()
    want = ffbp.fit_table(df, target="y", epochs=1, categorical=["code"], drop=["color"])
    for cat, drop in [(df.columns[[4]], df.columns[[2]]), (np.array(["code"]), {"color"}),
                      ((c for c in ["code"]), ("color",))]:
        model = ffbp.fit_table(df, target="y", epochs=1, categorical=cat, drop=drop)
        assert model.input_names == want.input_names
    for keep in (df.columns[[0]], np.array(["a"]), ["a"]):
        out = want.predict_table(df, keep=keep)
        assert list(out.columns[:1]) == ["a"] and out["a"].tolist() == df["a"].tolist()


def test_text_is_not_matched_loosely_to_text():
    """Versions "1.1", "1.2", "1.9" learnt as text: the text "1.10" and "1.20" are new
    values (all-zero blocks, with the warning), not "1.1" and "1.2"; a number 1.1 given for
    the text "1.1" (a reader that parsed it) is still found. A label works the same way."""
    df = small_table(n=60)
    df["ver"] = np.array(["1.1", "1.2", "1.9"], dtype=object)[np.arange(60) % 3]
    model = ffbp.fit_table(df, target="y", hidden=[4], epochs=1)
    assert model.input_names[-3:] == ["ver=1.1", "ver=1.2", "ver=1.9"]
    rows = df.head(3).copy()
    rows["ver"] = ["1.10", "1.20", "1.9"]
    with pytest.warns(ffbp.TableWarning, match=r"column 'ver' has 2 value\(s\) not seen in "
                                          r"training \(first '1.10' at row 1\)"):
        X = model.transform(rows)
    assert X[:, -3:].tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 1]]
    rows["ver"] = [1.1, 1.2, 1.9]                          # numbers: found across readers
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model.transform(rows)[:, -3:].tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    labels = df.assign(y=df["ver"])
    by_label = ffbp.fit_table(labels.drop(columns="ver"), target="y", hidden=[4], epochs=1)
    with pytest.raises(ffbp.DataError, match="has label '1.10', which is not one of"):
        by_label.encode_target(rows.assign(y=["1.10", "1.2", "1.9"]))


def test_a_model_without_the_text_flag_matches_as_before_it():
    """Models written before categories recorded "text" keep the loose match both ways."""
    df = codes_table()
    model = ffbp.fit_table(df, target="y", hidden=[4], epochs=1)
    spec = next(f for f in model.features if f["name"] == "dept")
    assert spec["text"] is True
    del spec["text"]
    rows = df[df["dept"] != "A1"].head(4).reset_index(drop=True)
    rows["dept"] = ["001" if d == "01" else "002" for d in rows["dept"]]
    X = model.transform(rows)
    assert X[:, 1:3].tolist() == [[d == "001", d == "002"] for d in rows["dept"]]
