"""The learning rule x wiring cost x task experiment of the local-learning chapter.

:func:`run_condition` trains one network and measures everything the chapter reports;
it has the ``fn(params, rng)`` signature of :func:`mesoscale.sweep.run_sweep`, so a grid
runs in-process, on a local Dask cluster or on SLURM with the same results and a
persistent, resumable store. :func:`summarize` turns the rows into means with bootstrap
confidence intervals; :func:`paired_differences` compares rules on the *same* initial
network and data split.

Pairing: the initial network and the train/test split depend only on ``base_seed``, the
task and ``rep`` (not on the rule or the cost), so every rule starts from identical
weights and sees identical data; the training order and the analysis (Louvain, nulls,
lesions) use the task's own stream.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import as_rng, check_float, check_int, spawn_rngs
from ..metrics import structural_modularity
from ..sweep import task_rng
from .analysis import lesion_accuracy, specialisation, weight_graph
from .network import make_network
from .rules import LEARNING_RULES
from .tasks import TASKS, load_task
from .learning import LearningConfig, learn

__all__ = ["make_condition", "run_condition", "summarize", "paired_differences", "bootstrap_ci", "METRICS"]

#: Columns of :func:`run_condition` that :func:`summarize` aggregates.
METRICS = (
    "train_acc",
    "test_acc",
    "q",
    "z",
    "percentile",
    "specialisation",
    "lesion_acc",
    "lesion_retained",
    "density",
    "wiring",
)

def make_condition(task: str, rep: int, *, base_seed: int = 0, n_hidden: int = 16, train_fraction: float = 0.75,
                   switch_every: int = 10, n_train: int = 1000, n_test: int = 500):
    """The task (data split) and initial network shared by every rule for one replicate.

    Both depend only on ``base_seed``, ``task`` and ``rep``, never on the rule or the cost.

    Returns
    -------
    (EBMTask, EnergyNetwork)

    Examples
    --------
    >>> t, net = make_condition("retina_and", 0)
    >>> t2, net2 = make_condition("retina_and", 0)
    >>> bool((net.W == net2.W).all()), net.n_hidden
    (True, 16)
    """
    if task not in TASKS:
        raise ValueError(f"'task' must be one of {list(TASKS)}; got {task!r}")
    rep = check_int(rep, "rep", minimum=0)
    base_seed = check_int(base_seed, "base_seed", minimum=0)
    n_hidden = check_int(n_hidden, "n_hidden", minimum=1)
    # the sweep's stream of the parameters (task, rep): the same for every rule and cost
    s_task, s_net = spawn_rngs(task_rng(base_seed, {"task": task, "rep": rep}), 2)
    data = load_task(task, seed=s_task, train_fraction=train_fraction, switch_every=switch_every, n_train=n_train,
                     n_test=n_test)
    return data, make_network(data.n_in, n_hidden, data.n_out, seed=s_net)


def run_condition(params: dict, rng=None) -> dict:
    """Train one network for one (rule, cost, task, rep) and measure it.

    Parameters
    ----------
    params : dict
        Required: ``rule`` (one of :data:`~mesoscale.ebm.rules.LEARNING_RULES`), ``cost`` (wiring
        cost strength >= 0), ``task`` (one of :data:`~mesoscale.ebm.tasks.TASKS`), ``rep``
        (replicate index). Optional: ``base_seed`` (0), ``n_hidden`` (16), ``epochs``,
        ``lr``, ``batch_size``, ``beta``, ``n_free``, ``n_nudged``, ``momentum``,
        ``wiring_kind`` (see :class:`~mesoscale.ebm.learning.LearningConfig`), ``n_null`` (30),
        ``n_runs`` (5), ``lesion_fraction`` (0.25), ``n_lesion_draws`` (10),
        ``train_fraction`` (retina tasks, 0.75), ``switch_every`` (``retina_mvg``, 10),
        ``n_train``/``n_test`` (two-digit tasks).
    rng : numpy Generator, int or None
        The task's own stream (training order, Louvain, nulls, lesions).

    Returns
    -------
    dict
        ``train_acc``, ``test_acc``, ``loss``; ``q``, ``null_mean``, ``null_sd``, ``z``,
        ``percentile``, ``n_null`` (structural modularity of ``|W|`` against the
        architecture-matched null); ``specialisation``; ``lesion_acc`` (test accuracy with
        ``lesion_fraction`` of the hidden units silenced) and ``lesion_retained`` (its
        ratio to the intact accuracy); ``density``, ``wiring``; ``curve_epoch``,
        ``curve_test_acc`` (learning curve, as lists).

    Examples
    --------
    >>> row = run_condition({"rule": "chl", "cost": 0.0, "task": "retina_or", "rep": 0,
    ...                      "epochs": 1, "n_null": 2, "n_lesion_draws": 1}, rng=0)
    >>> sorted(k for k in row if k.startswith("q"))
    ['q']
    """
    p = dict(params)
    for key in ("rule", "cost", "task", "rep"):
        if key not in p:
            raise ValueError(f"'params' must contain {key!r}; got keys {sorted(p)}")
    if p["rule"] not in LEARNING_RULES:
        raise ValueError(f"'rule' must be one of {list(LEARNING_RULES)}; got {p['rule']!r}")
    if p["task"] not in TASKS:
        raise ValueError(f"'task' must be one of {list(TASKS)}; got {p['task']!r}")
    cost = check_float(p["cost"], "cost", minimum=0.0)
    rep = check_int(p["rep"], "rep", minimum=0)
    base_seed = check_int(p.get("base_seed", 0), "base_seed", minimum=0)
    rng = as_rng(rng)
    task, net0 = make_condition(p["task"], rep, base_seed=base_seed, n_hidden=p.get("n_hidden", 16),
                                train_fraction=p.get("train_fraction", 0.75),
                                switch_every=p.get("switch_every", 10), n_train=p.get("n_train", 1000),
                                n_test=p.get("n_test", 500))
    cfg_keys = set(LearningConfig.__dataclass_fields__) - {"rule", "wiring_strength"}
    overrides = {k: p[k] for k in cfg_keys if k in p}
    res = learn(net0, task, rule=p["rule"], wiring_strength=cost, seed=rng, **overrides)
    net, h = res.net, res.history
    task = task.with_goal(res.final_goal)  # varying goals: analyse the goal trained last
    n_eval = res.config.n_eval
    row = {
        "train_acc": h["train_acc"][-1],
        "test_acc": h["test_acc"][-1],
        "loss": h["loss"][-1],
        "density": h["density"][-1],
        "wiring": h["wiring"][-1],
    }
    if np.any(net.W.detach().numpy() != 0):
        A, allowed = weight_graph(net)
        mod = structural_modularity(A, null="weights", allowed=allowed, n_null=int(p.get("n_null", 30)),
                                    n_runs=int(p.get("n_runs", 5)), seed=rng)
        row.update(mod.as_dict())
    else:  # every synapse pruned: no graph to analyse
        row.update(q=np.nan, null_mean=np.nan, null_sd=np.nan, z=np.nan, percentile=np.nan,
                   n_null=int(p.get("n_null", 30)))
    row["specialisation"] = specialisation(net, task, n_steps=n_eval, seed=rng)["specialisation"]
    frac = check_float(p.get("lesion_fraction", 0.25), "lesion_fraction", minimum=0.0, maximum=1.0)
    les = lesion_accuracy(net, task, (frac,), n_draws=int(p.get("n_lesion_draws", 10)), n_steps=n_eval, seed=rng)
    row["lesion_acc"] = float(les["accuracy"][0])
    row["lesion_retained"] = row["lesion_acc"] / row["test_acc"] if row["test_acc"] > 0 else np.nan
    row["curve_epoch"] = list(h["epoch"])
    row["curve_test_acc"] = list(h["test_acc"])
    return row


def bootstrap_ci(values, *, level: float = 0.95, n_boot: int = 2000, seed=None) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean (NaNs dropped).

    Examples
    --------
    >>> lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 4.0], seed=0)
    >>> lo <= 2.5 <= hi
    True
    """
    level = check_float(level, "level", minimum=0.0, maximum=1.0)
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (np.nan, np.nan)
    if len(v) == 1:
        return (float(v[0]), float(v[0]))
    rng = as_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def summarize(df: pd.DataFrame, by=("task", "rule", "cost"), metrics=METRICS, *, seed=None) -> pd.DataFrame:
    """Mean, 95 % bootstrap CI and replicate count of each metric per group.

    Returns a long table: ``by`` columns, ``metric``, ``mean``, ``lo``, ``hi``, ``n``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"task": "retina_and", "rule": ["eqprop", "bptt"] * 3, "cost": 0.0,
    ...                    "rep": [0, 0, 1, 1, 2, 2], "test_acc": [0.8, 0.7, 0.9, 0.8, 0.7, 0.7]})
    >>> s = summarize(df, metrics=["test_acc"], seed=0)
    >>> s[["rule", "metric", "n"]].values.tolist(), s["mean"].round(3).tolist()
    ([['bptt', 'test_acc', 3], ['eqprop', 'test_acc', 3]], [0.733, 0.8])
    """
    by = list(by)
    missing = [c for c in by + list(metrics) if c not in df.columns]
    if missing:
        raise ValueError(f"'df' lacks columns {missing}")
    rows = []
    rng = as_rng(seed)
    for key, g in df.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        for m in metrics:
            v = g[m].to_numpy(dtype=float)
            lo, hi = bootstrap_ci(v, seed=rng)
            rows.append({**dict(zip(by, key)), "metric": m, "mean": float(np.nanmean(v)) if np.isfinite(v).any() else np.nan,
                         "lo": lo, "hi": hi, "n": int(np.isfinite(v).sum())})
    return pd.DataFrame(rows)


