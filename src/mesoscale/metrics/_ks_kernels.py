"""Compiled kernels of the KS energy (internal): network statistics on bit sets, KS statistics.

Used by :mod:`~mesoscale.metrics.energy` (the public functions and their validation live there).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

_U = np.uint64  # an unsigned index: no wraparound code


@njit(cache=True, nogil=True)
def _ks_empty(nx, ny):
    """The KS statistic when a sample is empty: 0 for two empty samples, else 1."""
    return 0.0 if nx == ny else 1.0


@njit(cache=True, nogil=True)
def ks_sorted(x, y, rtol):
    """Two-sample KS statistic of two *sorted* samples; values within ``rtol`` are ties."""
    nx = x.shape[0]
    ny = y.shape[0]
    if nx == 0 or ny == 0:
        return _ks_empty(nx, ny)
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
def workspace(n):
    """Buffers of :func:`stats_one` for networks of n nodes (allocated once per batch)."""
    nw = (n + 63) // 64
    m_max = max(n * (n - 1) // 2, 1)
    return (
        np.empty((n, nw), np.uint64),  # bits: neighbourhoods as bit sets
        np.empty(m_max, np.int32),  # ei, ej: the edges i < j
        np.empty(m_max, np.int32),
        np.zeros(64 * nw),  # sigma: shortest-path counts from the source (whole words: _masked_add)
        np.zeros(64 * nw),  # coef: (1 + delta) / sigma
        np.empty(n),  # acc: sums of coef over successors
        np.empty(n, np.uint32),  # order: nodes level by level
        np.empty(m_max, np.uint32),  # arcs: predecessors of the nodes of levels found bottom-up
        np.empty((n, 2), np.int64),  # lpr: a node's predecessors, arcs[lpr[h, 0]:lpr[h, 1]]
        np.empty(n + 2, np.int64),  # lvl_start
        np.zeros(n + 2, np.bool_),  # pull: level d was found bottom-up
        np.empty(nw, np.uint64),  # cur, nxt, unseen: bit sets of the BFS
        np.empty(nw, np.uint64),
        np.empty(nw, np.uint64),
        np.empty(nw, np.uint64),  # cmask: the component being found
        np.empty((n, nw), np.uint64),  # cb: neighbourhoods in the component labels
        np.empty(n, np.int64),  # lab: the label of a node (-1: in no component of 3+ nodes)
        np.empty(n, np.int64),  # perm: the node of a label
        np.empty(n, np.int64),  # clo, chi: the labels clo..chi-1 of the label's component
        np.empty(n, np.int64),
        np.empty(n, np.int64),  # memb: components' nodes in the order they were found
        np.empty(n + 1, np.int64),  # cst: where each component starts in memb
        np.empty(n),  # bl: betweenness by label
        np.empty((n + 2, nw), np.uint64),  # lv: levels found top-down, as bit sets
    )


@njit(cache=True, nogil=True, inline="never")
def _masked_add(x, base, bits, v):
    """x[base + k] += v for the set bits k of ``bits``, as one branch-free (vectorised) pass over the
    word: the others get + 0.0."""
    xs = x[base : base + 64]
    for k in range(64):
        xs[k] += v if (bits >> np.uint64(k)) & np.uint64(1) else 0.0


@njit(cache=True, nogil=True, fastmath={"reassoc"}, inline="never")
def _masked_sum(x, base, bits):
    """Sum of x[base + k] over the set bits k of ``bits`` (branch-free, vectorised)."""
    xs = x[base : base + 64]
    s = 0.0
    for k in range(64):
        s += xs[k] if (bits >> np.uint64(k)) & np.uint64(1) else 0.0
    return s


@njit(cache=True, nogil=True)
def stats_one(A, deg, clu, bet, ws):
    """Degree, clustering and betweenness (length n) of one network; the edges i < j into the
    workspace (``ws[1][:m]``, ``ws[2][:m]``, row-major order). Return m, or ``-1 - i`` when
    ``A[i, i]`` is set, or ``-1 - n - i`` when row i is not the column i (not symmetric).

    ``A`` is a square array whose non-zero entries are edges. Neighbourhoods are kept as bit
    sets (one uint64 word per 64 nodes): rows are packed without branches, degrees are
    popcounts, and a BFS level is expanded word by word.
    """
    bits, ei, ej = ws[0], ws[1], ws[2]
    n = A.shape[0]
    nw = (n + 63) // 64
    for i in range(n):
        Ai = A[i]
        c = 0
        for w in range(nw):
            word = np.uint64(0)
            for t in range(min(64, n - 64 * w)):
                word |= np.uint64(Ai[64 * w + t] != 0) << np.uint64(t)
            bits[i, w] = word
            c += _popcount(word)
        deg[i] = c
        if (bits[i, i >> 6] >> np.uint64(i & 63)) & np.uint64(1):
            return -1 - i
    m = 0
    for i in range(n):  # the edges i < j, and symmetry: every (i, j) has its (j, i)
        for w in range(i >> 6, nw):
            x = bits[i, w]
            if w == i >> 6:
                x &= ~((np.uint64(2) << np.uint64(i & 63)) - np.uint64(1))
            while x:
                j = (w << 6) + np.int64(trailing_zeros(x))
                x &= x - np.uint64(1)
                if not (bits[j, i >> 6] >> np.uint64(i & 63)) & np.uint64(1):
                    return -1 - n - i
                ei[m] = i
                ej[m] = j
                m += 1
    if 2 * m != _deg_total(deg):  # an entry (j, i), j > i, without its (i, j)
        for i in range(n):
            for w in range(nw):
                x = bits[i, w]
                while x:
                    j = (w << 6) + np.int64(trailing_zeros(x))
                    x &= x - np.uint64(1)
                    if not (bits[j, i >> 6] >> np.uint64(i & 63)) & np.uint64(1):
                        return -1 - n - i
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
    _betweenness(bits, deg, bet, ws)
    return m


@njit(cache=True, nogil=True, error_model="numpy")
def _betweenness(bits, deg, bet, ws):
    """Node betweenness (bctpy's ``betweenness_bin``) of the network with neighbourhoods ``bits``.

    The nodes of each connected component of 3 or more nodes get consecutive labels (the largest
    component first, each in increasing node order; nodes of smaller components lie on no shortest
    path between two others: 0), so that a breadth-first search from a source touches only the words
    of its component and knows how many nodes it will reach. Levels and their order (increasing node)
    are the same as over the whole network.

    Brandes over every source, all ordered pairs counted. A level is expanded top-down (each node of
    level d adds its path count to its unseen neighbours, a whole word at a time: :func:`_masked_add`)
    or, when fewer nodes are unseen than level d holds, bottom-up (each unseen node lists its
    neighbours in level d: its predecessors); either way fewer words are scanned than the other way
    round. The dependencies go back the same way: a node gathers its successors' coefficients
    (:func:`_masked_sum` over its neighbours in a level found top-down) or hands its own to its
    listed predecessors. Path counts are integers, exact in any order; the dependencies are sums in
    another order than bctpy's (equal up to rounding).
    """
    (_, _, _, sigma, coef, acc, order, arcs, lpr, lvl_start, pull, cur, nxt, unseen,
     cmask, cb, lab, perm, clo, chi, memb, cst, bl, lv) = ws
    n = bits.shape[0]
    nw = (n + 63) // 64
    # connected components by bit-set breadth-first search; those of 3+ nodes into memb
    for w in range(nw):
        unseen[w] = 0
    for i in range(n):
        bet[i] = 0.0
        lab[i] = -1
        if deg[i] > 0:
            unseen[i >> 6] |= np.uint64(1) << np.uint64(i & 63)
    nc = 0
    pos = 0
    big = -1
    big_size = 0
    for i in range(n):
        bit = np.uint64(1) << np.uint64(i & 63)
        if not unseen[i >> 6] & bit:
            continue
        for w in range(nw):
            cur[w] = 0
            cmask[w] = 0
        cur[i >> 6] = bit
        cmask[i >> 6] = bit
        unseen[i >> 6] &= ~bit
        while True:
            for w in range(nw):
                nxt[w] = 0
            for w in range(nw):
                x = cur[w]
                while x:
                    v = (w << 6) + np.int64(trailing_zeros(x))
                    x &= x - np.uint64(1)
                    for q in range(nw):
                        nxt[q] |= bits[v, q]
            new = np.uint64(0)
            for w in range(nw):
                y = nxt[w] & unseen[w]
                cur[w] = y
                unseen[w] &= ~y
                cmask[w] |= y
                new |= y
            if not new:
                break
        size = 0
        for w in range(nw):
            size += _popcount(cmask[w])
        if size < 3:
            continue
        cst[nc] = pos
        for w in range(nw):
            x = cmask[w]
            while x:
                memb[pos] = (w << 6) + np.int64(trailing_zeros(x))
                x &= x - np.uint64(1)
                pos += 1
        if size > big_size:
            big = nc
            big_size = size
        nc += 1
    cst[nc] = pos
    nk = pos
    if nk == 0:
        return
    # labels: the largest component first (fewest words), then the others as found
    label = 0
    for r in range(nc):
        c = big if r == 0 else (r - 1 if r <= big else r)
        lo = label
        for k in range(cst[c], cst[c + 1]):
            v = memb[k]
            perm[label] = v
            lab[v] = label
            label += 1
        for k in range(lo, label):
            clo[k] = lo
            chi[k] = label
    nwk = (nk + 63) // 64
    for a in range(nk):
        v = perm[a]
        for q in range(nwk):
            cb[a, q] = 0
        for w in range(nw):
            x = bits[v, w]
            while x:
                j = lab[(w << 6) + np.int64(trailing_zeros(x))]
                x &= x - np.uint64(1)
                cb[a, j >> 6] |= np.uint64(1) << np.uint64(j & 63)
        bl[a] = 0.0
    for s in range(nk):
        c0 = clo[s]
        c1 = chi[s]
        cn = c1 - c0
        wlo = c0 >> 6
        whi = ((c1 - 1) >> 6) + 1
        for w in range(wlo, whi):  # unseen: the component's labels, less the source
            a = max(c0 - (w << 6), 0)
            b = min(c1 - (w << 6), 64)
            word = ~np.uint64(0) if b == 64 else (np.uint64(1) << np.uint64(b)) - np.uint64(1)
            unseen[w] = word & ~((np.uint64(1) << np.uint64(a)) - np.uint64(1))
            cur[w] = 0
        unseen[s >> 6] &= ~(np.uint64(1) << np.uint64(s & 63))
        cur[s >> 6] = np.uint64(1) << np.uint64(s & 63)
        for v in range(c0, c1):
            sigma[v] = 0.0
        sigma[s] = 1.0
        order[0] = s
        lvl_start[0] = 0
        lvl_start[1] = 1
        na = 0
        d = 0
        tail = 1
        while tail < cn:  # the component is connected: every level until the last finds nodes
            lo = lvl_start[d]
            hi = lvl_start[d + 1]
            if cn - tail < hi - lo:  # bottom-up
                pull[d + 1] = True
                for w in range(wlo, whi):
                    x = unseen[w]
                    while x:
                        u = (_U(w) << _U(6)) | trailing_zeros(x)
                        x &= x - _U(1)
                        sg = 0.0
                        a0 = na
                        for q in range(wlo, whi):
                            y = cb[u, _U(q)] & cur[_U(q)]
                            base = _U(q) << _U(6)
                            while y:
                                p = base | trailing_zeros(y)
                                y &= y - _U(1)
                                sg += sigma[p]
                                arcs[_U(na)] = p
                                na += 1
                        if na > a0:
                            sigma[u] = sg
                            lpr[_U(tail), 0] = a0
                            lpr[_U(tail), 1] = na
                            order[_U(tail)] = u
                            tail += 1
                for w in range(wlo, whi):
                    cur[_U(w)] = 0
                for h in range(hi, tail):
                    u = _U(order[_U(h)])
                    bit = _U(1) << (u & _U(63))
                    cur[u >> _U(6)] |= bit
                    unseen[u >> _U(6)] &= ~bit
            else:  # top-down
                pull[d + 1] = False
                for w in range(wlo, whi):
                    nxt[_U(w)] = 0
                for h in range(lo, hi):
                    v = _U(order[_U(h)])
                    sv = sigma[v]
                    for w in range(wlo, whi):
                        x = cb[v, _U(w)] & unseen[_U(w)]
                        nxt[_U(w)] |= x
                        if x:
                            _masked_add(sigma, _U(w) << _U(6), x, sv)
                for w in range(wlo, whi):
                    x = nxt[_U(w)]
                    unseen[_U(w)] &= ~x
                    cur[_U(w)] = x
                    base = _U(w) << _U(6)
                    lv[d + 1, _U(w)] = x
                    while x:
                        order[_U(tail)] = base | trailing_zeros(x)
                        x &= x - _U(1)
                        tail += 1
            d += 1
            lvl_start[d + 1] = tail
        # dependencies, deepest level first: delta[v] = sigma[v] * acc[v], acc[v] = sum of coef[w] over
        # v's successors w, coef[w] = (1 + delta[w]) / sigma[w]; acc by gathering (next level found
        # top-down: v's neighbours in it) or by scattering (level found bottom-up: to its predecessors)
        for v in range(c0, c1):
            acc[_U(v)] = 0.0
        for dd in range(d, 0, -1):
            lo = lvl_start[dd]
            hi = lvl_start[dd + 1]
            if dd < d and not pull[dd + 1]:  # the next level is a bit set: gather its coef
                for h in range(lo, hi):
                    v = order[_U(h)]
                    sa = 0.0
                    for w in range(wlo, whi):
                        y = cb[v, _U(w)] & lv[dd + 1, _U(w)]
                        if y:
                            sa += _masked_sum(coef, _U(w) << _U(6), y)
                    acc[v] = sa
            for h in range(lo, hi):
                v = order[_U(h)]
                dv = sigma[v] * acc[v]
                bl[v] += dv
                coef[v] = (1.0 + dv) / sigma[v]
            if pull[dd]:  # level dd listed its predecessors: hand them its coef
                for h in range(lo, hi):
                    c = coef[order[_U(h)]]
                    for q in range(lpr[_U(h), 0], lpr[_U(h), 1]):
                        acc[arcs[_U(q)]] += c
    for a in range(nk):
        bet[perm[a]] = bl[a]


@njit(cache=True, nogil=True)
def _deg_total(deg):
    s = 0
    for i in range(deg.shape[0]):
        s += int(deg[i])
    return s


@njit(cache=True, nogil=True)
def _ks_counts(cs, nx, ct, ny, lo, hi):
    """KS statistic of two samples of integers given as counts per value (``cs``, ``ct``, values
    ``lo..hi-1``; ``nx`` and ``ny`` values in all): the same number as :func:`ks_sorted`."""
    if nx == 0 or ny == 0:
        return _ks_empty(nx, ny)
    i = 0
    j = 0
    d = 0.0
    for v in range(lo, hi):
        i += cs[v]
        j += ct[v]
        diff = abs(i / nx - j / ny)
        if diff > d:
            d = diff
    return d


@njit(cache=True, nogil=True)
def ks_batch(nets, gid, t_deg, t_clu, t_bet, t_grp, t_bits, mt, bet_rtol, out):
    """KS statistics of each network in ``nets`` (B, n, n) against the target.

    Degrees are compared by their counts (``t_deg``: target count per degree); clustering and
    betweenness by their sorted samples; edge lengths by counts per group of equal distance:
    ``gid[i, j]`` is the rank of ``D[i, j]`` among the distinct upper-triangle distances,
    ``t_grp`` the target's edges per group, ``t_bits`` the groups it uses (a bit set), ``mt``
    its edge count: no sort. On an invalid network, ``out[b, 0]`` holds the negative code of
    :func:`stats_one` and the batch stops.
    """
    B = nets.shape[0]
    n = nets.shape[1]
    ws = workspace(n)
    ei = ws[1]
    ej = ws[2]
    deg = np.empty(n, np.float64)
    clu = np.empty(n, np.float64)
    bet = np.empty(n, np.float64)
    cdeg = np.zeros(n, np.int64)
    G = t_grp.shape[0]
    cgrp = np.zeros(G, np.int64)
    gw = t_bits.shape[0]
    gbits = np.zeros(gw, np.uint64)
    for b in range(B):
        m = stats_one(nets[b], deg, clu, bet, ws)
        if m < 0:
            out[b, 0] = m
            return
        for i in range(n):
            cdeg[int(deg[i])] += 1
        k1 = _ks_counts(cdeg, n, t_deg, n, 0, n)
        for i in range(n):
            cdeg[int(deg[i])] = 0
        k2 = ks_sorted(np.sort(clu), t_clu, 0.0)
        k3 = ks_sorted(np.sort(bet), t_bet, bet_rtol)
        for q in range(m):  # edge lengths: counts per group, groups in order through the bit sets
            g = gid[ei[q], ej[q]]
            cgrp[g] += 1
            gbits[g >> 6] |= np.uint64(1) << np.uint64(g & 63)
        if m == 0 or mt == 0:
            k4 = _ks_empty(m, mt)
        else:
            i = 0
            j = 0
            k4 = 0.0
            for w in range(gw):
                x = gbits[w] | t_bits[w]
                gbits[w] = 0
                while x:
                    g = (w << 6) + np.int64(trailing_zeros(x))
                    x &= x - np.uint64(1)
                    i += cgrp[g]
                    cgrp[g] = 0
                    j += t_grp[g]
                    diff = abs(i / m - j / mt)
                    if diff > k4:
                        k4 = diff
        out[b, 0] = k1
        out[b, 1] = k2
        out[b, 2] = k3
        out[b, 3] = k4
        out[b, 4] = max(max(k1, k2), max(k3, k4))
