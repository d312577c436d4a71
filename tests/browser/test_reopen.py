"""A notebook saved with live views in it and opened again (kernel shut down, page reloaded) shows each answer, not
"Error displaying widget: model not found", in JupyterLab and in Notebook 7, and a Playground its transcript.
The course's settings override (jupyter/streaming-course.json, which
`make` installs into the environment's share/jupyter/lab/settings/overrides.d) makes both save the widgets' state with the notebook.

What the course controls is checked in the saved file (every view it shows has its state saved) and on the page after
every widget output has settled (none still says "Loading widget...", each view rendered or failed), never at the
first view that appears. One race is not the course's: @jupyter-widgets/jupyterlab-manager 3.0.17 (the latest) looks a
view's model up by polling every 100 ms for 2 s, and after its last sleep it throws without looking again; if the
notebook's saved state was restored during that sleep, the manager counts as restored and the view shows "model not
found" for good, though its model is there (jupyter-widgets/ipywidgets#4026). A busy page delays that sleep past the
2 s (measured: 1 reopening in 8 under load; every time when the sleep is stretched to 3 s). When exactly that shows
(the file holds every model, the page's console has the manager's own "widget model not found"), the notebook is
opened once more, kernel shut down again, and that opening must be clean.
"""

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


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
NOT_FOUND = "Error displaying widget: model not found"
VIEWS = ['.cw[data-title="reopened"]', '.cw[data-title="events"]']
# Every widget output has settled: none is still loading, and each view expected is drawn or some view failed.
SETTLED = """(views) => {
  const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
  if (!outputs.length || outputs.some((o) => o.textContent.trim() === 'Loading widget...')) return false;
  return outputs.some((o) => o.textContent.includes('Error displaying widget'))
    || views.every((v) => document.querySelector(v));
}"""


def saved_views(path) -> tuple[set[str], set[str]]:
    """The model ids of the views a saved notebook shows, and those whose state it holds."""
    notebook = nbformat.read(path, as_version=4)
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    shown = {o["data"][WIDGET_VIEW]["model_id"] for o in outputs if WIDGET_VIEW in o.get("data", {})}
    return shown, set(notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {}))


def wait_for_saved_views(path, views: int, timeout: float = 60) -> None:
    """Until the file holds ``views`` views and the state of each (the save is written whole, by a rename)."""
    deadline = time.monotonic() + timeout
    while True:
        shown, saved = saved_views(path)
        if len(shown) == views and shown <= saved:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path.name}: {len(shown)} views saved, state missing for {shown - saved}")
        time.sleep(0.25)


def reopened(server: JupyterLab, page, url: str, path, views: list[str]):
    """Shut the kernel down and open the saved notebook again (the page reloaded); once every widget output settled:
    the page, the widget errors shown and the text of every visible output. See the module's docstring for the one
    case opened twice."""
    shown, saved = saved_views(path)
    assert shown and shown <= saved, f"the saved notebook lacks the state of views it shows: {shown - saved}"
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    for attempt in (1, 2):
        console.clear()
        if attempt == 1:
            shut_down_kernels(server)
            page.reload()
        else:
            context = page.context
            page.close()  # the restored page is dirty (the restore marks it), so it is closed, not reloaded
            shut_down_kernels(server)  # once it is closed, so that it starts no kernel of its own
            page = context.new_page()
            page.on("console", lambda m: console.append(m.text))
            page.goto(url)
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        page.wait_for_function(SETTLED, arg=views, timeout=90_000)
        outputs = page.locator(".jp-OutputArea-output")
        errors = [text for text in outputs.all_text_contents() if "Error displaying widget" in text]
        race = errors and all(NOT_FOUND in e for e in errors) and any("widget model not found" in m for m in console)
        if not race or attempt == 2:
            break
        print(f"the first reopening met @jupyter-widgets' restore race: {errors}")
    visible = [outputs.nth(i).inner_text() for i in range(outputs.count()) if outputs.nth(i).is_visible()]
    return page, errors, visible


def test_a_saved_notebook_reopens_with_its_answers_in_jupyterlab(tmp_path):
    final = expected(HAIKU)
    with JupyterLab(tmp_path, name="reopen-lab") as lab, chromium() as browser:
        notebook = Notebook(lab, browser.new_context().new_page(), write_notebook(tmp_path))
        notebook.run_all()
        notebook.wait_until_idle()
        notebook.page.wait_for_function("() => document.querySelectorAll('.cw[data-status=\"done\"]').length == 2")
        notebook.save()
        url = f"{lab.url}/lab/tree/{notebook.name}?token={lab.token}"
        page, errors, visible = reopened(lab, notebook.page, url, tmp_path / notebook.name, VIEWS)
        page.screenshot(path=str(ARTIFACTS / "reopen-lab.png"))
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
        wait_for_saved_views(tmp_path / name, views=2)
        url = f"{server.url}/notebooks/{name}?token={server.token}"
        page, errors, visible = reopened(server, page, url, tmp_path / name, VIEWS)
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
        url = f"{lab.url}/lab/tree/{nb.name}?token={lab.token}"
        page, errors, _ = reopened(lab, nb.page, url, tmp_path / nb.name, [".cw-playground"])
        transcript = page.locator(".cw-playground")
        deadline = time.monotonic() + 60  # the transcript's lines are widgets of their own, drawn after the box
        while not errors and time.monotonic() < deadline and words(final) not in words(transcript.inner_text()):
            time.sleep(0.25)
        shown = " ".join(transcript.all_inner_texts())
        page.screenshot(path=str(ARTIFACTS / "reopen-playground.png"))
    assert not errors, f"reopened notebook shows widget errors: {errors}"
    assert f"You: {HAIKU}" in shown, f"the prompt is not in the reopened transcript: {shown!r}"
    assert words(final) in words(shown), f"the answer is not in the reopened transcript: {shown!r}"
