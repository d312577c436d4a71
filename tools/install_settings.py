"""Install the course's Jupyter settings into the running Python's environment.

- JupyterLab / Notebook 7 setting defaults (``<prefix>/share/jupyter/lab/settings/overrides.d``): the views' widget
  state is saved with the notebook, so a saved notebook reopens showing its views rather than "Error displaying
  widget: model not found" (tests/browser/test_reopen.py).
- In a virtual environment, the terminals of any Jupyter server it runs (``make lab``, a hub's learners) start with
  that environment active (``<prefix>/etc/jupyter/jupyter_server_config.json``, its other settings kept), so lesson 10's ``python chat.py`` and
  ``uvicorn main:app`` are the course's. Inheriting PATH is not enough: a server with no terminal of its own (a hub's
  spawner, ``make lab > log``) opens login shells, whose /etc/profile resets PATH, and a ~/.bashrc that starts pyenv
  or conda puts their python first. The terminal's bash reads the usual start-up files first and the environment's
  ``activate`` last (tests/test_terminal.py).
- Every Jupyter server it runs reads notebooks with the course's contents manager (``helpers.jupyter_contents``, in
  the same file): a notebook that is not trusted opens without its saved widget state, which would otherwise run the
  JavaScript an anywidget model carries (tests/browser/test_saved_state_browser.py).
- Every Jupyter server it runs loads ``helpers.jupyter_gitpull``: an nbgitpuller link clones only into one plain
  folder of the home, and only the repositories ``$COURSE_GITPULL_REPOS`` names (none while it is unset), so a link from another
  site cannot put a package beside the lessons or a dot-folder in the home (tests/test_gitpull.py).
- Every Jupyter server it runs loads ``helpers.jupyter_ports``: ``/proxy/PORT/`` opens only a server that Jupyter
  server started (a kernel's, a terminal's), never a classmate's on a shared loopback (tests/test_ports.py).

pip's editable install leaves data files out, so every install route runs this: ``make``, Binder's ``postBuild``
and the README's steps without make.

    python tools/install_settings.py
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

SETTINGS = Path(__file__).resolve().parent.parent / "jupyter" / "streaming-course.json"
SERVER_CONFIG = "jupyter_server_config.json"  # a server reads it from every config path (not from .d folders)
CONTENTS_MANAGER = "helpers.jupyter_contents.ContentsManager"
GITPULL_GUARD = "helpers.jupyter_gitpull"
PORTS_GUARD = "helpers.jupyter_ports"

BASHRC = """\
# The course's JupyterLab terminals (written by tools/install_settings.py): bash's usual start-up files, then the
# course's environment, last, so that its python, uvicorn and helpers come first on PATH.
[ -r /etc/profile ] && . /etc/profile
[ -r "$HOME/.bashrc" ] && . "$HOME/.bashrc"
. {activate}
"""


def install(prefix: str = sys.prefix) -> Path:
    """Copy the settings file into ``prefix``'s overrides.d; return where it went."""
    folder = Path(prefix, "share", "jupyter", "lab", "settings", "overrides.d")
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(SETTINGS, folder))


def terminal_command(prefix: str, os_name: str = os.name) -> list[str] | None:
    """The shell a Jupyter terminal should run so that ``prefix``'s environment is active; None where there is none."""
    if os_name == "nt":
        activate = Path(prefix, "Scripts", "Activate.ps1")
        if not activate.is_file():
            return None
        return ["powershell.exe", "-NoExit", "-ExecutionPolicy", "Bypass", "-File", str(activate)]
    activate = Path(prefix, "bin", "activate")
    bash = shutil.which("bash")
    if not activate.is_file() or bash is None:
        return None  # not a venv (Binder's conda: its python is on PATH already), or no bash to run the rcfile
    rcfile = Path(prefix, "etc", "streaming-course", "terminal.bashrc")
    rcfile.parent.mkdir(parents=True, exist_ok=True)
    rcfile.write_text(BASHRC.format(activate=_quoted(str(activate))))
    return [bash, "--rcfile", str(rcfile), "-i"]


def install_terminal(prefix: str = sys.prefix) -> Path | None:
    """Write the Jupyter server setting that starts terminals in ``prefix``'s environment; return its file."""
    command = terminal_command(prefix)
    if command is None:
        return None
    return _server_config(Path(prefix, "etc", "jupyter"), {"terminado_settings": {"shell_command": command}})


def install_contents_manager(folder: Path = Path(sys.prefix, "etc", "jupyter")) -> Path:
    """Write the Jupyter server setting that reads notebooks with the course's contents manager into the config
    ``folder`` (the environment's, or a server's own ``JUPYTER_CONFIG_DIR``); return its file."""
    return _server_config(folder, {"contents_manager_class": CONTENTS_MANAGER})


def install_gitpull_guard(folder: Path = Path(sys.prefix, "etc", "jupyter")) -> Path:
    """Enable the extension that holds nbgitpuller's links to one plain folder in the config ``folder``'s
    ``jupyter_server_config.d`` (where ``jupyter server extension enable`` writes); return its file."""
    return _enable(folder, GITPULL_GUARD)


def install_ports_guard(folder: Path = Path(sys.prefix, "etc", "jupyter")) -> Path:
    """Enable the extension that lets ``/proxy/PORT/`` open only servers the Jupyter server started, in the config
    ``folder``'s ``jupyter_server_config.d``; return its file."""
    return _enable(folder, PORTS_GUARD)


def _enable(folder: Path, extension: str) -> Path:
    path = Path(folder, "jupyter_server_config.d", extension + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {extension: True}}}, indent=2) + "\n")
    return path


def _server_config(folder: Path, settings: dict) -> Path:
    """Merge ``settings`` into the ServerApp section of ``folder``'s server config, its other settings kept."""
    path = Path(folder, SERVER_CONFIG)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = json.loads(path.read_text()) if path.is_file() else {}
    server = config.setdefault("ServerApp", {})
    for name, value in settings.items():
        server[name] = {**server[name], **value} if isinstance(server.get(name), dict) else value
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def _quoted(text: str) -> str:
    """``text`` as one single-quoted shell word."""
    return "'" + text.replace("'", "'\\''") + "'"


if __name__ == "__main__":
    print(f"settings installed: {install().name}")
    terminal = install_terminal()
    print(f"terminals start in this environment: {terminal.name}" if terminal else "terminals: left as they are")
    print(f"untrusted notebooks open without their saved widget state: {install_contents_manager().name}")
    print(f"nbgitpuller links clone into one plain folder only: {install_gitpull_guard().name}")
    print(f"/proxy/PORT/ opens only servers the Jupyter server started: {install_ports_guard().name}")
