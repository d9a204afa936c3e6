"""Numba kernels of the generative network engine (internal).

One kernel serves all thirteen wiring rules and both growth modes (all nodes present
from the start, or nodes that appear stage by stage with stage-specific distances).

State kept per network, updated incrementally after every added edge:

* ``A`` adjacency (uint8), ``adj`` adjacency lists, ``k`` degrees, ``CN`` common-neighbour
  counts (``A @ A`` off the diagonal), ``tri`` triangles and ``cl`` clustering per node
  (integers where they can be, so the incremental state equals a full recomputation exactly);
* ``W`` the weights of the pairs ``i < j``, packed row by row (``W[off[i] + j - i - 1]``; 0 for
  edges and unborn nodes), and ``R[i]`` the sum of row ``i`` of that upper triangle. Sampling
  picks a row by its sum, then a column in the row. Each pair is held once: a changed node's
  pairs are its packed row (contiguous) and one entry in each earlier row, half the scattered
  writes of a full symmetric matrix, in half its memory.

A pair's log-weight is ``L_ij = eta * X_ij + log g(K_ij)`` with ``log g(K) = gamma *
log(K + eps)`` (powerlaw) or ``gamma * (K + eps)`` (exponential). Two exact ways of
holding ``W = exp(L - M)``:

* **factored** (the fast path): ``W_ij = F_ij * G(K_ij)`` with ``F = exp(eta X - max)``
  computed once per stage and ``G = exp(log g - max)``. ``G`` is read from a table wherever
  ``K`` is a function of integers (``neighbors``: ``CN``; ``matching``: ``(CN, k_i + k_j)``;
  the degree rules: the integer behind ``K``), filled when the stage starts or memoised on
  first use, and from one per-node factor for ``clu-min``/``clu-max`` (``g`` is monotone, so
  ``g(min(a, b)) = min(g(a), g(b))``, or ``max`` when ``gamma < 0``). ``clu-avg``, ``clu-diff``
  and ``clu-prod`` evaluate ``g`` per pair with the vectorised ``exp``/``log`` of
  :mod:`._vecmath`. A changed row is computed into a buffer by one branch-free loop per rule.
  Both factors lie in ``(0, 1]``, and the path is used only when their combined dynamic range
  (known before growth starts) is below ``fast_range`` (700 nats), so no candidate weight
  can underflow;
* **log space with a movable offset** (wider ranges, i.e. extreme parameters): ``M`` is
  reset to the current maximum whenever a new log-weight exceeds it by more than
  ``_OVERFLOW`` or the total weight becomes too small to sample from, so weights never
  overflow and the largest candidate always has weight 1.

After an edge (a, b) only the pairs whose K changed are recomputed: none for ``sptl``;
(b, N(a)) and (a, N(b)) for ``neighbors``; the pairs of a and b for ``matching`` and the
degree rules; the pairs of a, b and their common neighbours (whose clustering changed) for
the clustering rules. Row sums follow by differences (old weight out, new weight in), so a
change costs what changed; a row sum that fell far below its peak is re-summed exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._vecmath import exp_le0, log_pos

WIRING_RULES = (
    "sptl",
    "neighbors",
    "matching",
    "clu-avg",
    "clu-min",
    "clu-max",
    "clu-diff",
    "clu-prod",
    "deg-avg",
    "deg-min",
    "deg-max",
    "deg-diff",
    "deg-prod",
)
RULE_CODE = {name: i for i, name in enumerate(WIRING_RULES)}

FAST_RANGE = 700.0  # factored weights when the log-weights span less than this (e^-700 > 1e-305)
_OVERFLOW = 600.0  # log space: rebuild when a log-weight exceeds the offset by this much
_TINY = 1e-250  # log space: rebuild when the total weight falls below this
_RESUM = 1e-4  # re-sum a row exactly when its sum fell this far below its peak
_FM = {"reassoc", "contract"}  # vectorised sums of weights (order fixed by the compiled code)


@njit(cache=True, nogil=True, _nrt=False)
def _lg(K, gamma, eps, kexp):
    """log g(K) of the topology term."""
    if kexp:
        return gamma * (K + eps)
    return gamma * np.log(K + eps)


@njit(cache=True, nogil=True, _nrt=False)
def _combine(r, a, b):
    """K of the clustering and degree rules from the two nodes' values (r = rule % 5 - 3)."""
    if r == 0:
        return 0.5 * (a + b)
    if r == 1:
        return min(a, b)
    if r == 2:
        return max(a, b)
    if r == 3:
        return abs(a - b)
    return a * b


