"""Lesson 08 · Try it: a framing function that any piece of text survives."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.sse import ServerSentEvent

from helpers.exercises import LearnerError, brief, call_learner, report
from helpers.web import parse

# Pieces of text a model can stream: each but the last two is a trap for raw `data:` framing (the first is the
# commonest); the last two check that quotes, backslashes and unicode come through the JSON unchanged.
TRICKY = [
    "two\nlines",
    "ends with a newline\n",
    "a blank line\n\nin the middle",
    "\ndata: a line that looks like a field",
    "x\nevent: done",
    "windows\r\nline end",
    "a lone \r carriage return",
    'quotes " and \\ backslash, a tab\t, café 東京 🚀',
    "plain words",
]
# Hints point at the idea; the solution file has the answer.
NEWLINE_HINT = "a newline in the text ends the data: line (section 3): which encoding writes a newline without one?"
JSON_HINT = "the client reads JSON.parse(data).text: what JSON value has a 'text' field?"


def check_framing(frame_text: Callable[[str], str | bytes]) -> None:
    """Frame each tricky piece with ``frame_text``, read it back as a browser would, and say what went wrong first."""
    if not callable(frame_text):
        raise TypeError(f"check_framing expects your function frame_text(text), got {type(frame_text).__name__}")
    try:
        report(*_verdict(frame_text))
    except LearnerError as err:
        report(False, str(err), "frame_text(text) gets one piece of text and returns one SSE event as a str")


def _verdict(frame_text: Callable[[str], str | bytes]) -> tuple[bool, str, str]:
    for text in TRICKY:
        wire = call_learner(frame_text, text)
        if isinstance(wire, bytes):
            wire = wire.decode("utf-8")
        if not isinstance(wire, str):
            return False, f"frame_text returned a {type(wire).__name__}, not the SSE event as a str", _type_hint(wire)
        events = parse(wire)
        if len(events) != 1:
            return (
                False,
                f"{text!r} arrived as {len(events)} events, not 1",
                "a blank line ends an event, and a missing one never ends it: end with one blank line ('\\n\\n')",
            )
        (event,) = events
        try:
            value = json.loads(event.data)
        except ValueError:
            value = None
        if value is not None and not (isinstance(value, dict) and "text" in value):
            return False, f"the data is JSON, but {brief(event.data)} is not an object with a 'text' field", JSON_HINT
        got = event.data if value is None else value["text"]
        if got != text:
            return (
                False,
                f"{text!r} came back as {brief(got)}",
                NEWLINE_HINT,
            )
        if value is None:
            return False, "the data line is not JSON", JSON_HINT
        if event.event != "text":
            return (
                False,
                f"the event is named {brief(event.event)}",
                "a client tells text from stop, error and done by the event's name: which SSE field sets it?",
            )
    return True, f"all {len(TRICKY)} tricky pieces survived the round trip, byte for byte", ""


def _type_hint(wire) -> str:
    if isinstance(wire, ServerSentEvent):
        return "EventSourceResponse frames a ServerSentEvent for you; here return the str yourself: the event's lines"
    if wire is None:
        return "frame_text must return the event: is a return missing?"
    return "frame_text(text) returns one SSE event as a str: its lines, then a blank line"
