"""The KS energy of :func:`mesoscale.metrics.ks_energy` in PyTorch, batched over networks on any device.

This is the backend behind ``ks_energy(..., device=...)``. It computes exactly what the numba kernel
of :mod:`mesoscale.metrics.energy` computes -- the four two-sample KS statistics of degree,
binary clustering, unnormalised binary betweenness and upper-triangle edge length against a
target, and their maximum -- but as dense tensor algebra over a chunk of ``b`` networks at once,
so that a GPU can evaluate thousands of networks per call. Everything is float64.

Algorithm (``A``: the chunk as a ``(b, n, n)`` float64 tensor of 0/1)

* **Degree** ``k = A.sum(-1)``. **Clustering** ``t = (A @ A * A).sum(-1)`` (``diag(A^3)``, twice
  the triangles at each node) and ``c = t / (k^2 - k)`` where ``k >= 2``, else 0 -- the same two
  exact integers divided as in the numba kernel and ``bct.clustering_coef_bu``, so the same bits.
* **Betweenness** (Brandes 2001, unweighted, all ``n`` sources at once). Row ``s`` of the
  ``(b, n, n)`` tensors belongs to source ``s``. Forward: ``F`` holds the path counts ``sigma`` of
  the current BFS level (the identity at level 0); ``N = F @ A`` sums, for every node, the counts
  of its neighbours in that level, and the nodes with ``N > 0`` not reached before form the next
  level: their ``sigma`` is ``N`` and their recorded distance is the level number. One batched
  matmul per level, until no network of the chunk reaches a new node. Backward,
  deepest level first: with ``coef = (1 + delta) / sigma`` on level ``d + 1`` (``1 / sigma`` on
  the deepest), ``delta = sigma * (coef @ A)`` on level ``d`` -- the dependency pulled from the
  successors -- and ``coef`` moves up one level. The betweenness of ``v`` is the sum over the
  sources of ``delta[s, v]`` for the levels ``d >= 1`` (the source itself is left out), every
  ordered pair counted as ``bct.betweenness_bin`` counts it.
* **Edge lengths.** The upper-triangle distances are sorted once; a network's edge-length
  sample is its edge indicator in that order, so its empirical distribution function at every
  distinct distance is a cumulative sum -- no per-network sort and no padding. Evaluating the
  two distribution functions at every distinct distance gives the same supremum as evaluating
  them at the sample points (between jumps both functions are constant).
* **KS of the node samples** (size ``n`` each). Each network's sample is sorted and merged with
  the sorted target sample. Values within ``rtol * max(1, |v|)`` of a group's first value are
  ties, exactly as ``ks_sorted`` in :mod:`~mesoscale.metrics._ks_kernels` groups them (``rtol = 0``
  for degree and clustering, where this is ``scipy.stats.ks_2samp``; ``BETWEENNESS_RTOL`` for
  betweenness): a new group starts at the first merged value above the previous group's
  threshold. Groups are found in parallel -- gaps larger than the tolerance always start a group,
  and the rare run of near-equal values wider than one tolerance is split by a short loop that
  adds the first value past each group's threshold until none is left. The counts of either
  sample up to each group's threshold come from ``torch.searchsorted``, and the statistic is the
  largest ``|i / n_x - j / n_y|`` over the groups.

Masks are float64 0/1 tensors applied by multiplication (boolean-masked kernels are far slower on
the CPU), and the seven ``(b, n, n)`` buffers are allocated once and reused chunk after chunk.
Memory is ``O(b n^2)`` (about :func:`working_bytes` per network); :func:`chunk_size` picks ``b``
from the free memory of a CUDA device (``torch.cuda.mem_get_info``) or a fixed budget on the CPU.
torch is imported only when this module is, and :mod:`~mesoscale.metrics.energy` imports this
module only when a ``device`` is given.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_torch_device

__all__ = ["resolve_device", "working_bytes", "chunk_size", "node_statistics", "TorchEnergy"]

#: Temporary memory the CPU path may use for one chunk of networks.
_CPU_BYTES = 256 * 2**20
#: Share of a CUDA device's free memory one chunk may use (the rest is headroom for the allocator).
_CUDA_FRACTION = 0.8
#: Most networks in one chunk (also bounds the host memory of validating a chunk).
_MAX_CHUNK = 4096

_F64 = torch.float64


def resolve_device(device) -> torch.device:
    """Return ``device`` as a CPU or available CUDA ``torch.device``, or raise naming it.

    The checks of :func:`mesoscale._validation.check_torch_device`, restricted to CPU and CUDA
    (the statistics are float64, which MPS lacks).

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    return check_torch_device(device, ("cpu", "cuda"))


