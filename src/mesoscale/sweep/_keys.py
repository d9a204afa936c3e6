"""Grids, canonical parameters, task keys and the random stream of each task."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import numbers
from collections.abc import Iterable, Mapping

import numpy as np

from mesoscale._validation import SeedLike, seed_sequence

FORMAT = "mesoscale.sweep/1"
_TASK_COL = "__task__"
_ROW_COL = "__row__"
_RESERVED = (_TASK_COL, _ROW_COL)
_META_KEY = b"mesoscale.sweep"
_INLINE_NAMES = ("inline", "synchronous", "sync")
_LOCAL_NAMES = ("local", "processes")


class SweepWarning(UserWarning):
    """Raised (as a warning) when tasks of a sweep failed or a store needed repair.

    Examples
    --------
    >>> import warnings
    >>> from mesoscale.sweep import run_sweep
    >>> def half(params, rng):
    ...     if params["x"] == 2:
    ...         raise ValueError("no two")
    ...     return {"y": params["x"] / 2}
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     df = run_sweep(half, grid_product(x=[1, 2, 3]), None, client="inline", seed=0, progress=False)
    >>> [type(w.message).__name__ for w in caught], len(df), issubclass(SweepWarning, UserWarning)
    (['SweepWarning'], 2, True)
    """



def grid_product(**axes) -> list[dict]:
    """Return the Cartesian product of parameter axes as a list of parameter dicts.

    The last axis varies fastest, as in :func:`itertools.product`; the order of the
    keywords is the column order of the sweep's table.

    Parameters
    ----------
    **axes
        ``name=values`` where ``values`` is a non-empty iterable (list, tuple,
        range, 1-D array). A scalar or a string is an error (wrap it in a list).

    Returns
    -------
    list of dict

    Examples
    --------
    >>> grid_product(eta=[-1.0, -2.0], rep=range(2))
    [{'eta': -1.0, 'rep': 0}, {'eta': -1.0, 'rep': 1}, {'eta': -2.0, 'rep': 0}, {'eta': -2.0, 'rep': 1}]
    """
    if not axes:
        raise ValueError("grid_product needs at least one axis, e.g. grid_product(eta=[-1.0, -2.0])")
    names, values = [], []
    for name, vals in axes.items():
        if isinstance(vals, (str, bytes, Mapping)) or not isinstance(vals, Iterable):
            raise TypeError(
                f"axis '{name}' must be a list, tuple, range or 1-D array of values; got {vals!r}"
            )
        vals = list(vals.tolist() if isinstance(vals, np.ndarray) else vals)
        if not vals:
            raise ValueError(f"axis '{name}' must have at least one value; got an empty sequence")
        names.append(name)
        values.append(vals)
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def _canon(value, where: str):
    """Return a JSON-compatible canonical form of a parameter value."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray):
        return _canon(value.tolist(), where)
    if isinstance(value, (list, tuple)):
        return [_canon(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where} has a non-string key {k!r}; parameter keys must be strings")
            out[k] = _canon(v, f"{where}[{k!r}]")
        return out
    raise TypeError(
        f"{where} has value {value!r} of type {type(value).__name__}; sweep parameters must be "
        "None, bool, int, float, str, or lists/tuples/dicts/1-D arrays of these"
    )


def _canonical_params(params, where: str = "params") -> dict:
    if not isinstance(params, Mapping):
        raise TypeError(f"{where} must be a dict of parameters; got {params!r}")
    if not params:
        raise ValueError(f"{where} is an empty dict; every task needs at least one parameter")
    out = _canon(params, where)
    for k in out:
        if not k or k in _RESERVED:
            raise ValueError(f"{where} uses the reserved or empty parameter name {k!r}")
    return out


def _canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True, ensure_ascii=True)


def task_key(params: Mapping) -> str:
    """Return the stable key of a parameter set: SHA-256 (hex) of its canonical JSON.

    Examples
    --------
    >>> task_key({"a": 1, "b": 2.0}) == task_key({"b": 2.0, "a": 1})
    True
    >>> task_key({"a": 1}) == task_key({"a": 1.0})
    False
    """
    return hashlib.sha256(_canonical_json(_canonical_params(params)).encode()).hexdigest()


def _key_words(key: str) -> tuple[int, ...]:
    return tuple(int(key[i : i + 8], 16) for i in range(0, 32, 8))


def _task_seedseq(entropy, spawn_key, key: str) -> np.random.SeedSequence:
    return np.random.SeedSequence(entropy, spawn_key=tuple(spawn_key) + _key_words(key))


def task_rng(seed: SeedLike, params: Mapping) -> np.random.Generator:
    """Return the generator a sweep with ``seed`` hands to the task with ``params``.

    Useful to reproduce one task of a sweep outside of it.

    Examples
    --------
    >>> from mesoscale.sweep import run_sweep
    >>> fn = lambda p, rng: {"u": rng.random()}
    >>> df = run_sweep(fn, [{"k": 1}, {"k": 2}], None, client="inline", seed=7, progress=False)
    >>> bool(df.loc[1, "u"] == task_rng(7, {"k": 2}).random())
    True
    """
    if isinstance(seed, np.random.Generator):
        raise TypeError("task_rng needs the sweep's seed as an int or SeedSequence, not a Generator")
    base = seed_sequence(seed)
    return np.random.default_rng(_task_seedseq(base.entropy, base.spawn_key, task_key(params)))


