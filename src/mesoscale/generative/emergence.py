"""Simulations that test the emergence theory of :mod:`mesoscale.theory` (spatial modules of ``sptl``).

Networks are grown by the spatial rule with the exponential kernel ``exp(-d / xi)`` on ``n``
uniform random points of a box of unit volume (:func:`~mesoscale.theory.domain_points`), exactly
and without dense matrices (:func:`~mesoscale.generative.sptl_edges`), so sizes up to a few
times ``10**4`` are cheap. Every network is measured with *intensive* order parameters, those
the theory predicts and that have a limit as ``n -> inf`` at fixed ``(xi, c)``:

``overlap``
    Bethe-Hessian bisection (:func:`~mesoscale.theory.bethe_hessian_partition`) against the two
    halves of the box along its long side -- detectability of the positions (condition C1 of
    :mod:`~mesoscale.theory.continuum`).
``q_grid``
    Modularity of the theory's predicted grid of cells (:func:`~mesoscale.theory.box_predictions`);
    its expectation is the theory's ``q_cells``.
``q``, ``q_null``, ``delta_q``
    Maximum modularity (best of ``n_runs`` Louvain runs, :func:`~mesoscale.metrics.sparse_best_partition`),
    the same for ``n_null`` degree-preserving rewirings of the network, and their difference.
``nmi_grid``
    Normalised mutual information between the Louvain modules and the predicted grid.
``largest_component``, ``n_components``
    Fragmentation of the network.

:func:`emergence_scan` runs a ``(size x xi x seed)`` grid through :func:`mesoscale.theory.scan`
(a resumable :mod:`mesoscale.sweep` store; one task per size and seed, the same points and the
same exponential race at every ``xi``, so a replicate traces a coupled curve);
:func:`summarize_emergence` reduces the seeds to means with 95 % intervals, ``delta_q`` pooled
over the seeds (``mean q - mean q_null`` with a Welch interval).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import check_float, check_float_list, check_frame, check_int
from .sparse import edges_to_sparse, sptl_edges

__all__ = ["box_order_parameters", "emergence_scan", "summarize_emergence", "growth_order_parameters",
           "worm_stage_table", "worm_stage_predictions"]


def _nmi(a, b):
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(a, b))


def box_order_parameters(xi: float, n: int, seed=None, *, c: float = 6.0, dim: int = 2, aspect: float = 1.0,
                         cells=None, n_null: int = 1, n_runs: int = 1, louvain_max_xi: float = math.inf) -> dict:
    """Grow one ``sptl`` network of range ``xi`` on ``n`` random points of the box and measure it.

    Parameters
    ----------
    xi : float
        Kernel range in units of the box (``eta = -1 / xi``, exponential kernel).
    n : int
        Nodes.
    seed : None, int, SeedSequence or Generator
        Points, network, Louvain and null draws all derive from it (same seed, same numbers at
        every ``xi``: the points and the exponential race are shared).
    c : float
        Mean degree (``m = round(c n / 2)``).
    dim, aspect
        The box (:func:`~mesoscale.theory.domain_points`).
    cells : sequence of int, optional
        The predicted grid (cells per axis) for ``q_grid`` and ``nmi_grid``; NaN without it.
    n_null : int
        Degree-preserving nulls per network for ``q_null`` (0 skips Louvain altogether).
    n_runs : int
        Louvain runs per network.
    louvain_max_xi : float
        Skip Louvain (NaN) above this range (where the theory predicts no modules, to save time).

    Returns
    -------
    dict
        ``overlap, q_grid, q, q_null, delta_q, nmi_grid, n_components, largest_component, ell``
        (mean edge length in box units).

    Examples
    --------
    >>> r = box_order_parameters(0.05, 300, 0, c=6.0, aspect=2.0, cells=(3, 1))
    >>> bool(r["q"] > r["q_null"]), bool(0 <= r["overlap"] <= 1), bool(r["q_grid"] > 0.5)
    (True, True, True)
    """
    from scipy.sparse.csgraph import connected_components

    from .._validation import seed_sequence
    from ..metrics import sparse_best_partition, sparse_degree_swaps
    from ..theory import bethe_hessian_partition, domain_points, grid_labels, overlap

    xi = check_float(xi, "xi", minimum=0.0)
    if xi <= 0:
        raise ValueError(f"'xi' must be > 0; got {xi}")
    n = check_int(n, "n", minimum=8)
    c = check_float(c, "c", minimum=0.0)
    n_null = check_int(n_null, "n_null", minimum=0)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    s_pos, s_net, s_bh, s_lv, s_null = seed_sequence(seed).spawn(5)
    X = domain_points(n, dim, aspect, layout="random", seed=s_pos)
    m = max(1, min(int(round(c * n / 2)), n * (n - 1) // 2))
    E = sptl_edges(X, m, -1.0 / xi, "exponential", seed=s_net)[0]
    A = edges_to_sparse(E, n)
    halves = grid_labels(X, [2] + [1] * (dim - 1))
    out = {"overlap": overlap(halves, bethe_hessian_partition(A, 2, seed=s_bh))}
    n_comp, comp = connected_components(A, directed=False)
    out["n_components"] = float(n_comp)
    out["largest_component"] = float(np.bincount(comp).max() / n)
    out["ell"] = float(np.mean(np.linalg.norm(X[E[:, 0]] - X[E[:, 1]], axis=1)))
    grid = None if cells is None else grid_labels(X, list(cells))
    if grid is not None:
        from ..metrics import sparse_modularity

        out["q_grid"] = sparse_modularity(A, grid)
    else:
        out["q_grid"] = np.nan
    out.update(q=np.nan, q_null=np.nan, delta_q=np.nan, nmi_grid=np.nan)
    if n_null > 0 and xi <= louvain_max_xi:
        part, q = sparse_best_partition(A, n_runs, np.random.default_rng(s_lv))
        nulls = []
        for ss in s_null.spawn(n_null):
            rng = np.random.default_rng(ss)
            nulls.append(sparse_best_partition(sparse_degree_swaps(A, 10, rng), n_runs, rng)[1])
        out.update(q=q, q_null=float(np.mean(nulls)), delta_q=q - float(np.mean(nulls)))
        if grid is not None:
            out["nmi_grid"] = _nmi(grid, part)
    return out


class _BoxOrder:
    """Picklable order parameter for :func:`mesoscale.theory.scan`."""

    def __init__(self, cells, louvain_subset=None, **kw):
        self.cells = cells
        self.louvain_subset = louvain_subset or {}
        self.kw = kw

    def __call__(self, xi, n, seed):
        kw = dict(self.kw)
        for threshold, keep in self.louvain_subset.items():
            if n >= threshold and not any(abs(float(xi) - k) < 1e-12 for k in keep):
                kw["n_null"] = 0  # Louvain only at the listed ranges for the largest networks
        return box_order_parameters(xi, n, seed, cells=self.cells.get(float(xi)), **kw)


def emergence_scan(xis, sizes, n_seeds: int, *, c: float = 6.0, dim: int = 2, aspect: float = 1.0,
                   cells: dict | None = None, n_null: int = 1, n_runs: int = 1, louvain_max_xi: float = math.inf,
                   louvain_subset: dict | None = None, seed=None, store=None, progress: bool = True,
                   **sweep_kwargs) -> pd.DataFrame:
    """:func:`box_order_parameters` over ``sizes x xis x n_seeds`` as a resumable scan.

    Parameters
    ----------
    xis, sizes, n_seeds
        Kernel ranges (box units), numbers of nodes, replicates per point.
    cells : dict, optional
        ``{xi: cells}`` the predicted grids (e.g. from :func:`mesoscale.theory.box_predictions`).
    c, dim, aspect, n_null, n_runs, louvain_max_xi
        As in :func:`box_order_parameters`.
    louvain_subset : dict, optional
        ``{size_threshold: [xi, ...]}``: networks of at least that size get Louvain (and nulls) only
        at the listed ranges (Louvain is most of the cost of the largest networks).
    seed, store, progress, **sweep_kwargs
        As in :func:`mesoscale.theory.scan` (``client``, ``n_jobs``, ...).

    Returns
    -------
    pandas.DataFrame
        ``size, control (= xi), replicate`` and the columns of :func:`box_order_parameters`.

    Examples
    --------
    >>> df = emergence_scan([0.05, 0.4], [100], 2, aspect=2.0, cells={0.05: (3, 1), 0.4: (2, 1)}, seed=0,
    ...                     progress=False)
    >>> df.shape[0], sorted(df.control.unique().tolist())
    (4, [0.05, 0.4])
    """
    from ..theory import scan

    xs = check_float_list(xis, "xis", minimum=0.0)
    cells = {} if cells is None else {float(k): tuple(int(v) for v in val) for k, val in dict(cells).items()}
    subset = {int(k): [float(x) for x in v] for k, v in (louvain_subset or {}).items()}
    task = _BoxOrder(cells, subset, c=c, dim=dim, aspect=aspect, n_null=n_null, n_runs=n_runs,
                     louvain_max_xi=louvain_max_xi)
    return scan(task, xs, sizes, n_seeds, seed=seed, store=store, progress=progress, **sweep_kwargs)


def summarize_emergence(df: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Means over seeds with ``confidence`` intervals, per size and range.

    ``delta_q`` is pooled: ``mean(q) - mean(q_null)`` over the seeds of a point, with a Welch
    t interval from the spread of both (every network has its own nulls; with one null per
    network the nulls of the seeds together estimate the null's mean). ``z_pooled`` is the
    Welch statistic. Other columns: ``<name>`` (mean) and ``<name>_lo``/``<name>_hi`` for
    ``overlap``, ``q_grid``, ``nmi_grid``, ``q``, ``q_null``; ``binder`` (of ``overlap``),
    ``susceptibility`` (``size * Var(overlap)``), ``n_seeds``.

    Examples
    --------
    >>> df = pd.DataFrame({"size": [10] * 4, "control": [0.1] * 4, "replicate": range(4),
    ...                    "q": [0.5, 0.52, 0.48, 0.5], "q_null": [0.4, 0.41, 0.39, 0.4],
    ...                    "overlap": [0.9, 0.8, 0.85, 0.95], "q_grid": [0.4] * 4, "nmi_grid": [0.5] * 4})
    >>> s = summarize_emergence(df)
    >>> round(float(s.delta_q.iloc[0]), 3), bool(s.delta_q_lo.iloc[0] > 0), int(s.n_seeds.iloc[0])
    (0.1, True, 4)
    """
    df = check_frame(df, ("size", "control", "overlap"), made_by="emergence_scan")
    confidence = check_float(confidence, "confidence", minimum=0.0, maximum=1.0)
    rows = []
    for (n, x), g in df.groupby(["size", "control"], sort=True):
        row = {"size": int(n), "control": float(x), "n_seeds": int(len(g))}
        for col in ("overlap", "q_grid", "nmi_grid", "q", "q_null"):
            if col not in g:
                continue
            v = g[col].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            row[col] = float(v.mean()) if v.size else np.nan
            half = (float(stats.t.ppf(0.5 + confidence / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
                    if v.size > 1 else np.nan)
            row[f"{col}_lo"], row[f"{col}_hi"] = row[col] - half, row[col] + half
        if "q" in g and "q_null" in g:
            a = g["q"].to_numpy(dtype=float)
            b = g["q_null"].to_numpy(dtype=float)
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            if a.size > 1 and b.size > 1:
                va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
                se = math.sqrt(va + vb)
                dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1)) if se > 0 else np.inf
                d = float(a.mean() - b.mean())
                half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * se if se > 0 else 0.0
                row.update(delta_q=d, delta_q_lo=d - half, delta_q_hi=d + half,
                           z_pooled=d / se if se > 0 else np.inf * np.sign(d))
            else:
                row.update(delta_q=np.nan, delta_q_lo=np.nan, delta_q_hi=np.nan, z_pooled=np.nan)
        o = g["overlap"].to_numpy(dtype=float)
        m2, m4 = np.mean(o**2), np.mean(o**4)
        row["binder"] = 1.0 - m4 / (3.0 * m2**2) if m2 > 0 else np.nan
        row["susceptibility"] = float(n) * float(o.var(ddof=1)) if o.size > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- growth and the worm's stages
