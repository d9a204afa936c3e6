"""Fly-larva mushroom body and mouse diffusion-MRI connectomes from graspologic's data files.

graspologic is an *optional* dependency (``pip install 'mesoscale[species]'``). Only its
shipped data files are read -- the package is never imported (with numpy >= 2 its import
fails, which is why it is installed without its dependencies).

``fly_larva_mb_left`` / ``fly_larva_mb_right``
    Eichler et al. (2017): the mushroom body of a first-instar *Drosophila* larva,
    reconstructed from EM; 209 (left) and 213 (right) neurons; directed synapse counts
    (rows presynaptic). Node classes: ``K`` Kenyon cell, ``P`` projection neuron, ``O``
    mushroom-body output neuron (MBON), ``I`` mushroom-body input neuron (MBIN). Nodes are
    unnamed in the source; labels are ``K0``, ``K1``, ..., ``P0``, ... in file order.
``mouse_dti_<subject>``
    Wang et al. (2020): 32 adult mice of four strains (BTBR, B6, CAST, DBA2; 8 each, 4 male
    and 4 female), whole-brain diffusion MRI parcellated into 332 regions (166 per
    hemisphere, symmetric Waxholm atlas); undirected streamline counts. Node attributes:
    ``region`` (atlas structure), ``hemisphere``, ``macrostructure`` (the 7 blocks per
    hemisphere), atlas levels 1-4 and the subject's region ``volume_mm3``. Subject
    genotype and sex are in ``metadata``. No region centres are shipped (``positions`` is
    None).
"""

from __future__ import annotations

import csv
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["GraspologicMissingError", "INSTALL_COMMAND", "mouse_subjects", "available", "require"]

INSTALL_COMMAND = "pip install --no-deps graspologic==3.4.4"


class GraspologicMissingError(ImportError):
    """graspologic's data files are needed but the package is not installed.

    Examples
    --------
    >>> issubclass(GraspologicMissingError, ImportError)
    True
    >>> try:
    ...     raise GraspologicMissingError(f"install it with: {INSTALL_COMMAND}")
    ... except ImportError as exc:
    ...     print(exc)
    install it with: pip install --no-deps graspologic==3.4.4
    """


def _root() -> Path:
    spec = importlib.util.find_spec("graspologic")
    if spec is None or not spec.submodule_search_locations:
        raise GraspologicMissingError(
            "the fly-larva and mouse datasets are read from the data files shipped with graspologic, "
            f"which is not installed. Install it with:\n    {INSTALL_COMMAND}\n"
            "(--no-deps because graspologic 3.4.4 pins numpy<2, which conflicts with this environment; "
            "mesoscale only reads its CSV files and never imports it)"
        )
    return Path(spec.submodule_search_locations[0]) / "datasets"


def require() -> None:
    """Raise :class:`GraspologicMissingError` (with the install command) if graspologic is absent.

    Examples
    --------
    >>> try:
    ...     require()
    ...     found = True
    ... except GraspologicMissingError:
    ...     found = False
    >>> found == available()
    True
    """
    _root()


def available() -> bool:
    """Whether graspologic's data files can be found.

    Examples
    --------
    >>> isinstance(available(), bool)
    True
    >>> len(mouse_subjects()) == (32 if available() else 0)
    True
    """
    try:
        return _root().is_dir()
    except GraspologicMissingError:
        return False


_FLY_CLASSES = {"K": "Kenyon cell", "P": "projection neuron", "O": "MB output neuron (MBON)",
                "I": "MB input neuron (MBIN)"}


def read_fly(side: str) -> tuple[np.ndarray, list[str]]:
    """Raw adjacency and class letters of one mushroom body (``side`` = 'left' or 'right')."""
    d = _root() / "drosophila"
    A = np.loadtxt(d / f"{side}_adjacency.csv", ndmin=2)
    with open(d / f"{side}_cell_labels.csv") as fh:
        classes = fh.read().split()
    return A, classes


def build_fly(name: str):
    from ._core import Connectome

    side = "left" if name.endswith("left") else "right"
    A, classes = read_fly(side)
    counters: dict[str, int] = {}
    labels = []
    for c in classes:
        labels.append(f"{c}{counters.get(c, 0)}")
        counters[c] = counters.get(c, 0) + 1
    return Connectome(
        name=name,
        species="Drosophila melanogaster",
        labels=labels,
        layers={"chemical": A},
        directed={"chemical": True},
        stage="L1 larva",
        node_attributes={"cell_class": [_FLY_CLASSES.get(c, c) for c in classes],
                         "class_code": classes, "hemisphere": [side] * len(classes)},
        units={"chemical": "synapse count"},
        citation="eichler2017complete",
        references=("eichler2017complete", "chung2019graspy"),
        licence="graspologic data files: MIT; original data: Eichler et al. 2017 (Nature), reuse with citation",
        description=f"Eichler et al. 2017 larval Drosophila mushroom body, {side} hemisphere",
        metadata={"source": f"graspologic/datasets/drosophila/{side}_adjacency.csv"},
    )


