"""The checkers of lessons 00-03 say NOT YET to the lesson's starting state, PASS to a right answer, name each
mistake with a hint that points (never the answer), report the learner's own exception as theirs, and raise a clear
error for input of the wrong kind. The streams are real: the SDK against the local API at instant pace."""

from __future__ import annotations

import ast
import asyncio
import gc
import time
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


def test_lesson01_bad_input_is_a_clear_error(client):
    with pytest.raises(TypeError, match="stream_answer"):
        lesson01.check("for text in stream.text_stream", client)
    with pytest.raises(TypeError, match="anthropic.Anthropic"):
        lesson01.check(lambda c, m, s: ("", True), anthropic.AsyncAnthropic(api_key="test-key"))


# -- 02: is_text -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("is_text", "expected"),
    [
        (lambda e: e.type == "content_block_delta", "carrying 'input_json_delta'"),  # the starting state
        (lambda e: e.type == "text", "'text' events repeat it"),
        (
            lambda e: e.type == "content_block_delta" and e.delta.type != "input_json_delta",
            "carrying 'citations_delta'",
        ),
        (lambda e: e.type == "content_block_delta" and e.index == 0, "the final message has"),
    ],
)
def test_lesson02_names_what_it_picked_wrongly(is_text, expected, client, capsys):
    lesson02.check_is_text(is_text, client)
    out = verdict(capsys)
    assert out.startswith("NOT YET") and expected in out and "hint:" in out
    assert "'text_delta'" not in out.split("hint:")[1], "the hint points, it does not hand over the answer"


def test_lesson02_reports_the_learners_own_exception_with_a_hint(client, capsys):
    def is_text(event):
        return event.delta.type == "text_delta"  # message_start has no delta

    lesson02.check_is_text(is_text, client)
    out = verdict(capsys)
    assert out.startswith("NOT YET ✗ on a 'message_start' event")
    assert "your function is_text raised AttributeError" in out and "return event.delta.type" in out
    assert "check event.type first" in out
    lesson02.check_is_text(lambda event: 1 / 0, client)
    out = verdict(capsys)
    assert "your function is_text raised ZeroDivisionError" in out and "hint:" in out


def test_lesson02_passes_text_deltas_of_both_streams(client, capsys):
    lesson02.check_is_text(lambda e: e.type == "content_block_delta" and e.delta.type == "text_delta", client)
    out = verdict(capsys)
    assert out.startswith("PASS") and "web search" in out


def test_lesson02_bad_input_is_a_clear_error(client):
    with pytest.raises(TypeError, match="is_text"):
        lesson02.check_is_text("content_block_delta", client)
    with pytest.raises(TypeError, match="anthropic.Anthropic"):
        lesson02.check_is_text(lambda event: True, anthropic.AsyncAnthropic(api_key="test-key"))


# -- 03: three streams at once ----------------------------------------------------------------------------------------


def test_lesson03_tells_one_after_another_from_all_at_once(capsys):
    t = time.perf_counter()
    lesson03.check_concurrent(["a", "b"], [(t, t + 1), (t + 1, t + 2)])
    out = verdict(capsys)
    assert out.startswith("NOT YET") and "one after another" in out and "hint:" in out
    lesson03.check_concurrent(["a", "b"], [(t, t + 2), (t + 1, t + 3)])
    assert verdict(capsys).startswith("PASS")


def test_lesson03_a_span_too_many_or_too_few_is_not_yet_and_says_to_re_run(capsys):
    t = time.perf_counter()
    lesson03.check_concurrent(["a", "b", "c"], [(t, t + 2)] * 5)  # two strays from an earlier run finished late
    out = verdict(capsys)
    assert out.startswith("NOT YET ✗ 3 answers but 5 (start, end) spans") and "re-run the whole cell" in out
    lesson03.check_concurrent(["a", "b"], [(t, t + 1)])
    assert "re-run" in verdict(capsys)
    lesson03.check_concurrent(["a"], [(t, t + 1)])
    assert verdict(capsys) == "NOT YET ✗ len(answers) is 1: fewer than the prompts — hint: ask every prompt in PROMPTS"


