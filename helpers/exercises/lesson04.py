"""Checker for 04_errors' "Try it": an ``except`` clause that catches every way a stream fails, and nothing else.

It makes each failure happen through the local API (in live mode too: faults are only available there).
"""

from __future__ import annotations

import json

import anthropic

from helpers import connect

from . import report

MODEL = "claude-sonnet-4-6"
PROMPT = [{"role": "user", "content": "Write a haiku about debugging."}]
FAILURES = {  # what goes wrong -> the local API's fault spec
    "HTTP 529 overloaded": "http:529",
    "HTTP 429 rate limited": "http:429",
    "error event inside a 200": "error@6",
    "dropped connection": "drop@6",
    "stall past the read timeout": "stall@6:2",
    "malformed line": "garbage@6",
}
BUGS = (KeyError, TypeError)  # mistakes in your own code: an except clause for the API must let them through


def _classes(catch) -> tuple[type, ...]:
    classes = catch if isinstance(catch, tuple) else (catch,)
    if not classes or not all(isinstance(c, type) and issubclass(c, BaseException) for c in classes):
        raise TypeError(f"CATCH must be an exception class or a tuple of exception classes, got {catch!r}")
    return classes


def _failure(client: anthropic.Anthropic, fault: str) -> Exception:
    """Stream the haiku with ``fault`` injected and return what it raised."""
    headers = {"x-offline-fault": fault, "x-offline-pace": "instant"}
    try:
        with client.messages.stream(model=MODEL, max_tokens=200, messages=PROMPT, extra_headers=headers) as stream:
            for _ in stream.text_stream:
                pass
    except Exception as err:  # every failure is wanted here: the checker sorts them
        return err
    raise RuntimeError(f"the local API did not fail with fault {fault!r}")


def check(catch) -> None:
    """Trigger each failure in :data:`FAILURES`, say which ``except catch:`` misses, and print PASS or NOT YET."""
    report(*_verdict(_classes(catch)))


def _verdict(classes: tuple[type, ...]) -> tuple[bool, str, str]:
    client = connect.client(offline=True, quiet=True, max_retries=0, timeout=anthropic.Timeout(5, read=0.5))
    missed = []
    json_missed = False
    for what, fault in FAILURES.items():
        err = _failure(client, fault)
        caught = isinstance(err, classes)
        print(f"  {'caught' if caught else 'MISSED'}  {what:<28} {type(err).__name__}")
        if isinstance(err, json.JSONDecodeError):
            json_missed = not caught  # a ValueError: hinted at below, not required by the verdict
        elif not caught:
            missed.append(err)
    if any(not isinstance(err, anthropic.APIError) for err in missed):
        return (
            False,
            "a dropped or stalled stream escapes your except clause",
            "those raise httpx2 errors, not anthropic ones: add httpx2.TransportError to the tuple",
        )
    if missed:
        return (
            False,
            "an error the API reported escapes your except clause",
            "anthropic.APIStatusError covers every error the API reports (inside a 200 too); "
            "anthropic.APIError covers those and APIConnectionError",
        )
    if broad := [c.__name__ for c in classes if any(issubclass(bug, c) for bug in BUGS)]:
        return (
            False,
            f"{', '.join(broad)} also catches KeyError and TypeError, bugs in your own code",
            "name the API's and the network's exceptions instead of a catch-all",
        )
    if json_missed:
        return (
            True,
            "your except clause catches every API and network failure, and lets your own bugs through; "
            "add json.JSONDecodeError too, or a malformed line still escapes",
            "",
        )
    return True, "your except clause catches every stream failure, and lets your own bugs through", ""
