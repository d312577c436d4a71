"""Every checker of lessons 00-09 judged by a table: answers a learner would plausibly write that are wrong (each
NOT YET, with a hint that points at the mistake without handing over the answer) and right answers written unlike
the solution file (each PASS). The streams are real: the SDK against the local API at instant pace."""

from __future__ import annotations

import asyncio
import functools
import json
import tracemalloc
import warnings

import anthropic
import httpx2
import pydantic
import pytest

from helpers.demo_tool import WEATHER_TOOL
from helpers.exercises import (
    lesson00,
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
    lesson09,
)

from .conftest import MODEL

HAIKU = [{"role": "user", "content": "Write a haiku about debugging."}]
TOOLS = [WEATHER_TOOL]


def verdict(capsys) -> str:
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines and lines[-1].startswith(("PASS ✓", "NOT YET ✗")), lines
    return lines[-1]


def assert_not_yet(out: str, expected: str, answer_words: tuple[str, ...]) -> None:
    """NOT YET naming ``expected``, with a hint that holds none of ``answer_words``."""
    assert out.startswith("NOT YET ✗") and expected in out, out
    assert " — hint: " in out, f"no hint: {out}"
    hint = out.split(" — hint: ", 1)[1]
    assert hint.strip(), out
    assert not [w for w in answer_words if w in hint], f"the hint hands over the answer: {hint}"


# -- 00: max_tokens for the whole haiku -------------------------------------------------------------------------------

WRONG_00 = [
    ({"max_tokens": 8}, "stop_reason 'max_tokens'"),  # the starting state
    ({"max_tokens": 12}, "stop_reason 'max_tokens'"),  # raised, not enough
    ({"max_tokens": 200, "stop_sequences": ["\n"]}, "stop_reason 'stop_sequence'"),  # "stop after the first line"
]


@pytest.mark.parametrize(("options", "expected"), WRONG_00)
def test_00_wrong(options, expected, client, capsys):
    with client.messages.stream(model=MODEL, messages=HAIKU, **options) as stream:
        lesson00.check_whole_answer(stream.get_final_message())
    assert_not_yet(verdict(capsys), expected, ("200", "1024", "100"))


@pytest.mark.parametrize("max_tokens", [64, 4096])
def test_00_right(max_tokens, client, capsys):
    with client.messages.stream(model=MODEL, max_tokens=max_tokens, messages=HAIKU) as stream:
        lesson00.check_whole_answer(stream.get_final_message())
    assert verdict(capsys).startswith("PASS ✓")


# -- 01: the streaming loop -------------------------------------------------------------------------------------------


def shows_nothing(client, messages, show):  # the starting state
    return "", False


def shows_after_the_stream(client, messages, show):
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
        pieces = list(stream.text_stream)
        message = stream.get_final_message()
    for piece in pieces:
        show(piece)
    return "".join(pieces), message.stop_reason == "end_turn"


def shows_the_final_text(client, messages, show):
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
        message = stream.get_final_message()
    show(message.content[0].text)
    return message.content[0].text, True


def complete_unless_cut(client, messages, show):
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
        for text in stream.text_stream:
            show(text)
        message = stream.get_final_message()
    return message.content[0].text, message.stop_reason != "max_tokens"


def forgets_to_return(client, messages, show):
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
        for text in stream.text_stream:
            show(text)


def returns_the_last_piece(client, messages, show):
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
        for text in stream.text_stream:
            show(text)
        message = stream.get_final_message()
    return text, message.stop_reason in ("end_turn", "stop_sequence")


WRONG_01 = [
    (shows_nothing, "show was never called"),
    (shows_after_the_stream, "only after the stream had ended"),
    (shows_the_final_text, "only after the stream had ended"),
    (complete_unless_cut, "'tool_use' was complete"),
    (forgets_to_return, "stream_answer returned None"),
    (returns_the_last_piece, "is not what show got"),
]


@pytest.mark.parametrize(("stream_answer", "expected"), WRONG_01)
def test_01_wrong(stream_answer, expected, client, capsys):
    lesson01.check(stream_answer, client)
    assert_not_yet(verdict(capsys), expected, ("in (", "==", '"end_turn", "stop_sequence"', "show(text)"))


def answer_from_events(client, messages, show):
    """Every event, not text_stream: the SDK's 'text' events carry the same pieces."""
    parts = []
    with client.messages.stream(model=MODEL, max_tokens=512, messages=messages) as stream:
        for event in stream:
            if event.type == "text":
                show(event.text)
                parts.append(event.text)
        reason = stream.get_final_message().stop_reason
    return "".join(parts), reason in {"stop_sequence", "end_turn"}


