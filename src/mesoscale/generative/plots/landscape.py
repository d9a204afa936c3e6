"""Figures of the landscape chapter: phase diagrams, galleries, conditions, development.

Every function returns a :class:`matplotlib.figure.Figure` drawn in the book's style
(call :func:`mesoscale.plotting.use_style` first). Inputs are the tidy tables of
:mod:`mesoscale.generative.landscape` (after :func:`~mesoscale.generative.landscape.summarize`
where a function says so).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...plotting import PALETTE, plot_spatial_network

__all__ = [
    "METRIC_LABELS",
    "plot_phase_diagrams",
    "plot_gallery",
    "plot_conditions",
    "plot_growth_curves",
    "plot_development_map",
    "plot_modules_vs_ganglia",
]

#: Axis / colour-bar labels of the summary columns.
METRIC_LABELS = {
    "Q": "maximum Q",
    "z_degree": "z vs degree-preserving null",
    "z_spatial": "z vs spatial null",
    "z_density": "z vs density null",
    "frac_sig_all": "fraction significant (all nulls)",
    "n_modules_2plus": "modules (>= 2 nodes)",
    "n_modules": "modules",
    "largest_module": "largest module (fraction of nodes)",
    "module_size_mean": "mean module size",
    "participation": "mean participation",
    "efficiency": "global efficiency",
    "wiring_cost": "wiring cost (1 = random)",
    "nmi_ganglia": "NMI(modules, ganglia)",
    "nmi_ganglia_z": "z of NMI vs relabelled modules",
}

_DIVERGING = {"z_degree", "z_spatial", "z_density"}


def _label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _need(df, cols, name="summary"):
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"'{name}' must be a pandas DataFrame; got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"'{name}' lacks the columns {missing}; it has {list(df.columns)}")


def plot_phase_diagrams(
    summary: pd.DataFrame,
    metrics: Sequence[str] = ("z_degree", "z_spatial", "n_modules_2plus", "participation", "efficiency",
                              "wiring_cost"),
    rules: Sequence[str] | None = None,
    *,
    significant: str | None = "frac_sig_all",
    z_threshold: float = 2.0,
    panel_size: float = 2.1,
):
    """Heat maps of summary metrics over the (eta, gamma) plane, one column per rule.

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`~mesoscale.generative.landscape.summarize` of a
        :func:`~mesoscale.generative.landscape.landscape` table (columns ``rule, eta, gamma``
        and the metrics).
    metrics : sequence of str
        One row of panels per metric. z-scores use a diverging map centred on 0 with the
        colour limits shared across rules; other metrics share limits per row.
    rules : sequence of str, optional
        Column order (default: order of appearance).
    significant : str or None
        Column giving the fraction of significant networks per cell; cells where it is at
        least 0.5 get a white dot (``None`` to skip).
    z_threshold : float
        Only used in the title of z panels (contour of ``z = z_threshold`` drawn in black).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The spatial rule ``"sptl"`` has no ``gamma``: its single row of values is drawn across
    the whole gamma range.

    Examples
    --------
    >>> summ = pd.DataFrame({"rule": ["sptl", "sptl"], "eta": [-2.0, 0.0], "gamma": 0.0, "z_degree": [3.0, 0.5]})
    >>> fig = plot_phase_diagrams(summ, metrics=["z_degree"])
    >>> sum(bool(ax.images) for ax in fig.axes)
    1
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    _need(summary, ["rule", "eta", "gamma", *metrics])
    rules = list(dict.fromkeys(summary["rule"])) if rules is None else list(rules)
    gammas = np.sort(summary.loc[summary.rule != "sptl", "gamma"].unique())
    if gammas.size == 0:
        gammas = np.array([0.0])
    etas = np.sort(summary["eta"].unique())
    fig, axes = plt.subplots(len(metrics), len(rules), figsize=(panel_size * len(rules) + 1.2,
                                                                panel_size * 0.9 * len(metrics)),
                             squeeze=False, sharex=True, sharey=True)
    for r, metric in enumerate(metrics):
        grids = []
        for rule in rules:
            sub = summary[summary.rule == rule]
            G = np.full((gammas.size, etas.size), np.nan)
            S = np.zeros_like(G)
            for _, row in sub.iterrows():
                j = int(np.searchsorted(etas, row["eta"]))
                rows_i = range(gammas.size) if rule == "sptl" else [int(np.searchsorted(gammas, row["gamma"]))]
                for i in rows_i:
                    G[i, j] = row[metric]
                    if significant is not None and significant in sub.columns:
                        S[i, j] = row[significant]
            grids.append((G, S))
        vals = np.concatenate([g[0][np.isfinite(g[0])] for g in grids]) if grids else np.array([0.0])
        vals = vals if vals.size else np.array([0.0])
        if metric in _DIVERGING:
            lim = max(float(np.nanmax(np.abs(vals))), z_threshold + 0.5)
            kw = {"cmap": "RdBu_r", "norm": TwoSlopeNorm(0.0, -lim, lim)}
        else:
            kw = {"cmap": "viridis", "vmin": float(np.nanmin(vals)), "vmax": float(np.nanmax(vals))}
        for c, (rule, (G, S)) in enumerate(zip(rules, grids)):
            ax = axes[r, c]
            im = ax.imshow(G, origin="lower", aspect="auto", interpolation="nearest", **kw)
            if metric in _DIVERGING and np.isfinite(G).sum() > 3 and G.shape[0] > 1 and G.shape[1] > 1:
                ax.contour(np.nan_to_num(G, nan=0.0), levels=[z_threshold], colors="k", linewidths=0.8)
            if significant is not None:
                yy, xx = np.nonzero(S >= 0.5)
                ax.scatter(xx, yy, s=6, c="white", edgecolors="k", linewidths=0.3)
            ax.set_xticks(range(etas.size), [f"{e:g}" for e in etas], fontsize=7)
            ax.set_yticks(range(gammas.size), [f"{g:g}" for g in gammas], fontsize=7)
            if r == 0:
                ax.set_title(rule + (" (no γ)" if rule == "sptl" else ""))
            if r == len(metrics) - 1:
                ax.set_xlabel("η")
            if c == 0:
                ax.set_ylabel("γ")
        fig.colorbar(im, ax=list(axes[r]), shrink=0.9, pad=0.01).set_label(_label(metric), fontsize=8)
    return fig


