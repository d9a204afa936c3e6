"""Documentation as a contract: every public function and class shows a runnable example.

The examples themselves run in the suite (``--doctest-modules`` over ``src/mesoscale``, set in
pyproject.toml); this test makes sure none is missing.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import mesoscale

#: Modules that are not part of the documented library API.
NOT_API = {"mesoscale.cli", "mesoscale.sphinxext"}


def _modules():
    yield mesoscale
    for info in pkgutil.walk_packages(mesoscale.__path__, prefix="mesoscale."):
        name = info.name
        if any(part.startswith("_") for part in name.split(".")[1:]) or name in NOT_API:
            continue
        yield importlib.import_module(name)


def public_objects():
    """(qualified name, object) for every public function or class the package defines."""
    seen = {}
    for module in _modules():
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name, None)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if not getattr(obj, "__module__", "").startswith("mesoscale"):
                continue  # re-exported from numpy, typing, ...
            seen.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return seen


def missing_examples(objects: dict) -> list[str]:
    """The names of the objects whose docstring shows no ``>>>`` example."""
    return sorted(name for name, obj in objects.items() if ">>>" not in (inspect.getdoc(obj) or ""))


#: Public objects that still lack an example (work in progress, issue 13). The list may only shrink: a new
#: public object without an example fails, and so does a listed one that has gained an example.
STILL_WITHOUT_EXAMPLE = set((Path(__file__).with_name("docs_without_examples.txt")).read_text().split())


def test_every_public_function_and_class_has_an_example():
    objects = public_objects()
    assert len(objects) > 100, "the walk found too few public objects: is the package importable?"
    missing = set(missing_examples(objects))
    new = sorted(missing - STILL_WITHOUT_EXAMPLE)
    assert not new, f"{len(new)} public objects without a docstring example:\n" + "\n".join(new)
    fixed = sorted(STILL_WITHOUT_EXAMPLE - missing)
    assert not fixed, "these now have examples (or are gone): remove them from tests/docs_without_examples.txt:\n" + "\n".join(fixed)


def test_missing_examples_are_reported():
    def documented():
        """Add one.

        >>> 1 + 1
        2
        """

    def undocumented():
        """No example here."""

    class Bare:
        pass

    got = missing_examples({"a": documented, "b": undocumented, "c": Bare})
    assert got == ["b", "c"]
