"""Feedforwardness of directed networks: trophic levels/coherence and layer order."""

import numpy as np
import pytest

from mesoscale.metrics import (
    layer_feedforwardness,
    trophic_coherence,
    trophic_incoherence,
    trophic_levels,
)


def random_digraph(n, p, seed):
    rng = np.random.default_rng(seed)
    A = (rng.random((n, n)) < p).astype(float) * rng.integers(1, 5, size=(n, n))
    np.fill_diagonal(A, 0)
    return A


def test_layered_network_is_perfectly_coherent():
    # three layers, every edge joins consecutive layers: F0 = 0, levels = layer index
    rng = np.random.default_rng(0)
    layer = np.repeat([0, 1, 2], 5)
    A = np.zeros((15, 15))
    for i in range(15):
        for j in range(15):
            if layer[j] == layer[i] + 1 and rng.random() < 0.6:
                A[i, j] = rng.integers(1, 4)
    A[0, 5] = A[5, 10] = 1  # connected through every layer
    h = trophic_levels(A)
    conn = A.sum(0) + A.sum(1) > 0
    assert np.allclose(h[conn], layer[conn])
    assert trophic_incoherence(A) == 0.0 and trophic_coherence(A) == 1.0


@pytest.mark.parametrize("seed", range(3))
def test_balanced_networks_have_incoherence_one(seed):
    A = random_digraph(20, 0.2, seed)
    assert trophic_incoherence(A + A.T) == pytest.approx(1.0)
    cycle = np.roll(np.eye(7), 1, axis=1)
    assert trophic_incoherence(cycle) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(4))
def test_levels_minimise_the_incoherence(seed):
    # h is the least-squares solution: any perturbation raises F0
    A = random_digraph(25, 0.15, seed)
    h = trophic_levels(A)
    W = A / A.sum()

    def F(levels):
        return float(np.sum(W * (levels[None, :] - levels[:, None] - 1.0) ** 2))

    F0 = trophic_incoherence(A)
    assert F(h) == pytest.approx(F0)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        assert F(h + 1e-2 * rng.standard_normal(h.size)) > F0
    assert 0.0 < F0 < 1.5


@pytest.mark.parametrize("seed", range(3))
def test_dense_and_sparse_solvers_agree_and_relabelling_commutes(seed):
    A = random_digraph(40, 0.1, seed)
    A[:, 39] = A[39, :] = 0  # an isolated node sits at level 0
    hd, hs = trophic_levels(A, method="dense"), trophic_levels(A, method="sparse")
    assert np.allclose(hd, hs) and hd[39] == 0.0
    perm = np.random.default_rng(seed).permutation(40)
    assert np.allclose(trophic_levels(A[np.ix_(perm, perm)]), hd[perm])
    assert trophic_incoherence(A[np.ix_(perm, perm)]) == pytest.approx(trophic_incoherence(A))


def test_levels_are_shifted_per_component():
    A = np.zeros((6, 6))
    A[0, 1] = A[1, 2] = 1  # chain 0 -> 1 -> 2
    A[3, 4] = A[4, 5] = 1  # a second chain
    assert trophic_levels(A).tolist() == [0.0, 1.0, 2.0, 0.0, 1.0, 2.0]


def test_reversing_every_edge_keeps_coherence_and_flips_levels():
    A = random_digraph(30, 0.12, 7)
    A[0, 1:] = 1  # one weakly connected component
    h, hr = trophic_levels(A), trophic_levels(A.T)
    assert trophic_incoherence(A.T) == pytest.approx(trophic_incoherence(A))
    assert np.allclose(hr, h.max() - h)  # the reversed network's levels are the mirror image


def test_layer_feedforwardness():
    layers = ["sensory", "interneuron", "motor", "other"]
    A = np.zeros((4, 4))
    A[0, 1] = 2  # forward
    A[1, 2] = 2  # forward
    A[2, 1] = 1  # backward
    A[3, 0] = 5  # an unlisted layer: ignored
    assert layer_feedforwardness(A, layers) == pytest.approx(4 / 5)
    assert layer_feedforwardness(A.T, layers) == pytest.approx(1 / 5)
    same = np.zeros((4, 4))
    same[3, 0] = 1
    assert np.isnan(layer_feedforwardness(same, layers))


def test_bad_input_is_named():
    A = random_digraph(5, 0.5, 0)
    with pytest.raises(ValueError, match="'method'"):
        trophic_levels(A, method="qr")
    with pytest.raises(ValueError, match="non-negative|negative"):
        trophic_levels(-A - np.eye(5))
    with pytest.raises(ValueError, match="one layer per node"):
        layer_feedforwardness(A, ["sensory"])
    with pytest.raises(ValueError, match="'order'"):
        layer_feedforwardness(A, ["a"] * 5, order=["a"])
    with pytest.raises(ValueError, match="fewer than two nodes"):
        layer_feedforwardness(A, ["x"] * 5)
