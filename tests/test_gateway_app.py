"""The gateway's ASGI app on its own (helpers/gateway/app.py), driven over ASGI with the hub's answers given by the
test, so a test decides exactly when each dashboard reads its stream. The gateway on a real hub is
tests/test_gateway.py; the dashboard in Chromium through the hub is tests/browser/test_dashboard_browser.py.
"""

from __future__ import annotations

import asyncio
import json

from helpers.gateway.app import COOKIE, Gateway, Hub
from helpers.gateway.store import Store

TEACHER_TOKEN = "teacher-token"


async def teacher(token: str) -> str | None:
    return "teacher" if token == TEACHER_TOKEN else None


async def instructor(name: str) -> bool:
    return name == "teacher"


async def no_code(code: str) -> str:
    raise AssertionError("no OAuth exchange in these tests")


def gateway(tmp_path) -> Gateway:
    hub = Hub(identify=teacher, is_instructor=instructor, login_url=lambda state: "/hub/oauth", token_for_code=no_code)
    return Gateway(Store(tmp_path / "gateway.sqlite"), hub, upstreams={})


class Dashboard:
    """One dashboard's event stream, read as slowly as the test says: while ``held``, a sent snapshot is not taken
    off the wire (the ASGI send does not return), as with a browser on a slow link."""

    def __init__(self, app):
        self.snapshots: list[dict] = []
        self.held = asyncio.Event()
        self.held.set()  # set: not held
        self.received = asyncio.Event()
        headers = [(b"host", b"127.0.0.1"), (b"cookie", f"{COOKIE}={TEACHER_TOKEN}".encode())]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/services/gateway/dashboard/events",
            "raw_path": b"/services/gateway/dashboard/events",
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8800),
        }
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
