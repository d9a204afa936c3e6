"""Unfamiliar scenarios for networks trained on two digit streams: does specialisation help them generalise?

:func:`scenario_evaluator` measures every trained member of a
:class:`~mesoscale.training.digits.PairedDigits` task whose rules include ``"first"``, ``"second"`` and a
combination rule (e.g. ``"parity_select"``), all on test images, each normalised to the member's
intact accuracy on the same heads:

``zero_shot``
    accuracy of the combination head on digit pairs held out of training (familiar digits, new
    combination), over its accuracy on trained pairs; ``zero_shot_all`` the same for all heads;
``missing`` / ``corrupt``
    accuracy of the head that needs only the *other* stream when one stream is blank / pure noise
    (mean over the two streams);
``ood_x<s>``
    accuracy (all heads) at ``s`` times the training noise;
``lesion_random_<f>`` / ``lesion_hub_<f>``
    accuracy (all heads) with a fraction ``f`` of the units silenced at random (mean over draws) or
    the strongest first (:func:`~mesoscale.training.robustness.unit_strength`);
``module_lesion``
    accuracy of the head served by the intact module when the other module (input half) is silenced
    (mean over the two modules);
``fewshot_<k>``
    a new combination rule (``few_shot_rule``, default ``"sum_threshold"``: ``a + b >= C``, which a linear
    readout of separately coded digits can compute) learnt by a ridge readout of the last hidden
    state from ``k`` examples (mean over draws); ``fewshot_ceiling`` from ``n_pool`` examples shows how
    far a readout can get at all (absolute accuracies, chance 0.5).

:func:`scenario_contrasts` compares conditions with a control, paired by seed, Holm-corrected over
everything it tests.

Examples
--------
>>> from mesoscale.training import PairedDigits, SpatialRNN
>>> task = PairedDigits(("image", "spikes"), rules=("first", "second", "parity_select"), held_out=5, seed=0)
>>> net = SpatialRNN(task.n_input, 8, task.n_output, n_members=2, seed=0)
>>> ev = scenario_evaluator(task, n_eval=40, shots=(1, 4), n_draws=2, n_pool=60, lesion_fractions=(0.25,), n_lesion_draws=1)
>>> df = ev(net, pd.DataFrame({"labels": [[0] * 4 + [1] * 4] * 2}))
>>> sorted(df.columns)[:4]
['acc_first', 'acc_parity_select', 'acc_second', 'corrupt']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .._validation import as_rng, check_choice, check_int, seed_sequence
from scipy import stats

from ..metrics import adjust_pvalues
from .digits import RULES, PairedDigits, rule_targets
from .robustness import unit_strength
from .specialisation import hidden_states, ridge_readout_accuracy

__all__ = ["SCENARIOS", "PRIMARY_OUTCOMES", "head_accuracy", "scenario_evaluator", "scenario_contrasts",
           "generalisation_conditions", "generalisation_study", "scenario_statements"]

#: The outcomes of the link analysis fixed before the results (others are secondary).
PRIMARY_OUTCOMES = ("zero_shot", "missing", "fewshot_16", "lesion_random_0.3")

#: The primary generalisation and robustness measures of the chapter, fixed before the results.
SCENARIOS = ("zero_shot", "missing", "corrupt", "ood", "lesion_random", "lesion_hub", "module_lesion", "fewshot")


@torch.no_grad()
def head_accuracy(model, batch, heads, **forward_kwargs) -> np.ndarray:
    """Accuracy of every output head at the last step, per member: (K, n_heads).

    Examples
    --------
    >>> from mesoscale.training import PairedDigits, SpatialRNN
    >>> t = PairedDigits(rules=("first", "second"), seed=0)
    >>> head_accuracy(SpatialRNN(t.n_input, 6, t.n_output, n_members=3, seed=0), t.sample(20, rng=0), t.heads).shape
    (3, 2)
    """
    dev = next(model.parameters()).device
    model.eval()
    b = batch.to(dev)
    logits, _ = model(b.x, **forward_kwargs)
    out, off = [], 0
    for j, h in enumerate(heads):
        out.append((logits[:, :, -1, off:off + h].argmax(-1) == b.y[:, -1, j]).float().mean(1))
        off += h
    return torch.stack(out, 1).cpu().numpy()


def _all_heads(model, batch, heads, **kw) -> np.ndarray:
    from .loop import decision_correct

    dev = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        b = batch.to(dev)
        logits, _ = model(b.x, **kw)
        return decision_correct(logits, b, heads).float().mean(1).cpu().numpy()


def scenario_evaluator(task: PairedDigits, *, n_eval: int = 1000, ood_scales=(2.0, 3.0), lesion_fractions=(0.1, 0.3),
                       n_lesion_draws: int = 5, shots=(1, 2, 4, 8, 16, 32, 64), n_draws: int = 10,
                       n_pool: int = 2000, few_shot_rule: str = "sum_threshold", ridge: float = 1e-2, seed=0):
    """The unfamiliar-scenario measurements of every member (module docstring); an ``evaluate`` for
    :func:`~mesoscale.training.runs.train_members` (``info`` must carry the units' module ``labels``).

    Examples
    --------
    >>> from mesoscale.training import PairedDigits, SpatialRNN
    >>> task = PairedDigits(rules=("first", "second", "parity_select"), held_out=3, seed=0)
    >>> ev = scenario_evaluator(task, n_eval=30, shots=(2,), n_draws=1, n_pool=40, lesion_fractions=(0.5,),
    ...                         n_lesion_draws=1, ood_scales=(2.0,))
    >>> row = ev(SpatialRNN(task.n_input, 6, task.n_output, seed=0), pd.DataFrame({"labels": [[0, 0, 0, 1, 1, 1]]}))
    >>> sorted(c for c in row.columns if c.startswith(("lesion", "ood", "fewshot")))
    ['fewshot_2', 'fewshot_ceiling', 'lesion_hub_0.5', 'lesion_random_0.5', 'ood_x2']
    """
    if not isinstance(task, PairedDigits):
        raise TypeError(f"'task' must be a PairedDigits; got {type(task).__name__}")
    need = {"first", "second"}
    if not need <= set(task.rules):
        raise ValueError(f"the task's rules must include 'first' and 'second'; got {task.rules}")
    combo = [r for r in task.rules if r not in need]
    if not combo:
        raise ValueError(f"the task needs a combination rule besides 'first' and 'second'; got {task.rules}")
    if len(task.held_out) == 0:
        raise ValueError("the task holds out no digit pairs; zero-shot needs 'held_out'")
    check_choice(few_shot_rule, "few_shot_rule", tuple(RULES))
    n_eval = check_int(n_eval, "n_eval", minimum=10)
    shots = [check_int(k, "shots", minimum=1) for k in shots]
    n_draws = check_int(n_draws, "n_draws", minimum=1)
    n_pool = check_int(n_pool, "n_pool", minimum=max(shots) + 1)
    ci = task.rules.index(combo[0])
    i_first, i_second = task.rules.index("first"), task.rules.index("second")
    ss = seed_sequence(seed)
    heads = task.heads

    def batch(j, **kw):
        return task.sample(n_eval, as_rng(seed_sequence(ss, j)), split="test", **kw)

    def evaluate(model, info: pd.DataFrame) -> pd.DataFrame:
        labels = np.asarray(info["labels"].iloc[0])
        K, n = model.n_members, model.n_hidden
        dev = next(model.parameters()).device
        out: dict[str, np.ndarray] = {}
        base_b = batch(0)
        base = head_accuracy(model, base_b, heads)
        base_all = _all_heads(model, base_b, heads)
        for j, r in enumerate(task.rules):
            out[f"acc_{r}"] = base[:, j]
        held = batch(1, pairs="held_out")
        hz = head_accuracy(model, held, heads)
        out["zero_shot"] = _ratio(hz[:, ci], base[:, ci])
        out["zero_shot_all"] = _ratio(_all_heads(model, held, heads), base_all)
        out["zero_shot_acc"] = hz[:, ci]
        for name, key in (("missing", "missing"), ("corrupt", "corrupt")):
            vals = []
            for s in (0, 1):
                kept = i_second if s == 0 else i_first  # the head that needs only the other stream
                acc = head_accuracy(model, batch(2 + s, **{key: s}), heads)
                vals.append(_ratio(acc[:, kept], base[:, kept]))
            out[name] = np.mean(vals, 0)
        for s in ood_scales:
            noise = tuple(min(1.0, s * v) if task.noise_kind == "structured" else s * v for v in task.noise)
            out[f"ood_x{s:g}"] = _ratio(_all_heads(model, batch(4, noise=noise), heads), base_all)
        strength = unit_strength(model).detach().cpu().numpy()
        rng = as_rng(seed_sequence(ss, 5))
        for f in lesion_fractions:
            cut = int(round(f * n))
            accs = []
            for _ in range(n_lesion_draws):
                um = np.ones((K, n), dtype=np.float32)
                for k in range(K):
                    um[k, rng.choice(n, cut, replace=False)] = 0
                accs.append(_all_heads(model, base_b, heads, unit_mask=torch.as_tensor(um, device=dev)))
            out[f"lesion_random_{f:g}"] = _ratio(np.mean(accs, 0), base_all)
            um = np.ones((K, n), dtype=np.float32)
            for k in range(K):
                um[k, np.argsort(-strength[k], kind="stable")[:cut]] = 0
            out[f"lesion_hub_{f:g}"] = _ratio(_all_heads(model, base_b, heads, unit_mask=torch.as_tensor(um, device=dev)),
                                              base_all)
        vals = []
        for m in (0, 1):
            um = torch.as_tensor(np.broadcast_to(labels != m, (K, n)).astype(np.float32), device=dev)
            kept = i_second if m == 0 else i_first  # module m reads stream m; the other head should survive
            acc = head_accuracy(model, base_b, heads, unit_mask=um)
            vals.append(_ratio(acc[:, kept], base[:, kept]))
        out["module_lesion"] = np.mean(vals, 0)
        pool = task.sample(n_pool, as_rng(seed_sequence(ss, 6)), split="train")
        test = task.sample(n_eval, as_rng(seed_sequence(ss, 7)), split="test")
        C = task.n_classes
        dp, dt = task.digits(pool), task.digits(test)
        yp = rule_targets(few_shot_rule, dp[:, 0], dp[:, 1], C)
        yt = rule_targets(few_shot_rule, dt[:, 0], dt[:, 1], C)
        n_cls = C if RULES[few_shot_rule] is None else RULES[few_shot_rule]
        Hp, Ht = hidden_states(model, pool), hidden_states(model, test)
        rng = as_rng(seed_sequence(ss, 8))
        for k in shots:
            accs = []
            for _ in range(n_draws):
                idx = rng.choice(n_pool, k, replace=False)
                accs.append(ridge_readout_accuracy(Hp[:, idx], yp[idx], Ht, yt, n_cls, ridge=ridge))
            out[f"fewshot_{k}"] = np.mean(accs, 0)
        out["fewshot_ceiling"] = ridge_readout_accuracy(Hp, yp, Ht, yt, n_cls, ridge=ridge)
        return pd.DataFrame(out)

    return evaluate


def _ratio(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def scenario_contrasts(df: pd.DataFrame, metrics, control: str, *, by: str = "condition", pair: str = "seed",
                       seed=None) -> pd.DataFrame:
    """Each condition minus ``control`` for every metric, paired by ``pair`` (seed), Holm-adjusted over all rows.

    Returns ``condition, metric, diff, lo, hi, p, p_holm, n``: the mean paired difference with its 95 %
    t interval and two-sided paired t-test p-value (a t test, not a bootstrap: with few seeds a bootstrap
    interval is too narrow).

    Examples
    --------
    >>> df = pd.DataFrame({"condition": ["c"] * 4 + ["x"] * 4, "seed": [0, 1, 2, 3] * 2,
    ...                    "m": [0.5, 0.6, 0.55, 0.5, 0.8, 0.9, 0.85, 0.8]})
    >>> out = scenario_contrasts(df, ["m"], "c", seed=0)
    >>> out[["condition", "metric"]].values.tolist(), round(float(out["diff"][0]), 3)
    ([['x', 'm']], 0.3)
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if control not in set(df[by]):
        raise ValueError(f"'control' {control!r} is not among the conditions {sorted(set(df[by]))}")
    rows = []
    for m in metrics:
        wide = df.pivot_table(index=pair, columns=by, values=m, sort=False, dropna=False)
        if control not in wide.columns:  # the control has no finite value of this metric
            continue
        for c in wide.columns:
            if c == control:
                continue
            d = (wide[c] - wide[control]).to_numpy(dtype=float)
            d = d[np.isfinite(d)]
            if len(d) == 0:
                continue
            if len(d) > 1 and d.std(ddof=1) > 0:
                se = d.std(ddof=1) / np.sqrt(len(d))
                q = stats.t.ppf(0.975, len(d) - 1)
                lo, hi = d.mean() - q * se, d.mean() + q * se
                p = float(2 * stats.t.sf(abs(d.mean() / se), len(d) - 1))
            else:  # one pair, or identical differences: no spread to test against
                lo = hi = float(d.mean())
                p = np.nan if len(d) == 1 else (1.0 if d.mean() == 0 else 0.0)
            rows.append({by: c, "metric": m, "diff": float(d.mean()), "lo": float(lo), "hi": float(hi), "p": p,
                         "n": len(d)})
    out = pd.DataFrame(rows)
    if not out.empty:
        out["p_holm"] = adjust_pvalues(out["p"].to_numpy(), "holm")
    return out


def generalisation_conditions(density: float, ps=(0.01, 0.1), *, fits=(), sernn_strength: float = 0.0,
                              bimt_strength: float = 0.0, swap_every: int = 100) -> list:
    """The grid block of the generalisation chapter: everything at one density except the dense control.

    Examples
    --------
    >>> [c.name for c in generalisation_conditions(0.2, [0.01])]
    ['dense', 'random', 'modules p=0.01']
    """
    from .experiments import Condition

    conds = [Condition("dense", name="dense"), Condition("random", name="random", options={"density": float(density)})]
    conds += [Condition("planted", name=f"modules p={p:g}", options={"p": float(p), "density": float(density)})
              for p in ps]
    for f in fits:
        conds.append(Condition("generative", name=f"{f['rule']} ({f['dataset']})", options={
            "density": float(density), "rule": f["rule"], "eta": float(f["eta"]), "gamma": float(f["gamma"])}))
    if sernn_strength > 0:
        conds.append(Condition("dense", "communicability", float(sernn_strength), name="seRNN (pruned)",
                               options={"prune_density": float(density)}))
    if bimt_strength > 0:
        conds.append(Condition("dense", "distance_l1", float(bimt_strength), name="BIMT (pruned)",
                               options={"prune_density": float(density), "swap_every": int(swap_every)}))
    return conds


def generalisation_study(task: PairedDigits, *, seeds, n_hidden: int = 50, density: float = 0.2, ps=(0.01, 0.1),
                         fits=(), sernn_strength: float = 0.0, bimt_strength: float = 0.0, swap_every: int = 100,
                         finetune_steps: int = 500, connectome: str = "", steps: int = 2000,
                         connectome_steps: int = 1500, n_eval: int = 1000, n_probe: int = 2000, n_null: int = 10,
                         n_runs: int = 3, scenario_options=None, store=None, seed: int = 0, progress: bool = False,
                         **train_kwargs) -> pd.DataFrame:
    """Train the grid block (:func:`generalisation_conditions`) and, with ``connectome``, the connectome block
    (:func:`~mesoscale.training.frontier.connectome_conditions`), and measure every member: structure and
    specialisation (:func:`~mesoscale.training.frontier.frontier_evaluator`) and the unfamiliar scenarios
    (:func:`scenario_evaluator`). Each input half reads its own stream; one readout reads all units. Returns the
    member table with a ``block`` column.

    Examples
    --------
    >>> t = PairedDigits(("image", "spikes"), rules=("first", "second", "parity_select"), held_out=5, n_steps=2, seed=0)
    >>> df = generalisation_study(t, seeds=[0], n_hidden=8, density=0.4, ps=[0.1], steps=1, n_eval=40, n_probe=60,
    ...                           n_null=2, n_runs=1, batch_size=8, scenario_options={"shots": (1, 16), "n_pool": 60})
    >>> df.condition.tolist(), "zero_shot" in df
    (['dense', 'random', 'modules p=0.1'], True)
    """
    from .frontier import STUDY_VERSION, connectome_conditions, frontier_evaluator
    from .runs import train_members

    structure = frontier_evaluator(task, n_eval=n_eval, n_probe=n_probe, n_null=n_null, n_runs=n_runs, seed=seed)
    opts = dict(scenario_options or {})
    scen = scenario_evaluator(task, n_eval=n_eval, seed=seed, **opts)

    def evaluate(model, info):
        return pd.concat([structure(model, info), scen(model, info)], axis=1)

    common = dict(seeds=list(seeds), evaluate=evaluate, store=store, seed=seed, progress=progress,
                  input_groups=list(task.modality_slices),
                  val_task=task.view(split="train"), finetune_steps=finetune_steps,
                  context={"task": task.config, "evaluation": [n_eval, n_probe, n_null, n_runs],
                           "scenarios": {k: list(v) if isinstance(v, tuple) else v for k, v in opts.items()},
                           "version": STUDY_VERSION}, **train_kwargs)
    conds = generalisation_conditions(density, ps, fits=fits, sernn_strength=sernn_strength,
                                      bimt_strength=bimt_strength, swap_every=swap_every)
    out = [train_members(conds, task, n_hidden=n_hidden, steps=steps, **common).assign(block="grid")]
    if connectome:
        out.append(train_members(connectome_conditions(connectome), task, steps=connectome_steps, **common)
                   .assign(block="connectome"))
    return pd.concat(out, ignore_index=True)


def scenario_statements(df: pd.DataFrame, contrasts: pd.DataFrame, link: pd.DataFrame, *, control: str = "dense",
                        alpha: float = 0.05, reference: pd.Series | None = None, eval_every: int = 100) -> list[str]:
    """Numbered findings of the generalisation chapter, every number from the tables.

    ``contrasts`` from :func:`scenario_contrasts` (against ``control``), ``link`` from
    :func:`~mesoscale.training.link.link_table`. ``reference``
    (:func:`~mesoscale.training.evaluation.reference_accuracy` of the same task) adds how close the trained
    networks came to what the task allows; with ``steps_done`` and ``best_step`` columns the first finding
    also says when the networks were best and how many were still improving at their last validation
    (best within ``eval_every`` steps of the end).

    Examples
    --------
    >>> df = pd.DataFrame({"block": "grid", "condition": ["dense", "x"], "seed": [0, 0], "accuracy": [0.9, 0.8]})
    >>> con = pd.DataFrame({"condition": ["x"], "metric": ["zero_shot"], "diff": [0.1], "lo": [0.05], "hi": [0.2],
    ...                     "p": [0.01], "p_holm": [0.02], "n": [5]})
    >>> lk = pd.DataFrame({"x": ["retrain_spec"], "y": ["zero_shot"], "r": [0.4], "lo": [0.1], "hi": [0.6], "p": [0.01],
    ...                    "p_holm": [0.04], "n": [30], "n_clusters": [6], "covariates": ["accuracy"]})
    >>> print(scenario_statements(df, con, lk)[1])
    **Against the dense control (Holm-corrected over every condition and scenario of a block).** Significant: x zero_shot +0.10 [+0.05, +0.20].
    """
    out = []
    acc = df.groupby(["block", "condition"], sort=False)["accuracy"].agg(["mean", "min", "size"])
    several = df["block"].nunique() > 1

    def label(block, condition) -> str:  # conditions of the same name in two blocks (e.g. "random") stay apart
        return f"{block}: {condition}" if several and block is not None else str(condition)

    text = "**Trained accuracy (all heads, test images).** " + "; ".join(
        f"{label(b, c)} {r['mean']:.2f} (lowest seed {r['min']:.2f}, {int(r['size'])} seeds)"
        for (b, c), r in acc.iterrows()) + "."
    if reference is not None:
        heads = [c for c in df if c.startswith("acc_")]
        ref_heads = [k for k in reference.index if k.startswith("acc_")]
        if len(heads) != len(ref_heads):
            raise ValueError(f"'reference' has {len(ref_heads)} heads, the table {len(heads)} ({heads})")
        share = df["accuracy"] / reference["accuracy"]
        text += (f" A feed-forward reader of each trial's whole input sequence, trained on as many trials, reaches "
                 f"{reference['accuracy']:.2f} (per head " + ", ".join(
                     f"{h[4:]} {df[h].mean():.2f} of {reference[k]:.2f}" for h, k in zip(heads, ref_heads)) +
                 f"): the networks reach {share.min():.0%}-{share.max():.0%} of it (median {share.median():.0%}).")
    if {"best_step", "steps_done"} <= set(df):
        improving = (df["steps_done"] - df["best_step"]) <= eval_every
        text += (f" Best validation at step {df['best_step'].median():.0f} (median) of {df['steps_done'].median():.0f} "
                 f"trained; {improving.mean():.0%} of networks were best at their last validation (still improving "
                 f"when the step cap stopped them).")
    out.append(text)
    sig = contrasts[contrasts.p_holm < alpha] if not contrasts.empty else contrasts
    if sig.empty:
        out.append(f"**Against the {control} control (Holm-corrected over every condition and scenario of a block).** "
                   f"No condition differs significantly from it in any primary scenario.")
    else:
        out.append(f"**Against the {control} control (Holm-corrected over every condition and scenario of a block).** "
                   f"Significant: " + "; ".join(
            f"{label(getattr(r, 'block', None), r.condition)} {r.metric} {r.diff:+.2f} [{r.lo:+.2f}, {r.hi:+.2f}]"
            for r in sig.itertuples()) + ".")
    for r in link.itertuples():
        verdict = "significant" if r.p_holm < alpha else "not significant"
        out.append(f"**{r.x} and {r.y}** (partial r controlling for {r.covariates}): r = {r.r:+.2f} "
                   f"[{r.lo:+.2f}, {r.hi:+.2f}], n = {r.n} networks in {getattr(r, 'n_clusters', r.n)} conditions, "
                   f"Holm p = {r.p_holm:.2g} ({verdict}).")
    return out
