"""Developmental growth of the worm in the spirit of Nicosia et al. (2013).

Neurons appear in birth order (the *C. elegans* lineage) inside a body that elongates;
how many links exist at each stage follows from the geometry
(:func:`development_schedule`, :func:`development_curve`), the links are placed by the
spatial rule (:func:`development_network`) and the grown network's modules are compared
with the real ganglia (:func:`ganglion_agreement`). :func:`development` runs the
(elongation x contact range) grid as a sweep.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import as_rng, check_float, check_float_list, check_int, check_matrix
from ._engine import check_nulls, fingerprint, run_grid
from .growth import elongating_distances, grow
from .landscape import network_summary

__all__ = [
    "WORM_DATASET",
    "worm_development_inputs",
    "SCHEDULES",
    "development_schedule",
    "development_curve",
    "development_network",
    "ganglion_agreement",
    "development",
    "growth_curves",
    "schedule_exponents",
    "real_worm_summary",
]

#: The connectome whose positions, lineage and ganglia feed the developmental model.
WORM_DATASET = "celegans_cook2019_herm"


def worm_development_inputs(dataset: str = WORM_DATASET, *, seed=None) -> dict:
    """Positions, birth order, ganglia and the adult network of the *C. elegans* connectome.

    The birth order is the lineage proxy ``birth_rank`` of
    :func:`mesoscale.connectomes.load` (embryonic before post-embryonic neurons, shallower
    lineages first); neurons with equal rank are ordered at random with ``seed``.

    Returns
    -------
    dict
        ``positions`` (n, 3; the body axis is column 1, head to tail), ``birth_order``
        (node indices, earliest first), ``birth_rank``, ``ganglion`` (labels), ``labels``
        (neuron names), ``adult`` (the symmetric 0/1 adjacency) and ``axis`` (1).

    Examples
    --------
    >>> w = worm_development_inputs(seed=0)
    >>> w["positions"].shape, sorted(w["birth_order"].tolist()) == list(range(302)), w["axis"]
    ((302, 3), True, 1)
    """
    from .. import connectomes

    c = connectomes.load(dataset)
    nt = c.node_table()
    for col in ("birth_rank", "ganglion"):
        if col not in nt.columns:
            raise ValueError(f"dataset {dataset!r} has no {col!r} node attribute")
    rank = nt["birth_rank"].to_numpy(dtype=float)
    if not np.all(np.isfinite(rank)):
        raise ValueError(f"dataset {dataset!r} has neurons without a birth rank")
    P = np.asarray(c.positions, dtype=float)
    if not np.all(np.isfinite(P)):
        raise ValueError(f"dataset {dataset!r} has neurons without positions")
    tiebreak = as_rng(seed).random(rank.size)
    order = np.lexsort((tiebreak, rank))
    return {
        "positions": P,
        "birth_order": order,
        "birth_rank": rank,
        "ganglion": nt["ganglion"].to_numpy(dtype=object),
        "labels": nt["label"].to_numpy(dtype=object),
        "adult": c.binary(),
        "axis": 1,
    }


#: How the number of links grows over the stages (:func:`development_schedule`).
SCHEDULES = ("contacts", "hazard")


def development_schedule(positions, birth_order, *, m_final: int, n_stages: int = 40, elongation: float = 4.0,
                         length_scale: float = 0.1, axis: int = 1, schedule: str = "contacts"):
    """Stages, distances and edge counts of a growing, elongating body (Nicosia et al. 2013).

    Neurons are born in ``birth_order``, split into ``n_stages`` equal groups of equal
    duration. The body's length along ``axis`` grows linearly with the stage from
    ``1 / elongation`` of the adult length to the adult length. How many links exist at each
    stage follows from the geometry in one of two ways (``schedule``):

    ``"contacts"``
        Proportional to the number of pairs of born neurons in contact now,
        ``K(s) = sum_{i<j born} exp(-d_ij(s) / (length_scale * L))`` (``L`` the adult body
        length; its running maximum, as links are never removed), scaled so that the last
        stage has ``m_final`` edges. The link count *is* the contact count: its growth
        exponent is put in by the schedule.
    ``"hazard"``
        Every pair of born neurons forms its link as a Poisson event whose rate is
        proportional to their contact, ``c exp(-d_ij(s) / (length_scale * L))``, with one
        rate constant ``c`` for the whole development, set so that ``m_final`` links are
        expected at the end; the count at stage ``s`` is the expected number of pairs linked
        by then, ``sum_ij 1 - exp(-c sum_{t <= s} exp(-d_ij(t) / (length_scale L)))``. Only the
        total budget is fixed; how fast links accumulate against neurons — the growth
        exponent — is a prediction of the contact process (a pair in contact for longer is
        more likely to be linked, and contacts saturate).

    When every neuron is within reach of every other, contacts grow like the square of the
    number of neurons (accelerating growth); once the body is much longer than the contact
    range they grow linearly. No packaged source holds the neurons' real birth times (the
    lineage in wormneuroatlas gives names, not times), so stages are equal groups of a birth
    *order*.

    Parameters
    ----------
    positions : array_like, shape (n, d)
        Adult positions.
    birth_order : array_like of int
        All ``n`` node indices, earliest first.
    m_final : int
        Edges of the grown network.
    n_stages : int
        Number of stages (groups of births).
    elongation : float
        Adult length / length at the first stage (>= 1; 1 = no elongation).
    length_scale : float
        Contact range as a fraction of the adult body length (the wiring-cost scale: small
        values make long links expensive).
    axis : int
        Body axis in ``positions``.
    schedule : {"contacts", "hazard"}
        How the link count follows from the geometry (see above).

    Returns
    -------
    dict
        ``birth_stage`` (n,), ``scale`` (S,), ``D`` (S, n, n), ``m`` (S,) non-decreasing edge
        counts, ``n_born`` (S,), ``contacts`` (S,) the values ``K(s)``, ``range`` (the
        contact range in position units), ``schedule`` and ``rate`` (the hazard's ``c``; NaN
        for ``"contacts"``).

    Examples
    --------
    >>> P = np.c_[np.linspace(0, 10, 40), np.zeros(40), np.zeros(40)]
    >>> s = development_schedule(P, np.arange(40), m_final=60, n_stages=8, elongation=4.0, axis=0)
    >>> int(s["m"][-1]), len(s["m"]), bool(np.all(np.diff(s["m"]) >= 0))
    (60, 8, True)
    >>> h = development_schedule(P, np.arange(40), m_final=60, n_stages=8, elongation=4.0, axis=0, schedule="hazard")
    >>> int(h["m"][-1]), bool(np.all(np.diff(h["m"]) >= 0)), bool(h["rate"] > 0)
    (60, True, True)
    """
    from .._validation import check_choice

    schedule = check_choice(schedule, "schedule", SCHEDULES)
    P = check_matrix(positions, "positions", square=False)
    n = P.shape[0]
    order = np.asarray(birth_order)
    if order.ndim != 1 or not np.issubdtype(order.dtype, np.integer) or sorted(order.tolist()) != list(range(n)):
        raise ValueError(f"'birth_order' must be a permutation of the {n} node indices")
    n_stages = check_int(n_stages, "n_stages", minimum=2, maximum=n)
    elongation = check_float(elongation, "elongation", minimum=1.0)
    length_scale = check_float(length_scale, "length_scale")
    if length_scale <= 0:
        raise ValueError(f"'length_scale' must be > 0; got {length_scale}")
    axis = check_int(axis, "axis", minimum=0, maximum=P.shape[1] - 1)
    m_final = check_int(m_final, "m_final", minimum=1, maximum=n * (n - 1) // 2)
    birth_stage = np.empty(n, np.int64)
    birth_stage[order] = np.arange(n) * n_stages // n
    scale = 1.0 / elongation + (1.0 - 1.0 / elongation) * np.arange(n_stages) / (n_stages - 1)
    D = elongating_distances(P, scale, axis=axis)
    body = float(np.ptp(P[:, axis]))
    rng_len = length_scale * (body if body > 0 else 1.0)
    contacts = np.empty(n_stages)
    n_born = np.empty(n_stages, np.int64)
    iu = np.triu_indices(n, 1)
    exposure = np.zeros((n_stages, iu[0].size))  # cumulative contact of every pair up to each stage
    acc = np.zeros(iu[0].size)
    for s in range(n_stages):
        alive = birth_stage <= s
        n_born[s] = alive.sum()
        both = alive[iu[0]] & alive[iu[1]]
        k = np.where(both, np.exp(-D[s][iu] / rng_len), 0.0)
        contacts[s] = k.sum()
        acc = acc + k
        exposure[s] = acc
    rate = np.nan
    if schedule == "contacts":
        # links are never removed: when stretching lowers the contact count, no links are added
        reach = np.maximum.accumulate(contacts)
        m = np.round(m_final * reach / reach[-1]).astype(np.int64)
    else:
        from scipy.optimize import brentq

        final = exposure[-1]
        if m_final >= np.count_nonzero(final):
            raise ValueError(f"'m_final' ({m_final}) needs more pairs than ever come into contact "
                             f"({np.count_nonzero(final)}); raise 'length_scale'")
        expected = lambda c: float(np.sum(-np.expm1(-c * final))) - m_final  # noqa: E731
        hi = 1.0
        while expected(hi) < 0:
            hi *= 2.0
        rate = brentq(expected, 0.0, hi, xtol=1e-14, rtol=1e-12)
        m = np.round(np.sum(-np.expm1(-rate * exposure), axis=1)).astype(np.int64)
        m = np.maximum.accumulate(m)
    cap = n_born * (n_born - 1) // 2
    m = np.minimum(m, cap)
    m[-1] = m_final
    return {"birth_stage": birth_stage, "scale": scale, "D": D, "m": m, "n_born": n_born,
            "contacts": contacts, "range": rng_len, "schedule": schedule, "rate": rate}


def development_curve(schedule: dict) -> pd.DataFrame:
    """Links against neurons over development, with the local growth exponent.

    ``exponent`` is the slope of ``log(links)`` against ``log(neurons)`` between
    consecutive stages: about 2 while growth accelerates (links ~ neurons squared), about
    1 when it is linear.

    Examples
    --------
    >>> P = np.c_[np.linspace(0, 10, 60), np.zeros(60), np.zeros(60)]
    >>> s = development_schedule(P, np.arange(60), m_final=90, n_stages=10, length_scale=0.05, axis=0)
    >>> list(development_curve(s).columns)
    ['stage', 'scale', 'neurons', 'links', 'exponent']
    """
    for k in ("m", "n_born", "scale"):
        if k not in schedule:
            raise ValueError(f"'schedule' must come from development_schedule(); missing key {k!r}")
    m = np.asarray(schedule["m"], dtype=float)
    nb = np.asarray(schedule["n_born"], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.diff(np.log(m)) / np.diff(np.log(nb))
    slope = np.concatenate([[np.nan], slope])
    slope[~np.isfinite(slope)] = np.nan
    return pd.DataFrame({"stage": np.arange(m.size), "scale": schedule["scale"], "neurons": nb.astype(int),
                         "links": m.astype(int), "exponent": slope})


def ganglion_agreement(partition, ganglia, *, n_perm: int = 200, seed=None) -> dict:
    """How well modules match anatomical groups (e.g. ganglia), against relabelled modules.

    Parameters
    ----------
    partition : array_like of int, shape (n,)
        Module labels.
    ganglia : array_like, shape (n,)
        Group of every node (any hashable labels).
    n_perm : int
        Random permutations of the module labels over the nodes (module sizes kept) for the null.
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    dict
        ``nmi`` (normalised mutual information), ``ari`` (adjusted Rand index), ``nmi_null``
        (mean NMI of the permuted modules), ``nmi_z`` and ``n_perm``.

    Examples
    --------
    >>> r = ganglion_agreement([0, 0, 1, 1, 2, 2], list("aabbcc"), n_perm=50, seed=0)
    >>> round(r["nmi"], 3), r["nmi"] > r["nmi_null"]
    (1.0, True)
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    part = np.asarray(partition)
    if part.ndim != 1 or not np.issubdtype(part.dtype, np.integer):
        raise ValueError(f"'partition' must be a 1-D array of integer labels; got {partition!r}")
    gang = list(ganglia)
    if len(gang) != part.size:
        raise ValueError(f"'ganglia' must have one label per node ({part.size}); got {len(gang)}")
    n_perm = check_int(n_perm, "n_perm", minimum=2)
    rng = as_rng(seed)
    codes = pd.factorize(pd.Series(gang, dtype=object))[0]
    nmi = float(normalized_mutual_info_score(codes, part))
    perm = np.array([normalized_mutual_info_score(codes, rng.permutation(part)) for _ in range(n_perm)])
    sd = perm.std(ddof=1)
    z = (nmi - perm.mean()) / sd if sd > 0 else np.nan
    return {"nmi": nmi, "ari": float(adjusted_rand_score(codes, part)), "nmi_null": float(perm.mean()),
            "nmi_z": float(z), "n_perm": n_perm}


