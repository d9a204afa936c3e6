"""When do two modules specialise? Béna & Goodman's calibration and the specialisation frontier with priors.

Two modules of RNN units each read one noisy digit stream (:class:`~mesoscale.training.digits.PairedDigits`)
and must combine them (the parity rule); each module has its own readout and the more confident
one decides (Béna & Goodman 2025). Three blocks of conditions, all trained with
:func:`~mesoscale.training.runs.train_members` (resumable, batched) and measured by
:func:`frontier_evaluator`:

:func:`calibration_conditions`
    the anchor: dense modules with a fraction ``p`` of the possible between-module connections,
    ``p`` on a log scale (and "one connection"), at several module sizes;
:func:`prior_conditions`
    the frontier at a fixed overall density: planted modules at each ``p`` (the reference curve),
    a density-matched random mask, generative-model masks with parameters fitted to connectomes
    (:func:`~mesoscale.training.priors.fitted_parameters`), and dense networks trained with the seRNN
    cost, with BIMT's cost and neuron swaps, or with plain L1, then pruned to the same density;
:func:`connectome_conditions`
    a real connectome's wiring at its own size and density against its degree-preserving
    rewiring, a density-matched random mask, a dense network and planted modules with the
    connectome's own ``p``, all with the same neurons, positions and input halves.

The primary measure, stated before any result, is the retraining score (``retrain_spec``); the
ablation and correlation scores are secondary. Shifts of priors from the planted curve are
Holm-corrected over the priors (:func:`~mesoscale.training.link.curve_shift`).

Examples
--------
>>> [c.name for c in calibration_conditions([1.0, 0.1])]
['p=1', 'p=0.1', 'one connection']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_float, check_float_list, seed_sequence
from .evaluation import accuracy
from .experiments import Condition
from .link import crossing_point, curve_shift, summarize_seeds
from .priors import connectome_layout, inter_module_ratio, mask_density, planted_q
from .specialisation import BENA_MEASURES, bena_specialisation

__all__ = [
    "BENA_GOODMAN",
    "PRIMARY_MEASURE",
    "calibration_conditions",
    "prior_conditions",
    "connectome_conditions",
    "frontier_evaluator",
    "frontier_summary",
    "frontier_findings",
    "specialisation_study",
    "frontier_statements",
]

#: Version of the measurements; part of every store key, so a change of method retrains instead of reusing.
STUDY_VERSION = 3

#: The primary specialisation measure of the chapter, fixed before the results.
PRIMARY_MEASURE = "retrain_spec"

#: What Béna & Goodman (Nat Commun 16, 2025; arXiv:2106.02626) report, for the comparison. Their figure
#: values are not available offline here; their claims and sweep are (abstracts, code).
BENA_GOODMAN = {
    "claim": "specialisation emerges only at extreme sparsity of the between-module connections; with moderate "
             "interconnection the modules are functionally entangled; smaller modules (stronger resource "
             "constraints) specialise more; the three measures agree qualitatively",
    "sweep_p": [0.01, 0.1, 0.5, 1.0],  # plus "one connection" (their sparsity = -1)
    "module_sizes": [10, 25, 50],
    "setup": "two tanh RNN modules, MNIST digits (4 classes per digit in their demo), 2 time steps, structured noise "
             "ratio 0.2, parity-digits rule, per-module readouts with a max decision, AdamW, readouts retrained "
             "with a 30-unit hidden layer",
}


def calibration_conditions(ps, *, one_connection: bool = True) -> list[Condition]:
    """Béna & Goodman's conditions: dense modules, a fraction ``p`` of the between-module connections.

    Examples
    --------
    >>> c = calibration_conditions([0.5], one_connection=False)[0]
    >>> c.prior, c.options
    ('planted', {'p': 0.5})
    """
    ps = check_float_list(ps, "ps", minimum=0.0, maximum=1.0)
    if any(p <= 0 for p in ps):
        raise ValueError(f"'ps' must lie in (0, 1]; got {ps}")
    conds = [Condition("planted", name=f"p={p:g}", options={"p": float(p)}) for p in ps]
    if one_connection:
        conds.append(Condition("planted", name="one connection", options={"n_connections": 1}))
    return conds


def prior_conditions(density: float, ps, *, fits=(), sernn_strength: float = 0.0, bimt_strength: float = 0.0,
                     l1_strength: float = 0.0, swap_every: int = 100) -> list[Condition]:
    """The frontier at overall ``density``: planted modules at each ``p``, random and generative masks, and
    dense networks trained with a wiring cost then pruned to ``density``.

    Parameters
    ----------
    fits : sequence of dict
        :func:`~mesoscale.training.priors.fitted_parameters` results; one generative condition each.
    sernn_strength, bimt_strength, l1_strength : float
        Regulariser strengths (0 leaves the condition out).
    swap_every : int
        BIMT neuron swaps every this many steps.

    Examples
    --------
    >>> [c.name for c in prior_conditions(0.2, [0.1], l1_strength=1e-4)]
    ['planted p=0.1', 'random', 'L1 (pruned)']
    """
    density = check_float(density, "density", minimum=0.0, maximum=1.0)
    conds = [Condition("planted", name=f"planted p={p:g}", options={"p": float(p), "density": density})
             for p in (check_float_list(ps, "ps", minimum=0.0, maximum=1.0) if len(ps) else [])]
    conds.append(Condition("random", name="random", options={"density": density}))
    for f in fits:
        conds.append(Condition("generative", name=f"{f['rule']} ({f['dataset']})", options={
            "density": density, "rule": f["rule"], "eta": float(f["eta"]), "gamma": float(f["gamma"])}))
    for label, kind, s, extra in (("seRNN", "communicability", sernn_strength, {}),
                                  ("BIMT", "distance_l1", bimt_strength, {"swap_every": int(swap_every)}),
                                  ("L1", "l1", l1_strength, {})):
        if s > 0:
            conds.append(Condition("dense", kind, float(s), name=f"{label} (pruned)",
                                   options={"prune_density": density, **extra}))
    return conds


def connectome_conditions(name: str = "celegans_witvliet_8") -> list[Condition]:
    """A connectome's wiring against controls with its neurons, positions, density and input halves.

    Examples
    --------
    >>> [c.name for c in connectome_conditions()]
    ['connectome', 'rewired', 'random', 'planted (same p)', 'dense']
    """
    A, _, labels = connectome_layout(name)
    density, p = mask_density(A), inter_module_ratio(A, labels)
    lay = {"layout": name}
    return [
        Condition("connectome", name="connectome", options={"name": name, **lay}),
        Condition("rewired", name="rewired", options={"name": name, **lay}),
        Condition("random", name="random", options={"density": density, "directed": False, **lay}),
        Condition("planted", name="planted (same p)", options={"p": p, "density": density, "directed": False, **lay}),
        Condition("dense", name="dense", options=dict(lay)),
    ]


def frontier_evaluator(task, *, n_eval: int = 2000, n_probe: int = 3000, n_null: int = 20, n_runs: int = 5,
                       seed=0):
    """The measurements of every trained member (an ``evaluate`` for :func:`~mesoscale.training.runs.train_members`).

    Per member: test ``accuracy``; Béna & Goodman's scores (:func:`~mesoscale.training.specialisation.bena_specialisation`
    on ``n_probe`` train and ``n_probe / 2`` test examples, modules = the input halves); the planted
    partition's modularity of the mask (``q_planted``, Leicht-Newman for directed masks); the best
    Louvain modularity of the (symmetrised) wiring against ``n_null`` density-matched random networks
    (``q_wiring``, ``q_wiring_z``, ``q_wiring_dq`` with ``q_wiring_lo``/``hi``); the trained weights'
    scale (``w_rec_mean``, mean ``|w|`` of the allowed connections) and ``weight_ratio`` (mean ``|w|``
    between modules over mean ``|w|`` within: the weighted analogue of ``p``); and wiring lengths
    (mean length of the mask's connections, and the ``|w|``-weighted mean length).

    Examples
    --------
    >>> from mesoscale.training import PairedDigits, train_members
    >>> task = PairedDigits(seed=0)
    >>> ev = frontier_evaluator(task, n_eval=50, n_probe=100, n_null=3, n_runs=1)
    >>> df = train_members(calibration_conditions([0.5], one_connection=False), task, seeds=[0], n_hidden=8, steps=1,
    ...                    batch_size=8, module_readouts=True, evaluate=ev, progress=False)
    >>> sorted(c for c in df.columns if c.endswith("_spec")), int(df.n_null[0])
    (['ablation_spec', 'correlation_spec', 'retrain_spec'], 3)
    """
    from ..metrics import modularity, modularity_significance

    ss = seed_sequence(seed)

    def evaluate(model, info: pd.DataFrame) -> pd.DataFrame:
        labels = np.asarray(info["labels"].iloc[0])
        acc = accuracy(model, task.view(split="test"), n=n_eval, seed=seed_sequence(ss, 0))
        spec = bena_specialisation(model, task, labels, n_train=n_probe, n_test=max(10, n_probe // 2),
                                   seed=seed_sequence(ss, 1))
        masks = model.mask.cpu().numpy() != 0
        D = model.member_distances().cpu().numpy()
        W = model.effective_weights().detach().abs().cpu().numpy()
        rows = []
        for k in range(model.n_members):
            M = masks[k]
            sym = (M | M.T).astype(float)
            row = {"accuracy": float(acc[k]), "q_planted": modularity(M.astype(float), labels)}
            if sym.sum() > 0 and mask_density(sym) < 1.0:
                t = modularity_significance(sym, "density", n_null, None, seed_sequence(ss, 2, k), n_runs=n_runs)
                row.update(q_wiring=t.q, q_wiring_null=t.null_mean, q_wiring_z=t.z, q_wiring_dq=t.delta,
                           q_wiring_lo=t.delta_low, q_wiring_hi=t.delta_high, n_null=t.n_null)
            else:  # a complete (or empty) wiring has no modules to find
                row.update(q_wiring=0.0, q_wiring_null=0.0, q_wiring_z=np.nan, q_wiring_dq=0.0, q_wiring_lo=0.0,
                           q_wiring_hi=0.0, n_null=n_null)
            same = labels[:, None] == labels[None, :]
            w_in, w_out = W[k][M & same], W[k][M & ~same]
            row["w_rec_mean"] = float(W[k][M].mean()) if M.any() else np.nan
            row["weight_ratio"] = float(w_out.mean() / w_in.mean()) if len(w_in) and len(w_out) and w_in.mean() > 0 \
                else np.nan
            row["mask_length"] = float(D[k][M].mean()) if M.any() else np.nan
            row["weight_length"] = float((W[k] * D[k]).sum() / W[k].sum()) if W[k].sum() > 0 else np.nan
            rows.append(row)
        out = pd.DataFrame(rows)
        return pd.concat([out, spec.drop(columns="member")], axis=1)

    return evaluate


def frontier_summary(df: pd.DataFrame, by=("condition",), metrics=None, *, seed=0) -> pd.DataFrame:
    """One row per group: mean and 95 % bootstrap interval of each metric, and the seed count.

    Columns ``<metric>`` (mean), ``<metric>_lo``, ``<metric>_hi`` and ``n``.

    Examples
    --------
    >>> df = pd.DataFrame({"condition": ["a", "a"], "p_ratio": [0.1, 0.1], "retrain_spec": [0.2, 0.4]})
    >>> frontier_summary(df, metrics=["retrain_spec"]).round(2).values.tolist()
    [['a', 0.3, 0.2, 0.4, 2]]
    """
    by = [by] if isinstance(by, str) else list(by)
    metrics = list(metrics) if metrics is not None else [
        c for c in ("p_ratio", "q_planted", "accuracy", *[f"{m}_spec" for m in BENA_MEASURES], "q_wiring_z",
                    "q_wiring_dq", "w_rec_mean", "weight_ratio", "mask_length", "weight_length") if c in df.columns]
    long = summarize_seeds(df, by, metrics, seed=seed)
    wide = long.pivot_table(index=by, columns="metric", values=["mean", "lo", "hi"], sort=False)
    out = pd.DataFrame(index=wide.index)
    for m in metrics:
        out[m] = wide[("mean", m)]
        out[f"{m}_lo"] = wide[("lo", m)]
        out[f"{m}_hi"] = wide[("hi", m)]
    out["n"] = long.groupby(by, sort=False)["n"].max()
    return out.reset_index()


def frontier_findings(calibration: pd.DataFrame, priors: pd.DataFrame | None = None,
                      connectome: pd.DataFrame | None = None, *, level: float = 0.5, measure: str = PRIMARY_MEASURE,
                      seed=0) -> dict:
    """The numbers behind the chapter's findings.

    Returns a dict with ``crossing`` (per module size: the ``p`` below which the mean ``measure``
    exceeds ``level``, :func:`~mesoscale.training.link.crossing_point`), ``extremes`` (mean and interval
    of the measure at the sparsest and densest calibration point per size), ``shifts`` (priors against
    the planted curve at the same density, :func:`~mesoscale.training.link.curve_shift`), ``space`` (the
    spatial costs against plain L1, paired by seed, when both were trained) and ``connectome`` (the
    connectome block's summary).

    Examples
    --------
    >>> cal = pd.DataFrame({"n_units": 50, "condition": ["p=1"] * 2 + ["p=0.01"] * 2, "p_ratio": [1.0, 1.0, 0.01, 0.01],
    ...                     "retrain_spec": [0.0, 0.1, 0.8, 0.9]})
    >>> f = frontier_findings(cal)
    >>> round(float(f["crossing"].x_star[0]), 3), f["extremes"].n_units.tolist()
    (0.075, [50])
    """
    level = check_float(level, "level", minimum=0.0, maximum=1.0)
    cross, ext = [], []
    for n, g in calibration.groupby("n_units", sort=True):
        c = crossing_point(g, "p_ratio", measure, level, group="condition", seed=seed)
        cross.append({"n_units": n, **c})
        s = frontier_summary(g, metrics=["p_ratio", measure], seed=seed).sort_values("p_ratio")
        lo, hi = s.iloc[0], s.iloc[-1]
        ext.append({"n_units": n, "sparse_condition": lo["condition"], "sparse_p": lo["p_ratio"],
                    "sparse": lo[measure], "sparse_lo": lo[f"{measure}_lo"], "sparse_hi": lo[f"{measure}_hi"],
                    "dense_condition": hi["condition"], "dense_p": hi["p_ratio"], "dense": hi[measure],
                    "dense_lo": hi[f"{measure}_lo"], "dense_hi": hi[f"{measure}_hi"], "n": int(s["n"].min())})
    out = {"crossing": pd.DataFrame(cross), "extremes": pd.DataFrame(ext)}
    if priors is not None and not priors.empty:
        ref = priors[priors.condition.str.startswith("planted")]
        rest = priors[~priors.condition.str.startswith("planted")]
        out["shifts"] = curve_shift(rest, ref, "p_ratio", measure, ref_group="condition", seed=seed)
        out["shifts_accuracy"] = curve_shift(rest, ref, "p_ratio", "accuracy", ref_group="condition", seed=seed)
        if "weight_length" in priors:
            out["lengths"] = frontier_summary(priors, metrics=["weight_length", "mask_length"], seed=seed)
        pruned = priors[priors.condition.str.endswith("(pruned)")]
        if "L1 (pruned)" in set(pruned.condition) and pruned.condition.nunique() > 1:
            from .scenarios import scenario_contrasts

            out["space"] = scenario_contrasts(pruned, [measure, "accuracy"], "L1 (pruned)", seed=seed)
    if connectome is not None and not connectome.empty:
        out["connectome"] = frontier_summary(connectome, seed=seed)
    return out


def specialisation_study(task, *, seeds, module_sizes=(25,), ps=(1.0, 0.1, 0.01), prior_module_size: int = 25,
                         prior_density: float | None = 0.2, prior_ps=(1.0, 0.1, 0.01), fits=(), sernn_strength: float = 0.0,
                         bimt_strength: float = 0.0, l1_strength: float = 0.0, swap_every: int = 100,
                         finetune_steps: int = 500, connectome: str = "", connectome_steps: int = 1000, steps: int = 1500,
                         n_eval: int = 2000, n_probe: int = 3000, n_null: int = 20, n_runs: int = 5, store=None,
                         seed: int = 0, progress: bool = False, **train_kwargs) -> dict:
    """The chapter's three blocks (calibration, priors at one density, connectome), trained and measured.

    Every block goes through :func:`~mesoscale.training.runs.train_members` with module readouts, each
    module (input half) reading its own stream, and :func:`frontier_evaluator`, into the same ``store`` (members already there are read back).
    ``prior_density=None`` or ``connectome=""`` skips a block. ``train_kwargs`` go to ``train_members``
    (``batch_size``, ``lr``, ``eval_every``, ``patience``, ``device``); validation uses fresh trials of
    the *training* images (never the test images).

    Returns
    -------
    dict with ``calibration``, ``priors``, ``connectome`` (member tables, empty when skipped) and ``fits``.

    Examples
    --------
    >>> from mesoscale.training import PairedDigits
    >>> out = specialisation_study(PairedDigits(seed=0), seeds=[0], module_sizes=[4], ps=[1.0], prior_density=None,
    ...                            steps=1, n_eval=40, n_probe=60, n_null=2, n_runs=1, batch_size=8)
    >>> out["calibration"].condition.tolist(), out["priors"].empty
    (['p=1', 'one connection'], True)
    """
    evaluate = frontier_evaluator(task, n_eval=n_eval, n_probe=n_probe, n_null=n_null, n_runs=n_runs, seed=seed)
    common = dict(seeds=list(seeds), module_readouts=True, input_groups=list(task.modality_slices), evaluate=evaluate,
                  store=store, seed=seed, progress=progress,
                  val_task=task.view(split="train"), finetune_steps=finetune_steps,
                  context={"task": task.config, "evaluation": [n_eval, n_probe, n_null, n_runs],
                           "version": STUDY_VERSION}, **train_kwargs)
    from .runs import train_members

    cal = [train_members(calibration_conditions(ps), task, n_hidden=2 * int(n), steps=steps, **common)
           for n in module_sizes]
    out = {"calibration": pd.concat(cal, ignore_index=True), "fits": pd.DataFrame(list(fits)),
           "priors": pd.DataFrame(), "connectome": pd.DataFrame()}
    if prior_density is not None:
        conds = prior_conditions(prior_density, prior_ps, fits=fits, sernn_strength=sernn_strength,
                                 bimt_strength=bimt_strength, l1_strength=l1_strength, swap_every=swap_every)
        out["priors"] = train_members(conds, task, n_hidden=2 * int(prior_module_size), steps=steps, **common)
    if connectome:
        out["connectome"] = train_members(connectome_conditions(connectome), task, steps=connectome_steps, **common)
    return out


def _ci(v, lo, hi, fmt="{:.2f}") -> str:
    return f"{fmt.format(v)} [{fmt.format(lo)}, {fmt.format(hi)}]"


def frontier_statements(f: dict, *, measure: str = PRIMARY_MEASURE) -> list[str]:
    """The chapter's numbered findings as Markdown sentences, every number taken from ``f``
    (:func:`frontier_findings`).

    Examples
    --------
    >>> cal = pd.DataFrame({"n_units": 50, "condition": ["p=1"] * 2 + ["p=0.01"] * 2, "p_ratio": [1.0, 1.0, 0.01, 0.01],
    ...                     "retrain_spec": [0.0, 0.1, 0.8, 0.9]})
    >>> print(frontier_statements(frontier_findings(cal))[0][:61])
    **Calibration (50 units, 2 seeds per point).** Specialisation
    """
    out = []
    for e, c in zip(f["extremes"].itertuples(), f["crossing"].itertuples()):
        where = ("never reaches it" if not np.isfinite(c.x_star) else
                 f"stays above it up to p = {c.x_star:.3g} (95 % CI {c.lo:.3g}-{c.hi:.3g}), i.e. a planted "
                 f"Q of at least {float(planted_q(c.x_star)):.3f} and about {c.x_star * (e.n_units / 2) ** 2:.1f} "
                 f"connections each way between the modules")
        out.append(f"**Calibration ({e.n_units} units, {e.n} seeds per point).** Specialisation ({measure}) is "
                   f"{_ci(e.sparse, e.sparse_lo, e.sparse_hi)} at the sparsest point ({e.sparse_condition}, "
                   f"p = {e.sparse_p:.3g}) and {_ci(e.dense, e.dense_lo, e.dense_hi)} at p = {e.dense_p:.3g}; "
                   f"measured against the level {c.level:g}, the mean curve {where}.")
    if "shifts" in f:
        sh = f["shifts"].dropna(subset=["shift"])
        acc = f["shifts_accuracy"].set_index("condition")
        parts = []
        for r in sh.itertuples():
            verdict = ("above" if r.lo > 0 else "below" if r.hi < 0 else "on") + " the planted curve"
            if r.extrapolated:
                verdict += ", compared with the curve's end: its p lies outside the planted range"
            parts.append(f"{r.condition}: p = {r.x:.2g}, shift {r.shift:+.2f} [{r.lo:+.2f}, {r.hi:+.2f}] "
                         f"(Holm p = {r.p_holm:.2g}; {verdict}; accuracy {acc.loc[r.condition, 'shift']:+.2f} "
                         f"against the curve)")
        if "lengths" in f:  # wiring cost: |w|-weighted mean connection length, against the planted masks
            L = f["lengths"].set_index("condition")
            ref_len = L.loc[L.index.str.startswith("planted"), "weight_length"].mean()
            parts = [f"{t}; wiring length {L.loc[r.condition, 'weight_length']:.2f} against {ref_len:.2f} for planted "
                     f"modules" if r.condition in L.index else t for t, r in zip(parts, sh.itertuples())]
        up = sh[(sh.lo > 0) & (sh.p_holm < 0.05)]
        inside = up[~up.extrapolated.astype(bool)].condition.tolist()
        beyond = up[up.extrapolated.astype(bool)].condition.tolist()
        leads = ([f"{', '.join(inside)} specialise more than planted modules with the same p"] if inside else []) + (
            [f"{', '.join(beyond)} specialise more than the planted curve at its end, their own p lying beyond the "
             "planted range (an extrapolated comparison, not one at the same p)"] if beyond else [])
        lead = "; ".join(leads) or "No prior specialises significantly more than planted modules with the same p"
        out.append(f"**Priors at matched density ({int(sh.n.min()) if len(sh) else 0} seeds each).** {lead}: "
                   + "; ".join(parts) + ".")
    if "space" in f and not f["space"].empty:
        sp = f["space"][f["space"].metric == measure]
        parts = "; ".join(f"{r.condition} minus L1 {r.diff:+.2f} [{r.lo:+.2f}, {r.hi:+.2f}] (Holm p = {r.p_holm:.2g})"
                          for r in sp.itertuples())
        more = sp[(sp.lo > 0) & (sp.p_holm < 0.05)].condition.tolist()
        less = sp[(sp.hi < 0) & (sp.p_holm < 0.05)].condition.tolist()
        verdict = "; ".join(([f"space adds specialisation beyond the cost itself ({', '.join(more)})"] if more else [])
                            + ([f"{', '.join(less)} specialise less than the same cost without distances"]
                               if less else [])) or "space adds nothing measurable beyond the cost itself"
        out.append(f"**Space or pruning?** Against the same cost without distances (L1, pruned alike, paired by seed): "
                   f"{parts}: {verdict}.")
    if "connectome" in f:
        t = f["connectome"].set_index("condition")
        cells = "; ".join(f"{c} {_ci(t.loc[c, measure], t.loc[c, measure + '_lo'], t.loc[c, measure + '_hi'])} "
                          f"(p = {t.loc[c, 'p_ratio']:.2f}, accuracy {t.loc[c, 'accuracy']:.2f})" for c in t.index)
        out.append(f"**A real wiring ({int(t['n'].min())} seeds each).** Specialisation of the worm's wiring and its "
                   f"controls with the same neurons and density: {cells}.")
    return out
