"""The :class:`Connectome` type shared by every dataset, and its validation."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .._validation import check_choice, check_float, check_matrix, distance_matrix

__all__ = ["Connectome", "ConnectomeDataError"]


class ConnectomeDataError(ValueError):
    """A dataset's matrices or node data are malformed (the message names dataset and defect).

    Examples
    --------
    >>> try:
    ...     Connectome(name="toy", species="none", labels=["a", "a"], layers={"w": np.zeros((2, 2))},
    ...                directed={"w": True})
    ... except ConnectomeDataError as exc:
    ...     print(exc)
    dataset 'toy': labels are not unique (repeated: ['a'])
    >>> issubclass(ConnectomeDataError, ValueError)
    True
    """


def _fail(dataset: str, what: str, defect: str) -> ConnectomeDataError:
    return ConnectomeDataError(f"dataset {dataset!r}: {what} {defect}")


@dataclass(eq=False)
class Connectome:
    """A connectome: labelled nodes, one or more weight layers, and what is known about them.

    The same type holds every species. ``A[i, j]`` of a directed layer is the connection
    from node ``i`` to node ``j`` (rows presynaptic); symmetric layers have ``A == A.T``.
    Instances are normally made by :func:`mesoscale.connectomes.load`; constructing one
    directly validates everything and raises :class:`ConnectomeDataError` (a
    ``ValueError``) naming the dataset and the defect.

    Parameters
    ----------
    name : str
        Dataset name (as passed to :func:`~mesoscale.connectomes.load`).
    species : str
        e.g. ``"Caenorhabditis elegans"``.
    labels : sequence of str
        One unique label per node.
    layers : mapping of str to (n, n) array_like
        Non-negative, finite weight matrices, e.g. ``chemical`` and ``gap_junction`` for the
        worm or ``structural`` for diffusion MRI.
    directed : mapping of str to bool
        For each layer, whether it is directed. Undirected layers must be symmetric.
    stage, age, age_unit : optional
        Developmental stage (``"L1"``, ``"adult"``...) and age with its unit where known.
    positions : (n, 3) array_like, optional
        Node positions in ``position_unit``; rows of NaN mark nodes without a known position.
    node_attributes : mapping of str to sequence, optional
        Per-node columns (cell class, ganglion/region, hemisphere, lineage, ...).
    edge_data : mapping of str to (n, n) array_like, optional
        Other pairwise data that are not connection weights (e.g. ``tract_length``).
    units : mapping, optional
        Units of layers and edge data (``{"tract_length": "mm"}``).
    citation : str
        BibTeX key of the data's primary reference (in ``book/references.bib``).
    references : tuple of str
        Every BibTeX key to cite when using the data (data papers and software).
    licence : str
        Licence terms of the packaged files and, where known, of the original data.
    metadata : dict
        Anything else (subject genotype, source files, options used).

    Examples
    --------
    >>> import numpy as np
    >>> c = Connectome(name="toy", species="none", labels=["a", "b", "c"],
    ...                layers={"w": np.array([[0, 2, 0], [0, 0, 1], [0, 0, 0]])},
    ...                directed={"w": True})
    >>> c.binary()
    array([[0., 1., 0.],
           [1., 0., 1.],
           [0., 1., 0.]])
    >>> c.n, c.n_edges()
    (3, 2)
    """

    name: str
    species: str
    labels: Sequence[str]
    layers: Mapping[str, np.ndarray]
    directed: Mapping[str, bool]
    stage: str | None = None
    age: float | None = None
    age_unit: str | None = None
    positions: np.ndarray | None = None
    position_unit: str | None = None
    node_attributes: Mapping[str, Sequence] = field(default_factory=dict)
    edge_data: Mapping[str, np.ndarray] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    citation: str = ""
    references: tuple[str, ...] = ()
    licence: str = ""
    description: str = ""
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        ds = str(self.name)
        self.labels = [str(x) for x in self.labels]
        n = len(self.labels)
        if n == 0:
            raise _fail(ds, "labels", "are empty")
        if len(set(self.labels)) != n:
            seen, dup = set(), []
            for x in self.labels:
                if x in seen:
                    dup.append(x)
                seen.add(x)
            raise _fail(ds, "labels", f"are not unique (repeated: {dup[:5]})")
        if not self.layers:
            raise _fail(ds, "layers", "are empty; a connectome needs at least one weight layer")
        layers = {}
        for lname, M in self.layers.items():
            if lname not in self.directed:
                raise _fail(ds, f"layer {lname!r}", "has no entry in 'directed'")
            layers[lname] = _check_square(ds, f"layer {lname}", M, n, nonnegative=True,
                                          symmetric=not self.directed[lname])
        self.layers = layers
        self.directed = {k: bool(self.directed[k]) for k in layers}
        self.edge_data = {
            k: _check_square(ds, f"edge data {k}", M, n, nonnegative=True, symmetric=False)
            for k, M in self.edge_data.items()
        }
        if self.positions is not None:
            P = np.asarray(self.positions, dtype=float)
            if P.shape != (n, 3):
                raise _fail(ds, "positions", f"must have shape ({n}, 3) to match {n} labels; got {P.shape}")
            rows_ok = np.all(np.isfinite(P), axis=1) | np.all(np.isnan(P), axis=1)
            if not np.all(rows_ok):
                i = int(np.flatnonzero(~rows_ok)[0])
                raise _fail(ds, "positions", f"row {i} ({self.labels[i]}) is partly non-finite: {P[i]}")
            self.positions = P
        attrs = {}
        for key, col in self.node_attributes.items():
            col = list(col)
            if len(col) != n:
                raise _fail(ds, f"node attribute {key!r}", f"has {len(col)} values for {n} labels")
            attrs[key] = col
        self.node_attributes = attrs
        if self.age is not None:
            self.age = check_float(self.age, "age", minimum=0)
        self.references = tuple(self.references) or ((self.citation,) if self.citation else ())

    # ------------------------------------------------------------------ basics
    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.labels)

    @property
    def layer_names(self) -> list[str]:
        """Names of the weight layers, in order."""
        return list(self.layers)

    @property
    def weighted(self) -> bool:
        """Whether any layer holds weights other than 0/1."""
        return any(not np.all((M == 0) | (M == 1)) for M in self.layers.values())

    @property
    def is_directed(self) -> bool:
        """Whether any layer is directed."""
        return any(self.directed.values())

    @property
    def has_positions(self) -> bool:
        """Whether every node has a position."""
        return self.positions is not None and bool(np.all(np.isfinite(self.positions)))

    def __repr__(self) -> str:
        bits = [f"{self.name!r}", self.species, f"n={self.n}", f"edges={self.n_edges()}"]
        if self.stage:
            bits.append(f"stage={self.stage}")
        if self.age is not None:
            bits.append(f"age={self.age:g} {self.age_unit}")
        bits.append("layers=" + ",".join(f"{k}({'dir' if d else 'sym'})" for k, d in self.directed.items()))
        return f"Connectome({', '.join(bits)})"

    def copy(self) -> Connectome:
        """A deep copy (arrays included)."""
        return copy.deepcopy(self)

    # -------------------------------------------------------------- adjacency
    def _layer_list(self, layers) -> list[str]:
        if layers is None:
            return list(self.layers)
        if isinstance(layers, str):
            layers = [layers]
        layers = list(layers)
        if not layers:
            raise ValueError(f"'layers' must name at least one of {list(self.layers)}; got []")
        for lname in layers:
            check_choice(lname, "layers", list(self.layers))
        return layers

    def adjacency(self, layer: str | None = None) -> np.ndarray:
        """Return a copy of one weight layer as a float ``(n, n)`` array.

        With ``layer=None`` the dataset must have exactly one layer, or the sum of all
        layers is returned only if they share direction; otherwise name the layer.

        Examples
        --------
        >>> import numpy as np
        >>> c = Connectome(name="toy", species="none", labels=["a", "b"],
        ...                layers={"w": np.array([[0, 3], [0, 0]])}, directed={"w": True})
        >>> c.adjacency("w")
        array([[0., 3.],
               [0., 0.]])
        """
        if layer is None:
            if len(self.layers) == 1:
                return next(iter(self.layers.values())).copy()
            raise ValueError(
                f"dataset {self.name!r} has several layers {list(self.layers)}; pass 'layer' to choose one"
            )
        check_choice(layer, "layer", list(self.layers))
        return self.layers[layer].copy()

    to_numpy = adjacency

    def binary(self, layers=None, *, threshold: float = 0.0, reciprocal: bool = False) -> np.ndarray:
        """The symmetric 0/1 adjacency used by the generative models.

        A pair ``(i, j)``, ``i != j``, is connected when any of ``layers`` has a weight
        above ``threshold`` from ``i`` to ``j`` or from ``j`` to ``i``. The diagonal is zero.

        Parameters
        ----------
        layers : str or sequence of str, optional
            Layers to combine (default: all of them).
        threshold : float, default 0
            A connection counts only if its weight is ``> threshold`` (e.g. ``threshold=2``
            keeps worm connections made of at least 3 synapses).
        reciprocal : bool, default False
            Require a connection in *both* directions (in the union of ``layers``) instead
            of either direction.

        Returns
        -------
        (n, n) ndarray of float64
            Symmetric, 0/1, zero diagonal.

        Examples
        --------
        >>> import numpy as np
        >>> c = Connectome(name="toy", species="none", labels=["a", "b", "c"],
        ...                layers={"w": np.array([[0, 1, 5], [1, 0, 0], [0, 0, 0]])},
        ...                directed={"w": True})
        >>> int(c.binary().sum() // 2), int(c.binary(reciprocal=True).sum() // 2)
        (2, 1)
        >>> int(c.binary(threshold=2).sum() // 2)
        1
        """
        threshold = check_float(threshold, "threshold", minimum=0)
        names = self._layer_list(layers)
        D = np.zeros((self.n, self.n), dtype=bool)
        for lname in names:
            D |= self.layers[lname] > threshold
        U = (D & D.T) if reciprocal else (D | D.T)
        np.fill_diagonal(U, False)
        return U.astype(float)

    def n_edges(self, layers=None, **binary_options) -> int:
        """Number of undirected edges of :meth:`binary` (same options)."""
        return int(np.triu(self.binary(layers, **binary_options), 1).sum())

    def density(self, layers=None, **binary_options) -> float:
        """Edge density of :meth:`binary`: edges / (n (n - 1) / 2)."""
        return self.n_edges(layers, **binary_options) / (self.n * (self.n - 1) / 2)

    def degree(self, layers=None, **binary_options) -> np.ndarray:
        """Degree of each node in :meth:`binary`."""
        return self.binary(layers, **binary_options).sum(axis=1).astype(int)

    # -------------------------------------------------------------- geometry
    def distances(self) -> np.ndarray:
        """Euclidean distance matrix ``(n, n)`` between node positions, in ``position_unit``.

        Raises
        ------
        ValueError
            If the dataset has no positions or some nodes lack one.

        Examples
        --------
        >>> import numpy as np
        >>> c = Connectome(name="toy", species="none", labels=["a", "b"],
        ...                layers={"w": np.zeros((2, 2))}, directed={"w": False},
        ...                positions=[[0, 0, 0], [3, 4, 0]], position_unit="mm")
        >>> c.distances()
        array([[0., 5.],
               [5., 0.]])
        """
        if self.positions is None:
            raise ValueError(f"dataset {self.name!r} has no node positions, so distances() is undefined")
        missing = ~np.all(np.isfinite(self.positions), axis=1)
        if missing.any():
            who = [self.labels[i] for i in np.flatnonzero(missing)[:8]]
            raise ValueError(
                f"dataset {self.name!r}: {int(missing.sum())} nodes have no position (e.g. {who}); "
                "select the nodes with positions first (see Connectome.subgraph)"
            )
        return distance_matrix(self.positions)

    # ----------------------------------------------------------- conversions
    def node_table(self):
        """A :class:`pandas.DataFrame` with one row per node.

        Columns: ``label``, the node attributes of the dataset (e.g. ``cell_class``,
        ``ganglion``/``region``, ``hemisphere``, ``lineage``, ``birth_phase``,
        ``lineage_depth``, ``birth_rank``), ``degree`` (of :meth:`binary`) and ``x, y, z``
        when positions are known.
        """
        import pandas as pd

        data = {"label": list(self.labels)}
        data.update({k: list(v) for k, v in self.node_attributes.items()})
        data["degree"] = self.degree()
        if self.positions is not None:
            for k, axis in enumerate("xyz"):
                data[axis] = self.positions[:, k]
        return pd.DataFrame(data)

    def to_networkx(self, layer: str | None = None):
        """Return a networkx graph with node attributes (and ``pos`` where known).

        With ``layer=None`` the graph is the undirected :meth:`binary` network. With a layer
        name, it is that layer's weighted graph (``weight`` edge attribute), a ``DiGraph``
        when the layer is directed.

        Examples
        --------
        >>> import numpy as np
        >>> c = Connectome(name="toy", species="none", labels=["a", "b"],
        ...                layers={"w": np.array([[0, 3], [0, 0]])}, directed={"w": True})
        >>> G = c.to_networkx("w")
        >>> G["a"]["b"]["weight"], G.is_directed()
        (3.0, True)
        """
        import networkx as nx

        if layer is None:
            G = nx.Graph()
            M = self.binary()
            pairs = zip(*np.nonzero(np.triu(M, 1)))
        else:
            M = self.adjacency(layer)
            G = nx.DiGraph() if self.directed[layer] else nx.Graph()
            pairs = zip(*np.nonzero(M if self.directed[layer] else np.triu(M, 1)))
        G.graph.update(name=self.name, species=self.species, stage=self.stage, layer=layer)
        for i, lab in enumerate(self.labels):
            attrs = {k: v[i] for k, v in self.node_attributes.items()}
            if self.positions is not None and np.all(np.isfinite(self.positions[i])):
                attrs["pos"] = tuple(float(x) for x in self.positions[i])
            G.add_node(lab, **attrs)
        for i, j in pairs:
            G.add_edge(self.labels[i], self.labels[j], weight=float(M[i, j]))
        return G

    def subgraph(self, nodes: Iterable) -> Connectome:
        """The connectome restricted to ``nodes`` (labels, integer indices or a boolean mask).

        Node order follows ``nodes`` for labels/indices and the original order for a mask.

        Examples
        --------
        >>> import numpy as np
        >>> c = Connectome(name="toy", species="none", labels=["a", "b", "c"],
        ...                layers={"w": np.ones((3, 3)) - np.eye(3)}, directed={"w": False})
        >>> c.subgraph(["c", "a"]).labels
        ['c', 'a']
        """
        idx = self._indices(nodes)
        sub = {
            "layers": {k: M[np.ix_(idx, idx)] for k, M in self.layers.items()},
            "edge_data": {k: M[np.ix_(idx, idx)] for k, M in self.edge_data.items()},
            "labels": [self.labels[i] for i in idx],
            "node_attributes": {k: [v[i] for i in idx] for k, v in self.node_attributes.items()},
            "positions": None if self.positions is None else self.positions[idx],
        }
        out = self.copy()
        for k, v in sub.items():
            setattr(out, k, v)
        out.__post_init__()
        return out

    def _indices(self, nodes) -> np.ndarray:
        arr = np.asarray(list(nodes) if not isinstance(nodes, np.ndarray) else nodes)
        if arr.dtype == bool:
            if arr.shape != (self.n,):
                raise ValueError(f"'nodes' mask must have length {self.n}; got shape {arr.shape}")
            return np.flatnonzero(arr)
        if arr.size == 0:
            raise ValueError("'nodes' must select at least one node; got none")
        if np.issubdtype(arr.dtype, np.integer):
            if arr.min() < -self.n or arr.max() >= self.n:
                raise ValueError(f"'nodes' indices must lie in [0, {self.n}); got {arr.min()}..{arr.max()}")
            idx = arr % self.n
        else:
            pos = {lab: i for i, lab in enumerate(self.labels)}
            bad = [x for x in arr.tolist() if x not in pos]
            if bad:
                raise ValueError(f"'nodes' contains labels not in dataset {self.name!r}: {bad[:8]}")
            idx = np.array([pos[x] for x in arr.tolist()])
        if len(np.unique(idx)) != len(idx):
            raise ValueError("'nodes' selects some nodes more than once")
        return idx

    def summary(self) -> dict:
        """One row of :func:`~mesoscale.connectomes.list_datasets` for this connectome."""
        return {
            "name": self.name,
            "species": self.species,
            "stage": self.stage,
            "age": self.age,
            "age_unit": self.age_unit,
            "n_nodes": self.n,
            "n_edges": self.n_edges(),
            "density": self.density(),
            "layers": ", ".join(self.layers),
            "directed": self.is_directed,
            "weighted": self.weighted,
            "positions": self.has_positions,
            "citation": self.citation,
            "licence": self.licence,
        }


def _check_square(ds, what, M, n, *, nonnegative, symmetric) -> np.ndarray:
    try:
        A = check_matrix(M, what, square=True, finite=True, nonnegative=nonnegative, symmetric=symmetric,
                         atol=1e-9)
    except (ValueError, TypeError) as exc:
        raise ConnectomeDataError(f"dataset {ds!r}: {exc}") from None
    if A.shape[0] != n:
        raise _fail(ds, what, f"is {A.shape[0]}x{A.shape[1]} but there are {n} labels (label count mismatch)")
    return np.array(A, dtype=float, copy=True)
