"""Tests of the weighted generative model (mesoscale.generative.weighted)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mesoscale.generative import fit, generate
from mesoscale.generative.weighted import (
    WEIGHT_LOSSES,
    WeightedModel,
    generate_weighted,
    grow_weights,
    weight_gradient,
    weight_loss,
)


def _setup(n=12, seed=0, p=0.4):
    rng = np.random.default_rng(seed)
    A = np.triu(rng.random((n, n)) < p, 1)
    A = A | A.T
    W = A * rng.uniform(0.2, 1.5, (n, n))
    W = np.triu(W, 1)
    W = W + W.T
    xy = rng.random((n, 2))
    return W, np.linalg.norm(xy[:, None] - xy[None], axis=-1)


def _fd(W, D, loss, omega, normalised, i, j, h=1e-6):
    Wp, Wm = W.copy(), W.copy()
    Wp[i, j] += h
    Wm[i, j] -= h
    f = lambda X: weight_loss(X, D, loss, omega, normalised=normalised)[0]  # noqa: E731
    return (f(Wp) - f(Wm)) / (2 * h)


@pytest.mark.parametrize("loss", WEIGHT_LOSSES)
@pytest.mark.parametrize("normalised", [False, True])
@pytest.mark.parametrize("omega", [0.7, 1.0, 1.6])
def test_gradient_matches_finite_differences(loss, normalised, omega):
    """The analytic gradient against central differences of the independently computed loss.

    Entry (i, j) of W is perturbed alone: the loss sees (W + W.T) / 2, so this is dL/dW_ij of the
    n x n matrix, the convention of the update. One node has all its weights at zero (its row
    of S^-1/2 is defined as zero) and another component is split off.
    """
    W, D = _setup(12, seed=3)
    W[0, :] = W[:, 0] = 0.0  # an isolated node
    W[10:, :10] = W[:10, 10:] = 0.0  # a second component
    G = weight_gradient(W, D, loss, omega, normalised=normalised)[0]
    edges = np.argwhere(np.triu(W > 0, 1))
    assert len(edges) >= 10
    for i, j in edges:
        fd = _fd(W, D, loss, omega, normalised, i, j)
        assert G[i, j] == pytest.approx(fd, rel=1e-6, abs=1e-7), (loss, normalised, omega, i, j)
    assert np.all(G[~(W > 0)] == 0.0)  # nothing off the support


@pytest.mark.parametrize("loss", ["communicability", "distance_communicability"])
def test_communicability_gradient_matches_autograd(loss):
    """A second, independent route: autograd through torch.linalg.matrix_exp."""
    import torch

    W, D = _setup(14, seed=5)
    Wt = torch.tensor(W, requires_grad=True)
    Ws = 0.5 * (Wt + Wt.T)
    s = Ws.sum(-1)
    M = Ws / torch.sqrt(s[:, None] * s[None, :])
    C = torch.linalg.matrix_exp(M)
    X = C if loss == "communicability" else C * torch.tensor(D)
    (X.pow(1.3).sum() / X.pow(1.3).max()).backward()
    G = weight_gradient(W, D, loss, 1.3, normalised=True)[0]
    np.testing.assert_allclose(G[W > 0], Wt.grad.numpy()[W > 0], rtol=1e-9, atol=1e-12)


def test_gradient_check_can_fail():
    """The finite-difference check detects a gradient that is off by the ij/ji convention."""
    W, D = _setup(10, seed=1)
    G = weight_gradient(W, D, "weighted_distance", 1.0)[0]
    i, j = np.argwhere(np.triu(W > 0, 1))[0]
    fd_pair = _fd(W, D, "weighted_distance", 1.0, False, i, j) * 2  # moving W_ij and W_ji together
    assert G[i, j] != pytest.approx(fd_pair, rel=1e-3)


def _orders(n=16, m=40, nets=3, seed=1):
    xy = np.random.default_rng(seed).random((n, 2))
    D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    A, order = generate(D, m, "matching", -2.0, 0.3, n_networks=nets, seed=seed, return_order=True)
    return A, order, D


@pytest.mark.parametrize("loss", WEIGHT_LOSSES)
def test_alpha_zero_keeps_weights_exactly_one(loss):
    A, order, D = _orders()
    W = grow_weights(order, D, loss=loss, alpha=0.0, omega=0.8, normalised=True, n_updates=2)
    assert np.all(W[A] == 1.0) and np.all(W[~A] == 0.0)


@pytest.mark.parametrize("loss", WEIGHT_LOSSES)
def test_weights_stay_on_support_and_within_bounds(loss):
    A, order, D = _orders(seed=4)
    W = grow_weights(order, D, loss=loss, alpha=[0.05, 0.2, 0.5], omega=1.2, normalised=True,
                     bounds=(0.25, 0.9))
    assert np.all(W[~A] == 0.0)
    assert np.all((W[A] >= 0.25) & (W[A] <= 0.9))
    assert np.array_equal(W, np.swapaxes(W, 1, 2))
    assert np.unique(np.round(W[A], 12)).size > 10  # the weights did move


@pytest.mark.parametrize("normalised", [False, True])
@pytest.mark.parametrize("loss", ["weight", "weighted_distance"])
def test_edge_list_path_equals_the_step_by_step_replay(loss, normalised):
    """The elementwise losses are computed edge by edge; the replay of the whole matrix agrees."""
    from mesoscale.generative import weighted

    A, order, D = _orders(n=20, m=50, seed=2)
    alpha = np.array([0.0, 0.01, 0.05])
    seed_net = np.zeros((20, 20), bool)
    for omega in (0.6, 1.0, 2.0):
        fast = grow_weights(order, D, loss=loss, alpha=alpha, omega=omega, n_updates=2, bounds=(0.0, 1.2),
                            normalised=normalised)
        slow = weighted._replay(order, seed_net, weighted._symmetric(D), loss, alpha, np.full(3, omega), 2, 0.0,
                                1.2, normalised, "cpu", None)
        if normalised:
            np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-14)
        else:  # the same arithmetic per edge, up to the rounding of the power (1 ulp seen with omega = 0.6)
            np.testing.assert_allclose(fast, slow, rtol=4e-16, atol=0)


def test_seed_network_edges_start_at_one_and_are_updated():
    xy = np.random.default_rng(0).random((14, 2))
    D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    seed = np.zeros((14, 14))
    seed[0, 1] = seed[1, 0] = 1
    A, order = generate(D, 20, "sptl", -1.0, seed_network=seed, seed=0, return_order=True)
    W = grow_weights(order, D, seed, loss="weight", alpha=0.01, omega=2.0)
    # the seed edge takes an update after every one of the 19 binary steps: w <- w (1 - 2 alpha)
    assert W[0, 0, 1] == pytest.approx(0.98**19, rel=1e-12)
    assert W[0][A[0]].min() == pytest.approx(W[0, 0, 1])


def test_generate_weighted_grows_the_binary_networks_of_generate():
    xy = np.random.default_rng(0).random((15, 2))
    D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    nets, W = generate_weighted(D, 25, "matching", -2.0, 0.3, alpha=[0.0, 0.02], loss="weighted_distance",
                                n_networks=2, seed=7)
    assert np.array_equal(nets, generate(D, 25, "matching", -2.0, 0.3, n_networks=4, seed=7))
    again = generate_weighted(D, 25, "matching", -2.0, 0.3, alpha=[0.0, 0.02], loss="weighted_distance",
                              n_networks=2, seed=7)[1]
    assert np.array_equal(W, again)
    assert np.array_equal(W > 0, nets)


def test_bad_input_is_named():
    A, order, D = _orders()
    with pytest.raises(ValueError, match="'alpha' must be >= 0"):
        grow_weights(order, D, alpha=-0.1)
    with pytest.raises(ValueError, match="'alpha' must be finite"):
        grow_weights(order, D, alpha=np.nan)
    with pytest.raises(ValueError, match="'omega' must be > 0"):
        grow_weights(order, D, omega=0.0)
    with pytest.raises(ValueError, match="lower <= upper"):
        grow_weights(order, D, bounds=(1.0, 0.5))
    with pytest.raises(ValueError, match="'bounds' must be >= 0"):
        grow_weights(order, D, bounds=(-1.0, 2.0))
    with pytest.raises(ValueError, match="'loss' must be one of"):
        grow_weights(order, D, loss="entropy")
    with pytest.raises(ValueError, match="one value per network"):
        grow_weights(order, D, alpha=[0.1, 0.2])
    bad = order.copy()
    bad[0, 1] = bad[0, 0]
    with pytest.raises(ValueError, match="adds a pair twice"):
        grow_weights(bad, D)
    with pytest.raises(ValueError, match="negative weight"):
        weight_gradient(-np.eye(3)[::-1] * 0 - (np.ones((3, 3)) - np.eye(3)), D[:3, :3])
    with pytest.raises(ValueError, match="non-finite weight"):
        weight_gradient(np.array([[0, np.inf], [np.inf, 0]]), D[:2, :2])


@pytest.mark.parametrize("loss", ["weighted_distance", "distance_communicability"])
def test_a_loss_that_turns_nan_raises_with_the_step_and_returns_nothing(monkeypatch, loss):
    """A gradient that turns NaN at binary step 5 (both code paths) is reported, not returned.

    No valid loss diverges at sane parameters (the gradients are bounded and the clip catches
    -inf), so the failure is injected into the loss's derivative.
    """
    from mesoscale.generative import weighted

    A, order, D = _orders(seed=6)
    real = weighted._summand_grad
    calls = {"n": 0}

    def poisoned(X, c, omega, normalised, mask):
        f, d = real(X, c, omega, normalised, mask)
        calls["n"] += 1
        return (f, d * np.nan) if calls["n"] > 5 else (f, d)

    monkeypatch.setattr(weighted, "_summand_grad", poisoned)
    with pytest.raises(ValueError, match=rf"loss '{loss}' with alpha=0.01, omega=1.*network 0 at binary step 5 \(update 0\)"):
        grow_weights(order, D, loss=loss, alpha=0.01, normalised=True)


def test_absurd_learning_rates_stay_finite():
    """alpha = 1e300: the clip absorbs -inf steps and the normalised gradients stay bounded."""
    A, order, D = _orders(seed=6)
    for loss in WEIGHT_LOSSES:
        W = grow_weights(order, D, loss=loss, alpha=1e300, normalised=True)
        assert np.all(np.isfinite(W)) and np.all(W[~A] == 0)


def test_weighted_model_in_fit_searches_alpha_and_omega_in_process_and_on_sweep():
    xy = np.random.default_rng(0).random((20, 2))
    D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    nets, W = generate_weighted(D, 40, "matching", -3.0, 0.5, alpha=0.05, loss="weighted_distance", seed=1)
    model = WeightedModel(loss="weighted_distance", alpha_range=(0.0, 0.1), omega_range=(0.5, 1.5))
    kw = dict(rules=["matching"], n_draws=8, levels=2, n_networks=2, seed=3, progress=False, model=model)
    res = fit(W[0], D, **kw)
    assert {"alpha", "omega", "ks_strength", "ks_weighted_edge_length"} <= set(res.table.columns)
    assert res.table["alpha"].between(0, 0.1).all() and res.table["omega"].between(0.5, 1.5).all()
    assert {"alpha", "alpha_sd", "omega"} <= set(res.best.columns)
    assert len(res.table) == 2 * 8 * 2  # no gamma = 0 line for an extended model
    swept = fit(W[0], D, client="inline", **kw).table[res.table.columns]
    key = ["rule", "level", "point", "repeat"]
    pd.testing.assert_frame_equal(swept.sort_values(key).reset_index(drop=True),
                                  res.table.sort_values(key).reset_index(drop=True))
    with pytest.raises(ValueError, match="alpha_range"):
        WeightedModel(alpha_range=(0.1, 0.0))
