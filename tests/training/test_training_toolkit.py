"""fit's toolkit: validation, metrics, early stopping, callbacks, checkpoints and resuming."""

from __future__ import annotations

import numpy as np
import pytest

import ffbp


def _classification(rng, n=120):
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8).astype(int)
    return X, y


def _net(seed=0):
    return ffbp.Network([ffbp.Dense(4, 8), ffbp.Tanh(), ffbp.Dense(8, 3), ffbp.Softmax()],
                        seed=seed, dtype=np.float64)


def test_validation_split_holds_out_a_fraction_and_reports_val_metrics(rng):
    X, y = _classification(rng)
    net = _net()
    history = net.fit(X, y, loss="cross_entropy", epochs=5, validation_split=0.25, seed=0,
                      verbose=False)
    assert set(history.metrics) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 5 for v in history.metrics.values())
    # Recompute the last validation figures independently: the held-out rows are the ones
    # whose loss is not part of training. Identify them through validation_data instead.
    order = np.random.default_rng([0, 1]).permutation(len(X))
    val = order[:30]
    Y = net.forward(X[val])
    expected_loss = np.mean(-np.log(Y[np.arange(30), y[val]]))
    assert history.val_loss[-1] == pytest.approx(expected_loss, rel=1e-10)
    assert history.val_accuracy[-1] == pytest.approx(np.mean(Y.argmax(1) == y[val]))


def test_validation_data_and_training_accuracy(rng):
    X, y = _classification(rng)
    Xv, yv = _classification(rng, 40)
    net = _net()
    history = net.fit(X, y, loss="cross_entropy", epochs=30, batch_size=None,
                      validation_data=(Xv, yv), optimizer=ffbp.optim.gd(0.5), verbose=False)
    assert history.val_accuracy[-1] == pytest.approx(np.mean(net.predict(Xv) == yv))
    # With batch gradient descent the epoch's accuracy is that of the weights before the
    # epoch's single step, i.e. of the network after the previous epoch.
    assert history.accuracy[-1] > 0.7 and history.val_accuracy[-1] > 0.6


def test_early_stopping_stops_and_restores_the_best_weights(rng):
    X, y = _classification(rng, 60)
    Xv, yv = _classification(rng, 60)
    snapshots = []
    keep = ffbp.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(
        net.flat_values.copy()))
    net = _net()
    # A large learning rate on a small set overfits quickly, so val_loss turns up.
    history = net.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.gd(2.0), epochs=500,
                      batch_size=8, validation_data=(Xv, yv), early_stopping=True,
                      patience=5, callbacks=[keep], seed=0, verbose=False)
    assert history.epochs < 500 and "early stopping" in history.stop_reason
    best = int(np.argmin(history.val_loss))
    assert history.best_epoch == best and history.epochs == best + 1 + 5
    np.testing.assert_array_equal(net.flat_values, snapshots[best])


def test_callbacks_see_every_batch_and_epoch_and_can_stop(rng):
    X, y = _classification(rng, 50)
    batches, epochs = [], []

    class Recorder(ffbp.Callback):
        def on_batch_end(self, batch, logs):
            batches.append((batch, logs["size"]))

        def on_epoch_end(self, epoch, logs):
            epochs.append(epoch)
            return epoch == 2                       # stop after the third epoch

    history = _net().fit(X, y, loss="cross_entropy", epochs=10, batch_size=20,
                         callbacks=[Recorder()], verbose=False)
    assert epochs == [0, 1, 2] and history.epochs == 3
    assert batches[:3] == [(0, 20), (1, 20), (2, 10)] and len(batches) == 9


def test_resuming_from_a_checkpoint_equals_an_uninterrupted_run(rng, tmp_path):
    X, y = _classification(rng)
    opt_args = dict(learning_rate=0.05)
    full = _net()
    full.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.adam(**opt_args), epochs=6,
             batch_size=16, seed=3, verbose=False)

    path = tmp_path / "run.ckpt"
    first = _net()
    first.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.adam(**opt_args), epochs=3,
              batch_size=16, seed=3, checkpoint=path, verbose=False)
    resumed = _net(seed=99)                         # different initial weights: overwritten
    history = resumed.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.adam(**opt_args),
                          epochs=6, batch_size=16, resume=path, verbose=False)
    np.testing.assert_array_equal(resumed.flat_values, full.flat_values)
    assert history.epochs == 6


