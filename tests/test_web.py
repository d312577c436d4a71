"""The web relay over real HTTP: a real uvicorn serving helpers.web, upstream the local Messages API, the real SDK."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import anthropic
import httpx2
import pytest

from helpers.offline import replies
from helpers.offline import start as start_api
from helpers.web import Reader, frame, naive_frame, parse, start, token_in
from helpers.web.app import ERROR_MESSAGES, MAX_CHARS, MAX_MESSAGES
from helpers.web.framing import streamed_text
from tools import inline_js

from .conftest import MODEL, ROOT, http

SECRET = "sk-ant-test-0123456789-do-not-leak"
UNICODE_PROMPT = "Show me some unicode and newline text."


def upstream(url: str, **options):
    """A client factory for the relay: the real AsyncAnthropic, pointed at a local API."""
    return lambda: anthropic.AsyncAnthropic(base_url=url, api_key=SECRET, max_retries=0, **options)


@pytest.fixture(scope="module")
def relay(api):
    with start(client_factory=upstream(api.url)) as running:
        yield running


@pytest.fixture(scope="module")
def slow_api():
    with start_api(pace=20) as running:  # 20 tokens/s: a long answer is still streaming when the client leaves
        yield running


def events_of(response: httpx2.Response) -> list:
    return parse(response.content)


def token(url: str) -> str:
    """The token the relay's page carries, which ``GET /chat`` needs (as the page's EventSource would send it)."""
    return token_in(http.get(url + "/", timeout=30).text)


def get_chat(url: str, message: str, timeout: float = 30) -> httpx2.Response:
    return http.get(f"{url}/chat", params={"message": message, "token": token(url)}, timeout=timeout)


def chat(relay, content: str) -> httpx2.Response:
    return http.post(f"{relay.url}/chat", json={"messages": [{"role": "user", "content": content}]}, timeout=30)


# ---------------------------------------------------------------------------------------------------------------------
# Framing


def test_naive_framing_loses_text_after_a_newline_and_json_framing_keeps_it():
    text = replies.UNICODE_ANSWER
    assert [e.data for e in parse(naive_frame(text))] != [text]  # the tutorial's framing: the 2nd line is lost
    assert parse(naive_frame(text))[0].data == text.split("\n")[0]
    (event,) = parse(frame("text", {"text": text}))
    assert (event.event, json.loads(event.data)) == ("text", {"text": text})


@pytest.mark.parametrize("text", ["a\u2028b\u0085c", "cr\ronly", "crlf\r\nx", 'tab\t🚀 東京 \\ "q"'])
def test_frame_round_trips_any_text(text):
    (event,) = parse(frame("text", {"text": text}))
    assert json.loads(event.data)["text"] == text


def test_text_of_reads_the_relays_events_and_the_apis_text_deltas_alike():
    relay = frame("text", {"text": "Hel"}) + frame("text", {"text": "lo"}) + frame("done", {})
    api = b"".join(
        frame("content_block_delta", {"index": 0, "delta": {"type": kind, key: value}})
        for kind, key, value in [
            ("text_delta", "text", "Hel"),
            ("input_json_delta", "partial_json", "{"),
            ("text_delta", "text", "lo"),
        ]
    )
    assert streamed_text(parse(relay)) == streamed_text(parse(api)) == "Hello"


def test_the_capstone_page_carries_the_one_js_sse_parser():
    assert inline_js.main(check=True) == 0, "run `python tools/inline_js.py`"
    assert "function sseParser" not in (ROOT / "helpers/web/static/chat.js").read_text()  # it loads sse.js instead


def test_reader_handles_events_split_anywhere():
    body = (
        frame("text", {"text": "café 🚀\nline"})
        + b"event: x\r\ndata: 1\r\ndata: 2\r\n\r\n: comment\n\n"
        + frame("done", {})
    )
    whole = parse(body)
    assert [e.event for e in whole] == ["text", "x", "done"]
    assert whole[1].data == "1\n2"
    reader = Reader()
    one_byte_at_a_time = [e for i in range(len(body)) for e in reader.feed(body[i : i + 1])]
    assert one_byte_at_a_time == whole


def test_reader_handles_carriage_returns_split_anywhere():
    body = b"data: a\r\rdata: b\r\n\r\nevent: c\rdata: \xc3\xa9\r\r\n"
    whole = parse(body)
    assert [(e.event, e.data) for e in whole] == [("message", "a"), ("message", "b"), ("c", "é")]
    for size in (1, 2, 3, 5):
        reader = Reader()
        assert [e for i in range(0, len(body), size) for e in reader.feed(body[i : i + size])] == whole


def test_reader_strips_a_leading_byte_order_mark_split_anywhere():
    """The SSE spec's decoding drops one leading BOM: kept, it made the first field "\ufeffevent", so its name was lost."""
    body = b"\xef\xbb\xbfevent: first\ndata: 1\n\n\xef\xbb\xbfdata: 2\n\n"  # only the first BOM is dropped
    for size in (1, 2, 3, len(body)):
        reader = Reader()
        events = [e for i in range(0, len(body), size) for e in reader.feed(body[i : i + size])]
        assert [(e.event, e.data) for e in events] == [("first", "1")], size


