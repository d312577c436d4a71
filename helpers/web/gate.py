"""Who may make the relay spend its key: its own host names, and requests that prove they come from its own page.

A browser sends other sites' requests to the relay too: an ``<img>``, a link, a form, a no-cors ``fetch``. Over plain
``http://`` to any name but localhost, Chromium marks none of them (no ``Sec-Fetch-Site``, and no ``Origin`` on a GET),
so "no header" cannot mean "not a browser". The rule that holds on any host name, over HTTP or HTTPS, behind any
proxy:

- a stream starts only from a ``POST`` whose body is JSON (``Content-Type: application/json``): no form can send that
  type, and another site's ``fetch`` that sets it must first ask the relay's permission (a CORS preflight), which the
  relay never gives;
- a ``GET`` that is not the page or its files (``EventSource`` can only GET) carries the page's token: signed with a
  secret only the relay knows, bound to the host name that served the page, and short-lived. Another site cannot read
  the page, so it cannot know the token.

Host names are checked first (DNS rebinding: another site's name pointed at 127.0.0.1), and ``Sec-Fetch-Site`` or
``Origin``, where a browser sends them, must not name another site.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import time
from collections.abc import Iterable
from urllib.parse import parse_qs

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from helpers.net import LOOPBACK_HOSTS, hostname_of

MAX_BODY_BYTES = 2 * 1024 * 1024  # 2 MiB: more text than the model's context window holds
HOSTS_ENV = "COURSE_RELAY_HOSTS"  # more names, comma-separated: a hub's or proxy's public host, e.g. hub.example.org
SECRET_ENV = "COURSE_RELAY_SECRET"  # the key page tokens are signed with, shared by a relay's workers (hex)
TOKEN_TTL = 15 * 60  # seconds a page's token is good for: reload the page for a new one
TOKEN_PARAM = "token"  # the query parameter a GET carries it in
TOKEN_META = re.compile(r'<meta name="chat-token" content="([0-9a-f.]*)">')  # where the page carries it

log = logging.getLogger(__name__)


def error_response(status: int, kind: str, message: str) -> JSONResponse:
    """A refusal in the Messages API's own error shape: ``{"type": "error", "error": {"type", "message"}}``."""
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status_code=status)


def public_hosts(names: Iterable[str] = ()) -> tuple[str, ...]:
    """Host names the relay answers to besides loopback: ``names`` and those in ``$COURSE_RELAY_HOSTS``
    (comma-separated). Each is a host without scheme or port (``hub.example.org``), or ``*.example.org`` for every
    name under it, or ``*`` for any name: only for a relay no browser reaches but through a proxy, such as one in a
    hub's container (DNS rebinding reaches the browser's own machine). Raises ValueError for anything else."""
    hosts = []
    for name in (n.strip().lower() for n in [*names, *os.environ.get(HOSTS_ENV, "").split(",")]):
        bare = name.removeprefix("*.")
        if name not in ("", "*") and (not bare or any(c in bare for c in "/:*@ ")):
            raise ValueError(
                f"allowed host {name!r}: expected a host name such as 'hub.example.org' or '*.example.org' "
                "(no scheme, port or path)"
            )
        if name:
            hosts.append(name)
    return tuple(dict.fromkeys(hosts))


class PageTokens:
    """Tokens for the relay's own page: ``EXPIRES.SIGNATURE``, an HMAC-SHA256 over the host name that served the
    page and the expiry time. The secret comes from ``$COURSE_RELAY_SECRET`` (so that every worker of one relay
    accepts the others' tokens) or is made at random."""

    def __init__(self, secret: bytes | None = None, ttl: float = TOKEN_TTL):
        shared = os.environ.get(SECRET_ENV, "")
        self.secret = secret or (bytes.fromhex(shared) if shared else secrets.token_bytes(32))
        self.ttl = ttl

    def _sign(self, host: str, expires: str) -> str:
        message = f"chat-page|{hostname_of(host)}|{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def mint(self, host: str) -> str:
        """A token for the page served to a request whose Host header is ``host``."""
        expires = str(int(time.time() + self.ttl))
        return f"{expires}.{self._sign(host, expires)}"

    def problem(self, token: str | None, host: str) -> str | None:
        """What is wrong with ``token`` for a request whose Host header is ``host``, or ``None`` if it is good."""
        if not token:
            return "no token"
        expires, _, signature = token.partition(".")
        if not (expires.isdigit() and len(expires) < 12 and hmac.compare_digest(signature, self._sign(host, expires))):
            return "a token this relay did not sign for this host name"
        if int(expires) < time.time():
            return "an expired token"
        return None


