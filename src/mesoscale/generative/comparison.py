"""Out-of-sample mesoscale comparison: do fitted models reproduce what they were not fitted on?

:func:`compare_mesoscale` measures, on the real network and on each synthetic one,
properties the energy never saw: modularity against a degree-preserving null, module
count and sizes, participation, rich club, how compact modules are in space, whether
modules and hubs sit on the same nodes as in the real network.
:func:`summarize_comparison` says, metric by metric, whether the real value lies inside
the spread of the synthetic ones (z-score and percentile from
:func:`mesoscale.metrics.compare_with_null`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import check_adjacency, check_batch, check_distance, check_float, check_int, seed_sequence
from ..metrics import compare_with_null

__all__ = ["COMPARISON_METRICS", "compare_mesoscale", "summarize_comparison"]


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
"""Columns of :func:`compare_mesoscale` compared by :func:`summarize_comparison`."""


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


def summarize_comparison(table: pd.DataFrame, metrics: Sequence[str] = COMPARISON_METRICS,
                         *, z_threshold: float = 2.0) -> pd.DataFrame:
    """Does the real network lie inside the spread of the synthetic ones, metric by metric?

    Parameters
    ----------
    table : DataFrame
        From :func:`compare_mesoscale` (one ``real`` row, at least two ``synthetic`` rows).
    metrics : sequence of str
        Columns to summarize.
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
    >>> s = summarize_comparison(t, ["Q"])
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
        if len(v) < 2 or not np.isfinite(r):
            mean = sd = z = pct = np.nan
        else:
            c = compare_with_null(r, v)
            mean, sd, z, pct = c.null_mean, c.null_sd, c.z, c.percentile
        rows.append({"metric": mname, "real": r, "synthetic_mean": mean, "synthetic_sd": sd, "z": z,
                     "percentile": pct, "reproduced": bool(np.isfinite(z) and abs(z) < z_threshold),
                     "n_synthetic": int(len(v))})
    return pd.DataFrame(rows)
