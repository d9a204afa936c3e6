"""*C. elegans* connectomes from cect (the C. elegans Connectome Toolbox) and wormneuroatlas.

Connectivity comes from cect's packaged caches (``get_instance(from_cache=True)``: nothing
is downloaded or re-parsed); neuron positions, ganglia and embryonic lineages come from
the data files shipped with wormneuroatlas.

Datasets
--------
``celegans_witvliet_1`` ... ``celegans_witvliet_8``
    Witvliet et al. (2021), eight animals from birth to adulthood (nerve ring and
    ventral ganglion only, i.e. the brain; ~160-180 neurons).
``celegans_cook2019_herm``
    Cook et al. (2019), adult hermaphrodite, whole animal.
``celegans_varshney2011``
    Varshney et al. (2011), adult hermaphrodite (revision of White 1986).
``celegans_white1986``
    White et al. (1986), adult hermaphrodite ("whole" dataset as curated by cect).

Witvliet 2021 ages
------------------
Hours after birth (hatching), with the larval stage, as given in Witvliet et al. (2021),
Fig. 1a, and in the authors' analysis code (``src/data/dataset_info.py`` of
github.com/dwitvliet/nature2021):

=======  ======  =========
dataset  stage   age (h)
=======  ======  =========
1        L1      0
2        L1      5
3        L1      8
4        L1      16
5        L2      23
6        L3      27
7        adult   50
8        adult   50
=======  ======  =========

Approximate birth order
-----------------------
Lineage names (Sulston et al. 1983; Sulston & Horvitz 1977, via wormneuroatlas'
``cell_lineage.txt``) give each neuron's ancestry. ``birth_phase`` is ``"embryonic"`` for
neurons descending from the embryonic founders written with a space (``AB plapaaaapp``,
``MS ...``, ``C ...``) and ``"post-embryonic"`` for those descending from larval blast
cells written with a dot (``P1.aaaa``, ``QL.pax``, ``V5L.paa``, ``TL.ppa``, ``G1.l``,
``K.p``, ``W.aaa``). ``lineage_depth`` counts divisions: from the zygote for embryonic
neurons (founder depth: AB 1, MS/E/C 3, D 4 -- plus one per lineage letter) and from the
blast cell for post-embryonic ones. ``birth_rank`` (1 = earliest, ties share the mean
rank) orders neurons by (phase, depth): a *proxy* for birth order -- cells at equal depth
in different sublineages are not born simultaneously, and post-embryonic blasts divide at
different larval times. ``birth_stage`` is ``"embryo"``, ``"L1"`` or ``"L2"`` (the V5
descendants PDE and PVD are born in L2; other post-embryonic neurons in L1). This gives
223 embryonic and 79 post-embryonic neurons; the often-quoted 80 post-embryonic neurons
also count PDA, which is born in the embryo as the rectal cell Y and becomes a neuron during
larval development (it is ``embryonic`` here).

Lineage fixes: ``ALML``'s entry is written ``AB.arppaappa`` in the source (read as
``AB arppaappa``); ``DB1``/``DB3`` are listed as ``DB1/3`` and ``DB3/1`` (taken in that
order); ``AVFL``/``AVFR`` are listed together as ``P1.aaaa`` and ``W.aaa`` without saying
which is which (both get ``"P1.aaaa|W.aaa"`` and depth 3.5); ``PHBR`` is missing and is
inferred as ``AB prapppappp`` by left/right symmetry with ``PHBL`` (``AB plapppappp``).

Ganglia
-------
From wormneuroatlas' ``aconnectome_ids_ganglia.json`` (anterior, dorsal, lateral, ventral,
retrovesicular, preanal, dorsorectal and lumbar ganglia, the pharyngeal bulbs, the ventral
nerve cord and midbody). Fixes: ``RMHR`` (listed as a second ``RMHL``) is in the ventral
ganglion; ``DB7`` and ``VA11`` (missing) are in the ventral nerve cord.

Positions
---------
Every one of the 302 neurons has a 3-D position in wormneuroatlas' anatomical atlas
(``anatlas_neuron_positions.txt``). The source states no unit; ``y`` runs head (-3.1) to
tail (+4.1), so one unit is roughly 0.1 mm of an adult. ``position_unit`` is
``"atlas units (~0.1 mm)"``. The positions are the adult atlas for every dataset (no
stage-specific coordinates are packaged). Non-neuronal cells (``cells="all"``) have no
position (NaN rows).
"""

