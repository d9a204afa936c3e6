"""Tests of mesoscale.generative: the wiring-rule engine, growth and fitting."""

from __future__ import annotations

import bct
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesoscale.generative import (
    WIRING_RULES,
    _kernels,
    _vecmath,
    _weights,
    birth_stages,
    count_edges,
    elongating_distances,
    fit,
    generate,
    grow,
    voronoi_draw,
)
from mesoscale.generative.fitting import recorded_seed
from mesoscale.generative.models import distance_feature


def _positions_D(n, seed=0, dim=2):
    xy = np.random.default_rng(seed).random((n, dim)) * 10
    return xy, np.linalg.norm(xy[:, None] - xy[None], axis=-1)


def _random_graph(n, p, seed):
    rng = np.random.default_rng(seed)
    A = np.triu(rng.random((n, n)) < p, 1)
    return (A | A.T).astype(float)


# --- an independent reference of the MATLAB BCT semantics (bctpy metrics, numpy) ---------


def ref_K(A, rule):
    """K for every pair from a full recomputation with bctpy's metrics."""
    A = np.asarray(A, float)
    n = len(A)
    k = A.sum(1)
    if rule == "sptl":
        return np.zeros((n, n))
    if rule == "neighbors":
        K = A @ A
        np.fill_diagonal(K, 0)
        return K
    if rule == "matching":
        return bct.matching_ind(A)[2]
    if rule.startswith("clu"):
        x = bct.clustering_coef_bu(A)
    else:
        x = k
    a, b = x[:, None], x[None, :]
    op = rule.split("-")[1]
    return {
        "avg": (a + b) / 2,
        "min": np.minimum(a, b),
        "max": np.maximum(a, b),
        "diff": np.abs(a - b),
        "prod": a * b,
    }[op]


def ref_logweights(A, D, rule, eta, gamma, model_var, eps=1e-5):
    K = ref_K(A, rule) + eps
    X = distance_feature(D, model_var[0])
    L = eta * X
    if rule != "sptl":
        L = L + (gamma * K if model_var[1] == "exponential" else gamma * np.log(K))
    cand = (np.asarray(A) == 0) & ~np.eye(len(A), dtype=bool)
    return np.where(cand, L, -np.inf), cand


def ref_held_logweights(A, D, rule, eta, gamma, model_var, bmode, hold, eps=1e-5):
    """The log-weights the engine holds: the rule's own (``bmode`` 0), or (a clustering rule drawn
    by thinning) ``eta X + min or max(hold_i, hold_j)`` from the lazily held node bounds ``hold``,
    checked here to lie between log g of the node's value (c_i, or c_i / 2 for clu-avg at gamma < 0,
    ``bmode`` 2) and that plus log LOOSE."""
    if bmode == 0:
        return ref_logweights(A, D, rule, eta, gamma, model_var, eps)
    assert rule.startswith("clu") and (bmode == 2) == (rule == "clu-avg" and gamma < 0)
    x = bct.clustering_coef_bu(np.asarray(A, float)) * (0.5 if bmode == 2 else 1.0)
    lgx = gamma * (x + eps) if model_var[1] == "exponential" else gamma * np.log(x + eps)
    tol = 1e-9 * (1 + np.abs(lgx))
    assert np.all(hold >= lgx - tol), (hold - lgx).min()  # the held bounds dominate the node factors
    assert np.all(hold <= lgx + np.log(_weights.LOOSE) + tol), (hold - lgx).max()  # and are not too loose
    rowrule = _weights.row_rule(_kernels.RULE_CODE[rule], gamma, bmode)
    Hb = np.minimum.outer(hold, hold) if rowrule == 4 else np.maximum.outer(hold, hold)
    L = eta * distance_feature(D, model_var[0]) + Hb
    cand = (np.asarray(A) == 0) & ~np.eye(len(A), dtype=bool)
    return np.where(cand, L, -np.inf), cand


def _run_state(A0, D, m, rule, eta, gamma, model_var, u_seed, eps=1e-5, fast_range=_kernels.FAST_RANGE):
    n = len(D)
    mseed = int(np.asarray(A0).sum()) // 2
    steps = m - mseed
    U = np.random.default_rng(u_seed).random(max(steps, 1))
    order = np.zeros((max(steps, 1), 2), np.int32)
    X = distance_feature(D, model_var[0])[None]
    return _kernels.grow_state(
        np.asarray(A0, np.uint8),
        X,
        np.zeros(1, np.int64),
        np.array([m], np.int64),
        np.zeros(n, np.int64),
        _kernels.RULE_CODE[rule],
        float(eta),
        float(gamma),
        eps,
        model_var[1] == "exponential",
        U,
        order,
        fast_range,
    )


# --- exactly m edges, order, determinism, independence --------------------------------------


@pytest.mark.parametrize("rule", WIRING_RULES)
def test_exactly_m_edges_every_rule(rule):
    _, D = _positions_D(25, seed=1)
    seed_net = _random_graph(25, 0.05, seed=2)
    mseed = int(seed_net.sum()) // 2
    for A0, m in ((None, 60), (seed_net, mseed + 40), (None, 300)):  # 300 = every pair
        nets, order = generate(D, m, rule, -1.5, 0.7, seed_network=A0, n_networks=3, seed=4, return_order=True)
        assert nets.dtype == bool and nets.shape == (3, 25, 25)
        assert np.all(count_edges(nets) == m)
        assert np.array_equal(nets, np.swapaxes(nets, 1, 2))
        assert not nets[:, np.arange(25), np.arange(25)].any()
        m0 = 0 if A0 is None else mseed
        assert order.shape == (3, m - m0, 2)
        for b in range(3):
            rebuilt = np.zeros((25, 25), bool) if A0 is None else A0.astype(bool).copy()
            i, j = order[b, :, 0], order[b, :, 1]
            assert np.all(i < j)
            assert not rebuilt[i, j].any()  # never an existing edge
            rebuilt[i, j] = rebuilt[j, i] = True
            assert np.array_equal(rebuilt, nets[b])
            assert len({(int(a), int(c)) for a, c in order[b]}) == m - m0


@pytest.mark.parametrize("rule", [r for r in WIRING_RULES if r != "sptl"])
def test_gamma_changes_the_output(rule):
    _, D = _positions_D(30, seed=3)
    a = generate(D, 80, rule, -1.0, -3.0, n_networks=4, seed=11)
    b = generate(D, 80, rule, -1.0, 3.0, n_networks=4, seed=11)
    assert not np.array_equal(a, b)
    # and systematically: mean K-driven statistics differ (degree spread for deg/clu rules)
    if rule.startswith("deg"):
        sa = a.sum(2).std(axis=1).mean()
        sb = b.sum(2).std(axis=1).mean()
        assert sa != sb


def test_sptl_ignores_gamma_and_allows_none():
    _, D = _positions_D(20)
    a = generate(D, 40, "sptl", -2.0, None, seed=3)
    b = generate(D, 40, "sptl", -2.0, 5.0, seed=3)
    assert np.array_equal(a, b)


