"""The web relay: Claude's stream relayed to a browser as Server-Sent Events, and a chat page that reads it.

    from helpers.web import start
    relay = start()              # background thread on 127.0.0.1, prints nothing
    print(relay.url)             # open it in a browser; relay.stop() ends it

From a shell: ``python -m helpers.web --help``. ``GET /chat`` (for ``EventSource``) needs the page's token:
``token_in(page_html)`` reads it from the page; a client outside a browser may simply ``POST /chat`` its JSON. The framing functions (``naive_frame``, ``frame``, ``parse``) show
why every ``data:`` line should be JSON.
"""

import logging

from .app import create_app
from .framing import Reader, frame, naive_frame, parse
from .gate import token_in

logging.getLogger(__name__).addHandler(logging.NullHandler())  # a server in a notebook's thread must not print


def start(host: str = "127.0.0.1", port: int = 0, *, read_timeout: float | None = None, **options):
    """Serve :func:`create_app(**options) <create_app>` in a background thread; returns a handle with ``.url`` and
    ``.stop()`` (also a context manager). uvicorn runs with the course's limits (``helpers.offline.server``): bounded
    connections, and ``read_timeout`` seconds (default 20) for each request to arrive whole; on httptools, as
    ``python -m helpers.web`` does."""
    from helpers.offline.server import READ_TIMEOUT, DeadlineHttpToolsProtocol, serve_in_thread

    timeout = READ_TIMEOUT if read_timeout is None else read_timeout
    app = create_app(**options)
    return serve_in_thread(app, host, port, name="web-relay", read_timeout=timeout, http=DeadlineHttpToolsProtocol)


__all__ = ["Reader", "create_app", "frame", "naive_frame", "parse", "start", "token_in"]
