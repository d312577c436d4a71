"""Cohort mode on a real JupyterHub: the class gateway as a hub service, with its limits, its state and its dashboard.

One hub on 127.0.0.1 (helpers/hub.py, the one `make hub` and bench/hub.py start) runs the gateway as a managed
service, upstream one local Messages API for the class. Learners and an instructor log in with the hub's form; the
learners' credentials are their own hub tokens, sent by the real SDK; the instructor reaches the dashboard through
the hub's OAuth. The whole class (servers, kernels, lesson 01) runs through the gateway in tests/test_hub.py.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import anthropic
import httpx2
import psutil
import pytest

from bench.hub import Learner
from helpers.gateway.store import MAX_VERDICTS
from helpers.hub import Hub
from helpers.offline import start

from .conftest import MODEL

pytestmark = [pytest.mark.slow, pytest.mark.hub]
KEY = "sk-ant-api03-" + "k" * 80 + "-gatewaykeyAA"  # the class's key: a fake one, sent only to a local API here
LIMITS = {"streams": 1, "per_minute": 1000, "tokens": 1_000_000}
PROMPT = [{"role": "user", "content": "Write a haiku about debugging."}]


@pytest.fixture(scope="module")
def live_stand_in():
    """What the gateway calls "live" here: another local Messages API, standing in for api.anthropic.com."""
    with start(pace="instant") as api:
        yield api


@pytest.fixture(scope="module")
def hub(tmp_path_factory, live_stand_in):
    gateway = {
        "COURSE_GATEWAY_LIMITS": json.dumps(LIMITS),
        "COURSE_GATEWAY_MODE": "offline",
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_BASE_URL": live_stand_in.url,
    }
    with Hub(
        tmp_path_factory.mktemp("hub"),
        env={"COURSE_PACE": "instant"},
        gateway=gateway,
        admins=["teacher"],
        instructors=["ta"],
    ) as h:
        yield h


def run(coroutine):
    return asyncio.run(coroutine)


async def _logged_in(hub: Hub, name: str) -> tuple[Learner, str]:
    person = Learner(hub.url, name, hub.password)
    await person.log_in()
    return person, await person.token()


@pytest.fixture(scope="module")
def tokens(hub) -> dict[str, str]:
    async def all_of_them():
        found = {}
        for name in ("ann", "bob", "cy", "dee"):
            person, found[name] = await _logged_in(hub, name)
            await person.close()
        return found

    return run(all_of_them())


class Instructor:
    """The instructor in their browser: logged in to the hub, the dashboard opened once (OAuth), then its API."""

    def __init__(self, hub: Hub, name: str = "teacher"):
        self.person = Learner(hub.url, name, hub.password)

    async def __aenter__(self):
        await self.person.log_in()
        page = await self.person.open_dashboard()
        assert page.status_code == 200 and "Class dashboard" in page.text, (page.status_code, page.text[:300])
        return self

    async def __aexit__(self, *exc):
        await self.person.close()

    async def state(self) -> dict:
        response = await self.person.dashboard_state()
        assert response.status_code == 200, response.text
        return response.json()

    async def control(self, **body) -> dict:
        response = await self.person.control(**body)
        assert response.status_code == 200, response.text
        return response.json()


def instructor(hub, *steps):
    """Run dashboard steps as the instructor; return the state after them."""

    async def go():
        async with Instructor(hub) as teacher:
            for step in steps:
                await teacher.control(**step)
            return await teacher.state()

    return run(go())


def sdk(hub, token: str, **options) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=hub.gateway_url, api_key=token, max_retries=0, **options)


def learner_row(state: dict, name: str) -> dict:
    (row,) = [x for x in state["learners"] if x["name"] == name]
    return row


@pytest.fixture(autouse=True)
def class_defaults(hub):
    """Every test starts with the class unpaused, offline, at the module's limits."""
    yield
    instructor(
        hub,
        {"action": "pause", "paused": False},
        {"action": "mode", "mode": "offline"},
        {"action": "limits", "limits": LIMITS},
    )


