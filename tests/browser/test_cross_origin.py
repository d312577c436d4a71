"""Another site cannot make the relay spend the key, in a real chromium.

A page on ``http://localhost:P`` (the attacker) fires every simple cross-site request a browser allows at the relay on
``http://127.0.0.1:Q``: an ``EventSource``, a no-cors ``fetch``, a ``text/plain`` ``fetch`` POST, a ``text/plain``
HTML form whose body is valid JSON, and a followed link. A name that resolves to 127.0.0.1 (DNS rebinding, played
with chromium's ``--host-resolver-rules``) loads the page under that name and asks from there. The local Messages API
behind the relay counts what reached it: nothing. Its own page and a command-line client still stream.

Over plain http to public-looking names (``http://relay.example`` attacked from ``http://attacker.example``, both
mapped to 127.0.0.1), chromium marks none of another site's GETs with ``Sec-Fetch-Site`` or ``Origin``: img, script,
iframe, stylesheet link, followed link, top-level navigation, no-cors fetch, EventSource, and form POSTs (text/plain
and urlencoded). None of them starts an upstream stream; the relay's own page on that name still streams. The same
holds for the capstone's solution (lesson 10's ``main.py``, run with ``uvicorn main:app`` as a learner runs it), with
the public name added to its host names as the lesson says to behind a hub.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import anthropic
import httpx2
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from helpers.exercises.harness import end_group, spawn
from helpers.offline import start as start_api
from helpers.offline.server import serve_in_thread
from helpers.web import parse, start

from ..conftest import ROOT
from .lab import CHROMIUM_ARGS, chromium_path

pytestmark = pytest.mark.browser

REBOUND = "attacker.test"  # chromium resolves it to 127.0.0.1, as a rebinding DNS server would
RELAY_NAME, ATTACKER_NAME = "relay.example", "attacker.example"  # public-looking names, also mapped to 127.0.0.1

EVERY_VECTOR = """<!doctype html>
<title>another site, over plain http</title>
<img src="__RELAY__/chat?message=img">
<script src="__RELAY__/chat?message=script"></script>
<link rel="stylesheet" href="__RELAY__/chat?message=link">
<iframe src="__RELAY__/chat?message=iframe"></iframe>
<iframe name="sink"></iframe>
<iframe name="sink2"></iframe>
<form id="plain" method="POST" enctype="text/plain" target="sink" action="__RELAY__/chat">
  <input name='{"messages": [{"role": "user", "content": "form", "x": "' value='"}]}'>
</form>
<form id="urlencoded" method="POST" target="sink2" action="__RELAY__/chat">
  <input name="messages" value='[{"role": "user", "content": "form"}]'>
</form>
<a id="link" href="__RELAY__/chat?message=followed">a link</a>
<script>
  const RELAY = "__RELAY__";
  window.fired = [];
  const done = (what) => () => window.fired.push(what);
  const source = new EventSource(RELAY + "/chat?message=eventsource");
  source.onerror = () => { source.close(); window.fired.push("eventsource"); };
  fetch(RELAY + "/chat?message=fetch", {mode: "no-cors"}).then(done("no-cors get"), done("no-cors get"));
  const spend = JSON.stringify({messages: [{role: "user", content: "spend"}]});
  fetch(RELAY + "/chat", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: spend})
    .then(done("no-cors post"), done("no-cors post"));
  fetch(RELAY + "/chat", {method: "POST", headers: {"Content-Type": "application/json"}, body: spend})
    .then(done("cors json post"), done("cors json post"));
  document.getElementById("plain").submit();
  document.getElementById("urlencoded").submit();  // a frame of its own: a second submit to one frame cancels the first
</script>
"""

ATTACKER_PAGE = """<!doctype html>
<title>a page on another site</title>
<iframe name="sink"></iframe>
<form id="form" method="POST" enctype="text/plain" target="sink" action="__RELAY__/chat">
  <input name='{"messages": [{"role": "user", "content": "spend the key", "x": "' value='"}]}'>