def development_network(inputs: dict, elongation: float, length_scale: float, *, m_final: int | None = None,
                        n_stages: int = 40, schedule: str = "contacts", seed=None):
    """Grow one network with the developmental model of :func:`development`.

    Parameters
    ----------
    inputs : dict
        From :func:`worm_development_inputs` (keys ``positions``, ``birth_order``, ``axis``,
        and ``adult`` when ``m_final`` is not given).
    elongation, length_scale, n_stages, schedule
        See :func:`development_schedule`.
    m_final : int, optional
        Edges of the grown network (default: those of ``inputs["adult"]``).
    seed : None, int, SeedSequence or Generator

    Returns
    -------
    A : ndarray of bool, shape (n, n)
        The grown network.
    schedule : dict
        From :func:`development_schedule` (its ``D[-1]`` are the adult distances).

    Examples
    --------
    >>> P = np.c_[np.linspace(0, 10, 30), np.zeros(30), np.zeros(30)]
    >>> A, sch = development_network({"positions": P, "birth_order": np.arange(30), "axis": 0}, 2.0, 0.1,
    ...                              m_final=40, n_stages=5, seed=0)
    >>> int(A.sum() // 2), len(sch["m"])
    (40, 5)
    """
    for k in ("positions", "birth_order", "axis"):
        if k not in inputs:
            raise ValueError(f"'inputs' must come from worm_development_inputs(); missing key {k!r}")
    if m_final is None:
        if "adult" not in inputs:
            raise ValueError("'m_final' is needed when 'inputs' has no 'adult' network")
        m_final = int(np.triu(np.asarray(inputs["adult"]) != 0, 1).sum())
    sch = development_schedule(inputs["positions"], inputs["birth_order"], m_final=m_final, n_stages=n_stages,
                               elongation=elongation, length_scale=length_scale, axis=inputs["axis"],
                               schedule=schedule)
    S = len(sch["m"])
    A = grow(sch["D"], sch["m"], "sptl", -1.0 / sch["range"], model_var="exponential",
             birth_times=sch["birth_stage"].astype(float), stage_times=np.arange(S, dtype=float), seed=seed)[0]
    return A, sch


