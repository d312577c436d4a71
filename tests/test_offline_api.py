"""The local Messages API, exercised by the real SDK over real HTTP on loopback."""

from __future__ import annotations

import concurrent.futures
import json
import re
import subprocess
import sys
import time

import anthropic
import httpx2
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from helpers.demo_tool import WEATHER_TOOL
from helpers.offline import router, sse, start, wire
from helpers.offline.__main__ import main as offline_main
from helpers.offline.app import Pace
from tools import bad_input

from .conftest import MODEL, ROOT, http, samples_or_skip

HAIKU = [{"role": "user", "content": "Write a haiku about debugging."}]
WEATHER = [{"role": "user", "content": "What is the weather in Paris?"}]
EVENT = TypeAdapter(RawMessageStreamEvent)


def raw_stream(api, **request) -> bytes:
    """The exact bytes of a streaming answer, read with a plain HTTP client."""
    body = {"model": MODEL, "max_tokens": 1024, "messages": HAIKU, "stream": True, **request}
    r = http.post(f"{api.url}/v1/messages", json=body, headers={"x-api-key": "k", "anthropic-version": "2023-06-01"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return r.content


def check_grammar(events: list[sse.RawEvent]) -> list[dict]:
    """Assert the real API's event order and validate every event against the SDK's own types."""
    names = [e.event for e in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    payloads = []
    open_block = None
    for e in events:
        data = json.loads(e.data)
        assert data["type"] == e.event
        if e.event == "ping":
            continue
        EVENT.validate_python(data)
        if e.event == "content_block_start":
            assert open_block is None
            open_block = data["index"]
        elif e.event in {"content_block_delta", "content_block_stop"}:
            assert data["index"] == open_block
            if e.event == "content_block_stop":
                open_block = None
        payloads.append(data)
    assert open_block is None
    return payloads


# ---------------------------------------------------------------------------------------------------------------------
# Blocks, stop reasons, grammar


def test_text_stream_haiku(client):
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=HAIKU) as stream:
        chunks = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(chunks) > 3
    assert "".join(chunks) == final.content[0].text
    assert final.content[0].text.count("\n") == 2  # three lines
    assert final.stop_reason == "end_turn"
    assert final.id.startswith("msg_01") and len(final.id) == 28
    assert final.usage.output_tokens == wire.count_tokens(final.content[0].text)
    assert final.usage.input_tokens > 0


def test_event_grammar_and_types(api):
    events = sse.split(raw_stream(api))
    payloads = check_grammar(events)
    assert [e.event for e in events].count("ping") == 1
    start_usage = payloads[0]["message"]["usage"]
    final_usage = payloads[-2]["usage"]
    assert start_usage["output_tokens"] == 1 and final_usage["output_tokens"] > 1
    assert final_usage["input_tokens"] == start_usage["input_tokens"]  # cumulative, as the real API sends it


def test_tool_use_streams_input_json(client):
    messages = [{"role": "user", "content": "What's the weather in Paris?"}]
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=[WEATHER_TOOL], messages=messages) as stream:
        events = list(stream)
        final = stream.get_final_message()
    deltas = [
        e.delta.partial_json for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert deltas[0] == ""  # the real API's first chunk
    assert any('"' in d and not d.startswith('"') for d in deltas[1:])  # keys and values split mid-token
    snapshots = [e.snapshot for e in events if e.type == "input_json"]
    assert snapshots[0] == {} and snapshots[-1] == {"location": "Paris", "unit": "celsius"}
    tool = final.content[-1]
    assert final.stop_reason == "tool_use" and tool.type == "tool_use" and tool.name == "get_weather"
    assert tool.id.startswith("toolu_01")

    follow_up = [
        *messages,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in final.content]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": tool.id,
                    "content": json.dumps(
                        {"location": "Paris", "temperature": 18, "unit": "celsius", "conditions": "partly cloudy"}
                    ),
                }
            ],
        },
    ]
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=[WEATHER_TOOL], messages=follow_up) as stream:
        answer = stream.get_final_message()
    assert answer.stop_reason == "end_turn"
    assert "18°C" in answer.content[0].text and "Paris" in answer.content[0].text


