"""Tests of mesoscale.training: tasks, models, regularisers, loop, ensembles, evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mesoscale.training import (
    ArrayTask,
    Regularizer,
    SpatialMLP,
    SpatialRNN,
    VaryingGoalTask,
    YangTasks,
    communicability,
    communicability_distance,
    compositional_split,
    distance_l1,
    grid_positions,
    l1,
    lesion_connections,
    lesion_curve,
    mask_density,
    module_lesion,
    noise_curve,
    sbm_mask,
    task_variance_clusters,
    train,
    two_digit_task,
)
from mesoscale.training import few_shot_curve, reference_accuracy
from mesoscale.training.tasks import Batch, Task

torch.set_num_threads(1)


# ------------------------------------------------------------------ tasks


def test_two_digit_task_shapes_reproducible_and_disjoint_pools():
    a = two_digit_task(300, 100, seed=3)
    b = two_digit_task(300, 100, seed=3)
    assert a.x_train.shape == (300, 128) and a.y_train.shape == (300, 2) and a.heads == (10, 10)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert a.x_train.dtype == np.float32 and a.y_train.dtype == np.int64
    assert 0.0 <= a.x_train.min() and a.x_train.max() <= 1.0
    # no test image appears in the training pairs
    tr = {r.tobytes() for r in np.concatenate([a.x_train[:, :64], a.x_train[:, 64:]])}
    te = {r.tobytes() for r in np.concatenate([a.x_test[:, :64], a.x_test[:, 64:]])}
    assert not (tr & te)
    assert not np.array_equal(a.x_train, two_digit_task(300, 100, seed=4).x_train)


def test_two_digit_targets():
    s = two_digit_task(200, 50, target="select", seed=0)
    assert s.x_train.shape[1] == 129 and s.heads == (10,)
    assert np.array_equal(s.y_train[:, 0], s.digits_train[np.arange(200), s.context_train])
    p = two_digit_task(200, 50, target="parity_select", seed=0)
    assert np.array_equal(p.y_train[:, 0], p.digits_train[np.arange(200), p.context_train] % 2)
    q = two_digit_task(200, 50, target="sum_parity", seed=0)
    assert np.array_equal(q.y_train[:, 0], q.digits_train.sum(1) % 2)
    with pytest.raises(ValueError, match="target"):
        two_digit_task(10, 10, target="nope")
    with pytest.raises(ValueError, match="n_train"):
        two_digit_task(0, 10)


def test_array_task_validation():
    with pytest.raises(ValueError, match="'y'"):
        ArrayTask(np.zeros((3, 2)), np.array([0, 1, 5]), heads=(3,))
    with pytest.raises(TypeError, match="'y'"):
        ArrayTask(np.zeros((3, 2)), np.array([0.5, 1, 2]), heads=(3,))


def test_yang_tasks_rule_inputs_and_split():
    t = YangTasks(rule="compositional")
    b1 = t.sample(6, 1)
    b2 = t.sample(6, 1)
    assert torch.equal(b1.x, b2.x) and torch.equal(b1.y, b2.y)
    assert b1.x.shape[-1] == 33 + t.n_rule and t.heads == (17,)
    v = t.rule_vector("dlydm2")
    assert v.sum() == 2 and v[t.bases.index("dlydm")] == 1 and v[-1] == 1
    train_t, held = compositional_split(n_holdout=3, seed=0)
    assert len(held) == 3 and not set(held) & set(train_t)
    for h in held:  # each held-out task is a new combination of trained parts
        rv = t.rule_vector(h)
        covered = np.max([t.rule_vector(u) for u in train_t], axis=0)
        assert np.all(covered[rv > 0] == 1)
    with pytest.raises(ValueError, match="tasks"):
        YangTasks(tasks=["nope"])


def test_varying_goal_switches():
    t = VaryingGoalTask(switch_every=5)
    b_and = t.sample(256, np.random.default_rng(1), step=0)
    b_or = t.sample(256, np.random.default_rng(1), step=5)
    assert torch.equal(b_and.x, b_or.x)
    assert b_or.y.sum() > b_and.y.sum()  # OR is true more often than AND
    assert t.goal(4) == "and" and t.goal(5) == "or" and t.goal(10) == "and"


# ------------------------------------------------------------------ models & priors


def test_grid_and_masks():
    pos = grid_positions(100)
    assert pos.shape == (100, 3) and tuple(pos.max(0)) == (4, 4, 3)
    m = sbm_mask(40, 2, density=0.2, p_inter=0.1, seed=1)
    assert np.array_equal(m, m.T) and not m.diagonal().any()
    n_edges = m.sum() // 2
    assert n_edges == round(0.2 * 40 * 39 / 2)
    inter = m[:20, 20:].sum()
    assert inter == round(0.1 * n_edges)
    assert np.array_equal(m, sbm_mask(40, 2, density=0.2, p_inter=0.1, seed=1))
    assert abs(mask_density(m) - 0.2) < 0.01
    with pytest.raises(ValueError, match="p_inter"):
        sbm_mask(10, 2, 0.9, 0.0)
    from mesoscale.training import module_labels, spatial_modules

    assert np.array_equal(spatial_modules(grid_positions(100), 2), module_labels(100, 2))
    lab = spatial_modules(np.array([[0.0, 9], [0, 1], [0, 5], [0, 2]]), 2)
    assert lab.tolist() == [1, 0, 1, 0]


def test_generative_mask():
    from mesoscale.training import distance_matrix, generative_mask

    D = distance_matrix(grid_positions(27))
    m = generative_mask(D, 60, rule="matching", eta=-2.0, gamma=0.3, seed=0)
    assert m.shape == (27, 27) and np.array_equal(m, m.T) and m.sum() // 2 == 60 and not m.diagonal().any()
    assert np.array_equal(m, generative_mask(D, 60, rule="matching", eta=-2.0, gamma=0.3, seed=0))


def test_connectome_prior():
    from mesoscale.training import connectome_prior

    mask, pos, c = connectome_prior("celegans_witvliet_8")
    assert mask.shape == (len(pos), len(pos)) and np.array_equal(mask, mask.T) and not mask.diagonal().any()
    net = SpatialRNN(3, len(pos), 2, positions=pos, mask=mask, seed=0)
    assert torch.all(net.w_rec.detach()[0][~torch.as_tensor(mask)] == 0)


def test_ensemble_member_equals_single_model():
    ens = SpatialRNN(3, 10, 2, n_members=3, seed=[5, 6, 7])
    single = SpatialRNN(3, 10, 2, seed=6)
    for (n, p), (_, q) in zip(ens.named_parameters(), single.named_parameters()):
        assert torch.equal(p[1], q[0]), n
    x = torch.randn(4, 5, 3)
    assert torch.allclose(ens(x)[0][1], single(x)[0][0], atol=1e-6)
    with pytest.raises(ValueError, match="seed"):
        SpatialRNN(3, 10, 2, n_members=2, seed=[1, 2, 3])
    with pytest.raises(ValueError, match="'x'"):
        ens(torch.zeros(4, 5, 2))


def test_mlp_forward_and_readout_swap():
    mlp = SpatialMLP(4, 3, (8, 6), n_members=2, seed=0)
    logits, h = mlp(torch.zeros(5, 2, 4))
    assert logits.shape == (2, 5, 2, 3) and h.shape == (2, 5, 2, 6)
    new = mlp.with_new_readout(7)
    assert new(torch.zeros(5, 2, 4))[0].shape == (2, 5, 2, 7)
    rnn = SpatialRNN(4, 9, 3, seed=0).with_new_readout(5)
    assert rnn(torch.zeros(2, 3, 4))[0].shape[-1] == 5


# ------------------------------------------------------------------ regularisers


def _w(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(2, n, n, generator=g, dtype=torch.float64)
    W = W + 0.3 * torch.sign(W)  # keep entries away from the |w| kink at 0
    W = W * (1 - torch.eye(n, dtype=torch.float64))
    return W


@pytest.mark.parametrize("fn", ["l1", "distance_l1", "communicability_distance"])
def test_regulariser_gradients_match_finite_differences(fn):
    W = _w()
    D = torch.as_tensor(np.abs(np.subtract.outer(np.arange(6.0), np.arange(6.0))) + 0.5)
    off = (1 - torch.eye(6, dtype=torch.float64)).bool()
    f = {"l1": lambda w: l1(w), "distance_l1": lambda w: distance_l1(w, D, A=2.0, l0=0.1),
         "communicability_distance": lambda w: communicability_distance(w, D)}[fn]

    def g(vals):  # only off-diagonal entries vary (the diagonal is the |w| kink at 0)
        w = torch.zeros_like(W)
        w[:, off] = vals
        return f(w).sum()

    vals = W[:, off].clone().requires_grad_()
    assert torch.autograd.gradcheck(g, (vals,), eps=1e-6, atol=1e-5)
    # and against a hand-written central difference on one entry
    vals2 = vals.detach().clone()
    h = 1e-6
    e = torch.zeros_like(vals2)
    e[1, 3] = h
    fd = (g(vals2 + e) - g(vals2 - e)) / (2 * h)
    grad = torch.autograd.grad(g(vals), vals)[0][1, 3]
    assert abs(float(fd - grad)) < 1e-5 * max(1.0, abs(float(fd)))


def test_regulariser_values():
    W = torch.tensor([[0.0, 2.0], [-1.0, 0.0]])
    D = torch.tensor([[0.0, 3.0], [3.0, 0.0]])
    assert float(l1(W)) == 3.0
    assert float(distance_l1(W, D, A=1.0, l0=1.0)) == pytest.approx(12.0)
    C = communicability(W)
    assert float(C[0, 0]) == 0.0 and float(C[1, 1]) == 0.0
    # 2-node: S^-1/2 |W| S^-1/2 = [[0, 2/sqrt(2*1)], [1/sqrt(1*2), 0]] -> expm off-diagonals
    M = np.array([[0, 2 / np.sqrt(2)], [1 / np.sqrt(2), 0]])
    from scipy.linalg import expm

    assert np.allclose(C.numpy(), expm(M) * (1 - np.eye(2)), atol=1e-6)
    assert float(communicability_distance(W, D)) == pytest.approx(float((W.abs() * C * D).sum()))
    with pytest.raises(ValueError, match="kind"):
        Regularizer("l2", 1.0)
    with pytest.raises(ValueError, match="strength"):
        Regularizer("l1", -1.0)
    net = SpatialRNN(2, 5, 2, n_members=3, seed=[0, 0, 0])  # identical members
    r = Regularizer("l1", [0.0, 1.0, 2.0])(net)
    assert r[0] == 0 and torch.allclose(r[2], 2 * r[1])


# ------------------------------------------------------------------ training loop


def _digit_task(n=200):
    d = two_digit_task(n, 100, seed=0, target="parity_select")
    return d.task("train", n_steps=2), d.task("test", n_steps=2)


def test_masks_stay_exact_through_training():
    task, _ = _digit_task()
    mask = sbm_mask(16, 2, density=0.3, p_inter=0.1, seed=0)
    net = SpatialRNN(task.n_input, 16, task.n_output, mask=mask, n_members=2, seed=[0, 1])
    w0 = net.w_rec.detach().clone()
    train(net, task, steps=15, batch_size=16, lr=1e-2, regularizer=Regularizer("communicability", 0.01),
          seed=0, progress=False)
    W = net.w_rec.detach()
    assert torch.all(W[:, ~torch.as_tensor(mask)] == 0)
    assert not torch.equal(W, w0)  # it did train
    assert torch.all(net.effective_weights().detach()[:, ~torch.as_tensor(mask)] == 0)


def test_training_reduces_loss_and_log_is_tidy():
    t = VaryingGoalTask(switch_every=0)
    net = SpatialRNN(4, 16, 2, n_members=2, seed=[0, 1])
    res = train(net, t, steps=120, batch_size=32, lr=1e-2, eval_every=40, seed=0, progress=False)
    log = res.log
    assert set(log.columns) >= {"step", "member", "loss", "task_loss", "reg_loss", "val_loss", "val_acc"}
    assert len(log) == 240 and log.val_loss.notna().sum() == 6
    first = log[log.step < 10].task_loss.mean()
    last = log[log.step >= 110].task_loss.mean()
    assert last < 0.8 * first


def test_resume_reproduces_uninterrupted_run(tmp_path):
    task, val = _digit_task()
    kw = dict(batch_size=16, lr=5e-3, regularizer=Regularizer("distance_l1", 1e-3), val_task=val,
              eval_every=4, patience=50, rec_noise=0.05, seed=11, progress=False, checkpoint_every=3)

    def make():
        return SpatialRNN(task.n_input, 12, task.n_output, n_members=2, seed=[3, 4])

    full = train(make(), task, steps=12, **kw)
    p = tmp_path / "ck.pt"
    part = train(make(), task, steps=7, checkpoint=p, **kw)
    assert part.steps_done == 7 and p.exists()
    resumed = train(make(), task, steps=12, checkpoint=p, **kw)  # a fresh model: state comes from disk
    assert np.array_equal(full.log.loss.to_numpy(), resumed.log.loss.to_numpy())
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="checkpoint"):
        train(SpatialRNN(task.n_input, 12, task.n_output, n_members=2, seed=[8, 9]), task, steps=13,
              checkpoint=p, **kw)


def test_ensemble_equals_separate_runs():
    task, val = _digit_task()
    seeds = [21, 22, 23]
    lrs = [1e-3, 3e-3, 1e-2]
    kw = dict(steps=25, batch_size=16, val_task=val, eval_every=5, patience=2, clip=0.5, seed=5, progress=False)
    reg = Regularizer("communicability", [0.0, 0.01, 0.05])
    ens = train(SpatialRNN(task.n_input, 12, task.n_output, n_members=3, seed=seeds), task, lr=lrs,
                regularizer=reg, **kw)
    for k, s in enumerate(seeds):
        one = train(SpatialRNN(task.n_input, 12, task.n_output, seed=s), task, lr=lrs[k],
                    regularizer=Regularizer("communicability", reg.strength[k]), **kw)
        for (n, p), (_, q) in zip(ens.model.named_parameters(), one.model.named_parameters()):
            assert torch.allclose(p[k], q[0], atol=1e-5, rtol=1e-4), n
        a = ens.log[ens.log.member == k].loss.to_numpy()
        b = one.log.loss.to_numpy()
        assert np.allclose(a, b, atol=1e-5) and len(a) == len(b)
        assert ens.best_step[k] == one.best_step[0] and ens.stopped[k] == one.stopped[0]


def test_same_seed_same_bits_and_bad_arguments():
    t = VaryingGoalTask(switch_every=0)
    r1 = train(SpatialRNN(4, 8, 2, seed=0), t, steps=5, batch_size=8, seed=1, progress=False, rec_noise=0.1)
    r2 = train(SpatialRNN(4, 8, 2, seed=0), t, steps=5, batch_size=8, seed=1, progress=False, rec_noise=0.1)
    assert torch.equal(r1.model.w_rec, r2.model.w_rec)
    with pytest.raises(ValueError, match="lr"):
        train(SpatialRNN(4, 8, 2, seed=0), t, steps=1, lr=-1.0, progress=False)
    with pytest.raises(ValueError, match="task"):
        train(SpatialRNN(5, 8, 2, seed=0), t, steps=1, progress=False)
    with pytest.raises(ValueError, match="bf16"):
        train(SpatialRNN(4, 8, 2, seed=0), t, steps=1, bf16="yes", progress=False)


def test_mlp_trains_with_distance_l1():
    task, val = _digit_task()
    mlp = SpatialMLP(task.n_input, task.n_output, (16,), n_members=2, seed=[0, 1])
    res = train(mlp, task, steps=10, batch_size=16, regularizer=Regularizer("distance_l1", 1e-3), seed=0,
                progress=False)
    assert (res.log.reg_loss > 0).all()


# ------------------------------------------------------------------ evaluation on hand-made networks


def _hand_net():
    """4 units; unit 0 carries class 0, unit 1 class 1, units 2-3 idle; readout bias favours class 1."""
    net = SpatialRNN(2, 4, 2, alpha=1.0, seed=0)
    with torch.no_grad():
        net.w_in.zero_()
        net.w_in[0, 0, 0] = 1.0
        net.w_in[0, 1, 1] = 1.0
        net.w_rec.zero_()
        net.w_out.zero_()
        net.w_out[0, 0, 0] = 1.0
        net.w_out[0, 1, 1] = 1.0
        net.b_out[0, 0] = torch.tensor([0.0, 0.5])
    task = ArrayTask(np.eye(2, dtype=np.float32), np.array([0, 1]), heads=(2,), n_steps=1)
    return net, task


def test_unit_lesions_known_answers():
    net, task = _hand_net()
    rnd = lesion_curve(net, task, kind="unit", order="random", fractions=[0.0], n_repeats=2)
    assert (rnd.accuracy == 1.0).all()
    tgt = lesion_curve(net, task, kind="unit", order="targeted", fractions=[0.0, 0.5, 1.0])
    # the two strongest units (0, 1) go first: class 0 then fails, class 1 survives through the bias
    assert tgt.set_index("fraction").accuracy.to_dict() == {0.0: 1.0, 0.5: 0.5, 1.0: 0.5}
    full = lesion_curve(net, task, kind="unit", order="random", fractions=[1.0], n_repeats=1)
    assert full.accuracy.iloc[0] == 0.5


def test_module_lesion_known_answer():
    net, task = _hand_net()
    df = module_lesion(net, task, partition=[0, 0, 1, 1])
    acc = df.set_index("module").accuracy.to_dict()
    assert acc == {-1: 1.0, 0: 0.5, 1: 1.0}
    with pytest.raises(ValueError, match="partition"):
        module_lesion(net, task, partition=[0, 1])


def test_connection_lesions():
    W = torch.tensor([[[0.0, 3.0, -5.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    out = lesion_connections(W, 0.5, "targeted")
    assert out[0, 0, 2] == 0 and out[0, 0, 1] == 0 and out[0, 2, 1] == 2 and out[0, 1, 0] == 1
    r = lesion_connections(W, 0.5, "random", rng=0)
    assert int((r != 0).sum()) == 2 and torch.all((r == 0) | (r == W))
    # a recurrent path: unit 0 -> unit 1 -> output; cutting the strongest connection breaks it
    net = SpatialRNN(1, 2, 2, alpha=1.0, seed=0)
    with torch.no_grad():
        net.w_in.zero_()
        net.w_in[0, 0, 0] = 1.0
        net.w_rec.zero_()
        net.w_rec[0, 0, 1] = 2.0
        net.w_out.zero_()
        net.w_out[0, 1, 1] = 1.0
        net.b_out[0, 0] = torch.tensor([0.5, 0.0])
    task = ArrayTask(np.array([[1.0], [0.0]], dtype=np.float32), np.array([1, 0]), heads=(2,), n_steps=2)
    df = lesion_curve(net, task, kind="connection", order="targeted", fractions=[0.0, 1.0])
    assert df.accuracy.tolist() == [1.0, 0.5]


def test_noise_curve_zero_noise_equals_clean_and_degrades():
    net, task = _hand_net()
    df = noise_curve(net, task, kind="input", levels=[0.0, 50.0], n=2)
    assert df.accuracy.iloc[0] == 1.0
    big = ArrayTask(np.tile(np.eye(2, dtype=np.float32), (200, 1)), np.tile([0, 1], 200), heads=(2,))
    df = noise_curve(net, big, kind="recurrent", levels=[0.0, 5.0], seed=0)
    assert df.accuracy.iloc[0] == 1.0 and df.accuracy.iloc[1] < 0.9
    assert df.equals(noise_curve(net, big, kind="recurrent", levels=[0.0, 5.0], seed=0))  # same seed, same bits


def test_task_variance_clusters_recover_planted_groups():
    rng = np.random.default_rng(0)
    tv = np.zeros((30, 4))
    tv[:10, 0] = 1.0
    tv[10:20, 1:3] = 1.0
    tv[20:28, 3] = 1.0
    tv += 0.01 * rng.random(tv.shape)
    tv[28:] = 0.0  # inactive units
    out = task_variance_clusters(tv, k_range=range(2, 7), seed=0)
    lab = out["labels"]
    assert out["k"] == 3 and (lab[28:] == -1).all()
    assert len({*lab[:10]}) == 1 and len({*lab[10:20]}) == 1 and len({*lab[20:28]}) == 1
    assert len({lab[0], lab[10], lab[20]}) == 3


def test_few_shot_curve_improves_with_examples():
    t = VaryingGoalTask(switch_every=0)
    net = SpatialRNN(4, 16, 2, n_members=2, seed=[0, 1])
    train(net, t, steps=60, batch_size=32, lr=1e-2, seed=0, progress=False)
    new = VaryingGoalTask(switch_every=0, goals=("or",))
    w_before = net.w_rec.detach().clone()
    df = few_shot_curve(net, new, ks=[1, 64], steps=40, lr=2e-2, adapt="all", n_test=256, seed=0)
    assert set(df.k) == {0, 1, 64}
    mean = df.groupby("k").accuracy.mean()
    assert mean[64] > mean[1] - 0.05 and mean[64] >= 0.7
    assert torch.equal(net.w_rec, w_before)  # adaptation works on a copy


def test_yang_evaluation_pipeline():
    from mesoscale.training import cluster_lesion, per_task_accuracy, task_variance

    t = YangTasks(["dm1", "dm2", "dlydm1"], rule="compositional")
    net = SpatialRNN(t.n_input, 12, t.n_output, n_members=2, seed=[0, 1])
    acc = per_task_accuracy(net, t, ["dm1", "dlydm2"], n_per_task=8, seed=0, split="x")
    assert len(acc) == 4 and acc.accuracy.between(0, 1).all() and (acc.split == "x").all()
    assert acc.equals(per_task_accuracy(net, t, ["dm1", "dlydm2"], n_per_task=8, seed=0, split="x"))
    tv = task_variance(net, t, n_per_task=8, seed=0)
    assert tv.shape == (2, 12, 3) and (tv >= 0).all()
    labels = np.repeat([0, 1, -1], 4)
    cl = cluster_lesion(net.member(0), t, labels, ["dm1"], n_per_task=8, seed=0)
    assert sorted(cl.cluster.unique()) == [-1, 0, 1]
    intact = cl[cl.cluster == -1].accuracy.iloc[0]
    assert intact == per_task_accuracy(net.member(0), t, ["dm1"], n_per_task=8, seed=0).accuracy.iloc[0]


def test_modular_inputs_stay_exact():
    from mesoscale.training import Condition, build_model

    task, _ = _digit_task()  # 129 inputs: two digits + context bit
    cond = Condition("sbm", options={"density": 0.3, "p_inter": 0.05,
                                     "input_groups": [slice(0, 64), slice(64, 128)]})
    net = build_model(cond, task.n_input, task.n_output, n_hidden=16, seeds=[0, 1])
    m = net.in_mask[0].bool()
    assert not m[:64, 8:].any() and m[:64, :8].all() and not m[64:128, :8].any() and m[128].all()
    train(net, task, steps=5, batch_size=16, lr=1e-2, seed=0, progress=False)
    assert torch.all(net.w_in.detach()[:, ~m] == 0) and net.w_in.detach()[:, m].abs().sum() > 0
    x = torch.zeros(2, 2, task.n_input)
    x[:, :, 64:128] = 1.0  # only digit 2: module 0 receives nothing but its bias and recurrence
    assert net.member(1).in_mask.shape == (1, task.n_input, 16)


def test_evaluation_seeds_accept_seed_sequences_and_generators():
    # int(seed) used to reject these (issue 13)
    from mesoscale.training import ensemble_modularity, per_task_accuracy, task_variance

    tasks = YangTasks(["dm1", "dm2"], rule="compositional")
    net = SpatialRNN(tasks.n_input, 9, tasks.n_output, n_members=2, seed=0)
    for seed in (np.random.SeedSequence(3), np.random.default_rng(3), 3, None):
        assert len(per_task_accuracy(net, tasks, n_per_task=8, seed=seed)) == 4
        assert task_variance(net, tasks, n_per_task=8, seed=seed).shape == (2, 9, 2)
        assert len(ensemble_modularity(net, nulls=("density",), n_null=2, n_runs=1, density=0.3, seed=seed)) == 2
    a = per_task_accuracy(net, tasks, n_per_task=8, seed=np.random.SeedSequence(3))
    assert a.equals(per_task_accuracy(net, tasks, n_per_task=8, seed=np.random.SeedSequence(3)))


def test_run_conditions_trains_every_condition_reproducibly():
    from mesoscale.training import Condition, run_conditions, two_digit_task

    d = two_digit_task(120, 60, seed=0)
    conds = [Condition("dense"), Condition("sbm", options={"density": 0.3})]
    kw = dict(n_hidden=16, n_seeds=2, steps=3, batch_size=16, progress=False)
    out = run_conditions(conds, d.task("train"), d.task("test"), seed=1, **kw)
    s = out["summary"]
    assert list(s["condition"]) == ["dense", "dense", "sbm", "sbm"] and set(out["models"]) == {"dense", "sbm"}
    assert s.loc[s.condition == "sbm", "mask_density"].iloc[0] < s.loc[s.condition == "dense", "mask_density"].iloc[0]
    assert s["accuracy"].between(0, 1).all()
    assert s.equals(run_conditions(conds, d.task("train"), d.task("test"), seed=1, **kw)["summary"])
    with pytest.raises(ValueError, match="distinct names"):
        run_conditions([Condition("dense"), Condition("dense")], d.task("train"), d.task("test"), **kw)


def test_training_figures_have_their_artists():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from mesoscale.training.plots import plot_by_condition, plot_curves, plot_relation

    df = pd.DataFrame({"condition": ["a", "a", "b", "b"], "acc": [0.5, 0.6, 0.8, 0.9], "x": [1, 2, 1, 2]})
    fig = plot_by_condition(df, "acc", reference=0.5)
    assert isinstance(fig, Figure) and len(fig.axes[0].patches) == 2 and len(fig.axes[0].lines) == 3
    fig = plot_curves(df, "x", "acc")
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["a", "b"]
    fig = plot_relation(df, "x", "acc")
    assert len(fig.axes[0].lines) == 2


def test_robustness_table_matches_the_curves_and_plots_one_panel_per_test():
    from mesoscale.training import Condition, VaryingGoalTask, build_model, lesion_curve, robustness_table
    from mesoscale.training.plots import plot_robustness

    net = build_model(Condition(), 4, 2, n_hidden=8, seeds=[0, 1])
    t = VaryingGoalTask(switch_every=0)
    ss = np.random.SeedSequence(4)
    rob = robustness_table({"dense": net}, t, fractions=[0.0, 0.5], n_repeats=2, noise_levels=[0.0], seed=ss)
    assert len(set(rob.test)) == 6 and set(rob.member) == {0, 1}
    ref = lesion_curve(net, t, kind="unit", order="random", fractions=[0.0, 0.5], n_repeats=2, seed=ss)
    ref = ref.groupby(["fraction", "member"]).accuracy.mean().to_numpy()
    got = rob[rob.test == "random unit lesion"].accuracy.to_numpy()
    assert np.allclose(got, ref)
    fig = plot_robustness(rob)
    assert [ax.get_title() for ax in fig.axes] == list(dict.fromkeys(rob.test))


class _OneKnownOneRandomHead(Task):
    """Fresh Gaussian inputs over 2 steps; head 0 is the sign of input 0 (learnable), head 1 a coin (not)."""

    heads, n_input, n_steps = (2, 2), 3, 2

    def sample(self, batch_size, rng=None, step=0):
        rng = np.random.default_rng(rng)
        x = rng.standard_normal((batch_size, self.n_steps, self.n_input)).astype(np.float32)
        y = np.stack([(x[:, 0, 0] > 0).astype(np.int64), rng.integers(0, 2, batch_size)], axis=1)
        w = torch.zeros(batch_size, self.n_steps)
        w[:, -1] = 1.0
        return Batch(torch.as_tensor(x), torch.as_tensor(np.repeat(y[:, None], self.n_steps, 1)), w, None)


def test_reference_accuracy_known_answers():
    task = _OneKnownOneRandomHead()
    ref = reference_accuracy(task, steps=600, batch_size=64, hidden=16, lr=1e-2, n_test=2000, seed=0)
    assert ref.acc_0 > 0.95  # a learnable head is learnt
    assert abs(ref.acc_1 - 0.5) < 0.05  # a coin stays a coin on fresh trials
    assert ref.accuracy <= min(ref.acc_0, ref.acc_1) + 1e-12
    again = reference_accuracy(task, steps=600, batch_size=64, hidden=16, lr=1e-2, n_test=2000, seed=0)
    pd.testing.assert_series_equal(ref, again)
    with pytest.raises(ValueError, match="steps"):
        reference_accuracy(task, steps=0)
    with pytest.raises(ValueError, match="'lr'"):
        reference_accuracy(task, lr=0.0)
    with pytest.raises(TypeError, match="Task"):
        reference_accuracy("digits")
