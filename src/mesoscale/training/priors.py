"""Recurrent masks (wiring priors): dense, planted modules, generative-model networks, connectome wiring.

A mask is a boolean (n, n) array with a zero diagonal; ``mask[i, j]`` allows the connection i -> j.
Pass it to :class:`~mesoscale.training.models.SpatialRNN` (``mask=``); the training loop keeps masked
weights exactly zero.

The builders that rely on other parts of the package (:func:`generative_mask`, :func:`connectome_prior`)
go through small adapters, so the training core never depends on them.

Examples
--------
>>> m = sbm_mask(20, n_modules=2, density=0.3, p_inter=0.1, seed=0)
>>> m.shape, bool((m == m.T).all()), int(m.sum() // 2)
((20, 20), True, 57)
"""

from __future__ import annotations

import numpy as np

from .._validation import as_rng, check_distance, check_float, check_int

__all__ = ["dense_mask", "module_labels", "spatial_modules", "sbm_mask", "generative_mask", "connectome_prior", "mask_density"]


def dense_mask(n: int) -> np.ndarray:
    """All connections except self-connections.

    Examples
    --------
    >>> dense_mask(3).astype(int)
    array([[0, 1, 1],
           [1, 0, 1],
           [1, 1, 0]])
    """
    n = check_int(n, "n", minimum=1)
    return ~np.eye(n, dtype=bool)


def mask_density(mask) -> float:
    """Fraction of the n(n-1) off-diagonal entries that are allowed.

    Examples
    --------
    >>> mask_density(dense_mask(5)), mask_density(np.eye(4))
    (1.0, 0.0)
    >>> mask_density(sbm_mask(20, n_modules=2, density=0.3, seed=0))
    0.3
    """
    m = np.asarray(mask) != 0
    n = m.shape[0]
    return float((m.sum() - np.trace(m)) / max(n * (n - 1), 1))


def module_labels(n: int, n_modules: int) -> np.ndarray:
    """Contiguous, near-equal module labels ``0 .. n_modules-1`` for ``n`` units.

    With grid positions (:func:`~mesoscale.training.models.grid_positions`, sorted by the first
    coordinate, then the second, then the third) contiguous index blocks are also contiguous in space.

    Examples
    --------
    >>> module_labels(7, 3)
    array([0, 0, 0, 1, 1, 2, 2])
    """
    n = check_int(n, "n", minimum=1)
    n_modules = check_int(n_modules, "n_modules", minimum=1, maximum=n)
    return (np.arange(n) * n_modules) // n


def spatial_modules(positions, n_modules: int = 2) -> np.ndarray:
    """Split units into ``n_modules`` equal slabs along the axis of largest spatial extent.

    Ties are broken by unit index, so for :func:`~mesoscale.training.models.grid_positions` this equals
    :func:`module_labels` (the planted modules of :func:`sbm_mask`).

    Examples
    --------
    >>> spatial_modules([[0, 0, 0], [5, 0, 0], [1, 0, 0], [4, 0, 0]])
    array([0, 1, 0, 1])
    """
    pos = np.asarray(positions, dtype=float)
    if pos.ndim != 2 or not np.all(np.isfinite(pos)):
        raise ValueError(f"'positions' must be a finite (n, d) array; got shape {pos.shape}")
    n = len(pos)
    n_modules = check_int(n_modules, "n_modules", minimum=1, maximum=n)
    axis = int(np.argmax(pos.max(0) - pos.min(0)))
    order = np.argsort(pos[:, axis], kind="stable")
    labels = np.empty(n, dtype=int)
    labels[order] = (np.arange(n) * n_modules) // n
    return labels


