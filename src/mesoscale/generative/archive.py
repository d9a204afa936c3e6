"""The phase-2 results as compact tables, and back: what a stored run (``results/``) keeps of a fit.

A fit's raw table holds one row per grown network with its four KS distances. A stored run
keeps every network's energy (the landscapes, the top-k sets and every ranking are recomputed
from it exactly) but the four KS distances only for each rule's best points
(``ks_points x top_k`` points per search), which is all the chapters show of them; energies
are stored as float32 (the KS distances are multiples of 1/n, far coarser than float32's
resolution). :func:`fits_to_frames` / :func:`fits_from_frames` do this for the output of
:func:`~mesoscale.generative.study.fit_connectomes`; :func:`comparisons_to_frames` /
:func:`comparisons_from_frames` for :func:`~mesoscale.generative.study.compare_fits`;
:func:`study_to_frames` / :func:`study_from_frames` for any dict of tables and lists (the
development study, the checks); :func:`stored_extensions` and :func:`stored_special_cases` keep
chapter 08's studies (reduced by :func:`~mesoscale.generative.extensions.extension_frames` and
:func:`~mesoscale.generative.extensions.special_frames`).

Examples
--------
>>> from mesoscale.generative.study import fit_connectomes, prepare_connectomes
>>> data, _ = prepare_connectomes(["human_dk68"])
>>> fitted = fit_connectomes(data, ["sptl", "matching"], top_k=2, n_boot=20, n_draws=4, levels=1, n_searches=2,
...                          nesting="ignore")
>>> back = fits_from_frames(fits_to_frames(fitted), data)
>>> back["rankings"].equals(fitted["rankings"]), len(back["searches"]["human_dk68"])
(True, 2)
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd

from .._validation import check_int, jsonable
from ..metrics import KS_COLUMNS
from .ranking import best_parameters, best_points, nesting_table, point_keys

__all__ = [
    "fits_to_frames",
    "fits_from_frames",
    "comparisons_to_frames",
    "comparisons_from_frames",
    "study_to_frames",
    "study_from_frames",
    "stored_fits",
    "stored_comparisons",
    "stored_study",
    "stored_extensions",
    "stored_special_cases",
]

_PARTS = ("rankings", "topk", "uncertainty")


def fits_to_frames(fitted: dict, *, ks_points: int = 2) -> dict[str, pd.DataFrame]:
    """The tables of a :func:`~mesoscale.generative.study.fit_connectomes` result, reduced for storage.

    Parameters
    ----------
    fitted : dict
        ``fit_connectomes`` output (with ``searches``).
    ks_points : int
        The four KS distances are kept for the best ``ks_points * top_k`` points of every
        dataset, search and rule (missing elsewhere); every network's energy is kept.

    Returns
    -------
    dict of DataFrame
        ``networks`` (every search's table with ``dataset`` and ``search`` columns),
        ``settings`` (one row per dataset and search: the search settings as JSON),
        ``rankings``, ``topk``, ``uncertainty`` and ``best`` (indexed by dataset).

    Examples
    --------
    >>> import numpy as np
    >>> from mesoscale.generative import fit
    >>> xy = np.random.default_rng(0).random((20, 2)); D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> A = (D < 0.3).astype(float); np.fill_diagonal(A, 0)
    >>> f = fit(A, D, rules=["sptl"], n_draws=6, levels=1, top_k=1, seed=0, progress=False)
    >>> frames = fits_to_frames({"searches": {"toy": [f]}, "rankings": pd.DataFrame(), "topk": pd.DataFrame(),
    ...                          "uncertainty": pd.DataFrame(), "best": pd.DataFrame()})
    >>> int(frames["networks"]["ks_degree"].notna().sum()), len(frames["networks"])   # KS kept for 2 x top_k points
    (2, 6)
    """
    ks_points = check_int(ks_points, "ks_points", minimum=1)
    nets, settings = [], []
    for name, searches in fitted["searches"].items():
        for s, f in enumerate(searches):
            t = f.table.copy()
            top_k = int(f.settings.get("top_k", 10))
            keep = best_points(t, ks_points * top_k)[["rule", *point_keys(t)]].assign(_keep=True)
            t = t.merge(keep, on=["rule", *point_keys(t)], how="left")
            drop = t["_keep"].isna().to_numpy()
            for col in KS_COLUMNS[:-1]:
                t.loc[drop, col] = np.nan
            t = t.drop(columns="_keep")
            for col in ("eta", "gamma", *KS_COLUMNS):
                t[col] = t[col].astype(np.float32)
            nets.append(t.assign(dataset=name, search=s))
            settings.append({"dataset": name, "search": s, "settings": json.dumps(f.settings, default=jsonable)})
    networks = pd.concat(nets, ignore_index=True)
    for col in ("dataset", "rule"):
        networks[col] = networks[col].astype("category")
    for col in ("level", "search"):
        networks[col] = networks[col].astype(np.int16)
    networks["point"] = networks["point"].astype(np.int32)
    networks["repeat"] = networks["repeat"].astype(np.int16)
    out = {"networks": networks, "settings": pd.DataFrame(settings)}
    for part in _PARTS:
        out[part] = fitted[part].reset_index(drop=True)
    out["best"] = fitted["best"]
    return out


def fits_from_frames(frames: dict, data: dict) -> dict:
    """Rebuild a :func:`~mesoscale.generative.study.fit_connectomes` result from :func:`fits_to_frames`.

    The searches become :class:`~mesoscale.generative.FitResult` objects again (their best
    parameters and nesting recomputed from the stored networks, pooled with
    :func:`~mesoscale.generative.pool_searches`); rankings, top-k and uncertainty are the
    stored ones. ``data`` (the prepared datasets) gives the dataset order.

    Examples
    --------
    >>> from mesoscale.generative.study import fit_connectomes, prepare_connectomes
    >>> data, _ = prepare_connectomes(["human_dk68"])
    >>> fitted = fit_connectomes(data, ["sptl"], top_k=2, n_boot=20, n_draws=4, levels=1)
    >>> fits_from_frames(fits_to_frames(fitted), data)["best"].loc["human_dk68", "rule"]
    'sptl'
    """
    from .fitting import FitResult
    from .uncertainty import pool_searches

    networks, settings = frames["networks"], frames["settings"]
    missing = [n for n in data if n not in set(settings["dataset"])]
    if missing:
        raise ValueError(f"the stored fits lack the datasets {missing}; recompute them")
    searches, fits = {}, {}
    for name in data:
        rows = settings[settings["dataset"] == name].sort_values("search")
        searches[name] = []
        for row in rows.itertuples():
            st = json.loads(row.settings)
            t = networks[(networks["dataset"] == name) & (networks["search"] == row.search)]
            t = t.drop(columns=["dataset", "search"]).reset_index(drop=True)
            t["rule"] = t["rule"].astype(str)
            for col in ("level", "point", "repeat"):
                t[col] = t[col].astype(np.int64)
            for col in ("eta", "gamma", *KS_COLUMNS):
                t[col] = t[col].astype(float)
            top_k = int(st.get("top_k", 10))
            searches[name].append(FitResult(table=t, best=best_parameters(t, top_k), settings=st,
                                            nesting=nesting_table(t, top_k, gamma_range=st.get("gamma_range"))))
        fs = searches[name]
        fits[name] = fs[0] if len(fs) == 1 else pool_searches(fs, int(fs[0].settings.get("top_k", 10)))
    out = {"fits": fits, "searches": searches}
    for part in _PARTS:
        out[part] = frames[part].reset_index(drop=True)
    out["best"] = frames["best"]
    return out


def comparisons_to_frames(compared: dict) -> dict[str, pd.DataFrame]:
    """The per-dataset comparisons, re-scores and ceiling of :func:`~mesoscale.generative.study.compare_fits`.

    Examples
    --------
    >>> c = {"comparisons": {"a": pd.DataFrame({"source": ["real"], "Q": [0.4]})}, "rescored": pd.DataFrame(),
    ...      "ceiling": pd.DataFrame()}
    >>> comparisons_to_frames(c)["comparisons"][["dataset", "Q"]].to_numpy().tolist()
    [['a', 0.4]]
    """
    comps = pd.concat([t.assign(dataset=name) for name, t in compared["comparisons"].items()], ignore_index=True)
    return {"comparisons": comps, "rescored": compared["rescored"].reset_index(drop=True),
            "ceiling": compared["ceiling"].reset_index(drop=True)}


def comparisons_from_frames(frames: dict, data: dict, fitted: dict) -> dict:
    """Rebuild :func:`~mesoscale.generative.study.compare_fits` output (its summaries recomputed).

    Examples
    --------
    >>> from mesoscale.generative.study import compare_fits, fit_connectomes, prepare_connectomes
    >>> data, _ = prepare_connectomes(["human_dk68"])
    >>> fitted = fit_connectomes(data, ["sptl"], top_k=2, n_boot=20, n_draws=4, levels=1)
    >>> c = compare_fits(data, fitted, n_synthetic=2, n_null=2, n_runs=1)
    >>> comparisons_from_frames(comparisons_to_frames(c), data, fitted)["z_table"].equals(c["z_table"])
    True
    """
    from .study import summarize_comparisons

    comps = frames["comparisons"]
    comparisons = {name: comps[comps["dataset"] == name].drop(columns="dataset").reset_index(drop=True)
                   for name in data}
    return summarize_comparisons(data, fitted, comparisons, frames["rescored"], frames["ceiling"])


def study_to_frames(result: dict) -> dict[str, pd.DataFrame]:
    """A dict of DataFrames and lists (e.g. the development study) as DataFrames only.

    Lists become one-column tables named ``list:<key>`` (tuples are stored as lists).

    Examples
    --------
    >>> sorted(study_to_frames({"stages": ["a", "b"], "growth": pd.DataFrame({"x": [1]})}))
    ['growth', 'list:stages']
    """
    out = {}
    for key, value in result.items():
        if isinstance(value, pd.DataFrame):
            out[key] = value
        elif isinstance(value, pd.Series):
            out[key] = value.to_frame()
        elif isinstance(value, (list, tuple)):
            out[f"list:{key}"] = pd.DataFrame({"value": [json.dumps(v, default=jsonable) for v in value]})
        else:
            raise TypeError(f"{key!r}: only DataFrames, Series and lists can be stored; got {type(value).__name__}")
    return out


def study_from_frames(frames: dict) -> dict:
    """The inverse of :func:`study_to_frames` (lists come back as lists; pairs as tuples).

    Examples
    --------
    >>> study_from_frames(study_to_frames({"t": [("a", "b")], "s": ["x"]}))
    {'t': [('a', 'b')], 's': ['x']}
    """
    out = {}
    for key, df in frames.items():
        if key.startswith("list:"):
            vals = [json.loads(v) for v in df["value"]]
            out[key[5:]] = [tuple(v) if isinstance(v, list) else v for v in vals]
        else:
            out[key] = df
    return out


def stored_fits(run, name: str, data: dict, compute) -> dict:
    """``fit_connectomes`` output kept in a stored run, one table group per dataset.

    ``compute(subset)`` fits a dict holding one prepared dataset; each dataset's fit is
    stored as ``<name>-<dataset>`` as soon as it is done, so a long run stopped part-way
    keeps its finished datasets (and a run can be stored part by part). Per-dataset fits
    equal a joint one: every stream of :func:`~mesoscale.generative.study.fit_connectomes`
    is keyed by the dataset's name. The per-dataset tables are joined into one result.

    Examples
    --------
    >>> import tempfile
    >>> from mesoscale.results import open_run
    >>> from mesoscale.generative.study import fit_connectomes, prepare_connectomes
    >>> data, _ = prepare_connectomes(["human_dk68"])
    >>> run = open_run("demo", {"x": 1}, root=tempfile.mkdtemp())
    >>> f = stored_fits(run, "fits", data, lambda d: fit_connectomes(d, ["sptl"], n_boot=10, n_draws=3, levels=1))
    >>> f["best"].loc["human_dk68", "rule"], run.computed
    ('sptl', ['fits-human_dk68'])
    """
    parts = [fits_from_frames(run.frames(f"{name}-{ds}", lambda ds=ds: fits_to_frames(compute({ds: data[ds]}))),
                              {ds: data[ds]}) for ds in data]
    out = {"fits": {}, "searches": {}}
    for p in parts:
        out["fits"].update(p["fits"])
        out["searches"].update(p["searches"])
    for key in (*_PARTS, "best"):
        out[key] = pd.concat([p[key] for p in parts], ignore_index=key != "best")
    return out


def stored_comparisons(run, name: str, data: dict, fitted: dict, compute) -> dict:
    """``compare_fits`` output kept in a stored run (see :func:`stored_fits`).

    Examples
    --------
    >>> import tempfile
    >>> from mesoscale.results import open_run
    >>> from mesoscale.generative.study import compare_fits, fit_connectomes, prepare_connectomes
    >>> data, _ = prepare_connectomes(["human_dk68"])
    >>> fitted = fit_connectomes(data, ["sptl"], n_boot=10, n_draws=3, levels=1, top_k=2)
    >>> run = open_run("demo", {"x": 1}, root=tempfile.mkdtemp())
    >>> c = stored_comparisons(run, "c", data, fitted, lambda: compare_fits(data, fitted, n_synthetic=2, n_null=2,
    ...                                                                     n_runs=1))
    >>> list(c["z_table"].index)
    ['human_dk68']
    """
    return comparisons_from_frames(run.frames(name, lambda: comparisons_to_frames(compute())), data, fitted)


def stored_study(run, name: str, compute) -> dict:
    """A dict of tables and lists (e.g. ``development_study``, ``fit_checks``) kept in a stored run.

    Examples
    --------
    >>> import tempfile
    >>> from mesoscale.results import open_run
    >>> run = open_run("demo", {"x": 1}, root=tempfile.mkdtemp())
    >>> stored_study(run, "s", lambda: {"stages": ["a"], "t": pd.DataFrame({"v": [1]})})["stages"]
    ['a']
    """
    return study_from_frames(run.frames(name, lambda: study_to_frames(compute())))


def stored_extensions(run, name: str, compute, *, targets=None) -> dict:
    """An :func:`~mesoscale.generative.extensions.extension_study` kept in a stored run, reduced.

    ``compute()`` runs the study; its wall time is kept with its tables (``seconds``). What comes
    back, computed here or read, is :func:`~mesoscale.generative.extensions.extension_from_frames`
    of the stored tables: ``summary``, ``holdout``, ``best``, ``weights`` (quantiles; ``targets``
    maps a comparison label to the real weights for the data's distribution) and ``seconds``.

    Examples
    --------
    >>> import tempfile
    >>> from mesoscale.results import open_run
    >>> from mesoscale.generative import HeterochronousModel, generate, wave_gradient
    >>> from mesoscale.generative.extensions import extension_study
    >>> P = np.random.default_rng(0).random((20, 3)); D = np.linalg.norm(P[:, None] - P[None], axis=-1)
    >>> spec = {"label": "toy/wave", "target": generate(D, 40, "sptl", -2.0, seed=0)[0], "D": D,
    ...         "model": HeterochronousModel(wave_gradient(P, 4), "powerlaw", (0.0, 3.0))}
    >>> run = open_run("demo", {"x": 1}, root=tempfile.mkdtemp())
    >>> s = stored_extensions(run, "timing", lambda: extension_study([spec], rule="sptl", n_draws=4, levels=1,
    ...                                                              n_networks=1, n_holdout=3, n_boot=50))
    >>> sorted(s["best"]["toy/wave"]["model"]), s["seconds"] > 0, run.computed
    (['eta', 'gamma', 'lam'], True, ['timing'])
    """
    from .extensions import extension_frames, extension_from_frames

    def reduced():
        t0 = time.perf_counter()
        study = compute()
        return extension_frames(study, targets=targets, seconds=time.perf_counter() - t0)

    return extension_from_frames(run.frames(name, reduced))


def stored_special_cases(run, name: str, compute) -> tuple[pd.DataFrame, dict]:
    """:func:`~mesoscale.generative.extensions.special_cases` output (``compute()``) kept in a stored run.

    Examples
    --------
    >>> import tempfile
    >>> from mesoscale.results import open_run
    >>> from mesoscale.generative.extensions import special_cases
    >>> P = np.random.default_rng(0).random((24, 3)); D = np.linalg.norm(P[:, None] - P[None], axis=-1)
    >>> run = open_run("demo", {"x": 1}, root=tempfile.mkdtemp())
    >>> checks, fronts = stored_special_cases(run, "special", lambda: special_cases(
    ...     D, P, np.arange(24), 40, "matching", -2.0, 0.3, n_stages=4, n_networks=3))
    >>> len(checks), list(fronts)
    (6, ['no wave', 'wave (lam = 3)'])
    """
    from .extensions import special_frames, special_from_frames

    return special_from_frames(run.frames(name, lambda: special_frames(*compute())))
