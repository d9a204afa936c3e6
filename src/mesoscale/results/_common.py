"""What the stored runs share: where they live, how parameters are fingerprinted, manifests and safe writes."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["NON_RESULT_PARAMETERS", "RESULTS_BUDGET_BYTES", "MANIFEST", "project_dir", "results_dir", "scratch_dir",
           "result_parameters", "parameter_fingerprint", "read_manifest", "atomic_write", "sha256_of"]

#: Notebook parameters that change how a chapter runs (parallelism, progress bars, where scratch
#: stores go, widgets) but not what it finds; they are left out of the fingerprint.
NON_RESULT_PARAMETERS = frozenset({"progress", "n_jobs", "store_dir", "client", "scheduler", "interactive"})

#: The most that ``results/`` may hold in all (issue: compact, <= 50 MB).
RESULTS_BUDGET_BYTES = 50 * 2**20

MANIFEST = "manifest.json"


def project_dir(root) -> Path:
    """``root`` resolved, or the project root (:func:`mesoscale.generative.study.project_root`) when ``None``.

    Examples
    --------
    >>> project_dir("/tmp").as_posix()
    '/tmp'
    """
    if root is not None:
        return Path(root).resolve()
    from ..generative.study import project_root

    return project_root()


def results_dir(root=None) -> Path:
    """``<project root>/results``: the committed stored runs.

    Examples
    --------
    >>> results_dir("/tmp/x").as_posix()
    '/tmp/x/results'
    """
    return project_dir(root) / "results"


def scratch_dir(root=None) -> Path:
    """``<project root>/stores/runs``: runs computed here (git-ignored) before they are stored.

    Examples
    --------
    >>> scratch_dir("/tmp/x").as_posix()
    '/tmp/x/stores/runs'
    """
    return project_dir(root) / "stores" / "runs"


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


def read_manifest(folder: Path) -> dict | None:
    """The ``manifest.json`` of a run folder, or ``None`` when there is none.

    Examples
    --------
    >>> import tempfile
    >>> read_manifest(Path(tempfile.mkdtemp())) is None
    True
    """
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"stored run manifest {path} is not valid JSON: {exc}") from exc


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through ``write(temporary path)`` and a rename: all of it or nothing.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.txt"
    >>> atomic_write(p, lambda tmp: tmp.write_text("ok")); p.read_text()
    'ok'
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"")
    >>> sha256_of(p)[:8]
    'e3b0c442'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


