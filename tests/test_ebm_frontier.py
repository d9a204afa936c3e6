"""Local learning on the specialisation frontier (mesoscale.ebm.frontier)."""

import numpy as np
import pandas as pd
import pytest
import torch

from mesoscale.ebm import make_network
from mesoscale.ebm.frontier import (local_frontier, local_frontier_statements, modular_network, module_of_hidden,
                                    run_frontier_member)


def _blocks(net):
    M = net.mask.numpy()
    H = np.arange(net.n_units)[net.hidden]
    lab = module_of_hidden(net)
    return M, H, lab


@pytest.mark.parametrize("p, expected", [(1.0, 64), (0.5, 32), (0.1, 6), (1e-6, 1)])
def test_modular_network_keeps_the_asked_share_of_between_pairs(p, expected):
    net = make_network(8, 16, 2, seed=1)
    m = modular_network(net, p, [0, 0, 0, 0, 1, 1, 1, 1], seed=2)
    M, H, lab = _blocks(m)
    hh = M[np.ix_(H, H)]
    assert hh[np.ix_(lab == 0, lab == 1)].sum() == expected
    within = hh[np.ix_(lab == 0, lab == 0)]
    assert within.sum() == 8 * 7  # every within pair kept
    assert m.check_symmetric()
    assert torch.all(m.W[~m.mask] == 0)
    # the original is untouched
    assert net.mask.numpy()[np.ix_(H, H)].sum() == 16 * 15


def test_inputs_drive_only_their_own_module_and_shared_inputs_both():
    net = make_network(5, 8, 2, seed=0)
    side = [0, 0, 1, 1, -1]
    m = modular_network(net, 1.0, side, seed=0)
    M, H, lab = _blocks(m)
    for i, s in enumerate(side):
        driven = set(lab[M[i, H]].tolist())
        assert driven == ({0, 1} if s < 0 else {s})
    # outputs still read every hidden unit
    O = np.arange(m.n_units)[m.outputs]
    assert M[np.ix_(H, O)].all()


def test_modular_network_bad_input():
    net = make_network(4, 8, 2, seed=0)
    with pytest.raises(ValueError, match="'p' must be in"):
        modular_network(net, 0.0, [0, 0, 1, 1])
    with pytest.raises(ValueError, match="'input_side'"):
        modular_network(net, 0.5, [0, 0, 1])
    with pytest.raises(ValueError, match="'input_side'"):
        modular_network(net, 0.5, [0, 0, 1, 2])
    with pytest.raises(ValueError, match="layered"):
        modular_network(make_network(4, 8, 2, connectivity="layered", seed=0), 0.5, [0, 0, 1, 1])


def test_members_are_reproducible_and_rules_share_the_masked_network():
    base = {"p": 0.25, "task": "retina_and", "rep": 3, "epochs": 1, "n_hidden": 8}
    a = run_frontier_member({**base, "rule": "eqprop"}, rng=5)
    b = run_frontier_member({**base, "rule": "eqprop"}, rng=5)
    c = run_frontier_member({**base, "rule": "bptt"}, rng=5)
    assert a == b
    # same mask and the same untrained network for both rules (paired design)
    assert a["n_between"] == c["n_between"] == 4
    assert a["spec_init"] == c["spec_init"]
    assert a["spec_gain"] == pytest.approx(a["specialisation"] - a["spec_init"])
    with pytest.raises(ValueError, match="'rule' must be one of"):
        run_frontier_member({**base, "rule": "hebb"})
    with pytest.raises(ValueError, match="must contain 'p'"):
        run_frontier_member({"rule": "eqprop", "task": "retina_and", "rep": 0})


def test_a_sparser_mask_gives_a_more_modular_untrained_network():
    rows = [run_frontier_member({"rule": "eqprop", "p": p, "task": "retina_and", "rep": 0, "epochs": 0}, rng=0)
            for p in (1.0, 1 / 64)]
    assert rows[1]["q_planted"] > rows[0]["q_planted"] + 0.3
    assert rows[1]["spec_init"] > rows[0]["spec_init"]


def _sweep(effect):
    rng = np.random.default_rng(0)
    rows = []
    for p in (1.0, 0.1, 0.01):
        for rep in range(8):
            base = 0.2 + 0.3 * (p < 0.5) + 0.3 * (p < 0.05)
            noise = rng.normal(0, 0.02)
            for rule, shift in (("bptt", 0.0), ("eqprop", effect)):
                rows.append({"task": "t", "rule": rule, "p": p, "rep": rep, "specialisation": base + shift + noise,
                             "spec_gain": shift, "test_acc": 0.9, "p_ratio": p})
    return pd.DataFrame(rows)


def test_local_frontier_finds_a_planted_rule_effect_and_no_effect_when_there_is_none():
    with_effect = local_frontier(_sweep(0.1), seed=0)
    c = with_effect["contrasts"].query("metric == 'specialisation'")
    assert np.allclose(c["diff"], 0.1)
    assert (c["p_holm"] < 0.05).all()
    text = " ".join(local_frontier_statements(with_effect))
    assert "more specialised" in text
    none = local_frontier(_sweep(0.0), seed=0)
    assert (none["contrasts"].query("metric == 'specialisation'")["p_holm"] > 0.05).all()
    assert "does not move the frontier" in " ".join(local_frontier_statements(none))
    # the crossing of 0.5 lies between p = 0.1 (0.5 reached) and p = 1 for both rules... or at 0.1 itself
    cross = with_effect["crossing"].set_index("rule")
    assert cross.loc["eqprop", "p_star"] >= cross.loc["bptt", "p_star"]
    s = with_effect["summary"]
    assert set(s["n"]) == {8}
    assert {"specialisation_lo", "specialisation_hi"} <= set(s.columns)


def test_local_frontier_bad_input():
    df = _sweep(0.0)
    with pytest.raises(ValueError, match="lacks column 'rep'"):
        local_frontier(df.drop(columns="rep"))
    with pytest.raises(ValueError, match="'baseline' 'chl'"):
        local_frontier(df, baseline="chl")