def test_a_tool_without_input_streams_no_json(client):
    """A call with input {} streams one empty fragment, as the real API does: joining the fragments gives ''."""
    clock = {"name": "get_time", "description": "The time.", "input_schema": {"type": "object", "properties": {}}}
    messages = [{"role": "user", "content": "What time is it? Use get_time."}]
    tools = [WEATHER_TOOL, clock]
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=tools, messages=messages) as stream:
        events = list(stream)
        final = stream.get_final_message()
    deltas = [e.delta for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"]
    assert [d.partial_json for d in deltas] == [""]
    assert final.stop_reason == "tool_use" and [(b.name, b.input) for b in final.content[1:]] == [("get_time", {})]


@pytest.mark.parametrize("thinking", [{"type": "enabled", "budget_tokens": 1024}, {"type": "adaptive"}])
def test_thinking_then_signature_then_answer(client, thinking):
    messages = [{"role": "user", "content": "What is 27 * 453?"}]
    with client.messages.stream(model=MODEL, max_tokens=2048, thinking=thinking, messages=messages) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = [e.delta.type for e in events if e.type == "content_block_delta"]
    first_text = kinds.index("text_delta")
    assert kinds[0] == "thinking_delta" and kinds[first_text - 1] == "signature_delta"
    assert kinds.count("signature_delta") == 1
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert "12,231" in final.content[0].thinking and "12,231" in final.content[1].text
    assert final.content[0].signature


def test_max_tokens_truncates_text(client):
    with client.messages.stream(model=MODEL, max_tokens=5, messages=HAIKU) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "max_tokens"
    assert final.usage.output_tokens <= 5
    assert final.content[0].text and "typo" not in final.content[0].text


def test_max_tokens_truncates_tool_input(client):
    messages = [{"role": "user", "content": "What's the weather in Paris?"}]
    with client.messages.stream(model=MODEL, max_tokens=14, tools=[WEATHER_TOOL], messages=messages) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "max_tokens"
    tool = final.content[-1]
    assert tool.type == "tool_use" and tool.input != {"location": "Paris", "unit": "celsius"}


def test_stop_sequence_cuts_before_it(client):
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=HAIKU, stop_sequences=["print"]) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == "print"
    assert final.content[0].text == "Silent stack trace waits\nOne "


def test_non_streaming_matches_streaming(client):
    created = client.messages.create(model=MODEL, max_tokens=1024, messages=HAIKU)
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=HAIKU) as stream:
        streamed = stream.get_final_message()
    assert isinstance(created, Message)
    assert created.content[0].text == streamed.content[0].text
    assert created.usage.output_tokens == streamed.usage.output_tokens


def test_accepts_everything_the_sdk_sends(client):
    with client.messages.stream(
        model=MODEL,
        max_tokens=1024,
        system=[{"type": "text", "text": "You are terse."}],
        messages=HAIKU,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "auto"},
        metadata={"user_id": "learner-1"},
        stop_sequences=["zzz"],
        service_tier="auto",
        output_config={"effort": "high"},
    ) as stream:
        assert stream.get_final_message().stop_reason == "end_turn"


def test_refuses_a_field_the_api_does_not_know(client):
    with pytest.raises(anthropic.BadRequestError, match="some_future_field: Extra inputs are not permitted"):
        client.messages.create(model=MODEL, max_tokens=64, messages=HAIKU, extra_body={"some_future_field": 1})


def test_other_prompts_get_a_deterministic_offline_answer(client):
    messages = [{"role": "user", "content": "Tell me about owls"}]
    texts = {client.messages.create(model=MODEL, max_tokens=1024, messages=messages).content[0].text for _ in range(2)}
    assert len(texts) == 1 and "offline" in texts.pop()


ID = re.compile(rb"(msg|toolu|srvtoolu)_01[1-9A-HJ-NP-Za-km-z]{22}")


def test_same_request_same_bytes_but_unique_ids(api):
    """The same request streams the same events, but every answer has ids of its own, as the API's are unique."""
    first, second = raw_stream(api), raw_stream(api)
    assert ID.sub(b"ID", first) == ID.sub(b"ID", second)
    assert ID.search(first)[0] != ID.search(second)[0]
    assert raw_stream(api) != raw_stream(api, max_tokens=1000)


