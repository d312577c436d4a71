"""The gateway's ASGI app on its own (helpers/gateway/app.py), driven over ASGI with the hub's answers given by the
test, so a test decides exactly when each dashboard reads its stream. The gateway on a real hub is
tests/test_gateway.py; the dashboard in Chromium through the hub is tests/browser/test_dashboard_browser.py.
"""

from __future__ import annotations

import asyncio
import json

import anthropic
import httpx2
import pytest

from helpers.gateway.__main__ import LocalAPI
from helpers.gateway.app import COOKIE, Gateway, Hub, Upstream
from helpers.gateway.store import Limits, Store
from helpers.offline import start as start_api
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
    with start_api(pace="instant") as api:
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
