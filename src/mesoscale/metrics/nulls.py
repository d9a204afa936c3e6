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
one of these nulls, and :func:`compare_with_null` compares any value with its null values the
same way: a z-score and a percentile (how unusual), the effect size ``delta = observed -
mean(null)`` with a confidence interval (how large; z grows with network size and density and
is no effect size) and an empirical p-value ``(1 + #{null >= observed}) / (1 + n_null)``.

:func:`fragmentation` and :func:`flag_fragmented` report networks that fall apart into
components (their Q mostly counts components, :class:`FragmentedNetworkWarning`), and
:func:`adjust_pvalues` corrects the p-values of many comparisons (Holm, Benjamini–Hochberg).
Whether z and p of a null are calibrated is checked by :mod:`mesoscale.metrics.calibration`.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings

import numpy as np
from numba import njit
from scipy import sparse, stats
from scipy.sparse.csgraph import connected_components
from tqdm.auto import tqdm

from .._validation import (
    check_network,
    as_rng,
    check_choice,
    check_distance,
    check_float,
    check_int,
    check_matrix,
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
    "ALTERNATIVES",
    "Fragmentation",
    "FragmentedNetworkWarning",
    "fragmentation",
    "flag_fragmented",
    "PVALUE_ADJUSTMENTS",
    "adjust_pvalues",
]

NULL_MODELS = ("degree", "density", "spatial")

#: The alternatives of an empirical p-value (:func:`compare_with_null`).
ALTERNATIVES = ("greater", "less", "two-sided")

#: The methods of :func:`adjust_pvalues`.
PVALUE_ADJUSTMENTS = ("holm", "bh", "bonferroni")

#: Default smallest fraction of nodes in the largest connected component of an unfragmented network.
MIN_LARGEST_COMPONENT = 0.9


@njit(cache=True)
def _swap_kernel(W, ei, ej, bins, directed, use_bins, forbidden, use_forbidden, r1, r2, flips, target, done):
    """Double-edge swaps on ``W`` in place; returns (successful swaps, attempts used).

    ``ei, ej`` list the edges (i < j if undirected). ``r1, r2, flips`` are pre-drawn random
    edge indices and coin flips (one per attempt); ``bins[i, j]`` is the length bin of a pair;
    a swap never creates a pair with ``forbidden[i, j]`` set (when ``use_forbidden``).
    """
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


# ----------------------------------------------------------------------------- fragmentation


class FragmentedNetworkWarning(UserWarning):
    """Warned when a network's largest connected component holds too few of its nodes.

    The modularity of a network in pieces mostly counts the pieces: every component is a
    module for free, so Q and its z against a null that reconnects them say little about
    modules. Filter it with ``warnings.simplefilter("ignore", FragmentedNetworkWarning)``.

    Examples
    --------
    >>> import warnings
    >>> A = np.kron(np.eye(3), np.ones((2, 2))) - np.eye(6)  # three separate edges
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = flag_fragmented(A)
    >>> [type(w.message).__name__ for w in caught]
    ['FragmentedNetworkWarning']
    """


@dataclasses.dataclass(frozen=True)
class Fragmentation:
    """How a network falls apart into connected components (see :func:`fragmentation`).

    Attributes
    ----------
    n_nodes : int
    n_components : int
        Connected components (weakly connected for a directed network); an isolated node
        is a component of its own.
    largest_component : float
        Fraction of the nodes in the largest component, in ``(0, 1]``.
    n_isolated : int
        Nodes without any edge (self-loops do not count).
    min_largest_component : float
        The threshold ``fragmented`` was judged by.
    fragmented : bool
        ``largest_component < min_largest_component``.

    Examples
    --------
    >>> f = fragmentation(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]))
    >>> f.n_components, round(f.largest_component, 3), f.n_isolated, f.fragmented
    (2, 0.667, 1, True)
    >>> sorted(f.as_dict())[:2]
    ['fragmented', 'largest_component']
    """

    n_nodes: int
    n_components: int
    largest_component: float
    n_isolated: int
    min_largest_component: float
    fragmented: bool

    def as_dict(self) -> dict:
        """The fields as a plain dict."""
        return dataclasses.asdict(self)


def fragmentation(A, *, min_largest_component: float = MIN_LARGEST_COMPONENT) -> Fragmentation:
    """Connected components of a network: how many, the largest one's share, isolated nodes.

    A pair is connected if ``A[i, j] != 0`` or ``A[j, i] != 0`` (components of a directed
    network are its weakly connected ones); the diagonal is ignored.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Adjacency or weight matrix (any sign; only non-zero entries count).
    min_largest_component : float in (0, 1], default 0.9
        A network whose largest component holds a smaller fraction of the nodes is
        ``fragmented``. Isolated nodes count as nodes outside it.

    Returns
    -------
    Fragmentation

    Examples
    --------
    Two triangles and two isolated nodes:

    >>> A = np.zeros((8, 8))
    >>> for a, b in [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)]:
    ...     A[a, b] = A[b, a] = 1
    >>> f = fragmentation(A)
    >>> f.n_components, f.largest_component, f.n_isolated, f.fragmented
    (4, 0.375, 2, True)
    >>> fragmentation(np.ones((4, 4)) - np.eye(4)).fragmented
    False
    """
    M = check_matrix(A, "A")
    thr = check_float(min_largest_component, "min_largest_component", minimum=0.0, maximum=1.0)
    if thr == 0.0:
        raise ValueError(f"'min_largest_component' must be in (0, 1]; got {min_largest_component!r}")
    n = M.shape[0]
    if n == 0:
        raise ValueError("'A' must have at least one node; got shape (0, 0)")
    E = M != 0
    np.fill_diagonal(E, False)
    E = E | E.T
    n_comp, labels = connected_components(sparse.csr_matrix(E), directed=False)
    largest = float(np.bincount(labels).max() / n)
    return Fragmentation(n_nodes=int(n), n_components=int(n_comp), largest_component=largest,
                         n_isolated=int(np.sum(~E.any(axis=1))), min_largest_component=thr,
                         fragmented=bool(largest < thr))


def flag_fragmented(A, *, min_largest_component: float = MIN_LARGEST_COMPONENT, action: str = "warn",
                    name: str = "A") -> Fragmentation:
    """:func:`fragmentation` of ``A``, warning (or raising) when ``A`` is fragmented.

    Call it before reading modularity: Q of a network in pieces mostly counts the pieces
    (:func:`modularity_significance` calls it on every observed network).

    Parameters
    ----------
    A : array_like, shape (n, n)
    min_largest_component : float in (0, 1], default 0.9
        See :func:`fragmentation`.
    action : {"warn", "raise", "ignore"}
        What a fragmented network triggers: a :class:`FragmentedNetworkWarning`, a
        ``ValueError`` (to exclude it), or nothing (the result still says ``fragmented``).
    name : str
        The network's name in the message.

    Returns
    -------
    Fragmentation

    Examples
    --------
    >>> A = np.kron(np.eye(2), np.ones((3, 3))) - np.eye(6)  # two triangles
    >>> flag_fragmented(A, action="ignore").fragmented
    True
    >>> flag_fragmented(A, action="raise")
    Traceback (most recent call last):
    ...
    ValueError: 'A' is fragmented: 2 components, the largest holds 50% of 6 nodes (0 isolated; threshold 90%)
    """
    action = check_choice(action, "action", ("warn", "raise", "ignore"))
    if not isinstance(name, str):
        raise TypeError(f"'name' must be a string; got {name!r}")
    frag = fragmentation(A, min_largest_component=min_largest_component)
    if frag.fragmented and action != "ignore":
        msg = (f"'{name}' is fragmented: {frag.n_components} components, the largest holds "
               f"{frag.largest_component:.0%} of {frag.n_nodes} nodes ({frag.n_isolated} isolated; threshold "
               f"{frag.min_largest_component:.0%})")
        if action == "raise":
            raise ValueError(msg)
        warnings.warn(msg + "; its modularity mostly counts components", FragmentedNetworkWarning, stacklevel=2)
    return frag


# ----------------------------------------------------------------------------- comparison with a null


@dataclasses.dataclass(frozen=True)
class ModularityTest:
    """Observed modularity against a null model (see :func:`modularity_significance`).

    Besides ``z`` and ``percentile`` it carries the effect size ``delta = q - null_mean``
    (ΔQ) with its ``confidence`` interval ``[delta_low, delta_high]``, the empirical
    ``p_value`` (:func:`compare_with_null`) and the :func:`fragmentation` of the observed
    network (``None``/NaN when it was not given to :meth:`from_null`).

    Examples
    --------
    Two five-node cliques joined by one edge, against degree-preserving nulls:

    >>> A = np.kron(np.eye(2), np.ones((5, 5)))
    >>> np.fill_diagonal(A, 0)
    >>> A[4, 5] = A[5, 4] = 1
    >>> t = modularity_significance(A, null="degree", n_null=5, n_runs=2, seed=0)
    >>> round(t.q, 4), t.partition.tolist(), t.n_null, t.null_q.shape
    (0.4524, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], 5, (5,))
    >>> bool(t.z > 2), bool(t.delta_low > 0), round(t.p_value, 3), t.fragmented
    (True, True, 0.167, False)
    >>> sorted(t.as_dict())[:4]
    ['alternative', 'confidence', 'delta', 'delta_high']
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
    delta: float = np.nan
    delta_low: float = np.nan
    delta_high: float = np.nan
    p_value: float = np.nan
    alternative: str = "greater"
    confidence: float = 0.95
    n_components: int | None = None
    largest_component: float = np.nan
    n_isolated: int | None = None
    fragmented: bool | None = None

    def as_dict(self) -> dict:
        """The scalar fields as a plain dict (no arrays)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("null_q", "partition")
        }

    @classmethod
    def from_null(cls, q, null_q, *, null: str, partition, n_runs: int, gamma: float = 1.0, A=None,
                  alternative: str = "greater", confidence: float = 0.95,
                  min_largest_component: float = MIN_LARGEST_COMPONENT) -> ModularityTest:
        """The test of an observed ``q`` against null modularities ``null_q`` (via :func:`compare_with_null`).

        Use it for a null model that :func:`null_network` does not provide (e.g. weights
        shuffled within an architecture), so every Q is compared the same way. Pass the
        observed network ``A`` to record its :func:`fragmentation` (no warning is issued
        here; see :func:`flag_fragmented`).

        Examples
        --------
        >>> t = ModularityTest.from_null(0.4, [0.2, 0.25, 0.3], null="mine", partition=[0, 0, 1], n_runs=1)
        >>> round(t.z, 2), t.percentile, t.null, round(t.delta, 2), t.p_value
        (3.0, 100.0, 'mine', 0.15, 0.25)
        >>> A = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
        >>> ModularityTest.from_null(0.4, [0.2, 0.3], null="mine", partition=[0, 0, 1], n_runs=1, A=A).fragmented
        False
        """
        c = compare_with_null(q, null_q, alternative=alternative, confidence=confidence)
        frag = None if A is None else fragmentation(A, min_largest_component=min_largest_component)
        return cls(q=c.observed, null_mean=c.null_mean, null_sd=c.null_sd, z=c.z, percentile=c.percentile,
                   n_null=c.n_null, null=null, null_q=np.asarray(null_q, dtype=float),
                   partition=np.asarray(partition), n_runs=n_runs, gamma=gamma, delta=c.delta,
                   delta_low=c.delta_low, delta_high=c.delta_high, p_value=c.p_value,
                   alternative=c.alternative, confidence=c.confidence,
                   n_components=None if frag is None else frag.n_components,
                   largest_component=np.nan if frag is None else frag.largest_component,
                   n_isolated=None if frag is None else frag.n_isolated,
                   fragmented=None if frag is None else frag.fragmented)


