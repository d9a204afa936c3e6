"""The specialisation experiments: resumable batched training, the frontier, scenarios and the link statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import mesoscale.training.runs as runs
from mesoscale.training import (
    Condition,
    PairedDigits,
    SpatialRNN,
    calibration_conditions,
    crossing_point,
    curve_shift,
    frontier_evaluator,
    frontier_findings,
    frontier_statements,
    hidden_states,
    link_table,
    load_members,
    mask_density,
    partial_correlation,
    planted_q,
    prior_conditions,
    scenario_contrasts,
    scenario_evaluator,
    train_members,
)

TASK = PairedDigits(seed=0)
KW = dict(n_hidden=10, steps=3, batch_size=8, progress=False, device="cpu")


def _no_training(*args, **kwargs):
    raise AssertionError("a stored member was trained again")


def test_store_resumes_without_retraining_and_trains_only_new_seeds(tmp_path, monkeypatch):
    conds = [Condition("dense"), Condition("planted", options={"p": 0.2})]
    first = train_members(conds, TASK, seeds=[0, 1], store=tmp_path, **KW)
    monkeypatch.setattr(runs, "train", _no_training)
    again = train_members(conds, TASK, seeds=[0, 1], store=tmp_path, **KW)
    pd.testing.assert_frame_equal(first, again)
    monkeypatch.undo()
    sizes = []
    real = runs.train

    def counting(model, *a, **k):
        sizes.append(model.n_members)
        return real(model, *a, **k)

    monkeypatch.setattr(runs, "train", counting)
    more = train_members(conds, TASK, seeds=[0, 1, 2], store=tmp_path, **KW)
    assert sizes == [2]  # one ensemble: seed 2 of both conditions (same group), nothing else
    pd.testing.assert_frame_equal(more[more.seed < 2].reset_index(drop=True), first)
    assert len(load_members(tmp_path)) == 6


def test_a_member_does_not_depend_on_its_ensemble():
    ev = frontier_evaluator(TASK, n_eval=60, n_probe=80, n_null=2, n_runs=1)
    a = Condition("planted", options={"p": 0.2})
    alone = train_members([a], TASK, seeds=[3], evaluate=ev, module_readouts=True, **KW)
    together = train_members([Condition("dense"), a], TASK, seeds=[3, 4], evaluate=ev, module_readouts=True, **KW)
    row = together[(together.condition == "planted") & (together.seed == 3)].reset_index(drop=True)
    cols = ["key", "mask_density", "p_ratio", "accuracy", "retrain_spec", "q_planted"]
    pd.testing.assert_frame_equal(alone[cols], row[cols], check_exact=False, rtol=1e-5)


def test_a_trained_group_is_evaluated_without_retraining_after_a_crash(tmp_path, monkeypatch):
    conds = [Condition("dense")]
    train_members(conds, TASK, seeds=[0], store=tmp_path, **KW)
    for f in (tmp_path / "members").glob("*.parquet"):
        f.unlink()  # as if the run died between saving the model and writing its rows
    monkeypatch.setattr(runs, "train", _no_training)
    df = train_members(conds, TASK, seeds=[0], store=tmp_path, **KW)
    assert len(df) == 1 and len(list((tmp_path / "members").glob("*.parquet"))) == 1


def test_bad_conditions_fail_before_anything_is_trained(tmp_path):
    good = Condition("dense")
    bad = Condition("planted", options={"p": 0.5, "density": 0.95})
    with pytest.raises(ValueError, match="density"):
        train_members([good, bad], TASK, seeds=[0], store=tmp_path, **KW)
    assert not list((tmp_path / "members").glob("*")) if (tmp_path / "members").exists() else True
    with pytest.raises(ValueError, match="distinct"):
        train_members([good, good], TASK, seeds=[0], **KW)
    with pytest.raises(ValueError, match="seeds"):
        train_members([good], TASK, seeds=[], **KW)


def test_pruned_networks_keep_exactly_their_density(tmp_path):
    cond = prior_conditions(0.3, [], l1_strength=1e-3)[-1]
    assert cond.name == "L1 (pruned)"
    train_members([cond], TASK, seeds=[0, 1], store=tmp_path, finetune_steps=3, **KW)
    state = torch.load(next((tmp_path / "models").glob("*.pt")), weights_only=False)["model"]
    mask, w = state["mask"], state["w_rec"]
    for k in range(2):
        assert mask_density(mask[k].numpy()) == pytest.approx(round(0.3 * 90) / 90)
        assert torch.equal(w[k] != 0, mask[k] != 0)  # fine-tuning kept every pruned weight at exactly zero


def test_evaluator_gives_the_planted_q_of_bena_masks():
    ev = frontier_evaluator(TASK, n_eval=40, n_probe=60, n_null=3, n_runs=1)
    df = train_members(calibration_conditions([0.2, 1.0], one_connection=False), TASK, seeds=[0], evaluate=ev,
                       module_readouts=True, **{**KW, "n_hidden": 20})
    for row in df.itertuples():
        assert row.q_planted == pytest.approx(float(planted_q(row.p_ratio, 10)), abs=1e-9)
    assert df.q_wiring_z[df.condition == "p=0.2"].iloc[0] > 2  # planted modules beat density-matched random wiring


# ---------------------------------------------------------------- scenarios on constructed networks


def _readout_fitted(disconnected: bool, task: PairedDigits):
    N = 40
    lab = np.repeat([0, 1], 20)
    inm = np.ones((task.n_input, N), bool)
    mask = ~np.eye(N, dtype=bool)
    if disconnected:
        inm[:] = False
        inm[task.modality_slices[0], :20] = True
        inm[task.modality_slices[1], 20:] = True
        mask = (lab[:, None] == lab[None, :]) & mask
    net = SpatialRNN(task.n_input, N, task.n_output, mask=mask, input_mask=inm, alpha=1.0, activation="tanh",
                     gain=0.5, seed=0)
    b = task.sample(3000, rng=0, split="train")
    H = hidden_states(net, b)[0]
    y = b.y[:, -1].numpy()
    with torch.no_grad():
        net.w_out.zero_()
        net.b_out.zero_()
        for j, units in ((0, lab == 0), (1, lab == 1)):  # head j reads module j only (or everything, dense)
            use = units if disconnected else np.ones(N, bool)
            X = np.column_stack([H[:, use], np.ones(len(H))])
            W, *_ = np.linalg.lstsq(X, np.eye(10)[y[:, j]], rcond=None)
            net.w_out[0, np.flatnonzero(use), 10 * j:10 * j + 10] = torch.as_tensor(W[:-1], dtype=torch.float32)
            net.b_out[0, 0, 10 * j:10 * j + 10] = torch.as_tensor(W[-1], dtype=torch.float32)
    return net, lab


def test_scenarios_on_constructed_networks():
    task = PairedDigits(rules=("first", "second", "parity_select"), noise=0.1, held_out=10, seed=0)
    ev = scenario_evaluator(task, n_eval=400, shots=(4, 64), n_draws=3, n_pool=400, lesion_fractions=(0.3,),
                            n_lesion_draws=2, seed=0)
    info = pd.DataFrame({"labels": [np.repeat([0, 1], 20).tolist()]})
    mod = ev(_readout_fitted(True, task)[0], info).iloc[0]
    den = ev(_readout_fitted(False, task)[0], info).iloc[0]
    assert mod.acc_first > 0.6 and mod.acc_second > 0.6 and den.acc_first > 0.6
    # silencing one module leaves the other stream's head intact only when the modules are separate
    assert mod.module_lesion == pytest.approx(1.0, abs=0.02) and den.module_lesion < 0.8
    assert mod.missing == pytest.approx(1.0, abs=0.05) and den.missing < mod.missing
    # the new rule is within a readout's reach (above the majority class, 0.55) and more examples help
    assert mod.fewshot_ceiling > 0.62 and mod.fewshot_64 > mod.fewshot_4
    with pytest.raises(ValueError, match="held_out"):
        scenario_evaluator(PairedDigits(rules=("first", "second", "same"), seed=0))
    with pytest.raises(ValueError, match="combination"):
        scenario_evaluator(PairedDigits(rules=("first", "second"), held_out=3, seed=0))


# ---------------------------------------------------------------- statistics that can fail


def test_contrasts_and_link_detect_an_effect_and_not_a_null():
    rng = np.random.default_rng(0)
    rows = []
    for c, shift in (("control", 0.0), ("better", 0.2), ("same", 0.0)):
        for s in range(10):
            rows.append({"condition": c, "seed": s, "m": 0.5 + shift + 0.05 * rng.standard_normal()})
    out = scenario_contrasts(pd.DataFrame(rows), ["m"], "control", seed=0).set_index("condition")
    assert out.loc["better", "p_holm"] < 0.01 and out.loc["better", "lo"] > 0.1
    assert out.loc["same", "p_holm"] > 0.05
    with pytest.raises(ValueError, match="control"):
        scenario_contrasts(pd.DataFrame(rows), ["m"], "absent")
    # a confounded correlation disappears once the confounder is controlled for
    z = rng.normal(size=300)
    df = pd.DataFrame({"acc": z, "spec": z + rng.normal(size=300), "gen": z + rng.normal(size=300),
                       "real": rng.normal(size=300)})
    df["gen2"] = df.real + 0.1 * rng.normal(size=300)
    t = link_table(df, ["spec", "real"], ["gen", "gen2"], ["acc"], n_boot=300, seed=0).set_index(["x", "y"])
    assert t.loc[("spec", "gen"), "p_holm"] > 0.05 and t.loc[("real", "gen2"), "p_holm"] < 1e-6
    assert partial_correlation(df, "spec", "gen", seed=0)["r"] > 0.3
    with pytest.raises(ValueError, match="lacks"):
        partial_correlation(df, "spec", "nope")


def test_crossing_and_shift_of_constructed_curves():
    ps = np.repeat([0.001, 0.01, 0.1, 1.0], 5)
    spec = np.repeat([0.9, 0.7, 0.3, 0.05], 5) + 0.01 * np.random.default_rng(1).standard_normal(20)
    ref = pd.DataFrame({"p": ps, "spec": spec})
    c = crossing_point(ref, "p", "spec", 0.5, seed=0)
    assert 0.01 < c["x_star"] < 0.1 and c["lo"] <= c["x_star"] <= c["hi"]
    assert np.isnan(crossing_point(ref, "p", "spec", 0.95, seed=0)["x_star"])  # never that specialised
    pri = pd.DataFrame({"condition": ["up"] * 5 + ["on"] * 5, "p": [0.1] * 10,
                        "spec": np.r_[np.full(5, 0.6), np.full(5, 0.3)] + 0.05 * np.random.default_rng(2).standard_normal(10)})
    s = curve_shift(pri, ref, "p", "spec", seed=0).set_index("condition")
    assert s.loc["up", "shift"] == pytest.approx(0.3, abs=0.03) and s.loc["up", "p_holm"] < 0.01
    assert abs(s.loc["on", "shift"]) < 0.03 and s.loc["on", "p_holm"] > 0.05
    with pytest.raises(ValueError, match="positive"):
        crossing_point(ref.assign(p=0.0), "p", "spec", 0.5)


def test_each_module_reads_its_own_stream(tmp_path):
    train_members([Condition("dense")], TASK, seeds=[0], store=tmp_path, input_groups=list(TASK.modality_slices), **KW)
    state = torch.load(next((tmp_path / "models").glob("*.pt")), weights_only=False)["model"]
    m = state["in_mask"][0].numpy().astype(bool)  # (128 inputs, 10 units): stream 1 -> units 0-4, stream 2 -> 5-9
    assert m[:64, :5].all() and not m[:64, 5:].any() and m[64:, 5:].all() and not m[64:, :5].any()


def test_statements_say_which_way_a_significant_difference_goes():
    # a prior significantly below L1 is not "nothing measurable"; a shift judged beyond the planted range says so
    cal = pd.DataFrame({"n_units": 50, "condition": ["p=1"] * 2 + ["p=0.01"] * 2, "p_ratio": [1.0, 1.0, 0.01, 0.01],
                        "retrain_spec": [0.0, 0.1, 0.8, 0.9]})
    f = frontier_findings(cal)
    f["shifts"] = pd.DataFrame({"condition": ["BIMT", "matching"], "x": [1.2, 0.4], "shift": [0.3, 0.0],
                                "lo": [0.2, -0.02], "hi": [0.4, 0.02], "p_holm": [0.002, 1.0],
                                "extrapolated": [True, False], "n": [10, 10]})
    f["shifts_accuracy"] = pd.DataFrame({"condition": ["BIMT", "matching"], "shift": [0.0, 0.0]})
    f["space"] = pd.DataFrame({"metric": ["retrain_spec"], "condition": ["seRNN"], "diff": [-0.2], "lo": [-0.3],
                               "hi": [-0.1], "p_holm": [0.02]})
    text = " ".join(frontier_statements(f, measure="retrain_spec"))
    assert "seRNN specialise less than the same cost without distances" in text
    assert "nothing measurable" not in text
    assert "BIMT specialise more than the planted curve at its end" in text
    assert "specialise more than planted modules with the same p" not in text
    f["space"].loc[0, ["diff", "lo", "hi", "p_holm"]] = [0.0, -0.1, 0.1, 1.0]
    assert "space adds nothing measurable" in " ".join(frontier_statements(f, measure="retrain_spec"))
