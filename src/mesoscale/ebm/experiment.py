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
from ..metrics import bootstrap_ci, structural_modularity
from ..sweep import task_rng
from .analysis import lesion_accuracy, specialisation, weight_graph
from .network import layout_positions, make_network
from .rules import LEARNING_RULES
from .tasks import TASKS, load_task
from .learning import LearningConfig, learn, network_measures, output_cost

__all__ = ["make_condition", "check_member", "run_condition", "summarize", "paired_differences",
           "geometry_contrast", "sign_flip_p", "bootstrap_ci", "METRICS", "GEOMETRIES"]

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

#: Where the input units sit: under the hidden units they belong with (``aligned``, the default layout, so that a
#: left/right task matches the left/right halves of the sheet), or at a random permutation of the input slots
#: (``shuffled``, the control: a wiring cost then cannot favour the task's split by geometry alone).
GEOMETRIES = ("aligned", "shuffled")


def make_condition(task: str, rep: int, *, base_seed: int = 0, n_hidden: int = 16, train_fraction: float = 0.75,
                   switch_every: int = 10, n_train: int = 1000, n_test: int = 500, geometry: str = "aligned",
                   val_fraction: float = 0.0):
    """The task (data split) and initial network shared by every rule for one replicate.

    Both depend only on ``base_seed``, ``task`` and ``rep``, never on the rule or the cost. With
    ``geometry="shuffled"`` the input units are moved to a random permutation of the input
    positions (drawn from the replicate's own stream); weights, data and every other stream are
    those of the aligned replicate. ``val_fraction`` > 0 moves that fraction of the patterns from the
    training part into a validation split (:func:`~mesoscale.ebm.tasks.load_task`; same test patterns).

    Returns
    -------
    (EBMTask, EnergyNetwork)

    Examples
    --------
    >>> t, net = make_condition("retina_and", 0)
    >>> t2, net2 = make_condition("retina_and", 0)
    >>> bool((net.W == net2.W).all()), net.n_hidden
    (True, 16)
    >>> _, shuffled = make_condition("retina_and", 0, geometry="shuffled")
    >>> bool((shuffled.W == net.W).all()), bool((shuffled.positions != net.positions).any())
    (True, True)
    >>> tv, _ = make_condition("retina_and", 0, val_fraction=0.125)
    >>> bool((tv.x_test == t.x_test).all()), tv.n_val, len(tv.x_train) + tv.n_val == len(t.x_train)
    (True, 32, True)
    """
    if geometry not in GEOMETRIES:
        raise ValueError(f"'geometry' must be one of {list(GEOMETRIES)}; got {geometry!r}")
    if task not in TASKS:
        raise ValueError(f"'task' must be one of {list(TASKS)}; got {task!r}")
    rep = check_int(rep, "rep", minimum=0)
    base_seed = check_int(base_seed, "base_seed", minimum=0)
    n_hidden = check_int(n_hidden, "n_hidden", minimum=1)
    # the sweep's stream of the parameters (task, rep): the same for every rule and cost
    s_task, s_net = spawn_rngs(task_rng(base_seed, {"task": task, "rep": rep}), 2)
    data = load_task(task, seed=s_task, train_fraction=train_fraction, switch_every=switch_every, n_train=n_train,
                     n_test=n_test, val_fraction=val_fraction)
    pos = None
    if geometry == "shuffled":
        g = task_rng(base_seed, {"task": task, "rep": rep, "geometry": geometry})
        pos = layout_positions(data.n_in, n_hidden, data.n_out)
        pos[: data.n_in] = pos[g.permutation(data.n_in)]
    return data, make_network(data.n_in, n_hidden, data.n_out, seed=s_net, positions=pos)


