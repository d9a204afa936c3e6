"""Sweeps on a real SLURM cluster: munge, slurmctld and slurmd started on this machine (one node, 2 CPUs).

Workers are real ``sbatch`` jobs submitted by dask-jobqueue; the tests check that a sweep through
them gives the same table as one in this process, that losing a worker job (``scancel``) or the
client (SIGKILL) loses and duplicates nothing, that the CLI does the same from a shell, that GPU
batches land only on workers that offer a GPU, and that bad cluster settings fail fast and cleanly.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
from conftest import wait_for as _wait_for
import yaml

from mesoscale.sweep import grid_product, load_sweep, run_sweep, sweep_status
from slurm_cluster import SlurmCluster, missing_tools

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this module

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

TIMEOUT = 180
GRID = grid_product(i=range(30), rep=range(2))


def wait_for(condition, timeout=TIMEOUT, what="condition"):
    return _wait_for(condition, timeout=timeout, what=what)


def work(params, rng):
    x = rng.standard_normal(1000)
    time.sleep(0.02)
    return {"m": float(np.mean(x * params["i"])), "v": rng.random(2), "job": os.environ.get("SLURM_JOB_ID", "")}


def assert_same(a, b):
    assert list(a.columns[:4]) == ["i", "rep", "m", "v"]
    assert a[["i", "rep", "m"]].equals(b[["i", "rep", "m"]])
    np.testing.assert_array_equal(np.stack(a["v"]), np.stack(b["v"]))


def jobqueue_config(workdir: Path, queue: str = "debug") -> dict:
    """The dask-jobqueue settings this cluster needs (the same keys as examples/slurm_gpu.yaml)."""
    return {
        "jobqueue": {
            "slurm": {
                "name": "mesoscale-test",
                "queue": queue,
                "cores": 1,
                "processes": 1,
                "memory": "1GB",
                "walltime": "00:30:00",
                "interface": "lo",
                "python": sys.executable,
                "local-directory": str(workdir / "dask-local"),
                "log-directory": str(workdir / "dask-logs"),
                "death-timeout": 20,
            }
        }
    }


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    if missing_tools():
        pytest.fail(f"SLURM is not installed (missing {missing_tools()}): `make test` installs slurm-wlm and munge")
    import dask

    workdir = tmp_path_factory.mktemp("slurm")
    old = os.environ.get("SLURM_CONF")
    with SlurmCluster(workdir / "cluster", cpus=2, memory_mb=6000) as cluster:
        os.environ["SLURM_CONF"] = str(cluster.conf)
        config_dir = workdir / "dask-config"
        config_dir.mkdir()
        # dask-jobqueue's own defaults under ours: other tests may have refreshed dask's configuration since
        # dask_jobqueue was first imported, which drops the defaults it registered then.
        import dask_jobqueue

        defaults = yaml.safe_load((Path(dask_jobqueue.__file__).with_name("jobqueue.yaml")).read_text())
        config = dask.config.merge(defaults, jobqueue_config(workdir))
        (config_dir / "jobqueue.yaml").write_text(yaml.safe_dump(config))
        cluster.dask_config_dir = config_dir
        with dask.config.set(config):
            yield cluster
        cluster.run("scancel", "--user", "root", check=False)
    if old is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = old


def jobs(cluster) -> list[str]:
    out = cluster.run("squeue", "-h", "-o", "%i %T", check=False).stdout.split("\n")
    return [line.split()[0] for line in out if line.strip()]


def running_jobs(cluster) -> list[str]:
    out = cluster.run("squeue", "-h", "-t", "RUNNING", "-o", "%i", check=False).stdout.split()
    return [j for j in out if j]


@pytest.fixture(scope="module")
def reference():
    return run_sweep(work, GRID, None, client="inline", seed=9, progress=False)


def test_sweep_through_sbatch_workers_equals_inline(slurm, reference, tmp_path):
    df = run_sweep(work, GRID, tmp_path / "s", scheduler="slurm", n_jobs=2, seed=9, progress=False)
    assert df.attrs["sweep"]["mode"] == "slurm"
    assert_same(df, reference)
    assert_same(load_sweep(tmp_path / "s"), reference)
    assert set(df["job"]) - {""} and "" not in set(df["job"]), "tasks must run inside SLURM jobs"
    wait_for(lambda: not jobs(slurm), timeout=60, what="the worker jobs to end with the sweep")


def test_scancel_of_a_worker_job_mid_sweep_loses_and_duplicates_nothing(slurm, reference, tmp_path):
    store = tmp_path / "s"
    result, error = {}, {}

    def client():
        try:
            result["df"] = run_sweep(work, GRID, store, scheduler="slurm", n_jobs=2, seed=9, batch_size=2,
                                     progress=False)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            error["exc"] = exc

    thread = threading.Thread(target=client)
    thread.start()
    try:
        wait_for(lambda: len(running_jobs(slurm)) == 2 and (store / "chunks").is_dir()
                 and len(list((store / "chunks").glob("*.parquet"))) >= 3, what="2 running jobs and 3 chunks")
        victim = running_jobs(slurm)[0]
        slurm.run("scancel", victim)
    finally:
        thread.join(timeout=TIMEOUT * 2)
    assert not thread.is_alive(), "the sweep did not finish after a worker job was cancelled"
    if error:
        raise error["exc"]
    df = result["df"]
    assert victim not in set(jobs(slurm))
    assert not df.duplicated(["i", "rep"]).any() and len(df) == len(GRID)
    assert_same(df, reference)
    st = sweep_status(store)
    assert st["n_rows"] == len(GRID) and st["n_done"] == len(GRID)


CLIENT_SCRIPT = """
import sys
from mesoscale.sweep import run_sweep, grid_product
from slowtask import slow

