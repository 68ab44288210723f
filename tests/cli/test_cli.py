"""The ffbp command end to end: train -> predict -> evaluate on CSV and Parquet files, the
stored preprocessing, --config, and one-line errors with the right exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from cli_kit import one_line_error, run
from conftest import require, skip_unless

import ffbp
from ffbp.cli import data as cli_data
from ffbp.cli import main
from ffbp.cli import target as cli_target

pd = require("pandas", "the command line reads tables with pandas")
require("pyarrow", "the command line reads Parquet with pyarrow")

SHIFT = {"red": 2.0, "green": 0.0, "blue": -2.0}


def make_table(n: int, seed: int):
    """An easy problem with a known answer: the class of score = x1 + (x2 − 5)/2.5 + shift
    (by colour) is high (> 1), low (< −1) or mid; y = 3 x1 − 0.5 x2 + shift + 10 exactly."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(0, 10, size=n)
    color = rng.choice(list(SHIFT), size=n)
    shift = np.array([SHIFT[c] for c in color])
    score = x1 + (x2 - 5) / 2.5 + shift
    label = np.select([score > 1, score < -1], ["high", "low"], "mid")
    return pd.DataFrame({"x1": x1, "color": color, "x2": x2, "label": label,
                         "y": 3 * x1 - 0.5 * x2 + shift + 10})



@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    train = make_table(600, 0)
    train.loc[[3, 17, 40], "x2"] = np.nan             # missing numeric -> training mean
    train.loc[[5, 23], "color"] = None                 # missing category -> its own input
    test = make_table(300, 1)
    paths = {"train_csv": root / "train.csv", "train_parquet": root / "train.parquet",
             "test_csv": root / "test.csv", "test_parquet": root / "test.parquet"}
    train.to_csv(paths["train_csv"], index=False)
    train.to_parquet(paths["train_parquet"])
    test.to_csv(paths["test_csv"], index=False)
    test.to_parquet(paths["test_parquet"])
    return {**paths, "root": root, "test": test}


@pytest.fixture(scope="module")
def classifier(files):
    """A classifier trained once (string labels, numeric + categorical features)."""
    path = files["root"] / "cls.ffbp"
    code = main(["train", str(files["train_csv"]), "--target", "label", "--drop", "y",
                 "--epochs", "40", "--quiet", "-o", str(path)])
    assert code == 0
    return path



