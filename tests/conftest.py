"""Shared fixtures: the repository root, and (for the slow book tests) one smoke execution of every notebook."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("MESOSCALE_ARTIFACTS", ROOT / "artifacts"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory) -> Path:
    """A copy of the book's sources with every notebook executed at the smoke profile.

    Executed into a temporary folder so that `make test` never replaces the user's rendered book.
    """
    from mesoscale.runner import run_notebooks

    site = tmp_path_factory.mktemp("site")
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, site / name)
    shutil.copytree(
        ROOT / "book", site / "book", ignore=shutil.ignore_patterns("*.ipynb", ".tmp-*")
    )
    # The committed sources, which the launch buttons open (excluded from the book itself).
    shutil.copytree(ROOT / "notebooks", site / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    run_notebooks("smoke", output_dir=site / "book", root=ROOT, progress=False)
    return site


def build_book(site: Path, *extra: str, log_name: str = "jupyter-book-build.log", output: Path | None = None) -> Path:
    """Render ``site`` with Jupyter Book, warnings as errors; returns the folder of its HTML."""
    exe = Path(sys.executable).with_name("jupyter-book")
    args = [str(exe), "build", str(site), "-W", "-n", "--keep-going", *extra]
    if output is not None:
        args += ["--path-output", str(output)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / log_name).write_text(log)
    assert proc.returncode == 0, f"jupyter-book build failed:\n{log[-6000:]}"
    html = (output or site) / "_build" / "html"
    assert (html / "index.html").exists()
    return html


@pytest.fixture(scope="session")
def built_book(smoke_book) -> Path:
    """The smoke book rendered by Jupyter Book with warnings as errors; returns _build/html."""
    return build_book(smoke_book)


def wait_for(condition, timeout: float = 180, what: str = "condition", interval: float = 0.05) -> None:
    """Poll ``condition()`` until true; fail after ``timeout`` seconds (tests wait on events, not sleeps)."""
    import time

    t0 = time.monotonic()
    while not condition():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
