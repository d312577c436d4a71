"""``python -m helpers.offline``: serve the local Messages API until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn

from .app import LocalMessagesAPI
from .server import (
    MAX_CONNECTIONS,
    MAX_CONNECTIONS_LIMIT,
    _QuietDrops,
    bind,
    bound_names,
    make_config,
    url_of,
    uvicorn_config,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.offline", description="A local, Anthropic-compatible Messages API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    parser.add_argument("--pace", default="realistic", help="realistic (default), instant, or tokens per second")
    parser.add_argument("--replay", metavar="FILE", help="answer every streaming request with this recorded SSE body")
    parser.add_argument(
        "--cassettes", metavar="DIR", help="serve streams recorded by `make record` to matching requests"
    )
    parser.add_argument("--fault", default="", help="fault spec for every request, e.g. 'http:529*1' or 'error@5'")
    parser.add_argument(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS,
        metavar="N",
        help=f"open connections before new ones get 503 (default {MAX_CONNECTIONS}; a load test may need more)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.max_connections <= MAX_CONNECTIONS_LIMIT:
        parser.error(f"--max-connections: expected 1 to {MAX_CONNECTIONS_LIMIT:,}, got {args.max_connections}")
    try:
        config = make_config(args.pace, args.fault, args.replay, args.cassettes)
        sock = bind(args.host, args.port)
    except (ValueError, OSError) as err:
        parser.error(str(err))
    print(f"listening on {url_of(sock)}", flush=True)
    logging.basicConfig(format="%(message)s")  # one line per event worth knowing (a client that left mid-upload)
    logging.getLogger("helpers.offline").setLevel(logging.INFO)
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    api = LocalMessagesAPI(config, hosts=bound_names(args.host))
    server = uvicorn.Server(uvicorn_config(api, max_connections=args.max_connections, log_level="warning"))
    asyncio.run(server.serve(sockets=[sock]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
