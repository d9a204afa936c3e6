"""Robustness of trained ensembles: lesions of units, connections and modules, and noise.

* :func:`lesion_curve` (random or targeted units or connections, by :func:`unit_strength`),
  :func:`lesion_connections`, :func:`module_lesion` (silence one module at a time);
* :func:`noise_curve` (input or recurrent noise, one seeded generator per member).

Every function returns a tidy :class:`pandas.DataFrame` with a ``member`` column; every random choice is seeded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .._validation import as_rng, check_choice, check_float, check_int, seed_sequence
from .evaluation import batch_accuracy, eval_batch
from .loop import decision_correct
from .models import member_generators
from .tasks import Batch, Task

__all__ = ["unit_strength", "lesion_connections", "lesion_curve", "module_lesion", "noise_curve"]


def unit_strength(model) -> torch.Tensor:
    """Total absolute recurrent in+out weight plus readout weight of each hidden unit, (K, n).

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN
    >>> s = unit_strength(SpatialRNN(4, 8, 2, n_members=2, seed=[0, 1]))
    >>> s.shape, bool((s > 0).all())
    (torch.Size([2, 8]), True)
    """
    if hasattr(model, "effective_weights"):
        W = model.effective_weights().abs()
        return W.sum(1) + W.sum(2) + model.w_out.abs().sum(2)
    L = model.n_layers
    w_in = (getattr(model, f"w{L - 2}") * getattr(model, f"mask{L - 2}")).abs().sum(1)
    w_out = getattr(model, f"w{L - 1}").abs().sum(2)
    return w_in + w_out


def lesion_connections(W: torch.Tensor, fraction: float, order: str = "random", rng=None) -> torch.Tensor:
    """Remove a fraction of the existing (non-zero) connections of each member of ``W`` (K, n, n).

    ``order="targeted"`` removes the strongest (largest ``|w|``) first; ``"random"`` a random subset.

    Examples
    --------
    >>> W = torch.tensor([[[0.0, 3.0], [1.0, 0.0]]])
    >>> lesion_connections(W, 0.5, "targeted")
    tensor([[[0., 0.],
             [1., 0.]]])
    """
    fraction = check_float(fraction, "fraction", minimum=0.0, maximum=1.0)
    check_choice(order, "order", ("random", "targeted"))
    rng = as_rng(rng)
    out = W.detach().clone()
    for k in range(W.shape[0]):
        flat = out[k].reshape(-1)
        nz = torch.nonzero(flat != 0).flatten().cpu().numpy()
        n_cut = int(round(fraction * len(nz)))
        if n_cut == 0:
            continue
        if order == "random":
            cut = rng.choice(nz, n_cut, replace=False)
        else:
            mag = flat.abs().cpu().numpy()[nz]
            cut = nz[np.argsort(-mag, kind="stable")[:n_cut]]
        flat[torch.as_tensor(cut, device=flat.device)] = 0.0
    return out


def lesion_curve(model, task: Task, *, kind: str = "unit", order: str = "random",
                 fractions=(0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9), n_repeats: int = 3, n: int = 512,
                 seed=None, batch: Batch | None = None) -> pd.DataFrame:
    """Accuracy as units or connections are removed.

    Parameters
    ----------
    kind : {"unit", "connection"}
        Silence hidden units, or delete recurrent connections (RNN only).
    order : {"random", "targeted"}
        Random subsets (``n_repeats`` draws) or the strongest first (:func:`unit_strength` for units,
        ``|w|`` for connections; one draw).
    fractions : sequence of float in [0, 1]

    Returns
    -------
    DataFrame with columns ``kind, order, fraction, repeat, member, accuracy``.

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, VaryingGoalTask
    >>> net = SpatialRNN(4, 8, 2, n_members=2, seed=[0, 1])
    >>> df = lesion_curve(net, VaryingGoalTask(switch_every=0), fractions=(0.0, 0.5), n_repeats=2, n=32, seed=0)
    >>> df.shape, df.groupby("fraction").size().tolist()
    ((8, 6), [4, 4])
    >>> bool(df.accuracy.between(0, 1).all())
    True
    """
    check_choice(kind, "kind", ("unit", "connection"))
    check_choice(order, "order", ("random", "targeted"))
    n_repeats = check_int(n_repeats, "n_repeats", minimum=1) if order == "random" else 1
    if kind == "connection" and not hasattr(model, "effective_weights"):
        raise TypeError(f"connection lesions need a recurrent model; got {type(model).__name__}")
    batch = eval_batch(task, n, seed) if batch is None else batch
    K, n_units = model.n_members, model.n_hidden
    dev = next(model.parameters()).device
    rng = as_rng(seed_sequence(seed, 0))  # a child stream: independent of the evaluation batch's
    rank = torch.argsort(-unit_strength(model).detach(), dim=1, stable=True).cpu().numpy()
    rows = []
    for frac in fractions:
        frac = check_float(frac, "fractions", minimum=0.0, maximum=1.0)
        for r in range(n_repeats):
            if kind == "unit":
                n_cut = int(round(frac * n_units))
                um = np.ones((K, n_units), dtype=np.float32)
                for k in range(K):
                    cut = rank[k, :n_cut] if order == "targeted" else rng.choice(n_units, n_cut, replace=False)
                    um[k, cut] = 0.0
                acc = batch_accuracy(model, batch, task.heads, unit_mask=torch.as_tensor(um, device=dev))
            else:
                W = lesion_connections(model.effective_weights(), frac, order, rng)
                acc = batch_accuracy(model, batch, task.heads, w_rec=W)
            rows += [{"kind": kind, "order": order, "fraction": frac, "repeat": r, "member": k,
                      "accuracy": float(a)} for k, a in enumerate(acc)]
    return pd.DataFrame(rows)


def module_lesion(model, task: Task, partition, *, n: int = 512, seed=None, batch: Batch | None = None,
                  by_task: bool = False) -> pd.DataFrame:
    """Accuracy with each module silenced in turn (module ``-1`` = intact network).

    Parameters
    ----------
    partition : array (n_hidden,) or (K, n_hidden)
        Module label of each hidden unit (per member if 2-D). Labels < 0 are never lesioned.
    by_task : bool
        Also split accuracy by ``batch.task`` (the Yang task index).

    Returns
    -------
    DataFrame with columns ``module, member, accuracy`` (and ``task`` if ``by_task``).

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, VaryingGoalTask
    >>> net = SpatialRNN(4, 8, 2, n_members=2, seed=[0, 1])
    >>> df = module_lesion(net, VaryingGoalTask(switch_every=0), [0, 0, 0, 0, 1, 1, 1, 1], n=32, seed=0)
    >>> df.module.unique().tolist(), df.shape
    ([-1, 0, 1], (6, 3))
    """
    K, n_units = model.n_members, model.n_hidden
    P = np.asarray(partition)
    if P.ndim == 1 and P.shape == (n_units,):
        P = np.broadcast_to(P, (K, n_units))
    if P.shape != (K, n_units):
        raise ValueError(f"'partition' must have shape ({n_units},) or ({K}, {n_units}); got {np.shape(partition)}")
    batch = eval_batch(task, n, seed) if batch is None else batch
    dev = next(model.parameters()).device
    labels = [-1] + sorted(int(m) for m in np.unique(P) if m >= 0)
    rows = []
    model.eval()
    for m in labels:
        um = torch.as_tensor((P != m).astype(np.float32), device=dev)
        with torch.no_grad():
            b = batch.to(dev)
            logits, _ = model(b.x, unit_mask=um if m >= 0 else None)
            ok = decision_correct(logits, b, task.heads).float().cpu().numpy()
        if by_task and batch.task is not None:
            tid = batch.task.numpy()
            for t in np.unique(tid):
                sel = tid == t
                rows += [{"module": m, "task": int(t), "member": k, "accuracy": float(ok[k, sel].mean())}
                         for k in range(K)]
        else:
            rows += [{"module": m, "member": k, "accuracy": float(ok[k].mean())} for k in range(K)]
    return pd.DataFrame(rows)


def noise_curve(model, task: Task, *, kind: str = "recurrent", levels=(0.0, 0.05, 0.1, 0.2, 0.4, 0.8),
                n: int = 512, seed=None, batch: Batch | None = None) -> pd.DataFrame:
    """Accuracy under Gaussian ``input`` or ``recurrent`` noise of increasing standard deviation.

    Returns
    -------
    DataFrame with columns ``kind, level, member, accuracy``.

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, VaryingGoalTask
    >>> net = SpatialRNN(4, 8, 2, n_members=2, seed=[0, 1])
    >>> df = noise_curve(net, VaryingGoalTask(switch_every=0), kind="input", levels=(0.0, 0.5), n=32, seed=0)
    >>> df.level.tolist(), list(df.columns)
    ([0.0, 0.0, 0.5, 0.5], ['kind', 'level', 'member', 'accuracy'])
    """
    check_choice(kind, "kind", ("input", "recurrent"))
    batch = eval_batch(task, n, seed) if batch is None else batch
    rows = []
    for lev in levels:
        lev = check_float(lev, "levels", minimum=0.0)
        gens = member_generators(model.seeds, seed, next(model.parameters()).device)
        kw = {"input_noise": lev} if kind == "input" else {"rec_noise": lev}
        acc = batch_accuracy(model, batch, task.heads, generators=gens, **kw)
        rows += [{"kind": kind, "level": lev, "member": k, "accuracy": float(a)} for k, a in enumerate(acc)]
    return pd.DataFrame(rows)
