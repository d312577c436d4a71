"""The relay refuses what another site or another host name asks, and survives abusive clients: each vector over real
HTTP against a real relay whose upstream is the local Messages API; a refused request starts no upstream stream."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import httpx2
import pytest

from helpers.offline import replies
from helpers.offline import start as start_api
from helpers.offline.validate import API_MAX_BODY_BYTES
from helpers.web import parse, token_in
from helpers.web.__main__ import main as web_main
from helpers.web.framing import streamed_text
from helpers.web.gate import HOSTS_ENV, MAX_BODY_BYTES, PageTokens, public_hosts

from .conftest import ROOT, http, relay_to

HI = {"messages": [{"role": "user", "content": "Write a haiku about debugging."}]}
ATTACKER = "http://localhost:4444"  # another origin on this machine, as in the browser test


@pytest.fixture(scope="module")
def api():
    with start_api(pace="instant") as running:
        yield running


@pytest.fixture(scope="module")
def relay(api):
    with relay_to(api, allowed_hosts=["hub.example.org", "*.mybinder.org"]) as running:
        yield running


def own(relay) -> str:
    """The relay's own ``host:port``, as a browser on its page sends it in Host and Origin."""
    return urlsplit(relay.url).netloc


class Upstream:
    """Counts what reached the local API while the block ran."""

    def __init__(self, api):
        self.api = api

    def __enter__(self):
        self.before = self.api.stats()
        return self

    def __exit__(self, *exc):
        after = self.api.stats()
        self.requests = after["requests"] - self.before["requests"]
        self.streams = after["streams_started"] - self.before["streams_started"]


def streamed(response) -> bool:
    return response.status_code == 200 and [e.event for e in parse(response.content)][-2:] == ["stop", "done"]


def refused(response, status: int, kind: str, says: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == kind, body
    assert says in body["error"]["message"], body


def page_token(url: str, host: str | None = None) -> str | None:
    """The token in the relay's page, as a browser gets it: served to the same Host name (``None``: page refused)."""
    page = http.get(url + "/", headers={"host": host} if host else {}, timeout=30)
    return token_in(page.text) if page.status_code == 200 else None


def get_chat(relay, headers: dict, token: str | None = "page") -> httpx2.Response:
    """``GET /chat`` with the token of the page served to the same Host (``token="page"``), another, or none."""
    if token == "page":
        token = page_token(relay.url, headers.get("host"))
    params = {"message": "Write a haiku about debugging.", **({"token": token} if token else {})}
    return http.get(f"{relay.url}/chat", params=params, headers=headers, timeout=30)


def post_chat(relay, headers: dict, content: bytes | None = None) -> httpx2.Response:
    headers = {"content-type": "application/json", **headers}
    return http.post(f"{relay.url}/chat", content=content or json.dumps(HI).encode(), headers=headers, timeout=30)


# ---------------------------------------------------------------------------------------------------------------------
# Host: DNS rebinding


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example",
        "attacker.example:{port}",
        "127.0.0.1.nip.io:{port}",
        "localhost.attacker.example",
        "hub.example.org.attacker.example",
        "mybinder.org.attacker.example",
        "evilmybinder.org",
        "[::1",
        "127.0.0.1:notaport",
    ],
)
@pytest.mark.parametrize("send", [get_chat, post_chat])
def test_a_host_the_relay_does_not_serve_gets_421_and_starts_nothing(api, relay, host, send):
    host = host.format(port=urlsplit(relay.url).port)
    with Upstream(api) as upstream:
        response = send(relay, {"host": host})
    refused(response, 421, "invalid_request_error", "is not a name this relay answers to")
    assert HOSTS_ENV in response.json()["error"]["message"]  # says how to allow a public name
    assert (upstream.requests, upstream.streams) == (0, 0)


