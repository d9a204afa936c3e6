"""Evaluation of trained ensembles: accuracy, zero-/few-shot, robustness, structure and specialisation.

All functions take a trained model (an ensemble of K members, see :mod:`mesoscale.training.models`) and
return tidy :class:`pandas.DataFrame` tables with a ``member`` column, so that results of several seeds
are always reported together. Every random choice (evaluation trials, lesion orders, noise) is seeded.

* accuracy: :func:`accuracy`, :func:`per_task_accuracy` (zero-shot = on held-out tasks);
* adaptation: :func:`few_shot_curve` (k = 1 ... 64 examples of a new task);
* robustness: :func:`lesion_curve` (random/targeted units or connections), :func:`module_lesion`,
  :func:`noise_curve` (input or recurrent noise);
* structure: :func:`ensemble_modularity` (Q of ``|W|`` against density-matched and degree-preserving
  nulls, one :func:`mesoscale.metrics.structural_modularity` test per member and null);
* function: :func:`task_variance`, :func:`task_variance_clusters`, :func:`cluster_lesion` (Yang et al.
  2019) and :func:`bena_specialisation` (Béna & Goodman 2025: retraining, ablation, correlation).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch

from .._validation import as_rng, check_choice, check_float, check_int, seed_sequence
from .models import member_generators
from .loop import decision_correct, evaluate_batch, train
from .tasks import ArrayTask, Batch, Task, TwoDigitData, YangTasks

__all__ = [
    "eval_batch",
    "accuracy",
    "per_task_accuracy",
    "few_shot_curve",
    "lesion_connections",
    "unit_strength",
    "lesion_curve",
    "module_lesion",
    "noise_curve",
    "ensemble_modularity",
    "task_variance",
    "task_variance_clusters",
    "cluster_lesion",
    "bena_specialisation",
    "specialisation_index",
]


def _device(model):
    return next(model.parameters()).device


def eval_batch(task: Task, n: int = 512, seed=None, **sample_kwargs) -> Batch:
    """A fixed evaluation batch: all of an :class:`ArrayTask`, else ``n`` examples drawn with ``seed``.

    Examples
    --------
    >>> from mesoscale.training import VaryingGoalTask
    >>> b = eval_batch(VaryingGoalTask(switch_every=0, n_steps=3), n=16, seed=0)
    >>> b.x.shape, b.y.shape, b.w.shape
    (torch.Size([16, 3, 4]), torch.Size([16, 3, 1]), torch.Size([16, 3]))
    """
    if isinstance(task, ArrayTask):
        return task.full()
    n = check_int(n, "n", minimum=1)
    return task.sample(n, as_rng(seed), **sample_kwargs)


@torch.no_grad()
def _acc(model, batch: Batch, heads, **kw) -> np.ndarray:
    model.eval()
    return evaluate_batch(model, batch, heads, **kw)[1]


def accuracy(model, task: Task, n: int = 512, seed=None, batch: Batch | None = None, **forward_kwargs) -> np.ndarray:
    """Accuracy per member (all heads right at the decision step), shape (K,).

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, VaryingGoalTask
    >>> t = VaryingGoalTask(switch_every=0)
    >>> accuracy(SpatialRNN(4, 8, 2, n_members=3, seed=0), t, n=64).shape
    (3,)
    """
    batch = eval_batch(task, n, seed) if batch is None else batch
    return _acc(model, batch, task.heads, **forward_kwargs)


def per_task_accuracy(model, tasks: YangTasks, names=None, n_per_task: int = 128, seed=None,
                      split: str | None = None, **forward_kwargs) -> pd.DataFrame:
    """Accuracy per (task, member) on the Yang task family; ``names`` default to ``tasks.tasks``.

    Zero-shot accuracy is this function applied to held-out task names (the rule inputs of held-out
    combinations were never seen in training); ``split`` labels the rows (e.g. ``"held-out"``).

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, YangTasks
    >>> tasks = YangTasks(tasks=("go", "anti"))
    >>> net = SpatialRNN(tasks.n_input, 8, tasks.n_output, n_members=2, seed=[0, 1])
    >>> df = per_task_accuracy(net, tasks, n_per_task=8, seed=0, split="train")
    >>> df.shape, df.task.unique().tolist()
    ((4, 4), ['go', 'anti'])
    """
    if not isinstance(tasks, YangTasks):
        raise TypeError(f"'tasks' must be a YangTasks; got {type(tasks).__name__}")
    names = tasks.tasks if names is None else tuple(names)
    ss = seed_sequence(seed)
    rows = []
    for j, name in enumerate(names):
        b = tasks.sample(n_per_task, as_rng(seed_sequence(ss, j)), tasks=[name])
        acc = _acc(model, b, tasks.heads, **forward_kwargs)
        rows += [{"task": name, "member": k, "accuracy": float(a), "split": split} for k, a in enumerate(acc)]
    return pd.DataFrame(rows)


class _FixedTask(Task):
    """A task that always returns the same batch (few-shot training on k examples)."""

    def __init__(self, batch: Batch, heads, n_input):
        self.batch, self.heads, self.n_input = batch, tuple(heads), n_input

    def sample(self, batch_size, rng=None, step=0):
        return self.batch


def _take(batch: Batch, idx) -> Batch:
    idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
    return Batch(batch.x[idx], batch.y[idx], batch.w[idx], None if batch.task is None else batch.task[idx])


def few_shot_curve(model, task: Task, ks=(1, 2, 4, 8, 16, 32, 64), *, n_test: int = 512, steps: int = 100,
                   lr: float = 1e-2, adapt: str = "readout", test_task: Task | None = None,
                   sample_kwargs=None, seed=None, progress: bool = False) -> pd.DataFrame:
    """Accuracy on a new task after adapting to k examples, for each k in ``ks``.

    A copy of the model (a fresh readout if the new task has a different number of outputs) is trained for
    ``steps`` Adam steps on the same k examples for every member; only the readout (``adapt="readout"``)
    or all weights (``adapt="all"``) change. Accuracy is measured on ``n_test`` fresh examples (from
    ``test_task`` if given). Row ``k = 0`` is the accuracy before adaptation (zero-shot).

    Returns
    -------
    DataFrame with columns ``k, member, accuracy``.

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, VaryingGoalTask
    >>> net = SpatialRNN(4, 8, 2, n_members=2, seed=[0, 1])
    >>> df = few_shot_curve(net, VaryingGoalTask(switch_every=0), ks=(2, 4), steps=3, n_test=32, seed=0)
    >>> df.k.tolist(), list(df.columns)
    ([0, 0, 2, 2, 4, 4], ['k', 'member', 'accuracy'])
    """
    check_choice(adapt, "adapt", ("readout", "all"))
    ks = [check_int(k, "ks", minimum=1) for k in ks]
    steps = check_int(steps, "steps", minimum=1)
    lr = check_float(lr, "lr", minimum=0.0)
    sample_kwargs = dict(sample_kwargs or {})
    ss = seed_sequence(seed)
    ss_train, ss_test, ss_fit = (seed_sequence(ss, i) for i in range(3))
    test_src = task if test_task is None else test_task
    test = eval_batch(test_src, n_test, ss_test, **({} if isinstance(test_src, ArrayTask) else sample_kwargs))
    base = model if model.n_output == task.n_output else model.with_new_readout(task.n_output)
    rows = [{"k": 0, "member": m, "accuracy": float(a)} for m, a in enumerate(_acc(base, test, task.heads))]
    if isinstance(task, ArrayTask):
        pool_rng = as_rng(ss_train)
        order = pool_rng.permutation(len(task))
        pool = task.full()
    else:
        pool = task.sample(max(ks), as_rng(ss_train), **sample_kwargs)
        order = np.arange(max(ks))
    from tqdm.auto import tqdm

    for k in tqdm(ks, disable=not progress, desc="few-shot", leave=False):
        net = copy.deepcopy(base)
        readout = set(net._readout)
        for name, p in net.named_parameters():
            p.requires_grad_(adapt == "all" or name in readout)
        fixed = _FixedTask(_take(pool, order[:k]), task.heads, task.n_input)
        train(net, fixed, steps=steps, batch_size=k, lr=lr, eval_every=steps + 1, seed=ss_fit, progress=False,
              device=_device(model))
        rows += [{"k": k, "member": m, "accuracy": float(a)} for m, a in enumerate(_acc(net, test, task.heads))]
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# Robustness
# ----------------------------------------------------------------------------------------------


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
    dev = _device(model)
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
                acc = _acc(model, batch, task.heads, unit_mask=torch.as_tensor(um, device=dev))
            else:
                W = lesion_connections(model.effective_weights(), frac, order, rng)
                acc = _acc(model, batch, task.heads, w_rec=W)
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
    dev = _device(model)
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
        gens = member_generators(model.seeds, seed, _device(model))
        kw = {"input_noise": lev} if kind == "input" else {"rec_noise": lev}
        acc = _acc(model, batch, task.heads, generators=gens, **kw)
        rows += [{"kind": kind, "level": lev, "member": k, "accuracy": float(a)} for k, a in enumerate(acc)]
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# Structure
# ----------------------------------------------------------------------------------------------


def ensemble_modularity(model_or_weights, *, nulls=("density", "degree"), n_null: int = 20,
                        density: float | None = None, n_runs: int = 10, seed=None) -> pd.DataFrame:
    """Modularity Q of each member's ``|W|`` against null networks: a table over members and nulls.

    Each row is one :func:`mesoscale.metrics.structural_modularity` test (the network is
    ``(|W| + |W|^T) / 2``, or with ``density`` the binary network of the strongest ``density``
    fraction of pairs); member ``k`` and null ``j`` use the child stream ``(k, j)`` of ``seed``.

    Parameters
    ----------
    model_or_weights : model or array (n, n) / (K, n, n)
    nulls : sequence of {"density", "degree", "weights"}
    n_null : int
        Null networks per member and null model (the seed count of the comparison).

    Returns
    -------
    DataFrame with columns ``member, null, q, null_mean, null_sd, z, percentile, n_null, n_modules,
    density`` (density of the analysed network).

    Examples
    --------
    >>> import numpy as np
    >>> W = np.kron(np.eye(2), np.ones((5, 5))) + 0.01
    >>> df = ensemble_modularity(np.stack([W, W]), nulls=["density"], n_null=3, n_runs=2, seed=0)
    >>> df[["member", "null", "n_null"]].values.tolist()
    [[0, 'density', 3], [1, 'density', 3]]
    """
    from ..metrics import keep_strongest, structural_modularity

    if hasattr(model_or_weights, "effective_weights"):
        Ws = model_or_weights.effective_weights().detach().cpu().numpy()
    else:
        Ws = np.asarray(model_or_weights, dtype=float)
        if Ws.ndim == 2:
            Ws = Ws[None]
        if Ws.ndim != 3 or Ws.shape[1] != Ws.shape[2]:
            raise ValueError(f"'model_or_weights' must be a model or (n, n)/(K, n, n) weights; got {Ws.shape}")
    if density is not None:
        density = check_float(density, "density", minimum=0.0, maximum=1.0)
    n_null = check_int(n_null, "n_null", minimum=2)
    for null in nulls:
        check_choice(null, "nulls", ("density", "degree", "weights"))
    ss = seed_sequence(seed)
    rows = []
    for k, W in enumerate(Ws):
        n = len(W)
        A = np.abs(W) + np.abs(W).T
        np.fill_diagonal(A, 0.0)
        edges = keep_strongest(A, density) if density is not None else A
        for j, null in enumerate(nulls):
            t = structural_modularity(W, null=null, n_null=n_null, n_runs=n_runs, density=density,
                                      seed=seed_sequence(ss, k, j))
            rows.append({"member": k, "null": null, "q": t.q, "null_mean": t.null_mean, "null_sd": t.null_sd,
                         "z": t.z, "percentile": t.percentile, "n_null": t.n_null,
                         "n_modules": int(len(np.unique(t.partition))),
                         "density": float((edges > 0).sum() / (n * (n - 1)))})
    return pd.DataFrame(rows)


@torch.no_grad()
def task_variance(model, tasks: YangTasks, names=None, n_per_task: int = 64, seed=None) -> np.ndarray:
    """Yang et al. task variance: per member, unit and task, shape (K, n_hidden, n_tasks).

    For each task, the variance of each unit's activity across trials at each time step (padding
    excluded), averaged over time steps.

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, YangTasks
    >>> tasks = YangTasks(tasks=("go", "anti"))
    >>> net = SpatialRNN(tasks.n_input, 8, tasks.n_output, n_members=2, seed=[0, 1])
    >>> tv = task_variance(net, tasks, n_per_task=8, seed=0)
    >>> tv.shape, bool((tv >= 0).all())
    ((2, 8, 2), True)
    """
    if not isinstance(tasks, YangTasks):
        raise TypeError(f"'tasks' must be a YangTasks; got {type(tasks).__name__}")
    names = tasks.tasks if names is None else tuple(names)
    dev = _device(model)
    model.eval()
    out = np.zeros((model.n_members, model.n_hidden, len(names)))
    ss = seed_sequence(seed)
    for j, name in enumerate(names):
        b = tasks.sample(n_per_task, as_rng(seed_sequence(ss, j)), tasks=[name]).to(dev)
        _, h = model(b.x)
        valid = (b.w > 0).float()  # (B, T)
        cnt = valid.sum(0)  # (T,)
        use = cnt > 1
        mean = (h * valid[None, :, :, None]).sum(1) / cnt.clamp_min(1)[None, :, None]
        var = (((h - mean[:, None]) ** 2) * valid[None, :, :, None]).sum(1) / (cnt - 1).clamp_min(1)[None, :, None]
        out[:, :, j] = var[:, use].mean(1).cpu().numpy()
    return out


def task_variance_clusters(tv, *, k_range=range(2, 11), min_variance: float = 1e-3, seed=None) -> dict:
    """Cluster units by their normalised task variance (k-means, k chosen by silhouette), Yang et al. 2019.

    Parameters
    ----------
    tv : array (n_hidden, n_tasks)
        Task variance of one member (see :func:`task_variance`).
    min_variance : float
        Units whose summed task variance is below this are inactive and get label -1.

    Returns
    -------
    dict with ``labels`` (n_hidden,), ``k``, ``silhouette`` (dict k -> score), ``normalised`` (active units x
    tasks; each unit divided by its maximum over tasks).

    Examples
    --------
    Two groups of units, each active in one of two tasks, and one silent unit:

    >>> tv = np.repeat([[1.0, 0.0], [0.0, 1.0]], 4, axis=0) + 0.01 * np.random.default_rng(0).random((8, 2))
    >>> tv = np.vstack([tv, np.zeros((1, 2))])
    >>> res = task_variance_clusters(tv, k_range=range(2, 4), seed=0)
    >>> lab = res["labels"]
    >>> res["k"], int(lab[-1]), len(set(lab[:4])), len(set(lab[4:8])), bool(lab[0] != lab[4])
    (2, -1, 1, 1, True)
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    tv = np.asarray(tv, dtype=float)
    if tv.ndim != 2:
        raise ValueError(f"'tv' must have shape (n_hidden, n_tasks); got {tv.shape}")
    active = tv.sum(1) > min_variance
    labels = np.full(len(tv), -1)
    X = tv[active] / tv[active].max(1, keepdims=True) if active.any() else np.zeros((0, tv.shape[1]))
    scores = {}
    best = (None, -np.inf, None)
    state = int(seed_sequence(seed).generate_state(1)[0] % 2**31)  # sklearn takes an int
    for k in k_range:
        if k >= len(X):
            break
        lab = KMeans(k, n_init=10, random_state=state).fit_predict(X)
        if len(np.unique(lab)) < 2:
            continue
        s = float(silhouette_score(X, lab))
        scores[k] = s
        if s > best[1]:
            best = (k, s, lab)
    if best[2] is not None:
        labels[active] = best[2]
    return {"labels": labels, "k": best[0], "silhouette": scores, "normalised": X}


