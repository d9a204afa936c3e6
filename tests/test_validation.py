import numpy as np
import pytest

from mesoscale._validation import (
    as_rng,
    check_adjacency,
    check_batch,
    check_distance,
    check_float,
    check_int,
    check_matrix,
    spawn_rngs,
)


def test_same_seed_same_bits_and_generator_passthrough():
    assert np.array_equal(as_rng(5).random(8), as_rng(5).random(8))
    g = np.random.default_rng(1)
    assert as_rng(g) is g
    a = [r.random() for r in spawn_rngs(3, 4)]
    b = [r.random() for r in spawn_rngs(3, 4)]
    assert a == b and len(set(a)) == 4


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True])
def test_bad_seeds_are_named(bad):
    with pytest.raises((TypeError, ValueError), match="seed"):
        as_rng(bad)


def test_check_matrix_names_the_defect():
    with pytest.raises(ValueError, match="'W' must be square; got shape \\(2, 3\\)"):
        check_matrix(np.zeros((2, 3)), "W")
    with pytest.raises(ValueError, match="non-finite"):
        check_matrix(np.array([[0, np.nan], [1, 0]]))
    with pytest.raises(ValueError, match="negative"):
        check_adjacency(np.array([[0, -1], [-1, 0]]))
    with pytest.raises(ValueError, match="symmetric"):
        check_adjacency(np.array([[0, 1], [0, 0]]))
    with pytest.raises(ValueError, match="binary"):
        check_adjacency(np.array([[0, 2.0], [2.0, 0]]), weighted_ok=False)
    assert check_adjacency(np.array([[0, 1], [0, 0]]), directed=True).shape == (2, 2)
    B = check_adjacency(np.array([[1, 3.0], [3.0, 0]]), binary=True)
    assert B.tolist() == [[0, 1], [1, 0]]


def test_check_distance_and_batch():
    D = check_distance(np.array([[0, 1.0], [1.0, 0]]), n=2)
    assert D.dtype == float
    with pytest.raises(ValueError, match="must be 3x3"):
        check_distance(D, n=3)
    batch = check_batch(np.eye(3)[None] * 0 + np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]))
    assert batch.dtype == bool and batch.shape == (1, 3, 3)
    with pytest.raises(ValueError, match="not symmetric"):
        check_batch(np.array([[[0, 1], [0, 0]]]))


def test_scalar_checks():
    assert check_int(3.0, "n") == 3
    with pytest.raises(ValueError, match="'n' must be >= 1; got 0"):
        check_int(0, "n", minimum=1)
    with pytest.raises(TypeError, match="'n' must be an integer"):
        check_int("3", "n")
    with pytest.raises(ValueError, match="'eta' must be finite"):
        check_float(float("inf"), "eta")
