"""Learning-rate schedules: functions step -> learning rate (step counts from 0)."""

from __future__ import annotations


def constant(lr: float):
    """α at every step."""
    lr = float(lr)
    return lambda step: lr
