"""Two digit streams, Béna & Goodman's masks and measures, BIMT swaps: known answers and bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from mesoscale.metrics import modularity
from mesoscale.training import (
    scenario_statements,
    Condition,
    PairedDigits,
    Regularizer,
    SpatialRNN,
    bena_metrics,
    bena_specialisation,
    build_model,
    condition_mask,
    distance_l1,
    fitted_parameters,
    inter_module_ratio,
    module_labels,
    planted_q,
    random_mask,
    rule_targets,
    sbm_mask,
    swap_units,
    train,
    two_module_mask,
)


# ---------------------------------------------------------------- the task


def test_paired_digits_targets_pairs_and_pools():
    task = PairedDigits(rules=("first", "second", "parity_select", "sum_threshold", "same"), held_out=8, seed=3)
    b = task.sample(500, rng=0)
    ab = task.digits(b)
    y = b.y[:, -1].numpy()
    for j, r in enumerate(task.rules):
        assert np.array_equal(y[:, j], rule_targets(r, ab[:, 0], ab[:, 1]))
    held = {tuple(p) for p in task.held_out.tolist()}
    assert not held & {tuple(p) for p in ab.tolist()}, "a held-out pair was drawn for training"
    hb = task.sample(200, rng=1, pairs="held_out")
    assert {tuple(p) for p in task.digits(hb).tolist()} <= held
    # every digit is still trained in both streams
    assert set(task.trained_pairs[:, 0]) == set(range(10)) == set(task.trained_pairs[:, 1])
    # train and test images never overlap
    tr, te = set(np.concatenate(task._pools["train"])), set(np.concatenate(task._pools["test"]))
    assert not tr & te and len(tr) + len(te) == len(task._images)
    # Béna & Goodman's asymmetry fix leaves out equal and consecutive digits
    near = PairedDigits(exclude_near=True, seed=0)
    a, c = near.trained_pairs.T
    assert not np.any(a == c) and not np.any(a == (c - 1) % 10) and len(near.trained_pairs) == 80
    assert PairedDigits(seed=3).sample(4, rng=5).x.equal(PairedDigits(seed=3).sample(4, rng=5).x)


def test_paired_digits_modalities_missing_and_corrupt():
    task = PairedDigits(("image", "spikes"), rules=("first",), noise=0.0, seed=0)
    assert task.n_input == 72 and task.n_steps == 8
    b = task.sample(64, rng=0)
    img, spk = b.x[:, :, :64], b.x[:, :, 64:]
    assert torch.equal(img[:, 0], img[:, -1])  # the image is static without noise
    assert set(torch.unique(spk).tolist()) <= {0.0, 1.0} and spk.sum() > 0  # spikes
    assert not torch.equal(spk[:, 0], spk[:, 1])  # the spike code changes over time (one column per step)
    assert float(task.sample(8, rng=0, missing=1).x[:, :, 64:].abs().sum()) == 0.0
    assert float(task.sample(8, rng=0, missing=0).x[:, :, :64].abs().sum()) == 0.0
    clean = PairedDigits(noise=0.0, seed=0)
    c0, c1 = clean.sample(16, rng=2), clean.sample(16, rng=2, corrupt=0)
    assert torch.equal(c0.x[:, :, 64:], c1.x[:, :, 64:]) and not torch.equal(c0.x[:, :, :64], c1.x[:, :, :64])
    noisy = PairedDigits(noise=0.3, seed=0)  # the other stream keeps its noise too: paired trials
    n0, n1 = noisy.sample(16, rng=2), noisy.sample(16, rng=2, missing=0)
    assert torch.equal(n0.x[:, :, 64:], n1.x[:, :, 64:]) and torch.equal(n0.y, n1.y)


@pytest.mark.parametrize("kwargs, match", [
    ({"modalities": ("image", "sound")}, "modalities"),
    ({"modalities": ("image",)}, "modalities"),
    ({"rules": ("xor",)}, "rules"),
    ({"n_classes": 11}, "n_classes"),
    ({"noise": (0.1, 0.2, 0.3)}, "noise"),
    ({"held_out": [(0, 12)]}, "held_out"),
    ({"held_out": 95}, "held_out"),
])
def test_paired_digits_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PairedDigits(**kwargs)


def test_paired_digits_bad_sample_options():
    task = PairedDigits(seed=0)
    with pytest.raises(ValueError, match="missing"):
        task.sample(4, missing=2)
    with pytest.raises(ValueError, match="held_out"):
        task.sample(4, pairs="held_out")  # no pair was held out
    with pytest.raises(ValueError, match="split"):
        task.view(split="validation")


# ---------------------------------------------------------------- masks and Q


@pytest.mark.parametrize("n, p", [(10, 0.1), (25, 0.02), (20, 1.0)])
def test_two_module_mask_counts_and_q(n, p):
    m = two_module_mask(n, p, seed=1)
    lab = module_labels(2 * n, 2)
    count = max(1, round(p * n * n))
    assert m[:n, n:].sum() == count and m[n:, :n].sum() == count
    assert m[:n, :n].sum() == n * (n - 1) and not m.diagonal().any()
    assert inter_module_ratio(m, lab) == pytest.approx(count / (n * n))
    # the planted partition's (directed) Q is Béna & Goodman's formula with p' = p n / (n - 1)
    assert modularity(m.astype(float), lab) == pytest.approx(float(planted_q(count / (n * n), n)), abs=1e-12)


def test_sbm_mask_q_is_one_half_minus_the_between_fraction():
    """The text's formula for sbm_mask: Q = 0.5 - p_inter (not 0.5 (1 - p) / (1 + p))."""
    lab = module_labels(200, 2)
    for p_inter in (0.05, 0.2, 0.4):
        qs = [modularity(sbm_mask(200, 2, 0.1, p_inter, seed=s).astype(float), lab) for s in range(5)]
        assert np.mean(qs) == pytest.approx(0.5 - p_inter, abs=0.01)
        assert abs(np.mean(qs) - float(planted_q(p_inter))) > 0.01 or p_inter < 0.1


