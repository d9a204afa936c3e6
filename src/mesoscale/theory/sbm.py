"""Analytic results for the planted-partition stochastic block model and for random graphs.

The planted-partition model (a symmetric stochastic block model, :cite:`holland1983stochastic`)
puts ``n`` nodes into ``q`` groups of (nearly) equal size and joins two nodes with probability
``c_in / n`` if they share a group and ``c_out / n`` otherwise, so that the mean degree is
``c = (c_in + (q - 1) c_out) / q`` in the sparse limit. Decelle et al. (2011) showed that the
planted groups can be recovered better than chance by any algorithm exactly when

.. math:: |c_\\mathrm{in} - c_\\mathrm{out}| > q \\sqrt{c}

(the Kesten--Stigum bound; for ``q <= 4`` it is the information-theoretic threshold too, for
``q >= 5`` a "hard but detectable" window opens below it).

This module gives the generator, the parametrisations used in the literature, the threshold,
the expected modularity of the planted partition, and two classic approximations of the
modularity that maximisation finds in a graph *without* planted structure.

Examples
--------
>>> from mesoscale.theory import planted_partition, sbm_parameters, detectability_threshold
>>> c_in, c_out = sbm_parameters(3.0, 2, delta=4.0)
>>> (c_in, c_out)
(5.0, 1.0)
>>> bool(c_in - c_out > detectability_threshold(3.0, 2))
True
>>> A, labels = planted_partition(1000, 2, c_in, c_out, seed=0)
>>> A.shape, labels[:4].tolist()
((1000, 1000), [0, 0, 0, 0])
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from .._validation import as_rng, check_choice, check_float, check_int

__all__ = [
    "block_sizes",
    "planted_partition",
    "sbm_parameters",
    "detectability_threshold",
    "snr",
    "expected_modularity_planted",
    "expected_modularity_random",
]


def block_sizes(n: int, q: int) -> np.ndarray:
    """Sizes of ``q`` groups that split ``n`` nodes as evenly as possible (larger groups first).

    Examples
    --------
    >>> block_sizes(10, 3).tolist()
    [4, 3, 3]
    """
    n = check_int(n, "n", minimum=1)
    q = check_int(q, "q", minimum=1)
    if q > n:
        raise ValueError(f"'q' must be <= 'n' (each group needs a node); got q={q}, n={n}")
    sizes = np.full(q, n // q, dtype=np.int64)
    sizes[: n % q] += 1
    return sizes


def _sample_pairs(rng: np.random.Generator, n_pairs: int, p: float) -> np.ndarray:
    """Indices of the pairs (out of ``n_pairs``) that receive an edge, each independently with ``p``."""
    if p <= 0.0 or n_pairs == 0:
        return np.empty(0, dtype=np.int64)
    if p >= 1.0:
        return np.arange(n_pairs, dtype=np.int64)
    m = int(rng.binomial(n_pairs, p))
    if m == 0:
        return np.empty(0, dtype=np.int64)
    # Conditioned on the binomial count, the chosen pairs are a uniform m-subset.
    return np.sort(rng.choice(n_pairs, size=m, replace=False, shuffle=False))


def _tri_index(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map linear indices of the strict lower triangle (row-major) to ``(i, j)`` with ``i > j``."""
    i = np.floor((np.sqrt(8.0 * k.astype(np.float64) + 1.0) + 1.0) / 2.0).astype(np.int64)
    # guard against floating-point rounding at triangle boundaries
    i -= (i * (i - 1) // 2) > k
    i += ((i + 1) * i // 2) <= k
    j = k - i * (i - 1) // 2
    return i, j


def planted_partition(
    n: int,
    q: int,
    c_in: float,
    c_out: float,
    seed=None,
    *,
    sparse: bool = True,
):
    """Sample a planted-partition stochastic block model.

    Nodes ``0..n-1`` are split into ``q`` contiguous groups of (nearly) equal size
    (:func:`block_sizes`); a pair in the same group is joined with probability ``c_in / n``, a
    pair in different groups with ``c_out / n``, independently. The generator draws the number
    of edges of every block from its binomial law and then a uniform set of pairs, so its cost
    is proportional to the number of edges, not to ``n**2`` (``n = 10**5`` at ``c = 5`` takes a
    fraction of a second).

    Parameters
    ----------
    n : int
        Number of nodes (>= q).
    q : int
        Number of groups (>= 1).
    c_in, c_out : float
        Expected number of neighbours a node would have if it were linked to all ``n`` nodes with
        the within-group (``c_in``) or between-group (``c_out``) probability; the probabilities
        are ``c_in / n`` and ``c_out / n`` and must not exceed 1.
    seed : None, int, SeedSequence or Generator
        Randomness (see :func:`mesoscale._validation.as_rng`).
    sparse : bool, default True
        Return a ``scipy.sparse.csr_array`` (``float64`` 0/1); with ``False`` a dense boolean array.

    Returns
    -------
    A : (n, n) csr_array or ndarray of bool
        Symmetric adjacency with a zero diagonal.
    labels : (n,) ndarray of int
        Planted group of every node.

    Examples
    --------
    >>> A, labels = planted_partition(600, 3, 8.0, 1.0, seed=1)
    >>> bool((A != A.T).nnz == 0), int(labels.max())
    (True, 2)
    >>> B, _ = planted_partition(600, 3, 8.0, 1.0, seed=1, sparse=False)
    >>> bool((A.toarray().astype(bool) == B).all())
    True
    """
    n = check_int(n, "n", minimum=1)
    q = check_int(q, "q", minimum=1)
    c_in = check_float(c_in, "c_in", minimum=0.0)
    c_out = check_float(c_out, "c_out", minimum=0.0)
    if c_in > n:
        raise ValueError(f"'c_in' must be <= n={n} (c_in/n is a probability); got {c_in}")
    if c_out > n:
        raise ValueError(f"'c_out' must be <= n={n} (c_out/n is a probability); got {c_out}")
    if not isinstance(sparse, (bool, np.bool_)):
        raise TypeError(f"'sparse' must be a bool; got {sparse!r}")
    sizes = block_sizes(n, q)
    rng = as_rng(seed)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    p_in, p_out = c_in / n, c_out / n
    rows, cols = [], []
    for a in range(q):
        s = int(sizes[a])
        k = _sample_pairs(rng, s * (s - 1) // 2, p_in)
        i, j = _tri_index(k)
        rows.append(i + starts[a])
        cols.append(j + starts[a])
        for b in range(a + 1, q):
            t = int(sizes[b])
            k = _sample_pairs(rng, s * t, p_out)
            rows.append(k // t + starts[a])
            cols.append(k % t + starts[b])
    r = np.concatenate(rows) if rows else np.empty(0, np.int64)
    c = np.concatenate(cols) if cols else np.empty(0, np.int64)
    labels = np.repeat(np.arange(q), sizes)
    if sparse:
        data = np.ones(2 * r.size)
        A = sp.csr_array((data, (np.concatenate([r, c]), np.concatenate([c, r]))), shape=(n, n))
        A.sort_indices()
        return A, labels
    A = np.zeros((n, n), dtype=bool)
    A[r, c] = True
    A[c, r] = True
    return A, labels


def sbm_parameters(
    c_mean: float,
    q: int,
    *,
    epsilon: float | None = None,
    delta: float | None = None,
) -> tuple[float, float]:
    """Within- and between-group parameters ``(c_in, c_out)`` for a mean degree and a contrast.

    Give exactly one of ``epsilon = c_out / c_in`` (Decelle et al.'s ratio; 0 = disconnected
    groups, 1 = no structure) or ``delta = c_in - c_out`` (the contrast that enters the
    detectability threshold). The mean degree is held at ``c_mean = (c_in + (q-1) c_out) / q``.

    Parameters
    ----------
    c_mean : float
        Mean degree (> 0).
    q : int
        Number of groups (>= 2).
    epsilon : float, optional
        Ratio ``c_out / c_in`` (>= 0).
    delta : float, optional
        Difference ``c_in - c_out``; must lie in ``[-c_mean * q / (q - 1), c_mean * q]`` so that
        both parameters are non-negative.

    Returns
    -------
    (c_in, c_out) : tuple of float

    Examples
    --------
    >>> sbm_parameters(4.0, 2, epsilon=1/3)
    (6.0, 2.0)
    >>> sbm_parameters(4.0, 4, delta=4.0)
    (7.0, 3.0)
    """
    c_mean = check_float(c_mean, "c_mean", minimum=0.0)
    if c_mean <= 0:
        raise ValueError(f"'c_mean' must be > 0; got {c_mean}")
    q = check_int(q, "q", minimum=2)
    if (epsilon is None) == (delta is None):
        raise ValueError(
            f"give exactly one of 'epsilon' or 'delta'; got epsilon={epsilon!r}, delta={delta!r}"
        )
    if epsilon is not None:
        epsilon = check_float(epsilon, "epsilon", minimum=0.0, allow_inf=False)
        c_in = q * c_mean / (1.0 + (q - 1) * epsilon)
        return float(c_in), float(epsilon * c_in)
    delta = check_float(delta, "delta")
    lo, hi = -c_mean * q / (q - 1), c_mean * q
    if not lo - 1e-12 <= delta <= hi + 1e-12:
        raise ValueError(
            f"'delta' must lie in [{lo:g}, {hi:g}] for c_mean={c_mean:g}, q={q} "
            f"(otherwise c_in or c_out would be negative); got {delta}"
        )
    c_in = c_mean + (q - 1) * delta / q
    c_out = c_mean - delta / q
    return float(max(c_in, 0.0)), float(max(c_out, 0.0))


def detectability_threshold(c_mean: float, q: int, *, parameter: str = "delta") -> float:
    """Kesten--Stigum detectability threshold of the planted-partition SBM (Decelle et al. 2011).

    Community structure is detectable (better than chance, as ``n -> inf``) when
    ``|c_in - c_out| > q * sqrt(c_mean)``. For ``q <= 4`` this is the exact threshold; for
    ``q >= 5`` efficient algorithms are believed to need it while exhaustive inference can do
    slightly better.

    Parameters
    ----------
    c_mean : float
        Mean degree (> 0).
    q : int
        Number of groups (>= 2).
    parameter : {"delta", "epsilon", "snr"}
        Which coordinate to express the threshold in: ``delta = c_in - c_out`` (returns
        ``q * sqrt(c_mean)``), ``epsilon = c_out / c_in`` (returns
        ``(sqrt(c) - 1) / (sqrt(c) + q - 1)``; structure is detectable *below* it), or the
        signal-to-noise ratio of :func:`snr` (always 1).

    Examples
    --------
    >>> detectability_threshold(4.0, 2)
    4.0
    >>> round(detectability_threshold(4.0, 2, parameter="epsilon"), 4)
    0.3333
    """
    c_mean = check_float(c_mean, "c_mean", minimum=0.0)
    if c_mean <= 0:
        raise ValueError(f"'c_mean' must be > 0; got {c_mean}")
    q = check_int(q, "q", minimum=2)
    check_choice(parameter, "parameter", ("delta", "epsilon", "snr"))
    if parameter == "delta":
        return float(q * math.sqrt(c_mean))
    if parameter == "snr":
        return 1.0
    s = math.sqrt(c_mean)
    return float((s - 1.0) / (s + q - 1.0))


def snr(c_in: float, c_out: float, q: int) -> float:
    """Signal-to-noise ratio ``(c_in - c_out)**2 / (q**2 * c)``; structure is detectable when > 1.

    Examples
    --------
    >>> snr(5.0, 1.0, 2)
    1.3333333333333333
    """
    c_in = check_float(c_in, "c_in", minimum=0.0)
    c_out = check_float(c_out, "c_out", minimum=0.0)
    q = check_int(q, "q", minimum=2)
    c = (c_in + (q - 1) * c_out) / q
    if c <= 0:
        raise ValueError(f"mean degree (c_in + (q-1) c_out)/q must be > 0; got c_in={c_in}, c_out={c_out}")
    return float((c_in - c_out) ** 2 / (q * q * c))


def expected_modularity_planted(
    q: int,
    c_in: float,
    c_out: float,
    n: int | None = None,
) -> float:
    """Expected modularity of the *planted* partition of a planted-partition SBM.

    With ``n=None`` the sparse, large-``n`` limit ``Q = (q - 1)(c_in - c_out) / (q**2 c)`` with
    ``c = (c_in + (q-1) c_out) / q``. With ``n`` given, the exact expected numbers of within- and
    between-group edges for the group sizes of :func:`block_sizes` are used in
    ``Q = m_in / m - sum_a (d_a / 2m)**2`` (ratio of expectations; the error is ``O(1/m)``).

    This is the modularity of the *true* groups. The maximum modularity that an optimiser finds
    is larger (it also fits noise, see :func:`expected_modularity_random`), which is why a
    detected ``Q`` must be compared with a null model.

    Examples
    --------
    >>> expected_modularity_planted(2, 5.0, 1.0)
    0.3333333333333333
    >>> round(expected_modularity_planted(2, 5.0, 1.0, n=1000), 4)
    0.3331
    """
    q = check_int(q, "q", minimum=1)
    c_in = check_float(c_in, "c_in", minimum=0.0)
    c_out = check_float(c_out, "c_out", minimum=0.0)
    if n is None:
        c = (c_in + (q - 1) * c_out) / q
        if c <= 0:
            raise ValueError(f"mean degree must be > 0; got c_in={c_in}, c_out={c_out}")
        return float((q - 1) * (c_in - c_out) / (q * q * c))
    n = check_int(n, "n", minimum=2)
    sizes = block_sizes(n, q).astype(np.float64)
    p_in, p_out = c_in / n, c_out / n
    if p_in > 1 or p_out > 1:
        raise ValueError(f"c_in/n and c_out/n must be <= 1; got {p_in:g}, {p_out:g}")
    m_in_a = sizes * (sizes - 1) / 2 * p_in  # expected edges inside each group
    out_pairs = np.outer(sizes, sizes) * p_out
    np.fill_diagonal(out_pairs, 0.0)
    m_out = out_pairs.sum() / 2
    m = m_in_a.sum() + m_out
    if m <= 0:
        raise ValueError("the model has no expected edges; increase c_in or c_out")
    d = 2 * m_in_a + out_pairs.sum(axis=1)
    return float(m_in_a.sum() / m - np.sum((d / (2 * m)) ** 2))


def expected_modularity_random(
    n: int,
    *,
    p: float | None = None,
    c: float | None = None,
    method: str = "reichardt",
) -> float:
    """Approximate maximum modularity of an Erdős–Rényi graph (no planted structure).

    Random graphs have a positive maximum modularity simply because an optimiser can exploit
    fluctuations in a huge space of partitions. Two classic approximations:

    ``"reichardt"`` (Reichardt & Bornholdt 2006, spin-glass ground state, dense limit)
        ``Q ≈ 0.97 * sqrt((1 - p) / (p n))``. Scales as ``c**-1/2``, the order proved by McDiarmid
        & Skerman for ``c > 1``; accurate to a few percent for mean degrees ``c >~ 5``.
    ``"guimera"`` (Guimerà, Sales-Pardo & Amaral 2004, fluctuation argument)
        ``Q ≈ (1 - 2 / sqrt(n)) * (2 / (p n))**(2/3)``. Good for sparse graphs of moderate size
        (``c`` around 2--10, ``n`` in the hundreds to thousands), overestimates for dense ones.

    Neither is exact; use them to sanity-check, and a degree-preserving null ensemble for any
    number that is reported.

    Parameters
    ----------
    n : int
        Number of nodes (>= 2).
    p, c : float
        Connection probability or mean degree ``c = p (n - 1)``; give exactly one.
    method : {"reichardt", "guimera"}

    Examples
    --------
    >>> round(expected_modularity_random(1000, c=10.0), 3)
    0.305
    >>> round(expected_modularity_random(1000, c=10.0, method="guimera"), 3)
    0.32
    """
    n = check_int(n, "n", minimum=2)
    check_choice(method, "method", ("reichardt", "guimera"))
    if (p is None) == (c is None):
        raise ValueError(f"give exactly one of 'p' or 'c'; got p={p!r}, c={c!r}")
    if p is not None:
        p = check_float(p, "p", minimum=0.0, maximum=1.0)
    else:
        c = check_float(c, "c", minimum=0.0, maximum=float(n - 1))
        p = c / (n - 1)
    if p <= 0:
        raise ValueError(f"the graph must have edges; got p={p}")
    pn = p * n
    if method == "reichardt":
        return float(0.97 * math.sqrt((1.0 - p) / pn))
    return float((1.0 - 2.0 / math.sqrt(n)) * (2.0 / pn) ** (2.0 / 3.0))
