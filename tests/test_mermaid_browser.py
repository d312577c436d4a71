"""Every Mermaid diagram in the lessons renders in a real JupyterLab (headless chromium): an SVG image per ```mermaid
block, none shown as a syntax warning. GitHub renders the same blocks; JupyterLab 4 uses the same library."""

from __future__ import annotations

import re

import nbformat
import pytest

from .browser.lab import JupyterLab, chromium, copy_notebook
from .conftest import ROOT
from .test_lessons_browser import forget_lesson
from .test_notebooks import LESSONS

pytestmark = pytest.mark.browser

MERMAID = re.compile(r"^```mermaid\s*$", re.M)
# the open notebook only: Lab restores the other lessons' tabs, hidden but still in the page


def diagrams(name: str) -> int:
    path = ROOT / "notebooks" / f"{name}.ipynb"
    if not path.exists():
        return 0
    nb = nbformat.read(path, as_version=4)
    return sum(len(MERMAID.findall("".join(c.source))) for c in nb.cells if c.cell_type == "markdown")


WITH_DIAGRAMS = [name for name in LESSONS if diagrams(name)]


@pytest.fixture(scope="module")
def lab():
    root = ROOT / "artifacts" / "mermaid"  # git-ignored; lessons look upward for the repo's files
    root.mkdir(parents=True, exist_ok=True)
    for name in WITH_DIAGRAMS:
        copy_notebook(ROOT / "notebooks" / f"{name}.ipynb", root)
    with JupyterLab(root, name="mermaid") as running:
        yield running


@pytest.fixture(scope="module")
def browser(lab):
    with chromium() as running:
        yield running


def test_the_event_sequence_is_drawn():
    assert "02_raw_events" in WITH_DIAGRAMS, "02 draws a stream's events as a sequence diagram"


@pytest.mark.parametrize("name", WITH_DIAGRAMS)
def test_every_diagram_renders(name, lab, browser):
    notebook = lab.open(browser, f"{name}.ipynb")
    try:
        expected = diagrams(name)
        page = notebook.page
        page.wait_for_function(
            "n => { const DRAWN = 'svg, img[src^=\"data:image/svg+xml\"]'; return document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMermaid').length >= n "
            "&& [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMermaid')]"
            ".every(e => e.querySelector(DRAWN) || e.classList.contains('jp-mod-warning')); }",
            arg=expected,
            timeout=60_000,
        )
        rendered = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMermaid")
        assert rendered.count() == expected
        warnings = page.locator(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMermaid.jp-mod-warning"
        ).all_text_contents()
        assert not warnings, f"{name}: a diagram did not parse: {warnings}"
        for i in range(expected):
            drawn = rendered.nth(i).locator('svg, img[src^="data:image/svg+xml"]').count()  # Lab 4 inlines an <img>
            assert drawn >= 1, f"{name}: diagram {i + 1} was not drawn"
        notebook.screenshot(f"mermaid-{name}", ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMermaid")
    finally:
        notebook.page.context.close()
        forget_lesson(lab)  # its kernel and its tab: the next lesson opens alone
