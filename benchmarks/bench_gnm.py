"""Generative network models: mesoscale.generative vs bctpy, scaling, and a 13-rule fit.

Run:  python benchmarks/bench_gnm.py            (everything; the fits take minutes)
      python benchmarks/bench_gnm.py --no-fit   (speed tables only, a few minutes)
      python benchmarks/bench_gnm.py --gpu-only (on a GPU machine: the GPU table alone, ~5 minutes on an H200
                                                 by design; --gpu-device cpu dry-runs it on CPU torch)

First (issue 14): the per-rule engine table at n = 302 (Cook 2019 worm; all 13 rules, ratio to
matching, ratio to the baseline = the kernel of commit ``BASELINE``, from before the throughput
work of issue 14, imported from a temporary file at run time),
the KS-energy table at n = 68/180/302 (ratio to the baseline energy), the memory table (peak
RSS of a 100,000-network job at n = 68), and the GPU table (torch backend on CUDA beside the numba
CPU engine; one clear line says it was skipped without a CUDA device). ``--only-new-tables`` stops there. Then three tables:

1. ``human_dk68`` distances, m = 250, matching rule, powerlaw, one parameter pair:
   time per network of ``bct.generative_model`` (bctpy 0.6.1) and of
   ``mesoscale.generative.generate`` (one thread), the edges each actually placed, and
   the speed ratio. CPU time (``time.process_time``) is the primary clock because the
   machine may be shared; wall time is shown too.
2. Scaling with n (random positions in a cube, 5 % density, plus the n = 400, m = 4000
   goal row) for four rules.
3. A fit of all 13 rules to ``human_dk68`` (Voronoi search, ``--fit-networks`` per rule,
   ``--jobs`` threads), its wall and CPU time, and the best parameters per rule; then the
   same for ``celegans_cook2019_herm`` with ``--worm-networks`` per rule.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from mesoscale import connectomes
from mesoscale.generative import WIRING_RULES, count_edges, fit, generate
from mesoscale.metrics import ks_energy

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TMP = tempfile.mkdtemp(prefix="bench_gnm_head_")
BASELINE = "74884a5"  # main when issue 14 was filed: the engine and energy it measured


def head_module(path, name):
    """Import ``path`` as committed at ``BASELINE`` as module ``name``: the code before issue 14.

    The file is written to a temporary directory at benchmark time only; ``name`` lives inside
    the package (e.g. ``mesoscale.metrics._energy_head``) so its relative imports resolve.
    """
    src = subprocess.run(["git", "show", f"{BASELINE}:{path}"], cwd=_ROOT, check=True,
                         capture_output=True, text=True).stdout
    file = os.path.join(_TMP, name.rsplit(".", 1)[-1] + ".py")
    with open(file, "w") as fh:
        fh.write(src)
    spec = importlib.util.spec_from_file_location(name, file)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _clock(fn, *args, **kwargs):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.process_time() - c0, time.perf_counter() - w0


def table_vs_bctpy(D, m, eta, gamma, n_bct, n_ours):
    import bct

    n = D.shape[0]
    generate(D, m, "matching", eta, gamma, n_networks=2, seed=0)  # compile / load the cache
    bct_edges, bct_cpu, bct_wall, failed = [], 0.0, 0.0, 0
    for s in range(n_bct):
        c0, w0 = time.process_time(), time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                B = bct.generative_model(
                    np.zeros((n, n)), D, m, eta=[eta], gamma=[gamma],
                    model_type="matching", model_var="powerlaw", seed=s,
                )
        except IndexError:  # bctpy issue #104: the off-by-one sampling index
            failed += 1
            B = None
        bct_cpu += time.process_time() - c0
        bct_wall += time.perf_counter() - w0
        if B is not None:
            B = np.asarray(B)
            B = B[..., 0] if B.ndim == 3 else B
            bct_edges.append(int(np.count_nonzero(np.triu(B, 1))))
    placed = f"{min(bct_edges)}–{max(bct_edges)}" if bct_edges else "none"
    nets, cpu, wall = _clock(generate, D, m, "matching", eta, gamma, n_networks=n_ours, seed=1, n_jobs=1, progress=False)
    ours_edges = count_edges(nets)
    print(f"\n## 1. n = {n}, m = {m}, matching, powerlaw (eta = {eta}, gamma = {gamma})\n")
    print("| engine | networks | CPU ms / network | wall ms / network | networks / s / core (CPU) | edges placed |")
    print("|---|---|---|---|---|---|")
    print(
        f"| bct.generative_model 0.6.1 | {n_bct} | {1e3 * bct_cpu / n_bct:.1f} | {1e3 * bct_wall / n_bct:.1f} "
        f"| {n_bct / bct_cpu:.1f} | {placed} (asked {m}; {failed} of {n_bct} runs raised IndexError) |"
    )
    print(
        f"| mesoscale.generative (1 thread) | {n_ours} | {1e3 * cpu / n_ours:.3f} | {1e3 * wall / n_ours:.3f} "
        f"| {n_ours / cpu:.0f} | {ours_edges.min()}–{ours_edges.max()} (asked {m}) |"
    )
    print(f"\nspeed-up (CPU time per network): {(bct_cpu / n_bct) / (cpu / n_ours):.0f}x; "
          f"(wall): {(bct_wall / n_bct) / (wall / n_ours):.0f}x")


def table_scaling(sizes, rules, budget_s):
    print("\n## 2. Scaling (random positions in a unit cube x 100; CPU ms per network, 1 thread)\n")
    print("| n | m | " + " | ".join(rules) + " |")
    print("|---|---|" + "---|" * len(rules))
    for n, m in sizes:
        xyz = np.random.default_rng(n).random((n, 3)) * 100
        D = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
        cells = []
        for rule in rules:
            _, c1, _ = _clock(generate, D, m, rule, -2.0, 0.5, n_networks=1, seed=0, progress=False)
            reps = int(np.clip(budget_s / max(c1, 1e-4), 1, 200))
            _, c, _ = _clock(generate, D, m, rule, -2.0, 0.5, n_networks=reps, seed=1, progress=False)
            cells.append(f"{1e3 * c / reps:.2f}")
        print(f"| {n} | {m} | " + " | ".join(cells) + " |")


def table_fit(name, n_per_rule, levels, jobs, seed):
    """Fit every rule; one rule at a time so each row is printed as soon as it is done.

    Fitting the rules one by one gives exactly the table of one ``fit`` over all of them:
    each rule's search and each point's networks depend only on ``seed`` and the rule.
    """
    import pandas as pd

    C = connectomes.load(name)
    A, D = C.binary(), C.distances()
    # the budget per rule is n_per_rule networks: sptl spends it on its eta line; a two-parameter rule on
    # 80 % (eta, gamma) points and 20 % on its gamma = 0 line (the nesting check's special case)
    n_draws, n_line = n_per_rule // levels, n_per_rule // (5 * levels)
    n_2d = n_draws - n_line
    print(f"\n## 3. Fit of all 13 rules to {name} (n = {A.shape[0]}, m = {int(A.sum()) // 2}; "
          f"Voronoi, {levels} levels; {n_per_rule} networks per rule: sptl {n_draws} points per level, "
          f"the others {n_2d} (eta, gamma) + {n_line} gamma = 0 points per level; {jobs} threads)\n")
    print("| rule | eta (top-10 mean ± sd) | gamma (top-10 mean ± sd) | best energy | top-10 energy "
          "| CPU s | wall s |")
    print("|---|---|---|---|---|---|---|", flush=True)
    bests, cpu_total, wall_total, total = [], 0.0, 0.0, 0
    for rule in WIRING_RULES:
        res, cpu, wall = _clock(
            fit, A, D, rules=[rule], search="voronoi", n_draws=n_draws if rule == "sptl" else n_2d,
            n_gamma0=n_line, levels=levels, n_networks=1, seed=seed, n_jobs=jobs, progress=False,
        )
        cpu_total += cpu
        wall_total += wall
        total += len(res.table)
        r = res.best.iloc[0]
        bests.append(res.best)
        g = "—" if np.isnan(r.gamma) else f"{r.gamma:.2f} ± {r.gamma_sd:.2f}"
        print(f"| {r.rule} | {r.eta:.2f} ± {r.eta_sd:.2f} | {g} | {r.energy:.3f} | "
              f"{r.energy_topk:.3f} ± {r.energy_topk_sd:.3f} | {cpu:.1f} | {wall:.1f} |", flush=True)
    best = pd.concat(bests).sort_values("energy", kind="stable").reset_index(drop=True)
    print(f"\ntotal: {total} networks, CPU {cpu_total:.1f} s ({1e3 * cpu_total / total:.2f} ms / network), "
          f"wall {wall_total:.1f} s on this machine")
    print(f"best rule for {name}: {best.iloc[0].rule} (energy {best.iloc[0].energy:.3f}, "
          f"top-10 {best.iloc[0].energy_topk:.3f})", flush=True)
    return best


def _cpu_per(fn, reps):
    fn()  # compile / warm
    c0 = time.process_time()
    for _ in range(reps):
        fn()
    return (time.process_time() - c0) / reps


def table_rules_302(reps, rounds=3):
    """All 13 rules at the Cook 2019 worm's n, m and distances: CPU ms per network, today vs now."""
    from mesoscale.generative import _engine

    C = connectomes.load("celegans_cook2019_herm")
    A, D = C.binary(), C.distances()
    n, m = A.shape[0], int(A.sum()) // 2
    new_kernels = _engine._kernels
    old_kernels = head_module("src/mesoscale/generative/_kernels.py", "mesoscale.generative._kernels_head")
    print(f"\n## Per-rule engine time, celegans_cook2019_herm (n = {n}, m = {m}; eta = -2, gamma = 0.3; "
          f"CPU ms per network, 1 thread; one call of {reps} networks per cell, the median of {rounds} "
          f"rounds, baseline and now alternating)\n")
    print("| rule | baseline ms | now ms | now / matching | baseline / now |")
    print("|---|---|---|---|---|", flush=True)
    rows = {}
    for rule in WIRING_RULES:
        times = [[], []]
        for r in range(rounds + 1):  # round 0 compiles / loads the caches
            for q, kern in enumerate((old_kernels, new_kernels)):
                _engine._kernels = kern
                try:
                    c0 = time.process_time()
                    generate(D, m, rule, -2.0, 0.3, n_networks=reps, seed=r, n_jobs=1, progress=False)
                    if r:
                        times[q].append((time.process_time() - c0) / reps)
                finally:
                    _engine._kernels = new_kernels
        rows[rule] = [float(np.median(t)) for t in times]
    base = rows["matching"][1]
    for rule, (old, new) in rows.items():
        print(f"| {rule} | {1e3 * old:.1f} | {1e3 * new:.1f} | {new / base:.2f} | {old / new:.2f} |", flush=True)


