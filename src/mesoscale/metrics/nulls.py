"""Null models and the significance of modularity.

Three null models, each returning one randomised network of the same shape and dtype:

``"degree"``
    Degree-preserving rewiring (Maslov & Sneppen 2002): double-edge swaps
    ``(a-b, c-d) -> (a-d, c-b)`` (directed: ``(a->b, c->d) -> (a->d, c->b)``) in one numba
    kernel, about ``itr`` successful swaps per edge as in bctpy's ``randmio_und``. bctpy's own
    functions are not used: ``randmio_und`` is a pure-Python loop (about 20 s per null of a
    5,000-edge network) and 0.6.1's ``randmio_dir`` does not preserve in-degrees (it updates
    the wrong end of a rewired edge in its edge list). Weights travel with their edges.
``"density"``
    Same number of nodes and edges, edges placed uniformly at random (G(n, m)); the
    observed edge weights are shuffled over the new edges.
``"spatial"``
    Degree-preserving rewiring that also keeps the edge-length distribution: a double-edge
    swap ``(a-b, c-d) -> (a-d, c-b)`` is accepted only if the lengths of the two new edges
    fall in the same length bins as the two old ones, so the histogram of edge lengths over
    ``n_bins`` equal-count bins (and the range of lengths) is preserved exactly.

:func:`modularity_significance` compares the observed modularity with its distribution under
one of these nulls.
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
from numba import njit
from tqdm.auto import tqdm

from .._validation import (
    check_network,
    as_rng,
    check_choice,
    check_distance,
    check_float,
    check_int,
    seed_sequence,
)
from .community import best_partition

__all__ = [
    "NULL_MODELS",
    "null_network",
    "degree_preserving_swaps",
    "ModularityTest",
    "NullComparison",
    "compare_with_null",
    "modularity_significance",
]

NULL_MODELS = ("degree", "density", "spatial")


@njit(cache=True)
def _swap_kernel(W, ei, ej, bins, directed, use_bins, forbidden, use_forbidden, r1, r2, flips, target, done):
    """Double-edge swaps on ``W`` in place; returns (successful swaps, attempts used).

    ``ei, ej`` list the edges (i < j if undirected). ``r1, r2, flips`` are pre-drawn random
    edge indices and coin flips (one per attempt); ``bins[i, j]`` is the length bin of a pair;
    a swap never creates a pair with ``forbidden[i, j]`` set (when ``use_forbidden``).
    """
    m = ei.shape[0]
    used = 0
    for t in range(r1.shape[0]):
        if done >= target:
            break
        used += 1
        e1 = r1[t]
        e2 = r2[t]
        if e1 == e2:
            continue
        a = ei[e1]
        b = ej[e1]
        c = ei[e2]
        d = ej[e2]
        if (not directed) and flips[t]:
            tmp = c
            c = d
            d = tmp
        if a == c or a == d or b == c or b == d:
            continue
        if W[a, d] != 0 or W[c, b] != 0:
            continue
        if use_forbidden and (forbidden[a, d] or forbidden[c, b]):
            continue
        if use_bins:
            o1 = bins[a, b]
            o2 = bins[c, d]
            n1 = bins[a, d]
            n2 = bins[c, b]
            if not ((o1 == n1 and o2 == n2) or (o1 == n2 and o2 == n1)):
                continue
        wab = W[a, b]
        wcd = W[c, d]
        W[a, d] = wab
        W[c, b] = wcd
        W[a, b] = 0
        W[c, d] = 0
        if not directed:
            W[d, a] = wab
            W[b, c] = wcd
            W[b, a] = 0
            W[d, c] = 0
        # edge e1 becomes a-d, e2 becomes c-b (kept as i<j for undirected)
        if directed or a < d:
            ei[e1] = a
            ej[e1] = d
        else:
            ei[e1] = d
            ej[e1] = a
        if directed or c < b:
            ei[e2] = c
            ej[e2] = b
        else:
            ei[e2] = b
            ej[e2] = c
        done += 1
    return done, used


def _length_bins(M, Dm, directed: bool, n_bins: int) -> np.ndarray:
    """Bin index of every pair: equal-count bins of the observed edge lengths; -1/n_bins outside."""
    mask = M != 0 if directed else np.triu(M != 0, 1)
    lengths = Dm[mask]
    inner = np.quantile(lengths, np.linspace(0, 1, n_bins + 1)[1:-1])
    bins = np.searchsorted(inner, Dm, side="right").astype(np.int64)
    bins[Dm < lengths.min()] = -1
    bins[Dm > lengths.max()] = n_bins
    return bins


def _rewire(M, Dm, directed, itr, n_bins, rng, max_attempts_factor=100, forbidden=None):
    """Double-edge swaps until ``itr * m`` succeeded (or the attempt budget is spent).

    With ``Dm`` given, only swaps that keep every edge-length bin count are accepted; with
    ``forbidden`` (boolean, shape of ``M``), no swap creates a forbidden pair.
    """
    W = M.copy()
    if directed:
        ei, ej = np.nonzero(W)
    else:
        ei, ej = np.nonzero(np.triu(W, 1))
    ei = ei.astype(np.int64)
    ej = ej.astype(np.int64)
    m = ei.shape[0]
    if m < 2:
        return W
    use_bins = Dm is not None
    bins = _length_bins(W, Dm, directed, n_bins) if use_bins else np.zeros((1, 1), np.int64)
    use_forbidden = forbidden is not None
    forbid = np.ascontiguousarray(forbidden, dtype=np.bool_) if use_forbidden else np.zeros((1, 1), np.bool_)
    target = itr * m
    budget = max_attempts_factor * target
    done = 0
    chunk = max(4 * target, 1024)
    while done < target and budget > 0:
        size = min(chunk, budget)
        r1 = rng.integers(0, m, size)
        r2 = rng.integers(0, m, size)
        flips = rng.random(size) < 0.5
        done, used = _swap_kernel(
            W, ei, ej, bins, directed, use_bins, forbid, use_forbidden, r1, r2, flips, target, done
        )
        budget -= used
    return W


def _swappable(M) -> bool:
    """Whether an undirected network has two edges with four distinct end points.

    Without such a pair no double-edge swap exists, and ``bct.randmio_und`` would loop forever
    looking for one (stars, triangles, single edges).
    """
    ei, ej = np.nonzero(np.triu(M, 1))
    if ei.size < 2:
        return False
    a, b = ei[0], ej[0]
    if np.any((ei != a) & (ei != b) & (ej != a) & (ej != b)):
        return True
    # every edge touches a or b: a-x and b-y with x != y are disjoint
    xa = set(np.where(ei == a, ej, np.where(ej == a, ei, -1)).tolist()) - {-1, b}
    xb = set(np.where(ei == b, ej, np.where(ej == b, ei, -1)).tolist()) - {-1, a}
    return any(x != y for x in xa for y in xb)


def _randmio_und(M, itr, rng):
    """Undirected degree-preserving rewiring (the swaps of ``bct.randmio_und``, compiled).

    Networks that admit no swap at all (stars, triangles) are returned unchanged at once.
    """
    if not _swappable(M):
        return M.copy()
    return _rewire(M, None, False, itr, 1, rng)


def degree_preserving_swaps(A, itr: int = 10, *, forbidden=None, seed=None) -> np.ndarray:
    """Degree-preserving rewiring of an undirected network, optionally avoiding some pairs.

    Double-edge swaps ``(a-b, c-d) -> (a-d, c-b)`` (Maslov & Sneppen 2002) in the compiled
    kernel behind the ``"degree"`` null of :func:`null_network`, until about ``itr`` swaps per
    edge have succeeded (at most ``100 * itr * m`` attempts). A swap is rejected if it would
    create an existing edge, a self-loop or a pair marked in ``forbidden``, so every node keeps
    its degree and no forbidden pair is ever connected. Weights travel with their edges.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Symmetric network with a zero diagonal (binary or weighted).
    itr : int
        Successful swaps per edge to aim for.
    forbidden : array_like of bool, shape (n, n), optional
        Symmetric mask of pairs that must stay unconnected (e.g. edges of an earlier stage).
        Edges of ``A`` on forbidden pairs are allowed and may be swapped away.
    seed : int, SeedSequence or Generator, optional

    Returns
    -------
    ndarray, shape (n, n)
        The rewired network (``A``'s dtype).

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_numpy_array(nx.cycle_graph(10))
    >>> forbid = np.zeros((10, 10), bool); forbid[0, 5] = forbid[5, 0] = True
    >>> R = degree_preserving_swaps(A, 5, forbidden=forbid, seed=0)
    >>> bool((R.sum(0) == 2).all()), bool(R[0, 5] == 0), bool((R != A).any())
    (True, True, True)
    """
    M, _ = check_network(A, "A", directed=False)
    itr = check_int(itr, "itr", minimum=1)
    mask = None
    if forbidden is not None:
        mask = np.asarray(forbidden)
        if mask.shape != M.shape:
            raise ValueError(f"'forbidden' must have the shape of 'A' {M.shape}; got {mask.shape}")
        if mask.dtype != np.bool_:
            raise TypeError(f"'forbidden' must be a boolean mask; got dtype {mask.dtype}")
        if not np.array_equal(mask, mask.T):
            raise ValueError("'forbidden' must be symmetric (the network is undirected)")
    rng = as_rng(seed)
    if not _swappable(M):
        return M.copy()
    return _rewire(M, None, False, itr, 1, rng, forbidden=mask)


def _density_null(M, directed, rng):
    n = M.shape[0]
    W = np.zeros_like(M)
    if directed:
        rows, cols = np.nonzero(~np.eye(n, dtype=bool))
        weights = M[M != 0]
    else:
        rows, cols = np.triu_indices(n, 1)
        weights = M[np.triu_indices(n, 1)]
        weights = weights[weights != 0]
    pick = rng.choice(rows.shape[0], size=weights.shape[0], replace=False)
    W[rows[pick], cols[pick]] = rng.permutation(weights)
    if not directed:
        W = W + W.T
    return W


def null_network(A, null: str = "degree", D=None, seed=None, *, itr: int = 10, n_bins: int = 10):
    """One randomised network under a null model.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Non-negative adjacency matrix (weighted or binary; directed if asymmetric). Self-loops
        stay where they are; only the off-diagonal edges are randomised. Degree-preserving
        rewiring keeps the *binary* degrees (weights travel with their edges) and cannot
        change a complete graph: use ``"density"`` or threshold dense weight matrices first.
    null : {"degree", "density", "spatial"}
        See the module docstring.
    D : array_like, shape (n, n), optional
        Distances between nodes; required for ``"spatial"``.
    seed : None, int, SeedSequence or Generator
    itr : int, default 10
        Rewiring effort: each edge is rewired about ``itr`` times (``"degree"``, ``"spatial"``).
    n_bins : int, default 10
        Number of equal-count edge-length bins (``"spatial"``).

    Returns
    -------
    ndarray
        Same shape and dtype as ``A``.

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    >>> R = null_network(A, "degree", seed=0)
    >>> bool(np.array_equal(R.sum(0), A.sum(0))), bool((R != A).any())
    (True, True)
    """
    dtype = np.asarray(A).dtype
    M, directed = check_network(A)
    null = check_choice(null, "null", NULL_MODELS)
    itr = check_int(itr, "itr", minimum=1)
    n_bins = check_int(n_bins, "n_bins", minimum=1)
    loops = np.diag(M).copy()
    if np.any(loops != 0):
        M = M.copy()
        np.fill_diagonal(M, 0.0)
        if not np.any(M):
            raise ValueError("'A' has no edges besides self-loops; there is nothing to randomise")
    if null == "spatial":
        if D is None:
            raise ValueError("null='spatial' needs the distance matrix 'D'; got D=None")
        Dm = check_distance(D, M.shape[0])
    elif D is not None:
        check_distance(D, M.shape[0])
    rng = as_rng(seed)
    if null == "degree" and not directed:
        R = _randmio_und(M, itr, rng)
    elif null == "degree":
        # bct.randmio_dir (0.6.1) updates the wrong end of a swapped edge in its edge list
        # (``i[e1] = d`` instead of ``j[e1] = d``), so later swaps create and delete edges and
        # the degrees drift; the same Maslov-Sneppen swaps are done here correctly.
        R = _rewire(M, None, True, itr, n_bins, rng)
    elif null == "density":
        R = _density_null(M, directed, rng)
    else:
        R = _rewire(M, Dm, directed, itr, n_bins, rng)
    np.fill_diagonal(R, loops)
    if dtype == bool:
        return R != 0
    return R.astype(dtype if np.issubdtype(dtype, np.number) else float)


@dataclasses.dataclass(frozen=True)
class ModularityTest:
    """Observed modularity against a null model (see :func:`modularity_significance`).

    Examples
    --------
    Two five-node cliques joined by one edge, against degree-preserving nulls:

    >>> A = np.kron(np.eye(2), np.ones((5, 5)))
    >>> np.fill_diagonal(A, 0)
    >>> A[4, 5] = A[5, 4] = 1
    >>> t = modularity_significance(A, null="degree", n_null=5, n_runs=2, seed=0)
    >>> round(t.q, 4), t.partition.tolist(), t.n_null, t.null_q.shape
    (0.4524, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], 5, (5,))
    >>> bool(t.z > 2), sorted(t.as_dict())[:3]
    (True, ['gamma', 'n_null', 'n_runs'])
    """

    q: float
    null_mean: float
    null_sd: float
    z: float
    percentile: float
    n_null: int
    null: str
    null_q: np.ndarray = dataclasses.field(repr=False)
    partition: np.ndarray = dataclasses.field(repr=False)
    n_runs: int = 10
    gamma: float = 1.0

    def as_dict(self) -> dict:
        """The scalar fields as a plain dict (no arrays)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("null_q", "partition")
        }

    @classmethod
    def from_null(cls, q, null_q, *, null: str, partition, n_runs: int, gamma: float = 1.0) -> ModularityTest:
        """The test of an observed ``q`` against null modularities ``null_q`` (via :func:`compare_with_null`).

        Use it for a null model that :func:`null_network` does not provide (e.g. weights
        shuffled within an architecture), so every Q is compared the same way.

        Examples
        --------
        >>> t = ModularityTest.from_null(0.4, [0.2, 0.25, 0.3], null="mine", partition=[0, 0, 1], n_runs=1)
        >>> round(t.z, 2), t.percentile, t.null
        (3.0, 100.0, 'mine')
        """
        c = compare_with_null(q, null_q)
        return cls(q=c.observed, null_mean=c.null_mean, null_sd=c.null_sd, z=c.z, percentile=c.percentile,
                   n_null=c.n_null, null=null, null_q=np.asarray(null_q, dtype=float),
                   partition=np.asarray(partition), n_runs=n_runs, gamma=gamma)


