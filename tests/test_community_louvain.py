"""The numba Louvain engine reproduces bctpy 0.6.1's ``community_louvain`` bit for bit.

Every comparison calls ``bct.community_louvain`` and the compiled engine with the same
``RandomState`` seed and asks for identical labels (bctpy's raw 1..k numbering) and an identical
returned ``q`` (the same float: the same aggregated matrices and stopping decisions).
"""

from __future__ import annotations

import bct
import networkx as nx
import numpy as np
import pytest

from mesoscale import metrics as mm
from mesoscale.metrics import _louvain_kernels as lk
from mesoscale.metrics.community import _bct_modularity_matrix, _modularity_matrix
from mesoscale.theory import planted_partition

# ----------------------------------------------------------------------------- graphs


def planted(n, mu, mean_degree=10.0, q=None, seed=0):
    """Binary planted partition with ``q`` groups, mean degree ~``mean_degree``, mixing ``mu``."""
    q = q or max(2, n // 25)
    c_in = q * mean_degree * (1 - mu)
    c_out = q * mean_degree * mu / (q - 1)
    A, _ = planted_partition(n, q, min(c_in, n), c_out, seed=seed, sparse=False)
    return A.astype(float)


def weighted(A, seed, scale=1.0, directed=False):
    """Positive real weights on the edges of ``A`` (symmetric unless ``directed``)."""
    W = A * np.random.default_rng(seed).lognormal(0.0, 1.0, A.shape) * scale
    if directed:
        return W
    W = np.triu(W, 1)
    return W + W.T


def digraph(n, p, seed):
    rng = np.random.default_rng(seed)
    A = (rng.random((n, n)) < p).astype(float)
    np.fill_diagonal(A, 0)
    return A


def with_isolated(A, k):
    n = A.shape[0]
    M = np.zeros((n + k, n + k))
    M[k:, k:] = A  # isolated nodes first, so they are visited among the others
    return M


def sparse_few_edges(n=40):
    A = np.zeros((n, n))
    for i, j in [(0, 1), (5, 17), (17, 30), (22, 23)]:
        A[i, j] = A[j, i] = 1.0
    return A


KARATE = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
KARATE_W = nx.to_numpy_array(nx.karate_club_graph())

# (name, W, gamma, directed, seeds)
CASES = (
    [(f"karate-g{g}", KARATE, g, False, range(40)) for g in (0.5, 1.0, 2.0)]
    + [("karate-weighted", KARATE_W, 1.0, False, range(20)), ("karate-weighted-g2", KARATE_W, 2.0, False, range(10))]
    + [
        (f"planted-n{n}-mu{mu}", planted(n, mu, seed=n), 1.0, False, range(10))
        for n in (30, 60, 120)
        for mu in (0.1, 0.3, 0.5)
    ]
    + [(f"planted-n400-mu{mu}", planted(400, mu, 12.0, seed=4), 1.0, False, range(4)) for mu in (0.2, 0.45)]
    + [(f"planted-n100-g{g}", planted(100, 0.25, seed=7), g, False, range(10)) for g in (0.5, 2.0)]
    # lognormal weights: k_out and k_in differ in their last bits, so B is not exactly symmetric
    + [("weighted-n100", weighted(planted(100, 0.3, seed=8), 1), 1.0, False, range(20))]
    + [("weighted-n100-g0.5", weighted(planted(100, 0.3, seed=9), 2), 0.5, False, range(10))]
    # total weight below 1: bctpy's first q is divided by s, later ones are not
    + [("small-weights", weighted(planted(80, 0.3, seed=10), 3, scale=1e-4), 1.0, False, range(20))]
    + [(f"directed-g{g}", digraph(60, 0.1, 11), g, True, range(15)) for g in (1.0, 2.0)]
    + [("directed-weighted", weighted(digraph(50, 0.15, 12), 4, directed=True), 1.0, True, range(15))]
    + [("isolated", with_isolated(planted(50, 0.2, seed=13), 10), 1.0, False, range(20))]
    + [("complete", np.ones((20, 20)) - np.eye(20), 1.0, False, range(10))]
    + [("few-edges", sparse_few_edges(), 1.0, False, range(10))]
)
PAIRS = [(name, seed) for name, _, _, _, seeds in CASES for seed in seeds]
BY_NAME = {name: (W, gamma, directed) for name, W, gamma, directed, _ in CASES}


def reference(W, gamma, directed, seed):
    """bctpy itself, given the matrix louvain_partitions gives it."""
    B = _modularity_matrix(W, gamma).tolist() if directed else "modularity"
    return bct.community_louvain(W, gamma=gamma, B=B, seed=np.random.RandomState(seed))


def compiled(W, gamma, directed, seed):
    B = _modularity_matrix(W, gamma) if directed else _bct_modularity_matrix(W, gamma)
    return lk.louvain(B, np.sum(W), np.random.RandomState(seed))


def test_case_list_is_large_and_varied():
    assert len(PAIRS) >= 300
    B = _bct_modularity_matrix(BY_NAME["weighted-n100"][0], 1.0)
    assert not np.array_equal(B, B.T)  # the asymmetric-B path of the kernel is exercised
    assert np.sum(BY_NAME["small-weights"][0]) < 1.0


@pytest.mark.parametrize("name", list(BY_NAME))
def test_identical_to_bctpy(name):
    W, gamma, directed = BY_NAME[name]
    seeds = next(seeds for n, _, _, _, seeds in CASES if n == name)
    for seed in seeds:
        ci, q = compiled(W, gamma, directed, seed)
        ref_ci, ref_q = reference(W, gamma, directed, seed)
        assert np.array_equal(ci, ref_ci), (name, seed)
        assert q == ref_q or (np.isnan(q) and np.isnan(ref_q)), (name, seed, q, ref_q)


def test_unsymmetrised_directed_matrix_matches_bctpy_including_its_failure():
    # bctpy 0.6.1 on a digraph with B="modularity" keeps the asymmetric B; the kernels follow it
    # there too: the same partitions where it converges, an error where it gives up
    same = failed = 0
    for seed in range(6):
        A = digraph(30, 0.2, seed)
        B = _bct_modularity_matrix(A, 1.0)
        try:
            ref = bct.community_louvain(A, seed=np.random.RandomState(seed))
        except bct.BCTParamError:
            with pytest.raises(RuntimeError, match="did not converge"):
                lk.louvain(B, np.sum(A), np.random.RandomState(seed))
            failed += 1
            continue
        ci, q = lk.louvain(B, np.sum(A), np.random.RandomState(seed))
        assert np.array_equal(ci, ref[0]) and q == ref[1]
        same += 1
    assert failed >= 1 and same >= 1


# ----------------------------------------------------------------------------- the pieces


def test_numpy_sum_bit_for_bit():
    rng = np.random.default_rng(0)
    bufsize = np.getbufsize()
    lengths = list(range(2001)) + [8191, 8192, 8193, 3 * 8192 + 5, 40000]
    for n in lengths:
        a = rng.standard_normal(n) * 10.0 ** rng.integers(-6, 7, n)
        assert lk.numpy_sum(a, bufsize) == np.sum(a), n
    # plain pairwise summation (no chunks) differs from np.sum above the buffer size
    a = rng.standard_normal(40000) * 10.0 ** rng.integers(-6, 7, 40000)
    assert lk.numpy_sum(a, 10**9) != np.sum(a)


def test_aggregate_equals_bctpy_pooling():
    rng = np.random.default_rng(1)
    for trial in range(40):
        n = int(rng.integers(1, 260))
        B = rng.standard_normal((n, n)) * 10.0 ** rng.integers(-3, 4, (n, n))
        k = int(rng.integers(1, n + 1))
        Mb = np.sort(rng.integers(0, k, n)) if trial % 2 else rng.integers(0, k, n)
        Mb = np.unique(Mb, return_inverse=True)[1].astype(np.int64)
        k = int(Mb.max()) + 1
        b1 = lk.aggregate(B, Mb, k, np.getbufsize())
        ref = np.zeros((k, k))
        for i in range(k):
            for j in range(i, k):
                ref[i, j] = ref[j, i] = np.sum(B[np.ix_(Mb == i, Mb == j)])
        assert np.array_equal(b1, ref), trial


def test_relabel_sorted_is_numpy_unique_inverse():
    rng = np.random.default_rng(2)
    for n in (1, 2, 7, 100):
        Mb = rng.integers(0, n, n).astype(np.int64)
        out, k = lk.relabel_sorted(Mb)
        uniq, inv = np.unique(Mb, return_inverse=True)
        assert np.array_equal(out, inv) and k == uniq.size


def old_modularity(M, p, gamma):
    """metrics.modularity as it was before the kernel (np.add.at), written out."""
    k = p.max() + 1
    E = np.zeros((k, k))
    np.add.at(E, (p[:, None], p[None, :]), M)
    expected = np.dot(np.bincount(p, weights=M.sum(axis=1), minlength=k),
                      np.bincount(p, weights=M.sum(axis=0), minlength=k))
    return float((np.trace(E) - gamma * expected / M.sum()) / M.sum())


def test_module_weights_and_modularity_unchanged_bit_for_bit():
    rng = np.random.default_rng(3)
    for trial in range(30):
        n = int(rng.integers(2, 300))
        M = rng.lognormal(0, 2, (n, n)) * (rng.random((n, n)) < 0.3)
        M[0, 1] = 1.0
        p = mm.relabel(rng.integers(0, int(rng.integers(1, n + 1)), n))
        E = np.zeros((p.max() + 1,) * 2)
        np.add.at(E, (p[:, None], p[None, :]), M)
        assert np.array_equal(lk.module_weights(M, p, p.max() + 1), E), trial
        gamma = float(rng.choice([0.5, 1.0, 2.0]))
        assert mm.modularity(M, p, gamma) == old_modularity(M, p, gamma), trial


def test_is_symmetric_across_tiles():
    rng = np.random.default_rng(4)
    for n in (1, 2, 63, 64, 65, 130):
        X = rng.random((n, n))
        X = X + X.T
        assert lk.is_symmetric(X)
        for i, j in rng.integers(0, n, (10, 2)):
            if i != j:
                Y = X.copy()
                Y[i, j] = np.nextafter(Y[i, j], 10.0)
                assert not lk.is_symmetric(Y), (n, i, j)


def test_driver_rejects_non_finite_matrix():
    B = np.zeros((3, 3))
    B[0, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        lk.louvain(B, 1.0, np.random.RandomState(0))


# ----------------------------------------------------------------------------- public API


def old_louvain_partitions(A, n_runs, gamma, seed, directed):
    """louvain_partitions as it was before the numba engine (bctpy only), written out."""
    rng = np.random.default_rng(seed)
    B = _modularity_matrix(A, gamma).tolist() if directed else "modularity"
    parts = []
    for _ in range(n_runs):
        ci, _ = bct.community_louvain(A, gamma=gamma, B=B, seed=np.random.RandomState(int(rng.integers(0, 2**32 - 1))))
        parts.append(mm.relabel(ci))
    parts = np.array(parts)
    return parts, np.array([mm.modularity(A, p, gamma) for p in parts])


@pytest.mark.parametrize(
    "name", ["karate-g1.0", "weighted-n100", "directed-g2.0", "isolated", "planted-n120-mu0.3", "small-weights"]
)
def test_engines_agree_and_bctpy_engine_unchanged(name):
    W, gamma, directed = BY_NAME[name]
    old = old_louvain_partitions(W, 6, gamma, 5, directed)
    ref = mm.louvain_partitions(W, 6, gamma, seed=5, engine="bctpy")
    new = mm.louvain_partitions(W, 6, gamma, seed=5)
    for a, b in ((old, ref), (ref, new)):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_best_and_consensus_pass_engine_through():
    W = BY_NAME["planted-n60-mu0.3"][0]
    assert mm.best_partition(W, 5, seed=3, engine="bctpy")[1] == mm.best_partition(W, 5, seed=3)[1]
    a = mm.consensus_communities(W, 8, seed=4, engine="bctpy")
    b = mm.consensus_communities(W, 8, seed=4, engine="numba")
    assert np.array_equal(a[0], b[0]) and a[1] == b[1] and np.array_equal(a[2], b[2])


def test_same_seed_same_bits():
    W = BY_NAME["weighted-n100"][0]
    a = mm.louvain_partitions(W, 5, seed=9)
    b = mm.louvain_partitions(W, 5, seed=np.random.SeedSequence(9))
    c = mm.louvain_partitions(W, 5, seed=10)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("engine", ["numpy", "", None, "BCTPY"])
def test_bad_engine(engine):
    with pytest.raises(ValueError, match="engine"):
        mm.louvain_partitions(KARATE, 2, seed=0, engine=engine)
    with pytest.raises(ValueError, match="engine"):
        mm.best_partition(KARATE, 2, seed=0, engine=engine)


@pytest.mark.parametrize("engine", ["numba", "bctpy"])
def test_bad_inputs_raise_with_either_engine(engine):
    with pytest.raises(ValueError, match="gamma"):
        mm.louvain_partitions(KARATE, 2, gamma=-1.0, engine=engine)
    with pytest.raises(ValueError, match="n_runs"):
        mm.louvain_partitions(KARATE, 0, engine=engine)
    with pytest.raises(ValueError, match="no edges"):
        mm.louvain_partitions(np.zeros((5, 5)), 2, engine=engine)
    with pytest.raises(ValueError):
        mm.louvain_partitions(-KARATE, 2, engine=engine)
    bad = KARATE.copy()
    bad[0, 1] = np.inf
    with pytest.raises(ValueError):
        mm.louvain_partitions(bad, 2, engine=engine)
