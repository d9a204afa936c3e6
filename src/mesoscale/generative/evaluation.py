"""Judging fitted generative models against the connectomes they were fitted to.

:func:`~mesoscale.generative.fit` finds the wiring parameters whose networks match a
connectome's degree, clustering, betweenness and edge-length *distributions*. This
module asks what those fits are worth:

Ranking rules with uncertainty
    :func:`topk_energies` (the per-network energies behind a rule's best points) and
    :func:`rule_ranking` (bootstrap probability that each rule is the best one).
Out-of-sample mesoscale structure
    :func:`compare_mesoscale` measures, on the real network and on each synthetic one,
    properties the fit never saw: modularity against a degree-preserving null, module
    count and sizes, participation, rich club, how compact modules are in space, whether
    modules and hubs sit on the same nodes as in the real network.
    :func:`summarise_comparison` says, metric by metric, whether the real value lies
    inside the spread of the synthetic ones.
Growth forward
    :func:`growth_forward_scores` seeds the model with an earlier connectome, grows it to
    the edge count of a later one and scores how well the frequency with which each
    candidate pair is added predicts the connections that really appear, against
    :func:`degree_preserving_growth` (random new edges with each node's real number of new
    edges) and chance. :func:`align_connectomes` puts two developmental stages on one node
    set; :func:`roc_auc`, :func:`precision_at_k` and :func:`average_precision` are the scores.
Preparing datasets
    :func:`binary_at_density` (keep the strongest edges of a dense tractography matrix) and
    :func:`constant_distances` (topology-only fits for data without positions).
Figures
    :func:`plot_energy_landscape`, :func:`plot_energy_landscapes`, :func:`plot_rule_ranking`, :func:`plot_comparison`,
    :func:`plot_growth_forward`, :func:`plot_trajectories`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import (
    check_adjacency,
    check_batch,
    check_distance,
    check_float,
    check_int,
    seed_sequence,
)

__all__ = [
    "constant_distances",
    "binary_at_density",
    "align_connectomes",
    "topk_energies",
    "rule_ranking",
    "fitted_networks",
    "compare_mesoscale",
    "summarise_comparison",
    "COMPARISON_METRICS",
    "roc_auc",
    "precision_at_k",
    "average_precision",
    "degree_preserving_growth",
    "GrowthForecast",
    "growth_forward_scores",
    "plot_energy_landscape",
    "plot_energy_landscapes",
    "plot_rule_ranking",
    "plot_comparison",
    "plot_growth_forward",
    "plot_trajectories",
]


# ----------------------------------------------------------------------------- datasets
def constant_distances(n: int) -> np.ndarray:
    """All-ones distance matrix with a zero diagonal, for data without node positions.

    With it, the distance factor of every wiring rule is the same for every pair, so a fit
    is a fit of the topological term alone (``eta`` has no effect) and the edge-length
    part of the energy is zero. Use it for datasets that lack coordinates rather than
    inventing positions.

    Examples
    --------
    >>> constant_distances(3)
    array([[0., 1., 1.],
           [1., 0., 1.],
           [1., 1., 0.]])
    """
    n = check_int(n, "n", minimum=2)
    D = np.ones((n, n))
    np.fill_diagonal(D, 0.0)
    return D


def binary_at_density(W, density: float) -> np.ndarray:
    """Keep the strongest undirected connections of ``W`` so that ``density`` of pairs are edges.

    Tractography matrices (e.g. the mouse DTI data) link most region pairs by at least one
    streamline; fitting a generative model to such a dense matrix measures little. The pair
    weight is ``max(W_ij, W_ji)``; pairs are ranked by it (ties broken by pair index, so
    the result is deterministic) and the top ``round(density * n(n-1)/2)`` non-zero pairs
    are kept.

    Parameters
    ----------
    W : array_like, shape (n, n)
        Non-negative weights (directed or not).
    density : float in (0, 1]
        Target fraction of connected pairs.

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric 0/1 float matrix, zero diagonal.

    Examples
    --------
    >>> W = np.array([[0, 5, 1], [5, 0, 2], [1, 2, 0]])
    >>> binary_at_density(W, 1 / 3)
    array([[0., 1., 0.],
           [1., 0., 0.],
           [0., 0., 0.]])
    """
    from .._validation import check_matrix

    M = check_matrix(W, "W", nonnegative=True)
    density = check_float(density, "density", minimum=0.0, maximum=1.0)
    if density == 0.0:
        raise ValueError(f"'density' must be > 0; got {density}")
    n = M.shape[0]
    S = np.maximum(M, M.T)
    iu = np.triu_indices(n, 1)
    w = S[iu]
    m = int(round(density * len(w)))
    nz = int((w > 0).sum())
    if m > nz:
        raise ValueError(f"'density' {density} asks for {m} edges but 'W' has only {nz} connected pairs")
    order = np.lexsort((np.arange(len(w)), -w))[:m]
    B = np.zeros((n, n))
    B[iu[0][order], iu[1][order]] = 1.0
    return B + B.T


def align_connectomes(earlier, later, nodes: str = "common"):
    """Put two connectomes (e.g. consecutive developmental stages) on one node set.

    Parameters
    ----------
    earlier, later : Connectome
        The two datasets; both need positions (the distance matrix comes from them).
    nodes : {"common", "union"}
        ``"common"``: only nodes present in both (the default: no node is ever judged on
        connections it could not have had). ``"union"``: every node of either; a node
        missing from one dataset is unconnected there (it may be unborn or outside the
        reconstructed volume).

    Returns
    -------
    A_earlier, A_later : ndarray, shape (n, n)
        Symmetric binary networks (:meth:`Connectome.binary`) on the aligned nodes.
    D : ndarray, shape (n, n)
        Euclidean distances between the aligned nodes, in the datasets' position unit.
    labels : list of str
        The aligned node labels (order of ``earlier``, then nodes only in ``later``).

    Examples
    --------
    >>> from mesoscale import connectomes
    >>> a, b = connectomes.load("celegans_witvliet_1"), connectomes.load("celegans_witvliet_2")
    >>> A1, A2, D, labels = align_connectomes(a, b)
    >>> A1.shape == A2.shape == D.shape == (len(labels), len(labels))
    True
    """
    if nodes not in ("common", "union"):
        raise ValueError(f"'nodes' must be one of ['common', 'union']; got {nodes!r}")
    for name, c in (("earlier", earlier), ("later", later)):
        if not hasattr(c, "binary") or not hasattr(c, "labels"):
            raise TypeError(f"'{name}' must be a Connectome; got {type(c).__name__}")
        if c.positions is None:
            raise ValueError(f"'{name}' ({c.name}) has no positions; distances are needed for alignment")
    in_later = set(later.labels)
    in_earlier = set(earlier.labels)
    if nodes == "common":
        labels = [x for x in earlier.labels if x in in_later]
    else:
        labels = list(earlier.labels) + [x for x in later.labels if x not in in_earlier]
    if len(labels) < 2:
        raise ValueError(f"'earlier' and 'later' share {len(labels)} nodes; nothing to align")
    n = len(labels)
    pos = np.full((n, 3), np.nan)
    out = []
    for c in (earlier, later):
        idx = {x: i for i, x in enumerate(c.labels)}
        Bc = c.binary()
        A = np.zeros((n, n))
        here = np.array([x in idx for x in labels])
        src = np.array([idx[x] for x in labels if x in idx])
        where = np.flatnonzero(here)
        A[np.ix_(where, where)] = Bc[np.ix_(src, src)]
        todo = here & np.isnan(pos[:, 0])
        pos[todo] = c.positions[[idx[labels[i]] for i in np.flatnonzero(todo)]]
        out.append(A)
    if not np.all(np.isfinite(pos)):
        who = [labels[i] for i in np.flatnonzero(~np.all(np.isfinite(pos), axis=1))[:5]]
        raise ValueError(f"aligned nodes without positions: {who}")
    diff = pos[:, None, :] - pos[None, :, :]
    D = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    np.fill_diagonal(D, 0.0)
    return out[0], out[1], D, labels


# ------------------------------------------------------------------------ rule ranking
def _check_fit_table(table):
    if isinstance(table, pd.DataFrame):
        df = table
    elif hasattr(table, "table"):
        df = table.table
    else:
        raise TypeError(f"'table' must be a FitResult or its .table DataFrame; got {type(table).__name__}")
    need = {"rule", "level", "point", "eta", "gamma", "repeat", "energy"}
    missing = need - set(df.columns)
    if missing:
        raise ValueError(f"'table' lacks the columns {sorted(missing)} of a fit table")
    if len(df) == 0:
        raise ValueError("'table' is empty")
    return df


def topk_energies(table, top_k: int = 10) -> pd.DataFrame:
    """The networks behind each rule's ``top_k`` best parameter points.

    Parameters
    ----------
    table : FitResult or DataFrame
        A fit (:func:`~mesoscale.generative.fit`) or its ``.table``.
    top_k : int
        Points per rule, chosen by lowest mean energy over their repeats.

    Returns
    -------
    DataFrame
        One row per network of a top-k point: ``rule, rank`` (1 = best point), ``level,
        point, eta, gamma, repeat, energy, point_energy`` (the point's mean).

    Examples
    --------
    >>> t = pd.DataFrame({"rule": ["a"] * 4, "level": 0, "point": [0, 0, 1, 1],
    ...                   "eta": [-1.0, -1.0, -2.0, -2.0], "gamma": 0.0,
    ...                   "repeat": [0, 1, 0, 1], "energy": [0.5, 0.3, 0.2, 0.2]})
    >>> topk_energies(t, top_k=1)[["rule", "rank", "eta", "energy"]].to_numpy().tolist()
    [['a', 1, -2.0, 0.2], ['a', 1, -2.0, 0.2]]
    """
    df = _check_fit_table(table)
    top_k = check_int(top_k, "top_k", minimum=1)
    parts = []
    for rule, g in df.groupby("rule", sort=False):
        pts = g.groupby(["level", "point"], sort=True)["energy"].mean().rename("point_energy")
        best = pts.sort_values(kind="stable").iloc[:top_k].reset_index()
        best["rank"] = np.arange(1, len(best) + 1)
        sel = g.merge(best, on=["level", "point"])
        parts.append(sel)
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["rule", "rank", "repeat"], kind="stable")
    cols = ["rule", "rank", "level", "point", "eta", "gamma", "repeat", "energy", "point_energy"]
    return out[cols].reset_index(drop=True)


def rule_ranking(table, top_k: int = 10, n_boot: int = 1000, seed=None) -> pd.DataFrame:
    """Rank wiring rules by energy, with bootstrap uncertainty.

    For each rule the energies of all networks at its ``top_k`` best points are pooled
    (:func:`topk_energies`). A bootstrap resamples each rule's pool with replacement
    ``n_boot`` times and ranks the rules by the resampled mean; the share of resamples in
    which a rule comes first is ``p_best``.

    Returns
    -------
    DataFrame
        One row per rule, sorted by ``energy_topk``: ``energy_min`` (best point),
        ``energy_topk`` (mean over the pool), ``energy_q05``/``energy_q95`` (its spread),
        ``ci_low``/``ci_high`` (95 % bootstrap interval of the mean), ``p_best``,
        ``mean_rank``, ``n_networks`` (pool size), ``eta``/``gamma`` (mean over the top
        points) and ``eta_sd``/``gamma_sd``.

    Examples
    --------
    >>> t = pd.DataFrame({"rule": ["a"] * 4 + ["b"] * 4, "level": 0, "point": [0, 0, 1, 1] * 2,
    ...                   "eta": -1.0, "gamma": 0.0, "repeat": [0, 1] * 4,
    ...                   "energy": [0.1, 0.12, 0.11, 0.1, 0.5, 0.6, 0.55, 0.5]})
    >>> r = rule_ranking(t, top_k=2, n_boot=200, seed=0)
    >>> r["rule"].tolist(), float(r["p_best"].iloc[0])
    (['a', 'b'], 1.0)
    """
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    top = topk_energies(table, top_k)
    rng = np.random.default_rng(seed_sequence(seed))
    rules = list(dict.fromkeys(top["rule"]))
    means = np.empty((n_boot, len(rules)))
    rows = []
    for r_i, rule in enumerate(rules):
        g = top[top["rule"] == rule]
        e = g["energy"].to_numpy(float)
        draws = rng.integers(0, len(e), size=(n_boot, len(e)))
        means[:, r_i] = e[draws].mean(axis=1)
        pts = g.drop_duplicates(["level", "point"])
        rows.append(
            {
                "rule": rule,
                "energy_min": float(pts["point_energy"].min()),
                "energy_topk": float(e.mean()),
                "energy_q05": float(np.quantile(e, 0.05)),
                "energy_q95": float(np.quantile(e, 0.95)),
                "ci_low": float(np.quantile(means[:, r_i], 0.025)),
                "ci_high": float(np.quantile(means[:, r_i], 0.975)),
                "eta": float(pts["eta"].mean()),
                "gamma": float(pts["gamma"].mean()),
                "eta_sd": float(pts["eta"].std(ddof=0)),
                "gamma_sd": float(pts["gamma"].std(ddof=0)),
                "n_networks": int(len(e)),
            }
        )
    ranks = means.argsort(axis=1, kind="stable").argsort(axis=1) + 1
    out = pd.DataFrame(rows)
    out["p_best"] = (ranks == 1).mean(axis=0)
    out["mean_rank"] = ranks.mean(axis=0)
    out = out.sort_values(["energy_topk", "rule"], kind="stable").reset_index(drop=True)
    cols = ["rule", "energy_min", "energy_topk", "energy_q05", "energy_q95", "ci_low", "ci_high",
            "p_best", "mean_rank", "eta", "eta_sd", "gamma", "gamma_sd", "n_networks"]
    return out[cols]


def fitted_networks(best, D, m: int, n_networks: int = 10, seed=None, *, rule=None,
                    model_var=("powerlaw", "powerlaw"), seed_network=None):
    """Grow networks at a fit's best parameters.

    Parameters
    ----------
    best : FitResult, DataFrame or mapping
        A fit, its ``.best`` table (the row of ``rule`` is used; the best rule by default),
        a :func:`rule_ranking` table, or a mapping with ``rule``, ``eta`` and ``gamma``.
    D, m, seed_network, model_var
        As in :func:`~mesoscale.generative.generate`.
    n_networks : int
    seed : int, SeedSequence or Generator, optional
    rule : str, optional
        Which rule's parameters to use when ``best`` holds several.

    Returns
    -------
    ndarray of bool, shape (n_networks, n, n)

    Examples
    --------
    >>> xy = np.random.default_rng(0).random((20, 2))
    >>> D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> fitted_networks({"rule": "sptl", "eta": -2.0, "gamma": np.nan}, D, 30, 2, seed=0).shape
    (2, 20, 20)
    """
    from .models import generate

    if hasattr(best, "best") and isinstance(getattr(best, "best"), pd.DataFrame):
        best = best.best
    if isinstance(best, pd.DataFrame):
        if rule is not None:
            sel = best[best["rule"] == rule]
            if len(sel) == 0:
                raise ValueError(f"'rule' {rule!r} is not in the table; it has {best['rule'].tolist()}")
            row = sel.iloc[0]
        else:
            row = best.iloc[0]
        best = row.to_dict()
    if not hasattr(best, "get") or "rule" not in best or "eta" not in best:
        raise TypeError(f"'best' must be a FitResult, a best-parameter table or a mapping; got {type(best).__name__}")
    r = str(best["rule"])
    gamma = None if r == "sptl" else float(best["gamma"])
    return generate(D, m, r, float(best["eta"]), gamma, model_var=model_var, seed_network=seed_network,
                    n_networks=n_networks, seed=seed)


# -------------------------------------------------------------- out-of-sample mesoscale
COMPARISON_METRICS = (
    "Q",
    "Q_z",
    "n_modules",
    "largest_module",
    "participation_mean",
    "participation_ks",
    "rich_club_max_norm",
    "module_span",
    "partition_ami",
    "hub_overlap",
    "degree_corr",
)
"""Columns of :func:`compare_mesoscale` compared by :func:`summarise_comparison`."""


def _module_span(D, part):
    """Mean distance within modules divided by the mean distance over all pairs (< 1: compact)."""
    n = len(part)
    iu = np.triu_indices(n, 1)
    same = part[iu[0]] == part[iu[1]]
    d = D[iu]
    if not same.any() or d.mean() == 0:
        return np.nan
    return float(d[same].mean() / d.mean())


def _hub_overlap(deg_a, deg_b, frac=0.1):
    """Jaccard overlap of the top-``frac`` degree nodes of two networks (ties by index)."""
    n = len(deg_a)
    k = max(1, int(round(frac * n)))
    a = set(np.lexsort((np.arange(n), -deg_a))[:k].tolist())
    b = set(np.lexsort((np.arange(n), -deg_b))[:k].tolist())
    return len(a & b) / len(a | b)


def compare_mesoscale(real, synthetic, D=None, seed=None, n_null: int = 20, *, n_runs: int = 10,
                      hub_fraction: float = 0.1, progress: bool = True) -> pd.DataFrame:
    """Mesoscale properties of a real network and of synthetic networks meant to imitate it.

    None of these properties enter the energy that :func:`~mesoscale.generative.fit`
    minimises, so they test whether a fitted rule generalises.

    Parameters
    ----------
    real : array_like, shape (n, n)
        The observed network (non-zero entries are edges; symmetric).
    synthetic : array_like, shape (B, n, n) or (n, n)
        Networks grown by the fitted model (on the same nodes).
    D : array_like, shape (n, n), optional
        Distances; needed for ``module_span`` (NaN without it).
    seed : int, SeedSequence or Generator, optional
        Every network gets its own spawned stream (Louvain, nulls).
    n_null : int
        Degree-preserving null networks per network for the modularity z-score and the
        rich club.
    n_runs : int
        Louvain runs for the consensus partition and for each maximum-Q search.
    hub_fraction : float
        Fraction of highest-degree nodes called hubs for ``hub_overlap``.
    progress : bool

    Returns
    -------
    DataFrame
        One row per network: ``source`` (``"real"`` or ``"synthetic"``), ``network`` (index
        within its source), ``n_edges``; ``Q`` and ``n_modules`` of the consensus partition,
        ``largest_module`` (fraction of nodes in the largest module); ``Q_max``,
        ``Q_null_mean``, ``Q_z``, ``Q_percentile`` against the degree-preserving null, with
        ``n_null`` and ``n_runs``; ``participation_mean`` and ``participation_ks`` (KS
        distance of the participation distribution from the real one); ``rich_club_max_norm``
        (largest normalised rich-club coefficient over levels with >= 5 rich nodes);
        ``module_span`` (mean distance within modules / mean distance of all pairs: < 1 means
        spatially compact modules); ``partition_ami`` (adjusted mutual information of the
        consensus partition with the real one: modules on the same nodes, hence in the same
        places); ``hub_overlap`` (Jaccard overlap of the hub sets with the real hubs) and
        ``degree_corr`` (Spearman correlation of node degrees with the real ones: hub
        topography). For the real row the last four are 1 by construction.

    Examples
    --------
    >>> import networkx as nx
    >>> real = nx.to_numpy_array(nx.connected_caveman_graph(4, 6))
    >>> fake = np.stack([nx.to_numpy_array(nx.gnm_random_graph(24, 60, seed=s)) for s in range(2)])
    >>> t = compare_mesoscale(real, fake, seed=0, n_null=4, n_runs=3, progress=False)
    >>> t["source"].tolist(), bool(t["Q"].iloc[0] > t["Q"].iloc[1])
    (['real', 'synthetic', 'synthetic'], True)
    """
    from scipy.stats import ks_2samp, spearmanr
    from sklearn.metrics import adjusted_mutual_info_score
    from tqdm.auto import tqdm

    from ..metrics import consensus_communities, modularity_significance, participation_coefficient, rich_club

    R = check_adjacency(real, "real", binary=True)
    n = R.shape[0]
    S = check_batch(synthetic, "synthetic", n=n)
    Dm = None if D is None else check_distance(D, n, name="D")
    n_null = check_int(n_null, "n_null", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    hub_fraction = check_float(hub_fraction, "hub_fraction", minimum=0.0, maximum=1.0)
    streams = seed_sequence(seed).spawn(len(S) + 1)
    nets = [R] + [s.astype(float) for s in S]
    rows = []
    ref = {}
    for b, A in enumerate(tqdm(nets, desc="compare", disable=not progress)):
        rng = np.random.default_rng(streams[b])
        deg = A.sum(axis=1)
        row = {"source": "real" if b == 0 else "synthetic", "network": 0 if b == 0 else b - 1,
               "n_edges": int(A.sum() // 2)}
        if deg.max() == 0:
            raise ValueError(f"network {b} ('real' if 0, else 'synthetic'[{b - 1}]) has no edges")
        part, Q, _ = consensus_communities(A, n_runs, 1.0, rng)
        sizes = np.bincount(part)
        t = modularity_significance(A, "degree", n_null, seed=rng, n_runs=n_runs)
        with np.errstate(invalid="ignore", divide="ignore"):  # bctpy divides by 0 for isolated nodes (P = 0)
            pc = participation_coefficient(A, part)
        rc = rich_club(A, n_null=n_null, seed=rng)
        rc = rc[(rc["n_nodes"] >= 5) & rc["phi_norm"].notna()]
        if b == 0:
            ref = {"part": part, "pc": pc, "deg": deg}
        row.update(
            Q=float(Q),
            n_modules=int(len(sizes)),
            largest_module=float(sizes.max() / n),
            Q_max=t.q,
            Q_null_mean=t.null_mean,
            Q_z=t.z,
            Q_percentile=t.percentile,
            n_null=n_null,
            n_runs=n_runs,
            participation_mean=float(pc.mean()),
            participation_ks=float(ks_2samp(pc, ref["pc"]).statistic) if b else 0.0,
            rich_club_max_norm=float(rc["phi_norm"].max()) if len(rc) else np.nan,
            module_span=_module_span(Dm, part) if Dm is not None else np.nan,
            partition_ami=float(adjusted_mutual_info_score(ref["part"], part)) if b else 1.0,
            hub_overlap=_hub_overlap(ref["deg"], deg, hub_fraction) if b else 1.0,
        )
        if b == 0:
            row["degree_corr"] = 1.0
        elif np.ptp(deg) == 0 or np.ptp(ref["deg"]) == 0:
            row["degree_corr"] = np.nan
        else:
            row["degree_corr"] = float(spearmanr(deg, ref["deg"]).statistic)
        rows.append(row)
    return pd.DataFrame(rows)


def summarise_comparison(table: pd.DataFrame, metrics: Sequence[str] = COMPARISON_METRICS,
                         *, z_threshold: float = 2.0) -> pd.DataFrame:
    """Does the real network lie inside the spread of the synthetic ones, metric by metric?

    Parameters
    ----------
    table : DataFrame
        From :func:`compare_mesoscale` (one ``real`` row, at least two ``synthetic`` rows).
    metrics : sequence of str
        Columns to summarise.
    z_threshold : float
        ``reproduced`` is ``|z| < z_threshold``.

    Returns
    -------
    DataFrame
        One row per metric: ``real``, ``synthetic_mean``, ``synthetic_sd``, ``z`` (``(real -
        mean) / sd``; +-inf when the synthetic values do not vary and differ from the real
        one), ``percentile`` (of the real value among the synthetic ones, ties half),
        ``reproduced``, ``n_synthetic``. For ``participation_ks``, ``partition_ami``,
        ``hub_overlap`` and ``degree_corr`` the real value is the ideal (0 or 1) and ``z``
        says how far the models are from it.

    Examples
    --------
    >>> t = pd.DataFrame({"source": ["real", "synthetic", "synthetic", "synthetic"],
    ...                   "Q": [0.6, 0.3, 0.32, 0.31]})
    >>> s = summarise_comparison(t, ["Q"])
    >>> bool(s.loc[0, "reproduced"]), float(s.loc[0, "percentile"])
    (False, 100.0)
    """
    if not isinstance(table, pd.DataFrame) or "source" not in table.columns:
        raise TypeError("'table' must be the DataFrame returned by compare_mesoscale")
    real = table[table["source"] == "real"]
    syn = table[table["source"] == "synthetic"]
    if len(real) != 1 or len(syn) < 2:
        raise ValueError(f"'table' needs one real row and >= 2 synthetic rows; got {len(real)} and {len(syn)}")
    z_threshold = check_float(z_threshold, "z_threshold", minimum=0.0)
    rows = []
    for mname in metrics:
        if mname not in table.columns:
            raise ValueError(f"'metrics' names {mname!r}, which is not a column of 'table'")
        r = float(real[mname].iloc[0])
        v = syn[mname].to_numpy(float)
        v = v[np.isfinite(v)]
        if len(v) == 0 or not np.isfinite(r):
            mean = sd = z = pct = np.nan
        else:
            mean, sd = float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0
            if sd > 0:
                z = (r - mean) / sd
            else:
                z = 0.0 if r == mean else float(np.sign(r - mean) * np.inf)
            pct = float(100.0 * (np.mean(v < r) + 0.5 * np.mean(v == r)))
        rows.append({"metric": mname, "real": r, "synthetic_mean": mean, "synthetic_sd": sd, "z": z,
                     "percentile": pct, "reproduced": bool(np.isfinite(z) and abs(z) < z_threshold),
                     "n_synthetic": int(len(v))})
    return pd.DataFrame(rows)


# -------------------------------------------------------------------------- edge scores
def _check_scores(labels, scores):
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=float)
    if y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"'labels' and 'scores' must be 1-D of equal length; got {y.shape} and {s.shape}")
    if not np.all(np.isin(y, (0, 1, True, False))):
        raise ValueError("'labels' must be 0/1 or boolean")
    if not np.all(np.isfinite(s)):
        raise ValueError("'scores' must be finite")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError(f"'labels' must contain both classes; got {int(y.sum())} positives of {len(y)}")
    return y, s


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve: probability that a random positive outscores a random negative.

    Ties count one half (Mann–Whitney U).

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> roc_auc([0, 1], [0.5, 0.5])
    0.5
    """
    from scipy.stats import rankdata

    y, s = _check_scores(labels, scores)
    r = rankdata(s)
    n1 = y.sum()
    n0 = len(y) - n1
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def precision_at_k(labels, scores, k: int | None = None) -> float:
    """Fraction of positives among the ``k`` highest scores (``k`` = number of positives by default).

    Ties at the cut-off are resolved by their expectation under a random order, so the value
    does not depend on how equal scores happen to be sorted.

    Examples
    --------
    >>> precision_at_k([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.0])
    0.5
    >>> precision_at_k([1, 0, 0, 0], [1.0, 1.0, 0.0, 0.0], k=1)
    0.5
    """
    y, s = _check_scores(labels, scores)
    k = int(y.sum()) if k is None else check_int(k, "k", minimum=1, maximum=len(y))
    order = np.argsort(-s, kind="stable")
    ss, yy = s[order], y[order]
    thr = ss[k - 1]
    above = ss > thr
    tie = ss == thr
    hits = yy[above].sum() + (k - above.sum()) * yy[tie].mean()
    return float(hits / k)


def average_precision(labels, scores) -> float:
    """Average precision (area under the precision–recall curve, step-wise; tie groups as one step).

    Examples
    --------
    >>> average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    0.8333333333333333
    """
    y, s = _check_scores(labels, scores)
    order = np.argsort(-s, kind="stable")
    ss, yy = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(ss) != 0), len(ss) - 1]  # end of each tie group
    tp = np.cumsum(yy)[last]
    prec = tp / (last + 1)
    rec_gain = np.diff(np.r_[0, tp]) / y.sum()
    return float((prec * rec_gain).sum())


