"""One learner on a real JupyterHub, in chromium, reached the way a class is: through the guide's nbgitpuller link.

The hub is helpers/hub.py's (127.0.0.1, DummyAuthenticator with its fixed password, SimpleLocalProcessSpawner, the course
in the single-user environment, offline); the "upstream" is a local git clone of this repository. In order:

1. the first click on the link logs the learner in, starts their server, clones the course into their home and
   opens ``00_setup`` in JupyterLab under ``/user/NAME/``;
2. ``00_setup`` runs to the end, no error, and its streaming cell's output grows while the stream runs;
3. lesson 01's live view streams: text grows in its DOM, and the widgets' JavaScript came through the hub's base URL;
4. after an upstream commit, a second click merges it without losing the learner's edits.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from helpers.hub import Hub

from ..conftest import ROOT
from ..parts import need
from .lab import SETTINGS, Notebook, chromium

pytestmark = [pytest.mark.browser, pytest.mark.hub]

LEARNER = "ada"
REPO = "course"  # the upstream clone's folder name, so also the folder nbgitpuller makes in the learner's home
PACE = 15  # tokens per second of the learners' local API: a haiku streams for about two seconds
TIMEOUT = 300  # seconds for anything that waits on the hub (spawn, clone, a run of every cell) on a busy machine
UPSTREAM_LINE = "An update from the instructor, pulled by the second click."
LEARNER_LINE = "My own note, which the second click must keep."


def git(*args: str, cwd: Path) -> str:
    who = {"NAME": "Instructor", "EMAIL": "instructor@example.org"}
    env = {
        **os.environ,
        **{f"GIT_{role}_{key}": value for role in ("AUTHOR", "COMMITTER") for key, value in who.items()},
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def upstream(tmp_path_factory) -> Path:
    """The course's repository as an instructor hosts it: a clone of this checkout's committed state, branch main."""
    path = tmp_path_factory.mktemp("upstream") / REPO
    git("clone", "--quiet", "--no-hardlinks", str(ROOT), str(path), cwd=ROOT)
    git("switch", "--quiet", "-C", "main", cwd=path)
    return path


@pytest.fixture(scope="module")
def hub(tmp_path_factory, upstream):
    for part in ("node/npm", "git", "chromium"):  # all three before a hub starts
        need(part)
    env = {"COURSE_PACE": str(PACE), "COURSE_GITPULL_REPOS": upstream.as_uri()}  # the guard pulls only the class's
    with Hub(tmp_path_factory.mktemp("hub"), env=env) as running:
        settings = running.home(LEARNER) / ".jupyter" / "lab" / "user-settings"
        for plugin, values in SETTINGS.items():  # every cell stays in the DOM; no news toasts
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        yield running


@pytest.fixture(scope="module")
def context(hub):
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        yield context
        context.close()


def link(hub: Hub, upstream: Path) -> str:
    """docs/workshop.md's nbgitpuller link, with the local clone as the repository."""
    repo = quote(upstream.as_uri(), safe="")
    urlpath = quote(f"lab/tree/{REPO}/notebooks/00_setup.ipynb", safe="")
    return f"{hub.url}/hub/user-redirect/git-pull?repo={repo}&branch=main&urlpath={urlpath}"


class HubNotebook(Notebook):
    """A notebook already open in a page of the hub (tests/browser/lab.py's helpers, without its own server)."""

    def __init__(self, page, name: str):
        self.lab, self.page, self.name = None, page, name
        self.console_errors = []
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=TIMEOUT * 1000)
        self.wait_for_kernel(timeout=TIMEOUT)


def click_link(page, url: str, password: str) -> None:
    """Open the link as a learner: log in if asked, then wait for JupyterLab. No "Launch Server" click: the hub's
    ``implicit_spawn_seconds`` (as docs/workshop.md sets it) starts a stopped server by itself."""
    page.goto(url)
    deadline = time.monotonic() + TIMEOUT
    while "/lab/tree/" not in page.url:
        assert time.monotonic() < deadline, f"the link did not reach JupyterLab: stuck at {page.url}"
        if page.locator("#login_submit").is_visible():
            page.fill("#username_input", LEARNER)
            page.fill("#password_input", password)
            page.click("#login_submit")
        time.sleep(0.5)
    page.wait_for_url(f"**/user/{LEARNER}/lab/tree/{REPO}/notebooks/00_setup.ipynb", timeout=TIMEOUT * 1000)


def grew(samples: list[int]) -> int:
    return sum(b > a for a, b in zip(samples, samples[1:], strict=False))


