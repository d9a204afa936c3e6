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
import os
from collections.abc import Sequence

import numpy as np

__all__ = [
    "square_batch",
    "as_rng",
    "spawn_rngs",
    "seed_sequence",
    "check_matrix",
    "check_adjacency",
    "check_distance",
    "check_batch",
    "check_int",
    "check_n_jobs",
    "check_float",
    "check_choice",
    "check_float_list",
    "check_network",
    "check_partition",
    "relabel",
    "distance_matrix",
]

SeedLike = None | int | np.integer | np.random.SeedSequence | np.random.Generator


def seed_sequence(seed: SeedLike = None, *key: int) -> np.random.SeedSequence:
    """Return a :class:`~numpy.random.SeedSequence` for ``seed``, or for its child ``key``.

    A ``Generator`` contributes fresh entropy drawn from it (so the call advances it).
    With ``key`` (non-negative ints, e.g. a member and a task index), the result is the
    child stream at that position -- ``seed_sequence(s, i)`` is the ``i``-th stream of
    ``spawn_rngs(s, n)`` -- without changing ``seed`` itself, so it is the same on every
    call. This is how a function derives the streams of its parts: no salt constants.

    Examples
    --------
    >>> seed_sequence(3).entropy, seed_sequence(3, 1, 2).spawn_key
    (3, (1, 2))
    >>> a = np.random.default_rng(seed_sequence(5, 0)).random()
    >>> bool(a == spawn_rngs(5, 2)[0].random())
    True
    """
    if key:
        base = seed_sequence(seed)
        for k in key:
            check_int(k, "key", minimum=0)
        return np.random.SeedSequence(base.entropy, spawn_key=tuple(base.spawn_key) + tuple(int(k) for k in key),
                                      pool_size=base.pool_size)
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
    >>> bool(as_rng(1).integers(10) == as_rng(1).integers(10))
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed_sequence(seed))


def spawn_rngs(seed: SeedLike, n: int) -> list[np.random.Generator]:
    """Return ``n`` statistically independent generators derived from ``seed``.

    The i-th generator depends only on ``seed`` and ``i``.

    Examples
    --------
    >>> a, b = spawn_rngs(0, 2)
    >>> bool(a.random() != b.random()), len(spawn_rngs(0, 3))
    (True, 3)
    """
    n = check_int(n, "n", minimum=0)
    return [np.random.default_rng(s) for s in seed_sequence(seed).spawn(n)]


