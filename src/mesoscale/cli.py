"""The ``mesoscale`` command line.

::

    mesoscale notebooks list                       # notebooks and their parameters
    mesoscale notebooks run --profile smoke        # execute every notebook into book/
    mesoscale notebooks run --only 00_modularity_primer -p n_seeds=20
    mesoscale book build                           # render book/ into _build/html
    mesoscale sweep ...                            # persistent, resumable sweeps (see `mesoscale sweep -h`)
    mesoscale results list                         # the stored runs in results/ (compute, size, commit)
    mesoscale results store 04_fitting_connectomes # promote a chapter's computed run into results/
    mesoscale results check                        # stored runs still match their notebooks
    mesoscale provenance                           # what this environment would record
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from . import __version__


def _cmd_notebooks_run(args) -> int:
    from .runner import parse_overrides, run_notebooks

    overrides = parse_overrides(args.param or [])
    runs = run_notebooks(
        args.profile,
        only=args.only or None,
        overrides=overrides,
        output_dir=args.output_dir,
        progress=not args.no_progress,
    )
    total = sum(r.runtime_s or 0 for r in runs)
    print(f"executed {len(runs)} notebook(s) at profile {args.profile!r} in {total:.1f} s")
    return 0


def _cmd_notebooks_list(args) -> int:
    from .runner import discover, load_profile, notebook_parameters

    profile = load_profile(args.profile)
    for path in discover():
        print(path.stem)
        for name, spec in notebook_parameters(path).items():
            value = profile.get(path.stem, {}).get(name, spec["default"])
            help_ = f"  # {spec['help']}" if spec["help"] else ""
            print(f"    {name} = {value!r}{help_}")
    return 0


def _cmd_book_build(args) -> int:
    from .runner import find_root

    root = find_root()
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(root)]
    if args.strict:
        cmd += ["-W", "-n", "--keep-going"]
    print(" ".join(cmd))
    return subprocess.call(cmd)


def _cmd_results_list(args) -> int:
    from .results import stored_runs

    table = stored_runs()
    print(table.to_string(index=False) if len(table) else "no stored runs in results/")
    return 0


def _cmd_results_store(args) -> int:
    from .results import promote_run

    try:
        dest = promote_run(args.chapter, args.fingerprint)
    except (FileNotFoundError, ValueError) as exc:
        print(f"mesoscale: error: {exc}", file=sys.stderr)
        return 2
    print(f"stored {args.chapter} in {dest}")
    return 0


def _cmd_results_check(args) -> int:
    from .results import check_stored_runs

    problems = check_stored_runs()
    for p in problems:
        print(p)
    print("stored runs: ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


def _cmd_provenance(args) -> int:
    from .provenance import collect

    print(json.dumps(collect(), indent=2, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``mesoscale`` command (each sub-command sets ``func``).

    Examples
    --------
    >>> args = build_parser().parse_args(["notebooks", "run", "--profile", "smoke", "--only", "00_x"])
    >>> args.profile, args.only, args.func.__name__
    ('smoke', ['00_x'], '_cmd_notebooks_run')
    >>> build_parser().parse_args(["sweep", "run", "m:f", "--grid", "g.yml", "--store", "s", "--n-jobs", "2"]).n_jobs
    2
    """
    parser = argparse.ArgumentParser(prog="mesoscale", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mesoscale {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    nb = sub.add_parser("notebooks", help="run or list the compendium's notebooks")
    nb_sub = nb.add_subparsers(dest="action", required=True)
    run = nb_sub.add_parser("run", help="execute notebooks with papermill into book/")
    run.add_argument("--profile", default="quick",
                     help="smoke, quick (default), full, or paper (each chapter at its stored run's parameters)")
    run.add_argument("--only", action="append", metavar="NAME", help="notebook stem to run (repeatable)")
    run.add_argument("-p", "--param", action="append", metavar="NAME=VALUE", help="override a parameter")
    run.add_argument("--output-dir", default=None, help="where executed notebooks go (default: book/)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.set_defaults(func=_cmd_notebooks_run)
    ls = nb_sub.add_parser("list", help="list notebooks and their parameters at a profile")
    ls.add_argument("--profile", default="quick")
    ls.set_defaults(func=_cmd_notebooks_list)

    book = sub.add_parser("book", help="render the book")
    book_sub = book.add_subparsers(dest="action", required=True)
    build = book_sub.add_parser("build", help="jupyter-book build (execution off)")
    build.add_argument("--strict", action="store_true", help="warnings are errors (-W -n --keep-going)")
    build.set_defaults(func=_cmd_book_build)

    res = sub.add_parser("results", help="the stored runs of the chapters (results/)")
    res_sub = res.add_subparsers(dest="action", required=True)
    res_sub.add_parser("list", help="list the stored runs").set_defaults(func=_cmd_results_list)
    st = res_sub.add_parser("store", help="promote a chapter's computed run (stores/runs) into results/")
    st.add_argument("chapter", help="notebook stem, e.g. 04_fitting_connectomes")
    st.add_argument("--fingerprint", default=None, help="which computed run (default: the latest)")
    st.set_defaults(func=_cmd_results_store)
    res_sub.add_parser("check", help="check stored runs against the notebooks").set_defaults(func=_cmd_results_check)

    prov = sub.add_parser("provenance", help="print the provenance record of this environment")
    prov.set_defaults(func=_cmd_provenance)

    from .sweep import register_cli

    register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``mesoscale`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Errors of the runner are one line on stderr (exit code 2; 1 when a notebook failed).

    Examples
    --------
    >>> main(["notebooks", "run", "--profile", "no-such-profile"])
    2
    """
    from .runner import NotebookFailed, RunnerError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RunnerError as exc:
        print(f"mesoscale: error: {exc}", file=sys.stderr)
        return 2
    except NotebookFailed as exc:
        print(f"mesoscale: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mesoscale: interrupted; finished notebooks were kept", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
