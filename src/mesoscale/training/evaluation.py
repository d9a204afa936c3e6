"""Evaluation of trained ensembles: accuracy, zero-shot and few-shot adaptation.

All functions take a trained model (an ensemble of K members, see :mod:`mesoscale.training.models`) and
return tidy :class:`pandas.DataFrame` tables with a ``member`` column, so that results of several seeds
are always reported together. Every random choice (evaluation trials, lesion orders, noise) is seeded.

* accuracy: :func:`accuracy`, :func:`per_task_accuracy` (zero-shot = on held-out tasks);
* adaptation: :func:`few_shot_curve` (k = 1 ... 64 examples of a new task);
* what the task allows: :func:`reference_accuracy` (a feed-forward classifier that sees a trial's whole
  input sequence at once, the yardstick of "trained to convergence" when noise caps every head);
* robustness (lesions, noise) is in :mod:`mesoscale.training.robustness`, structure and functional
  specialisation in :mod:`mesoscale.training.specialisation`.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch

from .._validation import as_rng, check_choice, check_float, check_int, seed_sequence
from .loop import evaluate_batch, train
from .tasks import ArrayTask, Batch, Task, YangTasks

__all__ = ["eval_batch", "batch_accuracy", "accuracy", "per_task_accuracy", "few_shot_curve", "reference_accuracy"]


def eval_batch(task: Task, n: int = 512, seed=None, **sample_kwargs) -> Batch:
    """A fixed evaluation batch: all of an :class:`ArrayTask`, else ``n`` examples drawn with ``seed``.

    Examples
    --------
    >>> from mesoscale.training import VaryingGoalTask
    >>> b = eval_batch(VaryingGoalTask(switch_every=0, n_steps=3), n=16, seed=0)
    >>> b.x.shape, b.y.shape, b.w.shape
    (torch.Size([16, 3, 4]), torch.Size([16, 3, 1]), torch.Size([16, 3]))
    """
    if isinstance(task, ArrayTask):
        return task.full()
    n = check_int(n, "n", minimum=1)
    return task.sample(n, as_rng(seed), **sample_kwargs)


@torch.no_grad()
def batch_accuracy(model, batch: Batch, heads, **forward_kwargs) -> np.ndarray:
    """Accuracy per member on a fixed batch (model in eval mode, no gradients), shape (K,).

    ``heads`` are the task's output heads (``task.heads``); ``forward_kwargs`` go to the model
    (e.g. ``unit_mask`` or ``w_rec`` for lesions, ``generators`` for noise).

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, VaryingGoalTask
    >>> t = VaryingGoalTask(switch_every=0)
    >>> b = eval_batch(t, n=32, seed=0)
    >>> batch_accuracy(SpatialRNN(4, 8, 2, n_members=2, seed=0), b, t.heads).shape
    (2,)
    """
    model.eval()
    return evaluate_batch(model, batch, heads, **forward_kwargs)[1]


def accuracy(model, task: Task, n: int = 512, seed=None, batch: Batch | None = None, **forward_kwargs) -> np.ndarray:
    """Accuracy per member (all heads right at the decision step), shape (K,).

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, VaryingGoalTask
    >>> t = VaryingGoalTask(switch_every=0)
    >>> accuracy(SpatialRNN(4, 8, 2, n_members=3, seed=0), t, n=64).shape
    (3,)
    """
    batch = eval_batch(task, n, seed) if batch is None else batch
    return batch_accuracy(model, batch, task.heads, **forward_kwargs)


def per_task_accuracy(model, tasks: YangTasks, names=None, n_per_task: int = 128, seed=None,
                      split: str | None = None, **forward_kwargs) -> pd.DataFrame:
    """Accuracy per (task, member) on the Yang task family; ``names`` default to ``tasks.tasks``.

    Zero-shot accuracy is this function applied to held-out task names (the rule inputs of held-out
    combinations were never seen in training); ``split`` labels the rows (e.g. ``"held-out"``).

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, YangTasks
    >>> tasks = YangTasks(tasks=("go", "anti"))
    >>> net = SpatialRNN(tasks.n_input, 8, tasks.n_output, n_members=2, seed=[0, 1])
    >>> df = per_task_accuracy(net, tasks, n_per_task=8, seed=0, split="train")
    >>> df.shape, df.task.unique().tolist()
    ((4, 4), ['go', 'anti'])
    """
    if not isinstance(tasks, YangTasks):
        raise TypeError(f"'tasks' must be a YangTasks; got {type(tasks).__name__}")
    names = tasks.tasks if names is None else tuple(names)
    ss = seed_sequence(seed)
    rows = []
    for j, name in enumerate(names):
        b = tasks.sample(n_per_task, as_rng(seed_sequence(ss, j)), tasks=[name])
        acc = batch_accuracy(model, b, tasks.heads, **forward_kwargs)
        rows += [{"task": name, "member": k, "accuracy": float(a), "split": split} for k, a in enumerate(acc)]
    return pd.DataFrame(rows)


class _FixedTask(Task):
    """A task that always returns the same batch (few-shot training on k examples)."""

    def __init__(self, batch: Batch, heads, n_input):
        self.batch, self.heads, self.n_input = batch, tuple(heads), n_input

    def sample(self, batch_size, rng=None, step=0):
        return self.batch


def _take(batch: Batch, idx) -> Batch:
    idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
    return Batch(batch.x[idx], batch.y[idx], batch.w[idx], None if batch.task is None else batch.task[idx])


def few_shot_curve(model, task: Task, ks=(1, 2, 4, 8, 16, 32, 64), *, n_test: int = 512, steps: int = 100,
                   lr: float = 1e-2, adapt: str = "readout", test_task: Task | None = None,
                   sample_kwargs=None, seed=None, progress: bool = False) -> pd.DataFrame:
    """Accuracy on a new task after adapting to k examples, for each k in ``ks``.

    A copy of the model (a fresh readout if the new task has a different number of outputs) is trained for
    ``steps`` Adam steps on the same k examples for every member; only the readout (``adapt="readout"``)
    or all weights (``adapt="all"``) change. Accuracy is measured on ``n_test`` fresh examples (from
    ``test_task`` if given). Row ``k = 0`` is the accuracy before adaptation (zero-shot).

    Returns
    -------
    DataFrame with columns ``k, member, accuracy``.

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, VaryingGoalTask
    >>> net = SpatialRNN(4, 8, 2, n_members=2, seed=[0, 1])
    >>> df = few_shot_curve(net, VaryingGoalTask(switch_every=0), ks=(2, 4), steps=3, n_test=32, seed=0)
    >>> df.k.tolist(), list(df.columns)
    ([0, 0, 2, 2, 4, 4], ['k', 'member', 'accuracy'])
    """
    check_choice(adapt, "adapt", ("readout", "all"))
    ks = [check_int(k, "ks", minimum=1) for k in ks]
    steps = check_int(steps, "steps", minimum=1)
    lr = check_float(lr, "lr", minimum=0.0)
    sample_kwargs = dict(sample_kwargs or {})
    ss = seed_sequence(seed)
    ss_train, ss_test, ss_fit = (seed_sequence(ss, i) for i in range(3))
    test_src = task if test_task is None else test_task
    test = eval_batch(test_src, n_test, ss_test, **({} if isinstance(test_src, ArrayTask) else sample_kwargs))
    base = model if model.n_output == task.n_output else model.with_new_readout(task.n_output)
    rows = [{"k": 0, "member": m, "accuracy": float(a)} for m, a in enumerate(batch_accuracy(base, test, task.heads))]
    if isinstance(task, ArrayTask):
        pool_rng = as_rng(ss_train)
        order = pool_rng.permutation(len(task))
        pool = task.full()
    else:
        pool = task.sample(max(ks), as_rng(ss_train), **sample_kwargs)
        order = np.arange(max(ks))
    from tqdm.auto import tqdm

    for k in tqdm(ks, disable=not progress, desc="few-shot", leave=False):
        net = copy.deepcopy(base)
        readout = set(net._readout)
        for name, p in net.named_parameters():
            p.requires_grad_(adapt == "all" or name in readout)
        fixed = _FixedTask(_take(pool, order[:k]), task.heads, task.n_input)
        train(net, fixed, steps=steps, batch_size=k, lr=lr, eval_every=steps + 1, seed=ss_fit, progress=False,
              device=next(model.parameters()).device)
        rows += [{"k": k, "member": m, "accuracy": float(a)} for m, a in enumerate(batch_accuracy(net, test, task.heads))]
    return pd.DataFrame(rows)


class _WholeSequence(Task):
    """``task`` with each trial's inputs at every step flattened into one step, and its decision-step targets."""

    def __init__(self, task: Task, sample_kwargs=None):
        self.task, self.kwargs, self.heads = task, dict(sample_kwargs or {}), tuple(task.heads)
        self.n_input = task.sample(2, as_rng(0), **self.kwargs).x[0].numel()

    def sample(self, batch_size: int, rng=None, step: int = 0) -> Batch:
        b = self.task.sample(batch_size, rng, step=step, **self.kwargs)
        B = len(b.x)
        last = b.w.argmax(1)  # the decision step of each trial
        return Batch(b.x.reshape(B, 1, -1), b.y[torch.arange(B), last][:, None], torch.ones(B, 1), b.task)