def test_checkpoint_is_plain_safetensors_and_rejects_other_networks(rng, tmp_path):
    from safetensors.numpy import load_file

    X, y = _classification(rng, 30)
    path = tmp_path / "c.ckpt"
    net = _net()
    net.fit(X, y, loss="cross_entropy", epochs=1, checkpoint=path, verbose=False)
    np.testing.assert_array_equal(load_file(str(path))["values"], net.flat_values)
    other = ffbp.Network([ffbp.Dense(4, 3), ffbp.Softmax()], dtype=np.float64)
    with pytest.raises(ffbp.ShapeError, match="parameters"):
        other.fit(X, y, loss="cross_entropy", epochs=2, resume=path, verbose=False)
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ffbp.DataError, match="not a readable ffbp checkpoint"):
        net.fit(X, y, loss="cross_entropy", epochs=2, resume=bad, verbose=False)


def test_bad_validation_arguments(rng):
    X, y = _classification(rng, 10)
    with pytest.raises(ffbp.ConfigError, match="validation_split"):
        _net().fit(X, y, loss="cross_entropy", validation_split=1.5, verbose=False)
    with pytest.raises(ffbp.ConfigError, match="not both"):
        _net().fit(X, y, loss="cross_entropy", validation_split=0.2,
                   validation_data=(X, y), verbose=False)
    with pytest.raises(ffbp.ShapeError, match="validation X has 10 samples but y has 3"):
        _net().fit(X, y, loss="cross_entropy", validation_data=(X, y[:3]), verbose=False)


def test_a_last_batch_of_one_is_folded_for_batch_norm(rng):
    """33 samples in batches of 16 leave one sample, on which batch statistics are undefined:
    fit trains on batches of 16 and 17 instead, and every sample still counts."""
    X, y = _classification(rng, 33)
    sizes = []
    net = ffbp.Network([ffbp.Dense(4, 5), ffbp.BatchNorm(5), ffbp.Tanh(), ffbp.Dense(5, 3),
                        ffbp.Softmax()], dtype=np.float64)
    net.fit(X, y, loss="cross_entropy", epochs=1, batch_size=16, verbose=False,
            callbacks=[ffbp.LambdaCallback(on_batch_end=lambda b, logs: sizes.append(
                logs["size"]))])
    assert sizes == [16, 17]
    plain = []
    _net().fit(X, y, loss="cross_entropy", epochs=1, batch_size=16, verbose=False,
               callbacks=[ffbp.LambdaCallback(on_batch_end=lambda b, logs: plain.append(
                   logs["size"]))])
    assert plain == [16, 16, 1]


def test_reported_loss_includes_the_coupled_weight_decay_penalty(rng):
    """With L2 (coupled) decay fit minimises E + ½λ‖W‖² and reports that value; biases are
    not decayed. AdamW's decoupled decay has no such objective and reports E alone."""
    X, y = _classification(rng, 40)
    lam = 0.1
    net = _net()
    history = net.fit(X, y, loss="cross_entropy", epochs=1, batch_size=None, verbose=False,
                      optimizer=ffbp.optim.sgd(1e-12, weight_decay=lam))
    # One step of size 1e-12 leaves the weights where the loss was measured.
    W2 = sum(float(np.sum(p.value ** 2)) for p in net.parameters() if p.name == "W")
    data = ffbp.losses.CrossEntropy()(net.forward(X), y)
    assert history.loss[0] == pytest.approx(data + 0.5 * lam * W2, rel=1e-9)
    plain = _net().fit(X, y, loss="cross_entropy", epochs=1, batch_size=None, verbose=False,
                       optimizer=ffbp.optim.adamw(1e-12, weight_decay=lam))
    assert plain.loss[0] == pytest.approx(data, rel=1e-9)
