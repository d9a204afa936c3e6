"""Execute the compendium's notebooks with papermill, one profile at a time.

Each notebook in ``notebooks/`` has one cell tagged ``parameters``. A *profile*
(``notebooks/profiles/{smoke,quick,full}.yml``) gives, per notebook, the values that
replace those defaults; command-line overrides (``-p name=value``) come last. Everything
is validated before the first cell runs: an unknown profile, a parameter no selected
notebook declares, or a value of the wrong type stops the run with one clear line.

Executed notebooks are written to ``book/`` atomically (a temporary file renamed on
success) with a provenance record appended as a final Markdown cell and stored in the
notebook's metadata. A notebook that fails leaves nothing in ``book/``: its stale page is
removed and the failed copy, with the traceback, is kept in ``_build/failed/`` for debugging.

Examples
--------
From a shell::

    mesoscale notebooks run --profile smoke
    mesoscale notebooks run --profile quick --only 00_modularity_primer -p n_seeds=20

From Python::

    from mesoscale.runner import run_notebooks
    run_notebooks("smoke", only=["00_modularity_primer"], overrides={"n_seeds": 3})
"""

from __future__ import annotations

import ast
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import provenance

__all__ = [
    "PROFILES",
    "RunnerError",
    "NotebookFailed",
    "NotebookRun",
    "find_root",
    "discover",
    "load_profile",
    "notebook_parameters",
    "parse_overrides",
    "use_parameters",
    "plan",
    "FINDINGS_SUMMARY",
    "findings_summary",
    "write_findings_summary",
    "run_notebooks",
]

PROFILES = ("smoke", "quick", "full", "paper")

#: The profile whose chapters run at the parameters of their stored runs (``results/``), and at
#: the ``quick`` profile where a chapter has none: what ``make book`` renders by default.
STORED_PROFILE = "paper"


class RunnerError(ValueError):
    """Bad input to the runner (profile, notebook name, parameter name or value).

    Examples
    --------
    >>> load_profile("huge")
    Traceback (most recent call last):
        ...
    mesoscale.runner.RunnerError: unknown profile 'huge'; choose one of smoke, quick, full, paper
    """


class NotebookFailed(RuntimeError):
    """A notebook raised during execution.

    Examples
    --------
    >>> err = NotebookFailed("03_connectomes", 7, "ValueError", "bad dataset", Path("_build/failed/03.ipynb"))
    >>> str(err)
    "notebook '03_connectomes' failed in cell 7: ValueError: bad dataset (executed copy: _build/failed/03.ipynb)"
    """

    def __init__(self, notebook: str, cell_index: int | None, ename: str, evalue: str, failed_copy: Path):
        self.notebook, self.cell_index, self.ename, self.evalue = notebook, cell_index, ename, evalue
        self.failed_copy = failed_copy
        where = f"cell {cell_index}" if cell_index is not None else "an unknown cell"
        super().__init__(
            f"notebook {notebook!r} failed in {where}: {ename}: {evalue} (executed copy: {failed_copy})"
        )


@dataclass
class NotebookRun:
    """One notebook's planned (and after execution, finished) run.

    Examples
    --------
    >>> run = plan("smoke", only=["00_modularity_primer"])[0]
    >>> run.name, run.output.relative_to(find_root()).as_posix(), run.injected["n_null"]
    ('00_modularity_primer', 'book/00_modularity_primer.ipynb', 4)
    """

    name: str
    source: Path
    output: Path
    parameters: dict[str, Any]
    injected: dict[str, Any] = field(default_factory=dict)
    runtime_s: float | None = None


def find_root(start: str | os.PathLike | None = None) -> Path:
    """The compendium's root: the nearest directory (from ``start`` or the cwd) holding
    ``notebooks/profiles``; else the checkout this package was installed from.

    Examples
    --------
    >>> (find_root() / "notebooks" / "profiles" / "quick.yml").exists()
    True
    """
    candidates = [Path(start or Path.cwd()).resolve()]
    candidates += list(candidates[0].parents)
    here = Path(__file__).resolve()
    candidates += list(here.parents)
    for p in candidates:
        if (p / "notebooks" / "profiles").is_dir():
            return p
    raise RunnerError(
        f"cannot find the compendium root (a folder with notebooks/profiles) from {candidates[0]}"
    )


