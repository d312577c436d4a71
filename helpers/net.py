"""Loopback ports and host names, in one place for the helpers, the tests and the benchmarks."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")  # the names every course server answers to without being told


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (the OS picks it). Another process may take it before you bind it: a
    server you start yourself is better handed a bound socket (see ``helpers.offline.server.bind``)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def hostname_of(netloc: str) -> str:
    """The host name in ``host[:port]`` (a Host header), lowercased; "" if it is malformed. A Host header is a host
    and a port only: user info, a path, a query or a fragment (``attacker.example@127.0.0.1``, ``localhost/x``) would
    otherwise leave a loopback name behind for the checks that use this."""
    if not netloc.isprintable() or any(c in netloc for c in "@/?#\\ "):
        return ""
    try:
        parts = urlsplit("//" + netloc)
        _ = parts.port  # ValueError unless a number from 0 to 65535
    except ValueError:
        return ""
    return parts.hostname or ""
