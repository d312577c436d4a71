"""The capstone checker's recorder: ASGI middleware in front of the local API that keeps each /v1/messages exchange
(the request the learner's code sent and the text streamed back), holds a stream's end until its first words show on
the learner's screen, and has the local API fail on cue (a fault for a given question), to see how the app copes.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from helpers.offline.app import LocalMessagesAPI
from helpers.offline.read import text_of
from helpers.offline.server import make_config, serve_in_thread
from helpers.offline.validate import API_MAX_BODY_BYTES
from helpers.web import Reader

HOLD = 5.0  # seconds the recorder keeps a stream open, waiting for its first words on the learner's screen


@dataclass
class Exchange:
    """One request to /v1/messages and the text streamed back."""

    body: dict
    helper: str  # the SDK's x-stainless-helper-method header: "stream" from messages.stream()
    screen_from: int  # how much the learner had printed when the request arrived
    text: str = ""
    first: str = ""  # the first text delta
    on_screen: bool | None = None  # the first words showed while the stream was open (None: not held)


class Recorder:
    """ASGI middleware in front of the local API: records each /v1/messages exchange; with ``screen``, holds the end
    of each stream (its ``message_delta``) until the answer's first words are on that screen, or ``HOLD`` seconds."""

    def __init__(self, app, screen=None, faults: dict[str, str] | None = None):
        self.app, self.screen = app, screen
        self.faults = faults or {}  # the last question's text -> the fault the local API injects for it
        self.exchanges: list[Exchange] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/v1/messages":
            return await self.app(scope, receive, send)
        pieces, size, more = [], 0, True
        while more and size <= API_MAX_BODY_BYTES:  # past the API's limit, the API reads the rest and refuses it
            message = await receive()
            pieces.append(message.get("body", b""))
            size += len(pieces[-1])
            more = message["type"] == "http.request" and message.get("more_body", False)
        raw = b"".join(pieces)
        try:
            body = json.loads(raw) if not more else {}
        except ValueError:
            body = {}
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        seen = self.screen.total if self.screen else 0
        exchange = Exchange(body if isinstance(body, dict) else {}, headers.get("x-stainless-helper-method", ""), seen)
        self.exchanges.append(exchange)
        if fault := self.faults.get(last_question(exchange.body)):
            scope = {**scope, "headers": [*scope["headers"], (b"x-offline-fault", fault.encode())]}
        reader, replayed = Reader(), False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": more}

        async def watch(message):
            data = message.get("body", b"") if message["type"] == "http.response.body" else b""
            end = data.find(b"event: message_delta")
            if self.screen and end >= 0 and exchange.on_screen is None:
                self._note(exchange, reader, data[:end])
                await send({"type": "http.response.body", "body": data[:end], "more_body": True})
                await self._hold(exchange)
                message, data = {**message, "body": data[end:]}, data[end:]
            self._note(exchange, reader, data)
            await send(message)

        await self.app(scope, replay, watch)

    @staticmethod
    def _note(exchange: Exchange, reader: Reader, data: bytes) -> None:
        for event in reader.feed(data):
            if event.event == "content_block_delta":
                delta = json.loads(event.data)["delta"]
                if delta["type"] == "text_delta":
                    exchange.text += delta["text"]
                    exchange.first = exchange.first or delta["text"]

    async def _hold(self, exchange: Exchange) -> None:
        if any(e.on_screen is False for e in self.exchanges):  # one wait is enough to know
            exchange.on_screen = False
            return
        deadline = time.monotonic() + HOLD
        while time.monotonic() < deadline:
            if exchange.first and exchange.first in self.screen.since(exchange.screen_from):
                exchange.on_screen = True
                return
            await asyncio.sleep(0.02)
        exchange.on_screen = False


def serve(pace, screen=None, faults: dict[str, str] | None = None):
    """The local API behind a :class:`Recorder`, in a thread: (recorder, running server)."""
    recorder = Recorder(LocalMessagesAPI(make_config(pace)), screen, faults)
    return recorder, serve_in_thread(recorder, name="capstone-local-api")


def last_question(body: dict) -> str:
    """The text of a request's last message."""
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    return text_of(last.get("content"), "") if isinstance(last, dict) else ""
