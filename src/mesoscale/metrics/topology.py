"""Integration, segregation and hubs: efficiency, small-worldness, rich club, assortativity.

Computed with bctpy (``efficiency_bin``/``efficiency_wei``, ``clustering_coef_bu``,
``distance_bin``/``charpath``, ``rich_club_bu``, ``assortativity_bin``/``assortativity_wei``);
every coefficient that needs a reference is normalised against the degree-preserving null
(``randmio_und``), and the results say so.
"""

from __future__ import annotations

import dataclasses

import bct
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .._validation import check_int, check_network, seed_sequence
from .nulls import null_network

__all__ = [
    "global_efficiency",
    "local_efficiency",
    "clustering",
    "characteristic_path_length",
    "SmallWorld",
    "small_worldness",
    "rich_club",
    "assortativity",
]


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"'{name}' must be True or False; got {value!r}")
    return bool(value)


def _undirected(A, name="A"):
    M, directed = check_network(A, name)
    if directed:
        raise ValueError(f"'{name}' must be symmetric (undirected) for this metric; symmetrise it first")
    if np.any(np.diag(M) != 0):
        i = int(np.flatnonzero(np.diag(M))[0])
        raise ValueError(f"'{name}' must have a zero diagonal; {name}[{i},{i}]={M[i, i]}")
    return M


def _binary(M):
    return (M != 0).astype(float)


def _unit_weights(M):
    return M / M.max()


def global_efficiency(A, *, weighted: bool = False) -> float:
    """Global efficiency: mean inverse shortest-path length over all ordered node pairs.

    Binary (``bct.efficiency_bin``) by default; ``weighted=True`` uses ``bct.efficiency_wei``
    with weights scaled to [0, 1] by the largest weight (connection strengths, lengths = 1/w).
    Directed networks are allowed in the binary case.

    Examples
    --------
    >>> import numpy as np
    >>> global_efficiency(np.ones((4, 4)) - np.eye(4))
    1.0
    """
    weighted = _check_flag(weighted, "weighted")
    if weighted:
        return float(bct.efficiency_wei(_unit_weights(_undirected(A))))
    M, _ = check_network(A)
    return float(bct.efficiency_bin(_binary(M)))


