"""The course on a real JupyterHub: three learners at once, the way bench/hub.py runs a whole class.

One hub on 127.0.0.1 (configurable-http-proxy, DummyAuthenticator, SimpleLocalProcessSpawner, homes in a temporary
folder, the course installed in the single-user environment, offline). Three learners log in with the password,
start their servers together, run every cell of lesson 01 over the kernel websocket and stream lesson 08's relay
through ``/user/NAME/relay/``. The figures (times, memory) are bench/hub.py's job; this test checks that it all works.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import anthropic
import httpx2
import nbformat
import psutil
import pytest

from bench.hub import LESSON, RELAY_PROMPT, report, run_class
from helpers.hub import Hub, alive, kind_of
from helpers.offline import start

from .conftest import MODEL, ROOT
from .parts import need

pytestmark = pytest.mark.hub

LEARNERS = 3


def expected_relay_text() -> str:
    """What the relay must stream: the local API's answer, fetched here independently of the hub."""
    with start(pace="instant") as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="test-key", max_retries=0)
        message = client.messages.create(
            model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": RELAY_PROMPT}]
        )
    return message.content[0].text


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    need("node/npm")
    # instant pace keeps the run short; bench/hub.py runs at the realistic pace learners see
    with Hub(tmp_path_factory.mktemp("hub"), env={"COURSE_PACE": "instant"}, copy=[LESSON]) as running:
        yield running


@pytest.fixture(scope="module")
def class_of_three(hub):
    return asyncio.run(run_class(hub, LEARNERS, spawn_timeout=300))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_three_learners_start_together_run_lesson_01_and_stream_the_relay(hub, class_of_three):
    result = class_of_three
    assert [(x.name, x.error) for x in result.learners if x.error] == [], hub.log_tail()
    assert len(result.ready) == LEARNERS and result.all_ready_s is not None
    code_cells = [c for c in nbformat.read(LESSON, as_version=4).cells if c.cell_type == "code"]
    answer = expected_relay_text()
    for learner in result.learners:
        assert learner.cells_run == len(code_cells), learner.name
        assert learner.ttft_notebook is not None, f"{learner.name}: lesson 01's stream printed nothing"
        assert learner.relay_text == answer, learner.name
    assert len(result.streamed) == LEARNERS
    assert report(result)[-1].startswith(f"hub: {LEARNERS}/{LEARNERS} learners streamed · all ready in ")


@pytest.mark.slow
def test_each_learner_has_a_server_a_kernel_and_a_relay_in_their_own_home(hub, class_of_three):
    servers = hub.servers()
    assert sorted(servers) == sorted(x.name for x in class_of_three.learners)
    for name, server in servers.items():
        assert server.cwd() == str(hub.home(name))  # SimpleLocalProcessSpawner: the home under the hub's folder
        assert (hub.home(name) / LESSON.name).is_file()
        kinds = [kind_of(child.cmdline()) for child in server.children(recursive=True)]
        assert "kernel" in kinds and "relay" in kinds
        # kernels on Unix sockets: no TCP port race between thirty servers starting kernels at once
        (connection,) = (Path(hub.runtime) / name).glob("kernel-*.json")
        assert json.loads(connection.read_text())["transport"] == "ipc"
    memory = class_of_three.memory
    assert len(memory["total"]) == LEARNERS
    assert all(mib > 0 for kind in ("server", "kernel", "relay") for mib in memory[kind])
    assert class_of_three.hub_mib > 0 and class_of_three.proxy_mib > 0


def test_the_hub_its_proxy_and_every_learner_process_listen_on_loopback_only(hub, class_of_three):
    listening = {
        conn.laddr.ip
        for process in hub.processes()
        for conn in process.net_connections(kind="inet")
        if conn.status == "LISTEN"
    }
    assert listening == {"127.0.0.1"}


def test_a_wrong_password_is_refused(hub):
    with httpx2.Client(base_url=hub.url, timeout=60) as http:
        page = http.get("/hub/login")
        xsrf = page.text.split('name="_xsrf" value="', 1)[1].split('"', 1)[0]
        refused = http.post("/hub/login", data={"username": "mallory", "password": hub.password + "x", "_xsrf": xsrf})
        assert refused.status_code == 403
        assert not any(c.name.startswith("jupyterhub-session") for c in http.cookies.jar)


def test_a_learners_relay_is_not_served_without_logging_in(hub, class_of_three):
    with httpx2.Client(base_url=hub.url, timeout=60) as http:
        anonymous = http.get("/user/learner01/relay/")
    assert anonymous.status_code == 302
    assert "/hub/" in anonymous.headers["location"]


