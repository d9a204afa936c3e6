"""Generative network models: wiring rules, developmental growth and fitting.

:func:`generate` grows networks with any of the thirteen wiring rules of Betzel et al.
(2016) in one batched numba kernel; :func:`grow` adds developmental schedules (nodes
that appear in a birth order, distances that change with time, a real earlier-stage
connectome as the seed); :func:`fit` finds the parameters that best reproduce a target
connectome, in process or as a :mod:`mesoscale.sweep` on Dask.

Modules: ``models`` (:func:`generate`, the rules and the numerics), ``growth``
(:func:`grow`, :func:`birth_stages`, :func:`elongating_distances`,
:func:`spatial_edge_schedule`), ``fitting`` (:func:`fit`, :class:`FitResult`,
:func:`voronoi_draw`), ``_kernels`` (the numba engine).

Examples
--------
Matching-rule networks on a brain parcellation, and the worm growing in birth order in a
body that elongates (Nicosia et al. 2013)::

    from mesoscale import connectomes
    from mesoscale.generative import generate, grow, elongating_distances, spatial_edge_schedule

    human = connectomes.load("human_dk68")
    nets = generate(human.distances(), 588, "matching", eta=-3.2, gamma=0.45, n_networks=100, seed=0)

    worm = connectomes.load("celegans_witvliet_8")
    rank = worm.node_table()["birth_rank"].to_numpy()
    stages = np.unique(rank)                                   # one stage per birth rank
    D = elongating_distances(worm.positions, np.linspace(0.2, 1.0, stages.size), axis=1)
    birth = np.searchsorted(stages, rank)                      # stage of each neuron
    m = spatial_edge_schedule(D, birth, p0=0.2, length=0.5, seed=0)
    nets = grow(D, m, "matching", -2.0, 0.4, birth_times=rank, stage_times=stages, seed=0)
"""

from .fitting import FitResult, fit, voronoi_draw
from .growth import birth_stages, elongating_distances, grow, spatial_edge_schedule
from .models import MODEL_VARS, RULES, count_edges, generate

__all__ = [
    "RULES",
    "MODEL_VARS",
    "generate",
    "count_edges",
    "grow",
    "birth_stages",
    "elongating_distances",
    "spatial_edge_schedule",
    "fit",
    "FitResult",
    "voronoi_draw",
]
