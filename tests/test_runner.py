"""The papermill runner: validation before execution, atomic outputs, provenance, CLI errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mesoscale import runner
from mesoscale.runner import NotebookFailed, RunnerError


def _notebook(path: Path, params: str, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny"), p, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "notebooks" / "profiles").mkdir(parents=True)
    _notebook(
        tmp_path / "notebooks" / "01_tiny.ipynb",
        "n = 3  # nodes\nrate = 0.5\nlabel = 'a'\nsizes = [1, 2]\nseed = 0\nfail = False",
        "assert not fail, 'asked to fail'\nprint(n * rate, label, sizes, seed)",
    )
    _notebook(tmp_path / "notebooks" / "02_other.ipynb", "k = 2", "print(k)")
    for prof in runner.PROFILES:
        (tmp_path / "notebooks" / "profiles" / f"{prof}.yml").write_text("01_tiny:\n  n: 4\n")
    return tmp_path


def test_plan_merges_defaults_profile_and_overrides(project):
    runs = runner.plan("smoke", overrides={"rate": 2, "k": 5}, root=project)
    tiny, other = runs
    assert tiny.parameters == {"n": 4, "rate": 2.0, "label": "a", "sizes": [1, 2], "seed": 0, "fail": False}
    assert isinstance(tiny.parameters["rate"], float)
    assert tiny.injected == {"n": 4, "rate": 2.0}
    assert other.parameters == {"k": 5}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"profile": "fast"}, "unknown profile 'fast'"),
        ({"overrides": {"nodes": 3}}, "unknown parameter(s) ['nodes']"),
        ({"overrides": {"n": "abc"}}, "parameter 'n' expects a int"),
        ({"overrides": {"n": 2.5}}, "parameter 'n' expects a int"),
        ({"overrides": {"rate": "fast"}}, "parameter 'rate' expects a float"),
        ({"overrides": {"fail": 1}}, "parameter 'fail' expects a bool"),
        ({"overrides": {"sizes": 3}}, "parameter 'sizes' expects a list"),
        ({"overrides": {"sizes": [1, "x"]}}, "parameter 'sizes[1]' expects a int"),
        ({"only": ["03_missing"]}, "unknown notebook(s) ['03_missing']"),
        ({"only": ["02_other"], "overrides": {"n": 3}}, "not declared by 02_other"),
    ],
)
def test_bad_input_is_rejected_before_running(project, kwargs, message):
    kwargs.setdefault("profile", "smoke")
    with pytest.raises(RunnerError) as err:
        runner.plan(root=project, **kwargs)
    assert message in str(err.value)


def test_profile_with_unknown_parameter_is_rejected(project):
    (project / "notebooks" / "profiles" / "quick.yml").write_text("01_tiny:\n  nodes: 4\n")
    with pytest.raises(RunnerError, match=r"unknown parameter\(s\) \['nodes'\] for 01_tiny"):
        runner.plan("quick", root=project)
    (project / "notebooks" / "profiles" / "quick.yml").write_text("99_gone: {}\n")
    runner.plan("quick", root=project)  # an empty section for a missing notebook is harmless
    (project / "notebooks" / "profiles" / "quick.yml").write_text("99_gone:\n  n: 1\n")
    with pytest.raises(RunnerError, match="unknown notebooks"):
        runner.plan("quick", root=project)


def test_parse_overrides_reads_yaml_values():
    assert runner.parse_overrides(["n=3", "x=0.5", "names=[a, b]", "flag=true", "s=hello"]) == {
        "n": 3, "x": 0.5, "names": ["a", "b"], "flag": True, "s": "hello"
    }
    with pytest.raises(RunnerError, match="name=value"):
        runner.parse_overrides(["n"])
    with pytest.raises(RunnerError, match="name=value"):
        runner.parse_overrides(["1n=3"])


@pytest.mark.slow
def test_run_writes_executed_notebook_with_provenance(project):
    out = project / "book"
    runs = runner.run_notebooks("smoke", only=["01_tiny"], overrides={"seed": 9}, root=project,
                                output_dir=out, progress=False, log=None)
    assert runs[0].runtime_s > 0
    nb = json.loads((out / "01_tiny.ipynb").read_text())
    prov = nb["metadata"]["mesoscale"]["provenance"]
    assert prov["parameters"]["n"] == 4 and prov["seeds"] == {"seed": 9}
    assert prov["profile"] == "smoke" and prov["notebook"] == "01_tiny"
    last = nb["cells"][-1]
    assert last["cell_type"] == "markdown" and "## Provenance" in "".join(last["source"])
    printed = "".join(
        "".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]
    )
    assert "2.0 a [1, 2] 9" in printed
    # no temporary files left; the book's generated findings summary sits beside the page
    assert sorted(p.name for p in out.iterdir()) == ["01_tiny.ipynb", runner.FINDINGS_SUMMARY]


@pytest.mark.slow
def test_failing_notebook_leaves_no_page(project):
    out = project / "book"
    runner.run_notebooks("smoke", only=["01_tiny"], root=project, output_dir=out, progress=False, log=None)
    assert (out / "01_tiny.ipynb").exists()
    with pytest.raises(NotebookFailed) as err:
        runner.run_notebooks("smoke", only=["01_tiny"], overrides={"fail": True}, root=project,
                             output_dir=out, progress=False, log=None)
    assert err.value.notebook == "01_tiny" and err.value.ename == "AssertionError"
    assert "asked to fail" in str(err.value) and err.value.cell_index is not None
    # the stale page is gone, nothing half-written, and the summary no longer quotes it
    assert [p.name for p in out.iterdir()] == [runner.FINDINGS_SUMMARY]
    assert "01_tiny" not in (out / runner.FINDINGS_SUMMARY).read_text()
    assert err.value.failed_copy.exists()


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mesoscale.cli", *args], cwd=project, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--profile", "nope"], "unknown profile 'nope'"),
        (["-p", "bogus=1"], "unknown parameter(s) ['bogus']"),
        (["-p", "n=ten"], "parameter 'n' expects a int like 3; got 'ten'"),
    ],
)
def test_cli_bad_input_exits_nonzero_with_one_line(project, args, fragment):
    proc = _cli(project, "notebooks", "run", *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr
    assert not (project / "book").exists()


@pytest.mark.slow
def test_cli_failure_names_notebook_and_cell(project):
    proc = _cli(project, "notebooks", "run", "--profile", "smoke", "--only", "01_tiny", "-p", "fail=true",
                "--no-progress")
    assert proc.returncode == 1
    assert "notebook '01_tiny' failed in cell" in proc.stderr and "AssertionError" in proc.stderr
    assert not (project / "book" / "01_tiny.ipynb").exists()


def test_unparseable_parameter_line_is_reported(tmp_path):
    path = tmp_path / "x.ipynb"
    _notebook(path, "n = 3  # nodes, n = 3 by default", "print(n)")
    with pytest.raises(RunnerError, match=r"papermill cannot read parameter\(s\) \['n'\]"):
        runner.notebook_parameters(path)


def test_widget_views_and_state_are_stripped():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={runner.WIDGET_VIEW: {"model_id": "1"}, "text/plain": "bar"}),
        nbformat.v4.new_output("stream", name="stdout", text="kept\n"),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    assert runner.strip_widgets(nb) == 1
    assert [o["output_type"] for o in nb.cells[1].outputs] == ["stream"]
    assert "widgets" not in nb.metadata
