"""Tests of mesoscale.metrics: reference values, agreement with bctpy/scipy/networkx, nulls, validation."""

from __future__ import annotations

import bct
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp
from sklearn.metrics import normalized_mutual_info_score

from mesoscale import metrics as mm
from mesoscale.metrics.energy import BETWEENNESS_RTOL
from mesoscale.metrics.nulls import _length_bins

# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def karate():
    return nx.to_numpy_array(nx.karate_club_graph(), weight=None)


def planted(n_modules=4, size=30, p_in=0.35, p_out=0.02, seed=0, directed=False):
    rng = np.random.default_rng(seed)
    z = np.repeat(np.arange(n_modules), size)
    P = np.where(z[:, None] == z[None, :], p_in, p_out)
    A = rng.random(P.shape) < P
    if not directed:
        A = np.triu(A, 1)
        A = A | A.T
    np.fill_diagonal(A, False)
    return A.astype(float), z


def random_graph(n, m, rng):
    iu = np.triu_indices(n, 1)
    pick = rng.choice(iu[0].size, m, replace=False)
    A = np.zeros((n, n), bool)
    A[iu[0][pick], iu[1][pick]] = True
    return A | A.T


def spatial_graph(n=60, seed=0, scale=0.2, dim=3):
    rng = np.random.default_rng(seed)
    X = rng.random((n, dim))
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    A = np.triu(rng.random((n, n)) < 0.8 * np.exp(-D / scale), 1)
    return (A | A.T).astype(float), D


# ----------------------------------------------------------------------------- modularity


def test_modularity_matches_networkx_and_bctpy(karate):
    ci, q = bct.community_louvain(karate, seed=3)
    assert mm.modularity(karate, ci) == pytest.approx(q, abs=1e-12)
    comms = [set(np.flatnonzero(ci == c)) for c in np.unique(ci)]
    G = nx.karate_club_graph()
    assert mm.modularity(karate, ci) == pytest.approx(nx.community.modularity(G, comms, weight=None))
    W = nx.to_numpy_array(G)
    assert mm.modularity(W, ci, gamma=0.7) == pytest.approx(
        nx.community.modularity(G, comms, weight="weight", resolution=0.7)
    )


def test_modularity_directed_matches_networkx():
    A, z = planted(3, 15, directed=True, seed=2)
    G = nx.from_numpy_array(A, create_using=nx.DiGraph)
    comms = [set(np.flatnonzero(z == c)) for c in range(3)]
    assert mm.modularity(A, z) == pytest.approx(nx.community.modularity(G, comms))


def test_karate_consensus_reference(karate):
    p, Q, agree = mm.consensus_communities(karate, n_runs=50, seed=0)
    assert Q >= 0.415  # optimum 0.4198
    assert Q <= 0.41979 + 1e-9
    assert p.dtype.kind == "i" and p.min() == 0 and set(p) == set(range(p.max() + 1))
    assert p.max() + 1 == 4
    assert agree.shape == (34, 34) and np.allclose(agree, agree.T) and np.all(np.diag(agree) == 1)
    assert np.all((agree >= 0) & (agree <= 1))
    _, qbest = mm.best_partition(karate, n_runs=20, seed=0)
    assert qbest == pytest.approx(0.4197896, abs=1e-6)


def test_consensus_same_seed_same_bits(karate):
    a = mm.consensus_communities(karate, n_runs=10, seed=7)
    b = mm.consensus_communities(karate, n_runs=10, seed=np.random.SeedSequence(7))
    assert np.array_equal(a[0], b[0]) and a[1] == b[1] and np.array_equal(a[2], b[2])


@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_planted_partition_recovered(directed, weighted):
    A, z = planted(4, 30, p_in=0.3, p_out=0.02, seed=1, directed=directed)
    if weighted:
        A = A * np.random.default_rng(5).uniform(0.5, 2.0, A.shape)
        if not directed:
            A = np.triu(A, 1)
            A = A + A.T
    p, Q, _ = mm.consensus_communities(A, n_runs=20, seed=0)
    assert normalized_mutual_info_score(z, p) >= 0.9
    assert Q > 0.5


def test_directed_louvain_converges_where_bctpy_loops():
    # bctpy 0.6.1's community_louvain does not symmetrise B for directed input and cycles
    rng = np.random.default_rng(0)
    A = (rng.random((30, 30)) < 0.15).astype(float)
    np.fill_diagonal(A, 0)
    parts, qs = mm.louvain_partitions(A, 5, seed=1)
    for p, q in zip(parts, qs):
        assert q == pytest.approx(mm.modularity(A, p))
    assert qs.max() > 0.2


# ----------------------------------------------------------------------------- nulls


def test_degree_null_preserves_degrees(karate):
    R = mm.null_network(karate, "degree", seed=0)
    assert R.shape == karate.shape and R.dtype == karate.dtype
    assert np.array_equal(R, R.T) and np.all(np.diag(R) == 0)
    assert np.array_equal(R.sum(0), karate.sum(0))
    assert (R != karate).sum() > 20
    assert np.array_equal(R, mm.null_network(karate, "degree", seed=0))


def test_degree_null_directed_and_bool():
    A, _ = planted(3, 15, directed=True, seed=4)
    R = mm.null_network(A.astype(bool), "degree", seed=1)
    assert R.dtype == bool
    assert np.array_equal(R.sum(0), A.sum(0)) and np.array_equal(R.sum(1), A.sum(1))


def test_density_null_keeps_n_m_and_weights():
    A, _ = planted(seed=3)
    W = A * np.random.default_rng(0).integers(1, 5, A.shape)
    W = np.triu(W, 1)
    W = W + W.T
    R = mm.null_network(W, "density", seed=2)
    assert np.array_equal(R, R.T) and np.all(np.diag(R) == 0)
    assert np.count_nonzero(R) == np.count_nonzero(W)
    assert np.array_equal(np.sort(R[R > 0]), np.sort(W[W > 0]))
    Ad, _ = planted(3, 15, directed=True, seed=4)
    Rd = mm.null_network(Ad, "density", seed=2)
    assert Rd.sum() == Ad.sum() and np.all(np.diag(Rd) == 0)


