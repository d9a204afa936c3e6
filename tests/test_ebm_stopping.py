"""Tests of the validation-based stopping rule of mesoscale.ebm.learn (and its validation split)."""

import numpy as np
import pytest
import torch

from mesoscale.ebm import LearningConfig, learn, make_condition, make_network, retina_task, run_condition

FAST = dict(batch_size=32, n_free=8, n_nudged=4, n_eval=10)


def _val_loss(net, task, goal=0):
    t = task.with_goal(goal)
    with torch.no_grad():
        s = net.relax(torch.as_tensor(t.x_val, dtype=net.dtype), n_steps=FAST["n_eval"])
        return float(net.cost(s, torch.as_tensor(t.y_val, dtype=net.dtype)).mean())


# ------------------------------------------------------------------------------ the validation split


@pytest.mark.parametrize("goal", ["separable", "and", "mvg"])
def test_validation_split_is_disjoint_and_leaves_the_test_patterns_alone(goal):
    plain = retina_task(goal, seed=3)
    t = retina_task(goal, val_fraction=0.125, seed=3)
    rows = lambda x: {tuple(r) for r in x.astype(int)}  # noqa: E731
    assert t.n_val == 32 and plain.n_val == 0 and plain.x_val is None
    assert not rows(t.x_val) & rows(t.x_train) and not rows(t.x_val) & rows(t.x_test)
    assert np.array_equal(t.x_test, plain.x_test) and np.array_equal(t.y_test, plain.y_test)
    assert rows(t.x_train) | rows(t.x_val) == rows(plain.x_train)
    if goal == "mvg":  # every goal has its validation targets
        o = retina_task("or", val_fraction=0.125, seed=3)
        assert np.array_equal(t.with_goal(1).y_val, o.y_val) and np.array_equal(t.with_goal(0).y_val, t.y_val)


def test_bad_validation_fraction_raises():
    with pytest.raises(ValueError, match="val_fraction"):
        retina_task("and", val_fraction=0.75)  # nothing left to train on
    with pytest.raises(ValueError, match="val_fraction"):
        retina_task("and", val_fraction=1.5)


# ------------------------------------------------------------------------------ the rule


@pytest.mark.parametrize("patience", [1, 3])
def test_a_loss_that_never_improves_stops_after_exactly_patience_checks(patience):
    task, net = make_condition("retina_and", 0, n_hidden=8, val_fraction=0.125)
    res = learn(net, task, rule="chl", epochs=100, lr=0.0, patience=patience, eval_every=2, seed=0, **FAST)
    assert res.stopped and not res.cap_reached
    assert res.best_epoch == 0 and res.epochs_run == 2 * patience
    assert res.validation["epoch"] == list(range(0, 2 * patience + 1, 2))
    assert res.history["epoch"][-1] == res.epochs_run  # the curve ends where training ended
    assert torch.equal(res.net.W, net.W)


def test_a_learnable_task_improves_past_the_first_checks_and_the_best_weights_come_back():
    task, net = make_condition("retina_separable", 0, n_hidden=8, val_fraction=0.125)
    res = learn(net, task, rule="chl", epochs=60, lr=0.05, patience=2, eval_every=2, seed=1, **FAST)
    v = res.validation["val_loss"]
    assert res.best_epoch >= 6 and min(v) < 0.8 * v[0]  # it learned, well past the first checks
    assert res.stopped and res.epochs_run < 60 and v[-1] > min(v)  # then stopped after the loss rose again
    # the returned network is the best one: its validation loss is the best recorded, not the last
    assert _val_loss(res.net, task) == pytest.approx(min(v), abs=1e-12)
    assert v[res.validation["epoch"].index(res.best_epoch)] == min(v)


def test_fixed_epochs_ignore_the_validation_split():
    plain, net = make_condition("retina_separable", 2, n_hidden=8)
    split, _ = make_condition("retina_separable", 2, n_hidden=8, val_fraction=0.125)
    kw = dict(rule="eqprop", epochs=3, eval_every=1, seed=4, **FAST)
    a = learn(net, plain, **kw)
    # the same training patterns with a validation split attached: nothing changes without patience
    split.x_train, split.y_train = plain.x_train, plain.y_train
    b = learn(net, split, **kw)
    assert torch.equal(a.net.W, b.net.W) and torch.equal(a.net.b, b.net.b) and a.history == b.history
    assert (a.best_epoch, a.epochs_run, a.stopped, a.validation) == (-1, 3, False, {})
    # the rule only watches: with more patience than checks the training itself is unchanged
    c = learn(net, split, patience=10, **kw)
    assert c.history == b.history and c.epochs_run == 3 and c.cap_reached
    if c.best_epoch == 3:
        assert torch.equal(c.net.W, b.net.W)
    else:
        assert not torch.equal(c.net.W, b.net.W)


