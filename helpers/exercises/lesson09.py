"""Lesson 09 · Try it: change only the system prompt, and compare the two answers side by side."""

from __future__ import annotations

import re

from helpers.exercises import report
from helpers.offline.replies import NOT_A_PIRATE

# Words a pirate's answer can hardly do without. Offline, a system prompt that asks for a pirate makes the local API
# begin its answer with "Arr!"; live, Claude picks its own words, and any of these will do.
PIRATE = re.compile(
    r"\b(arr+|ahoy|avast|matey|me hearties|aye|ye|yer|yo[- ]ho|scallywag|landlubber|plunder|booty|grog|buccaneer|parrot)\b",
    re.I,
)


def _text(message, which: str) -> str:
    if not (hasattr(message, "content") and hasattr(message, "stop_reason")):
        raise TypeError(
            f"{which}: expected the final Message of a stream (stream.get_final_message()), got {type(message).__name__}"
        )
    return "".join(block.text for block in message.content if block.type == "text")


def check_pirate(system: str, left, right) -> None:
    """``left`` answered without a system prompt, ``right`` with ``system``: is the right one a pirate's?"""
    if not isinstance(system, str):
        raise TypeError(f"SYSTEM: expected a string, got {type(system).__name__}")
    report(*_verdict(system, _text(left, "left"), right, _text(right, "right")))


def _verdict(system: str, plain: str, right, pirate: str) -> tuple[bool, str, str]:
    if NOT_A_PIRATE.search(system):  # the local API would not say "Arr!": say why
        return (
            False,
            f"SYSTEM asks for anything but a pirate: {system[:60]!r}",
            "a system prompt works best when it says what to do, not what to avoid: who should be answering?",
        )
    if right.stop_reason != "end_turn":
        return (
            False,
            f"the right answer stopped with {right.stop_reason!r}",
            "give it room: max_tokens=300 is plenty for a haiku",
        )
    if not PIRATE.search(pirate):
        return (
            False,
            "the right pane doesn't sound like a pirate yet",
            "a system prompt sets who Claude is for the whole conversation: who should be answering in the right pane?",
        )
    if plain == pirate:
        return False, "both panes gave the same answer", "only the right pane should get the system prompt"
    return True, "same prompt, different system prompt, and the right pane answers like a pirate", ""