def plot_gallery(examples: Sequence[dict], positions, *, dims=(0, 1), ncols: int = 4, panel_size=(2.6, 2.0)):
    """Example networks drawn in space, nodes coloured by module, titled with Q and its z.

    Parameters
    ----------
    examples : sequence of dict
        Each with ``A`` (adjacency), ``partition``, ``rule``, ``eta``, ``gamma`` and the
        summary fields ``Q``, ``n_null`` and ``z_<null>`` (as returned by
        :func:`mesoscale.generative.explorer.example_networks`).
    positions : array_like, shape (n, d)
        Node positions.
    dims : (int, int)
        Coordinates to draw.
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> P = np.random.default_rng(0).random((6, 2))
    >>> A = np.zeros((6, 6), bool); A[0, 1] = A[1, 0] = A[2, 3] = A[3, 2] = True
    >>> ex = [{"rule": "sptl", "eta": -2.0, "gamma": 0.0, "A": A, "partition": [0, 0, 1, 1, 2, 3], "Q": 0.5}]
    >>> len([ax for ax in plot_gallery(ex, P).axes if ax.get_visible()])
    1
    """
    import matplotlib.pyplot as plt

    if not examples:
        raise ValueError("'examples' is empty; give at least one example network")
    ncols = min(int(ncols), len(examples))
    nrows = -(-len(examples) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows), squeeze=False)
    for ax in axes.ravel()[len(examples):]:
        ax.set_visible(False)
    for ax, ex in zip(axes.ravel(), examples):
        plot_spatial_network(ex["A"], positions, ex["partition"], dims=dims, ax=ax, node_size=8, edge_alpha=0.25)
        ax.set_xticks([])
        ax.set_yticks([])
        zs = ", ".join(f"z$_{{{k[2:3]}}}$={ex[k]:.1f}" for k in ex if k.startswith("z_"))
        gam = "" if ex["rule"] == "sptl" else f", γ={ex['gamma']:g}"
        ax.set_title(f"{ex['rule']} η={ex['eta']:g}{gam}\nQ={ex['Q']:.2f}, {zs}", fontsize=8)
    return fig


