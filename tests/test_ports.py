"""``/proxy/PORT/`` opens only a server the Jupyter server started (helpers/jupyter_ports.py).

Where learners share one loopback (TLJH, ``make hub``), a classmate listening on a port got their page served under
the learner's own server URL by a link to ``/hub/user-redirect/proxy/PORT/``: its script had the learner's cookies,
so their terminals and kernels. tests/browser/test_hub_ports_browser.py runs that attack on a real hub; here one real
Jupyter server with jupyter-server-proxy and the course's config, as make installs it.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2
import pytest

from helpers.jupyter_ports import check, problem
from helpers.net import free_port
from tools.install_settings import install_ports_guard

from .course_server import course_server

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").is_file(), reason="the guard reads Linux's /proc")
TOKEN = "ports-test-token"
PAGE = b"<!doctype html><p>a page someone else serves</p>"


def listener() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_a_port_this_process_listens_on_is_its_own():
    with listener() as sock:
        assert problem(sock.getsockname()[1], server=os.getpid()) is None


def test_a_port_another_process_tree_listens_on_is_refused():
    """The socket is this process's; a process it started (the "server" here) did not start this one."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with listener() as sock:
            found = problem(sock.getsockname()[1], server=other.pid)
        assert found is not None and "did not start" in found, found
    finally:
        other.kill()
        other.wait()


def test_the_proxy_connects_where_the_guard_looked():
    """The address the guard judged is the one the proxy is pinned to: 127.0.0.1 when something listens there,
    else ::1; a socket on 127.0.0.2 is neither judged nor connected to."""
    with listener() as sock:
        port = sock.getsockname()[1]
        assert check(port, server=os.getpid()) == (None, "127.0.0.1")
    if _ipv6():
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
            sock.listen()
            assert check(sock.getsockname()[1], server=os.getpid()) == (None, "[::1]")
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        sock.listen()
        assert "nothing listens" in (problem(sock.getsockname()[1], server=os.getpid()) or "")


def test_a_port_nobody_listens_on_is_refused_with_what_to_do():
    found = problem(free_port(), server=os.getpid())
    assert found is not None and "nothing listens" in found and "start your server" in found, found


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real Jupyter server with jupyter-server-proxy and the course's config; yields (origin, runtime folder)."""
    root = tmp_path_factory.mktemp("home")
    config = tmp_path_factory.mktemp("config")
    install_ports_guard(config)
    runtime = tmp_path_factory.mktemp("runtime")
    env = {"JUPYTER_RUNTIME_DIR": str(runtime), "COURSE_OFFLINE": "1"}  # the relay /relay/ starts answers offline
    with course_server(root, config, TOKEN, env) as origin:
        assert "helpers.jupyter_ports" in (config / "server.log").read_text()
        yield origin, runtime


AUTH = {"Authorization": f"token {TOKEN}"}


@pytest.mark.slow
def test_the_proxy_does_not_serve_a_port_someone_else_listens_on(server):
    """A server this test runs (a classmate's, to the Jupyter server: not one it started) is not proxied: 403 with a
    text/plain reason, not its page, on every spelling of the route."""
    origin, _ = server
    page = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=page.serve_forever, daemon=True).start()
    try:
        port = page.server_address[1]
        assert httpx2.get(f"http://127.0.0.1:{port}/").content == PAGE  # it does serve its page
        for route in ("proxy/", "proxy/absolute/", "proxy/127.0.0.1:", "proxy/localhost:"):  # every spelling
            answer = httpx2.get(f"{origin}/{route}{port}/", headers=AUTH)
            assert answer.status_code == 403, (route, answer.status_code, answer.text[:200])
            assert answer.headers["content-type"].startswith("text/plain")
            assert "did not start" in answer.text and PAGE not in answer.content
    finally:
        page.shutdown()
        page.server_close()


def _ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


# Where a classmate may listen on the learner's port without a conflict: not where /proxy/ connects (127.0.0.1, which
# the guard pins: "localhost" resolves to ::1 first on Debian's /etc/hosts), so neither served nor a reason to refuse
CLASSMATE = [("127.0.0.2", socket.AF_INET)] + ([("::1", socket.AF_INET6)] if _ipv6() else [])


@pytest.mark.slow
def test_the_proxy_serves_a_server_the_learners_kernel_started(server):
    """What lessons 08 and 10 do: a server started from the learner's own kernel opens through /proxy/PORT/, also
    while a classmate listens on the same port at 127.0.0.2 or ::1 (refused with 403 before: a classmate's DoS; and
    where localhost is ::1 first, a classmate there part of the time was served, as the guard read /proc before the
    proxy connected)."""
    from jupyter_client import BlockingKernelClient

    origin, runtime = server
    kernel = httpx2.post(f"{origin}/api/kernels", headers=AUTH, json={"name": "python3"}).json()["id"]
    client = BlockingKernelClient(connection_file=str(runtime / f"kernel-{kernel}.json"))
    client.load_connection_file()
    client.start_channels()
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                client.wait_for_ready(timeout=30)
                break
            except RuntimeError:  # "died": a client that connects before the kernel's heartbeat beats takes it so
                assert time.monotonic() < deadline, "the kernel did not answer within 90 s"
                time.sleep(0.5)
        port = free_port()
        code = (
            "import subprocess, sys\n"
            f"page = subprocess.Popen([sys.executable, '-m', 'http.server', '{port}', '--bind', '127.0.0.1'])"
        )
        reply = client.execute_interactive(code, timeout=60)
        assert reply["content"]["status"] == "ok", json.dumps(reply["content"])[:500]
        deadline, answer = time.monotonic() + 30, None
        while time.monotonic() < deadline:
            answer = httpx2.get(f"{origin}/proxy/{port}/", headers=AUTH)
            if answer.status_code == 200:
                break
            time.sleep(0.2)  # http.server still starting: "nothing listens"
        assert answer is not None and answer.status_code == 200, answer and answer.text[:300]
        assert "Directory listing" in answer.text
        for address, family in CLASSMATE:  # a classmate beside the learner's 127.0.0.1:PORT on the same port
            with socket.socket(family) as beside:
                beside.bind((address, port))
                beside.listen()
                answer = httpx2.get(f"{origin}/proxy/{port}/", headers=AUTH)
                assert answer.status_code == 200 and "Directory listing" in answer.text, (address, answer.text[:300])
        client.execute_interactive("page.kill(); page.wait()", timeout=30)
    finally:
        client.stop_channels()
        httpx2.delete(f"{origin}/api/kernels/{kernel}", headers=AUTH)


@pytest.mark.slow
def test_the_course_relay_a_named_server_starts_still_opens(server):
    """/relay/ is a named server: jupyter-server-proxy picks its port and starts it, a process of this server."""
    origin, _ = server
    page = httpx2.get(f"{origin}/relay/", headers=AUTH, timeout=90)
    assert page.status_code == 200 and "<html" in page.text.lower(), (page.status_code, page.text[:300])


def test_the_guides_tljh_steps_install_the_course_server_settings():
    """pip installs none of the course's server guards (this one, nbgitpuller's, the contents manager that drops an
    untrusted notebook's widget state): the guide's TLJH steps must run tools/install_settings.py, as make, the
    README and Binder's postBuild do."""
    guide = (Path(__file__).resolve().parents[1] / "docs" / "workshop.md").read_text()
    steps = guide.split("1. Install TLJH", 1)[1].split("\n## ", 1)[0]
    assert "python tools/install_settings.py" in steps
