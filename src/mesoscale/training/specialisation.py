"""Structure and functional specialisation of trained ensembles.

* structure: :func:`ensemble_modularity` (Q of ``|W|`` against density-matched and degree-preserving
  nulls, one :func:`mesoscale.metrics.structural_modularity` test per member and null);
* function: :func:`task_variance`, :func:`task_variance_clusters`, :func:`cluster_lesion` (Yang et al.
  2019), :func:`specialisation_index`, and Béna & Goodman's (2025) three measures for two modules
  reading two digits: :func:`bena_metrics` on hidden states (readout retraining, readout ablation,
  correlation), :func:`hidden_states` to get them and :func:`bena_specialisation` for a trained model
  on a :class:`~mesoscale.training.digits.PairedDigits` task.

Béna & Goodman's per-network score for a measure with values ``a[m, d]`` (module ``m``, digit ``d``,
normalised so that 0 = chance) is ``|diff_0 - diff_1| / 2`` with ``diff_m = (a[m, 0] - a[m, 1]) /
(a[m, 0] + a[m, 1])``: 1 when each module serves one digit, 0 when both serve both alike.
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
    "hidden_states",
    "ridge_readout_accuracy",
    "bena_metrics",
    "bena_specialisation",
    "BENA_MEASURES",
]

#: The three measures of :func:`bena_metrics` (columns ``<measure>_spec``).
BENA_MEASURES = ("retrain", "ablation", "correlation")


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
def hidden_states(model, batch, *, step: int = -1, unit_mask=None) -> np.ndarray:
    """Hidden states of every member at time step ``step`` of a batch, shape (K, B, n_hidden).

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN
    >>> from mesoscale.training.digits import PairedDigits
    >>> task = PairedDigits(seed=0)
    >>> hidden_states(SpatialRNN(task.n_input, 6, 10, n_members=2, seed=0), task.sample(5, rng=0)).shape
    (2, 5, 6)
    """
    dev = next(model.parameters()).device
    model.eval()
    _, h = model(batch.x.to(dev), unit_mask=unit_mask)
    return h[:, :, step].float().cpu().numpy()


def _ridge_fit(X: torch.Tensor, Y: torch.Tensor, ridge: float) -> torch.Tensor:
    """Least-squares weights (with intercept) of targets ``Y`` (R, N, C) on features ``X`` (R, N, F)."""
    Xb = torch.cat([X, torch.ones(*X.shape[:-1], 1, dtype=X.dtype)], -1)
    G = Xb.transpose(1, 2) @ Xb
    F = X.shape[-1]
    scale = torch.diagonal(G, dim1=1, dim2=2)[:, :F].mean(1).clamp_min(1e-12)
    reg = torch.zeros(F + 1, dtype=X.dtype)
    reg[:F] = 1.0
    G = G + ridge * scale[:, None, None] * torch.diag(reg)[None]
    return torch.linalg.solve(G, Xb.transpose(1, 2) @ Y)


def _ridge_predict(W: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    Xb = torch.cat([X, torch.ones(*X.shape[:-1], 1, dtype=X.dtype)], -1)
    return (Xb @ W).argmax(-1)


def ridge_readout_accuracy(X_train, y_train, X_test, y_test, n_classes: int, *, ridge: float = 1e-3) -> np.ndarray:
    """Test accuracy of linear readouts fitted by ridge regression on one-hot targets, batched.

    ``X_train`` (..., N, F), ``y_train`` (..., N) or (N,); the leading axes index independent
    readouts (members, modules, digits). A readout of features that carry no information about
    the target scores chance (``1 / n_classes``) in expectation. ``ridge`` is relative to the mean
    feature power.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 300)
    >>> X = np.eye(3)[y] + 0.1 * rng.standard_normal((300, 3))
    >>> noise = rng.random((300, 3))
    >>> acc = ridge_readout_accuracy(np.stack([X, noise]), y, np.stack([X, noise]), y, 3)
    >>> bool(acc[0] > 0.95), bool(acc[1] < 0.6)
    (True, True)
    """
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    Xtr = torch.as_tensor(np.asarray(X_train, dtype=np.float64))
    Xte = torch.as_tensor(np.asarray(X_test, dtype=np.float64))
    lead = Xtr.shape[:-2]
    if Xte.shape[:-2] != lead or Xte.shape[-1] != Xtr.shape[-1]:
        raise ValueError(f"'X_test' must have shape {(*lead, 'N', Xtr.shape[-1])}; got {tuple(Xte.shape)}")
    ytr = torch.as_tensor(np.broadcast_to(np.asarray(y_train), (*lead, Xtr.shape[-2])).copy())
    yte = torch.as_tensor(np.broadcast_to(np.asarray(y_test), (*lead, Xte.shape[-2])).copy())
    R = int(np.prod(lead)) if lead else 1
    Xtr, Xte = Xtr.reshape(R, *Xtr.shape[-2:]), Xte.reshape(R, *Xte.shape[-2:])
    ytr, yte = ytr.reshape(R, -1), yte.reshape(R, -1)
    Y = torch.nn.functional.one_hot(ytr, n_classes).double()
    W = _ridge_fit(Xtr, Y - Y.mean(1, keepdim=True), float(ridge))
    acc = (_ridge_predict(W, Xte) == yte).double().mean(1)
    return acc.reshape(lead).numpy() if lead else float(acc[0])


def _pair_correlation(H: torch.Tensor, i: np.ndarray, j: np.ndarray) -> torch.Tensor:
    """Mean Pearson correlation (over units) between the states of examples i and j: (K,)."""
    a, b = H[:, i], H[:, j]
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    den = torch.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    r = torch.where(den > 0, (a * b).sum(-1) / den.clamp_min(1e-30), torch.zeros_like(den))
    return r.mean(1)


def _normalise_accuracy(acc, n_classes: int, normalisation: str):
    if normalisation == "chance":
        chance = 1.0 / n_classes
        return np.clip((acc - chance) / (1 - chance), 1e-5, 1.0)
    return np.clip(acc - 0.1 / (1 - 0.1), 1e-5, 1.0)  # Béna & Goodman's code, operator precedence included


def _global_score(a: np.ndarray) -> np.ndarray:
    """``|diff_0 - diff_1| / 2`` over the last two axes (module, digit) of ``a`` (..., 2, 2)."""
    diff = (a[..., 0] - a[..., 1]) / (a[..., 0] + a[..., 1])
    return np.abs(diff[..., 0] - diff[..., 1]) / 2


def bena_metrics(H_train, digits_train, H_test, digits_test, partition, *, n_classes: int = 10,
                 n_pairs: int = 2000, normalisation: str = "chance", ridge: float = 1e-3, seed=None) -> pd.DataFrame:
    """Béna & Goodman's three specialisation measures of two modules, from hidden states.

    For member ``k``, module ``m`` (units with ``partition == m``) and digit ``d``:

    * ``retrain`` -- accuracy of a new readout (ridge regression, :func:`ridge_readout_accuracy`)
      of module ``m``'s states for digit ``d`` (fitted on the train states, scored on the test states);
    * ``ablation`` -- a readout of *both* modules is fitted for digit ``d``; then module ``1 - m``'s
      inputs to it are zeroed, so that only module ``m`` speaks: its test accuracy;
    * ``correlation`` -- mean Pearson correlation of module ``m``'s states between test examples that
      share digit ``d`` (the other digit random), minus that of random pairs, divided by one minus it.

    Accuracies are normalised to ``(acc - 1/C) / (1 - 1/C)`` (``normalisation="chance"``) or as in
    Béna & Goodman's code (``"bena"``: ``acc - 0.1/0.9``, which is not chance-corrected for ``C != 10``);
    every normalised value is clipped to ``[1e-5, 1]``. Each measure's per-network score is
    ``|diff_0 - diff_1| / 2`` (module docstring).

    Parameters
    ----------
    H_train, H_test : array (K, N, n_hidden)
        Hidden states (e.g. the last step, :func:`hidden_states`) of K networks.
    digits_train, digits_test : array (N, 2) of int
        The two digits of each example.
    partition : array (n_hidden,)
        Module 0 or 1 of every unit (module ``m`` should read digit ``m``; the score does not care
        which module serves which digit).
    n_pairs : int
        Example pairs per correlation.

    Returns
    -------
    DataFrame, one row per member: ``retrain_spec, ablation_spec, correlation_spec`` and the raw
    values ``<measure>_m<m>_d<d>`` (accuracies before normalisation; normalised correlations).

    Examples
    --------
    Two modules that each see only one digit are fully specialised:

    >>> rng = np.random.default_rng(0)
    >>> d_tr, d_te = rng.integers(0, 10, (600, 2)), rng.integers(0, 10, (300, 2))
    >>> code = lambda d: np.concatenate([np.eye(10)[d[:, 0]], np.eye(10)[d[:, 1]]], 1)
    >>> H = lambda d: (code(d) + 0.3 * rng.standard_normal((len(d), 20)))[None]
    >>> df = bena_metrics(H(d_tr), d_tr, H(d_te), d_te, np.repeat([0, 1], 10), seed=0)
    >>> df[["retrain_spec", "ablation_spec", "correlation_spec"]].round(2).values.tolist()
    [[1.0, 1.0, 1.0]]
    """
    check_choice(normalisation, "normalisation", ("chance", "bena"))
    n_pairs = check_int(n_pairs, "n_pairs", minimum=10)
    Htr = np.asarray(H_train, dtype=np.float64)
    Hte = np.asarray(H_test, dtype=np.float64)
    if Htr.ndim != 3 or Hte.ndim != 3 or Htr.shape[0] != Hte.shape[0] or Htr.shape[2] != Hte.shape[2]:
        raise ValueError(f"'H_train' and 'H_test' must be (K, N, n_hidden) arrays of the same K and n_hidden; "
                         f"got {Htr.shape} and {Hte.shape}")
    dtr, dte = np.asarray(digits_train), np.asarray(digits_test)
    for name, d, H in (("digits_train", dtr, Htr), ("digits_test", dte, Hte)):
        if d.shape != (H.shape[1], 2):
            raise ValueError(f"'{name}' must have shape ({H.shape[1]}, 2); got {d.shape}")
    P = np.asarray(partition)
    if P.shape != (Htr.shape[2],) or set(np.unique(P).tolist()) != {0, 1}:
        raise ValueError(f"'partition' must label each of the {Htr.shape[2]} units 0 or 1 (two modules); "
                         f"got shape {P.shape} with labels {sorted(set(np.unique(P).tolist()))}")
    C = check_int(n_classes, "n_classes", minimum=2)
    K = Htr.shape[0]
    units = [P == 0, P == 1]
    retrain = np.zeros((K, 2, 2))
    ablation = np.zeros((K, 2, 2))
    for d in (0, 1):
        for m in (0, 1):
            retrain[:, m, d] = ridge_readout_accuracy(Htr[:, :, units[m]], dtr[:, d], Hte[:, :, units[m]],
                                                      dte[:, d], C, ridge=ridge)
        # one readout of both modules per digit; silence module 1 - m at its input
        Xtr, Xte = torch.as_tensor(Htr), torch.as_tensor(Hte)
        Y = torch.nn.functional.one_hot(torch.as_tensor(dtr[:, d]), C).double().expand(K, -1, -1)
        W = _ridge_fit(Xtr, Y - Y.mean(1, keepdim=True), ridge)
        for m in (0, 1):
            keep = torch.as_tensor(units[m], dtype=torch.float64)
            pred = _ridge_predict(W, Xte * keep)
            ablation[:, m, d] = (pred == torch.as_tensor(dte[:, d])).double().mean(1).numpy()
    rng = as_rng(seed)
    Ht = torch.as_tensor(Hte)
    N = len(dte)
    i = rng.integers(0, N, 60 * n_pairs)
    j = rng.integers(0, N, 60 * n_pairs)
    ok = i != j
    i, j = i[ok], j[ok]
    base_pairs = (i[:n_pairs], j[:n_pairs])
    corr = np.zeros((K, 2, 2))
    for m in (0, 1):
        Hm = Ht[:, :, units[m]]
        base = _pair_correlation(Hm, *base_pairs).numpy()
        for d in (0, 1):
            same = dte[i, d] == dte[j, d]
            c = _pair_correlation(Hm, i[same][:n_pairs], j[same][:n_pairs]).numpy()
            corr[:, m, d] = np.where(base < 1, (c - base) / np.where(base < 1, 1 - base, 1), 0.0)
    scores = {
        "retrain_spec": _global_score(_normalise_accuracy(retrain, C, normalisation)),
        "ablation_spec": _global_score(_normalise_accuracy(ablation, C, normalisation)),
        "correlation_spec": _global_score(np.clip(corr, 1e-5, 1.0)),
    }
    rows = pd.DataFrame({"member": np.arange(K), **scores})
    for name, arr in (("retrain", retrain), ("ablation", ablation), ("correlation", corr)):
        for m in (0, 1):
            for d in (0, 1):
                rows[f"{name}_m{m}_d{d}"] = arr[:, m, d]
    return rows


def bena_specialisation(model, task, partition, *, n_train: int = 4000, n_test: int = 2000, step: int = -1,
                        unit_mask=None, seed=None, **kwargs) -> pd.DataFrame:
    """:func:`bena_metrics` of a trained ensemble on a two-stream digit task.

    Hidden states at ``step`` are recorded on ``n_train`` examples of the task's train images (to fit
    the readouts) and ``n_test`` of its test images, all with the task's noise and trained pairs.

    Parameters
    ----------
    task : :class:`~mesoscale.training.digits.PairedDigits`
    partition : array (n_hidden,)
        Module (0 or 1) of each unit, e.g. the input groups.
    unit_mask : tensor (K, n) or (n,), optional
        Silenced units during the forward pass (e.g. a lesion).
    **kwargs
        Passed to :func:`bena_metrics` (``n_pairs``, ``normalisation``, ``ridge``).

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN
    >>> from mesoscale.training.digits import PairedDigits
    >>> task = PairedDigits(seed=0)
    >>> net = SpatialRNN(task.n_input, 8, 10, n_members=2, seed=0)
    >>> df = bena_specialisation(net, task, np.repeat([0, 1], 4), n_train=200, n_test=100, seed=0)
    >>> df.shape[0], bool(df.retrain_spec.between(0, 1).all())
    (2, True)
    """
    from .digits import PairedDigits

    if not isinstance(task, PairedDigits):
        raise TypeError(f"'task' must be a PairedDigits; got {type(task).__name__}")
    ss = seed_sequence(seed)
    btr = task.sample(check_int(n_train, "n_train", minimum=10), as_rng(seed_sequence(ss, 0)), split="train")
    bte = task.sample(check_int(n_test, "n_test", minimum=10), as_rng(seed_sequence(ss, 1)), split="test")
    Htr = hidden_states(model, btr, step=step, unit_mask=unit_mask)
    Hte = hidden_states(model, bte, step=step, unit_mask=unit_mask)
    return bena_metrics(Htr, task.digits(btr), Hte, task.digits(bte), partition, n_classes=task.n_classes,
                        seed=seed_sequence(ss, 2), **kwargs)
