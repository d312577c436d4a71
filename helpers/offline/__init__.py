"""The local Messages API: an Anthropic-compatible server on 127.0.0.1 that speaks the real wire protocol.

    from helpers.offline import start
    api = start(pace="instant")      # background thread, prints nothing
    client = anthropic.Anthropic(base_url=api.url, api_key="anything")

From a shell: ``python -m helpers.offline --help``.

``start`` is imported on first use: a kernel that only reads a helper of this package (the views count tokens with
:mod:`helpers.offline.read`) and sends its requests to a class gateway or the real API never loads the server, its
ASGI stack and uvicorn (bench/hub.py --gateway measures a learner's memory).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import start

__all__ = ["start"]


def __getattr__(name: str):
    if name == "start":
        from .server import start

        return start
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
