"""Input validation and random-number conventions shared by the whole package.

Every public function of :mod:`mesoscale` validates its inputs at the boundary with
these helpers, so that a bad value is reported with the argument's name and the
value itself, and never deep inside numerical code.

Random numbers follow one convention: a public function takes ``seed`` (``None``,
an ``int``, a :class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`)
and turns it into a generator with :func:`as_rng`. Independent streams for the
members of a batch or the tasks of a sweep are spawned with :func:`spawn_rngs`, so
results never depend on the number of workers or the order of work.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

__all__ = [
    "as_rng",
    "spawn_rngs",
    "seed_sequence",
    "check_matrix",
    "check_adjacency",
    "check_distance",
    "check_batch",
    "check_int",
    "check_float",
    "check_choice",
]

SeedLike = None | int | np.integer | np.random.SeedSequence | np.random.Generator


def seed_sequence(seed: SeedLike = None) -> np.random.SeedSequence:
    """Return a :class:`~numpy.random.SeedSequence` for ``seed``.

    A ``Generator`` contributes fresh entropy drawn from it (so the call advances it).
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2**63 - 1)))
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"seed must be None, an int, a SeedSequence or a numpy Generator; got {seed!r} "
            f"of type {type(seed).__name__}"
        )
    if int(seed) < 0:
        raise ValueError(f"seed must be non-negative; got {seed!r}")
    return np.random.SeedSequence(int(seed))


def as_rng(seed: SeedLike = None) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``seed``.

    A ``Generator`` is returned unchanged, so callers can thread one stream through
    several calls; ints and ``SeedSequence`` objects give a fresh, reproducible stream.

    Examples
    --------
    >>> as_rng(1).integers(10) == as_rng(1).integers(10)
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed_sequence(seed))


def spawn_rngs(seed: SeedLike, n: int) -> list[np.random.Generator]:
    """Return ``n`` statistically independent generators derived from ``seed``.

    The i-th generator depends only on ``seed`` and ``i``.
    """
    n = check_int(n, "n", minimum=0)
    return [np.random.default_rng(s) for s in seed_sequence(seed).spawn(n)]


def _name(name: str) -> str:
    return f"'{name}'"


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` or raise naming ``name`` and the value."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{_name(name)} must be an integer; got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{_name(name)} must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{_name(name)} must be <= {maximum}; got {value}")
    return value


def check_float(
    value,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    allow_inf: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` or raise naming ``name`` and the value."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_name(name)} must be a real number; got {value!r}")
    value = float(value)
    if np.isnan(value) or (np.isinf(value) and not allow_inf):
        raise ValueError(f"{_name(name)} must be finite; got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{_name(name)} must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{_name(name)} must be <= {maximum}; got {value}")
    return value


def check_choice(value, name: str, choices: Sequence[str]):
    """Return ``value`` if it is one of ``choices``, else raise listing them."""
    if value not in choices:
        raise ValueError(f"{_name(name)} must be one of {list(choices)}; got {value!r}")
    return value


