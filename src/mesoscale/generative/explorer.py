"""Interactive explorer of the wiring rules (ipywidgets), and the static gallery behind it.

In JupyterLab, :func:`explore` shows a rule selector and sliders for eta and gamma; every
change grows a new network with :func:`~mesoscale.generative.generate`, finds its modules
and redraws it in space (nodes coloured by module) beside its adjacency matrix, with the
modularity ``Q`` and its z-score against the chosen nulls. :func:`example_networks`
computes the same thing for a list of parameter points; the book shows it as a static
gallery with :func:`mesoscale.generative.plots.plot_gallery`.

Examples
--------
>>> import numpy as np
>>> from mesoscale.generative.landscape import embedding_positions
>>> from mesoscale.metrics import distance_matrix
>>> P = embedding_positions("line", 40, seed=0)
>>> ex = example_networks(distance_matrix(P), 60, [("sptl", -3.0, 0.0)], n_null=3, n_runs=2, seed=0)
>>> ex[0]["n_edges"], ex[0]["n_null"]
(60, 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validation import check_choice, check_distance, check_float, check_int, check_matrix, seed_sequence
from ._engine import check_nulls
from .landscape import REPRESENTATIVE_RULES, network_summary
from .models import WIRING_RULES, generate

__all__ = ["example_networks", "NetworkExplorer", "explore"]


def _check_cell(cell):
    if not isinstance(cell, (tuple, list)) or len(cell) != 3:
        raise ValueError(f"each cell must be a (rule, eta, gamma) triple; got {cell!r}")
    rule = check_choice(cell[0], "rule", WIRING_RULES)
    return rule, check_float(cell[1], "eta"), check_float(cell[2], "gamma")


def example_networks(
    D,
    m: int,
    cells: Sequence[tuple],
    *,
    nulls: Sequence[str] = ("degree", "spatial"),
    n_null: int = 20,
    n_runs: int = 10,
    model_var=("powerlaw", "powerlaw"),
    seed=None,
) -> list[dict]:
    """Grow one network per (rule, eta, gamma) cell and summarise it.

    Parameters
    ----------
    D : array_like, shape (n, n)
        Distances.
    m : int
        Edges per network.
    cells : sequence of (rule, eta, gamma)
        Parameter points (``gamma`` is ignored by ``"sptl"``).
    nulls, n_null, n_runs
        Null comparison of each network's modularity
        (:func:`~mesoscale.generative.landscape.network_summary`).
    model_var : (str, str) or str
    seed : None, int, SeedSequence or Generator
        Cell ``k`` uses the ``k``-th stream spawned from ``seed``.

    Returns
    -------
    list of dict
        Per cell: ``rule, eta, gamma, A`` (bool adjacency) and the summary fields
        (``partition`` as an array).

    Examples
    --------
    >>> from mesoscale.generative.landscape import embedding_positions
    >>> from mesoscale.metrics import distance_matrix
    >>> P = embedding_positions("line", 30, seed=0)
    >>> ex = example_networks(distance_matrix(P), 45, [("sptl", -3.0, 0.0), ("matching", -2.0, 0.5)], nulls=("degree",),
    ...                       n_null=2, n_runs=1, seed=0)
    >>> [e["rule"] for e in ex], ex[1]["n_edges"]
    (['sptl', 'matching'], 45)
    """
    Dm = check_distance(D, name="D")
    n = Dm.shape[0]
    m = check_int(m, "m", minimum=1, maximum=n * (n - 1) // 2)
    cells = [_check_cell(c) for c in cells]
    if not cells:
        raise ValueError("'cells' is empty; give at least one (rule, eta, gamma)")
    nulls = check_nulls(nulls)
    out = []
    for (rule, eta, gamma), ss in zip(cells, seed_sequence(seed).spawn(len(cells))):
        g_ss, s_ss = ss.spawn(2)
        A = generate(Dm, m, rule, eta, None if rule == "sptl" else gamma, model_var=model_var, seed=g_ss)[0]
        rec = network_summary(A, Dm, nulls=nulls, n_null=n_null, n_runs=n_runs, seed=s_ss)
        rec["partition"] = np.asarray(rec["partition"])
        out.append({"rule": rule, "eta": eta, "gamma": gamma, "A": A, **rec})
    return out


class NetworkExplorer:
    """Widgets to grow a network with a chosen rule and see its modules change live.

    Parameters
    ----------
    D : array_like, shape (n, n)
        Distances between nodes.
    positions : array_like, shape (n, d)
        Where to draw the nodes.
    m : int
        Edges of every network.
    rules : sequence of str
        Rules offered in the selector.
    eta, gamma : float
        Starting values.
    eta_range, gamma_range : (float, float)
        Slider limits.
    nulls : sequence of str
        Null models of the z-scores shown (``()`` shows Q only, which is faster).
    n_null, n_runs : int
        Effort of the null comparison (kept small for interactive use).
    dims : (int, int)
        Coordinates of ``positions`` to draw.
    seed : int
        Network seed (also a widget).

    Attributes
    ----------
    widget : ipywidgets.VBox
        The explorer; display it in a notebook.
    last : dict
        The most recent network and its summary (see :func:`example_networks`).

    Examples
    --------
    >>> import numpy as np
    >>> from mesoscale.generative.landscape import embedding_positions
    >>> from mesoscale.metrics import distance_matrix
    >>> P = embedding_positions("line", 30, seed=0)
    >>> ex = NetworkExplorer(distance_matrix(P), P, 45, nulls=(), seed=0)
    >>> ex.compute(rule="sptl", eta=-3.0)["n_edges"]  # ex.update(...) also redraws
    45
    """

    def __init__(
        self,
        D,
        positions,
        m: int,
        *,
        rules: Sequence[str] = REPRESENTATIVE_RULES,
        eta: float = -2.0,
        gamma: float = 0.5,
        eta_range: tuple[float, float] = (-6.0, 2.0),
        gamma_range: tuple[float, float] = (-3.0, 4.0),
        nulls: Sequence[str] = ("degree",),
        n_null: int = 10,
        n_runs: int = 3,
        dims: tuple[int, int] = (0, 1),
        seed: int = 0,
    ):
        import ipywidgets as w

        self.D = check_distance(D, name="D")
        n = self.D.shape[0]
        self.positions = check_matrix(positions, "positions", square=False)
        if self.positions.shape[0] != n:
            raise ValueError(f"'positions' must have {n} rows to match D; got shape {self.positions.shape}")
        self.m = check_int(m, "m", minimum=1, maximum=n * (n - 1) // 2)
        rules = [check_choice(r, "rules", WIRING_RULES) for r in rules]
        if not rules:
            raise ValueError("'rules' must offer at least one rule")
        lo_e, hi_e = (check_float(v, "eta_range") for v in eta_range)
        lo_g, hi_g = (check_float(v, "gamma_range") for v in gamma_range)
        if not (lo_e < hi_e and lo_g < hi_g):
            raise ValueError(f"slider ranges must be increasing; got eta_range={eta_range}, gamma_range={gamma_range}")
        self.nulls = tuple(nulls) if len(nulls) == 0 else check_nulls(nulls)
        self.n_null = check_int(n_null, "n_null", minimum=2)
        self.n_runs = check_int(n_runs, "n_runs", minimum=1)
        if len(dims) != 2 or max(dims) >= self.positions.shape[1]:
            raise ValueError(f"'dims' must be two column indices of 'positions'; got {dims!r}")
        self.dims = tuple(int(d) for d in dims)
        self.last: dict | None = None
        self._busy = False
        style = {"description_width": "initial"}
        self.rule = w.Dropdown(options=rules, value=rules[0], description="rule")
        self.eta = w.FloatSlider(value=check_float(eta, "eta", minimum=lo_e, maximum=hi_e), min=lo_e, max=hi_e,
                                 step=0.1, description="η (distance)", continuous_update=False, style=style)
        self.gamma = w.FloatSlider(value=check_float(gamma, "gamma", minimum=lo_g, maximum=hi_g), min=lo_g,
                                   max=hi_g, step=0.1, description="γ (topology)", continuous_update=False,
                                   style=style)
        self.seed = w.BoundedIntText(value=check_int(seed, "seed", minimum=0), min=0, max=2**31 - 1,
                                     description="seed")
        self.status = w.HTML()
        self.out = w.Output()
        controls = w.HBox([self.rule, self.eta, self.gamma, self.seed])
        self.widget = w.VBox([controls, self.status, self.out])
        for ctl in (self.rule, self.eta, self.gamma, self.seed):
            ctl.observe(self._on_change, names="value")
        self._sync_gamma()

    def _sync_gamma(self):
        self.gamma.disabled = self.rule.value == "sptl"

    def _on_change(self, _change=None):
        if self._busy:
            return
        self._sync_gamma()
        self.update()

    def compute(self, rule=None, eta=None, gamma=None, seed=None) -> dict:
        """Grow and summarise one network (without drawing); arguments default to the widgets.

        Examples
        --------
        >>> from mesoscale.generative.landscape import embedding_positions
        >>> from mesoscale.metrics import distance_matrix
        >>> P = embedding_positions("line", 30, seed=0)
        >>> NetworkExplorer(distance_matrix(P), P, 45, nulls=(), seed=0).compute(rule="sptl", eta=-2.0)["n_edges"]
        45
        """
        rule = self.rule.value if rule is None else check_choice(rule, "rule", WIRING_RULES)
        eta = float(self.eta.value if eta is None else check_float(eta, "eta"))
        gamma = float(self.gamma.value if gamma is None else check_float(gamma, "gamma"))
        seed = int(self.seed.value if seed is None else check_int(seed, "seed", minimum=0))
        g_ss, s_ss = seed_sequence(seed).spawn(2)
        A = generate(self.D, self.m, rule, eta, None if rule == "sptl" else gamma, seed=g_ss)[0]
        if self.nulls:
            rec = network_summary(A, self.D, nulls=self.nulls, n_null=self.n_null, n_runs=self.n_runs, seed=s_ss)
        else:
            from ..metrics import best_partition

            part, q = best_partition(A.astype(float), self.n_runs, seed=s_ss)
            rec = {"Q": q, "partition": part, "n_edges": int(A.sum() // 2), "n_null": 0,
                   "n_modules": int(part.max() + 1)}
        rec["partition"] = np.asarray(rec["partition"])
        return {"rule": rule, "eta": eta, "gamma": gamma, "seed": seed, "A": A, **rec}

    def describe(self, rec: dict) -> str:
        """One-line HTML description of a result: parameters, Q and its null comparison.

        Examples
        --------
        >>> from mesoscale.generative.landscape import embedding_positions
        >>> from mesoscale.metrics import distance_matrix
        >>> P = embedding_positions("line", 30, seed=0)
        >>> ex = NetworkExplorer(distance_matrix(P), P, 45, nulls=(), seed=0)
        >>> ex.describe(ex.compute(rule="sptl", eta=-2.0)).startswith("<b>sptl</b>")
        True
        """
        gam = "" if rec["rule"] == "sptl" else f", γ = {rec['gamma']:.1f}"
        text = f"<b>{rec['rule']}</b> η = {rec['eta']:.1f}{gam}: Q = {rec['Q']:.3f}"
        zs = [f"z<sub>{k[2:]}</sub> = {rec[k]:.1f}" for k in rec if k.startswith("z_")]
        if zs:
            text += " (" + ", ".join(zs) + f"; {rec['n_null']} nulls each, seed {rec['seed']})"
        else:
            text += " (no null comparison: not evidence of modules on its own)"
        return text + f"; {rec['n_modules']} modules"

    def update(self, rule=None, eta=None, gamma=None, seed=None) -> dict:
        """Set the widgets (if values are given), recompute, redraw; returns the result.

        Examples
        --------
        >>> import matplotlib; matplotlib.use("Agg")
        >>> from mesoscale.generative.landscape import embedding_positions
        >>> from mesoscale.metrics import distance_matrix
        >>> P = embedding_positions("line", 30, seed=0)
        >>> ex = NetworkExplorer(distance_matrix(P), P, 45, nulls=(), seed=0)
        >>> import contextlib, io
        >>> with contextlib.redirect_stdout(io.StringIO()):  # clear_output writes terminal codes
        ...     rec = ex.update(rule="matching", eta=-2.0, gamma=0.5)
        >>> rec["rule"], ex.rule.value, ex.last is rec
        ('matching', 'matching', True)
        """
        import matplotlib.pyplot as plt

        from ..plotting import plot_adjacency, plot_spatial_network

        self._busy = True
        try:  # move the widgets to the requested values without triggering a second update
            if rule is not None:
                self.rule.value = check_choice(rule, "rule", list(self.rule.options))
            if eta is not None:
                self.eta.value = check_float(eta, "eta", minimum=self.eta.min, maximum=self.eta.max)
            if gamma is not None:
                self.gamma.value = check_float(gamma, "gamma", minimum=self.gamma.min, maximum=self.gamma.max)
            if seed is not None:
                self.seed.value = check_int(seed, "seed", minimum=0)
        finally:
            self._busy = False
        self._sync_gamma()
        rec = self.compute()
        self.last = rec
        self.status.value = self.describe(rec)
        self.out.clear_output(wait=True)
        with self.out:
            fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), gridspec_kw={"width_ratios": [2, 1]})
            plot_spatial_network(rec["A"], self.positions, rec["partition"], dims=self.dims, ax=axes[0])
            plot_adjacency(rec["A"], rec["partition"], ax=axes[1])
            plt.show()
        plt.close("all")
        return rec


def explore(D, positions, m, **options):
    """Show a :class:`NetworkExplorer` (in a notebook) and return it.

    Parameters are those of :class:`NetworkExplorer`. The first network is drawn at once.

    Examples
    --------
    >>> import contextlib, io, matplotlib; matplotlib.use("Agg")
    >>> from mesoscale.generative.landscape import embedding_positions
    >>> from mesoscale.metrics import distance_matrix
    >>> P = embedding_positions("line", 30, seed=0)
    >>> with contextlib.redirect_stdout(io.StringIO()):
    ...     ex = explore(distance_matrix(P), P, 45, nulls=(), seed=0)
    >>> ex.last["n_edges"]
    45
    """
    ex = NetworkExplorer(D, positions, m, **options)
    ex.update()
    try:
        from IPython.display import display

        display(ex.widget)
    except ImportError:  # pragma: no cover - IPython is installed with ipywidgets
        pass
    return ex