def test_unique_message_and_tool_ids_per_response(client):
    """Identical requests get distinct message and tool_use ids (streamed or not); a fresh server's first answer
    keeps the id it always had, so saved lessons stay deterministic."""
    kwargs = {"model": MODEL, "max_tokens": 256, "tools": [WEATHER_TOOL], "messages": WEATHER}
    answers = [client.messages.create(**kwargs) for _ in range(3)]
    with client.messages.stream(**kwargs) as stream:
        answers.append(stream.get_final_message())
    assert len({a.id for a in answers}) == 4
    assert len({a.content[-1].id for a in answers}) == 4 and all(a.content[-1].type == "tool_use" for a in answers)
    with start(pace="instant") as fresh, start(pace="instant") as other:
        ids = [
            anthropic.Anthropic(base_url=api.url, api_key="k").messages.create(**kwargs).id for api in (fresh, other)
        ]
    assert ids[0] == ids[1]


def test_models_list(client):
    ids = [m.id for m in client.models.list()]
    assert MODEL in ids


# ---------------------------------------------------------------------------------------------------------------------
# Pacing


def test_pace_parsing_and_bounds():
    request = {"model": MODEL, "max_tokens": 4096, "messages": [{"role": "user", "content": "Write a long essay"}]}
    events = wire.events(request, router.choose(request))
    n_tokens = sum(e.tokens for e in events)
    assert Pace.parse("instant").delays(events, "s") == [0.0] * len(events)
    real = Pace.parse("realistic").delays(events, "s")
    assert real == Pace.parse("realistic").delays(events, "s")  # deterministic jitter
    ttft = next(d for d, e in zip(real, events, strict=True) if e.tokens)
    assert 0.4 <= ttft <= 0.9
    rate = (n_tokens - 1) / (sum(real) - ttft)
    assert 35 <= rate <= 100  # in the range of the real API
    paced = Pace.parse(100).delays(events, "s")
    first = next(d for d, e in zip(paced, events, strict=True) if e.tokens)
    assert 0.4 <= first <= 0.9  # a time to first token like the real API's, whatever the rate
    assert sum(paced) - first == pytest.approx((n_tokens - 1) / 100, rel=0.05)
    with pytest.raises(ValueError, match="instant.*realistic"):
        Pace.parse("fast")


def test_pace_per_request_header_slows_the_stream(client):
    started = time.monotonic()
    with client.messages.stream(
        model=MODEL, max_tokens=1024, messages=HAIKU, extra_headers={"x-offline-pace": "40"}
    ) as stream:
        tokens = stream.get_final_message().usage.output_tokens
    assert time.monotonic() - started >= (tokens - 2) / 40  # a lower bound holds on any machine


# ---------------------------------------------------------------------------------------------------------------------
# Faults


@pytest.mark.parametrize(
    ("status", "exc", "error_type"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (413, anthropic.ContentTooLargeError, "request_too_large"),
    ],
)
def test_http_faults_raise_the_sdk_exception(client, status, exc, error_type):
    with pytest.raises(exc) as info:
        with client.messages.stream(
            model=MODEL, max_tokens=64, messages=HAIKU, extra_headers={"x-offline-fault": f"http:{status}"}
        ) as stream:
            stream.get_final_message()
    assert info.value.status_code == status
    assert info.value.body["error"]["type"] == error_type
    assert info.value.request_id.startswith("req_01")


def test_retries_succeed_after_k_failures(api):
    retrying = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=2)
    before = api.stats()["requests"]
    with retrying.messages.stream(
        model=MODEL, max_tokens=64, messages=HAIKU, extra_headers={"x-offline-fault": "http:529*2"}
    ) as stream:
        assert stream.get_final_message().stop_reason == "end_turn"
    assert api.stats()["requests"] - before == 3  # two 529s, then the answer


def test_retries_give_up_when_failures_outlast_them(api):
    retrying = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=1)
    with pytest.raises(anthropic.OverloadedError):
        retrying.messages.create(
            model=MODEL, max_tokens=64, messages=HAIKU, extra_headers={"x-offline-fault": "http:529*2"}
        )