def test_the_page_itself_is_refused_under_a_rebound_name(relay):
    refused(http.get(relay.url + "/", headers={"host": "attacker.example"}), 421, "invalid_request_error", "Host")


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}", "localhost:8888"]
)
def test_loopback_names_on_any_port_are_served(relay, host):
    """Any port: behind a local notebook server's ``/proxy/PORT/`` the Host is the notebook server's."""
    assert streamed(get_chat(relay, {"host": host.format(port=urlsplit(relay.url).port)}))


@pytest.mark.parametrize("host", ["hub.example.org", "HUB.example.org:443", "hub.2i2c.mybinder.org"])
def test_configured_public_names_are_served(relay, host):
    assert streamed(post_chat(relay, {"host": host}))


def test_a_star_answers_to_any_name_but_still_refuses_other_sites(api):
    """``*``: for a relay in a hub's container, which a browser reaches only through the notebook server's proxy."""
    with relay_to(api, allowed_hosts=["*"]) as relay, Upstream(api) as upstream:
        assert streamed(get_chat(relay, {"host": "hub.anything.example"}))
        refused(get_chat(relay, {"host": "x.example", "sec-fetch-site": "cross-site"}), 403, "permission_error", "")
        refused(get_chat(relay, {"host": "x.example", "origin": ATTACKER}), 403, "permission_error", "Origin")
    assert upstream.streams == 1


def test_public_names_come_from_the_environment_too_and_bad_ones_are_refused(monkeypatch):
    monkeypatch.setenv(HOSTS_ENV, " lab.example.org, *.hub.example.net ,")
    assert public_hosts(["Extra.example.com"]) == ("extra.example.com", "lab.example.org", "*.hub.example.net")
    for bad in ("https://hub.example.org", "hub.example.org:443", "hub.example.org/user", "*.", "a*.example.org"):
        with pytest.raises(ValueError, match="expected a host name such as 'hub.example.org'"):
            public_hosts([bad])


# ---------------------------------------------------------------------------------------------------------------------
# Cross-site requests: CSRF (each header a browser marks another site's request with, content types a form can send,
# malformed bodies, path tricks and smuggling-ish heads are rows of tools/bad_input.py's relay table)


SAME_ORIGIN = {
    "its own page (fetch)": lambda own: {"sec-fetch-site": "same-origin", "origin": f"http://{own}"},
    "its own page (EventSource)": lambda own: {"sec-fetch-site": "same-origin", "accept": "text/event-stream"},
    "a typed address": lambda own: {"sec-fetch-site": "none", "sec-fetch-mode": "navigate"},
    "an old browser on its page": lambda own: {"origin": f"http://{own}"},
    "an old browser on a configured public name": lambda own: {"origin": "https://hub.example.org"},
    "behind the notebook server's proxy (Host rewritten)": lambda own: {
        "sec-fetch-site": "same-origin",
        "origin": "https://hub.example.org",
    },
    "curl, httpx, the SDK: no Origin": lambda own: {},
}


@pytest.mark.parametrize("headers", SAME_ORIGIN.values(), ids=SAME_ORIGIN.keys())
@pytest.mark.parametrize("send", [get_chat, post_chat])
def test_same_origin_and_command_line_clients_still_stream(relay, headers, send):
    assert streamed(send(relay, headers(own(relay))))


def test_the_page_and_its_files_open_from_a_link_on_another_site(relay):
    """The notebook links to the page from another origin; the page spends nothing until it asks itself."""
    link = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"}
    for path in ("/", "/static/chat.js"):
        assert http.get(relay.url + path, headers=link).status_code == 200
    refused(http.post(relay.url + "/", headers=link), 403, "permission_error", "another site")


# ---------------------------------------------------------------------------------------------------------------------
# Requests no header marks: over plain http to a public name, a browser sends another site's <img>, <script>, iframe,
# link or navigation with neither Sec-Fetch-Site nor Origin. Only the page's token tells the relay's own page apart.

