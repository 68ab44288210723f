"""scikit-learn estimators built on ffbp's Network and ``fit`` (needs scikit-learn ≥ 1.6).

    from ffbp.sklearn import MLPClassifier, MLPRegressor
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=50, random_state=0).fit(X, y)
    clf.predict_proba(X_test)          # (n_samples, n_classes)
    clf.network_                       # the trained ffbp.Network
"""

from ._base import ConvergenceWarning
from ._classifier import MLPClassifier
from ._regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "ConvergenceWarning"]
