"""Figures of phase-transition scans: order parameter, susceptibility and finite-size scaling.

Every function returns a :class:`matplotlib.figure.Figure` (or draws into ``ax``) and uses the
book's palette; call :func:`mesoscale.plotting.use_style` once beforehand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..plotting import PALETTE
from .transitions import FSSResult, summarize

__all__ = ["plot_order_parameter", "plot_susceptibility", "plot_fss", "plot_transition"]


def _axes(ax, figsize=(4.2, 3.2)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


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
                            xerr=[[row["x_c"] - row["x_c_lo"]], [row["x_c_hi"] - row["x_c"]]]
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
        yerr = [loc["x_c"] - loc["x_c_lo"], loc["x_c_hi"] - loc["x_c"]]
        yerr = [np.clip(np.asarray(e, dtype=float), 0, None) for e in yerr]
    ax.errorbar(u, loc["x_c"], yerr=yerr, fmt="o", color=PALETTE[0], capsize=2,
                label=f"per size ({fss.method})")
    grid = np.linspace(0, u.max() * 1.05, 50)
    ax.plot(grid, fss.x_c + fss.amplitude * grid, "-", color=PALETTE[0], alpha=0.6,
            label=f"fit, ω = {fss.exponent:.2f} ± {fss.exponent_se:.2f}")
    lo, hi = fss.ci("x_c")
    ax.errorbar([0], [fss.x_c], yerr=[[fss.x_c - lo], [hi - fss.x_c]] if np.isfinite(lo) else None,
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
    """Three panels: order parameter, susceptibility (with peaks), finite-size scaling."""
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
