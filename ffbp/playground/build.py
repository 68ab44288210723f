"""The network, loss and optimiser a configuration asks for, built by ffbp's own builders
(``ffbp.mlp``, ``ffbp.optim``); ``export`` writes the same calls into its script."""

from __future__ import annotations

import numpy as np

from .. import init as initializers
from .. import optim
from ..layers import Sigmoid
from ..mlp import mlp

#: The weight every connection starts with under init="equal" (the symmetry trap).
EQUAL_WEIGHT = 0.5
#: init key -> (hidden layers' initialiser, output layer's)
INITS = {"small_normal": ("small_normal", "small_normal"),
         "glorot": ("glorot_uniform", "glorot_uniform"),
         "he": ("he_normal", "glorot_uniform"),   # He for the hidden units; the output
         "equal": (initializers.constant(EQUAL_WEIGHT),) * 2}   # feeds a sigmoid or nothing
OPTIMIZERS = {"sgd": optim.sgd, "momentum": optim.momentum, "adam": optim.adam}


def make_network(config: dict, n_inputs: int):
    """ffbp.mlp(n_inputs, hidden, 1) with the configured activation and initialiser, a
    sigmoid output for classification; float64 so the numbers the page shows are the ones
    a float64 check (``ffbp.explain``) gives; weights drawn from ``seed``."""
    hidden_init, output_init = INITS[config["init"]]
    output = Sigmoid if config["problem"] == "classification" else None
    return mlp(n_inputs, tuple(config["hidden"]), 1, activation=config["activation"],
               output=output, init=hidden_init, output_init=output_init,
               seed=config["seed"], dtype=np.float64)


def make_optimizer(config: dict):
    """The configured ffbp optimiser: L2 is the alias's weight_decay (add_decayed_weights),
    L1 is add_l1_penalty chained in front; both weights only (the network's decay mask)."""
    rate, alias = config["reg_rate"], OPTIMIZERS[config["optimizer"]]
    if config["regularization"] == "l2" and rate > 0:
        return alias(config["learning_rate"], weight_decay=rate)
    opt = alias(config["learning_rate"])
    if config["regularization"] == "l1" and rate > 0:
        return optim.chain(optim.add_l1_penalty(rate), opt)
    return opt


def loss_name(problem: str) -> str:
    return "binary_cross_entropy" if problem == "classification" else "mse"


#: The same initialisers as source code, for the exported script.
INITS_CODE = {"small_normal": ("'small_normal'", "'small_normal'"),
              "glorot": ("'glorot_uniform'", "'glorot_uniform'"),
              "he": ("'he_normal'", "'glorot_uniform'"),
              "equal": (f"ffbp.init.constant({EQUAL_WEIGHT})",) * 2}
