"""Dataset names, :func:`load` and :func:`list_datasets`."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from .._validation import check_choice
from . import _cache, celegans, graspologic_data, human
from ._core import Connectome, ConnectomeDataError

__all__ = ["load", "list_datasets", "dataset_names", "MOUSE_SUBJECTS", "clear_memory_cache"]

#: The 32 subjects of Wang et al. 2020 as shipped by graspologic (dataset ``mouse_dti_<id>``).
MOUSE_SUBJECTS = (
    "54776", "54777", "54779", "54781", "54790", "54793", "54794", "54797",
    "54811", "54813", "54815", "54817", "54821", "54823", "54829", "54831",
    "54833", "54835", "54842", "54847", "54849", "54851", "54853", "54855",
    "54864", "54866", "54868", "54870", "54883", "54885", "54887", "54890",
)  # fmt: skip

_CELLS = ("neurons", "all")


def _worm(name):
    def build(*, cells: str = "neurons"):
        check_choice(cells, "cells", _CELLS)
        return celegans.build(name, cells=cells)

    return build


def _human(name):
    def build(*, symmetrize: bool = True):
        if not isinstance(symmetrize, bool):
            raise TypeError(f"'symmetrize' must be True or False; got {symmetrize!r}")
        return human.build(name, symmetrize=symmetrize)

    return build


def _fly(name):
    def build():
        return graspologic_data.build_fly(name)

    return build


def _mouse(name):
    def build():
        return graspologic_data.build_mouse(name)

    return build


_BUILDERS: dict[str, Callable[..., Connectome]] = {}
for _n in celegans.DATASETS:
    _BUILDERS[_n] = _worm(_n)
for _n in human.DATASETS:
    _BUILDERS[_n] = _human(_n)
for _n in ("fly_larva_mb_left", "fly_larva_mb_right"):
    _BUILDERS[_n] = _fly(_n)
for _s in MOUSE_SUBJECTS:
    _BUILDERS[f"mouse_dti_{_s}"] = _mouse(f"mouse_dti_{_s}")

_MEMORY: dict[tuple, Connectome] = {}


def dataset_names(species: str | None = None) -> list[str]:
    """All dataset names (the public contract), optionally those whose name starts with ``species``.

    Examples
    --------
    >>> dataset_names("celegans")[:2]
    ['celegans_witvliet_1', 'celegans_witvliet_2']
    >>> len(dataset_names("mouse"))
    32
    """
    names = list(_BUILDERS)
    if species is not None:
        names = [n for n in names if n.startswith(species)]
    return names


def clear_memory_cache() -> None:
    """Forget the connectomes kept in memory by :func:`load` (the disk cache stays).

    Examples
    --------
    >>> c = load("human_dk68")
    >>> clear_memory_cache()  # the next load reads the disk cache (or rebuilds) instead of memory
    >>> d = load("human_dk68")
    >>> d is c, d.n == c.n, bool((d.binary() == c.binary()).all())
    (False, True, True)
    """
    _MEMORY.clear()


def _options_of(name: str, options: dict) -> dict:
    builder = _BUILDERS[name]
    params = inspect.signature(builder).parameters
    unknown = sorted(set(options) - set(params))
    if unknown:
        allowed = sorted(params) or "none"
        raise TypeError(f"load({name!r}) got unknown option(s) {unknown}; options for this dataset: {allowed}")
    full = {k: p.default for k, p in params.items()}
    full.update(options)
    return full


def load(name: str, *, cache: bool = True, **options) -> Connectome:
    """Load a connectome by name.

    Parameters
    ----------
    name : str
        One of :func:`dataset_names` -- ``celegans_witvliet_1`` ... ``celegans_witvliet_8``,
        ``celegans_cook2019_herm``, ``celegans_varshney2011``, ``celegans_white1986``,
        ``human_dk68``, ``human_hagmann66``, ``fly_larva_mb_left``, ``fly_larva_mb_right``,
        ``mouse_dti_<subject>`` (see ``MOUSE_SUBJECTS``).
    cache : bool, default True
        Keep assembled connectomes in memory and in the on-disk cache
        (``$MESOSCALE_CACHE`` or ``~/.cache/mesoscale``); ``False`` rebuilds from the
        package files and writes nothing.
    **options
        Dataset-specific options:

        * C. elegans: ``cells="neurons"`` (cect's 302-neuron list; default) or ``"all"``
          (every cell of the dataset, including muscles and other cells; those have no
          position).
        * ``human_hagmann66``: ``symmetrize=True`` averages the slightly asymmetric weights
          (``False`` keeps them and marks the layer directed). ``human_dk68`` accepts the
          option but its weights are already symmetric.

    Returns
    -------
    Connectome
        A fresh copy: modifying it does not affect later loads.

    Raises
    ------
    ValueError
        Unknown ``name`` (the message lists the valid names) or a bad option value;
        :class:`ConnectomeDataError` (a ``ValueError``) when the source data are malformed.
    TypeError
        An option the dataset does not take.
    GraspologicMissingError
        (an ``ImportError``) for fly/mouse datasets when graspologic is not installed.

    Examples
    --------
    >>> c = load("celegans_witvliet_8")
    >>> c.n, c.stage, c.age, c.age_unit
    (180, 'adult', 50.0, 'h after birth')
    >>> c.binary().shape
    (180, 180)
    """
    if not isinstance(name, str):
        raise TypeError(f"'name' must be a dataset name (str); got {name!r}")
    if name not in _BUILDERS:
        raise ValueError(f"unknown dataset {name!r}; valid names are: {', '.join(_BUILDERS)}")
    opts = _options_of(name, options)
    if name.startswith(("fly_", "mouse_")):
        graspologic_data.require()  # clear install message even when a cached copy exists
    key = (name, tuple(sorted(opts.items())))
    if cache and key in _MEMORY:
        return _MEMORY[key].copy()
    path = _cache.cache_path(name, opts) if cache else None
    c = _cache.read(path) if cache else None
    if c is None:
        c = _BUILDERS[name](**opts)
        if cache:
            _cache.write(path, c)
    if cache:
        _MEMORY[key] = c
        return c.copy()
    return c


def list_datasets(species: str | None = None, *, progress: bool = False):
    """A table of every dataset: what it is, its size and where it comes from.

    Each dataset is loaded once with default options (cached afterwards, so the first
    call takes a few seconds and later ones well under a second).

    Parameters
    ----------
    species : str, optional
        Keep datasets whose name starts with this prefix (``"celegans"``, ``"human"``,
        ``"fly"``, ``"mouse"``).
    progress : bool, default False
        Show a progress bar while loading.

    Returns
    -------
    pandas.DataFrame
        One row per dataset, columns ``name, species, stage, age, age_unit, n_nodes,
        n_edges`` (undirected edges of ``binary()``), ``density, layers, directed,
        weighted, positions, citation, licence, available``. Datasets whose optional
        package is missing are listed with ``available=False`` and empty sizes.

    Examples
    --------
    >>> t = list_datasets("celegans")
    >>> t.loc[t.name == "celegans_cook2019_herm", ["n_nodes", "n_edges"]].values.tolist()
    [[302, 3517]]
    """
    import pandas as pd
    from tqdm.auto import tqdm

    rows = []
    for name in tqdm(dataset_names(species), desc="datasets", disable=not progress):
        try:
            row = load(name).summary()
            row["available"] = True
        except graspologic_data.GraspologicMissingError:
            row = {"name": name, "available": False}
        rows.append(row)
    cols = ["name", "species", "stage", "age", "age_unit", "n_nodes", "n_edges", "density", "layers",
            "directed", "weighted", "positions", "citation", "licence", "available"]
    return pd.DataFrame(rows, columns=cols)


__all__ += ["ConnectomeDataError"]
