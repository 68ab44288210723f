"""Models of tables: a network that carries its preprocessing.

    model = ffbp.fit_table("train.csv", target="species", hidden=[64, 32], epochs=50)
    model.predict(df)            # labels as in the table (any column order, extras ignored)
    model.evaluate("test.parquet")["macro_f1"]
    ffbp.save(model, "m.ffbp"); ffbp.load("m.ffbp").predict(df)   # the same answers

    columns.py   table values: numbers of a column, category keys, labels, row numbers
    tables.py    CSV/Parquet files, DataFrames and pyarrow Tables in
    features.py  the feature preprocessing (standardise, impute, one-hot), fitted in parts
    target.py    the target: task, classes or scaling, encoding
    metrics.py   classification and regression metrics in NumPy
    model.py     TableModel (a Network with its preprocessing)
    prepare.py   from a table to training: held-out rows, fitted preprocessing, the network
                 and optimiser (one path for fit_table and ffbp train, MPI ranks included)
    fitting.py   fit_table, and the training metrics both report

The ``ffbp`` command (``ffbp.cli``) is built on this package. Needs pandas (and pyarrow
for Parquet): ``pip install "ffbp[cli]"``; importing it does not.
"""

from .features import TableWarning
from .fitting import fit_table
from .metrics import classification_metrics, regression_metrics
from .model import TableModel, has_preprocessing, is_table

__all__ = ["TableModel", "fit_table", "TableWarning", "classification_metrics",
           "regression_metrics", "has_preprocessing", "is_table"]
