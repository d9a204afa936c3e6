"""Ranking wiring rules from a fit, with uncertainty, and growing networks at the best fit.

:func:`best_points` is the one top-k selection (each rule's lowest-energy parameter
points; :func:`~mesoscale.generative.fit` summarises with it), :func:`topk_energies`
the networks behind them, :func:`rule_ranking` the bootstrap probability that each rule
is the best one, and :func:`fitted_networks` grows networks at a fit's best parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import as_rng, check_int
from .models import generate

__all__ = ["fit_table", "best_points", "topk_energies", "rule_ranking", "fitted_networks"]


def fit_table(table) -> pd.DataFrame:
    """The per-network table of a fit (a :class:`~mesoscale.generative.FitResult` or its ``.table``), checked.

    Examples
    --------
    >>> t = pd.DataFrame({"rule": ["sptl"], "level": 0, "point": 0, "eta": -1.0, "gamma": np.nan,
    ...                   "repeat": 0, "energy": 0.4})
    >>> fit_table(t) is t
    True
    """
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


def best_points(table, top_k: int = 10) -> pd.DataFrame:
    """Each rule's ``top_k`` parameter points of lowest mean energy (the one top-k of the package).

    Parameters
    ----------
    table : FitResult or DataFrame
        A fit or its ``.table``.
    top_k : int
        Points per rule; ties in mean energy are broken by ``(level, point)``.

    Returns
    -------
    DataFrame
        One row per chosen point: ``rule, rank`` (1 = best), ``level, point, eta, gamma,
        point_energy`` (mean over repeats) and ``n_repeats``; rules in table order.

    Examples
    --------
    >>> t = pd.DataFrame({"rule": ["a"] * 4, "level": 0, "point": [0, 0, 1, 1],
    ...                   "eta": [-1.0, -1.0, -2.0, -2.0], "gamma": 0.0,
    ...                   "repeat": [0, 1, 0, 1], "energy": [0.5, 0.3, 0.2, 0.2]})
    >>> best_points(t, 1)[["rule", "rank", "eta", "point_energy"]].to_numpy().tolist()
    [['a', 1, -2.0, 0.2]]
    """
    df = fit_table(table)
    top_k = check_int(top_k, "top_k", minimum=1)
    parts = []
    for rule, g in df.groupby("rule", sort=False):
        pts = g.groupby(["level", "point"], sort=True).agg(
            eta=("eta", "first"), gamma=("gamma", "first"), point_energy=("energy", "mean"),
            n_repeats=("energy", "size"))
        best = pts.sort_values("point_energy", kind="stable").iloc[:top_k].reset_index()
        best.insert(0, "rank", np.arange(1, len(best) + 1))
        best.insert(0, "rule", rule)
        parts.append(best)
    return pd.concat(parts, ignore_index=True)


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
    df = fit_table(table)
    best = best_points(df, top_k)[["rule", "rank", "level", "point", "point_energy"]]
    out = df.merge(best, on=["rule", "level", "point"])
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
    rng = as_rng(seed)
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


def fitted_networks(best, D, m: int, n_networks: int = 10, seed=None, *, rule: str | None = None,
                    model_var=("powerlaw", "powerlaw"), seed_network=None) -> np.ndarray:
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
