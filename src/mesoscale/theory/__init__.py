"""Analytic models of modular networks and tools to find phase transitions.

``sbm``          planted-partition stochastic block model, detectability threshold,
                 expected modularity of planted and random graphs
``emergence``    when purely spatial wiring (rule ``sptl``) makes modules: kernel pair
                 probabilities, the effective block model of a cell grid, its expected Q and SBM
``conditions``   predicted modules and ΔQ over the null, the slab closed form, the necessary
                 condition and its phase diagram
``continuum``    the conditions as inequalities in (xi, c, dim, aspect): Kesten--Stigum range,
                 modularity range, geometric bound, the intensive predictions of a box
``homophily``    the mean-field rate equation of the two-parameter rules (gamma != 0), its closures
``growth``       the staged rate equation of growth with births and elongation, modularity per stage
``spectral``     Bethe-Hessian community detection (reaches the threshold) and the overlap
``plots``        figures of scans, susceptibilities and finite-size scaling
``transitions``  scan an order parameter over a control parameter and sizes, locate the
                 transition (susceptibility peak, Binder crossing, level crossing)
``scaling``      finite-size scaling of those locations with bootstrap uncertainties
"""

from .sbm import (
    block_sizes,
    detectability_threshold,
    expected_modularity_planted,
    expected_modularity_random,
    planted_partition,
    sbm_parameters,
    snr,
)
from .emergence import (
    control_parameters,
    domain_points,
    effective_blocks,
    effective_sbm,
    expected_partition_modularity,
    grid_labels,
    pair_probabilities,
)
from .conditions import (
    EmergencePrediction,
    kernel_for_length,
    modularity_condition,
    phase_diagram,
    predict_from_pairs,
    predict_modules,
    slab_modularity,
    slab_optimum,
)
from .continuum import (
    box_predictions,
    box_sides,
    condition_boundaries,
    curve_crossing,
    kernel_characteristic,
    ks_range,
    ks_snr,
    minimum_range_ratio,
    modularity_range,
    phase_boundaries,
    predictions_at_sizes,
    spectral_snr,
)
from .homophily import CLOSURES, MEAN_FIELD_RULES, MeanField, mean_field_pairs, predict_modules_homophily
from .growth import growth_pair_probabilities, growth_predictions
from .spectral import bethe_hessian, bethe_hessian_partition, overlap
from .plots import (
    plot_collapse,
    plot_collapses,
    plot_emergence,
    plot_fss,
    plot_growth,
    plot_homophily,
    plot_order_parameter,
    plot_phase_diagram,
    plot_scans,
    plot_planted_threshold,
    plot_significance,
    plot_susceptibility,
    plot_transition,
)
from .scaling import CollapseResult, FSSResult, data_collapse, finite_size_scaling, fss_table, transition_report
from .transitions import locate_transition, scan, summarize

__all__ = [
    "fss_table",
    "plot_scans",
    "plot_planted_threshold",
    "plot_significance",
    "block_sizes",
    "planted_partition",
    "sbm_parameters",
    "detectability_threshold",
    "snr",
    "expected_modularity_planted",
    "expected_modularity_random",
    "bethe_hessian",
    "bethe_hessian_partition",
    "overlap",
    "scan",
    "summarize",
    "locate_transition",
    "finite_size_scaling",
    "FSSResult",
    "data_collapse",
    "CollapseResult",
    "transition_report",
    "plot_order_parameter",
    "plot_susceptibility",
    "plot_fss",
    "plot_transition",
    "plot_phase_diagram",
    "plot_emergence",
    "plot_collapse",
    "plot_homophily",
    "plot_growth",
    "plot_collapses",
    "pair_probabilities",
    "grid_labels",
    "effective_blocks",
    "expected_partition_modularity",
    "effective_sbm",
    "control_parameters",
    "domain_points",
    "EmergencePrediction",
    "predict_modules",
    "predict_from_pairs",
    "slab_modularity",
    "slab_optimum",
    "modularity_condition",
    "kernel_for_length",
    "phase_diagram",
    "box_sides",
    "kernel_characteristic",
    "ks_snr",
    "ks_range",
    "modularity_range",
    "minimum_range_ratio",
    "spectral_snr",
    "condition_boundaries",
    "box_predictions",
    "phase_boundaries",
    "curve_crossing",
    "predictions_at_sizes",
    "MEAN_FIELD_RULES",
    "CLOSURES",
    "MeanField",
    "mean_field_pairs",
    "predict_modules_homophily",
    "growth_pair_probabilities",
    "growth_predictions",
]