def _rewire_new_edges(E, forbidden, n_swaps, r, flip):
    """Maslov–Sneppen swaps of the edge list ``E`` that never touch ``forbidden`` pairs."""
    n_e = E.shape[0]
    present = forbidden.copy()
    for a, b in E:
        present[a, b] = present[b, a] = True
    for t in range(n_swaps):
        e1, e2 = r[t]
        if e1 == e2:
            continue
        a, b = E[e1]
        c, d = E[e2]
        if flip[t]:
            c, d = d, c
        # (a, b), (c, d) -> (a, d), (c, b)
        if a == d or c == b or a == c or b == d:
            continue
        if present[a, d] or present[c, b]:
            continue
        present[a, b] = present[b, a] = False
        present[c, d] = present[d, c] = False
        present[a, d] = present[d, a] = True
        present[c, b] = present[b, c] = True
        E[e1] = (a, d)
        E[e2] = (c, b)
    return E


try:  # pragma: no cover - numba is a dependency, the fallback is for odd environments
    import numba

    _rewire_new_edges = numba.njit(cache=True)(_rewire_new_edges)
except Exception:  # pragma: no cover
    pass


def degree_preserving_growth(seed_net, next_net, n_networks: int = 100, seed=None, *, itr: int = 20):
    """Random growth that gives every node exactly its real number of new connections.

    The new edges (in ``next_net`` but not in ``seed_net``) are randomised by double-edge
    swaps (Maslov & Sneppen 2002) that keep each node's number of new edges and never
    create a pair already connected in ``seed_net``; the result is added to ``seed_net``.
    This baseline knows *how many* new partners each node gets — information a wiring rule
    does not have — but not *which*, so beating it means predicting partner identity.

    Parameters
    ----------
    seed_net, next_net : array_like, shape (n, n)
        Symmetric networks of the earlier and later stage (same nodes).
    n_networks : int
    seed : int, SeedSequence or Generator, optional
    itr : int
        Attempted swaps per new edge.

    Returns
    -------
    ndarray of bool, shape (n_networks, n, n)
        ``seed_net`` plus a randomised set of new edges, one network per row.

    Examples
    --------
    >>> import networkx as nx
    >>> A0 = np.zeros((8, 8)); A1 = nx.to_numpy_array(nx.cycle_graph(8))
    >>> nets = degree_preserving_growth(A0, A1, 3, seed=0)
    >>> nets.shape, bool((nets.sum(axis=2) == 2).all())
    ((3, 8, 8), True)
    """
    A0 = check_adjacency(seed_net, "seed_net", binary=True).astype(bool)
    A1 = check_adjacency(next_net, "next_net", binary=True).astype(bool)
    if A0.shape != A1.shape:
        raise ValueError(f"'seed_net' and 'next_net' must have the same shape; got {A0.shape} and {A1.shape}")
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    itr = check_int(itr, "itr", minimum=1)
    new = A1 & ~A0
    iu = np.triu_indices(A0.shape[0], 1)
    E0 = np.column_stack([iu[0][new[iu]], iu[1][new[iu]]]).astype(np.int64)
    forbidden = A0 | np.eye(A0.shape[0], dtype=bool)
    n_swaps = itr * max(len(E0), 1)
    out = np.empty((n_networks,) + A0.shape, dtype=bool)
    for b, ss in enumerate(seed_sequence(seed).spawn(n_networks)):
        rng = np.random.default_rng(ss)
        E = E0.copy()
        if len(E) >= 2:
            r = rng.integers(0, len(E), size=(n_swaps, 2)).astype(np.int64)
            flip = rng.random(n_swaps) < 0.5
            # randomise the orientation of every edge once so swaps reach both pairings
            sw = rng.random(len(E)) < 0.5
            E[sw] = E[sw][:, ::-1]
            E = _rewire_new_edges(E, forbidden, n_swaps, r, flip)
        A = A0.copy()
        A[E[:, 0], E[:, 1]] = True
        A[E[:, 1], E[:, 0]] = True
        out[b] = A
    return out


