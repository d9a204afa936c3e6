"""Tests for mesoscale.connectomes: counts against GUIDE.md, the Connectome API, validation,
caching and offline behaviour."""

from __future__ import annotations

import re
import socket

import networkx as nx
import numpy as np
import pytest

from mesoscale import connectomes as C
from mesoscale.connectomes import _cache, celegans, graspologic_data, human
from mesoscale.connectomes._core import Connectome, ConnectomeDataError


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test uses a private on-disk cache (shared within the session) and a fresh memory cache."""
    root = tmp_path_factory.getbasetemp() / "mesoscale_cache"
    monkeypatch.setenv("MESOSCALE_CACHE", str(root))
    C.clear_memory_cache()
    yield
    C.clear_memory_cache()


# ---------------------------------------------------------------- reference counts (GUIDE.md)
# reader nodes, neurons, CS nnz (all cells), GJ nnz (all cells), undirected neuron edges
WORM = {
    "celegans_witvliet_1": (187, 161, 775, 164, 680),
    "celegans_witvliet_2": (194, 162, 986, 246, 869),
    "celegans_witvliet_3": (198, 162, 1012, 186, 863),
    "celegans_witvliet_4": (204, 168, 1136, 415, 1061),
    "celegans_witvliet_5": (211, 174, 1515, 578, 1363),
    "celegans_witvliet_6": (216, 175, 1525, 426, 1327),
    "celegans_witvliet_7": (222, 181, 2202, 576, 1843),
    "celegans_witvliet_8": (219, 180, 2186, 612, 1800),
    "celegans_cook2019_herm": (473, 302, 4879, 2883, 3517),
    "celegans_varshney2011": (281, 280, 2309, 1031, 2287),
    "celegans_white1986": (309, 300, 2386, 1144, 2385),
}


@pytest.mark.parametrize("name", list(WORM))
def test_worm_counts_match_guide(name):
    nodes, neurons, cs, gj, undirected = WORM[name]
    allc = C.load(name, cells="all")
    assert allc.n == nodes
    assert int((allc.layers["chemical"] > 0).sum()) == cs
    assert int((allc.layers["gap_junction"] > 0).sum()) == gj
    c = C.load(name)
    assert c.n == neurons
    assert set(c.labels) <= set(celegans.neuron_names())
    assert c.n_edges() == undirected
    B = c.binary()
    assert B.dtype == np.float64 and np.array_equal(B, B.T) and not np.diag(B).any()
    assert set(np.unique(B)) <= {0.0, 1.0}
    assert c.directed == {"chemical": True, "gap_junction": False}
    assert np.array_equal(c.layers["gap_junction"], c.layers["gap_junction"].T)
    assert c.citation in c.references and "gleeson2018c302" in c.references
    assert "MIT" in c.licence and "GPL" in c.licence
    # every neuron has an atlas position; distances are a proper metric matrix
    assert c.positions.shape == (c.n, 3) and c.has_positions
    D = c.distances()
    assert np.allclose(D, D.T) and not np.diag(D).any() and (D[~np.eye(c.n, dtype=bool)] > 0).all()


def test_binary_default_is_union_of_layers_either_direction():
    c = C.load("celegans_witvliet_1")
    CS, GJ = c.layers["chemical"], c.layers["gap_junction"]
    expected = ((CS + CS.T + GJ + GJ.T) > 0).astype(float)
    np.fill_diagonal(expected, 0)
    assert np.array_equal(c.binary(), expected)
    chem_only = c.binary("chemical")
    assert chem_only.sum() < c.binary().sum()
    assert c.binary(reciprocal=True).sum() < chem_only.sum() + c.binary("gap_junction").sum()
    strong = c.binary(threshold=2)
    assert (strong <= c.binary()).all() and strong.sum() < c.binary().sum()
    with pytest.raises(ValueError, match="layers"):
        c.binary("electrical")
    with pytest.raises(ValueError, match="threshold"):
        c.binary(threshold=-1)


def test_witvliet_stages_ages_and_presence():
    ages = [C.load(f"celegans_witvliet_{k}").age for k in range(1, 9)]
    assert ages == [0, 5, 8, 16, 23, 27, 50, 50]
    stages = [C.load(f"celegans_witvliet_{k}").stage for k in range(1, 9)]
    assert stages == ["L1"] * 4 + ["L2", "L3", "adult", "adult"]
    assert C.load("celegans_witvliet_3").age_unit == "h after birth"
    P = C.witvliet_presence()
    assert P.shape == (302, 9)
    assert [int(P[f"celegans_witvliet_{k}"].sum()) for k in range(1, 9)] == [WORM[f"celegans_witvliet_{k}"][1]
                                                                           for k in range(1, 9)]
    for k in range(1, 9):
        c = C.load(f"celegans_witvliet_{k}")
        assert set(c.labels) == set(P.index[P[f"celegans_witvliet_{k}"]])
        first = np.array(c.node_attributes["first_witvliet_dataset"])
        assert (first >= 1).all() and (first <= k).all()
    # neurons present at birth are (almost all) present in the adult brain
    assert len(set(P.index[P.celegans_witvliet_1]) - set(P.index[P.celegans_witvliet_8])) <= 5


def test_worm_lineage_and_birth_order():
    t = C.load("celegans_cook2019_herm").node_table()
    assert t.lineage.notna().all()
    assert t.birth_phase.value_counts().to_dict() == {"embryonic": 223, "post-embryonic": 79}
    row = t.set_index("label")
    # fixes documented in celegans.py
    assert row.loc["ALML", "lineage"] == "AB arppaappa"
    assert row.loc["PHBR", "lineage"] == "AB prapppappp"
    assert row.loc["DB1", "lineage"] == "AB plpaaaapp" and row.loc["DB3", "lineage"] == "AB prpaaaapp"
    assert row.loc["AVFL", "lineage"] == row.loc["AVFR", "lineage"] == "P1.aaaa|W.aaa"
    # depths: AB + 10 letters = 11; P-cell blast + 4 letters = 4
    assert row.loc["ADAL", "lineage_depth"] == 11 and row.loc["VA2", "lineage_depth"] == 4
    assert row.loc["PVDL", "birth_stage"] == "L2" and row.loc["AVM", "birth_stage"] == "L1"
    assert row.loc["AVAL", "birth_stage"] == "embryo"
    # every embryonic neuron ranks before every post-embryonic one
    emb = t[t.birth_phase == "embryonic"].birth_rank
    post = t[t.birth_phase == "post-embryonic"].birth_rank
    assert emb.max() < post.min()
    assert sorted(t.birth_rank) == pytest.approx(sorted(__import__("scipy").stats.rankdata(t.birth_rank)))
    assert set(t.hemisphere) == {"left", "right", "midline"}
    assert (t.hemisphere == "left").sum() == (t.hemisphere == "right").sum()
    assert t.ganglion.notna().all()
    assert set(t.cell_class) <= {"sensory", "interneuron", "motor", "other neuron"}


def test_worm_all_cells_have_nan_positions_for_non_neurons():
    c = C.load("celegans_cook2019_herm", cells="all")
    t = c.node_table()
    assert (t.cell_class == "muscle").sum() > 100
    nan_rows = np.isnan(c.positions).all(axis=1)
    assert np.array_equal(nan_rows, ~np.array(c.node_attributes["neuron"]))
    with pytest.raises(ValueError, match="have no position"):
        c.distances()
    sub = c.subgraph(np.array(c.node_attributes["neuron"]))
    assert sub.n == 302 and sub.distances().shape == (302, 302)
    assert np.array_equal(sub.binary(), C.load("celegans_cook2019_herm").binary())


# ---------------------------------------------------------------------------- human
def test_human_dk68():
    c = C.load("human_dk68")
    assert (c.n, c.n_edges()) == (68, 588)
    W = c.layers["structural"]
    assert np.array_equal(W, W.T) and not c.directed["structural"]
    assert c.position_unit == "mm" and c.has_positions and c.positions.shape == (68, 3)
    L = c.edge_data["tract_length"]
    assert c.units["tract_length"] == "mm"
    off = ~np.eye(68, dtype=bool)
    assert (L[(W > 0) & off] > 0).all()
    t = c.node_table()
    assert (t.hemisphere == "left").sum() == 34 and (t.hemisphere == "right").sum() == 34
    assert "lateralorbitofrontal" in set(t.region)
    assert c.citation == "desikan2006automated" and "sanzleon2013virtual" in c.references
    assert "GPL-3" in c.licence


def test_human_hagmann66_symmetrize_option():
    c = C.load("human_hagmann66")
    assert (c.n, c.n_edges()) == (66, 658)
    assert np.array_equal(c.layers["structural"], c.layers["structural"].T)
    raw = C.load("human_hagmann66", symmetrize=False)
    W = raw.layers["structural"]
    assert raw.directed["structural"] and not np.array_equal(W, W.T)
    assert np.allclose(c.layers["structural"], (W + W.T) / 2)
    assert raw.n_edges() == 658
    t = c.node_table()
    assert (t.hemisphere == "left").sum() == 33 and "BSTS" in set(t.region)
    with pytest.raises(TypeError, match="symmetrize"):
        C.load("human_hagmann66", symmetrize="yes")


# ------------------------------------------------------------------- fly and mouse
def test_graspologic_data_files_are_installed():
    """`make env` installs graspologic's data files; the fly and mouse tests below need them."""
    assert graspologic_data.available(), "graspologic is missing: run `make env` (pip install --no-deps graspologic)"