@pytest.mark.parametrize("directed", [False, True])
def test_spatial_null_keeps_degrees_and_length_histogram(directed):
    A, D = spatial_graph(seed=1)
    if directed:
        A = np.triu(A, 1)  # orient every edge i -> j
    R = mm.null_network(A, "spatial", D, seed=3, n_bins=8)
    assert np.array_equal(R.sum(0), A.sum(0)) and np.array_equal(R.sum(1), A.sum(1))
    mask = (lambda M: M != 0) if directed else (lambda M: np.triu(M, 1) != 0)
    bins = _length_bins(A, D, directed, 8)
    assert np.array_equal(np.bincount(bins[mask(A)] + 1, minlength=10), np.bincount(bins[mask(R)] + 1, minlength=10))
    assert D[mask(R)].min() >= D[mask(A)].min() and D[mask(R)].max() <= D[mask(A)].max()
    assert (R != A).sum() > 0.5 * np.count_nonzero(A)  # it really rewires
    # the degree null does not keep lengths: it makes edges longer on average
    Rd = mm.null_network(A, "degree", seed=3)
    assert D[mask(Rd)].mean() > 1.3 * D[mask(R)].mean()


def test_null_keeps_self_loops_in_place():
    rng = np.random.default_rng(0)
    W = np.abs(rng.normal(size=(20, 20)))  # e.g. |W| of a trained recurrent layer
    for null in ("density", "degree"):
        R = mm.null_network(W, null, seed=1)
        assert np.array_equal(np.diag(R), np.diag(W))
        assert np.array_equal(np.sort(R[~np.eye(20, dtype=bool)]), np.sort(W[~np.eye(20, dtype=bool)]))


def test_null_validation(karate):
    with pytest.raises(ValueError, match="'null'"):
        mm.null_network(karate, "lattice")
    with pytest.raises(ValueError, match="'D'"):
        mm.null_network(karate, "spatial")
    with pytest.raises(ValueError, match="'D'"):
        mm.null_network(karate, "spatial", D=np.ones((3, 3)))
    with pytest.raises(ValueError, match="self-loops"):
        mm.null_network(np.eye(4), "density")
    with pytest.raises(TypeError, match="seed"):
        mm.null_network(karate, seed="x")


# ----------------------------------------------------------------------------- significance


def test_planted_partition_is_significant():
    A, _ = planted(4, 25, p_in=0.3, p_out=0.03, seed=2)
    t = mm.modularity_significance(A, "degree", n_null=10, n_runs=3, seed=0)
    assert t.z > 5 and t.percentile == 100.0
    assert t.null_q.shape == (10,) and t.n_null == 10 and t.null == "degree"
    d = t.as_dict()
    assert set(d) >= {"q", "null_mean", "null_sd", "z", "percentile", "n_null", "null"}
    assert not any(isinstance(v, np.ndarray) for v in d.values())
    t2 = mm.modularity_significance(A, "degree", n_null=10, n_runs=3, seed=0)
    assert np.array_equal(t.null_q, t2.null_q) and t.q == t2.q
    with pytest.raises(dataclasses_frozen_error()):
        t.q = 0.0


def dataclasses_frozen_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_spatial_null_significance_of_spatial_graph():
    # wiring by distance alone, no modules: Q looks significant against the degree null only
    A, D = spatial_graph(n=80, seed=4, scale=0.15, dim=2)
    t_deg = mm.modularity_significance(A, "degree", n_null=10, n_runs=3, seed=1)
    t_sp = mm.modularity_significance(A, "spatial", n_null=10, D=D, n_runs=3, seed=1)
    assert t_deg.z > 4
    assert t_sp.null_mean > t_deg.null_mean + 0.05
    assert abs(t_sp.z) < 3


def test_erdos_renyi_not_significant():
    zs, qs = [], []
    n_seeds = 20
    for s in range(n_seeds):
        G = nx.gnm_random_graph(30, 80, seed=s)
        A = nx.to_numpy_array(G)
        null = "degree" if s % 2 == 0 else "density"
        t = mm.modularity_significance(A, null, n_null=20, n_runs=3, itr=5, seed=100 + s)
        zs.append(t.z)
        qs.append(t.q)
    zs = np.array(zs)
    print("ER z-scores:", np.round(zs, 2).tolist())
    assert np.mean(np.abs(zs) < 2) >= 0.9, zs
    assert np.min(qs) > 0.24  # raw Q is high (karate club: 0.42) although nothing is there


def test_significance_validation(karate):
    with pytest.raises(ValueError, match="'n_null'"):
        mm.modularity_significance(karate, n_null=1)
    with pytest.raises(ValueError, match="'D'"):
        mm.modularity_significance(karate, "spatial", n_null=5)
    with pytest.raises(ValueError, match="'null'"):
        mm.modularity_significance(karate, "config", n_null=5)


# ----------------------------------------------------------------------------- roles and topology


def test_roles_match_bctpy(karate):
    p, _, _ = mm.consensus_communities(karate, n_runs=10, seed=0)
    P = mm.participation_coefficient(karate, p)
    assert np.allclose(P, bct.participation_coef(karate, p + 1))
    assert np.all((P >= 0) & (P < 1))
    Z = mm.within_module_degree_zscore(karate, p)
    assert np.allclose(Z, bct.module_degree_zscore(karate, p + 1))
    for c in np.unique(p):
        assert Z[p == c].mean() == pytest.approx(0, abs=1e-12)


