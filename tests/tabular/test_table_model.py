"""ffbp.load of a CLI model (a TableModel) takes the raw table the ffbp command takes and
answers exactly as ``ffbp predict`` and ``ffbp evaluate`` do: DataFrame, pyarrow Table or
path, columns in any order, unseen categories warned, missing columns named; fit_table
trains the model ``ffbp train`` trains."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import require

import ffbp
from ffbp.cli import main
from ffbp.tabular import TableModel, TableWarning

pd = require("pandas", "table models read tables with pandas")
pa = require("pyarrow", "table models take pyarrow Tables and Parquet files")
datasets = require("sklearn.datasets", "the tables are scikit-learn's bundled wine and diabetes")


def wine_table(seed=0):
    """Wine (178 rows, 13 numbers, 3 classes) with text labels, a text column with missing
    values and missing numbers."""
    wine = datasets.load_wine(as_frame=True).frame
    rng = np.random.default_rng(seed)
    df = wine.rename(columns={"target": "cultivar"})
    df["cultivar"] = np.array(["barolo", "grignolino", "barbera"])[df["cultivar"]]
    df["cellar"] = rng.choice(["north", "south", "east"], len(df)).astype(object)
    df.loc[rng.choice(len(df), 10, replace=False), "cellar"] = None
    df.loc[rng.choice(len(df), 8, replace=False), "alcohol"] = np.nan
    return df


def diabetes_table(seed=0):
    """Diabetes (442 rows, a regression) with sex as text, a missing-valued text column and
    missing numbers."""
    df = datasets.load_diabetes(as_frame=True, scaled=False).frame
    rng = np.random.default_rng(seed)
    df["sex"] = np.where(df["sex"] == 1, "F", "M").astype(object)
    df["clinic"] = rng.choice(["a", "b", "c", "d"], len(df)).astype(object)
    df.loc[rng.choice(len(df), 12, replace=False), "clinic"] = None
    df.loc[rng.choice(len(df), 9, replace=False), "bmi"] = np.nan
    return df


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tabular")
    out = {}
    for name, table, target in (("classifier", wine_table(), "cultivar"),
                                ("regressor", diabetes_table(), "target")):
        train = table.sample(frac=0.7, random_state=0).sort_index()
        test = table.drop(train.index).reset_index(drop=True)
        train.to_csv(root / f"{name}_train.csv", index=False)
        test.to_csv(root / f"{name}_test.csv", index=False)
        model = root / f"{name}.ffbp"
        assert main(["train", str(root / f"{name}_train.csv"), "--target", target,
                     "--epochs", "15", "--hidden", "16", "--quiet", "--no-diagnostics",
                     "-o", str(model)]) == 0
        assert main(["predict", str(model), str(root / f"{name}_test.csv"), "-o",
                     str(root / f"{name}_pred.parquet")]) == 0
        out[name] = {"model": model, "test_csv": root / f"{name}_test.csv",
                     "train_csv": root / f"{name}_train.csv", "target": target,
                     "command": pd.read_parquet(root / f"{name}_pred.parquet"), "root": root}
    return out


def read_csv(path):
    return pd.read_csv(path)


def as_kind(kind, case):
    df = read_csv(case["test_csv"])
    return {"dataframe": df, "arrow": pa.Table.from_pandas(df), "path": case["test_csv"],
            "parquet": _parquet(df, case["root"])}[kind]


def _parquet(df, root):
    df.to_parquet(root / "test.parquet")
    return str(root / "test.parquet")


@pytest.mark.parametrize("kind", ["dataframe", "arrow", "path", "parquet"])
@pytest.mark.parametrize("name", ["classifier", "regressor"])
def test_load_predicts_what_the_command_predicts(models, name, kind):
    case = models[name]
    model = ffbp.load(case["model"])
    assert isinstance(model, TableModel) and isinstance(model, ffbp.Network)
    table = as_kind(kind, case)
    predicted = model.predict(table)
    command = case["command"]
    if name == "regressor":       # in the target's units, bit for bit
        assert predicted.dtype == np.float64
        np.testing.assert_array_equal(predicted, command["prediction"].to_numpy())
        assert abs(np.mean(predicted) - read_csv(case["test_csv"])["target"].mean()) < 60
        return
    assert list(predicted) == list(command["prediction"])
    assert set(predicted) <= {"barolo", "grignolino", "barbera"}
    proba = model.predict_proba(table)
    columns = [f"proba_{c}" for c in model.classes]
    np.testing.assert_array_equal(proba, command[columns].to_numpy())
    pd.testing.assert_frame_equal(model.predict_table(table), command)


@pytest.mark.parametrize("name", ["classifier", "regressor"])
def test_columns_in_any_order_and_extra_columns_ignored(models, name):
    case = models[name]
    model = ffbp.load(case["model"])
    df = read_csv(case["test_csv"])
    shuffled = df[list(np.random.default_rng(3).permutation(df.columns))].copy()
    shuffled["notes"] = "ignored"
    shuffled = shuffled.drop(columns=[case["target"]])          # predict needs no target
    np.testing.assert_array_equal(model.predict(shuffled), model.predict(df))


def test_an_unseen_category_warns_and_is_all_zeros(models):
    model = ffbp.load(models["classifier"]["model"])
    df = read_csv(models["classifier"]["test_csv"]).head(5)
    df.loc[0, "cellar"] = "attic"
    with pytest.warns(TableWarning, match=r"column 'cellar' has 1 value\(s\) not seen in "
                                          r"training \(first 'attic' at row 1\)"):
        X = model.transform(df)
        assert len(model.predict(df)) == 5
    block = [i for i, n in enumerate(model.input_names) if n.startswith("cellar=")]
    np.testing.assert_array_equal(X[0, block], 0)


def test_a_missing_column_is_an_error_naming_it(models):
    model = ffbp.load(models["regressor"]["model"])
    df = read_csv(models["regressor"]["test_csv"]).drop(columns=["bmi", "sex"])
    with pytest.raises(ffbp.DataError, match="lacks column\\(s\\) the model was trained on: "
                                             "'sex', 'bmi'"):
        model.predict(df)


def test_arrays_still_go_to_the_network(models):
    model = ffbp.load(models["classifier"]["model"])
    X = model.transform(models["classifier"]["test_csv"])
    index = model.predict(X)                             # Network.predict: class indices
    assert index.dtype.kind == "i"
    np.testing.assert_array_equal(np.asarray(model.classes, dtype=object)[index],
                                  model.predict(models["classifier"]["test_csv"]))
    np.testing.assert_array_equal(model.predict_proba(X), ffbp.Network.predict_proba(model, X))
    assert "total:" in model.summary() and model.layers[0].W.value.shape[0] == X.shape[1]
    copy = model.copy()
    assert isinstance(copy, TableModel) and copy.metadata == model.metadata


def test_a_python_network_loads_as_a_network(tmp_path):
    net = ffbp.mlp(3, [4], 2)
    ffbp.save(net, tmp_path / "n.ffbp")
    assert type(ffbp.load(tmp_path / "n.ffbp")) is ffbp.Network


@pytest.mark.parametrize("name", ["classifier", "regressor"])
def test_evaluate_is_the_commands_json(models, name, capsys):
    case = models[name]
    capsys.readouterr()
    assert main(["evaluate", str(case["model"]), str(case["test_csv"]), "--json"]) == 0
    command = json.loads(capsys.readouterr().out)
    python = ffbp.load(case["model"]).evaluate(read_csv(case["test_csv"]))
    assert json.loads(json.dumps(python)) == command


def test_table_methods_refuse_other_things(models):
    model = ffbp.load(models["regressor"]["model"])
    with pytest.raises(ffbp.ConfigError, match="predict_proba is for classifiers"):
        model.predict_proba(models["regressor"]["test_csv"])
    with pytest.raises(ffbp.DataError, match="must be a pandas DataFrame"):
        model.evaluate([[1, 2]])


@pytest.mark.parametrize("name", ["classifier", "regressor"])
def test_fit_table_trains_the_model_ffbp_train_trains(models, name, tmp_path):
    case = models[name]
    model = ffbp.fit_table(read_csv(case["train_csv"]), target=case["target"], hidden=[16],
                           epochs=15)
    command = ffbp.load(case["model"])
    assert model.features == command.features and model.target == command.target
    np.testing.assert_array_equal(model.flat_values, command.flat_values)
    ffbp.save(model, tmp_path / "m.ffbp")
    again = ffbp.load(tmp_path / "m.ffbp")
    assert isinstance(again, TableModel)
    np.testing.assert_array_equal(again.predict(case["test_csv"]),
                                  case["command"]["prediction"].to_numpy())
    assert model.metadata["training"]["epochs_run"] == 15 == len(model.history.loss)


def test_fit_table_options(models):
    case = models["classifier"]
    model = ffbp.fit_table(case["train_csv"], "cultivar", hidden=8, activation="tanh",
                           epochs=200, batch_size="full", lr=0.05, optimizer="sgd",
                           validation_split=0.2, early_stopping=True, patience=2, seed=1,
                           drop=["cellar"], dtype="float64")
    assert model.dtype == np.float64 and "cellar" not in [f["name"] for f in model.features]
    assert model.metadata["training"]["validation_rows"] == 25
    assert model.evaluate(case["test_csv"])["rows"] == 53
    with pytest.raises(ffbp.DataError, match="no target column 'kind'"):
        ffbp.fit_table(case["train_csv"], "kind")


def test_fit_table_names_an_unknown_option(models):
    case = models["classifier"]
    with pytest.raises(ffbp.ConfigError, match=r"'weight_decy' \(did you mean 'weight_decay'\?\)"):
        ffbp.fit_table(case["train_csv"], "cultivar", weight_decy=1e-3)


def test_fit_table_remedies_name_its_keywords(models):
    case = models["classifier"]
    with pytest.raises(ffbp.ConfigError, match=r"is a regression loss but the task is "
                       r"classification \(choose another loss=, or task=\)"):
        ffbp.fit_table(case["train_csv"], "cultivar", loss="mse")
