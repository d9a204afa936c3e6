"""Preparing connectomes for model fitting: binarising, distances, aligning stages.

:func:`binary_at_density` keeps the strongest connections of a dense (tractography)
matrix, :func:`constant_distances` stands in for missing node positions (topology-only
fits) and :func:`align_connectomes` puts two developmental stages on one node set.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_float, check_int, check_matrix, distance_matrix

__all__ = ["constant_distances", "binary_at_density", "align_connectomes"]


def constant_distances(n: int) -> np.ndarray:
    """All-ones distance matrix with a zero diagonal, for data without node positions.

    With it, the distance factor of every wiring rule is the same for every pair, so a fit
    is a fit of the topological term alone (``eta`` has no effect) and the edge-length
    part of the energy is zero. Use it for datasets that lack coordinates rather than
    inventing positions.

    Examples
    --------
    >>> constant_distances(3)
    array([[0., 1., 1.],
           [1., 0., 1.],
           [1., 1., 0.]])
    """
    n = check_int(n, "n", minimum=2)
    D = np.ones((n, n))
    np.fill_diagonal(D, 0.0)
    return D


def binary_at_density(W, density: float) -> np.ndarray:
    """Keep the strongest undirected connections of ``W`` so that ``density`` of pairs are edges.

    Tractography matrices (e.g. the mouse DTI data) link most region pairs by at least one
    streamline; fitting a generative model to such a dense matrix measures little. The pair
    weight is ``max(W_ij, W_ji)``; pairs are ranked by it (ties broken by pair index, so
    the result is deterministic) and the top ``round(density * n(n-1)/2)`` non-zero pairs
    are kept.

    Parameters
    ----------
    W : array_like, shape (n, n)
        Non-negative weights (directed or not).
    density : float in (0, 1]
        Target fraction of connected pairs.

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric 0/1 float matrix, zero diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[0, 5, 1], [5, 0, 2], [1, 2, 0]])
    >>> binary_at_density(W, 1 / 3)
    array([[0., 1., 0.],
           [1., 0., 0.],
           [0., 0., 0.]])
    """
    from ..metrics import keep_strongest

    M = check_matrix(W, "W", nonnegative=True)
    density = check_float(density, "density", minimum=0.0, maximum=1.0)
    if density == 0.0:
        raise ValueError(f"'density' must be > 0; got {density}")
    return keep_strongest(M, density, combine="max", strict=True)


def align_connectomes(earlier, later, nodes: str = "common"):
    """Put two connectomes (e.g. consecutive developmental stages) on one node set.

    Parameters
    ----------
    earlier, later : Connectome
        The two datasets; both need positions (the distance matrix comes from them).
    nodes : {"common", "union"}
        ``"common"``: only nodes present in both (the default: no node is ever judged on
        connections it could not have had). ``"union"``: every node of either; a node
        missing from one dataset is unconnected there (it may be unborn or outside the
        reconstructed volume).

    Returns
    -------
    A_earlier, A_later : ndarray, shape (n, n)
        Symmetric binary networks (:meth:`Connectome.binary`) on the aligned nodes.
    D : ndarray, shape (n, n)
        Euclidean distances between the aligned nodes, in the datasets' position unit.
    labels : list of str
        The aligned node labels (order of ``earlier``, then nodes only in ``later``).

    Examples
    --------
    >>> from mesoscale import connectomes
    >>> a, b = connectomes.load("celegans_witvliet_1"), connectomes.load("celegans_witvliet_2")
    >>> A1, A2, D, labels = align_connectomes(a, b)
    >>> A1.shape == A2.shape == D.shape == (len(labels), len(labels))
    True
    """
    if nodes not in ("common", "union"):
        raise ValueError(f"'nodes' must be one of ['common', 'union']; got {nodes!r}")
    for name, c in (("earlier", earlier), ("later", later)):
        if not hasattr(c, "binary") or not hasattr(c, "labels"):
            raise TypeError(f"'{name}' must be a Connectome; got {type(c).__name__}")
        if c.positions is None:
            raise ValueError(f"'{name}' ({c.name}) has no positions; distances are needed for alignment")
    in_later = set(later.labels)
    in_earlier = set(earlier.labels)
    if nodes == "common":
        labels = [x for x in earlier.labels if x in in_later]
    else:
        labels = list(earlier.labels) + [x for x in later.labels if x not in in_earlier]
    if len(labels) < 2:
        raise ValueError(f"'earlier' and 'later' share {len(labels)} nodes; nothing to align")
    n = len(labels)
    pos = np.full((n, 3), np.nan)
    out = []
    for c in (earlier, later):
        idx = {x: i for i, x in enumerate(c.labels)}
        Bc = c.binary()
        A = np.zeros((n, n))
        here = np.array([x in idx for x in labels])
        src = np.array([idx[x] for x in labels if x in idx])
        where = np.flatnonzero(here)
        A[np.ix_(where, where)] = Bc[np.ix_(src, src)]
        todo = here & np.isnan(pos[:, 0])
        pos[todo] = c.positions[[idx[labels[i]] for i in np.flatnonzero(todo)]]
        out.append(A)
    if not np.all(np.isfinite(pos)):
        who = [labels[i] for i in np.flatnonzero(~np.all(np.isfinite(pos), axis=1))[:5]]
        raise ValueError(f"aligned nodes without positions: {who}")
    return out[0], out[1], distance_matrix(pos), labels
