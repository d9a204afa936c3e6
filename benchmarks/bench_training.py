"""Speed of ensemble training in mesoscale.training, measured in one run.

K = 16 leaky ReLU RNNs x 100 units (5 x 5 x 4 grid) trained on the two-digit task (both digits' classes,
inputs shown for ``--seq`` steps, batch 64) or on six Yang et al. decision tasks through neurogym
(``--task yang``), with Adam + BPTT + clipping + a wiring-cost regulariser:

1. anchor: 16 sequential single-network runs (``n_members=1``), one after the other;
2. the same 16 networks as one batched ensemble (``n_members=16``, batched matrix products).

Throughput = network-updates per second (members x steps / wall time). The table reports the ratio to the
anchor (goal: >= 4x on CPU), and the largest weight difference between ensemble member k and sequential
run k (they must agree to float tolerance). When CUDA is available the script also times the ensemble on
the GPU in float32 and with bfloat16 autocast, as ratios to the CPU ensemble.

Absolute times on a shared machine are noisy; the ratios are the result.

On one CPU thread (the default; small matrices gain little from more threads, and on a shared machine
extra OpenMP threads mostly spin) the ensemble's gain comes from amortising per-operation overhead and the
shared minibatch: it is largest on the sequence tasks (many small steps) and smaller on the static task,
whose input projection (128 pixels x 10 steps) is compute-bound.

Usage: ``python benchmarks/bench_training.py [--task both|two_digit|yang] [--members 16] [--units 100]
[--steps 60] [--batch 64] [--yang-batch 32] [--seq 10] [--threads 1] [--regularizer l1|...]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mesoscale.training import Regularizer, SpatialRNN, YangTasks, train, two_digit_task


def run(task, K, n, steps, batch, reg, device, bf16, seeds):
    net = SpatialRNN(task.n_input, n, task.n_output, n_members=K, seed=seeds)
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    res = train(net, task, steps=steps, batch_size=batch, lr=1e-3, regularizer=reg, eval_every=steps + 1,
                seed=0, device=device, bf16=bf16, progress=False)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t, res


def bench(task_name, args):
    """Time sequential runs against one ensemble on one workload; print a table; return the times."""
    K, n, S = args.members, args.units, args.steps
    if task_name == "yang":
        task = YangTasks(["dm1", "dm2", "ctxdm1", "ctxdm2", "dlydm1", "dlydm2"], rule="compositional")
        batch, desc = args.yang_batch, "neurogym trials (variable length)"
    else:
        task = two_digit_task(2000, 500, seed=0).task("train", n_steps=args.seq)
        batch, desc = args.batch, f"{args.seq} time steps"
    reg = Regularizer(args.regularizer, 1e-4)
    seeds = list(range(K))
    print(f"\n## task = {task_name}: K = {K} RNNs x {n} units, {S} steps, batch {batch}, {desc}, "
          f"regulariser = {args.regularizer}\n")

    # warm-up (allocations, lazy imports)
    run(task, 1, n, 2, batch, reg, "cpu", False, [0])
    run(task, K, n, 2, batch, reg, "cpu", False, seeds)

    t_seq, singles = 0.0, []
    for s in seeds:
        dt, r = run(task, 1, n, S, batch, reg, "cpu", False, [s])
        t_seq += dt
        singles.append(r.model)
    t_ens, ens = run(task, K, n, S, batch, reg, "cpu", False, seeds)
    diff = max(float((p[k] - q[0]).detach().abs().max()) for k, m in enumerate(singles)
               for p, q in zip(ens.model.parameters(), m.parameters()))

    rows = [(f"{K} sequential runs (CPU, anchor)", t_seq), (f"ensemble K={K} (CPU)", t_ens)]
    if torch.cuda.is_available():
        run(task, K, n, 2, batch, reg, "cuda", False, seeds)
        t_gpu, _ = run(task, K, n, S, batch, reg, "cuda", False, seeds)
        run(task, K, n, 2, batch, reg, "cuda", True, seeds)
        t_bf, _ = run(task, K, n, S, batch, reg, "cuda", True, seeds)
        rows += [(f"ensemble K={K} (CUDA fp32)", t_gpu), (f"ensemble K={K} (CUDA bf16 autocast)", t_bf)]

    print("| configuration | wall s | network-steps/s | ratio to anchor |")
    print("|---|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t:.2f} | {K * S / t:.1f} | {t_seq / t:.2f}x |")
    print(f"\nmax |ensemble member k - sequential run k| over all weights: {diff:.2e}")
    if torch.cuda.is_available():
        print(f"GPU fp32 vs CPU ensemble: {t_ens / rows[2][1]:.2f}x; "
              f"bf16 vs fp32 on GPU: {rows[2][1] / rows[3][1]:.2f}x")
    return {name: t for name, t in rows} | {"max_diff": diff}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="both", choices=["both", "two_digit", "yang"],
                    help="two-digit task (static inputs), Yang et al. tasks through neurogym (sequences), or both")
    ap.add_argument("--members", type=int, default=16)
    ap.add_argument("--units", type=int, default=100)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch", type=int, default=64, help="batch of the two-digit task")
    ap.add_argument("--yang-batch", type=int, default=32, help="batch of the Yang tasks")
    ap.add_argument("--seq", type=int, default=10, help="time steps per two-digit trial")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--regularizer", default="l1", choices=["none", "l1", "distance_l1", "communicability"])
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, CPU threads = {torch.get_num_threads()}, CUDA = {torch.cuda.is_available()}")
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    tasks = ["two_digit", "yang"] if args.task == "both" else [args.task]
    return {t: bench(t, args) for t in tasks}


if __name__ == "__main__":
    main()
