"""What an executed notebook (or a stored result) records about how it was made.

A provenance record answers "could I make this again?": the git commit and whether the
tree was dirty, the versions of the packages that matter, the parameters and seeds, the
device the computation ran on, the host and a UTC timestamp.

Examples
--------
>>> rec = collect(parameters={"seed": 1, "n": 100})
>>> rec["parameters"]["seed"], "numpy" in rec["packages"]
(1, True)
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata as _md
import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["collect", "git_state", "package_versions", "device_info", "seeds_of", "to_markdown", "PACKAGES"]

#: Packages whose versions every record lists (those that are installed).
PACKAGES = (
    "mesoscale",
    "numpy",
    "scipy",
    "networkx",
    "bctpy",
    "numba",
    "pandas",
    "torch",
    "scikit-learn",
    "neurogym",
    "dask",
    "distributed",
    "cect",
    "tvb-data",
    "graspologic",
    "matplotlib",
    "papermill",
    "jupyter-book",
)


def _repo_root(start: str | os.PathLike | None = None) -> Path | None:
    here = Path(start or Path(__file__).resolve().parent)
    for p in [here, *here.parents]:
        if (p / ".git").exists():
            return p
    return None


def git_state(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Return ``{"commit": sha or None, "dirty": bool or None, "branch": name or None}``.

    Looks for the repository that contains ``path`` (default: this package's source,
    which is the compendium's checkout when installed in editable mode).

    Examples
    --------
    >>> import tempfile
    >>> git_state(tempfile.mkdtemp())  # not inside a repository
    {'commit': None, 'dirty': None, 'branch': None}
    >>> len(git_state()["commit"])  # this checkout
    40
    """
    root = _repo_root(path)
    state: dict[str, Any] = {"commit": None, "dirty": None, "branch": None}
    if root is None:
        return state

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    state["commit"] = git("rev-parse", "HEAD")
    porcelain = git("status", "--porcelain", "--untracked-files=no")
    state["dirty"] = None if porcelain is None else bool(porcelain)
    state["branch"] = git("rev-parse", "--abbrev-ref", "HEAD")
    return state


def package_versions(packages=PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` (those not installed are left out).

    Examples
    --------
    >>> import numpy
    >>> package_versions(["numpy", "no-such-package"]) == {"numpy": numpy.__version__}
    True
    """
    versions = {}
    for name in packages:
        try:
            versions[name] = _md.version(name)
        except _md.PackageNotFoundError:
            continue
    return versions


def device_info() -> dict[str, Any]:
    """The compute device: CPU model and core count, and the CUDA device if torch sees one.

    torch is only consulted when it is already imported or importable cheaply; a missing
    torch gives ``{"accelerator": None}``.

    Examples
    --------
    >>> info = device_info()
    >>> info["cpu_count"] >= 1, "accelerator" in info
    (True, True)
    """
    info: dict[str, Any] = {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "accelerator": None,
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            i = torch.cuda.current_device()
            info["accelerator"] = torch.cuda.get_device_name(i)
            info["cuda"] = torch.version.cuda
    except Exception:  # pragma: no cover - torch missing or broken
        pass
    return info


def seeds_of(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that are seeds (names equal to or containing ``seed``).

    Examples
    --------
    >>> seeds_of({"n": 100, "seed": 0, "null_seed": 7})
    {'seed': 0, 'null_seed': 7}
    """
    return {k: v for k, v in parameters.items() if "seed" in k.lower()}


def collect(parameters: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Build a provenance record (a plain JSON-serialisable dict).

    Parameters
    ----------
    parameters : mapping, optional
        The parameters the computation ran with; seeds are picked out of them.
    **extra
        Anything else to record (e.g. ``notebook="01_generative_models"``, ``profile="quick"``).

    Examples
    --------
    >>> record = collect({"n_null": 20, "seed": 3}, notebook="03_connectomes", profile="quick")
    >>> record["seeds"], record["profile"], "numpy" in record["packages"]
    ({'seed': 3}, 'quick', True)
    """
    parameters = dict(parameters or {})
    return {
        "timestamp_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "git": git_state(),
        "packages": package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": platform.node(),
        "device": device_info(),
        "parameters": parameters,
        "seeds": seeds_of(parameters),
        **extra,
    }


def _fmt(value: Any) -> str:
    text = repr(value)
    text = text.replace("|", "\\|")
    return f"`{text}`" if len(text) < 200 else f"`{text[:197]}...`"


def to_markdown(record: Mapping[str, Any]) -> str:
    """Render a record as a Markdown section (used at the end of every executed notebook).

    Examples
    --------
    >>> md = to_markdown(collect({"seed": 1}, profile="smoke"))
    >>> md.splitlines()[0], "| `seed` | `1` |" in md
    ('## Provenance', True)
    """
    git = record.get("git", {})
    commit = git.get("commit") or "unknown (not a git checkout)"
    dirty = {True: " (uncommitted changes)", False: "", None: ""}[git.get("dirty")]
    dev = record.get("device", {})
    device = dev.get("accelerator") or f"CPU ({dev.get('cpu_count')} cores)"
    lines = [
        "## Provenance",
        "",
        "How this page was made; rerun it with the same commit, packages and parameters to get the same numbers.",
        "",
        "| | |",
        "|---|---|",
        f"| executed (UTC) | {record.get('timestamp_utc')} |",
        f"| commit | `{commit}`{dirty} |",
    ]
    for key in ("notebook", "profile", "runtime_s"):
        if key in record:
            lines.append(f"| {key.replace('_', ' ')} | {_fmt(record[key])} |")
    lines += [
        f"| device | {device} |",
        f"| python | {record.get('python')} on {record.get('platform')} |",
        f"| seeds | {_fmt(record.get('seeds', {}))} |",
        "",
        "| parameter | value |",
        "|---|---|",
    ]
    lines += [f"| `{k}` | {_fmt(v)} |" for k, v in record.get("parameters", {}).items()]
    lines += ["", "| package | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in record.get("packages", {}).items()]
    return "\n".join(lines) + "\n"