def answer_by_match(client, messages, show):
    kept = []
    with client.messages.stream(messages=messages, model=MODEL, max_tokens=2048) as stream:
        for piece in stream.text_stream:
            kept.append(piece)
            show(piece)
        final = stream.get_final_message()
    match final.stop_reason:
        case "end_turn" | "stop_sequence":
            return "".join(kept), True
        case _:
            return "".join(kept), False


@pytest.mark.parametrize("stream_answer", [answer_from_events, answer_by_match])
def test_01_right(stream_answer, client, capsys):
    lesson01.check(stream_answer, client)
    assert verdict(capsys).startswith("PASS ✓")


# -- 02: the raw-event loop --------------------------------------------------------------------------------------


def raw_loop(pick, *, usage="keep", stop="message_delta"):
    """A raw_answer a learner would write: ``pick(event)`` says which events carry text."""

    def raw_answer(client, request, show):
        text, stop_reason, output_tokens = "", None, 0
        with client.messages.create(**request, stream=True) as stream:
            for event in stream:
                if event.type == "message_start":
                    stop_reason = event.message.stop_reason if stop == "message_start" else stop_reason
                    output_tokens = event.message.usage.output_tokens if usage == "add" else output_tokens
                if pick(event):
                    piece = getattr(event.delta, "text", None) or getattr(event.delta, "partial_json", "")
                    show(piece)
                    text += piece
                elif event.type == "message_delta":
                    stop_reason = event.delta.stop_reason if stop == "message_delta" else stop_reason
                    output_tokens = (
                        output_tokens + event.usage.output_tokens if usage == "add" else (event.usage.output_tokens)
                    )
        return text, stop_reason, output_tokens

    return raw_answer


def is_text_delta(event):
    return event.type == "content_block_delta" and event.delta.type == "text_delta"


def text_of_every_delta(client, request, show):  # reads .text on every content_block_delta: a tool's has none
    text, stop_reason, output_tokens = "", None, 0
    with client.messages.create(**request, stream=True) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                show(event.delta.text)
                text += event.delta.text
            elif event.type == "message_delta":
                stop_reason, output_tokens = event.delta.stop_reason, event.usage.output_tokens
    return text, stop_reason, output_tokens


WRONG_02 = [
    (text_of_every_delta, "raised AttributeError: 'InputJSONDelta' object has no attribute 'text'"),
    (raw_loop(lambda e: e.type == "content_block_delta"), "look at what kind of delta it holds"),
    (raw_loop(is_text_delta, usage="add"), "running total"),
    (raw_loop(is_text_delta, stop="message_start"), "stop reason returned is None"),
    (raw_loop(lambda e: e.type == "content_block_delta" and e.index == 0), "a web search"),
]


@pytest.mark.parametrize(("raw_answer", "expected"), WRONG_02)
def test_02_wrong(raw_answer, expected, capsys):
    lesson02.check(raw_answer)
    assert_not_yet(verdict(capsys), expected, ("'text_delta'", '"text_delta"', "overwrite"))


def raw_by_isinstance(client, request, show):
    parts, final_delta = [], None
    stream = client.messages.create(**request, stream=True)
    try:
        for event in stream:
            if isinstance(event, anthropic.types.RawContentBlockDeltaEvent) and isinstance(
                event.delta, anthropic.types.TextDelta
            ):
                parts.append(event.delta.text)
                show(event.delta.text)
            elif isinstance(event, anthropic.types.RawMessageDeltaEvent):
                final_delta = event
    finally:
        stream.close()
    return "".join(parts), final_delta.delta.stop_reason, final_delta.usage.output_tokens


def raw_by_match(client, request, show):
    text, reason, tokens = [], None, None
    with client.messages.create(stream=True, **request) as events:
        for event in events:
            match event.type:
                case "content_block_delta" if getattr(event.delta, "type", "") == "text_delta":
                    show(event.delta.text)
                    text.append(event.delta.text)
                case "message_delta":
                    reason, tokens = event.delta.stop_reason, event.usage.output_tokens
                case _:
                    pass
    return "".join(text), reason, tokens


@pytest.mark.parametrize("raw_answer", [raw_by_isinstance, raw_by_match])
def test_02_right(raw_answer, capsys):
    lesson02.check(raw_answer)
    assert verdict(capsys).startswith("PASS ✓")


# -- 03: ask_all, every stream at once ---------------------------------------------------------------------------


def user(prompt):
    return [{"role": "user", "content": prompt}]


