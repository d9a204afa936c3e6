"""Detect phase transitions in an order parameter and extrapolate them with finite-size scaling.

The workflow has three steps, each a function that takes and returns tidy tables:

1. :func:`scan` evaluates an *order parameter* ``f(control, size, seed)`` on a grid of control
   values, system sizes and independent seeds and returns one row per evaluation.
2. :func:`summarize` reduces the seeds to the mean, the spread, the *susceptibility*
   ``chi = size * Var`` (the fluctuation of the order parameter across realisations, which peaks
   at a continuous transition) and the *Binder cumulant* ``U = 1 - <m^4> / (3 <m^2>^2)``.
   :func:`locate_transition` finds the transition of every size (the susceptibility peak,
   the crossing of the Binder cumulants of successive sizes, or the control value where the
   mean crosses a level), with bootstrap uncertainties over seeds.
3. :func:`mesoscale.theory.scaling.finite_size_scaling` fits the size dependence of those locations,
   ``x_c(n) = x_c + a * n**(-omega)`` (``omega = 1/nu`` when the size is the number of nodes),
   and returns the infinite-size critical point, the exponent and their bootstrap errors.

Examples
--------
A toy order parameter with a sharp step at ``x = 1`` smeared over ``n**-0.5``:

>>> import numpy as np
>>> from mesoscale.theory import scan, locate_transition
>>> def m(x, n, seed):
...     rng = np.random.default_rng(seed)
...     return float(1 / (1 + np.exp(-(x - 1) * np.sqrt(n))) + rng.normal(0, 0.01))
>>> df = scan(m, np.linspace(0.5, 1.5, 21), [100, 400], 4, seed=0, progress=False)
>>> sorted(df.columns)
['control', 'replicate', 'size', 'value']
>>> loc = locate_transition(df, method="level", level=0.5, n_boot=20, seed=0)
>>> bool(np.allclose(loc["x_c"], 1.0, atol=0.03))
True
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .._validation import as_rng, check_choice, check_float, check_frame, check_int

__all__ = [
    "scan",
    "summarize",
    "locate_transition",
]

_KEYS = ("size", "control", "replicate")


# --------------------------------------------------------------------------------------------
# scan
# --------------------------------------------------------------------------------------------
def _check_values(values, name: str, *, integer: bool = False) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"'{name}' must be a non-empty 1-D sequence; got {values!r}")
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or arr.dtype == bool:
        raise TypeError(f"'{name}' must contain numbers; got {values!r}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"'{name}' must be finite; got {values!r}")
    if np.unique(arr).size != arr.size:
        raise ValueError(f"'{name}' must not contain duplicates; got {values!r}")
    if integer:
        if not np.all(arr == np.round(arr)) or np.any(arr < 1):
            raise ValueError(f"'{name}' must be positive integers; got {values!r}")
        arr = arr.astype(np.int64)
    return arr


class _ScanTask:
    """Picklable sweep task: one curve (common random numbers) or one point of the scan."""

    def __init__(self, order_parameter, controls, name):
        self.order_parameter = order_parameter
        self.controls = controls
        self.name = name

    def _row(self, x, n, r, ss):
        out = self.order_parameter(float(x), int(n), ss)
        row = {"control": float(x)}
        if isinstance(out, Mapping):
            if not out:
                raise ValueError("order_parameter returned an empty mapping")
            for k, v in out.items():
                if k in _KEYS:
                    raise ValueError(f"order_parameter returned a reserved key {k!r}")
                row[str(k)] = _as_float(v, k)
        else:
            row[self.name] = _as_float(out, self.name)
        return row

    def __call__(self, params, rng):
        n, r = int(params["size"]), int(params["replicate"])
        entropy = int(rng.integers(0, 2**63 - 1))
        if "control" in params:  # independent realisation per point
            row = self._row(params["control"], n, r, np.random.SeedSequence(entropy))
            del row["control"]
            return row
        # common random numbers: the same seed at every control value of this replicate
        return [self._row(x, n, r, np.random.SeedSequence(entropy)) for x in self.controls]


def scan(
    order_parameter: Callable,
    control_values: Sequence[float],
    sizes: Sequence[int],
    n_seeds: int,
    seed=None,
    *,
    store=None,
    client="inline",
    common_random_numbers: bool = True,
    progress: bool = True,
    name: str = "value",
    **sweep_kwargs,
) -> pd.DataFrame:
    """Evaluate an order parameter over control values, sizes and independent seeds.

    The work runs through :func:`mesoscale.sweep.run_sweep`, so a ``store`` directory makes the
    scan persistent and resumable (finished tasks are never recomputed; re-rendering a notebook
    only reads the store), and ``client``/``scheduler`` send it to a Dask cluster.

    Parameters
    ----------
    order_parameter : callable
        ``order_parameter(control, size, seed)`` returning a float, or a mapping of names to
        floats (several observables of one realisation, e.g. the overlap and the modularity).
        ``seed`` is a :class:`numpy.random.SeedSequence`; pass it on to ``as_rng`` or to any
        function of :mod:`mesoscale` that takes ``seed``. It must be picklable by cloudpickle
        when a Dask client is used (module-level functions and notebook functions are).
    control_values : sequence of float
        Values of the control parameter (e.g. ``delta / delta_c`` or ``eta``).
    sizes : sequence of int
        System sizes (numbers of nodes).
    n_seeds : int
        Independent realisations per (size, control) point (>= 2 for a variance).
    seed : None, int or SeedSequence
        Root of all randomness; each task's stream depends on it and on the task's parameters
        only (see :mod:`mesoscale.sweep`), never on the order or parallelism of the work.
    store : str or path, optional
        Directory of a persistent sweep store (``None``: in memory).
    client : dask Client, "inline" or None, default "inline"
        Where to run (see :func:`mesoscale.sweep.run_sweep`); ``"inline"`` runs in this
        process, ``None`` starts a local Dask cluster.
    common_random_numbers : bool, default True
        Use replicate ``r``'s seed at every control value of a size (one sweep task per
        curve), so each replicate traces a smooth curve and locations are less noisy; with
        ``False`` every point is an independent task and an independent realisation.
    progress : bool, default True
        Show a ``tqdm`` progress bar.
    name : str, default "value"
        Column name of a scalar order parameter.
    **sweep_kwargs
        Passed to :func:`~mesoscale.sweep.run_sweep` (e.g. ``scheduler``, ``n_jobs``).

    Returns
    -------
    DataFrame
        One row per evaluation with columns ``size``, ``control``, ``replicate`` and one column
        per observable, sorted by size, control and replicate.

    Examples
    --------
    An order parameter with two observables; each replicate uses one seed at every control value:

    >>> def order(x, n, seed):
    ...     rng = np.random.default_rng(seed)
    ...     return {"m": float(x > 1 + rng.normal(0, 1 / np.sqrt(n))), "x2": x * x}
    >>> df = scan(order, [0.8, 1.0, 1.2], [16, 64], 3, seed=0, progress=False)
    >>> df.shape, list(df.columns)
    ((18, 5), ['size', 'control', 'replicate', 'm', 'x2'])
    >>> df.groupby("size").replicate.nunique().tolist(), sorted(df.m.unique().tolist())
    ([3, 3], [0.0, 1.0])
    """
    from ..sweep import grid_product, run_sweep

    if not callable(order_parameter):
        raise TypeError(f"'order_parameter' must be callable; got {order_parameter!r}")
    controls = _check_values(control_values, "control_values")
    sizes_arr = _check_values(sizes, "sizes", integer=True)
    n_seeds = check_int(n_seeds, "n_seeds", minimum=1)
    if not isinstance(name, str) or name in _KEYS:
        raise ValueError(f"'name' must be a string other than {list(_KEYS)}; got {name!r}")
    if not isinstance(common_random_numbers, (bool, np.bool_)):
        raise TypeError(f"'common_random_numbers' must be a bool; got {common_random_numbers!r}")
    ctrl = [float(x) for x in controls]
    task = _ScanTask(order_parameter, ctrl, name)
    axes = {"size": [int(n) for n in sizes_arr], "replicate": list(range(n_seeds))}
    if not common_random_numbers:
        axes = {"size": axes["size"], "control": ctrl, "replicate": axes["replicate"]}
    grid = grid_product(**axes)
    df = run_sweep(task, grid, store, client=client, seed=seed, progress=progress, **sweep_kwargs)
    attrs = dict(df.attrs)
    failures = attrs.get("sweep", {}).get("failures") or []
    if len(df) == 0 and failures:
        first = failures[0]
        raise RuntimeError(
            f"every scan task failed; first: {first.get('error')}: {first.get('message')}"
        )
    df = df[[c for c in df.columns if not str(c).startswith("__")]]
    df = df.astype({"size": np.int64, "replicate": np.int64, "control": float})
    cols = list(_KEYS) + [c for c in df.columns if c not in _KEYS]
    df = df[cols].sort_values(list(_KEYS), kind="stable").reset_index(drop=True)
    df.attrs.update(attrs)
    return df


def _as_float(v, name) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"order_parameter must return real numbers; {name!r} was {v!r}")
    return float(v)


# --------------------------------------------------------------------------------------------
# summaries
# --------------------------------------------------------------------------------------------
def summarize(df: pd.DataFrame, value: str = "value") -> pd.DataFrame:
    """Mean, spread, susceptibility and Binder cumulant of an order parameter per size and control.

    Parameters
    ----------
    df : DataFrame
        Output of :func:`scan` (columns ``size``, ``control`` and ``value``).
    value : str, default "value"
        The observable to summarise.

    Returns
    -------
    DataFrame
        Columns ``size``, ``control``, ``n_seeds``, ``mean``, ``sd`` (ddof=1), ``sem``,
        ``susceptibility`` (``size * Var``, ddof=1) and ``binder``
        (``1 - <m^4> / (3 <m^2>^2)``; NaN where ``<m^2> = 0``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"size": [10] * 4, "control": [0.0, 0.0, 1.0, 1.0],
    ...                    "value": [0.0, 2.0, 1.0, 1.0]})
    >>> summarize(df)[["control", "mean", "susceptibility"]].round(6).values.tolist()
    [[0.0, 1.0, 20.0], [1.0, 1.0, 0.0]]
    """
    df = check_frame(df, ("size", "control", value), made_by="scan")
    g = df.groupby(["size", "control"], sort=True)[value]
    out = g.agg(n_seeds="count", mean="mean", sd=lambda s: s.std(ddof=1) if len(s) > 1 else np.nan)
    m2 = g.apply(lambda s: np.mean(np.asarray(s) ** 2))
    m4 = g.apply(lambda s: np.mean(np.asarray(s) ** 4))
    out["sem"] = out["sd"] / np.sqrt(out["n_seeds"])
    sizes = out.index.get_level_values("size").to_numpy(dtype=float)
    out["susceptibility"] = sizes * out["sd"] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        out["binder"] = np.where(m2 > 0, 1.0 - m4 / (3.0 * m2**2), np.nan)
    return out.reset_index()


# --------------------------------------------------------------------------------------------
# locating the transition
# --------------------------------------------------------------------------------------------
def _peak(x: np.ndarray, y: np.ndarray) -> float:
    """Location of the maximum of a noisy, positive, peaked curve.

    A Gaussian (a parabola in ``log y``) is fitted by least squares to the contiguous points
    around the highest one that lie above half its height (at least the highest point and its
    two neighbours); its centre, kept inside the fitted range, is the estimate. Using the whole
    half-maximum region rather than the single highest point makes the estimate much less
    sensitive to the sampling noise of a variance.
    """
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size == 0:
        return np.nan
    i = int(np.argmax(y))
    if x.size < 3 or y[i] <= 0:
        return float(x[i])
    half = 0.5 * y[i]
    lo = i
    while lo > 0 and y[lo - 1] >= half:
        lo -= 1
    hi = i
    while hi < x.size - 1 and y[hi + 1] >= half:
        hi += 1
    lo, hi = max(0, min(lo, i - 1)), min(x.size - 1, max(hi, i + 1))
    xs, ys = x[lo : hi + 1], y[lo : hi + 1]
    if xs.size < 3 or np.any(ys <= 0):
        return float(x[i])
    a, b, _ = np.polyfit(xs - x[i], np.log(ys), 2)
    if a >= 0:
        return float(x[i])
    return float(np.clip(-b / (2 * a) + x[i], xs[0], xs[-1]))


def _level_crossing(x: np.ndarray, y: np.ndarray, level: float, *, steepest: bool = False) -> float:
    """Control value where a sampled curve crosses ``level`` (linear interpolation).

    The first crossing, or with ``steepest=True`` the crossing where the curve changes most
    between grid points (noise makes flat curves cross ``level`` spuriously, a real crossing of
    two scaling curves is where their difference changes fastest).
    """
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    d = y - level
    if d.size == 0:
        return np.nan
    idx = np.flatnonzero((np.sign(d[1:]) != np.sign(d[:-1])) | (d[:-1] == 0))
    if idx.size == 0:
        return float(x[-1]) if d[-1] == 0 else np.nan
    i = int(idx[np.argmax(np.abs(d[idx + 1] - d[idx]))]) if steepest else int(idx[0])
    if d[i + 1] == d[i]:
        return float(x[i])
    return float(x[i] - d[i] * (x[i + 1] - x[i]) / (d[i + 1] - d[i]))


def _curves(df: pd.DataFrame, value: str, sizes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per size: the control grid and a (replicate x control) matrix of the order parameter."""
    out = []
    for n in sizes:
        sub = df[df["size"] == n]
        if "replicate" in sub.columns:
            Y = sub.pivot_table(index="replicate", columns="control", values=value, aggfunc="mean")
        else:  # no replicate ids: number the seeds of every control value in order
            sub = sub.assign(_rep=sub.groupby("control").cumcount())
            Y = sub.pivot_table(index="_rep", columns="control", values=value, aggfunc="mean")
        out.append((Y.columns.to_numpy(dtype=float), Y.to_numpy(dtype=float)))
    return out


