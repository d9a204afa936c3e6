"""Local learning on the specialisation frontier: planted two-module energy networks.

Béna & Goodman's question (chapter 05) asked with the energy-based networks and local rules of
chapter 07: the hidden sheet is split into two modules, each input half drives only its own
module, and a fraction ``p`` of the possible connections *between* the modules is kept (all
within). Every learning rule trains the *same* masked network on the same data (a paired
design), so a difference between rules at one ``p`` is the rule's own doing: does a local
rule (EqProp, CHL) make the modules specialise at a larger ``p`` than backpropagation through
the relaxation (BPTT) does?

:func:`modular_network` builds the masked network, :func:`run_frontier_member` trains and
measures one member (the ``fn(params, rng)`` of :func:`mesoscale.sweep.run_sweep`: resumable,
inline, local Dask or SLURM), :func:`local_frontier` summarises a sweep (means, bootstrap
intervals, the crossing of a specialisation level, rule contrasts paired by replicate with
Holm correction) and :func:`local_frontier_statements` words it.

The specialisation measure is chapter 07's (:func:`~mesoscale.ebm.analysis.specialisation`:
selectivity of each hidden unit's fixed point to the left or right input half). Isolated
modules are selective by construction, so every member also reports the measure of its
*untrained* masked network (``spec_init``); ``spec_gain = specialisation - spec_init`` is what
learning added.

Examples
--------
>>> row = run_frontier_member({"rule": "eqprop", "p": 0.25, "task": "retina_and", "rep": 0, "epochs": 1,
...                            "n_hidden": 8}, rng=0)
>>> row["n_between"], round(row["p_ratio"], 3), 0.0 <= row["specialisation"] <= 1.0
(4, 0.25, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .._validation import as_rng, check_float, check_int
from ..metrics import adjust_pvalues, bootstrap_ci
from ..sweep import task_rng
from .analysis import specialisation
from .experiment import check_member, make_condition, sign_flip_p
from .learning import LearningConfig, learn
from .network import EnergyNetwork

__all__ = ["modular_network", "module_of_hidden", "run_frontier_member", "local_frontier",
           "local_frontier_statements", "FRONTIER_METRICS"]

#: Columns of :func:`run_frontier_member` that :func:`local_frontier` summarises.
FRONTIER_METRICS = ("specialisation", "spec_init", "spec_gain", "test_acc", "train_acc", "weight_ratio")


def module_of_hidden(net: EnergyNetwork) -> np.ndarray:
    """Module (0 left, 1 right) of each hidden unit: the half of the sheet it lies in.

    The hidden units are split at the median of their horizontal positions (ties by index), so
    the modules are equal in size and lie above the input halves they read.

    Examples
    --------
    >>> from mesoscale.ebm import make_network
    >>> module_of_hidden(make_network(4, 8, 2, seed=0)).tolist()
    [0, 0, 1, 1, 0, 0, 1, 1]
    """
    x = np.asarray(net.positions, dtype=float)[net.hidden, 0]
    order = np.argsort(x, kind="stable")
    labels = np.empty(len(x), dtype=int)
    labels[order] = (np.arange(len(x)) * 2) // len(x)
    return labels


def modular_network(net: EnergyNetwork, p: float, input_side, *, seed=None) -> EnergyNetwork:
    """A copy of ``net`` with two planted hidden modules and a fraction ``p`` of the connections between them.

    Parameters
    ----------
    net : EnergyNetwork
        A recurrent network (hidden-hidden synapses allowed).
    p : float in (0, 1]
        Fraction of the ``n_left * n_right`` possible between-module hidden pairs that stay
        connected (at least one pair; ``p = 1`` keeps them all). Within-module pairs all stay.
    input_side : array of int, shape (n_in,)
        0/1: the input half each input belongs to (it then drives only that module's hidden
        units); -1: an input that drives both.
    seed : int, SeedSequence or Generator, optional
        Which between-module pairs are kept.

    Returns
    -------
    EnergyNetwork
        Mask and weights restricted (weights outside the new mask are zero); hidden-output
        synapses are unchanged.

    Examples
    --------
    >>> from mesoscale.ebm import make_network
    >>> net = make_network(4, 8, 2, seed=0)
    >>> m = modular_network(net, 0.25, [0, 0, 1, 1], seed=0)
    >>> h = m.mask[m.hidden, m.hidden].numpy()
    >>> lab = module_of_hidden(m)
    >>> int(h[np.ix_(lab == 0, lab == 1)].sum()), m.check_symmetric()
    (4, True)
    """
    p = check_float(p, "p", minimum=0.0, maximum=1.0)
    if p <= 0.0:
        raise ValueError(f"'p' must be in (0, 1] (at least one connection between the modules); got {p!r}")
    side = np.asarray(input_side)
    if side.shape != (net.n_in,) or not np.all(np.isin(side, (-1, 0, 1))):
        raise ValueError(f"'input_side' must hold -1, 0 or 1 for each of the {net.n_in} inputs; got {input_side!r}")
    mask = net.mask.detach().cpu().numpy().copy()
    H = np.arange(net.n_units)[net.hidden]
    if not mask[np.ix_(H, H)].any():
        raise ValueError("'net' has no hidden-hidden synapses (connectivity='layered'); the modules need them")
    lab = module_of_hidden(net)
    left, right = H[lab == 0], H[lab == 1]
    # inputs drive their own module only
    for i in range(net.n_in):
        if side[i] >= 0:
            other = right if side[i] == 0 else left
            mask[i, other] = mask[other, i] = False
    pairs = np.array([(a, b) for a in left for b in right])
    k = max(1, int(round(p * len(pairs))))
    keep = np.zeros(len(pairs), dtype=bool)
    keep[as_rng(seed).choice(len(pairs), size=k, replace=False)] = True
    for (a, b), kept in zip(pairs, keep):
        mask[a, b] = mask[b, a] = bool(kept)
    out = net.copy()
    new = torch.as_tensor(mask, device=out.mask.device)
    with torch.no_grad():
        out.mask.copy_(new)
        out.W.mul_(new.to(out.W.dtype))
    return out


def _hidden_block(net: EnergyNetwork):
    H = np.arange(net.n_units)[net.hidden]
    M = net.mask.detach().cpu().numpy()[np.ix_(H, H)]
    W = np.abs(net.W.detach().cpu().numpy()[np.ix_(H, H)])
    return M, W, module_of_hidden(net)


def _structure(net: EnergyNetwork) -> dict:
    """Between-module counts and densities, planted Q of the hidden mask, and the weighted analogue of p."""
    M, W, lab = _hidden_block(net)
    same = lab[:, None] == lab[None, :]
    off = ~np.eye(len(lab), dtype=bool)
    n_between = int(M[~same].sum() // 2)
    d_between = M[~same].mean()
    d_within = M[same & off].mean()
    two_m = M.sum()
    q = 0.0
    for c in (0, 1):
        inside = M[np.ix_(lab == c, lab == c)].sum()
        deg = M[lab == c].sum()
        q += inside / two_m - (deg / two_m) ** 2
    w_between = W[~same & (M > 0)]
    w_within = W[same & off & (M > 0)]
    ratio = float(w_between.mean() / w_within.mean()) if len(w_between) and w_within.mean() > 0 else np.nan
    return {"n_between": n_between, "p_ratio": float(d_between / d_within), "q_planted": float(q),
            "weight_ratio": ratio}


def run_frontier_member(params: dict, rng=None) -> dict:
    """Train one planted two-module network with one rule at one ``p`` and measure it.

    Parameters
    ----------
    params : dict
        Required: ``rule`` (:data:`~mesoscale.ebm.rules.LEARNING_RULES`), ``p`` (fraction of the
        between-module pairs kept, in (0, 1]), ``task`` (a task of :data:`~mesoscale.ebm.tasks.TASKS`
        with left/right input halves), ``rep`` (replicate). Optional: ``base_seed`` (0),
        ``n_hidden`` (16), ``train_fraction``, ``n_train``, ``n_test`` and any field of
        :class:`~mesoscale.ebm.learning.LearningConfig` except ``rule`` (``epochs``, ``lr``, ...).
    rng : numpy Generator, int or None
        The member's own stream (training order and the specialisation probes).

    The initial weights, data split and mask depend only on ``base_seed``, ``task``, ``rep``
    and ``p``: every rule trains the same masked network.

    Returns
    -------
    dict
        ``train_acc``, ``test_acc``, ``specialisation`` (trained), ``spec_init`` (the untrained
        masked network), ``spec_gain``, ``n_between``, ``p_ratio`` (between- over within-module
        density of the hidden mask), ``q_planted`` (Newman Q of the hidden mask with the planted
        halves), ``weight_ratio`` (mean ``|W|`` between over within after training).

    Examples
    --------
    >>> row = run_frontier_member({"rule": "bptt", "p": 1.0, "task": "retina_and", "rep": 0, "epochs": 0,
    ...                            "n_hidden": 8}, rng=0)
    >>> row["n_between"], row["spec_gain"]
    (16, 0.0)
    """
    p = check_member(params, ("rule", "p", "task", "rep"))
    frac = check_float(p["p"], "p", minimum=0.0, maximum=1.0)
    rep = check_int(p["rep"], "rep", minimum=0)
    base_seed = check_int(p.get("base_seed", 0), "base_seed", minimum=0)
    rng = as_rng(rng)
    task, net0 = make_condition(p["task"], rep, base_seed=base_seed, n_hidden=p.get("n_hidden", 16),
                                train_fraction=p.get("train_fraction", 0.75), n_train=p.get("n_train", 1000),
                                n_test=p.get("n_test", 500))
    if task.input_side is None or not {0, 1} <= set(np.asarray(task.input_side).tolist()):
        raise ValueError(f"task {p['task']!r} has no left/right input halves; the frontier needs them")
    mask_rng = task_rng(base_seed, {"task": p["task"], "rep": rep, "p": frac, "what": "frontier mask"})
    net = modular_network(net0, frac, task.input_side, seed=mask_rng)
    keys = set(LearningConfig.__dataclass_fields__) - {"rule"}
    res = learn(net, task, rule=p["rule"], seed=rng, **{k: p[k] for k in keys if k in p})
    n_eval = res.config.n_eval
    h = res.history
    probe_seed = int(rng.integers(2 ** 63))  # the same probes for the untrained and the trained network
    row = {"train_acc": float(h["train_acc"][-1]), "test_acc": float(h["test_acc"][-1]),
           "specialisation": specialisation(res.net, task, n_steps=n_eval, seed=probe_seed)["specialisation"],
           "spec_init": specialisation(net, task, n_steps=n_eval, seed=probe_seed)["specialisation"]}
    row["spec_gain"] = row["specialisation"] - row["spec_init"]
    row.update(_structure(res.net))
    return row


def local_frontier(df: pd.DataFrame, *, baseline: str = "bptt", level: float = 0.5, measure: str = "specialisation",
                   seed=0) -> dict:
    """Summaries of a frontier sweep (rows of :func:`run_frontier_member` with ``rule``, ``p``, ``rep``).

    Returns
    -------
    dict
        ``summary``: per (task, rule, p) the mean, 95 % bootstrap interval and count of every
        :data:`FRONTIER_METRICS` column present; ``contrasts``: per (task, p, rule) the mean
        paired difference ``rule - baseline`` of ``measure``, ``spec_gain`` and ``test_acc``
        over replicates, its interval, a sign-flip p and Holm's p over every (task, p, rule) of
        the same metric (one family per metric); ``crossing``: per (task, rule) the largest ``p`` at which the
        mean ``measure`` still reaches ``level`` (:func:`~mesoscale.training.link.crossing_point`,
        NaN if it never does), with a bootstrap interval.

    Examples
    --------
    >>> df = pd.DataFrame({"task": "t", "rule": ["eqprop", "bptt"] * 4, "p": [1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1],
    ...                    "rep": [0, 0, 1, 1, 0, 0, 1, 1], "specialisation": [0.2, 0.1, 0.3, 0.1, 0.9, 0.6, 0.8, 0.7],
    ...                    "spec_gain": 0.0, "test_acc": 0.9})
    >>> out = local_frontier(df, seed=0)
    >>> out["contrasts"].query("metric == 'specialisation'")["diff"].round(2).tolist()
    [0.2, 0.15]
    """
    from ..training.link import crossing_point

    for c in ("task", "rule", "p", "rep", measure):
        if c not in df.columns:
            raise ValueError(f"'df' lacks column {c!r}")
    if baseline not in set(df["rule"]):
        raise ValueError(f"'baseline' {baseline!r} is not among the rules {sorted(set(df['rule']))}")
    rng = as_rng(seed)
    metrics = [m for m in dict.fromkeys((measure, *FRONTIER_METRICS)) if m in df.columns]
    rows = []
    for (task, rule, pv), g in df.groupby(["task", "rule", "p"], sort=True):
        row = {"task": task, "rule": rule, "p": pv, "n": len(g)}
        for m in metrics:
            v = g[m].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            lo, hi = bootstrap_ci(v, seed=rng)
            row.update({m: float(v.mean()) if len(v) else np.nan, f"{m}_lo": lo, f"{m}_hi": hi})
        for extra in ("p_ratio", "q_planted", "n_between"):
            if extra in g:
                row[extra] = float(g[extra].mean())
        rows.append(row)
    summary = pd.DataFrame(rows)
    cons = []
    for m in [c for c in dict.fromkeys((measure, "spec_gain", "test_acc")) if c in df.columns]:
        wide = df.pivot_table(index=["task", "p", "rep"], columns="rule", values=m)
        for (task, pv), g in wide.groupby(level=["task", "p"], sort=True):
            for rule in [r for r in wide.columns if r != baseline]:
                d = (g[rule] - g[baseline]).to_numpy(dtype=float)
                d = d[np.isfinite(d)]
                lo, hi = bootstrap_ci(d, seed=rng)
                cons.append({"task": task, "p": pv, "rule": rule, "metric": m,
                             "diff": float(d.mean()) if len(d) else np.nan, "lo": lo, "hi": hi, "n": len(d),
                             "p_value": sign_flip_p(d, seed=rng)})
    contrasts = pd.DataFrame(cons)
    if len(contrasts):
        contrasts["p_holm"] = contrasts.groupby("metric", sort=False)["p_value"].transform(
            lambda v: adjust_pvalues(v.to_numpy(), method="holm"))
    cross = []
    for (task, rule), g in df.groupby(["task", "rule"], sort=True):
        x = "p_ratio" if "p_ratio" in g else "p"
        c = crossing_point(g.assign(_cond=g["p"].astype(str)), x, measure, level, group="_cond", seed=rng)
        cross.append({"task": task, "rule": rule, "level": level, "p_star": c["x_star"], "lo": c["lo"],
                      "hi": c["hi"], "n_seeds": c["n_seeds"]})
    return {"summary": summary, "contrasts": contrasts, "crossing": pd.DataFrame(cross)}


def local_frontier_statements(result: dict, *, baseline: str = "bptt", measure: str = "specialisation",
                              alpha: float = 0.05) -> list[str]:
    """Findings of :func:`local_frontier` as Markdown sentences, every number taken from ``result``.

    Examples
    --------
    >>> df = pd.DataFrame({"task": "t", "rule": ["eqprop", "bptt"] * 4, "p": [1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1],
    ...                    "rep": [0, 0, 1, 1, 0, 0, 1, 1], "specialisation": [0.2, 0.1, 0.3, 0.1, 0.9, 0.6, 0.8, 0.7],
    ...                    "spec_gain": 0.0, "test_acc": 0.9})
    >>> print(local_frontier_statements(local_frontier(df, seed=0))[0][:60])
    **Local rules on the frontier (t).** Specialisation of the t
    """
    alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0)
    s, c, x = result["summary"], result["contrasts"], result["crossing"]
    out = []
    for task, g in s.groupby("task", sort=True):
        parts = []
        for rule, r in g.groupby("rule", sort=False):
            r = r.sort_values("p")
            lo, hi = r.iloc[0], r.iloc[-1]
            parts.append(f"{rule} {hi[measure]:.2f} [{hi[f'{measure}_lo']:.2f}, {hi[f'{measure}_hi']:.2f}] at "
                         f"p = {hi['p']:.3g} and {lo[measure]:.2f} [{lo[f'{measure}_lo']:.2f}, "
                         f"{lo[f'{measure}_hi']:.2f}] at p = {lo['p']:.3g}")
        n = int(g["n"].min())
        cr = x[x.task == task]
        p_max = float(g["p"].max())

        def _star(r):
            if not np.isfinite(r.p_star):
                return f"{r.rule} never reaches it"
            if r.p_star >= p_max:
                return f"{r.rule} stays above it at every p"
            return f"{r.rule} p* = {r.p_star:.3g} [{r.lo:.3g}, {r.hi:.3g}]"

        star = "; ".join(_star(r) for r in cr.itertuples())
        level = float(cr["level"].iloc[0]) if len(cr) else float("nan")
        out.append(f"**Local rules on the frontier ({task}).** Specialisation of the trained two-module energy "
                   f"networks (mean [95 % CI], {n} replicates per point): {'; '.join(parts)}. Largest p at which the "
                   f"mean still reaches {level:g}: {star}.")
        cc = c[(c.task == task) & (c.metric == measure)] if len(c) else c
        sig = cc[cc.p_holm < alpha] if len(cc) else cc
        if len(cc) == 0:
            continue
        if len(sig) == 0:
            span = f"{cc['diff'].min():+.2f} to {cc['diff'].max():+.2f}"
            out.append(f"**Local rule against {baseline} ({task}).** At no p does a rule's specialisation differ from "
                       f"{baseline}'s on the same masked networks after Holm correction over {len(cc)} contrasts "
                       f"(paired differences {span}); at this budget the learning rule does not move the frontier.")
        else:
            items = "; ".join(f"{r.rule} at p = {r.p:.3g}: {r.diff:+.2f} [{r.lo:+.2f}, {r.hi:+.2f}] "
                              f"(Holm p = {r.p_holm:.3g}, {'more' if r.diff > 0 else 'less'} specialised)"
                              for r in sig.itertuples())
            out.append(f"**Local rule against {baseline} ({task}).** Significant after Holm correction over "
                       f"{len(cc)} contrasts, paired by replicate: {items}.")
        gain = c[(c.task == task) & (c.metric == "spec_gain")] if len(c) else c
        acc = c[(c.task == task) & (c.metric == "test_acc")] if len(c) else c
        if len(gain) and len(acc):
            out.append(f"**What learning adds ({task}).** Specialisation gained over the untrained masked network, "
                       f"rule minus {baseline}: {gain['diff'].min():+.2f} to {gain['diff'].max():+.2f} over the p "
                       f"levels ({int((gain.p_holm < alpha).sum())} of {len(gain)} significant); test accuracy, rule "
                       f"minus {baseline}: {acc['diff'].min():+.2f} to {acc['diff'].max():+.2f} "
                       f"({int((acc.p_holm < alpha).sum())} of {len(acc)} significant).")
    return out