async def one_after_another(client, prompts, show):
    texts = []
    for i, prompt in enumerate(prompts):
        async with client.messages.stream(model=MODEL, max_tokens=1024, messages=user(prompt)) as stream:
            async for text in stream.text_stream:
                show(i, text)
            texts.append(await stream.get_final_text())
    return texts


async def gather_forgotten(client, prompts, show):
    async def ask(i, prompt):
        async with client.messages.stream(model=MODEL, max_tokens=1024, messages=user(prompt)) as stream:
            return await stream.get_final_text()

    return [ask(i, p) for i, p in enumerate(prompts)]


async def as_completed_order(client, prompts, show):
    async def ask(i, prompt):
        async with client.messages.stream(model=MODEL, max_tokens=1024, messages=user(prompt)) as stream:
            async for text in stream.text_stream:
                show(i, text)
            return await stream.get_final_text()

    return [await done for done in asyncio.as_completed([ask(i, p) for i, p in enumerate(prompts)])][::-1]


async def sync_with(client, prompts, show):
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=user(prompts[0])) as stream:
        return [stream.get_final_text()]


async def shows_after_gather(client, prompts, show):
    async def ask(prompt):
        async with client.messages.stream(model=MODEL, max_tokens=1024, messages=user(prompt)) as stream:
            return await stream.get_final_text()

    texts = await asyncio.gather(*(ask(p) for p in prompts))
    for i, text in enumerate(texts):
        show(i, text)
    return list(texts)


WRONG_03 = [
    (one_after_another, "one after another"),
    (gather_forgotten, "nobody awaited"),
    (as_completed_order, "out of order"),
    (sync_with, "raised TypeError"),
    (shows_after_gather, "only after the streams had ended"),
]


@pytest.mark.parametrize(("ask_all", "expected"), WRONG_03)
async def test_03_wrong(ask_all, expected, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # sync_with leaves the SDK's request coroutine un-awaited
        await lesson03.check(ask_all)
    assert_not_yet(verdict(capsys), expected, ("gather(", "await asyncio", "async with client"))


async def with_task_group(client, prompts, show):
    texts = [""] * len(prompts)

    async def ask(i):
        async with client.messages.stream(messages=user(prompts[i]), model=MODEL, max_tokens=512) as stream:
            async for event in stream:
                if event.type == "text":
                    show(i, event.text)
                    texts[i] += event.text

    async with asyncio.TaskGroup() as group:
        for i in range(len(prompts)):
            group.create_task(ask(i))
    return texts


async def with_tasks(client, prompts, show):
    async def ask(i, prompt):
        parts = []
        async with client.messages.stream(model=MODEL, max_tokens=1024, messages=user(prompt)) as stream:
            async for piece in stream.text_stream:
                parts.append(piece)
                show(i, piece)
        return "".join(parts)

    tasks = [asyncio.create_task(ask(i, p)) for i, p in enumerate(prompts)]
    return [await task for task in tasks]


@pytest.mark.parametrize("ask_all", [with_task_group, with_tasks])
async def test_03_right(ask_all, capsys):
    await lesson03.check(ask_all)
    assert verdict(capsys).startswith("PASS ✓")


# -- 04: safe_stream ----------------------------------------------------------------------------------------------


def catching(catch, *, keep=True):
    """A safe_stream a learner would write around an except clause for ``catch``."""

    def safe_stream(client, messages, show):
        parts = []
        try:
            with client.messages.stream(model=MODEL, max_tokens=200, messages=messages) as stream:
                for text in stream.text_stream:
                    show(text)
                    parts.append(text)
        except catch as err:
            return ("".join(parts) if keep else ""), err
        return "".join(parts), None

    return safe_stream


def error_as_text(client, messages, show):
    parts = []
    try:
        with client.messages.stream(model=MODEL, max_tokens=200, messages=messages) as stream:
            for text in stream.text_stream:
                show(text)
                parts.append(text)
    except (anthropic.APIError, httpx2.TransportError, ValueError) as err:
        return "".join(parts), str(err)  # a string, not the exception
    return "".join(parts), None


WRONG_04 = [
    (catching((anthropic.APIConnectionError, anthropic.RateLimitError)), "raised OverloadedError"),
    # catches the statuses, the transport and the parser, and lets the lesson's APIConnectionError escape
    (catching((anthropic.APIStatusError, httpx2.TransportError, ValueError)), "raised APIConnectionError"),
    (catching((anthropic.APIError, httpx2.TransportError)), "raised JSONDecodeError"),
    (catching((anthropic.APIError, httpx2.RemoteProtocolError, ValueError)), "raised ReadTimeout"),
    (catching(Exception), "was swallowed"),
    (catching((anthropic.APIError, httpx2.TransportError, ValueError), keep=False), "is not what show got"),
    (error_as_text, "returned error='"),
]


@pytest.mark.parametrize(("safe_stream", "expected"), WRONG_04)
def test_04_wrong(safe_stream, expected, capsys):
    lesson04.check(safe_stream)
    assert_not_yet(verdict(capsys), expected, ("TransportError", "APIError,", "(anthropic.APIError"))


def with_separate_clauses(client, messages, show):
    text = ""
    try:
        with client.messages.stream(messages=messages, model=MODEL, max_tokens=512) as stream:
            for event in stream:
                if event.type == "text":
                    text += event.text
                    show(event.text)
    except anthropic.APIError as err:
        return text, err
    except httpx2.HTTPError as err:
        return text, err
    except (json.JSONDecodeError, pydantic.ValidationError, ValueError) as err:
        return text, err
    return text, None


def with_snapshot(client, messages, show):
    error = None
    stream = None
    try:
        with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
            for piece in stream.text_stream:
                show(piece)
    except (anthropic.APIStatusError, anthropic.APIConnectionError, httpx2.TransportError, ValueError) as err:
        error = err
    snapshot = stream.current_message_snapshot if stream is not None else None
    text = "".join(b.text for b in snapshot.content if b.type == "text") if snapshot else ""
    return text, error


@pytest.mark.parametrize("safe_stream", [with_separate_clauses, with_snapshot])
def test_04_right(safe_stream, capsys):
    lesson04.check(safe_stream)
    assert verdict(capsys).startswith("PASS ✓")


def test_04_a_clean_stream_is_reported_as_no_error(capsys):
    lesson04.check(with_separate_clauses)
    lines = capsys.readouterr().out.splitlines()
    clean = [line for line in lines if "handled  a clean stream" in line]
    assert clean and clean[0].endswith("· no error"), lines
    assert not [line for line in lines if "NoneType" in line], lines
    assert [line for line in lines if "HTTP 529 overloaded" in line and "error: OverloadedError" in line], lines


# -- 05: tool inputs collected from their deltas -----------------------------------------------------------------------


def starting_state(client, messages, tools):  # the loop left empty
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=tools, messages=messages) as stream:
        for _event in stream:
            pass
    return "", []