@dataclasses.dataclass
class GrowthForecast:
    """Outcome of :func:`growth_forward_scores`.

    Attributes
    ----------
    table : DataFrame
        One row per predictor (``model``, ``degree_baseline``, ``chance``): ``roc_auc``,
        ``precision_at_k``, ``average_precision``, ``k``, plus ``n_candidates``, ``n_new``,
        ``n_pruned`` (seed edges absent from the later stage; growth cannot remove them),
        ``n_grown`` (edges each model network added), ``n_networks``, ``rule``, ``eta``, ``gamma``.
    pairs : ndarray, shape (n_candidates, 2)
        The candidate pairs ``(i, j)``, ``i < j``: unconnected in the seed network.
    labels : ndarray of bool
        Whether each candidate is connected in the later stage.
    model_score, baseline_score : ndarray
        Fraction of grown (resp. baseline) networks that contain each candidate.
    """

    table: pd.DataFrame
    pairs: np.ndarray
    labels: np.ndarray
    model_score: np.ndarray
    baseline_score: np.ndarray

    def roc_curve(self, which: str = "model"):
        """False- and true-positive rates of ``"model"`` or ``"degree_baseline"`` scores."""
        s = {"model": self.model_score, "degree_baseline": self.baseline_score}.get(which)
        if s is None:
            raise ValueError(f"'which' must be one of ['model', 'degree_baseline']; got {which!r}")
        order = np.argsort(-s, kind="stable")
        ss, yy = s[order], self.labels[order]
        last = np.r_[np.flatnonzero(np.diff(ss) != 0), len(ss) - 1]
        tp = np.r_[0, np.cumsum(yy)[last]]
        fp = np.r_[0, np.cumsum(~yy)[last]]
        return fp / max(fp[-1], 1), tp / max(tp[-1], 1)