def table_energy(reps, rounds=3):
    """KS energy per network at n = 68 / 180 / 302, baseline vs now, one thread (medians of ``rounds``)."""
    old_energy = head_module("src/mesoscale/metrics/energy.py", "mesoscale.metrics._energy_head")
    print(f"\n## KS energy (degree, clustering, betweenness, edge length), CPU ms per network, 1 thread; "
          f"{reps} matching networks (eta = -2, gamma = 0.3) per call, the median of {rounds} calls\n")
    print("| dataset | n | m | baseline ms | now ms | baseline / now | now, n_jobs=2, wall ms |")
    print("|---|---|---|---|---|---|---|", flush=True)
    for name in ("human_dk68", "celegans_witvliet_8", "celegans_cook2019_herm"):
        C = connectomes.load(name)
        A, D = C.binary(), C.distances()
        n, m = A.shape[0], int(A.sum()) // 2
        nets = generate(D, m, "matching", -2.0, 0.3, n_networks=reps, seed=0, progress=False)
        old_energy.ks_energy(nets[:2], A, D)  # compile / load the caches
        ks_energy(nets[:2], A, D)
        t_old, t_new = [], []
        for _ in range(rounds):  # alternating, the median of each: the machine may be shared
            t_old.append(_cpu_per(lambda: old_energy.ks_energy(nets, A, D), 1) / reps)
            t_new.append(_cpu_per(lambda: ks_energy(nets, A, D), 1) / reps)
        old, new = float(np.median(t_old)), float(np.median(t_new))
        ks_energy(nets, A, D, n_jobs=2)
        w0 = time.perf_counter()
        ks_energy(nets, A, D, n_jobs=2)
        par = (time.perf_counter() - w0) / reps
        assert np.allclose(old_energy.ks_energy(nets, A, D), ks_energy(nets, A, D), atol=1e-12)
        print(f"| {name} | {n} | {m} | {1e3 * old:.2f} | {1e3 * new:.2f} | {old / new:.2f} | "
              f"{1e3 * par:.2f} |", flush=True)


