"""The generative-model energy of Betzel et al. (2016): four KS statistics and their maximum.

A synthetic network is compared with a target network through the distributions of four
node/edge statistics,

* degree (``bct.degrees_und``),
* clustering coefficient (``bct.clustering_coef_bu``),
* node betweenness centrality (``bct.betweenness_bin``: unnormalised, every ordered pair of
  end points counted, as bctpy and the MATLAB BCT count it),
* Euclidean edge length (``D[i, j]`` over the upper-triangle edges),

each compared with the target's as a two-sample Kolmogorov–Smirnov statistic (the largest
distance between the two empirical distribution functions, exactly what
:func:`scipy.stats.ks_2samp` reports as ``statistic``). The energy is the largest of the four.

All of it runs in one compiled numba kernel over a batch of networks: the generative-model
fitter evaluates it on 10^4–10^5 networks.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from .._validation import check_adjacency, check_batch, check_distance, check_n_jobs

__all__ = ["KS_COLUMNS", "ks_energy", "network_statistics", "ks_statistic"]

#: Column names of the array returned by :func:`ks_energy`.
KS_COLUMNS = ("ks_degree", "ks_clustering", "ks_betweenness", "ks_edge_length", "energy")

#: Betweenness values closer than this (relative) are the same value: bctpy and this kernel
#: add the same fractions in different orders, so equal centralities can differ in the last bits.
BETWEENNESS_RTOL = 1e-9

_CHUNK = 4096  # networks validated and evaluated at a time


@njit(cache=True, nogil=True)
def _ks_sorted(x, y, rtol):
    """Two-sample KS statistic of two *sorted* samples; values within ``rtol`` are ties."""
    nx = x.shape[0]
    ny = y.shape[0]
    if nx == 0 and ny == 0:
        return 0.0
    if nx == 0 or ny == 0:
        return 1.0
    i = 0
    j = 0
    d = 0.0
    while i < nx and j < ny:
        v = x[i] if x[i] < y[j] else y[j]
        thr = v + rtol * max(1.0, abs(v))
        while i < nx and x[i] <= thr:
            i += 1
        while j < ny and y[j] <= thr:
            j += 1
        diff = abs(i / nx - j / ny)
        if diff > d:
            d = diff
    return d


@njit(cache=True, inline="always")
def _popcount(x):
    """Number of set bits of a uint64 (SWAR)."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True, nogil=True)
