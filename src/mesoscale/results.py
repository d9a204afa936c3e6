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

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "NON_RESULT_PARAMETERS",
    "RESULTS_BUDGET_BYTES",
    "Run",
    "open_run",
    "parameter_fingerprint",
    "result_parameters",
    "promote_run",
    "stored_runs",
    "check_stored_runs",
    "results_dir",
    "scratch_dir",
]

#: Notebook parameters that change how a chapter runs (parallelism, progress bars, where scratch
#: stores go, widgets) but not what it finds; they are left out of the fingerprint.
NON_RESULT_PARAMETERS = frozenset({"progress", "n_jobs", "store_dir", "client", "scheduler", "interactive"})

#: The most that ``results/`` may hold in all (issue: compact, <= 50 MB).
RESULTS_BUDGET_BYTES = 50 * 2**20

_MANIFEST = "manifest.json"


def _root(root) -> Path:
    if root is not None:
        return Path(root).resolve()
    from .generative.study import project_root

    return project_root()


def results_dir(root=None) -> Path:
    """``<project root>/results``: the committed stored runs.

    Examples
    --------
    >>> results_dir("/tmp/x").as_posix()
    '/tmp/x/results'
    """
    return _root(root) / "results"


def scratch_dir(root=None) -> Path:
    """``<project root>/stores/runs``: runs computed here (git-ignored) before they are stored.

    Examples
    --------
    >>> scratch_dir("/tmp/x").as_posix()
    '/tmp/x/stores/runs'
    """
    return _root(root) / "stores" / "runs"


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def result_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that define a run's results: all but :data:`NON_RESULT_PARAMETERS`, sorted.

    Examples
    --------
    >>> result_parameters({"n_jobs": 4, "seed": 0, "datasets": ["a"]})
    {'datasets': ['a'], 'seed': 0}
    """
    if not isinstance(parameters, Mapping):
        raise TypeError(f"'parameters' must be a mapping of names to values; got {type(parameters).__name__}")
    return {k: _canonical(v) for k, v in sorted(parameters.items()) if k not in NON_RESULT_PARAMETERS}


def parameter_fingerprint(parameters: Mapping[str, Any]) -> str:
    """A 12-hex-digit hash of :func:`result_parameters` (canonical JSON).

    Examples
    --------
    >>> parameter_fingerprint({"seed": 0, "n_jobs": 8}) == parameter_fingerprint({"seed": 0})
    True
    >>> parameter_fingerprint({"seed": 0}) == parameter_fingerprint({"seed": 1})
    False
    """
    text = json.dumps(result_parameters(parameters), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _read_manifest(folder: Path) -> dict | None:
    path = folder / _MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"stored run manifest {path} is not valid JSON: {exc}") from exc


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Run:
    """One chapter's run: where its tables are read from and written to (see :func:`open_run`).

    Attributes
    ----------
    chapter, fingerprint : str
    parameters : dict
        Every parameter given (the result parameters and the others).
    stored : bool
        Whether a stored run in ``results/<chapter>`` has this fingerprint.
    folder : Path
        Where missing tables are computed to (``stores/runs/<chapter>-<fingerprint>``).
    manifest : dict or None
        The stored run's manifest (``None`` when computing afresh).

    Examples
    --------
    >>> import tempfile
    >>> run = open_run("demo", parameters={"seed": 1}, root=tempfile.mkdtemp())
    >>> run.json("numbers", lambda: {"a": 1}), run.computed
    ({'a': 1}, ['numbers'])
    """

    def __init__(self, chapter: str, parameters: Mapping[str, Any], root=None, *, budget: str = ""):
        if not isinstance(chapter, str) or not chapter or "/" in chapter or chapter.startswith("."):
            raise ValueError(f"'chapter' must be a notebook stem such as '04_fitting_connectomes'; got {chapter!r}")
        self.chapter = chapter
        self.parameters = dict(parameters)
        self.fingerprint = parameter_fingerprint(self.parameters)
        self.budget = str(budget)
        self.root = _root(root)
        self.stored_folder = results_dir(self.root) / chapter
        stored = _read_manifest(self.stored_folder)
        self.stored = bool(stored) and stored.get("fingerprint") == self.fingerprint
        self.manifest = stored if self.stored else None
        self._other = None if self.stored or not stored else stored
        self.folder = scratch_dir(self.root) / f"{chapter}-{self.fingerprint}"
        self.computed: list[str] = []
        self.complete = False
        self._timings: dict[str, dict] = {}
        prior = _read_manifest(self.folder)
        if prior and prior.get("fingerprint") == self.fingerprint:
            self._timings.update(prior.get("tables", {}))

    # ------------------------------------------------------------------ where a table lives
    def _find(self, filename: str) -> Path | None:
        for folder in ((self.stored_folder,) if self.stored else ()) + (self.folder,):
            path = folder / filename
            if path.is_file():
                return path
        return None

    def _compute(self, name: str, filename: str, compute: Callable[[], Any], write: Callable[[Any, Path], None],
                 parts: Callable[[Any], dict[str, Callable[[Path], None]]] | None = None):
        """Compute a table and write it (and its ``parts``, each atomically) into the scratch folder.

        ``filename`` is written last, so a table counts as present only once all its parts are.
        """
        if not callable(compute):
            raise TypeError(f"'compute' of table {name!r} must be callable; got {type(compute).__name__}")
        c0, w0 = _cpu_seconds(), time.perf_counter()
        value = compute()
        cpu, wall = _cpu_seconds() - c0, time.perf_counter() - w0
        written = {}
        for part, writer in (parts(value) if parts else {}).items():
            _atomic_write(self.folder / part, writer)
            written[part] = _sha256(self.folder / part)
        path = self.folder / filename
        _atomic_write(path, lambda tmp: write(value, tmp))
        entry = {"file": filename, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "sha256": _sha256(path),
                 "bytes": path.stat().st_size + sum((self.folder / f).stat().st_size for f in written)}
        if written:
            entry["parts"] = written
        self._timings[name] = entry
        self.computed.append(name)
        self._write_manifest()
        return value

    @staticmethod
    def _check_name(name: str) -> str:
        if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"a table name must be letters, digits, '_' or '-'; got {name!r}")
        return name

    # ------------------------------------------------------------------ tables
    def frame(self, name: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """The table ``name``: read from the run if present, else ``compute()`` d and written (Parquet).

        The index is kept. ``compute`` must return a DataFrame with string column names.

        Examples
        --------
        >>> import tempfile
        >>> run = open_run("demo", parameters={}, root=tempfile.mkdtemp())
        >>> run.frame("t", lambda: pd.DataFrame({"a": [1.5]})).a.tolist()
        [1.5]
        """
        name = self._check_name(name)
        path = self._find(f"{name}.parquet")
        if path is not None:
            return pd.read_parquet(path)

        def write(df, tmp):
            if not isinstance(df, pd.DataFrame):
                raise TypeError(f"table {name!r}: compute() must return a DataFrame; got {type(df).__name__}")
            df.to_parquet(tmp, compression="zstd")

        self._compute(name, f"{name}.parquet", compute, write)
        return pd.read_parquet(self.folder / f"{name}.parquet")  # what later reads will see, exactly

    def frames(self, name: str, compute: Callable[[], Mapping[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
        """A named group of tables (a dict of DataFrames): one Parquet file each, and an index.

        Examples
        --------
        >>> import tempfile
        >>> run = open_run("demo", parameters={}, root=tempfile.mkdtemp())
        >>> out = run.frames("g", lambda: {"x": pd.DataFrame({"a": [1]}), "y": pd.DataFrame({"b": ["u", "v"]})})
        >>> sorted(out), out["y"].b.tolist()
        (['x', 'y'], ['u', 'v'])
        """
        name = self._check_name(name)
        index_file = f"{name}.group.json"
        path = self._find(index_file)
        if path is None:
            def files(group):
                if not isinstance(group, Mapping) or not all(isinstance(v, pd.DataFrame) for v in group.values()):
                    raise TypeError(f"table group {name!r}: compute() must return a dict of DataFrames")
                return {f"{name}.{i}.parquet": (lambda tmp, df=df: df.to_parquet(tmp, compression="zstd"))
                        for i, df in enumerate(group.values())}

            def write(group, tmp):
                keys = [str(k) for k in group]
                tmp.write_text(json.dumps({"keys": keys, "files": [f"{name}.{i}.parquet" for i in range(len(keys))]}))

            self._compute(name, index_file, compute, write, parts=files)
            path = self.folder / index_file
        index = json.loads(path.read_text())
        return {k: pd.read_parquet(path.parent / f) for k, f in zip(index["keys"], index["files"])}

    def json(self, name: str, compute: Callable[[], Any]) -> Any:
        """A JSON value (numbers, strings, lists, dicts) read from the run or computed and written.

        Examples
        --------
        >>> import tempfile
        >>> run = open_run("demo", parameters={}, root=tempfile.mkdtemp())
        >>> run.json("summary", lambda: {"best": "sptl", "energy": 0.25})
        {'best': 'sptl', 'energy': 0.25}
        """
        name = self._check_name(name)
        path = self._find(f"{name}.json")
        if path is not None:
            return json.loads(path.read_text())

        def write(value, tmp):
            tmp.write_text(json.dumps(value, indent=1, sort_keys=True, default=_json_default))

        self._compute(name, f"{name}.json", compute, write)
        return json.loads((self.folder / f"{name}.json").read_text())

    # ------------------------------------------------------------------ reporting
    @property
    def label(self) -> str:
        """Short name of the run for captions: chapter, fingerprint, profile, budget, commit.

        Examples
        --------
        >>> import tempfile
        >>> open_run("demo", parameters={}, root=tempfile.mkdtemp(), budget="3 seeds").label.startswith("run demo@")
        True
        """
        record = self.manifest or {}
        profile = record.get("profile") or os.environ.get("MESOSCALE_PROFILE", "custom")
        commit = (record.get("commit") or _commit(self.root) or "uncommitted")[:7]
        where = "stored" if self.stored and not self.computed else "computed here"
        parts = [f"run {self.chapter}@{self.fingerprint}", profile, self.budget, f"commit {commit}", where]
        return " · ".join(p for p in parts if p)

    def caption(self, text: str = "") -> str:
        """``text`` followed by the run's :attr:`label` in brackets (for figure and table captions).

        Examples
        --------
        >>> import tempfile
        >>> "[run demo@" in open_run("demo", parameters={}, root=tempfile.mkdtemp()).caption("Energy")
        True
        """
        return f"{text} [{self.label}]" if text else f"[{self.label}]"

    def status(self) -> str:
        """One Markdown paragraph saying where this chapter's numbers come from.

        Examples
        --------
        >>> import tempfile
        >>> "computed afresh" in open_run("demo", parameters={"n": 1}, root=tempfile.mkdtemp()).status()
        True
        """
        if self.stored:
            m = self.manifest
            text = (f"**Results** come from the stored run `results/{self.chapter}` (fingerprint `{self.fingerprint}`, "
                    f"profile `{m.get('profile', '?')}`, commit `{str(m.get('commit') or '?')[:7]}`, "
                    f"{_hours(m)} of compute).")
            missing = [t for t in self.computed]
            if missing:
                text += f" Tables computed here because the stored run lacks them: {', '.join(missing)}."
            return text
        text = (f"**Results** are computed afresh into `{self._relative(self.folder)}` (fingerprint "
                f"`{self.fingerprint}`).")
        if self._other:
            old = self._other.get("parameters", {})
            new = result_parameters(self.parameters)
            diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            text += (f" The stored run `results/{self.chapter}` used other parameters (differing: "
                     f"{', '.join(f'`{k}`' for k in diff[:8])}{', ...' if len(diff) > 8 else ''}), so it is not used.")
        else:
            text += " No stored run exists for this chapter."
        return text

    def _relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def _write_manifest(self) -> None:
        from . import provenance

        record = provenance.collect(result_parameters(self.parameters))
        manifest = {
            "chapter": self.chapter,
            "fingerprint": self.fingerprint,
            "parameters": result_parameters(self.parameters),
            "seeds": record.get("seeds", {}),
            "profile": os.environ.get("MESOSCALE_PROFILE", "custom"),
            "budget": self.budget,
            "commit": record.get("git", {}).get("commit"),
            "dirty": record.get("git", {}).get("dirty"),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "packages": record.get("packages", {}),
            "device": record.get("device", {}),
            "tables": self._timings,
            "wall_s": round(sum(t.get("wall_s", 0) for t in self._timings.values()), 1),
            "cpu_s": round(sum(t.get("cpu_s", 0) for t in self._timings.values()), 1),
            "complete": bool(self.complete),
        }
        text = json.dumps(manifest, indent=1, sort_keys=True, default=_json_default)
        _atomic_write(self.folder / _MANIFEST, lambda tmp: tmp.write_text(text))

    def close(self) -> dict | None:
        """Mark the run complete (the chapter ran to its end) and return its manifest.

        Tables are written as they are computed, so a chapter stopped half-way leaves a
        partial run that the next execution resumes; only a closed run is ``complete``, and
        only complete stored runs are rendered by the ``paper`` profile. Returns ``None``
        when nothing was computed here (everything was read from the stored run).

        Examples
        --------
        >>> import tempfile
        >>> open_run("demo", parameters={}, root=tempfile.mkdtemp()).close() is None
        True
        """
        self.complete = True
        if not self.computed:
            return None
        self._write_manifest()
        return _read_manifest(self.folder)


def _cpu_seconds() -> float:
    """CPU time of this process plus that of its finished child processes (e.g. a closed local Dask cluster)."""
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def _json_default(x):
    if hasattr(x, "tolist") and getattr(x, "ndim", 0) > 0:  # arrays (before .item(), which only takes size 1)
        return x.tolist()
    if hasattr(x, "item"):
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    return str(x)


def _commit(root: Path) -> str | None:
    from .provenance import git_state

    return git_state(root).get("commit")


def _hours(manifest: Mapping) -> str:
    cpu = float(manifest.get("cpu_s") or 0.0)
    return f"{cpu / 3600:.2f} CPU-hours" if cpu >= 360 else f"{cpu:.0f} CPU-s"


def open_run(chapter: str, parameters: Mapping[str, Any] | None = None, *, namespace: Mapping | None = None,
             root=None, budget: str = "") -> Run:
    """Open the run of ``chapter`` at ``parameters`` (or at the notebook's parameters in ``namespace``).

    Parameters
    ----------
    chapter : str
        Notebook stem, e.g. ``"04_fitting_connectomes"``.
    parameters : mapping, optional
        The chapter's parameters by name.
    namespace : mapping, optional
        Instead of ``parameters``: a notebook's ``globals()``. The parameters the notebook
        ``notebooks/<chapter>.ipynb`` declares are taken from it, after
        :func:`mesoscale.runner.use_parameters` has checked (and, for list or dict values given
        as strings by plain papermill ``-p``, parsed) them in place.
    root : path, optional
        The project root (default: :func:`mesoscale.generative.study.project_root`).
    budget : str
        A few words on the run's budget for captions (e.g. ``"13 rules x 2,000 networks"``).

    Examples
    --------
    >>> import tempfile
    >>> open_run("demo", {"seed": 0}, root=tempfile.mkdtemp()).folder.name == "demo-" + parameter_fingerprint({"seed": 0})
    True
    """
    if (parameters is None) == (namespace is None):
        raise ValueError("give exactly one of 'parameters' and 'namespace'")
    if namespace is not None:
        from .runner import use_parameters

        parameters = use_parameters(namespace, chapter)
    return Run(chapter, parameters, root, budget=budget)


def stored_runs(root=None) -> pd.DataFrame:
    """One row per stored run in ``results/``: chapter, fingerprint, profile, commit, files, size, compute.

    Examples
    --------
    >>> import tempfile
    >>> stored_runs(tempfile.mkdtemp()).columns.tolist()[:3]
    ['chapter', 'fingerprint', 'profile']
    """
    rows = []
    base = results_dir(root)
    for folder in sorted(p for p in base.glob("*") if p.is_dir()) if base.is_dir() else []:
        m = _read_manifest(folder)
        if m is None:
            continue
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        rows.append({"chapter": folder.name, "fingerprint": m.get("fingerprint"), "profile": m.get("profile"),
                     "complete": bool(m.get("complete")),
                     "commit": str(m.get("commit") or "")[:7], "created": m.get("created"),
                     "tables": len(m.get("tables", {})), "MB": round(size / 2**20, 2),
                     "cpu_h": round(float(m.get("cpu_s") or 0) / 3600, 3),
                     "wall_h": round(float(m.get("wall_s") or 0) / 3600, 3)})
    cols = ["chapter", "fingerprint", "profile", "complete", "commit", "created", "tables", "MB", "cpu_h", "wall_h"]
    return pd.DataFrame(rows, columns=cols)


def promote_run(chapter: str, fingerprint: str | None = None, *, root=None) -> Path:
    """Store a computed run: copy ``stores/runs/<chapter>-<fingerprint>`` to ``results/<chapter>``.

    Without ``fingerprint``, the most recently written scratch run of the chapter is taken.
    The stored run is replaced atomically (a crash leaves the old one or the new one), its
    files are checked against the manifest's SHA-256, and the promotion is refused when all
    of ``results/`` would exceed :data:`RESULTS_BUDGET_BYTES`.

    Examples
    --------
    >>> import tempfile
    >>> promote_run("nothing", root=tempfile.mkdtemp())
    Traceback (most recent call last):
        ...
    FileNotFoundError: no computed run of chapter 'nothing' in .../stores/runs
    """
    scratch = scratch_dir(root)
    if fingerprint is None:
        candidates = sorted(scratch.glob(f"{chapter}-*/{_MANIFEST}"), key=lambda p: p.stat().st_mtime)
        if not candidates:
            raise FileNotFoundError(f"no computed run of chapter {chapter!r} in {scratch}")
        source = candidates[-1].parent
    else:
        source = scratch / f"{chapter}-{fingerprint}"
        if not (source / _MANIFEST).is_file():
            raise FileNotFoundError(f"no computed run {source}")
    manifest = _read_manifest(source)
    dest = results_dir(root) / chapter
    old = _read_manifest(dest)
    files = {t["file"]: t for t in manifest.get("tables", {}).values()}
    parts = {f: sha for t in manifest.get("tables", {}).values() for f, sha in t.get("parts", {}).items()}
    if old and old.get("fingerprint") == manifest.get("fingerprint"):
        # the same run, completed: keep stored tables the scratch run did not recompute
        for name, t in old.get("tables", {}).items():
            if t["file"] not in files and (dest / t["file"]).is_file():
                manifest["tables"][name] = t
                files[t["file"]] = t
                parts.update(t.get("parts", {}))
    expected = {**{f: t["sha256"] for f, t in files.items()}, **parts}
    for fname, sha in expected.items():
        src = source / fname if (source / fname).is_file() else dest / fname
        if not src.is_file() or _sha256(src) != sha:
            raise ValueError(f"{src} does not match its manifest checksum; rerun the chapter")
    new_bytes = sum(t["bytes"] for t in files.values())
    base = results_dir(root)
    others = sum(p.stat().st_size for p in base.rglob("*") if p.is_file() and dest not in p.parents) if base.is_dir() else 0
    if others + new_bytes > RESULTS_BUDGET_BYTES:
        raise ValueError(f"storing {chapter!r} ({new_bytes / 2**20:.1f} MB) would bring results/ to "
                         f"{(others + new_bytes) / 2**20:.1f} MB, over the {RESULTS_BUDGET_BYTES / 2**20:.0f} MB budget")
    if old and old.get("fingerprint") == manifest.get("fingerprint") and old.get("complete"):
        manifest["complete"] = True  # a completed stored run stays complete when tables are added to it
    manifest["wall_s"] = round(sum(t.get("wall_s", 0) for t in manifest["tables"].values()), 1)
    manifest["cpu_s"] = round(sum(t.get("cpu_s", 0) for t in manifest["tables"].values()), 1)
    staging = Path(tempfile.mkdtemp(prefix=f".{chapter}.", dir=base if base.is_dir() else _mk(base)))
    try:
        for fname in expected:
            src = source / fname if (source / fname).is_file() else dest / fname
            shutil.copy2(src, staging / fname)
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        trash = None
        if dest.exists():
            trash = base / f".{chapter}.old-{os.getpid()}"
            os.replace(dest, trash)
        os.replace(staging, dest)
        if trash is not None:
            shutil.rmtree(trash)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


def _mk(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_stored_runs(root=None) -> list[str]:
    """Problems of the stored runs: fingerprints that no longer match the notebooks, bad checksums.

    For each ``results/<chapter>``: the notebook must exist; the manifest's parameters,
    completed with the defaults of parameters the notebook has gained since, must give the
    manifest's fingerprint (else the notebook would not find its stored run); every stored
    parameter must still be declared; every file must match its checksum.

    Examples
    --------
    >>> import tempfile
    >>> check_stored_runs(tempfile.mkdtemp())
    []
    """
    from .runner import discover, notebook_parameters

    root_path = _root(root)
    problems = []
    base = results_dir(root_path)
    notebooks = {p.stem: p for p in discover(root_path)} if (root_path / "notebooks").is_dir() else {}
    for folder in sorted(p for p in base.glob("*") if p.is_dir()) if base.is_dir() else []:
        m = _read_manifest(folder)
        if m is None:
            problems.append(f"{folder.name}: no manifest.json")
            continue
        if folder.name not in notebooks:
            problems.append(f"{folder.name}: no notebook notebooks/{folder.name}.ipynb")
            continue
        declared = notebook_parameters(notebooks[folder.name])
        stored = m.get("parameters", {})
        gone = sorted(set(stored) - set(declared))
        if gone:
            problems.append(f"{folder.name}: the notebook no longer declares {gone}")
        full = {k: v["default"] for k, v in declared.items()}
        full.update(stored)
        if parameter_fingerprint(full) != m.get("fingerprint"):
            new = sorted(set(result_parameters(full)) - set(stored))
            problems.append(f"{folder.name}: fingerprint no longer matches the notebook's parameters"
                            + (f" (new parameters {new})" if new else ""))
        for name, t in m.get("tables", {}).items():
            for fname, sha in {t["file"]: t["sha256"], **t.get("parts", {})}.items():
                path = folder / fname
                if not path.is_file():
                    problems.append(f"{folder.name}: table {name!r} is missing ({fname})")
                elif _sha256(path) != sha:
                    problems.append(f"{folder.name}: {fname} does not match its checksum")
    return problems
