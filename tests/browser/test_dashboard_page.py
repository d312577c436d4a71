"""The dashboard page on its own in Chromium: its files from helpers/gateway/static, its live state and its controls
answered by the test (Playwright routes), so each update arrives exactly when the test says. The whole dashboard,
through the hub and the gateway, is tests/browser/test_dashboard_browser.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.gateway.app import STATIC

from .lab import chromium

pytestmark = pytest.mark.browser

BASE = "http://127.0.0.1:9/services/gateway/dashboard/"  # never reached: every request is answered by a route
LIMITS = {"streams": 2, "per_minute": 30, "tokens": 200_000}
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


def state(mode: str, tokens: int) -> dict:
    learner = {"name": "ann", "tokens": tokens, "budget": 200_000, "requests": 1, "lesson": "01_text_stream.ipynb"}
    learner |= {"error_type": "", "error": "", "seen": 0, "verdicts": []}
    modes = ["offline", "recorded", "live"]
    return {"mode": mode, "modes": modes, "paused": False, "limits": LIMITS, "learners": [learner]}


class Gateway:
    """What the page's requests get: the static files, one snapshot per connection of its event stream (with a short
    retry, so the next snapshot comes when the test queues it), and the controls it posts."""

    def __init__(self, page):
        self.snapshots: list[dict] = []
        self.controls: list[dict] = []
        self.mode = "offline"
        page.route(BASE + "**", self.answer)

    def answer(self, route) -> None:
        name = route.request.url.removeprefix(BASE) or "dashboard.html"
        if name == "events":
            if not self.snapshots:
                route.fulfill(status=204)  # an EventSource stops on 204: the test reconnects it when it needs
                return
            body = f"retry: 50\nevent: state\ndata: {json.dumps(self.snapshots.pop(0))}\n\n"
            route.fulfill(body=body, content_type="text/event-stream")
        elif name == "control":
            sent = json.loads(route.request.post_data or "{}")
            self.controls.append(sent)
            self.mode = sent.get("mode", self.mode)
            route.fulfill(json=state(self.mode, 10))
        else:
            path = STATIC / name
            route.fulfill(body=Path(path).read_bytes(), content_type=TYPES[path.suffix])


@pytest.fixture
def page():
    with chromium() as browser:
        context = browser.new_context()
        yield context.new_page()
        context.close()


def rendered(page, tokens: int) -> None:
    """Until ann's row shows ``tokens`` used: that snapshot has been rendered."""
    page.wait_for_function(
        "(n) => (document.querySelector('tr[data-learner=ann] td.num:nth-of-type(4)')?.textContent || '')"
        ".startsWith(n.toLocaleString('en') + ' /')",
        arg=tokens,
        timeout=30_000,
    )


def test_a_live_update_keeps_the_mode_the_instructor_chose_until_they_send_it(page):
    """An update arrives with every learner's request. It used to rebuild the mode list whenever the list was not
    focused, so a choice made before clicking elsewhere fell back to the class's mode and "Switch mode" sent the mode
    the class was already in (what made the dashboard's hub test time out switching back to offline)."""
    gateway = Gateway(page)
    gateway.snapshots.append(state("recorded", 1))
    page.goto(BASE)
    rendered(page, 1)
    assert page.locator("#mode").input_value() == "recorded"
    page.select_option("#mode", "offline")  # picks without focusing the list, as a click elsewhere would leave it
    page.locator("h1").click()
    gateway.snapshots.append(state("recorded", 2))  # a learner's request: the class is still recorded
    page.evaluate("connect()")
    rendered(page, 2)
    assert page.locator("#mode").input_value() == "offline"
    page.click("#mode-form button[type=submit]")
    page.wait_for_function("document.querySelector('#limits').textContent.startsWith('Mode offline ')")
    assert gateway.controls == [{"action": "mode", "mode": "offline"}]
    # once sent, the list follows the class again: another instructor switches it to live
    gateway.snapshots.append(state("live", 3))
    page.evaluate("connect()")
    rendered(page, 3)
    assert page.locator("#mode").input_value() == "live"


def test_a_live_update_keeps_the_budget_being_typed_and_the_focus_on_its_button(page):
    """A keyboard user types a budget and tabs to Raise; an update arrives before they press Enter. Rows used to be
    rebuilt whenever no field was focused, so the value went back to its default and the focus was lost."""
    gateway = Gateway(page)
    gateway.snapshots.append(state("offline", 1))
    page.goto(BASE)
    rendered(page, 1)
    page.fill("tr[data-learner=ann] input", "5000")
    page.keyboard.press("Tab")
    raise_button = "document.activeElement.getAttribute('aria-label')"
    assert page.evaluate(raise_button) == "Raise ann's budget"
    gateway.snapshots.append(state("offline", 2))
    page.evaluate("connect()")
    rendered(page, 2)  # the row's data did change
    assert page.input_value("tr[data-learner=ann] input") == "5000"
    assert page.evaluate(raise_button) == "Raise ann's budget"
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('tr[data-learner=ann] td.num:nth-of-type(4)').textContent.startsWith('10 /')"
    )
    assert gateway.controls == [{"action": "budget", "learner": "ann", "tokens": 5000}]
