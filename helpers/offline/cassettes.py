"""Cassettes: record live streams once, replay them offline for a whole class.

Recording wraps the SDK's HTTP transport: every complete streaming ``POST /v1/messages`` answer is saved, byte for
byte, as ``<key>.sse`` (with the request beside it as ``<key>.json``, for people to read; it holds no key: headers are
not saved). ``key`` is a hash of the request body, so the local API, started with ``cassettes=FOLDER``, serves a
recording to exactly the request it was recorded for and its scripted answers to everything else.
"""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import httpx2

from . import sse
from .read import fingerprint


def key(request: dict) -> str:
    return fingerprint(request)[:24]


def lookup(folder: Path, request: dict) -> bytes | None:
    """The recorded body for ``request``, or None."""
    path = Path(folder) / f"{key(request)}.sse"
    return path.read_bytes() if path.is_file() else None


def replayable(body: bytes, source: str) -> list[sse.RawEvent]:
    """A recording's events, or ValueError naming ``source`` and what was expected. Only what no server could send is
    refused (bytes that are not UTF-8, no event at all); malformed events are served as recorded, so that clients can
    be tested against them."""
    try:
        events = sse.split(body)
    except UnicodeDecodeError as err:
        raise ValueError(f"{source}: expected a recorded SSE stream in UTF-8, byte {err.start} is not") from None
    if not events:
        raise ValueError(f"{source}: expected a recorded SSE stream ('event: ...' and 'data: ...' lines), found none")
    return events


def save(folder: Path, request: dict, body: bytes) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key(request)}.sse"
    path.write_bytes(body)
    path.with_suffix(".json").write_text(json.dumps(request, indent=2, ensure_ascii=False) + "\n")
    return path


def _streaming_request(request: httpx2.Request) -> dict | None:
    if request.method != "POST" or not request.url.path.endswith("/v1/messages"):
        return None
    try:
        body = json.loads(request.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) and body.get("stream") else None


class _Tee(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """Passes the body through unchanged and saves it once it has been read to the end."""

    def __init__(self, inner, folder: Path, request: dict):
        self.inner, self.folder, self.request = inner, folder, request
        self.parts: list[bytes] = []

    def __iter__(self):
        for chunk in self.inner:
            self.parts.append(chunk)
            yield chunk
        self._save()

    async def __aiter__(self):
        async for chunk in self.inner:
            self.parts.append(chunk)
            yield chunk
        self._save()

    def _save(self) -> None:
        body = b"".join(self.parts)
        if b"event: message_stop" in body:  # only complete streams make good recordings
            save(self.folder, self.request, body)

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()


class RecordingTransport(httpx2.BaseTransport):
    def __init__(self, folder: Path, inner: httpx2.BaseTransport | None = None):
        self.folder, self.inner = Path(folder), inner or httpx2.HTTPTransport()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = self.inner.handle_request(request)
        if (body := _streaming_request(request)) and response.status_code == 200:
            response.stream = _Tee(response.stream, self.folder, body)
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncRecordingTransport(httpx2.AsyncBaseTransport):
    def __init__(self, folder: Path, inner: httpx2.AsyncBaseTransport | None = None):
        self.folder, self.inner = Path(folder), inner or httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if (body := _streaming_request(request)) and response.status_code == 200:
            response.stream = _Tee(response.stream, self.folder, body)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def recording_http_client(folder, asynchronous: bool = False):
    """An SDK HTTP client (the SDK's own defaults) that records every complete stream into ``folder``."""
    if asynchronous:
        return anthropic.DefaultAsyncHttpxClient(transport=AsyncRecordingTransport(folder))
    return anthropic.DefaultHttpxClient(transport=RecordingTransport(folder))
