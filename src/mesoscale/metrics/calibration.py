"""Calibration of null comparisons: what do z and p say on networks with nothing in them?

A z-score against a null model is read as a normal deviate ("z > 1.96: significant"), an
empirical p-value as a uniform variable under the null hypothesis. Both readings hold only if
the null model fits the networks and there are enough null networks. This module checks them
on *known-null replicates*: networks drawn from a process with no modules (an Erdős–Rényi
graph, a wiring rule at γ = 0, ...) are each compared with their own nulls exactly as a chapter
compares its networks (same null model, number of nulls, Louvain effort), and the z's and p's
of the replicates are tested against N(0, 1) and U(0, 1).

:func:`calibrate_null`
    Any generator ``generate(rng) -> network`` -> :class:`NullCalibration`.
:func:`calibrate_erdos_renyi`
    The same for G(n, m) graphs (:func:`erdos_renyi`).
:func:`summarize_calibration`
    The summary of z's and p's computed elsewhere (e.g. γ = 0 rows of a sweep).

Two facts to keep in mind when reading the numbers. With ``n_null`` Gaussian null values, the
z of a replicate is ``sqrt(1 + 1/n_null)`` times a Student t with ``n_null - 1`` degrees of
freedom, not N(0, 1): its sd is 1.25 at 8 nulls (``sd_z_ideal``), and ``|z| > 1.96`` happens
11 % of the time instead of 5 % (``frac_z_beyond_ideal``). The empirical p-value
``(1 + #{null >= observed}) / (1 + n_null)`` is exact at any ``n_null`` but cannot go below
``1 / (1 + n_null)``; for the KS test against U(0, 1) it is randomised within its step
(``p_random``), which makes it exactly uniform under a correct null.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from .._validation import (
    as_rng,
    check_choice,
    check_distance,
    check_float,
    check_int,
    check_n_jobs,
    check_network,
    seed_sequence,
)
from .fragmentation import MIN_LARGEST_COMPONENT
from .nulls import NULL_MODELS
from .significance import ALTERNATIVES, modularity_significance

__all__ = [
    "REPLICATE_COLUMNS",
    "NullCalibration",
    "calibrate_null",
    "calibrate_erdos_renyi",
    "erdos_renyi",
    "summarize_calibration",
    "calibration_report",
]

#: Columns of :attr:`NullCalibration.replicates`.
REPLICATE_COLUMNS = ("replicate", "q", "null_mean", "null_sd", "z", "delta", "p_value", "p_random", "percentile",
                     "n_components", "largest_component", "fragmented")

_Z_CRIT = 1.959963984540054  # two-sided 5 % normal quantile
_P_LEVEL = 0.05


@dataclasses.dataclass(frozen=True)
class NullCalibration:
    """How z-scores and p-values of a null comparison behave on known-null replicates.

    Attributes
    ----------
    null : str
        Null model (or a label given to :func:`summarize_calibration`).
    n_null, n_runs : int or None
        Null networks per replicate and Louvain runs per network.
    n_replicates : int
    mean_z, sd_z : float
        Over the replicates (ddof=1); ideally 0 and ``sd_z_ideal``, 1 with many nulls.
    sd_z_ideal : float
        The sd of z for a perfect Gaussian null with ``n_null`` nulls,
        ``sqrt((1 + 1/n)(n - 1)/(n - 3))`` (``inf`` for ``n <= 3``, 1 if ``n_null`` is None).
    frac_z_beyond : float
        Fraction of replicates with ``|z| > 1.96`` (nominally 0.05).
    frac_z_beyond_ideal : float
        The same fraction for a perfect Gaussian null with ``n_null`` nulls.
    binom_z_pvalue : float
        Two-sided binomial test of the count of ``|z| > 1.96`` against the nominal 0.05 --
        more sensitive to a too wide z than the KS test (an sd of 1.25 instead of 1 moves
        the KS statistic by only about 0.05, which takes some 1,000 replicates to see).
    ks_z_statistic, ks_z_pvalue : float
        One-sample KS test of the z's against N(0, 1).
    frac_p_below : float
        Fraction of replicates with ``p_value <= 0.05`` (at most 0.05 for a calibrated null;
        0 when ``n_null < 19``, as such a p-value cannot be that small).
    ks_p_statistic, ks_p_pvalue : float
        One-sample KS test of the (randomised) p-values against U(0, 1).
    frac_fragmented : float
        Fraction of replicates flagged by :func:`~mesoscale.metrics.fragmentation` (NaN if unknown).
    alpha : float
        Level of the tests behind ``calibrated``.
    calibrated : bool
        ``ks_z_pvalue``, ``binom_z_pvalue`` and ``ks_p_pvalue`` are all at least ``alpha``:
        z reads as a normal deviate (and ``|z| > 1.96`` as a 5 % event) and p as a uniform
        variable. A correct null with very few nulls can fail the z part only (compare
        ``sd_z`` with ``sd_z_ideal``); a wrong null fails the p part as well.
    replicates : DataFrame
        One row per replicate (:data:`REPLICATE_COLUMNS`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> c = summarize_calibration(rng.standard_normal(200), rng.random(200), n_null=1000)
    >>> c.n_replicates, c.calibrated, round(c.sd_z_ideal, 3)
    (200, True, 1.002)
    >>> sorted(c.as_dict())[:3]
    ['alpha', 'binom_z_pvalue', 'calibrated']
    """

    null: str
    n_null: int | None
    n_runs: int | None
    n_replicates: int
    mean_z: float
    sd_z: float
    sd_z_ideal: float
    frac_z_beyond: float
    frac_z_beyond_ideal: float
    binom_z_pvalue: float
    ks_z_statistic: float
    ks_z_pvalue: float
    frac_p_below: float
    ks_p_statistic: float
    ks_p_pvalue: float
    frac_fragmented: float
    alpha: float
    calibrated: bool
    replicates: pd.DataFrame = dataclasses.field(repr=False, compare=False)

    def as_dict(self) -> dict:
        """The scalar fields as a plain dict (no table)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "replicates"}

    @classmethod
    def from_dict(cls, record: dict, replicates: pd.DataFrame | None = None) -> "NullCalibration":
        """Rebuild a calibration from :meth:`as_dict` (e.g. read back from a stored run).

        Examples
        --------
        >>> c = summarize_calibration(np.zeros(5) + 0.1, np.full(5, 0.5), n_null=50)
        >>> NullCalibration.from_dict(c.as_dict()).as_dict() == c.as_dict()
        True
        """
        names = {f.name for f in dataclasses.fields(cls)} - {"replicates"}
        missing = sorted(names - set(record))
        if missing:
            raise ValueError(f"'record' lacks the calibration fields {missing}")
        table = replicates if replicates is not None else pd.DataFrame(columns=REPLICATE_COLUMNS)
        return cls(**{k: record[k] for k in names}, replicates=table)


