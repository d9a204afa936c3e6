"""Wiring-cost regularisers: L1, distance-weighted L1 (BIMT) and communicability x distance (seRNN).

Each function takes weights ``W`` of shape (n, m) or (K, n, m) (an ensemble) and returns the penalty
per member, shape () or (K,). They are differentiable with autograd (away from ``W = 0``, where ``|W|``
has a kink; torch uses the subgradient 0 there).

* :func:`l1` — ``sum |W|``.
* :func:`distance_l1` — ``sum |w_ij| (A d_ij + l0)``: BIMT's connection cost (Liu, Gan & Tegmark 2023).
* :func:`swap_units` — BIMT's neuron swaps: units exchange places when that shortens the weighted
  wiring (``Regularizer(..., swap_every=...)`` does it during training).
* :func:`communicability_distance` — ``sum |W| o C o D`` with ``C = expm(S^-1/2 |W| S^-1/2)``, zero
  diagonal, ``S = diag(s)`` and ``s_i = sum_j |w_ij|``: the spatially embedded RNN cost of Achterberg et
  al. 2023. Its strength must be 10-100x an L1 strength for similar pruning.

:class:`Regularizer` bundles a kind with a strength (a float, or one value per ensemble member) and applies
it to all of a model's ``reg_terms()``.

Examples
--------
>>> import torch
>>> W = torch.tensor([[0.0, 2.0], [-1.0, 0.0]])
>>> float(l1(W)), float(distance_l1(W, torch.ones(2, 2), A=1.0, l0=0.0))
(3.0, 3.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._validation import check_choice, check_float, check_int

__all__ = ["l1", "distance_l1", "communicability", "communicability_distance", "swap_units", "Regularizer", "KINDS"]

KINDS = ("none", "l1", "distance_l1", "communicability")


def _as3(W: torch.Tensor) -> tuple[torch.Tensor, bool]:
    if not isinstance(W, torch.Tensor):
        raise TypeError(f"'W' must be a torch.Tensor; got {type(W).__name__}")
    if W.ndim == 2:
        return W.unsqueeze(0), True
    if W.ndim != 3:
        raise ValueError(f"'W' must have shape (n, m) or (K, n, m); got {tuple(W.shape)}")
    return W, False


def _as_distances(D, W3: torch.Tensor) -> torch.Tensor:
    """``D`` as a tensor like ``W3`` (K, n, m): shared (n, m) or one matrix per member (K, n, m)."""
    D = torch.as_tensor(D, dtype=W3.dtype, device=W3.device)
    if D.shape != W3.shape[1:] and D.shape != W3.shape:
        raise ValueError(f"'D' must have shape {tuple(W3.shape[1:])} or {tuple(W3.shape)} like W; got {tuple(D.shape)}")
    return D


def l1(W: torch.Tensor) -> torch.Tensor:
    """Sum of absolute weights per member.

    Examples
    --------
    >>> l1(torch.tensor([[0.0, 2.0], [-1.0, 0.0]]))
    tensor(3.)
    >>> l1(torch.ones(3, 2, 2))  # an ensemble of 3 members
    tensor([4., 4., 4.])
    """
    W3, single = _as3(W)
    out = W3.abs().sum(dim=(1, 2))
    return out[0] if single else out


def distance_l1(W: torch.Tensor, D, A: float = 1.0, l0: float = 0.0) -> torch.Tensor:
    """BIMT connection cost ``sum |w_ij| (A d_ij + l0)`` per member.

    Parameters
    ----------
    D : tensor or array (n, m)
        Length of each connection.
    A, l0 : float
        Weight of the length term and a length-independent cost per unit weight.

    Examples
    --------
    >>> W = torch.tensor([[0.0, 2.0], [-1.0, 0.0]])
    >>> D = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    >>> distance_l1(W, D, A=2.0, l0=0.5)
    tensor(7.5000)
    """
    W3, single = _as3(W)
    A = check_float(A, "A", minimum=0.0)
    l0 = check_float(l0, "l0", minimum=0.0)
    D = _as_distances(D, W3)
    out = (W3.abs() * (A * D + l0)).sum(dim=(1, 2))
    return out[0] if single else out


def communicability(W: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Weighted communicability ``expm(S^-1/2 |W| S^-1/2)`` with zero diagonal, shape like ``W``.

    ``s_i = sum_j |w_ij|`` (row strength); ``eps`` guards isolated units.

    Examples
    --------
    >>> C = communicability(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
    >>> C.diagonal().tolist(), round(float(C[0, 1]), 4)
    ([0.0, 0.0], 1.1752)
    """
    W3, single = _as3(W)
    if W3.shape[1] != W3.shape[2]:
        raise ValueError(f"'W' must be square for communicability; got {tuple(W3.shape)}")
    A = W3.abs()
    s = A.sum(dim=2).clamp_min(eps).rsqrt()
    C = torch.linalg.matrix_exp(s.unsqueeze(2) * A * s.unsqueeze(1))
    C = C * (1 - torch.eye(A.shape[1], dtype=A.dtype, device=A.device))
    return C[0] if single else C


