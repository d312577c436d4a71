"""The live views in Notebook 7 (``jupyter notebook``), not only JupyterLab: the same server serves it at /notebooks/.

A notebook with one paced TextView is run through Notebook 7's own Run menu in headless chromium; the text must grow
over several samples, end as the SDK's own text, and leave its static rendering below the view.
"""

from __future__ import annotations

import time
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from .lab import ARTIFACTS, KERNEL_READY, JupyterLab, chromium
from .test_widgets_browser import LONG, expected, words

pytestmark = pytest.mark.browser

CELL = f"""\
from helpers.connect import client
from helpers.widgets import TextView

view = TextView(title="nb7")
view.watch(
    client(quiet=True).messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=1024,
        messages=[{{"role": "user", "content": {LONG!r}}}],
        extra_headers={{"x-offline-pace": "80"}},
    )
)"""
VIEW = '.cw[data-title="nb7"]'


def wait_for_idle_kernel(page, timeout: float = 90) -> None:
    """Until the notebook's kernel has started and is idle (see KERNEL_READY)."""
    deadline = time.monotonic() + timeout
    name = unquote(urlsplit(page.url).path.rsplit("/", 1)[-1])
    while not page.evaluate(KERNEL_READY, name):
        if time.monotonic() > deadline:
            raise TimeoutError(f"Notebook 7: no idle kernel after {timeout} s")
        time.sleep(0.25)


def test_a_live_view_streams_in_notebook_7(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "nb7.ipynb")
    final = expected(LONG)
    with chromium() as browser, JupyterLab(tmp_path, name="notebook7") as server:
        page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        page.goto(f"{server.url}/notebooks/nb7.ipynb?token={server.token}")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        assert page.evaluate("() => document.body.dataset.notebook") == "notebooks", "this page is not Notebook 7's"
        wait_for_idle_kernel(page)
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        samples, deadline = [], time.monotonic() + 90
        while page.evaluate(f"() => document.querySelector('{VIEW}')?.dataset.status") != "done":
            assert time.monotonic() < deadline, f"the view never finished; samples: {[len(s) for s in samples]}"
            samples.append(
                page.evaluate(f"() => document.querySelector('{VIEW} .cw-text .cw-live')?.textContent || ''")
            )
            time.sleep(0.2)
        page.screenshot(path=str(ARTIFACTS / "notebook7.png"))
        text = page.locator(f"{VIEW} .cw-text .cw-live").text_content()
        page.wait_for_function(f"() => document.querySelector('{VIEW} .cw-md')", timeout=15_000)
        formatted = page.locator(f"{VIEW} .cw-md").text_content()
        static_hidden = page.locator(".cw-static").first.is_hidden()  # one rendering per view here too
        rendered = page.locator(".jp-OutputArea-output").all_text_contents()
    grown = sorted({len(s) for s in samples if s})
    assert len(grown) >= 3, f"the text did not grow over several samples: {[len(s) for s in samples]}"
    assert all(final.startswith(s) for s in samples)
    assert text == final
    assert static_hidden and len(formatted) > len(final) // 2
    assert any(words(final) in words(output) for output in rendered), "no static rendering below the view"