def test_a_learner_streams_through_the_gateway_byte_for_byte_with_their_hub_token(hub, tokens):
    with start(pace="instant") as direct:
        expected = anthropic.Anthropic(base_url=direct.url, api_key="x").messages.create(
            model=MODEL, max_tokens=1024, messages=PROMPT
        )
    with sdk(hub, tokens["ann"]).messages.stream(model=MODEL, max_tokens=1024, messages=PROMPT) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == expected.content[0].text
    assert final.usage.output_tokens == expected.usage.output_tokens
    # the raw bytes: the API's SSE, unchanged (event lines and JSON data the SDK parsed above)
    with httpx2.Client(timeout=60) as http:
        body = {"model": MODEL, "max_tokens": 64, "messages": PROMPT, "stream": True}
        headers = {"x-api-key": tokens["ann"], "anthropic-version": "2023-06-01"}
        raw = http.post(hub.gateway_url + "/v1/messages", json=body, headers=headers)
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.startswith("event: message_start\ndata: {") and raw.text.endswith(
        'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )


def test_offline_demos_reach_the_class_local_api_through_the_gateway_whatever_the_mode(hub, tokens):
    instructor(hub, {"action": "mode", "mode": "live"})
    client = anthropic.Anthropic(base_url=hub.gateway_url + "/offline", api_key=tokens["cy"], max_retries=0)
    refusal = {"x-offline-fault": "stop:refusal@12"}  # the local API's fault header passes on this path only
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=PROMPT, extra_headers=refusal) as stream:
        assert stream.get_final_message().stop_reason == "refusal"


def test_without_a_hub_token_the_sdk_gets_its_authentication_error(hub, tokens):
    for key in ("", "not-a-hub-token", KEY):
        with pytest.raises(anthropic.AuthenticationError) as refused:
            sdk(hub, key or "x", default_headers={"x-api-key": key}).messages.create(
                model=MODEL, max_tokens=16, messages=PROMPT
            )
        assert "hub token" in refused.value.message


def test_a_second_stream_at_once_gets_429_naming_the_limit(hub, tokens):
    client = sdk(hub, tokens["bob"])

    def stalled_stream():
        headers = {"x-offline-fault": "stall@2:3"}
        with client.messages.stream(model=MODEL, max_tokens=64, messages=PROMPT, extra_headers=headers) as stream:
            stream.until_done()

    stalled = threading.Thread(target=stalled_stream)
    stalled.start()
    time.sleep(1.0)
    with pytest.raises(anthropic.RateLimitError) as refused:
        client.messages.create(model=MODEL, max_tokens=16, messages=PROMPT)
    stalled.join()
    assert "at most 1 request(s) at once" in refused.value.message
    assert refused.value.response.headers["retry-after"] == "1"
    client.messages.create(model=MODEL, max_tokens=16, messages=PROMPT)  # once the first ended, the next goes


def test_requests_per_minute_over_the_limit_get_429_with_retry_after(hub, tokens):
    instructor(hub, {"action": "limits", "limits": {**LIMITS, "per_minute": 2}})
    client = sdk(hub, tokens["dee"])
    for _ in range(2):
        client.messages.create(model=MODEL, max_tokens=16, messages=PROMPT)
    with pytest.raises(anthropic.RateLimitError) as refused:
        client.messages.create(model=MODEL, max_tokens=16, messages=PROMPT)
    assert "at most 2 requests per minute" in refused.value.message
    assert 1 <= int(refused.value.response.headers["retry-after"]) <= 61