@njit(cache=True, nogil=True)
def _k_max(rule, n):
    """Largest value K can take with n nodes (K is monotone in its inputs' range)."""
    if rule == 0:
        return 0.0
    if rule == 1:
        return float(max(n - 2, 0))
    if rule <= 7:
        return 1.0
    if rule == 12:
        return float((n - 1) * (n - 1))
    return float(n - 1)


@njit(cache=True, nogil=True)
def _table_size(rule, n):
    """Entries of the table: indexed by CN, CN * (2n - 1) + k_i + k_j or the integer behind K."""
    if rule == 1:
        return max(n - 1, 1)
    if rule == 2:
        return max(n - 1, 1) * (2 * n - 1)
    if rule == 8:
        return 2 * n - 1
    if rule == 12:
        return (n - 1) * (n - 1) + 1
    if rule >= 9:
        return n
    return 1


@njit(cache=True, nogil=True, _nrt=False)
def _k_of_index(rule, idx, n2):
    """K of a table index (inverse of :func:`_index`)."""
    if rule == 2:
        c = idx // n2
        return 0.0 if c == 0 else 2.0 * c / (idx - c * n2)
    if rule == 8:
        return 0.5 * idx
    return float(idx)


@njit(cache=True, nogil=True, _nrt=False)
def _index(rule, i, j, k, CN, n2):
    """Table index of pair (i, j) for the table rules (neighbors, matching, deg-*)."""
    if rule == 1:
        return CN[i, j]
    if rule == 2:
        return CN[i, j] * n2 + k[i] + k[j]
    ki = k[i]
    kj = k[j]
    if rule == 8:
        return ki + kj
    if rule == 9:
        return min(ki, kj)
    if rule == 10:
        return max(ki, kj)
    if rule == 11:
        return abs(ki - kj)
    return ki * kj


@njit(cache=True, nogil=True, _nrt=False)
def _table_value(rule, idx, n2, gamma, eps, kexp, fast, MG):
    """Table entry: G = exp(log g(K) - MG) on the factored path, log g(K) in log space."""
    g = _lg(_k_of_index(rule, idx, n2), gamma, eps, kexp)
    return exp_le0(g - MG) if fast else g


@njit(cache=True, nogil=True, _nrt=False)
def _fill_table(rule, n, n2, tab, lo, hi, fast, gamma, eps, kexp, MG):
    """Fill the table entries a network can reach once CN (matching) or the degrees (deg-prod)
    reach ``hi`` (from ``lo + 1``; ``lo = -1`` at the start of a stage); every other table at once.

    matching: row c holds the keys ``c * n2 + s`` with ``s = k_i + k_j >= 2c`` (c <= both degrees);
    deg-prod: keys up to ``hi ** 2``. Entries below are never read.
    """
    if rule == 2:
        for c in range(lo + 1, hi + 1):
            for sm in range(2 * c, n2):
                tab[c * n2 + sm] = _table_value(rule, c * n2 + sm, n2, gamma, eps, kexp, fast, MG)
    elif rule == 12:
        for v in range(lo * lo + 1 if lo >= 0 else 0, hi * hi + 1):
            tab[v] = _table_value(rule, v, n2, gamma, eps, kexp, fast, MG)
    elif lo < 0:
        for v in range(tab.shape[0]):
            tab[v] = _table_value(rule, v, n2, gamma, eps, kexp, fast, MG)


@njit(cache=True, nogil=True, _nrt=False)
def _topo_lg(rule, i, j, k, CN, cl, tab, n2, gamma, eps, kexp):
    """log g(K_ij) (log space; the table holds log g and is filled as far as the state reaches)."""
    if rule == 0:
        return 0.0
    if rule <= 7 and rule >= 3:
        return _lg(_combine(rule - 3, cl[i], cl[j]), gamma, eps, kexp)
    return tab[_index(rule, i, j, k, CN, n2)]


@njit(cache=True, nogil=True, _nrt=False, error_model="numpy")
def _clu_g(rule, cr, c, gamma, eps, kexp, MG):
    """G = exp(log g(K) - MG) of clu-avg, clu-diff or clu-prod for clustering values cr and c."""
    if rule == 3:
        x = 0.5 * (cr + c) + eps
    elif rule == 6:
        x = abs(cr - c) + eps
    else:
        x = cr * c + eps
    return exp_le0(gamma * (x if kexp else log_pos(x)) - MG)


