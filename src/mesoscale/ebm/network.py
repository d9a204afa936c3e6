"""A continuous Hopfield-style energy-based network with units placed in space.

The network has three groups of units -- clamped inputs, hidden units and outputs -- in
one symmetric weight matrix ``W`` (``W[i, j]`` is the synapse between units ``i`` and ``j``,
zero diagonal) and a bias vector ``b``. Every unit has a position in the plane, so every
synapse has a length ``D[i, j]``, which the local wiring cost of :mod:`mesoscale.ebm.rules`
uses.

The state ``s`` of the units lives in the box ``[0, 1]^N`` and the energy is the Hopfield
(1984) energy of graded units with a linear-in-the-box activation

.. math:: E(s) = \\tfrac12 \\sum_i s_i^2 - \\tfrac12 \\sum_{i \\ne j} W_{ij} s_i s_j - \\sum_i b_i s_i .

Relaxation is *projected gradient descent* on ``E`` (plus ``beta`` times the output cost in
the nudged phases) over the free units, with the step ``1 / L`` where ``L`` bounds the
largest eigenvalue of the Hessian on the free units. With that step the descent lemma
guarantees that the energy never increases, whatever the weights; a fixed point satisfies
``s_i = clip((W s + b)_i, 0, 1)`` -- the usual hard-sigmoid Hopfield/EqProp fixed point
(Scellier & Bengio 2017).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch

from .._validation import as_rng, check_choice, check_float, check_int, distance_matrix

__all__ = ["EnergyNetwork", "make_network", "layout_positions"]


def layout_positions(n_in: int, n_hidden: int, n_out: int, *, width: float = 1.0) -> np.ndarray:
    """Positions of the units on three rows of a sheet (inputs, hidden, outputs).

    Inputs lie on the row ``y = 0`` and outputs on ``y = 2``, each spread evenly over
    ``[0, width]``; hidden units fill a grid between them (``y`` in ``[0.5, 1.5]``), so the
    left half of the input row sits under the left half of the hidden sheet.

    Returns
    -------
    ndarray, shape (n_in + n_hidden + n_out, 2)
        ``(x, y)`` per unit, in units of the sheet width.

    Examples
    --------
    >>> layout_positions(4, 4, 2).shape
    (10, 2)
    """
    n_in = check_int(n_in, "n_in", minimum=1)
    n_hidden = check_int(n_hidden, "n_hidden", minimum=1)
    n_out = check_int(n_out, "n_out", minimum=1)
    width = check_float(width, "width", minimum=1e-9)

    def row(n, y):
        x = (np.arange(n) + 0.5) / n * width
        return np.column_stack([x, np.full(n, float(y))])

    # hidden grid: as square as the count allows, wider than tall
    n_rows = max(1, int(np.floor(np.sqrt(n_hidden / 2.0))))
    n_cols = int(np.ceil(n_hidden / n_rows))
    hid = []
    for k in range(n_hidden):
        r, c = divmod(k, n_cols)
        hid.append(((c + 0.5) / n_cols * width, 0.5 + (r + 0.5) / n_rows))
    return np.vstack([row(n_in, 0.0), np.asarray(hid, dtype=float), row(n_out, 2.0)])


@dataclass
class EnergyNetwork:
    """A symmetric continuous Hopfield network with clamped inputs, hidden units and outputs.

    Build one with :func:`make_network`. Units are ordered inputs, hidden, outputs.

    Attributes
    ----------
    W : torch.Tensor, shape (N, N)
        Symmetric weights, zero diagonal, zero outside ``mask``.
    b : torch.Tensor, shape (N,)
        Biases (those of inputs are unused: inputs are clamped).
    mask : torch.Tensor of bool, shape (N, N)
        Which synapses exist (symmetric).
    positions : ndarray, shape (N, 2)
        Unit positions; ``distance`` holds the Euclidean synapse lengths.
    n_in, n_hidden, n_out : int
        Sizes of the three groups.

    Examples
    --------
    >>> net = make_network(4, 6, 2, seed=0)
    >>> net.n_units, net.inputs, net.hidden, net.outputs
    (12, slice(0, 4, None), slice(4, 10, None), slice(10, 12, None))
    >>> x = np.random.default_rng(0).random((3, 4))
    >>> s, E = net.relax(x, n_steps=20, record_energy=True)
    >>> s.shape, bool(all((E[k + 1] <= E[k] + 1e-12).all() for k in range(20)))  # the energy never increases
    (torch.Size([3, 12]), True)
    >>> net.predict(x).shape, net.check_symmetric()
    (torch.Size([3, 2]), True)
    """

    W: torch.Tensor
    b: torch.Tensor
    mask: torch.Tensor
    positions: np.ndarray
    n_in: int
    n_hidden: int
    n_out: int
    distance: torch.Tensor = field(init=False)

    def __post_init__(self):
        pos = np.asarray(self.positions, dtype=float)
        D = distance_matrix(pos)
        self.distance = torch.as_tensor(D, dtype=self.W.dtype)

    # ------------------------------------------------------------------ groups
    @property
    def n_units(self) -> int:
        return self.n_in + self.n_hidden + self.n_out

    @property
    def inputs(self) -> slice:
        return slice(0, self.n_in)

    @property
    def hidden(self) -> slice:
        return slice(self.n_in, self.n_in + self.n_hidden)

    @property
    def outputs(self) -> slice:
        return slice(self.n_in + self.n_hidden, self.n_units)

    @property
    def dtype(self) -> torch.dtype:
        return self.W.dtype

    def copy(self) -> EnergyNetwork:
        """A deep copy (weights are cloned)."""
        return copy.deepcopy(self)

    def free_mask(self, lesion=None) -> torch.Tensor:
        """Boolean vector of the units that relax (hidden + outputs, minus lesioned units)."""
        free = torch.zeros(self.n_units, dtype=torch.bool)
        free[self.n_in :] = True
        if lesion is not None:
            idx = _check_lesion(lesion, self)
            free[idx] = False
        return free

    # ------------------------------------------------------------------ energy
    def energy(self, s: torch.Tensor) -> torch.Tensor:
        """Hopfield energy of each state in the batch ``s`` (shape ``(B, N)``) -> ``(B,)``."""
        s = torch.as_tensor(s, dtype=self.dtype)
        return 0.5 * (s * s).sum(-1) - 0.5 * ((s @ self.W) * s).sum(-1) - s @ self.b

    def cost(self, s: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Output cost ``0.5 * ||s_out - y||^2`` per sample -> ``(B,)``."""
        return 0.5 * ((s[:, self.outputs] - y) ** 2).sum(-1)

    def total_energy(self, s, y=None, beta: float = 0.0) -> torch.Tensor:
        """``E(s) + beta * C(s, y)`` per sample (the nudged energy of EqProp)."""
        E = self.energy(s)
        if beta != 0.0:
            E = E + beta * self.cost(s, y)
        return E

    def step_size(self, free: torch.Tensor, beta: float = 0.0) -> float:
        """The relaxation step ``1 / L`` that guarantees a monotone energy decrease.

        ``L = 1 - lambda_min(W_FF) + max(beta, 0)`` bounds the largest eigenvalue of the
        Hessian of the (nudged) energy restricted to the free units ``F``.
        """
        idx = torch.nonzero(free).flatten()
        with torch.no_grad():
            Wff = self.W.detach()[idx][:, idx]
            lam_min = float(torch.linalg.eigvalsh(Wff)[0]) if len(idx) else 0.0
        L = 1.0 - min(lam_min, 0.0) + max(float(beta), 0.0)
        return 1.0 / L

    # -------------------------------------------------------------- relaxation
    def initial_state(self, x: torch.Tensor) -> torch.Tensor:
        """State with inputs clamped to ``x`` and every other unit at 0."""
        x = torch.as_tensor(x, dtype=self.dtype)
        s = torch.zeros(x.shape[0], self.n_units, dtype=self.dtype)
        s[:, self.inputs] = x
        return s

    def relax(
        self,
        x,
        *,
        y=None,
        beta: float = 0.0,
        s0=None,
        n_steps: int = 50,
        tol: float = 0.0,
        lesion=None,
        clamp_outputs: bool = False,
        W: torch.Tensor | None = None,
        b: torch.Tensor | None = None,
        record_energy: bool = False,
    ):
        """Relax the free units by projected gradient descent on ``E + beta * C``.

        Parameters
        ----------
        x : array_like, shape (B, n_in)
            Input patterns (clamped).
        y : array_like, shape (B, n_out), optional
            Targets; needed when ``beta != 0`` or ``clamp_outputs``.
        beta : float
            Nudging strength (0 = free phase; may be negative).
        s0 : tensor, shape (B, N), optional
            Starting state (default: inputs clamped, others 0). Inputs are re-clamped.
        n_steps : int
            Maximum number of steps.
        tol : float
            Stop early once no unit moved by more than ``tol`` in one step (0: never).
        lesion : array_like of int, optional
            Hidden/output unit indices held at 0 (silenced).
        clamp_outputs : bool
            Hold the outputs at ``y`` (the clamped phase of contrastive Hebbian learning).
        W, b : tensors, optional
            Use these weights instead of the network's (for autograd through the relaxation).
        record_energy : bool
            Also return the energy after every step.

        Returns
        -------
        s : torch.Tensor, shape (B, N)
            The final state (differentiable w.r.t. ``W``/``b`` when those require grad).
        energies : list of tensors, only if ``record_energy``
            ``E + beta*C`` of each sample before the first and after every step.
        """
        n_steps = check_int(n_steps, "n_steps", minimum=0)
        beta = check_float(beta, "beta")
        tol = check_float(tol, "tol", minimum=0.0)
        W = self.W if W is None else W
        b = self.b if b is None else b
        x = torch.as_tensor(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"'x' must have shape (B, {self.n_in}); got {tuple(x.shape)}")
        if (beta != 0.0 or clamp_outputs) and y is None:
            raise ValueError("'y' is required when beta != 0 or clamp_outputs=True")
        if y is not None:
            y = torch.as_tensor(y, dtype=self.dtype)
            if y.shape != (x.shape[0], self.n_out):
                raise ValueError(f"'y' must have shape ({x.shape[0]}, {self.n_out}); got {tuple(y.shape)}")
        free = self.free_mask(lesion)
        if s0 is None:
            s = self.initial_state(x)
        else:
            s = torch.as_tensor(s0, dtype=self.dtype).clone()
            if s.shape != (x.shape[0], self.n_units):
                raise ValueError(f"'s0' must have shape ({x.shape[0]}, {self.n_units}); got {tuple(s.shape)}")
            s[:, self.inputs] = x
            if lesion is not None:
                s[:, _check_lesion(lesion, self)] = 0.0
        if clamp_outputs:
            free = free.clone()
            free[self.outputs] = False
            s = s.clone()
            s[:, self.outputs] = y
        eta = self.step_size(free, beta)
        o0 = self.n_in + self.n_hidden
        energies = [self.total_energy(s, y, beta).detach()] if record_energy else None
        fmask = free.to(self.dtype)
        for _ in range(n_steps):
            grad = s - s @ W - b
            if beta != 0.0:
                grad = torch.cat([grad[:, :o0], grad[:, o0:] + beta * (s[:, o0:] - y)], dim=1)
            s_new = torch.clamp(s - eta * grad, 0.0, 1.0)
            s_new = fmask * s_new + (1.0 - fmask) * s
            moved = float((s_new - s).detach().abs().max()) if tol > 0.0 and s.numel() else np.inf
            s = s_new
            if record_energy:
                energies.append(self.total_energy(s, y, beta).detach())
            if moved <= tol:
                break
        if record_energy:
            return s, energies
        return s

    # ------------------------------------------------------------------ output
    def predict(self, x, *, n_steps: int = 50, tol: float = 0.0, lesion=None) -> torch.Tensor:
        """Free-phase output activity, shape ``(B, n_out)``."""
        with torch.no_grad():
            s = self.relax(x, n_steps=n_steps, tol=tol, lesion=lesion)
        return s[:, self.outputs]

    def check_symmetric(self, atol: float = 0.0) -> bool:
        """True if ``W`` is symmetric (to ``atol``), has a zero diagonal and respects ``mask``."""
        W = self.W.detach()
        return bool(
            torch.allclose(W, W.T, atol=atol, rtol=0)
            and torch.all(torch.diagonal(W) == 0)
            and torch.all(W[~self.mask] == 0)
        )


