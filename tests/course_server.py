"""A real Jupyter server with the course's server config, for the tests of the course's server extensions."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from helpers.net import free_port


@contextlib.contextmanager
def course_server(root: Path, config: Path, token: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``python -m jupyter_server`` on a free loopback port, rooted at ``root``, with ``config`` as its
    JUPYTER_CONFIG_DIR (where a test installed the extension it checks); yields its origin once ``/api/status``
    answers. The server's output is in ``config / "server.log"``; the server is ended on exit."""
    port = free_port()
    env = {**os.environ, "HOME": str(root), "JUPYTER_CONFIG_DIR": str(config), **(env or {})}
    log_path = config / "server.log"
    cmd = [
        *(sys.executable, "-m", "jupyter_server", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}"),
        *("--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False"),
        *("--ServerApp.allow_root=True", f"--ServerApp.root_dir={root}"),
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        origin = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                assert process.poll() is None, log_path.read_text()[-3000:]
                try:
                    if httpx2.get(f"{origin}/api/status", headers={"Authorization": f"token {token}"}).is_success:
                        break
                except httpx2.TransportError:
                    time.sleep(0.2)
            else:
                pytest.fail(f"jupyter server not ready after 90 s:\n{log_path.read_text()[-3000:]}")
            yield origin
        finally:
            process.terminate()
            process.wait(timeout=20)