def test_roles_directed_in_out():
    A, z = planted(2, 10, directed=True, seed=6)
    zin = mm.within_module_degree_zscore(A, z, degree="in")
    zout = mm.within_module_degree_zscore(A, z, degree="out")
    for c in range(2):
        m = z == c
        kin = A[np.ix_(m, m)].sum(axis=0)
        kout = A[np.ix_(m, m)].sum(axis=1)
        assert np.allclose(zin[m], (kin - kin.mean()) / kin.std())
        assert np.allclose(zout[m], (kout - kout.mean()) / kout.std())
    Pin = mm.participation_coefficient(A, z, degree="in")
    assert np.allclose(Pin, bct.participation_coef(A, z + 1, degree="in"))


def test_roles_validation(karate):
    with pytest.raises(ValueError, match="'partition'"):
        mm.participation_coefficient(karate, [0, 1])
    with pytest.raises(TypeError, match="'partition'"):
        mm.within_module_degree_zscore(karate, np.full(34, 0.5))
    with pytest.raises(ValueError, match="'degree'"):
        mm.participation_coefficient(karate, np.zeros(34, int), degree="both")


def test_efficiency_assortativity_against_networkx(karate):
    G = nx.karate_club_graph()
    assert mm.global_efficiency(karate) == pytest.approx(nx.global_efficiency(G))
    assert mm.local_efficiency(karate).mean() == pytest.approx(nx.local_efficiency(G))
    assert mm.assortativity(karate) == pytest.approx(nx.degree_assortativity_coefficient(G))
    assert mm.characteristic_path_length(karate) == pytest.approx(nx.average_shortest_path_length(G))
    assert np.allclose(mm.clustering(karate), list(nx.clustering(G).values()))
    W = nx.to_numpy_array(G)
    assert 0 < mm.global_efficiency(W, weighted=True) < 1
    with pytest.raises(ValueError, match="symmetric"):
        mm.local_efficiency(np.triu(karate))


def test_small_worldness_states_null():
    A = nx.to_numpy_array(nx.watts_strogatz_graph(80, 6, 0.05, seed=1))
    sw = mm.small_worldness(A, n_null=5, seed=0)
    assert sw.sigma > 2 and sw.gamma > 2 and 0.8 < sw.lambda_ < 1.5
    assert "degree-preserving" in sw.null and sw.n_null == 5
    R = nx.to_numpy_array(nx.gnm_random_graph(80, 240, seed=2))
    assert mm.small_worldness(R, n_null=20, seed=0).sigma == pytest.approx(1, abs=0.35)
    assert mm.small_worldness(A, n_null=3, seed=4) == mm.small_worldness(A, n_null=3, seed=4)


def test_rich_club_normalised():
    # a dense core of 8 hubs attached to a sparse periphery
    rng = np.random.default_rng(0)
    n = 80
    A = np.triu(rng.random((n, n)) < 0.04, 1)
    A[:8, :8] = True
    for h in range(8):
        A[h, rng.choice(np.arange(8, n), 10, replace=False)] = True
    A = np.triu(A, 1)
    A = (A | A.T).astype(float)
    df = mm.rich_club(A, n_null=20, seed=0)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["k", "n_nodes", "n_edges", "phi", "phi_null_mean", "phi_null_sd", "phi_norm", "p_value"]
    with np.errstate(invalid="ignore", divide="ignore"):
        R, Nk, Ek = bct.rich_club_bu(A)
    ok = Nk > 1
    assert np.allclose(df["phi"][ok], R[ok])
    top = df[(df.n_nodes >= 6) & (df.n_nodes <= 10)]
    assert (top.phi_norm > 1.2).all() and (top.p_value < 0.1).all()
    with pytest.raises(ValueError, match="'k_max'"):
        mm.rich_club(A, k_max=0)


# ----------------------------------------------------------------------------- KS energy


def _bct_stats(A, D):
    A = np.asarray(A, float)
    return (
        bct.degrees_und(A),
        bct.clustering_coef_bu(A),
        bct.betweenness_bin(A),
        D[np.triu(A, 1) > 0],
    )


def _snap(x, y, rtol=BETWEENNESS_RTOL):
    """Map values of x and y that agree to rtol onto one representative (float-noise ties)."""
    allv = np.sort(np.concatenate([x, y]))
    rep = allv.copy()
    for i in range(1, allv.size):
        if allv[i] - rep[i - 1] <= rtol * max(1.0, abs(rep[i - 1])):
            rep[i] = rep[i - 1]
    lut = dict(zip(allv, rep))
    return np.array([lut[v] for v in x]), np.array([lut[v] for v in y])


def test_ks_energy_equals_ks_2samp():
    rng = np.random.default_rng(0)
    n = 40
    X = rng.random((n, 3))
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    T = random_graph(n, 120, rng)
    nets = np.stack([random_graph(n, m, rng) for m in (60, 120, 120, 200, 300)])
    E = mm.ks_energy(nets, T, D)
    assert E.shape == (5, 5) and len(mm.KS_COLUMNS) == 5
    ts = _bct_stats(T, D)
    for b in range(len(nets)):
        s = _bct_stats(nets[b], D)
        ref = [ks_2samp(s[i], ts[i]).statistic for i in (0, 1, 3)]
        assert E[b, [0, 1, 3]] == pytest.approx(ref, abs=1e-15)
        x, y = _snap(s[2], ts[2])
        assert E[b, 2] == pytest.approx(ks_2samp(x, y).statistic, abs=1e-15)
        assert E[b, 4] == max(E[b, :4])
        assert E[b, 4] > 0


def test_network_statistics_equal_bctpy():
    rng = np.random.default_rng(1)
    n = 30
    X = rng.random((n, 2))
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    nets = np.stack([random_graph(n, m, rng) for m in (0, 10, 45, 90, 200)])
    s = mm.network_statistics(nets, D)
    for b in range(len(nets)):
        deg, clu, bet, lens = _bct_stats(nets[b], D)
        assert np.array_equal(s["degree"][b], deg)
        assert np.array_equal(s["clustering"][b], clu)
        assert np.allclose(s["betweenness"][b], bet, rtol=1e-12, atol=1e-9)
        assert np.array_equal(s["edge_length"][b], lens)
        assert s["n_edges"][b] == lens.size


