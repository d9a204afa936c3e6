"""The PyTorch backend of the KS energy (issue 14): ``ks_energy(..., device=...)`` equals the numba kernel.

Run on CPU torch; the CUDA-only checks (availability, device index, free memory) use monkeypatched
``torch.cuda`` functions.
"""

import bct
import numpy as np
import pytest
import torch

from mesoscale.metrics import KS_COLUMNS, ks_energy, ks_statistic
from mesoscale.metrics import _torch_energy as te
from mesoscale.metrics.energy import BETWEENNESS_RTOL


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: the level-by-level BFS is many small kernels, which oversubscribed cores slow down."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _random_graph(rng, n, p):
    A = np.triu(rng.random((n, n)) < p, 1)
    return A | A.T


def _path(n):
    P = np.zeros((n, n), bool)
    i = np.arange(n - 1)
    P[i, i + 1] = P[i + 1, i] = True
    return P


def _star(n):
    S = np.zeros((n, n), bool)
    S[0, 1:] = S[1:, 0] = True
    return S


def _complete(n):
    return ~np.eye(n, dtype=bool)


def _two_components(rng, n):
    """A dense block, a path, and isolated nodes: disconnected, with unreachable pairs."""
    A = np.zeros((n, n), bool)
    k = n // 3
    A[:k, :k] = _random_graph(rng, k, 0.5)
    A[k : 2 * k, k : 2 * k] = _path(k)
    return A


def _distances(rng, n):
    X = rng.random((n, 3))
    return np.linalg.norm(X[:, None] - X[None], axis=-1)


def _batch(rng, n):
    """Random networks from empty to complete, plus the special graphs, all of n nodes."""
    nets = [_random_graph(rng, n, p) for p in (0.0, 0.01, 0.04, 0.1, 0.3, 0.7)]
    nets += [_complete(n), _path(n), _star(n), _two_components(rng, n)]
    return np.stack(nets)


@pytest.mark.parametrize("n", [3, 17, 64, 65, 130])
def test_torch_equals_numba_on_random_and_special_graphs(n):
    rng = np.random.default_rng(n)
    D = _distances(rng, n)
    nets = _batch(rng, n)
    # every kind of graph as the target too: dense, sparse, empty, path, star, disconnected
    targets = [_random_graph(rng, n, 0.1), nets[0], nets[4], nets[7], nets[8], nets[9]]
    for T in targets:
        ref = ks_energy(nets, T, D)
        got = ks_energy(nets, T, D, device="cpu")
        assert got.shape == (len(nets), len(KS_COLUMNS))
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)
        assert np.array_equal(got[:, 4], got[:, :4].max(1))


def test_torch_path_sees_every_column():
    """Not all-zero agreement: the batch exercises every statistic, and an empty network gives 1."""
    rng = np.random.default_rng(1)
    n = 40
    D = _distances(rng, n)
    T = _random_graph(rng, n, 0.15)
    nets = _batch(rng, n)
    got = ks_energy(nets, T, D, device="cpu")
    assert (got[:, :4] > 0).any(axis=0).all()
    assert got[0, 3] == 1.0 and got[0, 4] == 1.0  # no edges: edge-length KS is 1
    assert np.array_equal(ks_energy(np.zeros((n, n), bool), np.zeros((n, n), bool), D, device="cpu"), np.zeros((1, 5)))
    assert np.array_equal(ks_energy(T, T, D, device=torch.device("cpu")), np.zeros((1, 5)))


