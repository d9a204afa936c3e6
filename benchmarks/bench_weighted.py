"""Weighted generative models: time per network at n = 68 and n = 302, as ratios to the binary engine.

Run:  python benchmarks/bench_weighted.py                 (CPU; the communicability losses at n = 302
                                                           take minutes per network)
      python benchmarks/bench_weighted.py --steps 400      (communicability: time the first 400 binary
                                                           steps and scale to the whole growth -- the
                                                           cost of a step does not depend on the edges)
      python benchmarks/bench_weighted.py --device cuda    (the weight replay on a GPU, beside the CPU)

Anchor (same run, same machine): the binary growth of the same networks by the numba engine
(``generate``, matching rule, one thread), timed per network. Rows: the weight replay of
:func:`mesoscale.generative.grow_weights` for each loss (normalised variants; the elementwise
losses run on the edge list, the communicability losses replay the growth with one batched
``eigh`` per update), the weighted KS energy against the KS energy, and the heterochronous growth
(20-stage wave) against the plain growth. CPU time (``time.process_time``, torch on one thread)
is the primary clock because the machine may be shared; wall time is shown too.
Datasets: ``human_dk68`` (n = 68, m = 588) and ``celegans_cook2019_herm`` (n = 302, m = 3517).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mesoscale import connectomes
from mesoscale.generative import generate, generate_heterochronous, grow_weights, wave_gradient
from mesoscale.generative.extensions import undirected_weights
from mesoscale.metrics import ks_energy, weighted_ks_energy


def _clock(fn, *args, **kwargs):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.process_time() - c0, time.perf_counter() - w0


def rows_for(name, n_networks, steps, device):
    c = connectomes.load(name)
    D, W0 = c.distances(), undirected_weights(c)
    m = int(np.count_nonzero(np.triu(W0, 1)))
    generate(D, m, "matching", -2.0, 0.3, n_networks=2, seed=0)  # compile / load the cache
    (nets, order), cpu, wall = _clock(generate, D, m, "matching", -2.0, 0.3, n_networks=n_networks, seed=1,
                                      return_order=True)
    anchor = cpu / n_networks
    rows = [(name, "binary growth (anchor)", "cpu", n_networks, m, anchor, wall / n_networks, 1.0)]
    for loss in ("weight", "weighted_distance", "communicability", "distance_communicability"):
        comm = "communicability" in loss
        T = min(m, steps) if (comm and steps) else m
        B = n_networks if not comm or D.shape[0] < 100 else 1
        for dev in ["cpu"] + ([device] if device and device != "cpu" else []):
            grow_weights(order[:1, :5], D, loss=loss, alpha=0.01, normalised=True, device=dev)  # warm up
            _, cpu_w, wall_w = _clock(grow_weights, order[:B, :T], D, loss=loss, alpha=0.5 / m, normalised=True,
                                      device=dev)
            scale = m / T  # a step costs the same whatever the number of edges: scale to the whole growth
            per_cpu, per_wall = cpu_w / B * scale, wall_w / B * scale
            note = f"{loss} (normalised){'' if T == m else f', {T} of {m} steps timed'}"
            rows.append((name, note, dev, B, T, per_cpu, per_wall, (per_cpu if dev == "cpu" else per_wall) / anchor))
    Wn = nets * 1.0
    ks_energy(nets[:1], W0, D)
    _, cpu_k, wall_k = _clock(ks_energy, nets, W0, D)
    _, cpu_wk, wall_wk = _clock(weighted_ks_energy, Wn, W0, D)
    rows.append((name, "KS energy", "cpu", n_networks, m, cpu_k / n_networks, wall_k / n_networks,
                 cpu_k / n_networks / anchor))
    rows.append((name, "weighted KS energy", "cpu", n_networks, m, cpu_wk / n_networks, wall_wk / n_networks,
                 cpu_wk / n_networks / anchor))
    H = wave_gradient(c.positions, 20, axis=1)
    generate_heterochronous(D, m, "matching", -2.0, 0.3, lam=2.0, H=H, seed=0)
    _, cpu_h, wall_h = _clock(generate_heterochronous, D, m, "matching", -2.0, 0.3, lam=2.0, H=H,
                              n_networks=n_networks, seed=1)
    rows.append((name, "heterochronous growth (wave, 20 stages)", "cpu", n_networks, m, cpu_h / n_networks,
                 wall_h / n_networks, cpu_h / n_networks / anchor))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--networks", type=int, default=8, help="networks per row (communicability at n = 302: 1)")
    ap.add_argument("--steps", type=int, default=0, help="communicability: time this many binary steps (0: all)")
    ap.add_argument("--device", default=None, help="also replay the weights on this torch device (e.g. cuda)")
    args = ap.parse_args(argv)
    device = args.device
    if device and device != "cpu":
        import torch

        if not torch.cuda.is_available():
            print(f"-- {device}: skipped, no CUDA device here (torch {torch.__version__})")
            device = None
    rows = []
    for name in ("human_dk68", "celegans_cook2019_herm"):
        rows += rows_for(name, args.networks, args.steps, device)
    print(f"{'dataset':24s} {'what':58s} {'device':6s} {'nets':>4s} {'steps':>5s} {'CPU s/net':>10s} "
          f"{'wall s/net':>10s} {'x anchor':>9s}")
    for r in rows:
        print(f"{r[0]:24s} {r[1]:58s} {r[2]:6s} {r[3]:4d} {r[4]:5d} {r[5]:10.4f} {r[6]:10.4f} {r[7]:9.1f}")
    print("x anchor: time per network over the binary growth of the same network (CPU time; wall time on a GPU).")


if __name__ == "__main__":
    main()
