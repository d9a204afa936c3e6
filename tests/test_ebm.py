"""Tests of mesoscale.ebm: energy, relaxation, learning rules, wiring cost, tasks, training."""

import pandas as pd
import numpy as np
import pytest
import torch

from mesoscale.ebm import (
    accuracy,
    apply_wiring_cost,
    bootstrap_ci,
    lesion_accuracy,
    paired_differences,
    run_condition,
    specialisation,
    summarize,
    weight_graph,
    bptt_gradient,
    chl_gradient,
    cosine_similarity,
    eqprop_gradient,
    learn,
    implicit_gradient,
    make_network,
    retina_objects,
    retina_task,
    LEARNING_RULES,
    LearningResult,
)
from mesoscale.metrics import structural_modularity, wiring_cost


def _cost(net):
    return wiring_cost(net.W.numpy(), net.distance.numpy())


def _modularity(net, **kw):
    A, allowed = weight_graph(net)
    return structural_modularity(A, null="weights", allowed=allowed, **kw)


def _small_problem(seed=1, n_in=6, n_hidden=10, n_out=3, batch=8):
    """A small recurrent network with most units inside the box (so gradients are non-trivial)."""
    net = make_network(n_in, n_hidden, n_out, seed=seed)
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(rng.uniform(0, 1, (batch, n_in)))
    y = torch.as_tensor(np.eye(n_out)[rng.integers(0, n_out, batch)])
    return net, x, y


# ----------------------------------------------------------------------------- energy


@pytest.mark.parametrize("init_scale,beta", [(0.5, 0.0), (1.0, 0.5), (3.0, 0.0), (3.0, -0.5)])
def test_energy_decreases_monotonically(init_scale, beta):
    net = make_network(6, 12, 3, seed=3, init_scale=init_scale)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (16, 6))
    y = np.eye(3)[rng.integers(0, 3, 16)]
    s, E = net.relax(x, y=y, beta=beta, n_steps=100, record_energy=True)
    E = torch.stack(E)  # (steps + 1, B)
    diffs = E[1:] - E[:-1]
    assert torch.all(diffs <= 1e-12), float(diffs.max())
    assert torch.all(E[-1] < E[0])  # it actually moved
    assert torch.all((s >= 0) & (s <= 1))
    assert torch.equal(s[:, net.inputs], torch.as_tensor(x))


def test_free_fixed_point_satisfies_hard_sigmoid_equation():
    net, x, _ = _small_problem()
    s = net.relax(x, n_steps=3000, tol=1e-14)
    target = torch.clamp(s @ net.W + net.b, 0, 1)
    assert torch.allclose(s[:, net.n_in :], target[:, net.n_in :], atol=1e-10)


def test_energy_formula_matches_definition():
    net, x, _ = _small_problem()
    s = net.relax(x, n_steps=5)
    k = 2
    v = s[k]
    W = net.W
    expected = 0.5 * float(v @ v) - sum(
        float(W[i, j] * v[i] * v[j]) for i in range(len(v)) for j in range(i + 1, len(v))
    ) - float(net.b @ v)
    assert net.energy(s)[k].item() == pytest.approx(expected, abs=1e-12)


# ------------------------------------------------------------------------- gradients


def test_bptt_through_long_relaxation_equals_implicit_gradient():
    net, x, y = _small_problem()
    exact = implicit_gradient(net, x, y)
    assert exact.flat().norm() > 1e-3  # a non-trivial gradient
    assert cosine_similarity(bptt_gradient(net, x, y, n_steps=600), exact) > 0.9999


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_eqprop_matches_gradient_as_beta_vanishes(seed):
    net, x, y = _small_problem(seed=seed)
    exact = implicit_gradient(net, x, y)
    bptt = bptt_gradient(net, x, y, n_steps=600)
    ep = eqprop_gradient(net, x, y, beta=1e-3, n_free=2000, n_nudged=2000, tol=1e-13)
    assert cosine_similarity(ep, exact) >= 0.99
    assert cosine_similarity(ep, bptt) >= 0.99
    # magnitude too, not only the direction
    assert float((ep.flat() - exact.flat()).norm() / exact.flat().norm()) < 0.05


