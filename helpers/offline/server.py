"""Run the local Messages API: in a background thread (for notebooks and tests) or from the command line."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
import threading
import urllib.request
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .app import Config, DropConnection, LocalMessagesAPI, Pace

log = logging.getLogger("helpers.offline")  # INFO only: nothing reaches a notebook
READ_TIMEOUT = 20.0  # seconds for a request's headers and body to arrive, from connect or from the last response
MAX_CONNECTIONS = 400  # open connections (and requests in flight); past it uvicorn answers 503
MAX_CONNECTIONS_LIMIT = 100_000  # the most --max-connections may ask for
BACKLOG = 512  # connections the kernel queues before the server accepts them
MAX_HEADER_BYTES = 32 * 1024  # a request's line and headers, as nginx's default buffers allow; past it 431
MAX_HEADER_LINES = 100  # a request's line and header fields (Apache's LimitRequestFields); past it 431
KEEP_ALIVE = 15  # seconds an idle connection is kept between requests: longer than a client's own (httpx, so both
# SDKs: 5 s), so that the client ends an idle connection, never sending on one the server closes at that instant
LINGER = 2.0  # seconds a refused client's bytes are still read (and dropped) before its connection closes
CLIENT_SHARE = 0.75  # of max_connections one client address may hold: the rest stay open to everyone else


class _QuietThreads(logging.Filter):
    """Drops what uvicorn logs from the threads of servers started here (they must print nothing: a notebook would
    show it in a later cell), and nothing else. uvicorn's loggers are process-wide: setting their level, as
    ``log_level=`` does, would also silence a learner's own ``uvicorn main:app`` in the same process (its startup
    lines, access log and tracebacks), which imports the course and so starts a local API."""

    names: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName not in self.names


QUIET_THREADS = _QuietThreads()
for _name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
    logging.getLogger(_name).addFilter(QUIET_THREADS)


class _QuietDrops(logging.Filter):
    """The drop fault closes connections on purpose; uvicorn need not print a traceback for it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DropConnection))


if TYPE_CHECKING:

    class _Protocol(asyncio.Protocol):
        """What the mixin uses of uvicorn's protocols, which declare it alike on h11 and httptools."""

        loop: asyncio.AbstractEventLoop
        transport: asyncio.Transport
        cycle: Any  # a RequestResponseCycle of the protocol's own module
        server_state: Any  # uvicorn's ServerState: one per server
        app: Any  # the ASGI app each request cycle runs

        def on_response_complete(self) -> None: ...

else:
    _Protocol = object


