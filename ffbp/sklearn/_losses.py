"""Where the estimators' losses lived before ``ffbp/losses/sklearn_scale.py``: kept so that
estimators pickled then (their networks name ``ffbp.sklearn._losses.LogLoss``, …) unpickle."""

from ..losses.sklearn_scale import HalfPoisson, HalfSquaredError, LogLoss  # noqa: F401
