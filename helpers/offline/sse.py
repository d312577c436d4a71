"""Server-Sent Events, written and read in one place.

Writing follows the spec: ``event`` may not hold a newline, multi-line data becomes several ``data:`` lines, and
every event ends with a blank line. Data is compact JSON, as the Messages API sends it.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass

# Beside ``content-type: text/event-stream``, on every stream the course serves (as the real API sends them):
# no-cache, so nothing replays a stale stream; x-accel-buffering: no, so nginx and proxies like it pass each event on.
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def encode(event: str | None, data: str | dict) -> bytes:
    """One SSE event as bytes. ``data`` may be a dict (JSON-encoded) or a string (split on newlines)."""
    if event is not None and ("\n" in event or "\r" in event):
        raise ValueError(f"an SSE event name cannot contain a newline: {event!r}")
    head = "" if event is None else f"event: {event}\n"
    if isinstance(data, dict):  # JSON escapes line breaks, so it always fits on one data line
        return f"{head}data: {json.dumps(data, separators=(',', ':'), ensure_ascii=False)}\n\n".encode()
    lines = "\n".join(f"data: {line}" for line in re.split(r"\r\n|\r|\n", data))  # SSE line ends only, not U+2028
    return f"{head}{lines}\n\n".encode()


@dataclass(frozen=True)
class RawEvent:
    """One event of a recorded body: its name and its exact bytes (blank line included)."""

    event: str | None
    raw: bytes

    @property
    def data(self) -> str:
        (event,) = Reader().feed(self.raw)  # split on SSE's line ends only: U+2028 in the text is not one
        return event.data


def split(body: bytes) -> list[RawEvent]:
    """Split a recorded SSE body into its events, byte for byte.

    Lines that are not SSE fields (annotations such as ``# note`` or ``---- heading`` in hand-kept transcripts) end
    the current event and are dropped, as does an ``event:`` line after data; a body that lacks the final blank line
    still yields its last event.
    """
    events: list[RawEvent] = []
    current: list[str] = []

    def flush() -> None:
        if any(line.startswith("data:") for line in current):
            name = next((ln[6:].strip() for ln in current if ln.startswith("event:")), None)
            events.append(RawEvent(name, ("\n".join(current) + "\n\n").encode()))
        current.clear()

    for line in body.decode().replace("\r\n", "\n").split("\n"):
        field = line.split(":", 1)[0]
        if field not in {"event", "data", "id", "retry"}:
            flush()
        elif field == "event" and any(ln.startswith("data:") for ln in current):
            flush()
            current.append(line)
        else:
            current.append(line)
    flush()
    return events


_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SSEEvent:
    event: str  # "message" when the event has no name, as in the browser's EventSource
    data: str  # the data lines joined with "\n"


class Reader:
    """An incremental SSE parser: ``feed()`` it chunks as they arrive, get back the events they complete.

    Events may be split anywhere across chunks, even inside a multi-byte character or between CR and LF.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()  # drops one leading BOM, as SSE decoding does
        self._held: list[str] = []  # text after the last line end: joined and split only once a line end arrives
        self._name = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes | str) -> list[SSEEvent]:
        if not isinstance(chunk, bytes | str):
            raise TypeError(f"Reader.feed() expects bytes or str from the response body, got {type(chunk).__name__}")
        if isinstance(chunk, bytes):
            chunk = self._decoder.decode(chunk)  # holds back a character split across chunks
        waiting_cr = bool(self._held) and self._held[-1].endswith("\r")
        self._held.append(chunk)
        if "\n" not in chunk and "\r" not in chunk and not waiting_cr:
            return []  # a line still arriving: re-splitting all of it per chunk was quadratic (8 MB in 64 KB: 5.6 s)
        text = "".join(self._held)
        cut = len(text) - 1 if text.endswith("\r") else len(text)  # CR may be half of CRLF
        *lines, rest = _LINE_END.split(text[:cut])
        rest += text[cut:]
        self._held = [rest] if rest else []
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
