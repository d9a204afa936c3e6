"""Tests of mesoscale.sweep that run in-process (fast): grids, keys, seeds, stores, CLI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesoscale import sweep
from mesoscale.sweep import (
    SweepWarning,
    grid_product,
    load_failures,
    load_sweep,
    run_sweep,
    sweep_status,
    task_key,
    task_rng,
)

INLINE = {"client": "inline", "progress": False}


def noisy(params, rng):
    """A task whose result depends on its parameters and its random stream."""
    return {"y": params["x"] * 10 + rng.standard_normal(), "draws": rng.random(3)}


class Counter:
    """Callable task that counts its calls (inline runs only) and can fail or interrupt."""

    def __init__(self, fail_on=(), interrupt_after=None):
        self.calls = []
        self.fail_on = set(fail_on)
        self.interrupt_after = interrupt_after

    def __call__(self, params, rng):
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.calls.append(params["x"])
        if params["x"] in self.fail_on:
            raise RuntimeError(f"bad x={params['x']}")
        return {"y": rng.random(), "x2": params["x"] ** 2}


GRID = grid_product(x=range(12), rep=range(2))


# ---------------------------------------------------------------------------------------------
# grids, keys and seeds


def test_grid_product_order_and_validation():
    g = grid_product(a=[1, 2], b=("u", "v", "w"))
    assert g[:4] == [{"a": 1, "b": "u"}, {"a": 1, "b": "v"}, {"a": 1, "b": "w"}, {"a": 2, "b": "u"}]
    assert len(g) == 6
    assert grid_product(a=np.array([0.5, 1.5])) == [{"a": 0.5}, {"a": 1.5}]
    with pytest.raises(TypeError, match="axis 'a'"):
        grid_product(a=3)
    with pytest.raises(TypeError, match="axis 'a'"):
        grid_product(a="abc")
    with pytest.raises(ValueError, match="axis 'b'"):
        grid_product(a=[1], b=[])
    with pytest.raises(ValueError, match="at least one axis"):
        grid_product()


def test_task_key_is_canonical():
    assert task_key({"a": np.int64(3), "b": np.float64(0.5)}) == task_key({"b": 0.5, "a": 3})
    assert task_key({"h": (64, 32)}) == task_key({"h": [64, 32]}) == task_key({"h": np.array([64, 32])})
    assert task_key({"a": 1}) != task_key({"a": 1.0})
    assert task_key({"a": True}) != task_key({"a": 1})
    with pytest.raises(TypeError, match="object"):
        task_key({"a": object()})
    with pytest.raises(TypeError, match="dict of parameters"):
        task_key([1, 2])


def test_results_do_not_depend_on_order_or_batching():
    ref = run_sweep(noisy, GRID, None, seed=5, **INLINE)
    assert list(ref.columns) == ["x", "rep", "y", "draws"]
    assert len(ref) == len(GRID)
    shuffled = [GRID[i] for i in np.random.default_rng(0).permutation(len(GRID))]
    other = run_sweep(noisy, shuffled, None, seed=5, batch_size=5, **INLINE)
    key = ["x", "rep"]
    a = ref.sort_values(key).reset_index(drop=True)
    b = other.sort_values(key).reset_index(drop=True)
    np.testing.assert_array_equal(a["y"].to_numpy(), b["y"].to_numpy())
    np.testing.assert_array_equal(np.stack(a["draws"]), np.stack(b["draws"]))
    # a sub-grid draws the same numbers for the same parameters (key, not position)
    sub = run_sweep(noisy, GRID[7:9], None, seed=5, **INLINE)
    np.testing.assert_array_equal(sub["y"].to_numpy(), ref["y"].to_numpy()[7:9])
    # a different seed changes everything
    diff = run_sweep(noisy, GRID, None, seed=6, **INLINE)
    assert not np.any(diff["y"].to_numpy() == ref["y"].to_numpy())
    # the documented stream
    rng = task_rng(5, GRID[3])
    assert ref.loc[3, "y"] == GRID[3]["x"] * 10 + rng.standard_normal()
    np.testing.assert_array_equal(ref.loc[3, "draws"], rng.random(3))


def test_seed_sequence_accepted_and_generator_refused():
    ss = np.random.SeedSequence(11)
    a = run_sweep(noisy, GRID[:3], None, seed=ss, **INLINE)
    b = run_sweep(noisy, GRID[:3], None, seed=11, **INLINE)
    assert a.equals(b)
    with pytest.raises(TypeError, match="seed"):
        run_sweep(noisy, GRID[:3], None, seed=np.random.default_rng(1), **INLINE)


def test_return_types_and_row_order():
    def fn(p, rng):
        k = p["k"]
        if k == 0:
            return {"a": 1.0}
        if k == 1:
            return [{"a": 2.0}, {"a": 3.0, "b": "extra"}]
        if k == 2:
            return pd.DataFrame({"a": [4.0, 5.0]}, index=[10, 20])
        if k == 3:
            return []
        return {"a": 6.0, "k": k}  # echoing a parameter is fine

    df = run_sweep(fn, grid_product(k=range(5)), None, **INLINE)
    assert df["k"].tolist() == [0, 1, 1, 2, 2, 4]
    assert df["a"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert list(df.columns) == ["k", "a", "b"]
    assert df["b"].tolist()[2] == "extra" and df["b"].isna().sum() == 5
    assert df.attrs["sweep"]["n_failed"] == 0 and df.attrs["sweep"]["n_computed"] == 5


def test_bad_records_are_task_failures():
    def fn(p, rng):
        if p["k"] == 0:
            return 3.0
        if p["k"] == 1:
            return {"k": 99}
        if p["k"] == 2:
            return {"__task__": 1}
        return {"ok": True}

    with pytest.warns(SweepWarning, match="3 of 4 sweep tasks failed"):
        df = run_sweep(fn, grid_product(k=range(4)), None, **INLINE)
    fails = {f["task"]: f for f in df.attrs["sweep"]["failures"]}
    assert fails[0]["error"] == "TypeError" and "float" in fails[0]["message"]
    assert fails[1]["error"] == "ValueError" and "clashes" in fails[1]["message"]
    assert "reserved" in fails[2]["message"]
    assert df["k"].tolist() == [3]


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"fn": 3}, TypeError, "fn must be callable"),
        ({"grid": []}, ValueError, "grid is empty"),
        ({"grid": [{"x": 1}, {"x": 1}]}, ValueError, "positions 0 and 1"),
        ({"grid": [{"x": 1}, 5]}, TypeError, r"grid\[1\]"),
        ({"grid": [{"x": {1, 2}}]}, TypeError, r"grid\[0\]\['x'\]"),
        ({"grid": [{}]}, ValueError, "empty dict"),
        ({"grid": "abc"}, TypeError, "grid must be"),
        ({"batch_size": 0}, ValueError, "'batch_size' must be >= 1"),
        ({"n_jobs": 1.5}, TypeError, "'n_jobs'"),
        ({"store": 3}, TypeError, "store must be"),
        ({"client": "nonsense"}, ValueError, "client must be"),
        ({"client": None, "scheduler": "nonsense"}, ValueError, "scheduler must be"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    args = {"fn": noisy, "grid": GRID[:2], "store": None, **INLINE}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        run_sweep(args.pop("fn"), args.pop("grid"), args.pop("store"), **args)


def test_dict_grid_is_a_product():
    a = run_sweep(noisy, {"x": [1, 2], "rep": [0]}, None, seed=0, **INLINE)
    b = run_sweep(noisy, grid_product(x=[1, 2], rep=[0]), None, seed=0, **INLINE)
    assert a.equals(b)


def test_default_seed_is_fresh_entropy_recorded_in_the_summary():
    a = run_sweep(noisy, GRID[:3], None, **INLINE)
    b = run_sweep(noisy, GRID[:3], None, **INLINE)
    assert not a.equals(b)  # seed=None: fresh entropy each call ...
    seed = np.random.SeedSequence(a.attrs["sweep"]["seed"]["entropy"])
    assert run_sweep(noisy, GRID[:3], None, seed=seed, **INLINE).equals(a)  # ... recorded, so reproducible


@pytest.mark.parametrize("n_jobs, expected", [(None, None), (2, 2), (-1, "all")])
def test_n_jobs_follows_the_package_convention(n_jobs, expected):
    import os

    from mesoscale._validation import check_n_jobs

    assert check_n_jobs(n_jobs) == (os.cpu_count() if expected == "all" else expected)
    with pytest.raises(ValueError, match="'n_jobs'.*got 0"):
        run_sweep(noisy, GRID[:2], None, n_jobs=0, **INLINE)


# ---------------------------------------------------------------------------------------------
# stores


def test_store_roundtrip_and_resume(tmp_path):
    store = tmp_path / "s"
    ref = run_sweep(noisy, GRID, None, seed=2, **INLINE)
    f1 = Counter(interrupt_after=9)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(f1, GRID, store, seed=2, batch_size=4, **INLINE)
    st = sweep_status(store)
    assert st["n_done"] == 8 and st["n_missing"] == len(GRID) - 8  # two whole batches were stored
    f2 = Counter()
    out = run_sweep(f2, GRID, store, seed=2, batch_size=4, **INLINE)
    assert f2.calls == [p["x"] for p in GRID[8:]]  # only the missing tasks ran
    assert out.attrs["sweep"]["n_done_before"] == 8 and out.attrs["sweep"]["n_computed"] == len(GRID) - 8
    full = run_sweep(Counter(), GRID, None, seed=2, **INLINE)
    assert out.equals(full)
    assert load_sweep(store).equals(out)
    f3 = Counter()
    again = run_sweep(f3, GRID, store, seed=2, **INLINE)
    assert f3.calls == [] and again.equals(out)
    # a store gives the same table as an in-memory run of the same function
    s2 = tmp_path / "s2"
    assert run_sweep(noisy, GRID, s2, seed=2, batch_size=5, **INLINE).equals(ref)
    assert load_sweep(s2).equals(ref)


def test_store_refuses_other_grid_seed_or_directory(tmp_path):
    store = tmp_path / "s"
    run_sweep(noisy, GRID, store, seed=1, **INLINE)
    with pytest.raises(ValueError, match="different grid"):
        run_sweep(noisy, GRID[:-1], store, seed=1, **INLINE)
    with pytest.raises(ValueError, match="different grid"):
        run_sweep(noisy, GRID[::-1], store, seed=1, **INLINE)
    with pytest.raises(ValueError, match="seed"):
        run_sweep(noisy, GRID, store, seed=2, **INLINE)
    # seed=None continues with the store's own seed
    assert run_sweep(noisy, GRID, store, seed=None, **INLINE).equals(run_sweep(noisy, GRID, None, seed=1, **INLINE))
    other = tmp_path / "notastore"
    other.mkdir()
    (other / "data.txt").write_text("x")
    with pytest.raises(ValueError, match="not a sweep store"):
        run_sweep(noisy, GRID, other, **INLINE)
    with pytest.raises(ValueError, match="not a sweep store"):
        sweep_status(other)
    with pytest.warns(SweepWarning, match="made by function"):
        run_sweep(Counter(), GRID, store, seed=1, **INLINE)


def scaled(params, rng, *, factor, model):
    """A task with fixed arguments (bound by functools.partial, as fit() binds its model and target)."""
    return {"y": params["x"] * factor + model["shift"] + rng.random()}


def test_store_refuses_other_fixed_arguments(tmp_path):
    import functools
    import subprocess
    import sys

    store = tmp_path / "s"
    task = functools.partial(scaled, factor=2.0, model={"shift": np.arange(3.0)[1], "tags": {"a", "b", "c"}})
    first = run_sweep(task, GRID, store, seed=1, **INLINE)
    again = functools.partial(scaled, factor=2.0, model={"tags": {"c", "b", "a"}, "shift": 1.0})  # same values
    assert run_sweep(again, GRID, store, seed=1, **INLINE).equals(first)
    for other in (functools.partial(scaled, factor=3.0, model={"shift": 1.0, "tags": {"a", "b", "c"}}),
                  functools.partial(scaled, factor=2.0, model={"shift": 1.0, "tags": {"a", "b"}})):
        with pytest.raises(ValueError, match="other fixed arguments"):
            run_sweep(other, GRID, store, seed=1, **INLINE)
    # the record is the same in a process with another string-hash seed (sets of strings have no fixed order)
    code = ("import functools, numpy as np; from mesoscale.sweep._keys import _fn_arguments; import tests.test_sweep as t;"
            "print(_fn_arguments(functools.partial(t.scaled, factor=2.0, model={'shift': 1.0, 'tags': {'a', 'b', 'c'}})))")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parents[1], env={**__import__("os").environ, "PYTHONHASHSEED": h}
                              ).stdout.strip() for h in ("1", "2")}
    assert len(digests) == 1 and len(next(iter(digests))) == 64
    # a store written before the record existed is continued as before
    man = json.loads((store / "manifest.json").read_text())
    del man["fn_arguments"]
    (store / "manifest.json").write_text(json.dumps(man))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_sweep(task, GRID, store, seed=1, **INLINE).equals(first)


@pytest.mark.filterwarnings("ignore:store .* was made by function")
def test_partial_and_corrupt_chunks_are_recomputed(tmp_path):
    store = tmp_path / "s"
    ref = run_sweep(noisy, GRID, store, seed=4, batch_size=6, **INLINE)
    chunks = sorted((store / "chunks").glob("*.parquet"))
    assert len(chunks) == 4
    data = chunks[1].read_bytes()
    chunks[1].write_bytes(data[: len(data) // 2])  # a truncated write
    (store / "chunks" / ".part-x.parquet.abc.tmp").write_bytes(b"half")  # a write that never finished
    # a chunk copied in from another store of a different grid
    other = tmp_path / "o"
    run_sweep(noisy, GRID[:6], other, seed=4, **INLINE)
    foreign = next((other / "chunks").glob("*.parquet"))
    (store / "chunks" / "part-99999999-foreign.parquet").write_bytes(foreign.read_bytes())
    calls = []

    def counted(params, rng):
        calls.append(params["x"])
        return noisy(params, rng)

    with pytest.warns(SweepWarning, match="unusable"):
        out = run_sweep(counted, GRID, store, seed=4, **INLINE)
    assert sorted(calls) == sorted(p["x"] for p in GRID[6:12])
    assert list((store / "chunks").glob("*.tmp")) == [] and list((store / "chunks").glob(".*.tmp")) == []
    assert len(list((store / "corrupt").iterdir())) == 2
    assert out.equals(ref)
    assert load_sweep(store).equals(ref)


def test_duplicate_chunks_never_duplicate_rows(tmp_path):
    store = tmp_path / "s"
    ref = run_sweep(noisy, GRID, store, seed=4, batch_size=6, **INLINE)
    first = sorted((store / "chunks").glob("*.parquet"))[0]
    (store / "chunks" / "part-00000000-copy.parquet").write_bytes(first.read_bytes())
    with pytest.warns(SweepWarning, match="repeats"):
        out = load_sweep(store)
    assert len(out) == len(GRID) and out.equals(ref)


def test_failures_recorded_and_retried(tmp_path):
    store = tmp_path / "s"
    bad = Counter(fail_on={3, 7})
    with pytest.warns(SweepWarning, match="4 of 24 sweep tasks failed"):
        df = run_sweep(bad, GRID, store, seed=0, **INLINE)
    assert len(df) == len(GRID) - 4 and 3 not in df["x"].tolist()
    fails = load_failures(store)
    assert fails["x"].tolist() == [3, 3, 7, 7] and set(fails["_error"]) == {"RuntimeError"}
    assert "bad x=3" in fails["_traceback"].iloc[0]
    st = sweep_status(store)
    assert (st["n_done"], st["n_failed"], st["n_missing"]) == (20, 4, 0)
    # without retry_failed the failures are left alone
    quiet = Counter()
    with pytest.warns(SweepWarning):
        run_sweep(quiet, GRID, store, seed=0, **INLINE)
    assert quiet.calls == []
    # retry_failed reruns only those
    good = Counter()
    out = run_sweep(good, GRID, store, seed=0, retry_failed=True, **INLINE)
    assert sorted(good.calls) == [3, 3, 7, 7]
    assert out.equals(run_sweep(Counter(), GRID, None, seed=0, **INLINE))
    assert load_failures(store).empty and sweep_status(store)["n_failed"] == 0


def test_in_memory_failures_in_attrs():
    with pytest.warns(SweepWarning):
        df = run_sweep(Counter(fail_on={0}), GRID[:4], None, **INLINE)
    s = df.attrs["sweep"]
    assert s["n_failed"] == 2 and s["failures"][0]["params"] == {"x": 0, "rep": 0}
    assert "RuntimeError: bad x=0" in s["failures"][0]["traceback"]


def test_summary_printed_with_progress(capsys):
    run_sweep(noisy, GRID[:3], None, client="inline", progress=True)
    out = capsys.readouterr().out
    assert "sweep: 3 tasks (0 already stored, 3 computed, 0 failed) -> 3 rows" in out


# ---------------------------------------------------------------------------------------------
# command line

TASK_FILE = '''
def square(params, rng):
    if params["x"] < 0:
        raise ValueError("negative")
    return {"y": params["x"] ** 2, "u": rng.random()}
'''


def test_cli_run_status_failures_export(tmp_path, capsys):
    (tmp_path / "tasks.py").write_text(TASK_FILE)
    (tmp_path / "grid.yml").write_text("seed: 3\naxes:\n  x: [-1, 1, 2, 3]\n  rep: [0, 1]\n")
    store = str(tmp_path / "store")
    argv = ["sweep", "run", f"{tmp_path / 'tasks.py'}:square", "--grid", str(tmp_path / "grid.yml"),
            "--store", store, "--scheduler", "synchronous", "--no-progress"]
    with pytest.warns(SweepWarning):
        assert sweep.main(argv) == 1  # two tasks failed
    assert "8 tasks (0 already stored, 6 computed, 2 failed)" in capsys.readouterr().out
    assert sweep.main(["sweep", "status", store]) == 0
    out = capsys.readouterr().out
    assert "8 tasks -- 6 done, 2 failed, 0 missing" in out and "'entropy': 3" in out
    assert sweep.main(["sweep", "status", store, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_done"] == 6
    assert sweep.main(["sweep", "failures", store]) == 1
    assert "ValueError: negative" in capsys.readouterr().out
    assert sweep.main(["sweep", "export", store, str(tmp_path / "out.csv")]) == 0
    df = pd.read_csv(tmp_path / "out.csv")
    assert df["y"].tolist() == [1, 1, 4, 4, 9, 9]
    # the stored values equal an in-process run with the grid file's seed
    mod = sweep._import_callable(f"{tmp_path / 'tasks.py'}:square")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SweepWarning)
        expected = run_sweep(mod, grid_product(x=[-1, 1, 2, 3], rep=[0, 1]), None, seed=3, **INLINE)
    np.testing.assert_array_equal(df["u"].to_numpy(), expected["u"].to_numpy())


def test_cli_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "grid.yml").write_text("axes:\n  x: [1, 2]\n")
    store = tmp_path / "s"
    run_sweep(noisy, [{"x": 5}], store, **INLINE)
    argv = ["sweep", "run", "tests.nowhere:fn", "--grid", str(tmp_path / "grid.yml"), "--store", str(store)]
    assert sweep.main(argv) == 2
    assert "mesoscale sweep: error: No module named 'tests.nowhere'" in capsys.readouterr().err
    argv[2] = "mesoscale.sweep:task_key"
    assert sweep.main(argv) == 2
    assert "different grid" in capsys.readouterr().err
    assert sweep.main(["sweep", "status", str(tmp_path)]) == 2
    assert "not a sweep store" in capsys.readouterr().err


def test_cli_grid_file_forms(tmp_path):
    p = tmp_path / "g.yml"
    p.write_text("tasks:\n  - {a: 1}\n  - {a: 2, b: x}\n")
    assert sweep.read_grid_file(p) == ([{"a": 1}, {"a": 2, "b": "x"}], {})
    p.write_text("a: [1, 2]\nbatch_size: 4\n")
    assert sweep.read_grid_file(p) == ([{"a": 1}, {"a": 2}], {"batch_size": 4})
    p.write_text("- {a: 1}\n")
    assert sweep.read_grid_file(p) == ([{"a": 1}], {})
    p.write_text("axes: {a: [1]}\ntasks: [{a: 1}]\n")
    with pytest.raises(ValueError, match="both"):
        sweep.read_grid_file(p)
    with pytest.raises(ValueError, match="module:function"):
        sweep._import_callable("nocolon")


def test_register_cli_adds_subcommand():
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    sweep.register_cli(sub)
    args = parser.parse_args(["sweep", "status", "somewhere"])
    assert args.func is sweep.cli_handler and args.store == "somewhere"


# ---------------------------------------------------------------------------------------------
# SLURM example configuration (no SLURM here: only the generated job script is checked)


def test_slurm_gpu_example_config_gives_one_worker_per_gpu():
    import dask
    import yaml
    from dask_jobqueue import SLURMCluster

    cfg = yaml.safe_load((Path(__file__).parents[1] / "examples" / "slurm_gpu.yaml").read_text())
    with dask.config.set({f"jobqueue.slurm.{k}": v for k, v in cfg["jobqueue"]["slurm"].items()}):
        cluster = SLURMCluster(scheduler_options={"host": "127.0.0.1", "dashboard_address": ":0"})
        try:
            script = cluster.job_script()
        finally:
            cluster.close()
    assert "#SBATCH --gres=gpu:1" in script
    assert "#SBATCH --cpus-per-task=8" in script
    assert "--nthreads 1" in script and "--nworkers" not in script  # one single-threaded worker per job
    assert "--resources GPU=1" in script


def test_heterogeneous_records_assemble(tmp_path):
    # incompatible types for one column in different tasks, and a record column that is a
    # parameter of other tasks: the table is still assembled, in grid order
    def fn(p, rng):
        if p["model"] == "a":
            return {"val": 1, "eta": 0.5}
        return {"val": "text"}

    grid = [{"model": "a"}, {"model": "b", "eta": -1.0}]
    for store in (None, tmp_path / "s"):
        df = run_sweep(fn, grid, store, batch_size=1, **INLINE)
        assert df["model"].tolist() == ["a", "b"]
        assert df["val"].tolist() == [1, "text"]
        assert df["eta_record"].tolist()[0] == 0.5 and df["eta"].tolist()[1] == -1.0


def test_docstring_examples():
    import doctest

    from mesoscale.sweep import _cli, _execution, _keys, _store

    attempted = 0
    for module in (sweep, _keys, _store, _execution, _cli):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted >= 8


@settings(max_examples=15, deadline=None)
@given(
    order=st.permutations(list(range(8))),
    batch=st.one_of(st.none(), st.integers(1, 9)),
    seed=st.integers(0, 2**32),
)
def test_table_is_a_function_of_seed_and_parameters_only(order, batch, seed):
    def scaled(params, rng):
        return {"y": params["a"] * rng.standard_normal(), "draws": rng.random(3)}

    grid = grid_product(a=[0.5, 2.0], b=["u", "v"], rep=[0, 1])
    ref = run_sweep(scaled, grid, None, seed=seed, **INLINE).set_index(["a", "b", "rep"])
    got = run_sweep(scaled, [grid[i] for i in order], None, seed=seed, batch_size=batch, **INLINE)
    assert [tuple(r) for r in got[["a", "b", "rep"]].to_numpy()] == [tuple(grid[i].values()) for i in order]
    got = got.set_index(["a", "b", "rep"]).loc[ref.index]
    np.testing.assert_array_equal(got["y"].to_numpy(), ref["y"].to_numpy())
    np.testing.assert_array_equal(np.stack(got["draws"]), np.stack(ref["draws"]))


def test_book_shows_the_job_script_dask_jobqueue_generates_from_the_example():
    import re

    import dask
    import yaml
    from dask_jobqueue import SLURMCluster

    root = Path(__file__).parents[1]
    cfg = yaml.safe_load((root / "examples" / "slurm_gpu.yaml").read_text())
    with dask.config.set({f"jobqueue.slurm.{k}": v for k, v in cfg["jobqueue"]["slurm"].items()}):
        cluster = SLURMCluster(scheduler_options={"host": "127.0.0.1", "dashboard_address": ":0"})
        try:
            script = cluster.job_script()
        finally:
            cluster.close()
    book = (root / "book" / "sweeps.md").read_text()
    shown = book.split("dask-jobqueue writes the following job script", 1)[1].split("```bash\n", 1)[1]
    shown = shown.split("```", 1)[0].strip().splitlines()
    generated = script.strip().splitlines()
    # the worker command: the same flags; address, python and name are filled in at run time
    worker = re.sub(r"^\S+ -m", "python -m", generated[-1])
    worker = re.sub(r"tcp://\S+", "tcp://SCHEDULER:PORT", worker)
    worker = re.sub(r"--name \S+", "--name NAME", worker)
    assert shown[:-1] == generated[:-1]
    assert shown[-1] == worker
