"""Fitting generative network models to a connectome.

:func:`fit` searches the ``(eta, gamma)`` plane of each wiring rule for the parameters
whose networks are closest to a target network in the energy of Betzel et al. (2016):
the largest of the Kolmogorov–Smirnov statistics of degree, clustering, betweenness and
edge length (:func:`mesoscale.metrics.ks_energy`).

Two searches:

``"grid"``
    ``n_draws`` points on a regular grid over ``eta_range`` x ``gamma_range``.
``"voronoi"``
    Adaptive refinement (Betzel et al. 2016; Oldham et al. 2022): ``levels`` rounds
    of ``n_draws`` points. Round 1 is uniform over the box; every later round splits
    the box into the Voronoi cells of all points evaluated so far, picks cells with
    probability proportional to ``energy ** -power`` (mean energy over repeats) and
    draws one point uniformly inside each picked cell.

The ``gamma = 0`` line
    Every two-parameter rule contains ``sptl`` at ``gamma = 0`` (its topology term is
    ``(K + eps) ** 0 = 1`` or ``exp(0 * K) = 1``; the engine then grows sptl's networks
    bit for bit from the same streams), so its best energy cannot be worse than sptl's
    beyond noise -- but a 2-D search rarely lands in the narrow band of ``gamma`` around
    0 where the law is close to sptl's (with the powerlaw term, pairs without shared
    structure weigh ``eps ** gamma``). Each two-parameter rule therefore also searches
    the line ``gamma = 0`` the way ``sptl`` is searched: ``"voronoi"`` adds ``n_gamma0``
    points per level, round 1 uniform in ``eta``, later rounds refined by 1-D Voronoi
    cells weighted by the energies of the line's own points. The default ``n_gamma0 =
    n_draws`` is sptl's budget, so a rule is never reported worse than sptl for want of
    points (with a quarter of it, 3 of 24 test fits -- a 40-node toy and human_dk68 at
    the quick budget -- tripped the nesting check by budget alone; with the full budget
    none). ``"grid"`` adds a ``gamma = 0`` row at the grid's ``eta`` values unless the
    grid already has one. The line is a search of its own: the 2-D points and their
    refinement are exactly those of a fit without it (old stores stay valid), and the
    line is compared with sptl like with like. Line points are ordinary rows of the table
    (``gamma == 0``, ``point`` numbered after the level's 2-D points, drawn from their own
    generator, each with the point stream below), stored in ``STORE/<rule>/level<k>-gamma0``.
    No line is searched when ``gamma_range`` excludes 0 (nothing is nested in that box).

Every point is evaluated with ``n_networks`` independent networks (its repeats). Each
point's random stream depends only on ``seed`` and the point itself (rule, level,
index, eta, gamma), exactly as in :func:`mesoscale.sweep.run_sweep`, so the in-process
path and a Dask sweep give the same table.

Other criteria and models
    ``criterion`` scores networks with any of :data:`mesoscale.metrics.CRITERIA` (or a ``max`` /
    ``mean`` combination) instead of the KS energy; ``model`` (a
    :class:`~mesoscale.generative.WeightedModel` or
    :class:`~mesoscale.generative.HeterochronousModel`) grows weighted or heterochronous networks
    and adds its parameters (``alpha``, ``omega``; ``lam``) to the search box, refined by the same
    Voronoi rounds in the higher-dimensional box. Extended models search no ``gamma = 0`` line.

After the search, :func:`~mesoscale.generative.nesting_table` checks every rule against
its ``gamma = 0`` line and sptl (``FitResult.nesting``); ``nesting="warn"`` (default)
issues a :class:`~mesoscale.generative.NestingWarning` naming the violating rules,
``"raise"`` a :class:`~mesoscale.generative.NestingError`.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import warnings
from pathlib import Path

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .._validation import (
    SeedLike,
    check_adjacency,
    check_choice,
    check_distance,
    check_float,
    check_int,
    seed_sequence,
)
from ..metrics import KS_COLUMNS, Criterion, ks_energy
from . import _kernels
from ._engine import check_model_var, check_seed_network, distance_feature, run_engine
from ._kernels import WIRING_RULES
from .search import grid_size, unit_grid, unit_voronoi_draw
from .ranking import NestingError, NestingWarning, best_parameters, nesting_message, nesting_table

__all__ = ["fit", "FitResult", "recorded_seed"]


@dataclasses.dataclass
class FitResult:
    """Outcome of :func:`fit`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per network: ``rule, level, point, eta, gamma, repeat`` and the columns of
        :data:`mesoscale.metrics.KS_COLUMNS` (``gamma`` is NaN for ``sptl``).
    best : pandas.DataFrame
        One row per rule: ``eta``/``gamma`` the mean over the ``top_k`` points of lowest
        mean energy, ``eta_sd``/``gamma_sd`` their standard deviation, ``energy`` the
        lowest mean energy of a point, ``energy_topk`` and ``energy_topk_sd`` the mean and
        standard deviation over the top-k points, ``n_networks`` the networks evaluated.
        Sorted by ``energy``.
    settings : dict
        The arguments of the search.
    nesting : pandas.DataFrame
        :func:`~mesoscale.generative.nesting_table` of ``table`` with ``top_k``: per
        two-parameter rule, its top-k energy against its ``gamma = 0`` line and sptl, the
        tolerance and ``ok``.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.random.default_rng(0).random((20, 2)); D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> res = fit(np.ones((20, 20)) - np.eye(20), D, rules=["sptl"], n_draws=3, levels=1, m=30, seed=0, progress=False)
    >>> res.best_rule, list(res.table.columns[:4])
    ('sptl', ['rule', 'level', 'point', 'eta'])
    """

    table: pd.DataFrame
    best: pd.DataFrame
    settings: dict
    nesting: pd.DataFrame | None = None

    @property
    def best_rule(self) -> str:
        """The rule with the lowest energy."""
        return str(self.best.iloc[0]["rule"])


#: Most networks one chunk of a fit grows and scores at a time (n <= 100 / larger n). The in-process
#: path holds at most two chunks (one growing while the other is scored), the sweep path one.
FIT_CHUNK_SMALL = 512
FIT_CHUNK_LARGE = 128


#: Networks per chunk of a fit on a torch device (the engine splits a chunk further when memory is short).
FIT_CHUNK_DEVICE = 8192


def _fit_chunk(n, device=None):
    if device is not None:
        return FIT_CHUNK_DEVICE
    return FIT_CHUNK_SMALL if n <= 100 else FIT_CHUNK_LARGE


def _evaluate_point(params, rng, *, target, D, m, model_var, seed_network, epsilon, n_networks, device=None,
                    criterion=None, model=None):
    """Sweep task: grow ``n_networks`` networks at one point, chunk by chunk, and return their scores."""
    from .models import generate_batches

    cols = KS_COLUMNS if criterion is None else criterion.columns
    gamma = None if params["rule"] == "sptl" else params["gamma"]
    if model is not None:
        A0 = np.zeros(np.shape(D), np.uint8) if seed_network is None else seed_network.astype(np.uint8)
        B = n_networks
        extras = {k: np.full(B, params[k]) for k in model.extra_ranges}
        nets, W = model.grow(D, m, params["rule"], np.full(B, params["eta"]), np.full(B, 0.0 if gamma is None
                             else gamma), extras, seed_sequence(rng).spawn(B), model_var=model_var,
                             seed_network=A0, epsilon=epsilon)
        E = criterion(nets, W)
    else:
        batches = generate_batches(D, m, params["rule"], params["eta"], gamma, model_var=model_var,
                                   seed_network=seed_network, epsilon=epsilon, n_networks=n_networks, seed=rng,
                                   batch_size=_fit_chunk(np.shape(D)[0], device), device=device)
        score = (lambda nets: ks_energy(nets, target, D, device=device)) if criterion is None else criterion
        E = np.concatenate([score(nets) for nets in batches])
    return pd.DataFrame({"repeat": np.arange(n_networks), **{c: E[:, i] for i, c in enumerate(cols)}})


def _point_params(rule, level, pts, extras=()):
    """Grid rows of the points ``pts`` (columns eta, gamma, then the extra parameters)."""
    return [
        {"rule": rule, "level": level, "point": int(i), "eta": float(p[0]), "gamma": float(p[1]),
         **{k: float(p[2 + q]) for q, k in enumerate(extras)}}
        for i, p in enumerate(pts)
    ]


def _network_streams(grid, root, n_networks):
    """The stream of every network of ``grid``, in order: repeat r of a point is child r of the
    point's stream (``task_rng``), exactly as :func:`generate` spawns them in the sweep task."""
    from ..sweep import task_rng

    for params in grid:
        ss = seed_sequence(task_rng(root, params))
        for _ in range(n_networks):
            yield ss.spawn(1)[0]  # consecutive spawns = one spawn(n_networks)


