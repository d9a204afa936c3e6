"""Tests of mesoscale.theory.plots: every figure function returns a Figure with the expected artists."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mesoscale.theory import finite_size_scaling, scan  # noqa: E402
from mesoscale.theory.plots import plot_fss, plot_order_parameter, plot_susceptibility, plot_transition  # noqa: E402


def _sigmoid(x, n, seed):
    rng = np.random.default_rng(seed)
    return float(1 / (1 + np.exp(-(x - 1 - 2 / np.sqrt(n)) * np.sqrt(n))) + rng.normal(0, 0.01))


@pytest.fixture(scope="module")
def table():
    return scan(_sigmoid, np.linspace(0.8, 1.6, 41), [100, 400, 1600], 3, seed=0, progress=False)


@pytest.fixture(scope="module")
def fss(table):
    return finite_size_scaling(table, "peak", n_boot=10, seed=0)


def test_order_parameter_one_curve_per_size(table):
    fig = plot_order_parameter(table, reference=1.0, xlabel="x", ylabel="m")
    ax = fig.axes[0]
    assert len(ax.containers) == 3  # one errorbar per size
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "m"
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["n = 100", "n = 1600", "n = 400", "theory"]
    plt.close(fig)


def test_susceptibility_marks_located_peaks(table, fss):
    # bootstrap intervals that do not contain the estimate once made matplotlib raise (negative error bars)
    fig = plot_susceptibility(table, locations=fss.locations, log=True)
    ax = fig.axes[0]
    assert len(ax.get_lines()) >= 3 and ax.get_yscale() == "log"
    assert len(ax.containers) == 3  # one peak marker per size
    assert ax.get_ylabel().startswith("susceptibility")
    plt.close(fig)


def test_fss_draws_fit_and_extrapolation(fss):
    fig = plot_fss(fss, reference=1.0)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lab.startswith("fit") for lab in labels) and any(lab.startswith("n → ∞") for lab in labels)
    assert ax.get_xlabel() == "n^(−ω)"
    plt.close(fig)
    with pytest.raises(TypeError, match="'fss'"):
        plot_fss("nope")


def test_transition_has_two_or_three_panels(table, fss):
    fig = plot_transition(table, fss, xlabel="x")
    assert len(fig.axes) == 3 and fig.axes[2].get_ylabel() == "x at the transition"
    plt.close(fig)
    fig = plot_transition(table)
    assert len(fig.axes) == 2
    plt.close(fig)


def test_significance_and_scan_panels(table):
    import pandas as pd

    from mesoscale.theory.plots import plot_scans, plot_significance

    sig = pd.DataFrame({"x": [0.5, 0.5, 1.5, 1.5], "Q": [0.3, 0.31, 0.5, 0.52], "Q_null": 0.3,
                        "Q_planted": [0.1, 0.1, 0.4, 0.4], "z": [0.1, 0.3, 8.0, 9.0]})
    fig = plot_significance(sig, reference=1.0)
    left, right = fig.axes
    assert [line.get_label() for line in left.get_lines()[:3]] == [
        "maximum Q, observed", "maximum Q, degree null", "Q of planted groups (theory)"]
    assert np.allclose(left.get_lines()[0].get_ydata(), [0.305, 0.51])
    assert len(right.containers) == 1 and right.get_ylabel() == "z vs degree-preserving null"
    plt.close(fig)
    with pytest.raises(ValueError, match="'sig' lacks"):
        plot_significance(sig.drop(columns="z"))
    scans = {"a": table.assign(z=table["value"], Q=table["value"], Q_null=0.0), "b": table.assign(
        z=1.0, Q=table["value"], Q_null=0.0)}
    fig = plot_scans(scans)
    assert len(fig.axes) == 6 and [ax.get_title() for ax in fig.axes[::3]] == ["a", "b"]
    assert len(fig.axes[1].get_lines()) == 6 and len(fig.axes[0].containers) == 3  # 3 sizes
    plt.close(fig)
    with pytest.raises(TypeError, match="'scans'"):
        plot_scans({})
