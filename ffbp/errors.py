"""ffbp's errors: the input and configuration errors are ``ValueError``s, so plain ``except``
clauses work; a diverged run is an ``ArithmeticError`` (``DivergenceError``) and Ctrl-C in
``fit`` a ``KeyboardInterrupt`` (``TrainingInterrupted``)."""


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


REMEDIES = ("lower the learning rate, clip the gradients (e.g. clip_norm=1.0), add batch "
            "normalisation, use ReLU instead of a saturating activation, or add weight decay")


def divergence_message(epoch: int, batch: int, what: str, remedies: str = REMEDIES) -> str:
    """What a run that diverged in ``epoch``, ``batch`` (from 0) because ``what`` says, with
    ``remedies`` to try: ``REMEDIES`` (Python's spelling) unless the caller gives its own
    (``ffbp train``: its flags)."""
    return (f"training diverged at epoch {epoch + 1}, batch {batch + 1}: {what}; the weights "
            f"of the last finite step are kept. Try: {remedies}")


class DivergenceError(FFBPError, ArithmeticError):
    """The loss or an update became NaN or inf; the weights of the last finite step are kept.

    ``where``: (epoch, batch, what) when ``fit`` raised it, so that a program speaking to its
    own users can say it with its own remedies (``divergence_message``); else None."""

    where = None


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``fit``: the current batch was finished (and a checkpoint written when
    ``checkpoint`` was given). ``history`` and ``checkpoint`` say what was kept."""

    def __init__(self, message, history, checkpoint):
        super().__init__(message)
        self.history, self.checkpoint = history, checkpoint
