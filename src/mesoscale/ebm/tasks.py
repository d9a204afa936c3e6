"""Small tasks with a left/right input structure for energy-based networks.

:func:`retina_task` is the left/right "retina" of Kashtan & Alon (2005): eight pixels, a
2x2 block on the left and one on the right; some patterns of each block count as an
*object*. The target is a function of the two answers "is there a left object?" and "is
there a right object?":

``"separable"``  two one-hot answers, one per side (a modular task: each half of the
                 output depends on one half of the input);
``"and"``        one one-hot answer, ``L AND R`` (the halves must be combined);
``"or"``         one one-hot answer, ``L OR R``;
``"mvg"``        modularly varying goals: training alternates between ``L AND R`` and
                 ``L OR R`` every ``switch_every`` epochs -- the setting in which Kashtan &
                 Alon found modularity to evolve.

:func:`load_task` also gives the modular two-digit task of :mod:`mesoscale.training.tasks`
in the form the EBM trainer expects (inputs scaled to ``[0, 1]``, one-hot targets).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from .._validation import as_rng, check_choice, check_float, check_int

__all__ = ["EBMTask", "retina_task", "retina_objects", "load_task", "TASKS"]

#: Task names understood by :func:`load_task`.
TASKS = ("retina_separable", "retina_and", "retina_or", "retina_mvg", "two_digit_both", "two_digit_sum_parity")


@dataclass
class EBMTask:
    """A supervised task with inputs in ``[0, 1]`` and one-hot target groups.

    Attributes
    ----------
    name : str
    x_train, y_train, x_test, y_test : ndarray
        Inputs ``(n, n_in)`` in ``[0, 1]`` and targets ``(n, n_out)`` made of one-hot groups.
    output_groups : list of (start, stop)
        Column ranges of ``y`` that are one-hot each; a sample is correct when the
        arg-max of every group is right.
    input_side : ndarray of int, shape (n_in,)
        0 for inputs on the left half, 1 for the right half, -1 for neither (e.g. a
        context bit); used by the specialisation measure.
    goals : list of (y_train, y_test) or (y_train, y_test, y_val), optional
        Alternative targets for the same inputs (modularly varying goals): training
        switches to the next goal every ``switch_every`` epochs
        (:func:`mesoscale.ebm.learn`); ``y_train``/``y_test`` (and ``y_val``) are goal 0.
    switch_every : int
        Epochs per goal when ``goals`` is set.
    x_val, y_val : ndarray, optional
        A validation split, disjoint from the training and the test patterns (``None``: none).
        :func:`mesoscale.ebm.learn` stops on its loss when ``patience`` is set; the accuracy the
        chapter reports stays on ``x_test``.

    Examples
    --------
    >>> t = EBMTask("xor", np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]),
    ...             np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), output_groups=[(0, 2)], input_side=np.array([0, 1]))
    >>> t.n_in, t.n_out, t.with_goal(0) is t
    (2, 2, True)
    >>> mvg = retina_task("mvg", seed=0)
    >>> len(mvg.goals), bool((mvg.with_goal(1).y_train != mvg.y_train).any())
    (2, True)
    >>> v = retina_task("and", val_fraction=0.125, seed=0)
    >>> len(v.x_train), len(v.x_val), len(v.x_test), v.n_val
    (160, 32, 64, 32)
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    output_groups: list = field(default_factory=list)
    input_side: np.ndarray | None = None
    goals: list | None = None
    switch_every: int = 10
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    def with_goal(self, k: int) -> EBMTask:
        """The same task with goal ``k`` as its targets (``self`` if it has no goals)."""
        if not self.goals:
            return self
        k = check_int(k, "k", minimum=0, maximum=len(self.goals) - 1)
        ytr, yte, *yval = self.goals[k]
        return EBMTask(self.name, self.x_train, ytr, self.x_test, yte, self.output_groups, self.input_side,
                       self.goals, self.switch_every, self.x_val, yval[0] if yval else None)

    @property
    def n_val(self) -> int:
        """Number of validation patterns (0 without a validation split)."""
        return 0 if self.x_val is None else int(len(self.x_val))

    @property
    def n_in(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.y_train.shape[1])


