"""Preparing what ``fit`` trains on: checked arrays, the validation split, batch bounds."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._validation import as_matrix, cast_within_range, check_sample_weight, is_sparse
from .data import is_source
from .errors import ConfigError, DataError, ShapeError


def rows_first(X):
    """A sparse X as CSR, whose rows the batches gather cheaply (one conversion per fit,
    not a scan of a CSC matrix per batch); a dense X as it is."""
    return X.tocsr() if is_sparse(X) else X


def training_arrays(net, loss, X, y, sample_weight):
    """X, T (prepared targets) and w, checked and in the network's dtype (X dense, or
    sparse CSR)."""
    X = rows_first(net.check_input(X))
    T = cast_within_range(loss.prepare_targets(y, net.n_outputs, "y"), net.dtype, "y")
    if len(T) != X.shape[0]:
        raise ShapeError(f"X has {X.shape[0]} samples but y has {len(T)}")
    return X, T, check_sample_weight(sample_weight, X.shape[0], net.dtype)


def validation(net, loss, X, T, w, split, data, seed):
    """Split off (or prepare) the validation set; return the training part and it (a pair
    of arrays, a source, or None)."""
    if data is not None:
        if split:
            raise ConfigError("give validation_split or validation_data, not both")
        if is_source(data):
            return X, T, w, data
        try:
            Xv, yv = data
        except (TypeError, ValueError):
            raise ConfigError("validation_data must be a pair (X_val, y_val)") from None
        Xv = rows_first(net.check_input(Xv, "validation X"))
        Tv = cast_within_range(loss.prepare_targets(yv, net.n_outputs, "validation y"),
                               net.dtype, "validation y")
        if len(Tv) != Xv.shape[0]:
            raise ShapeError(f"validation X has {Xv.shape[0]} samples but y has {len(Tv)}")
        return X, T, w, (Xv, Tv)
    if not split:
        return X, T, w, None
    n = X.shape[0]
    n_val = math.ceil(split * n)
    if n_val >= n:
        raise ConfigError(f"validation_split={split} leaves no training samples out of {n}")
    order = np.random.default_rng([seed, 1]).permutation(n)
    val, train = order[:n_val], np.sort(order[n_val:])
    return X[train], T[train], (None if w is None else w[train]), (X[val], T[val])


def validation_feed(net, loss, data, seed, comm, classify):
    """What ``evaluate`` reads: a feed whose ``validation_chunks`` are this rank's part of
    the validation set (None without one)."""
    if data is None:
        return None
    if is_source(data):
        return Streamed(net, loss, data, None, False, seed, comm, classify, validation=True)
    Xv, Tv = data                                   # arrays prepared by ``validation``
    return Replicated(net, Xv, Tv, None, None, None, False, comm)


def batch_bounds(n: int, batch_size, layers) -> list[tuple[int, int]]:
    """(start, stop) of each batch; a last batch smaller than some layer's ``min_batch``
    (batch norm needs 2 samples) is folded into the one before it."""
    bs = n if batch_size is None else min(int(batch_size), n)
    starts = list(range(0, n, bs))
    if len(starts) > 1 and n - starts[-1] < max(layer.min_batch for layer in layers):
        starts.pop()
    return list(zip(starts, starts[1:] + [n], strict=True))


class Step(NamedTuple):
    """One gradient step of an epoch, as a feed hands it to the trainer."""

    index: int                  # batch number within the epoch
    size: int                   # rows of the global batch (all ranks)
    share: float                # the batch's weight in the epoch's loss
    coef: np.ndarray | None     # per-row loss coefficients of this rank's rows
    X: np.ndarray | None        # this rank's rows (None: it has none in this batch)
    T: np.ndarray | None
    labels: np.ndarray | None   # class indices, for the accuracy (None: not needed)


class Replicated:
    """Every rank holds all of (X, T): each epoch shuffles the row order (from ``rng``,
    the same on every rank) and each rank takes its shard of every global batch.

    Rows are gathered batch by batch with fancy indexing: no shuffled copy of the whole
    data set per epoch (for 60,000 MNIST-sized rows that copy is 188 MB written and read
    again, and doubles the memory). ``X[rows]`` measured 3.6x faster than
    ``np.take(X, rows, out=buffer)`` here, so the small per-batch allocation is the cheaper
    choice. Without shuffling: plain views. A sparse X (CSR) is gathered the same way,
    ``X[rows]`` being a small CSR matrix of the batch's rows."""

    def __init__(self, net, X, T, w, labels, batch_size, shuffle, comm):
        self.X, self.T, self.w, self.labels = X, T, w, labels
        n = X.shape[0]
        self.bounds = batch_bounds(n, batch_size, net.layers)
        self.n_samples, self.shuffle, self.comm, self.dtype = n, shuffle, comm, net.dtype
        #: The fewest rows any rank gets of any batch.
        self.smallest_share = min(hi - lo for lo, hi in self.bounds) // comm.size
        # One preallocated coefficient vector for the common case (full batches, no MPI).
        self.uniform = np.full(self.bounds[0][1], 1.0 / self.bounds[0][1], dtype=net.dtype)

    def steps(self, rng, epoch, first_batch):
        """The epoch's ``Step``s (from batch ``first_batch`` when resuming)."""
        n, w, comm = self.n_samples, self.w, self.comm
        order = rng.permutation(n) if self.shuffle else None
        we = None if w is None else (w[order] if self.shuffle else w)
        le = None if self.labels is None else (
            self.labels[order] if self.shuffle else self.labels)
        for b in range(first_batch, len(self.bounds)):
            lo, hi = self.bounds[b]
            size = hi - lo
            a, c = comm.shard(lo, hi)          # this rank's rows (all of them on one process)
            if we is None:
                coef = self.uniform if c - a == len(self.uniform) and comm.size == 1 else \
                    np.full(c - a, 1.0 / size, self.dtype)
                share = size / n
            else:
                wb = we[lo:hi]
                if wb.sum() == 0:
                    continue                              # nothing in this batch counts
                coef, share = we[a:c] / wb.sum(), wb.sum() / w.sum()
            if c == a:                                    # more ranks than rows
                yield Step(b, size, share, coef, None, None, None)
                continue
            if order is None:
                Xb, Tb = self.X[a:c], self.T[a:c]
            else:
                rows = order[a:c]
                Xb, Tb = self.X[rows], self.T[rows]
            yield Step(b, size, share, coef, Xb, Tb, None if le is None else le[a:c])

    def remedy(self) -> str:
        """What to change when some rank gets no rows of some batch."""
        small = min(hi - lo for lo, hi in self.bounds)
        return (f"the smallest batch has {small} rows for {self.comm.size} ranks: use "
                f"batch_size >= {self.comm.size}")

    def validation_chunks(self):
        """This rank's part of (X, T) as validation data: [(X, T)]."""
        lo, hi = self.comm.shard(0, self.n_samples)
        return [(self.X[lo:hi], self.T[lo:hi])] if hi > lo else []