def test_human_dk68_target():
    from mesoscale import connectomes

    c = connectomes.load("human_dk68")
    T, D = c.binary() != 0, c.distances()
    n, m = T.shape[0], int(T.sum()) // 2
    rng = np.random.default_rng(68)
    iu = np.triu_indices(n, 1)
    nets = [T]
    for _ in range(6):  # density-matched random networks and relabelled copies of the target
        pick = rng.choice(iu[0].size, m, replace=False)
        A = np.zeros((n, n), bool)
        A[iu[0][pick], iu[1][pick]] = True
        nets.append(A | A.T)
        perm = rng.permutation(n)
        nets.append(T[np.ix_(perm, perm)])
    nets = np.stack(nets)
    ref = ks_energy(nets, T, D)
    got = ks_energy(nets, T, D, device="cpu")
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)
    assert np.array_equal(got[0], np.zeros(5)) and (got[1:, 4] > 0).all()


@pytest.mark.parametrize("n", [5, 33, 70])
def test_node_statistics_equal_bctpy(n):
    rng = np.random.default_rng(100 + n)
    nets = _batch(rng, n)
    deg, clu, bet = te.node_statistics(nets, "cpu")
    for b, A in enumerate(nets):
        Af = A.astype(float)
        np.testing.assert_array_equal(deg[b], bct.degrees_und(Af))
        np.testing.assert_array_equal(clu[b], bct.clustering_coef_bu(Af))
        np.testing.assert_allclose(bet[b], bct.betweenness_bin(Af), rtol=1e-12, atol=1e-12)


def test_betweenness_of_known_graphs():
    n = 7
    _, _, bet = te.node_statistics(np.stack([_path(n), _star(n), _complete(n)]))
    k = np.arange(n)
    assert np.array_equal(bet[0], 2.0 * k * (n - 1 - k))  # ordered pairs through node k of a path
    assert np.array_equal(bet[1], np.r_[(n - 1) * (n - 2), np.zeros(n - 1)])
    assert np.array_equal(bet[2], np.zeros(n))


def test_tie_groups_follow_ks_statistic():
    """Runs of near-equal values wider than one tolerance are grouped as the numba kernel groups them."""
    rng = np.random.default_rng(7)
    for _ in range(300):
        nx, ny = rng.integers(1, 12, 2)
        base = rng.choice([0.0, 0.5, 1.0, 3.0, -2.0, 1e6], size=nx + ny)
        step = rng.choice([0.4e-9, 0.7e-9, 1e-9, 0.3], size=nx + ny)
        v = base + rng.integers(0, 4, size=nx + ny) * step * np.maximum(1.0, np.abs(base))
        x, y = np.sort(v[:nx]), np.sort(v[nx:])
        for rtol in (0.0, BETWEENNESS_RTOL):
            got = te._ks_sorted_batch(torch.from_numpy(x)[None], torch.from_numpy(y), rtol).item()
            assert got == ks_statistic(x, y, rtol)
    # a chain: 1, 1 + 0.6e-9, 1 + 1.2e-9 -- the third value starts a new group
    x = np.array([1.0, 1.0 + 1.2e-9])
    y = np.array([1.0 + 0.6e-9, 5.0])
    got = te._ks_sorted_batch(torch.from_numpy(x)[None], torch.from_numpy(y), BETWEENNESS_RTOL).item()
    assert got == ks_statistic(x, y, BETWEENNESS_RTOL) == 0.5


def test_chunking_does_not_change_results(monkeypatch):
    rng = np.random.default_rng(3)
    n = 30
    D = _distances(rng, n)
    nets = _batch(rng, n)
    whole = ks_energy(nets, nets[3], D, device="cpu")
    for chunk in (1, 3, 4):
        monkeypatch.setattr(te, "_CPU_BYTES", chunk * te.working_bytes(n))
        assert te.chunk_size(torch.device("cpu"), n, len(nets)) == chunk
        assert np.array_equal(ks_energy(nets, nets[3], D, device="cpu"), whole)
    np.testing.assert_allclose(whole, ks_energy(nets, nets[3], D), rtol=0, atol=1e-9)


