"""Finite-size scaling: extrapolate the transitions of :mod:`~mesoscale.theory.transitions` to n -> inf.

:func:`finite_size_scaling` fits the size dependence of the per-size transition locations of
:func:`~mesoscale.theory.transitions.locate_transition`, ``x_c(n) = x_c + a * n**(-omega)``
(``omega = 1/nu`` when the size is the number of nodes), with bootstrap errors over seeds;
:func:`fss_table` lays several fits side by side.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float, check_frame, check_int
from .transitions import locate_transition

__all__ = ["finite_size_scaling", "FSSResult", "fss_table"]


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
