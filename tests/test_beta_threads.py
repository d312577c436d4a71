"""Beta requests as the real API takes them: the ``anthropic-beta`` header decides (current SDKs send no ?beta=true),
and the server-held ``thread`` that the SDK's tool runner uses by default: held per reply id, bounded, forgotten after
a while, and a lost thread answered so the SDK replays the whole history."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest
from anthropic import beta_tool

from helpers.offline import start
from helpers.offline.threads import BETA, Threads

from .conftest import MODEL


@beta_tool
def get_weather(location: str) -> str:
    """The current weather in a city."""
    return json.dumps({"location": location, "temperature": 18, "conditions": "cloudy"})


def run_tool_runner(client) -> list:
    runner = client.beta.messages.tool_runner(
        model=MODEL,
        max_tokens=1024,
        tools=[get_weather],
        messages=[{"role": "user", "content": "What's the weather in Lisbon?"}],
    )
    return list(runner)


def test_the_sdk_tool_runner_works_with_its_defaults(api):
    client = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=0)
    held_before = len(api.app.threads)
    replies = run_tool_runner(client)
    assert [r.stop_reason for r in replies] == ["tool_use", "end_turn"]
    assert replies[0].content[-1].input == {"location": "Lisbon"}
    assert replies[-1].content[0].text == "It's 18°C and cloudy in Lisbon right now, so a light jacket will do."
    assert len(api.app.threads) == held_before + 2  # the runner threaded: the server held both turns


def post(url: str, body: dict, betas: str | None = BETA, query: str = "") -> httpx.Response:
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"} | ({"anthropic-beta": betas} if betas else {})
    return httpx.post(f"{url}/v1/messages{query}", json={"model": MODEL, "max_tokens": 256, **body}, headers=headers)


def test_a_continue_sends_only_the_new_turn_and_the_server_supplies_the_rest(api):
    created = post(
        api.url,
        {
            "system": "You are a pirate.",
            "messages": [{"role": "user", "content": "Say hello"}],
            "thread": {"type": "create"},
        },
    )
    assert created.status_code == 200, created.text
    first = created.json()
    assert first["content"][0]["text"].startswith("Arr! ")
    follow_up = post(
        api.url,
        {
            "messages": [{"role": "user", "content": "And goodbye"}],
            "thread": {"type": "continue", "previous_message_id": first["id"]},
        },
    )
    assert follow_up.status_code == 200, follow_up.text
    assert follow_up.json()["content"][0]["text"].startswith("Arr! ")  # the held system prompt applied
    again = post(
        api.url,
        {
            "system": "You are a pirate.",
            "messages": [{"role": "user", "content": "More"}],
            "thread": {"type": "continue", "previous_message_id": follow_up.json()["id"]},
        },
    )
    assert again.status_code == 400 and "a continue must not send them" in again.json()["error"]["message"]


def test_an_unknown_thread_is_not_found_with_the_code_the_sdk_reads(api):
    lost = post(
        api.url,
        {
            "messages": [{"role": "user", "content": "hi"}],
            "thread": {"type": "continue", "previous_message_id": "msg_01nothingheld"},
        },
    )
    assert lost.status_code == 404
    error = lost.json()["error"]
    assert error["type"] == "not_found_error" and error["details"] == {"error_code": "thread_not_found"}


def test_the_tool_runner_replays_the_history_when_the_server_forgot_the_thread():
    with start(pace="instant") as api:
        api.app.threads.ttl = 0.0  # every held thread expires at once
        client = anthropic.Anthropic(base_url=api.url, api_key="k", max_retries=0)
        replies = run_tool_runner(client)
    assert [r.stop_reason for r in replies] == ["tool_use", "end_turn"]
    assert "Lisbon" in replies[-1].content[0].text


def test_a_thread_needs_its_beta(api):
    body = {"messages": [{"role": "user", "content": "hi"}], "thread": {"type": "create"}}
    refused = post(api.url, body, betas="context-management-2025-06-27")
    assert refused.status_code == 400 and BETA in refused.json()["error"]["message"]


CONTEXT = {"edits": [{"type": "clear_tool_uses_20250919"}]}
MCP = [{"type": "url", "url": "https://example.com/mcp", "name": "example"}]


@pytest.mark.parametrize("query", ["", "?beta=true"])
def test_the_beta_header_decides_with_or_without_the_query(api, query):
    body = {"messages": [{"role": "user", "content": "hi"}], "context_management": CONTEXT, "mcp_servers": MCP}
    accepted = post(api.url, body, betas="context-management-2025-06-27,mcp-client-2025-04-04", query=query)
    assert accepted.status_code == 200, accepted.text
    refused = post(api.url, body, betas=None, query=query)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "context_management: Extra inputs are not permitted"


def test_beta_fields_through_the_sdk(client):
    ask = {
        "model": MODEL,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "hi"}],
        "betas": ["context-management-2025-06-27", "mcp-client-2025-04-04"],
        "context_management": CONTEXT,
        "mcp_servers": MCP,
    }
    reply = client.beta.messages.create(**ask)
    assert reply.content[0].text and reply.context_management.applied_edits == []  # as the API: no edit triggered
    with client.beta.messages.stream(**ask) as stream:
        final = stream.get_final_message()
    assert final.context_management.applied_edits == [] and final.content[0].text == reply.content[0].text


def test_held_threads_are_bounded_in_number_and_bytes():
    threads = Threads(max_threads=3)
    for i in range(5):
        request = {"thread": {"type": "create"}, "messages": [{"role": "user", "content": f"q{i}"}]}
        threads.remember(request, {"id": f"msg_{i}", "content": [{"type": "text", "text": "a"}]})
    assert len(threads) == 3
    keep = {"thread": {"type": "continue", "previous_message_id": "msg_4"}, "messages": []}
    assert threads.expand(keep, {BETA})["messages"][0]["content"] == "q4"
    with pytest.raises(Exception, match="no thread holds 'msg_0'"):
        threads.expand({**keep, "thread": {"type": "continue", "previous_message_id": "msg_0"}}, {BETA})
    small = Threads(max_bytes=1_000)
    for i in range(20):
        request = {"thread": {"type": "create"}, "messages": [{"role": "user", "content": "x" * 300}]}
        small.remember(request, {"id": f"msg_{i}", "content": []})
    assert 1 <= len(small) <= 2
    refused = {"thread": {"type": "create"}, "messages": [{"role": "user", "content": "q"}]}
    small.remember(refused, {"id": "msg_r", "content": [], "stop_reason": "refusal"})
    assert "msg_r" not in small._held
