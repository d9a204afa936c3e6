"""Weighted generative network models (Akarca et al. 2023; the PyTorch GNM toolbox's formulation).

A binary wiring rule grows the topology exactly as :func:`~mesoscale.generative.generate` does;
the weights never influence which pair connects next. After every binary step ``t`` (the edge
added at ``t`` enters with weight 1, as do the seed network's edges) the weights take
``n_updates`` gradient steps on a normative loss ``L``::

    W <- clip(W - alpha * dL/dW, lower, upper)   on the binary support (0 elsewhere)

``dL/dW`` is the exact gradient with respect to the entries of the ``n x n`` matrix, ``L``
being evaluated on ``(W + W.T) / 2`` (so the gradient is symmetric and the weights stay
symmetric). The losses (``omega > 0``):

``"weight"``                    ``sum_ij W_ij^omega``
``"weighted_distance"``         ``sum_ij (W_ij D_ij)^omega``
``"communicability"``           ``sum_ij C_ij^omega``, ``C = expm(S^-1/2 W S^-1/2)``, ``S = diag(strength)``
``"distance_communicability"``  ``sum_ij (C_ij D_ij)^omega``

and with ``normalised=True`` each summand is divided by the largest one (``sum f / max f``).
Gradients are analytic: elementwise for the first two; for the communicability losses through
the eigendecomposition of the symmetric ``M = S^-1/2 W S^-1/2`` (the Frechet derivative of the
matrix exponential, ``V (Phi o (V' G V)) V'`` with ``Phi`` the divided differences of ``exp`` at
the eigenvalues), then through ``S``. :func:`weight_loss` evaluates the losses independently
(``torch.linalg.matrix_exp``) for testing against finite differences and autograd.

Conventions: a node whose weights are all zero has no ``S^-1/2`` (its row of ``M`` is zero and so
is its gradient: weights clipped to zero at every edge of a node stay there); communicability
entries below ``1e-12`` of the network's largest entry (the rounding level of the matrix
exponential, and zero for pairs in different components) count as 0, so that ``C^omega`` with
``omega < 1`` does not turn rounding noise into loss; with ``alpha = 0`` the weights are never
changed, only clipped (they stay exactly 1 when ``lower <= 1 <= upper``). A non-finite weight
at any update raises ``ValueError`` naming the loss, the parameters and the binary step: no
NaN weight is ever returned.

Cost: ``"weight"`` and ``"weighted_distance"`` act on each weight (coupled only by the
normalisation), so they run on the edge list: the edge added at step ``t`` takes ``n_updates * (T - t)``
updates, with the replay's arithmetic (unnormalised: bit for bit). The communicability losses
replay the growth with one batched ``eigh`` per update (``O(T n^3)`` per network).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .._validation import SeedLike, check_choice, check_distance, check_float, check_int
from ._kernels import WIRING_RULES

__all__ = ["WEIGHT_LOSSES", "weight_loss", "weight_gradient", "grow_weights", "generate_weighted",
           "WeightedModel"]

WEIGHT_LOSSES = ("weight", "weighted_distance", "communicability", "distance_communicability")

#: Communicability entries below this fraction of a network's largest entry count as 0.
COMMUNICABILITY_FLOOR = 1e-12

#: Bytes of working memory one chunk of networks may use in the step-by-step replay.
REPLAY_MEMORY = 256 * 2**20


def _torch():
    import torch

    return torch


def _check_loss(loss, omega, normalised):
    """The loss name, a scalar omega > 0 (None: not checked here) and the normalised flag, validated."""
    loss = check_choice(loss, "loss", WEIGHT_LOSSES)
    if not isinstance(normalised, (bool, np.bool_)):
        raise TypeError(f"'normalised' must be True or False; got {normalised!r}")
    if omega is not None and check_float(omega, "omega") <= 0:
        raise ValueError(f"'omega' must be > 0; got {omega}")
    return loss, bool(normalised), None if omega is None else float(omega)


def _as_tensor(x, device):
    torch = _torch()
    return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64, device=device)


def _communicability(W):
    """C, eigenvalues, eigenvectors, M and r = s^-1/2 of a batch (B, n, n)."""
    torch = _torch()
    s = W.sum(dim=-1)
    pos = s > 0
    r = torch.where(pos, s.clamp_min(1e-300).rsqrt(), 0.0)
    M = W * (r[:, :, None] * r[:, None, :])
    M = 0.5 * (M + M.transpose(1, 2))
    lam, V = torch.linalg.eigh(M)
    C = (V * lam.exp()[:, None, :]) @ V.transpose(1, 2)
    C = 0.5 * (C + C.transpose(1, 2))
    floor = COMMUNICABILITY_FLOOR * C.abs().amax(dim=(1, 2), keepdim=True)
    C = torch.where(C > floor, C, 0.0)
    return C, lam, V, M, r, s


def _summand_grad(X, c, omega, normalised, mask):
    """f = (c X)^omega on ``mask`` and df/dX = omega f / X (times dL/df when normalised: sum f / max f).

    At ``X = 0`` on the mask (a weight clipped to zero) the derivative is its limit: ``inf`` for
    ``omega < 1``, ``c`` for ``omega = 1``, 0 above.
    """
    torch = _torch()
    om = omega[:, None, None]
    base = X if c is None else X * c
    pos = mask & (base > 0)
    f = torch.where(pos, base, 1.0).pow(om) * pos
    d = om * f / torch.where(pos, X, 1.0)
    zero = mask & (X == 0) if c is None else mask & (X == 0) & (c > 0)
    if bool(zero.any()):
        cpow = 1.0 if c is None else torch.where(zero, c, 1.0).pow(om)
        lim = torch.where(om < 1, np.inf, torch.where(om == 1, 1.0, 0.0))
        d = torch.where(zero, lim * cpow, d)
    if not normalised:
        return f, d
    top = f.amax(dim=(1, 2), keepdim=True)
    total = f.sum(dim=(1, 2), keepdim=True)
    ismax = (f == top) & mask
    nmax = ismax.sum(dim=(1, 2), keepdim=True).clamp_min(1)
    dLdf = torch.where(top > 0, 1.0 / top - ismax * total / (top * top * nmax), np.nan)
    return f, torch.where(mask, dLdf * d, 0.0)


def _gradient(W, A, Dt, loss, omega, normalised):
    """dL/dW of a batch of symmetric weights W on supports A (bool), with per-network omega."""
    torch = _torch()
    if loss in ("weight", "weighted_distance"):
        return _summand_grad(W, None if loss == "weight" else Dt, omega, normalised, A)[1]
    C, lam, V, M, r, s = _communicability(W)
    GC = _summand_grad(C, None if loss == "communicability" else Dt, omega, normalised, C > 0)[1]
    delta = lam[:, :, None] - lam[:, None, :]
    small = delta.abs() < 1e-9
    ratio = torch.where(small, 1.0 + 0.5 * delta, torch.expm1(delta) / torch.where(small, 1.0, delta))
    Phi = lam.exp()[:, None, :] * ratio  # (e^li - e^lj) / (li - lj), e^li on the diagonal
    Vt = V.transpose(1, 2)
    GM = V @ (Phi * (Vt @ GC @ V)) @ Vt
    GM = 0.5 * (GM + GM.transpose(1, 2))
    q = torch.where(s > 0, (GM * M).sum(dim=-1) / torch.where(s > 0, s, 1.0), 0.0)  # c_i / (2 s_i)
    G = GM * (r[:, :, None] * r[:, None, :]) - 0.5 * (q[:, :, None] + q[:, None, :])
    return torch.where(A, G, 0.0)


def weight_loss(W, D=None, loss: str = "distance_communicability", omega: float = 1.0, *,
                normalised: bool = False) -> np.ndarray:
    """The loss of each weight matrix, computed independently of the gradients (``matrix_exp``).

    Parameters
    ----------
    W : array_like, shape (B, n, n) or (n, n)
        Non-negative weights (evaluated on ``(W + W.T) / 2``, the diagonal ignored).
    D : array_like, shape (n, n), optional
        Distances (the distance losses).
    loss, omega, normalised
        As in :func:`grow_weights`.

    Returns
    -------
    ndarray, shape (B,)

    Examples
    --------
    >>> W = np.array([[0, 1.0], [1.0, 0]])
    >>> weight_loss(W, loss="weight", omega=2.0).tolist()
    [2.0]
    >>> bool(np.isclose(weight_loss(W, loss="communicability")[0], 2 * np.e))  # expm([[0, 1], [1, 0]]) sums to 2e
    True
    """
    torch = _torch()
    loss, normalised, omega = _check_loss(loss, omega, normalised)
    Wa = np.asarray(W, dtype=np.float64)
    Wa = Wa[None] if Wa.ndim == 2 else Wa
    Wt = _as_tensor(Wa, "cpu")
    n = Wt.shape[-1]
    Wt = 0.5 * (Wt + Wt.transpose(1, 2)) * (1 - torch.eye(n, dtype=torch.float64))
    needs_d = loss in ("weighted_distance", "distance_communicability")
    Dt = _as_tensor(check_distance(D, n), "cpu") if needs_d else None
    X = Wt
    if "communicability" in loss:
        s = Wt.sum(-1)
        r = torch.where(s > 0, s.clamp_min(1e-300).rsqrt(), torch.zeros_like(s))
        C = torch.linalg.matrix_exp(Wt * r[:, :, None] * r[:, None, :])
        X = torch.where(C > COMMUNICABILITY_FLOOR * C.abs().amax(dim=(1, 2), keepdim=True), C, torch.zeros_like(C))
    X = X if Dt is None else X * Dt
    f = torch.where(X > 0, X.clamp_min(1e-300).pow(omega), torch.zeros_like(X))
    total = f.sum(dim=(1, 2))
    if normalised:
        total = total / f.amax(dim=(1, 2))
    return total.numpy()


def weight_gradient(W, D=None, loss: str = "distance_communicability", omega: float = 1.0, *,
                    normalised: bool = False, support=None) -> np.ndarray:
    """The exact gradient ``dL/dW`` that :func:`grow_weights` steps along (0 off the support).

    Parameters
    ----------
    W : array_like, shape (B, n, n) or (n, n)
        Symmetric non-negative weights with a zero diagonal.
    D, loss, omega, normalised
        As in :func:`weight_loss`.
    support : array_like of bool, optional
        The binary network on which the weights live (default: ``W > 0``).

    Examples
    --------
    >>> W = np.array([[0, 2.0], [2.0, 0]])
    >>> weight_gradient(W, loss="weight", omega=2.0).tolist()  # d(sum W^2)/dW_ij = 2 W_ij
    [[[0.0, 4.0], [4.0, 0.0]]]
    """
    torch = _torch()
    loss, normalised, omega = _check_loss(loss, omega, normalised)
    from ..metrics.weighted import check_weights

    Wa = check_weights(W, "W")
    n = Wa.shape[-1]
    A = Wa > 0 if support is None else np.array(np.broadcast_to(np.asarray(support, bool), Wa.shape))
    Dt = _as_tensor(_symmetric(check_distance(D, n)), "cpu") if loss in ("weighted_distance",
                                                                       "distance_communicability") else None
    G = _gradient(_as_tensor(Wa, "cpu"), torch.as_tensor(A), Dt, loss,
                  torch.full((Wa.shape[0],), omega, dtype=torch.float64), normalised)
    return G.numpy()


def _symmetric(D):
    return 0.5 * (D + D.T)


def _check_weight_params(alpha, omega, B):
    """alpha (>= 0) and omega (> 0) as finite float arrays of length B (scalars broadcast)."""
    out = []
    for name, x, low_ok in (("alpha", alpha, True), ("omega", omega, False)):
        arr = np.atleast_1d(np.asarray(x, dtype=float)) if not isinstance(x, (bool, np.bool_)) else None
        if arr is None or arr.ndim != 1:
            raise TypeError(f"'{name}' must be a real scalar or a 1-D array; got {x!r}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"'{name}' must be finite; got {arr[~np.isfinite(arr)][0]}")
        bad = arr < 0 if low_ok else arr <= 0
        if bad.any():
            raise ValueError(f"'{name}' must be {'>= 0' if low_ok else '> 0'}; got {arr[bad][0]}")
        if arr.size not in (1, B):
            raise ValueError(f"'{name}' must be a scalar or hold one value per network ({B}); got {arr.size}")
        out.append(np.broadcast_to(arr, (B,)).copy())
    return out


def _check_bounds(bounds):
    if np.ndim(bounds) != 1 or len(bounds) != 2:
        raise ValueError(f"'bounds' must be a pair (lower, upper); got {bounds!r}")
    lo = check_float(bounds[0], "bounds", minimum=0.0)
    hi = check_float(bounds[1], "bounds", allow_inf=True)
    if not lo <= hi:
        raise ValueError(f"'bounds' must have lower <= upper; got {tuple(bounds)!r}")
    return lo, hi


def _fail(loss, alpha, omega, b, t, u):
    raise ValueError(
        f"weights diverged: loss {loss!r} with alpha={alpha:g}, omega={omega:g} gave a non-finite weight in "
        f"network {b} at binary step {t} (update {u}); lower 'alpha', change 'omega' or bound the weights"
    )


def _elementwise(order, A0, Dn, loss, alpha, omega, n_updates, lo, hi, normalised, device, offset=0):
    """The elementwise losses on the edge list: after binary step t the seed and edges 0..t are updated.

    Unnormalised, every weight follows its own map (the same arithmetic as :func:`_replay`, bit for
    bit); normalised, the largest summand and the sum couple them, taken over the present edges
    (each edge stands for its two entries ij and ji of the matrix).
    """
    torch = _torch()
    B, T = order.shape[:2]
    si, sj = np.nonzero(np.triu(A0, 1))
    I = np.concatenate([np.broadcast_to(si, (B, si.size)), order[:, :, 0]], axis=1)
    J = np.concatenate([np.broadcast_to(sj, (B, sj.size)), order[:, :, 1]], axis=1)
    n_seed = si.size
    c = None if loss == "weight" else _as_tensor(Dn[I, J], device)[:, None, :]
    w = torch.ones((B, 1, I.shape[1]), dtype=torch.float64, device=device)
    al = _as_tensor(alpha, device)[:, None, None]
    om = _as_tensor(omega, device)
    every = torch.ones_like(w, dtype=torch.bool)
    for t in range(T):
        p = n_seed + t + 1
        for u in range(n_updates):
            ws = w[:, :, :p]
            cs = None if c is None else c[:, :, :p]
            if normalised:
                f, d = _summand_grad(ws, cs, om, False, every[:, :, :p])
                top = f.amax(dim=2, keepdim=True)
                ismax = f == top
                total, nmax = 2.0 * f.sum(dim=2, keepdim=True), 2.0 * ismax.sum(dim=2, keepdim=True)
                g = torch.where(top > 0, 1.0 / top - ismax * total / (top * top * nmax),
                                torch.full_like(f, np.nan)) * d
            else:
                g = _summand_grad(ws, cs, om, False, every[:, :, :p])[1]
            new = (ws - torch.where(al > 0, al * g, torch.zeros_like(ws))).clamp(lo, hi)
            if not bool(torch.isfinite(new).all()):
                b = int(torch.nonzero(~torch.isfinite(new).flatten(1).all(dim=1))[0])
                _fail(loss, float(alpha[b]), float(omega[b]), b + offset, t, u)
            w[:, :, :p] = new
    out = np.zeros((B,) + A0.shape)
    wn = w[:, 0].cpu().numpy()
    rows = np.arange(B)[:, None]
    out[rows, I, J] = wn
    out[rows, J, I] = wn
    return out


def _replay(order, A0, Dn, loss, alpha, omega, n_updates, lo, hi, normalised, device, bar, offset=0):
    """Step-by-step replay of the growth with every update on the whole batch (B, n, n)."""
    torch = _torch()
    B, T = order.shape[:2]
    A = torch.as_tensor(A0.astype(bool), device=device)[None].repeat(B, 1, 1)
    W = A.to(torch.float64)
    Dt = None if Dn is None else _as_tensor(Dn, device)[None]
    al = _as_tensor(alpha, device)[:, None, None]
    om = _as_tensor(omega, device)
    rows = torch.arange(B, device=device)
    oi = torch.as_tensor(order[:, :, 0].astype(np.int64), device=device)
    oj = torch.as_tensor(order[:, :, 1].astype(np.int64), device=device)
    for t in range(T):
        i, j = oi[:, t], oj[:, t]
        A[rows, i, j] = True
        A[rows, j, i] = True
        W[rows, i, j] = 1.0
        W[rows, j, i] = 1.0
        for u in range(n_updates):
            G = _gradient(W, A, Dt, loss, om, normalised)
            step = torch.where(al > 0, al * G, torch.zeros_like(G))
            new = torch.where(A, (W - step).clamp(lo, hi), torch.zeros_like(W))
            bad = ~torch.isfinite(new).flatten(1).all(dim=1)
            if bool(bad.any()):
                b = int(torch.nonzero(bad)[0])
                _fail(loss, float(alpha[b]), float(omega[b]), b + offset, t, u)
            W = new
        if bar is not None:
            bar.update(B)
    return W.cpu().numpy()


def grow_weights(order, D, seed_network=None, *, loss: str = "distance_communicability", alpha=0.01,
                 omega=1.0, normalised: bool = False, n_updates: int = 1,
                 bounds: tuple[float, float] = (0.0, np.inf), device=None, n_jobs: int | None = 1,
                 progress: bool | None = None):
    """Replay binary growth orders and evolve the weights on their support (the weighted GNM).

    Parameters
    ----------
    order : array_like of int, shape (B, T, 2) or (T, 2)
        The pairs added at each binary step, as :func:`~mesoscale.generative.generate` (or
        :func:`~mesoscale.generative.grow`) return them with ``return_order=True``.
    D : array_like, shape (n, n)
        Distances (used by the distance losses; fixes ``n`` for the others).
    seed_network : array_like, shape (n, n), optional
        The network the growth started from (its edges start at weight 1 too).
    loss : str
        One of :data:`WEIGHT_LOSSES` (see the module docstring).
    alpha : float or array_like
        Learning rate(s) ``>= 0``, one per network or one for all; 0 leaves the weights unchanged.
    omega : float or array_like
        Exponent(s) ``> 0`` of the loss.
    normalised : bool
        Divide the summands by the largest one (``sum f / max f``).
    n_updates : int
        Gradient steps after every binary step.
    bounds : (float, float)
        ``(lower, upper)`` the weights are clipped to after every step; ``lower >= 0``, ``upper``
        may be ``inf``.
    device : str or torch.device, optional
        Where the tensors live (default the CPU, on one torch thread per network group); float64
        throughout.
    n_jobs : int
        Threads, each replaying its own share of the networks on the CPU (``-1``: every core);
        the result does not depend on it.
    progress : bool, optional
        Progress bar over binary steps (default: only for long replays).

    Returns
    -------
    ndarray, shape (B, n, n)
        Symmetric weights, zero off the binary support (and possibly zero on it, where clipped).

    Examples
    --------
    >>> from mesoscale.generative import generate
    >>> xy = np.random.default_rng(0).random((12, 2)); D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> nets, order = generate(D, 20, "matching", -2.0, 0.3, n_networks=2, seed=1, return_order=True)
    >>> W = grow_weights(order, D, loss="distance_communicability", alpha=0.05, normalised=True)
    >>> W.shape, bool(np.array_equal(W > 0, nets)), bool(np.allclose(W, W.transpose(0, 2, 1)))
    ((2, 12, 12), True, True)
    >>> bool(np.all(grow_weights(order, D, alpha=0.0)[nets] == 1.0))  # alpha = 0: the binary model
    True
    """
    from tqdm.auto import tqdm

    loss, normalised, _ = _check_loss(loss, None, normalised)
    Dm = _symmetric(check_distance(D, name="D"))
    n = Dm.shape[0]
    O = np.asarray(order)
    if O.ndim == 2:
        O = O[None]
    if O.ndim != 3 or O.shape[2] != 2 or not np.issubdtype(O.dtype, np.integer):
        raise ValueError(f"'order' must be an int array of shape (B, T, 2) or (T, 2); got {np.shape(order)}")
    if O.size and (O.min() < 0 or O.max() >= n or np.any(O[:, :, 0] == O[:, :, 1])):
        raise ValueError(f"'order' must hold pairs of distinct nodes in [0, {n})")
    B, T = O.shape[:2]
    from ._engine import check_seed_network

    A0 = check_seed_network(seed_network, n).astype(bool)
    alpha, omega = _check_weight_params(alpha, omega, B)
    n_updates = check_int(n_updates, "n_updates", minimum=1)
    lo, hi = _check_bounds(bounds)
    if device is not None:
        from .._validation import check_torch_device

        device = check_torch_device(device, ("cpu", "cuda"))
    else:
        device = "cpu"
    for b in range(B):  # every pair once, none in the seed: the growth really produced this order
        key = O[b, :, 0].astype(np.int64) * n + O[b, :, 1]
        if np.unique(key).size != T or A0[O[b, :, 0], O[b, :, 1]].any():
            raise ValueError(f"'order'[{b}] adds a pair twice or a pair of the seed network")
    needs_d = loss in ("weighted_distance", "distance_communicability")
    torch = _torch()
    threads = torch.get_num_threads()
    if str(device) == "cpu":  # small matrices: torch's own threads only contend (measured: 2 threads, 10x slower)
        torch.set_num_threads(1)
    from ._engine import resolve_n_jobs

    jobs = 1 if str(device) != "cpu" else min(resolve_n_jobs(n_jobs), B)
    elementwise = loss in ("weight", "weighted_distance")
    chunk = -(-B // jobs) if elementwise else max(1, min(-(-B // jobs), int(REPLAY_MEMORY // (16 * 8 * n * n))))
    if progress is None:
        progress = not elementwise and B * T * n**3 > 1e11
    out = np.empty((B, n, n))
    bar = tqdm(total=B * T, desc=f"weights ({loss})", unit="step", disable=not progress, leave=False)

    def work(lo_b):
        sl = slice(lo_b, min(B, lo_b + chunk))
        if elementwise:
            out[sl] = _elementwise(O[sl], A0, Dm, loss, alpha[sl], omega[sl], n_updates, lo, hi, normalised, device,
                                   lo_b)
            bar.update(O[sl].shape[0] * T)
        else:
            out[sl] = _replay(O[sl], A0, Dm if needs_d else None, loss, alpha[sl], omega[sl], n_updates, lo, hi,
                              normalised, device, bar, lo_b)

    try:
        if jobs == 1:
            for lo_b in range(0, B, chunk):
                work(lo_b)
        else:  # torch releases the GIL inside its kernels: the threads run in parallel
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(jobs) as pool:
                list(pool.map(work, range(0, B, chunk)))
        return out
    finally:
        bar.close()
        torch.set_num_threads(threads)


def generate_weighted(
    D: ArrayLike,
    m: int,
    rule: str,
    eta: float | ArrayLike,
    gamma: float | ArrayLike | None = None,
    alpha: float | ArrayLike = 0.01,
    omega: float | ArrayLike = 1.0,
    *,
    loss: str = "distance_communicability",
    normalised: bool = False,
    n_updates: int = 1,
    bounds: tuple[float, float] = (0.0, np.inf),
    model_var: str | Sequence[str] = ("powerlaw", "powerlaw"),
    seed_network: ArrayLike | None = None,
    epsilon: float = 1e-5,
    n_networks: int = 1,
    seed: SeedLike = None,
    n_jobs: int | None = 1,
    device=None,
    progress: bool | None = None,
):
    """Grow weighted networks: a binary wiring rule for the topology, gradient steps for the weights.

    Parameters
    ----------
    D, m, rule, eta, gamma, model_var, seed_network, epsilon, n_networks, seed, n_jobs
        As in :func:`~mesoscale.generative.generate` (the binary growth, which the weights never
        influence; network ``b`` has the stream it has there); ``n_jobs`` threads replay the weights too.
    alpha, omega : float or array_like
        Learning rate (``>= 0``) and loss exponent (``> 0``): scalars or one value per parameter
        point, broadcast with ``eta`` and ``gamma``.
    loss, normalised, n_updates, bounds, device, progress
        As in :func:`grow_weights`.

    Returns
    -------
    networks : ndarray of bool, shape (B, n, n)
        The binary networks, ``B = points * n_networks`` (point-major, as in ``generate``).
    weights : ndarray, shape (B, n, n)
        Their weights.

    Examples
    --------
    >>> xy = np.random.default_rng(0).random((15, 2)); D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> nets, W = generate_weighted(D, 25, "matching", -2.0, 0.3, alpha=[0.0, 0.02], omega=1.0,
    ...                             loss="weighted_distance", n_networks=2, seed=0)
    >>> W.shape, bool(np.all(W[:2][nets[:2]] == 1.0)), bool(np.all(W[2:][nets[2:]] < 1.0))
    ((4, 15, 15), True, True)
    """
    from ._engine import check_params
    from .models import generate

    etas, gammas = check_params(eta, gamma, check_choice(rule, "rule", WIRING_RULES))
    P = max(etas.size, np.atleast_1d(alpha).size, np.atleast_1d(omega).size)
    for name, v in (("eta", etas), ("gamma", gammas)):
        if v.size not in (1, P):
            raise ValueError(f"'{name}' must be a scalar or hold one value per point ({P}); got {v.size}")
    alphas, omegas = _check_weight_params(alpha, omega, P)
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    etas, gammas = np.broadcast_to(etas, (P,)), np.broadcast_to(gammas, (P,))
    nets, order = generate(D, m, rule, etas, None if rule == "sptl" else gammas, model_var, seed_network, epsilon,
                           n_networks, seed, True, n_jobs=n_jobs, progress=progress)
    W = grow_weights(order, D, seed_network, loss=loss, alpha=np.repeat(alphas, n_networks),
                     omega=np.repeat(omegas, n_networks), normalised=normalised, n_updates=n_updates, bounds=bounds,
                     device=device, n_jobs=n_jobs, progress=progress)
    return nets, W


@dataclasses.dataclass(frozen=True)
class WeightedModel:
    """The weighted GNM as a model for :func:`~mesoscale.generative.fit`: ``alpha`` and ``omega`` join the search.

    Parameters
    ----------
    loss, normalised, n_updates, bounds, device
        As in :func:`grow_weights`.
    alpha_range : (float, float)
        Search interval of the learning rate (``alpha = 0`` is the binary model).
    omega_range : (float, float) or None
        Search interval of the exponent; ``None`` keeps ``omega`` fixed.
    omega : float
        The exponent when ``omega_range`` is None.

    Examples
    --------
    >>> WeightedModel(alpha_range=(0.0, 0.1)).extra_ranges
    {'alpha': (0.0, 0.1), 'omega': (0.5, 1.5)}
    """

    loss: str = "distance_communicability"
    normalised: bool = True
    n_updates: int = 1
    bounds: tuple = (0.0, np.inf)
    alpha_range: tuple = (0.0, 0.05)
    omega_range: tuple | None = (0.5, 1.5)
    omega: float = 1.0
    device: str | None = None

    def __post_init__(self):
        _check_loss(self.loss, self.omega, self.normalised)  # (a scalar omega > 0)
        check_int(self.n_updates, "n_updates", minimum=1)
        _check_bounds(self.bounds)
        for name, low in (("alpha_range", 0.0), ("omega_range", 1e-300)):
            r = getattr(self, name)
            if (r is not None or name == "alpha_range") and (np.ndim(r) != 1 or len(r) != 2 or not low <= check_float(
                    r[0], name) < check_float(r[1], name)):
                raise ValueError(f"'{name}' must be a pair (low, high) with {low:g} <= low < high; got {r!r}")

    @property
    def extra_ranges(self) -> dict:
        """The extra parameters of the search and their intervals."""
        out = {"alpha": tuple(float(x) for x in self.alpha_range)}
        if self.omega_range is not None:
            out["omega"] = tuple(float(x) for x in self.omega_range)
        return out

    @property
    def weighted(self) -> bool:
        """The model's networks carry weights."""
        return True

    def grow(self, D, m, rule, etas, gammas, extras, streams, *, model_var, seed_network, epsilon, n_jobs=1):
        """Networks and weights of a batch: one network per entry of ``etas`` (and ``streams``)."""
        from ._engine import distance_feature, run_engine

        A0 = seed_network
        nets, order = run_engine(A0, distance_feature(D, model_var[0])[None], np.zeros(1, np.int64),
                                 np.array([m], np.int64), np.zeros(A0.shape[0], np.int64), rule, etas, gammas,
                                 epsilon, model_var[1] == "exponential", streams, m - int(A0.sum()) // 2, n_jobs,
                                 False, "")
        omega = extras.get("omega", np.full(etas.size, self.omega))
        W = grow_weights(order, D, A0, loss=self.loss, alpha=extras["alpha"], omega=omega,
                         normalised=self.normalised, n_updates=self.n_updates, bounds=self.bounds,
                         device=self.device, n_jobs=n_jobs, progress=False)
        return nets, W
