"""Reach the course's servers through the notebook server's own URL, for JupyterHub and Binder.

A learner's browser cannot open ``http://127.0.0.1:PORT`` on a hub machine. jupyter-server-proxy (in
requirements.txt) fixes that: pyproject.toml registers the two functions below under the
``jupyter_serverproxy_servers`` entry point, so every notebook server with the course installed serves

- ``{server URL}/relay/``: the chat page and its SSE endpoint (``python -m helpers.web``), started on first visit;
- ``{server URL}/offline-api/``: the local Messages API (``python -m helpers.offline``), e.g. ``/offline-api/v1/models``;
- and, built into jupyter-server-proxy, ``{server URL}/proxy/PORT/`` for a server a notebook started itself.

Lesson 08 prints its link with :func:`page_url`, which is right in local JupyterLab and behind a hub alike.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

READY_TIMEOUT = 60  # seconds: a busy hub machine can take a while to import the SDK in a new process


def relay() -> dict:
    """jupyter-server-proxy's settings for ``/relay/``: the chat page of lesson 08 and its ``/chat`` stream."""
    return {
        # helpers.web's main, without the imports a relay never uses (helpers/lighter.py)
        "command": [sys.executable, "-m", "helpers.lighter", "relay", "--host", "127.0.0.1", "--port", "{port}"],
        # The proxy forwards the browser's Host (the notebook server's public name, unknown here); the relay answers
        # only to its own names. The notebook server has already checked the Host and the login, so name the relay.
        "request_headers_override": {"Host": "127.0.0.1:{port}"},
        "timeout": READY_TIMEOUT,
        "launcher_entry": {"title": "Streaming chat (lesson 08)", "category": "Other"},
    }


def offline_api() -> dict:
    """jupyter-server-proxy's settings for ``/offline-api/``: the local Messages API, paced like the notebooks."""
    command = [
        sys.executable,
        "-m",
        "helpers.offline",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--pace",
        os.environ.get("COURSE_PACE") or "realistic",
    ]
    if cassettes := os.environ.get("COURSE_CASSETTES"):
        command += ["--cassettes", cassettes]
    return {
        "command": command,
        "request_headers_override": {"Host": "127.0.0.1:{port}"},  # it answers only to its own names, as the relay
        "timeout": READY_TIMEOUT,
        "launcher_entry": {"title": "Local Messages API", "enabled": False},  # JSON only: no launcher tile
    }


def base_url() -> str | None:
    """The notebook server's URL (or path) as the browser sees it, when a proxy sits between them; else ``None``.

    JupyterHub and Binder set ``JUPYTERHUB_SERVICE_PREFIX`` (``/user/NAME/``); ``JUPYTER_SERVER_URL`` names any other
    server a browser reaches from elsewhere (set it yourself for a remote ``jupyter lab``).
    """
    if prefix := os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "").strip():
        return "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    if url := os.environ.get("JUPYTER_SERVER_URL", "").strip():
        return url.rstrip("/") + "/"
    return None


def page_url(path: str = "/", *, local_url: str | None = None) -> str:
    """The link a learner's browser should open for the relay page (or ``path`` under it).

    - Local JupyterLab: ``local_url`` (the relay the notebook started, e.g. ``relay.url``) + ``path``.
    - Behind JupyterHub/Binder: with ``local_url``, that same relay through ``{prefix}proxy/PORT/``; without,
      the relay jupyter-server-proxy runs at ``{prefix}relay/``. On a hub the result is a path on the hub's own
      host (``/user/NAME/relay/``): show it as a link, the browser completes it.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"path must start with '/' (a str), got {path!r}")
    if local_url is not None and not isinstance(local_url, str):
        raise TypeError(f"local_url= expects the relay's URL as a str (e.g. relay.url), got {type(local_url).__name__}")
    prefix = base_url()
    if prefix is None:
        if local_url is None:
            raise ValueError("not behind JupyterHub/Binder (no JUPYTERHUB_SERVICE_PREFIX): pass local_url=relay.url")
        return local_url.rstrip("/") + path
    if local_url is None:
        return f"{prefix}relay{path}"
    parts = urlsplit(local_url)
    if parts.hostname not in {"127.0.0.1", "localhost"} or not parts.port:
        raise ValueError(f"local_url must be http://127.0.0.1:PORT (a server on this machine), got {local_url!r}")
    return f"{prefix}proxy/{parts.port}{path}"