def test_symmetric_estimator_beats_one_sided_at_finite_beta():
    net, x, y = _small_problem(seed=1)
    exact = implicit_gradient(net, x, y)
    kw = dict(beta=0.1, n_free=2000, n_nudged=2000, tol=1e-13)
    sym = eqprop_gradient(net, x, y, estimator="symmetric", **kw)
    fwd = eqprop_gradient(net, x, y, estimator="forward", **kw)
    err = lambda g: float((g.flat() - exact.flat()).norm())  # noqa: E731
    assert err(sym) < err(fwd)


def test_gradients_are_symmetric_and_masked():
    net, x, y = _small_problem()
    for g in (
        eqprop_gradient(net, x, y),
        chl_gradient(net, x, y),
        bptt_gradient(net, x, y, n_steps=30),
        implicit_gradient(net, x, y),
    ):
        assert torch.equal(g.dW, g.dW.T)
        assert torch.all(g.dW[~net.mask] == 0)
        assert torch.all(g.db[net.inputs] == 0)


def test_chl_clamped_phase_holds_outputs_at_targets():
    net, x, y = _small_problem()
    s = net.relax(x, y=y, clamp_outputs=True, n_steps=50)
    assert torch.equal(s[:, net.outputs], y)


def test_lesioned_units_stay_silent():
    net, x, _ = _small_problem()
    lesion = np.array([net.n_in, net.n_in + 3])
    s = net.relax(x, n_steps=50, lesion=lesion)
    assert torch.all(s[:, lesion] == 0)
    assert not torch.all(s[:, net.n_in + 1] == 0)


# ------------------------------------------------------------------------ wiring cost


def test_wiring_cost_is_local_and_length_dependent():
    net = make_network(6, 10, 3, seed=0)
    W0 = net.W.clone()
    apply_wiring_cost(net, strength=0.5, lr=0.1, kind="l1")
    shrink = (W0.abs() - net.W.abs())[net.mask]
    expected = torch.minimum(0.05 * net.distance[net.mask], W0.abs()[net.mask])
    assert torch.allclose(shrink, expected, atol=1e-15)
    assert torch.all(torch.sign(net.W[net.W != 0]) == torch.sign(W0[net.W != 0]))
    assert net.check_symmetric()
    before = _cost(net)
    apply_wiring_cost(net, strength=0.0, lr=0.1)
    assert _cost(net) == before
    apply_wiring_cost(net, strength=0.5, lr=0.1, kind="l2")
    assert _cost(net) < before


# ------------------------------------------------------------------------------ tasks


def test_retina_task_structure():
    for side in ("left", "right"):
        assert len(retina_objects(side)) == 8
    assert not np.array_equal(retina_objects("left"), retina_objects("right"))
    t = retina_task("separable", train_fraction=0.5, seed=0)
    assert t.x_train.shape == (128, 8) and t.y_train.shape == (128, 4)
    X = np.vstack([t.x_train, t.x_test])
    assert len({tuple(r) for r in X}) == 256
    Y = np.vstack([t.y_train, t.y_test])
    # the left answer depends only on the left pixels
    left = {tuple(r) for r in retina_objects("left")}
    assert all(Y[k, 1] == (tuple(X[k, :4]) in left) for k in range(256))
    t_and, t_or = retina_task("and", seed=0), retina_task("or", seed=0)
    assert np.all(t_and.y_train[:, 1] <= t_or.y_train[:, 1])
    assert np.array_equal(retina_task("and", seed=4).x_test, retina_task("and", seed=4).x_test)


# --------------------------------------------------------------------------- training


@pytest.mark.parametrize("rule", ["eqprop", "chl", "bptt"])
def test_training_keeps_weights_symmetric_and_is_reproducible(rule):
    t = retina_task("or", train_fraction=0.25, seed=0)
    net = make_network(8, 10, 2, seed=0)
    kw = dict(rule=rule, epochs=1, batch_size=16, wiring_strength=0.05, n_free=12, n_nudged=6, n_eval=15)
    a = learn(net, t, seed=5, **kw)
    b = learn(net, t, seed=5, **kw)
    c = learn(net, t, seed=6, **kw)
    assert a.net.check_symmetric()
    assert torch.equal(a.net.W, b.net.W) and torch.equal(a.net.b, b.net.b)
    assert a.history == b.history
    assert not torch.equal(a.net.W, c.net.W)
    assert torch.equal(net.W, make_network(8, 10, 2, seed=0).W)  # input network untouched


