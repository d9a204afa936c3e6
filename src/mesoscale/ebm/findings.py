"""Chapter 07's findings, written from its sweep: local rules against backpropagation, tasks, geometry.

:func:`local_learning_findings` reads the sweep table (one row per trained network) and states,
with effect sizes, intervals and replicate counts: how each rule compares with BPTT (paired over
replicates, sign-flip permutation p-values with a Benjamini–Hochberg correction over every task
and cost compared), where modularity above the weight-shuffled null appears, and what the
geometry control says (the same replicates with their inputs at shuffled positions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics import adjust_pvalues
from .experiment import geometry_contrast, paired_differences, summarize

__all__ = ["local_learning_findings"]


def _f(x, d=2, sign=False):
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:+.{d}f}" if sign else f"{x:.{d}f}"


def local_learning_findings(df: pd.DataFrame, *, baseline: str = "bptt", alpha: float = 0.05, seed=0) -> str:
    """Numbered findings from the chapter's sweep (no number typed by hand).

    Examples
    --------
    >>> rows = [{"task": t, "rule": r, "cost": 0.0, "rep": k, "geometry": g, "test_acc": 0.9, "z": z, "q": 0.3,
    ...          "specialisation": 0.5, "lesion_retained": 0.8, "n_null": 20}
    ...         for t in ("retina_separable",) for r in ("eqprop", "bptt") for k in range(3)
    ...         for g, z in (("aligned", 4.0 + k), ("shuffled", 1.0))]
    >>> print(local_learning_findings(pd.DataFrame(rows)).splitlines()[0][:40])
    1. **Replicates and nulls.** 12 trained
    """
    geo = "geometry" in df.columns
    aligned = df[df["geometry"] == "aligned"] if geo else df
    n_rep = int(aligned.groupby(["task", "rule", "cost"])["rep"].nunique().min())
    lines = [f"**Replicates and nulls.** {len(df)} trained networks, {n_rep} replicates per condition, modularity "
             f"against {int(df['n_null'].max())} weight-shuffled nulls each; intervals are 95 % bootstraps over "
             f"replicates, p-values two-sided sign-flip tests of paired differences, Benjamini–Hochberg-adjusted over "
             "all tasks and costs compared."]
    rules = [r for r in dict.fromkeys(aligned["rule"]) if r != baseline]
    if baseline in set(aligned["rule"]) and rules:
        for metric, label in (("z", "modularity z"), ("test_acc", "test accuracy")):
            d = paired_differences(aligned, metric, baseline=baseline, seed=seed)
            d["p_adj"] = adjust_pvalues(d["p"].to_numpy(float), "bh")
            parts = []
            for rule in rules:
                r = d[d["rule"] == rule]
                sig = r[r["p_adj"] < alpha]
                parts.append(f"`{rule}` − `{baseline}` ranges {_f(r['diff'].min(), sign=True)} to "
                             f"{_f(r['diff'].max(), sign=True)}, significant in {len(sig)} of {len(r)} task-cost cells"
                             + ("" if not len(sig) else " (" + "; ".join(
                                 f"{x.task} cost {x.cost:g}: {_f(x.diff, sign=True)} [{_f(x.lo, sign=True)}, "
                                 f"{_f(x.hi, sign=True)}]" for x in sig.itertuples()) + ")"))
            lines.append(f"**{label.capitalize()}, rule against {baseline}.** " + "; ".join(parts) + ".")
    s = summarize(aligned, metrics=["z", "test_acc", "specialisation"], seed=seed)
    z = s[s["metric"] == "z"]
    above = z[z["lo"] > 2.0]
    lines.append(f"**Where modularity appears.** Mean z above 2 with its whole interval in {len(above)} of {len(z)} "
                 "conditions: " + (", ".join(sorted({f"{t}" for t in above["task"]})) or "none")
                 + "; by task, the largest mean z is " + ", ".join(
                     f"{t} {_f(g['mean'].max(), 1)}" for t, g in z.groupby("task")) + ".")
    if geo and set(df["geometry"]) >= {"aligned", "shuffled"}:
        c = geometry_contrast(df, "z", seed=seed)
        c["p_adj"] = adjust_pvalues(c["p"].to_numpy(float), "bh")
        sp = geometry_contrast(df, "specialisation", seed=seed)
        sp["p_adj"] = adjust_pvalues(sp["p"].to_numpy(float), "bh")
        lines.append(f"**The geometry control.** With the inputs at shuffled positions (same replicates, weights and "
                     f"data), the change in z (shuffled − aligned) ranges {_f(c['diff'].min(), sign=True)} to "
                     f"{_f(c['diff'].max(), sign=True)} and is significant in {int((c['p_adj'] < alpha).sum())} of "
                     f"{len(c)} task-cost-rule cells; specialisation changes by {_f(sp['diff'].min(), sign=True)} to "
                     f"{_f(sp['diff'].max(), sign=True)} (significant in {int((sp['p_adj'] < alpha).sum())}). Where the "
                     "structure survives the shuffle, the task — not the match between the task's split and the "
                     "sheet's halves — builds it.")
    return "\n".join(f"{i}. {x}" for i, x in enumerate(lines, 1))
