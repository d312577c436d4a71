"""Every lesson in a real browser: JupyterLab on loopback, headless chromium, Run All Cells, as a learner would.

For each notebook (a copy with its outputs cleared, in the git-ignored artifacts/ folder so that the lessons find the
repo's files as they do in notebooks/): run all cells, wait until every cell has run and the kernel is idle, check
that no cell ended in an error except those tagged ``raises-exception`` and that no widget failed to display, check
that streaming output grew over several samples while a stream ran (not one burst at the end), and save a screenshot
in artifacts/browser/.

Pacing: the lessons' kernels talk to one local API that this test starts (``COURSE_OFFLINE_URL``). It runs at
instant pace, except while a lesson's first visible stream is being sampled: the API is switched to PACE tokens/s when
Run All starts and back to instant as soon as the output has grown over several samples. Only the requests made in
that window are paced (a few seconds per lesson), so the whole browser run stays within a few minutes, while pacing
everything at PACE would take far longer (some lessons stream essays or count to hundreds).
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import replace

import nbformat
import pytest

from helpers.offline import start
from helpers.offline.app import Pace

from .browser.a11y import audit, contrast_failures
from .browser.lab import JupyterLab, chromium, copy_notebook
from .conftest import ROOT
from .test_notebooks import LESSONS

pytestmark = pytest.mark.browser

PACE = 40  # tokens per second while sampling: a haiku then takes about half a second, an essay about ten
SAMPLE_EVERY = 0.05  # seconds between samples of the output
GROWTH = 3  # increases of the output, while one stream runs, that prove it streamed
RUN_TIMEOUT = 150  # seconds for one lesson to run all its cells

OUTPUT_CHARS = "() => [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')].reduce((n, e) => n + e.textContent.length, 0)"


@pytest.fixture(scope="module")
def api():
    with start(pace="instant") as running:
        yield running


@pytest.fixture(scope="module")
def lab(api):
    root = ROOT / "artifacts" / "lessons"  # under the repo (git-ignored): lessons look upward for .env.example
    root.mkdir(parents=True, exist_ok=True)
    for name in LESSONS:
        copy_notebook(ROOT / "notebooks" / f"{name}.ipynb", root)
    with JupyterLab(root, env={"COURSE_OFFLINE_URL": api.url, "COURSE_PACE": "instant"}, name="lessons") as running:
        yield running


@pytest.fixture(scope="module")
def browser(lab):
    with chromium() as running:
        yield running


def pace(api, spec) -> None:
    """Set the pace of the local API for the requests that start from now on."""
    api.app.config = replace(api.app.config, pace=Pace.parse(spec))


def streams_running(api) -> tuple[int, bool]:
    """The number of the latest stream, and whether a stream is in flight."""
    s = api.stats()
    ended = s["streams_completed"] + s["streams_cut_by_client"] + s["streams_failed_by_fault"]
    return s["streams_started"], s["streams_started"] > ended


def finished(notebook) -> bool:
    """No cell running or queued: every cell ran, or Run All stopped at an error."""
    prompts = notebook.prompts()
    return bool(prompts) and not any("*" in p for p in prompts)


def wait_until_finished(notebook) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while not finished(notebook):
        assert time.monotonic() < deadline, f"cells still running after {RUN_TIMEOUT} s: {notebook.prompts()}"
        time.sleep(0.25)
    notebook.wait_for_kernel()


def sample_growth(notebook, api) -> dict[int, list[int]]:
    """Output lengths sampled while each stream ran, until one grew GROWTH times or every cell has run."""
    samples: dict[int, list[int]] = {}
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        stream, running = streams_running(api)
        chars = notebook.page.evaluate(OUTPUT_CHARS)
        if running:
            seen = samples.setdefault(stream, [])
            seen.append(chars)
            if sum(b > a for a, b in zip(seen, seen[1:], strict=False)) >= GROWTH:
                break
        elif finished(notebook):
            break
        time.sleep(SAMPLE_EVERY)
    return samples


def run_all(notebook, cells: int) -> None:
    """Run > Run All Cells once the whole notebook is on the page; checks that the cells were queued."""
    notebook.page.wait_for_function(f"() => document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length === {cells}")
    notebook.run_all()
    deadline = time.monotonic() + 10
    while not any(p != "[ ]:" for p in notebook.prompts()):
        assert time.monotonic() < deadline, f"Run All Cells queued nothing: {notebook.prompts()}"
        time.sleep(0.05)


def forget_lesson(lab) -> None:
    """Stop the lesson's kernel and forget the workspace (its open tab), through the server's REST API."""

    def call(method: str, path: str):
        request = urllib.request.Request(lab.url + path, method=method, headers={"Authorization": f"token {lab.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    for kernel in call("GET", "/api/kernels"):
        call("DELETE", f"/api/kernels/{kernel['id']}")
    for workspace in call("GET", "/lab/api/workspaces")["workspaces"]["ids"]:
        call("DELETE", f"/lab/api/workspaces/{workspace}")


def failed_cells(nb: nbformat.NotebookNode) -> list[str]:
    """Code cells that did not run, or ended in an error without the ``raises-exception`` tag."""
    found = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if cell.execution_count is None:
            found.append(f"code cell {i} did not run: {cell.source[:60]!r}")
        elif errors and "raises-exception" not in cell.metadata.get("tags", []):
            found.append(f"code cell {i} raised {errors[0].ename}: {errors[0].evalue[:200]}")
    return found


@pytest.mark.slow
@pytest.mark.timeout(RUN_TIMEOUT + 90)
@pytest.mark.parametrize("name", LESSONS)
def test_the_lesson_runs_in_jupyterlab_and_streams(lab, browser, api, name):
    source = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    forget_lesson(lab)  # a tab left open by an earlier run would share the page
    notebook = lab.open(browser, f"{name}.ipynb")
    try:
        pace(api, PACE)
        run_all(notebook, len(source.cells))
        samples = sample_growth(notebook, api)
        pace(api, "instant")
        wait_until_finished(notebook)
        notebook.screenshot(f"lesson-{name}")
        violations = audit(notebook.page) + contrast_failures(notebook.page)  # the course's own elements
        notebook.save()  # then the file holds what the browser showed, cell by cell
        saved = nbformat.read(lab.root / f"{name}.ipynb", as_version=4)
        widget_errors = notebook.page.locator(".jp-OutputArea-output", has_text="Error displaying widget").count()
    finally:
        pace(api, "instant")
        notebook.page.context.close()
        forget_lesson(lab)
    assert failed_cells(saved) == []
    assert widget_errors == 0, "a widget failed to display"
    assert violations == [], "accessibility: " + "\n".join(violations)
    grown = {
        stream: seen
        for stream, seen in samples.items()
        if sum(b > a for a, b in zip(seen, seen[1:], strict=False)) >= GROWTH
    }
    if name == "10_capstone":
        return  # its streams run in the learner's own programs (chat.py, main.py), which the checker drives
    assert grown, f"no stream's output grew over {GROWTH} samples while it ran (one burst at the end?): {samples}"
