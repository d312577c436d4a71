"""The class gateway as an ASGI app: the Messages API passed through byte for byte, per-learner limits, the dashboard.

Everything is served under the hub's prefix for the service (``/services/gateway/``):

- ``v1/…``: the API, the endpoints the course uses only (``POST messages``, ``POST messages/count_tokens``, ``GET
  models``, ``GET models/{id}``): any other (message batches, files) would spend the class's key outside every limit,
  or read what another learner sent under the same key, so it gets a 404. The credential is the learner's hub token (``x-api-key`` or ``Authorization: Bearer``), checked
  with the hub (cached by HubAuth). Every forwarded request passes the instructor's limits first; what crosses one
  gets the API's own error shape, so the SDK raises its usual class: 403 ``permission_error`` while the class is
  paused, 402 ``billing_error`` (``PaymentRequiredError``) once the learner's token budget is spent, 429
  ``rate_limit_error`` with ``retry-after`` past the requests-per-minute limit, or for ``POST v1/messages`` the
  streams-at-once limit. Only messages spend tokens of the budget (their input tokens, cached ones included, and
  output tokens); server tools billed per use (a web search) are not in it. A message may not ask for more output
  (``max_tokens``) than the budget has left (402), and a stream in flight holds its ``max_tokens`` back: once what
  is left cannot cover the streams in flight and a new one, the new one waits (429), so a learner with little left
  runs one stream at a time. A stream that crosses the budget while it runs (by its input) is finished and counted;
  the next request is refused. Pausing the class ends the streams in flight with an ``overloaded_error`` event, as
  the API ends a stream it cannot finish.
- ``offline/v1/…``: the same, always to the class's local Messages API, whatever the class mode: what a lesson's
  ``connect.client(offline=True)`` (its fault demos) reaches, so no kernel starts a local API of its own.
- ``course/verdicts``: a checker's PASS / NOT YET (same credential).
- ``dashboard/…``: the instructor's page, its live state (SSE) and its controls, for hub admins and the instructors
  group only, logged in through the hub's OAuth (a cookie holding the OAuth token, HttpOnly, SameSite=Strict).

No cookie is accepted on the API and no CORS header is sent: another site cannot spend through a learner's browser.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from ..net import LOOPBACK_HOSTS, hostname_of
from ..offline.app import CLIENT_HEADER
from ..offline.sse import SSE_HEADERS
from ..offline.validate import API_MAX_BODY_BYTES
from ..web.framing import Reader
from ..web.gate import host_matches
from . import NOTEBOOK_HEADER
from .store import MODES, Limits, Store

log = logging.getLogger("helpers.gateway")

STATIC = Path(__file__).with_name("static")
# The endpoints a learner may reach with the class's key: the course's, each as "METHOD path" under v1/
FORWARDS = re.compile(r"POST messages(/count_tokens)?|GET models(/[A-Za-z0-9_-][A-Za-z0-9_.:-]*)?")
FORWARDED = (
    "content-type",
    "accept",
    "anthropic-version",
    "anthropic-beta",
    "x-stainless-helper-method",
    "x-stainless-retry-count",  # which attempt this is: a first one starts a counted fault (http:STATUS*K) again
)
RETURNED = ("content-type", "request-id", "retry-after", "x-should-retry")
COOKIE = "course-gateway-dashboard"
STATE_COOKIE = "course-gateway-oauth-state"
STATE_SECONDS = 600  # an OAuth login's state is good this long
MAX_OAUTH_STATES = 10_000  # logins in progress held at once, the oldest given up first
SNAPSHOTS_PER_SECOND = 4  # the dashboard's live updates, at most
# A body's JSON values, at most: 32 MiB of tiny ones ({},{},...) took the gateway 0.7-1.8 s of its event loop and
# 900 MB to parse, and the class's one local API 13 s, every learner's stream held up meanwhile. A million-token
# context is about 4 MB of text, whose commas are far fewer; images and PDFs (base64) hold none.
MAX_JSON_VALUES = 200_000
# A checker sends one verdict at a time; a body held back keeps its connection busy (20 s at most), and verdicts were
# the one thing a learner could send without limit: enough of them held every connection of a shared address.
VERDICTS_AT_ONCE = 4
MAX_VERDICT_BYTES = 4096  # a checker's verdict is a few dozen bytes
CHARS_PER_TOKEN = 4  # English text's usual average, for a stream cut before its final usage
INPUT_USAGE = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
DELTA_WRAPPER = len('{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}}')


async def bounded_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or ``None`` once it passes ``limit`` bytes, announced or sent: counted as it arrives, so a
    body sent without a length (chunked) is never held whole."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return None
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


def estimated_tokens(deltas: int, chars: int) -> int:
    """The output tokens of ``deltas`` content_block_delta events whose data came to ``chars`` characters: at least one
    each, else their text at CHARS_PER_TOKEN (what each event's JSON wraps its text in left out)."""
    return max(deltas, (chars - deltas * DELTA_WRAPPER) // CHARS_PER_TOKEN)


def input_tokens(usage: dict) -> int:
    """Every input token a usage reports: those after the last cache breakpoint (``input_tokens``) and those written
    to or read from the prompt cache, billed too. ``input_tokens`` alone let a learner whose prompt was cached spend
    past any budget (five 40,000-token prompts through a 20,000-token budget, 105 tokens counted)."""
    return sum(usage.get(name) or 0 for name in INPUT_USAGE)


def api_error(status: int, kind: str, message: str, headers: dict | None = None) -> JSONResponse:
    """A refusal in the Messages API's own shape, which the SDK turns into its usual exception class. Most are sent
    before the request's body was read, so the server ends the connection after them: ``connection: close`` says so,
    or a client that kept it alive sends its next request into a closing connection."""
    headers = {"connection": "close", **(headers or {})}
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status, headers=headers)


def json_values(body: bytes) -> int:
    """About how many values a JSON body holds, counted at the speed of ``bytes.count``: its objects, arrays and
    commas (those inside strings too, so never fewer)."""
    return body.count(b"{") + body.count(b"[") + body.count(b",")


class _TwoMaxTokens(ValueError):
    pass


def _one_max_tokens(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object, refused where ``max_tokens`` comes twice: the gateway reads the last, the API may read the first."""
    if sum(key == "max_tokens" for key, _ in pairs) > 1:
        raise _TwoMaxTokens
    return dict(pairs)


def max_tokens_of(body: bytes) -> int | str:
    """A message body's ``max_tokens``, or 0 where it has none the API would take (the API refuses that body), or why
    the gateway cannot read it: nested too deep for Python, max_tokens named twice, or no JSON Python reads (not UTF-8,
    an integer past 4,300 digits, bytes after the object). Each held 0 back and went on, yet other parsers read some of
    them (a tool input nested 1,000 deep; U+FFFD for a bad byte; the first value of many), so where the API does, a
    stream of any size got past the budget. A whole number written as a float (``2000.0``) is one: the API takes it,
    and holding 0 back for it let the stream past."""
    try:
        asked = json.loads(body, object_pairs_hook=_one_max_tokens).get("max_tokens")
    except RecursionError:
        return "nested too deep for the class gateway"
    except _TwoMaxTokens:
        return "max_tokens given twice"
    except ValueError as err:
        return str(err)
    except AttributeError:
        return 0
    if isinstance(asked, float) and asked.is_integer():
        asked = int(asked)
    return asked if isinstance(asked, int) and not isinstance(asked, bool) and asked > 0 else 0


@dataclass
class Slot:
    """One message's place among a learner's streams in flight: the ``max_tokens`` it holds back from the budget."""

    reserved: int = 0


@dataclass
class Upstream:
    """Where one class mode's requests go."""

    url: str
    key: str
    offline: bool  # a local Messages API: its fault header may pass


@dataclass
class Hub:
    """What the gateway asks the hub: who holds a token, and whether a user may see the dashboard."""

    identify: Callable[[str], Awaitable[str | None]]  # token -> user name, or None
    is_instructor: Callable[[str], Awaitable[bool]]
    login_url: Callable[[str], str]  # state -> the hub's OAuth authorize URL
    token_for_code: Callable[[str], Awaitable[str]]


@dataclass
class Live:
    """What lives in memory only: streams in flight, each learner's requests of the last minute, the paused flag."""

    streams: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reserved: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # max_tokens of the streams in flight
    recent: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # set, and replaced by a new one, on each change
    states: dict[str, float] = field(default_factory=dict)  # OAuth states handed out, with their time
    verdicts: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # verdicts whose body is arriving


class Gateway:
    def __init__(
        self,
        store: Store,
        hub: Hub,
        upstreams: dict[str, Callable[[], Upstream]],
        hosts: tuple[str, ...] = (),
        prefix: str = "/services/gateway/",
    ):
        self.store, self.hub, self.upstreams = store, hub, upstreams
        self.hosts = LOOPBACK_HOSTS + tuple(hosts)
        self.prefix = "/" + prefix.strip("/") + "/"
        self.live = Live()
        self.paused = store.paused()
        limits = httpx2.Limits(max_connections=1000, max_keepalive_connections=1000)
        # identity: the bytes are passed on as they come and read for the usage, so none may arrive compressed (httpx
        # asks for gzip, br and zstd by default; a compressing upstream broke every stream and counted no tokens)
        self.http = httpx2.AsyncClient(
            limits=limits, timeout=httpx2.Timeout(600, connect=30), headers={"accept-encoding": "identity"}
        )

    def app(self) -> Starlette:
        routes = [
            Route("/v1/{path:path}", self.api, methods=["GET", "POST", "DELETE"]),
            Route("/offline/v1/{path:path}", self.api, methods=["GET", "POST", "DELETE"]),
            Route("/course/verdicts", self.verdict, methods=["POST"]),
            Route("/oauth_callback", self.oauth_callback),
            Route("/dashboard/", self.dashboard),
            Route("/dashboard/events", self.events),
            Route("/dashboard/state", self.state),
            Route("/dashboard/control", self.control, methods=["POST"]),
            Route("/dashboard/{name:str}", self.static_file),
        ]
        app = Starlette(routes=[Mount(self.prefix.rstrip("/"), routes=routes)])
        return self._host_gate(app)

    def _host_gate(self, app):
        async def gate(scope, receive, send):
            if scope["type"] == "http":
                host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
                if not host_matches(hostname_of(host), self.hosts):
                    message = f"Host {host[:100]!r} is not a name this gateway answers to (COURSE_GATEWAY_HOSTS)"
                    await api_error(421, "invalid_request_error", message)(scope, receive, send)
                    return
            await app(scope, receive, send)

        return gate

    def touch(self) -> None:
        """Wake every dashboard stream. Each waits on the event that was current when it took its snapshot, so none
        misses a change (one shared event, cleared by each stream, let one stream's clear hide a change from another
        that was still sending its snapshot: that dashboard then lagged until the next keep-alive)."""
        changed, self.live.changed = self.live.changed, asyncio.Event()
        changed.set()

    # -- the API ---------------------------------------------------------------------------------------------------

    async def learner(self, request: Request) -> str | Response:
        """The hub user whose token the request carries, or the 401 to answer."""
        token = request.headers.get("x-api-key", "")
        if not token and (auth := request.headers.get("authorization", "")).lower().startswith("bearer "):
            token = auth[7:]
        token = token.strip()
        if not token:
            return api_error(
                401,
                "authentication_error",
                "The class gateway needs your hub token as the API key: use helpers.connect.client(), or "
                "anthropic.Anthropic() in a notebook on the hub (it reads ANTHROPIC_AUTH_TOKEN).",
            )
        name = await self.hub.identify(token)
        if not name:
            return api_error(401, "authentication_error", "This key is not a valid hub token for the class gateway.")
        return name

    def refusal(self, name: str, stream: bool) -> tuple[int, str, str, dict | None] | None:
        """The limit this request would cross, as the API error the learner gets (status, type, message, headers);
        None to let it through. Every forwarded request counts (it spends the key's rate limits upstream); the limit
        on streams at once concerns ``stream`` requests (messages) only."""
        limits = self.store.limits()
        if self.paused:
            return (
                403,
                "permission_error",
                "The instructor has paused the class's requests: wait until they resume.",
                None,
            )
        if (left := self.store.budget_left(name)) <= 0:
            return (
                402,
                "billing_error",
                f"You have used your token budget for this class session ({limits.tokens:,} tokens, {-left:,} over): "
                "ask your instructor to raise it.",
                None,
            )
        if stream and self.live.streams[name] >= limits.streams:
            return (
                429,
                "rate_limit_error",
                f"Class limit: at most {limits.streams} request(s) at once per learner. Wait for your other "
                "stream to finish (or stop it), then try again.",
                {"retry-after": "1"},
            )
        recent, now = self.live.recent[name], time.monotonic()
        while recent and now - recent[0] >= 60:
            recent.popleft()
        if len(recent) >= limits.per_minute:
            wait = max(1, int(60 - (now - recent[0])) + 1)
            return (
                429,
                "rate_limit_error",
                f"Class limit: at most {limits.per_minute} requests per minute per learner. Try again in {wait} s.",
                {"retry-after": str(wait)},
            )
        recent.append(now)
        return None

    def reserve(self, name: str, body: bytes, slot: Slot) -> tuple[int, str, str, dict | None] | None:
        """Hold a message's ``max_tokens`` back from the budget left while it runs (in ``slot``), or the API error to
        answer when it does not fit, as :meth:`refusal` gives it. A body the gateway cannot read is refused (400); one
        without a whole number holds nothing: the upstream answers it with its own 400. Nothing awaits between the
        check and the hold, so requests sent at once cannot all pass it."""
        asked = max_tokens_of(body)
        if isinstance(asked, str):
            expected = "UTF-8, under 1,000 levels deep, integers under 4,300 digits, max_tokens once, nothing after it"
            return (
                400,
                "invalid_request_error",
                f"Request body: expected JSON the class gateway reads ({expected}): {asked}.",
                None,
            )
        left, held = self.store.budget_left(name), self.live.reserved[name]
        if asked > left:
            return (
                402,
                "billing_error",
                f"This request asks for max_tokens {asked:,}, more than the {left:,} tokens left of your token budget "
                f"for this class session: ask for at most max_tokens={left}, or ask your instructor to raise it.",
                None,
            )
        if held and asked + held > left:
            return (
                429,
                "rate_limit_error",
                f"Class limit: your token budget has {left:,} tokens left and your streams in flight may take "
                f"{held:,} of them, so one stream at a time: wait for your other stream to finish (or stop it), or "
                f"ask for at most max_tokens={left - held}.",
                {"retry-after": "1"},
            )
        self.live.reserved[name] += asked
        slot.reserved = asked
        return None

    async def start(self, mode: str) -> Upstream:
        """``mode``'s upstream, started if it needs to be (KeyError or RuntimeError if it cannot be); one that starts
        a process has an async ``start``, so the streams in flight do not wait for it."""
        factory = self.upstreams[mode]
        start = getattr(factory, "start", None)
        return await start() if start else factory()

    async def upstream(self, offline: bool = False) -> Upstream | Response:
        try:
            return await self.start("offline" if offline else self.store.mode())
        except (KeyError, RuntimeError) as err:
            return api_error(503, "api_error", f"The class gateway has no upstream for this mode: {err}")

    async def api(self, request: Request) -> Response:
        name = await self.learner(request)
        if isinstance(name, Response):
            return name
        path = request.path_params["path"]
        if not FORWARDS.fullmatch(f"{request.method} {path}"):
            return api_error(
                404,
                "not_found_error",
                f"The class gateway forwards only POST v1/messages, POST v1/messages/count_tokens and GET v1/models: "
                f"not {request.method} v1/{path[:100]}",
            )
        counted = request.method == "POST" and path == "messages"  # a message: its tokens count against the budget
        if refused := self.refusal(name, stream=counted):
            status, kind, message, headers = refused
            self.store.failed(name, kind, message)
            self.touch()
            return api_error(status, kind, message, headers)
        slot = Slot()
        if counted:
            # The stream is taken with the check, before anything awaits: requests sent at once (each holding its
            # body back) all passed the check before any of them was counted, 8 streams at once under a limit of 1.
            self.live.streams[name] += 1
        try:
            response = await self.forward(request, name, path, slot if counted else None)
        except BaseException:
            if counted:
                self.finish(name, slot)
            raise
        if counted and not isinstance(response, StreamingResponse):
            self.finish(name, slot)  # a stream gives it back when it ends (relay)
        return response

    async def forward(self, request: Request, name: str, path: str, slot: Slot | None) -> Response:
        """Pass the request on; ``slot`` is the stream slot of a message (counted), None for anything else."""
        counted = slot is not None
        upstream = await self.upstream(offline=request.url.path.startswith(self.prefix + "offline/"))
        if isinstance(upstream, Response):
            return upstream
        if (body := await bounded_body(request, API_MAX_BODY_BYTES)) is None:
            return api_error(413, "request_too_large", f"Request body: at most {API_MAX_BODY_BYTES:,} bytes.")
        if (values := json_values(body)) > MAX_JSON_VALUES:
            message = (
                f"Request body: at most {MAX_JSON_VALUES:,} JSON values (objects, arrays and commas) through the class "
                f"gateway, got {values:,}: no lesson needs more, and reading them holds up the whole class."
            )
            return api_error(413, "request_too_large", message)
        if slot is not None and (refused := self.reserve(name, body, slot)):
            status, kind, message, refused_headers = refused
            self.store.failed(name, kind, message)
            self.touch()
            return api_error(status, kind, message, refused_headers)
        headers = {k: v for k in FORWARDED if (v := request.headers.get(k)) is not None}
        if upstream.offline and (fault := request.headers.get("x-offline-fault")):
            headers["x-offline-fault"] = fault
            # the class's one local API counts each learner's retries apart (quoted: a hub name may be any Unicode)
            headers[CLIENT_HEADER] = quote(name, safe="")
        if not all(value.isascii() for value in headers.values()):  # httpx sends ASCII only: it raised, a bare 500
            names = ", ".join(k for k, v in headers.items() if not v.isascii())
            return api_error(400, "invalid_request_error", f"Header {names}: expected ASCII characters only.")
        headers["x-api-key"] = upstream.key
        if counted:
            self.store.started(name, request.headers.get(NOTEBOOK_HEADER, "")[:200])
            self.touch()
        try:
            sent = self.http.build_request(
                request.method, f"{upstream.url}/v1/{path}", params=request.query_params, headers=headers, content=body
            )
            response = await self.http.send(sent, stream=True)
        except httpx2.HTTPError as err:
            if counted:
                self.store.failed(name, "api_connection_error", f"the gateway could not reach its upstream: {err!r}")
            return api_error(502, "api_error", "The class gateway could not reach its upstream; try again.")
        returned = {k: v for k in RETURNED if (v := response.headers.get(k)) is not None}
        if response.headers.get("content-type", "").startswith("text/event-stream") and response.status_code == 200:
            stream = self.relay(response, name, upstream, slot) if slot is not None else response.aiter_raw()
            return StreamingResponse(stream, response.status_code, headers=returned)
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        if counted:
            await asyncio.wrap_future(self.account(name, response.status_code, content, upstream))
        return Response(content, response.status_code, headers=returned)

    def finish(self, name: str, slot: Slot) -> None:
        self.live.streams[name] -= 1
        self.live.reserved[name] -= slot.reserved
        slot.reserved = 0
        self.touch()

    def scrub(self, text: str, upstream: Upstream) -> str:
        return text.replace(upstream.key, "…") if upstream.key else text

    def account(self, name: str, status: int, content: bytes, upstream: Upstream) -> Future:
        """A whole (non-streamed) answer: its usage, or its error (done once on disk)."""
        try:
            body = json.loads(content)
        except ValueError:
            body = {}
        if status == 200 and isinstance(body, dict):
            usage = body.get("usage") or {}
            return self.store.spent(name, input_tokens(usage) + (usage.get("output_tokens") or 0))
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = body["error"]
            return self.store.failed(name, str(error.get("type")), self.scrub(str(error.get("message")), upstream))
        return self.store.failed(name, "api_error", f"HTTP {status}")

    async def relay(self, response: httpx2.Response, name: str, upstream: Upstream, slot: Slot):
        """The upstream's bytes as they come, read on the side for the usage and an error event. A stream that ends
        before its final usage (the learner stopped it, or closed the connection to go uncounted) is counted from the
        deltas it carried, which the API bills too: counting only the usage it began with let a client that hung up
        just before the end take every output token free."""
        reader, tokens_in, tokens_out, final, deltas, delta_chars = Reader(), 0, 0, False, 0, 0
        try:
            async for chunk in response.aiter_raw():
                if self.paused:
                    yield (
                        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":'
                        b'"The instructor paused the class: this stream was stopped."}}\n\n'
                    )
                    self.store.failed(name, "overloaded_error", "stopped by the instructor's pause")
                    break
                yield chunk
                for event in reader.feed(chunk):
                    if event.event == "content_block_delta":
                        deltas, delta_chars = deltas + 1, delta_chars + len(event.data)
                    elif event.event == "message_start":
                        usage = json.loads(event.data)["message"]["usage"]
                        tokens_in, tokens_out = input_tokens(usage), usage.get("output_tokens") or 0
                    elif event.event == "message_delta":
                        usage = json.loads(event.data)["usage"]
                        tokens_out = usage.get("output_tokens") or tokens_out
                        tokens_in = max(tokens_in, input_tokens(usage))  # one that leaves out the cache's is less
                        final = True
                    elif event.event == "error":
                        error = json.loads(event.data).get("error") or {}
                        message = self.scrub(str(error.get("message")), upstream)
                        self.store.failed(name, str(error.get("type")), message)
        finally:
            await response.aclose()
            if not final:
                tokens_out = max(tokens_out, estimated_tokens(deltas, delta_chars))
            written = self.store.spent(name, tokens_in + tokens_out)
            self.finish(name, slot)
            await asyncio.wrap_future(written)  # the response ends once its usage is on disk

    async def verdict(self, request: Request) -> Response:
        name = await self.learner(request)
        if isinstance(name, Response):
            return name
        if self.live.verdicts[name] >= VERDICTS_AT_ONCE:
            message = f"Class limit: at most {VERDICTS_AT_ONCE} checker verdicts at once per learner."
            return api_error(429, "rate_limit_error", message, {"retry-after": "1"})
        self.live.verdicts[name] += 1  # with the check, before anything awaits (as a stream's slot)
        try:
            raw = await bounded_body(request, MAX_VERDICT_BYTES)
        finally:
            self.live.verdicts[name] -= 1
        if raw is None:
            return api_error(413, "request_too_large", f"A verdict: at most {MAX_VERDICT_BYTES:,} bytes.")
        try:
            body = json.loads(raw)
            exercise, verdict = body["exercise"], body["verdict"]
            assert isinstance(exercise, str) and verdict in ("PASS", "NOT YET")
        except (ValueError, KeyError, TypeError, AssertionError):
            return api_error(400, "invalid_request_error", 'expected {"exercise": "…", "verdict": "PASS" or "NOT YET"}')
        written = self.store.verdict(name, request.headers.get(NOTEBOOK_HEADER, "")[:200], exercise[:200], verdict)
        self.touch()
        await asyncio.wrap_future(written)
        return Response(status_code=204)

    # -- the dashboard ---------------------------------------------------------------------------------------------

    async def instructor(self, request: Request) -> str | Response:
        """The instructor behind the dashboard cookie, or where to send the browser (login, or 403)."""
        token = request.cookies.get(COOKIE, "")
        name = await self.hub.identify(token) if token else None
        if not name:
            state, now, states = secrets.token_urlsafe(24), time.monotonic(), self.live.states
            # oldest first (insertion order): the expired, then the oldest past MAX_OAUTH_STATES, one at a time. The
            # whole dict was rebuilt on every visit, and anyone (no login: the hub's proxy serves this page to the
            # internet) could fill it: at 60,000 states each visit cost 12 ms, and a few visits a second held up
            # every learner's stream
            while states and (len(states) >= MAX_OAUTH_STATES or now - next(iter(states.values())) >= STATE_SECONDS):
                del states[next(iter(states))]
            states[state] = now
            redirect = RedirectResponse(self.hub.login_url(state), 302)
            redirect.set_cookie(
                STATE_COOKIE, state, max_age=STATE_SECONDS, path=self.prefix, httponly=True, samesite="lax"
            )
            return redirect
        if not await self.hub.is_instructor(name):
            return Response(
                "The class dashboard is for the hub's admins and the instructors group.\n", 403, media_type="text/plain"
            )
        return name

    async def oauth_callback(self, request: Request) -> Response:
        state, code = request.query_params.get("state", ""), request.query_params.get("code", "")
        if not code or not state or state != request.cookies.get(STATE_COOKIE) or state not in self.live.states:
            return Response("OAuth state mismatch: open the dashboard again.\n", 400, media_type="text/plain")
        del self.live.states[state]
        token = await self.hub.token_for_code(code)
        response = RedirectResponse(self.prefix + "dashboard/", 302)
        response.set_cookie(COOKIE, token, path=self.prefix, httponly=True, samesite="strict")
        response.delete_cookie(STATE_COOKIE, path=self.prefix)
        return response

    async def dashboard(self, request: Request) -> Response:
        who = await self.instructor(request)
        if isinstance(who, Response):
            return who
        return FileResponse(STATIC / "dashboard.html", headers=PAGE_HEADERS)

    async def static_file(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ("dashboard.js", "dashboard.css"):
            return Response("Not found\n", 404, media_type="text/plain")
        return FileResponse(STATIC / name, headers=PAGE_HEADERS)

    def snapshot(self) -> dict:
        learners = self.store.learners()
        for learner in learners:
            learner["streams"] = self.live.streams.get(learner["name"], 0)
        return {
            "mode": self.store.mode(),
            "modes": [m for m in MODES if self.available(m)],
            "paused": self.paused,
            "limits": self.store.limits().__dict__,
            "learners": learners,
        }

    def available(self, mode: str) -> bool:
        try:
            self.upstreams[mode]
        except KeyError:
            return False
        return True

    async def state(self, request: Request) -> Response:
        who = await self.instructor(request)
        if isinstance(who, Response):
            return JSONResponse({"error": "log in as an instructor"}, 403) if who.status_code == 302 else who
        return JSONResponse(self.snapshot(), headers={"cache-control": "no-store"})

    async def events(self, request: Request) -> Response:
        who = await self.instructor(request)
        if isinstance(who, Response):
            return JSONResponse({"error": "log in as an instructor"}, 403) if who.status_code == 302 else who

        async def snapshots():
            while True:
                changed = self.live.changed  # what the next change sets, taken before the snapshot
                yield b"event: state\ndata: " + json.dumps(self.snapshot()).encode() + b"\n\n"
                try:
                    await asyncio.wait_for(changed.wait(), 15)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                await asyncio.sleep(1 / SNAPSHOTS_PER_SECOND)

        return StreamingResponse(
            snapshots(),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )

    async def control(self, request: Request) -> Response:
        who = await self.instructor(request)
        if isinstance(who, Response):
            return JSONResponse({"error": "log in as an instructor"}, 403) if who.status_code == 302 else who
        site = request.headers.get("sec-fetch-site")
        origin = request.headers.get("origin", "")
        if (site is not None and site != "same-origin") or (
            origin and origin.partition("://")[2].lower() != request.headers.get("host", "").lower()
        ):
            return JSONResponse({"error": "refused a control from another site"}, 403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "expected a JSON body (Content-Type: application/json)"}, 415)
        try:
            body = json.loads(await request.body())
            action = body.get("action")
            if action == "mode":
                if not self.available(body.get("mode")):
                    raise ValueError(
                        f"class mode {body.get('mode')!r} is not available: expected one of {self.snapshot()['modes']}"
                    )
                await self.start(body["mode"])  # starts it, or says why it cannot
                written = self.store.set_mode(body["mode"])
            elif action == "pause":
                if not isinstance(body.get("paused"), bool):
                    raise ValueError("paused: expected true or false")
                self.paused = body["paused"]
                written = self.store.set_paused(self.paused)
            elif action == "budget":
                if not isinstance(body.get("learner"), str) or not body["learner"]:
                    raise ValueError("learner: expected a learner's name")
                written = self.store.raise_budget(body["learner"], body.get("tokens"))
            elif action == "limits":
                written = self.store.set_limits(Limits.checked(body.get("limits") or {}))
            else:
                raise ValueError("action: expected mode, pause, budget or limits")
        except (ValueError, AttributeError, RuntimeError) as err:
            return JSONResponse({"error": str(err)}, 400)
        self.touch()
        await asyncio.wrap_future(written)  # the instructor's change is on disk before it is confirmed
        return JSONResponse(self.snapshot())


PAGE_HEADERS = {
    "content-security-policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}


def oauth_login_url(authorize_url: str, client_id: str, redirect_uri: str) -> Callable[[str], str]:
    def login_url(state: str) -> str:
        query = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code", "state": state}
        return f"{authorize_url}?{urlencode(query)}"

    return login_url


__all__ = ["Gateway", "Hub", "Upstream", "api_error", "oauth_login_url", "Store", "Limits"]