@njit(cache=True, nogil=True, _nrt=False, error_model="numpy")
def _row_fast(r, rule, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, buf, gbuf):
    """Factored weights of every pair (r, j) into ``buf`` (0 for j = r, edges and unborn nodes).

    One loop without branches per rule, so LLVM vectorises it. clu-avg/-diff/-prod evaluate g
    once for the nodes of clustering 0 and per pair only for the ``nnz`` nodes listed in ``nz``
    (every node of non-zero clustering is listed).
    """
    n = A.shape[0]
    Er = E[r]
    Ar = A[r]
    if rule == 0:
        for j in range(n):
            buf[j] = Er[j] if Ar[j] == 0 else 0.0
    elif rule == 4 or rule == 5:
        pr = P[r]
        if (rule == 4) == (gamma >= 0.0):
            for j in range(n):
                buf[j] = Er[j] * min(pr, P[j]) if Ar[j] == 0 else 0.0
        else:
            for j in range(n):
                buf[j] = Er[j] * max(pr, P[j]) if Ar[j] == 0 else 0.0
    elif rule == 3 or rule == 6 or rule == 7:
        cr = cl[r]
        g0 = _clu_g(rule, cr, 0.0, gamma, eps, kexp, MG)
        for j in range(n):
            buf[j] = Er[j] * g0 if Ar[j] == 0 else 0.0
        for q in range(nnz):
            gbuf[q] = cl[nz[q]]
        for q in range(nnz):
            gbuf[q] = _clu_g(rule, cr, gbuf[q], gamma, eps, kexp, MG)
        for q in range(nnz):
            j = nz[q]
            buf[j] = Er[j] * gbuf[q] if Ar[j] == 0 else 0.0
    else:  # the table rules: one gather per pair
        kr = k[r]
        CNr = CN[r]
        if rule == 1:
            for j in range(n):
                buf[j] = Er[j] * tab[CNr[j]] if Ar[j] == 0 else 0.0
        elif rule == 2:
            for j in range(n):
                buf[j] = Er[j] * tab[CNr[j] * n2 + kr + k[j]] if Ar[j] == 0 else 0.0
        elif rule == 8:
            for j in range(n):
                buf[j] = Er[j] * tab[kr + k[j]] if Ar[j] == 0 else 0.0
        elif rule == 9:
            for j in range(n):
                buf[j] = Er[j] * tab[min(kr, k[j])] if Ar[j] == 0 else 0.0
        elif rule == 10:
            for j in range(n):
                buf[j] = Er[j] * tab[max(kr, k[j])] if Ar[j] == 0 else 0.0
        elif rule == 11:
            for j in range(n):
                buf[j] = Er[j] * tab[abs(kr - k[j])] if Ar[j] == 0 else 0.0
        else:
            for j in range(n):
                buf[j] = Er[j] * tab[kr * k[j]] if Ar[j] == 0 else 0.0
    buf[r] = 0.0


@njit(cache=True, nogil=True, _nrt=False)
def _row_log(r, rule, E, A, k, CN, cl, tab, n2, gamma, eps, kexp, buf):
    """Log-weights ``eta X + log g(K)`` of every pair (r, j) into ``buf`` (-inf for non-candidates)."""
    n = A.shape[0]
    for j in range(n):
        if j == r or A[r, j] != 0 or E[r, j] == -np.inf:
            buf[j] = -np.inf
        else:
            buf[j] = E[r, j] + _topo_lg(rule, r, j, k, CN, cl, tab, n2, gamma, eps, kexp)


@njit(cache=True, nogil=True, _nrt=False)
def _row(r, rule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, M, buf, gbuf):
    """Weights of every pair (r, j) into ``buf``; return the overflow flag (log space)."""
    if fast:
        _row_fast(r, rule, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, buf, gbuf)
        return False
    _row_log(r, rule, E, A, k, CN, cl, tab, n2, gamma, eps, kexp, buf)
    over = False
    for j in range(A.shape[0]):
        d = buf[j] - M
        over |= d > _OVERFLOW
        buf[j] = np.exp(d)
    return over


