"""How the relay is served: uvicorn with limits, so idle, slow or stalled clients cannot pile up.

uvicorn closes a connection that idles *between* requests (``timeout_keep_alive``) and answers 503 past
``limit_concurrency`` connections, but it waits forever for a request that is never finished: a client that opens a
connection and sends nothing, half its headers, or part of its body keeps the socket and the bytes it sent.
:class:`DeadlineH11Protocol` adds that missing deadline.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from helpers.offline.server import Running, bind, url_of

READ_TIMEOUT = 20.0  # seconds for a request's headers and body to arrive, from connect or from the last response
KEEP_ALIVE = 5  # seconds an idle connection stays open between requests
MAX_CONNECTIONS = 1000  # past this, new requests get 503 (the course's load test runs 200 streams at once)

log = logging.getLogger(__name__)


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline: each request must arrive whole within ``read_timeout`` seconds of
    the connection opening (or of the previous response ending), or the connection is closed. A streaming response
    is not limited: the deadline only covers reading the request."""

    read_timeout = READ_TIMEOUT
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._start_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)

    def _start_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self.read_timeout, self._expire)

    def _expire(self) -> None:
        if self.conn.their_state is not h11.DONE and not self.transport.is_closing():
            log.warning("closed a connection whose request did not arrive within %g s", self.read_timeout)
            self.transport.close()


def config(app, read_timeout: float = READ_TIMEOUT, **options) -> uvicorn.Config:
    """The relay's uvicorn settings; ``options`` go to :class:`uvicorn.Config` (e.g. ``log_level``)."""
    protocol = type("RelayH11Protocol", (DeadlineH11Protocol,), {"read_timeout": read_timeout})
    return uvicorn.Config(
        app,
        http=protocol,
        timeout_keep_alive=KEEP_ALIVE,
        limit_concurrency=MAX_CONNECTIONS,
        lifespan="off",
        **options,
    )


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0, read_timeout: float = READ_TIMEOUT) -> Running:
    """Serve the relay in a daemon thread with :func:`config`'s limits; prints nothing."""
    sock = bind(host, port)
    server = uvicorn.Server(
        config(app, read_timeout, log_config=None, log_level="critical", access_log=False, timeout_graceful_shutdown=1)
    )
    server.install_signal_handlers = lambda: None  # not the main thread
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), name="web-relay", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the relay failed to start on {host}:{port}")
        threading.Event().wait(0.01)
    return Running(url_of(sock), app, server, thread)
