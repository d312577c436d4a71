"""Memory per learner on a hub: a real kernel with the course loaded, the JupyterLab server, the proxied relay.

Measured in one run, on this machine:

- baseline: a bare python3 kernel (jupyter_client), after one trivial cell;
- the same kernel after the course's first cells: ``helpers.connect``, ``helpers.widgets``, ``helpers.web``
  (when present), ``anthropic``, one offline stream (which starts the local API's thread), then a 2000-number stream;
- a JupyterLab single-user server (``jupyter lab``) after serving /lab and running one kernel through its REST API;
- the relay and local API processes that jupyter-server-proxy starts on the first visit to /relay/ and /offline-api/.

RSS counts shared libraries in full (what a per-user container limit sees); USS is what each process adds on its own
(closer to the cost per user when users share one machine, as on The Littlest JupyterHub).

    python bench/kernel_memory.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
from jupyter_client.manager import start_new_kernel

from helpers.net import free_port

MIB = 1024 * 1024
TOKEN = "bench-kernel-memory"
COURSE = """
import importlib.util
import anthropic
from helpers import connect
for name in ("helpers.widgets", "helpers.web"):
    if importlib.util.find_spec(name):
        importlib.import_module(name)
client = connect.client(quiet=True)
with client.messages.stream(model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "Count to 3"}]) as s:
    text = s.get_final_text()
assert text == "1, 2, 3.", text
"""
BIG_STREAM = """
with client.messages.stream(model="claude-sonnet-4-6", max_tokens=20000, messages=[{"role": "user", "content": "Count to 2000"}]) as s:
    text = s.get_final_text()
assert text.endswith("2000."), text[-40:]
"""


def memory(pid: int) -> tuple[float, float]:
    """(RSS, USS) of a process in MiB."""
    info = psutil.Process(pid).memory_full_info()
    return info.rss / MIB, info.uss / MIB


def run_cell(client, code: str) -> None:
    reply = client.execute_interactive(code, timeout=120, output_hook=lambda _msg: None)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")


def kernel_figures(env: dict) -> dict[str, tuple[float, float]]:
    manager, client = start_new_kernel(kernel_name="python3", env=env, stderr=subprocess.DEVNULL)
    try:
        pid = manager.provisioner.process.pid
        run_cell(client, "1 + 1")
        time.sleep(1)
        bare = memory(pid)
        run_cell(client, COURSE)
        time.sleep(1)
        course = memory(pid)
        run_cell(client, BIG_STREAM)
        time.sleep(1)
        return {
            "bare kernel (baseline)": bare,
            "kernel, course loaded + 1 stream": course,
            "kernel, + a 2000-number stream": memory(pid),
        }
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def get(url: str, method: str = "GET") -> bytes:
    request = urllib.request.Request(
        url, method=method, headers={"Authorization": f"token {TOKEN}"}, data=b"{}" if method == "POST" else None
    )
    with urllib.request.urlopen(request, timeout=60) as r:
        return r.read()


def server_figures(env: dict, root: str) -> dict[str, tuple[float, float]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={TOKEN}",
        "--ServerApp.open_browser=False",
        "--ServerApp.allow_root=True",
        f"--ServerApp.root_dir={root}",
    ]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                get(f"{base}/api/status")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("jupyter lab did not start") from None
                time.sleep(0.3)
        get(f"{base}/lab")
        kernel = json.loads(get(f"{base}/api/kernels", "POST"))
        time.sleep(3)
        figures = {"JupyterLab server, 1 kernel running": memory(server.pid)}
        get(f"{base}/relay/")  # jupyter-server-proxy starts the relay (python -m helpers.web)
        get(f"{base}/offline-api/v1/models")  # and the local API (python -m helpers.offline)
        time.sleep(1)
        children = {" ".join(p.cmdline()[1:3]): p.pid for p in psutil.Process(server.pid).children()}
        for label, module in (
            ("proxied relay process (/relay/)", "-m helpers.web"),
            ("proxied local API process (/offline-api/)", "-m helpers.offline"),
        ):
            if module in children:
                figures[label] = memory(children[module])
        get(f"{base}/api/kernels/{kernel['id']}", "DELETE")
        return figures
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(COURSE_OFFLINE="1", COURSE_PACE="instant")
    with tempfile.TemporaryDirectory() as root:
        env["JUPYTER_RUNTIME_DIR"] = str(Path(root) / "runtime")
        figures = kernel_figures(env)
        figures.update(server_figures(env, root))
    width = max(map(len, figures))
    print(f"{'process':<{width}}  {'RSS MiB':>8}  {'USS MiB':>8}")
    for label, (rss, uss) in figures.items():
        print(f"{label:<{width}}  {rss:8.0f}  {uss:8.0f}")
    bare, course = figures["bare kernel (baseline)"], figures["kernel, course loaded + 1 stream"]
    print(
        f"the course adds {course[0] - bare[0]:.0f} MiB RSS to a bare kernel ({course[0] / bare[0]:.1f}x the baseline)"
    )
    server = figures["JupyterLab server, 1 kernel running"]
    per_user = server[0] + course[0]
    print(f"one learner, one open notebook: {per_user:.0f} MiB RSS (server + course kernel)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
