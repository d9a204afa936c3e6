"""One chapter's run: its tables computed once into a scratch folder, or read from its stored run."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .._validation import jsonable
from ._common import (MANIFEST, atomic_write, parameter_fingerprint, project_dir, read_manifest, result_parameters,
                      results_dir, scratch_dir, sha256_of)

__all__ = ["Run", "open_run"]


class Run:
    """One chapter's run: where its tables are read from and written to (see :func:`open_run`).

    Attributes
    ----------
    chapter, fingerprint : str
    parameters : dict
        Every parameter given (the result parameters and the others).
    stored : bool
        Whether a stored run in ``results/<chapter>`` has this fingerprint.
    resumed : bool
        Whether the scratch folder already holds a run with this fingerprint (not stored).
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
        self.root = project_dir(root)
        self.stored_folder = results_dir(self.root) / chapter
        stored = read_manifest(self.stored_folder)
        self.stored = bool(stored) and stored.get("fingerprint") == self.fingerprint
        self.manifest = stored if self.stored else None
        self._other = None if self.stored or not stored else stored
        self.folder = scratch_dir(self.root) / f"{chapter}-{self.fingerprint}"
        self.computed: list[str] = []
        self.complete = False
        self._timings: dict[str, dict] = {}
        prior = read_manifest(self.folder)
        same = bool(prior) and prior.get("fingerprint") == self.fingerprint
        self.resumed = same and not self.stored
        if same:
            # tables computed here earlier -- also the ones a stored run lacked -- stay in the scratch manifest,
            # so a later execution that computes more of them does not drop the earlier ones
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
            atomic_write(self.folder / part, writer)
            written[part] = sha256_of(self.folder / part)
        path = self.folder / filename
        atomic_write(path, lambda tmp: write(value, tmp))
        entry = {"file": filename, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "sha256": sha256_of(path),
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
            tmp.write_text(json.dumps(value, indent=1, sort_keys=True, default=jsonable))

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
            amended = m.get("amended", [])
            if amended:
                whys = list(dict.fromkeys(a["why"] for a in amended))
                text += (f" {len(amended)} of its tables were since recomputed from its own stored tables by newer code "
                         f"(commit `{str(amended[-1].get('commit') or '?')[:7]}`): " + "; ".join(whys) + ".")
            missing = [t for t in self.computed]
            if missing:
                text += f" Tables computed here because the stored run lacks them: {', '.join(missing)}."
            return text
        if self.resumed:
            text = (f"**Results** come from the scratch run `{self._relative(self.folder)}` (fingerprint "
                    f"`{self.fingerprint}`), begun earlier with these parameters: its finished tables are read, "
                    f"missing ones computed.")
        else:
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
        from .. import provenance

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
        text = json.dumps(manifest, indent=1, sort_keys=True, default=jsonable)
        atomic_write(self.folder / MANIFEST, lambda tmp: tmp.write_text(text))

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
        return read_manifest(self.folder)


def _cpu_seconds() -> float:
    """CPU time of this process plus that of its finished child processes (e.g. a closed local Dask cluster)."""
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def _commit(root: Path) -> str | None:
    from ..provenance import git_state

    return git_state(root).get("commit")


def _hours(manifest: Mapping) -> str:
    cpu = float(manifest.get("cpu_s") or 0.0)
    text = f"{cpu / 3600:.2f} CPU-hours" if cpu >= 360 else f"{cpu:.0f} CPU-s"
    lost = sum(1 for t in manifest.get("tables", {}).values() if t.get("recovered"))
    return text + (f", not counting {lost} tables whose timings were lost" if lost else "")


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
        from ..runner import use_parameters

        parameters = use_parameters(namespace, chapter)
    return Run(chapter, parameters, root, budget=budget)


