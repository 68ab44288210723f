"""The links optimisers are built from; each a ``GradientTransformation``.

Notation: g = the incoming updates (∂E/∂θ at the front of a chain), u = what a link leaves in
their place, θ = the parameters, t = 1, 2, … the step. Every link works on the whole flat
vector with a handful of in-place NumPy operations; scratch buffers are allocated once in
``init`` (state keys starting with ``_``) so a step allocates nothing.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from .._validation import check_number, check_positive
from ..errors import ConfigError
from .base import GradientTransformation


def scale_by_learning_rate(learning_rate) -> GradientTransformation:
    """u ← −α u: the last link of every optimiser, turning a direction into a descent step.

    ``learning_rate`` is a positive number or a schedule (a function step -> α, step counting
    from 0; see ``ffbp.optim.schedules``)."""
    if not callable(learning_rate):
        check_positive(learning_rate, "learning_rate")
        lr = float(learning_rate)

        def schedule(step):
            return lr
    else:
        schedule = learning_rate

    def init(params, net=None):
        return {"count": 0}

    def update(updates, state, params):
        updates *= -schedule(state["count"])
        state["count"] += 1

    return GradientTransformation(init, update)


def identity() -> GradientTransformation:
    """Leaves the updates as they are (a neutral link)."""
    return GradientTransformation(lambda params, net=None: {}, lambda u, s, p: None)


def trace(decay: float, nesterov: bool = False) -> GradientTransformation:
    """Momentum (torch SGD convention, no dampening): buf ← μ buf + g, buf₀ = 0;
    u = buf, or with ``nesterov`` u = g + μ buf (the gradient plus the look-ahead)."""
    mu = check_number(decay, "momentum decay", 0.0, 1.0, high_open=True)

    def init(params, net=None):
        return {"trace": np.zeros_like(params), "_scratch": np.empty_like(params),
                "_mask": np.empty(params.shape, bool)}

    def update(updates, state, params):
        buf = state["trace"]
        buf *= mu
        buf += updates
        # a momentum whose gradient is zero decays into slow subnormal numbers
        ops.flush_denormals(buf, state["_scratch"], state["_mask"])
        if nesterov:
            np.multiply(buf, mu, out=state["_scratch"])
            updates += state["_scratch"]
        else:
            np.copyto(updates, buf)

    return GradientTransformation(init, update)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                  eps_before_correction: bool = False) -> GradientTransformation:
    """Adam's direction (Kingma & Ba; torch/optax convention, eps outside the root):

        m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²,
        u = m̂ / (√v̂ + ε),       m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ).

    ``eps_before_correction=True`` adds ε to √v before the bias correction, as
    scikit-learn's MLP does (u = (√(1 − β₂ᵗ)/(1 − β₁ᵗ)) m / (√v + ε)): the same as ε/√(1 − β₂ᵗ)
    in the corrected space, which is larger in the first steps."""
    b1 = check_number(b1, "b1", 0.0, 1.0, high_open=True)
    b2 = check_number(b2, "b2", 0.0, 1.0, high_open=True)
    eps = check_number(eps, "eps", 0.0)

    def init(params, net=None):
        return {"count": 0, "mu": np.zeros_like(params), "nu": np.zeros_like(params),
                "_scratch": np.empty_like(params), "_mask": np.empty(params.shape, bool)}

    def update(updates, state, params):
        t = state["count"] = state["count"] + 1
        m, v, tmp = state["mu"], state["nu"], state["_scratch"]
        c1, c2 = 1.0 - b1 ** t, math.sqrt(1.0 - b2 ** t)
        e = eps / c2 if eps_before_correction else eps
        ops.adam_direction_(updates, m, v, b1, b2, e, c1, c2, tmp, state["_mask"])

    return GradientTransformation(init, update)


def scale_by_rms(decay: float = 0.99, eps: float = 1e-8) -> GradientTransformation:
    """RMSProp's direction (torch RMSprop, eps outside the root, no bias correction):

        s ← ρ s + (1 − ρ) g²,   u = g / (√s + ε).
    """
    rho = check_number(decay, "decay", 0.0, 1.0, high_open=True)
    eps = check_number(eps, "eps", 0.0)

    def init(params, net=None):
        return {"nu": np.zeros_like(params), "_scratch": np.empty_like(params),
                "_mask": np.empty(params.shape, bool)}

    def update(updates, state, params):
        ops.rms_direction_(updates, state["nu"], rho, eps, state["_scratch"], state["_mask"])

    return GradientTransformation(init, update)


def _resolve_mask(mask, params, net):
    """The weight-decay mask as a flat bool array (None = "decay everything")."""
    if mask is None:
        return None if net is None else np.asarray(net.decay_mask(), bool)
    if callable(mask):
        if net is None:
            raise ConfigError("a callable weight-decay mask needs the network: "
                              "call init(params, net)")
        mask = mask(net)
    mask = np.asarray(mask, bool).reshape(-1)
    if mask.shape != params.shape:
        raise ConfigError(f"weight-decay mask has {mask.size} entries but there are "
                          f"{params.size} parameters")
    return mask


def add_decayed_weights(weight_decay: float, mask=None) -> GradientTransformation:
    """Weight decay: u ← g + λ θ where the mask is True (the gradient of ½λ‖W‖²).

    ``mask``: None = ``net.decay_mask()`` when ``init`` receives the network (weights, not
    biases, tutorial 002), else every parameter; or a flat bool array; or a callable
    net -> bool array. Placed before an adaptive link this is L2 regularisation (torch Adam's
    ``weight_decay``); after it, decoupled decay (AdamW)."""
    lam = check_number(weight_decay, "weight_decay", 0.0)

    def init(params, net=None):
        m = _resolve_mask(mask, params, net)
        if lam == 0.0 or (m is not None and not m.any()):
            return {}
        state = {"_scratch": np.empty_like(params)}
        if m is not None and not m.all():
            # λ·mask as a float vector: one multiply applies decay only where it belongs,
            # with no boolean indexing (which would copy) and no loop over parameters.
            state["_coef"] = m.astype(params.dtype) * params.dtype.type(lam)
        return state

    def update(updates, state, params):
        if not state:
            return
        coef = state.get("_coef", lam)
        np.multiply(params, coef, out=state["_scratch"])
        updates += state["_scratch"]

    def penalty(params, state):
        """½ Σ λᵢ θᵢ² over the decayed entries (0 when decay is off)."""
        if not state:
            return 0.0
        np.multiply(params, state.get("_coef", lam), out=state["_scratch"])
        return 0.5 * float(params @ state["_scratch"])

    return GradientTransformation(init, update, penalty)


def add_l1_penalty(l1: float, mask=None) -> GradientTransformation:
    """L1 regularisation: u ← g + λ sign(θ) where the mask is True, the (sub)gradient of
    λ Σ|W| (sign(0) = 0: a weight that sits exactly at zero gets no push).

    ``mask`` as ``add_decayed_weights``: None = ``net.decay_mask()`` when ``init`` receives
    the network (weights, not biases), else every parameter. Where L2 shrinks each weight in
    proportion to its size, L1 pushes every weight towards zero by the same λ, so small
    weights reach zero and stay near it: sparse weights. Placed before the optimiser's
    direction (the playground does), like ``add_decayed_weights`` for coupled L2."""
    lam = check_number(l1, "l1", 0.0)

    def init(params, net=None):
        m = _resolve_mask(mask, params, net)
        if lam == 0.0 or (m is not None and not m.any()):
            return {}
        state = {"_scratch": np.empty_like(params)}
        if m is not None and not m.all():
            # λ·mask as a float vector, as add_decayed_weights: one multiply, no indexing.
            state["_coef"] = m.astype(params.dtype) * params.dtype.type(lam)
        return state

    def update(updates, state, params):
        if not state:
            return
        np.sign(params, out=state["_scratch"])
        state["_scratch"] *= state.get("_coef", lam)
        updates += state["_scratch"]

    def penalty(params, state):
        """Σ λᵢ |θᵢ| over the penalised entries (0 when the penalty is off)."""
        if not state:
            return 0.0
        np.abs(params, out=state["_scratch"])
        state["_scratch"] *= state.get("_coef", lam)
        return float(state["_scratch"].sum())

    return GradientTransformation(init, update, penalty)


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Rescale the whole vector when its norm is too large (torch ``clip_grad_norm_``):

        u ← g · min(1, c / (‖g‖₂ + 10⁻⁶)),   c = ``max_norm``.

    The direction is kept; only the length is capped."""
    check_positive(max_norm, "max_norm")
    c = float(max_norm)

    def update(updates, state, params):
        # dot(g, g) is one BLAS pass with no temporary; float() so the norm is float64.
        coef = c / (math.sqrt(float(np.dot(updates, updates))) + 1e-6)
        if coef < 1.0:
            updates *= coef

    return GradientTransformation(lambda params, net=None: {}, update)


def clip(max_value: float) -> GradientTransformation:
    """Element-wise clipping: u ← min(max(g, −c), c), c = ``max_value``."""
    check_positive(max_value, "max_value")
    c = float(max_value)

    def update(updates, state, params):
        np.clip(updates, -c, c, out=updates)

    return GradientTransformation(lambda params, net=None: {}, update)
