"""The homophily term: a mean-field rate equation for the two-parameter wiring rules.

The rules of :mod:`mesoscale.generative.models` add ``m`` edges one at a time; an unconnected pair
is chosen with probability proportional to ``w(D_ij) g(K_ij)`` with ``g(K) = (K + eps)**gamma``
(or ``exp(gamma (K + eps))``) and ``K_ij`` a topological value recomputed after every edge.
Counting time ``t`` in edges and treating pairs as independent with probabilities ``p_ij(t)``,
the expected growth is the *rate equation*

.. math:: \\frac{dp_{ij}}{dt} = \\frac{(1 - p_{ij})\\, w_{ij}\\, \\bar g_{ij}(p)}
          {\\sum_{kl} (1 - p_{kl})\\, w_{kl}\\, \\bar g_{kl}(p)},
          \\qquad p(0) = 0, \\quad t = 0 \\ldots m,

with ``ḡ_ij(p)`` the topological factor of the pair evaluated on the current probabilities
(:func:`mean_field_pairs`). In the clock ``dτ = dt / sum (1 - p) w ḡ`` it reads
``dp/dτ = (1 - p) w ḡ``, which is integrated exactly over each of ``n_steps`` slices of
edges (quadratically growing slices: ``t_k = m (k / n_steps)**2``, as ``ḡ`` changes fastest in the first
edges) with ``ḡ`` from a predictor--corrector (trapezoid in ``log ḡ``):
``p <- 1 - (1 - p) exp(-Δτ w ḡ)`` with ``Δτ`` such that the slice adds its edges.

Known case: for ``sptl`` (or ``gamma = 0``) ``ḡ`` is constant and the solution is
``p_ij = 1 - exp(-λ w_ij)`` with ``sum p = m`` -- exactly :func:`~mesoscale.theory.pair_probabilities`,
whatever ``n_steps``: the two-parameter theory reduces to the spatial kernel.

Closures (how ``ḡ`` is obtained from ``p``)
    ``"mean"``: ``ḡ = g(K(E[A]))``: the topological value of the expected network (expected
    degrees ``k = sum_j p_ij``, common neighbours ``μ_ij = (P²)_ij``, clustering
    ``(P³)_ii / (k_i² - sum_j p_ij²)``).
    ``"poisson"`` (default): ``ḡ = E[g(K)]`` with the counts behind ``K`` Poisson-distributed
    around those expectations -- common neighbours ``CN_ij ~ Poisson(μ_ij)`` for ``neighbors`` and
    ``matching`` (with the matching denominator conditioned on ``CN``: ``2 CN + k_i + k_j - 2 μ_ij
    - 2 p_ij``), triangles ``T_i ~ Poisson((P³)_ii / 2)`` over the expected wedges for the
    clustering rules, degrees ``k_i ~ Poisson(k_i)`` for the degree rules (node-level values are
    binned on a grid so the pair average is one matrix product). Because ``g`` is very non-linear
    (``eps**gamma`` for ``K = 0`` against ``K**gamma``), ``E[g(K)]`` and ``g(E[K])`` differ a lot;
    the Poisson closure keeps the difference between pairs that do and do not share a neighbour.

What it predicts, and where it stops holding
    The homophily term multiplies the kernel by a factor that is larger for pairs that are already
    embedded in dense neighbourhoods -- in a spatial network, nearby pairs -- so the effective
    kernel ``w ḡ`` is *shorter* than ``w``: the network behaves like an ``sptl`` network of smaller
    range, and every condition of :mod:`~mesoscale.theory.continuum` applies with the effective
    range (:func:`predict_modules_homophily`). What the independent-pair picture cannot see is the
    *correlation* the term creates: closing a triangle makes the next closure likelier (triadic
    closure, clique nucleation). :attr:`MeanField.active_fraction` is the predicted fraction of
    edges placed on pairs whose topological value is non-zero; when most edges are placed by
    closure the correlations dominate and the theory fails (measured in the chapter: the
    predicted grid modularity against simulation over ``gamma``). At ``eta = 0`` the mean field is
    homogeneous and predicts no modules at any ``gamma``, while simulations of the matching rule
    build clustered, fragmented networks: a failure by construction, from correlations alone.

Examples
--------
>>> import numpy as np
>>> from mesoscale.metrics import distance_matrix
>>> from mesoscale.theory import domain_points, pair_probabilities
>>> X = domain_points(80, 2); D = distance_matrix(X)
>>> mf = mean_field_pairs(D, 160, "matching", -3.0, 0.0)
>>> bool(np.allclose(mf.P, pair_probabilities(D, 160, -3.0), atol=1e-8))
True
>>> sharp = mean_field_pairs(D, 160, "matching", -3.0, 1.0)
>>> bool(sharp.mean_edge_length < mf.mean_edge_length), 0 < sharp.active_fraction < 1
(True, True)
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.special import gammaln

from .._validation import check_choice, check_float, check_int
from ._kernel import check_kernel_args, log_weights, saturating_step, square

__all__ = ["MEAN_FIELD_RULES", "CLOSURES", "MeanField", "mean_field_pairs", "predict_modules_homophily"]

#: Rules the rate equation handles (every rule of :data:`mesoscale.generative.WIRING_RULES`).
MEAN_FIELD_RULES = ("sptl", "neighbors", "matching", "clu-avg", "clu-min", "clu-max", "clu-diff", "clu-prod",
                    "deg-avg", "deg-min", "deg-max", "deg-diff", "deg-prod")
#: Closures of the topological factor.
CLOSURES = ("poisson", "mean")

_COMBINE = {
    "avg": lambda a, b: 0.5 * (a + b),
    "min": np.minimum,
    "max": np.maximum,
    "diff": lambda a, b: np.abs(a - b),
    "prod": lambda a, b: a * b,
}


@dataclasses.dataclass(frozen=True)
class MeanField:
    """Solution of the rate equation (:func:`mean_field_pairs`).

    Attributes
    ----------
    P : ndarray, shape (n, n)
        Pair probabilities after ``m`` edges (symmetric, zero diagonal, upper triangle sums to ``m``).
    rule, eta, gamma, closure, n_steps, epsilon
        The inputs.
    active_fraction : float
        Predicted fraction of the ``m`` edges placed on pairs whose topological value is non-zero
        (the homophily term "active"; 0 for ``sptl``): each slice's edges weighted by the share of
        their rate that comes from ``K > 0`` states under the Poisson counts, ``1 - P(K = 0) g(0) / E[g]``.
    mean_edge_length : float
        ``sum p D / sum p``.

    Examples
    --------
    >>> import numpy as np
    >>> D = np.abs(np.subtract.outer(np.arange(10.0), np.arange(10.0)))
    >>> mf = mean_field_pairs(D, 12, "sptl", -2.0)
    >>> mf.active_fraction, mf.P.shape
    (0.0, (10, 10))
    """

    P: np.ndarray = dataclasses.field(repr=False)
    rule: str
    eta: float
    gamma: float
    closure: str
    n_steps: int
    epsilon: float
    active_fraction: float
    mean_edge_length: float


def _log_g(K, gamma, eps, topo):
    if topo == "exponential":
        return gamma * (K + eps)
    return gamma * np.log(K + eps)


def _node_grid(rule):
    return "clu" if rule.startswith("clu") else "deg"


def _pair_rule_factor(P, iu, rule, gamma, eps, topo, closure):
    """log ḡ and P(K > 0) on the upper-triangle pairs for neighbors/matching."""
    k = P.sum(axis=1)
    mu = (P @ P)[iu]
    p = P[iu]
    if closure == "mean":
        if rule == "neighbors":
            K = mu
        else:
            den = k[iu[0]] + k[iu[1]] - 2.0 * p
            K = np.divide(2.0 * mu, den, out=np.zeros_like(mu), where=den > 1e-12)
        lg = _log_g(K, gamma, eps, topo)
    else:
        cmax = int(math.ceil(mu.max() + 6.0 * math.sqrt(mu.max()) + 6.0))
        base = k[iu[0]] + k[iu[1]] - 2.0 * mu - 2.0 * p
        terms = []
        for cc in range(cmax + 1):
            with np.errstate(divide="ignore"):
                lp = -mu + cc * np.log(mu) - gammaln(cc + 1) if cc else -mu
            if rule == "neighbors":
                K = np.full_like(mu, float(cc))
            else:
                den = np.maximum(2.0 * cc + base, 2.0 * cc)
                K = np.divide(2.0 * cc, den, out=np.zeros_like(mu), where=den > 0)
            terms.append(lp + _log_g(K, gamma, eps, topo))
        T = np.vstack(terms)
        top = T.max(axis=0)
        lg = top + np.log(np.exp(T - top).sum(axis=0))
    active = -np.expm1(-mu)  # P(CN >= 1)
    return lg, active


def _node_values(P, rule, closure):
    """Per node: the value grid, its probabilities (n x G) -- or the mean value with closure='mean'."""
    k = P.sum(axis=1)
    if rule.startswith("deg"):
        if closure == "mean":
            return k, None, None
        kmax = int(math.ceil(k.max() + 6.0 * math.sqrt(k.max()) + 6.0))
        grid = np.arange(kmax + 1, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = -k[:, None] + grid[None, :] * np.log(k[:, None]) - gammaln(grid + 1)[None, :]
        lp[:, 0] = -k
        lp[k <= 0, 1:] = -np.inf
        H = np.exp(lp)
        return None, grid, H / H.sum(axis=1, keepdims=True)
    tri = np.einsum("ij,ji->i", P @ P, P)  # (P^3)_ii: twice the expected triangles
    wedges = k * k - np.einsum("ij,ij->i", P, P)  # twice the expected wedges
    if closure == "mean":
        return np.divide(tri, wedges, out=np.zeros_like(tri), where=wedges > 1e-12), None, None
    tau = tri / 2.0
    half_w = wedges / 2.0
    amax = int(math.ceil(tau.max() + 6.0 * math.sqrt(tau.max()) + 6.0))
    grid = np.linspace(0.0, 1.0, 65)
    H = np.zeros((P.shape[0], grid.size))
    rows = np.arange(P.shape[0])
    for a in range(amax + 1):
        with np.errstate(divide="ignore"):
            lp = -tau + a * np.log(tau) - gammaln(a + 1) if a else -tau
        prob = np.exp(lp)
        val = np.where(half_w > 1e-12, np.minimum(1.0, np.divide(a, half_w, out=np.zeros_like(tau),
                                                                  where=half_w > 1e-12)), 0.0)
        pos = val * (grid.size - 1)
        lo = np.minimum(np.floor(pos).astype(int), grid.size - 2)
        frac = pos - lo
        np.add.at(H, (rows, lo), prob * (1 - frac))  # linear binning keeps the mean value
        np.add.at(H, (rows, lo + 1), prob * frac)
    return None, grid, H / H.sum(axis=1, keepdims=True)


def _node_rule_factor(P, iu, rule, gamma, eps, topo, closure):
    how = rule.split("-")[1]
    f = _COMBINE[how]
    mean_vals, grid, H = _node_values(P, rule, closure)
    if closure == "mean":
        K = f(mean_vals[iu[0]], mean_vals[iu[1]])
        lg = _log_g(K, gamma, eps, topo)
    else:
        Kg = f(grid[:, None], grid[None, :])
        lgg = _log_g(Kg, gamma, eps, topo)
        shift = lgg.max()
        E = H @ np.exp(lgg - shift) @ H.T
        lg = np.log(np.maximum(E[iu], 1e-300)) + shift
    if grid is None:  # the Poisson probabilities of K = 0 are needed for the active fraction only
        _, grid, H = _node_values(P, rule, "poisson")
    Kg = f(grid[:, None], grid[None, :])
    zero = H @ (Kg <= 0).astype(float) @ H.T
    return lg, 1.0 - np.clip(zero[iu], 0.0, 1.0)


def _factor(P, iu, rule, gamma, eps, topo, closure):
    """log ḡ of the closure, P(K > 0) and the Poisson log E[g] of every upper-triangle pair."""
    fn = _pair_rule_factor if rule in ("neighbors", "matching") else _node_rule_factor
    lg, act = fn(P, iu, rule, gamma, eps, topo, closure)
    lp = lg if closure == "poisson" else fn(P, iu, rule, gamma, eps, topo, "poisson")[0]
    return lg, act, lp


def mean_field_pairs(D, m: int, rule: str, eta: float, gamma: float | None = None,
                     model_var=("powerlaw", "powerlaw"), *, epsilon: float = 1e-5, closure: str = "poisson",
                     n_steps: int = 48) -> MeanField:
    """Integrate the rate equation of a two-parameter rule: expected pair probabilities after ``m`` edges.

    Parameters
    ----------
    D : array_like, shape (n, n)
        Distances (as given to :func:`mesoscale.generative.generate`).
    m : int
        Edges.
    rule : str
        One of :data:`MEAN_FIELD_RULES`.
    eta, gamma : float
        Distance and topology parameters (``gamma`` may be None for ``sptl``).
    model_var : str or (str, str)
        Forms of the distance and topology terms (``"powerlaw"``/``"exponential"``), as in ``generate``.
    epsilon : float
        Added to ``K`` (the engine's default 1e-5).
    closure : {"poisson", "mean"}
        How the topological factor is obtained from ``p`` (module docstring).
    n_steps : int
        Slices of edges (the solution is exact for ``gamma = 0`` with any number).

    Returns
    -------
    MeanField

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 30); D = np.abs(np.subtract.outer(x, x))
    >>> a = mean_field_pairs(D, 60, "clu-avg", -8.0, 0.5, n_steps=16)
    >>> round(float(np.triu(a.P, 1).sum()), 6), a.closure
    (60.0, 'poisson')
    """
    D, m, eta = check_kernel_args(D, m, eta, "powerlaw")
    check_choice(rule, "rule", MEAN_FIELD_RULES)
    if isinstance(model_var, str):
        model_var = (model_var, model_var)
    if not isinstance(model_var, (tuple, list)) or len(model_var) != 2:
        raise ValueError(f"'model_var' must be a pair of 'powerlaw'/'exponential'; got {model_var!r}")
    dist, topo = (check_choice(v, "model_var", ("powerlaw", "exponential")) for v in model_var)
    if gamma is None:
        if rule != "sptl":
            raise ValueError(f"'gamma' is required for rule {rule!r}")
        gamma = 0.0
    gamma = check_float(gamma, "gamma")
    epsilon = check_float(epsilon, "epsilon", minimum=0.0)
    check_choice(closure, "closure", CLOSURES)
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    n = D.shape[0]
    logw, iu = log_weights(D, eta, dist)
    topological = rule != "sptl"
    p = np.zeros_like(logw)
    active = 0.0
    # slices grow quadratically: the topological factor changes fastest in the first few edges
    edges = float(m) * np.linspace(0.0, 1.0, n_steps + 1) ** 2 if topological else np.array([0.0, float(m)])
    g0 = float(_log_g(np.zeros(1), gamma, epsilon, topo)[0])
    for k in range(1, edges.size):
        step = edges[k] - edges[k - 1]
        q = 1.0 - p
        if not topological:
            p = p + saturating_step(logw, step, q)
            continue
        lg0, act0, lp0 = _factor(square(p, iu, n), iu, rule, gamma, epsilon, topo, closure)
        pred = p + saturating_step(logw + lg0, step, q)
        lg1, act1, lp1 = _factor(square(pred, iu, n), iu, rule, gamma, epsilon, topo, closure)
        inc = saturating_step(logw + 0.5 * (lg0 + lg1), step, q)
        # the share of this slice's edges placed on pairs with K > 0: the rate mass of those states,
        # 1 - P(K = 0) g(0) / E[g] with the Poisson E[g] (whatever the closure of the dynamics)
        share = np.clip(1.0 - (1.0 - 0.5 * (act0 + act1)) * np.exp(g0 - 0.5 * (lp0 + lp1)), 0.0, 1.0)
        active += float(np.dot(inc, share))
        p = np.minimum(p + inc, 1.0)
    P = square(p, iu, n)
    ell = float(np.dot(p, D[iu]) / p.sum())
    return MeanField(P=P, rule=rule, eta=eta, gamma=gamma, closure=closure, n_steps=n_steps, epsilon=epsilon,
                     active_fraction=active / m if topological else 0.0, mean_edge_length=ell)


def predict_modules_homophily(D, m: int, rule: str, eta: float, gamma: float | None, positions,
                              model_var=("powerlaw", "powerlaw"), *, epsilon: float = 1e-5,
                              closure: str = "poisson", n_steps: int = 48, max_cells: int | None = None):
    """:func:`~mesoscale.theory.predict_modules` for a two-parameter rule, on its mean-field kernel.

    Returns
    -------
    (EmergencePrediction, MeanField)

    Examples
    --------
    >>> from mesoscale.metrics import distance_matrix
    >>> from mesoscale.theory import domain_points, predict_modules
    >>> X = domain_points(150, 2); D = distance_matrix(X)
    >>> pred, mf = predict_modules_homophily(D, 450, "matching", -2.0, 1.0, X)
    >>> bool(pred.q_cells > predict_modules(D, 450, -2.0, X).q_cells)
    True
    """
    from .conditions import predict_from_pairs

    mf = mean_field_pairs(D, m, rule, eta, gamma, model_var, epsilon=epsilon, closure=closure, n_steps=n_steps)
    dist = model_var if isinstance(model_var, str) else model_var[0]
    return predict_from_pairs(D, mf.P, positions, max_cells=max_cells, eta=eta, model_var=dist), mf
