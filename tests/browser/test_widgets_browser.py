"""Every live view in real JupyterLab and headless chromium: text grows in the DOM while it streams, a 10,000-token
instant stream arrives complete, errors show a banner, and the playground's Stop works mid-answer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anthropic
import pytest

from helpers.offline import start

from ..conftest import MODEL
from .lab import JupyterLab, chromium, copy_notebook

pytestmark = pytest.mark.browser

DEMO = Path(__file__).with_name("widgets_demo.ipynb")
PACE = 80  # tokens per second for the streams the test watches grow (the notebook's other streams are instant)
HAIKU = "Write a haiku about debugging."
LONG = "Explain streaming in detail."


def expected(prompt: str, max_tokens: int = 1024) -> str:
    """The text the local API gives for a request, fetched here independently of the browser."""
    with start(pace="instant") as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="test-key", max_retries=0)
        message = client.messages.create(
            model=MODEL, max_tokens=max_tokens, messages=[{"role": "user", "content": prompt}]
        )
    return message.content[0].text


def status_of(notebook, title: str) -> str | None:
    return notebook.page.evaluate(
        "t => { const e = document.querySelector(`.cw[data-title='${t}']`); return e ? e.dataset.status : null; }",
        title,
    )


def words(text: str) -> str:
    """Text with whitespace normalized, to compare a raw answer with its rendered markdown."""
    return " ".join(text.split())


def visible_outputs(notebook, cell: int) -> list[str]:
    """The outputs of a code cell that a reader actually sees (a hidden static rendering is not among them)."""
    outputs = notebook.page.locator(".jp-NotebookPanel .jp-CodeCell").nth(cell).locator(".jp-OutputArea-output")
    return [o.text_content() for o in outputs.all() if o.is_visible()]


def shown_once(notebook, cell: int, title: str, text: str) -> None:
    """One rendering of the answer: the live view, its markdown rendered, and its static twin hidden."""
    notebook.page.wait_for_function(
        f"() => document.querySelector('.cw[data-title=\"{title}\"] .cw-md')", timeout=15_000
    )
    seen = visible_outputs(notebook, cell)
    assert sum(words(text)[:80] in words(o) for o in seen) == 1, seen
    assert notebook.page.locator(f'.cw[data-title="{title}"] .cw-live').first.is_hidden()


@pytest.fixture(scope="module")
def notebook(tmp_path_factory):
    """The demo notebook run to the end in JupyterLab, with DOM samples of the paced stream taken while it ran."""
    root = tmp_path_factory.mktemp("lab")
    name = copy_notebook(DEMO, root)
    with chromium() as browser, JupyterLab(root, env={"WIDGET_DEMO_PACE": str(PACE)}, name="widgets-lab") as lab:
        notebook = lab.open(browser, name)
        notebook.run_all()
        samples: list[str] = []
        deadline = time.monotonic() + 90
        while status_of(notebook, "paced") != "done" and time.monotonic() < deadline:
            if status_of(notebook, "paced") == "streaming":
                samples.append(notebook.text('.cw[data-title="paced"] .cw-text .cw-live'))
            time.sleep(0.2)
        notebook.paced_samples = samples
        notebook.wait_until_idle(timeout=90)
        notebook.screenshot("widgets-paced", '.cw[data-title="paced"]')
        yield notebook
        notebook.screenshot("widgets-end")


def test_text_grows_in_the_dom_while_streaming_and_ends_complete(notebook):
    final = expected(LONG)
    grown = [s for s in notebook.paced_samples if s]
    lengths = sorted({len(s) for s in grown})
    assert len(lengths) >= 3, f"the text did not grow over several samples: {[len(s) for s in notebook.paced_samples]}"
    assert [len(s) for s in grown] == sorted(len(s) for s in grown)  # never shrinks
    assert all(final.startswith(s) for s in grown)  # every sample is the start of the answer, in order
    assert notebook.text('.cw[data-title="paced"] .cw-text .cw-live') == final
    assert words(final) in words(notebook.cell_outputs(1)[-1])  # the static rendering, for readers without widgets …
    shown_once(notebook, 1, "paced", final)  # … is hidden where the live view renders, which shows it formatted


def test_ten_thousand_token_instant_stream_arrives_complete(notebook):
    final = expected("Count to 3700", 20_000)
    assert final.endswith("3699, 3700.") and len(final) > 20_000
    assert status_of(notebook, "count") == "done"
    assert notebook.text('.cw[data-title="count"] .cw-text .cw-live') == final
    assert words(final) in words(notebook.cell_outputs(2)[-1])
    shown_once(notebook, 2, "count", final)


def test_events_tools_thinking_side_by_side_timeline_and_errors(notebook):
    page = notebook.page
    types = page.locator('.cw[data-title="raw"] td.cw-type').all_text_contents()
    assert types[0] == "message_start" and "ping" in types and types[-1] == "message_stop"
    raw = json.loads(notebook.text('.cw[data-title="tool"] .cw-json-raw'))
    assert raw == json.loads(notebook.text('.cw[data-title="tool"] .cw-json-snap')) and "location" in raw
    assert page.locator('.cw[data-title="cut"] .cw-tool.cw-truncated').count() == 1
    assert "Cut off by max_tokens" in notebook.cell_outputs(4)[-1]  # the static rendering says it too
    assert "signature received" in notebook.text('.cw[data-title="thinking"] .cw-thinking summary')
    assert notebook.text('.cw[data-title="thinking"] .cw-text .cw-live') == "27 × 453 = **12,231**."
    assert status_of(notebook, "haiku") == status_of(notebook, "long answer") == "done"
    assert notebook.text('.cw[data-title="haiku"] .cw-text .cw-live') == expected(HAIKU)
    assert page.locator('.cw[data-title="timeline"] .cw-svg svg').count() == 1
    assert page.locator('.jp-OutputArea-output[data-mime-type="image/svg+xml"]').count() == 1
    assert "APIStatusError: Overloaded (overloaded_error, mid-stream)" in notebook.text(
        '.cw[data-title="error"] .cw-banner'
    )
    partial = notebook.text('.cw[data-title="error"] .cw-text .cw-live')
    assert partial and expected(LONG).startswith(partial)
    assert notebook.error_outputs() == []
    assert not [e for e in notebook.console_errors if "anywidget" in e or "views.js" in e]


def test_playground_send_and_stop_from_the_browser(notebook):
    page = notebook.page
    playground = page.locator(".cw-playground")
    playground.scroll_into_view_if_needed()
    prompt = playground.locator("textarea").first
    prompt.fill(HAIKU)
    playground.get_by_role("button", name="Send").click()
    answer = playground.locator(".cw").first
    page.wait_for_function(
        "() => document.querySelector('.cw-playground .cw')?.dataset.status === 'done'", timeout=30_000
    )
    assert answer.locator(".cw-text .cw-live").text_content() == expected(HAIKU)
    prompt.fill(LONG)
    playground.get_by_role("button", name="Send").click()
    second = playground.locator(".cw").nth(1)
    page.wait_for_function(
        "() => (document.querySelectorAll('.cw-playground .cw')[1]?.textContent || '').length > 300", timeout=30_000
    )
    playground.get_by_role("button", name="Stop").click()  # processed while the answer streams: it runs as a task
    page.wait_for_function(
        "() => document.querySelectorAll('.cw-playground .cw')[1]?.dataset.status === 'stopped'", timeout=15_000
    )
    kept = second.locator(".cw-text .cw-live").text_content()
    assert kept and expected(LONG).startswith(kept) and len(kept) < len(expected(LONG))
    assert f"Stopped after {len(kept)} chars." in playground.locator(".cw-pg-status").text_content()
    notebook.screenshot("widgets-playground", ".cw-playground")


def test_a_reloaded_page_shows_the_final_state_from_the_kernel(notebook):
    """The kernel stored each view's final state without sending it twice; a fresh page gets it from there."""
    notebook.save()
    notebook.reload()
    selector = '.cw[data-title="count"] .cw-text .cw-live'
    notebook.page.wait_for_function(
        f"() => document.querySelector('{selector}')?.textContent.length > 0", timeout=60_000
    )
    assert notebook.text(selector) == expected("Count to 3700", 20_000)
    assert status_of(notebook, "count") == status_of(notebook, "paced") == "done"
    shown_once(notebook, 2, "count", expected("Count to 3700", 20_000))  # not twice after a reload
    shown_once(notebook, 1, "paced", expected(LONG))