def test_same_seed_same_networks_and_threads_do_not_matter():
    _, D = _positions_D(30, seed=5)
    a = generate(D, 70, "matching", [-2.0, -1.0], [0.2, 0.5], n_networks=5, seed=123)
    b = generate(D, 70, "matching", [-2.0, -1.0], [0.2, 0.5], n_networks=5, seed=123, n_jobs=2)
    c = generate(D, 70, "matching", [-2.0, -1.0], [0.2, 0.5], n_networks=5, seed=124)
    g = generate(D, 70, "matching", [-2.0, -1.0], [0.2, 0.5], n_networks=5, seed=np.random.SeedSequence(123))
    assert np.array_equal(a, b) and np.array_equal(a, g)
    assert not np.array_equal(a, c)


def test_networks_in_a_batch_are_independent():
    _, D = _positions_D(30, seed=6)
    # member b depends only on (seed, b) and its own parameters, never on the others
    a = generate(D, 60, "clu-avg", [-2.0, -1.0], [0.5, 0.5], n_networks=2, seed=9)
    b = generate(D, 60, "clu-avg", [-2.0, 3.0], [0.5, -4.0], n_networks=2, seed=9)
    assert np.array_equal(a[:2], b[:2])
    # members differ from each other, and their overlap is that of networks from distinct seeds
    nets = generate(D, 60, "sptl", -1.0, n_networks=200, seed=1)
    other = generate(D, 60, "sptl", -1.0, n_networks=200, seed=2)
    within = np.mean([(nets[i] & nets[i + 1]).sum() for i in range(0, 200, 2)])
    across = np.mean([(nets[i] & other[i]).sum() for i in range(200)])
    assert len({x.tobytes() for x in nets}) == 200
    assert abs(within - across) < 0.15 * across


def test_batch_layout_parameter_major():
    _, D = _positions_D(20, seed=7)
    nets = generate(D, 30, "deg-avg", [-3.0, 0.0], [1.0, 1.0], n_networks=3, seed=2)
    assert nets.shape[0] == 6
    _, D2 = _positions_D(20, seed=7)
    mean_len = [D2[np.triu(n_, 1)].mean() for n_ in nets]
    assert max(mean_len[:3]) < min(mean_len[3:])  # eta = -3 gives shorter edges than eta = 0


# --- semantics --------------------------------------------------------------------------------


def test_matching_index_equals_bct():
    A = _random_graph(15, 0.3, seed=4)
    k = A.sum(1)
    CN = A @ A
    np.fill_diagonal(CN, 0)
    den = k[:, None] + k[None] - 2 * A
    ours = np.divide(2 * CN, den, out=np.zeros_like(CN), where=den > 0)
    np.fill_diagonal(ours, 0)
    assert np.allclose(ours, bct.matching_ind(A)[2])
    # and the kernel's weights of the candidate pairs use exactly that index
    _, D = _positions_D(15)
    Lref, cand = ref_logweights(A, D, "matching", -1.0, 0.8, ("powerlaw", "powerlaw"))
    kk, CNk, tri, L = _kernels.state_of(
        A.astype(np.uint8), 2, distance_feature(D, "powerlaw"), -1.0, 0.8, 1e-5, False
    )
    assert np.allclose(L[cand], Lref[cand], rtol=1e-12, atol=1e-12)
    assert np.array_equal(CNk, CN.astype(int))


def test_sptl_negative_eta_gives_short_edges():
    _, D = _positions_D(40, seed=8)
    nets = generate(D, 100, "sptl", -3.0, n_networks=20, seed=5)
    iu = np.triu_indices(40, 1)
    random_mean = D[iu].mean()
    lengths = [D[np.triu(a, 1)].mean() for a in nets]
    assert max(lengths) < 0.6 * random_mean
    pos = generate(D, 100, "sptl", 3.0, n_networks=20, seed=5)
    assert min(D[np.triu(a, 1)].mean() for a in pos) > random_mean


@pytest.mark.parametrize(
    "rule,model_var",
    [
        ("sptl", ("powerlaw", "powerlaw")),
        ("neighbors", ("powerlaw", "powerlaw")),
        ("matching", ("powerlaw", "exponential")),
        ("clu-avg", ("exponential", "powerlaw")),
        ("clu-diff", ("powerlaw", "powerlaw")),
        ("deg-prod", ("exponential", "exponential")),
        ("deg-min", ("powerlaw", "powerlaw")),
    ],
)
def test_next_edge_distribution_matches_reference(rule, model_var):
    """From a fixed seed network, the added edge follows P ~ f(D) g(K) (chi-square test)."""
    n = 7
    _, D = _positions_D(n, seed=12)
    A0 = _random_graph(n, 0.4, seed=13)
    m = int(A0.sum()) // 2 + 1
    eta, gamma = (-0.8, 1.5) if model_var[0] == "powerlaw" else (-0.3, 1.5)
    L, cand = ref_logweights(A0, D, rule, eta, gamma, model_var)
    iu = np.triu_indices(n, 1)
    p = np.where(cand[iu], np.exp(L[iu] - L[iu][cand[iu]].max()), 0.0)
    p /= p.sum()
    B = 6000
    _, order = generate(D, m, rule, eta, gamma, model_var=model_var, seed_network=A0, n_networks=B, seed=3,
                        return_order=True)
    idx = {(int(i), int(j)): t for t, (i, j) in enumerate(zip(*iu))}
    counts = np.bincount([idx[(int(a), int(b))] for a, b in order[:, 0]], minlength=len(p))
    assert counts[p == 0].sum() == 0
    expected = B * p
    keep = expected > 5
    chi2 = (((counts - expected) ** 2)[keep] / expected[keep]).sum()
    dof = max(int(keep.sum()) - 1, 1)
    assert chi2 < dof + 6 * np.sqrt(2 * dof) + 10, (chi2, dof)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(3, 16),
    rule=st.sampled_from(WIRING_RULES),
    eta=st.floats(-10, 10),
    gamma=st.floats(-10, 10),
    model_var=st.sampled_from(
        [("powerlaw", "powerlaw"), ("exponential", "exponential"), ("powerlaw", "exponential")]
    ),
    frac=st.floats(0, 1),
    seed_p=st.sampled_from([0.0, 0.2]),
    seed=st.integers(0, 2**16),
    fast_range=st.sampled_from([0.0, _kernels.FAST_RANGE]),  # 0 forces log space
)
def test_incremental_state_equals_full_recomputation(n, rule, eta, gamma, model_var, frac, seed_p, seed, fast_range):
    xy, D = _positions_D(n, seed=seed)
    if seed % 3 == 0:  # co-located nodes: zero distances off the diagonal
        D[0, 1] = D[1, 0] = 0.0
    A0 = _random_graph(n, seed_p, seed=seed + 1)
    mseed = int(A0.sum()) // 2
    pairs = n * (n - 1) // 2
    m = mseed + int(round(frac * (pairs - mseed)))
    A, k, CN, tri, L, W, R, M, steps, bmode, hold = _run_state(A0, D, m, rule, eta, gamma, model_var, seed,
                                                               fast_range=fast_range)
    assert steps == m - mseed and int(A.sum()) // 2 == m
    Af = A.astype(float)
    assert np.array_equal(k, Af.sum(1).astype(int))
    CNref = (Af @ Af).astype(int)
    np.fill_diagonal(CNref, 0)
    assert np.array_equal(CN, CNref)
    assert np.array_equal(tri, np.round(np.diag(Af @ Af @ Af) / 2).astype(int))
    if steps == 0 or m == pairs:
        return
    assert bmode == 0 or fast_range > 0  # thinning only on the factored path
    Lref, cand = ref_held_logweights(Af, D, rule, eta, gamma, model_var, bmode, hold)
    if bmode:  # the held bounds dominate the rule's weights
        Ltrue, _ = ref_logweights(Af, D, rule, eta, gamma, model_var)
        assert np.all(Lref[cand] >= Ltrue[cand] - 1e-9 * (1 + np.abs(Ltrue[cand])))
    assert np.all(W[~cand] == 0.0)
    assert np.all(np.isfinite(W)) and np.all(W >= 0) and np.all(np.isfinite(R))
    live = cand & (W > 1e-200)
    assert np.allclose(np.log(W[live]), Lref[live] - M, rtol=1e-9, atol=1e-7)
    dead = cand & (W == 0)
    assert np.all(Lref[dead] - M < -700)  # only underflowed weights are exactly zero
    assert np.allclose(R, np.triu(W, 1).sum(1), rtol=1e-8, atol=1e-280)  # row sums of the upper triangle


