"""Feedforwardness of directed networks: trophic levels and coherence, layer order.

Two measures of how far a directed network is from a pure feedforward (acyclic, layered) one.

Trophic coherence (MacKay, Johnson & Sansom 2020)
    For a non-negative weight matrix ``W`` (``W[i, j]`` the connection from ``i`` to ``j``)
    with in-strengths ``s_in = W.sum(0)`` and out-strengths ``s_out = W.sum(1)``, the trophic
    levels ``h`` solve the linear system ``Λ h = v`` with ``Λ = diag(s_in + s_out) - W - Wᵀ``
    (the Laplacian of ``W + Wᵀ``) and ``v = s_in - s_out``. ``h`` minimises the trophic
    incoherence

    ``F0 = Σ_ij W_ij (h_j - h_i - 1)² / Σ_ij W_ij``,

    i.e. it places the levels so that each edge climbs, as nearly as possible, by exactly
    one. ``Λ`` is singular along the constant vector of every weakly connected component:
    ``h`` is fixed up to one constant per component, and here each component is shifted so
    that its lowest level is 0 (``F0`` does not depend on the shifts). ``F0 = 0`` exactly
    when every edge goes up by one level (a directed chain; any network whose nodes can be
    layered so that all edges join consecutive layers); ``F0 = 1`` for a network whose
    in- and out-strength balance at every node (``v = 0``, so all levels are equal), such as
    a directed cycle or a symmetric network. The trophic *coherence* reported beside it is
    ``1 - F0`` (1 feedforward, 0 balanced; it may be negative, since ``F0`` can exceed 1).

Layer feedforwardness
    With a known layer order of the nodes (for a nervous system: sensory -> interneuron ->
    motor), the fraction of the weight on edges between *different* layers that goes
    downstream, ``Σ W_ij [r_j > r_i] / Σ W_ij [r_j != r_i]`` for layer ranks ``r``: 1 if all
    inter-layer weight flows forward, 0.5 if forward and backward weight balance, 0 if all
    flows backward. Edges within a layer, and nodes of no listed layer, are left out.

Examples
--------
>>> import numpy as np
>>> chain = np.diag(np.ones(3), 1)                   # 0 -> 1 -> 2 -> 3
>>> trophic_levels(chain).tolist(), trophic_incoherence(chain)
([0.0, 1.0, 2.0, 3.0], 0.0)
>>> cycle = np.roll(np.eye(4), 1, axis=1)            # 0 -> 1 -> 2 -> 3 -> 0
>>> trophic_incoherence(cycle)
1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validation import check_choice, check_network

__all__ = ["trophic_levels", "trophic_incoherence", "trophic_coherence", "layer_feedforwardness"]

#: Above this many nodes ``method="auto"`` solves for the trophic levels with a sparse solver.
SPARSE_ABOVE = 500

_METHODS = ("auto", "dense", "sparse")


def _levels(W: np.ndarray, method: str) -> np.ndarray:
    """Trophic levels of a validated weight matrix (see the module docstring)."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    n = W.shape[0]
    s_in, s_out = W.sum(axis=0), W.sum(axis=1)
    v = s_in - s_out
    use_sparse = method == "sparse" or (method == "auto" and n > SPARSE_ABOVE)
    S = W + W.T
    if use_sparse:
        Ss = sparse.csr_matrix(S)
        lap = (sparse.diags(np.asarray(Ss.sum(axis=1)).ravel()) - Ss).tocsr()
    else:
        lap = np.diag(S.sum(axis=1)) - S
    n_comp, comp = connected_components(sparse.csr_matrix(S), directed=False)
    h = np.zeros(n)
    for c in range(n_comp):
        idx = np.flatnonzero(comp == c)
        if idx.size < 2:
            continue  # an isolated node: level 0
        rest = idx[1:]  # ground the first node (level 0); the reduced Laplacian is non-singular
        if use_sparse:
            from scipy.sparse.linalg import spsolve

            sub = lap[rest][:, rest].tocsc()
            h[rest] = spsolve(sub, v[rest])
        else:
            h[rest] = np.linalg.solve(lap[np.ix_(rest, rest)], v[rest])
        h[idx] -= h[idx].min()
    return h