def one_string(client, messages, tools):  # every fragment in one string: two calls run together
    text, json_text = "", ""
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=tools, messages=messages) as stream:
        for event in stream:
            if event.type == "text":
                text += event.text
            elif event.type == "input_json":
                json_text += event.partial_json
        stop = stream.get_final_message().stop_reason
    return text, [json.loads(json_text)] if stop == "tool_use" else []


def parse_at_block_stop(client, messages, tools):  # trusts every block that stops
    text, parts, inputs = [], {}, []
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=tools, messages=messages) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                text.append(event.delta.text)
            elif event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                parts[event.index] = parts.get(event.index, "") + event.delta.partial_json
            elif event.type == "content_block_stop" and event.index in parts:
                inputs.append(json.loads(parts[event.index]))
    return "".join(text), inputs


def snapshots_kept(client, messages, tools):  # the SDK's parsed snapshot, whatever happens
    text, inputs = "", {}
    try:
        with client.messages.stream(model=MODEL, max_tokens=1024, tools=tools, messages=messages) as stream:
            for event in stream:
                if event.type == "text":
                    text += event.text
                elif event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                    inputs[event.index] = stream.current_message_snapshot.content[event.index].input
    except httpx2.TransportError:
        pass
    return text, [inputs[i] for i in sorted(inputs)]


def no_text(client, messages, tools):  # the inputs right, the words before them forgotten
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=tools, messages=messages) as stream:
        final = stream.get_final_message()
    calls = [b.input for b in final.content if b.type == "tool_use"]
    return "", calls if final.stop_reason == "tool_use" else []


def empty_input_unparsed(client, messages, tools):  # right, but for a call that streamed no JSON at all
    text, fragments, stop = [], {}, None
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=tools, messages=messages) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                text.append(event.delta.text)
            elif event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                fragments.setdefault(event.index, []).append(event.delta.partial_json)
            elif event.type == "message_delta":
                stop = event.delta.stop_reason
    if stop != "tool_use":
        return "".join(text), []
    return "".join(text), [json.loads("".join(fragments[i])) for i in sorted(fragments)]