def test_rate_limit_sends_retry_after(api):
    with httpx2.Client() as http:
        r = http.post(f"{api.url}/v1/messages", json={}, headers={"x-offline-fault": "http:429"})
    assert r.status_code == 429 and r.headers["retry-after"] == "1" and r.headers["x-should-retry"] == "true"


def stream_until_failure(client, fault: str, **options):
    """Stream the haiku with a fault; return (partial text, exception)."""
    parts: list[str] = []
    with pytest.raises(Exception) as info:  # noqa: PT011 - each caller checks the exact type
        with client.with_options(**options).messages.stream(
            model=MODEL, max_tokens=1024, messages=HAIKU, extra_headers={"x-offline-fault": fault}
        ) as stream:
            for text in stream.text_stream:
                parts.append(text)
    return "".join(parts), info.value


def test_midstream_error_event(client):
    partial, err = stream_until_failure(client, "error@6")
    assert isinstance(err, anthropic.APIStatusError) and err.status_code == 200
    assert err.type == "overloaded_error"
    assert partial and "Silent".startswith(partial[:6])


def test_midstream_error_event_custom_type(client):
    _, err = stream_until_failure(client, "error@4:api_error")
    assert err.type == "api_error"


def test_midstream_error_is_not_retried(api):
    retrying = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=2)
    before = api.stats()["requests"]
    stream_until_failure(retrying, "error@6")
    assert api.stats()["requests"] - before == 1


def test_dropped_connection(client):
    partial, err = stream_until_failure(client, "drop@6")
    assert isinstance(err, httpx2.RemoteProtocolError)  # the SDK does not wrap errors raised mid-stream
    assert partial


def test_stall_caught_by_read_timeout(client):
    started = time.monotonic()
    partial, err = stream_until_failure(client, "stall@6:5", timeout=anthropic.Timeout(5, read=0.3))
    assert isinstance(err, httpx2.ReadTimeout)
    assert partial and time.monotonic() - started < 4


def test_stall_shorter_than_timeout_completes(client):
    with client.messages.stream(
        model=MODEL, max_tokens=1024, messages=HAIKU, extra_headers={"x-offline-fault": "stall@6:0.2"}
    ) as stream:
        assert stream.get_final_message().stop_reason == "end_turn"


def test_garbage_line(client):
    partial, err = stream_until_failure(client, "garbage@6")
    assert isinstance(err, json.JSONDecodeError)
    assert partial


def test_faults_combine(client):
    partial, err = stream_until_failure(
        anthropic.Anthropic(base_url=client.base_url, api_key="k", max_retries=1), "http:500*1, error@5"
    )
    assert isinstance(err, anthropic.APIStatusError) and err.status_code == 200


def test_unknown_fault_is_a_clear_400(client):
    with pytest.raises(anthropic.BadRequestError, match="expected http:STATUS"):
        client.messages.create(model=MODEL, max_tokens=64, messages=HAIKU, extra_headers={"x-offline-fault": "explode"})


def test_server_stays_up_after_faults(client):
    for fault in ("drop@3", "garbage@2", "error@1"):
        stream_until_failure(client, fault)
    assert client.messages.create(model=MODEL, max_tokens=64, messages=HAIKU).stop_reason in {"end_turn", "max_tokens"}


# ---------------------------------------------------------------------------------------------------------------------
# Bad requests


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"model": MODEL, "messages": HAIKU}, "max_tokens: Field required"),
        ({"model": MODEL, "max_tokens": 10, "messages": []}, "at least one message"),
        ({"model": MODEL, "max_tokens": 10, "messages": [{"role": "assistant", "content": "hi"}]}, "first message"),
        (
            {"model": MODEL, "max_tokens": 10, "messages": [{"role": "tool", "content": "hi"}]},
            "messages.0.role: Input should be 'user', 'assistant' or 'system'",
        ),
        (
            {
                "model": MODEL,
                "max_tokens": 10,
                "messages": HAIKU,
                "thinking": {"type": "enabled", "budget_tokens": 2048},
            },
            "budget_tokens",
        ),
    ],
)
def test_bad_requests_are_400(client, body, match):
    with pytest.raises(anthropic.BadRequestError, match=match) as info:
        client.post("/v1/messages", cast_to=Message, body=body)
    assert info.value.body["type"] == "error" and info.value.body["error"]["type"] == "invalid_request_error"