@pytest.mark.parametrize("rule", ["eqprop", "bptt"])
def test_stopping_is_reproducible(rule):
    task, net = make_condition("retina_mvg", 1, n_hidden=8, switch_every=1, val_fraction=0.125)
    a = learn(net, task, rule=rule, epochs=12, patience=2, seed=7, **FAST)
    b = learn(net, task, rule=rule, epochs=12, patience=2, seed=7, **FAST)
    assert torch.equal(a.net.W, b.net.W) and a.history == b.history and a.validation == b.validation
    assert (a.best_epoch, a.epochs_run, a.final_goal) == (b.best_epoch, b.epochs_run, b.final_goal)


def test_varying_goals_are_checked_once_per_goal_cycle():
    task, net = make_condition("retina_mvg", 0, n_hidden=8, switch_every=2, val_fraction=0.125)
    res = learn(net, task, rule="chl", epochs=100, lr=0.0, patience=2, eval_every=1, seed=0, **FAST)
    # a cycle is AND then OR, 2 epochs each: checks at 0, 4, 8; the first is the mean over goals
    assert res.validation["epoch"] == [0, 4, 8] and res.epochs_run == 8 and res.best_epoch == 0
    assert res.validation["val_loss"][0] == pytest.approx(np.mean([_val_loss(net, task, g) for g in (0, 1)]))
    learned = learn(net, task, rule="chl", epochs=24, lr=0.2, patience=3, seed=0, **FAST)
    assert all(e % 4 == 0 for e in learned.validation["epoch"])
    # the restored network ends a cycle, so it was trained last on the cycle's last goal (OR)
    assert learned.final_goal == (1 if learned.best_epoch > 0 else 0)


def test_bad_patience_raises_naming_it():
    task, net = make_condition("retina_and", 0, n_hidden=8, val_fraction=0.125)
    with pytest.raises(ValueError, match="'patience' must be >= 1; got 0"):
        learn(net, task, patience=0, epochs=1)
    with pytest.raises(ValueError, match="'patience'"):
        LearningConfig(patience=-2).validate()
    with pytest.raises(TypeError, match="'patience'"):
        learn(net, task, patience=1.5, epochs=1)
    with pytest.raises(ValueError, match="'min_delta'"):
        learn(net, task, patience=1, min_delta=-0.1, epochs=1)
    plain, _ = make_condition("retina_and", 0, n_hidden=8)
    with pytest.raises(ValueError, match="'patience'=2 needs a validation split"):
        learn(net, plain, patience=2, epochs=1)


# ------------------------------------------------------------------------------ the sweep rows


def test_run_condition_reports_the_rule():
    base = {"rule": "chl", "cost": 0.0, "task": "retina_or", "rep": 0, "n_hidden": 8, "n_null": 2,
            "n_lesion_draws": 1, **FAST}
    fixed = run_condition({**base, "epochs": 2}, rng=0)
    # without patience the validation fraction is not used: the training patterns stay those of old runs
    same = run_condition({**base, "epochs": 2, "val_fraction": 0.3}, rng=0)
    assert fixed["test_acc"] == same["test_acc"] and fixed["q"] == same["q"]
    assert np.isnan(fixed["best_epoch"]) and fixed["epochs_run"] == 2 and fixed["cap_reached"]
    stopped = run_condition({**base, "epochs": 40, "lr": 0.0, "patience": 3, "eval_every": 2}, rng=0)
    assert (stopped["best_epoch"], stopped["epochs_run"], stopped["cap_reached"]) == (0, 6, False)
    assert stopped["curve_epoch"][-1] == 6 and np.isfinite(stopped["val_loss"])


def test_learning_curves_of_networks_stopped_at_different_epochs():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from mesoscale.ebm.plots import plot_learning_curves

    df = pd.DataFrame({"task": "retina_and", "rule": "chl", "cost": 0.0,
                       "curve_epoch": [[0, 5, 10], [0, 5, 10, 15, 20]],
                       "curve_test_acc": [[0.5, 0.7, 0.8], [0.5, 0.6, 0.7, 0.9, 0.9]]})
    fig = plot_learning_curves(df)
    x, y = fig.axes[0].lines[0].get_data()
    assert list(x) == [0, 5, 10, 15, 20] and np.allclose(y, [0.5, 0.65, 0.75, 0.9, 0.9])
    plt.close(fig)


def test_the_first_finding_says_how_long_the_networks_trained():
    import pandas as pd

    from mesoscale.ebm import local_learning_findings

    rows = [{"task": "retina_and", "rule": r, "cost": 0.0, "rep": k, "test_acc": 0.9, "z": 2.0 + k, "q": 0.3,
             "specialisation": 0.5, "lesion_retained": 0.8, "n_null": 20, "best_epoch": 10 * (k + 1),
             "epochs_run": 10 * (k + 1) + 20, "cap_reached": k == 3} for r in ("chl", "bptt") for k in range(4)]
    first = local_learning_findings(pd.DataFrame(rows)).splitlines()[0]
    assert "best epoch median 25 (IQR 18-32; bptt 25, chl 25)" in first and "epochs run median 45" in first
    assert "2 of 8 networks (25 %) reached the epoch cap" in first
