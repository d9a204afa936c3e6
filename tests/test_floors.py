"""Tests of mesoscale.generative.floors: KS critical values, self floors, pair floors and the floor table."""

from __future__ import annotations

import bct
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mesoscale import connectomes
from mesoscale.generative import floor_table, generate, ks_critical_value, pair_floor, self_energy_floor
from mesoscale.generative.floors import _energy_between
from mesoscale.metrics import KS_COLUMNS, ks_energy


@pytest.fixture(scope="module")
def dk68():
    c = connectomes.load("human_dk68")
    return c.binary(), c.distances()


def test_ks_critical_value_formula_and_scipy():
    for alpha in (0.01, 0.05, 0.1):
        c = np.sqrt(-np.log(alpha / 2) / 2)
        assert np.isclose(ks_critical_value(50, 80, alpha), c * np.sqrt(130 / 4000))
        # the asymptotic (Kolmogorov) distribution exceeds c(alpha) with probability alpha
        assert np.isclose(stats.kstwobign.sf(c), alpha, rtol=1e-3)  # up to 2 exp(-8 c^2)
    # vectorised, broadcast; a float for scalars
    v = ks_critical_value([68, 180, 588], 588)
    assert v.shape == (3,) and np.all(np.diff(v) < 0) and isinstance(ks_critical_value(10, 10), float)
    assert ks_critical_value(np.full((2, 2), 30), 30).shape == (2, 2)
    # scipy's two-sample test: a statistic just above the critical value is significant, just below is not
    n = 400
    x = np.arange(n, dtype=float)
    crit = ks_critical_value(n, n)
    above, below = int(np.ceil(crit * n)), int(np.floor(crit * n))
    assert stats.ks_2samp(x, x + above, method="asymp").pvalue < 0.05 < stats.ks_2samp(x, x + below,
                                                                                         method="asymp").pvalue
    # large samples: close to the exact one-sample quantile at the effective size n1 n2 / (n1 + n2)
    assert np.isclose(ks_critical_value(4000, 4000), stats.kstwo.isf(0.05, 2000), rtol=0.01)
    for bad in (dict(n1=0, n2=5), dict(n1=2.5, n2=5), dict(n1=[3, -1], n2=5), dict(n1="a", n2=5)):
        with pytest.raises(ValueError, match="'n1'"):
            ks_critical_value(**bad)
    with pytest.raises(ValueError, match="'alpha'"):
        ks_critical_value(5, 5, alpha=1.0)


