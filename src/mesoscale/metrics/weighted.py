"""Statistics of weighted networks and the weighted generative-model energy.

The weighted counterparts of the four statistics of :func:`~mesoscale.metrics.ks_energy`
(Akarca et al. 2023), all computed on the weights divided by the network's largest weight
(``W / max W``: the comparison ignores the unit of the weights -- synapse counts, streamline
densities or the dimensionless weights of a model):

* **strength** ``s_i = sum_j W_ij``;
* **weighted clustering** (Onnela et al. 2005, as ``bct.clustering_coef_wu``):
  ``c_i = sum_jk (W_ij W_jk W_ki)^(1/3) / (k_i (k_i - 1))``, ``k_i`` the number of non-zero
  weights of node ``i``;
* **weighted betweenness**: Brandes' count of shortest paths over every ordered pair of end
  points (as ``bct.betweenness_wei``), on the connection *lengths* ``1 / W_ij`` -- the BCT
  convention that a strong connection is a short one (Akarca's original code passes the
  weights themselves as lengths; we do not);
* **weighted edge length**: the distribution of the lengths ``D_ij`` of the edges, each edge
  counted in proportion to its weight (a weighted empirical distribution function).

Each is compared with the target's by a two-sample Kolmogorov-Smirnov statistic
(:func:`weighted_ks_statistic` for the weighted edge lengths), and the energy is the largest
of the four. When every weight of a network is equal, the four statistics are the degree,
binary clustering, binary betweenness and the edge-length sample of
:func:`~mesoscale.metrics.network_statistics`, so :func:`weighted_ks_energy` equals
:func:`~mesoscale.metrics.ks_energy` on such networks: the weighted energy contains the
binary one. Pairs whose weight is 0 are not edges here, even when a model keeps them on its
binary support (a weight clipped to zero).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._validation import check_distance, check_n_jobs, square_batch
from .energy import BETWEENNESS_RTOL, ks_statistic

__all__ = [
    "WEIGHTED_KS_COLUMNS",
    "check_weights",
    "weighted_statistics",
    "weighted_ks_statistic",
    "weighted_ks_energy",
]

#: Column names of the array returned by :func:`weighted_ks_energy`.
WEIGHTED_KS_COLUMNS = (
    "ks_strength",
    "ks_weighted_clustering",
    "ks_weighted_betweenness",
    "ks_weighted_edge_length",
    "energy",
)

#: Relative tolerance under which two path lengths count as equal (tied shortest paths).
PATH_RTOL = 1e-12


def check_weights(weights, name: str = "weights", *, n: int | None = None) -> np.ndarray:
    """A batch of weighted undirected networks as float64 ``(B, n, n)``, checked.

    Finite, non-negative, symmetric, zero diagonal; a single ``(n, n)`` matrix gives ``B = 1``.
    A ValueError names the argument, the network and the first bad entry.

    Examples
    --------
    >>> check_weights([[0, 2], [2, 0]]).shape
    (1, 2, 2)
    >>> check_weights([[0, -1], [-1, 0]])
    Traceback (most recent call last):
    ...
    ValueError: 'weights'[0] has a negative weight -1.0 at (0, 1)
    """
    W = np.asarray(weights)
    if W.dtype == bool:
        W = W.astype(float)
    if not np.issubdtype(W.dtype, np.number):
        raise TypeError(f"'{name}' must be a numeric array; got dtype {W.dtype}")
    W = square_batch(np.asarray(W, dtype=np.float64), name, n=n)
    bad = ~np.isfinite(W)
    if bad.any():
        b, i, j = np.argwhere(bad)[0]
        raise ValueError(f"'{name}'[{b}] has a non-finite weight {W[b, i, j]} at ({i}, {j})")
    if np.any(W < 0):
        b, i, j = np.argwhere(W < 0)[0]
        raise ValueError(f"'{name}'[{b}] has a negative weight {W[b, i, j]} at ({i}, {j})")
    asym = np.abs(W - np.swapaxes(W, 1, 2)) > 1e-10 * np.maximum(1.0, np.abs(W))
    if asym.any():
        b, i, j = np.argwhere(asym)[0]
        raise ValueError(f"'{name}'[{b}] is not symmetric: [{i},{j}]={W[b, i, j]} but [{j},{i}]={W[b, j, i]}")
    idx = np.arange(W.shape[1])
    if np.any(W[:, idx, idx] != 0):
        b, i = np.argwhere(W[:, idx, idx] != 0)[0]
        raise ValueError(f"'{name}'[{b}] has a non-zero diagonal entry at ({i}, {i})")
    return np.ascontiguousarray(W)


@njit(cache=True, nogil=True)
def _betweenness_one(L, nbr, deg, rtol, out):
    """Brandes' betweenness on lengths ``L`` (adjacency lists ``nbr``/``deg``), O(n^2) Dijkstra per source."""
    n = L.shape[0]
    dist = np.empty(n)
    sigma = np.empty(n)
    delta = np.empty(n)
    done = np.zeros(n, np.bool_)
    order = np.empty(n, np.int64)
    for v in range(n):
        out[v] = 0.0
    for s in range(n):
        for v in range(n):
            dist[v] = np.inf
            sigma[v] = 0.0
            delta[v] = 0.0
            done[v] = False
        dist[s] = 0.0
        sigma[s] = 1.0
        cnt = 0
        while True:
            v = -1
            best = np.inf
            for u in range(n):
                if not done[u] and dist[u] < best:
                    best = dist[u]
                    v = u
            if v < 0:
                break
            done[v] = True
            order[cnt] = v
            cnt += 1
            for p in range(deg[v]):
                w = nbr[v, p]
                if done[w]:
                    continue
                nd = dist[v] + L[v, w]
                dw = dist[w]
                if nd < dw - rtol * nd:  # strictly shorter: the paths through v replace the old ones
                    dist[w] = nd
                    sigma[w] = sigma[v]
                elif nd <= dw + rtol * nd:  # tied
                    sigma[w] += sigma[v]
        for h in range(cnt - 1, 0, -1):  # dependencies, farthest node first
            w = order[h]
            coef = (1.0 + delta[w]) / sigma[w]
            for p in range(deg[w]):
                v = nbr[w, p]
                dv = dist[v]
                if dv < dist[w] and abs(dv + L[v, w] - dist[w]) <= rtol * dist[w]:
                    delta[v] += sigma[v] * coef
            out[w] += delta[w]


