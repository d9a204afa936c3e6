"""Spatially embedded networks: leaky ReLU RNNs and MLPs, trained as ensembles of K members.

Every model here is an *ensemble*: its weights carry a leading member axis ``K`` (``K = 1`` is a single
network), and one forward pass runs all members with batched matrix products (:func:`torch.bmm`). Member
``k`` is initialised only from its own seed, so an ensemble of K members equals K separate networks built
with the same seeds.

Convention: ``W[k, i, j]`` is the connection from unit ``i`` to unit ``j`` (rows presynaptic), as
everywhere in :mod:`mesoscale`; the state update is ``h_next = h @ W``.

Examples
--------
>>> import torch
>>> net = SpatialRNN(n_input=4, n_hidden=27, n_output=3, n_members=2, seed=[0, 1])
>>> logits, h = net(torch.zeros(5, 7, 4))
>>> logits.shape, h.shape
(torch.Size([2, 5, 7, 3]), torch.Size([2, 5, 7, 27]))
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from torch import nn

from .._validation import as_rng, check_choice, check_float, check_int, distance_matrix, seed_sequence

__all__ = ["grid_positions", "distance_matrix", "member_seeds", "member_generators", "SpatialRNN", "SpatialMLP"]


def grid_positions(n: int, shape=None) -> np.ndarray:
    """Positions of ``n`` units on a regular 3-D grid with unit spacing, shape (n, 3).

    With ``shape=None`` the grid is as cubic as possible: 100 units -> 5 x 5 x 4 (the seRNN layout of
    Achterberg et al. 2023).

    Examples
    --------
    >>> grid_positions(100).max(axis=0)
    array([4., 4., 3.])
    """
    n = check_int(n, "n", minimum=1)
    if shape is None:
        a = int(np.ceil(n ** (1 / 3) - 1e-9))
        b = a
        c = int(np.ceil(n / (a * b)))
        # shrink while still fitting, to stay close to n
        while a * (b - 1) * c >= n and b > 1:
            b -= 1
        shape = (a, b, c) if a * b * c >= n else (a, b, c + 1)
    shape = tuple(int(s) for s in shape)
    if int(np.prod(shape)) < n:
        raise ValueError(f"'shape' {shape} has fewer than n={n} sites")
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), axis=-1).reshape(-1, len(shape))
    grid = grid[np.lexsort(grid.T[::-1])][:n]
    if grid.shape[1] < 3:
        grid = np.pad(grid, ((0, 0), (0, 3 - grid.shape[1])))
    return grid.astype(float)


def member_seeds(seed, n_members: int) -> list[int]:
    """One integer seed per ensemble member.

    A sequence of ``n_members`` ints is used as given (so member k of an ensemble equals a single network
    built with ``seed=seeds[k]``); anything else is spawned into independent streams.

    Examples
    --------
    >>> member_seeds([5, 6], 2)
    [5, 6]
    >>> s = member_seeds(0, 3)
    >>> len(s), len(set(s)), s == member_seeds(0, 3)
    (3, 3, True)
    """
    n_members = check_int(n_members, "n_members", minimum=1)
    if isinstance(seed, (list, tuple, np.ndarray)):
        if len(seed) != n_members:
            raise ValueError(f"'seed' must give one seed per member ({n_members}); got {len(seed)}")
        out = []
        for s in seed:
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral) or int(s) < 0:
                raise TypeError(f"'seed' entries must be non-negative ints; got {s!r}")
            out.append(int(s))
        return out
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and n_members == 1:
        return [int(seed)]
    ss = seed_sequence(seed)
    return [int(c.generate_state(1, np.uint32)[0]) for c in ss.spawn(n_members)]


def member_generators(member_seeds, seed=None, device="cpu") -> list[torch.Generator]:
    """One torch generator per ensemble member, derived from ``seed`` and the member's own seed.

    Member ``k``'s stream depends only on ``seed`` and ``member_seeds[k]`` (not on K or on
    the other members), so a member of an ensemble draws the same noise as a single network
    built with its seed. The one place where the training loop and the evaluation functions
    make per-member torch generators (dropout/noise during training, noise curves).

    Examples
    --------
    >>> a = member_generators([3, 4], seed=0)
    >>> b = member_generators([4], seed=0)
    >>> bool(torch.rand(2, generator=a[1]).equal(torch.rand(2, generator=b[0])))
    True
    """
    base = int(seed_sequence(seed).generate_state(1)[0])
    gens = []
    for s in member_seeds:
        g = torch.Generator(device=device)
        g.manual_seed(int(np.random.SeedSequence([base, int(s)]).generate_state(1)[0]))
        gens.append(g)
    return gens


def _mask_tensor(mask, n_members: int, n_from: int, n_to: int, name: str = "mask") -> torch.Tensor:
    if mask is None:
        return torch.ones(n_members, n_from, n_to)
    m = np.asarray(mask)
    if m.ndim == 2:
        m = np.broadcast_to(m, (n_members, *m.shape))
    if m.shape != (n_members, n_from, n_to):
        raise ValueError(f"'{name}' must have shape ({n_from}, {n_to}) or ({n_members}, {n_from}, {n_to}); "
                         f"got {np.shape(mask)}")
    if not np.all(np.isfinite(m.astype(float))):
        raise ValueError(f"'{name}' must be finite")
    return torch.as_tensor((m != 0).astype(np.float32))


class _Ensemble(nn.Module):
    """Shared machinery: member seeds, masks kept exact, per-member extraction."""

    n_members: int
    seeds: list[int]

    def _member_buffers(self) -> list[str]:
        """Buffers with one entry per member (leading axis K): the masks and unit slots."""
        names = [m for _, m in self._masked]
        return names + (["slot"] if hasattr(self, "slot") else [])

    def enforce_masks(self) -> None:
        """Zero every masked-out weight exactly (called by the training loop after each step)."""
        with torch.no_grad():
            for name, mname in self._masked:
                getattr(self, name).mul_(getattr(self, mname))

    def member(self, k: int) -> nn.Module:
        """A new single-member model (K = 1) holding a copy of member ``k``'s weights."""
        k = check_int(k, "k", minimum=0, maximum=self.n_members - 1)
        new = self._clone_config(n_members=1, seed=[self.seeds[k]])
        with torch.no_grad():
            for (name, p), (_, q) in zip(self.named_parameters(), new.named_parameters()):
                q.copy_(p[k : k + 1])
            for name in self._member_buffers():
                getattr(new, name).copy_(getattr(self, name)[k : k + 1])
        return new.to(next(self.parameters()).device)

    def with_new_readout(self, n_output: int, seed=None) -> _Ensemble:
        """A deep copy whose readout layer is re-initialised for ``n_output`` outputs (seeded per member).

        The new readout reads every hidden unit (module readouts, if any, are replaced by one).
        """
        import copy

        n_output = check_int(n_output, "n_output", minimum=1)
        new = copy.deepcopy(self)
        name_w, name_b = self._readout
        w = getattr(new, name_w)
        n_in = w.shape[1]
        seeds = member_seeds(seed if seed is not None else [s + 1 for s in self.seeds], self.n_members)
        fresh = np.stack([as_rng(s).standard_normal((n_in, n_output)) / np.sqrt(n_in) for s in seeds])
        setattr(new, name_w, nn.Parameter(torch.as_tensor(fresh, dtype=w.dtype, device=w.device)))
        setattr(new, name_b, nn.Parameter(torch.zeros(self.n_members, 1, n_output, device=w.device)))
        if hasattr(new, "_readout_mask"):
            mname = new._readout_mask
            setattr(new, mname, torch.ones(self.n_members, n_in, n_output, device=w.device))
        new.n_output = n_output
        if isinstance(new, SpatialMLP):
            new._reset_output_geometry()
        else:
            new._drop_readout_groups(n_output)
        return new

    @classmethod
    def stack(cls, members) -> _Ensemble:
        """An ensemble made of single-member models (inverse of :meth:`member`)."""
        members = list(members)
        first = members[0]
        new = first._clone_config(n_members=len(members), seed=[m.seeds[0] for m in members])
        with torch.no_grad():
            for name, p in new.named_parameters():
                p.copy_(torch.cat([dict(m.named_parameters())[name] for m in members]))
            for name in new._member_buffers():
                getattr(new, name).copy_(torch.cat([getattr(m, name) for m in members]))
        return new


