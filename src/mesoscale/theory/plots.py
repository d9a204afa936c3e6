"""Figures of phase-transition scans (order parameter, susceptibility, finite-size scaling) and of the
emergence theory against simulation (phase diagram, theory vs simulation, collapse, homophily, growth).

Every function returns a :class:`matplotlib.figure.Figure` (or draws into ``ax``) and uses the
book's palette; call :func:`mesoscale.plotting.use_style` once beforehand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..plotting import PALETTE
from .scaling import FSSResult
from .transitions import summarize

__all__ = ["plot_order_parameter", "plot_susceptibility", "plot_fss", "plot_transition", "plot_significance",
           "plot_planted_threshold",
           "plot_scans", "plot_phase_diagram", "plot_emergence", "plot_collapse", "plot_homophily", "plot_growth", "plot_collapses"]


def _axes(ax, figsize=(4.2, 3.2)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def _nonnegative(below, above):
    """Error-bar lengths from an interval; a bootstrap interval need not contain the estimate (then 0)."""
    return [np.clip(np.asarray(e, dtype=float), 0, None) for e in (below, above)]


def _reference_line(ax, reference, label="theory"):
    if reference is not None:
        ax.axvline(reference, color=PALETTE[5], ls=":", lw=1.5, label=label)


def plot_order_parameter(df: pd.DataFrame, value: str = "value", *, ax=None, reference=None,
                         xlabel: str = "control", ylabel: str | None = None):
    """Mean order parameter (± standard error over seeds) against the control, one curve per size.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"size": [10] * 4, "control": [0, 0, 1, 1], "value": [0, 0.1, 0.8, 1]})
    >>> fig = plot_order_parameter(df, reference=0.5)
    """
    fig, ax = _axes(ax)
    s = summarize(df, value)
    for k, (n, sub) in enumerate(s.groupby("size")):
        ax.errorbar(sub["control"], sub["mean"], yerr=sub["sem"].fillna(0), fmt="o-", ms=3,
                    capsize=2, color=PALETTE[k % len(PALETTE)], label=f"n = {n}")
    _reference_line(ax, reference)
    ax.set(xlabel=xlabel, ylabel=ylabel or value)
    ax.legend(fontsize=8)
    return fig


def plot_susceptibility(df: pd.DataFrame, value: str = "value", *, ax=None, locations=None,
                        reference=None, xlabel: str = "control", log: bool = False):
    """Susceptibility ``n Var(value)`` against the control per size, with located peaks marked.

    ``locations`` is the output of :func:`~mesoscale.theory.locate_transition` (``"peak"``);
    each size's estimate is drawn as a vertical tick with its bootstrap interval.

    Examples
    --------
    >>> import pandas as pd
    >>> from mesoscale.theory import finite_size_scaling
    >>> df = pd.DataFrame({"size": np.repeat([10, 40, 160], 6), "control": np.tile([0, 0, 1, 1, 2, 2], 3),
    ...                    "seed": np.tile([0, 1], 9), "value": np.tile([0, 0.1, 0.4, 0.6, 0.9, 1.0], 3)})
    >>> len(plot_susceptibility(df).axes[0].get_lines())
    3
    """
    fig, ax = _axes(ax)
    s = summarize(df, value)
    sizes = sorted(s["size"].unique())
    for k, n in enumerate(sizes):
        sub = s[s["size"] == n]
        colour = PALETTE[k % len(PALETTE)]
        ax.plot(sub["control"], sub["susceptibility"], "o-", ms=3, color=colour, label=f"n = {n}")
        if locations is not None and "size" in locations and n in set(locations["size"]):
            row = locations[locations["size"] == n].iloc[0]
            if np.isfinite(row["x_c"]):
                top = float(np.nanmax(sub["susceptibility"]))
                ax.errorbar([row["x_c"]], [top * 1.05],
                            xerr=_nonnegative([row["x_c"] - row["x_c_lo"]], [row["x_c_hi"] - row["x_c"]])
                            if np.isfinite(row["x_c_lo"]) else None,
                            fmt="v", color=colour, capsize=2)
    _reference_line(ax, reference)
    ax.set(xlabel=xlabel, ylabel=f"susceptibility  n·Var({value})")
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    return fig


def plot_fss(fss: FSSResult, *, ax=None, reference=None, ylabel: str = "transition location"):
    """Per-size transition locations against ``n**-omega`` with the fitted line and the extrapolation.

    The fit ``x_c(n) = x_c + a n**-omega`` is a straight line in this coordinate; the
    extrapolated ``x_c`` (at ``n = inf``, the left edge) is drawn with its bootstrap 95 % interval.

    Examples
    --------
    >>> import pandas as pd
    >>> from mesoscale.theory import finite_size_scaling
    >>> df = pd.DataFrame({"size": np.repeat([10, 40, 160], 6), "control": np.tile([0, 0, 1, 1, 2, 2], 3),
    ...                    "seed": np.tile([0, 1], 9), "value": np.tile([0, 0.1, 0.4, 0.6, 0.9, 1.0], 3)})
    >>> fss = finite_size_scaling(df, "level", level=0.5, exponent=1.0, n_boot=5, seed=0)
    >>> plot_fss(fss).axes[0].get_xlabel()
    'n^(−ω)'
    """
    if not isinstance(fss, FSSResult):
        raise TypeError(f"'fss' must be an FSSResult; got {type(fss).__name__}")
    fig, ax = _axes(ax)
    loc = fss.locations
    n = loc["size"].to_numpy(dtype=float)
    if fss.method == "crossing":
        n = np.sqrt(n * loc["size_small"].to_numpy(dtype=float))
    u = n ** (-fss.exponent)
    yerr = None
    if np.all(np.isfinite(loc["x_c_lo"])):
        yerr = _nonnegative(loc["x_c"] - loc["x_c_lo"], loc["x_c_hi"] - loc["x_c"])
    ax.errorbar(u, loc["x_c"], yerr=yerr, fmt="o", color=PALETTE[0], capsize=2,
                label=f"per size ({fss.method})")
    grid = np.linspace(0, u.max() * 1.05, 50)
    ax.plot(grid, fss.x_c + fss.amplitude * grid, "-", color=PALETTE[0], alpha=0.6,
            label=f"fit, ω = {fss.exponent:.2f} ± {fss.exponent_se:.2f}")
    lo, hi = fss.ci("x_c")
    ax.errorbar([0], [fss.x_c], yerr=_nonnegative([fss.x_c - lo], [hi - fss.x_c]) if np.isfinite(lo) else None,
                fmt="s", color=PALETTE[1], capsize=3,
                label=f"n → ∞: {fss.x_c:.3f} ± {fss.x_c_se:.3f}")
    if reference is not None:
        ax.axhline(reference, color=PALETTE[5], ls=":", lw=1.5, label="theory")
    ax.set(xlabel="n^(−ω)", ylabel=ylabel)
    ax.legend(fontsize=8)
    return fig


def plot_transition(df: pd.DataFrame, fss: FSSResult | None = None, value: str = "value", *,
                    reference=None, xlabel: str = "control", ylabel: str | None = None,
                    figsize=(11.5, 3.4)):
    """Three panels: order parameter, susceptibility (with peaks), finite-size scaling.

    Examples
    --------
    >>> import pandas as pd
    >>> from mesoscale.theory import finite_size_scaling
    >>> df = pd.DataFrame({"size": np.repeat([10, 40, 160], 6), "control": np.tile([0, 0, 1, 1, 2, 2], 3),
    ...                    "seed": np.tile([0, 1], 9), "value": np.tile([0, 0.1, 0.4, 0.6, 0.9, 1.0], 3)})
    >>> len(plot_transition(df).axes)
    2
    """
    import matplotlib.pyplot as plt

    panels = 3 if fss is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=figsize if panels == 3 else (8, 3.4))
    plot_order_parameter(df, value, ax=axes[0], reference=reference, xlabel=xlabel, ylabel=ylabel)
    locations = fss.locations if fss is not None and fss.method == "peak" else None
    plot_susceptibility(df, value, ax=axes[1], locations=locations, reference=reference,
                        xlabel=xlabel)
    if fss is not None:
        plot_fss(fss, ax=axes[2], reference=reference, ylabel=f"{xlabel} at the transition")
    return fig


def plot_planted_threshold(c: float, q: int, n: int, *, ax=None, points: int = 200):
    """The planted groups' modularity against the control ``x``, with a random graph's maximum Q.

    ``x = (c_in - c_out) / (q sqrt(c))`` runs from 0 to ``sqrt(c)`` (``c_out = 0``); the planted
    partition's Q is :func:`~mesoscale.theory.expected_modularity_planted` (sparse limit) and the
    horizontal lines are the maximum Q of a random graph of ``n`` nodes and mean degree ``c``
    (:func:`~mesoscale.theory.expected_modularity_random`, Reichardt & Bornholdt and Guimerà et al.).

    Examples
    --------
    >>> fig = plot_planted_threshold(4.0, 2, 1000)
    >>> len(fig.axes[0].get_lines())
    4
    """
    from .sbm import detectability_threshold, expected_modularity_planted, expected_modularity_random, sbm_parameters

    fig, ax = _axes(ax, (5.6, 3.4))
    delta_c = detectability_threshold(c, q)
    x = np.linspace(0, np.sqrt(c), points)
    ax.plot(x, [expected_modularity_planted(q, *sbm_parameters(c, q, delta=v * delta_c)) for v in x],
            color=PALETTE[0], label="planted partition (sparse limit)")
    for method, ls in (("reichardt", "--"), ("guimera", "-.")):
        ax.axhline(expected_modularity_random(n, c=c, method=method), color="0.4", ls=ls,
                   label=f"maximum Q of a random graph ({method}), n = {n}")
    _reference_line(ax, 1.0, "detectability threshold")
    ax.set(xlabel="x = (c_in − c_out) / (q √c)", ylabel="modularity Q", title=f"c = {c:g}, q = {q}")
    ax.legend(fontsize=8)
    return fig


def plot_significance(sig: pd.DataFrame, *, x: str = "x", reference: float | None = 1.0,
                      xlabel: str = "x = (c_in − c_out) / (q √c)"):
    """Observed, null and planted modularity (left) and the z-score against the null (right) against ``x``.

    ``sig`` has one row per network with columns ``x``, ``Q``, ``Q_null``, ``Q_planted`` and ``z``; with
    ``dQ``, ``dQ_lo`` and ``dQ_hi`` (ΔQ and its interval per network) a third panel shows the effect size
    (mean ΔQ with the mean of the networks' intervals).

    Examples
    --------
    >>> sig = pd.DataFrame({"x": [0.5, 0.5, 1.5], "Q": [0.3, 0.31, 0.5], "Q_null": 0.3, "Q_planted": [0.1, 0.1, 0.4],
    ...                     "z": [0.1, 0.3, 8.0]})
    >>> fig = plot_significance(sig)
    >>> [len(ax.get_lines()) for ax in fig.axes], fig.axes[1].get_ylabel()
    ([4, 4], 'z vs degree-preserving null')
    """
    import matplotlib.pyplot as plt

    missing = {x, "Q", "Q_null", "Q_planted", "z"} - set(sig.columns)
    if missing:
        raise ValueError(f"'sig' lacks the columns {sorted(missing)}")
    effect = {"dQ", "dQ_lo", "dQ_hi"} <= set(sig.columns)
    fig, axes = plt.subplots(1, 3 if effect else 2, figsize=(13 if effect else 9, 3.3))
    g = sig.groupby(x)
    for col, style, colour, label in (("Q", "o-", None, "maximum Q, observed"),
                                      ("Q_null", "x--", "0.4", "maximum Q, degree null"),
                                      ("Q_planted", "s:", PALETTE[2], "Q of planted groups (theory)")):
        axes[0].plot(g[col].mean().index, g[col].mean(), style, color=colour, label=label)
    axes[0].set(xlabel=xlabel, ylabel="modularity")
    axes[0].legend(fontsize=8)
    axes[1].errorbar(g["z"].mean().index, g["z"].mean(), yerr=g["z"].std().fillna(0), fmt="o-", capsize=2)
    axes[1].axhspan(-2, 2, color="0.9", zorder=0)
    axes[1].set(xlabel=xlabel, ylabel="z vs degree-preserving null")
    if effect:
        m = g[["dQ", "dQ_lo", "dQ_hi"]].mean()
        axes[2].errorbar(m.index, m["dQ"], yerr=_nonnegative(m["dQ"] - m["dQ_lo"], m["dQ_hi"] - m["dQ"]), fmt="o-",
                         capsize=2, color=PALETTE[1])
        axes[2].axhline(0, color="0.5", lw=0.8)
        axes[2].set(xlabel=xlabel, ylabel="ΔQ = Q − mean null Q (95 % CI)")
    for ax in axes:
        _reference_line(ax, reference)
    return fig


def plot_scans(scans: dict, *, xlabel: str = "η"):
    """One row per scan (e.g. per wiring rule): z of the maximum Q, maximum Q (o observed, x null) and n·Var(Q).

    ``scans`` maps a title to a :func:`~mesoscale.theory.scan` table with ``z``, ``Q`` and
    ``Q_null`` columns; one curve per size.

    Examples
    --------
    >>> df = pd.DataFrame({"size": np.repeat([10, 20], 4), "control": np.tile([0, 0, 1, 1], 2),
    ...                    "seed": np.tile([0, 1], 4), "z": 1.0, "Q": np.tile([0.2, 0.3, 0.5, 0.6], 2), "Q_null": 0.2})
    >>> fig = plot_scans({"sptl": df})
    >>> len(fig.axes), [len(ax.get_lines()) for ax in fig.axes[1:]]
    (3, [4, 2])
    """
    import matplotlib.pyplot as plt

    if not isinstance(scans, dict) or not scans:
        raise TypeError("'scans' must be a non-empty dict of scan tables")
    fig, axes = plt.subplots(len(scans), 3, figsize=(12, 3.2 * len(scans)), squeeze=False)
    for r, (name, df) in enumerate(scans.items()):
        z, qs, qn = summarize(df, "z"), summarize(df, "Q"), summarize(df, "Q_null")
        for k, n in enumerate(sorted(df["size"].unique())):
            colour = PALETTE[k % len(PALETTE)]
            zs, qq, nn = z[z["size"] == n], qs[qs["size"] == n], qn[qn["size"] == n]
            axes[r, 0].errorbar(zs["control"], zs["mean"], yerr=zs["sem"].fillna(0), fmt="o-", ms=3, capsize=2,
                                color=colour, label=f"n = {n}")
            axes[r, 1].plot(qq["control"], qq["mean"], "o-", ms=3, color=colour, label=f"n = {n}")
            axes[r, 1].plot(nn["control"], nn["mean"], "x--", ms=3, color=colour, alpha=0.6)
            axes[r, 2].plot(qq["control"], qq["susceptibility"], "o-", ms=3, color=colour, label=f"n = {n}")
        axes[r, 0].axhspan(-2, 2, color="0.9", zorder=0)
        for ax, ylabel in zip(axes[r], ("z of maximum Q vs degree null", "maximum Q (o observed, x null)",
                                        "n·Var(Q) across seeds")):
            ax.set(xlabel=xlabel, ylabel=ylabel, title=str(name))
        axes[r, 0].legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------------------------
# the emergence theory against simulation
# --------------------------------------------------------------------------------------------
def plot_phase_diagram(boundaries: pd.DataFrame, points: pd.DataFrame | None = None, *, ax=None, n: int | None = None):
    """The conditions of :mod:`~mesoscale.theory.continuum` in the ``(xi, c)`` plane, with simulated points.

    Parameters
    ----------
    boundaries : DataFrame
        :func:`~mesoscale.theory.condition_boundaries` (``c, xi_ks, xi_q`` and optionally ``xi_min``,
        and numerical counterparts ``xi_ks_num``, ``xi_q_num``).
    points : DataFrame, optional
        Simulated points: ``c``, ``control`` (xi), ``modular`` and ``detectable`` (bool).
    n : int, optional
        Size of the simulated networks (for the title).

    Examples
    --------
    >>> b = pd.DataFrame({"c": [3.0, 6.0], "xi_ks": [0.3, 0.4], "xi_q": [0.05, 0.15], "xi_min": [0.01, 0.02]})
    >>> pts = pd.DataFrame({"c": [3.0], "control": [0.1], "modular": [False], "detectable": [True]})
    >>> fig = plot_phase_diagram(b, pts, n=1000)
    """
    fig, ax = _axes(ax, figsize=(5.2, 3.8))
    b = boundaries.sort_values("c")
    ax.plot(b["xi_ks"], b["c"], color=PALETTE[0], lw=2, label="C1 detectability, closed form")
    if "xi_ks_num" in b:
        ax.plot(b["xi_ks_num"], b["c"], color=PALETTE[0], ls="--", lw=1.5, label="C1, λ₂²/λ₁ = 1 of the box")
    ax.plot(b["xi_q"], b["c"], color=PALETTE[1], lw=2, label="C2 modularity > noise, closed form")
    if "xi_q_num" in b:
        ax.plot(b["xi_q_num"], b["c"], color=PALETTE[1], ls="--", lw=1.5, label="C2, best grid of the box")
    if "xi_min" in b:
        ax.plot(b["xi_min"], b["c"], color="0.4", ls=":", lw=1.5, label="C0 geometry (shortest wiring)")
    if points is not None and len(points):
        for mod, marker in ((True, "o"), (False, "o")):
            for det, color in ((True, PALETTE[2]), (False, "0.6")):
                sub = points[(points["modular"] == mod) & (points["detectable"] == det)]
                if len(sub):
                    ax.scatter(sub["control"], sub["c"], s=28, marker=marker, edgecolor=color,
                               facecolor=color if mod else "none", lw=1.2, zorder=3,
                               label=f"simulated: {'modular' if mod else 'not modular'}, "
                                     f"{'detectable' if det else 'not detectable'}")
    ax.set(xscale="log", yscale="log", xlabel="kernel range ξ (units of the box)", ylabel="mean degree c")
    if n is not None:
        ax.set_title(f"necessary conditions and simulations at n = {n}", fontsize=9)
    ax.legend(fontsize=6.5, loc="lower right")
    return fig


def plot_emergence(summary: pd.DataFrame, prediction: pd.DataFrame, *, xi_ks: float | None = None,
                   xi_q: float | None = None):
    """Theory against simulation across sizes: grid modularity, ΔQ of the grid over noise, detectability.

    Parameters
    ----------
    summary : DataFrame
        :func:`mesoscale.generative.emergence.summarize_emergence` (``size, control`` and means with
        ``_lo``/``_hi`` bounds of ``q_grid``, ``dq_grid``, ``overlap``, and ``delta_q``).
    prediction : DataFrame
        :func:`~mesoscale.theory.box_predictions` with ``sizes`` (``xi, size, q_cells, delta_q``).
    xi_ks, xi_q : float, optional
        Predicted locations of C1 and C2 (vertical lines).

    Examples
    --------
    >>> s = pd.DataFrame({"size": [100, 100], "control": [0.1, 0.3], "q_grid": [0.5, 0.2], "q_grid_lo": [0.4, 0.1],
    ...                   "q_grid_hi": [0.6, 0.3], "dq_grid": [0.1, -0.1], "dq_grid_lo": [0.0, -0.2],
    ...                   "dq_grid_hi": [0.2, 0.0], "overlap": [0.8, 0.2], "overlap_lo": [0.7, 0.1],
    ...                   "overlap_hi": [0.9, 0.3], "delta_q": [0.2, 0.01]})
    >>> p = pd.DataFrame({"xi": [0.1, 0.3], "size": [100.0, 100.0], "q_cells": [0.5, 0.2], "delta_q": [0.1, -0.1]})
    >>> fig = plot_emergence(s, p, xi_ks=0.4, xi_q=0.2)
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.6))
    sizes = sorted(summary["size"].unique())
    for k, n in enumerate(sizes):
        col = PALETTE[k % len(PALETTE)]
        s = summary[summary["size"] == n].sort_values("control")
        p = prediction[prediction["size"] == n].sort_values("xi") if "size" in prediction else prediction
        for ax, name, theo in ((axes[0], "q_grid", "q_cells"), (axes[1], "dq_grid", "delta_q"),
                               (axes[2], "overlap", None)):
            if name not in s:
                continue
            err = _nonnegative(s[name] - s[f"{name}_lo"], s[f"{name}_hi"] - s[name])
            ax.errorbar(s["control"], s[name], yerr=err, fmt="o", ms=3, capsize=2, color=col, label=f"n = {n}")
            if theo is not None and len(p):
                ax.plot(p["xi"], p[theo], color=col, lw=1.2, alpha=0.8)
        if "delta_q" in s:
            ok = s["delta_q"].notna()
            axes[1].plot(s.loc[ok, "control"], s.loc[ok, "delta_q"], color=col, ls=":", lw=1)
    axes[0].set(xscale="log", xlabel="ξ", ylabel="Q of the predicted grid",
                title="grid modularity: simulation (points) vs theory (lines)")
    axes[1].axhline(0, color="0.5", lw=0.8)
    axes[1].set(xscale="log", xlabel="ξ", ylabel="ΔQ",
                title="grid Q − null's max Q (points, lines: theory);\nLouvain ΔQ dotted")
    axes[2].set(xscale="log", xlabel="ξ", ylabel="overlap with the halves", title="detectability (Bethe Hessian)")
    for ax, ref, label in ((axes[1], xi_q, "C2 (theory)"), (axes[2], xi_ks, "C1 (theory)")):
        if ref is not None:
            ax.axvline(ref, color=PALETTE[5], ls=":", lw=1.5, label=label)
    for ax in axes:
        ax.legend(fontsize=7)
    return fig


