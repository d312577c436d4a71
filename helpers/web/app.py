"""The relay: a FastAPI app that streams Claude's answer to a browser as Server-Sent Events.

Three pieces, in the order lesson 08 reads them:

1. :func:`relay`, an async generator: it opens the upstream stream and yields one framed SSE event per piece of text,
   then ``stop`` (stop reason and usage), or ``error``; ``done`` always comes last.
2. :func:`create_app`: hands that generator to a ``StreamingResponse`` with the headers that keep proxies from
   buffering. When the browser leaves, Starlette cancels the generator; the ``async with`` around the upstream stream
   then closes it, so the model stops generating for nobody.
3. :func:`check`: what the browser may send, with errors that say what was expected.

Before any of that, :class:`Gate` refuses requests that name another host (DNS rebinding) or come from
another site (CSRF): the relay spends the key, so only its own page and clients without a browser may use it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

import anthropic
import httpx2
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from helpers.offline.faults import API_ERROR_TYPES
from helpers.offline.sse import SSE_HEADERS

from .framing import Reader, frame

DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_MAX_TOKENS = 1024
MAX_MESSAGES = 100  # per conversation
MAX_CHARS = 32_000  # per message, and for the system prompt
MAX_TOKENS_LIMIT = 8192  # the most max_tokens a browser may ask for
MAX_BODY_BYTES = 2 * 1024 * 1024  # 2 MiB: more text than the model's context window holds
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")  # the names the relay answers to without being told
HOSTS_ENV = "COURSE_RELAY_HOSTS"  # more names, comma-separated: a hub's or proxy's public host, e.g. hub.example.org

STATIC = Path(__file__).parent / "static"

log = logging.getLogger(__name__)

# What a browser is told about an upstream failure: the error's type and one of these messages, never the
# upstream's own text (it can quote request details) and never a traceback.
ERROR_MESSAGES = {
    "overloaded_error": "The model is overloaded right now. Try again in a moment.",
    "rate_limit_error": "Too many requests for now. Wait a little, then try again.",
    "api_error": "The model API had an internal error. Try again.",
    "authentication_error": "The relay's API key was rejected. Ask whoever runs the relay to check it.",
    "permission_error": "The relay's API key may not use this model.",
    "not_found_error": "The model API does not know that model.",
    "invalid_request_error": "The model API rejected the request.",
    "request_too_large": "The conversation is too large for the model API.",
    "timeout_error": "The model API took too long to answer.",
    "api_connection_error": "The connection to the model API failed.",
    "stream_error": "The answer stream was malformed, so it stopped.",
}
UPSTREAM_ERRORS = (
    anthropic.AnthropicError,
    httpx2.HTTPError,
    ValueError,  # a malformed event's JSON
    KeyError,  # an event without a field the relay reads
    TypeError,  # ... or with a field of another type
)
RawEvents = anthropic.AsyncStream[object]  # the stream's events as the JSON sent them (dicts)


class StreamErrorEvent(Exception):
    """An ``event: error`` inside the upstream's 200 stream (what the SDK raises as ``APIStatusError``)."""

    def __init__(self, data: str):
        body = json.loads(data)  # malformed JSON: a ValueError, reported as a stream error
        self.type = str((body.get("error") or {}).get("type") or "api_error") if isinstance(body, dict) else "api_error"
        super().__init__(self.type)


def error_event(exc: Exception) -> dict:
    """The ``error`` event's data for an upstream failure: ``{"type": ..., "message": ...}``."""
    if isinstance(exc, (anthropic.APIStatusError, StreamErrorEvent)):
        kind = exc.type or "api_error"
    elif isinstance(exc, (anthropic.APITimeoutError, httpx2.TimeoutException)):
        kind = "timeout_error"
    elif isinstance(exc, (anthropic.APIConnectionError, httpx2.HTTPError)):
        kind = "api_connection_error"
    else:
        kind = "stream_error"
    return {"type": kind, "message": ERROR_MESSAGES.get(kind, "The model API returned an error.")}


TEXT_HEAD, TEXT_TAIL = b'event: text\ndata: {"text":', b"}\n\n"
_as_json_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) does to a str, without its setup


def text_frame(text: str) -> bytes:
    """``frame("text", {"text": text})``, byte for byte, at a fraction of its cost: it runs once per token."""
    return TEXT_HEAD + _as_json_string(text).encode() + TEXT_TAIL


