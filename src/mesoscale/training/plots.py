"""Figures of the training chapters (call :func:`mesoscale.plotting.use_style` first).

Every function takes a tidy DataFrame (one row per member and condition) and returns a
:class:`matplotlib.figure.Figure`, so that every seed is visible, not only the mean.
"""

from __future__ import annotations

import numpy as np

from ..plotting import PALETTE

__all__ = ["plot_by_condition", "plot_curves", "plot_relation", "plot_robustness", "plot_frontier", "plot_prior_shifts",
           "plot_forest"]


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


def plot_frontier(summary, y: str, *, x: str = "p_ratio", hue: str | None = None, ax=None, published=None,
                  ylabel: str | None = None, label_fmt: str = "{}"):
    """Mean of ``y`` (with its interval, columns ``<y>_lo``/``<y>_hi``) against ``x`` on a log axis.

    ``summary`` is a :func:`~mesoscale.training.frontier.frontier_summary` table; ``hue`` draws one line
    per value (e.g. module size). ``published`` (a pair ``(x_low, x_high)``) shades the range where the
    published study reports the effect. A top axis gives the planted-module ``Q`` of each ``x``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> s = pd.DataFrame({"p_ratio": [0.01, 1.0], "retrain_spec": [0.8, 0.0], "retrain_spec_lo": [0.7, 0.0],
    ...                   "retrain_spec_hi": [0.9, 0.1]})
    >>> fig = plot_frontier(s, "retrain_spec", published=(0.001, 0.01))
    >>> fig.axes[0].get_xscale(), len(fig.axes[0].get_lines())
    ('log', 1)
    >>> plt.close(fig)
    """
    from .priors import planted_q

    fig, ax = _axes(ax, (5.0, 3.4))
    groups = [(None, summary)] if hue is None else list(summary.groupby(hue, sort=True))
    for i, (h, g) in enumerate(groups):
        g = g.sort_values(x)
        c = PALETTE[i % len(PALETTE)]
        ax.plot(g[x], g[y], "o-", color=c, ms=4, label=None if h is None else label_fmt.format(h))
        if f"{y}_lo" in g:
            ax.fill_between(g[x], g[f"{y}_lo"], g[f"{y}_hi"], color=c, alpha=0.2, lw=0)
    if published is not None:
        ax.axvspan(*published, color="0.85", zorder=0, label="published: specialised")
    ax.set_xscale("log")
    ax.set_xlabel("p (between / within-module density)")
    ax.set_ylabel(ylabel or y)
    top = ax.secondary_xaxis("top", functions=(lambda p: 10 * np.asarray(p), lambda v: np.asarray(v) / 10))
    ticks = [t for t in (0.001, 0.01, 0.1, 1.0) if summary[x].min() / 2 <= t <= summary[x].max() * 2]
    top.set_xticks([10 * t for t in ticks], [f"{float(planted_q(t)):.2f}" for t in ticks])
    top.set_xlabel("planted Q", fontsize=8)
    if hue is not None or published is not None:
        ax.legend(fontsize=8)
    return fig


def plot_prior_shifts(reference, priors, y: str, *, x: str = "p_ratio", ax=None, ylabel: str | None = None):
    """The planted-module curve (line with interval) and every other condition as a point with error bars.

    Both tables are :func:`~mesoscale.training.frontier.frontier_summary` outputs with a ``condition``
    column.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> ref = pd.DataFrame({"condition": ["a", "b"], "p_ratio": [0.01, 1.0], "s": [0.8, 0.1], "s_lo": [0.7, 0.0],
    ...                     "s_hi": [0.9, 0.2]})
    >>> pri = pd.DataFrame({"condition": ["x"], "p_ratio": [0.2], "p_ratio_lo": [0.1], "p_ratio_hi": [0.3], "s": [0.5],
    ...                     "s_lo": [0.4], "s_hi": [0.6]})
    >>> fig = plot_prior_shifts(ref, pri, "s")
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['planted modules', 'x']
    >>> plt.close(fig)
    """
    fig, ax = _axes(ax, (5.4, 3.6))
    r = reference.sort_values(x)
    ax.plot(r[x], r[y], "-", color="0.3", lw=1.5, label="planted modules")
    ax.fill_between(r[x], r[f"{y}_lo"], r[f"{y}_hi"], color="0.6", alpha=0.3, lw=0)
    for i, row in enumerate(priors.itertuples(index=False)):
        d = row._asdict()
        xerr = [[d[x] - d.get(f"{x}_lo", d[x])], [d.get(f"{x}_hi", d[x]) - d[x]]]
        yerr = [[d[y] - d[f"{y}_lo"]], [d[f"{y}_hi"] - d[y]]]
        ax.errorbar([d[x]], [d[y]], xerr=xerr, yerr=yerr, fmt="o", color=PALETTE[(i + 1) % len(PALETTE)], ms=5,
                    capsize=2, label=str(d["condition"]))
    ax.set_xscale("log")
    ax.set_xlabel("p (between / within-module density)")
    ax.set_ylabel(ylabel or y)
    ax.legend(fontsize=7, loc="best")
    return fig


def plot_forest(table, *, label: str = "condition", value: str = "diff", ax=None, xlabel: str | None = None,
                reference: float = 0.0, p_column: str = "p_holm"):
    """Effects with intervals as horizontal bars, one row each; rows with ``p_column < 0.05`` are filled.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> t = pd.DataFrame({"condition": ["a", "b"], "diff": [0.2, -0.1], "lo": [0.1, -0.3], "hi": [0.3, 0.1],
    ...                   "p_holm": [0.01, 0.5]})
    >>> fig = plot_forest(t)
    >>> [x.get_text() for x in fig.axes[0].get_yticklabels()]
    ['a', 'b']
    >>> plt.close(fig)
    """
    fig, ax = _axes(ax, (5.0, 0.35 * len(table) + 1.0))
    ys = np.arange(len(table))[::-1]
    for yv, row in zip(ys, table.itertuples(index=False)):
        d = row._asdict()
        sig = p_column in d and np.isfinite(d[p_column]) and d[p_column] < 0.05
        ax.errorbar([d[value]], [yv], xerr=[[d[value] - d["lo"]], [d["hi"] - d[value]]], fmt="o",
                    color=PALETTE[0], mfc=PALETTE[0] if sig else "white", ms=5, capsize=2)
    ax.axvline(reference, color="0.4", lw=1, ls="--")
    ax.set_yticks(ys, [str(v) for v in table[label]])
    ax.set_xlabel(xlabel or value)
    return fig
