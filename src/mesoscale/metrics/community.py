"""Community detection: Newman modularity, repeated Louvain and consensus partitions.

Louvain is bctpy's ``community_louvain`` (Blondel et al. 2008, the generalised Louvain of the
Brain Connectivity Toolbox), run by one of two engines: ``"numba"`` (the default), compiled
kernels in :mod:`~mesoscale.metrics._louvain_kernels` that follow bctpy step for step and
return the same partitions bit for bit for the same seed (about an order of magnitude faster),
and ``"bctpy"``, bctpy's pure-Python function itself (the reference). Consensus partitions use
bctpy's ``agreement`` and ``consensus_und`` (Lancichinetti & Fortunato 2012). Weighted or
binary, undirected or directed (Leicht–Newman modularity for directed networks, optimised on
its symmetrised matrix by both engines).
"""

from __future__ import annotations

import warnings

import bct
import numpy as np
from tqdm.auto import tqdm

from .._validation import as_rng, check_choice, check_float, check_int, check_network, check_partition, relabel
from . import _louvain_kernels

__all__ = [
    "modularity",
    "louvain_partitions",
    "best_partition",
    "consensus_communities",
    "relabel",
]

ENGINES = ("numba", "bctpy")


def _bct_seed(rng: np.random.Generator) -> np.random.RandomState:
    """A legacy ``RandomState`` for bctpy, drawn from ``rng`` (bctpy does not take Generators)."""
    return np.random.RandomState(int(rng.integers(0, 2**32 - 1)))


def modularity(A, partition, gamma: float = 1.0) -> float:
    """Newman modularity Q of a given partition (Leicht–Newman Q if ``A`` is asymmetric).

    ``Q = (1/s) * sum_ij (A_ij - gamma * k_i^out k_j^in / s) * [c_i == c_j]`` with ``s`` the total
    weight ``sum_ij A_ij`` (twice the number of edges of an undirected network).

    Parameters
    ----------
    A : array_like, shape (n, n)
        Non-negative (weighted) adjacency matrix; ``A[i, j]`` is the connection i -> j.
    partition : array_like of int, shape (n,)
        Module label of every node.
    gamma : float, default 1.0
        Resolution parameter.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> A = np.kron(np.eye(2), np.ones((3, 3))) - np.eye(6)
    >>> A[2, 3] = A[3, 2] = 1
    >>> round(modularity(A, [0, 0, 0, 1, 1, 1]), 4)
    0.3571
    """
    M, _ = check_network(A)
    gamma = check_float(gamma, "gamma", minimum=0.0)
    p = check_partition(partition, M.shape[0])
    return _modularity(M, p, gamma)


def _modularity(M, p, gamma):
    """:func:`modularity` of a validated float matrix and labels 0..k-1 (no checks)."""
    s = M.sum()
    kout = M.sum(axis=1)
    kin = M.sum(axis=0)
    k = p.max() + 1
    # E[a, b] = weight from module a to module b, accumulated as np.add.at(E, (p[:, None],
    # p[None, :]), M) accumulates it (row-major order), so Q is the same float
    E = _louvain_kernels.module_weights(M, p, k)
    within = np.trace(E)
    expected = np.dot(np.bincount(p, weights=kout, minlength=k), np.bincount(p, weights=kin, minlength=k))
    return float((within - gamma * expected / s) / s)


def _bct_modularity_matrix(M, gamma):
    """``B = W - gamma k_out k_in^T / s``, computed as bctpy's ``community_louvain`` computes it."""
    return M - gamma * np.outer(np.sum(M, axis=1), np.sum(M, axis=0)) / np.sum(M)


def _modularity_matrix(M, gamma):
    """Symmetrised Leicht–Newman modularity matrix ``(B + B.T) / 2`` of a directed network.

    bctpy 0.6.1's ``community_louvain`` builds ``B = W - gamma k_out k_in^T / s`` but, unlike the
    MATLAB BCT, never symmetrises it: its node moves then cycle ("Modularity infinite loop style
    G") and its module aggregation reads only one triangle of ``B``. Passing the symmetrised
    matrix (same Q for every partition) gives the MATLAB behaviour.
    """
    B = _bct_modularity_matrix(M, gamma)
    return (B + B.T) / 2


