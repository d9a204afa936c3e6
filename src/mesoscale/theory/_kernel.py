"""Shared internals of :mod:`~mesoscale.theory.emergence` and :mod:`~mesoscale.theory.conditions`: the wiring
kernel of the spatial rule, expected block sums and the effective-SBM summary (private module; the names
have no underscore because they cross modules)."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from .._validation import check_choice, check_distance, check_float, check_int
from .sbm import snr


KERNELS = ("powerlaw", "exponential")
#: Zero off-diagonal distances are floored at this factor times the smallest positive distance in
#: the powerlaw kernel, as the growth engine does.


ZERO_DISTANCE_FACTOR = 1e-3


# ----------------------------------------------------------------------------- validation helpers
def check_kernel_args(D, m, eta, model_var):
    D = check_distance(D, name="D")
    n = D.shape[0]
    if n < 2:
        raise ValueError(f"'D' must describe at least 2 nodes; got shape {D.shape}")
    n_pairs = n * (n - 1) // 2
    m = check_int(m, "m", minimum=1, maximum=n_pairs)
    eta = check_float(eta, "eta")
    check_choice(model_var, "model_var", KERNELS)
    return D, m, eta


def log_weights(D, eta, model_var):
    """``log w`` of every pair (upper-triangle vector) and the pair indices."""
    n = D.shape[0]
    iu = np.triu_indices(n, 1)
    d = D[iu]
    if model_var == "exponential":
        return eta * d, iu
    pos = d[d > 0]
    floor = ZERO_DISTANCE_FACTOR * (pos.min() if pos.size else 1.0)
    return eta * np.log(np.maximum(d, floor)), iu


def saturating_step(lw, target, q=None):
    """Increments of a saturating race: ``x_k = q_k (1 - exp(-exp(t + lw_k)))`` with ``sum x = target``.

    ``lw`` are log rates (any scale; only differences matter), ``q`` the open fractions of the
    pairs (default 1) and ``t`` the root of the increasing ``sum x(t) - target``. Computing
    ``exp(t + lw)`` keeps rates that underflow (very steep kernels) in play.
    """
    lw = lw - lw.max()
    if q is None:
        q = np.ones_like(lw)
    if target >= q.sum() * (1 - 1e-12):
        return q.copy()

    def saturate(t):
        with np.errstate(over="ignore"):  # exp overflow -> inf -> saturated, as it should
            return q * -np.expm1(-np.exp(t + lw))

    def f(t):
        return float(saturate(t).sum()) - target

    open_ = q > 0
    lo = math.log(target) - float(np.log(np.sum(q * np.exp(lw)))) - 1.0  # f(lo) <= target / e - target < 0
    hi = -float(lw[open_].min()) + math.log(lw.size) + 5.0  # every open pair saturated
    t = brentq(f, lo, max(hi, lo + 1.0), xtol=1e-12, rtol=1e-12, maxiter=1000)
    return saturate(t)


def pair_vector(D, m, eta, model_var):
    """Inclusion probabilities of the upper-triangle pairs (vector) and their indices."""
    logw, iu = log_weights(D, eta, model_var)
    if m == logw.size:
        return np.ones_like(logw), iu
    return saturating_step(logw, m), iu


def square(vec, iu, n):
    P = np.zeros((n, n))
    P[iu] = vec
    return P + P.T


def block_sums(P, labels):
    """``S_ab = sum_{i in a, j in b} p_ij`` over ordered pairs (diagonal of P is 0) and sizes."""
    q = int(labels.max()) + 1
    L = np.zeros((P.shape[0], q))
    L[np.arange(P.shape[0]), labels] = 1.0
    return L.T @ P @ L, L.sum(axis=0)


def modularity_from_sums(S):
    total = S.sum()  # = 2 m (expected)
    if total <= 0:
        raise ValueError("the kernel has no expected edges")
    a = S.sum(axis=1) / total
    return float(np.trace(S) / total - np.sum(a * a))


def blocks_from_p(P, labels):
    S, sizes = block_sums(P, labels)
    N = np.outer(sizes, sizes) - np.diag(sizes)
    return np.divide(S, N, out=np.zeros_like(S), where=N > 0)


def sbm_summary(P, labels):
    S, sizes = block_sums(P, labels)
    q = S.shape[0]
    n = P.shape[0]
    within = np.diag(S).sum()
    n_within = float(np.sum(sizes * (sizes - 1)))
    n_between = float(n * n - np.sum(sizes * sizes))
    c_in = n * within / n_within if n_within > 0 else 0.0
    c_out = n * (S.sum() - within) / n_between if n_between > 0 else 0.0
    out = {"q": q, "c_in": float(c_in), "c_out": float(c_out)}
    if q < 2:
        out.update(snr=0.0, snr_ks=0.0, detectable=False)
        return out
    # M_ab = S_ab / n_a (expected neighbours in b of a node in a) is similar to the symmetric
    # diag(n)^-1/2 S diag(n)^-1/2, so its eigenvalues are real
    root = np.sqrt(sizes)
    ev = np.sort(np.linalg.eigvalsh(S / np.outer(root, root)))[::-1]
    lam1, lam2 = float(ev[0]), float(ev[1])
    out["snr"] = snr(c_in, c_out, q) if (c_in + (q - 1) * c_out) > 0 else 0.0
    out["snr_ks"] = lam2 * lam2 / lam1 if lam1 > 0 else 0.0
    out["detectable"] = bool(out["snr"] > 1.0)
    return out


def box_geometry(positions):
    X = np.asarray(positions, dtype=float)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"'positions' must be a 2-D array (n >= 2, dim); got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("'positions' must be finite")
    sides = X.max(axis=0) - X.min(axis=0)
    sides = sides[sides > 0]
    if sides.size == 0:
        raise ValueError("'positions' are all equal: the domain has no extent")
    return sides


def controls(D, m, eta, model_var, sides, vec, iu):
    n = D.shape[0]
    dim = int(sides.size)
    s = float(np.prod(sides) / n) ** (1.0 / dim)
    ell = float(np.dot(vec, D[iu]) / vec.sum())
    half = math.log(2.0) / -eta / s if (model_var == "exponential" and eta < 0) else float("nan")
    return {"n": n, "dim": dim, "c": 2.0 * m / n, "spacing": s, "mean_edge_length": ell,
            "range_ratio": ell / s, "half_range_ratio": half, "aspect": float(sides.max() / sides.min())}