def test_a_hub_not_started_says_so(tmp_path):
    hub = Hub(tmp_path)
    for use in (hub.running, hub.processes):
        with pytest.raises(RuntimeError, match="the hub is not running"):
            use()


GATEWAY_LINE = re.compile(
    rf"gateway: {LEARNERS}/{LEARNERS} learners streamed through it · key in 0 of {LEARNERS} learner environments · "
    rf"over budget: refused 402 · dashboard lists {LEARNERS} learners · memory per learner \d+ MiB"
)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_bench_runs_a_class_of_three_through_the_gateway(tmp_path):
    """`python bench/hub.py --learners 3 --gateway`, as the guide runs it for a class: lesson 01 and the relay through
    the class gateway, the key in no learner's environment, an over-budget learner refused, the dashboard listing
    every learner. Its exit status says every one of those held."""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "hub.py"),
            "--learners",
            str(LEARNERS),
            "--gateway",
            "--keep",
            str(tmp_path / "hub"),
        ],
        capture_output=True,
        text=True,
        timeout=850,
        env={k: v for k, v in os.environ.items() if k != "COURSE_OFFLINE"},
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines and GATEWAY_LINE.fullmatch(lines[-1]), done.stdout + done.stderr[-3000:]
    assert f"streamed: {LEARNERS}/{LEARNERS}" in lines[0]
    assert f"kernels with a local API of their own: 0 of {LEARNERS}" in done.stdout
    assert "Starting service 'gateway'" in (tmp_path / "hub" / "jupyterhub.log").read_text()


def test_every_hub_makes_its_own_password_and_none_is_in_the_code(tmp_path):
    """`make hub` prints the password of its run; no fixed one is written in the code, and each hub has another."""
    import helpers.hub

    first, second = Hub(tmp_path / "a"), Hub(tmp_path / "b")
    assert first.password != second.password and len(first.password) >= 16
    assert json.dumps(first.password) in first._config() and second.password not in first._config()
    assert not hasattr(helpers.hub, "PASSWORD")


@pytest.mark.parametrize("command", ["helpers.hub", "bench.hub"])
def test_a_command_that_starts_a_hub_refuses_an_existing_keep_folder_and_a_missing_proxy(
    command, tmp_path, monkeypatch, capsys
):
    """`make hub` and bench/hub.py check their arguments with one helper (helpers.hub.parse_args) before any hub."""
    import importlib

    import helpers.hub

    main = importlib.import_module(command).main
    with pytest.raises(SystemExit) as stopped:
        main(["--keep", str(tmp_path)])
    assert stopped.value.code == 2 and "--keep: expected a folder that does not exist yet" in capsys.readouterr().err
    monkeypatch.setattr(helpers.hub, "CHP", tmp_path / "no-proxy-here")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit) as stopped:
        main(["--keep", str(tmp_path / "new")])
    assert stopped.value.code == 1 and "run `make hub`" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_hub_that_dies_at_start_leaves_no_process_running_and_no_port_taken(tmp_path):
    """The hub is killed once its proxy and its gateway run (as the OOM killer or a crash would): its children, in
    sessions of their own, are left to init, and leaving the hub's context ends them all and frees every port."""
    need("node/npm")
    hub = Hub(tmp_path / "hub", env={"COURSE_PACE": "instant"}, gateway={"COURSE_GATEWAY_MODE": "offline"})
    seen: dict[psutil.Process, str] = {}  # what the hub had started when it died, with its command line

    def kill_the_hub_once_its_gateway_answers():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if hub.process and httpx2.get(hub.gateway_url + "/v1/models", timeout=5).status_code == 401:
                    for process in psutil.Process(hub.process.pid).children(recursive=True):
                        seen[process] = " ".join(process.cmdline())
                    hub.process.send_signal(signal.SIGKILL)
                    return
            except (psutil.Error, httpx2.TransportError):
                pass
            time.sleep(0.1)

    killer = threading.Thread(target=kill_the_hub_once_its_gateway_answers)
    killer.start()
    try:
        with hub:
            assert hub.running().wait(timeout=300) == -signal.SIGKILL
    except RuntimeError as err:  # or it died while Hub.__enter__ still waited for it to answer
        assert "jupyterhub exited with -9" in str(err)
    killer.join()
    commands = " ".join(seen.values())
    assert all(kind in commands for kind in ("configurable-http-proxy", "helpers.gateway", "helpers.offline")), seen
    assert [command for process, command in seen.items() if alive(process)] == []
    for port in (hub.port, hub.hub_port, hub.proxy_api_port, hub.gateway_port):
        with socket.socket() as probe:  # nothing listens on it any more (connections in TIME_WAIT do not count)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
