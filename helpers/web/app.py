"""The relay: a FastAPI app that streams Claude's answer to a browser as Server-Sent Events.

Three pieces, in the order lesson 07 reads them:

1. :func:`relay`, an async generator: it opens the upstream stream and yields one framed SSE event per piece of text,
   then ``stop`` (stop reason and usage), or ``error``; ``done`` always comes last.
2. :func:`create_app`: hands that generator to a ``StreamingResponse`` with the headers that keep proxies from
   buffering. When the browser leaves, Starlette cancels the generator; the ``async with`` around the upstream stream
   then closes it, so the model stops generating for nobody.
3. :func:`check`: what the browser may send, with errors that say what was expected.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anthropic
import httpx2
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from .framing import frame

DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_MAX_TOKENS = 1024
MAX_MESSAGES = 100  # per conversation
MAX_CHARS = 32_000  # per message, and for the system prompt
MAX_TOKENS_LIMIT = 8192  # the most max_tokens a browser may ask for
MAX_BODY_BYTES = 4 * MAX_MESSAGES * MAX_CHARS  # room for the longest conversation, even in 4-byte characters

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}  # no-cache: no stale replay; no: nginx, don't buffer
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
UPSTREAM_ERRORS = (anthropic.AnthropicError, httpx2.HTTPError, ValueError)  # ValueError: a malformed event's JSON


def error_event(exc: Exception) -> dict:
    """The ``error`` event's data for an upstream failure: ``{"type": ..., "message": ...}``."""
    if isinstance(exc, anthropic.APIStatusError):
        kind = exc.type or "api_error"
    elif isinstance(exc, (anthropic.APITimeoutError, httpx2.TimeoutException)):
        kind = "timeout_error"
    elif isinstance(exc, (anthropic.APIConnectionError, httpx2.HTTPError)):
        kind = "api_connection_error"
    else:
        kind = "stream_error"
    return {"type": kind, "message": ERROR_MESSAGES.get(kind, "The model API returned an error.")}


async def relay(client: anthropic.AsyncAnthropic, request: dict) -> AsyncIterator[bytes]:
    """Claude's answer as SSE: ``text``…, ``stop``, ``done``; or, on failure, ``error`` then ``done``."""
    try:
        async with client.messages.stream(**request) as stream:
            async for text in stream.text_stream:
                yield frame("text", {"text": text})
            final = await stream.get_final_message()
        usage = {"input_tokens": final.usage.input_tokens, "output_tokens": final.usage.output_tokens}
        yield frame("stop", {"stop_reason": final.stop_reason, "usage": usage})
    except UPSTREAM_ERRORS as exc:  # before the first token or mid-stream: the browser keeps what it has
        log.info("upstream failed: %r", exc)
        yield frame("error", error_event(exc))
    yield frame("done", {})


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
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BadInput(f"request body: at most {MAX_BODY_BYTES:,} bytes", 413)
    try:
        return json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        raise BadInput('body: not valid JSON; expected {"messages": [{"role": "user", "content": "Hi"}]}') from None


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
) -> FastAPI:
    """The relay app. ``client_factory`` makes the upstream client on the first request (default: the configured
    mode's ``AsyncAnthropic``). ``accel_buffering_header=False`` drops ``X-Accel-Buffering: no``, to show what a
    buffering proxy then does.
    """
    app = FastAPI(title="Claude streaming relay", docs_url=None, redoc_url=None, openapi_url=None)
    headers = SSE_HEADERS if accel_buffering_header else {"Cache-Control": "no-cache"}
    clients: list[anthropic.AsyncAnthropic] = []

    def stream(request: dict) -> StreamingResponse:
        if not clients:
            clients.append((client_factory or _default_client)())
        return StreamingResponse(relay(clients[0], request), media_type="text/event-stream", headers=headers)

    @app.exception_handler(BadInput)
    async def bad_input(_request: Request, exc: BadInput) -> JSONResponse:
        return JSONResponse({"error": {"type": "invalid_request", "message": str(exc)}}, status_code=exc.status)

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
