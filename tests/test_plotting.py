import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from mesoscale import plotting


def test_use_style_sets_the_palette_and_spines():
    plt.rcdefaults()
    plotting.use_style()
    assert plt.rcParams["axes.prop_cycle"].by_key()["color"] == list(plotting.PALETTE)
    assert plt.rcParams["axes.spines.right"] is False
    plt.rcdefaults()


def test_module_colors_cycle_through_the_palette():
    labels = list(range(len(plotting.PALETTE) + 2))
    colours = plotting.module_colors(labels)
    assert colours[: len(plotting.PALETTE)] == list(plotting.PALETTE)
    assert colours[len(plotting.PALETTE)] == plotting.PALETTE[0]
    assert plotting.module_colors(["b", "a", "b"]) == [plotting.PALETTE[1], plotting.PALETTE[0], plotting.PALETTE[1]]


def test_plot_adjacency_orders_nodes_by_module_and_outlines_modules():
    rng = np.random.default_rng(0)
    part = np.array([1, 0, 1, 0, 2, 2])
    A = (part[:, None] == part[None, :]).astype(float) - np.eye(6)
    fig = plotting.plot_adjacency(A, partition=part, title="t")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    shown = ax.images[0].get_array()
    assert shown.shape == (6, 6)
    # after sorting by module the matrix is block diagonal
    assert np.array_equal(np.asarray(shown, dtype=bool), np.kron(np.eye(3), np.ones((2, 2))).astype(bool) & ~np.eye(6, dtype=bool))
    assert len(ax.patches) == 3 and ax.get_title() == "t"
    with pytest.raises(ValueError, match="partition"):
        plotting.plot_adjacency(A, partition=[0, 1])
    with pytest.raises(ValueError, match="square"):
        plotting.plot_adjacency(rng.random((3, 4)))


def test_plot_spatial_network_draws_every_edge_or_a_reproducible_subset():
    n = 30
    rng = np.random.default_rng(1)
    A = np.triu(rng.random((n, n)) < 0.5, 1)
    A = (A | A.T).astype(int)
    P = rng.random((n, 3))
    m = int(A.sum() // 2)
    fig = plotting.plot_spatial_network(A, P, partition=np.arange(n) % 3, dims=(0, 2))
    ax = fig.axes[0]
    assert len(ax.collections[0].get_segments()) == m
    assert len(ax.collections[1].get_offsets()) == n  # the nodes
    sub1 = plotting.plot_spatial_network(A, P, max_edges=10, seed=5).axes[0].collections[0].get_segments()
    sub2 = plotting.plot_spatial_network(A, P, max_edges=10, seed=5).axes[0].collections[0].get_segments()
    assert len(sub1) == 10 and all(np.array_equal(a, b) for a, b in zip(sub1, sub2))
    with pytest.raises(ValueError, match="positions"):
        plotting.plot_spatial_network(A, P[:5])
