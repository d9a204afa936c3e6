"""Structure of a weight matrix: strongest pairs, wiring cost, and modularity against a null.

These are the one implementation of each idea for every phase of the book: trained
networks (:mod:`mesoscale.training`, :mod:`mesoscale.ebm`) and generative models and
connectomes alike.

:func:`keep_strongest`
    The binary network of the strongest ``density`` fraction of node pairs.
:func:`wiring_cost`
    ``sum over connections of |W_ij| D_ij`` (each undirected pair once), absolute or
    relative to randomly placed connections.
:func:`structural_modularity`
    Max-Q modularity of ``(|W| + |W|^T) / 2`` against a null model, as a
    :class:`~mesoscale.metrics.ModularityTest`.
"""

from __future__ import annotations

import numpy as np

from .._validation import (
    SeedLike,
    check_choice,
    check_distance,
    check_float,
    check_int,
    check_matrix,
    spawn_rngs,
)
from .community import best_partition
from .nulls import NULL_MODELS
from .significance import ModularityTest, modularity_significance

__all__ = ["keep_strongest", "wiring_cost", "structural_modularity", "STRUCTURAL_NULLS"]

#: Null models of :func:`structural_modularity`: those of :func:`~mesoscale.metrics.null_network`
#: and ``"weights"`` (the observed weights shuffled over the allowed pairs).
STRUCTURAL_NULLS = (*NULL_MODELS, "weights")


def _pair_weights(W, name: str, combine: str) -> np.ndarray:
    A = np.abs(check_matrix(W, name))
    check_choice(combine, "combine", ("mean", "max"))
    S = (A + A.T) / 2 if combine == "mean" else np.maximum(A, A.T)
    np.fill_diagonal(S, 0.0)
    return S


def keep_strongest(W, density: float, *, combine: str = "mean", strict: bool = False) -> np.ndarray:
    """The binary undirected network of the strongest ``density`` fraction of node pairs.

    A pair's weight is ``(|W_ij| + |W_ji|) / 2`` (``combine="mean"``) or
    ``max(|W_ij|, |W_ji|)`` (``"max"``); pairs are ranked by it, ties broken by pair index
    (so the result is deterministic), and the top ``round(density * n(n-1)/2)`` pairs with
    a non-zero weight are kept. With fewer non-zero pairs than that, all of them are kept,
    or, with ``strict=True``, a ``ValueError`` says so.

    Parameters
    ----------
    W : array_like, shape (n, n)
        Weights (signs are ignored), directed or not.
    density : float in [0, 1]
        Fraction of the ``n(n-1)/2`` pairs to keep.

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric 0/1 float matrix with a zero diagonal.

    Examples
    --------
    >>> W = np.array([[0, 5, 1], [5, 0, 2], [1, 2, 0]])
    >>> keep_strongest(W, 1 / 3).tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    >>> int(keep_strongest(-W, 2 / 3).sum() / 2)
    2
    """
    S = _pair_weights(W, "W", combine)
    density = check_float(density, "density", minimum=0.0, maximum=1.0)
    n = S.shape[0]
    iu = np.triu_indices(n, 1)
    w = S[iu]
    m = int(round(density * len(w)))
    nz = int((w > 0).sum())
    if strict and m > nz:
        raise ValueError(f"'density' {density} asks for {m} edges but 'W' has only {nz} connected pairs")
    order = np.argsort(-w, kind="stable")[: min(m, nz)]
    B = np.zeros((n, n))
    B[iu[0][order], iu[1][order]] = 1.0
    return B + B.T


def wiring_cost(W, D, *, relative: bool = False) -> float:
    """Wiring cost ``sum over connections of |W_ij| D_ij``, each undirected pair once.

    For a directed ``W`` the pair ``{i, j}`` carries ``(|W_ij| + |W_ji|) / 2``, so the cost
    is ``0.5 * sum_ij |W_ij| D_ij``. With ``relative=True`` the cost is divided by that of
    the same total weight spread evenly over all pairs (``total weight x mean pair
    distance``): 1 for randomly placed connections, below 1 when they are shorter than
    chance -- for a binary network, ``sum_edges D_ij / (m * mean_{i<j} D_ij)``.

    Examples
    --------
    >>> x = np.arange(4.0); D = np.abs(x[:, None] - x[None])
    >>> A = np.diag(np.ones(3), 1); A = A + A.T          # a path of unit-length edges
    >>> wiring_cost(A, D), round(wiring_cost(A, D, relative=True), 3)   # mean pair distance 5/3
    (3.0, 0.6)
    """
    S = _pair_weights(W, "W", "mean")
    Dm = check_distance(D, S.shape[0])
    iu = np.triu_indices(S.shape[0], 1)
    cost = float((S[iu] * Dm[iu]).sum())
    if not relative:
        return cost
    total = float(S[iu].sum())
    if total == 0:
        raise ValueError("'W' has no connections; the relative wiring cost is undefined")
    mean_pair = float(Dm[iu].mean())
    if mean_pair <= 0:
        raise ValueError("'D' is zero everywhere; the relative wiring cost is undefined")
    return cost / (total * mean_pair)


