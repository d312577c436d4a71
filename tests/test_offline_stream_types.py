"""Every block, delta and stop reason of the SDK's 2.14 stream types, produced by the local API and read by the real
SDK over HTTP: server tools and citations, stop reasons (by prompt and by the ``stop:`` fault), structured outputs,
fine-grained tool streaming, thinking display and redaction, prompt caching, and the model list."""

from __future__ import annotations

import enum
import json
import re
import warnings

import anthropic
import pytest
from anthropic import BaseModel as SDKModel
from pydantic import BaseModel, Field

from helpers.demo_tool import WEATHER_TOOL
from helpers.models import DEFAULT_MODEL, MODELS, SERVER_TOOLS, SPECS, deprecated_models
from helpers.offline import faults, replies, router, sse, start, wire
from helpers.offline.app import Pace
from helpers.offline.caching import MIN_TOKENS

from .conftest import MODEL, http, samples_or_skip
from .test_offline_api import EVENT, check_grammar, raw_stream

WEB_SEARCH = {"type": SERVER_TOOLS["web_search"][0], "name": "web_search", "max_uses": 5}
WEB_FETCH = {"type": SERVER_TOOLS["web_fetch"][-1], "name": "web_fetch", "citations": {"enabled": True}}
CODE_EXECUTION = {"type": SERVER_TOOLS["code_execution"][1], "name": "code_execution"}
SEARCH_PROMPT = [{"role": "user", "content": "What is new in Python packaging?"}]
RESEARCH_PROMPT = [{"role": "user", "content": "Research server-sent events in depth"}]


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def extras(model: SDKModel, path: str = "") -> list[str]:
    """Fields the SDK's model did not declare (pydantic keeps them as extras): the API sent something it does not know."""
    found = [f"{path}.{k}" for k in (model.model_extra or {})]
    for name, value in model:
        for i, item in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(item, SDKModel):
                found += extras(item, f"{path}.{name}[{i}]")
    return found


def payloads_of(body: bytes) -> list[dict]:
    """The events' JSON, grammar-checked and validated against the SDK's types with no undeclared field."""
    payloads = check_grammar(sse.split(body))
    for data in payloads:
        assert not extras(EVENT.validate_python(data)), data
    return payloads


def blocks_sent(payloads: list[dict]) -> list[dict]:
    """The content blocks the events describe, assembled by hand (independently of the SDK's accumulator)."""
    blocks: list[dict] = []
    partial: dict[int, str] = {}
    for p in payloads:
        if p["type"] == "content_block_start":
            blocks.append(json.loads(json.dumps(p["content_block"])))
        elif p["type"] == "content_block_delta":
            block, delta = blocks[p["index"]], p["delta"]
            kind = delta["type"]
            if kind == "text_delta":
                block["text"] += delta["text"]
            elif kind == "citations_delta":
                block["citations"] = [*(block.get("citations") or []), delta["citation"]]
            elif kind == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif kind == "signature_delta":
                block["signature"] = delta["signature"]
            elif kind == "input_json_delta":
                partial[p["index"]] = partial.get(p["index"], "") + delta["partial_json"]
        elif p["type"] == "content_block_stop" and p["index"] in partial:
            blocks[p["index"]]["input"] = json.loads(partial[p["index"]])
    return blocks


def stream_all(client, **request):
    """(the SDK's events, its final message, the raw payloads of the same request) for one streamed request."""
    request = {"model": MODEL, "max_tokens": 2048, **request}
    with client.messages.stream(**request) as stream:
        events = list(stream)
        final = stream.get_final_message()
    return events, final


def raw_payloads(api, **request) -> list[dict]:
    return payloads_of(raw_stream(api, **{"max_tokens": 2048, **request}))  # the same request as stream_all's


def same_blocks(final, payloads) -> None:
    got = [b.to_dict(exclude_unset=True) for b in final.content]
    assert unid(got) == unid(blocks_sent(payloads))  # two answers: the same blocks, each with ids of its own


def unid_bytes(body: bytes) -> bytes:
    return re.sub(rb"\b(msg|toolu|srvtoolu)_01[1-9A-HJ-NP-Za-km-z]{22}\b", rb"\1_ID", body)


def unid(value):
    """``value`` with message and tool ids masked (each answer has its own, as the API's are unique)."""
    return json.loads(re.sub(r"\b(msg|toolu|srvtoolu)_01[1-9A-HJ-NP-Za-km-z]{22}\b", r"\1_ID", json.dumps(value)))


