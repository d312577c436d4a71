"""The live views without a browser: real SDK streams from the local API into the views, every message they send
to the browser recorded at the widget's comm (CommMeter) and replayed as views.js would apply it."""

from __future__ import annotations

import asyncio
import configparser
import html
import json
import math
import re
import subprocess
import sys
import time

import anthropic
import pytest

from helpers.models import DEFAULT_MODEL, SERVER_TOOLS
from helpers.offline import start
from helpers.offline.sse import split
from helpers.offline.wire import count_tokens
from helpers.widgets import (
    CommMeter,
    EventView,
    Playground,
    SideBySide,
    StructuredView,
    TextView,
    ThinkingView,
    Timeline,
    ToolInputView,
)
from helpers.widgets._live import MAX_RATE, expand
from helpers.widgets.meter import replay
from helpers.widgets.playground import WEATHER_TOOL

from .conftest import MODEL, ROOT, samples_or_skip

COUNT_10K = "Count to 3700"  # about 10,100 tokens from the local API
HAIKU = "Write a haiku about debugging."
LONG = "Explain streaming in detail."
WEATHER = "What's the weather in Paris?"
THINKING = {"type": "enabled", "budget_tokens": 1024}


def ask(prompt: str, max_tokens: int = 1024, **params) -> dict:
    return {"model": MODEL, "max_tokens": max_tokens, "messages": [{"role": "user", "content": prompt}], **params}


def sent_text(meter: CommMeter) -> str:
    """Every piece of text the view sent, in order: equal to the final text iff nothing was sent twice."""
    return "".join(op[3] for m in meter.custom() for op in m["o"] if op[0] == "+" and op[2] == "text")


def assert_rate_bound(meter: CommMeter) -> None:
    assert min(meter.gaps(), default=1.0) >= 1 / MAX_RATE - 1e-3, "two updates closer than 1/30 s"
    assert meter.peak_rate(1.0) <= MAX_RATE + 1


# -- text: deltas, not snapshots ----------------------------------------------------------------------------------


def test_10k_token_stream_sends_each_byte_once_in_few_batched_messages(client):
    assert count_tokens(", ".join(str(i) for i in range(1, 3701)) + ".") >= 10_000
    view = TextView(display=False)
    with CommMeter(view) as meter:
        with client.messages.stream(**ask(COUNT_10K, 20_000)) as stream:
            for text in stream.text_stream:
                view.append(text)
            message = stream.get_final_message()
        view.finish(message)
    final = message.content[0].text
    assert view.text == final and final.endswith("3699, 3700.")
    assert sent_text(meter) == final  # each text byte sent exactly once
    browser = replay(meter.custom())
    assert browser["blocks"][0]["text"] == final and browser["status"] == "done"
    assert meter.bytes <= 1.5 * len(final.encode()), f"{meter.bytes} bytes sent for {len(final.encode())} bytes of text"
    assert meter.messages <= len(final) // 20  # batched: far fewer messages than deltas
    assert_rate_bound(meter)


def test_final_state_is_stored_in_the_kernel_without_a_second_send(client):
    view = TextView(display=False)
    with CommMeter(view) as meter:
        view.watch(client.messages.stream(**ask(LONG)))
    state = view.get_state()  # what a reloaded page (or a second display) receives
    assert state["blocks"][0]["text"] == view.text and len(view.text) > 1000
    assert state["status"] == "done" and state["footer"]["stop_reason"] == "end_turn"
    assert state["seq"] == len(meter.custom()) == meter.messages  # only custom messages: no full-state update
    assert meter.custom()[-1]["end"]["footer"]["output_tokens"] == state["footer"]["output_tokens"]
    assert (
        repr(view)
        == f"TextView(end_turn, {len(view.text)} chars, {state['footer']['input_tokens']} in / {state['footer']['output_tokens']} out tokens)"
    )


def test_a_browser_that_missed_messages_gets_the_whole_state(client):
    view = TextView(display=False)
    with CommMeter(view) as meter:
        with client.messages.stream(**ask(HAIKU)) as stream:
            for text in stream.text_stream:
                view.append(text)
            view._handle_msg({"content": {"data": {"method": "custom", "content": {"resync": 0}}}, "buffers": []})
            view.finish(stream.get_final_message())
    updates = [r[3] for r in meter.records if r[3]["method"] == "update"]
    assert len(updates) == 1 and updates[0]["state"]["blocks"][0]["text"] == view.text
    assert updates[0]["state"]["seq"] == [m["seq"] for m in meter.custom()][-2]


