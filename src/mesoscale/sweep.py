"""Persistent, resumable, deterministic parameter sweeps on Dask.

A *sweep* runs one function over a grid of parameter sets and collects what it
returns in one table::

    fn(params: dict, rng: numpy.random.Generator) -> dict | list[dict] | pandas.DataFrame

:func:`run_sweep` runs the tasks in-process (``client="inline"``), on a local
Dask cluster (one worker process per core, the default), on an existing Dask
scheduler (``scheduler="tcp://host:port"`` or ``DASK_SCHEDULER_ADDRESS``) or on
SLURM through dask-jobqueue (``scheduler="slurm"``). Whatever the execution, the
result is the same table, bit for bit.

Determinism
-----------
Each task receives its own random generator, derived from the sweep's ``seed``
and the task's *parameters* -- never from its position in the grid, the worker
that runs it, or the order in which tasks finish. Precisely: the parameters are
canonicalised (numpy scalars become Python numbers, tuples become lists, keys are
sorted) and written as compact JSON; the SHA-256 of that text is the task's
*key*; its first 128 bits, as four 32-bit words, are appended to the
``spawn_key`` of ``SeedSequence(seed)``. So the task ``{"eta": -2.0, "rep": 3}``
draws the same numbers in every sweep with the same seed, even in a different
grid. Note that ``1`` and ``1.0`` are different parameters.

Storage
-------
With a ``store`` path, results are written to disk as each batch of tasks
finishes: one Parquet file per batch under ``STORE/chunks/``, written to a
temporary name and renamed into place, plus ``STORE/manifest.json`` (grid hash,
seed, package version, function name) and ``STORE/grid.json`` (the canonical
parameter sets). Running again with the same store computes only the tasks that
are missing; a store made by a different grid or seed is refused. Chunk files
that cannot be read or do not match the grid (a partial copy, a truncated write)
are moved to ``STORE/corrupt/`` and their tasks are recomputed. Tasks that raise
are recorded (parameters, error, traceback) under ``STORE/failures/`` and are not
rerun unless ``retry_failed=True``.

Examples
--------
>>> from mesoscale.sweep import grid_product, run_sweep
>>> def draw(params, rng):
...     return {"x": params["scale"] * rng.standard_normal()}
>>> grid = grid_product(scale=[1.0, 10.0], rep=range(3))
>>> df = run_sweep(draw, grid, None, client="inline", seed=1, progress=False)
>>> df.shape
(6, 3)
>>> list(df.columns)
['scale', 'rep', 'x']
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import importlib.util
import itertools
import json
import logging
import math
import numbers
import os
import platform
import sys
import time
import traceback
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mesoscale._validation import SeedLike, check_int, seed_sequence

__all__ = [
    "grid_product",
    "run_sweep",
    "load_sweep",
    "load_failures",
    "sweep_status",
    "task_key",
    "task_rng",
    "SweepSummary",
    "SweepWarning",
    "register_cli",
    "main",
]

FORMAT = "mesoscale.sweep/1"
_TASK_COL = "__task__"
_ROW_COL = "__row__"
_RESERVED = (_TASK_COL, _ROW_COL)
_META_KEY = b"mesoscale.sweep"
_INLINE_NAMES = ("inline", "synchronous", "sync")
_LOCAL_NAMES = ("local", "processes")
#: wall-clock length aimed at for one batch when ``batch_size`` is automatic
_TARGET_BATCH_S = 0.5
_MAX_BATCH = 10_000
_INFRA_ERRORS = ("KilledWorker", "CancelledError", "FutureCancelledError", "CommClosedError")

log = logging.getLogger(__name__)


class SweepWarning(UserWarning):
    """Raised (as a warning) when tasks of a sweep failed or a store needed repair."""


# ----------------------------------------------------------------------------------------------
# grids, canonical parameters, keys and seeds
# ----------------------------------------------------------------------------------------------


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


def _seed_record(seed) -> dict:
    ss = seed_sequence(seed)
    ent = ss.entropy
    ent = [int(e) for e in ent] if isinstance(ent, (list, tuple, np.ndarray)) else int(ent)
    return {"entropy": ent, "spawn_key": [int(k) for k in ss.spawn_key]}


def _fn_name(fn) -> str:
    mod = getattr(fn, "__module__", None) or "?"
    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    return f"{mod}:{name}"


# ----------------------------------------------------------------------------------------------
# worker side: run a batch of tasks
# ----------------------------------------------------------------------------------------------

_FN_CACHE: dict[str, Callable] = {}


def _load_fn(payload: bytes) -> Callable:
    digest = hashlib.sha256(payload).hexdigest()
    fn = _FN_CACHE.get(digest)
    if fn is None:
        import cloudpickle

        fn = cloudpickle.loads(payload)
        if len(_FN_CACHE) > 8:
            _FN_CACHE.clear()
        _FN_CACHE[digest] = fn
    return fn


def _record_table(result, params: dict, idx: int) -> pa.Table:
    """Turn what ``fn`` returned into an Arrow table with the bookkeeping columns."""
    if isinstance(result, pd.DataFrame):
        table = pa.Table.from_pandas(result.reset_index(drop=True), preserve_index=False)
    else:
        if isinstance(result, Mapping):
            rows = [result]
        elif isinstance(result, (list, tuple)) and all(isinstance(r, Mapping) for r in result):
            rows = list(result)
        else:
            raise TypeError(
                "fn must return a dict, a list of dicts or a pandas DataFrame; got "
                f"{type(result).__name__}"
            )
        names: dict[str, None] = {}
        for r in rows:
            for k in r:
                names.setdefault(k, None)
        table = pa.Table.from_pydict({k: [r.get(k) for r in rows] for k in names})
    for name in table.column_names:
        if not isinstance(name, str) or not name:
            raise TypeError(f"record column names must be non-empty strings; got {name!r}")
        if name in _RESERVED:
            raise ValueError(f"record column {name!r} is reserved by mesoscale.sweep")
    for name in [c for c in table.column_names if c in params]:
        values = table.column(name).to_pylist()
        if all(_canon(v, name) == params[name] for v in values):
            table = table.drop_columns([name])
        else:
            raise ValueError(
                f"record column {name!r} clashes with the parameter of the same name "
                f"({params[name]!r} vs {values[:3]!r}); rename it"
            )
    n = table.num_rows
    table = table.append_column(_TASK_COL, pa.array(np.full(n, idx, dtype=np.int64)))
    return table.append_column(_ROW_COL, pa.array(np.arange(n, dtype=np.int64)))


def _failure(idx: int, key: str, params: dict, exc: BaseException, tb: str, attempt: str) -> dict:
    return {
        "task": idx,
        "key": key,
        "params": params,
        "error": type(exc).__name__,
        "message": str(exc),
        "traceback": tb,
        "where": attempt,
        "time": time.time(),
    }


def _run_batch(fn_or_payload, items, entropy, spawn_key):
    """Run tasks ``items = [(idx, key, params), ...]``; never raises for a task's error."""
    host = f"{platform.node()}:{os.getpid()}"
    try:
        fn = _load_fn(fn_or_payload) if isinstance(fn_or_payload, bytes) else fn_or_payload
    except Exception as exc:  # the function cannot be loaded here: every task fails the same way
        tb = traceback.format_exc()
        return [("error", i, k, _failure(i, k, p, exc, tb, host), 0.0) for i, k, p in items]
    out = []
    for idx, key, params in items:
        t0 = time.perf_counter()
        try:
            rng = np.random.default_rng(_task_seedseq(entropy, spawn_key, key))
            res = fn(json.loads(json.dumps(params)), rng)
            out.append(("ok", idx, key, _record_table(res, params, idx), time.perf_counter() - t0))
        except Exception as exc:
            tb = traceback.format_exc()
            out.append(("error", idx, key, _failure(idx, key, params, exc, tb, host), time.perf_counter() - t0))
    return out


