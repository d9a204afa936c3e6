"""The spatial rule on large point sets: exact sampling without a dense distance matrix.

The rule ``sptl`` adds ``m`` edges one at a time, each time choosing an unconnected pair with
probability proportional to its weight ``w_ij`` (``D_ij**eta`` or ``exp(eta * D_ij)``); the
weights never change. That is successive sampling without replacement by fixed weights, and
it has an exact one-pass form (the exponential race; Efraimidis & Spirakis 2006): give every
pair an independent key ``E_ij / w_ij`` with ``E_ij`` a standard exponential variate; the
``m`` pairs with the smallest keys, in increasing order of key, are distributed exactly as
the pairs the rule adds, in the order it adds them (the first to "fire" among independent
exponential clocks of rates ``w`` is pair ``ij`` with probability ``w_ij / sum w``, and by
memorylessness the race then continues among the rest).

:func:`sptl_edges` runs that race in blocks of rows of the distance matrix, keeping only the
``m`` smallest keys seen so far, so memory is ``O(block * n + m)`` instead of the ``O(n**2)``
dense matrices of :func:`~mesoscale.generative.generate` (about 4 GB at ``n = 10**4``). The
law is that of ``generate(D, m, "sptl", eta)``; the bits are not (tests/test_sparse.py checks
the law against the engine). :func:`edges_to_sparse` turns the edge list into a
``scipy.sparse`` adjacency matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._validation import check_choice, check_float, check_int, spawn_rngs

__all__ = ["sptl_edges", "edges_to_sparse"]

#: Zero distances are floored at this factor times the smallest positive distance in the
#: powerlaw kernel, as the engine does.
_ZERO_FACTOR = 1e-3


def _check_positions(positions):
    X = np.asarray(positions, dtype=float)
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"'positions' must be a 2-D array (n >= 2, dim >= 1); got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("'positions' must be finite")
    return np.ascontiguousarray(X)


def _min_positive_distance(X, block):
    """Smallest positive pairwise distance (only needed when two points coincide)."""
    best = np.inf
    n = X.shape[0]
    for lo in range(0, n, block):
        d = np.sqrt(((X[lo:lo + block, None, :] - X[None, :, :]) ** 2).sum(-1))
        d = d[d > 0]
        if d.size:
            best = min(best, float(d.min()))
    return best if np.isfinite(best) else 1.0


def _one_network(X, m, etas, model_var, rng, block, floor):
    """The exponential race of one network for every kernel parameter in ``etas`` (the same variates)."""
    n = X.shape[0]
    k = len(etas)
    keys = [np.empty(0) for _ in range(k)]
    rows = [np.empty(0, np.int64) for _ in range(k)]
    cols = [np.empty(0, np.int64) for _ in range(k)]
    cut = [np.inf] * k  # the m-th smallest key so far: larger keys can never be chosen
    for lo in range(0, n - 1, block):
        hi = min(n - 1, lo + block)
        # pairs (i, j) with lo <= i < hi and j > i
        Y = X[lo + 1:]  # only columns j > lo can hold pairs j > i
        diff = X[lo:hi, None, :] - Y[None, :, :]
        d = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        upper = np.arange(lo + 1, n)[None, :] > np.arange(lo, hi)[:, None]
        if model_var == "exponential":
            feature = d
        else:
            with np.errstate(divide="ignore"):  # d = 0 only on the masked diagonal when nothing coincides
                feature = np.log(np.maximum(d, floor))
        # key = E / w -> log key = log E - log w, E ~ Exp(1)
        log_e = np.log(rng.standard_exponential(d.shape))
        for t, eta in enumerate(etas):
            lk = log_e - eta * feature
            ii, jj = np.nonzero(upper & (lk < cut[t]))
            keys[t] = np.concatenate([keys[t], lk[ii, jj]])
            rows[t] = np.concatenate([rows[t], ii + lo])
            cols[t] = np.concatenate([cols[t], jj + lo + 1])
            if keys[t].size > m:
                keep = np.argpartition(keys[t], m - 1)[:m]
                keys[t], rows[t], cols[t] = keys[t][keep], rows[t][keep], cols[t][keep]
            if keys[t].size == m:
                cut[t] = float(keys[t].max())
    out = []
    for t in range(k):
        order = np.argsort(keys[t], kind="stable")
        out.append(np.stack([rows[t][order], cols[t][order]], axis=1))
    return out


def sptl_edges(positions, m: int, eta: float, model_var: str = "powerlaw", *, n_networks: int = 1,
               seed=None, block: int | None = None) -> np.ndarray:
    """Grow ``sptl`` networks on a point set, exactly and without a dense distance matrix.

    The law is that of :func:`~mesoscale.generative.generate` with ``rule="sptl"`` on
    ``D = distance_matrix(positions)`` (see the module docstring for why the exponential race is
    exact); memory grows as ``block * n`` rather than ``n**2``.

    Parameters
    ----------
    positions : array_like, shape (n, dim)
        Node coordinates (Euclidean distances).
    m : int
        Edges per network, ``1 <= m <= n (n - 1) / 2``.
    eta : float or sequence of float
        Distance exponent (``"powerlaw"``: ``w = D**eta``, zero distances floored at ``1e-3``
        times the smallest positive one, as the engine does) or rate (``"exponential"``:
        ``w = exp(eta D)``). A sequence grows one network per value from the *same* exponential
        variates in one pass (common random numbers: the networks for ``eta[k]`` are those the
        scalar call with ``eta[k]`` and the same seed gives).
    model_var : {"powerlaw", "exponential"}
    n_networks : int
        Independent networks (each from its own stream spawned from ``seed``).
    seed : None, int, SeedSequence or Generator
        Same seed, same networks.
    block : int, optional
        Rows of the distance matrix handled at once (default: about ``2e6 / n``).

    Returns
    -------
    ndarray of int64, shape (n_networks, m, 2), or (len(eta), n_networks, m, 2) for a sequence
        The edges ``(i, j)`` with ``i < j`` of every network, in the order the rule adds them.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((50, 2))
    >>> E = sptl_edges(X, 75, -3.0, n_networks=2, seed=1)
    >>> E.shape, bool((E[..., 0] < E[..., 1]).all())
    ((2, 75, 2), True)
    >>> len({tuple(e) for e in E[0].tolist()}), bool((sptl_edges(X, 75, -3.0, n_networks=2, seed=1) == E).all())
    (75, True)
    >>> both = sptl_edges(X, 75, [-3.0, -1.0], n_networks=2, seed=1)
    >>> both.shape, bool((both[0] == E).all())
    ((2, 2, 75, 2), True)
    """
    X = _check_positions(positions)
    n = X.shape[0]
    m = check_int(m, "m", minimum=1, maximum=n * (n - 1) // 2)
    many = np.ndim(eta) > 0
    etas = [check_float(e, "eta") for e in (np.atleast_1d(eta) if many else [eta])]
    if not etas:
        raise ValueError("'eta' must hold at least one value")
    check_choice(model_var, "model_var", ("powerlaw", "exponential"))
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    block = max(1, int(2e6 // n)) if block is None else check_int(block, "block", minimum=1)
    floor = 1.0
    if model_var == "powerlaw":
        distinct = np.unique(X, axis=0).shape[0]
        floor = _ZERO_FACTOR * _min_positive_distance(X, block) if distinct < n else 0.0
    out = np.empty((len(etas), n_networks, m, 2), dtype=np.int64)
    for b, rng in enumerate(spawn_rngs(seed, n_networks)):
        for t, edges in enumerate(_one_network(X, m, etas, model_var, rng, block, floor)):
            out[t, b] = edges
    return out if many else out[0]


def edges_to_sparse(edges, n: int) -> sp.csr_array:
    """Symmetric 0/1 ``scipy.sparse`` adjacency (CSR, float) of an undirected edge list.

    Parameters
    ----------
    edges : array_like of int, shape (m, 2)
        Distinct pairs ``(i, j)``, ``i != j``.
    n : int
        Number of nodes.

    Examples
    --------
    >>> edges_to_sparse([[0, 1], [1, 2]], 4).toarray().astype(int).tolist()
    [[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    """
    n = check_int(n, "n", minimum=1)
    E = np.asarray(edges)
    if E.ndim != 2 or E.shape[1] != 2 or (E.size and not np.issubdtype(E.dtype, np.integer)):
        raise ValueError(f"'edges' must be an integer array of shape (m, 2); got shape {E.shape}, dtype {E.dtype}")
    if E.size and (E.min() < 0 or E.max() >= n):
        raise ValueError(f"'edges' must hold node indices in [0, {n}); got range [{E.min()}, {E.max()}]")
    if E.size and np.any(E[:, 0] == E[:, 1]):
        raise ValueError("'edges' must not contain self-loops")
    i, j = E[:, 0], E[:, 1]
    M = sp.coo_array((np.ones(2 * E.shape[0]), (np.r_[i, j], np.r_[j, i])), shape=(n, n)).tocsr()
    if M.nnz != 2 * E.shape[0]:
        raise ValueError("'edges' must list every pair at most once")
    return sp.csr_array(M)
