"""Fault injection: the failures the errors lesson teaches, on demand.

A fault spec is a comma- or space-separated list of:

``http:STATUS[*K]``     answer STATUS (400-599) before streaming, with the real error type; ``*K`` fails K requests
                        with this spec, then lets one through, and so on, so a client's retries are seen to succeed
                        (any client: requests are counted; a request with ``x-stainless-retry-count: 0``, an SDK's
                        first attempt, starts the count again)
``error@N[:TYPE]``      an ``event: error`` after N events (TYPE one of the API's error types, default
                        ``overloaded_error``), then the stream ends
``drop@N``              close the connection abruptly after N events
``stall@N:SECONDS``     go silent for SECONDS (0 to 600) after N events, then carry on
``garbage@N``           one malformed SSE event after N events
``stop:REASON[@N]``     end the answer with stop reason REASON (any the SDK knows: end_turn, max_tokens, stop_sequence,
                        tool_use, pause_turn, refusal, model_context_window_exceeded) after N events, or at its
                        natural end without ``@N``; the stream stays well-formed (open blocks are closed)
``badjson@N``           after N events, an ``input_json_delta`` that breaks the open tool input's JSON, as unbuffered
                        fine-grained tool streaming can; the SDK raises ``ValueError`` ("Unable to parse tool
                        parameter JSON")
``toolerror[:CODE]``    the answer's first server tool fails: its ``*_tool_result`` carries the tool's error object
                        (``error_code`` CODE where the SDK accepts it for that tool, else ``unavailable``) and the
                        model says it could not use the result

Send it per request in the ``x-offline-fault`` header, or set it for a whole server with ``start(fault=...)`` /
``--fault``.
"""

from __future__ import annotations

import math
import re
import threading
import typing
from collections import OrderedDict
from dataclasses import dataclass

from anthropic.types import StopReason
from anthropic.types.shared.error_object import ErrorObject

from .tool_errors import ALL_ERROR_CODES

STOP_REASONS = typing.get_args(StopReason)

API_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

MESSAGES = {
    "invalid_request_error": "Invalid request (injected by the offline API).",
    "authentication_error": "invalid x-api-key",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "The requested resource could not be found.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit (injected by the offline API).",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
    "billing_error": "Your credit balance is too low to access the Anthropic API (injected by the offline API).",
    "timeout_error": "Request timed out (injected by the offline API).",
}
# The error types an ``event: error`` can carry: those of the SDK's ErrorObject union.
EVENT_ERROR_TYPES = tuple(
    typing.get_args(m.model_fields["type"].annotation)[0] for m in typing.get_args(typing.get_args(ErrorObject)[0])
)
GRAMMAR = (
    "expected http:STATUS[*K] (STATUS 400-599), error@N[:TYPE], drop@N, stall@N:SECONDS (0-600), garbage@N, "
    "stop:REASON[@N], badjson@N or toolerror[:CODE]"
)
MAX_STALL = 600.0  # seconds: a stall never holds a connection longer

_PART = re.compile(
    r"^(?:http:(?P<status>\d{3})(?:\*(?P<times>\d+))?"
    r"|stop:(?P<reason>\w+)(?:@(?P<stop_at>\d+))?"
    r"|toolerror(?::(?P<tool_error>\w+))?"
    r"|(?P<kind>error|drop|stall|garbage|badjson)@(?P<at>\d+)(?::(?P<arg>[\w.]+))?)$"
)


@dataclass(frozen=True)
class Faults:
    status: int | None = None  # http:STATUS
    times: int | None = None  # *K: only the first K attempts
    error_at: int | None = None
    error_type: str = "overloaded_error"
    drop_at: int | None = None
    stall_at: int | None = None
    stall_seconds: float = 0.0
    garbage_at: int | None = None
    stop_reason: str | None = None  # stop:REASON
    stop_at: int | None = None  # stop:REASON@N
    badjson_at: int | None = None
    tool_error: str | None = None  # toolerror[:CODE]

    def http_status(self, attempt: int) -> int | None:
        """The status to fail this attempt (0, 1, ... as counted by :class:`Attempts`) with, or None to answer."""
        if self.status is None or (self.times is not None and attempt >= self.times):
            return None
        return self.status

    def __bool__(self) -> bool:
        return self != Faults()