def growth_order_parameters(positions, m, birth_stage, eta: float, partitions: dict, *, n_networks: int = 20,
                            model_var: str = "exponential", seed=None) -> pd.DataFrame:
    """Grow ``sptl`` networks stage by stage and measure the modularity of given partitions at each stage.

    The simulation side of :func:`mesoscale.theory.growth_predictions`: networks are grown with
    :func:`~mesoscale.generative.grow` on the stage distances of ``positions`` (nodes born at
    ``birth_stage``), and the network of born nodes after stage ``s`` (the first ``m[s]`` edges of
    the growth order) is scored on ``partitions[s]``.

    Parameters
    ----------
    positions : array_like, shape (S, n, dim)
        Positions at each stage.
    m, birth_stage, eta, model_var
        As in :func:`mesoscale.theory.growth_pair_probabilities`.
    partitions : dict
        ``{stage: labels}`` with one label per node born by that stage (in node order).
    n_networks : int
        Independent networks (``seed``).

    Returns
    -------
    pandas.DataFrame
        One row per (network, stage): ``network, stage, n_born, m, q_grid``.

    Examples
    --------
    >>> x = np.linspace(0, 1, 30); X = np.c_[x, np.zeros(30)]
    >>> st = np.stack([X * [0.5, 1], X])
    >>> df = growth_order_parameters(st, [10, 45], np.r_[np.zeros(15, int), np.ones(15, int)], -30.0,
    ...                              {1: (x > 0.5).astype(int)}, n_networks=3, seed=0)
    >>> df.shape, bool((df.q_grid > 0.3).all())
    ((3, 5), True)
    """
    from .._validation import distance_matrix
    from ..metrics import sparse_modularity
    from .growth import grow

    X = np.asarray(positions, dtype=float)
    if X.ndim != 3:
        raise ValueError(f"'positions' must have shape (stages, n, dim); got {X.shape}")
    S, n = X.shape[:2]
    m = np.asarray(m, dtype=np.int64)
    birth = np.asarray(birth_stage, dtype=np.int64)
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    Ds = np.stack([distance_matrix(X[s]) for s in range(S)])
    _, orders = grow(Ds, m, "sptl", eta, model_var=(model_var, "powerlaw"), birth_times=birth.astype(float),
                     stage_times=np.arange(S, dtype=float), n_networks=n_networks, seed=seed, return_order=True)
    rows = []
    for s, labels in dict(partitions).items():
        s = check_int(s, "partitions", minimum=0, maximum=S - 1)
        alive = np.flatnonzero(birth <= s)
        labels = np.asarray(labels)
        if labels.shape != (alive.size,):
            raise ValueError(f"'partitions[{s}]' must label the {alive.size} nodes born by stage {s}")
        if m[s] < 1:
            continue
        index = np.full(n, -1)
        index[alive] = np.arange(alive.size)
        for b in range(n_networks):
            e = orders[b, : m[s]]
            A = edges_to_sparse(np.sort(index[e], axis=1), alive.size)
            rows.append({"network": b, "stage": s, "n_born": int(alive.size), "m": int(m[s]),
                         "q_grid": sparse_modularity(A, labels)})
    return pd.DataFrame(rows)