def test_energy_against_itself_is_zero_and_batch_matches_single():
    rng = np.random.default_rng(2)
    n = 68
    X = rng.random((n, 3)) * 100
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    nets = np.stack([random_graph(n, 250, rng) for _ in range(6)])
    for b in range(3):
        assert np.array_equal(mm.ks_energy(nets[b], nets[b], D), np.zeros((1, 5)))
        # a relabelled copy has the same distributions except edge lengths
        perm = rng.permutation(n)
        E = mm.ks_energy(nets[b][np.ix_(perm, perm)], nets[b], D)
        assert np.all(E[0, :3] == 0)
    batch = mm.ks_energy(nets, nets[0], D)
    single = np.vstack([mm.ks_energy(nets[b].astype(np.int8), nets[0], D) for b in range(6)])
    assert np.array_equal(batch, single)
    assert np.array_equal(batch[0], np.zeros(5))


def test_ks_energy_empty_network_and_validation():
    n = 10
    D = np.ones((n, n)) - np.eye(n)
    T = random_graph(n, 15, np.random.default_rng(0))
    E = mm.ks_energy(np.zeros((n, n), bool), T, D)
    assert E[0, 3] == 1.0 and E[0, 4] == 1.0
    with pytest.raises(ValueError, match="'networks'"):
        mm.ks_energy(np.triu(T), T, D)
    with pytest.raises(ValueError, match="'networks'"):
        mm.ks_energy(np.ones((n, n), bool), T, D)
    with pytest.raises(ValueError, match="'networks'"):
        mm.ks_energy(np.zeros((2, n, n + 1)), T, D)
    with pytest.raises(ValueError, match="'D'"):
        mm.ks_energy(T, T, np.ones((n + 1, n + 1)))
    with pytest.raises(ValueError, match="'D'"):
        mm.ks_energy(T, T, np.where(np.eye(n) > 0, 0, np.nan))
    with pytest.raises(ValueError, match="'target'"):
        mm.ks_energy(T, np.triu(T), D)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy's p-value for tiny samples; the statistic is exact
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=0, max_size=25),
    st.lists(st.integers(0, 6), min_size=1, max_size=25),
)
def test_ks_statistic_property(x, y):
    if not x:
        assert mm.ks_statistic(x, y) == 1.0
        return
    assert mm.ks_statistic(x, y) == pytest.approx(ks_2samp(x, y).statistic, abs=1e-15)
    assert mm.ks_statistic(x, y) == mm.ks_statistic(y, x)


# ----------------------------------------------------------------------------- validation and summary


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (np.ones((3, 4)), ValueError, "square"),
        (np.array([[0, np.nan], [np.nan, 0]]), ValueError, "non-finite"),
        (np.array([[0, -1.0], [-1.0, 0]]), ValueError, "negative"),
        (np.zeros((4, 4)), ValueError, "no edges"),
        (np.array(["a"], dtype=object), TypeError, "numeric"),
    ],
)
def test_bad_matrices_raise(bad, exc, match):
    with pytest.raises(exc, match=match):
        mm.consensus_communities(bad, n_runs=2)


def test_consensus_argument_validation(karate):
    with pytest.raises(ValueError, match="'A' must be symmetric"):
        mm.consensus_communities(np.triu(karate), n_runs=2, directed=False)
    with pytest.raises(ValueError, match="'tau'"):
        mm.consensus_communities(karate, n_runs=2, tau=1.5)
    with pytest.raises(ValueError, match="'n_runs'"):
        mm.consensus_communities(karate, n_runs=0)
    with pytest.raises(TypeError, match="'directed'"):
        mm.consensus_communities(karate, n_runs=2, directed="yes")
    with pytest.raises(ValueError, match="'gamma'"):
        mm.modularity(karate, np.zeros(34, int), gamma=-1)


def test_summary_karate(karate):
    rng = np.random.default_rng(0)
    X = rng.random((34, 3))
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    s = mm.summary(karate, D, seed=0, n_null=5, n_runs=5)
    assert isinstance(s, pd.Series)
    for key in ("Q", "n_modules", "Q_z_degree", "Q_percentile_degree", "Q_z_density", "Q_z_spatial", "n_null",
                "participation_mean", "global_efficiency", "local_efficiency_mean", "small_world_sigma",
                "assortativity", "rich_club_max_norm", "mean_edge_length"):
        assert key in s.index, key
    assert s["Q"] >= 0.4 and s["Q_z_degree"] > 3 and s["n_null"] == 5
    assert s["n_edges"] == 78 and s["n_nodes"] == 34
    assert s.equals(mm.summary(karate, D, seed=0, n_null=5, n_runs=5))


def test_ks_energy_chunks_give_same_result(monkeypatch):
    from mesoscale.metrics import energy

    rng = np.random.default_rng(3)
    n = 20
    D = np.abs(np.subtract.outer(np.arange(n), np.arange(n))).astype(float)
    nets = np.stack([random_graph(n, 40, rng) for _ in range(7)])
    whole = mm.ks_energy(nets, nets[0], D)
    monkeypatch.setattr(energy, "_CHUNK", 3)
    assert np.array_equal(mm.ks_energy(nets, nets[0], D), whole)


def test_nulls_of_unswappable_networks_terminate():
    # bct.randmio_und loops forever when no two edges are disjoint (star, triangle)
    star = nx.to_numpy_array(nx.star_graph(6))
    tri = nx.to_numpy_array(nx.cycle_graph(3))
    for A in (star, tri):
        assert np.array_equal(mm.null_network(A, "degree", seed=0), A)
    assert np.isnan(mm.small_worldness(star, n_null=2, seed=0).sigma)  # no triangles anywhere


