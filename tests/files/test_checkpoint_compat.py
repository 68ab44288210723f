"""Checkpoints written by earlier versions of ffbp still resume.

``fixtures/adam_decay_dict_state.ckpt`` was written by ffbp when optimiser states were
dicts (before the typed ``AdamState``/``ScheduleState``), after 2 of 4 epochs of Adam with
weight decay, by the script in its docstring below. The saved paths (``optimizer/1/mu``,
``optimizer/1/count`` …) are the same in both forms, so resuming must give the weights of an
uninterrupted run of today's ffbp (to float64 rounding: the fixture was written on another
machine).

    X = default_rng(0).normal(size=(30, 3)); y = (X[:, 0] + X[:, 1] > 0)
    net = ffbp.mlp(3, (5,), 2, "tanh", output=ffbp.Softmax, seed=0, dtype=np.float64)
    net.fit(X, y, "cross_entropy", ffbp.optim.adam(0.01, weight_decay=1e-3), epochs=2,
            batch_size=8, seed=3, verbose=False, checkpoint=...)
"""

from pathlib import Path

import numpy as np
import pytest

import ffbp

FIXTURE = Path(__file__).parent / "fixtures" / "adam_decay_dict_state.ckpt"


def problem():
    X = np.random.default_rng(0).normal(size=(30, 3))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def run(epochs, **resume):
    net = ffbp.mlp(3, (5,), 2, "tanh", output=ffbp.Softmax, seed=0, dtype=np.float64)
    history = net.fit(*problem(), "cross_entropy", ffbp.optim.adam(0.01, weight_decay=1e-3),
                      epochs=epochs, batch_size=8, seed=3, verbose=False, **resume)
    return net, history


def test_a_checkpoint_of_dict_states_resumes_as_an_uninterrupted_run():
    whole, whole_history = run(4)
    resumed, history = run(4, resume=FIXTURE)
    # The fixture's first two epochs were computed on another machine: its BLAS may round
    # the last bits differently, so "the same run" is equal to float64 rounding. A state
    # restored wrongly is far off: one step off in Adam's count moves the weights by ~8 %,
    # a relative 1e-9 change of its first moment by ~2e-8.
    np.testing.assert_allclose(resumed.flat_values, whole.flat_values, rtol=1e-10, atol=1e-13)
    assert history.metrics["loss"] == pytest.approx(whole_history.metrics["loss"], rel=1e-10)
    adam = resumed.optimizer_state[1]
    assert adam.count.n == 16                   # 4 batches per epoch, 4 epochs


def test_the_saved_state_paths_did_not_change(tmp_path):
    # Today's checkpoint of the same run names its optimiser entries as the old file does.
    from ffbp import checkpoint

    run(2, checkpoint=tmp_path / "new.ckpt")
    old = checkpoint.read_metadata(FIXTURE)
    new = checkpoint.read_metadata(tmp_path / "new.ckpt")
    assert new["optimizer_numbers"] == old["optimizer_numbers"]
