"""Shared internals of the generative models: input checks and the batched engine driver.

Used by :mod:`~mesoscale.generative.models`, :mod:`~mesoscale.generative.growth`,
:mod:`~mesoscale.generative.fitting` and the landscape modules; not part of the public API
(the names have no underscore because they cross modules, the module itself is private).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import hashlib
import json

from .._validation import check_adjacency, check_choice, check_int, check_n_jobs, seed_sequence
from . import _kernels
from ._kernels import WIRING_RULES

MODEL_VARS = ("powerlaw", "exponential")
ZERO_DISTANCE_FACTOR = 1e-3


def check_model_var(model_var):
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


def check_params(eta, gamma, rule):
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
    """``log D`` (powerlaw, zero distances floored) or ``D`` (exponential), diagonal 0.

    ``D`` is made exactly symmetric first (``(D + D^T) / 2``; validation allows 1e-8): the engine
    computes a pair's weight from either end, which must give the same number.
    """
    D = np.asarray(D, dtype=float)
    D = 0.5 * (D + np.swapaxes(D, -1, -2))
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


def resolve_n_jobs(n_jobs):
    if n_jobs is None:
        return 1
    n_jobs = check_int(n_jobs, "n_jobs")
    if n_jobs == 0:
        raise ValueError("'n_jobs' must be a positive integer or -1 (all cores); got 0")
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return n_jobs


def check_seed_network(seed_network, n):
    if seed_network is None:
        return np.zeros((n, n), dtype=np.uint8)
    A = check_adjacency(seed_network, "seed_network", binary=True)
    if A.shape[0] != n:
        raise ValueError(f"'seed_network' must be {n}x{n} to match D; got shape {A.shape}")
    return A.astype(np.uint8)


def network_streams(seed, n_total):
    """The ``n_total`` per-network SeedSequences of a batch: ``seed``'s children, or ``seed`` itself
    when it already is a list of ``n_total`` SeedSequences (one per network)."""
    if isinstance(seed, list):
        if len(seed) != n_total:
            raise ValueError(f"'seed' as a list must hold one SeedSequence per network ({n_total}); got {len(seed)}")
        return seed
    return seed_sequence(seed).spawn(n_total)


def draw_uniforms(children, steps):
    """The uniforms of each network, one row per SeedSequence: row b depends only on ``children[b]``."""
    U = np.empty((len(children), max(steps, 1)))
    for b, ss in enumerate(children):
        U[b, :steps] = np.random.Generator(np.random.PCG64(ss)).random(steps)
    return U


def run_engine(A0, X, stage_x, stage_end, birth, rule, etas, gammas, eps, kexp, seed, steps, n_jobs, progress, desc):
    """Shared driver of :func:`generate` and :func:`grow`: chunks, threads, progress.

    The uniforms of a network are drawn just before its chunk is grown (at most
    ``chunk x steps`` of them exist per thread at a time), not for the whole batch up front.
    """
    n = A0.shape[0]
    B = etas.size
    A_out = np.zeros((B, n, n), dtype=bool)
    order = np.full((B, max(steps, 1), 2), -1, dtype=np.int32)
    children = network_streams(seed, B)
    code = _kernels.RULE_CODE[rule]
    n_jobs = min(resolve_n_jobs(n_jobs), B)
    chunk = max(1, min(256, -(-B // (4 * n_jobs))))
    bounds = [(lo, min(B, lo + chunk)) for lo in range(0, B, chunk)]
    if progress is None:
        progress = B * steps * n > 5e7
    from tqdm.auto import tqdm

    bar = tqdm(total=B, desc=desc, unit="net", disable=not progress, leave=False)

    def work(lohi):
        lo, hi = lohi
        U = draw_uniforms(children[lo:hi], steps)
        _kernels.run_batch(
            0, hi - lo, A0, X, stage_x, stage_end, birth, code, etas[lo:hi], gammas[lo:hi], float(eps), kexp, U,
            A_out[lo:hi], order[lo:hi],
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


def check_nulls(nulls) -> tuple[str, ...]:
    """Validate a sequence of null-model names (:data:`mesoscale.metrics.NULL_MODELS`)."""
    from ..metrics import NULL_MODELS

    if isinstance(nulls, str):
        nulls = (nulls,)
    if not isinstance(nulls, (tuple, list)) or not nulls:
        raise ValueError(f"'nulls' must be a non-empty sequence of {list(NULL_MODELS)}; got {nulls!r}")
    for nl in nulls:
        check_choice(nl, "nulls", NULL_MODELS)
    if len(set(nulls)) != len(nulls):
        raise ValueError(f"'nulls' lists a null model twice; got {list(nulls)}")
    return tuple(nulls)


def fingerprint(obj) -> str:
    """Short hash identifying the fixed inputs of a sweep (stored in every grid row)."""
    h = hashlib.sha256()
    for x in obj:
        if isinstance(x, np.ndarray):
            h.update(np.ascontiguousarray(x, dtype=float).tobytes())
            h.update(str(x.shape).encode())
        else:
            h.update(json.dumps(x, sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


def run_grid(fn, grid, store, seed, n_jobs, client, progress):
    """Run a landscape-style grid through :func:`mesoscale.sweep.run_sweep`.

    ``client`` (a Dask client, address or ``'inline'``) wins; otherwise ``n_jobs`` None/1
    runs in this process and N > 1 (or -1) on a local cluster of that many processes.
    """
    from ..sweep import run_sweep

    if client is not None:
        return run_sweep(fn, grid, store, seed=seed, progress=progress, client=client)
    n_jobs = check_n_jobs(n_jobs)
    opts = {"client": "inline"} if n_jobs in (None, 1) else {"n_jobs": n_jobs}
    return run_sweep(fn, grid, store, seed=seed, progress=progress, **opts)


def check_rules(rules) -> list[str]:
    """A non-empty list of wiring-rule names from a name or a sequence of names."""
    if isinstance(rules, str):
        rules = [rules]
    rules = list(rules)
    if not rules:
        raise ValueError("'rules' must name at least one rule")
    for r in rules:
        check_choice(r, "rules", WIRING_RULES)
    return rules