# ---------------------------------------------------------------------------------------------------------------------
# Field sets as the real API sends them


def test_fields_match_the_recorded_streams(api):
    recorded = [
        json.loads(e.data)
        for e in sse.split((samples_or_skip() / "sdk_recorded_tool_runner_stream_A_turn0.txt").read_bytes())
    ]
    ours = raw_payloads(api, tools=[WEATHER_TOOL], messages=user("What's the weather in Paris?"))
    by_type = lambda events, kind: next(e for e in events if e["type"] == kind)  # noqa: E731
    start_r, start_o = by_type(recorded, "message_start")["message"], by_type(ours, "message_start")["message"]
    assert list(start_o) == list(start_r)
    assert list(start_o["usage"]) == list(start_r["usage"])
    assert list(start_o["usage"]["cache_creation"]) == list(start_r["usage"]["cache_creation"])
    tool_r = next(e for e in recorded if e["type"] == "content_block_start")["content_block"]
    tool_o = next(e for e in ours if e["type"] == "content_block_start" and e["content_block"]["type"] == "tool_use")
    assert list(tool_o["content_block"]) == list(tool_r) and tool_o["content_block"]["caller"] == {"type": "direct"}
    delta_r, delta_o = by_type(recorded, "message_delta"), by_type(ours, "message_delta")
    assert list(delta_o["delta"]) == list(delta_r["delta"]) and list(delta_o["usage"]) == list(delta_r["usage"])


# ---------------------------------------------------------------------------------------------------------------------
# Server tools and citations


def test_web_search_streams_the_call_its_results_and_cited_text(api, client):
    payloads = raw_payloads(api, tools=[WEB_SEARCH], messages=SEARCH_PROMPT)
    events, final = stream_all(client, tools=[WEB_SEARCH], messages=SEARCH_PROMPT)
    same_blocks(final, payloads)
    kinds = [b.type for b in final.content]
    assert kinds[:3] == ["text", "server_tool_use", "web_search_tool_result"] and kinds[3:] == ["text"] * (
        len(kinds) - 3
    )
    call, result = final.content[1], final.content[2]
    assert (
        call.name == "web_search"
        and call.id.startswith("srvtoolu_01")
        and call.input == {"query": "new Python packaging"}
    )
    assert result.tool_use_id == call.id and len(result.content) == 3
    assert all(r.title and r.url.startswith("https://") and r.encrypted_content and r.page_age for r in result.content)
    json_deltas = [
        p["delta"]["partial_json"] for p in payloads if p.get("index") == 1 and p["type"] == "content_block_delta"
    ]
    assert json_deltas[0] == "" and len(json_deltas) > 2  # the input streams as input_json_delta, as for a client tool
    assert [e.snapshot for e in events if e.type == "input_json"][-1] == call.input
    citations = [e.citation for e in events if e.type == "citation"]
    cited = [b for b in final.content if b.type == "text" and b.citations]
    assert len(citations) == 2 and [c for b in cited for c in b.citations] == citations
    assert {c.url for c in citations} <= {r.url for r in result.content}
    assert all(c.type == "web_search_result_location" and c.cited_text and c.encrypted_index for c in citations)
    assert final.usage.server_tool_use.web_search_requests == 1 and final.usage.server_tool_use.web_fetch_requests == 0
    assert final.stop_reason == "end_turn"


def test_server_tool_answers_are_deterministic(api):
    first, second = (raw_stream(api, tools=[WEB_SEARCH], messages=SEARCH_PROMPT) for _ in range(2))
    assert unid_bytes(first) == unid_bytes(second)  # the same answer, with ids of its own


def test_pause_turn_then_resume_with_the_partial_turn(api, client):
    _, paused = stream_all(client, tools=[WEB_SEARCH], messages=RESEARCH_PROMPT)
    assert paused.stop_reason == "pause_turn"
    assert [b.type for b in paused.content][-2:] == ["server_tool_use", "web_search_tool_result"]
    assert paused.usage.server_tool_use.web_search_requests == 2
    resumed_request = [*RESEARCH_PROMPT, {"role": "assistant", "content": paused.content}]  # sent back as it came
    sent_back = {"role": "assistant", "content": [b.to_dict() for b in paused.content]}
    payloads = raw_payloads(api, tools=[WEB_SEARCH], messages=[*RESEARCH_PROMPT, sent_back])
    events, final = stream_all(client, tools=[WEB_SEARCH], messages=resumed_request)
    same_blocks(final, payloads)
    assert final.stop_reason == "end_turn"
    found = {r.url for b in paused.content if b.type == "web_search_tool_result" for r in b.content}
    assert {e.citation.url for e in events if e.type == "citation"} <= found  # it cites what the paused turn found


