"""The packed upper triangle of candidate weights and sampling from it (internal).

``W[off[i] + j - i - 1]`` is the weight of pair ``i < j`` (rows of the upper triangle, one
after the other; ``off[i] = i (2n - i - 1) / 2``) and ``R[i]`` the sum of row ``i``. A pair is
drawn by a block of 32 rows (their sums), a row in the block, then a column in the packed
row. A node's pairs are its packed row (contiguous) and one entry in each earlier row; row
sums move by differences, and a sum that fell far below its peak is re-summed exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._weights import row_weights, row_log_weights

_RESUM = 1e-4  # re-sum a row exactly when its sum fell this far below its peak
_FM = {"reassoc", "contract"}  # vectorised sums of weights (order fixed by the compiled code)


@njit(cache=True, nogil=True, _nrt=False, fastmath=_FM)
def row_sum(W, off, i, n):
    """Exact (vectorised) sum of row i of the packed triangle."""
    s = 0.0
    Wi = W[off[i] : off[i] + n - i - 1]  # a view: indices from 0, no wraparound checks
    for j in range(Wi.shape[0]):
        s += Wi[j]
    return s


@njit(cache=True, nogil=True, _nrt=False)
def _move_sum(i, d, W, off, R, peak):
    """R[i] += d, re-summed exactly when it could have lost its precision.

    Row sums move by differences. Rounding leaves an absolute error of about 1e-16 times the
    largest value the sum held since it was last exact (``peak``), so the row is re-summed once
    its sum falls below _RESUM * peak.
    """
    Ri = R[i] + d
    pk = max(peak[i], Ri)
    if Ri < _RESUM * pk:
        Ri = row_sum(W, off, i, R.shape[0])
        pk = Ri
    R[i] = Ri
    peak[i] = pk


@njit(cache=True, nogil=True, _nrt=False)
def apply_pair(i, j, w, W, off, R, peak):
    """Set the weight of pair (i, j) and move its row sum by the difference."""
    if i > j:
        i, j = j, i
    p = off[i] + j - i - 1
    d = w - W[p]
    W[p] = w
    _move_sum(i, d, W, off, R, peak)


@njit(cache=True, nogil=True, _nrt=False, fastmath=_FM)
def apply_row(r, buf, W, off, R, peak, old):
    """Set the weights of every pair (r, j) from ``buf``, moving the row sums by the differences.

    Row r of the packed triangle is contiguous; its pairs with earlier nodes are one entry in
    each earlier row: each read and written once (old weights into ``old``), then their row
    sums moved in one vectorised pass, with no branch per pair.
    """
    n = R.shape[0]
    Wr = W[off[r] : off[r] + n - r - 1]  # views indexed from 0: no wraparound checks, vectorised
    br = buf[r + 1 : n]
    ds = 0.0
    for j in range(Wr.shape[0]):
        w = br[j]
        ds += w - Wr[j]
        Wr[j] = w
    _move_sum(r, ds, W, off, R, peak)
    for i in range(r):
        p = np.uint64(off[i] + r - i - 1)  # unsigned: no wraparound check
        o = W[p]
        W[p] = buf[i]
        old[i] = o
    low = False
    for i in range(r):
        Ri = R[i] + (buf[i] - old[i])
        pk = max(peak[i], Ri)
        R[i] = Ri
        peak[i] = pk
        low |= Ri < _RESUM * pk
    if low:
        for i in range(r):
            if R[i] < _RESUM * peak[i]:
                R[i] = peak[i] = row_sum(W, off, i, n)


@njit(cache=True, nogil=True, _nrt=False, fastmath=_FM)
def totals(R, bsum):
    """Sums of the row sums in blocks of 32 rows (into ``bsum``) and their total."""
    n = R.shape[0]
    T = 0.0
    for b in range(bsum.shape[0]):
        s = 0.0
        for i in range(32 * b, min(n, 32 * b + 32)):
            s += R[i]
        bsum[b] = s
        T += s
    return T


@njit(cache=True, nogil=True, _nrt=False)
def _scan(x, lo, hi, cum, target):
    """(first i in lo..hi-1 whose running sum from ``cum`` exceeds ``target``, the running sum before
    it); the last positive entry when rounding leaves none."""
    idx = -1
    for i in range(lo, hi):
        xi = x[i]
        if xi > 0.0:
            idx = i
            if cum + xi > target:
                break
            cum += xi
    return idx, cum


@njit(cache=True, nogil=True, _nrt=False)
def pick(R, bsum, W, off, T, u):
    """Pair (i, j), i < j, drawn with probability W_ij / T (u uniform in [0, 1)); (-1, row) when
    the row drawn turned out empty (its sum was rounding residue: re-sum it, draw again).

    A block of rows by the block sums, a row in the block, then a column in the packed row;
    rounding at the end of a scan falls back to its last non-empty entry.
    """
    n = R.shape[0]
    target = u * T
    blk, cum = _scan(bsum, 0, bsum.shape[0], 0.0, target)
    row, cum = _scan(R, 32 * blk, min(n, 32 * blk + 32), cum, target)
    target -= cum
    Wr = W[off[row] : off[row] + n - row - 1]
    acc = 0.0
    col = -1
    for j in range(Wr.shape[0]):
        w = Wr[j]
        if w > 0.0:
            col = j
            acc += w
            if acc > target:
                break
    if col < 0:
        return -1, row
    return row, row + 1 + col


@njit(cache=True, nogil=True, _nrt=False)
def rebuild(rule, rowrule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, W, off, R, peak, buf,
            gbuf):
    """Recompute every weight from the state; return the offset M (log space) or 0."""
    n = A.shape[0]
    M = 0.0
    if not fast:  # the offset is the largest log-weight of a candidate
        M = -np.inf
        for i in range(n):
            row_log_weights(i, rule, E, A, k, CN, cl, tab, n2, gamma, eps, kexp, buf)
            for j in range(i + 1, n):
                M = max(M, buf[j])
        if M == -np.inf:
            M = 0.0
    for i in range(n):
        row_weights(i, rule, rowrule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, M, buf, gbuf)
        Wi = W[off[i] : off[i] + n - i - 1]
        for j in range(Wi.shape[0]):
            Wi[j] = buf[i + 1 + j]
        s = row_sum(W, off, i, n)
        R[i] = s
        peak[i] = s
    return M
