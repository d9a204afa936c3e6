"""PyTorch training framework for artificial networks with biological priors.

Submodules
----------
``tasks``         two-digit modular task, the Yang et al. 2019 task family (neurogym), varying goals
``digits``        two digits in two input streams (images, spike codes), rules over them, held-out pairs
``models``        spatially embedded RNNs and MLPs, trained as batched ensembles of K members
``priors``        recurrent masks: dense, planted modules, generative-model networks, connectome wiring
``regularizers``  L1, distance-weighted L1 (BIMT), communicability x distance (seRNN)
``loop``          the training loop (Adam, BPTT, clipping, early stopping, checkpoints, exact resume)
``experiments``   conditions (prior + regulariser) trained as ensembles of seeds, for the chapters
``plots``         the chapters' figures
``evaluation``    accuracy, zero-shot (held-out tasks) and few-shot adaptation
``robustness``    lesions of units, connections and modules; input and recurrent noise
``specialisation`` structural modularity with nulls, functional specialisation (task variance, Béna & Goodman)
``runs``          conditions x seeds trained as batched ensembles into a resumable store
``frontier``      Béna & Goodman's calibration and the specialisation frontier with biological priors
``scenarios``     unfamiliar scenarios: zero-shot pairs, missing/corrupt streams, OOD noise, lesions, few-shot
``link``          seed summaries, thresholds, shifts from a reference curve, partial correlations

Examples
--------
>>> from mesoscale.training import SpatialRNN, two_digit_task, train
>>> data = two_digit_task(200, 100, seed=0)
>>> task = data.task("train")
>>> net = SpatialRNN(task.n_input, 27, task.n_output, seed=0)
>>> res = train(net, task, steps=3, batch_size=16, seed=0, progress=False)
>>> res.steps_done
3
"""

from .evaluation import accuracy, batch_accuracy, eval_batch, few_shot_curve, per_task_accuracy, reference_accuracy
from .robustness import lesion_connections, lesion_curve, module_lesion, noise_curve, unit_strength
from .specialisation import (
    BENA_MEASURES,
    bena_metrics,
    bena_specialisation,
    hidden_states,
    ridge_readout_accuracy,
    cluster_lesion,
    ensemble_modularity,
    specialisation_index,
    task_variance,
    task_variance_clusters,
)
from .experiments import (
    PRIORS,
    Condition,
    build_model,
    condition_layout,
    condition_mask,
    robustness_table,
    run_conditions,
    weight_density,
)
from .runs import load_members, member_key, prune_to_density, train_members
from .link import crossing_point, curve_shift, link_table, partial_correlation, summarize_seeds
from .scenarios import (
    PRIMARY_OUTCOMES,
    SCENARIOS,
    generalisation_conditions,
    generalisation_study,
    head_accuracy,
    scenario_contrasts,
    scenario_evaluator,
    scenario_statements,
)
from .frontier import (
    BENA_GOODMAN,
    PRIMARY_MEASURE,
    calibration_conditions,
    connectome_conditions,
    frontier_evaluator,
    frontier_findings,
    frontier_statements,
    frontier_summary,
    prior_conditions,
    specialisation_study,
)
from .loop import TrainResult, decision_correct, evaluate_batch, member_losses, select_device, train
from .models import SpatialMLP, SpatialRNN, distance_matrix, grid_positions, member_generators, member_seeds
from .priors import (
    connectome_layout,
    fitted_parameters,
    inter_module_ratio,
    planted_q,
    random_mask,
    two_module_mask,
    connectome_prior,
    dense_mask,
    generative_mask,
    mask_density,
    module_labels,
    sbm_mask,
    spatial_modules,
)
from .regularizers import Regularizer, communicability, communicability_distance, distance_l1, l1, swap_units
from .digits import MODALITIES, RULES, PairedDigits, rule_targets
from .tasks import (
    YANG19_TASKS,
    ArrayTask,
    Batch,
    Task,
    TwoDigitData,
    VaryingGoalTask,
    YangTasks,
    compositional_split,
    two_digit_task,
)

__all__ = [
    "Batch", "Task", "ArrayTask", "TwoDigitData", "two_digit_task", "YangTasks", "YANG19_TASKS",
    "compositional_split", "VaryingGoalTask",
    "SpatialRNN", "SpatialMLP", "grid_positions", "distance_matrix", "member_seeds", "member_generators",
    "dense_mask", "sbm_mask", "module_labels", "spatial_modules", "mask_density", "generative_mask", "connectome_prior",
    "Regularizer", "l1", "distance_l1", "communicability", "communicability_distance", "swap_units",
    "train", "TrainResult", "select_device", "member_losses", "decision_correct", "evaluate_batch",
    "eval_batch", "batch_accuracy", "accuracy", "per_task_accuracy", "few_shot_curve", "reference_accuracy", "lesion_connections", "unit_strength",
    "lesion_curve", "module_lesion", "noise_curve", "ensemble_modularity", "task_variance",
    "task_variance_clusters", "cluster_lesion", "bena_specialisation", "specialisation_index", "bena_metrics",
    "hidden_states", "ridge_readout_accuracy", "BENA_MEASURES", "PairedDigits", "rule_targets", "MODALITIES", "RULES",
    "Condition", "build_model", "run_conditions", "weight_density", "robustness_table",
    "PRIORS", "condition_layout", "condition_mask", "two_module_mask", "random_mask", "inter_module_ratio", "planted_q",
    "fitted_parameters", "connectome_layout",
    "train_members", "load_members", "member_key", "prune_to_density",
    "summarize_seeds", "crossing_point", "curve_shift", "partial_correlation", "link_table",
    "BENA_GOODMAN", "PRIMARY_MEASURE", "calibration_conditions", "prior_conditions", "connectome_conditions",
    "frontier_evaluator", "frontier_summary", "frontier_findings", "frontier_statements", "specialisation_study",
    "SCENARIOS", "head_accuracy", "scenario_evaluator", "scenario_contrasts", "PRIMARY_OUTCOMES",
    "generalisation_conditions", "generalisation_study", "scenario_statements",
]
