"""Every figure of the generative chapters, in one namespace.

``plots.landscape``: phase diagrams, galleries, conditions and development of the wiring
rules (chapter 1); ``plots.fits``: energy landscapes, rule rankings, mesoscale
comparisons, growth forecasts, development and species panels of the fits (chapter 4);
``plots.extensions``: held-out energies, wiring fronts and weight distributions of the weighted
and heterochronous models (chapter 8).
Each function returns a :class:`matplotlib.figure.Figure`.

Examples
--------
>>> from mesoscale.generative import plots
>>> callable(plots.plot_phase_diagrams) and callable(plots.plot_energy_landscape)
True
"""

from .fits import (
    plot_comparison,
    plot_development_trajectories,
    plot_energy_landscape,
    plot_energy_landscapes,
    plot_growth_forward,
    plot_rule_ranking,
    plot_species_panel,
    plot_trajectories,
)
from .stages import plot_stage_structure, style_z_table
from .extensions import plot_holdout, plot_weight_distributions, plot_weight_quantiles, plot_wiring_fronts
from .landscape import (
    METRIC_LABELS,
    plot_conditions,
    plot_development_map,
    plot_gallery,
    plot_growth_curves,
    plot_modules_vs_ganglia,
    plot_phase_diagrams,
)

__all__ = [
    "plot_stage_structure",
    "style_z_table",
    "METRIC_LABELS",
    "plot_phase_diagrams",
    "plot_gallery",
    "plot_conditions",
    "plot_growth_curves",
    "plot_development_map",
    "plot_modules_vs_ganglia",
    "plot_energy_landscape",
    "plot_energy_landscapes",
    "plot_rule_ranking",
    "plot_comparison",
    "plot_growth_forward",
    "plot_trajectories",
    "plot_development_trajectories",
    "plot_species_panel",
    "plot_holdout",
    "plot_wiring_fronts",
    "plot_weight_distributions",
    "plot_weight_quantiles",
]