def test_over_budget_a_learner_gets_402_a_stream_that_crosses_it_finishes_and_a_raise_lets_them_go_on(hub, tokens):
    used = learner_row(instructor(hub), "bob")["tokens"]
    instructor(hub, {"action": "limits", "limits": {**LIMITS, "tokens": used + 5}})
    client = sdk(hub, tokens["bob"])
    with pytest.raises(anthropic.PaymentRequiredError) as greedy:  # more output than the budget has left
        client.messages.create(model=MODEL, max_tokens=1024, messages=PROMPT)
    assert "max_tokens 1,024" in greedy.value.message and "5 tokens left" in greedy.value.message
    with client.messages.stream(model=MODEL, max_tokens=5, messages=PROMPT) as stream:
        crossing = stream.get_final_message()  # under budget when it began, its input takes it over: it runs to its end
    assert crossing.stop_reason in ("end_turn", "max_tokens")
    assert crossing.usage.input_tokens + crossing.usage.output_tokens > 5
    with pytest.raises(anthropic.PaymentRequiredError) as refused:
        client.messages.create(model=MODEL, max_tokens=16, messages=PROMPT)
    assert refused.value.body["error"]["type"] == "billing_error"
    assert "token budget" in refused.value.message and "ask your instructor" in refused.value.message
    state = instructor(hub)
    row = learner_row(state, "bob")
    assert row["tokens"] == used + crossing.usage.input_tokens + crossing.usage.output_tokens
    assert row["error_type"] == "billing_error"
    row = learner_row(instructor(hub, {"action": "budget", "learner": "bob", "tokens": 100_000}), "bob")
    assert row["budget"] == used + 5 + 100_000
    client.messages.create(model=MODEL, max_tokens=16, messages=PROMPT)


def test_pause_refuses_new_requests_with_403_and_ends_a_stream_in_flight(hub, tokens):
    client = sdk(hub, tokens["ann"])
    got: dict = {}

    def stalled_stream():
        try:
            with client.messages.stream(
                model=MODEL, max_tokens=1024, messages=PROMPT, extra_headers={"x-offline-fault": "stall@3:3"}
            ) as stream:
                got["text"] = "".join(stream.text_stream)
        except anthropic.APIStatusError as err:
            got["error"] = err

    thread = threading.Thread(target=stalled_stream)
    thread.start()
    time.sleep(1.0)
    instructor(hub, {"action": "pause", "paused": True})
    thread.join(30)
    assert "text" not in got and got["error"].body["error"]["type"] == "overloaded_error"
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        sdk(hub, tokens["bob"]).messages.create(model=MODEL, max_tokens=16, messages=PROMPT)
    assert "paused" in refused.value.message
    instructor(hub, {"action": "pause", "paused": False})
    sdk(hub, tokens["bob"]).messages.create(model=MODEL, max_tokens=16, messages=PROMPT)


def test_only_the_courses_endpoints_reach_the_upstream_with_the_class_key(hub, tokens):
    """Message batches and files would spend the class's key past every limit (even paused) and list what the other
    learners sent under the same key: the gateway answers them itself (no upstream request-id), in the API's shape."""
    instructor(hub, {"action": "mode", "mode": "live"}, {"action": "pause", "paused": True})
    headers = {"x-api-key": tokens["dee"], "anthropic-version": "2023-06-01"}
    batch = {"requests": [{"custom_id": "a", "params": {"model": MODEL, "max_tokens": 64, "messages": PROMPT}}]}
    with httpx2.Client(base_url=hub.gateway_url, timeout=30, headers=headers) as http:
        refused = [
            http.post("/v1/messages/batches", json=batch),
            http.get("/v1/messages/batches"),
            http.get("/v1/files"),
            http.delete("/v1/files/file_011"),
            http.post("/v1/messages/", json={"model": MODEL, "max_tokens": 16, "messages": PROMPT}),
            http.get("/v1/models/%2e%2e/messages/batches"),
            http.get("/offline/v1/messages/batches"),
        ]
        instructor(hub, {"action": "pause", "paused": False})
        allowed = [http.get("/v1/models"), http.get(f"/v1/models/{MODEL}")]
    for response in refused:
        assert response.status_code == 404 and "request-id" not in response.headers, (response.request.url, response)
        assert response.json()["error"]["type"] == "not_found_error"
        assert "class gateway forwards only" in response.json()["error"]["message"]
    assert [r.status_code for r in allowed] == [200, 200] and all("request-id" in r.headers for r in allowed)
    counted = sdk(hub, tokens["dee"]).messages.count_tokens(model=MODEL, messages=PROMPT)
    assert counted.input_tokens > 0