@dataclasses.dataclass(frozen=True)
class NullComparison:
    """An observed value against the values of null networks (see :func:`compare_with_null`).

    Examples
    --------
    >>> c = compare_with_null(0.5, [0.2, 0.3, 0.4, 0.6])
    >>> type(c).__name__, c.percentile, c.n_null, c.p_value, c.alternative
    ('NullComparison', 75.0, 4, 0.4, 'greater')
    >>> {k: round(v, 3) for k, v in c.as_dict().items() if k in ("z", "delta", "delta_low", "delta_high")}
    {'z': 0.732, 'delta': 0.125, 'delta_low': -0.147, 'delta_high': 0.397}
    """

    observed: float
    null_mean: float
    null_sd: float
    z: float
    percentile: float
    n_null: int
    delta: float = np.nan
    delta_low: float = np.nan
    delta_high: float = np.nan
    p_value: float = np.nan
    alternative: str = "greater"
    confidence: float = 0.95

    def as_dict(self) -> dict:
        """The fields as a plain dict."""
        return dataclasses.asdict(self)


def _empirical_p(observed: float, null_values: np.ndarray, alternative: str) -> float:
    """``(1 + #{null at least as extreme}) / (1 + n)``; two-sided doubles the smaller tail (capped at 1)."""
    n = null_values.size
    greater = (1.0 + np.sum(null_values >= observed)) / (1.0 + n)
    less = (1.0 + np.sum(null_values <= observed)) / (1.0 + n)
    if alternative == "greater":
        return float(greater)
    if alternative == "less":
        return float(less)
    return float(min(1.0, 2.0 * min(greater, less)))


