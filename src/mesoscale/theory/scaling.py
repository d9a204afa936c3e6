"""Finite-size scaling: extrapolate the transitions of :mod:`~mesoscale.theory.transitions` to n -> inf.

:func:`finite_size_scaling` fits the size dependence of the per-size transition locations of
:func:`~mesoscale.theory.transitions.locate_transition`, ``x_c(n) = x_c + a * n**(-omega)``
(``omega = 1/nu`` when the size is the number of nodes), with bootstrap errors over seeds;
:func:`fss_table` lays several fits side by side. :func:`data_collapse` finds the critical point and
exponent that collapse the curves of several sizes onto one (Houdayer & Hartmann 2004), with bootstrap
uncertainties.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float, check_frame, check_int
from .transitions import locate_transition

__all__ = ["finite_size_scaling", "FSSResult", "fss_table", "data_collapse", "CollapseResult", "transition_report"]


# --------------------------------------------------------------------------------------------
# finite-size scaling
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class FSSResult:
    """Result of :func:`finite_size_scaling`.

    Attributes
    ----------
    x_c, x_c_se : float
        Infinite-size critical point and its bootstrap standard error.
    exponent, exponent_se : float
        Shift exponent ``omega`` in ``x_c(n) = x_c + a n**-omega`` (``1/nu`` when the size is the
        number of nodes) and its bootstrap standard error (0 if it was held fixed).
    amplitude : float
        ``a``.
    locations : DataFrame
        The per-size locations that were fitted (from :func:`locate_transition`).
    bootstrap : ndarray, shape (n_boot, 3)
        Bootstrap samples of ``(x_c, exponent, amplitude)``.
    method : str
        Location method.
    exponent_at_bound : bool
        The fitted exponent sits at an end of ``exponent_bounds``: the sizes do not constrain it,
        and ``x_c`` is then only as good as that assumption (try a fixed ``exponent``).

    Examples
    --------
    >>> from mesoscale.theory import scan
    >>> def step(x, n, seed):
    ...     noise = np.random.default_rng(seed).normal(0, 0.01)
    ...     return float(1 / (1 + np.exp(-(x - 1 - 2 / n) * np.sqrt(n))) + noise)
    >>> df = scan(step, np.linspace(0.6, 1.6, 41), [25, 100, 400], 4, seed=0, progress=False)
    >>> fit = finite_size_scaling(df, method="level", level=0.5, exponent=1.0, n_boot=20, seed=0)
    >>> type(fit).__name__, round(fit.x_c, 2), round(fit.amplitude, 1), fit.exponent_se, fit.bootstrap.shape
    ('FSSResult', 1.0, 2.0, 0.0, (20, 3))
    >>> lo, hi = fit.ci("x_c")
    >>> bool(lo <= fit.x_c <= hi), fit.predict([100]).round(2).tolist()
    (True, [1.02])
    """

    x_c: float
    x_c_se: float
    exponent: float
    exponent_se: float
    amplitude: float
    locations: pd.DataFrame
    bootstrap: np.ndarray
    method: str
    exponent_at_bound: bool = False

    def ci(self, which: str = "x_c", level: float = 0.95) -> tuple[float, float]:
        """Percentile bootstrap interval of ``"x_c"``, ``"exponent"`` or ``"amplitude"``."""
        check_choice(which, "which", ("x_c", "exponent", "amplitude"))
        level = check_float(level, "level", minimum=0.0, maximum=1.0)
        col = {"x_c": 0, "exponent": 1, "amplitude": 2}[which]
        s = self.bootstrap[:, col]
        s = s[np.isfinite(s)]
        if s.size == 0:
            return (np.nan, np.nan)
        a = 100 * (1 - level) / 2
        return float(np.percentile(s, a)), float(np.percentile(s, 100 - a))

    def predict(self, size) -> np.ndarray:
        """Finite-size location ``x_c + a * size**-exponent``."""
        return self.x_c + self.amplitude * np.asarray(size, dtype=float) ** (-self.exponent)


def _fit_shift(n: np.ndarray, x: np.ndarray, w: np.ndarray, exponent: float | None,
               bounds: tuple[float, float]) -> tuple[float, float, float]:
    """Weighted least squares for ``x = x_c + a n**-omega``; omega by a bounded 1-D search."""
    from scipy.optimize import minimize_scalar

    ok = np.isfinite(x) & np.isfinite(w)
    n, x, w = n[ok], x[ok], w[ok]
    need = 2 if exponent is not None else 3
    if n.size < need:
        return np.nan, np.nan, np.nan

    def solve(om):
        X = np.column_stack([np.ones_like(n), n ** (-om)])
        sw = np.sqrt(w)
        coef, *_ = np.linalg.lstsq(X * sw[:, None], x * sw, rcond=None)
        res = x - X @ coef
        return float(np.sum(w * res**2)), coef

    if exponent is not None:
        _, coef = solve(exponent)
        return float(coef[0]), float(exponent), float(coef[1])
    grid = np.geomspace(bounds[0], bounds[1], 60)
    sse = np.array([solve(g)[0] for g in grid])
    k = int(np.argmin(sse))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    if hi > lo:
        r = minimize_scalar(lambda g: solve(g)[0], bounds=(lo, hi), method="bounded")
        om = float(r.x) if r.fun <= sse[k] else float(grid[k])
    else:
        om = float(grid[k])
    _, coef = solve(om)
    return float(coef[0]), om, float(coef[1])


def finite_size_scaling(
    df: pd.DataFrame,
    method: str = "peak",
    *,
    value: str = "value",
    level: float | None = None,
    window: tuple[float, float] | None = None,
    exponent: float | None = None,
    exponent_bounds: tuple[float, float] = (0.2, 2.0),
    n_boot: int = 200,
    seed=None,
) -> FSSResult:
    """Extrapolate the transition to infinite size: ``x_c(n) = x_c + a * n**(-omega)``.

    The per-size locations come from :func:`locate_transition`. The fit is weighted least
    squares (weights ``1 / se**2`` of the bootstrap, or equal weights without a bootstrap); with
    ``exponent=None`` the shift exponent ``omega`` is fitted too (a bounded 1-D search in
    ``exponent_bounds``, the other two parameters being linear), which needs at least three sizes.
    Uncertainties come from refitting every bootstrap resample of the seeds, so they include
    the noise of the location estimates and of the fit.

    Parameters
    ----------
    df : DataFrame
        Output of :func:`scan` with at least 2 (fixed exponent) or 3 sizes.
    method, value, level, window
        As in :func:`locate_transition`.
    exponent : float, optional
        Hold ``omega`` fixed (e.g. a theoretical value) and fit only ``x_c`` and ``a``.
    exponent_bounds : (float, float), default (0.2, 2.0)
        Search range for ``omega``. Very small ``omega`` makes ``n**-omega`` nearly linear in
        ``log n`` and lets ``x_c`` run off to any value, hence the lower bound; a result at either
        bound is flagged in :attr:`FSSResult.exponent_at_bound`.
    n_boot : int, default 200
        Bootstrap resamples (>= 2).
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    FSSResult

    Examples
    --------
    >>> import numpy as np
    >>> from mesoscale.theory import scan, finite_size_scaling
    >>> def m(x, n, seed):   # transition at 1 + 2 n**-0.5, width n**-0.5
    ...     rng = np.random.default_rng(seed)
    ...     xc = 1 + 2 / np.sqrt(n)
    ...     return float(1 / (1 + np.exp(-(x - xc) * np.sqrt(n))) + rng.normal(0, 0.01))
    >>> df = scan(m, np.linspace(0.8, 1.6, 81), [100, 400, 1600, 6400], 3, seed=0, progress=False)
    >>> fss = finite_size_scaling(df, "level", level=0.5, n_boot=30, seed=0)
    >>> abs(fss.x_c - 1) < 0.03, abs(fss.exponent - 0.5) < 0.15
    (True, True)
    """
    df = check_frame(df, ("size", "control", value), made_by="scan")
    n_boot = check_int(n_boot, "n_boot", minimum=2)
    if exponent is not None:
        exponent = check_float(exponent, "exponent", minimum=0.0)
        if exponent <= 0:
            raise ValueError(f"'exponent' must be > 0; got {exponent}")
    lo_b = check_float(exponent_bounds[0], "exponent_bounds[0]", minimum=1e-6)
    hi_b = check_float(exponent_bounds[1], "exponent_bounds[1]", minimum=lo_b)
    sizes = np.sort(df["size"].unique())
    n_loc = sizes.size - (1 if method == "crossing" else 0)
    need = 2 if exponent is not None else 3
    if n_loc < need:
        raise ValueError(
            f"finite_size_scaling needs >= {need} locations (sizes {sizes.tolist()} with "
            f"method={method!r}); add sizes or fix 'exponent'"
        )
    loc = locate_transition(df, method, value=value, level=level, window=window, n_boot=n_boot,
                            seed=seed)
    n = loc["size"].to_numpy(dtype=float)
    if method == "crossing":  # a crossing of sizes (n1, n2) is attributed to their geometric mean
        n = np.sqrt(n * loc["size_small"].to_numpy(dtype=float))
    x = loc["x_c"].to_numpy()
    se = loc["x_c_se"].to_numpy()
    floor = np.nanmedian(se[se > 0]) * 0.1 if np.any(se > 0) else 1.0
    w = 1.0 / np.maximum(np.nan_to_num(se, nan=np.inf), floor) ** 2
    w = np.where(np.isfinite(w) & (w > 0), w, 1.0 / floor**2)
    bounds = (lo_b, hi_b)
    xc, om, a = _fit_shift(n, x, w, exponent, bounds)
    boots = np.array([_fit_shift(n, xb, w, exponent, bounds) for xb in loc.attrs["bootstrap"]])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x_se = float(np.nanstd(boots[:, 0], ddof=1))
        om_se = 0.0 if exponent is not None else float(np.nanstd(boots[:, 1], ddof=1))
    at_bound = exponent is None and bool(
        np.isfinite(om) and (om <= lo_b * 1.01 or om >= hi_b * 0.99)
    )
    return FSSResult(xc, x_se, om, om_se, a, loc, boots, method, at_bound)


def fss_table(fits, *, x_label: str = "x_c (n → ∞)", reference: float | None = None) -> pd.DataFrame:
    """One row per finite-size-scaling fit: the extrapolated location with its bootstrap spread and
    95 % interval, and the shift exponent (flagged when it sits at its search bound).

    Parameters
    ----------
    fits : mapping of name -> FSSResult
        e.g. the free fit and fits with the exponent held fixed, or one fit per wiring rule.
    x_label : str
        Column name of the extrapolated location.
    reference : float, optional
        A known location (e.g. 1 for the SBM threshold): adds the column ``|x_c − reference|``.

    Examples
    --------
    >>> boot = np.array([[0.99, 0.4, 1.0], [1.02, 0.5, 1.0], [1.05, 0.6, 1.0]])
    >>> fit = FSSResult(x_c=1.02, x_c_se=0.03, exponent=0.5, exponent_se=0.1, amplitude=1.0,
    ...                 locations=pd.DataFrame(), bootstrap=boot, method="peak")
    >>> fss_table({"free ω": fit}, reference=1.0).loc["free ω", ["x_c (n → ∞)", "ω", "|x_c − 1|"]].round(3).tolist()
    [1.02, 0.5, 0.02]
    """
    rows = []
    for name, f in dict(fits).items():
        lo, hi = f.ci("x_c")
        row = {"fit": name, x_label: f.x_c, "bootstrap sd": f.x_c_se, "95% low": lo, "95% high": hi,
               "ω": f.exponent, "ω sd": f.exponent_se, "ω at search bound": f.exponent_at_bound}
        if reference is not None:
            row[f"|x_c − {reference:g}|"] = abs(f.x_c - reference)
        rows.append(row)
    return pd.DataFrame(rows).set_index("fit") if rows else pd.DataFrame(columns=["fit", x_label]).set_index("fit")


# --------------------------------------------------------------------------------------------
# data collapse
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CollapseResult:
    """Result of :func:`data_collapse`.

    Attributes
    ----------
    x_c, exponent : float
        The critical point and the exponent ``a`` of the scaling variable ``(x - x_c) n**a``
        (``a = 1/nu`` with the size counted in nodes).
    quality : float
        The collapse cost at the optimum (about 1 for a collapse within the error bars).
    x_c_se, exponent_se : float
        Bootstrap standard deviations (seeds resampled per size, the collapse refitted).
    bootstrap : ndarray, shape (n_boot, 2)
        Bootstrap ``(x_c, exponent)``.
    fixed_x_c : bool
        ``x_c`` was held fixed (a collapse in the theory's variable).

    Examples
    --------
    >>> r = CollapseResult(1.0, 0.5, 1.1, 0.01, 0.05, np.array([[1.0, 0.5], [1.02, 0.55]]), False)
    >>> r.ci("x_c")
    (1.0005, 1.0195)
    """

    x_c: float
    exponent: float
    quality: float
    x_c_se: float
    exponent_se: float
    bootstrap: np.ndarray
    fixed_x_c: bool = False

    def ci(self, which: str = "x_c", level: float = 0.95) -> tuple[float, float]:
        """Percentile bootstrap interval of ``"x_c"`` or ``"exponent"``."""
        check_choice(which, "which", ("x_c", "exponent"))
        level = check_float(level, "level", minimum=0.0, maximum=1.0)
        s = self.bootstrap[:, 0 if which == "x_c" else 1]
        s = s[np.isfinite(s)]
        if s.size == 0:
            return (np.nan, np.nan)
        a = 100 * (1 - level) / 2
        return float(np.percentile(s, a)), float(np.percentile(s, 100 - a))


def _means(df, value):
    g = df.groupby(["size", "control"])[value]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["se"] = out["std"] / np.sqrt(out["count"])
    return out


def _collapse_cost(curves, x_c, a):
    """Houdayer--Hartmann cost: every point against the other sizes' curves at its scaled control."""
    scaled = [((x - x_c) * n**a, y, e) for n, x, y, e in curves]
    total, count = 0.0, 0
    for i, (si, yi, ei) in enumerate(scaled):
        vsum = np.zeros(si.size)
        esum = np.zeros(si.size)
        k = np.zeros(si.size)
        for j, (sj, yj, ej) in enumerate(scaled):
            if j == i:
                continue
            inside = (si >= sj[0]) & (si <= sj[-1])
            vsum += np.where(inside, np.interp(si, sj, yj), 0.0)
            esum += np.where(inside, np.interp(si, sj, ej) ** 2, 0.0)
            k += inside
        ok = k > 0
        if ok.any():
            Y = vsum[ok] / k[ok]
            dY2 = esum[ok] / k[ok] ** 2
            total += float(np.sum((yi[ok] - Y) ** 2 / np.maximum(ei[ok] ** 2 + dY2, 1e-12)))
            count += int(ok.sum())
    return total / count if count >= 3 else np.inf


def _fit_collapse(df, value, x_c0, a0, fix_x_c, bounds):
    from scipy.optimize import minimize

    m = _means(df, value)
    floor = np.nanmedian(m["se"][m["se"] > 0]) if np.any(m["se"] > 0) else 1e-3
    curves = []
    for n, g in m.groupby("size"):
        g = g.sort_values("control")
        curves.append((float(n), g["control"].to_numpy(float), g["mean"].to_numpy(float),
                       np.maximum(np.nan_to_num(g["se"].to_numpy(float), nan=floor), 0.1 * floor)))
    lo_a, hi_a = bounds
    if fix_x_c:
        from scipy.optimize import minimize_scalar

        r = minimize_scalar(lambda a: _collapse_cost(curves, x_c0, a), bounds=(lo_a, hi_a), method="bounded")
        return x_c0, float(r.x), float(r.fun)
    best = None
    for a_start in np.linspace(lo_a, hi_a, 5)[1:-1].tolist() + [a0]:
        r = minimize(lambda v: _collapse_cost(curves, v[0], float(np.clip(v[1], lo_a, hi_a))),
                     [x_c0, a_start], method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-4, "maxiter": 400})
        if best is None or r.fun < best.fun:
            best = r
    return float(best.x[0]), float(np.clip(best.x[1], lo_a, hi_a)), float(best.fun)


