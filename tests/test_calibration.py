"""Tests of mesoscale.metrics.calibration: z and p of null comparisons on known-null replicates."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from mesoscale import metrics as mm
from mesoscale.metrics.calibration import REPLICATE_COLUMNS, _randomised_p


def barabasi_albert(rng):
    """Heavy-tailed degrees, no modules: the density null gets its Q wrong."""
    return nx.to_numpy_array(nx.barabasi_albert_graph(30, 3, seed=int(rng.integers(2**31))))


def planted(rng, n_modules=3, size=10, p_in=0.5, p_out=0.05):
    z = np.repeat(np.arange(n_modules), size)
    P = np.where(z[:, None] == z[None, :], p_in, p_out)
    A = np.triu(rng.random(P.shape) < P, 1)
    return (A | A.T).astype(float)


# ----------------------------------------------------------------------------- the known-null calibration


def test_erdos_renyi_with_degree_null_is_calibrated():
    # 40 ER graphs G(30, 80), each against 20 degree-preserving nulls (< 15 s on one core)
    c = mm.calibrate_erdos_renyi(30, 80, 40, null="degree", n_null=20, n_runs=3, seed=0)
    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in c.as_dict().items()})
    assert c.n_replicates == 40 and c.n_null == 20 and c.n_runs == 3 and c.null == "degree"
    assert list(c.replicates.columns) == list(REPLICATE_COLUMNS) and len(c.replicates) == 40
    assert c.replicates["replicate"].tolist() == list(range(40))
    assert abs(c.mean_z) < 0.5
    assert 0.6 < c.sd_z < 1.6
    assert c.frac_z_beyond <= 0.2
    assert c.ks_z_pvalue > 0.01 and c.ks_p_pvalue > 0.01 and c.calibrated
    assert c.frac_fragmented == 0.0
    # every replicate is a real G(30, 80) with its own stream (Q has ties: a rational of denominator (2m)^2)
    assert c.replicates["q"].nunique() > 30 and c.replicates["q"].min() > 0.24
    # p-values are the empirical ones of each replicate; the randomised one lies within its step
    p, pr = c.replicates["p_value"].to_numpy(), c.replicates["p_random"].to_numpy()
    assert np.all(p >= 1 / 21) and np.all(pr <= p + 1e-12) and np.all(pr > 0)


def test_misspecified_null_is_flagged():
    # heavy-tailed degrees against the density null: Q of the nulls (ER) is too high, z < 0
    bad = mm.calibrate_null(barabasi_albert, 20, null="density", n_null=10, n_runs=3, seed=1)
    assert not bad.calibrated
    assert bad.mean_z < -0.8 and bad.ks_z_pvalue < 0.01 and bad.ks_p_pvalue < 0.01
    # the same graphs against the null that keeps their degrees pass
    good = mm.calibrate_null(barabasi_albert, 20, null="degree", n_null=10, n_runs=3, seed=1)
    assert good.calibrated and abs(good.mean_z) < 0.8
    # modules that are really there are not "null replicates": the calibration says so loudly
    mod = mm.calibrate_null(planted, 10, null="degree", n_null=10, n_runs=3, seed=2)
    assert not mod.calibrated and mod.mean_z > 3 and (mod.replicates["p_value"] == 1 / 11).all()


def test_same_seed_same_bits_and_n_jobs_does_not_change_results():
    kw = dict(null="density", n_null=4, n_runs=2, seed=np.random.SeedSequence(5))
    a = mm.calibrate_erdos_renyi(20, 40, 6, **kw)
    b = mm.calibrate_erdos_renyi(20, 40, 6, **kw)
    assert a.replicates.equals(b.replicates) and a.as_dict() == b.as_dict()
    # worker processes (a lambda travels with fork) give the very same replicates
    par = mm.calibrate_null(lambda rng: mm.erdos_renyi(20, 40, rng), 6, n_jobs=2, **kw)
    assert par.replicates.equals(a.replicates)
    other = mm.calibrate_erdos_renyi(20, 40, 6, **{**kw, "seed": 6})
    assert not np.array_equal(other.replicates["q"], a.replicates["q"])


def test_spatial_replicates_bring_their_distances():
    def spatial(rng, n=40):
        X = rng.random((n, 2))
        D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
        A = np.triu(rng.random((n, n)) < 0.9 * np.exp(-D / 0.2), 1)
        return (A | A.T).astype(float), D

    c = mm.calibrate_null(spatial, 4, null="spatial", n_null=4, n_runs=2, seed=0)
    assert c.n_replicates == 4 and np.isfinite(c.replicates["z"]).all()
    with pytest.raises(ValueError, match="'D'"):  # no distances anywhere for a spatial null
        mm.calibrate_erdos_renyi(20, 40, 2, null="spatial", n_null=2, n_runs=1, seed=0)


def test_fragmented_replicates_are_counted():
    # G(60, 40) falls apart: every replicate is flagged, without a warning per replicate
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", mm.FragmentedNetworkWarning)
        c = mm.calibrate_erdos_renyi(60, 40, 3, null="density", n_null=3, n_runs=1, seed=0)
    assert c.frac_fragmented == 1.0 and c.replicates["fragmented"].all()
    assert (c.replicates["n_components"] > 10).all() and (c.replicates["largest_component"] < 0.9).all()


def test_calibrate_validation():
    with pytest.raises(TypeError, match="'generate'"):
        mm.calibrate_null(np.eye(3))
    with pytest.raises(ValueError, match="'n_replicates'"):
        mm.calibrate_null(barabasi_albert, 1)
    with pytest.raises(ValueError, match="'null'"):
        mm.calibrate_null(barabasi_albert, 5, null="lattice")
    with pytest.raises(ValueError, match="'n_null'"):
        mm.calibrate_null(barabasi_albert, 5, n_null=1)
    with pytest.raises(ValueError, match="'alpha'"):
        mm.calibrate_null(barabasi_albert, 5, alpha=1.0)
    with pytest.raises(ValueError, match="'n_jobs'"):
        mm.calibrate_null(barabasi_albert, 5, n_jobs=0)
    with pytest.raises(TypeError, match="'progress'"):
        mm.calibrate_null(barabasi_albert, 5, progress="yes")
    with pytest.raises(ValueError, match=r"'generate\(rng\)'"):
        mm.calibrate_null(lambda rng: np.zeros((5, 5)), 2, n_null=2, n_runs=1)
    with pytest.raises(ValueError, match="'generate' must return"):
        mm.calibrate_null(lambda rng: (np.eye(2), None, None), 2, n_null=2, n_runs=1)
    with pytest.raises(ValueError, match="'m'"):
        mm.calibrate_erdos_renyi(5, 11, 2)
    with pytest.raises(TypeError, match="'generate'"):
        mm.calibrate_erdos_renyi(5, 4, 2, generate=barabasi_albert)
    with pytest.raises(ValueError, match="'n'"):
        mm.erdos_renyi(1, 1)


def test_erdos_renyi_is_uniform_gnm():
    A = mm.erdos_renyi(12, 30, seed=3)
    assert A.sum() == 60 and np.array_equal(A, A.T) and not A.diagonal().any() and set(np.unique(A)) == {0, 1}
    assert np.array_equal(A, mm.erdos_renyi(12, 30, seed=3))
    # every pair equally likely: 2,000 draws of G(6, 3), each of the 15 pairs in 1/5 of them
    counts = sum(mm.erdos_renyi(6, 3, seed=s)[np.triu_indices(6, 1)] for s in range(2000))
    assert stats.chisquare(counts).pvalue > 0.001


# ----------------------------------------------------------------------------- the summary


def test_summarize_calibration_normal_and_shifted():
    rng = np.random.default_rng(0)
    ok = mm.summarize_calibration(rng.standard_normal(400), rng.random(400), null="x")
    assert ok.calibrated and ok.n_null is None and ok.sd_z_ideal == 1.0
    assert ok.frac_z_beyond_ideal == pytest.approx(0.05, abs=1e-6) and np.isnan(ok.frac_fragmented)
    shifted = mm.summarize_calibration(rng.standard_normal(400) + 0.5, rng.random(400))
    assert not shifted.calibrated and shifted.ks_z_pvalue < 1e-4 and shifted.ks_p_pvalue > 0.01
    skewed = mm.summarize_calibration(rng.standard_normal(400), rng.random(400) ** 2)
    assert not skewed.calibrated and skewed.ks_p_pvalue < 1e-4
    # fractions are counted as documented
    c = mm.summarize_calibration([0.0, 2.0, -2.5, 1.0], [0.5, 0.05, 0.9, 0.2], fragmented=[True, False, False, False])
    assert c.frac_z_beyond == 0.5 and c.frac_p_below == 0.25 and c.frac_fragmented == 0.25
    assert c.mean_z == pytest.approx(0.125) and c.sd_z == pytest.approx(np.std([0, 2, -2.5, 1], ddof=1))


def test_ideal_spread_of_z_with_few_nulls():
    # z of a value against n Gaussian nulls: sqrt(1 + 1/n) t_{n-1}; check sd and P(|z| > 1.96) by simulation
    rng = np.random.default_rng(1)
    n = 8
    x = rng.standard_normal((40000, n + 1))
    z = (x[:, 0] - x[:, 1:].mean(1)) / x[:, 1:].std(1, ddof=1)
    c = mm.summarize_calibration(z, np.full(z.size, 0.5), n_null=n)
    assert c.sd_z_ideal == pytest.approx(np.sqrt(9 / 8 * 7 / 5))
    assert c.sd_z == pytest.approx(c.sd_z_ideal, rel=0.03)
    assert c.frac_z_beyond == pytest.approx(c.frac_z_beyond_ideal, abs=0.006)
    assert 0.10 < c.frac_z_beyond_ideal < 0.115  # twice the nominal 5 %
    assert mm.summarize_calibration(z[:10], np.full(10, 0.5), n_null=3).sd_z_ideal == np.inf
    # 400 such replicates with perfect p-values: the 1.96 rate (about 11 %) flags z as too wide
    few = mm.summarize_calibration(z[:400], rng.random(400), n_null=n)
    assert few.binom_z_pvalue < 0.01 and few.ks_p_pvalue > 0.01 and not few.calibrated


def test_randomised_p_is_exactly_uniform():
    rng = np.random.default_rng(2)
    n = 7
    for alternative in ("greater", "less", "two-sided"):
        # exchangeable observed and nulls on a coarse grid (many ties)
        x = rng.integers(0, 4, size=(5000, n + 1)).astype(float)
        pr = np.array([_randomised_p(r[0], r[1:], u, alternative) for r, u in zip(x, rng.random(5000))])
        assert stats.kstest(pr, "uniform").pvalue > 0.001, alternative
        if alternative != "two-sided":
            # and it never exceeds the empirical p-value it randomises
            p = np.array([mm.compare_with_null(r[0], r[1:], alternative=alternative).p_value for r in x[:200]])
            assert np.all(pr[:200] <= p + 1e-12)


def test_summarize_validation():
    with pytest.raises(ValueError, match="'z'"):
        mm.summarize_calibration([1.0], [0.5])
    with pytest.raises(ValueError, match="'z'"):
        mm.summarize_calibration([1.0, np.nan], [0.5, 0.5])
    with pytest.raises(ValueError, match="'p'"):
        mm.summarize_calibration([1.0, 0.0], [0.5])
    with pytest.raises(ValueError, match="'p'"):
        mm.summarize_calibration([1.0, 0.0], [0.0, 0.5])
    with pytest.raises(ValueError, match="'p_random'"):
        mm.summarize_calibration([1.0, 0.0], [0.5, 0.5], p_random=[0.5, 2.0])
    with pytest.raises(ValueError, match="'fragmented'"):
        mm.summarize_calibration([1.0, 0.0], [0.5, 0.5], fragmented=[True])
    with pytest.raises(TypeError, match="'null'"):
        mm.summarize_calibration([1.0, 0.0], [0.5, 0.5], null=3)
    with pytest.raises(ValueError, match="'z'"):
        mm.summarize_calibration(np.zeros((2, 2)), [0.5, 0.5])


def test_docstring_examples():
    import doctest

    from mesoscale.metrics import calibration

    res = doctest.testmod(calibration, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0