def test_docstring_examples():
    import doctest

    from mesoscale.metrics import community, energy, nulls, overview, plots, roles, topology

    for mod in (community, energy, nulls, roles, topology, overview, plots):
        res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0, mod.__name__
        assert res.attempted > 0, mod.__name__


def test_plots_return_figures(karate):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mesoscale.metrics import plots

    t = mm.modularity_significance(karate, n_null=4, n_runs=2, seed=0)
    p, _, agree = mm.consensus_communities(karate, n_runs=5, seed=0)
    df = mm.rich_club(karate, n_null=3, seed=0)
    rng = np.random.default_rng(0)
    X = rng.random((34, 2))
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    figs = [
        plots.plot_modularity_test(t),
        plots.plot_agreement(agree, p),
        plots.plot_rich_club(df),
        plots.plot_energy_cdfs(mm.null_network(karate, "degree", seed=1), karate, D),
    ]
    for fig in figs:
        assert isinstance(fig, matplotlib.figure.Figure) and fig.axes
        plt.close(fig)
    assert "degree null" in figs[0].axes[0].get_title()
    with pytest.raises(TypeError, match="'test'"):
        plots.plot_modularity_test(t.as_dict())
    with pytest.raises(ValueError, match="'agreement'"):
        plots.plot_agreement(agree * 2, p)
    with pytest.raises(ValueError, match="'table'"):
        plots.plot_rich_club(df.drop(columns="p_value"))


# ---------------------------------------------------------------------------------------------
# issue 13: inferred direction, one null comparison, structure of weight matrices


def test_louvain_infers_directed_for_asymmetric_input():
    # bctpy's directed Louvain raises BCTParamError on this digraph unless the inferred
    # direction reaches the symmetrised modularity matrix
    rng = np.random.default_rng(0)
    A = (rng.random((30, 30)) < 0.2).astype(float)
    np.fill_diagonal(A, 0)
    assert not np.array_equal(A, A.T)
    parts, q = mm.louvain_partitions(A, n_runs=3, seed=1)
    ref_parts, ref_q = mm.louvain_partitions(A, n_runs=3, seed=1, directed=True)
    assert np.array_equal(parts, ref_parts) and np.array_equal(q, ref_q)
    assert np.allclose(q, [mm.modularity(A, p) for p in parts])


def test_compare_with_null_values_and_zero_spread():
    c = mm.compare_with_null(3.0, [1.0, 2.0, 3.0])
    assert (c.null_mean, c.null_sd, c.z, c.n_null) == (2.0, 1.0, 1.0, 3)
    assert c.percentile == pytest.approx(100 * (2 / 3 + 0.5 / 3))
    # no spread: z = 0 at the null value, +/-inf away from it; percentile ties count half
    assert mm.compare_with_null(0.5, [0.5, 0.5]).z == 0.0
    assert mm.compare_with_null(0.5, [0.5, 0.5]).percentile == 50.0
    assert mm.compare_with_null(0.7, [0.5, 0.5]).z == np.inf
    assert mm.compare_with_null(0.1, [0.5, 0.5]).z == -np.inf
    nan = mm.compare_with_null(np.nan, [0.1, 0.2])
    assert np.isnan(nan.z) and np.isnan(nan.percentile)
    with pytest.raises(ValueError, match="null_values"):
        mm.compare_with_null(1.0, [1.0])
    with pytest.raises(ValueError, match="finite"):
        mm.compare_with_null(1.0, [1.0, np.nan])
    with pytest.raises(TypeError, match="observed"):
        mm.compare_with_null("1", [1.0, 2.0])
    # modularity tests are built on it
    t = mm.ModularityTest.from_null(0.7, [0.5, 0.5], null="x", partition=[0, 1], n_runs=1)
    assert t.z == np.inf and t.percentile == 100.0


