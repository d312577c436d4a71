"""Prompt caching, remembered per local API: ``cache_control`` marks the end of a prefix (tools, then system, then
messages, in that order); the first request with that prefix writes it (``cache_creation_input_tokens``, split by TTL
in ``cache_creation``), a later request with the identical prefix reads it (``cache_read_input_tokens``) and, at
realistic pace, sees its first token sooner (uncached input tokens cost prefill time; cached ones almost none).

As on the real API, a prefix shorter than ``MIN_TOKENS`` is not cached, and an entry lives for its TTL (5 minutes by
default, ``"ttl": "1h"`` for an hour), refreshed by each read.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time

from .model import Cache
from .read import count_tokens, text_of

MIN_TOKENS = 1024
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


def _pieces(request: dict) -> list[tuple[object, int, dict | None]]:
    """The prompt in cache order, as (piece, its tokens, its cache_control or None)."""
    out: list[tuple[object, int, dict | None]] = []
    for tool in request.get("tools") or []:
        out.append(
            (tool, count_tokens(json.dumps(tool)), tool.get("cache_control") if isinstance(tool, dict) else None)
        )
    system = request.get("system")
    for block in [system] if isinstance(system, str) else system or []:
        text = block if isinstance(block, str) else text_of([block])
        out.append((block, count_tokens(text), block.get("cache_control") if isinstance(block, dict) else None))
    for message in request["messages"]:
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        for i, block in enumerate(blocks):
            control = block.get("cache_control") if isinstance(block, dict) else None
            cost = count_tokens(text_of([block]) if isinstance(block, dict) else str(block)) + (4 if i == 0 else 0)
            out.append(({"role": message.get("role"), "block": block}, cost, control))
    return out


def _prefix_keys(request: dict, pieces: list, wanted: set[int]) -> dict[int, str]:
    """The cache key of each prefix ``pieces[: i + 1]`` for i in ``wanted``: one running hash, linear in the prompt."""
    running = hashlib.sha256(json.dumps(request.get("model")).encode())
    keys = {}
    for i, (piece, _, _) in enumerate(pieces):
        running.update(json.dumps(piece, sort_keys=True, default=str).encode() + b"\x00")
        if i in wanted:
            keys[i] = running.copy().hexdigest()
    return keys


class PromptCache:
    """The prefixes this local API has cached, with their expiry times (thread-safe: one per server)."""

    def __init__(self) -> None:
        self._entries: dict[str, float] = {}
        self._lock = threading.Lock()

    def lookup(self, request: dict, now: float | None = None) -> Cache:
        """Read or write the request's cached prefixes; what the usage reports for it."""
        now = time.monotonic() if now is None else now
        pieces = _pieces(request)
        breakpoints = []  # (index, prefix size, ttl) for each breakpoint long enough to cache
        size = 0
        for i, (_, cost, control) in enumerate(pieces):
            size += cost  # a running total: the lookup stays linear in the request's size
            if isinstance(control, dict) and size >= MIN_TOKENS:
                breakpoints.append((i, size, str(control.get("ttl") or "5m")))
        keys = _prefix_keys(request, pieces, {i for i, _, _ in breakpoints})
        marks = [(size, keys[i], ttl) for i, size, ttl in breakpoints]
        with self._lock:
            hits = [size for size, key, _ in marks if self._entries.get(key, 0) > now]
            read = max(hits, default=0)
            created = {"5m": 0, "1h": 0}
            done = read
            for size, key, ttl in marks:
                if size > done:  # written now: the part of the prompt between the last cached point and this one
                    created["1h" if ttl == "1h" else "5m"] += size - done
                    done = size
                self._entries[key] = now + TTL_SECONDS.get(ttl, TTL_SECONDS["5m"])
        return Cache(read=read, created_5m=created["5m"], created_1h=created["1h"])
