"""Tests of the ``mesoscale`` command line (mesoscale.cli)."""

from __future__ import annotations

import pytest

from mesoscale import cli


def test_sweep_run_takes_n_jobs_not_n_workers(capsys):
    parser = cli.build_parser()
    args = parser.parse_args(["sweep", "run", "m:f", "--grid", "g.yml", "--store", "s", "--n-jobs", "-1"])
    assert args.n_jobs == -1 and args.seed is None
    with pytest.raises(SystemExit):
        parser.parse_args(["sweep", "run", "m:f", "--grid", "g.yml", "--store", "s", "--n-workers", "2"])
    assert "--n-workers" in capsys.readouterr().err


def test_unknown_profile_is_one_line_exit_2(capsys):
    assert cli.main(["notebooks", "run", "--profile", "no-such-profile", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mesoscale: error:") and "no-such-profile" in err and "\n" not in err


def test_sweep_subcommand_runs_through_the_main_parser(tmp_path, capsys):
    (tmp_path / "tasks.py").write_text("def cube(params, rng):\n    return {'y': params['x'] ** 3}\n")
    (tmp_path / "grid.yml").write_text("axes:\n  x: [1, 2, 3]\n")
    store = str(tmp_path / "s")
    argv = ["sweep", "run", f"{tmp_path / 'tasks.py'}:cube", "--grid", str(tmp_path / "grid.yml"),
            "--store", store, "--scheduler", "synchronous", "--no-progress", "--seed", "4"]
    assert cli.main(argv) == 0
    assert cli.main(["sweep", "status", store]) == 0
    out = capsys.readouterr().out
    assert "3 tasks -- 3 done, 0 failed, 0 missing" in out
