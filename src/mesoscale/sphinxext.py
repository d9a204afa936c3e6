"""Sphinx extension that makes the book render offline and load cleanly.

1. **Mathematics without a CDN.**
Jupyter Book loads MathJax from a CDN by default, so equations stay raw LaTeX when the book
is built or read without internet. This extension serves MathJax 3 from the book itself:
it takes the files shipped by the PyPI package ``django-static-mathjax`` (plain static files,
no Django needed), copies the CommonHTML build into ``_static/mathjax/`` and points
``mathjax_path`` at it.

2. **Each script once.** sphinx-thebe (pulled in by Jupyter Book 1.x) registers its inline
configuration script on every ``env-before-read-docs`` event, which fires more than once in
a Jupyter Book build; the second copy re-declares ``const THEBE_JS_URL`` and raises a
``SyntaxError`` in the browser. Duplicate script entries are dropped from every page.

Enable it in ``_config.yml``::

    sphinx:
      extra_extensions: [mesoscale.sphinxext]
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

#: Parts of MathJax's es5 build that the CommonHTML TeX renderer loads (lazily, for extensions
#: such as \boldsymbol, and for the accessibility menu).
_PARTS = ("tex-chtml.js", "input", "output/chtml", "ui", "a11y", "adaptors", "sre")


def mathjax_source() -> Path:
    """The folder holding MathJax 3's ``es5`` build (from the ``django-static-mathjax`` package)."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "MathJax files not found: install the PyPI package 'django-static-mathjax' "
            "(a dependency of mesoscale) to render equations offline"
        )
    es5 = Path(spec.submodule_search_locations[0]) / "static" / "mathjax" / "es5"
    if not (es5 / "tex-chtml.js").exists():
        raise RuntimeError(f"MathJax files are incomplete: {es5 / 'tex-chtml.js'} is missing")
    return es5


def _stage(app, config) -> None:
    es5 = mathjax_source()
    staging = Path(tempfile.mkdtemp(prefix="mesoscale-mathjax-"))
    target = staging / "mathjax"
    for part in _PARTS:
        src = es5 / part
        if src.is_dir():
            shutil.copytree(src, target / part)
        elif src.exists():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / part)
    config.html_static_path = [*config.html_static_path, str(staging)]
    config.mathjax_path = "mathjax/tex-chtml.js"


def _script_key(script) -> tuple:
    # Inline scripts are registered with filename None by some extensions and '' by others.
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (str(filename), tuple(sorted((str(k), str(v)) for k, v in attributes.items())))


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("config-inited", _stage, priority=900)
    app.connect("html-page-context", _dedupe_scripts, priority=1000)  # after every other handler
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