@pytest.mark.parametrize("side,n,classes", [("left", 209, {"K": 101, "P": 58, "O": 29, "I": 21}),
                                            ("right", 213, {"K": 100, "P": 63, "O": 29, "I": 21})])
def test_fly_mushroom_body(side, n, classes):
    c = C.load(f"fly_larva_mb_{side}")
    assert c.n == n and c.directed == {"chemical": True}
    A = c.layers["chemical"]
    assert not np.array_equal(A, A.T) and np.all(A == np.round(A))
    t = c.node_table()
    assert t.class_code.value_counts().to_dict() == classes
    assert set(t.hemisphere) == {side}
    assert c.positions is None
    with pytest.raises(ValueError, match="no node positions"):
        c.distances()
    assert c.citation == "eichler2017complete"


def test_mouse_subjects_and_atlas():
    assert len(C.MOUSE_SUBJECTS) == 32
    assert graspologic_data.mouse_subjects() == sorted(C.MOUSE_SUBJECTS)
    genotypes, sexes = [], []
    for s in C.MOUSE_SUBJECTS[:: 4]:
        c = C.load(f"mouse_dti_{s}")
        assert c.n == 332 and np.array_equal(c.layers["structural"], c.layers["structural"].T)
        genotypes.append(c.metadata["genotype"])
        sexes.append(c.metadata["sex"])
    table = C.list_datasets("mouse")
    assert len(table) == 32 and table.available.all() and (table.n_nodes == 332).all()
    assert set(table.name) == {f"mouse_dti_{s}" for s in C.MOUSE_SUBJECTS}
    import pandas as pd

    parts = pd.read_csv(graspologic_data._root() / "mice" / "participants.csv")
    assert parts.genotype.value_counts().to_dict() == {"BTBR": 8, "B6": 8, "CAST": 8, "DBA2": 8}
    c = C.load("mouse_dti_54776")
    t = c.node_table()
    assert (t.hemisphere == "left").sum() == 166
    assert t.macrostructure.value_counts().to_dict() == {
        "white_matter": 100, "isocortex": 82, "hindbrain": 56, "pallium": 40,
        "diencephalon": 22, "midbrain": 18, "subpallium": 14}
    assert t.volume_mm3.notna().all() and (t.volume_mm3 > 0).all()
    edges = np.loadtxt(graspologic_data._root() / "mice" / "edgelists" / "sub-54776_ses-1_dti.edgelist")
    assert c.n_edges() == len(edges)
    assert c.layers["structural"][0, 1] == 3735.0 and c.metadata["genotype"] == "DBA2"