_MEMORY_SCRIPT = r"""
import resource, sys, time
import numpy as np
from mesoscale import connectomes
from mesoscale.generative import fit, generate, generate_batches
from mesoscale.metrics import ks_energy
C = connectomes.load("human_dk68")
A, D = C.binary(), C.distances()
mode, total = sys.argv[1], int(sys.argv[2])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if mode == "fit":
    # one rule, a grid of total / 10 points x 10 networks: the in-process fit path of every rule
    res = fit(A, D, rules=["matching"], search="voronoi", levels=1, n_draws=total // 10, n_networks=10,
              seed=0, n_jobs=2, progress=False)
    total = len(res.table)
elif mode == "generate":
    E = ks_energy(generate(D, 250, "matching", -2.0, 0.3, n_networks=total, seed=0, n_jobs=2), A, D, n_jobs=2)
else:
    E = np.concatenate([ks_energy(b, A, D, n_jobs=2) for b in generate_batches(
        D, 250, "matching", -2.0, 0.3, n_networks=total, seed=0, n_jobs=2, batch_size=1024)])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{base / 2**20:.3f} {peak / 2**20:.3f} {time.perf_counter() - t0:.1f} {total}")
"""


def table_memory(total):
    """Peak resident memory of a ``total``-network job at n = 68, each in a fresh process."""
    print(f"\n## Memory: {total:,} networks of human_dk68 (n = 68, m = 250), peak RSS of a fresh process "
          f"(ru_maxrss; 'after import' = the interpreter with numpy, numba, pandas, mesoscale)\n")
    print("| job | networks | after import GiB | peak GiB | wall s |")
    print("|---|---|---|---|---|", flush=True)
    jobs = [("fit (matching, 10 networks per point, in process)", "fit"),
            ("generate all at once, then ks_energy", "generate"),
            ("generate_batches (1,024 per batch) -> ks_energy", "batches")]
    for label, mode in jobs:
        out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, mode, str(total)], cwd=_ROOT, check=True,
                             capture_output=True, text=True).stdout.split()
        print(f"| {label} | {int(out[3]):,} | {float(out[0]):.2f} | {float(out[1]):.2f} | {out[2]} |", flush=True)