def cluster_lesion(model, tasks: YangTasks, labels, names=None, n_per_task: int = 128, seed=None) -> pd.DataFrame:
    """Per-task accuracy with each task-variance cluster silenced (cluster -1 row = intact), Yang et al. 2019.

    Returns
    -------
    DataFrame with columns ``cluster, task, member, accuracy``.

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, YangTasks
    >>> tasks = YangTasks(tasks=("go", "anti"))
    >>> net = SpatialRNN(tasks.n_input, 8, tasks.n_output, n_members=2, seed=[0, 1])
    >>> df = cluster_lesion(net, tasks, [0, 0, 0, 0, 1, 1, 1, 1], n_per_task=8, seed=0)
    >>> df.cluster.unique().tolist(), df.shape
    ([-1, 0, 1], (12, 4))
    """
    names = tasks.tasks if names is None else tuple(names)
    labels = np.asarray(labels)
    K, n = model.n_members, model.n_hidden
    L = np.broadcast_to(labels, (K, n)) if labels.ndim == 1 else labels
    rows = []
    for c in [-1] + sorted(int(x) for x in np.unique(L) if x >= 0):
        um = torch.as_tensor((L != c).astype(np.float32), device=_device(model))
        df = per_task_accuracy(model, tasks, names, n_per_task, seed, unit_mask=um if c >= 0 else None)
        df.insert(0, "cluster", c)
        rows.append(df.drop(columns="split"))
    return pd.concat(rows, ignore_index=True)


