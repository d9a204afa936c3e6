"""The conditions as inequalities (theory.continuum) and the data collapse (theory.scaling), against
closed forms and simulation."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from mesoscale.generative import edges_to_sparse, sptl_edges
from mesoscale.metrics import distance_matrix
from mesoscale.theory import (
    bethe_hessian_partition,
    box_predictions,
    box_sides,
    condition_boundaries,
    data_collapse,
    domain_points,
    grid_labels,
    kernel_characteristic,
    ks_range,
    ks_snr,
    minimum_range_ratio,
    modularity_range,
    overlap,
    pair_probabilities,
    scan,
    spectral_snr,
)


def test_characteristic_function_matches_quadrature():
    # 2-D exponential kernel: radial density ∝ r exp(-r/xi), angle uniform
    xi, k = 0.3, 2.0
    num = integrate.dblquad(lambda th, r: math.cos(k * r * math.cos(th)) * r * math.exp(-r / xi),
                            0, 40 * xi, 0, 2 * math.pi)[0]
    den = 2 * math.pi * xi**2
    assert kernel_characteristic(k, xi, 2) == pytest.approx(num / den, rel=1e-6)
    # 1-D: Lorentzian; 3-D: (1 + k² xi²)^-2
    num1 = integrate.quad(lambda x: math.cos(k * x) * math.exp(-abs(x) / xi), -40 * xi, 40 * xi)[0] / (2 * xi)
    assert kernel_characteristic(k, xi, 1) == pytest.approx(num1, rel=1e-6)
    num3 = integrate.quad(lambda r: math.sin(k * r) / (k * r) * r * r * math.exp(-r / xi), 0, 60 * xi)[0] / (2 * xi**3)
    assert kernel_characteristic(k, xi, 3) == pytest.approx(num3, rel=1e-6)


def test_closed_forms_are_consistent():
    for c in (3.0, 6.0, 20.0):
        for dim, aspect in ((1, 1.0), (2, 1.0), (2, 4.0), (3, 2.0)):
            xk = ks_range(c, dim, aspect)
            assert ks_snr(xk, c, dim, aspect) == pytest.approx(1.0, rel=1e-9)
            assert ks_snr(0.9 * xk, c, dim, aspect) > 1 > ks_snr(1.1 * xk, c, dim, aspect)
            assert modularity_range(c, dim, aspect) < xk  # modules need more than detectability
    assert ks_range(6.0, 2, 4.0) > ks_range(6.0, 2, 1.0) and ks_range(10.0) > ks_range(5.0)
    assert modularity_range(10.0) > modularity_range(5.0)
    # the one-axis closed form
    q0 = 0.97 / math.sqrt(8.0)
    L1 = box_sides(2, 6.0)[0]
    assert modularity_range(8.0, 2, 6.0) == pytest.approx(L1 * (1 - math.sqrt(q0)) ** 2 / (2 * 2 / math.pi), rel=1e-6)
    with pytest.raises(ValueError, match="'c'"):
        ks_range(1.0)
    with pytest.raises(ValueError, match="'dim'"):
        ks_range(4.0, dim=4)


def test_minimum_range_ratio_matches_the_steepest_kernel():
    n, c = 3000, 6.0
    X = domain_points(n, 2, layout="random", seed=1)
    E = sptl_edges(X, int(c * n / 2), -1e4, "exponential", seed=0)[0]
    ell = np.linalg.norm(X[E[:, 0]] - X[E[:, 1]], axis=1).mean()
    assert ell * math.sqrt(n) == pytest.approx(minimum_range_ratio(c, 2), rel=0.08)


def test_spectral_snr_matches_closed_form_for_short_kernels():
    X = domain_points(900, 2, 2.0)
    D = distance_matrix(X)
    for xi in (0.04, 0.08):
        P = pair_probabilities(D, 2700, -1 / xi, "exponential")
        assert spectral_snr(P) == pytest.approx(ks_snr(xi, 6.0, 2, 2.0), rel=0.06)
    # a long kernel feels the walls: the closed form (no boundaries) is off there
    P = pair_probabilities(D, 2700, -1 / 0.6, "exponential")
    assert abs(spectral_snr(P) / ks_snr(0.6, 6.0, 2, 2.0) - 1) > 0.5


def test_box_predictions_and_boundaries():
    df = box_predictions([0.03, 0.1, 0.5], 6.0, 2, 2.0, sizes=[400, 4000], n_ref=400)
    assert len(df) == 6 and set(df["size"]) == {400.0, 4000.0}
    one = df[df["size"] == 400].sort_values("xi")
    assert one.q_cells.is_monotonic_decreasing and one.snr_spectral.is_monotonic_decreasing
    assert np.all(np.isclose(df.range_ratio, df.ell * df["size"] ** 0.5))
    b = condition_boundaries([3.0, 6.0, 12.0], n=1000)
    assert (b.xi_min < b.xi_q).all() and (b.xi_q < b.xi_ks).all()
    assert b.q_null.is_monotonic_decreasing


@pytest.mark.slow
def test_detectability_follows_the_kesten_stigum_ratio_in_simulation():
    """Bethe-Hessian bisection recovers the halves of the box where lambda_2**2/lambda_1 > 1, not where < 1."""
    pred = box_predictions([0.25, 0.75], 6.0, 2, 2.0, n_ref=600)
    assert pred.snr_spectral.iloc[0] > 1.5 and pred.snr_spectral.iloc[1] < 0.7
    out = {}
    for xi in (0.25, 0.75):
        ov = []
        for s in range(6):
            X = domain_points(4000, 2, 2.0, layout="random", seed=s)
            A = edges_to_sparse(sptl_edges(X, 12000, -1 / xi, "exponential", seed=s)[0], 4000)
            ov.append(overlap(grid_labels(X, [2, 1]), bethe_hessian_partition(A, 2, seed=s)))
        out[xi] = np.mean(ov)
    assert out[0.25] > 0.5 and out[0.75] < 0.1


def test_data_collapse_recovers_a_known_scaling_form():
    def m(x, n, seed):
        rng = np.random.default_rng(seed)
        return float(np.tanh((x - 0.4) * n ** (1 / 3)) + rng.normal(0, 0.02))

    df = scan(m, np.linspace(0.2, 0.6, 21), [100, 800, 6400], 8, seed=1, progress=False)
    r = data_collapse(df, x_c=0.35, exponent=0.5, n_boot=6, seed=0)
    assert r.x_c == pytest.approx(0.4, abs=0.01) and r.exponent == pytest.approx(1 / 3, abs=0.05)
    assert r.quality < 3 and r.x_c_se < 0.02
    lo, hi = r.ci("x_c")
    assert lo <= r.x_c + 0.01 and hi >= r.x_c - 0.01
    wrong = data_collapse(df, x_c=0.5, exponent=1 / 3, fix_x_c=True, n_boot=0)
    assert wrong.quality > 10 * r.quality  # a wrong critical point does not collapse
    with pytest.raises(ValueError, match="2 sizes"):
        data_collapse(df[df["size"] == 100], n_boot=0)
    assert isinstance(df, pd.DataFrame)
