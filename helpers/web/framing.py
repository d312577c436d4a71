"""How the relay frames its Server-Sent Events, and how to read them back.

The tutorial writes ``f"data: {text}\\n\\n"``. A newline inside ``text`` ends the ``data:`` line early, so the rest
of the chunk is read as a field name and silently dropped. The fix: send a named event whose data is JSON, which
escapes every newline and so always fits on one line.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from helpers.offline import sse

_LINE_END = re.compile(r"\r\n|\r|\n")


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


@dataclass(frozen=True)
class SSEEvent:
    event: str  # "message" when the event has no name, as in the browser's EventSource
    data: str  # the data lines joined with "\n"


class Reader:
    """An incremental SSE parser: ``feed()`` it chunks as they arrive, get back the events they complete.

    Events may be split anywhere across chunks, even inside a multi-byte character or between CR and LF.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._name = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes | str) -> list[SSEEvent]:
        if not isinstance(chunk, bytes | str):
            raise TypeError(f"Reader.feed() expects bytes or str from the response body, got {type(chunk).__name__}")
        if isinstance(chunk, bytes):
            chunk = self._decoder.decode(chunk)  # holds back a character split across chunks
        self._text += chunk
        cut = len(self._text) - 1 if self._text.endswith("\r") else len(self._text)  # CR may be half of CRLF
        *lines, rest = _LINE_END.split(self._text[:cut])
        self._text = rest + self._text[cut:]
        events = []
        for line in lines:
            if not line:  # a blank line ends the event
                if self._data:
                    events.append(SSEEvent(self._name or "message", "\n".join(self._data)))
                self._name, self._data = "", []
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                self._name = value
            elif field == "data":
                self._data.append(value)
            # comments (":…"), id, retry and unknown fields are ignored, as the spec says
        return events


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
