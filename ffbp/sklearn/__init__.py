"""scikit-learn estimators built on ffbp's Network and ``fit`` (needs scikit-learn ≥ 1.6).

    from ffbp.sklearn import MLPClassifier, MLPRegressor
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=50, random_state=0).fit(X, y)
    clf.predict_proba(X_test)          # (n_samples, n_classes)
    clf.network_                       # the trained ffbp.Network
"""

MIN_SKLEARN = (1, 6)


def _missing(exc: ImportError) -> ImportError:
    """The error for a scikit-learn (or SciPy) that is missing or too old, saying what to
    install, instead of a bare "No module named 'sklearn'"."""
    need = f"ffbp.sklearn needs scikit-learn >= {'.'.join(map(str, MIN_SKLEARN))} and SciPy"
    try:
        import sklearn
    except ImportError:
        return ImportError(f'{need}: pip install "ffbp[sklearn]"', name=exc.name)
    return ImportError(f"{need}; this is scikit-learn {sklearn.__version__} ({exc}): "
                       f'pip install --upgrade "ffbp[sklearn]"', name=exc.name)


try:
    from ._base import ConvergenceWarning
    from ._classifier import MLPClassifier
    from ._regressor import MLPRegressor
except ImportError as exc:
    if (exc.name or "").partition(".")[0] not in ("sklearn", "scipy"):
        raise                                 # a fault of ffbp's own, not a missing package
    raise _missing(exc) from None

__all__ = ["MLPClassifier", "MLPRegressor", "ConvergenceWarning"]
