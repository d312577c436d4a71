"""A small harness for browser tests: real JupyterLab and Chromium (Playwright's or the system's), driven by Playwright.

    with JupyterLab(root) as lab, chromium() as browser:
        notebook = lab.open(browser, "demo.ipynb")     # a copy in ``root`` (see copy_notebook)
        notebook.run_all()
        notebook.wait_until_idle()
        notebook.screenshot("demo")                     # artifacts/browser/demo.png

JupyterLab listens on 127.0.0.1 on a free port with a random token, with its own settings, workspaces, runtime and
data folders under ``root`` (nothing of the user's setup leaks in; cells are never virtualized away), offline at
instant pace (``COURSE_OFFLINE=1``, ``COURSE_PACE=instant``, as nbval runs), reading notebooks with the course's contents
manager (tools/install_settings.py). Its log goes to artifacts/browser/. It is stopped by the PID it was started with.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import nbformat

from helpers.net import free_port
from tools.install_settings import install_contents_manager

from ..parts import need

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SETTINGS = {
    # every cell stays in the DOM, so tests can read any output; no kernel dialog, the notebook's kernel just starts
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "autoStartDefaultKernel": True},
    # no news or update checks (no network, no toasts over the page)
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def chromium_path() -> str:
    """Playwright's own Chromium when installed, else the system's; skips loudly without one (fails under CI)."""
    return need("chromium")


@contextmanager
def chromium():
    """A headless chromium (see chromium_path) for the duration of the block."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def copy_notebook(source: Path, root: Path, clear_outputs: bool = True) -> str:
    """Copy a notebook into the server's root (outputs cleared, so only fresh outputs appear); returns its name."""
    notebook = nbformat.read(source, as_version=4)
    if clear_outputs:
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, root / source.name)
    return source.name


