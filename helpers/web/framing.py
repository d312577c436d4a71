"""How the relay frames its Server-Sent Events, and how to read them back.

The tutorial writes ``f"data: {text}\\n\\n"``. A newline inside ``text`` ends the ``data:`` line early, so the rest
of the chunk is read as a field name and silently dropped. The fix: send a named event whose data is JSON, which
escapes every newline and so always fits on one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from helpers.offline import sse
from helpers.offline.sse import Reader, SSEEvent

__all__ = ["Reader", "SSEEvent", "events", "frame", "naive_frame", "parse", "streamed_text"]


def naive_frame(text: str) -> bytes:
    """The tutorial's framing. Correct until ``text`` contains a newline."""
    return f"data: {text}\n\n".encode()


def frame(event: str, data: dict) -> bytes:
    """The fixed framing: ``event: NAME`` then one ``data:`` line of JSON."""
    if not isinstance(event, str) or not isinstance(data, dict):
        raise TypeError(
            f"frame(event, data) expects an event name str and a data dict (sent as JSON), "
            f"got {type(event).__name__} and {type(data).__name__}"
        )
    return sse.encode(event, data)


def parse(body: bytes | str) -> list[SSEEvent]:
    """All complete events in an SSE body."""
    return Reader().feed(body)


def events(chunks: Iterable[bytes | str]) -> Iterator[SSEEvent]:
    """Each event as soon as it is complete, from a body read in chunks (``response.iter_bytes()``)."""
    reader = Reader()
    for chunk in chunks:
        yield from reader.feed(chunk)


def streamed_text(events: Iterable[SSEEvent]) -> str:
    """The answer's text in a stream: the relay's ``text`` events, or the Messages API's text deltas."""
    pieces = []
    for event in events:
        if event.event == "text":
            pieces.append(json.loads(event.data)["text"])
        elif event.event == "content_block_delta":
            pieces.append(json.loads(event.data)["delta"].get("text", ""))
    return "".join(pieces)