def test_keep_strongest_wiring_cost_and_distance_matrix():
    W = np.array([[0, 5, 1], [3, 0, 2], [1, 2, 0]], dtype=float)
    assert mm.keep_strongest(W, 1 / 3).tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 0]]
    assert mm.keep_strongest(W, 1 / 3, combine="max").sum() == 2
    Z = np.zeros((3, 3)); Z[0, 1] = Z[1, 0] = 1
    assert mm.keep_strongest(Z, 1.0).sum() == 2  # fewer non-zero pairs than asked: keep them
    with pytest.raises(ValueError, match="only 1 connected"):
        mm.keep_strongest(Z, 1.0, strict=True)
    D = mm.distance_matrix([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    assert D[0, 1] == 5.0 and np.array_equal(D, D.T) and not D.diagonal().any()
    # directed weights count each pair once, as the mean of both directions
    assert mm.wiring_cost(W, D) == pytest.approx(4 * 5 + 1 * 1 + 2 * np.hypot(3, 3))
    B = (W > 0).astype(float)
    assert mm.wiring_cost(B, D, relative=True) == pytest.approx(1.0)  # complete graph: chance
    with pytest.raises(ValueError, match="no connections"):
        mm.wiring_cost(np.zeros((3, 3)), D, relative=True)


def test_structural_modularity_nulls():
    rng = np.random.default_rng(1)
    W = np.kron(np.eye(2), np.ones((8, 8))) * rng.random((16, 16)) + 0.01 * rng.random((16, 16))
    for null in ("degree", "density", "weights"):
        t = mm.structural_modularity(W, null=null, n_null=8, n_runs=3, density=0.3 if null != "weights" else None,
                                     seed=2)
        assert isinstance(t, mm.ModularityTest) and t.null == null and t.n_null == 8 and t.z > 2
    again = mm.structural_modularity(W, null="weights", n_null=8, n_runs=3, seed=2)
    assert np.array_equal(again.null_q, mm.structural_modularity(W, null="weights", n_null=8, n_runs=3,
                                                                  seed=2).null_q)
    # an architecture that only allows within-module pairs: the shuffled null is as modular
    allowed = np.kron(np.eye(2), np.ones((8, 8))).astype(bool)
    t = mm.structural_modularity(np.where(allowed, W, 0), null="weights", allowed=allowed, n_null=8, n_runs=3, seed=2)
    assert abs(t.q - t.null_mean) < 0.05
    with pytest.raises(ValueError, match="null"):
        mm.structural_modularity(W, null="nope")
    with pytest.raises(ValueError, match="allowed"):
        mm.structural_modularity(W, null="weights", allowed=np.ones((3, 3)))


def test_metrics_figures_have_their_artists(karate):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from mesoscale.metrics.plots import plot_agreement, plot_modularity_test, plot_rich_club

    t = mm.modularity_significance(karate, n_null=5, n_runs=3, seed=0)
    fig = plot_modularity_test(t)
    assert isinstance(fig, Figure) and len(fig.axes[0].patches) > 0 and len(fig.axes[0].lines) == 1
    p, _q, agree = mm.consensus_communities(karate, n_runs=5, seed=0)
    assert len(plot_agreement(agree, p).axes[0].images) == 1
    fig = plot_rich_club(mm.rich_club(karate, n_null=3, seed=0))
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2


def test_degree_preserving_swaps_keep_degrees_and_avoid_forbidden_pairs():
    from mesoscale.metrics import degree_preserving_swaps

    rng = np.random.default_rng(3)
    A = np.triu(rng.random((40, 40)) < 0.15, 1)
    A = (A | A.T).astype(float)
    forbid = np.triu(rng.random((40, 40)) < 0.3, 1)
    forbid = (forbid | forbid.T) & (A == 0)  # pairs that are empty now and must stay so
    R = degree_preserving_swaps(A, 10, forbidden=forbid, seed=1)
    assert np.array_equal(R.sum(0), A.sum(0)) and np.array_equal(R, R.T) and not R.diagonal().any()
    assert not (R[forbid] != 0).any()
    assert (R != A).sum() > A.sum() / 2  # really rewired
    free = degree_preserving_swaps(A, 10, seed=1)
    assert (free[forbid] != 0).any()  # without the mask those pairs do get wired
    assert np.array_equal(R, degree_preserving_swaps(A, 10, forbidden=forbid, seed=1))


def test_degree_preserving_swaps_bad_mask():
    from mesoscale.metrics import degree_preserving_swaps

    A = np.ones((5, 5)) - np.eye(5)
    with pytest.raises(ValueError, match="'forbidden' must have the shape"):
        degree_preserving_swaps(A, forbidden=np.zeros((4, 4), bool))
    with pytest.raises(TypeError, match="boolean"):
        degree_preserving_swaps(A, forbidden=np.zeros((5, 5)))
    asym = np.zeros((5, 5), bool)
    asym[0, 1] = True
    with pytest.raises(ValueError, match="symmetric"):
        degree_preserving_swaps(A, forbidden=asym)


# ---------------------------------------------------------------------------------------------
# issue 17: effect sizes and empirical p-values, fragmentation, multiple comparisons


def test_compare_with_null_effect_size_and_p_value_by_hand():
    from scipy import stats

    null = [1.0, 2.0, 3.0, 4.0]
    c = mm.compare_with_null(3.5, null)
    assert c.delta == 1.0 and c.alternative == "greater" and c.confidence == 0.95
    half = stats.t.ppf(0.975, 3) * np.std(null, ddof=1) / 2
    assert (c.delta_low, c.delta_high) == pytest.approx((1.0 - half, 1.0 + half))
    assert c.p_value == pytest.approx((1 + 1) / 5)  # one null (4.0) >= 3.5
    assert mm.compare_with_null(3.0, null).p_value == pytest.approx(3 / 5)  # ties count as extreme
    assert mm.compare_with_null(3.0, null, alternative="less").p_value == pytest.approx(4 / 5)
    assert mm.compare_with_null(0.5, null, alternative="less").p_value == pytest.approx(1 / 5)
    assert mm.compare_with_null(0.5, null, alternative="two-sided").p_value == pytest.approx(2 / 5)
    assert mm.compare_with_null(2.5, null, alternative="two-sided").p_value == 1.0  # capped
    assert mm.compare_with_null(9.0, null).p_value == pytest.approx(1 / 5)  # the smallest possible
    c90 = mm.compare_with_null(3.5, null, confidence=0.9)
    assert c.delta_low < c90.delta_low < c90.delta_high < c.delta_high
    # z and percentile are what they were
    assert (c.z, c.percentile) == (pytest.approx(1.0 / np.std(null, ddof=1)), 75.0)
    assert set(c.as_dict()) == {"observed", "null_mean", "null_sd", "z", "percentile", "n_null", "delta",
                                "delta_low", "delta_high", "p_value", "alternative", "confidence"}
    # zero spread: z keeps its documented handling, the interval is a point
    flat = mm.compare_with_null(0.7, [0.5, 0.5])
    assert flat.z == np.inf and flat.delta == pytest.approx(0.2) and flat.delta_low == flat.delta_high == flat.delta
    assert flat.p_value == pytest.approx(1 / 3)
    nan = mm.compare_with_null(np.nan, [0.1, 0.2])
    assert all(np.isnan(getattr(nan, k)) for k in ("delta", "delta_low", "delta_high", "p_value"))
    # the old positional construction still works
    old = mm.NullComparison(1.0, 0.5, 0.1, 5.0, 100.0, 10)
    assert np.isnan(old.delta) and old.alternative == "greater"


def test_empirical_p_value_is_exact_and_interval_covers():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4000, 10))  # observed and 9 exchangeable nulls
    p = np.array([mm.compare_with_null(r[0], r[1:]).p_value for r in x])
    for k in (1, 2, 5):  # P(p <= k / 10) = k / 10 exactly
        assert np.mean(p <= k / 10 + 1e-12) == pytest.approx(k / 10, abs=0.015)
    # the t interval of delta covers observed - true mean (0) 95 % of the time
    obs, nulls = 1.0, rng.normal(0.0, 1.0, size=(1000, 12))
    cover = [(lambda c: c.delta_low <= obs <= c.delta_high)(mm.compare_with_null(obs, v)) for v in nulls]
    assert np.mean(cover) == pytest.approx(0.95, abs=0.02)
    nulls = rng.normal(0.0, 1.0, size=(300, 40))
    cover = [(lambda c: c.delta_low <= obs <= c.delta_high)(mm.compare_with_null(obs, v, ci="bootstrap", n_boot=500,
                                                                                    seed=i))
             for i, v in enumerate(nulls)]
    assert np.mean(cover) == pytest.approx(0.95, abs=0.04)


