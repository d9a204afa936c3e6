"""The mesoscale survey of the real connectomes (chapter 03): modules against the right null, in space, by threshold.

:func:`survey`
    One row per dataset: its consensus modules and its maximum modularity against the null that
    fits its kind — degree-preserving rewiring for sparse networks, the strength-preserving null
    on the weights for dense tractography (where degree-preserving swaps change nothing) —
    with ``z``, the effect ``ΔQ`` and its interval, the empirical p and its Holm adjustment over
    the datasets. Where nodes have positions, the same against the *spatial* null (degrees and
    the edge-length distribution kept): are the modules more than what short wiring implies?
    And the *module span* (mean distance within modules over the mean distance of all pairs)
    against random relabellings of the same module sizes: are modules compact in space?
:func:`density_sensitivity`
    How a dense tractography network's modularity depends on where it is thresholded (the
    strongest fraction of pairs kept, degree-preserving null) and what the full weighted matrix
    says against the strength null.
:func:`survey_findings`
    The chapter's numbered findings from these tables (no number typed by hand).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import as_rng, check_float, check_int, seed_sequence
from ._registry import load
from .preparation import binary_at_density

__all__ = ["SURVEY_COLUMNS", "survey", "survey_tables", "survey_network", "module_span", "density_sensitivity",
           "survey_findings"]

#: Columns of :func:`survey`.
SURVEY_COLUMNS = [
    "dataset", "species", "stage", "age_h", "nodes", "edges", "density", "network", "null", "modules", "Q", "Q_max",
    "Q_null", "Q_null_sd", "z", "delta", "delta_low", "delta_high", "p", "p_adj", "n_null", "fragmented",
    "z_spatial", "delta_spatial", "delta_spatial_low", "delta_spatial_high", "p_spatial", "p_spatial_adj",
    "span", "span_null", "p_span", "participation", "clustering",
]


def _weighted(c) -> np.ndarray:
    W = sum(np.asarray(c.adjacency(layer), float) for layer in c.layers)
    W = np.maximum(W, W.T)
    np.fill_diagonal(W, 0.0)
    return W


def module_span(D, partition, *, n_perm: int = 1000, seed=None) -> tuple[float, float, float]:
    """Mean within-module distance over the mean distance of all pairs, and its relabelling null.

    Returns ``(span, null_mean, p)`` with ``p`` the share (plus one, over ``n_perm`` plus one)
    of random relabellings with the same module sizes whose span is at most the observed one:
    a small ``p`` means modules more compact in space than chance; ``span`` near 1 means
    modules spread over the whole space.

    Examples
    --------
    >>> x = np.linspace(0, 1, 20)[:, None]; D = np.abs(x - x.T)
    >>> span, null, p = module_span(D, np.repeat([0, 1], 10), n_perm=200, seed=0)
    >>> round(span, 2), round(null, 1), p < 0.01
    (0.52, 1.0, True)
    """
    D = np.asarray(D, float)
    part = np.asarray(partition)
    n_perm = check_int(n_perm, "n_perm", minimum=1)
    if D.shape != (part.size, part.size):
        raise ValueError(f"'D' must be ({part.size}, {part.size}) for the partition; got {D.shape}")
    iu = np.triu_indices(part.size, 1)
    d = D[iu]
    if d.mean() == 0:
        return np.nan, np.nan, np.nan

    def span_of(p):
        same = p[iu[0]] == p[iu[1]]
        return d[same].mean() / d.mean() if same.any() else np.nan

    obs = span_of(part)
    rng = as_rng(seed)
    null = np.array([span_of(rng.permutation(part)) for _ in range(n_perm)])
    return float(obs), float(np.nanmean(null)), float((1 + np.sum(null <= obs)) / (1 + n_perm))


def survey(names: Sequence[str], *, n_null: int = 20, n_runs: int = 50, n_runs_null: int = 5, gamma: float = 1.0,
           dense_threshold: float = 0.4, spatial: bool = True, n_perm: int = 1000, seed=0,
           progress: bool = False) -> tuple[pd.DataFrame, dict]:
    """Modules of every dataset against its null, in space and as a whole (see the module docstring).

    Parameters
    ----------
    names : sequence of str
        Datasets (:func:`mesoscale.connectomes.dataset_names`).
    n_null : int
        Null networks per test.
    n_runs : int
        Louvain runs behind each consensus partition.
    n_runs_null : int
        Louvain runs per maximum-Q search (observed and nulls alike).
    gamma : float
        Resolution parameter of modularity.
    dense_threshold : float
        Binary density above which a dataset is tested on its weights against the strength
        null (``network = "weighted"``) instead of as a binary network against the degree null.
    spatial : bool
        Also test sparse datasets with positions against the spatial null.
    n_perm : int
        Relabellings behind the module-span null.
    seed : int
        Root seed; dataset ``k`` of ``names`` draws from the ``k``-th child of its sequence.

    Returns
    -------
    table : DataFrame
        :data:`SURVEY_COLUMNS`, one row per dataset (spatial columns NaN where not tested).
    partitions : dict
        ``name -> (network, consensus partition)``.

    Examples
    --------
    >>> t, parts = survey(["human_dk68"], n_null=3, n_runs=3, n_runs_null=1, n_perm=50)
    >>> t.loc[0, ["network", "null"]].tolist(), bool(t.loc[0, "delta"] > 0), parts["human_dk68"][0].shape
    (['binary', 'degree'], True, (68, 68))
    """
    from tqdm.auto import tqdm

    from ..metrics import (adjust_pvalues, clustering, consensus_communities, modularity_significance,
                           participation_coefficient)

    names = list(names)
    if not names:
        raise ValueError("'names' must list at least one dataset")
    n_null = check_int(n_null, "n_null", minimum=2)
    dense_threshold = check_float(dense_threshold, "dense_threshold", minimum=0.0, maximum=1.0)
    streams = dict(zip(names, seed_sequence(seed).spawn(len(names))))
    rows, partitions = [], {}
    for name in tqdm(names, desc="datasets", disable=not progress):
        c = load(name)
        A = c.binary()
        dense = c.density() > dense_threshold
        M, null, network = (_weighted(c), "strength", "weighted") if dense else (A, "degree", "binary")
        s_part, s_test, s_spatial, s_span = streams[name].spawn(4)
        part, Q, _ = consensus_communities(M, n_runs=n_runs, gamma=gamma, seed=s_part)
        t = modularity_significance(M, null, n_null=n_null, n_runs=n_runs_null, gamma=gamma, seed=s_test,
                                    on_fragmented="ignore")
        row = {"dataset": name, "species": c.species, "stage": c.stage, "age_h": c.age, "nodes": c.n,
               "edges": c.n_edges(), "density": c.density(), "network": network, "null": null,
               "modules": int(part.max() + 1), "Q": Q, "Q_max": t.q, "Q_null": t.null_mean, "Q_null_sd": t.null_sd,
               "z": t.z, "delta": t.delta, "delta_low": t.delta_low, "delta_high": t.delta_high, "p": t.p_value,
               "n_null": n_null, "fragmented": t.fragmented}
        if c.positions is not None:
            D = c.distances()
            row["span"], row["span_null"], row["p_span"] = module_span(D, part, n_perm=n_perm, seed=s_span)
            if spatial and not dense:
                ts = modularity_significance(A, "spatial", D=D, n_null=n_null, n_runs=n_runs_null, gamma=gamma,
                                             seed=s_spatial, on_fragmented="ignore")
                row.update(z_spatial=ts.z, delta_spatial=ts.delta, delta_spatial_low=ts.delta_low,
                           delta_spatial_high=ts.delta_high, p_spatial=ts.p_value)
        with np.errstate(invalid="ignore", divide="ignore"):  # isolated neurons have no participation
            row["participation"] = float(np.nanmean(participation_coefficient(M, part)))
        row["clustering"] = float(clustering(A).mean())
        rows.append(row)
        partitions[name] = (M, part)
    table = pd.DataFrame(rows).reindex(columns=SURVEY_COLUMNS)
    table["p_adj"] = adjust_pvalues(table["p"].to_numpy(float), "bh")
    tested = table["p_spatial"].notna().to_numpy()
    if tested.any():
        table.loc[tested, "p_spatial_adj"] = adjust_pvalues(table.loc[tested, "p_spatial"].to_numpy(float), "bh")
    return table, partitions


def density_sensitivity(name: str, densities: Sequence[float], *, n_null: int = 20, n_runs: int = 5, seed=0,
                        progress: bool = False) -> pd.DataFrame:
    """Modularity of a weighted dataset at several thresholds, and of its full weights.

    Each density keeps the strongest fraction of pairs
    (:func:`~mesoscale.connectomes.binary_at_density`) and is tested against the
    degree-preserving null; the last row is the full weighted matrix against the strength null.

    Returns
    -------
    DataFrame
        ``dataset, network, density, edges, Q, Q_null, delta, delta_low, delta_high, z, p, n_null``.

    Examples
    --------
    >>> t = density_sensitivity("human_dk68", [0.1], n_null=3, n_runs=1)
    >>> t["network"].tolist()
    ['strongest 10%', 'weighted (all)']
    """
    from tqdm.auto import tqdm

    from ..metrics import modularity_significance

    densities = [check_float(d, "densities", minimum=0.0, maximum=1.0) for d in densities]
    if not densities:
        raise ValueError("'densities' must list at least one density in (0, 1]")
    c = load(name)
    W = _weighted(c)
    streams = seed_sequence(seed).spawn(len(densities) + 1)
    rows = []
    for d, ss in tqdm(list(zip(densities, streams)), desc=f"{name} thresholds", disable=not progress):
        A = binary_at_density(W, d)
        t = modularity_significance(A, "degree", n_null=n_null, n_runs=n_runs, seed=ss, on_fragmented="ignore")
        rows.append({"dataset": name, "network": f"strongest {d:.0%}", "density": d, "edges": int(A.sum() // 2),
                     "Q": t.q, "Q_null": t.null_mean, "delta": t.delta, "delta_low": t.delta_low,
                     "delta_high": t.delta_high, "z": t.z, "p": t.p_value, "n_null": n_null})
    t = modularity_significance(W, "strength", n_null=n_null, n_runs=n_runs, seed=streams[-1], on_fragmented="ignore")
    rows.append({"dataset": name, "network": "weighted (all)", "density": float(np.mean(W[np.triu_indices(c.n, 1)] > 0)),
                 "edges": int(np.count_nonzero(np.triu(W, 1))), "Q": t.q, "Q_null": t.null_mean, "delta": t.delta,
                 "delta_low": t.delta_low, "delta_high": t.delta_high, "z": t.z, "p": t.p_value, "n_null": n_null})
    return pd.DataFrame(rows)


def _fmt(x, d=3):
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{d}f}"


def survey_findings(table: pd.DataFrame, *, sensitivity: pd.DataFrame | None = None, calibration=None,
                    alpha: float = 0.05) -> str:
    """Chapter 03's numbered findings from :func:`survey` (and the optional sensitivity and calibration).

    Examples
    --------
    >>> t, _ = survey(["human_dk68"], n_null=3, n_runs=3, n_runs_null=1, n_perm=50)
    >>> survey_findings(t).startswith("1. **Modules against the right null.**")
    True
    """
    sig = table[table["p_adj"] < alpha]
    lines = [f"**Modules against the right null.** {len(sig)} of {len(table)} datasets are more modular than their "
             f"null (Benjamini–Hochberg over the datasets, false discovery rate {alpha}; {int(table['n_null'].iloc[0])}"
             " nulls each, so p ≥ 1/(1 + nulls)); ΔQ ranges from "
             f"{_fmt(table['delta'].min())} (`{table.loc[table['delta'].idxmin(), 'dataset']}`) to "
             f"{_fmt(table['delta'].max())} (`{table.loc[table['delta'].idxmax(), 'dataset']}`). Raw Q is not "
             "comparable across densities (the null's own Q ranges from "
             f"{_fmt(table['Q_null'].min())} to {_fmt(table['Q_null'].max())}); ΔQ, the excess over the null, is "
             "the effect size to compare."]
    sp = table[table["p_spatial"].notna()]
    if len(sp):
        beyond = sp[sp["p_spatial_adj"] < alpha]
        lines.append(f"**Beyond short wiring.** Against the spatial null (degrees and edge lengths kept), {len(beyond)}"
                     f" of {len(sp)} spatial datasets keep significant modules (Benjamini–Hochberg), with ΔQ from "
                     f"{_fmt(sp['delta_spatial'].min())} to {_fmt(sp['delta_spatial'].max())} — "
                     f"against {_fmt(sp['delta'].min())}–{_fmt(sp['delta'].max())} over the degree null: the part of "
                     "the modularity that proximity alone does not explain.")
    spn = table[table["span"].notna()]
    if len(spn):
        compact = spn[spn["p_span"] < alpha]
        spread = spn[spn["p_span"] >= alpha]
        text = (f"**Are modules compact in space?** Module span (within-module over all-pairs mean distance; 1 = "
                f"spread over the whole space) ranges from {_fmt(spn['span'].min())} to {_fmt(spn['span'].max())}; "
                f"{len(compact)} of {len(spn)} datasets have modules more compact than random relabellings of the "
                "same sizes (p < α)")
        text += (": " + ", ".join(f"`{d}`" for d in spread["dataset"]) + " do not." if len(spread) else ".")
        if spread["dataset"].str.startswith("celegans_").any():
            text += (" In the worm, synapses form where neurites meet (most of them in the nerve ring) rather than "
                     "near the cell bodies whose positions are measured, so soma distance says little about module "
                     "membership in the head.")
        lines.append(text)
    if sensitivity is not None and len(sensitivity):
        s = sensitivity
        positive = bool((s["delta_low"] > 0).all())
        lines.append(f"**Thresholds change raw Q.** `{s['dataset'].iloc[0]}` kept at "
                     + ", ".join(f"{r.network} Q = {_fmt(r.Q)} (ΔQ {_fmt(r.delta)} [{_fmt(r.delta_low)}, "
                                 f"{_fmt(r.delta_high)}])" for r in s.itertuples())
                     + (": the threshold sets raw Q and the size of the excess, but every version stays above its "
                        "own null." if positive else ": at some thresholds the excess over the null is not "
                        "resolved — the verdict depends on the threshold."))
    if calibration is not None:
        cal = calibration
        lines.append(f"**Is z calibrated at this null count?** On {cal.n_replicates} Erdős–Rényi replicates tested "
                     f"exactly like the datasets ({cal.null} null, {cal.n_null} nulls), z has mean "
                     f"{_fmt(cal.mean_z, 2)} and sd {_fmt(cal.sd_z, 2)} (ideal with {cal.n_null} Gaussian nulls: 0 and "
                     f"{_fmt(cal.sd_z_ideal, 2)}), |z| > 1.96 in {cal.frac_z_beyond:.0%} (ideal "
                     f"{cal.frac_z_beyond_ideal:.0%}); the empirical p is {'' if cal.ks_p_pvalue >= 0.05 else 'not '}"
                     f"uniform (KS p = {_fmt(cal.ks_p_pvalue, 2)}). The p-values, not z, carry the significance here.")
    return "\n".join(f"{i}. {x}" for i, x in enumerate(lines, 1))


def survey_tables(names: Sequence[str], **options) -> dict[str, pd.DataFrame]:
    """:func:`survey` as tables for a stored run: ``table`` and ``partitions`` (dataset, node, module).

    Examples
    --------
    >>> out = survey_tables(["human_dk68"], n_null=3, n_runs=3, n_runs_null=1, n_perm=20)
    >>> sorted(out), len(out["partitions"])
    (['partitions', 'table'], 68)
    """
    table, parts = survey(names, **options)
    long = pd.concat([pd.DataFrame({"dataset": name, "node": np.arange(p.size), "module": p})
                      for name, (_, p) in parts.items()], ignore_index=True)
    return {"table": table, "partitions": long}


def survey_network(name: str, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """The network a :func:`survey` row tested (binary or weighted, as its ``network`` column says).

    Returns ``(matrix, positions)`` (positions ``None`` where the dataset has none).

    Examples
    --------
    >>> t = pd.DataFrame({"dataset": ["human_dk68"], "network": ["binary"]})
    >>> M, xyz = survey_network("human_dk68", t)
    >>> M.shape, xyz.shape
    ((68, 68), (68, 3))
    """
    row = table.set_index("dataset").loc[name]
    c = load(name)
    return (_weighted(c) if row["network"] == "weighted" else c.binary()), c.positions
