"""Tests of the heterochronous generative model (mesoscale.generative.heterochronous)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from mesoscale.generative import fit, generate, grow
from mesoscale.generative.heterochronous import (
    HeterochronousModel,
    birth_gradient,
    generate_heterochronous,
    stage_schedule,
    wave_gradient,
    wiring_front,
)


def _space(n, seed=0):
    P = np.random.default_rng(seed).random((n, 3)) * [1.0, 4.0, 1.0]
    return P, np.linalg.norm(P[:, None] - P[None], axis=-1)


@pytest.mark.parametrize("rule", ["sptl", "matching", "clu-avg", "deg-prod"])
@pytest.mark.parametrize("h_var", ["powerlaw", "exponential"])
def test_lambda_zero_is_the_plain_model_network_for_network(rule, h_var):
    P, D = _space(25, seed=1)
    H = wave_gradient(P, 6, axis=1)
    gamma = None if rule == "sptl" else 0.4
    a = generate_heterochronous(D, 50, rule, -2.0, gamma, lam=0.0, H=H, h_var=h_var, n_networks=20, seed=4)
    assert np.array_equal(a, generate(D, 50, rule, -2.0, gamma, n_networks=20, seed=4))


def _first_edges(D, lam, H, n_networks, seed, h_var="powerlaw"):
    nets, order = generate_heterochronous(D, 1, "matching", -2.0, 0.5, lam=lam, H=H, h_var=h_var,
                                          n_networks=n_networks, seed=seed, return_order=True)
    n = D.shape[0]
    iu = np.triu_indices(n, 1)
    index = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(*iu))}
    counts = np.zeros(len(iu[0]))
    for i, j in order[:, 0]:
        counts[index[(int(i), int(j))]] += 1
    return counts, iu


def _chi2_p(counts, expected):
    """Chi-square p-value with the cells expected below 5 pooled into one (the test's validity
    condition: one draw in a cell expected 1e-3 times would otherwise decide it)."""
    big = expected >= 5
    obs, exp_ = np.append(counts[big], counts[~big].sum()), np.append(expected[big], expected[~big].sum())
    return chisquare(obs, exp_).pvalue if exp_[-1] > 0 else chisquare(obs[:-1], exp_[:-1]).pvalue


@pytest.mark.parametrize("h_var", ["powerlaw", "exponential"])
def test_first_edge_law_chi_square(h_var):
    """lam = 0: the plain model's first-edge law D^eta (K = 0 everywhere on the empty network);
    lam = 3: the tilted law D^eta * h(H)^lam -- and the plain law is rejected for it."""
    P, D = _space(8, seed=2)
    H = wave_gradient(P, 1, axis=1, width=0.3)  # one stage: the front sits at the origin side
    N = 6000
    plain = D[np.triu_indices(8, 1)] ** -2.0
    plain /= plain.sum()
    counts0, iu = _first_edges(D, 0.0, H, N, seed=11, h_var=h_var)
    assert _chi2_p(counts0, plain * N) > 1e-3
    h = H[0][iu]
    tilt = plain * (h**3.0 if h_var == "powerlaw" else np.exp(3.0 * h))
    tilt /= tilt.sum()
    counts3, _ = _first_edges(D, 3.0, H, N, seed=12, h_var=h_var)
    assert _chi2_p(counts3, tilt * N) > 1e-3
    assert _chi2_p(counts3, plain * N) < 1e-6  # the test can tell the two laws apart


@pytest.mark.parametrize("lam", [1.0, 2.5])
def test_birth_order_growth_is_the_indicator_gradient(lam):
    """grow(birth order) and the powerlaw H of 'both born' (0 ** lam = 0, 1 ** lam = 1): same networks."""
    P, D = _space(30, seed=3)
    S = 6
    birth = np.random.default_rng(0).permutation(np.repeat(np.arange(S), 5))
    ends = np.array([2, 6, 14, 25, 40, 60])
    a = generate_heterochronous(D, 60, "matching", -2.0, 0.4, lam=lam, H=birth_gradient(S, birth_stage=birth),
                                stage_edges=ends, n_networks=200, seed=5)
    b = grow(D, ends, "matching", -2.0, 0.4, birth_times=birth, stage_times=np.arange(S, dtype=float),
             n_networks=200, seed=5)
    same = np.mean([np.array_equal(x, y) for x, y in zip(a, b)])
    assert same >= 0.99  # measured: 1.0 (the two run the kernel's log-space and factored paths)
    assert not np.array_equal(a, generate(D, 60, "matching", -2.0, 0.4, n_networks=200, seed=5))


def test_wave_wires_the_origin_side_first():
    P, D = _space(40, seed=4)
    H = wave_gradient(P, 10, axis=1, width=0.1)
    nets, order = generate_heterochronous(D, 120, "matching", -2.0, 0.4, lam=[0.0, 3.0], H=H, n_networks=10,
                                          seed=1, return_order=True)
    flat = wiring_front(order[:10], P, axis=1, n_bins=5)["position"].to_numpy()
    wave = wiring_front(order[10:], P, axis=1, n_bins=5)["position"].to_numpy()
    assert np.all(np.diff(wave) > 0) and wave[0] < 0.3 and wave[-1] > 0.7
    assert np.ptp(flat) < 0.15
    back = wiring_front(generate_heterochronous(D, 120, "matching", -2.0, 0.4, lam=3.0,
                                                H=wave_gradient(P, 10, axis=1, width=0.1, reverse=True),
                                                n_networks=10, seed=1, return_order=True)[1], P, axis=1, n_bins=5)
    assert back["position"].iloc[0] > 0.7  # reversed: the far end first


def test_gradients_shapes_and_values():
    P = np.c_[np.zeros(6), np.arange(6.0), np.zeros(6)]
    H = wave_gradient(P, 4, axis=1, cumulative=True)
    assert H.shape == (4, 6, 6) and np.all(np.diagonal(H, axis1=1, axis2=2) == 0)
    assert np.all(np.diff(H, axis=0) >= -1e-15)  # cumulative: never decreases
    Hm = wave_gradient(P, 4, origin=[0, 0, 0], combine="max")
    assert Hm[0, 0, 5] == pytest.approx(1.0)  # max: one end at the front suffices
    B = birth_gradient(3, birth_order=[5, 4, 3, 2, 1, 0])
    assert B[0, 5, 4] == 1.0 and B[0, 0, 1] == 0.0 and B[2].sum() == 30
    assert stage_schedule(10, 3, m_seed=4).tolist() == [6, 8, 10]


def test_bad_input_is_named():
    P, D = _space(10)
    H = wave_gradient(P, 3)
    with pytest.raises(ValueError, match="'H' is required"):
        generate_heterochronous(D, 10, "sptl", -1.0, lam=1.0)
    with pytest.raises(ValueError, match=r"shape \(S, 10, 10\)"):
        generate_heterochronous(D, 10, "sptl", -1.0, lam=1.0, H=H[:, :5, :5])
    with pytest.raises(ValueError, match="non-negative"):
        generate_heterochronous(D, 10, "sptl", -1.0, lam=1.0, H=-H)
    with pytest.raises(ValueError, match="one edge count per stage"):
        generate_heterochronous(D, 10, "sptl", -1.0, lam=1.0, H=H, stage_edges=[5, 10])
    with pytest.raises(ValueError, match="non-decreasing"):
        generate_heterochronous(D, 10, "sptl", -1.0, lam=1.0, H=H, stage_edges=[5, 3, 10])
    Hb = birth_gradient(3, birth_stage=np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2]))
    with pytest.raises(ValueError, match="stage 0 must hold 5 edges but .* allows only 3 pairs"):
        generate_heterochronous(D, 10, "sptl", -1.0, lam=1.0, H=Hb, stage_edges=[5, 8, 10])
    with pytest.raises(ValueError, match="infinite for lam"):
        generate_heterochronous(D, 10, "sptl", -1.0, lam=-1.0, H=Hb)
    with pytest.raises(ValueError, match="'lam' must be finite"):
        generate_heterochronous(D, 10, "sptl", -1.0, lam=np.nan, H=H)
    with pytest.raises(ValueError, match="callable 'H' needs 'n_stages'"):
        generate_heterochronous(D, 10, "sptl", -1.0, lam=1.0, H=lambda t: H[0])
    ok = generate_heterochronous(D, 10, "sptl", -1.0, lam=1.0, H=lambda t: wave_gradient(P, 1)[0], n_stages=2)
    assert ok.shape == (1, 10, 10)


def test_heterochronous_model_in_fit():
    P, D = _space(20, seed=6)
    H = wave_gradient(P, 5, axis=1, width=0.15)
    target = generate_heterochronous(D, 40, "matching", -2.0, 0.4, lam=3.0, H=H, seed=0)[0]
    model = HeterochronousModel(H, "powerlaw", (0.0, 5.0))
    res = fit(target, D, rules=["sptl", "matching"], n_draws=10, levels=2, n_networks=2, seed=1, progress=False,
              model=model, nesting="ignore")
    assert res.table["lam"].between(0, 5).all() and "lam" in res.best.columns
    assert res.settings["model"].startswith("HeterochronousModel(H=<5 stages x 20 nodes>")
    with pytest.raises(TypeError, match="'model' must be"):
        fit(target, D, rules=["sptl"], n_draws=2, levels=1, progress=False, model="wave")
