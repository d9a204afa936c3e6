"""The driver of the chapter on weighted and heterochronous models: does the extra term earn its parameters?

Each comparison fits one wiring rule twice to the same target with the same search and the same
number of networks: the binary (plain) model in ``(eta, gamma)`` and the extended model in
``(eta, gamma)`` plus its own parameters (``alpha``, ``omega`` of a
:class:`~mesoscale.generative.WeightedModel`; ``lam`` of a
:class:`~mesoscale.generative.HeterochronousModel`), both scored by the same criterion. The
extended model contains the binary one (``alpha = 0``, ``lam = 0``), so its best energy in the
search can only be lower -- and it is lower for a second reason: the minimum over more points
in a larger box is more optimistic. The energy is not a likelihood, so parameter penalties of
the AIC/BIC kind have no footing; instead both models are judged on **held-out networks**:
``n_holdout`` fresh networks grown at each fit's best point with streams the search never used.
Their energies carry no selection bias, and the extended model earns its parameters when its
held-out energy is below the binary model's beyond the bootstrap interval of the difference.

A weighted model is also compared with itself with its weights **shuffled** over its edges
(same weights, same topology, placement destroyed): if the optimised placement matters, the
shuffled networks are worse.

:func:`special_cases` measures the three facts the heterochronous model is built on (``lam = 0`` is
the plain model, the birth-order growth is a special case, a wave wires its origin first) on the
data at hand.

A stored run (:mod:`mesoscale.results`) keeps what the chapter shows of both, as compact tables:
:func:`extension_frames` / :func:`extension_from_frames` reduce an :func:`extension_study` to its
summary, its held-out networks' scores, the best points and the weight distributions (quantiles,
:func:`weight_quantiles`, not the networks), and back; :func:`special_frames` /
:func:`special_from_frames` do the same for :func:`special_cases`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import check_int, seed_sequence
from ..metrics import Criterion
from ._engine import check_seed_network
from .fitting import fit
from .heterochronous import (HeterochronousModel, birth_gradient, generate_heterochronous, stage_schedule,
                             wave_gradient, wiring_front)
from .ranking import best_points
from .study import store_path, stream_seed
from .weighted import WeightedModel

__all__ = ["undirected_weights", "weighted_data", "holdout_scores", "compare_extension", "extension_study",
           "special_cases", "extension_findings", "chapter_findings", "weighted_specs", "timing_specs",
           "weight_quantiles", "extension_frames", "extension_from_frames", "special_frames", "special_from_frames"]


def undirected_weights(c) -> np.ndarray:
    """The symmetric weights of a connectome: its layers summed, directed ones as ``W + W.T``, zero diagonal.

    For the worm: chemical synapses in both directions plus gap junctions between two neurons;
    for tractography: the streamline weight.

    Examples
    --------
    >>> from mesoscale.connectomes import Connectome
    >>> c = Connectome(name="toy", species="none", labels=["a", "b"], layers={"w": np.array([[1, 2], [3, 0]])},
    ...                directed={"w": True})
    >>> undirected_weights(c).tolist()
    [[0.0, 5.0], [5.0, 0.0]]
    """
    W = np.zeros((c.n, c.n))
    for name, M in c.layers.items():
        M = np.asarray(M, dtype=float)
        W += M + M.T if c.directed[name] else M
    np.fill_diagonal(W, 0.0)
    return W


def weighted_data(names: Sequence[str]) -> tuple[dict, pd.DataFrame]:
    """Weighted targets with distances: ``name -> {"c", "W", "D"}`` and an overview table.

    Examples
    --------
    >>> data, table = weighted_data(["human_dk68"])
    >>> int(table.loc[0, "edges"]), table.loc[0, "weights"]
    (588, 'a.u. (streamline-based)')
    """
    from .. import connectomes

    data, rows = {}, []
    for name in [names] if isinstance(names, str) else list(names):
        c = connectomes.load(name)
        W = undirected_weights(c)
        data[name] = {"c": c, "W": W, "D": c.distances()}
        w = W[np.triu(W, 1) > 0]
        rows.append({"dataset": name, "nodes": c.n, "edges": int(w.size), "weights": ", ".join(dict.fromkeys(
            c.units.get(k, "?") for k in c.layers)), "weight_median_over_max": float(np.median(w) / w.max()),
            "weight_q90_over_q10": float(np.quantile(w, 0.9) / np.quantile(w, 0.1))})
    return data, pd.DataFrame(rows)


def _best(result):
    """Parameters of a fit's best point (lowest mean energy over its repeats) and that energy."""
    top = best_points(result.table, 1).iloc[0]
    row = result.table[(result.table["level"] == top["level"]) & (result.table["point"] == top["point"])].iloc[0]
    extras = list(result.settings.get("extra_ranges") or {})
    gamma = 0.0 if not np.isfinite(row["gamma"]) else float(row["gamma"])
    return {"eta": float(row["eta"]), "gamma": gamma, **{k: float(row[k]) for k in extras}}, float(top["point_energy"])


