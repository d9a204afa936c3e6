"""Tests of the fit evaluation (ranking, comparison, forecast, dataset preparation, figures): known answers."""

import matplotlib

matplotlib.use("Agg")

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from mesoscale.connectomes import Connectome
from mesoscale.connectomes import preparation
from mesoscale.generative import comparison, forecast, generate, plots, ranking


def _points(n, seed=0):
    xy = np.random.default_rng(seed).random((n, 2))
    return xy, np.linalg.norm(xy[:, None] - xy[None], axis=-1)


def _sym(M):
    M = np.triu(M, 1)
    return M | M.T


# ------------------------------------------------------------------------- edge scores
def test_forecast_scores_are_sklearns_on_the_pair_scores():
    _, D = _points(25, seed=3)
    A1 = generate(D, 60, "sptl", -3.0, seed=1)[0]
    A0 = _sym(A1 & (np.random.default_rng(2).random(A1.shape) < 0.5))
    fc = forecast.growth_forward_scores(A0, A1, "sptl", -3.0, None, D, n_networks=10, seed=0)
    t = fc.table.set_index("predictor")
    assert set(fc.scores) == {"model", "degree_oracle", *forecast.HONEST_BASELINES}
    for pred, s in fc.scores.items():
        assert t.loc[pred, "roc_auc"] == pytest.approx(roc_auc_score(fc.labels, s), abs=1e-12)
        assert t.loc[pred, "average_precision"] == pytest.approx(average_precision_score(fc.labels, s), abs=1e-12)
    fpr, tpr = fc.roc_curve("model")
    assert fpr[0] == tpr[0] == 0.0 and fpr[-1] == tpr[-1] == 1.0
    assert np.trapezoid(tpr, fpr) == pytest.approx(t.loc["model", "roc_auc"])
    with pytest.raises(ValueError, match="'which'"):
        fc.roc_curve("nope")


def test_scores_known_values():
    assert forecast.precision_at_k([1, 1, 0, 0], [4, 3, 2, 1]) == 1.0
    # three tied at the top, one positive among them, k=2 -> expected 2/3 hits -> 1/3 precision
    assert forecast.precision_at_k([1, 0, 0, 0], [1, 1, 1, 0], k=2) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "labels, scores, match",
    [([1, 1], [0.1, 0.2], "both classes"), ([0, 1], [0.1], "equal length"), ([0, 2], [0.1, 0.2], "0/1"),
     ([0, 1], [0.1, np.nan], "finite")],
)
def test_scores_reject_bad_input(labels, scores, match):
    with pytest.raises(ValueError, match=match):
        forecast.check_scores(labels, scores)


def test_precision_at_k_bad_k():
    with pytest.raises(ValueError, match="'k'"):
        forecast.precision_at_k([0, 1], [0.1, 0.2], k=5)


# ------------------------------------------------------------------------- baselines
def test_degree_preserving_growth_keeps_new_degrees_and_seed():
    A1 = nx.to_numpy_array(nx.gnm_random_graph(30, 90, seed=1)).astype(bool)
    keep = _sym(np.random.default_rng(0).random((30, 30)) < 0.5)
    A0 = A1 & keep
    nets = forecast.degree_preserving_growth(A0, A1, 8, seed=4)
    new_deg = (A1 & ~A0).sum(axis=1)
    for A in nets:
        assert np.array_equal(A, A.T) and not A.diagonal().any()
        assert (A & A0).sum() == A0.sum()  # seed edges kept
        assert np.array_equal((A & ~A0).sum(axis=1), new_deg)  # each node's number of new edges
    # it really randomises: not every network is the real new-edge set
    assert any(not np.array_equal(A, A1) for A in nets)
    assert np.array_equal(nets, forecast.degree_preserving_growth(A0, A1, 8, seed=4))


def test_degree_preserving_growth_star_has_one_realisation():
    A0 = np.zeros((6, 6), bool)
    A1 = np.zeros((6, 6), bool)
    A1[0, 1:] = A1[1:, 0] = True
    nets = forecast.degree_preserving_growth(A0, A1, 5, seed=0)
    assert all(np.array_equal(A, A1) for A in nets)