def worm_stage_table(stages=(1, 2, 3, 4, 5, 6, 7, 8), *, n_null: int = 20, n_runs: int = 5, seed=None,
                     progress: bool = False) -> pd.DataFrame:
    """Modularity of the eight Witvliet et al. (2021) brains against degree-preserving nulls, with ages.

    Each dataset ``celegans_witvliet_<k>`` is binarised (:meth:`~mesoscale.connectomes.Connectome.binary`)
    and tested with :func:`~mesoscale.metrics.modularity_significance` (``"degree"``), so every Q carries
    ΔQ with its interval, z, the empirical p and the null count.

    Returns
    -------
    pandas.DataFrame
        One row per stage: ``dataset, stage, age_h, n, m, c, q, q_null, delta_q, delta_q_lo, delta_q_hi, z,
        p_value, n_null, mean_edge_length`` (position units of the dataset).

    Examples
    --------
    >>> df = worm_stage_table([1], n_null=3, n_runs=1, seed=0)
    >>> df[["stage", "age_h", "n"]].values.tolist(), bool(df.delta_q.iloc[0] > 0)
    ([['L1', 0.0, 161]], True)
    """
    from .. import connectomes
    from .._validation import seed_sequence
    from ..metrics import modularity_significance

    rows = []
    streams = seed_sequence(seed).spawn(len(list(stages)))
    for k, ss in zip(stages, streams):
        k = check_int(k, "stages", minimum=1, maximum=8)
        c = connectomes.load(f"celegans_witvliet_{k}")
        A = c.binary()
        stage, age = connectomes.WITVLIET_STAGES[k]
        t = modularity_significance(A, "degree", n_null=n_null, n_runs=n_runs, seed=ss, progress=progress,
                                    on_fragmented="ignore")
        iu = np.nonzero(np.triu(A, 1))
        X = np.asarray(c.positions, dtype=float)
        m = len(iu[0])
        rows.append({"dataset": f"celegans_witvliet_{k}", "stage": stage, "age_h": float(age), "n": int(c.n),
                     "m": m, "c": 2.0 * m / c.n, "q": t.q, "q_null": t.null_mean, "delta_q": t.delta,
                     "delta_q_lo": t.delta_low, "delta_q_hi": t.delta_high, "z": t.z, "p_value": t.p_value,
                     "n_null": t.n_null,
                     "mean_edge_length": float(np.linalg.norm(X[iu[0]] - X[iu[1]], axis=1).mean())})
    return pd.DataFrame(rows)


