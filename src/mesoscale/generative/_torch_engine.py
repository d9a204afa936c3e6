"""PyTorch engine of the generative network models: batches of networks grown on a torch device.

:func:`~mesoscale.generative.generate` runs this engine when it is given ``device=`` (``"cpu"``,
``"cuda"``, ``"cuda:1"``, ``"mps"`` or a :class:`torch.device`); without it the numba engine of
:mod:`._kernels` runs. Both draw from the same law (the module docstring of
:mod:`~mesoscale.generative.models` defines it); their bits differ.

Algorithm
---------
A batch of ``b`` networks is grown together, every network with its own ``(eta, gamma)``.
The ``P = n (n - 1) / 2`` node pairs ``i < j`` are numbered row by row (``numpy.triu_indices``
order) and each network holds a row ``L`` of ``P + 1`` log-weights: ``L_p = eta X_ij + log g(K_ij)``
for a candidate pair, ``-inf`` for an edge, and one trailing ``-inf`` slot that absorbs
writes to the diagonal. ``X`` is :func:`._engine.distance_feature` (``log D`` with zero
distances floored for the powerlaw, ``D`` for the exponential model) and ``log g(K) = gamma *
log(K + eps)`` or ``gamma * (K + eps)``. One step of every network at once:

1. **sample** -- each network keeps its weights ``W = exp(L - M)`` with an offset ``M``;
   ``c = cumsum W`` (summed afresh every step, so no rounding accumulates) and the pair is
   the first ``p`` with ``c_p > u c_P`` (``torch.searchsorted``), ``u`` the network's next
   uniform in ``[0, 1)``. The target is kept strictly below the total, and ``c`` only grows
   where ``W > 0``, so an edge or the padding slot is never drawn: exact inverse-CDF sampling
   of ``W_ij / sum W``.
2. **update the state** -- degrees ``k``; common-neighbour counts ``CN`` (``neighbors``,
   ``matching``): adding ``(u, v)`` adds the old row ``A_v`` to row and column ``u`` of ``CN``
   and ``A_u`` to row and column ``v``; triangles ``t`` (clustering rules): the common
   neighbours of ``u`` and ``v`` gain one, ``u`` and ``v`` gain their number. All counts
   are integers held exactly in floating point, so the state equals a full recomputation.
3. **update the weights** -- only the pairs whose ``K`` changed, which all lie in the rows of
   ``u`` and ``v`` (``neighbors``, ``matching``, degree rules) or of ``u``, ``v`` and their
   common neighbours, whose clustering changed (clustering rules; the batch pads to its
   largest number of common neighbours with rows that are recomputed unchanged). Those rows'
   log-weights are recomputed, exponentiated against ``M`` and scattered into ``L`` and ``W``
   (a pair in two rows gets the same value twice); ``sptl`` only zeroes the new edge. A step
   thus costs O(n) per recomputed row, plus the O(n^2) cumulative sum.

The offset ``M`` is the largest log-weight at the network's last rebuild (``W = exp(L - M)``
from ``L``). A network is rebuilt when a new log-weight exceeds ``M`` by more than ``0.375 *
log(float max)`` (about 266 nats in float64: no weight, nor the sum, can overflow) or when its
total weight falls below ``tiny**0.75`` (about ``1e-231``), so extreme parameters give neither
inf nor NaN, and a weight loses precision (or underflows) only where it is below ``e^-170`` of
the total.

``K`` is computed exactly as :mod:`._kernels` does: the matching index ``2 CN_ij / (k_i + k_j)``
for a candidate pair (0 without a common neighbour), clustering ``2 t_i / (k_i (k_i - 1))``
(0 when ``k_i < 2``), ``(x_i + x_j) / 2``, ``min``, ``max``, ``|x_i - x_j|`` and ``x_i x_j`` of
the clustering or degrees, and no topology term for ``sptl``.

Memory is O(b n^2) per chunk; a batch is grown in chunks that fit into the device's free
memory (a CUDA device's ``torch.cuda.mem_get_info``, the host's available memory for the CPU),
and an error is raised before any work when not even one network fits.

Randomness: network ``b`` uses the uniforms of its own SeedSequence, drawn with numpy exactly
as the numba engine draws them (:func:`._engine.network_streams`, :func:`._engine.draw_uniforms`),
and the computation of one network never mixes with another's. So the same seed gives the
same networks on the same device whatever the chunking, and :func:`generate_batches` with a
device concatenates to :func:`generate` with that device. Computations are float64, except on
MPS (no float64 there), which runs float32.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from .._validation import check_torch_device
from ._engine import draw_uniforms, network_streams

DEVICE_TYPES = ("cpu", "cuda", "mps")
MEMORY_HEADROOM = 0.8  # a chunk may use this fraction of the free memory
CPU_CHUNK = 256  # at most this many networks per chunk on the CPU (cache-sized; results do not depend on it)

_CN_RULES = ("neighbors", "matching")


def resolve_device(device) -> torch.device:
    """The :class:`torch.device` for ``device`` (CPU, CUDA or MPS), or a ValueError/TypeError naming it."""
    return check_torch_device(device, DEVICE_TYPES)


def dtype_for(dev: torch.device) -> torch.dtype:
    return torch.float32 if dev.type == "mps" else torch.float64


def bytes_per_network(n: int, steps: int, itemsize: int = 8, rows: int = 2) -> int:
    """Estimated peak device memory of one network of a chunk, with a 25 % margin.

    State (``CN``, ``A``), the log-weights, weights and their cumulative sums with the
    temporaries of the first full computation (``12 P`` floats), the ``rows`` rows a step
    recomputes at most (2; ``n`` for the clustering rules) and the uniforms and picks.
    """
    P = n * (n - 1) // 2 + 1
    return int(1.25 * (itemsize * (n * n + 12 * P + 8 * n) + n * n + rows * n * (8 * itemsize + 9)
                       + (itemsize + 8) * max(steps, 1)))


def free_bytes(dev: torch.device) -> int | None:
    """Free memory of ``dev`` in bytes (None when unknown)."""
    if dev.type == "cuda":
        return int(torch.cuda.mem_get_info(dev)[0])
    if dev.type == "mps":
        try:
            return int(torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory())
        except (AttributeError, RuntimeError):
            return None
    try:  # the host
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def chunk_size(dev: torch.device, B: int, n: int, steps: int, rule: str = "matching") -> int:
    """Networks per chunk; ValueError naming the device when not even one network fits."""
    per = bytes_per_network(n, steps, torch.empty((), dtype=dtype_for(dev)).element_size(),
                            n if rule.startswith("clu") else 2)
    free = free_bytes(dev)
    chunk = B
    if free is not None:
        if per > MEMORY_HEADROOM * free:
            raise ValueError(
                f"'device' {str(dev)!r} has {free} bytes free, but one network of n={n} nodes needs an estimated "
                f"{per} bytes (the batch of {B}: {per * B} bytes); use a smaller network or another device"
            )
        chunk = min(chunk, int(MEMORY_HEADROOM * free // per))
    if dev.type == "cpu":
        chunk = min(chunk, CPU_CHUNK)
    return max(1, chunk)


def _combine(op, a, b):
    if op == "avg":
        return 0.5 * (a + b)
    if op == "min":
        return torch.minimum(a, b)
    if op == "max":
        return torch.maximum(a, b)
    if op == "diff":
        return torch.abs(a - b)
    return a * b


class Setup:
    """Everything of a batch that its chunks share, on the device."""

    def __init__(self, A0, X, rule, eps, kexp, dev):
        n = A0.shape[0]
        dt = dtype_for(dev)
        self.n, self.rule, self.eps, self.kexp, self.dev, self.dt = n, rule, float(eps), bool(kexp), dev, dt
        self.P = n * (n - 1) // 2
        iu = np.triu_indices(n, 1)
        pad = np.zeros(1, np.int64)
        self.iu0 = torch.as_tensor(np.concatenate([iu[0], pad]), device=dev)
        self.iu1 = torch.as_tensor(np.concatenate([iu[1], pad]), device=dev)
        pidx = np.full((n, n), self.P, np.int64)  # pair number of (i, j); the padding slot on the diagonal
        pidx[iu] = np.arange(self.P)
        pidx[iu[1], iu[0]] = np.arange(self.P)
        self.pidx = torch.as_tensor(pidx, device=dev)
        X = np.asarray(X, dtype=float)
        self.X = torch.as_tensor(X, dtype=dt, device=dev)
        self.Xflat = torch.as_tensor(np.concatenate([X[iu], [0.0]]), dtype=dt, device=dev)
        A0 = np.asarray(A0) != 0
        Af = A0.astype(float)
        CN = Af @ Af
        self.A0 = torch.as_tensor(A0, device=dev)
        self.k0 = torch.as_tensor(Af.sum(1), dtype=dt, device=dev)
        self.CN0 = torch.as_tensor(CN, dtype=dt, device=dev)
        self.tri0 = torch.as_tensor(np.round((CN * Af).sum(1) / 2), dtype=dt, device=dev)
        self.edge0 = torch.as_tensor(np.concatenate([A0[iu], [True]]), device=dev)
        self.op = rule.split("-")[1] if "-" in rule else None

    def log_g(self, K, gamma):
        """log g(K) of the topology term; ``gamma`` broadcasts against ``K``."""
        if self.kexp:
            return gamma * (K + self.eps)
        return gamma * torch.log(K + self.eps)

    def clustering(self, k, tri):
        return torch.where(k >= 2, 2.0 * tri / (k * (k - 1.0)).clamp_min(1.0), torch.zeros_like(k))

    def k_pairs(self, k, CN, tri):
        """K of every numbered pair, shape (b, P + 1) (any value in the padding slot)."""
        rule, iu0, iu1 = self.rule, self.iu0, self.iu1
        if rule in _CN_RULES:
            cn = CN.reshape(CN.shape[0], -1)[:, iu0 * self.n + iu1]
            if rule == "neighbors":
                return cn
            s = k[:, iu0] + k[:, iu1]
            return 2.0 * cn / s.clamp_min(1.0)  # 0 without a common neighbour (then s may be 0)
        x = self.clustering(k, tri) if rule.startswith("clu") else k
        return _combine(self.op, x[:, iu0], x[:, iu1])

    def k_rows(self, r, rows, k, CN, tri):
        """K of the pairs (r[:, q], j) for every j, shape (b, len(q), n) (all rules but sptl).

        ``rows`` are the flat row numbers ``b n + r`` of the (b n, n) views of CN.
        """
        if self.rule.startswith("clu"):
            x = self.clustering(k, tri)
            return _combine(self.op, x.gather(1, r)[:, :, None], x[:, None, :])
        if self.rule in _CN_RULES:
            cn = CN.view(-1, self.n).index_select(0, rows.view(-1)).view(*r.shape, self.n)
            if self.rule == "neighbors":
                return cn
            s = k.gather(1, r)[:, :, None] + k[:, None, :]
            return 2.0 * cn / s.clamp_min(1.0)  # 0 without a common neighbour (then s may be 0)
        return _combine(self.op, k.gather(1, r)[:, :, None], k[:, None, :])


def grow_chunk(setup: Setup, etas, gammas, U):
    """Grow ``len(etas)`` networks; return ``(A, picks, L, W, M)`` on the device.

    ``U`` is a ``(b, steps)`` tensor of uniforms; ``A`` the final adjacency (bool), ``picks[:, t]``
    the number of the pair added at step ``t``; ``L`` the final log-weights and ``W = exp(L - M)``
    the weights with their offsets ``M`` (``(b, 1)``), for the tests.
    """
    s, dev, dt = setup, setup.dev, setup.dt
    n, P, rule = s.n, s.P, s.rule
    b, steps = U.shape
    eta = torch.as_tensor(np.asarray(etas, dtype=float), dtype=dt, device=dev)[:, None]
    gamma = torch.as_tensor(np.asarray(gammas, dtype=float), dtype=dt, device=dev)[:, None]
    ar = torch.arange(b, device=dev)
    A = s.A0.expand(b, n, n).clone()
    k = s.k0.expand(b, n).clone()
    uses_cn = rule in _CN_RULES
    clu = rule.startswith("clu")
    CN = s.CN0.expand(b, n, n).clone() if uses_cn else None
    tri = s.tri0.expand(b, n).clone() if clu else None
    edge = s.edge0.expand(b, P + 1)
    L = eta * s.Xflat[None]  # (b, P + 1)
    if rule != "sptl":
        L += s.log_g(s.k_pairs(k, CN, tri), gamma)
    L.masked_fill_(edge, -torch.inf)
    cols = torch.arange(n, device=dev)
    gamma3 = gamma[:, :, None]
    eta3 = eta[:, :, None]
    picks = torch.empty((b, steps), dtype=torch.int64, device=dev)
    bn = ar * n  # first flat row of each network in the (b n, n) views
    bnn = ar * (n * n)
    ones2 = torch.ones(2 * b, dtype=dt, device=dev)
    # W = exp(L - M): M is the largest log-weight at the last rebuild
    M = L.amax(1, keepdim=True)
    W = torch.exp(L - M)
    c = torch.empty_like(L)
    below = 1.0 - torch.finfo(dt).eps  # u * total is capped at total * below < total
    tiny = torch.finfo(dt).tiny ** 0.75  # rebuild when the total weight falls below this
    over = 0.375 * np.log(torch.finfo(dt).max)  # ... or when a new log-weight exceeds M by this
    high = torch.zeros(b, dtype=torch.bool, device=dev)  # networks whose last update passed ``over``

    def rebuild(bad):
        M[bad] = L[bad].amax(1, keepdim=True)
        W[bad] = torch.exp(L[bad] - M[bad])

    for t in range(steps):
        # 1. sample one candidate pair per network (inverse CDF over the pairs)
        torch.cumsum(W, 1, out=c)
        total = c[:, -1:]
        flag = (total[:, 0] < tiny) | high  # rebuild where the total is too small or a weight too large
        if bool(flag.any()):  # (a host sync)
            bad = flag.nonzero()[:, 0]
            rebuild(bad)
            c[bad] = torch.cumsum(W[bad], 1)
            total = c[:, -1:]
        target = torch.minimum(U[:, t : t + 1] * total, total * below)
        p = torch.searchsorted(c, target, right=True)[:, 0]
        picks[:, t] = p
        i, j = s.iu0[p], s.iu1[p]
        # 2. the state after adding (i, j)
        if uses_cn or clu:
            Aij = A.view(-1, n).index_select(0, torch.cat([bn + i, bn + j])).to(dt)
            Ai, Aj = Aij[:b], Aij[b:]
        if clu:
            common = Ai * Aj
            nc = common.sum(1)
            tri += common
            tri.view(-1).index_add_(0, torch.cat([bn + i, bn + j]), torch.cat([nc, nc]))
        if uses_cn:
            CN.view(-1, n).index_add_(0, torch.cat([bn + i, bn + j]), torch.cat([Aj, Ai]))  # rows i, j
            CN.scatter_add_(2, torch.stack([i, j], 1)[:, None, :].expand(b, n, 2), torch.stack([Aj, Ai], 2))
        A.view(-1).index_fill_(0, torch.cat([bnn + i * n + j, bnn + j * n + i]), True)
        k.view(-1).index_add_(0, torch.cat([bn + i, bn + j]), ones2)
        # 3. the weights whose K changed
        if rule == "sptl":
            L[ar, p] = -torch.inf
            W[ar, p] = 0.0
        else:
            r = torch.stack([i, j], 1)  # (b, 2): the rows whose K changed
            if clu:  # ... and those of the common neighbours, whose clustering changed too
                extra = int(nc.max())  # (a host sync)
                if extra:  # rows of nodes beyond a network's own common neighbours are recomputed unchanged
                    r = torch.cat([r, torch.topk(common, extra, dim=1, sorted=False).indices], 1)
            R = r.shape[1]
            rows = bn[:, None] + r
            Lr = eta3 * s.X.index_select(0, r.view(-1)).view(b, R, n) + s.log_g(s.k_rows(r, rows, k, CN, tri), gamma3)
            dead = A.view(-1, n).index_select(0, rows.view(-1)).view(b, R, n)  # the new edge included
            dead |= cols[None, None, :] == r[:, :, None]
            Lr = Lr.masked_fill_(dead, -torch.inf).view(b, R * n)
            at = s.pidx.index_select(0, r.view(-1)).view(b, R * n)
            L.scatter_(1, at, Lr)
            L[:, P] = -torch.inf
            Lr -= M
            W.scatter_(1, at, Lr.exp_())
            W[:, P] = 0.0
            high = Lr.amax(1) > over  # a new weight near overflow: rebuilt before the next draw
    if bool(high.any()):
        rebuild(high.nonzero()[:, 0])
    return A, picks, L, W, M


def run_torch_engine(A0, X, rule, etas, gammas, eps, kexp, seed, steps, device, progress, desc):
    """Torch counterpart of :func:`._engine.run_engine` for :func:`generate`: ``(networks, order)``.

    ``device`` is a resolved :class:`torch.device`; the memory check runs before any allocation.
    """
    n = A0.shape[0]
    B = etas.size
    chunk = chunk_size(device, B, n, steps, rule)
    children = network_streams(seed, B)
    nets = np.zeros((B, n, n), dtype=bool)
    order = np.zeros((B, steps, 2), dtype=np.int32)
    if progress is None:
        progress = B * steps * n > 5e7
    from tqdm.auto import tqdm

    setup = Setup(A0, X, rule, eps, kexp, device)
    iu0, iu1 = setup.iu0.cpu().numpy(), setup.iu1.cpu().numpy()
    with torch.no_grad(), tqdm(total=B, desc=desc, unit="net", disable=not progress, leave=False) as bar:
        for lo in range(0, B, chunk):
            hi = min(B, lo + chunk)
            U = torch.as_tensor(draw_uniforms(children[lo:hi], steps)[:, :steps], dtype=setup.dt, device=device)
            A, picks, *_ = grow_chunk(setup, etas[lo:hi], gammas[lo:hi], U)
            nets[lo:hi] = A.cpu().numpy()
            pk = picks.cpu().numpy()
            order[lo:hi, :, 0] = iu0[pk]
            order[lo:hi, :, 1] = iu1[pk]
            del A, picks, U
            bar.update(hi - lo)
    return nets, order
