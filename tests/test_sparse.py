"""The exact sparse sptl sampler (generative.sparse) and the sparse modularity tools (metrics.sparse)."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from mesoscale.generative import edges_to_sparse, generate, sptl_edges
from mesoscale.metrics import (
    best_partition,
    distance_matrix,
    modularity,
    sparse_best_partition,
    sparse_degree_swaps,
    sparse_modularity,
    sparse_modularity_significance,
)
from mesoscale.metrics.calibration import erdos_renyi


def _points(n, seed=0, dim=2):
    return np.random.default_rng(seed).random((n, dim))


# --------------------------------------------------------------------------- the exponential race = the engine's law
@pytest.mark.parametrize("model_var, eta", [("powerlaw", -2.0), ("exponential", -6.0), ("powerlaw", 1.5)])
def test_sparse_sampler_has_the_engine_law(model_var, eta):
    X = _points(16, 3)
    D = distance_matrix(X)
    n, m, N = 16, 30, 4000
    iu = np.triu_indices(n, 1)
    E = sptl_edges(X, m, eta, model_var, n_networks=N, seed=1)
    f_sparse = np.zeros((n, n))
    for net in E:
        f_sparse[net[:, 0], net[:, 1]] += 1
    f_sparse = f_sparse[iu] / N
    f_engine = generate(D, m, "sptl", eta, model_var=(model_var, "powerlaw"), n_networks=N, seed=2).mean(axis=0)[iu]
    # two binomial proportions per pair: their difference over its standard error is ~ N(0, 1)
    pooled = (f_sparse + f_engine) / 2
    ok = (pooled > 0.01) & (pooled < 0.99)
    zz = (f_sparse - f_engine)[ok] / np.sqrt(2 * pooled[ok] * (1 - pooled[ok]) / N)
    assert np.mean(zz**2) < 1.4 and np.abs(zz).max() < 5
    # the first edge is drawn with probability w / sum(w), exactly
    w = np.exp(eta * D[iu]) if model_var == "exponential" else D[iu] ** eta
    first = E[:, 0, 0] * n + E[:, 0, 1]
    keys = iu[0] * n + iu[1]
    counts = np.array([(first == k).sum() for k in keys])
    expected = N * w / w.sum()
    big = expected > 5
    chi2 = np.sum((counts[big] - expected[big]) ** 2 / expected[big])
    assert stats.chi2.sf(chi2, big.sum() - 1) > 1e-3
    # the test can fail: the opposite kernel gives other frequencies
    wrong = generate(D, m, "sptl", -eta, model_var=(model_var, "powerlaw"), n_networks=500, seed=3).mean(axis=0)[iu]
    assert np.abs(f_sparse - wrong).max() > 0.2


def test_sparse_sampler_shape_seed_and_blocks():
    X = _points(40, 1, dim=3)
    E = sptl_edges(X, 100, -3.0, n_networks=3, seed=7)
    assert E.shape == (3, 100, 2) and E.dtype == np.int64
    assert np.all(E[..., 0] < E[..., 1])
    for net in E:
        assert len({tuple(e) for e in net.tolist()}) == 100
    assert np.array_equal(E, sptl_edges(X, 100, -3.0, n_networks=3, seed=7))
    assert not np.array_equal(E, sptl_edges(X, 100, -3.0, n_networks=3, seed=8))
    # every pair: all of them, and the steepest kernel picks the shortest pairs first
    full = sptl_edges(X, 780, -3.0, seed=0)[0]
    assert len({tuple(e) for e in full.tolist()}) == 780
    steep = sptl_edges(X, 5, -20000.0, "exponential", seed=0)[0]
    d = np.linalg.norm(X[:, None] - X[None], axis=-1)[np.triu_indices(40, 1)]
    assert np.allclose(np.sort(np.linalg.norm(X[steep[:, 0]] - X[steep[:, 1]], axis=1)), np.sort(d)[:5])
    # small blocks give the same law (here: the same shortest pairs for a steep kernel)
    tiny = sptl_edges(X, 5, -20000.0, "exponential", seed=0, block=3)[0]
    assert {tuple(e) for e in tiny.tolist()} == {tuple(e) for e in steep.tolist()}
    # coincident points are floored as in the engine: they connect first with a steep powerlaw
    Y = np.vstack([X, X[:1]])
    assert tuple(sptl_edges(Y, 1, -6.0, seed=0)[0, 0]) == (0, 40)


def test_sparse_sampler_validation():
    X = _points(10)
    with pytest.raises(ValueError, match="'m'"):
        sptl_edges(X, 46, -1.0)
    with pytest.raises(ValueError, match="'positions'"):
        sptl_edges(X[:, 0], 5, -1.0)
    with pytest.raises(ValueError, match="'eta'"):
        sptl_edges(X, 5, float("nan"))
    with pytest.raises(ValueError, match="'model_var'"):
        sptl_edges(X, 5, -1.0, "gaussian")
    with pytest.raises(ValueError, match="'edges'"):
        edges_to_sparse([[0, 0]], 3)
    with pytest.raises(ValueError, match="'edges'"):
        edges_to_sparse([[0, 1], [1, 0]], 3)
    with pytest.raises(ValueError, match="'edges'"):
        edges_to_sparse([[0, 5]], 3)


# --------------------------------------------------------------------------- sparse modularity tools
def test_sparse_modularity_and_louvain_agree_with_dense():
    rng = np.random.default_rng(0)
    X = rng.random((300, 2))
    A = edges_to_sparse(sptl_edges(X, 900, -4.0, seed=1)[0], 300)
    dense = A.toarray()
    part = (X[:, 0] > 0.5).astype(int) + 2 * (X[:, 1] > 0.5)
    assert sparse_modularity(A, part) == pytest.approx(modularity(dense, part), abs=1e-12)
    p_s, q_s = sparse_best_partition(A, n_runs=3, seed=0)
    p_d, q_d = best_partition(dense, n_runs=3, seed=0)
    assert q_s == pytest.approx(modularity(dense, p_s), abs=1e-12)
    assert abs(q_s - q_d) < 0.02
    assert np.array_equal(p_s, sparse_best_partition(A, n_runs=3, seed=0)[0])


def test_sparse_degree_swaps_keep_degrees_and_randomise():
    A = sp.csr_array(erdos_renyi(200, 600, seed=3))
    R = sparse_degree_swaps(A, 10, seed=0)
    deg = np.asarray(A.sum(axis=1)).ravel()
    assert np.array_equal(np.asarray(R.sum(axis=1)).ravel(), deg)
    assert R.diagonal().sum() == 0 and (R != R.T).nnz == 0 and R.max() == 1
    assert (R.multiply(A)).sum() / A.sum() < 0.1  # almost every edge moved
    # a star admits no swap: returned unchanged
    S = np.zeros((6, 6)); S[0, 1:] = S[1:, 0] = 1
    assert (sparse_degree_swaps(S, 5, seed=0) != sp.csr_array(S)).nnz == 0


def test_sparse_significance_separates_modules_from_noise():
    blocks = np.kron(np.eye(4), np.ones((15, 15))) - np.eye(60)
    rng = np.random.default_rng(0)
    keep = np.triu(rng.random((60, 60)) < 0.5, 1)
    A = np.where(keep | keep.T, blocks, 0)
    for a in range(4):
        A[15 * a, (15 * a + 15) % 60] = A[(15 * a + 15) % 60, 15 * a] = 1
    t = sparse_modularity_significance(A, n_null=8, n_runs=2, seed=0)
    assert t.delta_low > 0.1 and t.z > 3 and t.p_value == pytest.approx(1 / 9)
    assert t.n_components == 1 and not t.fragmented
    noise = sparse_modularity_significance(erdos_renyi(120, 360, seed=1), n_null=8, n_runs=2, seed=0)
    assert abs(noise.delta) < 0.03 and noise.delta_low < 0 < noise.delta_high + 0.02
    with pytest.raises(ValueError, match="'A'"):
        sparse_modularity(np.ones((3, 3)), [0, 0, 1])
    with pytest.raises(ValueError, match="'partition'"):
        sparse_modularity(blocks, [0, 1])
