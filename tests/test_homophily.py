"""The mean-field rate equation of the two-parameter rules (theory.homophily) and its test against
simulation (generative.homophily)."""

import math

import numpy as np
import pytest

from mesoscale.generative import generate
from mesoscale.generative.homophily import active_fraction, homophily_study
from mesoscale.metrics import distance_matrix, modularity
from mesoscale.theory import (
    detectability_threshold,
    domain_points,
    effective_sbm,
    mean_field_pairs,
    pair_probabilities,
    predict_modules_homophily,
)
from mesoscale.theory._kernel import sbm_summary


def _box(n, seed=3):
    X = domain_points(n, 2, layout="random", seed=seed)
    return X, distance_matrix(X)


# --------------------------------------------------------------------------- known case 1: gamma = 0 is the kernel
@pytest.mark.parametrize("rule", ["matching", "neighbors", "clu-avg", "clu-min", "deg-avg", "deg-prod"])
@pytest.mark.parametrize("closure", ["mean", "poisson"])
def test_gamma_zero_reduces_to_the_spatial_kernel(rule, closure):
    X, D = _box(60)
    ref = pair_probabilities(D, 150, -3.0)
    for steps in (1, 7):
        mf = mean_field_pairs(D, 150, rule, -3.0, 0.0, closure=closure, n_steps=steps)
        assert np.allclose(mf.P, ref, atol=1e-9)
    # sptl ignores gamma altogether
    assert np.allclose(mean_field_pairs(D, 150, "sptl", -3.0, 2.0).P, ref, atol=1e-9)
    # the test can fail: gamma != 0 changes the kernel
    assert np.abs(mean_field_pairs(D, 150, rule, -3.0, 1.0, closure=closure, n_steps=7).P - ref).max() > 1e-3


def test_rate_equation_conserves_edges_and_converges_in_steps():
    X, D = _box(80)
    a = mean_field_pairs(D, 240, "matching", -2.0, 0.5, n_steps=32)
    b = mean_field_pairs(D, 240, "matching", -2.0, 0.5, n_steps=128)
    iu = np.triu_indices(80, 1)
    assert a.P[iu].sum() == pytest.approx(240, rel=1e-9) and b.P[iu].sum() == pytest.approx(240, rel=1e-9)
    assert np.allclose(a.P, a.P.T) and a.P.min() >= 0 and a.P.max() <= 1
    assert np.abs(a.P - b.P).max() < 0.03  # the predictor-corrector converges
    assert abs(a.mean_edge_length / b.mean_edge_length - 1) < 0.005
    assert abs(a.active_fraction - b.active_fraction) < 0.005