def _stats_one(A, D, deg, clu, bet, lens):
    """Fill degree, clustering, betweenness (length n) and edge lengths; return the edge count.

    ``A`` is a symmetric boolean matrix with a zero diagonal. Neighbourhoods are kept as
    bit sets (one uint64 word per 64 nodes), so a BFS level is expanded word by word and
    Brandes' accumulation visits only the arcs between consecutive BFS levels.
    """
    n = A.shape[0]
    nw = (n + 63) // 64
    bits = np.zeros((n, nw), np.uint64)
    m = 0
    for i in range(n):
        c = 0
        for j in range(n):
            if A[i, j]:
                c += 1
                bits[i, j >> 6] |= np.uint64(1) << np.uint64(j & 63)
                if j > i:
                    lens[m] = D[i, j]
                    m += 1
        deg[i] = c
    # clustering: 2 * triangles / (k^2 - k), as bct.clustering_coef_bu computes it
    for u in range(n):
        k = int(deg[u])
        if k < 2:
            clu[u] = 0.0
            continue
        t = 0
        for w in range(nw):
            x = bits[u, w]
            while x:
                v = (w << 6) + np.int64(trailing_zeros(x))
                x &= x - np.uint64(1)
                for q in range(nw):
                    t += _popcount(bits[u, q] & bits[v, q])
        clu[u] = t / (k * k - k)  # t counts every triangle twice
    # betweenness: Brandes over every source, all ordered pairs counted
    for v in range(n):
        bet[v] = 0.0
    sigma = np.empty(n, np.float64)
    coef = np.empty(n, np.float64)
    order = np.empty(n, np.int64)
    lvl_start = np.empty(n + 2, np.int64)
    level = np.zeros((n + 1, nw), np.uint64)  # level[d] = bit set of the nodes at distance d
    seen = np.empty(nw, np.uint64)
    for s in range(n):
        for w in range(nw):
            seen[w] = 0
            level[0, w] = 0
        seen[s >> 6] = np.uint64(1) << np.uint64(s & 63)
        level[0, s >> 6] = seen[s >> 6]
        sigma[s] = 1.0
        order[0] = s
        lvl_start[0] = 0
        lvl_start[1] = 1
        d = 0
        tail = 1
        while True:
            # next level: neighbours of level d not seen yet
            any_new = False
            for w in range(nw):
                level[d + 1, w] = 0
            for h in range(lvl_start[d], lvl_start[d + 1]):
                v = order[h]
                for w in range(nw):
                    level[d + 1, w] |= bits[v, w]
            for w in range(nw):
                x = level[d + 1, w] & ~seen[w]
                level[d + 1, w] = x
                seen[w] |= x
                while x:
                    u = (w << 6) + np.int64(trailing_zeros(x))
                    x &= x - np.uint64(1)
                    order[tail] = u
                    tail += 1
                    any_new = True
            if not any_new:
                break
            d += 1
            lvl_start[d + 1] = tail
            # path counts from the predecessors (neighbours one level up)
            for h in range(lvl_start[d], tail):
                u = order[h]
                sg = 0.0
                for w in range(nw):
                    x = bits[u, w] & level[d - 1, w]
                    while x:
                        sg += sigma[(w << 6) + np.int64(trailing_zeros(x))]
                        x &= x - np.uint64(1)
                sigma[u] = sg
        # dependencies, deepest level first, pulled from the successors (one level down):
        # coef[u] = (1 + delta[u]) / sigma[u], delta[v] = sigma[v] * sum of coef over successors
        for h in range(lvl_start[d], lvl_start[d + 1]):
            coef[order[h]] = 1.0 / sigma[order[h]]
        for dd in range(d - 1, -1, -1):
            for h in range(lvl_start[dd], lvl_start[dd + 1]):
                v = order[h]
                acc = 0.0
                for w in range(nw):
                    x = bits[v, w] & level[dd + 1, w]
                    while x:
                        acc += coef[(w << 6) + np.int64(trailing_zeros(x))]
                        x &= x - np.uint64(1)
                dv = sigma[v] * acc
                if dd > 0:
                    bet[v] += dv
                    coef[v] = (1.0 + dv) / sigma[v]
    return m


