"""The links optimisers are built from; each a ``GradientTransformation``.

Notation: g = the incoming updates (∂E/∂θ at the front of a chain), u = what a link leaves in
their place, θ = the parameters, t = 1, 2, … the step. Every link works on the whole flat
vector with a handful of in-place NumPy operations; work buffers are allocated once in
``init`` (the state's ``Scratch``) so a step allocates nothing. Each link's state is a typed
``NamedTuple`` defined beside it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import ops
from .._validation import check_number, check_positive
from ..errors import ConfigError
from .base import EmptyState, GradientTransformation, Scratch, StepCount


class ScheduleState(NamedTuple):
    count: StepCount           # steps taken, the schedule's argument


class TraceState(NamedTuple):
    trace: np.ndarray          # the momentum buffer
    scratch: Scratch


class AdamState(NamedTuple):
    count: StepCount           # t − 1 before a step
    mu: np.ndarray             # m, the first moment
    nu: np.ndarray             # v, the second moment
    scratch: Scratch


class RmsState(NamedTuple):
    nu: np.ndarray             # s, the mean square
    scratch: Scratch


class DecayState(NamedTuple):
    """The state of a penalty link (L2 weight decay, L1)."""

    scratch: Scratch | None    # None: the penalty is off (λ = 0 or an all-False mask)


def _work(params) -> Scratch:
    """A float and a bool work vector shaped like the parameters."""
    return Scratch(np.empty_like(params), np.empty(params.shape, bool))


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
        return ScheduleState(StepCount())

    def update(updates, state, params):
        updates *= -schedule(state.count.n)
        state.count.n += 1

    return GradientTransformation(init, update)


def identity() -> GradientTransformation:
    """Leaves the updates as they are (a neutral link)."""
    return GradientTransformation(lambda params, net=None: EmptyState(), lambda u, s, p: None)


def trace(decay: float, nesterov: bool = False) -> GradientTransformation:
    """Momentum (torch SGD convention, no dampening): buf ← μ buf + g, buf₀ = 0;
    u = buf, or with ``nesterov`` u = g + μ buf (the gradient plus the look-ahead)."""
    mu = check_number(decay, "momentum decay", 0.0, 1.0, high_open=True)

    def init(params, net=None):
        return TraceState(np.zeros_like(params), _work(params))

    def update(updates, state, params):
        buf, work = state.trace, state.scratch
        buf *= mu
        buf += updates
        # a momentum whose gradient is zero decays into slow subnormal numbers
        ops.flush_denormals(buf, work.values, work.flags)
        if nesterov:
            np.multiply(buf, mu, out=work.values)
            updates += work.values
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
        return AdamState(StepCount(), np.zeros_like(params), np.zeros_like(params),
                         _work(params))

    def update(updates, state, params):
        state.count.n += 1
        t, work = state.count.n, state.scratch
        c1, c2 = 1.0 - b1 ** t, math.sqrt(1.0 - b2 ** t)
        e = eps / c2 if eps_before_correction else eps
        ops.adam_direction_(updates, state.mu, state.nu, b1, b2, e, c1, c2, work.values,
                            work.flags)

    return GradientTransformation(init, update)


def scale_by_rms(decay: float = 0.99, eps: float = 1e-8) -> GradientTransformation:
    """RMSProp's direction (torch RMSprop, eps outside the root, no bias correction):

        s ← ρ s + (1 − ρ) g²,   u = g / (√s + ε).
    """
    rho = check_number(decay, "decay", 0.0, 1.0, high_open=True)
    eps = check_number(eps, "eps", 0.0)

    def init(params, net=None):
        return RmsState(np.zeros_like(params), _work(params))

    def update(updates, state, params):
        work = state.scratch
        ops.rms_direction_(updates, state.nu, rho, eps, work.values, work.flags)

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


def _penalty_state(lam, mask, params, net) -> DecayState:
    """The state of a penalty link (L2 or L1) with strength λ on the masked entries."""
    m = _resolve_mask(mask, params, net)
    if lam == 0.0 or (m is not None and not m.any()):
        return DecayState(None)
    # λ·mask as a float vector: one multiply applies the penalty only where it belongs, with
    # no boolean indexing (which would copy) and no loop over parameters.
    coef = None if m is None or m.all() else m.astype(params.dtype) * params.dtype.type(lam)
    return DecayState(Scratch(np.empty_like(params), coef=coef))


def _penalty_link(lam, mask, slope, reduce) -> GradientTransformation:
    """A penalty on the masked entries: u ← g + λ·slope(θ), and ``penalty`` = reduce(θ,
    λ·slope(θ)). ``slope`` None means θ itself (one multiply, no copy)."""

    def init(params, net=None):
        return _penalty_state(lam, mask, params, net)

    def scaled_slope(params, work):
        """λᵢ·slope(θᵢ) into the work buffer."""
        source = params if slope is None else slope(params, out=work.values)
        return np.multiply(source, lam if work.coef is None else work.coef, out=work.values)

    def update(updates, state, params):
        if state.scratch is not None:
            updates += scaled_slope(params, state.scratch)

    def penalty(params, state):
        if state.scratch is None:
            return 0.0
        return reduce(params, scaled_slope(params, state.scratch))

    return GradientTransformation(init, update, penalty)


def add_decayed_weights(weight_decay: float, mask=None) -> GradientTransformation:
    """Weight decay: u ← g + λ θ where the mask is True (the gradient of ½λ‖W‖², which is
    the link's penalty).

    ``mask``: None = ``net.decay_mask()`` when ``init`` receives the network (weights, not
    biases, tutorial 002), else every parameter; or a flat bool array; or a callable
    net -> bool array. Placed before an adaptive link this is L2 regularisation (torch Adam's
    ``weight_decay``); after it, decoupled decay (AdamW)."""
    lam = check_number(weight_decay, "weight_decay", 0.0)
    # ½ Σ λᵢ θᵢ² = ½ θ · (λθ)
    return _penalty_link(lam, mask, None, lambda params, scaled: 0.5 * float(params @ scaled))


def add_l1_penalty(l1: float, mask=None) -> GradientTransformation:
    """L1 regularisation: u ← g + λ sign(θ) where the mask is True, the (sub)gradient of
    λ Σ|W| (the link's penalty; sign(0) = 0: a weight that sits exactly at zero gets no push).

    ``mask`` as ``add_decayed_weights``: None = ``net.decay_mask()`` when ``init`` receives
    the network (weights, not biases), else every parameter. Where L2 shrinks each weight in
    proportion to its size, L1 pushes every weight towards zero by the same λ, so small
    weights reach zero and stay near it: sparse weights. Placed before the optimiser's
    direction (the playground does), like ``add_decayed_weights`` for coupled L2."""
    lam = check_number(l1, "l1", 0.0)
    # Σ λᵢ |θᵢ| = Σ λᵢ sign(θᵢ) θᵢ
    return _penalty_link(lam, mask, np.sign, lambda params, scaled: float(params @ scaled))


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

    return GradientTransformation(lambda params, net=None: EmptyState(), update)


def clip(max_value: float) -> GradientTransformation:
    """Element-wise clipping: u ← min(max(g, −c), c), c = ``max_value``."""
    check_positive(max_value, "max_value")
    c = float(max_value)

    def update(updates, state, params):
        np.clip(updates, -c, c, out=updates)

    return GradientTransformation(lambda params, net=None: EmptyState(), update)
