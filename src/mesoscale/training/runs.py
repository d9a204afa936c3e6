"""Train many conditions x seeds as batched ensembles, resumably, into an on-disk store.

:func:`train_members` is the engine of the specialisation chapters. Every *member* -- one condition
(:class:`~mesoscale.training.experiments.Condition`) with one seed -- has a key: the hash
(:func:`mesoscale.sweep.task_key`) of the condition, the seed and everything else that shapes its
result (network size, training settings, the task's configuration). Members whose key is in the
store are read back, not recomputed; the missing ones are grouped by what an ensemble must share
(layout, regulariser kind, BIMT swaps, pruning) and each group is trained as *one* batched ensemble
(:func:`mesoscale.training.train`), each member with its own mask draw and initial weights.

Because all members see the same minibatch stream and are otherwise independent, a member's
result does not depend on which group it was trained in: adding seeds or conditions later only
trains the new members.

Store layout (all writes atomic)::

    STORE/members/<group>.parquet   one row per member (key, condition, seed, training, evaluation)
    STORE/models/<group>.pt         the trained ensemble's state and its member keys
    STORE/ckpt/<group>[-ft].pt      training checkpoints (resumed exactly after an interruption)

Examples
--------
>>> from mesoscale.training import Condition, PairedDigits
>>> task = PairedDigits(seed=0)
>>> conds = [Condition("dense"), Condition("planted", options={"p": 0.1})]
>>> df = train_members(conds, task, seeds=[0, 1], n_hidden=8, steps=2, batch_size=8, progress=False)
>>> df[["condition", "seed"]].values.tolist()
[['dense', 0], ['dense', 1], ['planted', 0], ['planted', 1]]
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .._validation import check_float, check_int, seed_sequence
from .experiments import Condition, build_model, condition_layout
from .loop import train
from .models import SpatialRNN
from .priors import inter_module_ratio, mask_density

__all__ = ["member_key", "prune_to_density", "train_members", "load_members"]


def _canonical(obj):
    """JSON-able form of condition options (slices become [start, stop, step])."""
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items())}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, slice):
        return ["slice", obj.start, obj.stop, obj.step]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def _condition_record(cond: Condition) -> dict:
    return {"prior": cond.prior, "regularizer": cond.regularizer, "strength": float(cond.strength),
            "name": cond.name, "options": _canonical(cond.options)}


def member_key(cond: Condition, seed: int, context: dict) -> str:
    """The store key of one member: a hash of its condition, its seed and the run's ``context``.

    Examples
    --------
    >>> a = member_key(Condition("dense"), 0, {"steps": 10})
    >>> a == member_key(Condition("dense"), 0, {"steps": 10}) != member_key(Condition("dense"), 1, {"steps": 10})
    True
    """
    from ..sweep import task_key

    return task_key({"condition": _condition_record(cond), "seed": int(seed), "context": _canonical(context)})


@torch.no_grad()
def prune_to_density(model, density: float) -> None:
    """Keep each member's strongest recurrent connections (by ``|w|``) at ``density``; fix the rest at zero.

    The mask buffer is replaced, so the pruned connections stay exactly zero in later training.

    Examples
    --------
    >>> net = SpatialRNN(2, 10, 2, n_members=2, seed=[0, 1])
    >>> prune_to_density(net, 0.2)
    >>> [round(mask_density(m), 2) for m in net.mask.numpy()], bool((net.effective_weights() != 0).sum() == 36)
    ([0.2, 0.2], True)
    """
    density = check_float(density, "density", minimum=0.0, maximum=1.0)
    W = model.effective_weights().abs()
    K, n, _ = W.shape
    keep = int(round(density * n * (n - 1)))
    off = ~torch.eye(n, dtype=torch.bool, device=W.device)
    new = torch.zeros_like(model.mask)
    for k in range(K):
        w = torch.where(off & (model.mask[k] > 0), W[k], torch.full_like(W[k], -1.0)).reshape(-1)
        order = torch.argsort(w, descending=True, stable=True)[:keep]
        new[k].view(-1)[order] = 1.0
    model.mask.copy_(new)
    model.enforce_masks()


def _save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(obj, pd.DataFrame):
        obj.to_parquet(tmp, index=False)
    else:
        torch.save(obj, tmp)
    os.replace(tmp, path)


def load_members(store) -> pd.DataFrame:
    """Every member row in a store (empty table if there is none).

    Examples
    --------
    >>> load_members("/nonexistent").empty
    True
    """
    d = Path(store) / "members"
    files = sorted(d.glob("*.parquet")) if d.is_dir() else []
    if not files:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True).drop_duplicates("key")


def _group_of(cond: Condition) -> tuple:
    o = cond.options
    return (cond.layout, cond.regularizer, int(o.get("swap_every", 0)), o.get("prune_density"))


def train_members(conditions, task, *, seeds, n_hidden: int = 50, steps: int = 1000, batch_size: int = 128,
                  lr: float = 3e-3, patience: int | None = None, eval_every: int = 100, val_task=None,
                  finetune_steps: int = 0, module_readouts: bool = False, input_groups=None, rnn_kwargs=None,
                  evaluate=None,
                  context=None, store=None, seed: int = 0, device="auto", progress: bool = True) -> pd.DataFrame:
    """Train every condition with every seed (missing members only), evaluate them and store the rows.

    Parameters
    ----------
    conditions : sequence of Condition
        Distinct names.
    task : Task
        Training task (its ``repr``-independent configuration goes into ``context``; pass what identifies
        it there, e.g. its parameters).
    seeds : sequence of int
        Member seeds: seed ``s`` of every condition starts from the same initial weights where the
        shapes agree (a paired design); its mask draw is its own (keyed by condition and seed).
    n_hidden : int
        Units of grid layouts (connectome layouts have their neuron count).
    steps, batch_size, lr, patience, eval_every, val_task
        Training (:func:`~mesoscale.training.train`; ``patience`` stops members early and restores
        their best validation weights).
    finetune_steps : int
        Steps of training after pruning, for conditions with ``prune_density``.
    module_readouts : bool
        Béna & Goodman's module readouts (:class:`~mesoscale.training.SpatialRNN` ``readout_groups``).
    input_groups : sequence of slices, optional
        Input columns of each module (e.g. ``task.modality_slices``: each module reads its own stream);
        default: the conditions' own ``input_groups`` option, else every unit reads every input.
    evaluate : callable, optional
        ``evaluate(model, info) -> DataFrame`` with one row per member of the ensemble ``model``
        (``info`` holds the members' rows so far: condition, seed, labels...).
    context : dict, optional
        Anything else that should change the keys (e.g. the task's and evaluation's parameters).
    store : path, optional
        Directory of the store (created); ``None`` keeps everything in memory.
    seed : int
        Root of the training data stream (shared by all members) and of the mask draws.

    Returns
    -------
    DataFrame, one row per (condition, seed) in the order given: ``key, condition, prior, regularizer,
    strength, seed, n_units, mask_density, p_ratio, steps_done, best_step, cpu_s`` and the columns of
    ``evaluate``.

    Examples
    --------
    >>> import tempfile
    >>> from mesoscale.training import PairedDigits
    >>> store, task = tempfile.mkdtemp(), PairedDigits(seed=0)
    >>> kw = dict(n_hidden=8, steps=2, batch_size=8, store=store, progress=False)
    >>> a = train_members([Condition("random", options={"density": 0.5})], task, seeds=[0, 1], **kw)
    >>> b = train_members([Condition("random", options={"density": 0.5})], task, seeds=[0, 1, 2], **kw)  # trains seed 2 only
    >>> a.mask_density.round(2).tolist(), b.key[:2].tolist() == a.key.tolist(), len(load_members(store))
    ([0.5, 0.5], True, 3)
    """
    conditions = list(conditions)
    names = [c.name for c in conditions]
    if len(set(names)) != len(names):
        raise ValueError(f"'conditions' must have distinct names; got {names}")
    seeds = [check_int(s, "seeds", minimum=0) for s in seeds]
    if not seeds:
        raise ValueError("'seeds' must name at least one seed")
    steps = check_int(steps, "steps", minimum=0)
    finetune_steps = check_int(finetune_steps, "finetune_steps", minimum=0)
    ctx = {"n_hidden": int(n_hidden), "steps": steps, "batch_size": int(batch_size), "lr": float(lr),
           "patience": patience, "eval_every": int(eval_every), "finetune_steps": finetune_steps,
           "module_readouts": bool(module_readouts), "input_groups": _canonical(input_groups),
           "rnn_kwargs": _canonical(rnn_kwargs or {}), "seed": int(seed),
           "user": _canonical(context or {})}
    from .experiments import condition_mask

    for c in conditions:  # a condition that cannot be built fails here, before anything is trained
        condition_mask(c, n_hidden, seed=0)
    root = Path(store) if store is not None else None
    if root is not None:
        for sub in ("members", "models", "ckpt"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        manifest = root / "manifest.json"
        if not manifest.exists():
            manifest.write_text(json.dumps({"context": ctx}, indent=1, default=str))
    done = load_members(root) if root is not None else pd.DataFrame()
    have = set(done["key"]) if not done.empty else set()
    todo: dict[tuple, list] = {}
    keys = {}
    for c in conditions:
        for s in seeds:
            k = member_key(c, s, ctx)
            keys[(c.name, s)] = k
            if k not in have:
                todo.setdefault(_group_of(c), []).append((c, s, k))
    from tqdm.auto import tqdm

    new_rows = []
    for g, members in tqdm(list(todo.items()), desc="ensembles", disable=not progress):
        new_rows.append(_train_group(members, task, n_hidden=n_hidden, steps=steps, batch_size=batch_size, lr=lr,
                                     patience=patience, eval_every=eval_every, val_task=val_task,
                                     finetune_steps=finetune_steps, module_readouts=module_readouts,
                                     input_groups=input_groups,
                                     rnn_kwargs=rnn_kwargs or {}, evaluate=evaluate, root=root, seed=seed,
                                     device=device))
    allrows = pd.concat([done, *new_rows], ignore_index=True) if new_rows or not done.empty else pd.DataFrame()
    order = [keys[(c.name, s)] for c in conditions for s in seeds]
    return allrows.set_index("key").loc[order].reset_index()


def _train_group(members, task, *, n_hidden, steps, batch_size, lr, patience, eval_every, val_task, finetune_steps,
                 module_readouts, input_groups, rnn_kwargs, evaluate, root, seed, device) -> pd.DataFrame:
    from ..sweep import task_key

    gkey = task_key({"members": [k for _, _, k in members]})[:24]
    first = members[0][0]
    rnn = {"alpha": 1.0, "activation": "tanh", **rnn_kwargs}
    singles = []
    for c, s, k in members:
        mseed = np.random.SeedSequence([int(seed), *[int(k[i:i + 8], 16) for i in range(0, 32, 8)]])
        singles.append(build_model(c, task.n_input, task.n_output, n_hidden, [s], mask_seeds=[mseed],
                                   module_readouts=module_readouts, input_groups=input_groups, **rnn))
    model = SpatialRNN.stack(singles)
    _, labels, _ = condition_layout(first, n_hidden)
    from .regularizers import Regularizer

    reg = Regularizer(first.regularizer, [float(c.strength) for c, _, _ in members],
                      swap_every=int(first.options.get("swap_every", 0)))
    mfile = root / "models" / f"{gkey}.pt" if root is not None else None
    t0 = time.process_time()
    train_seed = seed_sequence(int(seed), 1)
    if mfile is not None and mfile.exists():
        state = torch.load(mfile, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        steps_done, best_step, cpu = state["steps_done"], state["best_step"], state["cpu_s"]
    else:
        ck = root / "ckpt" / f"{gkey}.pt" if root is not None else None
        res = train(model, task, steps=steps, batch_size=batch_size, lr=lr, regularizer=reg, val_task=val_task,
                    eval_every=eval_every, patience=patience, checkpoint=ck, seed=train_seed, progress=False,
                    device=device)
        model, steps_done, best_step = res.model, res.steps_done, res.best_step
        prune = first.options.get("prune_density")
        if prune is not None:
            prune_to_density(model, float(prune))
            if finetune_steps:
                ck2 = root / "ckpt" / f"{gkey}-ft.pt" if root is not None else None
                res2 = train(model, task, steps=finetune_steps, batch_size=batch_size, lr=lr, val_task=val_task,
                             eval_every=eval_every, patience=patience, checkpoint=ck2,
                             seed=seed_sequence(int(seed), 2), progress=False, device=device)
                model = res2.model
                steps_done = steps_done + res2.steps_done
        model = model.cpu()
        cpu = time.process_time() - t0
        if mfile is not None:
            _save({"model": model.state_dict(), "keys": [k for _, _, k in members], "steps_done": steps_done,
                   "best_step": np.asarray(best_step), "cpu_s": cpu}, mfile)
    masks = model.mask.cpu().numpy() != 0
    rows = pd.DataFrame([{
        "key": k, "condition": c.name, "prior": c.prior, "regularizer": c.regularizer, "strength": float(c.strength),
        "seed": int(s), "n_units": int(model.n_hidden), "mask_density": mask_density(masks[i]),
        "p_ratio": inter_module_ratio(masks[i], labels), "steps_done": int(steps_done),
        "best_step": int(np.asarray(best_step)[i]), "cpu_s": cpu / len(members),
    } for i, (c, s, k) in enumerate(members)])
    if evaluate is not None:
        ev = evaluate(model, rows.assign(labels=[labels.tolist()] * len(rows)))
        if len(ev) != len(rows):
            raise ValueError(f"'evaluate' must return one row per member ({len(rows)}); got {len(ev)}")
        rows = pd.concat([rows, ev.reset_index(drop=True).drop(columns=[c for c in ev.columns if c in rows.columns])],
                         axis=1)
    if root is not None:
        _save(rows, root / "members" / f"{gkey}.parquet")
        for suffix in ("", "-ft"):
            (root / "ckpt" / f"{gkey}{suffix}.pt").unlink(missing_ok=True)
    return rows