def test_the_class_switches_to_live_and_the_key_reaches_only_the_upstream(hub, tokens, live_stand_in):
    before = live_stand_in.stats()["requests"]
    state = instructor(hub, {"action": "mode", "mode": "live"})
    assert state["mode"] == "live" and state["modes"] == ["offline", "live"]  # no cassettes: no recorded mode
    answer = sdk(hub, tokens["ann"]).messages.create(model=MODEL, max_tokens=64, messages=PROMPT)
    assert answer.content[0].text
    assert live_stand_in.stats()["requests"] == before + 1  # it went to the "real API", with the class's key

    async def refused():
        async with Instructor(hub) as teacher:
            return await teacher.person.control(action="mode", mode="recorded")

    response = run(refused())
    assert response.status_code == 400 and "recorded" in response.json()["error"]


def test_verdicts_and_lessons_reach_the_dashboard_and_only_instructors_see_it(hub, tokens):
    headers = {"x-api-key": tokens["ann"], "x-course-notebook": "01_text_stream.ipynb"}
    with httpx2.Client(timeout=30) as http:
        sent = http.post(
            hub.gateway_url + "/course/verdicts",
            json={"exercise": "lesson01.check", "verdict": "PASS"},
            headers=headers,
        )
        assert sent.status_code == 204
        bad = http.post(hub.gateway_url + "/course/verdicts", json={"verdict": "maybe"}, headers=headers)
        assert bad.status_code == 400 and "NOT YET" in bad.json()["error"]["message"]
    sdk(hub, tokens["ann"], default_headers={"x-course-notebook": "01_text_stream.ipynb"}).messages.create(
        model=MODEL, max_tokens=16, messages=PROMPT
    )
    row = learner_row(instructor(hub), "ann")
    assert row["lesson"] == "01_text_stream.ipynb"
    assert row["verdicts"][0] == {
        **row["verdicts"][0],
        "exercise": "lesson01.check",
        "verdict": "PASS",
        "lesson": "01_text_stream.ipynb",
    }

    async def as_a_learner():
        ann = Learner(hub.url, "ann", hub.password)
        await ann.log_in()
        try:
            page = await ann.open_dashboard()
            state = await ann.dashboard_state()
            control = await ann.control(action="pause", paused=True)
        finally:
            await ann.close()
        return page, state, control

    page, state, control = run(as_a_learner())
    assert page.status_code == 403  # the hub's OAuth refuses her: only admins and instructors may open the service
    assert '"learners"' not in page.text
    assert state.status_code == 403 and control.status_code == 403
    assert instructor(hub)["paused"] is False


def test_one_learner_cannot_exhaust_the_gateway_or_grow_the_dashboard(hub, tokens):
    """A learner's own token is enough to post: a body without a length was held whole however large (on the API as
    on verdicts), and every made-up exercise name added a row to every dashboard update."""
    headers = {"x-api-key": tokens["dee"], "content-type": "application/json"}
    mib = b" " * (1024 * 1024)
    with httpx2.Client(timeout=60) as http:
        # a body refused before it arrived ends its connection (the rest would be read as the next request's head):
        # not one to pool, or the next request could find it closed
        once = headers | {"connection": "close"}
        for path, limit in (("/course/verdicts", 1), ("/v1/messages", 33)):
            announced = http.post(hub.gateway_url + path, content=mib * limit + b"{}", headers=once)
            chunked = http.post(hub.gateway_url + path, content=(mib for _ in range(limit + 1)), headers=once)
            for response in (announced, chunked):
                assert response.status_code == 413, (path, response.status_code, response.text[:200])
                assert response.json()["error"]["type"] == "request_too_large"
        for i in range(MAX_VERDICTS + 20):
            body = {"exercise": f"made_up.{i}", "verdict": "PASS"}
            assert http.post(hub.gateway_url + "/course/verdicts", json=body, headers=headers).status_code == 204
    verdicts = learner_row(instructor(hub), "dee")["verdicts"]
    assert len(verdicts) == MAX_VERDICTS and verdicts[0]["exercise"] == f"made_up.{MAX_VERDICTS + 19}"


