"""One figure style for the whole book, and generic network figures.

Every figure in the book is made by a function that returns a :class:`matplotlib.figure.Figure`;
notebooks call :func:`use_style` once and then those functions. Subpackages keep the figures
that belong to their data in ``<subpackage>/plots.py`` and build on the helpers here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "use_style",
    "PALETTE",
    "module_colors",
    "plot_adjacency",
    "plot_spatial_network",
]

#: Colour-blind-safe qualitative palette (Okabe & Ito), used for modules and categories.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#999999",
)

_STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "figure.figsize": (6.4, 4.0),
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.frameon": False,
    "image.cmap": "viridis",
    "axes.prop_cycle": None,  # filled in use_style
}


def use_style() -> None:
    """Apply the book's matplotlib style (call once at the top of a notebook).

    Examples
    --------
    >>> import matplotlib as mpl
    >>> use_style()
    >>> mpl.rcParams["axes.spines.top"], mpl.rcParams["axes.prop_cycle"].by_key()["color"][0]
    (False, '#0072B2')
    """
    import matplotlib as mpl
    from cycler import cycler

    style = dict(_STYLE)
    style["axes.prop_cycle"] = cycler(color=list(PALETTE))
    mpl.rcParams.update(style)


def module_colors(partition: Sequence[int]) -> list[str]:
    """Map module labels to palette colours (modules beyond the palette cycle through it).

    Examples
    --------
    >>> module_colors([2, 2, 7])
    ['#0072B2', '#0072B2', '#E69F00']
    """
    labels = np.asarray(partition)
    _, idx = np.unique(labels, return_inverse=True)
    return [PALETTE[i % len(PALETTE)] for i in idx]


def plot_adjacency(A, partition=None, *, ax=None, title=None, cmap="Greys", markersize=None):
    """Draw an adjacency matrix, nodes ordered by module with module boxes outlined.

    Parameters
    ----------
    A : (n, n) array_like
        Adjacency (binary or weighted).
    partition : (n,) array_like of int, optional
        Module label per node; nodes are sorted by module and each module is outlined.

    Examples
    --------
    >>> A = np.kron(np.eye(2), np.ones((3, 3))) - np.eye(6)
    >>> fig = plot_adjacency(A, partition=[0, 0, 0, 1, 1, 1], title="two cliques")
    >>> len(fig.axes[0].images), len(fig.axes[0].patches)  # the matrix, one box per module
    (1, 2)
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"'A' must be a square matrix; got shape {A.shape}")
    n = A.shape[0]
    order = np.arange(n)
    if partition is not None:
        partition = np.asarray(partition)
        if partition.shape != (n,):
            raise ValueError(f"'partition' must have length {n}; got shape {partition.shape}")
        order = np.lexsort((np.arange(n), partition))
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 4.2))
    else:
        fig = ax.figure
    B = A[np.ix_(order, order)]
    ax.imshow(B != 0 if np.all((B == 0) | (B == 1)) else B, cmap=cmap, interpolation="nearest")
    if partition is not None:
        sorted_p = partition[order]
        start = 0
        for k, lab in enumerate(sorted_p):
            if k == n - 1 or sorted_p[k + 1] != lab:
                size = k + 1 - start
                colour = PALETTE[int(np.searchsorted(np.unique(partition), lab)) % len(PALETTE)]
                ax.add_patch(
                    Rectangle((start - 0.5, start - 0.5), size, size, fill=False, lw=1.2, ec=colour)
                )
                start = k + 1
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return fig


def plot_spatial_network(
    A,
    positions,
    partition=None,
    *,
    dims=(0, 1),
    ax=None,
    title=None,
    node_size=12,
    edge_alpha=0.15,
    max_edges=4000,
    seed=0,
):
    """Draw a network at its nodes' positions (a 2-D projection), nodes coloured by module.

    ``dims`` picks the two coordinates to show; at most ``max_edges`` edges are drawn
    (a reproducible random subset when there are more, chosen with ``seed``).

    Examples
    --------
    >>> A = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    >>> fig = plot_spatial_network(A, [[0, 0], [1, 0], [2, 1]], partition=[0, 0, 1])
    >>> len(fig.axes[0].collections[0].get_segments())  # one segment per edge
    2
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    A = np.asarray(A)
    P = np.asarray(positions, dtype=float)
    n = A.shape[0]
    if P.ndim != 2 or P.shape[0] != n:
        raise ValueError(f"'positions' must have shape ({n}, d); got {P.shape}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
    else:
        fig = ax.figure
    i, j = np.nonzero(np.triu(A != 0, 1))
    if len(i) > max_edges:
        keep = np.random.default_rng(seed).choice(len(i), max_edges, replace=False)
        i, j = i[keep], j[keep]
    x, y = P[:, dims[0]], P[:, dims[1]]
    segs = np.stack([np.c_[x[i], y[i]], np.c_[x[j], y[j]]], axis=1)
    ax.add_collection(LineCollection(segs, colors="0.3", linewidths=0.4, alpha=edge_alpha))
    colours = module_colors(partition) if partition is not None else PALETTE[0]
    ax.scatter(x, y, s=node_size, c=colours, edgecolors="white", linewidths=0.3, zorder=3)
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    if title:
        ax.set_title(title)
    return fig
