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
from dataclasses import dataclass

from .replies import Block, Reply, text_of

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_TOKEN = re.compile(r" ?[A-Za-z]+| ?\d{1,3}| ?[^\sA-Za-z\d]|\s+")


@dataclass(frozen=True)
class Event:
    name: str
    data: dict
    tokens: int = 0  # output tokens this event carries, for pacing


def fingerprint(request: dict) -> str:
    """A stable hash of what determines the answer (the request minus transport details)."""
    keep = {k: v for k, v in request.items() if k not in {"stream", "metadata"}}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()


def make_id(prefix: str, seed: str, salt: str = "") -> str:
    """An id shaped like the real ones (``msg_01`` + 22 base58 characters), derived from ``seed``."""
    digest = hashlib.sha256((seed + salt).encode()).digest()
    return prefix + "01" + "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:22])


def tokens(text: str) -> list[str]:
    """Split text into token-sized pieces (words with their leading space, numbers, punctuation, whitespace)."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    return len(tokens(text))


def input_tokens(request: dict) -> int:
    system = request.get("system")
    total = count_tokens(system if isinstance(system, str) else text_of(system or []))
    total += sum(count_tokens(text_of(m.get("content"))) + 4 for m in request["messages"])
    total += sum(count_tokens(json.dumps(t)) for t in request.get("tools") or [])
    return max(total, 1)


def _group(pieces: list[str], rng: random.Random, most: int) -> list[str]:
    """Join token pieces into deltas of 1..most pieces, as the real API batches them."""
    out, i = [], 0
    while i < len(pieces):
        n = rng.randint(1, most)
        out.append("".join(pieces[i : i + n]))
        i += n
    return out


def _json_chunks(text: str, rng: random.Random) -> list[str]:
    """Cut serialized JSON into small chunks that split keys and values mid-token (first chunk is "")."""
    out, i = [""], 0
    while i < len(text):
        n = rng.randint(2, 7)
        out.append(text[i : i + n])
        i += n
    return out


def _usage(input_tokens_: int, output: int) -> dict:
    return {
        "input_tokens": input_tokens_,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output,
    }


def events(request: dict, reply: Reply) -> list[Event]:
    """Every event of the stream for ``request`` answered with ``reply``, deterministic in the request."""
    seed = fingerprint(request)
    rng = random.Random(seed)
    budget = int(request["max_tokens"])
    stops = [s for s in request.get("stop_sequences") or [] if s]
    n_in = input_tokens(request)
    out: list[Event] = []
    used = 0
    stop_reason, stop_sequence = reply.stop_reason, None

    message = {
        "model": request["model"],
        "id": make_id("msg_", seed),
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**_usage(n_in, 1), "service_tier": "standard"},
    }
    out.append(Event("message_start", {"type": "message_start", "message": message}))

    for index, block in enumerate(reply.blocks):
        if used >= budget:
            stop_reason = "max_tokens"
            break
        start, deltas, closing = _block_events(block, index, seed, rng)
        if block.type == "text" and stops:
            deltas, stop_sequence = _cut_at_stop(block.text, stops, rng, index)
        out.append(
            Event("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
        )
        if index == 0:
            out.append(Event("ping", {"type": "ping"}))
        for delta, cost in deltas:
            if used + cost > budget:
                stop_reason = "max_tokens"
                break
            used += cost
            out.append(
                Event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}, cost)
            )
        out.extend(
            Event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in closing
        )
        out.append(Event("content_block_stop", {"type": "content_block_stop", "index": index}))
        if stop_reason == "max_tokens" or stop_sequence is not None:
            if stop_sequence is not None:
                stop_reason = "stop_sequence"
            break

    out.append(
        Event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                "usage": _usage(n_in, max(used, 1)),
            },
        )
    )
    out.append(Event("message_stop", {"type": "message_stop"}))
    return out


def _block_events(block: Block, index: int, seed: str, rng: random.Random):
    """(content_block_start payload, [(delta, token cost)], [closing deltas]) for one block."""
    if block.type == "text":
        return {"type": "text", "text": ""}, _text_deltas(block.text, rng), []
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
    if block.type == "tool_use":
        start = {"type": "tool_use", "id": make_id("toolu_", seed, str(index)), "name": block.name, "input": {}}
        serialized = json.dumps(block.input, ensure_ascii=False)
        deltas = [
            ({"type": "input_json_delta", "partial_json": c}, 1 if c else 0) for c in _json_chunks(serialized, rng)
        ]
        return start, deltas, []
    raise ValueError(f"unknown block type {block.type!r}: expected text, thinking or tool_use")


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
    msg["content"] = blocks
    return msg
