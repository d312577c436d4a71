"""Loopback ports, picked in one place for the helpers, the tests and the benchmarks."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (the OS picks it). Another process may take it before you bind it: a
    server you start yourself is better handed a bound socket (see ``helpers.offline.server.bind``)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