# ----------------------------------------------------------------------------------------------
# stores
# ----------------------------------------------------------------------------------------------


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _concat(tables: list[pa.Table]) -> pa.Table:
    return pa.concat_tables(tables, promote_options="permissive")


class _Store:
    """Results of one sweep: in memory (``path=None``) or a directory on disk."""

    def __init__(self, path: Path | None, grid: _Grid):
        self.path = path
        self.grid = grid
        self.tables: list[pa.Table] = []
        self.task_columns: dict[int, list[str]] = {}
        self.failures: dict[int, dict] = {}
        self.repaired: list[str] = []

    # -- layout -----------------------------------------------------------------------------
    @property
    def chunk_dir(self) -> Path:
        return self.path / "chunks"

    @property
    def failure_dir(self) -> Path:
        return self.path / "failures"

    @staticmethod
    def read_manifest(path: Path) -> dict:
        try:
            with open(path / "manifest.json") as fh:
                return json.load(fh)
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"store '{path}' has no readable manifest.json ({exc})") from exc

    @classmethod
    def open(cls, path: Path) -> _Store:
        """Open an existing store from its manifest and grid alone (for status/loading)."""
        path = Path(path)
        man = cls.read_manifest(path)
        if man.get("format") != FORMAT:
            raise ValueError(f"store '{path}' has format {man.get('format')!r}, expected {FORMAT!r}")
        with open(path / "grid.json") as fh:
            grid = _Grid.build(json.load(fh))
        if grid.hash != man["grid_hash"]:
            raise ValueError(f"store '{path}': grid.json does not match the manifest's grid hash")
        store = cls(path, grid)
        store.manifest = man
        store.scan()
        return store

    def create_or_check(self, seed_rec: dict | None, fn_name: str) -> dict:
        """Create the store, or check that an existing one belongs to this grid and seed.

        Returns the seed record in force (``seed_rec=None`` adopts the store's seed).
        """
        path = self.path
        man_file = path / "manifest.json"
        if man_file.exists():
            man = self.read_manifest(path)
            if man.get("format") != FORMAT:
                raise ValueError(f"store '{path}' has format {man.get('format')!r}, expected {FORMAT!r}")
            if man["grid_hash"] != self.grid.hash:
                raise ValueError(
                    f"store '{path}' was made by a different grid ({man.get('n_tasks')} tasks, hash "
                    f"{man['grid_hash'][:12]}) than the one given ({len(self.grid.keys)} tasks, hash "
                    f"{self.grid.hash[:12]}); results are never mixed -- use a new store path "
                    "or delete the old one"
                )
            if seed_rec is None:
                seed_rec = man["seed"]
            elif man["seed"] != seed_rec:
                raise ValueError(
                    f"store '{path}' was made with seed {man['seed']} but this sweep has seed "
                    f"{seed_rec}; results are never mixed -- pass the store's seed, or use a new store"
                )
            from mesoscale import __version__

            if man.get("mesoscale_version") != __version__:
                warnings.warn(
                    f"store '{path}' was written by mesoscale {man.get('mesoscale_version')}, "
                    f"this is {__version__}",
                    SweepWarning,
                    stacklevel=3,
                )
            if man.get("fn") != fn_name:
                warnings.warn(
                    f"store '{path}' was made by function {man.get('fn')!r}; continuing it with {fn_name!r}",
                    SweepWarning,
                    stacklevel=3,
                )
            self.manifest = man
        else:
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise ValueError(
                    f"store '{path}' exists and is not a sweep store (no manifest.json); "
                    "give a new or empty directory"
                )
            if seed_rec is None:
                seed_rec = _seed_record(None)
            from mesoscale import __version__

            path.mkdir(parents=True, exist_ok=True)
            self.chunk_dir.mkdir(exist_ok=True)
            self.failure_dir.mkdir(exist_ok=True)
            _atomic_write_bytes(path / "grid.json", json.dumps(self.grid.params, indent=0).encode())
            man = {
                "format": FORMAT,
                "grid_hash": self.grid.hash,
                "n_tasks": len(self.grid.keys),
                "seed": seed_rec,
                "fn": fn_name,
                "mesoscale_version": __version__,
                "numpy_version": np.__version__,
                "python": sys.version.split()[0],
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            _atomic_write_bytes(man_file, json.dumps(man, indent=2).encode())
            self.manifest = man
        self.scan()
        return seed_rec

    # -- reading ----------------------------------------------------------------------------
    def _quarantine(self, file: Path, why: str) -> None:
        dest = self.path / "corrupt"
        dest.mkdir(exist_ok=True)
        os.replace(file, dest / file.name)
        self.repaired.append(f"{file.name}: {why}")
        warnings.warn(
            f"store '{self.path}': chunk {file.name} is unusable ({why}); moved to corrupt/ and its "
            "tasks will be recomputed",
            SweepWarning,
            stacklevel=4,
        )

    def scan(self) -> None:
        """Read every chunk and failure record; set aside unusable chunks."""
        self.tables, self.task_columns, self.failures = [], {}, {}
        if self.path is None:
            return
        for tmp in self.chunk_dir.glob(".*.tmp"):  # a write that never reached its rename
            tmp.unlink(missing_ok=True)
        keys = self.grid.keys
        for file in sorted(self.chunk_dir.glob("*.parquet")):
            try:
                table = pq.read_table(file)
                meta = json.loads((table.schema.metadata or {})[_META_KEY])
                tasks = meta["tasks"]
                if meta.get("grid_hash") != self.grid.hash:
                    raise ValueError("written for another grid")
                for idx, key, nrows, _cols in tasks:
                    if not (0 <= idx < len(keys)) or keys[idx] != key:
                        raise ValueError(f"task {idx} does not match the grid")
                if sum(t[2] for t in tasks) != table.num_rows:
                    raise ValueError("row count does not match its task list")
                counts = pc.value_counts(table.column(_TASK_COL)).to_pylist() if table.num_rows else []
                have = {c["values"]: c["counts"] for c in counts}
                if any(have.get(idx, 0) != nrows for idx, _k, nrows, _c in tasks):
                    raise ValueError("rows do not match its task list")
            except Exception as exc:  # noqa: BLE001 - any defect means: recompute
                self._quarantine(file, f"{type(exc).__name__}: {exc}")
                continue
            dup = [t[0] for t in tasks if t[0] in self.task_columns]
            if dup:
                warnings.warn(
                    f"store '{self.path}': chunk {file.name} repeats {len(dup)} task(s) already "
                    "stored; the first copy is kept",
                    SweepWarning,
                    stacklevel=3,
                )
                mask = pc.invert(pc.is_in(table.column(_TASK_COL), pa.array(dup, pa.int64())))
                table = table.filter(mask)
            for idx, _key, _n, cols in tasks:
                self.task_columns.setdefault(idx, cols)
            self.tables.append(table)
        for file in sorted(self.failure_dir.glob("*.json")):
            try:
                with open(file) as fh:
                    for rec in json.load(fh):
                        i = rec["task"]
                        if 0 <= i < len(keys) and keys[i] == rec["key"]:
                            old = self.failures.get(i)
                            if old is None or old["time"] <= rec["time"]:
                                self.failures[i] = rec
            except (OSError, ValueError, KeyError, TypeError):
                continue
        for i in list(self.failures):
            if i in self.task_columns:
                del self.failures[i]

    # -- writing ----------------------------------------------------------------------------
    def add(self, oks: list[tuple[int, str, pa.Table]]) -> None:
        if not oks:
            return
        tasks = [[i, k, t.num_rows, [c for c in t.column_names if c not in _RESERVED]] for i, k, t in oks]
        tabs = [t for _i, _k, t in oks]
        try:
            table = _concat(tabs)
            groups = [(tasks, table)]
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            groups = [([tk], t) for tk, t in zip(tasks, tabs)]  # incompatible types: one chunk each
        for tasks_g, table_g in groups:
            if self.path is not None:
                meta = {"grid_hash": self.grid.hash, "tasks": tasks_g}
                table_g = table_g.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
                first = tasks_g[0][0]
                file = self.chunk_dir / f"part-{first:08d}-{uuid.uuid4().hex[:10]}.parquet"
                sink = pa.BufferOutputStream()
                pq.write_table(table_g, sink)
                _atomic_write_bytes(file, sink.getvalue().to_pybytes())
            self.tables.append(table_g)
            for idx, _key, _n, cols in tasks_g:
                self.task_columns[idx] = cols
                self.failures.pop(idx, None)

    def add_failures(self, fails: list[dict]) -> None:
        if not fails:
            return
        if self.path is not None:
            file = self.failure_dir / f"fail-{int(time.time() * 1000):013d}-{uuid.uuid4().hex[:8]}.json"
            _atomic_write_bytes(file, json.dumps(fails, default=str).encode())
        for f in fails:
            self.failures[f["task"]] = f

    # -- assembling -------------------------------------------------------------------------
    def dataframe(self) -> pd.DataFrame:
        params = pd.DataFrame.from_records(self.grid.params)
        order: dict[str, None] = {}
        for idx in sorted(self.task_columns):
            for c in self.task_columns[idx]:
                order.setdefault(c, None)
        tables = [t for t in self.tables if t.num_rows]
        if not tables:
            out = params.iloc[[]].reset_index(drop=True)
            for c in order:
                if c not in out.columns:
                    out[c] = pd.Series(dtype=object)
            return out
        try:
            table = _concat(tables)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            table = None  # a column holds incompatible types in different tasks: assemble in pandas
        if table is not None:
            table = table.take(pc.sort_indices(table, [(_TASK_COL, "ascending"), (_ROW_COL, "ascending")]))
            task_ids = table.column(_TASK_COL).to_numpy()
            rec = table.select(list(order)).to_pandas()
        else:
            frames = pd.concat([t.to_pandas() for t in tables], ignore_index=True)
            frames = frames.sort_values([_TASK_COL, _ROW_COL], kind="stable")
            task_ids = frames[_TASK_COL].to_numpy()
            rec = frames[list(order)]
        clash = [c for c in rec.columns if c in params.columns]
        if clash:  # a record column named like a parameter that this task did not have
            rec = rec.rename(columns={c: f"{c}_record" for c in clash})
        left = params.iloc[task_ids].reset_index(drop=True)
        return pd.concat([left, rec.reset_index(drop=True)], axis=1)

    def failures_frame(self) -> pd.DataFrame:
        rows = []
        for i in sorted(self.failures):
            f = self.failures[i]
            rows.append({**self.grid.params[i], **{f"_{k}": f[k] for k in ("task", "error", "message", "traceback")}})
        cols = ["_task", "_error", "_message", "_traceback"]
        return pd.DataFrame(rows) if rows else pd.DataFrame(columns=cols)


# ----------------------------------------------------------------------------------------------
# execution
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class SweepSummary:
    """What a call of :func:`run_sweep` did (also in ``df.attrs["sweep"]`` as a dict).

    ``task_s`` is the sum of the run times of this call's tasks as measured where they
    ran, so ``task_s / (workers * elapsed_s)`` is the parallel efficiency.
    """

    n_tasks: int
    n_done_before: int
    n_computed: int
    n_failed: int
    n_skipped_failed: int
    n_rows: int
    elapsed_s: float
    task_s: float
    mode: str
    store: str | None
    seed: dict
    failures: list[dict]

    def __str__(self) -> str:
        s = (
            f"sweep: {self.n_tasks} tasks ({self.n_done_before} already stored, {self.n_computed} computed, "
            f"{self.n_failed} failed"
        )
        if self.n_skipped_failed:
            s += f", {self.n_skipped_failed} earlier failures not retried"
        s += f") -> {self.n_rows} rows in {self.elapsed_s:.1f} s [{self.mode}]"
        if self.store:
            s += f"; store {self.store}"
        return s


class _Planner:
    """Hand out batches of task indices; size them to ~_TARGET_BATCH_S unless fixed."""

    def __init__(self, todo: list[int], batch_size: int | None):
        self.queue = deque(todo)
        self.retry: deque[int] = deque()
        self.fixed = batch_size
        self.recent: deque[float] = deque(maxlen=256)  # recent task times: warm-up drops out

    def observe(self, durations: list[float]) -> None:
        self.recent.extend(float(d) for d in durations)

    def __bool__(self) -> bool:
        return bool(self.queue or self.retry)

    def next(self, n_workers: int) -> list[int]:
        if self.retry:  # tasks whose worker died run one per batch, to isolate a culprit
            return [self.retry.popleft()]
        if not self.queue:
            return []
        if self.fixed:
            b = self.fixed
        elif not self.recent:
            b = 1
        else:
            mean = max(sum(self.recent) / len(self.recent), 1e-6)
            # ~_TARGET_BATCH_S per batch; near the end, share what is left evenly between the
            # workers, but never below ~1/5 of the target (tiny batches cost a round trip each)
            even = math.ceil(len(self.queue) / (2 * max(n_workers, 1)))
            floor = int(0.2 * _TARGET_BATCH_S / mean)
            b = max(1, min(int(_TARGET_BATCH_S / mean), _MAX_BATCH, max(even, floor)))
        return [self.queue.popleft() for _ in range(min(b, len(self.queue)))]


def _make_client(client, scheduler, n_workers):
    """Return ``(mode, client_or_None, things_to_close)``."""
    if isinstance(client, str):
        if client.lower() in _INLINE_NAMES:
            return "inline", None, []
        raise ValueError(f"client must be a dask Client, a cluster, None or 'inline'; got {client!r}")
    if client is not None:
        from distributed import Client

        if isinstance(client, Client):
            return "dask", client, []
        if hasattr(client, "scheduler_address"):  # a cluster object (LocalCluster, SLURMCluster, ...)
            c = Client(client)
            return "dask", c, [c]
        raise TypeError(f"client must be a dask Client, a cluster, None or 'inline'; got {type(client).__name__}")
    if scheduler is None:
        scheduler = os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be a string (address, 'local', 'slurm', 'synchronous'); got {scheduler!r}")
    from distributed import Client, LocalCluster

    if scheduler is not None and scheduler.lower() in _INLINE_NAMES:
        return "inline", None, []
    if scheduler is None or scheduler.lower() in _LOCAL_NAMES:
        n = n_workers or os.cpu_count() or 1
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # loopback, any free port: never clashes with 8787
            silence_logs=logging.ERROR,
        )
        c = Client(cluster)
        return "local", c, [c, cluster]
    if scheduler.lower() == "slurm":
        try:
            from dask_jobqueue import SLURMCluster
        except ImportError as exc:  # pragma: no cover - dask-jobqueue is a dependency
            raise ImportError("scheduler='slurm' needs dask-jobqueue") from exc
        cluster = SLURMCluster()
        cluster.scale(jobs=n_workers or 1)
        c = Client(cluster)
        return "slurm", c, [c, cluster]
    if scheduler.endswith(".json") and os.path.exists(scheduler):
        c = Client(scheduler_file=scheduler, timeout=60)
        return "dask", c, [c]
    if "://" in scheduler or ":" in scheduler:
        c = Client(scheduler, timeout=60)
        return "dask", c, [c]
    raise ValueError(
        f"scheduler must be None, 'local', 'synchronous', 'slurm', an address such as "
        f"'tcp://127.0.0.1:8786' or a scheduler-file path; got {scheduler!r}"
    )


