"""Numba kernels of the generative network engine (internal).

One kernel serves all thirteen wiring rules and both growth modes (all nodes present
from the start, or nodes that appear stage by stage with stage-specific distances).

State kept per network, updated incrementally after every added edge:

* ``A`` adjacency (uint8), ``k`` degrees, ``CN`` common-neighbour counts (``A @ A`` off
  the diagonal), ``tri`` triangles and ``cl`` clustering per node (integers where they
  can be, so the incremental state equals a full recomputation exactly);
* ``W`` weights of the candidate pairs (symmetric, 0 for edges, self pairs and unborn
  nodes) and ``R`` their row sums (updated by differences, re-summed exactly when
  cancellation could matter). Sampling picks a row by its sum, then a column in the
  row: O(n) per edge instead of a cumulative sum over all n^2/2 pairs.

A pair's log-weight is ``L_ij = eta * X_ij + log g(K_ij)`` with ``log g(K) = gamma *
log(K + eps)`` (powerlaw) or ``gamma * (K + eps)`` (exponential). Two exact ways of
holding ``W = exp(L - M)``:

* **factored** (the fast path): ``W_ij = F_ij * G(K_ij)`` with ``F = exp(eta X - max)``
  computed once per stage and ``G = exp(log g - max)``. ``G`` comes from a table memoised
  per network wherever ``K`` is a function of integers (``neighbors``: ``CN``;
  ``matching``: ``(CN, k_i + k_j)``; the degree rules: the integer behind ``K``), and from
  one per-node factor for ``clu-min``/``clu-max`` (``g`` is monotone, so ``g(min(a, b)) =
  min(g(a), g(b))`` or ``max`` when ``gamma < 0``). Updating a pair then costs a table
  read and a product, not a ``log`` and an ``exp``; only ``clu-avg``, ``clu-diff`` and
  ``clu-prod`` evaluate ``g`` per pair. Both factors lie in ``(0, 1]``, and the path is
  used only when their combined dynamic range (known before growth starts) is below
  ``fast_range`` (700 nats), so no candidate weight can underflow;
* **log space with a movable offset** (wider ranges, i.e. extreme parameters): ``M`` is
  reset to the current maximum whenever a new log-weight exceeds it by more than
  ``_OVERFLOW`` or the total weight becomes too small to sample from, so weights never
  overflow and the largest candidate always has weight 1.

After an edge (a, b) only the pairs whose K changed are recomputed: none for ``sptl``;
(b, N(a)) and (a, N(b)) for ``neighbors``; the rows of a and b for ``matching`` (only
pairs with a common neighbour: the others keep K = 0) and the degree rules; the rows
of a, b and their common neighbours (whose clustering changed) for the clustering rules.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._vecmath import exp_nonpositive, log_positive

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
    """Entries of the memo table: indexed by CN, (CN, k_i + k_j) or the integer behind K."""
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
def _key(rule, i, j, k, CN, n2):
    """(table index, K) of a candidate pair for the table rules (neighbors, matching, deg-*)."""
    if rule == 1:
        c = CN[i, j]
        return c, float(c)
    if rule == 2:
        c = CN[i, j]
        if c == 0:
            return 0, 0.0
        s = k[i] + k[j]
        return c * n2 + s, 2.0 * c / s
    ki = k[i]
    kj = k[j]
    r = rule - 8
    if r == 0:
        v = ki + kj
        return v, 0.5 * v
    if r == 1:
        v = min(ki, kj)
    elif r == 2:
        v = max(ki, kj)
    elif r == 3:
        v = abs(ki - kj)
    else:
        v = ki * kj
    return v, float(v)


@njit(cache=True, nogil=True, _nrt=False)
def _topo(rule, i, j, fast, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG):
    """Topology factor of pair (i, j): G = exp(log g(K) - MG) (factored) or log g(K) (log space).

    Table entries are memoised (NaN = not yet computed); the table holds the kind of value
    of the current mode.
    """
    if rule == 0:
        return 1.0 if fast else 0.0
    if rule <= 7 and rule >= 3:
        r = rule - 3
        if fast and (r == 1 or r == 2):
            pick_min = (r == 1) == (gamma >= 0.0)
            return min(P[i], P[j]) if pick_min else max(P[i], P[j])
        K = _combine(r, cl[i], cl[j])
        if fast:
            return np.exp(_lg(K, gamma, eps, kexp) - MG)
        return _lg(K, gamma, eps, kexp)
    idx, K = _key(rule, i, j, k, CN, n2)
    g = tab[idx]
    if g != g:
        g = _lg(K, gamma, eps, kexp)
        if fast:
            g = np.exp(g - MG)
        tab[idx] = g
    return g


@njit(cache=True, nogil=True, _nrt=False)
def _weight(rule, i, j, fast, E, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, M):
    """(weight, log-weight - M) of candidate pair (i, j); the second is 0 on the factored path."""
    t = _topo(rule, i, j, fast, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG)
    if fast:
        return E[i, j] * t, 0.0
    d = E[i, j] + t - M
    return np.exp(d), d


@njit(cache=True, nogil=True, _nrt=False)
def _set_node_factor(i, rule, fast, k, tri, cl, P, gamma, eps, kexp, MG):
    """Refresh the clustering of node i (and its factor for clu-min/clu-max)."""
    ki = k[i]
    c = 0.0 if ki < 2 else 2.0 * tri[i] / (ki * (ki - 1.0))
    cl[i] = c
    if fast and (rule == 4 or rule == 5):
        P[i] = np.exp(_lg(c, gamma, eps, kexp) - MG)


@njit(cache=True, nogil=True)
def _stage_weights(rule, X, eta, gamma, eps, kexp, alive, n, fast_range):
    """Distance part E of the stage and the mode: (E, fast, MG, MX).

    E is ``exp(eta X - MX)`` on the factored path and ``eta X`` in log space, -inf/0 for
    dead pairs.
    """
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
    E = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            if alive[i] and alive[j]:
                v = eta * X[i, j]
                e = np.exp(v - MX) if fast else v
            else:
                e = 0.0 if fast else -np.inf
            E[i, j] = e
            E[j, i] = e
    return E, fast, MG, MX


@njit(cache=True, nogil=True, _nrt=False)
def _rebuild(rule, fast, E, A, alive, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, W, R, peak):
    """Recompute every weight from the state; return the offset M (log space) or MX + MG."""
    n = A.shape[0]
    M = 0.0
    if not fast:  # the offset is the largest log-weight of a candidate
        M = -np.inf
        for i in range(n):
            for j in range(i + 1, n):
                if alive[i] and alive[j] and A[i, j] == 0:
                    M = max(M, E[i, j] + _topo(rule, i, j, False, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG))
    for i in range(n):
        for j in range(i + 1, n):
            w = 0.0
            if alive[i] and alive[j] and A[i, j] == 0:
                w = _weight(rule, i, j, fast, E, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, M)[0]
            W[i, j] = w
            W[j, i] = w
    for i in range(n):
        s = 0.0
        for j in range(n):
            s += W[i, j]
        R[i] = s
        peak[i] = s
    return M


@njit(cache=True, nogil=True, _nrt=False)
def _add_to_row_sum(j, d, R, peak):
    """R[j] += d, remembering the largest value the sum held since it was last exact.

    Row sums are updated by differences. Rounding leaves an absolute error of about 1e-16
    times that peak, so :func:`_check_sums` re-sums a row exactly once its sum falls below
    _RESUM * peak.
    """
    Rj = R[j]
    peak[j] = max(peak[j], Rj)
    R[j] = Rj + d


@njit(cache=True, nogil=True, _nrt=False)
def _check_sums(W, R, peak):
    """Re-sum exactly every row whose sum could have lost its precision."""
    n = R.shape[0]
    for i in range(n):
        if R[i] < _RESUM * peak[i]:
            sm = 0.0
            for j in range(n):
                sm += W[i, j]
            R[i] = sm
            peak[i] = sm


@njit(cache=True, nogil=True, _nrt=False)
def _update_pair(i, j, rule, fast, E, A, alive, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, M, W, R, peak):
    """Recompute pair (i, j); return the overflow flag (log space)."""
    w = 0.0
    over = False
    if alive[i] and alive[j] and A[i, j] == 0:
        w, d = _weight(rule, i, j, fast, E, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, M)
        over = d > _OVERFLOW
    old = W[i, j]
    W[i, j] = w
    W[j, i] = w
    _add_to_row_sum(i, w - old, R, peak)
    _add_to_row_sum(j, w - old, R, peak)
    return over


@njit(cache=True, nogil=True, _nrt=False)
def _row_weights(r, rule, fast, E, A, alive, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, M, W, buf, bufi, kb):
    """New weights of every pair (r, j) into ``buf``; return the overflow flag (log space).

    The factored clu-min/clu-max rows are a branch-free loop over per-node factors.
    """
    n = A.shape[0]
    if not alive[r]:
        for j in range(n):
            buf[j] = 0.0
        return False
    if fast and (rule == 4 or rule == 5):
        pr = P[r]
        if (rule == 4) == (gamma >= 0.0):
            for j in range(n):
                buf[j] = E[r, j] * min(pr, P[j]) if A[r, j] == 0 else 0.0
        else:
            for j in range(n):
                buf[j] = E[r, j] * max(pr, P[j]) if A[r, j] == 0 else 0.0
        buf[r] = 0.0
        return False
    if fast and (rule == 3 or rule == 6 or rule == 7):  # g per pair, vectorised
        cr = cl[r]
        if rule == 3:
            for j in range(n):
                buf[j] = 0.5 * (cr + cl[j]) + eps
        elif rule == 6:
            for j in range(n):
                buf[j] = abs(cr - cl[j]) + eps
        else:
            for j in range(n):
                buf[j] = cr * cl[j] + eps
        if not kexp:
            log_positive(buf, bufi, kb, n)
        exp_nonpositive(buf, bufi, kb, n, gamma, -MG)
        for j in range(n):
            buf[j] = E[r, j] * buf[j] if A[r, j] == 0 else 0.0
        buf[r] = 0.0
        return False
    over = False
    for j in range(n):
        if j == r or (rule == 2 and CN[r, j] == 0):
            buf[j] = W[r, j]  # matching: K stays 0 whatever the degrees, so the weight is unchanged
            continue
        w = 0.0
        if alive[j] and A[r, j] == 0:
            w, d = _weight(rule, r, j, fast, E, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, M)
            if d > _OVERFLOW:
                over = True
        buf[j] = w
    return over


@njit(cache=True, nogil=True, _nrt=False)
def _set_row(r, buf, W, R, peak):
    """Write row and column r of W from ``buf``, update the other row sums, re-sum row r."""
    n = R.shape[0]
    sm = 0.0
    for j in range(n):
        w = buf[j]
        d = w - W[r, j]
        W[r, j] = w
        Rj = R[j]
        peak[j] = max(peak[j], Rj)
        R[j] = Rj + d
        sm += w
    for j in range(n):
        W[j, r] = buf[j]
    R[r] = sm
    peak[r] = sm


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
def _pick(R, W, u):
    """Index pair drawn with probability proportional to W (u uniform in [0, 1))."""
    n = R.shape[0]
    T = 0.0
    for i in range(n):
        T += R[i]
    target = u * T
    cum = 0.0
    row = -1
    last = -1
    for i in range(n):
        if R[i] > 0.0:
            last = i
            if cum + R[i] > target:
                row = i
                break
            cum += R[i]
    if row < 0:
        row = last
        cum = T - R[row]
    target -= cum
    cum = 0.0
    col = -1
    last = -1
    for j in range(n):
        w = W[row, j]
        if w > 0.0:
            last = j
            cum += w
            if cum > target:
                col = j
                break
    if col < 0:
        col = last
    return row, col


@njit(cache=True, nogil=True)
def grow_state(A0, X, stage_x, stage_end, birth, rule, eta, gamma, eps, kexp, U, order, fast_range):
    """Grow one network; return its final state ``(A, k, CN, tri, E, W, R, M, steps)``.

    ``X[q]`` is the distance feature (``log D`` for the powerlaw, ``D`` for the exponential
    model) used in stage ``s`` where ``q = stage_x[s]``; stage ``s`` runs until the network
    holds ``stage_end[s]`` edges; node ``i`` can connect from stage ``birth[i]`` on.
    ``U`` holds one uniform number per added edge; ``order`` receives the added pairs.
    ``fast_range`` bounds the dynamic range of the factored path (0 forces log space).
    On return ``W = exp(L - M)`` for every candidate pair of the last stage.
    """
    n = A0.shape[0]
    A = A0.copy()
    k = np.zeros(n, np.int64)
    CN = np.zeros((n, n), np.int64)
    tri = np.zeros(n, np.int64)
    cl = np.zeros(n)
    P = np.ones(n)
    W = np.zeros((n, n))
    E = np.zeros((n, n))
    R = np.zeros(n)
    peak = np.zeros(n)
    alive = np.zeros(n, np.bool_)
    buf = np.zeros(n)
    bufi = buf.view(np.int64)  # the same memory, for the bit operations of _vecmath
    kb = np.zeros(n, np.int64)
    common = np.empty(n, np.int64)
    n2 = 2 * n - 1
    tab = np.full(_table_size(rule, n), np.nan)
    nedges = _init_state(A, k, CN, tri)
    adj = np.empty((n, n), np.int64)  # adjacency lists: adj[i, :k[i]]
    for i in range(n):
        c = 0
        for j in range(n):
            if A[i, j]:
                adj[i, c] = j
                c += 1
    clu = 3 <= rule <= 7
    step = 0
    M = 0.0
    fast = True
    tab_fast = True
    MG = 0.0
    MX = 0.0
    for s in range(stage_end.shape[0]):
        if nedges >= stage_end[s]:
            continue
        for i in range(n):
            alive[i] = birth[i] <= s
        E, fast, MG, MX = _stage_weights(rule, X[stage_x[s]], eta, gamma, eps, kexp, alive, n, fast_range)
        if fast != tab_fast:  # the memo holds G on the factored path and log g in log space
            tab[:] = np.nan
            tab_fast = fast
        if clu:
            for i in range(n):
                _set_node_factor(i, rule, fast, k, tri, cl, P, gamma, eps, kexp, MG)
        M = _rebuild(rule, fast, E, A, alive, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, W, R, peak)
        while nedges < stage_end[s]:
            if not fast:
                T = 0.0
                for i in range(n):
                    T += R[i]
                if not (T > _TINY) or not np.isfinite(T):
                    M = _rebuild(rule, fast, E, A, alive, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, W, R, peak)
            a, b = _pick(R, W, U[step])
            order[step, 0] = min(a, b)
            order[step, 1] = max(a, b)
            step += 1
            nedges += 1
            # --- topology: common neighbours of (a, b) before the edge ---
            nc = 0
            for p in range(k[a]):
                w = adj[a, p]
                if A[b, w]:
                    common[nc] = w
                    nc += 1
            # every old neighbour x of a now shares the neighbour a with b (and vice versa)
            for p in range(k[a]):
                x = adj[a, p]
                CN[b, x] += 1
                CN[x, b] += 1
            for p in range(k[b]):
                y = adj[b, p]
                CN[a, y] += 1
                CN[y, a] += 1
            A[a, b] = 1
            A[b, a] = 1
            adj[a, k[a]] = b
            adj[b, k[b]] = a
            k[a] += 1
            k[b] += 1
            tri[a] += nc
            tri[b] += nc
            for p in range(nc):
                tri[common[p]] += 1
            # --- weights of the pairs whose K changed ---
            over = _update_pair(a, b, rule, fast, E, A, alive, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, M,
                                W, R, peak)
            if rule == 1:
                for p in range(k[a]):
                    x = adj[a, p]
                    if x != b:
                        over |= _update_pair(b, x, rule, fast, E, A, alive, k, CN, cl, P, tab, n2, gamma, eps,
                                             kexp, MG, M, W, R, peak)
                for p in range(k[b]):
                    x = adj[b, p]
                    if x != a:
                        over |= _update_pair(a, x, rule, fast, E, A, alive, k, CN, cl, P, tab, n2, gamma, eps,
                                             kexp, MG, M, W, R, peak)
            elif rule == 2 or rule >= 8 or clu:
                if clu:
                    _set_node_factor(a, rule, fast, k, tri, cl, P, gamma, eps, kexp, MG)
                    _set_node_factor(b, rule, fast, k, tri, cl, P, gamma, eps, kexp, MG)
                    for p in range(nc):
                        _set_node_factor(common[p], rule, fast, k, tri, cl, P, gamma, eps, kexp, MG)
                rows = 2 + nc if clu else 2
                for q in range(rows):
                    r = a if q == 0 else (b if q == 1 else common[q - 2])
                    over |= _row_weights(r, rule, fast, E, A, alive, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG,
                                         M, W, buf, bufi, kb)
                    _set_row(r, buf, W, R, peak)
            if over:
                M = _rebuild(rule, fast, E, A, alive, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, W, R, peak)
            else:
                _check_sums(W, R, peak)
    if fast:
        M = MX + MG
    return A, k, CN, tri, E, W, R, M, step


@njit(cache=True, nogil=True)
def run_network(A0, X, stage_x, stage_end, birth, rule, eta, gamma, eps, kexp, U, A_out, order):
    """Grow one network into ``A_out`` (bool) and ``order``; return the number of edges added."""
    A, k, CN, tri, E, W, R, M, step = grow_state(
        A0, X, stage_x, stage_end, birth, rule, eta, gamma, eps, kexp, U, order, FAST_RANGE
    )
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            A_out[i, j] = A[i, j] != 0
    return step


@njit(cache=True, nogil=True)
def run_batch(lo, hi, A0, X, stage_x, stage_end, birth, rule, etas, gammas, eps, kexp, U, A_out, order):
    """Grow networks ``lo..hi-1`` of a batch (each with its own eta, gamma and uniforms)."""
    for b in range(lo, hi):
        run_network(
            A0, X, stage_x, stage_end, birth, rule, etas[b], gammas[b], eps, kexp, U[b], A_out[b], order[b]
        )


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
    for i in range(n):
        _set_node_factor(i, rule, False, k, tri, cl, P, gamma, eps, kexp, 0.0)
    tab = np.full(_table_size(rule, n), np.nan)
    L = np.full((n, n), -np.inf)
    for i in range(n):
        for j in range(n):
            if i != j and A[i, j] == 0:
                L[i, j] = eta * X[i, j] + _topo(rule, i, j, False, k, CN, cl, P, tab, 2 * n - 1, gamma, eps, kexp, 0.0)
    return k, CN, tri, L
