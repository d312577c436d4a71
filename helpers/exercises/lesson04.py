"""Checker for 04_errors' "Try it": an ``except`` clause that catches every way a stream fails, and nothing else.

It makes each failure happen through the local API (in live mode too: faults are only available there).
"""

from __future__ import annotations

import anthropic
import pydantic

from helpers import connect
from helpers.demo_tool import WEATHER_TOOL
from helpers.models import DEFAULT_MODEL
from helpers.net import free_port

from . import report

HAIKU = [{"role": "user", "content": "Write a haiku about debugging."}]
WEATHER = [{"role": "user", "content": "What's the weather in Paris?"}]


class Haiku(pydantic.BaseModel):
    """The structured output the "output cut short" failure asks for (and cannot get in 8 tokens)."""

    title: str
    lines: list[str]


def _faulty(fault: str, messages: list = HAIKU, **options) -> dict:
    return {"messages": messages, "extra_headers": {"x-offline-fault": fault}, **options}


NO_SERVER = "no server at all"  # a port where nothing listens: the SDK raises APIConnectionError
FAILURES = {  # what goes wrong -> the request that makes the local API (or the SDK) fail that way
    NO_SERVER: _faulty(""),
    "HTTP 529 overloaded": _faulty("http:529"),
    "HTTP 429 rate limited": _faulty("http:429"),
    "error event inside a 200": _faulty("error@6"),
    "dropped connection": _faulty("drop@6"),
    "stall past the read timeout": _faulty("stall@6:2"),
    "malformed line": _faulty("garbage@6"),
    "broken tool input JSON": _faulty("badjson@6", WEATHER, tools=[WEATHER_TOOL]),
    "structured output cut short": _faulty("", output_format=Haiku, max_tokens=8),
}
BUGS = (KeyError, TypeError)  # mistakes in your own code: an except clause for the API must let them through


def _not_classes(catch) -> tuple[bool, str, str] | None:
    """The NOT YET for a CATCH that ``except`` cannot use (Python raises TypeError there), else None."""
    classes = catch if isinstance(catch, tuple) else (catch,)
    if names := [c for c in classes if isinstance(c, str)]:
        return False, f"CATCH holds a string, {names[0]!r}", "name the class itself, as the lesson's except clauses do"
    if not classes:
        return False, "CATCH is an empty tuple: it catches nothing", "put the exception classes in it"
    if not all(isinstance(c, type) and issubclass(c, BaseException) for c in classes):
        return (
            False,
            f"CATCH is {catch!r:.60}: except takes an exception class or a tuple of exception classes",
            "put the classes in a tuple, in parentheses",
        )
    return None


def _failure(client: anthropic.Anthropic, request: dict) -> Exception:
    """Stream ``request`` (at instant pace) and return what it raised."""
    request = {"model": DEFAULT_MODEL, "max_tokens": 200, **request}
    request["extra_headers"] = {**request["extra_headers"], "x-offline-pace": "instant"}
    try:
        with client.messages.stream(**request) as stream:
            stream.until_done()
    except Exception as err:  # every failure is wanted here: the checker sorts them
        return err
    raise RuntimeError(f"the local API did not fail for {request['extra_headers']!r}")


def check(catch) -> None:
    """Trigger each failure in :data:`FAILURES`, say which ``except catch:`` misses, and print PASS or NOT YET."""
    report(*(_not_classes(catch) or _verdict(catch if isinstance(catch, tuple) else (catch,))))


def _nowhere(timeout: anthropic.Timeout) -> anthropic.Anthropic:
    """A client aimed at a loopback port where nothing listens (the lesson's section 3)."""
    return anthropic.Anthropic(
        base_url=f"http://127.0.0.1:{free_port()}", api_key="unused", max_retries=0, timeout=timeout
    )


def _verdict(classes: tuple[type, ...]) -> tuple[bool, str, str]:
    timeout = anthropic.Timeout(5, read=0.5)
    client = connect.client(offline=True, quiet=True, max_retries=0, timeout=timeout)
    missed = []
    for what, request in FAILURES.items():
        err = _failure(_nowhere(timeout) if what == NO_SERVER else client, request)
        caught = isinstance(err, classes)
        print(f"  {'caught' if caught else 'MISSED'}  {what:<28} {type(err).__name__}")
        if not caught:
            missed.append(err)
    if any(not isinstance(err, anthropic.APIError | ValueError) for err in missed):
        return (
            False,
            "a dropped or stalled stream escapes your except clause",
            "those are not anthropic errors: section 6 prints the classes a drop belongs to; which one covers a "
            "stall too?",
        )
    if any(isinstance(err, anthropic.APIConnectionError) for err in missed):
        return (
            False,
            "with no server to answer, the SDK's APIConnectionError escapes your except clause",
            "APIConnectionError is no APIStatusError: the API never answered. Section 2 prints the family both "
            "belong to",
        )
    if any(isinstance(err, anthropic.APIError) for err in missed):
        return (
            False,
            "an error the API reported escapes your except clause",
            "section 2 prints the family of the API's errors: catch a class high enough to cover the error event "
            "inside a 200 and the connection error too",
        )
    if missed:
        names = sorted({type(err).__name__ for err in missed})
        return (
            False,
            f"data the SDK cannot parse escapes your except clause ({', '.join(names)})",
            "section 8 prints what these three failures have in common: catch that class",
        )
    if broad := [c.__name__ for c in classes if any(issubclass(bug, c) for bug in BUGS)]:
        return (
            False,
            f"{', '.join(broad)} also catches KeyError and TypeError, bugs in your own code",
            "name the API's, the network's and the parser's exceptions instead of a catch-all",
        )
    return True, "your except clause catches every stream failure, and lets your own bugs through", ""
