"""The pieces an estimator assembles at fit time: the network, the optimiser, the losses."""

from __future__ import annotations

import numpy as np

from .. import optim
from .._validation import lookup
from ..errors import ConfigError
from ..layers import ACTIVATIONS, Dense, Sigmoid
from ..mlp import mlp
from ..network import Network


class glorot:  # noqa: N801 (used like the initialiser functions of ffbp.init)
    """U(±√(factor / (fan_in + fan_out))) for W, and for b when ``seed_biases`` draws them
    (the ``shape`` of b is (fan_out,)). A class, so that a network holding it pickles."""

    def __init__(self, factor: float):
        self.factor = factor

    def __call__(self, rng, shape, fan_in, fan_out):
        bound = np.sqrt(self.factor / (fan_in + fan_out))
        return rng.uniform(-bound, bound, size=shape)


def seed_biases(net: Network, factor: float, seed: int) -> None:
    """Draw every Dense layer's b from Glorot's uniform bound, as scikit-learn does."""
    rng = np.random.default_rng([seed, 1])
    draw = glorot(factor)
    for layer in net.layers:
        if isinstance(layer, Dense):
            layer.b.value[...] = draw(rng, layer.b.shape, layer.in_features,
                                      layer.out_features)

#: ffbp's optimiser names, for ``optimizer=`` (an extra beside scikit-learn's ``solver``).
OPTIMIZERS = optim.ALIASES


def resolve_dtype(dtype, X_dtype) -> np.dtype:
    """The dtype the network computes in: ``dtype`` when given (float32 or float64), else X's
    own when it is float32 or float64, else float64 — scikit-learn's rule."""
    if dtype is None:
        return np.dtype(X_dtype) if X_dtype in (np.float32, np.float64) else np.dtype(np.float64)
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.float32, np.float64):
        raise ConfigError(f"dtype must be None (follow X), np.float32 or np.float64, got "
                          f"{dtype!r}")
    return resolved


def hidden_sizes(value) -> tuple[int, ...]:
    """``hidden_layer_sizes`` as a tuple of ints (an int is one hidden layer)."""
    sizes = (value,) if isinstance(value, (int, np.integer)) else value
    return tuple(int(s) for s in sizes)


def build_network(n_features: int, n_outputs: int, est, output, seed: int, dtype) -> Network:
    """``ffbp.mlp`` from the estimator's parameters, ending in ``output`` (an activation
    class, or None for linear outputs).

    Shape: X (n_samples, n_features) -> Y (n_samples, n_outputs).

    ``init=None`` draws W and b as scikit-learn does, from U(±√(6 / (fan_in + fan_out)))
    (Glorot's bound; √(2 / …) with the logistic activation): random biases too, which keep
    saturating units apart from the start. A name or callable initialises every Dense
    layer's W (biases then start at 0, ffbp's default)."""
    if not isinstance(est.activation, str):
        raise ConfigError(f"activation must be one of the names {sorted(ACTIVATIONS)}, "
                          f"got {est.activation!r}")
    act = lookup(est.activation, ACTIVATIONS, "activation")
    factor = 2.0 if act is Sigmoid else 6.0
    init = glorot(factor) if est.init is None else est.init
    net = mlp(n_features, hidden_sizes(est.hidden_layer_sizes), n_outputs, act,
              output=output, init=init, output_init=init, batch_norm=bool(est.batch_norm),
              dropout=float(est.dropout), seed=seed, dtype=dtype)
    if est.init is None:
        seed_biases(net, factor, seed)
    return net


class EpochRate:
    """The learning rate as a schedule whose value the training loop sets between epochs
    (scikit-learn's "invscaling" and "adaptive" change it once per epoch)."""

    def __init__(self, value: float):
        self.value = float(value)

    def __call__(self, step: int) -> float:
        return self.value


def make_optimizer(est, rate: EpochRate) -> optim.GradientTransformation:
    """The stochastic solver: ``est.optimizer`` when given (an ffbp.optim transformation,
    used as it is, or an ffbp optimiser name built with ``rate``), else scikit-learn's
    ``solver``:

    * "adam": β₁ = ``beta_1``, β₂ = ``beta_2``, ε = ``epsilon`` added before the bias
      correction, as scikit-learn does: W ← W − α (√(1 − β₂ᵗ)/(1 − β₁ᵗ)) m / (√v + ε);
    * "sgd": W ← W − α ∂E/∂W, with momentum μ = ``momentum`` as scikit-learn's velocity
      v ← μ v − α ∂E/∂W, W ← W + v (Nesterov's, when ``nesterovs_momentum``:
      W ← W + μ v − α ∂E/∂W). The rate scales each gradient as it enters the velocity, so
      "invscaling" and "adaptive" leave earlier steps' contributions as they were.

    Weight decay is not part of it: the training loop adds scikit-learn's α/Σw · W."""
    if est.optimizer is not None:
        if isinstance(est.optimizer, str):
            return lookup(est.optimizer, OPTIMIZERS, "optimizer")(rate)
        if not isinstance(est.optimizer, optim.GradientTransformation):
            raise ConfigError(f"optimizer must be None (use solver), one of "
                              f"{sorted(OPTIMIZERS)} or an ffbp.optim transformation, got "
                              f"{est.optimizer!r}")
        # chain() gives each fit its own object around the user's transformation.
        return optim.chain(est.optimizer)
    if est.solver == "adam":
        return optim.chain(optim.scale_by_adam(est.beta_1, est.beta_2, est.epsilon,
                                               eps_before_correction=True),
                           optim.scale_by_learning_rate(rate))
    if est.momentum > 0:      # −α g first, then the velocity: scikit-learn's order
        return optim.chain(optim.scale_by_learning_rate(rate),
                           optim.trace(est.momentum, bool(est.nesterovs_momentum)))
    return optim.sgd(rate)
