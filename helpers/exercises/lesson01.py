"""Checker for 01_text_stream's "Try it": the learner writes the streaming loop. ``stream_answer(client, messages,
show)`` streams an answer, hands each text piece to ``show`` while the stream is still open, and returns ``(text,
complete)``: the whole text, and whether the answer ended where it should, for every stop reason the API has."""

from __future__ import annotations

from collections.abc import Callable

import anthropic

from helpers import connect

from . import LearnerError, brief, call_learner, plain, report

HAIKU = [{"role": "user", "content": "Write a haiku about debugging."}]
LONG = [{"role": "user", "content": "Explain streaming in detail."}]

# Every stop reason: is an answer that ended with it complete, and what to think about when the learner gets it wrong.
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
COMPLETE = tuple(reason for reason, (complete, _) in EXPECTED.items() if complete)
SHAPE = "return a pair: the whole text (a str) and whether the answer is complete (True or False)"


class _Watched:
    """A client whose HTTP responses are watched: ``open`` says whether the latest response is still being read."""

    def __init__(self, client: anthropic.Anthropic, fault: str | None):
        self.responses: list = []
        hooks = {"response": [self.responses.append]}
        self.client = client.with_options(
            http_client=anthropic.DefaultHttpxClient(event_hooks=hooks),
            max_retries=0,
            default_headers={"x-offline-fault": fault, "x-offline-pace": "instant"} if fault else None,
        )

    @property
    def open(self) -> bool:
        return bool(self.responses) and not self.responses[-1].is_closed


def check(stream_answer: Callable, client: anthropic.Anthropic) -> None:
    """Call ``stream_answer(client, messages, show)`` once per stop reason (the first with ``client``, live or
    offline; the others forced on the local API, which the real API does only on its own) and print PASS or NOT YET."""
    if not callable(stream_answer):
        raise TypeError(
            f"check expects your function stream_answer(client, messages, show), got {type(stream_answer).__name__}"
        )
    if not isinstance(client, anthropic.Anthropic):
        raise TypeError(f"check expects the notebook's anthropic.Anthropic client, got {type(client).__name__}")
    report(*_verdict(stream_answer, client))


def _verdict(stream_answer: Callable, client: anthropic.Anthropic) -> tuple[bool, str, str]:
    local = connect.client(offline=True, quiet=True)
    cases = [("end_turn", client, None, HAIKU)] + [
        (reason, local, f"stop:{reason}@12", LONG) for reason in EXPECTED if reason != "end_turn"
    ]
    for reason, sdk, fault, messages in cases:
        watched = _Watched(sdk, fault)
        shown: list[tuple[object, bool]] = []  # each piece show got, and whether the stream was still open then

        def show(piece, watched=watched, shown=shown):
            shown.append((piece, watched.open))

        try:
            result = plain(call_learner(stream_answer, watched.client, messages, show, name="stream_answer"))
        except LearnerError as err:
            return False, f"on an answer ending with {reason!r}, {err}", _hint_for(err.original)
        if problem := _judge(reason, result, shown):
            return problem
        print(f"  {reason:<30} {len(shown):>3} pieces shown as they arrived · complete={result[1]}")
    return True, "stream_answer shows every piece as it arrives and knows a finished answer by its stop reason", ""


def _judge(reason: str, result, shown: list) -> tuple[bool, str, str] | None:
    """The NOT YET for one answer, or None when ``stream_answer`` handled it right."""
    if not shown:
        return (
            False,
            f"on an answer ending with {reason!r}, show was never called",
            "show is how your user sees the answer: hand it every piece of text the stream yields (section 1)",
        )
    if not shown[0][1]:
        return (
            False,
            f"show got its first piece only after the stream had ended ({len(shown)} calls, all at the end)",
            "your user waits for the whole answer that way: show each piece inside the loop, the moment it arrives",
        )
    if not all(isinstance(piece, str) for piece, _ in shown):
        kind = next(type(p).__name__ for p, _ in shown if not isinstance(p, str))
        return False, f"show got a {kind}, not a piece of text", "stream.text_stream yields the text pieces as str"
    if not (isinstance(result, tuple | list) and len(result) == 2):
        return False, f"stream_answer returned {brief(result)}", SHAPE
    text, complete = result
    joined = "".join(piece for piece, _ in shown)
    if not isinstance(text, str) or text != joined:
        what = f"{len(text)} characters" if isinstance(text, str) else brief(text, 40)
        return (
            False,
            f"on an answer ending with {reason!r}, the text returned ({what}) is not what show got ({len(joined)})",
            "return the whole text: every piece, joined, or the text of the final message",
        )
    if not isinstance(complete, bool):
        return False, f"complete is {brief(complete, 40)} for stop_reason {reason!r}, not True or False", SHAPE
    expected, hint = EXPECTED[reason]
    if complete != expected:
        return (
            False,
            f"stream_answer said an answer with stop_reason {reason!r} was {'' if complete else 'not '}complete",
            hint + " (section 3's table)",
        )
    return None


def _hint_for(exc: BaseException) -> str:
    if isinstance(exc, NameError):
        return "use what the function gets (client, messages, show) and the notebook's MODEL"
    if isinstance(exc, AttributeError):
        return "the stream's text pieces are in stream.text_stream; the final Message has .content and .stop_reason"
    return "the stream is yours: open it with a with block, loop over its text, and read its final message"
