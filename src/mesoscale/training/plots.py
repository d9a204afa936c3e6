"""Figures of the training chapters (call :func:`mesoscale.plotting.use_style` first).

Every function takes a tidy DataFrame (one row per member and condition) and returns a
:class:`matplotlib.figure.Figure`, so that every seed is visible, not only the mean.
"""

from __future__ import annotations

import numpy as np

from ..plotting import PALETTE

__all__ = ["plot_by_condition", "plot_curves", "plot_relation", "plot_robustness"]


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def plot_by_condition(df, y: str, *, condition: str = "condition", ylabel: str | None = None, ax=None,
                      reference: float | None = None, order=None):
    """One column per condition: every member as a dot, the mean as a bar.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> df = pd.DataFrame({"condition": ["a", "a", "b", "b"], "accuracy": [0.9, 0.8, 0.6, 0.7]})
    >>> fig = plot_by_condition(df, "accuracy", reference=0.5)
    >>> type(fig).__name__, [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ('Figure', ['a', 'b'])
    >>> plt.close(fig)
    """
    fig, ax = _axes(ax, (6.4, 3.2))
    order = list(dict.fromkeys(df[condition])) if order is None else list(order)
    rng = np.random.default_rng(0)
    for i, c in enumerate(order):
        v = df.loc[df[condition] == c, y].to_numpy(dtype=float)
        ax.bar(i, np.nanmean(v), color=PALETTE[i % len(PALETTE)], alpha=0.35, width=0.7)
        ax.plot(i + 0.15 * rng.uniform(-1, 1, len(v)), v, "o", color=PALETTE[i % len(PALETTE)], ms=4)
    if reference is not None:
        ax.axhline(reference, color="0.4", lw=1, ls="--")
    ax.set_xticks(range(len(order)), order, rotation=30, ha="right")
    ax.set_ylabel(ylabel or y)
    return fig


def plot_curves(df, x: str, y: str, *, hue: str = "condition", ax=None, xlabel=None, ylabel=None, logx=False,
                reference: float | None = None):
    """Mean over members (line) with +/- one standard deviation (band), one line per ``hue`` value.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> df = pd.DataFrame({"condition": ["a"] * 4 + ["b"] * 4, "k": [1, 1, 2, 2] * 2,
    ...                    "accuracy": [0.5, 0.6, 0.7, 0.8, 0.5, 0.5, 0.6, 0.6]})
    >>> fig = plot_curves(df, "k", "accuracy", logx=True)
    >>> len(fig.axes), len(fig.axes[0].get_lines())
    (1, 2)
    >>> plt.close(fig)
    """
    fig, ax = _axes(ax, (5.0, 3.4))
    for i, (h, sub) in enumerate(df.groupby(hue, sort=False)):
        g = sub.groupby(x)[y]
        m, s = g.mean(), g.std().fillna(0)
        ax.plot(m.index, m.values, "o-", color=PALETTE[i % len(PALETTE)], label=str(h), ms=3)
        ax.fill_between(m.index, m - s, m + s, color=PALETTE[i % len(PALETTE)], alpha=0.2, lw=0)
    if reference is not None:
        ax.axhline(reference, color="0.4", lw=1, ls="--")
    if logx:
        ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    ax.legend(fontsize=8)
    return fig


def plot_relation(df, x: str, y: str, *, hue: str = "condition", ax=None, xlabel=None, ylabel=None):
    """Scatter of ``y`` against ``x``, one colour per ``hue`` value (each point one member).

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> df = pd.DataFrame({"condition": ["a", "a", "b"], "q": [0.1, 0.2, 0.4], "accuracy": [0.9, 0.8, 0.6]})
    >>> fig = plot_relation(df, "q", "accuracy", xlabel="modularity Q")
    >>> fig.axes[0].get_xlabel(), len(fig.axes[0].get_lines())
    ('modularity Q', 2)
    >>> plt.close(fig)
    """
    fig, ax = _axes(ax, (4.6, 3.6))
    for i, (h, sub) in enumerate(df.groupby(hue, sort=False)):
        ax.plot(sub[x], sub[y], "o", color=PALETTE[i % len(PALETTE)], label=str(h), ms=5, alpha=0.85)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    ax.legend(fontsize=8)
    return fig


def plot_robustness(table):
    """One panel per robustness test of :func:`~mesoscale.training.experiments.robustness_table`.

    Each panel shows accuracy against the fraction removed (lesions) or the noise sd, one
    line (mean +/- sd over members) per condition.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"condition": "a", "test": ["input noise"] * 2, "x": [0.0, 0.5], "member": 0,
    ...                   "accuracy": [1.0, 0.6]})
    >>> [ax.get_title() for ax in plot_robustness(t).axes]
    ['input noise']
    """
    import matplotlib.pyplot as plt

    tests = list(dict.fromkeys(table["test"]))
    ncol = min(3, len(tests))
    nrow = -(-len(tests) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.7 * ncol, 3.1 * nrow), squeeze=False)
    for ax, t in zip(axes.flat, tests):
        xlabel = "noise sd" if t.endswith("noise") else "fraction removed"
        plot_curves(table[table["test"] == t], "x", "accuracy", ax=ax, xlabel=xlabel, ylabel="accuracy")
        ax.set_title(t)
    for ax in axes.flat[len(tests):]:
        ax.remove()
    return fig
