"""The checkers of lessons 04-06 say NOT YET to the lesson's starting state, PASS to a right answer, name each
mistake with a hint, and raise a clear error for input of the wrong kind."""

from __future__ import annotations

import json

import anthropic
import httpx2
import pydantic
import pytest

from helpers.demo_tool import WEATHER_TOOL
from helpers.exercises import lesson04, lesson05, lesson06

TOOLS = [WEATHER_TOOL]


def verdict(capsys) -> str:
    """The checker's last line (the lines before it list what it tried)."""
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines and lines[-1].startswith(("PASS ✓", "NOT YET ✗")), lines
    return lines[-1]


# -- 04: the except clause ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("catch", "expected"),
    [
        ((anthropic.APIConnectionError, anthropic.RateLimitError), "dropped or stalled"),  # the starting state
        ((anthropic.APIConnectionError, anthropic.RateLimitError, httpx2.TransportError), "the API reported"),
        ((anthropic.APIError, httpx2.TransportError), "cannot parse escapes"),
        # the tuple this course taught before: the SDK's ValueError for tool JSON and pydantic's ValidationError escape
        ((anthropic.APIError, httpx2.TransportError, json.JSONDecodeError), "(ValidationError, ValueError)"),
        ((anthropic.APIError, httpx2.TransportError, pydantic.ValidationError), "(JSONDecodeError, ValueError)"),
        (Exception, "catch-all"),
        ((anthropic.APIError, httpx2.TransportError, ValueError, LookupError), "LookupError also catches KeyError"),
    ],
)
def test_lesson04_names_what_escapes_or_what_is_too_broad(catch, expected, capsys):
    lesson04.check(catch)
    out = verdict(capsys)
    assert out.startswith("NOT YET") and expected in out and "hint:" in out


def test_lesson04_hints_point_without_naming_the_class_to_add(capsys):
    lesson04.check((anthropic.APIConnectionError, anthropic.RateLimitError))
    out = verdict(capsys)
    assert "TransportError" not in out.split("hint:", 1)[1]


def test_lesson04_passes_api_transport_and_value_errors(capsys):
    lesson04.check((anthropic.APIError, httpx2.TransportError, ValueError))
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("PASS"), lines
    tried = {line.split("  ")[2].strip(): line.split()[-1] for line in lines[:-1]}
    assert tried["broken tool input JSON"] == "ValueError"  # the SDK's own, for unparsable tool JSON
    assert tried["structured output cut short"] == "ValidationError"
    assert tried["malformed line"] == "JSONDecodeError"


@pytest.mark.parametrize(
    ("catch", "expected"),
    [
        ("httpx2.TransportError", "CATCH holds a string, 'httpx2.TransportError' — hint: name the class itself"),
        ((anthropic.APIError, "ValueError"), "CATCH holds a string, 'ValueError' — hint: name the class itself"),
        ((), "CATCH is an empty tuple: it catches nothing"),
        ([anthropic.APIError, ValueError], "except takes an exception class or a tuple of exception classes"),
        (42, "CATCH is 42: except takes an exception class"),
    ],
)
def test_lesson04_a_catch_except_cannot_use_is_not_yet_and_says_why(catch, expected, capsys):
    lesson04.check(catch)  # `except CATCH:` would raise TypeError: the checker says NOT YET instead, without a stream
    out = capsys.readouterr().out.strip()
    assert out.startswith("NOT YET ✗") and "\n" not in out and expected in out and "hint:" in out, out


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