def _ideal(n_null):
    """sd of z and P(|z| > 1.96) for a Gaussian null with ``n_null`` nulls (N(0, 1) if None)."""
    if n_null is None:
        return 1.0, float(2 * stats.norm.sf(_Z_CRIT))
    scale = np.sqrt(1.0 + 1.0 / n_null)
    sd = float(scale * np.sqrt((n_null - 1) / (n_null - 3))) if n_null > 3 else np.inf
    return sd, float(2 * stats.t.sf(_Z_CRIT / scale, n_null - 1))


def summarize_calibration(z, p, *, p_random=None, n_null: int | None = None, n_runs: int | None = None,
                          null: str = "", fragmented=None, alpha: float = 0.01) -> NullCalibration:
    """Summarise the z-scores and p-values of known-null replicates.

    Parameters
    ----------
    z : array_like, shape (n_replicates,)
        z of each replicate against its own nulls (``inf`` allowed: a null without spread).
    p : array_like, shape (n_replicates,)
        Empirical p-value of each replicate, in (0, 1].
    p_random : array_like, optional
        Randomised p-values for the KS test (default: ``p``). A discrete p-value with few
        nulls is not exactly uniform; with many replicates the KS test then sees its steps.
    n_null, n_runs : int, optional
        Nulls per replicate (sets ``sd_z_ideal``) and Louvain runs (recorded only).
    null : str
        Label of the null model.
    fragmented : array_like of bool, optional
        Which replicates were fragmented.
    alpha : float in (0, 1), default 0.01
        Level of the tests behind ``calibrated``.

    Returns
    -------
    NullCalibration

    Examples
    --------
    z's twice as wide as N(0, 1) are flagged:

    >>> rng = np.random.default_rng(1)
    >>> c = summarize_calibration(2 * rng.standard_normal(300), rng.random(300))
    >>> c.calibrated, round(c.sd_z, 1), c.ks_z_pvalue < 1e-6
    (False, 1.8, True)
    """
    z = _vector(z, "z")
    n = z.size
    if n < 2:
        raise ValueError(f"'z' must hold at least 2 replicates; got {n}")
    if np.any(np.isnan(z)):
        raise ValueError("'z' must not contain NaN (drop replicates without a comparison first)")
    p = _vector(p, "p", n)
    if np.any(~np.isfinite(p)) or np.any((p <= 0) | (p > 1)):
        raise ValueError(f"'p' must hold p-values in (0, 1]; got min {np.nanmin(p)}, max {np.nanmax(p)}")
    pr = p if p_random is None else _vector(p_random, "p_random", n)
    if np.any(~np.isfinite(pr)) or np.any((pr < 0) | (pr > 1)):
        raise ValueError("'p_random' must hold values in [0, 1]")
    if n_null is not None:
        n_null = check_int(n_null, "n_null", minimum=2)
    if n_runs is not None:
        n_runs = check_int(n_runs, "n_runs", minimum=1)
    if not isinstance(null, str):
        raise TypeError(f"'null' must be a string; got {null!r}")
    alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"'alpha' must be in (0, 1); got {alpha}")
    if fragmented is None:
        frag = np.full(n, np.nan)
    else:
        frag = np.asarray(fragmented)
        if frag.shape != (n,):
            raise ValueError(f"'fragmented' must have shape ({n},); got {frag.shape}")
        frag = frag.astype(float)
    ks_z = stats.kstest(z, stats.norm.cdf)
    beyond = int(np.sum(np.abs(z) > _Z_CRIT))
    binom = float(stats.binomtest(beyond, n, 2 * stats.norm.sf(_Z_CRIT)).pvalue)
    ks_p = stats.kstest(pr, stats.uniform.cdf)
    sd_ideal, beyond_ideal = _ideal(n_null)
    table = pd.DataFrame({"replicate": np.arange(n), "z": z, "p_value": p, "p_random": pr, "fragmented": frag})
    return NullCalibration(
        null=null, n_null=n_null, n_runs=n_runs, n_replicates=int(n), mean_z=float(np.mean(z)),
        sd_z=float(np.std(z, ddof=1)), sd_z_ideal=sd_ideal, frac_z_beyond=beyond / n,
        frac_z_beyond_ideal=beyond_ideal, binom_z_pvalue=binom, ks_z_statistic=float(ks_z.statistic),
        ks_z_pvalue=float(ks_z.pvalue),
        frac_p_below=float(np.mean(p <= _P_LEVEL)), ks_p_statistic=float(ks_p.statistic),
        ks_p_pvalue=float(ks_p.pvalue),
        frac_fragmented=float(np.mean(frag)) if fragmented is not None else np.nan, alpha=alpha,
        calibrated=bool(min(ks_z.pvalue, binom, ks_p.pvalue) >= alpha), replicates=table,
    )


