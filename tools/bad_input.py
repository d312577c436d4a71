"""Bad input against the local Messages API and the relay: each malformed request, sent over real HTTP, and the answer
it must get.

Each row is one request a careless or hostile client can send; the cell passes when the server answers with the
expected status and the real API's error JSON naming the problem (or, for a valid but extreme request, answers it),
and then still answers a normal request. The relay's rows (:data:`RELAY_INPUTS`) also pass only if the request started
no upstream stream, or, for an upstream that sends garbage, if the browser is told so in an ``error`` event. ``tests/test_bad_input.py`` runs the rows as tests; ``python
tools/fault_matrix.py`` prints them under the fault matrix, as the README shows them.
"""

from __future__ import annotations

import json
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

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
    "cassette: no event line, a type that is an object": b'data: {"type": {"a": 1}, "delta": {"type": [1]}}\n\n',
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
    "a number out of range (1e400) in JSON": Bad(b'{"max_tokens": 64, "x": 1e400}', 400, "out of range"),
    "body not UTF-8": Bad(b'{"model": "\xff\xfe"}', 400, "not valid JSON"),
    "a lone surrogate in the prompt": Bad(
        _json(messages=[{"role": "user", "content": "\ud800 \udfff"}]), 400, "lone surrogate (\\ud800)"
    ),
    "a lone surrogate in a key": Bad(_json(metadata={"\udfff": 1}), 400, "lone surrogate (\\udfff)"),
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
    "Host: attacker.example (a rebound name)": Bad(
        _json(), 421, "not a name this local API", {"host": "attacker.example"}
    ),
    "Host: 127.0.0.1.nip.io": Bad(_json(), 421, "not a name this local API", {"host": "127.0.0.1.nip.io"}),
    "Host: [::1": Bad(_json(), 421, "not a name this local API", {"host": "[::1"}),
    "Host: attacker.example@127.0.0.1": Bad(
        _json(), 421, "not a name this local API", {"host": "attacker.example@127.0.0.1"}
    ),
    "Host: localhost/attacker.example": Bad(
        _json(), 421, "not a name this local API", {"host": "localhost/attacker.example"}
    ),
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


# ---------------------------------------------------------------------------------------------------------------------
# The relay (helpers.web), in front of a local API: what another site, a careless page or a broken upstream sends it

HI = {"messages": [{"role": "user", "content": "Write a haiku about debugging."}]}
ATTACKER = "http://localhost:4444"  # another origin on this machine, as in tests/browser/test_cross_origin.py
RELAY_MAX_BODY = 2 * 1024 * 1024  # helpers.web.gate.MAX_BODY_BYTES, here so that the rows read without importing it
HEAD = b"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


def _malformed(rest: bytes) -> RelayBad:
    """A request head that HTTP/1.1 parsers must refuse (ambiguous about where its body ends: request smuggling
    through a proxy in front), after the relay's usual first lines."""
    return RelayBad(400, "invalid_request_error", "malformed HTTP/1.1 request", raw=HEAD + rest)


def _hi(**fields) -> bytes:
    return json.dumps({**HI, **fields}).encode()


def _said(content: object, role: str = "user") -> bytes:
    return json.dumps({"messages": [{"role": role, "content": content}]}).encode()


@dataclass(frozen=True)
class RelayBad:
    """One request to the relay and what it must answer. ``token``: the GET's ``?token=``, "page" for the one in the
    page served to the same Host, "expired" for one the relay signed that has expired, else as given. ``raw``: bytes
    sent as they are on a socket (what an HTTP client would not send). ``upstream``: a fault the local API injects
    (``helpers.offline.faults``), so that the relay answers 200 and streams an ``error`` event of type ``kind``."""

    status: int
    kind: str
    says: str = ""
    body: bytes | Callable[[], object] = _hi()
    headers: dict = field(default_factory=dict)
    method: str = "POST"
    path: str = "/chat"
    token: str | None = None
    raw: bytes | None = None
    upstream: str = ""