@njit(cache=True, nogil=True, _nrt=False)
def _pair(i, j, rule, fast, E, A, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, M):
    """(weight, overflow flag) of one pair (neighbors and sptl, whose changes are a few pairs)."""
    if A[i, j] != 0:
        return 0.0, False
    if fast:
        if rule == 0:
            return E[i, j], False
        idx = _index(rule, i, j, k, CN, n2)  # neighbors: the table is filled when the stage starts
        return E[i, j] * tab[idx], False
    if E[i, j] == -np.inf:
        return 0.0, False
    d = E[i, j] + _topo_lg(rule, i, j, k, CN, cl, tab, n2, gamma, eps, kexp) - M
    return np.exp(d), d > _OVERFLOW


@njit(cache=True, nogil=True, _nrt=False, fastmath=_FM)
def _row_sum(W, off, i, n):
    """Exact (vectorised) sum of row i of the packed triangle."""
    s = 0.0
    base = off[i] - i - 1
    for j in range(i + 1, n):
        s += W[base + j]
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
        Ri = _row_sum(W, off, i, R.shape[0])
        pk = Ri
    R[i] = Ri
    peak[i] = pk


@njit(cache=True, nogil=True, _nrt=False)
def _apply_pair(i, j, w, W, off, R, peak):
    """Set the weight of pair (i, j) and move its row sum by the difference."""
    if i > j:
        i, j = j, i
    p = off[i] + j - i - 1
    d = w - W[p]
    W[p] = w
    _move_sum(i, d, W, off, R, peak)


@njit(cache=True, nogil=True, _nrt=False, fastmath=_FM)
def _apply_row(r, buf, W, off, R, peak, old):
    """Set the weights of every pair (r, j) from ``buf``, moving the row sums by the differences.

    Row r of the packed triangle is contiguous; its pairs with earlier nodes are one entry in
    each earlier row: gathered (into ``old``), their row sums moved in one vectorised pass,
    then scattered, with no branch per pair.
    """
    n = R.shape[0]
    base = off[r] - r - 1
    ds = 0.0
    for j in range(r + 1, n):
        w = buf[j]
        ds += w - W[base + j]
        W[base + j] = w
    _move_sum(r, ds, W, off, R, peak)
    for i in range(r):
        old[i] = W[off[i] + r - i - 1]
    low = False
    for i in range(r):
        Ri = R[i] + (buf[i] - old[i])
        pk = max(peak[i], Ri)
        R[i] = Ri
        peak[i] = pk
        low |= Ri < _RESUM * pk
    for i in range(r):
        W[off[i] + r - i - 1] = buf[i]
    if low:
        for i in range(r):
            if R[i] < _RESUM * peak[i]:
                R[i] = peak[i] = _row_sum(W, off, i, n)


@njit(cache=True, nogil=True, _nrt=False, fastmath=_FM)
def _totals(R, bsum):
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
def _pick(R, bsum, W, off, T, u):
    """Pair (i, j), i < j, drawn with probability W_ij / T (u uniform in [0, 1)); (-1, row) when
    the row drawn turned out empty (its sum was rounding residue: re-sum it, draw again).

    A block of rows by the block sums, a row in the block, then a column in the packed row;
    rounding at the end of a scan falls back to its last non-empty entry.
    """
    n = R.shape[0]
    target = u * T
    cum = 0.0
    blk = -1
    for b in range(bsum.shape[0]):
        sb = bsum[b]
        if sb > 0.0:
            blk = b
            if cum + sb > target:
                break
            cum += sb
    row = -1
    for i in range(32 * blk, min(n, 32 * blk + 32)):
        Ri = R[i]
        if Ri > 0.0:
            row = i
            if cum + Ri > target:
                break
            cum += Ri
    target -= cum
    base = off[row] - row - 1
    acc = 0.0
    col = -1
    for j in range(row + 1, n):
        w = W[base + j]
        if w > 0.0:
            col = j
            acc += w
            if acc > target:
                break
    if col < 0:
        return -1, row
    return row, col


@njit(cache=True, nogil=True)
def _init_state(A, k, CN, tri):
    """Degrees, common neighbours and triangles of the seed (sparse loops)."""
    n = A.shape[0]
    nb = np.empty(n, np.int64)
    nedges = 0
    for w in range(n):
        c = 0
        for x in range(n):
            if A[w, x]:
                nb[c] = x
                c += 1
        k[w] = c
        nedges += c
        for p in range(c):
            for q in range(c):
                if p != q:
                    CN[nb[p], nb[q]] += 1
    for i in range(n):
        s = 0
        for j in range(n):
            if A[i, j]:
                s += CN[i, j]
        tri[i] = s // 2
    return nedges // 2


