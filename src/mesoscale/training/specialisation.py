"""Structure and functional specialisation of trained ensembles.

* structure: :func:`ensemble_modularity` (Q of ``|W|`` against density-matched and degree-preserving
  nulls, one :func:`mesoscale.metrics.structural_modularity` test per member and null);
* function: :func:`task_variance`, :func:`task_variance_clusters`, :func:`cluster_lesion` (Yang et al.
  2019), :func:`specialisation_index` and :func:`bena_specialisation` (Béna & Goodman 2025: retraining,
  ablation, correlation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .._validation import as_rng, check_choice, check_float, check_int, seed_sequence
from .evaluation import per_task_accuracy
from .tasks import TwoDigitData, YangTasks

__all__ = [
    "ensemble_modularity",
    "task_variance",
    "task_variance_clusters",
    "cluster_lesion",
    "specialisation_index",
    "bena_specialisation",
]


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
    dev = next(model.parameters()).device
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
        um = torch.as_tensor((L != c).astype(np.float32), device=next(model.parameters()).device)
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
    xt = torch.as_tensor(np.repeat(x[:, None, :], n_steps, 1), device=next(model.parameters()).device)
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
        dev = next(model.parameters()).device
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
