"""Summaries of generative sweeps (landscape, conditions, development): per cell, with corrected significance.

:func:`significance` flags each network as significantly modular per null (p from z and the null
count, Benjamini–Hochberg over the whole sweep, fragmented networks never significant);
:func:`summarize` averages the networks of each cell with the shares that are significant;
:func:`rule_verdicts` gives one row per rule and :func:`best_by` picks the best cells.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float
from ._engine import check_nulls

__all__ = ["significance", "summarize", "rule_verdicts", "best_by"]


def significance(df: pd.DataFrame, *, alpha: float = 0.05, method: str = "bh", pvalues: str = "t") -> pd.DataFrame:
    """Flag each network of a sweep as significantly modular per null, corrected over the whole sweep.

    For every null ``X`` with a z column ``z_X``, ``sig_X`` is true when the network's p-value,
    adjusted over all networks of ``df`` (:func:`mesoscale.metrics.adjust_pvalues`,
    Benjamini–Hochberg by default), is below ``alpha`` **and** the network is not fragmented
    (its Q would mostly count its pieces); ``sig_all`` when it holds for every null.

    ``pvalues="t"`` (default) reads p from z: with ``n`` Gaussian null values z is
    ``sqrt(1 + 1/n)`` times a Student t with ``n - 1`` degrees of freedom (see
    :mod:`mesoscale.metrics.calibration`, which checks it on known-null replicates), so
    ``p = P(t > z / sqrt(1 + 1/n))``. ``pvalues="empirical"`` uses the exact empirical ``p_X``
    columns, which cannot go below ``1 / (1 + n)``: with tens of nulls and a correction over a
    whole sweep, no network can pass. Rows without the needed columns add nothing.

    Examples
    --------
    >>> df = pd.DataFrame({"z_degree": [8.0, 8.0, 0.5], "n_null": 20, "fragmented": [False, True, False]})
    >>> significance(df)[["sig_degree", "sig_all"]].values.tolist()
    [[True, True], [False, False], [False, False]]
    >>> e = pd.DataFrame({"p_degree": [0.01, 0.01, 0.4], "fragmented": False})
    >>> significance(e, pvalues="empirical")["sig_degree"].tolist()
    [True, True, False]
    """
    from scipy import stats

    from ..metrics import adjust_pvalues

    alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0)
    pvalues = check_choice(pvalues, "pvalues", ("t", "empirical"))
    out = df.copy()
    if pvalues == "t":
        if "n_null" not in out:
            return out
        n = out["n_null"].to_numpy(float)
        p = {c[2:]: stats.t.sf(out[c].to_numpy(float) / np.sqrt(1 + 1 / n), n - 1)
             for c in out.columns if c.startswith("z_")}
    else:
        p = {c[2:]: out[c].to_numpy(float) for c in out.columns
             if c.startswith("p_") and pd.api.types.is_numeric_dtype(out[c])}
    if not p:
        return out
    whole = out["fragmented"].astype(bool).to_numpy() if "fragmented" in out else np.zeros(len(out), bool)
    for null, values in p.items():
        values = np.where(np.isfinite(values), values, 1.0)
        out[f"sig_{null}"] = (adjust_pvalues(values, method) < alpha) & ~whole
    out["sig_all"] = out[[f"sig_{null}" for null in p]].all(axis=1)
    return out


def summarize(df: pd.DataFrame, by: Sequence[str] = ("rule", "eta", "gamma"), *, z_threshold: float = 2.0,
              alpha: float = 0.05):
    """Average the per-network rows of a sweep per cell, with significance fractions.

    Significance is that of :func:`significance` (p from z and the null count, adjusted over
    the whole sweep, fragmented networks never significant) when the rows give ``n_null``;
    for tables without it, ``z_X > z_threshold``.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`landscape`, :func:`conditions` or :func:`development`.
    by : sequence of str
        Columns that define a cell.
    z_threshold : float
        A network is significantly modular against a null if its z exceeds this.

    Returns
    -------
    pandas.DataFrame
        Per cell: ``n_networks``, ``n_null``, the mean of every numeric summary column, and
        for each null ``X`` present ``frac_sig_X`` (fraction of networks significant against
        it) and ``frac_sig_all`` (significant against every null at once); ``frac_fragmented``
        when the rows say which networks are fragmented.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"rule": ["a", "a"], "z_degree": [3.0, 1.0], "n_null": [10, 10], "Q": [0.5, 0.3]})
    >>> summarize(df, by=["rule"])[["n_networks", "Q", "frac_sig_degree"]].values.tolist()
    [[2.0, 0.4, 0.5]]
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"'df' must be a pandas DataFrame; got {type(df).__name__}")
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise ValueError(f"'by' names columns not in 'df': {missing}; columns are {list(df.columns)}")
    z_threshold = check_float(z_threshold, "z_threshold")
    zcols = [c for c in df.columns if c.startswith("z_")]
    work = significance(df, alpha=alpha)
    if "sig_all" in work:
        for c in [c for c in work.columns if c.startswith("sig_")]:
            work[f"frac_{c}"] = work.pop(c).astype(float)
    else:
        for c in zcols:
            work[f"frac_sig_{c[2:]}"] = (work[c] > z_threshold).astype(float)
        if zcols:
            work["frac_sig_all"] = (work[zcols] > z_threshold).all(axis=1).astype(float)
    if "fragmented" in work:
        work["frac_fragmented"] = work.pop("fragmented").astype(float)
    skip = set(by) | {"rep", "seed"}
    num = [c for c in work.columns if c not in skip and pd.api.types.is_numeric_dtype(work[c])
           and not pd.api.types.is_bool_dtype(work[c])]
    g = work.groupby(by, sort=True)
    out = g[num].mean()
    out.insert(0, "n_networks", g.size().astype(float))
    return out.reset_index()


