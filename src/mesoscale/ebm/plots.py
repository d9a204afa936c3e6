"""Figures of the local-learning chapter (each returns a matplotlib ``Figure``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..plotting import PALETTE, plot_adjacency, plot_spatial_network
from .analysis import weight_graph
from .network import EnergyNetwork

__all__ = [
    "RULE_COLORS",
    "RULE_LABELS",
    "plot_gradient_alignment",
    "plot_metric_grid",
    "plot_learning_curves",
    "plot_networks",
    "plot_local_frontier",
]

#: One colour per learning rule, used by every figure of the chapter.
RULE_COLORS = {"eqprop": PALETTE[0], "chl": PALETTE[1], "bptt": PALETTE[5]}
#: Display names of the learning rules.
RULE_LABELS = {"eqprop": "EqProp (symmetric)", "chl": "CHL", "bptt": "BPTT"}

_METRIC_LABELS = {
    "train_acc": "train accuracy",
    "test_acc": "test accuracy",
    "q": "modularity Q",
    "z": "Q z-score vs null",
    "percentile": "Q percentile vs null",
    "specialisation": "specialisation",
    "lesion_acc": "accuracy, 25 % lesioned",
    "lesion_retained": "accuracy retained\nafter lesion",
    "density": "synapse density",
    "wiring": "wiring cost",
}


def plot_gradient_alignment(alignment: dict):
    """Cosine similarity (left) and relative error (right) of each estimator to the exact gradient.

    ``alignment`` is the dict of :func:`mesoscale.ebm.rules.gradient_alignment`.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from mesoscale.ebm import gradient_alignment, make_network
    >>> net = make_network(4, 6, 2, seed=0)
    >>> x, y = np.random.default_rng(0).random((3, 4)), np.eye(2)[[0, 1, 0]]
    >>> al = gradient_alignment(net, x, y, betas=(0.1, 0.01), bptt_steps=(5, 20), n_relax=200, tol=1e-10)
    >>> fig = plot_gradient_alignment(al)
    >>> type(fig).__name__, len(fig.axes)
    ('Figure', 3)
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(10.0, 3.2))
    b = alignment["beta"]
    for est, c in (("symmetric", PALETTE[0]), ("forward", PALETTE[4])):
        axes[0].semilogx(b, alignment[f"cos_{est}"], "o-", color=c, label=f"EqProp, {est}")
        axes[1].loglog(b, alignment[f"relerr_{est}"], "o-", color=c, label=f"EqProp, {est}")
    axes[0].axhline(alignment["cos_chl"], color=RULE_COLORS["chl"], ls="--", label="CHL")
    axes[1].axhline(alignment["relerr_chl"], color=RULE_COLORS["chl"], ls="--", label="CHL")
    axes[0].axhline(0.99, color="0.6", lw=0.8, ls=":")
    axes[0].set_xlabel(r"nudging strength $\beta$")
    axes[0].set_ylabel("cosine to exact gradient")
    axes[1].set_xlabel(r"nudging strength $\beta$")
    axes[1].set_ylabel("relative error")
    axes[0].legend(fontsize=8)
    T = alignment["bptt_steps"]
    axes[2].plot(T, alignment["cos_bptt"], "o-", color=RULE_COLORS["bptt"])
    axes[2].set_xlabel("BPTT: relaxation steps unrolled")
    axes[2].set_ylabel("cosine to exact gradient")
    for ax in axes[[0, 2]]:
        ax.set_ylim(min(0.0, float(np.nanmin(alignment["cos_bptt"]))), 1.02)
    return fig