def data_collapse(df: pd.DataFrame, value: str = "value", *, x_c: float | None = None, exponent: float = 0.5,
                  fix_x_c: bool = False, exponent_bounds: tuple[float, float] = (0.05, 2.0), n_boot: int = 100,
                  seed=None) -> CollapseResult:
    """Collapse the curves of several sizes onto one: ``y = F((x - x_c) n**a)``.

    The cost is that of Houdayer & Hartmann (2004): every mean is compared with the other sizes'
    curves (linearly interpolated) at its scaled control value, in units of the combined standard
    errors, and averaged -- about 1 when the curves collapse within their error bars, much more when
    they do not. ``x_c`` and ``a`` minimise it (Nelder--Mead from several starts); with
    ``fix_x_c=True`` only ``a`` is fitted (a collapse in the theory's variable: does the predicted
    ``x_c`` collapse the data?). Uncertainties: the seeds of every size are resampled with
    replacement and the collapse refitted ``n_boot`` times.

    Parameters
    ----------
    df : DataFrame
        Output of :func:`~mesoscale.theory.scan` (``size``, ``control``, ``replicate``, ``value``).
    value : str
        The order parameter.
    x_c : float, optional
        Starting (or, with ``fix_x_c``, fixed) critical point; default the middle of the controls.
    exponent : float
        Starting exponent.
    exponent_bounds : (float, float)
        Range of ``a`` (negative exponents collapse a control that grows with size, e.g. a range
        in spacings: ``x_c = 0`` and ``a = -1/dim`` give ``R n**(-1/dim)``).
    n_boot : int
        Bootstrap refits (0: none).
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    CollapseResult

    Examples
    --------
    >>> from mesoscale.theory import scan
    >>> def m(x, n, seed):
    ...     rng = np.random.default_rng(seed)
    ...     return float(1 / (1 + np.exp(-(x - 1.0) * n ** 0.5)) + rng.normal(0, 0.02))
    >>> df = scan(m, np.linspace(0.7, 1.3, 25), [100, 400, 1600], 6, seed=0, progress=False)
    >>> r = data_collapse(df, x_c=0.95, exponent=0.3, n_boot=3, seed=0)
    >>> abs(r.x_c - 1.0) < 0.02, abs(r.exponent - 0.5) < 0.1, r.quality < 3
    (True, True, True)
    """
    from .._validation import as_rng

    df = check_frame(df, ("size", "control", value), made_by="scan")
    df = df[np.isfinite(df[value].to_numpy(dtype=float))]
    if df["size"].nunique() < 2:
        raise ValueError(f"data_collapse needs at least 2 sizes; got {sorted(df['size'].unique().tolist())}")
    lo_a = check_float(exponent_bounds[0], "exponent_bounds[0]")
    hi_a = check_float(exponent_bounds[1], "exponent_bounds[1]", minimum=lo_a)
    exponent = check_float(exponent, "exponent", minimum=lo_a, maximum=hi_a)
    n_boot = check_int(n_boot, "n_boot", minimum=0)
    x0 = float(np.median(df["control"].unique())) if x_c is None else check_float(x_c, "x_c")
    xc, a, cost = _fit_collapse(df, value, x0, exponent, fix_x_c, (lo_a, hi_a))
    rng = as_rng(seed)
    boots = np.full((n_boot, 2), np.nan)
    rep = "replicate" if "replicate" in df.columns else None
    for b in range(n_boot):
        parts = []
        for n, g in df.groupby("size"):
            if rep is not None:
                ids = g[rep].unique()
                pick = rng.choice(ids, ids.size, replace=True)
                parts.append(pd.concat([g[g[rep] == i].assign(**{rep: k}) for k, i in enumerate(pick)]))
            else:
                parts.append(g.groupby("control", group_keys=False).apply(
                    lambda h: h.sample(len(h), replace=True, random_state=int(rng.integers(2**31)))))
        boots[b] = _fit_collapse(pd.concat(parts), value, xc, a, fix_x_c, (lo_a, hi_a))[:2]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        xse = 0.0 if fix_x_c else (float(np.nanstd(boots[:, 0], ddof=1)) if n_boot > 1 else np.nan)
        ase = float(np.nanstd(boots[:, 1], ddof=1)) if n_boot > 1 else np.nan
    return CollapseResult(xc, a, cost, xse, ase, boots, bool(fix_x_c))