def test_citations_server_tools_refusal_and_structured_output(notebook):
    """The views of the late-2026 stream, in the browser: numbered references and search results under the text, a
    refusal as a notice with the header saying so (not an error), structured output parsed beside its raw JSON."""
    page = notebook.page
    search = '.cw[data-title="search"]'
    page.wait_for_function(f"() => document.querySelectorAll('{search} .cw-md').length >= 2", timeout=15_000)
    results = page.locator(f"{search} .cw-result li").all_text_contents()
    assert len(results) == 3 and all(" — https://" in r for r in results)
    assert "server tool" in notebook.text(f"{search} .cw-tool-name") and "web_search" in notebook.text(search)
    links = page.locator(f"{search} .cw-md a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert links and all(href.startswith("https://") for href in links)  # the references, rendered
    assert "web_search_requests 1" in notebook.text(f"{search} .cw-foot")
    refused = '.cw[data-title="refused"]'
    assert status_of(notebook, "refused") == "done" and notebook.text(f"{refused} .cw-status") == "■ refused"
    assert notebook.text(f"{refused} .cw-notice").startswith("Refused (cyber): The request could enable cyber harm")
    assert page.locator(f"{refused} .cw-banner").is_hidden()  # not an error
    snapshot = json.loads(notebook.text('.cw[data-title="structured"] .cw-json-snap'))
    assert set(snapshot) == {"name", "hobbies"} and len(snapshot["hobbies"]) == 2
    assert json.loads(notebook.text('.cw[data-title="structured"] .cw-json-raw')) == snapshot