def _block_objects(side: str) -> set[tuple[int, int, int, int]]:
    # a 2x2 block, pixels ordered (top-left, top-right, bottom-left, bottom-right)
    objs = set()
    for p in itertools.product((0, 1), repeat=4):
        tl, tr, bl, br = p
        n_on = sum(p)
        vertical = p in ((1, 0, 1, 0), (0, 1, 0, 1))
        bar = (tl and tr and not bl and not br) if side == "left" else (bl and br and not tl and not tr)
        if n_on >= 3 or vertical or bar:
            objs.add(p)
    return objs


def retina_objects(side: str = "left") -> np.ndarray:
    """The 8 of 16 patterns of a 2x2 block that count as an object on ``side``.

    Objects: three or four pixels on, a vertical bar, or a horizontal bar (top on the
    left, bottom on the right) -- so the two sides differ, as in Kashtan & Alon (2005).

    Examples
    --------
    >>> left, right = retina_objects("left"), retina_objects("right")
    >>> left.shape, right.shape
    ((8, 4), (8, 4))
    >>> [1.0, 1.0, 0.0, 0.0] in left.tolist(), [1.0, 1.0, 0.0, 0.0] in right.tolist()  # top bar: left only
    (True, False)
    """
    check_choice(side, "side", ["left", "right"])
    return np.array(sorted(_block_objects(side)), dtype=float)


def _n_validation(val_fraction: float, n_of: int, n_train: int) -> int:
    """Validation patterns: ``round(val_fraction * n_of)``, taken from the ``n_train`` training ones."""
    n_val = int(round(val_fraction * n_of))
    if val_fraction > 0 and not 1 <= n_val < n_train:
        raise ValueError(f"'val_fraction' must leave at least one validation and one training pattern of the "
                         f"{n_train} training patterns; got {val_fraction}")
    return n_val


def retina_task(
    goal: str = "separable", *, train_fraction: float = 0.75, switch_every: int = 10, val_fraction: float = 0.0,
    seed=None
) -> EBMTask:
    """The left/right retina task (all 256 patterns, split into train, test and optionally validation).

    Parameters
    ----------
    goal : {"separable", "and", "or", "mvg"}
        What the outputs report (see the module docstring).
    switch_every : int
        Epochs per goal for ``"mvg"`` (which starts with AND).
    train_fraction : float
        Fraction of the 256 patterns used for training; the rest tests generalisation.
    val_fraction : float
        Fraction of the 256 patterns moved from the training part to a validation split (for early
        stopping). The test patterns are the same as with ``val_fraction=0`` (and so is every draw
        of ``seed``): validation takes the last training patterns of the same permutation.
    seed : int, SeedSequence or Generator, optional
        Controls the split.

    Examples
    --------
    >>> t = retina_task("and", seed=0)
    >>> t.x_train.shape, t.y_train.shape, t.output_groups
    ((192, 8), (192, 2), [(0, 2)])
    """
    check_choice(goal, "goal", ["separable", "and", "or", "mvg"])
    switch_every = check_int(switch_every, "switch_every", minimum=1)
    val_fraction = check_float(val_fraction, "val_fraction", minimum=0.0, maximum=1.0)
    if goal == "mvg":
        a = retina_task("and", train_fraction=train_fraction, val_fraction=val_fraction, seed=seed)
        left, right = _block_objects("left"), _block_objects("right")

        def or_targets(X):
            t_ = np.array([(tuple(r[:4]) in left) or (tuple(r[4:]) in right) for r in X.astype(int)], dtype=float)
            return np.column_stack([1 - t_, t_])

        goals = [(a.y_train, a.y_test), (or_targets(a.x_train), or_targets(a.x_test))]
        if a.x_val is not None:
            goals = [(*goals[0], a.y_val), (*goals[1], or_targets(a.x_val))]
        return EBMTask("retina_mvg", a.x_train, a.y_train, a.x_test, a.y_test, a.output_groups, a.input_side,
                       goals, switch_every, a.x_val, a.y_val)
    train_fraction = check_float(train_fraction, "train_fraction", minimum=0.0, maximum=1.0)
    rng = as_rng(seed)
    left, right = _block_objects("left"), _block_objects("right")
    X, Y = [], []
    for lp in itertools.product((0, 1), repeat=4):
        for rp in itertools.product((0, 1), repeat=4):
            L, R = lp in left, rp in right
            X.append(lp + rp)
            if goal == "separable":
                Y.append([1 - L, L, 1 - R, R])
            else:
                t = (L and R) if goal == "and" else (L or R)
                Y.append([1 - t, t])
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    n_train = int(round(train_fraction * len(X)))
    if n_train < 1 or n_train >= len(X):
        raise ValueError(f"'train_fraction' must leave at least one train and one test pattern; got {train_fraction}")
    n_val = _n_validation(val_fraction, len(X), n_train)
    perm = rng.permutation(len(X))
    tr, va, te = perm[: n_train - n_val], perm[n_train - n_val : n_train], perm[n_train:]
    groups = [(0, 2), (2, 4)] if goal == "separable" else [(0, 2)]
    side = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    val = (X[va], Y[va]) if n_val else (None, None)
    return EBMTask(f"retina_{goal}", X[tr], Y[tr], X[te], Y[te], groups, side, None, 10, *val)


