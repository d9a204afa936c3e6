"""Energy floors: how low a fit's energy can be expected to go, and which fits are misfits.

The energy of Betzel et al. (2016) is the largest of four two-sample Kolmogorov–Smirnov
statistics, so it is never 0 between two different networks, even when both come from the
same process. Three yardsticks tell what "a low energy" means at a dataset's size:

:func:`ks_critical_value`
    The asymptotic two-sample KS critical value ``c(alpha) * sqrt((n1 + n2) / (n1 n2))``,
    ``c(alpha) = sqrt(-ln(alpha / 2) / 2)``, at the node count (degree, clustering,
    betweenness) and the edge count (edge lengths). It treats the samples as independent,
    which node statistics of one network are not: a scale, not a test.
:func:`self_energy_floor`
    The energies between pairs of independent realisations of one model: the energy a
    *perfect* fit of that model would have against the real network.
:func:`pair_floor`
    The energy between two real networks that should be alike (two adult worms, the left
    and right larval mushroom body): the variability of the biology and the reconstruction.
:func:`floor_table`
    Per dataset, whether its fitted energy lies within a floor (at most the floor's upper
    quantile) or is a misfit, with the KS critical values at its size.

Examples
--------
>>> round(float(ks_critical_value(68, 68)), 4)
0.2329
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._validation import SeedLike, check_adjacency, check_distance, check_float, check_int
from ..metrics import KS_COLUMNS, ks_energy, ks_statistic, network_statistics
from ..metrics.energy import BETWEENNESS_RTOL
from .models import generate

__all__ = ["ks_critical_value", "self_energy_floor", "pair_floor", "floor_table", "FLOOR_COLUMNS"]

#: Columns of :func:`floor_table`.
FLOOR_COLUMNS = [
    "dataset", "floor", "energy", "floor_median", "floor_upper", "n_floor", "excess", "within_floor", "verdict",
    "n_nodes", "n_edges", "ks_crit_nodes", "ks_crit_edges", "below_ks_crit",
]


def ks_critical_value(n1, n2, alpha: float = 0.05):
    """Asymptotic two-sample Kolmogorov–Smirnov critical value at level ``alpha``.

    ``c(alpha) * sqrt((n1 + n2) / (n1 * n2))`` with ``c(alpha) = sqrt(-ln(alpha / 2) / 2)``
    (the first term of the Kolmogorov distribution): two independent samples of sizes
    ``n1`` and ``n2`` from one distribution exceed it with probability about ``alpha``.

    Parameters
    ----------
    n1, n2 : int or array_like of int
        Sample sizes (>= 1), broadcast against each other.
    alpha : float
        Level, in (0, 1).

    Returns
    -------
    float or ndarray
        A float for scalar sizes, else an array of the broadcast shape.

    Examples
    --------
    >>> round(float(ks_critical_value(100, 100)), 4)
    0.1921
    >>> ks_critical_value([68, 588], 588, alpha=0.01).round(4).tolist()
    [0.2085, 0.0949]
    """
    a = np.asarray(n1)
    b = np.asarray(n2)
    for name, v in (("n1", a), ("n2", b)):
        if v.dtype.kind not in "iuf" or v.size == 0 or not np.all(np.isfinite(v)) or np.any(v < 1) \
                or np.any(v != np.round(v)):
            raise ValueError(f"'{name}' must hold whole numbers >= 1; got {v.tolist()!r}")
    alpha = check_float(alpha, "alpha")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"'alpha' must lie in (0, 1); got {alpha}")
    a, b = np.broadcast_arrays(a.astype(float), b.astype(float))
    out = np.sqrt(-np.log(alpha / 2.0) / 2.0) * np.sqrt((a + b) / (a * b))
    return float(out) if out.ndim == 0 else out


def self_energy_floor(D, m: int, rule: str, eta: float, gamma: float | None = None, *, n_networks: int = 100,
                      model_var=("powerlaw", "powerlaw"), seed_network=None, epsilon: float = 1e-5,
                      seed: SeedLike = None, progress: bool = False) -> np.ndarray:
    """Energies between pairs of independent realisations of one generative model.

    ``n_networks`` networks are grown with :func:`~mesoscale.generative.generate` (each
    with its own stream); network ``2i + 1`` is scored against network ``2i`` as the target
    (:func:`mesoscale.metrics.ks_energy`; the KS statistics are symmetric, so the roles do
    not matter). The pairs are independent, so the rows are a sample of the energy that a
    model has against itself -- the floor under any fit of that model.

    Parameters
    ----------
    D : array_like, shape (n, n)
        Distances.
    m : int
        Edges of every network.
    rule, eta, gamma, model_var, seed_network, epsilon
        The model, as in :func:`~mesoscale.generative.generate` (``gamma`` ignored by sptl).
    n_networks : int
        Networks grown (even, >= 2); ``n_networks // 2`` pairs.
    seed : int, SeedSequence or Generator, optional
    progress : bool
        Show the growth progress bar of :func:`~mesoscale.generative.generate`.

    Returns
    -------
    ndarray, shape (n_networks // 2, 5)
        One row per pair, columns :data:`mesoscale.metrics.KS_COLUMNS` (the energy last).

    Examples
    --------
    >>> xy = np.random.default_rng(0).random((30, 2))
    >>> D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> F = self_energy_floor(D, 60, "sptl", -2.0, n_networks=10, seed=0)
    >>> F.shape, bool(np.all((F[:, 4] > 0) & (F[:, 4] < 1)))
    ((5, 5), True)
    """
    n_networks = check_int(n_networks, "n_networks", minimum=2)
    if n_networks % 2:
        raise ValueError(f"'n_networks' must be even (pairs of networks); got {n_networks}")
    nets = generate(D, m, rule, eta, gamma, model_var=model_var, seed_network=seed_network, epsilon=epsilon,
                    n_networks=n_networks, seed=seed, progress=bool(progress))
    Dm = np.asarray(D, float)
    return np.concatenate([ks_energy(nets[i + 1], nets[i], Dm) for i in range(0, n_networks, 2)])


def _energy_between(A, Da, B, Db):
    """KS statistics of ``B`` against ``A`` from their own samples (any two sizes)."""
    sa, sb = network_statistics(A, Da), network_statistics(B, Db)
    ks = [
        ks_statistic(sa["degree"][0], sb["degree"][0]),
        ks_statistic(sa["clustering"][0], sb["clustering"][0]),
        ks_statistic(sa["betweenness"][0], sb["betweenness"][0], rtol=BETWEENNESS_RTOL),
        ks_statistic(sa["edge_length"][0], sb["edge_length"][0]),
    ]
    return np.array(ks + [max(ks)])


def _as_network(x, name, D, Dname):
    """(binary adjacency, distances, label) of a Connectome or an adjacency matrix."""
    from ..connectomes import constant_distances

    if hasattr(x, "binary") and hasattr(x, "labels"):
        A = x.binary()
        label = x.name
        if D is None:
            D = x.distances() if x.positions is not None else constant_distances(A.shape[0])
    else:
        A = check_adjacency(x, name, binary=True)
        label = name
        if D is None:
            D = constant_distances(A.shape[0])
    return (A != 0).astype(np.uint8), check_distance(D, A.shape[0], name=Dname), label


def pair_floor(a, b, D_a=None, D_b=None, *, align: bool = True) -> pd.Series:
    """The energy between two real networks that should be alike.

    Parameters
    ----------
    a, b : Connectome or array_like
        Two networks (:meth:`Connectome.binary` of a connectome; any non-zero entry of a
        matrix is an edge; symmetric). Two connectomes with positions are first put on
        their common neurons with :func:`mesoscale.connectomes.align_connectomes` (their
        distances from the shared positions), unless ``align=False``.
    D_a, D_b : array_like, optional
        Distances of ``a`` and ``b`` (default: from the positions, else constant, so that
        edge lengths do not count). ``D_b`` defaults to ``D_a`` when the sizes agree.
    align : bool
        Align two connectomes with positions on their common neurons.

    Returns
    -------
    pandas.Series
        :data:`~mesoscale.metrics.KS_COLUMNS` (the energy of ``b`` against ``a``; the KS
        statistics are symmetric) and ``n_a, n_b, m_a, m_b`` (nodes and edges compared).
        The name is ``"<a> vs <b>"``.

    Notes
    -----
    The KS statistics compare distributions, so the two networks need not share nodes:
    networks of different sizes (e.g. the left and right larval mushroom body, 209 and
    213 cells) are compared through their own samples, each with its own distances.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A = np.triu(rng.random((20, 20)) < 0.2, 1); A = (A | A.T).astype(int)
    >>> float(pair_floor(A, A)["energy"])
    0.0
    >>> B = np.triu(rng.random((25, 25)) < 0.2, 1); B = (B | B.T).astype(int)
    >>> s = pair_floor(A, B); (int(s["n_a"]), int(s["n_b"])), bool(0 < s["energy"] < 1)
    ((20, 25), True)
    """
    if not isinstance(align, bool):
        raise TypeError(f"'align' must be True or False; got {align!r}")
    both = all(hasattr(x, "binary") and hasattr(x, "labels") for x in (a, b))
    if align and both and a.positions is not None and b.positions is not None and D_a is None and D_b is None:
        from ..connectomes import align_connectomes

        A, B, D, _ = align_connectomes(a, b)
        A, B = (A != 0).astype(np.uint8), (B != 0).astype(np.uint8)
        Da = Db = D
        la, lb = a.name, b.name
    else:
        A, Da, la = _as_network(a, "a", D_a, "D_a")
        b_conn = hasattr(b, "binary") and hasattr(b, "labels")
        n_b = b.n if b_conn else np.shape(b)[0] if np.ndim(b) == 2 else -1
        if D_b is None and n_b == A.shape[0] and not (b_conn and b.positions is not None):
            D_b = Da  # same size, no distances of its own: the same distances
        B, Db, lb = _as_network(b, "b", D_b, "D_b")
    if A.shape == B.shape and np.array_equal(Da, Db):
        E = ks_energy(B, A, Da)[0]
    else:
        E = _energy_between(A, Da, B, Db)
    out = dict(zip(KS_COLUMNS, map(float, E)))
    out.update(n_a=A.shape[0], n_b=B.shape[0], m_a=int(A.sum()) // 2, m_b=int(B.sum()) // 2)
    return pd.Series(out, name=f"{la} vs {lb}")


def _floor_energies(x, where):
    arr = np.asarray(x, float)
    if arr.ndim == 2 and arr.shape[1] == len(KS_COLUMNS):
        arr = arr[:, -1]
    elif isinstance(x, pd.Series) and "energy" in x.index:
        arr = np.array([float(x["energy"])])
    arr = np.atleast_1d(arr).ravel()
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
        raise ValueError(f"'floors' {where} must hold energies in [0, 1]; got {arr[:5].tolist()!r}")
    return arr


def _size(v, name):
    if isinstance(v, (tuple, list)) and len(v) == 2:
        n, m = check_int(v[0], f"sizes[{name!r}][0]", minimum=1), check_int(v[1], f"sizes[{name!r}][1]", minimum=1)
        return n, m
    A = check_adjacency(v, f"sizes[{name!r}]", binary=True)
    return A.shape[0], max(1, int((A != 0).sum()) // 2)


def floor_table(best, floors, sizes, *, quantile: float = 0.95, alpha: float = 0.05,
                column: str = "energy_topk") -> pd.DataFrame:
    """Which fits are within an energy floor and which are misfits.

    A fit is *within the floor* when its energy is at most the ``quantile`` of the floor's
    energies (``floor_upper``): the model is then as close to the data as a perfect model
    (a self floor) or a second animal (a pair floor) would be. Otherwise it is a *misfit*:
    what the model gets wrong exceeds the noise of the comparison.

    Parameters
    ----------
    best : mapping or pandas.Series or pandas.DataFrame
        Each dataset's fitted energy: ``{dataset: energy}``, a Series indexed by dataset,
        or a DataFrame indexed by dataset (e.g. ``fit_connectomes(...)["best"]``) from
        which ``column`` is taken.
    floors : mapping
        ``{dataset: energies}`` (one floor per dataset) or ``{floor name: {dataset:
        energies}}`` (several kinds, e.g. ``"self"`` and ``"pair"``). Energies are an
        array of energies, a :func:`self_energy_floor` array (its last column is used) or a
        :func:`pair_floor` Series (its ``energy``). Datasets without a floor of a kind are
        left out of that kind.
    sizes : mapping
        ``{dataset: (n_nodes, n_edges)}`` or ``{dataset: adjacency}``, for the KS critical
        values (two samples of ``n_nodes`` node values, of ``n_edges`` edge lengths).
    quantile : float
        Upper quantile of a floor that a fit may reach, in (0, 1].
    alpha : float
        Level of the KS critical values (:func:`ks_critical_value`).
    column : str
        Column of a ``best`` DataFrame.

    Returns
    -------
    DataFrame
        Columns :data:`FLOOR_COLUMNS`: ``dataset, floor`` (its kind), ``energy``,
        ``floor_median``, ``floor_upper``, ``n_floor`` (energies behind the floor),
        ``excess`` (``energy - floor_upper``), ``within_floor``, ``verdict``
        (``"within floor"`` or ``"misfit"``), ``n_nodes, n_edges``, ``ks_crit_nodes,
        ks_crit_edges`` and ``below_ks_crit`` (energy at most the larger critical value).

    Examples
    --------
    >>> t = floor_table({"a": 0.12, "b": 0.45}, {"a": [0.08, 0.10, 0.13], "b": [0.09, 0.11, 0.14]},
    ...                 {"a": (68, 588), "b": (68, 588)})
    >>> t[["dataset", "verdict"]].to_numpy().tolist()
    [['a', 'within floor'], ['b', 'misfit']]
    """
    if isinstance(best, pd.DataFrame):
        if column not in best.columns:
            raise ValueError(f"'column' {column!r} is not a column of 'best'; it has {list(best.columns)}")
        best = best[column]
    if isinstance(best, pd.Series):
        best = best.to_dict()
    if not isinstance(best, Mapping) or not best:
        raise TypeError(
            f"'best' must be a non-empty mapping, Series or DataFrame of energies; got {type(best).__name__}")
    energies = {}
    for k, v in best.items():
        e = float(v)
        if not (np.isfinite(e) and 0.0 <= e <= 1.0):
            raise ValueError(f"'best' must hold energies in [0, 1]; got {k!r}: {v!r}")
        energies[k] = e
    if not isinstance(floors, Mapping) or not floors:
        raise TypeError(f"'floors' must be a non-empty mapping; got {type(floors).__name__}")
    if all(isinstance(v, Mapping) for v in floors.values()):
        kinds = dict(floors)
    else:
        kinds = {"floor": floors}
    if not isinstance(sizes, Mapping):
        raise TypeError(
            f"'sizes' must be a mapping dataset -> (n_nodes, n_edges) or adjacency; got {type(sizes).__name__}")
    quantile = check_float(quantile, "quantile")
    if not 0.0 < quantile <= 1.0:
        raise ValueError(f"'quantile' must lie in (0, 1]; got {quantile}")
    alpha = check_float(alpha, "alpha")
    unknown = sorted({str(d) for f in kinds.values() for d in f} - {str(d) for d in energies})
    if unknown:
        raise ValueError(f"'floors' names datasets without an energy in 'best': {unknown}")
    missing = sorted(str(d) for d in energies if d not in sizes)
    if missing:
        raise ValueError(f"'sizes' lacks the datasets {missing}")
    rows = []
    for dataset, e in energies.items():
        n, m = _size(sizes[dataset], dataset)
        crit_n, crit_m = ks_critical_value(n, n, alpha), ks_critical_value(m, m, alpha)
        for kind, per in kinds.items():
            if dataset not in per:
                continue
            F = _floor_energies(per[dataset], f"[{kind!r}][{dataset!r}]")
            upper = float(np.quantile(F, quantile))
            within = bool(e <= upper)
            rows.append({
                "dataset": dataset, "floor": kind, "energy": e, "floor_median": float(np.median(F)),
                "floor_upper": upper, "n_floor": int(F.size), "excess": e - upper, "within_floor": within,
                "verdict": "within floor" if within else "misfit", "n_nodes": n, "n_edges": m,
                "ks_crit_nodes": crit_n, "ks_crit_edges": crit_m, "below_ks_crit": bool(e <= max(crit_n, crit_m)),
            })
    return pd.DataFrame(rows, columns=FLOOR_COLUMNS)
