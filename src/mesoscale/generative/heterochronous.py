"""Heterochronous generative network models: wiring probabilities that change with developmental time.

A pair ``(i, j)`` is wired with probability proportional to the wiring rule's
``f(D_ij; eta) * g(K_ij; gamma)`` (:func:`~mesoscale.generative.generate`) times a
developmental term of the time ``t`` (Oldham et al. 2022; the PyTorch GNM toolbox)::

    H_ij(t) ** lam          (h_var = "powerlaw")
    exp(lam * H_ij(t))      (h_var = "exponential")

``H`` is piecewise constant over ``S`` stages of the growth: stage ``s`` adds edges until the
network holds ``stage_edges[s]`` (by default the added edges are split evenly). The model runs
on the staged numba engine of :func:`~mesoscale.generative.grow` unchanged: the stage feature is
``eta * log D + lam * log H_s`` (powerlaw; ``eta * D + lam * H_s`` for an exponential distance
term, ``lam * H_s`` for the exponential ``H`` form) with the engine's distance exponent set to 1.

Special cases (tested):

* ``lam = 0`` is the plain model: the term is 1 (also where ``H = 0``) and the growth is the
  single-stage growth of :func:`~mesoscale.generative.generate`, network for network.
* The birth-order growth of :func:`~mesoscale.generative.grow` is the powerlaw form with
  ``H_ij(s) = 1`` when both nodes are born by stage ``s`` and 0 otherwise, at any ``lam > 0``
  (``0 ** lam = 0``: pairs with an unborn node cannot connect; ``1 ** lam = 1``): the same law.
  With the exponential form, ``exp(lam * H)`` favours born pairs by ``e ** lam`` and tends to
  the birth-order growth as ``lam`` grows, the plain model at ``lam = 0``.

Built-in gradients: :func:`wave_gradient` (a front travelling across the nodes from an origin
along an axis, e.g. anterior to posterior in the worm), :func:`birth_gradient` (the nodes'
birth order). :func:`wiring_front` measures where the edges of each phase of the growth lie.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .._validation import SeedLike, check_choice, check_distance, check_float, check_int, check_matrix
from ._engine import check_model_var, check_params, check_seed_network, distance_feature, run_engine
from ._kernels import WIRING_RULES

__all__ = [
    "H_VARS",
    "wave_gradient",
    "birth_gradient",
    "stage_schedule",
    "heterochronous_features",
    "generate_heterochronous",
    "wiring_front",
    "HeterochronousModel",
]

H_VARS = ("powerlaw", "exponential")
PAIR_RULES = ("product", "max")


def _pairs(h, combine):
    """(S, n) node values -> (S, n, n) pair values, zero diagonal."""
    H = h[:, :, None] * h[:, None, :] if combine == "product" else np.maximum(h[:, :, None], h[:, None, :])
    idx = np.arange(h.shape[1])
    H[:, idx, idx] = 0.0
    return H


def wave_gradient(positions, n_stages: int, *, axis: int | None = 1, origin=None, width: float = 0.15,
                  reverse: bool = False, combine: str = "product", cumulative: bool = False) -> np.ndarray:
    """A developmental wave: a Gaussian front that crosses the nodes from an origin over ``n_stages``.

    Each node gets a coordinate ``u`` in ``[0, 1]``: its position along ``axis`` (scaled to the
    nodes' extent; ``reverse`` runs the wave from the largest coordinate) or, with ``origin``
    (a point), its distance from that point over the largest such distance. In stage ``s`` the
    front sits at ``mu_s = s / (S - 1)`` and node ``i`` has ``h_i = exp(-(u_i - mu_s)^2 / (2
    width^2))``, in ``(0, 1]``; a pair has ``h_i h_j`` (``combine="product"``: both nodes must be
    reached) or ``max(h_i, h_j)`` (``"max"``: either). ``cumulative`` keeps a node's largest value
    so far (once reached, always ready).

    Returns
    -------
    ndarray, shape (S, n, n)
        ``H`` with a zero diagonal, positive off it.

    Examples
    --------
    >>> P = np.c_[np.zeros(5), np.arange(5.0), np.zeros(5)]
    >>> H = wave_gradient(P, 3, axis=1, width=0.2)
    >>> H.shape, int(H[0, 0, 1] > H[0, 3, 4]), int(H[2, 3, 4] > H[2, 0, 1])
    ((3, 5, 5), 1, 1)
    """
    P = check_matrix(positions, "positions", square=False)
    S = check_int(n_stages, "n_stages", minimum=1)
    width = check_float(width, "width")
    if width <= 0:
        raise ValueError(f"'width' must be > 0; got {width}")
    combine = check_choice(combine, "combine", PAIR_RULES)
    if origin is not None:
        o = np.asarray(origin, dtype=float).ravel()
        if o.shape != (P.shape[1],) or not np.all(np.isfinite(o)):
            raise ValueError(f"'origin' must be a finite point with {P.shape[1]} coordinates; got {origin!r}")
        x = np.linalg.norm(P - o, axis=1)
        x = x / x.max() if x.max() > 0 else x
    else:
        axis = check_int(axis, "axis", minimum=0, maximum=P.shape[1] - 1)
        x = P[:, axis] - P[:, axis].min()
        x = x / x.max() if x.max() > 0 else x
    if reverse:
        x = 1.0 - x
    mu = np.linspace(0.0, 1.0, S) if S > 1 else np.zeros(1)
    h = np.exp(-((x[None, :] - mu[:, None]) ** 2) / (2.0 * width**2))
    if cumulative:
        h = np.maximum.accumulate(h, axis=0)
    return _pairs(h, combine)


def birth_gradient(n_stages: int, *, birth_stage=None, birth_order=None) -> np.ndarray:
    """``H_ij(s) = 1`` when nodes ``i`` and ``j`` are both born by stage ``s``, else 0.

    Give each node's ``birth_stage`` (0-based; ``>= n_stages`` never born), or a ``birth_order``
    (all nodes, earliest first) that is cut into ``n_stages`` groups of equal size, as
    :func:`~mesoscale.generative.development.development_schedule` does.

    Examples
    --------
    >>> H = birth_gradient(2, birth_stage=[0, 0, 1])
    >>> H[0].tolist(), H[1].tolist()
    ([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    >>> float(birth_gradient(2, birth_order=[2, 0, 1, 3])[0, 0, 2])
    1.0
    """
    S = check_int(n_stages, "n_stages", minimum=1)
    if (birth_stage is None) == (birth_order is None):
        raise ValueError("give exactly one of 'birth_stage' and 'birth_order'")
    if birth_order is not None:
        order = np.asarray(birth_order)
        n = order.size
        if order.ndim != 1 or not np.issubdtype(order.dtype, np.integer) or sorted(order.tolist()) != list(range(n)):
            raise ValueError(f"'birth_order' must be a permutation of the {n} node indices")
        b = np.empty(n, np.int64)
        b[order] = np.arange(n) * S // n
    else:
        b = np.asarray(birth_stage)
        if b.ndim != 1 or not np.issubdtype(b.dtype, np.integer) or (b.size and b.min() < 0):
            raise ValueError(f"'birth_stage' must be a 1-D array of non-negative stage indices; got {birth_stage!r}")
    born = (b[None, :] <= np.arange(S)[:, None]).astype(float)
    return _pairs(born, "product")


def stage_schedule(m: int, n_stages: int, m_seed: int = 0) -> np.ndarray:
    """Edges at the end of each of ``n_stages`` stages when the added edges are split evenly.

    Examples
    --------
    >>> stage_schedule(10, 4).tolist()
    [2, 5, 7, 10]
    """
    S = check_int(n_stages, "n_stages", minimum=1)
    m = check_int(m, "m", minimum=0)
    steps = m - check_int(m_seed, "m_seed", minimum=0, maximum=m)
    return (m_seed + np.floor((np.arange(1, S + 1) * steps) / S + 1e-9)).astype(np.int64)


def _resolve_H(H, n, n_stages):
    """H as a (S, n, n) float array from an array or a callable of the stage's time in [0, 1)."""
    if callable(H):
        if n_stages is None:
            raise ValueError("a callable 'H' needs 'n_stages'")
        S = check_int(n_stages, "n_stages", minimum=1)
        Hs = np.stack([np.asarray(H(s / S), dtype=float) for s in range(S)])
    else:
        Hs = np.asarray(H, dtype=float)
        if Hs.ndim == 2:
            Hs = Hs[None]
        if n_stages is not None and Hs.shape[0] != check_int(n_stages, "n_stages", minimum=1):
            raise ValueError(f"'H' has {Hs.shape[0]} stages but 'n_stages' is {n_stages}")
    if Hs.ndim != 3 or Hs.shape[1:] != (n, n):
        raise ValueError(f"'H' must have shape (S, {n}, {n}) (one matrix per stage); got {Hs.shape}")
    if not np.all(np.isfinite(Hs)) or np.any(Hs < 0):
        s = int(np.flatnonzero((~(np.isfinite(Hs) & (Hs >= 0))).any(axis=(1, 2)))[0])
        raise ValueError(f"'H' must be finite and non-negative; stage {s} is not")
    if not np.allclose(Hs, np.swapaxes(Hs, 1, 2)):
        s = int(np.flatnonzero(~np.isclose(Hs, np.swapaxes(Hs, 1, 2)).all(axis=(1, 2)))[0])
        raise ValueError(f"'H' must be symmetric; stage {s} is not")
    return Hs


def heterochronous_features(D, H, eta: float, lam: float, *, dist_var: str = "powerlaw",
                            h_var: str = "powerlaw") -> np.ndarray:
    """Stage features ``eta * f(D) + lam * h(H_s)`` for the engine (distance exponent set to 1).

    ``f(D)`` is ``log D`` (powerlaw, zero distances floored as in ``generate``) or ``D``;
    ``h(H)`` is ``log H`` (``-inf`` where ``H = 0``) or ``H``. With ``lam = 0`` the result is
    the single matrix ``eta * f(D)`` (shape (1, n, n)).

    Examples
    --------
    >>> D = np.array([[0, 2.0], [2.0, 0]]); H = np.array([[[0, 0.5], [0.5, 0]]])
    >>> bool(np.isclose(heterochronous_features(D, H, -1.0, 2.0)[0, 0, 1], -np.log(2) + 2 * np.log(0.5)))
    True
    """
    Dm = check_distance(D, name="D")
    eta = check_float(eta, "eta")
    lam = check_float(lam, "lam")
    h_var = check_choice(h_var, "h_var", H_VARS)
    base = eta * distance_feature(Dm, dist_var)
    if lam == 0.0:
        return base[None]
    Hs = _resolve_H(H, Dm.shape[0], None)
    if h_var == "powerlaw":
        if lam < 0 and np.any(Hs[:, ~np.eye(Dm.shape[0], dtype=bool)] == 0):
            raise ValueError(f"'H' has zeros off the diagonal, where H ** lam is infinite for lam = {lam} < 0")
        with np.errstate(divide="ignore"):
            h = np.log(Hs)
    else:
        h = Hs
    X = base[None] + lam * h
    idx = np.arange(Dm.shape[0])
    X[:, idx, idx] = 0.0
    return np.ascontiguousarray(X)


def _check_live(X, stage_end, lam):
    """Every stage must offer at least as many live pairs as edges it must hold (-inf pairs are dead)."""
    for s in range(X.shape[0]):
        live = int(np.isfinite(np.triu(X[s], 1)[np.triu_indices(X.shape[1], 1)]).sum())
        if live < stage_end[s]:
            raise ValueError(
                f"stage {s} must hold {int(stage_end[s])} edges but H ** lam (lam={lam:g}) allows only {live} pairs; "
                "give H fewer zeros or stage_edges fewer edges early on"
            )


def generate_heterochronous(
    D: ArrayLike,
    m: int,
    rule: str,
    eta: float | ArrayLike,
    gamma: float | ArrayLike | None = None,
    lam: float | ArrayLike = 0.0,
    H: ArrayLike | Callable | None = None,
    *,
    h_var: str = "powerlaw",
    n_stages: int | None = None,
    stage_edges: ArrayLike | None = None,
    model_var: str | Sequence[str] = ("powerlaw", "powerlaw"),
    seed_network: ArrayLike | None = None,
    epsilon: float = 1e-5,
    n_networks: int = 1,
    seed: SeedLike = None,
    return_order: bool = False,
    n_jobs: int | None = 1,
    progress: bool | None = None,
):
    """Grow networks whose wiring probability carries a developmental term ``H(t) ** lam``.

    Parameters
    ----------
    D, m, rule, eta, gamma, model_var, seed_network, epsilon, n_networks, seed, return_order, n_jobs, progress
        As in :func:`~mesoscale.generative.generate` (network ``b`` has the stream it has there).
    lam : float or array_like
        Strength of the developmental term; a scalar or one value per parameter point
        (broadcast with ``eta`` and ``gamma``).
    H : array_like (S, n, n) or callable
        The gradient, one symmetric non-negative matrix per stage (:func:`wave_gradient`,
        :func:`birth_gradient`), or ``H(t)`` evaluated at ``t = s / n_stages``. With ``S`` equal
        to the number of added edges it is a gradient per step. Not needed when every ``lam`` is 0.
    h_var : {"powerlaw", "exponential"}
        ``H ** lam`` or ``exp(lam * H)``.
    n_stages : int, optional
        Stages of a callable ``H``.
    stage_edges : array_like of int, shape (S,), optional
        Edges the network holds at the end of each stage (non-decreasing, ending at ``m``);
        default :func:`stage_schedule` (even split).

    Returns
    -------
    networks : ndarray of bool, shape (B, n, n)
    order : ndarray of int32, shape (B, m - m_seed, 2)
        Only with ``return_order``.

    Examples
    --------
    >>> P = np.c_[np.linspace(0, 1, 30), np.random.default_rng(0).random(30), np.zeros(30)]
    >>> D = np.linalg.norm(P[:, None] - P[None], axis=-1)
    >>> H = wave_gradient(P, 5, axis=0)
    >>> nets, order = generate_heterochronous(D, 40, "matching", -2.0, 0.3, lam=[0.0, 4.0], H=H, seed=0,
    ...                                       return_order=True)
    >>> from mesoscale.generative import generate
    >>> nets.shape, bool(np.array_equal(nets[0], generate(D, 40, "matching", -2.0, 0.3, seed=0)[0]))  # lam = 0
    ((2, 30, 30), True)
    """
    Dm = check_distance(D, name="D")
    n = Dm.shape[0]
    rule = check_choice(rule, "rule", WIRING_RULES)
    dist_var, top_var = check_model_var(model_var)
    h_var = check_choice(h_var, "h_var", H_VARS)
    etas, gammas = check_params(eta, gamma, rule)
    lams = np.atleast_1d(np.asarray(lam, dtype=float))
    if lams.ndim != 1 or not np.all(np.isfinite(lams)):
        raise ValueError(f"'lam' must be finite: a scalar or a 1-D array; got {lam!r}")
    P = max(etas.size, lams.size)
    for name, v in (("eta", etas), ("gamma", gammas), ("lam", lams)):
        if v.size not in (1, P):
            raise ValueError(f"'{name}' must be a scalar or hold one value per point ({P}); got {v.size}")
    eps = check_float(epsilon, "epsilon")
    if eps <= 0:
        raise ValueError(f"'epsilon' must be > 0; got {eps}")
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    A0 = check_seed_network(seed_network, n)
    m_seed = int(A0.sum()) // 2
    m = check_int(m, "m", minimum=m_seed, maximum=n * (n - 1) // 2)
    Hs = None
    if np.any(lams != 0):
        if H is None:
            raise ValueError("'H' is required when 'lam' is not 0")
        Hs = _resolve_H(H, n, n_stages)
        S = Hs.shape[0]
        if stage_edges is None:
            ends = stage_schedule(m, S, m_seed)
        else:
            ends = np.asarray(stage_edges)
            if ends.shape != (S,) or not np.issubdtype(ends.dtype, np.integer):
                raise ValueError(f"'stage_edges' must hold one edge count per stage of 'H' ({S}); got {stage_edges!r}")
            if np.any(np.diff(ends) < 0) or ends[0] < m_seed or ends[-1] != m:
                raise ValueError(f"'stage_edges' must be non-decreasing from the seed's {m_seed} edges to m={m}")
    etas = np.repeat(np.broadcast_to(etas, (P,)), n_networks)
    gammas = np.repeat(np.broadcast_to(gammas, (P,)), n_networks)
    lams = np.repeat(np.broadcast_to(lams, (P,)), n_networks)
    nets, order = _grow_groups(A0, Dm, Hs, None if Hs is None else ends, rule, etas, gammas, lams, dist_var, h_var,
                              top_var == "exponential", eps, seed, m - m_seed, n_jobs, progress)
    return (nets, order) if return_order else nets


def _grow_groups(A0, Dm, Hs, ends, rule, etas, gammas, lams, dist_var, h_var, kexp, eps, seed, steps, n_jobs,
                progress):
    """Grow a batch, one engine call per run of networks sharing ``(eta, lam)`` (their stage features)."""
    from ._engine import network_streams

    B = etas.size
    n = A0.shape[0]
    streams = network_streams(seed, B)
    nets = np.zeros((B, n, n), bool)
    order = np.full((B, steps, 2), -1, np.int32)
    lo = 0
    while lo < B:
        hi = lo + 1
        while hi < B and etas[hi] == etas[lo] and lams[hi] == lams[lo]:
            hi += 1
        if lams[lo] == 0.0:  # the plain model: one stage, eta in the engine as generate() does
            X = distance_feature(Dm, dist_var)[None]
            e, sx, se = etas[lo:hi], np.zeros(1, np.int64), np.array([steps + int(A0.sum()) // 2], np.int64)
        else:
            X = heterochronous_features(Dm, Hs, etas[lo], lams[lo], dist_var=dist_var, h_var=h_var)
            _check_live(X, ends, lams[lo])
            e, sx, se = np.ones(hi - lo), np.arange(X.shape[0], dtype=np.int64), ends.astype(np.int64)
        nets[lo:hi], order[lo:hi] = run_engine(A0, X, sx, se, np.zeros(n, np.int64), rule, e, gammas[lo:hi], eps,
                                               kexp, streams[lo:hi], steps, n_jobs, progress, "heterochronous")
        lo = hi
    return nets, order


def wiring_front(order, positions, *, axis: int = 1, n_bins: int = 10) -> pd.DataFrame:
    """Where the edges of each phase of the growth lie along an axis (the wave's signature).

    The added edges are cut into ``n_bins`` consecutive phases of the growth; for each phase the
    table gives the mean position, along ``axis``, of the edges' midpoints, scaled so that the
    nodes span ``[0, 1]`` (mean and standard deviation over the networks).

    Examples
    --------
    >>> order = np.array([[[0, 1], [1, 2], [2, 3], [3, 4]]])
    >>> P = np.c_[np.zeros(5), np.arange(5.0)]
    >>> wiring_front(order, P, n_bins=2)["position"].round(3).tolist()
    [0.25, 0.75]
    """
    O = np.asarray(order)
    O = O[None] if O.ndim == 2 else O
    P = check_matrix(positions, "positions", square=False)
    axis = check_int(axis, "axis", minimum=0, maximum=P.shape[1] - 1)
    n_bins = check_int(n_bins, "n_bins", minimum=1)
    if O.ndim != 3 or O.shape[2] != 2 or O.shape[1] < n_bins:
        raise ValueError(f"'order' must have shape (B, T, 2) with T >= n_bins={n_bins}; got {np.shape(order)}")
    x = P[:, axis] - P[:, axis].min()
    x = x / x.max() if x.max() > 0 else x
    mid = 0.5 * (x[O[:, :, 0]] + x[O[:, :, 1]])  # (B, T)
    bins = np.minimum((np.arange(O.shape[1]) * n_bins) // O.shape[1], n_bins - 1)
    per = np.stack([mid[:, bins == k].mean(axis=1) for k in range(n_bins)], axis=1)
    return pd.DataFrame({"phase": (np.arange(n_bins) + 0.5) / n_bins, "position": per.mean(axis=0),
                         "sd": per.std(axis=0), "n_networks": O.shape[0]})


@dataclasses.dataclass(frozen=True, eq=False)
class HeterochronousModel:
    """The heterochronous GNM as a model for :func:`~mesoscale.generative.fit`: ``lam`` joins the search.

    Parameters
    ----------
    H : array_like, shape (S, n, n)
        The gradient (:func:`wave_gradient`, :func:`birth_gradient`).
    h_var : {"powerlaw", "exponential"}
        ``H ** lam`` or ``exp(lam * H)``.
    lam_range : (float, float)
        Search interval of ``lam`` (``lam = 0`` is the plain model).
    stage_edges : array_like of int, optional
        As in :func:`generate_heterochronous`.

    Examples
    --------
    >>> HeterochronousModel(birth_gradient(2, birth_stage=[0, 0, 1]), "exponential", (0.0, 8.0)).extra_ranges
    {'lam': (0.0, 8.0)}
    """

    H: np.ndarray
    h_var: str = "exponential"
    lam_range: tuple = (0.0, 8.0)
    stage_edges: tuple | None = None

    def __post_init__(self):
        object.__setattr__(self, "H", _resolve_H(self.H, np.shape(self.H)[-1], None))
        check_choice(self.h_var, "h_var", H_VARS)
        r = self.lam_range
        if np.ndim(r) != 1 or len(r) != 2 or not check_float(r[0], "lam_range") < check_float(r[1], "lam_range"):
            raise ValueError(f"'lam_range' must be a pair (low, high) with low < high; got {r!r}")

    def __repr__(self):
        S, n = self.H.shape[:2]
        return (f"HeterochronousModel(H=<{S} stages x {n} nodes>, h_var={self.h_var!r}, lam_range={self.lam_range!r}, "
                f"stage_edges={'even' if self.stage_edges is None else list(self.stage_edges)})")

    @property
    def extra_ranges(self) -> dict:
        """The extra parameter of the search and its interval."""
        return {"lam": tuple(float(x) for x in self.lam_range)}

    @property
    def weighted(self) -> bool:
        """The model's networks are binary."""
        return False

    def grow(self, D, m, rule, etas, gammas, extras, streams, *, model_var, seed_network, epsilon, n_jobs=1):
        """Networks of a batch (one per entry of ``etas`` and ``streams``); no weights."""
        A0 = seed_network
        m_seed = int(A0.sum()) // 2
        ends = stage_schedule(m, self.H.shape[0], m_seed) if self.stage_edges is None else np.asarray(
            self.stage_edges, np.int64)
        nets, _ = _grow_groups(A0, D, self.H, ends, rule, etas, gammas, np.asarray(extras["lam"], float),
                              model_var[0], self.h_var, model_var[1] == "exponential", epsilon, streams,
                              m - m_seed, n_jobs, False)
        return nets, None
