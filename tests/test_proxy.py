"""The relay and the local API through a real Jupyter server's jupyter-server-proxy, as on JupyterHub/Binder.

One ``jupyter server`` runs under a hub-like base URL (``/user/learner/``) with a token; its relay talks to a
local API paced slowly enough that "the first event arrived before the upstream finished" shows the proxy streams
rather than buffers.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from helpers import proxy
from helpers.net import free_port
from helpers.offline import start
from helpers.web.framing import SSEEvent, events, streamed_text

from .conftest import ROOT

pytestmark = pytest.mark.slow  # starts a Jupyter server: `make test`, not `make unit`

PREFIX = "/user/learner/"
TOKEN = "proxy-test-token"
PROMPT = "Count to 40"
ANSWER = ", ".join(str(n) for n in range(1, 41)) + "."


@pytest.fixture(scope="module")
def upstream():
    """The local API the proxied relay streams from: 24 tokens/s, so "Count to 40" (80 tokens) takes about 3 s."""
    with start(pace=24) as api:
        yield api


@pytest.fixture(scope="module")
def server(upstream, tmp_path_factory):
    """A real Jupyter server with jupyter-server-proxy, as a hub would spawn it; yields its origin (scheme://host:port)."""
    names = {e.name for e in importlib.metadata.entry_points(group="jupyter_serverproxy_servers")}
    if not {"relay", "offline-api"} <= names:
        pytest.fail(
            f"the course's jupyter_serverproxy_servers entry points are not installed (found {sorted(names)}): run `pip install -e .` (make does it)"
        )
    root = tmp_path_factory.mktemp("jupyter-root")
    port = free_port()
    env = {
        **os.environ,
        "COURSE_OFFLINE": "1",
        "COURSE_OFFLINE_URL": upstream.url,
        "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
        "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
    }
    env.pop("ANTHROPIC_API_KEY", None)
    log = (root / ".server.log").open("w")
    cmd = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.base_url={PREFIX}",
        f"--IdentityProvider.token={TOKEN}",
        "--ServerApp.open_browser=False",
        "--ServerApp.allow_root=True",
        "--ServerApp.allow_remote_access=True",  # answer to a hub's public name, as behind a real hub's proxy
        f"--ServerApp.root_dir={root}",
        # The relay of test_a_relay_started_by_the_notebook... runs in this test process, which the server did not
        # start, so the /proxy/PORT/ guard make installs would refuse it; tests/test_ports.py checks the guard, with a
        # server started from a kernel as a notebook does.
        "--ServerApp.jpserver_extensions=helpers.jupyter_ports=False",
    ]
    process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    origin = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, f"{origin}{PREFIX}api/status", root / ".server.log")
        yield origin
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_ready(process, url: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx2.get(url, headers={"Authorization": f"token {TOKEN}"}, timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"jupyter server not ready after 90 s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def http():
    with httpx2.Client(headers={"Authorization": f"token {TOKEN}"}, timeout=60) as client:
        yield client


@pytest.fixture
def behind_hub(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", PREFIX)
    monkeypatch.delenv("JUPYTER_SERVER_URL", raising=False)


def read_stream(response, upstream) -> tuple[list[SSEEvent], int]:
    """All events of an SSE response, and how many upstream streams had completed when the first text arrived."""
    got, completed_at_first_text = [], None
    for event in events(response.iter_bytes()):
        got.append(event)
        if event.event == "text" and completed_at_first_text is None:
            completed_at_first_text = upstream.stats()["streams_completed"]
    return got, completed_at_first_text


# ---------------------------------------------------------------------------------------------------------------------


def test_the_local_api_is_reachable_through_the_proxy(server, http):
    # under the notebook server's public name (the proxy names the local API, which answers only to its own names)
    r = http.get(f"{server}{PREFIX}offline-api/v1/models", headers={"host": "hub.example.org"})
    assert r.status_code == 200, r.text
    assert "claude-sonnet-4-6" in {m["id"] for m in r.json()["data"]}


def test_page_url_behind_the_hub_serves_the_chat_page(server, http, behind_hub):
    url = proxy.page_url()
    assert url == f"{PREFIX}relay/"
    page = http.get(server + url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text.lower()
    script = http.get(server + proxy.page_url("/static/chat.js"))  # the page's relative links resolve under the prefix
    assert script.status_code == 200 and "fetch(" in script.text


def page_token(http, server: str, headers: dict | None = None, **where) -> str:
    """The token of the relay's page, fetched the way a browser does: through the same proxy, under the same Host."""
    from helpers.web import token_in

    page = http.get(server + proxy.page_url(**where), headers={"Host": headers["Host"]} if headers else {})
    return token_in(page.text)


def test_chat_get_streams_through_the_proxy_rather_than_buffering(server, http, upstream, behind_hub):
    before = upstream.stats()["streams_completed"]
    params = {"message": PROMPT, "token": page_token(http, server)}
    with http.stream(
        "GET", server + proxy.page_url("/chat"), params=params, headers={"Accept": "text/event-stream"}
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        got, completed_at_first_text = read_stream(r, upstream)
    assert completed_at_first_text == before, (
        "the first event arrived only after the upstream stream had ended: the proxy buffered it"
    )
    assert streamed_text(got) == ANSWER
    assert [e.event for e in got[-2:]] == ["stop", "done"]
    assert upstream.stats()["streams_completed"] == before + 1


def test_chat_post_streams_through_the_proxy_when_it_asks_for_an_event_stream(server, http, upstream, behind_hub):
    """jupyter-server-proxy streams only requests sent with ``Accept: text/event-stream``; others it buffers."""
    before = upstream.stats()["streams_completed"]
    body = {"messages": [{"role": "user", "content": PROMPT}]}
    with http.stream("POST", server + proxy.page_url("/chat"), json=body, headers={"Accept": "text/event-stream"}) as r:
        assert r.status_code == 200
        got, completed_at_first_text = read_stream(r, upstream)
    assert completed_at_first_text == before
    assert streamed_text(got) == ANSWER


def test_a_relay_started_by_the_notebook_is_reached_through_proxy_port(server, http, behind_hub):
    from helpers.web import start as start_relay

    with start_relay() as relay:
        url = proxy.page_url(local_url=relay.url)
        assert url == f"{PREFIX}proxy/{relay.url.rsplit(':', 1)[1]}/"
        page = http.get(server + url)
        assert page.status_code == 200 and "<html" in page.text.lower()
        with http.stream(
            "GET",
            server + proxy.page_url("/chat", local_url=relay.url),
            params={"message": "Count to 3", "token": page_token(http, server, local_url=relay.url)},
            headers={"Accept": "text/event-stream"},
        ) as r:
            got = list(events(r.iter_bytes()))
    assert streamed_text(got) == "1, 2, 3."


HUB = "hub.example.org"  # the public name a hub's users reach the notebook server by


def test_relay_behind_the_proxy_answers_under_the_hubs_name_but_not_to_another_site(server, http, upstream, behind_hub):
    """The proxy forwards the browser's headers; /relay/ names the relay in Host, so any hub works unconfigured, and a
    cross-site navigation that carries the notebook server's login is still refused before the upstream, and so is one
    over plain http, where the browser marks nothing."""
    url, params = server + proxy.page_url("/chat"), {"message": "Count to 3"}
    before = upstream.stats()
    for marks in ({"Sec-Fetch-Site": "cross-site"}, {"Accept": "text/html"}):
        refused = http.get(url, params=params, headers={"Host": HUB, **marks})
        assert refused.status_code == 403 and refused.json()["error"]["type"] == "permission_error"
    assert upstream.stats()["requests"] == before["requests"]
    headers = {"Host": HUB, "Accept": "text/event-stream"}
    params["token"] = page_token(http, server, headers)
    with http.stream("GET", url, params=params, headers=headers) as r:
        assert r.status_code == 200
        assert streamed_text(list(events(r.iter_bytes()))) == "1, 2, 3."


def test_a_notebooks_relay_through_proxy_port_needs_the_hubs_name_allowed(server, http, behind_hub):
    from helpers.web import start as start_relay

    headers = {"Host": HUB, "Accept": "text/event-stream"}
    with start_relay() as relay:
        url = server + proxy.page_url("/chat", local_url=relay.url)
        refused = http.get(url, params={"message": "Count to 3"}, headers=headers)
    assert refused.status_code == 421 and "COURSE_RELAY_HOSTS" in refused.json()["error"]["message"]
    with start_relay(allowed_hosts=[HUB]) as relay:
        url = server + proxy.page_url("/chat", local_url=relay.url)
        params = {"message": "Count to 3", "token": page_token(http, server, headers, local_url=relay.url)}
        with http.stream("GET", url, params=params, headers=headers) as r:
            got = list(events(r.iter_bytes()))
    assert streamed_text(got) == "1, 2, 3."


# ---------------------------------------------------------------------------------------------------------------------
# page_url and the entry points, without a server


def test_page_url_in_local_jupyterlab_is_the_relay_itself(monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    monkeypatch.delenv("JUPYTER_SERVER_URL", raising=False)
    assert proxy.page_url(local_url="http://127.0.0.1:8123") == "http://127.0.0.1:8123/"
    assert proxy.page_url("/chat", local_url="http://127.0.0.1:8123/") == "http://127.0.0.1:8123/chat"
    with pytest.raises(ValueError, match="pass local_url=relay.url"):
        proxy.page_url()


def test_page_url_with_a_named_server_url(monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    monkeypatch.setenv("JUPYTER_SERVER_URL", "https://lab.example.org/jupyter")
    assert proxy.page_url() == "https://lab.example.org/jupyter/relay/"
    assert (
        proxy.page_url("/chat", local_url="http://127.0.0.1:9000") == "https://lab.example.org/jupyter/proxy/9000/chat"
    )


def test_page_url_rejects_bad_input(behind_hub):
    with pytest.raises(ValueError, match="path must start with '/'"):
        proxy.page_url("chat")
    with pytest.raises(ValueError, match="must be http://127.0.0.1:PORT"):
        proxy.page_url(local_url="http://example.org:80")


def test_entry_points_name_the_course_servers():
    relay, api = proxy.relay(), proxy.offline_api()
    assert relay["command"][1:4] == ["-m", "helpers.lighter", "relay"] and "{port}" in relay["command"]
    assert api["command"][1:3] == ["-m", "helpers.offline"] and "{port}" in api["command"]
    assert relay["launcher_entry"]["title"] and api["launcher_entry"]["title"]
    assert relay["timeout"] >= 30
    assert relay["request_headers_override"] == {"Host": "127.0.0.1:{port}"}  # the relay's own name, not the hub's
    entry = {e.name: e.value for e in importlib.metadata.entry_points(group="jupyter_serverproxy_servers")}
    assert entry.get("relay") == "helpers.proxy:relay" and entry.get("offline-api") == "helpers.proxy:offline_api"
    assert (ROOT / "pyproject.toml").read_text().count("jupyter_serverproxy_servers") == 1


def test_chat_page_asks_for_an_event_stream():
    """The page's POST must carry ``Accept: text/event-stream``, or jupyter-server-proxy holds the answer back."""
    script = (Path(proxy.__file__).parent / "web" / "static" / "chat.js").read_text()
    assert 'Accept: "text/event-stream"' in script