async def relay(client: anthropic.AsyncAnthropic, request: dict) -> AsyncIterator[bytes]:
    """Claude's answer as SSE: ``text``…, ``stop``, ``done``; or, on failure, ``error`` then ``done``.

    Lesson 08 writes this with ``messages.stream()`` and its ``text_stream``. The relay asks for the same stream
    through the SDK (``client.post(..., stream=True)``: its retries and status errors are the same), then reads the
    response's SSE lines itself and parses the JSON of only the events it uses (text deltas, the stop reason, the
    usage); an ``event: error`` becomes the same error event. No ``Message`` accumulated, no typed event built per
    delta that nobody here reads. CPU per relayed event on one core (bench/relay.py, beside a byte pass-through, the
    floor): this 1.24-1.30x the floor, the SDK's raw events as dicts 1.35x in the same session,
    ``messages.create(stream=True)``'s typed events about 1.7x, the lesson's idiom with ``EventSourceResponse``
    2.7x. One core serves 150-200 streams at 50 tokens/s (README, Figures).
    """
    try:
        upstream = await client.post(
            "/v1/messages", body={**request, "stream": True}, cast_to=object, stream=True, stream_cls=RawEvents
        )
        async with upstream:  # closed when the browser leaves: Starlette cancels this generator
            usage, stop_reason, reader = {"input_tokens": 0, "output_tokens": 0}, None, Reader()
            async for chunk in upstream.response.aiter_bytes():
                texts = []  # the text events this chunk completes go out in one write, as the floor's bytes do
                for event in reader.feed(chunk):
                    kind = event.event
                    if kind == "content_block_delta":
                        delta = json.loads(event.data)["delta"]
                        if delta["type"] == "text_delta":
                            texts.append(text_frame(delta["text"]))
                    elif kind == "message_start":
                        started = json.loads(event.data)["message"]["usage"]
                        usage["input_tokens"], usage["output_tokens"] = (
                            started["input_tokens"],
                            started["output_tokens"],
                        )
                    elif kind == "message_delta":
                        data = json.loads(event.data)
                        stop_reason = data["delta"]["stop_reason"]
                        usage["output_tokens"] = data["usage"]["output_tokens"]
                        if data["usage"].get("input_tokens") is not None:  # cumulative, when the API sends it
                            usage["input_tokens"] = data["usage"]["input_tokens"]
                    elif kind == "error":
                        if texts:
                            yield b"".join(texts)  # what arrived before the error is the browser's to keep
                        raise StreamErrorEvent(event.data)
                if texts:
                    yield b"".join(texts)
        yield frame("stop", {"stop_reason": stop_reason, "usage": usage})
    except (*UPSTREAM_ERRORS, StreamErrorEvent) as exc:  # before the first token or mid-stream: the browser keeps it
        log.info("upstream failed: %r", exc)
        yield frame("error", error_event(exc))
    yield frame("done", {})


# ---------------------------------------------------------------------------------------------------------------------
# Who may ask: the relay's own host name, and its own page or a client outside a browser


def error_response(status: int, kind: str, message: str) -> JSONResponse:
    """A refusal in the Messages API's own error shape: ``{"type": "error", "error": {"type", "message"}}``."""
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status_code=status)


def public_hosts(names: Iterable[str] = ()) -> tuple[str, ...]:
    """Host names the relay answers to besides loopback: ``names`` and those in ``$COURSE_RELAY_HOSTS``
    (comma-separated). Each is a host without scheme or port (``hub.example.org``), or ``*.example.org`` for every
    name under it, or ``*`` for any name: only for a relay no browser reaches but through a proxy, such as one in a
    hub's container (DNS rebinding reaches the browser's own machine). Raises ValueError for anything else."""
    hosts = []
    for name in (n.strip().lower() for n in [*names, *os.environ.get(HOSTS_ENV, "").split(",")]):
        bare = name.removeprefix("*.")
        if name not in ("", "*") and (not bare or any(c in bare for c in "/:*@ ")):
            raise ValueError(
                f"allowed host {name!r}: expected a host name such as 'hub.example.org' or '*.example.org' "
                "(no scheme, port or path)"
            )
        if name:
            hosts.append(name)
    return tuple(dict.fromkeys(hosts))


def _hostname(netloc: str) -> str:
    """The host name in ``host[:port]``, lowercased; "" if it is malformed."""
    try:
        parts = urlsplit("//" + netloc)
        _ = parts.port  # ValueError unless a number from 0 to 65535
    except ValueError:
        return ""
    return parts.hostname or ""


def _host_matches(host: str, patterns: Iterable[str]) -> bool:
    return any(p in (host, "*") or (p.startswith("*.") and host.endswith(p[1:])) for p in patterns)


def _shown(value: str) -> str:
    return repr(value[:100])


