"""Out-of-core training from data sources (ffbp.data): the same weights as in-memory training
on the rows in the same order, flat memory under an address-space limit, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import require

import ffbp
from ffbp.data import ArraySource, NpySource, ParquetSource


def problem(n=100, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    return X, y


def network():
    return ffbp.Network([ffbp.Dense(5, 4), ffbp.Tanh(), ffbp.Dense(4, 3), ffbp.Softmax()],
                        seed=1, dtype=np.float64)


@pytest.fixture
def npy(tmp_path):
    X, y = problem()
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    return tmp_path / "X.npy", tmp_path / "y.npy"


def block_order(seed, epoch, sizes):
    """The documented visiting order of one epoch: blocks permuted by
    default_rng([seed, epoch, rank]), then the rows of each block by the same generator."""
    rng = np.random.default_rng([seed, epoch, 0])
    starts = np.concatenate([[0], np.cumsum(sizes)])
    return np.concatenate([starts[i] + rng.permutation(sizes[i])
                           for i in rng.permutation(len(sizes))])


def fit_kwargs(**extra):
    return {"loss": "cross_entropy", "epochs": 3, "batch_size": 16, "verbose": False, **extra}


def test_unshuffled_source_trains_exactly_like_the_arrays(npy):
    """Blocks of 7 rows and batches of 16: most batches span blocks."""
    X, y = problem()
    a, b = network(), network()
    ha = a.fit(X, y, optimizer=ffbp.optim.adam(0.05), **fit_kwargs(shuffle=False))
    hb = b.fit(NpySource(*npy, block_rows=7), optimizer=ffbp.optim.adam(0.05),
               **fit_kwargs(shuffle=False))
    np.testing.assert_array_equal(a.flat_values, b.flat_values)
    assert ha.loss == hb.loss and ha.accuracy == hb.accuracy


def test_block_shuffled_training_matches_in_memory_training_in_the_same_order(npy):
    X, y = problem()
    seed, sizes = 11, [7] * 14 + [2]
    streamed = network()
    history = streamed.fit(NpySource(*npy, block_rows=7), optimizer=ffbp.optim.adam(0.05),
                           **fit_kwargs(seed=seed))
    in_memory, opt, losses = network(), ffbp.optim.adam(0.05), []
    for epoch in range(3):                       # same optimiser object: its state goes on
        order = block_order(seed, epoch, sizes)
        assert sorted(order) == list(range(100))
        h = in_memory.fit(X[order], y[order], optimizer=opt,
                          **fit_kwargs(shuffle=False, epochs=1))
        losses += h.loss
    np.testing.assert_allclose(streamed.flat_values, in_memory.flat_values, rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)
    # and shuffling did change the order (the check above is not the unshuffled one)
    plain = network()
    plain.fit(X, y, optimizer=ffbp.optim.adam(0.05), **fit_kwargs(shuffle=False))
    assert np.abs(plain.flat_values - streamed.flat_values).max() > 1e-3


def test_parquet_row_groups_train_like_the_npy_blocks(npy, tmp_path):
    pa = require("pyarrow", "the Parquet files are written with pyarrow")
    pq = require("pyarrow.parquet", "the Parquet files are written with pyarrow")
    X, y = problem()
    table = pa.table({**{f"x{j}": X[:, j] for j in range(5)}, "label": y})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=7)
    a, b = network(), network()
    a.fit(NpySource(*npy, block_rows=7), optimizer=ffbp.optim.sgd(0.3), **fit_kwargs(seed=4))
    b.fit(ParquetSource(tmp_path / "d.parquet", target="label"),
          optimizer=ffbp.optim.sgd(0.3), **fit_kwargs(seed=4))
    np.testing.assert_allclose(a.flat_values, b.flat_values, rtol=0, atol=1e-13)


def test_validation_source_reports_what_evaluating_the_arrays_gives(npy):
    X, y = problem()
    Xv, yv = problem(37, seed=5)
    net = network()
    history = net.fit(NpySource(*npy, block_rows=9), optimizer=ffbp.optim.adam(0.05),
                      validation_data=ArraySource(Xv, yv, block_rows=10), **fit_kwargs(seed=3))
    probs = net.predict_proba(Xv)
    expected = -np.log(probs[np.arange(len(yv)), yv]).mean()
    assert history.val_loss[-1] == pytest.approx(expected, rel=1e-12)
    assert history.val_accuracy[-1] == np.mean(probs.argmax(1) == yv)
    # arrays as validation data with a source give the same figures
    net2 = network()
    h2 = net2.fit(NpySource(*npy, block_rows=9), optimizer=ffbp.optim.adam(0.05),
                  validation_data=(Xv, yv), **fit_kwargs(seed=3))
    np.testing.assert_allclose(h2.val_loss, history.val_loss, rtol=1e-12)


def test_checkpoint_resume_with_a_source_continues_the_same_run(npy, tmp_path):
    whole = network()
    whole.fit(NpySource(*npy, block_rows=8), optimizer=ffbp.optim.adam(0.05),
              **fit_kwargs(seed=2, epochs=4))
    first = network()
    first.fit(NpySource(*npy, block_rows=8), optimizer=ffbp.optim.adam(0.05),
              checkpoint=tmp_path / "c.ckpt", **fit_kwargs(seed=2, epochs=2))
    resumed = network()
    resumed.fit(NpySource(*npy, block_rows=8), optimizer=ffbp.optim.adam(0.05),
                resume=tmp_path / "c.ckpt", **fit_kwargs(seed=2, epochs=4))
    np.testing.assert_array_equal(resumed.flat_values, whole.flat_values)


def test_partitions_split_the_blocks_among_ranks(npy):
    source = NpySource(*npy, block_rows=30)            # blocks of 30, 30, 30, 10
    parts = [source.partition(r, 3) for r in range(3)]
    assert [p.block_sizes for p in parts] == [[30], [30], [30, 10]]
    first = parts[2].read(1)[0]
    np.testing.assert_array_equal(first, problem()[0][90:100])
    for rank in range(5):              # every rank raises, or the others would wait forever
        with pytest.raises(ffbp.ConfigError, match="4 block.*5 ranks: some rank"):
            source.partition(rank, 5)
    # validation data may leave a rank empty-handed
    assert [source.partition(r, 5, allow_empty=True).block_sizes for r in range(5)] == [
        [], [30], [30], [30], [10]]
    own = ArraySource(*problem(), partitioned=True)
    assert own.partition(1, 2) is own


@pytest.mark.parametrize("seed", range(40))
def test_apportioned_batches_have_their_size_and_use_every_row_once(seed):
    """Batch lo:hi takes apportion(counts, hi) - apportion(counts, lo) rows of each rank:
    they add up to hi - lo, never go backwards, stay within P rows of the fair share
    n_r k / N (each rank's rounding passes at most one row on to the next), and at the end
    every rank has given all its rows."""
    from ffbp._fitdata import apportion

    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 50, size=rng.integers(1, 6)).tolist()
    counts[0] += 1
    N = sum(counts)
    previous = [0] * len(counts)
    for k in range(1, N + 1):
        parts = apportion(counts, k)
        assert sum(parts) == k
        assert all(0 <= p - q <= 1 for p, q in zip(parts, previous, strict=True))
        assert all(abs(p - n * k / N) < len(counts) for p, n in zip(parts, counts,
                                                                     strict=True))
        previous = parts
    assert previous == counts


class TwoRanks:
    """Enough of a Comm for Streamed's bookkeeping: rank ``rank`` of ranks holding
    ``counts`` rows."""

    def __init__(self, rank, counts):
        self.rank, self.size, self.counts = rank, len(counts), counts

    def gather_int(self, value):
        assert value == self.counts[self.rank]
        return list(self.counts)


def test_uneven_partitions_give_batches_of_the_requested_size():
    from ffbp._fitdata import Streamed

    X, y = problem(10)
    net, loss = network(), ffbp.losses.get("cross_entropy")
    sizes = []
    for rank, rows in ((0, slice(0, 3)), (1, slice(3, 10))):
        source = ArraySource(X[rows], y[rows], partitioned=True)
        feed = Streamed(net, loss, source, 2, False, 0, TwoRanks(rank, [3, 7]), False)
        sizes.append([0 if Xb is None else len(Xb)
                      for *_, Xb, _, _ in feed.steps(None, 0, 0)])
    assert [a + b for a, b in zip(*sizes, strict=True)] == [2, 2, 2, 2, 2]
    assert sum(sizes[0]) == 3 and sum(sizes[1]) == 7


def test_empty_row_groups_are_skipped(tmp_path):
    pa = require("pyarrow", "the Parquet files are written with pyarrow")
    pq = require("pyarrow.parquet", "the Parquet files are written with pyarrow")
    X, y = problem(20)
    schema = pa.schema([(f"x{j}", pa.float64()) for j in range(5)] + [("y", pa.int64())])
    with pq.ParquetWriter(tmp_path / "t.parquet", schema) as writer:
        for a, b in ((0, 8), (8, 8), (8, 20)):
            writer.write_table(pa.table({**{f"x{j}": X[a:b, j] for j in range(5)},
                                         "y": y[a:b]}, schema=schema))
    source = ParquetSource(tmp_path / "t.parquet", target="y")
    assert source.block_sizes == [8, 12]
    np.testing.assert_array_equal(source.read(1)[0], X[8:20])
    history = network().fit(source, validation_data=source, **fit_kwargs())
    assert np.isfinite(history.val_loss).all()


def _write(path, array, *, fortran=False):
    np.save(path, np.asfortranarray(array) if fortran else array)
    return path


@pytest.mark.parametrize("case, match", [
    ("missing", "no such file for X"),
    ("truncated", "truncated"),
    ("fortran", "Fortran order"),
    ("rows", r"shape \(99,\).*100 rows"),
    ("text", "must hold numbers"),
    ("features", "has 6 features but the network's first layer expects 5"),
    ("nan", r"X.npy rows 51 to 100 contains NaN or inf \(first at row 61\)"),
    ("labels", r"X.npy rows \d+ to \d+ y has label \d outside the classes"),
])
def test_bad_npy_files_are_named(case, match, tmp_path):
    X, y = problem()
    xp, yp = tmp_path / "X.npy", tmp_path / "y.npy"
    _write(xp, X)
    _write(yp, y)
    if case == "missing":
        xp = tmp_path / "nothing.npy"
    elif case == "truncated":
        data = xp.read_bytes()
        xp.write_bytes(data[:-100])
    elif case == "fortran":
        _write(xp, X, fortran=True)
    elif case == "rows":
        _write(yp, y[:99])
    elif case == "text":
        _write(yp, y.astype(str))
    elif case == "features":
        _write(xp, np.hstack([X, X[:, :1]]))
    elif case == "nan":
        X[60, 2] = np.nan
        _write(xp, X)
    elif case == "labels":
        _write(yp, y + 7)
    with pytest.raises(ValueError, match=match):
        network().fit(NpySource(xp, yp, block_rows=50), **fit_kwargs())


def test_parquet_errors_name_the_column(tmp_path):
    pa = require("pyarrow", "the Parquet files are written with pyarrow")
    pq = require("pyarrow.parquet", "the Parquet files are written with pyarrow")
    pq.write_table(pa.table({"a": [1.0, 2.0], "colour": ["red", "blue"], "y": [0, 1],
                             "flag": [True, None]}), tmp_path / "t.parquet")
    with pytest.raises(ffbp.DataError, match="no target column 'label'"):
        ParquetSource(tmp_path / "t.parquet", target="label")
    source = ParquetSource(tmp_path / "t.parquet", target="y", features=["a", "colour"])
    with pytest.raises(ffbp.DataError, match="column 'colour' holds string"):
        source.read(0)
    source = ParquetSource(tmp_path / "t.parquet", target="y", features=["a", "flag"])
    with pytest.raises(ffbp.DataError, match="column 'flag' has 1 missing value"):
        source.read(0)
    with pytest.raises(ffbp.DataError, match="not a readable Parquet"):
        (tmp_path / "bad.parquet").write_text("hello")
        ParquetSource(tmp_path / "bad.parquet", target="y")


def test_a_source_takes_no_separate_targets(npy):
    X, y = problem()
    with pytest.raises(ffbp.ConfigError, match="y=None"):
        network().fit(NpySource(*npy), y, **fit_kwargs())
    with pytest.raises(ffbp.ConfigError, match="validation_split"):
        network().fit(NpySource(*npy), validation_split=0.2, **fit_kwargs())
    with pytest.raises(ffbp.ConfigError, match="fit needs targets y"):
        network().fit(X, **fit_kwargs())
    with pytest.raises(ffbp.ConfigError, match="block_rows"):
        NpySource(*npy, block_rows=0)
    with pytest.raises(ffbp.ConfigError, match="batch_size=None.*give a batch size"):
        network().fit(NpySource(*npy), **fit_kwargs(batch_size=None))
    with pytest.raises(ffbp.ShapeError, match="X has 100 rows but y has shape \\(3,\\)"):
        ArraySource(X, [0, 1, 0])
    assert ArraySource(X.tolist(), y.tolist()).n_samples == 100          # lists are fine


LIMITED_RUN = textwrap.dedent("""
    import resource, sys
    import numpy as np
    import ffbp
    from ffbp.data import NpySource

    xpath, ypath, headroom, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

    def network():
        return ffbp.Network([ffbp.Dense(64, 16), ffbp.ReLU(), ffbp.Dense(16, 1)], seed=3,
                            dtype=np.float64)

    # warm up everything a run touches (BLAS buffers, the optimiser), then cap the address
    # space at what the process already uses plus `headroom` bytes
    # (BLAS allocates its work buffers on the first product of a given size)
    network().fit(np.ones((512, 64)), np.zeros(512), optimizer=ffbp.optim.adam(1e-3),
                  epochs=1, batch_size=256, verbose=False)
    size = int(next(l for l in open("/proc/self/status") if l.startswith("VmSize")).split()[1])
    limit = size * 1024 + headroom
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:                                    # the limit bites: the file does not fit
        np.load(xpath)
        sys.exit("loading the whole file should have failed under the limit")
    except MemoryError:
        pass
    net = network()
    net.fit(NpySource(xpath, ypath, block_rows=8192), optimizer=ffbp.optim.adam(1e-3),
            epochs=1, batch_size=256, seed=5, verbose=False)
    np.save(out, net.flat_values)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="Linux only: the child's memory is capped with RLIMIT_AS and read "
                           "from /proc; CI runs on Linux, so it runs there")
