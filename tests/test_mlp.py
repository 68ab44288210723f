"""ffbp.mlp: the one builder of multi-layer perceptrons (the CLI and the estimators use it)."""

from __future__ import annotations

import numpy as np
import pytest

import ffbp


def _kinds(net):
    return [type(layer).__name__ for layer in net.layers]


def test_layers_in_order_with_the_options():
    net = ffbp.mlp(5, (4, 3), 2, "tanh", output=ffbp.Softmax, batch_norm=True, dropout=0.2)
    assert _kinds(net) == ["Dense", "BatchNorm", "Tanh", "Dropout"] * 2 + ["Dense", "Softmax"]
    assert [net.n_features, net.n_outputs] == [5, 2]
    assert _kinds(ffbp.mlp(5, (), 1)) == ["Dense"]             # no hidden layer: linear
    assert _kinds(ffbp.mlp(5, 4, 1)) == ["Dense", "ReLU", "Dense"]   # an int is one layer


def test_auto_init_is_he_for_relu_and_glorot_otherwise():
    fan_in, fan_out = 400, 300
    relu = ffbp.mlp(fan_in, (fan_out,), 1, "relu", dtype=np.float64).layers[0].W.value
    tanh = ffbp.mlp(fan_in, (fan_out,), 1, "tanh", dtype=np.float64).layers[0].W.value
    np.testing.assert_allclose(relu.std(), np.sqrt(2 / fan_in), rtol=0.02)       # He normal
    limit = np.sqrt(6 / (fan_in + fan_out))                                       # Glorot
    assert np.abs(tanh).max() <= limit and np.abs(tanh).max() > 0.99 * limit


def test_an_activation_instance_is_copied_into_each_position():
    net = ffbp.mlp(3, (4, 4), 1, ffbp.LeakyReLU(0.2))
    leaky = [layer for layer in net.layers if isinstance(layer, ffbp.LeakyReLU)]
    assert len(leaky) == 2 and leaky[0] is not leaky[1] and leaky[1].alpha == 0.2


@pytest.mark.parametrize("kwargs, match", [
    ({"activation": "rleu"}, "did you mean 'relu'"),
    ({"hidden": ("x",)}, "hidden"),
    ({"init": "glorot"}, "initialiser"),
])
def test_bad_options_are_config_errors(kwargs, match):
    args = {"n_inputs": 3, "hidden": (4,), "n_outputs": 1, **kwargs}
    with pytest.raises(ffbp.ConfigError, match=match):
        ffbp.mlp(**args)
