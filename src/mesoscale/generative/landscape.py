"""Where in parameter space do wiring rules build modular networks?

This module maps the mesoscale structure that the generative wiring rules of
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
:func:`development` and :func:`development_curve`
    Developmental growth in the spirit of Nicosia et al. (2013): neurons appear in
    birth order (the *C. elegans* lineage) inside a body that elongates; how many links
    exist at each stage follows from the geometry, and the grown network is compared
    with the real ganglia.
:func:`summarize`
    Mean z-scores and the fraction of significantly modular networks per grid cell.

Every random step draws from a stream derived from the sweep's ``seed`` and the task's
parameters (see :mod:`mesoscale.sweep`), so a cell can be recomputed alone and results
do not depend on the number of workers.
"""

from __future__ import annotations

import hashlib
import json
import numbers
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
    check_int,
    check_matrix,
    seed_sequence,
)
from ..metrics import (
    NULL_MODELS,
    global_efficiency,
    modularity_significance,
    participation_coefficient,
)
from .growth import elongating_distances, grow
from .models import RULES, generate

__all__ = [
    "RULE_FAMILIES",
    "REPRESENTATIVE_RULES",
    "EMBEDDINGS",
    "rule_family",
    "network_summary",
    "wiring_cost",
    "embedding_positions",
    "pairwise_distances",
    "landscape",
    "conditions",
    "summarize",
    "worm_development_inputs",
    "development_schedule",
    "development_curve",
    "development_network",
    "ganglion_agreement",
    "development",
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
    check_choice(rule, "rule", RULES)
    for fam, members in RULE_FAMILIES.items():
        if rule in members:
            return fam
    raise AssertionError(rule)  # pragma: no cover - every rule has a family


def _check_nulls(nulls) -> tuple[str, ...]:
    if isinstance(nulls, str):
        nulls = (nulls,)
    if not isinstance(nulls, (tuple, list)) or not nulls:
        raise ValueError(f"'nulls' must be a non-empty sequence of {list(NULL_MODELS)}; got {nulls!r}")
    for nl in nulls:
        check_choice(nl, "nulls", NULL_MODELS)
    if len(set(nulls)) != len(nulls):
        raise ValueError(f"'nulls' lists a null model twice; got {list(nulls)}")
    return tuple(nulls)


def wiring_cost(A, D) -> float:
    """Total edge length of ``A`` relative to that of a random network with as many edges.

    ``sum_{edges} D_ij / (m * mean_{i<j} D_ij)``: 1 for randomly placed edges, below 1 when
    edges are shorter than chance.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(4.0); D = np.abs(x[:, None] - x[None])
    >>> A = np.diag(np.ones(3), 1); A = A + A.T          # a path of unit-length edges
    >>> round(wiring_cost(A, D), 3)                      # mean pair distance is 5/3
    0.6
    """
    M = check_adjacency(A, "A", binary=True)
    Dm = check_distance(D, M.shape[0])
    iu = np.triu_indices(M.shape[0], 1)
    edges = M[iu] != 0
    if not edges.any():
        raise ValueError("'A' has no edges; wiring cost is undefined")
    mean_pair = Dm[iu].mean()
    if mean_pair <= 0:
        raise ValueError("'D' is zero everywhere; wiring cost is undefined")
    return float(Dm[iu][edges].sum() / (edges.sum() * mean_pair))


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
        ``z_X``, ``percentile_X``; ``n_null, n_runs``; ``n_modules`` (all modules),
        ``n_modules_2plus`` (modules of at least two nodes), ``largest_module`` (fraction of
        nodes in the largest module), ``module_size_mean`` (mean size of modules of two
        or more nodes), ``participation`` (mean participation coefficient of non-isolated
        nodes), ``efficiency`` (global efficiency), ``wiring_cost`` (see :func:`wiring_cost`;
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
    nulls = _check_nulls(nulls)
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
        t = modularity_significance(M, null, n_null, Dm, ss, n_runs=n_runs)
        if partition is None:
            partition = t.partition
            out["Q"] = t.q
        out[f"Q_null_{null}"] = t.null_mean
        out[f"z_{null}"] = t.z
        out[f"percentile_{null}"] = t.percentile
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
    out["wiring_cost"] = wiring_cost(M, Dm) if Dm is not None else np.nan
    out["partition"] = [int(x) for x in partition]
    return out


# ------------------------------------------------------------------------------------------
# geometry
# ------------------------------------------------------------------------------------------


def pairwise_distances(positions) -> np.ndarray:
    """Euclidean distance matrix of points, shape ``(n, n)``.

    Examples
    --------
    >>> float(pairwise_distances([[0, 0], [3, 4]])[0, 1])
    5.0
    """
    P = check_matrix(positions, "positions", square=False)
    return np.sqrt(((P[:, None, :] - P[None, :, :]) ** 2).sum(-1))


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


# ------------------------------------------------------------------------------------------
# sweeps
# ------------------------------------------------------------------------------------------


def _fingerprint(obj) -> str:
    """Short hash identifying the fixed inputs of a sweep (stored in every grid row)."""
    h = hashlib.sha256()
    for x in obj:
        if isinstance(x, np.ndarray):
            h.update(np.ascontiguousarray(x, dtype=float).tobytes())
            h.update(str(x.shape).encode())
        else:
            h.update(json.dumps(x, sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


def _sweep(fn, grid, store, seed, workers, progress):
    from ..sweep import run_sweep

    workers = check_int(workers, "workers", minimum=0)
    opts = {"client": "inline"} if workers == 0 else {"n_workers": workers}
    return run_sweep(fn, grid, store, seed=seed, progress=progress, **opts)


def _float_list(values, name) -> list[float]:
    arr = np.atleast_1d(np.asarray(values))
    if arr.ndim != 1 or arr.size == 0 or arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"'{name}' must be a non-empty 1-D sequence of numbers; got {values!r}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"'{name}' must be finite; got {values!r}")
    return [float(v) for v in arr]


def _rule_list(rules) -> list[str]:
    if isinstance(rules, str):
        rules = [rules]
    rules = list(rules)
    if not rules:
        raise ValueError("'rules' must name at least one rule")
    for r in rules:
        check_choice(r, "rules", RULES)
    return rules


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
    seed=0,
    store=None,
    workers: int = 0,
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
        Wiring rules (:data:`~mesoscale.generative.RULES`).
    etas, gammas : sequence of float
        Distance and topology exponents.
    n_networks : int
        Networks per cell (replicates ``rep = 0 .. n_networks - 1``).
    nulls, n_null, n_runs
        Null models and effort of the modularity tests (:func:`network_summary`).
    model_var : (str, str) or str
        Forms of the distance and topology terms (see :func:`~mesoscale.generative.generate`).
    seed : int
        Seed of the sweep: every network and its nulls get a stream derived from it and
        the cell's parameters.
    store : str or path, optional
        Sweep store directory (results are kept and reused; see :mod:`mesoscale.sweep`).
        The grid carries a fingerprint of ``D``, ``m`` and the settings, so a store made
        with other inputs is refused rather than silently reused.
    workers : int
        0 runs in this process; N > 0 starts a local Dask cluster of N processes.
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
    >>> import numpy as np
    >>> D = pairwise_distances(embedding_positions("line", 30, seed=0))
    >>> df = landscape(D, 45, rules=["sptl", "matching"], etas=[-3.0], gammas=[0.5],
    ...                nulls=("degree",), n_null=3, n_runs=2, progress=False)
    >>> df[["rule", "eta", "gamma"]].values.tolist()
    [['sptl', -3.0, 0.0], ['matching', -3.0, 0.5]]
    """
    Dm = check_distance(D, name="D")
    n = Dm.shape[0]
    m = check_int(m, "m", minimum=1, maximum=n * (n - 1) // 2)
    rules = _rule_list(rules)
    etas = _float_list(etas, "etas")
    gammas = _float_list(gammas, "gammas")
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    nulls = _check_nulls(nulls)
    n_null = check_int(n_null, "n_null", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    if "spatial" in nulls and not np.any(Dm):
        raise ValueError("'D' is zero everywhere; the spatial null needs distances")
    model_var = [model_var, model_var] if isinstance(model_var, str) else list(model_var)
    setup = _fingerprint([Dm, m, model_var, list(nulls), n_null, n_runs])
    grid = []
    for rule in rules:
        for eta in etas:
            for gamma in [0.0] if rule == "sptl" else gammas:
                for rep in range(n_networks):
                    grid.append({"rule": rule, "eta": eta, "gamma": gamma, "rep": rep, "setup": setup})
    task = _LandscapeTask(Dm, m, tuple(model_var), nulls, n_null, n_runs, keep_partition)
    return _sweep(task, grid, store, seed, workers, progress)


class _ConditionTask:
    """Picklable task of :func:`conditions`: draw a geometry, grow a network, summarise it."""

    def __init__(self, bases, aspect, model_var, nulls, n_null, n_runs):
        self.bases, self.aspect, self.model_var = bases, aspect, model_var
        self.nulls, self.n_null, self.n_runs = nulls, n_null, n_runs

    def __call__(self, params, rng):
        p_rng, g_rng, s_rng = rng.spawn(3)
        kind, n = params["embedding"], params["n"]
        P = embedding_positions(kind, n, p_rng, aspect=self.aspect, base=self.bases.get(kind))
        D = pairwise_distances(P)
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
    seed=0,
    store=None,
    workers: int = 0,
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
    n_networks, nulls, n_null, n_runs, model_var, seed, store, workers, progress
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
        rule = check_choice(item[0], "rule_params", RULES)
        pairs.append((rule, 0.0 if rule == "sptl" else check_float(item[1], "gamma")))
    if not pairs:
        raise ValueError("'rule_params' must hold at least one (rule, gamma) pair")
    etas = _float_list(etas, "etas")
    sizes = [check_int(s, "sizes", minimum=4) for s in np.atleast_1d(sizes).tolist()]
    densities = [check_float(d, "densities", minimum=0.0, maximum=1.0) for d in _float_list(densities, "densities")]
    if isinstance(embeddings, str):
        embeddings = [embeddings]
    embeddings = [check_choice(e, "embeddings", EMBEDDINGS) for e in embeddings]
    base_n = check_int(base_n, "base_n", minimum=4)
    base_density = check_float(base_density, "base_density", minimum=0.0, maximum=1.0)
    base_embedding = check_choice(base_embedding, "base_embedding", EMBEDDINGS)
    aspect = check_float(aspect, "aspect", minimum=1.0)
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    nulls = _check_nulls(nulls)
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
    setup = _fingerprint([aspect, model_var, list(nulls), n_null, n_runs] + [bases[k] for k in sorted(bases)])
    grid = []
    for factor, n, d, e in conds:
        for rule, gamma in pairs:
            for eta in etas:
                for rep in range(n_networks):
                    grid.append({"factor": factor, "n": n, "density": d, "embedding": e, "rule": rule,
                                 "gamma": gamma, "eta": eta, "rep": rep, "setup": setup})
    task = _ConditionTask(bases, aspect, tuple(model_var), nulls, n_null, n_runs)
    return _sweep(task, grid, store, seed, workers, progress)


def summarize(df: pd.DataFrame, by: Sequence[str] = ("rule", "eta", "gamma"), *, z_threshold: float = 2.0):
    """Average the per-network rows of a sweep per cell, with significance fractions.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`landscape`, :func:`conditions` or :func:`development`.
    by : sequence of str
        Columns that define a cell.
    z_threshold : float
        A network is significantly modular against a null if its z exceeds this.

    Returns
    -------
    pandas.DataFrame
        Per cell: ``n_networks``, ``n_null``, the mean of every numeric summary column, and
        for each null ``X`` present ``frac_sig_X`` (fraction of networks with ``z_X >
        z_threshold``) and ``frac_sig_all`` (significant against every null at once).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"rule": ["a", "a"], "z_degree": [3.0, 1.0], "n_null": [10, 10], "Q": [0.5, 0.3]})
    >>> summarize(df, by=["rule"])[["n_networks", "Q", "frac_sig_degree"]].values.tolist()
    [[2.0, 0.4, 0.5]]
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"'df' must be a pandas DataFrame; got {type(df).__name__}")
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise ValueError(f"'by' names columns not in 'df': {missing}; columns are {list(df.columns)}")
    z_threshold = check_float(z_threshold, "z_threshold")
    zcols = [c for c in df.columns if c.startswith("z_")]
    work = df.copy()
    for c in zcols:
        work[f"frac_sig_{c[2:]}"] = (work[c] > z_threshold).astype(float)
    if zcols:
        work["frac_sig_all"] = (work[zcols] > z_threshold).all(axis=1).astype(float)
    skip = set(by) | {"rep", "seed"}
    num = [c for c in work.columns if c not in skip and pd.api.types.is_numeric_dtype(work[c])
           and not pd.api.types.is_bool_dtype(work[c])]
    g = work.groupby(by, sort=True)
    out = g[num].mean()
    out.insert(0, "n_networks", g.size().astype(float))
    return out.reset_index()


# ------------------------------------------------------------------------------------------
# development
# ------------------------------------------------------------------------------------------


def worm_development_inputs(dataset: str = _WORM, *, seed=None) -> dict:
    """Positions, birth order, ganglia and the adult network of the *C. elegans* connectome.

    The birth order is the lineage proxy ``birth_rank`` of
    :func:`mesoscale.connectomes.load` (embryonic before post-embryonic neurons, shallower
    lineages first); neurons with equal rank are ordered at random with ``seed``.

    Returns
    -------
    dict
        ``positions`` (n, 3; the body axis is column 1, head to tail), ``birth_order``
        (node indices, earliest first), ``birth_rank``, ``ganglion`` (labels), ``labels``
        (neuron names), ``adult`` (the symmetric 0/1 adjacency) and ``axis`` (1).
    """
    from .. import connectomes

    c = connectomes.load(dataset)
    nt = c.node_table()
    for col in ("birth_rank", "ganglion"):
        if col not in nt.columns:
            raise ValueError(f"dataset {dataset!r} has no {col!r} node attribute")
    rank = nt["birth_rank"].to_numpy(dtype=float)
    if not np.all(np.isfinite(rank)):
        raise ValueError(f"dataset {dataset!r} has neurons without a birth rank")
    P = np.asarray(c.positions, dtype=float)
    if not np.all(np.isfinite(P)):
        raise ValueError(f"dataset {dataset!r} has neurons without positions")
    tiebreak = as_rng(seed).random(rank.size)
    order = np.lexsort((tiebreak, rank))
    return {
        "positions": P,
        "birth_order": order,
        "birth_rank": rank,
        "ganglion": nt["ganglion"].to_numpy(dtype=object),
        "labels": nt["label"].to_numpy(dtype=object),
        "adult": c.binary(),
        "axis": 1,
    }


def development_schedule(positions, birth_order, *, m_final: int, n_stages: int = 40, elongation: float = 4.0,
                         length_scale: float = 0.1, axis: int = 1):
    """Stages, distances and edge counts of a growing, elongating body (Nicosia et al. 2013).

    Neurons are born in ``birth_order``, split into ``n_stages`` equal groups. The body's
    length along ``axis`` grows linearly with the stage from ``1 / elongation`` of the
    adult length to the adult length. The number of links at each stage is not imposed
    but follows from the geometry: it is proportional to the number of pairs of born
    neurons in contact, ``K(s) = sum_{i<j born} exp(-d_ij(s) / (length_scale * L))``
    (``L`` the adult body length; its running maximum, as links are never removed), scaled so
    the last stage has ``m_final`` edges. When
    every neuron is within reach of every other, ``K`` grows like the square of the number
    of neurons (accelerating growth); once the body is much longer than the contact range
    it grows linearly.

    Parameters
    ----------
    positions : array_like, shape (n, d)
        Adult positions.
    birth_order : array_like of int
        All ``n`` node indices, earliest first.
    m_final : int
        Edges of the grown network.
    n_stages : int
        Number of stages (groups of births).
    elongation : float
        Adult length / length at the first stage (>= 1; 1 = no elongation).
    length_scale : float
        Contact range as a fraction of the adult body length (the wiring-cost scale: small
        values make long links expensive).
    axis : int
        Body axis in ``positions``.

    Returns
    -------
    dict
        ``birth_stage`` (n,), ``scale`` (S,), ``D`` (S, n, n), ``m`` (S,) non-decreasing edge
        counts, ``n_born`` (S,), ``contacts`` (S,) the values ``K(s)`` and ``range`` (the
        contact range in position units).

    Examples
    --------
    >>> P = np.c_[np.linspace(0, 10, 40), np.zeros(40), np.zeros(40)]
    >>> s = development_schedule(P, np.arange(40), m_final=60, n_stages=8, elongation=4.0, axis=0)
    >>> int(s["m"][-1]), len(s["m"]), bool(np.all(np.diff(s["m"]) >= 0))
    (60, 8, True)
    """
    P = check_matrix(positions, "positions", square=False)
    n = P.shape[0]
    order = np.asarray(birth_order)
    if order.ndim != 1 or not np.issubdtype(order.dtype, np.integer) or sorted(order.tolist()) != list(range(n)):
        raise ValueError(f"'birth_order' must be a permutation of the {n} node indices")
    n_stages = check_int(n_stages, "n_stages", minimum=2, maximum=n)
    elongation = check_float(elongation, "elongation", minimum=1.0)
    length_scale = check_float(length_scale, "length_scale")
    if length_scale <= 0:
        raise ValueError(f"'length_scale' must be > 0; got {length_scale}")
    axis = check_int(axis, "axis", minimum=0, maximum=P.shape[1] - 1)
    m_final = check_int(m_final, "m_final", minimum=1, maximum=n * (n - 1) // 2)
    birth_stage = np.empty(n, np.int64)
    birth_stage[order] = np.arange(n) * n_stages // n
    scale = 1.0 / elongation + (1.0 - 1.0 / elongation) * np.arange(n_stages) / (n_stages - 1)
    D = elongating_distances(P, scale, axis=axis)
    body = float(np.ptp(P[:, axis]))
    rng_len = length_scale * (body if body > 0 else 1.0)
    contacts = np.empty(n_stages)
    n_born = np.empty(n_stages, np.int64)
    iu = np.triu_indices(n, 1)
    for s in range(n_stages):
        alive = birth_stage <= s
        n_born[s] = alive.sum()
        both = alive[iu[0]] & alive[iu[1]]
        contacts[s] = np.exp(-D[s][iu][both] / rng_len).sum()
    # links are never removed: when stretching lowers the contact count, no links are added
    reach = np.maximum.accumulate(contacts)
    m = np.round(m_final * reach / reach[-1]).astype(np.int64)
    cap = n_born * (n_born - 1) // 2
    m = np.minimum(m, cap)
    m[-1] = m_final
    return {"birth_stage": birth_stage, "scale": scale, "D": D, "m": m, "n_born": n_born,
            "contacts": contacts, "range": rng_len}


def development_curve(schedule: dict) -> pd.DataFrame:
    """Links against neurons over development, with the local growth exponent.

    ``exponent`` is the slope of ``log(links)`` against ``log(neurons)`` between
    consecutive stages: about 2 while growth accelerates (links ~ neurons squared), about
    1 when it is linear.

    Examples
    --------
    >>> P = np.c_[np.linspace(0, 10, 60), np.zeros(60), np.zeros(60)]
    >>> s = development_schedule(P, np.arange(60), m_final=90, n_stages=10, length_scale=0.05, axis=0)
    >>> list(development_curve(s).columns)
    ['stage', 'scale', 'neurons', 'links', 'exponent']
    """
    for k in ("m", "n_born", "scale"):
        if k not in schedule:
            raise ValueError(f"'schedule' must come from development_schedule(); missing key {k!r}")
    m = np.asarray(schedule["m"], dtype=float)
    nb = np.asarray(schedule["n_born"], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.diff(np.log(m)) / np.diff(np.log(nb))
    slope = np.concatenate([[np.nan], slope])
    slope[~np.isfinite(slope)] = np.nan
    return pd.DataFrame({"stage": np.arange(m.size), "scale": schedule["scale"], "neurons": nb.astype(int),
                         "links": m.astype(int), "exponent": slope})


def ganglion_agreement(partition, ganglia, *, n_perm: int = 200, seed=None) -> dict:
    """How well modules match anatomical groups (e.g. ganglia), against relabelled modules.

    Parameters
    ----------
    partition : array_like of int, shape (n,)
        Module labels.
    ganglia : array_like, shape (n,)
        Group of every node (any hashable labels).
    n_perm : int
        Random permutations of the module labels over the nodes (module sizes kept) for the null.
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    dict
        ``nmi`` (normalised mutual information), ``ari`` (adjusted Rand index), ``nmi_null``
        (mean NMI of the permuted modules), ``nmi_z`` and ``n_perm``.

    Examples
    --------
    >>> r = ganglion_agreement([0, 0, 1, 1, 2, 2], list("aabbcc"), n_perm=50, seed=0)
    >>> round(r["nmi"], 3), r["nmi"] > r["nmi_null"]
    (1.0, True)
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    part = np.asarray(partition)
    if part.ndim != 1 or not np.issubdtype(part.dtype, np.integer):
        raise ValueError(f"'partition' must be a 1-D array of integer labels; got {partition!r}")
    gang = list(ganglia)
    if len(gang) != part.size:
        raise ValueError(f"'ganglia' must have one label per node ({part.size}); got {len(gang)}")
    n_perm = check_int(n_perm, "n_perm", minimum=2)
    rng = as_rng(seed)
    codes = pd.factorize(pd.Series(gang, dtype=object))[0]
    nmi = float(normalized_mutual_info_score(codes, part))
    perm = np.array([normalized_mutual_info_score(codes, rng.permutation(part)) for _ in range(n_perm)])
    sd = perm.std(ddof=1)
    z = (nmi - perm.mean()) / sd if sd > 0 else np.nan
    return {"nmi": nmi, "ari": float(adjusted_rand_score(codes, part)), "nmi_null": float(perm.mean()),
            "nmi_z": float(z), "n_perm": n_perm}


def development_network(inputs: dict, elongation: float, length_scale: float, *, m_final: int | None = None,
                        n_stages: int = 40, seed=None):
    """Grow one network with the developmental model of :func:`development`.

    Parameters
    ----------
    inputs : dict
        From :func:`worm_development_inputs` (keys ``positions``, ``birth_order``, ``axis``,
        and ``adult`` when ``m_final`` is not given).
    elongation, length_scale, n_stages
        See :func:`development_schedule`.
    m_final : int, optional
        Edges of the grown network (default: those of ``inputs["adult"]``).
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    A : ndarray of bool, shape (n, n)
        The grown network.
    schedule : dict
        From :func:`development_schedule` (its ``D[-1]`` are the adult distances).
    """
    for k in ("positions", "birth_order", "axis"):
        if k not in inputs:
            raise ValueError(f"'inputs' must come from worm_development_inputs(); missing key {k!r}")
    if m_final is None:
        if "adult" not in inputs:
            raise ValueError("'m_final' is needed when 'inputs' has no 'adult' network")
        m_final = int(np.triu(np.asarray(inputs["adult"]) != 0, 1).sum())
    sch = development_schedule(inputs["positions"], inputs["birth_order"], m_final=m_final, n_stages=n_stages,
                               elongation=elongation, length_scale=length_scale, axis=inputs["axis"])
    S = len(sch["m"])
    A = grow(sch["D"], sch["m"], "sptl", -1.0 / sch["range"], model_var="exponential",
             birth_times=sch["birth_stage"].astype(float), stage_times=np.arange(S, dtype=float), seed=seed)[0]
    return A, sch


class _DevelopmentTask:
    def __init__(self, inputs, m_final, n_stages, nulls, n_null, n_runs, n_perm, keep_partition=False):
        self.inputs, self.m_final, self.n_stages = inputs, m_final, n_stages
        self.keep_partition = keep_partition
        self.nulls, self.n_null, self.n_runs, self.n_perm = nulls, n_null, n_runs, n_perm

    def __call__(self, params, rng):
        g_rng, s_rng, p_rng = rng.spawn(3)
        inp = self.inputs
        A, sch = development_network(inp, params["elongation"], params["length_scale"], m_final=self.m_final,
                                     n_stages=self.n_stages, seed=g_rng)
        rec = network_summary(A, sch["D"][-1], nulls=self.nulls, n_null=self.n_null, n_runs=self.n_runs, seed=s_rng)
        part = rec.pop("partition")
        agree = ganglion_agreement(np.asarray(part), inp["ganglion"], n_perm=self.n_perm, seed=p_rng)
        if self.keep_partition:
            rec["partition"] = part
        curve = development_curve(sch)
        half = len(curve) // 2
        rec.update({"nmi_ganglia": agree["nmi"], "ari_ganglia": agree["ari"], "nmi_ganglia_null": agree["nmi_null"],
                    "nmi_ganglia_z": agree["nmi_z"], "n_perm": self.n_perm,
                    "exponent_early": float(np.nanmedian(curve["exponent"].iloc[1:half])),
                    "exponent_late": float(np.nanmedian(curve["exponent"].iloc[half:]))})
        return rec


def development(
    elongations: Sequence[float] = (1.0, 2.0, 4.0, 8.0),
    length_scales: Sequence[float] = (0.02, 0.05, 0.1, 0.3),
    *,
    inputs: dict | None = None,
    m_final: int | None = None,
    n_stages: int = 40,
    n_networks: int = 1,
    nulls: Sequence[str] = ("degree", "spatial"),
    n_null: int = 20,
    n_runs: int = 10,
    n_perm: int = 200,
    seed=0,
    store=None,
    workers: int = 0,
    progress: bool = True,
    keep_partition: bool = False,
) -> pd.DataFrame:
    """Grow worm-like networks over an (elongation x contact range) grid and test their modules.

    For each cell, :func:`development_schedule` fixes when neurons are born, how long the
    body is and how many links exist at each stage; the links are placed by the spatial
    rule in its exponential form, ``P(i, j) ~ exp(-d_ij(s) / range)``, with the same
    contact range (:func:`~mesoscale.generative.grow`). The grown network is summarised by
    :func:`network_summary` (modularity against the nulls, on the adult distances) and its
    modules are compared with the real ganglia: normalised mutual information (NMI),
    adjusted Rand index, and the NMI's z-score against ``n_perm`` random relabellings of
    the modules (same module sizes).

    Parameters
    ----------
    elongations : sequence of float
        Adult body length / length at the first stage.
    length_scales : sequence of float
        Contact range as a fraction of the adult body length (the cost of long links).
    inputs : dict, optional
        From :func:`worm_development_inputs` (loaded with ``seed`` if not given).
    m_final : int, optional
        Edges of the grown network (default: those of the adult connectome).
    n_stages : int
        Developmental stages.
    n_networks, nulls, n_null, n_runs, seed, store, workers, progress
        As in :func:`landscape`.
    n_perm : int
        Random relabellings for the NMI null.
    keep_partition : bool
        Keep each grown network's module labels in a ``partition`` column.

    Returns
    -------
    pandas.DataFrame
        One row per network: ``elongation, length_scale, rep, setup``, the summary columns,
        ``nmi_ganglia, ari_ganglia, nmi_ganglia_null, nmi_ganglia_z, n_perm`` and the median
        growth exponents ``exponent_early`` / ``exponent_late`` of the first and second half
        of the stages.
    """
    elongations = [check_float(e, "elongations", minimum=1.0) for e in _float_list(elongations, "elongations")]
    length_scales = _float_list(length_scales, "length_scales")
    for v in length_scales:
        if v <= 0:
            raise ValueError(f"'length_scales' must be > 0; got {v}")
    if inputs is None:
        inputs = worm_development_inputs(seed=seed if isinstance(seed, numbers.Integral) else None)
    for k in ("positions", "birth_order", "ganglion", "adult", "axis"):
        if k not in inputs:
            raise ValueError(f"'inputs' must come from worm_development_inputs(); missing key {k!r}")
    n = np.asarray(inputs["positions"]).shape[0]
    if m_final is None:
        m_final = int(np.triu(np.asarray(inputs["adult"]) != 0, 1).sum())
    m_final = check_int(m_final, "m_final", minimum=1, maximum=n * (n - 1) // 2)
    n_stages = check_int(n_stages, "n_stages", minimum=2, maximum=n)
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    nulls = _check_nulls(nulls)
    n_null = check_int(n_null, "n_null", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    n_perm = check_int(n_perm, "n_perm", minimum=2)
    setup = _fingerprint([np.asarray(inputs["positions"], float), np.asarray(inputs["birth_order"], float),
                          list(map(str, inputs["ganglion"])), m_final, n_stages, list(nulls), n_null, n_runs,
                          n_perm])
    grid = [{"elongation": e, "length_scale": s, "rep": r, "setup": setup}
            for e in elongations for s in length_scales for r in range(n_networks)]
    task = _DevelopmentTask(inputs, m_final, n_stages, nulls, n_null, n_runs, n_perm, keep_partition)
    return _sweep(task, grid, store, seed, workers, progress)