def check_member(params: dict, required) -> dict:
    """A copy of a sweep member's ``params`` with its ``required`` keys present and a known ``rule`` and ``task``.

    Examples
    --------
    >>> check_member({"rule": "chl", "task": "retina_and", "rep": 0}, ("rule", "task", "rep"))["rule"]
    'chl'
    >>> check_member({"rule": "chl"}, ("rule", "rep"))
    Traceback (most recent call last):
    ValueError: 'params' must contain 'rep'; got keys ['rule']
    """
    p = dict(params)
    for key in required:
        if key not in p:
            raise ValueError(f"'params' must contain {key!r}; got keys {sorted(p)}")
    if "rule" in p and p["rule"] not in LEARNING_RULES:
        raise ValueError(f"'rule' must be one of {list(LEARNING_RULES)}; got {p['rule']!r}")
    if "task" in p and p["task"] not in TASKS:
        raise ValueError(f"'task' must be one of {list(TASKS)}; got {p['task']!r}")
    return p


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
        ``n_train``/``n_test`` (two-digit tasks), ``geometry`` (:data:`GEOMETRIES`, ``"aligned"``),
        ``patience`` (None: fixed ``epochs``; otherwise the validation stopping rule of
        :func:`~mesoscale.ebm.learn` with ``epochs`` as the cap), ``min_delta`` (0), ``val_fraction``
        (0.125 of the patterns as the validation split; used only with ``patience``, so that without
        it the training patterns are those of a run without the rule).
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
        ``curve_test_acc`` (learning curve, as lists); ``best_epoch`` (epoch of the returned
        weights; NaN with fixed epochs), ``epochs_run``, ``cap_reached`` (True when the cap, not
        the rule, ended training) and ``val_loss`` (best validation loss; NaN with fixed epochs).
        With the rule, accuracies, ``loss`` (mean output cost on the training patterns),
        ``density`` and ``wiring`` are those of the restored best network.

    Examples
    --------
    >>> row = run_condition({"rule": "chl", "cost": 0.0, "task": "retina_or", "rep": 0,
    ...                      "epochs": 1, "n_null": 2, "n_lesion_draws": 1}, rng=0)
    >>> sorted(k for k in row if k.startswith("q")), row["epochs_run"], row["cap_reached"]
    (['q'], 1, True)
    >>> row = run_condition({"rule": "chl", "cost": 0.0, "task": "retina_or", "rep": 0, "epochs": 30, "lr": 0.0,
    ...                      "patience": 2, "eval_every": 1, "n_null": 2, "n_lesion_draws": 1}, rng=0)
    >>> row["best_epoch"], row["epochs_run"], row["cap_reached"]
    (0, 2, False)
    """
    p = check_member(params, ("rule", "cost", "task", "rep"))
    cost = check_float(p["cost"], "cost", minimum=0.0)
    rep = check_int(p["rep"], "rep", minimum=0)
    base_seed = check_int(p.get("base_seed", 0), "base_seed", minimum=0)
    rng = as_rng(rng)
    stopping = p.get("patience") is not None
    val_fraction = check_float(p.get("val_fraction", 0.125), "val_fraction", minimum=0.0, maximum=1.0)
    task, net0 = make_condition(p["task"], rep, base_seed=base_seed, n_hidden=p.get("n_hidden", 16),
                                train_fraction=p.get("train_fraction", 0.75),
                                switch_every=p.get("switch_every", 10), n_train=p.get("n_train", 1000),
                                n_test=p.get("n_test", 500), geometry=p.get("geometry", "aligned"),
                                val_fraction=val_fraction if stopping else 0.0)
    cfg_keys = set(LearningConfig.__dataclass_fields__) - {"rule", "wiring_strength"}
    overrides = {k: p[k] for k in cfg_keys if k in p}
    res = learn(net0, task, rule=p["rule"], wiring_strength=cost, seed=rng, **overrides)
    net, h = res.net, res.history
    task = task.with_goal(res.final_goal)  # varying goals: analyse the goal trained last
    n_eval = res.config.n_eval
    if stopping:  # the restored best network, not the last epoch's
        m = network_measures(net, task, n_steps=n_eval)
        m["loss"] = output_cost(net, task.x_train, task.y_train, n_eval)
    else:
        m = {k: h[k][-1] for k in ("train_acc", "test_acc", "loss", "density", "wiring")}
    row = {k: m[k] for k in ("train_acc", "test_acc", "loss", "density", "wiring")}
    row.update(best_epoch=res.best_epoch if stopping else np.nan, epochs_run=res.epochs_run,
               cap_reached=res.cap_reached, val_loss=res.best_val_loss)
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


def summarize(df: pd.DataFrame, by=None, metrics=METRICS, *, seed=None) -> pd.DataFrame:
    """Mean, 95 % bootstrap CI and replicate count of each metric per group.

    ``by`` defaults to ``("task", "rule", "cost")``, plus ``"geometry"`` when ``df`` has it.
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
    by = list(by) if by is not None else ["task", "rule", "cost"] + (["geometry"] if "geometry" in df.columns else [])
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
    """Per (task, cost[, geometry]): mean difference ``rule - baseline`` of ``metric`` over paired replicates.

    Returns ``task``, ``cost`` (and ``geometry`` when ``df`` has it), ``rule``, ``diff``, ``lo``,
    ``hi`` (95 % bootstrap CI), ``n`` (pairs), ``frac_positive`` (fraction of pairs with a positive
    difference) and ``p`` (two-sided sign-flip permutation p, :func:`sign_flip_p`).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"task": "retina_and", "rule": ["eqprop", "bptt"] * 3, "cost": 0.0,
    ...                    "rep": [0, 0, 1, 1, 2, 2], "test_acc": [0.8, 0.7, 0.9, 0.8, 0.7, 0.7]})
    >>> d = paired_differences(df, "test_acc", seed=0)
    >>> d.rule.tolist(), round(float(d["diff"][0]), 3), int(d.n[0]), round(float(d.frac_positive[0]), 3)
    (['eqprop'], 0.067, 3, 0.667)
    """
    return _paired(df, metric, "rule", baseline, seed)


