"""A notebook from elsewhere, crafted with saved widget state, runs nothing when it is opened, in JupyterLab and in
Notebook 7. Both rebuild every widget model saved in a notebook's metadata as it opens, trusted or not, and an
anywidget model runs the JavaScript module in its state (``_esm``) when it is created: on the server's default
contents manager, this notebook wrote a file through the learner's Jupyter API without a cell being run. The course's
contents manager (helpers/jupyter_contents.py) drops the saved state of a notebook that is not trusted; the
learner's own saved notebooks keep theirs (tests/browser/test_reopen.py).
"""

from __future__ import annotations

import time

import nbformat
import pytest
from anywidget._version import _ANYWIDGET_SEMVER_VERSION as ANYWIDGET

from .lab import JupyterLab, chromium
from .test_notebook7 import wait_for_idle_kernel

pytestmark = pytest.mark.browser

MODEL_ID = "5a7ed5a7e0000000000000000000000f"
WRITTEN = "written-by-saved-state.txt"
ESM = f"""
const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || "";
fetch("/api/contents/{WRITTEN}", {{
  method: "PUT",
  headers: {{"Content-Type": "application/json", "X-XSRFToken": decodeURIComponent(xsrf)}},
  body: JSON.stringify({{type: "file", format: "text", content: "ran"}}),
}});
document.body.dataset.savedStateRan = "model";
export default {{ render({{ el }}) {{ document.body.dataset.savedStateRan = "view"; }} }};
"""


def crafted_notebook(root) -> str:
    """One cell whose output shows an anywidget model, and that model's state, with its module, in the metadata."""
    names = {"model_name": "AnyModel", "model_module": "anywidget", "model_module_version": ANYWIDGET}
    state = {
        **{f"_{k}": v for k, v in names.items()},
        **{"_view_name": "AnyView", "_view_module": "anywidget", "_view_module_version": ANYWIDGET},
        "_esm": ESM,
        "_css": "",
    }
    view = {"model_id": MODEL_ID, "version_major": 2, "version_minor": 0}
    output = nbformat.v4.new_output(
        "display_data", data={"application/vnd.jupyter.widget-view+json": view, "text/plain": "a saved view"}
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1", outputs=[output])])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {MODEL_ID: {**names, "state": state}},
            "version_major": 2,
            "version_minor": 0,
        }
    }
    nbformat.write(notebook, root / "gift.ipynb")
    return "gift.ipynb"


@pytest.mark.parametrize("front_end", ["lab/tree", "notebooks"])
def test_a_crafted_notebooks_saved_widget_state_runs_nothing_when_opened(tmp_path, front_end):
    name = crafted_notebook(tmp_path)
    with JupyterLab(tmp_path, name=f"saved-state-{front_end.split('/')[0]}") as server, chromium() as browser:
        page = browser.new_context().new_page()
        page.goto(f"{server.url}/{front_end}/{name}?token={server.token}")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        wait_for_idle_kernel(page)  # the widget manager restores saved state once the kernel is ready
        deadline, ran = time.monotonic() + 15, None
        while time.monotonic() < deadline and not ran:  # it ran within seconds on the default contents manager
            ran = page.evaluate("() => document.body.dataset.savedStateRan")
            time.sleep(0.25)
        outputs = page.locator(".jp-OutputArea-output").all_text_contents()
    assert ran is None, f"the saved widget state's module ran ({ran})"
    assert not (tmp_path / WRITTEN).exists(), "the saved widget state wrote a file through the Jupyter API"
    assert any("a saved view" in text for text in outputs), outputs  # the notebook did open, its output as text
