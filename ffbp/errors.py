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


class ModelFileError(DataError):
    """A model file or checkpoint is missing, damaged, edited, malformed, inconsistent, or
    from a format version this ffbp does not read (the message names the file)."""


class ModelFileWarning(UserWarning):
    """A model file or checkpoint was read without an integrity check (it predates the
    digest): re-save it to add one."""