NO_MARKS = {
    "<img>, <script>, a no-cors fetch": {"accept": "*/*"},
    "an iframe, a link, a navigation": {"accept": "text/html", "upgrade-insecure-requests": "1"},
    "EventSource": {"accept": "text/event-stream"},
    "a typed address (Sec-Fetch-Site: none)": {"sec-fetch-site": "none", "sec-fetch-mode": "navigate"},
    "the page's own origin claimed": {"sec-fetch-site": "same-origin"},
}


@pytest.mark.parametrize("headers", NO_MARKS.values(), ids=NO_MARKS.keys())
@pytest.mark.parametrize("host", ["hub.example.org", "lab.hub.2i2c.mybinder.org:8080", "127.0.0.1", "localhost:8888"])
def test_a_get_without_the_pages_token_starts_nothing_on_any_host_name(api, relay, host, headers):
    with Upstream(api) as upstream:
        for path in ("/chat", "/chat/", "/chat?token=", "/chat?token=123.abc", "/nope"):
            response = http.get(f"{relay.url}{path}", params={"message": "spend"}, headers={"host": host, **headers})
            refused(response, 403, "permission_error", "token of the relay's own page")
        head = http.head(f"{relay.url}/chat", params={"message": "spend"}, headers={"host": host, **headers})
        assert head.status_code == 403
    assert (upstream.requests, upstream.streams) == (0, 0)


def test_a_token_must_be_signed_by_this_relay_for_this_host_and_fresh(api, relay):
    theirs = PageTokens(secret=b"another relay's key" * 2)
    ours = relay.app.tokens
    expired = PageTokens(secret=ours.secret, ttl=-1)
    bad = {
        "another relay's": (theirs.mint("127.0.0.1"), "did not sign"),
        "the page served to another host name": (page_token(relay.url, "hub.example.org"), "did not sign"),
        "expired": (expired.mint("127.0.0.1"), "expired"),
        "its expiry moved": (page_token(relay.url).replace("1", "2", 1), "did not sign"),
        "its signature cut": (page_token(relay.url)[:-2], "did not sign"),
        "a huge expiry": ("9" * 40 + "." + "0" * 64, "did not sign"),
    }
    with Upstream(api) as upstream:
        for token, says in bad.values():
            refused(get_chat(relay, {}, token=token), 403, "permission_error", says)
    assert (upstream.requests, upstream.streams) == (0, 0)
    assert streamed(get_chat(relay, {"host": "hub.example.org"}))  # the page's token for the name it was served to


def test_workers_of_one_relay_share_the_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_RELAY_SECRET", "ab" * 32)
    one, other = PageTokens(), PageTokens()
    assert other.problem(one.mint("hub.example.org:443"), "HUB.example.org") is None
    monkeypatch.delenv("COURSE_RELAY_SECRET")
    assert PageTokens().problem(one.mint("hub.example.org"), "hub.example.org") is not None


def test_the_page_carries_a_fresh_token_is_not_cached_and_not_framed_by_others(relay):
    first, second = (http.get(relay.url + "/") for _ in range(2))
    assert first.headers["cache-control"] == "no-store"
    policy = first.headers["content-security-policy"]
    for rule in ("object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'self'"):
        assert rule in policy, policy
    assert relay.app.tokens.problem(token_in(first.text), urlsplit(relay.url).netloc) is None
    assert token_in(second.text)  # each page view gets one; the same second may give the same


# ---------------------------------------------------------------------------------------------------------------------
# Content types


def test_json_with_a_charset_is_json(relay):
    assert streamed(post_chat(relay, {"content-type": "application/json; charset=utf-8"}))


# ---------------------------------------------------------------------------------------------------------------------
# Slow, stalled and vanishing clients


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    return sock


def closed_by_server(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (raises TimeoutError if it never does)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


UPLOAD_HEADERS = (
    b"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
)


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects and says nothing
        b"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty",  # half its headers
        UPLOAD_HEADERS % 1000 + b'{"messages": [',  # part of its body
    ],
    ids=["idle", "half-sent headers", "stalled body"],
)
def test_a_connection_whose_request_never_arrives_is_closed(api, sent, caplog):
    with relay_to(api, read_timeout=0.5) as relay, Upstream(api) as upstream:
        with connect(relay.url) as sock:
            sock.sendall(sent)
            with caplog.at_level(logging.INFO, logger="helpers.offline"):  # the course's uvicorn settings
                assert b"200 OK" not in closed_by_server(sock)  # recv returns b"": the relay closed it
    assert (upstream.requests, upstream.streams) == (0, 0)
    assert "did not arrive within 0.5 s" in caplog.text


