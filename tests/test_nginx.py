"""The tutorial's claim about X-Accel-Buffering, shown with a real nginx in front of the relay; then the guide's nginx
for a relay shared by a class (docs/workshop.md), run as written.

nginx buffers proxied responses by default. With ``X-Accel-Buffering: no`` from the relay it passes each event on as
it comes; without it (default settings, buffers big enough for the whole answer) the browser gets everything in one
burst at the end.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import anthropic
import httpx2
import pytest

from helpers.net import free_port
from helpers.offline import replies
from helpers.offline import start as start_api
from helpers.offline.server import DeadlineH11Protocol, serve_in_thread
from helpers.web import Reader, create_app

from .parts import need

pytestmark = pytest.mark.slow  # its point is time: a paced stream of seconds, buffered or not (in `make test`)


def start(**options):
    """A relay on uvicorn's h11 protocol. The shipped relay serves on httptools, which answers even nginx's default
    HTTP/1.0 upstream request in chunks, and nginx 1.22 forwards chunks as they come: the buffering this test shows
    needs a plain HTTP/1.0 response, which h11 gives (other proxies and CDNs buffer chunked answers too, hence the
    header)."""
    return serve_in_thread(create_app(**options), name="web-relay", read_timeout=20, http=DeadlineH11Protocol)


# nginx in the foreground, every path it writes in the test's folder: what both configurations below start with
PRELUDE = """
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
"""
CONFIG = (
    PRELUDE
    + """    server {{
        listen 127.0.0.1:{port};
        # nginx's defaults, spelled out: buffering on, HTTP/1.0 to the upstream. (With proxy_http_version 1.1
        # the upstream answers in chunks, and nginx 1.22 forwards each chunk as it comes even while buffering.)
        proxy_buffering on;
        proxy_http_version 1.0;
        proxy_buffer_size 16k;
        proxy_buffers 64 16k;   # 1 MB: room for the whole answer, so nothing is forced out early
        proxy_busy_buffers_size 32k;
        location /with-header/ {{ proxy_pass {with_header}/; }}
        location /without-header/ {{ proxy_pass {without_header}/; }}
    }}
}}
"""
)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """nginx on a loopback port, in front of two relays (with and without the header) sharing one paced upstream."""
    nginx = need("nginx")
    tmp = tmp_path_factory.mktemp("nginx")
    os.chmod(tmp, 0o755)  # nginx's workers may run as another user
    with start_api(pace=150) as api:  # the long answer: ~380 tokens, about 2.5 s
        factory = lambda: anthropic.AsyncAnthropic(base_url=api.url, api_key="test-key", max_retries=0)  # noqa: E731
        with (
            start(client_factory=factory) as with_header,
            start(client_factory=factory, accel_buffering_header=False) as without_header,
        ):
            port = free_port()
            conf = tmp / "nginx.conf"
            conf.write_text(
                CONFIG.format(tmp=tmp, port=port, with_header=with_header.url, without_header=without_header.url)
            )
            proc = subprocess.Popen([nginx, "-p", str(tmp), "-c", str(conf)], stderr=subprocess.PIPE, text=True)
            try:
                wait_for_port(port, proc, tmp)
                yield f"http://127.0.0.1:{port}", api
            finally:
                proc.terminate()
                proc.wait(timeout=10)


def wait_for_port(port: int, proc: subprocess.Popen, tmp: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"nginx exited: {proc.stderr.read()} {(tmp / 'error.log').read_text() if (tmp / 'error.log').exists() else ''}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail("nginx did not start listening within 10 s")


def timed_stream(url: str, api) -> tuple[bool, float, str, dict]:
    """Whether the upstream had finished its answer when the first ``text`` event reached the client, seconds to the
    end, the text, and the response headers. Judged by the upstream's own count of finished streams, not by timing:
    on a loaded machine a first event can come late without anything buffering it."""
    started = time.monotonic()
    completed = api.stats()["streams_completed"]
    finished_first, first, text, reader = False, None, "", Reader()
    body = {"messages": [{"role": "user", "content": "Explain streaming in detail"}]}
    with httpx2.stream("POST", url, json=body, timeout=30) as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            for event in reader.feed(chunk):
                if event.event == "text":
                    if first is None:
                        first = time.monotonic() - started
                        finished_first = api.stats()["streams_completed"] > completed
                    text += json.loads(event.data)["text"]
    return finished_first, time.monotonic() - started, text, response.headers


def test_with_x_accel_buffering_no_the_first_event_arrives_while_the_answer_is_still_coming(proxied):
    url, api = proxied
    finished_first, end, text, headers = timed_stream(f"{url}/with-header/chat", api)
    assert text == replies.LONG_ANSWER
    assert headers["server"].startswith("nginx")  # really through the proxy
    assert end > 1.5, f"the paced stream should take seconds, took {end:.2f} s"
    assert not finished_first, "the first event came after the upstream had sent the whole answer: nginx buffered it"


def test_without_the_header_nginx_delivers_everything_in_one_burst_at_the_end(proxied):
    url, api = proxied
    finished_first, end, text, headers = timed_stream(f"{url}/without-header/chat", api)
    assert text == replies.LONG_ANSWER
    assert "x-accel-buffering" not in headers
    assert end > 1.5, f"the paced stream should take seconds, took {end:.2f} s"
    assert finished_first, "the first event came while the upstream was still answering: expected one burst at the end"


# -- the shared relay of docs/workshop.md ("Scaling the relay"), run as the guide writes it ---------------------------

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "workshop.md"
HTTP = (
    PRELUDE
    + """{guide}
}}
"""
)


def guide_config(relay: str, port: int, passwords: Path) -> str:
    """The guide's nginx block for a relay shared by a class, with this machine's addresses: plain HTTP on a loopback
    port for its 443, the test's relay for its relays, the test's password file for its own."""
    section = GUIDE.read_text().split("## Scaling the relay", 1)[1]
    block = section.split("```nginx\n", 1)[1].split("```", 1)[0]
    block = re.sub(r"server \d+\.\d+\.\d+\.\d+:\d+;", "", block).replace("keepalive", f"server {relay}; keepalive")
    block = block.replace("listen 443 ssl;", f"listen 127.0.0.1:{port};")
    return re.sub(r"auth_basic_user_file \S+;", f"auth_basic_user_file {passwords};", block)


@pytest.fixture(scope="module")
def shared_relay(tmp_path_factory):
    """nginx set up as docs/workshop.md says, in front of one relay; yields its URL and a learner's credentials."""
    nginx = need("nginx")
    tmp = tmp_path_factory.mktemp("nginx-shared")
    os.chmod(tmp, 0o755)
    with tempfile.TemporaryDirectory() as readable, start_api(pace=150) as api:
        os.chmod(readable, 0o755)  # nginx's workers (another user when run as root) read it on every request
        passwords = Path(readable, "chat.htpasswd")
        passwords.write_text("learner:{PLAIN}learner-pass\n")  # nginx's plain scheme: the guide hashes with openssl
        passwords.chmod(0o644)
        factory = lambda: anthropic.AsyncAnthropic(base_url=api.url, api_key="test-key", max_retries=0)  # noqa: E731
        with start(client_factory=factory) as relay:
            port = free_port()
            conf = tmp / "nginx.conf"
            guide = guide_config(urlsplit(relay.url).netloc, port, passwords)
            conf.write_text(HTTP.format(tmp=tmp, guide=guide))
            proc = subprocess.Popen([nginx, "-p", str(tmp), "-c", str(conf)], stderr=subprocess.PIPE, text=True)
            try:
                wait_for_port(port, proc, tmp)
                yield f"http://127.0.0.1:{port}", ("learner", "learner-pass")
            finally:
                proc.terminate()
                proc.wait(timeout=10)


