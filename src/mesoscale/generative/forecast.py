"""Growth forecasting: does a rule fitted at one stage predict which connections appear next?

:func:`growth_forward_scores` seeds the model with an earlier connectome, grows it to the
edge count of a later one and scores how well the frequency with which each candidate
pair is added predicts the connections that really appear (ROC AUC and average
precision from scikit-learn, and :func:`precision_at_k`), against
:func:`honest_baseline_scores` (preferential attachment, common neighbours, distance: the
earlier stage only), chance, and the oracle :func:`degree_preserving_growth` (random new
edges with each node's real number of new edges, known only from the later stage).
:func:`mesoscale.connectomes.align_connectomes` puts two stages on one node set.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .._validation import check_adjacency, check_distance, check_int, seed_sequence
from ..metrics import degree_preserving_swaps
from .models import generate

__all__ = [
    "check_scores",
    "precision_at_k",
    "degree_preserving_growth",
    "HONEST_BASELINES",
    "honest_baseline_scores",
    "GrowthForecast",
    "growth_forward_scores",
]


def check_scores(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """Boolean labels (both classes present) and finite float scores of equal length.

    Examples
    --------
    >>> check_scores([0, 1], [0.2, 0.9])
    (array([False,  True]), array([0.2, 0.9]))
    """
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=float)
    if y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"'labels' and 'scores' must be 1-D of equal length; got {y.shape} and {s.shape}")
    if not np.all(np.isin(y, (0, 1, True, False))):
        raise ValueError("'labels' must be 0/1 or boolean")
    if not np.all(np.isfinite(s)):
        raise ValueError("'scores' must be finite")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError(f"'labels' must contain both classes; got {int(y.sum())} positives of {len(y)}")
    return y, s


def precision_at_k(labels, scores, k: int | None = None) -> float:
    """Fraction of positives among the ``k`` highest scores (``k`` = number of positives by default).

    Ties at the cut-off are resolved by their expectation under a random order, so the value
    does not depend on how equal scores happen to be sorted.

    Examples
    --------
    >>> precision_at_k([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.0])
    0.5
    >>> precision_at_k([1, 0, 0, 0], [1.0, 1.0, 0.0, 0.0], k=1)
    0.5
    """
    y, s = check_scores(labels, scores)
    k = int(y.sum()) if k is None else check_int(k, "k", minimum=1, maximum=len(y))
    order = np.argsort(-s, kind="stable")
    ss, yy = s[order], y[order]
    thr = ss[k - 1]
    above = ss > thr
    tie = ss == thr
    hits = yy[above].sum() + (k - above.sum()) * yy[tie].mean()
    return float(hits / k)


def degree_preserving_growth(seed_net, next_net, n_networks: int = 100, seed=None, *, itr: int = 20):
    """Random growth that gives every node exactly its real number of new connections.

    The new edges (in ``next_net`` but not in ``seed_net``) are randomised by double-edge
    swaps (Maslov & Sneppen 2002) that keep each node's number of new edges and never
    create a pair already connected in ``seed_net``; the result is added to ``seed_net``.
    This baseline knows *how many* new partners each node gets — information a wiring rule
    does not have — but not *which*, so beating it means predicting partner identity.

    Parameters
    ----------
    seed_net, next_net : array_like, shape (n, n)
        Symmetric networks of the earlier and later stage (same nodes).
    n_networks : int
    seed : int, SeedSequence or Generator, optional
    itr : int
        Successful swaps per new edge to aim for (:func:`mesoscale.metrics.degree_preserving_swaps`).

    Returns
    -------
    ndarray of bool, shape (n_networks, n, n)
        ``seed_net`` plus a randomised set of new edges, one network per row.

    Examples
    --------
    >>> import networkx as nx
    >>> A0 = np.zeros((8, 8)); A1 = nx.to_numpy_array(nx.cycle_graph(8))
    >>> nets = degree_preserving_growth(A0, A1, 3, seed=0)
    >>> nets.shape, bool((nets.sum(axis=2) == 2).all())
    ((3, 8, 8), True)
    """
    A0 = check_adjacency(seed_net, "seed_net", binary=True).astype(bool)
    A1 = check_adjacency(next_net, "next_net", binary=True).astype(bool)
    if A0.shape != A1.shape:
        raise ValueError(f"'seed_net' and 'next_net' must have the same shape; got {A0.shape} and {A1.shape}")
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    itr = check_int(itr, "itr", minimum=1)
    new = (A1 & ~A0).astype(np.uint8)
    n_new = int(new.sum()) // 2
    out = np.empty((n_networks,) + A0.shape, dtype=bool)
    for b, ss in enumerate(seed_sequence(seed).spawn(n_networks)):
        # the new edges, swapped among themselves; never onto a pair already wired in seed_net
        R = degree_preserving_swaps(new, itr, forbidden=A0, seed=ss) if n_new >= 2 else new
        out[b] = A0 | (R != 0)
    return out


@dataclasses.dataclass
class GrowthForecast:
    """Outcome of :func:`growth_forward_scores`.

    Attributes
    ----------
    table : DataFrame
        One row per predictor (``model``, the honest baselines ``preferential_attachment``,
        ``common_neighbors`` and ``distance``, the oracle ``degree_oracle``, and ``chance``): ``roc_auc``,
        ``precision_at_k``, ``average_precision``, ``k``, plus ``n_candidates``, ``n_new``,
        ``n_pruned`` (seed edges absent from the later stage; growth cannot remove them),
        ``n_grown`` (edges each model network added), ``n_networks``, ``rule``, ``eta``, ``gamma``.
    pairs : ndarray, shape (n_candidates, 2)
        The candidate pairs ``(i, j)``, ``i < j``: unconnected in the seed network.
    labels : ndarray of bool
        Whether each candidate is connected in the later stage.
    scores : dict of str to ndarray
        The score of each candidate under every predictor but chance: for ``model`` the
        fraction of grown networks that contain it, for ``degree_oracle`` the fraction of
        :func:`degree_preserving_growth` networks, for the honest baselines the values of
        :func:`honest_baseline_scores`.

    Examples
    --------
    >>> fc = GrowthForecast(pd.DataFrame(), np.array([[0, 1], [0, 2]]), np.array([True, False]),
    ...                     {"model": np.array([0.9, 0.1])})
    >>> fc.labels.sum(), fc.pairs.shape
    (np.int64(1), (2, 2))
    """

    table: pd.DataFrame
    pairs: np.ndarray
    labels: np.ndarray
    scores: dict

    @property
    def model_score(self) -> np.ndarray:
        """The model's score of each candidate (``scores["model"]``)."""
        return self.scores["model"]

    def roc_curve(self, which: str = "model"):
        """False- and true-positive rates of one predictor's scores (a key of :attr:`scores`).

        Examples
        --------
        >>> fc = GrowthForecast(pd.DataFrame(), np.zeros((3, 2), int), np.array([False, True, True]),
        ...                     {"model": np.array([0.1, 0.5, 0.9])})
        >>> [x.tolist() for x in fc.roc_curve("model")]
        [[0.0, 0.0, 0.0, 1.0], [0.0, 0.5, 1.0, 1.0]]
        """
        s = self.scores.get(which)
        if s is None:
            raise ValueError(f"'which' must be one of {sorted(self.scores)}; got {which!r}")
        from sklearn.metrics import roc_curve

        fpr, tpr, _ = roc_curve(self.labels, s, drop_intermediate=False)
        return fpr, tpr