@pytest.mark.parametrize("rule", WIRING_RULES)
@pytest.mark.parametrize("model_var", [("powerlaw", "powerlaw"), ("exponential", "exponential")])
def test_extreme_parameters_and_zero_distances(rule, model_var):
    xy, D = _positions_D(20, seed=2)
    D = D * 50  # distances up to several hundred units
    D[0, 1] = D[1, 0] = 0.0
    D[2, 3] = D[3, 2] = 0.0
    with np.errstate(all="raise"):
        nets = generate(D, 60, rule, [-10.0, 10.0, -10.0, 10.0], [-10.0, -10.0, 10.0, 10.0],
                        model_var=model_var, n_networks=2, seed=1)
    assert np.all(count_edges(nets) == 60)
    if model_var[0] == "powerlaw" and rule == "sptl":
        assert nets[:2, 0, 1].all() and nets[:2, 2, 3].all()  # co-located pairs come first at eta<0


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(D=np.ones((3, 4))), ValueError, "square"),
        (dict(D=np.array([[0, 1, 2], [1, 0, 1], [3, 1, 0.0]])), ValueError, "symmetric"),
        (dict(D=-np.ones((3, 3)) + np.eye(3)), ValueError, "negative"),
        (dict(m=4), ValueError, "'m'"),
        (dict(m=-1), ValueError, "'m'"),
        (dict(m=1, seed_network=np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]])), ValueError, "seed_network"),
        (dict(rule="bogus"), ValueError, "'rule'"),
        (dict(model_var=("powerlaw", "linear")), ValueError, "model_var"),
        (dict(eta=np.nan), ValueError, "'eta'"),
        (dict(gamma=np.inf), ValueError, "'gamma'"),
        (dict(gamma=None), ValueError, "'gamma'"),
        (dict(eta=[1.0, 2.0], gamma=[1.0, 2.0, 3.0]), ValueError, "equal length"),
        (dict(epsilon=0.0), ValueError, "epsilon"),
        (dict(n_networks=0), ValueError, "n_networks"),
        (dict(eta="x"), TypeError, "'eta'"),
    ],
)
def test_invalid_input_raises(kwargs, exc, match):
    args = dict(D=np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0.0]]), m=2, rule="matching", eta=-1.0, gamma=0.5)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        generate(**args)


# --- growth ---------------------------------------------------------------------------------