def test_graspologic_missing_gives_install_command(monkeypatch):
    real = graspologic_data.importlib.util.find_spec
    monkeypatch.setattr(graspologic_data.importlib.util, "find_spec",
                        lambda name, *a: None if name == "graspologic" else real(name, *a))
    graspologic_data._participants.cache_clear()
    try:
        for name in ("fly_larva_mb_left", "mouse_dti_54776"):
            with pytest.raises(ImportError, match=re.escape(C.GRASPOLOGIC_INSTALL_COMMAND)) as info:
                C.load(name, cache=False)
            assert isinstance(info.value, C.GraspologicMissingError)
            assert "numpy<2" in str(info.value)
        table = C.list_datasets("fly")
        assert not table.available.any() and table.n_nodes.isna().all()
    finally:
        graspologic_data._participants.cache_clear()


# -------------------------------------------------------------------- list_datasets
def test_list_datasets_table():
    t = C.list_datasets()
    assert list(t.columns[:8]) == ["name", "species", "stage", "age", "age_unit", "n_nodes", "n_edges", "density"]
    for col in ("directed", "weighted", "positions", "citation", "licence"):
        assert col in t.columns
    assert t.name.tolist() == C.dataset_names()
    row = t.set_index("name")
    for name, counts in WORM.items():
        assert row.loc[name, "n_nodes"] == counts[1] and row.loc[name, "n_edges"] == counts[4]
    assert row.loc["human_dk68", "n_edges"] == 588 and row.loc["human_hagmann66", "n_edges"] == 658
    assert bool(row.loc["human_dk68", "positions"]) and not bool(row.loc["human_dk68", "directed"])
    bib = (__import__("pathlib").Path(__file__).parents[1] / "book" / "references.bib").read_text()
    for key in set(t.citation.dropna()):
        assert f"{{{key}," in bib, key
    for name in C.dataset_names():
        for key in C.load(name).references if row.loc[name, "available"] else ():
            assert f"{{{key}," in bib, key


