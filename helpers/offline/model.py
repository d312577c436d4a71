"""The local API's data model: what a reply is made of, the events it becomes, and one turn being answered.

The bottom of the stack: it imports nothing of the package. Capabilities build :class:`Reply` values from a
:class:`Turn`; :mod:`helpers.offline.router` picks one; :mod:`helpers.offline.wire` turns it into :class:`Event` s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Block:
    """One content block of a reply. ``type`` is any content block type the SDK knows:

    ``text`` (``text``; ``citations`` are sent as citations_delta events before it), ``thinking`` (``text``; empty
    when the request's thinking ``display`` is ``"omitted"``, the hidden thinking then in ``content``, billed but not
    sent), ``redacted_thinking`` (``content`` is its data),
    ``tool_use`` / ``server_tool_use`` (``name``, ``input``; ``eager`` streams it as fine-grained fragments;
    ``caller`` marks a tool_use made by the code of the server_tool_use before it), the server tools'
    ``*_tool_result`` blocks (``content`` is the result, linked to the server_tool_use before it, or to ``answers``)
    and ``container_upload`` (``content`` is the file id).
    """

    type: str
    text: str = ""  # the text, or the thinking
    name: str = ""  # tool name (tool_use, server_tool_use)
    input: dict = field(default_factory=dict)  # tool input (tool_use, server_tool_use)
    content: object = None  # a *_tool_result's content; a redacted_thinking block's data
    citations: tuple = ()  # text: the citations (dicts as the API sends them)
    eager: bool = False  # tool_use: the tool has eager_input_streaming (fine-grained tool streaming)
    caller: str = ""  # tool_use: the code execution version whose code called the tool (programmatic tool calling)
    answers: str = ""  # a *_tool_result answering a server_tool_use of an earlier turn: that call's id


@dataclass(frozen=True)
class Reply:
    blocks: list[Block]
    stop_reason: str = "end_turn"  # max_tokens / stop_sequence / model_context_window_exceeded are applied later
    stop_details: dict | None = None  # refusal: {"type": "refusal", "category": ..., "explanation": ...}


@dataclass(frozen=True)
class Turn:
    """One (validated) request being answered, as every capability reads it.

    ``prompt`` is the text of the last user message (of the one before a final assistant message); ``results`` the
    tool_result blocks the last user message carries; ``again`` answers another request with the whole router (a
    continuation re-answers the conversation before a partial answer).
    """

    request: dict
    prompt: str
    results: list[dict]
    again: Callable[[dict], Reply]


@dataclass(frozen=True)
class Event:
    name: str
    data: dict
    tokens: int = 0  # output tokens this event carries, for pacing


@dataclass(frozen=True)
class Cache:
    """The prompt-cache outcome of one request, in input tokens (see :mod:`helpers.offline.caching`)."""

    read: int = 0
    created_5m: int = 0
    created_1h: int = 0
