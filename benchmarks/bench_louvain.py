"""Speed of the numba Louvain engine against bctpy's ``community_louvain``, measured in one run.

Both engines run through ``metrics.louvain_partitions`` on the same graphs with the same seed,
so run r of each gets the same ``RandomState`` (milliseconds per run, the modularity matrix
built once per call as the package does; bctpy is the anchor, ratio = numba time / bctpy time),
and the table says whether every partition and Q of the runs both engines did was identical. Graphs: the human DK-68
connectome (TVB, binary), the 302-neuron C. elegans hermaphrodite (Cook 2019, chemical + gap
junctions, binarised and symmetrised), planted partitions with n = 400, 800 and 2000 (groups of
about 25 nodes, mean degree 12, mixing 0.3). Kernels are compiled (or loaded from numba's cache)
before any timing.

End to end: ``metrics.modularity_significance`` (degree null, ``n_null`` nulls x ``n_runs``
Louvain runs per network) on the 800-node planted network with ``engine="bctpy"`` (before) and
``engine="numba"`` (after), and whether the two results are equal.

Absolute times on a shared machine are noisy; the ratios are the result.

Usage: ``python benchmarks/bench_louvain.py [--reps 20] [--seed 0] [--n-null 50] [--n-runs 5] [--skip-significance]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mesoscale import connectomes
from mesoscale import metrics as mm
from mesoscale.theory import planted_partition


def planted(n, seed, mean_degree=12.0, mu=0.3, size=25):
    q = max(2, n // size)
    A, _ = planted_partition(n, q, q * mean_degree * (1 - mu), q * mean_degree * mu / (q - 1), seed=seed, sparse=False)
    return A.astype(float)


def graphs(seed):
    """(name, binary symmetric adjacency, fraction of ``reps`` that bctpy runs)."""
    return [
        ("human DK-68 (TVB)", connectomes.load("human_dk68").binary(), 1.0),
        ("C. elegans Cook 2019, 302", connectomes.load("celegans_cook2019_herm").binary(), 1.0),
        ("planted n=400, <k>=12", planted(400, seed), 0.5),
        ("planted n=800, <k>=12", planted(800, seed + 1), 0.25),
        ("planted n=2000, <k>=12", planted(2000, seed + 2), 0.1),
    ]


def bench_runs(reps, seed):
    t0 = time.perf_counter()
    mm.louvain_partitions(graphs(seed)[0][1], 1, seed=seed)
    print(f"kernel compile or cache load: {time.perf_counter() - t0:.2f} s (excluded below)\n")
    print("| network | n | edges | bctpy runs | bctpy ms/run (anchor) | numba runs | numba ms/run | ratio | "
          "speed-up | identical partitions and Q |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for name, A, frac in graphs(seed):
        n, m = A.shape[0], int(A.sum() / 2)
        n_ref = max(2, int(round(reps * frac)))
        # the public function, as the package calls it: one RandomState per run, drawn from seed
        # in the same order by both engines, so the first n_ref runs of each get the same states
        t0 = time.perf_counter()
        ref_p, ref_q = mm.louvain_partitions(A, n_ref, seed=seed, engine="bctpy")
        t_ref = (time.perf_counter() - t0) / n_ref
        t0 = time.perf_counter()
        new_p, new_q = mm.louvain_partitions(A, reps, seed=seed, engine="numba")
        t_new = (time.perf_counter() - t0) / reps
        same = sum(np.array_equal(ref_p[r], new_p[r]) and ref_q[r] == new_q[r] for r in range(n_ref))
        rows.append((name, n, t_ref, t_new, same, n_ref))
        print(f"| {name} | {n} | {m} | {n_ref} | {1e3 * t_ref:.1f} | {reps} | {1e3 * t_new:.2f} | "
              f"{t_new / t_ref:.3f} | {t_ref / t_new:.1f}x | {same}/{n_ref} |")
    return rows


def bench_significance(n_null, n_runs, seed):
    A = planted(800, seed + 1)
    out = {}
    for engine in ("bctpy", "numba"):
        t0 = time.perf_counter()
        out[engine] = (mm.modularity_significance(A, "degree", n_null=n_null, n_runs=n_runs, seed=seed,
                                                  engine=engine), time.perf_counter() - t0)
    (a, ta), (b, tb) = out["bctpy"], out["numba"]
    same = a.q == b.q and np.array_equal(a.null_q, b.null_q) and np.array_equal(a.partition, b.partition)
    print(f"\n## modularity_significance: planted n=800, degree null, n_null={n_null}, n_runs={n_runs}\n")
    print("| engine | time (s) | ratio to bctpy |")
    print("|---|---|---|")
    print(f"| bctpy (before, anchor) | {ta:.1f} | 1.000 |")
    print(f"| numba (after) | {tb:.1f} | {tb / ta:.3f} ({ta / tb:.1f}x faster) |")
    print(f"\nidentical results (observed Q, partition, all {n_null} null Q): {same}; "
          f"Q = {b.q:.4f}, null {b.null_mean:.4f} ± {b.null_sd:.4f}, z = {b.z:.1f}, seed = {seed}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=20, help="numba runs per network (bctpy runs a fraction at large n)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-null", type=int, default=50)
    p.add_argument("--n-runs", type=int, default=5)
    p.add_argument("--skip-significance", action="store_true")
    a = p.parse_args(argv)
    bench_runs(a.reps, a.seed)
    if not a.skip_significance:
        bench_significance(a.n_null, a.n_runs, a.seed)


if __name__ == "__main__":
    main()
