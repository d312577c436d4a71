"""The relay: a FastAPI app that streams Claude's answer to a browser as Server-Sent Events.

Three pieces, in the order lesson 08 reads them:

1. :func:`relay`, an async generator: it opens the upstream stream and yields one framed SSE event per piece of text,
   then ``stop`` (stop reason and usage), or ``error``; ``done`` always comes last.
2. :func:`create_app`: hands that generator to a ``StreamingResponse`` with the headers that keep proxies from
   buffering. When the browser leaves, Starlette cancels the generator; the ``async with`` around the upstream stream
   then closes it, so the model stops generating for nobody.
3. :func:`chat_request`: what the browser may send, with errors that say what was expected.

Before any of that, :class:`~helpers.web.gate.Gate` refuses requests that name another host (DNS rebinding) or
that another site could have made (CSRF): the relay spends the key, so a stream starts only for a JSON ``POST`` or for
a ``GET`` that carries the token of the relay's own page.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import anthropic
import httpx2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp

from helpers.models import DEFAULT_MODEL
from helpers.offline.faults import API_ERROR_TYPES
from helpers.offline.sse import SSE_HEADERS

from .framing import Reader, frame
from .gate import MAX_BODY_BYTES, Gate, PageTokens, error_response, public_hosts

DEFAULT_MAX_TOKENS = 1024
MAX_MESSAGES = 100  # per conversation
MAX_CHARS = 32_000  # per message, and for the system prompt
MAX_TOKENS_LIMIT = 8192  # the most max_tokens a browser may ask for

STATIC = Path(__file__).parent / "static"
PAGE_TOKEN_SLOT = '<meta name="chat-token" content="">'  # in static/index.html; the page route fills it in
# No plugin, no <base> that would move the page's relative URLs (its scripts, `chat`), no form sent elsewhere, and
# no other site's page may frame it (clickjacking). Nothing from a stream becomes markup (chat.js writes text nodes).
# (script-src 'self' would fit the page too, but Playwright's waits evaluate strings, which it forbids.)
PAGE_CSP = "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

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
SERVER_ERROR = {  # the relay's own bug, not the upstream's: its log has the traceback
    "type": "server_error",
    "message": "The relay itself failed (a bug; its log says where). Try again, or tell whoever runs it.",
}
UNREADABLE = (
    ValueError,  # a malformed event's JSON, or bytes that are not UTF-8
    KeyError,  # an event without a field the relay reads
    TypeError,  # ... or with a field of another type
)  # raised while reading what the upstream sent: the upstream's fault, not a bug of the relay
RawEvents = anthropic.AsyncStream[object]  # the stream's events as the JSON sent them (dicts)


class StreamErrorEvent(Exception):
    """An ``event: error`` inside the upstream's 200 stream (what the SDK raises as ``APIStatusError``)."""

    def __init__(self, data: str):
        body = json.loads(data)  # malformed JSON: a ValueError, reported as a stream error
        error = body.get("error") if isinstance(body, dict) else None
        self.type = str(error.get("type") or "api_error") if isinstance(error, dict) else "api_error"
        super().__init__(self.type)


class MalformedEvent(Exception):
    """An upstream event the relay cannot read: the error it raised while reading it is the ``__cause__``."""


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


_SURROGATE = re.compile("[\ud800-\udfff]")


def text_frame(text: str) -> bytes:
    """``frame("text", {"text": text})``, byte for byte, at a fraction of its cost: it runs once per token. A lone
    surrogate (valid in JSON's ``\\ud800``, but no character) becomes U+FFFD, so the rest of the text still arrives."""
    try:
        return TEXT_HEAD + _as_json_string(text).encode() + TEXT_TAIL
    except UnicodeEncodeError:
        return TEXT_HEAD + _as_json_string(_SURROGATE.sub("\ufffd", text)).encode() + TEXT_TAIL