WRONG_05 = [
    (starting_state, "one tool call: tool_inputs returned the inputs [] for 1 tool_use block(s)"),
    (one_string, "two tool calls in one message: your function one_string raised JSONDecodeError"),
    (parse_at_block_stop, "a stream cut mid-JSON: your function parse_at_block_stop raised JSONDecodeError"),
    (snapshots_kept, "a stream cut mid-JSON: tool_inputs returned [{'location': 'Paris'}] as if"),
    (no_text, "one tool call: the text returned is ''"),
    (empty_input_unparsed, "a tool call with no input: your function empty_input_unparsed raised JSONDecodeError"),
]


def by_match(client, messages, tools):
    text, fragments = "", {}
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=tools, messages=messages) as stream:
        for event in stream:
            match event:
                case anthropic.types.RawContentBlockDeltaEvent(delta=anthropic.types.TextDelta(text=piece)):
                    text += piece
                case anthropic.types.RawContentBlockDeltaEvent(index=i, delta=anthropic.types.InputJSONDelta() as d):
                    fragments[i] = fragments.get(i, "") + d.partial_json
        done = stream.get_final_message().stop_reason == "tool_use"
    return text, [json.loads(fragments[i] or "{}") for i in sorted(fragments)] if done else []


def parsed_when_stopped(client, messages, tools):  # parses at each block's stop, trusts none of it until the end
    text, pieces, parsed, stop = [], {}, {}, None
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=tools, messages=messages) as stream:
        for event in stream:
            if event.type == "text":
                text.append(event.text)
            elif event.type == "input_json":
                pieces.setdefault(len(stream.current_message_snapshot.content) - 1, []).append(event.partial_json)
            elif event.type == "content_block_stop" and event.index in pieces:
                try:
                    parsed[event.index] = json.loads("".join(pieces[event.index]) or "{}")
                except ValueError:
                    parsed[event.index] = None
            elif event.type == "message_delta":
                stop = event.delta.stop_reason
    return "".join(text), [parsed[i] for i in sorted(parsed)] if stop == "tool_use" else []


@pytest.mark.parametrize(("tool_inputs", "expected"), WRONG_05)
def test_05_wrong(tool_inputs, expected, capsys):
    lesson05.check(tool_inputs, TOOLS)
    assert_not_yet(verdict(capsys), expected, ("event.index", "stop_reason", "json.loads", "message_delta"))


@pytest.mark.parametrize("tool_inputs", [by_match, parsed_when_stopped])
def test_05_right(tool_inputs, capsys):
    lesson05.check(tool_inputs, TOOLS)
    assert verdict(capsys).startswith("PASS ✓")


# -- 06: thinking and answer kept apart -------------------------------------------------------------------------------

THINKING = {"type": "adaptive", "display": "summarized"}


def thinking_starting_state(client, messages):  # the loop left empty
    with client.messages.stream(model=MODEL, max_tokens=2048, thinking=THINKING, messages=messages) as stream:
        for _event in stream:
            pass
    return "", ""


def everything_in_one(client, messages):  # thinking and text run together in the answer
    thinking, answer = "", ""
    with client.messages.stream(model=MODEL, max_tokens=2048, thinking=THINKING, messages=messages) as stream:
        for event in stream:
            if event.type == "thinking":
                thinking += event.thinking
                answer += event.thinking
            elif event.type == "text":
                answer += event.text
    return thinking, answer


def thinking_from_the_final_message(client, messages):  # the first block's text: a redacted block has none
    with client.messages.stream(model=MODEL, max_tokens=2048, thinking=THINKING, messages=messages) as stream:
        answer = "".join(stream.text_stream)
        final = stream.get_final_message()
    return final.content[0].thinking, answer


def no_catch(client, messages):  # right until the connection drops
    thinking, answer = [], []
    with client.messages.stream(model=MODEL, max_tokens=2048, thinking=THINKING, messages=messages) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "thinking_delta":
                thinking.append(event.delta.thinking)
            elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                answer.append(event.delta.text)
    return "".join(thinking), "".join(answer)


def drop_loses_all(client, messages):  # caught, but nothing of what arrived is kept
    try:
        return no_catch(client, messages)
    except httpx2.TransportError:
        return "", ""


def thinking_off(client, messages):  # the loop is right, but nothing asks Claude to think
    answer = []
    try:
        with client.messages.stream(model=MODEL, max_tokens=2048, messages=messages) as stream:
            answer.extend(stream.text_stream)
    except (anthropic.APIError, httpx2.TransportError):
        pass
    return "", "".join(answer)


