"""Figures of the worm stages on their common neurons (:mod:`mesoscale.generative.stages`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_stage_structure", "style_z_table"]

_LABELS = {"Q": "maximum Q", "trophic_coherence": "trophic coherence", "layer_feedforwardness": "layer feedforwardness"}


def plot_stage_structure(stage: pd.DataFrame, trends: pd.DataFrame | None = None):
    """Each stage's value against age with its null (top) and the excess over the null with its interval (bottom).

    One column per version and metric of :func:`~mesoscale.generative.stages.stage_structure`;
    the least-squares line of the excess is drawn when ``trends``
    (:func:`~mesoscale.generative.stages.stage_trends`) says it is a trend.

    Examples
    --------
    >>> t = pd.DataFrame({"dataset": ["a", "b", "c"], "age": [0.0, 10.0, 50.0], "version": "binary", "metric": "Q",
    ...                   "value": [0.4, 0.35, 0.3], "null_mean": [0.25, 0.2, 0.15], "delta": [0.15, 0.15, 0.15],
    ...                   "delta_low": [0.14, 0.14, 0.14], "delta_high": [0.16, 0.16, 0.16]})
    >>> fig = plot_stage_structure(t)
    >>> len(fig.axes), fig.axes[0].get_title()
    (2, 'binary: maximum Q')
    """
    import matplotlib.pyplot as plt

    need = {"age", "version", "metric", "value", "null_mean", "delta", "delta_low", "delta_high"}
    if not isinstance(stage, pd.DataFrame) or need - set(stage.columns):
        raise ValueError(f"'stage' must be stage_structure() output with the columns {sorted(need)}")
    panels = list(dict.fromkeys(zip(stage["version"], stage["metric"])))
    fig, axes = plt.subplots(2, len(panels), figsize=(3.2 * len(panels), 5.4), squeeze=False)
    for k, (version, metric) in enumerate(panels):
        g = stage[(stage["version"] == version) & (stage["metric"] == metric)].sort_values("age")
        top, bottom = axes[0, k], axes[1, k]
        top.plot(g["age"], g["value"], "o-", ms=4, label="stage")
        top.plot(g["age"], g["null_mean"], "s:", color="0.5", ms=3, label="null mean")
        top.set_title(f"{version}: {_LABELS.get(metric, metric)}", fontsize=9)
        err = np.vstack([g["delta"] - g["delta_low"], g["delta_high"] - g["delta"]])
        bottom.errorbar(g["age"], g["delta"], yerr=err, fmt="o", ms=4, capsize=2)
        bottom.axhline(0, color="0.6", lw=0.8)
        bottom.set_ylabel("excess over null (Δ)")
        bottom.set_xlabel("age (h after birth)")
        if trends is not None and len(trends):
            r = trends[(trends["version"] == version) & (trends["metric"] == metric) & (trends["column"] == "delta")]
            if len(r) and r["trend"].iloc[0] in ("rises", "falls"):
                x = np.array([g["age"].min(), g["age"].max()])
                slope = r["slope_per_10h"].iloc[0] / 10
                bottom.plot(x, g["delta"].mean() + slope * (x - g["age"].mean()), "k--", lw=1,
                            label=f"trend, p = {r['p_perm'].iloc[0]:.3f}")
                bottom.legend(fontsize=7)
    axes[0, 0].legend(fontsize=7)
    return fig


def style_z_table(z_table: pd.DataFrame, threshold: float = 2.0):
    """A z table (datasets x metrics) styled for display: one decimal, |z| >= threshold in red.

    Examples
    --------
    >>> s = style_z_table(pd.DataFrame({"Q": [0.5, 3.0]}, index=["a", "b"]))
    >>> "color: #b2182b" in s.to_html()
    True
    """
    def color(v):
        return "color: #b2182b" if (np.isfinite(v) and abs(v) >= threshold) or np.isinf(v) else ""

    return z_table.style.format("{:.1f}").map(color)
