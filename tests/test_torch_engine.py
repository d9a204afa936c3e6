"""Tests of the PyTorch engine of mesoscale.generative (``generate(..., device=...)``), on CPU torch.

The law is checked three ways: the first added edge against the exact probabilities from an
independent numpy recomputation (chi-square, every rule), the log-weights the engine holds after
many steps against a full recomputation (exact), and network statistics against the numba engine
(two-sample KS, every rule; the same criterion rejects a wrong law). Then the contract: shapes,
exactly ``m`` edges, seed edges kept, the order, seeds, chunking, and the device errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from mesoscale.generative import WIRING_RULES, _torch_engine, count_edges, generate, generate_batches
from mesoscale.generative._engine import distance_feature


def _positions_D(n, seed=0):
    xy = np.random.default_rng(seed).random((n, 2)) * 10
    return np.linalg.norm(xy[:, None] - xy[None], axis=-1)


def _random_graph(n, p, seed):
    rng = np.random.default_rng(seed)
    A = np.triu(rng.random((n, n)) < p, 1)
    return (A | A.T).astype(np.uint8)


# --- an independent numpy reference of K and the log-weights -----------------------------------


def ref_K(A, rule):
    A = np.asarray(A, float)
    n = len(A)
    k = A.sum(1)
    if rule == "sptl":
        return np.zeros((n, n))
    CN = A @ A
    np.fill_diagonal(CN, 0)
    if rule == "neighbors":
        return CN
    if rule == "matching":  # 2 |N(i) & N(j)| / (k_i + k_j - 2 A_ij), neighbourhoods without i and j
        den = k[:, None] + k[None, :] - 2 * A
        return np.where(CN > 0, 2 * CN / np.where(den > 0, den, 1), 0.0)
    if rule.startswith("clu"):
        tri = np.diag(A @ A @ A) / 2
        x = np.where(k >= 2, tri / np.maximum(k * (k - 1) / 2, 1), 0.0)
    else:
        x = k
    a, b = x[:, None], x[None, :]
    return {"avg": (a + b) / 2, "min": np.minimum(a, b), "max": np.maximum(a, b), "diff": np.abs(a - b),
            "prod": a * b}[rule.split("-")[1]]


def ref_logweights(A, D, rule, eta, gamma, model_var, eps=1e-5):
    """log W of every pair (``-inf`` for edges and the diagonal) from a full recomputation."""
    X = distance_feature(D, model_var[0])
    L = eta * X
    if rule != "sptl":
        K = ref_K(A, rule) + eps
        L = L + (gamma * K if model_var[1] == "exponential" else gamma * np.log(K))
    cand = (np.asarray(A) == 0) & ~np.eye(len(A), dtype=bool)
    return np.where(cand, L, -np.inf)


# --- (1) the first added edge follows W / sum W (chi-square, every rule) -------------------------

FIRST_EDGE_CASES = [(rule, ("powerlaw", "powerlaw")) for rule in WIRING_RULES] + [
    ("matching", ("exponential", "exponential")),
    ("clu-avg", ("powerlaw", "exponential")),
    ("deg-diff", ("exponential", "powerlaw")),
]


@pytest.mark.parametrize("rule,model_var", FIRST_EDGE_CASES)
def test_first_edge_distribution_matches_exact_probabilities(rule, model_var):
    n = 8
    D = _positions_D(n, seed=12)
    eta = -0.8 if model_var[0] == "powerlaw" else -0.3
    gamma = -1.7 if rule.endswith(("min", "max")) else 1.3  # gamma < 0 too
    iu = np.triu_indices(n, 1)

    def law(A, g):
        L = ref_logweights(A, D, rule, eta, g, model_var)[iu]
        w = np.exp(L - L.max())
        return w / w.sum()

    for s in range(13, 40):  # the first fixed state in which the topology term matters (a flipped gamma
        A0 = _random_graph(n, 0.4, seed=s)  # moves at least 20 % of the probability), sptl excepted
        p = law(A0, gamma)
        if rule == "sptl" or 0.5 * np.abs(p - law(A0, -gamma)).sum() > 0.2:
            break
    else:
        raise AssertionError("no informative state")
    m = int(A0.sum()) // 2 + 1
    B = 4000
    _, order = generate(D, m, rule, eta, gamma, model_var=model_var, seed_network=A0, n_networks=B, seed=3,
                        return_order=True, device="cpu")
    index = np.full((n, n), -1)
    index[iu] = np.arange(len(p))
    counts = np.bincount(index[order[:, 0, 0], order[:, 0, 1]], minlength=len(p))
    assert counts[p == 0].sum() == 0  # never an existing edge
    expected = B * p
    big = expected >= 5  # pool the rare pairs into one cell
    obs = np.append(counts[big], counts[~big].sum())
    exp_ = np.append(expected[big], expected[~big].sum())
    if exp_[-1] == 0:
        obs, exp_ = obs[:-1], exp_[:-1]
    assert stats.chisquare(obs, exp_).pvalue > 1e-3


# --- the log-weights held after many steps equal a full recomputation ----------------------------


@pytest.mark.parametrize("rule", WIRING_RULES)
@pytest.mark.parametrize("model_var,eta,gamma", [
    (("powerlaw", "powerlaw"), -1.5, 0.8),
    (("exponential", "exponential"), -0.4, -2.0),
    (("powerlaw", "exponential"), 2.0, 30.0),  # large weights: rebuilds of the offset
])
def test_incremental_state_equals_full_recomputation(rule, model_var, eta, gamma):
    n = 14
    D = _positions_D(n, seed=4)
    A0 = _random_graph(n, 0.1, seed=5)
    steps = 40
    setup = _torch_engine.Setup(A0, distance_feature(D, model_var[0]), rule, 1e-5, model_var[1] == "exponential",
                                torch.device("cpu"))
    b = 6
    U = torch.as_tensor(np.random.default_rng(6).random((b, steps)))
    etas = np.full(b, eta)
    gammas = np.array([gamma, -gamma, 0.5 * gamma, gamma, 0.0, 2 * gamma])
    A, picks, L, W, M = _torch_engine.grow_chunk(setup, etas, gammas, U)
    iu = np.triu_indices(n, 1)
    for q in range(b):
        Aq = A[q].numpy()
        assert int(np.triu(Aq, 1).sum()) == int(A0.sum()) // 2 + steps
        ref = ref_logweights(Aq, D, rule, etas[q], gammas[q], model_var)[iu]
        Lq, Wq, Mq = L[q, :-1].numpy(), W[q, :-1].numpy(), float(M[q, 0])
        cand = np.isfinite(ref)
        assert np.array_equal(np.isfinite(Lq), cand)
        assert np.allclose(Lq[cand], ref[cand], rtol=1e-12, atol=1e-9)
        assert np.all(Wq[~cand] == 0) and float(W[q, -1]) == 0
        live = cand & (Lq - Mq > -700)
        assert np.allclose(np.log(Wq[live]), Lq[live] - Mq, rtol=1e-12, atol=1e-9)
        assert np.all(np.isfinite(Wq)) and Wq.max() < 1e120  # no overflow (the offset is rebuilt before)


def test_offset_rebuilds_keep_the_weights_exact():
    """Strong preferential attachment: log-weights grow far past the offset (and shrink far below it)."""
    n = 30
    D = _positions_D(n, seed=7)
    setup = _torch_engine.Setup(np.zeros((n, n)), distance_feature(D, "exponential"), "deg-avg", 1e-5, True,
                                torch.device("cpu"))
    steps = n * (n - 1) // 2 - 5
    U = torch.as_tensor(np.random.default_rng(8).random((2, steps)))
    A, picks, L, W, M = _torch_engine.grow_chunk(setup, np.zeros(2), np.array([25.0, -25.0]), U)
    assert float(M[0, 0]) > 300 and float(M[1, 0]) < -300  # the offset moved both ways
    for q in range(2):
        cand = torch.isfinite(L[q])
        assert torch.allclose(W[q][cand].log(), L[q][cand] - M[q, 0], rtol=1e-12, atol=1e-9)
        assert int(cand.sum()) == 5 and len(set(picks[q].tolist())) == steps


# --- (2) network statistics match the numba engine (KS, every rule) -----------------------------


def _net_stats(nets, D):
    A = nets.astype(float)
    k = A.sum(2)
    tri = np.einsum("bij,bjk,bki->bi", A, A, A) / 2
    clu = np.where(k >= 2, 2 * tri / np.maximum(k * (k - 1), 1), 0.0).mean(1)
    return {"degrees": k.ravel(), "max degree": k.max(1), "degree std": k.std(1), "mean clustering": clu,
            "total length": (A * D).sum((1, 2)) / 2}  # the pooled degrees, then one value per network


def _min_ks_p(a, b):
    return min(stats.ks_2samp(a[key], b[key], method="asymp").pvalue for key in a)


@pytest.mark.parametrize("rule", WIRING_RULES)
def test_network_statistics_match_the_numba_engine(rule):
    n, m, B = 24, 50, 200
    D = _positions_D(n, seed=5)
    eta, gamma = -1.5, (1.0 if rule.startswith("clu") else 1.5)
    torch_nets = generate(D, m, rule, eta, gamma, n_networks=B, seed=1, device="cpu")
    numba_nets = generate(D, m, rule, eta, gamma, n_networks=B, seed=2)  # independent samples
    tor = _net_stats(torch_nets, D)
    assert _min_ks_p(tor, _net_stats(numba_nets, D)) > 1e-3
    # the same criterion rejects a wrong law: the topology exponent's sign flipped (eta's for sptl)
    wrong = generate(D, m, rule, -eta if rule == "sptl" else eta, -gamma, n_networks=B, seed=2)
    assert _min_ks_p(tor, _net_stats(wrong, D)) < 1e-6


# --- (3) the contract: shapes, edges, order, seeds, chunking ------------------------------------


@pytest.mark.parametrize("rule", WIRING_RULES)
def test_exactly_m_edges_seed_kept_and_order_consistent(rule):
    n = 16
    D = _positions_D(n, seed=1)
    seed_net = _random_graph(n, 0.08, seed=2)
    mseed = int(seed_net.sum()) // 2
    for A0, m in ((None, 30), (seed_net, mseed + 25), (None, n * (n - 1) // 2)):
        nets, order = generate(D, m, rule, [-1.5, 0.5], 0.7, seed_network=A0, n_networks=2, seed=4,
                               return_order=True, device="cpu")
        assert nets.dtype == bool and nets.shape == (4, n, n)
        assert order.dtype == np.int32
        assert np.all(count_edges(nets) == m)
        assert np.array_equal(nets, np.swapaxes(nets, 1, 2))
        assert not nets[:, np.arange(n), np.arange(n)].any()
        m0 = 0 if A0 is None else mseed
        assert order.shape == (4, m - m0, 2)
        for q in range(4):
            rebuilt = np.zeros((n, n), bool) if A0 is None else A0.astype(bool).copy()
            i, j = order[q, :, 0], order[q, :, 1]
            assert np.all(i < j)
            assert not rebuilt[i, j].any()  # never an existing edge (the seed's edges are kept)
            rebuilt[i, j] = rebuilt[j, i] = True
            assert np.array_equal(rebuilt, nets[q])
            assert len({(int(a), int(c)) for a, c in order[q]}) == m - m0


def test_seed_network_already_complete_and_no_steps():
    D = _positions_D(10, seed=3)
    A0 = _random_graph(10, 0.3, seed=4)
    m0 = int(A0.sum()) // 2
    nets, order = generate(D, m0, "matching", -1.0, 0.5, seed_network=A0, n_networks=3, seed=0,
                           return_order=True, device="cpu")
    assert order.shape == (3, 0, 2)
    assert np.array_equal(nets, np.broadcast_to(A0.astype(bool), (3, 10, 10)))


def test_same_seed_same_bits_different_seeds_differ():
    D = _positions_D(20, seed=2)
    args = (D, 40, "clu-avg", [-2.0, -1.0], [0.5, 1.0])
    a, oa = generate(*args, n_networks=3, seed=11, return_order=True, device="cpu")
    b, ob = generate(*args, n_networks=3, seed=11, return_order=True, device=torch.device("cpu"))
    c = generate(*args, n_networks=3, seed=12, device="cpu")
    assert np.array_equal(a, b) and np.array_equal(oa, ob)
    assert not np.array_equal(a, c)
    assert len({x.tobytes() for x in a}) == 6  # the networks of a batch are distinct draws
    ss = np.random.SeedSequence(5)
    assert np.array_equal(generate(*args, seed=ss, device="cpu"), generate(*args, seed=np.random.SeedSequence(5),
                                                                          device="cpu"))


@pytest.mark.parametrize("rule", ["matching", "clu-avg"])
def test_chunking_does_not_change_the_networks(monkeypatch, rule):
    D = _positions_D(18, seed=6)
    args = (D, 35, rule, np.linspace(-2, 0, 7), 0.8)
    whole, o_whole = generate(*args, seed=3, return_order=True, device="cpu")
    monkeypatch.setattr(_torch_engine, "CPU_CHUNK", 3)
    assert _torch_engine.chunk_size(torch.device("cpu"), 7, 18, 35) == 3
    chunked, o_chunked = generate(*args, seed=3, return_order=True, device="cpu")
    assert np.array_equal(whole, chunked) and np.array_equal(o_whole, o_chunked)
    monkeypatch.setattr(_torch_engine, "CPU_CHUNK", 256)  # memory-bound chunks: room for 2 networks
    per = _torch_engine.bytes_per_network(18, 35)
    monkeypatch.setattr(_torch_engine, "free_bytes", lambda dev: int(2.5 * per / _torch_engine.MEMORY_HEADROOM))
    assert _torch_engine.chunk_size(torch.device("cpu"), 7, 18, 35) == 2
    assert np.array_equal(generate(*args, seed=3, device="cpu"), whole)
    parts = list(generate_batches(*args, seed=3, batch_size=4, device="cpu"))
    assert [p.shape[0] for p in parts] == [4, 3]
    assert np.array_equal(np.concatenate(parts), whole)


def test_extreme_parameters_and_zero_distances():
    D = _positions_D(16, seed=2) * 50
    D[0, 1] = D[1, 0] = D[2, 3] = D[3, 2] = 0.0
    for rule in ("sptl", "matching", "clu-prod", "deg-max"):
        for model_var in (("powerlaw", "powerlaw"), ("exponential", "exponential")):
            nets = generate(D, 50, rule, [-10.0, 10.0, -10.0, 10.0], [-10.0, -10.0, 10.0, 10.0],
                            model_var=model_var, n_networks=2, seed=1, device="cpu")
            assert np.all(count_edges(nets) == 50)
            if model_var[0] == "powerlaw" and rule == "sptl":
                assert nets[:2, 0, 1].all() and nets[:2, 2, 3].all()  # co-located pairs first at eta < 0


def test_n_jobs_is_ignored_and_sptl_takes_no_gamma():
    D = _positions_D(12, seed=9)
    a = generate(D, 20, "sptl", -1.0, None, n_networks=2, seed=0, device="cpu", n_jobs=2)
    b = generate(D, 20, "sptl", -1.0, 5.0, n_networks=2, seed=0, device="cpu")
    assert np.array_equal(a, b)


# --- (4) bad devices: ValueError naming the device, before any work -----------------------------


_ARGS = dict(D=_positions_D(30, seed=0), m=40, rule="matching", eta=-1.0, gamma=0.5, n_networks=8, seed=0)


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "cpu:-1x", "meta"])
def test_unknown_device_raises(device):
    with pytest.raises(ValueError, match=f"'device'.*{device}"):
        generate(**_ARGS, device=device)


def test_device_of_wrong_type_raises():
    with pytest.raises(TypeError, match="'device'"):
        generate(**_ARGS, device=1.5)


def test_cuda_without_a_gpu_raises(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"'device' is 'cuda' but CUDA is not available"):
        generate(**_ARGS, device="cuda")


def test_cuda_index_beyond_the_device_count_raises(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ValueError, match=r"'cuda:2' but only 2 CUDA device.*index 2 does not exist"):
        generate(**_ARGS, device="cuda:2")


def test_batch_larger_than_free_memory_raises_with_the_numbers(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda dev=None: (10_000, 80 * 2**30))
    per = _torch_engine.bytes_per_network(30, 40)
    with pytest.raises(ValueError, match=rf"'cuda:0' has 10000 bytes free.* needs an estimated {per} bytes"):
        generate(**_ARGS, device="cuda:0")
    # with room for 3 networks the batch of 8 is grown in chunks of 3 (no error)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda dev=None: (int(3.5 * per / 0.8), 80 * 2**30))
    assert _torch_engine.chunk_size(torch.device("cuda:0"), 8, 30, 40) == 3
    monkeypatch.setattr(_torch_engine, "free_bytes", lambda dev: 1000)  # and the host
    with pytest.raises(ValueError, match=r"'cpu' has 1000 bytes free"):
        generate(**_ARGS, device="cpu")


def test_torch_is_imported_only_on_the_torch_path():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from mesoscale.generative import generate; "
            "generate(np.ones((5, 5)) - np.eye(5), 3, 'matching', -1.0, 0.5, seed=0); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --- fit on a torch device ---------------------------------------------------------------------


def test_fit_on_a_torch_device_searches_the_same_points_with_the_same_law():
    from mesoscale.generative import fit

    rng = np.random.default_rng(4)
    xy = rng.random((22, 2))
    D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    target = generate(D, 45, "matching", -2.0, 0.4, seed=3)[0]
    kw = dict(rules=["sptl", "matching"], n_draws=8, levels=2, n_networks=6, seed=1, progress=False, nesting="ignore")
    cpu = fit(target, D, **kw).table
    dev = fit(target, D, device="cpu", **kw).table
    first = ["rule", "level", "point", "eta", "gamma", "repeat"]
    l0 = (cpu.level == 0)
    pd.testing.assert_frame_equal(cpu.loc[l0, first].reset_index(drop=True), dev.loc[dev.level == 0, first]
                                  .reset_index(drop=True))
    # the same law: per point, the mean energy over 6 networks agrees within noise
    a = cpu[l0].groupby(["rule", "point"]).energy.mean()
    b = dev[dev.level == 0].groupby(["rule", "point"]).energy.mean()
    assert float(np.abs(a - b).mean()) < 0.06
    assert float(np.corrcoef(a, b)[0, 1]) > 0.8
    again = fit(target, D, device="cpu", **kw).table
    pd.testing.assert_frame_equal(dev, again)  # same seed, same device: same table


def test_fit_rejects_a_bad_device_before_writing_anything(tmp_path, monkeypatch):
    from mesoscale.generative import fit

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    D = np.abs(np.subtract.outer(np.arange(10.0), np.arange(10.0)))
    target = generate(D, 15, "sptl", -1.0, seed=0)[0]
    with pytest.raises(ValueError, match="'device'"):
        fit(target, D, rules=["sptl"], n_draws=2, levels=1, device="gpu", store=tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        fit(target, D, rules=["sptl"], n_draws=2, levels=1, device="cuda", store=tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()