from __future__ import annotations

import importlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["WITVLIET_STAGES", "witvliet_presence", "neuron_names", "DATASETS"]

#: Witvliet 2021 dataset number -> (stage, hours after birth); see the module docstring.
WITVLIET_STAGES: dict[int, tuple[str, float]] = {
    1: ("L1", 0.0),
    2: ("L1", 5.0),
    3: ("L1", 8.0),
    4: ("L1", 16.0),
    5: ("L2", 23.0),
    6: ("L3", 27.0),
    7: ("adult", 50.0),
    8: ("adult", 50.0),
}

_LIC_CECT = "cect: MIT"
_LIC_WNA = "wormneuroatlas (positions, lineage, ganglia): GPL-3.0-or-later"

#: dataset name -> (cect reader module, stage, age, citation key, description, original-data terms)
DATASETS: dict[str, dict] = {}
for _k, (_stage, _age) in WITVLIET_STAGES.items():
    DATASETS[f"celegans_witvliet_{_k}"] = dict(
        reader=f"WitvlietDataReader{_k}",
        stage=_stage,
        age=_age,
        citation="witvliet2021connectomes",
        description=f"Witvliet et al. 2021 dataset {_k}: {_stage} hermaphrodite, {_age:g} h after birth "
        "(EM of the brain: nerve ring and ventral ganglion)",
        original="data released with Witvliet et al. 2021 (Nature) for reuse with citation",
    )
DATASETS["celegans_cook2019_herm"] = dict(
    reader="Cook2019HermReader", stage="adult", age=None, citation="cook2019whole",
    description="Cook et al. 2019 adult hermaphrodite, whole animal",
    original="supplementary data of Cook et al. 2019 (Nature), reuse with citation",
)
DATASETS["celegans_varshney2011"] = dict(
    reader="VarshneyDataReader", stage="adult", age=None, citation="varshney2011structural",
    description="Varshney et al. 2011 adult hermaphrodite (revised White 1986 wiring)",
    original="data of Varshney et al. 2011 (PLoS Comput Biol, CC BY)",
)
DATASETS["celegans_white1986"] = dict(
    reader="White_whole", stage="adult", age=None, citation="white1986structure",
    description="White et al. 1986 adult hermaphrodite ('whole' dataset as curated in cect)",
    original="White et al. 1986 (Phil Trans R Soc B), as digitised by WormWiring/cect",
)

_LAYER_MAP = {"Generic_CS": "chemical", "Generic_GJ": "gap_junction"}
_FOUNDER_DEPTH = {"AB": 1, "P1": 1, "EMS": 2, "P2": 2, "MS": 3, "E": 3, "C": 3, "P3": 3, "D": 4, "P4": 4}


def _package_dir(pkg: str) -> Path:
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the package {pkg!r} is required for the C. elegans datasets; "
                          f"install it with: pip install {pkg}")
    return Path(spec.submodule_search_locations[0])


def _wna_data() -> Path:
    return _package_dir("wormneuroatlas") / "data"


@lru_cache(maxsize=1)
def neuron_names() -> tuple[str, ...]:
    """cect's list of the 302 hermaphrodite neurons (``cect.Cells.PREFERRED_HERM_NEURON_NAMES``)."""
    from cect.Cells import PREFERRED_HERM_NEURON_NAMES

    return tuple(PREFERRED_HERM_NEURON_NAMES)