def holdout_scores(target, D, rule: str, params: dict, model=None, *, criterion="ks", report=(), n: int = 20,
                   seed=0, shuffle_weights: bool = False, model_var=("powerlaw", "powerlaw"), epsilon=1e-5,
                   keep: bool = False, combine: str = "max"):
    """Scores of ``n`` fresh networks at one parameter point (the held-out evaluation).

    Parameters
    ----------
    target, D, rule
        As in :func:`~mesoscale.generative.fit`.
    params : dict
        ``eta``, ``gamma`` and the model's extra parameters.
    model : WeightedModel or HeterochronousModel, optional
        ``None``: the binary model.
    criterion : str or sequence of str
        The fitted criterion (its columns, ``energy`` last), several combined by ``combine``.
    report : sequence of str
        Further criteria to report (their energies as ``energy_<name>``), not fitted.
    n : int
        Networks.
    seed : int or SeedSequence
        Root of the networks' streams (network ``b`` gets child ``b``).
    shuffle_weights : bool
        Permute each weighted network's weights over its edges before scoring (the placement control).
    keep : bool
        Also return the networks and their weights (``None`` for binary models).

    Returns
    -------
    DataFrame
        One row per network: ``repeat``, the criterion's columns and ``energy_<report>``; with
        ``keep`` the tuple ``(table, networks, weights)``.

    Examples
    --------
    >>> xy = np.random.default_rng(0).random((20, 2)); D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> from mesoscale.generative import generate
    >>> T = generate(D, 40, "sptl", -2.0, seed=0)[0]
    >>> h = holdout_scores(T, D, "sptl", {"eta": -2.0, "gamma": 0.0}, n=5, report=["correlation"])
    >>> len(h), list(h.columns[-2:])
    (5, ['energy', 'energy_correlation'])
    """
    from .models import generate

    n = check_int(n, "n", minimum=1)
    crit = Criterion(criterion, target, D, combine=combine)
    streams = seed_sequence(seed).spawn(n)
    gamma = None if rule == "sptl" else params["gamma"]
    if model is None:
        nets, W = generate(D, int(np.count_nonzero(np.triu(target, 1))), rule, params["eta"], gamma, model_var,
                           epsilon=epsilon, n_networks=n, seed=streams), None
    else:
        extras = {k: np.full(n, params[k]) for k in model.extra_ranges}
        nets, W = model.grow(np.asarray(D, float), int(np.count_nonzero(np.triu(target, 1))), rule,
                             np.full(n, params["eta"]), np.full(n, params["gamma"]), extras, streams,
                             model_var=tuple(model_var), seed_network=check_seed_network(None, len(D)),
                             epsilon=epsilon)
    if shuffle_weights and W is not None:
        rng = np.random.default_rng(seed_sequence(seed, 1))
        W = W.copy()
        iu = np.triu_indices(W.shape[1], 1)
        for b in range(n):
            w = W[b][iu]
            on = w > 0
            w[on] = rng.permutation(w[on])
            W[b] = 0.0
            W[b][iu] = w
            W[b] += W[b].T
    out = pd.DataFrame(crit(nets, W), columns=crit.columns)
    for extra in report:
        if f"energy_{extra}" not in out:
            out[f"energy_{extra}"] = Criterion(extra, target, D)(nets, W)[:, -1]
    out.insert(0, "repeat", np.arange(n))
    return (out, nets, W) if keep else out


def _boot_ci(x, y, n_boot, rng):
    """95 % bootstrap interval of mean(x) - mean(y) (independent samples)."""
    dx = x[rng.integers(0, len(x), (n_boot, len(x)))].mean(axis=1)
    dy = y[rng.integers(0, len(y), (n_boot, len(y)))].mean(axis=1)
    return np.quantile(dx - dy, [0.025, 0.975])


