"""How much a fit depends on its search: repeated searches, their spread, and a ranking that counts it.

One Voronoi search finds a set of good points, but where it looks depends on its seed: two
searches of the same rule with the same budget give different best energies and different
``(eta, gamma)``. The bootstrap of :func:`~mesoscale.generative.rule_ranking` resamples the
networks of one search's top-k points, so it measures the noise of the sampled networks but not
that of the search. Here a fit is repeated ``S`` times with independent seeds:

:func:`pool_searches`
    The ``S`` fits as one :class:`~mesoscale.generative.FitResult` whose table has a ``search``
    column (points are told apart by ``search, level, point``): its top-k is that of a search
    with ``S`` times the budget.
:func:`search_uncertainty`
    Per rule: the top-k energy and parameters of each search, their mean and a confidence
    interval across searches (t interval, ``S - 1`` degrees of freedom), whether the energy
    still moves with the budget (first search alone against all pooled), and whether the sign
    of ``gamma`` is identified (the share of the pooled top-k points with ``gamma > 0`` and the
    interval across searches).
:func:`search_ranking`
    A rule ranking whose ``p_best`` accounts for both sources: a two-level bootstrap that
    resamples searches, then the networks of each resampled search's top-k points.

Examples
--------
>>> import numpy as np
>>> xy = np.random.default_rng(1).random((24, 2)); D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
>>> from mesoscale.generative import fit, generate
>>> A = generate(D, 40, "sptl", -3.0, seed=0)[0].astype(float)
>>> fits = [fit(A, D, rules=["sptl", "matching"], n_draws=6, levels=2, n_networks=2, seed=s, progress=False,
...             nesting="ignore") for s in range(3)]
>>> u = search_uncertainty(fits, top_k=3)
>>> u["rule"].tolist(), int(u["n_searches"].iloc[0])
(['sptl', 'matching'], 3)
>>> float(search_ranking(fits, top_k=3, n_boot=100, seed=0)["p_best"].sum())
1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import as_rng, check_float, check_int
from .ranking import best_parameters, best_points, fit_table, nesting_table, topk_energies

__all__ = ["pool_searches", "search_uncertainty", "search_ranking", "GAMMA_SIGN_SHARE"]

#: Share of the pooled top-k points whose gamma must lie on one side of 0 for its sign to count as identified.
GAMMA_SIGN_SHARE = 0.95


def _tables(fits) -> list[pd.DataFrame]:
    if isinstance(fits, (pd.DataFrame,)) or hasattr(fits, "table"):
        fits = [fits]
    if not isinstance(fits, Sequence) or len(fits) == 0:
        raise ValueError("'fits' must be a non-empty sequence of FitResults (or fit tables), one per search")
    tables = [fit_table(f) for f in fits]
    if any("search" in t.columns for t in tables):
        raise ValueError("'fits' must hold single searches, not a pooled table (it has a 'search' column)")
    rules = [list(dict.fromkeys(t["rule"])) for t in tables]
    if any(r != rules[0] for r in rules):
        raise ValueError(f"every search must fit the same rules; got {rules}")
    return tables


def pool_searches(fits, top_k: int | None = None):
    """Repeated searches of one target as one FitResult (``search`` column; best and nesting of the pool).

    Parameters
    ----------
    fits : sequence of FitResult
        Independent searches (different seeds) with the same rules and box.
    top_k : int, optional
        Points behind ``best`` and the nesting check (default: the first fit's setting).

    Examples
    --------
    >>> import numpy as np
    >>> from mesoscale.generative import fit
    >>> xy = np.random.default_rng(0).random((20, 2)); D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> A = (D < 0.3).astype(float); np.fill_diagonal(A, 0)
    >>> fits = [fit(A, D, rules=["sptl"], n_draws=3, levels=1, seed=s, progress=False) for s in range(2)]
    >>> pooled = pool_searches(fits)
    >>> len(pooled.table), sorted(pooled.table["search"].unique().tolist()), pooled.settings["n_searches"]
    (6, [0, 1], 2)
    """
    from .fitting import FitResult

    tables = _tables(fits)
    settings = dict(getattr(fits[0], "settings", {}) or {})
    top_k = check_int(top_k if top_k is not None else settings.get("top_k", 10), "top_k", minimum=1)
    table = pd.concat([t.assign(search=s) for s, t in enumerate(tables)], ignore_index=True)
    cols = ["rule", "search", *[c for c in table.columns if c not in ("rule", "search")]]
    table = table[cols]
    settings.update(n_searches=len(tables), top_k=top_k,
                    seeds=[(getattr(f, "settings", {}) or {}).get("seed") for f in fits])
    best = best_parameters(table, top_k)
    check = nesting_table(table, top_k, gamma_range=settings.get("gamma_range"))
    return FitResult(table=table, best=best, settings=settings, nesting=check)


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    """Mean, sd (ddof 1) and the t interval of the mean of ``values`` (NaN interval for one value)."""
    v = np.asarray(values, float)
    mean = float(v.mean())
    if v.size < 2:
        return mean, np.nan, np.nan, np.nan
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, v.size - 1)) * sd / np.sqrt(v.size)
    return mean, sd, mean - half, mean + half


def _gamma_sign(gammas: np.ndarray, low: float, high: float, share: float) -> str:
    g = np.asarray(gammas, float)
    g = g[np.isfinite(g)]
    if g.size == 0:
        return "none (sptl)"
    if np.mean(g == 0.0) >= share:
        return "zero (sptl's law)"
    pos, neg = np.mean(g > 0), np.mean(g < 0)
    interval_ok = not np.isfinite(low) or (low > 0 if pos >= share else high < 0)
    if pos >= share and interval_ok:
        return "positive"
    if neg >= share and interval_ok:
        return "negative"
    return "unidentified"


def search_uncertainty(fits, top_k: int = 10, confidence: float = 0.95,
                       sign_share: float = GAMMA_SIGN_SHARE) -> pd.DataFrame:
    """Per rule: best energy and parameters of each search, their spread, budget convergence, gamma's sign.

    Parameters
    ----------
    fits : sequence of FitResult (or fit tables)
        Independent searches of one target (the same rules).
    top_k : int
        Points behind each search's statistics (:func:`~mesoscale.generative.best_points`).
    confidence : float
        Level of the intervals across searches.
    sign_share : float
        Share of the pooled top-k points that must share a sign of ``gamma``.

    Returns
    -------
    DataFrame
        One row per rule (fit order): ``n_searches``; ``energy`` (top-k energy of the pooled
        searches), ``energy_first`` (of the first search alone) and ``budget_shift``
        (``energy_first - energy``: how much S times the budget still lowered it);
        ``energy_search_mean``, ``energy_search_sd``, ``energy_ci_low``/``high`` (across
        searches); ``eta``/``gamma`` with ``_search_sd`` and ``_ci_low``/``_ci_high`` (the
        searches' top-k means); ``gamma_positive`` (share of the pooled top-k points with
        ``gamma > 0``) and ``gamma_sign`` (``"positive"``, ``"negative"``, ``"unidentified"``,
        ``"zero (sptl's law)"`` or ``"none (sptl)"``).

    Examples
    --------
    >>> t = lambda e, g: pd.DataFrame({"rule": "a", "level": 0, "point": [0, 1], "eta": -2.0, "gamma": g,
    ...                                "repeat": 0, "energy": e})
    >>> searches = [t([0.2, 0.3], [1.0, -2.0]), t([0.25, 0.3], [1.1, 0.5]), t([0.22, 0.3], [1.2, 3.0])]
    >>> u = search_uncertainty(searches, top_k=1)
    >>> u[["energy", "energy_first", "gamma_sign"]].to_numpy().tolist()
    [[0.2, 0.2, 'positive']]
    >>> disagree = [t([0.2, 0.3], [1.0, 2.0]), t([0.25, 0.3], [0.1, 0.5])]   # gamma 1.0 and 0.1
    >>> search_uncertainty(disagree, top_k=1)["gamma_sign"].item()
    'unidentified'

    The sign is called only when both the pooled top-k points and the interval across
    searches agree on it.
    """
    tables = _tables(fits)
    top_k = check_int(top_k, "top_k", minimum=1)
    confidence = check_float(confidence, "confidence", minimum=0.0, maximum=1.0)
    sign_share = check_float(sign_share, "sign_share", minimum=0.5, maximum=1.0)
    per = [best_parameters(t, top_k).set_index("rule") for t in tables]
    pooled_table = pd.concat([t.assign(search=s) for s, t in enumerate(tables)], ignore_index=True)
    pooled = best_parameters(pooled_table, top_k).set_index("rule")
    pooled_pts = best_points(pooled_table, top_k)
    rows = []
    for rule in dict.fromkeys(tables[0]["rule"]):
        e = np.array([p.loc[rule, "energy_topk"] for p in per])
        eta = np.array([p.loc[rule, "eta"] for p in per])
        gam = np.array([p.loc[rule, "gamma"] for p in per])
        em, esd, elo, ehi = _interval(e, confidence)
        am, asd, alo, ahi = _interval(eta, confidence)
        gm, gsd, glo, ghi = _interval(gam, confidence) if np.all(np.isfinite(gam)) else (np.nan,) * 4
        g_pts = pooled_pts.loc[pooled_pts["rule"] == rule, "gamma"].to_numpy(float)
        finite = g_pts[np.isfinite(g_pts)]
        rows.append({
            "rule": rule, "n_searches": len(tables), "energy": float(pooled.loc[rule, "energy_topk"]),
            "energy_first": float(e[0]), "budget_shift": float(e[0] - pooled.loc[rule, "energy_topk"]),
            "energy_search_mean": em, "energy_search_sd": esd, "energy_ci_low": elo, "energy_ci_high": ehi,
            "eta": float(pooled.loc[rule, "eta"]), "eta_search_sd": asd, "eta_ci_low": alo, "eta_ci_high": ahi,
            "gamma": float(pooled.loc[rule, "gamma"]), "gamma_search_sd": gsd, "gamma_ci_low": glo,
            "gamma_ci_high": ghi,
            "gamma_positive": float(np.mean(finite > 0)) if finite.size else np.nan,
            "gamma_sign": _gamma_sign(g_pts, glo, ghi, sign_share),
        })
    return pd.DataFrame(rows)


def search_ranking(fits, top_k: int = 10, n_boot: int = 1000, seed=None) -> pd.DataFrame:
    """Rank rules over repeated searches; ``p_best`` from a two-level bootstrap (searches, then networks).

    The rule's statistic is ``energy_topk``: the mean energy of the networks of its ``top_k``
    best points over all searches pooled (:func:`pool_searches`). Each replicate draws, for
    every rule independently, ``S`` searches with replacement, pools the distinct searches
    drawn, takes that pool's top-k points, and draws their networks with replacement; the
    statistic is the mean of the drawn energies. So the interval is about the estimate itself,
    and it widens when the searches disagree (a pool of one search stands for what a single
    search would have found). ``p_best`` is the share of replicates in which a rule has the
    lowest statistic, ``ci_low``/``ci_high`` the 95 % interval of its statistic. With one
    search this is the network bootstrap of :func:`~mesoscale.generative.rule_ranking`. The
    point columns (``energy_topk``, ``eta``, ``gamma``, ...) describe the pooled searches.

    Returns
    -------
    DataFrame
        The columns of :func:`~mesoscale.generative.rule_ranking` (``n_networks``: the pooled
        top-k networks) plus ``n_evaluated`` (networks the searches grew for the rule),
        ``n_searches`` and ``energy_search_sd`` (spread of the searches' top-k energies),
        sorted by ``energy_topk``.

    Examples
    --------
    >>> t = lambda r, e: pd.DataFrame({"rule": r, "level": 0, "point": [0, 0, 1, 1], "eta": -1.0,
    ...                                "gamma": 0.0, "repeat": [0, 1, 0, 1], "energy": e})
    >>> s1 = pd.concat([t("a", [0.1, 0.12, 0.11, 0.1]), t("b", [0.5, 0.6, 0.55, 0.5])])
    >>> search_ranking([s1, s1], top_k=2, n_boot=200, seed=0)[["rule", "p_best"]].to_numpy().tolist()
    [['a', 1.0], ['b', 0.0]]
    """
    tables = _tables(fits)
    top_k = check_int(top_k, "top_k", minimum=1)
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    rng = as_rng(seed)
    rules = list(dict.fromkeys(tables[0]["rule"]))
    S = len(tables)
    pools = [topk_energies(t, top_k) for t in tables]
    pooled_table = pd.concat([t.assign(search=s) for s, t in enumerate(tables)], ignore_index=True)
    pooled_top = topk_energies(pooled_table, top_k)
    subsets: dict[tuple, dict[str, np.ndarray]] = {}

    def top_of(drawn: tuple) -> dict[str, np.ndarray]:
        # each rule's top-k networks in the pool of the distinct searches ``drawn`` (cached: few distinct pools)
        if drawn not in subsets:
            top = pools[drawn[0]] if len(drawn) == 1 else pooled_top if len(drawn) == S else topk_energies(
                pooled_table[pooled_table["search"].isin(drawn)], top_k)
            subsets[drawn] = {r: g["energy"].to_numpy(float) for r, g in top.groupby("rule", sort=False)}
        return subsets[drawn]

    stat = np.empty((n_boot, len(rules)))
    rows = []
    for r_i, rule in enumerate(rules):
        per = [p.loc[p["rule"] == rule, "energy"].to_numpy(float) for p in pools]
        for b in range(n_boot):
            e = top_of(tuple(np.unique(rng.integers(0, S, size=S)).tolist()))[rule]
            stat[b, r_i] = e[rng.integers(0, e.size, size=e.size)].mean()
        g = pooled_top[pooled_top["rule"] == rule]
        e = g["energy"].to_numpy(float)
        pts = g.drop_duplicates(["search", "level", "point"])
        search_means = np.array([x.mean() for x in per])
        rows.append({
            "rule": rule, "energy_min": float(pts["point_energy"].min()), "energy_topk": float(e.mean()),
            "energy_q05": float(np.quantile(e, 0.05)), "energy_q95": float(np.quantile(e, 0.95)),
            "ci_low": float(np.quantile(stat[:, r_i], 0.025)), "ci_high": float(np.quantile(stat[:, r_i], 0.975)),
            "eta": float(pts["eta"].mean()), "gamma": float(pts["gamma"].mean()),
            "eta_sd": float(pts["eta"].std(ddof=0)), "gamma_sd": float(pts["gamma"].std(ddof=0)),
            "n_networks": int(e.size), "n_evaluated": int(sum(len(t[t["rule"] == rule]) for t in tables)),
            "n_searches": S,
            "energy_search_sd": float(search_means.std(ddof=1)) if S > 1 else np.nan,
        })
    ranks = stat.argsort(axis=1, kind="stable").argsort(axis=1) + 1
    out = pd.DataFrame(rows)
    out["p_best"] = (ranks == 1).mean(axis=0)
    out["mean_rank"] = ranks.mean(axis=0)
    out = out.sort_values(["energy_topk", "rule"], kind="stable").reset_index(drop=True)
    cols = ["rule", "energy_min", "energy_topk", "energy_q05", "energy_q95", "ci_low", "ci_high", "p_best",
            "mean_rank", "eta", "eta_sd", "gamma", "gamma_sd", "n_networks", "n_evaluated", "n_searches",
            "energy_search_sd"]
    return out[cols]
