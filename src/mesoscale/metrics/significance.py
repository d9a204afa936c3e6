"""How unusual, and how large: an observed value against the values of null networks.

:func:`compare_with_null` compares any value with its null values: a z-score and a percentile
(how unusual), the effect size ``delta = observed - mean(null)`` with a confidence interval
(how large; z grows with network size and density and is no effect size) and an empirical
p-value ``(1 + #{null >= observed}) / (1 + n_null)``. :func:`modularity_significance` does it
for the maximum modularity of a network against one of the null models of
:mod:`mesoscale.metrics.nulls` (-> :class:`ModularityTest`), and :func:`adjust_pvalues`
corrects the p-values of many comparisons (Holm, Benjamini–Hochberg, Bonferroni). Whether z
and p of a null are calibrated is checked by :mod:`mesoscale.metrics.calibration`.
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
from scipy import stats
from tqdm.auto import tqdm

from .._validation import (
    as_rng,
    check_choice,
    check_distance,
    check_float,
    check_int,
    check_network,
    seed_sequence,
)
from .community import ENGINES, best_partition
from .fragmentation import MIN_LARGEST_COMPONENT, flag_fragmented, fragmentation
from .nulls import NULL_MODELS, null_network

__all__ = [
    "ALTERNATIVES",
    "PVALUE_ADJUSTMENTS",
    "ModularityTest",
    "NullComparison",
    "compare_with_null",
    "modularity_significance",
    "adjust_pvalues",
    "bootstrap_ci",
]

#: The alternatives of an empirical p-value (:func:`compare_with_null`).
ALTERNATIVES = ("greater", "less", "two-sided")

#: The methods of :func:`adjust_pvalues`.
PVALUE_ADJUSTMENTS = ("holm", "bh", "bonferroni")


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
    engine: str = "numba",
) -> ModularityTest:
    """Is the modularity of ``A`` higher than a null model's?

    Observed and null modularities are found the same way: the highest Q among ``n_runs``
    runs of bctpy's generalised Louvain (:func:`~mesoscale.metrics.best_partition`). Using
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
    engine : {"numba", "bctpy"}, default "numba"
        Louvain engine (:func:`~mesoscale.metrics.louvain_partitions`); both give the same
        partitions, ``"numba"`` much faster (``benchmarks/bench_louvain.py``).

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
    engine = check_choice(engine, "engine", ENGINES)
    if null == "spatial" and D is None:
        raise ValueError("null='spatial' needs the distance matrix 'D'; got D=None")
    Dm = None if D is None else check_distance(D, M.shape[0])
    flag_fragmented(M, min_largest_component=min_largest_component, action=on_fragmented)
    streams = seed_sequence(seed).spawn(n_null + 1)
    partition, q = best_partition(M, n_runs, gamma, np.random.default_rng(streams[0]), directed=directed,
                                  engine=engine)
    null_q = np.empty(n_null)
    for i in tqdm(range(n_null), desc=f"{null} null", disable=not progress):
        rng = np.random.default_rng(streams[i + 1])
        R = null_network(M, null, Dm, rng, itr=itr, n_bins=n_bins)
        null_q[i] = best_partition(R, n_runs, gamma, rng, directed=directed, engine=engine)[1]
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


def bootstrap_ci(values, *, level: float = 0.95, n_boot: int = 2000, seed=None) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean (NaNs dropped).

    Examples
    --------
    >>> lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 4.0], seed=0)
    >>> lo <= 2.5 <= hi
    True
    """
    level = check_float(level, "level", minimum=0.0, maximum=1.0)
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (np.nan, np.nan)
    if len(v) == 1:
        return (float(v[0]), float(v[0]))
    rng = as_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))