#: The baselines that use only what is known at the earlier stage (see :func:`honest_baseline_scores`).
HONEST_BASELINES = ("preferential_attachment", "common_neighbors", "distance")


def honest_baseline_scores(seed_net, pairs, D=None) -> dict:
    """Scores of candidate pairs from what is known at the earlier stage only.

    ``preferential_attachment``: ``(k_i + 1)(k_j + 1)`` with the degrees of ``seed_net`` (hubs
    gain partners); ``common_neighbors``: shared neighbours in ``seed_net`` (homophily, the
    classic link predictor); ``distance``: ``-D_ij`` (close pairs first; all tied when ``D`` is
    constant or not given). Unlike :func:`degree_preserving_growth`, none of them uses the later
    stage, so they are fair competitors for a wiring rule.

    Parameters
    ----------
    seed_net : array_like, shape (n, n)
        Symmetric binary network of the earlier stage.
    pairs : array_like of int, shape (n_candidates, 2)
        Candidate pairs ``(i, j)``.
    D : array_like, shape (n, n), optional
        Distances between the nodes.

    Returns
    -------
    dict of str to ndarray
        One score array per name of :data:`HONEST_BASELINES` (``distance`` only with ``D``).

    Examples
    --------
    >>> A0 = np.array([[0, 1, 1, 0], [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    >>> s = honest_baseline_scores(A0, np.array([[1, 2], [1, 3], [2, 3]]))
    >>> s["preferential_attachment"].tolist(), s["common_neighbors"].tolist()
    ([4.0, 2.0, 2.0], [1.0, 0.0, 0.0])
    """
    A = check_adjacency(seed_net, "seed_net", binary=True).astype(np.float64)
    P = np.asarray(pairs)
    if P.ndim != 2 or P.shape[1] != 2 or not np.issubdtype(P.dtype, np.integer):
        raise ValueError(f"'pairs' must be an integer array of shape (n_candidates, 2); got shape {P.shape}")
    n = A.shape[0]
    if P.size and (P.min() < 0 or P.max() >= n):
        raise ValueError(f"'pairs' must index the {n} nodes of 'seed_net'; got values {P.min()}..{P.max()}")
    k = A.sum(axis=1)
    i, j = P[:, 0], P[:, 1]
    out = {"preferential_attachment": (k[i] + 1) * (k[j] + 1),
           "common_neighbors": np.einsum("ij,ij->i", A[i], A[j])}
    if D is not None:
        out["distance"] = -check_distance(D, n, name="D")[i, j]
    return out


