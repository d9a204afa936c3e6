"""Node roles in a modular network (Guimerà & Amaral 2005), via bctpy.

The participation coefficient says how evenly a node's links spread over the modules; the
within-module degree z-score how strongly it is connected inside its own module compared with
the other members.
"""

from __future__ import annotations

import bct
import numpy as np

from .._validation import check_choice, check_network, check_partition

__all__ = ["participation_coefficient", "within_module_degree_zscore"]


def participation_coefficient(A, partition, *, degree: str = "undirected") -> np.ndarray:
    """Participation coefficient ``P_i = 1 - sum_s (k_is / k_i)^2`` of every node.

    Thin wrapper of bctpy's ``participation_coef`` (weights count as strengths).

    Parameters
    ----------
    A : array_like, shape (n, n)
        Non-negative adjacency matrix (binary or weighted).
    partition : array_like of int, shape (n,)
        Module labels.
    degree : {"undirected", "out", "in"}
        For directed networks: use out-links (rows, ``"undirected"``/``"out"``) or in-links.

    Returns
    -------
    ndarray, shape (n,)
        Values in [0, 1); 0 for isolated nodes.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]])
    >>> participation_coefficient(A, [0, 0, 1]).tolist()
    [0.5, 0.0, 0.0]
    """
    M, _ = check_network(A)
    p = check_partition(partition, M.shape[0])
    degree = check_choice(degree, "degree", ("undirected", "out", "in"))
    return np.asarray(
        bct.participation_coef(M, p + 1, degree="in" if degree == "in" else "undirected"), dtype=float
    )


def within_module_degree_zscore(A, partition, *, degree: str = "undirected") -> np.ndarray:
    """Within-module degree z-score of every node (bctpy's ``module_degree_zscore``).

    ``z_i = (k_i(s_i) - mean_s) / sd_s`` with ``k_i(s_i)`` the (weighted) degree of i inside its
    module ``s_i`` and mean/sd (ddof=0) over that module's nodes; 0 where the module's sd is 0.

    Parameters
    ----------
    A : array_like, shape (n, n)
    partition : array_like of int, shape (n,)
    degree : {"undirected", "in", "out", "all"}
        Directed networks: in- (columns), out- (rows) or total degree (``A + A.T``);
        ``"undirected"`` uses rows, like ``"out"``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]])
    >>> within_module_degree_zscore(A, [0, 0, 0]).round(3).tolist()
    [1.414, -0.707, -0.707]
    """
    M, _ = check_network(A)
    p = check_partition(partition, M.shape[0])
    degree = check_choice(degree, "degree", ("undirected", "in", "out", "all"))
    # bctpy sums rows (out-degree) for flag 0; in-degree = rows of the transpose
    if degree == "in":
        return np.asarray(bct.module_degree_zscore(M.T.copy(), p + 1, flag=0), dtype=float)
    return np.asarray(bct.module_degree_zscore(M, p + 1, flag=3 if degree == "all" else 0), dtype=float)
