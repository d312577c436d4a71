"""The checkers of lessons 04-06 say NOT YET to the lesson's starting state, PASS to a right answer, name each
mistake with a hint, and raise a clear error for input of the wrong kind."""

from __future__ import annotations

import json

import anthropic
import httpx2
import pytest

from helpers.demo_tool import WEATHER_TOOL
from helpers.exercises import lesson04, lesson05, lesson06

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
            with client.messages.stream(model="claude-sonnet-4-6", max_tokens=200, messages=messages) as stream:
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
    errors = {line.split("  ")[2].strip(): line.rsplit("error: ", 1)[1] for line in lines[:-1]}
    assert errors == {
        "a clean stream": "NoneType",
        "no server at all": "APIConnectionError",
        "HTTP 529 overloaded": "OverloadedError",
        "HTTP 429 rate limited": "RateLimitError",
        "error event inside a 200": "APIStatusError",
        "dropped connection": "RemoteProtocolError",
        "stall past the read timeout": "ReadTimeout",
        "malformed line": "JSONDecodeError",
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


# -- 05: the tool_result of a failed call --------------------------------------------------------------------------


def weather(block) -> str:
    if block.input["location"] != "Paris":
        raise ValueError(f"no weather data for {block.input['location']!r}")
    return json.dumps({"location": "Paris", "temperature": 18, "unit": "celsius", "conditions": "partly cloudy"})


def run_tool(block, *, flag_errors=True, flag_all=False, name_call=True, flag=True):
    result = {"type": "tool_result", **({"tool_use_id": block.id} if name_call else {})}
    try:
        result["content"] = weather(block)
    except ValueError as err:
        result["content"] = str(err)
        if flag_errors:
            result["is_error"] = flag
    if flag_all:
        result["is_error"] = True
    return result


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"flag_errors": False}, "failed call for Atlantis succeeded"),  # the starting state
        ({"flag_all": True}, "only in the result of a failed call"),
        ({"flag": "true"}, "'true', a str: the API takes only a JSON boolean"),  # the real API rejects a string
        ({"flag": 1}, "1, a int: the API takes only a JSON boolean"),
        ({"name_call": False}, "does not name its call"),
    ],
)
def test_lesson05_names_each_mistake(options, expected, capsys):
    lesson05.check(lambda block: run_tool(block, **options), TOOLS)
    out = verdict(capsys)
    assert out.startswith("NOT YET") and expected in out


def test_lesson05_tells_a_tool_that_raises_from_one_that_reports(capsys):
    def raising(block):
        return {"type": "tool_result", "tool_use_id": block.id, "content": weather(block)}

    lesson05.check(raising, TOOLS)
    out = verdict(capsys)
    assert "for Atlantis, your function raising raised ValueError: no weather data for 'Atlantis'" in out
    assert "hint: catch the tool's exception" in out
    lesson05.check(run_tool, TOOLS)
    out = capsys.readouterr().out
    assert out.strip().endswith("and Claude answers both") and "PASS" in out
    assert "The tool reported an error" in out  # Claude was told, and said so


def test_lesson05_says_when_the_learners_except_branch_itself_raised(capsys):
    def run_tool(block):
        try:
            return {"type": "tool_result", "tool_use_id": block.id, "content": weather(block)}
        except ValueError as err:
            return {"type": "tool_result", "tool_use_id": block.id, "content": err.message, "is_error": True}

    lesson05.check(run_tool, TOOLS)
    out = verdict(capsys)
    assert out.startswith("NOT YET ✗ for Atlantis, your function run_tool raised AttributeError:"), out
    assert "(line " in out and "err.message" in out  # the line that raised, the learner's own
    hint = out.split("hint:", 1)[1]
    assert "your except branch itself raised, while handling the tool's ValueError" in hint
    assert "catch the tool's exception" not in hint  # they did: that hint would send them in a circle


def test_lesson05_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match="your function run_tool"):
        lesson05.check("run_tool", TOOLS)
    with pytest.raises(TypeError, match='"type": "tool_result"'):
        lesson05.check(lambda block: "18 degrees", TOOLS)


# -- 06: the assistant turn after a tool call with thinking on ------------------------------------------------------


def without_thinking(final):
    return {"role": "assistant", "content": [b for b in final.content if b.type != "thinking"]}


def with_new_signature(final):
    first = final.content[0].model_dump()
    return {"role": "assistant", "content": [{**first, "signature": first["signature"][::-1]}, *final.content[1:]]}


def without_tool_use(final):
    return {"role": "assistant", "content": [b for b in final.content if b.type != "tool_use"]}


@pytest.mark.parametrize(
    ("assistant_turn", "expected"),
    [
        (without_thinking, "must start with its thinking block"),  # the starting state
        (with_new_signature, "signature no longer matches"),
        (without_tool_use, "tool_use block is missing"),
        (lambda final: {"role": "assistant", "content": final["content"]}, "your function <lambda> raised TypeError"),
    ],
)
def test_lesson06_names_each_mistake(assistant_turn, expected, capsys):
    lesson06.check(assistant_turn, TOOLS)
    out = verdict(capsys)
    assert out.startswith("NOT YET") and expected in out and "hint:" in out


@pytest.mark.parametrize("as_dicts", [False, True])
def test_lesson06_passes_the_content_as_it_came(as_dicts, capsys):
    def turn(final):
        content = [b.model_dump(exclude_none=True) for b in final.content] if as_dicts else final.content
        return {"role": "assistant", "content": content}

    lesson06.check(turn, TOOLS)
    assert verdict(capsys).startswith("PASS")


def test_lesson06_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match="your function assistant_turn"):
        lesson06.check({"role": "assistant"}, TOOLS)
    with pytest.raises(TypeError, match='"role": "assistant"'):
        lesson06.check(lambda final: final.content, TOOLS)
