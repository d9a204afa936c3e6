"""Numba kernels of the generative network engine (internal).

One kernel serves all thirteen wiring rules and both growth modes (all nodes present
from the start, or nodes that appear stage by stage with stage-specific distances).

State kept per network, updated incrementally after every added edge:

* ``A``   adjacency (uint8), ``k`` degrees, ``CN`` common-neighbour counts
  (``(A @ A)`` off the diagonal) and ``tri`` triangles per node (integers, so the
  incremental state equals a full recomputation exactly);
* ``W``   weights ``exp(L_ij - M)`` of the candidate pairs (symmetric, 0 for edges, self
  pairs and unborn nodes), where ``L_ij = log f(D_ij; eta) + log g(K_ij; gamma)`` and
  ``M`` is a shared offset, and ``R`` their row sums (updated by differences, re-summed
  exactly when cancellation could matter). Sampling picks a row by its sum, then a
  column in the row: O(n) per edge instead of a cumulative sum over all n^2/2 pairs.

After an edge (a, b) only the pairs whose K changed are recomputed: none for ``sptl``;
(b, N(a)) and (a, N(b)) for ``neighbors``; the rows of a and b for ``matching`` (only
pairs with a common neighbour: the others keep K = 0) and the degree rules; the rows
of a, b and their common neighbours (whose clustering changed) for the clustering
rules. ``L`` is scratch space of a full rebuild. The degree rules read ``log g`` from a
table indexed by the integer behind K.

Working in log space with a movable offset ``M`` is what makes extreme parameters safe:
``M`` is reset to the current maximum whenever a new log-weight exceeds it by more than
``_OVERFLOW`` or the total weight becomes too small to sample from, so weights never
overflow and the largest candidate always has weight 1.
"""

from __future__ import annotations

import numpy as np
from numba import njit

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

_OVERFLOW = 600.0  # rebuild when a log-weight exceeds the offset by this much
_TINY = 1e-250  # rebuild when the total weight falls below this
_RESUM = 1e-4  # re-sum a row exactly when its sum fell this far below its peak


@njit(cache=True, nogil=True, inline="always")
def _clu(i, k, tri):
    ki = k[i]
    if ki < 2:
        return 0.0
    return 2.0 * tri[i] / (ki * (ki - 1.0))


@njit(cache=True, nogil=True, inline="always")
def _kval(rule, i, j, k, CN, tri):
    """Topological value K_ij of a candidate (unconnected) pair."""
    if rule == 0:
        return 0.0
    if rule == 1:
        return float(CN[i, j])
    if rule == 2:
        s = k[i] + k[j]
        if s == 0:
            return 0.0
        return 2.0 * CN[i, j] / s
    if rule <= 7:
        a = _clu(i, k, tri)
        b = _clu(j, k, tri)
        r = rule - 3
    else:
        a = float(k[i])
        b = float(k[j])
        r = rule - 8
    if r == 0:
        return 0.5 * (a + b)
    if r == 1:
        return min(a, b)
    if r == 2:
        return max(a, b)
    if r == 3:
        return abs(a - b)
    return a * b


@njit(cache=True, nogil=True, inline="always")
def _logw(rule, i, j, X, eta, gamma, eps, kexp, k, CN, tri, lgk):
    """Log-weight of candidate pair (i, j): eta*X_ij + log g(K_ij)."""
    lw = eta * X[i, j]
    if rule >= 8:  # degree rules: log g(K) tabulated by the integer behind K
        ki = k[i]
        kj = k[j]
        r = rule - 8
        if r == 0:
            v = ki + kj
        elif r == 1:
            v = min(ki, kj)
        elif r == 2:
            v = max(ki, kj)
        elif r == 3:
            v = abs(ki - kj)
        else:
            v = ki * kj
        lw += lgk[v]
    elif rule != 0:
        K = _kval(rule, i, j, k, CN, tri) + eps
        if kexp:
            lw += gamma * K
        else:
            lw += gamma * np.log(K)
    return lw