def test_more_text_for_the_same_field_travels_short_and_names_its_field_again_after_a_resync(client):
    view = TextView(display=False)
    with CommMeter(view) as meter:
        with client.messages.stream(**ask(LONG, max_tokens=50)) as stream:  # about 25 deltas
            for n, text in enumerate(stream.text_stream):
                view.append(text)
                time.sleep(1 / MAX_RATE)  # one message per delta or so
                if n == 10:
                    view._handle_msg(
                        {"content": {"data": {"method": "custom", "content": {"resync": 0}}}, "buffers": []}
                    )
            view.finish(stream.get_final_message())
    sent = [r[3] for r in meter.records]
    short = [m for m in sent if m["method"] == "custom" and isinstance(m["content"], list)]
    assert len(short) > len(sent) / 2, "most messages should be the short form [seq, text]"
    resync = next(i for i, m in enumerate(sent) if m["method"] == "update")
    after = next(m["content"] for m in sent[resync + 1 :] if m["method"] == "custom")
    assert isinstance(after, dict) and after["o"][0][:3] == ["+", 0, "text"]
    assert replay(meter.custom())["blocks"][0]["text"] == view.text


def test_the_batch_timer_sends_pending_text_while_the_stream_stalls():
    with start(pace="instant", fault="stall@12:0.8") as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="test-key", max_retries=0)
        view = TextView(display=False)
        appended: list[tuple[float, str]] = []
        with CommMeter(view) as meter, client.messages.stream(**ask(LONG)) as stream:
            for text in stream.text_stream:
                appended.append((time.monotonic(), text))
                view.append(text)
            view.finish(stream.get_final_message())
    times = [t for t, _ in appended]
    stall = max(range(1, len(times)), key=lambda i: times[i] - times[i - 1])
    assert times[stall] - times[stall - 1] >= 0.7
    before = "".join(text for _, text in appended[:stall])
    sent_by = [(t, m) for t, m in zip(meter.custom_times(), meter.custom(), strict=True) if t < times[stall]]
    text_sent = "".join(op[3] for _, m in sent_by for op in m["o"] if op[0] == "+")
    assert text_sent == before, "text appended before the stall waited for the next token"
    assert sent_by[-1][0] - times[stall - 1] <= 0.5


async def test_async_stream_with_awatch(aclient):
    view = TextView(display=False)
    with CommMeter(view) as meter:
        message = await view.awatch(aclient.messages.stream(**ask(LONG)))
    assert view.text == message.content[0].text and replay(meter.custom())["blocks"][0]["text"] == view.text
    assert_rate_bound(meter)


def test_text_stream_loop_and_watch_agree(client):
    looped, watched = TextView(display=False), TextView(display=False)
    with client.messages.stream(**ask("Tell me about unicode and newlines.")) as stream:
        for text in stream.text_stream:
            looped.append(text)
        looped.finish(stream.get_final_message())
    message = watched.watch(client.messages.stream(**ask("Tell me about unicode and newlines.")))
    assert looped.text == watched.text == message.content[0].text and "東京" in looped.text
    assert sanitize(looped._static()["text/html"]) == sanitize(watched._static()["text/html"])
    assert "```" not in looped._static()["text/html"]  # fences became <pre><code> blocks


# -- errors --------------------------------------------------------------------------------------------------------


def test_mid_stream_error_keeps_partial_text_and_shows_a_banner(client):
    full = client.messages.create(**ask(LONG)).content[0].text
    view = TextView(display=False)
    with CommMeter(view) as meter, pytest.raises(anthropic.APIStatusError):
        view.watch(client.messages.stream(**ask(LONG), extra_headers={"x-offline-fault": "error@8"}))
    assert view.text and full.startswith(view.text) and len(view.text) < len(full)
    assert view.error == "APIStatusError: Overloaded (overloaded_error, mid-stream)"
    end = meter.custom()[-1]["end"]
    assert end["status"] == "error" and end["error"] == view.error
    static = view._static()
    assert "⚠ <code>APIStatusError: Overloaded" in static["text/html"]
    assert html.escape(view.text.split("\n")[0], quote=False) in static["text/html"]
    assert repr(view) == f"TextView(error: APIStatusError, {len(view.text)} chars)"
    assert TextView(display=False).watch(client.messages.stream(**ask(HAIKU))).stop_reason == "end_turn"  # still usable


def test_http_error_before_the_stream_is_shown_too(client):
    view = TextView(display=False)
    with pytest.raises(anthropic.InternalServerError):
        view.watch(client.messages.stream(**ask(HAIKU), extra_headers={"x-offline-fault": "http:529"}))
    assert view.status == "error" and view.error.startswith("OverloadedError: Overloaded (overloaded_error, HTTP 529)")


def test_context_manager_finishes_or_fails(client):
    with pytest.raises(ValueError, match="boom"), TextView(display=False) as failing:
        failing.append("partial ")
        raise ValueError("boom")
    assert failing.status == "error" and failing.error == "ValueError: boom" and failing.text == "partial "
    with TextView(display=False) as ok:
        ok.append("all fine")
    assert ok.status == "done" and repr(ok) == "TextView(done, 8 chars)"


