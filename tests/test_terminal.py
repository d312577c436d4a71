"""JupyterLab's terminals run the course's environment, as lesson 10 needs (``python chat.py``, ``uvicorn main:app``).

A server with no terminal of its own (a hub's spawner, ``make lab > log``) opens login shells, whose /etc/profile
resets PATH, and a ~/.bashrc that starts pyenv or conda puts their python first: the course's terminal setting
(tools/install_settings.py, run by ``make``) activates the environment after both.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbformat.sign import NotebookNotary
from tornado.websocket import websocket_connect

from helpers.net import free_port
from tools.install_settings import (
    CONTENTS_MANAGER,
    SERVER_CONFIG,
    install_contents_manager,
    install_terminal,
    terminal_command,
)

INSTALLED = Path(sys.prefix, "etc", "jupyter", SERVER_CONFIG)


def test_the_setting_runs_bash_with_the_environment_activated_after_the_start_up_files(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "activate").write_text("")
    (tmp_path / "etc" / "jupyter").mkdir(parents=True)
    (tmp_path / "etc" / "jupyter" / SERVER_CONFIG).write_text('{"ServerApp": {"shutdown_no_activity_timeout": 60}}')
    config = json.loads(install_terminal(str(tmp_path)).read_text())
    assert config["ServerApp"]["shutdown_no_activity_timeout"] == 60  # what was there stays
    command = config["ServerApp"]["terminado_settings"]["shell_command"]
    assert Path(command[0]).name == "bash" and command[1] == "--rcfile" and command[-1] == "-i"
    lines = Path(command[2]).read_text().splitlines()
    activate = next(i for i, line in enumerate(lines) if line.endswith("/bin/activate'"))
    assert activate > next(i for i, line in enumerate(lines) if ".bashrc" in line)


def test_every_server_reads_notebooks_with_the_contents_manager_that_drops_untrusted_widget_state(tmp_path):
    """Beside the terminal's setting, kept (tests/browser/test_saved_state_browser.py is the attack it stops)."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "activate").write_text("")
    install_terminal(str(tmp_path))
    config = json.loads(install_contents_manager(tmp_path / "etc" / "jupyter").read_text())["ServerApp"]
    assert config["contents_manager_class"] == CONTENTS_MANAGER and "shell_command" in config["terminado_settings"]
    module, _, name = CONTENTS_MANAGER.rpartition(".")
    manager = getattr(importlib.import_module(module), name)(root_dir=str(tmp_path))
    manager.notary = NotebookNotary(db_file=":memory:", secret=b"s" * 32)  # not the user's signature database
    crafted = nbformat.v4.new_notebook(metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {}}})
    nbformat.write(crafted, tmp_path / "crafted.ipynb")
    assert "widgets" not in asyncio.run(manager.get("crafted.ipynb"))["content"]["metadata"]
    asyncio.run(manager.save({"type": "notebook", "content": crafted}, "saved.ipynb"))  # saved here: signed, trusted
    assert "widgets" in asyncio.run(manager.get("saved.ipynb"))["content"]["metadata"]


def test_no_setting_where_there_is_no_environment_to_activate(tmp_path):
    assert install_terminal(str(tmp_path)) is None  # e.g. Binder's conda, whose python is on PATH already
    assert terminal_command(str(tmp_path), os_name="nt") is None
    (tmp_path / "Scripts").mkdir()
    (tmp_path / "Scripts" / "Activate.ps1").write_text("")
    assert terminal_command(str(tmp_path), os_name="nt")[-1].endswith("Activate.ps1")


@pytest.mark.slow
def test_a_terminal_of_a_server_started_without_a_tty_runs_the_course_python(tmp_path):
    assert INSTALLED.is_file(), f"{INSTALLED} is missing: run make (tools/install_settings.py writes it)"
    home = tmp_path / "home"
    shims = home / "shims"  # what pyenv's init does in a ~/.bashrc: its python first on PATH
    shims.mkdir(parents=True)
    (shims / "python").write_text("#!/bin/sh\necho not the course python\n")
    (shims / "python").chmod(0o755)
    (home / ".bashrc").write_text('export PATH="$HOME/shims:$PATH"\n')
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(HOME=str(home), PATH="/usr/local/bin:/usr/bin:/bin", SHELL="/bin/sh", JUPYTER_PLATFORM_DIRS="1")
    port, token = free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}"]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = (tmp_path / "server.log").open("wb")  # not a TTY: the server's terminals would be login shells
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(f"{base}/api/status?token={token}", server)
        request = urllib.request.Request(f"{base}/api/terminals?token={token}", method="POST", data=b"")
        name = json.load(urllib.request.urlopen(request, timeout=10))["name"]
        line = "python -c 'import sys, anthropic, helpers.connect; print(\"PREFIX=\" + sys.prefix)'; command -v uvicorn"
        output = asyncio.run(_run_in_terminal(f"ws://127.0.0.1:{port}/terminals/websocket/{name}?token={token}", line))
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    prefix = re.search(r"PREFIX=(/[^\s\"]+)", output)
    assert prefix, f"the terminal's python is not the course's:\n{output[-2000:]}"
    assert Path(prefix.group(1)).resolve() == Path(sys.prefix).resolve()
    uvicorn = re.search(r"(/\S+/bin/uvicorn)", output)
    assert uvicorn and Path(uvicorn.group(1)).resolve().parent == Path(sys.prefix, "bin").resolve(), output[-2000:]


async def _run_in_terminal(url: str, line: str, timeout: float = 60) -> str:
    """Type ``line`` into the terminal at ``url``; return what it printed once uvicorn's path (the last word) shows."""
    socket = await websocket_connect(url)
    socket.write_message(json.dumps(["stdin", line + "\r"]))
    output, deadline = "", time.monotonic() + timeout
    while not re.search(r"/bin/uvicorn\s|not found", output) and time.monotonic() < deadline:
        try:
            message = await asyncio.wait_for(socket.read_message(), deadline - time.monotonic())
        except asyncio.TimeoutError:
            break
        if message is None:
            break
        kind, *text = json.loads(message)
        output += "".join(text) if kind == "stdout" else ""
    socket.close()
    return output


def _wait_ready(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "the Jupyter server ended at start"
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the Jupyter server did not answer within {timeout} s")
