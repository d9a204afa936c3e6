"""Human diffusion-MRI connectomes shipped with tvb-data (The Virtual Brain's demo data).

``human_dk68``
    ``connectivity_68.zip``: 68 cortical regions of the Desikan-Killiany atlas
    (Desikan et al. 2006), symmetric weights (arbitrary units), tract lengths (mm) and
    region centres (mm). Labels look like ``r_lateralorbitofrontal``.
``human_hagmann66``
    ``connectivity_66.zip``: the 66-region parcellation of Hagmann et al. (2008), weights
    (``weights_unit = "au"``), tract lengths and centres in mm (``info.txt``). Labels look
    like ``rBSTS``. The stored weights are very slightly asymmetric (largest difference
    ~8e-5 against weights up to 0.51); ``load(..., symmetrize=True)`` (the default) averages
    ``W`` and ``W.T`` so that the layer is a proper undirected ``structural`` layer;
    ``symmetrize=False`` keeps the file as is and marks the layer directed.

Both files have non-zero diagonals (self-connections); they are kept in the layer and
dropped by :meth:`Connectome.binary`. Licence: tvb-data is GPL-3.0; please cite TVB
(Sanz Leon et al. 2013) with the data papers.
"""

from __future__ import annotations

import bz2
import importlib.util
import io
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["DATASETS"]

DATASETS = {
    "human_dk68": dict(
        file="connectivity_68.zip",
        citation="desikan2006automated",
        references=("desikan2006automated", "sanzleon2013virtual"),
        description="TVB connectivity_68: 68 Desikan-Killiany cortical regions, DTI tractography",
    ),
    "human_hagmann66": dict(
        file="connectivity_66.zip",
        citation="hagmann2008mapping",
        references=("hagmann2008mapping", "sanzleon2013virtual"),
        description="TVB connectivity_66: 66 regions of Hagmann et al. 2008, DSI tractography",
    ),
}

_LICENCE = "tvb-data: GPL-3.0 (cite The Virtual Brain); original data: see the cited papers"


def _zip_path(fname: str) -> Path:
    spec = importlib.util.find_spec("tvb_data")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the package 'tvb-data' is required for the human datasets; "
                          "install it with: pip install tvb-data")
    return Path(spec.submodule_search_locations[0]) / "connectivity" / fname


def _read_member(z: zipfile.ZipFile, stem: str) -> str | None:
    names = z.namelist()
    for cand in (f"{stem}.txt", f"{stem}.txt.bz2", stem):
        if cand in names:
            raw = z.read(cand)
            return (bz2.decompress(raw) if cand.endswith(".bz2") else raw).decode()
    return None


def read_tvb_zip(fname: str) -> dict:
    """Raw contents of a TVB connectivity zip: labels, centres, weights, tract lengths."""
    path = _zip_path(fname)
    with zipfile.ZipFile(path) as z:
        weights = _read_member(z, "weights")
        lengths = _read_member(z, "tract_lengths")
        centres = _read_member(z, "centres")
    if weights is None or centres is None:
        raise ValueError(f"{path}: missing 'weights' or 'centres' member")
    labels, xyz = [], []
    for line in centres.splitlines():
        parts = line.split()
        if not parts:
            continue
        labels.append(parts[0])
        xyz.append([float(v) for v in parts[1:4]])
    return {
        "labels": labels,
        "centres": np.asarray(xyz, dtype=float),
        "weights": np.loadtxt(io.StringIO(weights), ndmin=2),
        "tract_lengths": None if lengths is None else np.loadtxt(io.StringIO(lengths), ndmin=2),
        "path": str(path),
    }


def _split_label(label: str) -> tuple[str, str]:
    if label[:2] in ("r_", "l_"):
        return ("right" if label[0] == "r" else "left"), label[2:]
    if label[:1] in ("r", "l") and label[1:2].isupper():
        return ("right" if label[0] == "r" else "left"), label[1:]
    return "unknown", label


def build(name: str, *, symmetrize: bool = True):
    """Assemble the :class:`Connectome` for a tvb-data dataset (no caching here)."""
    from ._core import Connectome

    spec = DATASETS[name]
    raw = read_tvb_zip(spec["file"])
    W = raw["weights"]
    L = raw["tract_lengths"]
    directed = False
    if name == "human_hagmann66":
        if symmetrize:
            W = (W + W.T) / 2
            if L is not None:
                L = (L + L.T) / 2
        else:
            directed = True
    hemi, region = zip(*(_split_label(x) for x in raw["labels"]))
    edge = {} if L is None else {"tract_length": L}
    return Connectome(
        name=name,
        species="Homo sapiens",
        labels=raw["labels"],
        layers={"structural": W},
        directed={"structural": directed},
        stage="adult",
        positions=raw["centres"],
        position_unit="mm",
        node_attributes={"region": list(region), "hemisphere": list(hemi)},
        edge_data=edge,
        units={"structural": "a.u. (streamline-based)", "tract_length": "mm"},
        citation=spec["citation"],
        references=spec["references"],
        licence=_LICENCE,
        description=spec["description"],
        metadata={"source": f"tvb_data/connectivity/{spec['file']}", "symmetrized": bool(symmetrize)
                  if name == "human_hagmann66" else False},
    )
