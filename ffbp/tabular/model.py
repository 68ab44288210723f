"""``TableModel``: a network that carries its table preprocessing (``fitting.fit_table``
builds one from a table as ``ffbp train`` does)."""

from __future__ import annotations

import math
import os

import numpy as np

from ..errors import ConfigError, DataError
from ..network import Network
from . import metrics as _metrics
from .columns import numbers, pandas, row_number, shown
from .features import (
    input_names,
    transform,
)
from .tables import as_frame, column
from .target import (
    encode_target,
)

#: Metadata format of table models (``net.metadata["ffbp_cli"]``; the name is historical:
#: ``ffbp train`` wrote them first).
FORMAT = 1


def is_table(data) -> bool:
    """A pandas DataFrame, a pyarrow Table or a file path (what the table methods take)."""
    if isinstance(data, (str, os.PathLike)):
        return True
    if type(data).__module__.split(".")[0] not in ("pandas", "pyarrow"):
        return False
    from .tables import is_arrow_table

    return isinstance(data, pandas().DataFrame) or is_arrow_table(data)


def has_preprocessing(metadata) -> bool:
    """True when ``metadata`` holds a table model's preprocessing, complete and well formed."""
    if not isinstance(metadata, dict) or metadata.get("ffbp_cli") is None:
        return False
    target, features = metadata.get("target"), metadata.get("features")
    if not (isinstance(target, dict) and isinstance(features, list) and features):
        return False
    keys = {"numeric": {"name", "mean", "std"},
            "categorical": {"name", "categories", "missing"}}
    if not all(isinstance(f, dict) and keys.get(f.get("kind"), {"?"}) <= f.keys()
               for f in features):
        return False
    need = {"classification": {"name", "classes"}, "regression": {"name", "mean", "std"}}
    return need.get(target.get("task"), {"?"}) <= target.keys()


def check_not_a_row(X) -> None:
    """A pandas Series or a dict (a row of a table), or a list of dicts (records), given
    where a table is expected: a DataError saying how to pass it, rather than the array
    path's "X must be numeric" about an object array the user never made."""
    one = isinstance(X, dict)
    if one or (isinstance(X, list) and X and all(isinstance(r, dict) for r in X)):
        got, fix = ("a dict", "pandas.DataFrame([row])") if one else \
            ("a list of dicts", "pandas.DataFrame(rows)")
        raise DataError(f"a table model takes a table (a pandas DataFrame, a pyarrow Table "
                        f"or a CSV/Parquet path), got {got}: pass {fix}")
    if type(X).__module__.split(".")[0] == "pandas" and type(X).__name__ == "Series":
        raise DataError("a table model takes a table (a pandas DataFrame, a pyarrow Table or a "
                        "CSV/Parquet path), got a pandas Series: pass one row as "
                        "df.iloc[[i]] (a DataFrame), or series.to_frame().T")


def loss_targets(y, net):
    """Encoded targets in the form the network's loss takes (0/1 column for binary losses)."""
    return y.reshape(-1, 1) if net.n_outputs == 1 else y