def test_a_turn_paused_in_a_container_resumes_only_in_that_container(client):
    """Web search's 2026 version filters results with code in a container: the paused response names it, and the
    API resumes the turn only when the request sends that container back."""
    search = {"type": SERVER_TOOLS["web_search"][-1], "name": "web_search"}
    _, paused = stream_all(client, tools=[search], messages=RESEARCH_PROMPT)
    assert paused.stop_reason == "pause_turn" and paused.container and paused.container.id.startswith("container_")
    resume = [*RESEARCH_PROMPT, {"role": "assistant", "content": paused.content}]
    with pytest.raises(anthropic.BadRequestError, match="container.id"):
        stream_all(client, tools=[search], messages=resume)
    _, final = stream_all(client, tools=[search], messages=resume, container=paused.container.id)
    assert final.stop_reason == "end_turn" and final.container.id == paused.container.id
    _, older = stream_all(client, tools=[WEB_SEARCH], messages=RESEARCH_PROMPT)  # the 2025 version: no container
    assert older.container is None


def test_web_fetch_and_code_execution(api, client):
    events, fetched = stream_all(client, tools=[WEB_FETCH], messages=user("Summarize https://example.com/sse please"))
    same_blocks(
        fetched, raw_payloads(api, tools=[WEB_FETCH], messages=user("Summarize https://example.com/sse please"))
    )
    result = fetched.content[2]
    assert result.type == "web_fetch_tool_result" and result.content.url == "https://example.com/sse"
    assert result.content.content.source.data and fetched.usage.server_tool_use.web_fetch_requests == 1
    citation = next(e.citation for e in events if e.type == "citation")
    page = result.content.content.source.data
    assert page[citation.start_char_index : citation.end_char_index] == citation.cited_text

    for tool, call_name, result_type in [
        (CODE_EXECUTION, "bash_code_execution", "bash_code_execution_tool_result"),
        (
            {"type": SERVER_TOOLS["code_execution"][0], "name": "code_execution"},
            "code_execution",
            "code_execution_tool_result",
        ),
    ]:
        prompt = user("Run python to compute 27 * 453")
        _, ran = stream_all(client, tools=[tool], messages=prompt)
        same_blocks(ran, raw_payloads(api, tools=[tool], messages=prompt))
        assert [b.type for b in ran.content] == ["text", "server_tool_use", result_type, "text"]
        assert ran.content[1].name == call_name and ran.content[2].content.stdout == "12231\n"
        assert ran.container.id.startswith("container_01") and "12231" in ran.content[3].text


@pytest.mark.parametrize(
    ("source", "location"),
    [
        ({"type": "text", "media_type": "text/plain", "data": "The grass is green. The sky is blue."}, "char_location"),
        ({"type": "content", "content": [{"type": "text", "text": "Owls hunt at night."}]}, "content_block_location"),
        ({"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"}, "page_location"),
    ],
)
def test_documents_with_citations_enabled_are_cited(api, client, source, location):
    doc = {"type": "document", "source": source, "title": "Facts", "citations": {"enabled": True}}
    messages = [{"role": "user", "content": [doc, {"type": "text", "text": "What does it say?"}]}]
    events, final = stream_all(client, messages=messages)
    same_blocks(final, raw_payloads(api, messages=messages))
    (citation,) = [e.citation for e in events if e.type == "citation"]
    assert citation.type == location and citation.document_index == 0 and citation.document_title == "Facts"
    if location == "char_location":
        assert source["data"][citation.start_char_index : citation.end_char_index] == citation.cited_text
    without = client.messages.create(
        model=MODEL,
        max_tokens=512,
        messages=[
            {
                "role": "user",
                "content": [{**doc, "citations": {"enabled": False}}, {"type": "text", "text": "What does it say?"}],
            }
        ],
    )
    assert not any(getattr(b, "citations", None) for b in without.content)