</form>
<a id="link" href="__RELAY__/chat?message=spend+the+key">a link</a>
<script>
  const RELAY = "__RELAY__";
  const spend = JSON.stringify({messages: [{role: "user", content: "spend the key"}]});
  window.fired = [];
  const source = new EventSource(RELAY + "/chat?message=spend+the+key");
  source.onerror = () => { source.close(); window.fired.push("eventsource"); };
  fetch(RELAY + "/chat?message=spend+the+key", {mode: "no-cors"})
    .then(() => window.fired.push("no-cors get"), () => window.fired.push("no-cors get"));
  fetch(RELAY + "/chat", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: spend})
    .then(() => window.fired.push("text/plain post"), () => window.fired.push("text/plain post"));
  document.getElementById("form").submit();
</script>
"""


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        rules = (
            f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1, MAP {RELAY_NAME} 127.0.0.1, MAP {ATTACKER_NAME} 127.0.0.1"
        )
        browser = p.chromium.launch(executable_path=executable, args=[*CHROMIUM_ARGS, rules])
        yield browser
        browser.close()


@pytest.fixture
def api():
    with start_api(pace="instant") as running:
        yield running


@pytest.fixture
def relay(api):
    factory = lambda: anthropic.AsyncAnthropic(base_url=api.url, api_key="test-key", max_retries=0)  # noqa: E731
    with start(client_factory=factory) as running:
        yield running


@pytest.fixture
def attacker(relay):
    page = ATTACKER_PAGE.replace("__RELAY__", relay.url)
    app = Starlette(routes=[Route("/", lambda request: HTMLResponse(page))])
    with serve_in_thread(app, name="attacker-site") as running:
        yield running.url.replace("127.0.0.1", "localhost")  # another origin, and another site


@pytest.fixture
def page(browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()


def refusals(caplog) -> list[str]:
    """What the relay refused (its log): ``"GET /chat with 403"``, one per request (not the browser's favicon)."""
    return [
        record.getMessage().split(":")[0].removeprefix("refused ")
        for record in caplog.records
        if record.name == "helpers.web.gate"
        and record.getMessage().startswith("refused ")
        and "/favicon.ico" not in record.getMessage()
    ]


def wait_for(caplog, count: int, posts: int = 0) -> list[str]:
    """The relay's refusals once there are ``count`` of them, ``posts`` POSTs among them (requests arrive in any order:
    a CORS preflight may be logged before the last form's POST)."""
    deadline = time.monotonic() + 30
    while len(refused := refusals(caplog)) < count or refused.count("POST /chat with 403") < posts:
        assert time.monotonic() < deadline, f"not every request reached the relay: {refused}"
        time.sleep(0.1)
    return refused


def test_no_request_from_another_site_reaches_upstream(page, api, relay, attacker, caplog):
    assert attacker.startswith("http://localhost:") and relay.url.startswith("http://127.0.0.1:")
    caplog.set_level(logging.INFO, logger="helpers.web")
    page.goto(attacker + "/")
    page.wait_for_function("window.fired.length === 3", timeout=30_000)  # EventSource, and both fetches, failed
    wait_for(caplog, 4)  # those three and the form's POST
    page.click("#link")  # the learner follows a link; the page now shows what the relay answered
    page.wait_for_url(relay.url + "/chat*", timeout=30_000)
    assert "refused a request from another site" in page.text_content("body")
    refused = wait_for(caplog, 5)
    assert sorted(refused) == ["GET /chat with 403"] * 3 + ["POST /chat with 403"] * 2, refused
    stats = api.stats()
    assert (stats["requests"], stats["streams_started"]) == (0, 0), stats


def test_a_rebound_host_name_gets_nothing(page, api, relay):
    port = relay.url.rsplit(":", 1)[1]
    response = page.goto(f"http://{REBOUND}:{port}/")
    assert response.status == 421  # the page itself is refused under that name
    status = page.evaluate("fetch('/chat?message=spend').then(r => r.status)")  # same-origin for the browser
    posted = page.evaluate(
        "fetch('/chat', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({messages: [{role: 'user', content: 'spend'}]})}).then(r => r.json())"
    )
    assert status == 421 and posted["error"]["type"] == "invalid_request_error"
    assert "is not a name this relay answers to" in posted["error"]["message"]
    stats = api.stats()
    assert (stats["requests"], stats["streams_started"]) == (0, 0), stats


def test_its_own_page_and_a_command_line_client_still_stream(page, api, relay):
    page.goto(relay.url + "/")
    page.fill("#prompt", "Write a haiku about debugging.")
    page.click("#send")
    page.wait_for_function("document.querySelector('#log li.assistant')?.dataset.state === 'done'", timeout=30_000)
    assert page.is_hidden("#error")
    source = page.evaluate(
        """() => new Promise((resolve) => {
             const token = document.querySelector('meta[name="chat-token"]').content;
             const ask = encodeURIComponent("Write a haiku about debugging.");
             const source = new EventSource("chat?token=" + token + "&message=" + ask);
             let text = "";
             source.addEventListener("text", (e) => { text += JSON.parse(e.data).text; });
             source.addEventListener("done", () => { source.close(); resolve(text); });
             source.addEventListener("error", () => { source.close(); resolve("error: " + text); });
           })"""
    )
    assert source and not source.startswith("error")
    with httpx2.Client(timeout=30) as http:
        body = {"messages": [{"role": "user", "content": "Write a haiku about debugging."}]}
        events = parse(http.post(f"{relay.url}/chat", json=body).content)
    assert "".join(json.loads(e.data)["text"] for e in events if e.event == "text") == source
    assert api.stats()["streams_started"] == 3


def test_over_plain_http_no_request_from_another_site_starts_a_stream(page, api, caplog):
    """Neither page is on a potentially trustworthy origin: chromium sends no Sec-Fetch-* and no Origin on GETs."""
    caplog.set_level(logging.INFO, logger="helpers.web")
    factory = lambda: anthropic.AsyncAnthropic(base_url=api.url, api_key="test-key", max_retries=0)  # noqa: E731
    with start(client_factory=factory, allowed_hosts=[RELAY_NAME]) as relay:
        relay_url = relay.url.replace("127.0.0.1", RELAY_NAME)
        app = Starlette(routes=[Route("/", lambda r: HTMLResponse(EVERY_VECTOR.replace("__RELAY__", relay_url)))])
        with serve_in_thread(app, name="attacker-site") as attacker:
            page.goto(attacker.url.replace("127.0.0.1", ATTACKER_NAME) + "/")
            page.wait_for_function("window.fired.length === 4", timeout=30_000)
            # img, script, link, iframe, EventSource, 2 fetches, 2 forms (the CORS one never left), all in before the tab
            # navigates away (which would cancel a request still in flight)
            wait_for(caplog, 9, posts=3)
            page.click("#link")  # a followed link: the tab now shows the relay's answer
            page.wait_for_url(relay_url + "/chat*", timeout=30_000)
            assert "token of the relay's own page" in page.text_content("body")
            page.goto(relay_url + "/chat?message=navigated")  # a top-level navigation, as another site's script does
            assert "token of the relay's own page" in page.text_content("body")
            refused = wait_for(caplog, 11, posts=3)
            assert (api.stats()["requests"], api.stats()["streams_started"]) == (0, 0), refused
            assert all(r.endswith(" /chat with 403") for r in refused), refused  # the preflight too: OPTIONS
            assert refused.count("POST /chat with 403") == 3, refused  # both forms, the no-cors fetch: Origin

            page.goto(relay_url + "/")  # its own page on the same public name still streams, both ways
            page.fill("#prompt", "Write a haiku about debugging.")
            page.click("#send")
            page.wait_for_function(
                "document.querySelector('#log li.assistant')?.dataset.state === 'done'", timeout=30_000
            )
            text = page.evaluate(
                """() => new Promise((resolve) => {
                     const token = document.querySelector('meta[name="chat-token"]').content;
                     const source = new EventSource("chat?token=" + token + "&message=hi");
                     let text = "";
                     source.addEventListener("text", (e) => { text += JSON.parse(e.data).text; });
                     source.addEventListener("done", () => { source.close(); resolve(text); });
                     source.addEventListener("error", () => { source.close(); resolve("error"); });
                   })"""
            )
    assert text and text != "error"
    assert api.stats()["streams_started"] == 2


CAPSTONE = ROOT / "notebooks" / "capstone"
OWN_HOSTS = 'OWN_HOSTS = ("127.0.0.1", "localhost")'
ACCESS = re.compile(r'"(GET|POST|OPTIONS) /chat')  # uvicorn's access log: one line per request to /chat


@pytest.fixture
def capstone(api, tmp_path):
    """The capstone's solution under ``uvicorn main:app`` (as the lesson runs it) on 127.0.0.1, answering to
    RELAY_NAME too, as the lesson says to behind a hub; yields its URL under that name and its access log."""
    folder = tmp_path / "capstone"
    shutil.copytree(CAPSTONE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(CAPSTONE.parent / "solutions" / "capstone" / "main.py", folder / "main.py")
    source = (folder / "main.py").read_text()
    assert OWN_HOSTS in source, "the solution's host names moved: update OWN_HOSTS here"
    (folder / "main.py").write_text(
        source.replace(OWN_HOSTS, f'OWN_HOSTS = ("127.0.0.1", "localhost", "{RELAY_NAME}")')
    )
    env = {**os.environ, "COURSE_OFFLINE": "1", "COURSE_OFFLINE_URL": api.url, "ANTHROPIC_BASE_URL": api.url}
    env["ANTHROPIC_API_KEY"] = "test-key"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as out:
        server = spawn(
            [sys.executable, "-m", "uvicorn", "main:app", "--fd", str(sock.fileno())],
            cwd=folder,
            pass_fds=(sock.fileno(),),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    sock.close()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert httpx2.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
                break
            except httpx2.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield f"http://{RELAY_NAME}:{port}", log
    finally:
        end_group(server)


def requests_to_chat(log, count: int, posts: int = 0) -> list[str]:
    """The app's access log lines for /chat once there are ``count`` of them, ``posts`` POSTs among them."""
    deadline = time.monotonic() + 30
    while True:
        lines = [line for line in log.read_text(errors="replace").splitlines() if ACCESS.search(line)]
        if len(lines) >= count and sum('"POST /chat' in line for line in lines) >= posts:
            return lines
        assert time.monotonic() < deadline, f"not every request reached the app: {lines}"
        time.sleep(0.1)


def test_over_plain_http_no_other_site_starts_a_stream_on_the_capstone_solution(page, api, capstone):
    """The solution's rule used to let a request with neither Sec-Fetch-Site nor Origin through, and its GET /chat
    streamed: over plain http, every GET below carries neither, so an <img> on another site spent the key."""
    app_url, log = capstone
    vectors = EVERY_VECTOR.replace("__RELAY__", app_url)
    site = Starlette(routes=[Route("/", lambda r: HTMLResponse(vectors))])
    with serve_in_thread(site, name="attacker-site") as attacker:
        page.goto(attacker.url.replace("127.0.0.1", ATTACKER_NAME) + "/")
        page.wait_for_function("window.fired.length === 4", timeout=30_000)
        # img, script, link, iframe, EventSource, 2 fetches, 2 forms and the CORS preflight, in before the tab leaves
        requests_to_chat(log, 10, posts=3)
        page.click("#link")  # a followed link
        page.wait_for_url(app_url + "/chat*", timeout=30_000)
        page.goto(app_url + "/chat?message=navigated")  # a top-level navigation, as another site's script does
        answered = requests_to_chat(log, 12, posts=3)
    stats = api.stats()
    assert (stats["requests"], stats["streams_started"]) == (0, 0), answered
    assert all(re.search(r'" (403|415)\b', line) for line in answered), answered  # refused, each one

    page.goto(app_url + "/")  # its own page on the same public name still streams
    page.fill("#prompt", "Write a haiku about debugging.")
    page.click("text=Send")
    page.wait_for_function(
        "document.querySelector('.turn.assistant')?.textContent && document.getElementById('stop').disabled",
        timeout=30_000,
    )
    assert page.locator(".turn.note").count() == 0, page.text_content("#log")
    assert api.stats()["streams_started"] == 1
