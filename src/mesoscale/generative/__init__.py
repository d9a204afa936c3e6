"""Generative network models: wiring rules, developmental growth and fitting.

:func:`generate` grows networks with any of the thirteen wiring rules of Betzel et al.
(2016) in one batched numba kernel; :func:`grow` adds developmental schedules (nodes
that appear in a birth order, distances that change with time, a real earlier-stage
connectome as the seed); :func:`fit` finds the parameters that best reproduce a target
connectome, in process or as a :mod:`mesoscale.sweep` on Dask, and checks that no rule is
reported worse than the sptl rule it contains; :mod:`~mesoscale.generative.floors` says how
low an energy can go at all.

Modules
-------
``models``       :func:`generate`, :func:`generate_batches` (streamed), :data:`WIRING_RULES`, :data:`MODEL_VARS`
``sparse``       :func:`sptl_edges` (the exact sptl law on large point sets, no dense matrix),
                 :func:`edges_to_sparse`
``growth``       :func:`grow`, :func:`birth_stages`, :func:`elongating_distances`, :func:`spatial_edge_schedule`
``fitting``      :func:`fit`, :class:`FitResult`, :func:`recorded_seed`
``search``       :func:`voronoi_draw` (the Voronoi refinement and grids of the search)
``ranking``      :func:`best_points` (the one top-k), :func:`topk_energies`, :func:`rule_ranking`,
                 :func:`nesting_table` (no rule worse than sptl, its gamma = 0 case), :class:`NestingWarning`,
                 :class:`NestingError`, :func:`fitted_networks`
``floors``       energy floors: :func:`ks_critical_value`, :func:`self_energy_floor` (a model against
                 itself), :func:`pair_floor` (two real networks), :func:`floor_table` (within floor / misfit)
``comparison``   :func:`compare_mesoscale`, :func:`summarize_comparison` (out-of-sample mesoscale structure)
``forecast``     :func:`growth_forward_scores`, :func:`honest_baseline_scores`, :func:`degree_preserving_growth`
                 (the oracle), :func:`precision_at_k`
``study``        the phase-2 driver: :func:`fit_connectomes`, :func:`compare_fits`, :func:`development_study`
``landscape``    :func:`network_summary`, :func:`landscape`, :func:`conditions`, :func:`summarize`
``development``  the worm-growth model of Nicosia et al. (2013): :func:`development`, ...
``explorer``     interactive widgets; ``plots`` every figure; ``_engine``/``_kernels`` internals.

Dataset preparation (binarising, constant distances, aligning stages) lives in
:mod:`mesoscale.connectomes.preparation`.

Examples
--------
>>> import numpy as np
>>> xy = np.random.default_rng(0).random((20, 2))
>>> D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
>>> generate(D, 30, "matching", eta=-2.0, gamma=0.4, n_networks=2, seed=0).shape
(2, 20, 20)
"""

from .comparison import COMPARISON_METRICS, compare_mesoscale, summarize_comparison
from .fitting import FitResult, fit, recorded_seed
from .search import voronoi_draw
from .floors import floor_table, ks_critical_value, pair_floor, self_energy_floor
from .forecast import (
    HONEST_BASELINES,
    GrowthForecast,
    degree_preserving_growth,
    growth_forward_scores,
    honest_baseline_scores,
    precision_at_k,
)
from .sparse import edges_to_sparse, sptl_edges
from .growth import birth_stages, elongating_distances, grow, spatial_edge_schedule
from .models import MODEL_VARS, WIRING_RULES, count_edges, generate, generate_batches
from .ranking import (
    NestingError,
    NestingWarning,
    best_points,
    fitted_networks,
    nesting_table,
    rule_ranking,
    topk_energies,
)

__all__ = [
    "WIRING_RULES",
    "MODEL_VARS",
    "generate",
    "generate_batches",
    "count_edges",
    "sptl_edges",
    "edges_to_sparse",
    "grow",
    "birth_stages",
    "elongating_distances",
    "spatial_edge_schedule",
    "fit",
    "FitResult",
    "voronoi_draw",
    "recorded_seed",
    "best_points",
    "topk_energies",
    "rule_ranking",
    "fitted_networks",
    "nesting_table",
    "NestingWarning",
    "NestingError",
    "ks_critical_value",
    "self_energy_floor",
    "pair_floor",
    "floor_table",
    "COMPARISON_METRICS",
    "compare_mesoscale",
    "summarize_comparison",
    "GrowthForecast",
    "degree_preserving_growth",
    "HONEST_BASELINES",
    "honest_baseline_scores",
    "growth_forward_scores",
    "precision_at_k",
]