def _vector(x, name, n=None):
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"'{name}' must be an array of numbers; got {x!r}") from exc
    if arr.ndim != 1:
        raise ValueError(f"'{name}' must be 1-D; got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise ValueError(f"'{name}' must have one value per replicate ({n}); got {arr.size}")
    return arr


def _randomised_p(q, null_q, u, alternative):
    """The empirical p-value spread uniformly over its step: exactly U(0, 1) under a correct null."""
    n = null_q.size
    ties = np.sum(null_q == q)
    greater = (np.sum(null_q > q) + u * (1 + ties)) / (n + 1)
    if alternative == "greater":
        return float(greater)
    if alternative == "less":
        return float((np.sum(null_q < q) + u * (1 + ties)) / (n + 1))
    return float(2 * min(greater, 1 - greater))


@dataclasses.dataclass(frozen=True)
class _Job:
    generate: object
    D: np.ndarray | None
    options: dict


_WORKER_JOB: _Job | None = None


def _set_worker_job(job):
    global _WORKER_JOB
    _WORKER_JOB = job


def _run_worker(i, ss):
    return _replicate(_WORKER_JOB, i, ss)


def _replicate(job: _Job, i: int, ss: np.random.SeedSequence) -> dict:
    """One known-null replicate: draw it, test it against its own nulls, randomise its p."""
    gen_ss, test_ss, u_ss = (seed_sequence(ss, k) for k in range(3))
    net = job.generate(np.random.default_rng(gen_ss))
    D = job.D
    if isinstance(net, tuple):
        if len(net) != 2:
            raise ValueError(f"'generate' must return a network or a (network, distances) pair; got a "
                             f"{len(net)}-tuple")
        net, D = net
    A, _ = check_network(net, "generate(rng)")
    if D is not None:
        D = check_distance(D, A.shape[0], "D")
    opts = job.options
    t = modularity_significance(A, opts["null"], opts["n_null"], D, test_ss, n_runs=opts["n_runs"],
                                gamma=opts["gamma"], itr=opts["itr"], n_bins=opts["n_bins"],
                                alternative=opts["alternative"], min_largest_component=opts["min_largest_component"],
                                on_fragmented="ignore")
    u = np.random.default_rng(u_ss).random()
    return {"replicate": i, "q": t.q, "null_mean": t.null_mean, "null_sd": t.null_sd, "z": t.z, "delta": t.delta,
            "p_value": t.p_value, "p_random": _randomised_p(t.q, t.null_q, u, opts["alternative"]),
            "percentile": t.percentile, "n_components": t.n_components, "largest_component": t.largest_component,
            "fragmented": t.fragmented}


def calibrate_null(
    generate,
    n_replicates: int = 100,
    *,
    null: str = "degree",
    n_null: int = 100,
    n_runs: int = 10,
    gamma: float = 1.0,
    itr: int = 10,
    n_bins: int = 10,
    D=None,
    alternative: str = "greater",
    min_largest_component: float = MIN_LARGEST_COMPONENT,
    alpha: float = 0.01,
    seed=None,
    n_jobs: int | None = None,
    progress: bool = False,
) -> NullCalibration:
    """Check a null comparison on known-null replicates: are its z ~ N(0, 1) and p ~ U(0, 1)?

    Every replicate ``generate(rng)`` (a network with no modules beyond what the null
    model keeps) goes through :func:`~mesoscale.metrics.modularity_significance` with the
    chapter's settings (``null``, ``n_null``, ``n_runs``, ...), and the z's and p-values of
    the replicates are summarised by :func:`summarize_calibration`. Use the settings of the
    claim being calibrated: a null that is calibrated at 100 nulls may not be at 8.

    Parameters
    ----------
    generate : callable
        ``generate(rng)`` returns one replicate: an adjacency matrix, or an ``(A, D)`` pair
        with its distances; ``rng`` is a :class:`numpy.random.Generator` of the replicate's
        own spawned stream. With ``n_jobs > 1`` on a platform without ``fork`` it must be
        picklable (a module-level function or a :func:`functools.partial` of one).
    n_replicates : int, default 100
        Replicates (at least 2). 100 see a shifted z or wrong p-values; a z that is only too
        wide (few nulls) shows in ``frac_z_beyond`` and ``sd_z`` before the KS test sees it.
    null, n_null, n_runs, gamma, itr, n_bins, D, alternative, min_largest_component
        As in :func:`~mesoscale.metrics.modularity_significance` (``D`` is used for every
        replicate that does not bring its own).
    alpha : float in (0, 1), default 0.01
        Level of the tests behind :attr:`NullCalibration.calibrated`.
    seed : None, int, SeedSequence or Generator
        Replicate ``i`` gets the ``i``-th spawned stream (split into the network, its test
        and the randomisation of its p), so results do not depend on ``n_jobs``.
    n_jobs : int or None
        Worker processes (None/1: serial; -1: every core).
    progress : bool
        Progress bar over the replicates.

    Returns
    -------
    NullCalibration

    Examples
    --------
    >>> gen = lambda rng: erdos_renyi(20, 40, rng)
    >>> c = calibrate_null(gen, 10, null="density", n_null=5, n_runs=2, seed=0)
    >>> c.n_replicates, c.n_null, list(c.replicates.columns[:5])
    (10, 5, ['replicate', 'q', 'null_mean', 'null_sd', 'z'])
    >>> bool(abs(c.mean_z) < 1.5)
    True
    """
    if not callable(generate):
        raise TypeError(f"'generate' must be a callable generate(rng) -> network; got {generate!r}")
    n_replicates = check_int(n_replicates, "n_replicates", minimum=2)
    null = check_choice(null, "null", NULL_MODELS)
    n_null = check_int(n_null, "n_null", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    gamma = check_float(gamma, "gamma", minimum=0.0)
    itr = check_int(itr, "itr", minimum=1)
    n_bins = check_int(n_bins, "n_bins", minimum=1)
    alternative = check_choice(alternative, "alternative", ALTERNATIVES)
    min_largest_component = check_float(min_largest_component, "min_largest_component", minimum=0.0, maximum=1.0)
    alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"'alpha' must be in (0, 1); got {alpha}")
    Dm = None if D is None else check_distance(D)
    n_jobs = check_n_jobs(n_jobs)
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"'progress' must be True or False; got {progress!r}")
    workers = 1 if n_jobs is None else min(n_jobs, n_replicates)
    fork = "fork" in multiprocessing.get_all_start_methods()
    if workers > 1 and not fork:
        try:
            pickle.dumps(generate)
        except Exception as exc:
            raise TypeError(f"'generate' must be picklable for n_jobs > 1 on this platform; got {generate!r}") from exc
    job = _Job(generate, Dm, dict(null=null, n_null=n_null, n_runs=n_runs, gamma=gamma, itr=itr, n_bins=n_bins,
                                  alternative=alternative, min_largest_component=min_largest_component))
    root = seed_sequence(seed)  # children by key: a SeedSequence passed twice gives the same replicates
    streams = [seed_sequence(root, i) for i in range(n_replicates)]
    bar = tqdm(total=n_replicates, desc=f"calibrating {null} null", disable=not progress)
    rows = [None] * n_replicates
    try:
        if workers == 1:
            for i, ss in enumerate(streams):
                rows[i] = _replicate(job, i, ss)
                bar.update()
        else:
            # with fork the job (and a lambda in it) reaches the workers without pickling
            ctx = multiprocessing.get_context("fork" if fork else "spawn")
            with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_set_worker_job, initargs=(job,)) as pool:
                futures = {pool.submit(_run_worker, i, ss): i for i, ss in enumerate(streams)}
                for fut in as_completed(futures):
                    rows[futures[fut]] = fut.result()
                    bar.update()
    finally:
        bar.close()
    table = pd.DataFrame(rows, columns=list(REPLICATE_COLUMNS))
    summary = summarize_calibration(table["z"].to_numpy(float), table["p_value"].to_numpy(float),
                                    p_random=table["p_random"].to_numpy(float), n_null=n_null, n_runs=n_runs,
                                    null=null, fragmented=table["fragmented"].to_numpy(bool), alpha=alpha)
    return dataclasses.replace(summary, replicates=table)


