"""scipy sparse X (CSR, CSC) through the public API: the same numbers as the dense X, and the
data set is never made dense."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import ffbp
import ffbp.network

FORMATS = {
    "csr": sp.csr_matrix, "csc": sp.csc_matrix, "csr_array": sp.csr_array,
    "coo": sp.coo_matrix,
}


def _data(n=60, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.2, format="csr", random_state=seed, dtype=np.float64)
    X.data = rng.normal(size=X.nnz)       # signed values, not only [0, 1)
    return X, rng


def _classifier(d, seed=1):
    net = ffbp.Network([ffbp.Dense(d, 8), ffbp.ReLU(), ffbp.Dense(8, 3), ffbp.Softmax()],
                       seed=seed, dtype=np.float64)
    return net, "cross_entropy"


def _regressor(d, seed=1):
    net = ffbp.Network([ffbp.Dense(d, 6), ffbp.Tanh(), ffbp.Dense(6, 2)],
                       seed=seed, dtype=np.float64)
    return net, "mse"


def _targets(kind, rng, n):
    return rng.integers(0, 3, size=n) if kind == "classifier" else rng.normal(size=(n, 2))


NETS = {"classifier": _classifier, "regressor": _regressor}


def _close(a, b, tol=1e-12):
    """Equal up to rounding: |a − b| <= tol · max|b| (summation order differs)."""
    scale = max(np.abs(b).max(initial=0.0), 1.0)
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", NETS)
def test_forward_and_gradients_match_dense(kind, fmt):
    X, rng = _data()
    Xd = X.toarray()
    Xs = FORMATS[fmt](X)
    net, loss = NETS[kind](X.shape[1])
    T = _targets(kind, rng, X.shape[0])
    w = rng.uniform(0.5, 2.0, size=X.shape[0])

    _close(net.forward(Xs), net.forward(Xd))
    dense_value = net.compute_gradients(Xd, T, loss, sample_weight=w)
    dense_grads = net.flat_grads.copy()
    net.zero_grad()
    sparse_value = net.compute_gradients(Xs, T, loss, sample_weight=w)
    assert sparse_value == pytest.approx(dense_value, rel=1e-12)
    _close(net.flat_grads, dense_grads)
    # the gradients stay views of the flat buffer (written in place, not rebound)
    assert np.shares_memory(net.layers[0].W.grad, net.flat_grads)


def test_backward_returns_no_input_gradient_for_sparse_x():
    X, rng = _data()
    net, _ = _regressor(X.shape[1])
    dY = rng.normal(size=(X.shape[0], 2))
    net.forward(X.toarray())
    assert net.backward(dY).shape == X.shape
    dense_grads = net.flat_grads.copy()
    net.forward(X)
    assert net.backward(dY) is None
    _close(net.flat_grads, dense_grads)


def test_float32_network_casts_only_the_values():
    X, _ = _data()
    net, _ = _classifier(X.shape[1])
    net32 = net.astype(np.float32)
    Y = net32.forward(X)                          # X is float64: its values become float32
    assert Y.dtype == np.float32
    np.testing.assert_allclose(Y, net.forward(X), rtol=1e-5, atol=1e-6)
    assert X.dtype == np.float64                  # the caller's matrix is untouched


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_predict_and_predict_proba_match_dense(fmt, monkeypatch):
    X, rng = _data(n=50)
    net, loss = _classifier(X.shape[1])
    net.fit(X.toarray(), rng.integers(0, 3, size=50), loss=loss, epochs=2, seed=0,
            verbose=False)
    Xs = FORMATS[fmt](X)
    monkeypatch.setattr(ffbp.network, "PREDICT_CHUNK", 16)     # several chunks
    np.testing.assert_array_equal(net.predict(Xs), net.predict(X.toarray()))
    _close(net.predict_proba(Xs), net.predict_proba(X.toarray()))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("kind", NETS)
def test_fit_matches_dense(kind, fmt):
    X, rng = _data(n=90)
    T = _targets(kind, rng, 90)
    w = rng.uniform(0.2, 3.0, size=90)
    Xv, _ = _data(n=20, seed=5)
    Tv = _targets(kind, rng, 20)
    runs = []
    for Xa, Xva in ((X.toarray(), Xv.toarray()), (FORMATS[fmt](X), FORMATS[fmt](Xv))):
        net, loss = NETS[kind](X.shape[1])
        history = net.fit(Xa, T, loss=loss, optimizer=ffbp.optim.adam(0.01), epochs=4,
                          batch_size=16, shuffle=True, sample_weight=w,
                          validation_data=(Xva, Tv), seed=3, verbose=False)
        runs.append((net.flat_values.copy(), history))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-10, atol=1e-10)
    for key in runs[0][1].metrics:
        np.testing.assert_allclose(runs[1][1].metrics[key], runs[0][1].metrics[key],
                                   rtol=1e-10)


def test_fit_with_validation_split_matches_dense():
    X, rng = _data(n=80)
    y = rng.integers(0, 3, size=80)
    finals = []
    for Xa in (X.toarray(), X.tocsc()):
        net, loss = _classifier(X.shape[1])
        history = net.fit(Xa, y, loss=loss, epochs=3, batch_size=10, validation_split=0.25,
                          seed=7, verbose=False)
        finals.append((net.flat_values.copy(), history.val_loss))
    np.testing.assert_allclose(finals[1][0], finals[0][0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(finals[1][1], finals[0][1], rtol=1e-10)


def test_fit_never_densifies(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError("the sparse data set was made dense")

    for cls in (sp.csr_matrix, sp.csc_matrix):
        for name in ("toarray", "todense"):
            monkeypatch.setattr(cls, name, refuse)
    X, rng = _data(n=64)
    net, loss = _classifier(X.shape[1])
    net.fit(X.tocsc(), rng.integers(0, 3, size=64), loss=loss, epochs=2, batch_size=8,
            validation_split=0.2, seed=0, verbose=False)
    net.predict_proba(X)
    ffbp.gradcheck(net, loss, X[:5], rng.integers(0, 3, size=5))


def test_huge_feature_count_trains_without_a_dense_copy():
    # 400 rows x 1,000,000 features: 3.2 GB as a dense float64 array, 48 KB as CSR.
    n, d, nnz = 400, 1_000_000, 4000
    rng = np.random.default_rng(0)
    X = sp.csr_matrix((rng.normal(size=nnz), (rng.integers(0, n, nnz),
                                              rng.integers(0, d, nnz))), shape=(n, d))
    y = rng.integers(0, 2, size=n)
    net = ffbp.Network([ffbp.Dense(d, 2), ffbp.Softmax()], dtype=np.float64)
    tracemalloc.start()
    try:
        net.fit(X, y, loss="cross_entropy", epochs=2, batch_size=100, seed=0, verbose=False)
        net.predict(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # W and its gradient are 16 MB each; a dense X, or a dense ∂E/∂X, would be 3.2 GB
    assert peak < 200e6, f"peak {peak / 1e6:.0f} MB"


def test_gradcheck_accepts_sparse_x():
    # tanh, not ReLU: an all-zero row with zero biases sits exactly on ReLU's kink
    X, rng = _data(n=8, d=6)
    net, loss = _regressor(6)
    report = ffbp.gradcheck(net, loss, X, rng.normal(size=(8, 2)))
    assert "X" not in report.relative_error      # no input gradient for sparse X
    assert report.passed(1e-6), str(report)


def test_other_formats_and_integer_data_are_accepted():
    X, rng = _data()
    Xi = sp.coo_matrix((np.rint(X.data * 3).astype(np.int64), X.nonzero()), shape=X.shape)
    net, _ = _regressor(X.shape[1])
    _close(net.forward(Xi), net.forward(Xi.toarray()))


def test_sparse_into_a_network_not_starting_with_dense_is_refused():
    X, _ = _data()
    net = ffbp.Network([ffbp.Dropout(0.1), ffbp.Dense(X.shape[1], 2)], dtype=np.float64)
    with pytest.raises(ffbp.ConfigError, match="Dense") as info:
        net.forward(X)
    assert "\n" not in str(info.value)
    with pytest.raises(ffbp.ConfigError, match="sparse"):
        net.fit(X, np.zeros((X.shape[0], 2)), epochs=1, verbose=False)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_sparse_data_is_refused(fmt, bad):
    X, rng = _data()
    X = X.tolil()
    X[17, 3] = bad
    X[41, 0] = bad
    X = FORMATS[fmt](X)
    net, loss = _classifier(X.shape[1])
    y = rng.integers(0, 3, size=X.shape[0])
    with pytest.raises(ffbp.DataError, match=r"^X contains NaN or inf \(first at row 18\)"):
        net.forward(X)
    with pytest.raises(ffbp.DataError, match="^X contains NaN"):
        net.fit(X, y, loss=loss, epochs=1, verbose=False)
    with pytest.raises(ffbp.DataError, match="^validation X contains NaN"):
        net.fit(X[:5].toarray(), y[:5], loss=loss, epochs=1, validation_data=(X, y),
                verbose=False)


def test_sparse_shape_errors():
    X, _ = _data()
    net, _ = _regressor(X.shape[1] + 1)
    with pytest.raises(ffbp.ShapeError, match="features"):
        net.forward(X)
    with pytest.raises(ffbp.DataError, match="empty"):
        net.forward(sp.csr_matrix((0, X.shape[1] + 1)))


def test_tools_without_sparse_support_say_so():
    X, rng = _data(n=4)
    net, loss = _classifier(X.shape[1])
    with pytest.raises(ffbp.DataError, match="sparse"):
        net.trace(X, rng.integers(0, 3, size=4), loss)
