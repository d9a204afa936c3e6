"""Conditions of the training chapters: a wiring prior plus a regulariser, trained as one ensemble of seeds.

A :class:`Condition` names a recurrent mask (a prior of :data:`PRIORS`: dense, planted modules, random,
generative-model or connectome wiring) and a regulariser; :func:`build_model` draws one mask per member; :func:`run_conditions` trains ``n_seeds`` networks per condition (one
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
from .priors import (
    connectome_layout,
    dense_mask,
    generative_mask,
    mask_density,
    random_mask,
    sbm_mask,
    spatial_modules,
    two_module_mask,
)
from .regularizers import Regularizer

__all__ = ["PRIORS", "Condition", "condition_layout", "condition_mask", "build_model", "run_conditions", "weight_density",
           "robustness_table"]


#: Wiring priors of a :class:`Condition`.
PRIORS = ("dense", "planted", "sbm", "random", "generative", "connectome", "rewired")


@dataclass
class Condition:
    """One experimental condition: a wiring prior, a regulariser and options.

    Parameters
    ----------
    prior : str
        One of :data:`PRIORS`: ``dense``; ``planted`` (Béna & Goodman's modules,
        :func:`~mesoscale.training.priors.two_module_mask`); ``sbm`` (:func:`~mesoscale.training.priors.sbm_mask`);
        ``random`` (density-matched, :func:`~mesoscale.training.priors.random_mask`); ``generative`` (a wiring
        rule grown on the units' positions, :func:`~mesoscale.training.priors.generative_mask`);
        ``connectome`` (a real wiring, the layout's own) and ``rewired`` (that wiring, degree-preserving
        rewired).
    regularizer : {"none", "l1", "distance_l1", "communicability"}
    strength : float
        Regulariser strength.
    name : str, optional
        Label (default ``prior`` + ``regularizer``).
    options : dict
        ``planted``: ``p`` (or ``n_connections``), ``intra_density`` or overall ``density``, ``directed``;
        ``sbm``: ``density``, ``p_inter``; ``random``: ``density``, ``directed``; ``generative``: ``density``
        (or ``m`` edges), ``rule``, ``eta``, ``gamma``; ``connectome``/``rewired``: ``name``.
        Any prior: ``layout`` (``"grid"``, default: units on :func:`~mesoscale.training.models.grid_positions`
        with two spatial halves as modules; or a connectome name: its neurons' positions and
        :func:`~mesoscale.training.priors.connectome_layout` halves), ``swap_every`` (BIMT neuron swaps),
        ``prune_density`` (after training keep each member's strongest connections at this density and
        fine-tune with the mask fixed), ``input_groups`` (input-column slices, one per module; module
        ``g`` alone reads group ``g``).

    Examples
    --------
    >>> Condition("sbm", "l1", 1e-3, options={"density": 0.2}).name
    'sbm+l1'
    >>> Condition("dense").name
    'dense'
    >>> Condition("planted", options={"p": 2.0})
    Traceback (most recent call last):
    ...
    ValueError: 'p' must lie in (0, 1]; got 2.0
    """

    prior: str = "dense"
    regularizer: str = "none"
    strength: float = 0.0
    name: str | None = None
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        check_choice(self.prior, "prior", PRIORS)
        Regularizer(self.regularizer, self.strength, swap_every=int(self.options.get("swap_every", 0)))  # validates
        o = self.options
        if "p" in o and not (isinstance(o["p"], (int, float)) and 0 < o["p"] <= 1):
            raise ValueError(f"'p' must lie in (0, 1]; got {o['p']!r}")
        for key in ("density", "intra_density", "prune_density"):
            if key in o:
                check_float(o[key], key, minimum=0.0, maximum=1.0)
        if self.prior in ("connectome", "rewired") and o.get("layout", "grid") == "grid":
            o["layout"] = o.get("name", "celegans_witvliet_8")
        if self.name is None:
            self.name = self.prior if self.regularizer == "none" else f"{self.prior}+{self.regularizer}"

    @property
    def layout(self) -> str:
        return str(self.options.get("layout", "grid"))

    def regularizer_object(self) -> Regularizer:
        """The :class:`~mesoscale.training.regularizers.Regularizer` this condition trains with."""
        return Regularizer(self.regularizer, self.strength, swap_every=int(self.options.get("swap_every", 0)))


def condition_layout(cond: Condition, n_hidden: int = 100):
    """Positions and module labels of a condition's units, and the layout's own wiring (or None).

    Examples
    --------
    >>> pos, labels, wiring = condition_layout(Condition("dense"), 8)
    >>> pos.shape, labels.tolist(), wiring is None
    ((8, 3), [0, 0, 0, 0, 1, 1, 1, 1], True)
    """
    if cond.layout == "grid":
        pos = grid_positions(n_hidden)
        return pos, spatial_modules(pos, int(cond.options.get("n_modules", 2))), None
    A, pos, labels = connectome_layout(cond.layout)
    return pos, labels, A


def condition_mask(cond: Condition, n_hidden: int = 100, seed=None) -> np.ndarray:
    """One draw of a condition's recurrent mask (bool, (n, n)); ``n_hidden`` is ignored for connectome layouts.

    Examples
    --------
    >>> m = condition_mask(Condition("planted", options={"p": 0.1}), 20, seed=0)
    >>> m.shape, int(m[:10, 10:].sum())
    ((20, 20), 10)
    """
    pos, labels, wiring = condition_layout(cond, n_hidden)
    n = len(pos)
    o = cond.options
    if cond.prior == "dense":
        return dense_mask(n)
    if cond.prior in ("connectome", "rewired"):
        if wiring is None:
            raise ValueError(f"prior {cond.prior!r} needs a connectome layout; got layout {cond.layout!r}")
        if cond.prior == "connectome":
            return wiring
        from ..metrics import degree_preserving_swaps

        return degree_preserving_swaps(wiring.astype(float), itr=int(o.get("itr", 20)), seed=seed) != 0
    if cond.prior == "random":
        return random_mask(n, float(o.get("density", 0.1)), directed=bool(o.get("directed", True)), seed=seed)
    if cond.prior == "sbm":
        return sbm_mask(n, o.get("n_modules", 2), o.get("density", 0.1), o.get("p_inter", 0.05), seed=seed,
                        labels=labels)
    if cond.prior == "planted":
        order = np.argsort(labels, kind="stable")
        sizes = np.bincount(labels)
        if len(sizes) != 2 or sizes[0] != sizes[1]:
            raise ValueError(f"'planted' needs two equal modules; the layout has module sizes {sizes.tolist()}")
        half = int(sizes[0])
        p = o.get("p")
        intra = o.get("intra_density")
        if intra is None and "density" in o:  # overall density -> within-module density
            p_eff = float(p) if p is not None else o["n_connections"] / half**2
            intra = float(o["density"]) * n * (n - 1) / (2 * half * (half - 1) + 2 * p_eff * half * half)
            if intra > 1:
                raise ValueError(f"'density'={o['density']} is too high for 'p'={p_eff}: within-module density {intra:.2f} > 1")
        M = two_module_mask(half, p, n_connections=o.get("n_connections"), intra_density=1.0 if intra is None else intra,
                            directed=bool(o.get("directed", True)), seed=seed)
        out = np.zeros_like(M)
        out[np.ix_(order, order)] = M  # module g of the mask -> the units labelled g
        return out
    # generative: grown on the units' positions with (fitted) parameters
    m = o.get("m")
    if m is None:
        m = int(round(float(o.get("density", 0.1)) * n * (n - 1) / 2))
    return generative_mask(distance_matrix(pos), int(m), o.get("rule", "matching"), o.get("eta", -2.0),
                           o.get("gamma", 0.3), seed=seed)


def build_model(cond: Condition, n_input: int, n_output: int, n_hidden: int = 100, seeds=None, *,
                mask_seeds=None, module_readouts: bool = False, input_groups=None, **rnn_kwargs):
    """The ensemble for ``cond``: one member per seed, each with its own mask draw.

    Parameters
    ----------
    seeds : sequence of int
        Member seeds (initial weights).
    mask_seeds : sequence, optional
        One seed per member for its mask (default: the first seed for every member, one shared mask).
    module_readouts : bool
        Give each module its own readout, the most confident deciding (Béna & Goodman).
    input_groups : sequence of slices, optional
        Input columns of each module (module ``g`` alone reads group ``g``), instead of the condition's
        ``input_groups`` option.

    Examples
    --------
    >>> net = build_model(Condition("sbm", options={"density": 0.2}), 4, 2, n_hidden=16, seeds=[0, 1])
    >>> net.n_members, net.n_hidden
    (2, 16)
    >>> net = build_model(Condition("planted", options={"p": 0.05}), 4, 2, n_hidden=20, seeds=[0, 1], mask_seeds=[5, 6])
    >>> bool((net.mask[0] != net.mask[1]).any()), net.n_groups
    (True, 1)
    >>> net = build_model(Condition("dense"), 4, 2, n_hidden=6, input_groups=[slice(0, 2), slice(2, 4)])
    >>> net.in_mask[0].int().tolist()
    [[1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1]]
    """
    seeds = list(seeds) if seeds is not None else [0]
    mask_seeds = [seed_sequence(seeds[0], 0)] * len(seeds) if mask_seeds is None else list(mask_seeds)
    if len(mask_seeds) != len(seeds):
        raise ValueError(f"'mask_seeds' must give one seed per member ({len(seeds)}); got {len(mask_seeds)}")
    pos, labels, _ = condition_layout(cond, n_hidden)
    n_hidden = len(pos)
    masks = np.stack([condition_mask(cond, n_hidden, seed=s) for s in mask_seeds])
    input_mask = None
    groups = input_groups if input_groups is not None else cond.options.get("input_groups")
    if groups:
        input_mask = np.zeros((n_input, n_hidden), dtype=bool)
        for g, cols in enumerate(groups):
            input_mask[np.arange(n_input)[cols][:, None], np.flatnonzero(labels == g)[None, :]] = True
        ungrouped = ~input_mask.any(1)
        input_mask[ungrouped] = True  # columns in no group (e.g. a context bit) reach every unit
    return SpatialRNN(n_input, n_hidden, n_output, n_members=len(seeds), positions=pos, mask=masks,
                      input_mask=input_mask, readout_groups=labels if module_readouts else None, seed=seeds,
                      **rnn_kwargs)


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
