"""The bit-set KS-energy kernel (issue 14): exact against bctpy + scipy, and parallel across networks."""

import bct
import numpy as np
import pytest
from scipy.stats import ks_2samp

from mesoscale.metrics import KS_COLUMNS, ks_energy, network_statistics


def _random_graph(rng, n, p):
    A = np.triu(rng.random((n, n)) < p, 1)
    return A | A.T


def _graphs():
    rng = np.random.default_rng(14)
    out = []
    # sizes around the 64-node word boundary, sparse (disconnected) and dense graphs
    for n, p in [(3, 0.9), (63, 0.1), (64, 0.2), (65, 0.05), (129, 0.03), (200, 0.01), (302, 0.077)]:
        out.append(_random_graph(rng, n, p))
    n = 90  # a path: a BFS as deep as the graph
    P = np.zeros((n, n), bool)
    i = np.arange(n - 1)
    P[i, i + 1] = P[i + 1, i] = True
    out.append(P)
    out.append(np.zeros((10, 10), bool))
    return out


@pytest.mark.parametrize("A", _graphs(), ids=lambda A: f"n{A.shape[0]}m{int(A.sum()) // 2}")
def test_statistics_equal_bctpy_to_1e12(A):
    n = A.shape[0]
    D = np.random.default_rng(n).random((n, n))
    D = D + D.T
    np.fill_diagonal(D, 0)
    s = network_statistics(A, D)
    Af = A.astype(float)
    np.testing.assert_array_equal(s["degree"][0], bct.degrees_und(Af))
    np.testing.assert_allclose(s["clustering"][0], bct.clustering_coef_bu(Af), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s["betweenness"][0], bct.betweenness_bin(Af), rtol=1e-12, atol=1e-12)
    iu = np.triu_indices(n, 1)
    np.testing.assert_array_equal(s["edge_length"][0], D[iu][A[iu]])


def _assert_ks_equals_reference(E, nets, T, D):
    """Each network's four KS statistics equal scipy's ks_2samp on bctpy's degree, clustering and betweenness
    and on the edge lengths, to 1e-12."""
    iu = np.triu_indices(len(T), 1)

    def stats(M):
        Mf = M.astype(float)
        return (bct.degrees_und(Mf), bct.clustering_coef_bu(Mf), bct.betweenness_bin(Mf), D[iu][M[iu]])

    ts = stats(T)
    for b, M in enumerate(nets):
        ref = [ks_2samp(x, y).statistic for x, y in zip(stats(M), ts)]
        np.testing.assert_allclose(E[b, :4], ref, rtol=0, atol=1e-12)


def test_ks_energy_equals_bctpy_and_ks_2samp_to_1e12():
    rng = np.random.default_rng(3)
    n = 120
    T = _random_graph(rng, n, 0.08)
    xyz = rng.random((n, 3))
    D = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
    nets = np.stack([_random_graph(rng, n, p) for p in (0.02, 0.05, 0.08, 0.12)])
    E = ks_energy(nets, T, D)
    _assert_ks_equals_reference(E, nets, T, D)
    for b in range(len(nets)):
        assert E[b, KS_COLUMNS.index("energy")] == max(E[b, :4])


def test_n_jobs_gives_the_same_bits():
    rng = np.random.default_rng(5)
    n = 70
    T = _random_graph(rng, n, 0.1)
    D = rng.random((n, n))
    D = D + D.T
    np.fill_diagonal(D, 0)
    nets = np.stack([_random_graph(rng, n, 0.1) for _ in range(9)])
    serial = ks_energy(nets, T, D)
    for jobs in (2, 3, -1):
        np.testing.assert_array_equal(ks_energy(nets, T, D, n_jobs=jobs), serial)


@pytest.mark.parametrize("bad", [0, 1.5, "2"])
def test_bad_n_jobs_is_rejected(bad):
    A = np.zeros((4, 4), bool)
    with pytest.raises((ValueError, TypeError), match="n_jobs"):
        ks_energy(A, A, np.ones((4, 4)), n_jobs=bad)


def _connected_and_fragmented(rng, n):
    """A dense connected graph (its BFS levels are found bottom-up) and a fragmented one."""
    dense = _random_graph(rng, n, 0.3)
    parts = np.zeros((n, n), bool)
    for lo in range(0, n, 10):  # cliques of 10 minus a few edges, no edges between them
        block = _random_graph(rng, min(10, n - lo), 0.7)
        parts[lo : lo + block.shape[0], lo : lo + block.shape[0]] = block
    return dense, parts


@pytest.mark.parametrize("n", [40, 130])
def test_bottom_up_levels_and_fragments_equal_bctpy(n):
    rng = np.random.default_rng(n)
    D = rng.random((n, n))
    D = D + D.T
    for A in _connected_and_fragmented(rng, n):
        bet = network_statistics(A, D)["betweenness"][0]
        np.testing.assert_allclose(bet, bct.betweenness_bin(A.astype(float)), rtol=1e-12, atol=1e-12)


