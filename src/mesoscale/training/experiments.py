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
from .loop import train
from .models import SpatialRNN, distance_matrix, grid_positions, member_seeds
from .priors import connectome_prior, dense_mask, generative_mask, mask_density, sbm_mask, spatial_modules
from .regularizers import Regularizer

__all__ = ["Condition", "build_model", "run_conditions", "weight_density"]


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
    """The ensemble for ``cond``: mask from the prior (seeded by the first seed), one member per seed."""
    seeds = list(seeds) if seeds is not None else [0]
    pos = grid_positions(n_hidden)
    o = cond.options
    if cond.prior == "dense":
        mask = dense_mask(n_hidden)
    elif cond.prior == "sbm":
        mask = sbm_mask(n_hidden, o.get("n_modules", 2), o.get("density", 0.1), o.get("p_inter", 0.05),
                        seed=np.random.SeedSequence([seeds[0], 1]))
    elif cond.prior == "generative":
        D = distance_matrix(pos)
        m = o.get("m", int(0.1 * n_hidden * (n_hidden - 1) / 2))
        mask = generative_mask(D, m, o.get("rule", "matching"), o.get("eta", -2.0), o.get("gamma", 0.3),
                               seed=np.random.SeedSequence([seeds[0], 2]))
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
    """Fraction of possible recurrent connections with ``|w| > rel_threshold * max|w|``, per member."""
    rel_threshold = check_float(rel_threshold, "rel_threshold", minimum=0.0)
    W = model.effective_weights().detach().abs().cpu().numpy()
    n = W.shape[1]
    return np.array([((w > rel_threshold * w.max()).sum() - (np.diag(w) > 0).sum()) / (n * (n - 1)) for w in W])


def run_conditions(conditions, task, val_task, *, n_hidden: int = 100, n_seeds: int = 4, steps: int = 1000,
                   batch_size: int = 64, lr: float = 3e-3, patience: int | None = None, eval_every: int = 50,
                   rnn_kwargs=None, seed=0, progress: bool = True, device="auto", checkpoint_dir=None) -> dict:
    """Train ``n_seeds`` networks for each condition (one batched ensemble per condition).

    Returns
    -------
    dict with ``models`` (condition name -> model), ``results`` (name -> :class:`TrainResult`) and
    ``summary``: DataFrame with ``condition, member, seed, accuracy, density, mask_density, steps``.
    """
    n_seeds = check_int(n_seeds, "n_seeds", minimum=1)
    names = [c.name for c in conditions]
    if len(set(names)) != len(names):
        raise ValueError(f"'conditions' must have distinct names; got {names}")
    seeds = member_seeds(seed_sequence(seed), n_seeds)
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
                    eval_every=eval_every, seed=seed, progress=False, device=device, checkpoint=ck)
        models[c.name], results[c.name] = res.model, res
        acc = accuracy(res.model, val_task)
        dens = weight_density(res.model)
        md = mask_density(res.model.mask[0].cpu().numpy())
        for k in range(n_seeds):
            rows.append({"condition": c.name, "member": k, "seed": seeds[k], "accuracy": float(acc[k]),
                         "density": float(dens[k]), "mask_density": md, "steps": res.steps_done})
    return {"models": models, "results": results, "summary": pd.DataFrame(rows)}