class _DevelopmentTask:
    def __init__(self, inputs, m_final, n_stages, nulls, n_null, n_runs, n_perm, keep_partition=False,
                 schedule="contacts"):
        self.inputs, self.m_final, self.n_stages, self.schedule = inputs, m_final, n_stages, schedule
        self.keep_partition = keep_partition
        self.nulls, self.n_null, self.n_runs, self.n_perm = nulls, n_null, n_runs, n_perm

    def __call__(self, params, rng):
        g_rng, s_rng, p_rng = rng.spawn(3)
        inp = self.inputs
        A, sch = development_network(inp, params["elongation"], params["length_scale"], m_final=self.m_final,
                                     n_stages=self.n_stages, schedule=self.schedule, seed=g_rng)
        rec = network_summary(A, sch["D"][-1], nulls=self.nulls, n_null=self.n_null, n_runs=self.n_runs, seed=s_rng)
        part = rec.pop("partition")
        agree = ganglion_agreement(np.asarray(part), inp["ganglion"], n_perm=self.n_perm, seed=p_rng)
        if self.keep_partition:
            rec["partition"] = part
        curve = development_curve(sch)
        half = len(curve) // 2
        rec.update({"nmi_ganglia": agree["nmi"], "ari_ganglia": agree["ari"], "nmi_ganglia_null": agree["nmi_null"],
                    "nmi_ganglia_z": agree["nmi_z"], "n_perm": self.n_perm,
                    "exponent_early": float(np.nanmedian(curve["exponent"].iloc[1:half])),
                    "exponent_late": float(np.nanmedian(curve["exponent"].iloc[half:]))})
        return rec


