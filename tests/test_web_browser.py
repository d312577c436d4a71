"""The chat page in a real browser: Debian's chromium, headless, driven by Playwright, talking to a real relay."""

from __future__ import annotations

import time

import pytest

from helpers.offline import replies
from helpers.offline import start as start_api
from helpers.web.app import ERROR_MESSAGES, MAX_CHARS

from .browser.a11y import audit, contrast_failures
from .browser.lab import CHROMIUM_ARGS, chromium_path
from .conftest import ROOT, relay_to

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 900, "height": 900})
    yield context.new_page()
    context.close()


def screenshot(name: str):
    (ROOT / "artifacts").mkdir(exist_ok=True)  # git-ignored
    return ROOT / "artifacts" / name


def send(page, text: str) -> None:
    page.fill("#prompt", text)
    page.click("#send")


def answer(page, n: int):
    return page.locator("#log li.assistant").nth(n)


def test_the_page_streams_an_answer_stops_it_and_carries_on_the_conversation(page):
    refused = []  # what the page's Content-Security-Policy blocked: nothing of its own
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    with start_api(pace=40) as api, relay_to(api) as relay:
        page.goto(relay.url + "/")
        send(page, "Explain streaming in detail")
        first = answer(page, 0)
        page.wait_for_function("document.querySelector('#log li.assistant .text')?.textContent.length > 0")
        samples = [len(first.locator(".text").text_content())]
        deadline = time.monotonic() + 10
        while len(samples) < 4 and time.monotonic() < deadline:
            page.wait_for_timeout(150)
            if (n := len(first.locator(".text").text_content())) > samples[-1]:
                samples.append(n)
        assert len(samples) >= 4, f"the answer did not grow over several samples: {samples}"
        assert int(first.get_attribute("data-ttft")) >= 0
        assert page.text_content("#status").startswith(("First token after", "first token"))

        cuts = api.stats()["streams_cut_by_client"]
        page.click("#stop")
        page.wait_for_function("document.querySelector('#log li.assistant').dataset.state === 'stopped'")
        kept = first.locator(".text").text_content()
        page.wait_for_timeout(500)
        assert first.locator(".text").text_content() == kept, "text kept arriving after Stop"
        assert kept and replies.LONG_ANSWER.startswith(kept) and kept != replies.LONG_ANSWER
        assert "stopped" in first.locator(".meta").text_content()
        assert page.is_enabled("#send") and page.is_disabled("#stop")
        assert page.is_hidden("#error")
        deadline = time.monotonic() + 5
        while api.stats()["streams_cut_by_client"] == cuts:  # Stop aborted the fetch; the relay cut the upstream
            assert time.monotonic() < deadline, "Stop did not end the upstream stream"
            time.sleep(0.02)

        send(page, "What did I ask you before?")
        page.wait_for_function("document.querySelectorAll('#log li.assistant')[1]?.dataset.state === 'done'")
        second = answer(page, 1)
        assert "turn 2 of the conversation" in second.locator(".text").text_content()  # the history was sent
        assert "end_turn" in second.locator(".meta").text_content()
        page.screenshot(path=str(screenshot("web-chat.png")), full_page=True)
        violations = audit(page, ["body"]) + contrast_failures(page, "body *")  # the whole page is the course's
        assert violations == [], "\n".join(violations)
        assert page.locator("#log li.user .text").all_text_contents() == [
            "Explain streaming in detail",
            "What did I ask you before?",
        ]
    assert refused == [], refused


def test_errors_show_in_a_banner_and_the_partial_answer_stays(page):
    with start_api(pace=80, fault="error@12") as api, relay_to(api) as relay:
        page.goto(relay.url + "/")
        send(page, "Explain streaming in detail")
        page.wait_for_selector("#error", state="visible")
        banner = page.text_content("#error")
        assert ERROR_MESSAGES["overloaded_error"] in banner and "overloaded_error" in banner
        first = answer(page, 0)
        assert first.get_attribute("data-state") == "error"
        partial = first.locator(".text").text_content()
        assert partial and replies.LONG_ANSWER.startswith(partial) and partial != replies.LONG_ANSWER
        assert page.get_attribute("#error", "role") == "alert"
        page.screenshot(path=str(screenshot("web-chat-error.png")), full_page=True)

        send(page, "x" * (MAX_CHARS + 1))  # refused by the relay's input check: its message reaches the banner
        page.wait_for_function("document.querySelectorAll('#log li.assistant')[1]?.dataset.state === 'error'")
        assert f"at most {MAX_CHARS:,} characters" in page.text_content("#error")
        assert answer(page, 0).locator(".text").text_content() == partial


def test_the_capstone_page_reads_the_relays_stream_with_the_shared_parser(page):
    """notebooks/capstone/index.html speaks the relay's protocol (POST chat, text/stop/done events) with the parser
    tools/inline_js.py copies from sse.js: served in the relay's place, it shows the whole answer."""
    capstone = (ROOT / "notebooks" / "capstone" / "index.html").read_text()
    with start_api(pace=200) as api, relay_to(api) as relay:
        page.route(relay.url + "/", lambda route: route.fulfill(body=capstone, content_type="text/html"))
        page.goto(relay.url + "/")
        page.fill("#prompt", "Write a haiku about debugging.")
        page.click("#ask button:not(#stop)")
        assistant = page.locator("#log p.turn.assistant").first
        assistant.wait_for()
        page.wait_for_function("() => document.getElementById('stop').disabled", timeout=30_000)
        assert assistant.text_content() == replies.HAIKUS["debug"]
        assert page.locator("#log p.turn.note").count() == 0  # no error, and the done event arrived