def test_random_and_planted_masks_at_a_matched_density():
    r = random_mask(50, 0.2, seed=0)
    assert r.sum() == round(0.2 * 50 * 49)
    for p in (1.0, 0.1, 0.005):
        c = Condition("planted", options={"p": p, "density": 0.2})
        m = condition_mask(c, 50, seed=0)
        assert abs(m.sum() / (50 * 49) - 0.2) < 0.01
        assert inter_module_ratio(m, module_labels(50, 2)) == pytest.approx(p, rel=0.35, abs=2e-3)


@pytest.mark.parametrize("cond, match", [
    (lambda: Condition("gaussian"), "prior"),
    (lambda: Condition("planted", options={"p": 0.0}), "'p'"),
    (lambda: Condition("planted", options={"p": 1.5}), "'p'"),
    (lambda: Condition("dense", "l2", 0.1), "kind"),
    (lambda: condition_mask(Condition("planted", options={"p": 0.5, "density": 0.9}), 20), "density"),
])
def test_bad_conditions_name_the_culprit(cond, match):
    with pytest.raises(ValueError, match=match):
        cond()


def test_a_mask_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="mask"):
        SpatialRNN(4, 10, 2, mask=np.ones((9, 9)))
    with pytest.raises(ValueError, match="input_mask"):
        SpatialRNN(4, 10, 2, input_mask=np.ones((10, 4)))
    with pytest.raises(ValueError, match="readout_groups"):
        SpatialRNN(4, 10, 2, readout_groups=[0, 1])


def test_fitted_parameters_prefer_a_stored_fit(tmp_path):
    d = tmp_path / "04_fitting"
    d.mkdir()
    pd.DataFrame({"dataset": ["human_dk68", "human_dk68"], "rule": ["matching"] * 2, "eta": [-1.0, -3.0],
                  "gamma": [0.1, 0.4], "energy_topk": [0.5, 0.2]}).to_csv(d / "best.csv", index=False)
    f = fitted_parameters("human_dk68", "matching", results_dir=d)
    assert (f["eta"], f["gamma"], f["energy"]) == (-3.0, 0.4, 0.2) and f["source"].endswith("best.csv")
    # chapter 04's stored best fits are indexed by dataset
    pd.DataFrame({"rule": ["sptl"], "eta": [-2.5], "gamma": [float("nan")], "energy_topk": [0.3]},
                 index=pd.Index(["human_dk68"], name="dataset")).to_parquet(d / "fits-best.parquet")
    assert fitted_parameters("human_dk68", "sptl", results_dir=d)["eta"] == -2.5
    # a table of single networks (lower energies: one lucky network) does not beat the fit's top-k table
    pd.DataFrame({"dataset": "human_dk68", "rule": "matching", "eta": [-6.0], "gamma": [2.0],
                  "energy": [0.05]}).to_parquet(d / "fits-networks.parquet")
    assert fitted_parameters("human_dk68", "matching", results_dir=d)["eta"] == -3.0
    with pytest.raises(ValueError, match="rule"):
        fitted_parameters("human_dk68", "magnetism", results_dir=d)