def test_a_union_with_no_type_to_check_against_is_a_clear_error_not_raise_none():
    from helpers.offline.validate import _first_that_passes

    with pytest.raises(ValueError, match="no type to check messages.0 against"):
        _first_that_passes([], {"role": "user"}, "messages.0")


def test_a_recorded_event_keeps_a_line_separator_inside_its_text():
    """U+2028 is a line end to str.splitlines, not to SSE: a recorded text holding one is replayed whole."""
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "a\u2028b\u0085c"}}
    (event,) = sse.split(sse.encode("content_block_delta", delta))
    assert json.loads(event.data) == delta


def test_invalid_json_and_unknown_path(api):
    with httpx2.Client() as http:
        bad = http.post(f"{api.url}/v1/messages", content=b"{not json", headers={"content-type": "application/json"})
        missing = http.get(f"{api.url}/v1/nothing")
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    assert bad.headers["request-id"].startswith("req_")


def test_unknown_path_raises_not_found(client):
    with pytest.raises(anthropic.NotFoundError):
        client.get("/v1/nothing", cast_to=dict)


# ---------------------------------------------------------------------------------------------------------------------
# Replay of recorded streams


def sdk_accumulates(path) -> Message:
    """What the SDK builds from a recorded file's events directly, with no server in between: the same events as the
    body of a response the SDK's public client reads through httpx's MockTransport."""
    body = b"".join(event.raw for event in sse.split(path.read_bytes()))
    transport = httpx2.MockTransport(
        lambda request: httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    client = anthropic.Anthropic(
        base_url="http://recorded.invalid", api_key="k", max_retries=0, http_client=httpx2.Client(transport=transport)
    )
    with client.messages.stream(model=MODEL, max_tokens=64, messages=HAIKU) as stream:
        return stream.get_final_message()


def sample_files():
    base = ROOT.parent / "shared" / "sse-samples"
    return sorted(p.name for p in base.glob("*.txt")) if base.is_dir() else ["(samples absent)"]


@pytest.mark.parametrize("name", sample_files())
def test_replay_matches_sdk_on_the_file(name):
    path = samples_or_skip() / name
    try:
        expected, expected_err = sdk_accumulates(path), None
    except Exception as err:  # the file itself is not a complete stream: replay must fail the same way
        expected, expected_err = None, err
    with start(pace="instant", replay=path) as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=0)
        if expected_err is not None:
            with pytest.raises(type(expected_err)):
                with client.messages.stream(model=MODEL, max_tokens=64, messages=HAIKU) as stream:
                    stream.get_final_message()
            return
        with client.messages.stream(model=MODEL, max_tokens=64, messages=HAIKU) as stream:
            got = stream.get_final_message()
    assert got.model_dump() == expected.model_dump()


def test_replay_serves_file_without_trailing_blank_line(tmp_path):
    body = (samples_or_skip() / "docs2025_basic_streaming_response.txt").read_bytes().rstrip(b"\n")
    path = tmp_path / "cut.txt"
    path.write_bytes(body)
    with start(pace="instant", replay=path) as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="k")
        with client.messages.stream(model=MODEL, max_tokens=64, messages=HAIKU) as stream:
            final = stream.get_final_message()
    assert final.content[0].text == "Hello!" and final.stop_reason == "end_turn"


def test_replay_is_byte_exact(tmp_path):
    path = samples_or_skip() / "sdk_recorded_tool_runner_stream_A_turn0.txt"
    with start(pace="instant", replay=path) as api, httpx2.Client() as http:
        body = http.post(
            f"{api.url}/v1/messages", json={"model": MODEL, "max_tokens": 9, "messages": HAIKU, "stream": True}
        ).content
    assert body == path.read_bytes()