def growth_forward_scores(seed_net, next_net, rule, eta, gamma, D, n_networks: int = 100, seed=None, *,
                          model_var=("powerlaw", "powerlaw"), grow_to: str = "new_edges", k: int | None = None,
                          itr: int = 20, progress: bool = False) -> GrowthForecast:
    """How well does a wiring rule predict which connections appear between two stages?

    The model starts from ``seed_net`` and adds as many edges as appear between the stages
    (:func:`~mesoscale.generative.generate` with ``seed_network``); this is repeated
    ``n_networks`` times. Each candidate pair (unconnected in ``seed_net``) is scored by
    the fraction of grown networks that contain it, and the scores are compared with the
    pairs that are connected in ``next_net``. The same is done for three *honest* baselines that
    use only the earlier stage (:func:`honest_baseline_scores`: preferential attachment on the
    current degrees, common neighbours, distance), for chance (every candidate equally likely)
    and, as an upper reference, for the *oracle* :func:`degree_preserving_growth`
    (``degree_oracle``), which knows each node's future number of new partners and so uses
    the later stage: beating it is not required of a rule, beating the honest baselines is.

    Parameters
    ----------
    seed_net, next_net : array_like, shape (n, n)
        Symmetric networks of the earlier and the later stage on the same nodes (see
        :func:`align_connectomes`).
    rule, eta, gamma, model_var
        The fitted rule and parameters (``gamma`` is ignored for ``"sptl"``).
    D : array_like, shape (n, n)
        Distances.
    n_networks : int
        Grown networks (and baseline networks).
    seed : int, SeedSequence or Generator, optional
    grow_to : {"new_edges", "edge_count"}
        ``"new_edges"`` (default): add exactly the number of pairs that are new in
        ``next_net``, so the model makes as many predictions as there are new connections
        even when some seed edges are pruned between the stages. ``"edge_count"``: grow until
        the network has as many edges as ``next_net`` (which then needs at least as many
        edges as ``seed_net``, because growth cannot remove edges).
    k : int, optional
        Cut-off of ``precision_at_k`` (default: the number of new edges).
    itr : int
        Swaps per edge of the baseline.
    progress : bool

    Returns
    -------
    GrowthForecast

    Examples
    --------
    >>> xy = np.random.default_rng(0).random((25, 2))
    >>> D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> from mesoscale.generative import generate
    >>> A1 = generate(D, 60, "sptl", -3.0, seed=1)[0]
    >>> A0 = A1 & (np.random.default_rng(2).random(A1.shape) < 0.5); A0 = np.triu(A0, 1); A0 = A0 | A0.T
    >>> fc = growth_forward_scores(A0, A1, "sptl", -3.0, None, D, n_networks=20, seed=0)
    >>> bool(fc.table.set_index("predictor").loc["model", "roc_auc"] > 0.7)
    True
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    A0 = check_adjacency(seed_net, "seed_net", binary=True).astype(bool)
    A1 = check_adjacency(next_net, "next_net", binary=True).astype(bool)
    n = A0.shape[0]
    if A1.shape != A0.shape:
        raise ValueError(f"'seed_net' and 'next_net' must have the same shape; got {A0.shape} and {A1.shape}")
    Dm = check_distance(D, n, name="D")
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    if grow_to not in ("new_edges", "edge_count"):
        raise ValueError(f"'grow_to' must be one of ['new_edges', 'edge_count']; got {grow_to!r}")
    m0, m1 = int(A0.sum()) // 2, int(A1.sum()) // 2
    if grow_to == "edge_count" and m1 < m0:
        raise ValueError(f"'next_net' has fewer edges ({m1}) than 'seed_net' ({m0}); growth only adds edges")
    iu = np.triu_indices(n, 1)
    cand = ~A0[iu]
    pairs = np.column_stack([iu[0][cand], iu[1][cand]])
    labels = A1[iu][cand]
    n_new = int(labels.sum())
    if n_new == 0 or n_new == len(labels):
        raise ValueError(f"'next_net' adds {n_new} of {len(labels)} candidate pairs; nothing to predict")
    k = n_new if k is None else check_int(k, "k", minimum=1, maximum=len(labels))
    s_model, s_base = seed_sequence(seed).spawn(2)
    g = None if rule == "sptl" else gamma
    m_grow = m0 + n_new if grow_to == "new_edges" else m1
    nets = generate(Dm, m_grow, rule, eta, g, model_var=model_var, seed_network=A0, n_networks=n_networks,
                    seed=s_model, progress=progress)
    model_score = nets[:, pairs[:, 0], pairs[:, 1]].mean(axis=0)
    base = degree_preserving_growth(A0, A1, n_networks, s_base, itr=itr)
    base_score = base[:, pairs[:, 0], pairs[:, 1]].mean(axis=0)
    common = dict(n_candidates=int(len(labels)), n_new=n_new, n_pruned=int((A0 & ~A1)[iu].sum()),
                  n_grown=m_grow - m0,
                  n_networks=n_networks, rule=rule, eta=float(eta),
                  gamma=np.nan if g is None else float(g))
    scores = {"model": model_score, **honest_baseline_scores(A0, pairs, Dm), "degree_oracle": base_score}
    rows = []
    for name, s in scores.items():
        rows.append({"predictor": name, "roc_auc": float(roc_auc_score(labels, s)),
                     "precision_at_k": precision_at_k(labels, s, k),
                     "average_precision": float(average_precision_score(labels, s)), "k": k, **common})
    rows.append({"predictor": "chance", "roc_auc": 0.5, "precision_at_k": n_new / len(labels),
                 "average_precision": n_new / len(labels), "k": k, **common})
    return GrowthForecast(table=pd.DataFrame(rows), pairs=pairs, labels=labels, scores=scores)