def apportion(counts: list[int], k: int) -> list[int]:
    """How many of the first k rows of an epoch come from each rank, when rank r holds
    counts[r] of the N rows: rank 0 gets ⌊n₀k/N⌋, rank 1 ⌊n₁k'/N'⌋ of the k' = k − that
    left among the others' N' rows, and so on; the last rank takes the rest. The parts
    add up to k exactly, each grows by 0 or 1 when k grows by 1 (so every batch lo:hi
    has hi − lo rows), each stays within P rows of its fair share n_r·k/N (every rank's
    rounding passes less than a row on to the next), and at k = N rank r has given all of
    its n_r rows."""
    parts, left, rows_left = [], k, sum(counts)
    for n_r in counts[:-1]:
        take = (n_r * left) // rows_left if rows_left else 0
        parts.append(take)
        left, rows_left = left - take, rows_left - n_r
    return parts + [left]


class Streamed:
    """Training data from a source (``ffbp.data``), one block in memory at a time.

    Under MPI each rank streams its own partition (``source.partition``) of n_r rows. Batch
    lo:hi of the epoch's N rows (all ranks together) takes, from each rank's own stream, the
    rows between ``apportion(counts, lo)[r]`` and ``apportion(counts, hi)[r]``: the ranks'
    pieces add up to hi − lo rows, each piece's coefficients are 1/(hi − lo), so the
    all-reduced gradient is that of the global batch's mean loss.
    """

    def __init__(self, net, loss, source, batch_size, shuffle, seed, comm, classify,
                 validation=False):
        if batch_size is None and not validation:
            raise ConfigError("batch_size=None (the whole data set in one batch) would hold "
                              "all of a data source in memory: give a batch size")
        self.net, self.loss, self.shuffle, self.seed, self.comm = net, loss, shuffle, seed, comm
        self.classify = classify
        self.source = source.partition(comm.rank, comm.size, allow_empty=validation) \
            if comm.size > 1 else source
        if self.source.n_features != net.n_features:
            raise ShapeError(f"{self.source.name} has {self.source.n_features} features but "
                             f"the network's first layer expects {net.n_features}")
        self.counts = counts = comm.gather_int(self.source.n_samples)
        self.n_samples = N = int(sum(counts))
        if N == 0:
            raise DataError(f"{source.name} holds no rows")
        self.bounds = batch_bounds(N, batch_size, net.layers)
        cuts = [apportion(counts, lo) for lo, _ in self.bounds] + [counts]
        self.local = [(cuts[b][comm.rank], cuts[b + 1][comm.rank])
                      for b in range(len(self.bounds))]
        #: The fewest rows any rank gets of any batch, and where.
        self.smallest_share, self.starved = min(
            (cuts[b + 1][r] - cuts[b][r], (r, b)) for b in range(len(self.bounds))
            for r in range(comm.size))

    def remedy(self) -> str:
        """What to change when some rank gets no rows of some batch."""
        r, b = self.starved
        lo, hi = self.bounds[b]
        need = -(-self.n_samples // max(1, min(self.counts)))
        return (f"rank {r} (with {self.counts[r]} of the {self.n_samples} rows) gets none of "
                f"batch {b + 1} ({hi - lo} rows): use batch_size >= {need}, or give the "
                f"ranks more even parts")

    def prepare(self, i, X, y):
        """Block i's (X, T), checked and in the network's dtype."""
        net, (a, b) = self.net, self.source.bounds[i]
        where = f"rows {a + 1} to {b}"         # messages count rows from 1
        X = as_matrix(X, f"{self.source.name} {where}", net.dtype, net.n_features, a)
        T = self.loss.prepare_targets(y, net.n_outputs, f"{self.source.name} {where} y")
        if len(T) != len(X):
            raise ShapeError(f"{self.source.name} {where}: X has {len(X)} rows but y has "
                             f"{len(T)}")
        return X, T.astype(net.dtype, copy=False)

    def steps(self, rng, epoch, first_batch):
        """As ``Replicated.steps``; the block order and each block's row order are drawn
        from (seed, epoch, rank), so an epoch can be replayed (and resumed) exactly."""
        del rng
        erng = np.random.default_rng([self.seed, epoch, self.comm.rank])
        n_blocks = len(self.source.block_sizes)
        order = erng.permutation(n_blocks) if self.shuffle else np.arange(n_blocks)
        stream = _Stream(self, order, erng if self.shuffle else None)
        stream.skip(self.local[first_batch][0] if first_batch < len(self.local) else 0)
        for b in range(first_batch, len(self.bounds)):
            lo, hi = self.local[b]
            size = self.bounds[b][1] - self.bounds[b][0]
            if hi == lo:
                yield Step(b, size, size / self.n_samples, None, None, None, None)
                continue
            Xb, Tb = stream.take(hi - lo)
            coef = np.full(hi - lo, 1.0 / size, self.net.dtype)
            labels = self.loss.target_classes(Tb) if self.classify else None
            yield Step(b, size, size / self.n_samples, coef, Xb, Tb, labels)

    def validation_chunks(self):
        """This rank's blocks, prepared one at a time (a generator: flat memory)."""
        for i in range(len(self.source.block_sizes)):
            yield self.prepare(i, *self.source.read(i))


class _Stream:
    """The rows of a source's blocks in ``order``, each block's rows permuted when ``rng``
    is given, taken in consecutive pieces; only the current block is held."""

    def __init__(self, feed, order, rng):
        self.feed, self.order, self.rng = feed, list(order), rng
        self.next = 0
        self.X = self.T = self.rows = None
        self.pos = 0

    def _load(self):
        if self.next >= len(self.order):
            raise DataError(f"{self.feed.source.name} returned fewer rows than its "
                            f"block_sizes announce")
        i = self.order[self.next]
        self.next += 1
        self.X, self.T = self.feed.prepare(i, *self.feed.source.read(i))
        if len(self.X) != self.feed.source.block_sizes[i]:
            raise DataError(f"{self.feed.source.name} block {i} has {len(self.X)} rows, not "
                            f"the {self.feed.source.block_sizes[i]} announced")
        self.rows = self.rng.permutation(len(self.X)) if self.rng is not None else None
        self.pos = 0

    def _pieces(self, k):
        while k > 0:
            if self.X is None or self.pos == len(self.X):
                self._load()
            m = min(k, len(self.X) - self.pos)
            sel = slice(self.pos, self.pos + m) if self.rows is None else \
                self.rows[self.pos:self.pos + m]
            self.pos += m
            k -= m
            yield sel

    def skip(self, k):
        for _ in self._pieces(k):
            pass

    def take(self, k):
        parts = [(self.X[sel], self.T[sel]) for sel in self._pieces(k)]
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def n_correct(decided, labels) -> int:
    if decided.ndim == 2:                       # multi-label: every output must be right
        return int(np.all(decided == labels, axis=1).sum())
    return int(np.count_nonzero(decided == labels))


def evaluate(net, loss, chunks, n, classify, comm) -> dict:
    """val_loss (and val_accuracy) in inference mode over this rank's ``chunks`` of (X, T)
    (n rows across all ranks); under MPI the sums are reduced over the ranks."""
    total = correct = 0.0
    for Xv, Tv in chunks:
        Y = net.outputs(Xv)
        total += float(loss.values(Y, Tv).sum())
        if classify:
            correct += n_correct(loss.decide(Y), loss.target_classes(Tv))
    if comm is not None:
        total, correct = comm.sum_numbers(total, correct)
    logs = {"val_loss": total / n}
    if classify:
        logs["val_accuracy"] = correct / n
    return logs
