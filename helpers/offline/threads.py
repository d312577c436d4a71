"""Server-held conversations for the beta ``thread`` field (``anthropic-beta: message-threads-2026-08-12``), which the
SDK's tool runner and ``client.beta.messages.thread(...)`` use by default.

``{"type": "create"}``: the request carries the whole history, ``system`` and ``tools``; the server keeps them with the
reply, under the reply's ``id``. ``{"type": "continue", "previous_message_id": ID}``: the request carries only the new
messages (for a paused turn, none) and no ``system`` or ``tools``; the server answers as if the held history came
first, then holds the longer history under the new reply's ``id``. An ``id`` it does not hold (never seen, expired,
evicted) gets a 404 whose ``error.details.error_code`` is ``thread_not_found``: the SDK then sends the whole history
again under a new thread. What is held is bounded: ``MAX_THREADS`` entries, ``MAX_BYTES`` in all, each forgotten
``TTL_SECONDS`` after its last use, oldest first.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict

from .validate import BadRequest, invalid

BETA = "message-threads-2026-08-12"
CREATE_ONLY = ("system", "tools")  # fields the server takes from the thread on a continue
TTL_SECONDS = 3600.0
MAX_THREADS = 1_000
MAX_BYTES = 64 * 2**20


class Threads:
    """The conversations one local API holds (thread-safe)."""

    def __init__(self, ttl: float = TTL_SECONDS, max_threads: int = MAX_THREADS, max_bytes: int = MAX_BYTES):
        self.ttl, self.max_threads, self.max_bytes = ttl, max_threads, max_bytes
        self._held: OrderedDict[str, tuple[float, int, dict]] = OrderedDict()  # id -> (expires, size, state)
        self._bytes = 0
        self._lock = threading.Lock()

    def expand(self, request: dict, betas: set[str]) -> dict:
        """The request as the model sees it: a ``continue`` gets the held history, ``system`` and ``tools`` first."""
        thread = request.get("thread")
        if thread is None:
            return request
        if BETA not in betas:
            raise invalid(f"thread: this field needs the beta header 'anthropic-beta: {BETA}'")
        if thread["type"] == "create":
            return request
        if repeated := [f for f in CREATE_ONLY if f in request]:
            raise invalid(
                f"{repeated[0]}: a thread keeps the {' and '.join(repeated)} it was created with; "
                "a continue must not send them"
            )
        previous = thread["previous_message_id"]
        held = self._get(previous)
        if held is None:
            raise BadRequest(
                404,
                "not_found_error",
                f"thread.previous_message_id: no thread holds {previous[:64]!r} (never created, or expired)",
                details={"error_code": "thread_not_found"},
            )
        return {**request, **held["fields"], "messages": [*held["messages"], *request["messages"]]}

    def remember(self, request: dict, reply: dict) -> None:
        """Hold the conversation of a threaded request, with its reply, under the reply's id (a refusal is not held)."""
        if request.get("thread") is None or reply.get("stop_reason") == "refusal":
            return
        state = {
            "messages": [*request["messages"], {"role": "assistant", "content": reply["content"]}],
            "fields": {f: request[f] for f in CREATE_ONLY if f in request},
        }
        size = len(json.dumps(state))
        with self._lock:
            self._drop(reply["id"])
            self._held[reply["id"]] = (time.monotonic() + self.ttl, size, state)
            self._bytes += size
            self._evict(time.monotonic())

    def __len__(self) -> int:
        return len(self._held)

    def _get(self, message_id: str) -> dict | None:
        with self._lock:
            now = time.monotonic()
            self._evict(now)
            entry = self._held.get(message_id)
            if entry is None:
                return None
            _, size, state = entry
            self._held[message_id] = (now + self.ttl, size, state)  # used: kept longer, and last to be evicted
            self._held.move_to_end(message_id)
            return state

    def _drop(self, message_id: str) -> None:
        if (entry := self._held.pop(message_id, None)) is not None:
            self._bytes -= entry[1]

    def _evict(self, now: float) -> None:
        """Forget the expired, then the least recently used while over either bound (amortised O(1) per call)."""
        while self._held:
            oldest, (expires, _, _) = next(iter(self._held.items()))
            over = len(self._held) > self.max_threads or self._bytes > self.max_bytes
            if expires > now and not over:
                return
            self._drop(oldest)