def run_sweep(
    fn: Callable,
    grid,
    store=None,
    *,
    client=None,
    scheduler: str | None = None,
    seed: SeedLike = 0,
    batch_size: int | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    n_workers: int | None = None,
    resources: dict | None = None,
    max_resubmits: int = 2,
) -> pd.DataFrame:
    """Run ``fn`` over every parameter set of ``grid`` and return the results as one table.

    Parameters
    ----------
    fn : callable
        ``fn(params, rng)`` with ``params`` a dict (a fresh copy, in canonical JSON form:
        tuples arrive as lists) and ``rng`` the task's own :class:`numpy.random.Generator`.
        Returns a dict (one row), a list of dicts, or a :class:`pandas.DataFrame` (its
        index is dropped). Values: scalars, strings, or 1-D lists/arrays. It must be
        picklable by cloudpickle (module-level functions, closures and notebook
        functions are).
    grid : list of dict or dict of lists
        The parameter sets, e.g. from :func:`grid_product`; a dict of lists is taken as
        ``grid_product(**grid)``. Parameter sets must be distinct.
    store : str, path or None
        Directory of a persistent store, created if needed (must then be new or empty),
        or ``None`` to keep everything in memory.
    client : dask Client, dask cluster, 'inline' or None
        An existing client (it is left open) or cluster; ``'inline'`` runs every task
        in this process, without Dask (same results).
    scheduler : str, optional
        When ``client`` is None: ``None``/``'local'`` starts a ``LocalCluster`` with
        ``n_workers`` processes (default: one per core) on loopback and closes it at the
        end -- unless ``DASK_SCHEDULER_ADDRESS`` is set, which is then used;
        ``'tcp://host:port'`` (or a scheduler-file ``.json`` path) connects to a running
        scheduler; ``'slurm'`` starts a dask-jobqueue ``SLURMCluster`` from the dask
        configuration with ``n_workers`` jobs; ``'synchronous'`` is ``client='inline'``.
    seed : int, SeedSequence or None
        Root of every task's random stream (see the module docstring). ``None``
        continues an existing store with its own seed, or draws fresh entropy.
    batch_size : int, optional
        Tasks per Dask task. By default it is adapted so a batch lasts ~0.5 s.
    progress : bool
        Show a tqdm progress bar and print a summary at the end.
    retry_failed : bool
        Also rerun tasks recorded as failed in the store (otherwise they are left as
        they are and reported).
    n_workers : int, optional
        Worker processes of a local cluster, or SLURM jobs for ``scheduler='slurm'``.
    resources : dict, optional
        Dask worker resources each batch needs, e.g. ``{"GPU": 1}`` with workers
        started with ``--resources GPU=1``.
    max_resubmits : int
        How often a batch whose worker died is resubmitted (task by task) before its
        tasks are recorded as failed.

    Returns
    -------
    pandas.DataFrame
        One row per record: the parameter columns (canonical values) then the
        record's columns, in grid order (records of one task in their own order).
        Failed tasks have no rows. ``df.attrs["sweep"]`` holds the
        :class:`SweepSummary` as a dict, including the failures.

    Raises
    ------
    ValueError
        Bad grid, or a store made by another grid or seed.

    Warns
    -----
    SweepWarning
        When tasks failed, or a store needed repair.

    Examples
    --------
    >>> def trial(params, rng):
    ...     x = rng.normal(params["mu"], 1.0, size=100)
    ...     return {"mean": x.mean()}
    >>> grid = grid_product(mu=[0.0, 5.0], rep=range(2))
    >>> a = run_sweep(trial, grid, None, client="inline", seed=3, progress=False)
    >>> b = run_sweep(trial, grid[::-1], None, client="inline", seed=3, progress=False)
    >>> a.set_index(["mu", "rep"]).sort_index().equals(b.set_index(["mu", "rep"]).sort_index())
    True
    """
    t_start = time.perf_counter()
    if not callable(fn):
        raise TypeError(f"fn must be callable as fn(params, rng); got {fn!r}")
    g = _Grid.build(grid)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
    if n_workers is not None:
        n_workers = check_int(n_workers, "n_workers", minimum=1)
    max_resubmits = check_int(max_resubmits, "max_resubmits", minimum=0)
    if resources is not None and not isinstance(resources, Mapping):
        raise TypeError(f"resources must be a dict such as {{'GPU': 1}}; got {resources!r}")
    if isinstance(seed, np.random.Generator):
        raise TypeError(
            "seed must be an int, a SeedSequence or None for a sweep (a Generator's state "
            "cannot be recorded in the store's manifest)"
        )
    if store is not None and not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"store must be a directory path or None; got {store!r}")

    st = _Store(Path(store) if store is not None else None, g)
    fname = _fn_name(fn)
    if st.path is not None:
        seed_rec = st.create_or_check(_seed_record(seed) if seed is not None else None, fname)
    else:
        seed_rec = _seed_record(seed)
    entropy, spawn_key = seed_rec["entropy"], tuple(seed_rec["spawn_key"])

    done_before = set(st.task_columns)
    failed_before = set(st.failures)
    todo = [
        i for i in range(len(g.keys)) if i not in done_before and (retry_failed or i not in failed_before)
    ]
    skipped = 0 if retry_failed else len(failed_before)

    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(g.keys),
        initial=len(done_before),
        desc="sweep",
        unit="task",
        disable=not progress,
        dynamic_ncols=True,
    )
    n_failed = 0
    task_s = 0.0
    mode = "nothing to do"
    planner = _Planner(todo, batch_size)

    def record(results):
        nonlocal n_failed, task_s
        oks = [(i, k, payload) for status, i, k, payload, _dt in results if status == "ok"]
        fails = [payload for status, _i, _k, payload, _dt in results if status == "error"]
        st.add(oks)
        st.add_failures(fails)
        n_failed += len(fails)
        planner.observe([dt for status, *_rest, dt in results if status == "ok"])
        task_s += sum(r[-1] for r in results)
        bar.update(len(results))
        if n_failed:
            bar.set_postfix(failed=n_failed, refresh=False)

    def items_of(batch):
        return [(i, g.keys[i], g.params[i]) for i in batch]

    closers: list = []
    try:
        if todo:
            mode, dclient, closers = _make_client(client, scheduler, n_workers)
            if mode == "inline":
                while planner:
                    record(_run_batch(fn, items_of(planner.next(1)), entropy, spawn_key))
            else:
                _run_dask(dclient, fn, planner, items_of, record, entropy, spawn_key, resources, max_resubmits, g)
    finally:
        bar.close()
        for c in closers:
            try:
                c.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    df = st.dataframe()
    summary = SweepSummary(
        n_tasks=len(g.keys),
        n_done_before=len(done_before),
        n_computed=len(todo) - n_failed,
        n_failed=n_failed,
        n_skipped_failed=skipped,
        n_rows=len(df),
        elapsed_s=time.perf_counter() - t_start,
        task_s=task_s,
        mode=mode,
        store=str(st.path) if st.path is not None else None,
        seed=seed_rec,
        failures=[st.failures[i] for i in sorted(st.failures)],
    )
    df.attrs["sweep"] = dataclasses.asdict(summary)
    if progress:
        print(summary)
    if st.failures:
        first = st.failures[min(st.failures)]
        warnings.warn(
            f"{len(st.failures)} of {len(g.keys)} sweep tasks failed (first: task {first['task']} "
            f"{first['params']}: {first['error']}: {first['message']}); see df.attrs['sweep']['failures']"
            + (f" or load_failures('{st.path}')" if st.path is not None else "")
            + "; rerun with retry_failed=True to retry them",
            SweepWarning,
            stacklevel=2,
        )
    return df


