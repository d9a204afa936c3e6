"""pytest setup shared by tests/ and the docstring examples collected from src/mesoscale."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")  # figures render off-screen everywhere
# One BLAS/torch thread per test process: the suite's tensors are small, and on a 2-core machine running tests in
# parallel, torch's own thread pool only oversubscribes the cores (examples then take 10x longer, at random).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures each test or example made, so hundreds of them never pile up."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
