"""Generative network models: the thirteen wiring rules of Betzel et al. (2016).

A network grows one edge at a time. An unconnected pair ``(i, j)`` is chosen with
probability proportional to

* ``D_ij**eta * (K_ij + epsilon)**gamma``            (``model_var=("powerlaw", "powerlaw")``), or
* ``exp(eta * D_ij) * exp(gamma * (K_ij + epsilon))`` (``("exponential", "exponential")``),

(the two factors may use different forms), where ``D`` is the distance matrix and
``K`` a topological value of the pair under the current network, recomputed after
every added edge. The rules and their ``K_ij``:

=============  ==================================================================
``sptl``       none: only the distance term (``gamma`` is ignored)
``neighbors``  number of common neighbours ``|N(i) & N(j)|``
``matching``   matching index ``2 |N(i) & N(j)| / (k_i + k_j - 2 A_ij)`` (0 if empty)
``clu-avg``    ``(c_i + c_j) / 2`` of the local clustering coefficients
``clu-min``    ``min(c_i, c_j)``; ``clu-max`` ``max``; ``clu-diff`` ``|c_i - c_j|``;
               ``clu-prod`` ``c_i * c_j``
``deg-avg``    ``(k_i + k_j) / 2`` of the degrees; ``deg-min``, ``deg-max``, ``deg-diff``,
               ``deg-prod`` likewise
=============  ==================================================================

These are the semantics of the MATLAB Brain Connectivity Toolbox ``generative_model.m``:
the network ends with exactly ``m`` edges, the seed network's edges included.

Numerics
--------
Probabilities are handled in log space, ``eta * log D + gamma * log(K + epsilon)``
(powerlaw) or ``eta * D + gamma * (K + epsilon)`` (exponential), and exponentiated
against a running maximum that is reset whenever it would overflow or the total
would underflow. Extreme parameters (``|eta|, |gamma|`` of 10 and beyond) therefore
give no NaN or inf: when one pair dominates it is chosen, exactly as the limit of the
formula says. Zero off-diagonal distances, for which ``D**eta`` is infinite (``eta < 0``)
or zero (``eta > 0``), are replaced by ``1e-3`` times the smallest positive distance
in the powerlaw model (co-located nodes are then the most, or the least, likely to
connect, with a finite weight); the exponential model needs no such care.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .._validation import SeedLike, check_choice, check_distance, check_float, check_int
from ._engine import (
    MODEL_VARS,
    check_model_var,
    check_params,
    check_seed_network,
    distance_feature,
    run_engine,
)
from ._kernels import WIRING_RULES

__all__ = ["WIRING_RULES", "MODEL_VARS", "generate", "generate_batches", "count_edges"]

def generate(
    D: ArrayLike,
    m: int,
    rule: str,
    eta: float | ArrayLike,
    gamma: float | ArrayLike | None = None,
    model_var: str | Sequence[str] = ("powerlaw", "powerlaw"),
    seed_network: ArrayLike | None = None,
    epsilon: float = 1e-5,
    n_networks: int = 1,
    seed: SeedLike = None,
    return_order: bool = False,
    *,
    n_jobs: int | None = 1,
    progress: bool | None = None,
    device: str | object | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Grow networks with a generative wiring rule (Betzel et al. 2016).

    Parameters
    ----------
    D : array_like, shape (n, n)
        Symmetric, non-negative distance matrix (any unit; ``eta`` is per that unit in the
        exponential model).
    m : int
        Number of edges of each final network, seed edges included.
    rule : str
        One of :data:`WIRING_RULES` (see the module docstring for each ``K``).
    eta, gamma : float or array_like
        Distance and topology exponents: scalars, or equal-length 1-D arrays giving one
        parameter pair per entry (a scalar is broadcast). ``gamma`` may be ``None`` for
        ``"sptl"``. Must be finite.
    model_var : (str, str) or str
        Forms of the distance and topology terms: ``"powerlaw"`` or ``"exponential"``.
    seed_network : array_like, shape (n, n), optional
        Symmetric binary network to start from (e.g. an earlier-stage connectome).
    epsilon : float
        Added to ``K`` so that pairs with ``K = 0`` keep a non-zero probability.
    n_networks : int
        Independent networks per parameter pair.
    seed : int, SeedSequence or Generator, optional
        Every network gets its own stream spawned from ``seed``; same seed, same networks.
    return_order : bool
        Also return the pairs in the order they were added.
    n_jobs : int
        Threads (the kernel releases the GIL); ``-1`` uses every core. Results do not
        depend on it. Ignored with ``device``: the torch engine grows the batch at once (on
        the CPU with torch's own threads, see :func:`torch.set_num_threads`).
    progress : bool, optional
        Show a progress bar; by default only for large batches.
    device : str or torch.device, optional
        ``None`` (default) grows the networks with the numba engine. A torch device
        (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or a :class:`torch.device`) grows the
        whole batch at once with the PyTorch engine on that device: the same law, other bits
        (same seed and device, same networks; float64, float32 on MPS). The batch is split
        into chunks that fit into the device's free memory. A ValueError naming the device,
        before any work, when the name is unknown, the backend is unavailable, a CUDA index
        does not exist, or not even one network fits into the free memory.

    Returns
    -------
    networks : ndarray of bool, shape (B, n, n)
        ``B = len(eta) * n_networks``; network ``p * n_networks + r`` is repeat ``r`` of
        parameter pair ``p``.
    order : ndarray of int32, shape (B, m - m_seed, 2)
        Only with ``return_order``: row ``t`` is the pair ``(i, j)``, ``i < j``, added at step ``t``.

    Examples
    --------
    >>> import numpy as np
    >>> from mesoscale.generative import generate
    >>> xy = np.random.default_rng(0).random((30, 2))
    >>> D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> nets = generate(D, 60, "matching", eta=[-2.0, -1.0], gamma=0.4, n_networks=3, seed=1)
    >>> nets.shape, int(nets[0].sum()) // 2
    ((6, 30, 30), 60)
    >>> on_torch = generate(D, 60, "matching", eta=[-2.0, -1.0], gamma=0.4, n_networks=3, seed=1, device="cpu")
    >>> on_torch.shape, count_edges(on_torch).tolist()
    ((6, 30, 30), [60, 60, 60, 60, 60, 60])
    """
    if device is not None:
        from ._torch_engine import resolve_device

        device = resolve_device(device)  # torch is imported only here, on the torch path
    D = check_distance(D, name="D")
    n = D.shape[0]
    if n < 2:
        raise ValueError(f"'D' must describe at least 2 nodes; got shape {D.shape}")
    rule = check_choice(rule, "rule", WIRING_RULES)
    dist_var, top_var = check_model_var(model_var)
    etas, gammas = check_params(eta, gamma, rule)
    eps = check_float(epsilon, "epsilon")
    if eps <= 0:
        raise ValueError(f"'epsilon' must be > 0; got {eps}")
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    A0 = check_seed_network(seed_network, n)
    m_seed = int(A0.sum()) // 2
    m = check_int(m, "m")
    n_pairs = n * (n - 1) // 2
    if m > n_pairs:
        raise ValueError(f"'m' must be at most the {n_pairs} node pairs of a {n}-node network; got {m}")
    if m < m_seed:
        raise ValueError(f"'m' must be at least the {m_seed} edges of 'seed_network'; got {m}")
    etas = np.repeat(etas, n_networks)
    gammas = np.repeat(gammas, n_networks)
    if device is not None:
        from ._torch_engine import run_torch_engine

        nets, order = run_torch_engine(A0, distance_feature(D, dist_var), rule, etas, gammas, eps,
                                       top_var == "exponential", seed, m - m_seed, device, progress,
                                       f"generate {rule}")
        return (nets, order) if return_order else nets
    X = distance_feature(D, dist_var)[None]
    nets, order = run_engine(
        A0,
        X,
        np.zeros(1, np.int64),
        np.array([m], np.int64),
        np.zeros(n, np.int64),
        rule,
        etas,
        gammas,
        eps,
        top_var == "exponential",
        seed,
        m - m_seed,
        n_jobs,
        progress,
        f"generate {rule}",
    )
    return (nets, order) if return_order else nets