class SpatialRNN(_Ensemble):
    """Leaky ReLU (or tanh) RNN whose hidden units have positions in space; K members at once.

    ``h_{t+1} = (1 - alpha) h_t + alpha * f(x_t W_in + h_t (W_rec * M) + b + noise)``, readout
    ``h_t W_out + b_out``. ``M`` is a fixed binary mask (dense, planted modules, generative model or
    connectome wiring: see :mod:`mesoscale.training.priors`); masked weights are zero and stay zero.

    Parameters
    ----------
    n_input, n_hidden, n_output : int
    n_members : int
        Ensemble size K.
    positions : array (n_hidden, d), optional
        Unit positions; default :func:`grid_positions` (100 units -> 5 x 5 x 4 grid).
    mask : array (n, n) or (K, n, n), optional
        Recurrent mask (non-zero = allowed); default dense without self-connections.
    input_mask : array (n_input, n_hidden) or (K, n_input, n_hidden), optional
        Which inputs reach which units (e.g. one input modality per module, as in Béna & Goodman);
        default all.
    alpha : float
        ``dt / tau`` in (0, 1]; 1 gives a vanilla RNN.
    activation : {"relu", "tanh"}
    gain : float
        Recurrent weights start as ``N(0, gain^2 / fan_in)`` with ``fan_in`` the mask's mean in-degree.
    readout_groups : array (n_hidden,) of int, optional
        Module readouts (Béna & Goodman 2025): group ``g`` has its own readout of ``n_output`` classes
        that reads only the units labelled ``g``, and at each step the group whose readout is most
        confident (largest logit) decides. Default: one readout of all units.
    seed : int, sequence of K ints, SeedSequence or Generator
        Member ``k`` is initialised from ``member_seeds(seed, K)[k]`` only.

    Notes
    -----
    Each member keeps a ``slot`` per unit (buffer ``slot``, (K, n)): unit ``i`` of member ``k`` sits
    at ``positions[slot[k, i]]``. Slots start as the identity; BIMT's neuron swaps
    (:meth:`~mesoscale.training.regularizers.Regularizer.after_step`) exchange them, which moves
    units without touching their weights (:meth:`member_distances`).

    Examples
    --------
    >>> net = SpatialRNN(4, 8, 2, n_members=3, mask=~np.eye(8, dtype=bool), alpha=0.5, seed=0)
    >>> logits, hidden = net(torch.zeros(5, 6, 4))
    >>> logits.shape, hidden.shape, net.effective_weights().shape
    (torch.Size([3, 5, 6, 2]), torch.Size([3, 5, 6, 8]), torch.Size([3, 8, 8]))
    >>> one = net.member(1)
    >>> one.n_members, bool(torch.equal(one.w_rec[0], net.w_rec[1]))
    (1, True)

    Two modules with their own readouts; the more confident one decides:

    >>> mod = SpatialRNN(4, 8, 3, readout_groups=[0, 0, 0, 0, 1, 1, 1, 1], seed=0)
    >>> mod.w_out.shape, mod(torch.zeros(2, 1, 4))[0].shape
    (torch.Size([1, 8, 6]), torch.Size([1, 2, 1, 3]))
    """

    def __init__(self, n_input: int, n_hidden: int, n_output: int, *, n_members: int = 1, positions=None,
                 mask=None, input_mask=None, alpha: float = 0.2, activation: str = "relu", gain: float = 0.9,
                 readout_groups=None, seed=None):
        super().__init__()
        self.n_input = check_int(n_input, "n_input", minimum=1)
        self.n_hidden = n = check_int(n_hidden, "n_hidden", minimum=1)
        self.n_output = check_int(n_output, "n_output", minimum=1)
        self.n_members = K = check_int(n_members, "n_members", minimum=1)
        self.alpha = check_float(alpha, "alpha", minimum=1e-6, maximum=1.0)
        self.activation = check_choice(activation, "activation", ("relu", "tanh"))
        self.gain = check_float(gain, "gain", minimum=0.0)
        pos = grid_positions(n) if positions is None else np.asarray(positions, dtype=float)
        if pos.ndim != 2 or pos.shape[0] != n:
            raise ValueError(f"'positions' must have shape ({n}, d); got {pos.shape}")
        self.positions = pos
        self.seeds = member_seeds(seed, K)
        if mask is None:
            mask = 1.0 - np.eye(n)
        self.register_buffer("mask", _mask_tensor(mask, K, n, n))
        self.register_buffer("dist", torch.as_tensor(distance_matrix(pos), dtype=torch.float32))
        self.register_buffer("in_mask", _mask_tensor(input_mask, K, self.n_input, n, "input_mask"))
        self.register_buffer("slot", torch.arange(n).repeat(K, 1))
        self.readout_groups = None
        self.n_groups = 1
        if readout_groups is not None:
            g = np.asarray(readout_groups)
            if g.shape != (n,) or not np.issubdtype(g.dtype, np.integer) or g.min() < 0:
                raise ValueError(f"'readout_groups' must be {n} non-negative integer labels; got {np.shape(readout_groups)}")
            self.readout_groups = g.astype(np.int64)
            self.n_groups = int(g.max()) + 1
        C = self.n_output
        out_mask = np.ones((n, self.n_groups * C), dtype=bool)
        if self.readout_groups is not None:
            out_mask = self.readout_groups[:, None] == np.repeat(np.arange(self.n_groups), C)[None, :]
        self.register_buffer("out_mask", _mask_tensor(out_mask, K, n, self.n_groups * C, "readout_groups"))
        self._masked = [("w_rec", "mask"), ("w_in", "in_mask"), ("w_out", "out_mask")]
        self._readout = ("w_out", "b_out")
        self._readout_mask = "out_mask"

        w_in, w_rec, w_out = [], [], []
        for k, s in enumerate(self.seeds):
            rng = as_rng(s)
            fan = max(float(self.mask[k].sum(0).mean()), 1.0)
            w_in.append(rng.standard_normal((self.n_input, n)) / np.sqrt(self.n_input))
            w_rec.append(rng.standard_normal((n, n)) * self.gain / np.sqrt(fan))
            w_out.append(rng.standard_normal((n, self.n_groups * C)) / np.sqrt(n / self.n_groups))
        f32 = lambda a: torch.as_tensor(np.stack(a), dtype=torch.float32)  # noqa: E731
        self.w_in = nn.Parameter(f32(w_in) * self.in_mask)
        self.w_rec = nn.Parameter(f32(w_rec) * self.mask)
        self.b = nn.Parameter(torch.zeros(K, 1, n))
        self.w_out = nn.Parameter(f32(w_out) * self.out_mask)
        self.b_out = nn.Parameter(torch.zeros(K, 1, self.n_groups * C))

    def _clone_config(self, n_members, seed):
        mask = self.mask[0].cpu().numpy()  # member()/stack() overwrite the buffers with the right masks
        return SpatialRNN(self.n_input, self.n_hidden, self.n_output, n_members=n_members,
                          positions=self.positions, mask=mask, input_mask=self.in_mask[0].cpu().numpy(),
                          alpha=self.alpha, activation=self.activation, gain=self.gain,
                          readout_groups=self.readout_groups, seed=seed)

    def _drop_readout_groups(self, n_output: int) -> None:
        """After :meth:`with_new_readout`: one common readout of ``n_output`` classes."""
        self.readout_groups, self.n_groups = None, 1

    def effective_weights(self) -> torch.Tensor:
        """Recurrent weights as used in the forward pass, ``W_rec * M``, shape (K, n, n)."""
        return self.w_rec * self.mask

    def member_distances(self) -> torch.Tensor:
        """Distance between the units' current slots, per member: (K, n, n).

        Examples
        --------
        >>> net = SpatialRNN(2, 3, 2, positions=[[0, 0, 0], [1, 0, 0], [3, 0, 0]], seed=0)
        >>> net.slot[0] = torch.tensor([2, 1, 0])  # units 0 and 2 swapped places
        >>> net.member_distances()[0, 0].tolist()
        [0.0, 2.0, 3.0]
        """
        s = self.slot
        return self.dist[s[:, :, None], s[:, None, :]]

    def reg_terms(self):
        """Weight matrices subject to wiring-cost regularisation, with their distance matrices."""
        return [(self.effective_weights(), self.member_distances())]

    def forward(self, x, *, unit_mask=None, rec_noise: float = 0.0, input_noise: float = 0.0,
                generators=None, w_rec=None):
        """Run all members on inputs ``x`` (B, T, I) (shared) or (K, B, T, I).

        Parameters
        ----------
        unit_mask : tensor (K, n) or (n,), optional
            Multiplies the hidden state (0 = lesioned unit).
        rec_noise, input_noise : float
            Standard deviations of Gaussian noise added to the recurrent drive / the inputs.
        generators : list of K torch.Generator, optional
            One noise stream per member (so ensemble noise equals separate runs' noise).
        w_rec : tensor (K, n, n), optional
            Use these recurrent weights instead of :meth:`effective_weights` (for connection lesions).

        Returns
        -------
        logits : tensor (K, B, T, n_output)
        hidden : tensor (K, B, T, n_hidden)
        """
        K, n = self.n_members, self.n_hidden
        if x.ndim == 3 and x.shape[-1] == self.n_input and not input_noise:
            # inputs shared by all members: one (B*T, I) x (I, K*n) product
            B, T, _ = x.shape
            w = (self.w_in * self.in_mask).permute(1, 0, 2).reshape(self.n_input, K * n)
            drive = (x.reshape(B * T, -1) @ w.to(x.dtype)).reshape(B, T, K, n).permute(2, 0, 1, 3)
        else:
            if x.ndim == 3:
                x = x.unsqueeze(0).expand(K, *x.shape)
            if x.ndim != 4 or x.shape[0] != K or x.shape[-1] != self.n_input:
                raise ValueError(f"'x' must have shape (B, T, {self.n_input}) or ({K}, B, T, {self.n_input}); "
                                 f"got {tuple(x.shape)}")
            _, B, T, _ = x.shape
            if input_noise:
                x = x + input_noise * _noise(x.shape, generators, x)
            drive = torch.einsum("kbti,kin->kbtn", x, self.w_in * self.in_mask)
        drive = drive + self.b.unsqueeze(2)
        if rec_noise:
            drive = drive + rec_noise * np.sqrt(2.0 / self.alpha) * _noise(drive.shape, generators, drive)
        W = self.effective_weights() if w_rec is None else w_rec
        act = torch.relu if self.activation == "relu" else torch.tanh
        um = None
        if unit_mask is not None:
            um = torch.as_tensor(unit_mask, dtype=drive.dtype, device=drive.device)
            um = um.expand(K, n).unsqueeze(1)
        h = torch.zeros(K, B, n, dtype=drive.dtype, device=drive.device)
        hs = []
        for d_t in drive.unbind(2):  # unbind: one backward node for all steps (indexing would cost O(T^2))
            h = (1 - self.alpha) * h + self.alpha * act(d_t + torch.bmm(h, W.to(h.dtype)))
            if um is not None:
                h = h * um
            hs.append(h)
        hidden = torch.stack(hs, dim=2)
        w_out = (self.w_out * self.out_mask).to(hidden.dtype)
        logits = torch.einsum("kbtn,kno->kbto", hidden, w_out) + self.b_out.unsqueeze(2)
        if self.n_groups > 1:  # the most confident module readout decides (no gradient through the choice)
            lg = logits.reshape(*logits.shape[:-1], self.n_groups, self.n_output)
            pick = lg.detach().amax(-1).argmax(-1)  # (K, B, T)
            logits = torch.gather(lg, -2, pick[..., None, None].expand(*pick.shape, 1, self.n_output)).squeeze(-2)
        return logits, hidden