def growth_forward_scores(seed_net, next_net, rule, eta, gamma, D, n_networks: int = 100, seed=None, *,
                          model_var=("powerlaw", "powerlaw"), grow_to: str = "new_edges", k: int | None = None,
                          itr: int = 20, progress: bool = False) -> GrowthForecast:
    """How well does a wiring rule predict which connections appear between two stages?

    The model starts from ``seed_net`` and adds as many edges as appear between the stages
    (:func:`~mesoscale.generative.generate` with ``seed_network``); this is repeated
    ``n_networks`` times. Each candidate pair (unconnected in ``seed_net``) is scored by
    the fraction of grown networks that contain it, and the scores are compared with the
    pairs that are connected in ``next_net``. The same is done for
    :func:`degree_preserving_growth` and for chance (every candidate equally likely).

    Parameters
    ----------
    seed_net, next_net : array_like, shape (n, n)
        Symmetric networks of the earlier and the later stage on the same nodes (see
        :func:`align_connectomes`).
    rule, eta, gamma, model_var
        The fitted rule and parameters (``gamma`` is ignored for ``"sptl"``).
    D : array_like, shape (n, n)
        Distances.
    n_networks : int
        Grown networks (and baseline networks).
    seed : int, SeedSequence or Generator, optional
    grow_to : {"new_edges", "edge_count"}
        ``"new_edges"`` (default): add exactly the number of pairs that are new in
        ``next_net``, so the model makes as many predictions as there are new connections
        even when some seed edges are pruned between the stages. ``"edge_count"``: grow until
        the network has as many edges as ``next_net`` (which then needs at least as many
        edges as ``seed_net``, because growth cannot remove edges).
    k : int, optional
        Cut-off of ``precision_at_k`` (default: the number of new edges).
    itr : int
        Swaps per edge of the baseline.
    progress : bool

    Returns
    -------
    GrowthForecast

    Examples
    --------
    >>> xy = np.random.default_rng(0).random((25, 2))
    >>> D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> from mesoscale.generative import generate
    >>> A1 = generate(D, 60, "sptl", -3.0, seed=1)[0]
    >>> A0 = A1 & (np.random.default_rng(2).random(A1.shape) < 0.5); A0 = np.triu(A0, 1); A0 = A0 | A0.T
    >>> fc = growth_forward_scores(A0, A1, "sptl", -3.0, None, D, n_networks=20, seed=0)
    >>> bool(fc.table.set_index("predictor").loc["model", "roc_auc"] > 0.7)
    True
    """
    from .models import generate

    A0 = check_adjacency(seed_net, "seed_net", binary=True).astype(bool)
    A1 = check_adjacency(next_net, "next_net", binary=True).astype(bool)
    n = A0.shape[0]
    if A1.shape != A0.shape:
        raise ValueError(f"'seed_net' and 'next_net' must have the same shape; got {A0.shape} and {A1.shape}")
    Dm = check_distance(D, n, name="D")
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    if grow_to not in ("new_edges", "edge_count"):
        raise ValueError(f"'grow_to' must be one of ['new_edges', 'edge_count']; got {grow_to!r}")
    m0, m1 = int(A0.sum()) // 2, int(A1.sum()) // 2
    if grow_to == "edge_count" and m1 < m0:
        raise ValueError(f"'next_net' has fewer edges ({m1}) than 'seed_net' ({m0}); growth only adds edges")
    iu = np.triu_indices(n, 1)
    cand = ~A0[iu]
    pairs = np.column_stack([iu[0][cand], iu[1][cand]])
    labels = A1[iu][cand]
    n_new = int(labels.sum())
    if n_new == 0 or n_new == len(labels):
        raise ValueError(f"'next_net' adds {n_new} of {len(labels)} candidate pairs; nothing to predict")
    k = n_new if k is None else check_int(k, "k", minimum=1, maximum=len(labels))
    s_model, s_base = seed_sequence(seed).spawn(2)
    g = None if rule == "sptl" else gamma
    m_grow = m0 + n_new if grow_to == "new_edges" else m1
    nets = generate(Dm, m_grow, rule, eta, g, model_var=model_var, seed_network=A0, n_networks=n_networks,
                    seed=s_model, progress=progress)
    model_score = nets[:, pairs[:, 0], pairs[:, 1]].mean(axis=0)
    base = degree_preserving_growth(A0, A1, n_networks, s_base, itr=itr)
    base_score = base[:, pairs[:, 0], pairs[:, 1]].mean(axis=0)
    common = dict(n_candidates=int(len(labels)), n_new=n_new, n_pruned=int((A0 & ~A1)[iu].sum()),
                  n_grown=m_grow - m0,
                  n_networks=n_networks, rule=rule, eta=float(eta),
                  gamma=np.nan if g is None else float(g))
    rows = []
    for name, s in (("model", model_score), ("degree_baseline", base_score)):
        rows.append({"predictor": name, "roc_auc": roc_auc(labels, s), "precision_at_k": precision_at_k(labels, s, k),
                     "average_precision": average_precision(labels, s), "k": k, **common})
    rows.append({"predictor": "chance", "roc_auc": 0.5, "precision_at_k": n_new / len(labels),
                 "average_precision": n_new / len(labels), "k": k, **common})
    return GrowthForecast(table=pd.DataFrame(rows), pairs=pairs, labels=labels,
                          model_score=model_score, baseline_score=base_score)