def _two_digit(n_train: int, n_test: int, target: str, seed, val_fraction: float = 0.0) -> EBMTask:
    from ..training.tasks import two_digit_task

    d = two_digit_task(n_train=n_train, n_test=n_test, target=target, seed=seed)
    xtr = np.clip(np.asarray(d.x_train, dtype=float), 0.0, 1.0)
    xte = np.clip(np.asarray(d.x_test, dtype=float), 0.0, 1.0)
    heads = tuple(int(h) for h in d.heads)
    offsets = np.concatenate([[0], np.cumsum(heads)])
    groups = [(int(offsets[k]), int(offsets[k + 1])) for k in range(len(heads))]

    def onehot(yint):
        yint = np.asarray(yint).reshape(len(yint), -1)
        Y = np.zeros((len(yint), int(offsets[-1])))
        for k, (a, _) in enumerate(groups):
            Y[np.arange(len(yint)), a + yint[:, k]] = 1.0
        return Y

    side = np.full(xtr.shape[1], -1)
    for k, sl in enumerate(d.modality_slices[:2]):
        side[sl] = k
    ytr = onehot(d.y_train)
    n_val = _n_validation(val_fraction, n_train, n_train)
    cut = n_train - n_val
    val = (xtr[cut:], ytr[cut:]) if n_val else (None, None)
    return EBMTask(f"two_digit_{target}", xtr[:cut], ytr[:cut], xte, onehot(d.y_test), groups, side, None, 10, *val)


def load_task(name: str, *, seed=None, train_fraction: float = 0.75, switch_every: int = 10, n_train: int = 1000,
              n_test: int = 500, val_fraction: float = 0.0) -> EBMTask:
    """Load a task by name (one of :data:`TASKS`).

    ``retina_*`` tasks use ``train_fraction`` (and ``switch_every`` for ``retina_mvg``;
    :func:`retina_task`); ``two_digit_both``
    (two 10-way heads, one per digit: modular) and ``two_digit_sum_parity`` (parity of the
    sum: both digits needed) use ``n_train``/``n_test`` and
    :func:`mesoscale.training.tasks.two_digit_task` (inputs 128 pixels in ``[0, 1]``).
    ``val_fraction`` moves that fraction of the patterns (retina: of all 256; two-digit: of the
    ``n_train`` pairs, which are then validation pairs drawn from the training images) into a
    validation split, disjoint from the training and the test patterns.

    Examples
    --------
    >>> load_task("retina_or", seed=0).n_out
    2
    """
    check_choice(name, "name", list(TASKS))
    if name.startswith("retina_"):
        return retina_task(name.split("_", 1)[1], train_fraction=train_fraction, switch_every=switch_every,
                           val_fraction=val_fraction, seed=seed)
    n_train = check_int(n_train, "n_train", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=1)
    val_fraction = check_float(val_fraction, "val_fraction", minimum=0.0, maximum=1.0)
    return _two_digit(n_train, n_test, name[len("two_digit_"):], seed, val_fraction)