def _noise(shape, generators, like):
    """Standard normal noise of ``shape`` (K, ...); member k drawn from ``generators[k]`` if given."""
    if generators is None:
        return torch.randn(shape, dtype=like.dtype, device=like.device)
    return torch.stack([torch.randn(shape[1:], generator=g, device=like.device).to(like.dtype)
                        for g in generators])


class SpatialMLP(_Ensemble):
    """Multilayer perceptron whose units have positions (BIMT-style layout); K members at once.

    Layer ``l`` (inputs are layer 0) lies in the plane ``z = l``; its units are spread evenly along
    ``x`` in [-1, 1] (``y = 0``), so a weight's length is the distance between the units it connects, as in
    Liu et al. 2023. The input at each time step is processed independently (no recurrence), so the MLP runs
    on the same tasks as the RNN; ``hidden`` returned by :meth:`forward` is the last hidden layer.

    Parameters
    ----------
    n_input, n_output : int
    hidden : sequence of int
        Hidden layer sizes.
    masks : sequence of arrays, optional
        One (fan_in, fan_out) mask per weight matrix (None = dense).
    layer_spacing : float
        Distance between consecutive layers.

    Examples
    --------
    >>> mlp = SpatialMLP(4, 2, hidden=(8, 6), n_members=3, seed=0)
    >>> logits, hidden = mlp(torch.zeros(5, 2, 4))
    >>> logits.shape, hidden.shape, len(mlp.reg_terms())
    (torch.Size([3, 5, 2, 2]), torch.Size([3, 5, 2, 6]), 3)
    """

    def __init__(self, n_input: int, n_output: int, hidden=(64,), *, n_members: int = 1, masks=None,
                 layer_spacing: float = 1.0, seed=None):
        super().__init__()
        self.n_input = check_int(n_input, "n_input", minimum=1)
        self.n_output = check_int(n_output, "n_output", minimum=1)
        self.hidden = tuple(check_int(h, "hidden", minimum=1) for h in hidden)
        if not self.hidden:
            raise ValueError("'hidden' must name at least one hidden layer")
        self.n_hidden = self.hidden[-1]
        self.n_members = K = check_int(n_members, "n_members", minimum=1)
        self.layer_spacing = check_float(layer_spacing, "layer_spacing", minimum=0.0)
        self.seeds = member_seeds(seed, K)
        sizes = (self.n_input, *self.hidden, self.n_output)
        self.layer_positions = [
            np.stack([np.linspace(-1, 1, s) if s > 1 else np.zeros(1), np.zeros(s), np.full(s, l * layer_spacing)], 1)
            for l, s in enumerate(sizes)
        ]
        masks = [None] * (len(sizes) - 1) if masks is None else list(masks)
        if len(masks) != len(sizes) - 1:
            raise ValueError(f"'masks' must have {len(sizes) - 1} entries; got {len(masks)}")
        self._masks_arg = masks
        self._masked = []
        rngs = [as_rng(s) for s in self.seeds]
        for l in range(len(sizes) - 1):
            a, b = sizes[l], sizes[l + 1]
            self.register_buffer(f"mask{l}", _mask_tensor(masks[l], K, a, b, f"masks[{l}]"))
            d = distance_matrix(self.layer_positions[l], self.layer_positions[l + 1])
            self.register_buffer(f"dist{l}", torch.as_tensor(d, dtype=torch.float32))
            w = np.stack([r.standard_normal((a, b)) / np.sqrt(a) for r in rngs])
            setattr(self, f"w{l}", nn.Parameter(torch.as_tensor(w, dtype=torch.float32) * getattr(self, f"mask{l}")))
            setattr(self, f"b{l}", nn.Parameter(torch.zeros(K, 1, b)))
            self._masked.append((f"w{l}", f"mask{l}"))
        self.n_layers = len(sizes) - 1
        self._readout = (f"w{self.n_layers - 1}", f"b{self.n_layers - 1}")
        self._readout_mask = f"mask{self.n_layers - 1}"

    def _reset_output_geometry(self):
        L = self.n_layers
        s = self.n_output
        self.layer_positions[L] = np.stack(
            [np.linspace(-1, 1, s) if s > 1 else np.zeros(1), np.zeros(s), np.full(s, L * self.layer_spacing)], 1)
        d = distance_matrix(self.layer_positions[L - 1], self.layer_positions[L])
        setattr(self, f"dist{L - 1}", torch.as_tensor(d, dtype=torch.float32, device=getattr(self, f"w{L - 1}").device))

    def _clone_config(self, n_members, seed):
        masks = [getattr(self, f"mask{l}")[0].cpu().numpy() for l in range(self.n_layers)]
        return SpatialMLP(self.n_input, self.n_output, self.hidden, n_members=n_members, masks=masks,
                          layer_spacing=self.layer_spacing, seed=seed)

    def reg_terms(self):
        return [(getattr(self, f"w{l}") * getattr(self, f"mask{l}"), getattr(self, f"dist{l}"))
                for l in range(self.n_layers)]

    def forward(self, x, *, unit_mask=None, rec_noise: float = 0.0, input_noise: float = 0.0,
                generators=None, w_rec=None):
        """Same signature and outputs as :meth:`SpatialRNN.forward` (``rec_noise`` perturbs hidden layers)."""
        K = self.n_members
        if x.ndim == 3:
            x = x.unsqueeze(0).expand(K, *x.shape)
        if x.ndim != 4 or x.shape[0] != K or x.shape[-1] != self.n_input:
            raise ValueError(f"'x' must have shape (B, T, {self.n_input}) or ({K}, B, T, {self.n_input}); "
                             f"got {tuple(x.shape)}")
        _, B, T, _ = x.shape
        h = x.reshape(K, B * T, -1)
        if input_noise:
            h = h + input_noise * _noise(h.shape, generators, h)
        for l in range(self.n_layers):
            W = getattr(self, f"w{l}") * getattr(self, f"mask{l}")
            h = torch.baddbmm(getattr(self, f"b{l}").to(h.dtype), h, W.to(h.dtype))
            if l < self.n_layers - 1:
                if rec_noise:
                    h = h + rec_noise * _noise(h.shape, generators, h)
                h = torch.relu(h)
                if l == self.n_layers - 2:
                    if unit_mask is not None:
                        um = torch.as_tensor(unit_mask, dtype=h.dtype, device=h.device)
                        h = h * um.expand(K, self.n_hidden).unsqueeze(1)
                    hidden = h
        return h.reshape(K, B, T, -1), hidden.reshape(K, B, T, -1)
