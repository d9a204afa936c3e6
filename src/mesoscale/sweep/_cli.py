"""The command line of sweeps: ``mesoscale sweep run|status|failures|compact|export``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from ._execution import SweepSummary, run_sweep
from ._keys import grid_product
from ._store import compact_store, load_failures, load_sweep, sweep_status

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

    Examples
    --------
    >>> import os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "grid.json")  # JSON is YAML too
    >>> with open(path, "w") as fh:
    ...     json.dump({"axes": {"x": [1, 2], "rep": [0, 1]}, "seed": 3}, fh)
    >>> grid, options = read_grid_file(path)
    >>> len(grid), grid[1], options
    (4, {'x': 1, 'rep': 1}, {'seed': 3})
    >>> tmp.cleanup()
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
    """Add the ``sweep`` command (``run``, ``status``, ``failures``, ``compact``, ``export``) to ``subparsers``.

    The handler is stored as the parser default ``func``: call ``args.func(args)``,
    which returns the exit code.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="mytool")
    >>> sweep = register_cli(parser.add_subparsers(dest="command", required=True))
    >>> sweep.prog
    'mytool sweep'
    >>> args = parser.parse_args(["sweep", "compact", "some/store", "--target-rows", "1000"])
    >>> args.sweep_command, args.target_rows, args.func is cli_handler
    ('compact', 1000, True)
    """
    p = subparsers.add_parser("sweep", help="run and inspect persistent parameter sweeps")
    sub = p.add_subparsers(dest="sweep_command", required=True)

    r = sub.add_parser("run", help="run module:function over a grid into a store")
    r.add_argument("function", help="'package.module:function' or 'path/to/file.py:function'")
    r.add_argument("--grid", required=True, help="YAML/JSON grid file ({axes: {...}} or {tasks: [...]})")
    r.add_argument("--store", required=True, help="store directory (created or continued)")
    r.add_argument("--scheduler", default=None, help="local | synchronous | slurm | tcp://host:port | file.json")
    r.add_argument("--n-jobs", type=int, default=None, help="local worker processes (-1: one per core) / SLURM jobs")
    r.add_argument("--seed", type=int, default=None, help="root seed (default: the grid file's, else the store's, else fresh entropy)")
    r.add_argument("--batch-size", type=int, default=None, help="tasks per batch (default: adaptive)")
    r.add_argument("--retry-failed", action="store_true", help="rerun tasks recorded as failed")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")

    s = sub.add_parser("status", help="print a store's manifest and counts")
    s.add_argument("store")
    s.add_argument("--json", action="store_true", help="print JSON")

    f = sub.add_parser("failures", help="print the failed tasks of a store")
    f.add_argument("store")
    f.add_argument("--traceback", action="store_true", help="print full tracebacks")

    c = sub.add_parser("compact", help="merge a store's small chunks into few (atomic)")
    c.add_argument("store")
    c.add_argument("--target-rows", type=int, default=200_000, help="rows per merged chunk (default 200000)")

    e = sub.add_parser("export", help="write a store's table to .csv or .parquet")
    e.add_argument("store")
    e.add_argument("output")
    p.set_defaults(func=cli_handler)
    return p


def cli_handler(args: argparse.Namespace) -> int:
    """Run the ``mesoscale sweep ...`` command described by ``args``; return the exit code.

    Bad input (a refused store, a wrong grid file, an unknown function) is reported in
    one line on stderr with exit code 2.

    Examples
    --------
    >>> import argparse, os, tempfile
    >>> parser = argparse.ArgumentParser(prog="mesoscale")
    >>> _ = register_cli(parser.add_subparsers(dest="command", required=True))
    >>> tmp = tempfile.TemporaryDirectory()
    >>> args = parser.parse_args(["sweep", "status", os.path.join(tmp.name, "not-a-store")])
    >>> cli_handler(args)  # one line on stderr names the problem
    2
    >>> tmp.cleanup()
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
        seed = args.seed if args.seed is not None else options.get("seed")
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
            n_jobs=args.n_jobs,
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
    if cmd == "compact":
        r = compact_store(args.store, target_rows=args.target_rows)
        print(
            f"store {r['store']}: {r['chunks_before']} chunks -> {r['chunks_after']} "
            f"({r['n_done']} tasks, {r['n_rows']} rows)"
        )
        return 0
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
    """Entry point of ``python -m mesoscale.sweep`` (same as ``mesoscale sweep``).

    Examples
    --------
    >>> import os, tempfile
    >>> from mesoscale.sweep import grid_product, run_sweep
    >>> tmp = tempfile.TemporaryDirectory()
    >>> store = os.path.join(tmp.name, "s")
    >>> _ = run_sweep(lambda p, rng: {"y": p["x"] ** 2}, grid_product(x=[1, 2]), store, client="inline",
    ...               seed=0, progress=False)
    >>> main(["sweep", "failures", store])
    no failed tasks
    0
    >>> main(["sweep", "export", store, os.path.join(tmp.name, "table.csv")])  # doctest: +ELLIPSIS
    wrote 2 rows to .../table.csv
    0
    >>> tmp.cleanup()
    """
    parser = argparse.ArgumentParser(prog="mesoscale")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)
