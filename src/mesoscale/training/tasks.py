"""Tasks for artificial networks: two-digit modular task, Yang et al. (2019) task family, varying goals.

Every task used by the training loop follows one small protocol (:class:`Task`):

``n_input``
    size of the input vector at each time step;
``heads``
    tuple of class counts, one per output head (a network's output layer has ``sum(heads)`` units);
``sample(batch_size, rng, step=0) -> Batch``
    a minibatch drawn with the numpy ``Generator`` ``rng`` (``step`` lets goals vary during training).

A :class:`Batch` holds ``x`` (B, T, n_input) float32, ``y`` (B, T, H) int64 class targets (one column
per head) and ``w`` (B, T) float32 loss weights (0 = no loss at that step, e.g. padding), all as torch
tensors. Static tasks (digits, Boolean goals) present the same input for ``n_steps`` steps and put the
loss on the last step only.

Because every batch depends only on the state of ``rng``, a checkpoint that stores the generator's state
resumes on exactly the same data stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .._validation import as_rng, check_choice, check_float, check_int

__all__ = [
    "Batch",
    "Task",
    "TwoDigitData",
    "two_digit_task",
    "ArrayTask",
    "YangTasks",
    "YANG19_TASKS",
    "compositional_split",
    "VaryingGoalTask",
]


@dataclass
class Batch:
    """A minibatch: inputs ``x`` (B, T, I), targets ``y`` (B, T, H), loss weights ``w`` (B, T).

    Examples
    --------
    >>> b = Batch(torch.zeros(2, 3, 4), torch.zeros(2, 3, 1, dtype=torch.long), torch.ones(2, 3))
    >>> b.batch_size, b.to("cpu").x.shape, b.task is None
    (2, torch.Size([2, 3, 4]), True)
    """

    x: torch.Tensor
    y: torch.Tensor
    w: torch.Tensor
    task: torch.Tensor | None = None  #: (B,) index of the sub-task of each example, where meaningful

    def to(self, device) -> Batch:
        task = None if self.task is None else self.task.to(device)
        return Batch(self.x.to(device), self.y.to(device), self.w.to(device), task)

    @property
    def batch_size(self) -> int:
        return int(self.x.shape[0])


class Task:
    """Base class of tasks (see module docstring for the protocol).

    Examples
    --------
    >>> class Constant(Task):
    ...     n_input, heads = 2, (3,)
    ...     def sample(self, batch_size, rng=None, step=0):
    ...         y = torch.zeros(batch_size, 1, 1, dtype=torch.long)  # always class 0
    ...         return Batch(torch.ones(batch_size, 1, 2), y, torch.ones(batch_size, 1))
    >>> t = Constant()
    >>> t.n_output, t.sample(5).x.shape
    (3, torch.Size([5, 1, 2]))
    """

    n_input: int
    heads: tuple[int, ...]

    @property
    def n_output(self) -> int:
        """Number of output units a network needs (sum of the heads' class counts)."""
        return int(sum(self.heads))

    def sample(self, batch_size: int, rng=None, step: int = 0) -> Batch:  # pragma: no cover
        raise NotImplementedError


def _static_batch(x: np.ndarray, y: np.ndarray, n_steps: int, task=None) -> Batch:
    """Present static inputs ``x`` (B, I) for ``n_steps`` steps; loss on the last step only."""
    B = x.shape[0]
    xt = torch.as_tensor(np.repeat(x[:, None, :], n_steps, axis=1), dtype=torch.float32)
    y = np.asarray(y).reshape(B, -1)
    yt = torch.as_tensor(np.repeat(y[:, None, :], n_steps, axis=1), dtype=torch.long)
    w = torch.zeros(B, n_steps, dtype=torch.float32)
    w[:, -1] = 1.0
    tt = None if task is None else torch.as_tensor(np.asarray(task), dtype=torch.long)
    return Batch(xt, yt, w, tt)


class ArrayTask(Task):
    """A static classification task from arrays ``x`` (n, I) and integer targets ``y`` (n, H).

    ``sample`` draws a minibatch with replacement from the arrays; :meth:`full` returns all of them
    (in order) as one batch, e.g. for evaluation.

    Examples
    --------
    >>> t = ArrayTask(np.eye(3, dtype=np.float32), np.arange(3), heads=(3,), n_steps=2)
    >>> t.sample(4, rng=0).x.shape
    torch.Size([4, 2, 3])
    """

    def __init__(self, x, y, heads, n_steps: int = 1, groups=None):
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"'x' must be 2-D (n, n_input); got shape {x.shape}")
        y = np.asarray(y)
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"'y' must hold integer class labels; got dtype {y.dtype}")
        y = y.reshape(len(y), -1)
        if len(y) != len(x):
            raise ValueError(f"'y' must have {len(x)} rows like 'x'; got {len(y)}")
        self.heads = tuple(int(h) for h in heads)
        if y.shape[1] != len(self.heads):
            raise ValueError(f"'heads' {self.heads} must have one entry per column of 'y' ({y.shape[1]})")
        for j, h in enumerate(self.heads):
            if y[:, j].min() < 0 or y[:, j].max() >= h:
                raise ValueError(f"'y'[:, {j}] must lie in [0, {h}); got range [{y[:, j].min()}, {y[:, j].max()}]")
        self.x, self.y = x, y.astype(np.int64)
        self.n_input = x.shape[1]
        self.n_steps = check_int(n_steps, "n_steps", minimum=1)
        self.groups = None if groups is None else np.asarray(groups, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.x)

    def sample(self, batch_size: int, rng=None, step: int = 0) -> Batch:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        idx = as_rng(rng).integers(0, len(self.x), batch_size)
        return _static_batch(self.x[idx], self.y[idx], self.n_steps,
                             None if self.groups is None else self.groups[idx])

    def full(self) -> Batch:
        """All examples, in order, as one batch."""
        return _static_batch(self.x, self.y, self.n_steps, self.groups)

    def subset(self, idx) -> ArrayTask:
        """A new task restricted to the rows ``idx``."""
        idx = np.asarray(idx)
        return ArrayTask(self.x[idx], self.y[idx], self.heads, self.n_steps,
                         None if self.groups is None else self.groups[idx])


