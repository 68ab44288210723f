"""ffbp's errors: each is a ``ValueError`` or ``TypeError``, so plain ``except`` clauses work."""


class FFBPError(Exception):
    """Base class of every error ffbp raises on purpose."""


class ShapeError(FFBPError, ValueError):
    """An array, a layer or a target has the wrong shape for where it is used."""


class DataError(FFBPError, ValueError):
    """Input data is unusable: empty, non-numeric, NaN/inf, labels outside the classes."""


class ConfigError(FFBPError, ValueError):
    """A hyper-parameter, a name or a combination of parts does not make sense."""


class NotFittedError(FFBPError, ValueError):
    """A model was asked for something that only exists after training."""


class ConvergenceWarning(UserWarning):
    """Training ended without meeting its convergence criterion."""