def compare_with_null(observed, null_values, *, alternative: str = "greater", confidence: float = 0.95,
                      ci: str = "t", n_boot: int = 2000, seed=None) -> NullComparison:
    """Compare an observed value with the values of null networks: z, percentile, effect size, p.

    The package's one implementation of "how far from its null is this value": every Q,
    metric or score in the book that is compared with a null goes through here.

    ``z = (observed - mean) / sd`` with ``mean`` and ``sd`` (ddof=1) over ``null_values``.
    When the null has no spread (``sd == 0``, every null value equal), ``z`` is 0 if
    ``observed`` equals them and ``+inf``/``-inf`` (the sign of the difference) otherwise:
    the observed value is then exactly as extreme as it can be. ``percentile`` is 100 x the
    fraction of null values below ``observed``, ties counted half (50 when it equals all).

    z says how unusual a value is, not how large the effect is (it grows with the size and
    density of a network as the null's spread shrinks), so the effect size is reported
    beside it: ``delta = observed - mean`` with a ``confidence`` interval for the null mean's
    sampling error (``ci="t"``: ``delta -/+ t_{n-1} * sd / sqrt(n)``; ``ci="bootstrap"``:
    percentile interval of ``observed - mean`` over ``n_boot`` resamples of the null values).
    With no null spread the interval is ``[delta, delta]``.

    ``p_value`` is the empirical p-value (Davison & Hinkley 1997; North et al. 2002), exact
    (never anti-conservative) whenever the observed value and the nulls are exchangeable
    under the null hypothesis, for any ``n_null`` -- the smallest it can be is
    ``1 / (1 + n_null)``:

    - ``"greater"`` (default, one-sided: is the observed value larger than the null's?):
      ``(1 + #{null >= observed}) / (1 + n_null)``;
    - ``"less"``: ``(1 + #{null <= observed}) / (1 + n_null)``;
    - ``"two-sided"``: twice the smaller of the two, capped at 1.

    A NaN ``observed`` gives NaN ``z``, ``percentile``, ``delta`` (and interval) and ``p_value``.

    Parameters
    ----------
    observed : float
    null_values : array_like, shape (n_null,)
        At least two finite values (drop failed null draws before calling).
    alternative : {"greater", "less", "two-sided"}
        The side of the p-value.
    confidence : float in (0, 1), default 0.95
        Level of the interval of ``delta``.
    ci : {"t", "bootstrap"}
        How the interval is computed (``"t"`` is deterministic; ``"bootstrap"`` uses ``seed``).
    n_boot : int, default 2000
        Bootstrap resamples (``ci="bootstrap"``).
    seed : None, int, SeedSequence or Generator
        For ``ci="bootstrap"``.

    Returns
    -------
    NullComparison

    Examples
    --------
    >>> c = compare_with_null(0.42, [0.30, 0.31, 0.29, 0.30, 0.32])
    >>> round(c.z, 2), c.percentile, c.n_null, round(c.delta, 3), round(c.p_value, 3)
    (10.17, 100.0, 5, 0.116, 0.167)
    >>> round(c.delta_low, 3), round(c.delta_high, 3)
    (0.102, 0.13)
    >>> compare_with_null(0.3, [0.3, 0.3]).z, compare_with_null(0.4, [0.3, 0.3]).z
    (0.0, inf)
    >>> compare_with_null(0.1, [0.2, 0.3, 0.4], alternative="two-sided").p_value
    0.5
    >>> b = compare_with_null(0.42, [0.30, 0.31, 0.29, 0.30, 0.32], ci="bootstrap", seed=0)
    >>> bool(b.delta_low <= b.delta <= b.delta_high)
    True
    """
    null_values = np.asarray(null_values, dtype=float)
    if null_values.ndim != 1 or null_values.size < 2:
        raise ValueError(f"'null_values' must hold at least 2 null values; got shape {null_values.shape}")
    if not np.all(np.isfinite(null_values)):
        raise ValueError("'null_values' must be finite; drop failed null draws first")
    if isinstance(observed, (bool, np.bool_)) or not isinstance(observed, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"'observed' must be a real number; got {observed!r}")
    alternative = check_choice(alternative, "alternative", ALTERNATIVES)
    confidence = check_float(confidence, "confidence", minimum=0.0, maximum=1.0)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"'confidence' must be in (0, 1); got {confidence}")
    ci = check_choice(ci, "ci", ("t", "bootstrap"))
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    rng = as_rng(seed) if ci == "bootstrap" else None
    observed = float(observed)
    n = null_values.size
    mean = float(null_values.mean())
    sd = float(null_values.std(ddof=1))
    if np.isnan(observed):
        z = pct = delta = low = high = p = np.nan
    else:
        if sd > 0:
            z = (observed - mean) / sd
        else:
            z = 0.0 if observed == mean else float(np.sign(observed - mean) * np.inf)
        pct = 100.0 * (np.mean(null_values < observed) + 0.5 * np.mean(null_values == observed))
        delta = observed - mean
        if sd == 0:
            low = high = delta
        elif ci == "t":
            half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / np.sqrt(n)
            low, high = delta - half, delta + half
        else:
            means = null_values[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
            hi_mean, lo_mean = np.quantile(means, [0.5 + confidence / 2, 0.5 - confidence / 2])
            low, high = observed - float(hi_mean), observed - float(lo_mean)
        p = _empirical_p(observed, null_values, alternative)
    return NullComparison(observed=observed, null_mean=mean, null_sd=sd, z=float(z), percentile=float(pct),
                          n_null=int(n), delta=float(delta), delta_low=float(low), delta_high=float(high),
                          p_value=float(p), alternative=alternative, confidence=confidence)


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
    alternative: str = "greater",
    confidence: float = 0.95,
    min_largest_component: float = MIN_LARGEST_COMPONENT,
    on_fragmented: str = "warn",
) -> ModularityTest:
    """Is the modularity of ``A`` higher than a null model's?

    Observed and null modularities are found the same way: the highest Q among ``n_runs``
    runs of bctpy's ``community_louvain`` (:func:`~mesoscale.metrics.best_partition`). Using
    the same optimiser with the same effort on both sides makes them comparable — random
    networks have a high maximum Q too (Guimerà et al. 2004), and a weaker optimiser on the
    nulls would inflate z.

    Report ``delta`` (ΔQ = Q - mean null Q, with its interval) beside ``z``, and ``p_value``
    for significance: with few nulls z is far from normal (see
    :mod:`mesoscale.metrics.calibration`), the empirical p-value is exact.

    A network whose largest connected component holds less than ``min_largest_component``
    of its nodes is flagged (:func:`flag_fragmented`): its Q mostly counts components.

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
    alternative : {"greater", "less", "two-sided"}
        Side of ``p_value`` (default one-sided: more modular than the null).
    confidence : float in (0, 1), default 0.95
        Level of the interval of ``delta`` (t interval, :func:`compare_with_null`).
    min_largest_component : float in (0, 1], default 0.9
        Fragmentation threshold (:func:`fragmentation`).
    on_fragmented : {"warn", "raise", "ignore"}
        What a fragmented ``A`` triggers (:func:`flag_fragmented`); the result records it
        in ``fragmented`` in every case.

    Returns
    -------
    ModularityTest
        ``q`` (observed), ``null_mean``, ``null_sd`` (ddof=1), ``z = (q - mean) / sd``,
        ``percentile`` (100 x fraction of null Q below q, ties counted half), ``n_null``,
        ``null``, ``null_q`` (all null Q's), ``partition`` (the observed max-Q partition),
        ``delta``, ``delta_low``, ``delta_high``, ``p_value``, and ``n_components``,
        ``largest_component``, ``n_isolated``, ``fragmented``.

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    >>> t = modularity_significance(A, "degree", n_null=10, n_runs=5, seed=0)
    >>> bool(t.q > t.null_mean), t.n_null, bool(t.delta > 0), round(t.p_value, 3)
    (True, 10, True, 0.091)
    """
    M, directed = check_network(A)
    null = check_choice(null, "null", NULL_MODELS)
    n_null = check_int(n_null, "n_null", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    gamma = check_float(gamma, "gamma", minimum=0.0)
    alternative = check_choice(alternative, "alternative", ALTERNATIVES)
    confidence = check_float(confidence, "confidence", minimum=0.0, maximum=1.0)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"'confidence' must be in (0, 1); got {confidence}")
    if null == "spatial" and D is None:
        raise ValueError("null='spatial' needs the distance matrix 'D'; got D=None")
    Dm = None if D is None else check_distance(D, M.shape[0])
    flag_fragmented(M, min_largest_component=min_largest_component, action=on_fragmented)
    streams = seed_sequence(seed).spawn(n_null + 1)
    partition, q = best_partition(M, n_runs, gamma, np.random.default_rng(streams[0]), directed=directed)
    null_q = np.empty(n_null)
    for i in tqdm(range(n_null), desc=f"{null} null", disable=not progress):
        rng = np.random.default_rng(streams[i + 1])
        R = null_network(M, null, Dm, rng, itr=itr, n_bins=n_bins)
        null_q[i] = best_partition(R, n_runs, gamma, rng, directed=directed)[1]
    return ModularityTest.from_null(q, null_q, null=null, partition=partition, n_runs=n_runs, gamma=gamma, A=M,
                                    alternative=alternative, confidence=confidence,
                                    min_largest_component=min_largest_component)