def compare_extension(target, D, rule: str, model, *, label: str, criterion="ks", binary_criterion=None, report=(),
                      combine: str = "max", n_draws: int = 40,
                      levels: int = 3, n_networks: int = 2, top_k: int = 5, n_holdout: int = 20, n_boot: int = 2000,
                      eta_range=(-7.0, 0.0), gamma_range=(-7.5, 7.5), seed=0, store=None, n_jobs: int | None = 1,
                      progress=False):
    """Binary fit against extended fit on the same budget, judged on held-out networks.

    The extended fit searches with ``criterion`` (criteria combined by ``combine``), the binary fit
    with ``binary_criterion`` (default: the same; a weighted criterion cannot guide a model without
    weights, so the weighted comparisons fit the binary model on ``"ks"``, as chapter 4 does). Both
    fits' held-out networks are scored on ``criterion`` (binary networks with all-ones weights)
    and on each of ``report``. ``n_jobs`` threads grow the networks (and replay the weights).

    Returns
    -------
    dict
        ``summary`` (one row: parameters, budgets, in-search and held-out energies with 95 %
        bootstrap intervals, their difference, a one-sided Mann-Whitney p-value and the
        ``verdict``), ``holdout`` (every held-out network), ``fits`` (the two FitResults), ``best``
        (their best points) and ``weights`` (the held-out weights of a weighted model, else None).

    Examples
    --------
    >>> from mesoscale.generative import HeterochronousModel, wave_gradient
    >>> P = np.random.default_rng(0).random((20, 3)); D = np.linalg.norm(P[:, None] - P[None], axis=-1)
    >>> from mesoscale.generative import generate
    >>> T = generate(D, 40, "sptl", -2.0, seed=0)[0]
    >>> r = compare_extension(T, D, "sptl", HeterochronousModel(wave_gradient(P, 4), "powerlaw", (0.0, 3.0)),
    ...                       label="toy", n_draws=6, levels=1, n_networks=1, n_holdout=4, n_boot=100)
    >>> [int(r["summary"][k].iloc[0]) for k in ("budget_binary", "budget_model")]
    [6, 6]
    """
    from scipy.stats import mannwhitneyu

    kw = dict(rules=[rule], n_draws=n_draws, levels=levels, n_networks=n_networks, top_k=top_k, progress=progress,
              combine=combine, eta_range=eta_range, gamma_range=gamma_range, nesting="ignore", n_jobs=n_jobs)
    sub = (lambda part: None) if store is None else (lambda part: store_path(f"{store}/{part}"))
    binary = fit(target, D, n_gamma0=0, seed=stream_seed(seed, "fit", label), store=sub("binary"),
                 criterion=criterion if binary_criterion is None else binary_criterion, **kw)
    extended = fit(target, D, model=model, seed=stream_seed(seed, "fit", label), store=sub("model"),
                   criterion=criterion, **kw)
    p_bin, e_bin = _best(binary)
    p_ext, e_ext = _best(extended)
    hold, weights = {}, None
    for which, p, mdl, shuffle in (("binary", p_bin, None, False), ("model", p_ext, model, False),
                                   ("shuffled", p_ext, model, True)):
        if which == "shuffled" and not getattr(model, "weighted", False):
            continue
        h, _, W = holdout_scores(target, D, rule, p, mdl, criterion=criterion, report=report, n=n_holdout,
                                 combine=combine,
                                 seed=stream_seed(seed, "holdout", label) if which != "binary" else
                                 stream_seed(seed, "holdout-binary", label), shuffle_weights=shuffle, keep=True)
        weights = W if which == "model" else weights
        h.insert(0, "network", which)
        hold[which] = h
    holdout = pd.concat(hold.values(), ignore_index=True)
    holdout.insert(0, "comparison", label)
    xb, xm = hold["binary"]["energy"].to_numpy(), hold["model"]["energy"].to_numpy()
    rng = np.random.default_rng(seed_sequence(stream_seed(seed, "boot", label)))
    lo, hi = _boot_ci(xm, xb, n_boot, rng)
    p = float(mannwhitneyu(xm, xb, alternative="less").pvalue)
    verdict = "lower" if hi < 0 else ("higher" if lo > 0 else "no difference")
    crit_name = lambda c: c if isinstance(c, str) else f"{combine}({', '.join(c)})"  # noqa: E731
    row = {"comparison": label, "rule": rule, "extra": "+".join(model.extra_ranges), "criterion": crit_name(criterion),
           "binary_criterion": crit_name(criterion if binary_criterion is None else binary_criterion),
           "n_params_binary": 1 if rule == "sptl" else 2,
           "n_params_model": (1 if rule == "sptl" else 2) + len(model.extra_ranges),
           "budget_binary": len(binary.table), "budget_model": len(extended.table),
           "search_binary": e_bin, "search_model": e_ext, "holdout_binary": xb.mean(), "holdout_model": xm.mean(),
           "difference": xm.mean() - xb.mean(), "diff_ci_low": lo, "diff_ci_high": hi, "p_value": p,
           "verdict": verdict, "n_holdout": n_holdout,
           "params_binary": ", ".join(f"{k}={v:.3g}" for k, v in p_bin.items() if not (k == "gamma" and rule == "sptl")),
           "params_model": ", ".join(f"{k}={v:.3g}" for k, v in p_ext.items() if not (k == "gamma" and rule == "sptl"))}
    for k in report:
        row[f"holdout_binary_{k}"] = hold["binary"][f"energy_{k}"].mean()
        row[f"holdout_model_{k}"] = hold["model"][f"energy_{k}"].mean()
    if "shuffled" in hold:
        xs = hold["shuffled"]["energy"].to_numpy()
        row["holdout_shuffled"] = xs.mean()
        row["shuffle_ci_low"], row["shuffle_ci_high"] = _boot_ci(xm, xs, n_boot, rng)
    return {"summary": pd.DataFrame([row]), "holdout": holdout, "fits": {"binary": binary, "model": extended},
            "best": {"binary": p_bin, "model": p_ext}, "weights": weights}


