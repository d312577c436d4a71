"""Another site cannot steer the class or spend through the gateway, in a real chromium, over plain http.

The hub (with the class gateway as its service) is reached as ``http://hub.example:P``, and the attacker's page as
``http://attacker.example:Q``: public-looking names, both mapped to 127.0.0.1 with chromium's
``--host-resolver-rules``, so chromium sends no ``Sec-Fetch-*`` header to either. An instructor logs in and opens the
dashboard (the hub's OAuth), then visits the attacker's page, which fires every simple cross-site request a browser
allows at the dashboard's controls and at the API: text/plain and urlencoded forms (one whose body is valid JSON), a
no-cors ``fetch``, an ``<img>``, a ``<script>``, an iframe. The class is still running, and no learner's usage moved.
"""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from helpers.hub import Hub
from helpers.offline.server import serve_in_thread

from .lab import CHROMIUM_ARGS, chromium_path

pytestmark = [pytest.mark.browser, pytest.mark.hub, pytest.mark.slow]

HUB_NAME, ATTACKER_NAME = "hub.example", "attacker.example"
KEY = "sk-ant-api03-" + "k" * 80 + "-gatewaykeyAA"  # a fake class key: the gateway's upstream is a local API here

ATTACKER_PAGE = """<!doctype html>
<title>another site, over plain http</title>
<script>window.landed = [];</script>
<form id="json-form" method="POST" enctype="text/plain" target="f1" action="__GW__/dashboard/control">
  <input name='{"action": "pause", "paused": true, "x": "' value='"}'>
</form>
<form id="url-form" method="POST" target="f2" action="__GW__/dashboard/control">
  <input name="action" value="pause"><input name="paused" value="true">
</form>
<form id="spend-form" method="POST" enctype="text/plain" target="f3" action="__GW__/v1/messages">
  <input name='{"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}], "x": "'
         value='"}'>
</form>
<iframe name="f1"></iframe><iframe name="f2"></iframe><iframe name="f3"></iframe>
<img src="__GW__/dashboard/state" onload="landed.push('img')" onerror="landed.push('img')">
<script src="__GW__/dashboard/state" onload="landed.push('script')" onerror="landed.push('script')"></script>
<iframe src="__GW__/dashboard/" onload="landed.push('iframe')"></iframe>
<script>
  window.fired = [];
  const done = (what) => () => window.fired.push(what);
  // a form's answer loads into its frame (listened to after the frame's first, empty document)
  for (const name of ["f1", "f2", "f3"]) document.querySelector(`iframe[name=${name}]`).addEventListener(
    "load", () => window.landed.push(name));
  fetch("__GW__/dashboard/control", {method: "POST", mode: "no-cors", credentials: "include",
    headers: {"Content-Type": "text/plain"}, body: JSON.stringify({action: "pause", paused: true})})
    .then(done("no-cors control"), done("no-cors control"));
  fetch("__GW__/dashboard/control", {method: "POST", credentials: "include",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({action: "pause", paused: true})})
    .then(done("cors control"), done("cors control"));
  fetch("__GW__/v1/messages", {method: "POST", mode: "no-cors", credentials: "include",
    headers: {"Content-Type": "text/plain"}, body: "{}"}).then(done("no-cors spend"), done("no-cors spend"));
  for (const id of ["json-form", "url-form", "spend-form"]) document.getElementById(id).submit();
</script>
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    gateway = {
        "COURSE_GATEWAY_MODE": "offline",
        "COURSE_GATEWAY_HOSTS": HUB_NAME,
        "ANTHROPIC_API_KEY": KEY,
    }
    with Hub(tmp_path_factory.mktemp("hub"), env={"COURSE_PACE": "instant"}, gateway=gateway, admins=["teacher"]) as h:
        yield h


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        rules = f"--host-resolver-rules=MAP {HUB_NAME} 127.0.0.1, MAP {ATTACKER_NAME} 127.0.0.1"
        launched = p.chromium.launch(executable_path=chromium_path(), args=[*CHROMIUM_ARGS, rules])
        yield launched
        launched.close()


def state(page, hub_url: str) -> dict:
    """The dashboard's state, as its own page reads it (same origin, the instructor's cookie)."""
    return page.evaluate(f"() => fetch('{hub_url}/services/gateway/dashboard/state').then((r) => r.json())")


def test_no_page_of_another_site_steers_the_class_or_spends_over_plain_http(hub, browser):
    hub_url = hub.url.replace("127.0.0.1", HUB_NAME)
    gateway = hub_url + "/services/gateway"
    context = browser.new_context()
    page = context.new_page()
    page.goto(hub_url + "/hub/login")
    page.fill("#username_input", "teacher")
    page.fill("#password_input", hub.password)
    page.click("#login_submit")
    page.wait_for_url("**/hub/**", timeout=60_000)
    page.goto(gateway + "/dashboard/")  # the hub's OAuth, then the dashboard under the public name
    page.wait_for_url(gateway + "/dashboard/", timeout=60_000)
    before = state(page, hub_url)
    assert before["paused"] is False

    app = Starlette(routes=[Route("/", lambda r: HTMLResponse(ATTACKER_PAGE.replace("__GW__", gateway)))])
    with serve_in_thread(app, name="attacker-site") as attacker:
        evil = context.new_page()
        evil.goto(attacker.url.replace("127.0.0.1", ATTACKER_NAME) + "/")
        # every request answered: the three fetches, the three forms' frames, the image, the script and the iframe
        evil.wait_for_function("window.fired.length === 3 && window.landed.length === 6", timeout=60_000)
        evil.close()

    after = state(page, hub_url)
    assert after["paused"] is False, json.dumps(after)[:500]
    assert [row["tokens"] for row in after["learners"]] == [row["tokens"] for row in before["learners"]]
    context.close()
