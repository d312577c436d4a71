"""Checker for 06_thinking's "Try it": the assistant turn that goes back after a tool call made with thinking on.

It streams from the local API (in live mode too), which answers like the real one but does not itself reject a
missing thinking block, so the checker applies the real API's rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from anthropic.types import MessageParam

from helpers import connect
from helpers.models import DEFAULT_MODEL as MODEL
from helpers.models import THINKING

from . import LearnerError, call_learner, report

QUESTION: list[MessageParam] = [{"role": "user", "content": "What's the weather in Paris?"}]
WEATHER = {"location": "Paris", "temperature": 18, "unit": "celsius", "conditions": "partly cloudy"}
HEADERS = {"x-offline-pace": "instant"}


def _as_dict(block) -> dict:
    return block if isinstance(block, dict) else block.model_dump(exclude_none=True)


def check(assistant_turn: Callable, tools: list) -> None:
    """Stream a thinking + tool_use turn, build the next request with ``assistant_turn(final)``, send it, and print
    PASS or NOT YET."""
    if not callable(assistant_turn):
        raise TypeError(f"check expects your function assistant_turn(final), got {type(assistant_turn).__name__}")
    report(*_verdict(assistant_turn, tools))


def _verdict(assistant_turn: Callable, tools: list) -> tuple[bool, str, str]:
    client = connect.client(offline=True, quiet=True)
    options: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 2048,
        "thinking": THINKING,
        "tools": tools,
        "extra_headers": HEADERS,
    }
    with client.messages.stream(messages=QUESTION, **options) as stream:
        final = stream.get_final_message()
    try:
        turn = call_learner(assistant_turn, final)
    except LearnerError as err:
        return False, str(err), "assistant_turn(final) builds the assistant's message from final.content"
    if not isinstance(turn, dict) or turn.get("role") != "assistant" or not isinstance(turn.get("content"), list):
        raise TypeError(f'assistant_turn(final) must return {{"role": "assistant", "content": [...]}}, got {turn!r}')
    sent = [_as_dict(b) for b in turn["content"]]
    print("  you send back:", [b.get("type") for b in sent])
    thinking = _as_dict(final.content[0])
    if not sent or sent[0].get("type") != "thinking":
        return (
            False,
            "the API answers 400: a tool-use turn with thinking on must start with its thinking block",
            "the API checks the turn as Claude wrote it: which block comes first in final.content?",
        )
    if (sent[0].get("thinking"), sent[0].get("signature")) != (thinking["thinking"], thinking["signature"]):
        return (
            False,
            "the thinking block was changed: its signature no longer matches, and the API answers 400",
            "the signature covers the whole block: any change to the block, or to its thinking, breaks it",
        )
    call = next((b for b in final.content if b.type == "tool_use"), None)
    if call is None or not any(b.get("type") == "tool_use" and b.get("id") == call.id for b in sent):
        return (
            False,
            "the tool_use block is missing from the assistant turn",
            "the tool_result you send next answers a tool_use block of this very turn",
        )
    result = {"type": "tool_result", "tool_use_id": call.id, "content": json.dumps(WEATHER)}
    follow_up: list[Any] = [*QUESTION, turn, {"role": "user", "content": [result]}]  # turn: the learner's dict
    with client.messages.stream(messages=follow_up, **options) as s:
        answer = s.get_final_text()
    print(f"  Claude answers: {answer}")
    return True, "the thinking block went back complete and unchanged, and the tool loop carried on", ""
