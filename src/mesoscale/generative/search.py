"""Parameter search in a box: energy-weighted Voronoi refinement and regular grids.

The two searches of :func:`~mesoscale.generative.fit`: ``"voronoi"`` (Betzel et al. 2016;
Oldham et al. 2022) refines the Voronoi cells of the points evaluated so far, picking a cell
with probability proportional to ``energy ** -power`` and drawing one point uniformly inside
it; ``"grid"`` lays a regular grid. Both work in the unit box and are rescaled to the search
box by the caller.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_rng, check_float, check_int

__all__ = ["voronoi_draw", "unit_voronoi_draw", "unit_grid", "grid_size"]


def unit_voronoi_draw(points, energy, n_draws, power, rng):
    """Voronoi-refined draws in the unit box (points in [0, 1]^d, any d >= 1); no validation.

    The engine of :func:`voronoi_draw` (which validates and rescales to any box).

    Examples
    --------
    >>> pts = np.array([[0.1], [0.5], [0.9]])
    >>> new = unit_voronoi_draw(pts, [1.0, 0.1, 1.0], 5, 2.0, np.random.default_rng(0))
    >>> new.shape, bool(np.all((new >= 0) & (new <= 1)))
    ((5, 1), True)
    """
    from scipy.spatial import Voronoi, cKDTree

    N, d = points.shape
    w = np.maximum(np.asarray(energy, float), 1e-6) ** (-power)
    p = w / w.sum()
    cells = rng.choice(N, size=n_draws, p=p)
    out = np.empty((n_draws, d))
    if d == 1:
        x = points[:, 0]
        o = np.argsort(x)
        xs = x[o]
        mids = np.concatenate([[0.0], 0.5 * (xs[1:] + xs[:-1]), [1.0]])
        rank = np.empty(N, int)
        rank[o] = np.arange(N)
        for t, c in enumerate(cells):
            r = rank[c]
            out[t, 0] = rng.uniform(mids[r], mids[r + 1])
        return out
    # Mirror the points across the 2d faces: the Voronoi cells of the originals are then
    # exactly their cells clipped to the unit box, and all bounded.
    mirrored = [points]
    for dim in range(d):
        for edge in (0.0, 1.0):
            q = points.copy()
            q[:, dim] = 2 * edge - q[:, dim]
            mirrored.append(q)
    vor = None
    if d <= 2 or N > d + 1:  # (d <= 2: as always; qhull needs d + 2 points in higher dimensions)
        from scipy.spatial import QhullError

        try:
            vor = Voronoi(np.concatenate(mirrored), qhull_options="Qbb Qc Qz" + (" Qx" if d > 4 else ""))
        except QhullError:  # degenerate point sets: rejection sampling over the whole box below
            vor = None
    tree = cKDTree(points)
    for t, c in enumerate(cells):
        lo, hi = np.zeros(d), np.ones(d)
        if vor is not None:
            region = vor.regions[vor.point_region[c]]
            verts = vor.vertices[[v for v in region if v >= 0]]
            lo = np.clip(verts.min(axis=0), 0.0, 1.0)
            hi = np.clip(verts.max(axis=0), 0.0, 1.0)
        for _ in range(1000):
            cand = rng.uniform(lo, hi)
            if tree.query(cand)[1] == c:
                break
        else:  # degenerate (duplicate) site: keep the site itself
            cand = points[c]
        out[t] = cand
    return out


def voronoi_draw(points, energy, n_draws, lo, hi, *, power=2.0, seed=None):
    """Draw new parameter points by energy-weighted Voronoi refinement.

    Parameters
    ----------
    points : array_like, shape (N, d)
        Parameter points evaluated so far (any dimension d; the extended models of ``fit`` search
        3 or 4).
    energy : array_like, shape (N,)
        Their (mean) energies; lower energy makes a cell more likely to be refined.
    n_draws : int
        Number of new points.
    lo, hi : array_like, shape (d,)
        The search box.
    power : float
        A cell is picked with probability proportional to ``energy ** -power``.
    seed : int, SeedSequence or Generator, optional

    Returns
    -------
    ndarray, shape (n_draws, d)
        Each new point lies uniformly inside the (box-clipped) Voronoi cell it was drawn for.

    Examples
    --------
    >>> pts = np.array([[-5.0, 0.0], [-1.0, 2.0], [-3.0, -4.0]])
    >>> new = voronoi_draw(pts, [0.9, 0.1, 0.5], 4, [-7, -7.5], [0, 7.5], seed=0)
    >>> new.shape
    (4, 2)
    """
    P = np.asarray(points, float)
    if P.ndim != 2 or P.shape[1] < 1:
        raise ValueError(f"'points' must have shape (N, d); got {P.shape}")
    E = np.asarray(energy, float)
    if E.shape != (P.shape[0],) or not np.all(np.isfinite(E)):
        raise ValueError(f"'energy' must hold one finite value per point; got shape {E.shape}")
    lo = np.asarray(lo, float).reshape(-1)[: P.shape[1]]
    hi = np.asarray(hi, float).reshape(-1)[: P.shape[1]]
    if np.any(hi <= lo):
        raise ValueError(f"the box must have lo < hi; got lo={lo.tolist()}, hi={hi.tolist()}")
    n_draws = check_int(n_draws, "n_draws", minimum=1)
    power = check_float(power, "power", minimum=0.0)
    U = (P - lo) / (hi - lo)
    new = unit_voronoi_draw(np.clip(U, 0, 1), E, n_draws, power, as_rng(seed))
    return lo + new * (hi - lo)


def grid_size(n_draws: int, d: int) -> int:
    """Points of the regular grid that :func:`unit_grid` lays for ``n_draws`` in ``d`` dimensions.

    Examples
    --------
    >>> grid_size(400, 2), grid_size(10, 1)
    (400, 10)
    """
    side = max(1, int(round(n_draws ** (1.0 / d))))
    return side**d


def unit_grid(n_draws: int, d: int) -> np.ndarray:
    """A regular grid of :func:`grid_size` points in the unit box ``[0, 1]^d``.

    Examples
    --------
    >>> unit_grid(4, 2).tolist()
    [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    >>> unit_grid(8, 3).shape
    (8, 3)
    """
    if d == 1:
        return np.linspace(0.0, 1.0, n_draws)[:, None]
    side = max(1, int(round(n_draws ** (1.0 / d))))
    g = np.linspace(0.0, 1.0, side)
    return np.stack(np.meshgrid(*([g] * d), indexing="ij"), axis=-1).reshape(-1, d)