def _run_dask(client, fn, planner, items_of, record, entropy, spawn_key, resources, max_resubmits, g):
    import cloudpickle
    from distributed import as_completed

    payload = cloudpickle.dumps(fn)
    resubmits: dict[int, int] = {}
    inflight: dict = {}
    last_info = [0.0, 1]

    def n_workers() -> int:
        now = time.monotonic()
        if now - last_info[0] > 2.0:
            try:
                last_info[1] = max(len(client.scheduler_info()["workers"]), 1)
            except Exception:  # noqa: BLE001
                pass
            last_info[0] = now
        return last_info[1]

    ac = as_completed()

    def fill():
        nw = n_workers()
        while planner and len(inflight) < 2 * nw:
            batch = planner.next(nw)
            fut = client.submit(
                _run_batch,
                payload,
                items_of(batch),
                entropy,
                spawn_key,
                pure=False,
                key=f"sweep-batch-{batch[0]}-{uuid.uuid4().hex[:8]}",
                resources=resources,
            )
            inflight[fut.key] = (fut, batch)
            ac.add(fut)

    fill()
    try:
        for fut in ac:
            _f, batch = inflight.pop(fut.key)
            if fut.status == "finished":
                record(fut.result())
            else:
                exc = fut.exception()
                tb = "".join(traceback.format_exception(exc))
                infra = type(exc).__name__ in _INFRA_ERRORS
                results = []
                for i in batch:
                    if infra and resubmits.get(i, 0) < max_resubmits:
                        resubmits[i] = resubmits.get(i, 0) + 1
                        planner.retry.append(i)
                    else:
                        f = _failure(i, g.keys[i], g.params[i], exc, tb, "dask")
                        results.append(("error", i, g.keys[i], f, 0.0))
                if results:
                    record(results)
            fut.release()
            fill()
    except BaseException:
        for fut, _b in inflight.values():
            fut.cancel()
        raise