def test_wrong_input_names_what_was_expected(client, aclient):
    view = TextView(display=False)
    with pytest.raises(TypeError, match=r"append\(\) expects str, a text delta from `stream.text_stream`, got int"):
        view.append(42)
    with pytest.raises(
        TypeError, match=r"add\(\) expects a stream event .* got str\. For text from stream.text_stream use view.append"
    ):
        view.add("hello")
    with pytest.raises(TypeError, match=r"expects the MessageStream .* got dict"):
        view.watch({"not": "a stream"})
    with pytest.raises(TypeError, match=r"finish\(\) expects the final Message .* got str"):
        view.finish("done")
    with pytest.raises(TypeError, match=r"fail\(\) expects an exception, got str"):
        view.fail("oops")
    with pytest.raises(TypeError, match=r"title=\.\.\.\) expects a str, got int"):
        TextView(title=3, display=False)
    with pytest.raises(TypeError, match=r"EventView.add\(\) expects a stream event"):
        EventView(display=False).add(3.5)
    with pytest.raises(TypeError, match=r"non-empty list of pane titles"):
        SideBySide("ab", display=False)
    with pytest.raises(TypeError, match=r"needs an anthropic.AsyncAnthropic client .* got Anthropic"):
        Playground(client, display=False)
    with pytest.raises(TypeError, match=r"Playground\(models=\.\.\.\) expects a list of model names, e.g. \['claude"):
        Playground(aclient, models="claude", display=False)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'bogus'"):
        TextView(bogus=1, display=False)
    view.finish()
    with pytest.raises(RuntimeError, match=r"is finished \(done\): append\(\) needs a new view"):
        view.append("late")


async def test_sync_and_async_streams_are_not_mixed_up(client, aclient):
    with pytest.raises(TypeError, match=r"got a sync stream: use `view.watch\(stream\)`"):
        await TextView(display=False).awatch(client.messages.stream(**ask(HAIKU)))
    manager = aclient.messages.stream(**ask(HAIKU))
    with pytest.raises(TypeError, match=r"got an async stream: use `await view.awatch\(stream\)`"):
        TextView(display=False).watch(manager)
    async with manager as stream:  # the manager is still good
        assert (await stream.get_final_message()).stop_reason == "end_turn"


# -- events, tools, thinking, timeline -----------------------------------------------------------------------------


def test_event_view_rows_from_sdk_events(client):
    view = EventView(display=False)
    with CommMeter(view) as meter:
        message = view.watch(client.messages.stream(**ask(HAIKU)))
    types = [row[1] for row in view.items]
    assert types[0] == "message_start" and types[-1] == "message_stop" and "ping" not in types  # the SDK hides pings
    assert types.count("content_block_delta") == types.count("text") > 3
    assert replay(meter.custom())["items"] == view.items
    assert view.footer["stop_reason"] == message.stop_reason
    static = view._static()["text/html"]
    assert f"<b>{len(types)} events</b> · <code>message_start</code> 1" in static and not re.search(r"\d ?ms\b", static)


def test_event_view_shows_pings_from_the_raw_wire(client):
    view = EventView(display=False)
    with client.messages.with_streaming_response.create(**ask(HAIKU), stream=True) as response:
        for sse in anthropic.Stream.raw_events(response.http_response):
            view.add(sse)
    view.finish()
    types = [row[1] for row in view.items]
    assert "ping" in types and types[0] == "message_start" and types[-1] == "message_stop"
    delta = next(row for row in view.items if row[1] == "content_block_delta")
    assert delta[2:4] == [0, "text_delta"]
    assert re.fullmatch(r"EventView\(done, \d+ events, 1 ping\)", repr(view))


def test_tool_input_view_grows_the_snapshot(client):
    view = ToolInputView(display=False)
    with CommMeter(view) as meter:
        message = view.watch(client.messages.stream(**ask(WEATHER, tools=[WEATHER_TOOL])))
    tool = next(b for b in view.blocks if b["type"] == "tool_use")
    final = next(b for b in message.content if b.type == "tool_use")
    assert tool["name"] == "get_weather" and tool["id"] == final.id
    assert json.loads(tool["partial_json"]) == tool["snapshot"] == final.input
    snapshots = [op[3] for m in meter.custom() for op in m["o"] if op[0] == "=" and op[2] == "snapshot"]
    assert snapshots[-1] == final.input and not tool.get("truncated")
    assert repr(view) == "ToolInputView(tool_use, 1 tool call: get_weather)"


def test_tool_input_cut_by_max_tokens_is_marked(client):
    view = ToolInputView(display=False)
    message = view.watch(client.messages.stream(**ask(WEATHER, 14, tools=[WEATHER_TOOL])))
    tool = next(b for b in view.blocks if b["type"] == "tool_use")
    assert message.stop_reason == "max_tokens" and tool["truncated"] is True
    with pytest.raises(ValueError):
        json.loads(tool["partial_json"])
    assert "Cut off by max_tokens" in view._static()["text/html"]
    assert repr(view) == "ToolInputView(max_tokens, 1 tool call: get_weather (input cut off))"


