"""Modularity through development: staged growth against the staged theory, and the worm's brains by age.

:func:`growth_order_parameters` grows networks stage by stage (nodes born in order, an elongating
body; :func:`~mesoscale.generative.grow`) and scores the predicted partition of every stage -- the
simulation side of :func:`mesoscale.theory.growth_predictions`. :func:`worm_stage_table` measures
the eight Witvliet et al. (2021) brains (ΔQ against degree-preserving nulls, with ages) and
:func:`worm_stage_predictions` gives the kernel theory's modularity for each of them with one
physical contact range fitted on the adult.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_float, check_frame, check_int
from .sparse import edges_to_sparse

__all__ = ["growth_order_parameters", "worm_stage_table", "worm_stage_predictions", "growth_study",
           "worm_development", "growth_report"]


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


def growth_study(*, n_stages: int = 20, elongation: float = 4.0, length_scale: float = 0.1, stages=None,
                 n_networks: int = 20, dataset: str | None = None, seed=None) -> dict:
    """The worm-growth model of Nicosia et al. (2013) against the staged rate equation.

    Neurons of ``dataset`` (default :data:`~mesoscale.generative.development.WORM_DATASET`) are born
    in lineage order in a body that elongates by ``elongation``
    (:func:`~mesoscale.generative.development.development_schedule`, contact range ``length_scale``
    of the adult length, the adult's edge count); :func:`mesoscale.theory.growth_predictions` gives
    the predicted grid and its modularity at ``stages`` (default five evenly spaced stages) and
    :func:`growth_order_parameters` scores ``n_networks`` grown networks on them.

    Returns
    -------
    dict
        ``prediction``, ``simulation``, ``schedule``.

    Examples
    --------
    >>> out = growth_study(n_stages=6, stages=[2, 5], n_networks=2, seed=0)
    >>> out["prediction"].stage.tolist(), len(out["simulation"])
    ([2, 5], 4)
    """
    from ..theory import grid_labels, growth_predictions
    from .development import WORM_DATASET, development_schedule, worm_development_inputs

    inp = worm_development_inputs(dataset or WORM_DATASET, seed=seed if isinstance(seed, (int, np.integer)) else 0)
    m_final = int(np.triu(np.asarray(inp["adult"]) != 0, 1).sum())
    sch = development_schedule(inp["positions"], inp["birth_order"], m_final=m_final, n_stages=n_stages,
                               elongation=elongation, length_scale=length_scale, axis=inp["axis"])
    axis = np.arange(inp["positions"].shape[1]) == inp["axis"]
    X = np.stack([inp["positions"] * np.where(axis, s, 1.0) for s in sch["scale"]])
    if stages is None:
        stages = sorted({int(round(v)) for v in np.linspace(n_stages / 5, n_stages - 1, 5)})
    eta = -1.0 / sch["range"]
    pred = growth_predictions(X, sch["m"], sch["birth_stage"], eta, "exponential", stages=stages)
    parts = {int(r.stage): grid_labels(X[int(r.stage)][sch["birth_stage"] <= r.stage],
                                       [int(v) for v in r.cells.split("x")]) for r in pred.itertuples()}
    sim = growth_order_parameters(X, sch["m"], sch["birth_stage"], eta, parts, n_networks=n_networks, seed=seed)
    return {"prediction": pred, "simulation": sim, "schedule": sch}


def worm_development(growths=(1.0, 2.0, 4.0), *, n_null: int = 20, n_runs: int = 5, seed=None) -> dict:
    """The worm's eight brains (:func:`worm_stage_table`) and the theory's prediction for each ``growth``.

    Returns
    -------
    dict
        ``table`` and ``prediction`` (:func:`worm_stage_predictions` for every growth, stacked).

    Examples
    --------
    >>> w = worm_development([1.0], n_null=3, n_runs=1, seed=0)
    >>> len(w["table"]), sorted(w["prediction"]["growth"].unique().tolist())
    (8, [1.0])
    """
    table = worm_stage_table(n_null=n_null, n_runs=n_runs, seed=seed)
    pred = pd.concat([worm_stage_predictions(table, g) for g in growths], ignore_index=True)
    return {"table": table, "prediction": pred}


def growth_report(growth: dict, worm: dict) -> str:
    """The growth check and the worm's trend against the theory's, in prose (Markdown).

    The worm's trend is the least-squares slope of ΔQ against age over the eight brains, with a 95 %
    bootstrap interval over brains; the theory's, the same slope of its predicted ΔQ for each growth.

    Examples
    --------
    >>> g = growth_study(n_stages=6, stages=[2, 5], n_networks=2, seed=0)
    >>> w = worm_development([1.0], n_null=3, n_runs=1, seed=0)
    >>> growth_report(g, w).startswith("Staged theory")
    True
    """
    from .._validation import as_rng

    sim, pred = growth["simulation"], growth["prediction"].set_index("stage")
    err = float((sim.groupby("stage")["q_grid"].mean() - pred["q_cells"]).abs().max())
    t = worm["table"].sort_values("age_h")
    slope = float(np.polyfit(t["age_h"], t["delta_q"], 1)[0])
    rng = as_rng(0)
    boots = []
    for _ in range(1000):
        s = t.iloc[rng.integers(0, len(t), len(t))]
        if s["age_h"].nunique() > 1:
            boots.append(np.polyfit(s["age_h"], s["delta_q"], 1)[0])
    lo, hi = np.percentile(boots, [2.5, 97.5])
    theo = {g: float(np.polyfit(s["age_h"], s["delta_q"], 1)[0]) for g, s in worm["prediction"].groupby("growth")}
    adults = t[t["stage"] == "adult"]["delta_q"]
    return (f"Staged theory against {int(sim.groupby('stage').size().min())} grown networks per stage: largest "
            f"|error| of the grid's Q over the stages {err:.3f}. The worm: ΔQ (degree null, "
            f"{int(t['n_null'].min())} nulls) is {t['delta_q'].iloc[0]:.3f} at birth and "
            + " and ".join(f"{v:.3f}" for v in adults) + " in the two adults; its trend is "
            f"{1000 * slope:+.2f} per 1000 h [{1000 * lo:+.2f}, {1000 * hi:+.2f}]. The theory's trend with one "
            "contact range: " + ", ".join(
                f"{1000 * v:+.2f} (growth ×{g:g}, {'inside' if lo <= v <= hi else 'outside'} the worm's interval)"
                for g, v in theo.items()) + ".")