CROSS_SITE = {  # headers a browser sends with another site's request
    "Sec-Fetch-Site: cross-site": {"sec-fetch-site": "cross-site", "origin": ATTACKER},
    "Sec-Fetch-Site: same-site": {"sec-fetch-site": "same-site"},
    "a navigation from another site": {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"},
    "Origin of another site": {"origin": ATTACKER},
    "Origin: null (a sandboxed page)": {"origin": "null"},
    "Origin of another port of this host": {"origin": "http://127.0.0.1:1"},
    "Origin with a bad port": {"origin": "http://127.0.0.1:x"},
}
FORMS = {  # what a <form> or a no-cors fetch can send: never application/json
    "no Content-Type": None,
    "text/plain": "text/plain",
    "text/plain;charset=UTF-8": "text/plain;charset=UTF-8",
    "a urlencoded form": "application/x-www-form-urlencoded",
    "a multipart form": "multipart/form-data",
    "application/json-seq": "application/json-seq",
    "text/plain; application/json": "text/plain; application/json",
}
NEEDS_TOKEN = "token of the relay's own page"

RELAY_INPUTS: dict[str, RelayBad] = {
    # Host: DNS rebinding
    "Host: attacker.example": RelayBad(
        421, "invalid_request_error", "not a name", headers={"host": "attacker.example"}
    ),
    "Host: 127.0.0.1.nip.io": RelayBad(
        421, "invalid_request_error", "not a name", headers={"host": "127.0.0.1.nip.io"}
    ),
    "Host: [::1": RelayBad(421, "invalid_request_error", "not a name", headers={"host": "[::1"}),
    "Host: attacker.example@127.0.0.1": RelayBad(
        421, "invalid_request_error", "not a name", headers={"host": "attacker.example@127.0.0.1"}
    ),
    "no Host (HTTP/1.0)": RelayBad(421, "invalid_request_error", "not a name", raw=b"GET / HTTP/1.0\r\n\r\n"),
    "two Host headers": RelayBad(
        400,
        "invalid_request_error",
        "one Host header",
        raw=b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: a.example\r\n\r\n",
    ),
    # other sites (CSRF): every header a browser marks them with, on a JSON POST and on a GET with the page's token
    **{
        f"{name}, {how}": RelayBad(
            403,
            "permission_error",
            "from another site",
            headers=headers,
            **kw,  # type: ignore[arg-type]
        )
        for name, headers in CROSS_SITE.items()
        for how, kw in (("JSON POST", {}), ("GET with the page's token", {"method": "GET", "token": "page"}))
    },
    "a text/plain form from another site": RelayBad(
        403,
        "permission_error",
        "Origin",
        b'{"messages": [{"role": "user", "content": "spend", "x": "="}]}',
        {"content-type": "text/plain", "origin": ATTACKER},
    ),
    **{
        f"POST with {name}": RelayBad(
            415,
            "invalid_request_error",
            f"expected application/json, got {(ct or 'none').split(';')[0].lower()!r}",
            headers={"content-type": ct} if ct else {"content-type": ""},
        )
        for name, ct in FORMS.items()
    },
    # GET: only with the page's token (<img>, <script>, links and navigations carry no header over plain http)
    "GET /chat, no token": RelayBad(403, "permission_error", NEEDS_TOKEN, method="GET"),
    "GET /chat, token=": RelayBad(403, "permission_error", NEEDS_TOKEN, method="GET", token=""),
    "GET /chat, a made-up token": RelayBad(403, "permission_error", "did not sign", method="GET", token="123.abc"),
    "GET /chat, a huge expiry": RelayBad(403, "permission_error", "did not sign", method="GET", token="9" * 40 + ".0"),
    "GET /chat, an expired token": RelayBad(403, "permission_error", "an expired token", method="GET", token="expired"),
    "GET /chat, the token of a page served to another host": RelayBad(
        403, "permission_error", "did not sign", method="GET", token="page", headers={"x-page-host": "hub.example.org"}
    ),
    "GET /nope, no token": RelayBad(403, "permission_error", NEEDS_TOKEN, method="GET", path="/nope"),
    "GET /nope, the page's token": RelayBad(
        404, "not_found_error", "Not Found", method="GET", path="/nope", token="page"
    ),
    "PUT /chat": RelayBad(405, "invalid_request_error", "Method Not Allowed", method="PUT"),
    # path tricks
    "GET /static/../app.py": RelayBad(
        404, "not_found_error", "Not Found", raw=b"GET /static/../app.py HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    ),
    "GET /static/%2e%2e/app.py": RelayBad(
        404, "not_found_error", "Not Found", raw=b"GET /static/%2e%2e/app.py HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    ),
    "GET /static/../chat (the page's exemption)": RelayBad(
        404, "not_found_error", "Not Found", raw=b"GET /static/../chat?message=hi HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    ),
    "POST //chat": RelayBad(404, "not_found_error", "Not Found", path="//chat"),
    # bodies
    "not JSON": RelayBad(400, "invalid_request_error", "not valid JSON", b"{not json"),
    "body not UTF-8": RelayBad(400, "invalid_request_error", "not valid JSON", b'{"messages": "\xff"}'),
    "JSON nested 100,000 deep (lists)": RelayBad(
        400, "invalid_request_error", "nested too deeply", b"[" * 100_000 + b"1" + b"]" * 100_000
    ),
    "JSON nested 100,000 deep (objects)": RelayBad(
        400, "invalid_request_error", "nested too deeply", b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    ),
    "a JSON list": RelayBad(400, "invalid_request_error", "expected a JSON object", b"[1, 2]"),
    "an unknown field": RelayBad(400, "invalid_request_error", "unknown field 'tools'", _hi(tools=[])),
    "no messages": RelayBad(400, "invalid_request_error", "non-empty list", b"{}"),
    "a message with another field": RelayBad(
        400,
        "invalid_request_error",
        "and nothing else",
        json.dumps({"messages": [{**HI["messages"][0], "x": 1}]}).encode(),
    ),
    "role: system": RelayBad(400, "invalid_request_error", "expected 'user' or 'assistant'", _said("hi", "system")),
    "content: a list of blocks": RelayBad(
        400, "invalid_request_error", "expected a string, got list", _said([{"type": "text", "text": "hi"}])
    ),
    "content: a lone surrogate": RelayBad(
        400,
        "invalid_request_error",
        "lone surrogate (\\ud800)",
        b'{"messages": [{"role": "user", "content": "hi \\ud800"}]}',
    ),
    "model: a lone surrogate": RelayBad(400, "invalid_request_error", "model: a lone surrogate", _hi(model="\udfff")),
    "content: blank": RelayBad(400, "invalid_request_error", "must not be empty", _said(" \n")),
    "the assistant's message last": RelayBad(
        400, "invalid_request_error", "must be the user's", _said("hi", "assistant")
    ),
    "101 messages": RelayBad(
        413,
        "request_too_large",
        "at most 100 messages",
        json.dumps({"messages": [{"role": "user", "content": "x"}] * 101}).encode(),
    ),
    "a message of 32,001 characters": RelayBad(
        413, "request_too_large", "at most 32,000 characters", _said("x" * 32_001)
    ),
    "max_tokens: NaN": RelayBad(
        400, "invalid_request_error", "max_tokens: expected", _hi()[:-1] + b', "max_tokens": NaN}'
    ),
    "max_tokens: true": RelayBad(400, "invalid_request_error", "max_tokens: expected", _hi(max_tokens=True)),
    "max_tokens: 8193": RelayBad(400, "invalid_request_error", "from 1 to 8192", _hi(max_tokens=8193)),
    "model: 5": RelayBad(400, "invalid_request_error", "model: expected", _hi(model=5)),
    "system: null": RelayBad(400, "invalid_request_error", "system: expected a string", _hi(system=None)),
    "body over 2 MiB (Content-Length)": RelayBad(
        413, "request_too_large", "at most 2,097,152 bytes", b" " * (RELAY_MAX_BODY + 1)
    ),
    "body over 2 MiB (chunked)": RelayBad(
        413,
        "request_too_large",
        "at most 2,097,152 bytes",
        lambda: (b" " * 65536 for _ in range(RELAY_MAX_BODY // 65536 + 1)),
    ),
    # heads: too large, or ambiguous about where the body ends (request smuggling through a proxy in front)
    "a 40 kB header": RelayBad(431, "invalid_request_error", "at most 32,768 bytes", headers={"x-long": "a" * 40_000}),
    "150 headers": RelayBad(431, "invalid_request_error", "and 100 lines", headers={f"x-{i}": "1" for i in range(150)}),
    "Content-Length and Transfer-Encoding": _malformed(
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "two Content-Lengths": _malformed(b"Content-Length: 2\r\nContent-Length: 5\r\n\r\n{}"),
    "Transfer-Encoding: chunked, identity": _malformed(b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
    "a folded header line": _malformed(b" x\r\nContent-Length: 2\r\n\r\n{}"),
    "a space before the colon": _malformed(b"Content-Length : 2\r\n\r\n{}"),
    "a bad chunk size": _malformed(b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"),
    "a NUL in a header": _malformed(b"X: a\x00b\r\nContent-Length: 2\r\n\r\n{}"),
    # upstream garbage: the browser keeps what came and is told why the stream stopped
    "upstream: a malformed event": RelayBad(200, "stream_error", upstream="garbage@3"),
    "upstream: an error event": RelayBad(200, "overloaded_error", upstream="error@3"),
    "upstream: dropped mid-stream": RelayBad(200, "api_connection_error", upstream="drop@3"),
    "upstream: 529": RelayBad(200, "overloaded_error", upstream="http:529"),
    "upstream: 401": RelayBad(200, "authentication_error", upstream="http:401"),
}


def relay_send(relay, bad: RelayBad) -> httpx2.Response:
    """Send one row to a running relay (``helpers.web.start``): over a socket if ``raw``, else with httpx."""
    if bad.raw is not None:
        return _raw(relay.url, bad.raw)
    headers = {"content-type": "application/json", **bad.headers}
    page_host = headers.pop("x-page-host", headers.get("host"))
    params = {"message": "Write a haiku about debugging."} if bad.method == "GET" else {}
    if bad.token is not None:
        params["token"] = _token(relay, bad.token, page_host)
    body = bad.body() if callable(bad.body) else bad.body
    with httpx2.Client(timeout=60) as http:
        return http.request(
            bad.method,
            relay.url + bad.path,
            params=params,
            headers=headers,
            content=None if bad.method == "GET" else body,
        )


def _token(relay, token: str, page_host: str | None) -> str:
    from helpers.web import token_in
    from helpers.web.gate import PageTokens

    if token == "page":
        page = httpx2.get(relay.url + "/", headers={"host": page_host} if page_host else {}, timeout=30)
        return token_in(page.text)
    if token == "expired":
        return PageTokens(secret=relay.app.tokens.secret, ttl=-1).mint("127.0.0.1")
    return token


def _raw(url: str, data: bytes) -> httpx2.Response:
    """Send ``data`` as it is; the first response, read to its Content-Length or until the server closes."""
    parts = urlsplit(url)
    received, head, length = b"", None, None
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(data)
        while length is None or len(received) < length:
            if not (chunk := sock.recv(65536)):
                break
            received += chunk
            if head is None and b"\r\n\r\n" in received:
                head, _, received = received.partition(b"\r\n\r\n")
                fields = dict(line.split(": ", 1) for line in head.decode("latin-1").lower().split("\r\n")[1:])
                length = int(fields.get("content-length", 10**9))
    if head is None:
        raise ConnectionError(f"no answer to {data[:60]!r}")
    return httpx2.Response(int(head.split()[1]), content=received)


def relay_problems(relay, api, name: str) -> list[str]:
    """What is wrong with the relay's answer to one row; empty when it passes."""
    bad = RELAY_INPUTS[name]
    before = api.stats()["streams_started"]
    response = relay_send(relay, bad)
    streams = api.stats()["streams_started"] - before
    found = []
    if response.status_code != bad.status:
        found.append(f"status {response.status_code}, expected {bad.status}: {response.text[:120]!r}")
    elif bad.status == 200:
        from helpers.web import parse

        events = parse(response.content)
        last = json.loads(events[-2].data) if len(events) >= 2 else {}
        if [e.event for e in events[-2:]] != ["error", "done"] or last.get("type") != bad.kind:
            found.append(f"expected an {bad.kind} error event, then done: {response.text[-200:]!r}")
    else:
        try:
            error = response.json()
        except ValueError:
            return [f"not the API's error JSON: {response.text[:120]!r}"]
        if error.get("type") != "error" or error.get("error", {}).get("type") != bad.kind:
            found.append(f"expected a {bad.kind}: {error}")
        elif bad.says not in error["error"].get("message", ""):
            found.append(f"error JSON does not say {bad.says!r}: {error}")
        if streams:
            found.append(f"started {streams} upstream stream(s)")
    after = relay_send(relay, RelayBad(200, "", upstream=bad.upstream) if bad.upstream else RelayBad(200, ""))
    if not bad.upstream and (after.status_code != 200 or b"event: stop" not in after.content):
        found.append(f"the next request got {after.status_code}")
    return found


@contextmanager
def relays(api) -> Iterator[dict[str, object]]:
    """A relay in front of ``api`` for each upstream fault the rows ask for ("" for none), by fault."""
    import anthropic

    from helpers.web import start as start_relay

    faults = dict.fromkeys(bad.upstream for bad in RELAY_INPUTS.values())
    with ExitStack() as stack:
        running = {}
        for fault in faults:
            headers = {"x-offline-fault": fault} if fault else {}
            factory = lambda h=headers: anthropic.AsyncAnthropic(  # noqa: E731
                base_url=api.url, api_key="test-key", max_retries=0, default_headers=h
            )
            running[fault] = stack.enter_context(start_relay(client_factory=factory, allowed_hosts=["hub.example.org"]))
        yield running


def relay_table(results: dict[str, list[str]]) -> str:
    """The relay's rows as markdown (expected status and error type, ✓/✗), then a ``passed/total`` line."""
    lines = ["| bad input to the relay | expected | relay |", "|---|---|---|"]
    for name, bad in RELAY_INPUTS.items():
        expected = f"200, `{bad.kind}` event" if bad.status == 200 else f"{bad.status} `{bad.kind}`"
        lines.append(f"| {name} | {expected} | {'✗' if results[name] else '✓'} |")
    passed = sum(not found for found in results.values())
    lines += ["", f"**{passed}/{len(results)} passed**"]
    lines += [f"- ✗ {name}: {'; '.join(found)}" for name, found in results.items() if found]
    return "\n".join(lines)


def run() -> tuple[dict[tuple[str, str], list[str]], dict[str, list[str]]]:
    results, relay_results = {}, {}
    with local_api() as api:
        for name in BAD_INPUTS:
            results["local API", name] = problems(api.url, name)
        with relays(api) as running:
            for name, bad in RELAY_INPUTS.items():
                relay_results[name] = relay_problems(running[bad.upstream], api, name)
    return results, relay_results


if __name__ == "__main__":
    local, relayed = run()
    print(table(local), relay_table(relayed), sep="\n\n")
