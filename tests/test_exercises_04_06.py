"""The checkers of lessons 04-06 say NOT YET to the lesson's starting state, PASS to a right answer, name each
mistake with a hint, and raise a clear error for input of the wrong kind."""

from __future__ import annotations

import re

import anthropic
import httpx2
import pytest

from helpers.demo_tool import WEATHER_TOOL
from helpers.exercises import lesson04, lesson05, lesson06

from .conftest import MODEL

TOOLS = [WEATHER_TOOL]


def verdict(capsys) -> str:
    """The checker's last line (the lines before it list what it tried)."""
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines and lines[-1].startswith(("PASS ✓", "NOT YET ✗")), lines
    return lines[-1]


# -- 04: safe_stream (the table of answers is in test_checker_tables.py) ------------------------------------------


def safe_stream_catching(catch):
    def safe_stream(client, messages, show):
        parts = []
        try:
            with client.messages.stream(model=MODEL, max_tokens=200, messages=messages) as stream:
                for text in stream.text_stream:
                    show(text)
                    parts.append(text)
        except catch as err:
            return "".join(parts), err
        return "".join(parts), None

    return safe_stream


def test_lesson04_makes_every_failure_happen_and_passes_the_three_families(capsys):
    lesson04.check(safe_stream_catching((anthropic.APIError, httpx2.TransportError, ValueError)))
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("PASS"), lines
    errors = {line.split("  ")[2].strip(): line.rsplit(" · ", 1)[1] for line in lines[:-1]}
    assert errors == {
        "a clean stream": "no error",
        "no server at all": "error: APIConnectionError",
        "HTTP 529 overloaded": "error: OverloadedError",
        "HTTP 429 rate limited": "error: RateLimitError",
        "error event inside a 200": "error: APIStatusError",
        "dropped connection": "error: RemoteProtocolError",
        "stall past the read timeout": "error: ReadTimeout",
        "malformed line": "error: JSONDecodeError",
    }
    kept = {line.split("  ")[2].strip(): int(line.split("kept ")[1].split()[0]) for line in lines[:-1]}
    assert kept["dropped connection"] > 0 and kept["HTTP 529 overloaded"] == 0  # the partial answer is kept


def test_lesson04_the_starting_state_and_bad_input(capsys):
    lesson04.check(lambda client, messages, show: ("", None))
    assert verdict(capsys) == (
        "NOT YET ✗ a clean stream: show got no text — hint: stream the answer and hand show each piece (lesson 01)"
    )
    with pytest.raises(TypeError, match="safe_stream"):
        lesson04.check((anthropic.APIError, httpx2.TransportError, ValueError))


# -- 05: tool inputs collected from their deltas ------------------------------------------------------------------


def test_lesson05_lists_what_it_tried_and_lets_a_drop_raise(capsys):
    def tool_inputs(client, messages, tools):
        with client.messages.stream(model=MODEL, max_tokens=1024, tools=tools, messages=messages) as s:
            final = s.get_final_message()
        text = "".join(b.text for b in final.content if b.type == "text")
        return text, [b.input for b in final.content if b.type == "tool_use"] if final.stop_reason == "tool_use" else []

    lesson05.check(tool_inputs, TOOLS)
    out = capsys.readouterr().out
    assert "{'location': 'Tokyo', 'unit': 'celsius'}" in out  # the second call of one message
    assert "a connection dropped mid-JSON  raised RemoteProtocolError" in out
    assert out.strip().splitlines()[-1].startswith("PASS ✓"), out


def test_lesson05_bad_input_is_a_clear_error(capsys):
    with pytest.raises(TypeError, match="your function tool_inputs"):
        lesson05.check("tool_inputs", TOOLS)
    with pytest.raises(TypeError, match="list of tool definitions"):
        lesson05.check(lambda client, messages, tools: ("", []), WEATHER_TOOL)
    lesson05.check(lambda client, messages, tools: "18 degrees", TOOLS)
    assert "tool_inputs returned '18 degrees'" in verdict(capsys)


# -- 06: thinking and answer kept apart ------------------------------------------------------------------------------


def test_lesson06_lists_what_it_tried_and_keeps_the_thinking_a_drop_left(capsys):
    def think_and_answer(client, messages):
        thinking, answer = "", ""
        try:
            with client.messages.stream(
                model=MODEL, max_tokens=2048, thinking={"type": "adaptive", "display": "summarized"}, messages=messages
            ) as stream:
                for event in stream:
                    if event.type == "thinking":
                        thinking += event.thinking
                    elif event.type == "text":
                        answer += event.text
        except httpx2.TransportError:
            pass
        return thinking, answer

    lesson06.check(think_and_answer)
    out = capsys.readouterr().out
    assert "redacted thinking                  thinking: 0 characters · answer: 29 characters" in out
    dropped = re.search(r"a connection dropped mid-thinking  thinking: (\d+) characters · answer: 0 characters", out)
    assert dropped and 0 < int(dropped[1]) < 270, out  # the start of the thinking, not all of it
    assert out.strip().splitlines()[-1].startswith("PASS ✓"), out


def test_lesson06_bad_input_is_a_clear_error(capsys):
    with pytest.raises(TypeError, match="your function think_and_answer"):
        lesson06.check("think_and_answer")
    lesson06.check(lambda client, messages: "12,473,172")
    assert "think_and_answer returned '12,473,172'" in verdict(capsys)
