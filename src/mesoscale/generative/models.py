"""Generative network models: the thirteen wiring rules of Betzel et al. (2016).

A network grows one edge at a time. An unconnected pair ``(i, j)`` is chosen with
probability proportional to

* ``D_ij**eta * (K_ij + epsilon)**gamma``            (``model_var=("powerlaw", "powerlaw")``), or
* ``exp(eta * D_ij) * exp(gamma * (K_ij + epsilon))`` (``("exponential", "exponential")``),

(the two factors may use different forms), where ``D`` is the distance matrix and
``K`` a topological value of the pair under the current network, recomputed after
every added edge. The rules and their ``K_ij``:

=============  ==================================================================
``sptl``       none: only the distance term (``gamma`` is ignored)
``neighbors``  number of common neighbours ``|N(i) & N(j)|``
``matching``   matching index ``2 |N(i) & N(j)| / (k_i + k_j - 2 A_ij)`` (0 if empty)
``clu-avg``    ``(c_i + c_j) / 2`` of the local clustering coefficients
``clu-min``    ``min(c_i, c_j)``; ``clu-max`` ``max``; ``clu-diff`` ``|c_i - c_j|``;
               ``clu-prod`` ``c_i * c_j``
``deg-avg``    ``(k_i + k_j) / 2`` of the degrees; ``deg-min``, ``deg-max``, ``deg-diff``,
               ``deg-prod`` likewise
=============  ==================================================================

These are the semantics of the MATLAB Brain Connectivity Toolbox ``generative_model.m``:
the network ends with exactly ``m`` edges, the seed network's edges included.

Numerics
--------
Probabilities are handled in log space, ``eta * log D + gamma * log(K + epsilon)``
(powerlaw) or ``eta * D + gamma * (K + epsilon)`` (exponential), and exponentiated
against a running maximum that is reset whenever it would overflow or the total
would underflow. Extreme parameters (``|eta|, |gamma|`` of 10 and beyond) therefore
give no NaN or inf: when one pair dominates it is chosen, exactly as the limit of the
formula says. Zero off-diagonal distances, for which ``D**eta`` is infinite (``eta < 0``)
or zero (``eta > 0``), are replaced by ``1e-3`` times the smallest positive distance
in the powerlaw model (co-located nodes are then the most, or the least, likely to
connect, with a finite weight); the exponential model needs no such care.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._validation import (
    check_adjacency,
    check_choice,
    check_distance,
    check_float,
    check_int,
    seed_sequence,
)
from . import _kernels
from ._kernels import RULES

__all__ = ["RULES", "MODEL_VARS", "generate", "count_edges"]

MODEL_VARS = ("powerlaw", "exponential")
ZERO_DISTANCE_FACTOR = 1e-3


def _check_model_var(model_var):
    if isinstance(model_var, str):
        model_var = (model_var, model_var)
    if not isinstance(model_var, (tuple, list)) or len(model_var) != 2:
        raise ValueError(
            f"'model_var' must be a pair such as ('powerlaw', 'powerlaw') or one of {list(MODEL_VARS)}; "
            f"got {model_var!r}"
        )
    for v in model_var:
        check_choice(v, "model_var", MODEL_VARS)
    return tuple(model_var)


def _check_params(eta, gamma, rule):
    """Broadcast ``eta``/``gamma`` to equal-length float arrays, checking they are finite."""

    def as_vec(x, name):
        arr = np.atleast_1d(np.asarray(x))
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"'{name}' must be a scalar or a non-empty 1-D array; got shape {np.shape(x)}")
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"'{name}' must be real-valued; got {x!r}")
        arr = arr.astype(float)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"'{name}' must be finite; got {arr[~np.isfinite(arr)][0]}")
        return arr

    eta = as_vec(eta, "eta")
    if gamma is None:
        if rule != "sptl":
            raise ValueError(f"'gamma' is required for rule {rule!r} (only 'sptl' ignores it)")
        gamma = np.zeros_like(eta)
    else:
        gamma = as_vec(gamma, "gamma")
    if eta.size != gamma.size:
        if eta.size == 1:
            eta = np.full(gamma.size, eta[0])
        elif gamma.size == 1:
            gamma = np.full(eta.size, gamma[0])
        else:
            raise ValueError(
                f"'eta' and 'gamma' must be scalars or arrays of equal length; got {eta.size} and {gamma.size}"
            )
    return eta, gamma


def distance_feature(D, dist_var):
    """``log D`` (powerlaw, zero distances floored) or ``D`` (exponential), diagonal 0."""
    D = np.asarray(D, dtype=float)
    if dist_var == "exponential":
        X = D.copy()
    else:
        off = ~np.eye(D.shape[-1], dtype=bool)
        pos = D[..., off]
        pos = pos[pos > 0]
        floor = ZERO_DISTANCE_FACTOR * (pos.min() if pos.size else 1.0)
        X = np.log(np.maximum(D, floor))
    idx = np.arange(D.shape[-1])
    X[..., idx, idx] = 0.0
    return np.ascontiguousarray(X)


def _resolve_n_jobs(n_jobs):
    if n_jobs is None:
        return 1
    n_jobs = check_int(n_jobs, "n_jobs")
    if n_jobs == 0:
        raise ValueError("'n_jobs' must be a positive integer or -1 (all cores); got 0")
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return n_jobs


def _check_seed_network(seed_network, n):
    if seed_network is None:
        return np.zeros((n, n), dtype=np.uint8)
    A = check_adjacency(seed_network, "seed_network", binary=True)
    if A.shape[0] != n:
        raise ValueError(f"'seed_network' must be {n}x{n} to match D; got shape {A.shape}")
    return A.astype(np.uint8)


def _draw_uniforms(seed, n_total, steps):
    """One independent stream per network: row b depends only on (seed, b).

    ``seed`` may also be a list of ``n_total`` SeedSequences, one per network.
    """
    if isinstance(seed, list):
        children = seed
    else:
        children = seed_sequence(seed).spawn(n_total)
    U = np.empty((n_total, max(steps, 1)))
    for b, ss in enumerate(children):
        U[b, :steps] = np.random.Generator(np.random.PCG64(ss)).random(steps)
    return U


def _run(A0, X, stage_x, stage_end, birth, rule, etas, gammas, eps, kexp, seed, steps, n_jobs, progress, desc):
    """Shared driver of :func:`generate` and :func:`grow`: chunks, threads, progress."""
    n = A0.shape[0]
    B = etas.size
    A_out = np.zeros((B, n, n), dtype=bool)
    order = np.full((B, max(steps, 1), 2), -1, dtype=np.int32)
    U = _draw_uniforms(seed, B, steps)
    code = _kernels.RULE_CODE[rule]
    n_jobs = min(_resolve_n_jobs(n_jobs), B)
    chunk = max(1, min(256, -(-B // (4 * n_jobs))))
    bounds = [(lo, min(B, lo + chunk)) for lo in range(0, B, chunk)]
    if progress is None:
        progress = B * steps * n > 5e7
    from tqdm.auto import tqdm

    bar = tqdm(total=B, desc=desc, unit="net", disable=not progress, leave=False)

    def work(lohi):
        lo, hi = lohi
        _kernels.run_batch(
            lo, hi, A0, X, stage_x, stage_end, birth, code, etas, gammas, float(eps), kexp, U, A_out, order
        )
        return hi - lo

    try:
        if n_jobs == 1:
            for lohi in bounds:
                bar.update(work(lohi))
        else:
            with ThreadPoolExecutor(n_jobs) as pool:
                for done in pool.map(work, bounds):
                    bar.update(done)
    finally:
        bar.close()
    return A_out, order[:, :steps]


def generate(
    D,
    m,
    rule,
    eta,
    gamma=None,
    model_var=("powerlaw", "powerlaw"),
    seed_network=None,
    epsilon=1e-5,
    n_networks=1,
    seed=None,
    return_order=False,
    *,
    n_jobs=1,
    progress=None,
):
    """Grow networks with a generative wiring rule (Betzel et al. 2016).

    Parameters
    ----------
    D : array_like, shape (n, n)
        Symmetric, non-negative distance matrix (any unit; ``eta`` is per that unit in the
        exponential model).
    m : int
        Number of edges of each final network, seed edges included.
    rule : str
        One of :data:`RULES` (see the module docstring for each ``K``).
    eta, gamma : float or array_like
        Distance and topology exponents: scalars, or equal-length 1-D arrays giving one
        parameter pair per entry (a scalar is broadcast). ``gamma`` may be ``None`` for
        ``"sptl"``. Must be finite.
    model_var : (str, str) or str
        Forms of the distance and topology terms: ``"powerlaw"`` or ``"exponential"``.
    seed_network : array_like, shape (n, n), optional
        Symmetric binary network to start from (e.g. an earlier-stage connectome).
    epsilon : float
        Added to ``K`` so that pairs with ``K = 0`` keep a non-zero probability.
    n_networks : int
        Independent networks per parameter pair.
    seed : int, SeedSequence or Generator, optional
        Every network gets its own stream spawned from ``seed``; same seed, same networks.
    return_order : bool
        Also return the pairs in the order they were added.
    n_jobs : int
        Threads (the kernel releases the GIL); ``-1`` uses every core. Results do not
        depend on it.
    progress : bool, optional
        Show a progress bar; by default only for large batches.

    Returns
    -------
    networks : ndarray of bool, shape (B, n, n)
        ``B = len(eta) * n_networks``; network ``p * n_networks + r`` is repeat ``r`` of
        parameter pair ``p``.
    order : ndarray of int32, shape (B, m - m_seed, 2)
        Only with ``return_order``: row ``t`` is the pair ``(i, j)``, ``i < j``, added at step ``t``.

    Examples
    --------
    >>> import numpy as np
    >>> from mesoscale.generative import generate
    >>> xy = np.random.default_rng(0).random((30, 2))
    >>> D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> nets = generate(D, 60, "matching", eta=[-2.0, -1.0], gamma=0.4, n_networks=3, seed=1)
    >>> nets.shape, int(nets[0].sum()) // 2
    ((6, 30, 30), 60)
    """
    D = check_distance(D, name="D")
    n = D.shape[0]
    if n < 2:
        raise ValueError(f"'D' must describe at least 2 nodes; got shape {D.shape}")
    rule = check_choice(rule, "rule", RULES)
    dist_var, top_var = _check_model_var(model_var)
    etas, gammas = _check_params(eta, gamma, rule)
    eps = check_float(epsilon, "epsilon")
    if eps <= 0:
        raise ValueError(f"'epsilon' must be > 0; got {eps}")
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    A0 = _check_seed_network(seed_network, n)
    m_seed = int(A0.sum()) // 2
    m = check_int(m, "m")
    n_pairs = n * (n - 1) // 2
    if m > n_pairs:
        raise ValueError(f"'m' must be at most the {n_pairs} node pairs of a {n}-node network; got {m}")
    if m < m_seed:
        raise ValueError(f"'m' must be at least the {m_seed} edges of 'seed_network'; got {m}")
    etas = np.repeat(etas, n_networks)
    gammas = np.repeat(gammas, n_networks)
    X = distance_feature(D, dist_var)[None]
    nets, order = _run(
        A0,
        X,
        np.zeros(1, np.int64),
        np.array([m], np.int64),
        np.zeros(n, np.int64),
        rule,
        etas,
        gammas,
        eps,
        top_var == "exponential",
        seed,
        m - m_seed,
        n_jobs,
        progress,
        f"generate {rule}",
    )
    return (nets, order) if return_order else nets


def count_edges(networks):
    """Number of undirected edges of each network in a ``(B, n, n)`` or ``(n, n)`` array."""
    A = np.asarray(networks)
    return np.count_nonzero(np.triu(A, 1), axis=(-2, -1))
