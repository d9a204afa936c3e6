"""Modularity during growth: the rate equation of a network whose nodes are born and whose body elongates.

In the developmental model of Nicosia et al. (2013) (:func:`mesoscale.generative.grow`,
:func:`mesoscale.generative.development.development_schedule`) stage ``s`` has its own distances
``D_s`` (the body stretched along its axis), only the nodes born so far may connect, and edges are
added one at a time by the spatial rule until the network holds ``m_s`` edges. For ``sptl`` the
rate equation of :mod:`~mesoscale.theory.homophily` integrates exactly stage by stage: a pair of
born nodes that is still open gains probability ``1 - exp(-Δτ_s w(D_s))`` with ``Δτ_s`` set by the
stage's new edges, so after stage ``s``

.. math:: p_{ij}(s) = 1 - \\exp\\Big(-\\sum_{s' \\le s,\\ i, j \\text{ born}} \\Delta\\tau_{s'}\\, w_{ij}(s')\\Big)

(:func:`growth_pair_probabilities`): the network at every stage is an inhomogeneous random graph
whose kernel is a *history* of the kernels the pair has seen -- pairs of early-born nodes carry
the short-range kernel of the small early body, later pairs the kernel of the stretched body.
:func:`growth_predictions` evaluates the effective-block theory of
:func:`~mesoscale.theory.predict_from_pairs` on the network of born nodes at each stage: the best
grid, its modularity, the random-graph null at that stage's size and degree, ``ΔQ`` and its spread.

What it predicts: while links are added faster than the body grows (dense, early stages), the
range in body units is long and the grid modularity is low; as the body elongates at a fixed
physical contact range, the range in body units shrinks and modules along the axis appear,
while the random-graph baseline ``Q_null(c)`` falls as the mean degree rises.

Examples
--------
>>> import numpy as np
>>> x = np.linspace(0.0, 1.0, 40)
>>> X = np.c_[x, np.zeros(40)]
>>> stages = np.stack([X * [0.5, 1.0], X])  # the body doubles in length
>>> P = growth_pair_probabilities(stages, [20, 60], np.r_[np.zeros(20, int), np.ones(20, int)], -20.0,
...                               "exponential")
>>> P.shape, round(float(np.triu(P[0], 1).sum()), 6), round(float(np.triu(P[1], 1).sum()), 6)
((2, 40, 40), 20.0, 60.0)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float, check_int, distance_matrix
from ._kernel import KERNELS, log_weights, saturating_step, square

__all__ = ["growth_pair_probabilities", "growth_predictions"]


def _check_growth(positions, m, birth_stage):
    X = np.asarray(positions, dtype=float)
    if X.ndim != 3 or X.shape[1] < 2:
        raise ValueError(f"'positions' must have shape (stages, n, dim); got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("'positions' must be finite")
    S, n = X.shape[:2]
    m = np.asarray(m)
    if m.shape != (S,) or not np.issubdtype(m.dtype, np.integer):
        raise ValueError(f"'m' must hold one integer edge count per stage ({S}); got {m!r}")
    if np.any(np.diff(m) < 0) or m[0] < 0:
        raise ValueError(f"'m' must be non-negative and non-decreasing; got {m.tolist()}")
    birth = np.asarray(birth_stage)
    if birth.shape != (n,) or not np.issubdtype(birth.dtype, np.integer):
        raise ValueError(f"'birth_stage' must hold one integer stage per node ({n}); got shape {birth.shape}")
    alive = np.array([(birth <= s).sum() for s in range(S)])
    cap = alive * (alive - 1) // 2
    if np.any(m > cap):
        s = int(np.flatnonzero(m > cap)[0])
        raise ValueError(f"'m' asks for {int(m[s])} edges at stage {s} but only {int(alive[s])} nodes are born")
    return X, m.astype(np.int64), birth.astype(np.int64)


def growth_pair_probabilities(positions, m, birth_stage, eta: float, model_var: str = "exponential") -> np.ndarray:
    """Pair probabilities after every stage of ``sptl`` growth (the exact staged rate equation).

    Parameters
    ----------
    positions : array_like, shape (S, n, dim)
        Node positions at each stage (e.g. the adult positions stretched along the body axis).
    m : array_like of int, shape (S,)
        Edges at the end of each stage (non-decreasing), as given to :func:`mesoscale.generative.grow`.
    birth_stage : array_like of int, shape (n,)
        First stage in which each node may connect.
    eta : float
        Kernel parameter (``exp(eta d)`` or ``d**eta``).
    model_var : {"exponential", "powerlaw"}

    Returns
    -------
    ndarray, shape (S, n, n)
        ``P[s]``: symmetric, zero for pairs with an unborn node, upper triangle summing to ``m[s]``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((30, 2))
    >>> P = growth_pair_probabilities(np.stack([X, X]), [10, 40], np.zeros(30, int), -8.0)
    >>> from mesoscale.theory import pair_probabilities
    >>> bool(np.allclose(P[1], pair_probabilities(np.linalg.norm(X[:, None] - X[None], axis=-1), 40, -8.0,
    ...                                           "exponential"), atol=1e-9))
    True
    """
    X, m, birth = _check_growth(positions, m, birth_stage)
    eta = check_float(eta, "eta")
    check_choice(model_var, "model_var", KERNELS)
    S, n = X.shape[:2]
    iu = np.triu_indices(n, 1)
    p = np.zeros(iu[0].size)
    out = np.empty((S, n, n))
    prev = 0
    for s in range(S):
        step = int(m[s]) - prev
        alive = (birth[iu[0]] <= s) & (birth[iu[1]] <= s)
        if step > 0:
            logw, _ = log_weights(distance_matrix(X[s]), eta, model_var)
            logw = np.where(alive, logw, -np.inf)
            q = np.where(alive, 1.0 - p, 0.0)
            lw = logw[alive]
            inc = np.zeros_like(p)
            inc[alive] = saturating_step(lw, float(step), q[alive])
            p = np.minimum(p + inc, 1.0)
        prev = int(m[s])
        out[s] = square(p, iu, n)
    return out


def growth_predictions(positions, m, birth_stage, eta: float, model_var: str = "exponential", *,
                       stages=None, max_cells: int = 16) -> pd.DataFrame:
    """The effective-block prediction of modularity at each stage of growth.

    For every stage (or those listed in ``stages``) the network of born nodes with the pair
    probabilities of :func:`growth_pair_probabilities` is evaluated by
    :func:`~mesoscale.theory.predict_from_pairs` on that stage's positions.

    Returns
    -------
    pandas.DataFrame
        One row per stage: ``stage, n_born, m, c, cells, q, q_cells, q_null, delta_q, spread,
        range_ratio, mean_edge_length`` (in position units of the stage).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0.0, 1.0, 60)
    >>> X = np.c_[x, 0.05 * np.random.default_rng(1).random(60)]
    >>> stages = np.stack([X * [s, 1.0] for s in (0.25, 0.5, 1.0)])
    >>> df = growth_predictions(stages, [60, 100, 120], np.zeros(60, int), -40.0)
    >>> df.stage.tolist(), bool(df.q_cells.is_monotonic_increasing)
    ([0, 1, 2], True)
    """
    from .conditions import predict_from_pairs

    X, m, birth = _check_growth(positions, m, birth_stage)
    max_cells = check_int(max_cells, "max_cells", minimum=1)
    P = growth_pair_probabilities(X, m, birth, eta, model_var)
    S = X.shape[0]
    todo = range(S) if stages is None else [check_int(s, "stages", minimum=0, maximum=S - 1) for s in stages]
    rows = []
    for s in todo:
        alive = np.flatnonzero(birth <= s)
        if alive.size < 4 or m[s] < 1:
            continue
        Xs = X[s][alive]
        Ds = distance_matrix(Xs)
        pred = predict_from_pairs(Ds, P[s][np.ix_(alive, alive)], Xs, max_cells=max_cells, eta=eta,
                                  model_var=model_var)
        rows.append({"stage": s, "n_born": int(alive.size), "m": int(m[s]), "c": 2.0 * m[s] / alive.size,
                     "cells": "x".join(map(str, pred.cells)), "q": pred.q, "q_cells": pred.q_cells,
                     "q_null": pred.q_null, "delta_q": pred.delta_q, "spread": pred.spread,
                     "range_ratio": pred.controls["range_ratio"],
                     "mean_edge_length": pred.controls["mean_edge_length"]})
    return pd.DataFrame(rows)