def test_lesson03_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match="list of strings"):
        lesson03.check_concurrent("ab", [])
    with pytest.raises(TypeError, match=r"list of \(start, end\) pairs"):
        lesson03.check_concurrent(["a", "b"], [1, 2])


def exercise(line: str) -> str:
    """03's Try it cell as the notebook has it, with its marked line replaced by ``line``."""
    nb = nbformat.read(ROOT / "notebooks" / "03_async.ipynb", as_version=4)
    cell = next(c.source for c in nb.cells if "lesson03.check_concurrent" in c.source)
    marked = next(x for x in cell.splitlines() if x.endswith("# ✏️ edit this line"))
    return cell.replace(marked, line)


async def run_cell(source: str, namespace: dict) -> None:
    """Run a cell the way Jupyter does: top-level await allowed, on the running event loop."""
    code = compile(source, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # noqa: S307 - the notebook's own cell
    if asyncio.iscoroutine(result):
        await result


async def settle() -> None:
    """Let every other task on the loop finish, as it would between a learner's cells."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    await asyncio.gather(*others, return_exceptions=True)


FORGOT_AWAIT = "answers = asyncio.gather(*(ask(prompt) for prompt in PROMPTS))"
AWAITED = "answers = await asyncio.gather(*(ask(prompt) for prompt in PROMPTS))"


@pytest.mark.parametrize("runs", [(FORGOT_AWAIT, AWAITED), (AWAITED, FORGOT_AWAIT)], ids=["wrong-right", "right-wrong"])
async def test_lesson03_a_forgotten_await_is_not_yet_and_leaves_no_stream_behind(runs, api, capsys, caplog):
    """The cell run twice in one kernel: the un-awaited gather is NOT YET with a pointing hint, its streams are
    stopped (none adds a span after the cell, nothing is logged about them), and an awaited gather right after it
    passes."""
    client = anthropic.AsyncAnthropic(base_url=api.url, api_key="test-key", max_retries=0)
    namespace = {"asyncio": asyncio, "time": time, "client": client, "MODEL": MODEL}
    for line in runs:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # a coroutine never awaited would warn
            await run_cell(exercise(line), namespace)
            out = verdict(capsys)
            await settle()
        if line == FORGOT_AWAIT:
            assert out == (
                "NOT YET ✗ answers is a _GatheringFuture that nobody awaited, not the answers' texts"
                " — hint: answers is still pending: what turns it into results?"
            )
            assert namespace["spans"] == [], "a stream of the un-awaited gather ran after the cell"
        else:
            assert out == "PASS ✓ all 3 streams were open at the same time"
            assert len(namespace["spans"]) == 3
    await client.close()
    namespace.clear()
    gc.collect()  # an exception never retrieved is logged when its future is collected
    assert not [r.getMessage() for r in caplog.records if r.name == "asyncio"]


async def test_lesson03_a_list_of_coroutines_is_not_yet_and_closed(aclient, capsys):
    spans = []

    async def ask(prompt):
        spans.append((time.perf_counter(), time.perf_counter()))
        return prompt

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        lesson03.check_concurrent([ask("a"), ask("b")], spans)
        tasks = [asyncio.ensure_future(ask(p)) for p in "ab"]
        lesson03.check_concurrent(tasks, spans)
        await settle()
    outs = capsys.readouterr().out.splitlines()
    assert outs[0].startswith("NOT YET ✗ answers holds coroutine objects that nobody awaited")
    assert outs[1].startswith("NOT YET ✗ answers holds Task objects that nobody awaited")
    assert all(o.endswith("hint: answers is still pending: what turns it into results?") for o in outs)
    assert all(t.cancelled() for t in tasks) and spans == []