def _shuffled_weights_test(A, allowed, n_null, n_runs, seed) -> ModularityTest:
    """Q of ``A`` against the same weights shuffled over the ``allowed`` pairs."""
    streams = spawn_rngs(seed, n_null + 1)
    partition, q = best_partition(A, n_runs, 1.0, streams[0])
    iu = np.triu_indices_from(A, 1)
    ok = allowed[iu]
    w = A[iu][ok]
    null_q = np.empty(n_null)
    for k in range(n_null):
        rng = streams[k + 1]
        vals = np.zeros(len(ok))
        vals[ok] = rng.permutation(w)
        R = np.zeros_like(A)
        R[iu] = vals
        null_q[k] = best_partition(R + R.T, n_runs, 1.0, rng)[1]
    return ModularityTest.from_null(q, null_q, null="weights", partition=partition, n_runs=n_runs, A=A)


def structural_modularity(
    W,
    *,
    null: str = "degree",
    n_null: int = 20,
    n_runs: int = 10,
    density: float | None = None,
    D=None,
    allowed=None,
    seed: SeedLike = None,
) -> ModularityTest:
    """Max-Q modularity of a weight matrix's network against a null model.

    The network is ``(|W| + |W|^T) / 2`` with a zero diagonal (weighted), or with
    ``density`` the binary network of the strongest ``density`` fraction of pairs
    (:func:`keep_strongest`; compare networks at matched sparsity). Observed and null
    networks go through the same optimiser (best of ``n_runs`` Louvain runs).

    Parameters
    ----------
    W : array_like, shape (n, n)
        Weights (e.g. recurrent weights of a trained network; signs are ignored).
    null : {"degree", "density", "spatial", "weights"}
        A null of :func:`~mesoscale.metrics.null_network` (``"spatial"`` needs ``D``), or
        ``"weights"``: the observed pair weights shuffled over the ``allowed`` pairs (an
        architecture-matched null).
    n_null : int
        Null networks (at least 2): the seed count of the comparison.
    n_runs : int
        Louvain runs per network.
    density : float in (0, 1], optional
    D : array_like, shape (n, n), optional
        Distances, for ``null="spatial"``.
    allowed : array_like of bool, shape (n, n), optional
        Pairs that can carry a connection (``null="weights"``; default: every pair).
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    ModularityTest

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W = np.kron(np.eye(2), np.ones((6, 6))) * rng.random((12, 12))
    >>> W[0, 6] = W[6, 0] = 0.05
    >>> t = structural_modularity(W, null="weights", n_null=5, n_runs=2, seed=0)
    >>> t.null, t.n_null, bool(t.z > 2)
    ('weights', 5, True)
    >>> structural_modularity(W, null="density", n_null=3, n_runs=2, density=0.3, seed=0).n_null
    3
    """
    check_choice(null, "null", STRUCTURAL_NULLS)
    n_null = check_int(n_null, "n_null", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    A = _pair_weights(W, "W", "mean")
    if density is not None:
        A = keep_strongest(A, density)
    if not np.any(A > 0):
        raise ValueError("'W' has no non-zero connections (at this density); its modularity is undefined")
    if null != "weights":
        return modularity_significance(A, null, n_null, D, seed, n_runs=n_runs)
    if allowed is None:
        M = ~np.eye(A.shape[0], dtype=bool)
    else:
        M = np.asarray(allowed)
        if M.shape != A.shape:
            raise ValueError(f"'allowed' must have shape {A.shape}; got {M.shape}")
        M = M.astype(bool) | M.astype(bool).T
    return _shuffled_weights_test(A, M, n_null, n_runs, seed)