@pytest.mark.parametrize("prompt", list(bad_input.CASSETTES)[2:])
def test_a_malformed_recording_is_served_as_recorded_at_any_pace(tmp_path, prompt):
    """The local API paces a replay by its deltas' text: one it cannot read costs a token, and never a 500."""
    path = tmp_path / "crafted.sse"
    path.write_bytes(bad_input.CASSETTES[prompt])
    with start(pace=1000, replay=path) as api, httpx2.Client(timeout=30) as http:
        response = http.post(f"{api.url}/v1/messages", json={**bad_input.OK, "stream": True})
    assert response.status_code == 200 and response.content == path.read_bytes()


@pytest.mark.parametrize("prompt", list(bad_input.CASSETTES)[:2])
def test_a_recording_no_server_could_send_is_refused_at_start(tmp_path, prompt):
    path = tmp_path / "broken.sse"
    path.write_bytes(bad_input.CASSETTES[prompt])
    with pytest.raises(ValueError, match=r"replay=.*broken\.sse.*: expected a recorded SSE stream"):
        start(pace="instant", replay=path)


# ---------------------------------------------------------------------------------------------------------------------
# Stats, disconnects, and a quiet background server


def test_client_disconnect_is_counted(api):
    before = api.stats()
    slow = anthropic.Anthropic(base_url=api.url, api_key="k")
    with slow.messages.stream(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": "Write a long essay"}],
        extra_headers={"x-offline-pace": "20"},
    ) as stream:
        next(iter(stream))
    deadline = time.monotonic() + 5
    while api.stats()["streams_cut_by_client"] == before["streams_cut_by_client"] and time.monotonic() < deadline:
        time.sleep(0.02)
    after = api.stats()
    assert after["streams_cut_by_client"] == before["streams_cut_by_client"] + 1
    assert after["streams_started"] == before["streams_started"] + 1
    assert after["last_cut_at"] is not None


def test_stats_count_completed_streams_and_events(api, client):
    before = api.stats()
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=HAIKU) as stream:
        n = sum(1 for _ in stream.response.iter_lines() if _.startswith("event:"))
    after = api.stats()
    assert after["streams_completed"] == before["streams_completed"] + 1
    assert after["events_sent"] - before["events_sent"] == n


QUIET = """
import anthropic
from helpers.offline import start
api = start(pace="instant")
c = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=0)
c = c.with_options(timeout=anthropic.Timeout(5, read=0.2))
for fault in ("", "drop@3", "garbage@3", "error@2", "http:500", "stall@3:0.6"):
    try:
        with c.messages.stream(model="claude-sonnet-4-6", max_tokens=64, extra_headers={"x-offline-fault": fault},
                               messages=[{"role": "user", "content": "hi"}]) as s:
            s.get_final_message()
    except Exception:
        pass
import time
time.sleep(0.8)  # let the stalled stream try to write to the closed connection
api.stop()
"""


def test_background_server_prints_nothing():
    result = subprocess.run([sys.executable, "-c", QUIET], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_command_line_server():
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers.offline", "--port", "0", "--pace", "instant"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:")
        url = first.removeprefix("listening on ")
        client = anthropic.Anthropic(base_url=url, api_key="k")
        assert client.messages.create(model=MODEL, max_tokens=64, messages=HAIKU).content
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_command_line_rejects_bad_options(capsys):
    with pytest.raises(SystemExit) as refused:
        offline_main(["--pace", "warp"])
    assert refused.value.code == 2
    assert "expected 'instant', 'realistic' or tokens per second" in capsys.readouterr().err


def test_continue_after_a_partial_answer(client):
    messages = [
        *HAIKU,
        {"role": "assistant", "content": "Silent stack trace waits\nOne print"},
        {"role": "user", "content": "Please continue exactly where you stopped."},
    ]
    rest = client.messages.create(model=MODEL, max_tokens=100, messages=messages).content[0].text
    assert rest == " statement, then the dawn\nThe bug was a typo"