class _RequestDeadline(_Protocol):
    """A deadline on reading each request, for uvicorn's HTTP protocols: the request must arrive whole within
    ``read_timeout`` seconds of the connection opening (a later request on it: of its first byte), or the connection
    is closed. Between requests an idle connection is uvicorn's ``timeout_keep_alive``'s to close: counting the idle
    time in the next request's deadline closed a kept-alive connection under a request whose body was arriving, when
    the server's loop had been held up (a reset the SDK reported as a connection error, lesson 04 in a loaded run). uvicorn's own ``timeout_keep_alive`` starts only after a response, so a client that sends nothing, half its
    headers or part of its body would otherwise hold its socket (and the bytes it sent) forever. Streaming an answer is
    not limited.

    It also bounds each request's head (:data:`MAX_HEADER_BYTES`, :data:`MAX_HEADER_LINES`) and what one client
    address holds (:class:`Clients`).

    uvicorn has no public hook for this: the mixin reads the protocols' ``loop``, ``transport``, ``server_state`` and
    ``cycle`` (its ``more_body`` and ``response_complete``) and ``app``, and extends ``connection_made``, ``data_received``,
    ``on_response_complete`` and ``connection_lost``, the same on h11 and httptools, and replaces
    ``send_400_response``. tests/test_private_apis.py and
    the connection tests of tests/test_relay_security.py fail if any of them changes."""

    read_timeout = READ_TIMEOUT
    max_connections = MAX_CONNECTIONS
    _deadline: asyncio.TimerHandle | None = None
    _clients: Clients | None = None
    _refused = False
    _between = False  # a response ended and the next request's first byte has not come: keep-alive's time
    _head: tuple[int, int, bytes] | None = (
        0,
        0,
        b"",
    )  # while a request's head arrives: its bytes, its lines, the last 3 bytes; None after

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.app = _AnswerEarly(self.app, self)  # uvicorn's __init__ set it; each request cycle runs it
        self._head = (0, 0, b"")
        self._clients = Clients.of(self.server_state)
        if not self._clients.admit(self, transport, self.max_connections):
            return
        self._start_deadline()

    def data_received(self, data: bytes) -> None:
        if self._refused or (self._head is not None and not self._count_head(data)):
            return  # what a refused client still sends is read and dropped, so that it reads the 431, not a reset
        if self._between:  # the next request's first bytes: its own deadline starts now
            self._between = False
            self._start_deadline()
        super().data_received(data)

    def on_response_complete(self) -> None:
        cycle = self.cycle
        unread = cycle is not None and cycle.more_body  # answered before its body arrived (a 413, a refusal)
        super().on_response_complete()
        if unread:  # the rest of that body would be counted as the next request's head: end the connection instead
            self._end_after_answer()
            return
        self._head = (0, 0, b"")  # the next request on this connection
        self._stop_deadline()
        self._between = True

    def _end_after_answer(self) -> None:
        """End the connection once the client had time to read what was sent; what it still sends is dropped."""
        if self._refused:
            return
        self._refused = True
        if self.transport.is_closing():
            return
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the answer, then end of stream; close once the client had time to read it
        self.loop.call_later(LINGER, self.transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        if self._clients is not None:
            self._clients.leave(self)
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request its parser refuses (both Content-Length and Transfer-Encoding, two lengths, a
        folded header, a bad chunk...), in the Messages API's error shape instead of plain text; then close."""
        message = "malformed HTTP/1.1 request: expected one Content-Length or Transfer-Encoding: chunked, header lines"
        self.transport.write(_refusal(400, "Bad Request", message + " 'Name: value', and a method in capitals"))
        self.transport.close()

    def busy(self) -> bool:
        """Whether a request arrived whole and its answer is still being sent (streaming); else the connection idles
        or is still receiving a request's head."""
        cycle = self.cycle
        return self._head is None and cycle is not None and not cycle.response_complete

    def _count_head(self, data: bytes) -> bool:
        """Count the bytes and lines of the request's head (up to its blank line); refuse it with 431 past
        ``MAX_HEADER_BYTES`` or ``MAX_HEADER_LINES``. httptools has no such limit of its own, h11 only a size."""
        size, lines, tail = self._head or (0, 0, b"")
        seen = tail + data
        end = seen.find(b"\r\n\r\n")
        part = seen[len(tail) : end] if end >= 0 else data
        size, lines = size + len(part), lines + part.count(b"\n")
        if size > MAX_HEADER_BYTES or lines >= MAX_HEADER_LINES:
            log.info("refused a request head over %d bytes or %d lines", MAX_HEADER_BYTES, MAX_HEADER_LINES)
            message = (
                f"request headers: at most {MAX_HEADER_BYTES:,} bytes and {MAX_HEADER_LINES} lines, with the request "
                "line"
            )
            self.transport.write(_refusal(431, "Request Header Fields Too Large", message))
            self._end_after_answer()
            return False
        self._head = None if end >= 0 else (size, lines, seen[-3:])
        return True

    def _start_deadline(self) -> None:
        self._stop_deadline()
        self._deadline = self.loop.call_later(self.read_timeout, self._expire)

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        cycle = self.cycle  # the request being answered, or the last one answered
        arrived = cycle is not None and not cycle.response_complete and not cycle.more_body
        if not arrived and not self.transport.is_closing():
            log.info("closed a connection whose request did not arrive within %g s", self.read_timeout)
            self.transport.close()  # an app still reading the body gets http.disconnect


class _AnswerEarly:
    """The app as one connection's protocol runs it. A request whose body has not all arrived when the app starts may
    be answered before the rest is read (a refusal: body too large, another host name or site...); the connection
    then ends, as the rest would be read as the next request's head. Its answer says so with ``connection: close``
    (uvicorn then closes after it, not only on its own ``Connection: close`` rule), and the close lingers
    (:meth:`_RequestDeadline._end_after_answer`): an abrupt close with the upload still arriving would reset the
    connection, and the client could lose the answer. A request that arrived whole keeps the app's own ``send``.

    uvicorn passes its request cycle's bound ``send``; the cycle's ``more_body``, ``transport`` are read as in the
    mixin (tests/test_private_apis.py)."""

    def __init__(self, app, protocol: _RequestDeadline):
        self.app, self.protocol = app, protocol

    async def __call__(self, scope, receive, send) -> None:
        cycle = getattr(send, "__self__", None)
        if scope["type"] != "http" or cycle is None or not cycle.more_body:
            await self.app(scope, receive, send)
            return
        cycle.transport = _Lingering(cycle.transport, self.protocol)

        async def send_saying_close(message) -> None:
            if message["type"] == "http.response.start" and cycle.more_body:
                message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_saying_close)