def _evaluate_inprocess(grid, root, ctx, n_jobs, chunk, bar):
    """Same numbers as the sweep path (per-point streams from ``task_rng``), in bounded chunks.

    The networks of all points are cut into chunks of at most ``chunk`` networks (a point's
    repeats may span chunks). Growing chunk ``c + 1`` (numba, GIL released) overlaps with the
    energies of chunk ``c``, so at most two chunks of networks exist at a time; only the
    energies (5 floats per network) are kept.
    """
    from concurrent.futures import ThreadPoolExecutor

    n_networks = ctx["n_networks"]
    A0 = ctx["A0"]
    steps = ctx["m"] - int(A0.sum()) // 2
    etas = np.repeat([p["eta"] for p in grid], n_networks)
    gammas = np.repeat([p["gamma"] for p in grid], n_networks)
    model, criterion = ctx.get("model"), ctx.get("criterion")
    extras = {k: np.repeat([p[k] for p in grid], n_networks) for k in ([] if model is None else model.extra_ranges)}
    total = etas.size
    streams = _network_streams(grid, root, n_networks)
    bounds = [(lo, min(total, lo + chunk)) for lo in range(0, total, chunk)]

    device = ctx.get("device")

    def grow(lohi):
        lo, hi = lohi
        if model is not None:  # weighted or heterochronous: the model grows (networks, weights or None)
            return model.grow(ctx["D"], ctx["m"], grid[0]["rule"], etas[lo:hi], gammas[lo:hi],
                              {k: v[lo:hi] for k, v in extras.items()}, list(itertools.islice(streams, hi - lo)),
                              model_var=ctx["model_var"], seed_network=A0, epsilon=ctx["epsilon"], n_jobs=n_jobs)
        if device is not None:  # the torch engine: the same per-network streams, the same law
            from ._torch_engine import run_torch_engine

            nets, _ = run_torch_engine(A0, ctx["X"][0], grid[0]["rule"], etas[lo:hi], gammas[lo:hi], ctx["epsilon"],
                                       ctx["kexp"], list(itertools.islice(streams, hi - lo)), steps, device, False,
                                       "fit")
            return nets, None
        nets, _ = run_engine(A0, ctx["X"], np.zeros(1, np.int64), np.array([ctx["m"]], np.int64),
                             np.zeros(A0.shape[0], np.int64), grid[0]["rule"], etas[lo:hi], gammas[lo:hi],
                             ctx["epsilon"], ctx["kexp"], list(itertools.islice(streams, hi - lo)), steps, n_jobs,
                             False, "")
        return nets, None

    cols = KS_COLUMNS if criterion is None else criterion.columns
    E = np.empty((total, len(cols)))
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(grow, bounds[0])
        for c, (lo, hi) in enumerate(bounds):
            nets, W = future.result()
            if c + 1 < len(bounds):  # chunks are grown one after the other: streams are drawn in order
                future = pool.submit(grow, bounds[c + 1])
            if criterion is None:
                E[lo:hi] = ks_energy(nets, ctx["target"], ctx["D"], n_jobs=n_jobs, device=device)
            else:
                E[lo:hi] = criterion(nets, W, n_jobs=n_jobs)
            del nets, W
            bar.update(hi - lo)
    point = np.repeat([p["point"] for p in grid], n_networks)
    return pd.DataFrame({"rule": grid[0]["rule"], "level": grid[0]["level"], "point": point, "eta": etas,
                         "gamma": gammas, **extras, "repeat": np.tile(np.arange(n_networks), len(grid)),
                         **{col: E[:, i] for i, col in enumerate(cols)}})


