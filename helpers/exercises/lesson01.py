"""Checker for 01_text_stream's "Try it": tell an answer you can show as it is from one that was cut off, refused or
is waiting on you, by its stop_reason, for every stop reason the API has."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic

from helpers import connect
from helpers.demo_tool import WEATHER_TOOL
from helpers.models import DEFAULT_MODEL

from . import LearnerError, call_learner, report

MODEL = DEFAULT_MODEL
HAIKU = [{"role": "user", "content": "Write a haiku about debugging."}]
WEATHER = [{"role": "user", "content": "What's the weather in Paris?"}]
RESEARCH = [{"role": "user", "content": "Research Server-Sent Events in depth."}]
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search"}

# Every stop reason: is an answer that ended with it complete, and what to think about when is_complete gets it wrong.
EXPECTED = {
    "end_turn": (True, "'end_turn' means the model reached a natural end of its answer"),
    "stop_sequence": (True, "'stop_sequence' means the answer reached a stop sequence you asked for: where you wanted"),
    "max_tokens": (False, "'max_tokens' means the limit cut the answer off midway"),
    "tool_use": (False, "'tool_use' means Claude waits for your tool's result before it can answer (lesson 05)"),
    "pause_turn": (
        False,
        "'pause_turn' means the API paused a long turn that you send back to be finished (lesson 07)",
    ),
    "refusal": (False, "'refusal' means a safety classifier stopped the answer: the text before it is no answer"),
    "model_context_window_exceeded": (
        False,
        "'model_context_window_exceeded' means the context window filled up: the answer was cut off, as by max_tokens",
    ),
}


def answers(client: anthropic.Anthropic) -> list[anthropic.types.Message]:
    """One streamed answer per stop reason. The first four come from ``client`` (live or offline); the real API only
    pauses, refuses or fills its window on its own, so those three are forced on the local API, in both modes."""
    local = connect.client(offline=True, quiet=True)
    requests: list[tuple[anthropic.Anthropic, dict[str, Any]]] = [
        (client, {"messages": HAIKU}),
        (client, {"messages": HAIKU, "stop_sequences": ["\n"]}),
        (client, {"messages": HAIKU, "max_tokens": 10}),
        (client, {"messages": WEATHER, "tools": [WEATHER_TOOL]}),
        (local, {"messages": RESEARCH, "tools": [WEB_SEARCH]}),
        (local, {"messages": HAIKU, "extra_headers": {"x-offline-fault": "stop:refusal@5"}}),
        (local, {"messages": HAIKU, "extra_headers": {"x-offline-fault": "stop:model_context_window_exceeded@5"}}),
    ]
    found: list[anthropic.types.Message] = []
    for sdk, request in requests:
        with sdk.messages.stream(**{"model": MODEL, "max_tokens": 1024, **request}) as stream:
            found.append(stream.get_final_message())
    return found


def check_is_complete(is_complete: Callable[[anthropic.types.Message], bool], client: anthropic.Anthropic) -> None:
    """Stream one answer per stop reason and ask ``is_complete`` about each final Message: PASS when it says True
    for exactly the answers that ended where they should (``end_turn``, ``stop_sequence``)."""
    if not callable(is_complete):
        raise TypeError(
            f"check_is_complete expects your function is_complete(message), got {type(is_complete).__name__}"
        )
    if not isinstance(client, anthropic.Anthropic):
        raise TypeError(
            f"check_is_complete expects the notebook's anthropic.Anthropic client, got {type(client).__name__}"
        )
    report(*_verdict(is_complete, answers(client)))


def _verdict(is_complete, messages) -> tuple[bool, str, str]:
    for message in messages:
        reason = message.stop_reason
        try:
            said = call_learner(is_complete, message, name="is_complete")
        except LearnerError as err:
            return (
                False,
                f"on an answer with stop_reason {reason!r}, {err}",
                "read message.stop_reason: every answer has one",
            )
        if not isinstance(said, bool):
            return (
                False,
                f"is_complete returned {said!r} for stop_reason {reason!r}, not True or False",
                "compare message.stop_reason with the reasons that mean 'finished'",
            )
        complete, hint = EXPECTED.get(reason, (None, ""))
        if complete is None:
            continue  # a stop reason newer than this checker: nothing to grade
        if said != complete:
            return (
                False,
                f"is_complete said an answer with stop_reason {reason!r} was {'' if said else 'not '}complete",
                hint,
            )
    seen = ", ".join(m.stop_reason for m in messages)
    return True, f"is_complete is right about every stop reason ({seen})", ""
