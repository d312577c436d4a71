"""``python -m helpers.web --workers N``: N processes serve one port, each with the relay's checks, and all of them
end with the parent. The relay keeps nothing between requests, so any worker answers any request."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx2
import psutil
import pytest

from helpers.web import parse

from .conftest import ROOT

pytestmark = pytest.mark.slow  # starts relays with several worker processes: `make test`, not `make unit`

HI = {"messages": [{"role": "user", "content": "Count to 20"}]}


@pytest.fixture
def relay_cli(api):
    """Start ``python -m helpers.web ARGS`` against the local API; yields (URL, process); stops it by its PID."""
    procs = []

    def run(*args: str) -> tuple[str, subprocess.Popen]:
        env = {**os.environ, "COURSE_OFFLINE": "1", "COURSE_OFFLINE_URL": api.url}
        proc = subprocess.Popen(
            [sys.executable, "-m", "helpers.web", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        procs.append(proc)
        first = proc.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:"), first
        return first.removeprefix("listening on "), proc

    yield run
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def workers_of(proc: subprocess.Popen) -> list[psutil.Process]:
    return [p for p in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(p.cmdline())]


def test_two_workers_serve_one_port_with_the_relays_checks(relay_cli, api):
    url, proc = relay_cli("--workers", "2", "--allow-host", "hub.example.org")
    with httpx2.Client(timeout=30) as http:
        # Workers answer once they have started: the socket is bound (and queues requests) before.
        answers = [http.post(f"{url}/chat", json=HI) for _ in range(6)]
        foreign = http.get(f"{url}/", headers={"Host": "attacker.example"})
        allowed = http.get(f"{url}/", headers={"Host": "hub.example.org"})
        cross_site = http.post(f"{url}/chat", json=HI, headers={"Sec-Fetch-Site": "cross-site"})
    workers = workers_of(proc)
    assert len(workers) == 2, [p.cmdline() for p in workers]
    for answer in answers:
        events = parse(answer.text)
        assert answer.status_code == 200 and [e.event for e in events[-2:]] == ["stop", "done"], answer.text[-300:]
        assert "20" in "".join(json.loads(e.data)["text"] for e in events if e.event == "text")
    assert foreign.status_code == 421 and foreign.json()["error"]["type"] == "invalid_request_error"
    assert allowed.status_code == 200  # --allow-host reaches every worker
    assert cross_site.status_code == 403 and cross_site.json()["error"]["type"] == "permission_error"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) is not None
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"workers left running after the parent ended: {[p.pid for p in alive]}"


@pytest.mark.parametrize("workers", ["0", "65", "two"])
def test_a_bad_worker_count_is_a_clear_error(workers):
    done = subprocess.run(
        [sys.executable, "-m", "helpers.web", "--workers", workers], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "--workers" in done.stderr and ("expected 1 to 64" in done.stderr or "invalid int value" in done.stderr)


def test_max_connections_bounds_the_relay_and_is_checked(relay_cli):
    url, _ = relay_cli("--max-connections", "2")
    with httpx2.Client(timeout=30) as a, httpx2.Client(timeout=30) as b, httpx2.Client(timeout=30) as c:
        a.get(f"{url}/"), b.get(f"{url}/")  # two kept-alive connections: the bound
        assert c.get(f"{url}/").status_code == 503  # uvicorn refuses the third
    for command in (["helpers.web"], ["helpers.offline"]):
        done = subprocess.run(
            [sys.executable, "-m", *command, "--max-connections", "0"], cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 2 and "--max-connections: expected 1 to 100,000, got 0" in done.stderr
