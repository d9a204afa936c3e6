"""Fault tests of mesoscale.sweep with real processes: Dask workers, schedulers and clients.

All clusters listen on loopback only, without dashboards, and are closed at the end.
Synchronisation waits on observable events (a file appearing, workers registering),
never on fixed sleeps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
from conftest import wait_for as _wait_for

from mesoscale.sweep import grid_product, load_sweep, run_sweep, sweep_status

# the workers cannot import this test module: ship its functions by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])

pytestmark = pytest.mark.slow

TIMEOUT = 180  # generous: the machine is small and shared


def wait_for(condition, timeout=TIMEOUT, what="condition"):
    return _wait_for(condition, timeout=timeout, what=what)


def work(params, rng):
    """A few ms of numpy work whose result depends on the task's stream."""
    x = rng.standard_normal(2000)
    time.sleep(0.01)
    return {"m": float(np.mean(x * params["i"])), "v": rng.random(2)}


def make_killer(flag: str, victim: int):
    def killing_work(params, rng):
        # the first time task `victim` runs, it SIGKILLs its own worker process
        if params["i"] == victim:
            try:
                fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        return work(params, rng)

    return killing_work


GRID = grid_product(i=range(40), rep=range(2))


@pytest.fixture(scope="module")
def reference():
    return run_sweep(work, GRID, None, client="inline", seed=9, progress=False)


def assert_same(a, b):
    assert list(a.columns) == list(b.columns)
    assert a[["i", "rep", "m"]].equals(b[["i", "rep", "m"]])
    np.testing.assert_array_equal(np.stack(a["v"]), np.stack(b["v"]))


def test_worker_killed_mid_sweep(tmp_path, reference):
    flag = str(tmp_path / "killed.pid")
    store = tmp_path / "s"
    fn = make_killer(flag, victim=20)
    df = run_sweep(fn, GRID, store, seed=9, n_jobs=2, batch_size=3, progress=False)
    assert os.path.exists(flag), "the victim task never ran"
    assert df.attrs["sweep"]["n_failed"] == 0 and df.attrs["sweep"]["mode"] == "local"
    assert len(df) == len(GRID)
    assert not df.duplicated(["i", "rep"]).any()
    assert_same(df, reference)
    st = sweep_status(store)
    assert st["n_rows"] == len(GRID) and st["n_done"] == len(GRID)  # no duplicate rows stored either
    assert_same(load_sweep(store), reference)


CLIENT_SCRIPT = """
import sys, time
sys.path.insert(0, {dir!r})
from mesoscale.sweep import run_sweep, grid_product
from slowtask import slow

if __name__ == "__main__":
    run_sweep(slow, grid_product(i=range(40)), {store!r}, seed=9, n_jobs=2, batch_size=1, progress=False)
"""

TASK_MODULE = """
import os, time
LOG = {log!r}

def slow(params, rng):
    with open(LOG, "a") as fh:
        fh.write(f"{{os.environ.get('RUN', 'child')}} {{params['i']}}\\n")
    time.sleep(0.15)
    return {{"u": rng.random(), "i2": params["i"] * 2}}
"""


def test_client_killed_mid_sweep_then_resumed(tmp_path):
    store = tmp_path / "s"
    log = tmp_path / "calls.log"
    (tmp_path / "slowtask.py").write_text(TASK_MODULE.format(log=str(log)))
    script = tmp_path / "client.py"
    script.write_text(CLIENT_SCRIPT.format(dir=str(tmp_path), store=str(store)))
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "RUN": "child"}
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        def enough_chunks():
            if proc.poll() is not None:
                raise RuntimeError(f"client exited early: {proc.stderr.read().decode()[-2000:]}")
            return (store / "chunks").is_dir() and len(list((store / "chunks").glob("*.parquet"))) >= 6

        wait_for(enough_chunks, what="6 stored chunks")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the client and its local cluster, all at once
        proc.wait(timeout=60)
    before = sweep_status(store)
    assert 6 <= before["n_done"] < 40, before
    sys.path.insert(0, str(tmp_path))
    try:
        import slowtask

        os.environ["RUN"] = "resume"
        try:
            df = run_sweep(slowtask.slow, grid_product(i=range(40)), store, seed=9, client="inline", progress=False)
        finally:
            os.environ.pop("RUN")
        ref = run_sweep(slowtask.slow, grid_product(i=range(40)), None, seed=9, client="inline", progress=False)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("slowtask", None)
    resumed = [int(line.split()[1]) for line in log.read_text().splitlines() if line.startswith("resume")]
    done_before = set(range(40)) - set(resumed)
    assert len(done_before) == before["n_done"]  # exactly the missing tasks ran again
    assert len(resumed) == len(set(resumed)) == 40 - before["n_done"]
    assert df.attrs["sweep"]["n_done_before"] == before["n_done"]
    assert len(df) == 40 and df["i"].tolist() == list(range(40))
    assert df.equals(ref)  # the same final table as one uninterrupted run


def test_separate_scheduler_and_worker_processes(tmp_path, reference, monkeypatch):
    dask_cli = str(Path(sys.executable).with_name("dask"))
    sched_file = tmp_path / "scheduler.json"
    procs = []
    try:
        procs.append(subprocess.Popen(
            [dask_cli, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(sched_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        ))
        wait_for(sched_file.exists, what="the scheduler file")
        procs.append(subprocess.Popen(
            [dask_cli, "worker", "--scheduler-file", str(sched_file), "--host", "127.0.0.1",
             "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        ))
        from distributed import Client

        with Client(scheduler_file=str(sched_file), timeout=TIMEOUT) as c:
            c.wait_for_workers(2, timeout=TIMEOUT)
            address = c.scheduler.address
        assert address.startswith("tcp://127.0.0.1:")
        df = run_sweep(work, GRID, tmp_path / "s1", scheduler=address, seed=9, progress=False)
        assert df.attrs["sweep"]["mode"] == "dask"
        assert_same(df, reference)
        # the same scheduler found through DASK_SCHEDULER_ADDRESS, adaptive batches
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
        df2 = run_sweep(work, GRID, None, seed=9, progress=False)
        assert df2.attrs["sweep"]["mode"] == "dask"
        assert_same(df2, reference)
    finally:
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)


def always_kills(params, rng):
    if params["i"] == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # every time: a task that takes its worker down
    return {"u": rng.random()}


def test_task_that_always_kills_its_worker_is_recorded_as_failed():
    import dask
    from distributed import Client, LocalCluster

    # no retries by the scheduler itself: the sweep's own resubmission is what is tested
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
    try:
        with Client(cluster) as client:
            with pytest.warns(UserWarning, match="1 of 8 sweep tasks failed"):
                df = run_sweep(always_kills, grid_product(i=range(8)), None, client=client, seed=1,
                               batch_size=4, max_resubmits=2, progress=False)
            assert df["i"].tolist() == [0, 1, 2, 4, 5, 6, 7]  # its batch-mates were resent and finished
            (fail,) = df.attrs["sweep"]["failures"]
            assert fail["task"] == 3 and fail["error"] == "KilledWorker"
            ref = run_sweep(always_kills, grid_product(i=[0, 1, 2, 4, 5, 6, 7]), None, client="inline", seed=1,
                            progress=False)
            assert df["u"].tolist() == ref["u"].tolist()
    finally:
        cluster.close()
