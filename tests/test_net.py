"""helpers.net: the one free-port picker the helpers, tests and benchmarks share."""

import socket

from helpers.net import free_port


def test_free_port_can_be_bound_on_loopback():
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # raises if the port it named were taken
