"""Where in parameter space do wiring rules build modular networks?

This module maps the mesoscale structure that the wiring rules of
:func:`~mesoscale.generative.generate` produce, and returns tidy tables (one row per
generated network) ready for phase diagrams:

:func:`network_summary`
    The mesoscale summary of one network: maximum modularity ``Q`` with its z-score and
    percentile against each requested null model (degree-preserving, spatial,
    density), the number and sizes of modules, mean participation, global efficiency
    and wiring cost.
:func:`landscape`
    A rule x (eta, gamma) grid for one distance matrix ``D`` and edge count ``m``, run
    through :func:`mesoscale.sweep.run_sweep` (so it can be stored, resumed and run on a
    cluster).
:func:`conditions`
    The same summaries while network size, density and spatial embedding vary
    (random points in a cube, an elongated body, real worm and human geometries).
:func:`summarize`
    Mean z-scores and the fraction of significantly modular networks per grid cell.

The developmental growth study lives in :mod:`mesoscale.generative.development`.
Every random step draws from a stream derived from the sweep's ``seed`` and the task's
parameters (see :mod:`mesoscale.sweep`), so a cell can be recomputed alone and results
do not depend on the number of workers.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import (
    as_rng,
    check_adjacency,
    check_choice,
    check_distance,
    check_float,
    check_float_list,
    check_int,
    check_matrix,
    distance_matrix,
    seed_sequence,
)
from ..metrics import global_efficiency, modularity_significance, participation_coefficient, wiring_cost
from ._engine import check_nulls, check_rules, fingerprint, run_grid
from ._kernels import WIRING_RULES
from .models import generate
from .summaries import best_by, rule_verdicts, significance, summarize  # noqa: F401  (the sweep tables' summaries)

__all__ = [
    "RULE_FAMILIES",
    "REPRESENTATIVE_RULES",
    "EMBEDDINGS",
    "rule_family",
    "network_summary",
    "embedding_positions",
    "landscape",
    "conditions",
]


#: The four families of wiring rules and their members.
RULE_FAMILIES = {
    "spatial": ("sptl",),
    "homophily": ("matching", "neighbors"),
    "clustering": ("clu-avg", "clu-min", "clu-max", "clu-diff", "clu-prod"),
    "degree": ("deg-avg", "deg-min", "deg-max", "deg-diff", "deg-prod"),
}


#: One rule per family, used by default.
REPRESENTATIVE_RULES = ("sptl", "matching", "clu-avg", "deg-avg")


#: Spatial embeddings understood by :func:`embedding_positions`.
EMBEDDINGS = ("cube", "line", "worm", "human")


_WORM = "celegans_cook2019_herm"


_HUMAN = "human_dk68"


def rule_family(rule: str) -> str:
    """Family (``"spatial"``, ``"homophily"``, ``"clustering"``, ``"degree"``) of a wiring rule.

    Examples
    --------
    >>> rule_family("clu-min"), rule_family("matching")
    ('clustering', 'homophily')
    """
    check_choice(rule, "rule", WIRING_RULES)
    for fam, members in RULE_FAMILIES.items():
        if rule in members:
            return fam
    raise AssertionError(rule)  # pragma: no cover - every rule has a family


def network_summary(
    A,
    D=None,
    *,
    nulls: Sequence[str] = ("degree", "spatial"),
    n_null: int = 20,
    n_runs: int = 10,
    seed=None,
) -> dict:
    """Mesoscale summary of one undirected network, every modularity with its null comparison.

    The observed maximum modularity ``Q`` (best of ``n_runs`` Louvain runs) is compared with
    ``n_null`` networks of each null model in ``nulls``
    (:func:`~mesoscale.metrics.modularity_significance`); the same observed partition is used
    for every null (each test is given the same seed, so its observed search is identical)
    and for the module statistics.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Symmetric adjacency matrix (any non-zero entry is an edge), zero diagonal.
    D : array_like, shape (n, n), optional
        Distances; needed for the ``"spatial"`` null and for ``wiring_cost``.
    nulls : sequence of {"degree", "spatial", "density"}
    n_null : int
        Null networks per null model (>= 2).
    n_runs : int
        Louvain runs per network (observed and null alike).
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    dict
        ``n_nodes, n_edges, edge_density, Q`` and, per null ``X``: ``Q_null_X`` (mean null Q),
        ``z_X``, ``percentile_X``, ``delta_X`` (ΔQ) with ``delta_low_X``/``delta_high_X`` (its 95 %
        interval) and ``p_X`` (empirical p); ``n_null, n_runs``; ``n_components``,
        ``largest_component`` (share of nodes) and ``fragmented`` (:func:`mesoscale.metrics.fragmentation`:
        the Q of a network in pieces mostly counts pieces); ``n_modules`` (all modules),
        ``n_modules_2plus`` (modules of at least two nodes), ``largest_module`` (fraction of
        nodes in the largest module), ``module_size_mean`` (mean size of modules of two
        or more nodes), ``participation`` (mean participation coefficient of non-isolated
        nodes), ``efficiency`` (global efficiency), ``wiring_cost``
        (:func:`mesoscale.metrics.wiring_cost`, relative to random;
        NaN without ``D``) and ``partition`` (the module labels, a list).

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    >>> s = network_summary(A, nulls=("degree",), n_null=5, n_runs=3, seed=0)
    >>> bool(s["z_degree"] > 2), s["n_null"]
    (True, 5)
    """
    M = check_adjacency(A, "A", binary=True)
    n = M.shape[0]
    nulls = check_nulls(nulls)
    n_null = check_int(n_null, "n_null", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    Dm = None if D is None else check_distance(D, n)
    if "spatial" in nulls and Dm is None:
        raise ValueError("nulls include 'spatial', which needs the distance matrix 'D'; got D=None")
    m = int(M.sum() // 2)
    if m == 0:
        raise ValueError("'A' has no edges; modularity is undefined")
    ss = seed_sequence(seed)
    out: dict = {"n_nodes": n, "n_edges": m, "edge_density": m / (n * (n - 1) / 2)}
    partition = None
    for null in nulls:
        t = modularity_significance(M, null, n_null, Dm, ss, n_runs=n_runs, on_fragmented="ignore")
        if partition is None:
            partition = t.partition
            out["Q"] = t.q
            out.update(n_components=t.n_components, largest_component=t.largest_component,
                       fragmented=bool(t.fragmented))
        out[f"Q_null_{null}"] = t.null_mean
        out[f"z_{null}"] = t.z
        out[f"percentile_{null}"] = t.percentile
        out[f"delta_{null}"] = t.delta
        out[f"delta_low_{null}"] = t.delta_low
        out[f"delta_high_{null}"] = t.delta_high
        out[f"p_{null}"] = t.p_value
    out["n_null"] = n_null
    out["n_runs"] = n_runs
    sizes = np.bincount(partition)
    big = sizes[sizes >= 2]
    out["n_modules"] = int(sizes.size)
    out["n_modules_2plus"] = int(big.size)
    out["largest_module"] = float(sizes.max() / n)
    out["module_size_mean"] = float(big.mean()) if big.size else np.nan
    deg = M.sum(axis=1)
    with warnings.catch_warnings():  # bctpy divides by zero for isolated nodes (excluded below)
        warnings.simplefilter("ignore", RuntimeWarning)
        pc = participation_coefficient(M, partition)
    out["participation"] = float(pc[deg > 0].mean())
    out["efficiency"] = float(global_efficiency(M))
    out["wiring_cost"] = wiring_cost(M, Dm, relative=True) if Dm is not None else np.nan
    out["partition"] = [int(x) for x in partition]
    return out


def _real_positions(kind: str) -> np.ndarray:
    from .. import connectomes

    c = connectomes.load(_WORM if kind == "worm" else _HUMAN)
    P = np.asarray(c.positions, dtype=float)
    return P[np.all(np.isfinite(P), axis=1)]


def embedding_positions(kind: str, n: int, seed=None, *, aspect: float = 10.0, base=None) -> np.ndarray:
    """Node positions for one of the spatial embeddings in :data:`EMBEDDINGS`.

    Parameters
    ----------
    kind : {"cube", "line", "worm", "human"}
        ``"cube"``: uniform in the unit cube. ``"line"``: uniform in an elongated box
        ``aspect x 1 x 1`` (a body much longer than wide). ``"worm"``: ``n`` neurons drawn
        without replacement from the 302 *C. elegans* neuron positions (atlas units,
        ``celegans_cook2019_herm``). ``"human"``: ``n`` of the 68 region centres of
        ``human_dk68`` (mm).
    n : int
        Number of nodes (at most 302 for ``"worm"``, 68 for ``"human"``).
    seed : None, int, SeedSequence or Generator
    aspect : float
        Length-to-width ratio of the ``"line"`` body.
    base : array_like, shape (N, 3), optional
        Positions to draw from for ``"worm"``/``"human"`` instead of loading the dataset
        (lets a sweep load it once).

    Returns
    -------
    ndarray, shape (n, 3)

    Examples
    --------
    >>> P = embedding_positions("line", 50, seed=0, aspect=8.0)
    >>> P.shape, bool(np.ptp(P[:, 0]) > 5 * np.ptp(P[:, 1]))
    ((50, 3), True)
    """
    check_choice(kind, "kind", EMBEDDINGS)
    n = check_int(n, "n", minimum=2)
    aspect = check_float(aspect, "aspect", minimum=1.0)
    rng = as_rng(seed)
    if kind == "cube":
        return rng.random((n, 3))
    if kind == "line":
        return rng.random((n, 3)) * np.array([aspect, 1.0, 1.0])
    P = _real_positions(kind) if base is None else check_matrix(base, "base", square=False)
    if n > P.shape[0]:
        raise ValueError(f"'n' must be at most the {P.shape[0]} positions of the {kind!r} embedding; got {n}")
    return P[np.sort(rng.choice(P.shape[0], n, replace=False))]


def _edges_for_density(n: int, density: float) -> int:
    m = int(round(density * n * (n - 1) / 2))
    if m < 1:
        raise ValueError(f"'density' {density} gives no edge in a {n}-node network")
    return m


class _LandscapeTask:
    """Picklable task of :func:`landscape`: one network per (rule, eta, gamma, rep)."""

    def __init__(self, D, m, model_var, nulls, n_null, n_runs, keep_partition):
        self.D, self.m, self.model_var = D, m, model_var
        self.nulls, self.n_null, self.n_runs = nulls, n_null, n_runs
        self.keep_partition = keep_partition

    def __call__(self, params, rng):
        g_rng, s_rng = rng.spawn(2)
        rule = params["rule"]
        gamma = None if rule == "sptl" else params["gamma"]
        A = generate(self.D, self.m, rule, params["eta"], gamma, model_var=self.model_var, seed=g_rng)[0]
        rec = network_summary(A, self.D, nulls=self.nulls, n_null=self.n_null, n_runs=self.n_runs, seed=s_rng)
        rec["family"] = rule_family(rule)
        if not self.keep_partition:
            rec.pop("partition")
        return rec


def landscape(
    D,
    m,
    rules: Sequence[str] = REPRESENTATIVE_RULES,
    etas: Sequence[float] = (-4.0, -2.0, -1.0, 0.0),
    gammas: Sequence[float] = (-1.0, 0.0, 1.0, 2.0),
    *,
    n_networks: int = 1,
    nulls: Sequence[str] = ("degree", "spatial"),
    n_null: int = 20,
    n_runs: int = 10,
    model_var=("powerlaw", "powerlaw"),
    seed=None,
    store=None,
    n_jobs: int | None = None,
    client=None,
    progress: bool = True,
    keep_partition: bool = False,
) -> pd.DataFrame:
    """Mesoscale summaries of networks grown over a rule x (eta, gamma) grid.

    Every cell of the grid grows ``n_networks`` networks with ``m`` edges on the distance
    matrix ``D`` and summarises each with :func:`network_summary`. The spatial rule
    ``"sptl"`` ignores ``gamma`` and is run once per ``eta`` (its rows have ``gamma = 0``).

    Parameters
    ----------
    D : array_like, shape (n, n)
        Distances between the nodes.
    m : int
        Edges of every network.
    rules : sequence of str
        Wiring rules (:data:`~mesoscale.generative.WIRING_RULES`).
    etas, gammas : sequence of float
        Distance and topology exponents.
    n_networks : int
        Networks per cell (replicates ``rep = 0 .. n_networks - 1``).
    nulls, n_null, n_runs
        Null models and effort of the modularity tests (:func:`network_summary`).
    model_var : (str, str) or str
        Forms of the distance and topology terms (see :func:`~mesoscale.generative.generate`).
    seed : int, SeedSequence or None
        Seed of the sweep: every network and its nulls get a stream derived from it and
        the cell's parameters. ``None`` continues a ``store`` with its recorded seed, or
        draws fresh entropy (see :func:`mesoscale.sweep.run_sweep`).
    store : str or path, optional
        Sweep store directory (results are kept and reused; see :mod:`mesoscale.sweep`).
        The grid carries a fingerprint of ``D``, ``m`` and the settings, so a store made
        with other inputs is refused rather than silently reused.
    n_jobs : int, optional
        None or 1 runs in this process; N > 1 (or -1, all cores) starts a local Dask
        cluster of N processes.
    client : dask Client, address or 'inline', optional
        Run on this client instead (wins over ``n_jobs``).
    progress : bool
        Progress bar.
    keep_partition : bool
        Keep each network's module labels in a ``partition`` column.

    Returns
    -------
    pandas.DataFrame
        One row per network: ``rule, eta, gamma, rep, setup`` then ``family`` and the
        columns of :func:`network_summary`.

    Examples
    --------
    >>> D = distance_matrix(embedding_positions("line", 30, seed=0))
    >>> df = landscape(D, 45, rules=["sptl", "matching"], etas=[-3.0], gammas=[0.5],
    ...                nulls=("degree",), n_null=3, n_runs=2, progress=False)
    >>> df[["rule", "eta", "gamma"]].values.tolist()
    [['sptl', -3.0, 0.0], ['matching', -3.0, 0.5]]
    """
    Dm = check_distance(D, name="D")
    n = Dm.shape[0]
    m = check_int(m, "m", minimum=1, maximum=n * (n - 1) // 2)
    rules = check_rules(rules)
    etas = check_float_list(etas, "etas")
    gammas = check_float_list(gammas, "gammas")
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    nulls = check_nulls(nulls)
    n_null = check_int(n_null, "n_null", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    if "spatial" in nulls and not np.any(Dm):
        raise ValueError("'D' is zero everywhere; the spatial null needs distances")
    model_var = [model_var, model_var] if isinstance(model_var, str) else list(model_var)
    setup = fingerprint([Dm, m, model_var, list(nulls), n_null, n_runs])
    grid = []
    for rule in rules:
        for eta in etas:
            for gamma in [0.0] if rule == "sptl" else gammas:
                for rep in range(n_networks):
                    grid.append({"rule": rule, "eta": eta, "gamma": gamma, "rep": rep, "setup": setup})
    task = _LandscapeTask(Dm, m, tuple(model_var), nulls, n_null, n_runs, keep_partition)
    return run_grid(task, grid, store, seed, n_jobs, client, progress)


class _ConditionTask:
    """Picklable task of :func:`conditions`: draw a geometry, grow a network, summarise it."""

    def __init__(self, bases, aspect, model_var, nulls, n_null, n_runs):
        self.bases, self.aspect, self.model_var = bases, aspect, model_var
        self.nulls, self.n_null, self.n_runs = nulls, n_null, n_runs

    def __call__(self, params, rng):
        p_rng, g_rng, s_rng = rng.spawn(3)
        kind, n = params["embedding"], params["n"]
        P = embedding_positions(kind, n, p_rng, aspect=self.aspect, base=self.bases.get(kind))
        D = distance_matrix(P)
        m = _edges_for_density(n, params["density"])
        rule = params["rule"]
        gamma = None if rule == "sptl" else params["gamma"]
        A = generate(D, m, rule, params["eta"], gamma, model_var=self.model_var, seed=g_rng)[0]
        rec = network_summary(A, D, nulls=self.nulls, n_null=self.n_null, n_runs=self.n_runs, seed=s_rng)
        rec.pop("partition")
        rec["family"] = rule_family(rule)
        return rec


def conditions(
    rule_params: Sequence[tuple],
    etas: Sequence[float],
    *,
    sizes: Sequence[int] = (50, 100, 200),
    densities: Sequence[float] = (0.02, 0.05, 0.1, 0.3),
    embeddings: Sequence[str] = EMBEDDINGS,
    base_n: int = 60,
    base_density: float = 0.05,
    base_embedding: str = "cube",
    aspect: float = 10.0,
    n_networks: int = 2,
    nulls: Sequence[str] = ("degree", "spatial"),
    n_null: int = 20,
    n_runs: int = 10,
    model_var=("powerlaw", "powerlaw"),
    seed=None,
    store=None,
    n_jobs: int | None = None,
    client=None,
    progress: bool = True,
) -> pd.DataFrame:
    """Necessary conditions for modularity: vary size, density and embedding one at a time.

    Starting from a base condition (``base_n`` nodes, ``base_density``, ``base_embedding``),
    one factor changes at a time -- ``n`` over ``sizes``, the density over ``densities``,
    the embedding over ``embeddings`` -- and at each condition every rule in
    ``rule_params`` is run along the ``etas`` axis (the distance exponent, which sets the
    modular region), ``n_networks`` networks per point, each with a fresh geometry.

    Parameters
    ----------
    rule_params : sequence of (rule, gamma)
        Rules and their (fixed) topology exponent; ``gamma`` is ignored for ``"sptl"``.
    etas : sequence of float
        Distance exponents.
    sizes, densities, embeddings
        Values of the three factors (see :func:`embedding_positions` for the embeddings;
        ``"human"`` allows at most 68 nodes, ``"worm"`` 302).
    base_n, base_density, base_embedding
        The condition held fixed while another factor varies.
    aspect : float
        Length-to-width ratio of the ``"line"`` embedding.
    n_networks, nulls, n_null, n_runs, model_var, seed, store, n_jobs, client, progress
        As in :func:`landscape`.

    Returns
    -------
    pandas.DataFrame
        One row per network: ``factor`` (``"n"``, ``"density"`` or ``"embedding"``),
        ``n, density, embedding, rule, gamma, eta, rep, setup``, then the summary columns.

    Examples
    --------
    >>> df = conditions([("sptl", 0.0)], [-3.0], sizes=[30], densities=[0.1], embeddings=["line"],
    ...                 base_n=30, base_density=0.1, base_embedding="line", n_networks=1,
    ...                 nulls=("degree",), n_null=3, n_runs=2, progress=False)
    >>> sorted(df["factor"].unique().tolist())
    ['density', 'embedding', 'n']
    """
    pairs = []
    for item in rule_params:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(f"'rule_params' must hold (rule, gamma) pairs; got {item!r}")
        rule = check_choice(item[0], "rule_params", WIRING_RULES)
        pairs.append((rule, 0.0 if rule == "sptl" else check_float(item[1], "gamma")))
    if not pairs:
        raise ValueError("'rule_params' must hold at least one (rule, gamma) pair")
    etas = check_float_list(etas, "etas")
    sizes = [check_int(s, "sizes", minimum=4) for s in np.atleast_1d(sizes).tolist()]
    densities = check_float_list(densities, "densities", minimum=0.0, maximum=1.0)
    if isinstance(embeddings, str):
        embeddings = [embeddings]
    embeddings = [check_choice(e, "embeddings", EMBEDDINGS) for e in embeddings]
    base_n = check_int(base_n, "base_n", minimum=4)
    base_density = check_float(base_density, "base_density", minimum=0.0, maximum=1.0)
    base_embedding = check_choice(base_embedding, "base_embedding", EMBEDDINGS)
    aspect = check_float(aspect, "aspect", minimum=1.0)
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    nulls = check_nulls(nulls)
    n_null = check_int(n_null, "n_null", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    conds = [("n", s, base_density, base_embedding) for s in sizes]
    conds += [("density", base_n, d, base_embedding) for d in densities]
    conds += [("embedding", base_n, base_density, e) for e in embeddings]
    limits = {"worm": 302, "human": 68}
    for factor, n, d, e in conds:
        if n > limits.get(e, np.inf):
            raise ValueError(
                f"the {e!r} embedding has only {limits[e]} positions but the {factor!r} factor asks for n={n}"
            )
        _edges_for_density(n, d)
    bases = {e: _real_positions(e) for e in {c[3] for c in conds} if e in limits}
    model_var = [model_var, model_var] if isinstance(model_var, str) else list(model_var)
    setup = fingerprint([aspect, model_var, list(nulls), n_null, n_runs] + [bases[k] for k in sorted(bases)])
    grid = []
    for factor, n, d, e in conds:
        for rule, gamma in pairs:
            for eta in etas:
                for rep in range(n_networks):
                    grid.append({"factor": factor, "n": n, "density": d, "embedding": e, "rule": rule,
                                 "gamma": gamma, "eta": eta, "rep": rep, "setup": setup})
    task = _ConditionTask(bases, aspect, tuple(model_var), nulls, n_null, n_runs)
    return run_grid(task, grid, store, seed, n_jobs, client, progress)
