"""From a reply to the exact events the Messages API streams, and to the Message a non-streaming call returns.

Pure functions: a request and its reply in, a list of :class:`Event` out. The server only paces and sends them.

The grammar (as recorded from the real API)::

    message_start  (usage with input_tokens, output_tokens: 1)
    for each block:  content_block_start, [ping after the first], content_block_delta ..., content_block_stop
    message_delta  (stop_reason, stop_sequence, cumulative usage)
    message_stop
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
from typing import Any

from anthropic.types import ServerToolUsage

from helpers.models import SPECS, uses_container

from .model import Block, Cache, Event, Reply
from .read import count_tokens, fingerprint, input_tokens, make_id, tokens

__all__ = ["Cache", "Event", "break_json", "count_tokens", "end_early", "events", "fingerprint", "make_id", "message"]


def _group(pieces: list[str], rng: random.Random, most: int) -> list[str]:
    """Join token pieces into deltas of 1..most pieces, as the real API batches them."""
    out, i = [], 0
    while i < len(pieces):
        n = rng.randint(1, most)
        out.append("".join(pieces[i : i + n]))
        i += n
    return out


def _json_chunks(text: str, rng: random.Random, size: tuple[int, int] = (2, 7)) -> list[str]:
    """Cut serialized JSON into chunks that split keys and values mid-token (first chunk is "")."""
    out, i = [""], 0
    while i < len(text):
        n = rng.randint(*size)
        out.append(text[i : i + n])
        i += n
    return out


DIRECT = {"type": "direct"}  # the ``caller`` of a tool the model called itself
CONTAINER_EXPIRES = "2026-12-31T00:00:00Z"
# usage.server_tool_use counts a server tool's calls in a field "<tool name>_requests": one per tool the SDK's type
# names, read from it, so a new server tool needs no line here.
SERVER_TOOL_COUNTS = {f.removesuffix("_requests"): f for f in ServerToolUsage.model_fields if f.endswith("_requests")}
REDACTED_THINKING_TOKENS = 120  # what a redacted thinking block bills: its text is encrypted, its cost is not
RESULT_WAIT_TOKENS = 25  # a server tool's run, for pacing: its result block arrives after this many tokens' time


def _usage(input_tokens_: int, output: int, cache: Cache) -> dict:
    return {
        "input_tokens": input_tokens_,
        "cache_creation_input_tokens": cache.created_5m + cache.created_1h,
        "cache_read_input_tokens": cache.read,
        "output_tokens": output,
    }


def events(request: dict, reply: Reply, cache: Cache | None = None, nonce: str = "") -> list[Event]:
    """Every event of the stream for ``request`` answered with ``reply``, deterministic in the request but for the
    message and tool ids, which ``nonce`` makes unique per response (the server passes a fresh one each time).

    An answer that would overflow the model's context window (input plus output) stops with
    ``model_context_window_exceeded``; the window is the model's in :data:`helpers.models.SPECS`.
    """
    cache = cache or Cache()
    seed = fingerprint(request)
    rng = random.Random(seed)
    stops = [s for s in request.get("stop_sequences") or [] if s]
    n_all = input_tokens(request)
    n_in = max(n_all - cache.read - cache.created_5m - cache.created_1h, 0)
    window = max(SPECS[request["model"]].context_window - n_all, 0)
    budget = min(int(request["max_tokens"]), window)
    cut_reason = "max_tokens" if int(request["max_tokens"]) <= window else "model_context_window_exceeded"
    out: list[Event] = []
    used = 0
    stop_reason, stop_sequence = reply.stop_reason, None
    server_calls = {name: 0 for name in SERVER_TOOL_COUNTS.values()}
    container = None
    last_server_id = ""
    thought = any(b.type in {"thinking", "redacted_thinking"} for b in reply.blocks)
    thinking_tokens = hidden = 0  # thinking sent as deltas; thinking billed but not sent (omitted, redacted)

    usage = _usage(n_in, 1, cache)  # in the order the real API sends them
    usage = {
        **{k: v for k, v in usage.items() if k != "output_tokens"},
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache.created_5m,
            "ephemeral_1h_input_tokens": cache.created_1h,
        },
        "output_tokens": 1,
        "service_tier": "standard",
        "inference_geo": "not_available",
    }
    message = {
        "model": request["model"],
        "id": make_id("msg_", seed + nonce),
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    out.append(Event("message_start", {"type": "message_start", "message": message}))
    if not reply.blocks:
        out.append(Event("ping", {"type": "ping"}))

    for index, block in enumerate(reply.blocks):
        if used >= budget:
            stop_reason = cut_reason
            break
        start, deltas, closing = _block_events(block, index, seed, rng, nonce)
        in_container = block.type == "server_tool_use" and uses_container(request)
        if in_container or "code_execution" in block.name or "code_execution" in block.type:  # code runs in a container
            given = request.get("container")  # the one an earlier turn used, sent back to go on in it
            container = {
                "id": given if isinstance(given, str) else make_id("container_", seed),
                "expires_at": CONTAINER_EXPIRES,
            }
        if block.type == "server_tool_use":
            last_server_id = start["id"]
            if block.name in SERVER_TOOL_COUNTS:
                server_calls[SERVER_TOOL_COUNTS[block.name]] += 1
        elif block.type == "tool_use" and block.caller:  # called by the code of the server_tool_use before it
            start["caller"] = {"type": block.caller, "tool_id": last_server_id}
        elif block.type.endswith("_tool_result"):
            start = {"type": block.type, "tool_use_id": block.answers or last_server_id, "content": block.content}
            if block.type in {"web_search_tool_result", "web_fetch_tool_result"}:
                start["caller"] = DIRECT
        if block.type == "text" and stops:
            deltas, stop_sequence = _cut_at_stop(block.text, stops, rng, index)
            deltas = [({"type": "citations_delta", "citation": c}, 0) for c in block.citations] + deltas
        wait = RESULT_WAIT_TOKENS if block.type.endswith("_tool_result") else 0
        out.append(
            Event("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}, wait)
        )
        if index == 0:
            out.append(Event("ping", {"type": "ping"}))
        for delta, cost in deltas:
            if used + cost > budget:
                stop_reason = cut_reason
                break
            used += cost
            thinking_tokens += cost if block.type == "thinking" else 0
            out.append(
                Event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}, cost)
            )
        if block.type == "thinking" and isinstance(block.content, str):
            hidden += count_tokens(block.content)
        elif block.type == "redacted_thinking":
            hidden += REDACTED_THINKING_TOKENS
        out.extend(
            Event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in closing
        )
        out.append(Event("content_block_stop", {"type": "content_block_stop", "index": index}))
        if stop_reason == cut_reason or stop_sequence is not None:
            if stop_sequence is not None:
                stop_reason = "stop_sequence"
            break

    delta = {"stop_reason": stop_reason, "stop_sequence": stop_sequence}
    if stop_reason == reply.stop_reason and reply.stop_details:
        delta["stop_details"] = reply.stop_details
    if container is None and uses_container(request) and isinstance(request.get("container"), str):
        container = {"id": request["container"], "expires_at": CONTAINER_EXPIRES}  # a resumed turn goes on in it
    if container:
        delta["container"] = container
    # Cut by the limit, the model wrote exactly the budget (its last, partial piece is not sent here); otherwise what
    # it sent plus the thinking it billed without sending.
    output = budget if stop_reason == cut_reason else max(used, 1) + hidden
    final_usage = _usage(n_in, output, cache)
    if any(server_calls.values()):
        final_usage["server_tool_use"] = server_calls
    if thought:  # how many of the output tokens were thinking, shown or not
        final_usage["output_tokens_details"] = {"thinking_tokens": min(thinking_tokens + hidden, output)}
    ending = {"type": "message_delta", "delta": delta, "usage": final_usage}
    if request.get("context_management"):  # beta: a prompt this short reaches no edit's trigger, so none is applied
        ending["context_management"] = {"applied_edits": []}
    out.append(Event("message_delta", ending))
    out.append(Event("message_stop", {"type": "message_stop"}))
    return out


def end_early(stream: list[Event], reason: str, at: int | None, request: dict) -> list[Event]:
    """The stream ended with ``reason`` after ``at`` events (at its natural end when None): the ``stop:`` fault.

    A block left open is closed; ``stop_sequence`` names the request's first stop sequence (or ``"STOP"``) and
    ``refusal`` carries stop details, so each stop reason arrives as the real API sends it.
    """
    body = stream[:-2] if at is None else stream[: min(at, len(stream) - 2)]
    body = [e for e in body if e.name not in {"message_delta", "message_stop"}]
    if not body:
        body = stream[:1]
    opened = [e.data["index"] for e in body if e.name == "content_block_start"]
    closed = {e.data["index"] for e in body if e.name == "content_block_stop"}
    body += [Event("content_block_stop", {"type": "content_block_stop", "index": i}) for i in opened if i not in closed]
    natural = stream[-2].data
    used = max(sum(e.tokens for e in body if e.name == "content_block_delta"), 1)
    delta: dict = {"stop_reason": reason, "stop_sequence": None}
    if reason == "stop_sequence":
        delta["stop_sequence"] = next((s for s in request.get("stop_sequences") or [] if s), "STOP")
    if reason == "refusal":
        delta["stop_details"] = {
            "type": "refusal",
            "category": None,
            "explanation": "Stopped by the stop:refusal fault of the offline API.",
        }
    if "container" in natural["delta"]:
        delta["container"] = natural["delta"]["container"]
    if reason == "max_tokens":  # a max_tokens stop bills exactly max_tokens, as the API reports it
        used = max(int(request["max_tokens"]), used)
    usage = {**natural["usage"], "output_tokens": used}
    if "output_tokens_details" in usage:  # part of the thinking was never written: never more than the total
        thinking = min(usage["output_tokens_details"]["thinking_tokens"], used)
        usage["output_tokens_details"] = {"thinking_tokens": thinking}
    return [*body, Event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}), stream[-1]]


BROKEN_JSON = "\\q}"  # the badjson@N fragment: an invalid escape inside a string, an invalid token elsewhere


def break_json(stream: list[Event], at: int) -> list[Event]:
    """The stream with an ``input_json_delta`` that breaks a tool input: the ``badjson@N`` fault.

    The fragment goes in at the first point, N events in or later, where the tool input open there is mid-string or
    expects a key or value (where no JSON parser, partial or not, can accept it). Without a tool input, the stream is
    returned unchanged.
    """
    open_tool, buffer = None, ""
    for n, event in enumerate(stream):
        if event.name == "content_block_start":
            kind = event.data["content_block"]["type"]
            open_tool, buffer = (event.data["index"] if kind in {"tool_use", "server_tool_use"} else None), ""
        elif event.name == "content_block_stop":
            open_tool = None
        elif open_tool is not None and event.name == "content_block_delta":
            buffer += event.data["delta"].get("partial_json", "")
        if n + 1 >= at and open_tool is not None and stream[n + 1].name == "content_block_delta" and _open(buffer):
            delta = {"type": "input_json_delta", "partial_json": BROKEN_JSON}
            bad = Event("content_block_delta", {"type": "content_block_delta", "index": open_tool, "delta": delta}, 1)
            return [*stream[: n + 1], bad, *stream[n + 1 :]]
    return stream


def _open(partial: str) -> bool:
    """True when ``partial`` JSON is inside a string or expects a key or value next."""
    quotes = len(re.findall(r'(?<!\\)(?:\\\\)*"', partial))
    return quotes % 2 == 1 or partial.rstrip()[-1:] in {"", "{", "[", ":", ","}


def _block_events(block: Block, index: int, seed: str, rng: random.Random, nonce: str = ""):
    """(content_block_start payload, [(delta, token cost)], [closing deltas]) for one block."""
    if block.type == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        if block.citations:
            start["citations"] = []
        deltas = [({"type": "citations_delta", "citation": c}, 0) for c in block.citations]
        return start, deltas + _text_deltas(block.text, rng), []
    if block.type == "thinking":
        deltas = [
            ({"type": "thinking_delta", "thinking": t}, count_tokens(t)) for t in _group(tokens(block.text), rng, 6)
        ]
        signature = base64.b64encode(hashlib.sha512((seed + block.text).encode()).digest() * 3).decode()
        return (
            {"type": "thinking", "thinking": "", "signature": ""},
            deltas,
            [{"type": "signature_delta", "signature": signature}],
        )
    if block.type == "redacted_thinking":
        return {"type": "redacted_thinking", "data": block.content}, [], []
    if block.type in {"tool_use", "server_tool_use"}:
        prefix = "toolu_" if block.type == "tool_use" else "srvtoolu_"
        start = {"type": block.type, "id": make_id(prefix, seed + nonce, str(index)), "name": block.name, "input": {}}
        start["caller"] = DIRECT
        serialized = json.dumps(block.input, ensure_ascii=False)
        # an input of {} streams one empty fragment and no JSON at all, as the real API sends it
        chunks = _json_chunks(serialized, rng, (12, 40) if block.eager else (2, 7)) if block.input != {} else [""]
        cost = count_tokens if block.eager else (lambda c: 1)  # fine-grained fragments carry several tokens each
        deltas = [({"type": "input_json_delta", "partial_json": c}, cost(c) if c else 0) for c in chunks]
        return start, deltas, []
    if block.type.endswith("_tool_result"):
        return {"type": block.type, "content": block.content}, [], []  # events() links it to its server_tool_use
    if block.type == "container_upload":
        return {"type": "container_upload", "file_id": block.content}, [], []
    raise ValueError(
        f"unknown block type {block.type!r}: expected text, thinking, redacted_thinking, tool_use, server_tool_use, "
        "a *_tool_result or container_upload"
    )


def _text_deltas(text: str, rng: random.Random) -> list[tuple[dict, int]]:
    return [({"type": "text_delta", "text": t}, count_tokens(t)) for t in _group(tokens(text), rng, 3)]


def _cut_at_stop(text: str, stops: list[str], rng: random.Random, index: int):
    hits = [(text.find(s), s) for s in stops if s in text]
    if not hits:
        return _text_deltas(text, rng), None
    at, which = min(hits)
    return _text_deltas(text[:at], rng), which


def message(stream: list[Event]) -> dict:
    """The Message a non-streaming call returns, built from the same events (so both modes agree)."""
    msg = dict(stream[0].data["message"])
    blocks: list[dict] = []
    partial: dict[int, str] = {}
    for ev in stream[1:]:
        d = ev.data
        if ev.name == "content_block_start":
            blocks.append(dict(d["content_block"]))
        elif ev.name == "content_block_delta":
            delta, block = d["delta"], blocks[d["index"]]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "citations_delta":
                block["citations"] = [*(block.get("citations") or []), delta["citation"]]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta["type"] == "input_json_delta":
                partial[d["index"]] = partial.get(d["index"], "") + delta["partial_json"]
        elif ev.name == "content_block_stop" and d["index"] in partial:
            try:
                blocks[d["index"]]["input"] = json.loads(partial[d["index"]] or "{}")
            except ValueError:
                blocks[d["index"]]["input"] = {}  # cut by max_tokens mid-input
        elif ev.name == "message_delta":
            msg.update(d["delta"])
            msg["usage"] = {**msg["usage"], **d["usage"]}
            if "context_management" in d:
                msg["context_management"] = d["context_management"]
    msg["content"] = blocks
    return msg