def reference_accuracy(task: Task, *, steps: int = 3000, batch_size: int = 256, hidden: int = 256, lr: float = 1e-3,
                       n_test: int = 4000, test_kwargs=None, seed=None) -> pd.Series:
    """Accuracy a feed-forward network reaches on each head when it sees the whole input sequence at once.

    A noisy task caps every network's accuracy below 1 (e.g. the spike stream of
    :class:`~mesoscale.training.PairedDigits` shows each pixel once, as one Bernoulli spike). This
    function measures the cap an unconstrained reader reaches: a :class:`~mesoscale.training.SpatialMLP`
    with one dense hidden layer of ``hidden`` units whose input is the trial's inputs at every time step,
    flattened, so it has all the information a recurrent network integrates over time. Like the networks,
    it is trained by :func:`~mesoscale.training.train` on fresh trials (``steps`` Adam steps of
    ``batch_size``); it is tested on ``n_test`` trials drawn with ``test_kwargs`` (e.g.
    ``{"split": "test"}``). A recurrent network near these numbers is trained to convergence; one far
    below them is not.

    Returns a Series: ``acc_<k>`` per head (``k`` = 0, 1, ...) and ``accuracy``, the fraction of test trials
    with every head right.

    Examples
    --------
    >>> from mesoscale.training import PairedDigits
    >>> task = PairedDigits(("image", "spikes"), rules=("first", "second"), seed=0)
    >>> ref = reference_accuracy(task, steps=200, batch_size=64, hidden=32, n_test=200, seed=0)
    >>> ref.index.tolist()
    ['acc_0', 'acc_1', 'accuracy']
    >>> bool(ref.acc_0 > 0.5)
    True
    """
    from .models import SpatialMLP
    from .scenarios import head_accuracy

    if not isinstance(task, Task):
        raise TypeError(f"'task' must be a Task; got {type(task).__name__}")
    steps = check_int(steps, "steps", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=2)
    hidden = check_int(hidden, "hidden", minimum=1)
    lr = check_float(lr, "lr", minimum=0.0)
    if lr == 0:
        raise ValueError("'lr' must be > 0; got 0.0")
    n_test = check_int(n_test, "n_test", minimum=1)
    ss = seed_sequence(seed)
    flat = _WholeSequence(task)
    net = SpatialMLP(flat.n_input, sum(flat.heads), hidden=(hidden,), seed=seed_sequence(ss, 0))
    train(net, flat, steps=steps, batch_size=batch_size, lr=lr, eval_every=steps, device="cpu",
          seed=seed_sequence(ss, 1), progress=False)
    test = _WholeSequence(task, test_kwargs).sample(n_test, as_rng(seed_sequence(ss, 2)))
    out = {f"acc_{h}": float(a) for h, a in enumerate(head_accuracy(net, test, flat.heads)[0])}
    out["accuracy"] = float(batch_accuracy(net, test, flat.heads)[0])
    return pd.Series(out)
