"""Repeated searches: pooling, their spread, the sign of gamma and a ranking that counts the search."""

import numpy as np
import pandas as pd
import pytest

from mesoscale.generative import fit, generate, pool_searches, rule_ranking, search_ranking, search_uncertainty


def table(rule, energies, gammas=0.5, eta=-2.0, repeats=1):
    e = np.repeat(np.asarray(energies, float), repeats)
    n = len(energies)
    return pd.DataFrame({"rule": rule, "level": 0, "point": np.repeat(np.arange(n), repeats),
                         "eta": eta, "gamma": np.repeat(np.broadcast_to(np.asarray(gammas, float), n), repeats),
                         "repeat": np.tile(np.arange(repeats), n), "energy": e})


@pytest.fixture(scope="module")
def fits():
    xy = np.random.default_rng(3).random((30, 2))
    D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    A = generate(D, 60, "sptl", -3.0, seed=1)[0].astype(float)
    return [fit(A, D, rules=["sptl", "matching"], n_draws=8, levels=2, n_networks=2, seed=s, progress=False,
                nesting="ignore") for s in range(3)]


def test_pooling_is_a_search_with_the_summed_budget(fits):
    pooled = pool_searches(fits, top_k=4)
    assert len(pooled.table) == sum(len(f.table) for f in fits)
    for rule in ("sptl", "matching"):
        best_single = min(f.best.set_index("rule").loc[rule, "energy"] for f in fits)
        assert pooled.best.set_index("rule").loc[rule, "energy"] == pytest.approx(best_single)
    assert set(pooled.nesting["rule"]) == {"matching"} and pooled.settings["n_searches"] == 3
    u = search_uncertainty(fits, top_k=4).set_index("rule")
    # the pooled top-k can only be as good as or better than the first search's
    assert (u["budget_shift"] >= -1e-12).all()
    assert (u["energy_ci_low"] <= u["energy_search_mean"]).all() and (u["energy_search_mean"] <= u["energy_ci_high"]).all()
    assert u.loc["sptl", "gamma_sign"] == "none (sptl)"


def test_a_search_that_varies_is_less_certain_than_its_networks_say():
    # rule a: each search tight, but the searches disagree; rule b: steady, a little worse on average
    a = [table("a", [0.20, 0.20, 0.21], repeats=4), table("a", [0.40, 0.40, 0.41], repeats=4)]
    b = [table("b", [0.29, 0.30, 0.30], repeats=4), table("b", [0.30, 0.31, 0.30], repeats=4)]
    searches = [pd.concat([a[i], b[i]]) for i in range(2)]
    one = rule_ranking(searches[0], top_k=3, n_boot=400, seed=0).set_index("rule")
    assert one.loc["a", "p_best"] == 1.0  # a single search is sure of itself
    two = search_ranking(searches, top_k=3, n_boot=2000, seed=0).set_index("rule")
    assert 0.15 < two.loc["a", "p_best"] < 0.85  # the searches' disagreement shows
    assert two.loc["a", "ci_high"] - two.loc["a", "ci_low"] > 5 * (one.loc["a", "ci_high"] - one.loc["a", "ci_low"])
    assert two.loc["a", "n_searches"] == 2 and two.loc["a", "n_evaluated"] == 24
    # the estimate (pooled top-k) lies inside its own interval, which reaches up to the worse search alone
    assert (two["ci_low"] <= two["energy_topk"]).all() and (two["energy_topk"] <= two["ci_high"]).all()
    assert two.loc["a", "energy_topk"] == pytest.approx(np.mean([0.20, 0.20, 0.21]))
    assert two.loc["a", "ci_high"] == pytest.approx(np.mean([0.40, 0.40, 0.41]), abs=0.01)
    single = search_ranking(searches[:1], top_k=3, n_boot=400, seed=0).set_index("rule")
    assert single.loc["a", "p_best"] == 1.0 and np.isnan(single.loc["a", "energy_search_sd"])


@pytest.mark.parametrize("gammas, sign", [
    ([[-1.0, -1.2], [-0.9, -1.1], [-1.1, -1.0]], "negative"),
    ([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], "zero (sptl's law)"),
    ([[2.0, -1.0], [1.0, -2.0], [0.5, 0.4]], "unidentified"),
    ([[1.0, 1.5], [1.2, 0.9], [1.1, 1.3]], "positive"),
])
def test_the_sign_of_gamma_is_called_only_when_points_and_searches_agree(gammas, sign):
    searches = [table("clu-avg", [0.2, 0.21], gammas=g) for g in gammas]
    assert search_uncertainty(searches, top_k=2)["gamma_sign"].item() == sign


def test_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        search_uncertainty([])
    t = table("a", [0.1])
    with pytest.raises(ValueError, match="same rules"):
        search_ranking([t, table("b", [0.1])])
    with pytest.raises(ValueError, match="pooled"):
        search_uncertainty([t.assign(search=0)])
    with pytest.raises(ValueError, match="sign_share"):
        search_uncertainty([t], sign_share=0.2)