# -- round trips -----------------------------------------------------------------------
def test_classification_round_trip_with_string_labels(files, classifier, capsys):
    code, out, err = run(capsys, "evaluate", classifier, files["test_csv"], "--json")
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["rows"] == 300 and metrics["labels"] == ["high", "low", "mid"]
    assert metrics["accuracy"] >= 0.9
    assert np.sum(metrics["confusion_matrix"]) == 300

    code, out, err = run(capsys, "predict", classifier, files["test_parquet"])   # to stdout
    assert code == 0, err
    pred = pd.read_csv(StringIO(out))
    assert list(pred.columns) == ["prediction", "proba_high", "proba_low", "proba_mid"]
    assert set(pred["prediction"]) <= {"high", "low", "mid"}
    proba = pred[["proba_high", "proba_low", "proba_mid"]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(np.array(["high", "low", "mid"])[proba.argmax(axis=1)],
                                  pred["prediction"])
    accuracy = np.mean(pred["prediction"] == files["test"]["label"])
    assert accuracy == pytest.approx(metrics["accuracy"])     # same model, same rows

    code, out, _ = run(capsys, "evaluate", classifier, files["test_parquet"])
    assert code == 0 and f"accuracy: {accuracy:.4f}" in out and "confusion matrix" in out


def test_regression_round_trip_on_parquet(files, capsys, tmp_path):
    model = tmp_path / "reg.ffbp"
    code, out, err = run(capsys, "train", files["train_parquet"], "--target", "y", "--drop",
                         "label", "--epochs", "60", "--hidden", "32", "--quiet", "-o", model)
    assert code == 0, err
    assert "task: regression of 'y'" in out and "r2" in out
    code, out, err = run(capsys, "evaluate", model, files["test_parquet"], "--json")
    metrics = json.loads(out)
    assert code == 0 and metrics["r2"] > 0.98
    target = files["test"]["y"].to_numpy()
    assert metrics["mse"] < 0.02 * target.var()

    code, _, err = run(capsys, "predict", model, files["test_csv"], "-o",
                       tmp_path / "pred.parquet", "--keep", "x1")
    assert code == 0 and "wrote 300 predictions" in err
    pred = pd.read_parquet(tmp_path / "pred.parquet")
    assert list(pred.columns) == ["x1", "prediction"]       # no probabilities: regression
    # predictions come back in the target's own units (the network learns it standardised)
    np.testing.assert_allclose(np.mean((pred["prediction"] - target) ** 2), metrics["mse"],
                               rtol=1e-4)


@pytest.mark.parametrize("loss", ["cross_entropy", "bce", "nll", "hinge"])
def test_binary_classification_with_each_output(loss, capsys, tmp_path):
    df = make_table(300, 2)
    df["big"] = np.where(df["y"] > 10, "yes", "no")
    df.drop(columns=["label", "y"]).to_csv(tmp_path / "b.csv", index=False)
    model = tmp_path / "b.ffbp"
    code, _, err = run(capsys, "train", tmp_path / "b.csv", "--target", "big", "--loss", loss,
                       "--epochs", "30", "--quiet", "-o", model)
    assert code == 0, err
    code, out, _ = run(capsys, "evaluate", model, tmp_path / "b.csv", "--json")
    assert json.loads(out)["accuracy"] >= 0.9
    code, out, _ = run(capsys, "predict", model, tmp_path / "b.csv")
    columns = pd.read_csv(StringIO(out)).columns.tolist()
    assert columns == (["prediction"] if loss == "hinge"            # a margin: no probabilities
                       else ["prediction", "proba_no", "proba_yes"])


# -- preprocessing stored in the model ---------------------------------------------------
def test_preprocessing_is_stored_and_fitted_on_the_training_rows(files, capsys, tmp_path):
    model = tmp_path / "m.ffbp"
    code, _, err = run(capsys, "train", files["train_csv"], "--target", "label", "--drop", "y",
                       "--validation-split", "0", "--epochs", "2", "--quiet", "-o", model)
    assert code == 0, err
    meta = ffbp.load(model).metadata
    train = pd.read_csv(files["train_csv"])
    x1, color, x2 = meta["features"]
    assert [x1["name"], color["name"], x2["name"]] == ["x1", "color", "x2"]
    assert x2["mean"] == pytest.approx(train["x2"].mean())          # NaN skipped
    assert x2["std"] == pytest.approx(train["x2"].std(ddof=0))
    assert color == {"name": "color", "kind": "categorical",
                     "categories": ["blue", "green", "red"], "missing": True,
                     "text": True}
    assert meta["inputs"] == ["x1", "color=blue", "color=green", "color=red",
                              "color=<missing>", "x2"]
    assert meta["target"] == {"name": "label", "task": "classification",
                              "classes": ["high", "low", "mid"]}
    code, out, _ = run(capsys, "summary", model)
    assert code == 0 and "one-hot over 3: blue, green, red + <missing>" in out
    assert "classes: 'high', 'low', 'mid'" in out and "Dense(6, 64)" in out


def test_predict_matches_columns_by_name(files, classifier, capsys, tmp_path):
    test = files["test"]
    shuffled = test[["y", "x2", "color", "x1"]].assign(extra="ignored")   # no target, reordered
    shuffled.to_csv(tmp_path / "shuffled.csv", index=False)
    code, reordered, err = run(capsys, "predict", classifier, tmp_path / "shuffled.csv")
    assert code == 0, err
    _, original, _ = run(capsys, "predict", classifier, files["test_csv"])
    assert reordered == original


def test_unknown_category_and_missing_values_at_predict_time(files, classifier, capsys,
                                                             tmp_path):
    rows = files["test"].head(4).copy()
    rows.loc[0, "color"] = "purple"                 # never seen in training
    rows.loc[1, "x2"] = np.nan                      # -> the training mean
    rows.loc[2, "color"] = None                     # training had missing colours
    rows.to_csv(tmp_path / "odd.csv", index=False)
    code, out, err = run(capsys, "predict", classifier, tmp_path / "odd.csv")
    assert code == 0 and len(pd.read_csv(StringIO(out))) == 4
    assert "column 'color' has 1 value(s) not seen in training" in err and "'purple'" in err

    meta = ffbp.load(classifier).metadata
    X = cli_data.transform(pd.read_csv(tmp_path / "odd.csv"), meta["features"], "odd.csv")
    colour = slice(1, 5)                            # blue, green, red, <missing>
    np.testing.assert_array_equal(X[0, colour], [0, 0, 0, 0])
    np.testing.assert_array_equal(X[2, colour], [0, 0, 0, 1])
    assert X[1, 5] == 0.0                           # the mean, standardised


@pytest.mark.parametrize("values, task", [
    (["a", "b", "a", "c"] * 5, "classification"),
    ([0, 1, 2, 1, 0] * 10, "classification"),                        # few whole numbers
    ([1.0, 2.0] * 10, "classification"),
    (list(np.linspace(0, 1, 50)), "regression"),
    (list(range(50)), "regression"),                                 # too many to be classes
])
def test_task_inference(values, task):
    assert cli_target.infer_task(pd.Series(values), "auto", "t")[0] == task



def test_train_help_states_the_class_rule_the_code_applies(capsys):
    """Two classes are always allowed, however few the rows: 4 rows of 0/1 are classified
    although 4 // 5 = 0, and --help says so instead of only 'at most one per 5 rows'."""
    assert cli_target.infer_task(pd.Series([0, 1, 1, 0]), "auto", "t")[0] == "classification"
    assert cli_target.infer_task(pd.Series([0, 1, 2, 0]), "auto", "t")[0] == "regression"
    code, out, _ = run(capsys, "train", "--help")
    text = " ".join(out.split())
    assert code == 0
    assert ("integer target with few distinct values (≤ 20, and ≤ 1 per 5 rows, though 2 "
            "are always allowed), else regression") in text, text

# -- --config ----------------------------------------------------------------------------
def test_config_file_gives_the_same_model_as_flags(files, capsys, tmp_path):
    flags = ["--hidden", "16,8", "--activation", "tanh", "--optimizer", "sgd", "--lr", "0.05",
             "--epochs", "5", "--batch-size", "16", "--seed", "3", "--weight-decay", "0.001"]
    code, _, err = run(capsys, "train", files["train_csv"], "--target", "label", "--drop", "y",
                       *flags, "--quiet", "-o", tmp_path / "flags.ffbp")
    assert code == 0, err
    (tmp_path / "run.toml").write_text(
        'target = "label"\ndrop = ["y"]\n\n[train]\nhidden = [16, 8]\nactivation = "tanh"\n'
        'optimizer = "sgd"\nlr = 0.05\nepochs = 50\nbatch-size = 16\nseed = 3\n'
        "weight_decay = 1e-3\nquiet = true\n")
    code, _, err = run(capsys, "train", files["train_csv"], "--config", tmp_path / "run.toml",
                       "--epochs", "5", "-o", tmp_path / "config.ffbp")   # the flag wins
    assert code == 0, err
    a, b = ffbp.load(tmp_path / "flags.ffbp"), ffbp.load(tmp_path / "config.ffbp")
    assert b.metadata["training"]["epochs_run"] == 5
    np.testing.assert_array_equal(a.flat_values, b.flat_values)
    assert a.metadata["training"]["options"] == b.metadata["training"]["options"]


def test_resume_from_a_checkpoint_ends_with_the_same_weights(files, capsys, tmp_path):
    common = ["train", files["train_csv"], "--target", "label", "--drop", "y", "--hidden", "8",
              "--quiet"]
    assert run(capsys, *common, "--epochs", "6", "-o", tmp_path / "straight.ffbp")[0] == 0
    assert run(capsys, *common, "--epochs", "3", "--checkpoint", tmp_path / "run.ckpt",
               "-o", tmp_path / "half.ffbp")[0] == 0
    assert run(capsys, *common, "--epochs", "6", "--resume", tmp_path / "run.ckpt",
               "-o", tmp_path / "resumed.ffbp")[0] == 0
    np.testing.assert_array_equal(ffbp.load(tmp_path / "straight.ffbp").flat_values,
                                  ffbp.load(tmp_path / "resumed.ffbp").flat_values)


# -- gradcheck, export, help -------------------------------------------------------------
def test_gradcheck_command(files, classifier, capsys):
    code, out, err = run(capsys, "gradcheck", classifier, files["test_csv"], "--samples", "4")
    assert code == 0, err
    assert "layer0.W" in out and "passed: worst relative error" in out and "on 4 rows" in out
    code, out, err = run(capsys, "gradcheck", classifier, files["test_csv"], "--tol", "1e-30")
    assert code == 1 and "layer0.W" in out
    assert "gradient check failed" in one_line_error(err)


def test_export_onnx(files, classifier, capsys, tmp_path):
    require("onnx", "ffbp export writes the model with onnx")
    code, out, err = run(capsys, "export", classifier, "-o", tmp_path / "m.onnx")
    assert code == 0, err
    assert (tmp_path / "m.onnx").stat().st_size > 0 and "wrote" in out
    ort = require("onnxruntime", "onnxruntime runs the exported model as the oracle")
    # the whole model: table columns in, labels and probabilities out, as ffbp predict
    # (tests/files/test_onnx_model.py holds the full comparison)
    from ffbp.onnx import table_feeds

    net = ffbp.load(classifier)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    labels, proba = session.run(None, table_feeds(net, files["test"]))
    assert run(capsys, "predict", classifier, files["test_csv"], "-o", tmp_path / "p.csv")[0] == 0
    want = pd.read_csv(tmp_path / "p.csv")
    assert labels.tolist() == want["prediction"].tolist()
    classes = net.metadata["target"]["classes"]
    np.testing.assert_allclose(proba, want[[f"proba_{c}" for c in classes]], atol=1e-5)


@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "summary", "gradcheck",
                                     "export"])