def plot_collapse(df: pd.DataFrame, value: str, x_c: float, exponent: float, *, ax=None, xlabel: str = "control",
                  ylabel: str | None = None, log_x: bool = False):
    """Means of ``value`` against the scaled control ``(x - x_c) n**exponent``, one colour per size.

    Examples
    --------
    >>> df = pd.DataFrame({"size": [10, 10, 40, 40], "control": [0.1, 0.2, 0.1, 0.2], "v": [1.0, 0.5, 0.9, 0.3]})
    >>> fig = plot_collapse(df, "v", 0.15, 0.5)
    """
    fig, ax = _axes(ax)
    s = summarize(df, value)
    for k, (n, sub) in enumerate(s.groupby("size")):
        x = (sub["control"] - x_c) * float(n) ** exponent
        ax.errorbar(x, sub["mean"], yerr=sub["sem"].fillna(0), fmt="o", ms=3, capsize=2,
                    color=PALETTE[k % len(PALETTE)], label=f"n = {n}")
    if log_x:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel or value)
    ax.legend(fontsize=8)
    return fig


def plot_homophily(theory: pd.DataFrame, simulation: pd.DataFrame, *, size: int | None = None):
    """The mean field of the two-parameter rules against simulation, over gamma.

    One row of panels per rule: the modularity of the predicted grid, the mean edge length and the
    fraction of edges placed by the homophily term (``active``); theory lines per closure, simulated
    means with 95 % intervals; one colour per ``eta``.

    Examples
    --------
    >>> th = pd.DataFrame({"rule": ["matching"] * 2, "gamma": [0.0, 1.0], "eta": [-5.0] * 2, "size": [60] * 2,
    ...                    "closure": ["mean"] * 2, "q_cells": [0.5, 0.6], "ell": [0.1, 0.08], "active": [0.3, 0.8]})
    >>> sim = pd.DataFrame({"rule": ["matching"] * 4, "gamma": [0.0, 0.0, 1.0, 1.0], "eta": [-5.0] * 4,
    ...                     "size": [60] * 4, "q_grid": [0.5, 0.52, 0.3, 0.32], "ell": [0.1] * 4,
    ...                     "active": [0.3, 0.35, 0.8, 0.7]})
    >>> fig = plot_homophily(th, sim)
    """
    import matplotlib.pyplot as plt
    from scipy import stats

    size = int(simulation["size"].max()) if size is None else int(size)
    rules = list(dict.fromkeys(simulation["rule"]))
    cols = (("q_grid", "q_cells", "Q of the predicted grid"), ("ell", "ell", "mean edge length"),
            ("active", "active", "edges placed with K > 0"))
    fig, axes = plt.subplots(len(rules), 3, figsize=(12, 3.1 * len(rules)), squeeze=False)
    etas = sorted(simulation["eta"].unique())
    for i, rule in enumerate(rules):
        for k, eta in enumerate(etas):
            col = PALETTE[k % len(PALETTE)]
            sim = simulation[(simulation["rule"] == rule) & (simulation["eta"] == eta) & (simulation["size"] == size)]
            th = theory[(theory["rule"] == rule) & (theory["eta"] == eta) & (theory["size"] == size)]
            for j, (sc, tc, label) in enumerate(cols):
                ax = axes[i, j]
                g = sim.groupby("gamma")[sc]
                mean, sd, cnt = g.mean(), g.std(), g.count()
                half = stats.t.ppf(0.975, np.maximum(cnt - 1, 1)) * sd / np.sqrt(cnt)
                ax.errorbar(mean.index, mean, yerr=half.fillna(0), fmt="o", ms=3, capsize=2, color=col,
                            label=f"simulated, η = {eta:g}")
                for closure, ls in (("mean", "-"), ("poisson", "--")):
                    t = th[th["closure"] == closure].sort_values("gamma")
                    if len(t):
                        ax.plot(t["gamma"], t[tc], color=col, ls=ls, lw=1.2,
                                label=f"mean field ({closure})" if k == 0 else None)
                ax.set(xlabel="γ", ylabel=label)
                ax.set_title(f"{rule}, n = {size}", fontsize=9)
        axes[i, 0].legend(fontsize=6.5)
    return fig