def test_grow_respects_births_and_stage_counts():
    n = 30
    xy, D = _positions_D(n, seed=21)
    order_nodes = np.random.default_rng(0).permutation(n)
    m = np.minimum(np.arange(n) * 2, np.arange(n) * (np.arange(n) + 1) // 2)
    nets, order = grow(D, m, "matching", -1.0, 0.5, birth_order=order_nodes, n_networks=4, seed=2,
                       return_order=True)
    assert np.all(count_edges(nets) == m[-1])
    birth = birth_stages(n, birth_order=order_nodes)
    step_stage = np.searchsorted(m, np.arange(m[-1]), side="right")
    for b in range(4):
        i, j = order[b, :, 0], order[b, :, 1]
        assert np.all(birth[i] <= step_stage) and np.all(birth[j] <= step_stage)
        assert np.array_equal(np.bincount(step_stage, minlength=n)[1:], np.diff(m))


def test_grow_single_stage_equals_generate():
    _, D = _positions_D(20, seed=3)
    assert np.array_equal(grow(D, [50], "clu-min", -1.0, 1.0, seed=4), generate(D, 50, "clu-min", -1.0, 1.0, seed=4))


def test_grow_with_changing_distances_and_birth_times():
    n = 24
    xy, _ = _positions_D(n, seed=5)
    scale = np.linspace(0.2, 1.0, 6)
    Ds = elongating_distances(xy, scale, axis=0)
    assert Ds.shape == (6, n, n)
    assert np.all(Ds[0] <= Ds[-1] + 1e-12)
    times = np.arange(6.0)
    births = np.random.default_rng(1).uniform(0, 5, n)
    births[:4] = 0.0
    m = np.array([3, 10, 20, 30, 40, 50])
    nets = grow(Ds, m, "sptl", -2.0, birth_times=births, stage_times=times, n_networks=3, seed=0)
    assert np.all(count_edges(nets) == 50)
    callable_nets = grow(lambda t: Ds[int(t)], m, "sptl", -2.0, birth_times=births, stage_times=times,
                         n_networks=3, seed=0)
    assert np.array_equal(nets, callable_nets)
    never = births > times[-1]
    assert not nets[:, never].any()


def test_grow_from_earlier_connectome_and_errors():
    n = 20
    _, D = _positions_D(n, seed=8)
    early = generate(D, 15, "sptl", -2.0, seed=1)[0]
    nets = grow(D, [25, 40], "neighbors", -1.0, 0.5, seed_network=early, seed=2)
    assert np.all(count_edges(nets) == 40) and np.all(nets[0][early])
    with pytest.raises(ValueError, match="only 2 nodes are born"):
        grow(D, [0, 5], "sptl", -1.0, birth_order=[0, 1])
    with pytest.raises(ValueError, match="non-decreasing"):
        grow(D, [5, 3], "sptl", -1.0)
    with pytest.raises(ValueError, match="not born"):
        grow(D, [25, 30], "sptl", -1.0, seed_network=early, birth_order=[n - 1, n - 2])


# --- fitting --------------------------------------------------------------------------------


def test_voronoi_draw_stays_in_cells_and_box():
    rng = np.random.default_rng(0)
    pts = rng.uniform([-7, -7.5], [0, 7.5], size=(30, 2))
    energy = rng.uniform(0.2, 1.0, 30)
    energy[7] = 0.01
    new = voronoi_draw(pts, energy, 400, [-7, -7.5], [0, 7.5], seed=1)
    assert new.shape == (400, 2)
    assert np.all(new >= [-7, -7.5]) and np.all(new <= [0, 7.5])
    # the low-energy cell is refined most: most new points are nearest to site 7
    scale = np.array([7.0, 15.0])
    nearest = np.argmin(np.linalg.norm((new[:, None] - pts[None]) / scale, axis=-1), axis=1)
    assert np.bincount(nearest, minlength=30).argmax() == 7
    assert np.array_equal(new, voronoi_draw(pts, energy, 400, [-7, -7.5], [0, 7.5], seed=1))


def test_fit_recovers_spatial_parameter_and_tables():
    _, D = _positions_D(40, seed=30)
    target = generate(D, 100, "sptl", -3.0, seed=31)[0]
    res = fit(target, D, rules=["sptl", "matching"], search="voronoi", n_draws=30, levels=3,
              n_networks=2, seed=0, progress=False)
    t = res.table
    assert list(t.columns) == ["rule", "level", "point", "eta", "gamma", "repeat", "ks_degree",
                               "ks_clustering", "ks_betweenness", "ks_edge_length", "energy"]
    assert len(t) == (30 + 30 + 30) * 3 * 2  # sptl, matching and matching's gamma = 0 line (n_gamma0 = n_draws)
    assert t.loc[t.rule == "sptl", "gamma"].isna().all()
    assert np.allclose(t[["ks_degree", "ks_clustering", "ks_betweenness", "ks_edge_length"]].max(axis=1), t.energy)
    sp = res.best.set_index("rule").loc["sptl"]
    assert abs(sp.eta - (-3.0)) < 1.5
    # refinement concentrates points near the optimum
    lvl = t[t.rule == "sptl"].groupby("level").eta.apply(lambda e: np.mean(np.abs(e + 3)))
    assert lvl.iloc[-1] < lvl.iloc[0]
    again = fit(target, D, rules=["sptl", "matching"], n_draws=30, levels=3, n_networks=2, seed=0, progress=False)
    assert again.table.equals(t)


def test_fit_inprocess_equals_sweep_path(tmp_path):
    _, D = _positions_D(20, seed=40)
    target = generate(D, 40, "matching", -2.0, 0.5, seed=1)[0]
    kw = dict(rules=["deg-avg"], search="grid", n_draws=9, n_networks=2, seed=5, progress=False)
    a = fit(target, D, **kw)
    b = fit(target, D, client="inline", **kw)
    c = fit(target, D, store=tmp_path / "fitstore", **kw)
    cols = ["rule", "level", "point", "eta", "gamma", "repeat", "energy"]
    for other in (b, c):
        x = a.table[cols].sort_values(["point", "repeat"]).reset_index(drop=True)
        y = other.table[cols].sort_values(["point", "repeat"]).reset_index(drop=True)
        pd_eq = np.allclose(x.energy, y.energy) and np.allclose(x.eta, y.eta) and np.allclose(x.gamma, y.gamma)
        assert pd_eq
    assert len(a.table) == 18 and (tmp_path / "fitstore" / "deg-avg" / "level0").is_dir()


def test_fit_resumes_store_with_seed_none(tmp_path):
    # seed=None must continue with the store's recorded seed (as run_sweep does), not draw a new one
    _, D = _positions_D(16, seed=41)
    target = generate(D, 30, "sptl", -2.0, seed=2)[0]
    kw = dict(rules=["sptl", "matching"], n_draws=6, levels=2, n_networks=1, progress=False)
    store = tmp_path / "fitstore"
    first = fit(target, D, store=store, seed=None, **kw)
    again = fit(target, D, store=store, seed=None, **kw)
    assert again.settings["seed"] == first.settings["seed"] == recorded_seed(store)
    cols = ["rule", "level", "point", "eta", "gamma", "repeat", "energy"]
    assert again.table[cols].equals(first.table[cols])
    # an explicit, different seed is still refused rather than mixed into the store
    with pytest.raises(ValueError, match="never mixed"):
        fit(target, D, store=store, seed=first.settings["seed"] + 1, **kw)


def test_fit_invalid_input():
    _, D = _positions_D(10)
    T = generate(D, 10, "sptl", -1.0, seed=0)[0]
    with pytest.raises(ValueError, match="'rules'"):
        fit(T, D, rules=["nope"], progress=False)
    with pytest.raises(ValueError, match="'search'"):
        fit(T, D, search="random", progress=False)
    with pytest.raises(ValueError, match="eta_range"):
        fit(T, D, eta_range=(0, -1), progress=False)
    with pytest.raises(ValueError, match="'D'"):
        fit(T, D[:5, :5], progress=False)


def test_spatial_edge_schedule_quadratic_then_linear():
    """Nicosia et al. (2013): links grow quadratically while the body is small, then linearly."""
    from mesoscale.generative import spatial_edge_schedule

    n = 120
    rng = np.random.default_rng(0)
    xyz = rng.random((n, 3)) * [1.0, 0.1, 0.1]
    birth = np.arange(n)  # one neuron per stage
    # small body (compared with the decay length) for the first half, then it elongates 20-fold
    scale = np.where(np.arange(n) < 60, 0.05, np.linspace(0.05, 20.0, n))
    Ds = elongating_distances(xyz, scale, axis=0)
    m = spatial_edge_schedule(Ds, birth, p0=0.5, length=1.0, seed=1)
    inc = np.diff(m)
    early = inc[10:60]
    late = inc[-30:]
    # early: each new node links to ~p0 * (nodes present): increments grow with the stage
    assert np.corrcoef(np.arange(10, 60), early)[0, 1] > 0.8
    assert abs(early.mean() - 0.5 * np.arange(11, 61).mean()) < 3
    # late: increments no longer grow with the number of nodes
    assert late.mean() < 0.5 * early[-10:].mean()
    nets = grow(Ds, m, "sptl", -1.0, birth_order=birth, seed=0)
    assert count_edges(nets)[0] == m[-1]
    with pytest.raises(ValueError, match="'p0'"):
        spatial_edge_schedule(Ds, birth, p0=2.0)


@pytest.mark.slow
def test_fit_on_a_dask_client_matches_inprocess():
    import distributed

    _, D = _positions_D(16, seed=41)
    target = generate(D, 30, "sptl", -2.0, seed=1)[0]
    kw = dict(rules=["sptl", "neighbors"], search="voronoi", n_draws=6, levels=2, seed=3, progress=False)
    local = fit(target, D, **kw)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as client:
        remote = fit(target, D, client=client, **kw)
    key = ["rule", "level", "point", "repeat"]
    a = local.table.sort_values(key).reset_index(drop=True)
    b = remote.table.sort_values(key).reset_index(drop=True)
    assert np.allclose(a[["eta", "energy"]], b[["eta", "energy"]])
    assert local.best_rule == remote.best_rule


@pytest.mark.parametrize("rule", WIRING_RULES)
@pytest.mark.parametrize("fast_range", [0.0, _kernels.FAST_RANGE])  # log space and factored weights
def test_next_edge_law_in_both_weight_modes(rule, fast_range):
    """Both ways of holding the weights draw the next edge from P ~ f(D) g(K) (chi-square)."""
    n = 7
    _, D = _positions_D(n, seed=21)
    A0 = _random_graph(n, 0.45, seed=22)
    m = int(A0.sum()) // 2 + 1
    model_var = ("powerlaw", "powerlaw")
    eta, gamma = -0.8, -1.7 if rule.endswith(("min", "max")) else 1.3  # gamma < 0 flips min/max factors
    L, cand = ref_logweights(A0, D, rule, eta, gamma, model_var)
    iu = np.triu_indices(n, 1)
    p = np.where(cand[iu], np.exp(L[iu] - L[iu][cand[iu]].max()), 0.0)
    p /= p.sum()
    index = np.full((n, n), -1)
    index[iu] = np.arange(len(p))
    B = 4000
    counts = np.zeros(len(p), int)
    for s in range(B):
        A, *_ = _run_state(A0, D, m, rule, eta, gamma, model_var, 1000 + s, fast_range=fast_range)
        i, j = np.argwhere(np.triu(A.astype(bool) & ~A0.astype(bool), 1))[0]
        counts[index[i, j]] += 1
    assert counts[p == 0].sum() == 0
    expected = B * p
    keep = expected > 5
    chi2 = (((counts - expected) ** 2)[keep] / expected[keep]).sum()
    dof = max(int(keep.sum()) - 1, 1)
    assert chi2 < dof + 6 * np.sqrt(2 * dof) + 10, (chi2, dof)


def test_vectorised_exp_and_log_match_numpy_to_the_last_bits():
    from mesoscale.generative import _vecmath

    rng = np.random.default_rng(5)
    n = 40001
    x = np.concatenate([rng.uniform(-700, 0, n - 5), [0.0, -1e-300, -700.0, -0.3465735902799727, -800.0]])
    buf = x.copy()
    _vecmath.exp_nonpositive(buf, 1.0, 0.0)
    ref = np.exp(np.maximum(x, _vecmath.EXP_MIN))
    assert np.max(np.abs(buf / ref - 1)) < 4e-16
    assert _vecmath.exp_le0(0.0) == 1.0 and _vecmath.exp_le0(-0.0) == 1.0  # gamma = 0 gives weights of 1 exactly
    # the affine form exp(a x + c) used by the kernel
    buf = x[:100] / 7.0
    _vecmath.exp_nonpositive(buf, 7.0, 0.0)
    assert np.allclose(buf, np.exp(np.maximum(7.0 * (x[:100] / 7.0), -700.0)), rtol=1e-15, atol=0)
    y = np.concatenate([10.0 ** rng.uniform(-300, 300, n - 5),
                        [1.0, 1e-5 + 0.5, np.sqrt(0.5), np.sqrt(2.0), np.finfo(float).tiny]])
    buf = y.copy()
    _vecmath.log_positive(buf)
    assert np.max(np.abs(buf - np.log(y)) / np.maximum(1.0, np.abs(np.log(y)))) < 4e-16
    assert _vecmath.log_pos(1.0) == 0.0


# --- streaming -----------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["sptl", "matching", "clu-prod"])
def test_generate_batches_concatenate_to_generate_bit_for_bit(rule):
    from mesoscale.generative import generate_batches

    _, D = _positions_D(18, seed=11)
    gamma = None if rule == "sptl" else [0.3, -0.2, 0.5]
    kw = dict(n_networks=3, seed=9, return_order=True)
    whole, order = generate(D, 30, rule, [-1.0, -2.0, -0.5], gamma, **kw)
    parts = list(generate_batches(D, 30, rule, [-1.0, -2.0, -0.5], gamma, batch_size=4, **kw))
    assert [p[0].shape[0] for p in parts] == [4, 4, 1]
    assert np.array_equal(np.concatenate([p[0] for p in parts]), whole)
    assert np.array_equal(np.concatenate([p[1] for p in parts]), order)


def test_generate_batches_checks_arguments_when_called():
    from mesoscale.generative import generate_batches

    _, D = _positions_D(10, seed=1)
    with pytest.raises(ValueError, match="batch_size"):
        generate_batches(D, 12, "matching", -1.0, 0.2, batch_size=0)
    with pytest.raises(ValueError, match="'m'"):
        generate_batches(D, 1000, "matching", -1.0, 0.2)  # raised on the call, not on the first next()


def test_fit_chunks_spanning_points_give_the_same_table(monkeypatch):
    """A point's repeats split over two chunks (in process) must keep their streams."""
    from mesoscale.generative import fitting

    _, D = _positions_D(16, seed=41)
    target = generate(D, 30, "matching", -2.0, 0.5, seed=2)[0]
    kw = dict(rules=["matching", "sptl"], n_draws=6, levels=2, n_networks=3, seed=8, progress=False)
    whole = fit(target, D, **kw).table
    monkeypatch.setattr(fitting, "FIT_CHUNK_SMALL", 4)  # 3 repeats per point, 4 networks per chunk
    chunked = fit(target, D, **kw).table
    swept = fit(target, D, client="inline", **kw).table
    pd.testing.assert_frame_equal(chunked, whole)
    cols = ["rule", "level", "point", "eta", "gamma", "repeat", "energy"]
    key = ["rule", "level", "point", "repeat"]
    pd.testing.assert_frame_equal(
        swept[cols].sort_values(key).reset_index(drop=True), whole[cols].sort_values(key).reset_index(drop=True)
    )


# --- nesting: every two-parameter rule contains sptl at gamma = 0 ----------------------------


def _nest_table(s_energies, r_energies, r_gammas, n_repeats=1):
    """A fit table: sptl points and one rule's points at the given gammas (``n_repeats`` equal networks each)."""
    rows = []
    for rule, energies, gammas in (("sptl", s_energies, [np.nan] * len(s_energies)),
                                   ("matching", r_energies, r_gammas)):
        for p, (e, g) in enumerate(zip(energies, gammas)):
            for r in range(n_repeats):
                rows.append({"rule": rule, "level": 0, "point": p, "eta": -2.0, "gamma": g, "repeat": r,
                             "energy": e})
    return pd.DataFrame(rows)


def test_nesting_table_passes_within_noise_and_flags_beyond():
    from mesoscale.generative import nesting_table

    # the rule's gamma = 0 line is 0.03 worse than sptl, with top-k spreads of 0.07: within tolerance
    noisy = _nest_table([0.30, 0.40, 0.9], [0.33, 0.43, 0.95], [0.0, 0.0, 1.0])
    row = nesting_table(noisy, top_k=2).iloc[0]
    assert row["k"] == 2 and row["reference"] == "sptl" and row["ok"] and row["note"] == ""
    sd = np.std([0.33, 0.43], ddof=1)
    assert np.isclose(row["excess"], 0.03) and np.isclose(row["tolerance"], 2 * np.hypot(sd, sd))
    assert np.isclose(row["gamma0_energy"], 0.38) and np.isclose(row["energy"], 0.38)
    assert np.isclose(row["sptl_energy"], 0.35)
    # the same gap without spread is a violation; so is the rule's best (gamma != 0) point far above sptl
    tight = nesting_table(_nest_table([0.35, 0.35, 0.9], [0.38, 0.38, 0.95], [0.0, 0.0, 1.0]), top_k=2).iloc[0]
    assert not tight["ok"] and tight["tolerance"] == 0.0 and np.isclose(tight["excess"], 0.03)
    far = _nest_table([0.30, 0.32, 0.5], [0.90, 0.92, 0.80], [0.0, 0.0, 1.0])
    row = nesting_table(far, top_k=2).iloc[0]
    assert not row["ok"] and np.isclose(row["energy"], 0.85) and np.isclose(row["gamma0_energy"], 0.91)
    assert row["excess"] > row["tolerance"] > 0
    assert nesting_table(far, top_k=2, z=1e6).iloc[0]["ok"]  # a huge z forgives anything
    # k is shared, so the rule's top-k can never be worse than its own gamma = 0 points
    many = _nest_table([0.2, 0.2, 0.2], [0.55, 0.3, 0.4, 0.15], [0.0, 0.0, 2.0, 3.0], n_repeats=2)
    row = nesting_table(many, top_k=5).iloc[0]
    assert row["k"] == 2 and np.isclose(row["energy"], 0.225) and np.isclose(row["gamma0_energy"], 0.425)
    assert row["reference"] == "sptl" and row["ok"]  # 0.025 above sptl: within the spread (0.15, 0.3) of the rule
    # sptl alone: no rows; neither gamma = 0 points nor sptl, a box without 0, k = 1: not checked
    assert len(nesting_table(many[many.rule == "sptl"])) == 0
    alone = nesting_table(many[(many.rule == "matching") & (many.gamma != 0)]).iloc[0]
    assert alone["ok"] and alone["note"].startswith("not checked") and alone["reference"] == ""
    box = nesting_table(far, top_k=2, gamma_range=(0.5, 3.0)).iloc[0]
    assert box["ok"] and "excludes 0" in box["note"]
    one = nesting_table(far, top_k=1).iloc[0]
    assert one["k"] == 1 and np.isinf(one["tolerance"]) and one["ok"] and "k = 1" in one["note"]
    with pytest.raises(ValueError, match="'z'"):
        nesting_table(far, z=-1.0)
    with pytest.raises(ValueError, match="'gamma_range'"):
        nesting_table(far, gamma_range=(1.0,))


@pytest.mark.parametrize("model_var", [("powerlaw", "powerlaw"), ("exponential", "exponential")])
def test_every_rule_at_gamma_zero_is_sptl_bit_for_bit(model_var):
    """The nesting the check relies on: at gamma = 0 every rule grows sptl's networks from the same streams."""
    _, D = _positions_D(18, seed=52)
    ref = generate(D, 35, "sptl", -2.0, model_var=model_var, n_networks=4, seed=11)
    for rule in WIRING_RULES:
        if rule != "sptl":
            assert np.array_equal(generate(D, 35, rule, -2.0, 0.0, model_var=model_var, n_networks=4, seed=11), ref)


def test_fit_always_searches_the_gamma_zero_line():
    _, D = _positions_D(20, seed=50)
    target = generate(D, 40, "matching", -2.0, 0.5, seed=3)[0]
    kw = dict(rules=["sptl", "matching", "deg-avg"], n_draws=8, levels=3, n_networks=2, seed=4, progress=False)
    res = fit(target, D, n_gamma0=5, **kw)
    t = res.table
    for rule in ("matching", "deg-avg"):
        line = t[(t.rule == rule) & (t.gamma == 0.0)]
        assert len(line) == 5 * 3 * 2 and line.point.min() == 8  # numbered after the level's 2-D points
        assert line.eta.between(-7.0, 0.0).all() and line.groupby("level").point.nunique().tolist() == [5, 5, 5]
    assert t[t.rule == "sptl"].gamma.isna().all() and (t.rule == "sptl").sum() == 8 * 3 * 2
    # the 2-D search is the one a fit without the line makes (its own generator), number for number
    no_line = fit(target, D, n_gamma0=0, **kw).table
    two_d = t[(t.rule == "sptl") | (t.point < 8)].reset_index(drop=True)
    pd.testing.assert_frame_equal(two_d, no_line)
    assert list(res.nesting.rule) == ["matching", "deg-avg"] and res.settings["n_gamma0"] == 5
    # grid: a gamma = 0 row at the grid's eta values, unless the grid has one (odd side over a symmetric box)
    g16 = fit(target, D, rules=["matching"], search="grid", n_draws=16, seed=0, progress=False).table
    assert (g16.gamma == 0.0).sum() == 4 and len(g16) == 20
    g9 = fit(target, D, rules=["matching"], search="grid", n_draws=9, seed=0, progress=False).table
    assert (g9.gamma == 0.0).sum() == 3 and len(g9) == 9
    # a box without gamma = 0 has no line (and nothing to check)
    boxed = fit(target, D, rules=["sptl", "matching"], n_draws=4, levels=1, gamma_range=(0.5, 2.0), seed=0,
                progress=False)
    assert len(boxed.table) == 8 and "excludes 0" in boxed.nesting.note.iloc[0]
    with pytest.raises(ValueError, match="'n_gamma0'"):
        fit(target, D, n_gamma0=-1, progress=False)
    with pytest.raises(ValueError, match="'nesting'"):
        fit(target, D, nesting="loud", progress=False)


def test_fit_gamma_zero_line_on_the_sweep_path_and_in_its_store(tmp_path):
    _, D = _positions_D(16, seed=42)
    target = generate(D, 30, "sptl", -2.0, seed=5)[0]
    kw = dict(rules=["sptl", "neighbors"], n_draws=5, levels=2, n_networks=2, n_gamma0=3, seed=6, progress=False)
    a = fit(target, D, **kw)
    b = fit(target, D, store=tmp_path / "fs", **kw)
    key = ["rule", "level", "point", "repeat"]
    cols = key + ["eta", "gamma", "energy"]
    pd.testing.assert_frame_equal(a.table[cols].sort_values(key).reset_index(drop=True),
                                  b.table[cols].sort_values(key).reset_index(drop=True))
    assert (tmp_path / "fs" / "neighbors" / "level1-gamma0").is_dir()
    assert not (tmp_path / "fs" / "sptl" / "level0-gamma0").exists()
    again = fit(target, D, store=tmp_path / "fs", **{**kw, "seed": None})  # resumes with the recorded seed
    pd.testing.assert_frame_equal(again.table[cols], b.table[cols])
    pd.testing.assert_frame_equal(a.nesting, b.nesting)


def test_fit_nesting_warns_raises_or_ignores(monkeypatch):
    import warnings

    from mesoscale.generative import NestingError, NestingWarning, fitting

    _, D = _positions_D(20, seed=51)
    target = generate(D, 40, "sptl", -3.0, seed=7)[0]
    kw = dict(rules=["sptl", "matching"], n_draws=10, levels=2, n_networks=3, seed=9, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NestingWarning)  # a sound fit is quiet
        good = fit(target, D, **kw)
    assert good.nesting.ok.all() and good.nesting.note.eq("").all()
    real = fitting._evaluate_inprocess

    def worse(grid, *args, **kwargs):  # a search that never finds the rule's good points
        df = real(grid, *args, **kwargs)
        if grid[0]["rule"] != "sptl":
            df["energy"] = np.minimum(1.0, df["energy"] + 0.3)
        return df

    monkeypatch.setattr(fitting, "_evaluate_inprocess", worse)
    with pytest.warns(NestingWarning, match=r"matching: top-10 energy .* > sptl"):
        warned = fit(target, D, **kw)
    row = warned.nesting.iloc[0]
    assert not row["ok"] and row["excess"] > row["tolerance"] and row["reference"] == "sptl"
    with pytest.raises(NestingError, match="search artefact") as info:
        fit(target, D, nesting="raise", **kw)
    assert info.value.result.nesting.equals(warned.nesting) and len(info.value.result.table) == len(warned.table)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NestingWarning)
        quiet = fit(target, D, nesting="ignore", **kw)
    assert not quiet.nesting.ok.iloc[0]
    # without any patch, a tiny gamma = 0 line (one point per level) trips the check by budget alone
    # (for 3 of the seeds 0-11 with the engine's draws since issue 14; seed 0 by a clear margin)
    monkeypatch.undo()
    with pytest.warns(NestingWarning, match="matching"):
        tiny = fit(target, D, **{**kw, "n_gamma0": 1, "seed": 0})
    row = tiny.nesting.iloc[0]
    assert row["k"] == 2 and row["reference"] == "sptl" and row["excess"] > row["tolerance"]


