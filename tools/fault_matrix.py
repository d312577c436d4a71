"""The fault matrix: every fault the local API injects, against every way the course consumes a stream.

Each cell streams a long answer through one caller while the local API injects one fault, then checks what a learner
expects: the right exception (or SSE ``error`` event), the text that arrived before the fault kept, no wait past the
configured read timeout, and the next request on the same client / widget kernel / relay server answered in full.
``tests/test_fault_matrix.py`` runs the same cells as tests; this script prints them as a markdown table:

    python tools/fault_matrix.py
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import anthropic
import httpx2

MODEL = "claude-sonnet-4-6"
PROMPT = "Explain streaming in detail"  # the local API's ~400-word answer: the fault lands mid-text
NEXT_PROMPT = "Write a haiku about debugging."  # the request that must work after the fault
READ_TIMEOUT = 0.3  # seconds; a stall lasts STALL_SECONDS, so only a timeout ends it in time
STALL_SECONDS = 2.0
AT = 12  # events before a mid-stream fault: message_start, content_block_start, then ten text deltas


@dataclass(frozen=True)
class Expect:
    """What a learner should see for one fault."""

    exception: type[BaseException]  # what the SDK raises (the caller's ``except`` clause)
    error_type: str  # the SDK error's ``.type``, or the relay's ``error`` event type
    status: int | None = None  # ``.status_code`` of an APIStatusError
    midstream: bool = False  # text arrived before the fault, and must be kept


FAULTS: dict[str, Expect] = {
    "http:429": Expect(anthropic.RateLimitError, "rate_limit_error", 429),
    "http:529": Expect(anthropic.OverloadedError, "overloaded_error", 529),
    "http:500": Expect(anthropic.InternalServerError, "api_error", 500),
    "http:401": Expect(anthropic.AuthenticationError, "authentication_error", 401),
    "http:403": Expect(anthropic.PermissionDeniedError, "permission_error", 403),
    "http:404": Expect(anthropic.NotFoundError, "not_found_error", 404),
    "http:413": Expect(anthropic.ContentTooLargeError, "request_too_large", 413),
    f"error@{AT}": Expect(anthropic.APIStatusError, "overloaded_error", 200, midstream=True),
    f"drop@{AT}": Expect(httpx2.RemoteProtocolError, "api_connection_error", midstream=True),
    f"stall@{AT}:{STALL_SECONDS:g}": Expect(httpx2.ReadTimeout, "timeout_error", midstream=True),
    f"garbage@{AT}": Expect(json.JSONDecodeError, "stream_error", midstream=True),
}


@dataclass
class Outcome:
    """What one caller saw: the error (an exception, or the relay's error event), the text kept, the next answer."""

    error: BaseException | dict | None
    kept: str
    seconds: float
    next_text: str
    extra: list[str]  # problems only this caller can see (a widget's banner, the relay's event order)


def _timeout() -> httpx2.Timeout:
    return httpx2.Timeout(10.0, read=READ_TIMEOUT)


def _request(prompt: str, fault: str | None = None) -> dict:
    request = {"model": MODEL, "max_tokens": 1024, "messages": [{"role": "user", "content": prompt}]}
    if fault:
        request["extra_headers"] = {"x-offline-fault": fault}
    return request


# ---------------------------------------------------------------------------------------------------------------------
# The callers


def sync_text_stream(api_url: str, fault: str) -> Outcome:
    """``for text in stream.text_stream`` on ``anthropic.Anthropic``; the fault comes in a request header."""
    client = anthropic.Anthropic(base_url=api_url, api_key="matrix-key", max_retries=0, timeout=_timeout())
    parts: list[str] = []
    error = None
    started = time.monotonic()
    try:
        with client.messages.stream(**_request(PROMPT, fault)) as stream:
            for text in stream.text_stream:
                parts.append(text)
    except Exception as exc:  # the cell checks it is the expected one
        error = exc
    seconds = time.monotonic() - started
    with client.messages.stream(**_request(NEXT_PROMPT)) as stream:
        next_text = stream.get_final_text()
    return Outcome(error, "".join(parts), seconds, next_text, [])


def async_stream(api_url: str, fault: str) -> Outcome:
    """``async for text in stream.text_stream`` on ``anthropic.AsyncAnthropic``, both requests in one event loop."""

    async def run() -> Outcome:
        client = anthropic.AsyncAnthropic(base_url=api_url, api_key="matrix-key", max_retries=0, timeout=_timeout())
        parts: list[str] = []
        error = None
        started = time.monotonic()
        try:
            async with client.messages.stream(**_request(PROMPT, fault)) as stream:
                async for text in stream.text_stream:
                    parts.append(text)
        except Exception as exc:  # the cell checks it is the expected one
            error = exc
        seconds = time.monotonic() - started
        async with client.messages.stream(**_request(NEXT_PROMPT)) as stream:
            next_text = await stream.get_final_text()
        await client.close()
        return Outcome(error, "".join(parts), seconds, next_text, [])

    return asyncio.run(run())


def widget_text_view(api_url: str, fault: str) -> Outcome:
    """``TextView().watch(stream)``: the view keeps the partial text and shows a banner; the error still reaches you."""
    from helpers.widgets import TextView

    client = anthropic.Anthropic(base_url=api_url, api_key="matrix-key", max_retries=0, timeout=_timeout())
    view = TextView()
    error = None
    started = time.monotonic()
    try:
        with client.messages.stream(**_request(PROMPT, fault)) as stream:
            view.watch(stream)
    except Exception as exc:  # the cell checks it is the expected one
        error = exc
    seconds = time.monotonic() - started
    extra = []
    if error is not None and not _banner(view):
        extra.append("the widget shows no error banner")
    after = TextView()
    with client.messages.stream(**_request(NEXT_PROMPT)) as stream:
        after.watch(stream)
    if _banner(after):
        extra.append(f"a clean stream shows a banner: {_banner(after)!r}")
    return Outcome(error, view.text, seconds, after.text, extra)


def _banner(view) -> str:
    """The error banner a view shows (its synced ``error`` trait), empty when none."""
    return str(getattr(view, "error", "") or "")


def web_relay(api_url: str, fault: str) -> Outcome:
    """``POST /chat`` on the relay, whose upstream local API injects the fault; then the fault clears."""
    from helpers.offline import start
    from helpers.web import parse
    from helpers.web import start as start_relay

    with start(pace="instant", fault=fault) as api:

        def upstream() -> anthropic.AsyncAnthropic:
            return anthropic.AsyncAnthropic(base_url=api.url, api_key="matrix-key", max_retries=0, timeout=_timeout())

        with start_relay(client_factory=upstream) as relay, httpx2.Client(base_url=relay.url, timeout=30) as http:
            started = time.monotonic()
            events = parse(http.post("/chat", json={"messages": [{"role": "user", "content": PROMPT}]}).content)
            seconds = time.monotonic() - started
            api.app.config = replace(api.app.config, faults="")  # the upstream recovers; the relay must too
            after = parse(http.post("/chat", json={"messages": [{"role": "user", "content": NEXT_PROMPT}]}).content)
    names = [e.event for e in events]
    errors = [json.loads(e.data) for e in events if e.event == "error"]
    extra = []
    if names[-2:] != ["error", "done"]:
        extra.append(f"expected …, error, done; got events {names[-3:]}")
    if [e.event for e in after][-2:] != ["stop", "done"]:
        extra.append(f"the next request did not end in stop, done: {[e.event for e in after][-3:]}")
    kept = "".join(json.loads(e.data)["text"] for e in events if e.event == "text")
    next_text = "".join(json.loads(e.data)["text"] for e in after if e.event == "text")
    return Outcome(errors[0] if errors else None, kept, seconds, next_text, extra)


CALLERS: dict[str, Callable[[str, str], Outcome]] = {
    "sync text_stream": sync_text_stream,
    "async stream": async_stream,
    "widget (TextView.watch)": widget_text_view,
    "web relay (SSE)": web_relay,
}


# ---------------------------------------------------------------------------------------------------------------------
# Judging one cell


def problems(caller: str, fault: str, outcome: Outcome) -> list[str]:
    """Everything a learner would find wrong in this outcome; empty when the cell passes."""
    from helpers.offline.replies import HAIKUS, LONG_ANSWER
    from helpers.web.app import ERROR_MESSAGES

    expect = FAULTS[fault]
    found = list(outcome.extra)
    error = outcome.error
    if isinstance(error, dict):  # the relay's error event: a type and a message meant for the browser's user
        if error.get("type") != expect.error_type:
            found.append(f"error event type {error.get('type')!r}, expected {expect.error_type!r}")
        if error.get("message") not in ERROR_MESSAGES.values():
            found.append(f"error event message is not one of the relay's user-safe messages: {error.get('message')!r}")
    elif not isinstance(error, expect.exception):
        found.append(f"raised {type(error).__name__}: {error!r}, expected {expect.exception.__name__}")
    elif expect.status is not None:
        if getattr(error, "status_code", None) != expect.status or getattr(error, "type", None) != expect.error_type:
            found.append(
                f"status {error.status_code} type {error.type!r}, expected {expect.status} {expect.error_type!r}"
            )
    if expect.midstream:
        if not (outcome.kept and LONG_ANSWER.startswith(outcome.kept) and outcome.kept != LONG_ANSWER):
            found.append(f"partial text not kept: {outcome.kept[:60]!r}")
    elif outcome.kept:
        found.append(f"text arrived although the request failed up front: {outcome.kept[:60]!r}")
    if outcome.seconds >= STALL_SECONDS:
        found.append(f"took {outcome.seconds:.2f} s: the {READ_TIMEOUT} s read timeout did not end it")
    if outcome.next_text != HAIKUS["debug"]:
        found.append(f"the next request did not get its full answer: {outcome.next_text[:60]!r}")
    return found


def check(caller: str, fault: str, api_url: str) -> list[str]:
    """Run one cell against the local API at ``api_url``; the problems found, or [] when it passes."""
    return problems(caller, fault, CALLERS[caller](api_url, fault))


def table(results: dict[tuple[str, str], list[str]]) -> str:
    """The matrix as markdown, then a ``passed/total`` line and the problems of any failed cell."""
    lines = ["| fault | " + " | ".join(CALLERS) + " |", "|---|" + "---|" * len(CALLERS)]
    for fault in FAULTS:
        marks = ("✓" if not results[caller, fault] else "✗" for caller in CALLERS)
        lines.append(f"| `{fault}` | " + " | ".join(marks) + " |")
    passed = sum(not found for found in results.values())
    lines += ["", f"**{passed}/{len(results)} passed**"]
    lines += [f"- ✗ {caller} × `{fault}`: {'; '.join(found)}" for (caller, fault), found in results.items() if found]
    return "\n".join(lines)


def main() -> int:
    from helpers.offline import start

    results = {}
    with start(pace="instant") as api:
        for fault in FAULTS:
            for caller in CALLERS:
                try:
                    results[caller, fault] = check(caller, fault, api.url)
                except Exception as exc:  # a caller that crashes is a failed cell, not a crashed table
                    results[caller, fault] = [f"crashed: {exc!r}"]
    print(table(results))
    return 0 if not any(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