def plot_conditions(summary: pd.DataFrame, metric: str = "z_spatial", *, z_threshold: float = 2.0):
    """How the modular region along eta changes with size, density and embedding.

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`~mesoscale.generative.landscape.summarize` of a
        :func:`~mesoscale.generative.landscape.conditions` table grouped by
        ``["factor", "n", "density", "embedding", "rule", "eta"]``.
    metric : str
        Column on the y axis (a z-score by default, with the ``z_threshold`` band shaded).

    Returns
    -------
    matplotlib.figure.Figure
        One row per rule, one column per factor; one line per level of the factor.

    Examples
    --------
    >>> cond = pd.DataFrame([{"factor": f, "n": 30, "density": 0.1, "embedding": "line", "rule": "sptl",
    ...                       "eta": e, "z_spatial": e} for f in ("n", "embedding") for e in (-1.0, 0.0)])
    >>> len([ax for ax in plot_conditions(cond).axes if ax.get_lines()])
    2
    """
    import matplotlib.pyplot as plt

    _need(summary, ["factor", "n", "density", "embedding", "rule", "eta", metric])
    factors = [f for f in ("n", "density", "embedding") if f in set(summary["factor"])]
    rules = list(dict.fromkeys(summary["rule"]))
    fig, axes = plt.subplots(len(rules), len(factors), figsize=(3.3 * len(factors), 2.4 * len(rules)),
                             squeeze=False, sharey="row")
    for i, rule in enumerate(rules):
        for j, factor in enumerate(factors):
            ax = axes[i, j]
            sub = summary[(summary.rule == rule) & (summary.factor == factor)]
            for k, (level, g) in enumerate(sub.groupby(factor, sort=True)):
                g = g.sort_values("eta")
                lab = f"{factor} = {level:g}" if isinstance(level, (int, float, np.number)) else str(level)
                ax.plot(g["eta"], g[metric], "o-", ms=3, color=PALETTE[k % len(PALETTE)], label=lab)
            if metric.startswith("z_"):
                ax.axhspan(-z_threshold, z_threshold, color="0.9", zorder=0)
            ax.set_title(f"{rule}: vary {factor}", fontsize=9)
            if i == len(rules) - 1:
                ax.set_xlabel("η")
            if j == 0:
                ax.set_ylabel(_label(metric), fontsize=8)
            if i == 0:
                ax.legend(fontsize=7)
    return fig


def plot_growth_curves(curves: dict, *, real=None):
    """Links against neurons during development, on log-log axes with slope-1 and slope-2 guides.

    Parameters
    ----------
    curves : dict of str -> pandas.DataFrame
        Label -> :func:`~mesoscale.generative.development.development_curve` table.
    real : pandas.DataFrame, optional
        A measured curve with columns ``neurons`` and ``links`` (e.g. the Witvliet stages),
        drawn as black squares.

    Returns
    -------
    matplotlib.figure.Figure
        Left: links vs neurons; right: the local growth exponent (2 = accelerating,
        1 = linear).

    Examples
    --------
    >>> c = pd.DataFrame({"neurons": [10, 20, 40], "links": [5, 20, 60], "exponent": [np.nan, 2.0, 1.6]})
    >>> plot_growth_curves({"model": c}).axes[0].get_xscale()
    'log'
    """
    import matplotlib.pyplot as plt

    if not curves:
        raise ValueError("'curves' is empty")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for k, (lab, c) in enumerate(curves.items()):
        _need(c, ["neurons", "links", "exponent"], "curves[...]")
        ok = c["links"] > 0
        axes[0].plot(c["neurons"][ok], c["links"][ok], "-", color=PALETTE[k % len(PALETTE)], label=lab)
        axes[1].plot(c["neurons"], c["exponent"].rolling(3, center=True, min_periods=1).mean(), "-",
                     color=PALETTE[k % len(PALETTE)], label=lab)
    allc = pd.concat(list(curves.values()))
    allc = allc[allc.links > 0]
    x0, y0 = float(allc.neurons.min()), float(allc.links.min())
    xs = np.geomspace(x0, float(allc.neurons.max()), 20)
    for p, ls in ((1, ":"), (2, "--")):
        axes[0].plot(xs, y0 * (xs / x0) ** p, ls, color="0.5", lw=1, label=f"∝ neurons$^{p}$")
    if real is not None:
        _need(real, ["neurons", "links"], "real")
        axes[0].plot(real["neurons"], real["links"], "s", color="k", ms=4, label="Witvliet stages")
    axes[0].set(xscale="log", yscale="log", xlabel="neurons born", ylabel="links")
    axes[0].legend(fontsize=7)
    axes[1].axhline(2, color="0.5", ls="--", lw=1)
    axes[1].axhline(1, color="0.5", ls=":", lw=1)
    axes[1].set(xlabel="neurons born", ylabel="growth exponent d log L / d log N")
    return fig