@lru_cache(maxsize=1)
def _participants() -> dict[str, dict]:
    with open(_root() / "mice" / "participants.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {r["participant_id"].replace("sub-", ""): r for r in rows}


def mouse_subjects() -> list[str]:
    """Subject ids of the 32 mice (e.g. ``'54776'``); empty if graspologic is missing.

    Examples
    --------
    >>> subjects = mouse_subjects()
    >>> len(subjects) in (0, 32), subjects == sorted(subjects)
    (True, True)
    >>> not subjects or subjects[0] == "54776"
    True
    """
    try:
        return sorted(_participants())
    except GraspologicMissingError:
        return []


def _atlas() -> tuple[list[dict], list[dict]]:
    m = _root() / "mice"
    with open(m / "atlas.csv", newline="") as fh:
        atlas = list(csv.DictReader(fh))
    with open(m / "blocks.csv", newline="") as fh:
        blocks = list(csv.DictReader(fh))
    return atlas, blocks


def _features(subject: str) -> dict[int, float]:
    f = _root() / "mice" / "features" / f"{subject}.csv"
    if not f.is_file():
        return {}
    with open(f, newline="") as fh:
        lines = fh.read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ROI,"))
    out = {}
    for r in csv.DictReader(lines[start:]):
        out[int(r["ROI"])] = float(r["volume_mm3"])
    return out


def read_mouse(subject: str, n: int = 332) -> np.ndarray:
    """Raw symmetric weight matrix of one mouse from its edge list (each pair listed once)."""
    f = _root() / "mice" / "edgelists" / f"sub-{subject}_ses-1_dti.edgelist"
    E = np.loadtxt(f, ndmin=2)
    i, j, w = E[:, 0].astype(int), E[:, 1].astype(int), E[:, 2]
    if i.min() < 0 or max(i.max(), j.max()) >= n:
        raise ValueError(f"{f}: vertex ids outside 0..{n - 1}")
    W = np.zeros((n, n))
    # Each unordered pair must occur once (the files list one direction only).
    key = np.minimum(i, j) * n + np.maximum(i, j)
    if len(np.unique(key)) != len(key):
        raise ValueError(f"{f}: some pairs are listed more than once")
    W[i, j] = w
    W[j, i] = w
    return W


def build_mouse(name: str):
    from ._core import Connectome

    subject = name.removeprefix("mouse_dti_")
    parts = _participants()
    row = parts[subject]
    W = read_mouse(subject)
    atlas, blocks = _atlas()
    half = len(atlas)
    n = W.shape[0]
    block_of = {}
    for b in blocks:
        for v in range(int(b["i"]), int(b["j"])):
            block_of[v] = (b["block"], "left" if b["hemisphere"] == "L" else "right")
    feats = _features(subject)
    labels, attrs = [], {k: [] for k in ("region", "hemisphere", "macrostructure", "level_1", "level_2",
                                           "level_3", "level_4", "volume_mm3")}
    for v in range(n):
        a = atlas[v % half]
        block, hemi = block_of.get(v, (a["Macrostructure"], "left" if v < half else "right"))
        roi = int(a["ROI"]) + (0 if v < half else 1000)
        labels.append(f"{a['Abbreviation']}_{'L' if hemi == 'left' else 'R'}")
        attrs["region"].append(a["Structure"])
        attrs["hemisphere"].append(hemi)
        attrs["macrostructure"].append(block)
        for k in range(1, 5):
            attrs[f"level_{k}"].append(a[f"Level_{k}"])
        attrs["volume_mm3"].append(feats.get(roi, float("nan")))
    return Connectome(
        name=name,
        species="Mus musculus",
        labels=labels,
        layers={"structural": W},
        directed={"structural": False},
        stage="adult",
        node_attributes=attrs,
        units={"structural": "streamline count", "volume_mm3": "mm^3"},
        citation="wang2020mouse",
        references=("wang2020mouse", "chung2019graspy"),
        licence="graspologic data files: MIT; original data: Wang et al. 2020 (NeuroImage), reuse with citation",
        description=f"Wang et al. 2020 mouse DTI connectome, subject {subject} "
        f"({row['genotype']}, {row['sex']})",
        metadata={"subject": subject, "genotype": row["genotype"], "sex": row["sex"],
                  "source": f"graspologic/datasets/mice/edgelists/sub-{subject}_ses-1_dti.edgelist"},
    )