# ------------------------------------------------------------------------------ figures
def plot_energy_landscape(table, rules: Sequence[str] | None = None, *, ncols: int = 4, vmax: float | None = None):
    """Energy of every evaluated point in the ``(eta, gamma)`` plane, one panel per rule.

    ``sptl`` (no ``gamma``) is drawn as energy against ``eta``. The best point of each rule is
    ringed. Returns the :class:`~matplotlib.figure.Figure`.
    """
    import matplotlib.pyplot as plt

    df = _check_fit_table(table)
    rules = list(dict.fromkeys(df["rule"])) if rules is None else list(rules)
    ncols = max(1, min(check_int(ncols, "ncols", minimum=1), len(rules)))
    nrows = int(np.ceil(len(rules) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.6 * nrows), squeeze=False)
    pts = df.groupby(["rule", "level", "point"], sort=False).agg(
        eta=("eta", "first"), gamma=("gamma", "first"), energy=("energy", "mean")).reset_index()
    vmax = float(pts["energy"].quantile(0.95)) if vmax is None else vmax
    vmin = float(pts["energy"].min())
    sc = None
    for ax, rule in zip(axes.flat, rules):
        p = pts[pts["rule"] == rule]
        if len(p) == 0:
            raise ValueError(f"'rules' names {rule!r}, which is not in the table")
        b = p.loc[p["energy"].idxmin()]
        if rule == "sptl":
            ax.scatter(p["eta"], p["energy"], s=8, c="0.3")
            ax.scatter([b["eta"]], [b["energy"]], s=60, facecolors="none", edgecolors="C3")
            ax.set_ylabel("energy")
        else:
            sc = ax.scatter(p["eta"], p["gamma"], c=p["energy"], s=8, cmap="viridis", vmin=vmin, vmax=vmax)
            ax.scatter([b["eta"]], [b["gamma"]], s=60, facecolors="none", edgecolors="C3")
            ax.set_ylabel(r"$\gamma$")
        ax.set_xlabel(r"$\eta$")
        ax.set_title(f"{rule} (min {b['energy']:.2f})", fontsize=9)
    for ax in list(axes.flat)[len(rules):]:
        ax.set_visible(False)
    if sc is not None:
        fig.colorbar(sc, ax=axes.ravel().tolist(), shrink=0.8, label="energy (mean over repeats)")
    return fig