def test_every_command_has_help_with_examples(command, capsys):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and f"usage: ffbp {command}" in out and "example" in out


def test_python_dash_m_help():
    result = subprocess.run([sys.executable, "-m", "ffbp", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert "usage: ffbp" in result.stdout and "ffbp train train.csv" in result.stdout


def test_entry_point_trains(files, tmp_path):
    script = Path(sys.executable).parent / ("ffbp.exe" if os.name == "nt" else "ffbp")
    skip_unless(script.exists(), "the ffbp console script is not installed beside this "
                                 "Python (pip install -e .); `make venv` installs it, so "
                                 "`make test` and CI run this test")
    result = subprocess.run([str(script), "train", str(files["train_csv"]), "--target",
                             "label", "--drop", "y", "--epochs", "3", "-o",
                             str(tmp_path / "m.ffbp")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "saved" in result.stdout and (tmp_path / "m.ffbp").is_file()
    assert ffbp.load(tmp_path / "m.ffbp").metadata["target"]["name"] == "label"



def test_a_checkpoint_given_as_the_model_says_what_it_is_and_what_to_do(files, capsys,
                                                                       tmp_path):
    ckpt = tmp_path / "run.ckpt"
    assert run(capsys, "train", files["train_csv"], "--target", "label", "--drop", "y",
               "--epochs", "1", "--checkpoint", ckpt, "-o", tmp_path / "m.ffbp")[0] == 0
    want = (f"ffbp: error: {ckpt} is a training checkpoint, not a model file: resume the "
            f"training from it with 'ffbp train' and the same data and options plus --resume "
            f"{ckpt}, or give the model file that 'ffbp train' wrote (-o)\n")
    for command in (["predict", ckpt, files["test_csv"]], ["summary", ckpt]):
        code, out, err = run(capsys, *command)
        assert (code, out, err) == (1, "", want), err
    with pytest.raises(ffbp.ModelFileError, match=r"is a training checkpoint, not a model "
                       r"file: resume the training from it \(fit\(\.\.\., resume="):
        ffbp.load(ckpt)

# -- errors: one line on stderr, the right exit code, no traceback -------------------------
def _bad_inputs(root: Path, files, classifier):
    (root / "empty.csv").write_text("")
    (root / "not_a_model.ffbp").write_text("hello, I am not a model\n")
    (root / "bad.toml").write_text('hidden = [8]\nlearning_rate = 0.1\n')
    (root / "tiny.csv").write_text("x,y\n1,0\n2,1\n3,0\n")
    garbage = files["test"].head(5).astype({"x1": object})
    garbage.loc[2, "x1"] = "abc"
    garbage.to_csv(root / "garbage.csv", index=False)
    files["test"].drop(columns=["label"]).to_csv(root / "features.csv", index=False)
    ffbp.save(ffbp.Network([ffbp.Dense(3, 2)]), root / "plain.ffbp")
    train, test = str(files["train_csv"]), str(files["test_csv"])
    out = str(root / "out.ffbp")
    return {
        "missing target": (["train", train, "--target", "lable", "-o", out], 1,
                           "has no target column 'lable' (did you mean 'label'?)"),
        "garbage at predict": (["predict", classifier, root / "garbage.csv"], 1,
                               "column 'x1' must be numeric but row 3 holds 'abc'"),
        "empty file": (["train", root / "empty.csv", "--target", "a", "-o", out], 1,
                       "empty.csv is empty"),
        "file not found": (["evaluate", classifier, root / "nowhere.parquet"], 1,
                           "no such file"),
        "unknown flag": (["train", train, "--target", "label", "--hiden", "8", "-o", out], 2,
                         "unrecognized arguments: --hiden"),
        "unknown activation": (["train", train, "--target", "label", "--activation", "rleu",
                                "-o", out], 2,
                               "unknown activation 'rleu' (did you mean 'relu'?)"),
        "not a model": (["predict", root / "not_a_model.ffbp", test], 1,
                        "is not an ffbp model file"),
        "unknown config key": (["train", train, "--config", root / "bad.toml", "--target",
                                "label", "-o", out], 2,
                               "unknown key 'learning_rate' (did you mean 'lr'?)"),
        "no output": (["train", train, "--target", "label"], 2, "needs -o/--output"),
        "loss for the other task": (["train", train, "--target", "label", "--loss", "mse",
                                     "-o", out], 2,
                                    "is a regression loss but the task is classification "
                                    "(choose another --loss, or --task)"),
        "too few rows to hold out": (["train", root / "tiny.csv", "--target", "y",
                                      "--validation-split", "0.5", "-o", out], 1,
                                     "too few to hold out 0.5 for validation (use "
                                     "--validation-split 0)"),
        "unwritable output": (["train", train, "--target", "label", "-o",
                               root / "no" / "such" / "m.ffbp"], 1, "no directory"),
        "model saved from Python": (["predict", root / "plain.ffbp", test], 1,
                                    "was not written by 'ffbp train'"),
        "target missing at evaluate": (["evaluate", classifier, root / "features.csv"], 1,
                                       "has no target column 'label'"),
    }


CASES = ["missing target", "garbage at predict", "empty file", "file not found",
         "unknown flag", "unknown activation", "not a model", "unknown config key",
         "no output", "loss for the other task", "too few rows to hold out",
         "unwritable output",
         "model saved from Python", "target missing at evaluate"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_on_stderr(case, files, classifier, capsys, tmp_path):
    args, expected_code, fragment = _bad_inputs(tmp_path, files, classifier)[case]
    code, out, err = run(capsys, *args)
    assert code == expected_code, err
    assert fragment in one_line_error(err)
    assert not (tmp_path / "out.ffbp").exists()


def test_debug_shows_the_traceback(files, capsys, tmp_path):
    with pytest.raises(ffbp.ModelFileError, match="no model file"):
        main(["--debug", "predict", str(tmp_path / "nowhere.ffbp"), str(files["test_csv"])])


# -- evaluate's metrics ------------------------------------------------------------------
def test_evaluate_reports_every_metric(files, classifier, capsys, tmp_path):
    """Classifier: per-class precision/recall/F1, macro and weighted F1, ROC AUC (one-vs-rest
    for 3 classes) and log loss, as text and JSON; regression: MSE, RMSE, MAE, R². The same
    numbers as ffbp.load(model).evaluate (tests/tabular/ checks them against scikit-learn)."""
    code, out, err = run(capsys, "evaluate", classifier, files["test_csv"])
    assert code == 0, err
    for text in ("accuracy:", "macro F1:", "weighted F1:", "ROC AUC:", "(one-vs-rest, macro)",
                 "log loss:", "precision", "recall", "support", "confusion matrix"):
        assert text in out
    code, out, _ = run(capsys, "evaluate", classifier, files["test_csv"], "--json")
    metrics = json.loads(out)
    assert [c["label"] for c in metrics["per_class"]] == ["high", "low", "mid"]
    assert sum(c["support"] for c in metrics["per_class"]) == 300
    assert 0.9 < metrics["roc_auc"] <= 1 and 0 < metrics["log_loss"] < 1
    assert metrics["macro_f1"] > 0.85 and metrics["weighted_f1"] > 0.85
    assert metrics == json.loads(json.dumps(ffbp.load(classifier).evaluate(files["test_csv"])))

    model = tmp_path / "reg.ffbp"
    assert main(["train", str(files["train_csv"]), "--target", "y", "--drop", "label",
                 "--epochs", "5", "--quiet", "-o", str(model)]) == 0
    code, out, _ = run(capsys, "evaluate", model, files["test_csv"])
    assert code == 0 and all(f"{k}: " in out for k in ("mse", "rmse", "mae", "r2"))
    metrics = json.loads(run(capsys, "evaluate", model, files["test_csv"], "--json")[1])
    assert metrics["rmse"] == pytest.approx(np.sqrt(metrics["mse"]), rel=1e-12)