# ---------------------------------------------------------------- names and options
def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown dataset 'celegans_witvliet_9'") as info:
        C.load("celegans_witvliet_9")
    for n in ("celegans_witvliet_1", "human_dk68", "fly_larva_mb_left", "mouse_dti_54776"):
        assert n in str(info.value)
    with pytest.raises(TypeError, match="name"):
        C.load(3)


def test_bad_options():
    with pytest.raises(ValueError, match="'cells'.*'muscles'"):
        C.load("celegans_white1986", cells="muscles")
    with pytest.raises(TypeError, match="unknown option.*'weird'"):
        C.load("celegans_white1986", weird=1)
    with pytest.raises(TypeError, match="unknown option"):
        C.load("human_dk68", cells="all")


# ------------------------------------------------------------------------ validation
def _toy(**kw):
    args = dict(name="toy", species="none", labels=["a", "b", "c"],
                layers={"w": np.array([[0, 1, 0], [1, 0, 2], [0, 2, 0]])}, directed={"w": False})
    args.update(kw)
    return Connectome(**args)


@pytest.mark.parametrize("matrix,defect", [
    (np.ones((3, 2)), "square"),
    (np.array([[0, np.nan, 0], [0, 0, 0], [0, 0, 0]]), "non-finite"),
    (np.array([[0, np.inf, 0], [np.inf, 0, 0], [0, 0, 0]]), "non-finite"),
    (np.array([[0, -1, 0], [-1, 0, 0], [0, 0, 0]]), "negative"),
    (np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]]), "symmetric"),
    (np.zeros((4, 4)), "label count mismatch"),
    (np.array([["a"] * 3] * 3), "numeric"),
])
def test_malformed_matrix_names_dataset_and_defect(matrix, defect):
    with pytest.raises(ConnectomeDataError, match=rf"dataset 'toy'.*{defect}"):
        _toy(layers={"w": matrix})


