"""The fault matrix: every fault the local API injects, against every way the course consumes a stream.

Each cell streams a long answer through one caller while the local API injects one fault, then checks what a learner
expects: the right exception (or SSE ``error`` event), the text that arrived before the fault kept, no wait past the
configured read timeout, and the next request on the same client / widget kernel / relay server answered in full.
A ``stop:REASON@N`` row is no failure: the answer ends early with that stop reason, and every caller must report it
(the final Message, the widget's footer, the relay's ``stop`` event) with the partial text kept.
``tests/test_fault_matrix.py`` runs the same cells as tests; this script prints them as a markdown table:

    python tools/fault_matrix.py
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, replace

import anthropic
import httpx2
from anthropic.types import StopReason

MODEL = "claude-sonnet-4-6"
PROMPT = "Explain streaming in detail"  # the local API's ~400-word answer: the fault lands mid-text
NEXT_PROMPT = "Write a haiku about debugging."  # the request that must work after the fault
READ_TIMEOUT = 0.3  # seconds, on the stall rows: a stall lasts STALL_SECONDS, so only a timeout ends it in time
CALM_READ_TIMEOUT = 10.0  # seconds, on every other row: a busy machine may pause a stream, which is not their fault
STALL_SECONDS = 2.0
AT = 12  # events before a mid-stream fault: message_start, content_block_start, then ten text deltas


@dataclass(frozen=True)
class Expect:
    """What a learner should see for one fault."""

    exception: type[BaseException] | None  # what the SDK raises (the caller's ``except`` clause); None: nothing
    error_type: str  # the SDK error's ``.type``, or the relay's ``error`` event type
    status: int | None = None  # ``.status_code`` of an APIStatusError
    midstream: bool = False  # text arrived before the fault, and must be kept
    stop_reason: str | None = None  # the stop reason every caller must report (the stop: rows)


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
    **{
        f"stop:{reason}@{AT}": Expect(None, "", midstream=True, stop_reason=reason)
        for reason in typing.get_args(StopReason)
    },
}


@dataclass
class Outcome:
    """What one caller saw: the error (an exception, or the relay's error event), the text kept, the next answer."""

    error: BaseException | dict | None
    kept: str
    seconds: float
    next_text: str
    extra: list[str]  # problems only this caller can see (a widget's banner, the relay's event order)
    stop_reason: str | None = None  # what the caller reports when the stream ended without an error


def _timeout(fault: str) -> httpx2.Timeout:
    return httpx2.Timeout(10.0, read=READ_TIMEOUT if fault.startswith("stall") else CALM_READ_TIMEOUT)


def _request(prompt: str, fault: str | None = None) -> dict:
    request = {"model": MODEL, "max_tokens": 1024, "messages": [{"role": "user", "content": prompt}]}
    if fault:
        request["extra_headers"] = {"x-offline-fault": fault}
    return request


# ---------------------------------------------------------------------------------------------------------------------
# The callers


def sync_text_stream(api_url: str, fault: str) -> Outcome:
    """``for text in stream.text_stream`` on ``anthropic.Anthropic``; the fault comes in a request header."""
    client = anthropic.Anthropic(base_url=api_url, api_key="matrix-key", max_retries=0, timeout=_timeout(fault))
    parts: list[str] = []
    error = None
    started = time.monotonic()
    stop_reason = None
    try:
        with client.messages.stream(**_request(PROMPT, fault)) as stream:
            for text in stream.text_stream:
                parts.append(text)
            stop_reason = stream.get_final_message().stop_reason
    except Exception as exc:  # the cell checks it is the expected one
        error = exc
    seconds = time.monotonic() - started
    with client.messages.stream(**_request(NEXT_PROMPT)) as stream:
        next_text = stream.get_final_text()
    return Outcome(error, "".join(parts), seconds, next_text, [], stop_reason)


def async_stream(api_url: str, fault: str) -> Outcome:
    """``async for text in stream.text_stream`` on ``anthropic.AsyncAnthropic``, both requests in one event loop."""

    async def run() -> Outcome:
        client = anthropic.AsyncAnthropic(
            base_url=api_url, api_key="matrix-key", max_retries=0, timeout=_timeout(fault)
        )
        parts: list[str] = []
        error = stop_reason = None
        started = time.monotonic()
        try:
            async with client.messages.stream(**_request(PROMPT, fault)) as stream:
                async for text in stream.text_stream:
                    parts.append(text)
                stop_reason = (await stream.get_final_message()).stop_reason
        except Exception as exc:  # the cell checks it is the expected one
            error = exc
        seconds = time.monotonic() - started
        async with client.messages.stream(**_request(NEXT_PROMPT)) as stream:
            next_text = await stream.get_final_text()
        await client.close()
        return Outcome(error, "".join(parts), seconds, next_text, [], stop_reason)

    return asyncio.run(run())


def widget_text_view(api_url: str, fault: str) -> Outcome:
    """``TextView().watch(...)``, then ``await TextView().awatch(...)``: each view keeps the partial text and shows a
    banner in its synced state, the error still reaches you, and the next view on the same client works."""
    from helpers.widgets import TextView

    sync = anthropic.Anthropic(base_url=api_url, api_key="matrix-key", max_retries=0, timeout=_timeout(fault))
    views, errors = [TextView(display=False), TextView(display=False)], [None, None]
    started = time.monotonic()
    try:  # given the manager, the view opens the stream itself, so it sees an HTTP error before the first event too
        views[0].watch(sync.messages.stream(**_request(PROMPT, fault)))
    except Exception as exc:  # the cell checks it is the expected one
        errors[0] = exc
    after = [TextView(display=False), TextView(display=False)]
    with sync.messages.stream(**_request(NEXT_PROMPT)) as stream:
        after[0].watch(stream)

    async def run() -> None:
        client = anthropic.AsyncAnthropic(
            base_url=api_url, api_key="matrix-key", max_retries=0, timeout=_timeout(fault)
        )
        try:
            await views[1].awatch(client.messages.stream(**_request(PROMPT, fault)))
        except Exception as exc:  # the cell checks it is the expected one
            errors[1] = exc
        async with client.messages.stream(**_request(NEXT_PROMPT)) as stream:
            await after[1].awatch(stream)
        await client.close()

    asyncio.run(run())
    seconds = (time.monotonic() - started) / 2  # two streams, each within the bound
    extra = []
    for how, view, error, next_view in zip(("watch", "awatch"), views, errors, after, strict=True):
        shown = _shown_text(view)
        if type(error) is not type(errors[0]):
            extra.append(f"{how} raised {type(error).__name__}, watch raised {type(errors[0]).__name__}")
        if shown != view.text:
            extra.append(f"{how}: the synced state holds {shown[:40]!r}, the view {view.text[:40]!r}")
        if error is not None and (view.status != "error" or type(error).__name__ not in view.error):
            extra.append(
                f"{how}: no error banner naming {type(error).__name__} (status {view.status!r}, {view.error!r})"
            )
        if next_view.status != "done" or next_view.error or _shown_text(next_view) != next_view.text:
            extra.append(f"{how}: the next view did not end cleanly (status {next_view.status!r}, {next_view.error!r})")
    if _shown_text(after[0]) != _shown_text(after[1]):
        extra.append("watch and awatch showed different answers to the next request")
    reasons = [view.footer.get("stop_reason") for view in views]
    if reasons[0] != reasons[1]:
        extra.append(f"watch's footer says stop_reason {reasons[0]!r}, awatch's {reasons[1]!r}")
    return Outcome(errors[0], _shown_text(views[0]), seconds, _shown_text(after[0]), extra, reasons[0])


def _shown_text(view) -> str:
    """The text in the widget's synced state (what a re-displayed view or a reloaded page shows)."""
    return "".join(block.get("text", "") for block in view.blocks if block.get("type") == "text")


def web_relay(api_url: str, fault: str) -> Outcome:
    """``POST /chat`` on the relay, whose upstream local API injects the fault; then the fault clears."""
    from helpers.offline import start
    from helpers.web import parse
    from helpers.web import start as start_relay

    with start(pace="instant", fault=fault) as api:

        def upstream() -> anthropic.AsyncAnthropic:
            return anthropic.AsyncAnthropic(
                base_url=api.url, api_key="matrix-key", max_retries=0, timeout=_timeout(fault)
            )

        with start_relay(client_factory=upstream) as relay, httpx2.Client(base_url=relay.url, timeout=30) as http:
            started = time.monotonic()
            events = parse(http.post("/chat", json={"messages": [{"role": "user", "content": PROMPT}]}).content)
            seconds = time.monotonic() - started
            api.app.config = replace(api.app.config, faults="")  # the upstream recovers; the relay must too
            after = parse(http.post("/chat", json={"messages": [{"role": "user", "content": NEXT_PROMPT}]}).content)
    names = [e.event for e in events]
    errors = [json.loads(e.data) for e in events if e.event == "error"]
    extra = []
    ending = ["stop", "done"] if fault.startswith("stop:") else ["error", "done"]
    if names[-2:] != ending:
        extra.append(f"expected …, {', '.join(ending)}; got events {names[-3:]}")
    if [e.event for e in after][-2:] != ["stop", "done"]:
        extra.append(f"the next request did not end in stop, done: {[e.event for e in after][-3:]}")
    kept = "".join(json.loads(e.data)["text"] for e in events if e.event == "text")
    next_text = "".join(json.loads(e.data)["text"] for e in after if e.event == "text")
    stops = [json.loads(e.data).get("stop_reason") for e in events if e.event == "stop"]
    return Outcome(errors[0] if errors else None, kept, seconds, next_text, extra, stops[0] if stops else None)


CALLERS: dict[str, Callable[[str, str], Outcome]] = {
    "sync text_stream": sync_text_stream,
    "async stream": async_stream,
    "widget (TextView)": widget_text_view,
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
    elif expect.exception is None:
        if error is not None:
            found.append(f"raised {type(error).__name__}: {error!r}, expected no error")
        if outcome.stop_reason != expect.stop_reason:
            found.append(f"reported stop_reason {outcome.stop_reason!r}, expected {expect.stop_reason!r}")
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


def run_cell(caller: str, fault: str, api_url: str) -> list[str]:
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
                    results[caller, fault] = run_cell(caller, fault, api.url)
                except Exception as exc:  # a caller that crashes is a failed cell, not a crashed table
                    results[caller, fault] = [f"crashed: {exc!r}"]
    print(table(results))
    return 0 if not any(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
