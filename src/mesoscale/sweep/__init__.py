"""Persistent, resumable, deterministic parameter sweeps on Dask.

A *sweep* runs one function over a grid of parameter sets and collects what it
returns in one table::

    fn(params: dict, rng: numpy.random.Generator) -> dict | list[dict] | pandas.DataFrame

:func:`run_sweep` runs the tasks in-process (``client="inline"``), on a local
Dask cluster (one worker process per core, the default), on an existing Dask
scheduler (``scheduler="tcp://host:port"`` or ``DASK_SCHEDULER_ADDRESS``) or on
SLURM through dask-jobqueue (``scheduler="slurm"``). Whatever the execution, the
result is the same table, bit for bit.

The package is split by concept: :mod:`._keys` (grids, canonical parameters, task keys
and random streams), :mod:`._store` (the on-disk store and reading it back),
:mod:`._execution` (running batches in-process or on Dask) and :mod:`._cli`
(``mesoscale sweep ...``).

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
rerun unless ``retry_failed=True``. :func:`compact_store` (``mesoscale sweep compact``)
merges many small chunks into few, atomically (``STORE/compaction.json`` journals it; a
crashed compaction is rolled back or forward on the next open). :func:`sweep_status`
reads only the chunks' footers, not their rows.

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

from ._cli import _import_callable, cli_handler, main, read_grid_file, register_cli  # noqa: F401 (tests)
from ._execution import SweepSummary, run_sweep
from ._keys import FORMAT, SweepWarning, grid_product, task_key, task_rng
from ._store import compact_store, load_failures, load_sweep, sweep_status

__all__ = [
    "grid_product",
    "run_sweep",
    "load_sweep",
    "load_failures",
    "sweep_status",
    "compact_store",
    "task_key",
    "task_rng",
    "SweepSummary",
    "SweepWarning",
    "register_cli",
    "read_grid_file",
    "cli_handler",
    "main",
    "FORMAT",
]
