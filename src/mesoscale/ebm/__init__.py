"""Energy-based networks with local learning rules.

A continuous Hopfield-style network with symmetric weights and units placed in space
(:mod:`~mesoscale.ebm.network`), three ways to learn in it -- equilibrium propagation with
the symmetric estimator, contrastive Hebbian learning and backpropagation through the
relaxation -- plus a local, length-dependent wiring cost (:mod:`~mesoscale.ebm.rules`),
one training loop for all of them (:mod:`~mesoscale.ebm.train`), left/right tasks
(:mod:`~mesoscale.ebm.tasks`), structural and functional analyses
(:mod:`~mesoscale.ebm.analysis`), the chapter's experiment (:mod:`~mesoscale.ebm.experiment`)
and its figures (:mod:`~mesoscale.ebm.plots`).

Examples
--------
>>> from mesoscale.ebm import make_network, retina_task, fit
>>> task = retina_task("separable", seed=0)
>>> net = make_network(task.n_in, 16, task.n_out, seed=0)
>>> result = fit(net, task, rule="eqprop", epochs=1, seed=0)
>>> result.net.check_symmetric()
True
"""

from .analysis import lesion_accuracy, specialisation, structural_modularity, weight_graph
from .experiment import METRICS, bootstrap_ci, make_condition, paired_differences, run_condition, summarise
from .network import EnergyNetwork, layout_positions, make_network
from .rules import (
    RULES,
    Gradient,
    apply_wiring_cost,
    bptt_gradient,
    chl_gradient,
    cosine_similarity,
    eqprop_gradient,
    estimate_gradient,
    gradient_alignment,
    implicit_gradient,
    wiring_cost,
)
from .tasks import TASKS, EBMTask, load_task, retina_objects, retina_task
from .train import TrainConfig, TrainResult, accuracy, fit

__all__ = [
    "EnergyNetwork",
    "make_network",
    "layout_positions",
    "RULES",
    "Gradient",
    "eqprop_gradient",
    "chl_gradient",
    "bptt_gradient",
    "implicit_gradient",
    "estimate_gradient",
    "cosine_similarity",
    "gradient_alignment",
    "apply_wiring_cost",
    "wiring_cost",
    "TASKS",
    "EBMTask",
    "retina_task",
    "retina_objects",
    "load_task",
    "TrainConfig",
    "TrainResult",
    "fit",
    "accuracy",
    "weight_graph",
    "structural_modularity",
    "specialisation",
    "lesion_accuracy",
    "make_condition",
    "run_condition",
    "summarise",
    "paired_differences",
    "bootstrap_ci",
    "METRICS",
]
