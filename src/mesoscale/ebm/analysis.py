"""Structure and function of trained energy-based networks.

``weight_graph``
    The weighted graph ``|W|`` and the pairs the architecture allows (``net.mask``): give
    both to :func:`mesoscale.metrics.structural_modularity` with ``null="weights"`` for the
    *architecture-matched* null (the same synaptic weights shuffled over the allowed
    synapses, so inputs still never touch inputs, etc.).
``specialisation``
    Functional specialisation of the hidden units to the two input halves: how much a
    unit's fixed-point activity changes when the left half of the input is swapped for
    another sample's left half, versus the right half.
``lesion_accuracy``
    Accuracy after silencing random subsets of hidden units (held at 0 during relaxation).
"""

from __future__ import annotations


import numpy as np
import torch

from .._validation import as_rng, check_choice, check_int
from .network import EnergyNetwork
from .tasks import EBMTask

__all__ = [
    "weight_graph",
    "specialisation",
    "lesion_accuracy",
]


def weight_graph(net: EnergyNetwork, which: str = "all") -> tuple[np.ndarray, np.ndarray]:
    """Weighted undirected graph ``|W|`` and the matching architecture mask.

    Parameters
    ----------
    which : {"all", "hidden"}
        All units, or the hidden-hidden block only.

    Returns
    -------
    A : ndarray (n, n)
        Absolute weights (symmetric, zero diagonal).
    allowed : ndarray of bool (n, n)
        Which pairs can carry a synapse.

    Examples
    --------
    >>> from mesoscale.ebm import make_network
    >>> from mesoscale.metrics import structural_modularity
    >>> A, allowed = weight_graph(make_network(8, 12, 2, seed=0))
    >>> t = structural_modularity(A, null="weights", allowed=allowed, n_null=5, n_runs=2, seed=0)
    >>> t.n_null, 0.0 <= t.percentile <= 100.0
    (5, True)
    """
    check_choice(which, "which", ["all", "hidden"])
    A = net.W.detach().abs().cpu().numpy().astype(float)
    M = net.mask.cpu().numpy().astype(bool)
    if which == "hidden":
        h = net.hidden
        A, M = A[h, h], M[h, h]
    return A, M


def _fixed_points(net, x, n_steps, lesion=None):
    with torch.no_grad():
        return net.relax(torch.as_tensor(x, dtype=net.dtype), n_steps=n_steps, lesion=lesion)


def specialisation(net: EnergyNetwork, task: EBMTask, *, n_steps: int = 60, seed=None) -> dict:
    """Specialisation of hidden units to the left or the right half of the input.

    For every test input, the left half is replaced by the left half of another (random)
    test input and the change of each hidden unit's fixed-point activity is measured
    (``d_left``); likewise for the right half (``d_right``). A unit's selectivity is
    ``|d_left - d_right| / (d_left + d_right)`` (0: mixes both halves equally, 1: responds
    to one half only); the network's specialisation is the mean selectivity weighted by
    each unit's total sensitivity ``d_left + d_right`` (silent units do not count).

    Returns
    -------
    dict
        ``specialisation`` (float in [0, 1]), ``selectivity`` (per hidden unit),
        ``side`` (per unit: 0 left-preferring, 1 right-preferring), ``sensitivity``.

    Examples
    --------
    >>> from mesoscale.ebm import make_network, retina_task
    >>> t = retina_task("and", seed=0)
    >>> sp = specialisation(make_network(8, 6, 2, seed=0), t, n_steps=30, seed=0)
    >>> sp["selectivity"].shape, 0.0 <= sp["specialisation"] <= 1.0
    ((6,), True)
    """
    if task.input_side is None:
        raise ValueError(f"task {task.name!r} has no 'input_side'; specialisation needs left/right halves")
    rng = as_rng(seed)
    x = np.asarray(task.x_test, dtype=float)
    side = np.asarray(task.input_side)
    h = net.hidden
    base = _fixed_points(net, x, n_steps)[:, h].numpy()
    d = []
    for k in (0, 1):
        xs = x.copy()
        perm = rng.permutation(len(x))
        cols = side == k
        xs[:, cols] = x[perm][:, cols]
        moved = _fixed_points(net, xs, n_steps)[:, h].numpy()
        d.append(np.abs(moved - base).mean(0))
    dl, dr = d
    tot = dl + dr
    sel = np.where(tot > 1e-12, np.abs(dl - dr) / np.maximum(tot, 1e-300), 0.0)
    spec = float((sel * tot).sum() / tot.sum()) if tot.sum() > 0 else float("nan")
    return {"specialisation": spec, "selectivity": sel, "side": (dr > dl).astype(int), "sensitivity": tot}


def lesion_accuracy(
    net: EnergyNetwork,
    task: EBMTask,
    fractions=(0.0, 0.125, 0.25, 0.5),
    *,
    n_draws: int = 10,
    n_steps: int = 60,
    seed=None,
) -> dict:
    """Test accuracy after silencing random fractions of the hidden units.

    Returns
    -------
    dict
        ``fractions`` and ``accuracy`` (mean over ``n_draws`` random lesions per fraction).

    Examples
    --------
    >>> from mesoscale.ebm import make_network, retina_task
    >>> t = retina_task("and", seed=0)
    >>> la = lesion_accuracy(make_network(8, 6, 2, seed=0), t, (0.0, 0.5), n_draws=2, n_steps=30, seed=0)
    >>> la["fractions"].tolist(), la["accuracy"].shape
    ([0.0, 0.5], (2,))
    """
    from .learning import accuracy

    n_draws = check_int(n_draws, "n_draws", minimum=1)
    fr = np.asarray(fractions, dtype=float)
    if fr.ndim != 1 or np.any((fr < 0) | (fr > 1)):
        raise ValueError(f"'fractions' must be a 1-D sequence in [0, 1]; got {fractions!r}")
    rng = as_rng(seed)
    hidden = np.arange(net.n_in, net.n_in + net.n_hidden)
    acc = []
    for f in fr:
        k = int(round(f * net.n_hidden))
        vals = []
        for _ in range(n_draws if k > 0 else 1):
            lesion = rng.choice(hidden, size=k, replace=False) if k else None
            vals.append(accuracy(net, task.x_test, task.y_test, task.output_groups, n_steps=n_steps, lesion=lesion))
        acc.append(float(np.mean(vals)))
    return {"fractions": fr, "accuracy": np.asarray(acc)}
