"""History: the figures of each epoch, by name."""

from __future__ import annotations

import pytest

from ffbp.history import History


def test_figures_by_name_and_as_attributes():
    history = History()
    history.append({"loss": 2.0, "val_loss": 3.0})
    history.append({"loss": 1.0, "val_loss": 2.5})
    assert history.epochs == 2
    assert history["loss"] == history.loss == [2.0, 1.0]
    assert history.val_loss == [2.0 + 1.0, 2.5]
    assert History().loss == [] and History().epochs == 0      # before any epoch
    with pytest.raises(AttributeError):
        history.accuracy                                        # noqa: B018 (never recorded)


def test_round_trip_through_a_dict():
    history = History(stop_reason="early stopping", best_epoch=1)
    history.append({"loss": 1.5, "accuracy": 0.5})
    data = history.as_dict()
    assert data == {"loss": [1.5], "accuracy": [0.5], "epochs": 1,
                    "stop_reason": "early stopping", "best_epoch": 1}
    again = History.from_dict(data)
    assert again.as_dict() == data
