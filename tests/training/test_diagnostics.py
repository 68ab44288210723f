"""GradientHealth: flags vanishing and exploding gradients, saturated and dead units, stays
quiet on a healthy network, and measures what it says (checked against norms computed here
from an independent gradient)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ffbp
from ffbp.diagnostics import GradientHealth, GradientHealthWarning

rng = np.random.default_rng(0)
X = rng.normal(size=(256, 4))
Y = (X[:, 0] * X[:, 1] > 0).astype(float)


def deep(activation, init, depth=8, width=16):
    layers, n = [], 4
    for _ in range(depth):
        layers += [ffbp.Dense(n, width, init=init), activation()]
        n = width
    return ffbp.Network(layers + [ffbp.Dense(n, 1), ffbp.Sigmoid()], seed=0)


def train(net, health, optimizer, epochs=3, loss="bce"):
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            net.fit(X, Y, loss=loss, optimizer=optimizer, epochs=epochs, batch_size=32,
                    seed=0, verbose=False, callbacks=[health])
        except ffbp.DivergenceError:
            pass                             # the exploding run may blow up: that is the point
    return [w for w in caught if issubclass(w.category, GradientHealthWarning)]


@pytest.mark.parametrize("probe", [True, False])
def test_vanishing_gradients_in_a_deep_sigmoid_network(probe):
    health = GradientHealth(probe=(X[:64], Y[:64]) if probe else None)
    caught = train(deep(ffbp.Sigmoid, ffbp.init.small_normal(0.01)), health, ffbp.optim.sgd(0.1))
    assert len(caught) == 1 and health.messages == [str(caught[0].message)]
    text = health.messages[0]
    assert "vanishing" in text and "layer0.W" in text and "ReLU" in text and "BatchNorm" in text
    if probe:
        norms = health.summaries[0]["gradient_norm"]
        assert norms["layer0.W"] < 1e-6 * norms["layer16.W"]


def test_exploding_gradients_with_large_weights_and_a_high_learning_rate():
    init = ffbp.init.small_normal(3.0)
    net = ffbp.Network([ffbp.Dense(4, 32, init=init), ffbp.ReLU(),
                        ffbp.Dense(32, 32, init=init), ffbp.ReLU(),
                        ffbp.Dense(32, 1, init=init)], seed=0)
    health = GradientHealth(probe=(X[:64], Y[:64]))
    caught = train(net, health, ffbp.optim.sgd(0.5), loss="mse")
    text = " ".join(health.messages)
    assert caught and "epoch 1, batch 1" in text and "‖ΔW‖/‖W‖" in text
    for remedy in ("learning rate", "clip", "weight decay"):
        assert remedy in text
    # The first step multiplied the weights by ~10³: ratios recorded for every layer.
    assert all(ratios[0] > 100 for ratios in health.update_ratios.values())


def test_nan_weights_are_named():
    # fit refuses to apply a non-finite step, so plant one the way another loop could.
    net = ffbp.Network([ffbp.Dense(4, 3), ffbp.Tanh(), ffbp.Dense(3, 1)], seed=0)
    health = GradientHealth(every=1, warn=False)
    health.on_train_begin(net, ffbp.History())
    net.layers[2].W.value[1, 0] = np.inf
    health.on_batch_end(0, {"loss": 1.0, "size": 1})
    assert len(health.messages) == 1
    assert "NaN/inf in layer2.W" in health.messages[0] and "clip" in health.messages[0]


def test_saturated_sigmoid_units():
    net = ffbp.Network([ffbp.Dense(4, 16, init=ffbp.init.small_normal(5.0)), ffbp.Sigmoid(),
                        ffbp.Dense(16, 1), ffbp.Sigmoid()], seed=0)
    health = GradientHealth(probe=(X[:64], Y[:64]))
    train(net, health, ffbp.optim.sgd(0.1), epochs=1)
    assert len(health.messages) == 1 and "saturated" in health.messages[0]
    assert "layer1 Sigmoid" in health.messages[0]      # the hidden layer, not the output
    # The fraction on the probe, recomputed here from the trained weights.
    first = net.layers[0]
    h = 1 / (1 + np.exp(-(X[:64] @ first.W.value.astype(float) + first.b.value)))
    expected = np.mean((h < 0.01) | (h > 0.99))
    assert expected > 0.5
    assert health.summaries[0]["saturated"]["layer1"] == pytest.approx(expected, abs=1 / 1024)


def test_dead_relus():
    net = ffbp.Network([ffbp.Dense(4, 16), ffbp.ReLU(), ffbp.Dense(16, 1), ffbp.Sigmoid()],
                       seed=0)
    net.layers[0].b.value[:12] = -100.0                 # 12 of 16 units never fire
    health = GradientHealth(probe=(X[:64], Y[:64]))
    train(net, health, ffbp.optim.sgd(0.1), epochs=1)
    assert health.summaries[0]["dead"]["layer1"] == 12 / 16
    assert any("dead ReLUs" in m and "LeakyReLU" in m for m in health.messages)


@pytest.mark.parametrize("optimizer", [ffbp.optim.sgd(0.1), ffbp.optim.adam(0.01)])
def test_quiet_on_a_healthy_network(optimizer):
    net = ffbp.Network([ffbp.Dense(4, 16), ffbp.Tanh(), ffbp.Dense(16, 16), ffbp.Tanh(),
                        ffbp.Dense(16, 1), ffbp.Sigmoid()], seed=0)
    health = GradientHealth(probe=(X[:64], Y[:64]))
    assert train(net, health, optimizer, epochs=10) == [] and health.messages == []
    assert len(health.summaries) == 10


def test_measures_the_applied_update_and_the_true_gradient():
    """Batch gradient descent, one step per epoch: the update is −α ∂E/∂W of the whole set,
    and with the whole set as probe the epoch-end gradient is that of the new weights."""
    net = ffbp.Network([ffbp.Dense(4, 8), ffbp.Tanh(), ffbp.Dense(8, 1)], seed=0,
                       dtype=np.float64)
    reference = net.copy()
    reference.compute_gradients(X, Y, "mse")
    grad0 = np.linalg.norm(reference.layers[0].W.grad)
    w0 = np.linalg.norm(reference.layers[0].W.value)
    health = GradientHealth(probe=(X, Y), every=1)
    net.fit(X, Y, loss="mse", optimizer=ffbp.optim.gd(0.3), epochs=2, batch_size=None,
            verbose=False, callbacks=[health])
    assert health.update_norms["layer0.W"][0] == pytest.approx(0.3 * grad0, rel=1e-10)
    assert health.update_ratios["layer0.W"][0] == pytest.approx(0.3 * grad0 / w0, rel=1e-10)
    after = net.copy()
    after.compute_gradients(X, Y, "mse")
    assert health.gradient_norms["layer0.W"][-1] == pytest.approx(
        np.linalg.norm(after.layers[0].W.grad), rel=1e-10)


def test_does_not_disturb_training_and_measures_about_ten_times_per_epoch():
    def run(callbacks):
        net = ffbp.Network([ffbp.Dense(4, 8), ffbp.BatchNorm(8), ffbp.ReLU(), ffbp.Dropout(0.2),
                            ffbp.Dense(8, 1), ffbp.Sigmoid()], seed=0)
        net.fit(X, Y, loss="bce", epochs=3, batch_size=8, seed=1, verbose=False,
                callbacks=callbacks)
        return net

    health = GradientHealth(probe=(X[:32], Y[:32]))
    np.testing.assert_array_equal(run([health]).flat_values, run([]).flat_values)
    assert health.batches_per_epoch == 32
    per_epoch = [sum(e == k for e, _ in health.steps) for k in range(3)]
    assert per_epoch == [6, 11, 11]       # epoch 1 at batches 0, 1, 2, 4, 8, 16; then every 3
    assert health.measured_at[-1] == pytest.approx(2 + 30 / 32)
    assert set(health.as_dict()) >= {"update_norms", "gradient_norms", "summaries"}


# -- the gaps an audit found -----------------------------------------------------------------

def test_vanishing_in_a_relu_network_does_not_prescribe_relu():
    # Tiny initial weights in a deep ReLU stack shrink δ layer by layer although no unit
    # saturates: the remedy is initialisation or BatchNorm, not "use ReLU".
    health = GradientHealth(probe=(X[:64], Y[:64]))
    train(deep(ffbp.ReLU, ffbp.init.small_normal(0.01)), health, ffbp.optim.sgd(0.1))
    text = " ".join(m for m in health.messages if "vanishing" in m)
    assert "vanishing" in text and "use ReLU" not in text and "BatchNorm" in text


def test_vanishing_message_says_which_figure_is_a_ratio():
    health = GradientHealth(probe=(X[:64], Y[:64]))
    train(deep(ffbp.Sigmoid, ffbp.init.small_normal(0.01)), health, ffbp.optim.sgd(0.1))
    text = health.messages[0]
    norms = health.summaries[0]["gradient_norm"]
    assert f"‖·‖ = {norms['layer0.W']:.2g}" in text and "of the largest" in text


def test_a_layer_that_dies_completely_after_the_first_warning_is_reported_again():
    net = ffbp.Network([ffbp.Dense(4, 8), ffbp.ReLU(), ffbp.Dense(8, 1)], seed=0)
    health = GradientHealth(every=1, warn=False, dead=0.5)
    health.on_train_begin(net, ffbp.History())
    relu = net.layers[1]
    for epoch, alive in enumerate((2, 0)):           # 6 of 8 dead, then all 8
        h = np.zeros((5, 8))
        h[:, :alive] = 1.0
        relu._y = h
        health.on_batch_end(0, {"loss": 1.0, "size": 5})
        health.on_epoch_end(epoch, {"loss": 1.0})
    assert any("dead ReLUs" in m and "layer1 (75%)" in m for m in health.messages)
    assert any("every ReLU of layer1 is dead" in m for m in health.messages)


def test_a_diverging_fit_says_so_without_numpys_overflow_warnings():
    # Targets of 1e37 fit float32, but their squares do not: the loss overflows inside
    # NumPy before the step's own check names the epoch and the remedies.
    net = ffbp.Network([ffbp.Dense(4, 32), ffbp.Tanh(), ffbp.Dense(32, 1)], seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ffbp.DivergenceError, match="training diverged at epoch 1"):
            net.fit(X, Y * 1e37, loss="mse", optimizer=ffbp.optim.sgd(1e3), epochs=30,
                    batch_size=32, seed=0, verbose=False)
    assert not [w for w in caught if "encountered" in str(w.message)]


@pytest.mark.parametrize("what", ["y", "X"])
def test_values_beyond_the_networks_float_range_are_named_not_cast_to_inf(what):
    net = ffbp.Network([ffbp.Dense(4, 3), ffbp.Tanh(), ffbp.Dense(3, 1)], seed=0)
    X_big, y_big = (X, Y * 1e150) if what == "y" else (X * 1e150, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                    # no "overflow encountered in cast"
        with pytest.raises(ffbp.DataError, match=f"{what} has values too large for float32"):
            net.fit(X_big, y_big, loss="mse", epochs=1, verbose=False)


def test_exploding_gradients_are_reported_even_when_clipping_hides_them():
    # Clipping to a norm of 1 keeps every update small, so the update ratios look healthy;
    # the raw gradients, 1e5+ times the weights, are what is wrong.
    net = ffbp.Network([ffbp.Dense(4, 16), ffbp.ReLU(), ffbp.Dense(16, 1)], seed=0)
    health = GradientHealth(every=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.fit(X, Y * 1e6, loss="mse", optimizer=ffbp.optim.sgd(1e-3, clip_norm=1.0),
                epochs=1, batch_size=32, seed=0, verbose=False, callbacks=[health])
    text = " ".join(health.messages)
    assert "exploding gradients" in text and "before any clipping" in text
    assert all(r < 1.0 for ratios in health.update_ratios.values() for r in ratios)
    first = health.raw_gradient_norms["layer2.W"][0]
    assert first > 1e3 * np.linalg.norm(health.net.layers[2].W.value)
    assert any(issubclass(w.category, GradientHealthWarning) for w in caught)


def test_remedies_are_in_pythons_spelling_unless_the_caller_gives_its_own():
    """fit and GradientHealth name Python's keywords; a program passing its own remedies
    (ffbp train: its flags) gets them for every kind, also those sharing a remedy."""
    def diverge(health):
        net = ffbp.Network([ffbp.Dense(4, 16), ffbp.ReLU(), ffbp.Dense(16, 1)], seed=0)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            with pytest.raises(ffbp.DivergenceError) as caught:
                net.fit(X, Y * 1e3, loss="mse", optimizer=ffbp.optim.sgd(1.0), epochs=30,
                        batch_size=32, seed=0, verbose=False, callbacks=[health])
        return caught.value

    error = diverge(python := GradientHealth(every=1))
    assert str(error).endswith(
        "Try: lower the learning rate, clip the gradients (e.g. clip_norm=1.0), add batch "
        "normalisation, use ReLU instead of a saturating activation, or add weight decay")
    epoch, batch, what = error.where
    assert str(error).startswith(f"training diverged at epoch {epoch + 1}, batch {batch + 1}: "
                                 f"{what}; the weights of the last finite step are kept. ")
    assert python.messages and all(m.endswith(
        "Remedies: lower the learning rate, clip the gradients (optimizer=...(clip_norm=1.0), "
        "ffbp.optim.clip_by_global_norm) and add weight decay (weight_decay=1e-4).")
        for m in python.messages), python.messages

    # "exploding" (an update larger than the weights) and "large_gradient", which shares its
    # remedy: both say the caller's
    diverge(own := GradientHealth(every=1, remedies={"exploding": "turn it down"}))
    assert any("one update moved" in m for m in own.messages), own.messages
    assert any("exploding gradients:" in m for m in own.messages), own.messages
    assert all(m.endswith("Remedies: turn it down.") for m in own.messages), own.messages
