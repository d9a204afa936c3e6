"""Findings of the generative chapters (01 and 04), written from their tables: every number comes from a run.

:func:`phase2_findings` turns the outputs of the phase-2 driver (:mod:`~mesoscale.generative.study`,
:mod:`~mesoscale.generative.stages`) into a numbered Markdown list. Each finding gives an effect
size with its interval, the comparison it rests on (a null, a floor, a bootstrap over searches
and networks, a permutation test) and its counts, and sets it against the published result it
relates to. Findings whose inputs are absent (e.g. a run without the Witvliet stages) are left
out, so any parameter set gives a list that is true of its own run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["phase1_findings", "phase2_findings", "HUMAN_DATASETS"]

#: The human parcellations, where the literature reports homophily (matching) as the best rule.
HUMAN_DATASETS = ("human_dk68", "human_hagmann66")


def _f(x, digits=3) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _rules_finding(fitted, checks) -> str | None:
    best = fitted["best"]
    if len(best) == 0:
        return None
    n_s = int(best["n_searches"].iloc[0]) if "n_searches" in best else 1
    winners = best["rule"].value_counts()
    resolved = best[best["p_best"] >= 0.95]
    lines = [f"**Which rule wins.** Over {len(best)} datasets the best rule (lowest mean top-k energy) is "
             + ", ".join(f"`{r}` ({c})" for r, c in winners.items())
             + f"; the winner is resolved (p_best ≥ 0.95, two-level bootstrap over {n_s} search(es) and their "
             f"top-k networks) on {len(resolved)} of {len(best)}."]
    human = [d for d in HUMAN_DATASETS if d in best.index]
    r = fitted["rankings"]
    for d in human:
        rk = r[r["dataset"] == d].set_index("rule")
        row = best.loc[d]
        text = (f"`{d}`: `{row['rule']}` {_f(row['energy_topk'])} [{_f(row['ci_low'])}, {_f(row['ci_high'])}], "
                f"p_best {row['p_best']:.2f}")
        if "matching" in rk.index and row["rule"] != "matching":
            m = rk.loc["matching"]
            text += (f"; `matching` {_f(m['energy_topk'])} [{_f(m['ci_low'])}, {_f(m['ci_high'])}], rank "
                     f"{int(list(rk.index).index('matching')) + 1} of {len(rk)}")
        lines.append(text)
    if human:
        lines.append("Betzel et al. (2016) and Akarca et al. (2021) found homophily (matching) best for human "
                     "connectomes with energies near 0.2 at 68 regions; where `matching` is not the winner here, its "
                     "interval says whether it is distinguishable from it (overlapping intervals: not resolved). Our "
                     "networks are the packaged group templates, binarised at any streamline, with Euclidean "
                     "distances between centroids, not per-subject thresholded networks — a template gives one "
                     "network per atlas, so it can rank rules for that network but carries no between-subject "
                     "variability.")
    if checks is not None and len(checks.get("nesting", [])):
        nv = len(checks["violations"])
        lines.append(f"Nesting: {nv} of {len(checks['nesting'])} rule fits are worse than their own γ = 0 line or "
                     "`sptl` beyond twice the spread of their top-k energies" + (" (their ranks should not be read)."
                                                                                if nv else "."))
    return " ".join(lines[:1]) + ("\n   " + "; ".join(lines[1:]) if len(lines) > 1 else "")


def _floors_finding(checks) -> str | None:
    if checks is None or "floors" not in checks or len(checks["floors"]) == 0:
        return None
    fl = checks["floors"]
    selfs = fl[fl["floor"] == "self"] if "floor" in fl else fl
    within = selfs[selfs["verdict"] == "within floor"]["dataset"].tolist()
    text = (f"**Energy floors.** {len(within)} of {len(selfs)} best fits lie within their self floor (the 95th "
            f"percentile of the energy between two of the model's own realisations, "
            f"{int(selfs['n_floor'].iloc[0])} energies each): "
            + (", ".join(f"`{d}`" for d in within) if within else "none") + "; the others are misfits by "
            f"{_f(selfs.loc[selfs['verdict'] == 'misfit', 'excess'].median())} (median excess).")
    pairs = checks.get("pairs")
    if pairs is not None and len(pairs):
        text += " Pair floors (two animals that should be alike): " + "; ".join(
            f"{idx} {_f(row['energy'])}" for idx, row in pairs.iterrows() if "energy" in row) + "."
    return text


def _search_finding(fitted) -> str | None:
    u = fitted.get("uncertainty")
    if u is None or len(u) == 0:
        return None
    best = fitted["best"]
    ub = u.merge(best[["rule"]].reset_index(), on=["dataset", "rule"])
    n_s = int(u["n_searches"].iloc[0])
    signs = ub["gamma_sign"].value_counts()
    text = (f"**How much the search decides.** With {n_s} independent search(es) per dataset, the best rules' "
            f"top-k energies shift by a median {_f(ub['budget_shift'].median())} between one search and all pooled "
            f"(largest {_f(ub['budget_shift'].max())})")
    if n_s > 1:
        text += f", and vary across searches by a median sd of {_f(ub['energy_search_sd'].median())}"
    text += ". The sign of γ of the best rules is " + ", ".join(f"{k} for {v}" for k, v in signs.items()) + \
        " (a sign counts when ≥ 95 % of the pooled top-k points and the interval across searches agree)."
    return text


def _comparison_finding(compared) -> str | None:
    if compared is None or "failures" not in compared:
        return None
    fails = compared["failures"]
    rescored = compared.get("rescored")
    ok = int(rescored["ok"].sum()) if rescored is not None and len(rescored) else 0
    text = (f"**What the fits do not reproduce.** Across {len(compared['z_table'])} datasets, the share of datasets "
            "whose real value lies outside ±2 sd of the networks grown at the best fit: "
            + ", ".join(f"{m} {v:.0%}" for m, v in fails.sort_values(ascending=False).items())
            + f". The networks grown at the mean top-k parameters were re-scored: {ok} of {len(rescored)} keep an "
            "energy within the 5–95 % range of the fit's own top-k networks.")
    ceil = compared.get("ceiling")
    if ceil is not None and len(ceil):
        c = ceil.iloc[0]
        syn = pd.concat([t.iloc[1:] for t in compared["comparisons"].values()])
        text += (f" Identity has a ceiling: two adult worms ({c['pair']}, {int(c['n_common'])} common neurons) agree "
                 f"with partition AMI {_f(c['partition_ami'])}, hub overlap {_f(c['hub_overlap'])} and degree "
                 f"correlation {_f(c['degree_corr'])}; the fitted models reach {_f(syn['partition_ami'].mean())}, "
                 f"{_f(syn['hub_overlap'].mean())} and {_f(syn['degree_corr'].mean())} on average — the hub-"
                 "topography failure reported by Akarca et al. (2021) and Oldham et al. (2022), now measured "
                 "against what another animal achieves.")
    return text


def _stage_finding(stage, trends) -> str | None:
    if stage is None or trends is None or len(trends) == 0:
        return None
    t = trends.set_index(["version", "metric", "column"])
    n_null = int(stage["n_null"].iloc[0])
    n_nodes = int(stage["n_nodes"].iloc[0])
    n_st = int(stage["dataset"].nunique())
    out = []

    def describe(version, metric, column, label):
        if (version, metric, column) not in t.index:
            return None
        r = t.loc[(version, metric, column)]
        return (f"{label} {_f(r['first'])} → {_f(r['last'])} (slope {r['slope_per_10h']:+.4f} per 10 h "
                f"[{r['slope_low']:+.4f}, {r['slope_high']:+.4f}], permutation p = {r['p_perm']:.3f}, adults differ "
                f"by {_f(r['adult_difference'])}: {r['trend']})")

    q = describe("binary", "Q", "value", "raw Q")
    dq = describe("binary", "Q", "delta", "ΔQ over the degree null")
    if q and dq:
        out.append(f"**Modularity with age (Witvliet stages on {n_nodes} common neurons, {n_st} animals, "
                   f"{n_null} degree-preserving nulls each).** {q}; {dq}. Raw Q falls as the network densifies, but "
                   "its excess over networks of the same degrees does not: the adult is as modular as the newborn, "
                   "beyond what density explains.")
    ff = describe("directed", "layer_feedforwardness", "value", "the share of inter-layer synapses that run "
                  "sensory → interneuron → motor")
    dff = describe("directed", "layer_feedforwardness", "delta", "its excess over directed degree-preserving nulls")
    tc = describe("directed", "trophic_coherence", "value", "trophic coherence")
    if ff and dff:
        out.append(f"**Feedforwardness with age.** {ff}; {dff}; {tc}. Witvliet et al. (2021) describe the maturing "
                   "brain as becoming more feedforward; here the layer measure agrees and the trophic coherence, "
                   "which ignores the cell classes, says whether the whole network becomes more layered.")
    return "\n\n".join(out) if out else None


def _growth_finding(dev) -> str | None:
    g = dev.get("growth") if dev else None
    if g is None or len(g) == 0:
        return None
    m = g.groupby("predictor")["roc_auc"].agg(["mean", "min", "max"])
    n_tr = g["transition"].nunique()
    return ("**Which connections appear next.** Growth-forward forecasts over " f"{n_tr} transitions (ROC AUC, 0.5 is "
            "chance): " + ", ".join(f"{p} {_f(r['mean'])} [{_f(r['min'])}–{_f(r['max'])}]"
                                    for p, r in m.sort_values("mean", ascending=False).iterrows())
            + ". The fitted rules are compared with baselines that use only the earlier stage; the degree oracle "
            "knows each neuron's future number of partners.")


def _seeded_finding(seeded) -> str | None:
    if seeded is None or len(seeded) == 0:
        return None
    g = seeded.groupby("rule")["gain"].agg(["mean", "min", "max", "size"])
    return ("**Growing from the newborn.** Fitted from the L1 connections that both animals share, the later stages' "
            "top-k energies change by (unseeded − seeded; positive = the seed helps) "
            + ", ".join(f"`{r}` {row['mean']:+.3f} [{row['min']:+.3f}, {row['max']:+.3f}] over {int(row['size'])} "
                        "stages" for r, row in g.iterrows()) + ".")


def _group_finding(group) -> str | None:
    if group is None or len(group) == 0:
        return None
    g = group.iloc[0]
    return (f"**Mice one by one.** Fitted to {int(g['n_subjects'])} mice individually, `{g['rule']}` has the lowest "
            f"mean energy {_f(g['energy_mean'])} [{_f(g['energy_ci_low'])}, {_f(g['energy_ci_high'])}] and is the best "
            f"rule for {g['share_best']:.0%} of them; the next rule, `{group.iloc[1]['rule']}`, "
            f"{_f(group.iloc[1]['energy_mean'])} [{_f(group.iloc[1]['energy_ci_low'])}, "
            f"{_f(group.iloc[1]['energy_ci_high'])}]." if len(group) > 1 else "")


def _threshold_finding(threshold) -> str | None:
    if threshold is None or len(threshold) == 0:
        return None
    parts = []
    for d, g in threshold.groupby("dataset", sort=False):
        g = g.sort_values("rank")
        top, own_top = g.iloc[0], g.sort_values("rank_own").iloc[0]
        m = g[g["rule"] == "matching"]
        text = (f"`{d}` at {top['density']:.0%} of pairs (its own {top['density_own']:.0%}): best `{top['rule']}` "
                f"{_f(top['energy_topk'])} [{_f(top['ci_low'])}, {_f(top['ci_high'])}], p_best {top['p_best']:.2f}")
        if len(m) and top["rule"] != "matching":
            text += f", `matching` {_f(m['energy_topk'].iloc[0])} (rank {int(m['rank'].iloc[0])} of {len(g)})"
        text += (f"; at its own density `{own_top['rule']}` led these rules"
                 + (" too" if own_top["rule"] == top["rule"] else ""))
        parts.append(text)
    flipped = {d: g.sort_values("rank").iloc[0]["p_best"] >= 0.95 for d, g in threshold.groupby("dataset", sort=False)
               if g.sort_values("rank").iloc[0]["rule"] != g.sort_values("rank_own").iloc[0]["rule"]}
    verdict = ("the threshold changes the winner on "
               + ", ".join(f"`{d}` ({'resolved' if ok else 'not resolved: p_best < 0.95'})" for d, ok in flipped.items())
               + ": part of the disagreement with the published ranking may be how the network was binarised"
               if flipped else "the winner does not change with the threshold, so binarisation does not explain a "
               "disagreement with the published ranking")
    return ("**Does the threshold decide the ranking?** Refitted with the same search at a published-style density "
            "(strongest pairs kept): " + "; ".join(parts) + f". So {verdict}.")


def phase2_findings(fitted: dict, *, checks: dict | None = None, compared: dict | None = None,
                    dev: dict | None = None, stage: pd.DataFrame | None = None, trends: pd.DataFrame | None = None,
                    seeded: pd.DataFrame | None = None, group: pd.DataFrame | None = None,
                    threshold: pd.DataFrame | None = None) -> str:
    """The chapter's numbered findings as Markdown, from its tables (absent inputs are skipped).

    Examples
    --------
    >>> best = pd.DataFrame({"rule": ["sptl"], "energy_topk": [0.2], "ci_low": [0.18], "ci_high": [0.22],
    ...                      "p_best": [1.0]}, index=pd.Index(["toy"], name="dataset"))
    >>> print(phase2_findings({"best": best, "rankings": best.reset_index()}))
    1. **Which rule wins.** Over 1 datasets the best rule (lowest mean top-k energy) is `sptl` (1); the winner is resolved (p_best ≥ 0.95, two-level bootstrap over 1 search(es) and their top-k networks) on 1 of 1.
    """
    parts = [_rules_finding(fitted, checks), _threshold_finding(threshold), _floors_finding(checks),
             _search_finding(fitted),
             _comparison_finding(compared), _stage_finding(stage, trends), _growth_finding(dev),
             _seeded_finding(seeded), _group_finding(group)]
    parts = [p for p in parts if p]
    return "\n".join(f"{i}. {p}" for i, p in enumerate(parts, 1))


def phase1_findings(land_summary: pd.DataFrame, land: pd.DataFrame, *, cond_summary: pd.DataFrame | None = None,
                    dev_summary: pd.DataFrame | None = None, real: dict | None = None, nulls=("degree", "spatial"),
                    exponents: pd.DataFrame | None = None, alpha: float = 0.05) -> str:
    """Chapter 01's numbered findings from its sweeps (landscape, conditions, development).

    Significance is that of :func:`~mesoscale.generative.landscape.significance` (p from z and
    the null count, Benjamini–Hochberg over the sweep, fragmented networks never significant).
    The calibration finding uses the landscape's γ = 0 networks of every rule: they all follow
    the spatial rule's law, so against the spatial null (degrees and edge lengths kept) they
    are close to known-null replicates whose z should spread like a Gaussian null's.

    Examples
    --------
    >>> land = pd.DataFrame({"rule": ["sptl", "matching"], "eta": -2.0, "gamma": [0.0, 0.0], "Q": 0.5,
    ...                      "z_degree": [9.0, 8.5], "z_spatial": [0.4, -0.8], "n_null": 20, "fragmented": False})
    >>> from mesoscale.generative.landscape import summarize
    >>> print(phase1_findings(summarize(land), land).splitlines()[0][:44])
    1. **Where wiring rules build modules.** Sha
    """
    from ..metrics import summarize_calibration
    from .landscape import best_by

    z_cols = [f"z_{n}" for n in nulls if f"z_{n}" in land.columns]
    sig = land_summary.groupby("rule")["frac_sig_all"].mean()
    frag = land_summary.groupby("rule")["frac_fragmented"].mean() if "frac_fragmented" in land_summary else None
    n_null = int(land["n_null"].iloc[0])
    lines = [f"**Where wiring rules build modules.** Share of the (η, γ) networks significantly modular against every "
             f"null ({', '.join(nulls)}; {n_null} nulls each, p from z, Benjamini–Hochberg over the "
             f"{len(land)} networks at {alpha}, fragmented networks excluded): "
             + ", ".join(f"`{r}` {v:.0%}" for r, v in sig.items())
             + ("" if frag is None else "; fragmented (largest component below 90 % of the nodes): "
                + ", ".join(f"`{r}` {v:.0%}" for r, v in frag.items())) + "."]
    if "z_spatial" in land.columns:
        zero = land[(land["gamma"].fillna(0.0) == 0.0)]
        if len(zero) >= 3:
            cal = summarize_calibration(zero["z_spatial"].to_numpy(float), np.full(len(zero), 0.5), n_null=n_null)
            lines.append(f"**Is z calibrated?** The {len(zero)} networks at γ = 0 (the spatial rule's law, whatever the "
                         f"rule) against the spatial null: z has mean {_f(cal.mean_z, 2)} and sd {_f(cal.sd_z, 2)} (a "
                         f"Gaussian null with {n_null} nulls gives sd {_f(cal.sd_z_ideal, 2)}), |z| > 1.96 in "
                         f"{cal.frac_z_beyond:.0%} (ideal {cal.frac_z_beyond_ideal:.0%}); by η, mean z "
                         + ", ".join(f"{e:g}: {_f(g.mean(), 1)}" for e, g in zero.groupby("eta")["z_spatial"])
                         + ". A mean that moves with η means the spatial null does not fully capture the rule's "
                         "geometry there.")
    if z_cols and "sptl" in set(land_summary["rule"]):
        sp = best_by(land_summary, z_cols[0], rule="sptl")
        lines.append(f"**The spatial rule.** `{sp.rule}` is most modular against the {nulls[0]} null at η = {sp.eta:g}: "
                     f"Q = {_f(sp.Q, 2)}, ΔQ = {_f(sp.get(f'delta_{nulls[0]}', np.nan), 3)}, z = {_f(sp[z_cols[0]], 1)}"
                     + (f", and z = {_f(sp[z_cols[-1]], 1)} against the {nulls[-1]} null" if len(z_cols) > 1 else "")
                     + ".")
    if cond_summary is not None and len(cond_summary) and z_cols:
        rule0 = cond_summary["rule"].iloc[0]
        parts = []
        for f in ("embedding", "density", "n"):
            b = best_by(cond_summary, z_cols[0], by=f, factor=f, rule=rule0)
            parts.append(f"{f}: " + ", ".join(f"{k} {_f(v, 1)}" if f == "embedding" else f"{k:g} {_f(v, 1)}"
                                              for k, v in b.items()))
        lines.append(f"**Necessary conditions.** Best z of `{rule0}` against the {nulls[0]} null by " + "; by ".join(parts)
                     + ". z grows with size and density at a fixed effect, so the conditions are read from where z "
                     "leaves the band, not from its height.")
    if dev_summary is not None and len(dev_summary):
        dv = best_by(dev_summary, "nmi_ganglia")
        text = (f"**Growing a worm.** The local growth exponent of links against neurons born has median "
                f"{_f(dev_summary['exponent_early'].median(), 2)} in the first half of development and "
                f"{_f(dev_summary['exponent_late'].median(), 2)} in the second (Nicosia et al. 2013: ≈ 2 embryonic, ≈ 1 "
                f"after hatching); the grown modules match the ganglia best at elongation {dv.elongation:g}, range "
                f"{dv.length_scale:g} (NMI {_f(dv.nmi_ganglia, 2)}, z = {_f(dv.nmi_ganglia_z, 1)} against random "
                "relabellings)")
        if real is not None:
            text += f"; the real adult connectome's modules reach NMI {_f(real['nmi_ganglia'], 2)}"
        lines.append(text + ".")
    if exponents is not None and len(exponents):
        g = exponents.groupby("schedule")[["exponent_early", "exponent_late"]].agg(["min", "max"])
        parts = [f"{s}: early {_f(r[('exponent_early', 'min')], 2)}–{_f(r[('exponent_early', 'max')], 2)}, late "
                 f"{_f(r[('exponent_late', 'min')], 2)}–{_f(r[('exponent_late', 'max')], 2)}" for s, r in g.iterrows()]
        text = ("**Is the growth exponent a prediction?** Median exponents over every (elongation, range) cell — "
                + "; ".join(parts) + ".")
        if "hazard" in g.index:
            late = g.loc["hazard", ("exponent_late", "max")]
            text += (" With only the total fixed, the contact process predicts growth that stays accelerating "
                     "(the late exponent never falls to 1): the crossover to linear growth of Nicosia et al. (2013) is "
                     "not a consequence of contacts accumulating over time in an elongating body; under the "
                     "`contacts` schedule it appears because the link count is set to the current contact count."
                     if late > 1.5 else " With only the total fixed, the contact process itself produces the "
                     "slowdown of growth late in development.")
        lines.append(text)
    return "\n".join(f"{i}. {x}" for i, x in enumerate(lines, 1))
