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
:func:`~mesoscale.generative.stages.development_study` (in :mod:`~mesoscale.generative.stages`)
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

from .._validation import check_float, check_int, check_n_jobs
from ._engine import check_rules, fingerprint
from .comparison import COMPARISON_METRICS, compare_mesoscale, summarize_comparison
from .fitting import fit
from .floors import floor_table, pair_floor, self_energy_floor
from .ranking import fitted_networks, topk_energies
from .uncertainty import pool_searches, search_ranking, search_uncertainty

__all__ = [
    "project_root",
    "store_path",
    "keyed_stores",
    "stream_seed",
    "check_dataset",
    "prepare_connectomes",
    "fit_connectomes",
    "summarize_fits",
    "fit_checks",
    "compare_fits",
    "summarize_comparisons",
    "species_table",
    "group_summary",
    "threshold_check",
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


def keyed_stores(store_dir, *, seed):
    """A function ``store(name, **grid)`` giving each sweep its store below ``store_dir``, named by a key.

    The key hashes ``seed`` and ``grid`` (everything that defines the sweep), so a sweep with other
    parameters never resumes another's store. ``store_dir`` ``None``/``""`` keeps every sweep in memory.

    Examples
    --------
    >>> store = keyed_stores("stores/02", seed=0)
    >>> a, b = store("scan", n=[10, 20]), store("scan", n=[10, 40])
    >>> a != b and os.path.basename(a).startswith("scan_")
    True
    >>> keyed_stores("", seed=0)("scan", n=[10]) is None
    True
    """
    from ..sweep import task_key

    def store(name: str, **grid):
        return store_path(store_dir and f"{store_dir}/{name}_{task_key({'seed': seed, **grid})[:12]}")

    return store


def stream_seed(seed, purpose: str, name: str) -> int:
    """One reproducible integer seed per ``(purpose, name)`` from the root ``seed`` (via ``task_rng``).

    Examples
    --------
    >>> stream_seed(0, "fit", "human_dk68") == stream_seed(0, "fit", "human_dk68") != stream_seed(0, "fit", "x")
    True
    """
    from ..sweep import task_rng

    return int(task_rng(seed, {"purpose": str(purpose), "name": str(name)}).integers(2**62))


def check_dataset(name: str, data: dict, argument: str = "dataset") -> str:
    """``name`` if it is one of the prepared datasets, else a ``ValueError`` naming ``argument``.

    Examples
    --------
    >>> check_dataset("a", {"a": {}})
    'a'
    >>> check_dataset("b", {"a": {}}, "example_dataset")
    Traceback (most recent call last):
        ...
    ValueError: 'example_dataset' must be one of the datasets ['a']; got 'b'
    """
    if name not in data:
        raise ValueError(f"{argument!r} must be one of the datasets {list(data)}; got {name!r}")
    return name


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
                    n_searches: int = 1, store_dir=None, progress: bool = False, per_dataset=None,
                    **fit_options) -> dict:
    """Fit every dataset with the same search, repeated ``n_searches`` times, and rank the rules.

    Parameters
    ----------
    data : dict
        From :func:`prepare_connectomes`.
    rules : sequence of str
        Wiring rules to fit.
    top_k, n_boot
        Points behind the ranking and bootstrap resamples (:func:`rule_ranking`).
    seed : int
        Root seed; dataset ``name``'s first search fits with ``stream_seed(seed, "fit", name)``,
        search ``s > 0`` with ``stream_seed(seed, f"fit-search{s}", name)``.
    n_searches : int
        Independent searches per dataset (:mod:`~mesoscale.generative.uncertainty`): the
        fit is their pool, the ranking's ``p_best`` counts the spread of the searches.
    store_dir : str, optional
        Folder (below the project root unless absolute) holding one fit store per dataset,
        search setting and search (``<name>-<fingerprint>``, ``<name>-<fingerprint>-s<k>``);
        ``None`` keeps fits in memory.
    per_dataset : mapping, optional
        Search settings that differ for some datasets, e.g. ``{"human_dk68": {"n_draws": 500}}``
        (a bigger search where networks are cheap); they override ``fit_options``.
    **fit_options
        Passed to :func:`~mesoscale.generative.fit` (``search``, ``n_draws``, ``levels``,
        ``n_networks``, ``eta_range``, ``gamma_range``, ``client``, ...). ``n_jobs`` > 1 (or
        -1) without a ``client`` runs every fit on one local Dask cluster of that many
        processes, closed at the end.

    Returns
    -------
    dict
        ``fits`` (name -> FitResult: the pooled searches), ``searches`` (name -> list of
        FitResult), ``rankings`` (:func:`~mesoscale.generative.search_ranking` of all rules,
        with a ``dataset`` column; ``eta`` is NaN for datasets without positions), ``topk``
        (:func:`topk_energies` of the pooled fits, stacked), ``uncertainty``
        (:func:`~mesoscale.generative.search_uncertainty` stacked) and ``best`` (the best
        rule per dataset, indexed by dataset).

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
    n_searches = check_int(n_searches, "n_searches", minimum=1)
    per_dataset = dict(per_dataset or {})
    bad = [k for k, v in per_dataset.items() if not isinstance(v, dict)]
    if bad:
        raise ValueError(f"'per_dataset' must map dataset names to dicts of fit settings; got {per_dataset!r}")
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
    searches = {}
    try:
        for name in tqdm(list(data), desc="fit datasets", disable=not progress):
            d = data[name]
            options = {**fit_options, **per_dataset.get(name, {})}
            dtag = tag if name not in per_dataset else fingerprint([tag, sorted(per_dataset[name].items())])[:10]
            searches[name] = []
            for k in range(n_searches):
                purpose = "fit" if k == 0 else f"fit-search{k}"
                store = None if root is None else str(Path(root) / (f"{name}-{dtag}" + (f"-s{k}" if k else "")))
                searches[name].append(fit(d["A"], d["D"], rules=rules, top_k=top_k, seed=stream_seed(seed, purpose, name),
                                          store=store, progress=False, **options))
    finally:
        if own_client is not None:
            own_client.close()
            cluster.close()
    return summarize_fits(data, searches, top_k=top_k, n_boot=n_boot, seed=seed)


def summarize_fits(data: dict, searches: dict, *, top_k: int = 10, n_boot: int = 1000, seed=0) -> dict:
    """The tables of :func:`fit_connectomes` from its searches (name -> list of FitResult).

    Examples
    --------
    >>> data, _ = prepare_connectomes(["human_dk68"])
    >>> r = fit_connectomes(data, ["sptl"], top_k=2, n_boot=20, n_draws=4, levels=1, n_searches=2)
    >>> again = summarize_fits(data, r["searches"], top_k=2, n_boot=20)
    >>> again["rankings"].equals(r["rankings"]), len(again["fits"]["human_dk68"].table)
    (True, 8)
    """
    fits, rankings, topk, uncertainty = {}, [], [], []
    for name, fs in searches.items():
        fits[name] = fs[0] if len(fs) == 1 else pool_searches(fs, top_k)
        r = search_ranking(fs, top_k=top_k, n_boot=n_boot, seed=stream_seed(seed, "ranking", name))
        u = search_uncertainty(fs, top_k=top_k)
        if not data[name]["spatial"]:
            r[["eta", "eta_sd"]] = np.nan  # eta has no meaning with constant distances
            u[["eta", "eta_search_sd", "eta_ci_low", "eta_ci_high"]] = np.nan
        rankings.append(r.assign(dataset=name))
        uncertainty.append(u.assign(dataset=name))
        topk.append(topk_energies(fits[name], top_k).assign(dataset=name))
    rankings = pd.concat(rankings, ignore_index=True)
    best = rankings.groupby("dataset", sort=False).head(1).set_index("dataset")
    return {"fits": fits, "searches": dict(searches), "rankings": rankings, "topk": pd.concat(topk, ignore_index=True),
            "uncertainty": pd.concat(uncertainty, ignore_index=True), "best": best}


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


#: The pair of animals that should be alike whose agreement is the ceiling of the identity metrics.
CEILING_PAIR = ("celegans_witvliet_7", "celegans_witvliet_8")

#: The metrics of :func:`compare_mesoscale` that ask whether modules and hubs sit on the same nodes.
IDENTITY_METRICS = ("partition_ami", "hub_overlap", "degree_corr")


def _compare_one(name, A, D, spatial, fit, rule, best, n_synthetic, n_null, n_runs, seed):
    """One dataset of :func:`compare_fits` (a process-pool job; every stream keyed by the dataset's name)."""
    from ..metrics import ks_energy

    syn = fitted_networks(fit, D, int(A.sum() // 2), n_synthetic, seed=stream_seed(seed, "synthetic", name), rule=rule)
    table = compare_mesoscale(A, syn, D if spatial else None, seed=stream_seed(seed, "compare", name), n_null=n_null,
                              n_runs=n_runs, progress=False)
    e = ks_energy(syn, A, D)[:, -1]
    row = {"dataset": name, "rule": rule, "energy_topk": best["energy_topk"], "energy_q05": best["energy_q05"],
           "energy_q95": best["energy_q95"], "rescored_mean": float(e.mean()), "rescored_sd": float(e.std(ddof=1)),
           "n_synthetic": len(e), "ok": bool(best["energy_q05"] <= e.mean() <= best["energy_q95"])}
    return table, row


def compare_fits(data: dict, fitted: dict, *, n_synthetic: int = 20, n_null: int = 20, n_runs: int = 10, seed=0,
                 ceiling_pair=CEILING_PAIR, n_jobs: int | None = 1, progress: bool = False) -> dict:
    """Mesoscale structure of networks grown at each dataset's best fit, against the real one.

    The synthetic networks are grown at the mean of the best rule's top-k parameters
    (:func:`~mesoscale.generative.fitted_networks`), a point the search never evaluated, so
    they are **re-scored**: their energy against the real network is compared with the
    energies of the networks behind the fit (``rescored``: ``ok`` when their mean lies
    within the top-k networks' 5-95 % range). The identity metrics (partition agreement,
    hub overlap, degree correlation) get a **ceiling**: the same metrics between two
    animals that should be alike (``ceiling_pair``, on their common neurons), the most a
    model of one animal can be expected to reach on another.

    ``n_jobs`` > 1 (or -1: every core) compares the datasets in that many processes; every
    dataset's streams are keyed by its name, so the result does not depend on ``n_jobs``.

    Returns
    -------
    dict
        ``comparisons`` (name -> :func:`compare_mesoscale` table), ``verdicts``
        (:func:`summarize_comparison` rows with ``dataset`` and ``rule``), ``z_table``
        (dataset x metric z), ``real`` (the real networks' Q, Q_z, n_null, n_modules),
        ``failures`` (share of datasets where each metric is not reproduced),
        ``directions`` (per metric and species: datasets with the real value above / below),
        ``rescored`` (per dataset: ``energy_topk``, ``energy_q05``/``q95`` of the fit,
        ``rescored_mean``/``sd`` of the synthetic networks, ``ok``) and ``ceiling`` (one
        row: the identity metrics between the pair; empty when the pair is not in ``data``).

    Examples
    --------
    >>> data, _ = prepare_connectomes(["human_dk68"])
    >>> fitted = fit_connectomes(data, ["sptl"], top_k=2, n_boot=20, n_draws=4, levels=1)
    >>> out = compare_fits(data, fitted, n_synthetic=2, n_null=2, n_runs=1)
    >>> out["comparisons"]["human_dk68"]["source"].tolist(), len(out["rescored"]), len(out["ceiling"])
    (['real', 'synthetic', 'synthetic'], 1, 0)
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    from ..connectomes import align_connectomes

    n_synthetic = check_int(n_synthetic, "n_synthetic", minimum=2)
    n_jobs = check_n_jobs(n_jobs) or 1
    names = list(data)
    jobs = [(name, data[name]["A"], data[name]["D"], bool(data[name]["spatial"]), fitted["fits"][name],
             fitted["best"].loc[name, "rule"], fitted["best"].loc[name, ["energy_topk", "energy_q05", "energy_q95"]]
             .astype(float).to_dict(), n_synthetic, n_null, n_runs, seed) for name in names]
    done = {}
    with tqdm(total=len(jobs), desc="compare", disable=not progress) as bar:
        if n_jobs == 1 or len(jobs) < 2:
            for job in jobs:
                done[job[0]] = _compare_one(*job)
                bar.update()
        else:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(min(n_jobs, len(jobs)), mp_context=ctx) as pool:
                futures = {pool.submit(_compare_one, *job): job[0] for job in jobs}
                for fut, name in futures.items():
                    done[name] = fut.result()
                    bar.update()
    comparisons = {name: done[name][0] for name in names}
    rescored = [done[name][1] for name in names]
    ceiling = pd.DataFrame(columns=["pair", "n_common", *IDENTITY_METRICS])
    a, b_ = ceiling_pair if ceiling_pair else (None, None)
    if a in data and b_ in data:
        A0, A1, Dc, labels = align_connectomes(data[a]["c"], data[b_]["c"], nodes="common")
        pair = compare_mesoscale(A1, A0[None], Dc, seed=stream_seed(seed, "ceiling", f"{a}-{b_}"), n_null=2,
                                 n_runs=n_runs, progress=False).iloc[1]
        ceiling = pd.DataFrame([{"pair": f"{a} vs {b_}", "n_common": len(labels),
                                 **{m: float(pair[m]) for m in IDENTITY_METRICS}}])
    return summarize_comparisons(data, fitted, comparisons, pd.DataFrame(rescored), ceiling)


def summarize_comparisons(data: dict, fitted: dict, comparisons: dict, rescored: pd.DataFrame,
                          ceiling: pd.DataFrame) -> dict:
    """The tables of :func:`compare_fits` from its per-dataset comparisons (cheap, deterministic).

    Examples
    --------
    >>> data, _ = prepare_connectomes(["human_dk68"])
    >>> fitted = fit_connectomes(data, ["sptl"], top_k=2, n_boot=20, n_draws=4, levels=1)
    >>> out = compare_fits(data, fitted, n_synthetic=2, n_null=2, n_runs=1)
    >>> again = summarize_comparisons(data, fitted, out["comparisons"], out["rescored"], out["ceiling"])
    >>> again["z_table"].equals(out["z_table"])
    True
    """
    names = list(comparisons)
    verdicts = pd.concat([summarize_comparison(comparisons[n]).assign(dataset=n, rule=fitted["best"].loc[n, "rule"])
                          for n in names], ignore_index=True)
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
            "failures": failures, "directions": directions, "rescored": rescored, "ceiling": ceiling}


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


def threshold_check(data: dict, fitted: dict, *, density: float = 0.1, names: Sequence[str] | None = None,
                    rules: Sequence[str] | None = None, top_k: int = 10, n_boot: int = 1000, seed=0,
                    n_searches: int = 1, store_dir=None, per_dataset=None, progress: bool = False,
                    **fit_options) -> pd.DataFrame:
    """Does the rule ranking depend on how a weighted connectome was binarised?

    Published fits of human connectomes (Betzel 2016, Akarca 2021) use networks thresholded to
    a low density, where the packaged templates here are binarised at any connection. Each
    weighted, spatial dataset in ``names`` is refitted at ``density`` (its strongest pairs,
    :func:`mesoscale.connectomes.binary_at_density`) with the same search, and its ranking set
    beside the one at its own density.

    Parameters
    ----------
    data, fitted : dict
        From :func:`prepare_connectomes` and :func:`fit_connectomes`.
    density : float in (0, 1)
        Share of node pairs kept; a dataset already at or below it is skipped.
    names : sequence of str, optional
        Weighted, single-layer datasets to refit (default: the human datasets with positions,
        whose published fits are the ones compared).
    rules : sequence of str, optional
        Rules to refit (default: ``sptl``, ``matching`` and each dataset's best rule).
    top_k, n_boot, seed, n_searches, store_dir, per_dataset, progress, **fit_options
        As in :func:`fit_connectomes`; thresholded datasets are named ``<name>@<density>``
        (their own random streams and fit stores), and ``per_dataset`` settings of ``<name>``
        apply to them too.

    Returns
    -------
    DataFrame
        One row per (dataset, rule): ``density_own`` and ``density``, ``energy_own`` and
        ``rank_own`` (the original fit, ranks among the refitted rules), ``energy_topk``,
        ``ci_low``/``ci_high``, ``p_best``, ``eta``, ``gamma`` and ``rank`` at ``density``.

    Examples
    --------
    >>> data, _ = prepare_connectomes(["human_dk68"])
    >>> fitted = fit_connectomes(data, ["sptl", "matching"], top_k=2, n_boot=20, n_draws=4, levels=1)
    >>> t = threshold_check(data, fitted, density=0.1, top_k=2, n_boot=20, n_draws=4, levels=1)
    >>> t[["dataset", "rule", "density"]].to_numpy().tolist()
    [['human_dk68', 'matching', 0.1], ['human_dk68', 'sptl', 0.1]]
    """
    from ..connectomes import binary_at_density

    density = check_float(density, "density", minimum=0.0, maximum=1.0)
    if not 0.0 < density < 1.0:
        raise ValueError(f"'density' must lie strictly between 0 and 1; got {density!r}")
    if names is None:
        names = [n for n, d in data.items() if d["spatial"] and d["species"] == "Homo sapiens"]
    names = [check_dataset(n, data, "names") for n in names]
    per_dataset = dict(per_dataset or {})
    sub, own = {}, {}
    for name in names:
        d = data[name]
        W = d["c"].adjacency()
        n = W.shape[0]
        own_density = float(d["A"].sum() / (n * (n - 1)))
        if own_density <= density:
            continue
        key = f"{name}@{density:g}"
        sub[key] = {**d, "A": binary_at_density(W, density), "network": f"strongest {density:.0%} of pairs"}
        own[key] = (name, own_density)
        if name in per_dataset:
            per_dataset[key] = per_dataset[name]
    if not sub:
        return pd.DataFrame(columns=["dataset", "rule", "density_own", "density", "energy_own", "rank_own",
                                     "energy_topk", "ci_low", "ci_high", "p_best", "eta", "gamma", "rank"])
    rows = []
    for key, d in sub.items():
        name, own_density = own[key]
        chosen = list(rules) if rules is not None else sorted({"sptl", "matching", fitted["best"].loc[name, "rule"]})
        refit = fit_connectomes({key: d}, chosen, top_k=top_k, n_boot=n_boot, seed=seed, n_searches=n_searches,
                                store_dir=store_dir, per_dataset=per_dataset, progress=progress, **fit_options)
        before = fitted["rankings"]
        before = before[(before["dataset"] == name) & before["rule"].isin(chosen)].sort_values("energy_topk")
        before = before.assign(rank_own=np.arange(1, len(before) + 1)).set_index("rule")
        after = refit["rankings"].sort_values("energy_topk")
        for rank, r in enumerate(after.itertuples(), 1):
            rows.append({"dataset": name, "rule": r.rule, "density_own": own_density, "density": density,
                         "energy_own": float(before.loc[r.rule, "energy_topk"]) if r.rule in before.index else np.nan,
                         "rank_own": int(before.loc[r.rule, "rank_own"]) if r.rule in before.index else -1,
                         "energy_topk": float(r.energy_topk), "ci_low": float(r.ci_low), "ci_high": float(r.ci_high),
                         "p_best": float(r.p_best), "eta": float(r.eta), "gamma": float(r.gamma), "rank": rank})
    return pd.DataFrame(rows).sort_values(["dataset", "rule"], ignore_index=True)


def group_summary(fitted: dict, names: Sequence[str] | None = None, *, confidence: float = 0.95) -> pd.DataFrame:
    """Group statistics of rules fitted to many subjects one by one (e.g. the 32 mice).

    Parameters
    ----------
    fitted : dict
        From :func:`fit_connectomes` over the subjects.
    names : sequence of str, optional
        The subjects (default: every dataset of ``fitted``); at least two.
    confidence : float
        Level of the t intervals across subjects.

    Returns
    -------
    DataFrame
        One row per rule, sorted by mean energy: ``n_subjects``, ``energy_mean``,
        ``energy_sd``, ``energy_ci_low``/``high`` (of the subjects' top-k energies),
        ``share_best`` (share of subjects whose best rule it is), ``gamma_mean`` with its
        interval, ``gamma_positive`` (share of subjects with ``gamma > 0``) and ``eta_mean``.

    Examples
    --------
    >>> r = pd.DataFrame({"dataset": ["m1", "m1", "m2", "m2"], "rule": ["a", "b", "b", "a"],
    ...                   "energy_topk": [0.2, 0.3, 0.25, 0.28], "gamma": [1.0, -1.0, -0.5, 2.0], "eta": np.nan})
    >>> g = group_summary({"rankings": r})
    >>> g[["rule", "n_subjects", "share_best"]].to_numpy().tolist()
    [['a', 2, 0.5], ['b', 2, 0.5]]
    """
    from scipy import stats

    r = fitted["rankings"]
    names = list(dict.fromkeys(r["dataset"])) if names is None else list(names)
    if len(names) < 2:
        raise ValueError(f"'names' must list at least two fitted subjects; got {names}")
    confidence = check_float(confidence, "confidence", minimum=0.0, maximum=1.0)
    r = r[r["dataset"].isin(names)]
    missing = sorted(set(names) - set(r["dataset"]))
    if missing:
        raise ValueError(f"'names' lists subjects that were not fitted: {missing}")
    winners = r.sort_values("energy_topk", kind="stable").groupby("dataset").head(1)["rule"].value_counts()
    rows = []
    for rule, g in r.groupby("rule", sort=False):
        e, gam = g["energy_topk"].to_numpy(float), g["gamma"].to_numpy(float)
        n = len(g)
        t = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) if n > 1 else np.nan
        half_e = t * e.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        gf = gam[np.isfinite(gam)]
        half_g = t * gf.std(ddof=1) / np.sqrt(gf.size) if gf.size > 1 else np.nan
        rows.append({"rule": rule, "n_subjects": n, "energy_mean": float(e.mean()),
                     "energy_sd": float(e.std(ddof=1)) if n > 1 else np.nan,
                     "energy_ci_low": float(e.mean() - half_e), "energy_ci_high": float(e.mean() + half_e),
                     "share_best": float(winners.get(rule, 0) / len(names)),
                     "gamma_mean": float(gf.mean()) if gf.size else np.nan,
                     "gamma_ci_low": float(gf.mean() - half_g) if gf.size else np.nan,
                     "gamma_ci_high": float(gf.mean() + half_g) if gf.size else np.nan,
                     "gamma_positive": float(np.mean(gf > 0)) if gf.size else np.nan,
                     "eta_mean": float(np.nanmean(g["eta"])) if np.isfinite(g["eta"]).any() else np.nan})
    return pd.DataFrame(rows).sort_values(["energy_mean", "rule"], kind="stable").reset_index(drop=True)
