"""The checkers of lessons 00-03 say NOT YET to the lesson's starting state, PASS to a right answer, name each
mistake with a hint that points (never the answer), report the learner's own exception as theirs, and raise a clear
error for input of the wrong kind. The streams are real: the SDK against the local API at instant pace."""

from __future__ import annotations

import ast
import asyncio
import gc
import warnings

import anthropic
import nbformat
import pytest

from helpers.exercises import lesson00, lesson01, lesson02, lesson03

from .conftest import MODEL, ROOT

HAIKU = [{"role": "user", "content": "Write a haiku about debugging."}]


def verdict(capsys) -> str:
    """The checker's last line: PASS or NOT YET."""
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines and lines[-1].startswith(("PASS ✓", "NOT YET ✗")), lines
    return lines[-1]


# -- 00: the whole haiku ----------------------------------------------------------------------------------------------


def final(client, **request):
    with client.messages.stream(**{"model": MODEL, "max_tokens": 1024, "messages": HAIKU, **request}) as stream:
        return stream.get_final_message()


def test_lesson00_says_not_yet_to_a_cut_answer_and_points_without_the_number(client, capsys):
    lesson00.check_whole_answer(final(client, max_tokens=8))  # the starting state
    out = verdict(capsys)
    assert out.startswith("NOT YET") and "max_tokens" in out and "marked line" in out
    assert not any(n in out.split("hint:")[1] for n in ("20", "200", "100", "1024")), "the hint hands over a number"


def test_lesson00_passes_the_whole_haiku(client, capsys):
    lesson00.check_whole_answer(final(client, max_tokens=200))
    assert verdict(capsys).startswith("PASS")


def test_lesson00_names_another_stop_reason_without_the_answer(client, capsys):
    lesson00.check_whole_answer(final(client, stop_sequences=["\n"]))
    out = verdict(capsys)
    assert out.startswith("NOT YET") and "'stop_sequence'" in out and "200" not in out


def test_lesson00_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match="get_final_message"):
        lesson00.check_whole_answer("a haiku")


# -- 01: the streaming loop, written by the learner (the table of answers is in test_checker_tables.py) ------------


def test_lesson01_calls_stream_answer_once_per_stop_reason_and_the_first_with_the_notebooks_client(client, capsys):
    seen = []

    def stream_answer(sdk, messages, show):
        with sdk.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
            for text in stream.text_stream:
                show(text)
            message = stream.get_final_message()
        seen.append((str(sdk.base_url), message.stop_reason))
        return message.content[0].text if message.content else "", message.stop_reason in lesson01.COMPLETE

    lesson01.check(stream_answer, client)
    assert verdict(capsys).startswith("PASS")
    assert [reason for _, reason in seen] == list(lesson01.EXPECTED)
    assert set(lesson01.EXPECTED) == set(anthropic.types.StopReason.__args__)
    assert seen[0][0] == str(client.base_url)


def test_lesson01_reports_the_learners_own_exception_with_its_line(client, capsys):
    def stream_answer(client, messages, show):
        with client.messages.stream(max_tokens=1024, messages=messages) as stream:  # no model
            return "".join(stream.text_stream), True

    lesson01.check(stream_answer, client)
    out = verdict(capsys)
    assert out.startswith("NOT YET ✗ on an answer ending with 'end_turn', your function stream_answer raised TypeError")
    assert "(line " in out and "hint:" in out


def test_lesson01_reports_an_exception_whose_str_raises_as_not_yet(client, capsys):
    class Lying(Exception):
        def __str__(self):
            raise RuntimeError("no text for you")

    def stream_answer(client, messages, show):
        raise Lying

    lesson01.check(stream_answer, client)
    out = verdict(capsys)
    assert "your function stream_answer raised Lying: (its str() raised RuntimeError)" in out, out


def test_lesson01_quotes_the_learners_text_inside_its_own_line(client, capsys):
    """A learner's exception text with a newline, a carriage return or a terminal escape stays in the NOT YET line,
    shown as escapes: it starts no line of its own (a fake PASS under the verdict), writes over nothing, hides
    nothing."""

    def stream_answer(client, messages, show):
        raise ValueError("oops\nPASS ✓ stream_answer shows every piece\r\x1b[8m")

    lesson01.check(stream_answer, client)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("NOT YET ✗"), lines
    assert "oops\\nPASS ✓ stream_answer shows every piece\\r\\x1b[8m" in lines[0], lines[0]


def test_lesson01_bad_input_is_a_clear_error(client):
    with pytest.raises(TypeError, match="stream_answer"):
        lesson01.check("for text in stream.text_stream", client)
    with pytest.raises(TypeError, match="anthropic.Anthropic"):
        lesson01.check(lambda c, m, s: ("", True), anthropic.AsyncAnthropic(api_key="test-key"))


# -- 02: the raw-event loop (the table of answers is in test_checker_tables.py) ----------------------------------


def test_lesson02_reports_the_learners_own_exception_with_a_hint(capsys):
    def raw_answer(client, request, show):
        text = ""
        with client.messages.create(**request, stream=True) as stream:
            for event in stream:
                if event.delta.type == "text_delta":  # message_start has no delta
                    text += event.delta.text
        return text, None, 0

    lesson02.check(raw_answer)
    out = verdict(capsys)
    assert out.startswith("NOT YET ✗ on a haiku, your function raw_answer raised AttributeError")
    assert "check event.type first" in out


def test_lesson02_starting_state_and_bad_input(capsys):
    lesson02.check(lambda client, request, show: ("", None, 0))
    assert verdict(capsys).startswith("NOT YET ✗ on a haiku, show got 0 characters")
    with pytest.raises(TypeError, match="raw_answer"):
        lesson02.check("content_block_delta")


# -- 03: the learner's ask_all, streams at once (the table of answers is in test_checker_tables.py) ----------------


async def test_lesson03_the_try_it_cell_as_shipped_is_not_yet(capsys):
    """The notebook's starting cell, run as Jupyter runs it (the solution file passes: test_solutions.py)."""
    nb = nbformat.read(ROOT / "notebooks" / "03_async.ipynb", as_version=4)
    cell = next(c.source for c in nb.cells if "lesson03.check(" in c.source)
    await run_cell(cell, {"MODEL": MODEL})
    assert verdict(capsys) == (
        "NOT YET ✗ ask_all returned 0 answers for 3 prompts — hint: ask_all returns a list with one str per prompt, "
        "in the order of prompts"
    )


async def test_lesson03_un_awaited_coroutines_are_not_yet_and_closed(capsys):
    made = []

    async def ask_all(client, prompts, show):
        async def ask(prompt):
            return prompt

        made.extend(ask(p) for p in prompts)
        return list(made)

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a coroutine never awaited would warn
        await lesson03.check(ask_all)
        gc.collect()
    assert verdict(capsys).startswith("NOT YET ✗ ask_all returned coroutine objects nobody awaited")
    assert all(c.cr_frame is None for c in made), "the checker closes what it was handed"


async def test_lesson03_a_sync_def_and_bad_input(capsys):
    await lesson03.check(lambda client, prompts, show: ["a", "b", "c"])
    assert verdict(capsys).startswith("NOT YET ✗ ask_all returned list without awaiting anything")
    with pytest.raises(TypeError, match="ask_all"):
        await lesson03.check("ask_all")


async def run_cell(source: str, namespace: dict) -> None:
    """Run a cell the way Jupyter does: top-level await allowed, on the running event loop."""
    code = compile(source, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # noqa: S307 - the notebook's own cell
    if asyncio.iscoroutine(result):
        await result