@pytest.mark.timeout(60)  # each chunk re-split every line so far: 8 MB took 5.6 s, this 30 MB line about 80 s
def test_reader_reads_a_30_mb_line_in_64_kib_chunks_in_linear_time():
    """The gateway and the relay read the upstream's stream with this reader on their event loop; a local API answer
    can carry a line as long as the request (a structured-output ``const``): every learner's stream waited for it."""
    line = b"event: content_block_delta\ndata: " + b"x" * (30 * 2**20) + b"\n\n"
    reader = Reader()
    events = [e for i in range(0, len(line), 65536) for e in reader.feed(line[i : i + 65536])]
    assert [(e.event, len(e.data)) for e in events] == [("content_block_delta", 30 * 2**20)]


# ---------------------------------------------------------------------------------------------------------------------
# Endpoints


def test_get_chat_streams_named_json_events_with_the_no_buffering_headers(relay):
    assert relay.url.startswith("http://127.0.0.1:")  # loopback unless told otherwise
    response = get_chat(relay.url, "Write a haiku about debugging.", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    events = events_of(response)
    assert {e.event for e in events[:-2]} == {"text"}
    assert [e.event for e in events[-2:]] == ["stop", "done"]
    assert streamed_text(events) == replies.HAIKUS["debug"]
    stop = json.loads(events[-2].data)
    assert stop["stop_reason"] == "end_turn"
    assert stop["usage"]["output_tokens"] > 0 and stop["usage"]["input_tokens"] > 0


def test_a_multi_line_unicode_answer_is_relayed_byte_exact(relay, client):
    with client.messages.stream(
        model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": UNICODE_PROMPT}]
    ) as s:
        direct = "".join(s.text_stream)
    assert "\n" in direct and "\ndata: " in direct and "🚀" in direct  # the cases the naive framing breaks
    relayed = streamed_text(events_of(chat(relay, UNICODE_PROMPT)))
    assert relayed.encode() == direct.encode()
    via_get = get_chat(relay.url, UNICODE_PROMPT, timeout=30)
    assert streamed_text(events_of(via_get)) == direct


def test_post_chat_sends_the_whole_conversation_and_options(relay):
    messages = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi!"},
        {"role": "user", "content": "What now?"},
    ]
    body = {"messages": messages, "system": "Talk like a pirate.", "max_tokens": 5}
    events = events_of(http.post(f"{relay.url}/chat", json=body, timeout=30))
    assert streamed_text(events).startswith("Arr!")  # the system prompt reached the model
    assert json.loads(events[-2].data)["stop_reason"] == "max_tokens"  # and so did max_tokens
    full = streamed_text(events_of(http.post(f"{relay.url}/chat", json={"messages": messages}, timeout=30)))
    assert "turn 2 of the conversation" in full  # every turn was sent


