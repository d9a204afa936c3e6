"""Training loop shared by all learning rules, and accuracy evaluation.

One loop serves every rule, so that rule is the only thing that differs between runs:
mini-batches in a seeded order, the rule's gradient estimate
(:func:`mesoscale.ebm.rules.estimate_gradient`), an SGD step with per-synapse momentum,
and then the local wiring cost (:func:`mesoscale.ebm.rules.apply_wiring_cost`). Each of
these touches a synapse using only quantities available at that synapse (for ``eqprop``
and ``chl``).

**Stopping rule** (``patience``). Without it the loop runs ``epochs`` epochs. With it,
``epochs`` is a cap: the task's validation split (:attr:`EBMTask.x_val`, disjoint from the
training and the test patterns) is relaxed freely and its output cost -- the task loss, not
the wiring cost -- is the validation loss; training stops once it has not improved by more
than ``min_delta`` for ``patience`` checks in a row, and the network at the best check is
returned (best weights restored). The initial network is the first check (epoch 0).

For a task with varying goals (``retina_mvg``) a loss on the goal being trained jumps at
every switch, and a loss over all goals at an arbitrary epoch rewards half-adapted
compromises between goals. There, the checks are whole goal cycles (``len(goals) *
switch_every`` epochs): at the end of each goal's block -- when the network has adapted to
that goal -- the validation loss on that goal is recorded, and the check value of a cycle
is the mean of these end-of-block losses over the cycle's goals (for the initial network:
its mean loss over all goals). Patience counts cycles, and the restored network is the one
at the end of its best cycle (adapted to the cycle's last goal, which
:attr:`LearningResult.final_goal` then names). ``eval_every`` only sets the learning-curve
records there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .._validation import as_rng, check_choice, check_float, check_int
from .network import EnergyNetwork
from ..metrics import wiring_cost
from .rules import LEARNING_RULES, apply_wiring_cost, estimate_gradient
from .tasks import EBMTask

__all__ = ["LearningConfig", "LearningResult", "learn", "accuracy", "network_measures"]


@dataclass
class LearningConfig:
    """Hyper-parameters of :func:`learn` (defaults suit the retina tasks).

    Attributes
    ----------
    rule : {"eqprop", "chl", "bptt"}
    epochs : int
    batch_size : int
    lr : float
        SGD learning rate.
    momentum : float
        Per-synapse momentum (0 = plain SGD).
    wiring_strength : float
        Strength of the local wiring cost (0 = none).
    wiring_kind : {"l1", "l2"}
    beta : float
        EqProp nudging strength.
    n_free, n_nudged : int
        Relaxation steps of the free phase and of each nudged/clamped phase. BPTT
        unrolls ``n_free`` steps.
    n_eval : int
        Relaxation steps at evaluation.
    clip_norm : float
        The gradient estimate of a mini-batch is rescaled to at most this Euclidean norm
        (synapses and biases together; ``inf`` = no clipping). The same for every rule:
        without it BPTT through a relaxation that has not settled (a network with several
        attractors) occasionally produces exploding gradients.
    eval_every : int
        Record accuracies every ``eval_every`` epochs (and at the last epoch); without varying
        goals also the epochs between validation checks of the stopping rule.
    patience : int or None
        ``None`` (default): train exactly ``epochs`` epochs. Otherwise stop after ``patience``
        validation checks without improvement and restore the best weights (module docstring);
        ``epochs`` is then the cap. Needs a task with a validation split.
    min_delta : float
        Improvement of the validation loss that counts as one (stopping rule only).

    Examples
    --------
    >>> cfg = LearningConfig(rule="chl", epochs=5, wiring_strength=0.01)
    >>> cfg.validate() is cfg, cfg.n_free
    (True, 30)
    >>> LearningConfig(rule="hebb").validate()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: ...
    >>> LearningConfig(patience=0).validate()
    Traceback (most recent call last):
    ValueError: 'patience' must be >= 1; got 0
    """

    rule: str = "eqprop"
    epochs: int = 60
    batch_size: int = 16
    lr: float = 0.05
    momentum: float = 0.5
    wiring_strength: float = 0.0
    wiring_kind: str = "l1"
    beta: float = 0.2
    n_free: int = 30
    n_nudged: int = 15
    n_eval: int = 60
    clip_norm: float = 1.0
    eval_every: int = 1
    patience: int | None = None
    min_delta: float = 0.0

    def validate(self) -> LearningConfig:
        check_choice(self.rule, "rule", list(LEARNING_RULES))
        check_int(self.epochs, "epochs", minimum=0)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_float(self.lr, "lr", minimum=0.0)
        check_float(self.momentum, "momentum", minimum=0.0, maximum=0.999)
        check_float(self.wiring_strength, "wiring_strength", minimum=0.0)
        check_choice(self.wiring_kind, "wiring_kind", ["l1", "l2"])
        check_float(self.beta, "beta", minimum=1e-12)
        check_int(self.n_free, "n_free", minimum=1)
        check_int(self.n_nudged, "n_nudged", minimum=1)
        check_int(self.n_eval, "n_eval", minimum=1)
        check_float(self.clip_norm, "clip_norm", minimum=1e-12, allow_inf=True)
        check_int(self.eval_every, "eval_every", minimum=1)
        if self.patience is not None:
            check_int(self.patience, "patience", minimum=1)
        check_float(self.min_delta, "min_delta", minimum=0.0)
        return self


@dataclass
class LearningResult:
    """What :func:`learn` returns.

    Attributes
    ----------
    net : EnergyNetwork
        The trained network (a copy; the input network is not modified).
    config : LearningConfig
    history : dict of lists
        ``epoch``, ``goal`` (index of the goal trained in that epoch; 0 without varying
        goals), ``loss`` (mean training cost), ``train_acc``, ``test_acc`` (on the current
        goal), ``wiring`` (total ``sum |W| D``), ``density`` (fraction of possible synapses
        non-zero).
    final_goal : int
        Goal of the last epoch (with the stopping rule: of the best epoch);
        ``task.with_goal(final_goal)`` is the task to evaluate on.
    best_epoch : int
        Epoch whose weights ``net`` holds under the stopping rule (the best validation check);
        -1 without it.
    epochs_run : int
        Epochs trained (``config.epochs`` unless the stopping rule ended training earlier).
    stopped : bool
        True when the stopping rule ended training; False when the cap did (or without the rule).
    validation : dict of lists
        The stopping rule's checks: ``epoch``, ``val_loss`` (empty without the rule).

    Examples
    --------
    >>> from mesoscale.ebm import make_network, retina_task
    >>> t = retina_task("and", seed=0)
    >>> cfg = LearningConfig(epochs=1, n_free=10, n_nudged=5, n_eval=10)
    >>> res = learn(make_network(8, 6, 2, seed=0), t, cfg, seed=0)
    >>> type(res).__name__, res.config.rule, res.history["epoch"], res.final_goal
    ('LearningResult', 'eqprop', [0, 1], 0)
    >>> res.best_epoch, res.epochs_run, res.stopped
    (-1, 1, False)
    """

    net: EnergyNetwork
    config: LearningConfig
    history: dict = field(default_factory=dict)
    final_goal: int = 0
    best_epoch: int = -1
    epochs_run: int = 0
    stopped: bool = False
    validation: dict = field(default_factory=dict)

    @property
    def best_val_loss(self) -> float:
        """Validation loss at :attr:`best_epoch` (NaN without the stopping rule)."""
        if not self.validation.get("epoch"):
            return np.nan
        return self.validation["val_loss"][self.validation["epoch"].index(self.best_epoch)]

    @property
    def cap_reached(self) -> bool:
        """Whether training ran to the epoch cap (always with fixed epochs)."""
        return not self.stopped


def accuracy(net: EnergyNetwork, x, y, output_groups, *, n_steps: int = 60, lesion=None) -> float:
    """Fraction of samples whose every one-hot output group has the right arg-max.

    Examples
    --------
    >>> from mesoscale.ebm import make_network, retina_task
    >>> t = retina_task("and", seed=0)
    >>> net = make_network(8, 12, 2, seed=0)
    >>> 0.0 <= accuracy(net, t.x_test, t.y_test, t.output_groups) <= 1.0
    True
    """
    out = net.predict(x, n_steps=n_steps, lesion=lesion).numpy()
    y = np.asarray(y)
    ok = np.ones(len(y), dtype=bool)
    for a, b in output_groups:
        ok &= out[:, a:b].argmax(1) == y[:, a:b].argmax(1)
    return float(ok.mean())


def output_cost(net: EnergyNetwork, x, y, n_steps: int) -> float:
    """Mean output cost of ``net`` on ``(x, y)`` after a free relaxation of ``n_steps`` (no gradients).

    Examples
    --------
    >>> from mesoscale.ebm import make_network, retina_task
    >>> t = retina_task("and", seed=0)
    >>> output_cost(make_network(8, 12, 2, seed=0), t.x_train, t.y_train, 30) > 0
    True
    """
    with torch.no_grad():
        s = net.relax(torch.as_tensor(x, dtype=net.dtype), n_steps=n_steps)
        return float(net.cost(s, torch.as_tensor(y, dtype=net.dtype)).mean())


def network_measures(net: EnergyNetwork, task: EBMTask, *, n_steps: int = 60) -> dict:
    """Training and test accuracy, total wiring ``sum |W| D`` and density of ``net`` on ``task``.

    The quantities :func:`learn` records at every evaluation (``density``: the fraction of the
    mask's possible synapses that are non-zero).

    Examples
    --------
    >>> from mesoscale.ebm import make_network, retina_task
    >>> m = network_measures(make_network(8, 12, 2, seed=0), retina_task("and", seed=0))
    >>> sorted(m), m["density"] > 0
    (['density', 'test_acc', 'train_acc', 'wiring'], True)
    """
    return {
        "train_acc": accuracy(net, task.x_train, task.y_train, task.output_groups, n_steps=n_steps),
        "test_acc": accuracy(net, task.x_test, task.y_test, task.output_groups, n_steps=n_steps),
        "wiring": wiring_cost(net.W.detach().cpu().numpy(), net.distance.cpu().numpy()),
        "density": float((net.W != 0).sum()) / max(int(net.mask.sum()), 1),
    }


def _check_task(net: EnergyNetwork, task: EBMTask):
    if not isinstance(task, EBMTask):
        raise TypeError(f"'task' must be an EBMTask; got {type(task).__name__}")
    if task.n_in != net.n_in or task.n_out != net.n_out:
        raise ValueError(
            f"'task' has {task.n_in} inputs and {task.n_out} outputs but the network has "
            f"{net.n_in} and {net.n_out}"
        )


def learn(net: EnergyNetwork, task: EBMTask, config: LearningConfig | None = None, *, seed=None,
        progress: bool = False, **overrides) -> LearningResult:
    """Train a copy of ``net`` on ``task`` with one learning rule.

    Parameters
    ----------
    net : EnergyNetwork
        Initial network (left unchanged).
    task : EBMTask
    config : LearningConfig, optional
        Hyper-parameters; keyword ``overrides`` replace single fields
        (e.g. ``rule="chl"``).
    seed : int, SeedSequence or Generator, optional
        Order of the mini-batches. Same seed and network -> identical result.
    progress : bool
        Show a tqdm bar over epochs.

    Returns
    -------
    LearningResult

    Examples
    --------
    >>> from mesoscale.ebm import make_network, retina_task, learn
    >>> t = retina_task("or", seed=0)
    >>> res = learn(make_network(8, 12, 2, seed=0), t, rule="chl", epochs=2, seed=0)
    >>> len(res.history["test_acc"])
    3

    With a validation split, ``patience`` stops training (``lr=0``: no check ever improves on
    the initial network, so training stops after exactly ``patience`` checks):

    >>> tv = retina_task("or", val_fraction=0.125, seed=0)
    >>> res = learn(make_network(8, 12, 2, seed=0), tv, rule="chl", epochs=50, lr=0.0, patience=3, eval_every=2,
    ...             seed=0)
    >>> res.best_epoch, res.epochs_run, res.stopped, res.validation["epoch"]
    (0, 6, True, [0, 2, 4, 6])
    """
    from tqdm.auto import tqdm

    config = LearningConfig(**{**(config or LearningConfig()).__dict__, **overrides}).validate()
    _check_task(net, task)
    if config.patience is not None and task.n_val == 0:
        raise ValueError(f"'patience'={config.patience} needs a validation split, but task {task.name!r} has none "
                         "(build it with val_fraction > 0)")
    rng = as_rng(seed)
    net = net.copy()
    x = torch.as_tensor(task.x_train, dtype=net.dtype)
    y = torch.as_tensor(task.y_train, dtype=net.dtype)
    n = len(x)
    vel_W = torch.zeros_like(net.W)
    vel_b = torch.zeros_like(net.b)
    hist = {k: [] for k in ("epoch", "goal", "loss", "train_acc", "test_acc", "wiring", "density")}
    n_goals = len(task.goals) if task.goals else 1

    def goal_of(epoch):
        return ((max(epoch, 1) - 1) // task.switch_every) % n_goals if n_goals > 1 else 0

    def record(epoch, loss):
        hist["epoch"].append(epoch)
        hist["goal"].append(goal_of(epoch))
        hist["loss"].append(loss)
        for k, v in network_measures(net, task.with_goal(goal_of(epoch)), n_steps=config.n_eval).items():
            hist[k].append(v)

    record(0, output_cost(net, x, y, config.n_eval))
    kw = {
        "eqprop": dict(beta=config.beta, n_free=config.n_free, n_nudged=config.n_nudged),
        "chl": dict(n_free=config.n_free, n_clamped=config.n_nudged),
        "bptt": dict(n_steps=config.n_free),
    }[config.rule]
    mask = net.mask.to(net.dtype)
    stop = _Stopping(net, task, config, n_goals) if config.patience is not None else None
    epoch = 0
    for epoch in tqdm(range(1, config.epochs + 1), disable=not progress, desc=f"learn {config.rule}", leave=False):
        if n_goals > 1:
            y = torch.as_tensor(task.with_goal(goal_of(epoch)).y_train, dtype=net.dtype)
        order = rng.permutation(n)
        losses = []
        for start in range(0, n, config.batch_size):
            idx = torch.as_tensor(order[start : start + config.batch_size])
            g = estimate_gradient(net, x[idx], y[idx], config.rule, **kw)
            losses.append(g.loss)
            with torch.no_grad():
                norm = float(torch.sqrt(0.5 * (g.dW**2).sum() + (g.db**2).sum()))
                factor = min(1.0, config.clip_norm / norm) if norm > 0 else 1.0
                vel_W.mul_(config.momentum).add_(g.dW, alpha=factor)
                vel_b.mul_(config.momentum).add_(g.db, alpha=factor)
                net.W.sub_(config.lr * vel_W * mask)
                net.b.sub_(config.lr * vel_b)
                net.b[net.inputs] = 0.0
                apply_wiring_cost(net, config.wiring_strength, config.lr, kind=config.wiring_kind)
        ends = stop is not None and stop.check(epoch, goal_of(epoch))
        if epoch % config.eval_every == 0 or epoch == config.epochs or ends:
            record(epoch, float(np.mean(losses)))
        if ends:
            break
    if stop is None:
        return LearningResult(net=net, config=config, history=hist, final_goal=goal_of(config.epochs),
                              epochs_run=config.epochs)
    stop.restore()
    return LearningResult(net=net, config=config, history=hist, final_goal=goal_of(stop.best_epoch),
                          best_epoch=stop.best_epoch, epochs_run=epoch, stopped=stop.stopped,
                          validation=stop.log)


class _Stopping:
    """The validation-based stopping rule of :func:`learn` (see the module docstring)."""

    def __init__(self, net: EnergyNetwork, task: EBMTask, config: LearningConfig, n_goals: int):
        self.net, self.config, self.n_goals = net, config, n_goals
        self.x = torch.as_tensor(task.x_val, dtype=net.dtype)
        self.y = [torch.as_tensor(task.with_goal(g).y_val, dtype=net.dtype) for g in range(n_goals)]
        self.switch_every = task.switch_every
        self.period = n_goals * task.switch_every if n_goals > 1 else config.eval_every
        self.blocks: list[float] = []
        self.log = {"epoch": [], "val_loss": []}
        self.best = np.inf
        self.best_epoch = 0
        self.bad = 0
        self.stopped = False
        self._update(0, float(np.mean([self.loss(g) for g in range(n_goals)])))

    def loss(self, goal: int) -> float:
        return output_cost(self.net, self.x, self.y[goal], self.config.n_eval)

    def _update(self, epoch: int, value: float) -> None:
        self.log["epoch"].append(epoch)
        self.log["val_loss"].append(value)
        if value < self.best - self.config.min_delta:
            self.best, self.best_epoch, self.bad = value, epoch, 0
            self.W, self.b = self.net.W.detach().clone(), self.net.b.detach().clone()
        else:
            self.bad += 1

    def check(self, epoch: int, goal: int) -> bool:
        """Record the check of ``epoch`` if it is one; True when training must stop now."""
        if self.n_goals > 1 and epoch % self.switch_every == 0:
            self.blocks.append(self.loss(goal))  # the goal of this block, at its end
        if epoch % self.period:
            return False
        value = float(np.mean(self.blocks)) if self.n_goals > 1 else self.loss(0)
        self.blocks = []
        self._update(epoch, value)
        self.stopped = self.bad >= self.config.patience
        return self.stopped

    def restore(self) -> None:
        with torch.no_grad():
            self.net.W.copy_(self.W)
            self.net.b.copy_(self.b)
