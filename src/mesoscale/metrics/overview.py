"""One table of the mesoscale metrics of a network."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_distance, check_int, check_network, seed_sequence
from .community import consensus_communities
from .significance import modularity_significance
from .roles import participation_coefficient, within_module_degree_zscore
from .topology import (
    assortativity,
    characteristic_path_length,
    global_efficiency,
    local_efficiency,
    rich_club,
    small_worldness,
)

__all__ = ["summary"]


def summary(
    A,
    D=None,
    seed=None,
    n_null: int = 20,
    *,
    n_runs: int = 20,
    gamma: float = 1.0,
    progress: bool = False,
) -> pd.Series:
    """All mesoscale metrics of one network, each named, with its null comparison.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Non-negative adjacency matrix with a zero diagonal. Directed networks are symmetrised
        (``A + A.T``) for the metrics that are only defined undirected (marked in the notes).
    D : array_like, shape (n, n), optional
        Distances; adds the mean edge length and the modularity test against the spatial null.
    seed : None, int, SeedSequence or Generator
        Every randomised part gets its own spawned stream.
    n_null : int, default 20
        Null networks per null comparison.
    n_runs : int, default 20
        Louvain runs for the consensus partition and for each max-Q search.
    gamma : float, default 1.0
    progress : bool

    Returns
    -------
    pandas.Series
        ``n_nodes, n_edges, directed, density, mean_degree``; ``Q`` and ``n_modules`` of the
        consensus partition; ``Q_max`` (best of ``n_runs`` Louvain runs) with ``Q_null_mean_degree``,
        ``Q_z_degree``, ``Q_percentile_degree`` (degree-preserving null) and the same for
        ``density`` and, with ``D``, ``spatial``; ``n_null``, ``n_runs``;
        ``participation_mean``, ``within_module_z_max``; ``global_efficiency``,
        ``local_efficiency_mean``, ``clustering_mean``, ``characteristic_path_length``,
        ``small_world_sigma``, ``small_world_gamma``, ``small_world_lambda`` (degree null);
        ``assortativity``; ``rich_club_max_norm`` and ``rich_club_k_at_max`` (largest normalised
        rich-club coefficient over levels with at least 5 rich nodes); ``mean_edge_length``.

    Examples
    --------
    >>> import networkx as nx
    >>> A = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    >>> s = summary(A, seed=0, n_null=5, n_runs=5)
    >>> bool(s["Q_z_degree"] > 2), int(s["n_modules"])
    (True, 4)
    """
    M, directed = check_network(A)
    n_null = check_int(n_null, "n_null", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    if np.any(np.diag(M) != 0):
        i = int(np.flatnonzero(np.diag(M))[0])
        raise ValueError(f"'A' must have a zero diagonal; A[{i},{i}]={M[i, i]}")
    Dm = None if D is None else check_distance(D, M.shape[0])
    streams = seed_sequence(seed).spawn(8)
    rng = [np.random.default_rng(s) for s in streams]
    n = M.shape[0]
    Bin = (M != 0).astype(float)
    m = Bin.sum() if directed else Bin.sum() / 2
    U = M if not directed else M + M.T
    out: dict = {
        "n_nodes": n,
        "n_edges": int(m),
        "directed": directed,
        "density": float(m / (n * (n - 1) if directed else n * (n - 1) / 2)),
        "mean_degree": float(Bin.sum() / n) if not directed else float(2 * Bin.sum() / n),
    }
    part, Q, _ = consensus_communities(M, n_runs, gamma, rng[0], directed=directed, progress=progress)
    out["Q"] = Q
    out["n_modules"] = int(part.max() + 1)
    nulls = ["degree", "density"] + (["spatial"] if Dm is not None else [])
    for k, null in enumerate(nulls):
        t = modularity_significance(
            M, null, n_null, Dm, rng[1 + k], n_runs=n_runs, gamma=gamma, progress=progress
        )
        if k == 0:
            out["Q_max"] = t.q
        out[f"Q_null_mean_{null}"] = t.null_mean
        out[f"Q_z_{null}"] = t.z
        out[f"Q_percentile_{null}"] = t.percentile
    out["n_null"] = n_null
    out["n_runs"] = n_runs
    out["participation_mean"] = float(participation_coefficient(M, part).mean())
    out["within_module_z_max"] = float(within_module_degree_zscore(M, part).max())
    out["global_efficiency"] = global_efficiency(M)
    Ub = (U != 0).astype(float)
    out["local_efficiency_mean"] = float(local_efficiency(Ub).mean())
    out["characteristic_path_length"] = characteristic_path_length(M)
    sw = small_worldness(Ub, n_null, rng[4], progress=progress)
    out["clustering_mean"] = sw.C
    out["small_world_sigma"] = sw.sigma
    out["small_world_gamma"] = sw.gamma
    out["small_world_lambda"] = sw.lambda_
    out["assortativity"] = assortativity(M)
    rc = rich_club(Ub, n_null=n_null, seed=rng[5], progress=progress)
    rc = rc[(rc["n_nodes"] >= 5) & rc["phi_norm"].notna()]
    if len(rc):
        best = rc.loc[rc["phi_norm"].idxmax()]
        out["rich_club_max_norm"] = float(best["phi_norm"])
        out["rich_club_k_at_max"] = int(best["k"])
    else:
        out["rich_club_max_norm"] = np.nan
        out["rich_club_k_at_max"] = np.nan
    if Dm is not None:
        mask = Bin != 0 if directed else np.triu(Bin, 1) != 0
        out["mean_edge_length"] = float(Dm[mask].mean())
    return pd.Series(out, name="summary", dtype=object)
