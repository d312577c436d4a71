"""The local Messages API: an Anthropic-compatible server on 127.0.0.1 that speaks the real wire protocol.

    from helpers.offline import start
    api = start(pace="instant")      # background thread, prints nothing
    client = anthropic.Anthropic(base_url=api.url, api_key="anything")

From a shell: ``python -m helpers.offline --help``.
"""

from .server import start

__all__ = ["start"]