def plot_metric_grid(summary: pd.DataFrame, metrics=("test_acc", "z", "specialisation", "lesion_retained"), *, tasks=None):
    """Mean and 95 % CI of each metric versus wiring-cost strength, one line per rule.

    Rows are metrics, columns tasks. ``summary`` is the long table of
    :func:`mesoscale.ebm.experiment.summarize` (columns task, rule, cost, metric, mean, lo, hi, n).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> summary = pd.DataFrame({"task": "retina_and", "rule": ["eqprop", "eqprop", "bptt", "bptt"],
    ...                         "cost": [0.0, 0.1] * 2, "metric": "test_acc", "mean": [0.8, 0.7, 0.9, 0.8],
    ...                         "lo": [0.7, 0.6, 0.8, 0.7], "hi": [0.9, 0.8, 1.0, 0.9], "n": 3})
    >>> fig = plot_metric_grid(summary, metrics=["test_acc"])
    >>> len(fig.axes), fig.axes[0].get_title()
    (1, 'retina and')
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    tasks = list(tasks) if tasks is not None else sorted(summary["task"].unique())
    metrics = list(metrics)
    fig, axes = plt.subplots(len(metrics), len(tasks), figsize=(3.3 * len(tasks), 2.1 * len(metrics)),
                             squeeze=False, sharex=True)
    costs = np.sort(summary["cost"].unique())
    pos = {c: k for k, c in enumerate(costs)}
    rules = [r for r in RULE_COLORS if r in set(summary["rule"])]
    for j, task in enumerate(tasks):
        for i, m in enumerate(metrics):
            ax = axes[i, j]
            for k, rule in enumerate(rules):
                d = summary[(summary.task == task) & (summary.rule == rule) & (summary.metric == m)].sort_values("cost")
                xs = np.array([pos[c] for c in d["cost"]]) + (k - 1) * 0.08
                ax.errorbar(xs, d["mean"], yerr=[d["mean"] - d["lo"], d["hi"] - d["mean"]], fmt="o-",
                            color=RULE_COLORS[rule], label=RULE_LABELS[rule], ms=4, capsize=2)
            if m in ("z",):
                ax.axhline(0, color="0.6", lw=0.8, ls=":")
            if i == 0:
                ax.set_title(task.replace("_", " "))
            if j == 0:
                ax.set_ylabel(_METRIC_LABELS.get(m, m))
            if i == len(metrics) - 1:
                ax.set_xticks(range(len(costs)), [f"{c:g}" for c in costs])
                ax.set_xlabel("wiring-cost strength")
    axes[0, 0].legend(fontsize=7)
    return fig


def plot_learning_curves(df: pd.DataFrame, *, tasks=None, cost=None):
    """Test accuracy during training (mean over replicates, one line per rule), one panel per task.

    ``df`` holds the rows of :func:`mesoscale.ebm.experiment.run_condition` (with
    ``curve_epoch``/``curve_test_acc`` lists); ``cost`` picks one cost strength (default: the smallest).
    Networks stopped early by the validation rule have shorter curves: each epoch averages the
    networks still training then.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> rows = pd.DataFrame({"task": ["retina_and", "retina_or"], "rule": "chl", "cost": 0.0,
    ...                      "curve_epoch": [[0, 1, 2]] * 2, "curve_test_acc": [[0.5, 0.6, 0.7], [0.5, 0.7, 0.8]]})
    >>> fig = plot_learning_curves(rows)
    >>> len(fig.axes), [len(ax.get_lines()) for ax in fig.axes]
    (2, [1, 1])
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    tasks = list(tasks) if tasks is not None else sorted(df["task"].unique())
    cost = float(df["cost"].min()) if cost is None else cost
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.3 * len(tasks), 2.6), squeeze=False, sharey=True)
    for j, task in enumerate(tasks):
        ax = axes[0, j]
        for rule in RULE_COLORS:
            d = df[(df.task == task) & (df.rule == rule) & np.isclose(df.cost, cost)]
            if d.empty:
                continue
            # curves of networks stopped early end early: average over the networks still training
            ep = np.unique(np.concatenate([np.asarray(e, dtype=float) for e in d["curve_epoch"]]))
            acc = np.full((len(d), len(ep)), np.nan)
            for i, (e, a) in enumerate(zip(d["curve_epoch"], d["curve_test_acc"])):
                acc[i, np.searchsorted(ep, np.asarray(e, dtype=float))] = np.asarray(a, dtype=float)
            n = np.isfinite(acc).sum(0)
            m = np.nanmean(acc, 0)
            ax.plot(ep, m, color=RULE_COLORS[rule], label=RULE_LABELS[rule])
            if n.max() > 1:
                var = np.nansum((acc - m) ** 2, 0) / np.maximum(n - 1, 1)
                se = np.where(n > 1, np.sqrt(var / n), np.nan)
                ax.fill_between(ep, m - 1.96 * se, m + 1.96 * se, color=RULE_COLORS[rule], alpha=0.2, lw=0)
        ax.set_title(f"{task.replace('_', ' ')}, cost {cost:g}")
        ax.set_xlabel("epoch")
    axes[0, 0].set_ylabel("test accuracy")
    axes[0, 0].legend(fontsize=7)
    return fig