# ----------------------------------------------------------------------------------------------
# reading stores
# ----------------------------------------------------------------------------------------------


def _check_store_path(store) -> Path:
    if not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"store must be a directory path; got {store!r}")
    path = Path(store)
    if not (path / "manifest.json").exists():
        raise ValueError(f"store '{path}' is not a sweep store (no manifest.json)")
    return path


def load_sweep(store) -> pd.DataFrame:
    """Return the table of a store as :func:`run_sweep` would (without running anything).

    Missing and failed tasks have no rows; see :func:`sweep_status`.
    """
    return _Store.open(_check_store_path(store)).dataframe()


def load_failures(store) -> pd.DataFrame:
    """Return the failed tasks of a store: parameters, ``_task``, ``_error``, ``_message``, ``_traceback``."""
    return _Store.open(_check_store_path(store)).failures_frame()


def sweep_status(store) -> dict:
    """Return a store's manifest with counts of done, failed and missing tasks and stored rows.

    Examples
    --------
    >>> import tempfile, os
    >>> d = os.path.join(tempfile.mkdtemp(), "s")
    >>> _ = run_sweep(lambda p, rng: {"y": p["x"] ** 2}, grid_product(x=[1, 2, 3]), d,
    ...               client="inline", progress=False)
    >>> s = sweep_status(d); (s["n_tasks"], s["n_done"], s["n_missing"])
    (3, 3, 0)
    """
    st = _Store.open(_check_store_path(store))
    n = len(st.grid.keys)
    done = len(st.task_columns)
    return {
        **st.manifest,
        "store": str(st.path),
        "n_done": done,
        "n_failed": len(st.failures),
        "n_missing": n - done - len(st.failures),
        "n_rows": int(sum(t.num_rows for t in st.tables)),
        "n_chunks": len(st.tables),
        "repaired": st.repaired,
    }


