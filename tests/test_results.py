"""Stored runs (results/): computed once, read back, promoted atomically, checked against the notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from mesoscale import results, runner
from mesoscale.results import (
    amend_table,
    check_stored_runs,
    open_run,
    parameter_fingerprint,
    promote_run,
    stored_runs,
)

ROOT = Path(__file__).resolve().parents[1]

#: Chapters whose stored run must exist in results/ (issue 20: every chapter, as their paper-grade runs land).
STORED_CHAPTERS: tuple[str, ...] = (
    "00_modularity_primer", "01_generative_models", "02_phase_transitions", "03_connectomes", "04_fitting_connectomes",
    "05_modular_training", "06_generalization_robustness", "07_local_learning", "08_weighted_and_timed_models")


def _project(tmp_path: Path, params: str = "n = 3  # size\nseed = 0\nn_jobs = 1") -> Path:
    (tmp_path / "notebooks" / "profiles").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("print(n)")]
    nbformat.write(nb, tmp_path / "notebooks" / "ch.ipynb")
    for prof in ("smoke", "quick", "full"):
        (tmp_path / "notebooks" / "profiles" / f"{prof}.yml").write_text("ch:\n  n: 4\n  n_jobs: 2\n")
    return tmp_path


class Counter:
    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


def test_tables_are_computed_once_and_read_back(tmp_path):
    df = pd.DataFrame({"a": np.arange(5), "b": list("vwxyz")}, index=pd.Index(list("pqrst"), name="key"))
    make = Counter(df)
    run = open_run("ch", {"n": 3}, root=tmp_path)
    first = run.frame("t", make)
    again = open_run("ch", {"n": 3}, root=tmp_path).frame("t", make)
    assert make.calls == 1
    pd.testing.assert_frame_equal(first, df)
    pd.testing.assert_frame_equal(again, df)
    manifest = json.loads((run.folder / "manifest.json").read_text())
    assert manifest["fingerprint"] == run.fingerprint and set(manifest["tables"]) == {"t"}
    assert manifest["tables"]["t"]["cpu_s"] >= 0 and len(manifest["tables"]["t"]["sha256"]) == 64


def test_groups_of_frames_round_trip(tmp_path):
    group = {
        "plain": pd.DataFrame({"x": [1.0, np.nan], "y": ["a", "b"]}),
        "indexed": pd.DataFrame({"z": [3, 4]}, index=pd.MultiIndex.from_tuples([("u", 1), ("v", 2)], names=["k", "j"])),
    }
    run = open_run("ch", {}, root=tmp_path)
    out = run.frames("g", lambda: group)
    back = open_run("ch", {}, root=tmp_path).frames("g", lambda: 1 / 0)
    for key in group:
        pd.testing.assert_frame_equal(out[key], group[key], check_dtype=False)
        pd.testing.assert_frame_equal(back[key], group[key], check_dtype=False)


def test_a_failed_computation_writes_nothing(tmp_path):
    run = open_run("ch", {"n": 1}, root=tmp_path)
    with pytest.raises(ZeroDivisionError):
        run.frame("bad", lambda: 1 / 0)
    with pytest.raises(TypeError, match="must return a DataFrame"):
        run.frame("wrong", lambda: [1, 2])
    assert not list(run.folder.glob("*.parquet")) and not (run.folder / "manifest.json").exists()
    with pytest.raises(ValueError, match="table name"):
        run.frame("../escape", lambda: pd.DataFrame())
    with pytest.raises(ValueError, match="'chapter'"):
        open_run("../x", {}, root=tmp_path)
    with pytest.raises(ValueError, match="exactly one"):
        open_run("ch", root=tmp_path)


def test_fingerprint_ignores_how_a_run_runs_but_not_what_it_computes():
    base = {"seed": 0, "datasets": ["a", "b"]}
    assert parameter_fingerprint({**base, "n_jobs": 16, "progress": False, "store_dir": "x"}) == parameter_fingerprint(base)
    assert parameter_fingerprint({**base, "seed": 1}) != parameter_fingerprint(base)
    assert parameter_fingerprint({**base, "datasets": ["b", "a"]}) != parameter_fingerprint(base)
    assert parameter_fingerprint({"x": np.int64(3)}) == parameter_fingerprint({"x": 3})


def test_promoted_run_is_read_and_other_parameters_compute_afresh(tmp_path):
    make = Counter(pd.DataFrame({"v": [1, 2]}))
    run = open_run("ch", {"n": 3, "seed": 0}, root=tmp_path, budget="tiny")
    run.frame("t", make)
    run.json("summary", lambda: {"best": 1})
    dest = promote_run("ch", root=tmp_path)
    assert dest == tmp_path / "results" / "ch" and (dest / "t.parquet").is_file()
    stored = open_run("ch", {"n": 3, "seed": 0, "n_jobs": 4}, root=tmp_path)
    assert stored.stored and stored.frame("t", make).v.tolist() == [1, 2] and make.calls == 1
    assert "stored run `results/ch`" in stored.status() and stored.label.endswith("stored")
    other = open_run("ch", {"n": 5, "seed": 0}, root=tmp_path)
    assert not other.stored
    text = other.status()
    assert "computed afresh" in text and "`n`" in text and "`seed`" not in text
    assert other.frame("t", make) is not None and make.calls == 2
    other.close()
    again = open_run("ch", {"n": 5, "seed": 0}, root=tmp_path)
    assert again.resumed and not again.stored and "begun earlier" in again.status()
    assert again.frame("t", make) is not None and make.calls == 2 and again.computed == []
    assert not stored.resumed and not open_run("ch", {"n": 6, "seed": 0}, root=tmp_path).resumed
    table = stored_runs(tmp_path)
    assert table["chapter"].tolist() == ["ch"] and table["tables"].tolist() == [2]


def test_a_stored_run_computes_only_its_missing_tables_and_promotion_merges(tmp_path):
    run = open_run("ch", {"n": 3}, root=tmp_path)
    run.frame("old", lambda: pd.DataFrame({"a": [1]}))
    promote_run("ch", root=tmp_path)
    again = open_run("ch", {"n": 3}, root=tmp_path)
    assert again.frame("old", lambda: 1 / 0).a.tolist() == [1]
    assert again.frame("new", lambda: pd.DataFrame({"b": [2]})).b.tolist() == [2]
    assert again.computed == ["new"] and "lacks them: new" in again.status()
    promote_run("ch", again.fingerprint, root=tmp_path)
    manifest = json.loads((tmp_path / "results" / "ch" / "manifest.json").read_text())
    assert set(manifest["tables"]) == {"old", "new"}
    final = open_run("ch", {"n": 3}, root=tmp_path)
    assert final.frame("new", lambda: 1 / 0).b.tolist() == [2] and final.computed == []


def test_tables_a_stored_run_lacked_accumulate_over_executions(tmp_path):
    # a stored run missing two tables, computed by two executions: the second must not drop the first from
    # the scratch manifest (else the promotion stores only the last one and the book recomputes the other)
    root = _project(tmp_path)
    run = open_run("ch", {"n": 3}, root=root)
    run.frame("fits", lambda: pd.DataFrame({"a": [1]}))
    run.close()
    promote_run("ch", root=root)
    amend_table("ch", "fits", pd.DataFrame({"a": [2]}), why="a fix", root=root)
    first = open_run("ch", {"n": 3}, root=root)
    first.frame("compare", lambda: pd.DataFrame({"b": [1]}))
    second = open_run("ch", {"n": 3}, root=root)
    assert second.frame("compare", lambda: 1 / 0).b.tolist() == [1]
    second.frame("threshold", lambda: pd.DataFrame({"c": [1]}))
    assert set(json.loads((second.folder / "manifest.json").read_text())["tables"]) == {"fits", "compare", "threshold"}
    promote_run("ch", second.fingerprint, root=root)
    m = json.loads((root / "results" / "ch" / "manifest.json").read_text())
    assert set(m["tables"]) == {"fits", "compare", "threshold"} and m["complete"]
    assert [a["table"] for a in m["amended"]] == ["fits"]  # the stored, amended table stands, with its record
    assert open_run("ch", {"n": 3}, root=root).frame("fits", lambda: 1 / 0).a.tolist() == [2]
    assert not [p for p in check_stored_runs(root) if "checksum" in p or "missing" in p]
    # a table whose timing was lost (recovered from its files) is said to be missing from the compute total
    m["tables"]["compare"]["recovered"] = "timing lost"
    (root / "results" / "ch" / "manifest.json").write_text(json.dumps(m))
    assert "not counting 1 tables whose timings were lost" in open_run("ch", {"n": 3}, root=root).status()


def test_amending_a_stored_table_rewrites_it_checksums_and_says_why(tmp_path):
    root = _project(tmp_path)
    run = open_run("ch", {"n": 3}, root=root)
    run.frame("t", lambda: pd.DataFrame({"a": [1, 2]}))
    run.frames("g", lambda: {"x": pd.DataFrame({"b": [1.0]}), "y": pd.DataFrame({"c": ["u"]})})
    run.close()
    promote_run("ch", root=root)
    before = json.loads((root / "results" / "ch" / "manifest.json").read_text())
    m = amend_table("ch", "g", {"x": pd.DataFrame({"b": [2.0]}), "y": pd.DataFrame({"c": ["v"]})},
                    why="interval about another statistic", root=root)
    m = amend_table("ch", "t", pd.DataFrame({"a": [3, 4]}), why="second fix", root=root)
    assert [a["table"] for a in m["amended"]] == ["g", "t"] and m["amended"][0]["why"] == "interval about another statistic"
    assert m["fingerprint"] == before["fingerprint"] and m["complete"]
    assert m["tables"]["t"]["sha256"] != before["tables"]["t"]["sha256"]
    assert m["tables"]["g"]["parts"] != before["tables"]["g"]["parts"]
    assert not [p for p in check_stored_runs(root) if "checksum" in p or "missing" in p]
    stored = open_run("ch", {"n": 3}, root=root)
    assert "2 of its tables were since recomputed" in stored.status() and "second fix" in stored.status()
    assert stored.stored and stored.frame("t", lambda: 1 / 0).a.tolist() == [3, 4]
    assert stored.frames("g", lambda: 1 / 0)["y"].c.tolist() == ["v"]
    with pytest.raises(KeyError, match="no table 'nope'"):
        amend_table("ch", "nope", pd.DataFrame(), why="x", root=root)
    with pytest.raises(ValueError, match="stored keys"):
        amend_table("ch", "g", {"x": pd.DataFrame()}, why="x", root=root)
    with pytest.raises(TypeError, match="DataFrame"):
        amend_table("ch", "t", {"a": 1}, why="x", root=root)
    with pytest.raises(ValueError, match="why"):
        amend_table("ch", "t", pd.DataFrame(), why=" ", root=root)
    (root / "results" / "ch" / "t.parquet").write_bytes(b"garbage")  # a corrupt run is not amended
    with pytest.raises(ValueError, match="checksum"):
        amend_table("ch", "g", {"x": pd.DataFrame({"b": [5.0]}), "y": pd.DataFrame({"c": ["w"]})}, why="x", root=root)
    assert json.loads((root / "results" / "ch" / "manifest.json").read_text())["amended"] == m["amended"]


def test_promotion_refuses_a_corrupt_run_and_the_budget(tmp_path, monkeypatch):
    run = open_run("ch", {"n": 3}, root=tmp_path)
    run.frame("t", lambda: pd.DataFrame({"a": np.arange(1000)}))
    (run.folder / "t.parquet").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="checksum"):
        promote_run("ch", root=tmp_path)
    assert not (tmp_path / "results" / "ch").exists()
    run2 = open_run("ch", {"n": 4}, root=tmp_path)
    run2.frame("t", lambda: pd.DataFrame({"a": np.arange(1000)}))
    monkeypatch.setattr(results.stored, "RESULTS_BUDGET_BYTES", 100)
    with pytest.raises(ValueError, match="budget"):
        promote_run("ch", run2.fingerprint, root=tmp_path)
    with pytest.raises(FileNotFoundError):
        promote_run("ch", "0" * 12, root=tmp_path)


def test_check_stored_runs_finds_stale_fingerprints_and_damaged_files(tmp_path):
    root = _project(tmp_path)
    run = open_run("ch", {"n": 3, "seed": 0, "n_jobs": 1}, root=root)
    run.frame("t", lambda: pd.DataFrame({"a": [1]}))
    promote_run("ch", root=root)
    assert check_stored_runs(root) == []
    # the notebook gains a parameter: the stored run no longer matches what it would compute
    nb = nbformat.read(root / "notebooks" / "ch.ipynb", as_version=4)
    nb.cells[0].source += "\nn_null = 20  # nulls"
    nbformat.write(nb, root / "notebooks" / "ch.ipynb")
    problems = check_stored_runs(root)
    assert problems and "fingerprint no longer matches" in problems[0] and "n_null" in problems[0]
    nb.cells[0].source = "seed = 0\nn_jobs = 1\nn_null = 20"  # and loses one
    nbformat.write(nb, root / "notebooks" / "ch.ipynb")
    assert any("no longer declares ['n']" in p for p in check_stored_runs(root))
    (root / "results" / "ch" / "t.parquet").write_bytes(b"x")
    assert any("checksum" in p for p in check_stored_runs(root))


def test_paper_profile_runs_chapters_at_their_stored_parameters(tmp_path):
    root = _project(tmp_path)
    assert runner.plan("paper", root=root)[0].parameters == {"n": 4, "seed": 0, "n_jobs": 2}  # no run: quick
    run = open_run("ch", {"n": 7, "seed": 3, "n_jobs": 1}, root=root)
    run.frame("t", lambda: pd.DataFrame({"a": [1]}))
    promote_run("ch", root=root)  # stored part-way: not rendered yet
    assert runner.plan("paper", root=root)[0].parameters == {"n": 4, "seed": 0, "n_jobs": 2}
    assert not stored_runs(root)["complete"].item()
    run.close()
    promote_run("ch", root=root)
    assert stored_runs(root)["complete"].item()
    planned = runner.plan("paper", root=root)[0]
    assert planned.parameters == {"n": 7, "seed": 3, "n_jobs": 2}  # stored results, quick's parallelism
    assert parameter_fingerprint(planned.parameters) == run.fingerprint


def test_use_parameters_parses_strings_from_plain_papermill_and_explains_failures(tmp_path):
    root = _project(tmp_path, "sizes = [1, 2]  # sizes\nrate = 0.5\nname = 'a'")
    ns = {"sizes": '["3", 4]', "rate": "0.25", "name": "b"}
    with pytest.raises(runner.RunnerError, match=r"sizes\[0\]"):
        runner.use_parameters(ns, "ch", root=root)
    ns = {"sizes": "[3, 4]", "rate": "0.25", "name": "b"}
    assert runner.use_parameters(ns, "ch", root=root) == {"sizes": [3, 4], "rate": 0.25, "name": "b"}
    assert ns["sizes"] == [3, 4]
    with pytest.raises(runner.RunnerError, match="-y"):
        runner.use_parameters({"sizes": "three", "rate": 0.1, "name": "b"}, "ch", root=root)
    with pytest.raises(runner.RunnerError, match="not defined"):
        runner.use_parameters({"sizes": [1]}, "ch", root=root)


def test_the_repository_stored_runs_match_their_notebooks():
    """Every stored run in results/ is still what its notebook would compute, and intact."""
    assert check_stored_runs(ROOT) == []
    table = stored_runs(ROOT)
    have = set(table.loc[table["complete"], "chapter"])
    missing = [c for c in STORED_CHAPTERS if c not in have]
    assert not missing, f"complete stored runs missing from results/: {missing}"
    total = sum(p.stat().st_size for p in (ROOT / "results").rglob("*") if p.is_file()) if (ROOT / "results").is_dir() else 0
    assert total <= results.RESULTS_BUDGET_BYTES


def test_cli_lists_stores_and_checks(tmp_path, monkeypatch, capsys):
    from mesoscale.cli import main

    root = _project(tmp_path)
    monkeypatch.setenv("MESOSCALE_ROOT", str(root))
    assert main(["results", "store", "ch"]) == 2 and "no computed run" in capsys.readouterr().err
    open_run("ch", {"n": 3, "seed": 0, "n_jobs": 1}).frame("t", lambda: pd.DataFrame({"a": [1]}))
    assert main(["results", "store", "ch"]) == 0
    assert main(["results", "list"]) == 0 and "ch" in capsys.readouterr().out
    assert main(["results", "check"]) == 0
    (root / "results" / "ch" / "t.parquet").write_bytes(b"x")
    assert main(["results", "check"]) == 1 and "checksum" in capsys.readouterr().out


def test_phase2_fits_survive_a_stored_run(tmp_path):
    """The chapter-04 tables go through Parquet and come back to the same rankings and best parameters."""
    from mesoscale.generative.archive import fits_from_frames, fits_to_frames
    from mesoscale.generative.study import fit_connectomes, prepare_connectomes, summarize_fits

    data, _ = prepare_connectomes(["human_dk68"])
    fitted = fit_connectomes(data, ["sptl", "matching"], top_k=3, n_boot=50, n_draws=6, levels=2, n_searches=2,
                             nesting="ignore", seed=4)
    run = open_run("ch", {"x": 1}, root=tmp_path)
    stored = fits_from_frames(run.frames("fits", lambda: fits_to_frames(fitted)), data)
    pd.testing.assert_frame_equal(stored["rankings"], fitted["rankings"])
    for a, b in zip(stored["searches"]["human_dk68"], fitted["searches"]["human_dk68"]):
        pd.testing.assert_frame_equal(a.best, b.best, atol=1e-6, check_dtype=False)
        pd.testing.assert_frame_equal(a.nesting, b.nesting, atol=1e-6, check_dtype=False)
    # the rankings recomputed from the stored networks agree with those computed from the fits
    again = summarize_fits(data, stored["searches"], top_k=3, n_boot=50, seed=4)
    pd.testing.assert_frame_equal(again["rankings"], fitted["rankings"], atol=1e-6, check_dtype=False)
    assert len(stored["fits"]["human_dk68"].table) == sum(len(f.table) for f in fitted["searches"]["human_dk68"])
