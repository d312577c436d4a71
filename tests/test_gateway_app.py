"""The gateway's ASGI app on its own (helpers/gateway/app.py), driven over ASGI with the hub's answers given by the
test, so a test decides exactly when each dashboard reads its stream. The gateway on a real hub is
tests/test_gateway.py; the dashboard in Chromium through the hub is tests/browser/test_dashboard_browser.py.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
import time
from contextlib import contextmanager

import anthropic
import httpx2
import pytest

from helpers.connect import OFFLINE_KEY
from helpers.gateway.__main__ import LocalAPI
from helpers.gateway.app import COOKIE, Gateway, Hub, Upstream
from helpers.gateway.store import Limits, Store
from helpers.offline import start
from helpers.offline.server import serve_in_thread

from .conftest import MODEL

TEACHER_TOKEN = "teacher-token"


async def teacher(token: str) -> str | None:
    return "teacher" if token == TEACHER_TOKEN else None


async def instructor(name: str) -> bool:
    return name == "teacher"


async def no_code(code: str) -> str:
    raise AssertionError("no OAuth exchange in these tests")


def gateway(tmp_path, upstreams: dict | None = None) -> Gateway:
    hub = Hub(identify=teacher, is_instructor=instructor, login_url=lambda state: "/hub/oauth", token_for_code=no_code)
    return Gateway(Store(tmp_path / "gateway.sqlite"), hub, upstreams=upstreams or {})


def asgi_scope(method: str, path: str, headers: dict | None = None) -> dict:
    """An HTTP request from the instructor's browser on the gateway's host, with the dashboard's cookie."""
    sent = {"host": "127.0.0.1", "cookie": f"{COOKIE}={TEACHER_TOKEN}", **(headers or {})}
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in sent.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8800),
    }