class Gate:
    """ASGI middleware, in front of everything else: refuse what another site or another host name asks of the relay,
    and a body announced too large, before any route runs or any byte of the body is read.

    - **Host** must be a loopback name or one of ``public_hosts`` (421 otherwise). A DNS-rebinding page reaches
      127.0.0.1 under its own name (``attacker.example``), so its requests carry that name. The port is not checked:
      behind a notebook server's proxy the Host is the notebook server's.
    - **Cross-site** requests get 403, except a plain visit to the page and its files (``GET /``, ``/static/…``),
      which spend nothing. A browser says where a request comes from in ``Sec-Fetch-Site`` (scripts cannot set it):
      only ``same-origin`` and ``none`` (the user typed the address) pass. A browser too old to send it sends
      ``Origin`` with every cross-site request that can start a stream; it must name this host or a public one. A
      request with neither comes from outside a browser (curl, httpx, the SDK): it needs no trick to reach 127.0.0.1.
    - **Content-Length** over ``MAX_BODY_BYTES`` gets 413 here, in the API's error shape; a body sent without a length
      is counted by FastAPI's own limit (``max_body_size``), whose 413 the app's handler words the same way.
    """

    def __init__(self, app: ASGIApp, public_hosts: Iterable[str] = ()):
        self.app = app
        self.public_hosts = tuple(public_hosts)
        self.hosts = LOOPBACK_HOSTS + self.public_hosts
        self.public_origins = tuple(h for h in self.public_hosts if h != "*")  # "*" names no site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (refusal := self.refusal(Headers(scope=scope), scope["method"], scope["path"])):
            log.info("refused %s %s with %d: %s", scope["method"], scope["path"], refusal[0], refusal[2])
            await error_response(*refusal)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, headers: Headers, method: str, path: str) -> tuple[int, str, str] | None:
        """``(status, error type, message)`` for a request to refuse, else ``None``."""
        host = headers.get("host", "")
        if not _host_matches(_hostname(host), self.hosts):
            return (
                421,
                "invalid_request_error",
                f"Host {_shown(host)} is not a name this relay answers to (it answers to {', '.join(self.hosts)}). "
                f"Behind a proxy or hub, add its public host name with --allow-host or ${HOSTS_ENV}.",
            )
        if not (method in ("GET", "HEAD") and (path == "/" or path.startswith("/static/"))):
            if where := self.elsewhere(headers, host):
                return 403, "permission_error", f"refused a request from another site ({where})"
        length = headers.get("content-length", "0")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return 413, "request_too_large", f"request body: at most {MAX_BODY_BYTES:,} bytes, got {int(length):,}"
        return None

    def elsewhere(self, headers: Headers, host: str) -> str | None:
        """The header that shows a request comes from another site, or ``None``."""
        if (site := headers.get("sec-fetch-site")) is not None:
            return None if site in ("same-origin", "none") else f"Sec-Fetch-Site: {_shown(site)}"
        if (origin := headers.get("origin")) is None:
            return None
        netloc = origin.partition("://")[2]
        if netloc.lower() == host.lower() or _host_matches(_hostname(netloc), self.public_origins):
            return None
        return f"Origin: {_shown(origin)}"


class _Relay(FastAPI):
    """FastAPI with the :class:`Gate` outermost: in front of the framework's body limit, whose own 413 for a body
    announced too large is plain text."""

    def __init__(self, public_hosts: tuple[str, ...], **options):
        super().__init__(**options)
        self.public_hosts = public_hosts

    def build_middleware_stack(self) -> ASGIApp:
        return Gate(super().build_middleware_stack(), self.public_hosts)


# ---------------------------------------------------------------------------------------------------------------------
# Input


