"""Chapter 07's findings, written from its sweep: local rules against backpropagation, tasks, geometry.

:func:`local_learning_findings` reads the sweep table (one row per trained network) and states,
with effect sizes, intervals and replicate counts: how long the networks trained (with the
validation stopping rule: the best epoch's median and IQR, and the share that the epoch cap
stopped instead), how each rule compares with BPTT (paired over
replicates, sign-flip permutation p-values with a Benjamini–Hochberg correction over every task
and cost compared), where modularity above the weight-shuffled null appears, and what the
geometry control says (the same replicates with their inputs at shuffled positions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics import adjust_pvalues
from .experiment import geometry_contrast, paired_differences, summarize

__all__ = ["local_learning_findings", "training_statement"]


def _f(x, d=2, sign=False):
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:+.{d}f}" if sign else f"{x:.{d}f}"


def training_statement(df: pd.DataFrame) -> str:
    """How long the sweep's networks trained, from ``best_epoch``, ``epochs_run`` and ``cap_reached``.

    With the validation stopping rule (``best_epoch`` set): the median and interquartile range of
    the best epoch and of the epochs run, overall and per rule, and how many networks the cap
    stopped before the rule could. With fixed epochs (or a table without these columns): the
    number of epochs.

    Examples
    --------
    >>> df = pd.DataFrame({"rule": ["chl", "chl", "bptt", "bptt"], "best_epoch": [10, 20, 40, 60],
    ...                    "epochs_run": [30, 40, 60, 60], "cap_reached": [False, False, False, True]})
    >>> print(training_statement(df))
    Each network trained until its validation loss stopped improving, and its best weights were restored: best epoch median 30 (IQR 18-45; bptt 50, chl 15), epochs run median 50 (IQR 38-60); 1 of 4 networks (25 %) reached the epoch cap before the rule stopped them.
    >>> training_statement(pd.DataFrame({"epochs_run": [30, 30], "best_epoch": [np.nan, np.nan]}))
    'Every network trained for a fixed 30 epochs (no stopping rule).'
    """
    if "best_epoch" not in df.columns or not df["best_epoch"].notna().any():
        if "epochs_run" not in df.columns:
            return "Training length is not recorded in this table."
        e = df["epochs_run"]
        return (f"Every network trained for a fixed {int(e.iloc[0])} epochs (no stopping rule)." if e.nunique() == 1
                else f"Networks trained for a fixed {int(e.min())}-{int(e.max())} epochs (no stopping rule).")
    d = df[df["best_epoch"].notna()]

    def mid(x):
        q1, med, q3 = np.percentile(np.asarray(x, float), [25, 50, 75])
        return med, q1, q3

    b, r = mid(d["best_epoch"]), mid(d["epochs_run"])
    per_rule = ", ".join(f"{k} {np.median(g):.0f}" for k, g in d.groupby("rule")["best_epoch"]) if "rule" in d else ""
    capped = int(d["cap_reached"].astype(bool).sum())
    return (f"Each network trained until its validation loss stopped improving, and its best weights were restored: "
            f"best epoch median {b[0]:.0f} (IQR {b[1]:.0f}-{b[2]:.0f}" + (f"; {per_rule}" if per_rule else "")
            + f"), epochs run median {r[0]:.0f} (IQR {r[1]:.0f}-{r[2]:.0f}); {capped} of {len(d)} networks "
            f"({100 * capped / len(d):.0f} %) reached the epoch cap before the rule stopped them.")


def local_learning_findings(df: pd.DataFrame, *, baseline: str = "bptt", alpha: float = 0.05, seed=0) -> str:
    """Numbered findings from the chapter's sweep (no number typed by hand).

    The first finding states the replicates, the nulls and how long the networks trained
    (:func:`training_statement`).

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
             "all tasks and costs compared. " + training_statement(df)]
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