def plot_networks(nets: dict, partitions: dict | None = None):
    """Trained networks side by side: sorted weight matrices (top) and in space (bottom).

    ``nets`` maps a panel title to an :class:`EnergyNetwork`; ``partitions`` (same keys)
    gives module labels for the colouring and the boxes.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from mesoscale.ebm import make_network
    >>> nets = {"seed 0": make_network(4, 6, 2, seed=0), "seed 1": make_network(4, 6, 2, seed=1)}
    >>> fig = plot_networks(nets, {"seed 0": np.repeat([0, 1], 6)})
    >>> type(fig).__name__, len(fig.axes) >= 4
    ('Figure', True)
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    keys = list(nets)
    fig, axes = plt.subplots(2, len(keys), figsize=(2.8 * len(keys), 5.2), squeeze=False)
    for j, k in enumerate(keys):
        net: EnergyNetwork = nets[k]
        A, _ = weight_graph(net, "all")
        part = None if partitions is None else partitions.get(k)
        plot_adjacency(A, part, ax=axes[0, j], title=k, cmap="Greys")
        plot_spatial_network(A, net.positions, part, ax=axes[1, j], node_size=18, edge_alpha=0.25)
        axes[1, j].set_xticks([])
        axes[1, j].set_yticks([])
    axes[1, 0].set_ylabel("inputs (bottom) to outputs (top)")
    return fig


def plot_local_frontier(summary: pd.DataFrame, *, metrics=("specialisation", "test_acc")):
    """Each learning rule's mean and 95 % interval of ``metrics`` against ``p`` (log scale).

    ``summary`` is :func:`~mesoscale.ebm.frontier.local_frontier`'s ``summary`` (one task); the
    untrained networks' ``spec_init`` is drawn as a dashed line on the specialisation panel.

    Examples
    --------
    >>> s = pd.DataFrame({"rule": ["eqprop", "eqprop"], "p": [1.0, 0.1], "specialisation": [0.6, 0.8],
    ...                   "specialisation_lo": [0.5, 0.7], "specialisation_hi": [0.7, 0.9], "test_acc": 0.9,
    ...                   "test_acc_lo": 0.85, "test_acc_hi": 0.95, "spec_init": [0.6, 0.7]})
    >>> len(plot_local_frontier(s).axes)
    2
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.4), squeeze=False)
    axes = axes[0]
    for rule, g in summary.sort_values("p").groupby("rule", sort=False):
        for ax, m in zip(axes, metrics):
            ax.errorbar(g["p"], g[m], yerr=[g[m] - g[f"{m}_lo"], g[f"{m}_hi"] - g[m]], marker="o", capsize=2,
                        color=RULE_COLORS.get(rule), label=RULE_LABELS.get(rule, rule))
    for ax, m in zip(axes, metrics):
        if m == "specialisation" and "spec_init" in summary:
            init = summary.groupby("p")["spec_init"].mean()
            ax.plot(init.index, init.to_numpy(), "k--", lw=1, label="untrained")
        ax.set(xscale="log", xlabel="fraction p of between-module pairs kept", ylabel=_METRIC_LABELS.get(m, m))
    axes[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