@njit(cache=True, nogil=True)
def _ks_batch(nets, D, t_deg, t_clu, t_bet, t_len, bet_rtol, out):
    """KS statistics of each network in ``nets`` (B, n, n) against sorted target samples."""
    B = nets.shape[0]
    n = nets.shape[1]
    deg = np.empty(n, np.float64)
    clu = np.empty(n, np.float64)
    bet = np.empty(n, np.float64)
    lens = np.empty(n * (n - 1) // 2, np.float64)
    for b in range(B):
        m = _stats_one(nets[b], D, deg, clu, bet, lens)
        k1 = _ks_sorted(np.sort(deg), t_deg, 0.0)
        k2 = _ks_sorted(np.sort(clu), t_clu, 0.0)
        k3 = _ks_sorted(np.sort(bet), t_bet, bet_rtol)
        k4 = _ks_sorted(np.sort(lens[:m]), t_len, 0.0)
        out[b, 0] = k1
        out[b, 1] = k2
        out[b, 2] = k3
        out[b, 3] = k4
        out[b, 4] = max(max(k1, k2), max(k3, k4))


def _check_networks(networks, n: int | None = None) -> np.ndarray:
    M = check_batch(networks, "networks", n=n)
    idx = np.arange(M.shape[1])
    diag = M[:, idx, idx]
    if diag.any():
        b, i = np.argwhere(diag)[0]
        raise ValueError(
            f"'networks' must have zero diagonals (no self-loops); networks[{b}][{i},{i}] is non-zero"
        )
    return np.ascontiguousarray(M)


def network_statistics(networks, D) -> dict:
    """Degree, clustering, betweenness and edge lengths of a batch of binary undirected networks.

    Parameters
    ----------
    networks : array_like, shape (B, n, n) or (n, n)
        Symmetric binary (boolean or 0/1) adjacency matrices with zero diagonals.
    D : array_like, shape (n, n)
        Symmetric distance matrix (e.g. Euclidean distances between node positions).

    Returns
    -------
    dict
        ``degree``, ``clustering``, ``betweenness``: float arrays of shape (B, n), equal to
        bctpy's ``degrees_und``, ``clustering_coef_bu`` and ``betweenness_bin`` (the last up to
        floating-point rounding); ``edge_length``: a list of B arrays with ``D[i, j]`` for the
        edges ``i < j`` in row-major order; ``n_edges``: int array (B,).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    >>> s = network_statistics(A, np.ones((3, 3)) - np.eye(3))
    >>> s["degree"][0].tolist(), s["clustering"][0].tolist()
    ([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    """
    nets = _check_networks(networks)
    B, n = nets.shape[0], nets.shape[1]
    Dm = np.ascontiguousarray(check_distance(D, n), dtype=np.float64)
    deg = np.zeros((B, n))
    clu = np.zeros((B, n))
    bet = np.zeros((B, n))
    lens = np.zeros((B, n * (n - 1) // 2))
    counts = np.zeros(B, np.int64)
    for b in range(B):  # the kernel _ks_batch uses too: one compilation, no second batch kernel
        counts[b] = _stats_one(nets[b], Dm, deg[b], clu[b], bet[b], lens[b])
    return {
        "degree": deg,
        "clustering": clu,
        "betweenness": bet,
        "edge_length": [lens[b, : counts[b]].copy() for b in range(B)],
        "n_edges": counts,
    }


def ks_statistic(x, y, rtol: float = 0.0) -> float:
    """Two-sample Kolmogorov–Smirnov statistic ``sup |F_x - F_y|``.

    With ``rtol=0`` this equals ``scipy.stats.ks_2samp(x, y).statistic``; with ``rtol > 0``
    values closer than ``rtol * max(1, |v|)`` count as ties. Two empty samples give 0, one
    empty sample gives 1.

    Examples
    --------
    >>> ks_statistic([1, 2, 3], [1, 2, 3])
    0.0
    >>> ks_statistic([0, 0], [1, 1])
    1.0
    """
    x = np.sort(np.asarray(x, dtype=np.float64).ravel())
    y = np.sort(np.asarray(y, dtype=np.float64).ravel())
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("'x' and 'y' must be finite")
    if rtol < 0:
        raise ValueError(f"'rtol' must be >= 0; got {rtol}")
    return float(_ks_sorted(x, y, float(rtol)))


def ks_energy(networks, target, D, *, n_jobs=None, device=None) -> np.ndarray:
    """KS statistics and energy of each network against a target network (Betzel et al. 2016).

    Parameters
    ----------
    networks : array_like, shape (B, n, n) or (n, n)
        Symmetric binary networks (boolean or 0/1, zero diagonal), e.g. the output of a
        generative model. Any non-zero entry is an edge (weights are ignored). Large batches
        are processed in chunks of 4,096 networks, so the temporary memory stays bounded.
    target : array_like, shape (n, n)
        The observed network; non-zero entries are edges (weights are discarded).
    D : array_like, shape (n, n)
        Symmetric distances between the nodes (the unit cancels out of the KS statistics).
    n_jobs : int or None
        Threads evaluating chunks of networks in parallel (None/1: serial, -1: all cores).
        The result does not depend on it. Validated but unused when ``device`` is given.
    device : str, torch.device or None
        None (default): the compiled numba kernel on the CPU. Otherwise a torch device --
        ``"cpu"``, ``"cuda"``, ``"cuda:0"`` or a ``torch.device`` -- on which the same statistics
        are computed as batched float64 tensor algebra (breadth-first search and Brandes'
        accumulation as matrix products, all sources at once). The result equals the numba
        path's (up to floating-point summation order in the betweenness, inside the 1e-9 tie
        tolerance). Memory grows as ``chunk * n**2``: the chunk of networks evaluated at once is
        chosen from the free memory of a CUDA device (``torch.cuda.mem_get_info``) and from a
        fixed budget on the CPU. torch is imported only when a device is given. An unknown
        device string, CUDA when it is unavailable, a CUDA index beyond the visible devices and
        (on CUDA) too little free memory for one network raise ``ValueError`` before any work.

    Returns
    -------
    ndarray, shape (B, 5)
        Columns :data:`KS_COLUMNS`: the KS statistics of degree, clustering, betweenness and
        edge length, and the energy (their maximum). A single (n, n) network gives shape (1, 5).

    Notes
    -----
    Each KS statistic is the two-sample statistic of :func:`scipy.stats.ks_2samp` on the samples
    bctpy's ``degrees_und``, ``clustering_coef_bu``, ``betweenness_bin`` and the upper-triangle
    edge lengths ``D[i, j]`` produce (all n nodes enter the node samples, isolated ones too).
    Betweenness values within a relative 1e-9 are treated as ties so that floating-point
    summation order cannot split equal centralities. A network without edges has an edge-length
    KS statistic of 1 against a target with edges.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = np.triu(rng.random((20, 20)) < 0.2, 1); A = A | A.T
    >>> D = np.abs(np.subtract.outer(np.arange(20.0), np.arange(20.0)))
    >>> ks_energy(A, A, D).tolist()
    [[0.0, 0.0, 0.0, 0.0, 0.0]]
    >>> B = np.triu(rng.random((20, 20)) < 0.3, 1); B = B | B.T
    >>> bool(np.array_equal(ks_energy(B, A, D, device="cpu"), ks_energy(B, A, D)))
    True
    """
    T = check_adjacency(target, "target", binary=True)
    n = T.shape[0]
    Dm = np.ascontiguousarray(check_distance(D, n), dtype=np.float64)
    arr = np.asarray(networks)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"'networks' must have shape (B, n, n) or (n, n); got {np.shape(networks)}")
    jobs = check_n_jobs(n_jobs) or 1
    B = arr.shape[0]
    out = np.empty((B, 5))
    if device is not None:  # the torch backend: device and memory checked before any work
        from ._torch_energy import TorchEnergy

        engine = TorchEnergy(T != 0, Dm, device, n_networks=B, betweenness_rtol=BETWEENNESS_RTOL)
        for start in range(0, B, engine.chunk):
            nets = _check_networks(arr[start : start + engine.chunk], n=n)
            out[start : start + engine.chunk] = engine.evaluate(nets)
        return out
    t = network_statistics(T != 0, Dm)
    t_sorted = (
        np.sort(t["degree"][0]),
        np.sort(t["clustering"][0]),
        np.sort(t["betweenness"][0]),
        np.sort(t["edge_length"][0]),
    )
    # validate and evaluate in chunks: bounded temporary memory for 10^5-network batches
    chunk = _CHUNK if jobs == 1 else max(1, min(_CHUNK, -(-B // jobs)))

    def run(start):
        nets = _check_networks(arr[start : start + chunk], n=n)
        _ks_batch(nets, Dm, *t_sorted, BETWEENNESS_RTOL, out[start : start + chunk])

    starts = range(0, B, chunk)
    if jobs == 1 or len(starts) == 1:
        for start in starts:
            run(start)
    else:  # the kernel releases the GIL: threads share the inputs, no copies
        with ThreadPoolExecutor(max_workers=min(jobs, len(starts))) as pool:
            list(pool.map(run, starts))
    return out