@njit(cache=True, nogil=True, _nrt=False)
def _set_node(i, rule, fast, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG):
    """Refresh the clustering of node i (and its factor for clu-min/clu-max); list it in ``nz``
    once its clustering is non-zero. Return the length of the list."""
    ki = k[i]
    c = 0.0 if ki < 2 else 2.0 * tri[i] / (ki * (ki - 1.0))
    cl[i] = c
    if fast and (rule == 4 or rule == 5):
        P[i] = exp_le0(_lg(c, gamma, eps, kexp) - MG)
    if c != 0.0 and not innz[i]:
        innz[i] = True
        nz[nnz] = i
        nnz += 1
    return nnz


@njit(cache=True, nogil=True, _nrt=False, error_model="numpy")
def _stage_weights(rule, X, eta, gamma, eps, kexp, alive, E, fast_range):
    """Distance part E of the stage (in place) and the mode: (fast, MG, MX).

    E is ``exp(eta X - MX)`` on the factored path and ``eta X`` in log space; 0 / -inf for
    self pairs and pairs with an unborn node.
    """
    n = E.shape[0]
    MX = -np.inf
    mX = np.inf
    for i in range(n):
        if not alive[i]:
            continue
        for j in range(i + 1, n):
            if alive[j]:
                v = eta * X[i, j]
                MX = max(MX, v)
                mX = min(mX, v)
    if rule == 0:
        MG = 0.0
        spread = 0.0
    else:
        g0 = _lg(0.0, gamma, eps, kexp)
        g1 = _lg(_k_max(rule, n), gamma, eps, kexp)
        MG = max(g0, g1)
        spread = abs(g1 - g0)
    fast = MX > -np.inf and (MX - mX) + spread < fast_range and eps >= 1e-300  # normal K + eps
    dead = 0.0 if fast else -np.inf
    for i in range(n):
        Ei = E[i]
        Xi = X[i]
        if not alive[i]:
            for j in range(n):
                Ei[j] = dead
        elif fast:
            for j in range(n):
                Ei[j] = exp_le0(eta * Xi[j] - MX) if alive[j] else 0.0
        else:
            for j in range(n):
                Ei[j] = eta * Xi[j] if alive[j] else -np.inf
        Ei[i] = dead
    return fast, MG, MX


@njit(cache=True, nogil=True, _nrt=False)
def _rebuild(rule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, W, off, R, peak, buf, gbuf):
    """Recompute every weight from the state; return the offset M (log space) or 0."""
    n = A.shape[0]
    M = 0.0
    if not fast:  # the offset is the largest log-weight of a candidate
        M = -np.inf
        for i in range(n):
            _row_log(i, rule, E, A, k, CN, cl, tab, n2, gamma, eps, kexp, buf)
            for j in range(i + 1, n):
                M = max(M, buf[j])
        if M == -np.inf:
            M = 0.0
    for i in range(n):
        _row(i, rule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, M, buf, gbuf)
        base = off[i] - i - 1
        for j in range(i + 1, n):
            W[base + j] = buf[j]
        s = _row_sum(W, off, i, n)
        R[i] = s
        peak[i] = s
    return M


