"""The private APIs the course reads, where no public one exists, each through one wrapper: these tests fail when
the library behind one changes, so an upgrade shows what to fix instead of breaking the course quietly. (The regex parser helpers/offline/structured.py
reads, ``re._parser``, is covered by tests/test_structured_schemas.py's pattern cases.)"""

from __future__ import annotations

import json
import socket
import time
import warnings
from http.client import HTTPConnection

import anthropic
import httpx2
import pytest

from helpers.models import MODELS, deprecated_models
from helpers.net import free_port
from helpers.offline.app import LocalMessagesAPI
from helpers.offline.server import DeadlineH11Protocol, DeadlineHttpToolsProtocol, serve_in_thread

from .conftest import MODEL


def test_deprecated_models_are_the_ones_the_sdk_warns_about():
    deprecated = deprecated_models()
    assert deprecated and all(isinstance(date, str) and date for date in deprecated.values())
    old = next(iter(deprecated))
    client = anthropic.Anthropic(base_url=f"http://127.0.0.1:{free_port()}", api_key="test-key", max_retries=0)
    with warnings.catch_warnings(record=True) as caught, pytest.raises(anthropic.APIConnectionError):
        warnings.simplefilter("always")
        client.messages.create(model=old, max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert any(issubclass(w.category, DeprecationWarning) and old in str(w.message) for w in caught)
    assert not set(MODELS) & set(deprecated)


PROTOCOLS = pytest.mark.parametrize("http", [DeadlineH11Protocol, DeadlineHttpToolsProtocol], ids=["h11", "httptools"])


def _closed_by_server(url: str, sent: bytes) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(sent)
        sock.settimeout(30)
        return sock.recv(1) == b""


@PROTOCOLS
def test_the_request_deadline_closes_idle_and_half_sent_requests(http):
    with serve_in_thread(LocalMessagesAPI(), read_timeout=0.1, http=http) as server:
        assert _closed_by_server(server.url, b"")
        assert _closed_by_server(server.url, b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Len")
        assert _closed_by_server(
            server.url, b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99\r\n\r\n{"
        )


@PROTOCOLS
def test_a_later_requests_deadline_starts_at_its_first_byte(http):
    """The time a kept-alive connection idles between requests is keep-alive's, not the next request's: counting it
    closed a connection under a request whose body was on its way (a reset; lesson 04 failed so in a loaded run)."""
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}).encode()
    headers = {"Host": "127.0.0.1", "Content-Type": "application/json", "Content-Length": str(len(body))}
    headers |= {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
    with serve_in_thread(LocalMessagesAPI(), read_timeout=0.8, http=http) as server:
        conn = HTTPConnection(server.url.removeprefix("http://"), timeout=30)
        conn.request("POST", "/v1/messages/count_tokens", body=body, headers=headers)
        first = conn.getresponse()
        assert first.status == 200 and first.read()
        time.sleep(0.5)  # idle, well within keep-alive
        conn.putrequest("POST", "/v1/messages/count_tokens", skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        time.sleep(0.5)  # the body comes a moment after the head: 1 s after the first answer, 0.5 s into this request
        conn.send(body)
        second = conn.getresponse()
        assert second.status == 200 and "input_tokens" in json.loads(second.read())
        conn.close()


@PROTOCOLS
def test_the_request_deadline_spares_a_long_stream_and_a_second_request(http):
    with serve_in_thread(LocalMessagesAPI(), read_timeout=0.3, http=http) as server:
        client = anthropic.Anthropic(
            base_url=server.url,
            api_key="test-key",
            max_retries=0,
            default_headers={"x-offline-pace": "instant", "x-offline-fault": "stall@3:0.4"},  # silent past the deadline
            http_client=httpx2.Client(),
        )
        for _ in range(2):  # the second request reuses the kept-alive connection
            started = time.monotonic()
            with client.messages.stream(
                model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Count to 20"}]
            ) as stream:
                final = stream.get_final_message()
            assert final.stop_reason == "end_turn"
            assert time.monotonic() - started > 0.3  # longer than the deadline, and not cut
