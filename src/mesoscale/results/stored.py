"""The stored runs in ``results/``: listing, promoting a computed run, checking them against the notebooks."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from ._common import (MANIFEST, RESULTS_BUDGET_BYTES, parameter_fingerprint, project_dir, read_manifest,
                      result_parameters, results_dir, scratch_dir, sha256_of)

__all__ = ["stored_runs", "promote_run", "amend_table", "check_stored_runs"]


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
        m = read_manifest(folder)
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
        candidates = sorted(scratch.glob(f"{chapter}-*/{MANIFEST}"), key=lambda p: p.stat().st_mtime)
        if not candidates:
            raise FileNotFoundError(f"no computed run of chapter {chapter!r} in {scratch}")
        source = candidates[-1].parent
    else:
        source = scratch / f"{chapter}-{fingerprint}"
        if not (source / MANIFEST).is_file():
            raise FileNotFoundError(f"no computed run {source}")
    manifest = read_manifest(source)
    dest = results_dir(root) / chapter
    old = read_manifest(dest)
    files = {t["file"]: t for t in manifest.get("tables", {}).values()}
    parts = {f: sha for t in manifest.get("tables", {}).values() for f, sha in t.get("parts", {}).items()}
    origin = {f: source for f in (*files, *parts)}  # where each file is copied from
    if old and old.get("fingerprint") == manifest.get("fingerprint"):
        # the same run, completed: the stored tables stand (they may have been amended since the scratch run
        # computed them); the scratch run adds the tables the stored run lacks
        for name, t in old.get("tables", {}).items():
            if (dest / t["file"]).is_file():
                mine = manifest["tables"].get(name)
                if mine is not None:
                    files.pop(mine["file"], None)
                    for f in mine.get("parts", {}):
                        parts.pop(f, None)
                manifest["tables"][name] = t
                files[t["file"]] = t
                parts.update(t.get("parts", {}))
                origin.update({f: dest for f in (t["file"], *t.get("parts", {}))})
    expected = {**{f: t["sha256"] for f, t in files.items()}, **parts}
    for fname, sha in expected.items():
        src = origin[fname] / fname
        if not src.is_file() or sha256_of(src) != sha:
            raise ValueError(f"{src} does not match its manifest checksum; rerun the chapter")
    new_bytes = sum(t["bytes"] for t in files.values())
    base = results_dir(root)
    others = sum(p.stat().st_size for p in base.rglob("*") if p.is_file() and dest not in p.parents) if base.is_dir() else 0
    if others + new_bytes > RESULTS_BUDGET_BYTES:
        raise ValueError(f"storing {chapter!r} ({new_bytes / 2**20:.1f} MB) would bring results/ to "
                         f"{(others + new_bytes) / 2**20:.1f} MB, over the {RESULTS_BUDGET_BYTES / 2**20:.0f} MB budget")
    if old and old.get("fingerprint") == manifest.get("fingerprint"):
        if old.get("complete"):
            manifest["complete"] = True  # a completed stored run stays complete when tables are added to it
        if old.get("amended"):
            manifest["amended"] = old["amended"]  # the stored tables stand, and with them their amendments
    manifest["wall_s"] = round(sum(t.get("wall_s", 0) for t in manifest["tables"].values()), 1)
    manifest["cpu_s"] = round(sum(t.get("cpu_s", 0) for t in manifest["tables"].values()), 1)

    def fill(staging: Path) -> None:
        for fname in expected:
            shutil.copy2(origin[fname] / fname, staging / fname)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))

    _swap_in(dest, fill)
    return dest


def _swap_in(dest: Path, fill) -> None:
    """Replace folder ``dest`` by a staged copy that ``fill(staging)`` completes (a crash leaves old or new)."""
    base = _mk(dest.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=base))
    try:
        fill(staging)
        trash = None
        if dest.exists():
            trash = base / f".{dest.name}.old-{os.getpid()}"
            os.replace(dest, trash)
        os.replace(staging, dest)
        if trash is not None:
            shutil.rmtree(trash)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def amend_table(chapter: str, name: str, value, *, why: str, root=None) -> dict:
    """Replace one table of a stored run by a recomputation with newer code, and say so.

    For a fix in code that only *summarises* stored tables (e.g. an interval computed the wrong way
    from stored networks), or a cheap table recomputed at the run's own parameters, the table is
    replaced without rerunning the chapter. ``value`` is a DataFrame (a table of :meth:`Run.frame`) or a dict of DataFrames with
    the same keys as the stored group (:meth:`Run.frames`). The run keeps its fingerprint and
    parameters; its manifest records the amendment (``amended``: table, commit, time, ``why``) and
    the new checksums. The stored folder is replaced atomically. Returns the new manifest.

    Examples
    --------
    >>> import tempfile
    >>> amend_table("nothing", "t", pd.DataFrame(), why="x", root=tempfile.mkdtemp())
    Traceback (most recent call last):
        ...
    FileNotFoundError: no stored run of chapter 'nothing' in .../results
    """
    from .run import _commit

    base = results_dir(root)
    dest = base / chapter
    manifest = read_manifest(dest)
    if manifest is None:
        raise FileNotFoundError(f"no stored run of chapter {chapter!r} in {base}")
    if not isinstance(why, str) or not why.strip():
        raise ValueError("'why' must say what was wrong with the stored table")
    tables = manifest.get("tables", {})
    if name not in tables:
        raise KeyError(f"stored run {chapter!r} has no table {name!r}; it has {sorted(tables)}")
    entry = dict(tables[name])
    if entry["file"].endswith(".parquet"):
        if not isinstance(value, pd.DataFrame):
            raise TypeError(f"table {name!r} is a frame: 'value' must be a DataFrame; got {type(value).__name__}")
        writes = {entry["file"]: value}
    elif entry["file"].endswith(".group.json"):
        index = json.loads((dest / entry["file"]).read_text())
        if not isinstance(value, dict) or list(value) != index["keys"]:
            raise ValueError(f"table group {name!r} must be a dict with the stored keys {index['keys']}; "
                             f"got {list(value) if isinstance(value, dict) else type(value).__name__}")
        if not all(isinstance(v, pd.DataFrame) for v in value.values()):
            raise TypeError(f"table group {name!r}: every value must be a DataFrame")
        writes = dict(zip(index["files"], value.values()))
    else:
        raise ValueError(f"table {name!r} ({entry['file']}) is not a frame or a group of frames")
    problems = _file_problems(dest, manifest)
    if problems:
        raise ValueError(f"stored run {chapter!r} fails its checksums before the amendment: {problems}")

    def fill(staging: Path) -> None:
        for f in dest.iterdir():
            if f.is_file() and f.name != MANIFEST:
                shutil.copy2(f, staging / f.name)
        for fname, df in writes.items():
            df.to_parquet(staging / fname, compression="zstd")
        if len(writes) == 1 and entry["file"] in writes:
            entry["sha256"] = sha256_of(staging / entry["file"])
            entry["bytes"] = (staging / entry["file"]).stat().st_size
        else:
            entry["parts"] = {f: sha256_of(staging / f) for f in writes}
            entry["bytes"] = (staging / entry["file"]).stat().st_size + sum((staging / f).stat().st_size for f in writes)
        manifest["tables"][name] = entry
        manifest.setdefault("amended", []).append({
            "table": name, "commit": _commit(project_dir(root)), "why": why.strip(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))

    _swap_in(dest, fill)
    return read_manifest(dest)


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
    from ..runner import discover, notebook_parameters

    root_path = project_dir(root)
    problems = []
    base = results_dir(root_path)
    notebooks = {p.stem: p for p in discover(root_path)} if (root_path / "notebooks").is_dir() else {}
    for folder in sorted(p for p in base.glob("*") if p.is_dir()) if base.is_dir() else []:
        m = read_manifest(folder)
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
        problems += _file_problems(folder, m)
    return problems


def _file_problems(folder: Path, manifest: dict) -> list[str]:
    """Tables of a stored run whose files are missing or do not match their checksums."""
    problems = []
    for name, t in manifest.get("tables", {}).items():
        for fname, sha in {t["file"]: t["sha256"], **t.get("parts", {})}.items():
            path = folder / fname
            if not path.is_file():
                problems.append(f"{folder.name}: table {name!r} is missing ({fname})")
            elif sha256_of(path) != sha:
                problems.append(f"{folder.name}: {fname} does not match its checksum")
    return problems
