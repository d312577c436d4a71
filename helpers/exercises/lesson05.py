"""Checker for 05_tool_deltas' "Try it": a tool_result that tells Claude when the tool failed.

It streams real tool calls from the local API (in live mode too, so the tool inputs are known in advance).
"""

from __future__ import annotations

from collections.abc import Callable

import anthropic
from anthropic.types import MessageParam

from helpers import connect
from helpers.models import DEFAULT_MODEL as MODEL

from . import LearnerError, call_learner, report

HEADERS = {"x-offline-pace": "instant"}


def _tool_call(client: anthropic.Anthropic, tools: list, city: str):
    """The tool_use block Claude streams for "What's the weather in <city>?"."""
    question: list[MessageParam] = [{"role": "user", "content": f"What's the weather in {city}?"}]
    with client.messages.stream(
        model=MODEL, max_tokens=1024, tools=tools, messages=question, extra_headers=HEADERS
    ) as stream:
        final = stream.get_final_message()
    block = next(b for b in final.content if b.type == "tool_use")
    return question, final, block


def _expect_tool_result(result) -> None:
    if not isinstance(result, dict) or result.get("type") != "tool_result":
        raise TypeError(f'run_tool(block) must return a dict with "type": "tool_result", got {result!r}')


def _handling(err: LearnerError, run_tool: Callable) -> BaseException | None:
    """The exception ``run_tool``'s own ``except`` branch was handling when it raised ``err.original``, or None.

    Python links them: the new exception's ``__context__`` is the one being handled, and that one's traceback starts
    in the frame that caught it: here, run_tool's."""
    handled = err.original.__context__
    if handled is None or handled.__traceback__ is None:
        return None
    return handled if handled.__traceback__.tb_frame.f_code is getattr(run_tool, "__code__", None) else None


def _says_something(content) -> bool:
    """Whether a tool_result's content holds any words: a non-blank string, or a text block with some."""
    if isinstance(content, str):
        return bool(content.strip())
    if isinstance(content, list):
        return any(isinstance(b, dict) and str(b.get("text", "")).strip() for b in content)
    return False


def check(run_tool: Callable, tools: list) -> None:
    """Run ``run_tool`` on a call that works (Paris) and one that fails (Atlantis), send both results back, and
    print PASS or NOT YET."""
    if not callable(run_tool):
        raise TypeError(f"check expects your function run_tool(block), got {type(run_tool).__name__}")
    report(*_verdict(run_tool, tools))


def _verdict(run_tool: Callable, tools: list) -> tuple[bool, str, str]:
    client = connect.client(offline=True, quiet=True)
    outcomes = {}
    for city in ("Paris", "Atlantis"):
        question, final, block = _tool_call(client, tools, city)
        try:
            result = call_learner(run_tool, block)
        except LearnerError as err:
            if handled := _handling(err, run_tool):
                return (
                    False,
                    f"for {city}, {err}",
                    f"your except branch itself raised, while handling the tool's {type(handled).__name__}: "
                    "fix the line named above so that the branch returns its tool_result",
                )
            return (
                False,
                f"for {city}, {err}",
                "catch the tool's exception inside run_tool and return a tool_result that carries the message",
            )
        _expect_tool_result(result)
        if result.get("tool_use_id") != block.id:
            return (
                False,
                "the tool_result does not name its call",
                "Claude may call several tools at once: which field of block tells this call from the others?",
            )
        flag = result.get("is_error", False)
        if not isinstance(flag, bool):
            return (
                False,
                f'"is_error" is {flag!r}, a {type(flag).__name__}: the API takes only a JSON boolean there',
                "which Python value does json.dumps turn into true?",
            )
        turn = [*question, {"role": "assistant", "content": final.content}, {"role": "user", "content": [result]}]
        with client.messages.stream(
            model=MODEL, max_tokens=1024, tools=tools, messages=turn, extra_headers=HEADERS
        ) as s:
            answer = s.get_final_text()
        outcomes[city] = (flag, answer, result.get("content"))
        print(f"  {city:<9} is_error={outcomes[city][0]!s:<5} → {answer}")
    if outcomes["Paris"][0]:
        return (
            False,
            "a tool call that worked is marked as an error",
            '"is_error": True belongs only in the result of a failed call',
        )
    if not outcomes["Atlantis"][0]:
        return (
            False,
            "Claude was told the failed call for Atlantis succeeded",
            "the Try it text names the field that marks a tool_result as an error message",
        )
    if not _says_something(outcomes["Atlantis"][2]):
        return (
            False,
            "the error result for Atlantis carries no message: Claude learns that the call failed, not why",
            "the exception you caught says what went wrong: send its words along in the result",
        )
    return True, "run_tool reports a result for Paris and an error for Atlantis, and Claude answers both", ""
