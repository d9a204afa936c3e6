"""Tests of the wiring-rule explorer (ipywidgets), the gallery and the chapter's figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mesoscale.generative import explorer as X  # noqa: E402
from mesoscale.generative import development as DEV  # noqa: E402
from mesoscale.generative import landscape as L  # noqa: E402
from mesoscale.metrics import distance_matrix  # noqa: E402
from mesoscale.generative import plots  # noqa: E402


@pytest.fixture(scope="module")
def geom():
    P = L.embedding_positions("line", 36, seed=0, aspect=12.0)
    return P, distance_matrix(P)


def test_explorer_updates_with_widgets(geom):
    P, D = geom
    ex = X.NetworkExplorer(D, P, 54, nulls=("degree",), n_null=3, n_runs=1, seed=2)
    assert ex.widget.children[0].children[0] is ex.rule
    rec = ex.update(rule="matching", eta=-2.0, gamma=0.5)
    assert rec["n_edges"] == 54 and rec["A"].shape == (36, 36)
    assert (ex.rule.value, ex.eta.value, ex.gamma.value) == ("matching", -2.0, 0.5)
    assert "Q = " in ex.status.value and "z<sub>degree</sub>" in ex.status.value and "3 nulls" in ex.status.value
    ex.nulls = ()  # the rest checks the live updates; Q alone is enough
    # moving a widget recomputes (observer), and the same settings give the same network
    ex.rule.value = "sptl"
    assert ex.gamma.disabled and ex.last["rule"] == "sptl"
    first = ex.last["A"].copy()
    ex.eta.value = -4.0
    assert ex.last["eta"] == -4.0
    again = ex.compute(rule="sptl", eta=ex.eta.value, seed=ex.seed.value)
    assert np.array_equal(again["A"], ex.last["A"])
    ex.seed.value = 3
    assert not np.array_equal(ex.last["A"], again["A"]) or not np.array_equal(first, again["A"])
    plt.close("all")


def test_explorer_without_nulls_says_so(geom):
    P, D = geom
    ex = X.NetworkExplorer(D, P, 54, nulls=(), n_runs=1)
    ex.update(rule="sptl", eta=-3.0)
    assert "no null comparison" in ex.status.value
    plt.close("all")


def test_explorer_rejects_bad_input(geom):
    P, D = geom
    with pytest.raises(ValueError, match="'positions'.*36"):
        X.NetworkExplorer(D, P[:10], 54)
    with pytest.raises(ValueError, match="'rules'"):
        X.NetworkExplorer(D, P, 54, rules=["nope"])
    with pytest.raises(ValueError, match="'eta'"):
        X.NetworkExplorer(D, P, 54, eta=50.0)
    with pytest.raises(ValueError, match="'dims'"):
        X.NetworkExplorer(D, P, 54, dims=(0, 7))


def test_example_networks_and_gallery(geom):
    P, D = geom
    cells = [("sptl", -4.0, 0.0), ("matching", -1.0, 1.0)]
    ex = X.example_networks(D, 54, cells, nulls=("degree", "spatial"), n_null=3, n_runs=1, seed=1)
    again = X.example_networks(D, 54, cells, nulls=("degree", "spatial"), n_null=3, n_runs=1, seed=1)
    assert [e["rule"] for e in ex] == ["sptl", "matching"]
    assert all(np.array_equal(a["A"], b["A"]) and a["Q"] == b["Q"] for a, b in zip(ex, again))
    assert all("z_degree" in e and "z_spatial" in e for e in ex)
    fig = plots.plot_gallery(ex, P, ncols=2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert len(titles) == 2 and all("Q=" in t and "z$_{d}$" in t for t in titles)
    plt.close(fig)
    with pytest.raises(ValueError, match="triple"):
        X.example_networks(D, 54, [("sptl", -1.0)])
    with pytest.raises(ValueError, match="'examples'"):
        plots.plot_gallery([], P)


def test_phase_diagram_and_other_figures():
    rows = []
    for rule in ("sptl", "matching"):
        for eta in (-2.0, 0.0):
            for gamma in ([0.0] if rule == "sptl" else [0.0, 1.0]):
                rows.append({"rule": rule, "eta": eta, "gamma": gamma, "z_degree": 3 * (eta < 0),
                             "wiring_cost": 0.5, "frac_sig_all": float(eta < 0)})
    summ = pd.DataFrame(rows)
    fig = plots.plot_phase_diagrams(summ, metrics=["z_degree", "wiring_cost"])
    heat = [ax for ax in fig.axes if ax.images]
    assert len(heat) == 4
    sptl_img = heat[0].images[0].get_array()
    assert sptl_img.shape == (2, 2) and np.all(sptl_img[:, 0] == 3)  # broadcast over gamma
    plt.close(fig)
    with pytest.raises(ValueError, match="lacks the columns"):
        plots.plot_phase_diagrams(summ, metrics=["efficiency"])

    cond = pd.DataFrame([{"factor": f, "n": 30, "density": 0.1, "embedding": "line", "rule": "sptl",
                          "eta": e, "z_spatial": e} for f in ("n", "embedding") for e in (-1.0, 0.0)])
    fig = plots.plot_conditions(cond)
    drawn = [ax for ax in fig.axes if ax.get_lines()]
    assert len(drawn) == 2 and all(len(ax.get_lines()) >= 1 for ax in drawn)
    plt.close(fig)
    s = DEV.development_schedule(np.c_[np.arange(30.0), np.zeros(30), np.zeros(30)], np.arange(30), m_final=40,
                               n_stages=6, axis=0)
    fig = plots.plot_growth_curves({"a": DEV.development_curve(s)},
                                   real=pd.DataFrame({"neurons": [10, 20], "links": [5, 20]}))
    assert fig.axes[0].get_xscale() == "log"
    plt.close(fig)
    dev = pd.DataFrame({"elongation": [1.0, 4.0], "length_scale": [0.1, 0.1], "z_spatial": [1.0, 3.0],
                        "nmi_ganglia_z": [2.0, 5.0]})
    fig = plots.plot_development_map(dev)
    assert sum(bool(ax.images or ax.collections) for ax in fig.axes) >= 2
    plt.close(fig)
    fig = plots.plot_modules_vs_ganglia(np.random.default_rng(0).random((10, 3)), {"model": np.arange(10) % 2},
                                        ["a"] * 5 + ["b"] * 5)
    assert len(fig.axes) == 2 and "2 groups" in fig.axes[1].get_title(loc="left")
    plt.close(fig)
    with pytest.raises(ValueError, match="must agree"):
        plots.plot_modules_vs_ganglia(np.zeros((10, 3)), {"m": np.arange(9)}, ["a"] * 10)
