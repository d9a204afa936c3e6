"""Figures of the fitting chapter: energy landscapes, rule rankings, comparisons, forecasts, development.

Inputs are the tables of :mod:`~mesoscale.generative.fitting`, :mod:`~mesoscale.generative.ranking`,
:mod:`~mesoscale.generative.comparison`, :mod:`~mesoscale.generative.forecast` and
:mod:`~mesoscale.generative.study`. Every function returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..._validation import check_int
from ..ranking import fit_table, point_keys

__all__ = [
    "plot_energy_landscape",
    "plot_energy_landscapes",
    "plot_rule_ranking",
    "plot_comparison",
    "plot_growth_forward",
    "plot_trajectories",
    "plot_development_trajectories",
    "plot_species_panel",
]


def plot_energy_landscape(table, rules: Sequence[str] | None = None, *, ncols: int = 4, vmax: float | None = None):
    """Energy of every evaluated point in the ``(eta, gamma)`` plane, one panel per rule.

    ``sptl`` (no ``gamma``) is drawn as energy against ``eta``. The best point of each rule is
    ringed. Returns the :class:`~matplotlib.figure.Figure`.

    Examples
    --------
    >>> t = pd.DataFrame({"rule": ["sptl"] * 2 + ["matching"] * 2, "level": 0, "point": [0, 1, 0, 1],
    ...                   "eta": [-1.0, -2.0, -1.0, -2.0], "gamma": [np.nan, np.nan, 0.5, 1.0], "repeat": 0,
    ...                   "energy": [0.4, 0.3, 0.5, 0.2]})
    >>> [ax.get_title() for ax in plot_energy_landscape(t).axes[:2]]
    ['sptl (min 0.30)', 'matching (min 0.20)']
    """
    import matplotlib.pyplot as plt

    df = fit_table(table)
    rules = list(dict.fromkeys(df["rule"])) if rules is None else list(rules)
    ncols = max(1, min(check_int(ncols, "ncols", minimum=1), len(rules)))
    nrows = int(np.ceil(len(rules) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.6 * nrows), squeeze=False)
    pts = df.groupby(["rule", *point_keys(df)], sort=False).agg(
        eta=("eta", "first"), gamma=("gamma", "first"), energy=("energy", "mean")).reset_index()
    vmax = float(pts["energy"].quantile(0.95)) if vmax is None else vmax
    vmin = float(pts["energy"].min())
    sc = None
    for ax, rule in zip(axes.flat, rules):
        p = pts[pts["rule"] == rule]
        if len(p) == 0:
            raise ValueError(f"'rules' names {rule!r}, which is not in the table")
        b = p.loc[p["energy"].idxmin()]
        if rule == "sptl":
            ax.scatter(p["eta"], p["energy"], s=8, c="0.3")
            ax.scatter([b["eta"]], [b["energy"]], s=60, facecolors="none", edgecolors="C3")
            ax.set_ylabel("energy")
        else:
            sc = ax.scatter(p["eta"], p["gamma"], c=p["energy"], s=8, cmap="viridis", vmin=vmin, vmax=vmax)
            ax.scatter([b["eta"]], [b["gamma"]], s=60, facecolors="none", edgecolors="C3")
            ax.set_ylabel(r"$\gamma$")
        ax.set_xlabel(r"$\eta$")
        ax.set_title(f"{rule} (min {b['energy']:.2f})", fontsize=9)
    for ax in list(axes.flat)[len(rules):]:
        ax.set_visible(False)
    if sc is not None:
        fig.colorbar(sc, ax=axes.ravel().tolist(), shrink=0.8, label="energy (mean over repeats)")
    return fig


def plot_energy_landscapes(fits: dict, rules: Sequence[str] | None = None, *, panel_size=(2.2, 1.8)):
    """Energy landscapes of several datasets: one row per dataset, one column per rule.

    ``fits`` maps a dataset name to its :class:`~mesoscale.generative.FitResult` (or fit
    table). Colours are normalised per row (dark: low energy) and the best point of each
    panel is ringed; ``sptl`` panels show energy against ``eta``. Returns the Figure.

    Examples
    --------
    >>> t = pd.DataFrame({"rule": ["sptl"] * 2 + ["matching"] * 2, "level": 0, "point": [0, 1, 0, 1],
    ...                   "eta": [-1.0, -2.0, -1.0, -2.0], "gamma": [np.nan, np.nan, 0.5, 1.0], "repeat": 0,
    ...                   "energy": [0.4, 0.3, 0.5, 0.2]})
    >>> plot_energy_landscapes({"a": t, "b": t}).axes[2].get_ylabel().startswith("b")
    True
    """
    import matplotlib.pyplot as plt

    if not isinstance(fits, dict) or not fits:
        raise TypeError("'fits' must be a non-empty dict mapping dataset names to fits")
    tables = {k: fit_table(v) for k, v in fits.items()}
    if rules is None:
        rules = list(dict.fromkeys(r for t in tables.values() for r in t["rule"]))
    rules = list(rules)
    nrows, ncols = len(tables), len(rules)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows), squeeze=False)
    for i, (name, df) in enumerate(tables.items()):
        pts = df.groupby(["rule", *point_keys(df)], sort=False).agg(
            eta=("eta", "first"), gamma=("gamma", "first"), energy=("energy", "mean")).reset_index()
        vmin, vmax = float(pts["energy"].min()), float(pts["energy"].quantile(0.95))
        for j, rule in enumerate(rules):
            ax = axes[i, j]
            p = pts[pts["rule"] == rule]
            if len(p) == 0:
                ax.set_visible(False)
                continue
            b = p.loc[p["energy"].idxmin()]
            if rule == "sptl":
                ax.scatter(p["eta"], p["energy"], s=5, c="0.3")
                ax.scatter([b["eta"]], [b["energy"]], s=40, facecolors="none", edgecolors="C3")
            else:
                ax.scatter(p["eta"], p["gamma"], c=p["energy"], s=5, cmap="viridis", vmin=vmin, vmax=vmax)
                ax.scatter([b["eta"]], [b["gamma"]], s=40, facecolors="none", edgecolors="C3")
            ax.set_title(f"{rule}: {b['energy']:.2f}", fontsize=7, pad=2)
            ax.tick_params(labelsize=6)
            if j == 0:
                ax.set_ylabel(f"{name}\n" + ("energy" if rule == "sptl" else r"$\gamma$"), fontsize=7)
            if i == nrows - 1:
                ax.set_xlabel(r"$\eta$", fontsize=7)
    return fig


def plot_rule_ranking(topk: pd.DataFrame, *, datasets: Sequence[str] | None = None, column: str = "dataset"):
    """Distribution of the top-k energies per rule (box plots), one panel per dataset.

    ``topk`` is :func:`topk_energies` output, optionally stacked over datasets with a
    ``dataset`` column. Rules are ordered by median energy within each panel.

    Examples
    --------
    >>> t = pd.DataFrame({"rule": ["sptl"] * 2 + ["matching"] * 2, "level": 0, "point": [0, 1, 0, 1],
    ...                   "eta": [-1.0, -2.0, -1.0, -2.0], "gamma": [np.nan, np.nan, 0.5, 1.0], "repeat": 0,
    ...                   "energy": [0.4, 0.3, 0.5, 0.2]})
    >>> from mesoscale.generative import topk_energies
    >>> plot_rule_ranking(topk_energies(t, 1)).axes[0].get_xlabel()
    'energy (top-k networks)'
    """
    import matplotlib.pyplot as plt

    if not isinstance(topk, pd.DataFrame) or not {"rule", "energy"} <= set(topk.columns):
        raise TypeError("'topk' must be a DataFrame from topk_energies")
    if column not in topk.columns:
        topk = topk.assign(**{column: ""})
    datasets = list(dict.fromkeys(topk[column])) if datasets is None else list(datasets)
    ncols = min(4, len(datasets))
    nrows = int(np.ceil(len(datasets) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows), squeeze=False, sharex=True)
    for ax, ds in zip(axes.flat, datasets):
        g = topk[topk[column] == ds]
        med = g.groupby("rule")["energy"].median().sort_values()
        ax.boxplot([g.loc[g["rule"] == r, "energy"].to_numpy() for r in med.index], orientation="horizontal",
                   tick_labels=list(med.index), widths=0.6, showfliers=False)
        ax.invert_yaxis()
        ax.set_title(ds, fontsize=9)
        ax.set_xlabel("energy (top-k networks)")
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(datasets):]:
        ax.set_visible(False)
    return fig


def plot_comparison(tables: dict, metrics: Sequence[str] = ("Q", "Q_z", "n_modules", "participation_mean",
                                                            "rich_club_max_norm", "module_span", "partition_ami",
                                                            "degree_corr")):
    """Real value (diamond) against the synthetic spread (grey dots) for each metric and dataset.

    ``tables`` maps a dataset name to its :func:`compare_mesoscale` table.

    Examples
    --------
    >>> t = pd.DataFrame({"source": ["real", "synthetic", "synthetic"], "Q": [0.5, 0.3, 0.35]})
    >>> [ax.get_title() for ax in plot_comparison({"a": t}, metrics=["Q"]).axes]
    ['Q']
    """
    import matplotlib.pyplot as plt

    if not isinstance(tables, dict) or not tables:
        raise TypeError("'tables' must be a non-empty dict of compare_mesoscale tables")
    names = list(tables)
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.3 * len(metrics), 0.35 * len(names) + 1.4),
                             squeeze=False, sharey=True)
    for ax, mname in zip(axes[0], metrics):
        for y, ds in enumerate(names):
            t = tables[ds]
            syn = t.loc[t["source"] == "synthetic", mname].to_numpy(float)
            ax.scatter(syn, np.full(len(syn), y), s=10, c="0.6", zorder=1)
            ax.scatter(t.loc[t["source"] == "real", mname], [y], s=30, c="C3", marker="D", zorder=2)
        ax.set_title(mname, fontsize=9)
        ax.set_yticks(range(len(names)), names, fontsize=7)
    axes[0, 0].invert_yaxis()
    return fig


def plot_growth_forward(table: pd.DataFrame, *, x: str = "transition"):
    """ROC AUC and precision@k of every predictor (rules, honest baselines, the degree oracle, chance) per transition.

    ``table`` stacks :attr:`GrowthForecast.table` rows with a ``transition`` column; one
    line per ``predictor`` (honest baselines dash-dotted, the oracle dashed, chance dotted).

    Examples
    --------
    >>> t = pd.DataFrame({"transition": ["1→2"] * 3, "predictor": ["sptl", "degree_oracle", "chance"],
    ...                   "roc_auc": [0.6, 0.7, 0.5], "precision_at_k": [0.2, 0.3, 0.1]})
    >>> [len(ax.get_lines()) for ax in plot_growth_forward(t).axes]
    [3, 3]
    """
    import matplotlib.pyplot as plt

    if not isinstance(table, pd.DataFrame) or not {"predictor", "roc_auc", "precision_at_k", x} <= set(table.columns):
        raise TypeError(f"'table' must stack GrowthForecast tables with a {x!r} column")
    table = table.drop_duplicates([x, "predictor"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    steps = list(dict.fromkeys(table[x]))
    for pred, g in table.groupby("predictor", sort=False):
        g = g.set_index(x).reindex(steps)
        style = {"degree_oracle": "s--", "chance": ":", "preferential_attachment": "^-.",
                 "common_neighbors": "v-.", "distance": "d-."}.get(pred, "o-")
        for ax, col in zip(axes, ("roc_auc", "precision_at_k")):
            ax.plot(range(len(steps)), g[col], style, label=pred.replace("_", " "),
                    color="0.5" if pred == "chance" else None)
    for ax, col in zip(axes, ("ROC AUC", "precision at k = new edges")):
        ax.set_xticks(range(len(steps)), steps, rotation=30, fontsize=7)
        ax.set_ylabel(col)
    axes[0].legend(fontsize=8)
    return fig


def plot_trajectories(table: pd.DataFrame, columns: Sequence[tuple], *, x: str = "age", hue: str | None = "rule"):
    """Panels of ``y`` (with optional error column) against ``x``, one line per ``hue``.

    ``columns`` is a sequence of ``(y, yerr_or_None, label)``.

    Examples
    --------
    >>> tr = pd.DataFrame({"age": [0, 10, 20], "rule": "x", "eta": [-1, -2, -3], "eta_sd": 0.1})
    >>> plot_trajectories(tr, [("eta", "eta_sd", "eta")]).axes[0].get_ylabel()
    'eta'
    """
    import matplotlib.pyplot as plt

    if not isinstance(table, pd.DataFrame) or x not in table.columns:
        raise TypeError(f"'table' must be a DataFrame with a {x!r} column")
    fig, axes = plt.subplots(1, len(columns), figsize=(3.2 * len(columns), 2.8), squeeze=False)
    groups = [("", table)] if hue is None else list(table.groupby(hue, sort=False))
    for ax, (y, err, label) in zip(axes[0], columns):
        for name, g in groups:
            g = g.sort_values(x)
            if y not in g.columns:
                raise ValueError(f"column {y!r} is not in 'table'")
            if g[y].notna().sum() == 0:
                continue
            ax.errorbar(g[x], g[y], yerr=None if err is None else g[err], marker="o", ms=3, capsize=2,
                        label=str(name) if hue else None)
        ax.set_xlabel(x)
        ax.set_ylabel(label)
    if hue is not None:
        axes[0, 0].legend(fontsize=7)
    return fig


def plot_development_trajectories(study: dict):
    """Fitted parameters (top row) and real mesoscale structure (bottom row) against age.

    ``study`` is :func:`~mesoscale.generative.stages.development_study` output. Top: eta and
    gamma (mean +- sd over the top-k points) and the top-k energy per rule (``sptl`` black,
    dashed); bottom: maximum Q with the null mean (dotted) and sd, its z-score, the module
    count and the mean participation of the real networks.

    Examples
    --------
    >>> traj = pd.DataFrame({"rule": ["sptl", "sptl"], "age": [0.0, 10.0], "eta": [-1.0, -1.2], "eta_sd": 0.1,
    ...                      "gamma": np.nan, "gamma_sd": np.nan, "energy_topk": [0.3, 0.2]})
    >>> meso = pd.DataFrame({"age": [0.0, 10.0], "Q_max": [0.4, 0.3], "Q_null_sd": 0.01, "Q_null_mean": 0.2,
    ...                      "Q_z": [10.0, 12.0], "n_modules": [5, 5], "participation_mean": [0.4, 0.5]})
    >>> fig = plot_development_trajectories({"trajectory": traj, "mesoscale": meso})
    >>> len(fig.axes), fig.axes[4].get_ylabel()
    (8, 'maximum Q')
    """
    import matplotlib.pyplot as plt

    traj, meso = study.get("trajectory"), study.get("mesoscale")
    if not isinstance(traj, pd.DataFrame) or not isinstance(meso, pd.DataFrame) or traj.empty or meso.empty:
        raise ValueError("'study' must be development_study() output with at least two stages")
    fig, axes = plt.subplots(2, 4, figsize=(12.5, 5.6))
    top = (("eta", "eta_sd", r"$\eta$"), ("gamma", "gamma_sd", r"$\gamma$"), ("energy_topk", None, "top-k energy"))
    for ax, (y, err, label) in zip(axes[0], top):
        for rule, g in traj.groupby("rule", sort=False):
            g = g.sort_values("age")
            if g[y].notna().sum() == 0:
                continue
            kw = dict(color="k", ls="--", marker="s") if rule == "sptl" else dict(marker="o")
            ax.errorbar(g["age"], g[y], yerr=None if err is None else g[err], ms=3, capsize=2, label=rule, **kw)
        ax.set_ylabel(label)
    axes[0, 0].legend(fontsize=7)
    axes[0, 3].set_visible(False)
    bottom = (("Q_max", "Q_null_sd", "maximum Q"), ("Q_z", None, "z vs degree null"), ("n_modules", None, "modules"),
              ("participation_mean", None, "mean participation"))
    m = meso.sort_values("age")
    for ax, (y, err, label) in zip(axes[1], bottom):
        ax.errorbar(m["age"], m[y], yerr=None if err is None else m[err], marker="o", ms=3, capsize=2)
        ax.set_ylabel(label)
    axes[1, 0].plot(m["age"], m["Q_null_mean"], "k:", label="null mean")
    axes[1, 0].legend(fontsize=7)
    for ax in axes.flat:
        ax.set_xlabel("age (h after birth)")
    return fig


def plot_species_panel(per_dataset: pd.DataFrame, panel: pd.DataFrame, columns: Sequence[str] = (
        "energy", "eta", "gamma", "Q_z", "share reproduced", "degree_corr (model)")):
    """Datasets (grey dots) and species mean +- sd (diamonds), one panel per column.

    Inputs are :func:`~mesoscale.generative.study.species_table` output.

    Examples
    --------
    >>> per = pd.DataFrame({"species": ["Homo sapiens"] * 2, "energy": [0.2, 0.3]})
    >>> panel = per.groupby("species")[["energy"]].agg(["mean", "std"])
    >>> fig = plot_species_panel(per, panel, ["energy"])
    >>> len(fig.axes), len(fig.axes[0].collections) >= 1, fig.axes[0].get_title()
    (1, True, 'energy')
    """
    import matplotlib.pyplot as plt

    columns = list(columns)
    missing = [c for c in columns if c not in per_dataset.columns]
    if missing or "species" not in per_dataset.columns:
        raise ValueError(f"'per_dataset' lacks the columns {missing or ['species']}")
    fig, axes = plt.subplots(1, len(columns), figsize=(2.4 * len(columns), 2.8), sharey=True, squeeze=False)
    for ax, col in zip(axes[0], columns):
        for y, sp in enumerate(panel.index):
            g = per_dataset[per_dataset["species"] == sp]
            ax.scatter(g[col], np.full(len(g), y) + np.linspace(-0.15, 0.15, len(g)), s=12, c="0.55")
            ax.errorbar(panel.loc[sp, (col, "mean")], y, xerr=panel.loc[sp, (col, "std")], fmt="D", c="C3", ms=5,
                        capsize=2)
        ax.set_title(col, fontsize=9)
        ax.set_yticks(range(len(panel.index)), [" ".join([s.split()[0][0] + "."] + s.split()[1:]) for s in panel.index])
    axes[0, 0].invert_yaxis()
    return fig
