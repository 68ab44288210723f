"""ffbp.gradcheck itself: it agrees on correct layers and catches a wrong backward."""

from __future__ import annotations

import numpy as np
import pytest

import ffbp


class WrongTanh(ffbp.Tanh):
    """tanh with a plausible but wrong derivative, 1 − y instead of 1 − y²."""

    def derivative_from_output(self, y):
        return 1.0 - y


def _net(hidden):
    return ffbp.Network([ffbp.Dense(3, 4), hidden, ffbp.Dense(4, 2)], seed=2)


def test_gradcheck_catches_a_wrong_derivative(rng):
    X, T = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    good = ffbp.gradcheck(_net(ffbp.Tanh()), "mse", X, T)
    bad = ffbp.gradcheck(_net(WrongTanh()), "mse", X, T)
    assert good.max_error < 1e-6
    # Layers below the broken one (and the input) get wrong gradients; the one above does not.
    assert bad["layer0.W"] > 1e-2 and bad["X"] > 1e-2
    assert bad["layer2.W"] < 1e-6
    assert not bad.passed()


def test_gradcheck_works_on_a_float64_copy_and_leaves_the_network_alone(rng):
    net = _net(ffbp.Tanh())
    before = net.flat_values.copy()
    report = ffbp.gradcheck(net, "mse", rng.normal(size=(4, 3)), rng.normal(size=(4, 2)))
    np.testing.assert_array_equal(net.flat_values, before)
    assert net.flat_values.dtype == np.float32
    assert report.analytic["layer0.W"].dtype == np.float64


def test_numeric_gradient_agrees_with_a_hand_derivative():
    """E = ½(w x − d)² for one weight: ∂E/∂w = (w x − d) x."""
    layer = ffbp.Dense(1, 1, bias=False)
    net = ffbp.Network([layer], dtype=np.float64)
    layer.W.value[0, 0] = 0.3
    report = ffbp.gradcheck(net, "squared_error", [[2.0]], [[1.5]])
    expected = (0.3 * 2.0 - 1.5) * 2.0
    assert report.numeric["layer0.W"][0, 0] == pytest.approx(expected, rel=1e-8)
    assert report.analytic["layer0.W"][0, 0] == pytest.approx(expected, rel=1e-12)


def test_sampling_checks_only_some_entries(rng):
    net = ffbp.Network([ffbp.Dense(10, 20), ffbp.Sigmoid(), ffbp.Dense(20, 1)])
    report = ffbp.gradcheck(net, "mse", rng.normal(size=(3, 10)), rng.normal(size=(3, 1)),
                            max_per_parameter=15)
    assert np.isfinite(report.numeric["layer0.W"]).sum() == 15
    assert report.max_error < 1e-6


def test_report_prints_a_table(rng):
    text = str(ffbp.gradcheck(_net(ffbp.Tanh()), "mse", rng.normal(size=(2, 3)),
                              rng.normal(size=(2, 2))))
    assert "layer0.W" in text and "max rel error" in text and "worst relative error" in text