async def relay(client: anthropic.AsyncAnthropic, request: dict) -> AsyncIterator[bytes]:
    """Claude's answer as SSE: ``text``…, ``stop``, ``done``; or, on failure, ``error`` then ``done``.

    Lesson 08 writes this with ``messages.stream()`` and its ``text_stream``. The relay asks for the same stream
    through the SDK (``client.post(..., stream=True)``: its retries and status errors are the same), then reads the
    response's SSE lines itself and parses the JSON of only the events it uses (text deltas, the stop reason, the
    usage); an ``event: error`` becomes the same error event. No ``Message`` accumulated, no typed event built per
    delta that nobody here reads. bench/relay.py measures its CPU per relayed event beside a byte pass-through and
    the lesson's idiom, and how many streams one core serves (README, Figures).
    """
    try:
        upstream = await client.post(
            "/v1/messages", body={**request, "stream": True}, cast_to=object, stream=True, stream_cls=RawEvents
        )
        async with upstream:  # closed when the browser leaves: Starlette cancels this generator
            usage, stop_reason, reader = {"input_tokens": 0, "output_tokens": 0}, None, Reader()
            async for chunk in upstream.response.aiter_bytes():
                texts: list[bytes] = []  # this chunk's text events go out in one write, as the floor's bytes do
                failure: Exception | None = None
                try:
                    for event in reader.feed(chunk):
                        if (kind := event.event) == "content_block_delta":
                            if (text := _delta_text(event.data)) is not None:
                                texts.append(text_frame(text))
                        elif kind == "message_start":
                            _read_start(event.data, usage)
                        elif kind == "message_delta":
                            stop_reason = _read_delta(event.data, usage)
                        elif kind == "error":
                            raise StreamErrorEvent(event.data)
                except UNREADABLE as exc:
                    failure = MalformedEvent(str(exc))
                    failure.__cause__ = exc
                except StreamErrorEvent as exc:
                    failure = exc
                if texts:
                    yield b"".join(texts)  # what arrived before a bad event is the browser's to keep
                if failure:
                    raise failure
        yield frame("stop", {"stop_reason": stop_reason, "usage": usage})
    except (anthropic.AnthropicError, httpx2.HTTPError, StreamErrorEvent, MalformedEvent) as exc:
        log.info("upstream failed: %r", exc)  # before the first token or mid-stream: the browser keeps what came
        yield frame("error", error_event(exc))
    except Exception:  # the relay's own bug: seen in its log, and told apart from an upstream failure
        log.exception("relay bug while streaming")
        yield frame("error", SERVER_ERROR)
    yield frame("done", {})


def _delta_text(data: str) -> str | None:
    """A ``content_block_delta``'s text, or ``None`` for another kind of delta."""
    delta = json.loads(data)["delta"]
    if delta["type"] != "text_delta":
        return None
    if not isinstance(text := delta["text"], str):
        raise TypeError(f"text_delta.text: expected a string, got {type(text).__name__}")
    return text


def _read_start(data: str, usage: dict) -> None:
    started = json.loads(data)["message"]["usage"]
    usage["input_tokens"], usage["output_tokens"] = started["input_tokens"], started["output_tokens"]


def _read_delta(data: str, usage: dict) -> object:
    """A ``message_delta``: its usage goes into ``usage``; returns the stop reason."""
    body = json.loads(data)
    usage["output_tokens"] = body["usage"]["output_tokens"]
    if body["usage"].get("input_tokens") is not None:  # cumulative, when the API sends it
        usage["input_tokens"] = body["usage"]["input_tokens"]
    return body["delta"]["stop_reason"]


class _Relay(FastAPI):
    """FastAPI with the :class:`~helpers.web.gate.Gate` outermost: in front of the framework's body limit, whose own
    413 for a body announced too large is plain text. ``tokens`` signs the page's token and checks it."""

    def __init__(self, public_hosts: tuple[str, ...], **options):
        super().__init__(**options)
        self.public_hosts = public_hosts
        self.tokens = PageTokens()

    def build_middleware_stack(self) -> ASGIApp:
        return Gate(super().build_middleware_stack(), self.public_hosts, self.tokens)


