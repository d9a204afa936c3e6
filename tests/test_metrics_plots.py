import numpy as np
import pytest


def test_plot_null_comparison_marks_the_observed_value_and_its_z():
    from mesoscale.metrics.plots import plot_null_comparison

    null = np.array([0.30, 0.32, 0.31, 0.29, 0.33])
    fig = plot_null_comparison(0.40, null, label="Q", title="x")
    ax = fig.axes[0]
    assert ax.lines[0].get_xdata()[0] == pytest.approx(0.40)
    z = (0.40 - null.mean()) / null.std(ddof=1)
    assert ax.get_legend().get_title().get_text() == f"z = {z:.1f}, 5 nulls"
    assert sum(p.get_height() for p in ax.patches) == len(null)  # the histogram holds every null value
    # no spread in the null: z follows compare_with_null (inf), not NaN
    flat = plot_null_comparison(0.5, [0.3, 0.3, 0.3])
    assert flat.axes[0].get_legend().get_title().get_text() == "z = inf, 3 nulls"
