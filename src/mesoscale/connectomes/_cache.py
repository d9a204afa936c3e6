"""On-disk cache of assembled connectomes (``.npz``), written atomically, keyed by versions.

The cache lives in ``$MESOSCALE_CACHE`` if set, else ``$XDG_CACHE_HOME/mesoscale`` or
``~/.cache/mesoscale``, under ``connectomes/``. A file's name is a hash of the dataset
name, the load options, this module's format version and the versions of the packages
the data come from, so upgrading a data package or mesoscale's readers never serves stale
data. Files are written to a temporary name and renamed into place; a file that cannot be
read (truncated, corrupt, from another format) is ignored, removed and rebuilt. If the
directory is not writable the cache is silently skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

from ._core import Connectome

#: Bump when the readers or the stored layout change.
FORMAT_VERSION = 3

_SOURCE_PACKAGES = ("cect", "wormneuroatlas", "tvb-data", "graspologic")


def cache_dir() -> Path:
    """Directory holding cached connectomes (not created here).

    Examples
    --------
    >>> import os
    >>> old = os.environ.get("MESOSCALE_CACHE")
    >>> os.environ["MESOSCALE_CACHE"] = "/tmp/my-cache"
    >>> cache_dir().as_posix(), cache_path("toy", {}).parent == cache_dir()
    ('/tmp/my-cache/connectomes', True)
    >>> if old is None:
    ...     del os.environ["MESOSCALE_CACHE"]
    ... else:
    ...     os.environ["MESOSCALE_CACHE"] = old
    >>> cache_dir().name
    'connectomes'
    """
    root = os.environ.get("MESOSCALE_CACHE")
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "mesoscale"
    return base / "connectomes"


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "absent"


def cache_path(name: str, options: dict) -> Path:
    """Path of the cache file for dataset ``name`` loaded with ``options``."""
    key = json.dumps(
        {
            "name": name,
            "options": options,
            "format": FORMAT_VERSION,
            "versions": {p: _version(p) for p in _SOURCE_PACKAGES},
        },
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return cache_dir() / f"{name}-{digest}.npz"


def _encode(c: Connectome) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for k, M in c.layers.items():
        arrays[f"layer:{k}"] = M
    for k, M in c.edge_data.items():
        arrays[f"edge:{k}"] = M
    if c.positions is not None:
        arrays["positions"] = c.positions
    meta = {
        "name": c.name,
        "species": c.species,
        "labels": list(c.labels),
        "layer_order": list(c.layers),
        "edge_order": list(c.edge_data),
        "directed": dict(c.directed),
        "stage": c.stage,
        "age": c.age,
        "age_unit": c.age_unit,
        "position_unit": c.position_unit,
        "node_attributes": {k: [_plain(x) for x in v] for k, v in c.node_attributes.items()},
        "units": dict(c.units),
        "citation": c.citation,
        "references": list(c.references),
        "licence": c.licence,
        "description": c.description,
        "metadata": c.metadata,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta, default=_plain).encode(), dtype=np.uint8)
    return arrays


def _plain(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and np.isnan(x):
        return None
    return x


def _decode(z) -> Connectome:
    meta = json.loads(bytes(z["meta"]).decode())
    attrs = {k: [np.nan if v is None else v for v in col] if _numeric(col) else col
             for k, col in meta["node_attributes"].items()}
    return Connectome(
        name=meta["name"],
        species=meta["species"],
        labels=meta["labels"],
        layers={k: z[f"layer:{k}"] for k in meta["layer_order"]},
        directed=meta["directed"],
        stage=meta["stage"],
        age=meta["age"],
        age_unit=meta["age_unit"],
        positions=z["positions"] if "positions" in z.files else None,
        position_unit=meta["position_unit"],
        node_attributes=attrs,
        edge_data={k: z[f"edge:{k}"] for k in meta["edge_order"]},
        units=meta["units"],
        citation=meta["citation"],
        references=tuple(meta["references"]),
        licence=meta["licence"],
        description=meta["description"],
        metadata=meta["metadata"],
    )


def _numeric(col) -> bool:
    vals = [v for v in col if v is not None]
    return bool(vals) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals) and (
        len(vals) < len(col) or any(isinstance(v, float) for v in vals)
    )


def read(path: Path) -> Connectome | None:
    """Return the cached connectome at ``path``, or ``None`` if absent or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return _decode(z)
    except Exception:  # corrupt, truncated, stale layout: rebuild
        try:
            path.unlink()
        except OSError:
            pass
        return None


def write(path: Path, c: Connectome) -> bool:
    """Write ``c`` to ``path`` atomically; return whether it was written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **_encode(c))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return True
    except OSError:
        return False