def development(
    elongations: Sequence[float] = (1.0, 2.0, 4.0, 8.0),
    length_scales: Sequence[float] = (0.02, 0.05, 0.1, 0.3),
    *,
    inputs: dict | None = None,
    m_final: int | None = None,
    n_stages: int = 40,
    n_networks: int = 1,
    nulls: Sequence[str] = ("degree", "spatial"),
    n_null: int = 20,
    n_runs: int = 10,
    n_perm: int = 200,
    seed=None,
    store=None,
    n_jobs: int | None = None,
    client=None,
    progress: bool = True,
    keep_partition: bool = False,
    schedule: str = "contacts",
) -> pd.DataFrame:
    """Grow worm-like networks over an (elongation x contact range) grid and test their modules.

    For each cell, :func:`development_schedule` fixes when neurons are born, how long the
    body is and how many links exist at each stage; the links are placed by the spatial
    rule in its exponential form, ``P(i, j) ~ exp(-d_ij(s) / range)``, with the same
    contact range (:func:`~mesoscale.generative.grow`). The grown network is summarised by
    :func:`network_summary` (modularity against the nulls, on the adult distances) and its
    modules are compared with the real ganglia: normalised mutual information (NMI),
    adjusted Rand index, and the NMI's z-score against ``n_perm`` random relabellings of
    the modules (same module sizes).

    Parameters
    ----------
    elongations : sequence of float
        Adult body length / length at the first stage.
    length_scales : sequence of float
        Contact range as a fraction of the adult body length (the cost of long links).
    inputs : dict, optional
        From :func:`worm_development_inputs` (loaded with ``seed`` if not given).
    m_final : int, optional
        Edges of the grown network (default: those of the adult connectome).
    n_stages : int
        Developmental stages.
    n_networks, nulls, n_null, n_runs, seed, store, n_jobs, client, progress
        As in :func:`landscape`.
    n_perm : int
        Random relabellings for the NMI null.
    keep_partition : bool
        Keep each grown network's module labels in a ``partition`` column.
    schedule : {"contacts", "hazard"}
        How the link count grows (:func:`development_schedule`; ``"hazard"`` fixes only the
        total, so the growth exponent is a prediction).

    Returns
    -------
    pandas.DataFrame
        One row per network: ``elongation, length_scale, rep, setup``, the summary columns,
        ``nmi_ganglia, ari_ganglia, nmi_ganglia_null, nmi_ganglia_z, n_perm`` and the median
        growth exponents ``exponent_early`` / ``exponent_late`` of the first and second half
        of the stages.

    Examples
    --------
    >>> P = np.c_[np.linspace(0, 10, 24), np.zeros(24), np.zeros(24)]
    >>> A = np.zeros((24, 24)); A[np.arange(23), np.arange(1, 24)] = 1; A = A + A.T
    >>> inp = {"positions": P, "birth_order": np.arange(24), "ganglion": ["a"] * 12 + ["b"] * 12, "adult": A, "axis": 0}
    >>> df = development([2.0], [0.1], inputs=inp, n_stages=4, nulls=("degree",), n_null=2, n_runs=1, n_perm=5,
    ...                  progress=False)
    >>> df[["elongation", "length_scale", "n_edges"]].values.tolist()
    [[2.0, 0.1, 23.0]]
    """
    elongations = [check_float(e, "elongations", minimum=1.0) for e in check_float_list(elongations, "elongations")]
    length_scales = check_float_list(length_scales, "length_scales")
    for v in length_scales:
        if v <= 0:
            raise ValueError(f"'length_scales' must be > 0; got {v}")
    if inputs is None:
        inputs = worm_development_inputs(seed=seed if isinstance(seed, numbers.Integral) else None)
    for k in ("positions", "birth_order", "ganglion", "adult", "axis"):
        if k not in inputs:
            raise ValueError(f"'inputs' must come from worm_development_inputs(); missing key {k!r}")
    n = np.asarray(inputs["positions"]).shape[0]
    if m_final is None:
        m_final = int(np.triu(np.asarray(inputs["adult"]) != 0, 1).sum())
    m_final = check_int(m_final, "m_final", minimum=1, maximum=n * (n - 1) // 2)
    n_stages = check_int(n_stages, "n_stages", minimum=2, maximum=n)
    n_networks = check_int(n_networks, "n_networks", minimum=1)
    nulls = check_nulls(nulls)
    n_null = check_int(n_null, "n_null", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    n_perm = check_int(n_perm, "n_perm", minimum=2)
    from .._validation import check_choice

    schedule = check_choice(schedule, "schedule", SCHEDULES)
    setup = fingerprint([np.asarray(inputs["positions"], float), np.asarray(inputs["birth_order"], float),
                          list(map(str, inputs["ganglion"])), m_final, n_stages, list(nulls), n_null, n_runs,
                          n_perm] + ([schedule] if schedule != "contacts" else []))
    grid = [{"elongation": e, "length_scale": s, "rep": r, "setup": setup}
            for e in elongations for s in length_scales for r in range(n_networks)]
    task = _DevelopmentTask(inputs, m_final, n_stages, nulls, n_null, n_runs, n_perm, keep_partition, schedule)
    return run_grid(task, grid, store, seed, n_jobs, client, progress)


def growth_curves(inputs: dict, elongations: Sequence[float], length_scales: Sequence[float], *, m_final: int,
                  n_stages: int = 40, schedule: str = "contacts") -> dict:
    """:func:`development_curve` for every (elongation, contact range), keyed ``"elongation E, range R"``.

    Examples
    --------
    >>> P = np.c_[np.linspace(0, 10, 30), np.zeros(30), np.zeros(30)]
    >>> c = growth_curves({"positions": P, "birth_order": np.arange(30), "axis": 0}, [1.0, 4.0], [0.1], m_final=40,
    ...                   n_stages=5)
    >>> list(c), int(c["elongation 4, range 0.1"]["links"].iloc[-1])
    (['elongation 1, range 0.1', 'elongation 4, range 0.1'], 40)
    """
    out = {}
    for el in check_float_list(elongations, "elongations", minimum=1.0):
        for ls in check_float_list(length_scales, "length_scales"):
            sch = development_schedule(inputs["positions"], inputs["birth_order"], m_final=m_final, n_stages=n_stages,
                                       elongation=el, length_scale=ls, axis=inputs["axis"], schedule=schedule)
            out[f"elongation {el:g}, range {ls:g}"] = development_curve(sch)
    return out


def real_worm_summary(inputs: dict, nulls: Sequence[str] = ("degree", "spatial"), *, n_null: int = 20,
                      n_runs: int = 10, n_perm: int = 200, seed=None) -> dict:
    """The real adult worm in the columns of :func:`development`: Q, z per null, modules, ganglion agreement.

    Returns a dict with ``Q``, ``z_<null>``, ``n_modules_2plus``, ``nmi_ganglia``, ``nmi_ganglia_z``,
    ``ari_ganglia`` and ``partition`` (the modules of the first null's test).

    Examples
    --------
    >>> A = np.kron(np.eye(2), np.ones((6, 6))) - np.eye(12); A[0, 6] = A[6, 0] = 1
    >>> inp = {"positions": np.random.default_rng(0).random((12, 3)), "adult": A, "ganglion": ["a"] * 6 + ["b"] * 6}
    >>> r = real_worm_summary(inp, ("degree",), n_null=3, n_runs=1, n_perm=5, seed=0)
    >>> r["n_modules_2plus"], round(r["nmi_ganglia"], 2)
    (2, 1.0)
    """
    from .._validation import distance_matrix, seed_sequence
    from ..metrics import modularity_significance

    nulls = check_nulls(nulls)
    D = distance_matrix(inputs["positions"])
    ss = seed_sequence(seed)
    tests = {nl: modularity_significance(inputs["adult"], nl, n_null, D=D, seed=ss, n_runs=n_runs) for nl in nulls}
    part = tests[nulls[0]].partition
    agree = ganglion_agreement(part, inputs["ganglion"], n_perm=n_perm, seed=ss)
    return {"Q": tests[nulls[0]].q, **{f"z_{k}": t.z for k, t in tests.items()},
            "n_modules_2plus": int((np.bincount(part) > 1).sum()), "nmi_ganglia": agree["nmi"],
            "nmi_ganglia_z": agree["nmi_z"], "ari_ganglia": agree["ari"], "partition": part}


def schedule_exponents(inputs: dict, elongations: Sequence[float], length_scales: Sequence[float], *, m_final: int,
                       n_stages: int = 40, schedules: Sequence[str] = SCHEDULES) -> pd.DataFrame:
    """Median growth exponents of the first and second half of development, for every schedule and cell.

    The ``"contacts"`` schedule puts the link count in (it is the contact count); under
    ``"hazard"`` only the total is fixed, so its exponents are predictions of the contact
    process (:func:`development_schedule`).

    Examples
    --------
    >>> P = np.c_[np.linspace(0, 10, 30), np.zeros(30), np.zeros(30)]
    >>> t = schedule_exponents({"positions": P, "birth_order": np.arange(30), "axis": 0}, [2.0], [0.1], m_final=40,
    ...                        n_stages=6)
    >>> t["schedule"].tolist()
    ['contacts', 'hazard']
    """
    rows = []
    for sched in schedules:
        curves = growth_curves(inputs, elongations, length_scales, m_final=m_final, n_stages=n_stages,
                               schedule=sched)
        for (el, ls), d in zip([(e, s) for e in elongations for s in length_scales], curves.values()):
            half = len(d) // 2
            rows.append({"schedule": sched, "elongation": float(el), "length_scale": float(ls),
                         "exponent_early": float(d["exponent"].iloc[1:half].median()),
                         "exponent_late": float(d["exponent"].iloc[half:].median())})
    return pd.DataFrame(rows)