@njit(cache=True, nogil=True)
def _rebuild(rule, X, eta, gamma, eps, kexp, A, alive, k, CN, tri, L, W, R, peak, lgk):
    """Recompute every log-weight from the state, reset the offset, return it."""
    n = A.shape[0]
    M = -np.inf
    for i in range(n):
        for j in range(i + 1, n):
            if alive[i] and alive[j] and A[i, j] == 0:
                lw = _logw(rule, i, j, X, eta, gamma, eps, kexp, k, CN, tri, lgk)
                L[i, j] = lw
                L[j, i] = lw
                if lw > M:
                    M = lw
            else:
                L[i, j] = -np.inf
                L[j, i] = -np.inf
    for i in range(n):
        s = 0.0
        for j in range(n):
            if i != j and L[i, j] > -np.inf:
                w = np.exp(L[i, j] - M)
            else:
                w = 0.0
            W[i, j] = w
            s += w
        R[i] = s
        peak[i] = s
    return M


@njit(cache=True, nogil=True, inline="always")
def _set_pair(i, j, cand, lw, M, W, R, peak, dirty):
    """Set pair (i, j) to candidate log-weight ``lw`` (or remove it); return overflow flag."""
    old = W[i, j]
    if cand:
        w = np.exp(lw - M)
    else:
        w = 0.0
    W[i, j] = w
    W[j, i] = w
    d = w - old
    # Row sums are updated by differences. Rounding leaves an absolute error of about
    # 1e-16 times the largest value the sum held since it was last computed exactly
    # (``peak``), so a row is re-summed exactly once its sum falls below _RESUM * peak.
    if R[i] > peak[i]:
        peak[i] = R[i]
    if R[j] > peak[j]:
        peak[j] = R[j]
    R[i] += d
    R[j] += d
    if R[i] < _RESUM * peak[i]:
        dirty[i] = True
    if R[j] < _RESUM * peak[j]:
        dirty[j] = True
    return cand and (lw - M > _OVERFLOW)


@njit(cache=True, nogil=True)
def _update_row(r, rule, X, eta, gamma, eps, kexp, A, alive, k, CN, tri, M, L, W, R, peak, dirty, lgk):
    """Recompute the weights of every pair (r, j); re-sum row r exactly."""
    n = A.shape[0]
    over = False
    ar = alive[r]
    for j in range(n):
        if j == r:
            continue
        if rule == 2 and CN[r, j] == 0:
            continue  # K stays 0 whatever the degrees: the weight is unchanged
        old = W[r, j]
        w = 0.0
        if ar and alive[j] and A[r, j] == 0:
            lw = _logw(rule, r, j, X, eta, gamma, eps, kexp, k, CN, tri, lgk)
            if lw - M > _OVERFLOW:
                over = True
            w = np.exp(lw - M)
        W[r, j] = w
        W[j, r] = w
        # row j: difference update with the same re-sum guard as _set_pair
        Rj = R[j]
        if Rj > peak[j]:
            peak[j] = Rj
        Rj += w - old
        R[j] = Rj
        if Rj < _RESUM * peak[j]:
            dirty[j] = True
    sm = 0.0
    for j in range(n):
        sm += W[r, j]
    R[r] = sm
    peak[r] = sm
    dirty[r] = False
    return over


@njit(cache=True, nogil=True)
def _degree_table(rule, n, gamma, eps, kexp):
    """log g(K + eps) of the degree rules for every integer v behind K (see _logw)."""
    if rule < 8:
        return np.zeros(1)
    r = rule - 8
    size = 2 * n - 1 if r == 0 else ((n - 1) * (n - 1) + 1 if r == 4 else n)
    t = np.empty(size)
    for v in range(size):
        K = 0.5 * (float(v) + 0.0) if r == 0 else float(v)
        K = K + eps
        t[v] = gamma * K if kexp else gamma * np.log(K)
    return t


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