def test_thinking_view_shows_thinking_signature_then_answer(client):
    view = ThinkingView(display=False)
    message = view.watch(client.messages.stream(**ask("What is 27 * 453?", 2048, thinking=THINKING)))
    thinking, text = view.blocks
    assert thinking["type"] == "thinking" and thinking["thinking"] == message.content[0].thinking
    assert thinking["signature"] == len(message.content[0].signature) > 0
    assert text["text"] == "27 × 453 = **12,231**."
    static = view._static()["text/html"]
    assert f'<div class="cw-static" data-cw-view="{view.view_id}"><details><summary>Thinking · ' in static
    assert "signature received" in static
    assert "<strong>12,231</strong>" in static
    assert repr(view).startswith(f"ThinkingView(end_turn, {len(thinking['thinking'])} thinking chars, 22 text chars")


def sanitize(text: str) -> str:
    """Apply tests/sanitize.cfg as nbval does."""
    config = configparser.ConfigParser()
    config.read(ROOT / "tests" / "sanitize.cfg")
    for section in config.sections():
        text = re.sub(config[section]["regex"], config[section]["replace"], text)
    return text


def test_timeline_draws_arrivals_and_sanitizes_to_a_stable_output(client):
    outputs = []
    for _ in range(2):
        view = Timeline(display=False)
        with client.messages.stream(**ask(LONG)) as stream:
            for text in stream.text_stream:
                view.append(text)
            view.finish(stream.get_final_message())
        static = view._static()
        assert (
            static["image/svg+xml"].startswith("<svg")
            and f"arrivals: {len(view._arrivals)} deltas" in static["image/svg+xml"]
        )
        assert view.svg == static["image/svg+xml"] and len(view.svg) < 20_000
        outputs.append({k: sanitize(v) for k, v in static.items()})
    assert outputs[0] == outputs[1]
    assert "time to first token T" in outputs[0]["image/svg+xml"]


@pytest.mark.parametrize(
    "name",
    [
        "docs2025_basic_streaming_response",
        "docs2025_tool_use_streaming_response",
        "docs2025_extended_thinking_streaming_response",
        "realworld_midstream_overloaded_error_helicone_pr4678",
        "sdk_recorded_tool_runner_stream_A_turn0",
        "sdk_recorded_structured_output_stream_after_2x429_turn2",
    ],
)
def test_replayed_real_streams(name):
    path = samples_or_skip() / f"{name}.txt"
    with start(pace="instant", replay=path) as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="test-key", max_retries=0)
        view, events = ToolInputView(display=False), EventView(display=False)
        with CommMeter(view) as meter:
            try:
                message = view.watch(client.messages.stream(**ask(HAIKU)))
            except (anthropic.APIError, AttributeError) as exc:  # the docs' thinking sample has no usage
                message, error = None, exc
        with client.messages.with_streaming_response.create(**ask(HAIKU), stream=True) as response:
            for sse in anthropic.Stream.raw_events(response.http_response):
                events.add(sse)
        events.finish()
    browser = replay(meter.custom())
    assert browser["blocks"] == view.blocks  # the browser holds exactly the kernel's state
    on_the_wire = [e.event or json.loads(e.data)["type"] for e in split(path.read_bytes())]
    assert [row[1] for row in events.items] == on_the_wire  # every event, pings included
    if message is None:
        assert view.status == "error" and view.error.startswith(type(error).__name__)
    else:
        assert view.status == "done" and view.text == "".join(b.text for b in message.content if b.type == "text")
        for block, final in zip(view.blocks, message.content, strict=True):
            if final.type == "tool_use":
                assert block["snapshot"] == final.input


# -- side by side and playground -----------------------------------------------------------------------------------


async def test_side_by_side_runs_streams_concurrently(aclient):
    side = SideBySide(["haiku", "long"], display=False)
    messages = await side.arun([aclient.messages.stream(**ask(HAIKU)), aclient.messages.stream(**ask(LONG))])
    assert [p.text for p in side.panes] == [m.content[0].text for m in messages]
    assert repr(side) == "SideBySide(2 panes: 'haiku': end_turn, 'long': end_turn)"
    static = side._static()["text/html"]
    first, second = (p.view_id for p in side.panes)
    assert static.startswith(f'<div class="cw-static" data-cw-view="{first} {second}"><h4>haiku</h4>')
    assert f'<div class="cw-md" data-cw-block="{first}:0"><p>Silent stack trace waits' in static
    assert "<h4>long</h4>" in static and f'data-cw-block="{second}:0"' in static