def _check_lesion(lesion, net: EnergyNetwork) -> np.ndarray:
    idx = np.asarray(lesion)
    if idx.size == 0:
        return idx.astype(int)
    if not np.issubdtype(idx.dtype, np.integer) or idx.ndim != 1:
        raise ValueError(f"'lesion' must be a 1-D array of unit indices; got {lesion!r}")
    bad = idx[(idx < net.n_in) | (idx >= net.n_units)]
    if bad.size:
        raise ValueError(
            f"'lesion' may only name hidden or output units ({net.n_in}..{net.n_units - 1}); "
            f"got {bad.tolist()}"
        )
    return idx


def make_network(
    n_in: int,
    n_hidden: int,
    n_out: int,
    *,
    connectivity: str = "recurrent",
    init_scale: float = 1.0,
    bias_init: float = 0.5,
    positions=None,
    dtype: torch.dtype = torch.float64,
    seed=None,
) -> EnergyNetwork:
    """Build an :class:`EnergyNetwork` with random symmetric weights.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        Group sizes.
    connectivity : {"recurrent", "layered"}
        ``"recurrent"``: input-hidden, hidden-hidden and hidden-output synapses;
        ``"layered"``: no hidden-hidden synapses. Inputs never connect to inputs or
        outputs, outputs never to outputs.
    init_scale : float
        Feed-forward weights are uniform in ``±init_scale * sqrt(3 / fan)`` with ``fan``
        the number of synapses of the receiving unit's group (Glorot-like; half that for hidden-output
        synapses, which keeps outputs off their bounds at the start); hidden-hidden
        weights are uniform in ``±init_scale * 0.25 * sqrt(3 / n_hidden)`` (spectral radius
        about ``0.5 * init_scale``, a single attractor per input at the start).
    bias_init : float
        Drive of each hidden/output unit when all units sit at 0.5: biases start at
        ``bias_init - 0.5 * sum_j W_ij``, so with the default 0.5 the mid-box state is a
        fixed point for an average input and units start away from their bounds (where
        they would carry no gradient).
    positions : array_like, shape (N, 2), optional
        Unit positions; default :func:`layout_positions`.
    dtype : torch dtype
        ``torch.float64`` (default) or ``torch.float32``.
    seed : int, SeedSequence or Generator, optional
        Same seed -> identical weights.

    Examples
    --------
    >>> net = make_network(8, 12, 2, seed=0)
    >>> net.n_units, net.check_symmetric()
    (22, True)
    """
    n_in = check_int(n_in, "n_in", minimum=1)
    n_hidden = check_int(n_hidden, "n_hidden", minimum=1)
    n_out = check_int(n_out, "n_out", minimum=1)
    check_choice(connectivity, "connectivity", ["recurrent", "layered"])
    init_scale = check_float(init_scale, "init_scale", minimum=0.0)
    bias_init = check_float(bias_init, "bias_init")
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"'dtype' must be torch.float32 or torch.float64; got {dtype!r}")
    N = n_in + n_hidden + n_out
    if positions is None:
        positions = layout_positions(n_in, n_hidden, n_out)
    else:
        positions = np.asarray(positions, dtype=float)
        if positions.shape != (N, 2) or not np.all(np.isfinite(positions)):
            raise ValueError(f"'positions' must be a finite ({N}, 2) array; got shape {positions.shape}")
    rng = as_rng(seed)
    I, H, O = slice(0, n_in), slice(n_in, n_in + n_hidden), slice(n_in + n_hidden, N)
    mask = np.zeros((N, N), dtype=bool)
    mask[I, H] = True
    mask[H, O] = True
    if connectivity == "recurrent":
        mask[H, H] = True
    mask = mask | mask.T
    np.fill_diagonal(mask, False)
    # fan-in of a hidden unit: inputs (+ hidden) + outputs
    fan_h = n_in + n_out + (n_hidden - 1 if connectivity == "recurrent" else 0)
    fan_o = n_hidden
    scale = np.zeros((N, N))
    scale[I, H] = np.sqrt(3.0 / fan_h)
    # recurrent block: spectral radius ~ 0.5 * init_scale, so that the initial energy is
    # convex on the hidden units (one attractor per input)
    scale[H, H] = 0.25 * np.sqrt(3.0 / n_hidden)
    scale[H, O] = 0.5 * np.sqrt(3.0 / max(fan_o, 1))
    scale = np.maximum(scale, scale.T) * init_scale
    U = rng.uniform(-1.0, 1.0, size=(N, N))
    U = np.triu(U, 1)
    U = U + U.T
    W = U * scale * mask
    # centred biases: with every unit (inputs included) at 0.5, each free unit's drive is
    # exactly ``bias_init`` -- units start in the middle of the box, not at its bounds
    b = np.zeros(N)
    b[n_in:] = bias_init - 0.5 * W.sum(0)[n_in:]
    return EnergyNetwork(
        W=torch.as_tensor(W, dtype=dtype),
        b=torch.as_tensor(b, dtype=dtype),
        mask=torch.as_tensor(mask),
        positions=positions,
        n_in=n_in,
        n_hidden=n_hidden,
        n_out=n_out,
    )