def test_tied_distances_and_integer_statistics_by_counts_equal_ks_2samp():
    """Degrees and edge lengths are compared by counts (no sort): ties must count as ks_2samp counts them."""
    rng = np.random.default_rng(8)
    n = 50
    D = np.abs(np.subtract.outer(np.arange(n), np.arange(n))).astype(float) % 7  # few distinct lengths
    T = _random_graph(rng, n, 0.1)
    iu = np.triu_indices(n, 1)
    nets = np.stack([_random_graph(rng, n, p) for p in (0.05, 0.1, 0.3)] + [np.zeros((n, n), bool)])
    E = ks_energy(nets, T, D)
    for b, A in enumerate(nets):
        assert E[b, 0] == pytest.approx(ks_2samp(A.sum(1), T.sum(1)).statistic, abs=1e-15)
        if A.any():
            assert E[b, 3] == pytest.approx(ks_2samp(D[iu][A[iu]], D[iu][T[iu]]).statistic, abs=1e-15)
        else:
            assert E[b, 3] == 1.0  # no edges against a target with edges
    assert ks_energy(np.zeros((n, n), bool), np.zeros((n, n), bool), D)[0, 3] == 0.0


def test_invalid_networks_are_named_and_the_target_is_prepared_by_value():
    rng = np.random.default_rng(9)
    n = 30
    D = rng.random((n, n))
    D = D + D.T
    T = _random_graph(rng, n, 0.2)
    good = _random_graph(rng, n, 0.2)
    lower = np.tril(good)  # entries (j, i), j > i, without their (i, j)
    loop = good.copy()
    loop[4, 4] = True
    with pytest.raises(ValueError, match=r"'networks'\[2\] is not symmetric"):
        ks_energy(np.stack([good, good, lower]), T, D, n_jobs=2)
    with pytest.raises(ValueError, match=r"networks\[1\]\[4,4\]"):
        ks_energy(np.stack([good, loop, lower]), T, D)
    # the prepared target is found by value: changing the array in place is seen
    first = ks_energy(good, T, D)
    T2 = T.copy()
    before = ks_energy(good, T2, D)
    T2[0, 1:] = T2[1:, 0] = ~T2[0, 1:]
    after = ks_energy(good, T2, D)
    assert np.array_equal(before, first)
    assert np.array_equal(after, ks_energy(good, T2.copy(), D)) and not np.array_equal(after, before)


def _components_graph(rng, n, sizes, p):
    """Random connected-ish blocks of the given sizes on shuffled labels (so components interleave,
    straddle 64-node words and the largest is not first), the rest isolated nodes."""
    A = np.zeros((n, n), bool)
    perm = rng.permutation(n)
    lo = 0
    for k in sizes:
        idx = perm[lo : lo + k]
        B = _random_graph(rng, k, p)
        path = np.arange(k - 1)  # a path through the block keeps it connected
        B[path, path + 1] = B[path + 1, path] = True
        A[np.ix_(idx, idx)] = B
        lo += k
    return A


@pytest.mark.parametrize("n, sizes, p", [
    (302, [30, 185, 3, 2, 2, 4, 1], 0.15),  # like a grown worm network: a giant, a second block, pairs
    (130, [2, 3, 70, 54, 1], 0.1),
    (200, [65, 65, 65, 3], 0.02),  # sparse blocks: deep levels
    (64, [64], 0.05),
    (90, [5] * 18, 0.5),
])
def test_components_isolated_nodes_and_pairs_equal_bctpy_and_networkx(n, sizes, p):
    """Betweenness is computed per connected component (3+ nodes, relabelled, largest first)."""
    import networkx as nx

    rng = np.random.default_rng(n + len(sizes))
    A = _components_graph(rng, n, [k for k in sizes if k], p)
    D = rng.random((n, n))
    D = D + D.T
    np.fill_diagonal(D, 0)
    bet = network_statistics(A, D)["betweenness"][0]
    np.testing.assert_allclose(bet, bct.betweenness_bin(A.astype(float)), rtol=1e-12, atol=1e-12)
    ref = nx.betweenness_centrality(nx.from_numpy_array(A.astype(int)), normalized=False)
    np.testing.assert_allclose(bet, 2 * np.array([ref[i] for i in range(n)]), rtol=1e-12, atol=1e-12)
    # the energy against a target of another shape, serial and threaded
    T = _components_graph(rng, n, [n // 2, 3, 2], p)
    nets = np.stack([A, T, _components_graph(rng, n, [n // 3, n // 3], p), np.zeros((n, n), bool)])
    E = ks_energy(nets, T, D)
    _assert_ks_equals_reference(E[:3], nets[:3], T, D)
    np.testing.assert_array_equal(ks_energy(nets, T, D, n_jobs=2), E)