def plot_growth(prediction: pd.DataFrame, simulation: pd.DataFrame, worm: pd.DataFrame | None = None,
                worm_prediction: pd.DataFrame | None = None):
    """Modularity during growth: the staged theory against grown networks, and the worm's brains by age.

    Parameters
    ----------
    prediction : DataFrame
        :func:`~mesoscale.theory.growth_predictions` (``stage, n_born, q_cells``).
    simulation : DataFrame
        :func:`mesoscale.generative.staged_growth.growth_order_parameters` (``stage, q_grid``).
    worm, worm_prediction : DataFrame, optional
        :func:`mesoscale.generative.staged_growth.worm_stage_table` (``age_h, delta_q, delta_q_lo, delta_q_hi``)
        and :func:`~mesoscale.generative.emergence.worm_stage_predictions` (``age_h, growth, delta_q``).

    Examples
    --------
    >>> pr = pd.DataFrame({"stage": [1, 2], "n_born": [10, 20], "q_cells": [0.3, 0.5]})
    >>> sim = pd.DataFrame({"stage": [1, 1, 2, 2], "q_grid": [0.31, 0.29, 0.5, 0.52]})
    >>> fig = plot_growth(pr, sim)
    """
    import matplotlib.pyplot as plt

    two = worm is not None
    fig, axes = plt.subplots(1, 2 if two else 1, figsize=(10.5 if two else 5.2, 3.6), squeeze=False)
    ax = axes[0, 0]
    g = simulation.groupby("stage")["q_grid"]
    mean, sd, cnt = g.mean(), g.std(), g.count()
    born = prediction.set_index("stage")["n_born"].reindex(mean.index)
    ax.errorbar(born, mean, yerr=(1.96 * sd / np.sqrt(cnt)).fillna(0), fmt="o", ms=4, capsize=2,
                color=PALETTE[0], label=f"grown networks ({int(cnt.max())} per stage)")
    ax.plot(prediction["n_born"], prediction["q_cells"], color=PALETTE[1], lw=1.5, label="staged rate equation")
    ax.set(xlabel="neurons born", ylabel="Q of the predicted grid", title="growth in an elongating body")
    ax.legend(fontsize=7)
    if two:
        ax = axes[0, 1]
        w = worm.sort_values("age_h")
        err = _nonnegative(w["delta_q"] - w["delta_q_lo"], w["delta_q_hi"] - w["delta_q"])
        ax.errorbar(w["age_h"], w["delta_q"], yerr=err, fmt="o", ms=4, capsize=2, color="k",
                    label="Witvliet brains (ΔQ, 95 % CI)")
        if worm_prediction is not None:
            for k, (gr, sub) in enumerate(worm_prediction.groupby("growth")):
                sub = sub.sort_values("age_h")
                ax.plot(sub["age_h"], sub["delta_q"], color=PALETTE[(k + 2) % len(PALETTE)], lw=1.2,
                        label=f"theory, linear growth ×{gr:g}")
        ax.set(xlabel="hours after birth", ylabel="ΔQ", title="the worm's brain over development")
        ax.legend(fontsize=7)
    return fig