if __name__ == "__main__":
    run_sweep(slow, grid_product(i=range(40)), {store!r}, scheduler="slurm", seed=9, n_jobs=2, batch_size=1,
              progress=False)
"""

TASK_MODULE = """
import os, time
LOG = {log!r}

def slow(params, rng):
    with open(LOG, "a") as fh:
        fh.write(f"{{os.environ.get('RUN', 'child')}} {{params['i']}}\\n")
    time.sleep(0.2)
    return {{"u": rng.random(), "i2": params["i"] * 2}}
"""


def test_client_killed_mid_sweep_then_rerun_completes_only_what_is_missing(slurm, tmp_path):
    store, log = tmp_path / "s", tmp_path / "calls.log"
    (tmp_path / "slowtask.py").write_text(TASK_MODULE.format(log=str(log)))
    script = tmp_path / "client.py"
    script.write_text(CLIENT_SCRIPT.format(store=str(store)))
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "RUN": "child",
           "DASK_CONFIG": str(slurm.dask_config_dir)}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def enough():
            if proc.poll() is not None:
                raise RuntimeError(f"client exited early: {proc.stderr.read().decode()[-3000:]}")
            return (store / "chunks").is_dir() and len(list((store / "chunks").glob("*.parquet"))) >= 6

        wait_for(enough, what="6 stored chunks")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    slurm.run("scancel", "--user", "root", check=False)  # the dead client's orphaned worker jobs
    wait_for(lambda: not jobs(slurm), timeout=60, what="the orphaned jobs to go")
    before = sweep_status(store)
    assert 6 <= before["n_done"] < 40, before
    sys.path.insert(0, str(tmp_path))
    os.environ["PYTHONPATH"] = str(tmp_path)  # the new worker jobs import slowtask too
    try:
        import slowtask

        cloudpickle.register_pickle_by_value(slowtask)
        os.environ["RUN"] = "resume"
        df = run_sweep(slowtask.slow, grid_product(i=range(40)), store, scheduler="slurm", n_jobs=2, seed=9,
                       progress=False)
        os.environ.pop("RUN")
        ref = run_sweep(slowtask.slow, grid_product(i=range(40)), None, seed=9, client="inline", progress=False)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("slowtask", None)
        os.environ.pop("PYTHONPATH", None)
        os.environ.pop("RUN", None)
    resumed = [int(line.split()[1]) for line in log.read_text().splitlines() if line.startswith("resume")]
    assert len(resumed) == len(set(resumed)) == 40 - before["n_done"]  # exactly the missing tasks ran again
    assert df.attrs["sweep"]["n_done_before"] == before["n_done"]
    assert df["i"].tolist() == list(range(40)) and df.equals(ref)


def test_cli_runs_a_sweep_on_slurm(slurm, tmp_path):
    (tmp_path / "clitask.py").write_text(
        "def square(params, rng):\n    return {'y': params['x'] ** 2, 'u': float(rng.random())}\n"
    )
    (tmp_path / "grid.yml").write_text(yaml.safe_dump({"axes": {"x": list(range(12))}, "seed": 4}))
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "DASK_CONFIG": str(slurm.dask_config_dir)}
    exe = str(Path(sys.executable).with_name("mesoscale"))
    proc = subprocess.run([exe, "sweep", "run", "clitask:square", "--grid", str(tmp_path / "grid.yml"),
                           "--store", str(tmp_path / "s"), "--scheduler", "slurm", "--n-jobs", "2", "--no-progress"],
                          env=env, capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    sys.path.insert(0, str(tmp_path))
    try:
        import clitask

        ref = run_sweep(clitask.square, grid_product(x=range(12)), None, seed=4, client="inline", progress=False)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("clitask", None)
    got = load_sweep(tmp_path / "s")
    assert got[["x", "y", "u"]].equals(ref[["x", "y", "u"]])
    status = subprocess.run([exe, "sweep", "status", str(tmp_path / "s")], capture_output=True, text=True, env=env)
    assert "12 done, 0 failed, 0 missing" in status.stdout, status.stdout + status.stderr


def where(params, rng):
    from distributed import get_worker

    try:
        w = get_worker()
    except ValueError:  # not on a Dask worker (client="inline")
        return {"gpu": 0.0, "worker": "inline", "u": rng.random()}
    return {"gpu": float(w.state.total_resources.get("GPU", 0)), "worker": str(w.name), "u": rng.random()}


def test_gpu_batches_go_only_to_workers_that_offer_a_gpu(slurm, tmp_path):
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    # one plain worker job from dask-jobqueue, one worker job that offers a GPU (as examples/slurm_gpu.yaml asks)
    with SLURMCluster() as cluster, Client(cluster) as client:
        cluster.scale(jobs=1)
        gpu_script = tmp_path / "gpu_worker.sh"
        gpu_script.write_text(
            "#!/bin/bash\n"
            f"exec {sys.executable} -m distributed.cli.dask_worker {cluster.scheduler_address} --nthreads 1 "
            "--name gpu-worker --resources GPU=1 --interface lo --death-timeout 20 --no-dashboard\n"
        )
        slurm.run("sbatch", "-p", "debug", "-J", "mesoscale-gpu", "-c", "1", "--mem=1G", "-o",
                  str(tmp_path / "gpu-%j.out"), str(gpu_script))
        client.wait_for_workers(2, timeout=TIMEOUT)
        grid = grid_product(i=range(20))
        df = run_sweep(where, grid, None, client=client, resources={"GPU": 1}, batch_size=2, seed=1, progress=False)
        assert len(df) == 20 and set(df["worker"]) == {"gpu-worker"} and (df["gpu"] == 1).all()
        ref = run_sweep(where, grid, None, client="inline", seed=1, progress=False)
        assert df["u"].tolist() == ref["u"].tolist()  # same streams wherever a task ran
    slurm.run("scancel", "--name", "mesoscale-gpu", check=False)
    wait_for(lambda: not jobs(slurm), timeout=60, what="the worker jobs to end")


def test_no_slurm_on_the_machine_fails_fast_and_writes_nothing(slurm, tmp_path, monkeypatch):
    bare = tmp_path / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))  # sbatch and friends are gone
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="sbatch"):
        run_sweep(work, GRID, tmp_path / "s", scheduler="slurm", n_jobs=1, seed=9, progress=False)
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "s").exists()


def test_unknown_partition_fails_fast_and_writes_nothing(slurm, tmp_path):
    import dask

    t0 = time.monotonic()
    with dask.config.set({"jobqueue.slurm.queue": "no-such-partition"}):
        with pytest.raises(RuntimeError, match="no-such-partition"):
            run_sweep(work, GRID, tmp_path / "s", scheduler="slurm", n_jobs=1, seed=9, progress=False)
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "s").exists()
    wait_for(lambda: not jobs(slurm), timeout=30, what="no job left behind")


def test_unreachable_scheduler_fails_fast_and_writes_nothing(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    with pytest.raises(OSError, match=f"127.0.0.1:{port}"):
        run_sweep(work, GRID, tmp_path / "s", scheduler=f"tcp://127.0.0.1:{port}", seed=9, progress=False)
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "s").exists()