CHAT = {"messages": [{"role": "user", "content": "Explain streaming in detail"}]}


def test_the_guides_shared_relay_streams_for_nobody_but_the_class(shared_relay):
    """A relay shared by a class spends the instructor's key for whoever reaches it. The guide's nginx served
    POST /chat to anyone on the internet (its name is public: certificate transparency logs list it), with no limit:
    the relay sees every learner as nginx's one address."""
    url, learner = shared_relay
    for auth in (None, ("learner", "wrong"), ("stranger", "learner-pass")):
        refused = httpx2.post(f"{url}/chat", json=CHAT, auth=auth, timeout=30)
        assert refused.status_code == 401, (auth, refused.status_code, refused.text[:200])
    with httpx2.stream("POST", f"{url}/chat", json=CHAT, auth=learner, timeout=30) as response:
        assert response.status_code == 200 and response.headers["server"].startswith("nginx")
        text = "".join(json.loads(e.data)["text"] for e in Reader().feed(response.read()) if e.event == "text")
    assert text == replies.LONG_ANSWER


def test_the_guides_shared_relay_limits_each_learner(shared_relay):
    """Two streams at once per learner; a third waits its turn (429), whoever else is streaming."""
    url, learner = shared_relay
    with (
        httpx2.stream("POST", f"{url}/chat", json=CHAT, auth=learner, timeout=30) as first,
        httpx2.stream("POST", f"{url}/chat", json=CHAT, auth=learner, timeout=30) as second,
    ):
        assert first.status_code == second.status_code == 200
        streaming = [first.iter_raw(), second.iter_raw()]  # kept: a dropped iterator closes its response
        assert all(next(chunk) for chunk in streaming)  # both are streaming now
        third = httpx2.post(f"{url}/chat", json=CHAT, auth=learner, timeout=30)
        assert third.status_code == 429, third.status_code


def test_a_stranger_cannot_spend_a_learners_limits(shared_relay):
    """nginx counts limit_req before auth_basic checks the password (its preaccess phase comes before access), and
    $remote_user is whatever name the request's Authorization header gives: strangers who sent a learner's name with
    a wrong password took that learner's ten requests a minute, and the learner then got 429."""
    url, (name, password) = shared_relay
    for _ in range(15):
        refused = httpx2.post(f"{url}/chat", json=CHAT, auth=(name, "wrong"), timeout=30)
        assert refused.status_code == 401, refused.status_code
    with httpx2.stream("POST", f"{url}/chat", json=CHAT, auth=(name, password), timeout=30) as response:
        assert response.status_code == 200, response.status_code
