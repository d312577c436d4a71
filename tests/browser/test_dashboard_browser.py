"""The instructor's dashboard in Chromium, through the real JupyterHub: one hub for the whole module.

The hub is helpers/hub.py's, with the class gateway as its service (offline, and a cassette folder so the class can
switch to recorded) and two learners, who send their requests with the real SDK and their own hub tokens, as their
kernels do. The instructor is a hub admin: they log in with the hub's form and reach the dashboard through the hub's
OAuth. In order:

1. the dashboard lists one row per learner;
2. a learner's request (its lesson) and a checker's verdict appear on it live, with no reload;
3. its controls work: offline -> recorded -> offline, pause every stream (the learner's next request gets the API's
   403 ``permission_error``) and resume, raise one learner's budget;
4. a learner who is not an instructor is refused the dashboard by the hub;
5. axe finds no serious or critical violation, in light and in dark (prefers-color-scheme).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import anthropic
import httpx2
import pytest

from bench.hub import Learner
from helpers.gateway import NOTEBOOK_HEADER
from helpers.hub import Hub

from ..conftest import MODEL
from ..parts import need
from .a11y import audit, contrast_failures
from .lab import chromium

pytestmark = [pytest.mark.browser, pytest.mark.hub, pytest.mark.slow]

ADMIN, LEARNERS = "teacher", ("ann", "bob")
PROMPT = [{"role": "user", "content": "Write a haiku about debugging."}]
WAIT_MS = 60_000  # generous, only so that a broken page fails instead of hanging


def run(coroutine):
    """Run bench.hub's async helpers from a thread of their own: Playwright's sync API holds this thread's loop."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    for part in ("node/npm", "chromium"):  # both before a hub starts
        need(part)
    cassettes = tmp_path_factory.mktemp("cassettes")  # empty: recorded mode answers from the scenarios
    gateway = {"COURSE_GATEWAY_MODE": "offline", "COURSE_CASSETTES": str(cassettes)}
    with Hub(
        tmp_path_factory.mktemp("hub"), env={"COURSE_PACE": "instant"}, gateway=gateway, admins=[ADMIN]
    ) as running:
        yield running


@pytest.fixture(scope="module")
def tokens(hub) -> dict[str, str]:
    """Each learner's hub token (what their kernel holds), after one request each, so the gateway knows them."""

    async def log_in(name: str) -> str:
        person = Learner(hub.url, name, hub.password)
        try:
            await person.log_in()
            return await person.token()
        finally:
            await person.close()

    found = {name: run(log_in(name)) for name in LEARNERS}
    for name in LEARNERS:
        sdk(hub, found[name]).messages.create(model=MODEL, max_tokens=16, messages=PROMPT)
    return found


def sdk(hub: Hub, token: str, lesson: str = "") -> anthropic.Anthropic:
    headers = {NOTEBOOK_HEADER: lesson} if lesson else None
    return anthropic.Anthropic(base_url=hub.gateway_url, api_key=token, max_retries=0, default_headers=headers)


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


