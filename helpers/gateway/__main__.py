"""``python -m helpers.gateway``: the class gateway, as JupyterHub runs it (a managed service; see helpers/hub.py and
docs/workshop.md for the configuration).

From the hub: ``JUPYTERHUB_SERVICE_URL`` (where to listen), ``JUPYTERHUB_SERVICE_PREFIX``, ``JUPYTERHUB_API_TOKEN``
(the service's own token), ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_CLIENT_ID`` and ``JUPYTERHUB_OAUTH_CALLBACK_URL``.
From the instructor (the service's ``environment``):

- ``ANTHROPIC_API_KEY`` (and optionally ``ANTHROPIC_BASE_URL``): the class's key, for live mode. Only this process
  holds it; without it the class runs offline or recorded.
- ``COURSE_GATEWAY_STATE``: the SQLite file for usage, limits and verdicts (default ``gateway.sqlite`` here).
- ``COURSE_GATEWAY_LIMITS``: the limits a new state file starts with, JSON such as
  ``{"streams": 2, "per_minute": 30, "tokens": 200000}`` (then the dashboard changes them).
- ``COURSE_GATEWAY_MODE``: offline, recorded or live, for a new state file (default: live with a key, else offline).
- ``COURSE_PACE``, ``COURSE_CASSETTES``: the class's local Messages API (offline; recorded needs the cassettes).
- ``COURSE_GATEWAY_HOSTS``: the hub's public host names, comma-separated (loopback names always pass).
- ``COURSE_INSTRUCTORS_GROUP``: the hub group whose members see the dashboard besides admins (default instructors).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import subprocess
import sys
import threading
import time
from urllib.parse import quote, urlsplit

import httpx2
import uvicorn

from helpers.connect import DEFAULT_LIVE_URL, OFFLINE_KEY
from helpers.offline.server import DeadlineHttpToolsProtocol, bind, uvicorn_config

from .app import Gateway, Hub, Upstream, oauth_login_url
from .store import Limits, Store

CACHE_SECONDS = 60  # how long a token's owner and an instructor's role are trusted before the hub is asked again


def _end_with_parent() -> None:
    """In the child, before it runs: on Linux, end it when the gateway ends, even by SIGKILL (no orphan API). Linux
    sends the signal when the *thread* that started the child ends: start it from the main (event loop) thread."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalAPI:
    """One local Messages API process for the whole class, started on first use and stopped with the gateway.

    Calling it starts the process if needed and waits for its address; ``await start()`` does the same without
    holding up the gateway's event loop (a new process takes seconds to answer on a busy machine, and every learner's
    stream would stall meanwhile): the process is started in the loop's thread (see _end_with_parent), and its first
    line is waited for in a worker thread."""

    def __init__(self, *args: str):
        self.args, self.url, self.lock, self.reading = args, "", threading.Lock(), threading.Lock()
        self.process: subprocess.Popen[str] | None = None
        self.answering: subprocess.Popen[str] | None = None  # the process self.url belongs to

    def __call__(self) -> Upstream:
        return self._ready(self._spawn())

    async def start(self) -> Upstream:
        process = self._spawn()
        if process is self.answering:
            return Upstream(self.url, OFFLINE_KEY, offline=True)
        return await asyncio.to_thread(self._ready, process)

    def _spawn(self) -> subprocess.Popen[str]:
        """The running process, or a new one if there is none (or it ended)."""
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                command = [sys.executable, "-m", "helpers.offline", "--port", "0", "--max-connections", "2000"]
                self.process = subprocess.Popen(
                    [*command, *self.args], stdout=subprocess.PIPE, text=True, preexec_fn=_end_with_parent
                )
            return self.process

    def _ready(self, process: subprocess.Popen[str]) -> Upstream:
        """Wait for ``process`` to say where it listens (its first line; one reader at a time)."""
        with self.reading:
            if process is not self.answering:
                line = process.stdout.readline() if process.stdout else ""
                if not line.startswith("listening on "):
                    raise RuntimeError(f"the class's local Messages API did not start: {line!r}")
                self.url, self.answering = line.split()[-1], process
        return Upstream(self.url, OFFLINE_KEY, offline=True)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)