def worm_stage_predictions(table: pd.DataFrame, growth: float, *, reference: str = "celegans_witvliet_8",
                           max_cells: int = 16) -> pd.DataFrame:
    """The kernel theory's modularity for each Witvliet brain, one physical contact range for all stages.

    The exponential kernel's range is fitted on the ``reference`` brain (its predicted mean edge
    length equals the observed one, :func:`mesoscale.theory.kernel_for_length`). Earlier brains are
    smaller: positions of a brain of age ``t`` are scaled by ``(1 + (growth - 1) t / T) / growth``
    (``T`` the reference's age; ``growth`` = adult over newborn linear size, 1 = no growth), so the
    same physical range is longer relative to a young brain. Each brain is then predicted with its
    own neurons, edge count and that kernel (:func:`mesoscale.theory.predict_modules`): ``q_cells``,
    ``q_null``, ``delta_q``, ``spread``, the predicted grid ``cells`` and ``q_grid_observed``, the
    modularity of that grid on the real network.

    Examples
    --------
    >>> t = pd.DataFrame({"dataset": ["celegans_witvliet_1", "celegans_witvliet_8"], "age_h": [0.0, 50.0],
    ...                   "m": [680, 1800], "mean_edge_length": [0.9, 0.9]})
    >>> p = worm_stage_predictions(t, 1.0)
    >>> p.dataset.tolist(), bool(p.q_cells.notna().all())
    (['celegans_witvliet_1', 'celegans_witvliet_8'], True)
    """
    from .. import connectomes
    from .._validation import distance_matrix
    from ..metrics import modularity
    from ..theory import kernel_for_length, predict_modules

    table = check_frame(table, ("dataset", "age_h", "m", "mean_edge_length"), made_by="worm_stage_table")
    growth = check_float(growth, "growth", minimum=1.0)
    ref = table[table.dataset == reference]
    if ref.empty:
        raise ValueError(f"'reference' {reference!r} is not in the table")
    cref = connectomes.load(reference)
    Xref = np.asarray(cref.positions, dtype=float)
    eta = kernel_for_length(distance_matrix(Xref), int(ref.m.iloc[0]), float(ref.mean_edge_length.iloc[0]),
                            "exponential")
    T = float(ref.age_h.iloc[0]) or 1.0
    rows = []
    for _, r in table.iterrows():
        c = connectomes.load(r.dataset)
        scale = (1.0 + (growth - 1.0) * float(r.age_h) / T) / growth
        X = np.asarray(c.positions, dtype=float) * scale
        D = distance_matrix(X)
        pred = predict_modules(D, int(r.m), eta, X, "exponential", max_cells=max_cells)
        rows.append({"dataset": r.dataset, "age_h": float(r.age_h), "growth": growth, "scale": scale, "eta": eta,
                     "cells": "x".join(map(str, pred.cells)), "q_cells": pred.q_cells, "q_null": pred.q_null,
                     "delta_q": pred.delta_q, "spread": pred.spread,
                     "range_ratio": pred.controls["range_ratio"],
                     "q_grid_observed": modularity(c.binary(), pred.labels)})
    return pd.DataFrame(rows)