def test_twenty_stalled_12_mb_uploads_are_refused_at_once_and_closed(api):
    with relay_to(api, read_timeout=1) as relay, Upstream(api) as upstream:
        socks = [connect(relay.url) for _ in range(20)]
        for sock in socks:
            sock.sendall(UPLOAD_HEADERS % 12_000_000 + b"[" * 65536)  # then nothing more
        answers = [closed_by_server(sock) for sock in socks]
        for sock in socks:
            sock.close()
        assert streamed(get_chat(relay, {}))  # it still serves
    assert all(a.startswith(b"HTTP/1.1 413 ") and b"request_too_large" in a for a in answers), answers[0][:300]
    assert (upstream.requests, upstream.streams) == (1, 1)


HEADS = {
    "one endless header": b"X-Long: " + b"a" * 40_000 + b"\r\n",
    "150 small headers": b"".join(b"X-%d: 1\r\n" % i for i in range(150)),
}


@pytest.mark.parametrize("extra", HEADS.values(), ids=HEADS.keys())
@pytest.mark.parametrize("server", ["relay", "local API"])
def test_a_request_head_too_large_gets_431_and_is_closed(api, relay, server, extra):
    """httptools (the relay) has no limit of its own; h11 (the local API) only a size. Both now answer 431."""
    url = relay.url if server == "relay" else api.url
    with Upstream(api) as upstream, connect(url) as sock:
        sock.sendall(b"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + extra)
        sock.sendall(b"Content-Length: 2\r\n\r\n{}")
        answer = closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert (
        body["error"]["type"] == "invalid_request_error"
        and "at most 32,768 bytes and 100 lines" in body["error"]["message"]
    )
    assert upstream.requests == 0


def test_the_rest_of_a_refused_body_is_never_read_as_the_next_requests_head(api, relay):
    """A client that keeps sending a body the relay already refused (413) and then asks again on the same connection
    got a false 431: the body's rest was counted as the next head. Now the connection ends after the answer."""
    big = b" " * (MAX_BODY_BYTES + 1)
    with Upstream(api) as upstream, connect(relay.url) as sock:
        sock.sendall(UPLOAD_HEADERS % len(big))
        try:
            sock.sendall(big + UPLOAD_HEADERS % 2 + b"{}")
        except OSError:  # closed while we were still sending: the answer below is what matters
            pass
        answer = closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 413 ") and b" 431 " not in answer, answer[:300]
    assert upstream.requests == 0
    assert streamed(post_chat(relay, {}))


def test_a_large_body_after_a_small_head_is_not_counted_as_head(relay):
    body = json.dumps({"messages": [{"role": "user", "content": "Write a haiku about debugging." + " " * 30_000}]})
    assert len(body) > 30_000 and streamed(post_chat(relay, {}, body.encode()))


def test_a_keep_alive_connection_can_ask_again_within_the_deadline(api):
    """The deadline covers reading each request, not the connection: a second request on it is answered."""
    with relay_to(api, read_timeout=2) as relay, httpx2.Client(timeout=30) as http:
        for _ in range(3):
            response = http.post(f"{relay.url}/chat", json=HI)
            assert streamed(response)


def test_a_client_leaving_mid_upload_is_logged_in_one_line_not_a_traceback(api):
    env = {**os.environ, "COURSE_OFFLINE": "1", "COURSE_OFFLINE_URL": api.url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers.web"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip().removeprefix("listening on ")
        proc.stdout.readline()  # the mode banner
        for _ in range(3):
            with connect(url) as sock:
                sock.sendall(UPLOAD_HEADERS % 100_000 + b'{"messages": [' + b" " * 50_000)
                time.sleep(0.2)  # the relay is reading the body
        assert streamed(http.post(f"{url}/chat", json=HI, timeout=30))  # still serving
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr and "Exception in ASGI application" not in stderr, stderr
    left = [line for line in lines if "client left before sending the whole request" in line]
    assert len(left) == 3, stderr
    assert left[0] == "relay: client left before sending the whole request: POST /chat"


def test_allow_host_flag_is_checked_and_serves_that_name(api, capsys):
    with pytest.raises(SystemExit) as bad:
        web_main(["--allow-host", "https://hub.example.org"])
    assert bad.value.code == 2 and "expected a host name such as 'hub.example.org'" in capsys.readouterr().err
    env = {**os.environ, "COURSE_OFFLINE": "1", "COURSE_OFFLINE_URL": api.url, HOSTS_ENV: "lab.example.net"}
    proc = subprocess.Popen(  # `python -m helpers.web` as a learner runs it: its address first, then the mode
        [sys.executable, "-m", "helpers.web", "--port", "0", "--allow-host", "hub.example.org"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        first = proc.stdout.readline().strip()
        assert re.fullmatch(r"listening on http://127\.0\.0\.1:\d+", first), first
        assert proc.stdout.readline().startswith("mode: offline")
        url = first.removeprefix("listening on ")
        for host, ok in (("hub.example.org", True), ("lab.example.net", True), ("attacker.example", False)):
            response = http.post(f"{url}/chat", json=HI, headers={"host": host}, timeout=30)
            assert streamed(response) is ok and response.status_code == (200 if ok else 421)
            assert not ok or streamed_text(parse(response.content)) == replies.HAIKUS["debug"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


EARLY_REFUSALS = {  # requests answered before their body is read: the connection ends, and the answer says so
    "body too large": (UPLOAD_HEADERS % (MAX_BODY_BYTES + 1), 413),
    "host not served": (UPLOAD_HEADERS.replace(b"127.0.0.1", b"attacker.example") % 1000, 421),
    "another site": (UPLOAD_HEADERS.replace(b"\r\n\r\n", b"\r\nSec-Fetch-Site: cross-site\r\n\r\n") % 1000, 403),
    "not JSON": (UPLOAD_HEADERS.replace(b"application/json", b"text/plain") % 1000, 415),
}


def head_of(answer: bytes) -> list[bytes]:
    return answer.split(b"\r\n\r\n", 1)[0].lower().split(b"\r\n")


@pytest.mark.parametrize(
    "server, sent, status",
    [("relay", *refusal) for refusal in EARLY_REFUSALS.values()]
    + [("local API", *EARLY_REFUSALS[name]) for name in ("body too large", "host not served")],
    ids=[f"relay-{name}" for name in EARLY_REFUSALS] + ["local API-body too large", "local API-host not served"],
)
def test_an_answer_sent_before_the_body_was_read_says_connection_close(api, relay, server, sent, status):
    """The connection ends after such an answer (the rest of the body is never read): ``connection: close`` tells a
    keep-alive client not to send its next request into it."""
    if server == "local API":
        sent = sent.replace(b"POST /chat", b"POST /v1/messages")
        sent = sent.replace(b"%d" % (MAX_BODY_BYTES + 1), b"%d" % (API_MAX_BODY_BYTES + 1))
    with Upstream(api) as upstream, connect(relay.url if server == "relay" else api.url) as sock:
        sock.sendall(sent + b'{"messages": [')  # and the rest of the body never comes
        answer = closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:300]
    assert b"connection: close" in head_of(answer), answer[:300]
    assert upstream.streams == 0


def one_answer(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length, read off a connection that stays open."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    (length,) = [int(line.split(b":")[1]) for line in head_of(received) if line.startswith(b"content-length:")]
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_an_answer_to_a_whole_request_keeps_the_connection(api, relay):
    with connect(relay.url) as sock:
        sock.sendall(UPLOAD_HEADERS % 2 + b"{}")  # a whole request, refused for what it says (no messages)
        answer = one_answer(sock)
        assert answer.startswith(b"HTTP/1.1 400 ") and b"connection: close" not in head_of(answer), answer[:300]
        sock.sendall(UPLOAD_HEADERS % 2 + b"{}")  # the same connection answers again
        assert one_answer(sock).startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize("server", ["relay", "local API"])
def test_a_refused_upload_still_arriving_ends_with_the_answer_not_a_reset(api, relay, server):
    """Closing at once with the upload still arriving resets the connection (the client's read ends in
    ECONNRESET, and over a real network may lose the answer): the server stops reading, then closes gently."""
    url, path, size = (
        (relay.url, b"/chat", MAX_BODY_BYTES + 1)
        if server == "relay"
        else (api.url, b"/v1/messages", API_MAX_BODY_BYTES + 1)
    )
    for _ in range(5):
        with connect(url) as sock:

            def upload() -> None:
                try:
                    sock.sendall(UPLOAD_HEADERS.replace(b"/chat", path) % size)
                    for _ in range(300):
                        sock.sendall(b" " * 10_000)
                except OSError:  # closed while sending: the answer is what matters
                    pass

            sender = threading.Thread(target=upload)
            sender.start()
            try:
                answer = closed_by_server(sock)
            finally:
                sender.join(timeout=30)
        assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in head_of(answer), answer[:300]


@pytest.mark.parametrize("server", ["relay", "local API"])
def test_a_chunked_body_past_the_limit_is_answered_413_with_connection_close(api, relay, server):
    """A body sent without a length is counted as it arrives; past the limit the answer comes before the rest."""
    url, path, chunks = (relay.url, b"/chat", 3) if server == "relay" else (api.url, b"/v1/messages", 40)
    head = UPLOAD_HEADERS.replace(b"Content-Length: %d", b"Transfer-Encoding: chunked").replace(b"/chat", path)
    chunk = b"%x\r\n" % (1 << 20) + b" " * (1 << 20) + b"\r\n"  # 1 MiB
    with Upstream(api) as upstream, connect(url) as sock:
        try:
            sock.sendall(head + chunk * chunks)  # past the limit, and no last chunk
        except OSError:  # closed while we were still sending: the answer is what matters
            pass
        answer = closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in head_of(answer), answer[:300]
    assert upstream.streams == 0


def test_a_relay_that_spends_a_key_beyond_loopback_says_who_can_spend_it():
    """The Host check stops other sites' pages, not a script that sends ``Host: 127.0.0.1`` itself: a relay bound to
    another address spends its key for anyone who reaches it, and says so when it starts."""
    from helpers.web.__main__ import exposure

    assert exposure("127.0.0.1", offline=False) == exposure("[::1]", offline=False) == ""
    assert exposure("0.0.0.0", offline=True) == ""  # offline: no key to spend
    said = exposure("10.0.0.11", offline=False)
    assert "10.0.0.11" in said and "anyone who can reach" in said and "Scaling the relay" in said


def test_a_pinned_relay_refuses_requests_for_another_model():
    """A relay shared with a key (``--model``): a learner's request may not ask for a pricier model."""
    from helpers.web.app import BadInput, chat_request

    hi = {"messages": [{"role": "user", "content": "Hi"}]}
    assert chat_request({**hi, "model": "claude-opus-4-1"})["model"] == "claude-opus-4-1"  # unpinned: any model
    assert chat_request(hi, "claude-haiku-4-5", pinned=True)["model"] == "claude-haiku-4-5"
    assert chat_request({**hi, "model": "claude-haiku-4-5"}, "claude-haiku-4-5", pinned=True)["model"]
    with pytest.raises(BadInput, match="answers with claude-haiku-4-5 only, got 'claude-opus-4-1'"):
        chat_request({**hi, "model": "claude-opus-4-1"}, "claude-haiku-4-5", pinned=True)