MISSING_IMPORT = """
def missing_import(client, messages):  # lesson 04's catch, in a notebook that has not imported httpx2
    thinking, answer = "", ""
    try:
        with client.messages.stream(model=MODEL, max_tokens=2048, thinking=THINKING, messages=messages) as stream:
            for event in stream:
                if event.type == "thinking":
                    thinking += event.thinking
                elif event.type == "text":
                    answer += event.text
    except (anthropic.APIError, httpx2.TransportError, ValueError):
        pass
    return thinking, answer
"""
notebook: dict = {"anthropic": anthropic, "MODEL": MODEL, "THINKING": THINKING}
exec(MISSING_IMPORT, notebook)  # a learner's cell, run in globals without httpx2
missing_import = notebook["missing_import"]


WRONG_06 = [
    (thinking_starting_state, "a thought-out answer: the thinking returned is ''"),
    (everything_in_one, "a thought-out answer: the answer returned is 'I need 2748"),
    (thinking_from_the_final_message, "redacted thinking: your function thinking_from_the_final_message raised Attr"),
    (no_catch, "a connection dropped mid-thinking: your function no_catch raised RemoteProtocolError"),
    (drop_loses_all, "a connection dropped mid-thinking: the thinking returned is ''"),
    (thinking_off, "a thought-out answer: the thinking returned is ''"),
    (missing_import, "a connection dropped mid-thinking: your function missing_import raised NameError"),
]


def by_sdk_events(client, messages):  # the SDK's own thinking and text events
    thinking, answer = "", ""
    try:
        with client.messages.stream(model=MODEL, max_tokens=2048, thinking=THINKING, messages=messages) as stream:
            for event in stream:
                if event.type == "thinking":
                    thinking += event.thinking
                elif event.type == "text":
                    answer += event.text
    except (anthropic.APIError, httpx2.TransportError, ValueError):
        pass
    return thinking, answer


def from_the_snapshot(client, messages):  # reads the snapshot, even after a drop
    stream = client.messages.stream(model=MODEL, max_tokens=2048, thinking=THINKING, messages=messages)
    try:
        with stream as events:
            for _event in events:
                pass
    except httpx2.TransportError as err:
        print("dropped:", type(err).__name__)
    blocks = events.current_message_snapshot.content
    pick = {"thinking": [], "text": []}
    for block in blocks:
        match block.type:
            case "thinking":
                pick["thinking"].append(block.thinking)
            case "text":
                pick["text"].append(block.text)
    return "".join(pick["thinking"]), "".join(pick["text"])


@pytest.mark.parametrize(("think_and_answer", "expected"), WRONG_06)
def test_06_wrong(think_and_answer, expected, capsys):
    lesson06.check(think_and_answer)
    assert_not_yet(verdict(capsys), expected, ("thinking_delta", "text_delta", "TransportError", "except", "snapshot"))


def test_06_a_catch_naming_what_was_not_imported_is_told_to_import(capsys):
    lesson06.check(missing_import)  # lesson 04's catch is right: the hint must not send the learner back to it
    hint = verdict(capsys).split(" — hint: ", 1)[1]
    assert "import what you use" in hint and "which errors to catch" not in hint, hint


@pytest.mark.parametrize("think_and_answer", [by_sdk_events, from_the_snapshot])
def test_06_right(think_and_answer, capsys):
    lesson06.check(think_and_answer)
    assert verdict(capsys).startswith("PASS ✓")


# -- 07: resume a paused turn ----------------------------------------------------------------------------------------


def turn(paused, content=None) -> dict:
    return {"role": "assistant", "content": paused.content if content is None else content}


WRONG_07 = [
    (
        lambda messages, paused: ([*messages, {"role": "user", "content": "Please continue."}], None),
        "not in the request",
    ),
    (
        lambda messages, paused: (
            [*messages, turn(paused), {"role": "user", "content": "continue"}],
            paused.container.id,
        ),
        "a message follows the paused turn",
    ),
    (lambda messages, paused: ([messages[-1], turn(paused)], paused.container.id), "conversation"),
    (lambda messages, paused: ([*messages, turn(paused, paused.content[-1:])], paused.container.id), "changed"),
    # the lesson's first half done, the container forgotten, or sent as the object, or as the message's id
    (lambda messages, paused: ([*messages, turn(paused)], None), "sends no container"),
    (lambda messages, paused: ([*messages, turn(paused)], paused.container), "not the id of the one"),
    (lambda messages, paused: ([*messages, turn(paused)], paused.id), "not the id of the one"),
]


@pytest.mark.parametrize(("resume", "expected"), WRONG_07)
def test_07_wrong(resume, expected, capsys):
    lesson07.check(resume)
    assert_not_yet(verdict(capsys), expected, ('"content": paused.content}]', "[*messages, {", "container.id"))


