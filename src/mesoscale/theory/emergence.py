"""When does a purely spatial wiring rule make modules? A kernel and effective-block theory.

The model
---------
The spatial rule ``sptl`` of :mod:`mesoscale.generative.models` places ``m`` edges among ``n``
nodes one at a time; each step picks one *unconnected* pair with probability proportional to a
distance kernel, ``w(d) = d**eta`` (``"powerlaw"``) or ``w(d) = exp(eta * d)``
(``"exponential"``). Drawing without replacement by weights is successive (Poisson-like) sampling,
whose inclusion probabilities are, to first order,

.. math:: p_{ij} = 1 - \\exp(-\\lambda\\, w(D_{ij})), \\qquad \\sum_{i<j} p_{ij} = m,

with ``lambda`` the root of the constraint (:func:`pair_probabilities`; for a sparse network
``p_ij ≈ m w_ij / sum w``). Pairs are then treated as independent: the network is an
inhomogeneous random graph, a random geometric graph with a soft kernel.

Coarse-graining the domain into cells (a regular grid of the box, slices of an elongated
domain, or any labelling; :func:`grid_labels`) turns that graph into an effective stochastic
block model whose block matrix is the mean pair probability within and between cells
(:func:`effective_blocks`). The expected modularity of the cell partition is computed from the
expected edge counts, ``Q_cells = sum_k (e_kk - a_k**2)`` with ``e_kk`` the expected fraction of
edges inside cell ``k`` and ``a_k`` the expected fraction of edge ends in it
(:func:`expected_partition_modularity`; a ratio of expectations). The cell grid that maximises
``Q_cells`` predicts the number and size of modules; the predicted excess over chance is
``ΔQ = Q_cells - Q_null`` with ``Q_null`` the maximum modularity that an optimiser finds in a
random graph of the same size and mean degree (:func:`mesoscale.theory.expected_modularity_random`,
Reichardt--Bornholdt). Detectability of the effective block model is the Kesten--Stigum
criterion, both in the symmetric reduction of :func:`mesoscale.theory.snr` (mean within-cell and
between-cell ``c_in``, ``c_out``) and as ``lambda_2**2 / lambda_1`` of the mean-offspring
matrix ``M_ab`` (expected neighbours in cell ``b`` of a node in cell ``a``), which is the same
number for a symmetric planted partition (:func:`effective_sbm`).

The control parameters are dimensionless (:func:`control_parameters`): the mean degree
``c = 2m / n``, the range ratio ``R = ell / s`` of the mean edge length implied by ``p``,
``ell = sum p_ij D_ij / sum p_ij``, over the mean inter-node spacing ``s = (V / n)**(1/dim)``
(``V`` the volume of the bounding box), the kernel half-range over ``s`` for the exponential
kernel (``ln 2 / |eta|``), and the aspect ratio of the box (longest over shortest side).
:func:`modularity_condition` states the necessary condition for spatial modules as the
inequality ``ΔQ(n, c, R, dim, aspect) > z_crit * sigma``, and :func:`phase_diagram` tabulates it.

Assumptions
    Pairs independent (the without-replacement coupling enters only through ``lambda``);
    modularity to first order (ratio of expected counts, no fluctuation correction, so the
    prediction is for the mean ``Q`` of a *fixed* partition); the optimiser's extra gain over
    the best cell grid is ignored (``Q_cells`` is a lower bound on the maximum modularity);
    ``Q_null`` is an approximation for Erdős–Rényi graphs that ignores the degree heterogeneity
    of spatial graphs; the spread ``sigma`` is that of the grid's within-edge fraction for
    independent pairs conditioned on ``m`` edges (the null's own spread is not added).

Measured (tests/test_emergence.py, random points, ``sptl`` with ``eta = -6`` powerlaw, ``c = 6``)
    The predicted ``Q`` of the best grid is within 0.01 of the mean over 10 grown networks at
    ``n = 200`` (2-D, 3-D, aspect 4) and ``n = 1000`` (0.817 vs 0.819 in 2-D, 0.730 vs 0.732 in
    3-D); ``sigma`` is within a factor 1.3 of the measured spread; Louvain finds about 0.1 more
    than the grid (0.78 vs 0.67 at ``n = 200``, 0.90 vs 0.82 at ``n = 1000``), so ``ΔQ`` is a
    conservative prediction. The closed form of :func:`slab_modularity` holds while a cell is
    at least ~2.5 mean edge lengths wide.

Known results it reduces to
    ``eta = 0``: the kernel is flat, ``p_ij = m / (n(n-1)/2)`` (G(n, m)); every block is equal and
    ``Q_cells = -sum_k (n_k / n)**2 + O(1/n) <= 0``, so no spatial modules are predicted.
    A two-valued distance (small within two groups, large between) gives exactly a two-block
    planted partition with ``c_in = n p_in``, ``c_out = n p_out``; its detectability is the
    threshold of :func:`mesoscale.theory.detectability_threshold`. A short-range kernel at fixed
    degree gives ``Q -> 1`` as ``n -> inf`` (random geometric graphs and lattices,
    McDiarmid & Skerman).

What is new
    For a box of sides ``L_a`` cut into ``k_a`` slabs per axis, a plane cuts an edge with
    probability ``|Δx_a| / L_a``, so to first order
    ``Q(k) = 1 - sum_a (k_a - 1) E|Δx_a| / L_a - 1 / prod_a k_a``: the finite-size crossover
    (:func:`slab_modularity`, optimised by :func:`slab_optimum`). For a cube of ``dim``
    dimensions and an isotropic kernel (``E|Δx_a| = kappa_dim * ell``, ``kappa = 1, 2/pi, 1/2``
    for ``dim = 1, 2, 3``) the best ``q = k**dim`` is
    ``q* ≈ (n**(1/dim) / (kappa R))**(dim/(dim+1))`` and ``Q* ≈ 1 - (dim + 1) / q*``: modularity
    approaches 1 as ``n**(-1/(dim+1))``, a module holds ``~ n**(dim/(dim+1))`` nodes (linear size
    ``~ n**(1/(dim+1))`` spacings), a longer range gives fewer, larger modules, and elongating
    the domain (aspect > 1) favours slices stacked along its long axis. The necessary condition
    ``ΔQ > z sigma`` then reads, at leading order,
    ``1 - (dim+1) (kappa R)**(dim/(dim+1)) n**(-1/(dim+1)) - 0.97 / sqrt(c) > z sigma``
    (with ``sigma ~ m**-1/2`` from :func:`predict_modules`), together with the detectability
    inequality ``snr > 1`` of the effective block model. ``R`` itself is bounded below at given
    ``c``: even the steepest kernel must reach ``c`` neighbours (``R_min ≈ 1`` at ``c = 6`` in
    two dimensions).

Examples
--------
>>> import numpy as np
>>> from mesoscale.theory.emergence import domain_points, predict_modules
>>> from mesoscale.metrics import distance_matrix
>>> xy = domain_points(200, dim=2)
>>> pred = predict_modules(distance_matrix(xy), 600, -6.0, xy)
>>> bool(pred.delta_q > 0), pred.q >= 4
(True, True)
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from .._validation import as_rng, check_choice, check_distance, check_float, check_int, check_partition
from .sbm import expected_modularity_random, snr

__all__ = [
    "pair_probabilities",
    "grid_labels",
    "effective_blocks",
    "expected_partition_modularity",
    "effective_sbm",
    "control_parameters",
    "domain_points",
    "EmergencePrediction",
    "predict_modules",
    "slab_modularity",
    "slab_optimum",
    "modularity_condition",
    "phase_diagram",
]

KERNELS = ("powerlaw", "exponential")
#: Zero off-diagonal distances are floored at this factor times the smallest positive distance in
#: the powerlaw kernel, as the growth engine does.
ZERO_DISTANCE_FACTOR = 1e-3


# ----------------------------------------------------------------------------- validation helpers
def _check_kernel_args(D, m, eta, model_var):
    D = check_distance(D, name="D")
    n = D.shape[0]
    if n < 2:
        raise ValueError(f"'D' must describe at least 2 nodes; got shape {D.shape}")
    n_pairs = n * (n - 1) // 2
    m = check_int(m, "m", minimum=1, maximum=n_pairs)
    eta = check_float(eta, "eta")
    check_choice(model_var, "model_var", KERNELS)
    return D, m, eta


def _log_weights(D, eta, model_var):
    """``log w`` of every pair (upper-triangle vector) and the pair indices."""
    n = D.shape[0]
    iu = np.triu_indices(n, 1)
    d = D[iu]
    if model_var == "exponential":
        return eta * d, iu
    pos = d[d > 0]
    floor = ZERO_DISTANCE_FACTOR * (pos.min() if pos.size else 1.0)
    return eta * np.log(np.maximum(d, floor)), iu


def _pair_vector(D, m, eta, model_var):
    """Inclusion probabilities of the upper-triangle pairs (vector) and their indices."""
    logw, iu = _log_weights(D, eta, model_var)
    if m == logw.size:
        return np.ones_like(logw), iu
    lw = logw - logw.max()  # the largest weight is 1; lambda absorbs the scale
    # f(t) = sum(1 - exp(-exp(t + log w))) - m is increasing in t = log(lambda); computing
    # exp(t + log w) keeps weights that underflow (very steep kernels) in play
    def saturate(t):
        with np.errstate(over="ignore"):  # exp overflow -> inf -> p = 1, as it should
            return -np.expm1(-np.exp(t + lw))

    def f(t):
        return float(saturate(t).sum()) - m

    lo = math.log(m) - float(np.log(np.exp(lw).sum())) - 1.0  # f(lo) <= m / e - m < 0
    hi = -float(lw.min()) + math.log(lw.size) + 5.0  # every pair saturated: f(hi) ~ n_pairs - m > 0
    t = brentq(f, lo, max(hi, lo + 1.0), xtol=1e-12, rtol=1e-12, maxiter=1000)
    return saturate(t), iu


def _square(vec, iu, n):
    P = np.zeros((n, n))
    P[iu] = vec
    return P + P.T


def pair_probabilities(D, m: int, eta: float, model_var: str = "powerlaw") -> np.ndarray:
    """Expected connection probability of every pair under the ``sptl`` rule.

    ``p_ij = 1 - exp(-lambda w(D_ij))`` with ``lambda`` solved numerically so that the expected
    number of edges ``sum_{i<j} p_ij`` is ``m`` (the first-order inclusion probabilities of
    successive sampling without replacement by weights ``w``). In a sparse network
    ``p_ij ≈ m w_ij / sum_{k<l} w_kl``; as ``m`` approaches the number of pairs the short pairs
    saturate at 1.

    Parameters
    ----------
    D : array_like, shape (n, n)
        Symmetric non-negative distances (the matrix given to ``generate``).
    m : int
        Number of edges, ``1 <= m <= n (n - 1) / 2``.
    eta : float
        Distance exponent (``w = D**eta``, zero distances floored at ``1e-3`` times the smallest
        positive one, as the engine does) or rate (``w = exp(eta D)``).
    model_var : {"powerlaw", "exponential"}

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric, zero diagonal, entries in ``[0, 1]``, upper triangle summing to ``m``.

    Examples
    --------
    >>> import numpy as np
    >>> D = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]], float)
    >>> P = pair_probabilities(D, 1, 0.0)
    >>> np.round(P[0], 4).tolist()
    [0.0, 0.3333, 0.3333]
    >>> P = pair_probabilities(D, 2, -3.0)
    >>> round(float(np.triu(P, 1).sum()), 6), bool(P[0, 1] > P[0, 2])
    (2.0, True)
    """
    D, m, eta = _check_kernel_args(D, m, eta, model_var)
    vec, iu = _pair_vector(D, m, eta, model_var)
    return _square(vec, iu, D.shape[0])


def grid_labels(positions, cells) -> np.ndarray:
    """Label nodes by the cell of a regular grid over their bounding box.

    Parameters
    ----------
    positions : array_like, shape (n, dim)
        Node coordinates.
    cells : int or sequence of int
        Cells per axis (an int is used on every axis); ``(k, 1, 1)`` cuts slices along the first
        axis of an elongated domain.

    Returns
    -------
    ndarray of int, shape (n,)
        ``0..q-1`` numbered in row-major order over the grid; empty cells get no label, so the
        labels are renumbered consecutively.

    Examples
    --------
    >>> grid_labels([[0.0, 0.0], [0.9, 0.1], [0.1, 0.95], [1.0, 1.0]], 2).tolist()
    [0, 2, 1, 3]
    >>> grid_labels([[0.0], [0.2], [0.8], [1.0]], [2]).tolist()
    [0, 0, 1, 1]
    """
    X = np.asarray(positions, dtype=float)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"'positions' must be a 2-D array (n, dim); got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("'positions' must be finite")
    dim = X.shape[1]
    if np.isscalar(cells) or np.ndim(cells) == 0:
        ks = [check_int(cells, "cells", minimum=1)] * dim
    else:
        ks = [check_int(k, "cells", minimum=1) for k in cells]
        if len(ks) != dim:
            raise ValueError(f"'cells' must give one count per axis ({dim}); got {list(cells)}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    idx = np.zeros(X.shape[0], dtype=np.int64)
    for a, k in enumerate(ks):
        b = np.minimum((k * (X[:, a] - lo[a]) / span[a]).astype(np.int64), k - 1)
        idx = idx * k + b
    _, labels = np.unique(idx, return_inverse=True)
    return labels.astype(np.int64)


def _block_sums(P, labels):
    """``S_ab = sum_{i in a, j in b} p_ij`` over ordered pairs (diagonal of P is 0) and sizes."""
    q = int(labels.max()) + 1
    L = np.zeros((P.shape[0], q))
    L[np.arange(P.shape[0]), labels] = 1.0
    return L.T @ P @ L, L.sum(axis=0)


def _modularity_from_sums(S):
    total = S.sum()  # = 2 m (expected)
    if total <= 0:
        raise ValueError("the kernel has no expected edges")
    a = S.sum(axis=1) / total
    return float(np.trace(S) / total - np.sum(a * a))


def effective_blocks(D, m: int, eta: float, labels, model_var: str = "powerlaw") -> np.ndarray:
    """Effective SBM block matrix of a partition: the mean pair probability within and between groups.

    ``B_ab = sum_{i in a, j in b} p_ij / N_ab`` with ``N_ab = n_a n_b`` (``a != b``) or
    ``n_a (n_a - 1)`` (``a = b``, ordered pairs) and ``p`` from :func:`pair_probabilities`.

    Parameters
    ----------
    D, m, eta, model_var
        As in :func:`pair_probabilities`.
    labels : array_like of int, shape (n,)
        Group of every node (e.g. :func:`grid_labels`).

    Returns
    -------
    ndarray, shape (q, q)
        Symmetric; a group of one node has ``B_aa = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> D = np.where(np.add.outer(np.arange(6) // 3, np.arange(6) // 3) % 2 == 0, 1.0, 5.0)
    >>> np.fill_diagonal(D, 0)
    >>> B = effective_blocks(D, 4, -2.0, [0, 0, 0, 1, 1, 1], "exponential")
    >>> bool(B[0, 0] > B[0, 1]), round(float(B[0, 0]), 3) == round(float(B[1, 1]), 3)
    (True, True)
    """
    D, m, eta = _check_kernel_args(D, m, eta, model_var)
    labels = check_partition(labels, D.shape[0], "labels")
    return _blocks_from_p(pair_probabilities(D, m, eta, model_var), labels)


def _blocks_from_p(P, labels):
    S, sizes = _block_sums(P, labels)
    N = np.outer(sizes, sizes) - np.diag(sizes)
    return np.divide(S, N, out=np.zeros_like(S), where=N > 0)


def expected_partition_modularity(D, m: int, eta: float, labels, model_var: str = "powerlaw") -> float:
    """First-order expected modularity of a fixed partition under the ``sptl`` kernel.

    ``Q = sum_k (e_kk - a_k**2)`` from the expected counts: ``e_kk = S_kk / (2m)`` and
    ``a_k = sum_b S_kb / (2m)`` with ``S_ab = sum_{i in a, j in b} p_ij`` (ordered pairs). The
    error against the mean over networks is of order ``1 / m`` (ratio of expectations).

    Examples
    --------
    >>> import numpy as np
    >>> D = np.abs(np.subtract.outer(np.arange(8.0), np.arange(8.0)))
    >>> labels = [0, 0, 0, 0, 1, 1, 1, 1]
    >>> q_steep = expected_partition_modularity(D, 8, -6.0, labels)
    >>> q_flat = expected_partition_modularity(D, 8, 0.0, labels)
    >>> bool(q_steep > 0.3), bool(q_flat < 0)
    (True, True)
    """
    D, m, eta = _check_kernel_args(D, m, eta, model_var)
    labels = check_partition(labels, D.shape[0], "labels")
    S, _ = _block_sums(pair_probabilities(D, m, eta, model_var), labels)
    return _modularity_from_sums(S)


def _sbm_summary(P, labels):
    S, sizes = _block_sums(P, labels)
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


def effective_sbm(D, m: int, eta: float, labels, model_var: str = "powerlaw") -> dict:
    """The effective stochastic block model of a partition and its detectability.

    Symmetric reduction: ``c_in = n * (mean within-group pair probability)`` and
    ``c_out = n * (mean between-group pair probability)``, and the signal-to-noise ratio
    ``snr = (c_in - c_out)**2 / (q**2 c)`` of :func:`mesoscale.theory.snr`; ``detectable`` is
    ``snr > 1`` (Kesten--Stigum, :func:`mesoscale.theory.detectability_threshold`). ``snr_ks`` is
    the general criterion ``lambda_2**2 / lambda_1`` of the mean-offspring matrix
    ``M_ab = S_ab / n_a``; it equals ``snr`` for a symmetric planted partition (up to ``O(1/n)``:
    ``n`` against ``n_a - 1`` within-group partners) and is larger when
    the between-group probabilities are uneven (neighbouring cells of a spatial grid).

    Returns
    -------
    dict
        ``q, c_in, c_out, snr, snr_ks, detectable``.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.arange(200) // 100
    >>> D = np.where(g[:, None] == g[None, :], 1.0, 2.0); np.fill_diagonal(D, 0)
    >>> out = effective_sbm(D, 500, -2.0, g, "exponential")
    >>> out["q"], bool(out["detectable"]), bool(abs(out["snr"] / out["snr_ks"] - 1) < 0.02)
    (2, True, True)
    """
    D, m, eta = _check_kernel_args(D, m, eta, model_var)
    labels = check_partition(labels, D.shape[0], "labels")
    return _sbm_summary(pair_probabilities(D, m, eta, model_var), labels)


def _box_geometry(positions):
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


def control_parameters(D, m: int, eta: float, positions, model_var: str = "powerlaw") -> dict:
    """The dimensionless control parameters of a spatial wiring problem.

    ``n``, ``dim`` (axes with extent), mean degree ``c = 2m/n``, spacing ``s = (V/n)**(1/dim)``
    with ``V`` the bounding-box volume, mean edge length ``ell = sum p D / sum p`` implied by
    :func:`pair_probabilities`, ``range_ratio = ell / s``, ``half_range_ratio`` (exponential kernel
    with ``eta < 0``: ``ln 2 / |eta| / s``; otherwise NaN, a power law has no scale) and
    ``aspect`` = longest over shortest side.

    Examples
    --------
    >>> from mesoscale.metrics import distance_matrix
    >>> xy = domain_points(100, dim=2)
    >>> cp = control_parameters(distance_matrix(xy), 300, -2.0, xy, "exponential")
    >>> cp["c"], cp["dim"], round(cp["aspect"], 2)
    (6.0, 2, 1.0)
    >>> bool(control_parameters(distance_matrix(xy), 300, -20.0, xy, "exponential")["range_ratio"] < cp["range_ratio"])
    True
    """
    D, m, eta = _check_kernel_args(D, m, eta, model_var)
    sides = _box_geometry(positions)
    if np.asarray(positions).shape[0] != D.shape[0]:
        raise ValueError(f"'positions' must have one row per node ({D.shape[0]}); got {np.asarray(positions).shape[0]}")
    vec, iu = _pair_vector(D, m, eta, model_var)
    return _controls(D, m, eta, model_var, sides, vec, iu)


def _controls(D, m, eta, model_var, sides, vec, iu):
    n = D.shape[0]
    dim = int(sides.size)
    s = float(np.prod(sides) / n) ** (1.0 / dim)
    ell = float(np.dot(vec, D[iu]) / vec.sum())
    half = math.log(2.0) / -eta / s if (model_var == "exponential" and eta < 0) else float("nan")
    return {"n": n, "dim": dim, "c": 2.0 * m / n, "spacing": s, "mean_edge_length": ell,
            "range_ratio": ell / s, "half_range_ratio": half, "aspect": float(sides.max() / sides.min())}


def domain_points(n: int, dim: int = 2, aspect: float = 1.0, *, layout: str = "halton", seed=None) -> np.ndarray:
    """``n`` node positions in a box of unit volume whose first side is ``aspect`` times the others.

    ``layout="halton"`` gives an evenly spread, deterministic set (an unscrambled Halton
    sequence, first point dropped); ``"random"`` uniform points drawn with ``seed``; ``"lattice"``
    the first ``n`` points of the smallest regular grid with that shape that holds them.

    Examples
    --------
    >>> xy = domain_points(50, dim=2, aspect=4.0)
    >>> xy.shape, bool(xy[:, 0].max() > 3 * xy[:, 1].max())
    ((50, 2), True)
    >>> bool((domain_points(5, 3, layout="random", seed=1) == domain_points(5, 3, layout="random", seed=1)).all())
    True
    """
    n = check_int(n, "n", minimum=2)
    dim = check_int(dim, "dim", minimum=1, maximum=3)
    aspect = check_float(aspect, "aspect", minimum=1.0)
    check_choice(layout, "layout", ("halton", "random", "lattice"))
    sides = np.ones(dim)
    sides[0] = aspect
    sides /= np.prod(sides) ** (1.0 / dim)
    if layout == "random":
        U = as_rng(seed).random((n, dim))
    elif layout == "halton":
        from scipy.stats import qmc

        U = qmc.Halton(d=dim, scramble=False).random(n + 1)[1:]
    else:
        k = max(1, math.ceil((n / aspect) ** (1.0 / dim)))
        counts = [max(1, math.ceil(k * aspect))] + [k] * (dim - 1)
        while np.prod(counts) < n:
            counts = [c + 1 for c in counts]
        grids = np.meshgrid(*[(np.arange(c) + 0.5) / c for c in counts], indexing="ij")
        U = np.stack([g.ravel() for g in grids], axis=1)[:n]
    return U * sides


@dataclass(frozen=True)
class EmergencePrediction:
    """The prediction of :func:`predict_modules` for one spatial network model.

    Attributes
    ----------
    cells : tuple of int
        Cells per axis of the best grid; ``q`` cells of mean size ``module_size``.
    q_cells : float
        First-order expected modularity of that grid.
    q_null : float
        Expected maximum modularity of a random graph of the same ``n`` and ``c``.
    delta_q : float
        ``q_cells - q_null``.
    spread : float
        First-order standard deviation of ``q_cells`` between networks (see
        :func:`predict_modules`).
    snr, snr_ks, detectable, c_in, c_out
        The effective block model of the grid (:func:`effective_sbm`).
    controls : dict
        :func:`control_parameters`.
    labels : ndarray
        The grid partition.

    Examples
    --------
    >>> from mesoscale.metrics import distance_matrix
    >>> xy = domain_points(60, dim=1)
    >>> p = predict_modules(distance_matrix(xy), 120, -8.0, xy)
    >>> isinstance(p, EmergencePrediction), p.q == len(set(p.labels.tolist()))
    (True, True)
    """

    cells: tuple
    q: int
    module_size: float
    q_cells: float
    q_null: float
    delta_q: float
    spread: float
    snr: float
    snr_ks: float
    detectable: bool
    c_in: float
    c_out: float
    controls: dict = field(repr=False)
    labels: np.ndarray = field(repr=False)

    def significant(self, z_crit: float = 2.0) -> bool:
        """Whether ``delta_q > z_crit * spread`` (the necessary condition for spatial modules).

        Examples
        --------
        >>> from mesoscale.metrics import distance_matrix
        >>> xy = domain_points(100, dim=2)
        >>> predict_modules(distance_matrix(xy), 300, 0.0, xy).significant()
        False
        """
        z_crit = check_float(z_crit, "z_crit", minimum=0.0)
        return bool(self.delta_q > z_crit * self.spread)


def _grid_shapes(dim, max_cells):
    axes = [range(1, max_cells + 1)] * dim
    for ks in itertools.product(*axes):
        if 1 <= int(np.prod(ks)) <= max_cells:
            yield tuple(int(k) for k in ks)


def _null_q(n, m):
    c = min(2.0 * m / n, float(n - 1))
    if 2.0 * m >= n * (n - 1):
        return 0.0
    return expected_modularity_random(n, c=c)


def _spread(vec, iu, labels, m):
    """Standard deviation of the within-cell edge fraction, pairs independent given the total.

    With ``V_in = sum_within p (1 - p)`` and ``V_out`` likewise, conditioning independent pairs on
    ``m`` edges in all leaves ``Var(m_in) ≈ V_in V_out / (V_in + V_out)`` (the hypergeometric
    variance for a flat kernel).
    """
    var = vec * (1.0 - vec)
    inside = labels[iu[0]] == labels[iu[1]]
    v_in, v_out = float(var[inside].sum()), float(var[~inside].sum())
    if v_in + v_out <= 0:
        return 0.0
    return float(math.sqrt(v_in * v_out / (v_in + v_out)) / m)


def predict_modules(D, m: int, eta: float, positions, model_var: str = "powerlaw", *,
                    max_cells: int | None = None) -> EmergencePrediction:
    """Predict the spatial modules of the ``sptl`` rule: best cell grid, ``ΔQ`` and detectability.

    Every regular grid of the bounding box with ``k_a`` cells on axis ``a`` and at most
    ``max_cells`` cells in all is scored by :func:`expected_partition_modularity`; the best one is
    the predicted module structure. ``q_null`` is
    :func:`mesoscale.theory.expected_modularity_random` (Reichardt--Bornholdt) at the same ``n``
    and mean degree; ``spread = sqrt(V_in V_out / (V_in + V_out)) / m`` with
    ``V_in = sum p (1 - p)`` over the pairs inside cells and ``V_out`` over the others: the
    standard deviation of the grid's within-edge fraction for independent pairs conditioned on
    ``m`` edges (hypergeometric for a flat kernel). It is the between-network spread of the grid's
    ``Q`` to first order; the (smaller) spread of the null's maximum is not added.

    Parameters
    ----------
    D, m, eta, model_var
        As in :func:`pair_probabilities`.
    positions : array_like, shape (n, dim)
        Node coordinates (those that gave ``D``).
    max_cells : int, optional
        Most cells of a grid; default ``n // 3`` capped at 64.

    Returns
    -------
    EmergencePrediction

    Examples
    --------
    >>> from mesoscale.metrics import distance_matrix
    >>> xy = domain_points(120, dim=2, aspect=4.0)
    >>> p = predict_modules(distance_matrix(xy), 360, -6.0, xy)
    >>> bool(p.cells[0] > p.cells[1]), bool(p.delta_q > 0)
    (True, True)
    """
    D, m, eta = _check_kernel_args(D, m, eta, model_var)
    X = np.asarray(positions, dtype=float)
    sides = _box_geometry(X)
    n = D.shape[0]
    if X.shape[0] != n:
        raise ValueError(f"'positions' must have one row per node ({n}); got {X.shape[0]}")
    if max_cells is None:
        max_cells = max(1, min(64, n // 3))
    max_cells = check_int(max_cells, "max_cells", minimum=1)
    vec, iu = _pair_vector(D, m, eta, model_var)
    P = _square(vec, iu, n)
    controls = _controls(D, m, eta, model_var, sides, vec, iu)
    extent = (X.max(axis=0) - X.min(axis=0)) > 0
    dim = X.shape[1]
    deg = P.sum(axis=1)  # expected degrees; Q needs only the within-cell sum and cell degrees
    two_m = float(deg.sum())
    best = None
    for ks in _grid_shapes(int(extent.sum()), max_cells):
        full = [1] * dim
        for a, k in zip(np.flatnonzero(extent), ks):
            full[a] = k
        labels = grid_labels(X, full)
        within = float(vec[labels[iu[0]] == labels[iu[1]]].sum())
        a_k = np.bincount(labels, weights=deg) / two_m
        qv = 2.0 * within / two_m - float(np.dot(a_k, a_k))
        if best is None or qv > best[0] + 1e-12:
            best = (qv, tuple(full), labels)
    q_cells, cells, labels = best
    q_null = _null_q(n, m)
    sbm = _sbm_summary(P, labels)
    return EmergencePrediction(
        cells=cells, q=sbm["q"], module_size=n / sbm["q"], q_cells=q_cells, q_null=q_null,
        delta_q=q_cells - q_null, spread=_spread(vec, iu, labels, m), snr=sbm["snr"], snr_ks=sbm["snr_ks"],
        detectable=sbm["detectable"], c_in=sbm["c_in"], c_out=sbm["c_out"], controls=controls, labels=labels,
    )


#: Mean |projection| of a random unit vector on one axis, dim = 1, 2, 3.
KAPPA = {1: 1.0, 2: 2.0 / math.pi, 3: 0.5}


def slab_modularity(cells, range_ratio: float, n: int, dim: int | None = None, aspect: float = 1.0) -> float:
    """Closed-form first-order modularity of a grid of slabs in a box (isotropic short-range kernel).

    A cut plane perpendicular to axis ``a`` separates an edge with probability
    ``|Δx_a| / L_a``; with ``E|Δx_a| = kappa_dim * R * s`` (``kappa = 1, 2/pi, 1/2``), unit
    spacing ``s = 1`` and sides ``L_a`` of a box of volume ``n`` whose first side is ``aspect``
    times the others, ``Q = 1 - sum_a (k_a - 1) kappa R / L_a - 1 / prod k_a``. Valid while
    ``R`` is small against the cell sides; the numerical counterpart is
    :func:`expected_partition_modularity`.

    Examples
    --------
    >>> round(slab_modularity((3, 3), 1.0, 200), 3)
    0.709
    >>> slab_modularity(1, 1.0, 100, dim=2)
    0.0
    """
    n = check_int(n, "n", minimum=2)
    R = check_float(range_ratio, "range_ratio", minimum=0.0)
    aspect = check_float(aspect, "aspect", minimum=1.0)
    if np.isscalar(cells) or np.ndim(cells) == 0:
        if dim is None:
            raise ValueError("'dim' is needed when 'cells' is a single count")
        dim = check_int(dim, "dim", minimum=1, maximum=3)
        ks = [check_int(cells, "cells", minimum=1)] * dim
    else:
        ks = [check_int(k, "cells", minimum=1) for k in cells]
        dim = check_int(len(ks) if dim is None else dim, "dim", minimum=1, maximum=3)
        if len(ks) != dim:
            raise ValueError(f"'cells' must give {dim} counts; got {list(cells)}")
    sides = np.ones(dim)
    sides[0] = aspect
    sides *= (n / np.prod(sides)) ** (1.0 / dim)
    cut = sum((k - 1) * KAPPA[dim] * R / L for k, L in zip(ks, sides))
    return float(1.0 - cut - 1.0 / np.prod(ks))


def slab_optimum(n: int, range_ratio: float, dim: int = 2, aspect: float = 1.0) -> dict:
    """The best grid of :func:`slab_modularity`: predicted module count, size and modularity in closed form.

    Minimising ``sum_a (k_a - 1) b_a + 1 / prod k_a`` with ``b_a = kappa R / L_a`` over real
    ``k_a`` gives ``k_a = t / b_a`` with ``t = (prod_a b_a)**(1/(dim+1))``; for a cube
    ``q* = (n**(1/dim) / (kappa R))**(dim/(dim+1))`` and ``Q* ≈ 1 - (dim+1) / q* + dim kappa R / L``.
    The integer optimum is searched around that point (axes whose ``k_a`` would fall below 1 are
    held at one cell, e.g. a thin elongated domain cut into slices only).

    Parameters
    ----------
    n : int
        Number of nodes (box of volume ``n`` in spacing units).
    range_ratio : float
        Mean edge length over the spacing (> 0).
    dim : {1, 2, 3}
    aspect : float
        First side over the others (>= 1).

    Returns
    -------
    dict
        ``cells`` (tuple), ``q``, ``module_size`` (``n / q``), ``q_cells``, ``q_continuous`` (the
        real-valued optimum ``prod t / b_a``).

    Examples
    --------
    >>> opt = slab_optimum(1000, 1.0, dim=2)
    >>> opt["cells"], round(opt["q_cells"], 3)
    ((4, 4), 0.817)
    >>> slab_optimum(1000, 1.0, dim=2, aspect=16.0)["cells"]
    (14, 1)
    """
    n = check_int(n, "n", minimum=2)
    R = check_float(range_ratio, "range_ratio", minimum=0.0)
    if R <= 0:
        raise ValueError(f"'range_ratio' must be > 0; got {range_ratio}")
    dim = check_int(dim, "dim", minimum=1, maximum=3)
    aspect = check_float(aspect, "aspect", minimum=1.0)
    sides = np.ones(dim)
    sides[0] = aspect
    sides *= (n / np.prod(sides)) ** (1.0 / dim)
    b = KAPPA[dim] * R / sides
    best, q_cont = None, 1.0
    for free in itertools.product([False, True], repeat=dim):
        idx = np.flatnonzero(free)
        k_real = np.ones(dim)
        if idx.size:
            t = float(np.prod(b[idx])) ** (1.0 / (idx.size + 1))
            k_real[idx] = t / b[idx]
            if np.any(k_real[idx] < 1):
                continue
            q_cont = max(q_cont, float(np.prod(k_real)))
        around = [range(max(1, int(math.floor(k)) - 1), int(math.floor(k)) + 3) if f else [1]
                  for k, f in zip(k_real, free)]
        for ks in itertools.product(*around):
            qv = slab_modularity(ks, R, n, dim, aspect)
            if best is None or qv > best[0] + 1e-12:
                best = (qv, tuple(int(k) for k in ks))
    qv, cells = best
    q = int(np.prod(cells))
    return {"cells": cells, "q": q, "module_size": n / q, "q_cells": float(qv), "q_continuous": q_cont}


def _eta_for_range(D, m, model_var, sides, target):
    """The ``eta <= 0`` whose mean edge length over the spacing is ``target``."""
    n = D.shape[0]
    s = float(np.prod(sides) / n) ** (1.0 / sides.size)
    iu = np.triu_indices(n, 1)

    def ratio(eta):
        vec, _ = _pair_vector(D, m, eta, model_var)
        return float(np.dot(vec, D[iu]) / vec.sum()) / s

    steep = -30.0 if model_var == "powerlaw" else -60.0 / s
    r_hi, r_lo = ratio(0.0), ratio(steep)
    if not r_lo < target < r_hi:
        raise ValueError(
            f"'range_ratio' must lie in ({r_lo:.3g}, {r_hi:.3g}) for this domain and m={m} "
            f"(from the steepest kernel to no distance dependence); got {target}"
        )
    return float(brentq(lambda e: ratio(e) - target, steep, 0.0, xtol=1e-9))


def modularity_condition(n: int, c: float, range_ratio: float, dim: int = 2, aspect: float = 1.0, *,
                         model_var: str = "exponential", z_crit: float = 2.0, layout: str = "halton",
                         seed=None, max_cells: int | None = None) -> dict:
    """The necessary condition for spatial modules, ``ΔQ > z_crit * spread``, at given control parameters.

    Builds ``n`` nodes in a box of ``dim`` dimensions and the given aspect ratio
    (:func:`domain_points`), sets ``m = round(c n / 2)``, finds the kernel exponent whose mean
    edge length is ``range_ratio`` spacings, and evaluates :func:`predict_modules`.

    Returns
    -------
    dict
        ``n, dim, aspect, c, range_ratio, eta, cells, q, module_size, q_cells, q_null, delta_q,
        spread, z (= delta_q / spread), satisfied (z > z_crit), snr, snr_ks, detectable``, and
        the closed form of :func:`slab_optimum` at the same parameters, ``q_slab, q_cells_slab,
        delta_q_slab``.

    Examples
    --------
    >>> short = modularity_condition(150, 6.0, 1.5)
    >>> long = modularity_condition(150, 6.0, 4.0)
    >>> short["satisfied"], long["satisfied"], bool(short["delta_q"] > long["delta_q"])
    (True, False, True)
    """
    n = check_int(n, "n", minimum=4)
    c = check_float(c, "c", minimum=0.0)
    if not 0 < c <= n - 1:
        raise ValueError(f"'c' must lie in (0, n - 1 = {n - 1}]; got {c}")
    range_ratio = check_float(range_ratio, "range_ratio", minimum=0.0)
    if range_ratio <= 0:
        raise ValueError(f"'range_ratio' must be > 0; got {range_ratio}")
    check_choice(model_var, "model_var", KERNELS)
    z_crit = check_float(z_crit, "z_crit", minimum=0.0)
    X = domain_points(n, dim, aspect, layout=layout, seed=seed)
    m = max(1, min(int(round(c * n / 2)), n * (n - 1) // 2))
    from .._validation import distance_matrix

    D = distance_matrix(X)
    sides = _box_geometry(X)
    eta = _eta_for_range(D, m, model_var, sides, range_ratio)
    p = predict_modules(D, m, eta, X, model_var, max_cells=max_cells)
    z = p.delta_q / p.spread if p.spread > 0 else float("inf") * np.sign(p.delta_q)
    slab = slab_optimum(n, range_ratio, int(sides.size), float(sides.max() / sides.min()))
    return {"n": n, "dim": dim, "aspect": aspect, "c": 2.0 * m / n, "range_ratio": range_ratio, "eta": eta,
            "cells": p.cells, "q": p.q, "module_size": p.module_size, "q_cells": p.q_cells, "q_null": p.q_null,
            "delta_q": p.delta_q, "spread": p.spread, "z": float(z), "satisfied": bool(z > z_crit),
            "snr": p.snr, "snr_ks": p.snr_ks, "detectable": p.detectable,
            "q_slab": slab["q"], "q_cells_slab": slab["q_cells"], "delta_q_slab": slab["q_cells"] - p.q_null}


def phase_diagram(n: int, range_ratios, mean_degrees, dim: int = 2, aspect: float = 1.0, **kwargs) -> pd.DataFrame:
    """:func:`modularity_condition` over a grid of ``(range_ratio, c)`` at fixed ``n``: one tidy row each.

    Parameters
    ----------
    n, dim, aspect
        As in :func:`modularity_condition`.
    range_ratios, mean_degrees : sequence of float
        Grid axes.
    **kwargs
        Passed to :func:`modularity_condition` (``model_var``, ``z_crit``, ``layout``, ...).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`modularity_condition` (``cells`` as a string such as ``"3x3"``).

    Examples
    --------
    >>> df = phase_diagram(100, [1.5, 4.0], [4.0, 6.0])
    >>> df.shape[0], bool(df.loc[df.range_ratio == 1.5, "satisfied"].all())
    (4, True)
    """
    from .._validation import check_float_list

    rs = check_float_list(range_ratios, "range_ratios", minimum=0.0)
    cs = check_float_list(mean_degrees, "mean_degrees", minimum=0.0)
    rows = []
    for r in rs:
        for c in cs:
            row = modularity_condition(n, c, r, dim, aspect, **kwargs)
            row["cells"] = "x".join(str(k) for k in row["cells"])
            rows.append(row)
    return pd.DataFrame(rows)
