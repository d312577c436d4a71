"""Checker for 02_raw_events' "Try it": pick out the text deltas, and nothing else, from streams that also carry a
tool call, a server tool's search and citations."""

from __future__ import annotations

from collections.abc import Callable

import anthropic

from helpers import connect
from helpers.demo_tool import WEATHER_TOOL
from helpers.models import DEFAULT_MODEL

from . import LearnerError, call_learner, report

MODEL = DEFAULT_MODEL
# (what the stream carries besides text, whether it runs on the local API, the request). The web search always runs
# on the local API (its events are the real API's): live, a search is billed and must be allowed for the
# organization, which a checker cannot assume.
STREAMS = [
    (
        "the weather question (text, then a get_weather tool call)",
        False,
        {"messages": [{"role": "user", "content": "What's the weather in Paris?"}], "tools": [WEATHER_TOOL]},
    ),
    (
        "the web search (text, a search, its results, then text with citations)",
        True,
        {
            "messages": [{"role": "user", "content": "Search the web for Server-Sent Events."}],
            "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 1}],
        },
    ),
]
DELTA_HINT = (
    "a content_block_delta can also carry a tool's input or a citation: look at what kind of delta it holds "
    "(the table in section 2)"
)


def check_is_text(is_text: Callable[[object], bool], client: anthropic.Anthropic) -> None:
    """Stream a tool call (with ``client``) and a web search (on the local API); keep ``event.delta.text`` of the
    events ``is_text`` picks; PASS when that is exactly the text of each final message."""
    if not callable(is_text):
        raise TypeError(f"check_is_text expects your function is_text(event), got {type(is_text).__name__}")
    if not isinstance(client, anthropic.Anthropic):
        raise TypeError(f"check_is_text expects the notebook's anthropic.Anthropic client, got {type(client).__name__}")
    counts = []
    for what, local, request in STREAMS:
        sdk = connect.client(offline=True, quiet=True) if local else client
        ok, line, hint = _verdict(is_text, sdk, what, request)
        if not ok:
            report(ok, line, hint)
            return
        counts.append(line)
    report(True, f"is_text picked exactly the text deltas of the tool call and the web search ({' and '.join(counts)})")


def _verdict(is_text, client, what: str, request: dict) -> tuple[bool, str, str]:
    pieces = []
    with client.messages.stream(model=MODEL, max_tokens=1024, **request) as stream:
        for event in stream:
            try:
                picked = call_learner(is_text, event, name="is_text")
            except LearnerError as err:
                return False, f"on a {event.type!r} event of {what}, {err}", _hint_for(err.original, event)
            if not picked:
                continue
            if event.type != "content_block_delta":
                also = " (the SDK's own 'text' events repeat it)" if event.type == "text" else ""
                return (
                    False,
                    f"on {what}, is_text picked a {event.type!r} event, which is no raw text delta",
                    f"the text arrives in 'content_block_delta' events{also}",
                )
            if event.delta.type != "text_delta":
                return (
                    False,
                    f"on {what}, is_text picked a content_block_delta carrying {event.delta.type!r}, which has no .text",
                    DELTA_HINT,
                )
            pieces.append(event.delta.text)
        message = stream.get_final_message()
    got = "".join(pieces)
    expected = "".join(block.text for block in message.content if block.type == "text")
    if got != expected:
        return (
            False,
            f"on {what}, the picked deltas spell {len(got)} characters, the final message has {len(expected)}",
            "every piece of text arrives in a content_block_delta: pick all of those that carry text",
        )
    return True, f"{len(pieces)} deltas", ""


def _hint_for(exc: BaseException, event) -> str:
    if isinstance(exc, AttributeError) and ("delta" in str(exc) or "type" in str(exc)):
        return (
            "not every event has a .delta, and a message_delta's delta has no .type: "
            "check event.type first, and read event.delta only on the events that carry a block's piece"
        )
    return f"is_text is called with every event of the stream, this one a {event.type!r}: it must return True or False"
