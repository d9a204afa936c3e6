"""Running a sweep: batches of tasks in this process or on a Dask cluster."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import platform
import time
import traceback
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from mesoscale._validation import SeedLike, check_int, check_n_jobs

from ._keys import (
    _RESERVED,
    _ROW_COL,
    _TASK_COL,
    SweepWarning,
    _INLINE_NAMES,
    _LOCAL_NAMES,
    _canon,
    _fn_arguments,
    _fn_name,
    _Grid,
    _seed_record,
    _task_seedseq,
    grid_product,  # noqa: F401 - used by the examples
)
from ._store import _Store

#: wall-clock length aimed at for one batch when ``batch_size`` is automatic
_TARGET_BATCH_S = 0.5
_MAX_BATCH = 10_000
_INFRA_ERRORS = ("KilledWorker", "CancelledError", "FutureCancelledError", "CommClosedError")

log = logging.getLogger(__name__)

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



@dataclasses.dataclass
class SweepSummary:
    """What a call of :func:`run_sweep` did (also in ``df.attrs["sweep"]`` as a dict).

    ``task_s`` is the sum of the run times of this call's tasks as measured where they
    ran, so ``task_s / (workers * elapsed_s)`` is the parallel efficiency.

    Examples
    --------
    >>> from mesoscale.sweep import grid_product
    >>> df = run_sweep(lambda p, rng: {"y": p["x"] ** 2}, grid_product(x=[1, 2, 3]), None, client="inline",
    ...                seed=0, progress=False)
    >>> s = SweepSummary(**df.attrs["sweep"])
    >>> s.n_tasks, s.n_computed, s.n_failed, s.mode
    (3, 3, 0, 'inline')
    >>> print(s)  # doctest: +ELLIPSIS
    sweep: 3 tasks (0 already stored, 3 computed, 0 failed) -> 3 rows in ... s [inline]
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

    def next(self, n_running: int) -> list[int]:
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
            even = math.ceil(len(self.queue) / (2 * max(n_running, 1)))
            floor = int(0.2 * _TARGET_BATCH_S / mean)
            b = max(1, min(int(_TARGET_BATCH_S / mean), _MAX_BATCH, max(even, floor)))
        return [self.queue.popleft() for _ in range(min(b, len(self.queue)))]


#: Seconds a check of the cluster may take before it is reported as unreachable.
_PREFLIGHT_TIMEOUT_S = 20
_SLURM_TOOLS = ("sbatch", "squeue", "scancel", "sinfo")


def _preflight(client, scheduler) -> None:
    """Fail fast, with the missing piece named, when the requested cluster cannot work.

    Checks what can be checked without starting anything: for ``scheduler='slurm'`` that
    SLURM's commands are on PATH, that the controller answers and that the partition of the
    dask-jobqueue configuration exists; for a scheduler address that something listens there.
    """
    if client is not None:
        return
    if scheduler is None:
        scheduler = os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if not isinstance(scheduler, str):
        return
    name = scheduler.lower()
    if name in _INLINE_NAMES or name in _LOCAL_NAMES:
        return
    if name == "slurm":
        _check_slurm()
    elif "://" in scheduler or (":" in scheduler and not scheduler.endswith(".json")):
        _check_reachable(scheduler)


def _check_slurm() -> None:
    import shutil
    import subprocess

    import dask

    missing = [t for t in _SLURM_TOOLS if shutil.which(t) is None]
    if missing:
        raise RuntimeError(
            f"scheduler='slurm' needs SLURM's commands on PATH; not found: {', '.join(missing)} "
            "(is this a SLURM login node? On Debian: apt-get install slurm-client)"
        )
    queue = dask.config.get("jobqueue.slurm.queue", default=None)
    args = ["sinfo", "-h", "-o", "%P"] + (["-p", str(queue)] if queue else [])
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=_PREFLIGHT_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"the SLURM controller did not answer `sinfo` within {_PREFLIGHT_TIMEOUT_S} s") from exc
    if out.returncode != 0:
        raise RuntimeError(f"`{' '.join(args)}` failed: {(out.stderr or out.stdout).strip()}")
    if queue and not out.stdout.strip():
        known = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True,
                               timeout=_PREFLIGHT_TIMEOUT_S).stdout.split()
        raise RuntimeError(
            f"SLURM partition {queue!r} (dask config jobqueue.slurm.queue) does not exist; "
            f"partitions here: {', '.join(p.rstrip('*') for p in known) or 'none'}"
        )