# ----------------------------------------------------------------------------------------------
# command line: `mesoscale sweep ...`
# ----------------------------------------------------------------------------------------------


def _import_callable(spec: str) -> Callable:
    if ":" not in spec:
        raise ValueError(f"function must be given as 'module:function' or 'path/file.py:function'; got {spec!r}")
    mod_name, _, attr = spec.rpartition(":")
    if mod_name.endswith(".py") or os.sep in mod_name:
        path = Path(mod_name)
        if not path.exists():
            raise ValueError(f"function file {str(path)!r} does not exist")
        name = f"_mesoscale_sweep_{path.stem}"
        spec_ = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec_)
        sys.modules[name] = module
        spec_.loader.exec_module(module)
        import cloudpickle

        cloudpickle.register_pickle_by_value(module)  # workers need not import the file
    else:
        module = importlib.import_module(mod_name)
    obj = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ValueError(f"{mod_name!r} has no attribute {attr!r}")
    if not callable(obj):
        raise TypeError(f"{spec!r} is not callable")
    return obj


def read_grid_file(path) -> tuple[list[dict], dict]:
    """Read a grid from YAML/JSON: ``{axes: {...}}`` (product), ``{tasks: [...]}`` or a list.

    A top-level mapping without ``axes``/``tasks`` is taken as the axes. Other top-level
    keys (``seed``, ``batch_size``) are returned as options.
    """
    import yaml

    with open(path) as fh:
        doc = yaml.safe_load(fh)
    if isinstance(doc, list):
        return doc, {}
    if not isinstance(doc, Mapping):
        raise ValueError(f"grid file {str(path)!r} must hold a mapping or a list; got {type(doc).__name__}")
    doc = dict(doc)
    options = {k: doc.pop(k) for k in ("seed", "batch_size") if k in doc}
    if "axes" in doc and "tasks" in doc:
        raise ValueError(f"grid file {str(path)!r} has both 'axes' and 'tasks'; give one")
    if "tasks" in doc:
        return list(doc["tasks"]), options
    axes = doc.get("axes", doc)
    if not isinstance(axes, Mapping) or not axes:
        raise ValueError(f"grid file {str(path)!r}: 'axes' must be a non-empty mapping of name: [values]")
    return grid_product(**axes), options


