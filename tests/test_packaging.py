"""`pip install mesoscale` is the library alone: the heavy tools around it are extras."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib

from conftest import ROOT

#: Tools that belong to the compendium (book, lab, cluster, browser tests), not to the library.
EXTRAS_ONLY = ("jupyter-book", "jupyterlab", "dask-jobqueue", "playwright", "papermill", "ipywidgets", "pytest")


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements):
    import re

    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].strip().lower() for r in requirements}


def test_heavy_tools_are_extras_not_dependencies():
    project = _project()
    core = _names(project["dependencies"])
    assert not core & set(EXTRAS_ONLY), f"core dependencies include tools: {sorted(core & set(EXTRAS_ONLY))}"
    extras = project["optional-dependencies"]
    assert {"jupyter-book"} <= _names(extras["book"]) and {"jupyterlab"} <= _names(extras["lab"])
    assert {"dask-jobqueue"} <= _names(extras["cluster"]) and {"playwright"} <= _names(extras["test"])


def test_the_library_imports_without_the_extras():
    # Import every public module with the extras made unimportable, as on a plain `pip install mesoscale`.
    blocked = ["jupyter_book", "jupyterlab", "dask_jobqueue", "playwright", "papermill", "ipywidgets", "sphinx"]
    code = textwrap.dedent(
        f"""
        import importlib, importlib.abc, pkgutil, sys
        BLOCKED = {blocked!r}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(f"{{name}} is blocked")
        sys.meta_path.insert(0, Block())
        import mesoscale
        skip = {{"mesoscale.sphinxext"}}  # a Sphinx plug-in: only loaded by the book build
        names = [m.name for m in pkgutil.walk_packages(mesoscale.__path__, "mesoscale.")
                 if m.name not in skip and not m.name.endswith("__main__")]
        for name in names:
            importlib.import_module(name)
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not leaked, leaked
        print(len(names))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.split()[-1]) > 30


def test_running_notebooks_without_papermill_says_what_to_install():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["papermill"] = None  # as if not installed
        from mesoscale import runner
        try:
            runner.notebook_parameters(runner.discover()[0])
        except runner.RunnerError as exc:
            print(exc)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "pip install 'mesoscale[notebooks]'" in proc.stdout, proc.stdout + proc.stderr