@njit(cache=True, nogil=True)
def _workspace(n, rule):
    """Every array a network of n nodes needs, allocated once per batch."""
    off = np.empty(n, np.int64)
    for i in range(n):
        off[i] = i * (2 * n - i - 1) // 2
    return (
        np.empty((n, n), np.uint8),  # A
        np.empty(n, np.int64),  # k
        np.empty((n, n), np.int32),  # CN
        np.empty(n, np.int64),  # tri
        np.empty(n),  # cl
        np.empty(n),  # P
        np.empty((n, n), np.int32),  # adj
        np.empty((n, n)),  # E
        np.empty(max(n * (n - 1) // 2, 1)),  # W
        off,
        np.empty(n),  # R
        np.empty(n),  # peak
        np.empty(_table_size(rule, n)),  # tab
        np.empty(n),  # buf
        np.empty(n),  # gbuf
        np.empty(n, np.int64),  # nz
        np.empty(n, np.bool_),  # innz
        np.empty(n, np.int64),  # common
        np.empty(n, np.bool_),  # alive
        np.empty((n + 31) // 32),  # bsum
    )


@njit(cache=True, nogil=True)
def _grow(A0, X, stage_x, stage_end, birth, rule, eta, gamma, eps, kexp, U, order, fast_range, ws):
    """Grow one network in the workspace ``ws``; return (M, steps) with ``W = exp(L - M)``; see
    :func:`grow_state`."""
    A, k, CN, tri, cl, P, adj, E, W, off, R, peak, tab, buf, gbuf, nz, innz, common, alive, bsum = ws
    n = A0.shape[0]
    n2 = 2 * n - 1
    for i in range(n):
        for j in range(n):
            A[i, j] = A0[i, j]
            CN[i, j] = 0
        k[i] = 0
        tri[i] = 0
        cl[i] = 0.0
        P[i] = 1.0
        innz[i] = False
    nnz = 0
    nedges = _init_state(A, k, CN, tri)
    tmax = 0  # what the table must reach: the largest CN (matching) or degree (deg-prod)
    for i in range(n):
        c = 0
        for j in range(n):
            if A[i, j]:
                adj[i, c] = j
                c += 1
            if rule == 2:
                tmax = max(tmax, CN[i, j])
        if rule == 12:
            tmax = max(tmax, k[i])
    clu = 3 <= rule <= 7
    rows = rule == 2 or rule >= 8 or clu  # rules whose changed pairs are whole rows
    step = 0
    M = 0.0
    fast = True
    MG = 0.0
    MX = 0.0
    for s in range(stage_end.shape[0]):
        if nedges >= stage_end[s]:
            continue
        for i in range(n):
            alive[i] = birth[i] <= s
        fast, MG, MX = _stage_weights(rule, X[stage_x[s]], eta, gamma, eps, kexp, alive, E, fast_range)
        _fill_table(rule, n, n2, tab, -1, tmax, fast, gamma, eps, kexp, MG)
        tfill = tmax
        if clu:
            for i in range(n):
                nnz = _set_node(i, rule, fast, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG)
        M = _rebuild(rule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, W, off, R, peak, buf,
                     gbuf)
        while nedges < stage_end[s]:
            T = _totals(R, bsum)
            if not fast and (not (T > _TINY) or not np.isfinite(T)):
                M = _rebuild(rule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, W, off, R,
                             peak, buf, gbuf)
                T = _totals(R, bsum)
            a, b = _pick(R, bsum, W, off, T, U[step])
            while a < 0:  # rounding residue of an emptied row b: re-sum it, draw again
                R[b] = peak[b] = _row_sum(W, off, b, n)
                T = _totals(R, bsum)
                a, b = _pick(R, bsum, W, off, T, U[step])
            order[step, 0] = a
            order[step, 1] = b
            step += 1
            nedges += 1
            # --- topology: common neighbours of (a, b) before the edge ---
            nc = 0
            ka = k[a]
            kb = k[b]
            for p in range(ka):
                w = adj[a, p]
                if A[b, w]:
                    common[nc] = w
                    nc += 1
            # every old neighbour x of a now shares the neighbour a with b (and vice versa)
            for p in range(ka):
                x = adj[a, p]
                v = CN[b, x] + 1
                CN[b, x] = v
                CN[x, b] = v
                tmax = max(tmax, v)
            for p in range(kb):
                y = adj[b, p]
                v = CN[a, y] + 1
                CN[a, y] = v
                CN[y, a] = v
                tmax = max(tmax, v)
            A[a, b] = 1
            A[b, a] = 1
            adj[a, ka] = b
            adj[b, kb] = a
            k[a] = ka + 1
            k[b] = kb + 1
            tri[a] += nc
            tri[b] += nc
            for p in range(nc):
                tri[common[p]] += 1
            if rule == 12:
                tmax = max(k[a], k[b], tfill)
            if (rule == 2 or rule == 12) and tmax > tfill:
                _fill_table(rule, n, n2, tab, tfill, tmax, fast, gamma, eps, kexp, MG)
                tfill = tmax
            # --- weights of the pairs whose K changed ---
            over = False
            if rows:
                if clu:
                    nnz = _set_node(a, rule, fast, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG)
                    nnz = _set_node(b, rule, fast, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG)
                    for p in range(nc):
                        nnz = _set_node(common[p], rule, fast, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG)
                nrows = 2 + nc if clu else 2
                for q in range(nrows):
                    r = a if q == 0 else (b if q == 1 else common[q - 2])
                    over |= _row(r, rule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, M, buf,
                                 gbuf)
                    _apply_row(r, buf, W, off, R, peak, gbuf)
            else:
                _apply_pair(a, b, 0.0, W, off, R, peak)
                if rule == 1:
                    for p in range(ka):
                        x = adj[a, p]
                        w, o = _pair(b, x, rule, fast, E, A, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, M)
                        _apply_pair(b, x, w, W, off, R, peak)
                        over |= o
                    for p in range(kb):
                        y = adj[b, p]
                        w, o = _pair(a, y, rule, fast, E, A, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, M)
                        _apply_pair(a, y, w, W, off, R, peak)
                        over |= o
            if over:
                M = _rebuild(rule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, W, off, R,
                             peak, buf, gbuf)
    if fast:
        M = MX + MG  # W = exp(L - M) on the factored path too
    return M, step


@njit(cache=True, nogil=True)
def grow_state(A0, X, stage_x, stage_end, birth, rule, eta, gamma, eps, kexp, U, order, fast_range):
    """Grow one network; return its final state ``(A, k, CN, tri, E, W, R, M, steps)`` (testing aid).

    ``X[q]`` is the distance feature (``log D`` for the powerlaw, ``D`` for the exponential
    model) used in stage ``s`` where ``q = stage_x[s]``; stage ``s`` runs until the network
    holds ``stage_end[s]`` edges; node ``i`` can connect from stage ``birth[i]`` on.
    ``U`` holds one uniform number per added edge; ``order`` receives the added pairs.
    ``fast_range`` bounds the dynamic range of the factored path (0 forces log space).
    On return ``W`` (n x n, symmetric, unpacked) is ``exp(L - M)`` for every candidate pair
    of the last stage (``M`` = the offset; ``MX + MG`` on the factored path) and ``R[i]`` the
    incrementally kept sum of ``W[i, i+1:]``.
    """
    n = A0.shape[0]
    ws = _workspace(n, rule)
    M, step = _grow(A0, X, stage_x, stage_end, birth, rule, eta, gamma, eps, kexp, U, order, fast_range, ws)
    A, k, CN, tri, cl, P, adj, E, Wp, off, R, peak, tab, buf, gbuf, nz, innz, common, alive, bsum = ws
    W = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            W[i, j] = Wp[off[i] + j - i - 1]
            W[j, i] = W[i, j]
    return A.copy(), k.copy(), CN.astype(np.int64), tri.copy(), E.copy(), W, R.copy(), M, step


@njit(cache=True, nogil=True)
def run_batch(lo, hi, A0, X, stage_x, stage_end, birth, rule, etas, gammas, eps, kexp, U, A_out, order):
    """Grow networks ``lo..hi-1`` of a batch (each with its own eta, gamma and uniforms) into
    ``A_out`` (bool) and ``order``; one workspace serves them all."""
    n = A0.shape[0]
    ws = _workspace(n, rule)
    A = ws[0]
    for b in range(lo, hi):
        _grow(A0, X, stage_x, stage_end, birth, rule, etas[b], gammas[b], eps, kexp, U[b], order[b], FAST_RANGE, ws)
        for i in range(n):
            for j in range(n):
                A_out[b, i, j] = A[i, j] != 0


@njit(cache=True, nogil=True)
def state_of(A, rule, X, eta, gamma, eps, kexp):
    """Full recomputation of (k, CN, tri, L) for a network ``A`` (testing aid; log space)."""
    n = A.shape[0]
    k = np.zeros(n, np.int64)
    CN = np.zeros((n, n), np.int64)
    tri = np.zeros(n, np.int64)
    _init_state(A, k, CN, tri)
    cl = np.zeros(n)
    P = np.ones(n)
    nz = np.empty(n, np.int64)
    innz = np.zeros(n, np.bool_)
    nnz = 0
    for i in range(n):
        nnz = _set_node(i, rule, False, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, 0.0)
    tab = np.empty(_table_size(rule, n))
    _fill_table(rule, n, 2 * n - 1, tab, -1, max(n - 2, 0) if rule == 2 else n - 1, False, gamma, eps, kexp, 0.0)
    L = np.full((n, n), -np.inf)
    for i in range(n):
        for j in range(n):
            if i != j and A[i, j] == 0:
                L[i, j] = eta * X[i, j] + _topo_lg(rule, i, j, k, CN, cl, tab, 2 * n - 1, gamma, eps, kexp)
    return k, CN, tri, L