def run_and_sample(notebook: HubNotebook, script: str) -> list[int]:
    """Run All; sample ``script`` (a length in the DOM) until every cell has run; return the samples."""
    cells = notebook.page.locator(".jp-NotebookPanel .jp-Cell").count()
    assert cells > 0
    notebook.run_all()
    samples, deadline = [], time.monotonic() + TIMEOUT
    while True:
        samples.append(notebook.page.evaluate(script))
        prompts = notebook.prompts()
        if prompts and all(p[1:-2].strip().isdigit() for p in prompts):
            break
        assert time.monotonic() < deadline, f"cells still running after {TIMEOUT} s: {prompts}"
        time.sleep(0.05)
    notebook.wait_until_idle(timeout=TIMEOUT)
    return samples


OUTPUT_CHARS = "() => [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')].reduce((n, e) => n + e.textContent.length, 0)"
LIVE_TEXT = (
    "() => { const e = document.querySelector('.jp-NotebookPanel .cw-text'); return e ? e.textContent.length : 0; }"
)


@pytest.fixture(scope="module")
def first_click(hub, upstream, context):
    page = context.new_page()
    click_link(page, link(hub, upstream), hub.password)
    yield page
    page.close()


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT * 2)
def test_the_first_click_logs_in_clones_the_course_and_opens_00_setup(hub, first_click):
    clone = hub.home(LEARNER) / REPO
    assert (clone / ".git").is_dir() and (clone / "notebooks" / "00_setup.ipynb").is_file()
    assert first_click.url.startswith(f"{hub.url}/user/{LEARNER}/lab/tree/{REPO}/notebooks/00_setup.ipynb")


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT * 2)
def test_00_setup_runs_through_the_hub_and_its_stream_grows(first_click):
    notebook = HubNotebook(first_click, "00_setup.ipynb")
    samples = run_and_sample(notebook, OUTPUT_CHARS)
    notebook.screenshot("hub-00_setup")
    assert notebook.error_outputs() == []
    assert "OK   lab extensions" in " ".join(notebook.cell_outputs(0))  # the environment doctor, in the hub's env
    assert grew(samples) >= 10, f"the output did not grow while the cells ran: {samples[:50]}…"


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT * 2)
def test_a_live_view_streams_with_its_javascript_from_the_hub_base_url(hub, context, first_click):
    first_click.close()  # one notebook on screen, so the harness's selectors find lesson 01's
    page = context.new_page()
    loaded: list[tuple[str, int]] = []
    page.on("response", lambda r: loaded.append((r.url, r.status)) if "/lab/extensions/" in r.url else None)
    page.goto(f"{hub.url}/user/{LEARNER}/lab/workspaces/lesson01/tree/{REPO}/notebooks/01_text_stream.ipynb")
    notebook = HubNotebook(page, "01_text_stream.ipynb")
    samples = run_and_sample(notebook, LIVE_TEXT)
    notebook.screenshot("hub-01_text_stream")
    notebook.save_dom("hub-01_text_stream")
    assert notebook.error_outputs() == []
    growing = sorted({n for n in samples if n})
    assert len(growing) >= 3, f"the live view's text did not grow while it streamed: {samples}"
    assert notebook.page.evaluate(LIVE_TEXT) == growing[-1]
    widget_js = [(url, status) for url, status in loaded if "anywidget" in url or "jupyterlab-manager" in url]
    assert widget_js and all(status == 200 for _, status in widget_js), loaded
    assert all(url.startswith(f"{hub.url}/user/{LEARNER}/lab/extensions/") for url, _ in widget_js)
    page.close()


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT * 2)
def test_a_second_click_merges_an_upstream_change_and_keeps_the_learners_edits(hub, upstream, context, first_click):
    clone = hub.home(LEARNER) / REPO
    readme = clone / "README.md"
    readme.write_text(readme.read_text() + f"\n{LEARNER_LINE}\n")  # the learner's edit, not committed
    notes = clone / "notebooks" / "my_notes.md"
    notes.write_text(LEARNER_LINE + "\n")  # and a file of their own
    # upstream: a line at the top of the same file, and a new file
    up_readme = upstream / "README.md"
    up_readme.write_text(f"{UPSTREAM_LINE}\n\n" + up_readme.read_text())
    (upstream / "notebooks" / "09_extra.md").write_text(UPSTREAM_LINE + "\n")
    git("add", "README.md", "notebooks/09_extra.md", cwd=upstream)
    git("commit", "--quiet", "-m", "An update for the class", cwd=upstream)

    page = context.new_page()
    click_link(page, link(hub, upstream), hub.password)
    page.close()

    merged = readme.read_text()
    assert merged.startswith(UPSTREAM_LINE) and LEARNER_LINE in merged
    assert (clone / "notebooks" / "09_extra.md").read_text() == UPSTREAM_LINE + "\n"
    assert notes.read_text() == LEARNER_LINE + "\n"
    assert git("log", "-1", "--format=%s", "origin/main", cwd=clone).strip() == "An update for the class"
