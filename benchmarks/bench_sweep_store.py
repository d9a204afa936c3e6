"""Store scaling: a sweep of many tiny tasks, ``sweep status`` and ``load_sweep`` before/after compaction.

Usage: ``python benchmarks/bench_sweep_store.py [N_TASKS[:BATCH] ...]`` (default 100000 1000000; BATCH is the
sweep's ``batch_size``, one chunk per batch, default adaptive). Prints a table.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mesoscale.sweep import compact_store, load_sweep, run_sweep, sweep_status


def tiny(params, rng):
    return {"y": params["i"] * 2}


def _time(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def _cli_status(store) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mesoscale.sweep", "sweep", "status", str(store)], check=True,
                   capture_output=True)
    return time.perf_counter() - t


def bench(n: int, batch: int | None = None) -> dict:
    root = Path(tempfile.mkdtemp())
    store = root / "s"
    try:
        grid = [{"i": i} for i in range(n)]
        t_run, df = _time(lambda: run_sweep(tiny, grid, store, client="inline", seed=0, batch_size=batch,
                                                    progress=False))
        assert len(df) == n
        t_st0, st0 = _time(lambda: sweep_status(store))
        cli0 = _cli_status(store)
        t_ld0, df0 = _time(lambda: load_sweep(store))
        t_cp, rep = _time(lambda: compact_store(store))
        t_st1, st1 = _time(lambda: sweep_status(store))
        cli1 = _cli_status(store)
        t_ld1, df1 = _time(lambda: load_sweep(store))
        assert df1.equals(df0) and st1["n_done"] == st0["n_done"] == n
        t_rr, again = _time(lambda: run_sweep(tiny, grid, store, client="inline", seed=0, progress=False))
        assert again.attrs["sweep"]["n_computed"] == 0
        man = (store / "manifest.json").stat().st_size
        return dict(n=n, batch=batch or 0, run=t_run, chunks0=rep["chunks_before"], chunks1=rep["chunks_after"], status0=t_st0,
                    status1=t_st1, cli0=cli0, cli1=cli1, load0=t_ld0, load1=t_ld1, compact=t_cp, rerun=t_rr,
                    manifest_bytes=man)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv) -> None:
    sizes = [tuple(int(x) for x in a.split(":")) for a in argv] or [(100_000,), (1_000_000,)]
    cols = ["n", "batch", "run", "chunks0", "chunks1", "status0", "status1", "cli0", "cli1", "load0", "load1", "compact",
            "rerun", "manifest_bytes"]
    print("times in s; 0 = before compaction, 1 = after; cli = `mesoscale sweep status` in a fresh process")
    print(" | ".join(f"{c:>9}" for c in cols))
    for n in sizes:
        r = bench(*n)
        print(" | ".join(f"{r[c]:>9.2f}" if isinstance(r[c], float) else f"{r[c]:>9d}" for c in cols), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
