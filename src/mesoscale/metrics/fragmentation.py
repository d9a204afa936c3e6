"""Networks in pieces: their modularity mostly counts components.

:func:`fragmentation` measures how much of a network its largest connected component holds;
:func:`flag_fragmented` warns (:class:`FragmentedNetworkWarning`), raises or stays silent when
that share is below a threshold (default :data:`MIN_LARGEST_COMPONENT`). Every component of a
network is a module for free, so Q and its z against a null that reconnects the pieces say
little about modules.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from .._validation import check_choice, check_float, check_matrix

__all__ = ["MIN_LARGEST_COMPONENT", "Fragmentation", "FragmentedNetworkWarning", "fragmentation", "flag_fragmented"]

#: Default smallest fraction of nodes in the largest connected component of an unfragmented network.
MIN_LARGEST_COMPONENT = 0.9


class FragmentedNetworkWarning(UserWarning):
    """Warned when a network's largest connected component holds too few of its nodes.

    The modularity of a network in pieces mostly counts the pieces: every component is a
    module for free, so Q and its z against a null that reconnects them say little about
    modules. Filter it with ``warnings.simplefilter("ignore", FragmentedNetworkWarning)``.

    Examples
    --------
    >>> import warnings
    >>> A = np.kron(np.eye(3), np.ones((2, 2))) - np.eye(6)  # three separate edges
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = flag_fragmented(A)
    >>> [type(w.message).__name__ for w in caught]
    ['FragmentedNetworkWarning']
    """


@dataclasses.dataclass(frozen=True)
class Fragmentation:
    """How a network falls apart into connected components (see :func:`fragmentation`).

    Attributes
    ----------
    n_nodes : int
    n_components : int
        Connected components (weakly connected for a directed network); an isolated node
        is a component of its own.
    largest_component : float
        Fraction of the nodes in the largest component, in ``(0, 1]``.
    n_isolated : int
        Nodes without any edge (self-loops do not count).
    min_largest_component : float
        The threshold ``fragmented`` was judged by.
    fragmented : bool
        ``largest_component < min_largest_component``.

    Examples
    --------
    >>> f = fragmentation(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]))
    >>> f.n_components, round(f.largest_component, 3), f.n_isolated, f.fragmented
    (2, 0.667, 1, True)
    >>> sorted(f.as_dict())[:2]
    ['fragmented', 'largest_component']
    """

    n_nodes: int
    n_components: int
    largest_component: float
    n_isolated: int
    min_largest_component: float
    fragmented: bool

    def as_dict(self) -> dict:
        """The fields as a plain dict."""
        return dataclasses.asdict(self)


def fragmentation(A, *, min_largest_component: float = MIN_LARGEST_COMPONENT) -> Fragmentation:
    """Connected components of a network: how many, the largest one's share, isolated nodes.

    A pair is connected if ``A[i, j] != 0`` or ``A[j, i] != 0`` (components of a directed
    network are its weakly connected ones); the diagonal is ignored.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Adjacency or weight matrix (any sign; only non-zero entries count).
    min_largest_component : float in (0, 1], default 0.9
        A network whose largest component holds a smaller fraction of the nodes is
        ``fragmented``. Isolated nodes count as nodes outside it.

    Returns
    -------
    Fragmentation

    Examples
    --------
    Two triangles and two isolated nodes:

    >>> A = np.zeros((8, 8))
    >>> for a, b in [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)]:
    ...     A[a, b] = A[b, a] = 1
    >>> f = fragmentation(A)
    >>> f.n_components, f.largest_component, f.n_isolated, f.fragmented
    (4, 0.375, 2, True)
    >>> fragmentation(np.ones((4, 4)) - np.eye(4)).fragmented
    False
    """
    M = check_matrix(A, "A")
    thr = check_float(min_largest_component, "min_largest_component", minimum=0.0, maximum=1.0)
    if thr == 0.0:
        raise ValueError(f"'min_largest_component' must be in (0, 1]; got {min_largest_component!r}")
    n = M.shape[0]
    if n == 0:
        raise ValueError("'A' must have at least one node; got shape (0, 0)")
    E = M != 0
    np.fill_diagonal(E, False)
    E = E | E.T
    n_comp, labels = connected_components(sparse.csr_matrix(E), directed=False)
    largest = float(np.bincount(labels).max() / n)
    return Fragmentation(n_nodes=int(n), n_components=int(n_comp), largest_component=largest,
                         n_isolated=int(np.sum(~E.any(axis=1))), min_largest_component=thr,
                         fragmented=bool(largest < thr))


def flag_fragmented(A, *, min_largest_component: float = MIN_LARGEST_COMPONENT, action: str = "warn",
                    name: str = "A") -> Fragmentation:
    """:func:`fragmentation` of ``A``, warning (or raising) when ``A`` is fragmented.

    Call it before reading modularity: Q of a network in pieces mostly counts the pieces
    (:func:`modularity_significance` calls it on every observed network).

    Parameters
    ----------
    A : array_like, shape (n, n)
    min_largest_component : float in (0, 1], default 0.9
        See :func:`fragmentation`.
    action : {"warn", "raise", "ignore"}
        What a fragmented network triggers: a :class:`FragmentedNetworkWarning`, a
        ``ValueError`` (to exclude it), or nothing (the result still says ``fragmented``).
    name : str
        The network's name in the message.

    Returns
    -------
    Fragmentation

    Examples
    --------
    >>> A = np.kron(np.eye(2), np.ones((3, 3))) - np.eye(6)  # two triangles
    >>> flag_fragmented(A, action="ignore").fragmented
    True
    >>> flag_fragmented(A, action="raise")
    Traceback (most recent call last):
    ...
    ValueError: 'A' is fragmented: 2 components, the largest holds 50% of 6 nodes (0 isolated; threshold 90%)
    """
    action = check_choice(action, "action", ("warn", "raise", "ignore"))
    if not isinstance(name, str):
        raise TypeError(f"'name' must be a string; got {name!r}")
    frag = fragmentation(A, min_largest_component=min_largest_component)
    if frag.fragmented and action != "ignore":
        msg = (f"'{name}' is fragmented: {frag.n_components} components, the largest holds "
               f"{frag.largest_component:.0%} of {frag.n_nodes} nodes ({frag.n_isolated} isolated; threshold "
               f"{frag.min_largest_component:.0%})")
        if action == "raise":
            raise ValueError(msg)
        warnings.warn(msg + "; its modularity mostly counts components", FragmentedNetworkWarning, stacklevel=2)
    return frag
