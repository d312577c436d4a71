"""Views fed values no real API sends, through the real SDK from a local API replaying a crafted body: unknown block
and event types, usage counts that are not numbers. They are shown as text, shape no markup, and every view still
reaches its finished state."""

from __future__ import annotations

import json
import re

import anthropic
import pytest

from helpers.offline import start
from helpers.offline.sse import encode
from helpers.widgets import CommMeter, EventView, TextView, ThinkingView, _live, tables
from helpers.widgets.meter import replay

from .conftest import MODEL

CRAFTED_TYPE = 'cw-banner" style="position:fixed;inset:0'  # a type that would be markup, or a class list, if used
USAGES = ["12", 1.5, None, -3, True, "<b>9</b>", [1], {"n": 1}]


def sse(name: str, data: dict) -> str:
    return encode(name, data).decode()


def body(usage, *, block_type: str = "text", event_type: str = "message_stop") -> bytes:
    usage_in = {"input_tokens": usage, "output_tokens": usage, "cache_read_input_tokens": usage}
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL, "content": [],
               "stop_reason": None, "stop_sequence": None, "usage": usage_in}  # fmt: skip
    events = [
        sse("message_start", {"type": "message_start", "message": message}),
        sse(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),  # fmt: skip
        sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
        ),  # fmt: skip
        sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " there"}},
        ),  # fmt: skip
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse(
            "content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": block_type}}
        ),  # fmt: skip
        sse("content_block_stop", {"type": "content_block_stop", "index": 1}),
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {**usage_in, "server_tool_use": usage},
            },
        ),  # fmt: skip
        sse(event_type, {"type": event_type}),
    ]
    if event_type != "message_stop":
        events.append(sse("message_stop", {"type": "message_stop"}))
    return "".join(events).encode()


def crafted_client(tmp_path, data: bytes):
    path = tmp_path / "crafted.sse"
    path.write_bytes(data)
    return start(pace="instant", replay=path)


def ask() -> dict:
    return {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}


@pytest.mark.parametrize("usage", USAGES, ids=repr)
def test_usage_that_is_not_a_number_is_shown_as_it_came_and_the_view_finishes(tmp_path, usage):
    with crafted_client(tmp_path, body(usage)) as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="test-key", max_retries=0)
        for view_type in (TextView, ThinkingView):
            view = view_type(display=False)
            with CommMeter(view) as meter:
                view.watch(client.messages.stream(**ask()))  # must not raise from the course's code
            assert view.done and view.status == "done"
            assert meter.custom()[-1]["end"]["status"] == "done"  # the browser was told it finished
            assert replay(meter.custom())["status"] == "done"
            html = view._static()["text/html"]
            shown = str(usage).replace("<", "&lt;").replace(">", "&gt;")
            assert usage is None or f"{shown} output tokens" in html, html  # (no usage shown when there is none)
            assert "<b>9</b>" not in html
            figures = view.figures
            assert figures["estimated"] is not (isinstance(usage, int) and not isinstance(usage, bool) and usage > 0)


def test_unknown_block_and_event_types_are_text_and_never_a_class(tmp_path):
    with crafted_client(tmp_path, body(7, block_type=CRAFTED_TYPE)) as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="test-key", max_retries=0)
        view = TextView(display=False)
        view.watch(client.messages.stream(**ask()))
        assert view.done
        assert [b["type"] for b in view.blocks] == ["text", CRAFTED_TYPE]
        html = view._static()["text/html"]
        assert f"<p><em>({CRAFTED_TYPE} block)</em></p>" in html  # text inside fixed markup
        assert tables.role(CRAFTED_TYPE) == "other"
        for value in (None, 3, ["text"], {"a": 1}, "__proto__", "constructor"):
            assert tables.role(value) == "other" and tables.appended(value) is None