def recorded_seed(store) -> int | None:
    """The root seed a :func:`fit` store was made with (``None`` for a new or empty store).

    A fit store holds one sweep store per rule and level (``STORE/<rule>/level<k>``), each
    with the root seed in its manifest; :func:`fit` with ``seed=None`` continues with it,
    as :func:`mesoscale.sweep.run_sweep` does.

    Examples
    --------
    >>> import os, tempfile
    >>> recorded_seed(os.path.join(tempfile.mkdtemp(), "new")) is None
    True
    """
    from ..sweep import sweep_status

    if store is None:
        return None
    seeds = set()
    for man in sorted(Path(store).glob("*/level*/manifest.json")):
        ent = sweep_status(man.parent)["seed"]["entropy"]
        if not isinstance(ent, int):
            raise ValueError(f"store '{store}': {man.parent} has a seed {ent!r} that fit() did not write")
        seeds.add(ent)
    if len(seeds) > 1:
        raise ValueError(f"store '{store}' mixes sub-stores made with different seeds {sorted(seeds)}")
    return seeds.pop() if seeds else None


def fit(
    target: ArrayLike,
    D: ArrayLike,
    rules: str | Sequence[str] = WIRING_RULES,
    search: str = "voronoi",
    n_draws: int = 1000,
    levels: int = 5,
    *,
    eta_range: tuple[float, float] = (-7.0, 0.0),
    gamma_range: tuple[float, float] = (-7.5, 7.5),
    n_networks: int = 1,
    m: int | None = None,
    model_var: str | Sequence[str] = ("powerlaw", "powerlaw"),
    seed_network: ArrayLike | None = None,
    epsilon: float = 1e-5,
    power: float = 2.0,
    top_k: int = 10,
    n_gamma0: int | None = None,
    nesting: str = "warn",
    seed: SeedLike = None,
    client=None,
    store: str | Path | None = None,
    n_jobs: int | None = 1,
    device=None,
    progress: bool = True,
    criterion: str | Sequence[str] | None = None,
    combine: str = "max",
    model=None,
) -> FitResult:
    """Fit wiring rules to a target network by (adaptive) search of ``(eta, gamma)``.

    Parameters
    ----------
    target : array_like, shape (n, n)
        The observed network (non-zero entries are edges; their values are the weights the
        weighted criteria compare with).
    D : array_like, shape (n, n)
        Distances between its nodes.
    rules : str or sequence of str
        Rules to fit (default: all of :data:`WIRING_RULES`).
    search : {"voronoi", "grid"}
        Adaptive Voronoi refinement or a regular grid (see the module docstring).
    n_draws : int
        Points per level (``"voronoi"``), or grid points in all (``"grid"``: a
        ``round(sqrt(n_draws))``-sided square grid; ``n_draws`` values of ``eta`` for ``sptl``).
    levels : int
        Refinement rounds of ``"voronoi"`` (ignored by ``"grid"``).
    eta_range, gamma_range : (float, float)
        The search box.
    n_networks : int
        Networks (repeats) per point. Networks per rule: ``n_draws * levels * n_networks``
        for sptl, plus the ``gamma = 0`` line's ``n_gamma0 * levels * n_networks`` for the others.
    m : int, optional
        Edges of the synthetic networks (default: those of ``target``).
    model_var, seed_network, epsilon
        As in :func:`~mesoscale.generative.generate`.
    power : float
        Voronoi cell selection probability ``~ energy ** -power``.
    top_k : int
        Points averaged for the best parameters and their spread.
    n_gamma0 : int, optional
        ``"voronoi"``: points per level on the ``gamma = 0`` line of every two-parameter
        rule (default ``n_draws``: the line is searched with sptl's budget, so that no rule
        is reported worse than sptl for want of points; a smaller line costs fewer networks
        but tends to trip the nesting check; ``0`` switches the line off). ``"grid"``: ``0``
        switches the added ``gamma = 0`` row off, other values are ignored (the row has the
        grid's ``eta`` values). See the module docstring.
    nesting : {"warn", "raise", "ignore"}
        What to do when :func:`~mesoscale.generative.nesting_table` finds a rule worse
        than its ``gamma = 0`` special case or sptl beyond noise: a
        :class:`~mesoscale.generative.NestingWarning`, a
        :class:`~mesoscale.generative.NestingError` (its ``.result`` keeps the fit), or
        nothing. The table is in ``FitResult.nesting`` either way.
    seed : int or SeedSequence, optional
        Root of all randomness; same seed, same table (in process or on Dask). With
        ``seed=None`` and an existing ``store``, the store's recorded seed is used
        (:func:`recorded_seed`), so the fit resumes; otherwise fresh entropy is drawn.
    client : dask Client or 'inline', optional
        Run the evaluations as :func:`mesoscale.sweep.run_sweep` tasks on this client.
    store : str or Path, optional
        Directory for persistent, resumable results (one sweep store per rule and level,
        ``STORE/<rule>/level<k>``); implies the sweep path (``client='inline'`` if none).
    n_jobs : int
        Threads of the in-process path (``-1``: all cores).
    device : str or torch.device, optional
        ``None`` (default): the numba engine and energy on the CPU. A torch device (``"cuda"``,
        ``"cuda:1"``, ``"cpu"``): networks are grown with ``generate(..., device=)`` and scored with
        ``ks_energy(..., device=)`` there, in chunks of 8,192 networks (in process) or per point
        (sweep path). Every network keeps its stream, so the table has the same points and the
        same law as on the CPU, not the same bits. An unknown or unavailable device, or one with
        too little free memory for a single network, raises ``ValueError`` before any work.
    progress : bool
        Show a progress bar.
    criterion : str or sequence of str, optional
        How networks are scored (:data:`mesoscale.metrics.CRITERIA`; several are combined by
        ``combine``, see :class:`mesoscale.metrics.Criterion`). ``None`` (default) is the KS
        energy, exactly as before; with a weighted ``model`` it is ``"weighted_ks"``. The table's
        score columns are the criterion's; ``energy`` is always the one ranked.
    combine : {"max", "mean"}
        How several criteria make one energy.
    model : WeightedModel or HeterochronousModel, optional
        Grow weighted or heterochronous networks; the model's parameters (``extra_ranges``) join
        ``eta`` and ``gamma`` in the search (``alpha``/``omega`` or ``lam`` columns; no ``gamma = 0``
        line). Not with ``device``.

    Returns
    -------
    FitResult
        ``.table`` (every network), ``.best`` (per rule, sorted by energy), ``.best_rule``,
        ``.nesting`` (the nesting check).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.random((30, 2)); D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> from mesoscale.generative import generate
    >>> target = generate(D, 60, "matching", -3.0, 0.5, seed=1)[0]
    >>> res = fit(target, D, rules=["sptl", "matching"], n_draws=20, levels=2, seed=0, progress=False)
    >>> sorted(res.best["rule"]), len(res.table)  # 2 levels x (20 + 20 + 20 points on matching's gamma = 0 line)
    (['matching', 'sptl'], 120)
    >>> res.nesting[["rule", "k", "ok"]].to_numpy().tolist()
    [['matching', 10, True]]
    """
    from tqdm.auto import tqdm

    T = check_adjacency(target, "target", binary=True)
    Wt = check_adjacency(target, "target") * T  # the weights on the edges (zero diagonal)
    n = T.shape[0]
    Dm = check_distance(D, n, name="D")
    if isinstance(rules, str):
        rules = [rules]
    rules = [check_choice(r, "rules", WIRING_RULES) for r in rules]
    if not rules or len(set(rules)) != len(rules):
        raise ValueError(f"'rules' must be a non-empty list of distinct rules; got {rules!r}")
    search = check_choice(search, "search", ("voronoi", "grid"))
    n_draws = check_int(n_draws, "n_draws", minimum=1)
    levels = check_int(levels, "levels", minimum=1) if search == "voronoi" else 1
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    top_k = check_int(top_k, "top_k", minimum=1)
    power = check_float(power, "power", minimum=0.0)
    n_gamma0 = n_draws if n_gamma0 is None else check_int(n_gamma0, "n_gamma0", minimum=0)
    nesting = check_choice(nesting, "nesting", ("warn", "raise", "ignore"))
    box = []
    for name, rng_ in (("eta_range", eta_range), ("gamma_range", gamma_range)):
        if np.ndim(rng_) != 1 or len(rng_) != 2:
            raise ValueError(f"'{name}' must be a pair (low, high); got {rng_!r}")
        a, b = check_float(rng_[0], name), check_float(rng_[1], name)
        if not a < b:
            raise ValueError(f"'{name}' must have low < high; got {rng_!r}")
        box.append((a, b))
    dist_var, top_var = check_model_var(model_var)
    eps = check_float(epsilon, "epsilon")
    if eps <= 0:
        raise ValueError(f"'epsilon' must be > 0; got {eps}")
    m = int(T.sum()) // 2 if m is None else check_int(m, "m", minimum=1)
    A0 = check_seed_network(seed_network, n)
    if m < int(A0.sum()) // 2 or m > n * (n - 1) // 2:
        raise ValueError(f"'m' must lie between the seed's edges and the {n * (n - 1) // 2} pairs; got {m}")
    if model is not None and not all(hasattr(model, a) for a in ("extra_ranges", "grow", "weighted")):
        raise TypeError(f"'model' must be a WeightedModel or HeterochronousModel; got {type(model).__name__}")
    if model is not None and device is not None:
        raise ValueError("'device' is not supported with 'model' (a WeightedModel takes its own device)")
    extras = {} if model is None else dict(model.extra_ranges)
    if criterion is None and model is not None and model.weighted:
        criterion = "weighted_ks"
    crit = None if criterion is None else Criterion(criterion, Wt, Dm, combine=combine)
    if device is not None:  # checked before any work: nothing is written to a store for a bad device
        from .._validation import check_torch_device
        from ._torch_engine import chunk_size as engine_chunk

        device = check_torch_device(device, ("cpu", "cuda"))
        for rule in rules:  # one network must fit into the device's free memory
            engine_chunk(device, 1, n, m - int(A0.sum()) // 2, rule)
        ks_energy(np.zeros((1, n, n), bool), T, Dm, device=device)  # and the energy of one
    if store is not None and client is None:
        client = "inline"
    root = recorded_seed(store) if (seed is None and store is not None) else None
    if root is None:
        ss = seed_sequence(seed)
        root = int(ss.generate_state(2, np.uint64)[0] >> np.uint64(1))  # one int for the sweep stores

    ctx = dict(
        target=T,
        D=Dm,
        m=m,
        A0=A0,
        X=distance_feature(Dm, dist_var)[None],
        epsilon=eps,
        kexp=top_var == "exponential",
        n_networks=n_networks,
        device=device,
        model=model,
        criterion=crit,
        model_var=(dist_var, top_var),
    )
    task = functools.partial(
        _evaluate_point,
        target=T,
        D=Dm,
        m=m,
        model_var=(dist_var, top_var),
        seed_network=A0 if A0.any() else None,
        epsilon=eps,
        n_networks=n_networks,
        device=None if device is None else str(device),
        criterion=crit,
        model=model,
    )
    lo = np.array([box[0][0], box[1][0]] + [r[0] for r in extras.values()])
    hi = np.array([box[0][1], box[1][1]] + [r[1] for r in extras.values()])
    grid_side = max(1, int(round(np.sqrt(n_draws))))  # as in unit_grid
    grid_gammas = lo[1] + unit_grid(n_draws, 2)[:, 1] * (hi[1] - lo[1])
    if not (box[1][0] <= 0.0 <= box[1][1]) or extras:
        n_line = 0  # gamma = 0 lies outside the box (no nesting to check inside it), or an extended model
    elif search == "grid":
        n_line = 0 if (n_gamma0 == 0 or np.any(grid_gammas == 0.0)) else grid_side
    else:
        n_line = n_gamma0
    dims = {r: [0] + ([] if r == "sptl" else [1]) + list(range(2, 2 + len(extras))) for r in rules}
    per_level = [n_draws if search == "voronoi" else grid_size(n_draws, len(dims[r])) for r in rules]
    per_level = [p + (n_line if r != "sptl" else 0) for p, r in zip(per_level, rules)]
    total = sum(per_level) * levels * n_networks
    bar = tqdm(total=total, desc="fit", unit="net", disable=not progress)
    tables = []

    def evaluate(grid, sub):
        if client is None:
            return _evaluate_inprocess(grid, root, ctx, n_jobs, _fit_chunk(n, device), bar)
        from ..sweep import run_sweep

        path = None if store is None else str(Path(store) / grid[0]["rule"] / sub)
        df = run_sweep(task, grid, path, client=client, seed=root, progress=False)
        bar.update(len(df))
        return df

    names = ["eta", "gamma", *extras]

    def refine(tabs, dim, n_new, rng):
        prev = pd.concat(tabs, ignore_index=True)
        pts = prev.groupby(["level", "point"], sort=True).agg(
            **{k: (k, "first") for k in names}, energy=("energy", "mean"))
        P = (pts[names].to_numpy()[:, dim] - lo[dim]) / (hi[dim] - lo[dim])
        return unit_voronoi_draw(P, pts["energy"].to_numpy(), n_new, power, rng)

    try:
        for rule in rules:
            dim = dims[rule]
            d = len(dim)
            level_rng = np.random.default_rng([root, _kernels.RULE_CODE[rule]])
            # the gamma = 0 line's own generator: the 2-D draws are those of a fit without the line
            line_rng = np.random.default_rng([root, _kernels.RULE_CODE[rule], 1])
            line = n_line if rule != "sptl" else 0
            rule_tabs, line_tabs = [], []
            for level in range(levels):
                if search == "grid":
                    U = unit_grid(n_draws, d)
                elif level == 0:
                    U = level_rng.random((n_draws, d))
                else:
                    U = refine(rule_tabs, dim, n_draws, level_rng)
                pts = np.zeros((len(U), len(names)))
                pts[:, dim] = lo[dim] + U * (hi[dim] - lo[dim])
                grid = _point_params(rule, level, pts, extras)
                line_grid = []
                if line:
                    if search == "grid":
                        V = np.linspace(0.0, 1.0, grid_side)
                    elif level == 0:
                        V = line_rng.random(line)
                    else:
                        V = refine(line_tabs, [0], line, line_rng)[:, 0]
                    etas = lo[0] + V * (hi[0] - lo[0])
                    line_grid = _point_params(rule, level, np.column_stack([etas, np.zeros(line)]))
                    for p in line_grid:
                        p["point"] += len(grid)
                if client is None and line_grid:  # one stream of chunks; every point keeps its own streams
                    df = evaluate(grid + line_grid, None)
                    is_line = df["point"].to_numpy() >= len(grid)
                    rule_tabs.append(df[~is_line])
                    line_tabs.append(df[is_line])
                else:
                    rule_tabs.append(evaluate(grid, f"level{level}"))
                    if line_grid:
                        line_tabs.append(evaluate(line_grid, f"level{level}-gamma0"))
            for level in range(levels):
                tables.append(rule_tabs[level])
                if line_tabs:
                    tables.append(line_tabs[level])
    finally:
        bar.close()
    table = pd.concat(tables, ignore_index=True)
    cols = ["rule", "level", "point", "eta", "gamma", *extras, "repeat"]
    table = table[cols + list(KS_COLUMNS if crit is None else crit.columns)]
    table.loc[table["rule"] == "sptl", "gamma"] = np.nan
    best = best_parameters(table, top_k, tuple(extras))
    settings = dict(rules=list(rules), search=search, n_draws=n_draws, levels=levels, eta_range=box[0],
                    gamma_range=box[1], n_networks=n_networks, m=m, model_var=(dist_var, top_var), epsilon=eps,
                    power=power, top_k=top_k, n_gamma0=n_line, nesting=nesting, seed=root,
                    criterion=None if crit is None else list(crit.parts), combine=combine,
                    model=None if model is None else repr(model), extra_ranges=extras)
    check = nesting_table(table, top_k, gamma_range=box[1])
    result = FitResult(table=table, best=best, settings=settings, nesting=check)
    message = nesting_message(check)
    if message and nesting == "raise":
        raise NestingError(message, result=result, nesting=check)
    if message and nesting == "warn":
        warnings.warn(message, NestingWarning, stacklevel=2)
    return result