# --------------------------------------------------------------------- growth forward
def test_growth_forward_greedy_distance_rule_predicts_perfectly():
    # next stage = seed + the 25 shortest unconnected pairs; a steep distance rule grows exactly those
    xy, D = _points(30, 5)
    A0 = generate(D, 30, "sptl", -2.0, seed=0)[0]
    iu = np.triu_indices(30, 1)
    cand = np.flatnonzero(~A0[iu])
    order = cand[np.argsort(D[iu][cand])][:25]
    A1 = A0.copy()
    A1[iu[0][order], iu[1][order]] = True
    A1[iu[1][order], iu[0][order]] = True
    # steep enough that the 25th and 26th shortest pairs (0.207 vs 0.215 apart) are never swapped
    fc = forecast.growth_forward_scores(A0, A1, "sptl", -5000.0, None, D, n_networks=5, seed=1)
    t = fc.table.set_index("predictor")
    assert t.loc["model", "precision_at_k"] == pytest.approx(1.0)
    assert t.loc["model", "roc_auc"] == pytest.approx(1.0)
    assert t.loc["chance", "roc_auc"] == 0.5
    assert t.loc["model", "n_new"] == 25 and t.loc["model", "n_pruned"] == 0
    assert t.loc["chance", "precision_at_k"] == pytest.approx(25 / len(fc.labels))
    assert fc.model_score.min() >= 0 and fc.model_score.max() <= 1
    fpr, tpr = fc.roc_curve("model")
    assert fpr[0] == 0 and tpr[-1] == 1 and np.all(np.diff(fpr) >= 0)


def test_growth_forward_topology_blind_rule_loses_to_degree_oracle_on_hub_growth():
    # all new edges attach to one hub: the degree oracle knows it, a pure distance rule does not
    xy, D = _points(40, 2)
    A0 = generate(D, 40, "sptl", -3.0, seed=3)[0]
    A1 = A0.copy()
    hub = 7
    others = [j for j in range(40) if j != hub and not A0[hub, j]][:15]
    A1[hub, others] = A1[others, hub] = True
    fc = forecast.growth_forward_scores(A0, A1, "sptl", -3.0, None, D, n_networks=30, seed=0)
    t = fc.table.set_index("predictor")
    assert t.loc["degree_oracle", "precision_at_k"] == pytest.approx(1.0)
    assert t.loc["degree_oracle", "roc_auc"] > t.loc["model", "roc_auc"]


def test_growth_forward_reproducible_and_validates():
    xy, D = _points(20, 1)
    A1 = generate(D, 50, "matching", -2.0, 0.5, seed=0)[0]
    A0 = A1 & _sym(np.random.default_rng(1).random((20, 20)) < 0.6)
    a = forecast.growth_forward_scores(A0, A1, "matching", -2.0, 0.5, D, n_networks=10, seed=3)
    b = forecast.growth_forward_scores(A0, A1, "matching", -2.0, 0.5, D, n_networks=10, seed=3)
    pd.testing.assert_frame_equal(a.table, b.table)
    # a later stage with pruned edges: by default grow as many edges as are new
    A1p = A1.copy()
    i, j = np.argwhere(np.triu(A0, 1))[0]
    A1p[i, j] = A1p[j, i] = False
    c = forecast.growth_forward_scores(A0, A1p, "matching", -2.0, 0.5, D, n_networks=2, seed=0)
    row = c.table.iloc[0]
    assert row["n_pruned"] == 1 and row["n_grown"] == row["n_new"] == (A1 & ~A0).sum() // 2
    with pytest.raises(ValueError, match="fewer edges"):
        forecast.growth_forward_scores(A0, A1p & A0, "matching", -2.0, 0.5, D, n_networks=2, seed=0,
                                 grow_to="edge_count")
    with pytest.raises(ValueError, match="'grow_to'"):
        forecast.growth_forward_scores(A0, A1, "matching", -2.0, 0.5, D, n_networks=2, grow_to="all")
    with pytest.raises(ValueError, match="'D'"):
        forecast.growth_forward_scores(A0, A1, "matching", -2.0, 0.5, D[:5, :5], n_networks=2)
    with pytest.raises(ValueError, match="nothing to predict"):
        forecast.growth_forward_scores(A1, A1, "matching", -2.0, 0.5, D, n_networks=2)


