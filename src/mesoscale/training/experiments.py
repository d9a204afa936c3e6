"""Conditions of the training chapters: a wiring prior plus a regulariser, trained as one ensemble of seeds.

A :class:`Condition` names a recurrent mask (``dense``, ``sbm`` planted modules, ``generative``,
``connectome``) and a regulariser; :func:`run_conditions` trains ``n_seeds`` networks per condition (one
batched ensemble each) and returns the trained models with a tidy summary (accuracy, sparsity). The
chapters then call the evaluation functions on these models.

Examples
--------
>>> from mesoscale.training import two_digit_task
>>> d = two_digit_task(200, 100, seed=0)
>>> out = run_conditions([Condition("dense")], d.task("train"), d.task("test"), n_hidden=27, n_seeds=2,
...                      steps=2, batch_size=16, seed=0, progress=False)
>>> list(out["summary"].columns)[:4]
['condition', 'member', 'seed', 'accuracy']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float, check_int, seed_sequence
from .evaluation import accuracy
from .robustness import lesion_curve, noise_curve
from .loop import train
from .models import SpatialRNN, distance_matrix, grid_positions, member_seeds
from .priors import connectome_prior, dense_mask, generative_mask, mask_density, sbm_mask, spatial_modules
from .regularizers import Regularizer

__all__ = ["Condition", "build_model", "run_conditions", "weight_density", "robustness_table"]


@dataclass
class Condition:
    """One experimental condition.

    Parameters
    ----------
    prior : {"dense", "sbm", "generative", "connectome"}
    regularizer : {"none", "l1", "distance_l1", "communicability"}
    strength : float
        Regulariser strength.
    name : str, optional
        Label (default ``prior`` + ``regularizer``).
    options : dict
        Prior options: ``density`` and ``p_inter`` (sbm); ``m``, ``rule``, ``eta``, ``gamma`` (generative);
        ``name`` (connectome). ``input_groups``: a list of input-column slices, one per spatial module
        (:func:`~mesoscale.training.priors.spatial_modules`); inputs in group g then reach module g only
        (modular inputs, e.g. ``[slice(0, 64), slice(64, 128)]`` for the two digits).

    Examples
    --------
    >>> Condition("sbm", "l1", 1e-3, options={"density": 0.2}).name
    'sbm+l1'
    >>> Condition("dense").name
    'dense'
    """

    prior: str = "dense"
    regularizer: str = "none"
    strength: float = 0.0
    name: str | None = None
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        check_choice(self.prior, "prior", ("dense", "sbm", "generative", "connectome"))
        Regularizer(self.regularizer, self.strength)  # validates
        if self.name is None:
            self.name = self.prior if self.regularizer == "none" else f"{self.prior}+{self.regularizer}"


def build_model(cond: Condition, n_input: int, n_output: int, n_hidden: int = 100, seeds=None, **rnn_kwargs):
    """The ensemble for ``cond``: mask from the prior (seeded by the first seed), one member per seed.

    Examples
    --------
    >>> net = build_model(Condition("sbm", options={"density": 0.2}), 4, 2, n_hidden=16, seeds=[0, 1])
    >>> net.n_members, net.n_hidden
    (2, 16)
    """
    seeds = list(seeds) if seeds is not None else [0]
    pos = grid_positions(n_hidden)
    o = cond.options
    if cond.prior == "dense":
        mask = dense_mask(n_hidden)
    elif cond.prior == "sbm":
        mask = sbm_mask(n_hidden, o.get("n_modules", 2), o.get("density", 0.1), o.get("p_inter", 0.05),
                        seed=seed_sequence(seeds[0], 0))
    elif cond.prior == "generative":
        D = distance_matrix(pos)
        m = o.get("m", int(0.1 * n_hidden * (n_hidden - 1) / 2))
        mask = generative_mask(D, m, o.get("rule", "matching"), o.get("eta", -2.0), o.get("gamma", 0.3),
                               seed=seed_sequence(seeds[0], 1))
    else:
        mask, pos, _ = connectome_prior(o.get("name", "celegans_witvliet_8"))
        n_hidden = mask.shape[0]
    input_mask = None
    if o.get("input_groups"):
        groups = list(o["input_groups"])
        labels = spatial_modules(pos, len(groups))
        input_mask = np.ones((n_input, n_hidden), dtype=bool)
        for g, cols in enumerate(groups):
            input_mask[cols, :] = False
            input_mask[np.asarray(range(n_input))[cols][:, None], np.flatnonzero(labels == g)[None, :]] = True
    return SpatialRNN(n_input, n_hidden, n_output, n_members=len(seeds), positions=pos, mask=mask,
                      input_mask=input_mask, seed=seeds, **rnn_kwargs)


def weight_density(model, rel_threshold: float = 0.01) -> np.ndarray:
    """Fraction of possible recurrent connections with ``|w| > rel_threshold * max|w|``, per member.

    Examples
    --------
    >>> net = build_model(Condition(), 4, 2, n_hidden=9, seeds=[0, 1])
    >>> weight_density(net).round(2).tolist()
    [1.0, 1.0]
    """
    rel_threshold = check_float(rel_threshold, "rel_threshold", minimum=0.0)
    W = model.effective_weights().detach().abs().cpu().numpy()
    n = W.shape[1]
    return np.array([((w > rel_threshold * w.max()).sum() - (np.diag(w) > 0).sum()) / (n * (n - 1)) for w in W])


def run_conditions(conditions, task, val_task, *, n_hidden: int = 100, n_seeds: int = 4, steps: int = 1000,
                   batch_size: int = 64, lr: float = 3e-3, patience: int | None = None, eval_every: int = 50,
                   rnn_kwargs=None, seed=None, progress: bool = True, device="auto", checkpoint_dir=None) -> dict:
    """Train ``n_seeds`` networks for each condition (one batched ensemble per condition).

    Returns
    -------
    dict with ``models`` (condition name -> model), ``results`` (name -> :class:`TrainResult`) and
    ``summary``: DataFrame with ``condition, member, seed, accuracy, density, mask_density, steps``.

    Examples
    --------
    >>> from mesoscale.training import VaryingGoalTask
    >>> task = VaryingGoalTask(switch_every=0)
    >>> out = run_conditions([Condition("dense"), Condition("sbm", options={"density": 0.3})], task, task,
    ...                      n_hidden=8, n_seeds=2, steps=3, batch_size=8, seed=0, progress=False, device="cpu")
    >>> sorted(out["models"]), out["summary"].shape
    (['dense', 'sbm'], (4, 7))
    >>> out["summary"].mask_density.round(2).tolist()
    [1.0, 1.0, 0.29, 0.29]
    """
    n_seeds = check_int(n_seeds, "n_seeds", minimum=1)
    names = [c.name for c in conditions]
    if len(set(names)) != len(names):
        raise ValueError(f"'conditions' must have distinct names; got {names}")
    ss = seed_sequence(seed)  # child 0: member seeds, 1: training, 2: the validation batch
    seeds = member_seeds(seed_sequence(ss, 0), n_seeds)
    from tqdm.auto import tqdm

    models, results, rows = {}, {}, []
    for c in tqdm(conditions, disable=not progress, desc="conditions"):
        net = build_model(c, task.n_input, task.n_output, n_hidden, seeds, **(rnn_kwargs or {}))
        ck = None
        if checkpoint_dir is not None:
            from pathlib import Path

            Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
            ck = Path(checkpoint_dir) / f"{c.name.replace('+', '_')}.pt"
        res = train(net, task, steps=steps, batch_size=batch_size, lr=lr,
                    regularizer=Regularizer(c.regularizer, c.strength), val_task=val_task, patience=patience,
                    eval_every=eval_every, seed=seed_sequence(ss, 1), progress=False, device=device, checkpoint=ck)
        models[c.name], results[c.name] = res.model, res
        acc = accuracy(res.model, val_task, seed=seed_sequence(ss, 2))
        dens = weight_density(res.model)
        md = mask_density(res.model.mask[0].cpu().numpy())
        for k in range(n_seeds):
            rows.append({"condition": c.name, "member": k, "seed": seeds[k], "accuracy": float(acc[k]),
                         "density": float(dens[k]), "mask_density": md, "steps": res.steps_done})
    return {"models": models, "results": results, "summary": pd.DataFrame(rows)}



def robustness_table(models: dict, task, *, fractions=(0.0, 0.2, 0.5), n_repeats: int = 3,
                     noise_levels=(0.0, 0.2, 0.8), seed=None) -> pd.DataFrame:
    """Accuracy under lesions and noise for every model, averaged over lesion draws: one row per member.

    For each model (condition name -> trained ensemble): random and targeted unit and
    connection lesions (:func:`~mesoscale.training.robustness.lesion_curve`) at ``fractions``
    and input and recurrent noise (:func:`~mesoscale.training.robustness.noise_curve`) at
    ``noise_levels``, all on the same evaluation batch of ``seed``.

    Returns
    -------
    DataFrame with columns ``condition, test, x, member, accuracy`` (``test`` e.g.
    ``"random unit lesion"`` or ``"input noise"``; ``x`` the fraction removed or noise sd).

    Examples
    --------
    >>> from mesoscale.training import VaryingGoalTask
    >>> net = build_model(Condition(), 4, 2, n_hidden=8, seeds=[0])
    >>> t = VaryingGoalTask(switch_every=0)
    >>> df = robustness_table({"dense": net}, t, fractions=[0.0], n_repeats=1, noise_levels=[0.0], seed=0)
    >>> sorted(df.test.unique())[:2], len(df)
    (['input noise', 'random connection lesion'], 6)
    """
    ss = seed_sequence(seed)
    rows = []
    for name, model in models.items():
        for kind in ("unit", "connection"):
            for order in ("random", "targeted"):
                df = lesion_curve(model, task, kind=kind, order=order, fractions=fractions, n_repeats=n_repeats,
                                  seed=ss)
                rows.append(df.assign(condition=name, test=f"{order} {kind} lesion", x=df.fraction))
        for kind in ("input", "recurrent"):
            df = noise_curve(model, task, kind=kind, levels=noise_levels, seed=ss)
            rows.append(df.assign(condition=name, test=f"{kind} noise", x=df.level))
    rob = pd.concat(rows, ignore_index=True)
    return rob.groupby(["condition", "test", "x", "member"], sort=False).accuracy.mean().reset_index()
