"""Throughput of mesoscale.sweep on a local Dask cluster against the ideal.

Runs ``--tasks`` tasks of about ``--ms`` milliseconds each on ``--workers`` worker
processes and prints a table with two measures of how close the sweep comes to the
ideal throughput ``w / t`` (``w`` workers, ``t`` seconds per task):

* *efficiency* = ``(sum of the task times measured on the workers) / (w * wall)``: the
  fraction of the workers' time spent inside tasks. This is the robust measure on a
  shared machine, where a "5 ms" sleep or spin really lasts whatever the OS gives it;
* *speed-up* against the anchor measured in the same run: the same tasks executed one
  after another in this process (``client="inline"``); ideal speed-up = ``w``.

Two kinds of task are timed:

* ``sleep``: the task sleeps ~5 ms (waits on I/O) -- measures the sweep's own overhead
  (scheduling, batching, transfers, writing the store), which is what batching controls;
* ``busy``: the task spins the CPU for ~5 ms -- on a machine with as many cores as
  workers, the client and the scheduler compete with the workers for CPU.

Rows: ``run_sweep`` with adaptive batches writing a Parquet store, the same in memory,
``batch_size=1`` (no batching), and plain ``client.map`` of the bare task (one Dask
task per call, no store) as what Dask alone would do. Cluster start-up is timed
separately and excluded from the throughput rows.

Usage: ``python benchmarks/bench_sweep.py [--tasks 2000] [--ms 5] [--workers 2] [--kinds sleep,busy]``
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time

from mesoscale.sweep import grid_product, run_sweep


def sleep_task(params, rng):
    time.sleep(params["ms"] / 1000.0)
    return {"u": rng.random()}


def busy_task(params, rng):
    end = time.perf_counter() + params["ms"] / 1000.0
    while time.perf_counter() < end:
        pass
    return {"u": rng.random()}


def bare(fn, params):
    import numpy as np

    t0 = time.perf_counter()
    fn(params, np.random.default_rng(0))
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--ms", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kinds", default="sleep,busy")
    ap.add_argument("--no-unbatched", action="store_true", help="skip the batch_size=1 and client.map rows")
    args = ap.parse_args(argv)

    from distributed import Client, LocalCluster

    grid = grid_product(ms=[args.ms], i=range(args.tasks))
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    client.wait_for_workers(args.workers)
    startup = time.perf_counter() - t0
    rows = []
    tmp = tempfile.mkdtemp(prefix="bench_sweep_")
    try:
        for kind in args.kinds.split(","):
            fn = {"sleep": sleep_task, "busy": busy_task}[kind]
            t0 = time.perf_counter()
            ref = run_sweep(fn, grid, None, client="inline", progress=False)
            serial = time.perf_counter() - t0
            rows.append((kind, "anchor: inline, 1 process", "-", serial, ref.attrs["sweep"]["task_s"] / serial,
                          1.0))

            def timed(label, call, nbatch="auto"):
                t0 = time.perf_counter()
                out = call()
                wall = time.perf_counter() - t0
                busy = out.attrs["sweep"]["task_s"] if hasattr(out, "attrs") else float(sum(out))
                rows.append((kind, label, nbatch, wall, busy / (args.workers * wall), serial / wall))
                return out

            store = f"{tmp}/{kind}"
            df = timed("run_sweep -> Parquet store", lambda: run_sweep(fn, grid, store, client=client, progress=False))
            assert df.equals(ref), "distributed results differ from the inline anchor"
            timed("run_sweep, in memory", lambda: run_sweep(fn, grid, None, client=client, progress=False))
            if not args.no_unbatched:
                timed("run_sweep, batch_size=1", lambda: run_sweep(fn, grid, None, client=client, batch_size=1,
                                                                    progress=False), nbatch="1")
                timed("plain client.map (no store)", lambda: client.gather(
                    client.map(bare, [fn] * args.tasks, grid, pure=False)), nbatch="1")
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n{args.tasks} tasks of ~{args.ms:g} ms on {args.workers} local worker processes "
          f"(cluster start-up {startup:.1f} s, not included)\n")
    head = (f"| {'task':5} | {'configuration':30} | {'batch':5} | {'wall s':>7} | {'tasks/s':>8} | "
            f"{'efficiency':>10} | {'overhead ms/task':>16} | {'speed-up':>8} |")
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for kind, label, nb, wall, eff, speed in rows:
        workers = 1 if label.startswith("anchor") else args.workers
        overhead = 1000 * workers * wall * (1 - eff) / args.tasks
        print(f"| {kind:5} | {label:30} | {nb:5} | {wall:7.2f} | {args.tasks / wall:8.0f} | {100 * eff:9.0f}% | "
              f"{overhead:16.2f} | {speed:7.2f}x |")
    print(f"\nefficiency = task time measured on the workers / ({args.workers} x wall) (ideal 100 %); "
          f"overhead = worker time outside tasks per task; speed-up = anchor wall / wall (ideal {args.workers}x)")
    return rows


if __name__ == "__main__":
    main()