def test_make_network_reproducible_and_symmetric():
    a, b, c = make_network(5, 7, 2, seed=9), make_network(5, 7, 2, seed=9), make_network(5, 7, 2, seed=10)
    assert torch.equal(a.W, b.W) and not torch.equal(a.W, c.W)
    assert a.check_symmetric()
    layered = make_network(5, 7, 2, connectivity="layered", seed=0)
    assert torch.all(layered.W[layered.hidden][:, layered.hidden] == 0)


# ------------------------------------------------------------------------- validation


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="n_hidden"):
        make_network(4, 0, 2)
    with pytest.raises(ValueError, match="connectivity"):
        make_network(4, 4, 2, connectivity="dense")
    with pytest.raises(TypeError, match="seed"):
        make_network(4, 4, 2, seed="x")
    net = make_network(4, 4, 2, seed=0)
    with pytest.raises(ValueError, match="'x'"):
        net.relax(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="'y'"):
        net.relax(np.zeros((3, 4)), beta=0.1)
    with pytest.raises(ValueError, match="beta"):
        eqprop_gradient(net, np.zeros((3, 4)), np.zeros((3, 2)), beta=0.0)
    with pytest.raises(ValueError, match="lesion"):
        net.relax(np.zeros((3, 4)), lesion=np.array([0]))
    with pytest.raises(ValueError, match="rule"):
        learn(net, retina_task("and", seed=0), rule="hebb")
    with pytest.raises(ValueError, match="goal"):
        retina_task("xor")
    with pytest.raises(ValueError, match="strength"):
        apply_wiring_cost(net, strength=-1.0, lr=0.1)


# --------------------------------------------------------------------------- analysis


def _two_module_network():
    """Hand-made network: left inputs -> hidden 0..3 -> outputs 0,1; right -> hidden 4..7 -> outputs 2,3."""
    net = make_network(8, 8, 4, seed=0)
    W = torch.zeros_like(net.W)
    I, H, O = 0, 8, 16
    for side in (0, 1):
        ins = range(I + 4 * side, I + 4 * side + 4)
        hid = range(H + 4 * side, H + 4 * side + 4)
        outs = range(O + 2 * side, O + 2 * side + 2)
        for i in ins:
            for h in hid:
                W[i, h] = W[h, i] = 0.3 if (i + h) % 2 else -0.3
        for h in hid:
            for o in outs:
                W[h, o] = W[o, h] = 0.4 if (h + o) % 2 else -0.4
    net.W = W
    net.b = torch.full_like(net.b, 0.4)
    net.b[:8] = 0.0
    return net


def test_modularity_and_specialisation_detect_a_two_module_network():
    net = _two_module_network()
    t = retina_task("separable", seed=0)
    mod = _modularity(net, n_null=20, n_runs=3, seed=0)
    assert mod.q > 0.4 and mod.z > 3 and mod.percentile == 100.0
    part = mod.partition
    assert len(set(part[:4]) & set(part[4:8])) == 0  # left and right inputs in different modules
    spec = specialisation(net, t, seed=0)
    assert spec["specialisation"] > 0.99
    assert list(spec["side"]) == [0, 0, 0, 0, 1, 1, 1, 1]
    # a random network is neither
    rnd = make_network(8, 8, 4, seed=1)
    assert _modularity(rnd, n_null=20, n_runs=3, seed=0).z < mod.z
    assert specialisation(rnd, t, seed=0)["specialisation"] < 0.8
    # same seed, same answer
    again = _modularity(net, n_null=20, n_runs=3, seed=0)
    assert again.q == mod.q and np.array_equal(again.null_q, mod.null_q)


