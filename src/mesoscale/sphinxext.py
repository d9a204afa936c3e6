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

3. **Buttons that lead somewhere.** The repository is one setting, ``repository.url`` in
``_config.yml``. Empty (the default), the book shows no repository, issue or launch buttons. Set,
it turns on the repository and issue buttons and the launch buttons, and points the launch
buttons of every chapter at the committed source notebook ``notebooks/<chapter>.ipynb`` -- the
executed copy in ``book/`` is generated, not committed, so a Binder or Colab session would not
find it.

Enable it in ``_config.yml``::

    sphinx:
      extra_extensions: [mesoscale.sphinxext]
"""

from __future__ import annotations

import importlib.util
import posixpath
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


#: Hosts whose repositories sphinx-book-theme knows how to link to (and which launch services accept).
_PROVIDERS = {"github.com": "github", "gitlab.com": "gitlab", "bitbucket.org": "bitbucket"}
_BUTTONS = ("use_repository_button", "use_issues_button", "use_edit_page_button", "use_source_button")


def configure_repository_buttons(theme_options: dict) -> dict:
    """Turn the repository and launch buttons on or off from the one setting ``repository_url``.

    Returns the updated theme options (the dictionary is changed in place too).

    Examples
    --------
    >>> configure_repository_buttons({"repository_url": "", "launch_buttons": {"binderhub_url": "x"}})
    {'repository_url': '', 'launch_buttons': {}, 'use_repository_button': False, 'use_issues_button': False, 'use_edit_page_button': False, 'use_source_button': False}
    >>> opts = configure_repository_buttons({"repository_url": "https://github.com/lab/mesoscale"})
    >>> opts["use_repository_button"], opts["use_issues_button"]
    (True, True)
    """
    url = str(theme_options.get("repository_url") or "").strip().rstrip("/")
    if not url:
        theme_options["launch_buttons"] = {}
        for key in _BUTTONS:
            theme_options[key] = False
        return theme_options
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    provider = theme_options.get("repository_provider") or _PROVIDERS.get(host)
    if provider is None:
        raise ValueError(
            f"repository.url {url!r} is not on {', '.join(_PROVIDERS)}: set "
            "sphinx.config.html_theme_options.repository_provider in _config.yml to its provider"
        )
    theme_options["repository_url"] = url
    # Jupyter Book's defaults switch these off explicitly; the URL is the one switch that turns them on.
    theme_options["use_repository_button"] = True
    theme_options["use_issues_button"] = True
    launch = dict(theme_options.get("launch_buttons") or {})
    if provider != "github":  # Colab opens notebooks from GitHub only
        launch.pop("colab_url", None)
    theme_options["launch_buttons"] = launch
    return theme_options


def _repository_buttons(app, config) -> None:
    configure_repository_buttons(config.html_theme_options)


def source_notebook_links(header_buttons: list, pagename: str, root: str | Path, path_to_book: str = "") -> list:
    """Point launch-button links of a chapter page at its committed source in ``notebooks/``.

    ``pagename`` is the Sphinx page (``book/04_fitting_connectomes``) and ``path_to_book`` the
    book's folder inside the repository (``repository.path_to_book``); a link is changed only
    when ``<root>/notebooks/<name>.ipynb`` exists.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()); (root / "notebooks").mkdir()
    >>> _ = (root / "notebooks" / "01_x.ipynb").write_text("{}")
    >>> group = {"label": "launch-buttons", "buttons": [
    ...     {"url": "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/./book/01_x.ipynb"}]}
    >>> source_notebook_links([group], "book/01_x", root, path_to_book=".")[0]["buttons"][0]["url"]
    'https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/notebooks/01_x.ipynb'
    """
    name = Path(pagename).name
    if not (Path(root) / "notebooks" / f"{name}.ipynb").exists():
        return header_buttons
    prefix = path_to_book.strip("/")
    prefix = f"{prefix}/" if prefix else ""
    generated = f"{prefix}{pagename}.ipynb"  # how sphinx-book-theme spells the page's path in the repository
    source = posixpath.normpath(f"{prefix}notebooks/{name}.ipynb")
    for group in header_buttons:
        if isinstance(group, dict) and group.get("label") == "launch-buttons":
            for button in group.get("buttons", []):
                if "url" in button:
                    button["url"] = button["url"].replace(generated, source)
    return header_buttons


def _launch_from_sources(app, pagename, templatename, context, doctree) -> None:
    buttons = context.get("header_buttons")
    if buttons:
        path_to_book = str(app.config.html_theme_options.get("path_to_docs", "") or "")
        source_notebook_links(buttons, pagename, app.srcdir, path_to_book)


def setup(app):
    app.connect("config-inited", _stage, priority=900)
    app.connect("config-inited", _repository_buttons, priority=900)
    app.connect("html-page-context", _launch_from_sources, priority=600)  # after the theme's launch buttons
    app.connect("html-page-context", _dedupe_scripts, priority=1000)  # after every other handler
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