def test_compare_with_null_bootstrap_is_seeded_and_validated():
    null = np.linspace(0.2, 0.4, 15)
    a = mm.compare_with_null(0.5, null, ci="bootstrap", seed=3)
    assert a == mm.compare_with_null(0.5, null, ci="bootstrap", seed=3)
    assert a.delta_low < a.delta < a.delta_high and a.delta == pytest.approx(0.2)
    t = mm.compare_with_null(0.5, null)
    assert (a.delta_high - a.delta_low) == pytest.approx(t.delta_high - t.delta_low, rel=0.3)
    with pytest.raises(ValueError, match="'alternative'"):
        mm.compare_with_null(0.5, null, alternative="bigger")
    with pytest.raises(ValueError, match="'confidence'"):
        mm.compare_with_null(0.5, null, confidence=1.0)
    with pytest.raises(ValueError, match="'confidence'"):
        mm.compare_with_null(0.5, null, confidence=1.5)
    with pytest.raises(ValueError, match="'ci'"):
        mm.compare_with_null(0.5, null, ci="normal")
    with pytest.raises(ValueError, match="'n_boot'"):
        mm.compare_with_null(0.5, null, ci="bootstrap", n_boot=0)


def test_modularity_significance_reports_delta_p_and_fragmentation(karate):
    import warnings

    A, _ = planted(3, 20, p_in=0.4, p_out=0.02, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", mm.FragmentedNetworkWarning)  # connected: no warning
        t = mm.modularity_significance(A, "degree", n_null=9, n_runs=3, seed=0)
    assert t.delta == pytest.approx(t.q - t.null_mean) and t.delta_low > 0 and t.p_value == pytest.approx(0.1)
    assert t.fragmented is False and t.n_components == 1 and t.largest_component == 1.0 and t.n_isolated == 0
    c = mm.compare_with_null(t.q, t.null_q)
    assert (t.delta_low, t.delta_high, t.p_value) == (c.delta_low, c.delta_high, c.p_value)
    d = t.as_dict()
    assert {"delta", "delta_low", "delta_high", "p_value", "fragmented", "n_components"} <= set(d)
    assert not any(isinstance(v, np.ndarray) for v in d.values())
    two = mm.modularity_significance(A, "degree", n_null=9, n_runs=3, seed=0, alternative="two-sided")
    assert two.p_value == pytest.approx(0.2) and two.q == t.q
    # two separate communities: flagged (warned by default, raised or ignored on request)
    B = np.kron(np.eye(2), np.ones((8, 8))) - np.eye(16)
    B[0, 1] = B[1, 0] = 0
    with pytest.warns(mm.FragmentedNetworkWarning, match="2 components"):
        f = mm.modularity_significance(B, "density", n_null=3, n_runs=1, seed=0)
    assert f.fragmented and f.n_components == 2 and f.largest_component == 0.5
    with pytest.raises(ValueError, match="fragmented"):
        mm.modularity_significance(B, "density", n_null=3, n_runs=1, seed=0, on_fragmented="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = mm.modularity_significance(B, "density", n_null=3, n_runs=1, seed=0, on_fragmented="ignore",
                                       min_largest_component=0.4)
    assert g.fragmented is False and g.q == f.q
    with pytest.raises(ValueError, match="'on_fragmented'|'action'"):
        mm.modularity_significance(karate, n_null=2, on_fragmented="drop")
    with pytest.raises(ValueError, match="'min_largest_component'"):
        mm.modularity_significance(karate, n_null=2, min_largest_component=1.5)
    with pytest.raises(ValueError, match="'alternative'"):
        mm.modularity_significance(karate, n_null=2, alternative="up")
    # tests built from null values directly: fragmentation unknown unless the network is given
    m = mm.ModularityTest.from_null(0.5, [0.1, 0.2], null="x", partition=[0, 1], n_runs=1)
    assert m.fragmented is None and np.isnan(m.largest_component) and m.p_value == pytest.approx(1 / 3)
    old = mm.ModularityTest(0.5, 0.2, 0.1, 3.0, 100.0, 2, "x", np.zeros(2), np.zeros(2))
    assert np.isnan(old.delta) and old.fragmented is None


def test_fragmentation_counts_components():
    A = np.zeros((10, 10))
    for a, b in [(0, 1), (1, 2), (3, 4)]:
        A[a, b] = A[b, a] = 1.0
    A[5, 5] = 1.0  # a self-loop does not connect node 5
    f = mm.fragmentation(A)
    assert (f.n_nodes, f.n_components, f.n_isolated) == (10, 7, 5) and f.largest_component == 0.3 and f.fragmented
    # directed networks: weakly connected components
    chain = np.diag(np.ones(4), 1)
    g = mm.fragmentation(chain)
    assert g.n_components == 1 and not g.fragmented
    # at the threshold exactly: not fragmented
    C = np.zeros((10, 10))
    C[:9, :9] = 1 - np.eye(9)
    assert not mm.fragmentation(C).fragmented and mm.fragmentation(C, min_largest_component=0.95).fragmented
    # agrees with networkx on random sparse graphs
    rng = np.random.default_rng(0)
    for _ in range(10):
        R = random_graph(40, int(rng.integers(10, 60)), rng).astype(float)
        G = nx.from_numpy_array(R)
        h = mm.fragmentation(R)
        assert h.n_components == nx.number_connected_components(G)
        assert h.largest_component == max(len(c) for c in nx.connected_components(G)) / 40
        assert h.n_isolated == nx.number_of_isolates(G)
    assert mm.fragmentation(np.zeros((3, 3))).n_components == 3  # edgeless is allowed here
    with pytest.raises(ValueError, match="'min_largest_component'"):
        mm.fragmentation(A, min_largest_component=0.0)
    with pytest.raises(ValueError, match="'A'"):
        mm.fragmentation(np.ones((2, 3)))
    with pytest.raises(ValueError, match="'action'"):
        mm.flag_fragmented(A, action="exclude")
    with pytest.raises(ValueError, match="'W' is fragmented: 7 components"):
        mm.flag_fragmented(A, action="raise", name="W")


def test_adjust_pvalues_by_hand():
    p = [0.04, 0.001, 0.04, 0.3, 0.02]
    assert mm.adjust_pvalues(p, "holm") == pytest.approx([0.12, 0.005, 0.12, 0.3, 0.08])
    assert mm.adjust_pvalues(p, "bh") == pytest.approx([0.05, 0.005, 0.05, 0.3, 0.05])
    assert mm.adjust_pvalues(p, "bonferroni") == pytest.approx([0.2, 0.005, 0.2, 1.0, 0.1])
    assert mm.adjust_pvalues([0.01, 0.02, 0.03, 0.04, 0.05], "holm") == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09])
    assert mm.adjust_pvalues([0.01, 0.02, 0.03, 0.04, 0.05], "bh") == pytest.approx([0.05] * 5)
    assert mm.adjust_pvalues([0.5, 0.6], "holm").tolist() == [1.0, 1.0]
    assert mm.adjust_pvalues([0.5, 0.6], "bh") == pytest.approx([0.6, 0.6])
    # NaN stays NaN and does not count; shape is kept; a single p-value is unchanged
    out = mm.adjust_pvalues([0.01, np.nan, 0.04], "holm")
    assert out[0] == pytest.approx(0.02) and np.isnan(out[1]) and out[2] == pytest.approx(0.04)
    assert mm.adjust_pvalues(np.full((2, 3), 0.1), "bh").shape == (2, 3)
    assert mm.adjust_pvalues([0.03], "holm").tolist() == [0.03]
    assert mm.adjust_pvalues([], "bh").shape == (0,)
    with pytest.raises(ValueError, match="'method'"):
        mm.adjust_pvalues(p, "fdr")
    with pytest.raises(ValueError, match="'p'"):
        mm.adjust_pvalues([0.5, 1.2])
    with pytest.raises(ValueError, match="'p'"):
        mm.adjust_pvalues([-0.1, 0.5])
    with pytest.raises(ValueError, match="'p'"):
        mm.adjust_pvalues([np.inf, 0.5])
    with pytest.raises(TypeError, match="'p'"):
        mm.adjust_pvalues("0.1")


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30))
@settings(max_examples=60, deadline=None)
def test_adjust_pvalues_properties(p):
    p = np.array(p)
    holm, bh, bonf = (mm.adjust_pvalues(p, m) for m in ("holm", "bh", "bonferroni"))
    assert np.all(p <= bh + 1e-12) and np.all(bh <= holm + 1e-12) and np.all(holm <= bonf + 1e-12)
    assert np.all(bonf <= 1.0)
    order = np.argsort(p, kind="stable")
    for adj in (holm, bh):  # monotone in p
        assert np.all(np.diff(adj[order]) >= -1e-12)
    # Holm rejects at 0.05 exactly what the step-down procedure rejects
    m = p.size
    reject = np.zeros(m, bool)
    for rank, i in enumerate(order):
        if (m - rank) * p[i] > 0.05:  # the same arithmetic as the adjustment (no rounding at the boundary)
            break
        reject[i] = True
    assert np.array_equal(reject, holm <= 0.05)
    # BH rejects the k smallest, k the largest rank with p_(k) <= 0.05 k / m
    ok = np.nonzero(m * p[order] / np.arange(1, m + 1) <= 0.05)[0]
    k = ok.max() + 1 if ok.size else 0
    assert np.array_equal(np.sort(np.flatnonzero(bh <= 0.05)), np.sort(order[:k]))


