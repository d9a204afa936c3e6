"""Two digits, two input streams: the task of the specialisation chapters.

:class:`PairedDigits` shows two handwritten digits (scikit-learn's 8x8 ``load_digits``, which
ships offline; MNIST, used by Béna & Goodman 2025, cannot be downloaded here), one per input
stream, and asks for one or more *rules* over them. Each stream is a *modality*:

``"image"``
    the 64 pixels of a digit, shown at every time step (fresh noise at each step);
``"spikes"``
    a temporal spike code of another exemplar: 8 input channels (the image rows); at step ``t``
    channel ``r`` spikes with probability ``spike_rate * pixel(r, t mod 8)``, so the digit is
    scanned column by column and only a network that integrates over time can read it.

The two streams carry independent digits ``a`` and ``b`` (classes ``0 .. n_classes-1``). Rules
(one output head each):

``"first"``          the class of ``a`` (needs stream 1 only);
``"second"``         the class of ``b`` (needs stream 2 only);
``"parity_select"``  ``a`` if ``a + b`` is odd, else ``b`` (Béna & Goodman's "parity-digits": the
                     streams must be combined, but only one bit -- a parity -- has to cross);
``"sum_threshold"``  whether ``a + b >= n_classes`` (a combination that a linear readout of
                     separately coded digits can compute);
``"same"``           whether ``a == b``.

Noise is per stream (``noise=(r1, r2)``): ``"structured"`` noise (Béna & Goodman's) replaces a
fraction ``r`` of the signal, at every step, by the mean of five other digits of the batch each
masked to a fifth of its pixels; ``"gaussian"`` adds pixel noise of standard deviation ``r``. For
spikes the noise acts on the spike probabilities. At test time a stream can be ``missing``
(zeros) or ``corrupt`` (pure structured noise: other digits only), and pairs ``(a, b)`` held out
of training (``held_out``) test zero-shot combinations of familiar digits.

Examples
--------
>>> task = PairedDigits(("image", "spikes"), rules=("first", "parity_select"), seed=0)
>>> task.n_input, task.heads, task.n_steps
(72, (10, 10), 8)
>>> b = task.sample(4, rng=0)
>>> b.x.shape, b.y.shape, task.digits(b).shape
(torch.Size([4, 8, 72]), torch.Size([4, 8, 2]), (4, 2))
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._validation import as_rng, check_choice, check_float, check_int
from .tasks import Batch, Task

__all__ = ["MODALITIES", "RULES", "PairedDigits", "rule_targets"]

#: Input modalities of :class:`PairedDigits` and their input widths.
MODALITIES = {"image": 64, "spikes": 8}
#: Rules over the two digits and their numbers of classes (``None``: ``n_classes``).
RULES = {"first": None, "second": None, "parity_select": None, "sum_threshold": 2, "same": 2}


def rule_targets(rule: str, a, b, n_classes: int = 10) -> np.ndarray:
    """Target of ``rule`` for digits ``a`` (stream 1) and ``b`` (stream 2).

    Examples
    --------
    >>> rule_targets("parity_select", [1, 2, 3], [2, 4, 3]).tolist()  # 1+2 odd -> a; else b
    [1, 4, 3]
    >>> rule_targets("sum_threshold", [9, 2], [1, 3]).tolist(), rule_targets("same", [3, 3], [3, 4]).tolist()
    ([1, 0], [1, 0])
    """
    check_choice(rule, "rule", tuple(RULES))
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if rule == "first":
        return a
    if rule == "second":
        return b
    if rule == "parity_select":
        return np.where((a + b) % 2 == 1, a, b)
    if rule == "sum_threshold":
        return (a + b >= n_classes).astype(np.int64)
    return (a == b).astype(np.int64)


def _pair_array(pairs, n_classes: int, name: str) -> np.ndarray:
    P = np.asarray(pairs, dtype=np.int64).reshape(-1, 2) if len(pairs) else np.zeros((0, 2), dtype=np.int64)
    if P.size and (P.min() < 0 or P.max() >= n_classes):
        raise ValueError(f"'{name}' must hold pairs of classes in [0, {n_classes}); got {P.tolist()}")
    return P


class PairedDigits(Task):
    """Two independent digits in two input streams, with rules over them (see the module docstring).

    Parameters
    ----------
    modalities : pair of {"image", "spikes"}
        Code of stream 1 and stream 2.
    rules : sequence of str
        One output head per rule (:data:`RULES`).
    n_classes : int in [2, 10]
        Digits ``0 .. n_classes-1`` are used.
    n_steps : int, optional
        Time steps per trial (default 2 with images only, as in Béna & Goodman; 8 with spikes).
        The loss is on the last step.
    noise : float or pair of floats
        Noise per stream (ratio in [0, 1] for structured noise, standard deviation for Gaussian).
    noise_kind : {"structured", "gaussian"}
    spike_rate : float in (0, 1]
        Spike probability of a white pixel.
    exclude_near : bool
        Leave out pairs with ``a == b`` or ``a == b - 1`` (mod ``n_classes``), as Béna & Goodman's
        ``fix_asym`` does for the parity rule.
    held_out : int or sequence of (a, b)
        Pairs never shown in training (an int draws that many at random, keeping every digit in
        both streams among the trained pairs).
    test_fraction : float
        Fraction of each class's images reserved for the test split (no test image is ever trained on).
    seed : int
        Fixes the image split and the held-out pairs.

    Examples
    --------
    >>> t = PairedDigits(rules=("parity_select",), n_classes=4, exclude_near=True, seed=0)
    >>> t.heads, t.n_input, len(t.trained_pairs)
    ((4,), 128, 8)
    >>> t2 = PairedDigits(rules=("first", "second"), held_out=5, seed=0)
    >>> len(t2.held_out), len(t2.trained_pairs)
    (5, 95)
    """

    def __init__(self, modalities=("image", "image"), rules=("parity_select",), *, n_classes: int = 10,
                 n_steps: int | None = None, noise=0.2, noise_kind: str = "structured", spike_rate: float = 0.8,
                 exclude_near: bool = False, held_out=(), test_fraction: float = 0.3, seed: int = 0):
        from sklearn.datasets import load_digits

        modalities = tuple(modalities)
        if len(modalities) != 2:
            raise ValueError(f"'modalities' must name two streams; got {modalities!r}")
        for m in modalities:
            if m not in MODALITIES:
                raise ValueError(f"'modalities' contains unknown modality {m!r}; choose from {list(MODALITIES)}")
        self.modalities = modalities
        rules = (rules,) if isinstance(rules, str) else tuple(rules)
        if not rules:
            raise ValueError("'rules' must name at least one rule")
        for r in rules:
            check_choice(r, "rules", tuple(RULES))
        self.rules = rules
        self.n_classes = C = check_int(n_classes, "n_classes", minimum=2, maximum=10)
        default_steps = 8 if "spikes" in modalities else 2
        self.n_steps = check_int(default_steps if n_steps is None else n_steps, "n_steps", minimum=1)
        self.noise = self._noise_pair(noise)
        self.noise_kind = check_choice(noise_kind, "noise_kind", ("structured", "gaussian"))
        self.spike_rate = check_float(spike_rate, "spike_rate", minimum=1e-6, maximum=1.0)
        self.exclude_near = bool(exclude_near)
        test_fraction = check_float(test_fraction, "test_fraction", minimum=0.01, maximum=0.99)
        self.seed = check_int(seed, "seed", minimum=0)
        self.heads = tuple(C if RULES[r] is None else RULES[r] for r in rules)
        widths = [MODALITIES[m] for m in modalities]
        self.modality_slices = (slice(0, widths[0]), slice(widths[0], widths[0] + widths[1]))
        self.n_input = widths[0] + widths[1]

        d = load_digits()
        keep = d.target < C
        self._images = (d.data[keep] / 16.0).astype(np.float32)
        labels = d.target[keep].astype(np.int64)
        rng = as_rng(self.seed)
        self._pools = {"train": [], "test": []}
        for c in range(C):
            idx = rng.permutation(np.flatnonzero(labels == c))
            n_test = int(round(test_fraction * len(idx)))
            self._pools["test"].append(idx[:n_test])
            self._pools["train"].append(idx[n_test:])
        allowed = np.array([(a, b) for a in range(C) for b in range(C)
                            if not (exclude_near and (a == b or a == (b - 1) % C))], dtype=np.int64)
        if isinstance(held_out, numbers.Integral) and not isinstance(held_out, bool):
            held = self._draw_held_out(allowed, check_int(held_out, "held_out", minimum=0), rng)
        else:
            held = _pair_array(list(held_out), C, "held_out")
        codes = set((held[:, 0] * C + held[:, 1]).tolist())
        self.held_out = held
        self.trained_pairs = allowed[[a * C + b not in codes for a, b in allowed]]
        if len(self.trained_pairs) == 0:
            raise ValueError("'held_out' leaves no pair to train on")

    @property
    def config(self) -> dict:
        """The task's parameters (what identifies it in a store key).

        Examples
        --------
        >>> PairedDigits(seed=0).config["rules"]
        ['parity_select']
        """
        return {"modalities": list(self.modalities), "rules": list(self.rules), "n_classes": self.n_classes,
                "n_steps": self.n_steps, "noise": list(self.noise), "noise_kind": self.noise_kind,
                "spike_rate": self.spike_rate, "exclude_near": self.exclude_near,
                "held_out": self.held_out.tolist(), "seed": self.seed}

    def _noise_pair(self, noise) -> tuple[float, float]:
        pair = (noise, noise) if np.ndim(noise) == 0 else tuple(noise)
        if len(pair) != 2:
            raise ValueError(f"'noise' must be a float or one value per stream; got {noise!r}")
        return tuple(check_float(v, "noise", minimum=0.0) for v in pair)

    def _draw_held_out(self, allowed, k, rng):
        C = self.n_classes
        for _ in range(1000):
            pick = rng.choice(len(allowed), k, replace=False) if k else np.zeros(0, dtype=int)
            rest = np.delete(allowed, pick, axis=0)
            if len(np.unique(rest[:, 0])) == C and len(np.unique(rest[:, 1])) == C:
                return allowed[np.sort(pick)]
        raise ValueError(f"'held_out'={k} pairs cannot be left out with every digit still trained in both streams")

    @property
    def pair_codes(self) -> np.ndarray:
        """Codes ``a * n_classes + b`` of the trained pairs."""
        return self.trained_pairs[:, 0] * self.n_classes + self.trained_pairs[:, 1]

    def digits(self, batch: Batch) -> np.ndarray:
        """The two digits ``(a, b)`` of each example of a batch of this task, shape (B, 2)."""
        code = batch.task.cpu().numpy()
        return np.stack([code // self.n_classes, code % self.n_classes], axis=1)

    def _stream(self, kind: str, img: np.ndarray, ratio: float, rng, mode) -> np.ndarray:
        """Inputs of one stream over time, (B, T, width)."""
        B, T = len(img), self.n_steps
        if kind == "image":
            base = np.broadcast_to(img[:, None, :], (B, T, 64))
        else:
            cols = np.arange(T) % 8
            base = img.reshape(B, 8, 8)[:, :, cols].transpose(0, 2, 1)  # (B, T, 8 rows) of column t
        if mode == "missing":
            return np.zeros((B, T, base.shape[-1]), dtype=np.float32)
        if mode == "corrupt":
            ratio = 1.0
        x = base.astype(np.float32, copy=True)
        if ratio > 0 and self.noise_kind == "structured":
            if B < 2:
                raise ValueError("structured noise needs batches of at least 2 examples")
            ratio = min(ratio, 1.0)
            others = rng.integers(0, B, (T, B, 5))
            keep = rng.random((T, B, 5, x.shape[-1])) < 0.2
            for t in range(T):
                mix = (base[others[t], t] * keep[t]).mean(1)  # (B, width)
                x[:, t] = (1 - ratio) * x[:, t] + ratio * mix
        elif ratio > 0:
            x = x + ratio * rng.standard_normal(x.shape).astype(np.float32)
        if kind == "spikes":
            x = (rng.random(x.shape) < self.spike_rate * np.clip(x, 0.0, 1.0)).astype(np.float32)
        return x

    def sample(self, batch_size: int, rng=None, step: int = 0, *, split: str = "train", pairs: str = "trained",
               missing: int | None = None, corrupt: int | None = None, noise=None) -> Batch:
        """A batch: inputs (B, T, n_input), targets (B, T, n_rules), loss on the last step.

        Parameters
        ----------
        split : {"train", "test"}
            Image pool.
        pairs : {"trained", "held_out", "all"}
            Which digit pairs to draw from.
        missing, corrupt : {0, 1}, optional
            Stream (0 = first, 1 = second) to blank or to replace by noise.
        noise : float or pair, optional
            Noise per stream instead of the task's (out-of-distribution tests).
        """
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        check_choice(split, "split", ("train", "test"))
        check_choice(pairs, "pairs", ("trained", "held_out", "all"))
        for name, v in (("missing", missing), ("corrupt", corrupt)):
            if v is not None and v not in (0, 1):
                raise ValueError(f"'{name}' must be 0, 1 or None (a stream); got {v!r}")
        rng = as_rng(rng)
        C = self.n_classes
        pool_pairs = {"trained": self.trained_pairs, "held_out": self.held_out,
                      "all": np.concatenate([self.trained_pairs, self.held_out])}[pairs]
        if len(pool_pairs) == 0:
            raise ValueError(f"this task has no {pairs!r} pairs")
        ratios = self.noise if noise is None else self._noise_pair(noise)
        ab = pool_pairs[rng.integers(0, len(pool_pairs), batch_size)]
        pools = self._pools[split]
        sizes = np.array([len(p) for p in pools])
        start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        flat = np.concatenate(pools)
        idx = [flat[start[ab[:, s]] + (rng.random(batch_size) * sizes[ab[:, s]]).astype(np.int64)] for s in (0, 1)]
        noise_rngs = rng.spawn(2)  # one noise stream per input stream: blanking one leaves the other as it was
        streams = []
        for s in (0, 1):
            mode = "missing" if missing == s else "corrupt" if corrupt == s else None
            streams.append(self._stream(self.modalities[s], self._images[idx[s]], ratios[s], noise_rngs[s], mode))
        x = np.concatenate(streams, axis=2)
        y = np.stack([rule_targets(r, ab[:, 0], ab[:, 1], C) for r in self.rules], axis=1)
        T = self.n_steps
        yt = torch.as_tensor(np.repeat(y[:, None, :], T, axis=1))
        w = torch.zeros(batch_size, T)
        w[:, -1] = 1.0
        return Batch(torch.as_tensor(x), yt, w, torch.as_tensor(ab[:, 0] * C + ab[:, 1]))

    def view(self, **sample_kwargs) -> Task:
        """This task with fixed :meth:`sample` options (e.g. ``split="test"``), for validation or evaluation.

        Examples
        --------
        >>> t = PairedDigits(seed=0)
        >>> v = t.view(split="test", missing=1)
        >>> v.heads == t.heads, float(v.sample(3, rng=0).x[:, :, 64:].abs().sum())
        (True, 0.0)
        """
        return _View(self, sample_kwargs)

    def with_rules(self, rules) -> PairedDigits:
        """The same images, pairs and noise with other rules (e.g. a new rule for few-shot learning).

        Examples
        --------
        >>> PairedDigits(seed=0).with_rules(("sum_threshold",)).heads
        (2,)
        """
        import copy

        rules = (rules,) if isinstance(rules, str) else tuple(rules)
        for r in rules:
            check_choice(r, "rules", tuple(RULES))
        new = copy.copy(self)
        new.rules = rules
        new.heads = tuple(self.n_classes if RULES[r] is None else RULES[r] for r in rules)
        return new


class _View(Task):
    def __init__(self, task: PairedDigits, kwargs: dict):
        self.base, self.kwargs = task, dict(kwargs)
        self.n_input, self.heads = task.n_input, task.heads
        task.sample(2, 0, **self.kwargs)  # validates the options now

    def sample(self, batch_size: int, rng=None, step: int = 0) -> Batch:
        return self.base.sample(batch_size, rng, step, **self.kwargs)

    def digits(self, batch: Batch) -> np.ndarray:
        return self.base.digits(batch)