def parse(spec: str | None) -> Faults:
    """Parse a fault spec; raises ValueError naming the accepted forms if any part is malformed."""
    fields: dict = {}
    for part in re.split(r"[,\s]+", (spec or "").strip()):
        if not part:
            continue
        m = _PART.match(part)
        if not m:
            raise ValueError(f"unknown fault {part!r}: {GRAMMAR}")
        if m["status"]:
            status, times = int(m["status"]), int(m["times"]) if m["times"] else None
            if not 400 <= status <= 599:
                raise ValueError(f"{part!r} asks for status {status}, which no error answer has: {GRAMMAR}")
            if times == 0:
                raise ValueError(f"{part!r} fails no request (K counts the requests to fail, 1 or more): {GRAMMAR}")
            fields.update(status=status, times=times)
            continue
        if m["reason"]:
            if m["reason"] not in STOP_REASONS:
                raise ValueError(f"unknown stop reason in {part!r}: expected one of {', '.join(STOP_REASONS)}")
            fields.update(stop_reason=m["reason"], stop_at=int(m["stop_at"]) if m["stop_at"] else None)
            continue
        if part.startswith("toolerror"):
            code = m["tool_error"] or "unavailable"
            if code not in ALL_ERROR_CODES:
                raise ValueError(f"unknown tool error code in {part!r}: expected one of {', '.join(ALL_ERROR_CODES)}")
            fields.update(tool_error=code)
            continue
        at, arg = int(m["at"]), m["arg"]
        if m["kind"] == "error":
            if arg is not None and arg not in EVENT_ERROR_TYPES:
                raise ValueError(f"unknown error type in {part!r}: expected one of {', '.join(EVENT_ERROR_TYPES)}")
            fields.update(error_at=at, error_type=arg or "overloaded_error")
        elif m["kind"] == "drop":
            fields.update(drop_at=at)
        elif m["kind"] == "garbage":
            fields.update(garbage_at=at)
        elif m["kind"] == "badjson":
            fields.update(badjson_at=at)
        else:
            if arg is None:
                raise ValueError(f"stall needs a duration: stall@{at}:SECONDS, got {part!r}")
            try:
                seconds = float(arg)
            except ValueError:
                seconds = math.nan
            if not 0 <= seconds <= MAX_STALL:  # also refuses nan and inf
                raise ValueError(f"stall duration in {part!r} must be 0 to {MAX_STALL:g} seconds: {GRAMMAR}")
            fields.update(stall_at=at, stall_seconds=seconds)
    return Faults(**fields)


def error_body(error_type: str, message: str | None, request_id: str) -> dict:
    """An error in the real API's JSON shape."""
    return {
        "type": "error",
        "error": {"type": error_type, "message": message or MESSAGES.get(error_type, error_type)},
        "request_id": request_id,
    }


class Attempts:
    """Counts the requests each counted fault spec (``http:STATUS*K``) has seen, so ``*K`` works for any client.

    ``attempt(spec, first)`` returns 0 for the first request with ``spec``, then 1, 2, ...; after K failures the
    next request passes and the count starts again. ``first``: the request says it is a first attempt (an SDK's
    ``x-stainless-retry-count: 0``), which starts the count again too. Memory is bounded: the least recently used
    specs past ``MAX_SPECS`` are forgotten.
    """

    MAX_SPECS = 1024

    def __init__(self) -> None:
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def attempt(self, fault: Faults, spec: str, first: bool) -> int:
        if fault.times is None:
            return 0
        with self._lock:
            n = 0 if first else self._seen.pop(spec, 0)
            self._seen.pop(spec, None)
            self._seen[spec] = 0 if n >= fault.times else n + 1
            while len(self._seen) > self.MAX_SPECS:
                self._seen.popitem(last=False)
        return n
