"""A notebook saved with live views in it and opened again (kernel shut down, page reloaded) shows each answer, not
"Error displaying widget: model not found", in JupyterLab and in Notebook 7, and a Playground its transcript.
The course's settings override (jupyter/streaming-course.json, which
`make` installs into the environment's share/jupyter/lab/settings/overrides.d) makes both save the widgets' state with the notebook."""

from __future__ import annotations

import json
import time
import urllib.request

import nbformat
import pytest

from .lab import ARTIFACTS, JupyterLab, Notebook, chromium
from .test_notebook7 import wait_for_idle_kernel
from .test_widgets_browser import HAIKU, expected, words

pytestmark = pytest.mark.browser

CELL = f"""\
from helpers.connect import client
from helpers.widgets import EventView, TextView

TextView(title="reopened").watch(
    client(quiet=True).messages.stream(
        model="claude-sonnet-4-6", max_tokens=1024, messages=[{{"role": "user", "content": {HAIKU!r}}}]
    )
)
EventView(title="events").watch(
    client(quiet=True).messages.stream(
        model="claude-sonnet-4-6", max_tokens=1024, messages=[{{"role": "user", "content": {HAIKU!r}}}]
    )
)"""


def write_notebook(root) -> str:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / "reopen.ipynb")
    return "reopen.ipynb"


def shut_down_kernels(server: JupyterLab) -> None:
    """What closing the notebook and its kernel does: every kernel of the server is shut down through the REST API."""
    auth = {"Authorization": f"token {server.token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{server.url}/api/kernels", headers=auth)) as response:
        kernels = json.load(response)
    for kernel in kernels:
        request = urllib.request.Request(f"{server.url}/api/kernels/{kernel['id']}", method="DELETE", headers=auth)
        urllib.request.urlopen(request).close()


def reopened_outputs(page) -> tuple[list[str], list[str]]:
    """After the page loaded again: the widget errors shown and the text of every output."""
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    deadline = time.monotonic() + 20  # outputs and restored widgets render in the moments after the cells appear
    while time.monotonic() < deadline and not page.locator('.cw[data-title="reopened"]').count():
        time.sleep(0.25)
    outputs = page.locator(".jp-OutputArea-output")
    errors = [text for text in outputs.all_text_contents() if "Error displaying widget" in text]
    visible = [outputs.nth(i).inner_text() for i in range(outputs.count()) if outputs.nth(i).is_visible()]
    return errors, visible


def test_a_saved_notebook_reopens_with_its_answers_in_jupyterlab(tmp_path):
    final = expected(HAIKU)
    with JupyterLab(tmp_path, name="reopen-lab") as lab, chromium() as browser:
        notebook = Notebook(lab, browser.new_context().new_page(), write_notebook(tmp_path))
        notebook.run_all()
        notebook.wait_until_idle()
        notebook.page.wait_for_function("() => document.querySelectorAll('.cw[data-status=\"done\"]').length == 2")
        notebook.save()
        shut_down_kernels(lab)
        notebook.page.reload()
        errors, visible = reopened_outputs(notebook.page)
        notebook.screenshot("reopen-lab")
    assert not errors, f"reopened notebook shows widget errors: {errors}"
    assert any(words(final) in words(text) for text in visible), f"the answer is not visible: {visible}"
    assert any("message_stop" in text for text in visible), f"the events are not visible: {visible}"


def test_a_saved_notebook_reopens_with_its_answers_in_notebook_7(tmp_path):
    final = expected(HAIKU)
    name = write_notebook(tmp_path)
    with chromium() as browser, JupyterLab(tmp_path, name="reopen-notebook7") as server:
        page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        page.goto(f"{server.url}/notebooks/{name}?token={server.token}")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        wait_for_idle_kernel(page)
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        page.wait_for_function(
            "() => document.querySelectorAll('.cw[data-status=\"done\"]').length == 2", timeout=60_000
        )
        wait_for_idle_kernel(page)
        page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
        page.keyboard.press("Control+s")
        saved = lambda: nbformat.read(tmp_path / name, as_version=4).cells[0].outputs  # noqa: E731
        deadline = time.monotonic() + 30
        while not saved() and time.monotonic() < deadline:
            time.sleep(0.25)
        time.sleep(1)  # the save writes the file once; let it finish
        shut_down_kernels(server)
        page.reload()
        errors, visible = reopened_outputs(page)
        page.screenshot(path=str(ARTIFACTS / "reopen-notebook7.png"))
    assert not errors, f"reopened notebook shows widget errors: {errors}"
    assert any(words(final) in words(text) for text in visible), f"the answer is not visible: {visible}"
    assert any("message_stop" in text for text in visible), f"the events are not visible: {visible}"


PLAYGROUND = f"""\
from helpers.connect import async_client
from helpers.widgets import Playground

pg = Playground(async_client(quiet=True), models=["claude-sonnet-5-5"])
await pg.send({HAIKU!r})"""


def test_a_saved_playground_reopens_with_its_transcript(tmp_path):
    """The Playground's transcript (the prompt and the streamed answer) comes back from the saved widget state."""
    final = expected(HAIKU)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PLAYGROUND)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "playground.ipynb")
    with JupyterLab(tmp_path, name="reopen-playground") as lab, chromium() as browser:
        nb = Notebook(lab, browser.new_context().new_page(), "playground.ipynb")
        nb.run_all()
        nb.wait_until_idle()
        nb.page.wait_for_function("() => document.querySelectorAll('.cw[data-status=\"done\"]').length == 1")
        nb.save()
        shut_down_kernels(lab)
        nb.page.reload()
        nb.page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        transcript = nb.page.locator(".cw-playground")
        deadline = time.monotonic() + 20  # restored widgets render in the moments after the cells appear
        while time.monotonic() < deadline and words(final) not in words(" ".join(transcript.all_inner_texts())):
            time.sleep(0.25)
        shown = " ".join(transcript.all_inner_texts())
        errors = [t for t in nb.page.locator(".jp-OutputArea-output").all_text_contents() if "Error displaying" in t]
        nb.screenshot("reopen-playground")
    assert not errors, f"reopened notebook shows widget errors: {errors}"
    assert f"You: {HAIKU}" in shown, f"the prompt is not in the reopened transcript: {shown!r}"
    assert words(final) in words(shown), f"the answer is not in the reopened transcript: {shown!r}"
