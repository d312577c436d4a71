"""The live views: text, thinking, tool input, raw events and the arrival timeline.

Each one takes what the SDK gives you (text from ``stream.text_stream``, events from ``for event in stream``,
sync or async) and shows it as it arrives; ``watch``/``awatch`` consume a whole stream for you.
"""

from __future__ import annotations

import time

import jiter

from . import _static
from ._live import LiveView, event_error, is_event
from .formatting import as_text, block_extra, citation_row, raw_row, sdk_row
from .tables import DELTAS, appended, role

JOINED = {field for field, _ in DELTAS.values()}  # fields kept as lists of chunks while streaming
DERIVED = {"text": "text", "thinking": "thinking", "input_json": "partial_json"}


class MessageView(LiveView):
    """Blocks of one or more messages (text, thinking, tool_use), built from text or from stream events."""

    def __init__(self, *, title: str = "", display: bool = True):
        self._blocks: list[dict] = []  # appended fields are lists of chunks (joined on export)
        self._offset = 0  # block index of the current message's block 0 (a view can show several messages)
        self._current = -1  # the block the SDK's derived events (text, input_json …) refer to
        self._raw_deltas = False  # raw content_block_delta events seen: derived events only add their snapshot
        super().__init__(title=title, display=display)

    # -- feeding ------------------------------------------------------------------------------------------------

    def append(self, text: str) -> None:
        """Append a piece of text (what ``stream.text_stream`` yields)."""
        if not isinstance(text, str):
            raise TypeError(
                f"{type(self).__name__}.append() expects str, a text delta from `stream.text_stream`, "
                f"got {type(text).__name__}. For events from `for event in stream` use view.add(event)."
            )
        self._check_open("append()")
        index = len(self._blocks) - 1
        if index < 0 or self._blocks[index]["type"] != "text":
            index = self._start("text")
        self._extend(index, "text", text)

    def add(self, event) -> None:
        """Show one event from ``for event in stream`` (raw SDK events and the SDK's derived text/input_json/… events)."""
        if not is_event(event):
            raise event_error(self, event)
        self._check_open("add()")
        kind = as_text(event.type)  # a crafted stream's type may be an object: compared and shown as text
        if kind == "message_start":
            self._offset = len(self._blocks)
        elif kind == "content_block_start":
            block = event.content_block
            self._start(block.type, self._offset + event.index, **block_extra(block))
        elif kind == "content_block_delta":
            self._raw_deltas = True
            index, delta, delta_type = self._offset + event.index, event.delta, as_text(event.delta.type)
            if delta_type in DELTAS:
                self._extend(index, DELTAS[delta_type][0], getattr(delta, DELTAS[delta_type][1]))
            elif delta_type == "signature_delta":
                self._set(index, "signature", len(delta.signature))
            elif delta_type == "citations_delta":
                self._cite(index, delta.citation)
        elif kind == "citation" and not self._raw_deltas:
            self._cite(self._current, event.citation)
        elif kind in DERIVED and not self._raw_deltas:
            self._derived(kind, event)
        elif kind == "input_json":
            self._set(self._current, "snapshot", event.snapshot)
        elif kind == "signature":
            self._set(self._current, "signature", len(event.signature))
        elif kind == "content_block_stop" and getattr(event, "content_block", None) is not None:
            block = event.content_block
            if role(block.type) == "tool" and self._offset + event.index < len(self._blocks):
                self._set(self._offset + event.index, "snapshot", block.input)
        elif kind == "message_delta" and event.delta.stop_reason == "max_tokens":
            self._mark_truncated()

    def _derived(self, kind: str, event) -> None:
        """Only derived events were fed (e.g. filtered on event.type == "text"): append what they carry."""
        block_type = {"text": "text", "thinking": "thinking", "input_json": "tool_use"}[kind]
        index = self._current
        if index < 0 or self._blocks[index]["type"] != block_type:
            index = self._start(block_type)
        self._extend(index, DERIVED[kind], getattr(event, kind if kind != "input_json" else "partial_json"))
        if kind == "input_json":
            self._set(index, "snapshot", event.snapshot)

    # -- state --------------------------------------------------------------------------------------------------

    def _start(self, block_type: str, index: int | None = None, **extra) -> int:
        index = len(self._blocks) if index is None else index
        block_type = block_type if isinstance(block_type, str) else repr(block_type)  # shown as text, never markup
        if index < len(self._blocks):  # started already
            self._current = index
            return index
        while len(self._blocks) < index:  # a block we never saw start (a stream joined midway)
            self._start("text")
        if role(block_type) == "tool":
            extra = {"name": "", "id": "", "snapshot": {}, **extra}
        field = appended(block_type)
        block = {"type": block_type, **extra, **({field: []} if field else {})}
        self._blocks.append(block)
        self._op(["b", {**block, **({field: ""} if field else {})}])
        self._current = index
        return index

    def _extend(self, index: int, field: str, text: str) -> None:
        if index >= len(self._blocks):
            self._start({"partial_json": "tool_use"}.get(field, field), index)
        if not text:
            return
        self._blocks[index].setdefault(field, []).append(text)
        self._current = index
        self._arrived(text, field)
        self._op(["+", index, field, text])

    def _set(self, index: int, field: str, value) -> None:
        if 0 <= index < len(self._blocks):
            self._blocks[index][field] = value
            self._op(["=", index, field, value])

    def _cite(self, index: int, citation) -> None:
        """A citation for a text block: numbered across the view, shown under the block (title, URL, cited text)."""
        if not 0 <= index < len(self._blocks):
            return
        self._citations = getattr(self, "_citations", 0) + 1
        row = citation_row(self._citations, citation)
        self._blocks[index]["citations"] = [*self._blocks[index].get("citations", []), row]
        self._op(["a", index, "citations", row])

    def _mark_truncated(self) -> None:
        last = len(self._blocks) - 1
        if last >= 0 and self._blocks[last]["type"] == "tool_use":
            self._set(last, "truncated", True)

    def finish(self, message=None) -> None:
        if message is not None and getattr(message, "stop_reason", None) == "max_tokens" and not self.done:
            self._mark_truncated()
        super().finish(message)

    def _export(self) -> list[dict]:
        return [
            {k: "".join(v) if k in JOINED and isinstance(v, list) else v for k, v in b.items()} for b in self._blocks
        ]

    def _json_state(self) -> dict:
        return {"blocks": self._export()}

    @property
    def text(self) -> str:
        """All the text that arrived (text blocks only)."""
        return "".join("".join(b["text"]) for b in self._blocks if b["type"] == "text")

    # -- representations ----------------------------------------------------------------------------------------

    def _status_word(self) -> str:
        state = self._state
        if state["status"] == "error":
            return "error: " + state["error"].split(":", 1)[0]
        if state["status"] == "done":
            return state["footer"].get("stop_reason") or "done"
        return state["status"]

    def _usage_words(self) -> str:
        foot = self._state["footer"]
        return (
            f", {foot['input_tokens']} in / {foot['output_tokens']} out tokens"
            if foot.get("output_tokens") is not None
            else ""
        )

    def _summary(self) -> str:
        return f"{self._status_word()}, {len(self.text)} chars{self._usage_words()}"

    def _static(self) -> dict:
        html = _static.message_html(self._export(), self._state, len(self.text), self.view_id)
        return {"text/html": html, "text/plain": self._plain()}


