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
``weighted``     weighted GNMs (Akarca et al. 2023): :func:`generate_weighted`, :func:`grow_weights`,
                 :func:`weight_loss`, :func:`weight_gradient`, :data:`WEIGHT_LOSSES`, :class:`WeightedModel`
``heterochronous`` a developmental term ``H(t) ** lam``: :func:`generate_heterochronous`,
                 :func:`wave_gradient`, :func:`birth_gradient`, :func:`wiring_front`, :class:`HeterochronousModel`
``fitting``      :func:`fit` (``criterion=``, ``model=``), :class:`FitResult`, :func:`recorded_seed`
``search``       :func:`voronoi_draw` (the Voronoi refinement and grids of the search)
``ranking``      :func:`best_points` (the one top-k), :func:`topk_energies`, :func:`rule_ranking`,
                 :func:`nesting_table` (no rule worse than sptl, its gamma = 0 case), :class:`NestingWarning`,
                 :class:`NestingError`, :func:`fitted_networks`
``uncertainty``  repeated searches: :func:`pool_searches`, :func:`search_uncertainty` (spread across searches,
                 budget convergence, the sign of gamma), :func:`search_ranking` (two-level bootstrap)
``floors``       energy floors: :func:`ks_critical_value`, :func:`self_energy_floor` (a model against
                 itself), :func:`pair_floor` (two real networks), :func:`floor_table` (within floor / misfit)
``comparison``   :func:`compare_mesoscale`, :func:`summarize_comparison` (out-of-sample mesoscale structure)
``forecast``     :func:`growth_forward_scores`, :func:`honest_baseline_scores`, :func:`degree_preserving_growth`
                 (the oracle), :func:`precision_at_k`
``study``        the phase-2 driver: :func:`fit_connectomes`, :func:`fit_checks`, :func:`compare_fits`
``stages``       the worm from birth to adult: :func:`development_study`, :func:`stage_structure` (common neurons;
                 binary, weighted, directed), :func:`stage_trends` (trend tests against the two adults)
``landscape``    :func:`network_summary`, :func:`landscape`, :func:`conditions`
``summaries``    per-cell summaries of the sweeps: :func:`significance` (BH, fragmentation), :func:`summarize`
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
from .heterochronous import (
    HeterochronousModel,
    birth_gradient,
    generate_heterochronous,
    stage_schedule,
    wave_gradient,
    wiring_front,
)
from .weighted import WEIGHT_LOSSES, WeightedModel, generate_weighted, grow_weights, weight_gradient, weight_loss
from .models import MODEL_VARS, WIRING_RULES, count_edges, generate, generate_batches
from .uncertainty import pool_searches, search_ranking, search_uncertainty
from .ranking import (
    NestingError,
    NestingWarning,
    best_parameters,
    best_points,
    point_keys,
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
    "WEIGHT_LOSSES",
    "generate_weighted",
    "grow_weights",
    "weight_loss",
    "weight_gradient",
    "WeightedModel",
    "generate_heterochronous",
    "wave_gradient",
    "birth_gradient",
    "stage_schedule",
    "wiring_front",
    "HeterochronousModel",
    "fit",
    "FitResult",
    "voronoi_draw",
    "recorded_seed",
    "best_points",
    "best_parameters",
    "point_keys",
    "pool_searches",
    "search_uncertainty",
    "search_ranking",
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