@dataclasses.dataclass(frozen=True)
class NullComparison:
    """An observed value against the values of null networks (see :func:`compare_with_null`).

    Examples
    --------
    >>> c = compare_with_null(0.5, [0.2, 0.3, 0.4, 0.6])
    >>> type(c).__name__, c.percentile, c.n_null
    ('NullComparison', 75.0, 4)
    >>> {k: round(v, 3) for k, v in c.as_dict().items()}
    {'observed': 0.5, 'null_mean': 0.375, 'null_sd': 0.171, 'z': 0.732, 'percentile': 75.0, 'n_null': 4}
    """

    observed: float
    null_mean: float
    null_sd: float
    z: float
    percentile: float
    n_null: int

    def as_dict(self) -> dict:
        """The fields as a plain dict."""
        return dataclasses.asdict(self)


def compare_with_null(observed, null_values) -> NullComparison:
    """Compare an observed value with the values of null networks: z-score and percentile.

    The package's one implementation of "how far from its null is this value": every Q,
    metric or score in the book that is compared with a null goes through here.

    ``z = (observed - mean) / sd`` with ``mean`` and ``sd`` (ddof=1) over ``null_values``.
    When the null has no spread (``sd == 0``, every null value equal), ``z`` is 0 if
    ``observed`` equals them and ``+inf``/``-inf`` (the sign of the difference) otherwise:
    the observed value is then exactly as extreme as it can be. ``percentile`` is 100 x the
    fraction of null values below ``observed``, ties counted half (50 when it equals all).
    A NaN ``observed`` gives NaN ``z`` and ``percentile``.

    Parameters
    ----------
    observed : float
    null_values : array_like, shape (n_null,)
        At least two finite values (drop failed null draws before calling).

    Examples
    --------
    >>> c = compare_with_null(0.42, [0.30, 0.31, 0.29, 0.30, 0.32])
    >>> round(c.z, 2), c.percentile, c.n_null
    (10.17, 100.0, 5)
    >>> compare_with_null(0.3, [0.3, 0.3]).z, compare_with_null(0.4, [0.3, 0.3]).z
    (0.0, inf)
    """
    null_values = np.asarray(null_values, dtype=float)
    if null_values.ndim != 1 or null_values.size < 2:
        raise ValueError(f"'null_values' must hold at least 2 null values; got shape {null_values.shape}")
    if not np.all(np.isfinite(null_values)):
        raise ValueError("'null_values' must be finite; drop failed null draws first")
    if isinstance(observed, (bool, np.bool_)) or not isinstance(observed, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"'observed' must be a real number; got {observed!r}")
    observed = float(observed)
    mean = float(null_values.mean())
    sd = float(null_values.std(ddof=1))
    if np.isnan(observed):
        z = pct = np.nan
    else:
        if sd > 0:
            z = (observed - mean) / sd
        else:
            z = 0.0 if observed == mean else float(np.sign(observed - mean) * np.inf)
        pct = 100.0 * (np.mean(null_values < observed) + 0.5 * np.mean(null_values == observed))
    return NullComparison(observed=observed, null_mean=mean, null_sd=sd, z=float(z), percentile=float(pct),
                          n_null=int(null_values.size))