# ---------------------------------------------------------------------------------------------------------------------
# Input


class BadInput(Exception):
    """A request the relay refuses, with the HTTP status and a message naming what was expected."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def chat_request(
    body: object, model: str = DEFAULT_MODEL, max_tokens: int = DEFAULT_MAX_TOKENS, *, pinned: bool = False
) -> dict:
    """Turn a ``POST /chat`` body into ``messages.stream()`` arguments, or raise :class:`BadInput`. ``pinned``: the
    body may not ask for another model than ``model`` (a relay shared with a key, where the priciest model would
    multiply what each learner's requests cost)."""
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
            raise BadInput(f"model: expected a model name such as {DEFAULT_MODEL!r}")
        _check_unicode("model", body["model"])
        if pinned and body["model"] != model:
            raise BadInput(f"model: this relay answers with {model} only, got {body['model']!r}")
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
    _check_unicode(where, value)
    if not value.strip():
        raise BadInput(f"{where}: must not be empty")
    if len(value) > MAX_CHARS:
        raise BadInput(f"{where}: at most {MAX_CHARS:,} characters, got {len(value):,}", 413)
    return value


def _check_unicode(where: str, value: str) -> None:
    """JSON's ``\\ud800`` parses to a lone surrogate, which is no character: no request to the API can carry it."""
    if not value.isascii() and (found := _SURROGATE.search(value)):
        raise BadInput(f"{where}: a lone surrogate (\\u{ord(found[0]):04x}); expected text that is valid Unicode")


async def _read_json(request: Request) -> object:
    """The request's JSON (the Gate let only ``Content-Type: application/json`` through)."""
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
    pinned: bool = False,
) -> FastAPI:
    """The relay app. ``client_factory`` makes the upstream client on the first request (default: the configured
    mode's ``AsyncAnthropic``). ``accel_buffering_header=False`` drops ``X-Accel-Buffering: no``, to show what a
    buffering proxy then does. ``allowed_hosts``: public host names to answer to besides loopback and
    ``$COURSE_RELAY_HOSTS`` (see :func:`public_hosts`). ``pinned=True``: requests may not name another model.
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

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:  # a bug of the relay's own
        log.error("relay bug answering %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, SERVER_ERROR["type"], SERVER_ERROR["message"])

    page_html = (STATIC / "index.html").read_text(encoding="utf-8")

    @app.get("/", include_in_schema=False)
    async def page(request: Request) -> HTMLResponse:
        """The chat page, with a fresh token for ``GET /chat`` in its ``<meta name="chat-token">``. Not cached (the
        token expires), and not framed by another site's page."""
        token = app.tokens.mint(request.headers.get("host", ""))
        html = page_html.replace(PAGE_TOKEN_SLOT, PAGE_TOKEN_SLOT.replace('""', f'"{token}"'))
        return HTMLResponse(html, headers={"Cache-Control": "no-store", "Content-Security-Policy": PAGE_CSP})

    @app.get("/chat")
    async def chat_get(message: str = "") -> StreamingResponse:
        """The tutorial's endpoint, for ``EventSource``: one user message in the query string, and the page's
        token (``token=``: the Gate checks it).

        Close the EventSource on ``done``: when a stream ends, EventSource reconnects and would ask again.
        """
        _check_text("message", message)
        return stream(chat_request({"messages": [{"role": "user", "content": message}]}, model, max_tokens))

    @app.post("/chat")
    async def chat_post(request: Request) -> StreamingResponse:
        """A whole conversation as JSON, for ``fetch`` and a ``ReadableStream`` reader."""
        return stream(chat_request(await _read_json(request), model, max_tokens, pinned=pinned))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
