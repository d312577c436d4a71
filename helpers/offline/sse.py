"""Server-Sent Events, written and read in one place.

Writing follows the spec: ``event`` may not hold a newline, multi-line data becomes several ``data:`` lines, and
every event ends with a blank line. Data is compact JSON, as the Messages API sends it.
"""

from __future__ import annotations

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
        lines = self.raw.decode().splitlines()
        return "\n".join(line[5:].removeprefix(" ") for line in lines if line.startswith("data:"))


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