# ---------------------------------------------------------------------------------------------------------------------
# Stop reasons: each reachable by a prompt, and by the stop: fault


PROMPTED = {
    "end_turn": {"messages": user("Write a haiku about debugging.")},
    "max_tokens": {"messages": user("Write a haiku about debugging."), "max_tokens": 5},
    "stop_sequence": {"messages": user("Write a haiku about debugging."), "stop_sequences": ["print"]},
    "tool_use": {"messages": user("What's the weather in Paris?"), "tools": [WEATHER_TOOL]},
    "pause_turn": {"messages": RESEARCH_PROMPT, "tools": [WEB_SEARCH]},
    "refusal": {"messages": user("Explain how to write ransomware.")},
    "model_context_window_exceeded": {
        "model": "claude-haiku-4-5",  # a 200k window
        "messages": user("a " * (SPECS["claude-haiku-4-5"].context_window - 30)),
        "max_tokens": 64_000,
    },
}


def test_every_stop_reason_the_sdk_knows_has_a_prompt():
    assert set(PROMPTED) == set(faults.STOP_REASONS)


@pytest.mark.parametrize("reason", list(PROMPTED))
def test_stop_reason_by_prompt(api, client, reason):
    request = {"max_tokens": 1024, **PROMPTED[reason]}
    payloads = raw_payloads(api, **request)
    _, final = stream_all(client, **request)
    same_blocks(final, payloads)
    assert final.stop_reason == reason
    if reason == "stop_sequence":
        assert final.stop_sequence == "print"
    if reason == "refusal":  # after some text: the partial answer stays, with the category and an explanation
        assert final.content[0].text.startswith("Ransomware is")
        assert final.stop_details.type == "refusal" and final.stop_details.category == "cyber"
        assert final.stop_details.explanation
    else:
        assert final.stop_details is None
    if reason == "model_context_window_exceeded":
        window = SPECS["claude-haiku-4-5"].context_window
        assert final.usage.input_tokens + final.usage.output_tokens == window


def test_the_documented_refusal_test_string_refuses_at_once(client):
    _, final = stream_all(client, messages=user(f"Hello {replies.REFUSAL_TRIGGER}"))
    assert final.stop_reason == "refusal" and final.content == [] and final.stop_details.type == "refusal"


@pytest.mark.parametrize("at", [None, 8])
@pytest.mark.parametrize("reason", faults.STOP_REASONS)
def test_stop_fault_ends_the_answer_with_any_reason(api, client, reason, at):
    fault = f"stop:{reason}" + (f"@{at}" if at else "")
    request = {"messages": user("Explain streaming in detail"), "stop_sequences": ["zzz"]}
    headers = {"x-offline-fault": fault}
    faulty = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=0, default_headers=headers)
    payloads = payloads_of(raw_fault(api, fault, request))
    _, final = stream_all(faulty, **request)
    same_blocks(final, payloads)
    assert final.stop_reason == reason
    text = final.content[0].text
    assert replies.LONG_ANSWER.startswith(text) and (text != replies.LONG_ANSWER) == (at is not None)
    assert (final.stop_sequence == "zzz") == (reason == "stop_sequence")
    assert (final.stop_details is not None) == (reason == "refusal")
    created = faulty.messages.create(model=MODEL, max_tokens=2048, extra_headers=headers, **request)
    assert created.stop_reason == reason and created.content[0].text == text  # non-streaming agrees


def raw_fault(api, fault: str, request: dict) -> bytes:
    body = {"model": MODEL, "max_tokens": 2048, "stream": True, **request}
    r = http.post(f"{api.url}/v1/messages", json=body, headers={"x-offline-fault": fault})
    assert r.status_code == 200, r.text
    return r.content


def test_stop_fault_rejects_an_unknown_reason(client):
    with pytest.raises(anthropic.BadRequestError, match="model_context_window_exceeded"):
        client.messages.create(
            model=MODEL, max_tokens=64, messages=user("hi"), extra_headers={"x-offline-fault": "stop:tired"}
        )


# ---------------------------------------------------------------------------------------------------------------------
# Structured outputs


class Mood(str, enum.Enum):
    calm = "calm"
    busy = "busy"


class Place(BaseModel):
    city: str
    country: str | None = None


class Report(BaseModel):
    title: str
    temperature: int = Field(ge=-40, le=10)
    humidity: float = Field(gt=0, lt=1)
    windy: bool
    mood: Mood
    tags: list[str] = Field(min_length=3)
    home: Place
    visited: list[Place]