def geometry_contrast(df: pd.DataFrame, metric: str, *, seed=None) -> pd.DataFrame:
    """Per (task, cost, rule): mean difference ``shuffled - aligned`` of ``metric`` over paired replicates.

    The control of the geometry: the same replicate (weights, data, streams) with its inputs at
    shuffled positions. A structure that exists only because the task's split matches the sheet's
    halves disappears in the shuffled networks (a negative difference of ``z`` or
    ``specialisation``); one that the task builds by itself does not.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"task": "retina_and", "rule": "eqprop", "cost": 0.0, "rep": [0, 0, 1, 1],
    ...                    "geometry": ["aligned", "shuffled"] * 2, "z": [4.0, 1.0, 5.0, 2.0]})
    >>> geometry_contrast(df, "z", seed=0)[["rule", "diff", "n"]].values.tolist()
    [['eqprop', -3.0, 2]]
    """
    if "geometry" not in df.columns:
        raise ValueError("'df' lacks column 'geometry' (run the sweep over GEOMETRIES)")
    return _paired(df, metric, "geometry", "aligned", seed, keep=("rule",))


def _paired(df, metric, column, baseline, seed, keep=()):
    extra = [c for c in ("geometry",) if c in df.columns and c != column]
    index = ["task", "cost", *keep, *extra, "rep"]
    for c in (*index, column, metric):
        if c not in df.columns:
            raise ValueError(f"'df' lacks column {c!r}")
    rng = as_rng(seed)
    wide = df.pivot_table(index=index, columns=column, values=metric)
    if baseline not in wide.columns:
        raise ValueError(f"'baseline' {baseline!r} is not among the {column}s {list(wide.columns)}")
    groups = index[:-1]
    rows = []
    for key, g in wide.groupby(level=groups):
        key = key if isinstance(key, tuple) else (key,)
        for other in wide.columns:
            if other == baseline:
                continue
            d = (g[other] - g[baseline]).to_numpy(dtype=float)
            d = d[np.isfinite(d)]
            lo, hi = bootstrap_ci(d, seed=rng)
            row = dict(zip(groups, key))
            row[column] = other
            rows.append({**row, "diff": float(d.mean()) if len(d) else np.nan, "lo": lo, "hi": hi, "n": len(d),
                         "frac_positive": float((d > 0).mean()) if len(d) else np.nan, "p": sign_flip_p(d, seed=rng)})
    cols = ["task", "cost", *(["rule"] if column == "rule" else list(keep)), *extra]
    cols += [column] if column != "rule" else []
    out = pd.DataFrame(rows)
    return out[[c for c in cols if c in out.columns] + ["diff", "lo", "hi", "n", "frac_positive", "p"]] if len(out) else out


def sign_flip_p(d, *, n_flips: int = 5000, seed=None) -> float:
    """Two-sided sign-flip permutation p-value of a mean paired difference (exact for up to 12 pairs).

    Examples
    --------
    >>> round(sign_flip_p([0.5, 0.6, 0.4, 0.7, 0.5, 0.6]), 4)   # all 2**6 sign patterns: 2/64
    0.0312
    >>> sign_flip_p([0.1, -0.1])
    1.0
    """
    d = np.asarray(d, float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return np.nan
    obs = abs(d.mean())
    if d.size <= 12:
        signs = 1 - 2 * ((np.arange(2 ** d.size)[:, None] >> np.arange(d.size)) & 1)
        return float(np.mean(np.abs((signs * d).mean(axis=1)) >= obs - 1e-12))
    rng = as_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(n_flips, d.size))
    return float((1 + np.sum(np.abs((signs * d).mean(axis=1)) >= obs - 1e-12)) / (1 + n_flips))
