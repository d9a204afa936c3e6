"""Figures of the chapter on weighted and heterochronous models.

Inputs are the tables of :mod:`~mesoscale.generative.extensions` (as a stored run keeps them) and
:func:`~mesoscale.generative.wiring_front`. Every function returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..._validation import check_frame

__all__ = ["plot_holdout", "plot_wiring_fronts", "plot_weight_distributions", "plot_weight_quantiles"]

_ORDER = ("binary", "model", "shuffled")
_LABELS = {"binary": "binary fit", "model": "extended fit", "shuffled": "weights\nshuffled"}


def plot_holdout(holdout: pd.DataFrame, *, ncols: int = 3):
    """Held-out energies of the binary and the extended fit (and shuffled weights), one panel per comparison.

    Examples
    --------
    >>> h = pd.DataFrame({"comparison": "x", "network": ["binary"] * 3 + ["model"] * 3,
    ...                   "energy": [0.3, 0.32, 0.31, 0.25, 0.27, 0.26]})
    >>> plot_holdout(h).axes[0].get_title()
    'x'
    """
    import matplotlib.pyplot as plt

    check_frame(holdout, ["comparison", "network", "energy"], "holdout")
    comps = list(dict.fromkeys(holdout["comparison"]))
    ncols = max(1, min(ncols, len(comps)))
    nrows = int(np.ceil(len(comps) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.7 * nrows), squeeze=False)
    rng = np.random.default_rng(0)  # horizontal jitter of the dots only
    for ax, comp in zip(axes.flat, comps):
        g = holdout[holdout["comparison"] == comp]
        kinds = [k for k in _ORDER if k in set(g["network"])]
        data = [g.loc[g["network"] == k, "energy"].to_numpy() for k in kinds]
        ax.boxplot(data, widths=0.5, showfliers=False)
        for x, d in enumerate(data, start=1):
            ax.scatter(x + rng.uniform(-0.12, 0.12, d.size), d, s=8, color=f"C{x - 1}", alpha=0.7, zorder=3)
        ax.set_xticks(range(1, len(kinds) + 1), [_LABELS[k] for k in kinds], fontsize=8)
        ax.set_title(comp, fontsize=9)
        ax.set_ylabel("held-out energy")
    for ax in list(axes.flat)[len(comps):]:
        ax.set_visible(False)
    return fig


def plot_wiring_fronts(fronts: dict, *, axis_label: str = "position along the body axis (head = 0)"):
    """Mean position of the edges added in each phase of the growth, one line per model.

    Examples
    --------
    >>> f = pd.DataFrame({"phase": [0.25, 0.75], "position": [0.2, 0.8], "sd": [0.01, 0.02], "n_networks": 3})
    >>> plot_wiring_fronts({"wave": f}).axes[0].get_xlabel()
    'phase of the growth (share of edges placed)'
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 3.0))
    for i, (label, df) in enumerate(fronts.items()):
        check_frame(df, ["phase", "position", "sd"], f"fronts[{label!r}]")
        ax.errorbar(df["phase"], df["position"], yerr=df["sd"], marker="o", ms=3, capsize=2, color=f"C{i}",
                    label=label)
    ax.set_xlabel("phase of the growth (share of edges placed)")
    ax.set_ylabel(axis_label)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, frameon=False)
    return fig


def plot_weight_distributions(targets: dict, models: dict):
    """Distribution functions of the weights over the largest weight: data against the fitted model.

    ``targets`` maps a label to the real weight matrix, ``models`` the same labels to model weights
    ``(B, n, n)`` (all networks pooled); drawn from their quantiles
    (:func:`~mesoscale.generative.extensions.weight_quantiles`) by :func:`plot_weight_quantiles`.

    Examples
    --------
    >>> W = np.array([[0, 2.0, 1.0], [2.0, 0, 0], [1.0, 0, 0]])
    >>> plot_weight_distributions({"toy": W}, {"toy": W[None] * 0.5}).axes[0].get_title()
    'toy'
    """
    from ..extensions import weight_quantiles

    return plot_weight_quantiles(weight_quantiles(targets, {k: v for k, v in models.items() if k in targets}))


def plot_weight_quantiles(quantiles: pd.DataFrame):
    """Distribution functions of the weights over the largest weight, one panel per label: data and model.

    ``quantiles`` is a :func:`~mesoscale.generative.extensions.weight_quantiles` table (``label``,
    ``source``, ``share``, ``weight``), e.g. the ``weights`` of a stored extension study.
    Logarithmic weight axis.

    Examples
    --------
    >>> q = pd.DataFrame({"label": "toy", "source": ["data"] * 3 + ["model"] * 3, "share": [0, 0.5, 1] * 2,
    ...                   "weight": [0.1, 0.4, 1.0, 0.3, 0.6, 1.0]})
    >>> fig = plot_weight_quantiles(q)
    >>> fig.axes[0].get_title(), len(fig.axes[0].lines)
    ('toy', 2)
    """
    import matplotlib.pyplot as plt

    check_frame(quantiles, ["label", "source", "share", "weight"], "quantiles", made_by="weight_quantiles")
    labels = list(dict.fromkeys(quantiles["label"]))
    fig, axes = plt.subplots(1, max(1, len(labels)), figsize=(3.3 * max(1, len(labels)), 2.8), squeeze=False)
    for ax, label in zip(axes.flat, labels):
        g = quantiles[quantiles["label"] == label]
        for i, source in enumerate(("data", "model")):
            q = g[g["source"] == source].sort_values("share")
            if len(q):
                ax.plot(q["weight"], q["share"], color=f"C{i}", label=source)
        ax.set_xscale("log")
        ax.set_xlabel("weight / largest weight")
        ax.set_ylabel("share of edges")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=8, frameon=False)
    return fig