def extension_study(specs: Sequence[dict], *, rule: str = "matching", seed=0, store_dir: str | None = None,
                    progress: bool = False, **kwargs) -> dict:
    """:func:`compare_extension` for each spec (``label``, ``target``, ``D``, ``model``, ``criterion``,
    optional ``binary_criterion`` and ``report``); returns the stacked ``summary`` and ``holdout``
    tables and the per-label results.

    Examples
    --------
    >>> from mesoscale.generative import HeterochronousModel, wave_gradient, generate
    >>> P = np.random.default_rng(0).random((20, 3)); D = np.linalg.norm(P[:, None] - P[None], axis=-1)
    >>> spec = {"label": "toy/wave", "target": generate(D, 40, "sptl", -2.0, seed=0)[0], "D": D,
    ...         "model": HeterochronousModel(wave_gradient(P, 4), "powerlaw", (0.0, 3.0)), "criterion": "ks"}
    >>> s = extension_study([spec], rule="sptl", n_draws=4, levels=1, n_networks=1, n_holdout=3, n_boot=50)
    >>> s["summary"]["comparison"].tolist()
    ['toy/wave']
    """
    from tqdm.auto import tqdm

    results = {}
    for spec in tqdm(list(specs), desc="extensions", disable=not progress):
        label = spec["label"]
        store = None if not store_dir else f"{store_dir}/{label}"
        results[label] = compare_extension(spec["target"], spec["D"], rule, spec["model"], label=label,
                                           criterion=spec.get("criterion", "ks"), report=spec.get("report", ()),
                                           binary_criterion=spec.get("binary_criterion"), seed=seed, store=store,
                                           **kwargs)
    return {"summary": pd.concat([r["summary"] for r in results.values()], ignore_index=True),
            "holdout": pd.concat([r["holdout"] for r in results.values()], ignore_index=True), "results": results}