def _stat(Y: np.ndarray, stat: str, size: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if stat == "mean":
            return np.nanmean(Y, axis=0)
        if stat == "susceptibility":
            return size * np.nanvar(Y, axis=0, ddof=1)
        m2 = np.nanmean(Y**2, axis=0)
        m4 = np.nanmean(Y**4, axis=0)
        return np.where(m2 > 0, 1.0 - m4 / (3.0 * m2**2), np.nan)


def _locations(curves, sizes: np.ndarray, method: str, level: float | None) -> np.ndarray:
    """Transition location of every size (peak/level) or of every successive pair (crossing)."""
    if method == "peak":
        return np.array([_peak(x, _stat(Y, "susceptibility", n)) for (x, Y), n in zip(curves, sizes)])
    if method == "level":
        return np.array([_level_crossing(x, _stat(Y, "mean", n), level)
                         for (x, Y), n in zip(curves, sizes)])
    out = []
    for k in range(len(sizes) - 1):
        (x1, Y1), (x2, Y2) = curves[k], curves[k + 1]
        u1, u2 = _stat(Y1, "binder", sizes[k]), _stat(Y2, "binder", sizes[k + 1])
        common, i1, i2 = np.intersect1d(x1, x2, return_indices=True)
        out.append(_level_crossing(common, u2[i2] - u1[i1], 0.0, steepest=True))
    return np.asarray(out, dtype=float)


def _resample(curves, rng: np.random.Generator):
    """Bootstrap: resample replicates (whole curves) with replacement, per size."""
    return [(x, Y[rng.integers(0, Y.shape[0], Y.shape[0])]) for x, Y in curves]


def locate_transition(
    df: pd.DataFrame,
    method: str = "peak",
    *,
    value: str = "value",
    level: float | None = None,
    window: tuple[float, float] | None = None,
    n_boot: int = 200,
    seed=None,
) -> pd.DataFrame:
    """Locate the transition of every system size, with bootstrap uncertainties.

    Parameters
    ----------
    df : DataFrame
        Output of :func:`scan`.
    method : {"peak", "crossing", "level"}
        ``"peak"``: the maximum of the susceptibility ``size * Var(value)`` over the control
        grid: the centre of a Gaussian fitted to the points above half the highest value.
        ``"crossing"``: where the Binder cumulants of two successive sizes cross (one row per
        pair, reported at the larger size; the classic estimator of a critical point that
        converges quickly).
        ``"level"``: the first control value where the mean order parameter crosses ``level``.
    value : str, default "value"
        The observable.
    level : float, optional
        Required for ``method="level"``.
    window : (float, float), optional
        Only use control values in this closed interval (e.g. to keep a Binder crossing away
        from a flat, noise-dominated region far from the transition).
    n_boot : int, default 200
        Bootstrap resamples (replicates are resampled as whole curves, per size); 0 skips the
        uncertainties.
    seed : None, int, SeedSequence or Generator
        Randomness of the bootstrap.

    Returns
    -------
    DataFrame
        Columns ``size`` (for crossings also ``size_small``), ``x_c``, ``x_c_se`` (bootstrap
        standard deviation), ``x_c_lo``/``x_c_hi`` (2.5 and 97.5 bootstrap percentiles),
        ``n_seeds`` and ``method``. ``x_c`` is NaN where no peak/crossing was found.

    Examples
    --------
    A logistic step at ``x = 1 + 2/n`` of width ``n**-0.5``, plus a little noise:

    >>> def step(x, n, seed):
    ...     noise = np.random.default_rng(seed).normal(0, 0.01)
    ...     return float(1 / (1 + np.exp(-(x - 1 - 2 / n) * np.sqrt(n))) + noise)
    >>> df = scan(step, np.linspace(0.6, 1.6, 41), [25, 100, 400], 4, seed=0, progress=False)
    >>> loc = locate_transition(df, method="level", level=0.5, n_boot=20, seed=0)
    >>> loc["size"].tolist(), loc["x_c"].round(2).tolist(), bool((loc.x_c_se < 0.01).all())
    ([25, 100, 400], [1.08, 1.02, 1.0], True)
    >>> list(locate_transition(df, method="crossing", n_boot=0).columns[:3])
    ['size', 'size_small', 'x_c']
    """
    df = check_frame(df, ("size", "control", value), made_by="scan")
    check_choice(method, "method", ("peak", "crossing", "level"))
    if method == "level":
        if level is None:
            raise ValueError("method='level' needs 'level' (the value of the order parameter)")
        level = check_float(level, "level")
    n_boot = check_int(n_boot, "n_boot", minimum=0)
    if window is not None:
        try:
            lo_w, hi_w = (check_float(w, "window") for w in window)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"'window' must be a pair of numbers (low, high); got {window!r}") from exc
        if lo_w >= hi_w:
            raise ValueError(f"'window' must satisfy low < high; got {window!r}")
        df = df[(df["control"] >= lo_w) & (df["control"] <= hi_w)]
        if df["control"].nunique() < 2:
            raise ValueError(f"'window' {window!r} keeps fewer than 2 control values")
    sizes = np.sort(df["size"].unique()).astype(np.int64)
    if method == "crossing" and sizes.size < 2:
        raise ValueError(f"method='crossing' needs at least 2 sizes; got {sizes.tolist()}")
    if method == "peak" and df.groupby(["size", "control"]).size().min() < 2:
        raise ValueError("method='peak' needs >= 2 seeds per point to estimate a variance")
    curves = _curves(df, value, sizes)
    x_c = _locations(curves, sizes, method, level)
    rng = as_rng(seed)
    boots = np.full((n_boot, x_c.size), np.nan)
    for b in range(n_boot):
        boots[b] = _locations(_resample(curves, rng), sizes, method, level)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        se = np.nanstd(boots, axis=0, ddof=1) if n_boot > 1 else np.full(x_c.size, np.nan)
        lo = np.nanpercentile(boots, 2.5, axis=0) if n_boot else np.full(x_c.size, np.nan)
        hi = np.nanpercentile(boots, 97.5, axis=0) if n_boot else np.full(x_c.size, np.nan)
    seeds = df.groupby("size")[value].count() / df.groupby("size")["control"].nunique()
    out = pd.DataFrame({
        "size": sizes[1:] if method == "crossing" else sizes,
        "x_c": x_c, "x_c_se": se, "x_c_lo": lo, "x_c_hi": hi,
    })
    if method == "crossing":
        out.insert(1, "size_small", sizes[:-1])
    out["n_seeds"] = [int(round(seeds.loc[n])) for n in out["size"]]
    out["method"] = method
    out.attrs["bootstrap"] = boots
    return out