# ------------------------------------------------------------------- mesoscale comparison
def test_compare_mesoscale_identical_copies_and_random_graphs():
    real = nx.to_numpy_array(nx.connected_caveman_graph(5, 6))
    m = int(real.sum() // 2)
    rand = [nx.to_numpy_array(nx.gnm_random_graph(30, m, seed=s)) for s in range(3)]
    syn = np.stack([real, real] + rand).astype(bool)
    xy, D = _points(30, 0)
    t = comparison.compare_mesoscale(real, syn, D, seed=0, n_null=5, n_runs=5, progress=False)
    assert t["source"].tolist() == ["real"] + ["synthetic"] * 5
    r = t.iloc[0]
    assert r["partition_ami"] == 1 and r["degree_corr"] == 1 and r["n_modules"] == 5
    assert r["Q_z"] > 2 and r["n_null"] == 5
    for i in (1, 2):  # exact copies reproduce everything
        assert t.loc[i, "partition_ami"] == pytest.approx(1.0)
        assert t.loc[i, "participation_ks"] == pytest.approx(0.0)
        assert t.loc[i, "Q"] == pytest.approx(r["Q"])
    assert (t.loc[3:, "Q"] < r["Q"] - 0.2).all()
    assert (t.loc[3:, "partition_ami"] < 0.5).all()
    s = comparison.summarize_comparison(t.drop(index=[1, 2]).reset_index(drop=True)).set_index("metric")
    assert not s.loc["Q", "reproduced"] and s.loc["Q", "percentile"] == 100.0
    assert s.loc["Q", "n_synthetic"] == 3
    # same seed, same table
    t2 = comparison.compare_mesoscale(real, syn, D, seed=0, n_null=5, n_runs=5, progress=False)
    pd.testing.assert_frame_equal(t, t2)


def test_compare_mesoscale_module_span_detects_spatial_modules():
    # modules made of spatially clustered nodes have span < 1
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    xy = np.concatenate([c + rng.normal(0, 0.5, (10, 2)) for c in centres])
    D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    real = nx.to_numpy_array(nx.connected_caveman_graph(3, 10))
    t = comparison.compare_mesoscale(real, real[None], D, seed=1, n_null=3, n_runs=3, progress=False)
    assert t.loc[0, "module_span"] < 0.3


def test_compare_mesoscale_validates():
    real = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    with pytest.raises(ValueError, match="'synthetic'"):
        comparison.compare_mesoscale(real, np.zeros((2, 5, 5)), progress=False)
    with pytest.raises(ValueError, match="'n_null'"):
        comparison.compare_mesoscale(real, real[None], n_null=1, progress=False)
    with pytest.raises(ValueError, match="one real row"):
        comparison.summarize_comparison(pd.DataFrame({"source": ["real", "synthetic"], "Q": [1.0, 0.5]}))


# ------------------------------------------------------------------------ rule ranking
def _fit_table():
    rng = np.random.default_rng(0)
    rows = []
    for rule, base in (("good", 0.1), ("mid", 0.2), ("bad", 0.6)):
        for p in range(6):
            for r in range(3):
                rows.append({"rule": rule, "level": 0, "point": p, "eta": -p, "gamma": p / 2, "repeat": r,
                             "energy": base + 0.05 * p + 0.01 * rng.random()})
    return pd.DataFrame(rows)


def test_topk_energies_selects_lowest_mean_points():
    t = ranking.topk_energies(_fit_table(), top_k=2)
    assert len(t) == 3 * 2 * 3
    g = t[t["rule"] == "good"]
    assert sorted(g["point"].unique()) == [0, 1]
    assert (g[g["rank"] == 1]["point"] == 0).all()


def test_rule_ranking_order_and_probabilities():
    r = ranking.rule_ranking(_fit_table(), top_k=3, n_boot=300, seed=0)
    assert r["rule"].tolist() == ["good", "mid", "bad"]
    assert r["p_best"].sum() == pytest.approx(1.0)
    assert r.loc[0, "p_best"] > 0.9 and r.loc[2, "p_best"] == 0
    assert (r["ci_low"] <= r["energy_topk"]).all() and (r["energy_topk"] <= r["ci_high"]).all()
    assert r.loc[0, "eta"] == pytest.approx(-1.0) and r.loc[0, "n_networks"] == 9
    pd.testing.assert_frame_equal(r, ranking.rule_ranking(_fit_table(), top_k=3, n_boot=300, seed=0))


def test_rule_ranking_overlapping_rules_share_probability():
    t = _fit_table()
    t = t[t["rule"] != "bad"].copy()
    t.loc[t["rule"] == "mid", "energy"] -= 0.1  # now the same as "good" up to noise
    r = ranking.rule_ranking(t, top_k=6, n_boot=500, seed=1)
    assert 0.05 < r["p_best"].min() and r["p_best"].max() < 0.95


def test_rule_ranking_validates():
    with pytest.raises(TypeError, match="'table'"):
        ranking.rule_ranking([1, 2, 3])
    with pytest.raises(ValueError, match="lacks the columns"):
        ranking.rule_ranking(pd.DataFrame({"rule": ["a"]}))
    with pytest.raises(ValueError, match="'top_k'"):
        ranking.topk_energies(_fit_table(), top_k=0)


def test_fitted_networks_uses_best_row():
    xy, D = _points(20, 0)
    best = pd.DataFrame({"rule": ["matching", "sptl"], "eta": [-2.0, -1.0], "gamma": [0.3, np.nan]})
    nets = ranking.fitted_networks(best, D, 40, 3, seed=0)
    assert nets.shape == (3, 20, 20) and (nets.sum(axis=(1, 2)) == 80).all()
    same = generate(D, 40, "matching", -2.0, 0.3, n_networks=3, seed=0)
    assert np.array_equal(nets, same)
    assert ranking.fitted_networks(best, D, 40, 1, seed=0, rule="sptl").shape == (1, 20, 20)
    with pytest.raises(ValueError, match="'rule'"):
        ranking.fitted_networks(best, D, 40, 1, rule="deg-avg")


# ------------------------------------------------------------------------- datasets
def test_binary_at_density_keeps_strongest():
    rng = np.random.default_rng(0)
    W = rng.random((12, 12))
    W = W + W.T
    np.fill_diagonal(W, 0)
    B = preparation.binary_at_density(W, 0.25)
    assert np.array_equal(B, B.T) and B.sum() // 2 == round(0.25 * 66)
    assert W[B == 1].min() >= W[(B == 0) & ~np.eye(12, dtype=bool)].max()
    with pytest.raises(ValueError, match="'density'"):
        preparation.binary_at_density(np.eye(3)[::-1] * 0 + np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]), 1.0)
    with pytest.raises(ValueError, match="'density'"):
        preparation.binary_at_density(W, 0)