def _name(name: str) -> str:
    return f"'{name}'"


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` or raise naming ``name`` and the value.

    Examples
    --------
    >>> check_int(3.0, "n")
    3
    >>> check_int(0, "n", minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: 'n' must be >= 1; got 0
    """
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


def check_n_jobs(n_jobs, name: str = "n_jobs") -> int | None:
    """Return the number of parallel jobs ``n_jobs`` asks for (``None`` stays ``None``).

    The package's parallelism convention: ``None`` is the caller's default (usually
    serial), a positive int is that many jobs, and a negative int counts back from the
    number of cores (``-1``: all cores, ``-2``: all but one; never fewer than one).

    Examples
    --------
    >>> check_n_jobs(None) is None, check_n_jobs(3)
    (True, 3)
    >>> import os
    >>> check_n_jobs(-1) == (os.cpu_count() or 1)
    True
    """
    if n_jobs is None:
        return None
    n_jobs = check_int(n_jobs, name)
    if n_jobs == 0:
        raise ValueError(f"{_name(name)} must be a positive integer, -1 (all cores) or None; got 0")
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return n_jobs


def check_float(
    value,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    allow_inf: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` or raise naming ``name`` and the value.

    Examples
    --------
    >>> check_float(1, "lr", minimum=0.0)
    1.0
    """
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
    """Return ``value`` if it is one of ``choices``, else raise listing them.

    Examples
    --------
    >>> check_choice("degree", "null", ["degree", "density"])
    'degree'
    """
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

    Examples
    --------
    >>> check_matrix([[0, 1], [1, 0]], symmetric=True).dtype
    dtype('float64')
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
    if symmetric and not np.array_equal(M, M.T) and not np.allclose(M, M.T, atol=atol, rtol=0):
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

    Examples
    --------
    >>> check_adjacency([[1, 2], [2, 0]], binary=True).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
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
    """Validate a distance matrix: square, finite, non-negative, symmetric; ``n`` nodes if given.

    Examples
    --------
    >>> check_distance([[0, 2], [2, 0]], n=2).shape
    (2, 2)
    """
    M = check_matrix(D, name, nonnegative=True, symmetric=True, atol=1e-8)
    if n is not None and M.shape[0] != n:
        raise ValueError(f"{_name(name)} must be {n}x{n} to match the network; got shape {M.shape}")
    return M


def square_batch(A, name: str, *, n: int | None = None) -> np.ndarray:
    """``A`` as a ``(B, n, n)`` array (a single ``(n, n)`` matrix gives ``B = 1``), its shape checked.

    Examples
    --------
    >>> square_batch([[0, 1], [1, 0]], "A").shape
    (1, 2, 2)
    >>> square_batch(np.zeros((2, 3)), "A")
    Traceback (most recent call last):
    ...
    ValueError: 'A' must have shape (B, n, n) or (n, n); got (2, 3)
    """
    M = np.asarray(A)
    if M.ndim == 2:
        M = M[None]
    if M.ndim != 3 or M.shape[1] != M.shape[2]:
        raise ValueError(f"{_name(name)} must have shape (B, n, n) or (n, n); got {np.shape(A)}")
    if n is not None and M.shape[1] != n:
        raise ValueError(f"{_name(name)} must have {n} nodes; got shape {M.shape}")
    return M


def check_batch(A, name: str = "A", *, n: int | None = None, symmetric: bool = True) -> np.ndarray:
    """Validate a batch of symmetric binary adjacency matrices, shape ``(B, n, n)`` or ``(n, n)``.

    Returns a boolean array of shape ``(B, n, n)`` (the input itself when it is one). With
    ``symmetric=False`` the caller checks symmetry (e.g. a kernel that reads every entry anyway).

    Examples
    --------
    >>> check_batch([[0, 1], [1, 0]]).shape
    (1, 2, 2)
    >>> int(check_batch([[0, 1], [0, 0]], symmetric=False).sum())  # asymmetry left to the caller
    1
    """
    M = square_batch(A, name, n=n)
    if M.dtype != bool:
        if not np.issubdtype(M.dtype, np.number) or not np.all(np.isfinite(M)):
            raise ValueError(f"{_name(name)} must be a finite numeric or boolean array")
        M = M != 0
    if symmetric and not np.array_equal(M, np.swapaxes(M, 1, 2)):
        b = int(np.flatnonzero((M != np.swapaxes(M, 1, 2)).any(axis=(1, 2)))[0])
        raise ValueError(f"{_name(name)}[{b}] is not symmetric")
    return M


def check_float_list(
    values,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    unique: bool = False,
) -> list[float]:
    """Return a scalar or 1-D sequence of real numbers as a non-empty list of finite floats.

    The one validator for parameter lists (``etas``, ``densities``, ``costs``, ...): raises
    ``TypeError`` for non-numbers and ``ValueError`` for an empty, nested, non-finite,
    out-of-range or (with ``unique``) repeated list, naming ``name`` and the value.

    Examples
    --------
    >>> check_float_list([1, 2.5], "etas")
    [1.0, 2.5]
    >>> check_float_list(0.5, "densities", maximum=1.0)
    [0.5]
    >>> check_float_list([], "etas")
    Traceback (most recent call last):
    ...
    ValueError: 'etas' must be a non-empty 1-D sequence of numbers; got []
    """
    arr = np.atleast_1d(np.asarray(values, dtype=object if isinstance(values, str) else None))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{_name(name)} must be a non-empty 1-D sequence of numbers; got {values!r}")
    if arr.dtype == object or arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{_name(name)} must contain real numbers; got {values!r}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{_name(name)} must contain real numbers; got {values!r}")
    out = [check_float(v, name, minimum=minimum, maximum=maximum) for v in arr.tolist()]
    if unique and len(set(out)) != len(out):
        raise ValueError(f"{_name(name)} must not contain duplicates; got {values!r}")
    return out


def distance_matrix(pos_a, pos_b=None) -> np.ndarray:
    """Euclidean distances between the rows of ``pos_a`` and of ``pos_b`` (default ``pos_a``).

    The package's one distance matrix (node positions -> ``D``); with one argument the
    result is symmetric with an exact zero diagonal. Public as
    :func:`mesoscale.metrics.distance_matrix`.

    Examples
    --------
    >>> distance_matrix([[0.0, 0.0], [3.0, 4.0]]).tolist()
    [[0.0, 5.0], [5.0, 0.0]]
    >>> distance_matrix([[0.0]], [[1.0], [2.0]]).shape
    (1, 2)
    """
    a = np.asarray(pos_a, dtype=float)
    b = a if pos_b is None else np.asarray(pos_b, dtype=float)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"positions must be 2-D with the same number of columns; got {a.shape} and {b.shape}")
    diff = a[:, None, :] - b[None, :, :]
    D = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    if pos_b is None:
        np.fill_diagonal(D, 0.0)
    return D


def check_network(A, name: str = "A", directed: bool | None = None) -> tuple[np.ndarray, bool]:
    """Validate a (weighted) network for the metrics; return ``(matrix, directed)``.

    Non-negative, finite, square, at least 2 nodes and one edge. ``directed=None`` infers
    it (asymmetric means directed); ``directed=False`` requires symmetry.

    Examples
    --------
    >>> M, directed = check_network([[0, 1, 0], [0, 0, 1], [1, 0, 0]])
    >>> M.shape, directed
    ((3, 3), True)
    """
    M = check_matrix(A, name, nonnegative=True)
    symmetric = bool(np.allclose(M, M.T, atol=1e-10, rtol=0))
    if directed is None:
        directed = not symmetric
    elif not isinstance(directed, (bool, np.bool_)):
        raise TypeError(f"'directed' must be None, True or False; got {directed!r}")
    elif not directed and not symmetric:
        i, j = np.unravel_index(np.argmax(np.abs(M - M.T)), M.shape)
        raise ValueError(
            f"{_name(name)} must be symmetric when directed=False; {name}[{i},{j}]={M[i, j]} but "
            f"{name}[{j},{i}]={M[j, i]}"
        )
    if M.shape[0] < 2:
        raise ValueError(f"{_name(name)} must have at least 2 nodes; got shape {M.shape}")
    if not np.any(M):
        raise ValueError(f"{_name(name)} has no edges; modularity is undefined")
    return M, bool(directed)


def relabel(partition) -> np.ndarray:
    """Relabel a partition to integers 0..k-1 in order of first appearance.

    Examples
    --------
    >>> relabel([5, 5, 2, 9, 2]).tolist()
    [0, 0, 1, 2, 1]
    """
    p = np.asarray(partition).ravel()
    _, first, inv = np.unique(p, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inv]


def check_partition(partition, n: int, name: str = "partition") -> np.ndarray:
    """Validate ``n`` integer module labels; return them relabelled 0..k-1 (see :func:`relabel`).

    Examples
    --------
    >>> check_partition([3.0, 3.0, 7.0], 3).tolist()
    [0, 0, 1]
    """
    p = np.asarray(partition)
    if p.ndim != 1 or p.shape[0] != n:
        raise ValueError(f"{_name(name)} must be a 1-D array of {n} labels; got shape {p.shape}")
    if p.dtype == bool or not np.issubdtype(p.dtype, np.integer):
        if np.issubdtype(p.dtype, np.floating) and np.all(np.isfinite(p)) and np.all(p == np.round(p)):
            p = p.astype(np.int64)
        else:
            raise TypeError(f"{_name(name)} must hold integer module labels; got dtype {p.dtype}")
    return relabel(p)


def check_frame(df, columns: Sequence[str], name: str = "df", *, made_by: str | None = None):
    """Check that ``df`` is a pandas DataFrame holding ``columns``; return it unchanged.

    ``made_by`` names the function whose output is expected (used in the error message).

    Examples
    --------
    >>> import pandas as pd
    >>> check_frame(pd.DataFrame({"size": [1], "value": [0.5]}), ["size", "value"]).shape
    (1, 2)
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        origin = f" from {made_by}()" if made_by else ""
        raise TypeError(f"{_name(name)} must be a pandas DataFrame{origin}; got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{_name(name)} lacks columns {missing}; has {list(df.columns)}")
    return df