def register_cli(subparsers) -> argparse.ArgumentParser:
    """Add the ``sweep`` command (``run``, ``status``, ``failures``, ``export``) to ``subparsers``.

    The handler is stored as the parser default ``func``: call ``args.func(args)``,
    which returns the exit code.
    """
    p = subparsers.add_parser("sweep", help="run and inspect persistent parameter sweeps")
    sub = p.add_subparsers(dest="sweep_command", required=True)

    r = sub.add_parser("run", help="run module:function over a grid into a store")
    r.add_argument("function", help="'package.module:function' or 'path/to/file.py:function'")
    r.add_argument("--grid", required=True, help="YAML/JSON grid file ({axes: {...}} or {tasks: [...]})")
    r.add_argument("--store", required=True, help="store directory (created or continued)")
    r.add_argument("--scheduler", default=None, help="local | synchronous | slurm | tcp://host:port | file.json")
    r.add_argument("--n-workers", type=int, default=None, help="local worker processes / SLURM jobs")
    r.add_argument("--seed", type=int, default=None, help="root seed (default: the grid file's, else 0)")
    r.add_argument("--batch-size", type=int, default=None, help="tasks per batch (default: adaptive)")
    r.add_argument("--retry-failed", action="store_true", help="rerun tasks recorded as failed")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")

    s = sub.add_parser("status", help="print a store's manifest and counts")
    s.add_argument("store")
    s.add_argument("--json", action="store_true", help="print JSON")

    f = sub.add_parser("failures", help="print the failed tasks of a store")
    f.add_argument("store")
    f.add_argument("--traceback", action="store_true", help="print full tracebacks")

    e = sub.add_parser("export", help="write a store's table to .csv or .parquet")
    e.add_argument("store")
    e.add_argument("output")
    p.set_defaults(func=cli_handler)
    return p


