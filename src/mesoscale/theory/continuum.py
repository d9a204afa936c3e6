"""The necessary conditions for spatial modules as inequalities in dimensionless controls.

Nodes sit uniformly in a box of unit volume in ``dim`` dimensions whose first side is ``aspect``
times the others (:func:`~mesoscale.theory.domain_points`): sides ``L_1 = aspect**(1 - 1/dim)``
and ``L_a = aspect**(-1/dim)``. The ``sptl`` rule with the exponential kernel
``w(d) = exp(-d / xi)`` places ``m = c n / 2`` edges. Two limits are natural:

* fixed **range ratio** ``R = ell / s`` (mean edge length over the spacing ``s = n**(-1/dim)``):
  the kernel is a fixed number of spacings long, modules shrink relative to the box and
  ``Q -> 1`` as ``n -> inf`` (random geometric graphs; the slab closed form of
  :func:`~mesoscale.theory.slab_optimum`);
* fixed **range** ``xi`` (a fraction of the box) and fixed mean degree ``c``: the network is a
  *sparse inhomogeneous random graph* with the kernel ``p(u, v) = (c / n) f(u - v) / <f>``
  (Bollobás, Janson & Riordan 2007), every intensive quantity has a limit as ``n -> inf`` and
  detectability becomes a sharp transition.

The two are linked by ``R = dim * xi * n**(1/dim)`` (an unbounded exponential kernel in ``dim``
dimensions has mean edge length ``dim * xi``), so ``R n**(-1/dim)`` is the collapse variable.

The conditions (each necessary; all of them together are what the chapter's phase diagram draws)
-----------------------------------------------------------------------------------------------
(C0) **geometry** -- even the steepest kernel must reach ``c`` neighbours: the ``m`` shortest pairs
     of a Poisson point set of unit density lie within ``r = (c / omega_dim)**(1/dim)``, so
     ``R >= R_min(c) = dim / (dim + 1) * (c / omega_dim)**(1/dim)`` (:func:`minimum_range_ratio`;
     0.92 at ``c = 6`` in two dimensions).
(C1) **detectability** (Kesten--Stigum for the kernel operator) -- the positions (hence any
     spatial partition) can be recovered better than chance by spectral (non-backtracking,
     Bethe-Hessian) methods when ``lambda_2**2 > lambda_1`` for the expected adjacency (the mean
     offspring operator). Its top eigenvalue is ``lambda_1 ≈ c``; the slowest spatial mode, a
     cosine along the long side, has ``lambda_2 ≈ c phi(pi / L_1)`` with ``phi`` the
     characteristic function of the edge displacement, ``phi(k) = (1 + k**2 xi**2)**(-(dim+1)/2)``
     for the exponential kernel. Hence ``c phi(pi/L_1)**2 > 1``, i.e. (:func:`ks_range`)

     .. math:: \\xi < \\xi_{KS} = \\frac{L_1}{\\pi} \\sqrt{c^{1/(d+1)} - 1}.

     The numerical version on a finite point set is :func:`spectral_snr` (``lambda_2**2 / lambda_1``
     of the pair-probability matrix), which includes the boundary effects the cosine ignores.
(C2) **modularity above noise** -- the best grid of cells beats the maximum modularity of a random
     graph of the same degree, ``Q_cells(xi) > Q_null(c) ≈ 0.97 / sqrt(c)``. With the slab form
     ``Q = 1 - sum_a (k_a - 1) b_a - 1 / prod_a k_a``, ``b_a = kappa_dim * dim * xi / L_a``, cutting
     only the long side gives ``Q* = (1 - sqrt(b_1))**2`` and the bound (:func:`modularity_range`)

     .. math:: \\xi < \\xi_Q = \\frac{L_1 (1 - \\sqrt{Q_{null}(c)})^2}{\\kappa_d\\, d};

     cutting every side of a cube gives ``Q* ≈ 1 - (d+1) (kappa d xi / L)**(d/(d+1))`` and
     ``xi_Q = (L / (kappa d)) ((1 - Q_null) / (d + 1))**((d+1)/d)``; :func:`modularity_range`
     takes the better grid numerically. In spacing units, ``R < R_Q = dim * xi_Q * n**(1/dim)``:
     the fixed-``R`` statement of :mod:`~mesoscale.theory.conditions`.
(C3) **significance at finite size** -- ``ΔQ > z sigma`` with ``sigma ~ m**-1/2``
     (:func:`~mesoscale.theory.predict_modules`); it vanishes as ``n`` grows.

Because ``Q_null(c)`` exceeds the planted modularity at the Kesten--Stigum point (as for the block
model), ``xi_Q < xi_KS``: between them the spatial structure is detectable but a modularity
maximiser does not find more than it finds in noise. Elongation (``aspect > 1``) lengthens
``L_1`` and widens both regions (more room along the body axis). The homophily term ``gamma``
enters through the mean-field effective kernel of :mod:`~mesoscale.theory.homophily`.

Examples
--------
>>> round(ks_range(6.0, dim=2, aspect=2.0), 3), round(modularity_range(6.0, dim=2, aspect=2.0), 3)
(0.407, 0.158)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from .._validation import check_choice, check_float, check_float_list, check_int
from .sbm import expected_modularity_random

__all__ = [
    "box_sides",
    "kernel_characteristic",
    "ks_snr",
    "ks_range",
    "modularity_range",
    "minimum_range_ratio",
    "spectral_snr",
    "condition_boundaries",
    "box_predictions",
    "phase_boundaries",
    "curve_crossing",
    "predictions_at_sizes",
]

#: Mean |projection| of a random unit vector on one axis, dim = 1, 2, 3.
_KAPPA = {1: 1.0, 2: 2.0 / math.pi, 3: 0.5}


def _check_geometry(dim, aspect):
    dim = check_int(dim, "dim", minimum=1, maximum=3)
    aspect = check_float(aspect, "aspect", minimum=1.0)
    return dim, aspect


def _check_c(c):
    c = check_float(c, "c", minimum=0.0)
    if c <= 1.0:
        raise ValueError(f"'c' must be > 1 (below it the sparse graph has no giant component); got {c}")
    return c


def box_sides(dim: int = 2, aspect: float = 1.0) -> np.ndarray:
    """Sides of the unit-volume box whose first side is ``aspect`` times the others.

    Examples
    --------
    >>> box_sides(2, 4.0).tolist()
    [2.0, 0.5]
    """
    dim, aspect = _check_geometry(dim, aspect)
    sides = np.ones(dim)
    sides[0] = aspect
    return sides / np.prod(sides) ** (1.0 / dim)


def kernel_characteristic(k, xi: float, dim: int = 2) -> np.ndarray:
    """Characteristic function ``E[cos(k Δx_1)]`` of the edge displacement of the exponential kernel.

    For ``w(r) = exp(-r / xi)`` in ``dim`` dimensions (no boundaries) the normalised Fourier
    transform is ``(1 + k**2 xi**2)**(-(dim + 1) / 2)``: a Lorentzian in 1-D, ``(1 + k²ξ²)^(-3/2)``
    in 2-D, ``(1 + k²ξ²)^(-2)`` in 3-D.

    Examples
    --------
    >>> kernel_characteristic([0.0, 1.0], 1.0, dim=1).tolist()
    [1.0, 0.5]
    """
    xi = check_float(xi, "xi", minimum=0.0)
    dim = check_int(dim, "dim", minimum=1, maximum=3)
    k = np.asarray(k, dtype=float)
    return (1.0 + (k * xi) ** 2) ** (-(dim + 1) / 2.0)


def ks_snr(xi: float, c: float, dim: int = 2, aspect: float = 1.0) -> float:
    """Kesten--Stigum ratio ``lambda_2**2 / lambda_1 = c phi(pi / L_1)**2`` of the slowest spatial mode.

    Above 1 the positions are detectable (condition C1 of the module docstring).

    Examples
    --------
    >>> round(ks_snr(0.1, 6.0, dim=2, aspect=2.0), 3), ks_snr(1e-9, 4.0) > 3.99
    (5.193, True)
    """
    c = _check_c(c)
    dim, aspect = _check_geometry(dim, aspect)
    L1 = box_sides(dim, aspect)[0]
    return float(c * kernel_characteristic(math.pi / L1, xi, dim) ** 2)


def ks_range(c: float, dim: int = 2, aspect: float = 1.0) -> float:
    """The range ``xi_KS = (L_1 / pi) sqrt(c**(1/(dim+1)) - 1)`` below which spatial structure is detectable.

    Examples
    --------
    >>> round(ks_range(6.0), 4), ks_range(6.0, aspect=4.0) > ks_range(6.0)
    (0.2877, True)
    """
    c = _check_c(c)
    dim, aspect = _check_geometry(dim, aspect)
    L1 = box_sides(dim, aspect)[0]
    return float(L1 / math.pi * math.sqrt(c ** (1.0 / (dim + 1)) - 1.0))


def _slab_best(xi, dim, sides):
    """Best first-order slab modularity over real cell counts (each axis cut or not)."""
    b = _KAPPA[dim] * dim * xi / sides
    best = 0.0
    for mask in range(1, 2 ** dim):
        idx = [a for a in range(dim) if mask >> a & 1]
        bb = b[idx]
        t = float(np.prod(bb)) ** (1.0 / (len(idx) + 1))
        k = t / bb
        if np.any(k < 1):
            continue
        best = max(best, 1.0 - float(np.sum((k - 1) * bb)) - 1.0 / float(np.prod(k)))
    return best


def modularity_range(c: float, dim: int = 2, aspect: float = 1.0, *, q_null: float | None = None) -> float:
    """The range ``xi_Q`` below which the best slab grid beats the random-graph maximum ``Q_null(c)``.

    Solves ``Q_slab*(xi) = Q_null`` with the first-order slab modularity (condition C2),
    ``Q_null = 0.97 / sqrt(c)`` (Reichardt--Bornholdt, sparse limit) unless given. For cuts along
    the long side only this is ``L_1 (1 - sqrt(Q_null))**2 / (kappa_dim dim)``.

    Examples
    --------
    >>> import math
    >>> xi = modularity_range(6.0, dim=1)
    >>> round(xi, 4) == round((1 - math.sqrt(0.97 / math.sqrt(6))) ** 2, 4)
    True
    """
    c = _check_c(c)
    dim, aspect = _check_geometry(dim, aspect)
    if q_null is None:
        q_null = 0.97 / math.sqrt(c)
    q_null = check_float(q_null, "q_null", minimum=0.0, maximum=1.0)
    if q_null >= 1.0:
        return 0.0
    sides = box_sides(dim, aspect)
    hi = float(sides.max())
    if _slab_best(hi, dim, sides) >= q_null:
        return hi
    return float(brentq(lambda x: _slab_best(x, dim, sides) - q_null, 1e-12, hi, xtol=1e-12))


def minimum_range_ratio(c: float, dim: int = 2) -> float:
    """``R_min = dim / (dim + 1) * (c / omega_dim)**(1/dim)``: the shortest possible mean edge length
    (in spacings) of a network of mean degree ``c`` on uniform points (condition C0).

    Examples
    --------
    >>> round(minimum_range_ratio(6.0, 2), 3)
    0.921
    """
    c = check_float(c, "c", minimum=0.0)
    dim = check_int(dim, "dim", minimum=1, maximum=3)
    omega = math.pi ** (dim / 2) / math.gamma(dim / 2 + 1)
    return float(dim / (dim + 1) * (c / omega) ** (1.0 / dim))


def spectral_snr(P) -> float:
    """``lambda_2**2 / lambda_1`` of a symmetric matrix of pair probabilities (the expected adjacency).

    The Kesten--Stigum ratio of an inhomogeneous random graph: above 1 its second-largest
    structure is detectable by spectral methods (condition C1 on a finite point set).

    Examples
    --------
    >>> import numpy as np
    >>> g = np.arange(400) // 200
    >>> P = np.where(g[:, None] == g[None, :], 7.0, 1.0) / 400; np.fill_diagonal(P, 0)
    >>> round(spectral_snr(P), 2)  # ≈ (c_in - c_out)**2 / (4 c) = 2.25 with c_in = 7, c_out = 1, c = 4
    2.23
    """
    M = np.asarray(P, dtype=float)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] < 3:
        raise ValueError(f"'P' must be a square matrix with at least 3 rows; got shape {M.shape}")
    if not np.all(np.isfinite(M)) or not np.allclose(M, M.T, atol=1e-12):
        raise ValueError("'P' must be finite and symmetric")
    if M.shape[0] > 600:
        from scipy.sparse.linalg import eigsh

        ev = eigsh(M, k=2, which="LA", v0=np.ones(M.shape[0]), tol=1e-10)[0]
    else:
        ev = np.linalg.eigvalsh(M)[-2:]
    lam2, lam1 = float(np.sort(ev)[0]), float(np.sort(ev)[1])
    if lam1 <= 0:
        raise ValueError("'P' has no positive eigenvalue")
    return lam2 * lam2 / lam1


def condition_boundaries(mean_degrees, dim: int = 2, aspect: float = 1.0, *, n: int | None = None,
                         q_null: str = "reichardt") -> pd.DataFrame:
    """The boundaries of the phase diagram in ``(xi, c)``: one row per mean degree.

    Columns ``c``, ``xi_ks`` (C1), ``xi_q`` (C2 with ``Q_null`` from
    :func:`~mesoscale.theory.expected_modularity_random` at size ``n``, or the sparse-limit
    ``0.97 / sqrt(c)`` when ``n`` is None), ``q_null`` and, with ``n``, ``xi_min``: the C0 bound
    ``R_min(c) / (dim n**(1/dim))`` in units of the box.

    Examples
    --------
    >>> df = condition_boundaries([4.0, 8.0], n=1000)
    >>> bool((df.xi_q < df.xi_ks).all()), bool(df.xi_ks.is_monotonic_increasing), list(df.columns)[:3]
    (True, True, ['c', 'xi_ks', 'xi_q'])
    """
    cs = check_float_list(mean_degrees, "mean_degrees", minimum=0.0)
    dim, aspect = _check_geometry(dim, aspect)
    check_choice(q_null, "q_null", ("reichardt", "guimera"))
    if n is not None:
        n = check_int(n, "n", minimum=4)
    rows = []
    for c in cs:
        qn = 0.97 / math.sqrt(_check_c(c)) if n is None else expected_modularity_random(n, c=c, method=q_null)
        row = {"c": c, "xi_ks": ks_range(c, dim, aspect), "xi_q": modularity_range(c, dim, aspect, q_null=qn),
               "q_null": qn}
        if n is not None:
            row["xi_min"] = minimum_range_ratio(c, dim) / (dim * n ** (1.0 / dim))
        rows.append(row)
    return pd.DataFrame(rows)


def box_predictions(xis, c: float, dim: int = 2, aspect: float = 1.0, *, sizes=None, n_ref: int = 1500,
                    max_cells: int = 24) -> pd.DataFrame:
    """The theory's intensive predictions for the exponential ``sptl`` kernel of range ``xi`` (box units).

    For every ``xi`` the kernel theory of :mod:`~mesoscale.theory.emergence` is evaluated on
    ``n_ref`` evenly spread (Halton) points of the box at mean degree ``c`` -- in the sparse
    limit these quantities no longer depend on ``n``: the best grid (``cells``, ``q``), its
    expected modularity ``q_cells``, the Kesten--Stigum ratio of the pair-probability matrix
    (``snr_spectral``, :func:`spectral_snr`) and of the closed form (``snr_closed``,
    :func:`ks_snr`), and the mean edge length in box units (``ell``). With ``sizes``, one row per
    ``(size, xi)`` adds the random-graph maximum ``q_null`` at that size
    (:func:`~mesoscale.theory.expected_modularity_random`), ``delta_q = q_cells - q_null``, the range
    ratio ``R = ell * size**(1/dim)`` and the collapse variable ``R size**(-1/dim)`` (= ``ell``).

    Examples
    --------
    >>> df = box_predictions([0.05, 0.5], 6.0, aspect=2.0, sizes=[400], n_ref=300)
    >>> df[["xi", "size"]].values.tolist(), bool(df.delta_q.iloc[0] > 0 > df.delta_q.iloc[1])
    ([[0.05, 400.0], [0.5, 400.0]], True)
    >>> bool(df.snr_spectral.iloc[0] > 1), bool(df.snr_spectral.iloc[0] > df.snr_spectral.iloc[1])
    (True, True)
    """
    from .._validation import distance_matrix
    from ._kernel import pair_vector, square
    from .conditions import predict_modules
    from .emergence import domain_points

    xs = check_float_list(xis, "xis", minimum=0.0)
    if any(x <= 0 for x in xs):
        raise ValueError(f"'xis' must be > 0; got {xs}")
    c = _check_c(c)
    dim, aspect = _check_geometry(dim, aspect)
    n_ref = check_int(n_ref, "n_ref", minimum=20)
    if c >= n_ref - 1:
        raise ValueError(f"'c' must be below n_ref - 1 = {n_ref - 1}; got {c}")
    sz = None if sizes is None else [check_int(s, "sizes", minimum=4) for s in sizes]
    X = domain_points(n_ref, dim, aspect)
    D = distance_matrix(X)
    m = int(round(c * n_ref / 2))
    iu = np.triu_indices(n_ref, 1)
    rows = []
    for xi in xs:
        eta = -1.0 / xi
        pred = predict_modules(D, m, eta, X, "exponential", max_cells=max_cells)
        vec, _ = pair_vector(D, m, eta, "exponential")
        P = square(vec, iu, n_ref)
        rows.append({"xi": xi, "c": c, "dim": dim, "aspect": aspect, "cells": "x".join(map(str, pred.cells)),
                     "q": pred.q, "q_cells": pred.q_cells, "ell": float(np.dot(vec, D[iu]) / vec.sum()),
                     "snr_spectral": spectral_snr(P), "snr_closed": ks_snr(xi, c, dim, aspect), "n_ref": n_ref})
    out = pd.DataFrame(rows)
    return out if sz is None else predictions_at_sizes(out, sz)


def predictions_at_sizes(prediction: pd.DataFrame, sizes) -> pd.DataFrame:
    """Rows of :func:`box_predictions` repeated per size, with that size's null and range ratio.

    Adds ``size``, ``q_null`` (:func:`~mesoscale.theory.expected_modularity_random` at ``size`` and the
    row's ``c``), ``delta_q = q_cells - q_null`` and ``range_ratio = ell * size**(1/dim)``.

    Examples
    --------
    >>> p = pd.DataFrame({"xi": [0.1], "c": [6.0], "dim": [2], "q_cells": [0.5], "ell": [0.2]})
    >>> predictions_at_sizes(p, [100, 400])[["size", "range_ratio"]].values.tolist()
    [[100.0, 2.0], [400.0, 4.0]]
    """
    from .._validation import check_frame

    prediction = check_frame(prediction, ("xi", "c", "dim", "q_cells", "ell"), made_by="box_predictions")
    parts = []
    for n in sizes:
        n = check_int(n, "sizes", minimum=4)
        qn = np.array([expected_modularity_random(n, c=min(c, n - 1.0)) for c in prediction["c"]])
        parts.append(prediction.assign(size=float(n), q_null=qn, delta_q=prediction["q_cells"] - qn,
                                       range_ratio=prediction["ell"] * n ** (1.0 / prediction["dim"])))
    return pd.concat(parts, ignore_index=True)


def phase_boundaries(mean_degrees, xis, n: int, dim: int = 2, aspect: float = 1.0, *, n_ref: int = 800,
                     predictions: dict | None = None) -> pd.DataFrame:
    """:func:`condition_boundaries` with their numerical counterparts on a box of ``n_ref`` points.

    Adds ``xi_ks_num`` (where ``lambda_2**2 / lambda_1`` of the pair probabilities falls through 1)
    and ``xi_q_num`` (where the best grid's ``q_cells`` falls below ``Q_null(n, c)``), both
    interpolated in ``log xi`` between the ``xis`` of :func:`box_predictions` (NaN when the scan
    does not bracket them). ``predictions`` (``{c: box_predictions(...)}``) reuses ones already computed.

    Examples
    --------
    >>> b = phase_boundaries([6.0], [0.05, 0.1, 0.2, 0.4, 0.8], 1000, aspect=2.0, n_ref=300)
    >>> bool(b.xi_q_num.iloc[0] < b.xi_ks_num.iloc[0]), list(b.columns)[-2:]
    (True, ['xi_ks_num', 'xi_q_num'])
    """
    b = condition_boundaries(mean_degrees, dim, aspect, n=n)
    ks, qs = [], []
    for c, qn in zip(b["c"], b["q_null"]):
        p = (predictions or {}).get(c)
        p = (box_predictions(xis, c, dim, aspect, n_ref=n_ref) if p is None else p).sort_values("xi")
        ks.append(curve_crossing(p["xi"], p["snr_spectral"], 1.0))
        qs.append(curve_crossing(p["xi"], p["q_cells"], qn))
    return b.assign(xi_ks_num=ks, xi_q_num=qs)


def curve_crossing(x, y, level: float) -> float:
    """Where a sampled curve ``y(x)`` (``x > 0``, increasing) first crosses ``level``, interpolated in ``log x``.

    NaN when it never crosses. Used to read the theory's boundaries off a scan of ranges.

    Examples
    --------
    >>> round(curve_crossing([0.1, 1.0], [2.0, 0.0], 1.0), 4)
    0.3162
    """
    x, y = np.asarray(x, float), np.asarray(y, float) - check_float(level, "level")
    idx = np.flatnonzero(np.sign(y[1:]) != np.sign(y[:-1]))
    if idx.size == 0:
        return np.nan
    i = int(idx[0])
    return float(np.exp(np.log(x[i]) - y[i] * (np.log(x[i + 1]) - np.log(x[i])) / (y[i + 1] - y[i])))
