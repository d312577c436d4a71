"""Checker for 02_raw_events' "Try it": pick out the text deltas, and nothing else, from a stream with a tool call."""

from __future__ import annotations

from collections.abc import Callable

import anthropic

from helpers.demo_tool import WEATHER_TOOL

from . import report

MODEL = "claude-sonnet-4-6"
PROMPT = [{"role": "user", "content": "What's the weather in Paris?"}]
WHAT = "the weather question (text, then a get_weather tool call)"


def check_is_text(is_text: Callable[[object], bool], client: anthropic.Anthropic) -> None:
    """Stream a question that makes Claude write text and then call a tool; keep ``event.delta.text`` of the events
    ``is_text`` picks; PASS when that is exactly the text of the final message."""
    if not callable(is_text):
        raise TypeError(f"check_is_text expects your function is_text(event), got {type(is_text).__name__}")
    if not isinstance(client, anthropic.Anthropic):
        raise TypeError(f"check_is_text expects the notebook's anthropic.Anthropic client, got {type(client).__name__}")
    report(*_verdict(is_text, client))


def _verdict(is_text, client) -> tuple[bool, str, str]:
    pieces = []
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=PROMPT, tools=[WEATHER_TOOL]) as stream:
        for event in stream:
            if not is_text(event):
                continue
            if event.type != "content_block_delta":
                also = " (the SDK's own 'text' events repeat it)" if event.type == "text" else ""
                return (
                    False,
                    f"is_text picked a {event.type!r} event, which carries no delta",
                    f"the text arrives in 'content_block_delta' events{also}",
                )
            if event.delta.type != "text_delta":
                return (
                    False,
                    f"on {WHAT}, is_text picked a content_block_delta carrying an {event.delta.type!r}, which has no .text",
                    "a content_block_delta can also carry tool input or thinking: check event.delta.type == 'text_delta' too",
                )
            pieces.append(event.delta.text)
        message = stream.get_final_message()
    got = "".join(pieces)
    expected = "".join(block.text for block in message.content if block.type == "text")
    if got != expected:
        return (
            False,
            f"the picked deltas spell {len(got)} characters, the final message has {len(expected)}",
            "pick every content_block_delta whose delta.type is 'text_delta'",
        )
    return True, f"on {WHAT}, is_text picked exactly the text deltas ({len(pieces)} of them)", ""