async def test_side_by_side_error_in_one_pane_lets_the_other_finish(aclient):
    side = SideBySide(["ok", "failing"], display=False)
    failing = aclient.messages.stream(**ask(LONG), extra_headers={"x-offline-fault": "error@10"})
    with pytest.raises(anthropic.APIStatusError):
        await side.arun([aclient.messages.stream(**ask(LONG)), failing])
    assert side.panes[0].status == "done" and side.panes[1].status == "error" and side.panes[1].text
    with pytest.raises(ValueError, match="expects a list of 2 streams, one per pane, got 1"):
        await side.arun([failing])


async def test_side_by_side_pane_whose_stream_never_started_shows_an_error(client, aclient):
    side = SideBySide(["async", "sync by mistake"], display=False)
    with pytest.raises(TypeError, match="got a sync stream"):
        await side.arun([aclient.messages.stream(**ask(HAIKU)), client.messages.stream(**ask(HAIKU))])
    assert side.panes[0].status == "done" and side.panes[1].status == "error"  # not "✓ done · 0 chars"
    assert "got a sync stream" in side.panes[1].error


async def test_playground_conversation_tools_and_thinking(aclient):
    pg = Playground(aclient, display=False)
    assert repr(pg) == f"Playground({DEFAULT_MODEL}, 0 turns)"
    first = await pg.send(HAIKU)
    assert first.stop_reason == "end_turn" and "Done: end_turn" in pg.status.value
    pg.tools.value = True
    answer = await pg.send(WEATHER)
    assert "18°C" in answer.content[0].text
    roles = [m["role"] for m in pg.messages]
    assert roles == ["user", "assistant", "user", "assistant", "user", "assistant"]
    assert pg.messages[4]["content"][0]["type"] == "tool_result"
    pg.tools.value, pg.thinking.value = False, True
    thought = await pg.send("What is 27 * 453?")
    assert [b.type for b in thought.content] == ["thinking", "text"] and repr(
        pg
    ) == f"Playground({DEFAULT_MODEL}, 3 turns)"
    pg.send_button.click()  # an empty prompt box: said, not raised
    await asyncio.sleep(0.05)
    assert "Type a prompt first" in pg.status.value


async def test_playground_shows_errors_instead_of_raising(aclient):
    pg = Playground(aclient.with_options(default_headers={"x-offline-fault": "http:400"}), display=False)
    pg.thinking.value = True
    assert await pg.send(HAIKU) is None
    assert "BadRequestError" in pg.status.value and pg.messages == []
    pg.client = aclient
    assert (await pg.send(HAIKU)).stop_reason == "end_turn"


def test_expand_writes_short_messages_out_and_refuses_one_with_no_block_to_append_to():
    full = {"seq": 1, "o": [["+", 0, "text", "Hel"]]}
    assert expand([full, [2, "lo"]])[1] == {"seq": 2, "o": [["+", 0, "text", "lo"]]}
    with pytest.raises(ValueError, match="before any '\\+' op"):
        expand([[1, "lo"]])


async def test_playground_stop_closes_the_stream_mid_way(api):
    paced = anthropic.AsyncAnthropic(
        base_url=api.url, api_key="test-key", max_retries=0, default_headers={"x-offline-pace": "60"}
    )
    pg = Playground(paced, display=False)
    assert pg.stop() is False  # nothing streams yet
    before = api.stats()["streams_cut_by_client"]
    pg.prompt.value = LONG
    pg.send_button.click()  # what a click in the browser does: a task on the running loop
    for _ in range(200):
        await asyncio.sleep(0.05)
        views = [c for c in pg.transcript.children if isinstance(c, ThinkingView)]
        if views and len(views[0].text) > 40:
            break
    assert pg.busy and pg.send_button.disabled and not pg.stop_button.disabled
    assert pg.stop() is True
    for _ in range(100):
        await asyncio.sleep(0.05)
        if not pg.busy and api.stats()["streams_cut_by_client"] > before:
            break
    view = views[0]
    assert view.status == "stopped" and 40 < len(view.text) < 2000
    assert f"Stopped after {len(view.text)} chars." in pg.status.value
    assert api.stats()["streams_cut_by_client"] == before + 1
    assert pg.messages[-1] == {"role": "assistant", "content": view.text}  # what arrived stays in the conversation