def test_structured_output_streams_json_that_parses_as_it_grows(client):
    with client.messages.stream(
        model=MODEL, max_tokens=1024, messages=user("Weather report for Paris"), output_format=Report
    ) as stream:
        snapshots = [e.parsed_snapshot() for e in stream if e.type == "text"]
        final = stream.get_final_message()
    assert len(snapshots) > 10
    sizes = [len(json.dumps(s)) for s in snapshots]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]  # the parsed object grows with the text
    report = final.parsed_output
    assert isinstance(report, Report) and report.tags and len(report.tags) >= 3 and report.home.city
    assert snapshots[-1] == report.model_dump(mode="json")
    assert -40 <= report.temperature <= 10 and 0 < report.humidity < 1


def test_structured_output_from_a_schema_dict(client):
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "score": {"type": "integer"}, "ok": {"enum": ["yes", "no"]}},
        "required": ["answer", "score", "ok"],
        "additionalProperties": False,
    }
    created = client.messages.create(
        model=MODEL,
        max_tokens=512,
        messages=user("Rate this"),
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )
    data = json.loads(created.content[0].text)
    assert set(data) == {"answer", "score", "ok"} and isinstance(data["score"], int) and data["ok"] == "yes"


# ---------------------------------------------------------------------------------------------------------------------
# Fine-grained tool streaming


EAGER_TOOL = {**WEATHER_TOOL, "eager_input_streaming": True}


def test_eager_input_streaming_sends_bigger_fragments(client):
    def fragments(tool) -> list[str]:
        events, final = stream_all(client, tools=[tool], messages=user("What's the weather in Paris?"))
        assert final.content[-1].input == {"location": "Paris", "unit": "celsius"}
        return [e.partial_json for e in events if e.type == "input_json"]

    buffered, eager = fragments(WEATHER_TOOL), fragments(EAGER_TOOL)
    assert "".join(buffered) == "".join(eager)
    assert max(map(len, eager)) > max(map(len, buffered)) and len(eager) < len(buffered)


def test_eager_input_cut_short_or_broken(client):
    _, cut = stream_all(client, tools=[EAGER_TOOL], messages=user("What's the weather in Paris?"), max_tokens=14)
    assert cut.stop_reason == "max_tokens" and cut.content[-1].input != {"location": "Paris", "unit": "celsius"}
    with pytest.raises(ValueError, match="Unable to parse tool parameter JSON"):
        stream_all(
            client,
            tools=[EAGER_TOOL],
            messages=user("What's the weather in Paris?"),
            extra_headers={"x-offline-fault": "badjson@6"},
        )


# ---------------------------------------------------------------------------------------------------------------------
# Thinking


def test_thinking_display_omitted_and_summarized(api, client):
    ask = user("What is 27 * 453?")
    for display, model in [("omitted", MODEL), ("summarized", MODEL), (None, "claude-opus-4-7"), (None, MODEL)]:
        thinking = {"type": "adaptive"} | ({"display": display} if display else {})
        events, final = stream_all(client, model=model, thinking=thinking, messages=ask)
        same_blocks(final, raw_payloads(api, model=model, thinking=thinking, messages=ask))
        block = final.content[0]
        assert block.type == "thinking" and block.signature
        omitted = display == "omitted" or model == "claude-opus-4-7"  # the documented per-model default
        assert (block.thinking == "") == omitted
        assert any(e.type == "thinking" for e in events) != omitted
        assert any(e.type == "signature" for e in events)
        # thinking is billed either way: usage says how much of the output it was, shown or not
        shown = sum(wire.count_tokens(e.thinking) for e in events if e.type == "thinking")
        details = final.usage.output_tokens_details
        assert details.thinking_tokens > 0 and details.thinking_tokens <= final.usage.output_tokens
        assert (details.thinking_tokens == shown) != omitted


def test_output_tokens_details_only_when_there_was_thinking(client):
    _, plain = stream_all(client, messages=user("What is 27 * 453?"))
    assert plain.usage.output_tokens_details is None
    thinking = {"type": "enabled", "budget_tokens": 1024}
    with client.messages.stream(
        model=MODEL,
        max_tokens=2048,
        thinking=thinking,
        messages=user("Why is the sky blue?"),
        extra_headers={"x-offline-fault": "stop:max_tokens@4"},
    ) as stream:
        cut = stream.get_final_message()
    assert cut.usage.output_tokens_details.thinking_tokens <= cut.usage.output_tokens  # fmt: skip


