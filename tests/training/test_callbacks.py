"""EarlyStopping and LossTolerance driven epoch by epoch, as ``fit`` drives them: a NaN (or
+inf) monitored figure never counts as an improvement and never crashes the stop message."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ffbp
from ffbp.callbacks import Callback, CallbackList, EarlyStopping, LossTolerance
from ffbp.history import History


def _drive(callback, values, key="val_loss", net=None):
    """Feed ``values`` as successive epochs' ``key``; return (epochs run, history, net)."""
    net = net or ffbp.Network([ffbp.Dense(2, 1)], seed=0)
    history = History()
    callback.on_train_begin(net, history)
    epochs = 0
    for epoch, value in enumerate(values):
        epochs += 1
        logs = {"loss": 1.0, key: value} if key != "loss" else {"loss": value}
        history.append(logs)
        if callback.on_epoch_end(epoch, logs):
            break
    if hasattr(callback, "on_train_end"):
        callback.on_train_end(net, history)
    return epochs, history, net


def test_early_stopping_with_a_monitored_value_that_is_always_nan_stops_cleanly():
    # The defect: best_epoch stayed None and the stop message did None + 1 (TypeError).
    epochs, history, _ = _drive(EarlyStopping(patience=3), [math.nan] * 10)
    assert epochs == 3
    assert "val_loss did not improve for 3 epochs" in history.stop_reason
    assert "no finite value seen" in history.stop_reason
    assert history.best_epoch is None                 # nothing to restore


def test_early_stopping_with_a_value_that_is_always_inf_stops_cleanly():
    epochs, history, _ = _drive(EarlyStopping(patience=2), [math.inf] * 5)
    assert epochs == 2 and "no finite value seen" in history.stop_reason


def test_nan_is_never_an_improvement_and_the_best_finite_epoch_is_restored():
    net = ffbp.Network([ffbp.Dense(2, 1)], seed=0)
    stopper = EarlyStopping(patience=3)
    history = History()
    stopper.on_train_begin(net, history)
    values = [0.9, 0.5, math.nan, math.nan, math.nan, 0.1]
    weights_at = {}
    for epoch, value in enumerate(values):
        net.flat_values[...] = epoch                  # each epoch's "weights"
        weights_at[epoch] = net.flat_values.copy()
        if stopper.on_epoch_end(epoch, {"loss": 1.0, "val_loss": value}):
            break
    stopper.on_train_end(net, history)
    assert epoch == 4                                 # three NaN epochs after the best
    assert history.stop_reason == ("early stopping: val_loss did not improve for 3 epochs "
                                   "(best 0.5 at epoch 2)")
    assert history.best_epoch == 1
    np.testing.assert_array_equal(net.flat_values, weights_at[1])


def test_a_finite_value_after_nan_epochs_is_an_improvement():
    epochs, history, _ = _drive(EarlyStopping(patience=2), [math.nan, 0.7, math.nan, 0.6, 0.65,
                                                            0.66])
    assert epochs == 6
    assert history.stop_reason.endswith("(best 0.6 at epoch 4)")
    assert history.best_epoch == 3


def test_loss_tolerance_counts_a_nan_loss_as_no_improvement():
    # Before, "nan > best − tol" was False, so a NaN epoch reset the count of stale epochs.
    epochs, history, _ = _drive(LossTolerance(tol=1e-3, n_iter_no_change=2),
                                [1.0, math.nan, math.nan, 0.5], key="loss")
    assert epochs == 3
    assert history.stop_reason == "loss improved by less than tol=0.001 for 2 epochs"


@pytest.mark.parametrize("values", [[1.0, 0.5, 0.25, 0.125], [2.0, 1.0, 0.5, 0.4]])
def test_finite_improving_values_never_stop(values):
    epochs, history, _ = _drive(EarlyStopping(patience=1), values)
    assert epochs == len(values) and history.stop_reason == ""


# -- the loop's callback list and its progress bar -----------------------------------------

def _tiny_fit(**kwargs):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = X @ np.array([1.0, -1.0, 0.5])
    net = ffbp.Network([ffbp.Dense(3, 4), ffbp.Tanh(), ffbp.Dense(4, 1)], seed=0)
    return net.fit(X, y, loss="mse", epochs=3, batch_size=5, seed=0, **kwargs)


@pytest.mark.parametrize("verbose", [False, None])
def test_no_progress_bar_exists_unless_one_is_shown(monkeypatch, verbose):
    # tqdm takes a lock shared across processes when a bar is created, even a disabled one:
    # a forked worker killed while holding it would hang every later fit. Without a bar to
    # show (verbose False, or None off a terminal as here) none is created at all.
    import tqdm.auto

    def refuse(*args, **kwargs):
        raise AssertionError("a tqdm bar was created")

    monkeypatch.setattr(tqdm.auto, "tqdm", refuse)
    assert _tiny_fit(verbose=verbose).epochs == 3


def test_progress_bar_counts_every_sample(monkeypatch):
    import tqdm.auto

    bars = []

    class Bar:
        def __init__(self, total, **kwargs):
            self.total, self.n, self.closed = total, 0, False
            bars.append(self)

        def update(self, k):
            self.n += k

        def set_description(self, *a, **k):
            pass

        def set_postfix(self, *a, **k):
            pass

        def close(self):
            self.closed = True

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    _tiny_fit(verbose=True)
    assert len(bars) == 1 and bars[0].total == 60 and bars[0].n == 60 and bars[0].closed