def working_bytes(n: int) -> int:
    """Estimated temporary memory, in bytes, that evaluating one network of ``n`` nodes needs.

    Twelve float64 ``n x n`` arrays: the seven buffers (adjacency, matmul output, path counts,
    current level, unreached mask, distances, new level), the edge-length indicators and their
    cumulative sums, and headroom for the small per-node temporaries.

    Examples
    --------
    >>> working_bytes(68)  # bytes, about 0.4 MiB
    448256
    """
    return 96 * n * n + 64 * n


def _fixed_bytes(n: int) -> int:
    """Memory the chunk-independent tensors hold (distances, edge order, target samples)."""
    return 32 * n * n + 64 * n + 2**20


def chunk_size(device: torch.device, n: int, n_networks: int) -> int:
    """Networks per chunk on ``device``: free CUDA memory (or a fixed CPU budget) over :func:`working_bytes`.

    On CUDA, raises ``ValueError`` naming the device when not even one network fits in the free memory.

    Examples
    --------
    >>> chunk_size(resolve_device("cpu"), 68, 10)
    10
    """
    per = working_bytes(n)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        avail = int(free * _CUDA_FRACTION) - _fixed_bytes(n)
        if per > avail:
            raise ValueError(
                f"'device' {str(device)!r}: one network of {n} nodes needs about {per + _fixed_bytes(n)} bytes "
                f"of working memory, but only {int(free)} bytes are free there ({max(avail, 0)} usable)"
            )
        budget = avail
    else:
        budget = _CPU_BYTES
    return int(max(1, min(max(n_networks, 1), _MAX_CHUNK, budget // per)))


class _Workspace:
    """Seven ``(capacity, n, n)`` float64 buffers, allocated once and reused chunk after chunk.

    Reuse matters on the CPU, where every fresh large tensor pays for its page faults.
    """

    def __init__(self, capacity: int, n: int, device: torch.device):
        self.capacity = capacity
        shape = (capacity, n, n)
        self.A, self.buf, self.sigma, self.front, self.unseen, self.lev, self.reached = (
            torch.empty(shape, dtype=_F64, device=device) for _ in range(7)
        )

    def views(self, b: int):
        return [t[:b] for t in (self.A, self.buf, self.sigma, self.front, self.unseen, self.lev, self.reached)]


def _node_statistics(ws: _Workspace, b: int):
    """Degree, clustering and betweenness, each ``(b, n)``, of the 0/1 networks in ``ws.A[:b]``."""
    A, buf, sigma, front, unseen, lev, reached = ws.views(b)
    deg = A.sum(-1)
    torch.bmm(A, A, out=buf)
    tri = buf.mul_(A).sum(-1)  # diag(A^3): every triangle at a node counted twice
    kk = deg * deg - deg
    clu = torch.where(deg >= 2, tri / torch.where(deg >= 2, kk, 1.0), 0.0)

    # --- betweenness, forward: path counts level by level, all sources at once (rows = sources).
    # Masks are float64 0/1 and applied by multiplication: on the CPU, boolean-masked kernels
    # (where, masked_fill, bool * float) are an order of magnitude slower than arithmetic.
    sigma.zero_().diagonal(dim1=1, dim2=2).fill_(1.0)
    front.copy_(sigma)  # sigma on the current level, 0 elsewhere
    unseen.fill_(1.0).diagonal(dim1=1, dim2=2).fill_(0.0)  # 1 where not reached from the source yet
    lev.fill_(-1.0).diagonal(dim1=1, dim2=2).fill_(0.0)  # BFS level (-1: never reached); exact integers
    level = 0
    while True:
        torch.bmm(front, A, out=buf)  # entries are 0 or sums of path counts >= 1
        torch.clamp(buf, max=1.0, out=reached).mul_(unseen)  # 1 on the new level
        if not reached.sum().item() > 0:
            break
        level += 1
        torch.mul(buf, reached, out=front)
        sigma += front
        unseen -= reached
        lev.add_(reached, alpha=level + 1)
        if not unseen.sum().item() > 0:  # every node reached from every source: no next level
            break

    # --- backward: delta = sigma * (coef @ A) on level d, coef = (1 + delta) / sigma moves up a level
    bet = torch.zeros((b, A.shape[-1]), dtype=_F64, device=A.device)
    if level >= 2:
        sigma.clamp_(min=1.0)  # reached nodes have sigma >= 1; the others are masked out below
        coef, mask = front, unseen  # the forward's buffers, free now
        torch.eq(lev, level, out=coef)
        coef.div_(sigma)
        for d in range(level - 1, 0, -1):
            torch.bmm(coef, A, out=buf)
            torch.eq(lev, d, out=mask)
            buf.mul_(sigma).mul_(mask)  # delta[s, v] for v on level d
            bet += buf.sum(1)
            buf.add_(1.0).div_(sigma).mul_(mask)
            coef, buf = buf, coef
    return deg, clu, bet


def node_statistics(networks, device="cpu"):
    """Degree, clustering and betweenness of validated boolean networks ``(B, n, n)``, computed on ``device``.

    Returns three float64 arrays of shape ``(B, n)``: ``bct.degrees_und``, ``bct.clustering_coef_bu``
    and ``bct.betweenness_bin`` (the last up to floating-point summation order).

    Examples
    --------
    >>> import numpy as np
    >>> P = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], bool)
    >>> [s[0].tolist() for s in node_statistics(P[None])]
    [[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """
    dev = resolve_device(device)
    nets = np.ascontiguousarray(networks, dtype=bool)
    B, n = nets.shape[0], nets.shape[1]
    out = np.zeros((3, B, n))
    chunk = chunk_size(dev, n, B)
    ws = _Workspace(min(chunk, max(B, 1)), n, dev)
    for start in range(0, B, chunk):
        part = torch.from_numpy(nets[start : start + chunk])
        b = part.shape[0]
        ws.A[:b].copy_(part.to(dev))
        for k, s in enumerate(_node_statistics(ws, b)):
            out[k, start : start + b] = s.cpu().numpy()
    return out[0], out[1], out[2]


def _ks_sorted_batch(x: torch.Tensor, y: torch.Tensor, rtol: float) -> torch.Tensor:
    """KS statistic of each row of sorted ``x`` (b, nx) against sorted ``y`` (ny,); ties as ``ks_sorted`` (:mod:`._ks_kernels`).

    Both samples are non-empty.
    """
    b, nx = x.shape
    ny = y.shape[0]
    yb = y.expand(b, ny).contiguous()
    z = torch.sort(torch.cat([x, yb], 1), dim=1).values
    thr = z + rtol * z.abs().clamp(min=1.0) if rtol > 0 else z
    L = z.shape[1]
    lead = torch.ones((b, L), dtype=torch.bool, device=z.device)
    lead[:, 1:] = z[:, 1:] > thr[:, :-1]  # a gap wider than the tolerance starts a group
    if rtol > 0:
        pos = torch.arange(L, device=z.device).expand(b, L)
        while True:  # runs of near-ties wider than one tolerance: split at the first value past it
            first = torch.where(lead, pos, 0).cummax(1).values
            past = z > thr.gather(1, first)
            if not bool(past.any()):
                break
            past[:, 1:] &= ~past[:, :-1].clone()
            lead |= past
    cx = torch.searchsorted(x.contiguous(), thr, right=True).to(_F64)
    cy = torch.searchsorted(yb, thr, right=True).to(_F64)
    diff = torch.where(lead, (cx / nx - cy / ny).abs(), 0.0)
    return diff.amax(1)


class TorchEnergy:
    """Target samples on a device, and the KS statistics of chunks of networks against them.

    ``target`` is a boolean ``(n, n)`` symmetric matrix with a zero diagonal and ``D`` a validated
    float64 distance matrix; :meth:`evaluate` takes validated boolean chunks ``(b, n, n)`` of at most
    :attr:`chunk` networks and returns ``(b, 5)`` in the columns of ``KS_COLUMNS``. The device and,
    on CUDA, the memory for one network are checked before anything is computed.

    Examples
    --------
    >>> import numpy as np
    >>> T = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], bool)
    >>> e = TorchEnergy(T, np.ones((3, 3)) - np.eye(3), "cpu", n_networks=1)
    >>> e.evaluate(T[None]).tolist()
    [[0.0, 0.0, 0.0, 0.0, 0.0]]
    """

    def __init__(self, target, D, device, *, n_networks: int, betweenness_rtol: float = 1e-9):
        self.device = resolve_device(device)
        T = np.asarray(target, dtype=bool)
        n = T.shape[0]
        self.n = n
        self.chunk = chunk_size(self.device, n, n_networks)
        self.rtol = float(betweenness_rtol)
        dev = self.device
        # edge lengths: the upper-triangle pairs in order of distance, and the last pair of each distance
        iu = np.triu_indices(n, 1)
        dvals = np.asarray(D, dtype=np.float64)[iu]
        order = np.argsort(dvals, kind="stable")
        ds = dvals[order]
        ends = np.flatnonzero(np.append(ds[1:] != ds[:-1], True)) if ds.size else np.zeros(0, np.int64)
        self._flat = torch.from_numpy((iu[0][order] * n + iu[1][order]).astype(np.int64)).to(dev)
        self._ends = torch.from_numpy(ends.astype(np.int64)).to(dev)
        self._ws = _Workspace(1, n, dev)
        self._load(T[None])
        deg, clu, bet = _node_statistics(self._ws, 1)
        self._t_nodes = [torch.sort(s[0]).values for s in (deg, clu, bet)]
        self._t_cum, self._t_m = self._edge_cdf(self._ws.A[:1])
        self._ws = None  # the chunk-sized workspace is allocated on the first evaluate

    def _load(self, nets: np.ndarray) -> None:
        """Copy a boolean chunk into the workspace as float64 0/1."""
        src = torch.from_numpy(nets)
        if self.device.type != "cpu":
            src = src.to(self.device, non_blocking=False)
        self._ws.A[: nets.shape[0]].copy_(src)

    def _edge_cdf(self, A: torch.Tensor):
        """Edge counts up to each distinct distance (b, G) and edge totals (b,), as float64."""
        E = A.reshape(A.shape[0], -1).index_select(1, self._flat)
        m = E.sum(1)
        if self._ends.numel() == 0:
            return E[:, :0], m
        return E.cumsum_(1).index_select(1, self._ends), m

    def evaluate(self, networks) -> np.ndarray:
        """KS statistics and energy, shape ``(b, 5)``, of a validated boolean chunk ``(b, n, n)``."""
        nets = np.ascontiguousarray(networks, dtype=bool)
        b = nets.shape[0]
        if b > self.chunk:
            raise ValueError(f"'networks' holds {b} networks; at most {self.chunk} (the chunk) per call")
        if b == 0:
            return np.empty((0, 5))
        if self._ws is None:
            self._ws = _Workspace(self.chunk, self.n, self.device)
        self._load(nets)
        deg, clu, bet = _node_statistics(self._ws, b)
        cols = []
        for s, t, rtol in zip((deg, clu, bet), self._t_nodes, (0.0, 0.0, self.rtol)):
            cols.append(_ks_sorted_batch(torch.sort(s, dim=1).values, t, rtol))
        cum, m = self._edge_cdf(self._ws.A[:b])
        tm = self._t_m[0]
        if cum.shape[1] == 0:
            ks_len = torch.zeros(b, dtype=_F64, device=self.device)
        else:
            diff = (cum / m.clamp(min=1.0)[:, None] - self._t_cum / tm.clamp(min=1.0)).abs()
            ks_len = diff.amax(1)
        # a sample without edges: 1 against a target with edges, 0 if neither has any
        empty = (m == 0) | (tm == 0)
        ks_len = torch.where(empty, ((m == 0) != (tm == 0)).to(_F64), ks_len)
        cols.append(ks_len)
        K = torch.stack(cols, 1)
        out = torch.cat([K, K.amax(1, keepdim=True)], 1)
        return out.cpu().numpy()
