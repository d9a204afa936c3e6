"""mesoscale: why, where and when modularity emerges in biological and artificial neural networks.

Subpackages (import the ones you need; heavy ones such as :mod:`mesoscale.training`
pull in torch only when imported):

``connectomes``  real connectomes as one validated :class:`Connectome` type
``metrics``      mesoscale metrics (bctpy), consensus communities, null models, KS energies
``generative``   generative network models: wiring rules, growth, fitting
``theory``       analytic models and phase-transition detection
``training``     PyTorch training framework with spatial and wiring priors
``ebm``          energy-based networks with local learning rules
``sweep``        persistent, resumable parameter sweeps on Dask
``provenance``   what an executed notebook or result records about how it was made
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
