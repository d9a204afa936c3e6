"""Tests of mesoscale.generative.landscape and .development: sweeps and their mesoscale summaries."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from mesoscale.generative import development as DEV
from mesoscale.generative import landscape as L
from mesoscale.metrics import distance_matrix, wiring_cost


@pytest.fixture(scope="module")
def line_D():
    P = L.embedding_positions("line", 60, seed=3, aspect=20.0)
    return distance_matrix(P)


def test_rule_families_cover_every_rule():
    from mesoscale.generative import WIRING_RULES

    members = [r for fam in L.RULE_FAMILIES.values() for r in fam]
    assert sorted(members) == sorted(WIRING_RULES)
    assert [L.rule_family(r) for r in L.REPRESENTATIVE_RULES] == ["spatial", "homophily", "clustering", "degree"]
    with pytest.raises(ValueError, match="'rule'.*'bogus'"):
        L.rule_family("bogus")


def test_wiring_cost_known_values():
    # network_summary reports the relative wiring cost of mesoscale.metrics (the one wiring_cost)
    x = np.arange(4.0)
    D = np.abs(x[:, None] - x[None])
    path = np.diag(np.ones(3), 1)
    path = path + path.T
    assert wiring_cost(path, D, relative=True) == pytest.approx(3 / (3 * 5 / 3))
    long = np.zeros((4, 4))
    long[0, 3] = long[3, 0] = 1
    assert wiring_cost(long, D, relative=True) == pytest.approx(3 / (5 / 3))
    with pytest.raises(ValueError, match="no connections"):
        wiring_cost(np.zeros((4, 4)), D, relative=True)
    s = L.network_summary(path, D, nulls=("degree",), n_null=2, n_runs=1, seed=0)
    assert s["wiring_cost"] == pytest.approx(0.6)


def test_network_summary_fields_and_determinism():
    A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    s1 = L.network_summary(A, nulls=("degree", "density"), n_null=4, n_runs=2, seed=5)
    s2 = L.network_summary(A, nulls=("degree", "density"), n_null=4, n_runs=2, seed=5)
    assert s1 == s2
    for k in ("Q", "z_degree", "percentile_degree", "Q_null_density", "z_density", "n_modules",
              "largest_module", "participation", "efficiency", "n_null", "n_runs"):
        assert k in s1
    assert s1["n_null"] == 4 and s1["n_edges"] == 78
    assert np.isnan(s1["wiring_cost"])
    assert s1["efficiency"] == pytest.approx(nx.global_efficiency(nx.karate_club_graph()))
    sizes = np.bincount(s1["partition"])
    assert s1["n_modules"] == sizes.size and s1["largest_module"] == pytest.approx(sizes.max() / 34)


def test_network_summary_rejects_bad_input():
    A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    with pytest.raises(ValueError, match="'spatial'.*'D'"):
        L.network_summary(A, nulls=("spatial",), n_null=3)
    with pytest.raises(ValueError, match="'nulls'.*'nope'"):
        L.network_summary(A, nulls=("nope",), n_null=3)
    with pytest.raises(ValueError, match="'n_null'"):
        L.network_summary(A, nulls=("degree",), n_null=1)
    with pytest.raises(ValueError, match="no edges"):
        L.network_summary(np.zeros((5, 5)), nulls=("degree",), n_null=3)
    with pytest.raises(ValueError, match="symmetric"):
        L.network_summary(np.triu(A), nulls=("degree",), n_null=3)


def test_embeddings():
    cube = L.embedding_positions("cube", 40, seed=1)
    assert cube.shape == (40, 3) and cube.min() >= 0 and cube.max() <= 1
    line = L.embedding_positions("line", 40, seed=1, aspect=10)
    assert np.ptp(line[:, 0]) > 5 * np.ptp(line[:, 1])
    assert np.array_equal(L.embedding_positions("line", 40, seed=1), L.embedding_positions("line", 40, seed=1))
    base = np.arange(30.0).reshape(10, 3)
    sub = L.embedding_positions("worm", 4, seed=0, base=base)
    assert sub.shape == (4, 3) and all(any(np.array_equal(r, b) for b in base) for r in sub)
    with pytest.raises(ValueError, match="'n'.*at most the 10"):
        L.embedding_positions("human", 11, base=base)
    with pytest.raises(ValueError, match="'kind'"):
        L.embedding_positions("sphere", 10)


def test_spatial_rule_on_a_line_is_modular_random_wiring_is_not(line_D):
    """The acceptance check of the brief: strongly spatial wiring on an elongated body gives
    significant modularity against the degree-preserving null; eta = 0 (random wiring) does not."""
    # 20 nulls: the smallest empirical p is 1/21 < 0.05 (with 8 nulls no network could be significant); 240 edges
    # keep the strongly spatial networks in one piece (at 120 they fall apart and count as fragmented, never significant)
    df = L.landscape(line_D, 240, rules=["sptl"], etas=[-6.0, 0.0], n_networks=2, nulls=("degree",),
                     n_null=20, n_runs=2, seed=1, progress=False)
    sparse = L.landscape(line_D, 120, rules=["sptl"], etas=[-6.0], n_networks=2, nulls=("degree",), n_null=20,
                         n_runs=2, seed=1, progress=False)
    assert sparse["fragmented"].all() and (L.summarize(sparse, by=["rule"])["frac_sig_degree"] == 0).all()
    assert len(df) == 4 and set(df["gamma"]) == {0.0}
    spatial = df[df.eta == -6.0]
    random = df[df.eta == 0.0]
    assert (spatial["z_degree"] > 3).all(), spatial["z_degree"].tolist()
    assert (random["z_degree"].abs() < 3).all(), random["z_degree"].tolist()
    assert spatial["wiring_cost"].max() < 0.3 < random["wiring_cost"].min()
    summ = L.summarize(df, by=["rule", "eta"], z_threshold=3.0)
    assert summ.set_index("eta").loc[-6.0, "frac_sig_degree"] == 1.0
    assert summ.set_index("eta").loc[0.0, "frac_sig_degree"] == 0.0
    assert (summ["n_networks"] == 2).all()
    assert (df["delta_low_degree"] > 0).sum() >= 2 and (df["p_degree"] >= 1 / 21).all()


def test_significance_is_corrected_over_the_sweep_and_never_counts_pieces():
    df = pd.DataFrame({"p_degree": [0.01, 0.02, 0.03, 0.5], "p_spatial": [0.01, 0.01, 0.6, 0.01],
                       "fragmented": [False, True, False, False]})
    out = L.significance(df, alpha=0.05, pvalues="empirical")
    assert out["sig_degree"].tolist() == [True, False, True, False]  # BH: 0.03 * 4 / 3 = 0.04 < 0.05
    assert out["sig_all"].tolist() == [True, False, False, False]
    holm = L.significance(df, alpha=0.05, method="holm", pvalues="empirical")
    assert holm["sig_degree"].tolist() == [True, False, False, False]
    # p from z: z = 5 with 20 nulls is far beyond chance, z = 1 is not
    zt = pd.DataFrame({"z_degree": [5.0, 5.0, 1.0, 5.0], "n_null": 20, "fragmented": [False, True, False, False],
                       "rule": "a"})
    summ = L.summarize(zt, by=["rule"])
    assert summ.loc[0, "frac_fragmented"] == 0.25 and summ.loc[0, "frac_sig_all"] == 0.5


def test_landscape_grid_seeds_and_store(tmp_path, line_D):
    kw = dict(rules=["sptl", "matching"], etas=[-2.0], gammas=[0.0, 1.0], nulls=("degree",), n_null=3,
              n_runs=1, seed=4, progress=False)
    a = L.landscape(line_D, 80, **kw)
    assert a[["rule", "gamma"]].values.tolist() == [["sptl", 0.0], ["matching", 0.0], ["matching", 1.0]]
    assert set(a["family"]) == {"spatial", "homophily"}
    assert (a["n_edges"] == 80).all()
    b = L.landscape(line_D, 80, store=tmp_path / "s", **kw)
    pd.testing.assert_frame_equal(a.drop(columns=[]), b)
    c = L.landscape(line_D, 80, store=tmp_path / "s", **kw)  # reloaded, not recomputed
    assert c.attrs["sweep"]["n_computed"] == 0
    pd.testing.assert_frame_equal(b, c)
    d = L.landscape(line_D, 80, **{**kw, "seed": 5})
    assert not np.allclose(a["Q"], d["Q"])
    with pytest.raises(ValueError, match="different grid"):  # other inputs -> other fingerprint
        L.landscape(line_D, 81, store=tmp_path / "s", **kw)


def test_landscape_rejects_bad_input(line_D):
    with pytest.raises(ValueError, match="'m'"):
        L.landscape(line_D, 10**6, progress=False)
    with pytest.raises(ValueError, match="'rules'.*'foo'"):
        L.landscape(line_D, 50, rules=["foo"], progress=False)
    with pytest.raises(ValueError, match="'etas'"):
        L.landscape(line_D, 50, etas=[np.nan], progress=False)
    with pytest.raises(ValueError, match="'n_jobs'"):
        L.landscape(line_D, 50, rules=["sptl"], etas=[-1.0], n_jobs=0, progress=False)


def test_conditions_factors():
    df = L.conditions([("sptl", 0.0), ("matching", 0.5)], [-3.0], sizes=[20, 30], densities=[0.1, 0.2],
                      embeddings=["cube", "line"], base_n=24, base_density=0.15, base_embedding="line",
                      n_networks=1, nulls=("degree",), n_null=3, n_runs=1, seed=0, progress=False)
    assert len(df) == (2 + 2 + 2) * 2
    by_factor = df.groupby("factor")
    assert sorted(by_factor.get_group("n")["n"].unique()) == [20, 30]
    assert set(by_factor.get_group("density")["n"]) == {24}
    assert set(by_factor.get_group("embedding")["embedding"]) == {"cube", "line"}
    expected = (df["density"] * df["n"] * (df["n"] - 1) / 2).round().astype(int)
    assert (df["n_edges"] == expected).all()
    with pytest.raises(ValueError, match="'human'.*68"):
        L.conditions([("sptl", 0.0)], [-1.0], sizes=[100], embeddings=["human"], base_embedding="human",
                     progress=False)
    with pytest.raises(ValueError, match="'rule_params'"):
        L.conditions(["sptl"], [-1.0], progress=False)
    with pytest.raises(ValueError, match="'density'.*no edge"):
        L.conditions([("sptl", 0.0)], [-1.0], sizes=[10], densities=[0.001], base_n=10, progress=False)


def test_summarize_checks_columns():
    df = pd.DataFrame({"rule": ["a", "a", "b"], "z_degree": [3.0, 1.0, 5.0], "z_spatial": [3.0, 3.0, 0.0]})
    s = L.summarize(df, by="rule").set_index("rule")
    assert s.loc["a", "frac_sig_degree"] == 0.5 and s.loc["a", "frac_sig_all"] == 0.5
    assert s.loc["b", "frac_sig_all"] == 0.0
    with pytest.raises(ValueError, match="'by'.*'eta'"):
        L.summarize(df, by=["eta"])
    with pytest.raises(TypeError, match="'df'"):
        L.summarize([1, 2])


def test_development_schedule_accelerating_then_linear():
    # neurons born in order along a long body; the contact range is short: once the body is
    # much longer than the range, links grow linearly with neurons; early on, quadratically
    n = 200
    P = np.c_[np.linspace(0, 100, n), np.zeros(n), np.zeros(n)]
    order = np.random.default_rng(0).permutation(n)
    s = DEV.development_schedule(P, order, m_final=600, n_stages=20, elongation=1.0, length_scale=0.02, axis=0)
    curve = DEV.development_curve(s)
    assert curve["links"].iloc[-1] == 600 and (np.diff(curve["links"]) >= 0).all()
    assert curve["neurons"].iloc[-1] == n
    assert curve["exponent"].iloc[2:8].median() == pytest.approx(2.0, abs=0.3)
    # a compact body (huge range): every pair in contact, links ~ neurons^2 throughout
    s2 = DEV.development_schedule(P, order, m_final=600, n_stages=20, elongation=1.0, length_scale=50.0, axis=0)
    assert DEV.development_curve(s2)["exponent"].iloc[5:].median() == pytest.approx(2.0, abs=0.15)
    # births along the body, elongation: the contact count falls below the quadratic law
    s3 = DEV.development_schedule(P, np.arange(n), m_final=600, n_stages=20, elongation=8.0, length_scale=0.02,
                                axis=0)
    assert DEV.development_curve(s3)["exponent"].iloc[10:].median() < 1.3
    with pytest.raises(ValueError, match="'birth_order'"):
        DEV.development_schedule(P, np.arange(n - 1), m_final=10)
    with pytest.raises(ValueError, match="'elongation'"):
        DEV.development_schedule(P, order, m_final=10, elongation=0.5, axis=0)
    with pytest.raises(ValueError, match="'length_scale'"):
        DEV.development_schedule(P, order, m_final=10, length_scale=0.0, axis=0)


def test_development_on_a_synthetic_body():
    n = 60
    rng = np.random.default_rng(1)
    P = np.c_[np.zeros(n), np.sort(rng.random(n)) * 10, rng.random(n) * 0.5]
    ganglia = np.repeat(np.array(["head", "mid", "tail"], dtype=object), n // 3)
    inputs = {"positions": P, "birth_order": rng.permutation(n), "ganglion": ganglia,
              "adult": np.zeros((n, n)), "axis": 1}
    df = DEV.development([1.0, 4.0], [0.05], inputs=inputs, m_final=150, n_stages=10, nulls=("degree",),
                       n_null=4, n_runs=2, n_perm=20, seed=2, progress=False)
    assert len(df) == 2 and (df["n_edges"] == 150).all()
    # short-range wiring along a body yields position-bound modules that match the 3 body thirds
    assert (df["nmi_ganglia"] > df["nmi_ganglia_null"]).all()
    assert (df["nmi_ganglia_z"] > 3).all() and (df["z_degree"] > 2).all()
    for col in ("ari_ganglia", "exponent_early", "exponent_late", "n_perm"):
        assert col in df
    with pytest.raises(ValueError, match="'inputs'.*'birth_order'"):
        DEV.development([1.0], [0.1], inputs={"positions": P}, progress=False)


def test_development_schedule_when_stretching_removes_contacts():
    # neurons born head first, the late ones far out in the tail: stretching the body lowers the
    # contact count between stages; links are never removed, so m stays non-decreasing
    n = 80
    x = np.r_[np.linspace(0, 1, 60), np.linspace(50, 60, 20)]
    P = np.c_[x, np.zeros(n), np.zeros(n)]
    s = DEV.development_schedule(P, np.arange(n), m_final=300, n_stages=16, elongation=8.0, length_scale=0.01, axis=0)
    assert s["contacts"].max() > s["contacts"][-1]  # the case that used to fail
    assert (np.diff(s["m"]) >= 0).all() and s["m"][-1] == 300
    assert (s["m"] <= s["n_born"] * (s["n_born"] - 1) // 2).all()


def test_rule_verdicts_and_best_by():
    s = pd.DataFrame({"rule": ["a", "a", "b"], "eta": [0.0, 1.0, 0.0], "gamma": 0.0, "Q": [0.4, 0.2, 0.1],
                      "frac_sig_degree": [1.0, 0.0, 0.0], "z_degree": [3.0, 1.0, 0.5], "wiring_cost": 0.5,
                      "efficiency": 0.3})
    v = L.rule_verdicts(s, ["degree"], rules=["b", "a"])
    assert v.index.tolist() == ["b", "a"] and v.loc["a", "median z vs degree"] == 2.0
    assert L.best_by(s, "z_degree", rule="a")["eta"] == 0.0
    assert L.best_by(s, "Q", by="rule").to_dict() == {"a": 0.4, "b": 0.1}
    with pytest.raises(ValueError, match="no row"):
        L.best_by(s, "Q", rule="c")
    with pytest.raises(ValueError, match="'nope'"):
        L.best_by(s, "Q", nope=1)


def test_growth_curves_and_real_worm_summary():
    P = np.c_[np.linspace(0, 10, 30), np.zeros(30), np.zeros(30)]
    inp = {"positions": P, "birth_order": np.arange(30), "axis": 0}
    curves = DEV.growth_curves(inp, [1.0, 4.0], [0.05, 0.2], m_final=40, n_stages=5)
    assert len(curves) == 4 and all(c["links"].iloc[-1] == 40 for c in curves.values())
    A = nx.to_numpy_array(nx.connected_caveman_graph(3, 6))
    inp = {"positions": np.random.default_rng(0).random((18, 3)), "adult": A, "ganglion": np.repeat(list("abc"), 6)}
    r = DEV.real_worm_summary(inp, ("degree", "spatial"), n_null=3, n_runs=1, n_perm=10, seed=0)
    assert r["n_modules_2plus"] == 3 and r["nmi_ganglia"] == pytest.approx(1.0) and r["z_degree"] > 2
    again = DEV.real_worm_summary(inp, ("degree", "spatial"), n_null=3, n_runs=1, n_perm=10, seed=0)
    assert again["Q"] == r["Q"] and again["z_spatial"] == r["z_spatial"]
