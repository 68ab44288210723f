"""Optimiser states are typed: each link's NamedTuple, with its work buffers in a Scratch
that checkpoints skip, and step counts that advance in place."""

import pickle

import numpy as np

from ffbp import checkpoint, optim
from ffbp.optim.base import EmptyState, Scratch, StepCount
from ffbp.optim.transforms import AdamState, DecayState, ScheduleState, TraceState


def test_each_link_has_its_own_typed_state():
    theta = np.zeros(6)
    state = optim.adam(0.1, weight_decay=0.5, clip_norm=1.0).init(theta)
    assert [type(s) for s in state] == [EmptyState, DecayState, AdamState, ScheduleState]
    adam = state[2]
    assert adam.mu.shape == adam.nu.shape == (6,) and isinstance(adam.scratch, Scratch)
    assert type(optim.momentum(0.1).init(theta)[0]) is TraceState


def test_counts_advance_in_place_and_scratch_is_not_saved():
    opt = optim.adam(0.1)
    theta, state = np.ones(3), None
    state = opt.init(theta)
    for _ in range(3):
        u = np.full(3, 0.5)
        opt.update(u, state, theta)
    assert state[0].count == StepCount(3) and state[1].count.n == 3
    arrays, numbers = {}, {}
    checkpoint.flatten_state(state, "optimizer", arrays, numbers)
    assert set(arrays) == {"optimizer/0/mu", "optimizer/0/nu"}
    assert numbers == {"optimizer/0/count": 3, "optimizer/1/count": 3}
    # and back into a fresh state, which then steps exactly as the original
    fresh = opt.init(theta)
    checkpoint.restore_state(fresh, "optimizer", arrays, numbers)
    u1, u2 = np.full(3, 0.25), np.full(3, 0.25)
    opt.update(u1, state, theta)
    opt.update(u2, fresh, theta)
    np.testing.assert_array_equal(u1, u2)


def test_states_pickle_with_their_counts():
    opt = optim.sgd(0.1, momentum=0.9)
    theta = np.ones(4)
    state = opt.init(theta)
    u = np.ones(4)
    opt.update(u, state, theta)
    copy = pickle.loads(pickle.dumps(state))
    assert copy[1].count.n == 1
    np.testing.assert_array_equal(copy[0].trace, state[0].trace)