def test_prefill_rejected_on_4_6_models_and_continued_on_others(client):
    prefill = [*HAIKU, {"role": "assistant", "content": "Silent stack"}]
    with pytest.raises(anthropic.BadRequestError, match="does not support assistant message prefill"):
        client.messages.create(model=MODEL, max_tokens=100, messages=prefill)
    rest = client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=prefill).content[0].text
    assert rest.startswith(" trace waits")


def test_it_answers_only_to_its_own_names(api):
    """A page on another site that rebinds its name to 127.0.0.1 gets 421 before anything runs; loopback names, with or
    without a port, are answered."""
    port = api.url.rsplit(":", 1)[1]
    for name in ("127.0.0.1", f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST"):
        assert httpx2.get(api.url + "/", headers={"host": name}).status_code == 200, name
    before = api.stats()["requests"]
    for name in ("attacker.example", f"attacker.example:{port}", "localhost.attacker.example", "127.0.0.1.nip.io"):
        answer = httpx2.post(api.url + "/v1/messages", headers={"host": name}, json=bad_input.OK)
        assert answer.status_code == 421 and answer.json()["error"]["type"] == "invalid_request_error", name
    assert api.stats()["requests"] == before  # nothing was read or answered


def test_a_server_bound_to_every_interface_answers_any_name():
    from helpers.offline.server import bound_names

    assert bound_names("0.0.0.0") == ("*",) and bound_names("::") == ("*",)
    assert bound_names("10.0.0.5") == ("10.0.0.5",)


def test_an_idle_connection_outlives_the_clients_own_keep_alive(api):
    """The SDKs (httpx) drop a connection idle for 5 s; the server keeps one longer, so a client never reuses one the
    server is closing at that moment (a BrokenPipe the SDK does not retry with max_retries=0, as lesson 04's is)."""
    expiry = httpx2.Limits().keepalive_expiry or 5.0  # httpx's default, which the SDK's connection limits keep
    with httpx2.Client(limits=httpx2.Limits(keepalive_expiry=expiry + 2), timeout=30) as held:
        body = {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
        first = held.post(f"{api.url}/v1/messages", json=body, headers={"x-api-key": "test-key"})
        time.sleep(expiry + 1)
        second = held.post(f"{api.url}/v1/messages", json=body, headers={"x-api-key": "test-key"})
    assert first.status_code == second.status_code == 200, second.text
    assert second.extensions["network_stream"] is first.extensions["network_stream"]  # the same connection, reused


@pytest.mark.slow  # eight 3.5 MB requests: its point is their size
@pytest.mark.timeout(300)
def test_requests_of_10000_tools_over_a_long_prompt_leave_the_server_to_everyone_else():
    """The reply looked for each tool's name in the prompt with a regex search of its own: 25 ms for each of 10,000
    tools over a 3 MB prompt, four minutes of CPU per request in a worker thread. Eight such requests at once held
    every thread the server reads requests with, and another client's request was not answered for as long (90 s
    measured, then given up). One pass over the prompt now; the tool the prompt names is still the one called."""
    tools = [{"name": f"tool_{i}", "input_schema": {"type": "object"}} for i in range(10_000)]
    big = json.dumps({"model": "claude-sonnet-5-5", "max_tokens": 64, "tools": tools,
                      "messages": [{"role": "user", "content": "a" * 3_000_000}]})  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers.offline", "--port", "0", "--pace", "instant"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        url = proc.stdout.readline().split()[-1]
        headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
        with httpx2.Client(base_url=url, headers=headers, timeout=240) as http_client:
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                sent = [pool.submit(http_client.post, "/v1/messages", content=big) for _ in range(8)]
                time.sleep(2)  # the bodies have arrived and are being read
                other = anthropic.Anthropic(base_url=url, api_key="k", max_retries=0, timeout=60)
                assert other.messages.create(model=MODEL, max_tokens=64, messages=HAIKU).content
                assert all(f.result().status_code == 200 for f in sent)
            named = [{"role": "user", "content": "a " * 100_000 + "please call tool_9999 now"}]
            called = other.messages.create(model="claude-sonnet-5-5", max_tokens=64, tools=tools, messages=named)
            assert [b.name for b in called.content if b.type == "tool_use"] == ["tool_9999"]
    finally:
        proc.kill()
        proc.wait(timeout=10)