def test_other_malformed_inputs():
    with pytest.raises(ConnectomeDataError, match="not unique"):
        _toy(labels=["a", "a", "c"])
    with pytest.raises(ConnectomeDataError, match="positions"):
        _toy(positions=np.zeros((2, 3)))
    with pytest.raises(ConnectomeDataError, match="node attribute 'region'"):
        _toy(node_attributes={"region": ["x"]})
    with pytest.raises(ConnectomeDataError, match="directed"):
        _toy(directed={})
    assert _toy(directed={"w": True}).is_directed


def test_loader_rejects_malformed_source(monkeypatch):
    raw = human.read_tvb_zip("connectivity_68.zip")
    bad = dict(raw, weights=raw["weights"].copy())
    bad["weights"][3, 5] = np.nan
    monkeypatch.setattr(human, "read_tvb_zip", lambda fname: bad)
    with pytest.raises(ConnectomeDataError, match=r"dataset 'human_dk68'.*non-finite"):
        C.load("human_dk68", cache=False)
    asym = dict(raw, weights=raw["weights"].copy())
    asym["weights"][0, 1] += 1.0
    monkeypatch.setattr(human, "read_tvb_zip", lambda fname: asym)
    with pytest.raises(ConnectomeDataError, match=r"dataset 'human_dk68'.*symmetric"):
        C.load("human_dk68", cache=False)
    short = dict(raw, labels=raw["labels"][:-1], centres=raw["centres"][:-1])
    monkeypatch.setattr(human, "read_tvb_zip", lambda fname: short)
    with pytest.raises(ConnectomeDataError, match=r"dataset 'human_dk68'.*label count mismatch"):
        C.load("human_dk68", cache=False)

    nodes, conns = celegans._read_cect("WitvlietDataReader1")
    neg = {k: v.copy() for k, v in conns.items()}
    i = nodes.index("AVAL")
    neg["Generic_CS"][i, nodes.index("AVBL")] = -2
    monkeypatch.setattr(celegans, "_read_cect", lambda reader: (nodes, neg) if reader.endswith("1") else
                        (nodes, conns))
    with pytest.raises(ConnectomeDataError, match=r"dataset 'celegans_witvliet_1'.*negative"):
        C.load("celegans_witvliet_1", cache=False)
    nonsq = {k: v[:, :-1] for k, v in conns.items()}
    monkeypatch.setattr(celegans, "_read_cect", lambda reader: (nodes, nonsq))
    with pytest.raises(ValueError, match=r"dataset 'celegans_witvliet_1'.*non-square"):
        C.load("celegans_witvliet_1", cache=False)


# ------------------------------------------------------------------- conversions
def test_conversions_and_copies():
    c = C.load("celegans_witvliet_8")
    G = c.to_networkx()
    assert isinstance(G, nx.Graph) and not G.is_directed()
    assert G.number_of_nodes() == c.n and G.number_of_edges() == c.n_edges()
    assert "pos" in G.nodes["AVAL"] and G.nodes["AVAL"]["cell_class"] == "interneuron"
    D = c.to_networkx("chemical")
    assert D.is_directed() and D.number_of_edges() == int((c.layers["chemical"] > 0).sum())
    i, j = c.labels.index("AVAL"), c.labels.index("AVBL")
    if c.layers["chemical"][i, j] > 0:
        assert D["AVAL"]["AVBL"]["weight"] == c.layers["chemical"][i, j]
    assert c.to_networkx("gap_junction").is_directed() is False
    t = c.node_table()
    for col in ("label", "cell_class", "ganglion", "hemisphere", "lineage", "birth_phase", "birth_rank",
                "x", "y", "z", "degree"):
        assert col in t.columns
    assert len(t) == c.n and (t.degree.to_numpy() == c.binary().sum(1)).all()
    A = c.adjacency("chemical")
    A[:] = 99
    assert c.layers["chemical"].max() < 99
    with pytest.raises(ValueError, match="several layers"):
        c.adjacency()
    c.layers["chemical"][:] = 0  # mutating a loaded copy does not leak into later loads
    assert C.load("celegans_witvliet_8").layers["chemical"].sum() > 0
    assert "celegans_witvliet_8" in repr(c) and "50 h after birth" in repr(c)