def test_lesion_accuracy_full_lesion_is_chance_level_and_intact_matches_accuracy():
    net = _two_module_network()
    t = retina_task("separable", seed=0)
    res = lesion_accuracy(net, t, (0.0, 1.0), n_draws=2, seed=0)
    assert res["accuracy"][0] == accuracy(net, t.x_test, t.y_test, t.output_groups)
    # with every hidden unit silenced the outputs do not depend on the input
    out = net.predict(t.x_test, lesion=np.arange(8, 16)).numpy()
    assert np.allclose(out, out[0])
    with pytest.raises(ValueError, match="fractions"):
        lesion_accuracy(net, t, (1.5,))


def test_run_condition_pairs_rules_and_summarises():
    base = dict(cost=0.02, task="retina_or", rep=0, epochs=1, n_null=3, n_runs=2, n_lesion_draws=2,
                n_free=10, n_nudged=5, n_eval=15, batch_size=32, train_fraction=0.25, n_hidden=8)
    rows = []
    for rule in ("eqprop", "chl"):
        for rep in (0, 1):
            r = run_condition({**base, "rule": rule, "rep": rep}, rng=np.random.default_rng(rep))
            rows.append({**base, "rule": rule, "rep": rep, **r})
    for key in ("q", "z", "n_null", "specialisation", "lesion_retained", "test_acc"):
        assert key in rows[0]
    assert rows[0]["n_null"] == 3
    again = run_condition({**base, "rule": "eqprop", "rep": 0}, rng=np.random.default_rng(0))
    assert again == {k: rows[0][k] for k in again}
    import pandas as pd

    df = pd.DataFrame(rows)
    s = summarize(df, metrics=("test_acc", "q"))
    assert set(s["n"]) == {2}
    assert np.all(s["lo"] <= s["mean"] + 1e-12) and np.all(s["mean"] <= s["hi"] + 1e-12)
    d = paired_differences(df, "test_acc", baseline="chl")
    assert list(d["rule"]) == ["eqprop"] and d["n"].iloc[0] == 2
    with pytest.raises(ValueError, match="rule"):
        run_condition({**base, "rule": "hebb"})
    lo, hi = bootstrap_ci([1.0, 1.0, 1.0], seed=0)
    assert lo == hi == 1.0


def test_two_digit_task_adapter_trains():
    from mesoscale.ebm import load_task

    t = load_task("two_digit_both", n_train=24, n_test=12, seed=0)
    assert t.x_train.shape == (24, 128) and t.y_train.shape == (24, 20)
    assert t.output_groups == [(0, 10), (10, 20)]
    assert np.all(t.y_train.sum(1) == 2) and t.x_train.min() >= 0 and t.x_train.max() <= 1
    assert list(np.unique(t.input_side)) == [0, 1]
    net = make_network(t.n_in, 8, t.n_out, seed=0)
    res = learn(net, t, rule="eqprop", epochs=1, batch_size=12, n_free=8, n_nudged=4, n_eval=8, seed=0)
    assert res.net.check_symmetric() and len(res.history["test_acc"]) == 2
    p = load_task("two_digit_sum_parity", n_train=10, n_test=5, seed=0)
    assert p.y_train.shape == (10, 2) and p.output_groups == [(0, 2)]


def test_modularly_varying_goals_alternate_during_training():
    t = retina_task("mvg", train_fraction=0.25, switch_every=2, seed=0)
    a, o = retina_task("and", train_fraction=0.25, seed=0), retina_task("or", train_fraction=0.25, seed=0)
    assert np.array_equal(t.x_train, a.x_train)
    assert np.array_equal(t.goals[0][0], a.y_train) and np.array_equal(t.goals[1][1], o.y_test)
    net = make_network(8, 8, 2, seed=0)
    res = learn(net, t, rule="chl", epochs=5, batch_size=32, n_free=10, n_nudged=5, n_eval=10, seed=0)
    assert res.history["goal"] == [0, 0, 0, 1, 1, 0]
    assert res.final_goal == 0
    # the recorded accuracy is on the goal being trained
    last = t.with_goal(res.final_goal)
    assert res.history["test_acc"][-1] == accuracy(res.net, last.x_test, last.y_test, last.output_groups, n_steps=10)
    with pytest.raises(ValueError, match="'k'"):
        t.with_goal(2)


