"""One training loop: Adam + BPTT, per-member gradient clipping and early stopping, checkpoints, exact resume.

The model is always an ensemble of K members (K = 1 for one network). All members see the same
minibatches; each member's loss only reaches its own weights, gradients are clipped per member, Adam runs
per member (with its own learning rate if ``lr`` is a sequence) and each member stops early on its own.
So an ensemble equals K separate runs with the same seeds, only faster.

Examples
--------
>>> from mesoscale.training import SpatialRNN, VaryingGoalTask, train
>>> task = VaryingGoalTask(switch_every=0)
>>> net = SpatialRNN(task.n_input, 16, task.n_output, n_members=2, seed=[0, 1])
>>> res = train(net, task, steps=5, batch_size=8, seed=0, progress=False)
>>> sorted(res.log.columns)[:3], len(res.log)
(['loss', 'member', 'reg_loss'], 10)
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .._validation import check_float, check_int, seed_sequence
from .models import member_generators
from .regularizers import Regularizer
from .tasks import ArrayTask, Batch

__all__ = ["select_device", "member_losses", "decision_correct", "evaluate_batch", "train", "TrainResult"]


def select_device(device="auto") -> torch.device:
    """``"auto"`` -> CUDA if available, else CPU; otherwise ``torch.device(device)``.

    Examples
    --------
    >>> select_device("cpu")
    device(type='cpu')
    >>> select_device("auto").type in ("cpu", "cuda")
    True
    """
    if device == "auto" or device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def member_losses(logits: torch.Tensor, batch: Batch, heads) -> torch.Tensor:
    """Weighted cross-entropy per member, summed over heads: shape (K,).

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, VaryingGoalTask
    >>> task = VaryingGoalTask(switch_every=0)
    >>> net = SpatialRNN(4, 8, 2, n_members=2, seed=[0, 1])
    >>> batch = task.sample(16, rng=0)
    >>> logits, _ = net(batch.x)
    >>> loss = member_losses(logits, batch, task.heads)
    >>> loss.shape, bool((loss > 0).all())
    (torch.Size([2]), True)
    """
    K = logits.shape[0]
    bi, ti = torch.nonzero(batch.w > 0, as_tuple=True)  # only steps that carry loss
    w = batch.w[bi, ti]
    sel = logits[:, bi, ti]  # (K, P, O)
    total = logits.new_zeros(K, dtype=torch.float32)
    off = 0
    for j, h in enumerate(heads):
        lg = sel[..., off : off + h].float().reshape(-1, h)
        y = batch.y[bi, ti, j].unsqueeze(0).expand(K, -1).reshape(-1)
        ce = F.cross_entropy(lg, y, reduction="none").reshape(K, -1)
        total = total + (ce * w).sum(dim=1) / batch.w.sum()
        off += h
    return total


def decision_correct(logits: torch.Tensor, batch: Batch, heads) -> torch.Tensor:
    """Whether all heads are right at each example's decision step (its last step with loss weight > 0): (K, B).

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, VaryingGoalTask
    >>> task = VaryingGoalTask(switch_every=0)
    >>> batch = task.sample(16, rng=0)
    >>> logits, _ = SpatialRNN(4, 8, 2, n_members=2, seed=[0, 1])(batch.x)
    >>> ok = decision_correct(logits, batch, task.heads)
    >>> ok.shape, ok.dtype
    (torch.Size([2, 16]), torch.bool)
    """
    K, B, T, _ = logits.shape
    t_dec = ((batch.w > 0) * torch.arange(T, device=batch.w.device)).argmax(dim=1)  # (B,)
    b_idx = torch.arange(B, device=logits.device)
    final = logits[:, b_idx, t_dec]  # (K, B, O)
    ok = torch.ones(K, B, dtype=torch.bool, device=logits.device)
    off = 0
    for j, h in enumerate(heads):
        ok &= final[..., off : off + h].argmax(-1) == batch.y[b_idx, t_dec, j].unsqueeze(0)
        off += h
    return ok


@torch.no_grad()
def evaluate_batch(model, batch: Batch, heads, **forward_kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Loss and accuracy per member on one batch (no gradients): two arrays of shape (K,).

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, VaryingGoalTask
    >>> task = VaryingGoalTask(switch_every=0)
    >>> net = SpatialRNN(4, 8, 2, n_members=2, seed=[0, 1])
    >>> loss, acc = evaluate_batch(net, task.sample(16, rng=0), task.heads)
    >>> loss.shape, acc.shape, bool(((acc >= 0) & (acc <= 1)).all())
    ((2,), (2,), True)
    """
    dev = next(model.parameters()).device
    batch = batch.to(dev)
    logits, _ = model(batch.x, **forward_kwargs)
    loss = member_losses(logits, batch, heads)
    acc = decision_correct(logits, batch, heads).float().mean(dim=1)
    return loss.cpu().numpy(), acc.cpu().numpy()


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    model : the trained ensemble (best-validation weights per member if early stopping was on)
    log : pandas.DataFrame
        Tidy table, one row per (step, member): ``step, member, loss, task_loss, reg_loss, val_loss, val_acc``
        (validation columns are NaN between evaluations).
    best_step : ndarray (K,)
        Step of each member's best validation loss (-1 without validation).
    stopped : ndarray of bool (K,)
        Members that stopped early.
    steps_done : int
    device : str

    Examples
    --------
    >>> from mesoscale.training import SpatialRNN, VaryingGoalTask
    >>> task = VaryingGoalTask(switch_every=0)
    >>> net = SpatialRNN(4, 8, 2, n_members=2, seed=[0, 1])
    >>> res = train(net, task, steps=4, batch_size=8, eval_every=2, seed=0, progress=False)
    >>> type(res).__name__, res.steps_done, res.device, res.log.shape, res.stopped.tolist()
    ('TrainResult', 4, 'cpu', (8, 7), [False, False])
    """

    model: torch.nn.Module
    log: pd.DataFrame
    best_step: np.ndarray
    stopped: np.ndarray
    steps_done: int
    device: str


def _save_atomic(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(
    model,
    task,
    *,
    steps: int = 1000,
    batch_size: int = 64,
    lr=1e-3,
    regularizer: Regularizer | None = None,
    clip: float | None = 1.0,
    betas=(0.9, 0.999),
    eps: float = 1e-8,
    val_task=None,
    val_size: int = 256,
    eval_every: int = 50,
    patience: int | None = None,
    min_delta: float = 0.0,
    rec_noise: float = 0.0,
    input_noise: float = 0.0,
    device="auto",
    bf16="auto",
    checkpoint=None,
    checkpoint_every: int = 100,
    seed=None,
    progress: bool = True,
) -> TrainResult:
    """Train an ensemble with Adam and backpropagation through time.

    Parameters
    ----------
    model : SpatialRNN or SpatialMLP
        Trained in place (moved to ``device``).
    task : Task
        Source of minibatches (``task.sample(batch_size, rng, step)``).
    steps : int
        Total number of optimisation steps (a resumed run continues up to ``steps``).
    lr : float or sequence of K floats
        Adam learning rate (per member if a sequence: hyper-parameter ensembles).
    regularizer : Regularizer, optional
        Wiring cost added to each member's loss.
    clip : float or None
        Clip each member's gradient norm to ``clip``.
    val_task : Task, optional
        Validation data (an :class:`ArrayTask` is used whole; other tasks give ``val_size`` examples drawn
        with a fixed seed). Default: ``task`` itself with a fixed seed.
    eval_every : int
        Validate every ``eval_every`` steps (and log ``val_loss`` / ``val_acc``).
    patience : int, optional
        Stop a member after ``patience`` evaluations without improvement of ``min_delta``; at the end each
        member gets back its best-validation weights. ``None``: no early stopping.
    rec_noise, input_noise : float
        Training noise (standard deviations); each member draws from its own seeded stream.
    device : "auto", "cpu", "cuda", torch.device
    bf16 : "auto", bool
        bfloat16 autocast of the forward pass; ``"auto"`` = on for CUDA, never on CPU.
    checkpoint : path, optional
        File for checkpoints (written atomically every ``checkpoint_every`` steps and at the end). If it
        exists, training resumes from it exactly: weights, Adam state, data and noise streams, early-stopping
        state and the log.
    seed : None, int, SeedSequence or Generator
        Seeds the data stream, validation set and noise (model weights are seeded by the model).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> from mesoscale.training import Regularizer, SpatialRNN, VaryingGoalTask
    >>> task = VaryingGoalTask(switch_every=0)
    >>> net = SpatialRNN(task.n_input, 8, task.n_output, n_members=2, seed=[0, 1])
    >>> res = train(net, task, steps=6, batch_size=8, lr=[1e-3, 1e-2], regularizer=Regularizer("l1", 1e-3),
    ...             eval_every=3, device="cpu", seed=0, progress=False)
    >>> res.steps_done, int(res.log.val_acc.notna().sum()), bool((res.log.reg_loss > 0).all())
    (6, 4, True)
    """
    steps = check_int(steps, "steps", minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    eval_every = check_int(eval_every, "eval_every", minimum=1)
    checkpoint_every = check_int(checkpoint_every, "checkpoint_every", minimum=1)
    if patience is not None:
        patience = check_int(patience, "patience", minimum=1)
    min_delta = check_float(min_delta, "min_delta", minimum=0.0)
    if clip is not None:
        clip = check_float(clip, "clip", minimum=0.0)
    rec_noise = check_float(rec_noise, "rec_noise", minimum=0.0)
    input_noise = check_float(input_noise, "input_noise", minimum=0.0)
    if not hasattr(task, "sample") or not hasattr(task, "heads"):
        raise TypeError(f"'task' must be a Task with sample() and heads; got {type(task).__name__}")
    if task.n_input != model.n_input or task.n_output != model.n_output:
        raise ValueError(f"'task' has {task.n_input} inputs / {task.n_output} outputs but the model has "
                         f"{model.n_input} / {model.n_output}")
    dev = select_device(device)
    if bf16 not in ("auto", True, False):
        raise ValueError(f"'bf16' must be 'auto', True or False; got {bf16!r}")
    use_bf16 = dev.type == "cuda" and bf16 in ("auto", True)
    model.to(dev)
    K = model.n_members
    heads = task.heads
    reg = regularizer if regularizer is not None else Regularizer()
    if not isinstance(reg, Regularizer):
        raise TypeError(f"'regularizer' must be a Regularizer; got {type(reg).__name__}")
    lr_arr = np.atleast_1d(np.asarray(lr, dtype=float))
    if lr_arr.ndim != 1 or len(lr_arr) not in (1, K) or np.any(lr_arr <= 0) or not np.all(np.isfinite(lr_arr)):
        raise ValueError(f"'lr' must be a positive float or {K} positive floats; got {lr!r}")
    lr_t = torch.as_tensor(np.broadcast_to(lr_arr, (K,)).copy(), dtype=torch.float32, device=dev)
    b1, b2 = (float(b) for b in betas)

    ss = seed_sequence(seed)
    ss_data, ss_val = ss.spawn(2)
    data_rng = np.random.default_rng(ss_data)
    gens = member_generators(model.seeds, ss, dev)

    params = [p for p in model.parameters()]
    m_state = [torch.zeros_like(p) for p in params]
    v_state = [torch.zeros_like(p) for p in params]
    t_adam = 0
    step0 = 0
    log_train: list[np.ndarray] = []  # rows (step, loss, task, reg) per member
    log_val: list[np.ndarray] = []
    best_val = np.full(K, np.inf)
    best_step = np.full(K, -1)
    bad = np.zeros(K, dtype=int)
    stopped = np.zeros(K, dtype=bool)
    best_params = [p.detach().clone() for p in params]

    ckpt = Path(checkpoint) if checkpoint is not None else None
    if ckpt is not None and ckpt.exists():
        st = torch.load(ckpt, map_location=dev, weights_only=False)
        if st["n_members"] != K or st["seeds"] != list(model.seeds):
            raise ValueError(f"checkpoint {ckpt} belongs to another model (members/seeds differ)")
        model.load_state_dict(st["model"])
        for dst, src in zip(m_state + v_state + best_params, st["m"] + st["v"] + st["best"]):
            dst.copy_(src)
        t_adam, step0 = st["t"], st["step"]
        data_rng.bit_generator.state = st["data_rng"]
        for g, s in zip(gens, st["gens"]):
            g.set_state(s.cpu())
        log_train, log_val = st["log_train"], st["log_val"]
        best_val, best_step, bad, stopped = st["best_val"], st["best_step"], st["bad"], st["stopped"]

    def validate(step):
        rng = np.random.default_rng(ss_val)
        if val_task is None:
            vb = task.sample(val_size, rng, step=step)
        elif isinstance(val_task, ArrayTask):
            vb = val_task.full()
        else:
            vb = val_task.sample(val_size, rng, step=step)
        model.eval()
        loss, acc = evaluate_batch(model, vb, heads)
        model.train()
        return loss, acc

    def save(step):
        if ckpt is None:
            return
        _save_atomic({
            "n_members": K, "seeds": list(model.seeds), "model": model.state_dict(), "m": m_state, "v": v_state,
            "best": best_params, "t": t_adam, "step": step, "data_rng": data_rng.bit_generator.state,
            "gens": [g.get_state() for g in gens], "log_train": log_train, "log_val": log_val,
            "best_val": best_val, "best_step": best_step, "bad": bad, "stopped": stopped,
        }, ckpt)

    from tqdm.auto import tqdm

    bar = tqdm(total=steps, initial=min(step0, steps), disable=not progress, desc="train", leave=False)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext()
    noisy = bool(rec_noise or input_noise)
    step = step0
    t0 = time.perf_counter()
    while step < steps and not stopped.all():
        batch = task.sample(batch_size, data_rng, step=step).to(dev)
        with amp:
            logits, _ = model(batch.x, rec_noise=rec_noise, input_noise=input_noise,
                              generators=gens if noisy else None)
        task_loss = member_losses(logits, batch, heads)
        reg_loss = reg(model)
        for p in params:
            p.grad = None
        (task_loss + reg_loss).sum().backward()
        with torch.no_grad():
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
            if clip is not None:
                norm = torch.sqrt(sum(g.pow(2).reshape(K, -1).sum(1) for g in grads))
                scale = torch.clamp(clip / (norm + 1e-6), max=1.0)
            else:
                scale = torch.ones(K, device=dev)
            t_adam += 1
            active = torch.as_tensor(~stopped, dtype=torch.float32, device=dev)
            step_size = lr_t * active / (1 - b1**t_adam)
            for p, g, m, v in zip(params, grads, m_state, v_state):
                shape = (K,) + (1,) * (p.ndim - 1)
                g = g * scale.view(shape)
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (v / (1 - b2**t_adam)).sqrt_().add_(eps)
                p.sub_(step_size.view(shape) * m / denom)
            model.enforce_masks()
        tl = task_loss.detach().cpu().numpy()
        rl = reg_loss.detach().cpu().numpy()
        log_train.append(np.stack([np.full(K, step), tl + rl, tl, rl]))
        step += 1
        reg.after_step(model, step)  # e.g. BIMT's neuron swaps (they move units, so they are in the checkpoint)
        if step % eval_every == 0 or step == steps:
            vl, va = validate(step)
            log_val.append(np.stack([np.full(K, step - 1), vl, va]))
            better = (vl < best_val - min_delta) & ~stopped
            best_val = np.where(better, vl, best_val)
            best_step = np.where(better, step - 1, best_step)
            bad = np.where(better, 0, bad + (~stopped))
            with torch.no_grad():
                idx = torch.as_tensor(np.flatnonzero(better), device=dev)
                for bp, p in zip(best_params, params):
                    bp[idx] = p[idx]
            if patience is not None:
                stopped = stopped | (bad >= patience)
        if step % checkpoint_every == 0:
            save(step)
        bar.update(1)
        if progress:
            bar.set_postfix(loss=f"{float(tl.mean()):.3f}")
    bar.close()
    save(step)
    if patience is not None and np.all(best_step >= 0):
        with torch.no_grad():
            for bp, p in zip(best_params, params):
                p.copy_(bp)

    rows = []
    if log_train:
        tr = np.stack(log_train)  # (S, 4, K)
        S = tr.shape[0]
        df = pd.DataFrame({
            "step": tr[:, 0].reshape(-1).astype(int), "member": np.tile(np.arange(K), S),
            "loss": tr[:, 1].reshape(-1), "task_loss": tr[:, 2].reshape(-1), "reg_loss": tr[:, 3].reshape(-1),
        })
        if log_val:
            va = np.stack(log_val)
            dv = pd.DataFrame({"step": va[:, 0].reshape(-1).astype(int), "member": np.tile(np.arange(K), len(va)),
                               "val_loss": va[:, 1].reshape(-1), "val_acc": va[:, 2].reshape(-1)})
            df = df.merge(dv, on=["step", "member"], how="left")
        else:
            df["val_loss"] = np.nan
            df["val_acc"] = np.nan
        rows = df
    else:
        rows = pd.DataFrame(columns=["step", "member", "loss", "task_loss", "reg_loss", "val_loss", "val_acc"])
    rows.attrs["seconds"] = time.perf_counter() - t0
    return TrainResult(model, rows, np.asarray(best_step), np.asarray(stopped), step, str(dev))