class JupyterLab:
    """``python -m jupyter lab`` serving ``root``; a context manager. ``env`` adds to the server's (and kernels') environment."""

    def __init__(
        self,
        root: Path,
        env: dict | None = None,
        name: str = "jupyterlab",
        timeout: float = 90,
        settings: dict | None = None,
    ):
        self.root, self.name, self.timeout = Path(root), name, timeout
        self.settings = {**SETTINGS, **(settings or {})}  # e.g. the dark theme
        self.env = {**os.environ, "COURSE_OFFLINE": "1", "COURSE_PACE": "instant", **(env or {})}
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = ARTIFACTS / f"{name}.log"

    def __enter__(self) -> JupyterLab:
        home = self.root / ".lab"
        for key, folder in {
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTER_DATA_DIR": "data",
        }.items():
            (home / folder).mkdir(parents=True, exist_ok=True)
            self.env[key] = str(home / folder)
        install_contents_manager(home / "config")  # what make installs in the environment (tools/install_settings.py)
        for plugin, values in self.settings.items():
            path = home / "settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        command = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
            f"--LabApp.user_settings_dir={home / 'settings'}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
            "--LabApp.extension_manager=readonly",  # no PyPI queries
        ]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # CI containers run as root
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        log = self.log.open("w")
        self.process = subprocess.Popen(
            command, cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise TimeoutError(f"JupyterLab did not answer within {self.timeout} s; see {self.log}")

    def __exit__(self, *exc) -> None:
        """Stop the server by its PID (it shuts its kernels down); then end its process group if anything is left."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # kernels it started, if any outlived it
        except ProcessLookupError:
            pass
        self.process = None

    def open(self, browser, notebook: str, viewport: tuple[int, int] = (1280, 1000)) -> Notebook:
        """Open ``notebook`` (a path relative to root) in a fresh browser context; waits until its kernel is ready."""
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        page = context.new_page()
        return Notebook(self, page, notebook)


KERNEL_STATE = """() => {
  if (document.querySelector('.jp-Dialog .jp-mod-accept')) return 'dialog';
  const name = document.querySelector('.jp-NotebookPanel .jp-KernelName');
  const status = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
  if (!name || !status || /No Kernel/.test(name.textContent)) return 'no kernel';
  return status.getAttribute('data-status');
}"""

# The page shows an idle kernel, and the server has a session of the notebook (by its file name) with its kernel started
# and idle. The indicator alone says idle for a while before the kernel starts, as long as a busy machine takes.
KERNEL_READY = """async (name) => {
  if (document.querySelector('.jp-Notebook-ExecutionIndicator')?.getAttribute('data-status') !== 'idle') return false;
  const base = JSON.parse(document.getElementById('jupyter-config-data').textContent).baseUrl;
  const xsrf = decodeURIComponent((document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '');  // as Lab sends it
  const response = await fetch(`${base}api/sessions`, { headers: { 'X-XSRFToken': xsrf } });
  if (!response.ok) throw new Error(`GET ${base}api/sessions: ${response.status}`);
  const sessions = await response.json();
  return sessions.some((s) => s.path.split('/').pop() === name && s.kernel?.execution_state === 'idle');
}"""


class Notebook:
    """A notebook open in JupyterLab: run it, wait for it, read its DOM, take screenshots."""

    def __init__(self, lab: JupyterLab, page, name: str):
        self.lab, self.page, self.name = lab, page, name
        self.console_errors: list[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}")
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        self.wait_for_kernel()

    def wait_for_kernel(self, timeout: float = 90) -> None:
        """Until the notebook has a kernel, connected and idle (accepting the kernel dialog if Lab shows one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.page.evaluate(KERNEL_STATE)
            if state == "dialog":
                self.page.locator(".jp-Dialog .jp-mod-accept").click()
            elif state == "idle" and self.page.evaluate(KERNEL_READY, PurePosixPath(self.name).name):
                return
            time.sleep(0.25)
        raise TimeoutError(f"{self.name}: no idle kernel after {timeout} s ({self.page.evaluate(KERNEL_STATE)})")

    def run_all(self) -> None:
        """Run > Run All Cells, through the menu as a user would."""
        self.page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        self.page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()

    def save(self, timeout: float = 30) -> None:
        """File > Save (Ctrl+S), then wait until the tab is no longer marked dirty."""
        self.page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
        self.page.keyboard.press("Control+s")
        self.page.wait_for_function(
            "() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')", timeout=timeout * 1000
        )

    def reload(self) -> None:
        """Reload the page: JupyterLab reconnects to the same kernel, and widgets are rebuilt from its state."""
        self.page.reload()
        self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        self.wait_for_kernel()

    def prompts(self) -> list[str]:
        return self.page.eval_on_selector_all(
            ".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt", "els => els.map(e => e.textContent.trim())"
        )

    def wait_until_idle(self, timeout: float = 120, poll: float = 0.25) -> None:
        """Until every code cell has run (a number in its prompt) and the kernel is idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            prompts = self.prompts()
            if (
                prompts
                and all(p[1:-2].strip().isdigit() for p in prompts)
                and self.page.evaluate(KERNEL_STATE) == "idle"
            ):
                return
            time.sleep(poll)
        raise TimeoutError(f"{self.name}: cells still running after {timeout} s: {self.prompts()}")

    def text(self, selector: str) -> str:
        """The text content of the first element matching ``selector`` ('' if none)."""
        return self.page.evaluate(
            "s => { const e = document.querySelector(s); return e ? e.textContent : ''; }", selector
        )

    def cell_outputs(self, index: int) -> list[str]:
        """The text of each output of code cell ``index``."""
        return (
            self.page.locator(".jp-NotebookPanel .jp-CodeCell")
            .nth(index)
            .locator(".jp-OutputArea-output")
            .all_text_contents()
        )

    def error_outputs(self) -> list[str]:
        """Tracebacks, stderr, and widgets that failed to display."""
        errors = self.page.locator(
            '.jp-NotebookPanel .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        ).all_text_contents()
        widgets = self.page.locator(
            ".jp-NotebookPanel .jp-OutputArea-output", has_text="Error displaying widget"
        ).all_text_contents()
        return errors + widgets

    def screenshot(self, name: str, selector: str | None = None) -> Path:
        """A PNG in artifacts/browser/ of the page (or of one element)."""
        path = ARTIFACTS / f"{name}.png"
        target = self.page.locator(selector).first if selector else self.page
        target.screenshot(path=str(path))
        return path

    def save_dom(self, name: str) -> Path:
        path = ARTIFACTS / f"{name}.html"
        path.write_text(self.page.content())
        return path
