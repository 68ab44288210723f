"""Batch normalisation: each unit's input rescaled to zero mean and unit variance."""

from __future__ import annotations

import numpy as np

from .._validation import check_allocation, check_number, check_positive
from ..errors import ShapeError
from ..parameter import Parameter
from .base import Layer


class BatchNorm(Layer):
    """Batch normalisation (Ioffe & Szegedy 2015), tutorial 003's remedy for vanishing
    gradients: every unit's input is brought back to zero mean and unit variance, so no unit
    sits in the flat, saturated part of its activation, then a learnable scale γ and shift β
    give back whatever mean and spread the next layer needs.

    Forward (training, statistics of the batch of n samples, per feature j):
        μ = (1/n) Σ x,   σ² = (1/n) Σ (x − μ)²   (biased),   σ = √(σ² + ε)
        x̂ = (x − μ) / σ,   y = γ x̂ + β
        running_mean ← (1 − m) running_mean + m μ
        running_var  ← (1 − m) running_var  + m σ² n/(n − 1)   (unbiased, as in PyTorch)
    Forward (inference): the same with μ, σ² replaced by running_mean, running_var, so a
    sample's output no longer depends on the rest of the batch.

    Backward (δ = ∂E/∂y, one row per sample):
        ∂E/∂γ = Σ_samples δ ⊙ x̂,   ∂E/∂β = Σ_samples δ
        training:  ∂E/∂x = (γ/σ) (δ − mean(δ) − x̂ mean(δ ⊙ x̂))   (means over the batch)
                   — μ and σ depend on every sample, so each x feeds every output; the two
                   subtracted means are those paths, folded into one line.
        inference: ∂E/∂x = (γ/σ) δ   (the running statistics are constants)

    Shape:
        x: (n_samples, num_features) -> same shape
        gamma, beta: (num_features,); running_mean, running_var: (num_features,)

    Under MPI (``fit(..., distributed=True)``) the sums over the batch (μ, σ², Σ δ and
    Σ δ ⊙ x̂ in ∂E/∂x) are all-reduced over the ranks, so each rank normalises its shard
    with the statistics of the whole global batch: the same as one process.

    Args:
        num_features: width of the input (and the output).
        momentum: m above, the weight of the newest batch in the running statistics.
        eps: ε, added to the variance so a constant feature does not divide by zero.
    """

    #: The output of each sample depends on the rest of the batch (in training).
    stochastic = True
    min_batch = 2
    #: The ranks whose batch statistics are pooled (a ``distributed.Comm``), set by ``fit``
    #: for the length of a distributed run; never copied or saved.
    sync = None

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5):
        check_positive(num_features, "BatchNorm num_features", integer=True)
        # γ, β, the running mean and the running variance: refused before allocating
        check_allocation(4 * int(num_features), f"BatchNorm({int(num_features)})")
        self.momentum = check_number(momentum, "BatchNorm momentum", 0.0, 1.0)
        # ε = inf would divide every input by infinity: every output β, whatever the input
        self.eps = check_number(eps, "BatchNorm eps", 0.0, low_open=True)
        self.num_features = int(num_features)
        # Normalisation is per feature, so no weight is shared across units: γ and β are
        # like biases and weight decay would only fight the scale the network asks for.
        self.gamma = Parameter("gamma", np.ones(self.num_features), decay=False)
        self.beta = Parameter("beta", np.zeros(self.num_features), decay=False)
        # Statistics, not trained: plain float64 arrays (kept in float64 whatever the network
        # dtype, because they accumulate over many batches), updated in place so the arrays
        # returned by buffers() stay the live ones.
        self.running_mean = np.zeros(self.num_features)
        self.running_var = np.ones(self.num_features)
        self._xhat = None
        self._inv_std = None
        self._training = False

    @property
    def in_features(self) -> int:
        """Lets a BatchNorm be the first layer of a Network (it fixes the input width)."""
        return self.num_features

    def config(self):
        return {"num_features": self.num_features, "momentum": self.momentum, "eps": self.eps}

    def initialize(self, rng: np.random.Generator) -> None:
        self.gamma.value[...] = 1.0
        self.beta.value[...] = 0.0
        self.running_mean[...] = 0.0
        self.running_var[...] = 1.0

    def parameters(self) -> list[Parameter]:
        return [self.gamma, self.beta]

    def buffers(self) -> dict[str, np.ndarray]:
        """The non-trainable state a model file must keep: {"running_mean", "running_var"}."""
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def output_features(self, in_features):
        if in_features is not None and in_features != self.num_features:
            raise ShapeError(
                f"{self!r} normalises {self.num_features} features but receives "
                f"{in_features} from the layer before it"
            )
        return self.num_features

    def forward(self, x, training=False):
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ShapeError(f"{self!r} expects input of shape (n_samples, "
                             f"{self.num_features}), got {x.shape}")
        n = x.shape[0]
        if training:
            statistics = self._batch_statistics if self.sync is None else \
                self._pooled_statistics
            mean, xc, var, n = statistics(x)
            m = self.momentum
            self.running_mean *= 1.0 - m
            self.running_mean += m * mean
            self.running_var *= 1.0 - m
            self.running_var += (m * n / (n - 1)) * var
        else:
            xc = x - self.running_mean.astype(x.dtype, copy=False)
            var = self.running_var.astype(x.dtype, copy=False)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xc *= inv_std                                  # xc is our own array: reuse it as x̂
        self._xhat, self._inv_std, self._training, self._n = xc, inv_std, training, n
        return xc * self.gamma.value + self.beta.value

    def _batch_statistics(self, x):
        """(μ, x − μ, σ², n) of this batch."""
        n = x.shape[0]
        if n < 2:
            raise ShapeError(
                f"{self!r} in training mode needs more than 1 sample per batch to "
                f"estimate a variance, got a batch of {n} (use batches of at least 2, or "
                f"training=False to use the running statistics)"
            )
        mean = x.mean(axis=0)
        xc = x - mean
        return mean, xc, np.einsum("ij,ij->j", xc, xc) / n, n

    def _pooled_statistics(self, x):
        """(μ, x − μ, σ², n) of the global batch: the sums over every rank's shard."""
        sums = np.append(x.sum(axis=0, dtype=np.float64), x.shape[0])
        self.sync.sum_(sums)
        n = int(sums[-1])
        if n < 2:
            raise ShapeError(f"{self!r} in training mode needs more than 1 sample per "
                             f"global batch, got {n}")
        mean = (sums[:-1] / n).astype(x.dtype)
        xc = x - mean
        squares = np.einsum("ij,ij->j", xc, xc).astype(np.float64)
        return mean, xc, (self.sync.sum_(squares) / n).astype(x.dtype), n

    def backward(self, dy, input_grad=True):
        xhat = self._xhat
        # Σ δ x̂ and Σ δ double as the two batch means of the training-mode ∂E/∂x.
        np.einsum("ij,ij->j", dy, xhat, out=self.gamma.grad)
        np.sum(dy, axis=0, out=self.beta.grad)
        if not input_grad:
            return None
        scale = self.gamma.value * self._inv_std
        if not self._training:
            return dy * scale
        n, sum_dy, sum_dy_xhat = self._n, self.beta.grad, self.gamma.grad
        if self.sync is not None:
            # The means run over every rank's rows. γ's and β's own gradients stay this
            # rank's sums: the gradient buffer is all-reduced after the backward pass.
            pooled = self.sync.sum_(np.concatenate([sum_dy, sum_dy_xhat]).astype(np.float64))
            sum_dy, sum_dy_xhat = np.split(pooled.astype(dy.dtype), 2)
        dx = dy - sum_dy / n
        dx -= xhat * (sum_dy_xhat / n)
        dx *= scale
        return dx

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("sync", None)                        # an MPI communicator: not copyable
        return state

    def __repr__(self):
        extra = "" if self.momentum == 0.1 else f", momentum={self.momentum}"
        extra += "" if self.eps == 1e-5 else f", eps={self.eps}"
        return f"BatchNorm({self.num_features}{extra})"
