"""The results of one sweep: in memory or a directory of Parquet chunks, and reading it back."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import sys
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ._keys import _META_KEY, _RESERVED, _TASK_COL, _ROW_COL, FORMAT, SweepWarning, _Grid, _KeyIndex, _seed_record

def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _concat(tables: list[pa.Table]) -> pa.Table:
    return pa.concat_tables(tables, promote_options="permissive")


_JOURNAL = "compaction.json"
_IDLE = {"generation": 0, "state": "idle", "old": [], "new": []}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _journal_text(path: Path) -> str:
    try:
        return (path / _JOURNAL).read_text()
    except FileNotFoundError:
        return ""


def _read_journal(path: Path) -> dict:
    text = _journal_text(path)
    return json.loads(text) if text else dict(_IDLE)


def _write_journal(path: Path, journal: dict) -> None:
    _atomic_write_bytes(path / _JOURNAL, json.dumps(journal).encode())
    _fsync_dir(path)


def _try_lock(path: Path):
    """The store's compaction lock (an open file holding ``flock``), or None if another process holds it."""
    fh = open(path / ".compact.lock", "a+")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


def _kill_point(name: str) -> None:
    """Crash-test hook: SIGKILL this process at step ``name`` of a compaction (tests set the variable)."""
    if os.environ.get("MESOSCALE_SWEEP_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


class _Store:
    """Results of one sweep: in memory (``path=None``) or a directory on disk."""

    def __init__(self, path: Path | None, grid: _Grid):
        self.path = path
        self.grid = grid
        self.tables: list[pa.Table] = []
        self.task_columns: dict[int, list[str]] = {}
        self.failures: dict[int, dict] = {}
        self.repaired: list[str] = []
        self.files: list[str] = []  # chunk file names, parallel to file_tasks
        self.file_tasks: list[list] = []
        self.n_rows = 0

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

    @staticmethod
    def _key_index(path: Path, man: dict, grid_bytes: bytes) -> _KeyIndex | None:
        """The store's ``keys.bin`` when it provably belongs to its ``grid.json``, else None."""
        index = path / "keys.bin"
        n = man.get("n_tasks")
        if (
            not isinstance(n, int)
            or man.get("grid_file_sha256") != hashlib.sha256(grid_bytes).hexdigest()
            or not index.is_file()
            or index.stat().st_size != 32 * n
        ):
            return None
        data = index.read_bytes()
        if man.get("keys_sha256") != hashlib.sha256(data).hexdigest():
            return None
        return _KeyIndex(np.frombuffer(data, dtype=np.uint8).reshape(n, 32), man["grid_hash"])

    @classmethod
    def open(cls, path: Path, rows: bool = True, _locked: bool = False) -> _Store:
        """Open an existing store from its manifest and grid alone (for status/loading).

        ``rows=False`` (status) reads the task keys from ``keys.bin`` when the manifest's
        checksums vouch for it, instead of rebuilding them from every parameter set.
        """
        path = Path(path)
        man = cls.read_manifest(path)
        if man.get("format") != FORMAT:
            raise ValueError(f"store '{path}' has format {man.get('format')!r}, expected {FORMAT!r}")
        grid_bytes = (path / "grid.json").read_bytes()
        grid = None if rows else cls._key_index(path, man, grid_bytes)
        if grid is None:
            grid = _Grid.build(json.loads(grid_bytes))
            if grid.hash != man["grid_hash"]:
                raise ValueError(f"store '{path}': grid.json does not match the manifest's grid hash")
        store = cls(path, grid)
        store.manifest = man
        store.scan(rows, _locked)
        return store

    def create_or_check(self, seed_rec: dict | None, fn_name: str, fn_arguments: str | None = None) -> dict:
        """Create the store, or check that an existing one belongs to this grid, seed and fixed arguments.

        ``fn_arguments`` is the digest of the arguments fixed in the task (``_keys._fn_arguments``);
        a store that recorded another one is refused (a store older than the record is not checked).

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
                    f"{man['grid_hash'][:12]}) than the one given ({self.grid.n_tasks} tasks, hash "
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
            recorded = man.get("fn_arguments")
            if recorded is not None and fn_arguments is not None and recorded != fn_arguments:
                raise ValueError(
                    f"store '{path}' was made by {man.get('fn')!r} with other fixed arguments (digest "
                    f"{recorded[:12]}) than this sweep's ({fn_arguments[:12]}): another model, target or setting; "
                    "results are never mixed -- use a new store path or delete the old one"
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
            grid_bytes = json.dumps(self.grid.params, indent=0).encode()
            digests = self.grid.digests()
            _atomic_write_bytes(path / "grid.json", grid_bytes)
            _atomic_write_bytes(path / "keys.bin", digests)  # the task keys, for a fast status
            man = {
                "format": FORMAT,
                "grid_hash": self.grid.hash,
                "grid_file_sha256": hashlib.sha256(grid_bytes).hexdigest(),
                "keys_sha256": hashlib.sha256(digests).hexdigest(),
                "n_tasks": self.grid.n_tasks,
                "seed": seed_rec,
                "fn": fn_name,
                "fn_arguments": fn_arguments,
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

    def scan(self, rows: bool = True, _locked: bool = False) -> None:
        """Read every chunk and failure record; set aside unusable chunks.

        ``rows=False`` reads only the chunks' footers (task lists and row counts), for status.
        A compaction in progress (``compaction.json``) is honoured: its new chunks count only
        once it has committed, its old chunks only until then; a dead one is rolled back or
        forward first. The scan is repeated if a compaction changed state while it ran.
        """
        self.tables, self.task_columns, self.failures = [], {}, {}
        self.files, self.file_tasks, self.n_rows = [], [], 0
        if self.path is None:
            return
        self._recover(_locked)
        for _attempt in range(100):
            before = _journal_text(self.path)
            try:
                self._scan_once(json.loads(before) if before else _IDLE, rows)
            except FileNotFoundError:  # a concurrent compaction removed a chunk: look again
                time.sleep(0.01)
                continue
            if _journal_text(self.path) == before:
                return
        raise RuntimeError(f"store '{self.path}' keeps changing under a compaction; try again")

    def _recover(self, locked: bool) -> None:
        """Roll a dead compaction forward (committed) or back (prepared); remove its temporaries."""
        journal = _read_journal(self.path)
        leftovers = list(self.chunk_dir.glob(".compact-*"))
        if journal["state"] == "idle" and not leftovers:
            return
        with contextlib.ExitStack() as stack:
            if not locked:
                lock = _try_lock(self.path)
                if lock is None:  # a live compaction: leave it alone
                    return
                stack.callback(lock.close)
            journal = _read_journal(self.path)
            if journal["state"] == "prepared":
                for name in journal["new"]:
                    (self.chunk_dir / name).unlink(missing_ok=True)
                self.repaired.append(f"rolled back an unfinished compaction ({len(journal['new'])} new chunks)")
            elif journal["state"] == "committed":
                for name in journal["old"]:
                    (self.chunk_dir / name).unlink(missing_ok=True)
                self.repaired.append(f"finished a committed compaction ({len(journal['old'])} old chunks)")
            for tmp in self.chunk_dir.glob(".compact-*"):
                tmp.unlink(missing_ok=True)
            if journal["state"] != "idle":
                _fsync_dir(self.chunk_dir)
                _write_journal(self.path, {**_IDLE, "generation": journal["generation"]})

    def _scan_once(self, journal: dict, rows: bool) -> None:
        self.tables, self.task_columns, self.failures = [], {}, {}
        self.files, self.file_tasks, self.n_rows = [], [], 0
        for tmp in self.chunk_dir.glob(".*.tmp"):  # a write that never reached its rename
            tmp.unlink(missing_ok=True)
        hidden = set(journal["new"] if journal["state"] == "prepared" else ())
        hidden |= set(journal["old"] if journal["state"] == "committed" else ())
        grid = self.grid
        for file in sorted(self.chunk_dir.glob("*.parquet")):
            if file.name in hidden:
                continue
            try:
                if rows:
                    table = pq.read_table(file)
                    kv, num_rows = table.schema.metadata or {}, table.num_rows
                else:
                    md = pq.read_metadata(file)
                    table, kv, num_rows = None, md.metadata or {}, md.num_rows
                meta = json.loads(kv[_META_KEY])
                tasks = meta["tasks"]
                if meta.get("grid_hash") != self.grid.hash:
                    raise ValueError("written for another grid")
                if not grid.matches([t[0] for t in tasks], [t[1] for t in tasks]):
                    raise ValueError("its task list does not match the grid")
                if sum(t[2] for t in tasks) != num_rows:
                    raise ValueError("row count does not match its task list")
                if rows:
                    counts = pc.value_counts(table.column(_TASK_COL)).to_pylist() if num_rows else []
                    have = {c["values"]: c["counts"] for c in counts}
                    if any(have.get(idx, 0) != nrows for idx, _k, nrows, _c in tasks):
                        raise ValueError("rows do not match its task list")
            except Exception as exc:  # noqa: BLE001 - any defect means: recompute
                if not file.exists():
                    raise FileNotFoundError(file) from exc
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
                if table is not None:
                    mask = pc.invert(pc.is_in(table.column(_TASK_COL), pa.array(dup, pa.int64())))
                    table = table.filter(mask)
                dups = set(dup)
                tasks = [t for t in tasks if t[0] not in dups]
                num_rows = sum(t[2] for t in tasks)
            for idx, _key, _n, cols in tasks:
                self.task_columns.setdefault(idx, cols)
            self.files.append(file.name)
            self.file_tasks.append(tasks)
            self.n_rows += num_rows
            if table is not None:
                self.tables.append(table)
        for file in sorted(self.failure_dir.glob("*.json")):
            try:
                with open(file) as fh:
                    for rec in json.load(fh):
                        i = rec["task"]
                        if grid.matches([i], [rec["key"]]):
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
                self.files.append(file.name)
                self.file_tasks.append(tasks_g)
            self.n_rows += table_g.num_rows
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

    Examples
    --------
    >>> import os, tempfile
    >>> from mesoscale.sweep import grid_product, run_sweep
    >>> tmp = tempfile.TemporaryDirectory()
    >>> store = os.path.join(tmp.name, "s")
    >>> df = run_sweep(lambda p, rng: {"y": p["x"] ** 2}, grid_product(x=[1, 2, 3]), store, client="inline",
    ...                seed=0, progress=False)
    >>> again = load_sweep(store)
    >>> again["y"].tolist(), again.equals(df)
    ([1, 4, 9], True)
    >>> tmp.cleanup()
    """
    return _Store.open(_check_store_path(store)).dataframe()


def load_failures(store) -> pd.DataFrame:
    """Return the failed tasks of a store: parameters, ``_task``, ``_error``, ``_message``, ``_traceback``.

    Examples
    --------
    >>> import os, tempfile, warnings
    >>> from mesoscale.sweep import grid_product, run_sweep
    >>> def half(params, rng):
    ...     if params["x"] == 2:
    ...         raise ValueError("no two")
    ...     return {"y": params["x"] / 2}
    >>> tmp = tempfile.TemporaryDirectory()
    >>> store = os.path.join(tmp.name, "s")
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     _ = run_sweep(half, grid_product(x=[1, 2, 3]), store, client="inline", seed=0, progress=False)
    >>> load_failures(store)[["x", "_task", "_error", "_message"]].values.tolist()
    [[2, 1, 'ValueError', 'no two']]
    >>> tmp.cleanup()
    """
    return _Store.open(_check_store_path(store)).failures_frame()


def sweep_status(store) -> dict:
    """Return a store's manifest with counts of done, failed and missing tasks and stored rows.

    Examples
    --------
    >>> import tempfile, os
    >>> from mesoscale.sweep import grid_product, run_sweep
    >>> d = os.path.join(tempfile.mkdtemp(), "s")
    >>> _ = run_sweep(lambda p, rng: {"y": p["x"] ** 2}, grid_product(x=[1, 2, 3]), d,
    ...               client="inline", progress=False)
    >>> s = sweep_status(d); (s["n_tasks"], s["n_done"], s["n_missing"])
    (3, 3, 0)
    """
    st = _Store.open(_check_store_path(store), rows=False)
    n = st.grid.n_tasks
    done = len(st.task_columns)
    return {
        **st.manifest,
        "store": str(st.path),
        "n_done": done,
        "n_failed": len(st.failures),
        "n_missing": n - done - len(st.failures),
        "n_rows": int(st.n_rows),
        "n_chunks": len(st.files),
        "repaired": st.repaired,
    }



def compact_store(store, *, target_rows: int = 200_000, max_tasks: int = 50_000) -> dict:
    """Merge a store's many small chunks into few, atomically; return counts before and after.

    Chunks are merged in task order into chunks of about ``target_rows`` rows (at most
    ``max_tasks`` tasks each, which bounds the task list in a chunk's footer). The new chunks
    are written under temporary names and fsynced; ``STORE/compaction.json`` then records the
    old and new chunk names (*prepared*), the new chunks are renamed into place, the journal
    is marked *committed* and the old chunks are deleted. Readers count the new chunks only
    once committed and the old ones only until then, so every finished task is seen exactly
    once at every instant; after a crash, the next open rolls a prepared compaction back and
    a committed one forward. Only one compaction runs at a time (a lock file); nothing else
    should write to the store meanwhile.

    Examples
    --------
    >>> import tempfile, os
    >>> from mesoscale.sweep import grid_product, run_sweep, load_sweep
    >>> d = os.path.join(tempfile.mkdtemp(), "s")
    >>> _ = run_sweep(lambda p, rng: {"y": p["x"] ** 2}, grid_product(x=range(6)), d,
    ...               client="inline", batch_size=2, progress=False)
    >>> before = load_sweep(d)
    >>> r = compact_store(d); (r["chunks_before"], r["chunks_after"], r["n_rows"])
    (3, 1, 6)
    >>> load_sweep(d).equals(before)
    True
    """
    path = _check_store_path(store)
    for name, val in (("target_rows", target_rows), ("max_tasks", max_tasks)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be a positive integer; got {val!r}")
    man = _Store.read_manifest(path)
    if man.get("format") != FORMAT or not (path / "chunks").is_dir():
        raise ValueError(f"store '{path}' is not a sweep store (format {man.get('format')!r}, expected {FORMAT!r})")
    lock = _try_lock(path)
    if lock is None:
        raise ValueError(f"store '{path}' is being compacted by another process")
    try:
        st = _Store.open(path, _locked=True)
        before = len(st.files)
        order = sorted(range(before), key=lambda j: min((t[0] for t in st.file_tasks[j]), default=-1))
        groups, cur, n_r, n_t = [], [], 0, 0
        for j in order:
            rows_j, tasks_j = st.tables[j].num_rows, len(st.file_tasks[j])
            if cur and (n_r + rows_j > target_rows or n_t + tasks_j > max_tasks):
                groups.append(cur)
                cur, n_r, n_t = [], 0, 0
            cur.append(j)
            n_r, n_t = n_r + rows_j, n_t + tasks_j
        if cur:
            groups.append(cur)
        old, new, tmps = [], [], []
        try:
            for grp in groups:
                if len(grp) < 2:
                    continue
                try:
                    table = _concat([st.tables[j] for j in grp])
                except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                    continue  # incompatible column types: these chunks stay as they are
                table = table.take(pc.sort_indices(table, [(_TASK_COL, "ascending"), (_ROW_COL, "ascending")]))
                tasks = sorted((t for j in grp for t in st.file_tasks[j]), key=lambda t: t[0])
                meta = {"grid_hash": st.grid.hash, "tasks": tasks}
                table = table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
                tag = uuid.uuid4().hex[:10]
                final = f"part-{tasks[0][0]:08d}-c{tag}.parquet"
                tmp = st.chunk_dir / f".compact-{tag}.parquet.part"
                tmps.append(tmp)
                with open(tmp, "wb") as fh:
                    pq.write_table(table, fh)
                    fh.flush()
                    os.fsync(fh.fileno())
                old += [st.files[j] for j in grp]
                new.append(final)
                _kill_point("written")
        except BaseException:
            for tmp in tmps:
                tmp.unlink(missing_ok=True)
            raise
        gen = _read_journal(path)["generation"] + 1
        if new:
            _fsync_dir(st.chunk_dir)
            _write_journal(path, {"generation": gen, "state": "prepared", "old": old, "new": new})
            _kill_point("prepared")
            for tmp, final in zip(tmps, new):
                os.replace(tmp, st.chunk_dir / final)
                _kill_point("renamed")
            _fsync_dir(st.chunk_dir)
            _write_journal(path, {"generation": gen, "state": "committed", "old": old, "new": new})
            _kill_point("committed")
            for name in old:
                (st.chunk_dir / name).unlink(missing_ok=True)
                _kill_point("deleted")
            _fsync_dir(st.chunk_dir)
            _write_journal(path, {**_IDLE, "generation": gen})
        return {
            "store": str(path),
            "chunks_before": before,
            "chunks_after": before - len(old) + len(new),
            "n_rows": int(st.n_rows),
            "n_done": len(st.task_columns),
        }
    finally:
        lock.close()
