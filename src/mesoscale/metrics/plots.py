"""Figures of the metrics results, in the book's style (:mod:`mesoscale.plotting`).

Every function returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import numpy as np

from .. import plotting
from .energy import KS_COLUMNS, network_statistics
from .significance import ModularityTest, compare_with_null

__all__ = ["plot_null_comparison", "plot_modularity_test", "plot_agreement", "plot_rich_club", "plot_energy_cdfs"]


def plot_null_comparison(observed: float, null_values, *, ax=None, label="Q", title=None):
    """Histogram of a statistic under a null model with the observed value marked, labelled with
    its z-score (from :func:`~mesoscale.metrics.compare_with_null`) and the number of nulls.

    Examples
    --------
    >>> fig = plot_null_comparison(0.42, [0.30, 0.31, 0.29, 0.30, 0.32])
    >>> fig.axes[0].get_legend().get_title().get_text()
    'z = 10.2, 5 nulls'
    """
    import matplotlib.pyplot as plt

    comparison = compare_with_null(observed, null_values)
    null_values = np.asarray(null_values, dtype=float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 3.0))
    else:
        fig = ax.figure
    ax.hist(null_values, bins=min(30, max(5, len(null_values) // 3)), color="0.7", label="null")
    ax.axvline(observed, color=plotting.PALETTE[5], lw=2, label="observed")
    ax.set_xlabel(label)
    ax.set_ylabel("count")
    ax.legend(title=f"z = {comparison.z:.1f}, {comparison.n_null} nulls")
    if title:
        ax.set_title(title)
    return fig


def plot_modularity_test(test: ModularityTest, *, ax=None, title=None):
    """Null distribution of Q with the observed value, labelled with the null model and counts.

    Examples
    --------
    >>> import networkx as nx
    >>> from mesoscale.metrics import modularity_significance
    >>> A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    >>> fig = plot_modularity_test(modularity_significance(A, n_null=5, n_runs=3, seed=0))
    """
    if not isinstance(test, ModularityTest):
        raise TypeError(f"'test' must be a ModularityTest; got {type(test).__name__}")
    fig = plot_null_comparison(
        test.q,
        test.null_q,
        ax=ax,
        label=f"Q (best of {test.n_runs} Louvain runs)",
        title=title if title is not None else f"{test.null} null, n_null = {test.n_null}",
    )
    return fig


def plot_agreement(agreement, partition, *, ax=None, title="Co-assignment across Louvain runs"):
    """The agreement matrix (fraction of runs with i, j in one module), nodes sorted by module.

    Examples
    --------
    >>> import networkx as nx
    >>> from mesoscale.metrics import consensus_communities
    >>> A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    >>> p, Q, agree = consensus_communities(A, n_runs=10, seed=0)
    >>> fig = plot_agreement(agree, p)
    """
    M = np.asarray(agreement, dtype=float)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"'agreement' must be a square matrix; got shape {M.shape}")
    if np.any((M < 0) | (M > 1)):
        raise ValueError("'agreement' must hold fractions in [0, 1]")
    fig = plotting.plot_adjacency(M, partition, ax=ax, title=title, cmap="viridis")
    fig.axes[0].images[-1].set_clim(0, 1)
    fig.colorbar(fig.axes[0].images[-1], ax=fig.axes[0], shrink=0.8, label="fraction of runs")
    return fig


def plot_rich_club(table, *, ax=None, title="Rich club"):
    """Normalised rich-club coefficient against k, levels with p < 0.05 marked.

    ``table`` is the DataFrame of :func:`~mesoscale.metrics.rich_club`.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd
    >>> table = pd.DataFrame({"k": [1, 2, 3], "phi": [0.3, 0.5, 0.9], "phi_null_mean": [0.3, 0.4, 0.5],
    ...                       "phi_norm": [1.0, 1.25, 1.8], "p_value": [0.5, 0.2, 0.01]})
    >>> fig = plot_rich_club(table, title="toy")
    >>> len(fig.axes), fig.axes[1].get_ylabel()
    (2, 'phi_norm(k)')
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    missing = {"k", "phi", "phi_null_mean", "phi_norm", "p_value"} - set(getattr(table, "columns", ()))
    if missing:
        raise ValueError(f"'table' must be a rich_club() DataFrame; missing columns {sorted(missing)}")
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.0))
    else:
        fig, axes = ax.figure, [ax, ax.twinx()]
    axes[0].plot(table["k"], table["phi"], label="observed")
    axes[0].plot(table["k"], table["phi_null_mean"], color="0.5", label="degree-preserving null")
    axes[0].set_xlabel("degree k")
    axes[0].set_ylabel("phi(k)")
    axes[0].legend()
    axes[1].axhline(1, color="0.6", lw=1)
    axes[1].plot(table["k"], table["phi_norm"], color=plotting.PALETTE[5])
    sig = table["p_value"] < 0.05
    axes[1].plot(table["k"][sig], table["phi_norm"][sig], "o", color=plotting.PALETTE[5], label="p < 0.05")
    axes[1].set_xlabel("degree k")
    axes[1].set_ylabel("phi_norm(k)")
    if sig.any():
        axes[1].legend()
    if title:
        fig.suptitle(title)
    return fig


def plot_energy_cdfs(network, target, D, *, title=None):
    """The four cumulative distributions that the KS energy compares, network against target.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = np.triu(rng.random((20, 20)) < 0.2, 1); A = A | A.T
    >>> D = np.abs(np.subtract.outer(np.arange(20.0), np.arange(20.0)))
    >>> fig = plot_energy_cdfs(A, A.T, D)
    """
    import matplotlib.pyplot as plt

    from .energy import ks_energy

    s_net = network_statistics(network, D)
    s_tgt = network_statistics(np.asarray(target) != 0, D)
    E = ks_energy(network, target, D)[0]
    fig, axes = plt.subplots(1, 4, figsize=(11, 2.8))
    names = ("degree", "clustering", "betweenness", "edge_length")
    for i, (ax, key) in enumerate(zip(axes, names)):
        for s, lab, col in ((s_tgt, "target", "0.3"), (s_net, "model", plotting.PALETTE[0])):
            x = np.sort(s[key][0])
            ax.step(x, np.arange(1, x.size + 1) / max(x.size, 1), where="post", color=col, label=lab)
        ax.set_xlabel(key.replace("_", " "))
        ax.set_title(f"KS = {E[i]:.2f}")
    axes[0].set_ylabel("cumulative fraction")
    axes[0].legend()
    fig.suptitle(title if title is not None else f"energy = max KS = {E[KS_COLUMNS.index('energy')]:.2f}")
    return fig
