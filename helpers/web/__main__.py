"""``python -m helpers.web``: serve the relay and its chat page until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import sys

import uvicorn

from helpers.connect import async_client
from helpers.offline.server import bind, url_of

from .app import create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.web", description="Relay Claude's stream to a browser chat page."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port: expected 0 (a free port) to 65535, got {args.port}")
    try:
        sock = bind(args.host, args.port)
    except OSError as err:
        parser.error(f"cannot listen on {args.host}:{args.port}: {err}")
    print(f"listening on {url_of(sock)}", flush=True)
    client = async_client()  # prints one line: where requests go (live or offline)
    sys.stdout.flush()
    app = create_app(lambda: client)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    asyncio.run(server.serve(sockets=[sock]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
