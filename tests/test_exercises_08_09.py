"""The checkers of lessons 08 and 09 say NOT YET to the lesson's starting state, PASS to a right answer, and a
clear error (or hint) to anything else."""

from __future__ import annotations

import json

import pytest

from helpers.exercises import lesson08, lesson09

from .conftest import MODEL

HAIKU = [{"role": "user", "content": "Write a haiku about debugging."}]


def json_frame(text: str) -> str:
    return f"event: text\ndata: {json.dumps({'text': text})}\n\n"


def test_lesson08_says_not_yet_to_the_tutorials_framing_and_shows_the_lost_text(capsys):
    lesson08.check_framing(lambda text: f"data: {text}\n\n")
    out = capsys.readouterr().out
    assert out.startswith("NOT YET ✗ 'two\\nlines' came back as 'two'") and "which encoding" in out
    assert "json.dumps" not in out  # the hint points; the solution file has the answer


def test_lesson08_a_json_string_gets_a_pointing_hint_not_the_answer(capsys):
    lesson08.check_framing(lambda text: f"event: text\ndata: {json.dumps(text)}\n\n")
    out = capsys.readouterr().out
    assert "not an object with a 'text' field" in out and "what JSON value" in out and "json.dumps" not in out


def test_lesson08_a_server_sent_event_is_not_yet_not_a_traceback(capsys):
    from fastapi.sse import ServerSentEvent

    lesson08.check_framing(lambda text: ServerSentEvent(event="text", data={"text": text}))
    out = capsys.readouterr().out
    assert out.startswith("NOT YET ✗ frame_text returned a ServerSentEvent, not the SSE event as a str")
    assert "EventSourceResponse frames a ServerSentEvent for you; here return the str yourself" in out


def test_lesson08_passes_json_framing_as_str_or_bytes(capsys):
    lesson08.check_framing(json_frame)
    lesson08.check_framing(lambda text: json_frame(text).encode())
    assert capsys.readouterr().out.count("PASS ✓") == 2


@pytest.mark.parametrize(
    ("frame_text", "expected"),
    [
        (lambda text: f"data: {json.dumps({'text': text})}\n\n", "named 'message'"),  # no event name
        (lambda text: f"event: text\ndata: {json.dumps(text)}\n\n", "not an object with a 'text' field"),
        (lambda text: json_frame(text).rstrip("\n") + "\n", "arrived as 0 events"),  # no blank line at the end
        (lambda text: json_frame(text) * 2, "arrived as 2 events"),
    ],
)
def test_lesson08_names_what_is_wrong(frame_text, expected, capsys):
    lesson08.check_framing(frame_text)
    out = capsys.readouterr().out
    assert out.startswith("NOT YET ✗") and expected in out and "hint:" in out


def test_lesson08_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match="your function frame_text"):
        lesson08.check_framing("data: {text}\n\n")


def test_lesson08_a_missing_return_is_not_yet(capsys):
    lesson08.check_framing(lambda text: None)
    out = capsys.readouterr().out
    assert out.startswith("NOT YET ✗ frame_text returned a NoneType") and "is a return missing?" in out


def test_lesson08_reports_an_exception_in_the_learners_function(capsys):
    def frame_text(text):
        return "event: text\ndata: " + json.dumps({"text": text}, sort_keys="yes please") + 1

    lesson08.check_framing(frame_text)
    out = capsys.readouterr().out
    assert out.startswith("NOT YET ✗ your function frame_text raised TypeError:") and "(line " in out and "hint:" in out


def test_lesson08_tricky_pieces_all_break_naive_framing_except_the_two_controls():
    from helpers.web import naive_frame, parse

    broken = [t for t in lesson08.TRICKY if [e.data for e in parse(naive_frame(t))] != [t]]
    assert broken == lesson08.TRICKY[:-2]  # every trap is a real one; the last two check that JSON keeps the rest


async def final(aclient, **options):
    async with aclient.messages.stream(model=MODEL, max_tokens=300, messages=HAIKU, **options) as stream:
        return await stream.get_final_message()


async def test_lesson09_says_not_yet_to_the_starting_system_prompt_and_pass_to_a_pirate(aclient, capsys):
    plain = await final(aclient)
    system = "You are a helpful assistant."
    lesson09.check_pirate(system, plain, await final(aclient, system=system))
    assert capsys.readouterr().out.startswith("NOT YET ✗ the right pane doesn't sound like a pirate")
    system = "You are a pirate. Answer like one."
    lesson09.check_pirate(system, plain, await final(aclient, system=system))
    assert capsys.readouterr().out.startswith("PASS ✓")


@pytest.mark.parametrize("system", ["Never talk like a pirate.", "Don't answer as a pirate would.", "No pirates!"])
async def test_lesson09_a_system_prompt_that_forbids_pirates_is_not_yet(system, aclient, capsys):
    """Offline the local API says "Arr!" to any system prompt naming a pirate: the checker reads what was asked."""
    plain = await final(aclient)
    lesson09.check_pirate(system, plain, await final(aclient, system=system))
    out = capsys.readouterr().out
    assert out.startswith("NOT YET ✗ SYSTEM asks for anything but a pirate") and "who should be answering?" in out


async def test_lesson09_wants_the_left_pane_without_the_system_prompt(aclient, capsys):
    pirate = await final(aclient, system="Talk like a pirate.")
    lesson09.check_pirate("Talk like a pirate.", pirate, pirate)
    assert capsys.readouterr().out.startswith("NOT YET ✗ both panes gave the same answer")


async def test_lesson09_notices_a_cut_answer_and_rejects_bad_input(aclient, capsys):
    plain = await final(aclient)
    async with aclient.messages.stream(model=MODEL, max_tokens=3, system="You are a pirate.", messages=HAIKU) as stream:
        cut = await stream.get_final_message()
    lesson09.check_pirate("You are a pirate.", plain, cut)
    assert "NOT YET ✗ the right answer stopped with 'max_tokens'" in capsys.readouterr().out
    with pytest.raises(TypeError, match="get_final_message"):
        lesson09.check_pirate("You are a pirate.", plain, "Arr!")
    with pytest.raises(TypeError, match="SYSTEM: expected a string"):
        lesson09.check_pirate(None, plain, plain)
