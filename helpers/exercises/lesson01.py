"""Checker for 01_text_stream's "Try it": tell a complete answer from one cut off by max_tokens."""

from __future__ import annotations

from collections.abc import Callable

import anthropic

from . import report

MODEL = "claude-sonnet-4-6"
PROMPT = [{"role": "user", "content": "Write a haiku about debugging."}]


def check_is_complete(is_complete: Callable[[anthropic.types.Message], bool], client: anthropic.Anthropic) -> None:
    """Stream the haiku twice (room enough, then only 10 tokens) and ask ``is_complete`` about each final Message."""
    if not callable(is_complete):
        raise TypeError(
            f"check_is_complete expects your function is_complete(message), got {type(is_complete).__name__}"
        )
    if not isinstance(client, anthropic.Anthropic):
        raise TypeError(
            f"check_is_complete expects the notebook's anthropic.Anthropic client, got {type(client).__name__}"
        )
    verdicts = {}
    for max_tokens in (1024, 10):
        with client.messages.stream(model=MODEL, max_tokens=max_tokens, messages=PROMPT) as stream:
            message = stream.get_final_message()
        verdict = is_complete(message)
        if not isinstance(verdict, bool):
            raise TypeError(f"is_complete(message) must return True or False, it returned {verdict!r}")
        verdicts[message.stop_reason] = verdict
    if verdicts.get("end_turn") is False:
        report(
            False,
            "is_complete said a whole haiku (stop_reason 'end_turn') was not complete",
            "an answer that ended on its own has stop_reason 'end_turn'",
        )
    elif verdicts.get("max_tokens") is True:
        report(
            False,
            "is_complete said a haiku cut off after 10 tokens (stop_reason 'max_tokens') was complete",
            "look at message.stop_reason: 'max_tokens' means the limit cut the answer off",
        )
    else:
        report(True, "is_complete accepts the whole haiku and rejects the one cut off by max_tokens")
