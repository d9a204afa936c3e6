"""Real connectomes as one validated :class:`Connectome` type.

Every dataset is read offline from files shipped in PyPI packages (cect and wormneuroatlas
for *C. elegans*, tvb-data for human, graspologic's data files for fly larva and mouse) and
assembled into a :class:`Connectome`: labels, weight layers, the symmetric 0/1
:meth:`~Connectome.binary` network used by the generative models, positions where known,
node attributes, a BibTeX ``citation`` and the ``licence``.

Examples
--------
>>> from mesoscale import connectomes
>>> worm = connectomes.load("celegans_cook2019_herm")
>>> worm.n, worm.n_edges(), worm.layer_names
(302, 3517, ['chemical', 'gap_junction'])
>>> worm.node_table().columns[:4].tolist()
['label', 'cell_class', 'neuron', 'ganglion']
>>> brain = connectomes.load("human_dk68")
>>> brain.position_unit, brain.distances().shape
('mm', (68, 68))

Dataset names (a public contract, used by scripts and notebook parameters):
``celegans_witvliet_1`` ... ``celegans_witvliet_8``, ``celegans_cook2019_herm``,
``celegans_varshney2011``, ``celegans_white1986``, ``human_dk68``, ``human_hagmann66``,
``fly_larva_mb_left``, ``fly_larva_mb_right``, ``mouse_dti_<subject>``.
"""

from ._cache import cache_dir
from ._core import Connectome, ConnectomeDataError
from ._registry import MOUSE_SUBJECTS, clear_memory_cache, dataset_names, list_datasets, load
from .celegans import WITVLIET_STAGES, witvliet_presence
from .graspologic_data import INSTALL_COMMAND as GRASPOLOGIC_INSTALL_COMMAND
from .graspologic_data import GraspologicMissingError
from .preparation import align_connectomes, binary_at_density, constant_distances

__all__ = [
    "Connectome",
    "ConnectomeDataError",
    "GraspologicMissingError",
    "GRASPOLOGIC_INSTALL_COMMAND",
    "MOUSE_SUBJECTS",
    "WITVLIET_STAGES",
    "cache_dir",
    "clear_memory_cache",
    "dataset_names",
    "list_datasets",
    "load",
    "witvliet_presence",
    "constant_distances",
    "binary_at_density",
    "align_connectomes",
]