class TextView(MessageView):
    """Text arriving token by token, with a cursor and live figures; markdown and usage when it ends.

    >>> view = TextView()
    >>> with client.messages.stream(...) as stream:
    ...     for text in stream.text_stream:
    ...         view.append(text)
    ...     view.finish(stream.get_final_message())
    """


class ThinkingView(MessageView):
    """Thinking streams into a collapsible panel, the signature's arrival is marked, then the answer follows.

    Feed it events: ``for event in stream: view.add(event)``, or ``view.watch(stream)``.
    """

    KIND = "thinking"

    def _summary(self) -> str:
        thinking = sum(len("".join(b["thinking"])) for b in self._blocks if b["type"] == "thinking")
        return f"{self._status_word()}, {thinking} thinking chars, {len(self.text)} text chars{self._usage_words()}"


class ToolInputView(MessageView):
    """A tool call's input as it streams: the raw ``partial_json`` and the SDK's parsed ``snapshot`` side by side.

    Marks the input as cut off when the message stops for ``max_tokens``.
    """

    KIND = "tool"

    def _summary(self) -> str:
        tools = [b for b in self._blocks if b["type"] == "tool_use"]
        names = ", ".join(b["name"] or "?" for b in tools)
        cut = " (input cut off)" if any(b.get("truncated") for b in tools) else ""
        calls = f"{len(tools)} tool call{'s' if len(tools) != 1 else ''}" + (f": {names}" if names else "")
        return f"{self._status_word()}, {calls}{cut}"


