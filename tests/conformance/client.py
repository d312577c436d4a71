"""The newest Python SDK (tests/conformance/requirements.txt, in .venv-conformance) against a local Messages API:
``python client.py URL`` runs each check and prints one JSON line per check, ``{"name", "ok", "error"}``.

Written as the SDK's README and examples write it; nothing here knows the API is local but the base URL.
"""

from __future__ import annotations

import json
import sys

import anthropic
from anthropic import beta_tool
from run_checks import run_checks  # beside this file

MODEL = "claude-sonnet-4-6"
WEATHER = {
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}


@beta_tool
def get_weather(location: str) -> str:
    """The current weather in a city."""
    return json.dumps({"location": location, "temperature": 18, "conditions": "cloudy"})


def stream_text(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model=MODEL, max_tokens=512, messages=[{"role": "user", "content": "Explain streaming in one line."}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.content[0].text == text, (text, final.content)
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


def tool_round_trip(client: anthropic.Anthropic) -> None:
    messages = [{"role": "user", "content": "What's the weather in Paris?"}]
    first = client.messages.create(model=MODEL, max_tokens=512, tools=[WEATHER], messages=messages)
    assert first.stop_reason == "tool_use", first.stop_reason
    call = next(b for b in first.content if b.type == "tool_use")
    messages += [
        {"role": "assistant", "content": first.content},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": get_weather(**call.input)}],
        },
    ]
    second = client.messages.create(model=MODEL, max_tokens=512, tools=[WEATHER], messages=messages)
    assert second.stop_reason == "end_turn" and "Paris" in second.content[0].text, second.content


def thinking_round_trip(client: anthropic.Anthropic) -> None:
    messages = [{"role": "user", "content": "Is 1001 prime?"}]
    thinking = {"type": "enabled", "budget_tokens": 1024}
    with client.messages.stream(model=MODEL, max_tokens=2048, thinking=thinking, messages=messages) as stream:
        final = stream.get_final_message()
    block = final.content[0]
    assert block.type == "thinking" and block.thinking and block.signature, block
    messages += [{"role": "assistant", "content": final.content}, {"role": "user", "content": "Why?"}]
    again = client.messages.create(model=MODEL, max_tokens=2048, thinking=thinking, messages=messages)
    assert again.content[-1].type == "text" and again.content[-1].text


def citations(client: anthropic.Anthropic) -> None:
    document = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "The grass is green. The sky is blue."},
        "title": "Colours",
        "citations": {"enabled": True},
    }
    content = [document, {"type": "text", "text": "What colour is the sky?"}]
    with client.messages.stream(model=MODEL, max_tokens=512, messages=[{"role": "user", "content": content}]) as stream:
        deltas = [e for e in stream if e.type == "content_block_delta" and e.delta.type == "citations_delta"]
        final = stream.get_final_message()
    cited = [c for b in final.content if b.type == "text" for c in b.citations or []]
    assert deltas and cited and cited[0].document_title == "Colours", final.content


def retry_429(client: anthropic.Anthropic) -> None:
    once = client.with_options(max_retries=2).messages.with_raw_response.create(
        model=MODEL,
        max_tokens=64,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"x-offline-fault": "http:429*1"},  # the first attempt gets 429, the retry goes through
    )
    assert once.http_request.headers.get("x-stainless-retry-count") == "1", once.http_request.headers
    assert once.parse().content[0].text


def tool_runner(client: anthropic.Anthropic) -> None:
    runner = client.beta.messages.tool_runner(
        model=MODEL,
        max_tokens=1024,
        tools=[get_weather],
        messages=[{"role": "user", "content": "What's the weather in Lisbon?"}],
    )
    replies = list(runner)
    assert [m.stop_reason for m in replies] == ["tool_use", "end_turn"], replies
    assert "Lisbon" in replies[-1].content[0].text, replies[-1].content


def count_tokens(client: anthropic.Anthropic) -> None:
    messages = [{"role": "user", "content": "Explain streaming in one line."}]
    counted = client.messages.count_tokens(model=MODEL, messages=messages, tools=[WEATHER])
    created = client.messages.create(model=MODEL, max_tokens=64, messages=messages, tools=[WEATHER])
    assert counted.input_tokens == created.usage.input_tokens > 0, (counted, created.usage)


def models(client: anthropic.Anthropic) -> None:
    ids = [model.id for model in client.models.list(limit=2)]  # auto-paging, two at a time
    model = client.models.retrieve(MODEL)
    anthropic.types.ModelInfo.model_validate(model.to_dict())  # every field the SDK's type requires is there
    assert MODEL in ids and len(ids) == len(set(ids)) > 2 and model.display_name, ids
    try:
        client.models.retrieve("claude-no-such-model")
        raise AssertionError("expected 404 for an unknown model")
    except anthropic.NotFoundError:
        pass


CHECKS = [stream_text, tool_round_trip, thinking_round_trip, citations, retry_429, tool_runner, count_tokens, models]


def main(url: str) -> None:
    run_checks(CHECKS, anthropic.Anthropic(base_url=url, api_key="conformance-key"))
    print(json.dumps({"name": "sdk", "version": anthropic.__version__}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
