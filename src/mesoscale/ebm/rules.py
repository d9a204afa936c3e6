"""Learning rules for :class:`~mesoscale.ebm.network.EnergyNetwork` and the local wiring cost.

Every rule returns a :class:`Gradient` -- an estimate of the derivative of the output
cost ``C = 0.5 ||s_out - y||^2`` at the free fixed point with respect to each *synapse*
(the unordered pair ``{i, j}``, so the matrix is symmetric and zero outside the mask) and
each bias -- so that all rules feed the same optimiser and the same wiring cost:

``eqprop``
    Equilibrium propagation (Scellier & Bengio 2017). A free phase, then nudged phases
    at ``+beta`` and ``-beta`` started from the free fixed point; the *symmetric*
    estimator of Laborieux et al. (2021) is
    ``dC/dW_ij ~ -(s+_i s+_j - s-_i s-_j) / (2 beta)``; its bias is O(beta^2) instead of
    O(beta). ``estimator="forward"`` gives the original one-sided estimator.
``chl``
    Contrastive Hebbian learning (Movellan 1991): free phase versus a phase with the
    outputs clamped to the targets, ``dC/dW_ij ~ -(sc_i sc_j - sf_i sf_j)``.
``bptt``
    Backpropagation through time through ``n_steps`` of the relaxation (torch autograd),
    the non-local baseline.
``implicit``
    The exact gradient at the free fixed point by implicit differentiation: with ``A`` the
    free units strictly inside ``(0, 1)``, ``(I - W_AA) lambda_A = dC/ds_A`` and
    ``dC/dW_ij = lambda_i s_j + lambda_j s_i``. Used as ground truth in the tests.

EqProp and CHL are *local*: the update of a synapse needs only the activities of its two
units in two phases. The wiring cost :func:`apply_wiring_cost` is local too: each synapse
shrinks by an amount proportional to its own length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._validation import check_choice, check_float, check_int
from .network import EnergyNetwork

__all__ = [
    "Gradient",
    "LEARNING_RULES",
    "eqprop_gradient",
    "chl_gradient",
    "bptt_gradient",
    "implicit_gradient",
    "estimate_gradient",
    "apply_wiring_cost",
    "cosine_similarity",
    "gradient_alignment",
]

#: Names of the learning rules accepted by :func:`estimate_gradient` and :func:`mesoscale.ebm.learn`.
LEARNING_RULES = ("eqprop", "chl", "bptt")


@dataclass
class Gradient:
    """Estimated derivative of the cost w.r.t. the synapses and biases.

    Attributes
    ----------
    dW : torch.Tensor, shape (N, N)
        Symmetric, zero diagonal, zero outside the network's mask.
    db : torch.Tensor, shape (N,)
        Zero on the input units.
    loss : float
        Mean output cost at the free fixed point (or at the end of the unrolled relaxation).
    s_free : torch.Tensor, shape (B, N)
        The free-phase state.

    Examples
    --------
    >>> from mesoscale.ebm import make_network
    >>> net = make_network(4, 6, 2, seed=0)
    >>> x = np.random.default_rng(0).random((3, 4))
    >>> g = chl_gradient(net, x, np.eye(2)[[0, 1, 0]])
    >>> g.dW.shape, g.db.shape, g.s_free.shape, g.flat().shape  # 66 synapse pairs + 12 biases
    (torch.Size([12, 12]), torch.Size([12]), torch.Size([3, 12]), torch.Size([78]))
    """

    dW: torch.Tensor
    db: torch.Tensor
    loss: float
    s_free: torch.Tensor

    def flat(self) -> torch.Tensor:
        """Upper-triangle synapse entries followed by the free biases, as one vector."""
        iu = torch.triu_indices(self.dW.shape[0], self.dW.shape[0], 1)
        return torch.cat([self.dW[iu[0], iu[1]], self.db])


def _finish(net: EnergyNetwork, dW: torch.Tensor, db: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    dW = 0.5 * (dW + dW.T)
    dW = dW * net.mask.to(dW.dtype)
    dW.fill_diagonal_(0.0)
    db = db.clone()
    db[net.inputs] = 0.0
    return dW, db


def _xy(net, x, y):
    x = torch.as_tensor(x, dtype=net.dtype)
    y = torch.as_tensor(y, dtype=net.dtype)
    if x.ndim != 2 or x.shape[1] != net.n_in:
        raise ValueError(f"'x' must have shape (B, {net.n_in}); got {tuple(x.shape)}")
    if y.shape != (x.shape[0], net.n_out):
        raise ValueError(f"'y' must have shape ({x.shape[0]}, {net.n_out}); got {tuple(y.shape)}")
    return x, y


def eqprop_gradient(
    net: EnergyNetwork,
    x,
    y,
    *,
    beta: float = 0.1,
    estimator: str = "symmetric",
    n_free: int = 60,
    n_nudged: int = 30,
    tol: float = 0.0,
    s_free=None,
) -> Gradient:
    """Equilibrium-propagation estimate of the cost gradient.

    Parameters
    ----------
    net : EnergyNetwork
    x, y : array_like, shapes (B, n_in) and (B, n_out)
        Inputs and targets.
    beta : float
        Nudging strength (> 0).
    estimator : {"symmetric", "forward"}
        ``"symmetric"``: phases at ``±beta`` (Laborieux et al. 2021); ``"forward"``:
        free phase and ``+beta`` (Scellier & Bengio 2017).
    n_free, n_nudged : int
        Relaxation steps of the free and of each nudged phase.
    tol : float
        Early-stopping tolerance of the relaxations (0 = run all steps).
    s_free : tensor, optional
        A free fixed point already computed for ``x`` (skips the free phase).

    Examples
    --------
    >>> import torch
    >>> from mesoscale.ebm import make_network
    >>> net = make_network(4, 6, 2, seed=0)
    >>> g = eqprop_gradient(net, torch.rand(3, 4), torch.eye(2)[[0, 1, 0]])
    >>> bool(torch.allclose(g.dW, g.dW.T))
    True
    """
    beta = check_float(beta, "beta", minimum=0.0)
    if beta == 0.0:
        raise ValueError("'beta' must be > 0; got 0.0")
    check_choice(estimator, "estimator", ["symmetric", "forward"])
    x, y = _xy(net, x, y)
    with torch.no_grad():
        if s_free is None:
            s_free = net.relax(x, n_steps=n_free, tol=tol)
        s_pos = net.relax(x, y=y, beta=beta, s0=s_free, n_steps=n_nudged, tol=tol)
        if estimator == "symmetric":
            s_neg = net.relax(x, y=y, beta=-beta, s0=s_free, n_steps=n_nudged, tol=tol)
            scale = 2.0 * beta
        else:
            s_neg = s_free
            scale = beta
        B = x.shape[0]
        dW = -(s_pos.T @ s_pos - s_neg.T @ s_neg) / (scale * B)
        db = -(s_pos - s_neg).mean(0) / scale
        loss = float(net.cost(s_free, y).mean())
    dW, db = _finish(net, dW, db)
    return Gradient(dW, db, loss, s_free)


def chl_gradient(
    net: EnergyNetwork, x, y, *, n_free: int = 60, n_clamped: int = 30, tol: float = 0.0, s_free=None
) -> Gradient:
    """Contrastive Hebbian learning: free phase versus outputs clamped to the targets.

    The clamped phase starts from the free fixed point. See :func:`eqprop_gradient` for
    the parameters.

    Examples
    --------
    >>> from mesoscale.ebm import make_network
    >>> net = make_network(4, 6, 2, seed=0)
    >>> g = chl_gradient(net, np.random.default_rng(0).random((3, 4)), np.eye(2)[[0, 1, 0]])
    >>> bool(torch.allclose(g.dW, g.dW.T)), bool((g.dW[~net.mask] == 0).all()), bool((g.db[:4] == 0).all())
    (True, True, True)
    """
    x, y = _xy(net, x, y)
    with torch.no_grad():
        if s_free is None:
            s_free = net.relax(x, n_steps=n_free, tol=tol)
        s_cl = net.relax(x, y=y, s0=s_free, clamp_outputs=True, n_steps=n_clamped, tol=tol)
        B = x.shape[0]
        dW = -(s_cl.T @ s_cl - s_free.T @ s_free) / B
        db = -(s_cl - s_free).mean(0)
        loss = float(net.cost(s_free, y).mean())
    dW, db = _finish(net, dW, db)
    return Gradient(dW, db, loss, s_free)


def bptt_gradient(net: EnergyNetwork, x, y, *, n_steps: int = 60) -> Gradient:
    """Backpropagation through ``n_steps`` of the free relaxation (started from rest).

    The cost is taken at the last state; gradients w.r.t. the two entries ``W[i, j]`` and
    ``W[j, i]`` of one synapse are summed.

    Examples
    --------
    >>> from mesoscale.ebm import make_network
    >>> net = make_network(4, 6, 2, seed=0)
    >>> x, y = np.random.default_rng(0).random((3, 4)), np.eye(2)[[0, 1, 0]]
    >>> g = bptt_gradient(net, x, y, n_steps=200)
    >>> round(cosine_similarity(g, implicit_gradient(net, x, y)), 4)  # long unrolls -> the exact gradient
    1.0
    """
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    x, y = _xy(net, x, y)
    W = net.W.detach().clone().requires_grad_(True)
    b = net.b.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        s = net.relax(x, n_steps=n_steps, W=W, b=b)
        loss = net.cost(s, y).mean()
        gW, gb = torch.autograd.grad(loss, [W, b])
    dW = gW + gW.T
    dW, db = _finish(net, dW, gb)
    return Gradient(dW, db, float(loss.detach()), s.detach())


def implicit_gradient(net: EnergyNetwork, x, y, *, n_steps: int = 2000, tol: float = 1e-13, eps: float = 1e-9) -> Gradient:
    """Exact gradient of the cost at the free fixed point by implicit differentiation.

    The relaxation is run to convergence (``n_steps``/``tol``); units within ``eps`` of 0
    or 1 are saturated and carry no gradient. Loops over samples (for tests and checks).

    Examples
    --------
    >>> from mesoscale.ebm import make_network
    >>> net = make_network(4, 6, 2, seed=0)
    >>> g = implicit_gradient(net, np.random.default_rng(0).random((3, 4)), np.eye(2)[[0, 1, 0]])
    >>> g.dW.shape, round(g.loss, 4)
    (torch.Size([12, 12]), 0.4695)
    """
    x, y = _xy(net, x, y)
    with torch.no_grad():
        s = net.relax(x, n_steps=n_steps, tol=tol)
        N = net.n_units
        W = net.W
        dW = torch.zeros(N, N, dtype=net.dtype)
        db = torch.zeros(N, dtype=net.dtype)
        free = net.free_mask()
        for k in range(x.shape[0]):
            sk = s[k]
            active = free & (sk > eps) & (sk < 1.0 - eps)
            A = torch.nonzero(active).flatten()
            g = torch.zeros(N, dtype=net.dtype)
            g[net.outputs] = sk[net.outputs] - y[k]
            lam = torch.zeros(N, dtype=net.dtype)
            if len(A):
                M = torch.eye(len(A), dtype=net.dtype) - W[A][:, A]
                lam[A] = torch.linalg.solve(M, g[A])
            dW += torch.outer(lam, sk) + torch.outer(sk, lam)
            db += lam
        B = x.shape[0]
        dW /= B
        db /= B
        loss = float(net.cost(s, y).mean())
    dW, db = _finish(net, dW, db)
    return Gradient(dW, db, loss, s)


def estimate_gradient(net: EnergyNetwork, x, y, rule: str, **kwargs) -> Gradient:
    """Dispatch to the estimator named by ``rule`` (one of :data:`LEARNING_RULES` or ``"implicit"``).

    Examples
    --------
    >>> from mesoscale.ebm import make_network
    >>> net = make_network(4, 6, 2, seed=0)
    >>> x, y = np.random.default_rng(0).random((3, 4)), np.eye(2)[[0, 1, 0]]
    >>> [estimate_gradient(net, x, y, rule).dW.shape[0] for rule in ("eqprop", "chl", "bptt", "implicit")]
    [12, 12, 12, 12]
    >>> estimate_gradient(net, x, y, "bptt", n_steps=5).loss > 0
    True
    """
    check_choice(rule, "rule", list(LEARNING_RULES) + ["implicit"])
    fn = {
        "eqprop": eqprop_gradient,
        "chl": chl_gradient,
        "bptt": bptt_gradient,
        "implicit": implicit_gradient,
    }[rule]
    return fn(net, x, y, **kwargs)


def apply_wiring_cost(net: EnergyNetwork, strength: float, lr: float, *, kind: str = "l1") -> None:
    """Shrink every synapse in place by a local, length-dependent decay.

    ``kind="l1"``: the proximal step of ``strength * sum |W_ij| D_ij`` --
    ``W_ij <- sign(W_ij) * max(|W_ij| - lr * strength * D_ij, 0)`` (synapses can reach
    exactly zero). ``kind="l2"``: ``W_ij <- W_ij * (1 - lr * strength * D_ij)`` (clipped at 0).
    Each synapse needs only its own weight and length: the rule is local.

    Examples
    --------
    >>> from mesoscale.ebm import make_network
    >>> from mesoscale.metrics import wiring_cost
    >>> net = make_network(4, 6, 2, seed=0)
    >>> before = wiring_cost(net.W.numpy(), net.distance.numpy())
    >>> apply_wiring_cost(net, strength=1.0, lr=0.05)
    >>> wiring_cost(net.W.numpy(), net.distance.numpy()) < before
    True
    """
    strength = check_float(strength, "strength", minimum=0.0)
    lr = check_float(lr, "lr", minimum=0.0)
    check_choice(kind, "kind", ["l1", "l2"])
    if strength == 0.0 or lr == 0.0:
        return
    with torch.no_grad():
        shrink = lr * strength * net.distance
        if kind == "l1":
            net.W.copy_(torch.sign(net.W) * torch.clamp(net.W.abs() - shrink, min=0.0))
        else:
            net.W.mul_(torch.clamp(1.0 - shrink, min=0.0))


def cosine_similarity(a: Gradient | torch.Tensor, b: Gradient | torch.Tensor) -> float:
    """Cosine similarity of two gradients (synapses once each, plus biases).

    Examples
    --------
    >>> cosine_similarity(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0]))  # doctest: +ELLIPSIS
    0.7071...
    >>> cosine_similarity(torch.tensor([1.0, 2.0]), torch.tensor([-2.0, -4.0]))
    -1.0
    """
    va = a.flat() if isinstance(a, Gradient) else torch.as_tensor(a).flatten()
    vb = b.flat() if isinstance(b, Gradient) else torch.as_tensor(b).flatten()
    return float(torch.dot(va, vb) / (va.norm() * vb.norm() + 1e-300))


def gradient_alignment(net: EnergyNetwork, x, y, betas=(0.5, 0.2, 0.1, 0.05, 0.01, 0.001), *,
                       bptt_steps=(5, 10, 20, 40, 80), n_relax: int = 2000, tol: float = 1e-13) -> dict:
    """How well each estimator matches the exact gradient at the free fixed point.

    The exact gradient is :func:`implicit_gradient`; the EqProp relaxations are run to
    convergence (``n_relax`` steps, tolerance ``tol``) so only the estimator's bias is
    measured.

    Returns
    -------
    dict
        ``beta``, ``cos_symmetric``, ``cos_forward``, ``relerr_symmetric``,
        ``relerr_forward`` (arrays over ``betas``); ``bptt_steps``, ``cos_bptt``,
        ``relerr_bptt`` (over ``bptt_steps``); ``cos_chl`` and ``relerr_chl``.

    Examples
    --------
    >>> from mesoscale.ebm import make_network
    >>> net = make_network(4, 6, 2, seed=0)
    >>> x, y = np.random.default_rng(0).random((3, 4)), np.eye(2)[[0, 1, 0]]
    >>> al = gradient_alignment(net, x, y, betas=(0.01, 0.001), bptt_steps=(5, 50), n_relax=300, tol=1e-10)
    >>> al["cos_symmetric"].shape, al["cos_bptt"].shape
    ((2,), (2,))
    >>> bool(al["cos_forward"][-1] > 0.99), bool(al["cos_bptt"][-1] > al["cos_bptt"][0])
    (True, True)
    """
    exact = implicit_gradient(net, x, y, n_steps=n_relax, tol=tol)
    ref = exact.flat()

    def err(g):
        return float((g.flat() - ref).norm() / ref.norm())

    out = {"beta": np.asarray(betas, dtype=float)}
    for est in ("symmetric", "forward"):
        cs, es = [], []
        for beta in betas:
            g = eqprop_gradient(net, x, y, beta=beta, estimator=est, n_free=n_relax, n_nudged=n_relax, tol=tol)
            cs.append(cosine_similarity(g, exact))
            es.append(err(g))
        out[f"cos_{est}"], out[f"relerr_{est}"] = np.asarray(cs), np.asarray(es)
    out["bptt_steps"] = np.asarray(bptt_steps, dtype=int)
    gs = [bptt_gradient(net, x, y, n_steps=T) for T in bptt_steps]
    out["cos_bptt"] = np.asarray([cosine_similarity(g, exact) for g in gs])
    out["relerr_bptt"] = np.asarray([err(g) for g in gs])
    ch = chl_gradient(net, x, y, n_free=n_relax, n_clamped=n_relax, tol=tol)
    out["cos_chl"], out["relerr_chl"] = cosine_similarity(ch, exact), err(ch)
    return out