def special_cases(D, positions, birth_order, m: int, rule: str, eta: float, gamma: float, *, n_stages: int = 20,
                  n_networks: int = 50, wave_lam: float = 3.0, wave_width: float = 0.15, axis: int = 1,
                  seed=0) -> tuple[pd.DataFrame, dict]:
    """The heterochronous model's special cases, measured: one row per check, and the wiring fronts.

    ``lam = 0`` against the plain model and the birth indicator against
    :func:`~mesoscale.generative.grow` with the birth order (share of identical networks from the
    same streams), and the wave's front (mean position along ``axis`` of the first and last tenth
    of the edges, nodes scaled to ``[0, 1]``) without and with the wave. The second result maps
    ``"no wave"`` and ``"wave (lam = ...)"`` to their :func:`~mesoscale.generative.wiring_front` tables.

    Examples
    --------
    >>> P = np.random.default_rng(0).random((24, 3)); D = np.linalg.norm(P[:, None] - P[None], axis=-1)
    >>> t, fronts = special_cases(D, P, np.arange(24), 40, "matching", -2.0, 0.3, n_stages=4, n_networks=5)
    >>> t["check"].tolist()[:2], bool(t["value"].iloc[0] == 1.0)
    (['lam = 0 is the plain model', 'birth indicator is grow(birth order)'], True)
    """
    from .growth import grow
    from .models import generate

    n = len(D)
    H = wave_gradient(positions, n_stages, axis=axis, width=wave_width)
    plain = generate(D, m, rule, eta, gamma, n_networks=n_networks, seed=seed)
    zero = generate_heterochronous(D, m, rule, eta, gamma, lam=0.0, H=H, n_networks=n_networks, seed=seed)
    birth = np.empty(n, np.int64)
    birth[np.asarray(birth_order)] = np.arange(n) * n_stages // n
    born = (birth[None, :] <= np.arange(n_stages)[:, None]).sum(axis=1)
    ends = np.minimum(stage_schedule(m, n_stages), born * (born - 1) // 2)  # no more edges than born pairs
    ends[-1] = m
    ends = np.maximum.accumulate(ends)
    a = generate_heterochronous(D, m, rule, eta, gamma, lam=1.0, H=birth_gradient(n_stages, birth_stage=birth),
                                stage_edges=ends, n_networks=n_networks, seed=seed)
    b = grow(D, ends, rule, eta, gamma, birth_times=birth, stage_times=np.arange(n_stages, dtype=float),
             n_networks=n_networks, seed=seed)
    _, o0 = generate_heterochronous(D, m, rule, eta, gamma, lam=0.0, H=H, n_networks=n_networks, seed=seed,
                                    return_order=True)
    _, o1 = generate_heterochronous(D, m, rule, eta, gamma, lam=wave_lam, H=H, n_networks=n_networks, seed=seed,
                                    return_order=True)
    fronts = {"no wave": wiring_front(o0, positions, axis=axis, n_bins=10),
              f"wave (lam = {wave_lam:.3g})": wiring_front(o1, positions, axis=axis, n_bins=10)}
    f0, f1 = (f["position"].to_numpy() for f in fronts.values())
    same = lambda x, y: float(np.mean([np.array_equal(p, q) for p, q in zip(x, y)]))  # noqa: E731
    return pd.DataFrame([
        {"check": "lam = 0 is the plain model", "value": same(zero, plain), "expected": "1 (identical networks)"},
        {"check": "birth indicator is grow(birth order)", "value": same(a, b), "expected": "1 (identical networks)"},
        {"check": "no wave: first tenth of the edges at", "value": f0[0], "expected": "where the nodes are"},
        {"check": "no wave: last tenth of the edges at", "value": f0[-1], "expected": "about the same place"},
        {"check": f"wave (lam = {wave_lam:.3g}): first tenth at", "value": f1[0], "expected": "near 0 (the origin)"},
        {"check": f"wave (lam = {wave_lam:.3g}): last tenth at", "value": f1[-1], "expected": "far from the origin"},
    ]).assign(n_networks=n_networks), fronts


def extension_findings(summary: pd.DataFrame) -> str:
    """One generated paragraph per comparison (for the chapter's prose).

    Examples
    --------
    >>> s = pd.DataFrame([{"comparison": "x/wave", "extra": "lam", "criterion": "ks", "binary_criterion": "ks",
    ...                    "holdout_binary": 0.3, "holdout_model": 0.25, "diff_ci_low": -0.08, "diff_ci_high": -0.02,
    ...                    "search_binary": 0.28, "search_model": 0.2, "verdict": "lower", "n_holdout": 20,
    ...                    "p_value": 0.01}])
    >>> "earns its parameter" in extension_findings(s)
    True
    """
    lines = []
    for _, r in summary.iterrows():
        k = len(str(r["extra"]).split("+"))
        word = "parameters" if k > 1 else "parameter"
        judge = {"lower": f"the extra term earns its {word}",
                 "higher": "the extended model is *worse* on fresh networks: at this budget the search spent on "
                           f"its extra {word} did not pay (it contains the binary model, so this is the search's "
                           "cost, not the model's limit)",
                 "no difference": f"the extra term does not earn its {word}"}[r["verdict"]]
        same = r["binary_criterion"] == r["criterion"]
        crit = f"`{r['criterion']}`" + ("" if same else f"; binary model fitted on `{r['binary_criterion']}`")
        search = (f"{r['search_model']:.3f} against {r['search_binary']:.3f} for the binary fit" if same else
                  f"{r['search_model']:.3f} (the binary fit's, on its own energy: {r['search_binary']:.3f})")
        text = (f"- **{r['comparison']}** (+{r['extra']}; energy {crit}): best point of the search {search}; on "
                f"{int(r['n_holdout'])} held-out networks each {r['holdout_model']:.3f} against "
                f"{r['holdout_binary']:.3f} (difference 95 % CI [{r['diff_ci_low']:+.3f}, {r['diff_ci_high']:+.3f}], "
                f"one-sided Mann-Whitney p = {r['p_value']:.2g}): {judge}.")
        extra_cols = [c[len("holdout_model_"):] for c in r.index if c.startswith("holdout_model_")]
        if extra_cols:
            text += " Held out, " + "; ".join(
                f"`{c}` {r['holdout_model_' + c]:.3f} against {r['holdout_binary_' + c]:.3f}" for c in extra_cols) + "."
        if np.isfinite(r.get("holdout_shuffled", np.nan)):
            placed = r["shuffle_ci_high"] < 0
            text += (f" With its weights shuffled over its edges the model scores {r['holdout_shuffled']:.3f} "
                     f"(95 % CI of model minus shuffled [{r['shuffle_ci_low']:+.3f}, {r['shuffle_ci_high']:+.3f}]): "
                     + ("where the optimisation puts the weights matters." if placed else
                        "where the optimisation puts the weights does not matter beyond noise -- the weight "
                        "*distribution* does the work."))
        lines.append(text)
    return "\n".join(lines)


def weighted_specs(data: dict, *, loss: str, normalised: bool = True, alpha_steps: float = 20.0,
                   omega_range=(0.5, 2.0), n_updates: int = 1, criterion=("ks", "weighted_ks"),
                   binary_criterion="ks", report=("ks", "weighted_ks")) -> list:
    """One comparison spec per weighted dataset: ``alpha`` searched in ``[0, alpha_steps / T]``.

    By default the weighted model is fitted to match topology and weights at once (the larger of
    the KS and weighted KS energies), the binary model to its topology (the KS energy).

    ``T`` is the number of binary steps (the dataset's edges): with gradients of order one (the
    normalised losses) a weight updated at every step can move by about ``alpha_steps`` over the
    growth, whatever the dataset's size.

    Examples
    --------
    >>> data, _ = weighted_data(["human_dk68"])
    >>> weighted_specs(data, loss="weight")[0]["model"].alpha_range
    (0.0, 0.034013605442176874)
    """
    specs = []
    for name, d in data.items():
        T = int(np.count_nonzero(np.triu(d["W"], 1)))
        model = WeightedModel(loss=loss, normalised=normalised, n_updates=n_updates,
                              alpha_range=(0.0, alpha_steps / T), omega_range=tuple(omega_range))
        specs.append({"label": f"{name}/weights", "target": d["W"], "D": d["D"], "model": model,
                      "criterion": criterion, "binary_criterion": binary_criterion, "report": tuple(report)})
    return specs


def timing_specs(dataset: str, *, n_stages: int = 20, birth_lam_range=(0.0, 8.0), wave_lam_range=(0.0, 4.0),
                 wave_width: float = 0.15, criterion="ks", report=("correlation",), seed=0) -> tuple[list, dict]:
    """The two heterochronous comparisons of the worm: birth order (``exp(lam H)``) and an
    anterior-to-posterior wave (``H ** lam``); returns the specs and the worm's inputs.

    Examples
    --------
    >>> specs, inputs = timing_specs("celegans_cook2019_herm", n_stages=5)
    >>> [s["label"] for s in specs], inputs["positions"].shape
    (['celegans_cook2019_herm/birth order', 'celegans_cook2019_herm/wave'], (302, 3))
    """
    from .development import worm_development_inputs

    w = worm_development_inputs(dataset, seed=seed)
    D = np.linalg.norm(w["positions"][:, None] - w["positions"][None], axis=-1)
    birth = HeterochronousModel(birth_gradient(n_stages, birth_order=w["birth_order"]), "exponential",
                                tuple(birth_lam_range))
    wave = HeterochronousModel(wave_gradient(w["positions"], n_stages, axis=w["axis"], width=wave_width),
                               "powerlaw", tuple(wave_lam_range))
    common = {"target": w["adult"], "D": D, "criterion": criterion, "report": tuple(report)}
    return ([{"label": f"{dataset}/birth order", "model": birth, **common},
             {"label": f"{dataset}/wave", "model": wave, **common}], {**w, "D": D})


def chapter_findings(weights: pd.DataFrame, timing: pd.DataFrame, *, loss: str, seconds=None) -> list[str]:
    """Chapter 08's numbered findings from the two studies' summaries (:func:`extension_study`).

    ``weights`` and ``timing`` are the ``summary`` tables of the weighted and the heterochronous
    study; ``seconds`` (optional) is ``(weighted, timing)`` wall time for the cost statement.

    Examples
    --------
    >>> w = pd.DataFrame([{"comparison": "a/weights", "verdict": "lower", "holdout_model": 0.5, "holdout_binary": 0.8,
    ...                    "diff_ci_low": -0.35, "diff_ci_high": -0.25, "shuffle_ci_high": 0.01, "holdout_model_ks": 0.4,
    ...                    "holdout_binary_ks": 0.3, "n_holdout": 20, "budget_model": 100, "budget_binary": 100}])
    >>> t = w.assign(comparison="a/wave", verdict="no difference")
    >>> out = chapter_findings(w, t, loss="weighted_distance")
    >>> len(out), out[0].startswith("**Weighted fits beat binary ones on the weighted energy in 1 of 1")
    (3, True)
    """
    def names(df):
        return ", ".join(df["comparison"]) or "none"

    def cells(df):
        return "; ".join(f"{r.comparison} {r.holdout_model:.3f} vs {r.holdout_binary:.3f} "
                         f"[{r.diff_ci_low:+.3f}, {r.diff_ci_high:+.3f}]" for r in df.itertuples())

    n_hold = int(pd.concat([weights["n_holdout"], timing["n_holdout"]]).min()) if len(weights) + len(timing) else 0
    lower = weights[weights["verdict"] == "lower"]
    placed = weights[weights["shuffle_ci_high"] < 0]
    worse = weights[weights["holdout_model_ks"] > weights["holdout_binary_ks"]]
    out = [f"**Weighted fits beat binary ones on the weighted energy in {len(lower)} of {len(weights)} datasets** "
           f"({loss} loss; held-out energy, model vs binary, 95 % CI of the difference, {n_hold} fresh networks per "
           f"fit: {cells(weights)}). Expected, since a binary network cannot have the spread of weights that energy "
           f"asks for. The sharper test is placement: the optimised weights beat the same weights shuffled over the "
           f"connections in {len(placed)} of {len(weights)} ({names(placed)}), so "
           + ("the weights earn their parameters by their distribution, not by where the loss puts them"
              if len(placed) < len(weights) else "where the loss puts the weights matters")
           + f"; the weighted fits' topologies (held-out binary KS) are worse than the binary fits' in {len(worse)} "
           f"({names(worse)})."]
    tl = timing[timing["verdict"] == "lower"]
    out.append(f"**Developmental timing earns its parameter in {len(tl)} of {len(timing)} comparisons** "
               f"({names(tl)}; not in {names(timing[timing['verdict'] != 'lower'])}): {cells(timing)}.")
    nets = int(sum(s["budget_model"].sum() + s["budget_binary"].sum() + 2 * s["n_holdout"].sum()
                   for s in (weights, timing)))
    cost = "" if seconds is None else (f" in {seconds[0]:.0f} s (weights) and {seconds[1]:.0f} s (timing) of wall "
                                       "time")
    out.append(f"**Cost.** About {nets:,} networks were grown and scored{cost}; `benchmarks/bench_weighted.py` "
               "times every loss per network against the binary engine.")
    return out


# ---------------------------------------------------------------------------------------------- stored tables
_FRAME_KEYS = ("summary", "holdout", "best", "weights", "meta")


def _pooled_weights(M) -> np.ndarray:
    """Every network's positive weights (upper triangle) over its largest weight, pooled; ``[1.0]`` if none."""
    M = np.asarray(M, dtype=float)
    M = M[None] if M.ndim == 2 else M
    if M.ndim != 3 or M.shape[1] != M.shape[2]:
        raise ValueError(f"weights must be an (n, n) matrix or a (B, n, n) batch; got shape {M.shape}")
    iu = np.triu_indices(M.shape[1], 1)
    vals = []
    for W in M:
        w = W[iu]
        w = w[w > 0]
        if w.size:
            vals.append(w / w.max())
    return np.concatenate(vals) if vals else np.array([1.0])


def weight_quantiles(targets, models, *, n_points: int = 201) -> pd.DataFrame:
    """Distributions of connection weights over the largest weight, as quantiles: the data and the model.

    Each network's positive weights are divided by its largest one and pooled (over the held-out
    networks of a model); the table holds their quantiles at ``n_points`` evenly spaced shares
    (``method="inverted_cdf"``: every value is a weight that occurs, as on the empirical
    distribution function).

    Parameters
    ----------
    targets : mapping
        Label -> real weight matrix ``(n, n)``; labels without a model are left out.
    models : mapping
        Label -> model weights ``(B, n, n)`` (or one ``(n, n)`` matrix).
    n_points : int
        Quantiles per label and source (at least 2).

    Returns
    -------
    DataFrame
        ``label``, ``source`` (``"data"`` where a target is given, ``"model"``), ``share`` (0 to 1)
        and ``weight``.

    Examples
    --------
    >>> W = np.array([[0, 2.0, 1.0], [2.0, 0, 0], [1.0, 0, 0]])
    >>> q = weight_quantiles({"toy": W}, {"toy": W[None] * 0.5}, n_points=3)
    >>> q["share"].tolist()[:3], q.groupby("source")["weight"].apply(list).to_dict()
    ([0.0, 0.5, 1.0], {'data': [0.5, 0.5, 1.0], 'model': [0.5, 0.5, 1.0]})
    """
    n_points = check_int(n_points, "n_points", minimum=2)
    share = np.linspace(0.0, 1.0, n_points)
    rows = []
    for label, M in models.items():
        for source, X in (("data", targets.get(label)), ("model", M)):
            if X is None:
                continue
            q = np.quantile(_pooled_weights(X), share, method="inverted_cdf")
            rows.append(pd.DataFrame({"label": str(label), "source": source, "share": share, "weight": q}))
    if not rows:
        return pd.DataFrame({"label": pd.Series(dtype=str), "source": pd.Series(dtype=str),
                             "share": pd.Series(dtype=float), "weight": pd.Series(dtype=float)})
    return pd.concat(rows, ignore_index=True)


def extension_frames(study: dict, *, targets=None, seconds: float | None = None,
                     n_points: int = 201) -> dict[str, pd.DataFrame]:
    """What chapter 08 shows of an :func:`extension_study`, as a few compact tables (for a stored run).

    Parameters
    ----------
    study : dict
        :func:`extension_study` output (``summary``, ``holdout``, ``results``).
    targets : mapping, optional
        Comparison label -> the real weight matrix it was fitted to (the ``target`` of its spec);
        gives the data's weight distribution next to the model's.
    seconds : float, optional
        Wall time the study took (kept for the findings' cost statement).
    n_points : int
        Quantiles of each weight distribution (:func:`weight_quantiles`).

    Returns
    -------
    dict of DataFrame
        ``summary`` and ``holdout`` as they are; ``best`` (one row per comparison, fit and
        parameter: ``comparison``, ``network`` of ``binary``/``model``, ``parameter``, ``value``);
        ``weights`` (:func:`weight_quantiles` of the held-out networks of the weighted models,
        labelled by comparison; empty without weighted models); ``meta`` (one row: ``seconds``,
        NaN when not given). The held-out networks themselves are not kept.

    Examples
    --------
    >>> from mesoscale.generative import HeterochronousModel, wave_gradient, generate
    >>> P = np.random.default_rng(0).random((20, 3)); D = np.linalg.norm(P[:, None] - P[None], axis=-1)
    >>> spec = {"label": "toy/wave", "target": generate(D, 40, "sptl", -2.0, seed=0)[0], "D": D,
    ...         "model": HeterochronousModel(wave_gradient(P, 4), "powerlaw", (0.0, 3.0)), "criterion": "ks"}
    >>> s = extension_study([spec], rule="sptl", n_draws=4, levels=1, n_networks=1, n_holdout=3, n_boot=50)
    >>> f = extension_frames(s, seconds=1.5)
    >>> sorted(f), f["best"]["parameter"].tolist(), len(f["weights"])
    (['best', 'holdout', 'meta', 'summary', 'weights'], ['eta', 'gamma', 'eta', 'gamma', 'lam'], 0)
    """
    if not isinstance(study, dict) or any(k not in study for k in ("summary", "holdout", "results")):
        raise ValueError("'study' must be extension_study output with 'summary', 'holdout' and 'results'; got "
                         + (f"keys {sorted(study)}" if isinstance(study, dict) else type(study).__name__))
    if seconds is not None:
        seconds = float(seconds)
        if not np.isfinite(seconds) or seconds < 0:
            raise ValueError(f"'seconds' must be a finite number >= 0 or None; got {seconds!r}")
    targets = {} if targets is None else dict(targets)
    best = [{"comparison": str(label), "network": which, "parameter": str(k), "value": float(v)}
            for label, r in study["results"].items() for which, p in r["best"].items() for k, v in p.items()]
    models = {label: r["weights"] for label, r in study["results"].items() if r.get("weights") is not None}
    return {"summary": study["summary"].reset_index(drop=True), "holdout": study["holdout"].reset_index(drop=True),
            "best": pd.DataFrame(best, columns=["comparison", "network", "parameter", "value"]),
            "weights": weight_quantiles(targets, models, n_points=n_points),
            "meta": pd.DataFrame({"seconds": [np.nan if seconds is None else seconds]})}


def extension_from_frames(frames) -> dict:
    """The study that :func:`extension_frames` reduced, as chapter 08 uses it.

    Returns
    -------
    dict
        ``summary``, ``holdout`` and ``weights`` (the tables), ``best`` (comparison label ->
        ``{"binary": {...}, "model": {...}}``, the best points as :func:`compare_extension` gives
        them) and ``seconds`` (float, or ``None`` when not recorded).

    Examples
    --------
    >>> best = pd.DataFrame({"comparison": "w/wave", "network": ["binary", "binary", "model", "model", "model"],
    ...                      "parameter": ["eta", "gamma", "eta", "gamma", "lam"], "value": [-2, 0.1, -1, 0.2, 3]})
    >>> s = extension_from_frames({"summary": pd.DataFrame(), "holdout": pd.DataFrame(), "best": best,
    ...                            "weights": pd.DataFrame(), "meta": pd.DataFrame({"seconds": [12.5]})})
    >>> s["best"]["w/wave"]["model"], s["seconds"]
    ({'eta': -1.0, 'gamma': 0.2, 'lam': 3.0}, 12.5)
    """
    missing = [k for k in _FRAME_KEYS if k not in frames]
    if missing:
        raise ValueError(f"'frames' lacks the tables {missing} (made by extension_frames); has {sorted(frames)}")
    best: dict[str, dict[str, dict[str, float]]] = {}
    for r in frames["best"].itertuples(index=False):
        best.setdefault(r.comparison, {}).setdefault(r.network, {})[r.parameter] = float(r.value)
    seconds = float(frames["meta"]["seconds"].iloc[0]) if len(frames["meta"]) else np.nan
    return {"summary": frames["summary"], "holdout": frames["holdout"], "weights": frames["weights"], "best": best,
            "seconds": None if not np.isfinite(seconds) else seconds}


def special_frames(checks: pd.DataFrame, fronts: dict) -> dict[str, pd.DataFrame]:
    """:func:`special_cases` output as two tables: ``checks`` and ``fronts`` (stacked, labelled by ``front``).

    Examples
    --------
    >>> f = pd.DataFrame({"phase": [0.25, 0.75], "position": [0.2, 0.8], "sd": [0.01, 0.02]})
    >>> t = special_frames(pd.DataFrame({"check": ["x"], "value": [1.0]}), {"no wave": f, "wave": f})
    >>> t["fronts"]["front"].tolist()
    ['no wave', 'no wave', 'wave', 'wave']
    """
    from .._validation import check_frame

    check_frame(checks, ["check", "value"], "checks", made_by="special_cases")
    if not isinstance(fronts, dict) or not fronts:
        raise ValueError(f"'fronts' must be a non-empty dict of wiring_front tables; got {type(fronts).__name__}")
    parts = [check_frame(df, ["phase", "position"], f"fronts[{label!r}]").assign(front=str(label))
             for label, df in fronts.items()]
    stacked = pd.concat(parts, ignore_index=True)
    return {"checks": checks.reset_index(drop=True), "fronts": stacked[["front", *parts[0].columns[:-1]]]}


def special_from_frames(frames) -> tuple[pd.DataFrame, dict]:
    """The inverse of :func:`special_frames`: ``(checks, fronts)`` as :func:`special_cases` returns them.

    Examples
    --------
    >>> f = pd.DataFrame({"phase": [0.25, 0.75], "position": [0.2, 0.8], "sd": [0.01, 0.02]})
    >>> checks, fronts = special_from_frames(special_frames(pd.DataFrame({"check": ["x"], "value": [1.0]}),
    ...                                                     {"no wave": f, "wave": f}))
    >>> list(fronts), fronts["wave"].equals(f)
    (['no wave', 'wave'], True)
    """
    missing = [k for k in ("checks", "fronts") if k not in frames]
    if missing:
        raise ValueError(f"'frames' lacks the tables {missing} (made by special_frames); has {sorted(frames)}")
    stacked = frames["fronts"]
    fronts = {str(label): stacked[stacked["front"] == label].drop(columns="front").reset_index(drop=True)
              for label in dict.fromkeys(stacked["front"])}
    return frames["checks"], fronts