def test_callback_list_calls_only_the_hooks_defined():
    seen = []

    class OnlyEpochs(Callback):
        def on_epoch_end(self, epoch, logs):
            seen.append(epoch)
            return epoch == 1

    class Plain:                                  # any object may follow the protocol
        def on_batch_end(self, batch, logs):
            seen.append(("batch", batch))

    callbacks = CallbackList([OnlyEpochs(), Plain()])
    assert len(callbacks.batch_hooks) == 1        # Callback's empty hooks are skipped
    assert callbacks.on_epoch_end(0, {}) is False
    assert callbacks.on_epoch_end(1, {}) is True
    callbacks.batch_hooks[0](7, {})
    callbacks.on_train_begin(None, None)
    callbacks.close()
    assert seen == [0, 1, ("batch", 7)]


# -- callbacks' state in checkpoints -------------------------------------------------------

def _stopping_run(epochs, checkpoint=None, resume=None, **stopping):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8).astype(int)
    Xv = rng.normal(size=(60, 4))
    yv = (Xv[:, 0] + 0.5 * Xv[:, 1] > 0).astype(int) + (Xv[:, 2] > 0.8).astype(int)
    net = ffbp.Network([ffbp.Dense(4, 8), ffbp.Tanh(), ffbp.Dense(8, 3), ffbp.Softmax()],
                       seed=0, dtype=np.float64)
    # A large step on a small set overfits quickly, so val_loss turns up early.
    history = net.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.gd(2.0), epochs=epochs,
                      batch_size=8, validation_data=(Xv, yv), seed=0, verbose=False,
                      checkpoint=checkpoint, resume=resume, **stopping)
    return net, history


@pytest.mark.parametrize("stopping", [dict(early_stopping=True, patience=5),
                                      dict(tol=1e-3, n_iter_no_change=4)])
def test_a_resumed_run_stops_and_restores_as_the_uninterrupted_one(tmp_path, stopping):
    whole, history = _stopping_run(500, **stopping)
    assert history.epochs < 500                                  # it did stop early
    if "early_stopping" in stopping:
        cut = history.best_epoch + 2          # interrupted after the best epoch, before the stop
    else:
        cut = history.epochs - 2
    assert 0 < cut < history.epochs
    path = tmp_path / "run.ckpt"
    _stopping_run(cut, checkpoint=path, **stopping)
    resumed, again = _stopping_run(500, resume=path, **stopping)
    assert again.epochs == history.epochs and again.best_epoch == history.best_epoch
    np.testing.assert_array_equal(resumed.flat_values, whole.flat_values)
    assert again.stop_reason == history.stop_reason


@pytest.mark.parametrize("stopping", [dict(early_stopping=True, patience=5),
                                      dict(tol=1e-3, n_iter_no_change=4)])
def test_resuming_a_run_that_stopped_itself_trains_no_further(tmp_path, stopping):
    """The checkpoint written at the stop is the run's end: "the same call plus resume"
    gives the uninterrupted run's epochs, stop reason and final weights, without training
    (it once trained one more epoch, which the stopping rule then counted)."""
    path = tmp_path / "run.ckpt"
    whole, history = _stopping_run(500, checkpoint=path, **stopping)
    assert history.epochs < 500                                  # it did stop early
    with pytest.warns(UserWarning, match=rf"stopped itself after epoch {history.epochs} "
                                         r"\(.+\): resuming it trains no further"):
        resumed, again = _stopping_run(500, resume=path, **stopping)
    assert again.epochs == history.epochs and again.best_epoch == history.best_epoch
    assert again.stop_reason == history.stop_reason
    np.testing.assert_array_equal(resumed.flat_values, whole.flat_values)
    assert again.as_dict() == history.as_dict()


def test_a_checkpoint_with_other_callbacks_is_refused(tmp_path):
    path = tmp_path / "run.ckpt"
    _stopping_run(3, checkpoint=path, early_stopping=True, patience=5)
    with pytest.raises(ffbp.ConfigError, match="same callbacks"):
        _stopping_run(10, resume=path, tol=1e-3)


def test_a_resumed_plateau_schedule_goes_on_with_the_rate_it_had_reached(tmp_path):
    def run(epochs, **kw):
        rng = np.random.default_rng(0)
        X = rng.normal(size=(40, 3))
        y = X @ np.array([1.0, -2.0, 0.5])
        net = ffbp.Network([ffbp.Dense(3, 6), ffbp.Tanh(), ffbp.Dense(6, 1)], seed=0,
                           dtype=np.float64)
        plateau = ffbp.optim.reduce_on_plateau(0.5, factor=0.5, patience=1, monitor="loss")
        net.fit(X, y, loss="mse", optimizer=ffbp.optim.sgd(plateau), epochs=epochs,
                batch_size=40, seed=0, verbose=False, callbacks=[plateau], **kw)
        return net, plateau

    whole, plateau = run(60)
    assert plateau.lr < 0.5                                  # it did reduce the rate
    path = tmp_path / "run.ckpt"
    run(30, checkpoint=path)
    resumed, again = run(60, resume=path)
    assert again.lr == plateau.lr
    np.testing.assert_array_equal(resumed.flat_values, whole.flat_values)