# ---------------------------------------------------------------- specialisation on constructed networks


def _constructed(disconnected: bool):
    N = 40
    lab = np.repeat([0, 1], 20)
    if disconnected:  # two modules, no connection between them, each reading one digit
        inm = np.zeros((128, N), bool)
        inm[:64, :20] = True
        inm[64:, 20:] = True
        mask = (lab[:, None] == lab[None, :]) & ~np.eye(N, dtype=bool)
        return SpatialRNN(128, N, 10, mask=mask, input_mask=inm, alpha=1.0, activation="tanh", gain=0.5, seed=0), lab
    return SpatialRNN(128, N, 10, alpha=1.0, activation="tanh", gain=0.5, seed=0), lab  # one dense module


def test_two_disconnected_modules_are_fully_specialised():
    task = PairedDigits(rules=("first", "second"), noise=0.1, seed=0)
    net, lab = _constructed(True)
    s = bena_specialisation(net, task, lab, n_train=2000, n_test=1000, seed=0).iloc[0]
    assert s.retrain_spec > 0.95 and s.ablation_spec > 0.9 and s.correlation_spec > 0.9
    assert s.retrain_m0_d0 > 0.6 and s.retrain_m0_d1 < 0.2  # module 0 knows digit 1 only


def test_one_dense_module_is_not_specialised():
    task = PairedDigits(rules=("first", "second"), noise=0.1, seed=0)
    net, lab = _constructed(False)
    s = bena_specialisation(net, task, lab, n_train=2000, n_test=1000, seed=0).iloc[0]
    assert s.retrain_spec < 0.1 and s.ablation_spec < 0.15 and s.correlation_spec < 0.25
    assert s.retrain_m0_d0 > 0.5 and s.retrain_m0_d1 > 0.5  # each half knows both digits


def test_bena_metrics_score_and_normalisations():
    rng = np.random.default_rng(1)
    d = rng.integers(0, 4, (400, 2))
    # module 0 codes digit 1 with strength a, module 1 codes both
    H = np.concatenate([np.eye(4)[d[:, 0]], np.eye(4)[d[:, 0]] + np.eye(4)[d[:, 1]]], 1)[None]
    H = H + 0.05 * rng.standard_normal(H.shape)
    r = bena_metrics(H, d, H, d, np.repeat([0, 1], 4), n_classes=4, seed=0).iloc[0]
    assert 0.3 < r.retrain_spec < 0.7  # half specialised: |1 - 0| / 2
    rb = bena_metrics(H, d, H, d, np.repeat([0, 1], 4), n_classes=4, normalisation="bena", seed=0).iloc[0]
    assert rb.retrain_spec != r.retrain_spec  # their normalisation is not chance-corrected for 4 classes
    with pytest.raises(ValueError, match="partition"):
        bena_metrics(H, d, H, d, np.zeros(8, dtype=int))
    with pytest.raises(ValueError, match="digits_test"):
        bena_metrics(H, d, H, d[:10], np.repeat([0, 1], 4))


# ---------------------------------------------------------------- module readouts, swaps, exact masks


def test_module_readouts_decide_by_the_most_confident_module():
    net = SpatialRNN(2, 4, 3, readout_groups=[0, 0, 1, 1], seed=0)
    assert (net.w_out[0, :2, 3:] == 0).all() and (net.w_out[0, 2:, :3] == 0).all()
    with torch.no_grad():
        logits, h = net(torch.randn(5, 2, 2))
        full = torch.einsum("kbtn,kno->kbto", h, net.w_out * net.out_mask) + net.b_out.unsqueeze(2)
        g = full.reshape(1, 5, 2, 2, 3)
        pick = g.amax(-1).argmax(-1)
        expect = torch.where(pick[..., None] == 0, g[..., 0, :], g[..., 1, :])
    assert torch.allclose(logits, expect)
    assert net.with_new_readout(2).n_groups == 1