def communicability_distance(W: torch.Tensor, D) -> torch.Tensor:
    """seRNN cost ``sum |W| o C o D`` per member (Achterberg et al. 2023).

    Examples
    --------
    >>> W = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    >>> round(float(communicability_distance(W, torch.ones(2, 2))), 4)
    2.3504
    >>> communicability_distance(W.expand(3, 2, 2), torch.ones(2, 2)).shape
    torch.Size([3])
    """
    W3, single = _as3(W)
    D = _as_distances(D, W3)
    out = (W3.abs() * communicability(W3) * D).sum(dim=(1, 2))
    return out[0] if single else out


@torch.no_grad()
def swap_units(model) -> np.ndarray:
    """BIMT neuron swaps (Liu, Gan & Tegmark 2023): one greedy pass over the units of every member.

    The wiring cost is ``E = sum_{i<j} A_ij d(slot_i, slot_j)`` with ``A = |W| + |W|^T`` the recurrent
    weights. Unit by unit (in index order), the swap of unit ``i`` with the unit ``j`` that lowers ``E``
    most is made if it lowers ``E`` at all (by more than ``1e-9`` of ``E``). Units exchange *places*
    (the model's ``slot`` buffer), not weights, so training is undisturbed and a checkpoint holds
    the layout. Needs a model with ``slot``, ``dist`` and :meth:`effective_weights` (a
    :class:`~mesoscale.training.models.SpatialRNN`).

    Returns
    -------
    ndarray (K,)
        Swaps made per member.

    Examples
    --------
    Two connected units placed far apart move next to each other:

    >>> from mesoscale.training import SpatialRNN
    >>> net = SpatialRNN(1, 3, 1, positions=[[0, 0, 0], [1, 0, 0], [5, 0, 0]], seed=0)
    >>> with torch.no_grad():
    ...     _ = net.w_rec.zero_(); net.w_rec[0, 0, 2] = 1.0
    >>> swap_units(net).tolist(), float(distance_l1(net.effective_weights().detach(), net.member_distances()))
    ([2], 1.0)
    """
    if not all(hasattr(model, a) for a in ("slot", "dist", "effective_weights")):
        raise TypeError(f"'model' must have unit slots (a SpatialRNN); got {type(model).__name__}")
    W = model.effective_weights().abs().float()
    A = W + W.transpose(1, 2)  # (K, n, n)
    Dp = model.dist.float()  # slot-to-slot distances (n, n)
    slot = model.slot.clone()  # (K, n)
    K, n = slot.shape
    ar = torch.arange(K, device=A.device)
    C = torch.bmm(A, Dp[slot])  # C[k, i, s] = sum_j A[k, i, j] d(s, slot_j)
    total = 0.5 * (A * Dp[slot[:, :, None], slot[:, None, :]]).sum((1, 2))
    swaps = torch.zeros(K, dtype=torch.long, device=A.device)
    for i in range(n):
        si = slot[:, i]  # (K,)
        Cs = torch.gather(C, 2, slot[:, None, :].expand(K, n, n))  # Cs[k, a, b] = C[k, a, slot_b]
        ci_sj = Cs[:, i, :]  # C[i, s_j]
        ci_si = Cs[ar, i, i][:, None]
        cj_si = C[ar, :, si]  # C[j, s_i]
        cj_sj = torch.diagonal(Cs, dim1=1, dim2=2)  # C[j, s_j]
        dij = Dp[si[:, None], slot]  # d(s_i, s_j)
        delta = ci_sj - ci_si + cj_si - cj_sj + 2 * A[:, i, :] * dij
        delta[:, i] = 0.0
        best, j = delta.min(1)
        do = best < -1e-9 * total.clamp_min(1e-12)
        if not bool(do.any()):
            continue
        k = ar[do]
        jj = j[do]
        s_old_i, s_old_j = slot[k, i], slot[k, jj]
        # C changes by outer(A[:, i] - A[:, j], D[s_j] - D[s_i]) for the members that swap
        C[k] += (A[k, :, i] - A[k, :, jj])[:, :, None] * (Dp[s_old_j] - Dp[s_old_i])[:, None, :]
        slot[k, i], slot[k, jj] = s_old_j, s_old_i
        total[k] += best[do]
        swaps[k] += 1
    model.slot.copy_(slot)
    return swaps.cpu().numpy()


