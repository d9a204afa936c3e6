"""Notebook hygiene: sources without outputs, one parameters cell, listed in the book, valid profiles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mesoscale import runner

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            files.append(chapter["file"])
            files += [s["file"] for s in chapter.get("sections", [])]
    return files


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") for c in code), f"{path.name} has outputs; clear them before committing"
    assert all(c.get("execution_count") is None for c in code), f"{path.name} has execution counts"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# "), (
        f"{path.name} must open with a '# Title' markdown cell"
    )
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameter_is_documented(path):
    for name, spec in runner.notebook_parameters(path).items():
        assert spec["help"], f"{path.name}: parameter {name!r} has no '# comment' explaining it"


def test_every_notebook_is_in_the_table_of_contents():
    toc = set(_toc_files())
    missing = [p.stem for p in NOTEBOOKS if f"book/{p.stem}" not in toc]
    assert not missing, f"notebooks missing from _toc.yml: {missing}"


def test_every_toc_entry_exists():
    for entry in _toc_files():
        stem = Path(entry).name
        if (ROOT / f"{entry}.md").exists() or (ROOT / "notebooks" / f"{stem}.ipynb").exists():
            continue
        pytest.fail(f"_toc.yml lists {entry!r} but there is neither {entry}.md nor notebooks/{stem}.ipynb")


@pytest.mark.parametrize("profile", runner.PROFILES)
def test_profiles_name_only_real_parameters(profile):
    runs = runner.plan(profile, root=ROOT)  # raises on unknown notebooks, names or wrongly typed values
    assert {r.name for r in runs} == {p.stem for p in NOTEBOOKS}


@pytest.mark.slow
def test_plain_papermill_runs_a_chapter_from_the_shell(tmp_path):
    """Users re-run chapters with plain papermill; the primer must work that way too."""
    import subprocess
    import sys
    from pathlib import Path as _P

    exe = _P(sys.executable).with_name("papermill")
    out = tmp_path / "primer.ipynb"
    args = [str(exe), str(ROOT / "notebooks" / "00_modularity_primer.ipynb"), str(out), "--cwd", str(tmp_path),
            "-y", "{n_nodes: [50], mean_degrees: [6], mu_values: [0.1]}", "-p", "sbm_n", "60",
            "-p", "n_seeds", "1", "-p", "n_null", "3", "-p", "n_runs", "1", "-p", "seed", "7"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    nb = json.loads(out.read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "seed = 7" in "".join(injected[0]["source"])


#: A chapter is narrative, parameters, calls into mesoscale and figures: logic beyond this lives in src.
MAX_CODE_LINES = 120


def code_lines(path: Path) -> int:
    """Non-blank, non-comment lines of code in a notebook."""
    nb = json.loads(path.read_text())
    lines = [
        line
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for line in "".join(c["source"]).splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    return len(lines)


def private_imports(path: Path) -> list[str]:
    """Lines of a notebook that import a private module or name of mesoscale."""
    import re

    nb = json.loads(path.read_text())
    pattern = re.compile(r"^\s*(from\s+mesoscale(\.\w+)*\s+import\s+.*\b_\w+|(from|import)\s+mesoscale(\.\w+)*\._\w+)")
    return [
        line.strip()
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for line in "".join(c["source"]).splitlines()
        if pattern.match(line)
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_thin(path):
    n = code_lines(path)
    assert n <= MAX_CODE_LINES, f"{path.name} has {n} code lines (at most {MAX_CODE_LINES}): move logic into src"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_imports_no_private_module(path):
    assert not private_imports(path), f"{path.name} imports private code: {private_imports(path)}"


def test_the_hygiene_checks_can_fail(tmp_path):
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": ["# a comment\n", "\n", "from mesoscale.metrics._x import y\n",
                       "from mesoscale.sweep import _task_rng\n", "import mesoscale._validation as v\n",
                       "from mesoscale.metrics import consensus_communities\n"]}
    nb = tmp_path / "x.ipynb"
    nb.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert code_lines(nb) == 4
    assert private_imports(nb) == ["from mesoscale.metrics._x import y", "from mesoscale.sweep import _task_rng",
                                   "import mesoscale._validation as v"]


def test_primer_findings_need_no_replicates_for_their_calibration():
    import pandas as pd

    from mesoscale.metrics.primer import primer_findings

    er = pd.DataFrame({"n": [50], "c": [6], "q": [0.4], "null_mean": [0.4], "z": [0.1], "delta": [0.0],
                       "delta_low": [-0.01], "delta_high": [0.01], "p_value": [0.5]})
    sbm = pd.DataFrame({"mu": [0.1], "q": [0.6], "null_mean": [0.3], "z": [9.0], "delta": [0.3], "delta_low": [0.2],
                        "delta_high": [0.4], "p_value": [0.25], "nmi": [1.0]})
    text = primer_findings(er, sbm, mu_star=0.4, n_null=3)
    assert "z on graphs without modules" not in text and text.startswith("1. **Random graphs")


@pytest.mark.slow
def test_plain_papermill_parses_a_list_given_with_p_or_says_to_use_y(tmp_path):
    """papermill -p passes strings: a list given that way is parsed, or the chapter stops saying to use -y."""
    import subprocess
    import sys
    from pathlib import Path as _P

    exe = _P(sys.executable).with_name("papermill")
    src = str(ROOT / "notebooks" / "00_modularity_primer.ipynb")
    common = ["--cwd", str(tmp_path), "-p", "sbm_n", "60", "-p", "n_seeds", "2", "-p", "n_null", "3", "-p", "n_runs", "1",
              "-y", "{mean_degrees: [6], mu_values: [0.1]}"]
    ok = subprocess.run([str(exe), src, str(tmp_path / "ok.ipynb"), "-p", "n_nodes", "[50]", *common],
                        capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stderr[-3000:]
    bad = subprocess.run([str(exe), src, str(tmp_path / "bad.ipynb"), "-p", "n_nodes", "fifty", *common],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "-y" in bad.stderr and "n_nodes" in bad.stderr
