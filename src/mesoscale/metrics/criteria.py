"""Ways to judge a generative model's networks against a target: the fit criteria of ``fit``.

Six criteria, each a set of columns in ``[0, 1]`` (0 = identical) whose last column is the
criterion's energy, and their combinations:

``"ks"``
    The energy of Betzel et al. (2016): :func:`~mesoscale.metrics.ks_energy`, the largest KS
    statistic of degree, clustering, betweenness and edge length (:data:`KS_COLUMNS`).
``"weighted_ks"``
    Its weighted counterpart (Akarca et al. 2023): :func:`~mesoscale.metrics.weighted_ks_energy`
    on strength, weighted clustering, weighted betweenness and weighted edge length.
``"correlation"`` / ``"weighted_correlation"``
    Node-aligned: the synthetic network lives on the target's nodes, so each nodal statistic
    can be compared node by node. Column ``corr_<stat>`` is ``(1 - r) / 2`` with ``r`` the
    Pearson correlation across nodes between the network's and the target's values (0: the
    same hubs on the same nodes, 0.5: unrelated, 1: inverted; ``r = 0`` when either side is
    constant). Statistics: degree, clustering, betweenness and node wiring length
    ``sum_j A_ij D_ij`` (binary), or strength, weighted clustering, weighted betweenness and
    weighted wiring length ``sum_j W_ij D_ij`` (weighted). Energy: the largest column.
``"fingerprint"`` / ``"weighted_fingerprint"``
    The topological fingerprint of Akarca et al. (2021): the correlation matrix ``R`` (across
    nodes) of a set of nodal measures; a network's distance from the target is the Euclidean
    (Frobenius) distance between the two matrices, divided by its largest possible value
    ``2 sqrt(k (k - 1))`` so that it lies in ``[0, 1]``. Measures: degree, clustering,
    betweenness, wiring length and mean matching index (binary; Akarca et al. also used local
    efficiency, left out here for its cost), or strength, weighted clustering, weighted
    betweenness, weighted wiring length and mean matching index (weighted).

:class:`Criterion` binds criteria to a target and scores batches of networks; several criteria
are combined by the ``max`` or the ``mean`` of their energies (their scales are comparable:
all lie in ``[0, 1]``). Binary networks given to a weighted criterion count as all-ones weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validation import check_batch, check_choice, check_distance
from .energy import KS_COLUMNS, ks_energy, network_statistics
from .weighted import WEIGHTED_KS_COLUMNS, check_weights, weighted_ks_energy, weighted_statistics

__all__ = ["CRITERIA", "COMBINATIONS", "Criterion", "nodal_measures", "topological_fingerprint"]

BINARY_MEASURES = ("degree", "clustering", "betweenness", "wiring_length", "matching")
WEIGHTED_MEASURES = ("strength", "weighted_clustering", "weighted_betweenness", "weighted_wiring_length", "matching")

#: Every criterion and its columns (the last is its energy).
CRITERIA = {
    "ks": KS_COLUMNS,
    "weighted_ks": WEIGHTED_KS_COLUMNS,
    "correlation": tuple(f"corr_{m}" for m in BINARY_MEASURES[:4]) + ("energy",),
    "weighted_correlation": tuple(f"corr_{m}" for m in WEIGHTED_MEASURES[:4]) + ("energy",),
    "fingerprint": ("fingerprint", "energy"),
    "weighted_fingerprint": ("weighted_fingerprint", "energy"),
}

#: How several criteria are combined into one energy.
COMBINATIONS = ("max", "mean")


def nodal_measures(networks, D, weights=None, *, weighted: bool = False) -> dict:
    """Nodal measures of a batch of networks, one ``(B, n)`` array per measure.

    Parameters
    ----------
    networks : array_like, shape (B, n, n) or (n, n)
        Binary support (non-zero entries are edges).
    D : array_like, shape (n, n)
        Distances.
    weights : array_like, optional
        Weights on that support (default: the support itself, all-ones weights).
    weighted : bool
        The binary measures (degree, clustering, betweenness, wiring length, matching) or the
        weighted ones (strength, weighted clustering, weighted betweenness, weighted wiring
        length; matching is always the mean matching index of the binary support).

    Examples
    --------
    >>> A = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    >>> m = nodal_measures(A, np.ones((3, 3)) - np.eye(3))
    >>> m["degree"][0].tolist(), m["matching"][0].tolist()
    ([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    """
    A = check_batch(networks, "networks")
    n = A.shape[1]
    Dm = check_distance(D, n)
    Af = A.astype(np.float64)
    CN = Af @ Af
    k = Af.sum(axis=2)
    denom = k[:, :, None] + k[:, None, :] - 2.0 * Af
    idx = np.arange(n)
    CN[:, idx, idx] = 0.0
    M = np.divide(2.0 * CN, denom, out=np.zeros_like(CN), where=denom > 0)
    M[:, idx, idx] = 0.0
    matching = M.sum(axis=2) / max(n - 1, 1)
    if not weighted:
        s = network_statistics(A, Dm)
        return {"degree": s["degree"], "clustering": s["clustering"], "betweenness": s["betweenness"],
                "wiring_length": (Af * Dm).sum(axis=2), "matching": matching}
    W = Af if weights is None else check_weights(weights, n=n)
    s = weighted_statistics(W, Dm)
    return {"strength": s["strength"], "weighted_clustering": s["clustering"],
            "weighted_betweenness": s["betweenness"], "weighted_wiring_length": s["node_length"],
            "matching": matching}


def _pearson(X, y):
    """Correlation of every row of X with y (0 where either is constant)."""
    Xc = X - X.mean(axis=-1, keepdims=True)
    yc = y - y.mean()
    num = Xc @ yc
    den = np.sqrt((Xc**2).sum(axis=-1) * (yc**2).sum())
    return np.divide(num, den, out=np.zeros_like(num), where=den > 1e-300)


def topological_fingerprint(measures: dict, names: Sequence[str] | None = None) -> np.ndarray:
    """Correlation matrices (across nodes) of nodal measures: ``(B, k, k)``, one per network.

    A measure that is constant across a network's nodes has correlation 0 with the others (and 1
    with itself).

    Examples
    --------
    >>> m = {"a": np.array([[1.0, 2, 3]]), "b": np.array([[2.0, 4, 7]]), "c": np.array([[3.0, 2, 1]])}
    >>> topological_fingerprint(m).round(2)[0].tolist()
    [[1.0, 0.99, -1.0], [0.99, 1.0, -0.99], [-1.0, -0.99, 1.0]]
    """
    names = list(measures) if names is None else list(names)
    X = np.stack([np.asarray(measures[m], dtype=float) for m in names], axis=1)  # (B, k, n)
    Xc = X - X.mean(axis=2, keepdims=True)
    norm = np.sqrt((Xc**2).sum(axis=2))
    Z = np.divide(Xc, norm[:, :, None], out=np.zeros_like(Xc), where=norm[:, :, None] > 1e-300)
    R = Z @ np.swapaxes(Z, 1, 2)
    k = len(names)
    R[:, np.arange(k), np.arange(k)] = 1.0
    return np.clip(R, -1.0, 1.0)


class Criterion:
    """One or several fit criteria bound to a target: ``criterion(networks, weights)`` scores a batch.

    Parameters
    ----------
    parts : str or sequence of str
        Names from :data:`CRITERIA`.
    target : array_like, shape (n, n)
        The observed network; its non-zero entries are its edges and, for the weighted
        criteria, their weights.
    D : array_like, shape (n, n)
        Distances between the nodes.
    combine : {"max", "mean"}
        How the energies of several parts make the energy (ignored for one part).

    Attributes
    ----------
    columns : tuple of str
        Columns of the scores: one part's are :data:`CRITERIA`'s (``"ks"`` alone gives exactly
        :data:`~mesoscale.metrics.KS_COLUMNS` and the numbers of :func:`~mesoscale.metrics.ks_energy`);
        several parts give every part's columns, ``energy_<part>`` for each part's energy and
        ``energy`` last.
    weighted : bool
        Whether any part reads weights.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A = np.triu(rng.random((20, 20)) < 0.3, 1); A = A | A.T
    >>> D = np.abs(np.subtract.outer(np.arange(20.0), np.arange(20.0)))
    >>> crit = Criterion(["ks", "correlation"], A, D, combine="mean")
    >>> crit.columns[-3:], crit(A).shape, float(crit(A)[0, -1])
    (('energy_ks', 'energy_correlation', 'energy'), (1, 11), 0.0)
    """

    def __init__(self, parts, target, D, *, combine: str = "max"):
        if isinstance(parts, str):
            parts = [parts]
        parts = list(parts)
        if not parts or len(set(parts)) != len(parts):
            raise ValueError(f"'criterion' must name distinct criteria of {list(CRITERIA)}; got {parts!r}")
        for p in parts:
            check_choice(p, "criterion", list(CRITERIA))
        self.parts = tuple(parts)
        self.combine = check_choice(combine, "combine", COMBINATIONS)
        self.target = check_weights(target, "target")[0]
        self.D = check_distance(D, self.target.shape[0])
        self.weighted = any(p.startswith("weighted") for p in parts)
        self._reference = {}
        for p in parts:
            if p.endswith("fingerprint") or p.endswith("correlation"):
                w = p.startswith("weighted")
                meas = nodal_measures(self.target != 0, self.D, self.target, weighted=w)
                self._reference[p] = meas
        if len(parts) == 1:
            self.columns = CRITERIA[parts[0]]
        else:
            cols = [c for p in parts for c in CRITERIA[p][:-1]]
            self.columns = tuple(cols) + tuple(f"energy_{p}" for p in parts) + ("energy",)

    def __repr__(self):
        return f"Criterion({list(self.parts)!r}, combine={self.combine!r}, n={self.target.shape[0]})"

    def _part(self, part, A, W, n_jobs):
        if part == "ks":
            return ks_energy(A, self.target != 0, self.D, n_jobs=n_jobs)
        if part == "weighted_ks":
            return weighted_ks_energy(A if W is None else W, self.target, self.D, n_jobs=n_jobs)
        weighted = part.startswith("weighted")
        names = WEIGHTED_MEASURES if weighted else BINARY_MEASURES
        ref = self._reference[part]
        meas = nodal_measures(A, self.D, W, weighted=weighted)
        if part.endswith("correlation"):
            cols = [(1.0 - _pearson(meas[m], ref[m][0])) / 2.0 for m in names[:4]]
            out = np.column_stack(cols + [np.max(cols, axis=0)])
            return np.clip(out, 0.0, 1.0)
        k = len(names)
        R = topological_fingerprint(meas, names)
        R0 = topological_fingerprint(ref, names)
        dist = np.sqrt(((R - R0) ** 2).sum(axis=(1, 2))) / (2.0 * np.sqrt(k * (k - 1)))
        return np.column_stack([dist, dist])

    def __call__(self, networks, weights=None, *, n_jobs=None) -> np.ndarray:
        """Scores ``(B, len(columns))`` of a batch of networks (and their weights, if any)."""
        n = self.target.shape[0]
        A = check_batch(networks, "networks", n=n)
        W = None
        if weights is not None:
            W = check_weights(weights, n=n)
            if W.shape[0] != A.shape[0]:
                raise ValueError(f"'weights' must hold one matrix per network ({A.shape[0]}); got {W.shape[0]}")
            off = (W > 0) & ~A
            if off.any():
                b, i, j = np.argwhere(off)[0]
                raise ValueError(f"'weights'[{b}] has weight {W[b, i, j]} at ({i}, {j}), which is not an edge")
        scores = [self._part(p, A, W, n_jobs) for p in self.parts]
        if len(scores) == 1:
            return scores[0]
        energies = np.column_stack([s[:, -1] for s in scores])
        total = energies.max(axis=1) if self.combine == "max" else energies.mean(axis=1)
        return np.column_stack([s[:, :-1] for s in scores] + [energies, total])
