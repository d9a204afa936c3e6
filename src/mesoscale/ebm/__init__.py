"""Energy-based networks with local learning rules.

A continuous Hopfield-style network with symmetric weights and units placed in space
(:mod:`~mesoscale.ebm.network`), three ways to learn in it -- equilibrium propagation with
the symmetric estimator, contrastive Hebbian learning and backpropagation through the
relaxation -- plus a local, length-dependent wiring cost (:mod:`~mesoscale.ebm.rules`),
one learning loop for all of them (:mod:`~mesoscale.ebm.learning`), left/right tasks
(:mod:`~mesoscale.ebm.tasks`), structural and functional analyses
(:mod:`~mesoscale.ebm.analysis`), the chapter's experiment (:mod:`~mesoscale.ebm.experiment`)
and its figures (:mod:`~mesoscale.ebm.plots`).

Examples
--------
>>> from mesoscale.ebm import make_network, retina_task, learn
>>> task = retina_task("separable", seed=0)
>>> net = make_network(task.n_in, 16, task.n_out, seed=0)
>>> result = learn(net, task, rule="eqprop", epochs=1, seed=0)
>>> result.net.check_symmetric()
True
"""

from .analysis import lesion_accuracy, specialisation, weight_graph
from .experiment import (
    GEOMETRIES,
    METRICS,
    bootstrap_ci,
    geometry_contrast,
    make_condition,
    paired_differences,
    run_condition,
    sign_flip_p,
    summarize,
)
from .findings import local_learning_findings, training_statement
from .network import EnergyNetwork, layout_positions, make_network
from .rules import (
    LEARNING_RULES,
    Gradient,
    apply_wiring_cost,
    bptt_gradient,
    chl_gradient,
    cosine_similarity,
    eqprop_gradient,
    estimate_gradient,
    gradient_alignment,
    implicit_gradient,
)
from .tasks import TASKS, EBMTask, load_task, retina_objects, retina_task
from .learning import LearningConfig, LearningResult, accuracy, learn

__all__ = [
    "GEOMETRIES",
    "geometry_contrast",
    "sign_flip_p",
    "local_learning_findings",
    "training_statement",
    "EnergyNetwork",
    "make_network",
    "layout_positions",
    "LEARNING_RULES",
    "Gradient",
    "eqprop_gradient",
    "chl_gradient",
    "bptt_gradient",
    "implicit_gradient",
    "estimate_gradient",
    "cosine_similarity",
    "gradient_alignment",
    "apply_wiring_cost",
    "TASKS",
    "EBMTask",
    "retina_task",
    "retina_objects",
    "load_task",
    "LearningConfig",
    "LearningResult",
    "learn",
    "accuracy",
    "weight_graph",
    "specialisation",
    "lesion_accuracy",
    "make_condition",
    "run_condition",
    "summarize",
    "paired_differences",
    "bootstrap_ci",
    "METRICS",
]