class StructuredView(MessageView):
    """Structured output (``output_format``) as it streams: the raw JSON text beside the object parsed so far.

    The parsed side is what ``event.parsed_snapshot()`` gives for each text event: a partial object that grows
    field by field (strings may be cut mid-word). Feed it ``append(text)``, events, or ``watch(stream)``.
    """

    KIND = "structured"

    def _extend(self, index: int, field: str, text: str) -> None:
        super()._extend(index, field, text)
        if field == "text" and text:
            raw = "".join(self._blocks[index]["text"]).encode()
            try:
                parsed = jiter.from_json(raw, partial_mode="trailing-strings")
            except ValueError:
                return  # not JSON (yet): the raw side shows what arrived
            self._set(index, "snapshot", parsed)

    def _summary(self) -> str:
        snapshot = next((b.get("snapshot") for b in reversed(self._blocks) if b["type"] == "text"), None)
        fields = f", {len(snapshot)} fields" if isinstance(snapshot, dict) else ""
        return f"{self._status_word()}, {len(self.text)} chars of JSON{fields}"


class Timeline(MessageView):
    """When each token arrived: time to first token and the gaps between deltas, drawn when the stream ends.

    ``append(text)`` (or ``add(event)`` / ``watch(stream)``) records arrival times; ``finish()`` draws a small SVG.
    """

    KIND = "timeline"

    def _on_settle(self) -> None:
        self._svg = _static.timeline_svg(self._arrivals, view=self.view_id)

    def _json_state(self) -> dict:
        return {**super()._json_state(), "svg": getattr(self, "_svg", "")}

    def _summary(self) -> str:
        return f"{self._status_word()}, {len(self._arrivals)} deltas, {len(self.text)} chars"

    def _static(self) -> dict:
        return {"image/svg+xml": self._svg, "text/plain": self._plain()}


class EventView(LiveView):
    """A row per stream event as it arrives: time, type, index, delta type and a short payload; counts per type.

    Accepts the SDK's events (``for event in stream``) and raw ``ServerSentEvent`` objects from
    ``anthropic.Stream.raw_events(response)``, which include the ``ping`` events the SDK hides.
    """

    KIND = "events"

    def __init__(self, *, title: str = "", display: bool = True):
        self._rows: list[list] = []
        self._counts: dict[str, int] = {}
        super().__init__(title=title, display=display)

    def add(self, event) -> None:
        """Add one event: an SDK stream event or a raw ServerSentEvent."""
        if hasattr(event, "event") and hasattr(event, "data") and not is_event(event):
            row = raw_row(event)
        elif is_event(event):
            row = sdk_row(event)
        else:
            raise event_error(self, event)
        self._check_open("add()")
        row.insert(0, round((time.monotonic() - self._t0) * 1000, 1))
        self._rows.append(row)
        self._counts[row[1]] = self._counts.get(row[1], 0) + 1
        self._op(["r", row])

    def _json_state(self) -> dict:
        return {"items": self._rows}

    def _summary(self) -> str:
        status = self._state["status"]
        if status == "error":
            status = "error: " + self._state["error"].split(":", 1)[0]
        n = self._counts.get("ping", 0)
        pings = f", {n} ping{'s' if n > 1 else ''}" if n else ""
        return f"{status}, {len(self._rows)} events{pings}"

    def _static(self) -> dict:
        return {
            "text/html": _static.events_html(self._rows, self._counts, self._state, self.view_id),
            "text/plain": self._plain(),
        }