def plot_development_map(summary: pd.DataFrame, metrics: Sequence[str] = ("z_spatial", "nmi_ganglia_z")):
    """Heat maps over (elongation, contact range) of development summaries.

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`~mesoscale.generative.landscape.summarize` of a
        :func:`~mesoscale.generative.development.development` table grouped by
        ``["elongation", "length_scale"]``.
    metrics : sequence of str
        One panel per metric; each cell is annotated with its value.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> dev = pd.DataFrame({"elongation": [1.0, 4.0], "length_scale": 0.1, "z_spatial": [1.0, 3.0],
    ...                     "nmi_ganglia_z": [2.0, 5.0]})
    >>> len(plot_development_map(dev).axes) >= 2
    True
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    _need(summary, ["elongation", "length_scale", *metrics])
    el = np.sort(summary.elongation.unique())
    ls = np.sort(summary.length_scale.unique())
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.0), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        G = np.full((ls.size, el.size), np.nan)
        for _, row in summary.iterrows():
            G[np.searchsorted(ls, row.length_scale), np.searchsorted(el, row.elongation)] = row[metric]
        if metric.startswith("z") or metric.endswith("_z"):
            lim = max(float(np.nanmax(np.abs(G))), 2.5) if np.isfinite(G).any() else 2.5
            kw = {"cmap": "RdBu_r", "norm": TwoSlopeNorm(0.0, -lim, lim)}
        else:
            kw = {"cmap": "viridis"}
        im = ax.imshow(G, origin="lower", aspect="auto", **kw)
        for (i, j), v in np.ndenumerate(G):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(el.size), [f"{e:g}" for e in el])
        ax.set_yticks(range(ls.size), [f"{s:g}" for s in ls])
        ax.set(xlabel="elongation (adult / initial length)", ylabel="contact range / body length")
        fig.colorbar(im, ax=ax, shrink=0.85).set_label(_label(metric), fontsize=8)
    return fig


def _many_colors(labels):
    import matplotlib

    k = int(np.max(labels)) + 1 if len(labels) else 1
    if k <= len(PALETTE):
        return [PALETTE[int(x)] for x in labels]
    cmap = matplotlib.colormaps["tab20"]
    return [cmap(int(x) % 20) for x in labels]


def plot_modules_vs_ganglia(positions, partitions: dict, ganglia, *, dims=(1, 2), title=None):
    """Neurons drawn along the body, coloured by module (one row per partition) and by ganglion.

    Parameters
    ----------
    positions : array_like, shape (n, d)
    partitions : dict of str -> array_like of int
        Row label -> module labels of every node.
    ganglia : array_like, shape (n,)
        Ganglion of every node (bottom row).
    dims : (int, int)
        Coordinates drawn (body axis first).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_modules_vs_ganglia(np.random.default_rng(0).random((10, 3)), {"model": np.arange(10) % 2},
    ...                               ["a"] * 5 + ["b"] * 5)
    >>> len(fig.axes)
    2
    """
    import matplotlib.pyplot as plt

    P = np.asarray(positions, dtype=float)
    if not isinstance(partitions, dict) or not partitions:
        raise ValueError("'partitions' must be a non-empty dict of label -> module labels")
    gang = pd.factorize(pd.Series(list(ganglia), dtype=object))[0]
    rows = [(lab, pd.factorize(pd.Series(np.asarray(p)))[0]) for lab, p in partitions.items()]
    rows.append(("ganglia", gang))
    for lab, r in rows:
        if P.ndim != 2 or r.shape != (P.shape[0],):
            raise ValueError(f"'positions' (n, d) and {lab!r} (n,) must agree; got {P.shape} and {r.shape}")
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 1.5 * len(rows) + 0.4), sharex=True, squeeze=False)
    for ax, (name, lab) in zip(axes[:, 0], rows):
        ax.scatter(P[:, dims[0]], P[:, dims[1]], s=10, c=_many_colors(lab), edgecolors="white", linewidths=0.2)
        sizes = np.bincount(lab)
        ax.set_title(f"{name}: {int((sizes > 1).sum())} groups of 2 or more nodes, {int((sizes == 1).sum())} single",
                     loc="left", fontsize=8)
        ax.set_yticks([])
    axes[-1, 0].set_xlabel("body axis (head → tail)")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
