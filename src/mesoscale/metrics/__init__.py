"""Mesoscale metrics of networks, built on bctpy: numpy arrays in, plain results out.

Community structure
    :func:`modularity`, :func:`louvain_partitions`, :func:`best_partition`,
    :func:`consensus_communities`, :func:`relabel` (Louvain: bctpy's ``community_louvain``,
    run by compiled kernels that give its partitions bit for bit, ``engine="numba"``, or by
    bctpy itself, ``engine="bctpy"``)
Null models (:mod:`~mesoscale.metrics.nulls`) and significance (:mod:`~mesoscale.metrics.significance`)
    :func:`null_network` (``"degree"``, ``"density"``, ``"spatial"``, ``"strength"``),
    :func:`degree_preserving_swaps`,
    :func:`modularity_significance` -> :class:`ModularityTest` (z, ΔQ with its interval,
    empirical p-value, fragmentation of the network)
Fragmented networks (:mod:`~mesoscale.metrics.fragmentation`)
    :func:`fragmentation` -> :class:`Fragmentation`, :func:`flag_fragmented`
    (:class:`FragmentedNetworkWarning`)
Multiple comparisons and intervals
    :func:`adjust_pvalues` (Holm, Benjamini–Hochberg, Bonferroni), :func:`bootstrap_ci` (of a mean)
Calibration of nulls (:mod:`~mesoscale.metrics.calibration`)
    :func:`calibrate_null`, :func:`calibrate_erdos_renyi`, :func:`summarize_calibration`
    -> :class:`NullCalibration`; :func:`erdos_renyi` (G(n, m) replicates)
Large sparse networks (:mod:`~mesoscale.metrics.sparse`)
    :func:`sparse_modularity`, :func:`sparse_best_partition` (networkx Louvain),
    :func:`sparse_degree_swaps`, :func:`sparse_modularity_significance`, :func:`as_sparse_network`
Node roles
    :func:`participation_coefficient`, :func:`within_module_degree_zscore`
Topology
    :func:`global_efficiency`, :func:`local_efficiency`, :func:`clustering`,
    :func:`characteristic_path_length`, :func:`small_worldness`, :func:`rich_club`,
    :func:`assortativity`
Feedforwardness of directed networks (:mod:`~mesoscale.metrics.hierarchy`)
    :func:`trophic_levels`, :func:`trophic_incoherence`, :func:`trophic_coherence`,
    :func:`layer_feedforwardness`
Generative-model energy
    :func:`ks_energy` (columns :data:`KS_COLUMNS`), :func:`network_statistics`,
    :func:`ks_statistic`
Weighted networks and fit criteria (:mod:`~mesoscale.metrics.weighted`, :mod:`~mesoscale.metrics.criteria`)
    :func:`weighted_ks_energy` (columns :data:`WEIGHTED_KS_COLUMNS`), :func:`weighted_statistics`,
    :func:`weighted_ks_statistic`; :class:`Criterion` (:data:`CRITERIA`: KS, weighted KS,
    node-aligned correlations, topological fingerprint; ``max``/``mean`` combinations),
    :func:`nodal_measures`, :func:`topological_fingerprint`
Structure of weight matrices
    :func:`structural_modularity`, :func:`keep_strongest`, :func:`wiring_cost`,
    :func:`distance_matrix`
Comparison with a null
    :func:`compare_with_null` -> :class:`NullComparison` (z, percentile, delta and its
    interval, empirical p-value)
Everything at once
    :func:`summary` (one network's summary row)
"""

from .community import best_partition, consensus_communities, louvain_partitions, modularity, relabel
from .energy import KS_COLUMNS, ks_energy, ks_statistic, network_statistics
from .weighted import WEIGHTED_KS_COLUMNS, weighted_ks_energy, weighted_ks_statistic, weighted_statistics
from .criteria import COMBINATIONS, CRITERIA, Criterion, nodal_measures, topological_fingerprint
from .._validation import distance_matrix
from .nulls import NULL_MODELS, STRENGTH_RTOL, degree_preserving_swaps, null_network, sparse_degree_swaps
from .fragmentation import Fragmentation, FragmentedNetworkWarning, flag_fragmented, fragmentation
from .significance import (
    ALTERNATIVES,
    PVALUE_ADJUSTMENTS,
    ModularityTest,
    NullComparison,
    adjust_pvalues,
    bootstrap_ci,
    compare_with_null,
    modularity_significance,
)
from .calibration import (
    NullCalibration,
    calibrate_erdos_renyi,
    calibrate_null,
    calibration_report,
    erdos_renyi,
    summarize_calibration,
)
from .sparse import (
    as_sparse_network,
    sparse_best_partition,
    sparse_modularity,
    sparse_modularity_significance,
)
from .hierarchy import layer_feedforwardness, trophic_coherence, trophic_incoherence, trophic_levels
from .roles import participation_coefficient, within_module_degree_zscore
from .overview import summary
from .structure import STRUCTURAL_NULLS, keep_strongest, structural_modularity, wiring_cost
from .topology import (
    SmallWorld,
    assortativity,
    characteristic_path_length,
    clustering,
    global_efficiency,
    local_efficiency,
    rich_club,
    small_worldness,
)

__all__ = [
    "as_sparse_network",
    "sparse_modularity",
    "sparse_best_partition",
    "sparse_degree_swaps",
    "sparse_modularity_significance",
    "modularity",
    "louvain_partitions",
    "best_partition",
    "consensus_communities",
    "relabel",
    "NULL_MODELS",
    "STRENGTH_RTOL",
    "null_network",
    "degree_preserving_swaps",
    "ModularityTest",
    "NullComparison",
    "compare_with_null",
    "ALTERNATIVES",
    "Fragmentation",
    "FragmentedNetworkWarning",
    "fragmentation",
    "flag_fragmented",
    "PVALUE_ADJUSTMENTS",
    "adjust_pvalues",
    "bootstrap_ci",
    "NullCalibration",
    "calibrate_null",
    "calibration_report",
    "calibrate_erdos_renyi",
    "erdos_renyi",
    "summarize_calibration",
    "STRUCTURAL_NULLS",
    "structural_modularity",
    "keep_strongest",
    "wiring_cost",
    "distance_matrix",
    "modularity_significance",
    "participation_coefficient",
    "within_module_degree_zscore",
    "global_efficiency",
    "local_efficiency",
    "clustering",
    "characteristic_path_length",
    "SmallWorld",
    "small_worldness",
    "rich_club",
    "assortativity",
    "trophic_levels",
    "trophic_incoherence",
    "trophic_coherence",
    "layer_feedforwardness",
    "KS_COLUMNS",
    "ks_energy",
    "ks_statistic",
    "network_statistics",
    "WEIGHTED_KS_COLUMNS",
    "weighted_ks_energy",
    "weighted_ks_statistic",
    "weighted_statistics",
    "CRITERIA",
    "COMBINATIONS",
    "Criterion",
    "nodal_measures",
    "topological_fingerprint",
    "summary",
]