def test_strength_null_keeps_strengths_and_topology_and_destroys_weight_modules():
    from mesoscale.metrics import STRENGTH_RTOL, modularity_significance, null_network

    rng = np.random.default_rng(0)
    n = 60
    block = np.repeat([0, 1, 2], 20)
    W = rng.gamma(2.0, 1.0, size=(n, n)) * np.where(block[:, None] == block[None, :], 4.0, 1.0)
    W = np.triu(W, 1)
    W = W + W.T  # dense (complete) weighted graph with modules in its weights
    R = null_network(W, "strength", seed=1)
    assert np.allclose(R, R.T) and np.all(np.diag(R) == 0)
    assert np.max(np.abs(R.sum(1) / W.sum(1) - 1)) <= STRENGTH_RTOL
    assert np.array_equal(R > 0, W > 0)
    assert abs(np.corrcoef(R[np.triu_indices(n, 1)], W[np.triu_indices(n, 1)])[0, 1]) < 0.5
    test = modularity_significance(W, "strength", n_null=10, n_runs=2, seed=2)
    assert test.z > 5 and test.delta_low > 0
    flat = np.triu(rng.gamma(2.0, 1.0, size=(n, n)), 1)
    flat = flat + flat.T
    assert modularity_significance(flat, "strength", n_null=10, n_runs=2, seed=3).p_value > 0.05
    with pytest.raises(ValueError, match="weights that differ"):
        null_network((W > 0).astype(float), "strength", seed=0)
    with pytest.raises(ValueError, match="undirected"):
        null_network(np.triu(W), "strength", seed=0)