@dataclass
class Regularizer:
    """A wiring-cost regulariser applied to a model's ``reg_terms()``.

    Parameters
    ----------
    kind : {"none", "l1", "distance_l1", "communicability"}
        ``communicability`` applies only to square (recurrent) matrices; other terms of the model get
        ``distance_l1`` with ``A = 1``, ``l0 = 0`` (an MLP has no recurrent matrix).
    strength : float or sequence of K floats
        Penalty weight; a sequence gives each ensemble member its own strength.
    A, l0 : float
        Parameters of ``distance_l1``.
    swap_every : int
        BIMT neuron swaps (:func:`swap_units`) every ``swap_every`` training steps (0: never); the
        training loop calls :meth:`after_step`.

    Examples
    --------
    >>> from mesoscale.training.models import SpatialRNN
    >>> net = SpatialRNN(2, 8, 2, n_members=3, seed=0)
    >>> Regularizer("l1", [0.0, 1e-3, 1e-2])(net).shape
    torch.Size([3])
    >>> Regularizer("distance_l1", 1e-3, swap_every=200).after_step(net, 200).shape  # BIMT with swaps
    (3,)
    """

    kind: str = "none"
    strength: float | tuple = 0.0
    A: float = 1.0
    l0: float = 0.0
    swap_every: int = 0

    def __post_init__(self):
        check_choice(self.kind, "kind", KINDS)
        s = np.atleast_1d(np.asarray(self.strength, dtype=float))
        if s.ndim != 1 or not np.all(np.isfinite(s)) or np.any(s < 0):
            raise ValueError(f"'strength' must be a non-negative float or 1-D sequence; got {self.strength!r}")
        self._s = s
        check_float(self.A, "A", minimum=0.0)
        check_float(self.l0, "l0", minimum=0.0)
        check_int(self.swap_every, "swap_every", minimum=0)

    def strengths(self, n_members: int) -> np.ndarray:
        if len(self._s) == 1:
            return np.repeat(self._s, n_members)
        if len(self._s) != n_members:
            raise ValueError(f"'strength' has {len(self._s)} values but the model has {n_members} members")
        return self._s

    def __call__(self, model) -> torch.Tensor:
        """Penalty per member, shape (K,)."""
        K = model.n_members
        dev = next(model.parameters()).device
        total = torch.zeros(K, device=dev)
        if self.kind == "none" or not np.any(self._s):
            return total
        for W, D in model.reg_terms():
            W = W.float()
            if self.kind == "l1":
                total = total + l1(W)
            elif self.kind == "distance_l1" or W.shape[1] != W.shape[2]:
                total = total + distance_l1(W, D, self.A, self.l0)
            else:
                total = total + communicability_distance(W, D)
        return total * torch.as_tensor(self.strengths(K), dtype=total.dtype, device=dev)

    def after_step(self, model, step: int):
        """Called by the training loop after optimisation step ``step`` (counted from 1).

        Makes BIMT's neuron swaps every ``swap_every`` steps and returns the swaps per member
        (``None`` when nothing was done).
        """
        if self.swap_every and step % self.swap_every == 0 and hasattr(model, "slot"):
            return swap_units(model)
        return None
