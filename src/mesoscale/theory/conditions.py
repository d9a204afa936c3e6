"""Necessary conditions for spatial modules: predictions, the slab closed form and the phase diagram.

Built on the effective-block picture of :mod:`~mesoscale.theory.emergence`:
:func:`predict_modules` scans regular grids of the domain for the partition with the highest
expected modularity and compares it with the random-graph null (:class:`EmergencePrediction`:
the module count and size, Q, dQ, its spread and the detectability of the effective SBM);
:func:`slab_modularity` and :func:`slab_optimum` give the closed form of the best partition into
slabs; :func:`modularity_condition` states the condition ``dQ > z * sigma`` in the dimensionless
controls (mean degree, range over spacing, dimension, aspect ratio) and :func:`phase_diagram`
tabulates it over a grid of them.

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

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from .._validation import check_choice, check_float, check_int
from ._kernel import KERNELS, box_geometry, check_kernel_args, controls, pair_vector, sbm_summary, square
from .emergence import domain_points, grid_labels
from .sbm import expected_modularity_random

__all__ = [
    "EmergencePrediction",
    "predict_modules",
    "predict_from_pairs",
    "slab_modularity",
    "slab_optimum",
    "modularity_condition",
    "kernel_for_length",
    "phase_diagram",
]


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
    D, m, eta = check_kernel_args(D, m, eta, model_var)
    vec, iu = pair_vector(D, m, eta, model_var)
    return predict_from_pairs(D, square(vec, iu, D.shape[0]), positions, max_cells=max_cells, eta=eta,
                              model_var=model_var)


def predict_from_pairs(D, P, positions, *, max_cells: int | None = None, eta: float = float("nan"),
                       model_var: str = "powerlaw") -> EmergencePrediction:
    """:func:`predict_modules` for any matrix of pair probabilities (e.g. a mean-field kernel).

    The best grid, ``ΔQ``, spread and effective SBM of the inhomogeneous random graph with
    independent pairs of probabilities ``P`` (``m`` = the expected number of edges, rounded). Used
    by :mod:`~mesoscale.theory.homophily` for the two-parameter rules; ``eta`` and ``model_var``
    only label the kernel in the controls (the half-range of an exponential kernel).

    Examples
    --------
    >>> from mesoscale.metrics import distance_matrix
    >>> from mesoscale.theory import pair_probabilities
    >>> xy = domain_points(120, dim=2)
    >>> D = distance_matrix(xy)
    >>> a = predict_from_pairs(D, pair_probabilities(D, 360, -6.0), xy)
    >>> a.q_cells == predict_modules(D, 360, -6.0, xy).q_cells
    True
    """
    D = check_kernel_args(D, 1, 0.0, "powerlaw")[0]
    n = D.shape[0]
    P = np.asarray(P, dtype=float)
    if P.shape != D.shape or not np.all(np.isfinite(P)) or P.min() < 0 or P.max() > 1 or not np.allclose(P, P.T):
        raise ValueError(f"'P' must be a symmetric matrix of probabilities of shape {D.shape}")
    X = np.asarray(positions, dtype=float)
    sides = box_geometry(X)
    if X.shape[0] != n:
        raise ValueError(f"'positions' must have one row per node ({n}); got {X.shape[0]}")
    if max_cells is None:
        max_cells = max(1, min(64, n // 3))
    max_cells = check_int(max_cells, "max_cells", minimum=1)
    iu = np.triu_indices(n, 1)
    vec = P[iu]
    m = max(1, int(round(vec.sum())))
    ctrl = controls(D, m, eta, model_var, sides, vec, iu)
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
    sbm = sbm_summary(P, labels)
    return EmergencePrediction(
        cells=cells, q=sbm["q"], module_size=n / sbm["q"], q_cells=q_cells, q_null=q_null,
        delta_q=q_cells - q_null, spread=_spread(vec, iu, labels, m), snr=sbm["snr"], snr_ks=sbm["snr_ks"],
        detectable=sbm["detectable"], c_in=sbm["c_in"], c_out=sbm["c_out"], controls=ctrl, labels=labels,
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
        vec, _ = pair_vector(D, m, eta, model_var)
        return float(np.dot(vec, D[iu]) / vec.sum()) / s

    steep = -30.0 if model_var == "powerlaw" else -60.0 / s
    r_hi, r_lo = ratio(0.0), ratio(steep)
    if not r_lo < target < r_hi:
        raise ValueError(
            f"'range_ratio' must lie in ({r_lo:.3g}, {r_hi:.3g}) for this domain and m={m} "
            f"(from the steepest kernel to no distance dependence); got {target}"
        )
    return float(brentq(lambda e: ratio(e) - target, steep, 0.0, xtol=1e-9))


def kernel_for_length(D, m: int, length: float, model_var: str = "exponential") -> float:
    """The kernel parameter ``eta <= 0`` whose predicted mean edge length is ``length`` (units of ``D``).

    Inverts ``ell(eta) = sum p D / sum p`` of :func:`~mesoscale.theory.pair_probabilities` (monotone
    in ``eta``); used to give a real network's geometry the range of its observed wiring.

    Examples
    --------
    >>> from mesoscale.metrics import distance_matrix
    >>> from mesoscale.theory import pair_probabilities
    >>> X = domain_points(100, 2); D = distance_matrix(X)
    >>> eta = kernel_for_length(D, 300, 0.12)
    >>> P = pair_probabilities(D, 300, eta, "exponential")
    >>> round(float((P * D).sum() / P.sum()), 4)
    0.12
    """
    D, m, _ = check_kernel_args(D, m, 0.0, model_var)
    length = check_float(length, "length", minimum=0.0)
    n = D.shape[0]
    iu = np.triu_indices(n, 1)
    d = D[iu]

    def ell(eta):
        vec, _ = pair_vector(D, m, eta, model_var)
        return float(np.dot(vec, d) / vec.sum())

    off = D + np.diag(np.full(n, np.inf))
    nn = float(np.median(off.min(axis=1)))
    steep = -30.0 if model_var == "powerlaw" else -200.0 / max(nn, 1e-12)
    lo, hi = ell(steep), ell(0.0)
    if not lo < length < hi:
        raise ValueError(f"'length' must lie in ({lo:.4g}, {hi:.4g}) for these distances and m={m}; got {length}")
    return float(brentq(lambda e: ell(e) - length, steep, 0.0, xtol=1e-10))


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
    sides = box_geometry(X)
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