def gpu_table(device="cuda", batches=(1_000, 10_000, 100_000), cpu_networks=(2000, 100), fit_networks=10_000,
              levels=5, jobs=2):
    """The torch backend on a GPU beside the numba engine on this machine's CPU, in the same run.

    Networks/s of ``generate`` (matching; powerlaw; eta = -2, gamma = 0.3) and of ``ks_energy`` at
    n = 68, m = 250 (human_dk68) and n = 302, m = 3517 (Cook 2019 worm) for batches of 10^3-10^5
    networks on ``device``; the CPU cell is one batch of ``cpu_networks`` (n = 68, n = 302) on ``jobs``
    threads. Then the 13-rule x ``fit_networks`` fit of human_dk68 on the device and on the CPU.
    """
    try:
        import torch
    except ImportError:
        print("\n## GPU table: SKIPPED (torch is not installed)", flush=True)
        return
    cuda = str(device).startswith("cuda")
    if cuda and not torch.cuda.is_available():
        print("\n## GPU table: SKIPPED (no CUDA device on this machine: torch.cuda.is_available() is False); "
              "the torch backend's law is tested on CPU torch in tests/test_torch_engine.py", flush=True)
        return
    name = torch.cuda.get_device_name(0) if cuda else f"torch device {device!r}"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    human, worm = connectomes.load("human_dk68"), connectomes.load("celegans_cook2019_herm")
    cases = [("human_dk68", human.distances(), human.binary(), 250), ("celegans_cook2019_herm", worm.distances(),
             worm.binary(), 3517)]
    print(f"\n## GPU table: {name} (torch {torch.__version__}) vs numba on {jobs} CPU threads; networks/s\n")
    print("| dataset (n, m) | batch | GPU generate | GPU ks_energy | CPU generate | CPU ks_energy | GPU / CPU (generate) |")
    print("|---|---|---|---|---|---|---|", flush=True)
    for (label, D, A, m), n_cpu in zip(cases, cpu_networks):
        n = D.shape[0]
        generate(D, m, "matching", -2.0, 0.3, n_networks=8, seed=0, n_jobs=jobs)  # compile
        w0 = time.perf_counter()
        nets = generate(D, m, "matching", -2.0, 0.3, n_networks=n_cpu, seed=1, n_jobs=jobs, progress=False)
        cpu_gen = n_cpu / (time.perf_counter() - w0)
        w0 = time.perf_counter()
        ks_energy(nets, A, D, n_jobs=jobs)
        cpu_en = n_cpu / (time.perf_counter() - w0)
        del nets
        generate(D, m, "matching", -2.0, 0.3, n_networks=8, seed=0, device=device, progress=False)  # warm up
        for batch in batches:
            sync()
            w0 = time.perf_counter()
            nets = generate(D, m, "matching", -2.0, 0.3, n_networks=batch, seed=2, device=device, progress=False)
            sync()
            gpu_gen = batch / (time.perf_counter() - w0)
            w0 = time.perf_counter()
            ks_energy(nets, A, D, device=device)
            sync()
            gpu_en = batch / (time.perf_counter() - w0)
            del nets
            print(f"| {label} ({n}, {m}) | {batch:,} | {gpu_gen:,.0f} | {gpu_en:,.0f} | {cpu_gen:,.0f} | "
                  f"{cpu_en:,.0f} | {gpu_gen / cpu_gen:.1f} |", flush=True)
    A, D = human.binary(), human.distances()
    n_draws, n_line = fit_networks // levels, fit_networks // (5 * levels)
    for where, kw in ((device, dict(device=device)), (f"CPU ({jobs} threads)", dict(n_jobs=jobs))):
        w0 = time.perf_counter()
        # all 13 rules in one fit: 2-D rules get 80 % (eta, gamma) points and 20 % on the gamma = 0 line
        res = fit(A, D, search="voronoi", n_draws=n_draws - n_line, n_gamma0=n_line, levels=levels, n_networks=1,
                  seed=0, progress=False, nesting="ignore", **kw)
        wall = time.perf_counter() - w0
        best = res.best.sort_values("energy").iloc[0]
        print(f"\n13-rule fit of human_dk68 on {where}: {len(res.table):,} networks in {wall:.1f} s wall; "
              f"best rule {best.rule} (energy {best.energy:.3f})", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bct-networks", type=int, default=5)
    ap.add_argument("--networks", type=int, default=2000, help="networks of our engine in table 1")
    ap.add_argument("--no-fit", action="store_true", help="skip table 3")
    ap.add_argument("--fit-networks", type=int, default=10000, help="networks per rule, human_dk68")
    ap.add_argument("--worm-networks", type=int, default=2000,
                    help="networks per rule, celegans_cook2019_herm (0: skip)")
    ap.add_argument("--rule-networks", type=int, default=3, help="networks per call, per-rule table at n = 302")
    ap.add_argument("--rule-rounds", type=int, default=3, help="rounds (calls) per cell, per-rule table")
    ap.add_argument("--energy-networks", type=int, default=100, help="networks per cell, energy table")
    ap.add_argument("--only-new-tables", action="store_true",
                    help="only the per-rule, energy and GPU tables (issue 14)")
    ap.add_argument("--memory-networks", type=int, default=100000,
                    help="networks of the memory table at n = 68 (0: skip)")
    ap.add_argument("--only-fits", action="store_true", help="only the end-to-end fits (table 3)")
    ap.add_argument("--gpu-only", action="store_true", help="only the GPU table (for a short session on a GPU)")
    ap.add_argument("--gpu-device", default="cuda", help="torch device of the GPU table ('cpu' dry-runs it)")
    ap.add_argument("--gpu-batches", default="1000,10000,100000", help="batch sizes of the GPU table")
    ap.add_argument("--levels", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scaling-budget", type=float, default=1.0, help="CPU seconds per scaling cell")
    args = ap.parse_args(argv)

    human = connectomes.load("human_dk68")
    D = human.distances()
    print("# bench_gnm: mesoscale.generative", flush=True)
    print(f"machine load: {os.popen('uptime').read().strip()}; NUMBA_NUM_THREADS="
          f"{os.environ.get('NUMBA_NUM_THREADS', 'unset')}", flush=True)
    if args.gpu_only:
        gpu_table(args.gpu_device, tuple(int(b) for b in args.gpu_batches.split(",")),
                  fit_networks=args.fit_networks, levels=args.levels, jobs=args.jobs)
        return
    def fits():
        table_fit("human_dk68", args.fit_networks, args.levels, args.jobs, seed=0)
        if args.worm_networks:
            table_fit("celegans_cook2019_herm", args.worm_networks, args.levels, args.jobs, seed=0)

    if args.only_fits:
        fits()
        return
    table_rules_302(args.rule_networks, args.rule_rounds)
    table_energy(args.energy_networks, args.rule_rounds)
    if args.memory_networks:
        table_memory(args.memory_networks)
    gpu_table(args.gpu_device, tuple(int(b) for b in args.gpu_batches.split(",")), fit_networks=args.fit_networks,
              levels=args.levels, jobs=args.jobs)
    if args.only_new_tables:
        return
    table_vs_bctpy(D, 250, -2.0, 0.3, args.bct_networks, args.networks)
    sizes = [(n, round(0.05 * n * (n - 1) / 2)) for n in (68, 150, 300, 600)] + [(400, 4000)]
    table_scaling(sorted(sizes), ["sptl", "matching", "clu-avg", "deg-avg"], args.scaling_budget)
    if not args.no_fit:
        fits()
    print(f"\nmachine load at the end: {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