def cli_handler(args: argparse.Namespace) -> int:
    """Run the ``mesoscale sweep ...`` command described by ``args``; return the exit code.

    Bad input (a refused store, a wrong grid file, an unknown function) is reported in
    one line on stderr with exit code 2.
    """
    try:
        return _cli(args)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        print(f"mesoscale sweep: error: {exc}", file=sys.stderr)
        return 2


def _cli(args: argparse.Namespace) -> int:
    cmd = args.sweep_command
    if cmd == "run":
        fn = _import_callable(args.function)
        grid, options = read_grid_file(args.grid)
        seed = args.seed if args.seed is not None else options.get("seed", 0)
        batch = args.batch_size if args.batch_size is not None else options.get("batch_size")
        df = run_sweep(
            fn,
            grid,
            args.store,
            scheduler=args.scheduler,
            seed=seed,
            batch_size=batch,
            progress=not args.no_progress,
            retry_failed=args.retry_failed,
            n_workers=args.n_workers,
        )
        if args.no_progress:
            print(SweepSummary(**df.attrs["sweep"]))
        return 1 if df.attrs["sweep"]["failures"] else 0
    if cmd == "status":
        st = sweep_status(args.store)
        if args.json:
            print(json.dumps(st, indent=2, default=str))
        else:
            print(
                f"store {st['store']}: {st['n_tasks']} tasks -- {st['n_done']} done, {st['n_failed']} failed, "
                f"{st['n_missing']} missing; {st['n_rows']} rows in {st['n_chunks']} chunks\n"
                f"fn {st['fn']}, seed {st['seed']}, grid {st['grid_hash'][:12]}, "
                f"mesoscale {st['mesoscale_version']}, created {st['created']}"
            )
        return 0
    if cmd == "failures":
        fails = load_failures(args.store)
        if fails.empty:
            print("no failed tasks")
            return 0
        for _, row in fails.iterrows():
            params = {k: v for k, v in row.items() if not str(k).startswith("_")}
            print(f"task {row['_task']} {params}: {row['_error']}: {row['_message']}")
            if args.traceback:
                print(row["_traceback"])
        return 1
    if cmd == "export":
        df = load_sweep(args.store)
        out = str(args.output)
        if out.endswith(".csv"):
            df.to_csv(out, index=False)
        elif out.endswith(".parquet"):
            df.to_parquet(out, index=False)
        else:
            raise ValueError(f"output must end in .csv or .parquet; got {out!r}")
        print(f"wrote {len(df)} rows to {out}")
        return 0
    raise ValueError(f"unknown sweep command {cmd!r}")  # pragma: no cover - argparse guards this


def main(argv=None) -> int:
    """Entry point of ``python -m mesoscale.sweep`` (same as ``mesoscale sweep``)."""
    parser = argparse.ArgumentParser(prog="mesoscale")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