def trophic_levels(A, *, method: str = "auto") -> np.ndarray:
    """Trophic levels ``h`` of a directed (weighted) network, lowest level 0 in each component.

    The solution of ``Λ h = s_in - s_out`` with ``Λ`` the Laplacian of ``A + Aᵀ`` (see
    :mod:`~mesoscale.metrics.hierarchy`); each weakly connected component is shifted so that
    its lowest node sits at 0, isolated nodes are at 0.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Non-negative weights, ``A[i, j]`` from ``i`` to ``j``, at least one edge. Self-loops
        cancel out of the system (they matter only to :func:`trophic_incoherence`).
    method : {"auto", "dense", "sparse"}
        Linear solver: dense LAPACK or scipy's sparse ``spsolve``; ``"auto"`` uses the sparse
        one above :data:`SPARSE_ABOVE` nodes. Both give the same levels.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    A feed-forward fan: 0 feeds 1 and 2, both feed 3.

    >>> import numpy as np
    >>> A = np.zeros((4, 4)); A[0, [1, 2]] = 1; A[[1, 2], 3] = 1
    >>> np.round(trophic_levels(A), 6).tolist()
    [0.0, 1.0, 1.0, 2.0]
    """
    method = check_choice(method, "method", _METHODS)
    M, _ = check_network(A)
    return _levels(M, method)


def trophic_incoherence(A, *, method: str = "auto") -> float:
    """Trophic incoherence ``F0 = Σ A_ij (h_j - h_i - 1)² / Σ A_ij`` of a directed network.

    0 for a perfectly layered (feedforward) network, 1 when in- and out-strength balance at
    every node (a directed cycle, any symmetric network); random directed graphs fall in
    between. Levels ``h`` from :func:`trophic_levels`.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Non-negative weights, ``A[i, j]`` from ``i`` to ``j``, at least one edge.
    method : {"auto", "dense", "sparse"}
        Solver for the levels (:func:`trophic_levels`).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> A = np.zeros((3, 3)); A[0, 1] = A[1, 2] = 1
    >>> trophic_incoherence(A)
    0.0
    >>> trophic_incoherence(A + A.T)            # every edge goes both ways
    1.0
    """
    method = check_choice(method, "method", _METHODS)
    M, _ = check_network(A)
    h = _levels(M, method)
    diff = h[None, :] - h[:, None] - 1.0
    F0 = float(np.sum(M * diff**2) / M.sum())
    return 0.0 if abs(F0) < 1e-12 else (1.0 if abs(F0 - 1.0) < 1e-12 else F0)


def trophic_coherence(A, *, method: str = "auto") -> float:
    """Trophic coherence ``1 - F0`` (:func:`trophic_incoherence`): 1 feedforward, 0 balanced.

    Examples
    --------
    >>> import numpy as np
    >>> chain = np.diag(np.ones(4), 1)
    >>> trophic_coherence(chain), trophic_coherence(chain + chain.T)
    (1.0, 0.0)
    """
    return 1.0 - trophic_incoherence(A, method=method)


def layer_feedforwardness(A, layers: Sequence, order: Sequence = ("sensory", "interneuron", "motor")) -> float:
    """Fraction of the weight between different layers that flows downstream along ``order``.

    ``Σ A_ij [r_j > r_i] / Σ A_ij [r_j != r_i]`` with ``r`` the rank of each node's layer in
    ``order``; nodes whose layer is not in ``order`` are left out, and so are edges within
    a layer. 1: all inter-layer weight flows forward; 0.5: forward and backward balance; 0:
    all flows backward.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Non-negative weights, ``A[i, j]`` from ``i`` to ``j``.
    layers : sequence, length n
        The layer (e.g. cell class) of every node.
    order : sequence
        The layers from upstream to downstream (at least two, distinct).

    Returns
    -------
    float
        NaN if no weight joins two different listed layers.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.zeros((3, 3)); A[0, 1] = 3; A[1, 2] = 1; A[2, 0] = 1
    >>> layer_feedforwardness(A, ["sensory", "interneuron", "motor"])
    0.8
    """
    M, _ = check_network(A)
    layers = list(layers)
    if len(layers) != M.shape[0]:
        raise ValueError(f"'layers' must give one layer per node ({M.shape[0]}); got {len(layers)}")
    order = list(order)
    if len(order) < 2 or len(set(order)) != len(order):
        raise ValueError(f"'order' must list at least two distinct layers; got {order!r}")
    rank = {x: k for k, x in enumerate(order)}
    r = np.array([rank.get(x, -1) for x in layers], dtype=float)
    keep = r >= 0
    if keep.sum() < 2:
        raise ValueError(f"'layers' has fewer than two nodes in the layers of 'order' {order!r}")
    R = r[keep]
    W = M[np.ix_(keep, keep)]
    up = R[None, :] > R[:, None]
    between = R[None, :] != R[:, None]
    total = float(W[between].sum())
    return float(W[up].sum() / total) if total > 0 else float("nan")
