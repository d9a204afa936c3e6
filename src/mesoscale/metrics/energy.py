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

All of it runs in compiled numba kernels (:mod:`._ks_kernels`) over a batch of networks: the
generative-model fitter evaluates it on 10^4–10^5 networks. Each network is packed into bit sets
(degrees by popcounts, clustering by intersections, betweenness by Brandes' accumulation over
breadth-first levels expanded top-down or bottom-up, whichever scans fewer words, each connected
component relabelled onto as few words as it needs); degrees and
edge lengths are compared with the target by counts (edge lengths by the rank of their distance
among the distinct distances), without sorting; the target's side is prepared once per target.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._validation import check_adjacency, check_batch, check_distance, check_n_jobs
from ._ks_kernels import ks_batch, ks_sorted, stats_one, workspace

__all__ = ["KS_COLUMNS", "ks_energy", "network_statistics", "ks_statistic"]

#: Column names of the array returned by :func:`ks_energy`.
KS_COLUMNS = ("ks_degree", "ks_clustering", "ks_betweenness", "ks_edge_length", "energy")

#: Betweenness values closer than this (relative) are the same value: bctpy and this kernel
#: add the same fractions in different orders, so equal centralities can differ in the last bits.
BETWEENNESS_RTOL = 1e-9

_CHUNK = 4096  # networks validated and evaluated at a time


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


def _as_batch(networks, n: int | None = None) -> np.ndarray:
    """``networks`` as a (B, n, n) boolean array the kernels read directly: shape and values checked
    here, symmetry and the diagonal by the kernel as it packs each network (see :func:`_raise_invalid`)."""
    return np.ascontiguousarray(check_batch(networks, "networks", n=n, symmetric=False))


def _raise_invalid(code: int, b: int, n: int):
    """The ValueError of a network the kernel rejected (``code`` from :func:`stats_one`)."""
    i = -1 - int(code)
    if i < n:
        raise ValueError(f"'networks' must have zero diagonals (no self-loops); networks[{b}][{i},{i}] is non-zero")
    raise ValueError(f"'networks'[{b}] is not symmetric (row {i - n} differs from column {i - n})")


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
    nets = _as_batch(networks)
    B, n = nets.shape[0], nets.shape[1]
    Dm = np.ascontiguousarray(check_distance(D, n), dtype=np.float64)
    deg = np.zeros((B, n))
    clu = np.zeros((B, n))
    bet = np.zeros((B, n))
    counts = np.zeros(B, np.int64)
    lens = []
    ws = workspace(n)
    for b in range(B):  # the kernel ks_batch uses too: one compilation, no second batch kernel
        m = stats_one(nets[b], deg[b], clu[b], bet[b], ws)
        if m < 0:
            _raise_invalid(m, b, n)
        counts[b] = m
        lens.append(Dm[ws[1][:m], ws[2][:m]])
    return {
        "degree": deg,
        "clustering": clu,
        "betweenness": bet,
        "edge_length": lens,
        "n_edges": counts,
    }


_TARGETS: list = []  # the last prepared (target, D) pairs, most recent first
_TARGETS_LOCK = threading.Lock()


def _target_of(target, D) -> dict:
    """The target's side of :func:`ks_energy`, validated and prepared once per (target, D).

    A fit scores chunk after chunk against the same target; the last four pairs are kept
    (compared by value, so a changed array is never mistaken for a kept one).
    """
    Tn, Dn = np.asarray(target), np.asarray(D)
    with _TARGETS_LOCK:
        for k, prep in enumerate(_TARGETS):
            if (prep["target_in"].shape == Tn.shape and prep["D_in"].shape == Dn.shape
                    and prep["target_in"].dtype == Tn.dtype and prep["D_in"].dtype == Dn.dtype
                    and np.array_equal(prep["target_in"], Tn) and np.array_equal(prep["D_in"], Dn)):
                _TARGETS.insert(0, _TARGETS.pop(k))
                return prep
    T = check_adjacency(target, "target", binary=True) != 0
    n = T.shape[0]
    Dm = np.ascontiguousarray(check_distance(D, n), dtype=np.float64)
    t = network_statistics(T, Dm)
    # edge lengths as groups of equal distance: the rank of D[i, j] among the distinct distances
    iu = np.triu_indices(n, 1)
    values, rank = np.unique(Dm[iu], return_inverse=True)
    gid = np.zeros((n, n), np.int32)
    gid[iu] = rank
    t_grp = np.bincount(rank[T[iu]], minlength=values.size).astype(np.int64)
    t_bits = np.zeros(max((values.size + 63) // 64, 1), np.uint64)
    used = np.flatnonzero(t_grp)
    np.bitwise_or.at(t_bits, used >> 6, np.left_shift(np.uint64(1), (used & 63).astype(np.uint64)))
    prep = {
        "target_in": Tn.copy(), "D_in": Dn.copy(), "T": T, "D": Dm, "n": n, "gid": gid,
        "target": (
            np.bincount(t["degree"][0].astype(np.int64), minlength=n).astype(np.int64),
            np.sort(t["clustering"][0]),
            np.sort(t["betweenness"][0]),
            t_grp,
            t_bits,
            int(t["n_edges"][0]),
        ),
    }
    with _TARGETS_LOCK:
        _TARGETS.insert(0, prep)
        del _TARGETS[4:]
    return prep


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
    return float(ks_sorted(x, y, float(rtol)))


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
    prep = _target_of(target, D)
    T, Dm, n = prep["T"], prep["D"], prep["n"]
    arr = np.asarray(networks)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"'networks' must have shape (B, n, n) or (n, n); got {np.shape(networks)}")
    jobs = check_n_jobs(n_jobs) or 1
    B = arr.shape[0]
    out = np.zeros((B, 5))
    if device is not None:  # the torch backend: device and memory checked before any work
        from ._torch_energy import TorchEnergy

        engine = TorchEnergy(T, Dm, device, n_networks=B, betweenness_rtol=BETWEENNESS_RTOL)
        for start in range(0, B, engine.chunk):
            nets = _check_networks(arr[start : start + engine.chunk], n=n)
            out[start : start + engine.chunk] = engine.evaluate(nets)
        return out
    nets = _as_batch(arr, n)
    gid, target = prep["gid"], prep["target"]
    # evaluate in chunks (threads with n_jobs): bounded temporary memory for 10^5-network batches
    chunk = _CHUNK if jobs == 1 else max(1, min(_CHUNK, -(-B // jobs)))

    def run(start):
        ks_batch(nets[start : start + chunk], gid, *target, BETWEENNESS_RTOL, out[start : start + chunk])

    starts = range(0, B, chunk)
    if jobs == 1 or len(starts) == 1:
        for start in starts:
            run(start)
    else:  # the kernel releases the GIL: threads share the inputs, no copies
        with ThreadPoolExecutor(max_workers=min(jobs, len(starts))) as pool:
            list(pool.map(run, starts))
    bad = np.flatnonzero(out[:, 0] < 0)
    if bad.size:
        _raise_invalid(out[bad[0], 0], int(bad[0]), n)
    return out
