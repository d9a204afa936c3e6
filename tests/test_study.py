"""Tests of mesoscale.generative.study, the phase-2 driver behind notebook 04."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mesoscale.generative import plots  # noqa: E402
from mesoscale.generative import stages as ST  # noqa: E402
from mesoscale.generative import study as S  # noqa: E402


@pytest.fixture(scope="module")
def worm():
    data, overview = S.prepare_connectomes(["celegans_witvliet_1", "celegans_witvliet_2"])
    fitted = S.fit_connectomes(data, ["sptl", "matching"], top_k=2, n_boot=20, seed=0, n_draws=4, levels=1)
    compared = S.compare_fits(data, fitted, n_synthetic=2, n_null=2, n_runs=1, seed=0)
    return data, overview, fitted, compared


def test_store_paths_resolve_from_project_root(tmp_path, monkeypatch):
    root = S.project_root()
    assert (root / "pyproject.toml").is_file()
    monkeypatch.chdir(tmp_path)  # the working directory does not matter
    assert S.store_path("stores/x") == str(root / "stores" / "x")
    monkeypatch.setenv("MESOSCALE_ROOT", str(tmp_path))
    assert S.store_path("stores/x") == str(tmp_path / "stores" / "x")
    assert S.store_path(str(tmp_path / "abs")) == str(tmp_path / "abs")
    assert S.store_path("") is None and S.store_path(None) is None


def test_streams_depend_on_seed_purpose_and_name_only():
    a = S.stream_seed(0, "fit", "x")
    assert a == S.stream_seed(0, "fit", "x")
    assert len({a, S.stream_seed(1, "fit", "x"), S.stream_seed(0, "compare", "x"), S.stream_seed(0, "fit", "y")}) == 4


def test_prepare_connectomes_tables_and_validation():
    data, overview = S.prepare_connectomes(["human_dk68", "fly_larva_mb_left"])
    assert overview["distances"].tolist() == ["node positions", "constant (no positions)"]
    fly = data["fly_larva_mb_left"]
    assert not fly["spatial"] and np.all(fly["D"][~np.eye(fly["D"].shape[0], dtype=bool)] == 1)
    assert int(overview.loc[0, "edges"]) == int(data["human_dk68"]["A"].sum() // 2)
    with pytest.raises(ValueError, match="'names'"):
        S.prepare_connectomes(["nope"])


def test_fit_connectomes_is_independent_of_the_dataset_list(worm):
    data, _, fitted, _ = worm
    one = {k: data[k] for k in ["celegans_witvliet_2"]}
    alone = S.fit_connectomes(one, ["sptl", "matching"], top_k=2, n_boot=20, seed=0, n_draws=4, levels=1)
    name = "celegans_witvliet_2"
    pd.testing.assert_frame_equal(alone["fits"][name].table, fitted["fits"][name].table)
    assert list(fitted["best"].index) == list(data)
    assert set(fitted["rankings"]["rule"]) == {"sptl", "matching"}


def test_fit_connectomes_resumes_its_store(tmp_path):
    data, _ = S.prepare_connectomes(["human_dk68"])
    kw = dict(top_k=2, n_boot=10, seed=3, store_dir=str(tmp_path), n_draws=4, levels=1)
    a = S.fit_connectomes(data, ["sptl"], **kw)
    assert len(list(tmp_path.iterdir())) == 1
    b = S.fit_connectomes(data, ["sptl"], **kw)
    pd.testing.assert_frame_equal(a["fits"]["human_dk68"].table, b["fits"]["human_dk68"].table)


def test_compare_fits_tables(worm):
    data, _, fitted, compared = worm
    assert list(compared["z_table"].index) == list(data)
    assert set(compared["verdicts"]["dataset"]) == set(data)
    assert compared["failures"].between(0, 1).all()
    assert compared["real"]["n_null"].tolist() == [2, 2]


def test_development_study_and_species_table(worm):
    data, _, fitted, compared = worm
    dev = ST.development_study(data, fitted, compared["comparisons"], growth_rules=["sptl"], growth_networks=3, seed=0)
    assert dev["stages"] == ["celegans_witvliet_1", "celegans_witvliet_2"]
    assert set(dev["growth"]["predictor"]) == {"sptl", "degree_oracle", "chance", "preferential_attachment", "common_neighbors", "distance"}
    assert dev["growth"]["transition"].unique().tolist() == ["1→2"]
    assert set(dev["trends"]["rule"]) == {"sptl", "matching"}
    fig = plots.plot_development_trajectories(dev)
    assert sum(ax.get_visible() for ax in fig.axes) == 7
    plt.close(fig)
    with pytest.raises(ValueError, match="'growth_rules'"):
        ST.development_study(data, fitted, compared["comparisons"], growth_rules=["deg-avg"], growth_networks=2)
    per, panel = S.species_table(data, fitted, compared)
    assert per["species"].unique().tolist() == ["Caenorhabditis elegans"] and len(per) == 2
    fig = plots.plot_species_panel(per, panel)
    assert len(fig.axes) == 6 and fig.axes[0].get_title() == "energy"
    plt.close(fig)


def test_fit_checks_report_nesting_and_floors_with_a_pair_of_adults():
    data, _ = S.prepare_connectomes(["celegans_witvliet_7", "celegans_witvliet_8"])
    fitted = S.fit_connectomes(data, ["sptl", "matching"], top_k=2, n_boot=20, n_draws=4, levels=1,
                                   nesting="ignore")
    c = S.fit_checks(data, fitted, n_floor=6, seed=1)
    assert set(c["nesting"]["dataset"]) == set(data) and set(c["nesting"]["rule"]) == {"matching"}
    assert len(c["pairs"]) == 1 and 0 < c["pairs"]["energy"].iloc[0] < 0.2  # two adults are close
    f = c["floors"].set_index(["dataset", "floor"])
    assert set(f.index.get_level_values("floor")) == {"self", "pair"}
    # a 4-point search is nowhere near the floor of two animals: every fit is a misfit against the pair floor
    assert (f.xs("pair", level="floor")["verdict"] == "misfit").all()
    again = S.fit_checks(data, fitted, n_floor=6, seed=1)
    pd.testing.assert_frame_equal(c["floors"], again["floors"])


def test_compare_fits_in_processes_equals_the_serial_result():
    from mesoscale.generative.study import compare_fits, fit_connectomes, prepare_connectomes

    data, _ = prepare_connectomes(["human_dk68", "celegans_witvliet_1"])
    fitted = fit_connectomes(data, ["sptl"], top_k=2, n_boot=20, n_draws=4, levels=1, seed=3)
    serial = compare_fits(data, fitted, n_synthetic=2, n_null=2, n_runs=1, seed=5, ceiling_pair=None)
    pooled = compare_fits(data, fitted, n_synthetic=2, n_null=2, n_runs=1, seed=5, ceiling_pair=None, n_jobs=2)
    for name in data:
        pd.testing.assert_frame_equal(serial["comparisons"][name], pooled["comparisons"][name])
    pd.testing.assert_frame_equal(serial["rescored"], pooled["rescored"])
    with pytest.raises(ValueError, match="n_jobs"):
        compare_fits(data, fitted, n_synthetic=2, n_null=2, n_runs=1, n_jobs=0)


def test_threshold_check_refits_only_denser_datasets_and_reports_both_rankings():
    from mesoscale.generative.findings import phase2_findings
    from mesoscale.generative.study import fit_connectomes, prepare_connectomes, threshold_check

    data, _ = prepare_connectomes(["human_dk68", "celegans_witvliet_1"])
    fitted = fit_connectomes(data, ["sptl", "matching"], top_k=2, n_boot=20, n_draws=4, levels=1, seed=1)
    t = threshold_check(data, fitted, density=0.1, top_k=2, n_boot=20, n_draws=4, levels=1, seed=1)
    assert set(t["dataset"]) == {"human_dk68"}  # the worm is not human (default names)
    assert sorted(t["rank"]) == [1, 2] and sorted(t["rank_own"]) == [1, 2]
    assert (t["density_own"] > 0.25).all() and (t["density"] == 0.1).all()
    own = fitted["rankings"].set_index(["dataset", "rule"]).loc["human_dk68", "energy_topk"]
    assert np.allclose(t.set_index("rule")["energy_own"].sort_index(), own.sort_index())
    # a density at or above the dataset's own skips it
    assert threshold_check(data, fitted, density=0.5, top_k=2, n_boot=20, n_draws=4, levels=1).empty
    with pytest.raises(ValueError, match="'density' must lie strictly between 0 and 1"):
        threshold_check(data, fitted, density=1.0)
    with pytest.raises(ValueError, match="names"):
        threshold_check(data, fitted, names=["human_hagmann66"])
    text = phase2_findings(fitted, threshold=t)
    assert "Does the threshold decide the ranking?" in text and "`human_dk68` at 10% of pairs" in text
    flipped = t.assign(rank_own=t["rank_own"].max() + 1 - t["rank_own"])
    assert "changes the winner" in phase2_findings(fitted, threshold=flipped)
    assert "does not change" in text or "changes the winner" in text
