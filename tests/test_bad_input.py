"""Bad input against the local Messages API and the relay, over real HTTP: the tables of tools/bad_input.py, faults on every endpoint
the SDK calls, idle and half-sent connections, a client leaving mid-upload, and public helpers given wrong arguments."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import anthropic
import pytest

from helpers.offline import start
from tools import bad_input

from .conftest import MODEL


@pytest.fixture(scope="module")
def cassette_api():
    with bad_input.local_api() as running:
        yield running


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", bad_input.BAD_INPUTS)
def test_bad_input(cassette_api, name):
    assert bad_input.problems(cassette_api.url, name) == []


@pytest.fixture(scope="module")
def relays(cassette_api):
    with bad_input.relays(cassette_api) as running:
        yield running


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", bad_input.RELAY_INPUTS)
def test_relay_bad_input(cassette_api, relays, name):
    relay = relays[bad_input.RELAY_INPUTS[name].upstream]
    assert bad_input.relay_problems(relay, cassette_api, name) == []


def test_the_readme_shows_the_bad_input_tables():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    all_passed = bad_input.table({(s, n): [] for s in bad_input.SERVERS for n in bad_input.BAD_INPUTS})
    assert all_passed in readme, "README.md's bad input table is stale: paste `python tools/bad_input.py` into it"
    relay_passed = bad_input.relay_table(dict.fromkeys(bad_input.RELAY_INPUTS, []))
    assert relay_passed in readme, (
        "README.md's relay bad input table is stale: paste `python tools/bad_input.py` into it"
    )


def test_the_sdk_reads_the_errors(client):
    with pytest.raises(anthropic.BadRequestError, match="tool_choice: Input should be a valid dictionary") as info:
        client.messages.create(model=MODEL, max_tokens=64, messages=bad_input.OK["messages"], tool_choice="auto")
    assert info.value.body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.BadRequestError, match="greater than or equal to 0"):
        client.messages.create(model=MODEL, max_tokens=-1, messages=bad_input.OK["messages"])


@pytest.mark.parametrize(("status", "exc"), [(401, anthropic.AuthenticationError), (529, anthropic.OverloadedError)])
def test_a_fault_applies_to_every_endpoint_the_sdk_calls(status, exc):
    with start(pace="instant", fault=f"http:{status}") as api:
        sdk = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=0)
        with pytest.raises(exc):
            sdk.models.list()
        with pytest.raises(exc):
            sdk.messages.create(model=MODEL, max_tokens=64, messages=bad_input.OK["messages"])


def test_the_doctor_no_longer_accepts_a_key_every_message_would_fail(monkeypatch, tmp_path):
    from helpers.doctor import examine_live_api

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-" + "k" * 40 + "wxyz")
    with start(pace="instant", fault="http:401") as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        result = examine_live_api()
    assert result.status == "FAIL" and "rejected key …wxyz (401)" in result.found


def test_idle_and_half_sent_connections_are_closed():
    from helpers.offline.app import LocalMessagesAPI
    from helpers.offline.server import serve_in_thread

    with serve_in_thread(LocalMessagesAPI(), read_timeout=0.5) as server:
        host, port = server.url.removeprefix("http://").split(":")
        idle = [socket.create_connection((host, int(port))) for _ in range(250)]  # one address holds at most 300
        half = socket.create_connection((host, int(port)))
        half.sendall(b'POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{"model"')
        for sock in [*idle, half]:
            sock.settimeout(30)
        assert all(sock.recv(1) == b"" for sock in [*idle, half])  # closed by the server, not by us
        assert server.stats()["uploads_cut_by_client"] == 1  # the app saw the half-sent body end
        for sock in [*idle, half]:
            sock.close()


def test_a_client_leaving_mid_upload_is_one_log_line(api, caplog):
    before = api.stats()["uploads_cut_by_client"]
    host, port = api.url.removeprefix("http://").split(":")
    with caplog.at_level(logging.INFO, logger="helpers.offline"):
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n0123456789")
            time.sleep(0.2)
        deadline = time.monotonic() + 10
        while api.stats()["uploads_cut_by_client"] == before and time.monotonic() < deadline:
            time.sleep(0.02)
    lines = [r for r in caplog.records if r.name == "helpers.offline"]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert "left after sending 10 bytes of POST /v1/messages" in lines[0].getMessage()
    assert "\n" not in lines[0].getMessage()


def test_public_helpers_name_what_they_expected():
    from helpers.proxy import page_url

    cases = [
        (lambda: start(pace=0), ValueError, "positive number of tokens per second"),
        (lambda: start(pace=-5), ValueError, "positive number of tokens per second"),
        (lambda: start(port="80"), TypeError, "port= expects an int from 0 to 65535"),
        (lambda: start(port=70000), TypeError, "port= expects an int from 0 to 65535"),
        (lambda: start(host=5), TypeError, "host= expects an address"),
        (lambda: page_url("/", local_url=5), TypeError, "local_url= expects the relay's URL as a str"),
    ]
    for call, kind, words in cases:
        with pytest.raises(kind, match=words):
            result = call()
            getattr(result, "stop", lambda: None)()
