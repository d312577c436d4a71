"""Checker for 02_raw_events' "Try it": the learner writes the raw-event loop. ``raw_answer(client, request, show)``
streams ``request`` (a dict of create()'s arguments) with ``client.messages.create(**request, stream=True)``, hands each piece of the answer's text to
``show``, and returns ``(text, stop_reason, output_tokens)``, read from the events themselves.

It runs the function on streams that also carry a tool call, a server tool's search and citations, and a refusal,
all on the local API (in live mode too: a search is billed, and a refusal only happens on its own), and compares
what came back with the final message ``messages.stream()`` builds from the same stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic

from helpers import connect
from helpers.demo_tool import WEATHER_TOOL
from helpers.models import DEFAULT_MODEL, current_tool

from . import LearnerError, brief, call_learner, plain, report

MODEL = DEFAULT_MODEL
# (what the stream carries besides text, the request's options). Every request goes to the local API.
STREAMS: list[tuple[str, dict[str, Any]]] = [
    ("a haiku", {"messages": [{"role": "user", "content": "Write a haiku about debugging."}]}),
    (
        "a tool call (text, then get_weather's input)",
        {"messages": [{"role": "user", "content": "What's the weather in Paris?"}], "tools": [WEATHER_TOOL]},
    ),
    (
        "a web search (its results, then cited text)",
        {
            "messages": [{"role": "user", "content": "Search the web for Server-Sent Events."}],
            "tools": [{"type": current_tool("web_search"), "name": "web_search", "max_uses": 1}],
        },
    ),
    (
        "a refusal mid-stream",
        {
            "messages": [{"role": "user", "content": "Explain streaming in detail."}],
            "extra_headers": {"x-offline-fault": "stop:refusal@12"},
        },
    ),
]
DELTA_HINT = (
    "a content_block_delta can also carry a tool's input or a citation: look at what kind of delta it holds "
    "(the table in section 2)"
)
SHAPE = "raw_answer returns three values: the text, the stop reason, and the output token count"


def check(raw_answer: Callable) -> None:
    """Call ``raw_answer(client, request, show)`` on each stream of :data:`STREAMS` and print PASS or
    NOT YET."""
    if not callable(raw_answer):
        raise TypeError(
            f"check expects your function raw_answer(client, request, show), got {type(raw_answer).__name__}"
        )
    report(*_verdict(raw_answer))


def _expected(client: anthropic.Anthropic, request: dict) -> anthropic.types.Message:
    headers = {**request.get("extra_headers", {}), "x-offline-pace": "instant"}
    with client.messages.stream(model=MODEL, max_tokens=1024, **{**request, "extra_headers": headers}) as stream:
        return stream.get_final_message()


def _verdict(raw_answer: Callable) -> tuple[bool, str, str]:
    local = connect.client(offline=True, quiet=True)
    for what, request in STREAMS:
        headers = {**request.get("extra_headers", {}), "x-offline-pace": "instant"}
        sent = {"model": MODEL, "max_tokens": 1024, **request, "extra_headers": headers}
        shown: list = []
        try:
            result = plain(call_learner(raw_answer, local, sent, shown.append))
        except LearnerError as err:
            return False, f"on {what}, {err}", _hint_for(err.original)
        final = _expected(local, request)
        if problem := _judge(what, result, shown, final):
            return problem
        print(f"  {what:<45} {len(shown):>3} text pieces · stop_reason {result[1]!r} · {result[2]} tokens out")
    return True, "raw_answer reads the text, the stop reason and the usage from the raw events of every stream", ""


def _judge(what: str, result, shown: list, final: anthropic.types.Message) -> tuple[bool, str, str] | None:
    if not (isinstance(result, tuple | list) and len(result) == 3):
        return False, f"on {what}, raw_answer returned {brief(result)}", SHAPE
    text, stop_reason, output_tokens = result
    if wrong := [p for p in shown if not isinstance(p, str)]:
        return (
            False,
            f"on {what}, show got a {type(wrong[0]).__name__}, not a piece of text",
            "show takes the text a delta carries, not the delta or the event",
        )
    expected = "".join(block.text for block in final.content if block.type == "text")
    joined = "".join(shown)
    if joined != expected:
        return (
            False,
            f"on {what}, show got {len(joined)} characters; the answer's text has {len(expected)}",
            DELTA_HINT if len(joined) > len(expected) else "every piece of text arrives in a content_block_delta",
        )
    if text != expected:
        return False, f"on {what}, the text returned is not what show got", "return the text you showed, joined"
    if stop_reason != final.stop_reason:
        return (
            False,
            f"on {what}, the stop reason returned is {brief(stop_reason)}; the stream said {final.stop_reason!r}",
            "the stop reason is not in message_start (it is None there): which event carries it at the end?",
        )
    if output_tokens != final.usage.output_tokens:
        return (
            False,
            f"on {what}, {brief(output_tokens)} output tokens returned; the stream said {final.usage.output_tokens}",
            "message_delta's usage is a running total for the whole message (section 4)",
        )
    return None


def _hint_for(exc: BaseException) -> str:
    if isinstance(exc, AttributeError) and ("delta" in str(exc) or "type" in str(exc)):
        return (
            "not every event has a .delta, and a message_delta's delta has no .type: "
            "check event.type first, and read event.delta only on the events that carry a block's piece"
        )
    if isinstance(exc, AttributeError) and "Delta' object" in str(exc):
        return (
            "a block's pieces come in several kinds of delta, and only one kind holds text: "
            "look at the delta's own type before you read its text (section 4)"
        )
    if isinstance(exc, TypeError) and "unexpected keyword" in str(exc):
        return "request holds create()'s arguments as they are: pass it with **request, and add stream=True"
    return "the raw stream is create(..., stream=True): loop over its events and branch on event.type"
