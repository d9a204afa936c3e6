"""Spectral community detection that reaches the detectability threshold, and the overlap.

Plain spectral methods (adjacency, Laplacian, modularity matrix) fail on sparse graphs well
above the detectability threshold: high-degree nodes and dangling trees produce localised
eigenvectors that swamp the informative ones. The *Bethe Hessian*
``H(r) = (r**2 - 1) I - r A + D`` (Saade, Krzakala & Zdeborová 2014) is a symmetric,
sparse relative of the non-backtracking matrix (Krzakala et al. 2013). With
``r = sqrt(<k**2>/<k> - 1)`` (the square root of the non-backtracking spectral radius) its
negative eigenvalues correspond to communities, and clustering the eigenvectors of those
eigenvalues recovers the planted groups all the way down to the Kesten--Stigum threshold
``|c_in - c_out| = q sqrt(c)`` of Decelle et al. (2011). That is why it is the detector of
:mod:`mesoscale.theory`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.optimize import linear_sum_assignment

from .._validation import as_rng, check_float, check_int

__all__ = ["bethe_hessian", "bethe_hessian_partition", "overlap"]


def _as_sparse_adjacency(A, name: str = "A") -> sp.csr_array:
    if sp.issparse(A):
        M = sp.csr_array(A, dtype=np.float64)
        if M.ndim != 2 or M.shape[0] != M.shape[1]:
            raise ValueError(f"'{name}' must be a square matrix; got shape {M.shape}")
        if M.nnz and not np.all(np.isfinite(M.data)):
            raise ValueError(f"'{name}' contains non-finite values")
        if M.nnz and np.any(M.data < 0):
            raise ValueError(f"'{name}' contains negative values")
        if (abs(M - M.T) > 1e-10).nnz:
            raise ValueError(f"'{name}' must be symmetric (undirected)")
        if np.any(M.diagonal() != 0):
            i = int(np.flatnonzero(M.diagonal())[0])
            raise ValueError(f"'{name}' must have a zero diagonal; {name}[{i},{i}]={M.diagonal()[i]}")
        M.data[:] = 1.0  # binary: any non-zero weight counts as an edge
        M.eliminate_zeros()
        return M
    from .._validation import check_adjacency

    return sp.csr_array(check_adjacency(A, name, binary=True))


def bethe_hessian(A, r: float | None = None) -> sp.csr_array:
    """The Bethe Hessian ``H(r) = (r**2 - 1) I - r A + D`` of an undirected graph.

    Parameters
    ----------
    A : (n, n) array_like or sparse matrix
        Symmetric adjacency (weights are binarised).
    r : float, optional
        Regulariser; default ``sqrt(<k**2>/<k> - 1)`` (the square root of the spectral radius of
        the non-backtracking matrix of a graph with this degree sequence), or ``sqrt(<k>)`` when
        that is not defined.

    Returns
    -------
    H : (n, n) csr_array

    Examples
    --------
    >>> import numpy as np
    >>> H = bethe_hessian(np.array([[0, 1], [1, 0]]), r=2.0)
    >>> H.toarray().tolist()
    [[4.0, -2.0], [-2.0, 4.0]]
    """
    M = _as_sparse_adjacency(A)
    k = np.asarray(M.sum(axis=1)).ravel()
    if r is None:
        r = _default_r(k)
    else:
        r = check_float(r, "r")
    return sp.csr_array(sp.diags_array((r * r - 1.0) + k) - r * M)


def _default_r(k: np.ndarray) -> float:
    mean_k = k.mean() if k.size else 0.0
    if mean_k <= 0:
        raise ValueError("the graph has no edges; the Bethe Hessian is not informative")
    ratio = (k**2).mean() / mean_k - 1.0
    return float(math.sqrt(ratio)) if ratio > 1.0 else float(math.sqrt(max(mean_k, 1.0 + 1e-9)))


def bethe_hessian_partition(
    A,
    q: int,
    seed=None,
    *,
    r: float | None = None,
    n_init: int = 4,
    return_info: bool = False,
):
    """Split a graph into ``q`` groups with the Bethe Hessian (spectral, near-optimal on SBMs).

    The ``q`` algebraically smallest eigenvectors of :func:`bethe_hessian` are computed with
    ARPACK (``scipy.sparse.linalg.eigsh``); their rows are clustered into ``q`` groups with
    k-means (``n_init`` restarts with k-means++ seeding, keeping the lowest inertia). Graphs of
    at most 300 nodes use a dense eigensolver.

    Parameters
    ----------
    A : (n, n) array_like or sparse matrix
        Symmetric adjacency.
    q : int
        Number of groups (2 <= q < n).
    seed : None, int, SeedSequence or Generator
        Randomness of the eigensolver start vector and of k-means.
    r : float, optional
        Bethe-Hessian regulariser (see :func:`bethe_hessian`).
    n_init : int, default 4
        k-means restarts.
    return_info : bool, default False
        Also return a dict with the eigenvalues, ``r`` and the number of negative eigenvalues
        (an estimate of the number of detectable groups).

    Returns
    -------
    labels : (n,) ndarray of int
    info : dict, only with ``return_info=True``

    Examples
    --------
    >>> from mesoscale.theory import planted_partition, overlap
    >>> A, truth = planted_partition(2000, 2, 9.0, 1.0, seed=0)
    >>> labels = bethe_hessian_partition(A, 2, seed=0)
    >>> bool(overlap(truth, labels) > 0.8)
    True
    """
    M = _as_sparse_adjacency(A)
    n = M.shape[0]
    q = check_int(q, "q", minimum=2)
    if q >= n:
        raise ValueError(f"'q' must be smaller than the number of nodes {n}; got {q}")
    n_init = check_int(n_init, "n_init", minimum=1)
    rng = as_rng(seed)
    k = np.asarray(M.sum(axis=1)).ravel()
    r = _default_r(k) if r is None else check_float(r, "r")
    H = sp.csr_array(sp.diags_array((r * r - 1.0) + k) - r * M)
    n_vec = q
    if n <= max(300, 4 * n_vec + 2):
        vals, vecs = np.linalg.eigh(H.toarray())
        vals, vecs = vals[:n_vec], vecs[:, :n_vec]
    else:
        v0 = rng.standard_normal(n)
        vals, vecs = spla.eigsh(H, k=n_vec, which="SA", v0=v0, tol=1e-6, maxiter=50 * n)
        order = np.argsort(vals)
        vals, vecs = vals[order], vecs[:, order]
    labels = _kmeans(vecs, q, rng, n_init)
    if return_info:
        return labels, {"eigenvalues": vals, "r": r, "n_negative": int(np.sum(vals < 0))}
    return labels


def _kmeans(X: np.ndarray, q: int, rng: np.random.Generator, n_init: int,
            max_iter: int = 100) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding; the restart with the lowest inertia wins."""
    X = X / (np.linalg.norm(X, axis=0, keepdims=True) + 1e-300) * math.sqrt(X.shape[0])
    n = X.shape[0]
    sq = np.einsum("ij,ij->i", X, X)
    best, best_inertia = None, np.inf
    for _ in range(n_init):
        centres = np.empty((q, X.shape[1]))
        centres[0] = X[rng.integers(n)]
        d2 = np.sum((X - centres[0]) ** 2, axis=1)
        for j in range(1, q):
            tot = d2.sum()
            i = rng.choice(n, p=d2 / tot) if tot > 0 else rng.integers(n)
            centres[j] = X[i]
            d2 = np.minimum(d2, np.sum((X - centres[j]) ** 2, axis=1))
        labels = np.full(n, -1)
        for _it in range(max_iter):
            dist = sq[:, None] - 2.0 * X @ centres.T + np.einsum("ij,ij->i", centres, centres)[None]
            new = np.argmin(dist, axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            for j in range(q):
                members = labels == j
                centres[j] = X[members].mean(axis=0) if members.any() else X[rng.integers(n)]
        inertia = float(np.sum(np.min(dist, axis=1)))
        if inertia < best_inertia:
            best, best_inertia = labels.copy(), inertia
    return best.astype(np.int64)


def overlap(labels_true, labels_pred) -> float:
    """Decelle et al.'s overlap between a planted and a detected partition.

    ``(max_pi frac(labels_pred == pi(labels_true)) - 1/q) / (1 - 1/q)`` where ``pi`` runs over the
    matchings of detected to planted groups (found with the Hungarian algorithm) and ``q`` is the
    number of planted groups. It is 1 for perfect recovery and about 0 for a random guess
    (slightly positive at finite ``n``, of order ``n**-1/2``, because of the maximisation).

    Examples
    --------
    >>> overlap([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    >>> overlap([0, 0, 1, 1], [0, 1, 0, 1])
    0.0
    """
    t = np.asarray(labels_true)
    p = np.asarray(labels_pred)
    if t.ndim != 1 or p.ndim != 1:
        raise ValueError(f"labels must be 1-D; got shapes {t.shape} and {p.shape}")
    if t.shape != p.shape:
        raise ValueError(
            f"'labels_true' and 'labels_pred' must have the same length; got {t.size} and {p.size}"
        )
    if t.size == 0:
        raise ValueError("'labels_true' is empty")
    tu, ti = np.unique(t, return_inverse=True)
    pu, pi = np.unique(p, return_inverse=True)
    q = tu.size
    if q < 2:
        raise ValueError(f"'labels_true' must contain at least 2 groups; got {q}")
    C = np.zeros((q, pu.size))
    np.add.at(C, (ti, pi), 1.0)
    row, col = linear_sum_assignment(-C)
    frac = C[row, col].sum() / t.size
    return float((frac - 1.0 / q) / (1.0 - 1.0 / q))