def test_redacted_thinking_for_the_documented_test_string(api, client):
    ask = user(replies.REDACTED_TRIGGER)
    thinking = {"type": "enabled", "budget_tokens": 1024}
    _, final = stream_all(client, thinking=thinking, messages=ask)
    same_blocks(final, raw_payloads(api, thinking=thinking, messages=ask))
    assert [b.type for b in final.content] == ["redacted_thinking", "text"] and final.content[0].data
    again = [*ask, final.to_param(), {"role": "user", "content": "Thanks, go on"}]  # the block goes back as it came
    assert client.messages.create(model=MODEL, max_tokens=2048, thinking=thinking, messages=again).content


def test_interleaved_thinking_between_tool_calls(client):
    ask = user("What's the weather in Paris?")
    thinking = {"type": "adaptive"}
    _, first = stream_all(client, thinking=thinking, tools=[WEATHER_TOOL], messages=ask)
    assert [b.type for b in first.content] == ["thinking", "text", "tool_use"]
    result = {"type": "tool_result", "tool_use_id": first.content[-1].id, "content": json.dumps({"temperature": 18})}
    turn = [*ask, first.to_param(), {"role": "user", "content": [result]}]
    _, second = stream_all(client, thinking=thinking, tools=[WEATHER_TOOL], messages=turn)
    assert [b.type for b in second.content] == ["thinking", "text"]
    assert second.content[0].thinking != first.content[0].thinking and "18" in second.content[1].text


# ---------------------------------------------------------------------------------------------------------------------
# Prompt caching


def cached_request(text: str, ttl: str | None = None) -> dict:
    control = {"type": "ephemeral"} | ({"ttl": ttl} if ttl else {})
    return {
        "system": [{"type": "text", "text": text, "cache_control": control}],
        "messages": user("Write a haiku about debugging."),
        "max_tokens": 256,
    }


def test_a_cached_prefix_is_written_then_read():
    long_text = "Streaming rules. " * 700
    with start(pace="instant") as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=0)
        _, first = stream_all(client, **cached_request(long_text))
        _, second = stream_all(client, **cached_request(long_text))
        _, hour = stream_all(client, **cached_request(long_text + "More.", ttl="1h"))
        _, short = stream_all(client, **cached_request("Too short to cache."))
    created = first.usage.cache_creation_input_tokens
    assert created >= MIN_TOKENS and first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == created
    assert second.usage.cache_read_input_tokens == created and second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens == first.usage.input_tokens  # what is left after the cached prefix
    assert hour.usage.cache_creation.ephemeral_1h_input_tokens > 0 and hour.usage.cache_read_input_tokens == 0
    assert short.usage.cache_creation_input_tokens == 0 == short.usage.cache_read_input_tokens
    assert first.content[0].text == second.content[0].text


def test_a_cache_hit_has_a_shorter_time_to_first_token_at_realistic_pace():
    request = {"model": MODEL, **cached_request("Streaming rules. " * 2000)}
    reply = router.choose(request)
    miss = wire.events(request, reply, wire.Cache(created_5m=4000))
    hit = wire.events(request, reply, wire.Cache(read=4000))
    seed = wire.fingerprint(request)
    first_token = lambda events: next(d for d, e in zip(Pace().delays(events, seed), events, strict=True) if e.tokens)  # noqa: E731
    assert first_token(miss) - first_token(hit) == pytest.approx(4000 / Pace().prefill_rate)


# ---------------------------------------------------------------------------------------------------------------------
# Models


def test_models_are_the_sdks_current_ones(client):
    listed = {m.id: m for m in client.models.list()}
    ids = [m for m in MODELS if listed[m].lifecycle == "active"]  # the course's models, all listed as active
    assert ids == list(MODELS) and ids[0] == DEFAULT_MODEL
    assert not set(ids) & set(deprecated_models())
    assert all(listed[m].lifecycle == "deprecated" for m in deprecated_models() if m in listed)
    assert "claude-opus-4-5" not in ids
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for model in ids:
            with client.messages.stream(model=model, max_tokens=16, messages=user("hi")) as stream:
                assert stream.get_final_message().model == model
