"""End to end: every notebook executes at the smoke profile, the book builds with zero warnings,
and every page renders in a real browser (headless Chromium driven by Playwright)."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest
import yaml

from conftest import ARTIFACTS, ROOT, build_book

pytestmark = [pytest.mark.slow, pytest.mark.book]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Console messages that are known and harmless: sphinx-book-theme 1.3 logs this once on first load
#: (its stored theme mode starts empty).
KNOWN_CONSOLE = ("Got invalid theme mode: . Resetting to auto.",)


def _pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc["parts"]:
        pages += [c["file"] for c in part["chapters"]]
    return pages


def test_every_notebook_executes_with_provenance(smoke_book):
    for src in sorted((ROOT / "notebooks").glob("*.ipynb")):
        out = smoke_book / "book" / src.name
        assert out.exists(), f"{src.stem} was not executed"
        nb = json.loads(out.read_text())
        prov = nb["metadata"]["mesoscale"]["provenance"]
        assert prov["profile"] == "smoke" and prov["git"]["commit"], src.stem
        errors = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]
                  if o.get("output_type") == "error"]
        assert not errors, f"{src.stem} has error outputs"


def test_book_builds_without_warnings(built_book):
    for page in _pages():
        assert (built_book / f"{page}.html").exists(), page


def _chapters() -> list[str]:
    return [p for p in _pages() if (ROOT / "notebooks" / f"{Path(p).name}.ipynb").exists()]


def test_no_buttons_lead_nowhere_without_a_repository(built_book):
    # _config.yml ships with repository.url empty: no repository, issue or launch button may appear.
    assert yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"] == ""
    for page in _pages():
        html = (built_book / f"{page}.html").read_text()
        for marker in ("launch-buttons", "mybinder.org", "colab.research.google.com", "source-repository-button",
                       "issues/new"):
            assert marker not in html, f"{page} shows {marker!r} although no repository is configured"


def test_launch_buttons_open_the_committed_sources(smoke_book, tmp_path):
    config = yaml.safe_load((smoke_book / "_config.yml").read_text())
    config["repository"]["url"] = "https://github.com/example-lab/mesoscale"
    alt = tmp_path / "_config.yml"
    alt.write_text(yaml.safe_dump(config))
    html = build_book(smoke_book, "--config", str(alt), output=tmp_path, log_name="jupyter-book-build-repo.log")
    chapters = _chapters()
    assert len(chapters) >= 8, chapters
    for page in chapters:
        text = (html / f"{page}.html").read_text()
        name = Path(page).name
        binder = f"mybinder.org/v2/gh/example-lab/mesoscale/main?urlpath=lab/tree/notebooks/{name}.ipynb"
        colab = f"colab.research.google.com/github/example-lab/mesoscale/blob/main/notebooks/{name}.ipynb"
        assert binder in text, f"{page}: no Binder link to notebooks/{name}.ipynb"
        assert colab in text, f"{page}: no Colab link to notebooks/{name}.ipynb"
        assert f"tree/{page}.ipynb" not in text and f"blob/main/{page}.ipynb" not in text, page
        assert "https://github.com/example-lab/mesoscale" in text  # the repository button


@pytest.fixture(scope="module")
def server(built_book):
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: `apt-get install chromium` (the browser test needs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield b
        b.close()


@pytest.mark.parametrize("page_path", _pages())
def test_page_renders_in_browser(server, browser, page_path):
    title = yaml.safe_load((ROOT / "_config.yml").read_text())["title"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console, failed = [], []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{server}/{page_path}.html", wait_until="load")
    page.wait_for_load_state("networkidle")

    assert title in page.title(), page.title()
    links = page.eval_on_selector_all("nav.bd-links a.reference.internal", "els => els.map(e => e.getAttribute('href'))")
    assert len(links) >= len(_pages()) - 1, links
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => ({src: e.currentSrc || e.src, ok: e.complete && e.naturalWidth > 0}))"
    )
    broken = [i["src"] for i in images if not i["ok"]]
    assert not broken, f"images that did not load: {broken}"
    if page_path.startswith("book/0"):
        assert images, f"{page_path} is a chapter but shows no figure"

    ARTIFACTS.joinpath("screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "screenshots" / f"{Path(page_path).name}.png"), full_page=False)
    page.close()
    unexpected = [m for m in console if not any(k in m for k in KNOWN_CONSOLE)]
    assert not unexpected, f"console errors on {page_path}: {unexpected}"
    assert not failed, f"failed requests on {page_path}: {failed}"


def test_intro_summarises_every_chapters_findings_and_parameters_are_collapsed(smoke_book, built_book):
    summary = (smoke_book / "book" / "_findings_summary.md").read_text()
    for src in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(src.read_text())
        if any("findings" in c["metadata"].get("tags", []) for c in nb["cells"]):
            assert f"`{src.stem}`" in summary, f"{src.stem}'s findings are missing from the intro summary"
    intro = (built_book / "book" / "intro.html").read_text()
    assert "What this book finds" in intro and "No chapter has been executed" not in intro
    for page in _chapters():
        html = (built_book / f"{page}.html").read_text()
        assert "tag_parameters" in html and "tag_hide-cell" in html, f"{page}: parameters cell not collapsed"