def test_constant_distances():
    D = preparation.constant_distances(4)
    assert D.sum() == 12 and not D.diagonal().any()
    with pytest.raises(ValueError, match="'n'"):
        preparation.constant_distances(1)


def _toy(name, labels, edges, pos):
    n = len(labels)
    A = np.zeros((n, n))
    for i, j in edges:
        A[i, j] = A[j, i] = 1
    return Connectome(name=name, species="none", labels=labels, layers={"w": A}, directed={"w": False},
                      positions=pos, position_unit="um")


def test_align_connectomes_common_and_union():
    a = _toy("a", ["x", "y", "z"], [(0, 1)], [[0, 0, 0], [1, 0, 0], [0, 2, 0]])
    b = _toy("b", ["z", "y", "w"], [(0, 1), (1, 2)], [[0, 2, 0], [1, 0, 0], [3, 0, 0]])
    A0, A1, D, labels = preparation.align_connectomes(a, b)
    assert labels == ["y", "z"]
    assert A0.sum() == 0 and A1[0, 1] == 1
    assert D[0, 1] == pytest.approx(np.sqrt(5))
    A0, A1, D, labels = preparation.align_connectomes(a, b, nodes="union")
    assert labels == ["x", "y", "z", "w"]
    assert A0[0, 1] == 1 and A0[:, 3].sum() == 0
    assert A1[1, 2] == 1 and A1[1, 3] == 1 and A1[0].sum() == 0
    assert D[0, 3] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="'nodes'"):
        preparation.align_connectomes(a, b, nodes="all")
    with pytest.raises(TypeError, match="'earlier'"):
        preparation.align_connectomes(np.eye(2), b)


