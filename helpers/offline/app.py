"""The local Messages API as an ASGI app: validation, scripted or replayed streams, pacing, faults, stats.

It speaks the real API's wire protocol, so the real SDK, real HTTP and real SSE parsing are exercised.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

from helpers.models import SPECS, catalogue, model_info
from helpers.net import LOOPBACK_HOSTS, hostname_of

from . import faults as faults_mod
from . import router, sse, tool_errors, wire
from .caching import PromptCache
from .cassettes import key as cassette_key
from .cassettes import lookup as cassette_for
from .cassettes import replayable
from .ratelimit import RETRY_AFTER, RateLimits
from .read import input_tokens
from .threads import Threads
from .validate import API_MAX_BODY_BYTES, BadRequest, validate

log = logging.getLogger("helpers.offline")  # INFO only: the background server must print nothing in a notebook

# Who a request is for, when one server answers many people's clients (the class gateway sets it to the learner's
# name): a counted fault (http:STATUS*K) counts each client's attempts apart, so one learner's retries are not
# spent by another's running the same lesson at the same time.
CLIENT_HEADER = "x-offline-client"
STREAM_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    *((name.encode(), value.encode()) for name, value in sse.SSE_HEADERS.items()),
]


GARBAGE = (
    b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_de\n\n'
)


class DropConnection(Exception):
    """Raised inside the app to make the server close the connection abruptly (the ``drop@N`` fault)."""


# ---------------------------------------------------------------------------------------------------------------------
# Pacing


MIN_RATE, MAX_RATE = 1.0, 1_000_000.0  # tokens per second a pace may ask for: slower would hold a stream for hours


@dataclass(frozen=True)
class Pace:
    """``realistic`` (TTFT 0.4-0.9 s, about 50-70 tokens/s with jitter), ``instant``, or a rate in tokens/s."""

    mode: str = "realistic"
    rate: float = 60.0
    prefill_rate: float = 5000.0  # realistic: uncached input tokens past the first 1000 read per second before TTFT

    @classmethod
    def parse(cls, spec: str | float | None) -> Pace:
        text = str(spec or "realistic").strip().lower()
        if text in {"realistic", "instant"}:
            return cls(text)
        try:
            rate = float(text)
        except ValueError:
            rate = math.nan
        if not MIN_RATE <= rate <= MAX_RATE:  # also refuses nan and inf
            raise ValueError(
                f"unknown pace {spec!r}: expected 'instant', 'realistic' or tokens per second "
                f"(a number from {MIN_RATE:g} to {MAX_RATE:,g})"
            )
        return cls("rate", rate)

    def delays(self, events: list[wire.Event], seed: str) -> list[float]:
        """Seconds to wait before each event; deterministic in ``seed``."""
        if self.mode == "instant":
            return [0.0] * len(events)
        rng = random.Random(seed)
        rate = rng.uniform(50, 70) if self.mode == "realistic" else self.rate
        ttft = rng.uniform(0.4, 0.9)  # a paced stream (any rate) waits for its first token as the real API does
        if self.mode == "realistic" and events and events[0].name == "message_start":
            usage = (events[0].data.get("message") or {}).get("usage") or {}  # a replayed stream carries none here
            uncached = usage.get("input_tokens", 0) + usage.get("cache_creation_input_tokens", 0)
            ttft += max(uncached - 1000, 0) / self.prefill_rate  # a cached prefix is read, not recomputed
        out, first = [], True
        for ev in events:
            if (
                self.mode == "realistic"
                and ev.name == "content_block_start"
                and ev.data.get("content_block", {}).get("type", "").endswith("_tool_result")
            ):
                out.append(rng.uniform(0.8, 1.6))  # a server tool (a web search, a fetch) takes a moment to run
            elif ev.tokens and first:
                out.append(ttft)
                first = False
            elif ev.tokens:
                jitter = rng.uniform(0.6, 1.4) if self.mode == "realistic" else 1.0
                out.append(ev.tokens / rate * jitter)
            else:
                out.append(0.0)
        return out


# ---------------------------------------------------------------------------------------------------------------------
# Configuration and counters


@dataclass
class Stats:
    requests: int = 0
    streams_started: int = 0
    streams_completed: int = 0
    streams_cut_by_client: int = 0
    streams_failed_by_fault: int = 0
    streams_replayed: int = 0  # served from --replay or a cassette
    streams_forced: int = 0  # streams a fault rewrote (stop:REASON, badjson@N): scripted even where recordings exist
    uploads_cut_by_client: int = 0  # clients that left before their request body arrived
    events_sent: int = 0
    last_cut_at: float | None = None  # time.time() when a client last left mid-stream

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Config:
    pace: Pace = field(default_factory=Pace)
    faults: str = ""  # applied to every request that has no x-offline-fault header
    replay: bytes | None = None  # one recorded SSE body served to every streaming request
    cassettes: Path | None = None  # recorded streams served to the requests they were recorded for


# ---------------------------------------------------------------------------------------------------------------------
# The ASGI app


@dataclass
class Answer:
    """What a messages request gets: a whole ``message`` after ``wait`` seconds, or a stream's ``chunks`` (bytes and
    event name) each after its delay; ``input_tokens`` for the rate-limit headers."""

    input_tokens: int
    message: dict | None = None
    wait: float = 0.0
    chunks: list = field(default_factory=list)
    delays: list = field(default_factory=list)
    replayed: bool = False  # from a recording


class LocalMessagesAPI:
    """The local Messages API as an ASGI app. ``hosts``: the Host names it answers to besides loopback (``"*"``: any);
    any other gets 421 before anything runs, so a page on another site cannot reach it through a rebound name."""

    def __init__(self, config: Config | None = None, hosts: tuple[str, ...] = ()):
        self.config = config or Config()
        self.hosts = LOOPBACK_HOSTS + hosts
        self.stats = Stats()
        self.cache = PromptCache()  # prompt-cache prefixes this server has seen
        self.threads = Threads()  # conversations held for the beta ``thread`` field
        self.attempts = faults_mod.Attempts()  # requests each counted fault (http:STATUS*K) has seen
        self.limits = RateLimits()  # what the anthropic-ratelimit-* headers say
        self._answered: OrderedDict[str, int] = OrderedDict()  # how often each request was answered (ids' nonce)
        self._answered_lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}  # any bytes
        request_id = wire.make_id("req_", f"{time.time_ns()}{id(scope)}")
        if "*" not in self.hosts and hostname_of(host := headers.get("host", "")) not in self.hosts:
            message = f"Host {host[:100]!r} is not a name this local API answers to: expected one of {list(self.hosts)}"
            await _json(send, 421, faults_mod.error_body("invalid_request_error", message, request_id), request_id)
            return
        if path.startswith("/v1/"):  # every endpoint the SDK calls: size limit, faults, then the answer
            try:
                await self._api(scope, path, method, headers, request_id, receive, send)
            except BadRequest as err:
                body = faults_mod.error_body(err.error_type, err.message, request_id)
                if err.details:
                    body["error"]["details"] = err.details
                await _json(send, err.status, body, request_id)
            except ClientLeft as left:
                self.stats.uploads_cut_by_client += 1
                client = ":".join(map(str, scope.get("client") or ("?",)))
                log.info("client %s left after sending %d bytes of %s %s", client, left.received, method, path)
        elif path == "/_offline/stats" and method == "GET":
            await _json(send, 200, self.stats.as_dict(), request_id)
        elif path == "/" and method == "GET":
            await _json(
                send,
                200,
                {
                    "service": "offline Messages API",
                    "endpoints": [
                        "POST /v1/messages",
                        "POST /v1/messages/count_tokens",
                        "GET /v1/models",
                        "GET /v1/models/{model_id}",
                        "GET /_offline/stats",
                    ],
                },
                request_id,
            )
        else:
            await _json(
                send,
                404,
                faults_mod.error_body("not_found_error", f"Not found: {method} {path}", request_id),
                request_id,
            )

    async def _api(self, scope, path: str, method: str, headers: dict, request_id: str, receive, send):
        posted = method == "POST" and path in {"/v1/messages", "/v1/messages/count_tokens"}
        if posted:
            self.stats.requests += path == "/v1/messages"
            body = await _read_body(receive, headers, API_MAX_BODY_BYTES)
        spec = headers.get("x-offline-fault", self.config.faults)
        try:
            fault = faults_mod.parse(spec)
        except ValueError as err:
            raise BadRequest(400, "invalid_request_error", f"x-offline-fault: {err}") from None
        first = _retry_count(headers) == 0 and "x-stainless-retry-count" in headers  # an SDK's first attempt
        counted = f"{headers.get(CLIENT_HEADER, '')[:200]}|{spec}"  # each client's retries are its own
        if fault.status is not None and (status := fault.http_status(self.attempts.attempt(fault, counted, first))):
            error_type = faults_mod.API_ERROR_TYPES.get(status, "api_error")
            extra = [(b"x-should-retry", b"true")] if status in {429, 500, 529} else []
            if status in {429, 529}:
                extra.append((b"retry-after", str(RETRY_AFTER).encode()))
            if path == "/v1/messages":
                extra += self.limits.headers(0, 0, spent=status == 429)
            await _json(send, status, faults_mod.error_body(error_type, None, request_id), request_id, extra)
        elif posted:
            # The anthropic-beta header decides, as on the real API (current SDKs send no ?beta=true).
            betas = {b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()}
            # Reading a request takes time in proportion to its prompt (seconds for a 30 MB one): in a worker thread,
            # so the streams in flight go on meanwhile. On one event loop, one learner's big prompts sent to the
            # class's local API (through the gateway) held every other learner's stream up for as long as they came.
            if path == "/v1/messages":
                request = await asyncio.to_thread(validate, body, bool(betas), lambda r: self.threads.expand(r, betas))
                await self._messages(request, fault, headers, request_id, receive, send)
            else:
                request = await asyncio.to_thread(validate, body, bool(betas), endpoint="count_tokens")
                counted_tokens = await asyncio.to_thread(input_tokens, request)
                await _json(send, 200, {"input_tokens": counted_tokens}, request_id)
        elif path == "/v1/models" and method == "GET":
            await _json(send, 200, _models_page(scope.get("query_string", b"")), request_id)
        elif path.startswith("/v1/models/") and method == "GET":
            model = path.removeprefix("/v1/models/")
            if model not in SPECS:
                raise BadRequest(404, "not_found_error", f"model: {model}")
            await _json(send, 200, model_info(model), request_id)
        else:
            raise BadRequest(404, "not_found_error", f"Not found: {method} {path}")

    def _nonce(self, seed: str) -> str:
        """ "" the first time this server answers a request, then "#1", "#2", ...: the ids of each answer differ (as
        the API's are unique) while a fresh server answers a lesson's requests with the same ids every run."""
        with self._answered_lock:
            n = self._answered.pop(seed, 0)
            self._answered[seed] = n + 1
            while len(self._answered) > MAX_REMEMBERED:
                self._answered.popitem(last=False)
        return f"#{n}" if n else ""

    async def _messages(self, request: dict, fault, headers: dict, request_id: str, receive, send):
        try:
            pace = Pace.parse(headers["x-offline-pace"]) if "x-offline-pace" in headers else self.config.pace
        except ValueError as err:
            raise BadRequest(400, "invalid_request_error", f"x-offline-pace: {err}") from None
        # Non-streaming requests, and streams whose content a fault rewrites (a forced stop reason, broken tool JSON),
        # get the scripted answer: a recording cannot show what the fault asks for.
        rewrites = fault.stop_reason is not None or fault.badjson_at is not None or fault.tool_error is not None
        self.stats.streams_forced += bool(request.get("stream") and rewrites)
        answer = await asyncio.to_thread(self._answer, request, fault, pace, rewrites)  # as validate: off the loop
        limits = self.limits.headers(answer.input_tokens, int(request["max_tokens"]))
        if answer.message is not None:
            await asyncio.sleep(answer.wait)
            await _json(send, 200, answer.message, request_id, limits)
            return
        self.stats.streams_replayed += answer.replayed
        await self._stream(answer.chunks, answer.delays, fault, request_id, receive, send, limits)

    def _answer(self, request: dict, fault, pace: Pace, rewrites: bool) -> Answer:
        """What to send for ``request``, built in a worker thread: a whole message, or a stream's chunks and delays."""
        seed = wire.fingerprint(request)
        tokens_in = input_tokens(request)
        recorded = self._recorded(request) if request.get("stream") and not rewrites else None
        if recorded:
            chunks = [(e.raw, e.event) for e in recorded]
            delays = pace.delays([wire.Event(e.event or "", {}, _replay_cost(e)) for e in recorded], seed)
            return Answer(tokens_in, chunks=chunks, delays=delays, replayed=True)
        reply = router.choose(request)
        if fault.tool_error:
            reply = tool_errors.fail_tools(reply, fault.tool_error)
        events = wire.events(request, reply, self.cache.lookup(request), self._nonce(seed))
        self.threads.remember(request, wire.message(events))
        if fault.stop_reason:
            events = wire.end_early(events, fault.stop_reason, fault.stop_at, request)
        if fault.badjson_at is not None:
            events = wire.break_json(events, fault.badjson_at)
        if not request.get("stream"):
            return Answer(tokens_in, message=wire.message(events), wait=sum(pace.delays(events, seed)))
        return Answer(
            tokens_in, chunks=[(sse.encode(e.name, e.data), e.name) for e in events], delays=pace.delays(events, seed)
        )

    def _recorded(self, request: dict) -> list[sse.RawEvent] | None:
        if self.config.cassettes is not None:
            if body := cassette_for(self.config.cassettes, request):
                try:
                    return replayable(body, f"cassette {cassette_key(request)}.sse")
                except ValueError as err:  # a file put in the folder after start: the operator's to fix
                    raise BadRequest(500, "api_error", str(err)) from None
        if self.config.replay is not None:
            return sse.split(self.config.replay)
        return None

    async def _stream(self, chunks, delays, fault, request_id, receive, send, extra=()):
        stats = self.stats
        stats.streams_started += 1
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*STREAM_HEADERS, (b"request-id", request_id.encode()), *extra],
            }
        )
        producer = asyncio.create_task(self._produce(chunks, delays, fault, send, request_id))
        watcher = asyncio.create_task(_wait_disconnect(receive))
        done, _ = await asyncio.wait({producer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if watcher in done and not producer.done():
            producer.cancel()
            stats.streams_cut_by_client += 1
            stats.last_cut_at = time.time()
            await asyncio.gather(producer, return_exceptions=True)
            return
        watcher.cancel()
        try:
            outcome = producer.result()
        except OSError:  # the client went away while we were writing
            stats.streams_cut_by_client += 1
            stats.last_cut_at = time.time()
            return
        if outcome == "drop":
            stats.streams_failed_by_fault += 1
            raise DropConnection("drop fault: closing the connection mid-stream")
        if outcome == "error":
            stats.streams_failed_by_fault += 1
        else:
            stats.streams_completed += 1
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _produce(self, chunks, delays, fault, send, request_id: str = "") -> str:
        """Send the events, paced; events due at the same moment go out in one write (instant pace is fast)."""
        batch: list[bytes] = []

        async def flush() -> None:
            if batch:
                await send({"type": "http.response.body", "body": b"".join(batch), "more_body": True})
                self.stats.events_sent += len(batch)
                batch.clear()
            await asyncio.sleep(0)  # lets a disconnect be noticed before the next write

        for n, ((raw, _name), delay) in enumerate(zip(chunks, delays, strict=True)):
            if n in {fault.drop_at, fault.error_at, fault.stall_at, fault.garbage_at} or delay or len(batch) >= 32:
                await flush()
            if fault.drop_at == n:
                return "drop"
            if fault.error_at == n:
                body = faults_mod.error_body(fault.error_type, None, request_id)  # as the API sends it mid-stream
                body["error"] = {"details": None, **body["error"]}
                batch.append(sse.encode("error", body))
                await flush()
                return "error"
            if fault.stall_at == n:
                await asyncio.sleep(fault.stall_seconds)
            if fault.garbage_at == n:
                await send({"type": "http.response.body", "body": GARBAGE, "more_body": True})
            if delay:
                await asyncio.sleep(delay)
            batch.append(raw)
        await flush()
        return "drop" if fault.drop_at == len(chunks) else "done"


MAX_REMEMBERED = 10_000  # requests whose answer count a server keeps (least recently answered forgotten first)
MODELS_PAGE = (1, 1000, 20)  # GET /v1/models: limit's least, most and default, as the API's


def _models_page(query: bytes) -> dict:
    """One page of ``GET /v1/models`` (newest first): ``limit``, and ``after_id`` or ``before_id`` to page."""
    try:
        params = {k: v[-1] for k, v in parse_qs(query.decode("latin-1"), keep_blank_values=True).items()}
    except ValueError:
        params = {}
    least, most, default = MODELS_PAGE
    text = params.get("limit", str(default))
    if not (text.isascii() and text.isdigit() and least <= int(text) <= most):
        raise BadRequest(400, "invalid_request_error", f"limit: expected a whole number from {least} to {most}")
    limit, ids = int(text), catalogue()
    for key in ("after_id", "before_id"):
        if key in params and params[key] not in ids:
            raise BadRequest(400, "invalid_request_error", f"{key}: no model has the id {params[key][:100]!r}")
    if "before_id" in params:
        end = ids.index(params["before_id"])
        chosen, has_more = ids[max(end - limit, 0) : end], end - limit > 0
    else:
        start = ids.index(params["after_id"]) + 1 if "after_id" in params else 0
        chosen, has_more = ids[start : start + limit], start + limit < len(ids)
    data = [model_info(m) for m in chosen]
    return {
        "data": data,
        "has_more": has_more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def _replay_cost(event: sse.RawEvent) -> int:
    """Output tokens a recorded event carries, for pacing a replay. A recording is served as it is, however malformed
    (clients are tested against crafted streams): what this cannot read costs one token."""
    if event.event != "content_block_delta":
        return 0
    try:
        delta = json.loads(event.data)["delta"]
        pieces = [delta.get(field) for field in ("text", "thinking", "partial_json")]
    except (ValueError, KeyError, TypeError, AttributeError):  # not JSON, no delta, a delta that is not an object
        return 1
    return max(1, wire.count_tokens(next((p for p in pieces if isinstance(p, str) and p), "")))


async def _wait_disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class ClientLeft(Exception):
    """The client disconnected before its request body arrived (logged in one line, never a traceback)."""

    def __init__(self, received: int):
        super().__init__(f"client left after {received} bytes")
        self.received = received


async def _read_body(receive, headers: dict, limit: int) -> bytes:
    """The request body in linear time; 413 ``request_too_large`` past ``limit`` bytes (declared or sent)."""
    too_large = BadRequest(413, "request_too_large", faults_mod.MESSAGES["request_too_large"])
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large  # refused before reading: uvicorn discards the rest of the upload
    parts, received = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientLeft(received)
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise too_large
        parts.append(chunk)
        if not message.get("more_body"):
            return b"".join(parts)


def _retry_count(headers: dict) -> int:
    """Which attempt this is, from the SDK's ``x-stainless-retry-count`` (0 when the client sends none)."""
    text = headers.get("x-stainless-retry-count", "0").strip() or "0"
    if not (text.isascii() and text.isdigit()):
        raise BadRequest(
            400, "invalid_request_error", f"x-stainless-retry-count: expected a whole number, got {text[:40]!r}"
        )
    return int(text)


async def _json(send, status: int, payload: dict, request_id: str, extra: list | None = None) -> None:
    data = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"request-id", request_id.encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