@dataclasses.dataclass
class _Grid:
    params: list[dict]  # canonical
    keys: list[str]
    hash: str

    @classmethod
    def build(cls, grid) -> _Grid:
        if isinstance(grid, Mapping):
            grid = grid_product(**grid)
        if isinstance(grid, (str, bytes)) or not isinstance(grid, Iterable):
            raise TypeError(
                f"grid must be a list of parameter dicts (see grid_product); got {type(grid).__name__}"
            )
        params = [_canonical_params(p, f"grid[{i}]") for i, p in enumerate(grid)]
        if not params:
            raise ValueError("grid is empty; it needs at least one parameter dict")
        texts = [_canonical_json(p) for p in params]
        keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k in first:
                raise ValueError(
                    f"grid has the same parameters at positions {first[k]} and {i} ({texts[i]}); "
                    "identical tasks would draw identical random numbers -- add a replicate axis, "
                    "e.g. grid_product(..., rep=range(n))"
                )
            first[k] = i
        digest = hashlib.sha256(("[" + ",".join(texts) + "]").encode()).hexdigest()
        return cls(params, keys, digest)

    @property
    def n_tasks(self) -> int:
        return len(self.keys)

    def matches(self, idx: list[int], keys: list[str]) -> bool:
        """Whether task ``idx[t]`` of this grid has key ``keys[t]`` for every ``t``."""
        n = len(self.keys)
        return all(0 <= i < n and self.keys[i] == k for i, k in zip(idx, keys))

    def digests(self) -> bytes:
        """The keys as raw SHA-256 digests, 32 bytes per task in grid order (a store's ``keys.bin``)."""
        return b"".join(bytes.fromhex(k) for k in self.keys)


@dataclasses.dataclass
class _KeyIndex:
    """The keys of a stored grid without its parameters: enough for a store's status.

    Read from the store's ``keys.bin`` (:meth:`_Grid.digests`), it spares the status of a
    10^6-task sweep from parsing and hashing every parameter set again.
    """

    table: np.ndarray  # (n_tasks, 32) uint8: the SHA-256 digest of every task
    hash: str

    @property
    def n_tasks(self) -> int:
        return self.table.shape[0]

    def matches(self, idx: list[int], keys: list[str]) -> bool:
        if not idx:
            return True
        i = np.asarray(idx, dtype=np.int64)
        if i.min() < 0 or i.max() >= self.table.shape[0]:
            return False
        try:
            given = np.frombuffer(bytes.fromhex("".join(keys)), dtype=np.uint8)
        except (TypeError, ValueError):
            return False
        if given.size != 32 * len(keys):
            return False
        return bool(np.array_equal(self.table[i], given.reshape(-1, 32)))


def _seed_record(seed) -> dict:
    ss = seed_sequence(seed)
    ent = ss.entropy
    ent = [int(e) for e in ent] if isinstance(ent, (list, tuple, np.ndarray)) else int(ent)
    return {"entropy": ent, "spawn_key": [int(k) for k in ss.spawn_key]}


def _canonical_bytes(obj, _depth: int = 0) -> bytes:
    """Bytes that identify ``obj`` by value, the same in every process (no hash-seeded order, no ids)."""
    if _depth > 20:
        return b"<deep>"
    d = _depth + 1
    if isinstance(obj, np.generic):
        obj = obj.item()  # a NumPy scalar is its Python value
    if obj is None or isinstance(obj, (bool, numbers.Number, str, bytes)):
        return f"{type(obj).__name__}:{obj!r}".encode()
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        if a.dtype == object:
            return b"ndarray-object[" + b",".join(_canonical_bytes(x, d) for x in a.ravel()) + b"]"
        return f"ndarray:{a.dtype.str}:{a.shape}:".encode() + hashlib.sha256(a.tobytes()).digest()
    if isinstance(obj, (list, tuple)):
        return type(obj).__name__.encode() + b"[" + b",".join(_canonical_bytes(x, d) for x in obj) + b"]"
    if isinstance(obj, Mapping):
        items = sorted((_canonical_bytes(k, d), _canonical_bytes(v, d)) for k, v in obj.items())
        return b"dict{" + b",".join(k + b"=" + v for k, v in items) + b"}"
    if isinstance(obj, (set, frozenset)):
        return b"set{" + b",".join(sorted(_canonical_bytes(x, d) for x in obj)) + b"}"
    if callable(obj) and hasattr(obj, "__qualname__"):
        return f"fn:{getattr(obj, '__module__', '?')}:{obj.__qualname__}".encode()
    state = getattr(obj, "__dict__", None)
    if state is None and hasattr(obj, "__slots__"):
        state = {k: getattr(obj, k) for k in obj.__slots__ if hasattr(obj, k)}
    name = f"{type(obj).__module__}:{type(obj).__qualname__}".encode()
    if state is not None:
        return b"obj:" + name + _canonical_bytes(dict(state), d)
    return b"obj:" + name + repr(obj).encode()


def _fn_arguments(fn) -> str | None:
    """Digest of the arguments fixed in ``fn`` (a :func:`functools.partial`), ``None`` for a plain function.

    A store records it, so that a sweep continued with other fixed arguments (another model, another
    target) is refused instead of mixing its rows with the old ones.
    """
    import functools

    if not isinstance(fn, functools.partial):
        return None
    inner = _fn_name(fn.func)
    return hashlib.sha256(_canonical_bytes((inner, fn.args, dict(fn.keywords)))).hexdigest()


def _fn_name(fn) -> str:
    mod = getattr(fn, "__module__", None) or "?"
    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    return f"{mod}:{name}"

