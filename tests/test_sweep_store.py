"""Store compaction: atomic merging of chunks, crash safety under SIGKILL, light status, the CLI."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

from mesoscale import sweep
from mesoscale.sweep import compact_store, grid_product, load_sweep, run_sweep, sweep_status


def _fn(params, rng):
    return [{"y": params["x"] * 10 + r, "u": float(rng.random())} for r in range(params["x"] % 3)]


GRID = grid_product(x=range(60))


def _make(tmp_path, batch_size=4) -> Path:
    store = tmp_path / "s"
    run_sweep(_fn, GRID, store, client="inline", seed=5, batch_size=batch_size, progress=False)
    return store


def _chunks(store: Path) -> list[str]:
    return sorted(p.name for p in (store / "chunks").iterdir())


def test_compact_merges_and_keeps_table(tmp_path):
    store = _make(tmp_path)
    before, st0 = load_sweep(store), sweep_status(store)
    assert st0["n_chunks"] == 15
    r = compact_store(store, target_rows=25)
    assert r["chunks_before"] == 15 and 1 < r["chunks_after"] < 15
    assert len(_chunks(store)) == r["chunks_after"]
    pd.testing.assert_frame_equal(load_sweep(store), before)
    st1 = sweep_status(store)
    for k in ("n_done", "n_failed", "n_missing", "n_rows"):
        assert st1[k] == st0[k]
    assert st1["n_chunks"] == r["chunks_after"]
    assert json.loads((store / "compaction.json").read_text())["state"] == "idle"
    # a second compaction into one chunk, then nothing left to do
    assert compact_store(store)["chunks_after"] == 1
    assert compact_store(store)["chunks_after"] == 1
    df = run_sweep(_fn, GRID, store, client="inline", seed=5, progress=False)
    assert df.attrs["sweep"]["n_computed"] == 0
    pd.testing.assert_frame_equal(df.reset_index(drop=True), before)


def test_status_reads_footers_only(tmp_path):
    store = _make(tmp_path)
    st = sweep_status(store)
    assert (st["n_tasks"], st["n_done"], st["n_missing"], st["n_rows"]) == (60, 60, 0, len(load_sweep(store)))
    # status reads only footers: a chunk whose row data is damaged but whose footer is intact still
    # counts; loading (which reads rows) sets it aside
    from mesoscale.sweep import _store

    calls = []
    orig = _store.pq.read_table
    _store.pq.read_table = lambda *a, **k: calls.append(a) or orig(*a, **k)
    try:
        assert sweep_status(store)["n_done"] == 60
    finally:
        _store.pq.read_table = orig
    assert calls == []


def test_compact_refuses_bad_input(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="plain"):
        compact_store(tmp_path / "plain")
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "manifest.json").write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="fake.*not a sweep store"):
        compact_store(tmp_path / "fake")
    store = _make(tmp_path)
    with pytest.raises(ValueError, match="target_rows"):
        compact_store(store, target_rows=0)
    with pytest.raises(TypeError, match="store"):
        compact_store(3)


_CHILD = """
import sys
from mesoscale.sweep import compact_store
compact_store(sys.argv[1], target_rows=int(sys.argv[2]))
"""


def _compact_in_child(store, kill_at=None, target_rows=25):
    env = dict(os.environ)
    env.pop("MESOSCALE_SWEEP_KILL_AT", None)
    if kill_at:
        env["MESOSCALE_SWEEP_KILL_AT"] = kill_at
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(store), str(target_rows)], env=env)


def _check_intact(store, before, st0):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no duplicate-chunk or corrupt-chunk warnings
        pd.testing.assert_frame_equal(load_sweep(store), before)
        st = sweep_status(store)
    for k in ("n_done", "n_failed", "n_missing", "n_rows"):
        assert st[k] == st0[k], (k, st[k], st0[k])
    assert not [n for n in _chunks(store) if n.startswith(".compact-")]
    journal = store / "compaction.json"
    assert not journal.exists() or json.loads(journal.read_text())["state"] == "idle"


@pytest.mark.parametrize("kill_at", ["written", "prepared", "renamed", "committed", "deleted"])
def test_sigkill_mid_compaction_loses_and_duplicates_nothing(tmp_path, kill_at):
    store = _make(tmp_path)
    before, st0 = load_sweep(store), sweep_status(store)
    proc = _compact_in_child(store, kill_at)
    assert proc.wait(timeout=120) == -signal.SIGKILL
    journal = json.loads((store / "compaction.json").read_text()) if (store / "compaction.json").exists() else {}
    expected = {"written": None, "prepared": "prepared", "renamed": "prepared", "committed": "committed",
                "deleted": "committed"}[kill_at]
    assert journal.get("state") == expected
    _check_intact(store, before, st0)
    df = run_sweep(_fn, GRID, store, client="inline", seed=5, progress=False)
    assert df.attrs["sweep"]["n_computed"] == 0
    pd.testing.assert_frame_equal(df.reset_index(drop=True), before)
    compact_store(store, target_rows=25)  # and it can be compacted after the crash
    _check_intact(store, before, st0)


def test_sigkill_after_random_delays(tmp_path):
    rnd = random.Random(16)
    store = _make(tmp_path, batch_size=1)  # 60 chunks: compaction takes long enough to be hit
    before, st0 = load_sweep(store), sweep_status(store)
    killed = 0
    for _ in range(6):
        proc = _compact_in_child(store, target_rows=7)
        time.sleep(rnd.uniform(0.3, 2.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=120)
        _check_intact(store, before, st0)
        # undo the compaction (if it finished) so the next round has work again
        if len(_chunks(store)) < 60:
            for f in (store / "chunks").iterdir():
                f.unlink()
            (store / "compaction.json").unlink(missing_ok=True)
            run_sweep(_fn, GRID, store, client="inline", seed=5, batch_size=1, progress=False)
    assert run_sweep(_fn, GRID, store, client="inline", seed=5, progress=False).attrs["sweep"]["n_computed"] == 0


def test_cli_compact(tmp_path, capsys):
    store = _make(tmp_path)
    before = load_sweep(store)
    assert sweep.main(["sweep", "compact", str(store), "--target-rows", "1000"]) == 0
    out = capsys.readouterr().out
    assert "15 chunks -> 1" in out and "60 tasks" in out
    pd.testing.assert_frame_equal(load_sweep(store), before)
    assert sweep.main(["sweep", "status", str(store)]) == 0
    assert "in 1 chunks" in capsys.readouterr().out
    assert sweep.main(["sweep", "compact", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a sweep store" in err and str(tmp_path) in err


def test_status_reads_the_key_index_and_falls_back_when_it_cannot_be_trusted(tmp_path, monkeypatch):
    from mesoscale.sweep import _keys

    store = _make(tmp_path)
    assert (store / "keys.bin").stat().st_size == 32 * len(GRID)
    full = sweep_status(store)
    built = []
    real_build = _keys._Grid.build.__func__

    def counting_build(cls, grid):
        built.append(1)
        return real_build(cls, grid)

    monkeypatch.setattr(_keys._Grid, "build", classmethod(counting_build))
    assert sweep_status(store) == full and not built  # the fast path: no grid rebuilt
    # a damaged index is never trusted (and never makes good chunks look corrupt)
    data = bytearray((store / "keys.bin").read_bytes())
    data[5] ^= 0xFF
    (store / "keys.bin").write_bytes(bytes(data))
    assert sweep_status(store) == full and len(built) == 1
    assert not (store / "corrupt").exists()
    # a store written before the index existed: no keys.bin, no checksums
    (store / "keys.bin").unlink()
    man = json.loads((store / "manifest.json").read_text())
    for k in ("grid_file_sha256", "keys_sha256"):
        man.pop(k)
    (store / "manifest.json").write_text(json.dumps(man))
    old = {k: v for k, v in full.items() if k not in ("grid_file_sha256", "keys_sha256")}
    assert sweep_status(store) == old
    assert load_sweep(store).equals(load_sweep(_make(tmp_path / "again")))


def test_key_index_rejects_tasks_of_another_grid(tmp_path):
    from mesoscale.sweep._keys import _Grid, _KeyIndex

    g = _Grid.build(GRID)
    idx = _KeyIndex(__import__("numpy").frombuffer(g.digests(), "uint8").reshape(-1, 32), g.hash)
    assert idx.matches([0, 7, 59], [g.keys[0], g.keys[7], g.keys[59]])
    assert not idx.matches([0, 7], [g.keys[0], g.keys[8]])
    assert not idx.matches([60], [g.keys[0]]) and not idx.matches([-1], [g.keys[0]])
    assert not idx.matches([0], ["not-hex"])
    assert g.matches([3], [g.keys[3]]) and not g.matches([3], [g.keys[4]])
