"""The worm from birth to adulthood: fitted parameters, real mesoscale structure and growth, stage by stage.

The eight *C. elegans* connectomes of Witvliet et al. (2021) are eight animals at six ages
(0 h to 50 h after birth; stages 7 and 8 are two adults). Three analyses follow them:

:func:`development_study`
    The fitted parameters of every rule against age (from :func:`~mesoscale.generative.study.fit_connectomes`),
    the real networks' mesoscale structure, and growth-forward forecasts between consecutive
    stages (:func:`~mesoscale.generative.growth_forward_scores` against honest baselines).
:func:`stage_structure`
    Every stage **on the neurons common to all stages** (so that a change is a change of wiring,
    not of which neurons were reconstructed), in three versions: binary undirected (modularity
    against degree-preserving nulls), weighted undirected (synapse counts, chemical both ways plus
    gap junctions; weights travel with their edges in the nulls) and directed (chemical synapse
    counts: trophic coherence and the feedforwardness of sensory -> interneuron -> motor, each
    against directed degree-preserving nulls). Every value carries its null mean, z, the effect
    ``delta = value - null mean`` with its interval and an empirical p.
:func:`stage_trends`
    A trend test for each metric: the least-squares slope against age with its interval, a
    permutation p-value (ages shuffled over the stages) and Spearman's rho, set against the
    difference between the two adults -- the between-individual error bar: a trend counts when
    it is significant *and* its change over development exceeds that difference.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import as_rng, check_choice, check_int
from ._engine import check_rules
from .forecast import growth_forward_scores
from .study import stream_seed

__all__ = ["WITVLIET_ADULTS", "has_stages", "development_study", "common_neurons", "stage_structure", "stage_trends", "seeded_fits"]

#: The two adult animals of Witvliet et al. (2021): their difference is the between-individual error bar.
WITVLIET_ADULTS = ("celegans_witvliet_7", "celegans_witvliet_8")

#: Layer order of the worm's feedforward axis (``cell_class`` of the worm connectomes).
LAYER_ORDER = ("sensory", "interneuron", "motor")


def _stages(data: dict) -> list[str]:
    return sorted((n for n in data if n.startswith("celegans_witvliet_")), key=lambda n: (data[n]["c"].age, n))


def has_stages(data: dict, minimum: int = 2) -> bool:
    """Whether ``data`` holds at least ``minimum`` Witvliet stages (what the stage analyses need).

    Examples
    --------
    >>> has_stages({"human_dk68": {}})
    False
    """
    return sum(n.startswith("celegans_witvliet_") for n in data) >= minimum


def development_study(data: dict, fitted: dict, comparisons: dict, *, growth_rules: Sequence[str] = ("sptl",),
                      growth_networks: int = 100, align_nodes: str = "common", seed=0,
                      progress: bool = False) -> dict:
    """Follow the Witvliet stages from birth to adulthood, and forecast growth between them.

    Parameters
    ----------
    data, fitted, comparisons
        From :func:`prepare_connectomes`, :func:`fit_connectomes` and
        :func:`compare_fits` (its ``comparisons``).
    growth_rules : sequence of str
        Fitted rules scored growth-forward (:func:`growth_forward_scores`) between
        consecutive stages of increasing age, with the parameters fitted at the earlier one.
    growth_networks : int
        Grown (and baseline) networks per transition.
    align_nodes : {"common", "union"}
        Node set of two stages (:func:`mesoscale.connectomes.align_connectomes`).

    Returns
    -------
    dict
        ``stages`` (dataset names by age), ``trajectory`` (rankings of the stages with
        ``age``), ``mesoscale`` (the real networks' Q_max, null mean and sd, Q_z, modules,
        participation, ... per stage), ``growth`` (forecast rows with ``transition``, ``ages``
        and ``growth_rule``; the model row's ``predictor`` is the rule), ``trends`` (per rule:
        parameters at the first and last stage and the eta trend per 10 h). Tables are empty
        with fewer than two stages.

    Examples
    --------
    >>> from mesoscale.generative.study import prepare_connectomes
    >>> data, _ = prepare_connectomes(["human_dk68"])
    >>> dev = development_study(data, {"rankings": pd.DataFrame()}, {})
    >>> dev["stages"], len(dev["growth"])
    ([], 0)
    """
    from tqdm.auto import tqdm

    from ..connectomes import align_connectomes

    growth_rules = check_rules(growth_rules)
    growth_networks = check_int(growth_networks, "growth_networks", minimum=1)
    check_choice(align_nodes, "align_nodes", ("common", "union"))
    stages = _stages(data)
    out = {"stages": stages, "trajectory": pd.DataFrame(), "mesoscale": pd.DataFrame(), "growth": pd.DataFrame(),
           "trends": pd.DataFrame(), "transitions": []}
    if len(stages) < 2:
        return out
    rankings = fitted["rankings"]
    age = {n: data[n]["c"].age for n in stages}
    traj = rankings[rankings["dataset"].isin(stages)].assign(age=lambda t: t["dataset"].map(age))
    rows = []
    for n in stages:
        r = comparisons[n].iloc[0]
        rows.append({"dataset": n, "age": age[n], **r[["Q", "Q_z", "Q_max", "Q_null_mean", "n_modules",
                                                       "participation_mean", "rich_club_max_norm",
                                                       "module_span"]].astype(float).to_dict(),
                     "Q_null_sd": float((r["Q_max"] - r["Q_null_mean"]) / r["Q_z"]) if r["Q_z"] else np.nan,
                     "edges": int(data[n]["A"].sum() // 2)})
    meso = pd.DataFrame(rows)
    transitions = [(a, b) for a, b in zip(stages[:-1], stages[1:]) if age[b] > age[a]]
    growth = []
    for a, b in tqdm(transitions, desc="growth forward", disable=not progress):
        A0, A1, D, _ = align_connectomes(data[a]["c"], data[b]["c"], nodes=align_nodes)
        label = f"{a.rsplit('_', 1)[-1]}→{b.rsplit('_', 1)[-1]}"
        for rule in growth_rules:
            r = rankings[(rankings["dataset"] == a) & (rankings["rule"] == rule)]
            if len(r) == 0:
                raise ValueError(f"'growth_rules' names {rule!r}, which was not fitted to {a!r}")
            r = r.iloc[0]
            fc = growth_forward_scores(A0, A1, rule, r["eta"], r["gamma"], D, n_networks=growth_networks,
                                       seed=stream_seed(seed, "growth", f"{a}-{b}-{rule}"))
            t = fc.table.assign(transition=label, ages=f"{age[a]:g}→{age[b]:g} h", growth_rule=rule)
            t.loc[t["predictor"] == "model", "predictor"] = rule
            growth.append(t)
    trends = []
    for rule, g in traj.groupby("rule", sort=False):
        g = g.sort_values("age")
        ages, etas = g["age"].to_numpy(float), g["eta"].to_numpy(float)
        slope = np.polyfit(ages, etas, 1)[0] if np.ptp(ages) > 0 and np.all(np.isfinite(etas)) else np.nan
        first, last = g.iloc[0], g.iloc[-1]
        trends.append({"rule": rule, "eta_first": first["eta"], "eta_sd_first": first["eta_sd"],
                       "eta_last": last["eta"], "eta_sd_last": last["eta_sd"], "eta_trend_per_10h": slope * 10,
                       "gamma_first": first["gamma"], "gamma_sd_first": first["gamma_sd"], "gamma_last": last["gamma"],
                       "gamma_sd_last": last["gamma_sd"], "energy_first": first["energy_topk"],
                       "energy_last": last["energy_topk"]})
    out.update(trajectory=traj, mesoscale=meso, growth=pd.concat(growth, ignore_index=True),
               trends=pd.DataFrame(trends), transitions=transitions)
    return out




def common_neurons(connectomes: Sequence) -> list[str]:
    """The labels present in every connectome, in the order of the first.

    Examples
    --------
    >>> from mesoscale import connectomes
    >>> cs = [connectomes.load(f"celegans_witvliet_{k}") for k in (1, 8)]
    >>> common = common_neurons(cs)
    >>> len(common) <= min(c.n for c in cs), common[:2] == [x for x in cs[0].labels if x in common][:2]
    (True, True)
    """
    if len(connectomes) == 0:
        raise ValueError("'connectomes' must hold at least one Connectome")
    shared = set(connectomes[0].labels)
    for c in connectomes[1:]:
        shared &= set(c.labels)
    return [x for x in connectomes[0].labels if x in shared]


def _versions(c) -> dict[str, np.ndarray]:
    """The three versions of one stage: binary and weighted undirected, weighted directed (chemical)."""
    chem = c.adjacency("chemical")
    gap = c.adjacency("gap_junction") if "gap_junction" in c.layers else np.zeros_like(chem)
    np.fill_diagonal(chem, 0.0)
    np.fill_diagonal(gap, 0.0)
    W = chem + chem.T + np.maximum(gap, gap.T)
    return {"binary": (W > 0).astype(float), "weighted": W, "directed": chem}


def _directed_metrics(W, layers) -> dict[str, float]:
    from ..metrics import layer_feedforwardness, trophic_coherence

    return {"trophic_coherence": trophic_coherence(W), "layer_feedforwardness": layer_feedforwardness(W, layers, LAYER_ORDER)}


def stage_structure(data: dict, *, n_null: int = 50, n_runs: int = 10, seed=0, progress: bool = False) -> pd.DataFrame:
    """Mesoscale structure and feedforwardness of every Witvliet stage on the common neurons.

    Parameters
    ----------
    data : dict
        From :func:`~mesoscale.generative.study.prepare_connectomes`; its
        ``celegans_witvliet_*`` datasets are used (at least two).
    n_null : int
        Null networks per stage and version (degree-preserving: undirected swaps for the
        binary and weighted versions, directed swaps keeping in- and out-degrees for the
        directed one).
    n_runs : int
        Louvain runs per maximum-Q search (observed and nulls alike).
    seed : int
        Root seed; stage ``name`` and version ``v`` draw from ``stream_seed(seed, f"stage-{v}", name)``.

    Returns
    -------
    DataFrame
        One row per stage, version and metric: ``dataset, age, n_nodes, n_edges, version``
        (``binary``, ``weighted``, ``directed``), ``metric`` (``Q``; ``trophic_coherence``,
        ``layer_feedforwardness``), ``value, null_mean, null_sd, z, delta, delta_low,
        delta_high, p_value, n_null``.

    Examples
    --------
    >>> from mesoscale.generative.study import prepare_connectomes
    >>> data, _ = prepare_connectomes(["celegans_witvliet_1", "celegans_witvliet_8"])
    >>> t = stage_structure(data, n_null=3, n_runs=1)
    >>> sorted(t["metric"].unique()), int(t["n_nodes"].nunique())
    (['Q', 'layer_feedforwardness', 'trophic_coherence'], 1)
    """
    from tqdm.auto import tqdm

    from ..metrics import compare_with_null, modularity_significance, null_network

    n_null = check_int(n_null, "n_null", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    stages = _stages(data)
    if len(stages) < 2:
        raise ValueError(f"'data' must hold at least two celegans_witvliet_* stages; got {stages}")
    common = common_neurons([data[n]["c"] for n in stages])
    rows = []
    for name in tqdm(stages, desc="stages", disable=not progress):
        c = data[name]["c"].subgraph(common)
        layers = list(c.node_attributes["cell_class"])
        base = {"dataset": name, "age": float(c.age), "n_nodes": c.n}
        for version, W in _versions(c).items():
            rng = as_rng(stream_seed(seed, f"stage-{version}", name))
            n_edges = int(np.count_nonzero(W) // (1 if version == "directed" else 2))
            if version != "directed":
                t = modularity_significance(W, "degree", n_null=n_null, n_runs=n_runs, seed=rng, on_fragmented="ignore")
                rows.append({**base, "n_edges": n_edges, "version": version, "metric": "Q", "value": t.q,
                             "null_mean": t.null_mean, "null_sd": t.null_sd, "z": t.z, "delta": t.delta,
                             "delta_low": t.delta_low, "delta_high": t.delta_high, "p_value": t.p_value,
                             "n_null": n_null})
                continue
            observed = _directed_metrics(W, layers)
            nulls = [_directed_metrics(null_network(W, "degree", seed=rng), layers) for _ in range(n_null)]
            for metric, value in observed.items():
                cmp = compare_with_null(value, [x[metric] for x in nulls], alternative="two-sided")
                rows.append({**base, "n_edges": n_edges, "version": version, "metric": metric, "value": value,
                             "null_mean": cmp.null_mean, "null_sd": cmp.null_sd, "z": cmp.z, "delta": cmp.delta,
                             "delta_low": cmp.delta_low, "delta_high": cmp.delta_high, "p_value": cmp.p_value,
                             "n_null": n_null})
    return pd.DataFrame(rows)


#: The columns of :func:`stage_trends` (a table with no rows when fewer than three stages are given).
TREND_COLUMNS = ["version", "metric", "column", "first", "last", "slope_per_10h", "slope_low", "slope_high", "p_perm",
                 "spearman_rho", "change", "adult_difference", "n_stages", "trend"]


def stage_trends(table: pd.DataFrame, *, columns: Sequence[str] = ("value", "delta", "z"),
                 adults: Sequence[str] = WITVLIET_ADULTS, n_perm: int = 10000, seed=0,
                 alpha: float = 0.05) -> pd.DataFrame:
    """A trend test of every metric of :func:`stage_structure` against age.

    For each version, metric and column: the least-squares slope against age (per 10 h)
    with its 95 % t interval, the two-sided permutation p-value of the slope (``n_perm``
    random reassignments of the ages to the stages; exact when there are fewer
    arrangements), Spearman's rho, the change over development (``slope x age span``) and
    the difference between the two ``adults``. ``trend`` is ``"rises"``/``"falls"`` when the
    permutation p is below ``alpha`` and the change exceeds the adults' difference, else
    ``"none beyond individual variation"``.

    Examples
    --------
    >>> t = pd.DataFrame({"dataset": [f"celegans_witvliet_{k}" for k in range(1, 9)], "version": "binary",
    ...                   "metric": "Q", "age": [0, 5, 8, 16, 23, 27, 50, 50],
    ...                   "value": [0.1, 0.15, 0.18, 0.26, 0.33, 0.37, 0.6, 0.61]})
    >>> r = stage_trends(t, columns=["value"], n_perm=2000)
    >>> r[["trend", "adult_difference"]].to_numpy().tolist()
    [['rises', 0.01]]
    """
    n_perm = check_int(n_perm, "n_perm", minimum=100)
    need = {"dataset", "version", "metric", "age", *columns}
    missing = need - set(table.columns)
    if missing:
        raise ValueError(f"'table' lacks the columns {sorted(missing)} of stage_structure()")
    rng = as_rng(seed)
    rows = []
    for (version, metric), g in table.groupby(["version", "metric"], sort=False):
        g = g.sort_values("age", kind="stable")
        age = g["age"].to_numpy(float)
        perms = np.array([rng.permutation(age) for _ in range(n_perm)])
        for col in columns:
            y = g[col].to_numpy(float)
            ok = np.isfinite(y)
            if ok.sum() < 3 or np.ptp(age[ok]) == 0:
                continue
            x, yy = age[ok], y[ok]
            res = stats.linregress(x, yy)
            half = float(stats.t.ppf(0.975, len(x) - 2)) * res.stderr
            xc = perms[:, ok] - perms[:, ok].mean(axis=1, keepdims=True)
            null_slopes = (xc * (yy - yy.mean())).sum(axis=1) / (xc**2).sum(axis=1)
            p = (1 + np.sum(np.abs(null_slopes) >= abs(res.slope) - 1e-15)) / (1 + n_perm)
            change = res.slope * np.ptp(x)
            ad = g.set_index("dataset")[col].reindex(list(adults)).to_numpy(float)
            adult_diff = float(abs(ad[0] - ad[1])) if np.all(np.isfinite(ad)) else np.nan
            beyond = not np.isfinite(adult_diff) or abs(change) > adult_diff
            trend = ("rises" if change > 0 else "falls") if (p < alpha and beyond) else "none beyond individual variation"
            rows.append({"version": version, "metric": metric, "column": col, "first": float(yy[0]),
                         "last": float(yy[-1]), "slope_per_10h": 10 * res.slope,
                         "slope_low": 10 * (res.slope - half), "slope_high": 10 * (res.slope + half),
                         "p_perm": float(p), "spearman_rho": float(stats.spearmanr(x, yy).statistic),
                         "change": float(change), "adult_difference": round(adult_diff, 12), "n_stages": int(len(x)),
                         "trend": trend})
    return pd.DataFrame(rows, columns=TREND_COLUMNS)


def seeded_fits(data: dict, rules: Sequence[str], *, seed_stage: str = "celegans_witvliet_1",
                targets: Sequence[str] | None = None, top_k: int = 10, seed=0, progress: bool = False,
                **fit_options) -> pd.DataFrame:
    """Fit the later stages grown *from* an earlier one, against the same fit grown from nothing.

    The field often grows a connectome from a seed network rather than from an empty
    graph. For each target stage, on the neurons it shares with ``seed_stage``, the seed is
    the connections present in both animals (growth cannot remove the connections that the
    later animal lacks), the model adds the rest, and the fit is compared with an unseeded
    fit of the same network, same rules, same budget and same streams.

    Parameters
    ----------
    data : dict
        From :func:`~mesoscale.generative.study.prepare_connectomes`.
    rules : sequence of str
    seed_stage : str
        The stage grown from (default: the newborn, L1).
    targets : sequence of str, optional
        The stages fitted (default: every later Witvliet stage in ``data``).
    top_k, seed, progress
        As :func:`~mesoscale.generative.study.fit_connectomes`; target ``t`` fits with
        ``stream_seed(seed, "seeded", t)`` (the unseeded fit uses the same streams).
    **fit_options
        Passed to :func:`~mesoscale.generative.fit` (``n_draws``, ``levels``, ``n_networks``, ...).

    Returns
    -------
    DataFrame
        One row per target and rule: ``target, age, n_common, seed_edges, target_edges``,
        ``energy_seeded``/``energy_unseeded`` (top-k energies), ``gain``
        (``unseeded - seeded``), ``eta_seeded, gamma_seeded, eta_unseeded, gamma_unseeded``.

    Examples
    --------
    >>> from mesoscale.generative.study import prepare_connectomes
    >>> data, _ = prepare_connectomes(["celegans_witvliet_1", "celegans_witvliet_2"])
    >>> t = seeded_fits(data, ["sptl"], n_draws=3, levels=1, top_k=2)
    >>> t[["target", "rule"]].to_numpy().tolist(), bool(t["seed_edges"].iloc[0] < t["target_edges"].iloc[0])
    ([['celegans_witvliet_2', 'sptl']], True)
    """
    from tqdm.auto import tqdm

    from ..connectomes import align_connectomes
    from .fitting import fit

    rules = check_rules(rules)
    if seed_stage not in data:
        raise ValueError(f"'seed_stage' {seed_stage!r} is not in 'data'")
    later = [n for n in _stages(data) if data[n]["c"].age > data[seed_stage]["c"].age]
    targets = later if targets is None else list(targets)
    bad = [t for t in targets if t not in later]
    if bad or not targets:
        raise ValueError(f"'targets' must be later Witvliet stages in 'data' than {seed_stage!r}; got {bad or targets}")
    rows = []
    for target in tqdm(targets, desc="seeded fits", disable=not progress):
        A0, A1, D, labels = align_connectomes(data[seed_stage]["c"], data[target]["c"], nodes="common")
        S0 = A0 * A1
        opts = dict(rules=rules, top_k=top_k, progress=False, nesting="ignore", **fit_options)
        s = stream_seed(seed, "seeded", target)
        seeded = fit(A1, D, seed_network=S0, seed=s, **opts).best.set_index("rule")
        plain = fit(A1, D, seed=s, **opts).best.set_index("rule")
        for rule in rules:
            rows.append({"target": target, "age": float(data[target]["c"].age), "rule": rule, "n_common": len(labels),
                         "seed_edges": int(S0.sum() // 2), "target_edges": int(A1.sum() // 2),
                         "energy_seeded": float(seeded.loc[rule, "energy_topk"]),
                         "energy_unseeded": float(plain.loc[rule, "energy_topk"]),
                         "gain": float(plain.loc[rule, "energy_topk"] - seeded.loc[rule, "energy_topk"]),
                         "eta_seeded": float(seeded.loc[rule, "eta"]), "gamma_seeded": float(seeded.loc[rule, "gamma"]),
                         "eta_unseeded": float(plain.loc[rule, "eta"]), "gamma_unseeded": float(plain.loc[rule, "gamma"])})
    return pd.DataFrame(rows)
