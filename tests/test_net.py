"""helpers.net: the one free-port picker and Host reader the helpers, tests and benchmarks share."""

import socket

import pytest

from helpers.net import free_port, hostname_of


def test_free_port_can_be_bound_on_loopback():
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # raises if the port it named were taken


@pytest.mark.parametrize(
    "host, name",
    [
        ("127.0.0.1:8000", "127.0.0.1"),
        ("LocalHost", "localhost"),
        ("[::1]:80", "::1"),
        ("127.0.0.1:", "127.0.0.1"),
        ("attacker.example@127.0.0.1", ""),  # user info: no Host carries it, and it left 127.0.0.1 behind
        ("localhost/attacker.example", ""),
        ("localhost?x", ""),
        ("localhost#x", ""),
        ("localhost\\x", ""),
        ("localhost x", ""),
        ("localhost\tx", ""),
        ("127.0.0.1:99999", ""),
    ],
)
def test_hostname_of_a_host_header_is_empty_unless_it_is_a_host_and_a_port(host, name):
    assert hostname_of(host) == name
