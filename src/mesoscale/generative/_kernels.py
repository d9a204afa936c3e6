"""Numba kernels of the generative network engine (internal): growing one network.

One kernel serves all thirteen wiring rules and both growth modes (all nodes present
from the start, or nodes that appear stage by stage with stage-specific distances).

State kept per network, updated incrementally after every added edge:

* ``A`` adjacency (uint8), ``adj`` adjacency lists, ``k`` degrees, ``CN`` common-neighbour
  counts (``A @ A`` off the diagonal), ``tri`` triangles and ``cl`` clustering per node
  (integers where they can be, so the incremental state equals a full recomputation exactly);
* the candidate weights in the packed upper triangle of :mod:`._triangle` (each pair held
  once, with row sums for sampling).

A pair's log-weight is ``L_ij = eta * X_ij + log g(K_ij)`` (:mod:`._weights`). Two exact ways
of holding ``W = exp(L - M)``:

* **factored** (the fast path): ``W_ij = F_ij * G(K_ij)`` with ``F = exp(eta X - max)``
  computed once per stage and ``G = exp(log g - max)``. ``G`` is read from a table wherever
  ``K`` is a function of integers (``neighbors``: ``CN``; ``matching``: ``(CN, k_i + k_j)``;
  the degree rules: the integer behind ``K``), filled as far as the state reaches, and from
  one per-node factor for ``clu-min``/``clu-max`` (``g`` is monotone, so ``g(min(a, b)) =
  min(g(a), g(b))``, or ``max`` when ``gamma < 0``). ``clu-avg``, ``clu-diff`` and
  ``clu-prod`` evaluate ``g`` once for the nodes of clustering 0 and per pair for the others,
  with the vectorised ``exp``/``log`` of :mod:`._vecmath`. A changed row is one branch-free
  loop per rule. Both factors lie in ``(0, 1]``, and the path is used only when their
  combined dynamic range (known before growth starts) is below ``fast_range`` (700 nats), so
  no candidate weight can underflow;
* **log space with a movable offset** (wider ranges, i.e. extreme parameters): ``M`` is
  reset to the current maximum whenever a new log-weight exceeds it by more than
  ``OVERFLOW`` or the total weight becomes too small to sample from, so weights never
  overflow and the largest candidate always has weight 1.

After an edge (a, b) only the pairs whose K changed are recomputed: none for ``sptl``;
(b, N(a)) and (a, N(b)) for ``neighbors``; the pairs of a and b for ``matching`` and the
degree rules; the pairs of a, b and their common neighbours (whose clustering changed) for
the clustering rules. There thinning (``_weights.bound_mode``) holds lazy per-node bounds: a
node's rows are recomputed only when its held bound no longer dominates its factor or has
become too loose (``_weights.set_node``), so most common neighbours cost nothing (the
proposal is accepted with the exact weight over the bound held for it, so the law is the
rule's). Row sums follow by differences (old weight out, new weight in), so a change costs
what changed. At ``gamma = 0`` every rule holds sptl's weights and makes sptl's updates to the
row sums, so it grows sptl's networks bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._triangle import apply_pair, apply_row, pick, rebuild, row_sum, totals
from ._vecmath import _bits
from ._weights import (
    RULE_CODE,
    WIRING_RULES,
    accept_ratio,
    bound_mode,
    fill_table,
    pair_weight,
    row_rule,
    row_weights,
    set_node,
    stage_weights,
    table_size,
    topo_lg,
)

__all__ = ["WIRING_RULES", "RULE_CODE", "FAST_RANGE", "grow_state", "run_batch", "state_of"]

FAST_RANGE = 700.0  # factored weights when the log-weights span less than this (e^-700 > 1e-305)
_TINY = 1e-250  # log space: rebuild when the total weight falls below this
_WINDOW = 256  # thinning: proposals per window of the acceptance check
_MIN_ACCEPT = 0.125  # thinning: one level down (lazy -> exact bounds -> exact rows) when a window accepted less
_TIGHTEN = 0.125  # lazy bounds: exact node bounds from the next window on when a window accepted less than this
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


@njit(cache=True, nogil=True, _nrt=False)
def _next_uniform(st):
    """(uniform in [0, 1), next state) of a SplitMix64 stream (extra draws of thinning)."""
    st = st + _GOLDEN
    z = st
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z = z ^ (z >> _S31)
    return float(z >> _S11) * (1.0 / 9007199254740992.0), st


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
        np.empty(table_size(rule, n)),  # tab
        np.empty(n),  # buf
        np.empty(n),  # gbuf
        np.empty(n, np.int64),  # nz
        np.empty(n, np.bool_),  # innz
        np.empty(n, np.int64),  # common
        np.empty(n, np.bool_),  # alive
        np.empty((n + 31) // 32),  # bsum
    )


@njit(cache=True, nogil=True, _nrt=False)
def _draw_mode(rule, gamma, fast, level):
    """(bmode, rowrule, pmode, lazy) of a drawing level: 2 thinning from lazily held node bounds,
    1 thinning from exact node bounds, 0 exact rows (the level only falls, when thinning accepts
    too few; log space always uses exact rows)."""
    bmode = bound_mode(rule, gamma) if fast and level > 0 else 0
    pmode = bmode if bmode else (1 if fast and (rule == 4 or rule == 5) else 0)
    return bmode, row_rule(rule, gamma, bmode), pmode, bmode != 0 and level == 2


@njit(cache=True, nogil=True, _nrt=False)
def _set_all(n, pmode, lazy, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG):
    """:func:`set_node` for every node (the rows are rebuilt after it); return the length of ``nz``."""
    for i in range(n):
        nnz, _ = set_node(i, pmode, lazy, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG)
    return nnz


@njit(cache=True, nogil=True)
def _grow(A0, X, stage_x, stage_end, birth, rule, eta, gamma, eps, kexp, U, order, fast_range, ws):
    """Grow one network in the workspace ``ws``; return (M, steps, bmode, MG) with ``W = exp(L - M)``; see
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
    level = 2  # drawing level (_draw_mode): falls when a window of proposals accepts too few
    bmode = 0
    rowrule = rule
    for s in range(stage_end.shape[0]):
        if nedges >= stage_end[s]:
            continue
        for i in range(n):
            alive[i] = birth[i] <= s
        fast, MG, MX = stage_weights(rule, X[stage_x[s]], eta, gamma, eps, kexp, alive, E, fast_range)
        fill_table(rule, n, n2, tab, -1, tmax, fast, gamma, eps, kexp, MG)
        tfill = tmax
        bmode, rowrule, pmode, lazy = _draw_mode(rule, gamma, fast, level)
        nprop = 0
        nacc = 0
        if clu:
            nnz = _set_all(n, pmode, lazy, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG)
        M = rebuild(rule, rowrule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, W, off, R, peak,
                    buf, gbuf)
        while nedges < stage_end[s]:
            T = totals(R, bsum)
            if not fast and (not (T > _TINY) or not np.isfinite(T)):
                M = rebuild(rule, rowrule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, W, off,
                            R, peak, buf, gbuf)
                T = totals(R, bsum)
            u = U[step]
            st = np.uint64(_bits(u))  # the extra uniforms of thinning: a SplitMix64 stream seeded by u
            while True:
                a, b = pick(R, bsum, W, off, T, u)
                while a < 0:  # rounding residue of an emptied row b: re-sum it, draw again
                    R[b] = peak[b] = row_sum(W, off, b, n)
                    T = totals(R, bsum)
                    a, b = pick(R, bsum, W, off, T, u)
                if bmode == 0:
                    break
                # thinning: the pair was drawn from the bounds; keep it with probability G(K) / bound
                nprop += 1
                ratio = accept_ratio(rule, rowrule, a, b, cl, P, gamma, eps, kexp, MG)
                if ratio >= 1.0:  # gamma = 0 (and pairs at their bound) draw nothing more
                    nacc += 1
                    break
                v, st = _next_uniform(st)
                if v < ratio:
                    nacc += 1
                    break
                u, st = _next_uniform(st)
                if nprop >= _WINDOW and nacc < _MIN_ACCEPT * nprop:
                    # thinning accepts too few even within this step (e.g. clu-prod at extreme gamma): one
                    # level down (exact node bounds, then exact rows), and this step is drawn from there. The
                    # switch depends only on how many proposals were made, never on which pairs, so the law
                    # is kept.
                    level = 1 if lazy else 0
                    bmode, rowrule, pmode, lazy = _draw_mode(rule, gamma, fast, level)
                    nnz = _set_all(n, pmode, False, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG)
                    nprop = nacc = 0
                    M = rebuild(rule, rowrule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, W,
                                off, R, peak, buf, gbuf)
                    T = totals(R, bsum)
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
                fill_table(rule, n, n2, tab, tfill, tmax, fast, gamma, eps, kexp, MG)
                tfill = tmax
            # --- weights of the pairs whose K changed ---
            over = False
            if rows:
                ra = rb = True  # rows of a and b recomputed (else only the pair (a, b) leaves)
                if clu:
                    nnz, ra = set_node(a, pmode, lazy, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG)
                    nnz, rb = set_node(b, pmode, lazy, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG)
                    q = 0
                    for p in range(nc):  # keep the common neighbours whose rows change
                        w = common[p]
                        nnz, rw = set_node(w, pmode, lazy, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG)
                        if rw:
                            common[q] = w
                            q += 1
                    nc = q
                if bmode and nprop >= _WINDOW:  # a window of thinning: one level down if it accepted too few
                    if nacc < (_TIGHTEN if lazy else _MIN_ACCEPT) * nprop:
                        level = 1 if lazy else 0
                        bmode, rowrule, pmode, lazy = _draw_mode(rule, gamma, fast, level)
                        nnz = _set_all(n, pmode, False, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, MG)
                        over = True  # the rebuild below puts the new weights in
                    nprop = nacc = 0
                if not (ra or rb):
                    apply_pair(a, b, 0.0, W, off, R, peak)
                nrows = 2 + nc if clu else 2
                for q in range(0 if over else nrows):
                    if (q == 0 and not ra) or (q == 1 and not rb):
                        continue
                    r = a if q == 0 else (b if q == 1 else common[q - 2])
                    over |= row_weights(r, rule, rowrule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp,
                                        MG, M, buf, gbuf)
                    apply_row(r, buf, W, off, R, peak, gbuf)
            else:
                apply_pair(a, b, 0.0, W, off, R, peak)
                if rule == 1:
                    for p in range(ka):
                        x = adj[a, p]
                        w, o = pair_weight(b, x, rule, fast, E, A, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, M)
                        apply_pair(b, x, w, W, off, R, peak)
                        over |= o
                    for p in range(kb):
                        y = adj[b, p]
                        w, o = pair_weight(a, y, rule, fast, E, A, k, CN, cl, P, tab, n2, gamma, eps, kexp, MG, M)
                        apply_pair(a, y, w, W, off, R, peak)
                        over |= o
            if over:
                M = rebuild(rule, rowrule, fast, E, A, k, CN, cl, P, nz, nnz, tab, n2, gamma, eps, kexp, MG, W, off,
                            R, peak, buf, gbuf)
    if fast:
        M = MX + MG  # W = exp(L - M) on the factored path too
    return M, step, bmode, MG


