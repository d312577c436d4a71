"""Checker for 06_thinking's "Try it": the learner writes ``think_and_answer(client, messages)``, which streams an
answer with thinking on, keeps the thinking and the answer's text apart, and returns ``(thinking, answer)``, even
when the connection drops mid-thinking (then with the thinking that arrived and no answer).

The answers come from the local API (in live mode too, so they are known in advance): a thought-out answer, one
whose thinking was redacted (nothing readable to keep), and one whose connection drops in the middle of the thinking.
"""

from __future__ import annotations

from collections.abc import Callable

import anthropic
from anthropic.types import MessageParam

from helpers import connect
from helpers.models import DEFAULT_MODEL as MODEL
from helpers.models import THINKING

from . import LearnerError, brief, call_learner, plain, report

QUESTION = "What is 2748 * 4539?"
REDACTED = (  # the API's documented test string that makes it send a redacted_thinking block
    "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"
)
SHAPE = "think_and_answer returns a pair of strings: the thinking, and the answer"
DROP = "a connection dropped mid-thinking"
CASES = {  # what the checker tries -> (question, x-offline-fault)
    "a thought-out answer": (QUESTION, ""),
    "redacted thinking": (f"{REDACTED} {QUESTION}", ""),
    DROP: (QUESTION, "drop@12"),  # after ten thinking deltas
}


def _client(fault: str) -> anthropic.Anthropic:
    headers = {"x-offline-pace": "instant", "x-offline-fault": fault}
    return connect.client(offline=True, quiet=True).with_options(
        max_retries=0, timeout=anthropic.Timeout(10, read=5), default_headers=headers
    )


def _expected(question: str) -> tuple[str, str]:
    """The whole thinking and answer for ``question``, from the SDK's final message."""
    messages: list[MessageParam] = [{"role": "user", "content": question}]
    with _client("").messages.stream(model=MODEL, max_tokens=2048, thinking=THINKING, messages=messages) as stream:
        blocks = stream.get_final_message().content
    thinking = "".join(b.thinking for b in blocks if b.type == "thinking")
    return thinking, "".join(b.text for b in blocks if b.type == "text")


def check(think_and_answer: Callable) -> None:
    """Run ``think_and_answer`` on each case of :data:`CASES` and print PASS or NOT YET."""
    if not callable(think_and_answer):
        raise TypeError(
            f"check expects your function think_and_answer(client, messages), got {type(think_and_answer).__name__}"
        )
    report(*_verdict(think_and_answer))


def _verdict(think_and_answer: Callable) -> tuple[bool, str, str]:
    for what, (question, fault) in CASES.items():
        thinking, answer = _expected(question)
        try:
            result = plain(call_learner(think_and_answer, _client(fault), [{"role": "user", "content": question}]))
        except LearnerError as err:
            return False, f"{what}: {err}", _hint_raised(what, err.original)
        if not (isinstance(result, tuple | list) and len(result) == 2 and all(isinstance(r, str) for r in result)):
            return False, f"{what}: think_and_answer returned {brief(result)}", SHAPE
        got_thinking, got_answer = result
        if what == DROP and got_thinking and thinking.startswith(got_thinking):
            thinking, answer = got_thinking, ""  # where the drop falls depends on your model's pieces: any start
        if got_thinking != thinking:
            return (
                False,
                f"{what}: the thinking returned is {brief(got_thinking, 50)}",
                _hint_thinking(what, got_thinking),
            )
        if got_answer != answer:
            return False, f"{what}: the answer returned is {brief(got_answer, 50)}", _hint_answer(what, got_answer)
        print(f"  {what:<34} thinking: {len(got_thinking)} characters · answer: {len(got_answer)} characters")
    return True, "think_and_answer keeps thinking and answer apart, and keeps the thinking a drop left", ""


def _hint_thinking(what: str, got: str) -> str:
    if what == DROP and not got:
        return "the reasoning that arrived before the drop is worth keeping: return what you had"
    if not got:
        return "is thinking on in your request, with its summary shown, and do you keep its deltas as they arrive?"
    if what == "redacted thinking":
        return "a redacted block has nothing readable: it adds nothing to the thinking"
    return "keep every piece of the thinking block, in order, and nothing of the answer's"


def _hint_answer(what: str, got: str) -> str:
    if what == DROP:
        return "the connection dropped before the answer began: what arrived of it?"
    if not got:
        return "the answer streams after the thinking, in a block of its own: keep its pieces too"
    return "keep the answer's pieces apart from the thinking's: which field of the delta says what it carries?"


def _hint_raised(what: str, exc: BaseException) -> str:
    if isinstance(exc, NameError):  # first: an except clause naming httpx2 fails only when the drop raises
        return "a name in your code is not defined in this notebook yet: import what you use (lesson 04 did)"
    if what == DROP:
        return "a drop ends the stream by raising: lesson 04 says which errors to catch, and what to keep"
    if isinstance(exc, AttributeError):
        return "not every thinking block has readable text: read the thinking from the deltas as they stream"
    return "read the line named above"
