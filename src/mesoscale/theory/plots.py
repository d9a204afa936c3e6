"""Figures of phase-transition scans: order parameter, susceptibility and finite-size scaling.

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
           "plot_scans"]


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


def plot_significance(sig: pd.DataFrame, *, x: str = "x", reference: float | None = 1.0,
                      xlabel: str = "x = (c_in − c_out) / (q √c)"):
    """Observed, null and planted modularity (left) and the z-score against the null (right) against ``x``.

    ``sig`` has one row per network with columns ``x``, ``Q``, ``Q_null``, ``Q_planted`` and ``z``.

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
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
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
