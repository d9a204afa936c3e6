"""Developmental growth: wiring rules on a network whose nodes and geometry change in time.

:func:`grow` runs the same kernel as :func:`~mesoscale.generative.generate`, split into
*stages*. In stage ``s`` only nodes already born may connect, distances are those of the
stage, and edges are added (one at a time, the topological term recomputed after each)
until the network holds ``m[s]`` edges. This covers

* nodes appearing in a birth order or at birth times (e.g. *C. elegans* neurons from
  the lineage in :mod:`mesoscale.connectomes`),
* a domain that changes shape, e.g. a body that elongates along its axis as in
  Nicosia et al. (2013) (see :func:`elongating_distances`),
* a seed network that is a real earlier-stage connectome.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .._validation import SeedLike, check_choice, check_distance, check_float, check_int, check_matrix
from ._engine import check_model_var, check_params, check_seed_network, distance_feature, run_engine
from ._kernels import WIRING_RULES

__all__ = ["grow", "birth_stages", "elongating_distances", "spatial_edge_schedule"]


def birth_stages(n_stages, *, birth_order=None, birth_times=None, stage_times=None, n_nodes=None):
    """Stage at which each node becomes available.

    Parameters
    ----------
    n_stages : int
        Number of stages.
    birth_order : array_like of int, optional
        Node indices in the order they are born; node ``birth_order[s]`` is born at stage
        ``s`` (so it needs ``len(birth_order) <= n_stages``). Nodes not listed (up to
        ``n_nodes``) are never born.
    birth_times, stage_times : array_like, optional
        A node is available in stage ``s`` when ``birth_times[i] <= stage_times[s]``
        (``stage_times`` increasing). Nodes born after the last stage are never available.
    n_nodes : int, optional
        Number of nodes (with ``birth_order``; default ``max(birth_order) + 1``).

    Returns
    -------
    ndarray of int64
        ``birth[i]``: the first stage in which node ``i`` may connect (``n_stages`` if never).

    Examples
    --------
    >>> birth_stages(3, birth_times=[0.0, 1.5, 0.2], stage_times=[0.5, 1.0, 2.0]).tolist()
    [0, 2, 0]
    >>> birth_stages(3, birth_order=[2, 0, 1]).tolist()
    [1, 2, 0]
    """
    n_stages = check_int(n_stages, "n_stages", minimum=1)
    if (birth_order is None) == (birth_times is None):
        raise ValueError("give exactly one of 'birth_order' and 'birth_times'")
    if birth_order is not None:
        order = np.asarray(birth_order)
        if order.ndim != 1 or not np.issubdtype(order.dtype, np.integer):
            raise TypeError(f"'birth_order' must be a 1-D sequence of node indices; got {birth_order!r}")
        if len(np.unique(order)) != order.size or (order.size and order.min() < 0):
            raise ValueError("'birth_order' must list distinct, non-negative node indices")
        if order.size > n_stages:
            raise ValueError(f"'birth_order' lists {order.size} nodes but there are only {n_stages} stages")
        n_nodes = int(order.max()) + 1 if n_nodes is None else check_int(n_nodes, "n_nodes", minimum=1)
        if order.size and order.max() >= n_nodes:
            raise ValueError(f"'birth_order' holds node {int(order.max())} but there are {n_nodes} nodes")
        birth = np.full(n_nodes, n_stages, np.int64)
        birth[order] = np.arange(order.size)
        return birth
    bt = np.asarray(birth_times, dtype=float)
    if bt.ndim != 1 or not np.all(np.isfinite(bt)):
        raise ValueError("'birth_times' must be a 1-D array of finite times")
    if stage_times is None:
        raise ValueError("'birth_times' needs 'stage_times'")
    st = np.asarray(stage_times, dtype=float)
    if st.shape != (n_stages,) or not np.all(np.isfinite(st)) or np.any(np.diff(st) < 0):
        raise ValueError(f"'stage_times' must be {n_stages} finite, non-decreasing times; got {stage_times!r}")
    return np.searchsorted(st, bt, side="left").astype(np.int64)


def elongating_distances(positions, scale, axis=0):
    """Distance matrices of a body that stretches along one axis.

    Parameters
    ----------
    positions : array_like, shape (n, d)
        Node positions in the final (adult) body.
    scale : array_like, shape (S,)
        Length of the body at each stage relative to the final one (e.g. rising to 1).
    axis : int
        Coordinate that is stretched (the body axis).

    Returns
    -------
    ndarray, shape (S, n, n)
        Euclidean distances at each stage, positions scaled by ``scale[s]`` along ``axis``.

    Examples
    --------
    >>> P = np.array([[0.0, 0.0], [2.0, 1.0]])
    >>> elongating_distances(P, [0.5, 1.0], axis=0)[:, 0, 1].round(3).tolist()
    [1.414, 2.236]
    """
    P = check_matrix(positions, "positions", square=False)
    axis = check_int(axis, "axis", minimum=0, maximum=P.shape[1] - 1)
    sc = np.atleast_1d(np.asarray(scale, dtype=float))
    if sc.ndim != 1 or not np.all(np.isfinite(sc)) or np.any(sc < 0):
        raise ValueError(f"'scale' must be a 1-D array of finite, non-negative factors; got {scale!r}")
    out = np.empty((sc.size, P.shape[0], P.shape[0]))
    for s, f in enumerate(sc):
        Q = P.copy()
        Q[:, axis] *= f
        out[s] = np.linalg.norm(Q[:, None, :] - Q[None, :, :], axis=-1)
    return out


def spatial_edge_schedule(D, birth, *, p0=1.0, length=1.0, n_stages=None, seed=None):
    """Edges per stage when every newly possible pair connects with a distance-dependent chance.

    In stage ``s`` each pair whose later-born node is born in ``s`` connects with probability
    ``p0 * exp(-D_s[i, j] / length)`` (the setting of Nicosia et al. 2013: a neuron links to
    the neurons present at its birth, less often the further away they are). The result is
    the cumulative edge count to pass to :func:`grow` as ``m``, which then places that many
    edges with a wiring rule. While the body is small compared with ``length`` the count
    grows quadratically with the number of nodes; once it is long, linearly.

    Parameters
    ----------
    D : array_like, shape (n, n) or (S, n, n)
        Distances, fixed or per stage.
    birth : array_like of int, shape (n,)
        Stage at which each node is born (see :func:`birth_stages`); values ``>= S`` mean never.
    p0 : float
        Connection probability at zero distance, in [0, 1].
    length : float
        Decay length of the connection probability (unit of ``D``).
    n_stages : int, optional
        Number of stages ``S`` when ``D`` is one matrix (default ``max(birth) + 1``).
    seed : int, SeedSequence or Generator, optional

    Returns
    -------
    ndarray of int64, shape (S,)
        Cumulative number of edges at the end of each stage.

    Examples
    --------
    >>> x = np.arange(6.0)
    >>> D = np.abs(x[:, None] - x[None])
    >>> m = spatial_edge_schedule(D, np.arange(6), p0=1.0, length=1e9, seed=0)
    >>> m.tolist()  # everyone connects: s (s + 1) / 2 edges after stage s
    [0, 1, 3, 6, 10, 15]
    """
    from .._validation import as_rng

    Darr = np.asarray(D, dtype=float)
    b = np.asarray(birth)
    if b.ndim != 1 or not np.issubdtype(b.dtype, np.integer) or (b.size and b.min() < 0):
        raise ValueError(f"'birth' must be a 1-D array of non-negative stage indices; got {birth!r}")
    n = b.size
    if Darr.ndim == 2:
        Dm = check_distance(Darr, n, name="D")
        S = (int(b.max()) + 1 if n else 1) if n_stages is None else check_int(n_stages, "n_stages", minimum=1)
        getD = lambda s: Dm  # noqa: E731
    elif Darr.ndim == 3:
        S = Darr.shape[0]
        if n_stages is not None and check_int(n_stages, "n_stages") != S:
            raise ValueError(f"'n_stages' ({n_stages}) differs from the {S} distance matrices in 'D'")
        stack = [check_distance(Darr[s], n, name=f"D[{s}]") for s in range(S)]
        getD = lambda s: stack[s]  # noqa: E731
    else:
        raise ValueError(f"'D' must have shape (n, n) or (S, n, n); got {Darr.shape}")
    p0 = check_float(p0, "p0", minimum=0.0, maximum=1.0)
    length = check_float(length, "length")
    if length <= 0:
        raise ValueError(f"'length' must be > 0; got {length}")
    rng = as_rng(seed)
    later = np.maximum.outer(b, b)
    iu = np.triu_indices(n, 1)
    m = np.zeros(S, np.int64)
    total = 0
    for s in range(S):
        new = later[iu] == s
        if new.any():
            d = getD(s)[iu][new]
            total += int((rng.random(d.size) < p0 * np.exp(-d / length)).sum())
        m[s] = total
    return m


def grow(
    D: ArrayLike,
    m: int | ArrayLike,
    rule: str,
    eta: float | ArrayLike,
    gamma: float | ArrayLike | None = None,
    *,
    birth_order: ArrayLike | None = None,
    birth_times: ArrayLike | None = None,
    stage_times: ArrayLike | None = None,
    model_var: str | Sequence[str] = ("powerlaw", "powerlaw"),
    seed_network: ArrayLike | None = None,
    epsilon: float = 1e-5,
    n_networks: int = 1,
    seed: SeedLike = None,
    return_order: bool = False,
    n_jobs: int | None = 1,
    progress: bool | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Grow networks stage by stage while nodes are born and distances change.

    Parameters
    ----------
    D : array_like (n, n) or (S, n, n), or callable
        Distances: one matrix for all stages, one per stage, or a function ``D(t)``
        evaluated at each of ``stage_times``.
    m : array_like of int, shape (S,)
        Edges the network holds at the end of each stage (non-decreasing, seed included).
        Its length defines the number of stages ``S``.
    rule, eta, gamma, model_var, epsilon, n_networks, seed, return_order, n_jobs, progress
        As in :func:`~mesoscale.generative.generate`.
    birth_order : array_like of int, optional
        Nodes in birth order: node ``birth_order[s]`` may connect from stage ``s`` on.
    birth_times : array_like, shape (n,), optional
        Birth time of each node; a node may connect in stage ``s`` if
        ``birth_times[i] <= stage_times[s]``. Without ``birth_order`` and ``birth_times``
        all nodes are present from the start.
    stage_times : array_like, shape (S,), optional
        Time of each stage (needed by ``birth_times`` and a callable ``D``).
    seed_network : array_like (n, n), optional
        Starting network, e.g. an earlier-stage connectome. Its nodes must be born in stage 0.

    Returns
    -------
    networks : ndarray of bool, shape (B, n, n)
    order : ndarray of int32, shape (B, m[-1] - m_seed, 2)
        Only with ``return_order``: the added pairs in order; the stage of step ``t`` is
        ``np.searchsorted(m - m_seed, t, side="right")``.

    Raises
    ------
    ValueError
        If a stage asks for more edges than there are pairs of born nodes.

    Examples
    --------
    Ten nodes born one per stage on a line, two edges added per stage:

    >>> import numpy as np
    >>> x = np.arange(10.0)
    >>> D = np.abs(x[:, None] - x[None])
    >>> nets = grow(D, m=[0, 1, 3, 5, 7, 9, 11, 13, 15, 17], rule="sptl", eta=-2.0,
    ...             birth_order=np.arange(10), seed=0)
    >>> int(nets[0].sum()) // 2
    17
    """
    rule = check_choice(rule, "rule", WIRING_RULES)
    dist_var, top_var = check_model_var(model_var)
    etas, gammas = check_params(eta, gamma, rule)
    eps = check_float(epsilon, "epsilon")
    if eps <= 0:
        raise ValueError(f"'epsilon' must be > 0; got {eps}")
    n_networks = check_int(n_networks, "n_networks", minimum=1)

    m_arr = np.atleast_1d(np.asarray(m))
    if m_arr.ndim != 1 or m_arr.size == 0 or not np.issubdtype(m_arr.dtype, np.integer):
        raise TypeError(f"'m' must be a 1-D sequence of edge counts (one per stage); got {m!r}")
    if np.any(np.diff(m_arr) < 0):
        raise ValueError(f"'m' must be non-decreasing; got {m_arr.tolist()}")
    S = m_arr.size

    # distances per stage
    if callable(D):
        if stage_times is None:
            raise ValueError("a callable 'D' needs 'stage_times'")
        Ds = [check_distance(D(t), name="D(t)") for t in np.asarray(stage_times, dtype=float)]
        Dstack = np.stack(Ds)
    else:
        Darr = np.asarray(D, dtype=float)
        if Darr.ndim == 3:
            if Darr.shape[0] != S:
                raise ValueError(f"'D' has {Darr.shape[0]} stages but 'm' has {S}")
            Dstack = np.stack([check_distance(Darr[s], name=f"D[{s}]") for s in range(S)])
        else:
            Dstack = check_distance(Darr, name="D")[None]
    n = Dstack.shape[-1]
    stage_x = np.arange(S, dtype=np.int64) if Dstack.shape[0] == S and S > 1 else np.zeros(S, np.int64)

    # births
    if birth_order is None and birth_times is None:
        birth = np.zeros(n, np.int64)
    elif birth_order is not None:
        birth = birth_stages(S, birth_order=birth_order, n_nodes=n)
    else:
        birth = birth_stages(S, birth_times=birth_times, stage_times=stage_times)
        if birth.size != n:
            raise ValueError(f"'birth_times' must have one entry per node ({n}); got {birth.size}")

    A0 = check_seed_network(seed_network, n)
    m_seed = int(A0.sum()) // 2
    if m_seed and np.any(birth[A0.any(axis=1)] > 0):
        bad = int(np.flatnonzero(A0.any(axis=1) & (birth > 0))[0])
        raise ValueError(f"'seed_network' has edges at node {bad}, which is not born in stage 0")
    if m_arr[0] < m_seed:
        raise ValueError(f"'m' must start at least at the {m_seed} edges of 'seed_network'; got {m_arr.tolist()}")
    alive_counts = np.array([(birth <= s).sum() for s in range(S)])
    cap = alive_counts * (alive_counts - 1) // 2
    if np.any(m_arr > cap):
        s = int(np.flatnonzero(m_arr > cap)[0])
        raise ValueError(
            f"'m' asks for {int(m_arr[s])} edges at stage {s}, but only {int(alive_counts[s])} nodes are born "
            f"({int(cap[s])} pairs)"
        )

    X = np.stack([distance_feature(Dstack[q], dist_var) for q in range(Dstack.shape[0])])
    etas = np.repeat(etas, n_networks)
    gammas = np.repeat(gammas, n_networks)
    nets, order = run_engine(
        A0,
        X,
        stage_x,
        m_arr.astype(np.int64),
        birth,
        rule,
        etas,
        gammas,
        eps,
        top_var == "exponential",
        seed,
        int(m_arr[-1]) - m_seed,
        n_jobs,
        progress,
        f"grow {rule}",
    )
    return (nets, order) if return_order else nets