@njit(cache=True, nogil=True)
def grow_state(A0, X, stage_x, stage_end, birth, rule, eta, gamma, eps, kexp, U, order, fast_range):
    """Grow one network; return its final state ``(A, k, CN, tri, E, W, R, M, steps, bmode, hold)`` (testing aid).

    ``X[q]`` is the distance feature (``log D`` for the powerlaw, ``D`` for the exponential
    model) used in stage ``s`` where ``q = stage_x[s]``; stage ``s`` runs until the network
    holds ``stage_end[s]`` edges; node ``i`` can connect from stage ``birth[i]`` on.
    ``U`` holds one uniform number per added edge; ``order`` receives the added pairs.
    ``fast_range`` bounds the dynamic range of the factored path (0 forces log space).
    On return ``W`` (n x n, symmetric, unpacked) is ``exp(L - M)`` for every candidate pair
    of the last stage (``M`` = the offset; ``MX + MG`` on the factored path) and ``R[i]`` the
    incrementally kept sum of ``W[i, i+1:]``. ``bmode`` > 0 when a clustering rule was drawn by
    thinning at the end (``_weights.bound_mode``): ``W`` then holds the bounds, built from the
    held node factors whose log g is ``hold`` (``W_ij = exp(eta X_ij + min or max(hold_i, hold_j)
    - M)``; each between log g of the node's value and that plus ``log LOOSE``). ``hold`` is exact
    for clu-min/-max drawn from exact rows on the factored path and meaningless otherwise.
    """
    n = A0.shape[0]
    ws = _workspace(n, rule)
    M, step, bmode, MG = _grow(A0, X, stage_x, stage_end, birth, rule, eta, gamma, eps, kexp, U, order, fast_range, ws)
    A, k, CN, tri, cl, P, adj, E, Wp, off, R, peak, tab, buf, gbuf, nz, innz, common, alive, bsum = ws
    W = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            W[i, j] = Wp[off[i] + j - i - 1]
            W[j, i] = W[i, j]
    hold = np.log(P) + MG  # log g of the held node factors (clu-min/-max and thinning, factored path)
    return A.copy(), k.copy(), CN.astype(np.int64), tri.copy(), E.copy(), W, R.copy(), M, step, bmode, hold


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
        nnz, _ = set_node(i, 0, False, k, tri, cl, P, nz, innz, nnz, gamma, eps, kexp, 0.0)
    tab = np.empty(table_size(rule, n))
    fill_table(rule, n, 2 * n - 1, tab, -1, max(n - 2, 0) if rule == 2 else n - 1, False, gamma, eps, kexp, 0.0)
    L = np.full((n, n), -np.inf)
    for i in range(n):
        for j in range(n):
            if i != j and A[i, j] == 0:
                L[i, j] = eta * X[i, j] + topo_lg(rule, i, j, k, CN, cl, tab, 2 * n - 1, gamma, eps, kexp)
    return k, CN, tri, L
