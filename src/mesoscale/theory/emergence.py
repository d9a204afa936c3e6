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
>>> from mesoscale.theory import domain_points, predict_modules
>>> from mesoscale.metrics import distance_matrix
>>> xy = domain_points(200, dim=2)
>>> pred = predict_modules(distance_matrix(xy), 600, -6.0, xy)
>>> bool(pred.delta_q > 0), pred.q >= 4
(True, True)
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import as_rng, check_choice, check_float, check_int, check_partition
from ._kernel import (
    block_sums,
    blocks_from_p,
    box_geometry,
    check_kernel_args,
    controls,
    modularity_from_sums,
    pair_vector,
    sbm_summary,
    square,
)

__all__ = [
    "pair_probabilities",
    "grid_labels",
    "effective_blocks",
    "expected_partition_modularity",
    "effective_sbm",
    "control_parameters",
    "domain_points",
]


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
    D, m, eta = check_kernel_args(D, m, eta, model_var)
    vec, iu = pair_vector(D, m, eta, model_var)
    return square(vec, iu, D.shape[0])


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
    D, m, eta = check_kernel_args(D, m, eta, model_var)
    labels = check_partition(labels, D.shape[0], "labels")
    return blocks_from_p(pair_probabilities(D, m, eta, model_var), labels)


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
    D, m, eta = check_kernel_args(D, m, eta, model_var)
    labels = check_partition(labels, D.shape[0], "labels")
    S, _ = block_sums(pair_probabilities(D, m, eta, model_var), labels)
    return modularity_from_sums(S)


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
    D, m, eta = check_kernel_args(D, m, eta, model_var)
    labels = check_partition(labels, D.shape[0], "labels")
    return sbm_summary(pair_probabilities(D, m, eta, model_var), labels)


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
    D, m, eta = check_kernel_args(D, m, eta, model_var)
    sides = box_geometry(positions)
    if np.asarray(positions).shape[0] != D.shape[0]:
        raise ValueError(f"'positions' must have one row per node ({D.shape[0]}); got {np.asarray(positions).shape[0]}")
    vec, iu = pair_vector(D, m, eta, model_var)
    return controls(D, m, eta, model_var, sides, vec, iu)


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