def _check_reachable(address: str) -> None:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls") or parts.hostname is None or parts.port is None:
        return  # other comms (ucx, inproc): leave the check to distributed
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=_PREFLIGHT_TIMEOUT_S / 2):
            pass
    except OSError as exc:
        raise OSError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc


def _make_client(client, scheduler, n_jobs):
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
        n = n_jobs or os.cpu_count() or 1
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
        cluster.scale(jobs=n_jobs or 1)
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
    seed: SeedLike = None,
    batch_size: int | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    n_jobs: int | None = None,
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
        ``n_jobs`` processes (default: one per core) on loopback and closes it at the
        end -- unless ``DASK_SCHEDULER_ADDRESS`` is set, which is then used;
        ``'tcp://host:port'`` (or a scheduler-file ``.json`` path) connects to a running
        scheduler; ``'slurm'`` starts a dask-jobqueue ``SLURMCluster`` from the dask
        configuration with ``n_jobs`` jobs; ``'synchronous'`` is ``client='inline'``.
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
    n_jobs : int, optional
        Worker processes of a local cluster (``None`` or ``-1``: one per core), or SLURM
        jobs for ``scheduler='slurm'`` (``None``: one). Ignored with ``client``.
    resources : dict, optional
        Dask worker resources each batch needs, e.g. ``{"GPU": 1}`` with workers
        started with ``--resources GPU=1``.
    max_resubmits : int
        How often a task whose worker died is resubmitted before it is recorded as
        failed. Resubmitted tasks run one at a time, alone on the cluster (nothing else of
        this sweep in flight), so that a task which merely shared a dying worker is
        cleared and only the culprit is recorded; a task is never recorded as failed on
        the evidence of a shared worker alone unless ``max_resubmits=0``.

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
    n_jobs = check_n_jobs(n_jobs)
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

    _preflight(client, scheduler)  # a cluster that cannot work fails here, before the store is touched
    st = _Store(Path(store) if store is not None else None, g)
    fname = _fn_name(fn)
    if st.path is not None:
        seed_rec = st.create_or_check(_seed_record(seed) if seed is not None else None, fname, _fn_arguments(fn))
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
            mode, dclient, closers = _make_client(client, scheduler, n_jobs)
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

    def n_running() -> int:
        now = time.monotonic()
        if now - last_info[0] > 2.0:
            try:
                last_info[1] = max(len(client.scheduler_info()["workers"]), 1)
            except Exception:  # noqa: BLE001
                pass
            last_info[0] = now
        return last_info[1]

    ac = as_completed()

    def submit(batch: list[int], isolated: bool) -> None:
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
        inflight[fut.key] = (fut, batch, isolated)
        ac.add(fut)

    def fill():
        if planner.retry:
            # a suspect runs alone: drain what is in flight, then send one suspect by itself,
            # so that a worker's death is charged to the task that caused it
            if not inflight:
                submit([planner.retry.popleft()], True)
            return
        nw = n_running()
        while planner and len(inflight) < 2 * nw:
            submit(planner.next(nw), False)

    fill()
    try:
        for fut in ac:
            _f, batch, isolated = inflight.pop(fut.key)
            if fut.status == "finished":
                record(fut.result())
            else:
                exc = fut.exception()
                tb = "".join(traceback.format_exception(exc))
                infra = type(exc).__name__ in _INFRA_ERRORS
                results = []
                for i in batch:
                    # a failure on a shared worker always earns one isolated rerun
                    if infra and max_resubmits > 0 and (resubmits.get(i, 0) < max_resubmits or not isolated):
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
        for fut, _b, _iso in inflight.values():
            fut.cancel()
        raise

