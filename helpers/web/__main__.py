"""``python -m helpers.web``: serve the relay and its chat page until Ctrl-C.

``--workers N`` serves the same socket from N processes (uvicorn's supervisor): the relay keeps nothing between
requests, so each request may go to any worker, and N relays on several hosts behind any load balancer work the same
way (docs/workshop.md, "Scaling the relay"). A worker uses at most one core; bench/relay.py rates how many streams
it serves there.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import secrets
import sys

import anthropic
import httpx2
import uvicorn
from uvicorn.supervisors import Multiprocess

from helpers.connect import async_client, local_api_url, mode
from helpers.offline.server import (
    MAX_CONNECTIONS,
    MAX_CONNECTIONS_LIMIT,
    DeadlineHttpToolsProtocol,
    bind,
    url_of,
    uvicorn_config,
)

from .app import create_app
from .gate import HOSTS_ENV, SECRET_ENV, public_hosts

MAX_WORKERS = 64
HEALTHCHECK_SECONDS = 60  # a worker's start-up (imports, one upstream client) under load: seconds, not minutes
CONNECTIONS_ENV = "COURSE_RELAY_MAX_CONNECTIONS"  # --max-connections, as each worker reads it
MODEL_ENV = "COURSE_RELAY_MODEL"  # --model, as each worker reads it


def max_connections() -> int:
    return int(os.environ.get(CONNECTIONS_ENV) or MAX_CONNECTIONS)


def app():
    """The app one worker serves (uvicorn calls this in each worker process): its own upstream client, made now,
    then ``gc.freeze()``: what start-up made is never scanned again, so a full collection stays short while hundreds
    of streams are open (bench/relay.py measures the pauses it saves; README, Figures)."""
    logging.basicConfig(format="relay: %(message)s", level=logging.WARNING)  # one line per refused client
    # As many kept-alive upstream connections as the relay takes streams (the SDK keeps 100): no connect per stream.
    limits = httpx2.Limits(max_connections=max_connections(), max_keepalive_connections=max_connections())
    client = async_client(quiet=True, http_client=anthropic.DefaultAsyncHttpxClient(limits=limits))
    pinned = os.environ.get(MODEL_ENV, "")
    options: dict = {"model": pinned, "pinned": True} if pinned else {}
    relay = create_app(lambda: client, **options)  # allowed hosts: $COURSE_RELAY_HOSTS, which main() extends
    gc.collect()
    gc.freeze()
    return relay


def exposure(host: str, offline: bool) -> str:
    """A warning for a relay that spends a key and listens beyond loopback, else ''. Its Host check stops other
    sites' pages in a browser (DNS rebinding), not a script that sends ``Host: 127.0.0.1`` itself."""
    if offline or host.strip("[]") in ("127.0.0.1", "localhost", "::1"):
        return ""
    return (
        f"warning: listening on {host}, this relay spends its key for anyone who can reach that address: keep it "
        "private and put a login with per-user limits in front (docs/workshop.md, Scaling the relay)"
    )


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
    parser.add_argument(
        "--model",
        metavar="NAME",
        help="the one model this relay answers with; a request naming another gets 400 (default: the course's "
        "model, and a request may name any)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes serving the same port (default 1; at most one per core that nothing else needs)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS,
        metavar="N",
        help=f"open connections per worker before new ones get 503 (default {MAX_CONNECTIONS})",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.max_connections <= MAX_CONNECTIONS_LIMIT:
        parser.error(f"--max-connections: expected 1 to {MAX_CONNECTIONS_LIMIT:,}, got {args.max_connections}")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port: expected 0 (a free port) to 65535, got {args.port}")
    if not 1 <= args.workers <= MAX_WORKERS:
        parser.error(f"--workers: expected 1 to {MAX_WORKERS} processes, got {args.workers}")
    try:
        hosts = public_hosts(args.allow_host)
    except ValueError as err:
        parser.error(f"--allow-host or ${HOSTS_ENV}: {err}")
    try:
        sock = bind(args.host, args.port)
    except OSError as err:
        parser.error(f"cannot listen on {args.host}:{args.port}: {err}")
    print(f"listening on {url_of(sock)}", flush=True)
    async_client()  # prints one line: where requests go (live or offline); fails here on a bad key
    if warning := exposure(args.host, mode().offline):
        print(warning, file=sys.stderr, flush=True)
    sys.stdout.flush()
    # What each worker reads: the allowed hosts, the page tokens' key, and in offline mode one local API for all of them (started here).
    os.environ[HOSTS_ENV] = ",".join(hosts)
    os.environ[CONNECTIONS_ENV] = str(args.max_connections)
    if args.model:
        os.environ[MODEL_ENV] = args.model
    os.environ.setdefault(SECRET_ENV, secrets.token_hex(32))  # one key for every worker's page tokens
    if mode().offline:
        os.environ["COURSE_OFFLINE_URL"] = local_api_url()
    config = uvicorn_config(
        "helpers.web.__main__:app",
        http=DeadlineHttpToolsProtocol,  # httptools and uvloop ("auto"): uvicorn[standard]'s fast parts
        factory=True,
        workers=args.workers,
        max_connections=args.max_connections,
        log_level="warning",
        # uvicorn kills a worker that does not answer its ping within this many seconds (5 by default) and starts
        # another: on a loaded machine a worker still importing the SDK missed it, and the relay never got ready
        timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
    )
    if args.workers == 1:
        uvicorn.Server(config).run(sockets=[sock])
    else:
        Multiprocess(config, sockets=[sock]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
