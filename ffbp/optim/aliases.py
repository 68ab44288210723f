"""Ready-made optimisers; each only composes links from ``transforms``.

Every alias takes ``learning_rate`` as a number or a schedule (``ffbp.optim.schedules``),
``weight_decay`` with its ``mask`` (default: weights, not biases — torch decays every
parameter, pass ``mask=np.ones(n, bool)`` for that), and ``clip_norm``: when set, the
gradient is first clipped to that global norm (``clip_by_global_norm``).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .base import GradientTransformation, chain
from .transforms import (
    add_decayed_weights,
    clip_by_global_norm,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_rms,
    trace,
)


def _build(clip_norm, *links) -> GradientTransformation:
    """chain(clip?, links…) without the links that are None (switched off)."""
    front = [] if clip_norm is None else [clip_by_global_norm(clip_norm)]
    return chain(*front, *(link for link in links if link is not None))


def _off(value, name) -> bool:
    """Whether an optional number switches its link off (None or 0); anything that is not
    a number is refused here, before ``if value`` could ask an array for its truth."""
    if value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    return value == 0


def _decay(weight_decay, mask):
    return None if _off(weight_decay, "weight_decay") else add_decayed_weights(weight_decay,
                                                                                mask)


def sgd(learning_rate=0.1, momentum: float = 0.0, nesterov: bool = False,
        weight_decay: float = 0.0, mask=None, clip_norm=None) -> GradientTransformation:
    """(Stochastic) gradient descent, W ← W − α ∂E/∂W (every tutorial's update rule), with
    optional momentum (torch SGD): g ← g + λθ;  buf ← μ buf + g;  θ ← θ − α buf
    (Nesterov: θ ← θ − α (g + μ buf)).

    Batch, mini-batch or stochastic gradient descent is the same rule; which one is decided
    by ``fit``'s ``batch_size`` (None = the whole set, 1 = one sample at a time)."""
    if nesterov and _off(momentum, "momentum"):
        raise ConfigError("nesterov=True needs a momentum > 0")
    return _build(clip_norm, _decay(weight_decay, mask),
                  None if _off(momentum, "momentum") else trace(momentum, nesterov),
                  scale_by_learning_rate(learning_rate))


gd = sgd


def momentum(learning_rate=0.01, momentum: float = 0.9, nesterov: bool = False,
             weight_decay: float = 0.0, mask=None, clip_norm=None) -> GradientTransformation:
    """``sgd`` with momentum μ = 0.9 by default."""
    return sgd(learning_rate, momentum, nesterov, weight_decay, mask, clip_norm)


def adam(learning_rate=1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         weight_decay: float = 0.0, mask=None, clip_norm=None) -> GradientTransformation:
    """Adam (torch Adam): g ← g + λθ (coupled L2, before the moments);
    θ ← θ − α m̂ / (√v̂ + ε) with the bias-corrected moments of ``scale_by_adam``."""
    return _build(clip_norm, _decay(weight_decay, mask), scale_by_adam(b1, b2, eps),
                  scale_by_learning_rate(learning_rate))


def adamw(learning_rate=1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
          weight_decay: float = 1e-2, mask=None, clip_norm=None) -> GradientTransformation:
    """AdamW (Loshchilov & Hutter; torch AdamW): decay decoupled from the moments,
    θ ← θ − α (m̂ / (√v̂ + ε) + λθ)."""
    decay = _decay(weight_decay, mask)
    # Decoupled decay shrinks θ outside the gradient: there is no penalised objective whose
    # value fit could report, so the link's penalty is dropped.
    decay = None if decay is None else decay._replace(penalty=None)
    return _build(clip_norm, scale_by_adam(b1, b2, eps), decay,
                  scale_by_learning_rate(learning_rate))


def rmsprop(learning_rate=1e-2, decay: float = 0.99, eps: float = 1e-8,
            momentum: float = 0.0, weight_decay: float = 0.0, mask=None,
            clip_norm=None) -> GradientTransformation:
    """RMSProp (torch RMSprop, not centred): g ← g + λθ;  s ← ρ s + (1 − ρ) g²;
    d = g / (√s + ε);  with momentum buf ← μ buf + d, θ ← θ − α buf, else θ ← θ − α d."""
    return _build(clip_norm, _decay(weight_decay, mask), scale_by_rms(decay, eps),
                  None if _off(momentum, "momentum") else trace(momentum),
                  scale_by_learning_rate(learning_rate))


#: Every optimiser by name, for whoever picks one from a string (the ``ffbp`` command's
#: ``--optimizer``, the estimators' ``optimizer=``); each is called as
#: ``ALIASES[name](learning_rate, ...)``.
ALIASES = {"sgd": sgd, "gd": gd, "momentum": momentum, "adam": adam, "adamw": adamw,
           "rmsprop": rmsprop}