def test_the_page_and_its_files_are_served_from_the_package_with_nothing_from_a_cdn(relay):
    page = http.get(relay.url + "/", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for asset in ("static/chat.js", "static/chat.css"):
        assert f'"{asset}"' in page.text
        response = http.get(f"{relay.url}/{asset}", timeout=10)
        assert response.status_code == 200
        assert "://" not in response.text, f"{asset} loads something from elsewhere"
    assert "://" not in page.text


@pytest.mark.parametrize(
    "fault, kind, mid_stream",
    [
        ("http:529", "overloaded_error", False),
        ("http:429", "rate_limit_error", False),
        ("http:401", "authentication_error", False),
        ("http:500", "api_error", False),
        ("error@6", "overloaded_error", True),
        ("error@6:rate_limit_error", "rate_limit_error", True),
        ("drop@6", "api_connection_error", True),
        ("garbage@6", "stream_error", True),
    ],
)
def test_upstream_faults_become_an_error_event_and_keep_the_partial_answer(api, fault, kind, mid_stream):
    factory = upstream(api.url, default_headers={"x-offline-fault": fault})
    with start(client_factory=factory) as relay:
        response = get_chat(relay.url, "Count to 200", timeout=30)
    assert response.status_code == 200
    events = events_of(response)
    assert [e.event for e in events[-2:]] == ["error", "done"]
    assert json.loads(events[-2].data) == {"type": kind, "message": ERROR_MESSAGES[kind]}
    partial = streamed_text(events)
    full = ", ".join(str(i) for i in range(1, 201)) + "."
    assert (len(partial) > 0) is mid_stream and full.startswith(partial) and partial != full
    assert SECRET not in response.text and SECRET[-8:] not in response.text
    assert "Traceback" not in response.text


def test_unreachable_and_stalled_upstreams_become_connection_and_timeout_errors(api):
    with start_api(pace="instant") as gone:
        closed_url = gone.url
    with start(client_factory=upstream(closed_url)) as relay:
        refused = events_of(get_chat(relay.url, "hi", timeout=30))
    assert json.loads(refused[-2].data)["type"] == "api_connection_error"
    stalled = upstream(api.url, timeout=0.5, default_headers={"x-offline-fault": "stall@6:3"})
    with start(client_factory=stalled) as relay:
        events = events_of(get_chat(relay.url, "Count to 50", timeout=30))
    assert json.loads(events[-2].data)["type"] == "timeout_error"
    assert streamed_text(events).startswith("1,")  # what arrived before the stall is kept


def test_a_client_that_leaves_after_the_first_event_cuts_the_upstream_stream(slow_api):
    with start(client_factory=upstream(slow_api.url)) as relay:
        before = slow_api.stats()
        with httpx2.Client(timeout=10) as http:
            params = {"message": "Explain streaming in detail", "token": token(relay.url)}
            with http.stream("GET", f"{relay.url}/chat", params=params) as r:
                reader = Reader()
                for chunk in r.iter_raw():
                    if any(e.event == "text" for e in reader.feed(chunk)):
                        break
            left_at = time.time()  # leaving the with-blocks closed the connection
        deadline = left_at + 5
        while (stats := slow_api.stats())["streams_cut_by_client"] == before["streams_cut_by_client"]:
            assert time.time() < deadline, f"the upstream stream was never cut: {stats}"
            time.sleep(0.01)
    assert stats["streams_completed"] == before["streams_completed"]
    assert stats["last_cut_at"] - left_at < 2.0  # the bench measures the real figure (a few ms)


LONG = "x" * (MAX_CHARS + 1)


@pytest.mark.parametrize(
    "body, status, says",
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "expected a JSON object"),
        ({"message": "hi"}, 400, "unknown field 'message'"),
        ({"messages": []}, 400, "non-empty list"),
        ({"messages": "hi"}, 400, "non-empty list"),
        ({"messages": [{"role": "user", "content": "   "}]}, 400, "messages[0].content: must not be empty"),
        ({"messages": [{"role": "system", "content": "hi"}]}, 400, "expected 'user' or 'assistant', got 'system'"),
        ({"messages": [{"role": "user", "content": 5}]}, 400, "expected a string, got int"),
        ({"messages": [{"role": "user"}]}, 400, "messages[0]: expected"),
        ({"messages": [{"role": "user", "content": LONG}]}, 413, f"at most {MAX_CHARS:,} characters"),
        (
            {"messages": [{"role": "user", "content": "hi"}] * (MAX_MESSAGES + 1)},
            413,
            f"at most {MAX_MESSAGES} messages",
        ),
        ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}, 400, "last message"),
        (
            {"messages": [{"role": "user", "content": "hi"}], "max_tokens": "10"},
            400,
            "max_tokens: expected a whole number",
        ),
        ({"messages": [{"role": "user", "content": "hi"}], "system": ""}, 400, "system: must not be empty"),
        ({"messages": [{"role": "user", "content": "hi"}], "model": 4}, 400, "model: expected"),
    ],
)
def test_bad_input_gets_a_4xx_json_error_naming_the_problem(api, relay, body, status, says):
    requests_before = api.stats()["requests"]
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = http.post(f"{relay.url}/chat", content=content, headers={"content-type": "application/json"}, timeout=10)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["type"] == "error"  # the Messages API's own error shape
    error = response.json()["error"]
    assert error["type"] == ("request_too_large" if status == 413 else "invalid_request_error")
    assert says in error["message"]
    assert api.stats()["requests"] == requests_before  # nothing went upstream


