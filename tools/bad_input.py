"""Bad input against the local Messages API: each malformed request, sent over real HTTP, and the answer it must get.

Each row is one request a careless or hostile client can send; the cell passes when the server answers with the
expected status and the real API's error JSON naming the problem (or, for a valid but extreme request, answers it),
and then still answers a normal request. ``tests/test_bad_input.py`` runs the rows as tests; ``python
tools/fault_matrix.py`` prints them under the fault matrix, as the README shows them.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

MODEL = "claude-sonnet-4-6"
OK = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "Write a haiku about debugging."}]}
MB = 1024 * 1024


def _json(**fields) -> bytes:
    return json.dumps({**OK, **fields}).encode()


def _chunks(n_mb: int):
    """An upload with no Content-Length (chunked), so only counting the bytes can stop it."""
    for _ in range(n_mb):
        yield b" " * MB


# Recordings in the local API's cassette folder (``start(cassettes=...)``), each served to the streaming request that
# asks the prompt it is named by: what a cassette may hold (anything a server could send, served as recorded) and what
# it may not (bytes no server could send).
DELTA = b"event: content_block_delta\ndata: %s\n\n"
CASSETTES = {
    "cassette: not UTF-8": b'event: message_start\ndata: {"x": "\xff"}\n\n',
    "cassette: no events": b"# nothing recorded here\n",
    "cassette: a text delta that is a number": DELTA % b'{"delta": {"type": "text_delta", "text": 5}}',
    "cassette: a delta that is a list": DELTA % b'{"delta": [1]}',
    "cassette: thinking that is an object": DELTA % b'{"delta": {"type": "thinking_delta", "thinking": {"a": 1}}}',
}


def _cassette(prompt: str) -> bytes:
    return _json(stream=True, messages=[{"role": "user", "content": prompt}])


def _turns(n: int) -> list[dict]:
    """A conversation of ``n`` partial answers, each followed by "continue" (the reply scripts once recursed per turn)."""
    pairs = [[{"role": "assistant", "content": "Silent"}, {"role": "user", "content": "continue"}] for _ in range(n)]
    return [OK["messages"][0], *(m for pair in pairs for m in pair)]


@dataclass(frozen=True)
class Bad:
    """One malformed request and what the server must answer."""

    body: bytes | Callable[[], object]
    status: int
    says: str = ""  # words the error message must contain ("" for a 200)
    headers: dict = field(default_factory=dict)
    path: str = "/v1/messages"
    method: str = "POST"


BAD_INPUTS: dict[str, Bad] = {
    "body over 32 MB (Content-Length)": Bad(b" " * (32 * MB + 1), 413, "maximum allowed number of bytes"),
    "body over 32 MB (chunked)": Bad(lambda: _chunks(40), 413, "maximum allowed number of bytes"),
    "not JSON": Bad(b"{not json", 400, "not valid JSON"),
    "JSON nested 100,000 deep": Bad(b"[" * 100_000 + b"]" * 100_000, 400, "nested deeper than"),
    "NaN in JSON": Bad(b'{"max_tokens": NaN}', 400, "NaN"),
    "body not UTF-8": Bad(b'{"model": "\xff\xfe"}', 400, "not valid JSON"),
    "a JSON list": Bad(b"[1, 2]", 400, "must be a JSON object"),
    "content: 123": Bad(_json(messages=[{"role": "user", "content": 123}]), 400, "messages.0.content"),
    'tool_choice: "auto"': Bad(_json(tool_choice="auto"), 400, "tool_choice: Input should be a valid dictionary"),
    'tools: "x"': Bad(_json(tools="x"), 400, "tools: Input should be a valid list"),
    "tool type function": Bad(_json(tools=[{"type": "function", "name": "f"}]), 400, "Input tag 'function'"),
    "tool name with a backtick": Bad(
        _json(tools=[{"name": "get`x", "input_schema": {"type": "object"}}]), 400, "tools.0.custom.name"
    ),
    "unknown block type": Bad(
        _json(messages=[{"role": "user", "content": [{"type": "html", "html": "<b>"}]}]), 400, "Input tag 'html'"
    ),
    "unknown field in a block": Bad(
        _json(messages=[{"role": "user", "content": [{"type": "text", "text": "hi", "x": 1}]}]),
        400,
        "messages.0.content.0.text.x: Extra inputs are not permitted",
    ),
    "unknown top-level field": Bad(_json(temperature_x=1), 400, "temperature_x: Extra inputs are not permitted"),
    "max_tokens: true": Bad(_json(max_tokens=True), 400, "max_tokens: Input should be a valid integer"),
    "max_tokens: 10**30": Bad(_json(max_tokens=10**30), 400, "maximum allowed number of output tokens"),
    "max_tokens: -1": Bad(_json(max_tokens=-1), 400, "greater than or equal to 0"),
    "role: tool": Bad(_json(messages=[{"role": "tool", "content": "hi"}]), 400, "messages.0.role"),
    "x-stainless-retry-count: abc": Bad(_json(), 400, "x-stainless-retry-count", {"x-stainless-retry-count": "abc"}),
    "non-UTF-8 header value": Bad(_json(), 400, "x-offline-fault", {"x-offline-fault": b"\xff\xfe"}),
    "unknown model": Bad(_json(model="gpt-4"), 404, "model: gpt-4"),
    "max_tokens over the model's limit": Bad(_json(max_tokens=128_001), 400, "128001 > 128000"),
    "prompt over the model's window": Bad(
        _json(model="claude-haiku-4-5", messages=[{"role": "user", "content": "a " * 200_001}]),
        400,
        "prompt is too long",
    ),
    "count_tokens with max_tokens": Bad(_json(), 400, "max_tokens: Extra inputs", path="/v1/messages/count_tokens"),
    "count_tokens, unknown model": Bad(
        json.dumps({"model": "gpt-4", "messages": OK["messages"]}).encode(),
        404,
        "model: gpt-4",
        path="/v1/messages/count_tokens",
    ),
    "unknown model id": Bad(b"", 404, "model: gpt-4", path="/v1/models/gpt-4", method="GET"),
    "models limit=0": Bad(b"", 400, "limit: expected", path="/v1/models?limit=0", method="GET"),
    "models after_id unknown": Bad(b"", 400, "after_id", path="/v1/models?after_id=x", method="GET"),
    "fault http:999": Bad(_json(), 400, "STATUS 400-599", {"x-offline-fault": "http:999"}),
    "fault http:000": Bad(_json(), 400, "STATUS 400-599", {"x-offline-fault": "http:000"}),
    "fault stall@0:inf": Bad(_json(), 400, "stall duration", {"x-offline-fault": "stall@0:inf"}),
    "fault error@2:made_up": Bad(_json(), 400, "unknown error type", {"x-offline-fault": "error@2:made_up"}),
    "pace nan": Bad(_json(), 400, "tokens per second", {"x-offline-pace": "nan"}),
    "pace 1e-9": Bad(_json(), 400, "tokens per second", {"x-offline-pace": "1e-9"}),
    "unknown path": Bad(b"", 404, "Not found", path="/v1/nothing", method="GET"),
    "a 40 kB header": Bad(_json(), 431, "request headers: at most 32,768 bytes", {"x-long": "a" * 40_000}),
    "150 headers": Bad(_json(), 431, "and 100 lines", {f"x-{i}": "1" for i in range(150)}),
    "cassette: not UTF-8": Bad(_cassette("cassette: not UTF-8"), 500, "expected a recorded SSE stream in UTF-8"),
    "cassette: no events": Bad(_cassette("cassette: no events"), 500, "found none"),
    **{name: Bad(_cassette(name), 200) for name in list(CASSETTES)[2:]},  # served as recorded
    "5,000 'continue' turns": Bad(_json(messages=_turns(2500)), 200),
    "a 5,000-digit number in the prompt": Bad(_json(messages=[{"role": "user", "content": "9" * 5000 + " * 7"}]), 200),
}


def send(api_url: str, bad: Bad) -> httpx2.Response:
    body = bad.body() if callable(bad.body) else bad.body
    headers = {"content-type": "application/json", **bad.headers}
    with httpx2.Client(timeout=60) as http:
        if bad.method == "GET":
            return http.get(api_url + bad.path, headers=headers)
        return http.post(api_url + bad.path, content=body, headers=headers)


def problems(api_url: str, name: str) -> list[str]:
    """What is wrong with the answer to one bad input; empty when the cell passes."""
    bad = BAD_INPUTS[name]
    response = send(api_url, bad)
    found = []
    if response.status_code != bad.status:
        found.append(f"status {response.status_code}, expected {bad.status}: {response.text[:120]!r}")
    elif bad.status != 200:
        try:
            error = response.json()
        except ValueError:
            return [f"not the API's error JSON: {response.text[:120]!r}"]
        if error.get("type") != "error" or bad.says not in error.get("error", {}).get("message", ""):
            found.append(f"error JSON does not say {bad.says!r}: {error}")
        if not response.headers.get("request-id", "").startswith("req_"):
            found.append("no request-id header")
    after = send(api_url, Bad(_json(), 200))
    if after.status_code != 200:
        found.append(f"the next request got {after.status_code}")
    return found


SERVERS = {"local API": "an in-thread helpers.offline.start(), with a folder of CASSETTES"}


@contextmanager
def local_api() -> Iterator:
    """The local API the rows are sent to: instant pace, its cassette folder holding :data:`CASSETTES`."""
    from helpers.offline import cassettes, start

    with tempfile.TemporaryDirectory() as folder:
        for prompt, recording in CASSETTES.items():
            request = json.loads(_cassette(prompt))
            (Path(folder) / f"{cassettes.key(request)}.sse").write_bytes(recording)
        with start(pace="instant", cassettes=folder) as api:
            yield api


def table(results: dict[tuple[str, str], list[str]]) -> str:
    """The bad-input rows as markdown (expected status, ✓/✗ per server), then a ``passed/total`` line."""
    lines = ["| bad input | expected | " + " | ".join(SERVERS) + " |", "|---|---|" + "---|" * len(SERVERS)]
    for name, bad in BAD_INPUTS.items():
        marks = ("✓" if not results[server, name] else "✗" for server in SERVERS)
        lines.append(f"| {name} | {bad.status} | " + " | ".join(marks) + " |")
    passed = sum(not found for found in results.values())
    lines += ["", f"**{passed}/{len(results)} passed**"]
    lines += [f"- ✗ {server} × {name}: {'; '.join(found)}" for (server, name), found in results.items() if found]
    return "\n".join(lines)


def run() -> dict[tuple[str, str], list[str]]:
    results = {}
    with local_api() as api:
        for name in BAD_INPUTS:
            results["local API", name] = problems(api.url, name)
    return results


if __name__ == "__main__":
    print(table(run()))
