"""``python -m helpers.web``: serve the relay and its chat page until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn

from helpers.connect import async_client
from helpers.offline.server import bind, url_of, uvicorn_config

from .app import HOSTS_ENV, create_app, public_hosts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.web", description="Relay Claude's stream to a browser chat page."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help=f"a public host name to answer to besides 127.0.0.1/localhost, e.g. a hub's (repeatable; also ${HOSTS_ENV})",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port: expected 0 (a free port) to 65535, got {args.port}")
    try:
        hosts = public_hosts(args.allow_host)
    except ValueError as err:
        parser.error(f"--allow-host or ${HOSTS_ENV}: {err}")
    try:
        sock = bind(args.host, args.port)
    except OSError as err:
        parser.error(f"cannot listen on {args.host}:{args.port}: {err}")
    print(f"listening on {url_of(sock)}", flush=True)
    client = async_client()  # prints one line: where requests go (live or offline)
    sys.stdout.flush()
    logging.basicConfig(format="relay: %(message)s", level=logging.WARNING)  # one line per refused client
    app = create_app(lambda: client, allowed_hosts=hosts)
    server = uvicorn.Server(uvicorn_config(app, log_level="warning"))  # bounded connections, stalled clients closed
    asyncio.run(server.serve(sockets=[sock]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