async def call(app, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """One whole request to the ASGI ``app``: its status and JSON answer."""
    headers = {"content-type": "application/json", "sec-fetch-site": "same-origin"} if body is not None else {}
    sent, status, answer = False, 0, b""

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": json.dumps(body).encode() if body else b"", "more_body": False}
        await asyncio.Event().wait()

    async def send(message):
        nonlocal status, answer
        if message["type"] == "http.response.start":
            status = message["status"]
        answer += message.get("body", b"")

    await app(asgi_scope(method, path, headers), receive, send)
    return status, json.loads(answer)


class Dashboard:
    """One dashboard's event stream, read as slowly as the test says: while ``held``, a sent snapshot is not taken
    off the wire (the ASGI send does not return), as with a browser on a slow link."""

    def __init__(self, app):
        self.snapshots: list[dict] = []
        self.held = asyncio.Event()
        self.held.set()  # set: not held
        self.received = asyncio.Event()
        scope = asgi_scope("GET", "/services/gateway/dashboard/events")
        self.task = asyncio.create_task(app(scope, self.receive, self.send))

    async def receive(self):
        if not hasattr(self, "_asked"):
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the browser stays connected

    async def send(self, message):
        if message["type"] == "http.response.start":
            assert message["status"] == 200
        for line in message.get("body", b"").decode().splitlines():
            if line.startswith("data: "):
                self.snapshots.append(json.loads(line[6:]))
                self.received.set()
        await self.held.wait()

    async def until(self, check, timeout: float = 5) -> dict:
        """The first snapshot received for which ``check`` holds (a TimeoutError after ``timeout`` seconds)."""

        async def seen() -> dict:
            while not (self.snapshots and check(self.snapshots[-1])):
                await asyncio.sleep(0.02)
            return self.snapshots[-1]

        return await asyncio.wait_for(seen(), timeout)


def lesson(snapshot: dict) -> str:
    return snapshot["learners"][0]["lesson"] if snapshot["learners"] else ""


def verdicts(snapshot: dict) -> list:
    return snapshot["learners"][0]["verdicts"] if snapshot["learners"] else []


def test_every_dashboard_sees_every_change_even_while_another_is_still_reading(tmp_path):
    """Two dashboards (the instructor's and a TA's). While one is still taking a snapshot off the wire, a learner's
    verdict arrives and the other dashboard sends it on. The slow one must see the verdict as soon as it is free:
    with one shared event that each stream cleared, the other's clear hid it, and the slow dashboard lagged until
    the next keep-alive (15 s)."""

    async def scenario():
        app = gateway(tmp_path)
        asgi = app.app()
        slow, quick = Dashboard(asgi), Dashboard(asgi)
        for dashboard in (slow, quick):
            await dashboard.until(lambda snapshot: snapshot["learners"] == [])
        slow.held.clear()  # slow's next snapshot stays in its send
        app.store.started("ann", "01_text_stream.ipynb")
        app.touch()
        for dashboard in (slow, quick):
            await dashboard.until(lambda snapshot: lesson(snapshot) == "01_text_stream.ipynb")
        app.store.verdict("ann", "01_text_stream.ipynb", "lesson01.check", "PASS")
        app.touch()  # while slow is still sending the snapshot from before this change
        await quick.until(lambda snapshot: verdicts(snapshot) != [])
        await asyncio.sleep(0.1)
        slow.held.set()
        seen = await slow.until(lambda snapshot: verdicts(snapshot) != [])
        assert (seen["learners"][0]["name"], verdicts(seen)[0]["verdict"]) == ("ann", "PASS")
        for dashboard in (slow, quick):
            dashboard.task.cancel()
        await asyncio.gather(slow.task, quick.task, return_exceptions=True)
        await app.http.aclose()
        app.store.close()

    asyncio.run(scenario())


def test_switching_to_a_mode_whose_local_api_must_start_holds_up_nothing(tmp_path):
    """Switching the class to recorded starts the class's recorded local API, a new process that takes seconds to
    answer. The switch used to wait for it inside the event loop, so every learner's stream and every dashboard
    stalled meanwhile; now other requests are answered while it starts."""
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    recorded = LocalAPI("--pace", "instant", "--cassettes", str(cassettes))

    async def scenario():
        app = gateway(tmp_path, {"recorded": recorded})
        asgi = app.app()
        switch = asyncio.create_task(
            call(asgi, "POST", "/services/gateway/dashboard/control", {"action": "mode", "mode": "recorded"})
        )
        await asyncio.sleep(0)  # the switch begins: its process is started
        status, state = await call(asgi, "GET", "/services/gateway/dashboard/state")
        answered_during_the_switch = not switch.done()
        assert status == 200 and state["mode"] == "offline"
        status, state = await asyncio.wait_for(switch, 120)
        await app.http.aclose()
        app.store.close()
        return answered_during_the_switch, status, state

    try:
        answered_during_the_switch, status, state = asyncio.run(scenario())
        assert (status, state["mode"]) == (200, "recorded")
        assert answered_during_the_switch
        assert httpx2.get(recorded.url + "/_offline/stats", timeout=30).status_code == 200  # it is up
    finally:
        recorded.stop()


async def learners(token: str) -> str | None:
    return token.removesuffix("-token") if token.endswith("-token") else None


def test_count_tokens_and_models_pass_the_same_rules_as_messages(tmp_path):
    """Every path the gateway forwards spends the class's key (and its organisation's rate limits): requests per
    minute count them all, and a paused class or a spent budget refuses them all, in the API's error shape. Streams at
    once concern messages only: these answer at once."""
    hub = Hub(identify=learners, is_instructor=instructor, login_url=lambda state: "/hub/oauth", token_for_code=no_code)
    with start(pace="instant") as api:
        upstreams = {"offline": lambda: Upstream(api.url, "", offline=True)}
        gate = Gateway(Store(tmp_path / "gateway.sqlite"), hub, upstreams=upstreams)
        gate.store.set_limits(Limits.checked({"streams": 1, "per_minute": 3, "tokens": 1000}))
        forwarded: list[str] = []

        async def upstream_request(request: httpx2.Request) -> None:
            forwarded.append(request.url.path)

        gate.http.event_hooks = {"request": [upstream_request], "response": []}
        with serve_in_thread(gate.app()) as server:

            def sdk(name: str) -> anthropic.Anthropic:
                url = server.url + "/services/gateway"
                return anthropic.Anthropic(base_url=url, api_key=f"{name}-token", max_retries=0)

            count = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
            ann = sdk("ann")
            assert ann.messages.count_tokens(**count).input_tokens > 0
            assert ann.models.list().data
            assert ann.models.retrieve(MODEL).id == MODEL
            for over in (lambda: ann.messages.count_tokens(**count), ann.models.list):
                with pytest.raises(anthropic.RateLimitError, match="at most 3 requests per minute"):
                    over()

            gate.store.spent("bob", 1000)
            for spent in (lambda: sdk("bob").messages.count_tokens(**count), sdk("bob").models.list):
                with pytest.raises(anthropic.PaymentRequiredError, match="token budget"):
                    spent()

            gate.paused = True
            for paused in (lambda: sdk("cy").messages.count_tokens(**count), sdk("cy").models.list):
                with pytest.raises(anthropic.PermissionDeniedError, match="paused"):
                    paused()
            gate.paused = False
            assert sdk("cy").models.list().data
    # what was refused never reached the upstream
    assert forwarded == ["/v1/messages/count_tokens", "/v1/models", f"/v1/models/{MODEL}", "/v1/models"]


# -- the API's limits and accounting, over real HTTP: the real SDK (or raw httpx) -> the gateway -> a local API --------

LEARNER_TOKEN = "ann-token"  # ann's, as learners() reads it
ESSAY = [{"role": "user", "content": "Write a long essay about debugging."}]


@contextmanager
def served(tmp_path, limits: Limits):
    """The gateway on 127.0.0.1 over a local Messages API at 400 tokens/s; the learner's token is LEARNER_TOKEN."""
    hub = Hub(identify=learners, is_instructor=instructor, login_url=lambda state: "/hub/oauth", token_for_code=no_code)
    with start(pace=400) as api:
        app = Gateway(
            Store(tmp_path / "gateway.sqlite"), hub, {"offline": lambda: Upstream(api.url, OFFLINE_KEY, True)}
        )
        app.store.set_limits(limits)
        server = serve_in_thread(app.app(), name="gateway-under-test")
        try:
            yield app, server.url + "/services/gateway"
        finally:
            server.stop()
            app.store.close()


def tokens_used(app: Gateway) -> int:
    return sum(row["tokens"] for row in app.store.learners())


def settled(app: Gateway, name: str = "ann") -> int:
    """The tokens counted once ``name`` has no stream in flight: the gateway counts a stream when it notices its end,
    a moment after the client has read (or dropped) it."""
    deadline = time.monotonic() + 30
    while app.live.streams[name] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.live.streams[name] == 0, "a stream was never given back"
    return tokens_used(app)


def test_streams_sent_at_once_cannot_all_pass_the_streams_at_once_limit(tmp_path):
    """Each request holds its body back for a moment: the check used to pass them all (8 at once under a limit of 1),
    since a stream was counted only once its body had arrived."""
    body = json.dumps({"model": MODEL, "max_tokens": 64, "messages": ESSAY, "stream": True}).encode()
    headers = {"x-api-key": LEARNER_TOKEN, "content-type": "application/json", "content-length": str(len(body))}
    headers["x-offline-fault"] = "stall@1:5"  # the stream let through is surely in flight while the others are checked

    async def held_back():
        await asyncio.sleep(0.5)
        yield body

    async def at_once(url: str) -> list[int]:
        async with httpx2.AsyncClient(timeout=60) as http:

            async def one() -> int:
                async with http.stream("POST", url + "/v1/messages", content=held_back(), headers=headers) as answer:
                    await answer.aread()
                    return answer.status_code

            return await asyncio.gather(*(one() for _ in range(8)))

    with served(tmp_path, Limits(streams=1, per_minute=1000, tokens=10**6)) as (app, url):
        statuses = asyncio.run(at_once(url))
        assert sorted(statuses) == [200] + [429] * 7, statuses
        settled(app)  # every stream given back
        anthropic.Anthropic(base_url=url, api_key=LEARNER_TOKEN, max_retries=0).messages.create(
            model=MODEL, max_tokens=16, messages=ESSAY
        )


def test_a_stream_the_learner_cuts_before_its_final_usage_is_still_counted(tmp_path):
    """The output tokens are in the stream's last message_delta: a client that hung up just before it (here after
    nine tenths of the answer) was counted its input and one token."""
    with served(tmp_path, Limits(streams=2, per_minute=1000, tokens=10**6)) as (app, url):
        client = anthropic.Anthropic(base_url=url, api_key=LEARNER_TOKEN, max_retries=0)
        with client.messages.stream(model=MODEL, max_tokens=2000, messages=ESSAY) as stream:
            whole = stream.get_final_message()
        full = whole.usage.input_tokens + whole.usage.output_tokens
        assert settled(app) == full  # a stream that ends is counted its own usage, exactly
        text = ""
        with client.messages.stream(model=MODEL, max_tokens=2000, messages=ESSAY) as stream:
            for event in stream:
                text += event.delta.text if event.type == "content_block_delta" else ""
                if len(text) >= 0.9 * len(whole.content[0].text):
                    break
        assert settled(app) - full >= whole.usage.input_tokens + 0.8 * whole.usage.output_tokens


def test_each_learners_retries_are_their_own_on_the_class_local_api(tmp_path):
    """Lesson 04's demo (``http:529*2``: two failures, then an answer) run by two learners at once through the class's
    one local API: the count of attempts was the spec's, shared by everyone (and the gateway dropped the SDK's attempt
    number), so one learner's third attempt failed again and the SDK gave up where the lesson says it succeeds."""
    body = {"model": MODEL, "max_tokens": 16, "messages": ESSAY}

    def attempt(http: httpx2.Client, token: str, number: int) -> int:
        headers = {"x-api-key": token, "x-offline-fault": "http:529*2", "x-stainless-retry-count": str(number)}
        return http.post("/v1/messages", json=body, headers=headers).status_code

    with served(tmp_path, Limits(streams=2, per_minute=1000, tokens=10**6)) as (_, url):
        with httpx2.Client(base_url=url, timeout=30) as http:
            ann, bob = [], []
            for number in range(3):  # ann and bob take turns, as two kernels retrying at the same time do
                ann.append(attempt(http, "ann-token", number))
                bob.append(attempt(http, "bob-token", number))
            again = [attempt(http, "ann-token", number) for number in range(3)]  # a new run starts the count again
    assert ann == bob == again == [529, 529, 200]


def test_an_upstream_that_compresses_what_a_client_accepts_still_streams_and_is_counted(tmp_path):
    """The gateway passes the upstream's bytes on as they come and reads them for the usage. httpx asks for gzip by
    default, and an upstream (or a CDN before it) that compresses when asked broke every stream: the SDK got gzip
    with no Content-Encoding and gave up, and no token was counted. The gateway asks for identity."""
    with start(pace="instant") as api:

        async def compressing(scope, receive, send):
            body, more = b"", True
            while more:
                message = await receive()
                body, more = body + message.get("body", b""), message.get("more_body", False)
            async with httpx2.AsyncClient(timeout=30) as http:
                answer = await http.post(api.url + scope["path"], content=body, headers={"x-api-key": OFFLINE_KEY})
            gzipped = b"gzip" in dict(scope["headers"]).get(b"accept-encoding", b"")
            headers = [(b"content-type", answer.headers["content-type"].encode())]
            headers += [(b"content-encoding", b"gzip")] if gzipped else []
            await send({"type": "http.response.start", "status": answer.status_code, "headers": headers})
            await send(
                {"type": "http.response.body", "body": gzip.compress(answer.content) if gzipped else answer.content}
            )

        hub = Hub(identify=learners, is_instructor=instructor, login_url=lambda state: "/", token_for_code=no_code)
        with serve_in_thread(compressing, name="compressing-upstream") as upstream:
            app = Gateway(Store(tmp_path / "gateway.sqlite"), hub, {"live": lambda: Upstream(upstream.url, "k", False)})
            app.store.set_mode("live")
            with serve_in_thread(app.app(), name="gateway-under-test") as server:
                client = anthropic.Anthropic(base_url=server.url + "/services/gateway", api_key=LEARNER_TOKEN)
                with client.messages.stream(model=MODEL, max_tokens=64, messages=ESSAY) as stream:
                    usage = stream.get_final_message().usage
            assert tokens_used(app) == usage.input_tokens + usage.output_tokens
            app.store.close()


def test_the_instructor_check_asks_the_hub_about_that_user_name_only(tmp_path, monkeypatch):
    """A hub lets a user name hold ``?`` or ``#`` (JupyterHub refuses only ``/``): put in the API's path as it was,
    'teacher?x' asked the hub about teacher, an admin, and was let in to the dashboard wherever the hub lets every
    user reach the service (this course's hub config lets only admins and instructors: the hub refused first)."""
    from helpers.gateway.__main__ import hub_from_environment

    asked: list[str] = []

    async def hub_api(scope, receive, send):  # the hub's GET /users/NAME, for an admin named teacher
        asked.append(scope["raw_path"].decode())
        found = scope["path"] == "/hub/api/users/teacher"
        body = json.dumps({"name": "teacher", "admin": True, "groups": []} if found else {}).encode()
        await send({"type": "http.response.start", "status": 200 if found else 404, "headers": []})
        await send({"type": "http.response.body", "body": body})

    with serve_in_thread(hub_api, name="hub-api-stand-in") as hub:
        for name, value in {
            "JUPYTERHUB_API_TOKEN": "service-token",
            "JUPYTERHUB_API_URL": hub.url + "/hub/api",
            "JUPYTERHUB_CLIENT_ID": "service-gateway",
            "JUPYTERHUB_SERVICE_PREFIX": "/services/gateway/",
            "JUPYTERHUB_OAUTH_CALLBACK_URL": "/services/gateway/oauth_callback",
        }.items():
            monkeypatch.setenv(name, value)
        is_instructor = hub_from_environment().is_instructor

        async def ask() -> list[bool]:
            return [await is_instructor(name) for name in ("teacher?x", "teacher#x", "teacher")]

        verdicts = asyncio.run(ask())
    assert verdicts == [False, False, True]
    assert asked == ["/hub/api/users/teacher%3Fx", "/hub/api/users/teacher%23x", "/hub/api/users/teacher"]


def test_input_tokens_written_to_or_read_from_the_prompt_cache_count_against_the_budget(tmp_path):
    """With prompt caching, ``input_tokens`` is only what follows the last cache breakpoint: the prompt written to or
    read from the cache is in ``cache_creation_input_tokens`` and ``cache_read_input_tokens``, billed too. Counted
    without them, five requests with a fresh 40,000-token cached system prompt each went through a 20,000-token
    budget, 105 tokens counted: a learner's budget bounded nothing."""
    system = [{"type": "text", "text": "A long brief. " * 1500, "cache_control": {"type": "ephemeral"}}]
    ask = {"model": MODEL, "max_tokens": 16, "system": system, "messages": [{"role": "user", "content": "Hi"}]}

    def billed(usage) -> int:
        cached = (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
        return usage.input_tokens + cached + usage.output_tokens

    with served(tmp_path, Limits(streams=2, per_minute=1000, tokens=10**6)) as (app, url):
        client = anthropic.Anthropic(base_url=url, api_key=LEARNER_TOKEN, max_retries=0)
        written = client.messages.create(**ask).usage  # not streamed: the cache is written
        assert written.cache_creation_input_tokens > 1000
        assert settled(app) == billed(written)
        with client.messages.stream(**ask) as stream:  # streamed: the cache is read
            read = stream.get_final_message().usage
        assert read.cache_read_input_tokens > 1000
        assert settled(app) == billed(written) + billed(read)


def test_a_lone_surrogate_in_what_a_learner_sends_stops_no_write_and_no_stream(tmp_path):
    """JSON may escape a lone surrogate (``"\\ud800"``), which SQLite cannot store as UTF-8: a verdict naming one
    raised UnicodeEncodeError in the store's writer thread, which ended it, so that change and every later one (any
    learner's usage, the instructor's controls) never reached the disk, and every response that waits for its change
    to be written (a verdict, the end of every stream) hung for good: one request stopped the whole class."""
    raw = b'{"exercise": "\\ud800 ex1", "verdict": "PASS"}'
    with served(tmp_path, Limits(streams=2, per_minute=1000, tokens=10**6)) as (app, url):
        with httpx2.Client(base_url=url, timeout=15) as http:
            sent = http.post("/course/verdicts", content=raw, headers={"x-api-key": LEARNER_TOKEN})
            assert sent.status_code == 204
        bob = anthropic.Anthropic(base_url=url, api_key="bob-token", max_retries=0, timeout=15)
        with bob.messages.stream(model=MODEL, max_tokens=16, messages=ESSAY) as stream:
            usage = stream.get_final_message().usage
        settled(app, "bob")
        assert app.store.learners()[1]["tokens"] == usage.input_tokens + usage.output_tokens
        again = Store(tmp_path / "gateway.sqlite")  # what a restart finds on disk: both changes
        (ann, bob_row) = again.learners()
        assert bob_row["tokens"] == usage.input_tokens + usage.output_tokens
        assert [v["exercise"] for v in ann["verdicts"]] == ["\ufffd ex1"]
        again.close()


def test_a_request_for_more_tokens_than_the_budget_has_left_is_refused_naming_both(tmp_path):
    """The budget was checked before a request only (``left > 0``): with 1 token left, a learner could still ask for
    the model's largest answer. A message whose ``max_tokens`` is more than is left gets the budget's 402, naming both
    numbers and what to do, and reaches no upstream; one that fits goes through."""
    with served(tmp_path, Limits(streams=2, per_minute=1000, tokens=1000)) as (app, url):
        app.store.spent("ann", 700)
        client = anthropic.Anthropic(base_url=url, api_key=LEARNER_TOKEN, max_retries=0)
        with pytest.raises(anthropic.PaymentRequiredError) as refused:
            client.messages.create(model=MODEL, max_tokens=2000, messages=ESSAY)
        assert refused.value.body["error"]["type"] == "billing_error"
        message = refused.value.message
        assert "max_tokens 2,000" in message and "300 tokens left" in message, message
        assert "max_tokens=300" in message and "ask your instructor" in message, message
        assert tokens_used(app) == 700 and app.live.streams["ann"] == 0  # nothing reached the upstream
        assert app.store.learners()[0]["error_type"] == "billing_error"  # the dashboard says why
        with client.messages.stream(model=MODEL, max_tokens=300, messages=ESSAY) as stream:
            assert stream.get_final_message().usage.output_tokens <= 300
        assert app.live.reserved["ann"] == 0  # what the stream held back is given back


def test_once_the_budget_left_cannot_cover_the_streams_in_flight_only_one_runs_at_a_time(tmp_path):
    """With a little left, a learner used to start as many full streams as the streams-at-once limit allows, all
    counted only afterwards. A stream in flight holds its ``max_tokens`` back from what is left: a second one that
    does not fit beside it gets 429 (wait for the other), one that fits runs beside it."""
    with served(tmp_path, Limits(streams=2, per_minute=1000, tokens=1000)) as (app, url):
        app.store.spent("ann", 700)
        client = anthropic.Anthropic(base_url=url, api_key=LEARNER_TOKEN, max_retries=0)
        held = {"x-offline-fault": "stall@1:5"}  # the first stream is surely still in flight while the others ask
        with client.messages.stream(model=MODEL, max_tokens=200, messages=ESSAY, extra_headers=held) as first:
            next(iter(first))  # its first event: the gateway has let it through
            with pytest.raises(anthropic.RateLimitError) as refused:
                client.messages.create(model=MODEL, max_tokens=200, messages=ESSAY)
            message = refused.value.message
            assert "300 tokens left" in message and "200 of them" in message and "one stream at a time" in message
            assert int(refused.value.response.headers["retry-after"]) >= 1
            beside = client.messages.create(model=MODEL, max_tokens=50, messages=ESSAY)  # 200 + 50 fit in 300
            assert beside.usage.output_tokens <= 50
            first.close()
        settled(app)
        assert app.live.reserved["ann"] == 0


def test_a_header_httpx_cannot_send_is_refused_with_400_and_a_unicode_name_runs_the_fault_demos(tmp_path):
    """httpx sends header values in ASCII only: a learner's ``anthropic-beta: é`` raised in the gateway (a bare 500
    the SDK retried), and so did lesson 04's fault demos for every learner whose hub name is not ASCII (the gateway
    names the learner to the class's local API in a header)."""
    body = {"model": MODEL, "max_tokens": 16, "messages": ESSAY}

    async def anyone(token: str) -> str | None:
        return {"ann-token": "ann", "jose-token": "josé"}.get(token)

    with served(tmp_path, Limits(streams=1, per_minute=1000, tokens=10**6)) as (app, url):
        app.hub = Hub(identify=anyone, is_instructor=instructor, login_url=lambda state: "/", token_for_code=no_code)
        with httpx2.Client(base_url=url, timeout=30) as http:
            odd = {"x-api-key": LEARNER_TOKEN, "anthropic-beta": "é".encode("latin-1")}
            refused = http.post("/v1/messages", json=body, headers=odd)
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"]["message"] == "Header anthropic-beta: expected ASCII characters only."
            assert http.post("/v1/messages", json=body, headers={"x-api-key": LEARNER_TOKEN}).status_code == 200
            fault = {"x-api-key": "jose-token", "x-offline-fault": "http:529*1", "x-stainless-retry-count": "0"}
            assert http.post("/v1/messages", json=body, headers=fault).status_code == 529
            fault["x-stainless-retry-count"] = "1"
            assert http.post("/v1/messages", json=body, headers=fault).status_code == 200


def test_a_body_of_more_json_values_than_any_lesson_sends_is_refused_unread(tmp_path):
    """32 MiB of tiny JSON values (``{},{},...``) took the gateway 0.7-1.8 s of its event loop and 900 MB to parse
    for max_tokens, and the class's one local API 13 s to check: every learner's stream waited meanwhile, and two
    such requests at a time from one learner held the class up for good. They are refused (413) before either reads
    them, counted with bytes.count."""
    crafted = b'{"model": "%s", "max_tokens": 16, "x": [' % MODEL.encode() + b"{}," * 300_000 + b"{}]}"
    with served(tmp_path, Limits(streams=2, per_minute=1000, tokens=10**6)) as (app, url):
        forwarded: list[str] = []

        async def upstream_request(request: httpx2.Request) -> None:
            forwarded.append(request.url.path)

        app.http.event_hooks = {"request": [upstream_request], "response": []}
        headers = {"x-api-key": LEARNER_TOKEN, "content-type": "application/json"}
        with httpx2.Client(base_url=url, timeout=60) as http:
            for path in ("/v1/messages", "/v1/messages/count_tokens"):
                refused = http.post(path, content=crafted, headers=headers)
                assert refused.status_code == 413, refused.text
                assert refused.json()["error"]["type"] == "request_too_large"
                assert "at most 200,000 JSON values" in refused.json()["error"]["message"]
        assert forwarded == [] and app.live.streams["ann"] == 0
        client = anthropic.Anthropic(base_url=url, api_key=LEARNER_TOKEN, max_retries=0)
        assert client.messages.create(model=MODEL, max_tokens=16, messages=ESSAY).usage.output_tokens > 0


def test_max_tokens_written_as_a_float_is_held_back_from_the_budget_too(tmp_path):
    """The API takes ``"max_tokens": 2000.0`` as 2000; the gateway held nothing back for it, so a learner with 100
    tokens left could start a 2,000-token stream (or two at once)."""
    body = json.dumps({"model": MODEL, "max_tokens": 2000.0, "messages": ESSAY}).encode()
    with served(tmp_path, Limits(streams=2, per_minute=1000, tokens=100)) as (app, url):
        with httpx2.Client(base_url=url, timeout=30) as http:
            headers = {"x-api-key": LEARNER_TOKEN, "content-type": "application/json"}
            answer = http.post("/v1/messages", content=body, headers=headers)
        assert answer.status_code == 402, answer.text
        assert "max_tokens 2,000" in answer.json()["error"]["message"]
        assert tokens_used(app) == 0


def test_a_body_nested_too_deep_to_read_max_tokens_from_is_refused_not_let_past_the_budget(tmp_path):
    """Python's json gives up at about 1,000 levels (RecursionError), far under the 200,000 values a body may hold: the
    gateway held 0 tokens back for such a body and forwarded it, so where the API reads it (a tool_use input may be
    any JSON) a learner with 100 tokens left started streams of 2,000."""
    deep = {"type": "tool_use", "id": "toolu_1", "name": "t", "input": {"x": json.loads("[" * 900 + "]" * 900)}}
    messages = [ESSAY[0], {"role": "assistant", "content": [deep]}, {"role": "user", "content": "go on"}]
    body = json.dumps({"model": MODEL, "max_tokens": 2000, "messages": messages}).encode()
    body = body.replace(b'"x": [', b'"x": ' + b"[" * 200 + b"[", 1).replace(b"]}}]", b"]" * 200 + b"]}}]", 1)
    with served(tmp_path, Limits(streams=2, per_minute=1000, tokens=100)) as (app, url):
        forwarded: list[str] = []

        async def upstream_request(request: httpx2.Request) -> None:
            forwarded.append(request.url.path)

        app.http.event_hooks = {"request": [upstream_request], "response": []}
        with httpx2.Client(base_url=url, timeout=30) as http:
            headers = {"x-api-key": LEARNER_TOKEN, "content-type": "application/json"}
            answer = http.post("/v1/messages", content=body, headers=headers)
        assert answer.status_code == 400, answer.text
        assert "nested too deep" in answer.json()["error"]["message"]
        assert forwarded == [] and app.live.reserved["ann"] == 0
        twice = b'{"model": "%s", "max_tokens": 2000, "max_tokens": 1, "messages": ' % MODEL.encode()
        with httpx2.Client(base_url=url, timeout=30) as http:  # the API may read the first: 2000 past 100 tokens left
            answer = http.post("/v1/messages", content=twice + json.dumps(ESSAY).encode() + b"}", headers=headers)
        assert answer.status_code == 400 and "max_tokens given twice" in answer.text, answer.text
        assert forwarded == []


def test_a_body_the_gateway_cannot_read_is_refused_not_forwarded_with_nothing_held(tmp_path):
    """The gateway held 0 tokens back for any body Python's json refuses and forwarded the raw bytes for the API to
    refuse; other parsers read some of them (invalid UTF-8 in a string replaced by U+FFFD, an integer past Python's
    4,300 digits, bytes after the object), so where the API reads one a learner with 100 tokens left streams 2,000."""
    start = b'{"model": "%s", "max_tokens": 2000, "messages": %s' % (MODEL.encode(), json.dumps(ESSAY).encode())
    unreadable = {
        "not UTF-8": start + b', "metadata": {"user_id": "\xff"}}',
        "a 5,000-digit integer": start + b', "x": ' + b"1" * 5000 + b"}",
        "bytes after the object": start + b"} x",
        "not JSON": b"{not json",
    }
    with served(tmp_path, Limits(streams=2, per_minute=1000, tokens=100)) as (app, url):
        forwarded: list[str] = []

        async def upstream_request(request: httpx2.Request) -> None:
            forwarded.append(request.url.path)

        app.http.event_hooks = {"request": [upstream_request], "response": []}
        headers = {"x-api-key": LEARNER_TOKEN, "content-type": "application/json"}
        with httpx2.Client(base_url=url, timeout=30) as http:
            for what, body in unreadable.items():
                answer = http.post("/v1/messages", content=body, headers=headers)
                assert answer.status_code == 400, (what, answer.text)
                assert "expected JSON" in answer.json()["error"]["message"], (what, answer.text)
        assert forwarded == [] and app.live.reserved["ann"] == 0


@pytest.mark.slow  # a local API process of its own, and a 6M-token prompt counted
def test_one_learners_big_prompt_holds_up_no_other_learner_on_the_class_local_api(tmp_path):
    """The class's one local API read each request on its event loop: a 30 MB prompt takes it seconds to count (up to
    17 s on a busy machine), and every other learner's request and stream waited, so one learner sending big prompts
    two at a time held the whole class up. It reads them in a worker thread: another learner's request sent while the
    big one is being read is answered first. The local API is a process of its own, as the gateway starts it."""
    prompt = [{"role": "user", "content": "word " * 6_000_000}]  # 6M tokens: counted, then refused as too long
    big = json.dumps({"model": MODEL, "max_tokens": 16, "messages": prompt})
    finished: list[str] = []
    answers: list[httpx2.Response] = []
    local = LocalAPI("--pace", "400")
    hub = Hub(identify=learners, is_instructor=instructor, login_url=lambda state: "/", token_for_code=no_code)
    app = Gateway(Store(tmp_path / "gateway.sqlite"), hub, {"offline": local})
    try:
        with serve_in_thread(app.app(), name="gateway-under-test") as server:
            url = server.url + "/services/gateway"

            def ann() -> None:
                headers = {"x-api-key": LEARNER_TOKEN, "content-type": "application/json"}
                answers.append(httpx2.post(url + "/v1/messages", content=big, headers=headers, timeout=300))
                finished.append("ann's big prompt")

            bob = anthropic.Anthropic(base_url=url, api_key="bob-token", max_retries=0, timeout=300)
            bob.messages.create(model=MODEL, max_tokens=16, messages=ESSAY)  # the class's local API is up
            sender = threading.Thread(target=ann)
            sender.start()
            deadline = time.monotonic() + 60
            while httpx2.get(local.url + "/_offline/stats").json()["requests"] < 2:  # ann's has not reached it yet
                assert time.monotonic() < deadline and sender.is_alive(), "ann's prompt never reached the local API"
                time.sleep(0.01)
            bob.messages.create(model=MODEL, max_tokens=16, messages=ESSAY)  # while ann's is being read
            finished.append("bob's request")
            sender.join()
    finally:
        local.stop()
        app.store.close()
    assert "prompt is too long" in answers[0].json()["error"]["message"]
    assert finished == ["bob's request", "ann's big prompt"]


def test_idle_connections_of_one_learner_lock_no_other_learner_out_of_the_gateway(tmp_path):
    """On a TLJH host every learner's kernel reaches the class gateway from 127.0.0.1. One address may hold three
    quarters of the connections, and a new connection past that was closed at once: one learner holding that many
    idle connections (no token needed) locked the whole class out, for as long as they opened new ones. Now the
    address's oldest idle connection gives way to the new one; and verdicts, which a learner could otherwise hold
    open without limit (a body sent slowly keeps a connection busy), are at most 4 at once per learner."""
    from helpers.offline.server import MAX_CONNECTIONS, DeadlineHttpToolsProtocol

    async def held_back():
        await asyncio.sleep(3)
        yield b'{"exercise": "ex1", "verdict": "PASS"}'

    async def verdicts_at_once(app: Gateway, url: str) -> tuple[list[int], int]:
        headers = {"x-api-key": LEARNER_TOKEN, "content-type": "application/json"}
        async with httpx2.AsyncClient(timeout=60) as http:

            async def one() -> int:
                return (await http.post(url + "/course/verdicts", content=held_back(), headers=headers)).status_code

            held = [asyncio.create_task(one()) for _ in range(4)]
            while app.live.verdicts["ann"] < 4:  # all four bodies are being waited for
                await asyncio.sleep(0.05)
            fifth = await http.post(
                url + "/course/verdicts", json={"exercise": "ex2", "verdict": "PASS"}, headers=headers
            )
            return await asyncio.gather(*held), fifth.status_code

    with start(pace="instant") as api:
        hub = Hub(identify=learners, is_instructor=instructor, login_url=lambda state: "/", token_for_code=no_code)
        app = Gateway(
            Store(tmp_path / "gateway.sqlite"), hub, {"offline": lambda: Upstream(api.url, OFFLINE_KEY, True)}
        )
        with serve_in_thread(app.app(), name="gateway-under-test", http=DeadlineHttpToolsProtocol) as server:
            port = int(server.url.rsplit(":", 1)[1])
            hog = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(MAX_CONNECTIONS * 3 // 4)]
            try:
                bob = anthropic.Anthropic(base_url=server.url + "/services/gateway", api_key="bob-token", max_retries=0)
                assert bob.models.list().data  # from 127.0.0.1 too: got in
            finally:
                for sock in hog:
                    sock.close()
            held, fifth = asyncio.run(verdicts_at_once(app, server.url + "/services/gateway"))
            assert (held, fifth) == ([204] * 4, 429)
        app.store.close()


def test_anyone_opening_the_dashboard_holds_a_bounded_number_of_oauth_states(tmp_path):
    """Each visit without the dashboard's cookie (anyone's: the hub's proxy serves the page to the internet) hands out
    an OAuth state, kept ten minutes; the whole set was rebuilt on every visit. 60,000 visits made each next one cost
    12 ms of the event loop every learner's stream shares. The set is bounded and pruned from its oldest end."""
    from helpers.gateway.app import MAX_OAUTH_STATES

    async def visits(app, n: int) -> set[int]:
        asgi, statuses = app.app(), set()
        for _ in range(n):
            scope = asgi_scope("GET", "/services/gateway/dashboard/")
            scope["headers"] = [(b"host", b"127.0.0.1")]  # no cookie: a stranger

            async def receive():
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message):
                if message["type"] == "http.response.start":
                    statuses.add(message["status"])

            await asgi(scope, receive, send)
        return statuses

    app = gateway(tmp_path)
    assert asyncio.run(visits(app, MAX_OAUTH_STATES + 2000)) == {302}
    assert len(app.live.states) == MAX_OAUTH_STATES
    app.store.close()