def test_validation_is_the_numba_paths():
    n = 10
    D = np.ones((n, n)) - np.eye(n)
    T = _random_graph(np.random.default_rng(0), n, 0.3)
    for bad, name in [
        ((np.triu(T), T, D), "'networks'"),
        ((np.ones((n, n), bool), T, D), "'networks'"),
        ((np.zeros((2, n, n + 1)), T, D), "'networks'"),
        ((T, T, np.ones((n + 1, n + 1))), "'D'"),
        ((T, np.triu(T), D), "'target'"),
    ]:
        with pytest.raises(ValueError, match=name):
            ks_energy(*bad, device="cpu")
    with pytest.raises((ValueError, TypeError), match="n_jobs"):
        ks_energy(T, T, D, n_jobs=0, device="cpu")
    assert ks_energy(np.zeros((0, n, n), bool), T, D, device="cpu").shape == (0, 5)
    # 0/1 integers and weights are edges, as in the numba path
    W = T * np.random.default_rng(1).integers(1, 5, (n, n))
    assert np.array_equal(ks_energy((W + W.T).astype(float), T, D, device="cpu"), np.zeros((1, 5)))


def _no_work(*args, **kwargs):
    raise AssertionError("statistics were computed before the device was checked")


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "cuda:-1", "mps", "meta", ""])
def test_unknown_device_is_rejected_before_any_work(monkeypatch, device):
    monkeypatch.setattr(te, "_node_statistics", _no_work)
    A = np.zeros((4, 4), bool)
    with pytest.raises(ValueError, match="'device'") as err:
        ks_energy(A, A, np.ones((4, 4)) - np.eye(4), device=device)
    assert repr(device) in str(err.value)


@pytest.mark.parametrize("device", [0, 1.5, ["cpu"]])
def test_device_of_the_wrong_type_is_rejected(device):
    A = np.zeros((4, 4), bool)
    with pytest.raises(TypeError, match="'device'"):
        ks_energy(A, A, np.ones((4, 4)) - np.eye(4), device=device)


def _fake_cuda(monkeypatch, *, available=True, count=1, free=2**34):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free, 2 * free))
    monkeypatch.setattr(te, "_node_statistics", _no_work)


@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda", 1)])
def test_cuda_without_cuda_is_rejected(monkeypatch, device):
    _fake_cuda(monkeypatch, available=False)
    A = np.zeros((4, 4), bool)
    with pytest.raises(ValueError, match="'device'.*CUDA is not available"):
        ks_energy(A, A, np.ones((4, 4)) - np.eye(4), device=device)


def test_cuda_index_beyond_the_devices_is_rejected(monkeypatch):
    _fake_cuda(monkeypatch, count=2)
    A = np.zeros((4, 4), bool)
    with pytest.raises(ValueError, match=r"'device' is 'cuda:2' but only 2 CUDA device"):
        ks_energy(A, A, np.ones((4, 4)) - np.eye(4), device="cuda:2")
    assert te.resolve_device("cuda:1") == torch.device("cuda", 1)


def test_cuda_network_larger_than_free_memory_is_rejected(monkeypatch):
    n = 300
    _fake_cuda(monkeypatch, free=te.working_bytes(n))  # less than one network's state plus headroom
    A = np.zeros((n, n), bool)
    with pytest.raises(ValueError, match=r"'device' 'cuda:0'.*needs about \d+ bytes.*only \d+ bytes are free"):
        ks_energy(A, A, np.ones((n, n)) - np.eye(n), device="cuda:0")


def test_cuda_chunk_follows_free_memory(monkeypatch):
    n, free = 100, 2**30
    _fake_cuda(monkeypatch, free=free)
    dev = te.resolve_device("cuda")
    expect = (int(free * te._CUDA_FRACTION) - te._fixed_bytes(n)) // te.working_bytes(n)
    assert 1 < expect < 10**4
    assert te.chunk_size(dev, n, 10**4) == min(expect, te._MAX_CHUNK)
    assert te.chunk_size(dev, n, 5) == 5
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free // 8, free))
    assert te.chunk_size(dev, n, 10**4) < expect