def hub_from_environment() -> Hub:
    from jupyterhub.services.auth import HubOAuth

    auth = HubOAuth(api_token=os.environ["JUPYTERHUB_API_TOKEN"], cache_max_age=CACHE_SECONDS)
    group = os.environ.get("COURSE_INSTRUCTORS_GROUP", "instructors")
    http = httpx2.AsyncClient(timeout=30)
    roles: dict[str, tuple[float, bool]] = {}

    async def identify(token: str) -> str | None:
        model = await auth.user_for_token(token, sync=False)
        return model["name"] if model and model.get("kind", "user") == "user" else None

    async def is_instructor(name: str) -> bool:
        if (cached := roles.get(name)) and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        response = await http.get(
            # quoted: a hub lets a user name hold ? or # ('teacher?x' asked the hub about teacher)
            f"{auth.api_url.rstrip('/')}/users/{quote(name, safe='')}",
            headers={"Authorization": f"token {auth.api_token}"},
        )
        user = response.json() if response.status_code == 200 else {}
        allowed = bool(user.get("admin")) or group in (user.get("groups") or [])
        roles[name] = (time.monotonic(), allowed)
        return allowed

    async def token_for_code(code: str) -> str:
        return await auth.token_for_code(code, sync=False)

    login = oauth_login_url(auth.oauth_authorization_url, auth.oauth_client_id, auth.oauth_redirect_uri)
    return Hub(identify, is_instructor, login, token_for_code)


def serve(app, sock) -> None:
    """Serve the gateway's ``app`` on ``sock`` until the process is told to end (bench/gateway.py serves it so too).

    As the relay is served: uvicorn's own event loop choice (uvloop where installed) rather than asyncio's default,
    and ``gc.freeze()`` once the app is built, so what start-up made is never scanned again while a class's streams
    are open. Both cut the gateway's CPU per relayed event (bench/gateway.py measures it against a byte pass-through
    served the same way)."""
    config = uvicorn_config(app, http=DeadlineHttpToolsProtocol, max_connections=2000, log_level="warning")
    gc.collect()
    gc.freeze()
    uvicorn.Server(config).run(sockets=[sock])


def main() -> int:
    logging.basicConfig(format="gateway: %(message)s", level=logging.WARNING)
    env = os.environ
    pace = env.get("COURSE_PACE") or "realistic"
    upstreams: dict = {"offline": LocalAPI("--pace", pace)}
    if cassettes := env.get("COURSE_CASSETTES"):
        upstreams["recorded"] = LocalAPI("--pace", pace, "--cassettes", cassettes)
    if key := env.get("ANTHROPIC_API_KEY", "").strip():
        live = Upstream((env.get("ANTHROPIC_BASE_URL") or DEFAULT_LIVE_URL).rstrip("/"), key, offline=False)
        upstreams["live"] = lambda: live
    store = Store(env.get("COURSE_GATEWAY_STATE") or "gateway.sqlite")
    if not store.has_mode():
        store.set_mode(env.get("COURSE_GATEWAY_MODE") or ("live" if key else "offline"))
        store.set_limits(Limits.checked(json.loads(env.get("COURSE_GATEWAY_LIMITS") or "{}")))
    hosts = tuple(h.strip().lower() for h in env.get("COURSE_GATEWAY_HOSTS", "").split(",") if h.strip())
    gateway = Gateway(store, hub_from_environment(), upstreams, hosts, env.get("JUPYTERHUB_SERVICE_PREFIX", "/"))
    if store.mode() in upstreams:  # in this thread: the local API is told to end when the thread that started it does
        upstreams[store.mode()]()  # the class's upstream is up before the first learner asks
    where = urlsplit(env.get("JUPYTERHUB_SERVICE_URL") or "http://127.0.0.1:8800")
    sock = bind(where.hostname or "127.0.0.1", where.port or 8800)
    try:
        serve(gateway.app(), sock)
    finally:
        for upstream in upstreams.values():
            if isinstance(upstream, LocalAPI):
                upstream.stop()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