def specialisation_index(a1, a2):
    """``(a1 - a2) / (a1 + a2)``: +1 = only sub-task 1, -1 = only sub-task 2, 0 = no preference.

    Examples
    --------
    >>> specialisation_index([0.9, 0.5, 0.0], [0.1, 0.5, 0.0])
    array([0.8, 0. , 0. ])
    """
    a1, a2 = np.asarray(a1, dtype=float), np.asarray(a2, dtype=float)
    den = a1 + a2
    return np.where(den > 0, (a1 - a2) / np.where(den > 0, den, 1), 0.0)


@torch.no_grad()
def _final_hidden(model, x: np.ndarray, n_steps: int, unit_mask=None) -> np.ndarray:
    xt = torch.as_tensor(np.repeat(x[:, None, :], n_steps, 1), device=_device(model))
    model.eval()
    _, h = model(xt, unit_mask=unit_mask)
    return h[:, :, -1].cpu().numpy()  # (K, B, n)


def bena_specialisation(model, data: TwoDigitData, partition, *, n_steps: int = 3, n_pairs: int = 2000,
                        seed=None) -> pd.DataFrame:
    """Functional specialisation of modules on the two-digit task: retraining, ablation, correlation.

    For each member, module ``m`` and digit ``d`` (Béna & Goodman 2025):

    * ``retrain`` — test accuracy of a logistic-regression readout trained on module m's final hidden state
      (train split) to report digit d;
    * ``ablation`` — drop of the network's head-d accuracy when module m is silenced (needs ``target="both"``;
      NaN otherwise);
    * ``correlation`` — mean Pearson correlation of module m's states between test pairs that share digit d
      but differ in the other digit, minus the same for pairs that differ in both digits (high = the module
      encodes d, invariant to the other digit; about 0 = it ignores d).

    The ``*_index`` columns are :func:`specialisation_index` of digit 1 vs digit 2 for each module
    (retraining: chance-corrected accuracies; ablation: drops clipped at 0; correlation: clipped at 0).

    Parameters
    ----------
    partition : array (n_hidden,)
        Module label per hidden unit.

    Returns
    -------
    DataFrame with one row per (member, module): ``retrain_d1, retrain_d2, ablation_d1, ablation_d2,
    correlation_d1, correlation_d2`` and ``retrain_index, ablation_index, correlation_index``.

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, two_digit_task
    >>> data = two_digit_task(60, 40, seed=0)
    >>> net = SpatialRNN(128, 8, 20, seed=0)
    >>> df = bena_specialisation(net, data, [0, 0, 0, 0, 1, 1, 1, 1], n_pairs=20, seed=0)
    >>> df[["member", "module", "n_units"]].values.tolist()
    [[0, 0, 4], [0, 1, 4]]
    >>> bool(df.retrain_index.between(-1, 1).all())
    True
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if not isinstance(data, TwoDigitData):
        raise TypeError(f"'data' must be a TwoDigitData; got {type(data).__name__}")
    P = np.asarray(partition)
    if P.shape != (model.n_hidden,):
        raise ValueError(f"'partition' must have shape ({model.n_hidden},); got {P.shape}")
    rng = as_rng(seed)
    Htr = _final_hidden(model, data.x_train, n_steps)
    Hte = _final_hidden(model, data.x_test, n_steps)
    dtr, dte = data.digits_train, data.digits_test
    # pairs sharing digit d and differing in the other; baseline pairs differ in both digits
    i = rng.integers(0, len(dte), 40 * n_pairs)
    j = rng.integers(0, len(dte), 40 * n_pairs)
    same = dte[i] == dte[j]
    pairs = {d: (i[same[:, d] & ~same[:, 1 - d]][:n_pairs], j[same[:, d] & ~same[:, 1 - d]][:n_pairs])
             for d in (0, 1)}
    pairs["base"] = (i[~same.any(1)][:n_pairs], j[~same.any(1)][:n_pairs])

    def mean_corr(X, ij):
        a, c = X[ij[0]], X[ij[1]]
        a = a - a.mean(1, keepdims=True)
        c = c - c.mean(1, keepdims=True)
        den = np.sqrt((a**2).sum(1) * (c**2).sum(1))
        return float(np.where(den > 0, (a * c).sum(1) / np.where(den > 0, den, 1), 0.0).mean())
    both = data.target == "both"
    if both:
        task = data.task("test", n_steps)
        full = task.full()
        dev = _device(model)
    rows = []
    modules = sorted(int(m) for m in np.unique(P) if m >= 0)
    for k in range(model.n_members):
        if both:
            with torch.no_grad():
                model.eval()
                b = full.to(dev)
                logits, _ = model(b.x)
                base = [(logits[k, :, -1, 10 * d: 10 * d + 10].argmax(-1) == b.y[:, -1, d]).float().mean().item()
                        for d in (0, 1)]
        for m in modules:
            units = P == m
            row = {"member": k, "module": m, "n_units": int(units.sum())}
            for d in (0, 1):
                Xtr, Xte = Htr[k][:, units], Hte[k][:, units]
                if Xtr.std() > 0:
                    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
                    row[f"retrain_d{d + 1}"] = float(clf.fit(Xtr, dtr[:, d]).score(Xte, dte[:, d]))
                else:
                    row[f"retrain_d{d + 1}"] = 0.1
                row[f"correlation_d{d + 1}"] = mean_corr(Xte, pairs[d]) - mean_corr(Xte, pairs["base"])
                if both:
                    um = torch.as_tensor(np.broadcast_to(~units, (model.n_members, len(P))).astype(np.float32),
                                         device=dev)
                    with torch.no_grad():
                        lg, _ = model(b.x, unit_mask=um)
                        acc = (lg[k, :, -1, 10 * d: 10 * d + 10].argmax(-1) == b.y[:, -1, d]).float().mean().item()
                    row[f"ablation_d{d + 1}"] = base[d] - acc
                else:
                    row[f"ablation_d{d + 1}"] = np.nan
            rows.append(row)
    df = pd.DataFrame(rows)
    df["retrain_index"] = specialisation_index((df.retrain_d1 - 0.1).clip(lower=0), (df.retrain_d2 - 0.1).clip(lower=0))
    df["ablation_index"] = specialisation_index(df.ablation_d1.clip(lower=0), df.ablation_d2.clip(lower=0))
    df["correlation_index"] = specialisation_index(df.correlation_d1.clip(lower=0), df.correlation_d2.clip(lower=0))
    if not both:
        df["ablation_index"] = np.nan
    return df