def discover(root: str | os.PathLike | None = None) -> list[Path]:
    """The source notebooks ``notebooks/*.ipynb``, in chapter (file-name) order.

    Examples
    --------
    >>> discover()[0].name
    '00_modularity_primer.ipynb'
    """
    root = find_root(root)
    return sorted((root / "notebooks").glob("*.ipynb"))


def load_profile(profile: str, root: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """The parameters of ``profile`` per notebook stem (``{}`` where a notebook has none).

    The ``paper`` profile (:data:`STORED_PROFILE`) has no file: a chapter with a complete stored
    run (``results/<chapter>/manifest.json``, :mod:`mesoscale.results`) gets that run's parameters
    (with the ``quick`` values of the parameters that do not change results, such as
    ``n_jobs``), every other chapter the ``quick`` profile's.

    Examples
    --------
    >>> load_profile("smoke")["00_modularity_primer"]["n_null"]
    4
    """
    if profile not in PROFILES:
        raise RunnerError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if profile == STORED_PROFILE:
        return _stored_profile(root)
    path = find_root(root) / "notebooks" / "profiles" / f"{profile}.yml"
    if not path.exists():
        raise RunnerError(f"profile file {path} is missing")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise RunnerError(f"profile file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) or v is None for v in data.values()):
        raise RunnerError(f"profile file {path} must map notebook names to parameter mappings")
    return {str(k): dict(v or {}) for k, v in data.items()}


def _stored_profile(root) -> dict[str, dict[str, Any]]:
    from .results import NON_RESULT_PARAMETERS, results_dir

    root = find_root(root)
    sections = load_profile("quick", root)
    for manifest in sorted(results_dir(root).glob("*/manifest.json")):
        try:
            stored = json.loads(manifest.read_text())
        except json.JSONDecodeError as exc:
            raise RunnerError(f"stored run manifest {manifest} is not valid JSON: {exc}") from exc
        if not stored.get("complete"):
            continue  # a run still being computed: rendered at quick until it is complete
        chapter = manifest.parent.name
        keep = {k: v for k, v in sections.get(chapter, {}).items() if k in NON_RESULT_PARAMETERS}
        sections[chapter] = {**dict(stored.get("parameters", {})), **keep}
    return sections


def _literal(source: str) -> Any:
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return _Unparsed(source)


class _Unparsed(str):
    """A default that is an expression rather than a literal (its type is not checked)."""


def _papermill():
    try:
        import papermill
    except ImportError as exc:  # an extra, not a core dependency of the library
        raise RunnerError(
            "running notebooks needs papermill: pip install 'mesoscale[notebooks]' (or `make env`)"
        ) from exc
    return papermill


def notebook_parameters(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares: ``{name: {"default": value, "help": comment}}``.

    Examples
    --------
    >>> params = notebook_parameters(find_root() / "notebooks" / "00_modularity_primer.ipynb")
    >>> params["n_null"]
    {'default': 20, 'help': 'degree-preserving null networks per network'}
    """
    pm = _papermill()

    path = Path(path)
    tagged = [
        c
        for c in json.loads(path.read_text())["cells"]
        if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    if len(tagged) != 1:
        raise RunnerError(f"notebook {path.name} must have exactly one cell tagged 'parameters'; found {len(tagged)}")
    declared = pm.inspect_notebook(str(path))
    source = "".join(tagged[0]["source"]) if isinstance(tagged[0]["source"], list) else tagged[0]["source"]
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise RunnerError(f"notebook {path.name}: the parameters cell is not valid Python: {exc}") from exc
    assigned = [t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(t, ast.Name)]
    unparsed = [name for name in assigned if name not in declared]
    if unparsed:
        raise RunnerError(
            f"notebook {path.name}: papermill cannot read parameter(s) {unparsed} "
            "(write one 'name = value  # comment' per line, with no '=' inside the value or the comment)"
        )
    return {k: {"default": _literal(v["default"]), "help": v.get("help", "")} for k, v in declared.items()}


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """Parse ``name=value`` strings; values are read as YAML (``3`` -> int, ``[1,2]`` -> list).

    Examples
    --------
    >>> parse_overrides(["n_null=50", "datasets=[human_dk68, witvliet_8]"])
    {'n_null': 50, 'datasets': ['human_dk68', 'witvliet_8']}
    """
    out: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise RunnerError(f"parameter override {item!r} must look like name=value")
        try:
            out[name] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise RunnerError(f"cannot read the value of {name!r} from {raw!r}: {exc}") from exc
    return out


def use_parameters(namespace, notebook: str, *, root: str | os.PathLike | None = None) -> dict[str, Any]:
    """Check a running notebook's parameters in its namespace; return them by name.

    Every parameter that ``notebooks/<notebook>.ipynb`` declares must be defined in
    ``namespace`` (the notebook's ``globals()``) with the type of its default. Plain papermill
    passes ``-p name value`` as a string: for a list, dict, number or bool default, such a
    string is read as YAML (``'["human_dk68"]'`` and ``'[human_dk68]'`` both give a list) and
    the parsed value replaces it in ``namespace``; a string that does not parse to the right
    type stops with a message saying how to pass it (``-y``).

    Examples
    --------
    >>> path = find_root() / "notebooks" / "00_modularity_primer.ipynb"
    >>> ns = {k: v["default"] for k, v in notebook_parameters(path).items()}
    >>> ns["n_nodes"] = '[100, 200]'                   # as papermill -p n_nodes '[100, 200]' passes it
    >>> use_parameters(ns, "00_modularity_primer")["n_nodes"], ns["n_nodes"]
    ([100, 200], [100, 200])
    >>> use_parameters(dict(ns, n_nodes="many"), "00_modularity_primer")
    Traceback (most recent call last):
        ...
    mesoscale.runner.RunnerError: 00_modularity_primer: parameter 'n_nodes' expects a list like [...]; got the string 'many' (papermill's -p passes strings: give lists and dicts as YAML with -y, e.g. -y "n_nodes: [...]")
    """
    declared = notebook_parameters(find_root(root) / "notebooks" / f"{notebook}.ipynb")
    out: dict[str, Any] = {}
    for name, spec in declared.items():
        if name not in namespace:
            raise RunnerError(f"{notebook}: parameter {name!r} is not defined; run the parameters cell first")
        value, default = namespace[name], spec["default"]
        structured = isinstance(default, (list, tuple, dict, int, float)) and not isinstance(default, _Unparsed)
        if isinstance(value, str) and structured:
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                parsed = value
            if isinstance(parsed, str) or not isinstance(parsed, (list, dict) if isinstance(default, (list, tuple, dict)) else (int, float)):
                shown = "[...]" if isinstance(default, (list, tuple)) else ("{...}" if isinstance(default, dict) else repr(default))
                raise RunnerError(
                    f"{notebook}: parameter {name!r} expects a {_type_name(default)} like {shown}; got the string "
                    f"{value!r} (papermill's -p passes strings: give lists and dicts as YAML with -y, e.g. "
                    f'-y "{name}: {shown}")'
                )
            value = parsed
        value = _coerce(notebook, name, value, default)
        namespace[name] = value
        out[name] = value
    return out


def _type_name(x: Any) -> str:
    return type(x).__name__


def _coerce(notebook: str, name: str, value: Any, default: Any) -> Any:
    """Check ``value`` against the type of the declared ``default`` (int/float/bool/str/list/dict)."""
    bad = RunnerError(
        f"{notebook}: parameter {name!r} expects a {_type_name(default)} like {default!r}; got {value!r}"
    )
    if default is None or isinstance(default, _Unparsed) or value is None:
        return value  # None is always accepted: it conventionally means 'off' or 'use the default'
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise bad
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # e.g. a numeric-looking identifier
        raise bad
    if isinstance(default, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            raise bad
        kinds = {type(x) for x in default}
        if len(kinds) == 1 and default:
            proto = default[0]
            return [_coerce(notebook, f"{name}[{i}]", v, proto) for i, v in enumerate(value)]
        return list(value)
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise bad
        return value
    return value


def plan(
    profile: str = "quick",
    only: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    root: str | os.PathLike | None = None,
    output_dir: str | os.PathLike | None = None,
) -> list[NotebookRun]:
    """Resolve and validate what :func:`run_notebooks` would execute, without running anything.

    Examples
    --------
    >>> [run.name for run in plan("smoke", only=["00_modularity_primer", "03_connectomes"])]
    ['00_modularity_primer', '03_connectomes']
    >>> plan("smoke", only=["00_modularity_primer"], overrides={"n_null": "many"})
    Traceback (most recent call last):
        ...
    mesoscale.runner.RunnerError: 00_modularity_primer: parameter 'n_null' expects a int like 20; got 'many'
    """
    root = find_root(root)
    profiles = load_profile(profile, root)
    notebooks = discover(root)
    by_stem = {p.stem: p for p in notebooks}
    if not notebooks:
        raise RunnerError(f"no notebooks found in {root / 'notebooks'}")
    # An empty section for a notebook that does not exist (yet) is harmless; one that sets values is a typo.
    unknown_sections = sorted(k for k in set(profiles) - set(by_stem) if profiles[k])
    if unknown_sections:
        raise RunnerError(f"profile {profile!r} has sections for unknown notebooks: {unknown_sections}")
    if only:
        missing = [o for o in only if o not in by_stem]
        if missing:
            raise RunnerError(f"unknown notebook(s) {missing}; available: {', '.join(by_stem)}")
        notebooks = [by_stem[o] for o in only]
    output_dir = Path(output_dir) if output_dir is not None else root / "book"
    overrides = dict(overrides or {})
    used: set[str] = set()
    runs = []
    for path in notebooks:
        declared = notebook_parameters(path)
        section = profiles.get(path.stem, {})
        unknown = sorted(set(section) - set(declared))
        if unknown:
            raise RunnerError(
                f"profile {profile!r} sets unknown parameter(s) {unknown} for {path.stem}; "
                f"it declares {sorted(declared)}"
            )
        injected = {}
        for name, value in section.items():
            injected[name] = _coerce(path.stem, name, value, declared[name]["default"])
        for name, value in overrides.items():
            if name in declared:
                used.add(name)
                injected[name] = _coerce(path.stem, name, value, declared[name]["default"])
        params = {k: v["default"] for k, v in declared.items()}
        params.update(injected)
        params = {k: (str(v) if isinstance(v, _Unparsed) else v) for k, v in params.items()}
        runs.append(NotebookRun(path.stem, path, output_dir / path.name, params, injected))
    unused = sorted(set(overrides) - used)
    if unused:
        names = ", ".join(r.name for r in runs)
        raise RunnerError(f"unknown parameter(s) {unused}: not declared by {names}")
    return runs


#: The generated one-screen summary of every chapter's findings, included by ``book/intro.md``.
FINDINGS_SUMMARY = "_findings_summary.md"


def _findings_of(nb) -> str | None:
    for cell in nb.cells:
        if cell.get("cell_type") == "code" and "findings" in cell.get("metadata", {}).get("tags", []):
            for out in cell.get("outputs", []):
                text = out.get("data", {}).get("text/markdown")
                if text:
                    return "".join(text) if isinstance(text, list) else text
    return None


def findings_summary(book_dir: str | os.PathLike) -> str:
    """One screen of the book's findings: per executed chapter, the opening sentence of each numbered finding.

    Reads the output of the cell tagged ``findings`` of every executed notebook in ``book_dir``
    (the chapters' findings, generated from their runs) and links each chapter.

    Examples
    --------
    >>> import tempfile, nbformat
    >>> d = Path(tempfile.mkdtemp())
    >>> cell = nbformat.v4.new_code_cell("x", metadata={"tags": ["findings"]})
    >>> cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": "1. **A.** Q is 0.3. More."})]
    >>> nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), cell]), d / "01_x.ipynb")
    >>> print(findings_summary(d))
    - **Title** ({doc}`01_x`): A. Q is 0.3.
    """
    import re

    import nbformat

    lines = []
    for path in sorted(Path(book_dir).glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        text = _findings_of(nb)
        if not text:
            continue
        title = next((c.source.lstrip("# ").splitlines()[0] for c in nb.cells
                      if c.cell_type == "markdown" and c.source.startswith("# ")), path.stem)
        items = re.findall(r"^\d+\.\s+(.*)$", text, flags=re.M)
        if not items:  # findings written as bold-led paragraphs
            items = [f"**{a}** {b.strip()}" for a, b in re.findall(r"\*\*(.+?)\*\*\s*(.+?)(?=\*\*|$)", text, flags=re.S)]
        heads = []
        for item in items:
            item = item.replace("**", "")
            first = re.split(r"(?<=[.!?])\s+(?=[A-Z(`])", item)
            heads.append(" ".join(first[:2]) if len(first[0]) < 40 else first[0])
        lines.append(f"- **{title}** ({{doc}}`{path.stem}`): " + " ".join(heads))
    return "\n".join(lines) if lines else "*No chapter has been executed yet: run `make book`.*"


def write_findings_summary(book_dir: str | os.PathLike) -> Path:
    """Write :func:`findings_summary` to ``book_dir/_findings_summary.md`` (generated; included by the intro).

    Examples
    --------
    >>> import tempfile
    >>> write_findings_summary(tempfile.mkdtemp()).read_text().startswith("*No chapter")
    True
    """
    path = Path(book_dir) / FINDINGS_SUMMARY
    path.write_text(findings_summary(book_dir) + "\n")
    return path


def _failure_details(exc: Exception) -> tuple[int | None, str, str]:
    cell = getattr(exc, "cell_index", None)
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    if cell is None:
        exec_count = getattr(exc, "exec_count", None)
        cell = exec_count
    return cell, str(ename), str(evalue).strip().splitlines()[0] if str(evalue).strip() else ""


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def strip_widgets(nb) -> int:
    """Remove ipywidgets views (progress bars, the live explorer) and their saved state.

    A static page cannot run them (they need a kernel), and their embedded state makes the
    book load the widget manager and require.js from a CDN, so pages would break offline.
    Returns the number of outputs removed.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("bar")])
    >>> nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {}, "text/plain": "0%"})]
    >>> strip_widgets(nb), nb.cells[0].outputs
    (1, [])
    """
    removed = 0
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = [o for o in cell.get("outputs", []) if WIDGET_VIEW not in o.get("data", {})]
        removed += len(cell.get("outputs", [])) - len(kept)
        cell["outputs"] = kept
    nb.metadata.pop("widgets", None)
    return removed


#: Cell tags whose cells the book shows collapsed (the reader sees results first, plumbing on demand).
COLLAPSED_TAGS = ("parameters", "injected-parameters")


def collapse_parameters(nb) -> int:
    """Tag the parameters and injected-parameters cells ``hide-cell`` (collapsed in the book).

    Returns the number of cells tagged.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("n = 1", metadata={"tags": ["parameters"]}),
    ...                                      nbformat.v4.new_code_cell("print(n)")])
    >>> collapse_parameters(nb), nb.cells[0].metadata["tags"]
    (1, ['parameters', 'hide-cell'])
    """
    tagged = 0
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if any(t in tags for t in COLLAPSED_TAGS) and "hide-cell" not in tags:
            cell.setdefault("metadata", {})["tags"] = [*tags, "hide-cell"]
            tagged += 1
    return tagged


def _finish_notebook(tmp: Path, run: NotebookRun, profile: str) -> None:
    import nbformat

    nb = nbformat.read(tmp, as_version=4)
    strip_widgets(nb)
    collapse_parameters(nb)
    record = provenance.collect(
        parameters=run.parameters, notebook=run.name, profile=profile, runtime_s=round(run.runtime_s or 0, 1)
    )
    nb.metadata.setdefault("mesoscale", {})["provenance"] = record
    cell = nbformat.v4.new_markdown_cell(provenance.to_markdown(record))
    cell.metadata["tags"] = ["provenance"]
    nb.cells.append(cell)
    nbformat.write(nb, tmp)


def run_notebooks(
    profile: str = "quick",
    only: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    root: str | os.PathLike | None = None,
    output_dir: str | os.PathLike | None = None,
    progress: bool = True,
    kernel_name: str | None = None,
    log=print,
) -> list[NotebookRun]:
    """Execute notebooks with the parameters of ``profile`` (plus ``overrides``) into ``book/``.

    Parameters
    ----------
    profile : {"smoke", "quick", "full", "paper"}
        ``paper``: each chapter at the parameters of its stored run (see :func:`load_profile`).
    only : list of notebook stems, optional
        Run just these (default: every notebook in ``notebooks/``).
    overrides : mapping, optional
        Parameter values applied to every selected notebook that declares them; a name that
        no selected notebook declares is an error.
    output_dir : path, optional
        Where executed notebooks go (default ``<root>/book``).

    Returns
    -------
    list of NotebookRun, with ``runtime_s`` filled in.

    Raises
    ------
    RunnerError
        Bad profile, notebook name, parameter name or value (raised before anything runs).
    NotebookFailed
        A notebook raised; earlier notebooks' outputs are kept, the failing one's is removed.

    Examples
    --------
    A compendium of one notebook, executed at the smoke profile with one override:

    >>> import json, tempfile, pathlib, nbformat
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "notebooks" / "profiles").mkdir(parents=True)
    >>> for name in PROFILES:
    ...     _ = (root / "notebooks" / "profiles" / f"{name}.yml").write_text(yaml.safe_dump({"hello": {"n": 2}}))
    >>> cell = nbformat.v4.new_code_cell("n = 1  # how many", metadata={"tags": ["parameters"]})
    >>> kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    >>> nb = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell("print(n * 21)")], metadata=kernel)
    >>> nbformat.write(nb, root / "notebooks" / "hello.ipynb")
    >>> run = run_notebooks("smoke", overrides={"n": 2}, root=root, progress=False, log=lambda *a: None)[0]
    >>> nb = json.loads(run.output.read_text())
    >>> "".join(nb["cells"][2]["outputs"][0]["text"]).strip(), nb["metadata"]["mesoscale"]["provenance"]["parameters"]
    ('42', {'n': 2})
    """
    pm = _papermill()
    from tqdm.auto import tqdm

    runs = plan(profile, only, overrides, root=root, output_dir=output_dir)
    root = find_root(root)
    os.environ["MESOSCALE_PROFILE"] = profile if not overrides else f"{profile}+overrides"
    out_dir = runs[0].output.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    failed_dir = root / "_build" / "failed"
    bar = tqdm(runs, desc=f"notebooks ({profile})", unit="nb", disable=not progress)
    for run in bar:
        bar.set_postfix_str(run.name)
        tmp = out_dir / f".tmp-{run.name}-{os.getpid()}.ipynb"
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(
                str(run.source),
                str(tmp),
                parameters=run.injected,
                kernel_name=kernel_name,
                cwd=str(out_dir),
                progress_bar=False,
                log_output=False,
                report_mode=False,
            )
        except Exception as exc:  # papermill raises PapermillExecutionError for cell errors
            cell, ename, evalue = _failure_details(exc)
            failed_dir.mkdir(parents=True, exist_ok=True)
            failed_copy = failed_dir / run.source.name
            if tmp.exists():
                os.replace(tmp, failed_copy)
            if run.output.exists():
                run.output.unlink()  # never leave a stale page that looks complete
            write_findings_summary(out_dir)  # nor a summary quoting it
            raise NotebookFailed(run.name, cell, ename, evalue, failed_copy) from exc
        finally:
            run.runtime_s = time.perf_counter() - t0
        _finish_notebook(tmp, run, profile)
        os.replace(tmp, run.output)
        if log:
            log(f"{run.name}: {run.runtime_s:.1f} s -> {run.output}")
    write_findings_summary(out_dir)
    return runs