def local_efficiency(A, *, weighted: bool = False) -> np.ndarray:
    """Local efficiency of every node (global efficiency of its neighbourhood), undirected.

    ``weighted=True`` uses ``bct.efficiency_wei(local=True)`` (the Wang et al. 2016 variant)
    on weights scaled to [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> local_efficiency(np.ones((4, 4)) - np.eye(4)).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    weighted = _check_flag(weighted, "weighted")
    M = _undirected(A)
    if weighted:
        return np.asarray(bct.efficiency_wei(_unit_weights(M), local=True), dtype=float).ravel()
    return np.asarray(bct.efficiency_bin(_binary(M), local=True), dtype=float).ravel()


def clustering(A) -> np.ndarray:
    """Binary clustering coefficient of every node (``bct.clustering_coef_bu``), undirected.

    Examples
    --------
    >>> import numpy as np
    >>> clustering(np.ones((3, 3)) - np.eye(3)).tolist()
    [1.0, 1.0, 1.0]
    """
    return np.asarray(bct.clustering_coef_bu(_binary(_undirected(A))), dtype=float)


def characteristic_path_length(A) -> float:
    """Mean binary shortest-path length over the connected ordered pairs (infinite ones left out).

    Examples
    --------
    >>> import numpy as np
    >>> characteristic_path_length(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]]))
    1.3333333333333333
    """
    M, _ = check_network(A)
    return float(bct.charpath(bct.distance_bin(_binary(M)), include_infinite=False)[0])


@dataclasses.dataclass(frozen=True)
class SmallWorld:
    """Small-world coefficient and its ingredients (see :func:`small_worldness`).

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_numpy_array(nx.watts_strogatz_graph(30, 4, 0.1, seed=1))
    >>> sw = small_worldness(A, n_null=3, seed=0)
    >>> type(sw).__name__, round(sw.C, 4), round(sw.L, 4), sw.n_null
    ('SmallWorld', 0.4022, 3.0782, 3)
    >>> bool(sw.sigma > 1), round(sw.sigma - sw.gamma / sw.lambda_, 12)
    (True, 0.0)
    """

    sigma: float
    gamma: float
    lambda_: float
    C: float
    C_null: float
    L: float
    L_null: float
    n_null: int
    null: str

    def as_dict(self) -> dict:
        """The fields as a plain dict."""
        return dataclasses.asdict(self)


def _degree_nulls(M, n_null, seed, itr, progress, desc):
    streams = seed_sequence(seed).spawn(n_null)
    for s in tqdm(streams, desc=desc, disable=not progress, leave=False):
        yield null_network(M, "degree", seed=np.random.default_rng(s), itr=itr)


def small_worldness(A, n_null: int = 20, seed=None, *, itr: int = 10, progress: bool = False) -> SmallWorld:
    """Small-world coefficient ``sigma = (C / C_null) / (L / L_null)`` (Humphries & Gurney 2008).

    ``C`` is the mean binary clustering coefficient (Watts–Strogatz), ``L`` the characteristic
    path length over connected pairs; the null is the **degree-preserving rewiring**
    (double-edge swaps, ``itr`` per edge, as in ``bct.randmio_und``), averaged over ``n_null`` networks.

    Returns
    -------
    SmallWorld
        ``sigma``, ``gamma = C / C_null``, ``lambda_ = L / L_null``, the four raw values,
        ``n_null`` and a description of the null.

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_numpy_array(nx.watts_strogatz_graph(60, 6, 0.1, seed=1))
    >>> bool(small_worldness(A, n_null=5, seed=0).sigma > 1)
    True
    """
    M = _binary(_undirected(A))
    n_null = check_int(n_null, "n_null", minimum=1)
    itr = check_int(itr, "itr", minimum=1)
    C = float(bct.clustering_coef_bu(M).mean())
    L = characteristic_path_length(M)
    Cs, Ls = [], []
    for R in _degree_nulls(M, n_null, seed, itr, progress, "small-world null"):
        Cs.append(bct.clustering_coef_bu(R).mean())
        Ls.append(bct.charpath(bct.distance_bin(R), include_infinite=False)[0])
    Cn, Ln = float(np.mean(Cs)), float(np.mean(Ls))
    with np.errstate(divide="ignore", invalid="ignore"):
        g = C / Cn if Cn > 0 else np.nan
        lam = L / Ln if Ln > 0 else np.nan
        sigma = g / lam
    return SmallWorld(
        sigma=float(sigma),
        gamma=float(g),
        lambda_=float(lam),
        C=C,
        C_null=Cn,
        L=L,
        L_null=Ln,
        n_null=n_null,
        null=f"degree-preserving rewiring (double-edge swaps, itr={itr})",
    )


def _rich_club_curve(M, k_max):
    with np.errstate(divide="ignore", invalid="ignore"):
        R, Nk, Ek = bct.rich_club_bu(M, klevel=k_max)
    R = np.where(Nk > 1, R, np.nan)
    return R, Nk, Ek


def rich_club(
    A, k_max: int | None = None, n_null: int = 100, seed=None, *, itr: int = 10, progress: bool = False
) -> pd.DataFrame:
    """Rich-club coefficients normalised against the degree-preserving null (Colizza et al. 2006).

    ``phi(k)`` is the density among the nodes of degree > k (``bct.rich_club_bu``, binary,
    undirected: weights are ignored); ``phi_norm = phi / phi_null_mean`` over ``n_null``
    networks from ``bct.randmio_und``. ``p_value`` is the one-sided ``(1 + #{phi_null >= phi}) /
    (1 + n_null)``.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Symmetric adjacency matrix.
    k_max : int, optional
        Largest level (default: the maximum degree).
    n_null : int, default 100
    seed : None, int, SeedSequence or Generator
    itr : int, default 10
        Swaps per edge of the rewiring.
    progress : bool

    Returns
    -------
    pandas.DataFrame
        One row per level k = 1..k_max with columns ``k, n_nodes, n_edges, phi, phi_null_mean,
        phi_null_sd, phi_norm, p_value``; levels with fewer than two rich nodes give NaN.

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    >>> df = rich_club(A, k_max=5, n_null=5, seed=0)
    >>> list(df.columns[:4]), len(df)
    (['k', 'n_nodes', 'n_edges', 'phi'], 5)
    """
    M = _binary(_undirected(A))
    deg = M.sum(axis=0)
    if k_max is None:
        k_max = int(deg.max())
    k_max = check_int(k_max, "k_max", minimum=1)
    n_null = check_int(n_null, "n_null", minimum=1)
    itr = check_int(itr, "itr", minimum=1)
    phi, Nk, Ek = _rich_club_curve(M, k_max)
    nulls = np.empty((n_null, k_max))
    for i, R in enumerate(_degree_nulls(M, n_null, seed, itr, progress, "rich-club null")):
        nulls[i] = _rich_club_curve(R, k_max)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = nulls.mean(axis=0)
        sd = nulls.std(axis=0, ddof=1) if n_null > 1 else np.full(k_max, np.nan)
        norm = phi / mean
    p = (1 + (nulls >= phi[None, :] - 1e-12).sum(axis=0)) / (1 + n_null)
    p = np.where(np.isnan(phi), np.nan, p)
    return pd.DataFrame(
        {
            "k": np.arange(1, k_max + 1),
            "n_nodes": Nk.astype(int),
            "n_edges": (Ek / 2).astype(int),
            "phi": phi,
            "phi_null_mean": mean,
            "phi_null_sd": sd,
            "phi_norm": norm,
            "p_value": p,
        }
    )


def assortativity(A, *, weighted: bool = False, flag: int | None = None) -> float:
    """Degree assortativity (Newman 2002): correlation of the degrees at the two ends of edges.

    ``bct.assortativity_bin`` (or ``assortativity_wei`` with strengths when ``weighted``).
    ``flag`` picks the directed variant (1: out->in, the default for asymmetric ``A``; 2: in->out;
    3: out->out; 4: in->in); undirected networks use 0.

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_numpy_array(nx.star_graph(5))
    >>> assortativity(A)
    -1.0
    """
    weighted = _check_flag(weighted, "weighted")
    M, directed = check_network(A)
    if flag is None:
        flag = 1 if directed else 0
    flag = check_int(flag, "flag", minimum=0, maximum=4)
    if directed and flag == 0:
        raise ValueError("'flag' must be 1-4 for a directed network; got 0")
    if not directed and flag != 0:
        raise ValueError(f"'flag' must be 0 for an undirected network; got {flag}")
    fn = bct.assortativity_wei if weighted else bct.assortativity_bin
    return float(fn(M if weighted else _binary(M), flag))