def transition_report(df: pd.DataFrame, fits: dict, value: str = "value") -> str:
    """A sentence (Markdown) on what a scan's susceptibility peaks and finite-size fits support.

    States the peak height of ``size * Var(value)`` at every size and whether it grows with ``n``, and
    whether the free-exponent fit (the first of ``fits`` whose exponent was not held fixed) sits at
    its search bound -- two readings that text about a transition must not get wrong.

    Examples
    --------
    >>> from mesoscale.theory import scan
    >>> def m(x, n, seed):
    ...     rng = np.random.default_rng(seed)
    ...     return float(1 / (1 + np.exp(-(x - 1) * n ** 0.5)) + rng.normal(0, 0.05))
    >>> df = scan(m, np.linspace(0.6, 1.4, 17), [50, 200, 800], 4, seed=0, progress=False)
    >>> fit = finite_size_scaling(df, "peak", exponent=0.5, n_boot=5, seed=0)
    >>> transition_report(df, {"ω = 0.5 (fixed)": fit}).startswith("Peak heights")
    True
    """
    from .transitions import summarize

    heights = summarize(df, value).groupby("size")["susceptibility"].max()
    text = "Peak heights of the susceptibility: " + ", ".join(f"n = {n}: {h:.2g}" for n, h in heights.items())
    if heights.is_monotonic_increasing:
        text += " -- they grow with n, as at a continuous transition."
    else:
        text += (" -- they do **not** grow monotonically with n, so with these seeds the height is too noisy to be "
                 "evidence; the evidence is the sharpening of the curves and the peak locations.")
    free = [(k, f) for k, f in dict(fits).items() if f.exponent_se > 0 or f.exponent_at_bound]
    if free:
        name, f = free[0]
        lo, hi = f.ci()
        text += f" The free fit ({name}) gives x_c = {f.x_c:.3g} [{lo:.3g}, {hi:.3g}] with ω = {f.exponent:.2f}"
        text += (" **at its search bound**: the sizes do not constrain the exponent, so read the fixed-exponent fits, "
                 "whose spread is part of the uncertainty." if f.exponent_at_bound else ", inside its search range.")
    return text
