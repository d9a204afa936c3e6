"""The phase-2 driver: fit wiring rules to many connectomes, compare, follow development.

One call per question of the fitting chapter, each returning tidy tables:

:func:`prepare_connectomes`
    Load datasets as symmetric binary networks with their distances (constant distances
    where a dataset has no positions; the strongest pairs of dense tractography).
:func:`fit_connectomes`
    :func:`~mesoscale.generative.fit` every dataset with the same search, then rank the
    rules with bootstrap uncertainty (:func:`~mesoscale.generative.rule_ranking`).
:func:`fit_checks`
    What a referee asks of those fits: the nesting check of every rule against its
    ``gamma = 0`` line and sptl, and energy floors (each best model against its own
    realisations, two animals that should be alike) with the KS critical values.
:func:`compare_fits`
    Grow networks at each dataset's best fit and compare their mesoscale structure with
    the real network (:func:`~mesoscale.generative.compare_mesoscale`).
:func:`development_study`
    The Witvliet stages: fitted parameters and real mesoscale structure against age, and
    growth-forward forecasts between consecutive stages.
:func:`species_table`
    One row per dataset with the best rule, its parameters and what it reproduces.

Every random draw comes from :func:`mesoscale.sweep.task_rng` keyed by the purpose and the
dataset name, so a dataset's numbers do not depend on which other datasets are in the list.
Stores are resolved from the project root (:func:`store_path`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float, check_int, check_n_jobs
from ._engine import check_rules, fingerprint
from .comparison import COMPARISON_METRICS, compare_mesoscale, summarize_comparison
from .fitting import fit
from .floors import floor_table, pair_floor, self_energy_floor
from .forecast import growth_forward_scores
from .ranking import fitted_networks, rule_ranking, topk_energies

__all__ = [
    "project_root",
    "store_path",
    "stream_seed",
    "prepare_connectomes",
    "fit_connectomes",
    "fit_checks",
    "compare_fits",
    "development_study",
    "species_table",
]


def project_root() -> Path:
    """The project root: ``$MESOSCALE_ROOT`` if set, else the nearest folder above with ``pyproject.toml``.

    Falls back to the current directory when neither exists (an installed package).

    Examples
    --------
    >>> (project_root() / "pyproject.toml").exists() or "MESOSCALE_ROOT" in os.environ
    True
    """
    env = os.environ.get("MESOSCALE_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        for d in (start, *start.parents):
            if (d / "pyproject.toml").is_file():
                return d
    return Path.cwd().resolve()


def store_path(relative) -> str | None:
    """A store directory below the project root; ``None``/``""`` keeps results in memory.

    Absolute paths are returned unchanged.

    Examples
    --------
    >>> store_path("") is None
    True
    >>> store_path("stores/04").endswith(os.path.join("stores", "04"))
    True
    """
    if relative is None or str(relative) == "":
        return None
    p = Path(relative).expanduser()
    return str(p if p.is_absolute() else project_root() / p)


def stream_seed(seed, purpose: str, name: str) -> int:
    """One reproducible integer seed per ``(purpose, name)`` from the root ``seed`` (via ``task_rng``).

    Examples
    --------
    >>> stream_seed(0, "fit", "human_dk68") == stream_seed(0, "fit", "human_dk68") != stream_seed(0, "fit", "x")
    True
    """
    from ..sweep import task_rng

    return int(task_rng(seed, {"purpose": str(purpose), "name": str(name)}).integers(2**62))


def prepare_connectomes(names: Sequence[str], *, dense_density: float = 0.1, progress: bool = False):
    """Load datasets as symmetric binary networks with distances.

    Tractography datasets (``mouse_dti_*``, which link most region pairs) keep their
    strongest ``dense_density`` of pairs (:func:`mesoscale.connectomes.binary_at_density`);
    the others use :meth:`Connectome.binary`. Datasets without positions get
    :func:`mesoscale.connectomes.constant_distances` (topology-only fits).

    Returns
    -------
    data : dict
        ``name -> {"c", "A", "D", "spatial", "network", "species"}``.
    overview : DataFrame
        One row per dataset: species, stage, age, nodes, edges, density, how the network
        and the distances were obtained.

    Examples
    --------
    >>> data, table = prepare_connectomes(["human_dk68"])
    >>> int(table.loc[0, "edges"]), bool(data["human_dk68"]["spatial"])
    (588, True)
    """
    from tqdm.auto import tqdm

    from .. import connectomes

    if isinstance(names, str):
        names = [names]
    known = set(connectomes.dataset_names())
    bad = [d for d in names if d not in known]
    if bad or not names:
        raise ValueError(f"'names' must list known datasets (connectomes.dataset_names()); got unknown {bad}")
    dense_density = check_float(dense_density, "dense_density", minimum=0.0, maximum=1.0)
    data, rows = {}, []
    for name in tqdm(names, desc="load", disable=not progress):
        c = connectomes.load(name)
        if name.startswith("mouse_dti_"):
            A = connectomes.binary_at_density(c.adjacency(), dense_density)
            how = f"strongest {dense_density:.0%} of pairs"
        else:
            A, how = c.binary(), "binary (any layer, either direction)"
        spatial = c.positions is not None
        D = c.distances() if spatial else connectomes.constant_distances(c.n)
        data[name] = dict(c=c, A=A, D=D, spatial=spatial, network=how, species=c.species)
        n = A.shape[0]
        rows.append({"dataset": name, "species": c.species, "stage": c.stage, "age (h)": c.age, "nodes": n,
                     "edges": int(A.sum() // 2), "density": A.sum() / (n * (n - 1)), "network": how,
                     "distances": "node positions" if spatial else "constant (no positions)"})
    return data, pd.DataFrame(rows)


def fit_connectomes(data: dict, rules: Sequence[str], *, top_k: int = 10, n_boot: int = 1000, seed=0,
                    store_dir=None, progress: bool = False, **fit_options) -> dict:
    """Fit every dataset with the same search and rank the rules.

    Parameters
    ----------
    data : dict
        From :func:`prepare_connectomes`.
    rules : sequence of str
        Wiring rules to fit.
    top_k, n_boot
        Points behind the ranking and bootstrap resamples (:func:`rule_ranking`).
    seed : int
        Root seed; dataset ``name`` fits with ``stream_seed(seed, "fit", name)``.
    store_dir : str, optional
        Folder (below the project root unless absolute) holding one fit store per dataset
        and search setting (``<name>-<fingerprint>``); ``None`` keeps fits in memory.
    **fit_options
        Passed to :func:`~mesoscale.generative.fit` (``search``, ``n_draws``, ``levels``,
        ``n_networks``, ``eta_range``, ``gamma_range``, ``client``, ...). ``n_jobs`` > 1 (or
        -1) without a ``client`` runs every fit on one local Dask cluster of that many
        processes, closed at the end.

    Returns
    -------
    dict
        ``fits`` (name -> FitResult), ``rankings`` (all rules, with a ``dataset`` column;
        ``eta`` is NaN for datasets without positions), ``topk`` (:func:`topk_energies`
        stacked) and ``best`` (the best rule per dataset, indexed by dataset).

    Examples
    --------
    >>> data, _ = prepare_connectomes(["human_dk68"])
    >>> r = fit_connectomes(data, ["sptl"], top_k=2, n_boot=20, n_draws=4, levels=1)
    >>> r["best"].loc["human_dk68", "rule"], len(r["fits"]["human_dk68"].table)
    ('sptl', 4)
    """
    from tqdm.auto import tqdm

    rules = check_rules(rules)
    top_k = check_int(top_k, "top_k", minimum=1)
    root = store_path(store_dir)
    settings = sorted((k, v) for k, v in fit_options.items() if k not in ("client", "n_jobs"))
    tag = fingerprint([settings, rules, seed])[:10]
    n_jobs = check_n_jobs(fit_options.pop("n_jobs", None))
    own_client = None
    if fit_options.get("client") is None and n_jobs not in (None, 1):
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, dashboard_address=None)
        own_client = Client(cluster)
        fit_options["client"] = own_client
    fits, rankings, topk = {}, [], []
    try:
        for name in tqdm(list(data), desc="fit datasets", disable=not progress):
            d = data[name]
            store = None if root is None else str(Path(root) / f"{name}-{tag}")
            fits[name] = fit(d["A"], d["D"], rules=rules, top_k=top_k, seed=stream_seed(seed, "fit", name),
                             store=store, progress=False, **fit_options)
    finally:
        if own_client is not None:
            own_client.close()
            cluster.close()
    for name in data:
        d = data[name]
        r = rule_ranking(fits[name], top_k=top_k, n_boot=n_boot, seed=stream_seed(seed, "ranking", name))
        if not d["spatial"]:
            r[["eta", "eta_sd"]] = np.nan  # eta has no meaning with constant distances
        rankings.append(r.assign(dataset=name))
        topk.append(topk_energies(fits[name], top_k).assign(dataset=name))
    rankings = pd.concat(rankings, ignore_index=True)
    best = rankings.groupby("dataset", sort=False).head(1).set_index("dataset")
    return {"fits": fits, "rankings": rankings, "topk": pd.concat(topk, ignore_index=True), "best": best}


#: Pairs of datasets that should be alike: the energy between them is a floor for fits of either.
FLOOR_PAIRS = (("celegans_witvliet_7", "celegans_witvliet_8"), ("fly_larva_mb_left", "fly_larva_mb_right"))


def fit_checks(data: dict, fitted: dict, *, n_floor: int = 40, pairs=FLOOR_PAIRS, quantile: float = 0.95,
               seed=0, progress: bool = False) -> dict:
    """The nesting check and the energy floors of every dataset's fit.

    Parameters
    ----------
    data, fitted : dict
        From :func:`prepare_connectomes` and :func:`fit_connectomes`.
    n_floor : int
        Networks grown at each dataset's best parameters for its self floor (even;
        ``n_floor // 2`` independent pairs, :func:`~mesoscale.generative.self_energy_floor`).
    pairs : sequence of (str, str)
        Datasets that should be alike (two adult worms, the two sides of the fly mushroom
        body); a pair whose datasets are both in ``data`` gives a pair floor
        (:func:`~mesoscale.generative.pair_floor`, on common neurons when both have
        positions) for both of them.
    quantile : float
        Upper quantile of a self floor that a fit may reach (:func:`~mesoscale.generative.floor_table`).
    seed : int
        Root seed; dataset ``name``'s floor uses ``stream_seed(seed, "floor", name)``.
    progress : bool

    Returns
    -------
    dict
        ``nesting`` (every fit's :attr:`FitResult.nesting` with a ``dataset`` column),
        ``violations`` (its rows with ``ok`` False), ``pairs`` (one row per pair floor:
        the KS statistics and sizes) and ``floors`` (:func:`~mesoscale.generative.floor_table`
        of each dataset's best energy against its self floor and, where there is one, its
        pair floor).

    Examples
    --------
    >>> data, _ = prepare_connectomes(["human_dk68"])
    >>> r = fit_connectomes(data, ["sptl", "matching"], top_k=2, n_boot=20, n_draws=4, levels=1, nesting="ignore")
    >>> c = fit_checks(data, r, n_floor=4)
    >>> sorted(c), bool(c["floors"]["verdict"].isin(["within floor", "misfit"]).all())
    (['floors', 'nesting', 'pairs', 'violations'], True)
    """
    from tqdm.auto import tqdm

    n_floor = check_int(n_floor, "n_floor", minimum=2)
    best = fitted["best"]
    nesting = pd.concat([f.nesting.assign(dataset=name) for name, f in fitted["fits"].items()], ignore_index=True)
    self_floor = {}
    for name in tqdm(list(best.index), desc="self floors", disable=not progress):
        d, r = data[name], best.loc[name]
        eta = float(r["eta"]) if np.isfinite(r["eta"]) else 0.0  # constant distances: eta has no effect
        gamma = None if r["rule"] == "sptl" else float(r["gamma"])
        self_floor[name] = self_energy_floor(d["D"], int(d["A"].sum()) // 2, r["rule"], eta, gamma,
                                             n_networks=n_floor + n_floor % 2, seed=stream_seed(seed, "floor", name))
    pair_rows, pair_floor_of = [], {}
    for a, b in pairs:
        if a in data and b in data:
            both_spatial = data[a]["spatial"] and data[b]["spatial"]
            row = pair_floor(data[a]["c"], data[b]["c"]) if both_spatial else pair_floor(data[a]["A"], data[b]["A"])
            pair_rows.append(row.rename(f"{a} vs {b}"))
            pair_floor_of[a] = pair_floor_of[b] = row
    floors = {"self": self_floor}
    if pair_floor_of:
        floors["pair"] = pair_floor_of
    table = floor_table(best, floors, {name: data[name]["A"] for name in best.index}, quantile=quantile)
    return {"nesting": nesting, "violations": nesting[~nesting["ok"].astype(bool)].reset_index(drop=True),
            "pairs": pd.DataFrame(pair_rows), "floors": table}


def compare_fits(data: dict, fitted: dict, *, n_synthetic: int = 20, n_null: int = 20, n_runs: int = 10, seed=0,
                 progress: bool = False) -> dict:
    """Mesoscale structure of networks grown at each dataset's best fit, against the real one.

    Returns
    -------
    dict
        ``comparisons`` (name -> :func:`compare_mesoscale` table), ``verdicts``
        (:func:`summarize_comparison` rows with ``dataset`` and ``rule``), ``z_table``
        (dataset x metric z), ``real`` (the real networks' Q, Q_z, n_null, n_modules),
        ``failures`` (share of datasets where each metric is not reproduced) and
        ``directions`` (per metric and species: datasets with the real value above / below).

    Examples
    --------
    >>> data, _ = prepare_connectomes(["human_dk68"])
    >>> fitted = fit_connectomes(data, ["sptl"], top_k=2, n_boot=20, n_draws=4, levels=1)
    >>> out = compare_fits(data, fitted, n_synthetic=2, n_null=2, n_runs=1)
    >>> out["comparisons"]["human_dk68"]["source"].tolist()
    ['real', 'synthetic', 'synthetic']
    """
    from tqdm.auto import tqdm

    n_synthetic = check_int(n_synthetic, "n_synthetic", minimum=2)
    comparisons, verdicts = {}, []
    names = list(data)
    for name in tqdm(names, desc="compare", disable=not progress):
        d, rule = data[name], fitted["best"].loc[name, "rule"]
        syn = fitted_networks(fitted["fits"][name], d["D"], int(d["A"].sum() // 2), n_synthetic,
                              seed=stream_seed(seed, "synthetic", name), rule=rule)
        comparisons[name] = compare_mesoscale(d["A"], syn, d["D"] if d["spatial"] else None,
                                              seed=stream_seed(seed, "compare", name), n_null=n_null,
                                              n_runs=n_runs, progress=False)
        verdicts.append(summarize_comparison(comparisons[name]).assign(dataset=name, rule=rule))
    verdicts = pd.concat(verdicts, ignore_index=True)
    metrics = list(COMPARISON_METRICS)
    z_table = verdicts.pivot(index="dataset", columns="metric", values="z").loc[names, metrics]
    real = pd.DataFrame({n: comparisons[n].iloc[0][["Q", "Q_z", "n_null", "n_modules"]] for n in names}).T
    failures = (verdicts.assign(failed=~verdicts["reproduced"]).groupby("metric")["failed"].mean()
                .reindex(metrics).rename("share of datasets not reproduced"))
    v = verdicts.assign(species=verdicts["dataset"].map(lambda n: data[n]["species"]),
                        **{"real above model": verdicts["z"] >= 2, "real below model": verdicts["z"] <= -2})
    directions = (v.groupby(["metric", "species"], sort=False)[["real above model", "real below model"]].sum()
                  .unstack("species").loc[metrics])
    return {"comparisons": comparisons, "verdicts": verdicts, "z_table": z_table, "real": real,
            "failures": failures, "directions": directions}


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
    stages = sorted((n for n in data if n.startswith("celegans_witvliet_")), key=lambda n: (data[n]["c"].age, n))
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


def species_table(data: dict, fitted: dict, compared: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per dataset (best rule, parameters, real modularity, share reproduced) and the species means.

    Returns
    -------
    per_dataset : DataFrame
    panel : DataFrame
        Mean and sd per species of the numeric columns (worm, fly, mouse, human order).

    Examples
    --------
    >>> data, _ = prepare_connectomes(["human_dk68"])
    >>> fitted = fit_connectomes(data, ["sptl"], top_k=2, n_boot=20, n_draws=4, levels=1)
    >>> per, panel = species_table(data, fitted, compare_fits(data, fitted, n_synthetic=2, n_null=2, n_runs=1))
    >>> per["best rule"].tolist(), list(panel.index)
    (['sptl'], ['Homo sapiens'])
    """
    rows = []
    for name in data:
        row, real = fitted["best"].loc[name], compared["comparisons"][name].iloc[0]
        ver = compared["verdicts"][compared["verdicts"]["dataset"] == name].set_index("metric")
        A = data[name]["A"]
        rows.append({"species": data[name]["species"], "dataset": name, "best rule": row["rule"],
                     "p_best": row["p_best"], "energy": row["energy_topk"], "eta": row["eta"], "gamma": row["gamma"],
                     "density": A.sum() / (A.shape[0] * (A.shape[0] - 1)), "Q": real["Q"], "Q_z": real["Q_z"],
                     "n_modules": real["n_modules"], "reproduced": f"{int(ver['reproduced'].sum())}/{len(ver)}",
                     "share reproduced": ver["reproduced"].mean(),
                     "degree_corr (model)": ver.loc["degree_corr", "synthetic_mean"]})
    per = pd.DataFrame(rows)
    order = ["Caenorhabditis elegans", "Drosophila melanogaster", "Mus musculus", "Homo sapiens"]
    cols = ["energy", "eta", "gamma", "density", "Q", "Q_z", "share reproduced", "degree_corr (model)"]
    panel = per.groupby("species")[cols].agg(["mean", "std"])
    panel = panel.reindex([s for s in order if s in panel.index] + [s for s in panel.index if s not in order])
    return per, panel