def test_distances_symmetric_within_tolerance_are_symmetrised():
    """A pair's weight is computed from either end: D is made exactly symmetric, so a D that is
    symmetric only within the validation tolerance grows the networks of its symmetric part."""
    _, D = _positions_D(16, seed=60)
    noise = np.triu(np.random.default_rng(61).random((16, 16)) * 1e-9, 1)
    Dn = D + noise  # upper triangle perturbed, lower not: symmetric to 1e-9 only
    for var in ("powerlaw", "exponential"):
        X = distance_feature(Dn, var)
        assert np.array_equal(X, X.T) and np.array_equal(X, distance_feature(0.5 * (Dn + Dn.T), var))
    for rule in ("matching", "clu-avg", "deg-prod"):
        a = generate(Dn, 30, rule, -2.0, 0.5, n_networks=3, seed=4)
        b = generate(0.5 * (Dn + Dn.T), 30, rule, -2.0, 0.5, n_networks=3, seed=4)
        assert np.array_equal(a, b)
    ref = generate(Dn, 30, "sptl", -2.0, n_networks=3, seed=4)
    assert np.array_equal(generate(Dn, 30, "clu-prod", -2.0, 0.0, n_networks=3, seed=4), ref)


def test_pick_walks_the_packed_triangle_in_order_across_row_blocks():
    """The sampler's map from u to a pair is the inverse cumulative sum over the upper triangle in
    row-major order (rows in blocks of 32, then a column in the packed row), empty rows skipped."""
    from mesoscale.generative import _triangle

    rng = np.random.default_rng(70)
    n = 150  # five blocks of rows
    W = rng.random((n, n)) * (rng.random((n, n)) < 0.3)
    W[70:90] = 0.0  # empty rows, one of them a whole block boundary's neighbourhood
    iu = np.triu_indices(n, 1)
    w = W[iu]
    off = np.array([i * (2 * n - i - 1) // 2 for i in range(n)])
    R = np.array([w[off[i]:off[i] + n - i - 1].sum() for i in range(n)])
    bsum = np.empty((n + 31) // 32)
    T = _triangle.totals(R, bsum)
    assert T == pytest.approx(w.sum(), rel=1e-13)
    cum = np.cumsum(w)
    for u in rng.random(3000):
        i, j = _triangle.pick(R, bsum, w, off, T, u)
        ref = min(int(np.searchsorted(cum, u * T, side="right")), w.size - 1)
        if abs(cum[ref] - u * T) < 1e-9 * T or (ref and abs(cum[ref - 1] - u * T) < 1e-9 * T):
            continue  # on a boundary rounding may go either way
        assert (i, j) == (iu[0][ref], iu[1][ref])


@pytest.mark.parametrize("rule", ["matching", "clu-avg", "clu-min", "clu-diff", "clu-prod", "deg-prod", "neighbors"])
def test_incremental_state_of_a_larger_network_spanning_row_blocks(rule):
    n = 90
    _, D = _positions_D(n, seed=71)
    m = 600
    A, k, CN, tri, L, W, R, M, steps, bmode, hold = _run_state(np.zeros((n, n)), D, m, rule, -2.5, 0.8,
                                                               ("powerlaw", "powerlaw"), 72)
    Af = A.astype(float)
    CNref = (Af @ Af).astype(int)
    np.fill_diagonal(CNref, 0)
    assert steps == m and np.array_equal(CN, CNref)
    if rule in ("clu-avg", "clu-min", "clu-prod"):
        assert bmode == 1  # drawn by thinning (accepts well here)
    elif rule != "clu-diff":  # clu-diff may fall back to exact rows when its window accepts too few
        assert bmode == 0
    Lref, cand = ref_held_logweights(Af, D, rule, -2.5, 0.8, ("powerlaw", "powerlaw"), bmode, hold)
    assert np.all(W[~cand] == 0.0)
    assert np.allclose(np.log(W[cand]), Lref[cand] - M, rtol=1e-9, atol=1e-7)
    assert np.allclose(R, np.triu(W, 1).sum(1), rtol=1e-10, atol=1e-300)


def _assert_homogeneous(counts):
    """Chi-square homogeneity of two rows of counts (cells with > 10 draws), at a generous bound."""
    keep = counts.sum(0) > 10
    exp = counts[:, keep].sum(0)[None] / 2
    chi2 = (((counts[:, keep] - exp) ** 2) / exp).sum()
    dof = max(int(keep.sum()) - 1, 1)
    assert chi2 < dof + 6 * np.sqrt(2 * dof) + 10, (chi2, dof)


@pytest.mark.parametrize("rule,gamma", [("clu-avg", 1.3), ("clu-avg", -1.5), ("clu-diff", 0.9), ("clu-prod", 1.6)])
def test_thinning_draws_the_same_law_as_exact_rows_over_several_steps(rule, gamma):
    """clu-avg/-diff/-prod draw by thinning on the factored path and from exact rows in log space
    (fast_range = 0): the third added edge has the same distribution (chi-square homogeneity)."""
    n = 7
    _, D = _positions_D(n, seed=31)
    A0 = _random_graph(n, 0.4, seed=32)
    m = int(A0.sum()) // 2 + 3
    model_var = ("powerlaw", "powerlaw")
    iu = np.triu_indices(n, 1)
    index = np.full((n, n), -1)
    index[iu] = np.arange(len(iu[0]))
    B = 3000
    counts = np.zeros((2, len(iu[0])), int)
    for q, fr in enumerate((_kernels.FAST_RANGE, 0.0)):
        for s in range(B):
            U = np.random.default_rng(5000 + s + q * B).random(3)
            order = np.zeros((3, 2), np.int32)
            X = distance_feature(D, model_var[0])[None]
            out = _kernels.grow_state(np.asarray(A0, np.uint8), X, np.zeros(1, np.int64), np.array([m], np.int64),
                                      np.zeros(n, np.int64), _kernels.RULE_CODE[rule], -0.8, gamma, 1e-5, False, U,
                                      order, fr)
            assert out[-2] == (_weights.bound_mode(_kernels.RULE_CODE[rule], gamma) if q == 0 else 0)
            counts[q, index[min(order[2]), max(order[2])]] += 1
    _assert_homogeneous(counts)


@pytest.mark.parametrize("rule,gamma", [("clu-min", 0.3), ("clu-min", 2.0), ("clu-min", -1.5), ("clu-max", 1.0),
                                        ("clu-prod", 0.3), ("clu-prod", 2.0), ("clu-avg", 0.3)])
def test_lazy_bounds_draw_the_same_law_as_exact_rows(rule, gamma):
    """Thinning from lazily held node bounds (rows recomputed only when a bound stops dominating
    its factor or grows too loose) against exact rows in log space: the sixth added edge has the
    same distribution (chi-square homogeneity), and the runs do end with stale bounds held."""
    n = 8
    _, D = _positions_D(n, seed=33)
    A0 = _random_graph(n, 0.35, seed=34)
    steps = 6
    m = int(A0.sum()) // 2 + steps
    X = distance_feature(D, "powerlaw")[None]
    eps = 1e-5
    iu = np.triu_indices(n, 1)
    index = np.full((n, n), -1)
    index[iu] = np.arange(len(iu[0]))
    B = 3000
    counts = np.zeros((2, len(iu[0])), int)
    stale = 0
    for q, fr in enumerate((_kernels.FAST_RANGE, 0.0)):
        for s in range(B):
            U = np.random.default_rng(7000 + s + q * B).random(steps)
            order = np.zeros((steps, 2), np.int32)
            out = _kernels.grow_state(np.asarray(A0, np.uint8), X, np.zeros(1, np.int64), np.array([m], np.int64),
                                      np.zeros(n, np.int64), _kernels.RULE_CODE[rule], -0.8, gamma, eps, False, U,
                                      order, fr)
            assert out[-2] == (1 if q == 0 else 0)
            counts[q, index[min(order[-1]), max(order[-1])]] += 1
            if q == 0:
                lgx = gamma * np.log(bct.clustering_coef_bu(out[0].astype(float)) + eps)
                stale += bool(np.any(out[-1] > lgx + 1e-6))
    assert stale > B // 10  # the lazy bounds were exercised
    _assert_homogeneous(counts)


@pytest.mark.parametrize("rule,gamma", [("clu-min", 0.8), ("clu-min", -1.2), ("clu-max", 1.5), ("clu-max", -0.7),
                                        ("clu-prod", 0.3), ("clu-prod", 2.0), ("clu-avg", 1.0), ("clu-avg", -1.0),
                                        ("clu-diff", 0.5)])
@pytest.mark.parametrize("model_var", [("powerlaw", "powerlaw"), ("powerlaw", "exponential")])
def test_held_bound_times_acceptance_is_the_rules_weight(rule, gamma, model_var):
    """Thinning keeps the law when its held bounds are stale: for every candidate pair of a grown
    state, the weight held (the proposal) times the acceptance ratio is the rule's own weight."""
    n = 50
    _, D = _positions_D(n, seed=81)
    eps = 1e-5
    kexp = model_var[1] == "exponential"
    code = _kernels.RULE_CODE[rule]
    A, *_, W, _, M, _, bmode, hold = _run_state(np.zeros((n, n)), D, 300, rule, -2.0, gamma, model_var, 82)
    assert bmode == _weights.bound_mode(code, gamma) > 0
    Af = A.astype(float)
    cl = bct.clustering_coef_bu(Af)
    x = cl * (0.5 if bmode == 2 else 1.0)
    lgx = gamma * (x + eps) if kexp else gamma * np.log(x + eps)
    assert np.sum(hold > lgx + 1e-6) >= 3  # some bounds are stale
    MG = max(_weights.lg(0.0, gamma, eps, kexp), _weights.lg(_weights.k_max(code, n), gamma, eps, kexp))
    P = np.exp(hold - MG)
    rowrule = _weights.row_rule(code, gamma, bmode)
    Ltrue, cand = ref_logweights(Af, D, rule, -2.0, gamma, model_var, eps)
    for i, j in zip(*np.nonzero(np.triu(cand, 1))):
        ratio = _weights.accept_ratio(code, rowrule, i, j, cl, P, gamma, eps, kexp, MG)
        assert ratio <= 1.0 + 1e-12
        assert W[i, j] * ratio == pytest.approx(np.exp(Ltrue[i, j] - M), rel=1e-9, abs=1e-300)


def test_thinning_falls_back_to_exact_rows_when_it_accepts_too_few():
    """clu-diff with a large gamma accepts few proposals: the engine switches to exact rows and
    the state it holds is then the rule's own weights."""
    n = 40
    _, D = _positions_D(n, seed=41)
    A, k, CN, tri, L, W, R, M, steps, bmode, hold = _run_state(np.zeros((n, n)), D, 300, "clu-diff", -1.0, 6.0,
                                                               ("powerlaw", "powerlaw"), 42)
    assert bmode == 0 and steps == 300
    Af = A.astype(float)
    Lref, cand = ref_logweights(Af, D, "clu-diff", -1.0, 6.0, ("powerlaw", "powerlaw"))
    live = cand & (W > 1e-200)
    assert np.allclose(np.log(W[live]), Lref[live] - M, rtol=1e-9, atol=1e-7)
    assert np.allclose(R, np.triu(W, 1).sum(1), rtol=1e-8, atol=1e-280)


def test_thinning_uniform_stream():
    """The SplitMix64 draws of thinning are uniform on [0, 1) and differ between seeds."""
    from numba import njit

    @njit
    def draws(u, count):
        st = np.uint64(_vecmath._bits(u))
        out = np.empty(count)
        for i in range(count):
            out[i], st = _kernels._next_uniform(st)
        return out

    x = draws(0.25, 200000)
    assert x.min() >= 0.0 and x.max() < 1.0
    assert abs(x.mean() - 0.5) < 0.005 and abs(x.var() - 1 / 12) < 0.002
    assert np.histogram(x, 20, (0, 1))[0].min() > 9000
    assert not np.array_equal(draws(0.25, 5), draws(0.2500000001, 5))