async def test_playground_copies_as_code_that_runs_and_keeps_a_history(aclient, api):
    pg = Playground(aclient, display=False)
    assert pg.stop_button.disabled and pg.stop_button.button_style == ""  # grey while nothing runs
    pg.system.value, pg.tools.value = "Be brief.", True
    await pg.send(WEATHER)
    await pg.send("Thanks! <b>And</b> tomorrow?")
    assert [r["prompt"] for r in pg.history] == [WEATHER, "Thanks! <b>And</b> tomorrow?"]
    assert all(r["model"] == DEFAULT_MODEL and r["output_tokens"] > 0 and r["ttft_ms"] >= 0 for r in pg.history)
    assert "&lt;b&gt;And&lt;/b&gt;" in pg.history_table.value and "<b>And" not in pg.history_table.value
    pg.code_button.click()
    code = pg.code_box.value
    assert code == pg.code("") and code.rstrip().endswith("main()") and "# <- your prompt here" in code
    assert pg.code_box.layout.display == "" and "system='Be brief.'" in code and "tools=tools" in code
    assert api.url not in code and "Thanks! <b>And</b> tomorrow?" in code  # the conversation so far goes along
    namespace: dict = {"client": "the notebook's", "message": "the notebook's"}
    exec(compile(pg.code("Hello").replace("main()\n", ""), "copied", "exec"), namespace)  # defines main() only
    assert namespace["client"] == namespace["message"] == "the notebook's"  # pasted in a cell, it rebinds nothing
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("output tokens") and "stop_reason: end_turn" in done.stdout


def test_playground_code_never_carries_the_key():
    key = "sk-ant-api03-" + "x" * 40
    live = Playground(anthropic.AsyncAnthropic(api_key=key), display=False)
    gateway = Playground(anthropic.AsyncAnthropic(api_key=key, base_url="https://gateway.example/v1"), display=False)
    assert "client = anthropic.Anthropic()  # reads ANTHROPIC_API_KEY" in live.code("hi")
    assert "base_url='https://gateway.example/v1'" in gateway.code("hi")
    assert key not in live.code("hi") + gateway.code("hi")


@pytest.mark.parametrize(
    "base_url",
    ["https://alice:s3cret@gateway.example/v1", "https://gateway.example/v1?key=s3cret", "https://s3cret@gw.example"],
)
def test_playground_code_never_prints_credentials_in_the_url(base_url):
    pg = Playground(anthropic.AsyncAnthropic(api_key="k", base_url=base_url), display=False)
    code = pg.code("hi")
    assert "s3cret" not in code and "client = anthropic.Anthropic()  # base_url from ANTHROPIC_BASE_URL" in code
    compile(code, "copied", "exec")


def test_playground_code_runs_as_printed_for_any_value(api):
    """NaN and infinities in a tool input, quotes, backslashes and line breaks in strings, a URL with a backslash:
    the code is Python that runs and sends the same request, and no local API port is written into it."""
    odd = 'He said "hi" \\ C:\\temp\\new \n tab\t and \'quotes\' ``` """ \ud83d\ude00'
    pg = Playground(anthropic.AsyncAnthropic(api_key="k", base_url=api.url), display=False)
    pg.system.value, pg.thinking.value = odd, True
    tool_input = {"location": odd, "t": float("nan"), "hi": float("inf"), "lo": float("-inf")}
    pg.messages += [
        {"role": "user", "content": odd},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": tool_input}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "12 °C"}]},
    ]  # fmt: skip
    code = pg.code("Hello")
    assert api.url.rsplit(":", 1)[1] not in code and "127.0.0.1" not in code and "from helpers import connect" in code
    assert (
        "thinking={'type': 'adaptive', 'display': 'summarized'}" in code
        and '"enabled"' not in code
        and "'enabled'" not in code
    )
    namespace: dict = {}
    exec(compile(code.replace("\nmain()\n", "\n"), "copied", "exec"), namespace)
    messages = namespace["main"].__code__.co_consts  # (compiled: it parsed) and the values round-trip:
    source = code.split("    messages = ", 1)[1].split("\n    with ", 1)[0]
    rebuilt = eval(source.replace("  # <- your prompt here", ""))  # noqa: S307 (our own generated literal)
    assert rebuilt[0]["content"] == odd and rebuilt[1]["content"][0]["input"]["location"] == odd
    assert math.isnan(rebuilt[1]["content"][0]["input"]["t"]) and rebuilt[1]["content"][0]["input"]["lo"] == -math.inf
    assert messages  # main() compiled
    assert code.index("message = stream.get_final_message()") > code.index("    ) as stream:")
    assert "        message = stream.get_final_message()" in code  # inside the with block


def test_playground_code_with_a_backslash_in_the_gateway_url_runs():
    url = "https://gateway.example/v1/a\\b"
    pg = Playground(anthropic.AsyncAnthropic(api_key="k", base_url=url), display=False)
    namespace: dict = {}
    exec(compile(pg.code("hi").replace("\nmain()\n", "\n"), "copied", "exec"), namespace)
    assert "main" in namespace


async def test_nan_in_a_tool_input_does_not_break_later_turns(aclient):
    from helpers.widgets.playground import block_param

    call = anthropic.types.ToolUseBlock(type="tool_use", id="toolu_1", name="get_weather", input={"t": float("nan")})
    param = block_param(call)
    assert param["input"] == {"t": None}
    json.dumps(param, allow_nan=False)  # what the API takes: strict JSON
    pg = Playground(aclient, display=False)
    pg.messages += [
        {"role": "user", "content": WEATHER},
        {"role": "assistant", "content": [param]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "12 °C"}]},
    ]
    assert await pg.send("Thanks!") is not None  # the next turn still streams