def _betweenness(Wn):
    """Weighted betweenness of one max-normalised weight matrix (lengths 1 / W on its edges)."""
    n = Wn.shape[0]
    edges = Wn > 0
    L = np.zeros_like(Wn)
    L[edges] = 1.0 / Wn[edges]
    deg = edges.sum(axis=1).astype(np.int64)
    nbr = np.zeros((n, max(1, int(deg.max()) if n else 1)), np.int64)
    for i in range(n):
        idx = np.flatnonzero(edges[i])
        nbr[i, : idx.size] = idx
    out = np.zeros(n)
    _betweenness_one(L, nbr, deg, PATH_RTOL, out)
    return out


def _normalised(W):
    top = W.max(axis=(1, 2), keepdims=True)
    return np.divide(W, top, out=np.zeros_like(W), where=top > 0)


def weighted_statistics(weights, D) -> dict:
    """Strength, weighted clustering, weighted betweenness and weighted edge lengths of each network.

    Parameters
    ----------
    weights : array_like, shape (B, n, n) or (n, n)
        Symmetric non-negative weights with a zero diagonal (a boolean network is all-ones weights).
        Every network is divided by its largest weight first.
    D : array_like, shape (n, n)
        Distances between the nodes.

    Returns
    -------
    dict
        ``strength``, ``clustering``, ``betweenness``, ``node_length`` (``sum_j W_ij D_ij``, the
        weighted wiring length of each node): float arrays (B, n); ``edge_length`` and
        ``edge_weight``: lists of B arrays, the lengths ``D_ij`` and normalised weights of the
        edges ``i < j`` with ``W_ij > 0`` (row-major order).

    Examples
    --------
    >>> W = np.array([[0, 2, 1], [2, 0, 1], [1, 1, 0]], float)
    >>> s = weighted_statistics(W, np.ones((3, 3)) - np.eye(3))
    >>> s["strength"][0].tolist(), s["betweenness"][0].tolist()
    ([1.5, 1.5, 1.0], [0.0, 0.0, 0.0])
    """
    W = _normalised(check_weights(weights))
    B, n = W.shape[0], W.shape[1]
    Dm = check_distance(D, n)
    edges = W > 0
    k = edges.sum(axis=2).astype(float)
    cube = np.cbrt(W)
    cyc3 = np.einsum("bij,bji->bi", cube @ cube, cube)
    denom = k * (k - 1.0)
    clustering = np.divide(cyc3, denom, out=np.zeros_like(cyc3), where=(cyc3 > 0) & (denom > 0))
    iu = np.triu_indices(n, 1)
    upper = edges[:, iu[0], iu[1]]
    return {
        "strength": W.sum(axis=2),
        "clustering": clustering,
        "betweenness": np.stack([_betweenness(W[b]) for b in range(B)]) if B else np.zeros((0, n)),
        "node_length": (W * Dm).sum(axis=2),
        "edge_length": [Dm[iu][upper[b]] for b in range(B)],
        "edge_weight": [W[b][iu][upper[b]] for b in range(B)],
    }