def test_raw_event_types_reach_the_view_as_text(tmp_path):
    with crafted_client(tmp_path, body(7, event_type=CRAFTED_TYPE)) as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="test-key", max_retries=0)
        view = EventView(display=False)
        with client.messages.with_streaming_response.create(**ask(), stream=True) as response:
            for raw in anthropic.Stream.raw_events(response.http_response):
                view.add(raw)
        view.finish()
        assert CRAFTED_TYPE in [row[1] for row in view.items]
        assert f"{CRAFTED_TYPE}" in view._static()["text/html"].replace("&quot;", '"')


def test_the_browser_gets_its_tables_from_python_and_uses_no_type_as_markup():
    _live._SHIPPED.clear()  # the kernel's first view carries the whole code
    code = _live.views_code()["module"]
    found = re.search(r"const TABLES = (\{.*?\});\n", code)
    assert found and json.loads(found.group(1)) == tables.for_browser()
    source = (_live.HERE / "views.js").read_text()
    # no table of types written by hand in the browser's code, and no type interpolated into a class name
    compared = set(re.findall(r'\.type === "(\w+)"', source))
    assert compared <= {"server_tool_use"} and "endsWith(" not in source, compared  # (a label, not a renderer)
    assert "cw-t-${type}" not in source and "${block.type}" not in source.replace("${String(block.type)}", "")


def test_a_new_block_type_is_one_row_in_one_table(monkeypatch, client):
    monkeypatch.setitem(tables.BLOCKS, "poem", ("text", "text"))
    _live._SHIPPED.clear()
    code = _live.views_code()["module"]
    assert '"poem": {"field": "text", "role": "text"}' in code
    assert tables.role("poem") == "text" and tables.appended("poem") == "text"


@pytest.mark.parametrize("prompt", ["Count to 400", "Explain streaming in detail."])
def test_the_live_token_estimate_is_close_for_digits_and_words(client, prompt):
    view = TextView(display=False)
    with client.messages.stream(model=MODEL, max_tokens=4000, messages=[{"role": "user", "content": prompt}]) as stream:
        for text in stream.text_stream:
            view.append(text)
        message = stream.get_final_message()
    live = view._figures()  # what the live view showed before usage arrived
    assert live["estimated"] and live["tokens"] > 0
    assert abs(live["tokens"] - message.usage.output_tokens) <= 0.15 * message.usage.output_tokens, (
        live,
        message.usage,
    )
    view.finish(message)
    assert view.figures["tokens"] == message.usage.output_tokens and not view.figures["estimated"]


def test_event_rows_show_partial_json_as_it_came(client):
    from helpers.demo_tool import WEATHER_TOOL

    view = EventView(display=False)
    view.watch(
        client.messages.stream(
            model=MODEL,
            max_tokens=512,
            tools=[WEATHER_TOOL],
            messages=[{"role": "user", "content": "What's the weather in Paris?"}],
        )
    )
    fragments = [row[4] for row in view.items if row[3] == "input_json_delta" and row[4]]
    assert fragments and any('"' in f for f in fragments), fragments  # JSON text, its quotes as they are
    assert not any('\\"' in f for f in fragments), fragments
    assert "".join(fragments).startswith('{"location": "Paris')


def test_ttft_is_not_shown_for_a_view_made_for_its_first_token():
    """A view created when the first text arrived (lesson 04's retry views) never saw the request: no TTFT, rather
    than "TTFT 1 ms". A view that started before it shows the time it waited."""
    from helpers.widgets._live import UNTIMED

    view = TextView(display=False)
    view._arrivals = [(UNTIMED / 4, 5), (0.3, 5)]
    assert view._figures()["ttft_ms"] is None and view._figures()["elapsed_ms"] == 300
    view._arrivals = [(0.25, 5), (0.3, 5)]
    assert view._figures()["ttft_ms"] == 250


def test_ttft_means_the_first_token_and_a_thinking_view_also_says_when_text_began(client):
    view = ThinkingView(display=False)
    view.watch(
        client.messages.stream(
            model=MODEL,
            max_tokens=2048,
            thinking={"type": "adaptive"},
            messages=[{"role": "user", "content": "Write a haiku about debugging."}],
        )
    )
    figures = view.figures
    assert [b["type"] for b in view.blocks][:2] == ["thinking", "text"]
    assert figures["ttft_ms"] is not None and figures["first_text_ms"] >= figures["ttft_ms"]
    assert figures["first_text_ms"] == round(view._first_text * 1000)
    source = (_live.HERE / "views.js").read_text()
    assert "(thinking) · first text" in source


