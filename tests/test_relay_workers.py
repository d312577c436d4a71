"""``python -m helpers.web --workers N``: N processes serve one port, each with the relay's checks, and all of them
end with the parent. The relay keeps nothing between requests, so any worker answers any request."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time

import httpx2
import psutil
import pytest

from helpers.offline.__main__ import main as offline_main
from helpers.web import parse
from helpers.web.__main__ import main as web_main
from helpers.web.gate import MAX_BODY_BYTES

from .conftest import MODEL, ROOT

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
    with httpx2.Client(timeout=120) as http:  # a generous deadline: two workers start slowly on a loaded machine
        # Workers answer once they have started: the socket is bound (and queues requests) before.
        answers = [http.post(f"{url}/chat", json=HI) for _ in range(6)]
        foreign = http.get(f"{url}/", headers={"Host": "attacker.example"})
        allowed = http.get(f"{url}/", headers={"Host": "hub.example.org"})
        cross_site = http.post(f"{url}/chat", json=HI, headers={"Sec-Fetch-Site": "cross-site"})
        too_large = http.post(  # answered before its body is read: the worker's protocol says the connection ends
            f"{url}/chat", content=b" " * (MAX_BODY_BYTES + 1), headers={"Content-Type": "application/json"}
        )
    workers = workers_of(proc)
    assert len(workers) == 2, [p.cmdline() for p in workers]
    for answer in answers:
        events = parse(answer.text)
        assert answer.status_code == 200 and [e.event for e in events[-2:]] == ["stop", "done"], answer.text[-300:]
        assert "20" in "".join(json.loads(e.data)["text"] for e in events if e.event == "text")
    assert foreign.status_code == 421 and foreign.json()["error"]["type"] == "invalid_request_error"
    assert allowed.status_code == 200  # --allow-host reaches every worker
    assert cross_site.status_code == 403 and cross_site.json()["error"]["type"] == "permission_error"
    assert too_large.status_code == 413 and too_large.headers["connection"] == "close", too_large.headers
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) is not None
    gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"workers left running after the parent ended: {[p.pid for p in alive]}"


@pytest.mark.parametrize("workers", ["0", "65", "two"])
def test_a_bad_worker_count_is_a_clear_error(workers, capsys):
    with pytest.raises(SystemExit) as refused:
        web_main(["--workers", workers])
    said = capsys.readouterr().err
    assert refused.value.code == 2
    assert "--workers" in said and ("expected 1 to 64" in said or "invalid int value" in said)


def test_one_client_cannot_hold_every_connection_and_idle_ones_give_way(relay_cli):
    """--max-connections 8: one address may hold 6; past that its new connections close at once. Other addresses
    (127.0.0.2 and .3 are this machine too) still get in, and when the server is full an idle connection gives way
    instead of a 503."""
    url, _ = relay_cli("--max-connections", "8")
    port = int(url.rsplit(":", 1)[1])
    hog = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(8)]  # idle: they send nothing
    try:
        closed = _closed_by_server(hog, expected=2)
        assert len(closed) == 2, f"{len(closed)} of 8 idle connections from one address were closed, not 2"
        others = [
            httpx2.Client(timeout=30, transport=httpx2.HTTPTransport(local_address=f"127.0.0.{n}")) for n in (2, 3)
        ]
        answers = [http.post(f"{url}/chat", json=HI) for http in others]  # 6 + 2 = 8: full, yet both are answered
        assert [a.status_code for a in answers] == [200, 200], [a.text[:200] for a in answers]
        assert all("event: done" in a.text for a in answers)
        for http in others:
            http.close()
    finally:
        for sock in hog:
            sock.close()


def _closed_by_server(socks: list[socket.socket], expected: int, timeout: float = 30, settle: float = 1) -> list:
    """The sockets the server closed: wait (up to ``timeout``) until ``expected`` of them are closed, then ``settle``
    seconds more for any other to close too. All are watched at once (one socket after another took a second each)."""
    with selectors.DefaultSelector() as watch:
        for sock in socks:
            watch.register(sock, selectors.EVENT_READ)
        closed: list[socket.socket] = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            for key, _ in watch.select(timeout=left):
                watch.unregister(key.fileobj)
                if key.fileobj.recv(1) == b"":  # readable with nothing to read: the server closed it
                    closed.append(key.fileobj)
            if len(closed) >= expected and deadline > time.monotonic() + settle:
                deadline = time.monotonic() + settle  # enough closed: give the others a moment to show they stay open
        return closed


def test_max_connections_is_checked(capsys):
    for main in (web_main, offline_main):
        with pytest.raises(SystemExit) as refused:
            main(["--max-connections", "0"])
        assert refused.value.code == 2
        assert "--max-connections: expected 1 to 100,000, got 0" in capsys.readouterr().err


def test_model_pins_every_worker_to_one_model(relay_cli, api):
    url, _proc = relay_cli("--workers", "2", "--model", MODEL)
    with httpx2.Client(timeout=120) as http:
        refused = http.post(f"{url}/chat", json={**HI, "model": "claude-opus-4-1"})
        assert refused.status_code == 400 and f"answers with {MODEL} only" in refused.json()["error"]["message"]
        pinned = http.post(f"{url}/chat", json={**HI, "model": MODEL})
        assert pinned.status_code == 200 and "event: text" in pinned.text