# ------------------------------------------------------------------------------ figures
def test_figures_build():
    import matplotlib.pyplot as plt

    t = _fit_table()
    t.loc[t["rule"] == "bad", "rule"] = "sptl"
    fig = plots.plot_energy_landscape(t)
    assert len(fig.axes) >= 3
    fig = plots.plot_energy_landscapes({"a": t, "b": t[t["rule"] != "good"]})
    assert sum(ax.get_visible() for ax in fig.axes) == 5  # dataset b lacks one rule
    with pytest.raises(TypeError, match="'fits'"):
        plots.plot_energy_landscapes({})
    topk = ranking.topk_energies(t, 3).assign(dataset="toy")
    fig = plots.plot_rule_ranking(topk)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 1 and visible[0].get_title() == "toy"
    labels = [x.get_text() for x in visible[0].get_yticklabels()]
    assert sorted(labels) == sorted(topk["rule"].unique())
    gf = pd.DataFrame({"transition": ["1→2", "1→2", "1→2"], "predictor": ["model", "degree_oracle", "chance"],
                       "roc_auc": [0.8, 0.7, 0.5], "precision_at_k": [0.3, 0.2, 0.05]})
    fig = plots.plot_growth_forward(gf)
    assert len(fig.axes) == 2 and all(len(ax.get_lines()) == 3 for ax in fig.axes)
    assert fig.axes[0].get_lines()[0].get_ydata()[0] == 0.8
    tr = pd.DataFrame({"age": [0, 10, 20], "rule": "x", "eta": [-1, -2, -3], "eta_sd": 0.1})
    fig = plots.plot_trajectories(tr, [("eta", "eta_sd", "eta")])
    assert len(fig.axes) == 1 and fig.axes[0].get_ylabel() == "eta" and len(fig.axes[0].containers) == 1
    real = nx.to_numpy_array(nx.connected_caveman_graph(3, 5))
    cmp = comparison.compare_mesoscale(real, np.stack([real, real]), seed=0, n_null=2, n_runs=1, progress=False)
    fig = plots.plot_comparison({"a": cmp, "b": cmp}, metrics=("Q", "n_modules"))
    assert len(fig.axes) == 2 and [ax.get_title() for ax in fig.axes] == ["Q", "n_modules"]
    assert len(fig.axes[0].collections) == 4  # synthetic dots and the real diamond per dataset
    plt.close("all")


def test_honest_baselines_use_only_the_earlier_stage():
    # preferential attachment ranks the pairs of the existing hub first; distance ranks the nearest pairs first
    xy, D = _points(30, 4)
    A0 = generate(D, 40, "sptl", -3.0, seed=5)[0]
    iu = np.triu_indices(30, 1)
    cand = ~A0[iu]
    pairs = np.column_stack([iu[0][cand], iu[1][cand]])
    s = forecast.honest_baseline_scores(A0, pairs, D)
    k = A0.sum(1)
    assert np.array_equal(s["preferential_attachment"], (k[pairs[:, 0]] + 1) * (k[pairs[:, 1]] + 1))
    cn = (A0.astype(int) @ A0.astype(int))[pairs[:, 0], pairs[:, 1]]
    assert np.array_equal(s["common_neighbors"], cn)
    assert np.array_equal(s["distance"], -D[pairs[:, 0], pairs[:, 1]])
    # a later stage that adds exactly the nearest unconnected pairs: distance is perfect, chance-level PA is not
    order = np.argsort(D[pairs[:, 0], pairs[:, 1]], kind="stable")[:20]
    A1 = A0.copy()
    A1[pairs[order, 0], pairs[order, 1]] = A1[pairs[order, 1], pairs[order, 0]] = True
    t = forecast.growth_forward_scores(A0, A1, "sptl", 0.0, None, D, n_networks=10, seed=0).table.set_index("predictor")
    assert t.loc["distance", "roc_auc"] == pytest.approx(1.0) and t.loc["distance", "precision_at_k"] == 1.0
    assert t.loc["preferential_attachment", "roc_auc"] < 0.9
    with pytest.raises(ValueError, match="'pairs'"):
        forecast.honest_baseline_scores(A0, np.array([[0, 30]]))
