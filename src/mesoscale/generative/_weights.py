"""Pair weights of the generative network engine (internal): tables, rows, stage distances.

A pair's log-weight is ``L_ij = eta * X_ij + log g(K_ij)`` with ``log g(K) = gamma *
log(K + eps)`` (powerlaw) or ``gamma * (K + eps)`` (exponential); see :mod:`._kernels` for the
two ways the engine holds ``W = exp(L - M)`` (factored, or log space with a movable offset).
This module computes them: the distance factor ``E`` of a stage, the topology tables, and the
weights of one pair or of every pair of one node (a *row*, one branch-free loop per rule).
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
OVERFLOW = 600.0  # log space: rebuild when a log-weight exceeds the offset by this much
SLACK = 1.25  # lazy bounds of thinning: a refreshed node bound is its factor times this (at most 1)
LOOSE = 2.0  # lazy bounds: a node bound is refreshed once it exceeds its factor this many times


@njit(cache=True, nogil=True, _nrt=False)
def lg(K, gamma, eps, kexp):
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
def k_max(rule, n):
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
def table_size(rule, n):
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
    if rule == 8:
        return k[i] + k[j]  # deg-avg: the integer behind K = (k_i + k_j) / 2
    if rule == 9:  # integer forms of _combine (its mean is a float, which would make every index one)
        return min(k[i], k[j])
    if rule == 10:
        return max(k[i], k[j])
    if rule == 11:
        return abs(k[i] - k[j])
    return k[i] * k[j]


@njit(cache=True, nogil=True, _nrt=False)
def _table_value(rule, idx, n2, gamma, eps, kexp, fast, MG):
    """Table entry: G = exp(log g(K) - MG) on the factored path, log g(K) in log space."""
    g = lg(_k_of_index(rule, idx, n2), gamma, eps, kexp)
    return exp_le0(g - MG) if fast else g


@njit(cache=True, nogil=True, _nrt=False)
def fill_table(rule, n, n2, tab, lo, hi, fast, gamma, eps, kexp, MG):
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
def topo_lg(rule, i, j, k, CN, cl, tab, n2, gamma, eps, kexp):
    """log g(K_ij) (log space; the table holds log g and is filled as far as the state reaches)."""
    if rule == 0:
        return 0.0
    if rule <= 7 and rule >= 3:
        return lg(_combine(rule - 3, cl[i], cl[j]), gamma, eps, kexp)
    return tab[_index(rule, i, j, k, CN, n2)]


@njit(cache=True, nogil=True, _nrt=False, error_model="numpy")
def _clu_g(rule, cr, c, nnz, gamma, eps, kexp, MG, x):
    """x[q] = G = exp(log g(K) - MG) of clu-avg, clu-diff or clu-prod for the clustering values
    cr and c[q], q < nnz (one branch-free loop per case)."""
    if rule == 3:
        for q in range(nnz):
            x[q] = 0.5 * (cr + c[q]) + eps
    elif rule == 6:
        for q in range(nnz):
            x[q] = abs(cr - c[q]) + eps
    else:
        for q in range(nnz):
            x[q] = cr * c[q] + eps
    if kexp:
        for q in range(nnz):
            x[q] = exp_le0(gamma * x[q] - MG)
    else:
        for q in range(nnz):
            x[q] = exp_le0(gamma * log_pos(x[q]) - MG)


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
    elif rule == 4 or rule == 5:  # per-node factors: 4 takes the smaller, 5 the larger (see row_rule)
        pr = P[r]
        if rule == 4:
            for j in range(n):
                buf[j] = Er[j] * min(pr, P[j]) if Ar[j] == 0 else 0.0
        else:
            for j in range(n):
                buf[j] = Er[j] * max(pr, P[j]) if Ar[j] == 0 else 0.0
    elif rule == 3 or rule == 6 or rule == 7:
        cr = cl[r]
        gbuf[0] = 0.0
        _clu_g(rule, cr, gbuf, 1, gamma, eps, kexp, MG, gbuf)
        g0 = gbuf[0]
        for j in range(n):
            buf[j] = Er[j] * g0 if Ar[j] == 0 else 0.0
        for q in range(nnz):
            gbuf[q] = cl[nz[q]]
        _clu_g(rule, cr, gbuf, nnz, gamma, eps, kexp, MG, gbuf)
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
def row_log_weights(r, rule, E, A, k, CN, cl, tab, n2, gamma, eps, kexp, buf):
    """Log-weights ``eta X + log g(K)`` of every pair (r, j) into ``buf`` (-inf for non-candidates)."""
    n = A.shape[0]
    for j in range(n):
        if j == r or A[r, j] != 0 or E[r, j] == -np.inf:
            buf[j] = -np.inf
        else:
            buf[j] = E[r, j] + topo_lg(rule, r, j, k, CN, cl, tab, n2, gamma, eps, kexp)


@njit(cache=True, nogil=True, _nrt=False)
def row_weights(r, rule, rowrule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, M, buf, gbuf):
    """Weights of every pair (r, j) into ``buf``; return the overflow flag (log space).

    On the factored path the row is that of ``rowrule`` (:func:`row_rule`: the rule itself, or
    the per-node bound of a clustering rule drawn by thinning); log space uses ``rule``.
    """
    if fast:
        _row_fast(r, rowrule, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, buf, gbuf)
        return False
    row_log_weights(r, rule, E, A, k, CN, cl, tab, n2, gamma, eps, kexp, buf)
    over = False
    for j in range(A.shape[0]):
        d = buf[j] - M
        over |= d > OVERFLOW
        buf[j] = np.exp(d)
    return over


@njit(cache=True, nogil=True, _nrt=False)
def pair_weight(i, j, rule, fast, E, A, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, M):
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
    d = E[i, j] + topo_lg(rule, i, j, k, CN, cl, tab, n2, gamma, eps, kexp) - M
    return np.exp(d), d > OVERFLOW


@njit(cache=True, nogil=True, _nrt=False)
def set_node(i, pmode, lazy, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG):
    """Refresh the clustering c of node i and its per-node factor P (``pmode`` 1: G(c), 2: G(c / 2),
    0: none); list it in ``nz`` once its clustering is non-zero. Return (length of the list,
    whether the rows of node i must be recomputed).

    ``lazy`` (thinning): ``P[i]`` holds a *bound* of the factor, not the factor itself: it is
    kept while ``factor <= P[i] <= LOOSE * factor`` (the held rows stay upper bounds of the
    weights, and thinning accepts with the exact weight), else set to ``min(1, SLACK * factor)``
    and the rows must be recomputed. The clustering of a common neighbour rises by one triangle
    per added edge, so its held rows usually survive a few edges.
    """
    ki = k[i]
    c = 0.0 if ki < 2 else 2.0 * tri[i] / (ki * (ki - 1.0))
    cl[i] = c
    refresh = True
    if pmode:
        pt = exp_le0(lg(c if pmode == 1 else 0.5 * c, gamma, eps, kexp) - MG)
        if not lazy:
            P[i] = pt
        elif pt > P[i] or LOOSE * pt < P[i]:
            P[i] = min(1.0, SLACK * pt)
        else:
            refresh = False
    if c != 0.0 and not innz[i]:
        innz[i] = True
        nz[nnz] = i
        nnz += 1
    return nnz, refresh


@njit(cache=True, nogil=True, _nrt=False)
def bound_mode(rule, gamma):
    """How the clustering rules are drawn on the factored path: 0 exact rows, else by thinning
    from per-node bounds (1: P >= G(c), 2: P >= G(c / 2); see :func:`row_rule`), held lazily
    (:func:`set_node`).

    g is monotone in K (increasing for gamma > 0), and K is bounded by one node's value:
    clu-avg: max(c_i, c_j) / 2 <= K <= max(c_i, c_j); clu-diff: K <= max(c_i, c_j);
    clu-prod: K <= min(c_i, c_j). So G(K) <= max(G(c_i), G(c_j)) (clu-avg, clu-diff, gamma > 0),
    min(G(c_i / 2), G(c_j / 2)) (clu-avg, gamma < 0), min(G(c_i), G(c_j)) (clu-prod, gamma > 0).
    clu-min and clu-max are G(K) = min or max of G(c_i), G(c_j) exactly (both signs of gamma): the
    bound is the weight itself until the held node factors grow stale.
    clu-diff and clu-prod with gamma < 0 have no useful per-node bound (K can be 0): exact rows.
    """
    if rule == 3:
        return 2 if gamma < 0.0 else 1
    if rule == 4 or rule == 5 or ((rule == 6 or rule == 7) and gamma >= 0.0):
        return 1
    return 0


@njit(cache=True, nogil=True, _nrt=False)
def row_rule(rule, gamma, bmode):
    """Rule code of the factored rows: the rule itself, except 4 (the smaller per-node factor)
    or 5 (the larger) for clu-min/clu-max (g decreasing when gamma < 0 swaps them) and for the
    thinning bounds of :func:`bound_mode`."""
    if rule == 4 or rule == 5:
        return 4 if (rule == 4) == (gamma >= 0.0) else 5
    if bmode == 0:
        return rule
    if rule == 7 or bmode == 2:
        return 4
    return 5


@njit(cache=True, nogil=True, _nrt=False, error_model="numpy")
def accept_ratio(rule, rowrule, i, j, cl, P, gamma, eps, kexp, MG):
    """Thinning: the exact factor G(K_ij) over the bound held for the pair (at most 1 up to
    rounding; the pair is kept with this probability)."""
    g = exp_le0(lg(_combine(rule - 3, cl[i], cl[j]), gamma, eps, kexp) - MG)
    pb = min(P[i], P[j]) if rowrule == 4 else max(P[i], P[j])
    return g / pb


@njit(cache=True, nogil=True, _nrt=False, error_model="numpy")
def stage_weights(rule, X, eta, gamma, eps, kexp, alive, E, fast_range):
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
        g0 = lg(0.0, gamma, eps, kexp)
        g1 = lg(k_max(rule, n), gamma, eps, kexp)
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
