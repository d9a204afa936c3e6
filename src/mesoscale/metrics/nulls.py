"""Null models: randomised networks that keep some properties of an observed one.

Three null models, each returning one randomised network of the same shape and dtype:

``"degree"``
    Degree-preserving rewiring (Maslov & Sneppen 2002): double-edge swaps
    ``(a-b, c-d) -> (a-d, c-b)`` (directed: ``(a->b, c->d) -> (a->d, c->b)``) in one numba
    kernel, about ``itr`` successful swaps per edge as in bctpy's ``randmio_und``. bctpy's own
    functions are not used: ``randmio_und`` is a pure-Python loop (about 20 s per null of a
    5,000-edge network) and 0.6.1's ``randmio_dir`` does not preserve in-degrees (it updates
    the wrong end of a rewired edge in its edge list). Weights travel with their edges.
``"density"``
    Same number of nodes and edges, edges placed uniformly at random (G(n, m)); the
    observed edge weights are shuffled over the new edges.
``"spatial"``
    Degree-preserving rewiring that also keeps the edge-length distribution: a double-edge
    swap ``(a-b, c-d) -> (a-d, c-b)`` is accepted only if the lengths of the two new edges
    fall in the same length bins as the two old ones, so the histogram of edge lengths over
    ``n_bins`` equal-count bins (and the range of lengths) is preserved exactly.
``"strength"``
    For dense weighted undirected networks (tractography), where almost every pair is an edge
    and degree-preserving swaps change nothing: the topology is kept, the edge weights are
    shuffled over the edges, and iterative proportional fitting (``w_ij <- w_ij sqrt(r_i r_j)``,
    ``r`` the ratio of each node's target to current strength) restores every node's strength
    to a relative error of at most :data:`STRENGTH_RTOL`. The modules carried by *which* pairs
    are strong are destroyed; the strength sequence is kept.

How an observed value is compared with its null values (z, ΔQ with its interval, empirical
p) is :mod:`mesoscale.metrics.significance`; networks in pieces are flagged by
:mod:`mesoscale.metrics.fragmentation`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._validation import (
    as_rng,
    check_choice,
    check_distance,
    check_int,
    check_network,
)

__all__ = ["NULL_MODELS", "STRENGTH_RTOL", "null_network", "degree_preserving_swaps", "sparse_degree_swaps"]

NULL_MODELS = ("degree", "density", "spatial", "strength")

#: Largest relative error of a node strength that the ``"strength"`` null leaves.
STRENGTH_RTOL = 1e-6


@njit(cache=True)
def _swap_candidate(ei, ej, r1, r2, flips, t, flip):
    """The edges and end points of attempt ``t``: ``(a-b, c-d)``, ``c``/``d`` exchanged by the coin when
    ``flip`` (undirected); ``ok`` is False when the two edges coincide or share an end point."""
    e1 = r1[t]
    e2 = r2[t]
    a = ei[e1]
    b = ej[e1]
    c = ei[e2]
    d = ej[e2]
    if flip and flips[t]:
        c, d = d, c
    ok = e1 != e2 and a != c and a != d and b != c and b != d
    return ok, e1, e2, a, b, c, d


@njit(cache=True)
def _swap_kernel(W, ei, ej, bins, directed, use_bins, forbidden, use_forbidden, r1, r2, flips, target, done):
    """Double-edge swaps on ``W`` in place; returns (successful swaps, attempts used).

    ``ei, ej`` list the edges (i < j if undirected). ``r1, r2, flips`` are pre-drawn random
    edge indices and coin flips (one per attempt); ``bins[i, j]`` is the length bin of a pair;
    a swap never creates a pair with ``forbidden[i, j]`` set (when ``use_forbidden``).
    """
    used = 0
    for t in range(r1.shape[0]):
        if done >= target:
            break
        used += 1
        ok, e1, e2, a, b, c, d = _swap_candidate(ei, ej, r1, r2, flips, t, not directed)
        if not ok:
            continue
        if W[a, d] != 0 or W[c, b] != 0:
            continue
        if use_forbidden and (forbidden[a, d] or forbidden[c, b]):
            continue
        if use_bins:
            o1 = bins[a, b]
            o2 = bins[c, d]
            n1 = bins[a, d]
            n2 = bins[c, b]
            if not ((o1 == n1 and o2 == n2) or (o1 == n2 and o2 == n1)):
                continue
        wab = W[a, b]
        wcd = W[c, d]
        W[a, d] = wab
        W[c, b] = wcd
        W[a, b] = 0
        W[c, d] = 0
        if not directed:
            W[d, a] = wab
            W[b, c] = wcd
            W[b, a] = 0
            W[d, c] = 0
        # edge e1 becomes a-d, e2 becomes c-b (kept as i<j for undirected)
        if directed or a < d:
            ei[e1] = a
            ej[e1] = d
        else:
            ei[e1] = d
            ej[e1] = a
        if directed or c < b:
            ei[e2] = c
            ej[e2] = b
        else:
            ei[e2] = b
            ej[e2] = c
        done += 1
    return done, used


def _length_bins(M, Dm, directed: bool, n_bins: int) -> np.ndarray:
    """Bin index of every pair: equal-count bins of the observed edge lengths; -1/n_bins outside."""
    mask = M != 0 if directed else np.triu(M != 0, 1)
    lengths = Dm[mask]
    inner = np.quantile(lengths, np.linspace(0, 1, n_bins + 1)[1:-1])
    bins = np.searchsorted(inner, Dm, side="right").astype(np.int64)
    bins[Dm < lengths.min()] = -1
    bins[Dm > lengths.max()] = n_bins
    return bins


def _rewire(M, Dm, directed, itr, n_bins, rng, max_attempts_factor=100, forbidden=None):
    """Double-edge swaps until ``itr * m`` succeeded (or the attempt budget is spent).

    With ``Dm`` given, only swaps that keep every edge-length bin count are accepted; with
    ``forbidden`` (boolean, shape of ``M``), no swap creates a forbidden pair.
    """
    W = M.copy()
    if directed:
        ei, ej = np.nonzero(W)
    else:
        ei, ej = np.nonzero(np.triu(W, 1))
    ei = ei.astype(np.int64)
    ej = ej.astype(np.int64)
    m = ei.shape[0]
    if m < 2:
        return W
    use_bins = Dm is not None
    bins = _length_bins(W, Dm, directed, n_bins) if use_bins else np.zeros((1, 1), np.int64)
    use_forbidden = forbidden is not None
    forbid = np.ascontiguousarray(forbidden, dtype=np.bool_) if use_forbidden else np.zeros((1, 1), np.bool_)
    target = itr * m
    budget = max_attempts_factor * target
    done = 0
    chunk = max(4 * target, 1024)
    while done < target and budget > 0:
        size = min(chunk, budget)
        r1 = rng.integers(0, m, size)
        r2 = rng.integers(0, m, size)
        flips = rng.random(size) < 0.5
        done, used = _swap_kernel(
            W, ei, ej, bins, directed, use_bins, forbid, use_forbidden, r1, r2, flips, target, done
        )
        budget -= used
    return W


def _swappable(M) -> bool:
    """Whether an undirected network has two edges with four distinct end points.

    Without such a pair no double-edge swap exists, and ``bct.randmio_und`` would loop forever
    looking for one (stars, triangles, single edges).
    """
    ei, ej = np.nonzero(np.triu(M, 1))
    if ei.size < 2:
        return False
    a, b = ei[0], ej[0]
    if np.any((ei != a) & (ei != b) & (ej != a) & (ej != b)):
        return True
    # every edge touches a or b: a-x and b-y with x != y are disjoint
    xa = set(np.where(ei == a, ej, np.where(ej == a, ei, -1)).tolist()) - {-1, b}
    xb = set(np.where(ei == b, ej, np.where(ej == b, ei, -1)).tolist()) - {-1, a}
    return any(x != y for x in xa for y in xb)


def _randmio_und(M, itr, rng):
    """Undirected degree-preserving rewiring (the swaps of ``bct.randmio_und``, compiled).

    Networks that admit no swap at all (stars, triangles) are returned unchanged at once.
    """
    if not _swappable(M):
        return M.copy()
    return _rewire(M, None, False, itr, 1, rng)


def degree_preserving_swaps(A, itr: int = 10, *, forbidden=None, seed=None) -> np.ndarray:
    """Degree-preserving rewiring of an undirected network, optionally avoiding some pairs.

    Double-edge swaps ``(a-b, c-d) -> (a-d, c-b)`` (Maslov & Sneppen 2002) in the compiled
    kernel behind the ``"degree"`` null of :func:`null_network`, until about ``itr`` swaps per
    edge have succeeded (at most ``100 * itr * m`` attempts). A swap is rejected if it would
    create an existing edge, a self-loop or a pair marked in ``forbidden``, so every node keeps
    its degree and no forbidden pair is ever connected. Weights travel with their edges.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Symmetric network with a zero diagonal (binary or weighted).
    itr : int
        Successful swaps per edge to aim for.
    forbidden : array_like of bool, shape (n, n), optional
        Symmetric mask of pairs that must stay unconnected (e.g. edges of an earlier stage).
        Edges of ``A`` on forbidden pairs are allowed and may be swapped away.
    seed : int, SeedSequence or Generator, optional

    Returns
    -------
    ndarray, shape (n, n)
        The rewired network (``A``'s dtype).

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_numpy_array(nx.cycle_graph(10))
    >>> forbid = np.zeros((10, 10), bool); forbid[0, 5] = forbid[5, 0] = True
    >>> R = degree_preserving_swaps(A, 5, forbidden=forbid, seed=0)
    >>> bool((R.sum(0) == 2).all()), bool(R[0, 5] == 0), bool((R != A).any())
    (True, True, True)
    """
    M, _ = check_network(A, "A", directed=False)
    itr = check_int(itr, "itr", minimum=1)
    mask = None
    if forbidden is not None:
        mask = np.asarray(forbidden)
        if mask.shape != M.shape:
            raise ValueError(f"'forbidden' must have the shape of 'A' {M.shape}; got {mask.shape}")
        if mask.dtype != np.bool_:
            raise TypeError(f"'forbidden' must be a boolean mask; got dtype {mask.dtype}")
        if not np.array_equal(mask, mask.T):
            raise ValueError("'forbidden' must be symmetric (the network is undirected)")
    rng = as_rng(seed)
    if not _swappable(M):
        return M.copy()
    return _rewire(M, None, False, itr, 1, rng, forbidden=mask)


@njit(cache=True)
def _has(nbr, ptr, a, b):
    for t in range(ptr[a], ptr[a + 1]):
        if nbr[t] == b:
            return True
    return False


@njit(cache=True)
def _replace(nbr, ptr, a, old, new):
    for t in range(ptr[a], ptr[a + 1]):
        if nbr[t] == old:
            nbr[t] = new
            return


@njit(cache=True)
def _swap_edges(ei, ej, nbr, ptr, r1, r2, flips, target):
    """Double-edge swaps on an undirected edge list; ``nbr``/``ptr`` hold every node's neighbours (its degree
    is fixed, so each list keeps its length and an edge test is a scan of a short list)."""
    done = 0
    used = 0
    for t in range(r1.size):
        if done >= target:
            break
        used += 1
        ok, e1, e2, a, b, c, d = _swap_candidate(ei, ej, r1, r2, flips, t, True)
        if not ok or _has(nbr, ptr, a, d) or _has(nbr, ptr, c, b):
            continue
        _replace(nbr, ptr, a, b, d)
        _replace(nbr, ptr, b, a, c)
        _replace(nbr, ptr, c, d, b)
        _replace(nbr, ptr, d, c, a)
        ei[e1] = min(a, d)
        ej[e1] = max(a, d)
        ei[e2] = min(c, b)
        ej[e2] = max(c, b)
        done += 1
    return done, used


def sparse_degree_swaps(A, itr: int = 10, seed=None):
    """Degree-preserving rewiring of a sparse undirected network (double-edge swaps, no dense matrix).

    The swaps of the ``"degree"`` null on the edge list, every node's neighbour list kept in one
    compiled loop: ``(a-b, c-d) -> (a-d, c-b)`` unless that creates a self-loop or an existing edge,
    about ``itr`` successful swaps per edge (at most ``100 * itr * m`` attempts). For networks of
    tens of thousands of nodes, where :func:`null_network` would hold dense ``n x n`` matrices.

    Parameters
    ----------
    A : scipy.sparse matrix or array_like, shape (n, n)
        Symmetric, zero diagonal; any non-zero entry is an edge.
    itr : int
    seed : int, SeedSequence or Generator, optional

    Returns
    -------
    scipy.sparse.csr_array
        The rewired 0/1 network.

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_scipy_sparse_array(nx.cycle_graph(12), weight=None)
    >>> R = sparse_degree_swaps(A, 5, seed=0)
    >>> bool((np.asarray(R.sum(axis=1)).ravel() == 2).all()), bool((R != A).nnz > 0)
    (True, True)
    """
    import scipy.sparse as sp

    from .sparse import as_sparse_network

    M = as_sparse_network(A)
    itr = check_int(itr, "itr", minimum=1)
    rng = as_rng(seed)
    n = M.shape[0]
    U = sp.triu(M, k=1, format="coo")
    ei, ej = U.row.astype(np.int64), U.col.astype(np.int64)
    m = ei.size
    if m >= 2:
        ptr = M.indptr.astype(np.int64)
        nbr = M.indices.astype(np.int64).copy()
        target = itr * m
        budget = 100 * target
        done = 0
        while done < target and budget > 0:
            size = min(max(4 * (target - done), 1024), budget)
            r1 = rng.integers(0, m, size)
            r2 = rng.integers(0, m, size)
            flips = rng.random(size) < 0.5
            gained, used = _swap_edges(ei, ej, nbr, ptr, r1, r2, flips, target - done)
            done += gained
            budget -= used
            if gained == 0 and used == size:
                break  # no swap is possible (e.g. a star)
    R = sp.coo_array((np.ones(2 * m), (np.r_[ei, ej], np.r_[ej, ei])), shape=(n, n))
    return sp.csr_array(R.tocsr())


def _density_null(M, directed, rng):
    n = M.shape[0]
    W = np.zeros_like(M)
    if directed:
        rows, cols = np.nonzero(~np.eye(n, dtype=bool))
        weights = M[M != 0]
    else:
        rows, cols = np.triu_indices(n, 1)
        weights = M[np.triu_indices(n, 1)]
        weights = weights[weights != 0]
    pick = rng.choice(rows.shape[0], size=weights.shape[0], replace=False)
    W[rows[pick], cols[pick]] = rng.permutation(weights)
    if not directed:
        W = W + W.T
    return W


def _strength_null(M, rng, max_iter: int = 10000) -> np.ndarray:
    iu = np.triu_indices(M.shape[0], 1)
    w = M[iu]
    edges = np.flatnonzero(w)
    if np.ptp(w[edges]) == 0:
        raise ValueError("null='strength' needs weights that differ between edges (a binary network has nothing "
                         "to shuffle); use 'degree'")
    target = M.sum(axis=1)
    W = np.zeros_like(M)
    W[iu[0][edges], iu[1][edges]] = rng.permutation(w[edges])
    W = W + W.T
    for _ in range(max_iter):
        s = W.sum(axis=1)
        ratio = np.divide(target, s, out=np.ones_like(target), where=s > 0)
        if np.max(np.abs(ratio - 1.0)) <= STRENGTH_RTOL:
            return W
        f = np.sqrt(ratio)
        W *= f[:, None] * f[None, :]
    raise ValueError(f"null='strength': the strengths could not be matched within {STRENGTH_RTOL} "
                     f"after {max_iter} iterations (a node's strength is not reachable on its edges)")


def null_network(A, null: str = "degree", D=None, seed=None, *, itr: int = 10, n_bins: int = 10):
    """One randomised network under a null model.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Non-negative adjacency matrix (weighted or binary; directed if asymmetric). Self-loops
        stay where they are; only the off-diagonal edges are randomised. Degree-preserving
        rewiring keeps the *binary* degrees (weights travel with their edges) and cannot
        change a complete graph: use ``"density"`` or threshold dense weight matrices first.
    null : {"degree", "density", "spatial", "strength"}
        See the module docstring (``"strength"``: weighted undirected networks only).
    D : array_like, shape (n, n), optional
        Distances between nodes; required for ``"spatial"``.
    seed : None, int, SeedSequence or Generator
    itr : int, default 10
        Rewiring effort: each edge is rewired about ``itr`` times (``"degree"``, ``"spatial"``).
    n_bins : int, default 10
        Number of equal-count edge-length bins (``"spatial"``).

    Returns
    -------
    ndarray
        Same shape and dtype as ``A``.

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    >>> R = null_network(A, "degree", seed=0)
    >>> bool(np.array_equal(R.sum(0), A.sum(0))), bool((R != A).any())
    (True, True)
    """
    dtype = np.asarray(A).dtype
    M, directed = check_network(A)
    null = check_choice(null, "null", NULL_MODELS)
    itr = check_int(itr, "itr", minimum=1)
    n_bins = check_int(n_bins, "n_bins", minimum=1)
    loops = np.diag(M).copy()
    if np.any(loops != 0):
        M = M.copy()
        np.fill_diagonal(M, 0.0)
        if not np.any(M):
            raise ValueError("'A' has no edges besides self-loops; there is nothing to randomise")
    if null == "spatial":
        if D is None:
            raise ValueError("null='spatial' needs the distance matrix 'D'; got D=None")
        Dm = check_distance(D, M.shape[0])
    elif D is not None:
        check_distance(D, M.shape[0])
    rng = as_rng(seed)
    if null == "degree" and not directed:
        R = _randmio_und(M, itr, rng)
    elif null == "degree":
        # bct.randmio_dir (0.6.1) updates the wrong end of a swapped edge in its edge list
        # (``i[e1] = d`` instead of ``j[e1] = d``), so later swaps create and delete edges and
        # the degrees drift; the same Maslov-Sneppen swaps are done here correctly.
        R = _rewire(M, None, True, itr, n_bins, rng)
    elif null == "density":
        R = _density_null(M, directed, rng)
    elif null == "strength":
        if directed:
            raise ValueError("null='strength' is for undirected weighted networks; 'A' is not symmetric")
        R = _strength_null(M, rng)
    else:
        R = _rewire(M, Dm, directed, itr, n_bins, rng)
    np.fill_diagonal(R, loops)
    if dtype == bool:
        return R != 0
    return R.astype(dtype if np.issubdtype(dtype, np.number) else float)
