"""History: every per-epoch figure of a training run."""

from __future__ import annotations


class History:
    """The figures of each epoch, by name: ``loss`` (mean training loss of the epoch's batches,
    plus the weight-decay penalty when the optimiser has one), ``val_loss`` with validation
    data, ``accuracy`` / ``val_accuracy`` for classification losses, ``lr`` when the
    optimiser reports a learning rate. ``history.loss`` is ``history["loss"]``.

    ``stop_reason`` says why training ended; ``best_epoch`` is set when early stopping
    restored the best weights.
    """

    def __init__(self, metrics: dict | None = None, stop_reason: str = "",
                 best_epoch: int | None = None):
        self.metrics: dict[str, list] = {k: list(v) for k, v in (metrics or {}).items()}
        self.stop_reason = stop_reason
        self.best_epoch = best_epoch

    def append(self, logs: dict) -> None:
        for key, value in logs.items():
            self.metrics.setdefault(key, []).append(float(value))

    @property
    def epochs(self) -> int:
        return len(self.metrics.get("loss", []))

    def __getitem__(self, key) -> list:
        return self.metrics[key]

    def __getattr__(self, key):
        metrics = self.__dict__.get("metrics", {})
        if key in metrics:
            return metrics[key]
        if key == "loss":
            return []
        raise AttributeError(key)

    def as_dict(self) -> dict:
        return {**{k: list(v) for k, v in self.metrics.items()}, "epochs": self.epochs,
                "stop_reason": self.stop_reason, "best_epoch": self.best_epoch}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        metrics = {k: v for k, v in data.items() if isinstance(v, list)}
        return cls(metrics, data.get("stop_reason", ""), data.get("best_epoch"))

    def __repr__(self):
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.metrics.items() if v)
        return f"History(epochs={self.epochs}, {last}, stop_reason={self.stop_reason!r})"
