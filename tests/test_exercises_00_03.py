"""The checkers of lessons 00-03 say NOT YET to the lesson's starting state, PASS to a right answer, name each
mistake with a hint that points (never the answer), report the learner's own exception as theirs, and raise a clear
error for input of the wrong kind. The streams are real: the SDK against the local API at instant pace."""

from __future__ import annotations

import anthropic
import pytest

from helpers.exercises import lesson00, lesson01, lesson02

from .conftest import MODEL

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


# -- 01: is_complete over every stop reason ----------------------------------------------------------------------------


def test_lesson01_streams_one_answer_per_stop_reason(client):
    reasons = [m.stop_reason for m in lesson01.answers(client)]
    assert reasons == list(lesson01.EXPECTED)  # all seven, as the SDK's StopReason lists them
    assert set(reasons) == set(anthropic.types.StopReason.__args__)


@pytest.mark.parametrize(
    ("is_complete", "expected"),
    [
        (lambda m: True, "'max_tokens' was complete"),  # the lesson's starting state
        (lambda m: m.stop_reason != "max_tokens", "'tool_use' was complete"),  # the old solution
        (lambda m: m.stop_reason == "end_turn", "'stop_sequence' was not complete"),  # the old hint's answer
        (lambda m: m.stop_reason not in ("max_tokens", "tool_use", "pause_turn"), "'refusal' was complete"),
        (
            lambda m: m.stop_reason in ("end_turn", "stop_sequence", "model_context_window_exceeded"),
            "'model_context_window_exceeded' was complete",
        ),
    ],
)
def test_lesson01_names_the_stop_reason_it_got_wrong(is_complete, expected, client, capsys):
    lesson01.check_is_complete(is_complete, client)
    out = verdict(capsys)
    assert out.startswith("NOT YET") and expected in out and "hint:" in out
    assert "in (" not in out and "==" not in out, "the hint points, it does not hand over the code"


def test_lesson01_passes_exactly_end_turn_and_stop_sequence(client, capsys):
    lesson01.check_is_complete(lambda m: m.stop_reason in ("end_turn", "stop_sequence"), client)
    out = verdict(capsys)
    assert out.startswith("PASS") and "refusal" in out


def test_lesson01_reports_the_learners_own_exception_and_a_non_bool(client, capsys):
    def is_complete(message):
        return message.stop_details.category is None  # None on an ordinary answer: AttributeError

    lesson01.check_is_complete(is_complete, client)
    out = verdict(capsys)
    assert out.startswith("NOT YET") and "your function is_complete raised AttributeError" in out and "hint:" in out
    lesson01.check_is_complete(lambda m: m.stop_reason, client)
    out = verdict(capsys)
    assert out.startswith("NOT YET") and "returned 'end_turn' for stop_reason 'end_turn', not True or False" in out


def test_lesson01_bad_input_is_a_clear_error(client):
    with pytest.raises(TypeError, match="is_complete"):
        lesson01.check_is_complete("end_turn", client)
    with pytest.raises(TypeError, match="anthropic.Anthropic"):
        lesson01.check_is_complete(lambda m: True, anthropic.AsyncAnthropic(api_key="test-key"))


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