class BadInput(Exception):
    """A request the relay refuses, with the HTTP status and a message naming what was expected."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def check(body: object, model: str = DEFAULT_MODEL, max_tokens: int = DEFAULT_MAX_TOKENS) -> dict:
    """Turn a ``POST /chat`` body into ``messages.stream()`` arguments, or raise :class:`BadInput`."""
    if not isinstance(body, dict):
        raise BadInput('body: expected a JSON object like {"messages": [{"role": "user", "content": "Hi"}]}')
    if unknown := set(body) - {"messages", "system", "model", "max_tokens"}:
        raise BadInput(
            f"unknown field {sorted(unknown)[0]!r}: expected messages, and optionally system, model, max_tokens"
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadInput('messages: expected a non-empty list of {"role": "user" | "assistant", "content": "text"}')
    if len(messages) > MAX_MESSAGES:
        raise BadInput(f"messages: at most {MAX_MESSAGES} messages, got {len(messages)}", 413)
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            raise BadInput(f'messages[{i}]: expected {{"role": ..., "content": ...}} and nothing else')
        if message["role"] not in ("user", "assistant"):
            raise BadInput(f"messages[{i}].role: expected 'user' or 'assistant', got {message['role']!r}")
        _check_text(f"messages[{i}].content", message["content"])
    if messages[-1]["role"] != "user":
        raise BadInput("messages: the last message must be the user's (the relay asks Claude to answer it)")
    request = {"model": model, "max_tokens": max_tokens, "messages": messages}
    if "system" in body:
        request["system"] = _check_text("system", body["system"])
    if "model" in body:
        if not isinstance(body["model"], str) or not 0 < len(body["model"]) <= 100:
            raise BadInput("model: expected a model name such as 'claude-sonnet-4-6'")
        request["model"] = body["model"]
    if "max_tokens" in body:
        value = body["max_tokens"]
        if type(value) is not int or not 1 <= value <= MAX_TOKENS_LIMIT:
            raise BadInput(f"max_tokens: expected a whole number from 1 to {MAX_TOKENS_LIMIT}, got {value!r}")
        request["max_tokens"] = value
    return request


def _check_text(where: str, value: object) -> str:
    if not isinstance(value, str):
        raise BadInput(f"{where}: expected a string, got {type(value).__name__}")
    if not value.strip():
        raise BadInput(f"{where}: must not be empty")
    if len(value) > MAX_CHARS:
        raise BadInput(f"{where}: at most {MAX_CHARS:,} characters, got {len(value):,}", 413)
    return value


async def _read_json(request: Request) -> object:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise BadInput(f"Content-Type: expected application/json, got {_shown(media_type or 'none')}", 415)
    body = await request.body()  # FastAPI's max_body_size answers 413 past MAX_BODY_BYTES
    try:
        return json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        raise BadInput('body: not valid JSON; expected {"messages": [{"role": "user", "content": "Hi"}]}') from None
    except RecursionError:
        raise BadInput("body: JSON nested too deeply; expected a conversation, a few levels deep") from None


# ---------------------------------------------------------------------------------------------------------------------
# The app


def _default_client() -> anthropic.AsyncAnthropic:
    from helpers.connect import async_client

    return async_client(quiet=True)  # live or offline, whichever is configured


def create_app(
    client_factory: Callable[[], anthropic.AsyncAnthropic] | None = None,
    *,
    model: str = DEFAULT_MODEL,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    accel_buffering_header: bool = True,
    allowed_hosts: Iterable[str] = (),
) -> FastAPI:
    """The relay app. ``client_factory`` makes the upstream client on the first request (default: the configured
    mode's ``AsyncAnthropic``). ``accel_buffering_header=False`` drops ``X-Accel-Buffering: no``, to show what a
    buffering proxy then does. ``allowed_hosts``: public host names to answer to besides loopback and
    ``$COURSE_RELAY_HOSTS`` (see :func:`public_hosts`).
    """
    app = _Relay(
        public_hosts(allowed_hosts),
        title="Claude streaming relay",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        max_body_size=MAX_BODY_BYTES,  # bodies sent without a Content-Length; the Gate refuses announced ones
    )
    headers = SSE_HEADERS if accel_buffering_header else {"cache-control": SSE_HEADERS["cache-control"]}
    clients: list[anthropic.AsyncAnthropic] = []

    def stream(request: dict) -> StreamingResponse:
        if not clients:
            clients.append((client_factory or _default_client)())
        return StreamingResponse(relay(clients[0], request), media_type="text/event-stream", headers=headers)

    @app.exception_handler(BadInput)
    async def bad_input(_request: Request, exc: BadInput) -> JSONResponse:
        return error_response(exc.status, API_ERROR_TYPES.get(exc.status, "invalid_request_error"), str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(
        _request: Request, exc: HTTPException
    ) -> JSONResponse:  # 404, 405, and 413 from the body limit
        message = f"request body: at most {MAX_BODY_BYTES:,} bytes" if exc.status_code == 413 else exc.detail
        return error_response(exc.status_code, API_ERROR_TYPES.get(exc.status_code, "invalid_request_error"), message)

    @app.exception_handler(ClientDisconnect)
    async def client_left(request: Request, _exc: ClientDisconnect) -> JSONResponse:
        log.warning("client left before sending the whole request: %s %s", request.method, request.url.path)
        return error_response(400, "invalid_request_error", "the request body was cut off")  # nobody reads it

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/chat")
    async def chat_get(message: str = "") -> StreamingResponse:
        """The tutorial's endpoint, for ``EventSource``: one user message in the query string.

        Close the EventSource on ``done``: when a stream ends, EventSource reconnects and would ask again.
        """
        _check_text("message", message)
        return stream(check({"messages": [{"role": "user", "content": message}]}, model, max_tokens))

    @app.post("/chat")
    async def chat_post(request: Request) -> StreamingResponse:
        """A whole conversation as JSON, for ``fetch`` and a ``ReadableStream`` reader."""
        return stream(check(await _read_json(request), model, max_tokens))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