def resume_by_append(messages, paused):
    sent = list(messages)
    sent.append({"role": paused.role, "content": paused.content})
    return sent, paused.container.id


def resume_by_dump(messages, paused):
    request = messages + [paused.model_dump(include={"role", "content"})]
    return request, paused.model_dump()["container"]["id"]


@pytest.mark.parametrize("resume", [resume_by_append, resume_by_dump])
def test_07_right(resume, capsys):
    lesson07.check(resume)
    assert verdict(capsys).startswith("PASS ✓")


# -- 08: framing any text as one SSE event -------------------------------------------------------------------------

WRONG_08 = [
    (lambda text: f"data: {text}\n\n", "NOT YET"),  # the tutorial's framing
    (lambda text: f"data: {json.dumps(text)}\n\n", "NOT YET"),  # a JSON string, not an object with text
    (lambda text: "data: " + text.replace("\n", " ") + "\n\n", "NOT YET"),  # the newlines flattened away
]


@pytest.mark.parametrize(("frame_text", "expected"), WRONG_08)
def test_08_wrong(frame_text, expected, capsys):
    lesson08.check_framing(frame_text)
    assert_not_yet(verdict(capsys), expected, ("json.dumps({", "json.dumps({'text'"))


@pytest.mark.parametrize(
    "frame_text",
    [
        lambda text: "event: text\ndata: " + json.dumps({"text": text}, ensure_ascii=False) + "\n\n",
        lambda text: (
            b"event: text\r\ndata: " + json.dumps({"text": text}, separators=(",", ":")).encode() + b"\r\n\r\n"
        ),
    ],
)
def test_08_right(frame_text, capsys):
    lesson08.check_framing(frame_text)
    assert verdict(capsys).startswith("PASS ✓")


# -- 09: a system prompt for a pirate --------------------------------------------------------------------------------

WRONG_09 = [
    ("You are a helpful assistant.", "doesn't sound like a pirate"),  # the starting state
    ("Never talk like a pirate.", "anything but a pirate"),
    ("Don't answer like a pirate would, just write the haiku.", "anything but a pirate"),
    ("Write the haiku in English.", "doesn't sound like a pirate"),
    ("Be a sailor, but no pirate talk.", "anything but a pirate"),
]
RIGHT_09 = [
    "You are Captain Blackbeard, a salty sea dog who has sailed the seven seas for forty years.",
    "You are a pirate. Never break character as a pirate.",
    "You are a helpful pirate; no matter what, stay a pirate.",  # "no matter" is no ban
    "Talk like a swashbuckling sailor who says arr and matey.",
    "Speak like Jack Sparrow.",
    "You are a pirate captain. Never apologise for being a pirate.",
]


async def final(aclient, **options):
    async with aclient.messages.stream(model=MODEL, max_tokens=300, messages=HAIKU, **options) as stream:
        return await stream.get_final_message()


@pytest.mark.parametrize(("system", "expected"), WRONG_09)
async def test_09_wrong(system, expected, aclient, capsys):
    lesson09.check_pirate(system, await final(aclient), await final(aclient, system=system))
    assert_not_yet(verdict(capsys), expected, ("You are a pirate",))


@pytest.mark.parametrize("system", RIGHT_09)
async def test_09_right(system, aclient, capsys):
    lesson09.check_pirate(system, await final(aclient), await final(aclient, system=system))
    assert verdict(capsys).startswith("PASS ✓")


# -- 01-06: answers that are not what they seem -----------------------------------------------------------------------
# A learner's function may exit, be interrupted, or return something whose methods raise, lie or cost a fortune to
# print. Each gets a NOT YET line that says what came back, never a traceback from inside the checker or a false PASS.