def check_torch_device(device, types: Sequence[str] = ("cpu", "cuda", "mps")):
    """Return ``device`` as a ``torch.device`` of one of ``types`` that exists here, or raise.

    The one check behind every ``device=`` argument of the package (torch is imported only here,
    when a device is given). ``TypeError`` for a value that is neither a string nor a
    ``torch.device``; ``ValueError`` naming the device for an unknown name, a type not in
    ``types``, a backend that is not available (CUDA without a GPU, MPS off a Mac) and a CUDA
    index beyond the visible devices. Allocates nothing.

    Examples
    --------
    >>> check_torch_device("cpu")
    device(type='cpu')
    >>> check_torch_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: 'device' must name a torch device such as 'cpu', 'cuda' or 'cuda:0'; got 'gpu'
    """
    import torch

    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except (RuntimeError, ValueError):
            raise ValueError(
                f"'device' must name a torch device such as 'cpu', 'cuda' or 'cuda:0'; got {device!r}"
            ) from None
    else:
        raise TypeError(f"'device' must be None, a str or a torch.device; got {type(device).__name__} {device!r}")
    if dev.type not in types:
        raise ValueError(f"'device' must be a {' / '.join(types)} device; got {device!r} (type {dev.type!r})")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"'device' is {device!r} but CUDA is not available here (torch.cuda.is_available() is False, "
                f"torch {torch.__version__}); use device='cpu' or device=None"
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ValueError(
                f"'device' is {device!r} but only {count} CUDA device(s) are visible (indices 0..{count - 1}): "
                f"index {dev.index} does not exist"
            )
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"'device' is {device!r} but the MPS backend is not available here")
    return dev


def jsonable(x):
    """A JSON-friendly form of numpy values for ``json.dumps(default=...)``: arrays as lists, scalars as numbers.

    Examples
    --------
    >>> import json
    >>> json.dumps({"a": np.arange(3), "b": np.float32(0.5), "c": np.int64(2)}, default=jsonable)
    '{"a": [0, 1, 2], "b": 0.5, "c": 2}'
    """
    if hasattr(x, "tolist") and getattr(x, "ndim", 0) > 0:  # arrays (before .item(), which only takes size 1)
        return x.tolist()
    if hasattr(x, "item"):
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    return str(x)