def modularity_significance(
    A,
    null: str = "degree",
    n_null: int = 100,
    D=None,
    seed=None,
    *,
    n_runs: int = 10,
    gamma: float = 1.0,
    itr: int = 10,
    n_bins: int = 10,
    progress: bool = False,
) -> ModularityTest:
    """Is the modularity of ``A`` higher than a null model's?

    Observed and null modularities are found the same way: the highest Q among ``n_runs``
    runs of bctpy's ``community_louvain`` (:func:`~mesoscale.metrics.best_partition`). Using
    the same optimiser with the same effort on both sides makes them comparable — random
    networks have a high maximum Q too (Guimerà et al. 2004), and a weaker optimiser on the
    nulls would inflate z.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Non-negative adjacency matrix, zero diagonal (weighted/binary, directed if asymmetric).
    null : {"degree", "density", "spatial"}
        Null model (:func:`null_network`); ``"spatial"`` needs ``D``.
    n_null : int, default 100
        Number of null networks (at least 2).
    D : array_like, optional
        Distances between nodes.
    seed : None, int, SeedSequence or Generator
        The observed network and every null network get their own spawned stream.
    n_runs : int, default 10
        Louvain runs per network.
    gamma : float, default 1.0
        Resolution parameter.
    itr, n_bins : int
        Passed to :func:`null_network`.
    progress : bool
        Progress bar over the null networks.

    Returns
    -------
    ModularityTest
        ``q`` (observed), ``null_mean``, ``null_sd`` (ddof=1), ``z = (q - mean) / sd``,
        ``percentile`` (100 x fraction of null Q below q, ties counted half), ``n_null``,
        ``null``, ``null_q`` (all null Q's), ``partition`` (the observed max-Q partition).

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    >>> t = modularity_significance(A, "degree", n_null=10, n_runs=5, seed=0)
    >>> bool(t.q > t.null_mean), t.n_null
    (True, 10)
    """
    M, directed = check_network(A)
    null = check_choice(null, "null", NULL_MODELS)
    n_null = check_int(n_null, "n_null", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    gamma = check_float(gamma, "gamma", minimum=0.0)
    if null == "spatial" and D is None:
        raise ValueError("null='spatial' needs the distance matrix 'D'; got D=None")
    Dm = None if D is None else check_distance(D, M.shape[0])
    streams = seed_sequence(seed).spawn(n_null + 1)
    partition, q = best_partition(M, n_runs, gamma, np.random.default_rng(streams[0]), directed=directed)
    null_q = np.empty(n_null)
    for i in tqdm(range(n_null), desc=f"{null} null", disable=not progress):
        rng = np.random.default_rng(streams[i + 1])
        R = null_network(M, null, Dm, rng, itr=itr, n_bins=n_bins)
        null_q[i] = best_partition(R, n_runs, gamma, rng, directed=directed)[1]
    return ModularityTest.from_null(q, null_q, null=null, partition=partition, n_runs=n_runs, gamma=gamma)