def test_get_chat_without_a_message_is_refused(relay):
    response = http.get(f"{relay.url}/chat", params={"token": token(relay.url)}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "message: must not be empty"


@pytest.mark.slow  # its point is the number of streams: in `make test`, not in the inner loop
async def test_200_concurrent_streams_all_arrive_byte_exact(relay, aclient):
    prompt = UNICODE_PROMPT
    async with aclient.messages.stream(
        model=MODEL, max_tokens=4096, messages=[{"role": "user", "content": prompt}]
    ) as s:
        expected = "".join([t async for t in s.text_stream])
    body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": 4096}

    async def one(http: httpx2.AsyncClient) -> str:
        response = await http.post(f"{relay.url}/chat", json=body)
        return streamed_text(parse(response.content))

    limits = httpx2.Limits(max_connections=250, max_keepalive_connections=250)
    async with httpx2.AsyncClient(limits=limits, timeout=60) as http:
        texts = await asyncio.wait_for(asyncio.gather(*(one(http) for _ in range(200))), timeout=120)
    assert len(texts) == 200
    assert all(t == expected for t in texts), f"{sum(t != expected for t in texts)} of 200 streams differ"


# ---------------------------------------------------------------------------------------------------------------------
# A bad delta, and the relay's own bugs


def sse_body(*events: tuple[str, str]) -> bytes:
    return b"".join(f"event: {name}\ndata: {data}\n\n".encode() for name, data in events)


def text_delta(json_text: str) -> tuple[str, str]:
    """A text delta whose ``text`` is the JSON string literal ``json_text`` (so it may hold escapes, as sent)."""
    return "content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":' + (
        json_text + "}}"
    )


NO_TEXT = ("content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}')


START = (
    "message_start",
    json.dumps({"type": "message_start", "message": {"usage": {"input_tokens": 3, "output_tokens": 1}}}),
)
STOP = (
    "message_delta",
    json.dumps({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}}),
)


def test_a_lone_surrogate_in_one_delta_keeps_the_chunks_good_text(tmp_path):
    """One upstream chunk holds three deltas, the middle one a lone surrogate (valid JSON, no character)."""
    recorded = tmp_path / "surrogate.sse"
    recorded.write_bytes(
        sse_body(START, text_delta('"good "'), text_delta('"bad \\ud800 "'), text_delta('"end"'), STOP)
    )
    with start_api(pace="instant", replay=recorded) as api, start(client_factory=upstream(api.url)) as relay:
        events = events_of(chat(relay, "hi"))
    assert [e.event for e in events] == ["text"] * 3 + ["stop", "done"], events
    assert streamed_text(events) == "good bad \ufffd end"


def test_an_event_the_relay_cannot_read_keeps_the_text_before_it_and_is_a_stream_error(tmp_path):
    recorded = tmp_path / "bad-field.sse"
    recorded.write_bytes(sse_body(START, text_delta('"kept "'), NO_TEXT, text_delta('"never"'), STOP))
    with start_api(pace="instant", replay=recorded) as api, start(client_factory=upstream(api.url)) as relay:
        events = events_of(chat(relay, "hi"))
    assert streamed_text(events) == "kept "
    assert [e.event for e in events[-2:]] == ["error", "done"]
    assert json.loads(events[-2].data) == {"type": "stream_error", "message": ERROR_MESSAGES["stream_error"]}


class BuggyClient(anthropic.AsyncAnthropic):
    """The real client, with a bug of the kind the relay's own code can have."""

    async def post(self, *args, **kwargs):
        raise KeyError("usage")


def test_a_bug_in_the_relay_is_logged_with_its_traceback_and_told_apart_from_an_upstream_error(api, caplog):
    caplog.set_level(logging.INFO, logger="helpers.web")
    factory = lambda: BuggyClient(base_url=api.url, api_key=SECRET, max_retries=0)  # noqa: E731
    with start(client_factory=factory) as relay:
        events = events_of(chat(relay, "hi"))
    assert [e.event for e in events] == ["error", "done"]
    error = json.loads(events[0].data)
    assert error["type"] == "server_error" and error["type"] not in ERROR_MESSAGES  # no upstream error type
    assert "relay itself failed" in error["message"] and "usage" not in error["message"]
    (record,) = [r for r in caplog.records if r.name == "helpers.web.app" and r.levelno >= logging.WARNING]
    assert record.levelno == logging.ERROR and record.exc_info and record.exc_info[0] is KeyError


def test_a_bug_before_the_stream_gets_a_500_in_the_api_error_shape_and_is_logged(caplog):
    caplog.set_level(logging.INFO, logger="helpers.web")

    def broken_factory():
        raise TypeError("a bug in the client factory")

    with start(client_factory=broken_factory) as relay:
        response = chat(relay, "hi")
    assert response.status_code == 500 and response.headers["content-type"] == "application/json"
    assert response.json()["error"]["type"] == "server_error"
    assert "client factory" not in response.text  # the details stay in the log
    (record,) = [r for r in caplog.records if r.name == "helpers.web.app" and r.levelno >= logging.WARNING]
    assert record.levelno == logging.ERROR and record.exc_info[0] is TypeError
