"""The feed-forward network: ordered layers, forward left to right, backward right to left."""

from __future__ import annotations

import copy

import numpy as np

from . import backprop
from ._validation import as_matrix, check_seed, is_sparse
from .errors import ConfigError, NotFittedError, ShapeError
from .layers.base import Layer
from .losses.base import Loss
from .parameter import Parameter

#: Rows per forward pass in ``predict``: bounds the memory of activations on large inputs.
PREDICT_CHUNK = 8192


class Network:
    """A feed-forward network of ``layers`` applied in order (tutorial 002's layers l = 1..L).

    Forward:  a⁽¹⁾ = X, a⁽ˡ⁺¹⁾ = layerₗ(a⁽ˡ⁾), Y = a⁽ᴸ⁺¹⁾.
    Backward: from ∂E/∂Y, each layer right to left turns ∂E/∂(its output) into
              ∂E/∂(its input) and fills its parameters' gradients: the deltas δ of
              tutorial 000, δⱼ = Φ'(·) Σₖ wⱼₖ δₖ, computed layer by layer.

    All parameter values live in one flat contiguous vector ``flat_values`` and all gradients
    in ``flat_grads``; each ``Parameter`` holds views into them. An optimiser therefore
    updates every weight of the network with a few vectorised operations.

    Shape: X (n_samples, n_features) -> Y (n_samples, n_outputs).

    X may be a scipy sparse matrix (CSR, CSC; other formats become CSR) wherever it is
    passed to ``forward``, ``compute_gradients``, ``predict``, ``predict_proba`` and ``fit``,
    when the first layer is Dense: only its values are cast to ``dtype``, it is never
    densified, and ∂E/∂X is not computed for it.

    Args:
        layers: the layers, in order; widths must chain (checked here).
        seed: seed of the initial weights (every draw comes from it).
        dtype: float32 (default, fast) or float64.
    """

    def __init__(self, layers, seed: int | None = 0, dtype=np.float32):
        try:
            layers = list(layers)
        except TypeError:
            raise ConfigError(f"layers must be a list of ffbp layers, got {layers!r}") from None
        if not layers:
            raise ConfigError("a Network needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} is {layer!r}, not an ffbp layer")
        try:
            self.dtype = np.dtype(dtype)
        except (TypeError, ValueError):
            raise ConfigError(f"dtype must be float32 or float64, got {dtype!r}") from None
        if self.dtype not in (np.float32, np.float64):
            raise ConfigError(f"dtype must be float32 or float64, got {self.dtype}")
        seed = check_seed(seed)
        for i, layer in enumerate(layers):
            for k in range(i):
                if layers[k] is layer:
                    raise ConfigError(f"layer {i} is the same object as layer {k}: each "
                                      f"position needs its own layer (they cache their inputs)")
        self.layers = layers
        self.n_features, self.n_outputs = self._check_widths()
        self.seed = seed
        self.loss: Loss | None = None
        #: Free-form JSON-able facts saved with the model (preprocessing, training settings).
        self.metadata: dict = {}
        self.optimizer = None
        self.optimizer_state = None
        self._last_batch = None
        self.initialize(seed)

    # -- structure ---------------------------------------------------------------------
    def _check_widths(self):
        width = None
        n_features = None
        for i, layer in enumerate(self.layers):
            if n_features is None:
                n_features = layer.in_features
            try:
                width = layer.output_features(width)
            except ShapeError as exc:
                raise ShapeError(f"layer {i} ({layer!r}): {exc}") from None
        if n_features is None:
            raise ConfigError("the network has no layer that fixes its input width "
                              "(start it with a Dense layer)")
        return n_features, width

    def parameters(self) -> list[Parameter]:
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """("layer{i}.{name}", parameter) pairs, in order."""
        return [(f"layer{i}.{p.name}", p)
                for i, layer in enumerate(self.layers) for p in layer.parameters()]

    def initialize(self, seed: int | None = None) -> None:
        """Draw every layer's initial values from one generator seeded with ``seed``."""
        rng = np.random.default_rng(seed)
        for layer in self.layers:
            layer.initialize(rng)
        self._pack()
        self.optimizer = self.optimizer_state = None

    def _pack(self) -> None:
        """Move every parameter value and gradient into one flat buffer each, as views."""
        params = self.parameters()
        total = sum(p.size for p in params)
        self.flat_values = np.empty(total, dtype=self.dtype)
        self.flat_grads = np.zeros(total, dtype=self.dtype)
        offset = 0
        for p in params:
            view = self.flat_values[offset:offset + p.size].reshape(p.shape)
            view[...] = p.value
            p.value = view
            p.grad = self.flat_grads[offset:offset + p.size].reshape(p.shape)
            offset += p.size

    def locate(self, flat_index) -> str:
        """Name of the parameter holding entry ``flat_index`` (or the first of several) of
        the flat vector, e.g. "layer2.W"."""
        index = int(np.atleast_1d(flat_index)[0]) if np.size(flat_index) else 0
        offset = 0
        for name, p in self.named_parameters():
            offset += p.size
            if index < offset:
                return name
        return "?"

    def decay_mask(self) -> np.ndarray:
        """Boolean flat mask: True where weight decay applies (weights, not biases)."""
        return np.concatenate([np.full(p.size, p.decay) for p in self.parameters()]
                              or [np.zeros(0, bool)])

    def zero_grad(self) -> None:
        self.flat_grads[...] = 0

    def copy(self) -> Network:
        """An independent deep copy (its own flat buffers)."""
        return self.astype(self.dtype)

    def astype(self, dtype) -> Network:
        """A deep copy computing in ``dtype`` (e.g. float64 for gradient checks), without
        the optimiser state."""
        clone = copy.deepcopy(self)
        clone.optimizer_state = None
        if clone.dtype != np.dtype(dtype):
            clone.dtype = np.dtype(dtype)
            clone._pack()
        return clone

    def __getstate__(self):
        # The optimiser is made of closures, which pickle cannot store; its state (plain
        # arrays and numbers) is kept, so whoever rebuilds the same optimiser and sets
        # ``net.optimizer`` continues exactly (checkpoints do this for ``fit(resume=...)``).
        state = dict(self.__dict__)
        state.update(optimizer=None)
        return state

    def __setstate__(self, state):
        # Copying (pickle, deepcopy) turns each parameter's view of the flat buffer into an
        # array of its own: tie them back into one buffer, or updates would not reach them.
        self.__dict__.update(state)
        self._pack()

    def snapshot(self) -> dict:
        """Copies of everything inference depends on: the flat parameter vector and the
        layers' buffers (batch-norm statistics). ``restore`` puts them back."""
        buffers = {(i, k): v.copy() for i, layer in enumerate(self.layers)
                   for k, v in layer.buffers().items()}
        return {"values": self.flat_values.copy(), "buffers": buffers}

    def restore(self, snapshot: dict) -> None:
        self.flat_values[...] = snapshot["values"]
        for (i, k), v in snapshot["buffers"].items():
            self.layers[i].buffers()[k][...] = v

    # -- forward and backward ----------------------------------------------------------
    def check_input(self, X, name: str = "X"):
        """X checked and in ``dtype``: a dense array (n_samples, n_features), or a sparse
        matrix (CSR/CSC) when the first layer is Dense, the only layer with a sparse
        product."""
        from .layers.dense import Dense

        if is_sparse(X) and type(self.layers[0]) is not Dense:
            raise ConfigError(f"{name} is sparse, which only a network starting with a Dense "
                              f"layer takes (this one starts with {self.layers[0]!r})")
        return as_matrix(X, name, self.dtype, self.n_features, accept_sparse=True)

    def note_batch(self, n_samples: int) -> None:
        """Remember the rows of the forward pass under way (``backward`` checks dY's)."""
        self._last_batch = n_samples

    def forward(self, X, training: bool = False) -> np.ndarray:
        """Y = layer_L(… layer_1(X)), shape (n_samples, n_outputs).

        ``training=True`` makes dropout drop and batch norm use batch statistics; the
        caches every backward needs are kept either way."""
        return backprop.forward(self, self.check_input(X), training)

    __call__ = forward

    def backward(self, dY, input_grad: bool = True) -> np.ndarray | None:
        """Back-propagate ∂E/∂Y (n_samples, n_outputs) right to left; fill every ``p.grad``
        (overwriting) and return ∂E/∂X (or None with ``input_grad=False``, or when the last
        forward's X was sparse)."""
        dY = np.asarray(dY, dtype=self.dtype)
        if dY.ndim != 2 or dY.shape[1] != self.n_outputs:
            raise ShapeError(f"dY must have shape (n_samples, {self.n_outputs}), got {dY.shape}")
        if len(dY) != self._last_batch:
            raise ShapeError(f"dY has {len(dY)} rows but the last forward pass had "
                             f"{self._last_batch} samples (call forward first)")
        return backprop.backward(self, dY, len(self.layers), input_grad)

    def check_loss(self, loss) -> Loss:
        """Resolve ``loss`` and check that it fits the output layer; return it."""
        return backprop.check_loss(self, loss)

    def uses_fused_gradient(self, loss: Loss) -> bool:
        """True when the output layer and the loss combine into the stable ∂E/∂z = y − t
        (the rule itself lives in ``ffbp.backprop``)."""
        return backprop.uses_fused_rule(self, loss)

    def compute_gradients(self, X, T, loss, sample_weight=None, training=True) -> float:
        """One back-propagation step on a batch (``ffbp.backprop.step``): fill every
        ``p.grad`` with ∂E/∂p and return the batch loss E. Uses the fused y − t gradient
        where it applies."""
        return backprop.compute(self, X, T, loss, sample_weight, training=training)

    def trace(self, X, T=None, loss=None, **kwargs):
        """Per layer: input, pre-activation h', activation, deltas and gradients of a batch
        (see ``ffbp.trace.trace``); computed on a copy, the network is untouched."""
        from .trace import trace

        return trace(self, X, T, loss, **kwargs)

    # -- using a trained network -------------------------------------------------------
    def outputs(self, X) -> np.ndarray:
        """The raw outputs Y (n_samples, n_outputs) in inference mode, computed in chunks of
        ``PREDICT_CHUNK`` rows so that large inputs need bounded memory."""
        X = self.check_input(X)
        n = X.shape[0]
        if n <= PREDICT_CHUNK:
            return backprop.forward(self, X)
        if is_sparse(X):
            X = X.tocsr()       # row chunks of a CSC matrix would each scan all of it
        return np.concatenate([backprop.forward(self, X[i:i + PREDICT_CHUNK])
                               for i in range(0, n, PREDICT_CHUNK)])

    def predict(self, X) -> np.ndarray:
        """Outputs for X. For a network trained with a classification loss these are class
        decisions (indices 0..k−1, or 0/1 per output for binary/multi-label); otherwise the
        raw outputs (n_samples, n_outputs)."""
        Y = self.outputs(X)
        if self.loss is not None and self.loss.family == "classification":
            return self.loss.decide(Y)
        return Y

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n_samples, n_outputs) of a network trained with a
        probabilistic classification loss."""
        if self.loss is None:
            raise NotFittedError("predict_proba needs a network trained with a classification "
                                 "loss (call fit first)")
        return self.loss.probabilities(self.outputs(X))

    def fit(self, X, y=None, loss="mse", optimizer=None, **kwargs):
        """Train on (X, y), or on a data source (``ffbp.data``) with y=None; see
        ``ffbp.training.fit`` for every argument. Returns History."""
        from .training import fit

        return fit(self, X, y, loss=loss, optimizer=optimizer, **kwargs)

    # -- description -------------------------------------------------------------------
    def summary(self) -> str:
        """A table of layers, output shapes and parameter counts."""
        rows = [("#", "layer", "output", "parameters")]
        width = None
        for i, layer in enumerate(self.layers):
            width = layer.output_features(width)
            count = sum(p.size for p in layer.parameters())
            rows.append((str(i), repr(layer), f"(n, {width})", f"{count:,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                 for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        total = self.flat_values.size
        lines.append(f"total: {total:,} parameters ({total * self.dtype.itemsize:,} bytes, "
                     f"{self.dtype}), input (n, {self.n_features})")
        return "\n".join(lines)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Network([\n  {inner}\n], dtype={self.dtype})"
