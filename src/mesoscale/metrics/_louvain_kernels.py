"""Compiled kernels of the generalised Louvain (internal) and the driver that runs them.

A step-for-step re-implementation of bctpy 0.6.1's ``community_louvain`` (the Brain
Connectivity Toolbox's generalised Louvain, Blondel et al. 2008) on a dense modularity matrix
``B``. Given the same ``numpy.random.RandomState`` it returns the same partition, bit for bit:

* the node orders are drawn in Python, ``rng.permutation(n)`` once per pass, exactly when and
  as bctpy draws them, so the random stream is the same;
* one pass (:func:`move_pass`) evaluates ``dQ = Hnm[u, :] - Hnm[u, ma] + B[u, u]`` with
  ``dQ[ma] = 0`` in bctpy's operation order, moves ``u`` to the first argmax if the maximum
  exceeds 1e-10 and updates the node-to-module strengths column by column;
* labels are renumbered as ``np.unique(..., return_inverse=True)`` numbers them (sorted);
* module aggregation (:func:`aggregate`) sums each block ``B[rows of i][:, cols of j]`` in
  numpy's own order (:func:`numpy_sum`: pairwise summation in chunks of the iterator's buffer
  size), so the aggregated matrices, their traces and hence the stopping decisions are those
  of bctpy;
* the outer loop keeps bctpy's convergence test, including its quirk that the first ``q`` is
  divided by the total weight ``s`` and later ones are the un-normalised ``trace(B)``, and its
  guard of 1000 passes per level (here a :class:`RuntimeError`).

The public entry point is :func:`mesoscale.metrics.louvain_partitions` (``engine="numba"``);
validation lives there.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_PW_BLOCKSIZE = 128  # numpy's PW_BLOCKSIZE: pairwise recursion stops at blocks of <= 128
_MOVE_TOL = 1e-10  # bctpy's threshold for a move and for another level
_MAX_PASSES = 1000  # bctpy's "infinite loop" guard (passes per level)


@njit(cache=True, nogil=True)
def _pairwise(a, lo, n):
    """numpy's ``pairwise_sum`` of ``a[lo:lo + n]`` (8 accumulators, halving above 128)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    if n <= _PW_BLOCKSIZE:
        r0 = a[lo]
        r1 = a[lo + 1]
        r2 = a[lo + 2]
        r3 = a[lo + 3]
        r4 = a[lo + 4]
        r5 = a[lo + 5]
        r6 = a[lo + 6]
        r7 = a[lo + 7]
        i = 8
        stop = n - n % 8
        while i < stop:
            r0 += a[lo + i]
            r1 += a[lo + i + 1]
            r2 += a[lo + i + 2]
            r3 += a[lo + i + 3]
            r4 += a[lo + i + 4]
            r5 += a[lo + i + 5]
            r6 += a[lo + i + 6]
            r7 += a[lo + i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[lo + i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(a, lo, n2) + _pairwise(a, lo + n2, n - n2)


@njit(cache=True, nogil=True)
def numpy_sum(a, bufsize):
    """``np.sum`` of a contiguous float64 array, bit for bit.

    numpy reduces in chunks of the iterator's buffer size (``np.getbufsize()``, 8192 by
    default), adding each chunk's pairwise sum to the running total.
    """
    n = a.shape[0]
    res = 0.0
    start = 0
    while start < n:
        m = min(bufsize, n - start)
        res += _pairwise(a, start, m)
        start += m
    return res


@njit(cache=True, nogil=True)
def _row_max(row, skip):
    """Largest ``row[j]`` over ``j != skip`` (-inf if there is none)."""
    best = -np.inf
    for j in range(skip):
        best = max(best, row[j])
    for j in range(skip + 1, row.shape[0]):
        best = max(best, row[j])
    return best


@njit(cache=True, nogil=True)
def move_pass(Hnm, Bt, Mb, order):
    """One pass of node moves over ``order``; updates ``Hnm`` and ``Mb`` in place.

    ``Hnm[v, m]`` is node v's strength to module m, ``Bt`` the transpose of ``B`` (its rows
    are bctpy's columns ``B[:, u]``), ``Mb`` the (0-based) module of each node. Returns
    whether any node moved.

    bctpy takes ``dQ = Hnm[u, :] - Hnm[u, ma] + B[u, u]`` with ``dQ[ma] = 0`` and moves ``u``
    to ``argmax(dQ)`` (first index) if ``max(dQ) > 1e-10``. Both roundings of ``dQ[j]`` are
    monotone in ``Hnm[u, j]``, so the maximum over ``j != ma`` is ``dQ`` at the largest
    ``Hnm[u, j]``, and ``argmax`` is the first ``j != ma`` whose ``dQ`` equals it (``dQ[ma] = 0``
    never wins a maximum above 1e-10): two vectorisable scans, the same floats and the same
    choice. ``B`` must be finite (the driver checks).
    """
    n = order.shape[0]
    moved = False
    for t in range(n):
        u = order[t]
        ma = Mb[u]
        row = Hnm[u]
        h_ma = row[ma]
        b_uu = Bt[u, u]
        best = (_row_max(row, ma) - h_ma) + b_uu
        if not best > _MOVE_TOL:
            continue
        mb = -1
        for j in range(n):
            if j != ma and (row[j] - h_ma) + b_uu == best:
                mb = j
                break
        moved = True
        bu = Bt[u]
        for v in range(n):
            Hnm[v, mb] += bu[v]
            Hnm[v, ma] -= bu[v]
        Mb[u] = mb
    return moved


@njit(cache=True, nogil=True)
def is_symmetric(B):
    """Whether ``B == B.T`` exactly (in 64 x 64 tiles, to stay in cache; stops at a difference)."""
    n = B.shape[0]
    for i0 in range(0, n, 64):
        for j0 in range(i0, n, 64):
            for i in range(i0, min(i0 + 64, n)):
                for j in range(max(j0, i + 1), min(j0 + 64, n)):
                    if B[i, j] != B[j, i]:
                        return False
    return True


@njit(cache=True, nogil=True)
def relabel_sorted(Mb):
    """Module labels renumbered 0..k-1 in sorted order (``np.unique`` inverse); returns (labels, k)."""
    n = Mb.shape[0]
    new = np.zeros(n + 1, np.int64)
    for v in range(n):
        new[Mb[v] + 1] = 1
    for m in range(n):
        new[m + 1] += new[m]
    out = np.empty(n, np.int64)
    for v in range(n):
        out[v] = new[Mb[v]]
    return out, new[n]


@njit(cache=True, nogil=True)
def aggregate(B, Mb, k, bufsize):
    """``b1[i, j] = np.sum(B[np.ix_(Mb == i, Mb == j)])`` for i <= j, mirrored (bctpy's pooling)."""
    n = B.shape[0]
    counts = np.zeros(k + 1, np.int64)
    for v in range(n):
        counts[Mb[v] + 1] += 1
    biggest = 0
    for m in range(k):
        biggest = max(biggest, counts[m + 1])
        counts[m + 1] += counts[m]
    members = np.empty(n, np.int64)  # nodes of module m, ascending: members[counts[m]:counts[m+1]]
    fill = counts[:k].copy()
    for v in range(n):
        members[fill[Mb[v]]] = v
        fill[Mb[v]] += 1
    buf = np.empty(biggest * biggest)
    b1 = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            t = 0
            for p in range(counts[i], counts[i + 1]):
                row = members[p]
                for q in range(counts[j], counts[j + 1]):
                    buf[t] = B[row, members[q]]
                    t += 1
            s = numpy_sum(buf[:t], bufsize)
            b1[i, j] = s
            b1[j, i] = s
    return b1


@njit(cache=True, nogil=True)
def module_weights(M, p, k):
    """``E[a, b] = sum of M[i, j]`` over ``p[i] == a, p[j] == b``, added in row-major order.

    The same order (hence the same floats) as ``np.add.at(E, (p[:, None], p[None, :]), M)``.
    """
    n = M.shape[0]
    E = np.zeros((k, k))
    for i in range(n):
        a = p[i]
        for j in range(n):
            E[a, p[j]] += M[i, j]
    return E


def louvain(B, s, rng):
    """bctpy's ``community_louvain`` on the modularity matrix ``B``; returns ``(ci, q)``.

    ``B`` is the dense (n, n) float64 matrix bctpy builds (or receives), ``s`` the total
    weight of ``W`` and ``rng`` a ``numpy.random.RandomState``. ``ci`` holds labels 1..k
    (bctpy's numbering) and ``q`` bctpy's returned value.

    Examples
    --------
    >>> import networkx as nx
    >>> W = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    >>> s = np.sum(W)
    >>> B = W - np.outer(np.sum(W, axis=1), np.sum(W, axis=0)) / s
    >>> ci, q = louvain(B, s, np.random.RandomState(3))
    >>> import bct
    >>> ref_ci, ref_q = bct.community_louvain(W, seed=np.random.RandomState(3))
    >>> bool((ci == ref_ci).all()), bool(q == ref_q), int(ci.max())
    (True, True, 4)
    """
    B = np.ascontiguousarray(B, dtype=np.float64)
    n = B.shape[0]
    bufsize = int(np.getbufsize())
    ci = np.arange(n, dtype=np.int64)
    Mb = ci.copy()
    if not np.all(np.isfinite(B)):
        raise ValueError("the modularity matrix B has non-finite entries (overflowing weights?)")
    Hnm = B.copy()
    Bt = B if is_symmetric(B) else np.ascontiguousarray(B.T)  # B[:, u] as contiguous rows
    diag = np.arange(n)
    q0 = -np.inf
    q = np.sum(B[diag, diag]) / s  # every node alone: the diagonal, in bctpy's order
    while q - q0 > _MOVE_TOL:
        passes = 0
        while True:
            passes += 1
            if passes > _MAX_PASSES:
                raise RuntimeError(
                    f"Louvain did not converge: nodes still moved after {_MAX_PASSES} passes at one level "
                    f"(n = {n}); the modularity matrix is probably not symmetric"
                )
            if not move_pass(Hnm, Bt, Mb, rng.permutation(n).astype(np.int64, copy=False)):
                break
        Mb, n = relabel_sorted(Mb)
        n = int(n)
        ci = Mb[ci]
        B = aggregate(B, Mb, n, bufsize)
        Bt = B  # pooled matrices are symmetric by construction
        Mb = np.arange(n, dtype=np.int64)
        Hnm = B.copy()
        q0 = q
        q = np.trace(B)
    return ci + 1, q / s