def rule_verdicts(summary: pd.DataFrame, nulls: Sequence[str], rules: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per rule of a landscape from :func:`summarize`: cells, mean Q, significance and z per null.

    Examples
    --------
    >>> s = pd.DataFrame({"rule": ["a", "a"], "eta": [0.0, 1.0], "Q": [0.4, 0.2], "frac_sig_degree": [1.0, 0.0],
    ...                   "z_degree": [3.0, 1.0], "wiring_cost": 0.5, "efficiency": 0.3})
    >>> rule_verdicts(s, ["degree"]).loc["a", ["cells", "share significant vs degree"]].tolist()
    [2.0, 0.5]
    """
    nulls = check_nulls(nulls)
    out = summary.groupby("rule").agg(
        cells=("eta", "size"), Q=("Q", "mean"),
        **{f"share significant vs {n}": (f"frac_sig_{n}", "mean") for n in nulls},
        **{f"median z vs {n}": (f"z_{n}", "median") for n in nulls},
        wiring_cost=("wiring_cost", "mean"), efficiency=("efficiency", "mean")).astype(float)
    return out if rules is None else out.reindex(list(rules))


def best_by(summary: pd.DataFrame, column: str, by: str | None = None, **where) -> pd.Series | pd.DataFrame:
    """The row of largest ``column`` among the rows matching ``where`` (or, with ``by``, its maximum per group).

    Examples
    --------
    >>> s = pd.DataFrame({"rule": ["a", "a", "b"], "eta": [0.0, 1.0, 0.0], "z": [1.0, 3.0, 2.0]})
    >>> float(best_by(s, "z", rule="a")["eta"]), best_by(s, "z", by="rule").tolist()
    (1.0, [3.0, 2.0])
    """
    sub = summary
    for k, v in where.items():
        if k not in sub.columns:
            raise ValueError(f"'{k}' is not a column of 'summary'; it has {list(summary.columns)}")
        sub = sub[sub[k] == v]
    if len(sub) == 0:
        raise ValueError(f"no row of 'summary' matches {where}")
    if by is not None:
        return sub.groupby(by)[column].max()
    return sub.loc[sub[column].idxmax()]