# ----------------------------------------------------------------------------- multiple comparisons


def adjust_pvalues(p, method: str = "holm"):
    """p-values adjusted for multiple comparisons (Holm–Bonferroni or Benjamini–Hochberg).

    With ``m`` p-values sorted increasingly, ``p_(1) <= ... <= p_(m)``:

    ``"holm"`` (Holm 1979; controls the family-wise error rate)
        ``p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))``.
    ``"bh"`` (Benjamini & Hochberg 1995; controls the false discovery rate for independent
    or positively dependent tests)
        ``p~_(i) = min_{j >= i} min(1, m p_(j) / j)``.
    ``"bonferroni"``
        ``min(1, m p)``.

    Reject the hypotheses whose adjusted p-value is at most the chosen level. Use it
    whenever a chapter reads significance off many conditions at once (rules, parameter
    values, datasets). NaN entries (comparisons that could not be made) stay NaN and do not
    count in ``m``, as in R's ``p.adjust``.

    Parameters
    ----------
    p : array_like
        p-values in [0, 1] (any shape; NaN allowed).
    method : {"holm", "bh", "bonferroni"}

    Returns
    -------
    ndarray
        Adjusted p-values, same shape as ``p``.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.005], "holm").tolist()
    [0.03, 0.06, 0.06, 0.02]
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.005], "bh").tolist()
    [0.02, 0.04, 0.04, 0.02]
    >>> adjust_pvalues([0.2, np.nan, 0.6], "bonferroni").tolist()
    [0.4, nan, 1.0]
    """
    method = check_choice(method, "method", PVALUE_ADJUSTMENTS)
    if isinstance(p, (str, bytes)):
        raise TypeError(f"'p' must be an array of p-values; got {p!r}")
    try:
        arr = np.asarray(p, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"'p' must be an array of p-values; got {p!r}") from exc
    finite = ~np.isnan(arr)
    if np.any(np.isinf(arr)) or np.any((arr[finite] < 0) | (arr[finite] > 1)):
        bad = arr[~np.isnan(arr) & ((arr < 0) | (arr > 1) | np.isinf(arr))][0]
        raise ValueError(f"'p' must hold p-values in [0, 1] (or NaN); got {bad}")
    out = np.full(arr.shape, np.nan)
    vals = arr[finite]
    m = vals.size
    if m == 0:
        return out
    order = np.argsort(vals, kind="stable")
    ranked = vals[order]
    i = np.arange(1, m + 1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - i + 1) * ranked))
    elif method == "bh":
        adj = np.minimum.accumulate(np.minimum(1.0, m * ranked / i)[::-1])[::-1]
    else:
        adj = np.minimum(1.0, m * ranked)
    res = np.empty(m)
    res[order] = adj
    out[finite] = res
    return out