def plot_collapses(rows: pd.DataFrame, prediction: pd.DataFrame, collapse, range_collapse, *, window=(0.3, 0.75),
                   dim: int = 2):
    """The two collapses of the spatial theory: the overlap near C1, and the grid's Q against the range in spacings.

    Parameters
    ----------
    rows : DataFrame
        :func:`mesoscale.generative.emergence.emergence_scan` rows (``size, control, overlap, q_grid``).
    prediction : DataFrame
        :func:`~mesoscale.theory.box_predictions` (``xi``, ``ell``).
    collapse, range_collapse : CollapseResult
        From :func:`~mesoscale.theory.data_collapse` (the overlap in ``window``, or None: the raw curves;
        ``q_grid`` against ``R``).

    Examples
    --------
    >>> from mesoscale.theory.scaling import CollapseResult
    >>> rows = pd.DataFrame({"size": [10, 10, 40, 40], "control": [0.3, 0.5, 0.3, 0.5], "overlap": [0.5, 0.2, 0.6, 0.1],
    ...                      "q_grid": [0.3, 0.2, 0.31, 0.19]})
    >>> pr = pd.DataFrame({"xi": [0.3, 0.5], "ell": [0.3, 0.4]})
    >>> r = CollapseResult(0.4, 0.3, 1.0, 0.01, 0.02, np.zeros((2, 2)), False)
    >>> fig = plot_collapses(rows, pr, r, CollapseResult(0.0, -0.5, 1.0, 0.0, 0.01, np.zeros((2, 2)), True))
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    lo, hi = window
    near = rows[(rows["control"] >= lo) & (rows["control"] <= hi)]
    if collapse is None:  # too few ranges near C1 for a collapse: the raw curves
        plot_collapse(near, "overlap", 0.0, 0.0, ax=axes[0], xlabel="ξ", ylabel="overlap with the halves")
        axes[0].set_title("C1: no collapse (too few ranges near it)", fontsize=9)
    else:
        plot_collapse(near, "overlap", collapse.x_c, collapse.exponent, ax=axes[0], xlabel="(ξ − ξ_c) n^a",
                      ylabel="overlap with the halves")
        axes[0].set_title(f"C1: ξ_c = {collapse.x_c:.3f}, a = {collapse.exponent:.2f}", fontsize=9)
    ell = dict(zip(prediction["xi"], prediction["ell"]))
    R = [ell[x] * n ** (1.0 / dim) for x, n in zip(rows["control"], rows["size"])]
    plot_collapse(rows.assign(control=R), "q_grid", 0.0, range_collapse.exponent, ax=axes[1], log_x=True,
                  xlabel="R n^a (R: mean edge length in spacings)", ylabel="Q of the predicted grid")
    axes[1].set_title(f"collapse in R: a = {range_collapse.exponent:.3f} (theory {-1 / dim:.2f})", fontsize=9)
    return fig