# --------------------------------------------------------------------------- known case 2: planted two blocks -> SBM
def test_planted_two_block_kernel_reproduces_the_sbm_threshold():
    n, c = 400, 4.0
    g = np.arange(n) // (n // 2)
    D = np.where(g[:, None] == g[None, :], 1.0, 2.0)
    np.fill_diagonal(D, 0.0)
    m = int(c * n / 2)

    def snr_at(eta, gamma):
        mf = mean_field_pairs(D, m, "matching", eta, gamma, ("exponential", "powerlaw"), n_steps=24)
        # the mean field stays block-constant: an SBM
        within = mf.P[np.ix_(g == 0, g == 0)][np.triu_indices(n // 2, 1)]
        assert np.ptp(within) < 1e-9 * max(within.max(), 1e-300) + 1e-15
        return sbm_summary(mf.P, g)

    etas = np.linspace(0.0, -3.0, 13)
    flags0 = []
    for eta in etas:
        s0 = snr_at(eta, 0.0)
        ref = effective_sbm(D, m, eta, g, "exponential")  # the gamma = 0 theory of chapter 02
        assert s0["c_in"] == pytest.approx(ref["c_in"], rel=1e-8) and s0["snr"] == pytest.approx(ref["snr"], rel=1e-8)
        above = (s0["c_in"] - s0["c_out"]) > detectability_threshold((s0["c_in"] + s0["c_out"]) / 2, 2)
        assert s0["detectable"] == above
        flags0.append(s0["detectable"])
    assert not flags0[0] and flags0[-1]  # the Kesten-Stigum threshold is crossed inside the scan
    # homophily amplifies the planted contrast: the threshold moves to a weaker distance contrast
    eta_c0 = etas[int(np.argmax(flags0))]
    s_hom = snr_at(eta_c0 + 0.25, 0.5)
    s_sptl = snr_at(eta_c0 + 0.25, 0.0)
    assert s_hom["snr"] > s_sptl["snr"] and s_sptl["snr"] < 1


@pytest.mark.slow
def test_planted_blocks_homophily_against_simulation():
    """Two planted blocks: the mean field's amplification of the within-block share is seen at gamma = 0.5
    and is wrong at gamma = 2, where closure of two-paths (which cross blocks) dominates."""
    n, c, eta = 600, 6.0, -0.8
    g = np.arange(n) // (n // 2)
    D = np.where(g[:, None] == g[None, :], 1.0, 2.0)
    np.fill_diagonal(D, 0.0)
    m = int(c * n / 2)
    same = g[:, None] == g[None, :]
    share = {}
    for gamma in (0.0, 0.5, 2.0):
        rule = "sptl" if gamma == 0 else "matching"
        nets = generate(D, m, rule, eta, gamma or None, model_var=("exponential", "powerlaw"), n_networks=8, seed=3)
        sim = np.array([np.triu(A & same, 1).sum() / m for A in nets])
        mf = mean_field_pairs(D, m, rule, eta, gamma, ("exponential", "powerlaw"), n_steps=16, closure="mean")
        share[gamma] = (sim.mean(), sim.std(ddof=1) / np.sqrt(sim.size), float(np.triu(mf.P * same, 1).sum() / m))
    assert abs(share[0.0][0] - share[0.0][2]) < 3 * share[0.0][1] + 0.003  # gamma = 0: the SBM of the kernel
    assert share[0.5][0] > share[0.0][0] + 3 * share[0.5][1]  # homophily amplifies the planted contrast
    assert share[0.5][2] > share[0.0][2] and abs(share[0.5][0] - share[0.5][2]) < 0.03
    assert share[2.0][0] < share[0.0][0] and share[2.0][2] - share[2.0][0] > 0.3  # the mean field fails


# --------------------------------------------------------------------------- against simulation: where it holds, where it fails
@pytest.mark.slow
def test_mean_field_tracks_small_gamma_and_fails_at_large_gamma():
    n, m, eta = 200, 600, -3.0
    X, D = _box(n)
    iu = np.triu_indices(n, 1)
    res = {}
    for gamma in (0.0, 0.25, 1.0):
        pred, mf = predict_modules_homophily(D, m, "matching", eta, gamma, X, closure="mean", n_steps=24)
        nets, orders = generate(D, m, "matching", eta, gamma, n_networks=12, seed=1, return_order=True)
        q_sim = np.mean([modularity(A.astype(float), pred.labels) for A in nets])
        ell_sim = np.mean([D[iu][A[iu]].mean() for A in nets])
        act = np.mean([active_fraction(o, n, "matching") for o in orders[:4]])
        res[gamma] = (pred.q_cells - q_sim, mf.mean_edge_length / ell_sim - 1, mf.active_fraction - act)
    assert abs(res[0.0][0]) < 0.02 and abs(res[0.0][1]) < 0.01 and abs(res[0.0][2]) < 0.05
    assert abs(res[0.25][0]) < 0.03 and abs(res[0.25][1]) < 0.05  # the sharpened kernel is right
    # gamma = 1: triadic closure dominates; the theory overestimates the modularity of its grid and
    # predicts shorter wires than the networks have
    assert res[1.0][0] > 0.15 and res[1.0][1] < -0.3


def test_no_spatial_term_no_mean_field_modules():
    n, m = 120, 360
    X, D = _box(n)
    for rule in ("matching", "clu-avg"):
        mf = mean_field_pairs(D, m, rule, 0.0, 1.0, n_steps=12)
        iu = np.triu_indices(n, 1)
        assert np.ptp(mf.P[iu]) < 1e-9  # homogeneous: no modules predicted at any gamma
    # while the simulated matching networks are far more modular than their nulls (correlations)
    th, sim = homophily_study(["matching"], [1.0], [0.0], [n], 6, closures=["mean"], n_steps=8, seed=0,
                              progress=False)
    assert th.delta_q.iloc[0] < 0 and sim.delta_q.mean() > 0.1
    assert sim.clustering.mean() > 5 * (2 * m / n) / n  # far above the G(n, m) clustering


def test_active_fraction_replay_and_validation():
    assert active_fraction([[0, 1], [1, 2], [0, 2]], 3, "matching") == pytest.approx(1 / 3)
    assert active_fraction([[0, 1], [1, 2], [0, 2]], 3, "sptl") == 0.0
    assert active_fraction([[0, 1], [0, 2], [1, 2], [2, 3]], 4, "clu-avg") == pytest.approx(1 / 4)
    assert active_fraction([[0, 1], [2, 3], [1, 2]], 4, "deg-min") == pytest.approx(1 / 3)
    X, D = _box(20)
    with pytest.raises(ValueError, match="'rule'"):
        mean_field_pairs(D, 30, "bogus", -1.0, 1.0)
    with pytest.raises(ValueError, match="'gamma'"):
        mean_field_pairs(D, 30, "matching", -1.0, None)
    with pytest.raises(ValueError, match="'closure'"):
        mean_field_pairs(D, 30, "matching", -1.0, 1.0, closure="exact")
    with pytest.raises(ValueError, match="'m'"):
        mean_field_pairs(D, 1000, "matching", -1.0, 1.0)
    with pytest.raises(ValueError, match="'order'"):
        active_fraction([0, 1], 3, "matching")
    assert math.isfinite(mean_field_pairs(D, 30, "deg-prod", -1.0, -1.0, closure="mean", n_steps=4).active_fraction)