# -- the whole stream of late 2026: citations, server tools, refusals, pauses, structured output, caching ----------

SEARCH = [{"type": SERVER_TOOLS["web_search"][0], "name": "web_search"}]


def test_citations_and_server_tool_results_show_under_the_text(client):
    view = TextView(display=False)
    message = view.watch(client.messages.stream(**ask("What is new in SSE?", tools=SEARCH)))
    types = [b["type"] for b in view.blocks]
    assert "server_tool_use" in types and "web_search_tool_result" in types
    search = next(b for b in view.blocks if b["type"] == "server_tool_use")
    assert (
        search["name"] == "web_search" and search["snapshot"] == message.content[types.index("server_tool_use")].input
    )
    results = next(b for b in view.blocks if b["type"] == "web_search_tool_result")["results"]
    assert len(results) == 3 and all(r["url"].startswith("https://") for r in results)
    cited = [c for b in view.blocks for c in b.get("citations", [])]
    sdk = [c for b in message.content if b.type == "text" for c in (b.citations or [])]
    assert [c["cited_text"] for c in cited] == [c.cited_text for c in sdk] and [c["n"] for c in cited] == [1, 2]
    static = view._static()["text/html"]
    assert f'[1] <a href="{sdk[0].url}"' in static and "<b>server tool</b> <code>web_search</code>" in static
    assert view.footer["server_tool_use"] == {"web_search_requests": 1} and "web_search_requests 1" in static


CODE_EXECUTION = [{"type": SERVER_TOOLS["code_execution"][1], "name": "code_execution"}]


def test_a_code_execution_session_shows_each_result_and_the_uploaded_file(client):
    view = TextView(display=False)
    view.watch(client.messages.stream(**ask("Write a script that computes 6 * 7", tools=CODE_EXECUTION)))
    rows = [[r["title"] for r in b["results"]] for b in view.blocks if b["type"].endswith("_tool_result")]
    assert rows[0] == ["file created"] and rows[1][0] == "exit code 1" and "NameError" in rows[1][-1]
    assert rows[2][0] == "viewed text file (lines 1-2 of 2)" and rows[3][0] == "edited at line 2"
    assert rows[4][:2] == ["exit code 0", "stdout: total: 42"] and rows[4][2].startswith("output file file_01")
    static = view._static()["text/html"]
    assert "<b>text_editor_code_execution_tool_result</b>" in static and "<li>edited at line 2</li>" in static
    upload = {"type": "container_upload", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}
    content = [{"type": "text", "text": "What is in this file?"}, upload]
    view = TextView(display=False)
    view.watch(
        client.messages.stream(**{**ask("", tools=CODE_EXECUTION), "messages": [{"role": "user", "content": content}]})
    )
    assert view.blocks[0]["results"][0]["title"] == f"file {upload['file_id']} uploaded to the container"
    assert "<b>container_upload</b>" in view._static()["text/html"]


def test_tool_search_and_a_failing_tool_show_what_happened(client):
    deferred = {"name": "get_weather", "description": "Weather for a city", "input_schema": {"type": "object"}}
    search = {"type": SERVER_TOOLS["tool_search_tool_bm25"][-1], "name": "tool_search_tool_bm25"}
    view = TextView(display=False)
    view.watch(client.messages.stream(**ask("Weather in Oslo?", tools=[search, {**deferred, "defer_loading": True}])))
    found = next(b for b in view.blocks if b["type"] == "tool_search_tool_result")
    assert found["results"] == [{"title": "found tool get_weather", "url": ""}]
    view = TextView(display=False)
    stream = client.messages.stream(
        **ask("Weather in Oslo?", tools=[search]), extra_headers={"x-offline-fault": "toolerror"}
    )
    view.watch(stream)
    failed = next(b for b in view.blocks if b["type"] == "tool_search_tool_result")
    assert failed["results"][0]["title"].startswith("error: unavailable (")


def test_a_refusal_is_a_notice_that_keeps_the_partial_text(client):
    view = TextView(display=False)
    message = view.watch(client.messages.stream(**ask("Write ransomware for me")))
    assert message.stop_reason == "refusal" and view.status == "done" and view.text == message.content[0].text
    assert view.footer["stop_details"]["category"] == "cyber"
    static = view._static()["text/html"]
    assert "Refused (cyber)</b>: The request could enable cyber harm" in static and "⚠" not in static


