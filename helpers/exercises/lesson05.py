"""Checker for 05_tool_deltas' "Try it": the learner writes ``tool_inputs(client, messages, tools)``, which streams
an answer, keeps its text and each tool call's ``partial_json`` fragments by block index, and returns
``(text, inputs)``: the text, and the parsed input of every tool call in order, or ``[]`` unless the message stopped
to call tools.

The calls come from the local API (in live mode too, so the inputs are known in advance); it also cuts a stream
mid-JSON, once with a ``max_tokens`` stop and once with a dropped connection, and calls a tool that takes no input
(its call streams no JSON at all: the input is ``{}``).
"""

from __future__ import annotations

from collections.abc import Callable

import anthropic
from anthropic.types import MessageParam

from helpers import connect
from helpers.models import DEFAULT_MODEL as MODEL

from . import LearnerError, brief, call_learner, plain, report

SHAPE = "tool_inputs returns a pair: the text, and a list with one dict per tool call"
CUT = "a stream cut mid-JSON"
DROP = "a connection dropped mid-JSON"
NO_INPUT = "a tool call with no input"
CLOCK_TOOL = {  # a tool without parameters, added to the learner's tools for NO_INPUT
    "name": "get_time",
    "description": "Get the current time.",
    "input_schema": {"type": "object", "properties": {}},
}
CASES = {  # what the checker tries -> (question, x-offline-fault)
    "one tool call": ("What's the weather in Paris?", ""),
    "two tool calls in one message": ("What's the weather in Paris and Tokyo?", ""),
    "an answer with no tool call": ("Write a haiku about debugging.", ""),
    CUT: ("What's the weather in Paris?", "stop:max_tokens@17"),  # mid-JSON, after the location
    DROP: ("What's the weather in Paris?", "drop@19"),
    NO_INPUT: ("What time is it? Use get_time.", ""),
}


def _client(fault: str) -> anthropic.Anthropic:
    headers = {"x-offline-pace": "instant", "x-offline-fault": fault}
    return connect.client(offline=True, quiet=True).with_options(
        max_retries=0, timeout=anthropic.Timeout(10, read=5), default_headers=headers
    )


def _expected(question: str, tools: list) -> tuple[str, list]:
    """The text and inputs of the same answer, uncut, from the SDK's own final message."""
    messages: list[MessageParam] = [{"role": "user", "content": question}]
    with _client("").messages.stream(model=MODEL, max_tokens=1024, tools=tools, messages=messages) as stream:
        final = stream.get_final_message()
    text = "".join(b.text for b in final.content if b.type == "text")
    return text, [b.input for b in final.content if b.type == "tool_use"]


def check(tool_inputs: Callable, tools: list) -> None:
    """Run ``tool_inputs`` on each case of :data:`CASES` and print PASS or NOT YET."""
    if not callable(tool_inputs):
        raise TypeError(
            f"check expects your function tool_inputs(client, messages, tools), got {type(tool_inputs).__name__}"
        )
    if not isinstance(tools, list) or not tools:
        raise TypeError(f"check expects the list of tool definitions as its second argument, got {brief(tools)}")
    report(*_verdict(tool_inputs, tools))


def _verdict(tool_inputs: Callable, tools: list) -> tuple[bool, str, str]:
    for what, (question, fault) in CASES.items():
        offered = [*tools, CLOCK_TOOL] if what == NO_INPUT else tools
        text, inputs = _expected(question, offered)
        messages = [{"role": "user", "content": question}]
        try:
            result = plain(call_learner(tool_inputs, _client(fault), messages, offered))
        except LearnerError as err:
            if what == DROP:  # raising is a fine answer to a dropped connection
                print(f"  {what:<30} raised {type(err.original).__name__}")
                continue
            return False, f"{what}: {err}", _hint_raised(what, err.original)
        if not (isinstance(result, tuple | list) and len(result) == 2 and isinstance(result[1], list)):
            return False, f"{what}: tool_inputs returned {brief(result)}", SHAPE
        got_text, got_inputs = result
        if what in (CUT, DROP):
            if got_inputs:
                return (
                    False,
                    f"{what}: tool_inputs returned {brief(got_inputs)} as if the call were complete",
                    "an input that did not finish is no input: which field says why the message stopped?",
                )
        elif got_inputs != inputs:
            return (
                False,
                f"{what}: tool_inputs returned the inputs {brief(got_inputs, 80)} for {len(inputs)} tool_use block(s)",
                _hint(what, got_inputs),
            )
        elif got_text != text:
            return (
                False,
                f"{what}: the text returned is {brief(got_text, 50)}",
                "keep the text deltas too: Claude often says something before it calls a tool",
            )
        print(f"  {what:<30} text: {len(got_text)} characters · inputs: {brief(got_inputs, 200)}")
    return True, "tool_inputs parses every call by its block, and returns none from a cut stream", ""


def _hint(what: str, got: list) -> str:
    if what == "two tool calls in one message" and len(got) < 2:
        return "each fragment belongs to one block: which field of the delta event says which?"
    if what == "an answer with no tool call":
        return "no tool_use block, no input"
    return "join a block's fragments in order and parse them once the block is complete"


def _hint_raised(what: str, exc: BaseException) -> str:
    if isinstance(exc, ValueError) and what == NO_INPUT:
        return "a tool that takes no input streams no JSON at all: what input did it get?"
    if isinstance(exc, ValueError) and what == "two tool calls in one message":
        return "the fragments of two calls ran together: which field of the delta event says which block it is?"
    if isinstance(exc, ValueError) and what == CUT:
        return "JSON cut by the token limit cannot be parsed: learn why the message stopped before you parse"
    if isinstance(exc, ValueError):
        return "parse a block's JSON only when all its fragments have arrived"
    return "read the line named above"