class _Lingering:
    """A request cycle's view of the connection: all of it, but ``close()`` after an answer sent before the request's
    body was read, which ends the connection gently instead."""

    def __init__(self, transport: asyncio.Transport, protocol: _RequestDeadline):
        self._transport, self._protocol = transport, protocol
        self.write = transport.write  # the hot path, without a lookup

    def __getattr__(self, name: str):
        return getattr(self._transport, name)

    def close(self) -> None:
        cycle = self._protocol.cycle
        if cycle is not None and cycle.response_complete and cycle.more_body:
            self._protocol._end_after_answer()
        else:
            self._transport.close()


def _refusal(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP/1.1 response in the Messages API's error shape, for a connection the server then closes."""
    body = json.dumps({"type": "error", "error": {"type": "invalid_request_error", "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        f"request-id: req_{secrets.token_hex(12)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class Clients:
    """The open connections of one server (one event loop), by client address, oldest first. One address may hold
    ``CLIENT_SHARE`` of ``max_connections``; a new connection past that takes the place of the address's oldest idle
    one, or is closed at once if all of them are busy. When the server is full
    but for one place, the address holding most gives up its oldest idle connection (waiting between requests, or still sending a
    head) to the newcomer, so that idle connections of one client cannot make uvicorn answer everyone else 503."""

    _by_server: weakref.WeakKeyDictionary[object, Clients] = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self.open: dict[str, dict[_RequestDeadline, None]] = {}
        self.count = 0

    @classmethod
    def of(cls, server_state: object) -> Clients:
        """The connections of one uvicorn server (its ``ServerState``; forgotten with it)."""
        return cls._by_server.setdefault(server_state, cls())

    def admit(self, connection: _RequestDeadline, transport, max_connections: int) -> bool:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else ""
        mine = self.open.setdefault(address, {})
        if len(mine) >= max(1, int(max_connections * CLIENT_SHARE)):
            # Its oldest idle connection gives way to the new one: many clients can share one address (every
            # learner's kernel on a TLJH host reaches the class gateway from 127.0.0.1), and refusing the newcomer
            # let one of them, holding idle connections, lock every other out of the server.
            idle = next((c for c in mine if not c.busy() and not c.transport.is_closing()), None)
            if idle is None:
                log.info("closed a connection from %s: it holds %d already, all busy", address, len(mine))
                connection._clients = None
                transport.close()
                return False
            log.info("closed an idle connection of %s, which holds %d, for its new one", address, len(mine))
            idle.transport.close()
        mine[connection] = None
        connection._address = address  # type: ignore[attr-defined]
        self.count += 1
        if self.count >= max_connections - 1:  # keep a place free: a closed connection leaves a loop turn later
            self.make_room()
        return True

    def make_room(self) -> None:
        for address in sorted(self.open, key=lambda a: len(self.open[a]), reverse=True):
            idle = next((c for c in self.open[address] if not c.busy()), None)
            if idle is not None:
                log.info(
                    "server full: closed an idle connection of %s, which holds %d", address, len(self.open[address])
                )
                idle.transport.close()
                return

    def leave(self, connection: _RequestDeadline) -> None:
        mine = self.open.get(getattr(connection, "_address", ""), {})
        if mine.pop(connection, 0) is None:
            self.count -= 1
        connection._clients = None


class DeadlineH11Protocol(_RequestDeadline, H11Protocol):
    """uvicorn's HTTP/1.1 protocol (h11, pure Python) with the request deadline."""


class DeadlineHttpToolsProtocol(_RequestDeadline, HttpToolsProtocol):
    """uvicorn's httptools protocol (a C parser, from ``uvicorn[standard]``) with the request deadline: the relay serves
    on it, as it costs less CPU per request and per chunk than h11 (bench/relay.py)."""


DeadlineProtocol = type[DeadlineH11Protocol] | type[DeadlineHttpToolsProtocol]


def make_config(pace="realistic", fault="", replay=None, cassettes=None) -> Config:
    """A validated server configuration; raises TypeError/ValueError/FileNotFoundError naming the bad option."""
    from .cassettes import replayable
    from .faults import parse

    if isinstance(pace, bool) or not isinstance(pace, str | int | float):
        raise TypeError(f"pace= expects 'instant', 'realistic' or tokens per second, got {type(pace).__name__}")
    if not isinstance(pace, str) and not pace > 0:  # 0 or NaN must not quietly mean "realistic"
        raise ValueError(
            f"pace= expects 'instant', 'realistic' or a positive number of tokens per second, got {pace!r}"
        )
    if not isinstance(fault or "", str):
        raise TypeError(
            f"fault= expects a fault spec str such as 'http:529*1' or 'drop@20', got {type(fault).__name__}"
        )
    parse(fault)  # fail now, not on the first request
    replay_body = Path(replay).read_bytes() if replay else None
    if replay_body is not None:
        replayable(replay_body, f"replay={str(replay)!r}")  # refused now, not on the first request
    if cassettes is not None and not Path(cassettes).is_dir():
        raise FileNotFoundError(f"cassette folder not found: {cassettes}")
    return Config(Pace.parse(pace), fault or "", replay_body, Path(cassettes) if cassettes else None)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket; port 0 picks a free port."""
    if not isinstance(host, str) or not host:
        raise TypeError(f"host= expects an address such as '127.0.0.1', got {host!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise TypeError(f"port= expects an int from 0 to 65535 (0 picks a free port), got {port!r}")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets: no Nagle delay
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


@dataclass
class Running:
    """A server running in a background thread. ``stop()`` ends it; it is also a context manager."""

    url: str
    app: object
    server: uvicorn.Server
    thread: threading.Thread

    def stats(self) -> dict:
        """The counters of ``GET /_offline/stats``, fetched over HTTP like any client would."""
        with urllib.request.urlopen(f"{self.url}/_offline/stats", timeout=5) as r:
            return json.load(r)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def uvicorn_config(
    app,
    read_timeout: float = READ_TIMEOUT,
    http: DeadlineProtocol = DeadlineH11Protocol,
    max_connections: int = MAX_CONNECTIONS,
    **options,
) -> uvicorn.Config:
    """uvicorn's settings for our servers: at most ``max_connections`` connections, idle and stalled clients closed.
    ``http``: one of the two Deadline protocols; ``options`` go to ``uvicorn.Config`` (``workers`` needs an app given
    as an import string)."""
    limits = {"read_timeout": read_timeout, "max_connections": max_connections}
    changed = read_timeout != http.read_timeout or max_connections != http.max_connections
    protocol = type(http.__name__, (http,), limits) if changed else http
    return uvicorn.Config(
        app,
        http=protocol,
        limit_concurrency=max_connections,
        backlog=BACKLOG,
        timeout_keep_alive=KEEP_ALIVE,
        lifespan="off",
        **options,
    )


def serve_in_thread(
    app,
    host: str = "127.0.0.1",
    port: int = 0,
    name: str = "server",
    read_timeout: float = READ_TIMEOUT,
    http: DeadlineProtocol = DeadlineH11Protocol,
) -> Running:
    """Serve an ASGI app with uvicorn in a daemon thread; prints nothing (output would land in later cells)."""
    sock = bind(host, port)
    # No log_level and access_log left on: both would change uvicorn's process-wide loggers (see _QuietThreads)
    config = uvicorn_config(app, read_timeout, http, log_config=None, log_level=None, timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    QUIET_THREADS.names.add(name)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), name=name, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"{name} failed to start on {host}:{port}")
        threading.Event().wait(0.01)
    return Running(url_of(sock), app, server, thread)


def start(pace="realistic", fault="", replay=None, cassettes=None, host="127.0.0.1", port=0) -> Running:
    """Start the local Messages API in a background thread and return its handle (``.url``, ``.stats()``, ``.stop()``).

    ``pace``: "realistic" (default), "instant" or tokens per second. ``fault``: a fault spec applied to every request
    (see :mod:`helpers.offline.faults`). ``replay``: a recorded SSE file served to every streaming request.
    ``cassettes``: a folder of recordings served to the requests they were recorded for.
    """
    app = LocalMessagesAPI(make_config(pace, fault, replay, cassettes), hosts=bound_names(host))
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    return serve_in_thread(app, host, port, name="offline-messages-api")


def bound_names(host: str) -> tuple[str, ...]:
    """The Host names a server bound to ``host`` answers to besides loopback: that address, or any name when it is
    bound to every interface (binding there is the choice to be reached by other names)."""
    if not isinstance(host, str):
        return ()  # bind() refuses it, naming what it expected
    return ("*",) if host in ("0.0.0.0", "::", "") else (host.lower(),)