def paired_differences(df: pd.DataFrame, metric: str, *, baseline: str = "bptt", seed=None) -> pd.DataFrame:
    """Per (task, cost): mean difference ``rule - baseline`` of ``metric`` over paired replicates.

    Returns ``task``, ``cost``, ``rule``, ``diff``, ``lo``, ``hi`` (95 % bootstrap CI),
    ``n`` (pairs), ``frac_positive`` (fraction of pairs with a positive difference).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"task": "retina_and", "rule": ["eqprop", "bptt"] * 3, "cost": 0.0,
    ...                    "rep": [0, 0, 1, 1, 2, 2], "test_acc": [0.8, 0.7, 0.9, 0.8, 0.7, 0.7]})
    >>> d = paired_differences(df, "test_acc", seed=0)
    >>> d.rule.tolist(), round(float(d["diff"][0]), 3), int(d.n[0]), round(float(d.frac_positive[0]), 3)
    (['eqprop'], 0.067, 3, 0.667)
    """
    for c in ("task", "cost", "rule", "rep", metric):
        if c not in df.columns:
            raise ValueError(f"'df' lacks column {c!r}")
    rng = as_rng(seed)
    wide = df.pivot_table(index=["task", "cost", "rep"], columns="rule", values=metric)
    if baseline not in wide.columns:
        raise ValueError(f"'baseline' {baseline!r} is not among the rules {list(wide.columns)}")
    rows = []
    for (task, cost), g in wide.groupby(level=["task", "cost"]):
        for rule in wide.columns:
            if rule == baseline:
                continue
            d = (g[rule] - g[baseline]).to_numpy(dtype=float)
            d = d[np.isfinite(d)]
            lo, hi = bootstrap_ci(d, seed=rng)
            rows.append({"task": task, "cost": cost, "rule": rule, "diff": float(d.mean()) if len(d) else np.nan,
                         "lo": lo, "hi": hi, "n": len(d), "frac_positive": float((d > 0).mean()) if len(d) else np.nan})
    return pd.DataFrame(rows)
