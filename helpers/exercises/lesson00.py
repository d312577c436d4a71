"""Checker for 00_setup's "Try it": stream the whole haiku, not half of it."""

from __future__ import annotations

import anthropic

from . import report


def check_whole_answer(message: anthropic.types.Message) -> None:
    """PASS when the streamed answer ended on its own (``end_turn``) rather than at the ``max_tokens`` limit."""
    if not isinstance(message, anthropic.types.Message):
        raise TypeError(
            f"check_whole_answer expects the Message from stream.get_final_message(), got {type(message).__name__}"
        )
    report(*_verdict(message))


def _verdict(message: anthropic.types.Message) -> tuple[bool, str, str]:
    tokens = message.usage.output_tokens
    if message.stop_reason == "end_turn":
        return True, f"the whole answer arrived (stop_reason 'end_turn', {tokens} output tokens)", ""
    if message.stop_reason == "max_tokens":
        return (
            False,
            f"the answer stopped after {tokens} output tokens (stop_reason 'max_tokens')",
            "max_tokens is the most tokens the answer may use, and three lines of poetry need more than that: "
            "raise it on the marked line, with room to spare (a token is roughly three quarters of a word)",
        )
    return (
        False,
        f"the answer ended with stop_reason {message.stop_reason!r}",
        "stream the haiku prompt as the cell has it (no stop_sequences, no tools): only the marked line needs a change",
    )
