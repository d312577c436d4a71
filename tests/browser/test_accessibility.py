"""Everyone can use the views: readable in JupyterLab's dark theme (axe's contrast check, and screenshots), announced
to screen readers when an answer completes, and a Playground that works by keyboard alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from .a11y import audit, contrast_failures
from .lab import JupyterLab, chromium, copy_notebook

pytestmark = pytest.mark.browser

DEMO = Path(__file__).with_name("widgets_demo.ipynb")
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
HAIKU = "Write a haiku about debugging."


@pytest.fixture(scope="module", params=sorted(THEMES))
def notebook(request, tmp_path_factory):
    """The demo notebook (every view) run to the end in JupyterLab with the given theme."""
    root = tmp_path_factory.mktemp(f"a11y-{request.param}")
    name = copy_notebook(DEMO, root)
    theme = {"@jupyterlab/apputils-extension/themes": {"theme": THEMES[request.param]}}
    with chromium() as browser, JupyterLab(root, name=f"a11y-{request.param}", settings=theme) as lab:
        # tall enough that every view is on screen: axe's contrast check skips what is scrolled out of view
        notebook = lab.open(browser, name, viewport=(1280, 9000))
        notebook.run_all()
        notebook.wait_until_idle(timeout=120)
        notebook.page.wait_for_function("() => document.querySelectorAll('.cw .cw-md').length >= 3", timeout=30_000)
        notebook.theme = request.param
        yield notebook


def test_the_theme_is_applied(notebook):
    light = notebook.page.evaluate("() => document.body.dataset.jpThemeLight")
    assert light == ("true" if notebook.theme == "light" else "false")


def test_no_serious_violation_in_the_views_contrast_included(notebook):
    for title in ("raw", "tool", "thinking", "paced", "error"):
        notebook.screenshot(f"a11y-{notebook.theme}-{title}", f'.cw[data-title="{title}"]')
    assert audit(notebook.page) == []
    failures = contrast_failures(notebook.page)
    assert failures == [], "\n".join(failures)


def test_a_finished_answer_is_announced_to_screen_readers(notebook):
    live = notebook.page.locator('.cw[data-title="haiku"] [role="status"][aria-live="polite"]')
    assert live.count() == 1 and live.text_content().startswith("haiku complete: ")
    error = notebook.page.locator('.cw[data-title="error"] [role="status"]').text_content()
    assert "error" in error and "Overloaded" in error


def test_the_playground_works_by_keyboard_alone(notebook):
    page = notebook.page
    prompt = page.locator(".cw-playground textarea").first
    prompt.scroll_into_view_if_needed()
    prompt.focus()
    page.keyboard.type(HAIKU)
    for _ in range(20):  # Tab through the controls to Send, as a keyboard user would
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement?.textContent.trim()") == "Send":
            break
    else:
        pytest.fail("Send is not reachable with Tab")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.cw-playground .cw')].some(e => e.dataset.status === 'done')",
        timeout=30_000,
    )
    # nothing runs any more: Stop is disabled again (and grey)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.cw-playground button')].find(b => b.textContent.includes('Stop'))?.disabled",
        timeout=15_000,
    )
    notebook.screenshot(f"a11y-{notebook.theme}-playground", ".cw-playground")
    assert audit(page, [".cw-playground"]) == []


def test_the_contrast_check_would_catch_grey_on_grey(notebook):
    """The contrast check is not vacuous: grey on grey in a course element is reported."""
    page = notebook.page
    page.evaluate(
        """() => { const d = document.createElement('div'); d.className = 'cw cw-probe';
        d.style.cssText = 'color: #777; background: #888'; d.textContent = 'low contrast text';
        document.querySelector('.jp-NotebookPanel .jp-Cell').append(d); }"""
    )
    try:
        assert any("color: #777" not in v and '"low contrast text"' in v for v in contrast_failures(page))
    finally:
        page.evaluate("() => document.querySelector('.cw-probe').remove()")