def check_matrix(
    A,
    name: str = "A",
    *,
    square: bool = True,
    finite: bool = True,
    nonnegative: bool = False,
    symmetric: bool = False,
    zero_diagonal: bool = False,
    dtype=float,
    atol: float = 1e-10,
) -> np.ndarray:
    """Validate a 2-D matrix and return it as a numpy array of ``dtype``.

    Raises ``ValueError`` naming ``name`` and the defect (shape, non-finite entries,
    negative entries, asymmetry, non-zero diagonal).
    """
    try:
        M = np.asarray(A)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise TypeError(f"{_name(name)} could not be converted to an array: {exc}") from exc
    if M.dtype == object:
        raise TypeError(f"{_name(name)} must be a numeric matrix; got an object array")
    if M.ndim != 2:
        raise ValueError(f"{_name(name)} must be a 2-D matrix; got shape {M.shape}")
    if square and M.shape[0] != M.shape[1]:
        raise ValueError(f"{_name(name)} must be square; got shape {M.shape}")
    if M.dtype == bool:
        M = M.astype(dtype)
    elif not np.issubdtype(M.dtype, np.number):
        raise TypeError(f"{_name(name)} must be numeric; got dtype {M.dtype}")
    else:
        M = M.astype(dtype, copy=False)
    if finite and not np.all(np.isfinite(M)):
        bad = np.argwhere(~np.isfinite(M))[0]
        raise ValueError(
            f"{_name(name)} contains non-finite values (first at {tuple(int(i) for i in bad)}: "
            f"{M[tuple(bad)]})"
        )
    if nonnegative and np.any(M < 0):
        bad = np.argwhere(M < 0)[0]
        raise ValueError(
            f"{_name(name)} contains negative values (first at {tuple(int(i) for i in bad)}: "
            f"{M[tuple(bad)]})"
        )
    if symmetric and not np.allclose(M, M.T, atol=atol, rtol=0):
        i, j = np.unravel_index(np.argmax(np.abs(M - M.T)), M.shape)
        raise ValueError(
            f"{_name(name)} must be symmetric; {name}[{i},{j}]={M[i, j]} but {name}[{j},{i}]={M[j, i]}"
        )
    if zero_diagonal and np.any(np.diag(M) != 0):
        i = int(np.flatnonzero(np.diag(M))[0])
        raise ValueError(f"{_name(name)} must have a zero diagonal; {name}[{i},{i}]={M[i, i]}")
    return M


def check_adjacency(
    A,
    name: str = "A",
    *,
    directed: bool = False,
    binary: bool = False,
    weighted_ok: bool = True,
) -> np.ndarray:
    """Validate an adjacency matrix: square, finite, non-negative; symmetric unless ``directed``.

    With ``binary=True`` the result is a 0/1 float matrix (any non-zero weight counts as
    an edge) with a zero diagonal; with ``weighted_ok=False`` non-binary weights are an error.
    """
    M = check_matrix(A, name, nonnegative=True, symmetric=not directed)
    if not weighted_ok and not np.all((M == 0) | (M == 1)):
        vals = np.unique(M[(M != 0) & (M != 1)])[:3]
        raise ValueError(f"{_name(name)} must be binary (0/1); found values {vals.tolist()}")
    if binary:
        M = (M != 0).astype(float)
        np.fill_diagonal(M, 0.0)
    return M


def check_distance(D, n: int | None = None, name: str = "D") -> np.ndarray:
    """Validate a distance matrix: square, finite, non-negative, symmetric; ``n`` nodes if given."""
    M = check_matrix(D, name, nonnegative=True, symmetric=True, atol=1e-8)
    if n is not None and M.shape[0] != n:
        raise ValueError(f"{_name(name)} must be {n}x{n} to match the network; got shape {M.shape}")
    return M


def check_batch(A, name: str = "A", *, n: int | None = None) -> np.ndarray:
    """Validate a batch of symmetric binary adjacency matrices, shape ``(B, n, n)`` or ``(n, n)``.

    Returns a boolean array of shape ``(B, n, n)``.
    """
    M = np.asarray(A)
    if M.ndim == 2:
        M = M[None]
    if M.ndim != 3 or M.shape[1] != M.shape[2]:
        raise ValueError(f"{_name(name)} must have shape (B, n, n) or (n, n); got {np.shape(A)}")
    if n is not None and M.shape[1] != n:
        raise ValueError(f"{_name(name)} must have {n} nodes; got shape {M.shape}")
    if M.dtype != bool:
        if not np.issubdtype(M.dtype, np.number) or not np.all(np.isfinite(M)):
            raise ValueError(f"{_name(name)} must be a finite numeric or boolean array")
        M = M != 0
    if not np.array_equal(M, np.swapaxes(M, 1, 2)):
        b = int(np.flatnonzero((M != np.swapaxes(M, 1, 2)).any(axis=(1, 2)))[0])
        raise ValueError(f"{_name(name)}[{b}] is not symmetric")
    return M