def token_in(page: str) -> str:
    """The token in the relay's page (its ``<meta name="chat-token">``), for a client that reads the page first."""
    if not (match := TOKEN_META.search(page)):
        raise ValueError('expected the relay\'s chat page, with a <meta name="chat-token" content="...">')
    return match[1]


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    return any(p in (host, "*") or (p.startswith("*.") and host.endswith(p[1:])) for p in patterns)


def shown(value: str) -> str:
    """A value from a request, quoted and cut short, for an error message."""
    return repr(value[:100])


def is_page(method: str, path: str) -> bool:
    """The page and its files: what any site may link to, since loading them spends nothing."""
    return method in ("GET", "HEAD") and (path == "/" or path.startswith("/static/"))


class Gate:
    """ASGI middleware, in front of everything else: refuse what another site or another host name asks of the relay,
    and a body announced too large, before any route runs or any byte of the body is read.

    - **Host** must be a loopback name or one of ``public_hosts`` (421 otherwise). The port is not checked: behind a
      notebook server's proxy the Host is the notebook server's.
    - **Sec-Fetch-Site** (scripts cannot set it), where sent, must be ``same-origin`` or ``none``; **Origin**, where
      sent, must name this host or a public one (403). The page and its files are exempt: a link may open them.
    - **POST** only with ``Content-Type: application/json`` (415); any other **GET** with the page's token (403).
    - **Content-Length** over ``MAX_BODY_BYTES`` gets 413 here, in the API's error shape; a body sent without a length
      is counted by FastAPI's own limit (``max_body_size``), whose 413 the app's handler words the same way.
    """

    def __init__(self, app: ASGIApp, public_hosts: Iterable[str] = (), tokens: PageTokens | None = None):
        self.app = app
        self.public_hosts = tuple(public_hosts)
        self.hosts = LOOPBACK_HOSTS + self.public_hosts
        self.public_origins = tuple(h for h in self.public_hosts if h != "*")  # "*" names no site
        self.tokens = tokens or PageTokens()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (refusal := self.refusal(scope)):
            log.info("refused %s %s with %d: %s", scope["method"], scope["path"], refusal[0], refusal[2])
            await error_response(*refusal)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        """``(status, error type, message)`` for a request to refuse, else ``None``."""
        headers, method, path = Headers(scope=scope), scope["method"], scope["path"]
        host = headers.get("host", "")
        if len(hosts := headers.getlist("host")) > 1:  # which one a proxy in front obeys is anyone's guess
            return 400, "invalid_request_error", f"Host: expected one Host header, got {len(hosts)}"
        if not host_matches(hostname_of(host), self.hosts):
            return (
                421,
                "invalid_request_error",
                f"Host {shown(host)} is not a name this relay answers to (it answers to {', '.join(self.hosts)}). "
                f"Behind a proxy or hub, add its public host name with --allow-host or ${HOSTS_ENV}.",
            )
        if is_page(method, path):
            return None
        if where := self.elsewhere(headers, host):
            return 403, "permission_error", f"refused a request from another site ({where})"
        if method == "POST":
            media_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type != "application/json":
                got = shown(media_type or "none")
                return 415, "invalid_request_error", f"Content-Type: expected application/json, got {got}"
        elif method in ("GET", "HEAD"):
            token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(TOKEN_PARAM, [None])[-1]
            if problem := self.tokens.problem(token, host):
                return (
                    403,
                    "permission_error",
                    f"refused a GET with {problem}: a GET starts a stream only with the token of the relay's own page "
                    f'(?{TOKEN_PARAM}=, from its <meta name="chat-token">; reload the page for a new one), '
                    "or POST /chat with a JSON body",
                )
        length = headers.get("content-length", "0")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return 413, "request_too_large", f"request body: at most {MAX_BODY_BYTES:,} bytes, got {int(length):,}"
        return None

    def elsewhere(self, headers: Headers, host: str) -> str | None:
        """The header that shows a request comes from another site, or ``None``."""
        if (site := headers.get("sec-fetch-site")) is not None:
            return None if site in ("same-origin", "none") else f"Sec-Fetch-Site: {shown(site)}"
        if (origin := headers.get("origin")) is None:
            return None
        netloc = origin.partition("://")[2]
        if netloc.lower() == host.lower() or host_matches(hostname_of(netloc), self.public_origins):
            return None
        return f"Origin: {shown(origin)}"