def louvain_partitions(
    A,
    n_runs: int = 100,
    gamma: float = 1.0,
    seed=None,
    *,
    directed: bool | None = None,
    progress: bool = False,
    engine: str = "numba",
):
    """Run bctpy's generalised Louvain (``community_louvain``) ``n_runs`` times from independent seeds.

    Each run gets a legacy ``RandomState`` drawn from ``seed``; both engines consume it
    identically, so ``engine="numba"`` returns exactly the partitions of ``engine="bctpy"``.
    Directed networks are optimised on the symmetrised Leicht–Newman modularity matrix (a
    workaround for a bctpy 0.6.1 bug with asymmetric matrices, see ``_modularity_matrix``).

    Parameters
    ----------
    A : array_like, shape (n, n)
        Non-negative adjacency matrix, weighted or binary, undirected or directed.
    n_runs : int, default 100
        Number of independent runs.
    gamma : float, default 1.0
        Resolution parameter.
    seed : None, int, SeedSequence or Generator
        Same seed, same partitions (with either engine).
    directed : bool or None
        ``None`` infers it from the symmetry of ``A``.
    progress : bool
        Show a progress bar over the runs.
    engine : {"numba", "bctpy"}, default "numba"
        ``"numba"``: compiled kernels that reproduce bctpy 0.6.1 step for step (same
        partitions, bit for bit); ``"bctpy"``: ``bct.community_louvain`` itself (the reference,
        5-20x slower per run at n = 68-2000, see ``benchmarks/bench_louvain.py``).

    Returns
    -------
    partitions : int ndarray, shape (n_runs, n)
        One partition per run, labels 0..k-1.
    q : ndarray, shape (n_runs,)
        Modularity of each partition.

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    >>> parts, q = louvain_partitions(A, n_runs=3, seed=0)
    >>> parts.shape, bool(q.max() > 0.4)
    ((3, 34), True)
    >>> ref, _ = louvain_partitions(A, n_runs=3, seed=0, engine="bctpy")
    >>> bool((parts == ref).all())
    True
    """
    M, directed = check_network(A, directed=directed)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    gamma = check_float(gamma, "gamma", minimum=0.0)
    engine = check_choice(engine, "engine", ENGINES)
    rng = as_rng(seed)
    if engine == "bctpy":
        # a nested list: bctpy 0.6.1 compares B with strings (``B in (...)``), which fails for arrays
        B = _modularity_matrix(M, gamma).tolist() if directed else "modularity"
    else:
        B = _modularity_matrix(M, gamma) if directed else _bct_modularity_matrix(M, gamma)
        s = np.sum(M)
    parts = np.empty((n_runs, M.shape[0]), dtype=np.int64)
    qs = np.empty(n_runs)
    for r in tqdm(range(n_runs), desc="Louvain", disable=not progress, leave=False):
        if engine == "bctpy":
            ci, _q = bct.community_louvain(M, gamma=gamma, B=B, seed=_bct_seed(rng))
        else:
            ci, _q = _louvain_kernels.louvain(B, s, _bct_seed(rng))
        parts[r] = relabel(ci)
        qs[r] = _modularity(M, parts[r], gamma)
    return parts, qs


def best_partition(
    A, n_runs: int = 10, gamma: float = 1.0, seed=None, *, directed: bool | None = None, engine: str = "numba"
):
    """The highest-modularity partition among ``n_runs`` Louvain runs (:func:`louvain_partitions`).

    Returns
    -------
    partition : int ndarray, shape (n,)
    Q : float

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    >>> p, q = best_partition(A, n_runs=10, seed=1)
    >>> bool(q > 0.41)
    True
    """
    parts, qs = louvain_partitions(A, n_runs, gamma, seed, directed=directed, engine=engine)
    r = int(np.argmax(qs))
    return parts[r], float(qs[r])


def consensus_communities(
    A,
    n_runs: int = 100,
    gamma: float = 1.0,
    seed=None,
    *,
    tau: float = 0.5,
    directed: bool | None = None,
    progress: bool = False,
    engine: str = "numba",
):
    """Consensus partition of repeated Louvain runs (Lancichinetti & Fortunato 2012).

    ``community_louvain`` is run ``n_runs`` times; the agreement matrix (fraction of runs that put
    i and j in the same module) is thresholded at ``tau`` and re-clustered by bctpy's
    ``consensus_und`` (``n_runs`` repetitions per round) until all repetitions agree.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Non-negative adjacency matrix, weighted or binary, undirected or directed.
    n_runs : int, default 100
        Louvain runs (and consensus repetitions per round).
    gamma : float, default 1.0
        Resolution parameter.
    seed : None, int, SeedSequence or Generator
        Same seed, same partition.
    tau : float in [0, 1], default 0.5
        Agreement threshold of the consensus step.
    directed : bool or None
        ``None`` infers it from the symmetry of ``A``.
    progress : bool
        Show a progress bar over the Louvain runs.
    engine : {"numba", "bctpy"}, default "numba"
        Louvain engine of the runs (:func:`louvain_partitions`; same partitions either way).
        The consensus step is bctpy's ``consensus_und`` with both.

    Returns
    -------
    partition : int ndarray, shape (n,)
        Consensus module labels 0..k-1 (first appearance order).
    Q : float
        Modularity of the consensus partition on ``A`` (:func:`modularity`).
    agreement : ndarray, shape (n, n)
        Fraction of Louvain runs in which i and j share a module (diagonal 1).

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    >>> p, Q, agree = consensus_communities(A, n_runs=20, seed=0)
    >>> bool(Q >= 0.415), int(p.max() + 1)
    (True, 4)
    """
    M, directed = check_network(A, directed=directed)
    tau = check_float(tau, "tau", minimum=0.0, maximum=1.0)
    rng = as_rng(seed)
    parts, _ = louvain_partitions(M, n_runs, gamma, rng, directed=directed, progress=progress, engine=engine)
    n = M.shape[0]
    with warnings.catch_warnings():
        # bctpy 0.6.1's dummyvar (used by agreement and consensus_und) calls np.sum on a generator
        warnings.filterwarnings("ignore", message="Calling np.sum", category=DeprecationWarning)
        agree = bct.agreement(parts.T) / parts.shape[0]
        np.fill_diagonal(agree, 1.0)
        if np.all(parts == parts[0]):
            ci = parts[0]
        else:
            ci = bct.consensus_und(agree.copy(), tau, reps=parts.shape[0], seed=_bct_seed(rng))
        consensus = relabel(ci)
    if consensus.shape != (n,):  # pragma: no cover - defensive, bctpy squeezes its output
        raise RuntimeError(f"consensus_und returned shape {consensus.shape}")
    return consensus, _modularity(M, consensus, gamma), agree
