"""Embedding losses (tutorial 003's third family): is a pair of things similar or not?"""

from __future__ import annotations

import numpy as np

from .._validation import check_finite
from ..errors import DataError, ShapeError
from .base import Loss


def _check_signs(T, name, loss):
    if not np.isin(T, (-1, 1)).all():
        raise DataError(f"{name} labels must be +1 (similar) or −1 (dissimilar) for {loss}")


class HingeEmbedding(Loss):
    """Hinge embedding loss on a distance-like output y (e.g. the L1 distance of two
    embeddings), averaged over outputs: E = y for similar pairs (t = +1),
    max(0, margin − y) for dissimilar ones (t = −1). As torch's HingeEmbeddingLoss."""

    family = "embedding"

    def __init__(self, margin: float = 1.0):
        self.margin = float(margin)

    def _check_values(self, T, name):
        _check_signs(T, name, "HingeEmbedding")

    def values(self, Y, T):
        return np.where(T > 0, Y, np.maximum(0, self.margin - Y)).mean(axis=1)

    def grads(self, Y, T):
        g = np.where(T > 0, 1.0, np.where(self.margin - Y > 0, -1.0, 0.0))
        return g.astype(Y.dtype) / Y.shape[1]


class CosineEmbedding(Loss):
    """Cosine embedding loss between the output y and a target vector v, with a label s:
    E = 1 − cos(y, v) for similar pairs (s = +1), max(0, cos(y, v) − margin) for dissimilar
    ones (s = −1). As torch's CosineEmbeddingLoss with v fixed.

    Targets are one array, the vectors with the labels as one extra last column, so they
    batch like any other target: ``CosineEmbedding.targets(V, s)`` builds it (n, k + 1).
    ∂cos/∂y = v/(‖y‖‖v‖) − cos · y/‖y‖².
    """

    family = "embedding"

    def __init__(self, margin: float = 0.0):
        self.margin = float(margin)

    @staticmethod
    def targets(V, s) -> np.ndarray:
        V = np.asarray(V, dtype=float)
        return np.column_stack([V, np.asarray(s, dtype=float).reshape(-1)])

    def prepare_targets(self, T, n_outputs, name="y"):
        T = self._as_array(T, name)
        if T.ndim != 2 or T.shape[1] != n_outputs + 1:
            raise ShapeError(f"CosineEmbedding needs {name} of shape (n_samples, "
                             f"{n_outputs + 1}): the target vectors plus a last column of "
                             f"±1 labels (CosineEmbedding.targets(V, s)); got {T.shape}")
        check_finite(T, name)
        _check_signs(T[:, -1], name, "CosineEmbedding")
        return np.asarray(T, dtype=float)

    def _cos(self, Y, V):
        ny = np.sqrt(np.einsum("ij,ij->i", Y, Y)) + 1e-12
        nv = np.sqrt(np.einsum("ij,ij->i", V, V)) + 1e-12
        return np.einsum("ij,ij->i", Y, V) / (ny * nv), ny, nv

    def values(self, Y, T):
        V, s = T[:, :-1], T[:, -1]
        cos, _, _ = self._cos(Y, V)
        return np.where(s > 0, 1 - cos, np.maximum(0, cos - self.margin))

    def grads(self, Y, T):
        V, s = T[:, :-1], T[:, -1]
        cos, ny, nv = self._cos(Y, V)
        dcos = V / (ny * nv)[:, None] - (cos / ny**2)[:, None] * Y
        coef = np.where(s > 0, -1.0, np.where(cos - self.margin > 0, 1.0, 0.0))
        return coef.astype(Y.dtype)[:, None] * dcos     # np.where gives float64