CITATIONS = [None, "<b>a bare string</b>", 5, {"type": "<b>made_up</b>", "cited_text": {"nested": ["<i>x</i>"]}}]


@pytest.mark.parametrize("citation", CITATIONS, ids=repr)
def test_a_citation_that_is_not_an_object_is_shown_as_it_came_and_every_view_finishes(tmp_path, citation):
    """A ``citations_delta`` whose citation is ``null``, a string or a number once raised AttributeError from the
    course's own code (the views' rows read ``.type`` and ``.cited_text``)."""
    cite = sse(
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "citations_delta", "citation": citation}},
    )
    crafted = body(7).decode().replace("event: content_block_stop\n", cite + "event: content_block_stop\n", 1)
    with crafted_client(tmp_path, crafted.encode()) as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="test-key", max_retries=0)
        for view_type in (TextView, EventView, ThinkingView):
            view = view_type(display=False)
            view.watch(client.messages.stream(**ask()))  # must not raise from the course's code
            assert view.done and view.status == "done", (view_type.__name__, view.status)
            html = view._static()["text/html"]
            assert not re.search(r"<b>(a bare|made_up)|<i>x", html), html
            if view_type is TextView and isinstance(citation, str):
                assert "&lt;b&gt;a bare string&lt;/b&gt;" in html, html  # as text, in the references


def test_raw_events_whose_types_are_not_strings_are_shown_as_they_came(tmp_path):
    """A raw event with no ``event:`` line takes its type from its JSON, which may be an object or a list; so may a
    delta's type or a stop reason. EventView.add raised (unhashable type) and left the view streaming, or its static
    rendering raised (unsupported format string) when the view finished."""
    shapes = [
        {"type": {"a": 1}},
        {"type": [1]},
        {"type": "content_block_delta", "index": 0, "delta": {"type": [1, 2]}},
        {"type": "content_block_start", "index": 1, "content_block": {"type": {"k": 1}}},
        {"type": "message_delta", "delta": {"stop_reason": {"a": 1}}},
    ]
    data = "".join(f"data: {json.dumps(shape)}\n\n" for shape in shapes) + sse("message_stop", {"type": "message_stop"})
    with crafted_client(tmp_path, data.encode()) as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="test-key", max_retries=0)
        view = EventView(display=False)
        with client.messages.with_streaming_response.create(**ask(), stream=True) as response:
            for raw in anthropic.Stream.raw_events(response.http_response):
                view.add(raw)
        view.finish()
    assert view.done
    rows = [row[1:4] for row in view.items]
    assert ['{"a": 1}', "", ""] in rows and ["[1]", "", ""] in rows, rows
    assert ["content_block_delta", 0, "[1, 2]"] in rows and ["message_delta", "", '{"a": 1}'] in rows, rows
    assert '{"k": 1}' in view._static()["text/html"]  # as text in the rendering's log


def test_sdk_events_whose_types_are_not_strings_leave_every_view_finished(tmp_path):
    """The same through the SDK's events: a block type that is an object, a delta type that is a list (TextView's
    add raised "unhashable type", EventView's rendering "unsupported format string")."""
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL, "content": [],
               "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}  # fmt: skip
    events = [
        ("message_start", {"type": "message_start", "message": message}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": {"k": 1}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": [1], "text": "x"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": {"a": 1}}, "usage": {"output_tokens": 2}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    with crafted_client(tmp_path, "".join(sse(name, data) for name, data in events).encode()) as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="test-key", max_retries=0)
        for kind in (EventView, TextView, ThinkingView):
            view = kind(display=False)
            view.watch(client.messages.stream(**ask()))
            assert view._state["status"] == "done", (kind.__name__, view._state)
            assert re.search("""{["']k["']: 1}""", view._static()["text/html"]), kind.__name__  # shown, as text