def logged_in(browser, hub: Hub, name: str, **options):
    """A browser context with ``name`` logged in through the hub's login form."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, **options)
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", hub.password)
    page.click("#login_submit")
    page.wait_for_url("**/hub/**", timeout=WAIT_MS)
    return context, page


@pytest.fixture(scope="module")
def dashboard(browser, hub, tokens):
    """The admin's dashboard, opened through the hub's OAuth, live (its event stream connected)."""
    context, page = logged_in(browser, hub, ADMIN)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{hub.url}/services/gateway/dashboard/")
    page.wait_for_url(f"{hub.url}/services/gateway/dashboard/", timeout=WAIT_MS)
    wait_text(page, "#connection", "Live")
    page.evaluate("window.notReloaded = true")
    yield page
    assert errors == []
    context.close()


def wait_text(page, selector: str, text: str) -> None:
    """Until the element's text contains ``text``: the page's live update, with no reload."""
    page.wait_for_function(
        "([selector, text]) => (document.querySelector(selector)?.textContent || '').includes(text)",
        arg=[selector, text],
        timeout=WAIT_MS,
    )


def cell(page, learner: str, column: int) -> str:
    return page.locator(f'#learners tbody tr[data-learner="{learner}"] > :nth-child({column})').inner_text()


def gateway_state(hub: Hub) -> dict:
    """The gateway's state as the instructor's API reports it (over HTTP, not the page)."""

    async def read():
        teacher = Learner(hub.url, ADMIN, hub.password)
        try:
            await teacher.log_in()
            assert (await teacher.open_dashboard()).status_code == 200
            return (await teacher.dashboard_state()).json()
        finally:
            await teacher.close()

    return run(read())


def test_the_dashboard_lists_one_row_per_learner(dashboard):
    rows = dashboard.locator("#learners tbody tr")
    rows.first.wait_for(timeout=WAIT_MS)
    assert [rows.nth(i).get_attribute("data-learner") for i in range(rows.count())] == list(LEARNERS)
    assert dashboard.locator("#learners tbody th").all_inner_texts() == list(LEARNERS)


def test_a_learners_request_and_a_checker_verdict_appear_live(hub, tokens, dashboard):
    sdk(hub, tokens["ann"], lesson="02_events.ipynb").messages.create(model=MODEL, max_tokens=16, messages=PROMPT)
    wait_text(dashboard, '#learners tr[data-learner="ann"]', "02_events.ipynb")
    sent = httpx2.post(
        hub.gateway_url + "/course/verdicts",
        json={"exercise": "lesson02.check_events", "verdict": "PASS"},
        headers={"x-api-key": tokens["ann"], NOTEBOOK_HEADER: "02_events.ipynb"},
        timeout=30,
    )
    assert sent.status_code == 204
    wait_text(dashboard, '#learners tr[data-learner="ann"]', "PASS: lesson02.check_events")
    assert dashboard.locator('tr[data-learner="ann"] .verdict-PASS').inner_text() == "PASS: lesson02.check_events"
    assert "lesson02" not in cell(dashboard, "bob", 3)
    assert dashboard.evaluate("window.notReloaded") is True


def switch_mode(page, mode: str) -> None:
    page.select_option("#mode", mode)
    page.click("#mode-form button[type=submit]")
    wait_text(page, "#limits", f"Mode {mode} ")


def test_the_class_switches_offline_recorded_offline_and_learners_stream_in_each(hub, tokens, dashboard):
    for mode in ("recorded", "offline"):
        switch_mode(dashboard, mode)
        assert gateway_state(hub)["mode"] == mode
        assert dashboard.locator("#mode").input_value() == mode
        with sdk(hub, tokens["bob"]).messages.stream(model=MODEL, max_tokens=64, messages=PROMPT) as stream:
            assert "".join(stream.text_stream)
    assert dashboard.locator("#message").inner_text() == ""


def test_pause_refuses_a_learners_request_with_the_apis_error_and_resume_lets_it_through(hub, tokens, dashboard):
    pause = dashboard.locator("#pause")
    pause.click()
    wait_text(dashboard, "#pause", "Resume every stream")
    assert pause.get_attribute("aria-pressed") == "true" and gateway_state(hub)["paused"] is True
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        sdk(hub, tokens["bob"]).messages.create(model=MODEL, max_tokens=16, messages=PROMPT)
    assert refused.value.status_code == 403
    assert refused.value.body["type"] == "error" and refused.value.body["error"]["type"] == "permission_error"
    assert "paused" in refused.value.message
    wait_text(dashboard, '#learners tr[data-learner="bob"]', "permission_error: The instructor has paused")
    pause.click()
    wait_text(dashboard, "#pause", "Pause every stream")
    assert pause.get_attribute("aria-pressed") == "false"
    sdk(hub, tokens["bob"]).messages.create(model=MODEL, max_tokens=16, messages=PROMPT)


def test_raising_one_learners_budget(hub, dashboard):
    before = {row["name"]: row["budget"] for row in gateway_state(hub)["learners"]}
    row = dashboard.locator('#learners tr[data-learner="bob"]')
    row.locator("input").fill("5000")
    row.get_by_role("button", name="Raise bob's budget").click()
    wait_text(dashboard, '#learners tr[data-learner="bob"]', f"/ {before['bob'] + 5000:,}")
    after = {row["name"]: row["budget"] for row in gateway_state(hub)["learners"]}
    assert after == {**before, "bob": before["bob"] + 5000}
    assert f"/ {before['ann']:,}" in cell(dashboard, "ann", 5)


def test_a_learner_is_refused_the_dashboard(browser, hub, tokens):
    context, page = logged_in(browser, hub, "ann")
    try:
        response = page.goto(f"{hub.url}/services/gateway/dashboard/")
        assert response is not None and response.status == 403
        assert page.locator("#learners").count() == 0
        state = page.request.get(f"{hub.url}/services/gateway/dashboard/state")
        assert state.status == 403 and "learners" not in state.text()
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_in_light_and_dark(dashboard, scheme):
    dashboard.emulate_media(color_scheme=scheme)
    deadline = time.monotonic() + 10
    background = "rgb(255, 255, 255)" if scheme == "light" else "rgb(22, 22, 26)"
    while dashboard.evaluate("getComputedStyle(document.body).backgroundColor") != background:
        assert time.monotonic() < deadline, f"the page did not turn {scheme}"
        time.sleep(0.1)
    assert dashboard.locator("#learners tbody tr").count() == len(LEARNERS)
    assert audit(dashboard, ["body"]) + contrast_failures(dashboard, "body *") == []
