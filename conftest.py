"""pytest setup shared by tests/ and the docstring examples collected from src/mesoscale."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")  # figures render off-screen everywhere

import pytest


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures each test or example made, so hundreds of them never pile up."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
