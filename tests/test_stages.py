"""The worm stages: common neurons, three versions of each stage, trend tests against the adults; seeded fits."""

import numpy as np
import pandas as pd
import pytest

from mesoscale.generative.stages import WITVLIET_ADULTS, common_neurons, seeded_fits, stage_structure, stage_trends
from mesoscale.generative.study import prepare_connectomes

STAGES = [f"celegans_witvliet_{k}" for k in range(1, 9)]
AGES = [0.0, 5.0, 8.0, 16.0, 23.0, 27.0, 50.0, 50.0]


@pytest.fixture(scope="module")
def two_stages():
    data, _ = prepare_connectomes(["celegans_witvliet_1", "celegans_witvliet_8"])
    return data


def trend_table(values, metric="Q"):
    return pd.DataFrame({"dataset": STAGES, "version": "binary", "metric": metric, "age": AGES, "value": values})


def test_stage_structure_uses_one_neuron_set_and_all_three_versions(two_stages):
    t = stage_structure(two_stages, n_null=4, n_runs=2, seed=3)
    common = common_neurons([two_stages[n]["c"] for n in two_stages])
    assert set(t["n_nodes"]) == {len(common)}
    assert set(zip(t["version"], t["metric"])) == {("binary", "Q"), ("weighted", "Q"), ("directed", "trophic_coherence"),
                                                   ("directed", "layer_feedforwardness")}
    q = t[t["metric"] == "Q"]
    assert (q["value"] > q["null_mean"]).all()  # worm connectomes are modular against their degree nulls
    ff = t[t["metric"] == "layer_feedforwardness"]
    assert ((ff["value"] > 0.5) & (ff["value"] <= 1)).all()  # sensory -> inter -> motor carries more weight forward
    # the adult has more edges than the newborn on the same neurons
    edges = t[t["version"] == "binary"].set_index("dataset")["n_edges"]
    assert edges["celegans_witvliet_8"] > edges["celegans_witvliet_1"]
    again = stage_structure(two_stages, n_null=4, n_runs=2, seed=3)
    pd.testing.assert_frame_equal(t, again)


def test_trends_count_only_beyond_the_adults_difference():
    rising = stage_trends(trend_table(np.linspace(0.1, 0.5, 8) + [0, 0, 0, 0, 0, 0, -0.005, 0.005]), columns=["value"])
    assert rising["trend"].item() == "rises" and rising["p_perm"].item() < 0.01
    assert rising["slope_low"].item() > 0 and rising["spearman_rho"].item() > 0.95
    # the same rise, but the two adults disagree by more than the whole change
    wide = np.linspace(0.1, 0.2, 8)
    wide[6], wide[7] = 0.0, 0.4
    assert stage_trends(trend_table(wide), columns=["value"])["trend"].item() == "none beyond individual variation"
    flat = stage_trends(trend_table(np.random.default_rng(0).normal(0.3, 0.01, 8)), columns=["value"])
    assert flat["trend"].item() == "none beyond individual variation" and flat["p_perm"].item() > 0.05
    falling = stage_trends(trend_table([0.5, 0.45, 0.42, 0.35, 0.3, 0.26, 0.1, 0.1]), columns=["value"])
    assert falling["trend"].item() == "falls" and falling["adult_difference"].item() == 0.0
    with pytest.raises(ValueError, match="lacks the columns"):
        stage_trends(trend_table(np.zeros(8)).drop(columns="age"))


def test_seeded_fits_grow_from_the_edges_both_animals_share(two_stages):
    t = seeded_fits(two_stages, ["sptl", "matching"], n_draws=4, levels=1, top_k=2, n_networks=2, seed=1)
    assert t["rule"].tolist() == ["sptl", "matching"] and (t["target"] == "celegans_witvliet_8").all()
    row = t.iloc[0]
    assert 0 < row["seed_edges"] < row["target_edges"]
    assert np.allclose(t["gain"], t["energy_unseeded"] - t["energy_seeded"])
    with pytest.raises(ValueError, match="later Witvliet stages"):
        seeded_fits(two_stages, ["sptl"], targets=["celegans_witvliet_1"], n_draws=2, levels=1)
    with pytest.raises(ValueError, match="'seed_stage'"):
        seeded_fits(two_stages, ["sptl"], seed_stage="human_dk68")
    assert WITVLIET_ADULTS == ("celegans_witvliet_7", "celegans_witvliet_8")