def _read_cect(reader: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """Nodes and connection arrays of a cect reader, from cect's packaged cache only."""
    mod = importlib.import_module(f"cect.readers.{reader}")
    ds = mod.get_instance(from_cache=True)
    return [str(x) for x in ds.nodes], {k: np.asarray(v, dtype=float) for k, v in ds.connections.items()}


@lru_cache(maxsize=1)
def _positions() -> dict[str, np.ndarray]:
    path = _wna_data() / "anatlas_neuron_positions.txt"
    with open(path) as fh:
        header = fh.readline()
    names = header.lstrip("#").split()
    X = np.loadtxt(path, comments="#")
    if X.shape != (len(names), 3):
        raise ValueError(f"{path}: {len(names)} names but position array of shape {X.shape}")
    out: dict[str, np.ndarray] = {}
    for name, row in zip(names, X):
        if name in out and not np.allclose(out[name], row):
            raise ValueError(f"{path}: neuron {name} listed twice with different positions")
        out[name] = row
    return out


@lru_cache(maxsize=1)
def _ganglia() -> dict[str, str]:
    with open(_wna_data() / "aconnectome_ids_ganglia.json") as fh:
        d = json.load(fh)
    out = {}
    for g, cells in d.items():
        if g in ("head", "pharynx"):
            continue
        for c in cells:
            out[c] = g
    # Source fixes: RMHL is listed twice in the ventral ganglion (the second is RMHR);
    # DB7 and VA11 are missing (cell bodies in the ventral nerve cord, per WormAtlas).
    for cell, g in (("RMHR", "ventral ganglion"), ("DB7", "ventral nerve cord"), ("VA11", "ventral nerve cord")):
        out.setdefault(cell, g)
    return out


@lru_cache(maxsize=1)
def _lineages() -> dict[str, str]:
    """Neuron -> lineage name, with the fixes listed in the module docstring."""
    out: dict[str, str] = {}
    with open(_wna_data() / "cell_lineage.txt") as fh:
        next(fh)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2:
                continue
            cell, lin = parts[0].strip(), parts[1].strip()
            if cell == "ALML" and lin.startswith("AB."):
                lin = "AB " + lin[3:]
            if cell == "DB1/3":
                out["DB1"] = lin
            elif cell == "DB3/1":
                out["DB3"] = lin
            elif cell == "AVFL/R":
                prev = out.get("AVFL")
                both = lin if prev is None else f"{prev}|{lin}"
                out["AVFL"] = out["AVFR"] = both
            else:
                out.setdefault(cell, lin)
    if "PHBR" not in out and out.get("PHBL", "").startswith("AB pl"):
        out["PHBR"] = "AB pr" + out["PHBL"][5:]
    return out


def lineage_info(cell: str) -> tuple[str | None, str | None, float, str | None]:
    """(lineage name, birth phase, lineage depth, birth stage) of a cell; Nones/NaN if unknown."""
    lin = _lineages().get(cell)
    if lin is None:
        return None, None, float("nan"), None
    depths, phases, stages = [], set(), set()
    for alt in lin.split("|"):
        if " " in alt:  # embryonic: "<founder> <letters>"
            founder, letters = alt.split(" ", 1)
            base = _FOUNDER_DEPTH.get(founder)
            if base is None:
                return lin, None, float("nan"), None
            depths.append(base + len(letters.replace(" ", "")))
            phases.add("embryonic")
            stages.add("embryo")
        elif "." in alt:  # post-embryonic blast: "<blast>.<letters>"
            blast, letters = alt.split(".", 1)
            depths.append(len(letters))
            phases.add("post-embryonic")
            stages.add("L2" if blast.startswith("V5") else "L1")
        else:
            return lin, None, float("nan"), None
    if len(phases) != 1 or len(stages) != 1:
        return lin, None, float("nan"), None
    return lin, phases.pop(), float(np.mean(depths)), stages.pop()


def _hemisphere(cell: str) -> str:
    from cect.Cells import is_bilateral_left, is_bilateral_right

    if is_bilateral_left(cell):
        return "left"
    if is_bilateral_right(cell):
        return "right"
    return "midline"


def _cell_class(cell: str, neurons: set[str]) -> str:
    from cect.Cells import GLIAL_CELLS, get_SIM_class, is_known_muscle

    if cell in neurons:
        return {"Sensory": "sensory", "Interneuron": "interneuron", "Motorneuron": "motor"}.get(
            get_SIM_class(cell), "other neuron")
    if is_known_muscle(cell):
        return "muscle"
    if cell in GLIAL_CELLS:
        return "glia"
    return "other cell"


def _birth_ranks(phases, depths) -> list[float]:
    from scipy.stats import rankdata

    key = np.array([(0 if p == "embryonic" else 1) * 1000 + d if p is not None and np.isfinite(d) else np.nan
                    for p, d in zip(phases, depths)], dtype=float)
    ranks = np.full(len(key), np.nan)
    ok = np.isfinite(key)
    if ok.any():
        ranks[ok] = rankdata(key[ok], method="average")
    return ranks.tolist()


@lru_cache(maxsize=1)
def _presence_sets() -> dict[int, frozenset]:
    neurons = set(neuron_names())
    out = {}
    for k in WITVLIET_STAGES:
        nodes, _ = _read_cect(f"WitvlietDataReader{k}")
        out[k] = frozenset(n for n in nodes if n in neurons)
    return out


def witvliet_presence():
    """Which of the 302 neurons each Witvliet 2021 dataset contains.

    Returns
    -------
    pandas.DataFrame
        Index: the 302 neuron names (cect order); one boolean column per dataset
        ``celegans_witvliet_1`` ... ``_8``; plus ``first_dataset`` (the first dataset that
        contains the neuron, or 0 if none does). The Witvliet volumes cover the brain only,
        so absence means "not reconstructed or not yet born", not necessarily "not born".

    Examples
    --------
    >>> P = witvliet_presence()
    >>> int(P["celegans_witvliet_1"].sum()), int(P["celegans_witvliet_8"].sum())
    (161, 180)
    """
    import pandas as pd

    sets = _presence_sets()
    names = list(neuron_names())
    df = pd.DataFrame({f"celegans_witvliet_{k}": [n in s for n in names] for k, s in sets.items()}, index=names)
    first = np.zeros(len(names), dtype=int)
    for k in sorted(sets, reverse=True):
        first[df[f"celegans_witvliet_{k}"].to_numpy()] = k
    df["first_dataset"] = first
    df.index.name = "label"
    return df


def build(name: str, *, cells: str = "neurons"):
    """Assemble the :class:`Connectome` for a C. elegans dataset (no caching here)."""
    from ._core import Connectome

    spec = DATASETS[name]
    nodes, conns = _read_cect(spec["reader"])
    neurons = set(neuron_names())
    if cells == "neurons":
        keep = [i for i, c in enumerate(nodes) if c in neurons]
    else:  # "all"
        keep = list(range(len(nodes)))
    labels = [nodes[i] for i in keep]
    idx = np.asarray(keep)
    layers, directed = {}, {}
    for src, dst in _LAYER_MAP.items():
        if src not in conns:
            raise ValueError(f"dataset {name!r}: cect reader {spec['reader']} has no {src!r} connections")
        M = conns[src]
        if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] != len(nodes):
            raise ValueError(
                f"dataset {name!r}: cect layer {src!r} has shape {M.shape} for {len(nodes)} nodes "
                "(label count mismatch or non-square)")
        layers[dst] = M[np.ix_(idx, idx)]
        directed[dst] = dst == "chemical"
    pos_table = _positions()
    positions = np.array([pos_table.get(c, (np.nan,) * 3) for c in labels], dtype=float)
    gang = _ganglia()
    lin = [lineage_info(c) for c in labels]
    presence = _presence_sets()
    first = []
    for c in labels:
        ks = [k for k in sorted(presence) if c in presence[k]]
        first.append(ks[0] if ks else 0)
    attrs = {
        "cell_class": [_cell_class(c, neurons) for c in labels],
        "neuron": [c in neurons for c in labels],
        "ganglion": [gang.get(c) for c in labels],
        "hemisphere": [_hemisphere(c) for c in labels],
        "lineage": [x[0] for x in lin],
        "birth_phase": [x[1] for x in lin],
        "lineage_depth": [x[2] for x in lin],
        "birth_stage": [x[3] for x in lin],
        "birth_rank": _birth_ranks([x[1] for x in lin], [x[2] for x in lin]),
        "first_witvliet_dataset": first,
    }
    import cect

    return Connectome(
        name=name,
        species="Caenorhabditis elegans",
        labels=labels,
        layers=layers,
        directed=directed,
        stage=spec["stage"],
        age=spec["age"],
        age_unit="h after birth" if spec["age"] is not None else None,
        positions=positions,
        position_unit="atlas units (~0.1 mm)",
        node_attributes=attrs,
        units={"chemical": "synapse count (cect 'Generic_CS')",
               "gap_junction": "gap-junction count (cect 'Generic_GJ')"},
        citation=spec["citation"],
        references=(spec["citation"], "gleeson2018c302", "sulston1983embryonic"),
        licence=f"{_LIC_CECT}; {_LIC_WNA}; original data: {spec['original']}",
        description=spec["description"],
        metadata={"source": f"cect {cect.__version__} cect.readers.{spec['reader']} (from_cache=True)",
                  "cells": cells, "n_source_nodes": len(nodes)},
    )