class TableModel(Network):
    """A ``Network`` that owns the preprocessing of the table it was trained on: its
    ``predict``, ``predict_proba`` and ``evaluate`` take the raw table (a pandas DataFrame,
    a pyarrow Table, or the path of a CSV/TSV/Parquet file) and answer in the target's
    terms: class labels as they were in the table, regression values in the target's units.
    Exactly what ``ffbp predict`` and ``ffbp evaluate`` give (they are built on it).

    Columns are matched by name: any order, extra columns ignored, a missing one a
    ``DataError`` naming it; a category never seen in training becomes an all-zero block with
    a ``TableWarning``. The preprocessing lives in ``metadata`` (where ``ffbp.save`` keeps it),
    so a saved ``TableModel`` loads as one: ``ffbp.load`` returns a ``TableModel`` for every
    file whose metadata holds a table preprocessing (all files of ``ffbp train``), and a plain
    ``Network`` otherwise.

    Why a subclass, not a wrapper: everything that takes a ``Network`` (``gradcheck``,
    ``export_onnx``, ``save``, ``trace``, ``explain``, ``fit``, the MPI code, and every
    script that did ``net = ffbp.load("m.ffbp"); net.layers[0].W``) keeps working unchanged
    on a loaded CLI model, with no ``.network`` indirection and no delegation of attributes.
    The table methods only extend what Network's did: ``predict`` and ``predict_proba`` given
    a NumPy array (or a sparse matrix) are ``Network``'s, on the network's own inputs (class
    indices, probabilities per output); given a table, they preprocess it and decode.

    Attributes beyond ``Network``'s (read from ``metadata``): ``target`` (the target's spec:
    name, task, classes or scaling), ``features`` (one spec per column), ``input_names``.
    """

    @classmethod
    def from_network(cls, net: Network, where: str = "the model") -> TableModel:
        """A ``TableModel`` sharing ``net``'s layers, weights and metadata (``net`` itself
        should not be used afterwards). A ``DataError`` when its metadata has no complete
        table preprocessing."""
        if not has_preprocessing(net.metadata):
            raise DataError(f"{where} has no table preprocessing in its metadata (it was not "
                            f"made by 'ffbp train' or ffbp.fit_table), or it is damaged")
        model = cls.__new__(cls)
        model.__dict__.update(net.__dict__)
        return model

    # -- what it knows -----------------------------------------------------------------
    @property
    def target(self) -> dict:
        return self.metadata["target"]

    @property
    def features(self) -> list[dict]:
        return self.metadata["features"]

    @property
    def task(self) -> str:
        return self.target["task"]

    @property
    def classes(self) -> list | None:
        return self.target.get("classes")

    @property
    def input_names(self) -> list[str]:
        return input_names(self.features)

    # -- tables in ---------------------------------------------------------------------
    def transform(self, table) -> np.ndarray:
        """The network's input matrix (float64) for a table's rows."""
        df, label = as_frame(table)
        return self.prepare(df, label)

    def prepare(self, df, label="the table") -> np.ndarray:
        """``transform`` of a DataFrame; ``label`` names it in messages."""
        X = transform(df, self.features, label)
        if X.shape[1] != self.n_features:
            raise DataError(f"the model's preprocessing gives {X.shape[1]} inputs but its "
                            f"network takes {self.n_features}: the model file is inconsistent")
        self._check_range(X, df, label)
        return X

    def _check_range(self, X, df, label) -> None:
        """A standardised input beyond the network's dtype (1e200 against a float32 model)
        is an error naming the column and the row, not an overflow deep in the network."""
        limit = np.finfo(self.dtype).max
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(X) <= limit)
        if not bad.any():
            return
        row, col = np.argwhere(bad)[0]
        name, at = None, 0
        for f in self.features:                 # the column behind input ``col``
            at += 1 if f["kind"] == "numeric" else len(f["categories"]) + bool(f["missing"])
            if col < at:
                name = f["name"]
                break
        series = df[name] if name in df.columns else None
        value = f" holds {shown(series.iloc[row])}, which" if series is not None else ""
        where = row_number(series, row) if series is not None else row + 1
        raise DataError(f"{label}: column {name!r} at row {where}{value} is too large for "
                        f"the model's {self.dtype} inputs once standardised (beyond "
                        f"{limit:.3g})")

    def encode_target(self, df, label="the table") -> np.ndarray:
        """The target column of ``df`` encoded as the network learnt it: class indices, or
        the standardised value."""
        series = column(df, self.target["name"], label, "target column")
        return encode_target(series, self.target, label)

    # -- answers -----------------------------------------------------------------------
    def decode(self, X) -> tuple[np.ndarray, np.ndarray | None]:
        """(predictions, probabilities or None) for the network's inputs X: labels (object
        array) or values in the target's units, and for a probabilistic classifier one
        column per class (two for a binary output)."""
        if self.task == "regression":
            raw = Network.predict(self, X)[:, 0].astype(np.float64)
            return raw * self.target["std"] + self.target["mean"], None
        index = np.asarray(Network.predict(self, X)).reshape(-1)
        labels = np.asarray(self.classes, dtype=object)[index]
        try:
            proba = Network.predict_proba(self, X)
        except ConfigError:                                     # a margin loss
            proba = None
        if proba is not None and proba.shape[1] == 1:           # binary: P(second class)
            proba = np.hstack([1 - proba, proba])
        return labels, proba

    def predict(self, X):
        """For a table: class labels (an object array of the original values) or regression
        values in the target's units, one per row. For an array: ``Network.predict``."""
        if not is_table(X):
            check_not_a_row(X)
            return super().predict(X)
        return self.decode(self.transform(X))[0]

    def predict_proba(self, X):
        """For a table: probabilities (n_rows, n_classes), columns in the order of
        ``classes`` (a ``ConfigError`` for regression or a margin loss). For an array:
        ``Network.predict_proba``."""
        if not is_table(X):
            check_not_a_row(X)
            return super().predict_proba(X)
        if self.task != "classification":
            raise ConfigError("predict_proba is for classifiers; this model is a regression "
                              f"of {self.target['name']!r}")
        proba = self.decode(self.transform(X))[1]
        if proba is None:
            raise ConfigError(f"this classifier's loss ({self.loss!r}) gives no "
                              f"probabilities")
        return proba

    def predict_table(self, table, keep=()):
        """A DataFrame of the ``keep`` columns copied through, ``prediction``, and for a
        probabilistic classifier ``proba_<class>`` per class (what ``ffbp predict``
        writes). ``keep``: a column name or a list of them."""
        keep = [keep] if isinstance(keep, str) else [] if keep is None else list(keep)
        df, label = as_frame(table)
        names = ["prediction"] + ([f"proba_{c}" for c in self.classes]
                                  if self.task == "classification" else [])
        clash = next((c for c in keep if c in names), None)
        if clash is not None:            # it would be overwritten by the prediction
            raise DataError(f"cannot keep the column {clash!r} of {label}: the predictions "
                            f"have a column of that name; rename it in the table")
        X = self.prepare(df, label)
        out = pandas().DataFrame({c: column(df, c, label).to_numpy() for c in keep})
        predictions, proba = self.decode(X)
        out["prediction"] = predictions
        if proba is not None:
            for j, name in enumerate(self.classes):
                out[f"proba_{name}"] = proba[:, j]
        return out

    def evaluate(self, table) -> dict:
        """Metrics on a table that holds the target column (``ffbp evaluate --json``).

        Always ``rows`` and ``loss`` (the training loss, on the target as the network
        learnt it). Classifiers: ``accuracy``, ``confusion_matrix`` (rows: true class),
        ``labels``, ``per_class`` (label, precision, recall, f1, support), ``macro_f1``,
        ``weighted_f1``, ``roc_auc`` and ``log_loss`` (None without probabilities; ROC AUC
        one-vs-rest macro for more than two classes). Regression: ``mse``, ``rmse``, ``mae``,
        ``r2`` in the target's units. See ``ffbp.tabular.metrics``."""
        df, label = as_frame(table)
        y = self.encode_target(df, label)
        X = self.prepare(df, label)
        Y = self.outputs(X)
        result = {"rows": len(X),
                  "loss": float(self.loss(Y, loss_targets(y, self))) if len(X) else math.nan}
        if self.task == "regression":
            truth = numbers(df[self.target["name"]], self.target["name"], label)
            predicted = Y[:, 0].astype(np.float64) * self.target["std"] + self.target["mean"]
            result.update(_metrics.regression_metrics(truth, predicted))
            return result
        decided = np.asarray(self.loss.decide(Y)).reshape(-1)
        try:
            proba = self.loss.probabilities(Y)
        except ConfigError:
            proba = None
        if proba is not None and proba.shape[1] == 1:
            proba = np.hstack([1 - proba, proba])
        result.update(_metrics.classification_metrics(y, decided, proba, self.classes))
        return result


__all__ = ["TableModel", "is_table", "has_preprocessing", "loss_targets", "FORMAT"]