def generate_batches(
    D: ArrayLike,
    m: int,
    rule: str,
    eta: float | ArrayLike,
    gamma: float | ArrayLike | None = None,
    model_var: str | Sequence[str] = ("powerlaw", "powerlaw"),
    seed_network: ArrayLike | None = None,
    epsilon: float = 1e-5,
    n_networks: int = 1,
    seed: SeedLike = None,
    return_order: bool = False,
    *,
    batch_size: int = 1024,
    n_jobs: int | None = 1,
    progress: bool = False,
    device: str | object | None = None,
) -> Iterator[np.ndarray] | Iterator[tuple[np.ndarray, np.ndarray]]:
    """:func:`generate`, streamed: consecutive batches of at most ``batch_size`` networks.

    Takes the arguments of :func:`generate` and yields its networks in order, ``batch_size`` at
    a time, so a batch of 10^5 networks never has to be held at once (consume each batch, e.g.
    with :func:`mesoscale.metrics.ks_energy`, before asking for the next). The concatenation of
    the batches equals ``generate(...)`` with the same arguments and seed, bit for bit: network
    ``b`` has the stream of network ``b`` there. The first batch is grown when this function is
    called (which also checks every argument); the others as they are asked for.

    Parameters
    ----------
    D, m, rule, eta, gamma, model_var, seed_network, epsilon, n_networks, seed, return_order, n_jobs, device
        As in :func:`generate`.
    batch_size : int
        Most networks per batch (the last batch may be smaller).
    progress : bool
        Show a progress bar over all networks.

    Yields
    ------
    networks : ndarray of bool, shape (b, n, n), ``b <= batch_size``
        Or ``(networks, order)`` with ``return_order``, as :func:`generate` returns them.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.random.default_rng(0).random((30, 2))
    >>> D = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> parts = list(generate_batches(D, 60, "matching", [-2.0, -1.0], 0.4, n_networks=5, seed=1, batch_size=4))
    >>> [p.shape[0] for p in parts]
    [4, 4, 2]
    >>> bool(np.array_equal(np.concatenate(parts), generate(D, 60, "matching", [-2.0, -1.0], 0.4, n_networks=5, seed=1)))
    True
    """
    from .._validation import seed_sequence

    batch_size = check_int(batch_size, "batch_size", minimum=1)
    rule = check_choice(rule, "rule", WIRING_RULES)
    etas, gammas = check_params(eta, gamma, rule)
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    etas, gammas = np.repeat(etas, n_networks), np.repeat(gammas, n_networks)
    streams = seed_sequence(seed)  # spawned batch by batch: the same children as generate's one spawn
    total = etas.size

    def batch(lo):
        hi = min(total, lo + batch_size)
        # one network per entry, each with its own stream (a list of SeedSequences is taken as is)
        return generate(D, m, rule, etas[lo:hi], gammas[lo:hi], model_var, seed_network, epsilon, 1,
                        streams.spawn(hi - lo), return_order, n_jobs=n_jobs, progress=False, device=device)

    pending = [batch(0)]  # popped when yielded: no batch is kept alive once it has been handed out

    def batches():
        from tqdm.auto import tqdm

        with tqdm(total=total, desc=f"generate {rule}", unit="net", disable=not progress, leave=False) as bar:
            for lo in range(0, total, batch_size):
                out = pending.pop() if lo == 0 else batch(lo)
                bar.update(min(batch_size, total - lo))
                yield out
                del out

    return batches()


def count_edges(networks):
    """Number of undirected edges of each network in a ``(B, n, n)`` or ``(n, n)`` array.

    Examples
    --------
    >>> count_edges(np.ones((2, 3, 3)) - np.eye(3)).tolist()
    [3, 3]
    """
    A = np.asarray(networks)
    return np.count_nonzero(np.triu(A, 1), axis=(-2, -1))
