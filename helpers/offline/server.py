"""Run the local Messages API: in a background thread (for notebooks and tests) or from the command line."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import urllib.request
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

        def on_response_complete(self) -> None: ...

else:
    _Protocol = object


class _RequestDeadline(_Protocol):
    """A deadline on reading each request, for uvicorn's HTTP protocols: the request must arrive whole within
    ``read_timeout`` seconds of the connection opening (or of the previous response ending), or the connection is
    closed. uvicorn's own ``timeout_keep_alive`` starts only after a response, so a client that sends nothing, half its
    headers or part of its body would otherwise hold its socket (and the bytes it sent) forever. Streaming an answer is
    not limited.

    uvicorn has no public hook for this: the mixin reads the protocols' ``loop``, ``transport`` and ``cycle`` (its
    ``more_body`` and ``response_complete``), and extends ``connection_made``, ``on_response_complete`` and
    ``connection_lost``, the same on h11 and httptools. tests/test_private_apis.py fails if any of them changes."""

    read_timeout = READ_TIMEOUT
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._start_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._start_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        super().connection_lost(exc)

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


class DeadlineH11Protocol(_RequestDeadline, H11Protocol):
    """uvicorn's HTTP/1.1 protocol (h11, pure Python) with the request deadline."""


class DeadlineHttpToolsProtocol(_RequestDeadline, HttpToolsProtocol):
    """uvicorn's httptools protocol (a C parser, from ``uvicorn[standard]``) with the request deadline: the relay serves
    on it, as it costs less CPU per request and per chunk than h11 (bench/relay.py)."""


DeadlineProtocol = type[DeadlineH11Protocol] | type[DeadlineHttpToolsProtocol]


def make_config(pace="realistic", fault="", replay=None, cassettes=None) -> Config:
    """A validated server configuration; raises TypeError/ValueError/FileNotFoundError naming the bad option."""
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
    protocol = (
        http if read_timeout == http.read_timeout else type(http.__name__, (http,), {"read_timeout": read_timeout})
    )
    return uvicorn.Config(
        app, http=protocol, limit_concurrency=max_connections, backlog=BACKLOG, lifespan="off", **options
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
    app = LocalMessagesAPI(make_config(pace, fault, replay, cassettes))
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    return serve_in_thread(app, host, port, name="offline-messages-api")