def test_learn_returns_a_learning_result_for_every_learning_rule():
    t = retina_task("or", seed=0)
    net = make_network(t.n_in, 8, t.n_out, seed=0)
    assert LEARNING_RULES == ("eqprop", "chl", "bptt")
    for rule in LEARNING_RULES:
        res = learn(net, t, rule=rule, epochs=1, batch_size=32, n_free=6, n_nudged=3, n_eval=6, seed=0)
        assert isinstance(res, LearningResult) and res.config.rule == rule
        # the recorded wiring is the one metrics.wiring_cost of the final network
        assert res.history["wiring"][-1] == pytest.approx(_cost(res.net))


def test_make_condition_depends_on_task_and_rep_only():
    from mesoscale.ebm import make_condition

    t0, n0 = make_condition("retina_and", 0)
    t1, n1 = make_condition("retina_or", 0)
    _, n2 = make_condition("retina_and", 1)
    assert not torch.equal(n0.W, n1.W)  # another task, another network
    assert not torch.equal(n0.W, n2.W)  # another replicate, another network
    assert np.array_equal(make_condition("retina_and", 0)[0].x_train, t0.x_train)


def test_ebm_figures_have_their_artists():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd
    from matplotlib.figure import Figure

    from mesoscale.ebm.plots import plot_learning_curves, plot_metric_grid, plot_networks

    rows = [{"task": "retina_or", "rule": r, "cost": c, "rep": k, "curve_epoch": [1, 2], "curve_test_acc": [0.5, 0.7],
             "test_acc": 0.7, "z": 1.0} for r in ("eqprop", "chl") for c in (0.0, 0.1) for k in (0, 1)]
    df = pd.DataFrame(rows)
    fig = plot_metric_grid(summarize(df, metrics=("test_acc", "z"), seed=0), metrics=("test_acc", "z"))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    fig = plot_learning_curves(df)
    assert len(fig.axes[0].lines) == 2
    net = make_network(4, 6, 2, seed=0)
    fig = plot_networks({"a": net, "b": net})
    assert len(fig.axes) >= 4 and fig.axes[0].get_title() == "a"


def test_geometry_control_moves_only_the_inputs():
    from mesoscale.ebm import GEOMETRIES, make_condition

    task, net = make_condition("retina_separable", 3)
    task2, shuffled = make_condition("retina_separable", 3, geometry="shuffled")
    assert GEOMETRIES == ("aligned", "shuffled")
    assert torch.equal(net.W, shuffled.W) and np.array_equal(task.x_train, task2.x_train)
    n_in = task.n_in
    assert np.array_equal(net.positions[n_in:], shuffled.positions[n_in:])
    assert sorted(map(tuple, net.positions[:n_in])) == sorted(map(tuple, shuffled.positions[:n_in]))
    assert not np.array_equal(net.positions[:n_in], shuffled.positions[:n_in])
    with pytest.raises(ValueError, match="'geometry'"):
        make_condition("retina_separable", 0, geometry="mirrored")


def test_paired_contrasts_and_sign_flip_p():
    from mesoscale.ebm import geometry_contrast, paired_differences, sign_flip_p

    rows = [{"task": "t", "cost": 0.0, "rule": r, "rep": k, "geometry": g, "z": base + (2.0 if g == "aligned" else 0.0)}
            for r, base in (("bptt", 1.0), ("eqprop", 1.5)) for k in range(6) for g in ("aligned", "shuffled")]
    df = pd.DataFrame(rows)
    geo = geometry_contrast(df, "z", seed=0)
    assert set(geo["rule"]) == {"bptt", "eqprop"} and np.allclose(geo["diff"], -2.0)
    assert np.allclose(geo["p"], 2 / 64)  # six equal differences: only the two all-equal sign patterns are as extreme
    pr = paired_differences(df, "z", seed=0)
    assert set(pr["geometry"]) == {"aligned", "shuffled"} and np.allclose(pr["diff"], 0.5)
    assert sign_flip_p([]) != sign_flip_p([]) and sign_flip_p([1.0, -1.0, 1.0, -1.0]) == 1.0
    big = np.random.default_rng(0).normal(1.0, 0.1, 40)
    assert sign_flip_p(big, seed=0) < 0.001