def test_swap_units_is_the_best_greedy_swap_and_lowers_the_cost():
    rng = np.random.default_rng(0)
    pos = rng.random((7, 3)) * 5
    net = SpatialRNN(1, 7, 1, positions=pos, n_members=2, seed=[0, 1])
    W = net.effective_weights().detach().abs()

    def cost(slot, k):
        D = net.dist[slot[:, None], slot[None, :]]
        return float(((W[k] + W[k].T) * D).sum() / 2)

    before = [cost(net.slot[k], k) for k in range(2)]
    # brute force of the first greedy step of member 0
    s0 = net.slot[0].clone()
    best = min(((cost(torch.tensor([*(s0[j] if i == 0 else s0[0] if i == j else s0[i] for i in range(7))]), 0), j)
                for j in range(1, 7)))
    swaps = swap_units(net)
    after = [cost(net.slot[k], k) for k in range(2)]
    assert all(a <= b + 1e-6 for a, b in zip(after, before)) and swaps.sum() > 0
    if best[0] < before[0]:
        assert after[0] <= best[0] + 1e-6
    assert float(distance_l1(W, net.member_distances())[0]) == pytest.approx(after[0], rel=1e-5)
    assert sorted(net.slot[0].tolist()) == list(range(7))  # still a permutation


def test_masks_keep_their_exact_sparsity_through_training_with_swaps():
    task = PairedDigits(seed=0)
    cond = Condition("planted", "distance_l1", 1e-3, options={"p": 0.1, "swap_every": 2})
    net = build_model(cond, task.n_input, task.n_output, 20, [0, 1], mask_seeds=[3, 4], module_readouts=True)
    before = net.mask.clone()
    res = train(net, task, steps=6, batch_size=16, regularizer=cond.regularizer_object(), seed=0, progress=False,
                device="cpu")
    W = res.model.effective_weights().detach()
    assert torch.equal(res.model.mask, before)
    assert torch.equal(res.model.w_rec.detach() != 0, before != 0)  # exactly the allowed connections are non-zero
    assert (res.model.w_out.detach()[res.model.out_mask == 0] == 0).all()
    assert (W[before == 0] == 0).all() and (W[before != 0] != 0).all()
    assert not torch.equal(res.model.slot, torch.arange(20).repeat(2, 1))  # BIMT moved units


def test_regularizer_bad_swap_every():
    with pytest.raises(ValueError, match="swap_every"):
        Regularizer("distance_l1", 0.1, swap_every=-1)


def test_all_module_pairs_of_a_three_module_mask():
    m = two_module_mask(5, 0.2, n_modules=3, seed=0)
    for g, h in itertools.permutations(range(3), 2):
        assert m[g * 5:(g + 1) * 5, h * 5:(h + 1) * 5].sum() == 5


def test_scenario_statements_reference_and_steps():
    df = pd.DataFrame({"block": "grid", "condition": ["dense", "dense", "x", "x"], "seed": [0, 1, 0, 1],
                       "accuracy": [0.6, 0.5, 0.4, 0.3], "acc_first": [0.9, 0.9, 0.8, 0.8],
                       "acc_second": [0.7, 0.6, 0.5, 0.4], "steps_done": [4000, 4000, 2500, 4000],
                       "best_step": [3999, 3000, 1500, 3950]})
    empty = pd.DataFrame(columns=["condition", "metric", "diff", "lo", "hi", "p", "p_holm", "n"])
    link = pd.DataFrame(columns=["x", "y", "r", "lo", "hi", "p", "p_holm", "n", "n_clusters", "covariates"])
    ref = pd.Series({"acc_0": 0.95, "acc_1": 0.8, "accuracy": 0.75})
    first = scenario_statements(df, empty, link, reference=ref)[0]
    assert "reaches 0.75" in first and "first 0.85 of 0.95" in first and "second 0.55 of 0.80" in first
    assert "40%-80% of it (median 60%)" in first  # 0.3/0.75 .. 0.6/0.75
    assert "50% of networks were best at their last validation" in first  # seeds with a gap <= 100 steps
    with pytest.raises(ValueError, match="heads"):
        scenario_statements(df, empty, link, reference=pd.Series({"acc_0": 0.9, "accuracy": 0.9}))
    two = pd.concat([df, df.assign(block="worm")], ignore_index=True)  # the same condition names in two blocks
    sig = pd.DataFrame({"block": ["worm"], "condition": ["x"], "metric": ["missing"], "diff": [0.1], "lo": [0.05],
                        "hi": [0.2], "p": [0.01], "p_holm": [0.02], "n": [2]})
    text = scenario_statements(two, sig, link)
    assert "grid: dense 0.55" in text[0] and "worm: dense 0.55" in text[0] and "worm: x missing +0.10" in text[1]
