"""Stored runs: each chapter's results computed once, kept in ``results/``, rendered by the book.

A *run* is the set of tables a chapter computes from one set of parameters. It is identified by
the chapter and the **fingerprint** of its parameters (a hash of every parameter the notebook
declares, except those that change how it runs but not what it finds:
:data:`NON_RESULT_PARAMETERS`). A notebook opens its run first thing::

    run = open_run("04_fitting_connectomes", namespace=globals())
    fitted = run.frames("fits", lambda: ...)          # computed once, read afterwards

and every result passes through :meth:`Run.frame` / :meth:`Run.frames` / :meth:`Run.json`:

* when ``results/<chapter>/manifest.json`` holds the same fingerprint (the *stored run*), the
  tables are read from ``results/<chapter>/``; a table it lacks is computed into the scratch
  folder below and read from there ("recompute only what is missing");
* otherwise (other parameters: papermill ``-p``, another profile) everything is computed afresh
  into ``stores/runs/<chapter>-<fingerprint>/``, and the notebook says so.

Each folder holds one Parquet file per table (or a JSON file) and a ``manifest.json``: the
chapter, fingerprint and parameters, the seeds, the commit, package versions and device
(:mod:`mesoscale.provenance`), the wall and CPU time each table took, and each file's size
and SHA-256. ``mesoscale results store CHAPTER`` promotes a finished scratch run into
``results/`` (atomically, and only while all of ``results/`` stays within
:data:`RESULTS_BUDGET_BYTES`); ``mesoscale results list`` and ``check`` report on them. A run
is *complete* once its notebook ran to the end (:meth:`Run.close`); a long run can be stored
part by part while it computes (each finished table is kept, and a later execution at the same
parameters computes only the rest). The book's default profile (``paper``,
:mod:`mesoscale.runner`) runs every chapter with a *complete* stored run at that run's
parameters, so ``make book`` renders the stored results.

Examples
--------
>>> import tempfile, pandas as pd
>>> root = tempfile.mkdtemp()
>>> run = open_run("demo", parameters={"n": 3, "progress": False}, root=root)
>>> run.stored, run.fingerprint == parameter_fingerprint({"n": 3})
(False, True)
>>> run.frame("squares", lambda: pd.DataFrame({"x": range(run.parameters["n"])})).x.tolist()
[0, 1, 2]
>>> run.frame("squares", lambda: 1 / 0).x.tolist()      # read back, not recomputed
[0, 1, 2]
>>> _ = run.close(); promote_run("demo", root=root).name
'demo'
>>> open_run("demo", parameters={"n": 3}, root=root).stored
True
"""

from __future__ import annotations

from ._common import (
    NON_RESULT_PARAMETERS,
    RESULTS_BUDGET_BYTES,
    parameter_fingerprint,
    result_parameters,
    results_dir,
    scratch_dir,
)
from .run import Run, open_run
from .stored import amend_table, check_stored_runs, promote_run, stored_runs

__all__ = [
    "NON_RESULT_PARAMETERS",
    "RESULTS_BUDGET_BYTES",
    "Run",
    "open_run",
    "parameter_fingerprint",
    "result_parameters",
    "promote_run",
    "amend_table",
    "stored_runs",
    "check_stored_runs",
    "results_dir",
    "scratch_dir",
]