# ----------------------------------------------------------------------------------------------
# Two-digit modular task (Béna & Goodman style)
# ----------------------------------------------------------------------------------------------

_TWO_DIGIT_TARGETS = ("both", "select", "parity_select", "sum_parity")


@dataclass
class TwoDigitData:
    """Data of the two-digit task; arrays are numpy (float32 inputs, int64 targets).

    Attributes
    ----------
    x_train, x_test : ndarray (n, 128 [+1])
        Two 8x8 digits side by side, each scaled to [0, 1]: columns ``0:64`` are digit 1 ("modality" 1),
        ``64:128`` digit 2; for targets that need it, a last column holds the context bit.
    y_train, y_test : ndarray (n, H)
        Integer targets, one column per output head (see ``heads``).
    digits_train, digits_test : ndarray (n, 2)
        The two digits' classes (always provided, whatever the target).
    context_train, context_test : ndarray (n,)
        Context bit (0 = digit 1, 1 = digit 2) for the ``select`` targets; zeros otherwise.
    heads : tuple of int
        Classes per output head.
    target : str
        Which target rule produced ``y``.
    modality_slices : tuple of slice
        Input columns of each digit.

    Examples
    --------
    >>> d = two_digit_task(20, 10, target="sum_parity", seed=0)
    >>> type(d).__name__, d.heads, d.x_test.shape
    ('TwoDigitData', (2,), (10, 128))
    >>> test = d.task("test", n_steps=2)
    >>> len(test), test.full().x.shape
    (10, torch.Size([10, 2, 128]))
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    digits_train: np.ndarray
    digits_test: np.ndarray
    context_train: np.ndarray
    context_test: np.ndarray
    heads: tuple[int, ...]
    target: str
    modality_slices: tuple = (slice(0, 64), slice(64, 128))
    meta: dict = field(default_factory=dict)

    def task(self, split: str = "train", n_steps: int = 3) -> ArrayTask:
        """The train or test split as an :class:`ArrayTask` presenting inputs for ``n_steps`` steps."""
        check_choice(split, "split", ("train", "test"))
        if split == "train":
            return ArrayTask(self.x_train, self.y_train, self.heads, n_steps)
        return ArrayTask(self.x_test, self.y_test, self.heads, n_steps)


def two_digit_task(
    n_train: int = 4000,
    n_test: int = 1000,
    *,
    target: str = "both",
    noise: float = 0.0,
    test_fraction: float = 0.3,
    seed=None,
) -> TwoDigitData:
    """Two-digit modular task built from :func:`sklearn.datasets.load_digits` (offline, 8x8 digits).

    Each example shows two digits side by side, one per input half ("modality"), as in the
    modular tasks of Béna & Goodman (2025). The 1,797 images are first split into
    disjoint train and test pools (``test_fraction``), so no test image is ever seen in training;
    pairs are then drawn at random within each pool.

    Parameters
    ----------
    n_train, n_test : int
        Number of pairs in each split.
    target : {"both", "select", "parity_select", "sum_parity"}
        ``"both"``: two heads of 10 classes, the class of each digit (the default; each head depends on one
        modality only, so a modular solution exists). ``"select"``: one 10-class head, the class of the digit
        chosen by a context bit appended to the input. ``"parity_select"``: one 2-class head, the parity of the
        chosen digit. ``"sum_parity"``: one 2-class head, parity of the sum (needs both modalities).
    noise : float
        Standard deviation of Gaussian pixel noise added to the (0-1 scaled) images.
    test_fraction : float
        Fraction of the images reserved for the test pool.
    seed : None, int, SeedSequence or Generator
        Same seed, same data.

    Returns
    -------
    TwoDigitData

    Examples
    --------
    >>> d = two_digit_task(100, 50, seed=0)
    >>> d.x_train.shape, d.y_train.shape, d.heads
    ((100, 128), (100, 2), (10, 10))
    >>> bool((d.y_train == d.digits_train).all())
    True
    """
    from sklearn.datasets import load_digits

    n_train = check_int(n_train, "n_train", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=1)
    check_choice(target, "target", _TWO_DIGIT_TARGETS)
    noise = check_float(noise, "noise", minimum=0.0)
    test_fraction = check_float(test_fraction, "test_fraction", minimum=0.01, maximum=0.99)
    rng = as_rng(seed)

    digits = load_digits()
    images = (digits.data / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    order = rng.permutation(len(images))
    n_pool_test = int(round(test_fraction * len(images)))
    pools = {"test": order[:n_pool_test], "train": order[n_pool_test:]}

    def make(pool, n):
        i1 = rng.choice(pool, n)
        i2 = rng.choice(pool, n)
        x = np.concatenate([images[i1], images[i2]], axis=1)
        if noise > 0:
            x = x + noise * rng.standard_normal(x.shape).astype(np.float32)
        d = np.stack([labels[i1], labels[i2]], axis=1)
        ctx = np.zeros(n, dtype=np.int64)
        if target == "both":
            y = d.copy()
        elif target == "sum_parity":
            y = (d.sum(axis=1) % 2)[:, None]
        else:
            ctx = rng.integers(0, 2, n)
            chosen = d[np.arange(n), ctx]
            y = (chosen if target == "select" else chosen % 2)[:, None]
            x = np.concatenate([x, ctx[:, None].astype(np.float32)], axis=1)
        return x.astype(np.float32), y.astype(np.int64), d, ctx

    xtr, ytr, dtr, ctr = make(pools["train"], n_train)
    xte, yte, dte, cte = make(pools["test"], n_test)
    heads = {"both": (10, 10), "select": (10,), "parity_select": (2,), "sum_parity": (2,)}[target]
    return TwoDigitData(xtr, ytr, xte, yte, dtr, dte, ctr, cte, heads, target,
                        meta={"n_images": len(images), "noise": noise, "test_fraction": test_fraction})


# ----------------------------------------------------------------------------------------------
# Yang et al. (2019) task family through neurogym, with compositional rule inputs
# ----------------------------------------------------------------------------------------------

#: The 20 tasks of Yang et al. 2019 (neurogym ``yang19`` collection names, without prefix/suffix).
YANG19_TASKS = (
    "go", "rtgo", "dlygo", "anti", "rtanti", "dlyanti", "dm1", "dm2", "ctxdm1", "ctxdm2", "multidm",
    "dlydm1", "dlydm2", "ctxdlydm1", "ctxdlydm2", "multidlydm", "dms", "dnms", "dmc", "dnmc",
)


def _factor(name: str) -> tuple[str, int]:
    """Split a Yang task name into (base, modality) with modality 0 = none, 1 or 2."""
    if name[-1] in "12" and name[:-1] in {"dm", "ctxdm", "dlydm", "ctxdlydm"}:
        return name[:-1], int(name[-1])
    return name, 0


class YangTasks(Task):
    """The Yang et al. 2019 task family from neurogym (Molano-Mazón et al. 2022).

    Inputs are neurogym's 33-d observations (fixation + two modalities x 16 directions) followed by a
    rule input. With ``rule="onehot"`` the rule is one unit per task (20 units, as in Yang 2019). With
    ``rule="compositional"`` it is a one-hot over the task *bases* (e.g. ``dm``, ``dlydm``, ``go``) plus two
    modality units, so ``dlydm2`` = base ``dlydm`` + modality 2: a network trained on ``dm1, dm2, dlydm1``
    can be asked about ``dlydm2`` zero-shot (see :func:`compositional_split`).

    Targets are one head of 17 classes (0 = fixate, 1-16 = response direction); loss weights are 1 during
    fixation and 5 during the response period, 0 on padding (Yang's weighting, without the grace period).

    Parameters
    ----------
    tasks : sequence of str
        Task names from :data:`YANG19_TASKS`; these define the rule inputs (the rule vocabulary is always built
        from all 20 tasks, so networks trained on different subsets share one input layout).
    rule : {"onehot", "compositional"}
    dt : int
        Time step in ms (neurogym ``dt``).

    Examples
    --------
    >>> y = YangTasks(tasks=("dm1", "dlydm2"), rule="compositional")
    >>> y.n_input, y.heads, y.rule_vector("dlydm2").nonzero()[0].tolist()
    (51, (17,), [9, 17])
    >>> b = y.sample(4, rng=0)
    >>> b.x.shape[0], b.x.shape[2], b.y.shape[2]
    (4, 51, 1)
    """

    def __init__(self, tasks=YANG19_TASKS, rule: str = "onehot", dt: int = 100):
        tasks = tuple(tasks)
        if not tasks:
            raise ValueError("'tasks' must name at least one task")
        for t in tasks:
            if t not in YANG19_TASKS:
                raise ValueError(f"'tasks' contains unknown task {t!r}; choose from {list(YANG19_TASKS)}")
        self.rule = check_choice(rule, "rule", ("onehot", "compositional"))
        self.dt = check_int(dt, "dt", minimum=1)
        self.tasks = tasks
        self.bases = tuple(dict.fromkeys(_factor(t)[0] for t in YANG19_TASKS))
        self.n_rule = len(YANG19_TASKS) if rule == "onehot" else len(self.bases) + 2
        self.n_obs = 33
        self.n_input = self.n_obs + self.n_rule
        self.heads = (17,)
        self._envs: dict = {}

    def rule_vector(self, task: str) -> np.ndarray:
        """The rule input of ``task``."""
        v = np.zeros(self.n_rule, dtype=np.float32)
        if self.rule == "onehot":
            v[YANG19_TASKS.index(task)] = 1.0
        else:
            base, mod = _factor(task)
            v[self.bases.index(base)] = 1.0
            if mod:
                v[len(self.bases) + mod - 1] = 1.0
        return v

    def _env(self, task: str):
        if task not in self._envs:
            import warnings

            import neurogym as ngym

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._envs[task] = ngym.make(f"yang19.{task}-v0", dt=self.dt).unwrapped
        return self._envs[task]

    def trials(self, task: str, n: int, rng=None) -> list[tuple[np.ndarray, np.ndarray]]:
        """``n`` raw trials (obs (T, 33), gt (T,)) of ``task``; depends only on ``rng``."""
        env = self._env(task)
        env.rng = np.random.RandomState(int(as_rng(rng).integers(0, 2**31 - 1)))
        out = []
        for _ in range(n):
            env.new_trial()
            out.append((np.asarray(env.ob, dtype=np.float32).copy(), np.asarray(env.gt, dtype=np.int64).copy()))
        return out

    def sample(self, batch_size: int, rng=None, step: int = 0, tasks=None) -> Batch:
        """A batch mixing ``tasks`` (default: the task set's tasks) uniformly at random."""
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        rng = as_rng(rng)
        tasks = self.tasks if tasks is None else tuple(tasks)
        for t in tasks:
            if t not in YANG19_TASKS:
                raise ValueError(f"'tasks' contains unknown task {t!r}")
        which = rng.integers(0, len(tasks), batch_size)
        trials: list = [None] * batch_size
        for j, t in enumerate(tasks):
            idx = np.flatnonzero(which == j)
            if len(idx):
                for i, tr in zip(idx, self.trials(t, len(idx), rng)):
                    trials[i] = (t, *tr)
        T = max(len(tr[2]) for tr in trials)
        x = np.zeros((batch_size, T, self.n_input), dtype=np.float32)
        y = np.zeros((batch_size, T, 1), dtype=np.int64)
        w = np.zeros((batch_size, T), dtype=np.float32)
        task_idx = np.zeros(batch_size, dtype=np.int64)
        for i, (t, ob, gt) in enumerate(trials):
            L = len(gt)
            x[i, :L, : self.n_obs] = ob
            x[i, :L, self.n_obs:] = self.rule_vector(t)
            y[i, :L, 0] = gt
            w[i, :L] = np.where(gt > 0, 5.0, 1.0)
            task_idx[i] = YANG19_TASKS.index(t)
        return Batch(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(w), torch.from_numpy(task_idx))


def compositional_split(tasks=YANG19_TASKS, n_holdout: int = 2, seed=None) -> tuple[tuple, tuple]:
    """Hold out task combinations whose parts are both seen in training.

    A task ``baseM`` (e.g. ``dlydm2``) can be held out only if its base (``dlydm1`` is trained) and its
    modality (some other task with modality ``M`` is trained) remain in the training set, so that the
    compositional rule input of the held-out task is a new *combination* of familiar parts.

    Returns
    -------
    train, held_out : tuple of str

    Examples
    --------
    >>> train, held = compositional_split(n_holdout=2, seed=0)
    >>> len(held), set(held) & set(train)
    (2, set())
    """
    n_holdout = check_int(n_holdout, "n_holdout", minimum=1)
    tasks = tuple(tasks)
    rng = as_rng(seed)
    candidates = [t for t in tasks if _factor(t)[1]]
    rng.shuffle(candidates)
    held: list[str] = []
    for t in candidates:
        if len(held) == n_holdout:
            break
        base, mod = _factor(t)
        rest = [u for u in tasks if u not in held and u != t]
        if any(_factor(u)[0] == base for u in rest) and any(_factor(u)[1] == mod for u in rest):
            held.append(t)
    if len(held) < n_holdout:
        raise ValueError(f"'n_holdout'={n_holdout} is too many: only {len(held)} combinations can be held out")
    return tuple(t for t in tasks if t not in held), tuple(held)


# ----------------------------------------------------------------------------------------------
# Modularly varying goals (Kashtan & Alon 2005)
# ----------------------------------------------------------------------------------------------


class VaryingGoalTask(Task):
    """Boolean goals that switch during training (Kashtan & Alon 2005).

    Inputs are 4 bits ``(a, b, c, d)`` (two per "modality"; 0/1 coded as -1/+1, plus Gaussian ``noise``).
    The two goals share the sub-problems ``u = a XOR b`` and ``v = c XOR d``:
    ``G1 = u AND v`` and ``G2 = u OR v``. With ``switch_every = E`` the goal alternates G1, G2, G1, ...
    every E training steps (``switch_every=0`` keeps G1 fixed) — a modularly varying goal.

    Examples
    --------
    >>> t = VaryingGoalTask(switch_every=10)
    >>> t.goal(0), t.goal(10), t.goal(25)
    ('and', 'or', 'and')
    """

    def __init__(self, switch_every: int = 500, n_steps: int = 3, noise: float = 0.0, goals=("and", "or")):
        self.switch_every = check_int(switch_every, "switch_every", minimum=0)
        self.n_steps = check_int(n_steps, "n_steps", minimum=1)
        self.noise = check_float(noise, "noise", minimum=0.0)
        for g in goals:
            check_choice(g, "goals", ("and", "or", "xor"))
        self.goals = tuple(goals)
        self.n_input = 4
        self.heads = (2,)

    def goal(self, step: int) -> str:
        """The goal in force at training step ``step``."""
        if self.switch_every == 0:
            return self.goals[0]
        return self.goals[(int(step) // self.switch_every) % len(self.goals)]

    def sample(self, batch_size: int, rng=None, step: int = 0, goal: str | None = None) -> Batch:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        rng = as_rng(rng)
        bits = rng.integers(0, 2, (batch_size, 4))
        u, v = bits[:, 0] ^ bits[:, 1], bits[:, 2] ^ bits[:, 3]
        g = self.goal(step) if goal is None else check_choice(goal, "goal", ("and", "or", "xor"))
        y = {"and": u & v, "or": u | v, "xor": u ^ v}[g]
        x = (2.0 * bits - 1.0).astype(np.float32)
        if self.noise:
            x = x + self.noise * rng.standard_normal(x.shape).astype(np.float32)
        return _static_batch(x, y.astype(np.int64), self.n_steps)