def erdos_renyi(n: int, m: int, seed=None) -> np.ndarray:
    """A uniform random graph G(n, m): ``m`` undirected edges among ``n`` nodes, all sets equally likely.

    The known-null network of modularity: every partition's Q is chance.

    Parameters
    ----------
    n : int
        Nodes (at least 2).
    m : int
        Edges, ``1 <= m <= n (n - 1) / 2``.
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric binary (float) adjacency matrix with a zero diagonal.

    Examples
    --------
    >>> A = erdos_renyi(10, 12, seed=0)
    >>> int(A.sum() / 2), bool((A == A.T).all()), float(A.trace())
    (12, True, 0.0)
    >>> bool((erdos_renyi(10, 12, seed=0) == A).all())
    True
    """
    n = check_int(n, "n", minimum=2)
    m = check_int(m, "m", minimum=1, maximum=n * (n - 1) // 2)
    rng = as_rng(seed)
    iu = np.triu_indices(n, 1)
    pick = rng.choice(iu[0].size, size=m, replace=False)
    A = np.zeros((n, n))
    A[iu[0][pick], iu[1][pick]] = 1.0
    return A + A.T


def calibrate_erdos_renyi(n: int, m: int, n_replicates: int = 100, **options) -> NullCalibration:
    """:func:`calibrate_null` on G(n, m) graphs (:func:`erdos_renyi`).

    Under both the ``"degree"`` and the ``"density"`` null an Erdős–Rényi graph is
    exchangeable with its nulls (given its degrees, G(n, m) is uniform over the graphs with
    those degrees), so its empirical p-values are exactly uniform; its z's show what the
    number of nulls does to z.

    Parameters
    ----------
    n, m : int
        Nodes and edges of every replicate.
    n_replicates : int, default 100
    **options
        Passed to :func:`calibrate_null` (``null``, ``n_null``, ``n_runs``, ``seed``,
        ``n_jobs``, ``progress``, ...).

    Returns
    -------
    NullCalibration

    Examples
    --------
    >>> c = calibrate_erdos_renyi(20, 40, 10, null="degree", n_null=5, n_runs=2, seed=0)
    >>> c.n_replicates, c.null, bool(c.replicates["q"].min() > 0.2)
    (10, 'degree', True)
    """
    n = check_int(n, "n", minimum=2)
    m = check_int(m, "m", minimum=1, maximum=n * (n - 1) // 2)
    if "generate" in options:
        raise TypeError("calibrate_erdos_renyi() draws its own replicates; got an unexpected 'generate'")
    return calibrate_null(partial(erdos_renyi, n, m), n_replicates, **options)


def calibration_report(cal: NullCalibration) -> str:
    """One Markdown sentence: how z and p of a null comparison behave on the known-null replicates.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> c = summarize_calibration(1.25 * rng.standard_normal(300), rng.random(300), n_null=8, null="degree")
    >>> calibration_report(c).startswith("**Calibration**")
    True
    """
    if not isinstance(cal, NullCalibration):
        raise TypeError(f"'cal' must be a NullCalibration; got {type(cal).__name__}")
    return (f"**Calibration** ({cal.n_replicates} known-null replicates, {cal.n_null} {cal.null} nulls each): sd of z "
            f"= {cal.sd_z:.2f} (a perfect Gaussian null gives {cal.sd_z_ideal:.2f} at this null count); |z| > 1.96 in "
            f"{100 * cal.frac_z_beyond:.0f} % (ideal {100 * cal.frac_z_beyond_ideal:.0f} %, nominal 5 %); p-values "
            f"against uniform: KS p = {cal.ks_p_pvalue:.2f}. "
            + ("z reads as a normal deviate here." if cal.calibrated and abs(cal.sd_z - 1.0) < 0.15 else
               "So z is not a normal deviate at this null count: judge significance by ΔQ's interval and the "
               "empirical p, and read z as a t-like statistic with the spread above."))