@njit(cache=True, nogil=True)
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
def grow_state(A0, X, stage_x, stage_end, birth, rule, eta, gamma, eps, kexp, U, order):
    """Grow one network; return its final state ``(A, k, CN, tri, L, W, R, M, steps)``.

    ``X[q]`` is the distance feature (``log D`` for the powerlaw, ``D`` for the exponential
    model) used in stage ``s`` where ``q = stage_x[s]``; stage ``s`` runs until the network
    holds ``stage_end[s]`` edges; node ``i`` can connect from stage ``birth[i]`` on.
    ``U`` holds one uniform number per added edge; ``order`` receives the added pairs.
    Returns the number of edges added.
    """
    n = A0.shape[0]
    A = A0.copy()
    k = np.zeros(n, np.int64)
    CN = np.zeros((n, n), np.int64)
    tri = np.zeros(n, np.int64)
    L = np.empty((n, n))
    W = np.zeros((n, n))
    R = np.zeros(n)
    peak = np.zeros(n)
    alive = np.zeros(n, np.bool_)
    dirty = np.zeros(n, np.bool_)
    common = np.empty(n, np.int64)
    nedges = _init_state(A, k, CN, tri)
    lgk = _degree_table(rule, n, gamma, eps, kexp)
    adj = np.empty((n, n), np.int64)  # adjacency lists: adj[i, :k[i]]
    for i in range(n):
        c = 0
        for j in range(n):
            if A[i, j]:
                adj[i, c] = j
                c += 1
    step = 0
    M = 0.0
    for s in range(stage_end.shape[0]):
        if nedges >= stage_end[s]:
            continue
        for i in range(n):
            alive[i] = birth[i] <= s
        Xs = X[stage_x[s]]
        M = _rebuild(rule, Xs, eta, gamma, eps, kexp, A, alive, k, CN, tri, L, W, R, peak, lgk)
        while nedges < stage_end[s]:
            T = 0.0
            for i in range(n):
                T += R[i]
            if not (T > _TINY) or not np.isfinite(T):
                M = _rebuild(rule, Xs, eta, gamma, eps, kexp, A, alive, k, CN, tri, L, W, R, peak, lgk)
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
            over = _set_pair(a, b, False, 0.0, M, W, R, peak, dirty)
            if rule == 1:
                for p in range(k[a]):
                    x = adj[a, p]
                    if x != b and alive[x] and A[b, x] == 0:
                        lw = _logw(rule, b, x, Xs, eta, gamma, eps, kexp, k, CN, tri, lgk)
                        over |= _set_pair(b, x, True, lw, M, W, R, peak, dirty)
                for p in range(k[b]):
                    x = adj[b, p]
                    if x != a and alive[x] and A[a, x] == 0:
                        lw = _logw(rule, a, x, Xs, eta, gamma, eps, kexp, k, CN, tri, lgk)
                        over |= _set_pair(a, x, True, lw, M, W, R, peak, dirty)
            elif rule == 2 or rule >= 8:
                for r in (a, b):
                    over |= _update_row(
                        r, rule, Xs, eta, gamma, eps, kexp, A, alive, k, CN, tri, M, L, W, R, peak, dirty, lgk
                    )
            elif rule >= 3:
                for r in (a, b):
                    over |= _update_row(
                        r, rule, Xs, eta, gamma, eps, kexp, A, alive, k, CN, tri, M, L, W, R, peak, dirty, lgk
                    )
                for p in range(nc):
                    over |= _update_row(
                        common[p], rule, Xs, eta, gamma, eps, kexp, A, alive, k, CN, tri, M, L, W, R, peak, dirty, lgk
                    )
            if over:
                M = _rebuild(rule, Xs, eta, gamma, eps, kexp, A, alive, k, CN, tri, L, W, R, peak, lgk)
                for i in range(n):
                    dirty[i] = False
            else:
                for i in range(n):
                    if dirty[i]:
                        sm = 0.0
                        for j in range(n):
                            sm += W[i, j]
                        R[i] = sm
                        peak[i] = sm
                        dirty[i] = False
    return A, k, CN, tri, L, W, R, M, step


@njit(cache=True, nogil=True)
def run_network(A0, X, stage_x, stage_end, birth, rule, eta, gamma, eps, kexp, U, A_out, order):
    """Grow one network into ``A_out`` (bool) and ``order``; return the number of edges added."""
    A, k, CN, tri, L, W, R, M, step = grow_state(
        A0, X, stage_x, stage_end, birth, rule, eta, gamma, eps, kexp, U, order
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
    """Full recomputation of (k, CN, tri, L) for a network ``A`` (testing aid)."""
    n = A.shape[0]
    k = np.zeros(n, np.int64)
    CN = np.zeros((n, n), np.int64)
    tri = np.zeros(n, np.int64)
    _init_state(A, k, CN, tri)
    L = np.empty((n, n))
    W = np.zeros((n, n))
    R = np.zeros(n)
    peak = np.zeros(n)
    alive = np.ones(n, np.bool_)
    lgk = _degree_table(rule, n, gamma, eps, kexp)
    _rebuild(rule, X, eta, gamma, eps, kexp, A, alive, k, CN, tri, L, W, R, peak, lgk)
    return k, CN, tri, L