class Liar(str):
    """A str that says it equals, contains and prints as whatever it is compared with."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__

    def __contains__(self, item):
        return True

    def __str__(self):
        return "the answer"


class Unprintable:
    """An object every method of which raises."""

    def _raise(self, *args):
        raise RuntimeError("gotcha")

    __repr__ = __str__ = __eq__ = __ne__ = __len__ = __iter__ = __bool__ = __getitem__ = _raise
    __hash__ = None


class Impostor:
    """An object whose ``__class__`` is code: ``isinstance()`` asks it when the real type does not match."""

    @property
    def __class__(self):  # type: ignore[override]
        raise RuntimeError("gotcha")


class _NamelessMeta(type):
    @property
    def __name__(cls):  # type: ignore[override]
        raise RuntimeError("gotcha")


class Nameless(metaclass=_NamelessMeta):
    """An object whose class's name is code (its metaclass's)."""


def nested(depth: int = 100_000) -> list:
    deep: list = []
    for _ in range(depth):
        deep = [deep]
    return deep


@functools.cache
def huge() -> str:
    return "x" * 100_000_000  # 100 MB: made before the checker's memory is traced, and dropped after


def exits():
    raise SystemExit(0)


def interrupted():
    raise KeyboardInterrupt


NASTY = {  # what the learner's function does -> what the NOT YET line says
    "exits": (exits, "raised SystemExit"),
    "is interrupted": (interrupted, "raised KeyboardInterrupt"),
    "returns an object every method of which raises": (Unprintable, "returned <Unprintable object>"),
    "returns a list nested 100,000 deep": (nested, "returned [[[["),
    "returns an object whose __class__ raises": (Impostor, "returned <Impostor object>"),
    "returns an object whose class's name raises": (Nameless, "returned <Nameless object>"),
    "returns a 100 MB string": (huge, "returned 'xxxx"),
}


def nasty(behaviour, right):
    """A learner's function that does what ``right`` does (the checker sees its stream and its show calls), then
    ``behaviour`` instead of returning the answer."""
    if asyncio.iscoroutinefunction(right):

        async def ask_all(*args):
            await right(*args)
            return behaviour()

        return ask_all

    def function(*args):
        right(*args)
        return behaviour()

    return function


def lying(right):
    """``right``'s answer with each of its str replaced by a :class:`Liar`."""

    def function(*args):
        return tuple(Liar("not the answer") if isinstance(v, str) else v for v in right(*args))

    return function


def lying_async(right):
    async def ask_all(*args):
        return [Liar("not the answer") for _ in await right(*args)]

    return ask_all


CHECKERS = {  # lesson -> (run its checker on a function, its right answer, what a liar's NOT YET line says)
    "01": (lambda fn, client: lesson01.check(fn, client), answer_from_events, "is not what show got"),
    "02": (lambda fn, client: lesson02.check(fn), raw_by_isinstance, "the text returned is not what show got"),
    "03": (lambda fn, client: asyncio.run(lesson03.check(fn)), with_task_group, "not the answers' whole texts"),
    "04": (lambda fn, client: lesson04.check(fn), with_separate_clauses, "is not what show got"),
    "05": (lambda fn, client: lesson05.check(fn, TOOLS), by_match, "the text returned is 'not the answer'"),
    "06": (lambda fn, client: lesson06.check(fn), by_sdk_events, "the thinking returned is 'not the answer'"),
}


@pytest.mark.parametrize("lesson", CHECKERS)
@pytest.mark.parametrize(("behaviour", "expected"), NASTY.values(), ids=NASTY.keys())
def test_01_06_a_function_that_exits_or_returns_a_nasty_value_gets_not_yet(lesson, behaviour, expected, client, capsys):
    run, right, _ = CHECKERS[lesson]
    if behaviour is huge:
        huge()
    tracemalloc.start()
    try:
        run(nasty(behaviour, right), client)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        huge.cache_clear()
    out = verdict(capsys)
    assert_not_yet(out, expected, ())
    assert len(out) < 600, out[:600]
    assert peak < 30_000_000, f"the checker allocated {peak:,} bytes to judge it"  # a repr of HUGE takes 100 MB


@pytest.mark.parametrize("lesson", CHECKERS)
def test_01_06_a_str_that_lies_about_its_value_gets_not_yet(lesson, client, capsys):
    run, right, expected = CHECKERS[lesson]
    run(lying_async(right) if lesson == "03" else lying(right), client)
    assert_not_yet(verdict(capsys), expected, ())


def test_07_a_message_that_cannot_print_itself_gets_not_yet(capsys):
    lesson07.check(lambda messages, paused: ([*messages, Unprintable()], None))
    assert_not_yet(verdict(capsys), "resume's list holds Unprintable <Unprintable object>", ())


@pytest.mark.parametrize(
    "frame_text",
    [
        lambda text: "event: text\ndata: " + "x" * 10_000_000 + "\n\n",  # not JSON: what came back is quoted
        lambda text: "event: text\ndata: " + json.dumps(["x" * 10_000_000]) + "\n\n",  # JSON, not an object
        lambda text: "event: " + "x" * 10_000_000 + "\ndata: " + json.dumps({"text": text}) + "\n\n",  # its name
    ],
    ids=["data", "JSON data", "event name"],
)
def test_08_a_huge_event_is_quoted_short(frame_text, capsys):
    lesson08.check_framing(frame_text)
    out = verdict(capsys)
    assert_not_yet(out, "xxxx", ())
    assert len(out) < 600, out[:600]
