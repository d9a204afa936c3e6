"""Statistics of the specialisation chapters: seed summaries, thresholds, shifts and the structure-function link.

* :func:`summarize_seeds` -- mean, 95 % bootstrap interval and seed count of metrics per group;
* :func:`crossing_point` -- where a falling curve (e.g. specialisation against ``p``) crosses a level,
  with a bootstrap interval over seeds;
* :func:`curve_shift` -- how far conditions lie above or below a reference curve at their own ``x``
  (e.g. priors against the planted-module frontier), with Welch t intervals and Holm-adjusted p-values;
* :func:`partial_correlation` and :func:`link_table` -- the relation between structure or
  specialisation and generalisation or robustness, controlling for covariates (accuracy,
  density), with bootstrap intervals (resampling whole conditions when ``cluster`` is given) and
  Holm-adjusted p-values over the table.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"condition": ["a", "a", "b", "b"], "acc": [0.9, 0.8, 0.6, 0.7]})
>>> summarize_seeds(df, "condition", ["acc"], seed=0)[["condition", "mean", "n"]].values.tolist()
[['a', 0.85, 2], ['b', 0.65, 2]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import as_rng, check_float, check_int
from ..metrics import adjust_pvalues, bootstrap_ci

__all__ = ["summarize_seeds", "crossing_point", "curve_shift", "partial_correlation", "link_table"]


def summarize_seeds(df: pd.DataFrame, by, metrics, *, seed=None, level: float = 0.95) -> pd.DataFrame:
    """Mean, bootstrap interval (``lo``, ``hi``) and count of each metric per group: a long table.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"g": ["x"] * 3, "v": [1.0, 2.0, 3.0]})
    >>> s = summarize_seeds(df, "g", ["v"], seed=0)
    >>> s.columns.tolist(), float(s["mean"][0])
    (['g', 'metric', 'mean', 'lo', 'hi', 'n'], 2.0)
    """
    by = [by] if isinstance(by, str) else list(by)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    missing = [c for c in by + metrics if c not in df.columns]
    if missing:
        raise ValueError(f"'df' lacks columns {missing}")
    rng = as_rng(seed)
    rows = []
    for key, g in df.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        for m in metrics:
            v = g[m].to_numpy(dtype=float)
            lo, hi = bootstrap_ci(v, level=level, seed=rng)
            rows.append({**dict(zip(by, key)), "metric": m,
                         "mean": float(np.nanmean(v)) if np.isfinite(v).any() else np.nan,
                         "lo": lo, "hi": hi, "n": int(np.isfinite(v).sum())})
    return pd.DataFrame(rows)


def _interp_log(x_means: np.ndarray, y_means: np.ndarray, x) -> np.ndarray:
    """Linear interpolation of y in log10(x) (x sorted ascending inside)."""
    o = np.argsort(x_means)
    return np.interp(np.log10(x), np.log10(x_means[o]), y_means[o])


def _crossing(xs: np.ndarray, ys: np.ndarray, level: float) -> float:
    """Largest x (log-interpolated) at which the curve ys(xs) is still >= level, scanning from small x."""
    o = np.argsort(xs)
    x, y = np.log10(xs[o]), ys[o]
    if y[0] < level:
        return np.nan  # never reaches the level
    for i in range(len(x) - 1):
        if y[i] >= level > y[i + 1]:
            return float(10 ** (x[i] + (level - y[i]) * (x[i + 1] - x[i]) / (y[i + 1] - y[i])))
    return float(10 ** x[-1])  # above the level everywhere


def crossing_point(df: pd.DataFrame, x: str, y: str, level: float, *, group: str | None = None,
                   n_boot: int = 1000, seed=None) -> dict:
    """Where the mean of ``y`` over seeds, as a function of ``x`` (log scale), falls below ``level``.

    Points with the same ``x`` (or the same ``group``, whose ``x`` is averaged) are pooled; the
    curve of group means is interpolated linearly in ``log10(x)``. Returns ``x_star`` (NaN if the
    curve never reaches ``level``; the largest ``x`` if it never falls below) and a percentile
    bootstrap interval ``lo, hi`` from resampling seeds within each point.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"p": [0.001, 0.001, 0.01, 0.01, 0.1, 0.1], "spec": [0.9, 0.8, 0.5, 0.6, 0.1, 0.0]})
    >>> r = crossing_point(df, "p", "spec", 0.5, seed=0)
    >>> round(r["x_star"], 4), r["n_points"]
    (0.0126, 3)
    """
    level = check_float(level, "level")
    n_boot = check_int(n_boot, "n_boot", minimum=1)
    key = group if group is not None else x
    gs = [g for _, g in df.groupby(key, sort=False)]
    xs = np.array([g[x].astype(float).mean() for g in gs])
    if np.any(xs <= 0):
        raise ValueError(f"'{x}' must be positive (log scale); got {xs[xs <= 0].tolist()}")
    vals = [g[y].to_numpy(dtype=float) for g in gs]
    est = _crossing(xs, np.array([np.nanmean(v) for v in vals]), level)
    rng = as_rng(seed)
    boots = np.array([_crossing(xs, np.array([np.nanmean(v[rng.integers(0, len(v), len(v))]) for v in vals]), level)
                      for _ in range(n_boot)])
    ok = boots[np.isfinite(boots)]
    lo, hi = (np.quantile(ok, 0.025), np.quantile(ok, 0.975)) if len(ok) > 10 else (np.nan, np.nan)
    return {"x_star": est, "lo": float(lo), "hi": float(hi), "level": level, "n_points": len(gs),
            "n_seeds": int(min(len(v) for v in vals)), "reached": float(np.isfinite(boots).mean())}


def curve_shift(df: pd.DataFrame, reference: pd.DataFrame, x: str, y: str, *, by: str = "condition",
                ref_group: str | None = None, seed=None) -> pd.DataFrame:
    """How far each condition's mean ``y`` lies from the reference curve at the condition's own ``x``.

    The reference curve is the mean ``y`` per reference point (``ref_group``, default ``x``) against
    its mean ``x``, interpolated linearly in ``log10(x)`` (clamped at the ends: ``extrapolated`` marks a
    condition outside the reference range, compared with the nearest end). The shift of a
    condition is ``mean(y) - curve(mean(x))``. Its standard error combines the condition's and the two
    bracketing reference points' standard errors (weighted by the interpolation); the 95 % interval
    and the two-sided p-value use Welch's t with Satterthwaite's degrees of freedom (a t test, which
    stays honest with few seeds); ``p_holm`` adjusts the p-values over the conditions (Holm).

    Examples
    --------
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"p": [0.01] * 3 + [1.0] * 3, "spec": [0.8, 0.9, 0.85, 0.0, 0.1, 0.05]})
    >>> pri = pd.DataFrame({"condition": ["hi"] * 3 + ["same"] * 3, "p": [0.1] * 6,
    ...                     "spec": [0.9, 0.95, 0.92, 0.45, 0.5, 0.4]})
    >>> out = curve_shift(pri, ref, "p", "spec")
    >>> round(float(out["shift"][0]), 3), bool(abs(out["shift"][1]) < 1e-9)  # 'hi' lies above the curve
    (0.473, True)
    """
    rkey = ref_group if ref_group is not None else x
    rgs = [g for _, g in reference.groupby(rkey, sort=False)]
    rx = np.array([g[x].astype(float).mean() for g in rgs])
    o = np.argsort(rx)
    rx = rx[o]
    rvals = [rgs[i][y].to_numpy(dtype=float) for i in o]
    rm = np.array([np.nanmean(v) for v in rvals])
    rv = np.array([np.nanvar(v, ddof=1) / np.isfinite(v).sum() if np.isfinite(v).sum() > 1 else np.nan for v in rvals])
    rn = np.array([np.isfinite(v).sum() for v in rvals])
    rows = []
    for name, g in df.groupby(by, sort=False):
        gx, gy = g[x].to_numpy(dtype=float), g[y].to_numpy(dtype=float)
        gy = gy[np.isfinite(gy)]
        xm = np.nanmean(gx) if np.isfinite(gx).any() else np.nan
        row = {by: name, "x": xm, "y": float(np.mean(gy)) if len(gy) else np.nan, "reference": np.nan,
               "shift": np.nan, "lo": np.nan, "hi": np.nan, "p": np.nan, "n": len(g),
               "extrapolated": bool(np.isfinite(xm) and (xm < rx[0] or xm > rx[-1]))}
        if not np.isfinite(xm) or xm <= 0 or len(gy) < 2:
            rows.append(row)
            continue
        lx = np.log10(np.clip(xm, rx[0], rx[-1]))
        j = int(np.clip(np.searchsorted(np.log10(rx), lx), 1, len(rx) - 1)) if len(rx) > 1 else 0
        if len(rx) > 1:
            span = np.log10(rx[j]) - np.log10(rx[j - 1])
            w = 0.5 if span == 0 else (lx - np.log10(rx[j - 1])) / span  # two reference points at the same x
            wts, idx = np.array([1 - w, w]), np.array([j - 1, j])
        else:
            wts, idx = np.array([1.0]), np.array([0])
        ref = float(wts @ rm[idx])
        parts = np.r_[np.var(gy, ddof=1) / len(gy), wts**2 * rv[idx]]
        dofs = np.r_[len(gy) - 1, rn[idx] - 1]
        se = float(np.sqrt(np.nansum(parts)))
        keep = parts > 0
        dof = float(np.nansum(parts[keep]) ** 2 / np.nansum(parts[keep] ** 2 / dofs[keep])) if keep.any() else np.nan
        shift = row["y"] - ref
        row.update(reference=ref, shift=shift)
        if se > 0 and np.isfinite(dof):
            q = stats.t.ppf(0.975, dof)
            row.update(lo=shift - q * se, hi=shift + q * se, p=float(2 * stats.t.sf(abs(shift) / se, dof)))
        rows.append(row)
    out = pd.DataFrame(rows)
    out["p_holm"] = np.nan
    ok = out["p"].notna()
    if ok.any():
        out.loc[ok, "p_holm"] = adjust_pvalues(out.loc[ok, "p"].to_numpy(), "holm")
    return out


def _residualise(v: np.ndarray, Z: np.ndarray) -> np.ndarray:
    if Z.shape[1] == 0:
        return v - v.mean()
    X = np.column_stack([np.ones(len(v)), Z])
    beta, *_ = np.linalg.lstsq(X, v, rcond=None)
    return v - X @ beta


def _pcorr(x, y, Z) -> float:
    rx, ry = _residualise(x, Z), _residualise(y, Z)
    den = np.sqrt((rx**2).sum() * (ry**2).sum())
    return float((rx * ry).sum() / den) if den > 0 else np.nan


def partial_correlation(df: pd.DataFrame, x: str, y: str, covariates=(), *, cluster: str | None = None,
                        n_boot: int = 2000, seed=None) -> dict:
    """Pearson correlation of ``x`` and ``y`` after regressing both on ``covariates`` (with intercept).

    Returns ``r``, a percentile bootstrap interval ``lo, hi`` (rows resampled, or whole clusters
    when ``cluster`` names a column, e.g. the condition: seeds of one condition are not independent
    draws of the structure), a p-value (the t test with ``n - 2 - k`` degrees of freedom; with
    ``cluster``, the two-sided cluster-bootstrap p-value instead), ``n`` and ``n_clusters``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=200); x = z + rng.normal(size=200); y = z + rng.normal(size=200)
    >>> df = pd.DataFrame({"x": x, "y": y, "z": z})
    >>> raw, part = partial_correlation(df, "x", "y", seed=0), partial_correlation(df, "x", "y", ["z"], seed=0)
    >>> bool(raw["r"] > 0.3), bool(abs(part["r"]) < 0.15)
    (True, True)
    """
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    cols = [x, y, *covariates] + ([cluster] if cluster else [])
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"'df' lacks columns {missing}")
    d = df[cols].dropna()
    d = d[np.isfinite(d[[x, y, *covariates]].to_numpy(dtype=float)).all(axis=1)]
    n, k = len(d), len(covariates)
    if n < k + 4:
        return {"x": x, "y": y, "r": np.nan, "lo": np.nan, "hi": np.nan, "p": np.nan, "n": n, "n_clusters": 0}
    X, Y = d[x].to_numpy(float), d[y].to_numpy(float)
    Z = d[covariates].to_numpy(float).reshape(n, k)
    r = _pcorr(X, Y, Z)
    dof = n - 2 - k
    t = r * np.sqrt(dof / max(1e-12, 1 - r * r)) if np.isfinite(r) else np.nan
    p = float(2 * stats.t.sf(abs(t), dof)) if np.isfinite(t) else np.nan
    rng = as_rng(seed)
    groups = [np.flatnonzero(d[cluster].to_numpy() == c) for c in pd.unique(d[cluster])] if cluster else None
    boots = []
    for _ in range(check_int(n_boot, "n_boot", minimum=1)):
        if groups is not None:
            idx = np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])
        else:
            idx = rng.integers(0, n, n)
        boots.append(_pcorr(X[idx], Y[idx], Z[idx]))
    boots = np.asarray(boots)
    boots = boots[np.isfinite(boots)]
    lo, hi = (np.quantile(boots, 0.025), np.quantile(boots, 0.975)) if len(boots) else (np.nan, np.nan)
    if groups is not None and len(boots):  # networks of one condition are not independent: test by clusters too
        p = float(min(1.0, 2 * min((boots <= 0).mean(), (boots >= 0).mean()) + 1 / len(boots)))
    return {"x": x, "y": y, "r": r, "lo": float(lo), "hi": float(hi), "p": p, "n": n,
            "n_clusters": len(groups) if groups is not None else n}


def link_table(df: pd.DataFrame, predictors, outcomes, covariates=(), *, cluster: str | None = None,
               n_boot: int = 2000, seed=None) -> pd.DataFrame:
    """Partial correlations of every predictor with every outcome, Holm-adjusted over the whole table.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> a = rng.normal(size=100)
    >>> df = pd.DataFrame({"q": a, "spec": rng.normal(size=100), "zero_shot": a + rng.normal(size=100), "acc": 1.0})
    >>> t = link_table(df, ["q", "spec"], ["zero_shot"], n_boot=200, seed=0)
    >>> t[["x", "y"]].values.tolist(), bool(t.p_holm.iloc[0] < 0.01)
    ([['q', 'zero_shot'], ['spec', 'zero_shot']], True)
    """
    predictors = [predictors] if isinstance(predictors, str) else list(predictors)
    outcomes = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    rng = as_rng(seed)
    rows = [partial_correlation(df, p, o, covariates, cluster=cluster, n_boot=n_boot, seed=rng)
            for p in predictors for o in outcomes]
    out = pd.DataFrame(rows)
    out["covariates"] = ", ".join(covariates) if not isinstance(covariates, str) else covariates
    out["p_holm"] = np.nan
    ok = out["p"].notna()
    if ok.any():
        out.loc[ok, "p_holm"] = adjust_pvalues(out.loc[ok, "p"].to_numpy(), "holm")
    return out
