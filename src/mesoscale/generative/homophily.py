"""The two-parameter rules against their mean field: where the homophily theory holds and where it fails.

:func:`homophily_study` grows networks with a rule's homophily term switched on (``gamma != 0``)
on a fixed point set and compares them with the mean-field rate equation of
:mod:`mesoscale.theory.homophily` on the same points (:func:`mesoscale.theory.predict_modules_homophily`):

* ``q_grid`` -- modularity of the mean field's predicted grid on the simulated network (its
  expectation is the theory's ``q_cells``);
* ``ell`` -- mean edge length (the theory's ``mean_edge_length``: the effective range);
* ``active`` -- fraction of edges added to a pair whose topological value was non-zero at that
  moment (:func:`active_fraction`; the theory's ``active_fraction``);
* ``clustering`` -- mean local clustering (the correlations the independent-pair theory ignores);
* ``q``, ``q_null``, ``delta_q`` -- Louvain maximum modularity against one degree-preserving null;
* ``largest_component`` -- fragmentation.

The theory rows and the simulated rows share ``rule, gamma, eta, size``; the chapter reads the
breakdown of the theory from their difference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float_list, check_int

__all__ = ["active_fraction", "homophily_study", "homophily_breakdown", "homophily_chapter", "homophily_report"]


def active_fraction(order, n: int, rule: str) -> float:
    """Fraction of the edges of a growth order added to pairs whose topological value ``K`` was > 0.

    Replays the order (e.g. ``generate(..., return_order=True)``): for ``neighbors``/``matching``
    a pair is active when the two nodes had a common neighbour; for the clustering rules when the
    rule's combination of the two local clustering coefficients was positive; for the degree
    rules when it was positive.

    Examples
    --------
    >>> active_fraction([[0, 1], [1, 2], [0, 2], [3, 4]], 5, "matching")
    0.25
    """
    from ._kernels import WIRING_RULES

    check_choice(rule, "rule", WIRING_RULES)
    n = check_int(n, "n", minimum=2)
    order = np.asarray(order)
    if order.ndim != 2 or order.shape[1] != 2:
        raise ValueError(f"'order' must have shape (m, 2); got {order.shape}")
    if rule == "sptl":
        return 0.0
    nb = [set() for _ in range(n)]
    tri = np.zeros(n)
    how = rule.split("-")[1] if "-" in rule else ""
    comb = {"avg": lambda a, b: a + b, "min": min, "max": max, "diff": lambda a, b: abs(a - b),
            "prod": lambda a, b: a * b}.get(how)

    def clu(v):
        k = len(nb[v])
        return tri[v] / (k * (k - 1) / 2) if k > 1 else 0.0

    active = 0
    for i, j in order.tolist():
        if rule in ("neighbors", "matching"):
            active += bool(nb[i] & nb[j])
        elif rule.startswith("clu"):
            active += comb(clu(i), clu(j)) > 0
        else:
            active += comb(len(nb[i]), len(nb[j])) > 0
        common = nb[i] & nb[j]
        tri[i] += len(common)
        tri[j] += len(common)
        for k in common:
            tri[k] += 1
        nb[i].add(j)
        nb[j].add(i)
    return active / max(len(order), 1)


class _HomophilyTask:
    def __init__(self, points, cells, c):
        self.points, self.cells, self.c = points, cells, c

    def __call__(self, params, rng):
        from .._validation import distance_matrix
        from ..metrics import sparse_best_partition, sparse_degree_swaps, sparse_modularity
        from ..theory import grid_labels
        from .models import generate
        from .sparse import edges_to_sparse
        from scipy.sparse.csgraph import connected_components

        n = int(params["size"])
        X = self.points[n]
        D = distance_matrix(X)
        m = int(round(self.c * n / 2))
        rule, gamma, eta = params["rule"], float(params["gamma"]), float(params["eta"])
        s_net, s_lv, s_null = rng.spawn(3)
        A, order = generate(D, m, rule, eta, gamma, model_var=("exponential", "powerlaw"), seed=s_net,
                            return_order=True)
        order = order[0]
        S = edges_to_sparse(np.sort(order, axis=1), n)
        labels = grid_labels(X, list(self.cells[(rule, gamma, eta, n)]))
        deg = np.asarray(S.sum(axis=1)).ravel()
        tri = np.asarray((S @ S).multiply(S).sum(axis=1)).ravel() / 2
        clust = np.where(deg > 1, tri / np.maximum(deg * (deg - 1) / 2, 1), 0.0)
        _, comp = connected_components(S, directed=False)
        _, q = sparse_best_partition(S, 1, s_lv)
        q_null = sparse_best_partition(sparse_degree_swaps(S, 10, s_null), 1, s_null)[1]
        return {"q_grid": sparse_modularity(S, labels), "ell": float(D[order[:, 0], order[:, 1]].mean()),
                "active": active_fraction(order, n, rule), "clustering": float(clust.mean()), "q": q,
                "q_null": q_null, "delta_q": q - q_null, "largest_component": float(np.bincount(comp).max() / n)}


def homophily_study(rules=("matching", "clu-avg"), gammas=(0.0, 0.25, 0.5, 1.0), etas=(-20.0, 0.0), sizes=(150,),
                    n_seeds: int = 20, *, c: float = 6.0, dim: int = 2, aspect: float = 1.0,
                    closures=("mean", "poisson"), n_steps: int = 32, points_seed: int = 0, seed=None, store=None,
                    client="inline", progress: bool = True, **sweep_kwargs):
    """The mean field of the two-parameter rules against simulation, on fixed point sets.

    Parameters
    ----------
    rules, gammas, etas, sizes
        The grid (``eta`` is the rate of the exponential distance kernel, ``exp(eta d)``; 0 = no
        spatial term; the topology term is ``(K + 1e-5)**gamma``).
    n_seeds : int
        Networks per point.
    c, dim, aspect
        Mean degree and the box (:func:`mesoscale.theory.domain_points`, random points drawn once per
        size with ``points_seed``).
    closures : sequence of str
        Closures of the theory (:data:`mesoscale.theory.CLOSURES`); one theory row per closure.
    n_steps : int
        Slices of the rate equation.
    seed, store, client, progress, **sweep_kwargs
        Of the simulation sweep (:func:`mesoscale.sweep.run_sweep`).

    Returns
    -------
    theory : pandas.DataFrame
        ``rule, gamma, eta, size, closure, cells, q_cells, q_null, delta_q, ell, active``.
    simulation : pandas.DataFrame
        ``rule, gamma, eta, size, replicate`` and the columns of the module docstring.

    Examples
    --------
    >>> th, sim = homophily_study(["matching"], [0.0, 0.5], [-10.0], [60], 2, closures=["mean"], n_steps=8,
    ...                           seed=0, progress=False)
    >>> len(th), len(sim), bool(np.isclose(th.ell.iloc[0], sim[sim.gamma == 0].ell.mean(), rtol=0.3))
    (2, 4, True)
    """
    from .._validation import distance_matrix
    from ..sweep import grid_product, run_sweep
    from ..theory import domain_points, predict_modules_homophily

    rules = [check_choice(r, "rules", ("sptl", "neighbors", "matching", "clu-avg", "clu-min", "clu-max", "clu-diff",
                                       "clu-prod", "deg-avg", "deg-min", "deg-max", "deg-diff", "deg-prod"))
             for r in ([rules] if isinstance(rules, str) else rules)]
    gammas = check_float_list(gammas, "gammas")
    etas = check_float_list(etas, "etas")
    sizes = [check_int(s, "sizes", minimum=8) for s in sizes]
    n_seeds = check_int(n_seeds, "n_seeds", minimum=1)
    points = {n: domain_points(n, dim, aspect, layout="random", seed=points_seed + n) for n in sizes}
    rows, cells = [], {}
    for n in sizes:
        D = distance_matrix(points[n])
        m = int(round(c * n / 2))
        for rule in rules:
            for g in gammas:
                for eta in etas:
                    for k, closure in enumerate(closures):
                        pred, mf = predict_modules_homophily(D, m, rule, eta, g, points[n], ("exponential", "powerlaw"),
                                                             closure=closure, n_steps=n_steps, max_cells=24)
                        if k == 0:
                            cells[(rule, g, eta, n)] = pred.cells
                        rows.append({"rule": rule, "gamma": g, "eta": eta, "size": n, "closure": closure,
                                     "cells": "x".join(map(str, pred.cells)), "q_cells": pred.q_cells,
                                     "q_null": pred.q_null, "delta_q": pred.delta_q, "ell": mf.mean_edge_length,
                                     "active": mf.active_fraction})
    theory = pd.DataFrame(rows)
    grid = grid_product(rule=rules, gamma=gammas, eta=etas, size=sizes, replicate=list(range(n_seeds)))
    sim = run_sweep(_HomophilyTask(points, cells, c), grid, store, seed=seed, client=client, progress=progress,
                    **sweep_kwargs)
    sim = sim[[col for col in sim.columns if not str(col).startswith("__")]]
    return theory, sim


def homophily_breakdown(theory: pd.DataFrame, simulation: pd.DataFrame, *, closure: str = "mean",
                        tolerance: float = 0.03) -> pd.DataFrame:
    """Where the mean field stops holding: theory minus simulation per point, and the first failing gamma.

    For every ``(rule, eta, size, gamma)``: the simulated mean and standard error of ``q_grid`` and
    ``ell``, the theory's ``q_cells`` and ``ell`` (``closure``), ``q_error = q_cells - q_grid`` and
    ``ell_error`` (relative); ``fails`` when ``|q_error| > max(tolerance, 3 se)`` or
    ``|ell_error| > max(tolerance, 3 se / ell)``. ``gamma_star`` (per ``rule, eta, size``) is the smallest
    gamma that fails (NaN if none), ``gamma_ok`` the largest gamma below it; ``fragmented`` is the share
    of simulated networks whose largest component holds less than 90 % of the nodes.

    Examples
    --------
    >>> th = pd.DataFrame({"rule": ["matching"] * 2, "gamma": [0.0, 1.0], "eta": [-5.0] * 2, "size": [60] * 2,
    ...                    "closure": ["mean"] * 2, "q_cells": [0.5, 0.6], "ell": [0.1, 0.05]})
    >>> sim = pd.DataFrame({"rule": ["matching"] * 4, "gamma": [0.0, 0.0, 1.0, 1.0], "eta": [-5.0] * 4,
    ...                     "size": [60] * 4, "q_grid": [0.5, 0.51, 0.3, 0.31], "ell": [0.1, 0.1, 0.1, 0.11]})
    >>> b = homophily_breakdown(th, sim)
    >>> b.fails.tolist(), b.gamma_star.tolist()
    ([False, True], [1.0, 1.0])
    """
    from .._validation import check_float

    tolerance = check_float(tolerance, "tolerance", minimum=0.0)
    keys = ["rule", "eta", "size", "gamma"]
    g = simulation.groupby(keys)
    simulation = simulation.assign(fragmented=(simulation["largest_component"] < 0.9)
                                   if "largest_component" in simulation else np.nan)
    g = simulation.groupby(keys)
    sim = g.agg(q_grid=("q_grid", "mean"), q_sd=("q_grid", "std"), ell_sim=("ell", "mean"), ell_sd=("ell", "std"),
                seeds=("q_grid", "count"), fragmented=("fragmented", "mean")).reset_index()
    th = theory[theory["closure"] == closure][keys + ["q_cells", "ell"]]
    out = sim.merge(th, on=keys, how="inner")
    se_q = out["q_sd"] / np.sqrt(out["seeds"])
    se_l = out["ell_sd"] / np.sqrt(out["seeds"])
    out["q_error"] = out["q_cells"] - out["q_grid"]
    out["ell_error"] = out["ell"] / out["ell_sim"] - 1.0
    out["fails"] = (out["q_error"].abs() > np.maximum(tolerance, 3 * se_q)) | (
        out["ell_error"].abs() > np.maximum(tolerance, 3 * se_l / out["ell_sim"]))
    star, ok = {}, {}
    for k, sub in out.sort_values("gamma").groupby(["rule", "eta", "size"]):
        bad = sub[sub["fails"]]
        star[k] = float(bad["gamma"].iloc[0]) if len(bad) else np.nan
        good = sub[sub["gamma"] < star[k]] if len(bad) else sub
        ok[k] = float(good["gamma"].max()) if len(good) else np.nan
    idx = list(zip(out["rule"], out["eta"], out["size"]))
    return out.assign(gamma_star=[star[k] for k in idx], gamma_ok=[ok[k] for k in idx])


def homophily_chapter(rules, gammas, etas, sizes, n_seeds: int, *, results_dir=None, tolerance: float = 0.03,
                      seed=None, store=None, tables=None, progress: bool = True, **kwargs) -> dict:
    """:func:`homophily_study` in this run, stored theory and simulation rows where present, and the breakdown.

    Stored rows are ``<results_dir>/02_homophily_theory.csv.gz`` and ``02_homophily_sim.csv.gz``; with
    them, this run's simulations are compared with the stored ones at the shared points
    (:func:`~mesoscale.generative.emergence.compare_runs`). ``tables`` (e.g. a chapter run's
    :meth:`~mesoscale.results.Run.frames`) stores this run's theory and simulation rows as the table
    group ``homophily`` and reads them back (:func:`~mesoscale.generative.emergence.stored_tables`).

    Returns
    -------
    dict
        ``theory``, ``simulation`` (what was analysed), ``breakdown`` (:func:`homophily_breakdown`),
        ``check`` (or None) and ``stored``.

    Examples
    --------
    >>> out = homophily_chapter(["matching"], [0.0, 1.0], [-10.0], [60], 2, closures=["mean"], n_steps=8, seed=0,
    ...                         progress=False)
    >>> out["stored"], sorted(out["breakdown"]["gamma"].tolist())
    (False, [0.0, 1.0])
    """
    from .emergence import compare_runs, read_results, stored_tables

    rows = stored_tables(tables, "homophily", lambda: dict(zip(("theory", "simulation"), homophily_study(
        rules, gammas, etas, sizes, n_seeds, seed=seed, store=store, progress=progress, **kwargs))))
    theory, sim = rows["theory"], rows["simulation"]
    th_st, sim_st = read_results(results_dir, "02_homophily_theory"), read_results(results_dir, "02_homophily_sim")
    stored = th_st is not None and sim_st is not None
    check = compare_runs(sim, sim_st, ["rule", "gamma", "eta", "size"], ["q_grid", "ell"]) if stored else None
    theory, sim = (th_st, sim_st) if stored else (theory, sim)
    return {"theory": theory, "simulation": sim, "check": check, "stored": stored,
            "breakdown": homophily_breakdown(theory, sim, tolerance=tolerance)}


def homophily_report(hom: dict) -> str:
    """Where the mean field holds, per rule, range and size, in prose (from :func:`homophily_chapter`).

    Examples
    --------
    >>> out = homophily_chapter(["matching"], [0.0, 1.0], [-10.0], [60], 2, closures=["mean"], n_steps=8, seed=0,
    ...                         progress=False)
    >>> homophily_report(out).startswith("**Where the mean field holds**")
    True
    """
    bk = hom["breakdown"]
    parts = []
    for (rule, eta, n), g in bk.groupby(["rule", "eta", "size"]):
        ok, star = g["gamma_ok"].iloc[0], g["gamma_star"].iloc[0]
        txt = f"{rule}, η = {eta:g}, n = {n}: " + ("fails already at the smallest γ" if np.isnan(ok) else f"up to γ = {ok:g}")
        parts.append(txt + ("" if np.isnan(star) else f", fails from γ = {star:g}"))
    check = hom.get("check")
    extra = ("" if check is None or not len(check) else
             f" This run against the stored study at {len(check)} shared (point, value) pairs: max |z| = "
             f"{check['z'].abs().max():.1f}.")
    return ("**Where the mean field holds** (|theory − simulation| within max(0.03, 3 SE) for the grid's Q and the "
            "mean edge length, 'mean' closure): " + "; ".join(parts)
            + f" ({int(bk['seeds'].min())}–{int(bk['seeds'].max())} networks per point"
            + (f"; {100 * float(bk.loc[bk['fails'], 'fragmented'].mean()):.0f} % of the networks at failing points and "
               f"{100 * float(bk.loc[~bk['fails'], 'fragmented'].mean()):.0f} % elsewhere are fragmented (largest "
               "component under 90 %)" if bk["fails"].any() and (~bk["fails"]).any() else "")
            + (", stored study)." if hom["stored"] else ", this run).") + extra)