def test_no_other_site_and_no_cookie_can_spend_or_steer(hub, tokens):
    async def attempts():
        async with Instructor(hub) as teacher:
            http = teacher.person.http
            evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
            control = await http.post(
                "/services/gateway/dashboard/control", json={"action": "pause", "paused": True}, headers=evil
            )
            form = await http.post(
                "/services/gateway/dashboard/control",
                content=b'{"action":"pause","paused":true}',
                headers={"Content-Type": "text/plain", "Origin": teacher.person.hub_url},
            )
            body = {"model": MODEL, "max_tokens": 16, "messages": PROMPT}  # the hub's cookies only, as a page would
            spend = await http.post("/services/gateway/v1/messages", json=body, headers=evil)
            return control, form, spend

    control, form, spend = run(attempts())
    assert control.status_code == 403 and form.status_code == 415
    assert spend.status_code == 401 and spend.json()["error"]["type"] == "authentication_error"
    with httpx2.Client(timeout=30) as http:  # a DNS-rebinding page reaches 127.0.0.1 under its own name
        rebound = http.get(
            hub.gateway_url.replace("127.0.0.1", "localhost") + "/dashboard/state", headers={"Host": "attacker.example"}
        )
    assert rebound.status_code == 421
    assert instructor(hub)["paused"] is False


def test_the_key_is_in_no_dashboard_page_state_or_error(hub, tokens):
    async def pages():
        async with Instructor(hub) as teacher:
            http = teacher.person.http
            texts = [(await http.get(f"/services/gateway/dashboard/{p}")).text for p in ("", "dashboard.js", "state")]
            async with http.stream("GET", "/services/gateway/dashboard/events") as events:
                async for line in events.aiter_lines():
                    if line.startswith("data:"):
                        texts.append(line)
                        break
            return texts

    texts = run(pages())
    assert len(texts) == 4 and all(KEY not in t and KEY[-12:] not in t for t in texts)


def gateway_processes(hub) -> list[psutil.Process]:
    found = []
    for process in hub.processes():
        try:
            if process.status() != psutil.STATUS_ZOMBIE and "helpers.gateway" in " ".join(process.cmdline()):
                found.append(process)
        except psutil.Error:
            continue
    return found


def test_usage_and_limits_survive_a_gateway_restart_and_the_next_request_works(hub, tokens):
    instructor(hub, {"action": "limits", "limits": {**LIMITS, "per_minute": 999}})
    before = learner_row(instructor(hub), "ann")
    (gateway,) = gateway_processes(hub)
    its_api = gateway.children()
    assert its_api and "helpers.offline" in " ".join(its_api[0].cmdline())
    gateway.kill()  # mid-class, without warning
    deadline = time.monotonic() + 120
    while True:  # the hub restarts a managed service that exits
        restarted = [p for p in gateway_processes(hub) if p.pid != gateway.pid]
        try:
            if restarted and httpx2.get(hub.gateway_url + "/v1/models", timeout=5).status_code == 401:
                break
        except httpx2.TransportError:
            pass
        assert time.monotonic() < deadline, hub.log_tail()
        time.sleep(0.5)
    assert restarted[0].pid != gateway.pid
    state = instructor(hub)
    assert learner_row(state, "ann")["tokens"] == before["tokens"] and state["limits"]["per_minute"] == 999
    answer = sdk(hub, tokens["ann"]).messages.create(model=MODEL, max_tokens=16, messages=PROMPT)
    after = learner_row(instructor(hub), "ann")
    assert after["tokens"] == before["tokens"] + answer.usage.input_tokens + answer.usage.output_tokens
    gone, alive = psutil.wait_procs(its_api, timeout=10)
    assert alive == []  # the old gateway's local API ended with it


def test_a_checker_reports_its_verdict_from_the_kernel_environment(hub, tokens, monkeypatch, capsys):
    from helpers.exercises import report

    monkeypatch.setenv("COURSE_GATEWAY_URL", hub.gateway_url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", tokens["cy"])
    monkeypatch.setenv("JPY_SESSION_NAME", "course/notebooks/02_events.ipynb")

    def check_events():  # a checker's name is the exercise's name on the dashboard
        return report(False, "is_text picks the text deltas", "look at delta.type")

    assert check_events() is False
    assert capsys.readouterr().out.startswith("NOT YET ✗ is_text picks the text deltas")
    (verdict,) = [v for v in learner_row(instructor(hub), "cy")["verdicts"] if v["lesson"] == "02_events.ipynb"]
    assert (verdict["exercise"], verdict["verdict"]) == ("test_gateway.check_events", "NOT YET")