def test_subgraph_indices_and_errors():
    c = C.load("human_dk68")
    s = c.subgraph([3, 1])
    assert s.labels == [c.labels[3], c.labels[1]]
    assert s.edge_data["tract_length"][0, 1] == c.edge_data["tract_length"][3, 1]
    with pytest.raises(ValueError, match="not in dataset"):
        c.subgraph(["nope"])
    with pytest.raises(ValueError, match="more than once"):
        c.subgraph([1, 1])


# ------------------------------------------------------------------ cache, offline
def test_disk_cache_roundtrip_and_corruption(tmp_path, monkeypatch):
    monkeypatch.setenv("MESOSCALE_CACHE", str(tmp_path))
    C.clear_memory_cache()
    fresh = C.load("celegans_witvliet_2", cache=False)
    assert not any(tmp_path.rglob("*.npz"))
    first = C.load("celegans_witvliet_2")
    files = list(tmp_path.rglob("*.npz"))
    assert len(files) == 1 and files[0].name.startswith("celegans_witvliet_2-")
    assert not list(tmp_path.rglob("*.tmp"))
    C.clear_memory_cache()
    cached = C.load("celegans_witvliet_2")
    for c in (first, cached):
        assert c.labels == fresh.labels
        for k in fresh.layers:
            assert np.array_equal(c.layers[k], fresh.layers[k])
        assert np.array_equal(c.positions, fresh.positions)
        assert c.node_table().equals(fresh.node_table())
        assert (c.stage, c.age, c.citation, c.references, c.licence) == (
            fresh.stage, fresh.age, fresh.citation, fresh.references, fresh.licence)
    # options change the key
    C.load("celegans_witvliet_2", cells="all")
    assert len(list(tmp_path.rglob("*.npz"))) == 2
    # a corrupt file is ignored and rebuilt
    files[0].write_bytes(b"not a zip file")
    C.clear_memory_cache()
    again = C.load("celegans_witvliet_2")
    assert again.n_edges() == fresh.n_edges()
    with np.load(files[0]) as z:
        assert "meta" in z.files
    # a cached file whose matrix is malformed is treated as corrupt, too
    arrays = _cache._encode(fresh)
    arrays["layer:chemical"] = np.full_like(arrays["layer:chemical"], np.nan)
    np.savez(files[0], **arrays)
    C.clear_memory_cache()
    assert C.load("celegans_witvliet_2").n_edges() == fresh.n_edges()


def test_cache_key_depends_on_versions(monkeypatch):
    p1 = _cache.cache_path("human_dk68", {"symmetrize": True})
    monkeypatch.setattr(_cache, "_version", lambda pkg: "999")
    assert _cache.cache_path("human_dk68", {"symmetrize": True}) != p1


def test_unwritable_cache_dir_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("MESOSCALE_CACHE", str(blocker))  # a file, so mkdir fails
    C.clear_memory_cache()
    assert C.load("human_dk68").n == 68


_NO_NETWORK_SCRIPT = """
import socket

def no_network(*args, **kwargs):
    raise AssertionError("network access attempted")

socket.socket = no_network
socket.create_connection = no_network
socket.getaddrinfo = no_network

from mesoscale import connectomes as C
from mesoscale.connectomes import graspologic_data

names = [n for n in C.dataset_names() if not n.startswith("mouse")] + ["mouse_dti_54890"]
if not graspologic_data.available():
    names = [n for n in names if not n.startswith(("fly", "mouse"))]
for name in names:
    assert C.load(name, cache=False).n > 0
    assert C.load(name).n > 0
C.load("celegans_cook2019_herm", cells="all", cache=False)
C.witvliet_presence()
print("offline ok", len(names))
"""


def test_loaders_never_touch_the_network(tmp_path):
    """Imports cect, wormneuroatlas files, tvb-data and graspologic files with sockets disabled."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, MESOSCALE_CACHE=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", _NO_NETWORK_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "offline ok" in out.stdout