@pytest.mark.parametrize("reason", ["pause_turn", "max_tokens", "model_context_window_exceeded", "stop_sequence"])
def test_every_stop_reason_reaches_the_footer(client, reason):
    view = TextView(display=False)
    stream = client.messages.stream(**ask(LONG), extra_headers={"x-offline-fault": f"stop:{reason}@12"})
    assert view.watch(stream).stop_reason == reason == view.footer["stop_reason"]
    static = view._static()["text/html"]
    assert f"<code>{reason}</code>" in static
    assert (f"({reason})" in static) == (reason != "stop_sequence")  # a notice says what to do, except for a match


def test_structured_output_shows_the_parsed_object_growing(client):
    import pydantic

    class Person(pydantic.BaseModel):
        name: str
        age: int
        hobbies: list[str]

    view = StructuredView(display=False)
    paced = {"x-offline-pace": "100"}  # a few updates, so the parsed side is seen growing
    with (
        CommMeter(view) as meter,
        client.messages.stream(**ask("Make up a person"), output_format=Person, extra_headers=paced) as stream,
    ):
        message = view.watch(stream)
    snapshots = [op[3] for m in meter.custom() for op in m["o"] if op[0] == "=" and op[2] == "snapshot"]
    assert len(snapshots) >= 2 and snapshots[-1] == message.parsed_output.model_dump()
    assert repr(view) == f"StructuredView(end_turn, {len(view.text)} chars of JSON, 3 fields)"


def test_redacted_and_omitted_thinking_show_as_what_they_are(client):
    from helpers.offline.replies import REDACTED_TRIGGER

    view = ThinkingView(display=False)
    view.watch(client.messages.stream(**ask(REDACTED_TRIGGER, 2048, thinking=THINKING)))
    redacted = next(b for b in view.blocks if b["type"] == "redacted_thinking")
    assert redacted["data_chars"] > 0 and "Redacted thinking</em>" in view._static()["text/html"]
    omitted = ThinkingView(display=False)
    message = omitted.watch(
        client.messages.stream(**ask("What is 27 * 453?", 2048, thinking={**THINKING, "display": "omitted"}))
    )
    assert message.content[0].thinking == "" and "Thinking omitted</em>" in omitted._static()["text/html"]
    # omitted thinking is still billed: the footer says how much of the output it was
    thought = message.usage.output_tokens_details.thinking_tokens
    assert thought > 0 and omitted.footer["thinking_tokens"] == thought
    assert f"output tokens ({thought} of them thinking)" in omitted._static()["text/html"]


def test_cache_tokens_in_the_usage_footer(client):
    system = [{"type": "text", "text": "You are a careful assistant. " * 400, "cache_control": {"type": "ephemeral"}}]
    first, second = TextView(display=False), TextView(display=False)
    first.watch(client.messages.stream(**ask("Hello there, cache test"), system=system))
    second.watch(client.messages.stream(**ask("Hello there, cache test"), system=system))
    assert first.footer["cache_creation_input_tokens"] > 0 and second.footer["cache_read_input_tokens"] > 0
    assert "cache: " in first._static()["text/html"] and " read</p>" in second._static()["text/html"]


def test_citations_travel_one_by_one_not_as_the_whole_list_again(tmp_path):
    """Each citation was sent by setting the block's whole list again ("="), at every batch: O(n²) bytes, 397 MB to
    the browser for a 1.4 MB stream of 5,000 citations. Now each one is appended once ("a")."""
    from helpers.offline.sse import encode

    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL, "content": [],
               "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}  # fmt: skip
    cite = {"type": "char_location", "document_index": 0, "document_title": "notes", "start_char_index": 0,
            "end_char_index": 5, "cited_text": "cited"}  # fmt: skip
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "citations_delta", "citation": cite}}
    start_text = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    events = [encode("message_start", {"type": "message_start", "message": message})]
    events += [encode("content_block_start", start_text), *[encode("content_block_delta", delta)] * 300]
    events += [encode("content_block_stop", {"type": "content_block_stop", "index": 0})]
    events += [encode("message_stop", {"type": "message_stop"})]
    (tmp_path / "cites.sse").write_bytes(b"".join(events))
    view = TextView(display=False)
    with start(pace="instant", replay=tmp_path / "cites.sse") as api, CommMeter(view) as meter:
        crafted = anthropic.Anthropic(base_url=api.url, api_key="test-key", max_retries=0)
        with crafted.messages.stream(**ask("Cite")) as stream:
            for i, event in enumerate(stream):
                view.add(event)
                if i % 100 == 99:
                    time.sleep(2 / MAX_RATE)  # let a batch go out mid-stream
        view.finish()
    ops = [op for m in meter.custom() for op in m["o"]]
    assert [op for op in ops if op[2:3] == ["citations"] and op[0] != "a"] == []
    assert len([op for op in ops if op[0] == "a"]) == 300
    browser = replay(meter.custom())
    assert [c["n"] for c in browser["blocks"][0]["citations"]] == list(range(1, 301))
    assert meter.bytes < 3 * len(json.dumps(view.blocks[0]["citations"]))
