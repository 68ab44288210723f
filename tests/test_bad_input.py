"""Bad input gets an ffbp error naming what is wrong, never a NumPy traceback."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require

import ffbp
from ffbp.errors import ConfigError, DataError, NotFittedError, ShapeError


def clf():
    return ffbp.Network([ffbp.Dense(3, 4), ffbp.ReLU(), ffbp.Dense(4, 3), ffbp.Softmax()])


def reg():
    return ffbp.Network([ffbp.Dense(3, 2)])


X = np.arange(12.0).reshape(4, 3) / 10
Y_CLS = np.array([0, 1, 2, 1])
Y_REG = np.ones((4, 2))

CASES = {
    "layer widths do not chain": (
        lambda: ffbp.Network([ffbp.Dense(3, 4), ffbp.ReLU(), ffbp.Dense(5, 2)]),
        ShapeError, "layer 2 .*expects 5 input features but receives 4"),
    "X with the wrong number of features": (
        lambda: clf().forward(np.ones((2, 5))), ShapeError, "5 features .* expects 3"),
    "X and y of different lengths": (
        lambda: reg().fit(X, Y_REG[:3], verbose=False), ShapeError, "4 samples but y has 3"),
    "NaN in X": (lambda: reg().fit(np.where(X > 0.5, np.nan, X), Y_REG, verbose=False),
                 DataError, "X contains NaN or inf .*row 3\\b"),  # index 2: row 3
    "inf in y": (lambda: reg().fit(X, np.full((4, 2), np.inf), verbose=False),
                 DataError, "y contains NaN or inf"),
    "label outside the classes": (
        lambda: clf().fit(X, [0, 1, 3, 1], loss="cross_entropy", verbose=False),
        DataError, "label 3 outside the classes 0..2"),
    "non-integer class label": (
        lambda: clf().fit(X, [0, 1, 1.5, 1], loss="cross_entropy", verbose=False),
        DataError, "class indices"),
    "empty X": (lambda: reg().fit(np.empty((0, 3)), np.empty((0, 2)), verbose=False),
                DataError, "X is empty"),
    "non-numeric X": (lambda: reg().forward([["a", "b", "c"]]), DataError, "must be numeric"),
    "ragged X": (lambda: reg().forward([[1, 2, 3], [1, 2]]), DataError, "could not be read"),
    "3-D X": (lambda: reg().forward(np.ones((2, 3, 1))), ShapeError, "must be 2-D"),
    "1-D X that is not one sample": (lambda: reg().forward(np.ones(5)), ShapeError,
                                     "reshape a single feature"),
    "regression targets of the wrong width": (
        lambda: reg().fit(X, np.ones((4, 3)), verbose=False), ShapeError, "2 output"),
    "cross-entropy after a non-softmax output": (
        lambda: reg().fit(X, [0, 1, 1, 0], loss="cross_entropy", verbose=False),
        ConfigError, "end the network with Softmax"),
    "logits loss after softmax": (
        lambda: clf().fit(X, Y_CLS, loss="cross_entropy_with_logits", verbose=False),
        ConfigError, "remove the Softmax layer"),
    "categorical loss on one output": (
        lambda: ffbp.Network([ffbp.Dense(3, 1)]).fit(X, [0, 1, 1, 0],
                                                     loss="cross_entropy_with_logits",
                                                     verbose=False),
        DataError, "at least 2 outputs"),
    "BCE labels outside [0, 1]": (
        lambda: ffbp.Network([ffbp.Dense(3, 1), ffbp.Sigmoid()]).fit(
            X, [0, 2, 1, 0], loss="bce", verbose=False), DataError, "0/1 labels"),
    "unknown loss name": (lambda: reg().fit(X, Y_REG, loss="mse_loss", verbose=False),
                          ConfigError, "did you mean 'mse'"),
    "unknown initialiser": (lambda: ffbp.Dense(2, 2, init="he"), ConfigError,
                            "unknown initialiser 'he'"),
    "unknown activation": (lambda: ffbp.layers.activations.get("relu6"), ConfigError,
                           "unknown activation"),
    "batch_size 0": (lambda: reg().fit(X, Y_REG, batch_size=0, verbose=False),
                     ConfigError, "batch_size must be a positive integer"),
    "fractional epochs": (lambda: reg().fit(X, Y_REG, epochs=2.5, verbose=False),
                          ConfigError, "epochs must be a positive integer"),
    "negative learning rate": (lambda: ffbp.optim.gd(-0.1), ConfigError, "learning_rate"),
    "optimizer that is not a transformation": (
        lambda: reg().fit(X, Y_REG, optimizer="adam!", verbose=False), ConfigError,
        "optimizer must be"),
    "negative tol": (lambda: reg().fit(X, Y_REG, tol=-1, verbose=False), ConfigError, "tol"),
    "negative sample weight": (
        lambda: reg().fit(X, Y_REG, sample_weight=[1, -1, 1, 1], verbose=False),
        DataError, "non-negative"),
    "sample weights of the wrong length": (
        lambda: reg().fit(X, Y_REG, sample_weight=[1, 1], verbose=False),
        ShapeError, "sample_weight has 2 entries but there are 4 samples"),
    "integer dtype": (lambda: ffbp.Network([ffbp.Dense(2, 2)], dtype=int), ConfigError,
                      "float32 or float64"),
    "no layers": (lambda: ffbp.Network([]), ConfigError, "at least one layer"),
    "something that is not a layer": (lambda: ffbp.Network([ffbp.Dense(2, 2), "relu"]),
                                      TypeError, "layer 1 is 'relu'"),
    "a layer of width 0": (lambda: ffbp.Dense(0, 3), ConfigError, "in_features"),
    "dY of the wrong shape": (lambda: reg().backward(np.ones((4, 3))), ShapeError,
                              r"dY must have shape \(n_samples, 2\)"),
    "backward before forward": (lambda: reg().backward(np.ones((4, 2))), ShapeError,
                                "call forward first"),
    "predict_proba before fit": (lambda: clf().predict_proba(X), NotFittedError, "fit"),
    "perceptron labels not 0/1": (lambda: ffbp.Perceptron().fit(X, [0, 1, 2, 1]),
                                  DataError, "0 or 1"),
    "perceptron predict before fit": (lambda: ffbp.Perceptron().predict(X),
                                      NotFittedError, "not fitted"),
    "gradcheck with mismatched targets": (
        lambda: ffbp.gradcheck(reg(), "mse", X, np.ones((3, 2))), ShapeError, "T has 3"),
    # -- complex values: casting to float would drop the imaginary parts silently
    "complex X": (lambda: reg().fit(X + 1j, Y_REG, verbose=False), DataError,
                  "X has complex values"),
    "complex X to forward": (lambda: reg().forward(X * (1 + 0j)), DataError,
                             "X has complex values"),
    "complex regression targets": (lambda: reg().fit(X, Y_REG + 2j, verbose=False),
                                   DataError, "y has complex values"),
    "complex class labels": (
        lambda: clf().fit(X, Y_CLS + 0j, loss="cross_entropy", verbose=False), DataError,
        "y has complex values"),
    "complex sample weights": (
        lambda: reg().fit(X, Y_REG, sample_weight=np.ones(4) + 1j, verbose=False),
        DataError, "sample_weight has complex values"),
    # -- sample weights: one per sample, never a flattened 2-D array
    "2-D sample weights": (
        lambda: reg().fit(X, Y_REG, sample_weight=np.ones((2, 2)), verbose=False),
        ShapeError, r"sample_weight must be 1-D, one weight per sample.*got shape \(2, 2\)"),
    "a column of sample weights": (
        lambda: reg().fit(X, Y_REG, sample_weight=np.ones((4, 1)), verbose=False),
        ShapeError, "sample_weight must be 1-D"),
    "ragged sample weights": (
        lambda: reg().fit(X, Y_REG, sample_weight=[[1, 2], [3]], verbose=False),
        DataError, "sample_weight could not be read"),
    "text sample weights": (
        lambda: reg().fit(X, Y_REG, sample_weight=["a"] * 4, verbose=False),
        DataError, "sample_weight must be numeric"),
    # -- layer hyper-parameters: finite, in range, of the right type
    "LeakyReLU(nan)": (lambda: ffbp.LeakyReLU(np.nan), ConfigError,
                       "LeakyReLU alpha must be a finite number >= 0, got nan"),
    "LeakyReLU with a negative slope": (lambda: ffbp.LeakyReLU(-0.1), ConfigError,
                                        "LeakyReLU alpha"),
    "ELU(inf)": (lambda: ffbp.ELU(np.inf), ConfigError, "ELU alpha must be a finite number > 0"),
    "ELU of a string": (lambda: ffbp.ELU("x"), ConfigError, "ELU alpha .*got 'x'"),
    "ELU(0)": (lambda: ffbp.ELU(0), ConfigError, "ELU alpha"),
    "BatchNorm(eps=inf)": (lambda: ffbp.BatchNorm(3, eps=np.inf), ConfigError,
                           "BatchNorm eps must be a finite number > 0"),
    "BatchNorm momentum NaN": (lambda: ffbp.BatchNorm(3, momentum=np.nan), ConfigError,
                               r"BatchNorm momentum must be a finite number in \[0, 1\]"),
    "a huge BatchNorm": (lambda: ffbp.BatchNorm(10**12), ConfigError,
                         "BatchNorm.* would hold .*TiB"),
    "Dense(3, 10**12)": (lambda: ffbp.Dense(3, 10**12), ConfigError,
                         r"Dense\(3, 1000000000000\) would hold 4,000,000,000,000 "
                         r"parameters, 29.1 TiB in float64: more than this machine's"),
    "Dense(2**70, 3)": (lambda: ffbp.Dense(2**70, 3), ConfigError, "would hold"),
    "Dense with bias='no'": (lambda: ffbp.Dense(2, 2, bias="no"), ConfigError,
                             "bias must be True or False"),
    "initialiser with a negative std": (lambda: ffbp.init.small_normal(-1), ConfigError,
                                        "small_normal std"),
    "constant initialiser of NaN": (lambda: ffbp.init.constant(np.nan), ConfigError,
                                    "constant c"),
    # -- seeds: None or an integer >= 0, as NumPy's
    "negative seed": (lambda: ffbp.Network([ffbp.Dense(2, 2)], seed=-1), ConfigError,
                      "seed must be None or an integer >= 0, got -1"),
    "fractional seed": (lambda: ffbp.Network([ffbp.Dense(2, 2)], seed=1.5), ConfigError,
                        "seed must be None or an integer"),
    "text seed": (lambda: ffbp.Network([ffbp.Dense(2, 2)], seed="x"), ConfigError,
                  "seed must be None"),
    "Dense seed": (lambda: ffbp.Dense(2, 2, seed=-1), ConfigError, "Dense seed"),
    "Dropout seed": (lambda: ffbp.Dropout(0.5, seed="x"), ConfigError, "Dropout seed"),
    # -- the network's own arguments
    "dtype name": (lambda: ffbp.Network([ffbp.Dense(2, 2)], dtype="banana"), ConfigError,
                   "dtype must be float32 or float64, got 'banana'"),
    "layers that are not a list": (lambda: ffbp.Network(5), ConfigError,
                                   "layers must be a list of ffbp layers, got 5"),
    "infinite clipping norm": (lambda: ffbp.optim.clip_by_global_norm(np.inf), ConfigError,
                               "max_norm must be a positive number"),
    "infinite learning rate": (lambda: ffbp.optim.sgd(np.inf), ConfigError,
                               "learning_rate must be a positive number"),
    "array momentum": (lambda: ffbp.optim.sgd(0.1, momentum=np.ones(2)), ConfigError,
                       "momentum must be a number"),
    # -- data sources
    "ragged ArraySource": (lambda: ffbp.data.ArraySource([[1, 2], [3]], [0, 1]), DataError,
                           "ArraySource: X could not be read"),
    "complex ArraySource": (lambda: ffbp.data.ArraySource(X + 1j, Y_CLS), DataError,
                            "complex"),
    "NpySource of no path": (lambda: ffbp.data.NpySource(None, "y.npy"), ConfigError,
                             "the X file must be a path, got None"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_raises_a_clear_error(case):
    call, error, message = CASES[case]
    with pytest.raises(error, match=message):
        call()


def _npy_with_header(path, shape, dtype="<f8", data=b"\0" * 64):
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": dtype, "fortran_order": False, "shape": shape})
        f.write(data)
    return path


@pytest.mark.parametrize("shape", [(2**62, 4), (2**40, 2**40), (4, 2**61)])
def test_npy_header_of_an_absurd_shape_is_refused_before_mapping(tmp_path, shape):
    """np.prod((2**62, 4)) wraps to 0 in int64: the size check passed and the source
    claimed 2**62 rows of a 64-byte file."""
    X = _npy_with_header(tmp_path / "X.npy", shape)
    np.save(tmp_path / "y.npy", np.zeros(4))
    with pytest.raises(DataError, match=r"X\.npy \(X\) is truncated: its header says shape"):
        ffbp.data.NpySource(X, tmp_path / "y.npy")


def test_npy_of_complex_numbers_is_refused(tmp_path):
    X = tmp_path / "X.npy"
    np.save(X, np.ones((4, 3), complex))
    np.save(tmp_path / "y.npy", np.zeros(4))
    with pytest.raises(DataError, match="holds complex numbers"):
        ffbp.data.NpySource(X, tmp_path / "y.npy")


def test_ffbp_errors_are_value_errors():
    for error in (ShapeError, DataError, ConfigError, NotFittedError):
        assert issubclass(error, ValueError) and issubclass(error, ffbp.errors.FFBPError)


# -- the same promise at the other two boundaries: estimators and the command line -------

def _estimator_cases():
    from ffbp.sklearn import MLPClassifier, MLPRegressor

    small = dict(hidden_layer_sizes=(4,), max_iter=2)
    y3 = np.array([0, 1, 2, 1])
    return {
        "estimator: unknown activation": (
            lambda: MLPClassifier(activation="relu6", **{**small}).fit(X, y3), ConfigError,
            "activation"),
        "estimator: unknown optimizer": (
            lambda: MLPClassifier(optimizer="adamm", **small).fit(X, y3), ConfigError,
            "optimizer"),
        "estimator: negative alpha": (
            lambda: MLPRegressor(alpha=-1.0, **small).fit(X, Y_REG), ConfigError, "alpha"),
        "estimator: bad hidden sizes": (
            lambda: MLPClassifier(hidden_layer_sizes=(0,), max_iter=2).fit(X, y3),
            ConfigError, "hidden_layer_sizes"),
        "estimator: dropout of 1": (
            lambda: MLPClassifier(dropout=1.0, **small).fit(X, y3), ConfigError,
            "dropout must be a number in \\[0, 1\\)"),
        "estimator: unknown solver": (
            lambda: MLPClassifier(solver="adma", **small).fit(X, y3), ConfigError,
            "did you mean 'adam'"),
        "estimator: ffbp's old learning_rate number": (
            lambda: MLPClassifier(learning_rate=0.01, **small).fit(X, y3), ConfigError,
            "learning_rate must be one of 'constant'"),
        "estimator: bad dtype": (
            lambda: MLPClassifier(dtype=np.int32, **small).fit(X, y3), ConfigError, "dtype"),
        "estimator: predict before fit": (
            lambda: MLPClassifier(**small).predict(X), ValueError, "not fitted"),
        "estimator: wrong number of features": (
            lambda: MLPClassifier(**small).fit(X, y3).predict(np.ones((2, 5))), ValueError,
            "features"),
    }


@pytest.fixture(scope="module")
def estimator_cases():
    require("sklearn", "the estimator cases use ffbp.sklearn")
    return _estimator_cases()


ESTIMATOR_CASES = ["estimator: unknown activation", "estimator: unknown optimizer",
                   "estimator: negative alpha", "estimator: bad hidden sizes",
                   "estimator: dropout of 1", "estimator: bad dtype",
                   "estimator: predict before fit", "estimator: wrong number of features"]


@pytest.mark.parametrize("case", ESTIMATOR_CASES)
def test_estimator_bad_input(case, estimator_cases):
    call, error, message = estimator_cases[case]
    with pytest.raises(error, match=message):
        call()


CLI_CASES = {   # argv (with {csv} for a small valid table), exit code, message fragment
    "cli: unknown command": (["fly"], 2, "invalid choice"),
    "cli: train without -o": (["train", "{csv}", "--target", "label"], 2, "-o/--output"),
    "cli: missing target column": (["train", "{csv}", "--target", "nope", "-o", "{out}"], 1,
                                   "nope"),
    "cli: file not found": (["train", "{dir}/missing.csv", "--target", "label", "-o",
                             "{out}"], 1, "no such file"),
    "cli: bad learning rate": (["train", "{csv}", "--target", "label", "--lr", "-1", "-o",
                                "{out}"], 2, "lr"),
    "cli: unknown optimizer": (["train", "{csv}", "--target", "label", "--optimizer",
                                "adamm", "-o", "{out}"], 2, "adam"),
    "cli: a model that is not one": (["summary", "{csv}"], 1, "not an ffbp model file"),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_bad_input_is_one_line_with_an_exit_code(case, tmp_path, capsys):
    require("pandas", "the case feeds a DataFrame")
    from ffbp.cli import main

    csv = tmp_path / "t.csv"
    csv.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n")
    argv, code, message = CLI_CASES[case]
    argv = [a.format(csv=csv, out=tmp_path / "m.ffbp", dir=tmp_path) for a in argv]
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("ffbp: error:"), err
    assert message in err and "Traceback" not in err
