"""Checker for 04_errors' "Try it": the learner writes ``safe_stream(client, messages, show)``, which streams an
answer into ``show``, survives every way a stream fails, keeps what arrived, and lets the learner's own bugs through.
It returns ``(text, error)``: the text that arrived, and None when no exception ended the stream, else the exception
(a refusal or a ``max_tokens`` cut raises nothing: its stop reason says it).

Each failure is made to happen by the local API (in live mode too: faults are only available there), through a
client the checker hands to ``safe_stream``; one more has no server at all behind it.
"""

from __future__ import annotations

from collections.abc import Callable

import anthropic

from helpers import connect
from helpers.net import free_port

from . import LEARNER_ERRORS, LearnerError, brief, items_of, plain, report

HAIKU = [{"role": "user", "content": "Write a haiku about debugging."}]
TIMEOUT = anthropic.Timeout(5, read=0.5)  # the lesson's read timeout: a 2 s stall raises ReadTimeout
NO_SERVER = "no server at all"
FAILURES = {  # what goes wrong -> the x-offline-fault that makes the local API fail that way
    "a clean stream": "",
    NO_SERVER: "",
    "HTTP 529 overloaded": "http:529",
    "HTTP 429 rate limited": "http:429",
    "error event inside a 200": "error@8",
    "dropped connection": "drop@8",
    "stall past the read timeout": "stall@8:2",
    "malformed line": "garbage@8",
}
SHAPE = "safe_stream returns a pair: the text that arrived, and None or the exception that ended the stream"


class Bug(KeyError):
    """What ``show`` raises in the last round: a bug in the learner's own code, which must not be swallowed."""


def _client(what: str) -> anthropic.Anthropic:
    if what == NO_SERVER:
        url = f"http://127.0.0.1:{free_port()}"
        return anthropic.Anthropic(base_url=url, api_key="unused", max_retries=0, timeout=TIMEOUT)
    headers = {"x-offline-fault": FAILURES[what], "x-offline-pace": "instant"}
    return connect.client(offline=True, quiet=True).with_options(
        max_retries=0, timeout=TIMEOUT, default_headers=headers
    )


def check(safe_stream: Callable) -> None:
    """Run ``safe_stream`` through each failure in :data:`FAILURES`, then with a ``show`` that has a bug, and print
    PASS or NOT YET."""
    if not callable(safe_stream):
        raise TypeError(
            f"check expects your function safe_stream(client, messages, show), got {type(safe_stream).__name__}"
        )
    report(*_verdict(safe_stream))


def _verdict(safe_stream: Callable) -> tuple[bool, str, str]:
    filename = getattr(getattr(safe_stream, "__code__", None), "co_filename", None)
    for what in FAILURES:
        shown: list = []
        try:
            result = safe_stream(_client(what), HAIKU, shown.append)
        except LEARNER_ERRORS as exc:  # what escaped the learner's function is the finding
            print(f"  ESCAPED  {what:<28} {type(exc).__name__}")
            return _escaped(what, exc, filename)
        if problem := _judge(what, result, shown):
            return problem
        kept, error = sum(len(p) for p in shown if isinstance(p, str)), (items_of(result) or [None, None])[1]
        ended = "no error" if error is None else f"error: {type(error).__name__}"
        print(f"  handled  {what:<28} kept {kept} characters · {ended}")

    def buggy_show(piece):
        raise Bug("'colour'")  # as if show read a key its dict does not have

    try:
        safe_stream(_client("a clean stream"), HAIKU, buggy_show)
    except Bug:
        return True, "safe_stream survives every stream failure, keeps what arrived, and lets your own bugs through", ""
    except LEARNER_ERRORS as exc:  # the bug came out as something else
        return (
            False,
            f"a bug in show came out of safe_stream as {type(exc).__name__}",
            "let your own bugs through as they are",
        )
    return (
        False,
        "a KeyError raised by show (a bug in your own code) was swallowed by safe_stream",
        "catch the API's, the network's and the parser's exceptions, not a catch-all",
    )


def _escaped(what: str, exc: BaseException, filename: str | None) -> tuple[bool, str, str]:
    err = LearnerError("safe_stream", exc, filename)
    if isinstance(exc, anthropic.APIConnectionError):
        hint = "APIConnectionError is no APIStatusError: the API never answered. Section 2 prints the family of both"
    elif isinstance(exc, anthropic.APIError):
        hint = "section 2 prints the family of the API's errors: catch a class high enough to cover them all"
    elif isinstance(exc, ValueError):
        hint = "section 8 shows what data the SDK cannot parse has in common"
    elif not isinstance(exc, anthropic.AnthropicError) and type(exc).__module__.startswith("httpx"):
        hint = "a drop or a stall is not an anthropic error: section 6 prints the classes it belongs to"
    else:
        hint = "read the exception's name above: which section makes it happen?"
    return False, f"{what}: {err}", hint


def _judge(what: str, result, shown: list) -> tuple[bool, str, str] | None:
    items = items_of(result)
    if items is None or len(items) != 2:
        return False, f"{what}: safe_stream returned {brief(result)}", SHAPE
    text, error = plain(items[0]), items[1]  # the error as it is: an exception, judged by its class
    kept = "".join(p for p in shown if isinstance(p, str))
    if text != kept:
        return (
            False,
            f"{what}: the text returned ({len(text) if isinstance(text, str) else brief(text)}) is not what show got "
            f"({len(kept)} characters)",
            "keep every piece you show, and return what you kept, even when the stream fails",
        )
    if what == "a clean stream":
        if not kept:
            return False, "a clean stream: show got no text", "stream the answer and hand show each piece (lesson 01)"
        if error is not None:
            return (
                False,
                f"a clean stream: safe_stream returned error={brief(error, 40)}",
                "error is None when no exception ended the stream",
            )
        return None
    if not issubclass(type(error), BaseException):  # its class, not what its __class__ says
        return (
            False,
            f"{what}: safe_stream returned error={brief(error, 40)}",
            "return the exception you caught, so the caller can tell a failure from a finished answer",
        )
    return None
