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


def test_ks_energy_equals_bctpy_and_ks_2samp_to_1e12():
    rng = np.random.default_rng(3)
    n = 120
    T = _random_graph(rng, n, 0.08)
    xyz = rng.random((n, 3))
    D = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
    nets = np.stack([_random_graph(rng, n, p) for p in (0.02, 0.05, 0.08, 0.12)])
    E = ks_energy(nets, T, D)
    iu = np.triu_indices(n, 1)

    def stats(A):
        Af = A.astype(float)
        return (bct.degrees_und(Af), bct.clustering_coef_bu(Af), bct.betweenness_bin(Af), D[iu][A[iu]])

    ts = stats(T)
    for b, A in enumerate(nets):
        ref = [ks_2samp(x, y).statistic for x, y in zip(stats(A), ts)]
        np.testing.assert_allclose(E[b, :4], ref, rtol=0, atol=1e-12)
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