def plot_energy_landscapes(fits: dict, rules: Sequence[str] | None = None, *, panel_size=(2.2, 1.8)):
    """Energy landscapes of several datasets: one row per dataset, one column per rule.

    ``fits`` maps a dataset name to its :class:`~mesoscale.generative.FitResult` (or fit
    table). Colours are normalised per row (dark: low energy) and the best point of each
    panel is ringed; ``sptl`` panels show energy against ``eta``. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    if not isinstance(fits, dict) or not fits:
        raise TypeError("'fits' must be a non-empty dict mapping dataset names to fits")
    tables = {k: _check_fit_table(v) for k, v in fits.items()}
    if rules is None:
        rules = list(dict.fromkeys(r for t in tables.values() for r in t["rule"]))
    rules = list(rules)
    nrows, ncols = len(tables), len(rules)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows), squeeze=False)
    for i, (name, df) in enumerate(tables.items()):
        pts = df.groupby(["rule", "level", "point"], sort=False).agg(
            eta=("eta", "first"), gamma=("gamma", "first"), energy=("energy", "mean")).reset_index()
        vmin, vmax = float(pts["energy"].min()), float(pts["energy"].quantile(0.95))
        for j, rule in enumerate(rules):
            ax = axes[i, j]
            p = pts[pts["rule"] == rule]
            if len(p) == 0:
                ax.set_visible(False)
                continue
            b = p.loc[p["energy"].idxmin()]
            if rule == "sptl":
                ax.scatter(p["eta"], p["energy"], s=5, c="0.3")
                ax.scatter([b["eta"]], [b["energy"]], s=40, facecolors="none", edgecolors="C3")
            else:
                ax.scatter(p["eta"], p["gamma"], c=p["energy"], s=5, cmap="viridis", vmin=vmin, vmax=vmax)
                ax.scatter([b["eta"]], [b["gamma"]], s=40, facecolors="none", edgecolors="C3")
            ax.set_title(f"{rule}: {b['energy']:.2f}", fontsize=7, pad=2)
            ax.tick_params(labelsize=6)
            if j == 0:
                ax.set_ylabel(f"{name}\n" + ("energy" if rule == "sptl" else r"$\gamma$"), fontsize=7)
            if i == nrows - 1:
                ax.set_xlabel(r"$\eta$", fontsize=7)
    return fig


def plot_rule_ranking(topk: pd.DataFrame, *, datasets: Sequence[str] | None = None, column: str = "dataset"):
    """Distribution of the top-k energies per rule (box plots), one panel per dataset.

    ``topk`` is :func:`topk_energies` output, optionally stacked over datasets with a
    ``dataset`` column. Rules are ordered by median energy within each panel.
    """
    import matplotlib.pyplot as plt

    if not isinstance(topk, pd.DataFrame) or not {"rule", "energy"} <= set(topk.columns):
        raise TypeError("'topk' must be a DataFrame from topk_energies")
    if column not in topk.columns:
        topk = topk.assign(**{column: ""})
    datasets = list(dict.fromkeys(topk[column])) if datasets is None else list(datasets)
    ncols = min(4, len(datasets))
    nrows = int(np.ceil(len(datasets) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows), squeeze=False, sharex=True)
    for ax, ds in zip(axes.flat, datasets):
        g = topk[topk[column] == ds]
        med = g.groupby("rule")["energy"].median().sort_values()
        ax.boxplot([g.loc[g["rule"] == r, "energy"].to_numpy() for r in med.index], orientation="horizontal",
                   tick_labels=list(med.index), widths=0.6, showfliers=False)
        ax.invert_yaxis()
        ax.set_title(ds, fontsize=9)
        ax.set_xlabel("energy (top-k networks)")
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(datasets):]:
        ax.set_visible(False)
    return fig


def plot_comparison(tables: dict, metrics: Sequence[str] = ("Q", "Q_z", "n_modules", "participation_mean",
                                                            "rich_club_max_norm", "module_span", "degree_corr")):
    """Real value (diamond) against the synthetic spread (grey dots) for each metric and dataset.

    ``tables`` maps a dataset name to its :func:`compare_mesoscale` table.
    """
    import matplotlib.pyplot as plt

    if not isinstance(tables, dict) or not tables:
        raise TypeError("'tables' must be a non-empty dict of compare_mesoscale tables")
    names = list(tables)
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.3 * len(metrics), 0.35 * len(names) + 1.4),
                             squeeze=False, sharey=True)
    for ax, mname in zip(axes[0], metrics):
        for y, ds in enumerate(names):
            t = tables[ds]
            syn = t.loc[t["source"] == "synthetic", mname].to_numpy(float)
            ax.scatter(syn, np.full(len(syn), y), s=10, c="0.6", zorder=1)
            ax.scatter(t.loc[t["source"] == "real", mname], [y], s=30, c="C3", marker="D", zorder=2)
        ax.set_title(mname, fontsize=9)
        ax.set_yticks(range(len(names)), names, fontsize=7)
    axes[0, 0].invert_yaxis()
    return fig


def plot_growth_forward(table: pd.DataFrame, *, x: str = "transition"):
    """ROC AUC and precision@k of the model, the degree-preserving baseline and chance per transition.

    ``table`` stacks :attr:`GrowthForecast.table` rows with a ``transition`` column.
    """
    import matplotlib.pyplot as plt

    if not isinstance(table, pd.DataFrame) or not {"predictor", "roc_auc", "precision_at_k", x} <= set(table.columns):
        raise TypeError(f"'table' must stack GrowthForecast tables with a {x!r} column")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    steps = list(dict.fromkeys(table[x]))
    style = {"model": ("C0", "o-"), "degree_baseline": ("C1", "s--"), "chance": ("0.5", ":")}
    for ax, col in zip(axes, ("roc_auc", "precision_at_k")):
        for pred, (c, ls) in style.items():
            g = table[table["predictor"] == pred].set_index(x).reindex(steps)
            ax.plot(range(len(steps)), g[col], ls, color=c, label=pred.replace("_", " "))
        ax.set_xticks(range(len(steps)), steps, rotation=30, fontsize=7)
        ax.set_ylabel(col.replace("_", " "))
    axes[0].legend(fontsize=8)
    return fig


def plot_trajectories(table: pd.DataFrame, columns: Sequence[tuple], *, x: str = "age", hue: str | None = "rule"):
    """Panels of ``y`` (with optional error column) against ``x``, one line per ``hue``.

    ``columns`` is a sequence of ``(y, yerr_or_None, label)``.
    """
    import matplotlib.pyplot as plt

    if not isinstance(table, pd.DataFrame) or x not in table.columns:
        raise TypeError(f"'table' must be a DataFrame with a {x!r} column")
    fig, axes = plt.subplots(1, len(columns), figsize=(3.2 * len(columns), 2.8), squeeze=False)
    groups = [("", table)] if hue is None else list(table.groupby(hue, sort=False))
    for ax, (y, err, label) in zip(axes[0], columns):
        for name, g in groups:
            g = g.sort_values(x)
            if y not in g.columns:
                raise ValueError(f"column {y!r} is not in 'table'")
            if g[y].notna().sum() == 0:
                continue
            ax.errorbar(g[x], g[y], yerr=None if err is None else g[err], marker="o", ms=3, capsize=2,
                        label=str(name) if hue else None)
        ax.set_xlabel(x)
        ax.set_ylabel(label)
    if hue is not None:
        axes[0, 0].legend(fontsize=7)
    return fig
