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

import uvicorn

from .app import Config, DropConnection, LocalMessagesAPI, Pace


class _QuietDrops(logging.Filter):
    """The drop fault closes connections on purpose; uvicorn need not print a traceback for it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DropConnection))


def make_config(pace="realistic", fault="", replay=None, cassettes=None) -> Config:
    """A validated server configuration; raises ValueError/FileNotFoundError naming the bad option."""
    from .faults import parse

    if isinstance(pace, bool) or not isinstance(pace, str | int | float):
        raise TypeError(f"pace= expects 'instant', 'realistic' or tokens per second, got {type(pace).__name__}")
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
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets: no Nagle delay
    sock.bind((host, port))
    sock.listen(2048)
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


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0, name: str = "server") -> Running:
    """Serve an ASGI app with uvicorn in a daemon thread; prints nothing (output would land in later cells)."""
    sock = bind(host, port)
    config = uvicorn.Config(
        app, log_config=None, log_level="critical", access_log=False, lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # not the main thread
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