def test_self_floor_of_a_model(dk68):
    A, D = dk68
    m = int(A.sum()) // 2
    F = self_energy_floor(D, m, "matching", -3.0, 0.3, n_networks=60, seed=0)
    assert F.shape == (30, 5) and np.allclose(F[:, :4].max(axis=1), F[:, 4])
    e = F[:, 4]
    scale = np.sqrt(2 / 68)  # the KS scale sqrt((n1 + n2) / (n1 n2)) of two node samples
    assert np.all((e > 0) & (e < 1)) and np.median(e) < 0.4  # centred well below 1
    assert 0.5 * scale < e.mean() < ks_critical_value(68, 68) * 1.5  # of the order of the KS scale
    assert np.array_equal(F, self_energy_floor(D, m, "matching", -3.0, 0.3, n_networks=60, seed=0))
    assert not np.array_equal(F, self_energy_floor(D, m, "matching", -3.0, 0.3, n_networks=60, seed=1))
    # a pair of the floor is exactly the energy of one realisation against the other
    nets = generate(D, m, "matching", -3.0, 0.3, n_networks=60, seed=0)
    assert np.array_equal(F[3], ks_energy(nets[7], nets[6], D)[0])
    # a model with one possible network (every pair an edge) has floor 0
    n = 12
    Dn = np.abs(np.subtract.outer(np.arange(n, dtype=float), np.arange(n)))
    assert np.all(self_energy_floor(Dn, n * (n - 1) // 2, "sptl", -1.0, n_networks=4, seed=0) == 0)
    with pytest.raises(ValueError, match="'n_networks'"):
        self_energy_floor(D, m, "sptl", -1.0, n_networks=5)
    with pytest.raises(ValueError, match="'n_networks'"):
        self_energy_floor(D, m, "sptl", -1.0, n_networks=0)
    with pytest.raises(ValueError, match="'rule'"):
        self_energy_floor(D, m, "nope", -1.0, n_networks=2)


def _reference_energy(A, Da, B, Db):
    """KS energy from bctpy's statistics and scipy's ks_2samp, independently of the package's kernels."""
    out = []
    for f in (bct.degrees_und, bct.clustering_coef_bu, bct.betweenness_bin):
        a, b = np.asarray(f(A.astype(float)), float), np.asarray(f(B.astype(float)), float)
        out.append(stats.ks_2samp(a, b).statistic)
    la = Da[np.triu(A, 1) != 0]
    lb = Db[np.triu(B, 1) != 0]
    out.append(stats.ks_2samp(la, lb).statistic)
    return np.array(out + [max(out)])


def test_pair_floor_identical_networks_and_sizes():
    rng = np.random.default_rng(3)
    A = np.triu(rng.random((30, 30)) < 0.2, 1)
    A = (A | A.T).astype(int)
    xy = rng.random((30, 2))
    D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    same = pair_floor(A, A, D)
    assert list(same.index[:5]) == list(KS_COLUMNS) and np.all(same[list(KS_COLUMNS)] == 0)
    # different sizes: compared through their own samples, equal to an independent bctpy + scipy computation
    B = np.triu(rng.random((36, 36)) < 0.15, 1)
    B = (B | B.T).astype(int)
    xy2 = rng.random((36, 2))
    D2 = np.linalg.norm(xy2[:, None] - xy2[None], axis=-1)
    s = pair_floor(A, B, D, D2)
    assert (s["n_a"], s["n_b"], s["m_a"], s["m_b"]) == (30, 36, A.sum() // 2, B.sum() // 2)
    assert np.allclose(s[list(KS_COLUMNS)].to_numpy(float), _reference_energy(A, D, B, D2), atol=1e-9)
    # the two code paths agree on same-size networks with shared distances
    C = np.triu(rng.random((30, 30)) < 0.25, 1)
    C = (C | C.T).astype(np.uint8)
    assert np.allclose(_energy_between(A.astype(np.uint8), D, C, D), ks_energy(C, A, D)[0], atol=1e-12)
    assert np.allclose(pair_floor(A, C, D)[list(KS_COLUMNS)].to_numpy(float), ks_energy(C, A, D)[0])
    # symmetric: swapping the networks changes nothing
    assert np.allclose(pair_floor(C, A, D)[list(KS_COLUMNS)], pair_floor(A, C, D)[list(KS_COLUMNS)])
    with pytest.raises(ValueError, match="'D_b'"):
        pair_floor(A, B, D, D)  # D_b of the wrong size
    with pytest.raises(TypeError, match="'align'"):
        pair_floor(A, A, align=1)


def test_pair_floor_of_the_two_adult_worms_and_the_fly_sides():
    w7, w8 = connectomes.load("celegans_witvliet_7"), connectomes.load("celegans_witvliet_8")
    s = pair_floor(w7, w8)
    A7, A8, D, labels = connectomes.align_connectomes(w7, w8)
    assert s.name == "celegans_witvliet_7 vs celegans_witvliet_8" and s["n_a"] == s["n_b"] == len(labels)
    assert (s["m_a"], s["m_b"]) == (A7.sum() // 2, A8.sum() // 2)
    E = s[list(KS_COLUMNS)].to_numpy(float)
    assert np.allclose(E, _reference_energy(A7, D, A8, D), atol=1e-9)
    # two adult animals are closer than the KS critical value at their node count, but not identical
    assert 0 < E[4] < ks_critical_value(s["n_a"], s["n_b"])
    assert np.all(pair_floor(w7, w7)[list(KS_COLUMNS)] == 0)
    # without positions (larval mushroom body, two sides with different cells): constant distances
    left, right = connectomes.load("fly_larva_mb_left"), connectomes.load("fly_larva_mb_right")
    f = pair_floor(left, right)
    assert (f["n_a"], f["n_b"]) == (left.n, right.n) and left.n != right.n
    assert f["ks_edge_length"] == 0 and 0 < f["energy"] < 1


def test_floor_table_flags_a_misfit(dk68):
    A, D = dk68
    m = int(A.sum()) // 2
    F = self_energy_floor(D, m, "sptl", -3.0, n_networks=40, seed=2)
    upper = np.quantile(F[:, 4], 0.95)
    best = pd.DataFrame({"energy_topk": [float(np.median(F[:, 4])), 0.9]}, index=["good", "bad"])
    pair = pd.Series({"energy": 0.1})
    t = floor_table(best, {"self": {"good": F, "bad": F}, "pair": {"good": pair}},
                    {"good": A, "bad": (68, m)})
    assert t[["dataset", "floor", "verdict"]].to_numpy().tolist() == [
        ["good", "self", "within floor"], ["good", "pair", "misfit"], ["bad", "self", "misfit"]]
    row = t.iloc[0]
    assert np.isclose(row["floor_upper"], upper) and row["n_floor"] == 20 and row["within_floor"]
    assert (row["n_nodes"], row["n_edges"]) == (68, m)
    assert np.isclose(row["ks_crit_nodes"], ks_critical_value(68, 68))
    assert np.isclose(row["ks_crit_edges"], ks_critical_value(m, m))
    assert t.iloc[2]["excess"] > 0 and not t.iloc[2]["below_ks_crit"]
    # plain floors (one kind), a mapping of energies
    one = floor_table({"good": 0.05}, {"good": [0.04, 0.06, 0.08]}, {"good": (68, m)}, quantile=0.5)
    assert one["floor"].tolist() == ["floor"] and one["within_floor"].tolist() == [True]
    with pytest.raises(ValueError, match="'floors' names datasets"):
        floor_table({"good": 0.1}, {"other": [0.1]}, {"good": (68, m)})
    with pytest.raises(ValueError, match="'sizes' lacks"):
        floor_table({"good": 0.1}, {"good": [0.1]}, {})
    with pytest.raises(ValueError, match="'quantile'"):
        floor_table({"good": 0.1}, {"good": [0.1]}, {"good": (68, m)}, quantile=0.0)
    with pytest.raises(ValueError, match="'best'"):
        floor_table({"good": 1.5}, {"good": [0.1]}, {"good": (68, m)})
    with pytest.raises(ValueError, match="'floors'"):
        floor_table({"good": 0.1}, {"good": [np.nan]}, {"good": (68, m)})
    with pytest.raises(ValueError, match="'column'"):
        floor_table(best, {"good": F}, {"good": A, "bad": A}, column="nope")
