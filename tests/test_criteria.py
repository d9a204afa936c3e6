"""Tests of the weighted statistics and fit criteria (mesoscale.metrics.weighted, mesoscale.metrics.criteria)."""

from __future__ import annotations

import bct
import numpy as np
import pandas as pd
import pytest

from mesoscale.generative import fit, generate, voronoi_draw
from mesoscale.metrics import (
    CRITERIA,
    Criterion,
    ks_energy,
    ks_statistic,
    network_statistics,
    topological_fingerprint,
    weighted_ks_energy,
    weighted_ks_statistic,
    weighted_statistics,
)


def _weighted(n, p, seed):
    rng = np.random.default_rng(seed)
    A = np.triu(rng.random((n, n)) < p, 1)
    A = A | A.T
    W = np.triu(A * rng.uniform(0.05, 3.0, (n, n)), 1)
    return A, W + W.T


def _D(n, seed=0):
    xy = np.random.default_rng(seed).random((n, 3))
    return np.linalg.norm(xy[:, None] - xy[None], axis=-1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_statistics_match_bctpy(seed):
    A, W = _weighted(40, 0.15, seed)
    s = weighted_statistics(W, _D(40))
    Wn = W / W.max()
    L = np.zeros_like(Wn)
    L[Wn > 0] = 1.0 / Wn[Wn > 0]
    np.testing.assert_allclose(s["betweenness"][0], bct.betweenness_wei(L), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(s["clustering"][0], bct.clustering_coef_wu(Wn), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(s["strength"][0], bct.strengths_und(Wn), rtol=1e-12)


def test_equal_weights_give_the_binary_statistics_and_energy():
    """Tied shortest paths and unit weights: the weighted energy contains the binary one."""
    D = _D(30, seed=4)
    A, _ = _weighted(30, 0.2, 5)
    B = np.stack([_weighted(30, 0.25, s)[0] for s in range(6, 10)])
    s, b = weighted_statistics(A * 7.0, D), network_statistics(A, D)
    np.testing.assert_allclose(s["betweenness"], b["betweenness"], rtol=1e-9)
    np.testing.assert_allclose(s["clustering"], b["clustering"], atol=1e-15)
    np.testing.assert_allclose(s["strength"], b["degree"])
    np.testing.assert_allclose(weighted_ks_energy(B * 2.5, A * 7.0, D), ks_energy(B, A, D), atol=1e-12)


def test_weighted_ks_statistic():
    x, y = np.random.default_rng(0).random((2, 50))
    assert weighted_ks_statistic(x, y) == ks_statistic(x, y)
    assert weighted_ks_statistic(x, y, np.full(50, 3.0), np.full(50, 0.1)) == pytest.approx(ks_statistic(x, y))
    # weights move the distribution: all the weight on the largest value of x
    w = np.zeros(50)
    w[np.argmax(x)] = 1.0
    assert weighted_ks_statistic(x, x, w, None) == pytest.approx(1 - 1 / 50)
    assert weighted_ks_statistic([], []) == 0.0 and weighted_ks_statistic([1.0], []) == 1.0
    with pytest.raises(ValueError, match="one weight per value"):
        weighted_ks_statistic([1.0, 2.0], [1.0], [1.0], None)


@pytest.mark.parametrize("name", list(CRITERIA))
def test_every_criterion_scores_the_target_zero_and_others_above(name):
    A, W = _weighted(30, 0.2, 1)
    D = _D(30, seed=2)
    crit = Criterion(name, W, D)
    assert crit.columns == CRITERIA[name]
    others = [_weighted(30, 0.2, s) for s in range(3, 6)]
    nets = np.stack([A] + [o[0] for o in others])
    weights = np.stack([W] + [o[1] for o in others])
    out = crit(nets, weights)
    assert out.shape == (4, len(crit.columns))
    np.testing.assert_allclose(out[0], 0.0, atol=1e-12)
    assert np.all(out[1:, -1] > 0.01) and np.all((out >= 0) & (out <= 1))


def test_ks_criterion_is_ks_energy_and_combinations():
    A, W = _weighted(25, 0.2, 1)
    D = _D(25)
    B = np.stack([_weighted(25, 0.2, s)[0] for s in range(2, 6)])
    assert np.array_equal(Criterion("ks", W, D)(B), ks_energy(B, A, D))
    both = Criterion(["ks", "correlation"], W, D, combine="max")
    mean = Criterion(["ks", "correlation"], W, D, combine="mean")
    x, y = both(B), mean(B)
    assert both.columns[-3:] == ("energy_ks", "energy_correlation", "energy")
    np.testing.assert_allclose(x[:, -1], np.maximum(x[:, -3], x[:, -2]))
    np.testing.assert_allclose(y[:, -1], 0.5 * (y[:, -3] + y[:, -2]))
    with pytest.raises(ValueError, match="'criterion' must be one of"):
        Criterion("likelihood", W, D)
    with pytest.raises(ValueError, match="'combine' must be one of"):
        Criterion(["ks", "fingerprint"], W, D, combine="sum")
    with pytest.raises(ValueError, match="not an edge"):
        Criterion("weighted_ks", W, D)(A, W + np.eye(25)[::-1] * 0 + (1 - A - np.eye(25)) * 0.5)


def test_correlation_is_node_aligned_and_the_fingerprint_is_not():
    """A relabelled copy of the target has the same distributions and fingerprint, not the same hubs."""
    A, W = _weighted(40, 0.15, 3)
    D = _D(40, seed=5)
    perm = np.random.default_rng(0).permutation(40)
    Ap = A[np.ix_(perm, perm)]
    fp = Criterion("fingerprint", W, np.ones((40, 40)) - np.eye(40))(Ap)  # constant distances: wiring ~ degree
    corr = Criterion("correlation", W, np.ones((40, 40)) - np.eye(40))(Ap)
    assert fp[0, -1] == pytest.approx(0.0, abs=1e-12)
    assert corr[0, 0] > 0.3  # degrees no longer on the same nodes
    assert Criterion("ks", W, D)(Ap)[0, 0] == 0.0  # the degree distribution is the same


def test_topological_fingerprint_constant_measure():
    m = {"a": np.array([[1.0, 2, 3]]), "b": np.array([[5.0, 5, 5]])}
    R = topological_fingerprint(m)
    assert R[0].tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_fit_default_is_the_ks_criterion_and_other_criteria_change_the_table():
    xy = np.random.default_rng(0).random((20, 2))
    D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    target = generate(D, 40, "matching", -3.0, 0.5, seed=1)[0]
    kw = dict(rules=["sptl", "matching"], n_draws=6, levels=2, n_networks=2, seed=0, progress=False)
    a = fit(target, D, **kw)
    pd.testing.assert_frame_equal(a.table, fit(target, D, criterion="ks", **kw).table)
    b = fit(target, D, criterion=["ks", "fingerprint"], combine="mean", **kw)
    assert list(b.table.columns[-3:]) == ["energy_ks", "energy_fingerprint", "energy"]
    first = (a.table["level"] == 0).to_numpy()  # same first-level points and networks; later levels refine
    np.testing.assert_allclose(b.table["energy_ks"][first], a.table["energy"][first])  # on other energies
    assert not np.allclose(b.table["energy"], a.table["energy"])
    assert b.settings["criterion"] == ["ks", "fingerprint"]


def test_voronoi_draw_in_four_dimensions_refines_the_low_energy_cell():
    rng = np.random.default_rng(0)
    pts = rng.random((60, 4))
    energy = np.where(np.linalg.norm(pts - 0.8, axis=1) < 0.35, 0.05, 1.0)
    new = voronoi_draw(pts, energy, 200, np.zeros(4), np.ones(4), seed=1)
    assert new.shape == (200, 4) and np.all((new >= 0) & (new <= 1))
    near = np.linalg.norm(new - 0.8, axis=1) < 0.5
    assert near.mean() > 0.8