def test_training_on_a_file_four_times_larger_than_the_memory_limit(tmp_path):
    """A 128 MiB float64 file trained on by a process whose address space may grow by only
    32 MiB beyond what it holds after start-up; the weights equal in-memory training on
    the same rows in the same block order."""
    headroom = 32 * 2**20
    n, d = 4 * headroom // (8 * 64), 64
    rng = np.random.default_rng(0)
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float64,
                                  shape=(n, d))
    for a in range(0, n, 65536):
        X[a:a + 65536] = rng.normal(size=(min(65536, n - a), d))
    X.flush()
    y = X[:, :3].sum(1) + 0.1 * rng.normal(size=n)
    np.save(tmp_path / "y.npy", y)
    assert os.path.getsize(tmp_path / "X.npy") >= 4 * headroom
    script = tmp_path / "limited.py"
    script.write_text(LIMITED_RUN)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "FFBP_NUMBA": "0"}
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "X.npy"),
                             str(tmp_path / "y.npy"), str(headroom), str(tmp_path / "w.npy")],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    limited = np.load(tmp_path / "w.npy")

    sizes = [8192] * (n // 8192) + ([n % 8192] if n % 8192 else [])
    order = block_order(5, 0, sizes)
    net = ffbp.Network([ffbp.Dense(64, 16), ffbp.ReLU(), ffbp.Dense(16, 1)], seed=3,
                       dtype=np.float64)
    net.fit(np.asarray(X)[order], y[order], optimizer=ffbp.optim.adam(1e-3), epochs=1,
            batch_size=256, shuffle=False, verbose=False)
    np.testing.assert_allclose(limited, net.flat_values, rtol=0, atol=1e-10)