def weighted_ks_statistic(x, y, x_weights=None, y_weights=None) -> float:
    """Two-sample KS statistic ``sup |F_x - F_y|`` of weighted empirical distribution functions.

    ``F_x(v)`` is the share of the total weight of ``x`` carried by the values ``<= v``. Without
    weights (or with equal weights) this is :func:`~mesoscale.metrics.ks_statistic`. Two empty
    samples (or zero total weights) give 0, one gives 1.

    Examples
    --------
    >>> weighted_ks_statistic([1, 2, 3], [1, 2, 3], [1, 1, 1], [2, 2, 2])
    0.0
    >>> weighted_ks_statistic([1, 2], [1, 2], [3, 1], [1, 3])
    0.5
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    wx = np.ones_like(x) if x_weights is None else np.asarray(x_weights, dtype=np.float64).ravel()
    wy = np.ones_like(y) if y_weights is None else np.asarray(y_weights, dtype=np.float64).ravel()
    for name, v, w in (("x", x, wx), ("y", y, wy)):
        if w.shape != v.shape:
            raise ValueError(f"'{name}_weights' must have one weight per value of '{name}'; got {w.shape} for {v.shape}")
        if not (np.all(np.isfinite(v)) and np.all(np.isfinite(w))) or np.any(w < 0):
            raise ValueError(f"'{name}' and its weights must be finite, the weights non-negative")
    tx, ty = wx.sum(), wy.sum()
    if tx <= 0 and ty <= 0:
        return 0.0
    if tx <= 0 or ty <= 0:
        return 1.0
    grid = np.union1d(x, y)

    def cdf(v, w, total):
        o = np.argsort(v, kind="stable")
        c = np.concatenate([[0.0], np.cumsum(w[o])]) / total
        return c[np.searchsorted(v[o], grid, side="right")]

    return float(np.max(np.abs(cdf(x, wx, tx) - cdf(y, wy, ty))))


def _ks_row(s, t):
    return (
        ks_statistic(s["strength"], t["strength"]),
        ks_statistic(s["clustering"], t["clustering"]),
        ks_statistic(s["betweenness"], t["betweenness"], rtol=BETWEENNESS_RTOL),
        weighted_ks_statistic(s["edge_length"], t["edge_length"], s["edge_weight"], t["edge_weight"]),
    )


def weighted_ks_energy(weights, target, D, *, n_jobs=None) -> np.ndarray:
    """Weighted KS statistics and energy of each network against a weighted target (Akarca et al. 2023).

    Parameters
    ----------
    weights : array_like, shape (B, n, n) or (n, n)
        Weighted networks (symmetric, non-negative, zero diagonal); boolean networks count as
        all-ones weights.
    target : array_like, shape (n, n)
        The observed weighted network (e.g. synapse counts or streamline weights).
    D : array_like, shape (n, n)
        Distances between the nodes.
    n_jobs : int or None
        Threads over networks (the betweenness kernel releases the GIL); the result does not
        depend on it.

    Returns
    -------
    ndarray, shape (B, 5)
        Columns :data:`WEIGHTED_KS_COLUMNS`: KS statistics of strength, weighted clustering,
        weighted betweenness and weighted edge length, and the energy (their maximum).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A = np.triu(rng.random((20, 20)) < 0.3, 1); A = A | A.T
    >>> D = np.abs(np.subtract.outer(np.arange(20.0), np.arange(20.0)))
    >>> from mesoscale.metrics import ks_energy
    >>> bool(np.allclose(weighted_ks_energy(A, A * 3.0, D), ks_energy(A, A, D)))  # equal weights: the binary energy
    True
    >>> W = A * rng.random((20, 20)); W = np.triu(W, 1) + np.triu(W, 1).T
    >>> float(weighted_ks_energy(W, W, D)[0, -1])
    0.0
    """
    T = check_weights(target, "target")
    n = T.shape[1]
    W = check_weights(weights, n=n)
    Dm = check_distance(D, n)
    jobs = check_n_jobs(n_jobs) or 1
    t = {k: v[0] for k, v in weighted_statistics(T, Dm).items()}
    out = np.empty((W.shape[0], 5))

    def run(b):
        s = {k: v[0] for k, v in weighted_statistics(W[b], Dm).items()}
        row = _ks_row(s, t)
        out[b, :4] = row
        out[b, 4] = max(row)

    if jobs == 1 or W.shape[0] < 2:
        for b in range(W.shape[0]):
            run(b)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(jobs, W.shape[0])) as pool:
            list(pool.map(run, range(W.shape[0])))
    return out