def sbm_mask(n: int, n_modules: int = 2, density: float = 0.1, p_inter: float = 0.05, seed=None,
             labels=None) -> np.ndarray:
    """Planted modules: exactly ``round(density * n(n-1)/2)`` undirected edges, a fraction ``p_inter`` between modules.

    For two equal modules this is the Béna & Goodman construction with ``Q = 0.5 (1 - p) / (1 + p)`` for
    the planted partition (in expectation, ``p`` = ``p_inter``).

    Parameters
    ----------
    n, n_modules : int
    density : float in (0, 1]
        Fraction of the n(n-1)/2 unit pairs that are connected.
    p_inter : float in [0, 1]
        Fraction of the edges that join different modules.
    labels : array (n,), optional
        Module of each unit (default :func:`module_labels`).
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    ndarray of bool (n, n), symmetric, zero diagonal.

    Examples
    --------
    >>> m = sbm_mask(20, n_modules=2, density=0.3, p_inter=0.1, seed=0)
    >>> lab = module_labels(20, 2)
    >>> int(m.sum() // 2), int((m & (lab[:, None] != lab[None, :])).sum() // 2)
    (57, 6)
    >>> bool((m == m.T).all()), bool(m.diagonal().any())
    (True, False)
    """
    n = check_int(n, "n", minimum=2)
    density = check_float(density, "density", minimum=0.0, maximum=1.0)
    p_inter = check_float(p_inter, "p_inter", minimum=0.0, maximum=1.0)
    labels = module_labels(n, n_modules) if labels is None else np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"'labels' must have shape ({n},); got {labels.shape}")
    rng = as_rng(seed)
    iu, ju = np.triu_indices(n, 1)
    same = labels[iu] == labels[ju]
    m = int(round(density * len(iu)))
    m_inter = int(round(p_inter * m))
    m_intra = m - m_inter
    intra, inter = np.flatnonzero(same), np.flatnonzero(~same)
    if m_intra > len(intra) or m_inter > len(inter):
        raise ValueError(f"'density'={density} with 'p_inter'={p_inter} needs {m_intra} within-module and "
                         f"{m_inter} between-module edges; only {len(intra)} and {len(inter)} pairs exist")
    chosen = np.concatenate([rng.choice(intra, m_intra, replace=False), rng.choice(inter, m_inter, replace=False)])
    M = np.zeros((n, n), dtype=bool)
    M[iu[chosen], ju[chosen]] = True
    return M | M.T


def generative_mask(D, m: int, rule: str = "matching", eta: float = -2.0, gamma: float = 0.3, seed=None,
                    **kwargs) -> np.ndarray:
    """A network grown by :func:`mesoscale.generative.generate` with (fitted) parameters, as a mask.

    Parameters
    ----------
    D : array (n, n)
        Distances between the units (e.g. :func:`~mesoscale.training.models.distance_matrix` of the RNN's
        positions, or a connectome's distances).
    m : int
        Number of undirected edges.
    rule, eta, gamma :
        Wiring rule and parameters (take them from a fit to a connectome).
    **kwargs :
        Passed to :func:`mesoscale.generative.generate`.

    Examples
    --------
    >>> from mesoscale.training.models import distance_matrix, grid_positions
    >>> D = distance_matrix(grid_positions(12))
    >>> m = generative_mask(D, 20, rule="matching", eta=-2.0, gamma=0.3, seed=0)
    >>> m.shape, int(m.sum() // 2), bool((m == m.T).all())
    ((12, 12), 20, True)
    """
    D = check_distance(D, name="D")
    m = check_int(m, "m", minimum=1, maximum=D.shape[0] * (D.shape[0] - 1) // 2)
    try:
        from ..generative import generate
    except ImportError as exc:  # pragma: no cover - depends on another module
        raise ImportError("generative_mask needs mesoscale.generative.generate") from exc
    A = np.asarray(generate(D, m, rule=rule, eta=eta, gamma=gamma, n_networks=1, seed=seed, **kwargs))
    A = A.reshape(-1, *D.shape)[0] != 0
    np.fill_diagonal(A, False)
    return A | A.T


def connectome_prior(name: str, **load_kwargs) -> tuple[np.ndarray, np.ndarray, object]:
    """A real connectome's wiring as a mask, with the neurons' positions.

    Returns ``(mask, positions, connectome)`` from :func:`mesoscale.connectomes.load`; the mask is the
    undirected binary network (use it with ``SpatialRNN(n_hidden=mask.shape[0], positions=positions)``).

    Examples
    --------
    >>> mask, pos, c = connectome_prior("celegans_witvliet_8")
    >>> mask.shape, pos.shape, type(c).__name__
    ((180, 180), (180, 3), 'Connectome')
    >>> bool((mask == mask.T).all()), bool(mask.diagonal().any())
    (True, False)
    """
    try:
        from ..connectomes import load
    except ImportError as exc:  # pragma: no cover - depends on another module
        raise ImportError("connectome_prior needs mesoscale.connectomes.load") from exc
    c = load(name, **load_kwargs)
    A = np.asarray(c.binary()) != 0
    A = A | A.T
    np.fill_diagonal(A, False)
    pos = getattr(c, "positions", None)
    if pos is None:
        raise ValueError(f"connectome {name!r} has no positions; a spatial RNN needs them")
    return A, np.asarray(pos, dtype=float), c
